/* scratch.bpf.h: the compat build's per-CPU argument scratch map; wcard's BPF headers only. */
#ifndef WCARD_SCRATCH_BPF_H
#define WCARD_SCRATCH_BPF_H

#include <wcard/compat.bpf.h>
#include <wcard/wcard_common.h>

#ifdef WCARD_COMPAT
/*
 * Compat build: the per-CPU scratch map (struct wc_scratch, wcard_common.h),
 * which carries the pointer arguments of wcard's global functions (see
 * WC_PARAMS in compat.bpf.h). A BPF program runs to its end on its CPU before
 * another XDP or tc program starts there, so one entry per CPU is enough; do
 * not call wcard from programs that may interrupt one another on a CPU
 * (NMI-context tracing programs).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wc_scratch);
} wc_scratch SEC(".maps") WC_WEAK;

static __always_inline struct wc_scratch *wc_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&wc_scratch, &zero);
}

#endif /* WCARD_COMPAT */

#endif /* WCARD_SCRATCH_BPF_H */
