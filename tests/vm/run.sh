#!/usr/bin/env bash
# make vmtest's host side: boots one of Debian's kernels under qemu and runs a command of this project in it.
#
# usage: tests/vm/run.sh [--prepare] KERNEL [-- COMMAND [ARG...]]
#
# KERNEL is a short name of tests/vm/kernels.txt (5.10, 6.1, 6.12). The first
# run downloads that exact package with apt-get (private lists, nothing is
# installed), extracts it and builds an initramfs, all under build/vm; later
# runs reuse them. --prepare stops there.
#
# The guest (tests/vm/init.sh) sees this host's root filesystem read-only over
# virtio-9p under a tmpfs overlay, so the project's build runs as it is, at
# the same path; only build/vm/results is written through to the host.
# VMTEST_BUILD (default: build) is the build directory the guest tests and the
# one that holds vm/.
# COMMAND (default: tests/vm/guest.sh) runs in the project directory as root;
# its exit code is this script's. 125: the harness failed, or the guest
# reported no exit code (a panic, VMTEST_TIMEOUT).
#
# Environment: VMTEST_TIMEOUT (seconds, default 3600), VMTEST_MEM (2G),
# VMTEST_SMP (2), VMTEST_APPEND (more kernel parameters), VMTEST_SUITES (passed
# on to the guest: the suites tests/vm/guest.sh runs).
# qemu runs TCG (no KVM): BPF work runs several times slower than on the host.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
BUILD=$(realpath -m "${VMTEST_BUILD:-$ROOT/build}")
VM=$BUILD/vm
KERNELS=$ROOT/tests/vm/kernels.txt
# What the initramfs loads to reach the host's root; their dependencies come along.
BOOT_MODULES=(virtio_pci 9pnet_virtio 9p overlay)
TIMEOUT=${VMTEST_TIMEOUT:-3600}
BOOT_TRIES=3

die() {
	echo "vmtest: $*" >&2
	exit 125
}

usage() {
	sed -n '4p' "${BASH_SOURCE[0]}" | sed 's/^# //' >&2
	exit 125
}

# Sets SUITE, PACKAGE and VERSION from KERNEL's line of kernels.txt.
kernel_entry() {
	local short
	while read -r short SUITE PACKAGE VERSION; do
		[[ $short == "$1" ]] && return 0
	done < <(grep -v '^[[:space:]]*\(#\|$\)' "$KERNELS")
	die "no kernel '$1' in tests/vm/kernels.txt (there: $(grep -o '^[0-9][^[:space:]]*' "$KERNELS" | paste -sd' '))"
}

# apt-get with its own sources (SUITE only), lists and cache under build/vm/apt:
# the system's apt configuration and state are left alone.
vm_apt() {
	local dir=$VM/apt/$SUITE opts
	opts=(-o "Dir::Etc::sourcelist=$dir/sources.list" -o Dir::Etc::sourceparts=-
	      -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
	      -o Dir::State::status=/dev/null)
	[[ $(id -u) -eq 0 ]] && opts+=(-o APT::Sandbox::User=root)
	apt-get -q "${opts[@]}" "$@"
}

# Downloads and extracts PACKAGE=VERSION into build/vm/kernels/KERNEL, with its
# modules decompressed and a modules.dep (the package ships none: its postinst
# runs depmod).
prepare_kernel() {
	local kdir=$VM/kernels/$1 dir=$VM/apt/$SUITE mirror=http://deb.debian.org/debian err deb
	local keyring=/usr/share/keyrings/debian-archive-keyring.gpg

	[[ -f $kdir/.prepared && $(head -n1 "$kdir/.prepared") == "$PACKAGE=$VERSION" ]] && return 0
	echo "vmtest: $1: fetching $PACKAGE $VERSION from $SUITE" >&2
	[[ $SUITE == *-security ]] && mirror=http://deb.debian.org/debian-security
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/debs"
	[[ -r $keyring ]] || die "cannot check Debian's signatures: no $keyring (debian-archive-keyring)"
	echo "deb [signed-by=$keyring] $mirror $SUITE main" >"$dir/sources.list"
	err=$dir/apt.err
	vm_apt update >/dev/null 2>"$err" ||
		die "cannot read the $SUITE package lists: $(grep -m1 '^[EW]:' "$err" || tail -n1 "$err")"
	(cd "$dir/debs" && rm -f ./*.deb && vm_apt download "$PACKAGE=$VERSION" >/dev/null 2>"$err") ||
		die "cannot download $PACKAGE $VERSION from $SUITE: $(grep -m1 '^E:' "$err" || tail -n1 "$err")" \
			"(if Debian dropped that version, pin the current one in tests/vm/kernels.txt)"
	deb=$(echo "$dir"/debs/*.deb)

	rm -rf "$kdir" "$kdir.tmp"
	mkdir -p "$kdir.tmp"
	dpkg-deb -x "$deb" "$kdir.tmp" || die "cannot extract $deb"
	rm -f "$deb"
	local rel
	rel=$(basename "$(echo "$kdir.tmp"/lib/modules/*)")
	[[ -f $kdir.tmp/boot/vmlinuz-$rel ]] || die "$PACKAGE has no /boot/vmlinuz-$rel"
	# Plain .ko files: busybox's insmod hands a compressed module to the kernel
	# first (which refuses it, loudly) and cannot read zstd at all.
	find "$kdir.tmp/lib/modules" -name '*.ko.xz' -print0 | xargs -0 -r -n 64 -P 2 xz -d
	find "$kdir.tmp/lib/modules" -name '*.ko.zst' -print0 | xargs -0 -r -n 64 -P 2 zstd -q -d --rm
	busybox depmod -b "$kdir.tmp" "$rel" || die "depmod failed for $rel"
	printf '%s=%s\n%s\n' "$PACKAGE" "$VERSION" "$rel" >"$kdir.tmp/.prepared"
	mv "$kdir.tmp" "$kdir"
}

# Prints MODULES and what they need, as paths under the modules directory
# MDIR, each after its dependencies. Modules built into the kernel are left out.
module_closure() {
	local mdir=$1
	shift
	awk -v want="$*" -v builtin="$mdir/modules.builtin" '
		function name(p) { sub(/.*\//, "", p); sub(/\.ko.*/, "", p); gsub(/-/, "_", p); return p }
		function visit(p,   i, n, d) {
			if (p in seen)
				return
			seen[p] = 1
			n = split(deps[p], d, " ")
			for (i = 1; i <= n; i++)
				visit(d[i])
			print p
		}
		{ p = $1; sub(/:$/, "", p); path[name(p)] = p; $1 = ""; deps[p] = $0 }
		END {
			while ((getline line < builtin) > 0)
				inkernel[name(line)] = 1
			n = split(want, w, " ")
			for (i = 1; i <= n; i++) {
				if (w[i] in path)
					visit(path[w[i]])
				else if (!(w[i] in inkernel)) {
					print "vmtest: no module " w[i] > "/dev/stderr"
					exit 1
				}
			}
		}' "$mdir/modules.dep"
}

# Builds build/vm/initramfs/KERNEL.cpio.gz: busybox, tests/vm/init.sh as /init,
# and the modules that reach the host's root (boot.order: their load order).
prepare_initramfs() {
	local kdir=$VM/kernels/$1 out=$VM/initramfs/$1.cpio.gz rel stage mods m bb
	local init=$ROOT/tests/vm/init.sh

	rel=$(sed -n 2p "$kdir/.prepared")
	bb=$(command -v busybox) || die "no busybox (make deps installs busybox-static)"
	if [[ -f $out && $out -nt $init && $out -nt $kdir/.prepared && $out -nt ${BASH_SOURCE[0]} &&
	      $out -nt $bb ]]; then
		return 0
	fi
	stage=$VM/initramfs/$1.stage
	rm -rf "$stage"
	mkdir -p "$stage/bin" "$stage/lib/modules/$rel"
	cp "$bb" "$stage/bin/busybox"
	ln -s busybox "$stage/bin/sh"
	cp "$init" "$stage/init"
	chmod 755 "$stage/init"
	mods=$(module_closure "$kdir/lib/modules/$rel" "${BOOT_MODULES[@]}") ||
		die "$1: the initramfs lacks modules: ${BOOT_MODULES[*]}"
	for m in $mods; do
		mkdir -p "$stage/lib/modules/$rel/$(dirname "$m")"
		cp "$kdir/lib/modules/$rel/$m" "$stage/lib/modules/$rel/$m"
		echo "$m" >>"$stage/lib/modules/$rel/boot.order"
	done
	touch "$stage/lib/modules/$rel/boot.order"
	(cd "$stage" && find . -print0 | cpio --null -o -H newc --owner=0:0 --quiet | gzip -1) \
		>"$out.tmp" || die "cannot build $out"
	mv "$out.tmp" "$out"
	rm -rf "$stage"
}

# Boots KERNEL once with the command file CMD, the console into LOG; prints
# the console from the guest's boot on. Returns the exit code of timeout(1).
run_qemu() {
	local k=$1 cmd=$2 log=$3 kdir=$VM/kernels/$1 rel line t0 booted=''
	rel=$(sed -n 2p "$kdir/.prepared")
	t0=$EPOCHREALTIME
	timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -cpu max \
		-smp "${VMTEST_SMP:-2}" -m "${VMTEST_MEM:-2G}" -nographic -no-reboot -nic none \
		-kernel "$kdir/boot/vmlinuz-$rel" -initrd "$VM/initramfs/$k.cpio.gz" \
		-append "console=ttyS0 quiet panic=-1 random.trust_cpu=on vmtest.cmd=$cmd vmtest.kdir=$kdir vmtest.results=$VM/results ${VMTEST_APPEND:-}" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$VM/results,mount_tag=results,security_model=none" \
		</dev/null 2>&1 | {
		while IFS= read -r line || [[ -n $line ]]; do
			line=${line%$'\r'}
			printf '%s\n' "$line" >&3
			case $line in
			*WCARD-VM-BOOTED*)
				echo "vmtest: $k: booted $rel in $(elapsed "$t0") s"
				booted=1 ;;
			WCARD-VM-EXIT=*)
				echo "vmtest: $k: guest command exited with ${line#*=}"
				booted='' ;;
			*)
				[[ -z $booted ]] || printf '%s\n' "$line" ;;
			esac
		done 3>"$log"
	}
	return "${PIPESTATUS[0]}"
}

# Boots KERNEL with the command file CMD and returns the guest command's exit
# code. A guest that crashes before it has booted is booted again, up to
# BOOT_TRIES times: under TCG, Debian's 6.12 now and then hits an int3 that
# its boot-time code patching had already removed (a stale translation).
boot() {
	local k=$1 cmd=$2 log=$VM/results/$1/console.log try st rc
	command -v qemu-system-x86_64 >/dev/null || die "no qemu-system-x86_64 (make deps installs it)"
	rm -f "${log%.log}".boot*.log
	for ((try = 1; ; try++)); do
		st=0
		run_qemu "$k" "$cmd" "$log" || st=$?
		grep -q 'WCARD-VM-BOOTED' "$log" || [[ $st -eq 124 || $try -ge $BOOT_TRIES ]] || {
			mv "$log" "${log%.log}.boot$try.log"
			echo "vmtest: $k: the guest crashed while booting" \
				"(console: ${log%.log}.boot$try.log); booting it again" >&2
			continue
		}
		break
	done

	rc=$(sed -n 's/^WCARD-VM-EXIT=\([0-9]*\)$/\1/p' "$log" | tail -n1)
	[[ -z $rc ]] || return "$rc"
	if [[ $st -eq 124 ]]; then
		echo "vmtest: $k: timed out after $TIMEOUT s (VMTEST_TIMEOUT); console: $log" >&2
	elif grep -q '^qemu-system-x86_64: terminating on signal' "$log"; then
		echo "vmtest: $k: qemu was stopped from outside ($(grep -m1 -o 'signal.*' "$log"));" \
			"console: $log" >&2
	elif ! grep -q 'WCARD-VM-BOOTED' "$log"; then
		tail -n 30 "$log" >&2
		echo "vmtest: $k: the guest did not boot (tried $try times); console: $log" >&2
	else
		echo "vmtest: $k: the guest stopped without an exit code (panic?); console: $log" >&2
	fi
	return 125
}

# Seconds since the EPOCHREALTIME T0, one decimal.
elapsed() {
	local now=$EPOCHREALTIME
	awk -v a="$1" -v b="$now" 'BEGIN { printf "%.1f", b - a }'
}

main() {
	local prepare='' k cmd rc=0
	[[ ${1:-} == --prepare ]] && { prepare=1; shift; }
	[[ $# -ge 1 ]] || usage
	k=$1
	shift
	if [[ $# -gt 0 ]]; then
		[[ $1 == -- ]] || usage
		shift
	fi
	[[ $# -gt 0 ]] || set -- tests/vm/guest.sh
	[[ $ROOT$BUILD != *[[:space:]]* ]] || die "white space in the project's path or VMTEST_BUILD: $ROOT, $BUILD"

	kernel_entry "$k"
	mkdir -p "$VM"
	(
		flock 9
		prepare_kernel "$k"
		prepare_initramfs "$k"
	) 9>"$VM/.lock"
	[[ -z $prepare ]] || return 0

	# One run of a kernel at a time: they share build/vm/results/KERNEL*.
	mkdir -p "$VM/run" "$VM/results"
	exec 8>"$VM/run/$k.lock"
	if ! flock -n 8; then
		echo "vmtest: $k: waiting for the other run of this kernel to end ($VM/run/$k.lock)" >&2
		flock 8
	fi

	# The guest command: a bash script in build/vm/run, which the guest reads
	# through the host's root. What else lands in results/KERNEL* is the
	# command's: another command than guest.sh leaves guest.sh's results be.
	mkdir -p "$VM/results/$k"
	cmd=$VM/run/$k.sh
	{
		echo "# Written by tests/vm/run.sh: the command the guest of kernel $k runs."
		printf 'export VMTEST_KERNEL=%q VMTEST_PACKAGE=%q VMTEST_VERSION=%q\n' \
			"$k" "$PACKAGE" "$VERSION"
		printf 'export VMTEST_BUILD=%q VMTEST_RESULTS=%q\n' "$BUILD" "$VM/results"
		[[ -z ${VMTEST_SUITES:-} ]] || printf 'export VMTEST_SUITES=%q\n' "$VMTEST_SUITES"
		printf 'cd %q\n' "$ROOT"
		printf 'exec'
		printf ' %q' "$@"
		printf '\n'
	} >"$cmd"
	boot "$k" "$cmd" || rc=$?
	return "$rc"
}

main "$@"
exit
