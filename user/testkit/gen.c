// SPDX-License-Identifier: MIT
/* gen.c: a small generator of realistic, overlapping ClassBench-format rule sets and traces. */
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include "testkit.h"

struct rng {
	__u64 s;
};

/* splitmix64: small, fast, good enough for test data. */
static __u64 rnd(struct rng *r)
{
	__u64 z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned int below(struct rng *r, unsigned int n)
{
	return n ? (unsigned int)(rnd(r) % n) : 0;
}

struct grule {
	int score; /* specificity plus jitter: the sort key */
	__u32 src, dst;
	__u8 slen, dlen;
	__u16 slo, shi, dlo, dhi;
	__u8 proto, pmask;
};

/* More specific rules first, as in real ACLs; ties and jitter keep overlaps. */
static int grule_cmp(const void *a, const void *b)
{
	const struct grule *x = a, *y = b;

	return y->score - x->score;
}

static __u32 pmask(unsigned int len)
{
	return len ? ~0u << (32 - len) : 0;
}

/*
 * Addresses come from a pool of "sites" (a /16 each, with a few /24 subnets),
 * so that rules nest and overlap the way real ACLs do.
 */
static __u32 pick_addr(struct rng *r, const __u32 *sites, unsigned int nsites, __u8 *len,
		       unsigned int wild_pct)
{
	unsigned int p = below(r, 100);
	__u32 a = sites[below(r, nsites)] | (below(r, 8) << 8) | below(r, 256);

	if (p < wild_pct)
		*len = 0;
	else if (p < wild_pct + 10)
		*len = 8 + below(r, 9); /* /8../16 */
	else if (p < wild_pct + 45)
		*len = 24;
	else if (p < wild_pct + 55)
		*len = 17 + below(r, 7); /* /17../23 */
	else
		*len = 32;
	return a & pmask(*len);
}

static void pick_ports(struct rng *r, __u16 *lo, __u16 *hi, int dst)
{
	static const __u16 well_known[] = { 22, 25, 53, 80, 123, 443, 993, 3306, 5432, 8080 };
	unsigned int p = below(r, 100);

	if (!dst) {
		if (p < 80) {
			*lo = 0, *hi = 65535;
		} else if (p < 95) {
			*lo = 1024, *hi = 65535;
		} else {
			*lo = *hi = 1024 + below(r, 64511);
		}
		return;
	}
	if (p < 45) {
		*lo = *hi = well_known[below(r, sizeof(well_known) / sizeof(well_known[0]))];
	} else if (p < 65) {
		*lo = 0, *hi = 65535;
	} else if (p < 80) {
		*lo = 1024, *hi = 65535;
	} else if (p < 90) {
		*lo = below(r, 60000);
		*hi = *lo + below(r, 2000);
	} else {
		*lo = *hi = below(r, 65536);
	}
}

static __u32 in_prefix(struct rng *r, __u32 a, unsigned int len)
{
	return (a & pmask(len)) | ((__u32)rnd(r) & ~pmask(len));
}

static __u16 in_range(struct rng *r, __u16 lo, __u16 hi)
{
	return lo + below(r, (unsigned int)hi - lo + 1);
}

int tk_gen_classbench(const struct tk_gen_opts *o, FILE *rules, FILE *trace)
{
	struct rng r = { .s = o->seed ? o->seed : 1 };
	unsigned int nsites, i;
	struct grule *g;
	__u32 *sites;

	if (!o->nrules || !rules)
		return -EINVAL;
	nsites = 4;
	while (nsites * nsites < o->nrules)
		nsites++;
	sites = calloc(nsites, sizeof(*sites));
	g = calloc(o->nrules, sizeof(*g));
	if (!sites || !g) {
		free(sites);
		free(g);
		return -ENOMEM;
	}
	for (i = 0; i < nsites; i++)
		sites[i] = (__u32)(rnd(&r) & 0xffff0000u);

	for (i = 0; i < o->nrules; i++) {
		struct grule *x = &g[i];
		unsigned int p = below(&r, 100);

		x->src = pick_addr(&r, sites, nsites, &x->slen, 25);
		x->dst = pick_addr(&r, sites, nsites, &x->dlen, 8);
		if (p < 60)
			x->proto = 6, x->pmask = 0xff;
		else if (p < 85)
			x->proto = 17, x->pmask = 0xff;
		else if (p < 95)
			x->proto = 0, x->pmask = 0;
		else
			x->proto = 1, x->pmask = 0xff;
		if (x->pmask && x->proto == 1) {
			x->slo = x->dlo = 0;
			x->shi = x->dhi = 65535;
		} else {
			pick_ports(&r, &x->slo, &x->shi, 0);
			pick_ports(&r, &x->dlo, &x->dhi, 1);
		}
		/* No near-catch-all rules: with both addresses wild, pin the service. */
		if (x->slen + x->dlen < 8 && x->dlo != x->dhi) {
			x->dlo = x->dhi = 1 + below(&r, 1023);
			if (!x->pmask)
				x->proto = 17, x->pmask = 0xff;
		}
		x->score = x->slen + x->dlen + (x->dlo == x->dhi ? 16 : 0) + (x->pmask ? 4 : 0) +
			   (x->slo == x->shi ? 16 : 0) + (int)below(&r, 24);
	}
	qsort(g, o->nrules, sizeof(*g), grule_cmp);
	for (i = 0; i < o->nrules; i++) {
		struct grule *x = &g[i];

		fprintf(rules, "@%u.%u.%u.%u/%u\t%u.%u.%u.%u/%u\t%u : %u\t%u : %u\t0x%02X/0x%02X\t0x0000/0x0000\t\n",
			x->src >> 24, (x->src >> 16) & 255, (x->src >> 8) & 255, x->src & 255,
			x->slen, x->dst >> 24, (x->dst >> 16) & 255, (x->dst >> 8) & 255,
			x->dst & 255, x->dlen, x->slo, x->shi, x->dlo, x->dhi, x->proto, x->pmask);
	}

	for (i = 0; trace && i < o->npackets; i++) {
		unsigned int k = below(&r, o->nrules);
		const struct grule *x = &g[k];
		__u32 sa, da;
		__u16 sp, dp;
		__u8 proto;

		if (below(&r, 100) < 85) {
			/* A header drawn from rule k (it may match a better rule too). */
			static const __u8 any_proto[] = { 6, 17, 1, 47 };

			sa = in_prefix(&r, x->src, x->slen);
			da = in_prefix(&r, x->dst, x->dlen);
			sp = in_range(&r, x->slo, x->shi);
			dp = in_range(&r, x->dlo, x->dhi);
			proto = x->pmask ? x->proto : any_proto[below(&r, 4)];
		} else {
			/* Background traffic: random headers, mostly matching only the default. */
			sa = (__u32)rnd(&r);
			da = (__u32)rnd(&r);
			sp = below(&r, 65536);
			dp = below(&r, 65536);
			proto = below(&r, 2) ? 6 : 17;
			k = ~0u;
		}
		fprintf(trace, "%u\t%u\t%u\t%u\t%u\t0\t%u\n", sa, da, sp, dp, proto, k + 1);
	}
	free(sites);
	free(g);
	if (ferror(rules) || (trace && ferror(trace)))
		return -EIO;
	return 0;
}
