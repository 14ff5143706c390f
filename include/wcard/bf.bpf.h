/* bf.bpf.h: the brute-force lookup over a generation's rules; BPF, through classify.bpf.h. */
#ifndef WCARD_BF_BPF_H
#define WCARD_BF_BPF_H

#include <wcard/maps.bpf.h>

/* Rules per iterator step of the brute-force scan (unrolled). */
#define WC_BF_BLOCK 8

/*
 * One block of WC_BF_BLOCK rules, unrolled (one loop step per block, not per
 * rule): block b; 0 once a rule matched or the rules ran out, else 1.
 */
static __always_inline int wc_bf_block(const struct wc_key *key, const struct wc_config *cfg,
				       struct wc_result *res, __u32 b)
{
	__u32 n = cfg->nrules, base = cfg->rules_base, fmt = wc_rec_format;
	int j;

	/* Compile-time bound on top of the runtime count. */
	if (n > WC_MAX_RULES)
		n = WC_MAX_RULES;
#pragma unroll
	for (j = 0; j < WC_BF_BLOCK; j++) {
		__u32 slot = b * WC_BF_BLOCK + j, idx;
		struct wc_rule_hdr *r;

		if (slot >= n)
			return 0;
		idx = base + slot;
		r = bpf_map_lookup_elem(&wc_rules, &idx);
		if (!r)
			return 0;
		if (!wc_rule_match(r, key, fmt))
			continue;
		res->rank = r->rank;
		res->value = r->value;
		res->id = r->id;
		res->slot = idx;
		return 0;
	}
	return 1;
}

/* Blocks of 8 rules: 8 x 128 x 128 blocks are WC_MAX_RULES rules. */
WC_COUNT_DEFINE(wc_bf_run, wc_bf_block, WC_MAX_RULES / WC_BF_BLOCK / WC_RUN_L2 / WC_RUN_L2)
WC_STATIC_ASSERT(WC_MAX_RULES / WC_BF_BLOCK / WC_RUN_L2 / WC_RUN_L2 * WC_RUN_L2 * WC_RUN_L2 *
				 WC_BF_BLOCK ==
			 WC_MAX_RULES,
		 "the brute-force loop covers WC_MAX_RULES rules");

/*
 * Best-rank rule matching key among the nrules rules of the generation cfg
 * describes (the config the caller read once for this packet: see
 * wc_classify). User space stores them sorted by rank (WC_CFG_SORTED), so the
 * first match is the answer; a generation whose rules are not sorted (Tuple
 * Merge) is refused.
 * Returns 1 on a match, 0 on a miss, <0 on a bad argument.
 *
 * Global and __noinline: verified once, whatever the number of callers.
 */
WC_GLOBAL_FN(int, WC_G(wc_bf_lookup), WC_PARAMS)
{
	WC_TAKE_PARAMS(-22); /* -EINVAL */
	wc_result_miss(res);
	if (!(cfg->flags & WC_CFG_SORTED))
		return -22;
	wc_bf_run(key, cfg, res);
	return res->id != WC_ID_NONE;
}
WC_PUBLIC(wc_bf_lookup)

#endif /* WCARD_BF_BPF_H */
