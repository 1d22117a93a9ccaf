# ctmap — make targets. `make test` is what CI runs (as root).
SHELL := /bin/bash
CC ?= cc
CFLAGS ?= -O2 -Wall -Wextra -Werror
BUILD := build
SHIM := $(BUILD)/libctmapbpf.so
NODE_BIN := node_modules/.bin

.PHONY: all build deps sysdeps shim ts lint test demo bench repl clean vm-test prebuilds verify-shim mutation

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

# The prebuilt shims the npm package ships (prebuilds/linux-<arch>/), chosen by process.arch at load time.
# Reproducible: the same compiler (Debian 12's gcc 12.2.0, native and aarch64-linux-gnu), the same flags,
# stripped, no paths — `make verify-shim` rebuilds both and compares the bytes; README lists their SHA-256.
PREBUILD_FLAGS := -O2 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden -s -ffile-prefix-map=$(CURDIR)=.
CC_X64 ?= x86_64-linux-gnu-gcc
CC_ARM64 ?= aarch64-linux-gnu-gcc

prebuilds:
	@command -v $(CC_ARM64) >/dev/null || { echo "installing gcc-aarch64-linux-gnu"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross; }
	@mkdir -p prebuilds/linux-x64 prebuilds/linux-arm64
	$(CC_X64) $(PREBUILD_FLAGS) -o prebuilds/linux-x64/libctmapbpf.so shim/bpfshim.c
	$(CC_ARM64) $(PREBUILD_FLAGS) -o prebuilds/linux-arm64/libctmapbpf.so shim/bpfshim.c
	sha256sum prebuilds/linux-*/libctmapbpf.so

verify-shim:
	@command -v $(CC_ARM64) >/dev/null || { echo "installing gcc-aarch64-linux-gnu"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross; }
	@mkdir -p $(BUILD)/verify/linux-x64 $(BUILD)/verify/linux-arm64
	$(CC_X64) $(PREBUILD_FLAGS) -o $(BUILD)/verify/linux-x64/libctmapbpf.so shim/bpfshim.c
	$(CC_ARM64) $(PREBUILD_FLAGS) -o $(BUILD)/verify/linux-arm64/libctmapbpf.so shim/bpfshim.c
	cmp prebuilds/linux-x64/libctmapbpf.so $(BUILD)/verify/linux-x64/libctmapbpf.so
	cmp prebuilds/linux-arm64/libctmapbpf.so $(BUILD)/verify/linux-arm64/libctmapbpf.so
	sha256sum prebuilds/linux-*/libctmapbpf.so
	@echo "prebuilt shims match shim/bpfshim.c byte for byte"

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
# The npm `bpf` package (bench/bpfpkg) is the third column; if it does not install, the bench says why and goes on.
bench: build $(BUILD)/cbench
	$(NODE_BIN)/tsc -p tsconfig.bench.json
	-cd bench/bpfpkg && npm install --no-audit --no-fund --ignore-scripts > ../../$(BUILD)/bpfpkg-install.log 2>&1
	node --expose-gc build/js/bench/decode.js
	node build/js/bench/suite.js

$(BUILD)/cbench: bench/cbench.c
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $<

# The privileged suite inside qemu VMs on Debian's 5.10 (bullseye), 6.1 and 6.12 kernels (KERNELS="5.10 6.1 6.12");
# not part of CI.
vm-test: build
	vm/matrix.sh

# Mutation testing (StrykerJS) of the modules that decide what gets deleted or how bytes are read, each against
# the tests mutation/guards.mjs lists for it; as root (privileged guards use real maps). Not part of `make test`:
# about two hours here from a fresh clone (README: Mutation testing). MUTATE=src/ctmap/gc.ts,src/structs/tuple.ts narrows it. Reports in reports/mutation/.
# TAP_BAIL: a guard stops at its first failing assertion (its mutant is killed then; only survivors run in full).
mutation: build
	@if [ "$$(id -u)" != 0 ]; then echo "make mutation needs root (the privileged guards use real BPF maps)"; exit 1; fi
	cd mutation && { [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; }
	CI=true TAP_BAIL=1 mutation/node_modules/.bin/stryker run mutation/stryker.config.mjs
	node mutation/scores.mjs reports/mutation/mutation.json

repl: build
	node --experimental-repl-await dist/repl.js

clean:
	rm -rf $(BUILD) dist .tap coverage
