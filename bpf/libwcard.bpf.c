// SPDX-License-Identifier: MIT
/*
 * libwcard.bpf.c: the wcard BPF library as one object, for static linking:
 *   bpftool gen object app.bpf.o app_main.bpf.o libwcard.bpf.o
 * It defines every map, global subprogram and load-time constant of the wcard
 * headers (all weak, see compat.bpf.h), and no program of its own. User space
 * reaches its maps through the linked object, or a subskeleton of this one.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <wcard/parse.bpf.h>
#include <wcard/classify.bpf.h>
