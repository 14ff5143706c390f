// SPDX-License-Identifier: MIT
/* trie.c: the multibit tries of lpm.bpf.h (IPv6, small IPv4): handles, loads, changes; libwcard. */
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "lpm_int.h"

void wcard_trie_close(struct wcard_trie *d)
{
	if (!d)
		return;
	tab_close(&d->t);
	free(d);
}

/* A trie of kind with nothing in it yet: no image, no spare, its layout unset. */
static struct wcard_trie *trie_new(struct bpf_object *obj, int kind, __u32 key)
{
	struct wcard_trie *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->bits = kind == WC_LPM_TRIE4 ? 32 : 128;
	tab_init(&d->t, obj, kind, key);
	return d;
}

/* A trie handle of obj, prepared. */
static int trie_make(struct bpf_object *obj, int kind, __u32 max_routes, __u32 max_sub,
		     struct wcard_trie **out)
{
	struct wcard_trie *d;
	int ret;

	if (!obj || !out)
		return -EINVAL;
	d = trie_new(obj, kind, 0);
	if (!d)
		return -ENOMEM;
	ret = tab_prepare(&d->t, max_routes, max_sub);
	if (ret) {
		wcard_trie_close(d);
		return ret;
	}
	*out = d;
	return 0;
}

int wcard_lpm6_prepare(struct bpf_object *obj, __u32 max_routes, __u32 max_nodes,
		       struct wcard_trie **out)
{
	return trie_make(obj, WC_LPM_TRIE6, max_routes, max_nodes, out);
}

int wcard_trie4_prepare(struct bpf_object *obj, __u32 max_routes, __u32 max_nodes,
			struct wcard_trie **out)
{
	return trie_make(obj, WC_LPM_TRIE4, max_routes, max_nodes, out);
}

int wcard_trie_open(struct wcard_trie *d, char *err, size_t errlen)
{
	return d ? tab_open(&d->t, err, errlen) : -EINVAL;
}

bool lpm_trie_of(const struct wcard_trie *d, const struct bpf_object *obj, unsigned int bits)
{
	return d && d->t.obj == obj && d->bits == bits;
}

/* ---- a trie per classifier generation (clf.c, pin.c) ------------------------- */

int lpm_trie_sibling(const struct wcard_trie *d, __u32 key, struct wcard_trie **out)
{
	struct wcard_trie *n;
	const struct lpm_tab *t;

	if (!d || !out)
		return -EINVAL;
	n = trie_new(d->t.obj, d->t.kind, key);
	if (!n)
		return -ENOMEM;
	t = &d->t;
	n->t.opened = true;
	n->t.elems = t->elems;
	n->t.val_base = t->val_base;
	n->t.aux_base = t->aux_base;
	n->t.max_sub = t->max_sub;
	n->t.max_routes = t->max_routes;
	/* Its own copy of the slot map's fd: the tries close independently. */
	n->t.slot = fcntl(t->slot, F_DUPFD_CLOEXEC, 0);
	n->t.own_slot = true;
	if (n->t.slot < 0) {
		int ret = -errno;

		wcard_trie_close(n);
		return ret;
	}
	*out = n;
	return 0;
}

int lpm_trie_open_pinned(int slot_fd, int kind, __u32 key, __u32 max_routes, __u32 max_sub,
			 const char *live, bool must, struct wcard_trie **out, char *err,
			 size_t errlen)
{
	struct wcard_trie *d;
	int ret;

	if ((kind != WC_LPM_TRIE4 && kind != WC_LPM_TRIE6) || slot_fd < 0 || !out)
		return -EINVAL;
	d = trie_new(NULL, kind, key);
	if (!d)
		return -ENOMEM;
	ret = tab_open_pinned(&d->t, slot_fd, max_routes, max_sub, live, must, err, errlen);
	if (ret) {
		wcard_trie_close(d);
		return ret;
	}
	*out = d;
	return 0;
}

void lpm_trie_drop(struct wcard_trie *d, bool spare)
{
	if (d)
		tab_drop(&d->t, spare);
}

void lpm_trie_spare_move(struct wcard_trie *to, struct wcard_trie *from)
{
	if (!to || !from || to->t.spare_fd >= 0 || from->t.spare_fd < 0 ||
	    to->t.elems != from->t.elems)
		return;
	to->t.spare_fd = from->t.spare_fd;
	to->t.spare_img = from->t.spare_img;
	from->t.spare_fd = -1;
	from->t.spare_img = NULL;
}

void lpm_trie_geom(const struct wcard_trie *d, __u32 *max_routes, __u32 *max_sub)
{
	*max_routes = d ? d->t.max_routes : 0;
	*max_sub = d ? d->t.max_sub : 0;
}

bool lpm_trie_has_image(const struct wcard_trie *d)
{
	return d && d->t.fd >= 0;
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
	struct tab_load old;
	int ret;

	if (!d || !rt)
		return -EINVAL;
	ret = tab_order(&d->t, rt, trie_family(d), &old, &idx, &n, err, errlen);
	if (ret)
		return ret;
	for (i = 0; !ret && i < n; i++) {
		const struct wcard_route *r = &rt->r[idx[i]];
		__u32 start = 0, width = 16, k, first, cnt;
		wc_u128 pos = trie_pos(d->bits, r->addr);
		__u64 ent, *tab = d->t.top;

		d->t.val[idx[i]] = r->value;
		d->t.aux[idx[i]] = r->line;
		ent = tab_ent_make(&d->t, idx[i] + 1);
		/* Down to the level whose bits hold the prefix's last bit. */
		while (r->len > start + width) {
			__u64 *e = &tab[bits6(pos, start, width)];

			if (!(*e & WC_LPM_GROUP)) {
				__u64 prev = *e;
				__u32 j;

				if (used >= d->t.max_sub) {
					snprintf(err, errlen, "more than %u IPv%u trie nodes needed",
						 d->t.max_sub, trie_family(d));
					ret = -ENOSPC;
					break;
				}
				for (j = 0; j < 256; j++)
					d->t.sub[used * 256 + j] = prev;
				*e = WC_LPM_GROUP | used++;
			}
			tab = &d->t.sub[(*e & ~WC_LPM_GROUP) * 256];
			start += width;
			width = 8;
		}
		if (ret)
			break;
		first = bits6(pos, start, width) & ~((1u << (start + width - r->len)) - 1);
		cnt = 1u << (start + width - r->len);
		for (k = 0; k < cnt; k++)
			tab[first + k] = ent;
	}
	d->t.sub_used = used;
	free(idx);
	return tab_load_end(&d->t, &old, ret, rt, trie_family(d), err, errlen);
}

int wcard_trie_dump(const struct wcard_trie *d, struct wcard_routes *out)
{
	return d && out ? tab_dump(&d->t, trie_family(d), out) : -EINVAL;
}

size_t wcard_trie_bytes(const struct wcard_trie *d)
{
	return d ? tab_bytes(&d->t) : 0;
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

/* ---- online trie updates (IPv6, small IPv4) ---------------------------------- */

/* The first len bits of a bits-wide address. */
static wc_u128 trie_mask(unsigned int bits, unsigned int len)
{
	return len ? (~(wc_u128)0 << (128 - len)) >> (128 - bits) : 0;
}

/* As d24_paint, through every node below the range (routes are pushed to leaves). */
static void t6_paint(struct wcard_trie *d, __u64 *tab, __u32 first, __u32 cnt, __u64 ent,
		     int len, __u32 old)
{
	__u32 k;

	for (k = first; k < first + cnt; k++) {
		__u64 e = __atomic_load_n(&tab[k], __ATOMIC_RELAXED);

		if (e & WC_LPM_GROUP) {
			t6_paint(d, &d->t.sub[WC_LPM_KEY(e & ~WC_LPM_GROUP) * 256], 0, 256, ent, len, old);
			continue;
		}
		if (old ? WC_LPM_KEY(e) == old : idx_len(&d->t.ix, WC_LPM_KEY(e)) <= len)
			__atomic_store_n(&tab[k], ent, __ATOMIC_RELEASE);
	}
}

/*
 * The table holding the entries of trie position pos (trie_pos) at the level
 * where a /len prefix ends, and the level's first bit and width. With create,
 * missing nodes are made, each complete (a copy of the entry it replaces)
 * before its parent points at it.
 */
static __u64 *t6_level(struct wcard_trie *d, wc_u128 pos, unsigned int len, bool create,
		       __u32 *start, __u32 *width)
{
	__u64 *tab = d->t.top;
	__u32 st = 0, w = 16;

	while (len > st + w) {
		__u64 *e = &tab[bits6(pos, st, w)];

		if (!(*e & WC_LPM_GROUP)) {
			__u32 n = d->t.sub_used, j;

			if (!create || n >= d->t.max_sub)
				return NULL;
			for (j = 0; j < 256; j++)
				d->t.sub[n * 256 + j] = *e;
			d->t.sub_used++;
			__atomic_store_n(e, WC_LPM_GROUP | n, __ATOMIC_RELEASE);
		}
		tab = &d->t.sub[WC_LPM_KEY(*e & ~WC_LPM_GROUP) * 256];
		st += w;
		w = 8;
	}
	*start = st;
	*width = w;
	return tab;
}

/* As wcard_dir24_add: the whole prefix is painted by length, in place too. */
int wcard_trie_add(struct wcard_trie *d, wc_u128 addr, unsigned int len, __u64 value,
		   __u32 *route)
{
	__u32 r, st, w;
	__u64 *tab;
	wc_u128 pos;
	long old;
	int ret;

	if (!d || len > d->bits)
		return -EINVAL;
	ret = tab_derive(&d->t);
	if (ret)
		return ret;
	addr &= trie_mask(d->bits, len);
	pos = trie_pos(d->bits, addr);
	old = idx_find(&d->t.ix, addr, len);
	if (old >= 0) {
		/* In place: its nodes were made before it was recorded, so this makes none. */
		r = (__u32)old;
		tab = t6_level(d, pos, len, true, &st, &w);
		if (!tab) {
			idx_drop(&d->t.ix, r, true); /* no entry can name it: never reachable */
			return -ENOSPC;
		}
		/* The value slot, then every entry of the prefix. */
		__atomic_store_n(&d->t.val[r], value, __ATOMIC_RELEASE);
	} else {
		ret = idx_alloc(&d->t.ix, &r);
		if (ret)
			return ret;
		tab = t6_level(d, pos, len, true, &st, &w);
		if (!tab) {
			/* Nodes made on the way stay (copies of their parents): harmless. */
			d->t.ix.freed[d->t.ix.nfreed++] = r;
			return -ENOSPC;
		}
		d->t.aux[r] = 0; /* a line is known only to bulk loads */
		__atomic_store_n(&d->t.val[r], value, __ATOMIC_RELEASE);
		idx_set(&d->t.ix, r, addr, len);
	}
	t6_paint(d, tab, bits6(pos, st, w) & ~((1u << (st + w - len)) - 1), 1u << (st + w - len),
		 tab_ent_make(&d->t, r + 1), len, 0);
	if (route)
		*route = r;
	return 0;
}

int wcard_trie_del(struct wcard_trie *d, wc_u128 addr, unsigned int len)
{
	__u32 st, w;
	__u64 *tab;
	long r, cover = -1;
	wc_u128 pos;
	int l, ret;

	if (!d || len > d->bits)
		return -EINVAL;
	ret = tab_derive(&d->t);
	if (ret)
		return ret;
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
			 1u << (st + w - len), tab_ent_make(&d->t, cover + 1), len, r + 1);
	idx_drop(&d->t.ix, r, false);
	return 0;
}
