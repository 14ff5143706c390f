// SPDX-License-Identifier: MIT
#define _GNU_SOURCE /* qsort_r */
/* lpm.c: the LPM object (route lists in BPF's fast structures), routes as rules; libwcard. */
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "lpm_int.h"
#include "wcard_lpm4.skel.h"
#include "compat/wcard_lpm4.skel.h"
#include "core/skel.h"

/*
 * The fast path: IPv4 DIR-24-8 or the small trie, and the IPv6 trie
 * (lpm.bpf.h, dir24.c), in one BPF object. A meta record (a one-element ARRAY,
 * pinned beside the structures' slot maps) says which structures exist and how
 * their images are sized, so another process can reuse the pinned maps.
 * wcard_lpm_layout/ruleset express routes as one-field Tuple Merge rules
 * instead (longest first by priority), the general path the bench compares
 * against.
 */


struct wcard_lpm {
	struct wcard_lpm4 *skel;
	struct wcard_dir24 *d4; /* IPv4, DIR-24-8 */
	struct wcard_trie *t4; /* IPv4, small trie */
	struct wcard_trie *d6;
	struct lpm_meta meta;
	int meta_fd;
};

static int cmp_route(const void *a, const void *b, void *arg)
{
	const struct wcard_route *r = arg;
	const struct wcard_route *x = &r[*(const __u32 *)a], *y = &r[*(const __u32 *)b];

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

void wcard_lpm_destroy(struct wcard_lpm *l)
{
	if (!l)
		return;
	wcard_dir24_close(l->d4);
	wcard_trie_close(l->t4);
	wcard_trie_close(l->d6);
	wcard_lpm4__destroy(l->skel);
	if (l->meta_fd >= 0)
		close(l->meta_fd);
	free(l);
}

static bool same_prefix(const struct wcard_route *a, const struct wcard_route *b)
{
	return b && a->family == b->family && a->len == b->len && a->addr == b->addr;
}

int wcard_lpm_layout(unsigned int family, struct wcard_layout *l)
{
	static const struct wcard_field f4[] = { { WC_FIELD_PREFIX, 4, "dst" } };
	static const struct wcard_field f6[] = { { WC_FIELD_PREFIX, 16, "dst" } };

	return wcard_layout_init(l, family == 6 ? "lpm6" : "lpm4", family == 6 ? f6 : f4, 1, NULL,
				 0);
}

int wcard_lpm_ruleset(const struct wcard_routes *rt, unsigned int family,
		      const struct wcard_layout *l, struct wcard_ruleset *rs, __u32 **route_of)
{
	__u32 *idx = calloc(rt->n ? rt->n : 1, sizeof(*idx)), *ro = NULL;
	unsigned int bits = family == 6 ? 128 : 32;
	size_t i, n = 0;
	int ret = -ENOMEM;

	wcard_ruleset_init(rs, l);
	ro = calloc(rt->n ? rt->n : 1, sizeof(*ro));
	if (!idx || !ro)
		goto out;
	/* Duplicates: the last line wins. Sort, then keep each prefix's last copy. */
	for (i = 0; i < rt->n; i++)
		idx[i] = i;
	qsort_r(idx, rt->n, sizeof(*idx), cmp_route, rt->r);
	for (i = 0; i < rt->n; i++) {
		const struct wcard_route *r = &rt->r[idx[i]];
		const struct wcard_route *nx = i + 1 < rt->n ? &rt->r[idx[i + 1]] : NULL;
		struct wcard_rule rule;

		if (r->family != family || same_prefix(r, nx))
			continue;
		wcard_rule_any(l, &rule);
		ret = wcard_rule_set_prefix(l, &rule, 0, r->addr, r->len);
		if (ret)
			goto out;
		/* Longer prefixes win: priority = bits left out. */
		rule.prio = bits - r->len;
		rule.value = r->value;
		rule.line = r->line;
		ro[n++] = idx[i];
		ret = wcard_ruleset_add(rs, &rule);
		if (ret)
			goto out;
	}
	*route_of = ro;
	ro = NULL;
	ret = 0;
out:
	if (ret)
		wcard_ruleset_free(rs);
	free(ro);
	free(idx);
	return ret;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* Distinct /24 blocks holding IPv4 routes longer than /24: the DIR-24-8 groups rt needs. */
static long dir24_groups_needed(const struct wcard_routes *rt)
{
	__u32 *k = calloc(rt->n ? rt->n : 1, sizeof(*k)), n = 0, i, uniq = 0;

	if (!k)
		return -ENOMEM;
	for (i = 0; i < rt->n; i++)
		if (rt->r[i].family == 4 && rt->r[i].len > 24)
			k[n++] = (__u32)rt->r[i].addr >> 8;
	qsort(k, n, sizeof(*k), cmp_u32);
	for (i = 0; i < n; i++)
		uniq += !i || k[i] != k[i - 1];
	free(k);
	return uniq;
}

/* The handle of structure k (enum of WC_LPM_KINDS), prepared in l's object before its load. */
static int lpm_prepare(struct wcard_lpm *l, int k)
{
	struct bpf_object *obj = l->skel->obj;
	__u32 n = l->meta.max_routes[k], sub = l->meta.max_sub[k];

	if (k == WC_LPM_DIR24)
		return wcard_dir24_prepare(obj, n, sub, &l->d4);
	return k == WC_LPM_TRIE4 ? wcard_trie4_prepare(obj, n, sub, &l->t4) :
				   wcard_lpm6_prepare(obj, n, sub, &l->d6);
}

/* Structure k's handle in l, as the tab they share (NULL: l has none). */
static struct lpm_tab *lpm_tab(const struct wcard_lpm *l, int k)
{
	if (k == WC_LPM_DIR24)
		return l->d4 ? &l->d4->t : NULL;
	if (k == WC_LPM_TRIE4)
		return l->t4 ? &l->t4->t : NULL;
	return l->d6 ? &l->d6->t : NULL;
}

/*
 * The handle of structure k over its slot map pinned under pin_dir, with no
 * BPF object: its live image mapped (it must have one).
 */
static int lpm_open_slot(struct wcard_lpm *l, int k, const char *pin_dir, char *err,
			 size_t errlen)
{
	__u32 n = l->meta.max_routes[k], sub = l->meta.max_sub[k];
	char path[4096], live[4200];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, lpm_slot_names[k]);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	snprintf(live, sizeof(live), "%s_live", path);
	ret = k == WC_LPM_DIR24 ?
		      lpm_dir24_open_pinned(fd, n, sub, live, &l->d4, err, errlen) :
		      lpm_trie_open_pinned(fd, k, 0, n, sub, live, true,
					   k == WC_LPM_TRIE4 ? &l->t4 : &l->d6, err, errlen);
	close(fd); /* the handle holds its own copy */
	return ret;
}

/*
 * Load l's lookup programs, once, over its structures' slot maps: only
 * wcard_lpm_lookup runs BPF, so an LPM opened from its pins to be dumped or
 * changed never loads an object (nor parses the kernel's BTF).
 */
static int lpm_prog(struct wcard_lpm *l)
{
	struct bpf_map *maps[WC_LPM_KINDS];
	struct wcard_lpm4 *s;
	int ret = 0, k;

	if (l->skel)
		return 0;
	s = wcard_skel_open_as(wcard_lpm4, bpf_build_recorded(l->meta.build));
	if (!s)
		return -errno;
	s->rodata->wc_lpm4_trie = l->meta.v4 == WCARD_LPM4_TRIE;
	maps[WC_LPM_DIR24] = s->maps.wc_lpm4_image;
	maps[WC_LPM_TRIE4] = s->maps.wc_trie4_image;
	maps[WC_LPM_TRIE6] = s->maps.wc_lpm6_image;
	for (k = 0; k < WC_LPM_KINDS && !ret; k++) {
		const struct lpm_tab *t = lpm_tab(l, k);

		if (t)
			ret = lpm_object_geom(s->obj, k, t->max_routes, t->max_sub) ?:
				      bpf_map__reuse_fd(maps[k], t->slot);
	}
	if (!ret)
		ret = wcard_lpm4__load(s);
	if (ret) {
		wcard_lpm4__destroy(s);
		return ret;
	}
	l->skel = s;
	return 0;
}

/*
 * Build the object of meta m: a fresh one (pin_dir NULL: structures prepared
 * in a loaded object, a new meta map), or the structures pinned under pin_dir
 * (their object loaded by the first lookup).
 */
static int lpm_build(const struct lpm_meta *m, const char *pin_dir, struct wcard_lpm **out,
		     char *err, size_t errlen)
{
	struct wcard_lpm *l = calloc(1, sizeof(*l));
	char path[4096];
	int ret = -ENOMEM, k;

	if (!l)
		return -ENOMEM;
	l->meta_fd = -1;
	l->meta = *m;
	if (pin_dir) {
		for (k = 0, ret = 0; k < WC_LPM_KINDS && !ret; k++)
			if (m->max_routes[k])
				ret = lpm_open_slot(l, k, pin_dir, err, errlen);
		if (ret)
			goto out;
		snprintf(path, sizeof(path), "%s/meta", pin_dir);
		l->meta_fd = bpf_obj_get(path);
	} else {
		l->meta.build = wcard_bpf_build() + 1;
		l->skel = wcard_skel_open_as(wcard_lpm4, l->meta.build - 1);
		if (!l->skel)
			goto out;
		l->skel->rodata->wc_lpm4_trie = m->v4 == WCARD_LPM4_TRIE;
		for (k = 0, ret = 0; k < WC_LPM_KINDS && !ret; k++)
			if (m->max_routes[k])
				ret = lpm_prepare(l, k);
		if (!ret)
			ret = wcard_lpm4__load(l->skel);
		if (ret) {
			char why[256], hint[256];

			if (wcard_probe_kernel(why, sizeof(why)))
				snprintf(err, errlen, "loading the LPM programs: %s", why);
			else
				snprintf(err, errlen, "loading the LPM programs: %s%s",
					 strerror(-ret), wcard_load_hint(ret, hint, sizeof(hint)));
			goto out;
		}
		if (l->d4)
			ret = wcard_dir24_open(l->d4, err, errlen);
		if (!ret && l->t4)
			ret = wcard_trie_open(l->t4, err, errlen);
		if (!ret && l->d6)
			ret = wcard_trie_open(l->d6, err, errlen);
		if (ret)
			goto out;
		l->meta_fd = lpm_meta_create(&l->meta);
		if (l->meta_fd < 0)
			errno = -l->meta_fd;
	}
	if (l->meta_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "LPM meta record: %s", strerror(errno));
		goto out;
	}
	*out = l;
	l = NULL;
out:
	wcard_lpm_destroy(l);
	return ret;
}

/*
 * Check that rt fits l's structures before anything changes: the route slots
 * and blocks each family needs. 0 or -E2BIG/-ENOSPC with err set.
 */
static int lpm_fits(const struct wcard_lpm *l, const struct wcard_routes *rt, char *err,
		    size_t errlen)
{
	const struct lpm_meta *m = &l->meta;
	int k4 = m->v4 == WCARD_LPM4_TRIE ? WC_LPM_TRIE4 : WC_LPM_DIR24;
	long need[WC_LPM_KINDS] = { 0 };

	need[k4] = k4 == WC_LPM_TRIE4 ? wcard_trie4_nodes_needed(rt) : dir24_groups_needed(rt);
	need[WC_LPM_TRIE6] = wcard_lpm6_nodes_needed(rt);
	if (need[k4] < 0 || need[WC_LPM_TRIE6] < 0)
		return -ENOMEM;
	if (rt->n > m->max_routes[k4] || rt->n > m->max_routes[WC_LPM_TRIE6]) {
		snprintf(err, errlen, "%zu routes exceed the %u this LPM was created for", rt->n,
			 m->max_routes[k4] < m->max_routes[WC_LPM_TRIE6] ? m->max_routes[k4] :
								      m->max_routes[WC_LPM_TRIE6]);
		return -E2BIG;
	}
	if (need[k4] > m->max_sub[k4] || need[WC_LPM_TRIE6] > m->max_sub[WC_LPM_TRIE6]) {
		snprintf(err, errlen,
			 "the routes need %ld IPv4 %s and %ld IPv6 trie nodes; this LPM has room for "
			 "%u and %u",
			 need[k4], k4 == WC_LPM_TRIE4 ? "trie nodes" : "tbl8 groups", need[WC_LPM_TRIE6],
			 m->max_sub[k4], m->max_sub[WC_LPM_TRIE6]);
		return -ENOSPC;
	}
	return 0;
}

static int lpm_load4(struct wcard_lpm *l, const struct wcard_routes *rt, char *err, size_t errlen)
{
	return l->t4 ? wcard_trie_load(l->t4, rt, err, errlen) :
		       wcard_dir24_load(l->d4, rt, err, errlen);
}

int wcard_lpm_load(struct wcard_lpm *l, const struct wcard_routes *rt, char *err, size_t errlen)
{
	struct wcard_routes old4 = { 0 };
	int ret;

	if (!l || !rt)
		return -EINVAL;
	ret = lpm_fits(l, rt, err, errlen);
	/* The IPv4 routes now, to put back if IPv6 fails after IPv4 was swapped. */
	if (!ret)
		ret = l->t4 ? wcard_trie_dump(l->t4, &old4) : wcard_dir24_dump(l->d4, &old4);
	if (!ret)
		ret = lpm_load4(l, rt, err, errlen);
	if (!ret) {
		ret = wcard_trie_load(l->d6, rt, err, errlen);
		if (ret)
			lpm_load4(l, &old4, NULL, 0);
	}
	wcard_routes_free(&old4);
	return ret;
}

static __u32 with_spare(size_t n, size_t minimum)
{
	size_t s = n + (n / 4 > minimum ? n / 4 : minimum);

	return s > (1u << 30) ? 1u << 30 : (__u32)s;
}

int wcard_lpm_create(const struct wcard_routes *rt, const struct wcard_lpm_opts *opts,
		     struct wcard_lpm **out, char *err, size_t errlen)
{
	struct wcard_lpm_opts o = opts ? *opts : (struct wcard_lpm_opts){ 0 };
	struct lpm_meta m = { .magic = LPM_MAGIC, .version = LPM_VERSION, .v4 = o.v4 };
	static const struct wcard_routes none;
	int k4 = o.v4 == WCARD_LPM4_TRIE ? WC_LPM_TRIE4 : WC_LPM_DIR24, ret;
	long n4, n6;

	if (!out || (o.v4 != WCARD_LPM4_DIR24 && o.v4 != WCARD_LPM4_TRIE)) {
		snprintf(err, errlen, "unknown IPv4 LPM structure %d", o.v4);
		return -EINVAL;
	}
	if (!rt)
		rt = &none;
	n4 = k4 == WC_LPM_TRIE4 ? wcard_trie4_nodes_needed(rt) : dir24_groups_needed(rt);
	n6 = wcard_lpm6_nodes_needed(rt);
	if (n4 < 0 || n6 < 0)
		return -ENOMEM;
	/*
	 * Room for online changes: spare route slots (a deleted one is reused only
	 * after a grace period) and blocks; 2 KiB each.
	 */
	m.max_routes[k4] = m.max_routes[WC_LPM_TRIE6] =
		o.max_routes ? o.max_routes : with_spare(rt->n, 1024);
	m.max_sub[k4] = o.max_blocks ? o.max_blocks : with_spare((size_t)n4, 1024);
	m.max_sub[WC_LPM_TRIE6] = o.max_blocks ? o.max_blocks : with_spare((size_t)n6, 1024);
	ret = lpm_build(&m, NULL, out, err, errlen);
	if (!ret) {
		ret = wcard_lpm_load(*out, rt, err, errlen);
		if (ret) {
			wcard_lpm_destroy(*out);
			*out = NULL;
		}
	}
	return ret;
}

int wcard_lpm_pin(struct wcard_lpm *l, const char *dir, char *err, size_t errlen)
{
	char path[4096];
	int k, ret = 0;

	if (!l || !dir)
		return -EINVAL;
	ret = bpffs_mkdirs(dir, err, errlen);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/meta", dir);
	if (bpf_obj_pin(l->meta_fd, path)) {
		ret = -errno;
		snprintf(err, errlen, "pinning %s: %s%s", path, strerror(errno),
			 errno == EEXIST ? " (an LPM is already pinned there)" : "");
		return ret;
	}
	for (k = 0; k < WC_LPM_KINDS && !ret; k++) {
		if (!l->meta.max_routes[k])
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, lpm_slot_names[k]);
		if (bpf_obj_pin(lpm_tab(l, k)->slot, path)) {
			ret = -errno;
			snprintf(err, errlen, "pinning %s: %s", path, strerror(errno));
		}
	}
	/* The live images too: a reopen finds them by path (lpm_tab_reuse), not by id. */
	for (k = 0; k < WC_LPM_KINDS && !ret; k++) {
		if (!l->meta.max_routes[k])
			continue;
		snprintf(path, sizeof(path), "%s/%s_live", dir, lpm_slot_names[k]);
		ret = k == WC_LPM_DIR24 ? lpm_dir24_pin_live(l->d4, path) :
				     lpm_trie_pin_live(k == WC_LPM_TRIE4 ? l->t4 : l->d6, path);
		if (ret)
			snprintf(err, errlen, "pinning %s: %s", path, strerror(-ret));
	}
	/* Nothing half-pinned. */
	if (ret) {
		for (k = 0; k < WC_LPM_KINDS; k++)
			if (l->meta.max_routes[k])
				k == WC_LPM_DIR24 ? lpm_dir24_pin_live(l->d4, NULL) :
					       lpm_trie_pin_live(k == WC_LPM_TRIE4 ? l->t4 : l->d6, NULL);
		wcard_lpm_unpin(dir);
	}
	return ret;
}

int wcard_lpm_unpin(const char *dir)
{
	char path[4096];
	int k, ret = 0;

	for (k = -1; k < WC_LPM_KINDS; k++) {
		static const char *const sfx[] = { "", "_live", "_live_next" };
		unsigned int i;

		for (i = 0; i < (k < 0 ? 1 : 3); i++) {
			snprintf(path, sizeof(path), "%s/%s%s", dir, k < 0 ? "meta" : lpm_slot_names[k],
				 sfx[i]);
			if (unlink(path) && errno != ENOENT)
				ret = -errno;
		}
	}
	if (rmdir(dir) && errno != ENOENT && !ret)
		ret = -errno;
	return ret;
}

int lpm_meta_create(const struct lpm_meta *m)
{
	__u32 zero = 0;
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "wc_lpm_meta", 4, sizeof(*m), 1, NULL);

	if (fd < 0)
		return -errno;
	if (bpf_map_update_elem(fd, &zero, m, BPF_ANY)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

int lpm_meta_read(const char *path, struct lpm_meta *m, char *err, size_t errlen)
{
	__u32 zero = 0;
	int fd, ret = 0, k;

	fd = bpf_obj_get(path);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
			 errno == ENOENT ? " (no LPM pinned there)" : "");
		return ret;
	}
	memset(m, 0, sizeof(*m));
	if (bpf_map_lookup_elem(fd, &zero, m))
		ret = -errno;
	close(fd);
	if (ret) {
		snprintf(err, errlen, "%s: %s (not an LPM meta record)", path, strerror(-ret));
		return ret;
	}
	if (m->magic != LPM_MAGIC || m->version != LPM_VERSION ||
	    (m->v4 != WCARD_LPM4_DIR24 && m->v4 != WCARD_LPM4_TRIE)) {
		snprintf(err, errlen,
			 "%s: not a wcard LPM of this version (magic %08x version %u, want %08x "
			 "version %u)",
			 path, m->magic, m->version, LPM_MAGIC, LPM_VERSION);
		return -EPROTO;
	}
	for (k = 0; k < WC_LPM_KINDS; k++)
		if (m->max_routes[k] && !m->max_sub[k]) {
			snprintf(err, errlen, "%s: corrupt meta record", path);
			return -EPROTO;
		}
	return 0;
}

int wcard_lpm_open_pinned(const char *dir, struct wcard_lpm **out, char *err, size_t errlen)
{
	struct lpm_meta m;
	char path[4096];
	int ret;

	if (!dir || !out)
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/meta", dir);
	ret = lpm_meta_read(path, &m, err, errlen);
	return ret ? ret : lpm_build(&m, dir, out, err, errlen);
}

int wcard_lpm_add(struct wcard_lpm *l, unsigned int family, wc_u128 addr, unsigned int len,
		  __u64 value)
{
	if (!l || (family != 4 && family != 6))
		return -EINVAL;
	if (family == 6)
		return wcard_trie_add(l->d6, addr, len, value, NULL);
	return l->t4 ? wcard_trie_add(l->t4, addr, len, value, NULL) :
		       wcard_dir24_add(l->d4, (__u32)addr, len, value, NULL);
}

int wcard_lpm_del(struct wcard_lpm *l, unsigned int family, wc_u128 addr, unsigned int len)
{
	if (!l || (family != 4 && family != 6))
		return -EINVAL;
	if (family == 6)
		return wcard_trie_del(l->d6, addr, len);
	return l->t4 ? wcard_trie_del(l->t4, addr, len) : wcard_dir24_del(l->d4, (__u32)addr, len);
}

int wcard_lpm_dump(const struct wcard_lpm *l, struct wcard_routes *out)
{
	int ret;

	if (!l || !out)
		return -EINVAL;
	ret = l->t4 ? wcard_trie_dump(l->t4, out) : wcard_dir24_dump(l->d4, out);
	return ret ?: wcard_trie_dump(l->d6, out);
}

size_t wcard_lpm_bytes(const struct wcard_lpm *l)
{
	return l ? wcard_dir24_bytes(l->d4) + wcard_trie_bytes(l->t4) + wcard_trie_bytes(l->d6) : 0;
}

int wcard_lpm_query(struct wcard_lpm *l, unsigned int family, wc_u128 addr,
		    struct wcard_route *match)
{
	const void *s = family == 6 ? (const void *)l->d6 :
			l->t4	    ? (const void *)l->t4 :
				      (const void *)l->d4;
	unsigned int len;
	long route;
	int ret;

	if (!match)
		return -EINVAL;
	ret = wcard_lpm_lookup(l, family, addr, &route);
	if (ret || route < 0)
		return ret ? ret : 0;
	if (!lpm_route_prefix(s, (__u32)route, &match->addr, &len))
		return -ESTALE; /* deleted while we looked: the caller may retry */
	match->family = (__u8)family;
	match->len = (__u8)len;
	match->value = l->skel->bss->wc_lpm_value;
	match->line = (unsigned int)route + 1;
	return 1;
}

int wcard_lpm_lookup(struct wcard_lpm *l, unsigned int family, wc_u128 addr, long *route)
{
	__u64 a[2] = { (__u64)(addr >> 64), (__u64)addr };
	__u32 a4 = (__u32)addr;
	__u8 pkt[64] = {}, back[64];
	/*
	 * The frame comes back into back[]: unused, but memcheck's model of this
	 * command checks data_out against the input's size even when it is NULL.
	 */
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .data_out = back, .data_size_out = sizeof(back), .repeat = 1);

	int ret;

	if (!l || !route || (family != 4 && family != 6))
		return -EINVAL;
	ret = lpm_prog(l);
	if (ret)
		return ret;
	if (family == 4)
		memcpy(pkt, &a4, sizeof(a4));
	else
		memcpy(pkt, a, sizeof(a));
	if (bpf_prog_test_run_opts(bpf_program__fd(family == 4 ? l->skel->progs.wc_lpm4_run :
								  l->skel->progs.wc_lpm6_run),
				   &o))
		return -errno;
	if (l->skel->bss->wc_lpm_ret < 0)
		return l->skel->bss->wc_lpm_ret;
	*route = l->skel->bss->wc_lpm_ret ? (long)l->skel->bss->wc_lpm_route : -1;
	return 0;
}
