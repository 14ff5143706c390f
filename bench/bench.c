// SPDX-License-Identifier: MIT
/* bench.c: make bench: every case side by side in one run, with its results files (harness.c does the work). */
#include <stdio.h>
#include <errno.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "wcard_bench.skel.h"
#include "testkit/testkit.h"
#include "harness.h"

/*
 * Native C++ TupleMerge (c=10) on this machine: medians of five runs, each in
 * turn with `wcard bench`, in one sitting on 2026-12-07 at 14:35-14:50 UTC,
 * on the AMD EPYC host of that session (docs/design.md section 8.7).
 */
static const struct {
	const char *set;
	double native_ns;
} cb[] = { { "acl1_10k", 169 }, { "fw1_10k", 104 }, { "ipc1_10k", 321 }, { "acl1_100k", 458 } };
#define NCB (sizeof(cb) / sizeof(cb[0]))

/* The same for the generated sets of the scaling series (gen_set: wcard gen --seed 7). */
static const struct {
	unsigned int rules;
	double native_ns;
} gen_native[] = { { 10000, 321 }, { 100000, 2296 } };
#define NGEN (sizeof(gen_native) / sizeof(gen_native[0]))

/* Dual stack (bench_dual): Tuple Merge ns per lookup by set, and the XDP filter on acl1_10k. */
struct dual_figures {
	double v4[3], dual4[3], dual6[3]; /* ipv4-5tuple; inet with IPv4 keys, with IPv6 keys */
	struct datapath_figures dp[3]; /* the same three through the whole filter */
	struct datapath_figures lpm[3]; /* a blocklist: ipv4-5tuple, inet IPv4, inet IPv6 */
};

/* This run's figures that the anchor table quotes (0: not measured). */
struct run_figures {
	struct floor_figures floor;
	double tm[NCB], bf[NCB];
	double gen_tm[NGEN]; /* Tuple Merge on the generated sets of gen_native */
	/* acl1_10k's single updates: alone [0], under lookups [1], and reclaiming meanwhile [2] */
	struct update_figures upd[3];
	struct datapath_figures dp; /* acl1_10k through the XDP filter */
	struct lpm_figures lpm[2]; /* the real IPv4 and IPv6 tables */
	struct dual_figures dual;
};

static void anchor_row(const char *what, const char *anchor, const char *run, const char *ratio)
{
	results_md("| %s | %s | %s | %s |\n", what, anchor, run, ratio);
	json_obj("anchor", "\"what\":\"%s\",\"anchor\":\"%s\",\"this_run\":\"%s\","
			   "\"ratio\":\"%s\"",
		 what, anchor, run, ratio);
}

/* An anchor row of the XDP filter: ipv4-5tuple, then inet's IPv4 and IPv6 (d[0..2]). */
static void dual_dp_anchor(const char *what, const struct datapath_figures d[3])
{
	char run[160], ratio[160];

	if (d[0].hot_ns <= 0)
		return;
	snprintf(run, sizeof(run), "ipv4-5tuple %.0f ns/pkt hot, %.0f cold", d[0].hot_ns,
		 d[0].cold_ns);
	snprintf(ratio, sizeof(ratio),
		 "inet: IPv4 %.0f hot (%.2fx), %.0f cold (%.2fx); IPv6 %.0f hot, %.0f cold",
		 d[1].hot_ns, d[1].hot_ns / d[0].hot_ns, d[1].cold_ns, d[1].cold_ns / d[0].cold_ns,
		 d[2].hot_ns, d[2].cold_ns);
	anchor_row(what, "no slower than ipv4-5tuple", run, ratio);
}

/*
 * The closing table: each reference figure of docs/design.md section 8 beside
 * what this run measured. Kernel figures (trie, HASH, ARRAY) were measured
 * again in this run, so their ratios compare one run; the native C++ figures
 * are constants.
 */
static void anchors(const struct run_figures *f)
{
	const struct lpm_figures *l4 = &f->lpm[0], *l6 = &f->lpm[1];
	char run[160], ratio[400];
	unsigned int s;

	results_md("\n## Against the reference figures of docs/design.md section 8\n\n"
		   "Kernel figures are measured again in this run; native C++ TupleMerge "
		   "figures are the constants of docs/design.md section 8. ns per lookup, cold "
		   "cache (2^20 random keys).\n\n"
		   "| anchor | reference | this run | wcard against it |\n|---|---|---|---|\n");
	snprintf(run, sizeof(run), "%.1f ns", f->floor.loop_ns);
	anchor_row("loop + trace key read (floor)", "~10-12 ns", run, "-");
	snprintf(run, sizeof(run), "%.1f ns", f->floor.array_ns);
	anchor_row("random read of a 64 MiB ARRAY", "~45 ns", run, "-");
	snprintf(run, sizeof(run), "%.1f ns (2^20 entries)", f->floor.hash_ns);
	if (f->tm[0] > 0)
		snprintf(ratio, sizeof(ratio), "Tuple Merge on acl1_10k (%.1f ns) costs %.2f HASH "
			 "probes", f->tm[0], f->tm[0] / f->floor.hash_ns);
	else
		snprintf(ratio, sizeof(ratio), "-");
	anchor_row("one HASH lookup (the exact-match floor)", "~115-125 ns", run, ratio);
	if (l4->routes) {
		double above = l4->ns[0] - f->floor.loop_ns; /* DIR-24-8 above the loop */

		snprintf(run, sizeof(run), "%.1f ns (%zu routes)", l4->kernel, l4->routes);
		snprintf(ratio, sizeof(ratio), "DIR-24-8 %.1f ns: %.1fx faster; small trie %.1f ns: "
			 "%.1fx", l4->ns[0], l4->kernel / l4->ns[0], l4->ns[1],
			 l4->kernel / l4->ns[1]);
		anchor_row("kernel LPM trie, real IPv4 table", "~1,400-1,900 ns", run, ratio);
		snprintf(run, sizeof(run), "%.0f ms", l4->kernel_load_ms);
		snprintf(ratio, sizeof(ratio), "DIR-24-8 bulk load %.0f ms: %.1fx faster",
			 l4->load_ms[0], l4->kernel_load_ms / l4->load_ms[0]);
		anchor_row("kernel LPM trie, IPv4 table load (one insert per route)", "1.9 s", run,
			   ratio);
		/* Poptrie/DXR: 100-240 M lookups/s = 4.2-10 ns each, against ours above the floor. */
		snprintf(ratio, sizeof(ratio), "DIR-24-8 %.1f ns above the loop: %.0f M lookups/s, "
			 "%.1f-%.1fx their time", above, 1e3 / above, above / 10.0, above / 4.2);
		anchor_row("Poptrie / DXR (native), full IPv4 table", "100-240 M lookups/s", "-",
			   ratio);
	} else {
		anchor_row("kernel LPM trie, real IPv4 table", "~1,400-1,900 ns",
			   "not measured: no routes in WCARD_DATA", "-");
	}
	if (l6->routes) {
		snprintf(run, sizeof(run), "%.1f ns (%zu routes)", l6->kernel, l6->routes);
		snprintf(ratio, sizeof(ratio), "multibit trie %.1f ns: %.1fx faster", l6->ns[2],
			 l6->kernel / l6->ns[2]);
		anchor_row("kernel LPM trie, real IPv6 table", "~870 ns", run, ratio);
	}
	for (s = 0; s < NCB; s++) {
		char what[96], anchor[32];

		if (f->tm[s] <= 0)
			continue;
		snprintf(what, sizeof(what), "native C++ TupleMerge, %s", cb[s].set);
		snprintf(anchor, sizeof(anchor), "%.0f ns", cb[s].native_ns);
		if (f->bf[s] > 0)
			snprintf(run, sizeof(run), "wcard brute force %.0f ns", f->bf[s]);
		else
			snprintf(run, sizeof(run), "-");
		snprintf(ratio, sizeof(ratio), "Tuple Merge %.1f ns: %.2fx native's time%s", f->tm[s],
			 f->tm[s] / cb[s].native_ns, "");
		if (f->bf[s] > 0)
			snprintf(ratio + strlen(ratio), sizeof(ratio) - strlen(ratio),
				 "; %.0fx faster than brute force (native: %.0fx)", f->bf[s] / f->tm[s],
				 f->bf[s] / cb[s].native_ns);
		anchor_row(what, anchor, run, ratio);
	}
	for (s = 0; s < NGEN; s++) {
		char what[96], anchor[32];

		if (f->gen_tm[s] <= 0)
			continue;
		snprintf(what, sizeof(what), "native C++ TupleMerge, generated %u (wcard gen --seed 7)",
			 gen_native[s].rules);
		snprintf(anchor, sizeof(anchor), "%.0f ns", gen_native[s].native_ns);
		snprintf(ratio, sizeof(ratio), "Tuple Merge %.1f ns: %.2fx native's time",
			 f->gen_tm[s], f->gen_tm[s] / gen_native[s].native_ns);
		anchor_row(what, anchor, "-", ratio);
	}
	if (f->upd[0].us > 0) {
		snprintf(ratio, sizeof(ratio),
			 "%.2f us each (%.2fx native), p99 %.2f us; under lookups %.2f us each, "
			 "p99 %.2f us, max %.0f us; under lookups with wcard_clf_reclaim on a "
			 "thread %.2f us each, p99 %.2f us, max %.0f us, %llu writer waits",
			 f->upd[0].us, f->upd[0].us / 1.13, f->upd[0].p99_us, f->upd[1].us,
			 f->upd[1].p99_us, f->upd[1].max_us, f->upd[2].us, f->upd[2].p99_us,
			 f->upd[2].max_us, f->upd[2].waits);
		anchor_row("native C++ TupleMerge updates, acl1_10k", "~1.1 us each", "-", ratio);
	}
	for (s = 0; s < 3; s++) {
		static const char *dsets[] = { "acl1_10k", "fw1_10k", "ipc1_10k" };
		char what[96];

		if (f->dual.v4[s] <= 0)
			continue;
		snprintf(what, sizeof(what), "dual stack (inet), %s: IPv4 lookups", dsets[s]);
		snprintf(run, sizeof(run), "ipv4-5tuple %.1f ns", f->dual.v4[s]);
		snprintf(ratio, sizeof(ratio), "inet %.1f ns: %.3fx ipv4-5tuple's time; IPv6 twins "
			 "%.1f ns", f->dual.dual4[s], f->dual.dual4[s] / f->dual.v4[s],
			 f->dual.dual6[s]);
		anchor_row(what, "no slower than ipv4-5tuple", run, ratio);
	}
	dual_dp_anchor("dual stack (inet), the XDP filter on acl1_10k", f->dual.dp);
	dual_dp_anchor("dual stack (inet), a 20K + 20K route blocklist through the XDP filter "
		       "(the LPM path)",
		       f->dual.lpm);
	if (f->dp.hot_ns > 0) {
		snprintf(ratio, sizeof(ratio), "whole XDP filter on acl1_10k: %.0f ns/pkt hot, "
			 "%.0f ns/pkt cold", f->dp.hot_ns, f->dp.cold_ns);
		anchor_row("VPP TupleMerge ACL, 1K-64K rules", "0.2-0.5 us/pkt", "-", ratio);
	}
	results_md("\n");
}

/*
 * The scaling series' last point: 1M generated rules, in an object of its
 * own sized for them (the others share one sized for 128K).
 */
static int bench_million(struct wc_key *keys, FILE *scaling)
{
	struct result bf = {}, tm = {}, st = {};
	struct wcard_bench *skel = NULL;
	struct wcard_trace tr = {};
	struct wcard_ruleset rs;
	int ret;

	wcard_ruleset_init(&rs, wcard_layout_ipv4());
	ret = gen_set(1000000, &rs, &tr);
	if (ret)
		goto out;
	/* Prepared for the rules' layout: its compact records, as wcard_clf_create makes. */
	skel = bench_object_layout(wcard_layout_ipv4(), WC_MAX_RULES, 1, &ret);
	if (!skel)
		goto out;
	keys_from_trace(&tr, keys, 17);
	ret = fill_keys(skel, keys);
	/* Brute force at 1M rules: ~1.7 ms a lookup (~1 ns a rule, as at 100K). */
	if (!ret)
		ret = bench_case(skel, "generated 1000000", &rs, keys, WC_ALGO_BF, 0, &bf);
	if (!ret)
		ret = bench_case(skel, "generated 1000000", &rs, keys, WC_ALGO_TM, 0, &tm);
	if (!ret)
		ret = bench_case(skel, "generated 1000000", &rs, keys, WC_ALGO_STM, 0, &st);
	if (!ret && scaling)
		fprintf(scaling, "%zu %.1f %.1f %.1f\n", rs.n, bf.med, tm.med, st.med);
out:
	wcard_bench__destroy(skel);
	wcard_ruleset_free(&rs);
	wcard_trace_free(&tr);
	return ret;
}

/*
 * Dual stack: ClassBench sets as IPv4 rules and their IPv6 twins in one inet
 * classifier (tk_ruleset_dual), beside the IPv4 set alone in ipv4-5tuple, in
 * one object sized for both parts so that the maps are the same. IPv4 keys
 * from the trace through both: what dual stack costs IPv4; the twins' keys
 * through the inet classifier's IPv6 part. Then the whole XDP filter on the
 * first set's frames of each kind.
 */
static int bench_dual(const char *data, struct wc_key *keys, struct dual_figures *out)
{
	static const char *sets[] = { "acl1_10k", "fw1_10k", "ipc1_10k" };
	struct wcard_bench *skel;
	unsigned int s;
	int ret = 0;

	skel = bench_object_layout(wcard_layout_inet(), 32768, 1, &ret);
	if (!skel)
		return ret;
	say("\ndual stack: each set's rules as IPv4 rules and their IPv6 twins in one inet "
	    "classifier (rules without an address once, for both), beside the IPv4 rules alone "
	    "in ipv4-5tuple\n\n");
	print_head();
	for (s = 0; !ret && s < sizeof(sets) / sizeof(sets[0]); s++) {
		struct wcard_ruleset v4, dual;
		struct wcard_trace tr = {}, tr6 = {};
		struct result r4 = {}, rd4 = {}, rd6 = {};
		char name[64];
		size_t i;

		wcard_ruleset_init(&v4, wcard_layout_ipv4());
		ret = cb_set(data, sets[s], &v4, &tr);
		if (ret == -ENOENT) {
			say("%-28s skipped: no ClassBench data in %s\n", sets[s], data);
			ret = 0;
			continue;
		}
		if (!ret)
			ret = tk_ruleset_dual(&v4, &dual);
		tr6.t = calloc(tr.n ? tr.n : 1, sizeof(*tr6.t));
		if (!ret && !tr6.t)
			ret = -ENOMEM;
		for (i = 0; !ret && i < tr.n; i++)
			tk_tuple_twin6(&tr.t[i], i, &tr6.t[i]);
		tr6.n = tr6.cap = tr.n;
		if (!ret) {
			keys_from_trace(&tr, keys, 200 + s);
			ret = fill_keys(skel, keys);
		}
		snprintf(name, sizeof(name), "%s ipv4-5tuple", sets[s]);
		if (!ret)
			ret = bench_case(skel, name, &v4, keys, WC_ALGO_TM, 0, &r4);
		snprintf(name, sizeof(name), "%s inet, IPv4", sets[s]);
		if (!ret)
			ret = bench_case(skel, name, &dual, keys, WC_ALGO_TM, 0, &rd4);
		if (!ret) {
			keys_from_trace(&tr6, keys, 200 + s);
			ret = fill_keys(skel, keys);
		}
		snprintf(name, sizeof(name), "%s inet, IPv6", sets[s]);
		skel->bss->wc_bench_family = 6;
		if (!ret)
			ret = bench_case(skel, name, &dual, keys, WC_ALGO_TM, 0, &rd6);
		skel->bss->wc_bench_family = 0;
		if (!ret) {
			say("%-28s IPv4 in inet / in ipv4-5tuple = %.3f; IPv6 / IPv4 in inet = "
			    "%.2f\n", "", rd4.med / r4.med, rd6.med / rd4.med);
			json_obj("ratio", "\"what\":\"%s IPv4 lookups, inet / ipv4-5tuple\","
					  "\"ratio\":%.3f", sets[s], rd4.med / r4.med);
			json_obj("ratio",
				 "\"what\":\"%s inet, IPv6 / IPv4 lookups\",\"ratio\":%.3f",
				 sets[s], rd6.med / rd4.med);
			out->v4[s] = r4.med;
			out->dual4[s] = rd4.med;
			out->dual6[s] = rd6.med;
		}
		/* The whole filter: IPv4 frames, the same through inet, the twins' IPv6 frames. */
		if (!ret && s == 0) {
			snprintf(name, sizeof(name), "%s ipv4-5tuple", sets[s]);
			ret = bench_datapath(name, &v4, &tr, &out->dp[0]);
			snprintf(name, sizeof(name), "%s inet, IPv4", sets[s]);
			if (!ret)
				ret = bench_datapath(name, &dual, &tr, &out->dp[1]);
			snprintf(name, sizeof(name), "%s inet, IPv6", sets[s]);
			if (!ret)
				ret = bench_datapath(name, &dual, &tr6, &out->dp[2]);
		}
		wcard_ruleset_free(&v4);
		wcard_ruleset_free(&dual);
		wcard_trace_free(&tr);
		wcard_trace_free(&tr6);
	}
	wcard_bench__destroy(skel);
	return ret;
}

/* Next of a 64-bit LCG, the bench's own draws. */
static __u64 lcg(__u64 *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 11;
}

/*
 * A dual-stack blocklist: n routes of each family drawn from the real tables
 * as inet rules on dst (longer prefixes first), and a trace per family with
 * dst inside a random one of them. 0, -ENOENT without the tables.
 */
static int blocklist_dual(const char *data, size_t n, struct wcard_ruleset *rs,
			  struct wcard_trace tr[2])
{
	unsigned int f;
	int ret = 0;

	wcard_ruleset_init(rs, wcard_layout_inet());
	for (f = 0; !ret && f < 2; f++) {
		const unsigned int fam = f ? 6 : 4, bits = f ? 128 : 32;
		const struct wcard_layout *l = wcard_layout_family(rs->layout, fam);
		struct wcard_routes rt = {};
		char path[1024], err[512] = "";
		size_t i, tries, first = rs->n;
		__u64 s = 77 + f;

		snprintf(path, sizeof(path), "%s/routes/ipv%u.txt.gz", data, fam);
		if (access(path, R_OK))
			return -ENOENT;
		ret = wcard_routes_load(path, &rt, err, sizeof(err));
		for (i = 0, tries = 0; !ret && rt.n && i < n && tries < 100 * n; tries++) {
			const struct wcard_route *r = &rt.r[lcg(&s) % rt.n];
			struct wcard_rule rule;

			if (r->family != fam)
				continue;
			i++;
			wcard_rule_any(l, &rule);
			rule.family = (__u8)fam;
			rule.prio = 128 - r->len;
			rule.value = WC_ACT_DROP;
			rule.id = (__u32)rs->n;
			ret = wcard_rule_set_prefix(l, &rule, WC_F_DST, r->addr, r->len) ?:
			      wcard_ruleset_add(rs, &rule);
		}
		if (!ret && i < n)
			ret = -ENOENT;
		tr[f].t = calloc(NKEYS / 16, sizeof(*tr[f].t));
		if (!ret && !tr[f].t)
			ret = -ENOMEM;
		for (i = 0; !ret && i < NKEYS / 16; i++) {
			const struct wcard_match *m = &rs->rules[first + lcg(&s) % n].f[WC_F_DST];
			struct wcard_tuple *t = &tr[f].t[i];
			wc_u128 rnd = (wc_u128)lcg(&s) << 64 | lcg(&s) << 11 | lcg(&s);

			t->family = (__u8)fam;
			t->proto = 6;
			t->sport = (__u16)lcg(&s);
			t->dport = 443;
			if (fam == 6) {
				t->src6 = rnd;
				t->dst6 = m->value | (rnd >> 7 & ~m->mask);
			} else {
				t->src = (__u32)rnd;
				t->dst = (__u32)(m->value |
						 (rnd & ~m->mask & (((wc_u128)1 << bits) - 1)));
			}
		}
		tr[f].n = tr[f].cap = i;
		if (ret && *err)
			fprintf(stderr, "bench: %s\n", err);
		wcard_routes_free(&rt);
	}
	return ret;
}

/*
 * The LPM path per family: a dual-stack blocklist (blocklist_dual) through the
 * whole XDP filter, IPv4 and IPv6 frames, beside its IPv4 routes alone in
 * ipv4-5tuple; the algorithm is auto's, the LPM path in each part.
 */
static int bench_dual_lpm(const char *data, struct datapath_figures out[3])
{
	struct wcard_ruleset rs, v4;
	struct wcard_trace tr[2] = {};
	size_t i;
	int ret = blocklist_dual(data, 20000, &rs, tr);

	if (ret == -ENOENT) {
		say("%-28s skipped: no route tables in %s\n", "dual-stack blocklist", data);
		wcard_ruleset_free(&rs);
		wcard_trace_free(&tr[0]);
		wcard_trace_free(&tr[1]);
		return 0;
	}
	wcard_ruleset_init(&v4, rs.layout);
	for (i = 0; !ret && i < rs.n; i++)
		if (rs.rules[i].family == 4)
			ret = wcard_ruleset_add(&v4, &rs.rules[i]);
	if (!ret)
		ret = wcard_ruleset_convert(&v4, wcard_layout_ipv4(), NULL, 0);
	if (!ret)
		ret = bench_datapath_algo("blocklist ipv4-5tuple", &v4, &tr[0], 0, &out[0]);
	if (!ret)
		ret = bench_datapath_algo("blocklist inet, IPv4", &rs, &tr[0], 0, &out[1]);
	if (!ret)
		ret = bench_datapath_algo("blocklist inet, IPv6", &rs, &tr[1], 0, &out[2]);
	wcard_ruleset_free(&rs);
	wcard_ruleset_free(&v4);
	wcard_trace_free(&tr[0]);
	wcard_trace_free(&tr[1]);
	return ret;
}

/* A line of lpm4_scaling.dat / lpm6_scaling.dat: routes, kernel trie, wcard's structures. */
static void lpm_dat_row(FILE *dat, unsigned int fam, const struct lpm_figures *f)
{
	fprintf(dat, fam == 4 ? "%zu %.1f %.1f %.1f\n" : "%zu %.1f %.1f\n", f->routes, f->kernel,
		fam == 4 ? f->ns[0] : f->ns[2], f->ns[1]);
}

/*
 * LPM at 10K and 100K routes drawn at random from the real table of a family,
 * then the whole table (its figures in *full); a line of lpm4_scaling.dat /
 * lpm6_scaling.dat each.
 */
static int bench_lpm_sizes(const char *data, unsigned int fam, struct wc_key *keys,
			   struct lpm_figures *full)
{
	static const unsigned int sizes[] = { 10000, 100000 };
	char path[1024], tmp[] = "/tmp/wcard-bench-routesXXXXXX", err[512] = "";
	struct wcard_routes rt = {};
	FILE *dat = dat_open(fam == 4 ? "lpm4_scaling.dat" : "lpm6_scaling.dat",
			     fam == 4 ? "routes kernel_trie_ns dir24_ns trie4_ns" :
					"routes kernel_trie_ns trie6_ns");
	unsigned int i;
	int ret = 0;

	snprintf(path, sizeof(path), "%s/routes/ipv%u.txt.gz", data, fam);
	if (!access(path, R_OK))
		ret = wcard_routes_load(path, &rt, err, sizeof(err));
	for (i = 0; !ret && rt.n && i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct lpm_figures fig;
		char label[32];
		__u64 s = 31 + i;
		size_t k;
		int fd = mkstemp(tmp);
		FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

		if (!f) {
			ret = -errno;
			break;
		}
		/* A random sample of the table (with repeats; duplicates are fine for LPM). */
		for (k = 0; k < sizes[i]; k++) {
			const struct wcard_route *r;
			char a[64];
			__u8 b[16];
			int j, nb = fam == 6 ? 16 : 4;

			s = s * 6364136223846793005ULL + 1442695040888963407ULL;
			r = &rt.r[(s >> 33) % rt.n];
			for (j = 0; j < nb; j++)
				b[j] = (__u8)(r->addr >> (8 * (nb - 1 - j)));
			inet_ntop(fam == 6 ? AF_INET6 : AF_INET, b, a, sizeof(a));
			fprintf(f, "%s/%u %llu\n", a, r->len, (unsigned long long)r->value);
		}
		fclose(f);
		snprintf(label, sizeof(label), "%uK routes", sizes[i] / 1000);
		ret = bench_lpm(tmp, fam, label, keys, NULL, 0, &fig);
		unlink(tmp);
		strcpy(tmp, "/tmp/wcard-bench-routesXXXXXX");
		/* The distinct routes the sample holds (a draw can repeat). */
		if (!ret && dat)
			lpm_dat_row(dat, fam, &fig);
	}
	if (!ret)
		ret = bench_lpm(path, fam, "real table", keys, NULL, 0, full);
	if (!ret && dat && full->routes)
		lpm_dat_row(dat, fam, full);
	if (ret && *err)
		fprintf(stderr, "bench: %s\n", err);
	if (dat)
		fclose(dat);
	wcard_routes_free(&rt);
	return ret;
}

static bool verbose;

/* libbpf's warnings, and everything with -v (libwcard's hook prints warnings already). */
static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN || verbose ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	static const unsigned int sizes[] = { 100, 1000, 10000, 100000 };
	FILE *scaling = NULL;
	const char *data = getenv("WCARD_DATA") ? getenv("WCARD_DATA") : "../shared/data";
	struct wc_key *keys = calloc(NKEYS, sizeof(*keys));
	struct bench_opts opts = { .runs = 5 };
	struct wcard_bench *skel = NULL;
	struct run_figures fig = {};
	struct result r, rb;
	bool lpm_only = false, cli_only = false;
	unsigned int s, g;
	int i, ret = 1;

	libbpf_set_print(print_libbpf);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
			verbose = true;
		else if (!strcmp(argv[i], "--quick"))
			opts.runs = 3;
		else if (!strcmp(argv[i], "--lpm-only"))
			lpm_only = true;
		else if (!strcmp(argv[i], "--cli-only"))
			cli_only = true;
		else if (!strcmp(argv[i], "--out") && i + 1 < argc)
			opts.outdir = argv[++i];
	}
	if (getenv("QUICK") && *getenv("QUICK") && strcmp(getenv("QUICK"), "0"))
		opts.runs = 3;
	bench_setup(&opts);
	if (!keys)
		goto out;
	if (opts.outdir && results_open())
		goto out;
	/* The CLI alone (against another build's wcard too: WCARD_BIN). */
	if (cli_only) {
		ret = bench_cli(data, opts.runs > 3) ?: results_close();
		goto out;
	}
	scaling = dat_open("scaling.dat", "rules bf_ns tm_ns static_ns (generated sets, cold cache)");
	/* Every set below is ipv4-5tuple: the object holds its compact records (as the CLI's). */
	skel = bench_object_layout(wcard_layout_ipv4(), MAX_RULES, NKEYS, &ret);
	if (!skel) {
		ret = 1;
		goto out;
	}

	say("wcard bench: trace-driven lookups from BPF (bpf_loop over keys in an ARRAY, "
	       "BPF_PROG_TEST_RUN)\n");
	say("keys: %u, drawn at random from each trace (cold cache: every lookup starts "
	       "with a random key read)\n",
	       NKEYS);
	say("figures: median of %d runs [min - max], ns per lookup; -floor subtracts the bare "
	       "loop;\n         every case is first checked against the userspace reference on "
	       "%u keys\n\n",
	       opts.runs, VERIFY);
	print_head();

	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct wcard_ruleset rs;
		struct wcard_trace tr = {};
		struct result bf = {}, tm = {}, st = {};
		char name[64];

		wcard_ruleset_init(&rs, wcard_layout_ipv4());
		if (gen_set(sizes[s], &rs, &tr))
			goto out;
		keys_from_trace(&tr, keys, 11 + s);
		if (fill_keys(skel, keys))
			goto out;
		if (s == 0 && bench_floors(skel, keys, &fig.floor))
			goto out;
		if (lpm_only) { /* the floor and the hash probe, then straight to LPM */
			wcard_ruleset_free(&rs);
			wcard_trace_free(&tr);
			break;
		}
		snprintf(name, sizeof(name), "generated %u", sizes[s]);
		if (bench_case(skel, name, &rs, keys, WC_ALGO_BF, 0, &bf) ||
		    bench_case(skel, name, &rs, keys, WC_ALGO_TM, 0, &tm) ||
		    bench_case(skel, name, &rs, keys, WC_ALGO_STM, 0, &st))
			goto out;
		if (sizes[s] == 10000)
			say("%-28s tm is %.0fx faster than bf\n", "", bf.med / tm.med);
		for (g = 0; g < NGEN; g++)
			if (gen_native[g].rules == sizes[s])
				fig.gen_tm[g] = tm.med;
		if (scaling)
			fprintf(scaling, "%u %.1f %.1f %.1f\n", sizes[s], bf.med, tm.med, st.med);
		wcard_ruleset_free(&rs);
		wcard_trace_free(&tr);
	}

	/* The 1M point takes a few minutes (building, and checking against the reference). */
	if (!lpm_only && opts.runs > 3 && bench_million(keys, scaling))
		goto out;
	for (s = 0; !lpm_only && s < NCB; s++) {
		struct wcard_ruleset rs;
		struct wcard_trace tr = {};
		int e;

		wcard_ruleset_init(&rs, wcard_layout_ipv4());
		e = cb_set(data, cb[s].set, &rs, &tr);
		if (e == -ENOENT) {
			say("%-28s skipped: no ClassBench data in %s\n", cb[s].set, data);
			continue;
		}
		if (e)
			goto out;
		keys_from_trace(&tr, keys, 100 + s);
		if (fill_keys(skel, keys))
			goto out;
		if (bench_case(skel, cb[s].set, &rs, keys, WC_ALGO_TM, cb[s].native_ns, &r) ||
		    (json_obj("ratio",
			      "\"what\":\"%s wcard Tuple Merge / native C++ TupleMerge\",\"ratio\":%.3f",
			      cb[s].set, r.med / cb[s].native_ns), 0) ||
		    bench_case(skel, cb[s].set, &rs, keys, WC_ALGO_STM, 0, &rb))
			goto out;
		fig.tm[s] = r.med;
		/* Brute force at 10K rules, for the Tuple Merge speedup over it. */
		if (rs.n <= 10000) {
			if (bench_case(skel, cb[s].set, &rs, keys, WC_ALGO_BF, 0, &rb))
				goto out;
			say("%-28s tm is %.0fx faster than bf\n", "", rb.med / r.med);
			fig.bf[s] = rb.med;
			json_obj("ratio", "\"what\":\"%s brute force / Tuple Merge\",\"ratio\":%.2f",
				 cb[s].set, rb.med / r.med);
		}
		/* Updates alone (the native figure's shape), then with lookups on the other core. */
		/* And under lookups with wcard_clf_reclaim on a third thread: no writer waits. */
		if (!strcmp(cb[s].set, "acl1_10k") &&
		    (bench_updates(skel, cb[s].set, &rs, opts.runs == 3 ? 200000 : 1000000, false,
				   false, &fig.upd[0]) ||
		     bench_updates(skel, cb[s].set, &rs, opts.runs == 3 ? 200000 : 1000000, true,
				   false, &fig.upd[1]) ||
		     bench_updates(skel, cb[s].set, &rs, opts.runs == 3 ? 200000 : 1000000, true,
				   true, &fig.upd[2])))
			goto out;
		if (bench_datapath(cb[s].set, &rs, &tr, s == 0 ? &fig.dp : NULL))
			goto out;
		wcard_ruleset_free(&rs);
		wcard_trace_free(&tr);
	}
	wcard_bench__destroy(skel);
	skel = NULL;
	if (!lpm_only && (bench_dual(data, keys, &fig.dual) || bench_dual_lpm(data, fig.dual.lpm)))
		goto out;
	if (bench_lpm_sizes(data, 4, keys, &fig.lpm[0]) ||
	    bench_lpm_sizes(data, 6, keys, &fig.lpm[1]))
		goto out;
	if (!lpm_only && bench_programs())
		goto out;
	if (!lpm_only && bench_cli(data, opts.runs > 3))
		goto out;
	say("\nnative TupleMerge updates (docs/design.md section 8): 500K inserts + 500K deletes "
	       "from half of acl1_10k in ~1.13 s, ~1.1 us per update.\n");
	say("\nnative: the paper authors' C++ TupleMerge (-O3, c=10, in-process) on this machine "
	       "kind, docs/design.md section 8;\n"
	       "        ratio = wcard ns/lookup / native ns/packet.\n"
	       "hits: share of lookups matching a rule. load ms: wcard_clf_load (build + publish "
	       "+ grace period).\n");
	anchors(&fig);
	ret = results_close();
out:
	if (scaling)
		fclose(scaling);
	if (ret)
		fprintf(stderr, "bench: failed\n");
	wcard_bench__destroy(skel);
	free(keys);
	return ret;
}
