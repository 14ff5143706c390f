/* harness.h: the lookup benchmark's engine (bench/harness.c); for wcard-bench and the wcard CLI only. */
#ifndef WCARD_BENCH_HARNESS_H
#define WCARD_BENCH_HARNESS_H

#include <stdbool.h>
#include <stdio.h>
#include <wcard/wcard.h>

#define NKEYS (1u << 20) /* keys a timed run walks, in random order */
#define VERIFY 4096 /* keys checked against the reference before timing */
#define MAX_RULES (128u * 1024) /* fits the 100k ClassBench sets */

struct wcard_bench;
struct bpf_program;

struct result {
	double med, lo, hi; /* ns per lookup */
	double hits; /* share of keys matching */
	double tables; /* avg Tuple Merge tables probed */
	__u32 n; /* lookups per run */
};

/*
 * How a run reports, set once before anything runs (bench_setup): the
 * engine keeps it, and nothing else of its state is anyone else's.
 */
struct bench_opts {
	int runs; /* timed runs per figure (5; 3 quick) */
	const char *outdir; /* results.json, results.md, .dat files for the plots; or NULL */
	FILE *json; /* without outdir: rows here as JSON objects (wcard bench --json), or NULL */
	bool quiet; /* say() keeps its text without printing it */
};
void bench_setup(const struct bench_opts *o);

/* Figures that cases return through out (which may be NULL), for make bench's anchors. */
struct floor_figures {
	double loop_ns; /* the bare loop, the -floor column's */
	double hash_ns, array_ns; /* one kernel HASH probe; one random read of a 64 MiB ARRAY */
};
struct update_figures {
	double us, p99_us, max_us; /* single updates: mean, p99 and max latency */
	unsigned long long waits; /* grace periods the writer waited for itself */
};
struct datapath_figures {
	double hot_ns, cold_ns; /* frames through the XDP filter */
};
/* An LPM run's: kernel trie and wcard's structures (DIR-24-8, IPv4 trie, IPv6 trie). */
struct lpm_figures {
	size_t routes;
	double kernel, ns[3];
	double kernel_load_ms, load_ms[3]; /* one syscall per route; wcard's bulk load */
};

double now_ns(void);
/* printf to stdout (unless quiet), kept for results.md. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One JSON object of kind `kind` into json; fmt makes its other members. */
void json_obj(const char *kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
FILE *dat_open(const char *name, const char *header);
int results_open(void);
/* Markdown for results.md, above the printed run; echoed to stdout (unless quiet). */
void results_md(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int results_close(void);

int time_prog(struct wcard_bench *skel, struct bpf_program *prog, struct result *res);
int fill_keys(struct wcard_bench *skel, const struct wc_key *keys);
void keys_from_trace(const struct wcard_trace *tr, struct wc_key *keys, __u64 seed);
void print_head(void);
void print_row(const char *name, const char *algo, size_t rules, unsigned int tables,
	       const struct result *r, double load_ms, size_t mem, double native);

/* Cases: each checked against the reference (or the kernel trie) before it is timed. */
int bench_case(struct wcard_bench *skel, const char *name, const struct wcard_ruleset *rs,
	       const struct wc_key *keys, enum wc_algo algo, double native, struct result *out);
/*
 * The C twin of the BPF Tuple Merge lookup (bench/twin.c) on the classifier
 * loaded in skel's maps: checked against the reference, then timed over keys
 * (all NKEYS, in the same order as the BPF row) runs times.
 */
int bench_twin(struct wcard_bench *skel, const struct wcard_ruleset *rs,
	       const struct wc_key *keys, int runs, struct result *out);
/* concurrent: lookups on another thread; reclaim: wcard_clf_reclaim on a third. */
int bench_updates(struct wcard_bench *skel, const char *name, const struct wcard_ruleset *all,
		  unsigned int ops, bool concurrent, bool reclaim, struct update_figures *out);
int bench_datapath(const char *name, const struct wcard_ruleset *rs,
		   const struct wcard_trace *tr, struct datapath_figures *out);
/* The same with algorithm algo (0: auto), not Tuple Merge. */
int bench_datapath_algo(const char *name, const struct wcard_ruleset *rs,
			const struct wcard_trace *tr, enum wc_algo algo,
			struct datapath_figures *out);
/*
 * LPM on the routes of one family in path; given (ngiven) addresses, or random
 * ones in the routes. label names the route table in the rows ("real table":
 * make bench's, which also makes the LPM plot); out (or NULL): its figures.
 */
int bench_lpm(const char *path, unsigned int family, const char *label, struct wc_key *keys,
	      const struct wc_key *given, size_t ngiven, struct lpm_figures *out);
/*
 * The benchmark object, loaded, with the classifier's maps sized for max_rules
 * rules of layout l (inet: both parts; NULL: any layout, generic records) and a
 * HASH of hash_entries; NULL and *err.
 */
struct wcard_bench *bench_object_layout(const struct wcard_layout *l, __u32 max_rules,
					__u32 hash_entries, int *err);
/* The bare loop, one kernel HASH probe and one random ARRAY read per key (keys filled). */
int bench_floors(struct wcard_bench *skel, const struct wc_key *keys, struct floor_figures *out);
/* A rule set on its own (wcard bench): floors, brute force, Tuple Merge, static. */
int bench_rules(const char *name, const struct wcard_ruleset *rs, const struct wcard_trace *tr);

/* verified_insns and load time of the shipped programs (the XDP filter at its sizes, the LPM lookups). */
int bench_programs(void);

int gen_set(unsigned int n, struct wcard_ruleset *rs, struct wcard_trace *tr);
/* The CLI on pinned classifiers (bench/cli.c): ms per command; full adds the 1M-rule set. */
int bench_cli(const char *data, bool full);
int cb_set(const char *data, const char *set, struct wcard_ruleset *rs, struct wcard_trace *tr);

#endif /* WCARD_BENCH_HARNESS_H */
