// SPDX-License-Identifier: MIT
/* harness.c: the trace-driven lookup benchmark's engine (timing, checks, cases, results), shared by wcard-bench and wcard bench. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "testkit/testkit.h"
#include "wcard_bench.skel.h"
#include "compat/wcard_bench.skel.h"
#include "wcard_lpm4.skel.h"
#include "compat/wcard_lpm4.skel.h"
#include "core/skel.h"
#include "harness.h"

#define RUN_NS 200000000.0 /* aim for ~0.2 s per timed run */

/* How the run reports (bench_setup): runs per figure, where the results go. */
static struct bench_opts opt = { .runs = 5 };
static FILE *json; /* results.json (results_open) or opt.json: rows as JSON objects, or NULL */
static bool json_first = true;
static double floor_ns; /* the bare loop's cost, for the -floor column */

void bench_setup(const struct bench_opts *o)
{
	opt = *o;
	json = o->json;
	json_first = true;
}

struct bench_hkey {
	__u64 src, dst;
};


double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int run_once(struct wcard_bench *skel, struct bpf_program *prog, __u32 n, __u64 *dur)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .repeat = 1);
	__u8 pkt[64] = {};

	skel->bss->wc_bench_nkeys = n;
	o.data_in = pkt;
	o.data_size_in = sizeof(pkt);
	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &o))
		return -errno;
	*dur = o.duration;
	return 0;
}

/*
 * Median, min and max ns per lookup over `runs` runs of prog. The number of
 * lookups per run is calibrated so a run takes ~0.2 s (at most NKEYS).
 */
int time_prog(struct wcard_bench *skel, struct bpf_program *prog, struct result *res)
{
	double r[16];
	__u64 d;
	__u32 n = 256;
	int i, ret;

	skel->bss->wc_bench_record = 0;
	ret = run_once(skel, prog, n, &d);
	if (ret)
		return ret;
	if (d > 0) {
		double want = RUN_NS / ((double)d / n);

		/* At least 256 lookups a run; as many as fit ~0.2 s (up to NKEYS). */
		n = want > NKEYS ? NKEYS : want < 256 ? 256 : (__u32)want;
	}
	for (i = 0; i < opt.runs; i++) {
		ret = run_once(skel, prog, n, &d);
		if (ret)
			return ret;
		/* The test run reports a u32 of ns: a saturated figure is no figure. */
		if (d >= 0xffffffffULL)
			return -ERANGE;
		r[i] = (double)d / n;
	}
	qsort(r, opt.runs, sizeof(r[0]), cmp_double);
	res->med = r[opt.runs / 2];
	res->lo = r[0];
	res->hi = r[opt.runs - 1];
	res->n = n;
	res->hits = (double)skel->bss->wc_bench_hits / n;
	res->tables = (double)skel->bss->wc_bench_tables / n;
	return 0;
}

int fill_keys(struct wcard_bench *skel, const struct wc_key *keys)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	__u32 *idx = malloc(NKEYS * sizeof(*idx)), i, count = NKEYS;
	int ret;

	if (!idx)
		return -ENOMEM;
	for (i = 0; i < NKEYS; i++)
		idx[i] = i;
	ret = bpf_map_update_batch(bpf_map__fd(skel->maps.wc_bench_keys), idx, keys, &count, &bo) ?
		      -errno :
		      0;
	free(idx);
	return ret;
}

/* NKEYS keys drawn at random (with replacement) from the trace: random order, cold cache. */
void keys_from_trace(const struct wcard_trace *tr, struct wc_key *keys, __u64 seed)
{
	__u64 s = seed;
	__u32 i;

	for (i = 0; i < NKEYS; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		wcard_key_from_tuple_classbench(&tr->t[(s >> 33) % tr->n], &keys[i]);
	}
}

/*
 * Run the classifier on the first VERIFY keys and compare with the reference
 * (512 keys above 100K rules: the reference scans every rule for each key).
 */
static int verify(struct wcard_bench *skel, const struct wcard_ruleset *rs,
		  const struct wc_key *keys, const char *name)
{
	__u32 i, bad = 0, nv = rs->n > 100000 ? 512 : VERIFY;
	/* The keys' family: the one the program was given, else the layout's. */
	unsigned int fam = skel->bss->wc_bench_family;
	__u64 d;
	int ret;

	if (!fam)
		fam = rs->layout->id == WC_LAYOUT_IPV6_5T ? 6 : 4;
	skel->bss->wc_bench_record = nv;
	ret = run_once(skel, skel->progs.wc_bench_clf, nv, &d);
	skel->bss->wc_bench_record = 0;
	if (ret)
		return ret;
	for (i = 0; i < nv; i++) {
		long want = tk_ref_lookup_family(rs, fam, &keys[i]);
		__u32 id;

		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.wc_bench_out), &i, &id))
			return -errno;
		bad += want < 0 ? id != WC_ID_NONE : id != (__u32)want;
	}
	if (bad) {
		fprintf(stderr, "bench: %s disagrees with the reference on %u of %u keys; refusing "
				"to report\n",
			name, bad, nv);
		return -EIO;
	}
	return 0;
}


/* ---- output: the table on stdout, and the results files with --out DIR ---- */

/* A growing text buffer: the printed run, and the Markdown above it. */
struct text {
	char *buf;
	size_t len, cap;
};
static struct text log_text, md_text;

static void text_vadd(struct text *t, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n > 0 && t->len + n + 1 > t->cap) {
		size_t cap = (t->len + n + 1) * 2;
		char *nb = realloc(t->buf, cap);

		if (nb) {
			t->buf = nb;
			t->cap = cap;
		}
	}
	if (n > 0 && t->len + n + 1 <= t->cap) {
		vsnprintf(t->buf + t->len, n + 1, fmt, ap);
		t->len += n;
	}
}

/* Keep the text in t, and print it unless quiet. */
static void text_say(struct text *t, const char *fmt, va_list ap)
{
	va_list aq;

	va_copy(aq, ap);
	text_vadd(t, fmt, aq);
	va_end(aq);
	if (!opt.quiet)
		vprintf(fmt, ap);
}

/* printf to stdout, and kept for the Markdown report. */
void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	text_say(&log_text, fmt, ap);
	va_end(ap);
}

void results_md(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	text_say(&md_text, fmt, ap);
	va_end(ap);
}

/* One JSON object of kind `kind` into results.json; body is its other members. */
void json_obj(const char *kind, const char *fmt, ...)
{
	va_list ap;

	if (!json)
		return;
	fprintf(json, "%s\n    {\"kind\":\"%s\",", json_first ? "" : ",", kind);
	va_start(ap, fmt);
	vfprintf(json, fmt, ap);
	va_end(ap);
	fputc('}', json);
	json_first = false;
}

/* A .dat file under --out (NULL without it); a header line of column names. */
FILE *dat_open(const char *name, const char *header)
{
	char path[1024];
	FILE *f;

	if (!opt.outdir)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", opt.outdir, name);
	f = fopen(path, "w");
	if (f)
		fprintf(f, "# %s\n", header);
	return f;
}

void print_head(void)
{
	say("%-28s %-6s %7s %6s %7s %9s %9s %17s %7s %9s %8s %14s\n", "case", "algo", "rules",
	       "tables", "probed", "ns/lookup", "-floor", "[min - max]", "hits", "load ms", "mem KiB",
	       "native");
}

void print_row(const char *name, const char *algo, size_t rules, unsigned int tables,
		      const struct result *r, double load_ms, size_t mem, double native)
{
	char nat[32] = "-", tb[16] = "-", pr[16] = "-";
	/* The C twin runs no bpf_loop: its own loop costs ~1 ns, no floor to take off. */
	double fl = strcmp(algo, "twin") ? floor_ns : 0;

	if (native > 0)
		snprintf(nat, sizeof(nat), "%.0f (%.2fx)", native, r->med / native);
	if (tables) {
		snprintf(tb, sizeof(tb), "%u", tables);
		snprintf(pr, sizeof(pr), "%.1f", r->tables);
	}
	say("%-28s %-6s %7zu %6s %7s %9.1f %9.1f %8.1f - %-6.1f %6.1f%% %9.1f %8zu %14s\n", name,
	       algo, rules, tb, pr, r->med, r->med - fl, r->lo, r->hi, 100.0 * r->hits,
	       load_ms, mem / 1024, nat);
	fflush(stdout);
	json_obj("lookup",
		 "\"case\":\"%s\",\"algo\":\"%s\",\"rules\":%zu,\"tables\":%u,\"probed\":%.2f,"
		 "\"ns\":%.1f,\"ns_above_floor\":%.1f,\"ns_min\":%.1f,\"ns_max\":%.1f,"
		 "\"runs\":%d,\"lookups_per_run\":%u,\"hits\":%.4f,\"load_ms\":%.1f,"
		 "\"mem_bytes\":%zu,\"native_ns\":%.0f,\"cache\":\"cold: keys in random order\"",
		 name, algo, rules, tables, r->tables, r->med, r->med - fl, r->lo, r->hi,
		 opt.runs, r->n, r->hits, load_ms, mem, native);
}

/* Load rs with algo, verify, time; print a row. */
int bench_case(struct wcard_bench *skel, const char *name, const struct wcard_ruleset *rs,
		      const struct wc_key *keys, enum wc_algo algo, double native,
		      struct result *out)
{
	struct wcard_clf_opts co = { .layout = rs->layout, .algo = algo };
	__u8(*pool)[WC_MAX_FIELDS] = NULL;
	struct wcard_stats *st = calloc(1, sizeof(*st));
	struct wcard_clf *clf = NULL;
	char err[512] = "";
	struct result r = {};
	double t0, load_ms;
	int ret = -ENOMEM;
	size_t mem;

	if (!st)
		goto fail;
	if (algo == WC_ALGO_STM) {
		/* The CLI's default pools: address lengths in steps of 8 (IPv4) or 16. */
		ret = wcard_pool_parse(rs->layout,
				       rs->layout->id == WC_LAYOUT_IPV6_5T ?
					       "src=0,16,32,48,64,128 dst=0,16,32,48,64,128" :
					       "src=0,8,16,24,32 dst=0,8,16,24,32",
				       &pool, &co.npool, err, sizeof(err));
		if (ret)
			goto fail;
		co.pool = (const __u8(*)[WC_MAX_FIELDS])pool;
	}
	ret = wcard_clf_from_object(skel->obj, NULL, &co, &clf, err, sizeof(err));
	if (ret)
		goto fail;
	t0 = now_ns();
	ret = wcard_clf_load(clf, rs, err, sizeof(err));
	load_ms = (now_ns() - t0) / 1e6;
	if (ret)
		goto fail;
	ret = verify(skel, rs, keys, name);
	if (ret)
		goto out;
	ret = time_prog(skel, skel->progs.wc_bench_clf, &r);
	if (ret)
		goto fail;
	/* Memory: the whole classifier's; tables: those of the keys' part. */
	wcard_clf_stats(clf, st);
	mem = st->used_bytes;
	if (skel->bss->wc_bench_family == 6 && st->parts > 1)
		wcard_clf_part_stats(clf, WC_PART_V6, st);
	print_row(name, algo == WC_ALGO_BF ? "bf" : algo == WC_ALGO_STM ? "static" : "tm", rs->n,
		  st->ntables, &r, load_ms, mem, native);
	/* Tuple Merge: its C twin on the same maps and keys, the BPF tax beside it. */
	if (algo == WC_ALGO_TM) {
		struct result tw = {};

		ret = bench_twin(skel, rs, keys, opt.runs, &tw);
		if (ret)
			goto fail;
		print_row(name, "twin", rs->n, st->ntables, &tw, 0, mem, native);
	}
	if (out)
		*out = r;
	goto out;
fail:
	fprintf(stderr, "bench: %s: %s\n", name, *err ? err : strerror(-ret));
out:
	wcard_clf_destroy(clf);
	free(pool);
	free(st);
	return ret;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * Lookups on another thread while the updates run: the bench program, over and
 * over, 256 lookups a run. (A run is one RCU read-side section, as a NAPI poll
 * of a few packets is: 65,536 lookups a run made every grace period wait ~30 ms.)
 */
#define LOOKERS_BATCH 256
struct lookers {
	struct wcard_bench *skel;
	volatile bool stop;
	__u64 lookups;
	double ns;
};

static void *lookups_run(void *arg)
{
	struct lookers *l = arg;
	__u64 d;

	while (!l->stop) {
		if (run_once(l->skel, l->skel->progs.wc_bench_clf, LOOKERS_BATCH, &d))
			break;
		l->lookups += LOOKERS_BATCH;
		l->ns += d;
	}
	return NULL;
}

/* wcard_clf_reclaim in a loop, a nap when nothing waits: the grace periods, off the writer. */
struct reclaimer {
	struct wcard_clf *clf;
	volatile bool stop;
	unsigned long long periods;
	int ret;
};

static void *reclaim_run(void *arg)
{
	struct reclaimer *r = arg;
	int ret;

	while (!r->stop) {
		ret = wcard_clf_reclaim(r->clf, 0);
		if (ret < 0) {
			r->ret = ret;
			break;
		}
		if (ret)
			r->periods++;
		else
			usleep(200);
	}
	return NULL;
}

/*
 * The paper's update benchmark: start from half of the set, then `ops` random
 * single updates, each an insert of an absent rule or a delete of a present one
 * (so about half each), while another thread runs lookups (concurrent), and a
 * third reclaims (reclaim). Reports updates/s, per-update latency percentiles,
 * the grace periods the writer waited for, and the lookups done meanwhile.
 */
int bench_updates(struct wcard_bench *skel, const char *name, const struct wcard_ruleset *all,
		  unsigned int ops, bool concurrent, bool reclaim, struct update_figures *out)
{
	struct wcard_clf_opts co = { .layout = all->layout, .algo = WC_ALGO_TM };
	__u32 *id_of = calloc(all->n, sizeof(*id_of)), i;
	__u64 *lat = calloc(ops, sizeof(*lat)), s = 12345;
	bool *in = calloc(all->n, sizeof(*in));
	struct wcard_ruleset half;
	struct wcard_stats *st = calloc(1, sizeof(*st));
	struct wcard_clf *clf = NULL;
	char err[512] = "";
	struct lookers lk = { .skel = skel };
	struct reclaimer rc = { 0 };
	bool looking = false, reclaiming = false;
	unsigned long long gp0 = 0, waits;
	double t0, total;
	pthread_t lt, rt;
	int ret = -ENOMEM;

	wcard_ruleset_init(&half, all->layout);
	if (!id_of || !lat || !in || !st)
		goto out;
	for (i = 0; i < all->n; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		if ((s >> 40) & 1)
			continue;
		in[i] = true;
		id_of[i] = half.n;
		if ((ret = wcard_ruleset_add(&half, &all->rules[i])))
			goto out;
	}
	ret = wcard_clf_from_object(skel->obj, NULL, &co, &clf, err, sizeof(err));
	if (!ret)
		ret = wcard_clf_load(clf, &half, err, sizeof(err));
	if (ret)
		goto out;
	skel->bss->wc_bench_record = 0;
	if (!wcard_clf_stats(clf, st))
		gp0 = st->grace_periods;
	looking = concurrent && !pthread_create(&lt, NULL, lookups_run, &lk);
	rc.clf = clf;
	reclaiming = reclaim && !pthread_create(&rt, NULL, reclaim_run, &rc);
	t0 = now_ns();
	for (i = 0; i < ops; i++) {
		__u32 x;
		double a;

		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		x = (s >> 33) % all->n;
		a = now_ns();
		if (in[x])
			ret = wcard_clf_delete(clf, id_of[x], err, sizeof(err));
		else
			ret = wcard_clf_insert(clf, &all->rules[x], &id_of[x], err, sizeof(err));
		lat[i] = (__u64)(now_ns() - a);
		if (ret)
			goto out;
		in[x] = !in[x];
	}
	total = now_ns() - t0;
	lk.stop = true;
	rc.stop = true;
	if (looking)
		pthread_join(lt, NULL);
	if (reclaiming)
		pthread_join(rt, NULL);
	looking = reclaiming = false;
	if (rc.ret) {
		ret = rc.ret;
		fprintf(stderr, "bench: wcard_clf_reclaim: %s\n", strerror(-ret));
		goto out;
	}
	qsort(lat, ops, sizeof(*lat), cmp_u64);
	wcard_clf_stats(clf, st);
	waits = st->grace_periods - gp0 - rc.periods;
	say("%-28s tm     %u updates from half the set%s%s: %.2f us each, %.0f updates/s; "
	       "latency p50 %.2f us, p99 %.2f us, max %.0f us\n",
	       name, ops, concurrent ? " under lookups" : "",
	       reclaim ? ", a thread reclaiming" : "", total / ops / 1e3, ops / (total / 1e9),
	       lat[ops / 2] / 1e3, lat[(size_t)(ops * 0.99)] / 1e3, lat[ops - 1] / 1e3);
	say("%-28s        %u rule moves; grace periods: %llu waited for by the writer (~8 ms "
	    "each, in the p99/max), %llu by the reclaiming thread; %u tables at the end\n",
	    "", st->moves, waits, rc.periods, st->ntables);
	if (concurrent)
		say("%-28s        meanwhile on the other core: %.1fM lookups, %.1f ns each (grace "
		    "periods wait for them)\n",
		    "", lk.lookups / 1e6, lk.lookups ? lk.ns / lk.lookups : 0);
	if (out) {
		out->us = total / ops / 1e3;
		out->p99_us = lat[(size_t)(ops * 0.99)] / 1e3;
		out->max_us = lat[ops - 1] / 1e3;
		out->waits = waits;
	}
	json_obj("updates",
		 "\"case\":\"%s\",\"ops\":%u,\"us_each\":%.3f,\"per_s\":%.0f,\"p50_us\":%.3f,"
		 "\"p99_us\":%.3f,\"max_us\":%.1f,\"moves\":%u,\"grace_periods\":%llu,"
		 "\"writer_waits\":%llu,\"reclaimer_periods\":%llu,\"reclaiming\":%s,"
		 "\"under_lookups\":%s,\"concurrent_lookups\":%llu,\"concurrent_lookup_ns\":%.1f",
		 name, ops, total / ops / 1e3, ops / (total / 1e9), lat[ops / 2] / 1e3,
		 lat[(size_t)(ops * 0.99)] / 1e3, lat[ops - 1] / 1e3, st->moves,
		 (unsigned long long)st->grace_periods, waits, rc.periods,
		 reclaim ? "true" : "false", concurrent ? "true" : "false",
		 (unsigned long long)lk.lookups,
		 lk.lookups ? lk.ns / lk.lookups : 0);
	{
		/* The latency distribution for the plot: 1000 quantiles and the tail. */
		FILE *f = dat_open(reclaim	   ? "updates_reclaim.dat" :
				   concurrent ? "updates_lookups.dat" :
						"updates.dat",
				   "percentile latency_us (single-rule insert/delete)");
		unsigned int q;

		for (q = 0; f && q <= 1000; q++)
			fprintf(f, "%.1f %.3f\n", q / 10.0,
				lat[(size_t)((ops - 1) * (q / 1000.0))] / 1e3);
		if (f)
			fclose(f);
	}
	ret = 0;
out:
	lk.stop = true;
	rc.stop = true;
	if (looking)
		pthread_join(lt, NULL);
	if (reclaiming)
		pthread_join(rt, NULL);
	if (ret)
		fprintf(stderr, "bench: updates on %s: %s\n", name, *err ? err : strerror(-ret));
	wcard_clf_destroy(clf);
	wcard_ruleset_free(&half);
	free(id_of);
	free(lat);
	free(in);
	free(st);
	return ret;
}

/* The kernel trie's route for key i (tfd: the trie of the family), or -1. */
static long ktrie_route(int tfd, unsigned int family, const struct wc_key *key)
{
	struct { __u32 len; __u8 a[16]; } tk = { .len = family == 6 ? 128 : 32 };
	unsigned int nb = family == 6 ? 16 : 4, j;
	wc_u128 a = family == 6 ? ((wc_u128)key->w[0] << 64) | key->w[1] : key->w[0];
	__u32 kv;

	for (j = 0; j < nb; j++)
		tk.a[j] = (__u8)(a >> (8 * (nb - 1 - j)));
	return bpf_map_lookup_elem(tfd, &tk, &kv) ? -1 : (long)kv;
}

/* A bar of the LPM plot: ns per lookup of one structure on one family's table. */
static void lpm_dat(unsigned int family, const char *what, double ns, double kernel_ns)
{
	static FILE *f;

	if (!f)
		f = dat_open("lpm.dat", "label ns_per_lookup kernel_trie_ns (real tables, cold cache)");
	if (f) {
		fprintf(f, "\"IPv%u %s\" %.1f %.1f\n", family, what, ns, kernel_ns);
		fflush(f);
	}
}

/*
 * One of wcard's LPM structures on the real table, prepared in skel (kind 0:
 * DIR-24-8 d4, 1: the small IPv4 trie tr, 2: the IPv6 trie tr; the caller's):
 * build time, memory, ns per lookup next to the kernel trie's kmed, then nops
 * deletes and re-adds of random routes with their latency. Checked against
 * the kernel trie on VERIFY keys first.
 */
static int bench_lpm_fast(struct wcard_bench *skel, struct wcard_dir24 *d4, struct wcard_trie *tr,
			  const char *label, const struct wcard_routes *rt, const __u32 *route_of,
			  size_t nr, const struct wc_key *keys, int tfd, int kind, double kmed,
			  unsigned int nops, __u64 *s, struct lpm_figures *fig)
{
	static const char *const algo[] = { "dir24", "trie4", "trie8" };
	static const char *const what[] = { "DIR-24-8", "small IPv4 trie", "multibit trie" };
	struct bpf_program *fp = kind == 0 ? skel->progs.wc_bench_dir24_prog :
				 kind == 1 ? skel->progs.wc_bench_trie4s_prog :
					     skel->progs.wc_bench_lpm6_prog;
	unsigned int family = kind == 2 ? 6 : 4, bad = 0, i, u;
	char err[512] = "", name[64];
	struct result dr = {};
	__u64 *lat = NULL, dd;
	double t0, load_ms, tt0;
	size_t bytes;
	int ret;

	t0 = now_ns();
	if (kind == 0) {
		ret = wcard_dir24_open(d4, err, sizeof(err));
		if (!ret)
			ret = wcard_dir24_load(d4, rt, err, sizeof(err));
	} else {
		ret = wcard_trie_open(tr, err, sizeof(err));
		if (!ret)
			ret = wcard_trie_load(tr, rt, err, sizeof(err));
	}
	load_ms = (now_ns() - t0) / 1e6;
	bytes = wcard_dir24_bytes(d4) + wcard_trie_bytes(tr);
	skel->bss->wc_bench_record = VERIFY;
	if (!ret)
		ret = run_once(skel, fp, VERIFY, &dd);
	skel->bss->wc_bench_record = 0;
	for (i = 0; !ret && i < VERIFY; i++) {
		long want = ktrie_route(tfd, family, &keys[i]), got;
		__u32 id;

		bpf_map_lookup_elem(bpf_map__fd(skel->maps.wc_bench_out), &i, &id);
		got = id == WC_ID_NONE ? -1 : (long)id;
		/* Equal prefixes listed twice: compare the prefixes, not the lines. */
		bad += (want < 0) != (got < 0) ||
		       (want >= 0 && (got >= (long)rt->n || rt->r[want].len != rt->r[got].len ||
				      rt->r[want].addr != rt->r[got].addr));
	}
	if (!ret && bad) {
		fprintf(stderr, "bench: lpm ipv%u %s disagrees with the kernel trie on %u keys; "
				"refusing to report\n",
			family, what[kind], bad);
		ret = -EIO;
	}
	if (!ret)
		ret = time_prog(skel, fp, &dr);
	if (!ret) {
		snprintf(name, sizeof(name), "lpm ipv%u, %s", family, label);
		print_row(name, algo[kind], nr, 0, &dr, load_ms, bytes, 0);
		say("%-28s kernel trie / wcard %s = %.1f\n", "", what[kind], kmed / dr.med);
		fig->ns[kind] = dr.med;
		fig->load_ms[kind] = load_ms;
		json_obj("ratio", "\"what\":\"IPv%u kernel LPM trie / wcard %s\",\"ratio\":%.2f",
			 family, what[kind], kmed / dr.med);
		if (!strcmp(label, "real table"))
			lpm_dat(family, what[kind], dr.med, kmed);
	}
	/* Online changes: delete a random route and add it back; latency per change. */
	if (!ret)
		lat = calloc(2 * nops, sizeof(*lat));
	tt0 = now_ns();
	for (u = 0; lat && !ret && u < nops; u++) {
		const struct wcard_route *x = &rt->r[route_of[(*s >> 33) % nr]];
		double a;

		*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
		a = now_ns();
		ret = d4 ? wcard_dir24_del(d4, (__u32)x->addr, x->len) :
			   wcard_trie_del(tr, x->addr, x->len);
		lat[2 * u] = (__u64)(now_ns() - a);
		a = now_ns();
		if (!ret)
			ret = d4 ? wcard_dir24_add(d4, (__u32)x->addr, x->len, x->value, NULL) :
				   wcard_trie_add(tr, x->addr, x->len, x->value, NULL);
		lat[2 * u + 1] = (__u64)(now_ns() - a);
	}
	if (lat && !ret) {
		double tot = now_ns() - tt0;

		qsort(lat, 2 * nops, sizeof(*lat), cmp_u64);
		say("%-28s %u route deletes + re-adds: %.2f us each, p50 %.2f us, p99 %.2f us, "
		       "max %.0f us\n",
		       "", nops, tot / (2.0 * nops) / 1e3, lat[nops] / 1e3,
		       lat[(size_t)(2 * nops * 0.99)] / 1e3, lat[2 * nops - 1] / 1e3);
	}
	/* By prefix length: delete and re-add routes of one length, p50/p99 of each. */
	for (i = 0; !ret && lat && i < 3; i++) {
		static const unsigned int lens[2][3] = { { 24, 16, 8 }, { 48, 32, 0 } };
		unsigned int len = lens[family == 6][i], n = 0, want = nops / 10;
		__u64 *dl = lat, *al = lat + want;
		size_t *pick;
		size_t j, m = 0;

		if (!len)
			break;
		pick = calloc(rt->n, sizeof(*pick));
		for (j = 0; pick && j < rt->n; j++)
			if (rt->r[j].family == family && rt->r[j].len == len)
				pick[m++] = j;
		for (n = 0; pick && m && !ret && n < want; n++) {
			const struct wcard_route *x = &rt->r[pick[(*s >> 33) % m]];
			double a;

			*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
			a = now_ns();
			ret = d4 ? wcard_dir24_del(d4, (__u32)x->addr, x->len) :
				   wcard_trie_del(tr, x->addr, x->len);
			dl[n] = (__u64)(now_ns() - a);
			a = now_ns();
			if (!ret)
				ret = d4 ? wcard_dir24_add(d4, (__u32)x->addr, x->len, x->value,
							   NULL) :
					   wcard_trie_add(tr, x->addr, x->len, x->value, NULL);
			al[n] = (__u64)(now_ns() - a);
		}
		free(pick);
		if (ret || !n)
			continue;
		qsort(dl, n, sizeof(*dl), cmp_u64);
		qsort(al, n, sizeof(*al), cmp_u64);
		say("%-28s /%u (%zu in the table, %u changes): delete p50 %.2f p99 %.2f us, "
		       "add p50 %.2f p99 %.2f us\n",
		       "", len, m, n, dl[n / 2] / 1e3, dl[(size_t)(n * 0.99)] / 1e3,
		       al[n / 2] / 1e3, al[(size_t)(n * 0.99)] / 1e3);
		json_obj("route_changes",
			 "\"family\":%u,\"algo\":\"%s\",\"len\":%u,\"in_table\":%zu,\"changes\":%u,"
			 "\"delete_p50_us\":%.3f,\"delete_p99_us\":%.3f,\"add_p50_us\":%.3f,"
			 "\"add_p99_us\":%.3f",
			 family, algo[kind], len, m, n, dl[n / 2] / 1e3, dl[(size_t)(n * 0.99)] / 1e3,
			 al[n / 2] / 1e3, al[(size_t)(n * 0.99)] / 1e3);
	}
	if (ret && *err)
		fprintf(stderr, "bench: lpm ipv%u %s: %s\n", family, what[kind], err);
	free(lat);
	return ret;
}

/*
 * Honesty check of the classifier program on a route table: its rule (as a
 * route) = the kernel trie's route on the first VERIFY keys, else -EIO.
 */
static int clf_vs_trie(struct wcard_bench *skel, int tfd, unsigned int family,
		       const struct wc_key *keys, const struct wcard_routes *rt,
		       const __u32 *route_of, const char *what)
{
	unsigned int i, bad = 0;
	__u64 d;
	int ret;

	skel->bss->wc_bench_record = VERIFY;
	ret = run_once(skel, skel->progs.wc_bench_clf, VERIFY, &d);
	skel->bss->wc_bench_record = 0;
	for (i = 0; !ret && i < VERIFY; i++) {
		long want = ktrie_route(tfd, family, &keys[i]), got;
		__u32 id;

		bpf_map_lookup_elem(bpf_map__fd(skel->maps.wc_bench_out), &i, &id);
		got = id == WC_ID_NONE ? -1 : (long)route_of[id];
		/* Equal prefixes listed twice: compare the prefixes, not the lines. */
		bad += want != got && !(want >= 0 && got >= 0 && rt->r[want].len == rt->r[got].len &&
					rt->r[want].addr == rt->r[got].addr);
	}
	if (!ret && bad) {
		fprintf(stderr, "bench: lpm ipv%u %s disagrees with the kernel trie on %u of %u keys; "
				"refusing to report\n",
			family, what, bad, VERIFY);
		ret = -EIO;
	}
	return ret;
}

/*
 * Load the benchmark object. Its programs walk the keys with bpf_loop (Linux
 * 5.17): on an older kernel, say so instead of the verifier's EINVAL.
 */
static int bench_load(struct wcard_bench *skel)
{
	static const struct wcard_feature loop = {
		WCARD_FEAT_HELPER, BPF_FUNC_loop, NULL,
		"the bpf_loop helper (wcard bench's loop over the keys)", "5.17"
	};
	char why[256], hint[256];
	int ret = wcard_probe_features(&loop, 1, why, sizeof(why));

	if (ret) {
		fprintf(stderr, "bench: %s\n", why);
		return ret;
	}
	ret = wcard_bench__load(skel);
	if (ret)
		fprintf(stderr, "bench: loading the benchmark object: %s%s\n", strerror(-ret),
			wcard_load_hint(ret, hint, sizeof(hint)));
	return ret;
}

/*
 * LPM on a route table: wcard (routes as one-field Tuple Merge rules) beside
 * the kernel's LPM trie holding the same routes, on NKEYS random addresses
 * inside random routes. Checked against the trie on VERIFY keys first.
 */
int bench_lpm(const char *path, unsigned int family, const char *label, struct wc_key *keys,
	      const struct wc_key *given, size_t ngiven, struct lpm_figures *out)
{
	struct lpm_figures fig = {};
	char err[512] = "", name[64];
	struct wcard_routes rt = {};
	struct wcard_ruleset rs;
	struct wcard_layout l;
	struct wcard_clf_opts co = { .layout = &l, .algo = WC_ALGO_TM };
	struct wcard_clf *clf = NULL;
	struct wcard_bench *skel = NULL;
	struct wcard_dir24 *d4 = NULL;
	struct wcard_trie *t4 = NULL, *t6 = NULL;
	struct wcard_stats *st = calloc(1, sizeof(*st));
	struct result w = {}, k = {};
	__u32 *route_of = NULL, i;
	double t0, load_ms, tload_ms;
	__u64 s = 77 + family;
	int ret = -ENOMEM, tfd;

	wcard_ruleset_init(&rs, NULL);
	if (access(path, R_OK)) {
		say("%-28s skipped: no route table %s\n", family == 6 ? "lpm ipv6" : "lpm ipv4",
		    path);
		ret = 0;
		goto out;
	}
	if (!st)
		goto out;
	ret = wcard_routes_load(path, &rt, err, sizeof(err));
	if (!ret)
		ret = wcard_lpm_layout(family, &l);
	if (!ret)
		ret = wcard_lpm_ruleset(&rt, family, &l, &rs, &route_of);
	if (ret)
		goto out;
	if (!rs.n) {
		say("%-28s skipped: no IPv%u routes in %s\n", family == 6 ? "lpm ipv6" : "lpm ipv4",
		    family, path);
		goto out;
	}
	skel = wcard_skel_open(wcard_bench);
	if (!skel)
		goto out;
	bpf_map__set_max_entries(skel->maps.wc_bench_keys, NKEYS);
	bpf_map__set_max_entries(skel->maps.wc_bench_hash, 1);
	bpf_map__set_max_entries(skel->maps.wc_bench_out, VERIFY);
	bpf_map__set_max_entries(skel->maps.wc_bench_trie4, family == 4 ? rt.n + 1 : 1);
	bpf_map__set_max_entries(skel->maps.wc_bench_trie6, family == 6 ? rt.n + 1 : 1);
	ret = wcard_object_prepare(skel->obj, rs.n > 1024 ? rs.n : 1024);
	/* Spare route slots: a deleted one is reused only after a grace period. */
	if (!ret)
		ret = wcard_dir24_prepare(skel->obj, rt.n + 65536, 1 << 16, &d4);
	if (!ret)
		ret = wcard_lpm6_prepare(skel->obj, rt.n + 65536,
					 family == 6 ? (__u32)wcard_lpm6_nodes_needed(&rt) + 1 : 1,
					 &t6);
	if (!ret)
		ret = wcard_trie4_prepare(skel->obj, rt.n + 65536,
					  family == 4 ? (__u32)wcard_trie4_nodes_needed(&rt) + 1 :
							1,
					  &t4);
	if (!ret)
		ret = bench_load(skel);
	if (!ret)
		ret = wcard_clf_from_object(skel->obj, NULL, &co, &clf, err, sizeof(err));
	if (ret)
		goto out;
	t0 = now_ns();
	ret = wcard_clf_load(clf, &rs, err, sizeof(err));
	load_ms = (now_ns() - t0) / 1e6;
	if (ret)
		goto out;
	/* The kernel trie, loaded the way a user would: one update per route. */
	tfd = bpf_map__fd(family == 4 ? skel->maps.wc_bench_trie4 : skel->maps.wc_bench_trie6);
	t0 = now_ns();
	for (i = 0; i < rt.n; i++) {
		struct { __u32 len; __u8 a[16]; } tk = { .len = rt.r[i].len };
		unsigned int nb = family == 6 ? 16 : 4, j;

		if (rt.r[i].family != family)
			continue;
		for (j = 0; j < nb; j++)
			tk.a[j] = (__u8)(rt.r[i].addr >> (8 * (nb - 1 - j)));
		if (bpf_map_update_elem(tfd, &tk, &i, BPF_ANY)) {
			ret = -errno;
			goto out;
		}
	}
	tload_ms = (now_ns() - t0) / 1e6;
	for (i = 0; i < NKEYS; i++) {
		const struct wcard_route *r;
		wc_u128 span, a;

		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		if (ngiven) {
			/* The caller's addresses, drawn at random. */
			keys[i] = given[(s >> 33) % ngiven];
			continue;
		}
		r = &rt.r[route_of[(s >> 33) % rs.n]];
		span = r->len ? ((wc_u128)1 << ((family == 6 ? 128 : 32) - r->len)) - 1 :
				(family == 6 ? ~(wc_u128)0 : 0xffffffff);
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		a = r->addr | ((((wc_u128)s << 64) | (s * 0x9e3779b97f4a7c15ULL)) & span);
		memset(&keys[i], 0, sizeof(keys[i]));
		if (family == 6) {
			keys[i].w[0] = (__u64)(a >> 64);
			keys[i].w[1] = (__u64)a;
		} else {
			keys[i].w[0] = (__u32)a;
		}
	}
	ret = fill_keys(skel, keys);
	if (ret)
		goto out;
	/* Run on its own (wcard bench lpm), the floor was not measured yet: here it is. */
	if (!ret && floor_ns == 0) {
		struct result fr;

		ret = time_prog(skel, skel->progs.wc_bench_floor, &fr);
		if (!ret) {
			floor_ns = fr.med;
			print_row("bare loop (floor)", "-", 0, 0, &fr, 0, 0, 0);
		}
	}
	if (!ret)
		ret = clf_vs_trie(skel, tfd, family, keys, &rt, route_of, "Tuple Merge");
	if (ret)
		goto out;
	ret = time_prog(skel, skel->progs.wc_bench_clf, &w);
	if (!ret)
		ret = time_prog(skel, family == 4 ? skel->progs.wc_bench_trie4_prog :
						    skel->progs.wc_bench_trie6_prog,
				&k);
	if (ret)
		goto out;
	wcard_clf_stats(clf, st);
	if (!strcmp(label, "real table"))
		snprintf(name, sizeof(name), "lpm ipv%u, kernel LPM trie", family);
	else
		snprintf(name, sizeof(name), "lpm ipv%u, %s: kernel", family, label);
	print_row(name, "trie", rs.n, 0, &k, tload_ms, 0, 0);
	fig.kernel = k.med;
	fig.kernel_load_ms = tload_ms;
	fig.routes = rs.n;
	snprintf(name, sizeof(name), "lpm ipv%u, %s", family, label);
	print_row(name, "tm", rs.n, wcard_clf_ntables(clf), &w, load_ms, st->used_bytes, 0);
	say("%-28s kernel trie / wcard tm = %.2f\n", "", k.med / w.med);
	if (!strcmp(label, "real table")) {
		lpm_dat(family, "kernel LPM trie", k.med, k.med);
		lpm_dat(family, "wcard Tuple Merge", w.med, k.med);
	}
	ret = bench_lpm_fast(skel, family == 4 ? d4 : NULL, family == 6 ? t6 : NULL, label, &rt,
			     route_of, rs.n, keys, tfd, family == 4 ? 0 : 2, k.med, opt.runs == 3 ? 20000 : 50000, &s, &fig);
	if (!ret && family == 4)
		ret = bench_lpm_fast(skel, NULL, t4, label, &rt, route_of, rs.n, keys, tfd, 1,
				     k.med, opt.runs == 3 ? 20000 : 50000, &s, &fig);
	/* The classifier's LPM fast path, what the XDP filter runs, on the same routes. */
	if (!ret) {
		/* It takes over the trie bench_lpm_fast measured (and its image). */
		struct wcard_clf_opts lo = { .layout = &l, .algo = WC_ALGO_LPM,
					     .lpm4 = family == 4 ? t4 : NULL,
					     .lpm6 = family == 6 ? t6 : NULL };
		struct result lr = {};

		wcard_clf_destroy(clf);
		clf = NULL;
		ret = wcard_clf_from_object(skel->obj, NULL, &lo, &clf, err, sizeof(err));
		if (!ret && family == 4)
			t4 = NULL;
		else if (!ret)
			t6 = NULL;
		t0 = now_ns();
		if (!ret)
			ret = wcard_clf_load(clf, &rs, err, sizeof(err));
		load_ms = (now_ns() - t0) / 1e6;
		if (!ret)
			ret = clf_vs_trie(skel, tfd, family, keys, &rt, route_of, "LPM classifier");
		if (!ret)
			ret = time_prog(skel, skel->progs.wc_bench_clf, &lr);
		if (!ret) {
			wcard_clf_stats(clf, st);
			snprintf(name, sizeof(name), "lpm ipv%u, %s", family, label);
			print_row(name, "clf-lpm", rs.n, 0, &lr, load_ms, st->used_bytes, 0);
			say("%-28s kernel trie / wcard classifier, LPM path = %.1f\n", "",
			       k.med / lr.med);
			json_obj("ratio",
				 "\"what\":\"IPv%u kernel LPM trie / wcard classifier LPM path\","
				 "\"ratio\":%.2f",
				 family, k.med / lr.med);
		}
	}
out:
	if (ret)
		fprintf(stderr, "bench: lpm ipv%u: %s\n", family, *err ? err : strerror(-ret));
	if (out)
		*out = fig;
	wcard_clf_destroy(clf);
	wcard_dir24_close(d4);
	wcard_trie_close(t4);
	wcard_trie_close(t6);
	wcard_bench__destroy(skel);
	wcard_ruleset_free(&rs);
	wcard_routes_free(&rt);
	free(route_of);
	free(st);
	return ret;
}

int bench_floors(struct wcard_bench *skel, const struct wc_key *keys, struct floor_figures *out)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	struct bench_hkey *hk = calloc(NKEYS, sizeof(*hk));
	__u64 *hv = calloc(NKEYS, sizeof(*hv));
	__u32 n, count = NKEYS;
	struct result fr, hr, ar;
	int ret = -ENOMEM;

	if (!hk || !hv)
		goto out;
	for (n = 0; n < NKEYS; n++) {
		hk[n].src = keys[n].w[0];
		hk[n].dst = keys[n].w[1];
		hv[n] = n;
	}
	/* Duplicate (src, dst) pairs just overwrite: every probe hits. */
	ret = bpf_map_update_batch(bpf_map__fd(skel->maps.wc_bench_hash), hk, hv, &count, &bo) ?
		      -errno : 0;
	if (!ret)
		ret = time_prog(skel, skel->progs.wc_bench_floor, &fr);
	if (ret)
		goto out;
	floor_ns = fr.med;
	print_row("bare loop (floor)", "-", 0, 0, &fr, 0, 0, 0);
	ret = time_prog(skel, skel->progs.wc_bench_hash_prog, &hr);
	if (ret)
		goto out;
	print_row("kernel HASH, 1 probe", "-", 0, 0, &hr, 0,
		  (size_t)NKEYS * (sizeof(struct bench_hkey) + 8), 0);
	skel->bss->wc_bench_array_mask = bpf_map__max_entries(skel->maps.wc_bench_array) - 1;
	ret = time_prog(skel, skel->progs.wc_bench_array_prog, &ar);
	if (ret)
		goto out;
	print_row("kernel ARRAY, random read", "-", 0, 0, &ar, 0,
		  (size_t)bpf_map__max_entries(skel->maps.wc_bench_array) * 8, 0);
	if (out) {
		out->loop_ns = fr.med;
		out->hash_ns = hr.med;
		out->array_ns = ar.med;
	}
out:
	free(hk);
	free(hv);
	return ret;
}

struct wcard_bench *bench_object_layout(const struct wcard_layout *l, __u32 max_rules,
					__u32 hash_entries, int *err)
{
	struct wcard_bench *skel = wcard_skel_open(wcard_bench);
	int ret;

	if (!skel) {
		*err = -errno;
		return NULL;
	}
	bpf_map__set_max_entries(skel->maps.wc_bench_keys, NKEYS);
	bpf_map__set_max_entries(skel->maps.wc_bench_hash, hash_entries);
	/* The floors' object also gets the 64 MiB ARRAY of docs/design.md section 8 (2^23 u64). */
	bpf_map__set_max_entries(skel->maps.wc_bench_array, hash_entries > 1 ? 1u << 23 : 1);
	bpf_map__set_max_entries(skel->maps.wc_bench_out, VERIFY);
	ret = wcard_object_prepare_layout(skel->obj, l,
					  max_rules > WC_MAX_RULES ? WC_MAX_RULES : max_rules);
	if (!ret)
		ret = bench_load(skel);
	if (ret) {
		wcard_bench__destroy(skel);
		*err = ret;
		return NULL;
	}
	return skel;
}


/* A key inside rule r of layout l: each field a random value the rule matches. */
static void key_in_rule(const struct wcard_layout *l, const struct wcard_rule *r, __u64 *s,
			struct wc_key *k)
{
	unsigned int f;

	memset(k, 0, sizeof(*k));
	for (f = 0; f < l->nfields && f < WC_MAX_FIELDS; f++) {
		const struct wcard_match *m = &r->f[f];
		const struct wc_field_desc *d = &l->desc[f];
		unsigned int bits = 8 * l->fields[f].width;
		wc_u128 ones = bits >= 128 ? ~(wc_u128)0 : ((wc_u128)1 << bits) - 1, v, rnd;

		*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
		rnd = ((wc_u128)*s << 64) | (*s * 0x9e3779b97f4a7c15ULL);
		if (l->fields[f].type == WC_FIELD_RANGE)
			v = m->hi - m->lo == ~0ULL ? (__u64)rnd :
						     m->lo + (__u64)rnd % (m->hi - m->lo + 1);
		else
			v = (m->value & m->mask) | (rnd & ~m->mask & ones);
		if (d->nwords == 2) {
			k->w[d->word] = (__u64)(v >> 64);
			k->w[d->word + 1] = (__u64)v;
		} else {
			k->w[d->word] = (__u64)v;
		}
	}
}

/*
 * keys[0..NKEYS) for the rules of rs a key of family fam meets (0: any layout
 * but inet): the trace's packets of that family (ipv4-5tuple and inet), or
 * keys inside random rules of that family or of both. 0, or -ENOENT when no
 * rule is of that family.
 */
static int rules_keys(const struct wcard_ruleset *rs, const struct wcard_trace *tr,
		      unsigned int fam, struct wc_key *keys, bool *from_trace)
{
	const struct wcard_layout *kl = wcard_layout_family(rs->layout, fam);
	size_t *pick = calloc(rs->n > tr->n ? rs->n : tr->n ? tr->n : 1, sizeof(*pick));
	size_t i, n = 0;
	__u64 s = 4242 + fam;

	if (!pick)
		return -ENOMEM;
	*from_trace = false;
	if (rs->layout->id == WC_LAYOUT_IPV4_5T || rs->layout->id == WC_LAYOUT_INET) {
		for (i = 0; i < tr->n; i++)
			if ((tr->t[i].family == 6 ? 6u : 4u) == (fam ? fam : 4))
				pick[n++] = i;
		if (n) {
			for (i = 0; i < NKEYS; i++) {
				s = s * 6364136223846793005ULL + 1442695040888963407ULL;
				wcard_key_from_tuple_classbench(&tr->t[pick[(s >> 33) % n]],
								&keys[i]);
			}
			*from_trace = true;
			free(pick);
			return 0;
		}
	}
	for (i = 0; i < rs->n; i++)
		if (!fam || !rs->rules[i].family || rs->rules[i].family == fam)
			pick[n++] = i;
	for (i = 0; n && i < NKEYS; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		key_in_rule(kl, &rs->rules[pick[(s >> 33) % n]], &s, &keys[i]);
	}
	free(pick);
	return n ? 0 : -ENOENT;
}

/* The rules of an inet set a key of family fam meets, in that family's layout. */
static int family_rules(const struct wcard_ruleset *rs, unsigned int fam, struct wcard_ruleset *out)
{
	size_t i;
	int ret = 0;

	wcard_ruleset_init(out, rs->layout);
	for (i = 0; i < rs->n && !ret; i++)
		if (!rs->rules[i].family || rs->rules[i].family == fam)
			ret = wcard_ruleset_add(out, &rs->rules[i]);
	if (!ret)
		ret = wcard_ruleset_convert(out, wcard_layout_family(rs->layout, fam), NULL, 0);
	return ret;
}

int bench_rules(const char *name, const struct wcard_ruleset *rs, const struct wcard_trace *tr)
{
	/* Maps sized as a classifier of the default size, or a quarter more than the set. */
	__u32 cap = rs->n + rs->n / 4 > WC_DEFAULT_MAX_RULES ? rs->n + rs->n / 4 :
							       WC_DEFAULT_MAX_RULES;
	struct wc_key *keys = calloc(NKEYS, sizeof(*keys));
	bool inet = rs->layout->id == WC_LAYOUT_INET, from_trace;
	const struct wcard_trace none = {};
	struct wcard_bench *skel = NULL;
	unsigned int f;
	int ret = -ENOMEM;

	if (!keys || !rs->n)
		goto out;
	skel = bench_object_layout(rs->layout, cap, NKEYS, &ret);
	if (!skel)
		goto out;
	ret = 0;
	/* A dual-stack set: IPv4 keys, then IPv6 keys, each through its family's part. */
	for (f = 0; !ret && f < (inet ? 2u : 1u); f++) {
		unsigned int fam = inet ? 4 + 2 * f : 0;
		struct result bf = {}, tm = {};
		char label[160];

		ret = rules_keys(rs, tr ? tr : &none, fam, keys, &from_trace);
		if (ret == -ENOENT) {
			say("%s: no IPv%u rules\n", name, fam);
			ret = 0;
			continue;
		}
		if (ret)
			break;
		snprintf(label, sizeof(label), "%s%s", name,
			 !inet ? "" : fam == 6 ? " ipv6" : " ipv4");
		skel->bss->wc_bench_family = fam;
		say("%skeys: %u, %s, random order (cold cache)\n\n", f ? "\n" : "", NKEYS,
		    from_trace ? "drawn from the trace" : "each inside a random rule");
		print_head();
		ret = fill_keys(skel, keys);
		if (!ret && !f)
			ret = bench_floors(skel, keys, NULL);
		/* Brute force takes ~1 ns a rule: up to 100K rules. */
		if (!ret && rs->n <= 100000)
			ret = bench_case(skel, label, rs, keys, WC_ALGO_BF, 0, &bf);
		if (!ret)
			ret = bench_case(skel, label, rs, keys, WC_ALGO_TM, 0, &tm);
		/* A static pool is of one family's layout: a dual-stack set's rules of fam. */
		if (!ret && !inet)
			ret = bench_case(skel, label, rs, keys, WC_ALGO_STM, 0, NULL);
		if (!ret && inet) {
			struct wcard_ruleset one;

			ret = family_rules(rs, fam, &one);
			if (!ret)
				ret = bench_case(skel, label, &one, keys, WC_ALGO_STM, 0, NULL);
			wcard_ruleset_free(&one);
		}
		if (!ret && bf.med > 0) {
			say("%-28s tm is %.1fx faster than bf\n", "", bf.med / tm.med);
			json_obj("ratio",
				 "\"what\":\"%s brute force / Tuple Merge\",\"ratio\":%.2f", label,
				 bf.med / tm.med);
		}
	}
out:
	wcard_bench__destroy(skel);
	free(keys);
	return ret;
}

/* verified_insns of a loaded program fd (0 if unknown). */
static __u32 prog_insns(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) ? info.verified_insns : 0;
}

static void program_row(const char *object, const char *prog, __u32 insns, double load_ms,
			size_t map_bytes)
{
	say("%-28s %-22s %9u verified insns, load %.0f ms, maps %.1f MiB\n", object, prog, insns,
	    load_ms, map_bytes / 1048576.0);
	json_obj("program",
		 "\"object\":\"%s\",\"program\":\"%s\",\"verified_insns\":%u,\"load_ms\":%.1f,"
		 "\"map_bytes\":%zu",
		 object, prog, insns, load_ms, map_bytes);
}

int bench_programs(void)
{
	static const __u32 sizes[] = { WC_DEFAULT_MAX_RULES, WC_MAX_RULES };
	struct wcard_stats *st = calloc(1, sizeof(*st));
	struct wcard_lpm4 *lpm = NULL;
	struct bpf_program *p;
	char err[512] = "", what[64];
	unsigned int i;
	int ret = 0;
	double t0;

	if (!st)
		return -ENOMEM;
	say("\nprograms: verified instructions, load time (open + verify + maps), map memory\n");
	/* The ready XDP filter, at the default size and the largest. */
	for (i = 0; !ret && i < 2; i++) {
		struct wcard_clf_opts co = { .layout = wcard_layout_ipv6(), .max_rules = sizes[i] };
		struct wcard_clf *c = NULL;

		t0 = now_ns();
		ret = wcard_clf_create(&co, &c, err, sizeof(err));
		if (!ret)
			ret = wcard_clf_stats(c, st);
		if (!ret) {
			snprintf(what, sizeof(what), "wcard_xdp, %u rules", sizes[i]);
			program_row(what, "wc_xdp_filter", wcard_clf_verified_insns(c),
				    (now_ns() - t0) / 1e6, st->map_bytes);
		}
		wcard_clf_destroy(c);
	}
	/* The LPM lookups (wcard lpm lookup/get), unprepared: their code, not their tables. */
	if (!ret) {
		t0 = now_ns();
		lpm = wcard_skel_open(wcard_lpm4);
		if (!lpm)
			ret = -errno;
		else
			ret = wcard_lpm4__load(lpm);
	}
	if (!ret) {
		double ms = (now_ns() - t0) / 1e6;

		bpf_object__for_each_program(p, lpm->obj)
			program_row("wcard_lpm4", bpf_program__name(p), prog_insns(bpf_program__fd(p)),
				    ms, 0);
	}
	if (ret)
		fprintf(stderr, "bench: programs: %s\n", *err ? err : strerror(-ret));
	wcard_lpm4__destroy(lpm);
	free(st);
	return ret;
}

/*
 * The whole datapath: real Ethernet frames through the ready XDP filter
 * (parse, classify, count, meta), each run by BPF_PROG_TEST_RUN. Hot: 64
 * flows, each repeated 4,096 times in one test run. Cold: frames of 20,000 trace
 * packets, one test run each (its per-run cost is in the figure). The
 * filter's verdicts on the first VERIFY frames are checked first.
 */
/* The algorithm of the part that packets of family fam meet. */
static const char *algo_of(const struct wcard_clf *clf, unsigned int fam)
{
	struct wcard_stats *st = calloc(1, sizeof(*st));
	enum wc_algo a = wcard_clf_algo(clf);

	if (st && !wcard_clf_part_stats(clf, fam == 6 ? WC_PART_V6 : 0, st))
		a = st->algo;
	else if (st && !wcard_clf_part_stats(clf, 0, st))
		a = st->algo;
	free(st);
	return a == WC_ALGO_TM	? "tm" :
	       a == WC_ALGO_STM ? "static" :
	       a == WC_ALGO_LPM ? "lpm" :
				  "bf";
}

int bench_datapath(const char *name, const struct wcard_ruleset *rs, const struct wcard_trace *tr,
		   struct datapath_figures *out)
{
	return bench_datapath_algo(name, rs, tr, WC_ALGO_TM, out);
}

int bench_datapath_algo(const char *name, const struct wcard_ruleset *rs,
			const struct wcard_trace *tr, enum wc_algo algo,
			struct datapath_figures *out)
{
	struct wcard_clf_opts co = { .layout = rs->layout, .algo = algo,
				     .max_rules = rs->n > WC_DEFAULT_MAX_RULES ? rs->n : 0 };
	unsigned int i, n = tr->n < 20000 ? tr->n : 20000, bad = 0;
	struct wcard_clf *clf = NULL;
	char err[512] = "";
	__u8 frame[256];
	double cold = 0, hot;
	int ret, len;

	ret = wcard_clf_create(&co, &clf, err, sizeof(err));
	if (!ret)
		ret = wcard_clf_load(clf, rs, err, sizeof(err));
	for (i = 0; !ret && i < n; i++) {
		struct wc_xdp_meta m;
		struct wc_pkt p;
		struct wc_key k;
		__u64 ns;

		tk_pkt_from_tuple(&tr->t[i], &p);
		len = tk_frame_build(&p, NULL, frame, sizeof(frame));
		ret = len < 0 ? len : wcard_clf_run_frame(clf, frame, len, &m, NULL, &ns);
		cold += ns;
		if (!ret && i < VERIFY) {
			long want;

			wcard_key_from_tuple(&tr->t[i], &k);
			want = tk_ref_lookup_family(rs, tr->t[i].family == 6 ? 6 : 4, &k);
			bad += m.id != (want < 0 ? WC_ID_NONE : (__u32)want);
		}
	}
	if (!ret && bad) {
		fprintf(stderr, "bench: datapath %s: %u of %u frames got another rule than the "
				"reference; refusing to report\n",
			name, bad, VERIFY);
		ret = -EIO;
	}
	/* Hot: each of the first 64 flows repeated 4,096 times; the mean of their figures. */
	hot = 0;
	for (i = 0; !ret && i < 64 && i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .repeat = 4096);
		struct wc_pkt p;

		tk_pkt_from_tuple(&tr->t[i], &p);
		len = tk_frame_build(&p, NULL, frame, sizeof(frame));
		o.data_size_in = len;
		ret = bpf_prog_test_run_opts(wcard_clf_prog_fd(clf), &o) ? -errno : 0;
		hot += o.duration;
	}
	if (!ret) {
		hot /= i;
		if (!ret) {
			cold /= n;
			if (out) {
				out->hot_ns = hot;
				out->cold_ns = cold;
			}
			const char *algo = algo_of(clf, tr->t[0].family == 6 ? 6 : 4);

			say("%-28s xdp    %7zu  frames through the ready XDP filter (%s): hot "
			    "(64 flows, each repeated) %.1f ns/pkt, %.2f Mpps; cold (%u trace "
			    "frames, a test run each) %.1f ns/pkt, %.2f Mpps; verifier %u insns\n",
			    name, rs->n, algo, hot, 1e3 / hot, n, cold, 1e3 / cold,
			    wcard_clf_verified_insns(clf));
			json_obj("datapath",
				 "\"case\":\"%s\",\"algo\":\"%s\",\"rules\":%zu,\"hot_ns\":%.1f,"
				 "\"hot_mpps\":%.3f,\"cold_ns\":%.1f,\"cold_mpps\":%.3f,"
				 "\"cold_frames\":%u,\"verified_insns\":%u,\"cache\":\"hot: 64 "
				 "flows, each repeated 4096 times; cold: trace frames, one test "
				 "run each\"",
				 name, algo, rs->n, hot, 1e3 / hot, cold, 1e3 / cold, n,
				 wcard_clf_verified_insns(clf));
		}
	}
	if (ret)
		fprintf(stderr, "bench: datapath %s: %s\n", name, *err ? err : strerror(-ret));
	wcard_clf_destroy(clf);
	return ret;
}

/* What this machine is, for the reports: CPU model, cores, kernel, memory. */
static void machine(char *buf, size_t len)
{
	char model[256] = "unknown CPU", line[512], kern[128] = "?";
	long mem_kb = 0;
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			snprintf(model, sizeof(model), "%s", strchr(line, ':') + 2);
			model[strcspn(model, "\n")] = 0;
			break;
		}
	}
	if (f)
		fclose(f);
	f = fopen("/proc/sys/kernel/osrelease", "r");
	if (f && fgets(kern, sizeof(kern), f))
		kern[strcspn(kern, "\n")] = 0;
	if (f)
		fclose(f);
	f = fopen("/proc/meminfo", "r");
	if (f && fscanf(f, "MemTotal: %ld kB", &mem_kb) != 1)
		mem_kb = 0;
	if (f)
		fclose(f);
	snprintf(buf, len, "%s, %ld cores, %.0f GiB RAM, Linux %s", model,
		 sysconf(_SC_NPROCESSORS_ONLN), mem_kb / 1048576.0, kern);
}

static char run_date[32], run_machine[512];

int results_open(void)
{
	char path[1024];
	time_t t = time(NULL);

	strftime(run_date, sizeof(run_date), "%Y-%m-%d %H:%M UTC", gmtime(&t));
	machine(run_machine, sizeof(run_machine));
	mkdir(opt.outdir, 0755);
	snprintf(path, sizeof(path), "%s/results.json", opt.outdir);
	json = fopen(path, "w");
	if (!json) {
		fprintf(stderr, "bench: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	fprintf(json, "{\"date\":\"%s\",\"machine\":\"%s\",\"runs\":%d,\"keys\":%u,"
		      "\"verify_keys\":%u,\"cache\":\"cold: lookups walk 2^20 keys in random order\","
		      "\"rows\":[",
		run_date, run_machine, opt.runs, NKEYS, VERIFY);
	return 0;
}

/*
 * Close results.json and write results.md: the whole table as printed, with
 * the machine, the date and the command, and the plots make bench draws.
 */
int results_close(void)
{
	char path[1024];
	FILE *f;

	if (!json)
		return 0;
	fprintf(json, "\n]}\n");
	if (fclose(json))
		return -errno;
	json = NULL;
	snprintf(path, sizeof(path), "%s/results.md", opt.outdir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "# wcard benchmark results\n\n"
		   "- **Date:** %s\n- **Machine:** %s\n- **Command:** `make bench`%s (this "
		   "file, `results.json` and the plots come from that one run)\n"
		   "- **Method:** a BPF program loops (`bpf_loop`) over 2^20 keys held in an ARRAY "
		   "map, drawn at random from each trace, so every lookup starts cold; timed with "
		   "`BPF_PROG_TEST_RUN`; median of %d runs with [min - max]. Every case is first "
		   "checked against the userspace reference (or the kernel LPM trie) on %u keys "
		   "(512 above 100K rules), and not reported if any answer differs.\n\n",
		   run_date, run_machine, opt.runs == 3 ? " with QUICK=1" : "", opt.runs, VERIFY);
	fprintf(f, "![ns per lookup against rule count](scaling.svg)\n"
		   "![LPM against the kernel trie](lpm.svg)\n"
		   "![update latency](updates.svg)\n"
		   "![LPM against table size](lpm_scaling.svg)\n\n");
	fprintf(f, "%.*s", (int)md_text.len, md_text.buf ? md_text.buf : "");
	fprintf(f, "## The run, as printed\n\n```\n%.*s```\n", (int)log_text.len,
		log_text.buf ? log_text.buf : "");
	return fclose(f) ? -errno : 0;
}

/* A generated rule set of n rules and a trace drawn from it, through temp files. */
int gen_set(unsigned int n, struct wcard_ruleset *rs, struct wcard_trace *tr)
{
	char rpath[] = "/tmp/wcard-bench-rXXXXXX", tpath[] = "/tmp/wcard-bench-tXXXXXX", err[512];
	struct tk_gen_opts go = { .nrules = n, .npackets = 100000, .seed = 7 };
	int rfd = mkstemp(rpath), tfd = mkstemp(tpath), ret = -EIO;
	FILE *rf = rfd >= 0 ? fdopen(rfd, "w") : NULL, *tf = tfd >= 0 ? fdopen(tfd, "w") : NULL;

	if (rf && tf)
		ret = tk_gen_classbench(&go, rf, tf);
	if (rf)
		fclose(rf);
	if (tf)
		fclose(tf);
	if (!ret)
		ret = wcard_rules_load(rpath, WCARD_FMT_CLASSBENCH, wcard_layout_ipv4(), rs, err,
				       sizeof(err));
	if (!ret)
		ret = wcard_trace_load(tpath, tr, err, sizeof(err));
	if (ret)
		fprintf(stderr, "bench: generated set: %s\n", err);
	unlink(rpath);
	unlink(tpath);
	return ret;
}

int cb_set(const char *data, const char *set, struct wcard_ruleset *rs,
		  struct wcard_trace *tr)
{
	char rp[1024], tp[1024], err[512];

	snprintf(rp, sizeof(rp), "%s/classbench/%s.rules.gz", data, set);
	snprintf(tp, sizeof(tp), "%s/classbench/%s.trace.gz", data, set);
	if (access(rp, R_OK) || access(tp, R_OK))
		return -ENOENT;
	if (wcard_rules_load(rp, WCARD_FMT_CLASSBENCH, wcard_layout_ipv4(), rs, err, sizeof(err)) ||
	    wcard_trace_load(tp, tr, err, sizeof(err))) {
		fprintf(stderr, "bench: %s\n", err);
		return -EINVAL;
	}
	return 0;
}

