// SPDX-License-Identifier: MIT
#define _GNU_SOURCE /* qsort_r */
/* dir24.c: builds the DIR-24-8 IPv4 LPM tables of include/wcard/lpm.bpf.h in their mmapped maps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>

#define LPM_GROUP (1U << 31)

struct wcard_dir24 {
	__u32 *tbl24, *tbl8;
	__u64 *val;
	size_t len24, len8, lenval;
	__u32 max_groups, max_routes, groups_used;
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

static void *map_mmap(struct bpf_map *m, size_t *len)
{
	size_t page = sysconf(_SC_PAGESIZE);
	void *p;

	*len = ((size_t)bpf_map__value_size(m) * bpf_map__max_entries(m) + page - 1) & ~(page - 1);
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(m), 0);
	return p == MAP_FAILED ? NULL : p;
}

void wcard_dir24_close(struct wcard_dir24 *d)
{
	if (!d)
		return;
	if (d->tbl24)
		munmap(d->tbl24, d->len24);
	if (d->tbl8)
		munmap(d->tbl8, d->len8);
	if (d->val)
		munmap(d->val, d->lenval);
	free(d);
}

int wcard_dir24_open(struct bpf_object *obj, struct wcard_dir24 **out, char *err, size_t errlen)
{
	struct bpf_map *t24 = bpf_object__find_map_by_name(obj, "wc_lpm4_tbl24");
	struct bpf_map *t8 = bpf_object__find_map_by_name(obj, "wc_lpm4_tbl8");
	struct bpf_map *v = bpf_object__find_map_by_name(obj, "wc_lpm4_val");
	struct wcard_dir24 *d;

	if (!t24 || !t8 || !v) {
		snprintf(err, errlen, "BPF object has no DIR-24-8 maps (include <wcard/lpm.bpf.h>)");
		return -ENOENT;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->tbl24 = map_mmap(t24, &d->len24);
	d->tbl8 = map_mmap(t8, &d->len8);
	d->val = map_mmap(v, &d->lenval);
	if (!d->tbl24 || !d->tbl8 || !d->val) {
		int e = errno;

		wcard_dir24_close(d);
		snprintf(err, errlen, "mmap of the DIR-24-8 maps: %s", strerror(e));
		return -e;
	}
	d->max_groups = bpf_map__max_entries(t8) / 128;
	d->max_routes = bpf_map__max_entries(v);
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
	return 0;
}

size_t wcard_dir24_bytes(const struct wcard_dir24 *d)
{
	return d ? ((size_t)1 << 24) * 4 + (size_t)d->groups_used * 1024 +
			   (size_t)d->max_routes * 8 :
		   0;
}
