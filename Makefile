# ctmap — make targets. `make test` is what CI runs (as root).
SHELL := /bin/bash
CC ?= cc
CFLAGS ?= -O2 -Wall -Wextra -Werror
BUILD := build
SHIM := $(BUILD)/libctmapbpf.so
NODE_BIN := node_modules/.bin

.PHONY: all build deps sysdeps shim ts lint test demo bench repl clean vm-test

all: build

build: deps shim ts

deps: node_modules/.package-lock.json sysdeps

# The tests compile C probes against <linux/bpf.h>, drop capabilities with capsh
# and check maps with bpftool, an independent client.
sysdeps:
	@if [ ! -f /usr/include/linux/bpf.h ] || ! command -v capsh >/dev/null || ! command -v $(CC) >/dev/null || ! command -v bpftool >/dev/null; then \
		echo "installing linux-libc-dev, libcap2-bin, bpftool and a C compiler"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends linux-libc-dev libcap2-bin gcc libc6-dev bpftool; \
	fi

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

shim: $(SHIM)

$(SHIM): shim/bpfshim.c
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -shared -fPIC -fvisibility=hidden -o $@ $<

# The library (tsc), then the CLI bundle package.json's bin points at (esbuild; see scripts/bundle-cli.mjs).
ts: deps
	$(NODE_BIN)/tsc -p tsconfig.build.json
	node scripts/bundle-cli.mjs

lint: deps
	$(NODE_BIN)/tsc -p tsconfig.json --noEmit
	$(NODE_BIN)/eslint .

# The whole suite, as root: lint, build, then tap (privileged tests mount their own private bpffs).
test: lint build
	@if [ "$$(id -u)" != 0 ]; then echo "make test needs root (privileged tests use real BPF maps)"; exit 1; fi
	$(NODE_BIN)/tap

# `make demo NODE=cilium-datapath/evicted-orphans-v4` tells the same story on a node Cilium's own datapath wrote.
demo: build
	node dist/demo.js $(if $(NODE),--node $(NODE))

# Benchmarks: measured and reported, never asserted (see README).
bench: build $(BUILD)/cbench
	$(NODE_BIN)/tsc -p tsconfig.bench.json
	node --expose-gc build/js/bench/decode.js
	node build/js/bench/suite.js

$(BUILD)/cbench: bench/cbench.c
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $<

# The privileged suite inside qemu VMs on Debian's 6.1 and 6.12 kernels (KERNELS="6.1 6.12"); not part of CI.
vm-test: build
	vm/matrix.sh

repl: build
	node --experimental-repl-await dist/repl.js

clean:
	rm -rf $(BUILD) dist .tap coverage
