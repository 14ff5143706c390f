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

struct wcard_dir24 {
	struct lpm_maps m;
	__u32 *tbl24, *tbl8;
	__u64 *val;
	size_t len24;
	__u32 max_groups, max_routes, groups_used;
	struct lpm_index ix; /* for online changes */
};

int wcard_dir24_prepare(struct bpf_object *obj, __u32 max_routes, __u32 max_groups)
{
	struct bpf_map *t8 = bpf_object__find_map_by_name(obj, "wc_lpm4_tbl8");
	struct bpf_map *v = bpf_object__find_map_by_name(obj, "wc_lpm4_val");

	if (!t8 || !v || !max_routes || !max_groups || max_groups > (1u << 23))
		return -EINVAL;
	/* Two 32-bit entries per 8-byte ARRAY element (lpm.bpf.h). */
	return bpf_map__set_max_entries(t8, max_groups * 128) ?:
		       bpf_map__set_max_entries(v, max_routes);
}

void wcard_dir24_close(struct wcard_dir24 *d)
{
	if (!d)
		return;
	lpm_maps_close(&d->m);
	idx_free(&d->ix);
	free(d);
}

int wcard_dir24_open(struct bpf_object *obj, struct wcard_dir24 **out, char *err, size_t errlen)
{
	static const char *const names[3] = { "wc_lpm4_tbl24", "wc_lpm4_tbl8", "wc_lpm4_val" };
	struct wcard_dir24 *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return -ENOMEM;
	idx_init(&d->ix);
	ret = lpm_maps_open(obj, names, &d->m, "DIR-24-8", err, errlen);
	if (ret) {
		wcard_dir24_close(d);
		return ret;
	}
	d->tbl24 = d->m.p[0];
	d->tbl8 = d->m.p[1];
	d->val = d->m.p[2];
	d->len24 = d->m.len[0];
	/* Two 32-bit entries per 8-byte element: 128 elements a group. */
	d->max_groups = d->m.max[1] / 128;
	d->max_routes = d->m.max[2];
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
 * Paint the IPv4 routes of rt, shortest first, so a longer prefix overwrites
 * the shorter ones it refines and, among equal prefixes, the last line wins.
 * A route longer than /24 turns its tbl24 entry into a group that starts as
 * the entry's previous route. Route index = index in rt.
 */
int wcard_dir24_load(struct wcard_dir24 *d, const struct wcard_routes *rt, char *err,
		     size_t errlen)
{
	__u32 *idx, n = 0, i, groups = 0;

	if (!d || !rt)
		return -EINVAL;
	if (rt->n > d->max_routes) {
		snprintf(err, errlen, "%zu routes exceed the %u the maps were sized for", rt->n,
			 d->max_routes);
		return -E2BIG;
	}
	idx = calloc(rt->n ? rt->n : 1, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (i = 0; i < rt->n; i++)
		if (rt->r[i].family == 4)
			idx[n++] = i;
	qsort_r(idx, n, sizeof(*idx), by_len_line, rt->r);
	memset(d->tbl24, 0, d->len24);
	for (i = 0; i < n; i++) {
		const struct wcard_route *r = &rt->r[idx[i]];
		__u32 ent = idx[i] + 1, a = (__u32)r->addr, k, cnt;

		d->val[idx[i]] = r->value;
		if (r->len <= 24) {
			cnt = 1u << (24 - r->len);
			for (k = 0; k < cnt; k++)
				d->tbl24[(a >> 8) + k] = ent;
			continue;
		}
		if (!(d->tbl24[a >> 8] & LPM_GROUP)) {
			__u32 g = groups++, prev = d->tbl24[a >> 8];

			if (g >= d->max_groups) {
				snprintf(err, errlen,
					 "more than %u /24 blocks hold longer prefixes (tbl8 groups)",
					 d->max_groups);
				memset(d->tbl24, 0, d->len24);
				free(idx);
				return -ENOSPC;
			}
			for (k = 0; k < 256; k++)
				d->tbl8[g * 256 + k] = prev;
			d->tbl24[a >> 8] = LPM_GROUP | g;
		}
		cnt = 1u << (32 - r->len);
		for (k = 0; k < cnt; k++)
			d->tbl8[(d->tbl24[a >> 8] & ~LPM_GROUP) * 256 + (a & 0xff) + k] = ent;
	}
	d->groups_used = groups;
	free(idx);
	if (idx_build(&d->ix, rt, 4, d->max_routes)) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

size_t wcard_dir24_bytes(const struct wcard_dir24 *d)
{
	return d ? ((size_t)1 << 24) * 4 + (size_t)d->groups_used * 1024 +
			   (size_t)d->max_routes * 8 :
		   0;
}

/* ---- IPv6: multibit trie, 16-bit root then 8-bit nodes (lpm.bpf.h) ------------ */

struct wcard_lpm6 {
	struct lpm_maps m;
	__u32 *root, *nodes;
	__u64 *val;
	size_t lenroot;
	struct lpm_index ix; /* for online changes */
	__u32 max_nodes, max_routes, nodes_used;
};

int wcard_lpm6_prepare(struct bpf_object *obj, __u32 max_routes, __u32 max_nodes)
{
	struct bpf_map *n = bpf_object__find_map_by_name(obj, "wc_lpm6_nodes");
	struct bpf_map *v = bpf_object__find_map_by_name(obj, "wc_lpm6_val");

	if (!n || !v || !max_routes || !max_nodes || max_nodes > (1u << 23))
		return -EINVAL;
	return bpf_map__set_max_entries(n, max_nodes * 128) ?:
		       bpf_map__set_max_entries(v, max_routes);
}

void wcard_lpm6_close(struct wcard_lpm6 *d)
{
	if (!d)
		return;
	lpm_maps_close(&d->m);
	idx_free(&d->ix);
	free(d);
}

int wcard_lpm6_open(struct bpf_object *obj, struct wcard_lpm6 **out, char *err, size_t errlen)
{
	static const char *const names[3] = { "wc_lpm6_root", "wc_lpm6_nodes", "wc_lpm6_val" };
	struct wcard_lpm6 *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return -ENOMEM;
	idx_init(&d->ix);
	ret = lpm_maps_open(obj, names, &d->m, "IPv6 LPM", err, errlen);
	if (ret) {
		wcard_lpm6_close(d);
		return ret;
	}
	d->root = d->m.p[0];
	d->nodes = d->m.p[1];
	d->val = d->m.p[2];
	d->lenroot = d->m.len[0];
	d->max_nodes = d->m.max[1] / 128;
	d->max_routes = d->m.max[2];
	*out = d;
	return 0;
}

/* Bits [start, start + width) of a, as an index. */
static __u32 bits6(wc_u128 a, unsigned int start, unsigned int width)
{
	return (__u32)(a >> (128 - start - width)) & ((1u << width) - 1);
}

/*
 * Paint the IPv6 routes of rt shortest first (so every node a route needs
 * below its level is created by a longer route, later, and starts as the
 * value of the entry it replaces: routes are pushed to the leaves).
 */
int wcard_lpm6_load(struct wcard_lpm6 *d, const struct wcard_routes *rt, char *err,
		    size_t errlen)
{
	__u32 *idx, n = 0, i, used = 0;

	if (!d || !rt)
		return -EINVAL;
	if (rt->n > d->max_routes) {
		snprintf(err, errlen, "%zu routes exceed the %u the maps were sized for", rt->n,
			 d->max_routes);
		return -E2BIG;
	}
	idx = calloc(rt->n ? rt->n : 1, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (i = 0; i < rt->n; i++)
		if (rt->r[i].family == 6)
			idx[n++] = i;
	qsort_r(idx, n, sizeof(*idx), by_len_line, rt->r);
	memset(d->root, 0, d->lenroot);
	for (i = 0; i < n; i++) {
		const struct wcard_route *r = &rt->r[idx[i]];
		__u32 ent = idx[i] + 1, *tab = d->root, start = 0, width = 16, k, first, cnt;

		d->val[idx[i]] = r->value;
		/* Down to the level whose bits hold the prefix's last bit. */
		while (r->len > start + width) {
			__u32 *e = &tab[bits6(r->addr, start, width)];

			if (!(*e & LPM_GROUP)) {
				__u32 prev = *e, j;

				if (used >= d->max_nodes) {
					snprintf(err, errlen, "more than %u IPv6 trie nodes needed",
						 d->max_nodes);
					memset(d->root, 0, d->lenroot);
					free(idx);
					return -ENOSPC;
				}
				for (j = 0; j < 256; j++)
					d->nodes[used * 256 + j] = prev;
				*e = LPM_GROUP | used++;
			}
			tab = &d->nodes[(*e & ~LPM_GROUP) * 256];
			start += width;
			width = 8;
		}
		first = bits6(r->addr, start, width) & ~((1u << (start + width - r->len)) - 1);
		cnt = 1u << (start + width - r->len);
		for (k = 0; k < cnt; k++)
			tab[first + k] = ent;
	}
	d->nodes_used = used;
	free(idx);
	if (idx_build(&d->ix, rt, 6, d->max_routes)) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

size_t wcard_lpm6_bytes(const struct wcard_lpm6 *d)
{
	return d ? (size_t)WC_LPM6_ROOT_ENTRIES * 4 + (size_t)d->nodes_used * 1024 +
			   (size_t)d->max_routes * 8 :
		   0;
}

static int cmp_u128(const void *a, const void *b)
{
	wc_u128 x = *(const wc_u128 *)a, y = *(const wc_u128 *)b;

	return x < y ? -1 : x > y;
}

/*
 * Nodes the IPv6 trie of rt needs: one per distinct (level, address bits above
 * the level) over every route longer than that level's start.
 */
long wcard_lpm6_nodes_needed(const struct wcard_routes *rt)
{
	size_t i, n = 0, cap = 0, uniq = 0;
	wc_u128 *keys = NULL, *nk;

	for (i = 0; i < rt->n; i++) {
		const struct wcard_route *r = &rt->r[i];
		unsigned int b;

		if (r->family != 6)
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
			keys[n++] = ((wc_u128)b << 120) | ((r->addr >> (128 - b)) & ((wc_u128)~0 >> 8));
		}
	}
	qsort(keys, n, sizeof(*keys), cmp_u128);
	for (i = 0; i < n; i++)
		uniq += !i || keys[i] != keys[i - 1];
	free(keys);
	return (long)uniq;
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
			d24_paint(d, &d->tbl8[(e & ~LPM_GROUP) * 256], 0, 256, ent, len, old, false);
			continue;
		}
		if (old ? e == old : idx_len(&d->ix, e) <= len)
			__atomic_store_n(&tab[k], ent, __ATOMIC_RELEASE);
	}
}

int wcard_dir24_add(struct wcard_dir24 *d, __u32 addr, unsigned int len, __u64 value,
		    __u32 *route)
{
	__u32 r, ent;
	long old;
	int ret;

	if (!d || !d->ix.len || len > 32)
		return -EINVAL;
	addr &= len ? ~0u << (32 - len) : 0;
	old = idx_find(&d->ix, addr, len);
	if (old >= 0) {
		/* The same prefix again: the last one wins, in place. */
		__atomic_store_n(&d->val[old], value, __ATOMIC_RELEASE);
		if (route)
			*route = old;
		return 0;
	}
	ret = idx_alloc(&d->ix, &r);
	if (ret)
		return ret;
	/* Value first: the route is reachable only once an entry holds it. */
	__atomic_store_n(&d->val[r], value, __ATOMIC_RELEASE);
	idx_set(&d->ix, r, addr, len);
	ent = r + 1;
	if (len <= 24) {
		d24_paint(d, d->tbl24, addr >> 8, 1u << (24 - len), ent, len, 0, true);
	} else {
		__u32 t = addr >> 8, e = d->tbl24[t];

		if (!(e & LPM_GROUP)) {
			__u32 g = d->groups_used, k;

			if (g >= d->max_groups) {
				idx_drop(&d->ix, r, true); /* never reachable */
				return -ENOSPC;
			}
			/* The group is complete before the tbl24 entry points at it. */
			for (k = 0; k < 256; k++)
				d->tbl8[g * 256 + k] = e;
			d->groups_used++;
			__atomic_store_n(&d->tbl24[t], LPM_GROUP | g, __ATOMIC_RELEASE);
			e = LPM_GROUP | g;
		}
		d24_paint(d, &d->tbl8[(e & ~LPM_GROUP) * 256], addr & 0xff, 1u << (32 - len), ent,
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

	if (!d || !d->ix.len || len > 32)
		return -EINVAL;
	addr &= len ? ~0u << (32 - len) : 0;
	r = idx_find(&d->ix, addr, len);
	if (r < 0)
		return -ENOENT;
	/* The covering route takes the deleted one's entries back. */
	for (l = (int)len - 1; l >= 0 && cover < 0; l--)
		cover = idx_find(&d->ix, addr & (l ? ~0u << (32 - l) : 0), l);
	if (len <= 24)
		d24_paint(d, d->tbl24, addr >> 8, 1u << (24 - len), cover + 1, len, r + 1, true);
	else if (d->tbl24[addr >> 8] & LPM_GROUP)
		d24_paint(d, &d->tbl8[(d->tbl24[addr >> 8] & ~LPM_GROUP) * 256], addr & 0xff,
			  1u << (32 - len), cover + 1, len, r + 1, false);
	/* Reusable after a grace period: lookups in flight may still report it. */
	idx_drop(&d->ix, r, false);
	return 0;
}


/* ---- online IPv6 updates ---------------------------------------------------- */

static wc_u128 mask6(unsigned int len)
{
	return len ? ~(wc_u128)0 << (128 - len) : 0;
}

/* As d24_paint, through every node below the range (routes are pushed to leaves). */
static void t6_paint(struct wcard_lpm6 *d, __u32 *tab, __u32 first, __u32 cnt, __u32 ent,
		     int len, __u32 old)
{
	__u32 k;

	for (k = first; k < first + cnt; k++) {
		__u32 e = __atomic_load_n(&tab[k], __ATOMIC_RELAXED);

		if (e & LPM_GROUP) {
			t6_paint(d, &d->nodes[(e & ~LPM_GROUP) * 256], 0, 256, ent, len, old);
			continue;
		}
		if (old ? e == old : idx_len(&d->ix, e) <= len)
			__atomic_store_n(&tab[k], ent, __ATOMIC_RELEASE);
	}
}

/*
 * The table holding addr's entries at the level where a /len prefix ends, and
 * the level's first bit and width. With create, missing nodes are made, each
 * complete (a copy of the entry it replaces) before its parent points at it.
 */
static __u32 *t6_level(struct wcard_lpm6 *d, wc_u128 addr, unsigned int len, bool create,
		       __u32 *start, __u32 *width)
{
	__u32 *tab = d->root, st = 0, w = 16;

	while (len > st + w) {
		__u32 *e = &tab[bits6(addr, st, w)];

		if (!(*e & LPM_GROUP)) {
			__u32 n = d->nodes_used, j;

			if (!create || n >= d->max_nodes)
				return NULL;
			for (j = 0; j < 256; j++)
				d->nodes[n * 256 + j] = *e;
			d->nodes_used++;
			__atomic_store_n(e, LPM_GROUP | n, __ATOMIC_RELEASE);
		}
		tab = &d->nodes[(*e & ~LPM_GROUP) * 256];
		st += w;
		w = 8;
	}
	*start = st;
	*width = w;
	return tab;
}

int wcard_lpm6_add(struct wcard_lpm6 *d, wc_u128 addr, unsigned int len, __u64 value,
		   __u32 *route)
{
	__u32 r, st, w, *tab;
	long old;
	int ret;

	if (!d || !d->ix.len || len > 128)
		return -EINVAL;
	addr &= mask6(len);
	old = idx_find(&d->ix, addr, len);
	if (old >= 0) {
		__atomic_store_n(&d->val[old], value, __ATOMIC_RELEASE);
		if (route)
			*route = old;
		return 0;
	}
	ret = idx_alloc(&d->ix, &r);
	if (ret)
		return ret;
	tab = t6_level(d, addr, len, true, &st, &w);
	if (!tab) {
		/* Nodes made on the way stay (copies of their parents): harmless. */
		d->ix.freed[d->ix.nfreed++] = r;
		return -ENOSPC;
	}
	__atomic_store_n(&d->val[r], value, __ATOMIC_RELEASE);
	idx_set(&d->ix, r, addr, len);
	t6_paint(d, tab, bits6(addr, st, w) & ~((1u << (st + w - len)) - 1), 1u << (st + w - len),
		 r + 1, len, 0);
	if (route)
		*route = r;
	return 0;
}

int wcard_lpm6_del(struct wcard_lpm6 *d, wc_u128 addr, unsigned int len)
{
	__u32 st, w, *tab;
	long r, cover = -1;
	int l;

	if (!d || !d->ix.len || len > 128)
		return -EINVAL;
	addr &= mask6(len);
	r = idx_find(&d->ix, addr, len);
	if (r < 0)
		return -ENOENT;
	for (l = (int)len - 1; l >= 0 && cover < 0; l--)
		cover = idx_find(&d->ix, addr & mask6(l), l);
	tab = t6_level(d, addr, len, false, &st, &w);
	if (tab)
		t6_paint(d, tab, bits6(addr, st, w) & ~((1u << (st + w - len)) - 1),
			 1u << (st + w - len), cover + 1, len, r + 1);
	idx_drop(&d->ix, r, false);
	return 0;
}
