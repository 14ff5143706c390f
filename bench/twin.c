// SPDX-License-Identifier: MIT
/* twin.c: the BPF Tuple Merge lookup's C twin over the classifier's mmapped maps; bench only. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "testkit/testkit.h"
#include "wcard_bench.skel.h"
#include "harness.h"

/*
 * Why a twin: a BPF lookup's time mixes the algorithm's memory traffic with
 * what BPF adds (map bounds checks, helper-free but JITed code, calls through
 * global subprograms, the harness's bpf_loop). The twin walks the very same
 * maps, read-only through mmap, step for step as include/wcard/tm.bpf.h does
 * (order buffer, table, slots, chain), with the same bounds checks, compiled
 * by the C compiler at -O2. Twin against BPF is the BPF tax on this host;
 * twin against the native reference is the data layout and the builder.
 * It has no retry: the benchmark changes no rule while it times.
 */

struct twin_map {
	void *p;
	size_t len;
	__u32 max;   /* entries */
	__u32 vsize; /* bytes per entry, as laid out in the mmapped area */
};

struct twin {
	struct twin_map root, config, rules, tables, slots, order;
	bool v4; /* compact IPv4 records (WC_REC_IPV4) */
};

static int twin_map_open(struct bpf_map *m, struct twin_map *tm)
{
	long page = sysconf(_SC_PAGESIZE);

	/* An mmapable ARRAY lays its values out 8-byte aligned, from offset 0. */
	tm->vsize = (bpf_map__value_size(m) + 7) & ~7u;
	tm->max = bpf_map__max_entries(m);
	tm->len = ((size_t)tm->vsize * tm->max + page - 1) & ~(size_t)(page - 1);
	tm->p = mmap(NULL, tm->len, PROT_READ, MAP_SHARED, bpf_map__fd(m), 0);
	if (tm->p == MAP_FAILED) {
		tm->p = NULL;
		return -errno;
	}
	return 0;
}

static void twin_close(struct twin *t)
{
	struct twin_map *m[] = {
		&t->root, &t->config, &t->rules, &t->tables, &t->slots, &t->order
	};
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (m[i]->p)
			munmap(m[i]->p, m[i]->len);
}

static int twin_open(struct wcard_bench *skel, struct twin *t)
{
	int ret;

	memset(t, 0, sizeof(*t));
	ret = twin_map_open(skel->maps.wc_root, &t->root);
	if (!ret)
		ret = twin_map_open(skel->maps.wc_config, &t->config);
	if (!ret)
		ret = twin_map_open(skel->maps.wc_rules, &t->rules);
	if (!ret)
		ret = twin_map_open(skel->maps.wc_tm_tables, &t->tables);
	if (!ret)
		ret = twin_map_open(skel->maps.wc_tm_slots, &t->slots);
	if (!ret)
		ret = twin_map_open(skel->maps.wc_tm_order, &t->order);
	if (ret)
		twin_close(t);
	t->v4 = bpf_map__value_size(skel->maps.wc_rules) == sizeof(struct wc_rule4);
	return ret;
}

/* bpf_map_lookup_elem on an ARRAY: the entry, or NULL past the end. */
static inline const void *twin_elem(const struct twin_map *m, __u32 i)
{
	return i < m->max ? (const char *)m->p + (size_t)i * m->vsize : NULL;
}

static inline bool twin_match(const struct twin *t, const struct wc_rule_hdr *r,
			      const struct wc_key *k)
{
	const struct wc_rule *g = (const struct wc_rule *)r;
	int w;

	if (t->v4)
		return wc_rule4_match((const struct wc_rule4 *)r, k);
	for (w = 0; w < WC_KEY_WORDS; w++)
		if ((k->w[w] & g->w[w].mask) - g->w[w].lo > g->w[w].span)
			return false;
	return true;
}

/* A bucket's chain from head (wc_tm_chain_step and wc_tm_chain). */
static inline void twin_chain(const struct twin *t, const struct wc_key *k,
			      const struct wc_config *cfg, struct wc_result *res, __u32 head)
{
	__u32 max_rules = cfg->max_rules < WC_MAX_RULES ? cfg->max_rules : WC_MAX_RULES, i;

	for (i = 0; i < max_rules && head && head <= max_rules; i++) {
		__u32 idx = cfg->rules_base + head - 1;
		const struct wc_rule_hdr *r = twin_elem(&t->rules, idx);

		if (!r || r->rank >= res->rank)
			return;
		if (twin_match(t, r, k)) {
			res->rank = r->rank;
			res->value = r->value;
			res->id = r->id & ~WC_ID_FLAGS;
			res->slot = idx;
			return;
		}
		head = r->next;
	}
}

/* Table tb of the pass (wc_tm_probe): hash, then the slots up to the first empty one. */
static inline void twin_probe(const struct twin *t, const struct wc_key *k, __u32 tb,
			      const struct wc_config *cfg, struct wc_result *res)
{
	const struct wc_tm_table *table = twin_elem(&t->tables, tb);
	__u32 first, smask, pos, tag, p;
	__u64 h;

	if (!table)
		return;
	first = table->slots >> 8;
	smask = (1u << (table->slots & 31)) - 1;
	h = t->v4 ? wc_hash_masked_n(k, &table->mask, 6) : wc_hash_masked(k, &table->mask);
	tag = wc_hash_tag(h);
	pos = (__u32)h;
	for (p = 0; p < WC_TM_MAX_PROBE; p++) {
		const struct wc_tm_slot *s = twin_elem(&t->slots, first + ((pos + p) & smask));

		if (!s || !s->tag)
			return;
		if (s->tag == tag && s->head)
			twin_chain(t, k, cfg, res, s->head);
	}
}

/* One lookup (wc_config_get, wc_tm_pass): the live generation's part 0, or its IPv6 part. */
static __attribute__((noinline)) void twin_lookup(const struct twin *t, const struct wc_key *k,
						  unsigned int family, struct wc_result *res)
{
	const struct wc_root *root = twin_elem(&t->root, 0);
	const struct wc_config *cfg;
	const struct wc_tm_order_buf *ob;
	__u32 n, i, idx;

	res->rank = WC_RANK_NONE;
	res->id = WC_ID_NONE;
	res->tables = 0;
	if (!root)
		return;
	idx = root->gen & (WC_GENS - 1);
	cfg = twin_elem(&t->config, idx);
	if (cfg && family == 6 && cfg->parts == WC_MAX_PARTS)
		cfg = twin_elem(&t->config, WC_PART_V6 * WC_GENS + (cfg->self & (WC_GENS - 1)));
	if (!cfg)
		return;
	ob = twin_elem(&t->order, cfg->order_base + cfg->order);
	if (!ob)
		return;
	n = ob->n < WC_TM_MAX_TABLES ? ob->n : WC_TM_MAX_TABLES;
	for (i = 0; i < n; i++) {
		if (ob->e[i].best >= res->rank)
			break;
		res->tables++;
		twin_probe(t, k, cfg->tables_base + ob->e[i].table, cfg, res);
	}
}

/* Lookups of keys[0, n), the sums that keep them from being optimized away. */
static double twin_run(const struct twin *t, const struct wc_key *keys, __u32 n,
		       unsigned int family, __u64 *hits, __u64 *tables)
{
	struct wc_result res;
	double t0 = now_ns();
	__u32 i;

	*hits = *tables = 0;
	for (i = 0; i < n; i++) {
		twin_lookup(t, &keys[i], family, &res);
		*hits += res.id != WC_ID_NONE;
		*tables += res.tables;
	}
	return now_ns() - t0;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int bench_twin(struct wcard_bench *skel, const struct wcard_ruleset *rs, const struct wc_key *keys,
	       int runs, struct result *out)
{
	unsigned int fam = skel->bss->wc_bench_family;
	__u32 i, bad = 0, nv = rs->n > 100000 ? 512 : VERIFY;
	__u64 hits = 0, tables = 0;
	double r[16];
	struct twin t;
	int ret;

	if (!fam)
		fam = rs->layout->id == WC_LAYOUT_IPV6_5T ? 6 : 4;
	ret = twin_open(skel, &t);
	if (ret)
		return ret;
	/* Checked against the reference like every BPF row, before it is timed. */
	for (i = 0; i < nv; i++) {
		long want = tk_ref_lookup_family(rs, fam, &keys[i]);
		struct wc_result res;

		twin_lookup(&t, &keys[i], fam, &res);
		bad += want < 0 ? res.id != WC_ID_NONE : res.id != (__u32)want;
	}
	if (bad) {
		fprintf(stderr, "bench: the C twin disagrees with the reference on %u of %u keys\n",
			bad, nv);
		ret = -EIO;
		goto out;
	}
	if (runs > (int)(sizeof(r) / sizeof(r[0])))
		runs = sizeof(r) / sizeof(r[0]);
	for (i = 0; i < (__u32)runs; i++)
		r[i] = twin_run(&t, keys, NKEYS, fam, &hits, &tables) / NKEYS;
	qsort(r, runs, sizeof(r[0]), cmp_dbl);
	out->med = r[runs / 2];
	out->lo = r[0];
	out->hi = r[runs - 1];
	out->n = NKEYS;
	out->hits = (double)hits / NKEYS;
	out->tables = (double)tables / NKEYS;
out:
	twin_close(&t);
	return ret;
}
