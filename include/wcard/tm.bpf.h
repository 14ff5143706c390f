/* tm.bpf.h: the Tuple Merge lookup (tables, slots, rule chains); BPF, through classify.bpf.h. */
#ifndef WCARD_TM_BPF_H
#define WCARD_TM_BPF_H

#include <wcard/maps.bpf.h>

/*
 * Data layout (chosen by measurement, see bench/): a kernel HASH probe costs a
 * helper call plus jhash, ~115-125 ns; an inlined ARRAY read ~33 ns. So each
 * table is an open-addressed array of bucket heads inside one big ARRAY
 * (wc_tm_slots), probed with a hash computed here, and a bucket is a chain of
 * rules in wc_rules sorted by rank.
 */

/* Bucket rules checked with plain unrolled code before falling back to an iterator. */
#define WC_TM_CHAIN_FAST 4

/*
 * One step of a chain walk at *head: 1 = matched (res updated), -1 = the walk
 * ends (end of chain, or no later rule can beat res), 0 = go on with *head.
 */
static __always_inline int wc_tm_chain_step(const struct wc_key *key, __u32 *head,
					    __u32 rules_base, __u32 max_rules,
					    struct wc_result *res, __u32 fmt)
{
	__u32 h = *head, idx = rules_base + h - 1;
	struct wc_rule_hdr *r;

	if (!h || h > max_rules)
		return -1;
	r = bpf_map_lookup_elem(&wc_rules, &idx);
	/* Chains are in rank order: nothing after a rule that cannot win can win. */
	if (!r || r->rank >= res->rank)
		return -1;
	if (wc_rule_match(r, key, fmt)) {
		res->rank = r->rank;
		res->value = r->value;
		/* A rule unlinked while we walked through it is still an answer. */
		res->id = r->id & ~WC_ID_FLAGS;
		res->slot = idx;
		return 1;
	}
	*head = r->next;
	return 0;
}

/* One step of a long chain walk (wc_tm_chain_run): the next head, 0 when the walk ends. */
static __always_inline __u32 wc_tm_chain_next(const struct wc_key *key,
					      const struct wc_config *cfg, struct wc_result *res,
					      __u32 head)
{
	__u32 max_rules = cfg->max_rules, fmt = wc_rec_format;

	if (max_rules > WC_MAX_RULES)
		max_rules = WC_MAX_RULES;
	return wc_tm_chain_step(key, &head, cfg->rules_base, max_rules, res, fmt) ? 0 : head;
}

WC_RUN_DEFINE(wc_tm_chain_run, wc_tm_chain_next, WC_RUN_L1)

/*
 * Walk one bucket's chain from head (index + 1 into this generation's rules).
 * Most buckets hold a few rules (the builder splits above c), so the first
 * WC_TM_CHAIN_FAST steps are unrolled; a long loop, bounded by max rules,
 * takes the rest, however long the builder had to make the chain.
 * Global: verified once. Returns 1 if res improved.
 */
WC_GLOBAL_FN(int, WC_G(wc_tm_chain), WC_PARAMS, __u32 head)
{
	__u32 rules_base, max_rules, rank, fmt = wc_rec_format;
	int i, st;

	WC_TAKE_PARAMS(-22);
	rules_base = cfg->rules_base;
	max_rules = cfg->max_rules;
	if (max_rules > WC_MAX_RULES)
		max_rules = WC_MAX_RULES;
#pragma unroll
	for (i = 0; i < WC_TM_CHAIN_FAST; i++) {
		st = wc_tm_chain_step(key, &head, rules_base, max_rules, res, fmt);
		if (st)
			return st > 0;
	}
	rank = res->rank;
	wc_tm_chain_run(key, cfg, res, head);
	return res->rank < rank;
}

/* Slots of a probe checked with plain unrolled code before an iterator takes over. */
#define WC_TM_PROBE_FAST 4

/*
 * One slot of a probe: 1 = the run ended (empty slot), 0 = go on. A bucket
 * whose tag matches has its first rule checked inline; longer chains call the
 * chain walker.
 */
static __always_inline int wc_tm_slot_step(const struct wc_key *key, __u32 idx, __u32 tag,
					   const struct wc_config *cfg, struct wc_result *res,
					   __u32 fmt)
{
	struct wc_tm_slot *s = bpf_map_lookup_elem(&wc_tm_slots, &idx);
	__u32 head;

	if (!s || !s->tag)
		return 1;
	if (s->tag != tag || !s->head)
		return 0;
	head = s->head;
	if (!wc_tm_chain_step(key, &head, cfg->rules_base, cfg->max_rules, res, fmt))
		WC_G(wc_tm_chain)(WC_ARGS, head);
	return 0;
}

/*
 * Probe table t (absolute index in wc_tm_tables): hash the masked key, walk the
 * slots from its home position to the first empty one, and check every bucket
 * whose tag matches. Inlined into the pass: as a global function its call cost
 * ~10 ns per table probed.
 */
static __always_inline int wc_tm_probe(const struct wc_key *key, __u32 t,
				       const struct wc_config *cfg, struct wc_result *res,
				       __u32 fmt)
{
	struct wc_tm_table *tb;
	__u32 first, smask, pos, tag;
	__u64 h, slots;
	int p, st;

	if (!key || !cfg || !res)
		return -22;
	tb = bpf_map_lookup_elem(&wc_tm_tables, &t);
	if (!tb)
		return -2;
	slots = tb->slots;
	first = slots >> 8;
	smask = (1u << (slots & 31)) - 1;
	h = wc_hash_layout(key, &tb->mask, fmt);
	tag = wc_hash_tag(h);
	pos = (__u32)h;
	/*
	 * The first WC_TM_PROBE_FAST slots with plain unrolled code (most probes
	 * end there); an iterator takes the rest of the run. The builder keeps
	 * every run of used slots shorter than WC_TM_MAX_PROBE.
	 */
#pragma unroll
	for (p = 0; p < WC_TM_PROBE_FAST; p++) {
		st = wc_tm_slot_step(key, first + ((pos + p) & smask), tag, cfg, res, fmt);
		if (st)
			return 0;
	}
	wc_for(p, WC_TM_PROBE_FAST, WC_TM_MAX_PROBE)
	{
		st = wc_tm_slot_step(key, first + ((pos + p) & smask), tag, cfg, res, fmt);
		if (st)
			break;
	}
	return 0;
}

#ifdef WCARD_COMPAT
/*
 * Compat build: the probe as a global function. Inlined, the verifier walks
 * it once per table of the pass (a plain loop of up to WC_TM_MAX_TABLES), and
 * the branches of 256 probes exceed its limit of 8192 pending jumps.
 */
WC_GLOBAL_FN(int, wc_tm_probe_g, WC_PARAMS, __u32 t)
{
	WC_TAKE_PARAMS(-22);
	return wc_tm_probe(key, t, cfg, res, wc_rec_format);
}
#endif

/* Lookup passes that may overlap rule moves before falling back to a scan. */
#define WC_TM_PASSES 4

/* Entry i of order buffer ob: probe its table; 1 = the pass ends (no later table can win). */
static __always_inline int wc_tm_pass_step(const struct wc_key *key, struct wc_tm_order_buf *ob,
					   __u32 i, __u32 tbase, const struct wc_config *cfg,
					   struct wc_result *res, __u32 fmt)
{
	struct wc_tm_order_ent *e = &ob->e[i];

	if (e->best >= res->rank)
		return 1;
	res->tables++;
#ifndef WCARD_COMPAT
	wc_tm_probe(key, tbase + e->table, cfg, res, fmt);
#else
	wc_tm_probe_g(WC_ARGS, tbase + e->table);
#endif
	return 0;
}

#ifndef WCARD_COMPAT
/* Tables a block of the pass probes (wc_tm_pass_block); divides WC_TM_MAX_TABLES. */
#define WC_TM_PASS_BLOCK 16

/*
 * Entries [first, first + WC_TM_PASS_BLOCK) of order buffer oi, with the
 * table probe inlined and unrolled: no iterator, whose every step is a kfunc
 * call, and a call's return costs ~6 ns where the kernel makes every return a
 * safe one (AMD's SRSO mitigation); most passes end within the first block.
 * Global: verified once. 1 = later tables may still win, 0 = the pass ended,
 * <0 error.
 */
WC_GLOBAL_FN(int, wc_tm_pass_block, WC_PARAMS, __u32 oi, __u32 first)
{
	struct wc_tm_order_buf *ob;
	__u32 n, tbase, fmt = wc_rec_format;
	int j;

	WC_TAKE_PARAMS(-22);
	/* A bound the verifier sees for ob->e[first + j]. */
	if (first > WC_TM_MAX_TABLES - WC_TM_PASS_BLOCK)
		return 0;
	ob = bpf_map_lookup_elem(&wc_tm_order, &oi);
	if (!ob)
		return -2;
	n = ob->n;
	tbase = cfg->tables_base;
#pragma unroll
	for (j = 0; j < WC_TM_PASS_BLOCK; j++)
		if (first + j >= n || wc_tm_pass_step(key, ob, first + j, tbase, cfg, res, fmt))
			return 0;
	return 1;
}

/*
 * One pass over the tables of the current order buffer, read once: block
 * after block while a later table can still beat the match found.
 */
static __always_inline int wc_tm_pass(const struct wc_key *key, const struct wc_config *cfg,
				      struct wc_result *res)
{
	__u32 oi, b;

	wc_result_miss(res);
	oi = cfg->order_base + cfg->order;
	for (b = 0; b < WC_TM_MAX_TABLES; b += WC_TM_PASS_BLOCK)
		if (wc_tm_pass_block(key, cfg, res, oi, b) <= 0)
			break;
	return 0;
}
#else
/*
 * The compat build's pass: one global function over the tables of the
 * current order buffer, a call to the global probe per table.
 */
WC_GLOBAL_FN(int, WC_G(wc_tm_pass), WC_PARAMS)
{
	struct wc_tm_order_buf *ob;
	__u32 n, oi, tbase;
	int i;

	WC_TAKE_PARAMS(-22);
	wc_result_miss(res);
	oi = cfg->order_base + cfg->order;
	tbase = cfg->tables_base;
	ob = bpf_map_lookup_elem(&wc_tm_order, &oi);
	if (!ob)
		return -2;
	n = ob->n;
	/* A bound the verifier sees, for ob->e[i] and the plain loop. */
	if (n > WC_TM_MAX_TABLES)
		n = WC_TM_MAX_TABLES;
	for (i = 0; i < (int)n; i++)
		if (wc_tm_pass_step(key, ob, i, tbase, cfg, res, 0))
			break;
	return 0;
}
#endif

/* Slot i of this generation's rules, for the exact scan (wc_tm_scan); 0 after the last. */
static __always_inline int wc_tm_scan_one(const struct wc_key *key, const struct wc_config *cfg,
					  struct wc_result *res, __u32 i)
{
	__u32 n = cfg->nrules, idx, id;
	struct wc_rule_hdr *r;

	if (n > cfg->max_rules)
		n = cfg->max_rules;
	if (n > WC_MAX_RULES)
		n = WC_MAX_RULES;
	if (i >= n)
		return 0;
	idx = cfg->rules_base + i;
	r = bpf_map_lookup_elem(&wc_rules, &idx);
	if (!r)
		return 0;
	/* Read once: the writer may flag the slot while we look at it. */
	id = *(volatile __u32 *)&r->id;
	if (!(id & WC_ID_DEAD) && r->rank < res->rank && wc_rule_match(r, key, wc_rec_format)) {
		res->rank = r->rank;
		res->value = r->value;
		res->id = id & ~WC_ID_FLAGS;
		res->slot = idx;
	}
	return 1;
}

WC_COUNT_DEFINE(wc_tm_scan_all, wc_tm_scan_one, WC_RUN_L1)

/*
 * Exact scan of every rule slot ever used in this generation, skipping unlinked
 * ones. Only taken when online updates moved rules during every pass, so its
 * cost does not matter; its correctness does.
 */
WC_GLOBAL_FN(int, WC_G(wc_tm_scan), WC_PARAMS)
{
	WC_TAKE_PARAMS(-22);
	wc_result_miss(res);
	wc_tm_scan_all(key, cfg, res);
	return 0;
}
WC_PUBLIC(wc_tm_scan)

/*
 * The rare path: the first pass overlapped a rule move. Up to WC_TM_PASSES - 1
 * more passes, then the exact scan. res holds the first pass's result.
 */
static __always_inline int wc_tm_retry_body(const struct wc_key *key, const struct wc_config *cfg,
					    struct wc_result *res)
{
	__u32 moves, tables;
	int pass;

	tables = res->tables;
	for (pass = 1; pass < WC_TM_PASSES; pass++) {
		moves = *(volatile __u32 *)&cfg->moves;
		asm volatile("" ::: "memory");
		WC_G(wc_tm_pass)(WC_ARGS);
		tables += res->tables;
		asm volatile("" ::: "memory");
		if (*(volatile __u32 *)&cfg->moves == moves) {
			res->tables = tables;
			return 0;
		}
	}
	WC_G(wc_tm_scan)(WC_ARGS);
	res->tables = tables;
	return 0;
}

/*
 * The retry as a function of its own: global in the default build, so the
 * common path stays small. The compat build inlines the body into the lookup
 * (its call frame would make the deepest chain of calls, lookup, pass, probe,
 * chain and two loop levels, one too long for the verifier's 8), and its
 * public wc_tm_retry carries res in and out through the scratch entry.
 */
#ifndef WCARD_COMPAT
WC_GLOBAL_FN(int, wc_tm_retry, WC_PARAMS) /* the default build's WC_PARAMS: key, cfg, res */
{
	WC_TAKE_PARAMS(-22);
	return wc_tm_retry_body(key, cfg, res);
}
#else
static __always_inline int wc_tm_retry(const struct wc_key *key, const struct wc_config *cfg,
				       struct wc_result *res)
{
	struct wc_scratch *s = wc_scratch_enter(key, cfg);
	const struct wc_config *c;
	const struct wc_key *k;
	struct wc_result *r;
	int ret;

	if (!s || !res)
		return -22;
	__builtin_memcpy(&s->res, res, sizeof(*res));
	if (wc_scratch_params(&k, &c, &r))
		return -22;
	ret = wc_tm_retry_body(k, c, r);
	__builtin_memcpy(res, &s->res, sizeof(*res));
	return ret;
}
#endif

/*
 * Tuple Merge lookup in the generation cfg describes (the config the caller
 * read once for this packet: see wc_classify): tables in the order of the
 * current order buffer, which also holds each table's best rank; stop as soon
 * as no remaining table can beat the match found. A pass that overlapped a
 * rule move (cfg->moves changed) is repeated; after WC_TM_PASSES such passes
 * an exact scan answers.
 * Returns 1 on a match, 0 on a miss, <0 on error.
 */
static __always_inline int wc_tm_lookup_body(const struct wc_key *key,
					     const struct wc_config *cfg, struct wc_result *res)
{
	__u32 moves;

	wc_result_miss(res);
	moves = *(volatile __u32 *)&cfg->moves;
	/* Keep the compiler from moving the pass's loads across the reads of moves. */
	asm volatile("" ::: "memory");
	WC_G(wc_tm_pass)(WC_ARGS);
	asm volatile("" ::: "memory");
	if (*(volatile __u32 *)&cfg->moves != moves) {
#ifndef WCARD_COMPAT
		wc_tm_retry(key, cfg, res);
#else
		wc_tm_retry_body(key, cfg, res);
#endif
	}
	return res->id != WC_ID_NONE;
}

/* The lookup as a global function: for programs that call it by name, or link it. */
WC_GLOBAL_FN(int, WC_G(wc_tm_lookup), WC_PARAMS)
{
	WC_TAKE_PARAMS(-22);
	return wc_tm_lookup_body(key, cfg, res);
}
WC_PUBLIC(wc_tm_lookup)

/*
 * What wc_classify calls: the default build inlines the lookup's few
 * instructions into the caller, a call and its return less per packet (a
 * return costs ~6 ns where the kernel makes every return a safe one, AMD's
 * SRSO mitigation); the compat build goes through its scratch entry.
 */
#ifndef WCARD_COMPAT
static __always_inline int wc_tm_classify(const struct wc_key *key, const struct wc_config *cfg,
					  struct wc_result *res)
{
	if (!key || !cfg || !res)
		return -22;
	return wc_tm_lookup_body(key, cfg, res);
}
#else
#define wc_tm_classify(key, cfg, res) WC_G(wc_tm_lookup)(WC_ARGS)
#endif

#endif /* WCARD_TM_BPF_H */
