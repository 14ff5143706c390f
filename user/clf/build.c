// SPDX-License-Identifier: MIT
/* build.c: a whole generation built (brute force, Tuple Merge, LPM) and switched to; libwcard. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "clf_int.h"
#include "lpm/lpm_int.h"

/*
 * Free generation g's trie images (and with spare, an unused spare): for a
 * generation no lookup can use, that is not live and whose last switch away
 * was followed by a grace period.
 */
static void lpm_gen_drop(struct wcard_clf *c, unsigned int g, bool spare)
{
	lpm_trie_drop(c->lpm4[g], spare);
	lpm_trie_drop(c->lpm6[g], spare);
}

struct order {
	__u64 rank;
	__u32 id;
};

static int order_cmp(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/* A part's spare generation as it is built, before the switch makes it live. */
struct part_build {
	struct wc_config cfg;
	__u32 *slot_of; /* rule id -> absolute slot, WC_ID_NONE */
	__u8 *table_of; /* rule id -> table (Tuple Merge) */
	size_t nlive;
	struct tm_model *tm; /* Tuple Merge, else NULL */
	__u32 tslots[WC_TM_MAX_TABLES];
	__u32 slots_used;
};

static void part_build_free(struct part_build *b)
{
	if (b->tm) {
		tm_free(b->tm);
		free(b->tm);
	}
	free(b->slot_of);
	free(b->table_of);
}

/* Is rule id live and one of part p's? */
static bool live_in(const struct wcard_clf *c, const struct clf_part *p, size_t id)
{
	return c->rs.live[id] && clf_in_part(c, p, &c->rs.set.rules[id]);
}

/* Brute force: part p's live rules sorted by rank into generation g. */
static int build_bf(struct wcard_clf *c, struct clf_part *p, unsigned int g, __u32 *slot_of,
		    struct wc_config *cfg)
{
	__u32 base = RBASE(c, p, g), i, n = 0;
	struct order *ord = calloc(c->rs.set.n ? c->rs.set.n : 1, sizeof(*ord));

	if (!ord)
		return -ENOMEM;
	for (i = 0; i < c->rs.set.n; i++) {
		if (!live_in(c, p, i))
			continue;
		ord[n].rank = c->rs.rank[i];
		ord[n++].id = i;
	}
	qsort(ord, n, sizeof(*ord), order_cmp);
	for (i = 0; i < n; i++) {
		__u32 k = ord[i].id;
		struct wc_rule rec;

		wcard_rule_compile(&p->layout, &c->rs.set.rules[k], c->rs.rank[k], &rec);
		rec.id = k;
		clf_rec_put(c, base + i, &rec, false);
		slot_of[k] = base + i;
	}
	free(ord);
	cfg->algo = WC_ALGO_BF;
	cfg->nrules = n;
	cfg->flags = WC_CFG_SORTED;
	cfg->moves = 0;
	return 0;
}

/* Field f of rule r matches every value. */
static bool field_any(const struct wcard_layout *l, const struct wcard_rule *r, unsigned int f)
{
	const struct wcard_match *m = &r->f[f];
	__u64 top = l->fields[f].width >= 8 ? ~0ULL : (1ULL << (8 * l->fields[f].width)) - 1;

	switch (l->fields[f].type) {
	case WC_FIELD_PREFIX:
		return m->plen == 0;
	case WC_FIELD_RANGE:
		return m->lo == 0 && m->hi == top;
	default:
		return m->mask == 0;
	}
}

struct lpm_pfx {
	wc_u128 addr;
	__u64 rank;
	__u32 id;
	__u8 len;
};

static int lpm_pfx_cmp(const void *a, const void *b)
{
	const struct lpm_pfx *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/*
 * The rules as longest-prefix routes, if they are such a set: every live rule
 * matches on one PREFIX field f of 4 or 16 bytes only, and wherever one
 * rule's prefix contains another's, the longer ranks better, so the longest
 * matching prefix always holds the best-ranked match. Of equal prefixes only
 * the best-ranked rule can ever win. Returns f, with *out and *n the distinct
 * prefixes (malloc'ed, sorted), -1 if the set is not one, or -ENOMEM.
 */
static int lpm_routes(const struct wcard_clf *c, const struct clf_part *pt, size_t nlive,
		      struct lpm_pfx **out, size_t *n)
{
	const struct wcard_layout *l = &pt->layout;
	struct lpm_pfx *px = NULL;
	size_t i, k = 0, sp = 0, *st = NULL;
	int f = -1;
	unsigned int g;

	for (i = 0; i < c->rs.set.n && f != -2; i++) {
		if (!live_in(c, pt, i))
			continue;
		for (g = 0; g < l->nfields; g++) {
			if (field_any(l, &c->rs.set.rules[i], g))
				continue;
			/* A second matched field, or another one than the other rules'. */
			if ((f >= 0 && (int)g != f) || l->fields[g].type != WC_FIELD_PREFIX ||
			    (l->fields[g].width != 4 && l->fields[g].width != 16)) {
				f = -2;
				break;
			}
			f = (int)g;
		}
	}
	/* All wildcards: any one PREFIX field of 4 or 16 bytes will do. */
	for (g = 0; f == -1 && g < l->nfields; g++)
		if (l->fields[g].type == WC_FIELD_PREFIX &&
		    (l->fields[g].width == 4 || l->fields[g].width == 16))
			f = (int)g;
	if (f < 0 || !nlive)
		return -1;
	px = calloc(nlive, sizeof(*px));
	st = calloc(nlive, sizeof(*st));
	if (!px || !st) {
		free(px);
		free(st);
		return -ENOMEM;
	}
	for (i = 0; i < c->rs.set.n; i++) {
		const struct wcard_match *m = &c->rs.set.rules[i].f[f];

		if (!live_in(c, pt, i))
			continue;
		px[k++] = (struct lpm_pfx){ .addr = m->plen ? m->value : 0, .rank = c->rs.rank[i],
					    .id = (__u32)i, .len = (__u8)m->plen };
	}
	qsort(px, k, sizeof(*px), lpm_pfx_cmp);
	/* Keep the best-ranked of equal prefixes (sorted first). */
	for (i = 0, *n = 0; i < k; i++)
		if (!*n || px[*n - 1].addr != px[i].addr || px[*n - 1].len != px[i].len)
			px[(*n)++] = px[i];
	/*
	 * Prefixes nest or are disjoint: in address order, a stack holds the ones
	 * around the current prefix, and each must rank better than its parent.
	 */
	for (i = 0; i < *n && f >= 0; i++) {
		unsigned int bits = l->fields[f].width * 8;

		while (sp) {
			const struct lpm_pfx *t = &px[st[sp - 1]];
			wc_u128 m = t->len ? (~(wc_u128)0 << (128 - t->len)) >> (128 - bits) : 0;

			if ((px[i].addr & m) == t->addr)
				break;
			sp--;
		}
		if (sp && px[i].rank > px[st[sp - 1]].rank)
			f = -1;
		st[sp++] = i;
	}
	free(st);
	if (f < 0) {
		free(px);
		return -1;
	}
	*out = px;
	return f;
}

/*
 * WC_ALGO_LPM: part pt's rules go into generation g as for brute force (sorted by
 * rank), and generation g's trie of field f's width gets the winning rule of
 * each prefix as a route: route index = the rule's place in rank order (so its
 * slot is rules_base + index), value = the rule's value, aux = its id
 * (wc_lpm_classify reads no rule). Routes of rules that never win are
 * placeholders of the other family. The live generation keeps its own trie
 * (another slot), so its lookups never see this one's routes.
 */
static int build_lpm(struct wcard_clf *c, struct clf_part *pt, unsigned int g, __u32 *slot_of,
		     struct wc_config *cfg, int f, const struct lpm_pfx *px, size_t n, char *err,
		     size_t errlen)
{
	bool v6 = pt->layout.fields[f].width == 16;
	struct wcard_trie *t = v6 ? c->lpm6[g] : c->lpm4[g];
	struct wcard_routes rt = { 0 };
	__u32 base = RBASE(c, pt, g);
	size_t i;
	int ret;

	ret = build_bf(c, pt, g, slot_of, cfg);
	if (ret)
		return ret;
	rt.n = cfg->nrules;
	rt.r = calloc(rt.n ? rt.n : 1, sizeof(*rt.r));
	if (!rt.r)
		return -ENOMEM;
	for (i = 0; i < rt.n; i++)
		rt.r[i].family = v6 ? 4 : 6; /* placeholder: the trie skips it */
	/* The image the object was prepared with, if still unused, is built in first. */
	lpm_trie_spare_move(t, v6 ? c->lpm6[g ^ 1] : c->lpm4[g ^ 1]);
	for (i = 0; i < n; i++) {
		__u32 k = slot_of[px[i].id] - base;

		rt.r[k] = (struct wcard_route){ .addr = px[i].addr,
						.family = v6 ? 6 : 4,
						.len = px[i].len,
						.value = c->rs.set.rules[px[i].id].value,
						.line = px[i].id };
	}
	ret = wcard_trie_load(t, &rt, err, errlen);
	free(rt.r);
	if (ret)
		return ret;
	cfg->algo = WC_ALGO_LPM;
	cfg->lpm_field = (__u32)f;
	cfg->lpm_slot = g;
	return 0;
}

/* A rule of one table, with the hash of its bucket key, for grouping. */
struct tm_ent {
	__u64 hash;
	__u64 rank;
	struct wc_key mk;
	__u32 id;
};

static int tm_ent_cmp(const void *a, const void *b)
{
	const struct tm_ent *x = a, *y = b;
	int r;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	r = memcmp(&x->mk, &y->mk, sizeof(x->mk));
	if (r)
		return r;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/*
 * Lay one table's buckets into an open-addressed slot array of 2^lg slots
 * starting at first. Fails with -EAGAIN when a run of used slots would reach
 * WC_TM_MAX_PROBE (the BPF probe bound): the caller doubles the size.
 */
static int place_buckets(struct wcard_clf *c, __u32 first, unsigned int lg,
			 const struct tm_ent *e, size_t n, const __u32 *heads)
{
	__u32 size = 1u << lg, mask = size - 1, i, run, maxrun = 0;
	size_t b;

	memset(SLOTS(c, first, size), 0, (size_t)size * sizeof(struct wc_tm_slot));
	for (b = 0; b < n; b++) {
		struct wc_tm_slot *s;
		__u32 pos;

		if (b && e[b].hash == e[b - 1].hash && !memcmp(&e[b].mk, &e[b - 1].mk, sizeof(e[b].mk)))
			continue; /* same bucket: one slot for the whole chain */
		pos = (__u32)e[b].hash & mask;
		for (i = 0; i < size && SLOT(c, first + ((pos + i) & mask))->tag; i++)
			;
		if (i >= WC_TM_MAX_PROBE - 1 || i == size)
			return -EAGAIN;
		s = SLOT(c, first + ((pos + i) & mask));
		s->tag = wc_hash_tag(e[b].hash);
		s->head = heads[b];
	}
	/* Longest run of used slots, wrapping: every probe ends within it + 1. */
	for (i = 0, run = 0; i < 2 * size; i++) {
		run = SLOT(c, first + (i & mask))->tag ? run + 1 : 0;
		if (run > maxrun)
			maxrun = run;
	}
	return maxrun >= WC_TM_MAX_PROBE ? -EAGAIN : 0;
}

/*
 * An order a bulk build inserts the rule set's ids in: a fixed pseudo-random
 * permutation, by seed (the same for the same set size, so builds repeat). Inserted in
 * priority order, a set's first rules are its most specific ones, whose
 * narrow tables the broader rules that follow cannot join, so each broad shape
 * gets tables of its own; in random order the broad rules come early, and their
 * tables take in the specific rules after them. The native reference shuffles
 * its rules the same way before it builds (its default; without it, acl2_10k
 * takes it 56 tables and 12.9 probed a packet, against 14 and 5.3).
 */
static int insert_order(const struct wcard_clf *c, unsigned int seed, __u32 **out)
{
	size_t n = c->rs.set.n, i, j;
	__u64 s = 0x9e3779b97f4a7c15ULL * seed ^ n;
	__u32 *o = malloc((n ? n : 1) * sizeof(*o)), tmp;

	if (!o)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		o[i] = (__u32)i;
	for (i = n; i > 1; i--) {
		/* splitmix64 */
		__u64 z = (s += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		j = (size_t)(z % i);
		tmp = o[i - 1];
		o[i - 1] = o[j];
		o[j] = tmp;
	}
	*out = o;
	return 0;
}

/* Insert part pt's live rules into model tm in the order of order (NULL: id order). */
static int model_fill(struct wcard_clf *c, struct clf_part *pt, struct tm_model *tm,
		      const __u32 *order, char *err, size_t errlen)
{
	size_t n;
	int ret;

	for (n = 0; n < c->rs.set.n; n++) {
		__u32 i = order ? order[n] : (__u32)n;
		const struct wcard_rule *r = &c->rs.set.rules[i];

		if (!live_in(c, pt, i))
			continue;
		ret = tm_insert(tm, i, c->rs.rank[i], r, NULL);
		if (ret == -ENOSPC)
			seterr(err, errlen,
				   "rule %u (line %u): more than %u Tuple Merge tables needed", i,
				   r->line, WC_TM_MAX_TABLES);
		else if (ret == -ENOENT)
			seterr(err, errlen, "rule %u (line %u) fits no table of the static pool",
				   i, r->line);
		else if (ret)
			seterr(err, errlen, "Tuple Merge insert of rule %u: %s", i,
				   strerror(-ret));
		if (ret)
			return ret;
	}
	return 0;
}

static int best_cmp(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * What a model costs lookups, without traffic to measure: the tables probed
 * for a key whose best rule is r (those whose best rank is at most r's, since
 * lookups visit tables by best rank and stop at the first that cannot beat
 * their match), summed over the live rules as if each were matched alike.
 */
static __u64 model_cost(const struct wcard_clf *c, const struct clf_part *pt,
			const struct tm_model *tm)
{
	__u64 best[WC_TM_MAX_TABLES], sum = 0;
	unsigned int nt = 0, t, lo, hi;
	size_t i;

	for (t = 0; t < WC_TM_MAX_TABLES; t++)
		if (tm->tables[t].used)
			best[nt++] = tm->tables[t].best;
	qsort(best, nt, sizeof(*best), best_cmp);
	for (i = 0; i < c->rs.set.n; i++) {
		if (!live_in(c, pt, i))
			continue;
		for (lo = 0, hi = nt; lo < hi;) {
			unsigned int mid = (lo + hi) / 2;

			if (best[mid] <= c->rs.rank[i])
				lo = mid + 1;
			else
				hi = mid;
		}
		sum += lo;
	}
	return sum;
}

/*
 * Shuffled orders a bulk build tries beside priority order: as many as
 * BUILD_BUDGET rule inserts allow, from 1 to BUILD_SHUFFLES (15 up to 34K
 * rules, 5 at 100K, 1 up to 512K). At 100K, 2 shuffles left ipc1_100k 15
 * tables and 4.7 probed (native: 17 / 4.08), 5 give 8 / 2.1; the bulk build
 * takes 2.6 s there, against 0.8 s with one model. None above 512K rules: a
 * model takes seconds there, and online changes into the shuffled model of a
 * million generated rules were slow (the bench's batch of 500K deletes and
 * 500K adds, 27.5 s and 3.9 GB against 2.4 s and 0.5 GB in priority order;
 * not understood yet).
 */
#define BUILD_SHUFFLES 15
#define BUILD_BUDGET (1u << 19)
#define BUILD_SHUFFLED_MAX (1u << 19)

/*
 * Part pt's Tuple Merge model in *out: built from the rules in priority order
 * and from the same rules in shuffled orders (insert_order), the one that
 * costs lookups least (model_cost). No order wins everywhere: tables /
 * average tables probed on each set's trace, priority order against the
 * first shuffle: acl1_10k 23 / 4.64 against 27 / 6.57, fw2_10k 14 / 7.51
 * against 8 / 3.41, acl1_100k 25 / 3.37 against 15 / 2.41; and shuffles differ
 * among themselves (fw1_10k 20 / 5.5, 21 / 4.7, 13 / 3.8). The best of 1, 3,
 * 7 and 15 shuffles: the generated 10K set of the bench 23 / 15.3, 23 / 15.3,
 * 20 / 13.3, 16 / 10.1 (native: 24 / 14.2); ipc1_10k 36 / 11.3 up to 7, 24 /
 * 11.2 with 15. Bulk build time, one model against 16: acl1_10k 57 against
 * 300 ms. A static pool builds once: its tables do not depend on the order.
 * The model kept is then merged (tm_merge): tables / probed, acl3_10k 44 /
 * 12.4 -> 18 / 7.4, acl1_100k 15 / 2.0 -> 8 / 1.0 (docs/design.md section 3.2).
 */
static int model_build(struct wcard_clf *c, struct clf_part *pt, struct tm_model **out, char *err,
		       size_t errlen)
{
	struct tm_pool pool = { .n = c->npool, .len = c->pool };
	struct tm_model *best = NULL, *tm = NULL;
	__u64 best_cost = 0, cost;
	int ret = 0, first = 0;
	size_t each = BUILD_BUDGET / (c->rs.set.n ? c->rs.set.n : 1);
	unsigned int k, shuffles = each > BUILD_SHUFFLES ? BUILD_SHUFFLES : each ? each : 1;

	if (c->npool || c->rs.set.n > BUILD_SHUFFLED_MAX)
		shuffles = 0;
	for (k = 0; k <= shuffles; k++) {
		__u32 *order = NULL;

		tm = calloc(1, sizeof(*tm));
		if (!tm) {
			ret = -ENOMEM;
			break;
		}
		ret = tm_init(tm, &pt->layout, c->collide, c->npool ? &pool : NULL);
		if (ret) {
			free(tm);
			tm = NULL;
			break;
		}
		ret = k ? insert_order(c, k, &order) : 0;
		/* The message of a failure is the priority order's. */
		if (!ret)
			ret = model_fill(c, pt, tm, order, k && first ? NULL : err,
					 k && first ? 0 : errlen);
		free(order);
		if (!k)
			first = ret;
		cost = ret ? 0 : model_cost(c, pt, tm);
		if (!ret && (!best || cost < best_cost)) {
			if (best) {
				tm_free(best);
				free(best);
			}
			best = tm;
			best_cost = cost;
		} else {
			tm_free(tm);
			free(tm);
		}
		tm = NULL;
		if (ret && ret != -ENOSPC)
			break;
	}
	if (!best)
		return first ? first : ret ? ret : -ENOMEM;
	ret = tm_merge(best, NULL);
	if (ret < 0) {
		tm_free(best);
		free(best);
		seterr(err, errlen, "Tuple Merge: merging tables: %s", strerror(-ret));
		return ret;
	}
	if (err && errlen)
		*err = 0;
	*out = best;
	return 0;
}

/*
 * Tuple Merge: build part pt's model, then lay its tables, buckets and rules
 * into generation g (b: the config and the state that go with them).
 */
static int build_tm(struct wcard_clf *c, struct clf_part *pt, unsigned int g, struct part_build *b,
		    char *err, size_t errlen)
{
	__u32 rbase = RBASE(c, pt, g), next_rule = 0, next_slot = 0, t, i;
	struct wc_config *cfg = &b->cfg;
	struct tm_ent *ents = NULL;
	__u32 *heads = NULL, *order_ids = NULL;
	struct wc_tm_order_buf *ob;
	struct tm_model *tm = NULL;
	size_t n, cap = c->rs.set.n ? c->rs.set.n : 1, nrules = 0;
	unsigned int load = 2; /* slots per bucket, at least: load 1/2 */
	int ret;

	ret = model_build(c, pt, &tm, err, errlen);
	if (ret)
		return ret;
	/*
	 * Load 1/4 where the part holds at most a quarter of max_rules: a table
	 * then takes fewer than 8 slots per bucket (power-of-two rounding), so the
	 * whole layout stays within half the slot budget (4 per rule) and online
	 * changes keep the other half. A probe that misses, most of them, reads
	 * ~1.4 slots at 1/4 and ~2.5 at 1/2 (linear probing), and each slot is a
	 * step of the BPF probe: 8-23% faster lookups (design.md 3.3).
	 */
	for (t = 0; t < WC_TM_MAX_TABLES; t++)
		if (tm->tables[t].used)
			nrules += tm->tables[t].nrules;
	if (16 * (__u64)nrules <= c->nslots)
		load = 4;
	ents = calloc(cap, sizeof(*ents));
	heads = calloc(cap, sizeof(*heads));
	order_ids = calloc(WC_TM_MAX_TABLES, sizeof(*order_ids));
	if (!ents || !heads || !order_ids) {
		ret = -ENOMEM;
		goto out;
	}
	for (t = 0; t < WC_TM_MAX_TABLES; t++) {
		struct tm_mtable *tb = &tm->tables[t];
		struct wc_tm_table *out = TABLE(c, TBASE(pt, g) + t);
		unsigned int lg = 3;
		size_t e, nb = 0;

		memset(out, 0, sizeof(*out));
		b->tslots[t] = 0;
		if (!tb->used)
			continue;
		/* This table's rules, grouped by bucket key, each group by rank. */
		for (i = 0, n = 0; i < c->rs.set.n; i++) {
			if (!live_in(c, pt, i) || tm->rules[i].table != t)
				continue;
			tm_rule_key(&pt->layout, &c->rs.set.rules[i], &ents[n].mk);
			for (e = 0; e < WC_KEY_WORDS; e++)
				ents[n].mk.w[e] &= tb->mask.w[e];
			ents[n].hash = wc_hash_masked(&ents[n].mk, &tb->mask);
			ents[n].rank = c->rs.rank[i];
			ents[n].id = i;
			n++;
		}
		qsort(ents, n, sizeof(*ents), tm_ent_cmp);
		/* Rules of a bucket are consecutive, chained in rank order. */
		for (e = 0; e < n; e++) {
			bool first = !e || ents[e].hash != ents[e - 1].hash ||
				     memcmp(&ents[e].mk, &ents[e - 1].mk, sizeof(ents[e].mk));
			bool last = e + 1 == n || ents[e + 1].hash != ents[e].hash ||
				    memcmp(&ents[e].mk, &ents[e + 1].mk, sizeof(ents[e].mk));
			struct wc_rule rec;

			wcard_rule_compile(&pt->layout, &c->rs.set.rules[ents[e].id],
					   ents[e].rank, &rec);
			rec.id = ents[e].id;
			rec.next = last ? 0 : next_rule + 2;
			clf_rec_put(c, rbase + next_rule, &rec, false);
			b->slot_of[ents[e].id] = rbase + next_rule;
			b->table_of[ents[e].id] = (__u8)t;
			heads[e] = next_rule + 1;
			nb += first;
			next_rule++;
		}
		while ((1u << lg) < load * nb)
			lg++;
		for (;;) {
			if (next_slot + (1u << lg) > c->nslots) {
				seterr(err, errlen, "out of bucket slots (%u per generation)",
					   c->nslots);
				ret = -ENOSPC;
				goto out;
			}
			ret = place_buckets(c, SBASE(c, pt, g) + next_slot, lg, ents, n, heads);
			if (ret != -EAGAIN)
				break;
			lg++;
		}
		memcpy(&out->mask, &tb->mask, sizeof(out->mask));
		out->slots = ((__u64)(SBASE(c, pt, g) + next_slot) << 8) | lg;
		out->best = tb->best;
		out->nrules = tb->nrules;
		out->max_bucket = tb->max_bucket;
		b->tslots[t] = 1u << lg;
		next_slot += 1u << lg;
	}
	ob = ORDER(c, OBASE(pt, g));
	memset(ob, 0, sizeof(*ob));
	ob->n = tm_order(tm, order_ids);
	for (i = 0; i < ob->n; i++) {
		ob->e[i].table = order_ids[i];
		ob->e[i].best = tm->tables[order_ids[i]].best;
	}
	cfg->algo = c->npool ? WC_ALGO_STM : WC_ALGO_TM;
	/* Slots in table order, not rank order: brute force must refuse them. */
	cfg->flags &= ~WC_CFG_SORTED;
	cfg->nrules = next_rule; /* slots used: the exact scan's range */
	cfg->order = 0;
	cfg->moves = 0;
	b->slots_used = next_slot;
	b->tm = tm;
	tm = NULL;
	ret = 0;
out:
	free(ents);
	free(heads);
	free(order_ids);
	if (tm) {
		tm_free(tm);
		free(tm);
	}
	return ret;
}

static enum wc_algo pick_algo(const struct wcard_clf *c)
{
	if (c->algo_opt)
		return c->algo_opt;
	/*
	 * By the rules of every part: a part on brute force takes a rebuild of
	 * them all for each change of its own, cheap only while they are few.
	 */
	return c->rs.nlive <= WCARD_AUTO_BF_MAX ? WC_ALGO_BF : WC_ALGO_TM;
}

/*
 * Build part pt's rules into generation g (b), by the algorithm picked for
 * them: a part on its own may take the LPM path, or stay small enough for
 * brute force, whatever the other part holds.
 */
static int build_part(struct wcard_clf *c, struct clf_part *pt, unsigned int g,
		      struct part_build *b, char *err, size_t errlen)
{
	struct lpm_pfx *pfx = NULL;
	size_t i, npfx = 0;
	enum wc_algo algo;
	int ret = 0, lf = -1;

	for (i = 0; i < c->rs.set.n; i++)
		b->nlive += live_in(c, pt, i);
	b->slot_of = malloc(WC_ID_LIMIT((size_t)c->max_rules) * sizeof(*b->slot_of));
	b->table_of = calloc(WC_ID_LIMIT((size_t)c->max_rules), 1);
	if (!b->slot_of || !b->table_of)
		return -ENOMEM;
	memset(b->slot_of, 0xff, WC_ID_LIMIT((size_t)c->max_rules) * sizeof(*b->slot_of));
	b->cfg = *PCFG(c, pt, g);
	algo = pick_algo(c);
	/* An empty part of an LPM classifier (one family without routes) is an empty array. */
	if (algo == WC_ALGO_LPM && !b->nlive && c->nparts > 1)
		algo = WC_ALGO_BF;
	if (algo == WC_ALGO_LPM ||
	    (!c->algo_opt && algo == WC_ALGO_TM && (c->lpm4[g] || c->lpm6[g]))) {
		lf = lpm_routes(c, pt, b->nlive, &pfx, &npfx);
		if (lf >= 0 && !(pt->layout.fields[lf].width == 16 ? c->lpm6[g] : c->lpm4[g]))
			lf = -1;
		if (lf >= 0) {
			ret = build_lpm(c, pt, g, b->slot_of, &b->cfg, lf, pfx, npfx, err, errlen);
			/* Too many routes or nodes for the trie: Tuple Merge, unless asked for. */
			if (ret && algo != WC_ALGO_LPM && (ret == -ENOSPC || ret == -E2BIG)) {
				ret = 0;
				if (err)
					*err = 0;
				lf = -1;
			}
		} else if (algo == WC_ALGO_LPM) {
			seterr(err, errlen, lf == -ENOMEM ? "%s" :
				   "--algo lpm: the rules must match on one IPv4/IPv6 prefix field "
				   "only, longer prefixes ranking better%s",
				   lf == -ENOMEM ? strerror(ENOMEM) :
				   c->lpm4[g] || c->lpm6[g] ? "" :
							       " (and the object has no LPM trie)");
			ret = lf == -ENOMEM ? -ENOMEM : -EINVAL;
		}
		free(pfx);
	}
	/* Not as LPM: the algorithm picked. */
	if (!ret && lf < 0)
		ret = algo == WC_ALGO_BF ? build_bf(c, pt, g, b->slot_of, &b->cfg) :
					   build_tm(c, pt, g, b, err, errlen);
	if (ret && err && !*err)
		seterr(err, errlen, "building the rule set: %s", strerror(-ret));
	/* A reopen picks the algorithm again only if it was picked here. */
	b->cfg.flags = (b->cfg.flags & ~WC_CFG_AUTO) | (c->algo_opt ? 0 : WC_CFG_AUTO);
	return ret;
}

/*
 * The writer's state for part p of the generation just built (b): where each
 * rule is, the tables, nothing freed in it yet.
 */
static void state_fill(struct wcard_clf *c, struct clf_part *p, const struct part_build *b)
{
	struct wst_part *sp = p->st;
	size_t lim = WC_ID_LIMIT((size_t)c->max_rules);
	unsigned int lg, t;

	memcpy(clf_arr_at(&c->state, (size_t)sp->slot_off * 4, lim * 4), b->slot_of, lim * 4);
	memcpy(clf_arr_at(&c->state, (size_t)sp->table_off * 4, lim), b->table_of, lim);
	sp->rules_hwm = b->cfg.nrules;
	sp->slots_used = b->slots_used;
	sp->moved_pending = sp->since_gp = 0;
	ring_reset(&sp->rules);
	moved_reset(sp);
	for (lg = 0; lg < 32; lg++)
		ring_reset(&sp->regions[lg]);
	sp->ntables = b->tm ? b->tm->ntables : 0;
	for (t = 0; t < WC_TM_MAX_TABLES; t++) {
		const struct tm_mtable *mt = b->tm ? &b->tm->tables[t] : NULL;
		const struct wc_tm_table *tb = TABLE(c, TBASE(p, c->gen) + t);
		__u32 k, first = tb->slots >> 8;

		sp->tused[t] = mt && mt->used;
		sp->best[t] = sp->tused[t] ? mt->best : WC_RANK_NONE;
		memcpy(sp->tlen[t], mt ? mt->len : (const __u8[WC_MAX_FIELDS]){ 0 }, WC_MAX_FIELDS);
		sp->tslots[t] = sp->tused[t] ? b->tslots[t] : 0;
		sp->live_entries[t] = sp->tombs[t] = 0;
		/* Bucket heads per table, as the build laid them. */
		for (k = 0; k < sp->tslots[t]; k++)
			sp->live_entries[t] += SLOT(c, first + k)->tag != 0;
	}
}

/* The counts and the priority bound of the rule set, in the state. */
static void state_counts(struct wcard_clf *c)
{
	struct wst *w = WST(c);
	size_t i;

	w->nlive = c->rs.nlive;
	w->nfam[0] = c->rs.nfam[0];
	w->nfam[1] = c->rs.nfam[1];
	if (c->rs.seq > w->seq)
		w->seq = c->rs.seq;
	if (w->nids < c->rs.set.n)
		w->nids = (__u32)c->rs.set.n;
	w->worst_prio = 0;
	for (i = 0; i < c->rs.set.n; i++)
		if (c->rs.live[i] && c->rs.set.rules[i].prio > w->worst_prio)
			w->worst_prio = c->rs.set.rules[i].prio;
}

int clf_republish(struct wcard_clf *c, char *err, size_t errlen)
{
	struct part_build b[WC_MAX_PARTS];
	struct clf_part *p;
	unsigned int g, i;
	int ret = 0;

	/* The rule set to build: as the maps hold it, unless the caller changed it. */
	ret = clf_rs_load(c);
	if (ret) {
		seterr(err, errlen, "reading the rules back from the maps: %s", strerror(-ret));
		return ret;
	}
	/* A switch whose wait failed earlier: lookups may still be in the spare half. */
	if (WST(c)->sync_owed) {
		ret = clf_sync(c);
		if (ret) {
			seterr(err, errlen, "waiting for running lookups: %s", strerror(-ret));
			return ret;
		}
		WST(c)->sync_owed = 0;
	}
	/* Build the spare generation; lookups keep using the live one meanwhile. */
	g = c->gen ^ 1;
	/* No lookup reaches g's tries (see above): what a killed writer left there goes. */
	lpm_gen_drop(c, g, false);
	memset(b, 0, sizeof(b));
	for_each_part(c, p) {
		ret = build_part(c, p, g, &b[p->idx], err, errlen);
		if (ret)
			break;
	}
	if (ret) {
		for (i = 0; i < WC_MAX_PARTS; i++)
			part_build_free(&b[i]);
		return ret;
	}
	for_each_part(c, p)
		*PCFG(c, p, g) = b[p->idx].cfg;
	/*
	 * Publish: one store switches every lookup that starts from now on, in
	 * every part. The state follows; a writer killed in between leaves it busy.
	 */
	clf_state_busy(c, true);
	WST(c)->sync_owed = 1;
	__atomic_store_n(&ROOT(c)->gen, g, __ATOMIC_RELEASE);
	c->gen = g;
	for_each_part(c, p) {
		p->algo = b[p->idx].cfg.algo;
		state_fill(c, p, &b[p->idx]);
	}
	for (i = 0; i < WC_MAX_PARTS; i++)
		part_build_free(&b[i]);
	state_counts(c);
	WST(c)->gen = g;
	clf_state_busy(c, false);
	/* The rule set just published is what the maps hold. */
	clf_rs_fresh_now(c);
	/*
	 * Lookups that started before the switch finish before we return. The
	 * switch is done whatever happens here, so this returns 0 (callers take
	 * an error for "nothing switched" and undo their change): if the wait
	 * fails, the next write to the spare half waits first (sync_owed); if
	 * zeroing the deleted ids' counters fails, they wait for the next grace
	 * period.
	 */
	if (clf_grace(c))
		return 0;
	WST(c)->sync_owed = 0;
	/*
	 * No lookup can reach the old generation now: its trie images go (the
	 * next load into it builds new ones), so only the live generation holds
	 * one, as with a single trie, and a classifier off the LPM path none.
	 */
	lpm_gen_drop(c, g ^ 1, true);
	return 0;
}

static int locked_load(struct wcard_clf *c, const struct wcard_ruleset *rs, char *err,
		       size_t errlen)
{
	struct wcard_ruleset old_set;
	bool *old_live, *live;
	__u64 *old_rank, *rank;
	size_t i, old_cap, old_seq, old_nlive, old_nfam[2], nfam[2] = { 0, 0 };
	__u32 old_changes;
	bool old_valid;
	struct clf_part *p;
	int ret;

	if (!c || !rs)
		return -EINVAL;
	ret = clf_check_writable(c, err, errlen);
	if (ret)
		return ret;
	if (rs->layout && strcmp(rs->layout->name, c->layout.name)) {
		seterr(err, errlen, "rule set layout %s does not match the classifier's %s",
			   rs->layout->name, c->layout.name);
		return -EINVAL;
	}
	for (i = 0; i < rs->n; i++) {
		ret = wcard_rule_check(&c->layout, &rs->rules[i], err, errlen);
		if (ret)
			return ret;
		if (rs->rules[i].family == 4 || rs->rules[i].family == 6)
			nfam[rs->rules[i].family == 6]++;
	}
	/* Each part holds up to max_rules: the rules of both families, and its own. */
	for_each_part(c, p) {
		size_t n = c->nparts == 1 ? rs->n : rs->n - nfam[p->idx != WC_PART_V6];

		if (n > c->max_rules) {
			seterr(err, errlen,
			       "%zu %srules exceed the classifier's maximum of %u (--max-rules)", n,
			       c->nparts == 1 ? "" : p->idx == WC_PART_V6 ? "IPv6 " : "IPv4 ",
			       c->max_rules);
			return -E2BIG;
		}
	}
	live = calloc(rs->n ? rs->n : 1, sizeof(*live));
	rank = calloc(rs->n ? rs->n : 1, sizeof(*rank));
	if (!live || !rank) {
		free(live);
		free(rank);
		return -ENOMEM;
	}
	/* The new set replaces the old one only if it could be published. */
	old_set = c->rs.set;
	old_live = c->rs.live;
	old_rank = c->rs.rank;
	old_cap = c->rs.cap;
	old_seq = c->rs.seq;
	old_valid = c->rs.valid;
	old_changes = c->rs.changes;
	old_nlive = c->rs.nlive;
	memcpy(old_nfam, c->rs.nfam, sizeof(old_nfam));
	wcard_ruleset_init(&c->rs.set, &c->layout);
	for (i = 0; i < rs->n; i++) {
		ret = wcard_ruleset_add(&c->rs.set, &rs->rules[i]);
		if (ret)
			goto fail;
		c->rs.set.rules[i].id = i;
		live[i] = true;
		rank[i] = ((__u64)rs->rules[i].prio << 32) | (__u32)i;
	}
	c->rs.live = live;
	c->rs.rank = rank;
	c->rs.cap = rs->n ? rs->n : 1;
	c->rs.seq = rs->n;
	clf_rs_fresh_now(c);
	c->rs.nlive = rs->n;
	memcpy(c->rs.nfam, nfam, sizeof(nfam));
	/*
	 * Ids are handed out afresh: the new rules count from zero. The spare
	 * half is cleared before the switch, the old one once no lookup uses it.
	 */
	ret = clf_hits_zero(c, c->gen ^ 1, true, NULL, 0);
	if (!ret)
		ret = clf_republish(c, err, errlen);
	if (ret)
		goto fail;
	clf_hits_zero(c, c->gen ^ 1, true, NULL, 0);
	/* A new set: ids count from zero again, none old is pending any more. */
	ring_reset(&WST(c)->ids);
	WST(c)->nids = (__u32)rs->n;
	c->broken = false;
	wcard_ruleset_free(&old_set);
	free(old_live);
	free(old_rank);
	return 0;
fail:
	wcard_ruleset_free(&c->rs.set);
	free(live);
	free(rank);
	c->rs.set = old_set;
	c->rs.live = old_live;
	c->rs.rank = old_rank;
	c->rs.cap = old_cap;
	c->rs.seq = old_seq;
	c->rs.valid = old_valid;
	c->rs.changes = old_changes;
	c->rs.nlive = old_nlive;
	memcpy(c->rs.nfam, old_nfam, sizeof(old_nfam));
	return ret;
}

int wcard_clf_load(struct wcard_clf *c, const struct wcard_ruleset *rs, char *err, size_t errlen)
{
	int ret;

	if (!c)
		return -EINVAL;
	clf_lock(c);
	ret = locked_load(c, rs, err, errlen);
	clf_unlock(c);
	return ret;
}

