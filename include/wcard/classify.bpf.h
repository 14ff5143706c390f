/* classify.bpf.h: wc_classify() and packet -> key; BPF programs include it (public entry). */
#ifndef WCARD_CLASSIFY_BPF_H
#define WCARD_CLASSIFY_BPF_H

#include <wcard/wcard_common.h>
#include <wcard/bf.bpf.h>
#include <wcard/tm.bpf.h>
#include <wcard/lpm.bpf.h>

static __always_inline __u64 wc_be64(const __u8 *p)
{
	return ((__u64)p[0] << 56) | ((__u64)p[1] << 48) | ((__u64)p[2] << 40) |
	       ((__u64)p[3] << 32) | ((__u64)p[4] << 24) | ((__u64)p[5] << 16) |
	       ((__u64)p[6] << 8) | p[7];
}

static __always_inline __u64 wc_be32(const __u8 *p)
{
	return ((__u64)p[0] << 24) | ((__u64)p[1] << 16) | ((__u64)p[2] << 8) | p[3];
}

/*
 * Key of a parsed packet for a built-in layout (same mapping as libwcard's
 * wcard_key_from_pkt). Returns 0, or -1 when the packet's family does not fit.
 */
static __always_inline int wc_key_from_pkt(__u32 layout_id, const struct wc_pkt *pkt,
					   struct wc_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	if (layout_id == WC_LAYOUT_IPV4_5T && pkt->family == 4) {
		key->w[0] = wc_be32(pkt->src);
		key->w[1] = wc_be32(pkt->dst);
		key->w[2] = pkt->sport;
		key->w[3] = pkt->dport;
		key->w[4] = pkt->proto;
		key->w[5] = pkt->tcp_flags;
		return 0;
	}
	if (layout_id == WC_LAYOUT_IPV6_5T && pkt->family == 6) {
		key->w[0] = wc_be64(pkt->src);
		key->w[1] = wc_be64(pkt->src + 8);
		key->w[2] = wc_be64(pkt->dst);
		key->w[3] = wc_be64(pkt->dst + 8);
		key->w[4] = pkt->sport;
		key->w[5] = pkt->dport;
		key->w[6] = pkt->proto;
		key->w[7] = pkt->tcp_flags;
		return 0;
	}
	return -1;
}

/*
 * WC_ALGO_LPM: the longest prefix of the key's one matched field, in this
 * generation's own trie (cfg->lpm_slot), is the winning rule (user space
 * builds the trie so that the longest prefix is always the best-ranked
 * match). Its route index is the rule's place in rank order in this
 * generation, its value the rule's value and its aux word the rule id, so the
 * result needs no read of the rule itself: in a big rule set that read was a
 * cache and TLB miss, ~130-180 ns (make bench). Global: verified once.
 */
WC_GLOBAL_FN(int, WC_G(wc_lpm_classify), WC_PARAMS)
{
	__u32 f, word, route = 0, id = 0;
	__u64 value = 0;
	int hit;

	WC_TAKE_PARAMS(-22);
	wc_result_miss(res);
	f = cfg->lpm_field;
	if (f >= WC_MAX_FIELDS)
		return -22;
	/*
	 * A variable index into the key, bounded for the verifier on the value
	 * as read: after a mask to 0..7, clang turned "word >= 7" into
	 * "word == 7", which Linux 6.1's verifier does not narrow to word <= 6
	 * for word + 1 below.
	 */
	word = cfg->fields[f].word;
	if (cfg->fields[f].width == 16) {
		if (word > WC_KEY_WORDS - 2)
			return -22;
		hit = wc_trie_walk(&wc_lpm6_image, cfg->lpm_slot, WC_LPM_TRIE6, key->w[word],
				   key->w[word + 1], WC_LPM6_LEVELS, &route, &value, &id);
	} else {
		if (word > WC_KEY_WORDS - 1)
			return -22;
		hit = wc_trie_walk(&wc_trie4_image, cfg->lpm_slot, WC_LPM_TRIE4, key->w[word] << 32,
				   0, WC_TRIE4_LEVELS, &route, &value, &id);
	}
	if (hit <= 0)
		return hit;
	res->rank = route; /* the rule's place in rank order */
	res->value = value;
	res->id = id;
	res->slot = cfg->rules_base + route;
	return 1;
}
WC_PUBLIC(wc_lpm_classify)

/*
 * Classify key with the algorithm of the generation cfg describes: cfg is
 * what wc_config_get() returned at the program's entry, read once per packet
 * and passed down, so that a bulk load or an algorithm switch landing while
 * the packet is classified cannot make it mix two generations (an algorithm
 * of one with the tables or default action of the other). The writer waits
 * for running programs before it touches the old generation again.
 * 1 match, 0 miss, <0 error. Inline: a call frame less on the 512-byte
 * combined stack.
 */
static __always_inline int wc_classify(const struct wc_key *key, const struct wc_config *cfg,
				       struct wc_result *res)
{
	int ret;
#ifdef WCARD_COMPAT
	/* The key into the scratch entry once, for whichever algorithm. */
	struct wc_scratch *s = cfg ? wc_scratch_enter(key, cfg) : NULL;

	if (!s) {
		wc_result_miss(res);
		return -2;
	}
#endif
	if (!cfg) {
		wc_result_miss(res);
		return -2;
	}
	if (cfg->algo == WC_ALGO_TM || cfg->algo == WC_ALGO_STM)
		ret = wc_tm_classify(key, cfg, res);
	else if (cfg->algo == WC_ALGO_LPM)
		ret = WC_G(wc_lpm_classify)(WC_ARGS);
	else
		ret = WC_G(wc_bf_lookup)(WC_ARGS);
#ifdef WCARD_COMPAT
	__builtin_memcpy(res, &s->res, sizeof(*res));
#endif
	return ret;
}

/*
 * Classify a parsed packet: the part of its family (a dual-stack classifier
 * keeps IPv6 rules apart, wc_config_part), the key of that part's layout,
 * then wc_classify. cfg is what wc_config_get() returned at the program's
 * entry. A packet of a family the classifier has no part for misses.
 * 1 match, 0 miss, <0 error.
 */
static __always_inline int wc_classify_pkt(const struct wc_pkt *pkt, struct wc_config *cfg,
					   struct wc_result *res)
{
	struct wc_key key;

	cfg = wc_config_part(cfg, pkt->family);
	if (!cfg || wc_key_from_pkt(cfg->layout_id, pkt, &key)) {
		wc_result_miss(res);
		return cfg ? 0 : -2;
	}
	return wc_classify(&key, cfg, res);
}

#endif /* WCARD_CLASSIFY_BPF_H */
