// SPDX-License-Identifier: MIT
/* bench.c: wcard bench: make bench's engine on the user's own rules or routes; for main.c. */
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <wcard/wcard.h>
#include "harness.h"
#include "cli.h"

/* Timed runs per figure: 5, or 3 with --quick. */
static int runs(const struct cli *c)
{
	return c->quick ? 3 : 5;
}

/*
 * The engine set up for the command; with --json, results as JSON on stdout:
 * the rows the engine makes, nothing else printed.
 */
static void engine_begin(const struct cli *c, const char *what)
{
	const struct bench_opts o = { .runs = runs(c), .json = c->json ? stdout : NULL,
				      .quiet = c->json };

	bench_setup(&o);
	if (c->json)
		printf("{\"bench\":\"%s\",\"runs\":%d,\"keys\":%u,\"rows\":[", what, o.runs, NKEYS);
}

static void engine_end(const struct cli *c)
{
	if (c->json)
		printf("\n]}\n");
}

/* wcard bench lpm ROUTES [ADDRS]: each family's structure against the kernel trie. */
static int bench_routes(struct cli *c)
{
	struct wc_key *keys = calloc(NKEYS, sizeof(*keys)), *given = NULL;
	struct wcard_routes rt = {};
	struct addr_in *a = NULL;
	size_t na = 0, i, ng;
	char err[ERRLEN] = "";
	unsigned int fam;
	int ret = -ENOMEM;

	if (!keys)
		goto out;
	/* Parse both files first: a bad line is reported before anything runs. */
	ret = wcard_routes_load(c->argv[1], &rt, err, sizeof(err));
	if (!ret && c->argc > 2)
		ret = addrs_load(c->argv[2], &a, &na, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "wcard bench: %s\n", *err ? err : strerror(-ret));
		goto out;
	}
	given = calloc(na ? na : 1, sizeof(*given));
	if (!given) {
		ret = -ENOMEM;
		goto out;
	}
	engine_begin(c, "lpm");
	say("wcard bench lpm: %s against the kernel LPM trie (cold cache, median of %d runs)\n\n",
	    c->argv[1], runs(c));
	print_head();
	for (fam = 4; !ret && fam <= 6; fam += 2) {
		for (i = 0, ng = 0; i < na; i++) {
			if (a[i].family != fam)
				continue;
			memset(&given[ng], 0, sizeof(given[ng]));
			if (fam == 6) {
				given[ng].w[0] = (__u64)(a[i].addr >> 64);
				given[ng].w[1] = (__u64)a[i].addr;
			} else {
				given[ng].w[0] = (__u32)a[i].addr;
			}
			ng++;
		}
		for (i = 0; i < rt.n && rt.r[i].family != fam; i++)
			;
		/* A family with routes; with ADDRS, only if some of them are of it. */
		if (i < rt.n && (!na || ng))
			ret = bench_lpm(c->argv[1], fam, "your routes", keys, given, ng, NULL);
	}
	engine_end(c);
out:
	wcard_routes_free(&rt);
	free(a);
	free(given);
	free(keys);
	return ret ? 1 : 0;
}

int cmd_bench(struct cli *c)
{
	struct wcard_trace tr = {};
	struct wcard_ruleset rs;
	enum wcard_rule_fmt fmt;
	char err[ERRLEN] = "";
	const char *base;
	int ret;

	if (!strcmp(c->argv[0], "lpm")) {
		if (c->argc < 2 || c->argc > 3) {
			fprintf(stderr, "Usage: wcard bench lpm ROUTES [ADDRS]\n");
			return 2;
		}
		return bench_routes(c);
	}
	if (c->argc > 2) {
		fprintf(stderr, "Usage: wcard bench RULES [TRACE]\n");
		return 2;
	}
	if (parse_format(c->format, &fmt)) {
		fprintf(stderr, "wcard bench: unknown --format '%s'\n", c->format);
		return 2;
	}
	wcard_ruleset_init(&rs, NULL);
	ret = wcard_rules_load(c->argv[0], fmt, NULL, &rs, err, sizeof(err));
	if (!ret && c->argc > 1)
		ret = wcard_trace_load(c->argv[1], &tr, err, sizeof(err));
	if (!ret && !rs.n) {
		snprintf(err, sizeof(err), "%s: no rules", c->argv[0]);
		ret = -EINVAL;
	}
	if (ret) {
		fprintf(stderr, "wcard bench: %s\n", err);
		goto out;
	}
	base = strrchr(c->argv[0], '/') ? strrchr(c->argv[0], '/') + 1 : c->argv[0];
	engine_begin(c, "rules");
	say("wcard bench: %s, %zu rules (%s), beside brute force and the kernel HASH floor\n",
	    base, rs.n, rs.layout->name);
	ret = bench_rules(base, &rs, &tr);
	engine_end(c);
out:
	wcard_ruleset_free(&rs);
	wcard_trace_free(&tr);
	return ret ? 1 : 0;
}
