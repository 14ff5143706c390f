// SPDX-License-Identifier: MIT
/*
 * test_crash.c: a writer killed with SIGKILL at random points of a bulk load
 * (suite "crash"): the pinned classifier always answers as the old or the new
 * rule set, never a mix, and the next writer opens it and goes on.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
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
	rmdir(dir);
}

/* A generated ClassBench rule file and trace of n rules (seed), and the parsed rules. */
static void make_set(unsigned int n, __u64 seed, char *rpath, struct wcard_ruleset *rs,
		     struct wcard_trace *tr)
{
	char err[256];

	cr_assert_eq(wt_gen_set(n, seed, 400, rpath, rs, tr, err, sizeof(err)), 0, "gen: %s", err);
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
		__u8 frame[256], out[512];
		struct xdp_md ctx_in = {}, ctx = {};
		struct wc_xdp_meta m;
		struct wc_pkt p;
		int len;
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_out = out,
			    .data_size_out = sizeof(out), .ctx_in = &ctx_in,
			    .ctx_size_in = sizeof(ctx_in), .ctx_out = &ctx, .ctx_size_out = sizeof(ctx),
			    .repeat = 1);

		wcard_pkt_from_tuple(&chk->t[i], &p);
		len = wcard_frame_build(&p, NULL, frame, sizeof(frame));
		ctx_in.data_end = len;
		o.data_size_in = len;
		cr_assert_eq(bpf_prog_test_run_opts(prog, &o), 0, "case %s: test run", name);
		cr_assert_eq(ctx.data, sizeof(m), "case %s: no metadata", name);
		memcpy(&m, out, sizeof(m));
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

/* The reference's best rule (index in rs, or -1) for check packet i. */
static long ref_best(const struct wcard_ruleset *rs, const struct wcard_trace *chk, size_t i)
{
	struct wc_key k;

	wcard_key_from_tuple(&chk->t[i], &k);
	return wcard_ref_lookup(rs, &k);
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
	size_t i;

	make_set(3000, 101, pa, &a, &ta);
	make_set(3000, 202, pb, &b, &tb);
	/* Check packets from both traces: the two sets answer them differently. */
	chk.t = calloc(ta.n + tb.n, sizeof(*chk.t));
	cr_assert_not_null(chk.t, "calloc");
	for (i = 0; i < ta.n; i++)
		chk.t[chk.n++] = ta.t[i];
	for (i = 0; i < tb.n; i++)
		chk.t[chk.n++] = tb.t[i];
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
		const char *to = trial % 2 ? pa : pb;
		struct wcard_clf *c = NULL;
		struct timespec ts;
		bool is_a, is_b;
		int prog, st;
		pid_t pid;

		pid = fork();
		cr_assert_geq(pid, 0, "fork");
		if (!pid) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 1);
			dup2(null, 2);
			execl(bin, "wcard", "rules", "load", "c", to, "--format", "classbench",
			      "--pin-dir", dir, (char *)NULL);
			_exit(127);
		}
		/* Anywhere from before the open to after the switch. */
		ts.tv_sec = 0;
		ts.tv_nsec = (long)wt_below(&r, span) * 1000000L;
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		cr_assert_eq(waitpid(pid, &st, 0), pid, "waitpid");

		/* Before any other writer: the old set or the new one, whole. */
		prog = bpf_obj_get(path);
		cr_assert_geq(prog, 0, "case trial %u: pinned program", trial);
		answers(prog, &chk, ids, NULL, "after kill");
		is_a = same_as(&a, &chk, ids);
		is_b = same_as(&b, &chk, ids);
		cr_assert(is_a || is_b,
			  "case trial %u: killed after %ld ms: answers are neither set A nor set B",
			  trial, ts.tv_nsec / 1000000L);
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

/*
 * 50 single-rule changes (adds and deletes through the CLI), each writer
 * killed with SIGKILL after a random delay. Every rule has its own priority
 * and value, so an answer names its rule. After each kill the pinned program
 * answers as the rule set without the change or with it, whole; the next
 * writer's open then tells (from the maps) which one stands, and the model
 * follows it.
 */
Test(crash, kill_writer_during_single_updates, .timeout = 600, .fini = crash_cleanup)
{
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	char pa[] = "/tmp/wcard-crash-aXXXXXX", pb[] = "/tmp/wcard-crash-bXXXXXX";
	char hp[] = "/tmp/wcard-crash-hXXXXXX", cls[300], cmd[1024], path[400], err[512] = "";
	struct wcard_ruleset a, b, model, next, live;
	struct wcard_trace ta = {}, tb = {};
	struct wt_rng r = { .s = (__u64)getpid() * 40503u };
	unsigned int trial, done = 0, undone = 0, span;
	__u64 *want0, *want1, *got;
	FILE *f;
	size_t i;
	int fd;

	make_set(1500, 303, pa, &a, &ta);
	make_set(1500, 404, pb, &b, &tb);
	/* A's rules in the human syntax, each with its own priority and value. */
	wcard_ruleset_init(&model, a.layout);
	fd = mkstemp(hp);
	f = fdopen(fd, "w");
	cr_assert_not_null(f, "temp file");
	for (i = 0; i < a.n; i++) {
		struct wcard_rule x = a.rules[i];
		char line[1024];

		x.prio = 10 + 2 * (__u32)i;
		x.value = 0x10000 + i;
		wcard_rule_format(a.layout, &x, line, sizeof(line));
		fprintf(f, "%s\n", line);
		cr_assert_eq(wcard_ruleset_add(&model, &x), 0, "model");
	}
	fclose(f);
	want0 = calloc(ta.n, sizeof(*want0));
	want1 = calloc(ta.n, sizeof(*want1));
	got = calloc(ta.n, sizeof(*got));
	cr_assert(want0 && want1 && got, "calloc");
	snprintf(dir, sizeof(dir), "/sys/fs/bpf/wcard-test-crash1-%d", getpid());
	snprintf(cls, sizeof(cls), "%s/c", dir);
	snprintf(cmd, sizeof(cmd), "%s create c %s --pin-dir %s >/dev/null 2>&1", bin, hp, dir);
	cr_assert_eq(system(cmd), 0, "case create: %s", cmd);
	snprintf(path, sizeof(path), "%s/prog", cls);
	/* A change opens (and rebuilds) like a dump does: kills land up to 1.5x a dump's time. */
	snprintf(cmd, sizeof(cmd), "%s rules dump c --pin-dir %s >/dev/null 2>&1", bin, dir);
	span = timed_ms(cmd) * 3 / 2;

	for (trial = 0; trial < 50; trial++) {
		bool add = trial % 2 == 0 || model.n < 10, with;
		struct wcard_clf *c = NULL;
		struct wcard_rule x;
		struct timespec ts;
		char text[1024], id[16] = "";
		int prog, st;
		pid_t pid;

		/* The change: add one of B's rules at the top, or delete a random live rule. */
		wcard_ruleset_init(&next, model.layout);
		for (i = 0; i < model.n; i++)
			wcard_ruleset_add(&next, &model.rules[i]);
		if (add) {
			x = b.rules[trial % b.n];
			x.prio = 1 + trial % 5;
			x.value = 0x20000 + trial;
			wcard_rule_format(b.layout, &x, text, sizeof(text));
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
		pid = fork();
		cr_assert_geq(pid, 0, "fork");
		if (!pid) {
			char *argv[64];
			int n = 0, null = open("/dev/null", O_WRONLY);
			char *save, *tok;

			dup2(null, 1);
			dup2(null, 2);
			argv[n++] = "wcard";
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
			execv(bin, argv);
			_exit(127);
		}
		ts.tv_sec = 0;
		ts.tv_nsec = (long)wt_below(&r, span) * 1000000L;
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		cr_assert_eq(waitpid(pid, &st, 0), pid, "waitpid");

		/* Before anyone else writes: without the change, or with it. */
		model_values(&model, &ta, want0);
		model_values(&next, &ta, want1);
		prog = bpf_obj_get(path);
		cr_assert_geq(prog, 0, "case trial %u: pinned program", trial);
		answers(prog, &ta, NULL, got, "single");
		close(prog);
		cr_assert(!memcmp(got, want0, ta.n * sizeof(*got)) ||
				  !memcmp(got, want1, ta.n * sizeof(*got)),
			  "case trial %u: %s killed after %ld ms: answers are neither the set before "
			  "nor the set after",
			  trial, add ? "add" : "del", ts.tv_nsec / 1000000L);
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
		if (with) {
			wcard_ruleset_free(&model);
			model = next;
			done++;
		} else {
			wcard_ruleset_free(&next);
			undone++;
		}
	}
	cr_log_info("crash: 50 single-rule writers killed: %u changes stood, %u did not, every "
		    "answer set whole\n",
		    done, undone);
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
	wcard_trace_free(&ta);
	wcard_trace_free(&tb);
}
