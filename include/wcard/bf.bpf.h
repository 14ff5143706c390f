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

static __always_inline struct wc_config *wc_config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&wc_config, &zero);
}

/* Does rule r match key k on its first nwords words? */
static __always_inline bool wc_rule_match(const struct wc_rule *r, const struct wc_key *k,
					  __u32 nwords, __u32 range_words)
{
	int w;

#pragma unroll
	for (w = 0; w < WC_KEY_WORDS; w++) {
		__u64 kv;

		if (w >= nwords)
			break;
		kv = k->w[w];
		if (range_words & (1u << w)) {
			/* lo <= kv <= hi as one unsigned compare: kv - lo <= hi - lo. */
			if (kv - r->w[w].a > r->w[w].b)
				return false;
		} else if ((kv & r->w[w].a) != r->w[w].b) {
			return false;
		}
	}
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
 * Best-rank rule matching key, scanning wc_rules[0, nrules). When user space
 * stored the rules sorted by rank (WC_CFG_SORTED) the first match is the answer.
 * Returns 1 on a match, 0 on a miss, <0 on a bad argument or missing config.
 *
 * Global and __noinline: verified once, whatever the number of callers.
 */
__noinline int wc_bf_lookup(const struct wc_key *key, struct wc_result *res)
{
	struct wc_config *cfg;
	__u32 n, nwords, range_words, sorted;
	__u64 best = WC_RANK_NONE;
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
	nwords = cfg->nwords;
	range_words = cfg->range_words;
	sorted = cfg->flags & WC_CFG_SORTED;

	wc_for(i, 0, (int)n)
	{
		__u32 slot = i;
		struct wc_rule *r = bpf_map_lookup_elem(&wc_rules, &slot);

		if (!r)
			break;
		if (r->rank >= best || !wc_rule_match(r, key, nwords, range_words))
			continue;
		best = r->rank;
		res->rank = r->rank;
		res->value = r->value;
		res->id = r->id;
		res->slot = slot;
		if (sorted)
			break;
	}
	return best != WC_RANK_NONE;
}

#endif /* WCARD_BF_BPF_H */
