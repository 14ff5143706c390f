/* maps.bpf.h: a classifier's maps (root, configs, rules, Tuple Merge); wcard's BPF headers only. */
#ifndef WCARD_MAPS_BPF_H
#define WCARD_MAPS_BPF_H

#include <wcard/compat.bpf.h>
#include <wcard/wcard_common.h>
#include <wcard/scratch.bpf.h>

/*
 * All maps are plain ARRAYs, so every lookup is inlined by the JIT, and
 * mmapable, so libwcard writes them without a syscall per element. User space
 * sizes them at load time (wcard_object_prepare_layout); the sizes here are
 * the defaults of an object loaded without it (bpftool prog load), room for
 * WC_DEFAULT_MAX_RULES rules in each of WC_MAX_PARTS parts, so that such an
 * object serves any layout, dual stack too. Every structure has WC_GENS
 * halves per part (wcard_common.h); wc_root.gen picks the live one.
 */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wc_root);
} wc_root SEC(".maps") WC_WEAK;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, WC_GENS * WC_MAX_PARTS);
	__type(key, __u32);
	__type(value, struct wc_config);
} wc_config SEC(".maps") WC_WEAK;

/*
 * Compiled rules: max rules per part and generation, records of the format
 * wc_rec_format says. The value is sized, not typed: user space sets the size
 * of the format before load, and a BTF type of another size would make the
 * kernel refuse the map.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, WC_GENS * WC_MAX_PARTS * WC_DEFAULT_MAX_RULES);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct wc_rule));
} wc_rules SEC(".maps") WC_WEAK;

/*
 * The record format of wc_rules (WC_REC_*), set before load by
 * wcard_object_prepare_layout with the map's value size. The verifier reads
 * it (read-only data), walks only the match of that format and drops the
 * other: the generic match's reads past a compact record's end are never
 * verified, nor run. The default serves every layout.
 */
WC_WEAK const volatile __u32 wc_rec_format = WC_REC_GENERIC;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, WC_GENS * WC_MAX_PARTS * WC_TM_MAX_TABLES);
	__type(key, __u32);
	__type(value, struct wc_tm_table);
} wc_tm_tables SEC(".maps") WC_WEAK;

/* Bucket heads of all tables: 4 per rule. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, WC_GENS * WC_MAX_PARTS * 4 * WC_DEFAULT_MAX_RULES);
	__type(key, __u32);
	__type(value, struct wc_tm_slot);
} wc_tm_slots SEC(".maps") WC_WEAK;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, WC_GENS * WC_MAX_PARTS * WC_TM_ORDER_RING);
	__type(key, __u32);
	__type(value, struct wc_tm_order_buf);
} wc_tm_order SEC(".maps") WC_WEAK;

/*
 * The live generation's config (of part 0). The generation number is read
 * once per lookup: everything after it comes from that generation's half.
 */
static __always_inline struct wc_config *wc_config_get(void)
{
	__u32 zero = 0, gen;
	struct wc_root *root = bpf_map_lookup_elem(&wc_root, &zero);

	if (!root)
		return NULL;
	gen = root->gen & (WC_GENS - 1);
	return bpf_map_lookup_elem(&wc_config, &gen);
}

/*
 * The config that classifies packets of a family (4 or 6), given cfg from
 * wc_config_get(): a dual-stack classifier's IPv6 part, of cfg's generation,
 * for IPv6; cfg itself otherwise (and for every classifier of one part).
 */
static __always_inline struct wc_config *wc_config_part(struct wc_config *cfg, __u8 family)
{
	__u32 idx;

	if (!cfg || family != 6 || cfg->parts < WC_MAX_PARTS)
		return cfg;
	idx = WC_PART_V6 * WC_GENS + (cfg->self & (WC_GENS - 1));
	return bpf_map_lookup_elem(&wc_config, &idx);
}

static __always_inline void wc_result_miss(struct wc_result *res)
{
	res->rank = WC_RANK_NONE;
	res->value = 0;
	res->id = WC_ID_NONE;
	res->slot = WC_ID_NONE;
	res->tables = 0;
	res->_pad = 0;
}

#ifdef WCARD_COMPAT
/* A global function's key, cfg and res (WC_TAKE_PARAMS): 0, or -1 if there are none. */
static __always_inline int wc_scratch_params(const struct wc_key **key,
					     const struct wc_config **cfg, struct wc_result **res)
{
	struct wc_scratch *s = wc_scratch_get();
	__u32 idx;

	if (!s)
		return -1;
	idx = s->cfg_idx & (WC_GENS * WC_MAX_PARTS - 1);
	*cfg = bpf_map_lookup_elem(&wc_config, &idx);
	*key = &s->key;
	*res = &s->res;
	return *cfg ? 0 : -1;
}

/*
 * Before a public function calls into the global ones: the key goes into the
 * scratch entry, and which config cfg is. The entry, or NULL.
 */
static __always_inline struct wc_scratch *wc_scratch_enter(const struct wc_key *key,
							   const struct wc_config *cfg)
{
	struct wc_scratch *s = wc_scratch_get();

	if (!s || !key || !cfg)
		return NULL;
	__builtin_memcpy(&s->key, key, sizeof(s->key));
	s->cfg_idx = cfg->self;
	wc_result_miss(&s->res);
	return s;
}

/*
 * The public name of a global function of the form WC_G(name)(WC_PARAMS):
 * the key into the scratch entry, the call, the result out of it.
 */
#define WC_PUBLIC(name)                                                                            \
	static __always_inline int name(const struct wc_key *key, const struct wc_config *cfg,    \
					struct wc_result *res)                                     \
	{                                                                                          \
		struct wc_scratch *s = wc_scratch_enter(key, cfg);                                 \
		int ret;                                                                           \
                                                                                                   \
		if (!s || !res)                                                                    \
			return -22;                                                                \
		ret = name##_g(0);                                                                 \
		__builtin_memcpy(res, &s->res, sizeof(*res));                                      \
		return ret;                                                                        \
	}
#else
#define WC_PUBLIC(name)
#endif

/*
 * Does generic record r match key k? Every word, no per-type branch (see
 * struct wc_word_match), so the verifier sees one path per word instead of two.
 */
static __always_inline bool wc_rule_match_words(const struct wc_rule *r, const struct wc_key *k)
{
	int w;

#pragma unroll
	for (w = 0; w < WC_KEY_WORDS; w++)
		if ((k->w[w] & r->w[w].mask) - r->w[w].lo > r->w[w].span)
			return false;
	return true;
}

/*
 * Does the record r of wc_rules match key k? fmt is wc_rec_format as the
 * caller read it: read once per function and passed down in a register, the
 * verifier walks one instruction per match for the format's branch, where a
 * read per match cost it three (~1,600 more in all, the generic build).
 */
static __always_inline bool wc_rule_match(const struct wc_rule_hdr *r, const struct wc_key *k,
					  __u32 fmt)
{
	if (fmt == WC_REC_IPV4)
		return wc_rule4_match((const struct wc_rule4 *)r, k);
	return wc_rule_match_words((const struct wc_rule *)r, k);
}

/*
 * The hash of key k under table mask m: an ipv4-5tuple classifier's records
 * (WC_REC_IPV4) say its keys use 6 words, whose hash leaves the 2 zero words out.
 */
static __always_inline __u64 wc_hash_layout(const struct wc_key *k, const struct wc_key *m,
					     __u32 fmt)
{
	if (fmt == WC_REC_IPV4)
		return wc_hash_masked_n(k, m, 6);
	return wc_hash_masked(k, m);
}

#endif /* WCARD_MAPS_BPF_H */
