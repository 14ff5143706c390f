// SPDX-License-Identifier: MIT
/* test_tm.c: the Tuple Merge model against the reference: tuples, splits, events (suite "tm"). */
#include <stdio.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <time.h>
#include "wctest.h"
#include "tm/tm.h"

/* Rule i of a set: id i, rank (prio << 32) | i, the reference's order. */
static __u64 rank_of(const struct wcard_ruleset *rs, size_t i)
{
	return ((__u64)rs->rules[i].prio << 32) | i;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The rule's hash key under a mask, computed here independently of tm.c. */
static void masked_rule_key(const struct wcard_layout *l, const struct wcard_rule *r,
			    const struct wc_key *mask, struct wc_key *k)
{
	unsigned int f, i;

	memset(k, 0, sizeof(*k));
	for (f = 0; f < l->nfields; f++) {
		const struct wc_field_desc *d = &l->desc[f];
		wc_u128 v = d->type == WC_FIELD_RANGE ? r->f[f].lo : r->f[f].value;

		if (d->nwords == 2) {
			k->w[d->word] = (__u64)(v >> 64);
			k->w[d->word + 1] = (__u64)v;
		} else {
			k->w[d->word] = (__u64)v;
		}
	}
	for (i = 0; i < WC_KEY_WORDS; i++)
		k->w[i] &= mask->w[i];
}

/* Reference over the live rules only: lowest prio, then lowest index. */
static long ref_live(const struct wcard_ruleset *rs, const bool *live, const struct wc_key *k)
{
	long best = -1;
	size_t i;

	for (i = 0; i < rs->n; i++) {
		if (!live[i] || (best >= 0 && rs->rules[i].prio >= rs->rules[best].prio))
			continue;
		if (wcard_rule_matches(rs->layout, &rs->rules[i], k))
			best = (long)i;
	}
	return best;
}

/* ---- structural invariants ---------------------------------------------------------- */

struct inv_ent {
	__u32 table;
	__u32 id;
	__u64 rank;
	struct wc_key mk;
};

static int inv_cmp(const void *a, const void *b)
{
	const struct inv_ent *x = a, *y = b;
	int c;

	if (x->table != y->table)
		return x->table < y->table ? -1 : 1;
	c = memcmp(&x->mk, &y->mk, sizeof(x->mk));
	if (c)
		return c;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/* Set by the caller when the model ran out of tables: splits may be skipped. */
static bool tables_ran_out;

/* The first pool tuple rule tuple rl fits, or -1. */
static int pool_first(const struct tm_model *tm, const __u8 *rl)
{
	unsigned int i, f;

	for (i = 0; i < tm->pool.n; i++) {
		for (f = 0; f < tm->layout->nfields; f++)
			if (tm->pool.len[i][f] > rl[f])
				break;
		if (f == tm->layout->nfields)
			return (int)i;
	}
	return -1;
}

/*
 * Every live rule is in exactly one table whose tuple fits it, under the right
 * bucket key, buckets sorted by rank; per-table best/nrules/max_bucket are right;
 * no table is empty; a bucket over the collision limit cannot be split (or the
 * tables ran out). Static: each rule sits in the first pool tuple it fits.
 */
static void check_inv(const struct tm_model *tm, const struct wcard_ruleset *rs, const bool *live,
		      const char *name)
{
	const struct wcard_layout *l = tm->layout;
	unsigned int nf = l->nfields, t, f, used = 0;
	__u32 cnt[WC_TM_MAX_TABLES] = { 0 }, maxb[WC_TM_MAX_TABLES] = { 0 };
	__u64 best[WC_TM_MAX_TABLES];
	struct inv_ent *e = malloc((rs->n + 1) * sizeof(*e));
	__u32 *out = malloc((rs->n + 1) * sizeof(*out));
	size_t i, j, n = 0, nlive = 0;

	cr_assert(e && out, "case %s: memory", name);
	for (t = 0; t < WC_TM_MAX_TABLES; t++)
		best[t] = WC_RANK_NONE;
	for (i = 0; i < rs->n; i++) {
		bool u = i < tm->rules_cap && tm->rules[i].used;
		const struct tm_rule *ru;
		__u8 rl[WC_MAX_FIELDS];

		cr_assert_eq(u, live[i], "case %s: rule %zu used %d, live %d", name, i, u, live[i]);
		if (!u)
			continue;
		nlive++;
		ru = &tm->rules[i];
		t = ru->table;
		cr_assert_lt(t, WC_TM_MAX_TABLES, "case %s: rule %zu in table %u", name, i, t);
		cr_assert(tm->tables[t].used, "case %s: rule %zu in unused table %u", name, i, t);
		cr_assert_eq(ru->rank, rank_of(rs, i), "case %s: rule %zu rank", name, i);
		tm_rule_tuple(l, &rs->rules[i], rl);
		cr_assert_eq(memcmp(rl, ru->len, nf), 0, "case %s: rule %zu tuple", name, i);
		for (f = 0; f < nf; f++)
			cr_assert_leq(tm->tables[t].len[f], rl[f],
				      "case %s: rule %zu field %u: table %u len %u > rule len %u",
				      name, i, f, t, tm->tables[t].len[f], rl[f]);
		if (tm->is_static) {
			int p = pool_first(tm, rl);

			cr_assert_geq(p, 0, "case %s: rule %zu fits no pool tuple", name, i);
			cr_assert_eq(memcmp(tm->pool.len[p], tm->tables[t].len, nf), 0,
				     "case %s: rule %zu not in pool tuple %d, its first fit", name,
				     i, p);
		}
		e[n].table = t;
		e[n].id = (__u32)i;
		e[n].rank = ru->rank;
		masked_rule_key(l, &rs->rules[i], &tm->tables[t].mask, &e[n].mk);
		n++;
		cnt[t]++;
		if (ru->rank < best[t])
			best[t] = ru->rank;
	}
	for (i = rs->n; i < tm->rules_cap; i++)
		cr_assert(!tm->rules[i].used, "case %s: unknown rule %zu used", name, i);
	cr_assert_eq(tm->nrules, nlive, "case %s: nrules %zu, live %zu", name, tm->nrules, nlive);

	/* Buckets: groups of equal (table, masked key), in rank order. */
	qsort(e, n, sizeof(*e), inv_cmp);
	for (i = 0; i < n; i = j) {
		const struct tm_mtable *tb = &tm->tables[e[i].table];
		__u8 mn[WC_MAX_FIELDS];
		unsigned int got, gap = 0;
		struct wc_key mk;

		for (j = i; j < n && e[j].table == e[i].table &&
			    !memcmp(&e[j].mk, &e[i].mk, sizeof(e[i].mk));
		     j++)
			;
		mk = e[i].mk;
		got = tm_bucket(tm, e[i].table, &mk, out, (unsigned int)rs->n + 1);
		cr_assert_eq(got, j - i, "case %s: table %u bucket of rule %u holds %u, want %zu",
			     name, e[i].table, e[i].id, got, j - i);
		for (f = 0; f < j - i; f++)
			cr_assert_eq(out[f], e[i + f].id,
				     "case %s: table %u bucket of rule %u: entry %u is %u, want %u",
				     name, e[i].table, e[i].id, f, out[f], e[i + f].id);
		if (j - i > maxb[e[i].table])
			maxb[e[i].table] = (__u32)(j - i);
		if (tm->is_static || j - i <= tm->collide)
			continue;
		memcpy(mn, tm->rules[e[i].id].len, WC_MAX_FIELDS);
		for (f = i + 1; f < j; f++) {
			unsigned int g;

			for (g = 0; g < nf; g++)
				if (tm->rules[e[f].id].len[g] < mn[g])
					mn[g] = tm->rules[e[f].id].len[g];
		}
		for (f = 0; f < nf; f++)
			gap += mn[f] - tb->len[f];
		cr_assert(
			gap == 0 || tables_ran_out,
			"case %s: table %u: bucket of rule %u holds %zu > %u rules and could split",
			name, e[i].table, e[i].id, j - i, tm->collide);
	}
	for (t = 0; t < WC_TM_MAX_TABLES; t++) {
		const struct tm_mtable *tb = &tm->tables[t];

		if (!tb->used)
			continue;
		used++;
		cr_assert_gt(tb->nrules, 0, "case %s: table %u is empty", name, t);
		cr_assert_eq(tb->nrules, cnt[t], "case %s: table %u nrules %u, holds %u", name, t,
			     tb->nrules, cnt[t]);
		cr_assert_eq(tb->best, best[t], "case %s: table %u best %llx, want %llx", name, t,
			     (unsigned long long)tb->best, (unsigned long long)best[t]);
		cr_assert_eq(tb->max_bucket, maxb[t], "case %s: table %u max_bucket %u, want %u",
			     name, t, tb->max_bucket, maxb[t]);
		{
			struct wc_key m;

			tm_tuple_mask(l, tb->len, &m);
			cr_assert_eq(memcmp(&m, &tb->mask, sizeof(m)), 0, "case %s: table %u mask",
				     name, t);
		}
		for (f = 0; f < t; f++)
			cr_assert(!tm->tables[f].used || memcmp(tm->tables[f].len, tb->len, nf),
				  "case %s: tables %u and %u have the same tuple", name, f, t);
	}
	cr_assert_eq(tm->ntables, used, "case %s: ntables %u, used %u", name, tm->ntables, used);
	free(e);
	free(out);
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct wc_key));
}

/*
 * tm_merge's fixpoint, from the buckets: no table's rules all fit another
 * table (its tuple no longer on any field) without a bucket of that table
 * going over the collision limit.
 */
static void check_merged(const struct tm_model *tm, const struct wcard_ruleset *rs,
			 const bool *live, const char *name)
{
	const struct wcard_layout *l = tm->layout;
	struct wc_key *mk = malloc((rs->n + 1) * sizeof(*mk));
	unsigned int a, b, f;
	__u32 dummy;
	size_t i, j, n;

	cr_assert_not_null(mk, "case %s: memory", name);
	for (a = 0; a < WC_TM_MAX_TABLES; a++) {
		for (b = 0; tm->tables[a].used && b < WC_TM_MAX_TABLES; b++) {
			const struct tm_mtable *ta = &tm->tables[a], *tb = &tm->tables[b];
			bool over = false;

			if (a == b || !tb->used)
				continue;
			for (f = 0; f < l->nfields && tb->len[f] <= ta->len[f]; f++)
				;
			if (f < l->nfields)
				continue;
			for (i = 0, n = 0; i < rs->n; i++)
				if (live[i] && tm->rules[i].table == a)
					masked_rule_key(l, &rs->rules[i], &tb->mask, &mk[n++]);
			qsort(mk, n, sizeof(*mk), key_cmp);
			for (i = 0; i < n && !over; i = j) {
				for (j = i + 1; j < n && !key_cmp(&mk[i], &mk[j]); j++)
					;
				over = j - i + tm_bucket(tm, b, &mk[i], &dummy, 0) > tm->collide;
			}
			cr_assert(over, "case %s: table %u (%u rules) could merge into table %u",
				  name, a, ta->nrules, b);
		}
	}
	free(mk);
}

/* Keys near random rules of rs: the model's lookup equals the reference's. */
static double diff_keys(const struct tm_model *tm, const struct wcard_ruleset *rs, const bool *live,
			struct wt_rng *r, unsigned int pool, unsigned int nkeys, const char *name)
{
	unsigned long probes = 0, hits = 0;
	unsigned int i;

	for (i = 0; i < nkeys; i++) {
		unsigned int probed = 0;
		struct wc_key k;
		long want, got;

		wt_key_near(r, rs->layout, &rs->rules[wt_below(r, (unsigned int)rs->n)], pool, &k);
		want = ref_live(rs, live, &k);
		got = tm_lookup(tm, &k, &probed);
		cr_assert_eq(got, want, "case %s: key %u: tm rule %ld, reference %ld", name, i, got,
			     want);
		cr_assert_leq(probed, tm->ntables, "case %s: key %u: probed %u of %u tables", name,
			      i, probed, tm->ntables);
		probes += probed;
		hits += want >= 0;
	}
	if (tm->nrules)
		cr_assert_gt(hits, nkeys / 20, "case %s: only %lu of %u keys matched", name, hits,
			     nkeys);
	return nkeys ? (double)probes / nkeys : 0;
}

/* ---- rule sets ---------------------------------------------------------------------- */

/*
 * Random rules with small pools (buckets collide), plus /0 rules, rules with equal
 * keys but different ports, and adjacent port ranges. specific: no /0 rules and
 * prefixes at least half the field long, so that buckets can split (a /0 rule
 * with a good rank otherwise makes a catch-all table whose one bucket cannot).
 */
static void make_set(const struct wcard_layout *l, unsigned int n, __u64 seed, unsigned int pool,
		     bool specific, struct wcard_ruleset *rs)
{
	struct wt_rng r = { .s = seed };
	unsigned int i, f, rf = l->nfields;

	for (f = 0; f < l->nfields; f++)
		if (l->fields[f].type == WC_FIELD_RANGE) {
			rf = f;
			break;
		}
	wcard_ruleset_init(rs, l);
	for (i = 0; i < n; i++) {
		struct wcard_rule rule;
		unsigned int kind = wt_below(&r, 10);

		if (kind == 0 && !specific) {
			wcard_rule_any(l, &rule); /* all /0 */
			rule.prio = wt_below(&r, n / 8 + 2);
		} else if (kind <= 2 && rs->n) {
			/* Same key as an earlier rule, other ports: exact, or the next block. */
			rule = rs->rules[wt_below(&r, (unsigned int)rs->n)];
			if (rf < l->nfields) {
				struct wcard_match *m = &rule.f[rf];
				__u64 max = (__u64)wt_ones(l->fields[rf].width),
				      span = m->hi - m->lo;

				if (kind == 1 || span >= max / 2 || m->hi > max - span - 1) {
					m->lo = m->hi = wt_rnd(&r) & max & 0xffff;
				} else {
					m->lo = m->hi + 1;
					m->hi = m->lo + span;
				}
			}
			rule.prio = wt_below(&r, n / 8 + 2);
		} else {
			wt_rule_random(&r, l, pool, n / 8 + 2, &rule);
		}
		for (f = 0; specific && f < l->nfields; f++) {
			unsigned int bits = l->fields[f].width * 8;

			if (l->fields[f].type == WC_FIELD_PREFIX && rule.f[f].plen < bits / 2)
				wcard_rule_set_prefix(l, &rule, f,
						      wt_pool_value(&r, l->fields[f].width, pool),
						      bits / 2 + rule.f[f].plen);
		}
		rule.id = i;
		cr_assert_eq(wcard_ruleset_add(rs, &rule), 0, "case make_set: add");
	}
}

static void layout_custom(struct wcard_layout *l)
{
	static const struct wcard_field fields[] = {
		{ WC_FIELD_EXACT, 2, "vlan" }, { WC_FIELD_PREFIX, 8, "p8" },
		{ WC_FIELD_RANGE, 4, "r4" },   { WC_FIELD_MASK, 16, "m16" },
		{ WC_FIELD_PREFIX, 1, "p1" },  { WC_FIELD_PREFIX, 2, "p2" },
	};
	char err[256] = "";

	cr_assert_eq(wcard_layout_init(l, "tm-custom", fields, 6, err, sizeof(err)), 0,
		     "case custom layout: %s", err);
}

/* ---- tuples and masks --------------------------------------------------------------- */

Test(tm, tuple_and_mask)
{
	const struct wcard_layout *v4 = wcard_layout_ipv4(), *v6 = wcard_layout_ipv6();
	struct wcard_layout cl;
	struct wcard_rule r;
	__u8 len[WC_MAX_FIELDS];
	struct wc_key m;

	/* IPv4: 10.1/16 -> 1.2.3.4/32, any sport, dport 80, tcp, flags ternary. */
	wcard_rule_any(v4, &r);
	wcard_rule_set_prefix(v4, &r, WC_F_SRC, 0x0a010000, 16);
	wcard_rule_set_prefix(v4, &r, WC_F_DST, 0x01020304, 32);
	wcard_rule_set_range(v4, &r, WC_F_DPORT, 80, 80);
	wcard_rule_set_mask(v4, &r, WC_F_PROTO, 6, 0xff);
	wcard_rule_set_mask(v4, &r, WC_F_FLAGS, 0x12, 0x12);
	tm_rule_tuple(v4, &r, len);
	cr_assert(len[0] == 16 && len[1] == 32 && len[2] == 0 && len[3] == 16 && len[4] == 8 &&
			  len[5] == 0 && len[6] == 0 && len[7] == 0,
		  "case ipv4 tuple: %u %u %u %u %u %u", len[0], len[1], len[2], len[3], len[4],
		  len[5]);
	tm_tuple_mask(v4, len, &m);
	cr_assert(m.w[0] == 0xffff0000 && m.w[1] == 0xffffffff && m.w[2] == 0 && m.w[3] == 0xffff &&
			  m.w[4] == 0xff && m.w[5] == 0 && m.w[6] == 0 && m.w[7] == 0,
		  "case ipv4 mask: %llx %llx %llx %llx %llx %llx", (unsigned long long)m.w[0],
		  (unsigned long long)m.w[1], (unsigned long long)m.w[2],
		  (unsigned long long)m.w[3], (unsigned long long)m.w[4],
		  (unsigned long long)m.w[5]);
	/* Wide range, odd prefix. */
	wcard_rule_set_prefix(v4, &r, WC_F_SRC, 0x0a010000, 17);
	wcard_rule_set_range(v4, &r, WC_F_SPORT, 1024, 65535);
	tm_rule_tuple(v4, &r, len);
	tm_tuple_mask(v4, len, &m);
	cr_assert(len[0] == 17 && len[2] == 0 && m.w[0] == 0xffff8000 && m.w[2] == 0,
		  "case ipv4 /17: len %u mask %llx", len[0], (unsigned long long)m.w[0]);

	/* IPv6: /72 spans both words, /0, /64 fills the high word only. */
	wcard_rule_any(v6, &r);
	wcard_rule_set_prefix(v6, &r, WC_F_SRC,
			      (wc_u128)0x20010db8abcd1234ULL << 64 | 0xff00000000000000ULL, 72);
	wcard_rule_set_prefix(v6, &r, WC_F_DST, 0, 0);
	wcard_rule_set_range(v6, &r, WC_F_SPORT, 53, 53);
	tm_rule_tuple(v6, &r, len);
	cr_assert(len[0] == 72 && len[1] == 0 && len[2] == 16 && len[3] == 0 && len[4] == 0,
		  "case ipv6 tuple: %u %u %u %u %u", len[0], len[1], len[2], len[3], len[4]);
	tm_tuple_mask(v6, len, &m);
	cr_assert(m.w[0] == ~0ULL && m.w[1] == 0xff00000000000000ULL && m.w[2] == 0 &&
			  m.w[3] == 0 && m.w[4] == 0xffff && m.w[5] == 0 && m.w[6] == 0,
		  "case ipv6 /72 mask: %llx %llx %llx %llx %llx", (unsigned long long)m.w[0],
		  (unsigned long long)m.w[1], (unsigned long long)m.w[2],
		  (unsigned long long)m.w[3], (unsigned long long)m.w[4]);
	len[0] = 64;
	len[1] = 128;
	len[2] = 0;
	tm_tuple_mask(v6, len, &m);
	cr_assert(
		m.w[0] == ~0ULL && m.w[1] == 0 && m.w[2] == ~0ULL && m.w[3] == ~0ULL && m.w[4] == 0,
		"case ipv6 /64 /128 mask: %llx %llx %llx %llx", (unsigned long long)m.w[0],
		(unsigned long long)m.w[1], (unsigned long long)m.w[2], (unsigned long long)m.w[3]);
	len[0] = 1;
	len[1] = 127;
	tm_tuple_mask(v6, len, &m);
	cr_assert(m.w[0] == 1ULL << 63 && m.w[1] == 0 && m.w[2] == ~0ULL && m.w[3] == ~1ULL,
		  "case ipv6 /1 /127 mask: %llx %llx %llx %llx", (unsigned long long)m.w[0],
		  (unsigned long long)m.w[1], (unsigned long long)m.w[2],
		  (unsigned long long)m.w[3]);

	/* Custom: exact/2, prefix/8 bytes, range/4, mask/16, prefix/1, prefix/2. */
	layout_custom(&cl);
	wcard_rule_any(&cl, &r);
	wcard_rule_set_exact(&cl, &r, 0, 100);
	wcard_rule_set_prefix(&cl, &r, 1, 0xabcd000000000000ULL, 20);
	wcard_rule_set_range(&cl, &r, 2, 7, 7);
	wcard_rule_set_mask(&cl, &r, 3, 5, wt_ones(16));
	wcard_rule_set_prefix(&cl, &r, 4, 0x80, 1);
	wcard_rule_set_prefix(&cl, &r, 5, 0x1230, 12);
	tm_rule_tuple(&cl, &r, len);
	cr_assert(len[0] == 16 && len[1] == 20 && len[2] == 32 && len[3] == 128 && len[4] == 1 &&
			  len[5] == 12,
		  "case custom tuple: %u %u %u %u %u %u", len[0], len[1], len[2], len[3], len[4],
		  len[5]);
	tm_tuple_mask(&cl, len, &m);
	cr_assert(
		m.w[0] == 0xffff && m.w[1] == 0xfffff00000000000ULL && m.w[2] == 0xffffffff &&
			m.w[3] == ~0ULL && m.w[4] == ~0ULL && m.w[5] == 0x80 && m.w[6] == 0xfff0 &&
			m.w[7] == 0,
		"case custom mask: %llx %llx %llx %llx %llx %llx %llx", (unsigned long long)m.w[0],
		(unsigned long long)m.w[1], (unsigned long long)m.w[2], (unsigned long long)m.w[3],
		(unsigned long long)m.w[4], (unsigned long long)m.w[5], (unsigned long long)m.w[6]);
	/* Partial ternary mask and a wildcard exact: not hashed. */
	wcard_rule_any(&cl, &r);
	wcard_rule_set_mask(&cl, &r, 3, 5, 0xff);
	tm_rule_tuple(&cl, &r, len);
	cr_assert(len[0] == 0 && len[2] == 0 && len[3] == 0, "case custom wildcards: %u %u %u",
		  len[0], len[2], len[3]);
}

/* ---- relaxation --------------------------------------------------------------------- */

/* Tuple of the table a lone rule creates. */
static void lone_table(const struct wcard_layout *l, const struct wcard_rule *r, __u8 *len,
		       const char *name)
{
	struct tm_model tm;
	int ret;

	cr_assert_eq(tm_init(&tm, l, 0, NULL), 0, "case %s: init", name);
	ret = tm_insert(&tm, 0, 0, r, NULL);
	cr_assert_eq(ret, 0, "case %s: insert %d", name, ret);
	cr_assert_eq(tm.ntables, 1, "case %s: %u tables", name, tm.ntables);
	memcpy(len, tm.tables[tm.rules[0].table].len, WC_MAX_FIELDS);
	tm_free(&tm);
}

static void relax_v4(unsigned int sl, unsigned int dl, const __u8 *want, const char *name)
{
	const struct wcard_layout *l = wcard_layout_ipv4();
	struct wcard_rule r;
	__u8 len[WC_MAX_FIELDS];
	unsigned int f;

	wcard_rule_any(l, &r);
	wcard_rule_set_prefix(l, &r, WC_F_SRC, 0xc0a80101 & ~(sl < 32 ? 0xffffffffu >> sl : 0), sl);
	wcard_rule_set_prefix(l, &r, WC_F_DST, 0x0a000001 & ~(dl < 32 ? 0xffffffffu >> dl : 0), dl);
	wcard_rule_set_range(l, &r, WC_F_SPORT, 1000, 1000);
	wcard_rule_set_range(l, &r, WC_F_DPORT, 80, 80);
	wcard_rule_set_mask(l, &r, WC_F_PROTO, 6, 0xff);
	lone_table(l, &r, len, name);
	for (f = 0; f < 6; f++)
		cr_assert_eq(len[f], want[f], "case %s: field %u len %u, want %u", name, f, len[f],
			     want[f]);
}

static void relax_v6(unsigned int sl, unsigned int dl, unsigned int want_s, unsigned int want_d,
		     const char *name)
{
	const struct wcard_layout *l = wcard_layout_ipv6();
	wc_u128 a = ((wc_u128)0x20010db800000000ULL << 64) | 0x1234, ones = ~(wc_u128)0;
	struct wcard_rule r;
	__u8 len[WC_MAX_FIELDS];

	wcard_rule_any(l, &r);
	wcard_rule_set_prefix(l, &r, WC_F_SRC, sl ? a & ~(sl < 128 ? ones >> sl : 0) : 0, sl);
	wcard_rule_set_prefix(l, &r, WC_F_DST, dl ? a & ~(dl < 128 ? ones >> dl : 0) : 0, dl);
	wcard_rule_set_range(l, &r, WC_F_SPORT, 1000, 1000);
	wcard_rule_set_range(l, &r, WC_F_DPORT, 80, 80);
	lone_table(l, &r, len, name);
	cr_assert(len[0] == want_s && len[1] == want_d, "case %s: %u/%u, want %u/%u", name, len[0],
		  len[1], want_s, want_d);
	/* The source port is never in a new table; dport goes with dst dropped (> 16 bits). */
	cr_assert_eq(len[2], 0, "case %s: sport %u", name, len[2]);
	cr_assert_eq(len[3], (int)sl - (int)dl > 16 ? 0 : 16, "case %s: dport %u", name, len[3]);
}

Test(tm, relaxation)
{
	struct wcard_layout cl;
	struct wcard_rule r;
	__u8 len[WC_MAX_FIELDS];

	relax_v4(32, 32, (__u8[]){ 28, 28, 0, 16, 8, 0 }, "v4 32/32");
	relax_v4(32, 8, (__u8[]){ 28, 0, 0, 0, 8, 0 }, "v4 32/8 drops dst and dport");
	relax_v4(8, 32, (__u8[]){ 0, 28, 0, 16, 8, 0 }, "v4 8/32 drops src");
	relax_v4(24, 20, (__u8[]){ 20, 16, 0, 16, 8, 0 }, "v4 24/20: 22/18, rounded");
	relax_v4(25, 20, (__u8[]){ 20, 0, 0, 0, 8, 0 }, "v4 25/20 differ by 5: dst dropped");
	relax_v4(17, 9, (__u8[]){ 12, 0, 0, 0, 8, 0 }, "v4 17/9");
	relax_v4(12, 9, (__u8[]){ 8, 8, 0, 16, 8, 0 }, "v4 12/9");
	relax_v4(8, 8, (__u8[]){ 0, 0, 0, 16, 8, 0 }, "v4 8/8: <= 8 drops to 0");
	relax_v4(9, 8, (__u8[]){ 8, 0, 0, 16, 8, 0 }, "v4 9/8: 9 -> 8, 8 -> 0");
	relax_v4(0, 0, (__u8[]){ 0, 0, 0, 16, 8, 0 }, "v4 0/0");
	relax_v4(31, 30, (__u8[]){ 28, 24, 0, 16, 8, 0 }, "v4 31/30");

	relax_v6(128, 128, 112, 112, "v6 128/128");
	relax_v6(100, 90, 88, 80, "v6 100/90");
	relax_v6(128, 64, 112, 0, "v6 128/64 drops dst");
	relax_v6(48, 64, 44, 60, "v6 48/64 differ by 16: kept");
	relax_v6(47, 64, 0, 60, "v6 47/64 differ by 17: src dropped");
	relax_v6(32, 32, 0, 0, "v6 32/32: <= 32 drops to 0");
	relax_v6(33, 40, 28, 36, "v6 33/40");
	relax_v6(0, 0, 0, 0, "v6 0/0");

	/* Custom: every prefix is cut, scaled to its width, and none dropped. */
	layout_custom(&cl);
	wcard_rule_any(&cl, &r);
	wcard_rule_set_exact(&cl, &r, 0, 7);
	wcard_rule_set_prefix(&cl, &r, 1, 0x1122334455667788ULL, 64);
	wcard_rule_set_range(&cl, &r, 2, 5, 9);
	wcard_rule_set_prefix(&cl, &r, 4, 0xff, 8);
	wcard_rule_set_prefix(&cl, &r, 5, 0xff00, 9);
	lone_table(&cl, &r, len, "custom");
	cr_assert(len[0] == 16 && len[1] == 56 && len[2] == 0 && len[3] == 0 && len[4] == 7 &&
			  len[5] == 8,
		  "case custom relax: %u %u %u %u %u %u", len[0], len[1], len[2], len[3], len[4],
		  len[5]);
	wcard_rule_set_prefix(&cl, &r, 1, 0x1122334455667788ULL, 40);
	wcard_rule_set_prefix(&cl, &r, 4, 0, 0);
	wcard_rule_set_prefix(&cl, &r, 5, 0xfff0, 13);
	lone_table(&cl, &r, len, "custom 2");
	cr_assert(len[1] == 36 && len[4] == 0 && len[5] == 12, "case custom relax 2: %u %u %u",
		  len[1], len[4], len[5]);
}

/* ---- differential ------------------------------------------------------------------- */

static void diff_set(const struct wcard_layout *l, unsigned int n, unsigned int pool,
		     unsigned int collide, bool specific, __u64 seed, const char *name)
{
	struct wcard_ruleset rs;
	struct wt_rng r = { .s = seed * 31 + 7 };
	struct tm_model tm;
	bool *live;
	double probed;
	size_t i;
	int ret;

	make_set(l, n, seed, pool, specific, &rs);
	live = calloc(rs.n + 1, sizeof(*live));
	cr_assert_not_null(live, "case %s: memory", name);
	cr_assert_eq(tm_init(&tm, l, collide, NULL), 0, "case %s: init", name);
	tables_ran_out = false;
	for (i = 0; i < rs.n; i++) {
		ret = tm_insert(&tm, (__u32)i, rank_of(&rs, i), &rs.rules[i], NULL);
		cr_assert_eq(ret, 0, "case %s: insert %zu: %d", name, i, ret);
		live[i] = true;
		/* A split that needed a 257th table was skipped (the model counts them). */
		tables_ran_out |= tm.ntables >= WC_TM_MAX_TABLES - 8 || tm.splits_skipped;
		check_inv(&tm, &rs, live, name);
	}
	cr_assert_eq(tm_insert(&tm, 0, 0, &rs.rules[0], NULL), -EEXIST, "case %s: duplicate id",
		     name);
	cr_assert_eq(tm_delete(&tm, (__u32)rs.n + 5, NULL), -ENOENT, "case %s: delete unknown",
		     name);
	probed = diff_keys(&tm, &rs, live, &r, pool, 20000, name);
	cr_log_info("tm %s: %zu rules, %u tables, %.2f probed on average", name, rs.n, tm.ntables,
		    probed);
	/* Merged, as a bulk build leaves it: still whole, and nothing left to merge. */
	ret = tm_merge(&tm, NULL);
	cr_assert_geq(ret, 0, "case %s: merge: %d", name, ret);
	check_inv(&tm, &rs, live, name);
	check_merged(&tm, &rs, live, name);
	probed = diff_keys(&tm, &rs, live, &r, pool, 20000, name);
	cr_log_info("tm %s: merged %d, %u tables, %.2f probed on average", name, ret, tm.ntables,
		    probed);
	tm_free(&tm);
	wcard_ruleset_free(&rs);
	free(live);
}

Test(tm, differential_ipv4)
{
	diff_set(wcard_layout_ipv4(), 1, 4, 0, false, 1, "ipv4 1 rule");
	diff_set(wcard_layout_ipv4(), 600, 6, 0, false, 2, "ipv4 600 rules c=10");
	diff_set(wcard_layout_ipv4(), 600, 6, 2, false, 3, "ipv4 600 rules c=2");
	diff_set(wcard_layout_ipv4(), 600, 6, 0, true, 4, "ipv4 600 specific rules c=10");
	diff_set(wcard_layout_ipv4(), 600, 6, 2, true, 5, "ipv4 600 specific rules c=2");
	diff_set(wcard_layout_ipv4(), 1500, 40, 0, false, 6, "ipv4 1500 rules pool 40");
}

Test(tm, differential_ipv6)
{
	diff_set(wcard_layout_ipv6(), 600, 6, 0, false, 7, "ipv6 600 rules c=10");
	diff_set(wcard_layout_ipv6(), 600, 6, 1, false, 8, "ipv6 600 rules c=1");
	diff_set(wcard_layout_ipv6(), 600, 6, 2, true, 9, "ipv6 600 specific rules c=2");
}

Test(tm, differential_custom)
{
	struct wcard_layout cl;

	layout_custom(&cl);
	diff_set(&cl, 600, 6, 0, false, 10, "custom 600 rules c=10");
	diff_set(&cl, 600, 6, 2, false, 11, "custom 600 rules c=2");
	diff_set(&cl, 600, 6, 2, true, 12, "custom 600 specific rules c=2");
}

/* ---- splits ------------------------------------------------------------------------- */

Test(tm, splits_happen)
{
	const struct wcard_layout *l = wcard_layout_ipv4();
	struct wt_rng r = { .s = 99 };
	struct wcard_ruleset rs;
	struct tm_model tm;
	bool live[100];
	unsigned int i, t, maxb = 0;

	wcard_ruleset_init(&rs, l);
	for (i = 0; i < 100; i++) {
		struct wcard_rule rule;

		wcard_rule_any(l, &rule);
		wcard_rule_set_prefix(l, &rule, WC_F_SRC, 0x0a140000, 16);
		/* 192.168.{0..3}.{0..24}: /28 blocks of up to 16 under the first table. */
		wcard_rule_set_prefix(l, &rule, WC_F_DST, 0xc0a80000 + ((i % 4) << 8) + i / 4, 32);
		rule.prio = i;
		rule.id = i;
		wcard_ruleset_add(&rs, &rule);
	}
	cr_assert_eq(tm_init(&tm, l, 0, NULL), 0, "case splits: init");
	for (i = 0; i < 100; i++) {
		cr_assert_eq(tm_insert(&tm, i, rank_of(&rs, i), &rs.rules[i], NULL), 0,
			     "case splits: insert %u", i);
		live[i] = true;
		check_inv(&tm, &rs, live, "splits");
	}
	for (t = 0; t < WC_TM_MAX_TABLES; t++)
		if (tm.tables[t].used && tm.tables[t].max_bucket > maxb)
			maxb = tm.tables[t].max_bucket;
	/*
	 * Every rule fits each split tuple, so the whole table moves each time:
	 * what is left is tables narrower than the first one's /12 x /28.
	 */
	for (t = 0; t < WC_TM_MAX_TABLES; t++)
		if (tm.tables[t].used)
			cr_assert(tm.tables[t].len[WC_F_SRC] > 12 ||
					  tm.tables[t].len[WC_F_DST] > 28,
				  "case splits: table %u still has the first tuple", t);
	cr_assert_leq(maxb, tm.collide, "case splits: max bucket %u > %u", maxb, tm.collide);
	diff_keys(&tm, &rs, live, &r, 4, 3000, "splits");
	cr_log_info("tm splits: 100 rules, %u tables", tm.ntables);
	tm_free(&tm);
	wcard_ruleset_free(&rs);
}

Test(tm, unsplittable)
{
	const struct wcard_layout *l = wcard_layout_ipv4();
	struct wt_rng r = { .s = 98 };
	struct wcard_ruleset rs;
	struct tm_model tm;
	bool live[50];
	unsigned int i, t;

	wcard_ruleset_init(&rs, l);
	for (i = 0; i < 50; i++) {
		struct wcard_rule rule;

		wcard_rule_any(l, &rule);
		wcard_rule_set_prefix(l, &rule, WC_F_SRC, 0x0a140000, 16);
		wcard_rule_set_prefix(l, &rule, WC_F_DST, 0xc0a80100, 24);
		wcard_rule_set_range(l, &rule, WC_F_SPORT, i * 1000, i * 1000 + 999);
		wcard_rule_set_range(l, &rule, WC_F_DPORT, 443, 443);
		wcard_rule_set_mask(l, &rule, WC_F_PROTO, 6, 0xff);
		rule.prio = 50 - i;
		rule.id = i;
		wcard_ruleset_add(&rs, &rule);
	}
	cr_assert_eq(tm_init(&tm, l, 0, NULL), 0, "case unsplittable: init");
	for (i = 0; i < 50; i++) {
		cr_assert_eq(tm_insert(&tm, i, rank_of(&rs, i), &rs.rules[i], NULL), 0,
			     "case unsplittable: insert %u", i);
		live[i] = true;
		check_inv(&tm, &rs, live, "unsplittable");
	}
	cr_assert_eq(tm.nrules, 50, "case unsplittable: %zu rules", tm.nrules);
	cr_assert_eq(tm.ntables, 1, "case unsplittable: %u tables", tm.ntables);
	t = tm.rules[0].table;
	cr_assert_eq(tm.tables[t].max_bucket, 50, "case unsplittable: max bucket %u",
		     tm.tables[t].max_bucket);
	cr_assert_eq(tm.tables[t].best, rank_of(&rs, 49), "case unsplittable: best");
	diff_keys(&tm, &rs, live, &r, 4, 3000, "unsplittable");
	tm_free(&tm);
	wcard_ruleset_free(&rs);
}

/* ---- insert/delete sequences and the event log --------------------------------------- */

/* Shadow of what a publisher has built from the events so far. */
struct shadow {
	size_t n;
	bool used[WC_TM_MAX_TABLES];
	__u64 best[WC_TM_MAX_TABLES]; /* as published by TABLE_BEST */
	__u32 cnt[WC_TM_MAX_TABLES];
	bool *in;     /* in[t * n + rule] */
	__u32 *where; /* tables holding the rule */
	unsigned long moves;
};

/*
 * Replay one operation's events. A RULE_DEL of a rule still live after the
 * operation is a move: the rule must already be in its new table.
 */
static void shadow_replay(struct shadow *s, const struct tm_model *tm, const struct wcard_ruleset *rs,
			  const struct tm_log *log, const char *name)
{
	size_t i, j;

	for (i = 0; i < log->n; i++) {
		const struct tm_event *ev = &log->ev[i];
		__u32 t = ev->table, r = ev->rule;
		__u64 mn = WC_RANK_NONE;

		cr_assert_lt(t, WC_TM_MAX_TABLES, "case %s: event %zu table %u", name, i, t);
		switch (ev->op) {
		case TM_TABLE_NEW:
			cr_assert(!s->used[t], "case %s: TABLE_NEW %u: exists", name, t);
			s->used[t] = true;
			s->best[t] = WC_RANK_NONE;
			break;
		case TM_RULE_ADD:
			cr_assert(s->used[t], "case %s: RULE_ADD %u to unannounced table %u", name,
				  r, t);
			cr_assert(!s->in[t * s->n + r], "case %s: RULE_ADD %u twice to %u", name, r,
				  t);
			cr_assert_eq(ev->rank, rank_of(rs, r), "case %s: RULE_ADD %u rank", name,
				     r);
			cr_assert_geq(ev->rank, s->best[t],
				      "case %s: RULE_ADD %u to %u before its TABLE_BEST", name, r,
				      t);
			s->in[t * s->n + r] = true;
			s->cnt[t]++;
			s->where[r]++;
			break;
		case TM_RULE_DEL:
			cr_assert(s->used[t] && s->in[t * s->n + r],
				  "case %s: RULE_DEL %u from %u: not there", name, r, t);
			s->in[t * s->n + r] = false;
			s->cnt[t]--;
			s->where[r]--;
			if (r < tm->rules_cap && tm->rules[r].used) {
				cr_assert_gt(s->where[r], 0,
					     "case %s: rule %u moved DEL before ADD", name, r);
				s->moves++;
			}
			break;
		case TM_TABLE_BEST:
			cr_assert(s->used[t], "case %s: TABLE_BEST of unknown %u", name, t);
			for (j = 0; j < s->n; j++)
				if (s->in[t * s->n + j] && rank_of(rs, j) < mn)
					mn = rank_of(rs, j);
			cr_assert_leq(ev->rank, mn,
				      "case %s: TABLE_BEST %u to %llx hides a rule of rank %llx",
				      name, t, (unsigned long long)ev->rank,
				      (unsigned long long)mn);
			s->best[t] = ev->rank;
			break;
		case TM_TABLE_DEL:
			cr_assert(s->used[t] && !s->cnt[t], "case %s: TABLE_DEL %u holds %u rules",
				  name, t, s->cnt[t]);
			s->used[t] = false;
			break;
		default:
			cr_assert_fail("case %s: event %zu op %d", name, i, ev->op);
		}
	}
	/* After the operation the shadow is the model. */
	for (j = 0; j < WC_TM_MAX_TABLES; j++) {
		cr_assert_eq(s->used[j], tm->tables[j].used, "case %s: table %zu used", name, j);
		if (!s->used[j])
			continue;
		cr_assert_eq(s->cnt[j], tm->tables[j].nrules, "case %s: table %zu count", name, j);
		cr_assert_eq(s->best[j], tm->tables[j].best, "case %s: table %zu best", name, j);
	}
	for (j = 0; j < s->n; j++) {
		bool u = j < tm->rules_cap && tm->rules[j].used;

		cr_assert_eq(s->where[j], u ? 1u : 0u, "case %s: rule %zu in %u tables", name, j,
			     s->where[j]);
		if (u)
			cr_assert(s->in[tm->rules[j].table * s->n + j],
				  "case %s: rule %zu not in table %u", name, j, tm->rules[j].table);
	}
}

/* Half the set, then nops random inserts/deletes; checks after every operation. */
static void sequence(const struct wcard_layout *l, unsigned int n, unsigned int collide,
		     bool specific, unsigned int nops, __u64 seed, bool replay, const char *name)
{
	struct wt_rng r = { .s = seed ^ 0x5555 };
	struct tm_log log = { 0 };
	struct shadow s = { 0 };
	struct wcard_ruleset rs;
	struct tm_model tm;
	unsigned int i, pool = 6;
	bool *live;
	int ret;

	make_set(l, n, seed, pool, specific, &rs);
	live = calloc(n, sizeof(*live));
	s.n = n;
	s.in = calloc((size_t)WC_TM_MAX_TABLES * n, sizeof(*s.in));
	s.where = calloc(n, sizeof(*s.where));
	cr_assert(live && s.in && s.where, "case %s: memory", name);
	cr_assert_eq(tm_init(&tm, l, collide, NULL), 0, "case %s: init", name);
	tables_ran_out = false;
	for (i = 0; i < n + nops; i++) {
		unsigned int id = i < n ? i : wt_below(&r, n);
		bool ins;

		if (i == n) {
			/* The first half merged, as a bulk load does, then changed online. */
			tm_log_reset(&log);
			ret = tm_merge(&tm, &log);
			cr_assert_geq(ret, 0, "case %s: merge: %d", name, ret);
			check_inv(&tm, &rs, live, name);
			check_merged(&tm, &rs, live, name);
			if (replay)
				shadow_replay(&s, &tm, &rs, &log, name);
		}
		if (i < n && wt_below(&r, 2))
			continue;
		ins = !live[id];
		tm_log_reset(&log);
		if (ins) {
			ret = tm_insert(&tm, id, rank_of(&rs, id), &rs.rules[id], &log);
			cr_assert_eq(ret, 0, "case %s: op %u insert %u: %d", name, i, id, ret);
		} else {
			ret = tm_delete(&tm, id, &log);
			cr_assert_eq(ret, 0, "case %s: op %u delete %u: %d", name, i, id, ret);
			cr_assert_eq(tm_delete(&tm, id, &log), -ENOENT,
				     "case %s: op %u delete %u twice", name, i, id);
		}
		live[id] = ins;
		/* A split that needed a 257th table was skipped (the model counts them). */
		tables_ran_out |= tm.ntables >= WC_TM_MAX_TABLES - 8 || tm.splits_skipped;
		check_inv(&tm, &rs, live, name);
		if (replay)
			shadow_replay(&s, &tm, &rs, &log, name);
	}
	diff_keys(&tm, &rs, live, &r, pool, 10000, name);
	if (replay) {
		if (specific)
			cr_assert_gt(s.moves, 0, "case %s: no split moved a rule", name);
		cr_log_info("tm %s: %lu moves replayed, %u tables at the end", name, s.moves,
			    tm.ntables);
	}
	/* Delete everything: no table is left. */
	for (i = 0; i < n; i++) {
		if (!live[i])
			continue;
		tm_log_reset(&log);
		cr_assert_eq(tm_delete(&tm, i, &log), 0, "case %s: final delete %u", name, i);
		live[i] = false;
		if (replay)
			shadow_replay(&s, &tm, &rs, &log, name);
	}
	cr_assert(tm.ntables == 0 && tm.nrules == 0, "case %s: %u tables left", name, tm.ntables);
	check_inv(&tm, &rs, live, name);
	tm_log_free(&log);
	tm_free(&tm);
	wcard_ruleset_free(&rs);
	free(live);
	free(s.in);
	free(s.where);
}

/*
 * Five /24 sources make a table of their own (src /20 after relaxing), then a
 * /8 source comes, which fits no table: a catch-all table (a source this
 * short is not worth a length). The five fit the catch-all's one bucket
 * (6 <= 10 rules): merged, one table is left, every event in a safe order.
 */
Test(tm, merge_folds_tables)
{
	const struct wcard_layout *l = wcard_layout_ipv4();
	struct wt_rng r = { .s = 97 };
	struct tm_log log = { 0 };
	struct shadow s = { 0 };
	struct wcard_ruleset rs;
	struct tm_model tm;
	bool live[6];
	unsigned int i, t;
	int ret;

	wcard_ruleset_init(&rs, l);
	for (i = 0; i < 6; i++) {
		struct wcard_rule rule;

		wcard_rule_any(l, &rule);
		if (i < 5)
			wcard_rule_set_prefix(l, &rule, WC_F_SRC, 0x0a010000 + (i << 8), 24);
		else
			wcard_rule_set_prefix(l, &rule, WC_F_SRC, 0x0a000000, 8);
		rule.prio = i;
		rule.id = i;
		wcard_ruleset_add(&rs, &rule);
	}
	s.n = 6;
	s.in = calloc((size_t)WC_TM_MAX_TABLES * 6, sizeof(*s.in));
	s.where = calloc(6, sizeof(*s.where));
	cr_assert(s.in && s.where, "case merge: memory");
	cr_assert_eq(tm_init(&tm, l, 0, NULL), 0, "case merge: init");
	for (i = 0; i < 6; i++) {
		tm_log_reset(&log);
		cr_assert_eq(tm_insert(&tm, i, rank_of(&rs, i), &rs.rules[i], &log), 0,
			     "case merge: insert %u", i);
		live[i] = true;
		shadow_replay(&s, &tm, &rs, &log, "merge");
	}
	cr_assert_eq(tm.ntables, 2, "case merge: %u tables before the merge, want 2", tm.ntables);
	tm_log_reset(&log);
	ret = tm_merge(&tm, &log);
	cr_assert_eq(ret, 1, "case merge: merged %d tables, want 1", ret);
	shadow_replay(&s, &tm, &rs, &log, "merge");
	cr_assert_eq(tm.ntables, 1, "case merge: %u tables after the merge, want 1", tm.ntables);
	for (t = 0; t < WC_TM_MAX_TABLES; t++)
		if (tm.tables[t].used)
			cr_assert(tm.tables[t].len[WC_F_SRC] == 0 && tm.tables[t].max_bucket == 6,
				  "case merge: table %u: src /%u, largest bucket %u", t,
				  tm.tables[t].len[WC_F_SRC], tm.tables[t].max_bucket);
	check_inv(&tm, &rs, live, "merge");
	check_merged(&tm, &rs, live, "merge");
	diff_keys(&tm, &rs, live, &r, 4, 2000, "merge");
	tm_log_free(&log);
	tm_free(&tm);
	wcard_ruleset_free(&rs);
	free(s.in);
	free(s.where);
}

Test(tm, random_sequences)
{
	struct wcard_layout cl;

	layout_custom(&cl);
	sequence(wcard_layout_ipv4(), 400, 0, false, 5000, 11, false, "ipv4 sequence c=10");
	sequence(wcard_layout_ipv4(), 400, 2, true, 5000, 12, false, "ipv4 specific sequence c=2");
	sequence(wcard_layout_ipv6(), 300, 3, false, 5000, 13, false, "ipv6 sequence c=3");
	sequence(wcard_layout_ipv6(), 300, 2, true, 5000, 14, false, "ipv6 specific sequence c=2");
	sequence(&cl, 300, 2, true, 5000, 15, false, "custom specific sequence c=2");
}

Test(tm, event_log_replay)
{
	struct wcard_layout cl;

	layout_custom(&cl);
	sequence(wcard_layout_ipv4(), 300, 2, true, 3000, 21, true, "ipv4 replay c=2");
	sequence(wcard_layout_ipv4(), 300, 1, false, 3000, 22, true, "ipv4 /0 replay c=1");
	sequence(wcard_layout_ipv6(), 300, 3, true, 3000, 23, true, "ipv6 replay c=3");
	sequence(&cl, 200, 1, true, 3000, 24, true, "custom replay c=1");
}

/* ---- static Tuple Merge ------------------------------------------------------------- */

Test(tm, static_pool)
{
	static const unsigned int lens[] = { 32, 24, 16, 8, 0 };
	const struct wcard_layout *l = wcard_layout_ipv4();
	__u8 tuples[25][WC_MAX_FIELDS] = { { 0 } }, only[1][WC_MAX_FIELDS] = { { 32, 32 } };
	struct tm_pool pool = { .n = 25, .len = tuples }, tight = { .n = 1, .len = only };
	struct wt_rng r = { .s = 77 };
	struct tm_log log = { 0 };
	struct wcard_ruleset rs;
	struct wcard_rule rule;
	struct tm_model tm;
	bool *live;
	unsigned int i, j, n = 800;
	int ret;

	/* Longest first, so rules spread over the pool. */
	for (i = 0; i < 5; i++)
		for (j = 0; j < 5; j++) {
			tuples[i * 5 + j][WC_F_SRC] = lens[i];
			tuples[i * 5 + j][WC_F_DST] = lens[j];
		}
	make_set(l, n, 31, 8, false, &rs);
	live = calloc(n, sizeof(*live));
	cr_assert_eq(tm_init(&tm, l, 0, &pool), 0, "case static: init");
	cr_assert(tm.is_static, "case static: not static");
	for (i = 0; i < n; i++) {
		ret = tm_insert(&tm, i, rank_of(&rs, i), &rs.rules[i], &log);
		cr_assert_eq(ret, 0, "case static: insert %u: %d", i, ret);
		live[i] = true;
		check_inv(&tm, &rs, live, "static");
	}
	cr_assert_gt(tm.ntables, 3, "case static: only %u tables", tm.ntables);
	cr_assert_leq(tm.ntables, 25, "case static: %u tables", tm.ntables);
	diff_keys(&tm, &rs, live, &r, 8, 20000, "static");
	/* Deletes drop empty pool tables too. */
	for (i = 0; i < n; i += 2) {
		cr_assert_eq(tm_delete(&tm, i, &log), 0, "case static: delete %u", i);
		live[i] = false;
		check_inv(&tm, &rs, live, "static after deletes");
	}
	diff_keys(&tm, &rs, live, &r, 8, 5000, "static after deletes");
	tm_free(&tm);

	/* A pool nothing but /32 -> /32 fits. */
	cr_assert_eq(tm_init(&tm, l, 0, &tight), 0, "case static tight: init");
	wcard_rule_any(l, &rule);
	wcard_rule_set_prefix(l, &rule, WC_F_SRC, 0x0a000000, 8);
	wcard_rule_set_prefix(l, &rule, WC_F_DST, 0x0a000001, 32);
	tm_log_reset(&log);
	ret = tm_insert(&tm, 3, 3, &rule, &log);
	cr_assert_eq(ret, -ENOENT, "case static tight: insert /8: %d", ret);
	cr_assert(tm.ntables == 0 && tm.nrules == 0 && log.n == 0,
		  "case static tight: something changed (%u tables, %zu events)", tm.ntables,
		  log.n);
	wcard_rule_set_prefix(l, &rule, WC_F_SRC, 0x0a000001, 32);
	cr_assert_eq(tm_insert(&tm, 3, 3, &rule, &log), 0, "case static tight: insert /32");
	cr_assert(tm.ntables == 1 && log.n == 3 && log.ev[0].op == TM_TABLE_NEW &&
			  log.ev[1].op == TM_TABLE_BEST && log.ev[2].op == TM_RULE_ADD,
		  "case static tight: events");
	tm_free(&tm);
	tm_log_free(&log);
	wcard_ruleset_free(&rs);
	free(live);
}

/*
 * Out of tables: a new table beyond WC_TM_MAX_TABLES is -ENOSPC, nothing changed.
 * Eight byte-wide prefixes of lengths 0..7 summing to 28 form an antichain (no
 * tuple fits another) that relaxation leaves alone: every rule needs its own table.
 */
Test(tm, table_limit)
{
	/* 2-byte prefixes of 5..8 bits: relaxation leaves them as they are. */
	static const struct wcard_field fields[8] = {
		{ WC_FIELD_PREFIX, 2, "a" }, { WC_FIELD_PREFIX, 2, "b" },
		{ WC_FIELD_PREFIX, 2, "c" }, { WC_FIELD_PREFIX, 2, "d" },
		{ WC_FIELD_PREFIX, 2, "e" }, { WC_FIELD_PREFIX, 2, "f" },
		{ WC_FIELD_PREFIX, 2, "g" }, { WC_FIELD_PREFIX, 2, "h" },
	};
	struct tm_log log = { 0 };
	struct wcard_layout l;
	struct wcard_rule rule;
	struct tm_model tm;
	unsigned int v, id = 0, f;
	int ret = 0;

	cr_assert_eq(wcard_layout_init(&l, "bytes", fields, 8, NULL, 0), 0, "case limit: layout");
	cr_assert_eq(tm_init(&tm, &l, 0, NULL), 0, "case limit: init");
	/* Equal sums: no tuple fits another, so every rule needs a table of its own. */
	for (v = 0; v < (1u << 16) && ret == 0; v++) {
		unsigned int sum = 0;

		for (f = 0; f < 8; f++)
			sum += (v >> (2 * f)) & 3;
		if (sum != 12)
			continue;
		wcard_rule_any(&l, &rule);
		for (f = 0; f < 8; f++)
			wcard_rule_set_prefix(&l, &rule, f, 0x8000, 5 + ((v >> (2 * f)) & 3));
		tm_log_reset(&log);
		ret = tm_insert(&tm, id, id, &rule, &log);
		if (ret == 0)
			id++;
	}
	cr_assert_eq(ret, -ENOSPC, "case limit: %u tables, last insert %d", tm.ntables, ret);
	cr_assert_eq(tm.ntables, WC_TM_MAX_TABLES, "case limit: %u tables", tm.ntables);
	cr_assert(tm.nrules == id && id == WC_TM_MAX_TABLES && log.n == 0,
		  "case limit: %u rules, %zu events after -ENOSPC", id, log.n);
	tm_free(&tm);
	tm_log_free(&log);
}

/* ---- ClassBench ----------------------------------------------------------------------- */

static void classbench(const char *set, size_t ntrace, const char *name)
{
	const struct wcard_layout *l = wcard_layout_ipv4();
	char rp[512], tp[512], rel[128], err[256] = "";
	struct wcard_ruleset rs;
	struct wcard_trace tr = { 0 };
	unsigned long probes = 0;
	unsigned int maxb = 0;
	struct tm_model tm;
	double t0, t1;
	size_t i, step;
	int ret;

	snprintf(rel, sizeof(rel), "classbench/%s.rules.gz", set);
	if (!wt_data(rel, rp, sizeof(rp)))
		cr_skip_test("no ClassBench data (%s); set WCARD_DATA", rp);
	snprintf(rel, sizeof(rel), "classbench/%s.trace.gz", set);
	if (!wt_data(rel, tp, sizeof(tp)))
		cr_skip_test("no ClassBench trace (%s)", tp);
	wcard_ruleset_init(&rs, l);
	ret = wcard_rules_load(rp, WCARD_FMT_CLASSBENCH, l, &rs, err, sizeof(err));
	cr_assert_eq(ret, 0, "case %s: load rules: %s", name, err);
	ret = wcard_trace_load(tp, &tr, err, sizeof(err));
	cr_assert_eq(ret, 0, "case %s: load trace: %s", name, err);
	cr_assert_eq(tm_init(&tm, l, 0, NULL), 0, "case %s: init", name);
	t0 = now_s();
	for (i = 0; i < rs.n; i++) {
		ret = tm_insert(&tm, (__u32)i, rank_of(&rs, i), &rs.rules[i], NULL);
		cr_assert_eq(ret, 0, "case %s: insert %zu: %d", name, i, ret);
	}
	t1 = now_s();
	step = ntrace && tr.n > ntrace ? tr.n / ntrace : 1;
	for (i = 0; i < tr.n; i += step) {
		unsigned int probed;
		struct wc_key k;
		long want, got;

		wcard_key_from_tuple(&tr.t[i], &k);
		want = tk_ref_lookup(&rs, &k);
		got = tm_lookup(&tm, &k, &probed);
		cr_assert_eq(got, want, "case %s: trace line %zu: tm %ld, reference %ld", name,
			     i + 1, got, want);
		probes += probed;
	}
	for (i = 0; i < WC_TM_MAX_TABLES; i++)
		if (tm.tables[i].used && tm.tables[i].max_bucket > maxb)
			maxb = tm.tables[i].max_bucket;
	cr_log_info("tm %s: %zu rules inserted in %.1f ms, %u tables, largest bucket %u, "
		    "%.2f tables probed on average (%zu lookups)",
		    name, rs.n, (t1 - t0) * 1e3, tm.ntables, maxb,
		    (double)probes / ((tr.n + step - 1) / step), (tr.n + step - 1) / step);
	/*
	 * The insert time is logged, not asserted: speed is make bench's to measure
	 * (updates), and a guest under emulation is 6-10x slower; a blowup still
	 * trips the test's timeout.
	 */
	tm_free(&tm);
	wcard_trace_free(&tr);
	wcard_ruleset_free(&rs);
}

Test(tm, classbench_1k)
{
	classbench("acl1_1k", 0, "acl1_1k");
	classbench("fw1_1k", 0, "fw1_1k");
	classbench("ipc1_1k", 0, "ipc1_1k");
}

Test(tm, classbench_acl1_10k, .timeout = 120)
{
	classbench("acl1_10k", 0, "acl1_10k");
}

/* 100k rules: load time, and a sample of the trace (the reference is slow there). */
Test(tm, classbench_acl1_100k, .timeout = 120)
{
	classbench("acl1_100k", 2000, "acl1_100k");
}
