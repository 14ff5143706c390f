/* bf.bpf.h: brute-force classifier over the wc_rules array (maps and lookup); BPF only. */
#ifndef WCARD_BF_BPF_H
#define WCARD_BF_BPF_H

#include <wcard/compat.bpf.h>
#include <wcard/wcard_common.h>

/*
 * Rules of the classifier, compiled by libwcard (wcard_rule_compile). User
 * space sizes the array at load time (max rules); slots [0, nrules) are live.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WC_DEFAULT_MAX_RULES);
	__type(key, __u32);
	__type(value, struct wc_rule);
} wc_rules SEC(".maps");

/* One entry: what the classifier holds (layout, algorithm, counts, actions). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wc_config);
} wc_config SEC(".maps");

/* Rules per iterator step of the brute-force scan (unrolled). */
#define WC_BF_BLOCK 8

static __always_inline struct wc_config *wc_config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&wc_config, &zero);
}

/* Does rule r match key k? Every word, no per-type branch (see struct wc_word_match). */
static __always_inline bool wc_rule_match(const struct wc_rule *r, const struct wc_key *k)
{
	int w;

#pragma unroll
	for (w = 0; w < WC_KEY_WORDS; w++)
		if ((k->w[w] & r->w[w].mask) - r->w[w].lo > r->w[w].span)
			return false;
	return true;
}

static __always_inline void wc_result_miss(struct wc_result *res)
{
	res->rank = WC_RANK_NONE;
	res->value = 0;
	res->id = WC_ID_NONE;
	res->slot = WC_ID_NONE;
}

/*
 * Best-rank rule matching key, scanning wc_rules[0, nrules). User space stores
 * the rules sorted by rank (WC_CFG_SORTED), so the first match is the answer.
 * Returns 1 on a match, 0 on a miss, <0 on a bad argument or missing config.
 *
 * Global and __noinline: verified once, whatever the number of callers.
 */
__noinline int wc_bf_lookup(const struct wc_key *key, struct wc_result *res)
{
	struct wc_config *cfg;
	__u32 n;
	int i;

	/* Global subprogram arguments may be NULL as far as the verifier knows. */
	if (!key || !res)
		return -22; /* -EINVAL */
	wc_result_miss(res);
	cfg = wc_config_get();
	if (!cfg)
		return -2; /* -ENOENT */
	n = cfg->nrules;
	/* Compile-time bound on top of the runtime count. */
	if (n > WC_MAX_RULES)
		n = WC_MAX_RULES;
	/* User space keeps the rules sorted by rank (wcard_clf_load). */
	if (!(cfg->flags & WC_CFG_SORTED))
		return -22;

	/*
	 * The iterator steps over blocks of WC_BF_BLOCK rules and the block is
	 * unrolled: one kfunc call per block instead of per rule.
	 */
	wc_for(i, 0, (int)((n + WC_BF_BLOCK - 1) / WC_BF_BLOCK))
	{
		bool stop = false;
		int j;

#pragma unroll
		for (j = 0; j < WC_BF_BLOCK; j++) {
			__u32 slot = (__u32)i * WC_BF_BLOCK + j;
			struct wc_rule *r;

			if (slot >= n)
				break;
			r = bpf_map_lookup_elem(&wc_rules, &slot);
			if (!r)
				break;
			if (!wc_rule_match(r, key))
				continue;
			res->rank = r->rank;
			res->value = r->value;
			res->id = r->id;
			res->slot = slot;
			stop = true;
			break;
		}
		if (stop)
			break;
	}
	return res->id != WC_ID_NONE;
}

#endif /* WCARD_BF_BPF_H */
