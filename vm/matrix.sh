#!/usr/bin/env bash
# `make vm-test`: the privileged tap suite, compiled to JavaScript, run as root inside qemu VMs on
# Debian's kernels (default: the newest 5.10 from bullseye, 6.1 and 6.12 from bookworm). One summary line per kernel; exit status
# non-zero if any kernel fails. Everything it needs is installed here.
#
#   KERNELS="5.10 6.1 6.12" make vm-test
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
kernels=${KERNELS:-5.10 6.1 6.12}
suites=${VM_SUITES:-tests/priv tests/reliability}

if ! command -v qemu-system-x86_64 >/dev/null || [ ! -x /bin/busybox ] || ! command -v cpio >/dev/null || ! command -v depmod >/dev/null; then
	echo "installing qemu-system-x86, busybox-static, kmod, cpio"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 busybox-static kmod cpio xz-utils >/dev/null
fi

# The compiled tests and library, and a pruned copy of the project for the guest's RAM.
node_modules/.bin/tsc -p tsconfig.vm.json
ln -sfn src build/vm/js/dist
# The CLI as the package ships it (the esbuild bundle `make build` wrote), where the compiled tests look for it.
rm -rf build/vm/js/src/bin && cp -a dist/bin build/vm/js/src/bin
cp tests/helpers/*.mjs build/vm/js/tests/helpers/
stage=$repo/build/vm/stage
rm -rf "$stage"
mkdir -p "$stage/build"
cp package.json "$stage/"
cp build/libctmapbpf.so "$stage/build/"
cp -a build/vm/js "$stage/js"
cp vm/guest-tests.mjs "$stage/"
cp -al node_modules "$stage/node_modules"
# What the guest never loads: the compiler and the linters.
rm -rf "$stage"/node_modules/{typescript,@typescript,@typescript-eslint,eslint,@eslint,es-toolkit,.cache}

mkdir -p build/vm/debs
# The recorded Cilium nodes stay where they are: the guest sees the host's root (read-only) at the same paths.
fixtures=${CTMAP_FIXTURES:-$(cd "$repo/.." && pwd)/shared/fixtures/cilium-datapath}
# Bullseye (5.10, the oldest kernel Cilium 1.19 supports) is not in this machine's sources: a private source
# list and private package lists, used for `apt-get download` only — nothing from bullseye is installed.
bullseye=$repo/build/vm/apt-bullseye
bullseye_apt=(-o "Dir::Etc::sourcelist=$bullseye/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$bullseye/lists" -o "Dir::Cache=$bullseye/cache")
bullseye_lists() {
	mkdir -p "$bullseye/lists/partial" "$bullseye/cache/archives/partial"
	printf '%s\n' 'deb http://deb.debian.org/debian bullseye main' 'deb http://deb.debian.org/debian-security bullseye-security main' >"$bullseye/sources.list"
	apt-get "${bullseye_apt[@]}" update -qq
}
summary=()
status=0
for k in $kernels; do
	apt=()
	case "$k" in
		5.10) pat='^linux-image-5\.10\.0-[0-9]+-amd64$'; apt=("${bullseye_apt[@]}")
			[ -d "$bullseye/lists" ] || bullseye_lists ;;
		6.1) pat='^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
		6.12) pat='^linux-image-6\.12\.[0-9]+\+deb12-amd64$' ;;
		*) echo "unknown kernel series $k (5.10, 6.1 or 6.12)" >&2; exit 2 ;;
	esac
	pkg=$(apt-cache "${apt[@]}" search --names-only "^linux-image-$k" 2>/dev/null | awk '{print $1}' | grep -E "$pat" | sort -V | tail -1 || true)
	if [ -z "$pkg" ]; then
		if [ "$k" = 5.10 ]; then bullseye_lists; else apt-get update -qq; fi
		pkg=$(apt-cache "${apt[@]}" search --names-only "^linux-image-$k" | awk '{print $1}' | grep -E "$pat" | sort -V | tail -1)
	fi
	deb=$(ls build/vm/debs/"${pkg}"_*.deb 2>/dev/null | head -1 || true)
	if [ -z "$deb" ]; then
		(cd build/vm/debs && apt-get "${apt[@]}" download -qq "$pkg" 2>/dev/null)
		deb=$(ls build/vm/debs/"${pkg}"_*.deb | head -1)
	fi
	echo "== $pkg"
	started=$(date +%s)
	log=build/vm/$pkg.log
	set +e
	(cd "$stage" && VM_COPY="$stage" VM_CONSOLE="$repo/build/vm/$pkg.console" "$repo/vm/run-in-vm.sh" "$repo/$deb" \
		env CTMAP_FIXTURES="$fixtures" node guest-tests.mjs $(for s in $suites; do printf 'js/%s ' "$s"; done)) | tee "$log"
	rc=${PIPESTATUS[0]}
	set -e
	secs=$(( $(date +%s) - started ))
	line=$(grep '^VM-SUMMARY ' "$log" | tail -1 | sed 's/^VM-SUMMARY //')
	if [ -z "$line" ]; then
		summary+=("$pkg: no result (exit $rc), ${secs} s")
		status=1
		continue
	fi
	summary+=("$(node -e 'const s = JSON.parse(process.argv[1]); console.log(`${s.kernel}: ${s.pass} passed, ${s.fail} failed, ${s.skip} skipped in ${s.files} files, ${process.argv[2]} s wall`)' "$line" "$secs")")
	[ "$rc" = 0 ] || status=1
done
echo
echo "Kernel matrix:"
printf '  %s\n' "${summary[@]}"
exit $status
