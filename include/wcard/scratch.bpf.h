/* scratch.bpf.h: the compat build's per-CPU scratch entry for global function arguments; BPF only. */
#ifndef WCARD_SCRATCH_BPF_H
#define WCARD_SCRATCH_BPF_H

#include <wcard/compat.bpf.h>
#include <wcard/wcard_common.h>

#ifdef WCARD_COMPAT
/*
 * Compat build: the per-CPU scratch entry that carries the pointer arguments
 * of wcard's global functions (see WC_PARAMS in compat.bpf.h): the packet's
 * key and result, and which generation's config it is classified by. Also the
 * outputs of the LPM lookups and of the XDP filter's parser. A BPF program
 * runs to its end on its CPU before another XDP or tc program starts there,
 * so one entry per CPU is enough; do not call wcard from programs that may
 * interrupt one another on a CPU (NMI-context tracing programs).
 */
struct wc_scratch {
	struct wc_key key;
	struct wc_result res;
	__u64 lpm_value;
	__u32 lpm_route;
	__u32 gen; /* wc_config[gen] */
	struct wc_pkt pkt;
	__u32 _pad;
};
WC_STATIC_ASSERT(sizeof(struct wc_scratch) ==
			 sizeof(struct wc_key) + sizeof(struct wc_result) + sizeof(struct wc_pkt) + 20,
		 "wc_scratch has no hidden padding");

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
