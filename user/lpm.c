// SPDX-License-Identifier: MIT
#define _GNU_SOURCE /* qsort_r */
/* lpm.c: longest-prefix match over the BPF Tuple Merge classifier (one prefix field per family). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "wcard_key.skel.h"
#include "wcard_lpm4.skel.h"

/*
 * IPv4 uses DIR-24-8 (lpm.bpf.h, dir24.c): one or two ARRAY reads. IPv6 uses
 * the general path for now: a route is a rule with one PREFIX field whose
 * priority is the number of bits it leaves out, so the longest matching
 * prefix wins; Tuple Merge keeps one table per (relaxed) length, visited
 * longest first with an early stop at the first match. A multibit IPv6
 * structure is the next step (see the LPM issue).
 */
struct lpm_fam {
	struct wcard_key *skel;
	struct wcard_clf *clf;
	struct wcard_layout layout;
	__u32 *route_of; /* rule id -> index in the route list */
	size_t n;
};

struct wcard_lpm {
	struct lpm_fam f[2]; /* [1]: IPv6 (Tuple Merge); [0] unused */
	struct wcard_lpm4 *skel4; /* IPv4: DIR-24-8 */
	struct wcard_dir24 *d4;
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

/* The lookup program and classifier of one family, sized for n routes. */
static int fam_open(struct lpm_fam *fm, size_t n, char *err, size_t errlen)
{
	struct wcard_clf_opts o = { .layout = &fm->layout, .algo = WC_ALGO_TM };
	__u32 max = n < 64 ? 64 : n;
	int ret;

	if (n > WC_MAX_RULES) {
		snprintf(err, errlen, "%zu %s routes exceed the limit of %u", n, fm->layout.name,
			 WC_MAX_RULES);
		return -E2BIG;
	}
	fm->skel = wcard_key__open();
	if (!fm->skel)
		return -errno;
	ret = wcard_object_prepare(fm->skel->obj, max);
	if (!ret)
		ret = wcard_key__load(fm->skel);
	if (ret) {
		snprintf(err, errlen, "loading the lookup program: %s (root or CAP_BPF needed)",
			 strerror(-ret));
		return ret;
	}
	return wcard_clf_from_object(fm->skel->obj, "wc_key_lookup", &o, &fm->clf, err, errlen);
}

void wcard_lpm_destroy(struct wcard_lpm *l)
{
	unsigned int i;

	if (!l)
		return;
	for (i = 0; i < 2; i++) {
		wcard_clf_destroy(l->f[i].clf);
		wcard_key__destroy(l->f[i].skel);
		free(l->f[i].route_of);
	}
	wcard_dir24_close(l->d4);
	wcard_lpm4__destroy(l->skel4);
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

int wcard_lpm_create(const struct wcard_routes *rt, struct wcard_lpm **out, char *err,
		     size_t errlen)
{
	struct wcard_ruleset rs[2];
	struct wcard_lpm *l = calloc(1, sizeof(*l));
	unsigned int i;
	int ret = -ENOMEM;

	wcard_ruleset_init(&rs[0], NULL);
	wcard_ruleset_init(&rs[1], NULL);
	if (!l)
		goto out;
	/* IPv4: DIR-24-8, groups for every /24 block that holds longer prefixes. */
	{
		size_t n4 = 0, k;

		for (k = 0; k < rt->n; k++)
			n4 += rt->r[k].family == 4 && rt->r[k].len > 24;
		l->skel4 = wcard_lpm4__open();
		if (!l->skel4)
			goto out;
		ret = wcard_dir24_prepare(l->skel4->obj, rt->n ? rt->n : 1, n4 ? n4 : 1);
		if (!ret)
			ret = wcard_lpm4__load(l->skel4);
		if (ret) {
			snprintf(err, errlen, "loading the IPv4 lookup program: %s (root or CAP_BPF "
					      "needed)",
				 strerror(-ret));
			goto out;
		}
		ret = wcard_dir24_open(l->skel4->obj, &l->d4, err, errlen);
		if (!ret)
			ret = wcard_dir24_load(l->d4, rt, err, errlen);
		if (ret)
			goto out;
	}
	for (i = 1; i < 2; i++) {
		ret = wcard_lpm_layout(i ? 6 : 4, &l->f[i].layout);
		if (!ret)
			ret = wcard_lpm_ruleset(rt, i ? 6 : 4, &l->f[i].layout, &rs[i],
						&l->f[i].route_of);
		if (!ret)
			ret = fam_open(&l->f[i], rs[i].n, err, errlen);
		if (!ret)
			ret = wcard_clf_load(l->f[i].clf, &rs[i], err, errlen);
		if (ret)
			goto out;
		l->f[i].n = rs[i].n;
	}
	*out = l;
	l = NULL;
out:
	wcard_ruleset_free(&rs[0]);
	wcard_ruleset_free(&rs[1]);
	wcard_lpm_destroy(l);
	return ret;
}

int wcard_lpm_lookup(struct wcard_lpm *l, unsigned int family, wc_u128 addr, long *route)
{
	struct lpm_fam *fm;
	struct wc_key k = {};
	int ret;

	if (!l || !route || (family != 4 && family != 6))
		return -EINVAL;
	if (family == 4) {
		__u32 a = (__u32)addr;
		__u8 pkt[64] = {};
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt),
			    .repeat = 1);

		memcpy(pkt, &a, sizeof(a));
		if (bpf_prog_test_run_opts(bpf_program__fd(l->skel4->progs.wc_lpm4_run), &o))
			return -errno;
		if (l->skel4->bss->wc_lpm_ret < 0)
			return l->skel4->bss->wc_lpm_ret;
		*route = l->skel4->bss->wc_lpm_ret ? (long)l->skel4->bss->wc_lpm_route : -1;
		return 0;
	}
	fm = &l->f[1];
	if (family == 6) {
		k.w[0] = (__u64)(addr >> 64);
		k.w[1] = (__u64)addr;
	} else {
		k.w[0] = (__u32)addr;
	}
	{
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = &k, .data_size_in = sizeof(k),
			    .repeat = 1);

		ret = bpf_prog_test_run_opts(bpf_program__fd(fm->skel->progs.wc_key_lookup), &o);
		if (ret)
			return -errno;
	}
	if (fm->skel->bss->wc_test_ret < 0)
		return fm->skel->bss->wc_test_ret;
	if (fm->skel->bss->wc_test_res.id == WC_ID_NONE || fm->skel->bss->wc_test_res.id >= fm->n) {
		*route = -1;
		return 0;
	}
	*route = fm->route_of[fm->skel->bss->wc_test_res.id];
	return 0;
}
