// SPDX-License-Identifier: MIT
#define _GNU_SOURCE /* qsort_r */
/* dir24.c: builds the LPM tables of include/wcard/lpm.bpf.h (IPv4 DIR-24-8, IPv6 multibit) in their mmapped maps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "lpmidx.h"

#define LPM_GROUP (1U << 31)
#define WC_LPM6_ROOT_ENTRIES (1u << 16)

/* The three mmapped maps of one LPM structure: table, second level, values. */
struct lpm_maps {
	void *p[3];
	size_t len[3];
	__u32 max[3]; /* max_entries */
};

static int lpm_maps_open(struct bpf_object *obj, const char *const names[3], struct lpm_maps *m,
			 const char *what, char *err, size_t errlen)
{
	size_t page = sysconf(_SC_PAGESIZE);
	int i;

	for (i = 0; i < 3; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, names[i]);

		if (!map) {
			snprintf(err, errlen, "BPF object has no %s map %s (include <wcard/lpm.bpf.h>)",
				 what, names[i]);
			return -ENOENT;
		}
		m->max[i] = bpf_map__max_entries(map);
		m->len[i] = ((size_t)bpf_map__value_size(map) * m->max[i] + page - 1) & ~(page - 1);
		m->p[i] = mmap(NULL, m->len[i], PROT_READ | PROT_WRITE, MAP_SHARED,
			       bpf_map__fd(map), 0);
		if (m->p[i] == MAP_FAILED) {
			int e = errno;

			m->p[i] = NULL;
			snprintf(err, errlen, "mmap of %s: %s", names[i], strerror(e));
			return -e;
		}
	}
	return 0;
}

static void lpm_maps_close(struct lpm_maps *m)
{
	int i;

	for (i = 0; i < 3; i++)
		if (m->p[i])
			munmap(m->p[i], m->len[i]);
}

/*
 * One LPM structure: a top table (tbl24, or the IPv6 root), blocks of 256
 * entries below it (tbl8 groups, or trie nodes), and a value per route slot.
 */
struct lpm_tab {
	struct lpm_maps m;
	__u32 *top, *sub;
	__u64 *val;
	size_t toplen;
	__u32 max_sub, max_routes, sub_used;
	struct lpm_index ix; /* for online changes */
};

struct wcard_dir24 {
	struct lpm_tab t;
};

/* A multibit trie: IPv6, or IPv4 in the small-memory mode (addresses moved to the top bits). */
struct wcard_trie {
	struct lpm_tab t;
	unsigned int bits; /* 128 or 32 */
};

static int tab_prepare(struct bpf_object *obj, const char *sub, const char *val, __u32 max_routes,
		       __u32 max_sub)
{
	struct bpf_map *n = bpf_object__find_map_by_name(obj, sub);
	struct bpf_map *v = bpf_object__find_map_by_name(obj, val);

	if (!n || !v || !max_routes || !max_sub || max_sub > (1u << 23))
		return -EINVAL;
	/* Two 32-bit entries per 8-byte ARRAY element (lpm.bpf.h): 128 a block. */
	return bpf_map__set_max_entries(n, max_sub * 128) ?: bpf_map__set_max_entries(v, max_routes);
}

static void tab_close(struct lpm_tab *t)
{
	lpm_maps_close(&t->m);
	idx_free(&t->ix);
}

static int tab_open(struct bpf_object *obj, const char *const names[3], const char *what,
		    struct lpm_tab *t, char *err, size_t errlen)
{
	int ret;

	idx_init(&t->ix);
	ret = lpm_maps_open(obj, names, &t->m, what, err, errlen);
	if (ret)
		return ret;
	t->top = t->m.p[0];
	t->sub = t->m.p[1];
	t->val = t->m.p[2];
	t->toplen = t->m.len[0];
	t->max_sub = t->m.max[1] / 128;
	t->max_routes = t->m.max[2];
	return 0;
}

int wcard_dir24_prepare(struct bpf_object *obj, __u32 max_routes, __u32 max_groups)
{
	return tab_prepare(obj, "wc_lpm4_tbl8", "wc_lpm4_val", max_routes, max_groups);
}

void wcard_dir24_close(struct wcard_dir24 *d)
{
	if (!d)
		return;
	tab_close(&d->t);
	free(d);
}

int wcard_dir24_open(struct bpf_object *obj, struct wcard_dir24 **out, char *err, size_t errlen)
{
	static const char *const names[3] = { "wc_lpm4_tbl24", "wc_lpm4_tbl8", "wc_lpm4_val" };
	struct wcard_dir24 *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return -ENOMEM;
	ret = tab_open(obj, names, "DIR-24-8", &d->t, err, errlen);
	if (ret) {
		wcard_dir24_close(d);
		return ret;
	}
	*out = d;
	return 0;
}

static int by_len_line(const void *a, const void *b, void *arg)
{
	const struct wcard_route *r = arg, *x = &r[*(const __u32 *)a], *y = &r[*(const __u32 *)b];

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * The routes of family fam in rt, as indexes shortest first (equal lengths in
 * line order), for a full load into t; t's top table is cleared. 0, -E2BIG
 * (more routes than the maps were sized for) or -ENOMEM.
 */
static int tab_order(struct lpm_tab *t, const struct wcard_routes *rt, unsigned int fam,
		     __u32 **out, __u32 *nout, char *err, size_t errlen)
{
	__u32 *idx, n = 0, i;

	if (rt->n > t->max_routes) {
		snprintf(err, errlen, "%zu routes exceed the %u the maps were sized for", rt->n,
			 t->max_routes);
		return -E2BIG;
	}
	idx = calloc(rt->n ? rt->n : 1, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (i = 0; i < rt->n; i++)
		if (rt->r[i].family == fam)
			idx[n++] = i;
	qsort_r(idx, n, sizeof(*idx), by_len_line, rt->r);
	memset(t->top, 0, t->toplen);
	*out = idx;
	*nout = n;
	return 0;
}

/*
 * Paint the IPv4 routes of rt, shortest first, so a longer prefix overwrites
 * the shorter ones it refines and, among equal prefixes, the last line wins.
 * A route longer than /24 turns its tbl24 entry into a group that starts as
 * the entry's previous route. Route index = index in rt.
 */
int wcard_dir24_load(struct wcard_dir24 *d, const struct wcard_routes *rt, char *err,
		     size_t errlen)
{
	__u32 *idx, n, i, groups = 0;
	int ret;

	if (!d || !rt)
		return -EINVAL;
	ret = tab_order(&d->t, rt, 4, &idx, &n, err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		const struct wcard_route *r = &rt->r[idx[i]];
		__u32 ent = idx[i] + 1, a = (__u32)r->addr, k, cnt;

		d->t.val[idx[i]] = r->value;
		if (r->len <= 24) {
			cnt = 1u << (24 - r->len);
			for (k = 0; k < cnt; k++)
				d->t.top[(a >> 8) + k] = ent;
			continue;
		}
		if (!(d->t.top[a >> 8] & LPM_GROUP)) {
			__u32 g = groups++, prev = d->t.top[a >> 8];

			if (g >= d->t.max_sub) {
				snprintf(err, errlen,
					 "more than %u /24 blocks hold longer prefixes (tbl8 groups)",
					 d->t.max_sub);
				memset(d->t.top, 0, d->t.toplen);
				free(idx);
				return -ENOSPC;
			}
			for (k = 0; k < 256; k++)
				d->t.sub[g * 256 + k] = prev;
			d->t.top[a >> 8] = LPM_GROUP | g;
		}
		cnt = 1u << (32 - r->len);
		for (k = 0; k < cnt; k++)
			d->t.sub[(d->t.top[a >> 8] & ~LPM_GROUP) * 256 + (a & 0xff) + k] = ent;
	}
	d->t.sub_used = groups;
	free(idx);
	if (idx_build(&d->t.ix, rt, 4, d->t.max_routes)) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

/* Map bytes in use: the top table, the 1 KiB blocks handed out, the value slots. */
static size_t tab_bytes(const struct lpm_tab *t, size_t top_entries)
{
	return top_entries * 4 + (size_t)t->sub_used * 1024 + (size_t)t->max_routes * 8;
}

size_t wcard_dir24_bytes(const struct wcard_dir24 *d)
{
	return d ? tab_bytes(&d->t, (size_t)1 << 24) : 0;
}

/* ---- IPv6: multibit trie, 16-bit root then 8-bit nodes (lpm.bpf.h) ------------ */

int wcard_lpm6_prepare(struct bpf_object *obj, __u32 max_routes, __u32 max_nodes)
{
	return tab_prepare(obj, "wc_lpm6_nodes", "wc_lpm6_val", max_routes, max_nodes);
}

int wcard_trie4_prepare(struct bpf_object *obj, __u32 max_routes, __u32 max_nodes)
{
	return tab_prepare(obj, "wc_trie4_nodes", "wc_trie4_val", max_routes, max_nodes);
}

int wcard_dir24_unused(struct bpf_object *obj)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, "wc_lpm4_tbl24");
	struct bpf_map *g = bpf_object__find_map_by_name(obj, "wc_lpm4_tbl8");

	if (!m || !g)
		return -EINVAL;
	return bpf_map__set_max_entries(m, 1) ?: bpf_map__set_max_entries(g, 1);
}

void wcard_trie_close(struct wcard_trie *d)
{
	if (!d)
		return;
	tab_close(&d->t);
	free(d);
}

static int trie_open(struct bpf_object *obj, const char *const names[3], unsigned int bits,
		     struct wcard_trie **out, char *err, size_t errlen)
{
	struct wcard_trie *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return -ENOMEM;
	d->bits = bits;
	ret = tab_open(obj, names, bits == 32 ? "IPv4 trie" : "IPv6 LPM", &d->t, err, errlen);
	if (ret) {
		wcard_trie_close(d);
		return ret;
	}
	*out = d;
	return 0;
}

int wcard_lpm6_open(struct bpf_object *obj, struct wcard_trie **out, char *err, size_t errlen)
{
	static const char *const names[3] = { "wc_lpm6_root", "wc_lpm6_nodes", "wc_lpm6_val" };

	return trie_open(obj, names, 128, out, err, errlen);
}

int wcard_trie4_open(struct bpf_object *obj, struct wcard_trie **out, char *err, size_t errlen)
{
	static const char *const names[3] = { "wc_trie4_root", "wc_trie4_nodes", "wc_trie4_val" };

	return trie_open(obj, names, 32, out, err, errlen);
}

static unsigned int trie_family(const struct wcard_trie *d)
{
	return d->bits == 32 ? 4 : 6;
}

/* Where an address of a bits-wide family sits in the trie: its top bits. */
static wc_u128 trie_pos(unsigned int bits, wc_u128 addr)
{
	return addr << (128 - bits);
}

/* Bits [start, start + width) of a, as an index. */
static __u32 bits6(wc_u128 a, unsigned int start, unsigned int width)
{
	return (__u32)(a >> (128 - start - width)) & ((1u << width) - 1);
}

/*
 * Paint the trie's family's routes of rt shortest first (so every node a route
 * needs below its level is created by a longer route, later, and starts as the
 * value of the entry it replaces: routes are pushed to the leaves).
 */
int wcard_trie_load(struct wcard_trie *d, const struct wcard_routes *rt, char *err,
		    size_t errlen)
{
	__u32 *idx, n, i, used = 0;
	int ret;

	if (!d || !rt)
		return -EINVAL;
	ret = tab_order(&d->t, rt, trie_family(d), &idx, &n, err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		const struct wcard_route *r = &rt->r[idx[i]];
		__u32 ent = idx[i] + 1, *tab = d->t.top, start = 0, width = 16, k, first, cnt;
		wc_u128 pos = trie_pos(d->bits, r->addr);

		d->t.val[idx[i]] = r->value;
		/* Down to the level whose bits hold the prefix's last bit. */
		while (r->len > start + width) {
			__u32 *e = &tab[bits6(pos, start, width)];

			if (!(*e & LPM_GROUP)) {
				__u32 prev = *e, j;

				if (used >= d->t.max_sub) {
					snprintf(err, errlen, "more than %u IPv%u trie nodes needed",
						 d->t.max_sub, trie_family(d));
					memset(d->t.top, 0, d->t.toplen);
					free(idx);
					return -ENOSPC;
				}
				for (j = 0; j < 256; j++)
					d->t.sub[used * 256 + j] = prev;
				*e = LPM_GROUP | used++;
			}
			tab = &d->t.sub[(*e & ~LPM_GROUP) * 256];
			start += width;
			width = 8;
		}
		first = bits6(pos, start, width) & ~((1u << (start + width - r->len)) - 1);
		cnt = 1u << (start + width - r->len);
		for (k = 0; k < cnt; k++)
			tab[first + k] = ent;
	}
	d->t.sub_used = used;
	free(idx);
	if (idx_build(&d->t.ix, rt, trie_family(d), d->t.max_routes)) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

size_t wcard_trie_bytes(const struct wcard_trie *d)
{
	return d ? tab_bytes(&d->t, WC_LPM6_ROOT_ENTRIES) : 0;
}

static int cmp_u128(const void *a, const void *b)
{
	wc_u128 x = *(const wc_u128 *)a, y = *(const wc_u128 *)b;

	return x < y ? -1 : x > y;
}

/*
 * Nodes the trie of rt's family fam routes needs: one per distinct (level,
 * address bits above the level) over every route longer than that level's start.
 */
static long nodes_needed(const struct wcard_routes *rt, unsigned int fam)
{
	unsigned int bits = fam == 4 ? 32 : 128;
	size_t i, n = 0, cap = 0, uniq = 0;
	wc_u128 *keys = NULL, *nk;

	for (i = 0; i < rt->n; i++) {
		const struct wcard_route *r = &rt->r[i];
		unsigned int b;

		if (r->family != fam)
			continue;
		for (b = 16; b < r->len; b += 8) {
			if (n == cap) {
				cap = cap ? 2 * cap : 4096;
				nk = realloc(keys, cap * sizeof(*keys));
				if (!nk) {
					free(keys);
					return -ENOMEM;
				}
				keys = nk;
			}
			/* The level in the top byte, the address bits above it below. */
			keys[n++] = ((wc_u128)b << 120) |
				    ((trie_pos(bits, r->addr) >> (128 - b)) & ((wc_u128)~0 >> 8));
		}
	}
	if (n)
		qsort(keys, n, sizeof(*keys), cmp_u128);
	for (i = 0; i < n; i++)
		uniq += !i || keys[i] != keys[i - 1];
	free(keys);
	return (long)uniq;
}

long wcard_lpm6_nodes_needed(const struct wcard_routes *rt)
{
	return nodes_needed(rt, 6);
}

long wcard_trie4_nodes_needed(const struct wcard_routes *rt)
{
	return nodes_needed(rt, 4);
}

/* ---- online IPv4 updates ---------------------------------------------------- */

/*
 * Set every entry of [first, first + cnt) of tab that holds no route or one no
 * longer than len to ent (entries of longer routes keep them); for a delete
 * (old != 0) only the entries that hold old change. Groups inside a tbl24
 * range are painted entry by entry. Every write is one 4-byte store.
 */
static void d24_paint(struct wcard_dir24 *d, __u32 *tab, __u32 first, __u32 cnt, __u32 ent,
		      int len, __u32 old, bool top)
{
	__u32 k;

	for (k = first; k < first + cnt; k++) {
		__u32 e = __atomic_load_n(&tab[k], __ATOMIC_RELAXED);

		if (top && (e & LPM_GROUP)) {
			d24_paint(d, &d->t.sub[(e & ~LPM_GROUP) * 256], 0, 256, ent, len, old, false);
			continue;
		}
		if (old ? e == old : idx_len(&d->t.ix, e) <= len)
			__atomic_store_n(&tab[k], ent, __ATOMIC_RELEASE);
	}
}

int wcard_dir24_add(struct wcard_dir24 *d, __u32 addr, unsigned int len, __u64 value,
		    __u32 *route)
{
	__u32 r, ent;
	long old;
	int ret;

	if (!d || !d->t.ix.len || len > 32)
		return -EINVAL;
	addr &= len ? ~0u << (32 - len) : 0;
	old = idx_find(&d->t.ix, addr, len);
	if (old >= 0) {
		/* The same prefix again: the last one wins, in place. */
		__atomic_store_n(&d->t.val[old], value, __ATOMIC_RELEASE);
		if (route)
			*route = old;
		return 0;
	}
	ret = idx_alloc(&d->t.ix, &r);
	if (ret)
		return ret;
	/* Value first: the route is reachable only once an entry holds it. */
	__atomic_store_n(&d->t.val[r], value, __ATOMIC_RELEASE);
	idx_set(&d->t.ix, r, addr, len);
	ent = r + 1;
	if (len <= 24) {
		d24_paint(d, d->t.top, addr >> 8, 1u << (24 - len), ent, len, 0, true);
	} else {
		__u32 t = addr >> 8, e = d->t.top[t];

		if (!(e & LPM_GROUP)) {
			__u32 g = d->t.sub_used, k;

			if (g >= d->t.max_sub) {
				idx_drop(&d->t.ix, r, true); /* never reachable */
				return -ENOSPC;
			}
			/* The group is complete before the tbl24 entry points at it. */
			for (k = 0; k < 256; k++)
				d->t.sub[g * 256 + k] = e;
			d->t.sub_used++;
			__atomic_store_n(&d->t.top[t], LPM_GROUP | g, __ATOMIC_RELEASE);
			e = LPM_GROUP | g;
		}
		d24_paint(d, &d->t.sub[(e & ~LPM_GROUP) * 256], addr & 0xff, 1u << (32 - len), ent,
			  len, 0, false);
	}
	if (route)
		*route = r;
	return 0;
}

int wcard_dir24_del(struct wcard_dir24 *d, __u32 addr, unsigned int len)
{
	long r, cover = -1;
	int l;

	if (!d || !d->t.ix.len || len > 32)
		return -EINVAL;
	addr &= len ? ~0u << (32 - len) : 0;
	r = idx_find(&d->t.ix, addr, len);
	if (r < 0)
		return -ENOENT;
	/* The covering route takes the deleted one's entries back. */
	for (l = (int)len - 1; l >= 0 && cover < 0; l--)
		cover = idx_find(&d->t.ix, addr & (l ? ~0u << (32 - l) : 0), l);
	if (len <= 24)
		d24_paint(d, d->t.top, addr >> 8, 1u << (24 - len), cover + 1, len, r + 1, true);
	else if (d->t.top[addr >> 8] & LPM_GROUP)
		d24_paint(d, &d->t.sub[(d->t.top[addr >> 8] & ~LPM_GROUP) * 256], addr & 0xff,
			  1u << (32 - len), cover + 1, len, r + 1, false);
	/* Reusable after a grace period: lookups in flight may still report it. */
	idx_drop(&d->t.ix, r, false);
	return 0;
}


/* ---- online trie updates (IPv6, small IPv4) ---------------------------------- */

/* The first len bits of a bits-wide address. */
static wc_u128 trie_mask(unsigned int bits, unsigned int len)
{
	return len ? (~(wc_u128)0 << (128 - len)) >> (128 - bits) : 0;
}

/* As d24_paint, through every node below the range (routes are pushed to leaves). */
static void t6_paint(struct wcard_trie *d, __u32 *tab, __u32 first, __u32 cnt, __u32 ent,
		     int len, __u32 old)
{
	__u32 k;

	for (k = first; k < first + cnt; k++) {
		__u32 e = __atomic_load_n(&tab[k], __ATOMIC_RELAXED);

		if (e & LPM_GROUP) {
			t6_paint(d, &d->t.sub[(e & ~LPM_GROUP) * 256], 0, 256, ent, len, old);
			continue;
		}
		if (old ? e == old : idx_len(&d->t.ix, e) <= len)
			__atomic_store_n(&tab[k], ent, __ATOMIC_RELEASE);
	}
}

/*
 * The table holding the entries of trie position pos (trie_pos) at the level
 * where a /len prefix ends, and the level's first bit and width. With create,
 * missing nodes are made, each complete (a copy of the entry it replaces)
 * before its parent points at it.
 */
static __u32 *t6_level(struct wcard_trie *d, wc_u128 pos, unsigned int len, bool create,
		       __u32 *start, __u32 *width)
{
	__u32 *tab = d->t.top, st = 0, w = 16;

	while (len > st + w) {
		__u32 *e = &tab[bits6(pos, st, w)];

		if (!(*e & LPM_GROUP)) {
			__u32 n = d->t.sub_used, j;

			if (!create || n >= d->t.max_sub)
				return NULL;
			for (j = 0; j < 256; j++)
				d->t.sub[n * 256 + j] = *e;
			d->t.sub_used++;
			__atomic_store_n(e, LPM_GROUP | n, __ATOMIC_RELEASE);
		}
		tab = &d->t.sub[(*e & ~LPM_GROUP) * 256];
		st += w;
		w = 8;
	}
	*start = st;
	*width = w;
	return tab;
}

int wcard_trie_add(struct wcard_trie *d, wc_u128 addr, unsigned int len, __u64 value,
		   __u32 *route)
{
	__u32 r, st, w, *tab;
	wc_u128 pos;
	long old;
	int ret;

	if (!d || !d->t.ix.len || len > d->bits)
		return -EINVAL;
	addr &= trie_mask(d->bits, len);
	pos = trie_pos(d->bits, addr);
	old = idx_find(&d->t.ix, addr, len);
	if (old >= 0) {
		__atomic_store_n(&d->t.val[old], value, __ATOMIC_RELEASE);
		if (route)
			*route = old;
		return 0;
	}
	ret = idx_alloc(&d->t.ix, &r);
	if (ret)
		return ret;
	tab = t6_level(d, pos, len, true, &st, &w);
	if (!tab) {
		/* Nodes made on the way stay (copies of their parents): harmless. */
		d->t.ix.freed[d->t.ix.nfreed++] = r;
		return -ENOSPC;
	}
	__atomic_store_n(&d->t.val[r], value, __ATOMIC_RELEASE);
	idx_set(&d->t.ix, r, addr, len);
	t6_paint(d, tab, bits6(pos, st, w) & ~((1u << (st + w - len)) - 1), 1u << (st + w - len),
		 r + 1, len, 0);
	if (route)
		*route = r;
	return 0;
}

int wcard_trie_del(struct wcard_trie *d, wc_u128 addr, unsigned int len)
{
	__u32 st, w, *tab;
	long r, cover = -1;
	wc_u128 pos;
	int l;

	if (!d || !d->t.ix.len || len > d->bits)
		return -EINVAL;
	addr &= trie_mask(d->bits, len);
	pos = trie_pos(d->bits, addr);
	r = idx_find(&d->t.ix, addr, len);
	if (r < 0)
		return -ENOENT;
	for (l = (int)len - 1; l >= 0 && cover < 0; l--)
		cover = idx_find(&d->t.ix, addr & trie_mask(d->bits, l), l);
	tab = t6_level(d, pos, len, false, &st, &w);
	if (tab)
		t6_paint(d, tab, bits6(pos, st, w) & ~((1u << (st + w - len)) - 1),
			 1u << (st + w - len), cover + 1, len, r + 1);
	idx_drop(&d->t.ix, r, false);
	return 0;
}
