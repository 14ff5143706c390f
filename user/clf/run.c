// SPDX-License-Identifier: MIT
/* run.c: frames through a classifier's program, its counters, rules and statistics. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "clf_int.h"
#include "lpm/lpm_int.h"

/* The per-CPU verdict map (WC_VERDICT_MAP) of program prog_fd, opened by its map ids; or -1. */
static int prog_verdict_fd(int prog_fd)
{
	struct bpf_prog_info pi = {};
	struct bpf_map_info mi = {};
	__u32 ids[64], len = sizeof(pi), i;
	int fd;

	pi.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	pi.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &pi, &len))
		return -1;
	for (i = 0; i < pi.nr_map_ids && i < sizeof(ids) / sizeof(ids[0]); i++) {
		fd = bpf_map_get_fd_by_id(ids[i]);
		len = sizeof(mi);
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &mi, &len) &&
		    !strcmp(mi.name, WC_VERDICT_MAP))
			return fd;
		if (fd >= 0)
			close(fd);
	}
	return -1;
}

/*
 * The fd of the verdict map of c's program, or -1; looked up once. -1 also when
 * c's own object keeps no verdicts (wc_keep_verdict off: metadata comes back),
 * so that a frame costs no clear and read of the map there.
 */
static int clf_verdict_fd(struct wcard_clf *c)
{
	struct bpf_object *obj = clf_object(c);
	struct bpf_map *m = obj ? bpf_object__find_map_by_name(obj, WC_VERDICT_MAP) : NULL;
	bool keep = true;

	if (!c->verdict_known && m && !core_rodata_get_bool(obj, "wc_keep_verdict", &keep) &&
	    !keep) {
		c->verdict_known = true;
		c->verdict_fd = -1;
	}
	if (!c->verdict_known) {
		c->verdict_known = true;
		c->verdict_fd = m ? bpf_map__fd(m) : prog_verdict_fd(c->prog_fd);
		c->verdict_owned = !m && c->verdict_fd >= 0;
	}
	return c->verdict_fd;
}

/*
 * One frame through prog_fd. The verdict comes from the metadata in front of
 * the returned frame, or, where the kernel returns none (test runs take no
 * xdp_md context before Linux 5.15; some kernels refuse bpf_xdp_adjust_meta),
 * from the entry the run wrote in the per-CPU verdict map (verdict_fd, the
 * filter's wc_keep_verdict): every CPU's entry is cleared first, and the one
 * with the magic is the run's. One test run either way, so counters count
 * the frame once. -ENODATA when neither has it.
 */
static int run_frame(int prog_fd, int verdict_fd, const void *frame, size_t len,
		     struct wc_xdp_meta *meta, __u32 *xdp_action, __u64 *ns)
{
	__u8 out[2048 + sizeof(struct wc_xdp_meta)];
	/* ctx_in must describe the frame (no metadata yet) when ctx_out is asked for. */
	struct xdp_md ctx_in = { .data = 0, .data_end = len }, ctx = {};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx_in,
		    .ctx_size_in = sizeof(ctx_in), .ctx_out = &ctx, .ctx_size_out = sizeof(ctx),
		    .repeat = 1);
	int ncpu = libbpf_num_possible_cpus(), ret = 0, i;
	struct wc_xdp_meta *v = NULL;
	__u32 zero = 0;

	if (meta && verdict_fd >= 0 && ncpu > 0) {
		v = calloc(ncpu, sizeof(*v));
		if (!v)
			return -ENOMEM;
		if (bpf_map_update_elem(verdict_fd, &zero, v, 0)) {
			ret = -errno;
			goto out;
		}
	}
	if (bpf_prog_test_run_opts(prog_fd, &opts)) {
		ret = -errno;
		if (ret != -EINVAL)
			goto out;
		/* No xdp_md context in test runs (before 5.15): no metadata either. */
		memset(&opts, 0, sizeof(opts));
		opts.sz = sizeof(opts);
		opts.data_in = frame;
		opts.data_size_in = len;
		opts.repeat = 1;
		ctx.data = 0;
		if (bpf_prog_test_run_opts(prog_fd, &opts)) {
			ret = -errno;
			goto out;
		}
		ret = 0;
	}
	if (xdp_action)
		*xdp_action = opts.retval;
	if (ns)
		*ns = opts.duration;
	if (!meta)
		goto out;
	/* The kernel returns metadata + frame; ctx_out.data is the metadata size. */
	if (ctx.data == sizeof(*meta) && opts.data_size_out >= sizeof(*meta)) {
		memcpy(meta, out, sizeof(*meta));
		if (meta->magic == WC_MAGIC)
			goto out;
	}
	ret = -ENODATA;
	if (!v || bpf_map_lookup_elem(verdict_fd, &zero, v))
		goto out;
	for (i = 0; i < ncpu && v[i].magic != WC_MAGIC; i++)
		;
	if (i < ncpu) {
		*meta = v[i];
		ret = 0;
	}
out:
	free(v);
	return ret;
}

int wcard_xdp_run_frame(int prog_fd, const void *frame, size_t len, struct wc_xdp_meta *meta,
			__u32 *xdp_action, __u64 *ns)
{
	int ret, fd;

	if (prog_fd < 0 || !frame || len > 2048)
		return -EINVAL;
	fd = meta ? prog_verdict_fd(prog_fd) : -1;
	ret = run_frame(prog_fd, fd, frame, len, meta, xdp_action, ns);
	if (fd >= 0)
		close(fd);
	return ret;
}

int wcard_clf_run_frame(struct wcard_clf *c, const void *frame, size_t len,
			struct wc_xdp_meta *meta, __u32 *xdp_action, __u64 *ns)
{
	if (!c || !frame || len > 2048)
		return -EINVAL;
	if (c->prog_fd < 0)
		return -ENOENT;
	return run_frame(c->prog_fd, meta ? clf_verdict_fd(c) : -1, frame, len, meta, xdp_action,
			 ns);
}

int wcard_clf_rule_hits(const struct wcard_clf *c, long rule, struct wc_counter *out)
{
	int ncpu = libbpf_num_possible_cpus(), i, ret = 0;
	struct wc_counter *pc;
	unsigned int g;
	__u32 idx;

	if (!c || !out || ncpu <= 0 || rule < -1 || rule >= WC_ID_MOVED ||
	    (rule >= 0 && !clf_id_live(c, (__u32)rule)))
		return -EINVAL;
	if (c->hits_fd < 0)
		return -ENOENT;
	pc = calloc(ncpu, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	/* A rule counts in the half of each generation it was found in. */
	for (g = 0; g < (rule < 0 ? 1 : WC_GENS); g++) {
		idx = rule < 0 ? 0 : WC_HITS_INDEX(g, c->max_rules, (__u32)rule);
		if (bpf_map_lookup_elem(c->hits_fd, &idx, pc)) {
			ret = -errno;
			goto out;
		}
		for (i = 0; i < ncpu; i++) {
			out->packets += pc[i].packets;
			out->bytes += pc[i].bytes;
		}
	}
out:
	free(pc);
	return ret;
}

/* Counters read per batch of entries (each entry a value per CPU). */
#define HITS_BATCH 16384

/*
 * Entries [from, to) of the hit counters into vals (ncpu values an entry),
 * keys into keys: one batch lookup, or (Linux 5.10 has no batch operations on
 * per-CPU arrays) one lookup an entry. Returns the count read, or -errno.
 */
static long hits_read(const struct wcard_clf *c, __u32 from, __u32 to, __u32 *keys,
		      struct wc_counter *vals, int ncpu, bool *batch)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	__u32 prev = from - 1, out, cnt = to - from, i;

	if (*batch) {
		/* An array batch starts at the key after the one given. */
		if (!bpf_map_lookup_batch(c->hits_fd, from ? &prev : NULL, &out, keys, vals, &cnt,
					  &bo) ||
		    (errno == ENOENT && cnt))
			return cnt;
		if (errno != EINVAL && errno != 524 /* ENOTSUPP */ && errno != EOPNOTSUPP)
			return -errno;
		*batch = false;
	}
	for (i = 0; i < to - from; i++) {
		keys[i] = from + i;
		if (bpf_map_lookup_elem(c->hits_fd, &keys[i], &vals[(size_t)i * ncpu]))
			return -errno;
	}
	return to - from;
}

int wcard_clf_hits(const struct wcard_clf *c, struct wc_counter *by_id, size_t n,
		   struct wc_counter *matched, struct wc_counter *missed)
{
	int ncpu = libbpf_num_possible_cpus(), ret = 0, cpu;
	struct wc_counter *vals = NULL, m = { 0 }, miss = { 0 };
	size_t lim, nids;
	__u32 *keys = NULL, g, at, to, i;
	bool batch = true;
	long got;

	if (!c || ncpu <= 0)
		return -EINVAL;
	if (c->hits_fd < 0)
		return -ENOENT;
	lim = WC_ID_LIMIT((size_t)c->max_rules);
	/* Only ids handed out can count: both halves' first nids entries, and the misses. */
	nids = clf_state_ok(c) ? WST(c)->nids : c->rs.set.n;
	if (by_id)
		memset(by_id, 0, n * sizeof(*by_id));
	keys = calloc(HITS_BATCH, sizeof(*keys));
	vals = calloc((size_t)HITS_BATCH * ncpu, sizeof(*vals));
	if (!keys || !vals) {
		ret = -ENOMEM;
		goto out;
	}
	for (g = 0; g < WC_GENS; g++) {
		for (at = g ? WC_HITS_INDEX(g, c->max_rules, 0) : 0;
		     at < WC_HITS_INDEX(g, c->max_rules, nids); at = to) {
			to = WC_HITS_INDEX(g, c->max_rules, nids);
			if (to - at > HITS_BATCH)
				to = at + HITS_BATCH;
			got = hits_read(c, at, to, keys, vals, ncpu, &batch);
			if (got < 0) {
				ret = (int)got;
				goto out;
			}
			for (i = 0; i < got; i++) {
				struct wc_counter s = { 0 };
				__u32 id;

				for (cpu = 0; cpu < ncpu; cpu++) {
					s.packets += vals[(size_t)i * ncpu + cpu].packets;
					s.bytes += vals[(size_t)i * ncpu + cpu].bytes;
				}
				if (!keys[i]) {
					miss = s;
					continue;
				}
				id = (keys[i] - 1) % lim;
				if ((!s.packets && !s.bytes) || !clf_id_live(c, id))
					continue;
				m.packets += s.packets;
				m.bytes += s.bytes;
				if (by_id && id < n) {
					by_id[id].packets += s.packets;
					by_id[id].bytes += s.bytes;
				}
			}
			if ((__u32)got < to - at)
				break;
		}
	}
	if (matched)
		*matched = m;
	if (missed)
		*missed = miss;
out:
	free(keys);
	free(vals);
	return ret;
}

struct rank_id {
	__u64 rank;
	__u32 id;
};

static int rank_id_cmp(const void *a, const void *b)
{
	const struct rank_id *x = a, *y = b;

	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

int wcard_clf_rules(const struct wcard_clf *c, struct wcard_ruleset *rs)
{
	struct rank_id *o;
	size_t i, n = 0;
	int ret = 0;

	if (!c || !rs)
		return -EINVAL;
	wcard_ruleset_init(rs, &c->layout);
	/* Read back from the maps (a cache the handle keeps: logically const). */
	ret = clf_rs_load((struct wcard_clf *)c);
	if (ret)
		return ret;
	o = calloc(c->rs.set.n ? c->rs.set.n : 1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	for (i = 0; i < c->rs.set.n; i++)
		if (c->rs.live[i])
			o[n++] = (struct rank_id){ .rank = c->rs.rank[i], .id = (__u32)i };
	qsort(o, n, sizeof(*o), rank_id_cmp);
	for (i = 0; i < n && !ret; i++) {
		ret = wcard_ruleset_add(rs, &c->rs.set.rules[o[i].id]);
		if (!ret)
			rs->rules[rs->n - 1].id = o[i].id;
	}
	free(o);
	if (ret)
		wcard_ruleset_free(rs);
	return ret;
}

struct rank_slot {
	__u64 rank;
	__u32 id;
	__u32 slot; /* absolute, in part part's region */
	__u8 part;
	__u8 family;
};

static int rank_slot_cmp(const void *a, const void *b)
{
	const struct rank_slot *x = a, *y = b;

	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

int wcard_clf_rules_each(const struct wcard_clf *c,
			 int (*fn)(const struct wcard_rule *r, void *ctx), void *ctx)
{
	const struct clf_part *p;
	__u32 lo = UINT32_MAX, hi = 0;
	bool sorted = true;
	struct rank_slot *o;
	struct wcard_rule r;
	struct wc_rule rec;
	size_t i, n = 0, nids;
	int ret = 0;

	if (!c || !fn)
		return -EINVAL;
	/* Without a state to trust, the rules read back (a read-only handle has them). */
	if (!clf_state_ok(c)) {
		struct wcard_ruleset rs;

		ret = wcard_clf_rules(c, &rs);
		for (i = 0; !ret && i < rs.n; i++)
			ret = fn(&rs.rules[i], ctx);
		wcard_ruleset_free(&rs);
		return ret;
	}
	/* Every live id's slot is in the state: no chain is walked, no rule copied but one. */
	nids = WST(c)->nids;
	o = malloc((nids ? nids : 1) * sizeof(*o));
	if (!o)
		return -ENOMEM;
	for (i = 0; i < nids; i++) {
		unsigned int in = 0;

		for_each_part(c, p) {
			__u32 s = *SLOT_OF(c, p, i);

			if (s == WC_ID_NONE)
				continue;
			if (!in++)
				o[n] = (struct rank_slot){ .id = (__u32)i, .slot = s,
							   .part = (__u8)p->idx };
			lo = s < lo ? s : lo;
			hi = s > hi ? s : hi;
		}
		if (!in)
			continue;
		o[n].family = c->nparts == 1 || in > 1 ? 0 : o[n].part == WC_PART_V6 ? 6 : 4;
		n++;
	}
	/* Every rule is read: their span mapped in one go, not a chunk at a time. */
	if (n)
		clf_arr_at(&c->rules, (size_t)lo * c->rec_size,
			   ((size_t)hi - lo + 1) * c->rec_size);
	for (i = 0; i < n; i++) {
		if (i + 8 < n)
			__builtin_prefetch(RULE(c, o[i + 8].slot));
		o[i].rank = RULE(c, o[i].slot)->rank;
		sorted = sorted && (!i || rank_slot_cmp(&o[i - 1], &o[i]) <= 0);
	}
	/* Ids are often handed out in priority order (a file's lines): then already sorted. */
	if (!sorted)
		qsort(o, n, sizeof(*o), rank_slot_cmp);
	for (i = 0; i < n && !ret; i++) {
		/* Rank order is not slot order: fetch rules ahead (the list is memory-bound). */
		if (i + 8 < n) {
			const char *ahead = (const char *)RULE(c, o[i + 8].slot);
			__u32 b;

			for (b = 0; b < c->rec_size; b += 64)
				__builtin_prefetch(ahead + b);
		}
		clf_rec_get(c, o[i].slot, &rec);
		clf_decompile(&c->part[o[i].part].layout, &rec, &r);
		r.id = o[i].id;
		r.family = o[i].family;
		ret = fn(&r, ctx);
	}
	free(o);
	return ret;
}

int wcard_clf_rule(const struct wcard_clf *c, __u32 id, struct wcard_rule *out)
{
	if (!c || !out)
		return -EINVAL;
	if (!clf_id_live(c, id))
		return -ENOENT;
	if (!clf_state_ok(c)) {
		*out = c->rs.set.rules[id];
		return 0;
	}
	clf_rule_read(c, id, out, NULL);
	return 0;
}

int wcard_clf_worst_prio(const struct wcard_clf *c, __u32 *prio)
{
	size_t i;

	if (!c || !prio)
		return -EINVAL;
	if (!clf_part_nlive(c, NULL))
		return -ENOENT;
	if (clf_state_ok(c)) {
		*prio = WST(c)->worst_prio;
		return 0;
	}
	*prio = 0;
	for (i = 0; i < c->rs.set.n; i++)
		if (c->rs.live[i] && c->rs.set.rules[i].prio > *prio)
			*prio = c->rs.set.rules[i].prio;
	return 0;
}

const struct wcard_layout *wcard_clf_layout(const struct wcard_clf *c)
{
	return c ? &c->layout : NULL;
}

enum wc_algo wcard_clf_algo(const struct wcard_clf *c)
{
	return c ? c->part[0].algo : 0;
}

__u32 wcard_clf_id_bound(const struct wcard_clf *c)
{
	if (!c)
		return 0;
	return clf_state_ok(c) ? WST(c)->nids : (__u32)c->rs.set.n;
}

unsigned int wcard_clf_ntables(const struct wcard_clf *c)
{
	const struct wc_config *cf;

	if (!c || (c->part[0].algo != WC_ALGO_TM && c->part[0].algo != WC_ALGO_STM))
		return 0;
	cf = PCFG(c, &c->part[0], c->gen);
	return cf->order < WC_TM_ORDER_RING ? ORDER(c, cf->order_base + cf->order)->n : 0;
}

int wcard_clf_prog_fd(const struct wcard_clf *c)
{
	return c ? c->prog_fd : -EINVAL;
}

__u32 wcard_clf_verified_insns(const struct wcard_clf *c)
{
	return c ? c->verified_insns : 0;
}

/*
 * Part p's live Tuple Merge tables as the maps hold them, in lookup order (a
 * read-only handle has no model). 0 or -EPROTO.
 */
static int stats_from_maps(const struct wcard_clf *c, const struct clf_part *p,
			   struct wcard_stats *st)
{
	const struct wc_config *cf = PCFG(c, p, c->gen);
	const struct wc_tm_order_buf *ob;
	unsigned int i, f;
	__u32 slots = 0;

	if (cf->order >= WC_TM_ORDER_RING)
		return -EPROTO;
	ob = ORDER(c, cf->order_base + cf->order);
	st->ntables = ob->n < WC_TM_MAX_TABLES ? ob->n : WC_TM_MAX_TABLES;
	for (i = 0; i < st->ntables; i++) {
		const struct wc_tm_table *tb;
		struct wcard_table_stats *ts = &st->tables[i];

		if (ob->e[i].table >= WC_TM_MAX_TABLES)
			return -EPROTO;
		tb = TABLE(c, cf->tables_base + ob->e[i].table);
		ts->id = ob->e[i].table;
		/* A tuple's field length is the number of mask bits the field keeps. */
		for (f = 0; f < p->layout.nfields; f++) {
			const struct wc_field_desc *d = &p->layout.desc[f];
			unsigned int w, bits = 0;

			for (w = 0; w < d->nwords && d->word + w < WC_KEY_WORDS; w++)
				bits += __builtin_popcountll(tb->mask.w[d->word + w]);
			ts->len[f] = bits;
		}
		ts->rules = tb->nrules;
		ts->max_bucket = tb->max_bucket;
		ts->slots = 1u << (tb->slots & 31);
		ts->best_prio = tb->best == WC_RANK_NONE ? ~0u : (__u32)(tb->best >> 32);
		if (tb->max_bucket > st->max_bucket)
			st->max_bucket = tb->max_bucket;
		slots += ts->slots;
	}
	st->used_bytes += st->ntables * sizeof(struct wc_tm_table) + sizeof(struct wc_tm_order_buf) +
			  (size_t)slots * sizeof(struct wc_tm_slot);
	return 0;
}

/* What part p's live generation holds, into st (zeroed by the caller). */
static int part_stats(const struct wcard_clf *c, const struct clf_part *p, struct wcard_stats *st)
{
	const struct wc_config *cf = PCFG(c, p, c->gen);

	st->algo = p->algo;
	st->rules = clf_part_nlive(c, p);
	st->moves = cf->moves;
	st->used_bytes += sizeof(struct wc_config) * WC_GENS + (size_t)cf->nrules * c->rec_size;
	if (p->algo == WC_ALGO_LPM) {
		bool v6 = cf->fields[cf->lpm_field % WC_MAX_FIELDS].width == 16;

		st->used_bytes += wcard_trie_bytes(v6 ? c->lpm6[c->gen] : c->lpm4[c->gen]);
	}
	return p->algo == WC_ALGO_TM || p->algo == WC_ALGO_STM ? stats_from_maps(c, p, st) : 0;
}

/* The classifier's own figures, whichever part st describes. */
static void clf_totals(const struct wcard_clf *c, struct wcard_stats *st)
{
	unsigned int i;

	st->parts = c->nparts;
	st->max_rules = c->max_rules;
	st->grace_periods = WST(c) ? WST(c)->grace_periods : 0;
	st->map_bytes = c->root.len + c->config.len + c->rules.len + c->tables.len + c->slots.len +
			c->order.len;
	for (i = 0; i < WC_GENS; i++)
		st->map_bytes += lpm_image_bytes(c->lpm4[i]) + lpm_image_bytes(c->lpm6[i]);
	st->used_bytes += sizeof(struct wc_root);
}

int wcard_clf_part_stats(const struct wcard_clf *c, unsigned int part, struct wcard_stats *st)
{
	int ret;

	if (!c || !st || part >= c->nparts)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	ret = part_stats(c, &c->part[part], st);
	clf_totals(c, st);
	return ret;
}

int wcard_clf_stats(const struct wcard_clf *c, struct wcard_stats *st)
{
	struct wcard_stats other;
	unsigned int i;
	int ret;

	ret = wcard_clf_part_stats(c, 0, st);
	/* The other parts' memory; the tables are part 0's. */
	for (i = 1; !ret && i < c->nparts; i++) {
		memset(&other, 0, sizeof(other));
		ret = part_stats(c, &c->part[i], &other);
		st->used_bytes += other.used_bytes;
	}
	if (!ret)
		st->rules = clf_part_nlive(c, NULL);
	return ret;
}

/* Does record r of wc_rules match key k? (wcard_common.h, struct wc_word_match) */
static bool rule_match(const struct wcard_clf *c, const struct wc_rule_hdr *h,
		       const struct wc_key *k)
{
	const struct wc_rule *r = (const struct wc_rule *)h;
	unsigned int w;

	if (c->rec_format == WC_REC_IPV4)
		return wc_rule4_match((const struct wc_rule4 *)h, k);
	for (w = 0; w < WC_KEY_WORDS; w++)
		if ((k->w[w] & r->w[w].mask) - r->w[w].lo > r->w[w].span)
			return false;
	return true;
}

/*
 * The lookup of key k in part p's live generation, in user space over the
 * mmapped maps, the way the BPF side does it: the rule id or -1; *probed the
 * Tuple Merge tables probed. A twin of the BPF lookup for the same maps, so a
 * difference between them is the BPF side's alone.
 */
static long maps_lookup(const struct wcard_clf *c, const struct clf_part *p,
			const struct wc_key *k, unsigned int *probed)
{
	const struct wc_config *cf = PCFG(c, p, c->gen);
	__u64 best = WC_RANK_NONE;
	unsigned int n = 0, i, j;
	long id = -1;

	if (p->algo != WC_ALGO_TM && p->algo != WC_ALGO_STM) {
		/* Brute force and the LPM path's array: sorted, the first match wins. */
		for (i = 0; i < cf->nrules && i < c->max_rules; i++) {
			const struct wc_rule_hdr *r = RULE(c, cf->rules_base + i);

			if (!(r->id & WC_ID_FLAGS) && rule_match(c, r, k)) {
				id = r->id;
				break;
			}
		}
	} else if (cf->order < WC_TM_ORDER_RING) {
		const struct wc_tm_order_buf *ob = ORDER(c, cf->order_base + cf->order);

		for (i = 0; i < ob->n && i < WC_TM_MAX_TABLES && ob->e[i].best < best; i++) {
			const struct wc_tm_table *tb = TABLE(c, cf->tables_base + ob->e[i].table);
			__u64 h = wc_hash_masked(k, &tb->mask);
			__u32 first = tb->slots >> 8, size = 1u << (tb->slots & 31);

			n++;
			for (j = 0; j < size && j < WC_TM_MAX_PROBE; j++) {
				const struct wc_tm_slot *s = SLOT(c, first + (((__u32)h + j) & (size - 1)));
				__u32 cur, hops = 0;

				if (!s->tag)
					break;
				if (s->tag != wc_hash_tag(h))
					continue;
				/* The chain is in rank order: its first match is its best. */
				for (cur = s->head; cur && hops++ <= c->max_rules;
				     cur = RULE(c, cf->rules_base + cur - 1)->next) {
					const struct wc_rule_hdr *r;

					r = RULE(c, cf->rules_base + cur - 1);
					if (r->rank >= best)
						break;
					if (!(r->id & WC_ID_FLAGS) && rule_match(c, r, k)) {
						best = r->rank;
						id = r->id;
						break;
					}
				}
			}
		}
	}
	if (probed)
		*probed = n;
	return id;
}

long wcard_clf_model_lookup_family(const struct wcard_clf *c, unsigned int family,
				   const struct wc_key *k, unsigned int *probed)
{
	if (!c || !k || (family != 4 && family != 6))
		return -EINVAL;
	/* A classifier of the other family's layout has no rule for the key. */
	if ((c->layout.id == WC_LAYOUT_IPV4_5T && family != 4) ||
	    (c->layout.id == WC_LAYOUT_IPV6_5T && family != 6)) {
		if (probed)
			*probed = 0;
		return -1;
	}
	return maps_lookup(c, &c->part[c->nparts > 1 && family == 6 ? WC_PART_V6 : 0], k, probed);
}

long wcard_clf_model_lookup(const struct wcard_clf *c, const struct wc_key *k,
			    unsigned int *probed)
{
	if (!c || !k)
		return -EINVAL;
	return maps_lookup(c, &c->part[0], k, probed);
}
