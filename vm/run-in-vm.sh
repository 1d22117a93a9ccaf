#!/usr/bin/env bash
# Boot a Debian kernel package under qemu (TCG: this host has no usable KVM) and run one command in
# it as root, on the host's root file system (9p, read-only, with a tmpfs overlay so writes are
# discarded). Directories named in VM_COPY are packed into the initramfs so they are read from guest
# RAM instead of over 9p, which is slow. bpffs, proc, sys, dev and cgroup2 are mounted in the guest.
#
#   vm/run-in-vm.sh KERNEL.deb COMMAND...
#
# Environment: VM_COPY="dir …" (absolute paths), VM_MEM (MiB, default 4096), VM_SMP (default 2),
# VM_TIMEOUT (seconds, default 1200), VM_CACHE (default build/vm/cache), VM_CONSOLE (kernel log file).
# Exit status: the command's; 124 on timeout; 125 if the guest died without reporting one.
set -euo pipefail

deb=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
cache=${VM_CACHE:-$here/../build/vm/cache}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
name=$(basename "$deb" .deb)
kdir=$cache/$name

# 1. The kernel and the modules the guest needs to reach the host's files (9p over virtio) and overlay them.
if [ ! -f "$kdir/ready" ]; then
	rm -rf "$kdir"
	mkdir -p "$kdir/root"
	dpkg -x "$deb" "$kdir/root"
	kver=$(ls "$kdir/root/lib/modules")
	depmod -b "$kdir/root" "$kver"
	cp "$kdir/root/boot/vmlinuz-$kver" "$kdir/vmlinuz"
	mkdir -p "$kdir/mods"
	: > "$kdir/modlist"
	for m in virtio_pci 9pnet_virtio 9p overlay; do
		modprobe -d "$kdir/root" -S "$kver" --show-depends "$m" 2>/dev/null | awk '$1 == "insmod" { print $2 }' >> "$kdir/modlist" || true
	done
	awk '!seen[$0]++' "$kdir/modlist" > "$kdir/modlist.uniq"
	: > "$kdir/insmods"
	while read -r path; do
		base=$(basename "$path")
		case "$base" in
			*.ko.xz) xz -dc "$path" > "$kdir/mods/${base%.xz}"; base=${base%.xz} ;;
			*.ko.zst) zstd -dqc "$path" > "$kdir/mods/${base%.zst}"; base=${base%.zst} ;;
			*) cp "$path" "$kdir/mods/$base" ;;
		esac
		echo "$base" >> "$kdir/insmods"
	done < "$kdir/modlist.uniq"
	echo "$kver" > "$kdir/kver"
	rm -rf "$kdir/root"
	touch "$kdir/ready"
fi

# 2. The initramfs: busybox, the modules, an /init that mounts the host and runs the command.
work=$(mktemp -d "${TMPDIR:-/tmp}/ctmap-vm.XXXXXX")
trap 'rm -rf "$work"' EXIT
out=$work/out
mkdir -p "$out" "$work/initrd/bin" "$work/initrd/mods" "$work/initrd/payload"
cp /bin/busybox "$work/initrd/bin/busybox"
cp "$kdir"/mods/*.ko "$work/initrd/mods/" 2>/dev/null || true
cp "$kdir/insmods" "$work/initrd/insmods"
printf '%q ' "$@" > "$work/initrd/cmd"
echo "$PWD" > "$work/initrd/cwd"
for d in ${VM_COPY:-}; do
	mkdir -p "$work/initrd/payload$(dirname "$d")"
	cp -a "$d" "$work/initrd/payload$d"
done
cat > "$work/initrd/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc 2>/dev/null || { mkdir -p /proc && mount -t proc proc /proc; }
mkdir -p /sys /dev && mount -t sysfs sys /sys && mount -t devtmpfs dev /dev
for m in $(cat /insmods); do insmod /mods/$m 2>/dev/null; done
mkdir -p /host /out /ovl
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 root /host || { echo "no 9p root" > /dev/ttyS1; poweroff -f; }
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out /out
mount -t tmpfs -o size=90% tmpfs /ovl
mkdir -p /ovl/upper /ovl/work /ovl/root
mount -t overlay overlay -o lowerdir=/host,upperdir=/ovl/upper,workdir=/ovl/work /ovl/root
# The copied directories: from RAM, not over 9p.
if [ -n "$(ls -A /payload)" ]; then cp -a /payload/. /ovl/root/; fi
mount -t proc proc /ovl/root/proc
mount -t sysfs sys /ovl/root/sys
mount -t devtmpfs dev /ovl/root/dev
mkdir -p /ovl/root/dev/pts && mount -t devpts devpts /ovl/root/dev/pts
mount -t bpf bpf /ovl/root/sys/fs/bpf
mount -t cgroup2 cgroup2 /ovl/root/sys/fs/cgroup 2>/dev/null
mount -t tmpfs tmpfs /ovl/root/tmp
mount -t tmpfs tmpfs /ovl/root/run
cwd=$(cat /cwd)
chroot /ovl/root /bin/sh -c "cd '$cwd' && export HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin CI=\${CI:-} && $(cat /cmd)" > /dev/ttyS1 2>&1 < /dev/null
echo $? > /out/rc
sync
poweroff -f
INIT
chmod +x "$work/initrd/init"
(cd "$work/initrd" && find . | cpio -o -H newc --quiet | gzip -1 > "$work/initrd.gz")

# 3. Boot: the kernel log to a file (ttyS0), the command's output to our stdout (ttyS1).
console=${VM_CONSOLE:-$work/console.log}
set +e
timeout "${VM_TIMEOUT:-1200}" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp "${VM_SMP:-2}" -m "${VM_MEM:-4096}" \
	-display none -no-reboot -kernel "$kdir/vmlinuz" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 panic=-1 quiet" \
	-virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$out,mount_tag=out,security_model=none" \
	-serial "file:$console" -serial stdio < /dev/null
status=$?
set -e
if [ "$status" = 124 ]; then echo "vm: timed out after ${VM_TIMEOUT:-1200} s" >&2; exit 124; fi
if [ ! -s "$out/rc" ]; then echo "vm: the guest reported no exit status (kernel log: $console)" >&2; tail -20 "$console" >&2 || true; exit 125; fi
exit "$(cat "$out/rc")"
