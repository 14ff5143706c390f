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

extern int runs; /* timed runs per figure (5; 3 quick) */
extern char *outdir; /* results files go here, or NULL */
extern FILE *json; /* rows go here as JSON objects, or NULL */
extern bool json_first;
extern bool quiet; /* say() keeps its text without printing it */
extern double floor_ns; /* the bare loop's cost, for the -floor column */
extern const char *lpm_label; /* the LPM rows' name for the route table ("real table") */
/* The last bench_lpm's figures: kernel trie and wcard's structures (DIR-24-8, IPv4 trie, IPv6 trie). */
struct lpm_figures {
	size_t routes;
	double kernel, ns[3];
	double kernel_load_ms, load_ms[3]; /* one syscall per route; wcard's bulk load */
};
extern struct lpm_figures lpm_last;
/* The latest figures of the other kinds make bench's anchor table quotes. */
struct bench_last {
	double hash_ns, array_ns; /* one kernel HASH probe; one random read of a 64 MiB ARRAY */
	double upd_us[2], upd_p99[2]; /* single updates: alone [0], under lookups [1] */
	double dp_hot_ns, dp_cold_ns; /* frames through the XDP filter */
};
extern struct bench_last last;

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
int bench_updates(struct wcard_bench *skel, const char *name, const struct wcard_ruleset *all,
		  unsigned int ops, bool concurrent);
int bench_datapath(const char *name, const struct wcard_ruleset *rs,
		   const struct wcard_trace *tr);
/* LPM on the routes of one family in path; given (ngiven) addresses, or random ones in the routes. */
int bench_lpm(const char *path, unsigned int family, struct wc_key *keys,
	      const struct wc_key *given, size_t ngiven);
/* The benchmark object, loaded, sized for max_rules and a HASH of hash_entries; NULL and *err. */
struct wcard_bench *bench_object(__u32 max_rules, __u32 hash_entries, int *err);
/* The bare loop, one kernel HASH probe and one random ARRAY read per key (keys filled). */
int bench_floors(struct wcard_bench *skel, const struct wc_key *keys);
/* A rule set on its own (wcard bench): floors, brute force, Tuple Merge, static. */
int bench_rules(const char *name, const struct wcard_ruleset *rs, const struct wcard_trace *tr);

/* verified_insns and load time of the shipped programs (the XDP filter at its sizes, the LPM lookups). */
int bench_programs(void);

int gen_set(unsigned int n, struct wcard_ruleset *rs, struct wcard_trace *tr);
int cb_set(const char *data, const char *set, struct wcard_ruleset *rs, struct wcard_trace *tr);

#endif /* WCARD_BENCH_HARNESS_H */
