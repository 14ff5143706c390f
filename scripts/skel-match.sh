#!/usr/bin/env bash
# Does a compat skeleton match the default one (Makefile, compat builds)? Same maps, programs
# and links in any order, and the same globals (.rodata, .data, .bss) in the same layout.
set -euo pipefail
name=$1 compat=$2 default=$3

shape() { # the skeleton struct of $2 named $1: pointer lines sorted, the rest in order
	sed -n "/^struct $1 {/,/^};/p" "$2" | sed "s/\b$1\(__\|\b\)/SKEL\1/g" |
		awk '/struct bpf_(map|program|link) \*/ { p[n++] = $0; next } { print }
		     END { for (i = 0; i < n; i++) print p[i] | "sort" }'
}

if ! cmp -s <(shape "${name}_compat" "$compat") <(shape "$name" "$default"); then
	echo "compat build of $name differs from the default one in maps, programs or globals:" >&2
	diff <(shape "${name}_compat" "$compat") <(shape "$name" "$default") >&2 || true
	exit 1
fi
