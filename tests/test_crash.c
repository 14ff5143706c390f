// SPDX-License-Identifier: MIT
/*
 * test_crash.c: a writer killed with SIGKILL at random points of a bulk load
 * (suite "crash"): the pinned classifier always answers as the old or the new
 * rule set, never a mix, and the next writer opens it and goes on.
 */
#include <stdio.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "wctest.h"

static char dir[256];

static void crash_cleanup(void)
{
	char c[300];

	if (!*dir)
		return;
	snprintf(c, sizeof(c), "%s/c", dir);
	wcard_clf_unpin(c);
	snprintf(c, sizeof(c), "%s/l", dir);
	wcard_lpm_unpin(c);
	rmdir(c);
	rmdir(dir);
}

/* A generated ClassBench rule file and trace of n rules (seed), and the parsed rules. */
static void make_set(unsigned int n, __u64 seed, char *rpath, struct wcard_ruleset *rs,
		     struct wcard_trace *tr)
{
	char err[256];

	cr_assert_eq(wt_gen_set(n, seed, 400, rpath, rs, tr, err, sizeof(err)), 0, "gen: %s", err);
}

/* Check packets: both traces, one after the other (two sets answer them differently). */
static void both_traces(const struct wcard_trace *ta, const struct wcard_trace *tb,
			struct wcard_trace *chk)
{
	size_t i;

	chk->t = calloc(ta->n + tb->n, sizeof(*chk->t));
	cr_assert_not_null(chk->t, "calloc");
	chk->n = 0;
	for (i = 0; i < ta->n; i++)
		chk->t[chk->n++] = ta->t[i];
	for (i = 0; i < tb->n; i++)
		chk->t[chk->n++] = tb->t[i];
}

/*
 * The pinned program's answer for every check packet: the rule id into ids
 * (WC_ID_NONE on a miss) and the rule's value into vals (~0 on a miss); either
 * may be NULL.
 */
static void answers(int prog, const struct wcard_trace *chk, __u32 *ids, __u64 *vals,
		    const char *name)
{
	size_t i;

	for (i = 0; i < chk->n; i++) {
		__u8 frame[256];
		struct wc_xdp_meta m;
		struct wc_pkt p;
		int len, ret;

		/* Through the library: it reads the verdict without an xdp_md context before 5.15. */
		tk_pkt_from_tuple(&chk->t[i], &p);
		len = tk_frame_build(&p, NULL, frame, sizeof(frame));
		cr_assert_gt(len, 0, "case %s: frame", name);
		ret = wcard_xdp_run_frame(prog, frame, len, &m, NULL, NULL);
		cr_assert_eq(ret, 0, "case %s: test run: %s", name, strerror(-ret));
		if (ids)
			ids[i] = m.id;
		if (vals)
			vals[i] = m.id == WC_ID_NONE ? ~0ULL : m.value;
	}
}

/*
 * How long `sh -c cmd` takes, in ms (the kills are spread over a bit more
 * than that: a sanitized or loaded build is slower).
 */
static long timed_ms(const char *cmd)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 + 1;
}

/* Seconds on the monotonic clock. */
static double mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/*
 * Trials of a kill phase: up to 50, but none starts after budget seconds once
 * MIN_TRIALS are done. A kernel under emulation (the VM suite) runs a trial
 * several times slower than this host; every trial run is checked whole.
 */
#define MAX_TRIALS 50
#define MIN_TRIALS 16
static bool more_trials(unsigned int done, double t0, double budget)
{
	return done < MAX_TRIALS && (done < MIN_TRIALS || mono_s() - t0 < budget);
}

/* Kill `cmd...` (argv) after a random delay below span ms; returns the delay. */
static long kill_after(struct wt_rng *r, unsigned int span, char *const argv[])
{
	long ms = wt_below(r, span);
	/* tv_nsec must stay below a second: a longer span would make nanosleep fail at once. */
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	pid_t pid = fork();
	int st;

	cr_assert_geq(pid, 0, "fork");
	if (!pid) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	nanosleep(&ts, NULL);
	kill(pid, SIGKILL);
	cr_assert_eq(waitpid(pid, &st, 0), pid, "waitpid");
	return ms;
}

/* The reference's best rule (index in rs, or -1) for check packet i (of its family). */
static long ref_best(const struct wcard_ruleset *rs, const struct wcard_trace *chk, size_t i)
{
	struct wc_key k;

	wcard_key_from_tuple(&chk->t[i], &k);
	return tk_ref_lookup_family(rs, chk->t[i].family == 6 ? 6 : 4, &k);
}

/* Does the answer vector equal the reference on rs (ids = index in rs)? */
static bool same_as(const struct wcard_ruleset *rs, const struct wcard_trace *chk,
		    const __u32 *ids)
{
	size_t i;

	for (i = 0; i < chk->n; i++) {
		long want = ref_best(rs, chk, i);

		if (ids[i] != (want < 0 ? WC_ID_NONE : (__u32)want))
			return false;
	}
	return true;
}

/*
 * 50 trials: a CLI writer replaces the rules (A to B, then B to A, ...) and is
 * killed with SIGKILL after a random delay. Then, before anyone else writes,
 * the pinned program answers a check trace exactly as A or exactly as B; the
 * next writer opens the classifier (reclaiming whatever the dead one left),
 * and the answers stay the same.
 */
Test(crash, kill_writer_during_bulk_load, .timeout = 600, .fini = crash_cleanup)
{
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	char pa[] = "/tmp/wcard-crash-aXXXXXX", pb[] = "/tmp/wcard-crash-bXXXXXX", cls[300];
	char cmd[1024], path[400], err[512] = "";
	struct wcard_ruleset a, b;
	struct wcard_trace ta = {}, tb = {}, chk = {};
	struct wt_rng r = { .s = (__u64)getpid() * 2654435761u };
	unsigned int trial, as_a = 0, as_b = 0, span;
	__u32 *ids, *ids2;

	make_set(3000, 101, pa, &a, &ta);
	make_set(3000, 202, pb, &b, &tb);
	both_traces(&ta, &tb, &chk);
	ids = calloc(chk.n, sizeof(*ids));
	ids2 = calloc(chk.n, sizeof(*ids2));
	cr_assert(ids && ids2, "calloc");
	snprintf(dir, sizeof(dir), "/sys/fs/bpf/wcard-test-crash-%d", getpid());
	snprintf(cls, sizeof(cls), "%s/c", dir);
	snprintf(cmd, sizeof(cmd), "%s create c %s --format classbench --pin-dir %s 2>&1", bin, pa,
		 dir);
	cr_assert_eq(system(cmd), 0, "case create: %s", cmd);
	snprintf(path, sizeof(path), "%s/prog", cls);
	/* A whole load, timed twice (B, then A again): kills land anywhere up to 1.5x that. */
	snprintf(cmd, sizeof(cmd), "%s rules load c %s --format classbench --pin-dir %s 2>/dev/null",
		 bin, pb, dir);
	span = timed_ms(cmd);
	snprintf(cmd, sizeof(cmd), "%s rules load c %s --format classbench --pin-dir %s 2>/dev/null",
		 bin, pa, dir);
	span = (span + timed_ms(cmd)) * 3 / 4;

	for (trial = 0; trial < 50; trial++) {
		char *argv[] = { (char *)bin, "rules", "load", "c", trial % 2 ? pa : pb,
				 "--format", "classbench", "--pin-dir", dir, NULL };
		struct wcard_clf *c = NULL;
		bool is_a, is_b;
		int prog;
		/* Anywhere from before the open to after the switch. */
		long ms = kill_after(&r, span, argv);

		/* Before any other writer: the old set or the new one, whole. */
		prog = bpf_obj_get(path);
		cr_assert_geq(prog, 0, "case trial %u: pinned program", trial);
		answers(prog, &chk, ids, NULL, "after kill");
		is_a = same_as(&a, &chk, ids);
		is_b = same_as(&b, &chk, ids);
		cr_assert(is_a || is_b,
			  "case trial %u: killed after %ld ms: answers are neither set A nor set B",
			  trial, ms);
		as_a += is_a;
		as_b += is_b;

		/* The next writer opens it (and reclaims); the answers do not change. */
		cr_assert_eq(wcard_clf_open_pinned(cls, NULL, &c, err, sizeof(err)), 0,
			     "case trial %u: reopen: %s", trial, err);
		answers(prog, &chk, ids2, NULL, "after reopen");
		cr_assert_eq(memcmp(ids, ids2, chk.n * sizeof(*ids)), 0,
			     "case trial %u: the reopen changed the answers", trial);
		wcard_clf_destroy(c);
		close(prog);
	}
	cr_log_info("crash: 50 writers killed mid-load: %u times set A stood, %u times set B, "
		    "never a mix; every reopen kept the answers\n",
		    as_a, as_b);
	cr_assert(as_a && as_b, "case trials: the kills never landed on both sides of a switch "
				"(%u A, %u B): the test would not see a torn load",
		  as_a, as_b);
	snprintf(cmd, sizeof(cmd), "%s destroy c --pin-dir %s", bin, dir);
	cr_assert_eq(system(cmd), 0, "case destroy");
	rmdir(dir);
	unlink(pa);
	unlink(pb);
	free(ids);
	free(ids2);
	free(chk.t);
	wcard_ruleset_free(&a);
	wcard_ruleset_free(&b);
	wcard_trace_free(&ta);
	wcard_trace_free(&tb);
}

/* The model's answer for every check packet: the value of the best rule, or ~0 (no match). */
static void model_values(const struct wcard_ruleset *m, const struct wcard_trace *chk, __u64 *v)
{
	size_t i;

	for (i = 0; i < chk->n; i++) {
		long w = ref_best(m, chk, i);

		v[i] = w < 0 ? ~0ULL : m->rules[w].value;
	}
}

/* Do a and b agree on the check packets of one family (chk alternates IPv4, IPv6)? */
static bool same_half(const __u64 *a, const __u64 *b, size_t n, unsigned int half)
{
	size_t i;

	for (i = half; i < n; i += 2)
		if (a[i] != b[i])
			return false;
	return true;
}

/*
 * 50 single-rule changes (adds and deletes through the CLI) of a dual-stack
 * classifier, IPv4, IPv6 and both-family rules, each writer killed with
 * SIGKILL after a random delay. Every rule has its own priority and value,
 * so an answer names its rule. After each kill the pinned program answers
 * each family as the rule set without the change or with it, whole; the
 * next writer's open then tells (from the maps) which one stands, finishing
 * a change of both families that the kill cut in two, and from then on both
 * families answer as that set. The model follows it.
 */
Test(crash, kill_writer_during_single_updates, .timeout = 600, .fini = crash_cleanup)
{
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	char pa[] = "/tmp/wcard-crash-aXXXXXX", pb[] = "/tmp/wcard-crash-bXXXXXX";
	char hp[] = "/tmp/wcard-crash-hXXXXXX", cls[300], cmd[1024], path[400], err[512] = "";
	struct wcard_ruleset a, b, b6, dual, model, next, live;
	struct wcard_trace ta = {}, tb = {}, chk = {};
	struct wt_rng r = { .s = (__u64)getpid() * 40503u };
	unsigned int trial, done = 0, undone = 0, span, both = 0;
	__u64 *want0, *want1, *got;
	FILE *f;
	size_t i;
	int fd;

	/*
	 * A dual-stack classifier: A's rules as IPv4 rules and their IPv6 twins,
	 * those without an address once for both (tk_ruleset_dual), each with its
	 * own priority and value; checked with A's trace and its twins.
	 */
	make_set(800, 303, pa, &a, &ta);
	make_set(1500, 404, pb, &b, &tb);
	cr_assert_eq(tk_ruleset_dual(&a, &dual), 0, "dual set");
	cr_assert_eq(tk_ruleset_twin6(&b, &b6), 0, "twins of B");
	chk.t = calloc(2 * ta.n, sizeof(*chk.t));
	cr_assert_not_null(chk.t, "calloc");
	for (i = 0; i < ta.n; i++) {
		chk.t[2 * i] = ta.t[i];
		tk_tuple_twin6(&ta.t[i], i, &chk.t[2 * i + 1]);
	}
	chk.n = chk.cap = 2 * ta.n;
	wcard_ruleset_init(&model, dual.layout);
	fd = mkstemp(hp);
	f = fdopen(fd, "w");
	cr_assert_not_null(f, "temp file");
	for (i = 0; i < dual.n; i++) {
		struct wcard_rule x = dual.rules[i];
		char line[1024];

		x.prio = 10 + 2 * (__u32)i;
		x.value = 0x10000 + i;
		wcard_rule_format(dual.layout, &x, line, sizeof(line));
		fprintf(f, "%s\n", line);
		cr_assert_eq(wcard_ruleset_add(&model, &x), 0, "model");
	}
	fclose(f);
	want0 = calloc(chk.n, sizeof(*want0));
	want1 = calloc(chk.n, sizeof(*want1));
	got = calloc(chk.n, sizeof(*got));
	cr_assert(want0 && want1 && got, "calloc");
	snprintf(dir, sizeof(dir), "/sys/fs/bpf/wcard-test-crash1-%d", getpid());
	snprintf(cls, sizeof(cls), "%s/c", dir);
	snprintf(cmd, sizeof(cmd), "%s create c %s --pin-dir %s >/dev/null 2>&1", bin, hp, dir);
	cr_assert_eq(system(cmd), 0, "case create: %s", cmd);
	snprintf(path, sizeof(path), "%s/prog", cls);
	/*
	 * Kills land up to 1.5x the time of a change: one rule of both families
	 * added (its id is the next one) and deleted again, as the trials do.
	 */
	snprintf(cmd, sizeof(cmd),
		 "%s rule add c --pin-dir %s udp dport 7 prio 4000000000 drop >/dev/null 2>&1", bin,
		 dir);
	span = timed_ms(cmd) * 3 / 2;
	snprintf(cmd, sizeof(cmd), "%s rule del c %zu --pin-dir %s >/dev/null 2>&1", bin, model.n,
		 dir);
	cr_assert_eq(system(cmd), 0, "case timing: delete the timing rule");

	for (trial = 0; trial < 50; trial++) {
		bool add = trial % 2 == 0 || model.n < 10, with;
		unsigned int fam;
		struct wcard_clf *c = NULL;
		struct wcard_rule x;
		char text[1024], id[16] = "";
		int prog;
		long ms;

		/* The change: add one of B's rules at the top, or delete a random live rule. */
		wcard_ruleset_init(&next, model.layout);
		for (i = 0; i < model.n; i++)
			wcard_ruleset_add(&next, &model.rules[i]);
		if (add) {
			/* An IPv4 rule, an IPv6 one, or one of both (a change of both parts). */
			switch (trial / 2 % 3) {
			case 0:
				x = b.rules[trial % b.n];
				x.family = 4;
				break;
			case 1:
				x = b6.rules[trial % b.n];
				x.family = 6;
				break;
			default:
				x = b.rules[trial % b.n];
				x.family = 0;
				memset(&x.f[WC_F_SRC], 0, 2 * sizeof(x.f[0]));
				both++;
			}
			x.prio = 1 + trial % 5;
			x.value = 0x20000 + trial;
			wcard_rule_format(model.layout, &x, text, sizeof(text));
			wcard_ruleset_add(&next, &x);
		} else {
			size_t k = wt_below(&r, model.n);

			/* The live id of the rule whose value is the model's k-th. */
			cr_assert_eq(wcard_clf_open_pinned(cls, NULL, &c, err, sizeof(err)), 0,
				     "case trial %u: open: %s", trial, err);
			cr_assert_eq(wcard_clf_rules(c, &live), 0, "case trial %u: rules", trial);
			for (i = 0; i < live.n && live.rules[i].value != model.rules[k].value; i++)
				;
			cr_assert_lt(i, live.n, "case trial %u: the model's rule is not live", trial);
			snprintf(id, sizeof(id), "%u", live.rules[i].id);
			wcard_ruleset_free(&live);
			wcard_clf_destroy(c);
			c = NULL;
			next.rules[k] = next.rules[--next.n];
		}
		{
			char *argv[64], *save, *tok;
			int n = 0;

			argv[n++] = (char *)bin;
			argv[n++] = "rule";
			argv[n++] = add ? "add" : "del";
			argv[n++] = "c";
			if (add)
				for (tok = strtok_r(text, " ", &save); tok && n < 60;
				     tok = strtok_r(NULL, " ", &save))
					argv[n++] = tok;
			else
				argv[n++] = id;
			argv[n++] = "--pin-dir";
			argv[n++] = dir;
			argv[n] = NULL;
			ms = kill_after(&r, span, argv);
		}

		/* Before anyone else writes: without the change, or with it. */
		model_values(&model, &chk, want0);
		model_values(&next, &chk, want1);
		prog = bpf_obj_get(path);
		cr_assert_geq(prog, 0, "case trial %u: pinned program", trial);
		answers(prog, &chk, NULL, got, "single");
		close(prog);
		/*
		 * Each family whole, before or after: a rule of both families
		 * changes in one part after the other (the next writer finishes
		 * a change a kill cut in two; checked below).
		 */
		for (fam = 0; fam < 2; fam++)
			cr_assert(same_half(got, want0, chk.n, fam) ||
					  same_half(got, want1, chk.n, fam),
				  "case trial %u: %s killed after %ld ms: IPv%u answers are "
				  "neither the set before nor the set after",
				  trial, add ? "add" : "del", ms, fam ? 6 : 4);
		/* The maps say which one stands (the change's value present or gone). */
		cr_assert_eq(wcard_clf_open_pinned(cls, NULL, &c, err, sizeof(err)), 0,
			     "case trial %u: reopen: %s", trial, err);
		cr_assert_eq(wcard_clf_rules(c, &live), 0, "case trial %u: rules", trial);
		with = live.n == next.n;
		cr_assert(live.n == next.n || live.n == model.n,
			  "case trial %u: %zu live rules, expected %zu or %zu", trial, live.n,
			  model.n, next.n);
		wcard_ruleset_free(&live);
		wcard_clf_destroy(c);
		/* After the next writer, both families agree: the whole set before or after. */
		prog = bpf_obj_get(path);
		cr_assert_geq(prog, 0, "case trial %u: pinned program", trial);
		answers(prog, &chk, NULL, got, "single, reopened");
		close(prog);
		cr_assert(!memcmp(got, with ? want1 : want0, chk.n * sizeof(*got)),
			  "case trial %u: after the next writer the answers are not those of "
			  "the set %s",
			  trial, with ? "after" : "before");
		if (with) {
			wcard_ruleset_free(&model);
			model = next;
			done++;
		} else {
			wcard_ruleset_free(&next);
			undone++;
		}
	}
	cr_log_info("crash: 50 single-rule writers of a dual-stack classifier killed (%u adds of "
		    "rules of both families): %u changes stood, %u did not, every answer set "
		    "whole in both families\n",
		    both, done, undone);
	cr_assert(done && undone, "case trials: kills never landed on both sides (%u, %u)", done,
		  undone);
	snprintf(cmd, sizeof(cmd), "%s destroy c --pin-dir %s", bin, dir);
	cr_assert_eq(system(cmd), 0, "case destroy");
	rmdir(dir);
	unlink(pa);
	unlink(pb);
	unlink(hp);
	free(want0);
	free(want1);
	free(got);
	wcard_ruleset_free(&model);
	wcard_ruleset_free(&a);
	wcard_ruleset_free(&b);
	wcard_ruleset_free(&b6);
	wcard_ruleset_free(&dual);
	wcard_trace_free(&chk);
	wcard_trace_free(&ta);
	wcard_trace_free(&tb);
}

/* ---- the LPM CLI --------------------------------------------------------------- */

struct lpm_case {
	struct wcard_routes set[2]; /* A and B */
	wc_u128 *addr; /* check addresses */
	__u8 *fam;
	size_t n;
};

static int route_cmp(const void *x, const void *y)
{
	const struct wcard_route *a = x, *b = y;

	if (a->family != b->family)
		return a->family - b->family;
	if (a->len != b->len)
		return a->len - b->len;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

/* n4 IPv4 and n6 IPv6 distinct random routes, values base + i, written to path. */
static void lpm_set(struct wt_rng *r, size_t n4, size_t n6, __u64 base, struct wcard_routes *rt,
		    char *path)
{
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	size_t i, k = 0;

	cr_assert_not_null(f, "case lpm: route file");
	rt->r = calloc(n4 + n6, sizeof(*rt->r));
	cr_assert_not_null(rt->r, "calloc");
	for (i = 0; i < n4 + n6; i++) {
		struct wcard_route *x = &rt->r[i];
		unsigned int bits = i < n4 ? 32 : 128;

		x->family = i < n4 ? 4 : 6;
		x->len = i < n4 ? 8 + wt_below(r, 25) : 16 + wt_below(r, 49);
		x->addr = i < n4 ? (wc_u128)(__u32)wt_rnd(r) :
				   ((wc_u128)(0x20010db800000000ULL | (wt_rnd(r) >> 32)) << 64 |
				    wt_rnd(r));
		x->addr &= ~((((wc_u128)1) << (bits - x->len)) - 1);
	}
	qsort(rt->r, n4 + n6, sizeof(*rt->r), route_cmp);
	for (i = 0; i < n4 + n6; i++) /* distinct prefixes: a duplicate would make "last wins" */
		if (!k || route_cmp(&rt->r[k - 1], &rt->r[i]))
			rt->r[k++] = rt->r[i];
	rt->n = k;
	for (i = 0; i < rt->n; i++) {
		char a[64];
		__u8 b[16];
		unsigned int j, nb = rt->r[i].family == 6 ? 16 : 4;

		rt->r[i].value = base + i;
		for (j = 0; j < nb; j++)
			b[j] = (__u8)(rt->r[i].addr >> (8 * (nb - 1 - j)));
		inet_ntop(nb == 16 ? AF_INET6 : AF_INET, b, a, sizeof(a));
		fprintf(f, "%s/%u %llu\n", a, rt->r[i].len, (unsigned long long)rt->r[i].value);
	}
	fclose(f);
}

/* The value of the longest route of rt (plus extra, unless NULL) holding address i, or ~0. */
static __u64 lpm_ref(const struct wcard_routes *rt, const struct wcard_route *extra,
		     const struct lpm_case *lc, size_t i)
{
	unsigned int bits = lc->fam[i] == 6 ? 128 : 32, best = 0;
	__u64 v = ~0ULL;
	size_t j;

	for (j = 0; j <= rt->n; j++) {
		const struct wcard_route *x = j < rt->n ? &rt->r[j] : extra;
		wc_u128 mask;

		if (!x || x->family != lc->fam[i] || (v != ~0ULL && x->len < best))
			continue;
		mask = x->len ? ~((((wc_u128)1) << (bits - x->len)) - 1) : 0;
		if (bits == 32)
			mask &= 0xffffffff;
		if ((lc->addr[i] & mask) == x->addr) {
			best = x->len;
			v = x->value;
		}
	}
	return v;
}

/* What the pinned LPM answers for every check address (opened as a reader would). */
static void lpm_answers(const char *path, const struct lpm_case *lc, __u64 *out, const char *name)
{
	struct wcard_lpm *l = NULL;
	char err[512] = "";
	size_t i;

	cr_assert_eq(wcard_lpm_open_pinned(path, &l, err, sizeof(err)), 0, "case %s: open: %s",
		     name, err);
	for (i = 0; i < lc->n; i++) {
		struct wcard_route m;
		int ret = wcard_lpm_query(l, lc->fam[i], lc->addr[i], &m);

		cr_assert_geq(ret, 0, "case %s: query %zu: %d", name, i, ret);
		out[i] = ret ? m.value : ~0ULL;
	}
	wcard_lpm_destroy(l);
}

/*
 * Each family's live image is pinned (as _live, or as _live_next when the kill
 * fell between the switch and the rename), so that an open without
 * CAP_SYS_ADMIN finds it: the fallback by id would hide a lost pin here.
 */
static void lpm_pins_ok(const char *lp, unsigned int trial)
{
	static const char *const slot[] = { "wc_lpm4_image", "wc_lpm6_image" };
	char path[512];
	__u32 id;
	int k;

	for (k = 0; k < 2; k++) {
		snprintf(path, sizeof(path), "%s/%s", lp, slot[k]);
		id = wt_slot_map_id(path);
		cr_assert_neq(id, 0, "case lpm trial %u: %s holds no image", trial, path);
		snprintf(path, sizeof(path), "%s/%s_live", lp, slot[k]);
		if (wt_pinned_map_id(path) == id)
			continue;
		snprintf(path, sizeof(path), "%s/%s_live_next", lp, slot[k]);
		cr_assert_eq(wt_pinned_map_id(path), id,
			     "case lpm trial %u: the live %s image is not pinned", trial, slot[k]);
	}
}

/*
 * The LPM CLI killed at random points: 50 bulk loads (A to B and back) and 50
 * single route adds and deletes (16 to 50 of each where trials are slow, see
 * more_trials). Each family is swapped on its own, so after a
 * kill each family answers a check list exactly as the old routes or the new
 * ones (the two families may differ, when the kill fell between the swaps),
 * a single change is there whole or not at all, and the same change made
 * again is whole. (A kill inside an add's paint is rare here: a /28 is 16
 * stores in a command of milliseconds. lpm/killed_add_retried_* make those
 * states on purpose.)
 */
Test(crash, kill_lpm_writer, .timeout = 900, .fini = crash_cleanup)
{
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	char pa[] = "/tmp/wcard-crash-la-XXXXXX", pb[] = "/tmp/wcard-crash-lb-XXXXXX";
	char cmd[1024], lp[300];
	double t0;
	struct wt_rng r = { .s = (__u64)getpid() * 40503u + 7 };
	struct lpm_case lc = {};
	unsigned int trial, span, fam_new[2] = { 0, 0 }, mixed = 0, stood = 0;
	__u64 *got, *ref[2][2];
	size_t i, cap = 4000;
	int s, f;

	lpm_set(&r, 15000, 4000, 1000000, &lc.set[0], pa);
	lpm_set(&r, 15000, 4000, 2000000, &lc.set[1], pb);
	lc.addr = calloc(cap, sizeof(*lc.addr));
	lc.fam = calloc(cap, 1);
	got = calloc(cap, sizeof(*got));
	cr_assert(lc.addr && lc.fam && got, "calloc");
	/* Addresses inside random routes of A and of B, both families. */
	for (lc.n = 0; lc.n < cap; lc.n++) {
		const struct wcard_routes *rt = &lc.set[lc.n % 2];
		const struct wcard_route *x = &rt->r[wt_below(&r, rt->n)];
		unsigned int bits = x->family == 6 ? 128 : 32;
		wc_u128 host = ((((wc_u128)1) << (bits - x->len)) - 1);

		lc.fam[lc.n] = x->family;
		lc.addr[lc.n] = x->addr | ((((wc_u128)wt_rnd(&r) << 64) | wt_rnd(&r)) & host);
	}
	/* Reference answers of A and B, per address; [set][...] */
	for (s = 0; s < 2; s++) {
		ref[s][0] = calloc(lc.n, sizeof(__u64));
		cr_assert_not_null(ref[s][0], "calloc");
		for (i = 0; i < lc.n; i++)
			ref[s][0][i] = lpm_ref(&lc.set[s], NULL, &lc, i);
		ref[s][1] = ref[s][0];
	}
	snprintf(dir, sizeof(dir), "/sys/fs/bpf/wcard-test-crash-lpm-%d", getpid());
	snprintf(lp, sizeof(lp), "%s/l", dir);
	snprintf(cmd, sizeof(cmd), "%s lpm create l %s --max-routes 40000 --pin-dir %s 2>&1", bin,
		 pa, dir);
	cr_assert_eq(system(cmd), 0, "case lpm create: %s", cmd);
	snprintf(cmd, sizeof(cmd), "%s lpm load l %s --pin-dir %s", bin, pb, dir);
	span = timed_ms(cmd);
	snprintf(cmd, sizeof(cmd), "%s lpm load l %s --pin-dir %s 2>/dev/null", bin, pa, dir);
	span = (span + timed_ms(cmd)) * 3 / 4;

	for (trial = 0, t0 = mono_s(); more_trials(trial, t0, 240); trial++) {
		char *argv[] = { (char *)bin, "lpm", "load", "l", trial % 2 ? pa : pb,
				 "--pin-dir", dir, NULL };
		long ms = kill_after(&r, span, argv);
		bool fnew[2];

		lpm_pins_ok(lp, trial);
		lpm_answers(lp, &lc, got, "lpm load killed");
		for (f = 0; f < 2; f++) {
			bool as[2] = { true, true };

			for (i = 0; i < lc.n; i++)
				for (s = 0; s < 2; s++)
					if (lc.fam[i] == (f ? 6 : 4) && got[i] != ref[s][0][i])
						as[s] = false;
			cr_assert(as[0] || as[1],
				  "case lpm trial %u: killed after %ld ms: IPv%d answers are neither "
				  "A nor B",
				  trial, ms, f ? 6 : 4);
			fnew[f] = as[trial % 2 ? 0 : 1] && !as[trial % 2 ? 1 : 0];
			fam_new[f] += fnew[f];
		}
		mixed += fnew[0] != fnew[1];
		/* The next writer: a whole load back to a known set (which it must complete). */
		snprintf(cmd, sizeof(cmd), "%s lpm load l %s --pin-dir %s 2>&1", bin,
			 trial % 2 ? pa : pb, dir);
		cr_assert_eq(system(cmd), 0, "case lpm trial %u: the next writer: %s", trial, cmd);
		lpm_answers(lp, &lc, got, "lpm next writer");
		for (i = 0; i < lc.n; i++)
			cr_assert_eq(got[i], ref[trial % 2 ? 0 : 1][0][i],
				     "case lpm trial %u: after the next load, address %zu", trial, i);
	}
	cr_log_info("crash: lpm load killed %u times: IPv4 new in %u, IPv6 new in %u, families "
		    "apart in %u", trial, fam_new[0], fam_new[1], mixed);
	cr_assert(fam_new[0] > 0 && fam_new[0] < trial,
		  "case lpm: the kills never fell on both sides of the IPv4 swap (%u new of %u)",
		  fam_new[0], trial);

	/* Single changes on A: add a /28 inside an A route (or delete it again), killed. */
	snprintf(cmd, sizeof(cmd), "%s lpm load l %s --pin-dir %s 2>/dev/null", bin, pa, dir);
	cr_assert_eq(system(cmd), 0, "case lpm single: load A");
	snprintf(cmd, sizeof(cmd), "%s lpm add l 10.99.0.0/28 5 --pin-dir %s >/dev/null 2>&1", bin,
		 dir);
	span = timed_ms(cmd) * 3 / 2;
	snprintf(cmd, sizeof(cmd), "%s lpm del l 10.99.0.0/28 --pin-dir %s 2>/dev/null", bin, dir);
	cr_assert_eq(system(cmd), 0, "case lpm single: %s", cmd);
	for (trial = 0, t0 = mono_s(); more_trials(trial, t0, 240); trial++) {
		const struct wcard_route *in = &lc.set[0].r[wt_below(&r, 15000)];
		struct wcard_route x = { .family = 4, .len = 28, .value = 3000000 + trial };
		char pfx[64], val[32], *argv[9];
		__u8 b[4];
		__u64 *with;
		bool is_with, is_without;
		long ms;

		if (in->family != 4 || in->len > 28) {
			trial--;
			continue;
		}
		x.addr = (in->addr | (wt_rnd(&r) & ((1u << (32 - in->len)) - 1))) & ~(wc_u128)15;
		/* A new prefix: an add over an existing one replaces its value instead. */
		if (bsearch(&x, lc.set[0].r, lc.set[0].n, sizeof(x), route_cmp)) {
			trial--;
			continue;
		}
		for (i = 0; i < 4; i++)
			b[i] = (__u8)(x.addr >> (24 - 8 * i));
		inet_ntop(AF_INET, b, pfx, sizeof(pfx));
		snprintf(pfx + strlen(pfx), sizeof(pfx) - strlen(pfx), "/28");
		snprintf(val, sizeof(val), "%llu", (unsigned long long)x.value);
		/* Two check addresses inside the new route replace the first two. */
		lc.fam[0] = lc.fam[1] = 4;
		lc.addr[0] = x.addr | 3;
		lc.addr[1] = x.addr | 12;
		ref[0][0][0] = lpm_ref(&lc.set[0], NULL, &lc, 0);
		ref[0][0][1] = lpm_ref(&lc.set[0], NULL, &lc, 1);
		with = calloc(lc.n, sizeof(*with));
		cr_assert_not_null(with, "calloc");
		for (i = 0; i < lc.n; i++)
			with[i] = lpm_ref(&lc.set[0], &x, &lc, i);
		argv[0] = (char *)bin;
		argv[1] = "lpm";
		argv[2] = "add";
		argv[3] = "l";
		argv[4] = pfx;
		argv[5] = val;
		argv[6] = "--pin-dir";
		argv[7] = dir;
		argv[8] = NULL;
		ms = kill_after(&r, span, argv);
		lpm_answers(lp, &lc, got, "lpm add killed");
		is_with = !memcmp(got, with, lc.n * sizeof(*got));
		is_without = !memcmp(got, ref[0][0], lc.n * sizeof(*got));
		cr_assert(is_with || is_without,
			  "case lpm single trial %u: add %s killed after %ld ms: neither with nor "
			  "without it", trial, pfx, ms);
		stood += is_with;
		/*
		 * The next writer runs the same add again, whatever the kill left (the
		 * route may be recorded and partly painted): the route is whole after it.
		 * Then back to A by a delete.
		 */
		snprintf(cmd, sizeof(cmd), "%s lpm add l %s %s --pin-dir %s 2>&1", bin, pfx, val,
			 dir);
		cr_assert_eq(system(cmd), 0, "case lpm single trial %u: %s", trial, cmd);
		lpm_answers(lp, &lc, got, "lpm add again");
		cr_assert_eq(memcmp(got, with, lc.n * sizeof(*got)), 0,
			     "case lpm single trial %u: add %s killed after %ld ms, then again: "
			     "not whole", trial, pfx, ms);
		snprintf(cmd, sizeof(cmd), "%s lpm del l %s --pin-dir %s 2>&1", bin, pfx, dir);
		cr_assert_eq(system(cmd), 0, "case lpm single trial %u: %s", trial, cmd);
		lpm_answers(lp, &lc, got, "lpm del");
		cr_assert_eq(memcmp(got, ref[0][0], lc.n * sizeof(*got)), 0,
			     "case lpm single trial %u: after the delete", trial);
		free(with);
	}
	cr_log_info("crash: lpm add killed %u times: %u stood, %u did not", trial, stood,
		    trial - stood);
	snprintf(cmd, sizeof(cmd), "%s lpm destroy l --pin-dir %s 2>&1", bin, dir);
	cr_assert_eq(system(cmd), 0, "case lpm destroy");
	rmdir(dir);
	*dir = 0;
	unlink(pa);
	unlink(pb);
	for (s = 0; s < 2; s++) {
		free(ref[s][0]);
		wcard_routes_free(&lc.set[s]);
	}
	free(lc.addr);
	free(lc.fam);
	free(got);
}

/* The value of the reference's best rule of rs for each check packet, ~0 for none. */
static void ref_values(const struct wcard_ruleset *rs, const struct wcard_trace *chk, __u64 *v)
{
	model_values(rs, chk, v);
}

/*
 * Writers of `rules apply` killed with SIGKILL at random points, on a
 * classifier reloaded with A before each trial (ids 0..n-1).
 *   - --atomic, a batch that deletes every rule of A and adds B's: the
 *     pinned program answers exactly as A or exactly as B.
 *   - online, deletes of A's rules and adds of new ones interleaved: the
 *     rules the maps hold (read without writing) are the changes of a
 *     prefix of the batch, exactly, and the program answers as that set.
 * In both the next writer's open keeps the answers.
 */
Test(crash, kill_writer_during_rules_apply, .timeout = 900, .fini = crash_cleanup)
{
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	char pa[] = "/tmp/wcard-crash-aXXXXXX", pb[] = "/tmp/wcard-crash-bXXXXXX";
	char xa[] = "/tmp/wcard-crash-xXXXXXX", xo[] = "/tmp/wcard-crash-oXXXXXX";
	char cls[300], cmd[1024], reload[1024], path[400], err[512] = "";
	struct wcard_ruleset a, b;
	struct wcard_trace ta = {}, tb = {}, chk = {};
	struct wt_rng r = { .s = (__u64)getpid() * 69069u };
	unsigned int mode, trial, seen[2][3] = { { 0 } }, n = 2000, nch = 0, span;
	__u64 *va, *vb, *got, *got2, *want;
	bool *applied;
	FILE *fa, *fo;
	size_t i;
	double t0;

	make_set(n, 505, pa, &a, &ta);
	make_set(n, 606, pb, &b, &tb);
	both_traces(&ta, &tb, &chk);
	va = calloc(chk.n, sizeof(*va));
	vb = calloc(chk.n, sizeof(*vb));
	got = calloc(chk.n, sizeof(*got));
	got2 = calloc(chk.n, sizeof(*got2));
	want = calloc(chk.n, sizeof(*want));
	applied = calloc(2 * n, sizeof(*applied));
	cr_assert(va && vb && got && got2 && want && applied, "calloc");
	ref_values(&a, &chk, va);
	ref_values(&b, &chk, vb);
	/* The batches: atomic A -> B; online, del 2j and an add of B's rule j (value 100000 + j). */
	fa = fdopen(mkstemp(xa), "w");
	fo = fdopen(mkstemp(xo), "w");
	cr_assert(fa && fo, "temp files");
	for (i = 0; i < n; i++)
		fprintf(fa, "del %zu\n", i);
	for (i = 0; i < n; i++) {
		struct wcard_rule x = b.rules[i];
		char line[1024];

		wcard_rule_format(b.layout, &x, line, sizeof(line));
		fprintf(fa, "add %s\n", line);
		if (2 * i >= n)
			continue;
		x.prio = 2 * (__u32)i + 1;
		x.value = 100000 + i;
		wcard_rule_format(b.layout, &x, line, sizeof(line));
		fprintf(fo, "del %zu\nadd %s\n", 2 * i, line);
		nch += 2;
	}
	fclose(fa);
	fclose(fo);
	snprintf(dir, sizeof(dir), "/sys/fs/bpf/wcard-test-crash-%d", getpid());
	snprintf(cls, sizeof(cls), "%s/c", dir);
	snprintf(path, sizeof(path), "%s/prog", cls);
	snprintf(cmd, sizeof(cmd), "%s create c %s --format classbench --pin-dir %s 2>&1", bin, pa,
		 dir);
	cr_assert_eq(system(cmd), 0, "case create: %s", cmd);
	snprintf(reload, sizeof(reload),
		 "%s rules load c %s --format classbench --pin-dir %s >/dev/null 2>&1", bin, pa, dir);

	for (mode = 0; mode < 2; mode++) {
		const char *batch = mode ? xa : xo;

		snprintf(cmd, sizeof(cmd), "%s rules apply c %s %s --pin-dir %s >/dev/null 2>&1",
			 bin, batch, mode ? "--atomic" : "", dir);
		cr_assert_eq(system(reload), 0, "case %u: reload A", mode);
		span = timed_ms(cmd) * 5 / 4;
		t0 = mono_s();
		for (trial = 0; more_trials(trial, t0, 150); trial++) {
			char *argv[] = { (char *)bin, "rules", "apply", "c", (char *)batch,
					 "--pin-dir", dir, mode ? "--atomic" : NULL, NULL };
			const struct wcard_clf_opts ro = { .read_only = true };
			struct wcard_clf *c = NULL;
			struct wcard_ruleset live;
			unsigned int k = 0, j;
			long ms;
			int prog;

			cr_assert_eq(system(reload), 0, "case %u/%u: reload A", mode, trial);
			ms = kill_after(&r, span, argv);
			prog = bpf_obj_get(path);
			cr_assert_geq(prog, 0, "case %u/%u: pinned program", mode, trial);
			answers(prog, &chk, NULL, got, "after kill");
			if (mode) {
				bool is_a = !memcmp(got, va, chk.n * sizeof(*got));
				bool is_b = !memcmp(got, vb, chk.n * sizeof(*got));

				cr_assert(is_a || is_b,
					  "case atomic trial %u: killed after %ld ms: answers are "
					  "neither A nor B",
					  trial, ms);
				seen[1][is_a ? 0 : 2]++;
			} else {
				/* Which changes the maps hold: a prefix of the batch, exactly. */
				cr_assert_eq(wcard_clf_open_pinned(cls, &ro, &c, err, sizeof(err)), 0,
					     "case online trial %u: read: %s", trial, err);
				wcard_ruleset_init(&live, NULL);
				cr_assert_eq(wcard_clf_rules(c, &live), 0, "case online: rules");
				/* The set's layout is the handle's: kept until the set is done with. */
				memset(applied, 0, 2 * n * sizeof(*applied));
				for (j = 0; j < nch; j += 2)
					applied[j] = true; /* del 2j: until found */
				for (i = 0; i < live.n; i++) {
					__u64 v = live.rules[i].value;

					if (v >= 100000)
						applied[2 * (v - 100000) + 1] = true;
					else if (live.rules[i].id % 2 == 0 && live.rules[i].id < n)
						applied[live.rules[i].id] = false;
				}
				while (k < nch && applied[k])
					k++;
				for (j = k; j < nch; j++)
					cr_assert(!applied[j],
						  "case online trial %u: killed after %ld ms: change %u "
						  "applied but change %u not: not a prefix",
						  trial, ms, j + 1, k + 1);
				ref_values(&live, &chk, want);
				cr_assert_eq(memcmp(got, want, chk.n * sizeof(*got)), 0,
					     "case online trial %u: answers are not the set the maps "
					     "hold (%u of %u changes)",
					     trial, k, nch);
				wcard_ruleset_free(&live);
				wcard_clf_destroy(c);
				c = NULL;
				seen[0][k == 0 ? 0 : k == nch ? 2 : 1]++;
			}
			/* The next writer opens it; the answers do not change. */
			cr_assert_eq(wcard_clf_open_pinned(cls, NULL, &c, err, sizeof(err)), 0,
				     "case %u/%u: reopen: %s", mode, trial, err);
			answers(prog, &chk, NULL, got2, "after reopen");
			cr_assert_eq(memcmp(got, got2, chk.n * sizeof(*got)), 0,
				     "case %u/%u: the reopen changed the answers", mode, trial);
			wcard_clf_destroy(c);
			close(prog);
		}
	}
	cr_log_info("crash: rules apply killed: online %u before, %u part-way, %u after; atomic "
		    "%u as A, %u as B\n",
		    seen[0][0], seen[0][1], seen[0][2], seen[1][0], seen[1][2]);
	cr_assert(seen[1][0] && seen[1][2], "case atomic: the kills never landed on both sides");
	cr_assert(seen[0][1], "case online: no kill landed part-way through the batch");
	snprintf(cmd, sizeof(cmd), "%s destroy c --pin-dir %s", bin, dir);
	cr_assert_eq(system(cmd), 0, "case destroy");
	rmdir(dir);
	unlink(pa);
	unlink(pb);
	unlink(xa);
	unlink(xo);
	free(va);
	free(vb);
	free(got);
	free(got2);
	free(want);
	free(applied);
	free(chk.t);
	wcard_ruleset_free(&a);
	wcard_ruleset_free(&b);
	wcard_trace_free(&ta);
	wcard_trace_free(&tb);
}
