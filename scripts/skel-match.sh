#!/usr/bin/env bash
# Does a compat skeleton fit the default one (Makefile, compat builds)? The same programs and
# globals (.rodata, .data, .bss) in the same layout, and every map of the default build (the
# compat build may add its own, such as its scratch map).
set -euo pipefail
name=$1 compat=$2 default=$3

struct() { # the skeleton struct of $2 named $1, with the name made neutral
	sed -n "/^struct $1 {/,/^};/p" "$2" | sed "s/\b$1\(__\|\b\)/SKEL\1/g"
}
rest() { struct "$@" | grep -v 'struct bpf_map \*' || true; }
maps() { struct "$@" | grep 'struct bpf_map \*' | sort || true; }

ok=1
if ! cmp -s <(rest "${name}_compat" "$compat") <(rest "$name" "$default"); then
	echo "compat build of $name differs from the default one in programs or globals:" >&2
	diff <(rest "${name}_compat" "$compat") <(rest "$name" "$default") >&2 || true
	ok=0
fi
missing=$(comm -13 <(maps "${name}_compat" "$compat") <(maps "$name" "$default"))
if [ -n "$missing" ]; then
	echo "compat build of $name lacks maps of the default one:" >&2
	echo "$missing" >&2
	ok=0
fi
[ "$ok" = 1 ]
