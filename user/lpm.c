// SPDX-License-Identifier: MIT
#define _GNU_SOURCE /* qsort_r */
/* lpm.c: longest-prefix match in BPF for route lists: the fast structures, and routes as Tuple Merge rules. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "wcard_lpm4.skel.h"

/*
 * The fast path: IPv4 DIR-24-8 and an IPv6 multibit trie (lpm.bpf.h, dir24.c),
 * both in one BPF object. wcard_lpm_layout/ruleset express routes as one-field
 * Tuple Merge rules instead (longest first by priority), the general path the
 * bench compares against.
 */
struct wcard_lpm {
	struct wcard_lpm4 *skel;
	struct wcard_dir24 *d4; /* IPv4, DIR-24-8 */
	struct wcard_trie *t4; /* IPv4, small trie */
	struct wcard_trie *d6;
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

int wcard_lpm_create(const struct wcard_routes *rt, const struct wcard_lpm_opts *opts,
		     struct wcard_lpm **out, char *err, size_t errlen)
{
	bool trie4 = opts && opts->v4 == WCARD_LPM4_TRIE;
	struct wcard_lpm *l = calloc(1, sizeof(*l));
	long n6 = wcard_lpm6_nodes_needed(rt), n4t = trie4 ? wcard_trie4_nodes_needed(rt) : 0;
	size_t n4 = 0, k, spare;
	int ret = -ENOMEM;

	if (!l || n6 < 0 || n4t < 0)
		goto out;
	if (opts && opts->v4 != WCARD_LPM4_DIR24 && !trie4) {
		snprintf(err, errlen, "unknown IPv4 LPM structure %d", opts->v4);
		ret = -EINVAL;
		goto out;
	}
	/*
	 * IPv4: a group per /24 block that holds longer prefixes (at most one per
	 * such route), or as many trie nodes as the routes need. IPv6: trie nodes.
	 */
	for (k = 0; k < rt->n; k++)
		n4 += rt->r[k].family == 4 && rt->r[k].len > 24;
	l->skel = wcard_lpm4__open();
	if (!l->skel)
		goto out;
	l->skel->rodata->wc_lpm4_trie = trie4;
	/* Spare route slots: a deleted one is reused only after a grace period. */
	spare = rt->n / 8 > 1024 ? rt->n / 8 : 1024;
	if (trie4)
		ret = wcard_trie4_prepare(l->skel->obj, rt->n + spare, n4t ? n4t : 1);
	else
		ret = wcard_dir24_prepare(l->skel->obj, rt->n + spare, n4 ? n4 : 1);
	if (!ret)
		ret = wcard_lpm6_prepare(l->skel->obj, rt->n + spare, n6 ? n6 : 1);
	if (!ret)
		ret = wcard_lpm4__load(l->skel);
	if (ret) {
		snprintf(err, errlen, "loading the LPM programs: %s (root or CAP_BPF needed)",
			 strerror(-ret));
		goto out;
	}
	if (trie4) {
		ret = wcard_trie4_open(l->skel->obj, &l->t4, err, errlen);
		if (!ret)
			ret = wcard_trie_load(l->t4, rt, err, errlen);
	} else {
		ret = wcard_dir24_open(l->skel->obj, &l->d4, err, errlen);
		if (!ret)
			ret = wcard_dir24_load(l->d4, rt, err, errlen);
	}
	if (!ret)
		ret = wcard_lpm6_open(l->skel->obj, &l->d6, err, errlen);
	if (!ret)
		ret = wcard_trie_load(l->d6, rt, err, errlen);
	if (ret)
		goto out;
	*out = l;
	l = NULL;
out:
	wcard_lpm_destroy(l);
	return ret;
}

size_t wcard_lpm_bytes(const struct wcard_lpm *l)
{
	return l ? wcard_dir24_bytes(l->d4) + wcard_trie_bytes(l->t4) + wcard_trie_bytes(l->d6) : 0;
}

int wcard_lpm_lookup(struct wcard_lpm *l, unsigned int family, wc_u128 addr, long *route)
{
	__u64 a[2] = { (__u64)(addr >> 64), (__u64)addr };
	__u32 a4 = (__u32)addr;
	__u8 pkt[64] = {};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .repeat = 1);

	if (!l || !route || (family != 4 && family != 6))
		return -EINVAL;
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
