#!/bin/sh
# /init of make vmtest's initramfs (tests/vm/run.sh builds it): the host's root under a tmpfs overlay, then the command.
#
# Busybox sh, not bash: the initramfs holds busybox and the modules that reach
# the host's root filesystem, nothing else. run.sh passes on the kernel
# command line:
#   vmtest.cmd=FILE      the script to run (bash, in the host's root)
#   vmtest.kdir=DIR      the extracted kernel package (modules, config)
#   vmtest.results=DIR   the host directory the guest may write (9p tag "results")
# Every path is the same inside the guest as on the host. The command's exit
# code goes to the console as WCARD-VM-EXIT=<rc>, which run.sh reads; a guest
# that never prints it (a panic, this script failing) counts as a failure.
# Busybox's ash has pipefail and local, which POSIX sh lacks.
# shellcheck disable=SC3040,SC3043
set -eu -o pipefail

/bin/busybox mkdir -p /dev /proc /sys /sbin /usr/bin /usr/sbin
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/null >/dev/console 2>&1
/bin/busybox --install -s

fail() {
	echo "vmtest-init: $*"
	poweroff -f
}
trap 'fail "init stopped on an error"' EXIT

mount -t proc proc /proc
mount -t sysfs sysfs /sys
rel=$(uname -r)

param() {
	local v
	v=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^vmtest\\.$1=//p")
	[ -n "$v" ] || fail "no vmtest.$1= on the kernel command line"
	echo "$v"
}
cmd=$(param cmd)
kdir=$(param kdir)
results=$(param results)

# The modules that reach the host's root, each after what it needs.
while read -r m; do
	insmod "/lib/modules/$rel/$m" || fail "cannot load $m"
done <"/lib/modules/$rel/boot.order"

# The host's root read-only, written to through a tmpfs overlay.
mkdir -p /host /rw /newroot
mount -t 9p -o ro,trans=virtio,version=9p2000.L,cache=loose,msize=262144 hostroot /host ||
	fail "cannot mount the host's root over virtio-9p"
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work /newroot ||
	fail "cannot mount the overlay on the host's root"

n=/newroot
mount -t proc proc $n/proc
mount -t sysfs sysfs $n/sys
mount -t devtmpfs devtmpfs $n/dev
mkdir -p $n/dev/pts $n/dev/shm
# What udev would add: bash's <(...) needs /dev/fd.
ln -s /proc/self/fd $n/dev/fd
ln -s /proc/self/fd/0 $n/dev/stdin
ln -s /proc/self/fd/1 $n/dev/stdout
ln -s /proc/self/fd/2 $n/dev/stderr
mount -t devpts devpts $n/dev/pts
mount -t tmpfs tmpfs $n/dev/shm
mount -t bpf bpf $n/sys/fs/bpf
mount -t debugfs debugfs $n/sys/kernel/debug
mount -t cgroup2 cgroup2 $n/sys/fs/cgroup
# The guest's own /tmp and /run, unless the project's build lives under one
# (a clone in /tmp): then the overlay's, writable all the same, keeps it seen.
for d in tmp run; do
	case "$kdir/" in
	/$d/*) continue ;;
	esac
	mount -t tmpfs -o mode=1777 tmpfs $n/$d
done
chmod 0755 $n/run

# This kernel's modules and config where tools look for them, in the guest's
# root (modprobe run by a test) and in this initramfs (the kernel's own
# request_module() calls /sbin/modprobe, busybox's, from here).
mkdir -p "$n/lib/modules/$rel" $n/boot "/lib/modules/$rel"
mount --bind "$n$kdir/lib/modules/$rel" "$n/lib/modules/$rel"
mount --bind "$n$kdir/lib/modules/$rel" "/lib/modules/$rel"
touch "$n/boot/config-$rel"
mount --bind "$n$kdir/boot/config-$rel" "$n/boot/config-$rel"

mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 results "$n$results" ||
	fail "cannot mount the results directory over virtio-9p"

hostname "vmtest-$rel"
ip link set lo up

# On a line of its own: the firmware leaves escape sequences without one.
echo
echo "WCARD-VM-BOOTED $rel $(cut -d' ' -f1 /proc/uptime)"
rc=0
env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	chroot $n /bin/bash "$cmd" || rc=$?
sync
umount "$n$results" || true
trap - EXIT
echo "WCARD-VM-EXIT=$rc"
poweroff -f
