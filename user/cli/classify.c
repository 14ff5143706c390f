// SPDX-License-Identifier: MIT
/* classify.c: wcard classify, stats, gen and demo: rule files and traces; for main.c. */
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wcard/wcard.h>
#include "testkit/testkit.h"
#include "cli.h"

/* ---- classification of a trace ------------------------------------------ */

struct trace_result {
	long *best; /* per packet: index in the rule set, or -1 */
	size_t matched;
	double ns_per_pkt; /* BPF: test-run duration per frame */
	enum wc_algo algo;
	unsigned int tables;
};

static int clf_open(const struct cli *c, struct wcard_ruleset *rs, struct wcard_clf **clf,
		    char *err, size_t errlen)
{
	struct wcard_clf_opts co;
	int ret = clf_opts(c, rs, &co, err, errlen);

	if (!ret)
		ret = wcard_clf_create(&co, clf, err, errlen);
	if (!ret) {
		ret = wcard_clf_load(*clf, rs, err, errlen);
		if (ret) {
			wcard_clf_destroy(*clf);
			*clf = NULL;
		}
	}
	free((void *)co.pool);
	return ret;
}

static int classify_bpf(const struct cli *c, struct wcard_ruleset *rs,
			const struct wcard_trace *tr, struct trace_result *res, __u32 *verified,
			char *err, size_t errlen)
{
	struct wcard_clf *clf = NULL;
	__u64 total_ns = 0;
	size_t i;
	int ret;

	ret = clf_open(c, rs, &clf, err, errlen);
	if (ret)
		return ret;
	res->algo = wcard_clf_algo(clf);
	res->tables = wcard_clf_ntables(clf);
	if (verified)
		*verified = wcard_clf_verified_insns(clf);
	for (i = 0; i < tr->n; i++) {
		__u8 frame[256];
		struct wc_xdp_meta meta;
		struct wc_pkt p;
		__u64 ns;
		int len;

		tk_pkt_from_tuple(&tr->t[i], &p);
		len = tk_frame_build(&p, NULL, frame, sizeof(frame));
		if (len < 0) {
			ret = len;
			snprintf(err, errlen, "trace packet %zu: building the frame: %s", i + 1,
				 strerror(-ret));
			goto out;
		}
		ret = wcard_clf_run_frame(clf, frame, len, &meta, NULL, &ns);
		if (ret) {
			snprintf(err, errlen, "trace packet %zu: BPF_PROG_TEST_RUN: %s", i + 1,
				 strerror(-ret));
			goto out;
		}
		total_ns += ns;
		if (meta.id == WC_ID_NONE) {
			res->best[i] = -1;
		} else if (meta.id >= rs->n) {
			ret = -EIO;
			snprintf(err, errlen, "trace packet %zu: BPF returned unknown rule id %u",
				 i + 1, meta.id);
			goto out;
		} else {
			res->best[i] = meta.id;
			res->matched++;
		}
	}
	res->ns_per_pkt = tr->n ? (double)total_ns / tr->n : 0;
out:
	wcard_clf_destroy(clf);
	return ret;
}

static void classify_ref(const struct wcard_ruleset *rs, const struct wcard_trace *tr,
			 struct trace_result *res)
{
	size_t i;

	for (i = 0; i < tr->n; i++) {
		struct wc_key k;

		wcard_key_from_tuple(&tr->t[i], &k);
		res->best[i] = tk_ref_lookup_family(rs, tr->t[i].family == 6 ? 6 : 4, &k);
		res->matched += res->best[i] >= 0;
	}
}

int cmd_classify(struct cli *c)
{
	const struct wcard_layout *l;
	struct trace_result res = {};
	struct wcard_ruleset rs;
	struct wcard_trace tr = {};
	enum wcard_rule_fmt fmt;
	char err[ERRLEN] = "";
	bool ref = false;
	size_t i;
	int ret;

	if (c->algo && !strcmp(c->algo, "ref"))
		ref = true;
	if (parse_format(c->format, &fmt)) {
		fprintf(stderr, "wcard classify: unknown --format '%s'\n", c->format);
		return 2;
	}
	/* The file's own layout (inet for the human syntax), unless --layout says. */
	l = c->layout ? wcard_layout_builtin(c->layout) : NULL;
	if (c->layout && !l) {
		fprintf(stderr, "wcard classify: unknown --layout '%s' (inet, ipv4-5tuple, "
				"ipv6-5tuple)\n", c->layout);
		return 2;
	}
	wcard_ruleset_init(&rs, l);
	ret = wcard_rules_load(c->argv[0], fmt, l, &rs, err, sizeof(err));
	if (!ret)
		ret = wcard_trace_load(c->argv[1], &tr, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "wcard classify: %s\n", err);
		goto out;
	}
	res.best = calloc(tr.n ? tr.n : 1, sizeof(*res.best));
	if (!res.best) {
		ret = -ENOMEM;
		goto out;
	}
	if (ref) {
		classify_ref(&rs, &tr, &res);
	} else {
		ret = classify_bpf(c, &rs, &tr, &res, NULL, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "wcard classify: %s\n", err);
			goto out;
		}
	}
	for (i = 0; i < tr.n; i++)
		printf("%ld\n", res.best[i] < 0 ? -1L : (long)rs.rules[res.best[i]].line - 1);
	if (fflush(stdout)) {
		ret = -errno;
		goto out;
	}
	fprintf(stderr, "wcard classify: %zu rules, %zu packets, %zu matched", rs.n, tr.n,
		res.matched);
	if (!ref)
		fprintf(stderr, ", %.0f ns/packet in BPF (%s, one frame per test run)",
			res.ns_per_pkt, c->algo ? c->algo : "auto");
	fprintf(stderr, "\n");
out:
	free(res.best);
	wcard_ruleset_free(&rs);
	wcard_trace_free(&tr);
	return ret ? 1 : 0;
}

/* ---- stats of a rule set or a pinned classifier ------------------------- */

/* NAME names a classifier pinned under --pin-dir, and no file: stats on it. */
static bool is_pinned(const struct cli *c, const char *name)
{
	const char *dir = c->pin_dir ? c->pin_dir : PIN_DIR_DEFAULT;
	char path[4096];

	if (strchr(name, '/') || !access(name, F_OK))
		return false;
	snprintf(path, sizeof(path), "%s/%s/" WCARD_CLF_PIN_MARK, dir, name);
	return !access(path, F_OK);
}

/* The family of part `part` of a classifier of layout l (4 or 6), and its layout. */
static unsigned int part_family(const struct wcard_layout *l, unsigned int part)
{
	return l->id == WC_LAYOUT_IPV6_5T || (l->id == WC_LAYOUT_INET && part) ? 6 : 4;
}

static const struct wcard_layout *part_layout(const struct wcard_layout *l, unsigned int part)
{
	return wcard_layout_family(l, part_family(l, part));
}

static void json_tables(const struct wcard_stats *st, const struct wcard_layout *l)
{
	unsigned int t, f;

	putchar('[');
	for (t = 0; t < st->ntables; t++) {
		const struct wcard_table_stats *ts = &st->tables[t];

		printf("%s{\"id\":%u,\"tuple\":[", t ? "," : "", ts->id);
		for (f = 0; f < l->nfields; f++)
			printf("%s%u", f ? "," : "", ts->len[f]);
		printf("],\"rules\":%u,\"max_bucket\":%u,\"slots\":%u,\"best_prio\":%u}",
		       ts->rules, ts->max_bucket, ts->slots, ts->best_prio);
	}
	putchar(']');
}

static void print_tables(const struct wcard_stats *st, const struct wcard_layout *l)
{
	unsigned int t, f;

	if (!st->ntables)
		return;
	printf("\n%5s %-44s %8s %10s %8s %10s\n", "table", "tuple (bits per field)", "rules",
	       "max bucket", "slots", "best prio");
	for (t = 0; t < st->ntables; t++) {
		const struct wcard_table_stats *ts = &st->tables[t];
		char tup[128];
		int o = 0;

		for (f = 0; f < l->nfields && o < (int)sizeof(tup); f++)
			o += snprintf(tup + o, sizeof(tup) - o, "%s%s=%u", f ? " " : "",
				      l->fields[f].name, ts->len[f]);
		printf("%5u %-44s %8u %10u %8u %10u\n", ts->id, tup, ts->rules, ts->max_bucket,
		       ts->slots, ts->best_prio);
	}
}

/* A part's algorithm, rules and tables; what: the layout's name, or which part. */
static void print_part(const struct wcard_stats *st, const struct wcard_layout *l,
		       const char *what)
{
	printf("algorithm     %s%s%s\n", algo_name(st->algo), st->parts > 1 ? " for the " : "",
	       st->parts > 1 ? what : "");
	printf("rules         %zu (%s, max %u)\n", st->rules, st->parts > 1 ? l->name : what,
	       st->max_rules);
	if (st->ntables) {
		printf("tables        %u\n", st->ntables);
		printf("largest bucket %u rules\n", st->max_bucket);
	}
	if (st->parts > 1)
		print_tables(st, l);
}

int cmd_stats(struct cli *c)
{
	struct wcard_trace tr = {};
	struct wcard_stats *st = calloc(1, sizeof(*st));
	struct wcard_ruleset rs;
	struct wcard_clf *clf = NULL;
	enum wcard_rule_fmt fmt;
	char err[ERRLEN] = "";
	struct wc_counter hit = { 0 }, miss = { 0 };
	double probed = 0;
	size_t matched = 0, modeled = 0, i;
	struct wcard_stats ps[WC_MAX_PARTS];
	unsigned int part, nparts;
	int ret, lock = -1;
	bool pinned;

	wcard_ruleset_init(&rs, NULL);
	if (!st)
		return 1;
	if (parse_format(c->format, &fmt)) {
		fprintf(stderr, "wcard stats: unknown --format '%s'\n", c->format);
		free(st);
		return 2;
	}
	pinned = c->argc == 1 && is_pinned(c, c->argv[0]);
	if (pinned) {
		/* Read-only: the maps as they are, nothing rebuilt or switched. */
		ret = clf_pinned(c, "stats", &(const struct wcard_clf_opts){ .read_only = true },
				 &clf, &lock);
		if (ret)
			goto out;
		/* Counts and counters come from the maps; no rule is read back. */
		rs.layout = wcard_clf_layout(clf);
	} else {
		ret = wcard_rules_load(c->argv[0], fmt, NULL, &rs, err, sizeof(err));
		if (!ret && c->argc > 1)
			ret = wcard_trace_load(c->argv[1], &tr, err, sizeof(err));
		if (!ret)
			ret = clf_open(c, &rs, &clf, err, sizeof(err));
	}
	if (!ret)
		ret = wcard_clf_stats(clf, st);
	/* A pinned classifier's counters: every rule's, summed, and the misses. */
	if (pinned && !ret)
		ret = wcard_clf_hits(clf, NULL, 0, &hit, &miss);
	if (ret == -ENOENT && pinned) /* a program without counters */
		ret = 0;
	if (ret) {
		fprintf(stderr, "wcard stats: %s\n", *err ? err : strerror(-ret));
		goto out;
	}
	/* The trace through the user-space model: tables probed, per part. */
	for (i = 0; i < tr.n; i++) {
		unsigned int fam = tr.t[i].family == 6 ? 6 : 4, p = 0;
		struct wc_key k;
		long got;

		wcard_key_from_tuple(&tr.t[i], &k);
		got = wcard_clf_model_lookup_family(clf, fam, &k, &p);
		if (got == -EINVAL)
			continue; /* that part has no Tuple Merge model */
		matched += got >= 0;
		probed += p;
		modeled++;
	}
	if (modeled)
		probed /= modeled;
	nparts = st->parts;
	for (part = 0; part < nparts && !ret; part++)
		ret = wcard_clf_part_stats(clf, part, &ps[part]);
	if (ret) {
		fprintf(stderr, "wcard stats: %s\n", strerror(-ret));
		goto out;
	}
	if (c->json) {
		/* One part: its figures; dual stack: the whole, then each part in "parts". */
		printf("{\"algo\":\"%s\",", clf_algo(clf));
		printf("\"rules\":%zu,\"tables\":%u,\"max_bucket\":%u,\"used_bytes\":%zu,"
		       "\"map_bytes\":%zu,\"verified_insns\":%u",
		       st->rules, nparts == 1 ? st->ntables : ps[0].ntables + ps[1].ntables,
		       nparts == 1 || ps[0].max_bucket > ps[1].max_bucket ? ps[0].max_bucket :
									  ps[1].max_bucket,
		       st->used_bytes, st->map_bytes, wcard_clf_verified_insns(clf));
		if (modeled)
			printf(",\"trace_packets\":%zu,\"avg_tables_probed\":%.2f", modeled,
			       probed);
		if (pinned)
			printf(",\"layout\":\"%s\",\"matched\":{\"packets\":%llu,\"bytes\":%llu},"
			       "\"no_match\":{\"packets\":%llu,\"bytes\":%llu}",
			       rs.layout->name, (unsigned long long)hit.packets,
			       (unsigned long long)hit.bytes, (unsigned long long)miss.packets,
			       (unsigned long long)miss.bytes);
		if (nparts == 1) {
			printf(",\"table_list\":");
			json_tables(st, rs.layout);
		} else {
			printf(",\"parts\":[");
			for (part = 0; part < nparts; part++) {
				const struct wcard_stats *q = &ps[part];

				printf("%s{\"family\":%u,\"algo\":\"%s\",\"rules\":%zu,"
				       "\"tables\":%u,\"max_bucket\":%u,\"used_bytes\":%zu,"
				       "\"table_list\":",
				       part ? "," : "", part_family(rs.layout, part),
				       algo_name(q->algo), q->rules, q->ntables, q->max_bucket,
				       q->used_bytes);
				json_tables(q, part_layout(rs.layout, part));
				putchar('}');
			}
			putchar(']');
		}
		printf("}\n");
		goto out;
	}
	if (nparts > 1) {
		printf("algorithm     %s\n", clf_algo(clf));
		printf("rules         %zu (%s: IPv4 and IPv6, max %u each)\n", st->rules,
		       rs.layout->name, st->max_rules);
	}
	else
		print_part(&ps[0], rs.layout, rs.layout->name);
	printf("memory        %.1f KiB used by the live generation, %.1f MiB of maps in all\n",
	       st->used_bytes / 1024.0, st->map_bytes / 1048576.0);
	printf("verifier      %u instructions (XDP filter)\n", wcard_clf_verified_insns(clf));
	if (modeled)
		printf("trace         %zu packets, %zu matched, %.2f tables probed on average\n",
		       modeled, matched, probed);
	if (pinned)
		printf("traffic       %llu packets (%llu bytes) matched a rule, %llu (%llu bytes) "
		       "none ('wcard rules list' per rule)\n",
		       (unsigned long long)hit.packets, (unsigned long long)hit.bytes,
		       (unsigned long long)miss.packets, (unsigned long long)miss.bytes);
	for (part = 0; nparts > 1 && part < nparts; part++) {
		char what[64];

		snprintf(what, sizeof(what), "IPv%u part", part_family(rs.layout, part));
		printf("\n");
		print_part(&ps[part], part_layout(rs.layout, part), what);
	}
	if (nparts == 1)
		print_tables(&ps[0], rs.layout);
out:
	clf_release(clf, lock);
	wcard_ruleset_free(&rs);
	wcard_trace_free(&tr);
	free(st);
	return ret ? 1 : 0;
}

/* ---- generated rule sets and traces ------------------------------------- */

static int gen_files(const char *rpath, const char *tpath, const struct tk_gen_opts *go)
{
	FILE *rf = fopen(rpath, "w"), *tf = fopen(tpath, "w");
	int ret;

	if (!rf || !tf) {
		ret = -errno;
		fprintf(stderr, "wcard: %s: %s\n", !rf ? rpath : tpath, strerror(errno));
		goto out;
	}
	ret = tk_gen_classbench(go, rf, tf);
	if (ret)
		fprintf(stderr, "wcard: generating: %s\n", strerror(-ret));
out:
	if (rf && fclose(rf) && !ret)
		ret = -errno;
	if (tf && fclose(tf) && !ret)
		ret = -errno;
	return ret;
}

int cmd_gen(struct cli *c)
{
	struct tk_gen_opts go = {
		.nrules = c->rules ? c->rules : 1000,
		.npackets = c->packets ? c->packets : 10000,
		.seed = c->seed ? c->seed : 1,
	};

	return gen_files(c->argv[0], c->argv[1], &go) ? 1 : 0;
}

int cmd_demo(struct cli *c)
{
	struct trace_result bpf = {}, ref = {};
	const char *dir = c->dir ? c->dir : "build/demo";
	struct tk_gen_opts go = {
		.nrules = c->rules ? c->rules : 2000,
		.npackets = c->packets ? c->packets : 20000,
		.seed = c->seed ? c->seed : 42,
	};
	char rpath[4096], tpath[4096], err[ERRLEN] = "";
	struct wcard_ruleset rs;
	struct wcard_trace tr = {};
	size_t i, agree = 0;
	__u32 verified = 0;
	int ret;

	wcard_ruleset_init(&rs, wcard_layout_ipv4());
	if (mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "wcard demo: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(rpath, sizeof(rpath), "%s/rules.cb", dir);
	snprintf(tpath, sizeof(tpath), "%s/trace.cb", dir);
	ret = gen_files(rpath, tpath, &go);
	if (ret)
		goto out;
	ret = wcard_rules_load(rpath, WCARD_FMT_CLASSBENCH, wcard_layout_ipv4(), &rs, err,
			       sizeof(err));
	if (!ret)
		ret = wcard_trace_load(tpath, &tr, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "wcard demo: %s\n", err);
		goto out;
	}
	bpf.best = calloc(tr.n ? tr.n : 1, sizeof(long));
	ref.best = calloc(tr.n ? tr.n : 1, sizeof(long));
	if (!bpf.best || !ref.best) {
		ret = -ENOMEM;
		goto out;
	}
	ret = classify_bpf(c, &rs, &tr, &bpf, &verified, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "wcard demo: %s\n", err);
		goto out;
	}
	classify_ref(&rs, &tr, &ref);
	for (i = 0; i < tr.n; i++)
		agree += bpf.best[i] == ref.best[i];
	if (c->json) {
		printf("{\"algo\":\"%s\",\"rules\":%zu,\"packets\":%zu,\"matched\":%zu,\"agree\":%zu,"
		       "\"ns_per_packet\":%.1f,\"verified_insns\":%u,\"rules_file\":\"%s\","
		       "\"trace_file\":\"%s\"}\n",
		       algo_name(bpf.algo), rs.n, tr.n, bpf.matched, agree, bpf.ns_per_pkt, verified,
		       rpath, tpath);
	} else {
		printf("wcard demo: %s classifier in XDP, checked against the userspace reference\n",
		       bpf.algo == WC_ALGO_BF ? "brute-force" : "Tuple Merge");
		printf("  rules         %zu (ipv4-5tuple, generated, seed %llu): %s\n", rs.n,
		       go.seed, rpath);
		printf("  packets       %zu real Ethernet/IPv4 frames via BPF_PROG_TEST_RUN: %s\n",
		       tr.n, tpath);
		printf("  matched       %zu (%.1f%%)\n", bpf.matched,
		       tr.n ? 100.0 * bpf.matched / tr.n : 0);
		printf("  agreement     %zu/%zu with the reference %s\n", agree, tr.n,
		       agree == tr.n ? "(all agree)" : "(MISMATCH)");
		printf("  time          %.0f ns/packet (parse + classify + count, one frame per "
		       "test run, cold-ish cache)\n",
		       bpf.ns_per_pkt);
		if (bpf.tables)
			printf("  tables        %u Tuple Merge tables\n", bpf.tables);
		printf("  verifier      %u instructions processed for the XDP program\n", verified);
		printf("  try it        build/wcard classify %s %s\n", rpath, tpath);
	}
	if (agree != tr.n)
		ret = -EIO;
out:
	free(bpf.best);
	free(ref.best);
	wcard_ruleset_free(&rs);
	wcard_trace_free(&tr);
	return ret ? 1 : 0;
}
