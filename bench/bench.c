// SPDX-License-Identifier: MIT
/* bench.c: trace-driven lookup benchmark: wcard brute force beside a kernel HASH and the bare loop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "wcard_bench.skel.h"

#define NKEYS (1u << 20)
#define RUNS 5
#define VERIFY 4096 /* keys checked against the reference before timing */

struct bench_hkey {
	__u64 src, dst;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median, min and max ns per lookup over RUNS runs of prog on the first n keys. */
static int time_prog(struct wcard_bench *skel, struct bpf_program *prog, __u32 n, double *med,
		     double *lo, double *hi)
{
	double r[RUNS];
	int i;

	skel->bss->wc_bench_nkeys = n;
	skel->bss->wc_bench_record = 0;
	for (i = 0; i < RUNS; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .repeat = 1);
		__u8 pkt[64] = {};

		o.data_in = pkt;
		o.data_size_in = sizeof(pkt);
		if (bpf_prog_test_run_opts(bpf_program__fd(prog), &o))
			return -errno;
		r[i] = (double)o.duration / n;
	}
	qsort(r, RUNS, sizeof(r[0]), cmp_double);
	*med = r[RUNS / 2];
	*lo = r[0];
	*hi = r[RUNS - 1];
	return 0;
}

/* Trace of NKEYS keys drawn from rs (ClassBench-style generator), in random order. */
static int make_trace(const struct wcard_gen_opts *go, struct wcard_ruleset *rs,
		      struct wc_key *keys)
{
	char err[512], rpath[] = "/tmp/wcard-bench-rXXXXXX",
	     tpath[] = "/tmp/wcard-bench-tXXXXXX";
	struct wcard_trace tr = {};
	int rfd = mkstemp(rpath), tfd = mkstemp(tpath), ret = -EIO;
	FILE *rf = rfd >= 0 ? fdopen(rfd, "w") : NULL, *tf = tfd >= 0 ? fdopen(tfd, "w") : NULL;
	size_t i;

	if (!rf || !tf)
		goto out;
	ret = wcard_gen_classbench(go, rf, tf);
	fclose(rf);
	fclose(tf);
	rf = tf = NULL;
	if (ret)
		goto out;
	ret = wcard_rules_load(rpath, WCARD_FMT_CLASSBENCH, wcard_layout_ipv4(), rs, err,
			       sizeof(err));
	if (!ret)
		ret = wcard_trace_load(tpath, &tr, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "bench: %s\n", err);
		goto out;
	}
	for (i = 0; i < NKEYS; i++)
		wcard_key_from_tuple(&tr.t[i % tr.n], &keys[i]);
out:
	if (rf)
		fclose(rf);
	if (tf)
		fclose(tf);
	unlink(rpath);
	unlink(tpath);
	wcard_trace_free(&tr);
	return ret;
}

static int fill_array(int fd, const void *vals, __u32 n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	__u32 *keys = malloc(n * sizeof(*keys)), i, count = n;
	int ret;

	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		keys[i] = i;
	ret = bpf_map_update_batch(fd, keys, vals, &count, &bo) ? -errno : 0;
	free(keys);
	return ret;
}

int main(int argc, char **argv)
{
	static const unsigned int sizes[] = { 100, 1000, 10000 };
	struct wc_key *keys = calloc(NKEYS, sizeof(*keys));
	struct bench_hkey *hk = calloc(NKEYS, sizeof(*hk));
	__u64 *hv = calloc(NKEYS, sizeof(*hv));
	struct wcard_bench *skel = NULL;
	double fmed, flo, fhi, med, lo, hi;
	unsigned int s;
	int ret = 1;
	__u32 i;

	if (argc > 1 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--verbose")))
		wcard_set_verbose(true);
	else
		wcard_set_verbose(false);
	if (!keys || !hk || !hv)
		goto out;

	printf("wcard bench: trace-driven lookups, %u keys in random order in a BPF array "
	       "(cold cache: each key is a fresh random read), median of %d runs [min-max]\n",
	       NKEYS, RUNS);
	printf("machine: %ld cores, kernel BPF_PROG_TEST_RUN, one bpf_loop per run\n\n",
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-34s %12s %12s %20s %8s\n", "lookup", "ns/lookup", "minus floor", "[min - max]",
	       "hits");

	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct wcard_gen_opts go = { .nrules = sizes[s], .npackets = NKEYS, .seed = 7 };
		struct wcard_clf_opts co = { .layout = wcard_layout_ipv4() };
		struct wcard_ruleset rs;
		struct wcard_clf *clf = NULL;
		char err[512] = "", name[64];
		__u32 n, bad = 0;
		double depth = 0;

		wcard_ruleset_init(&rs, wcard_layout_ipv4());
		if (make_trace(&go, &rs, keys))
			goto out;
		skel = wcard_bench__open();
		if (!skel)
			goto out;
		bpf_map__set_max_entries(skel->maps.wc_bench_keys, NKEYS);
		bpf_map__set_max_entries(skel->maps.wc_bench_hash, NKEYS);
		bpf_map__set_max_entries(skel->maps.wc_bench_out, VERIFY);
		if (wcard_object_prepare(skel->obj, WC_DEFAULT_MAX_RULES) ||
		    wcard_bench__load(skel)) {
			fprintf(stderr, "bench: loading the benchmark object failed (root?)\n");
			goto out;
		}
		if (wcard_clf_from_object(skel->obj, NULL, &co, &clf, err, sizeof(err)) ||
		    wcard_clf_load(clf, &rs, err, sizeof(err))) {
			fprintf(stderr, "bench: %s\n", err);
			goto out;
		}
		if (fill_array(bpf_map__fd(skel->maps.wc_bench_keys), keys, NKEYS))
			goto out;

		/* Honesty check: the BPF answers must equal the reference before any timing. */
		skel->bss->wc_bench_nkeys = VERIFY;
		skel->bss->wc_bench_record = VERIFY;
		{
			LIBBPF_OPTS(bpf_test_run_opts, o, .repeat = 1);
			__u8 pkt[64] = {};
			__u32 *out = calloc(VERIFY, sizeof(*out));

			o.data_in = pkt;
			o.data_size_in = sizeof(pkt);
			if (!out || bpf_prog_test_run_opts(bpf_program__fd(skel->progs.wc_bench_bf),
							   &o)) {
				free(out);
				goto out;
			}
			for (i = 0; i < VERIFY; i++) {
				__u32 k = i, id;
				long want = wcard_ref_lookup(&rs, &keys[i]);

				if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.wc_bench_out), &k,
							&id))
					id = ~0u - 1;
				out[i] = id;
				bad += want < 0 ? id != WC_ID_NONE : id != (__u32)want;
				/* Generated rules have prio = index: a first-match scan reads want + 1. */
				depth += want < 0 ? (double)rs.n : (double)want + 1;
			}
			free(out);
		}
		if (bad) {
			fprintf(stderr, "bench: brute force disagrees with the reference on %u of %u "
					"keys at %u rules; refusing to report\n",
				bad, VERIFY, sizes[s]);
			goto out;
		}

		if (s == 0) {
			for (i = 0; i < NKEYS; i++) {
				hk[i].src = keys[i].w[0];
				hk[i].dst = keys[i].w[1];
				hv[i] = i;
			}
			{
				LIBBPF_OPTS(bpf_map_batch_opts, bo);
				__u32 count = NKEYS;

				/* Duplicate (src, dst) pairs just overwrite: every probe hits. */
				if (bpf_map_update_batch(bpf_map__fd(skel->maps.wc_bench_hash), hk, hv,
							 &count, &bo))
					goto out;
			}
			if (time_prog(skel, skel->progs.wc_bench_floor, NKEYS, &fmed, &flo, &fhi))
				goto out;
			printf("%-34s %12.1f %12s %9.1f - %-8.1f %8s\n", "bare loop (floor)", fmed, "-",
			       flo, fhi, "-");
			if (time_prog(skel, skel->progs.wc_bench_hash_prog, NKEYS, &med, &lo, &hi))
				goto out;
			printf("%-34s %12.1f %12.1f %9.1f - %-8.1f %8llu\n",
			       "kernel HASH, 1 probe (src,dst)", med, med - fmed, lo, hi,
			       (unsigned long long)skel->bss->wc_bench_hits);
		}
		/* Brute force is O(rules): fewer lookups per run at 10K keep a run under ~1 s. */
		n = sizes[s] >= 10000 ? NKEYS / 16 : sizes[s] >= 1000 ? NKEYS / 4 : NKEYS;
		if (time_prog(skel, skel->progs.wc_bench_bf, n, &med, &lo, &hi))
			goto out;
		snprintf(name, sizeof(name), "wcard brute force, %u rules", sizes[s]);
		printf("%-34s %12.1f %12.1f %9.1f - %-8.1f %7.1f%%  (%.0f rules scanned on average, "
		       "%.1f ns/rule)\n",
		       name, med, med - fmed, lo, hi, 100.0 * skel->bss->wc_bench_hits / n,
		       depth / VERIFY, (med - fmed) / (depth / VERIFY));
		wcard_clf_destroy(clf);
		wcard_ruleset_free(&rs);
		wcard_bench__destroy(skel);
		skel = NULL;
	}
	printf("\nverified: brute force = userspace reference on the first %u keys of each trace.\n"
	       "hits: share of keys matching a rule (15%% of the trace is random background traffic).\n",
	       VERIFY);
	ret = 0;
out:
	if (ret)
		fprintf(stderr, "bench: failed\n");
	wcard_bench__destroy(skel);
	free(keys);
	free(hk);
	free(hv);
	return ret;
}
