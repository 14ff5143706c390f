// SPDX-License-Identifier: MIT
#define _GNU_SOURCE /* qsort_r */
/* dir24.c: the DIR-24-8 IPv4 structure of lpm.bpf.h: handle, bulk load, online changes; libwcard */
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "lpm_int.h"

void wcard_dir24_close(struct wcard_dir24 *d)
{
	if (!d)
		return;
	tab_close(&d->t);
	free(d);
}

/* A DIR-24-8 handle of obj (NULL: opened from its pins), tab_init'ed. */
static struct wcard_dir24 *dir24_new(struct bpf_object *obj)
{
	struct wcard_dir24 *d = calloc(1, sizeof(*d));

	if (d)
		tab_init(&d->t, obj, WC_LPM_DIR24, 0);
	return d;
}

int wcard_dir24_prepare(struct bpf_object *obj, __u32 max_routes, __u32 max_groups,
			struct wcard_dir24 **out)
{
	struct wcard_dir24 *d;
	int ret;

	if (!obj || !out)
		return -EINVAL;
	d = dir24_new(obj);
	if (!d)
		return -ENOMEM;
	ret = tab_prepare(&d->t, max_routes, max_groups);
	if (ret) {
		wcard_dir24_close(d);
		return ret;
	}
	*out = d;
	return 0;
}

int lpm_dir24_open_pinned(int slot_fd, __u32 max_routes, __u32 max_sub, const char *live,
			  struct wcard_dir24 **out, char *err, size_t errlen)
{
	struct wcard_dir24 *d;
	int ret;

	if (slot_fd < 0 || !out)
		return -EINVAL;
	d = dir24_new(NULL);
	if (!d)
		return -ENOMEM;
	ret = tab_open_pinned(&d->t, slot_fd, max_routes, max_sub, live, true, err, errlen);
	if (ret) {
		wcard_dir24_close(d);
		return ret;
	}
	*out = d;
	return 0;
}

int wcard_dir24_open(struct wcard_dir24 *d, char *err, size_t errlen)
{
	return d ? tab_open(&d->t, err, errlen) : -EINVAL;
}

static int by_start_len_line(const void *a, const void *b, void *arg)
{
	const struct wcard_route *r = arg, *x = &r[*(const __u32 *)a], *y = &r[*(const __u32 *)b];

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return tab_by_len_line(a, b, arg);
}

static void d24_fill(__u64 *top, __u32 from, __u32 to, __u64 ent)
{
	/* A fresh image is zero: entries of no route are never touched. */
	for (; ent && from < to; from++)
		top[from] = ent;
}

/*
 * tbl24 from the n routes of /24 or shorter (idx into rt), writing each entry
 * once: prefixes nest or are disjoint, so a sweep in address order with a
 * stack of the prefixes around the current position (at most 25 deep) knows
 * the longest one everywhere. Painting shortest first instead wrote a /0's 16M
 * entries, then a /1's 8M over them, and so on (1.4 s for 2000 random routes).
 */
static int d24_sweep(struct wcard_dir24 *d, const struct wcard_routes *rt, const __u32 *idx,
		     __u32 n)
{
	__u32 *o = malloc((n ? n : 1) * sizeof(*o)), st[25], sp = 0, pos = 0, i;

	if (!o)
		return -ENOMEM;
	memcpy(o, idx, n * sizeof(*o));
	qsort_r(o, n, sizeof(*o), by_start_len_line, rt->r);
	for (i = 0; i < n; i++) {
		const struct wcard_route *r = &rt->r[o[i]];
		__u32 s = (__u32)r->addr >> 8;

		while (sp) {
			const struct wcard_route *t = &rt->r[st[sp - 1]];
			__u32 te = ((__u32)t->addr >> 8) + (1u << (24 - t->len));

			if (te > s)
				break;
			d24_fill(d->t.top, pos, te, tab_ent_make(&d->t, st[sp - 1] + 1));
			pos = te;
			sp--;
		}
		if (sp)
			d24_fill(d->t.top, pos, s, tab_ent_make(&d->t, st[sp - 1] + 1));
		pos = s;
		/* The same prefix again (sorted by line): the last one wins. */
		if (sp && rt->r[st[sp - 1]].len == r->len && rt->r[st[sp - 1]].addr == r->addr)
			st[sp - 1] = o[i];
		else if (sp < 25)
			st[sp++] = o[i]; /* always: 25 nested lengths /0-/24 at most */
	}
	while (sp) {
		const struct wcard_route *t = &rt->r[st[sp - 1]];
		__u32 te = ((__u32)t->addr >> 8) + (1u << (24 - t->len));

		d24_fill(d->t.top, pos, te, tab_ent_make(&d->t, st[sp - 1] + 1));
		pos = te;
		sp--;
	}
	free(o);
	return 0;
}

/*
 * Build the IPv4 routes of rt into a new image: tbl24 in one sweep, then each
 * route longer than /24, shortest first, turns its tbl24 entry into a group
 * that starts as the entry's route and paints its part (among equal prefixes
 * the last line wins). Route index = index in rt.
 */
int wcard_dir24_load(struct wcard_dir24 *d, const struct wcard_routes *rt, char *err,
		     size_t errlen)
{
	__u32 *idx, n, i, short_n = 0, groups = 0;
	struct tab_load old;
	int ret;

	if (!d || !rt)
		return -EINVAL;
	ret = tab_order(&d->t, rt, 4, &old, &idx, &n, err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		d->t.val[idx[i]] = rt->r[idx[i]].value;
		d->t.aux[idx[i]] = rt->r[idx[i]].line;
		short_n += rt->r[idx[i]].len <= 24;
	}
	/* idx is by length: the /24-or-shorter routes come first. */
	ret = d24_sweep(d, rt, idx, short_n);
	if (ret)
		snprintf(err, errlen, "%s", strerror(-ret));
	for (i = short_n; !ret && i < n; i++) {
		const struct wcard_route *r = &rt->r[idx[i]];
		__u64 ent = tab_ent_make(&d->t, idx[i] + 1), prev;
		__u32 a = (__u32)r->addr, k, cnt;

		if (!(d->t.top[a >> 8] & WC_LPM_GROUP)) {
			__u32 g = groups++;

			prev = d->t.top[a >> 8];

			if (g >= d->t.max_sub) {
				snprintf(err, errlen,
					 "more than %u /24 blocks hold longer prefixes (tbl8 groups)",
					 d->t.max_sub);
				ret = -ENOSPC;
				break;
			}
			for (k = 0; k < 256; k++)
				d->t.sub[g * 256 + k] = prev;
			d->t.top[a >> 8] = WC_LPM_GROUP | g;
		}
		cnt = 1u << (32 - r->len);
		for (k = 0; k < cnt; k++)
			d->t.sub[(d->t.top[a >> 8] & ~WC_LPM_GROUP) * 256 + (a & 0xff) + k] = ent;
	}
	d->t.sub_used = groups;
	free(idx);
	return tab_load_end(&d->t, &old, ret, rt, 4, err, errlen);
}

int wcard_dir24_dump(const struct wcard_dir24 *d, struct wcard_routes *out)
{
	return d && out ? tab_dump(&d->t, 4, out) : -EINVAL;
}

size_t wcard_dir24_bytes(const struct wcard_dir24 *d)
{
	return d ? tab_bytes(&d->t) : 0;
}

/* ---- online IPv4 updates ---------------------------------------------------- */

/*
 * Set every entry of [first, first + cnt) of tab that holds no route or one no
 * longer than len to ent (entries of longer routes keep them); with old (a
 * route slot + 1: a delete) only the entries that hold old change. Groups
 * inside a tbl24 range are painted entry by entry. Every write is one 8-byte
 * store: route and value change together.
 */
static void d24_paint(struct wcard_dir24 *d, __u64 *tab, __u32 first, __u32 cnt, __u64 ent,
		      int len, __u32 old, bool top)
{
	__u32 k;

	for (k = first; k < first + cnt; k++) {
		__u64 e = __atomic_load_n(&tab[k], __ATOMIC_RELAXED);

		if (top && (e & WC_LPM_GROUP)) {
			d24_paint(d, &d->t.sub[WC_LPM_KEY(e & ~WC_LPM_GROUP) * 256], 0, 256, ent, len, old,
				  false);
			continue;
		}
		if (old ? WC_LPM_KEY(e) == old : idx_len(&d->t.ix, WC_LPM_KEY(e)) <= len)
			__atomic_store_n(&tab[k], ent, __ATOMIC_RELEASE);
	}
}

/* Paint the IPv4 prefix addr/len's range with ent (as d24_paint, old and all). */
static int d24_paint_prefix(struct wcard_dir24 *d, __u32 addr, unsigned int len, __u64 ent,
			    __u32 old)
{
	__u64 e;

	if (len <= 24) {
		d24_paint(d, d->t.top, addr >> 8, 1u << (24 - len), ent, len, old, true);
		return 0;
	}
	e = d->t.top[addr >> 8];
	if (!(e & WC_LPM_GROUP))
		return -ENOENT;
	d24_paint(d, &d->t.sub[WC_LPM_KEY(e & ~WC_LPM_GROUP) * 256], addr & 0xff, 1u << (32 - len), ent,
		  len, old, false);
	return 0;
}

/*
 * An add paints the whole prefix by length, never only the entries holding its
 * own slot: the same add again then repairs what a writer killed midway left
 * (the prefix recorded in the image, so the reopened index knows it, and only
 * part of its range painted, or its group not yet linked). An add of a prefix
 * already whole changes just what names it: the other entries of its range
 * belong to longer routes.
 */
int wcard_dir24_add(struct wcard_dir24 *d, __u32 addr, unsigned int len, __u64 value,
		    __u32 *route)
{
	__u64 ent;
	__u32 r;
	long old;
	int ret;

	if (!d || len > 32)
		return -EINVAL;
	ret = tab_derive(&d->t);
	if (ret)
		return ret;
	addr &= len ? ~0u << (32 - len) : 0;
	old = idx_find(&d->t.ix, addr, len);
	if (old >= 0) {
		/* The same prefix again: the last one wins, in place. */
		r = (__u32)old;
		__atomic_store_n(&d->t.val[r], value, __ATOMIC_RELEASE);
	} else {
		ret = idx_alloc(&d->t.ix, &r);
		if (ret)
			return ret;
		/* Value first: the route is reachable only once an entry holds it. */
		d->t.aux[r] = 0; /* a line is known only to bulk loads */
		__atomic_store_n(&d->t.val[r], value, __ATOMIC_RELEASE);
		idx_set(&d->t.ix, r, addr, len);
	}
	ent = tab_ent_make(&d->t, r + 1);
	if (len <= 24) {
		d24_paint(d, d->t.top, addr >> 8, 1u << (24 - len), ent, len, 0, true);
	} else {
		__u32 t = addr >> 8;
		__u64 e = d->t.top[t];

		if (!(e & WC_LPM_GROUP)) {
			__u32 g = d->t.sub_used, k;

			/* No entry can name a route longer than /24 without its group. */
			if (g >= d->t.max_sub) {
				idx_drop(&d->t.ix, r, true); /* never reachable */
				return -ENOSPC;
			}
			/* The group is complete before the tbl24 entry points at it. */
			for (k = 0; k < 256; k++)
				d->t.sub[g * 256 + k] = e;
			d->t.sub_used++;
			__atomic_store_n(&d->t.top[t], WC_LPM_GROUP | g, __ATOMIC_RELEASE);
			e = WC_LPM_GROUP | g;
		}
		d24_paint(d, &d->t.sub[WC_LPM_KEY(e & ~WC_LPM_GROUP) * 256], addr & 0xff, 1u << (32 - len),
			  ent, len, 0, false);
	}
	if (route)
		*route = r;
	return 0;
}

int wcard_dir24_del(struct wcard_dir24 *d, __u32 addr, unsigned int len)
{
	long r, cover = -1;
	int l, ret;

	if (!d || len > 32)
		return -EINVAL;
	ret = tab_derive(&d->t);
	if (ret)
		return ret;
	addr &= len ? ~0u << (32 - len) : 0;
	r = idx_find(&d->t.ix, addr, len);
	if (r < 0)
		return -ENOENT;
	/* The covering route takes the deleted one's entries back. */
	for (l = (int)len - 1; l >= 0 && cover < 0; l--)
		cover = idx_find(&d->t.ix, addr & (l ? ~0u << (32 - l) : 0), l);
	d24_paint_prefix(d, addr, len, tab_ent_make(&d->t, cover + 1), r + 1);
	/* Reusable after a grace period: lookups in flight may still report it. */
	idx_drop(&d->t.ix, r, false);
	return 0;
}
