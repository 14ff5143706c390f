#!/usr/bin/env bash
# Install the Debian packages wcard needs, and only those that are missing.
# Called by `make deps` (and implicitly by make, make test, make demo).
set -euo pipefail

# libclang-rt-19-dev: libFuzzer and the sanitizers for clang-19 (make fuzz, make test).
# qemu-system-x86, busybox-static, cpio, xz-utils, zstd: make vmtest (tests/vm), which
# boots Debian's kernels under qemu from an initramfs built here.
PKGS=(clang-19 llvm-19 libclang-rt-19-dev libbpf-dev bpftool libcriterion-dev libxdp-dev
      pkg-config gnuplot-nox python3 valgrind iproute2 zlib1g-dev libelf-dev make gcc binutils
      qemu-system-x86 busybox-static cpio xz-utils zstd)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run 'make deps' as root, or install them with apt-get" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
