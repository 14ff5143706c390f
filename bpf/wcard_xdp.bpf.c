// SPDX-License-Identifier: MIT
/* wcard_xdp.bpf.c: the ready XDP filter: parse, classify, count, act; installed, in libwcard. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <wcard/parse.bpf.h>
#include <wcard/classify.bpf.h>

/*
 * Write a struct wc_xdp_meta in front of the frame (XDP metadata) with the
 * verdict, for tc programs and AF_XDP consumers downstream and for the test
 * harness (BPF_PROG_TEST_RUN returns the metadata with the frame). Off in the
 * object: some kernels refuse bpf_xdp_adjust_meta to XDP programs, and a
 * program that calls it would not load there (`bpftool prog load` included).
 * libwcard turns it on where a probe program calling it loads.
 */
const volatile bool wc_export_meta = false;

/*
 * Keep the verdict of the CPU's last frame in wc_verdict: libwcard turns it on
 * where test runs cannot return metadata (see WC_VERDICT_MAP).
 */
const volatile bool wc_keep_verdict = false;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wc_xdp_meta);
} wc_verdict SEC(".maps");

/*
 * Hit counters per rule id, per CPU, in one half per generation (index
 * WC_HITS_INDEX): a rule keeps its id, and so its counts, when a rebuild or a
 * Tuple Merge split moves it to another slot, and user space sums the two
 * halves. Index 0 counts frames that matched no rule (or were not
 * classified). User space sizes the map with wcard_object_prepare().
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WC_HITS_ENTRIES(WC_DEFAULT_MAX_RULES));
	__type(key, __u32);
	__type(value, struct wc_counter);
} wc_hits SEC(".maps");

static __always_inline void wc_count(__u32 idx, __u64 bytes)
{
	struct wc_counter *c = bpf_map_lookup_elem(&wc_hits, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/*
 * The parser as a global subprogram: verified once, and its stack frame is a
 * sibling of the classifier's call chain instead of adding to it (the combined
 * stack of nested calls is limited to 512 bytes).
 */
#ifndef WCARD_COMPAT
__noinline int wc_xdp_parse_g(struct xdp_md *ctx, struct wc_pkt *pkt)
{
	/* To the verifier, a global function's pointer arguments may be NULL. */
	if (!ctx || !pkt)
		return WC_PARSE_MALFORMED;
	return wc_parse((void *)(long)ctx->data, (void *)(long)ctx->data_end, pkt);
}

/* Parse into buf; *pkt: the parsed packet. */
static __always_inline int wc_xdp_parse(struct xdp_md *ctx, struct wc_pkt *buf,
					const struct wc_pkt **pkt)
{
	*pkt = buf;
	return wc_xdp_parse_g(ctx, buf);
}
#else
/* Compat build: no pointer arguments but the context; the result goes through the scratch entry. */
__noinline int wc_xdp_parse_g(struct xdp_md *ctx)
{
	struct wc_scratch *s = wc_scratch_get();

	if (!ctx || !s)
		return WC_PARSE_MALFORMED;
	return wc_parse((void *)(long)ctx->data, (void *)(long)ctx->data_end, &s->pkt);
}

/*
 * *pkt: the packet as parsed into the CPU's scratch entry, read there, not
 * copied to the stack: Linux 5.10 rounds each frame of the combined stack up
 * more coarsely than later kernels, and the filter's frame has no 56 bytes to
 * spare there (buf stays unused).
 */
static __always_inline int wc_xdp_parse(struct xdp_md *ctx, struct wc_pkt *buf,
					const struct wc_pkt **pkt)
{
	int ret = wc_xdp_parse_g(ctx);
	struct wc_scratch *s = wc_scratch_get();

	if (!s)
		return WC_PARSE_MALFORMED;
	*pkt = &s->pkt;
	return ret;
}
#endif

static __always_inline void wc_meta_fill(struct wc_xdp_meta *m, const struct wc_result *res,
					 int status, __u32 action)
{
	m->magic = WC_MAGIC;
	m->id = res->id;
	m->value = res->value;
	m->slot = res->slot;
	m->parse = status;
	m->action = action;
}

static __always_inline __u32 wc_xdp_action(__u32 a)
{
	/* Only actions that make sense without extra setup; anything else passes. */
	return (a == XDP_DROP || a == XDP_PASS || a == XDP_REDIRECT) ? a : XDP_PASS;
}

SEC("xdp")
int wc_xdp_filter(struct xdp_md *ctx)
{
	const struct wc_pkt *pkt = NULL;
	struct wc_result res;
	struct wc_config *cfg;
	struct wc_pkt buf;
	__u32 action, ifindex = 0;
	int status;

	/*
	 * The one read of the live generation for this packet: the key layout,
	 * the algorithm, its tables, the actions and the counters' half below
	 * all come from this config (see wc_classify).
	 */
	cfg = wc_config_get();
	if (!cfg)
		return XDP_PASS;
	wc_result_miss(&res);
	status = wc_xdp_parse(ctx, &buf, &pkt);
	if (status == WC_PARSE_OK && pkt) {
		action = cfg->default_action;
		if (wc_classify_pkt(pkt, cfg, &res) > 0) {
			action = WC_VALUE_ACTION(res.value);
			ifindex = WC_VALUE_IFINDEX(res.value);
		}
	} else if (status == WC_PARSE_NOT_IP) {
		action = cfg->nonip_action;
	} else {
		action = cfg->bad_action;
	}
	action = wc_xdp_action(action);
	/* XDP_REDIRECT; the kernel drops the frame if no device has that ifindex. */
	if (action == XDP_REDIRECT)
		action = bpf_redirect(ifindex, 0);
	/*
	 * Counted in the half of cfg's generation, whichever part matched. A
	 * program without xdp.frags never sees a multi-buffer frame, so
	 * data_end - data is the whole frame, on kernels without
	 * bpf_xdp_get_buff_len (5.18) too.
	 */
	wc_count(res.id == WC_ID_NONE ?
			 0 :
			 WC_HITS_INDEX(cfg->self & (WC_GENS - 1), cfg->max_rules, res.id),
		 ctx->data_end - ctx->data);

	if (wc_export_meta && !bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct wc_xdp_meta))) {
		struct wc_xdp_meta *m = (void *)(long)ctx->data_meta;

		/* adjust_meta invalidated every packet pointer: re-check against data. */
		if ((void *)(m + 1) <= (void *)(long)ctx->data)
			wc_meta_fill(m, &res, status, action);
	}
	if (wc_keep_verdict) {
		__u32 zero = 0;
		struct wc_xdp_meta *m = bpf_map_lookup_elem(&wc_verdict, &zero);

		if (m)
			wc_meta_fill(m, &res, status, action);
	}
	return action;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
