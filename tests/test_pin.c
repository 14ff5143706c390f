// SPDX-License-Identifier: MIT
/* test_pin.c: pinned classifiers reopened from their maps, in this and in a new process (suite "pin"). */
#define _GNU_SOURCE /* unshare(2) */
#include <stdio.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "wctest.h"

/* The test's pin directory, removed by pin_cleanup even when an assertion fails. */
static char pinned[256];

static void pin_cleanup(void)
{
	char sub[600];
	struct dirent *e;
	DIR *d;

	if (!*pinned)
		return;
	/* The classifier itself, or the classifiers the CLI tests made in it. */
	d = opendir(pinned);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", pinned, e->d_name);
		wcard_clf_unpin(sub);
		rmdir(sub); /* a bare directory some tests lock */
	}
	if (d)
		closedir(d);
	wcard_clf_unpin(pinned);
	rmdir(pinned);
}

/* A fresh directory on bpffs, unique to this test process. */
static void pin_dir(char *buf, size_t len, const char *tag)
{
	wt_pin_dir(buf, len, tag);
	snprintf(pinned, sizeof(pinned), "%s", buf);
}

/* The id of the rule frame p meets in c, WC_ID_NONE for none. */
static __u32 frame_id(struct wcard_clf *c, const struct wc_pkt *p, const char *name)
{
	struct wc_xdp_meta m;
	__u8 frame[256];
	int len = tk_frame_build(p, NULL, frame, sizeof(frame));

	cr_assert_gt(len, 0, "case %s: frame", name);
	cr_assert_eq(wcard_clf_run_frame(c, frame, len, &m, NULL, NULL), 0, "case %s: run", name);
	return m.id;
}

/* Every key: the XDP filter's answer through frames equals the reference on rs. */
static void check_frames(struct wcard_clf *c, const struct wcard_ruleset *rs,
			 const __u32 *id_of, const struct wcard_trace *tr, const char *name)
{
	size_t i;

	for (i = 0; i < tr->n; i++) {
		struct wc_key k;
		struct wc_pkt p;
		long want;
		__u32 id;

		wcard_key_from_tuple(&tr->t[i], &k);
		tk_pkt_from_tuple(&tr->t[i], &p);
		want = tk_ref_lookup(rs, &k);
		id = frame_id(c, &p, name);
		cr_assert_eq(id, want < 0 ? WC_ID_NONE : id_of[want],
			     "case %s: packet %zu: id %u, expected %ld (id %u)", name, i, id, want,
			     want < 0 ? WC_ID_NONE : id_of[want]);
	}
}

static void make_set(unsigned int n, __u64 seed, struct wcard_ruleset *rs, struct wcard_trace *tr)
{
	char err[256];

	cr_assert_eq(wt_gen_set(n, seed, 3000, NULL, rs, tr, err, sizeof(err)), 0, "gen: %s", err);
}

/*
 * Create, pin, close; reopen in a child process and update there; reopen here
 * and find the child's updates; answers always equal the reference.
 */
static void pin_roundtrip(enum wc_algo algo, const char *name)
{
	struct wcard_clf_opts o = { .layout = wcard_layout_ipv4(), .algo = algo };
	struct wcard_ruleset rs, now;
	struct wcard_trace tr = {};
	struct wcard_clf *c = NULL;
	__u32 *id_of;
	char dir[256], err[512] = "";
	size_t i;
	pid_t pid;
	int st;

	make_set(algo == WC_ALGO_BF ? 12 : 800, 31, &rs, &tr);
	pin_dir(dir, sizeof(dir), name);
	id_of = calloc(rs.n + 8, sizeof(*id_of));
	for (i = 0; i < rs.n; i++)
		id_of[i] = i;
	cr_assert_eq(wcard_clf_create(&o, &c, err, sizeof(err)), 0, "case %s: create: %s", name, err);
	cr_assert_eq(wcard_clf_load(c, &rs, err, sizeof(err)), 0, "case %s: load: %s", name, err);
	cr_assert_eq(wcard_clf_pin(c, dir, err, sizeof(err)), 0, "case %s: pin: %s", name, err);
	cr_assert_eq(wcard_clf_pin(c, dir, err, sizeof(err)), -EEXIST, "case %s: pin twice", name);
	wcard_clf_destroy(c);
	c = NULL;

	/* A new process: open, delete rule 0, insert a copy of rule 1 at prio 0. */
	pid = fork();
	cr_assert_geq(pid, 0, "fork");
	if (!pid) {
		struct wcard_rule r = rs.rules[1];
		__u32 nid;

		r.prio = 0;
		if (wcard_clf_open_pinned(dir, NULL, &c, err, sizeof(err)) ||
		    wcard_clf_delete(c, 0, err, sizeof(err)) ||
		    wcard_clf_insert(c, &r, &nid, err, sizeof(err)) || nid != rs.n) {
			fprintf(stderr, "child: %s (nid)\n", err);
			_exit(1);
		}
		wcard_clf_destroy(c);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid, "waitpid");
	cr_assert(WIFEXITED(st) && !WEXITSTATUS(st), "case %s: child failed", name);

	/* The expected set now: rule 0 gone, the prio-0 copy of rule 1 first. */
	wcard_ruleset_init(&now, rs.layout);
	{
		struct wcard_rule r = rs.rules[1];

		r.prio = 0;
		wcard_ruleset_add(&now, &r);
		id_of[0] = rs.n;
	}
	for (i = 1; i < rs.n; i++) {
		wcard_ruleset_add(&now, &rs.rules[i]);
		id_of[i] = i;
	}
	/* Read-only: the same answers and rules, the child's tables as they are; no writes. */
	{
		struct wcard_clf_opts ro = o;
		struct wcard_stats *st = calloc(1, sizeof(*st));
		struct wcard_rule r = rs.rules[2];
		__u32 nid;

		ro.read_only = true;
		cr_assert_not_null(st, "calloc");
		cr_assert_eq(wcard_clf_open_pinned(dir, &ro, &c, err, sizeof(err)), 0,
			     "case %s: read-only open: %s", name, err);
		check_frames(c, &now, id_of, &tr, name);
		cr_assert_eq(wcard_clf_algo(c), algo, "case %s: read-only algorithm", name);
		cr_assert_eq(wcard_clf_stats(c, st), 0, "case %s: read-only stats", name);
		cr_assert_eq(st->rules, now.n, "case %s: read-only stats: %zu rules", name,
			     st->rules);
		cr_assert(algo == WC_ALGO_BF || (st->ntables && st->ntables == wcard_clf_ntables(c)),
			  "case %s: read-only stats: %u tables", name, st->ntables);
		for (i = 0, nid = 0; i < st->ntables; i++)
			nid += st->tables[i].rules;
		cr_assert(algo == WC_ALGO_BF || nid == now.n,
			  "case %s: read-only stats: %u rules in the tables", name, nid);
		cr_assert_eq(wcard_clf_insert(c, &r, &nid, err, sizeof(err)), -EROFS,
			     "case %s: read-only insert", name);
		cr_assert_eq(wcard_clf_delete(c, 1, err, sizeof(err)), -EROFS,
			     "case %s: read-only delete", name);
		cr_assert_eq(wcard_clf_update(c, 1, 5, 1, &nid, err, sizeof(err)), -EROFS,
			     "case %s: read-only update", name);
		cr_assert_eq(wcard_clf_load(c, &rs, err, sizeof(err)), -EROFS,
			     "case %s: read-only load", name);
		wcard_clf_destroy(c);
		free(st);
	}
	cr_assert_eq(wcard_clf_open_pinned(dir, &o, &c, err, sizeof(err)), 0,
		     "case %s: reopen: %s", name, err);
	check_frames(c, &now, id_of, &tr, name);
	cr_log_info("pin: %s: %zu rules pinned, updated by another process, reopened: all agree\n",
		    name, rs.n);
	wcard_clf_destroy(c);
	cr_assert_eq(wcard_clf_unpin(dir), 0, "case %s: unpin", name);
	free(id_of);
	wcard_ruleset_free(&rs);
	wcard_ruleset_free(&now);
	wcard_trace_free(&tr);
}

/* rs (rules by id: rs.rules[id], id_live[id]) equals what c lists: ids, families, text. */
static void same_rules(struct wcard_clf *c, const struct wcard_ruleset *rs, const bool *id_live,
		       const char *name)
{
	struct wcard_ruleset got;
	char a[512], b[512];
	size_t i, live = 0;

	for (i = 0; i < rs->n; i++)
		live += id_live[i];
	cr_assert_eq(wcard_clf_rules(c, &got), 0, "case %s: rules", name);
	cr_assert_eq(got.n, live, "case %s: %zu rules listed, %zu live", name, got.n, live);
	cr_assert_eq(got.layout->id, WC_LAYOUT_INET, "case %s: layout %s", name, got.layout->name);
	for (i = 0; i < got.n; i++) {
		const struct wcard_rule *r = &got.rules[i];

		cr_assert(r->id < rs->n && id_live[r->id], "case %s: id %u listed", name, r->id);
		wcard_rule_format(got.layout, r, a, sizeof(a));
		wcard_rule_format(rs->layout, &rs->rules[r->id], b, sizeof(b));
		cr_assert_eq(r->family, rs->rules[r->id].family,
			     "case %s: id %u: family %u, not %u", name, r->id, r->family,
			     rs->rules[r->id].family);
		cr_assert_str_eq(a, b, "case %s: id %u", name, r->id);
	}
	wcard_ruleset_free(&got);
}

/* Each trace line as an IPv4 frame and as its IPv6 twin's, against the reference by id. */
static void check_dual_frames(struct wcard_clf *c, const struct wcard_ruleset *rs,
			      const bool *id_live, const struct wcard_trace *tr, const char *name)
{
	struct wcard_ruleset live;
	size_t i, f;

	/* The reference over the live rules only, in id order (ids are the ranks' ties). */
	wcard_ruleset_init(&live, rs->layout);
	for (i = 0; i < rs->n; i++)
		if (id_live[i])
			wcard_ruleset_add(&live, &rs->rules[i]);
	for (i = 0; i < tr->n; i++) {
		for (f = 0; f < 2; f++) {
			struct wcard_tuple t = tr->t[i];
			struct wc_key k;
			struct wc_pkt p;
			long want;
			__u32 id;

			if (f)
				tk_tuple_twin6(&tr->t[i], i, &t);
			wcard_key_from_tuple(&t, &k);
			tk_pkt_from_tuple(&t, &p);
			want = tk_ref_lookup_family(&live, f ? 6 : 4, &k);
			id = frame_id(c, &p, name);
			cr_assert_eq(id, want < 0 ? WC_ID_NONE : live.rules[want].id,
				     "case %s: packet %zu, IPv%u: id %u, expected %u", name, i,
				     f ? 6 : 4, id, want < 0 ? WC_ID_NONE : live.rules[want].id);
		}
	}
	wcard_ruleset_free(&live);
}

/*
 * A dual-stack classifier pinned, changed by another process (a rule of
 * both families deleted, an IPv6 and a both-families rule inserted), then
 * reopened read-only and for writing: every rule keeps its id and family,
 * and both families' frames get the reference's answers.
 */
Test(pin, roundtrip_dual_stack, .timeout = 300, .fini = pin_cleanup)
{
	struct wcard_clf_opts o = { .layout = wcard_layout_inet() };
	struct wcard_ruleset v4, rs;
	struct wcard_trace tr = {};
	struct wcard_clf *c = NULL;
	struct wcard_rule r6, rb;
	char dir[256], err[512] = "";
	bool *live;
	long both = -1;
	size_t i;
	pid_t pid;
	int st;

	make_set(600, 41, &v4, &tr);
	cr_assert_eq(tk_ruleset_dual(&v4, &rs), 0, "case dual: set");
	for (i = 0; i < rs.n; i++) {
		rs.rules[i].id = i;
		if (!rs.rules[i].family && both < 0)
			both = (long)i;
	}
	cr_assert_geq(both, 0, "case dual: no rule of both families in the set");
	live = calloc(rs.n + 2, sizeof(*live));
	cr_assert_not_null(live, "calloc");
	for (i = 0; i < rs.n; i++)
		live[i] = true;
	/* The child's inserts: an IPv6 rule at prio 0, and a rule of both families. */
	r6 = rs.rules[rs.rules[0].family == 6 ? 0 : 1];
	r6.prio = 0;
	rb = rs.rules[both];
	rb.prio = 1;
	rb.value = 77;
	pin_dir(dir, sizeof(dir), "dual");
	cr_assert_eq(wcard_clf_create(&o, &c, err, sizeof(err)), 0, "case dual: create: %s", err);
	cr_assert_eq(wcard_clf_load(c, &rs, err, sizeof(err)), 0, "case dual: load: %s", err);
	cr_assert_eq(wcard_clf_pin(c, dir, err, sizeof(err)), 0, "case dual: pin: %s", err);
	wcard_clf_destroy(c);
	c = NULL;

	pid = fork();
	cr_assert_geq(pid, 0, "fork");
	if (!pid) {
		__u32 id6, idb;

		if (wcard_clf_open_pinned(dir, NULL, &c, err, sizeof(err)) ||
		    wcard_clf_delete(c, (__u32)both, err, sizeof(err)) ||
		    wcard_clf_insert(c, &r6, &id6, err, sizeof(err)) || id6 != rs.n ||
		    wcard_clf_insert(c, &rb, &idb, err, sizeof(err)) || idb != rs.n + 1) {
			fprintf(stderr, "child: %s\n", err);
			_exit(1);
		}
		wcard_clf_destroy(c);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid, "waitpid");
	cr_assert(WIFEXITED(st) && !WEXITSTATUS(st), "case dual: child failed");
	live[both] = false;
	r6.id = rs.n;
	rb.id = rs.n + 1;
	wcard_ruleset_add(&rs, &r6);
	wcard_ruleset_add(&rs, &rb);
	live[rs.n - 2] = live[rs.n - 1] = true;

	o.read_only = true;
	cr_assert_eq(wcard_clf_open_pinned(dir, &o, &c, err, sizeof(err)), 0,
		     "case dual: read-only open: %s", err);
	same_rules(c, &rs, live, "dual read-only");
	check_dual_frames(c, &rs, live, &tr, "dual read-only");
	wcard_clf_destroy(c);
	o.read_only = false;
	cr_assert_eq(wcard_clf_open_pinned(dir, &o, &c, err, sizeof(err)), 0,
		     "case dual: reopen: %s", err);
	same_rules(c, &rs, live, "dual reopened");
	check_dual_frames(c, &rs, live, &tr, "dual reopened");
	cr_log_info("pin: dual stack: %zu rules pinned, changed by another process, reopened: "
		    "all agree in both families\n", rs.n);
	wcard_clf_destroy(c);
	cr_assert_eq(wcard_clf_unpin(dir), 0, "case dual: unpin");
	free(live);
	wcard_ruleset_free(&v4);
	wcard_ruleset_free(&rs);
	wcard_trace_free(&tr);
}

/*
 * What a writer killed between the two parts of a change of a rule of both
 * families leaves: the rule in one part only, and the change noted in
 * wc_root.pending. Made here exactly (a rule of one family without an
 * address is in one part only), the next open finishes the change: an insert
 * puts the rule into both parts (IPv6 frames meet it too), a delete takes it
 * out. Without the note the same maps hold a rule of one family, and keep it.
 */
Test(pin, half_done_change_of_both_families, .timeout = 120, .fini = pin_cleanup)
{
	struct wcard_clf_opts o = { .layout = wcard_layout_inet() };
	struct wc_pkt p4 = { .family = 4, .proto = 17, .sport = 1, .dport = 7,
			     .src = { 10, 0, 0, 1 }, .dst = { 10, 0, 0, 2 } };
	struct wc_pkt p6 = { .family = 6, .proto = 17, .sport = 1, .dport = 7 };
	static const char *const cases[] = { "insert", "delete", "no note" };
	struct wcard_ruleset rs;
	char dir[256], path[300], err[512] = "";
	struct wc_root *root;
	unsigned int k;
	int fd;

	p6.src[15] = 1, p6.dst[15] = 2;
	p6.src[0] = p6.dst[0] = 0xfd;
	for (k = 0; k < 3; k++) {
		struct wcard_clf *c = NULL;
		const char *name = cases[k];
		const char *text = k == 1 ? "dst ::/0 udp dport 7 drop" :
					    "src 0.0.0.0/0 udp dport 7 drop";
		__u32 id;

		pin_dir(dir, sizeof(dir), name);
		wcard_ruleset_init(&rs, NULL);
		cr_assert_eq(wcard_rules_parse(name, "tcp dport 1 pass\n", WCARD_FMT_WCARD, NULL, &rs,
					       err, sizeof(err)),
			     0, "case %s: parse: %s", name, err);
		cr_assert_eq(wcard_clf_create(&o, &c, err, sizeof(err)), 0, "case %s: create: %s",
			     name, err);
		cr_assert_eq(wcard_clf_load(c, &rs, err, sizeof(err)), 0, "case %s: load: %s", name,
			     err);
		wcard_ruleset_free(&rs);
		/* The rule as one part holds it: IPv4 (insert half done) or IPv6 (delete). */
		wcard_ruleset_init(&rs, wcard_layout_inet());
		cr_assert_eq(wcard_rules_parse(name, text, WCARD_FMT_WCARD, NULL, &rs, err,
					       sizeof(err)),
			     0, "case %s: parse: %s", name, err);
		cr_assert_eq(wcard_clf_insert(c, &rs.rules[0], &id, err, sizeof(err)), 0,
			     "case %s: insert: %s", name, err);
		wcard_ruleset_free(&rs);
		cr_assert_eq(wcard_clf_pin(c, dir, err, sizeof(err)), 0, "case %s: pin: %s", name,
			     err);
		wcard_clf_destroy(c);
		c = NULL;
		snprintf(path, sizeof(path), "%s/wc_root", dir);
		fd = bpf_obj_get(path);
		cr_assert_geq(fd, 0, "case %s: open root", name);
		root = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		cr_assert_neq(root, MAP_FAILED, "case %s: mmap", name);
		cr_assert_eq(root->pending, 0, "case %s: a finished change left a note", name);
		if (k < 2)
			root->pending = (id + 1) | (k == 0 ? WC_PENDING_LIVE : 0);
		cr_assert_eq(wcard_clf_open_pinned(dir, NULL, &c, err, sizeof(err)), 0,
			     "case %s: reopen: %s", name, err);
		cr_assert_eq(root->pending, 0, "case %s: the note stays after the reopen", name);
		munmap(root, 4096);
		close(fd);
		if (k == 0) {
			cr_assert_eq(frame_id(c, &p4, name), id, "case %s: IPv4", name);
			cr_assert_eq(frame_id(c, &p6, name), id,
				     "case %s: IPv6 frames must meet the finished insert", name);
		} else if (k == 1) {
			cr_assert_eq(frame_id(c, &p6, name), WC_ID_NONE,
				     "case %s: the rule must be gone", name);
		} else {
			cr_assert_eq(frame_id(c, &p4, name), id, "case %s: IPv4", name);
			cr_assert_eq(frame_id(c, &p6, name), WC_ID_NONE,
				     "case %s: an IPv4 rule without a note stays one", name);
		}
		wcard_clf_destroy(c);
		cr_assert_eq(wcard_clf_unpin(dir), 0, "case %s: unpin", name);
	}
}

/*
 * Hit counters belong to the rule, not to its slot: a reopen rebuilds the
 * classifier into the other generation (every rule moves), and each rule's
 * count goes on from where it was, in packets and bytes.
 */
Test(pin, counters_survive_reopen, .timeout = 120, .fini = pin_cleanup)
{
	struct wcard_clf_opts o = { .layout = wcard_layout_ipv4(), .algo = WC_ALGO_TM };
	struct wcard_ruleset rs;
	struct wcard_trace tr = {};
	struct wcard_clf *c = NULL;
	struct wc_counter cnt;
	unsigned long long *want, misses = 0;
	__u32 *id_of;
	char dir[256], err[512] = "";
	size_t i;
	int round, len;

	make_set(600, 77, &rs, &tr);
	pin_dir(dir, sizeof(dir), "counters");
	id_of = calloc(rs.n, sizeof(*id_of));
	want = calloc(rs.n, sizeof(*want));
	for (i = 0; i < rs.n; i++)
		id_of[i] = i;
	cr_assert_eq(wcard_clf_create(&o, &c, err, sizeof(err)), 0, "case counters: create: %s",
		     err);
	cr_assert_eq(wcard_clf_load(c, &rs, err, sizeof(err)), 0, "case counters: load: %s", err);
	cr_assert_eq(wcard_clf_pin(c, dir, err, sizeof(err)), 0, "case counters: pin: %s", err);
	for (round = 0; round < 2; round++) {
		check_frames(c, &rs, id_of, &tr, "counters");
		for (i = 0; i < tr.n; i++) {
			struct wc_key k;
			long w;

			wcard_key_from_tuple(&tr.t[i], &k);
			w = tk_ref_lookup(&rs, &k);
			if (w < 0)
				misses++;
			else
				want[w]++;
		}
		/* Reopen: a new generation, every rule in a new slot. */
		wcard_clf_destroy(c);
		c = NULL;
		cr_assert_eq(wcard_clf_open_pinned(dir, &o, &c, err, sizeof(err)), 0,
			     "case counters: reopen: %s", err);
	}
	for (i = 0; i < rs.n; i++) {
		cr_assert_eq(wcard_clf_rule_hits(c, i, &cnt), 0, "case counters: read rule %zu", i);
		cr_assert_eq(cnt.packets, want[i], "case counters: rule %zu: %llu packets, expected %llu",
			     i, (unsigned long long)cnt.packets, want[i]);
	}
	cr_assert_eq(wcard_clf_rule_hits(c, -1, &cnt), 0, "case counters: read misses");
	cr_assert_eq(cnt.packets, misses, "case counters: %llu misses, expected %llu",
		     (unsigned long long)cnt.packets, misses);
	/* Bytes: one more frame of a known length on the best-hit rule. */
	{
		struct wc_pkt p;
		struct wc_xdp_meta m;
		struct wc_counter before;
		__u8 frame[256];

		tk_pkt_from_tuple(&tr.t[0], &p);
		len = tk_frame_build(&p, NULL, frame, sizeof(frame));
		cr_assert_eq(wcard_clf_run_frame(c, frame, len, &m, NULL, NULL), 0,
			     "case counters: frame");
		if (m.id != WC_ID_NONE) {
			cr_assert_eq(wcard_clf_rule_hits(c, m.id, &before), 0, "case counters: read");
			cr_assert_eq(wcard_clf_run_frame(c, frame, len, &m, NULL, NULL), 0,
				     "case counters: frame");
			cr_assert_eq(wcard_clf_rule_hits(c, m.id, &cnt), 0, "case counters: read");
			cr_assert_eq(cnt.bytes - before.bytes, (__u64)len,
				     "case counters: %llu bytes for a %d-byte frame",
				     (unsigned long long)(cnt.bytes - before.bytes), len);
		}
	}
	wcard_clf_destroy(c);
	cr_assert_eq(wcard_clf_unpin(dir), 0, "case counters: unpin");
	free(id_of);
	free(want);
	wcard_ruleset_free(&rs);
	wcard_trace_free(&tr);
}

Test(pin, roundtrip_tm, .timeout = 120, .fini = pin_cleanup)
{
	pin_roundtrip(WC_ALGO_TM, "tm");
}

Test(pin, roundtrip_bf, .timeout = 120, .fini = pin_cleanup)
{
	pin_roundtrip(WC_ALGO_BF, "bf");
}

/* Not a classifier, another format version, another layout: clear refusals. */
Test(pin, refusals, .timeout = 120, .fini = pin_cleanup)
{
	struct wcard_clf_opts o = { .layout = wcard_layout_ipv4() };
	struct wcard_clf_opts o6 = { .layout = wcard_layout_ipv6() };
	struct wcard_clf *c = NULL, *c2 = NULL;
	char dir[256], path[300], err[512] = "";
	struct wc_root *root;
	int fd;

	pin_dir(dir, sizeof(dir), "refuse");
	cr_assert_eq(wcard_clf_open_pinned(dir, NULL, &c2, err, sizeof(err)), -ENOENT,
		     "case missing: must fail");
	cr_assert(strstr(err, "no such classifier"), "case missing: '%s'", err);
	cr_assert_eq(wcard_clf_create(&o, &c, err, sizeof(err)), 0, "case create: %s", err);
	cr_assert_eq(wcard_clf_pin(c, dir, err, sizeof(err)), 0, "case pin: %s", err);
	cr_assert_eq(wcard_clf_open_pinned(dir, &o6, &c2, err, sizeof(err)), -EPROTO,
		     "case layout: must fail");
	cr_assert(strstr(err, "layout ipv4-5tuple, not ipv6-5tuple"), "case layout: '%s'", err);
	/* Another version in the root record. */
	snprintf(path, sizeof(path), "%s/wc_root", dir);
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "case version: open root");
	root = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(root, MAP_FAILED, "case version: mmap");
	root->version = WC_VERSION + 1;
	cr_assert_eq(wcard_clf_open_pinned(dir, NULL, &c2, err, sizeof(err)), -EPROTO,
		     "case version: must fail");
	cr_assert(strstr(err, "format version"), "case version: '%s'", err);
	root->magic = 0;
	cr_assert_eq(wcard_clf_open_pinned(dir, NULL, &c2, err, sizeof(err)), -EPROTO,
		     "case magic: must fail");
	cr_assert(strstr(err, "not a wcard classifier"), "case magic: '%s'", err);
	munmap(root, 4096);
	close(fd);
	wcard_clf_destroy(c);
	cr_assert_eq(wcard_clf_unpin(dir), 0, "case unpin");
}

/* ---- bpftool prog load ... pinmaps, then the CLI fills the maps ------------------ */

/* XDP verdict of the pinned program for an IPv4 TCP frame. */
static __u32 pinned_verdict(int prog, __u32 src, __u32 dst, __u16 dport, const char *name)
{
	struct tk_frame_opts fo = {};
	struct wc_pkt p = { .family = 4, .proto = 6, .sport = 40000, .dport = dport };
	__u8 frame[128];
	int len, i;
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = frame, .repeat = 1);

	for (i = 0; i < 4; i++) {
		p.src[i] = src >> (24 - 8 * i);
		p.dst[i] = dst >> (24 - 8 * i);
	}
	len = tk_frame_build(&p, &fo, frame, sizeof(frame));
	cr_assert_gt(len, 0, "case %s: frame", name);
	t.data_size_in = len;
	cr_assert_eq(bpf_prog_test_run_opts(prog, &t), 0, "case %s: test run", name);
	return t.retval;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "fopen %s", path);
	fputs(text, f);
	fclose(f);
}

/*
 * The README's flow: the ready XDP filter loaded by plain bpftool with its
 * maps pinned, then `wcard rules load` turns those maps into a classifier and
 * replaces its rules; the pinned program answers by them.
 */
Test(pin, bpftool_prog_load_then_cli)
{
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	char dir[256], cls[300], cmd[2048], obj[512], rules[] = "/tmp/wcard-pin-rXXXXXX";
	int prog, fd = mkstemp(rules);

	cr_assert_geq(fd, 0, "mkstemp");
	close(fd);
	pin_dir(dir, sizeof(dir), "bpftool");
	cr_assert_eq(mkdir(dir, 0700), 0, "mkdir %s", dir);
	snprintf(cls, sizeof(cls), "%s/f", dir);
	cr_assert_eq(mkdir(cls, 0700), 0, "mkdir %s", cls);
	snprintf(cmd, sizeof(cmd), "bpftool prog load %s %s/prog pinmaps %s",
		 wt_bpf_obj("wcard_xdp.bpf.o", obj, sizeof(obj)), cls, cls);
	cr_assert_eq(system(cmd), 0, "case bpftool: %s", cmd);
	write_text(rules, "src 10.0.0.0/8 prio 5 drop\n"
			  "dst 192.168.1.0/24 tcp dport 22 prio 5 drop\n"
			  "src 10.1.0.0/16 prio 1 pass\n");
	snprintf(cmd, sizeof(cmd), "%s rules --pin-dir %s load f %s 2>/dev/null", bin, dir, rules);
	cr_assert_eq(system(cmd), 0, "case first load: %s", cmd);
	snprintf(cmd, sizeof(cmd), "%s/prog", cls);
	prog = bpf_obj_get(cmd);
	cr_assert_geq(prog, 0, "case pinned prog");
	cr_assert_eq(pinned_verdict(prog, 0x0a020304, 0x01010101, 80, "10.2.3.4"), XDP_DROP,
		     "case 10.2.3.4");
	cr_assert_eq(pinned_verdict(prog, 0x0a010203, 0x01010101, 80, "10.1.2.3"), XDP_PASS,
		     "case 10.1.2.3 (prio 1 pass)");
	cr_assert_eq(pinned_verdict(prog, 0x01020304, 0xc0a80105, 22, "ssh"), XDP_DROP, "case ssh");
	cr_assert_eq(pinned_verdict(prog, 0x01020304, 0xc0a80105, 80, "http"), XDP_PASS, "case http");
	/* dump loads back as the same rules: same verdicts, the same dump again. */
	snprintf(cmd, sizeof(cmd),
		 "%s rules --pin-dir %s dump f > %s.d1 && %s rules --pin-dir %s load f %s.d1 "
		 "2>/dev/null && %s rules --pin-dir %s dump f > %s.d2 && cmp -s %s.d1 %s.d2 && "
		 "test $(wc -l < %s.d1) = 3",
		 bin, dir, rules, bin, dir, rules, bin, dir, rules, rules, rules, rules);
	cr_assert_eq(system(cmd), 0, "case dump and load back: %s", cmd);
	cr_assert_eq(pinned_verdict(prog, 0x0a010203, 0x01010101, 80, "10.1.2.3"), XDP_PASS,
		     "case 10.1.2.3 after the dump was loaded back");
	cr_assert_eq(pinned_verdict(prog, 0x01020304, 0xc0a80105, 22, "ssh"), XDP_DROP,
		     "case ssh after the dump was loaded back");
	/* Replace the rules: the pinned program follows. */
	write_text(rules, "src 8.8.8.0/24 drop\n");
	snprintf(cmd, sizeof(cmd), "%s rules --pin-dir %s load f %s 2>/dev/null", bin, dir, rules);
	cr_assert_eq(system(cmd), 0, "case second load: %s", cmd);
	cr_assert_eq(pinned_verdict(prog, 0x0a020304, 0x01010101, 80, "10.2.3.4"), XDP_PASS,
		     "case 10.2.3.4 after the replace");
	cr_assert_eq(pinned_verdict(prog, 0x08080808, 0x01010101, 80, "8.8.8.8"), XDP_DROP,
		     "case 8.8.8.8 after the replace");
	close(prog);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s %s.d1 %s.d2", dir, rules, rules, rules);
	cr_assert_eq(system(cmd), 0, "cleanup");
}

/*
 * The CLI on a dual-stack classifier: created from a mixed file, IPv6 and
 * both-family rules added and deleted by id, the dump reads back the same
 * set (families and all), a ClassBench file loads into it as IPv4 rules;
 * an IPv4 classifier refuses a mixed file, naming it, and keeps its rules.
 */
Test(pin, cli_dual_stack, .timeout = 120, .fini = pin_cleanup)
{
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	char dir[256], cmd[2048], out[65536], dump[65536], rp[] = "/tmp/wcard-pin-dXXXXXX";
	char cb[] = "/tmp/wcard-pin-cXXXXXX";
	int fd = mkstemp(rp), fc = mkstemp(cb);

	cr_assert(fd >= 0 && fc >= 0, "mkstemp");
	close(fd);
	close(fc);
	write_text(rp, "src 10.0.0.0/8 drop\nsrc 2001:db8::/32 drop\ntcp dport 23 drop\n");
	write_text(cb, "@1.2.3.4/32\t5.6.7.8/32\t0 : 65535\t80 : 80\t0x06/0xFF\t\n");
	pin_dir(dir, sizeof(dir), "clid");
#define WD(fmt, ...)                                                                    \
	(snprintf(cmd, sizeof(cmd), "%s " fmt " --pin-dir %s 2>&1", bin, ##__VA_ARGS__, dir), \
	 wt_sh(out, sizeof(out), "%s", cmd))
	cr_assert_eq(WD("create d %s", rp), 0, "case create: %s", out);
	cr_assert(strstr(out, "(inet, 3 rules"), "case create: '%s'", out);
	cr_assert_eq(WD("rule add d dst fd00::/8 udp dport 53 prio 1 pass"), 0, "case add: %s", out);
	cr_assert_eq(atoi(out), 3, "case add: id '%s'", out);
	cr_assert_eq(WD("rule add d udp dport 123 prio 2 drop"), 0, "case add both: %s", out);
	cr_assert_eq(atoi(out), 4, "case add both: id '%s'", out);
	cr_assert_eq(WD("rule del d 2"), 0, "case del both: %s", out);
	cr_assert_eq(WD("rule add d src 192.0.2.1 dst fd00::1 drop"), 1, "case mixed rule");
	cr_assert(strstr(out, "IPv6 address in a rule with IPv4 addresses"), "case mixed rule: '%s'",
		  out);
	cr_assert_eq(WD("rules dump d"), 0, "case dump: %s", out);
	cr_assert_str_eq(out,
			 "src 10.0.0.0/8 prio 0 drop\n"
			 "src 2001:db8::/32 prio 1 drop\n"
			 "dst fd00::/8 dport 53 proto udp prio 1 pass\n"
			 "dport 123 proto udp prio 2 drop\n",
			 "case dump");
	memcpy(dump, out, strlen(out) + 1);
	/* The dump loads back as the same set. */
	write_text(rp, dump);
	cr_assert_eq(WD("rules load d %s", rp), 0, "case reload: %s", out);
	cr_assert_eq(WD("rules dump d"), 0, "case dump again: %s", out);
	cr_assert_str_eq(out, dump, "case dump after reload");
	cr_assert_eq(WD("stats d --json"), 0, "case stats: %s", out);
	cr_assert(strstr(out, "\"layout\":\"inet\"") && strstr(out, "\"rules\":4,"),
		  "case stats: '%s'", out);
	/* ClassBench into inet: IPv4 rules. */
	cr_assert_eq(WD("rules load d %s", cb), 0, "case classbench: %s", out);
	cr_assert_eq(WD("rules dump d"), 0, "case dump cb: %s", out);
	cr_assert_str_eq(out, "src 1.2.3.4 dst 5.6.7.8 dport 80 proto tcp prio 0 value 0x0\n",
			 "case dump cb");
	/* An IPv4 classifier: the mixed file is refused by name and line, nothing changes. */
	cr_assert_eq(WD("create four --layout ipv4-5tuple %s", cb), 0, "case create four: %s", out);
	cr_assert_eq(WD("rules load four %s", rp), 1, "case mixed into ipv4");
	cr_assert(strstr(out, rp) && strstr(out, "(line 2)") && strstr(out, "an IPv6 rule"),
		  "case mixed into ipv4: '%s'", out);
	cr_assert_eq(WD("rules dump four"), 0, "case dump four: %s", out);
	cr_assert(strstr(out, "src 1.2.3.4 dst 5.6.7.8") && !strstr(out, "fd00"),
		  "case dump four: '%s'", out);
#undef WD
	unlink(rp);
	unlink(cb);
}

/*
 * rules apply: a batch from a file (online) and from standard input
 * (--atomic, --json), the ids it prints, the rules it leaves; a bad line
 * anywhere is named by file and line and nothing of the batch is applied.
 */
Test(pin, cli_rules_apply, .timeout = 120, .fini = pin_cleanup)
{
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	char dir[256], cmd[4096], out[65536], before[65536], rp[] = "/tmp/wcard-pin-aXXXXXX";
	char bp[] = "/tmp/wcard-pin-bXXXXXX";
	int fd = mkstemp(rp), fb = mkstemp(bp);

	cr_assert(fd >= 0 && fb >= 0, "mkstemp");
	close(fd);
	close(fb);
	write_text(rp, "src 10.0.0.0/8 drop\nsrc 2001:db8::/32 drop\ntcp dport 23 drop\n");
	pin_dir(dir, sizeof(dir), "apply");
#define WA(fmt, ...)                                                                    \
	(snprintf(cmd, sizeof(cmd), "%s " fmt " --pin-dir %s 2>&1", bin, ##__VA_ARGS__, dir), \
	 wt_sh(out, sizeof(out), "%s", cmd))
	cr_assert_eq(WA("create a %s", rp), 0, "case create: %s", out);
	write_text(bp, "# a batch\n"
		       "add dst fd00::/8 udp dport 53 prio 1 pass\n"
		       "\n"
		       "del 1\n"
		       "add udp dport 123 drop   # no prio: after the worst rule\n"
		       "update 0 value 7\n");
	cr_assert_eq(WA("rules apply a %s", bp), 0, "case online: %s", out);
	cr_assert(strstr(out, "3\n4\n") && strstr(out, "4 changes applied") &&
			  strstr(out, "(online): 2 added, 1 deleted, 1 updated"),
		  "case online: '%s'", out);
	cr_assert_eq(WA("rules dump a"), 0, "case dump: %s", out);
	cr_assert_str_eq(out,
			 "src 10.0.0.0/8 prio 0 value 0x7\n"
			 "dst fd00::/8 dport 53 proto udp prio 1 pass\n"
			 "dport 23 proto tcp prio 2 drop\n"
			 "dport 123 proto udp prio 3 drop\n",
			 "case dump");
	/*
	 * Standard input, atomic, with every change's line and id. A new priority
	 * counts as added now: the rule goes after the one already at prio 0.
	 * Id 1, deleted by the last batch, is free again: the brute force
	 * classifier took a grace period when it rebuilt.
	 */
	snprintf(cmd, sizeof(cmd),
		 "printf 'update 3 prio 0 drop\\ndel 4\\nadd src 192.0.2.0/24 prio 5 pass\\n' | "
		 "%s rules apply a - --atomic --json --pin-dir %s 2>/dev/null",
		 bin, dir);
	cr_assert_eq(wt_sh(out, sizeof(out), "%s", cmd), 0, "case atomic: %s", out);
	cr_assert_str_eq(out,
			 "{\"atomic\":true,\"changes\":[{\"line\":1,\"op\":\"update\",\"id\":1},"
			 "{\"line\":2,\"op\":\"del\",\"id\":4},"
			 "{\"line\":3,\"op\":\"add\",\"id\":5}]}\n",
			 "case atomic json");
	cr_assert_eq(WA("rules dump a"), 0, "case dump atomic: %s", out);
	cr_assert_str_eq(out,
			 "src 10.0.0.0/8 prio 0 value 0x7\n"
			 "dst fd00::/8 dport 53 proto udp prio 0 drop\n"
			 "dport 23 proto tcp prio 2 drop\n"
			 "src 192.0.2.0/24 prio 5 pass\n",
			 "case dump atomic");
	memcpy(before, out, strlen(out) + 1);
	/* Bad lines: named, and the good lines before them are not applied either. */
	write_text(bp, "add src 10.1.0.0/16 drop\ndel 0\ndel 0\n");
	cr_assert_eq(WA("rules apply a %s", bp), 1, "case twice");
	cr_assert(strstr(out, bp) && strstr(out, ":3: no rule with id 0"), "case twice: '%s'", out);
	write_text(bp, "add src 10.1.0.0/16 drop\nadd src 10.0.0.0/8 dst 2001:db8::1 drop\n");
	cr_assert_eq(WA("rules apply a %s --atomic", bp), 1, "case mixed");
	cr_assert(strstr(out, ":2: IPv6 address in a rule with IPv4 addresses"), "case mixed: '%s'",
		  out);
	write_text(bp, "add src 10.1.0.0/16 drop\nupdate 5\n");
	cr_assert_eq(WA("rules apply a %s", bp), 1, "case empty update");
	cr_assert(strstr(out, ":2: update: nothing to change"), "case empty update: '%s'", out);
	cr_assert_eq(WA("rules apply a /nonexistent/batch"), 1, "case no file");
	cr_assert(strstr(out, "/nonexistent/batch: No such file"), "case no file: '%s'", out);
	cr_assert_eq(WA("rules dump a"), 0, "case dump after bad: %s", out);
	cr_assert_str_eq(out, before, "case nothing applied");
	/* A rule in one quoted argument keeps its prio (rule add looks for the word in it). */
	cr_assert_eq(WA("rule add a 'src 10.2.0.0/16 prio 1 drop'"), 0, "case quoted: %s", out);
	cr_assert_eq(WA("rules dump a"), 0, "case dump quoted: %s", out);
	cr_assert(strstr(out, "src 10.2.0.0/16 prio 1 drop\n"), "case quoted prio: '%s'", out);
#undef WA
	unlink(rp);
	unlink(bp);
}

/*
 * The CLI's life cycle of a pinned classifier: create (default drop), single
 * rule add / update / del with the verdicts of the pinned program following
 * each, per-rule counters that survive updates, stats, bad input, destroy.
 */
Test(pin, cli_lifecycle, .timeout = 120, .fini = pin_cleanup)
{
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	char dir[256], cls[300], cmd[2048], out[65536];
	int prog, i;

	pin_dir(dir, sizeof(dir), "cli");
	snprintf(cls, sizeof(cls), "%s/f", dir);
#define W(fmt, ...)                                                                     \
	(snprintf(cmd, sizeof(cmd), "%s " fmt " --pin-dir %s 2>&1", bin, ##__VA_ARGS__, dir), \
	 wt_sh(out, sizeof(out), "%s", cmd))
	cr_assert_eq(W("create f --default drop"), 0, "case create: %s", out);
	cr_assert_neq(W("create f"), 0, "case create twice");
	cr_assert(strstr(out, "already exists"), "case create twice: message '%s'", out);
	cr_assert_neq(W("create g --layout ipv5"), 0, "case bad layout");
	cr_assert(strstr(out, "unknown --layout 'ipv5'"), "case bad layout: message '%s'", out);
	snprintf(cmd, sizeof(cmd), "%s/prog", cls);
	prog = bpf_obj_get(cmd);
	cr_assert_geq(prog, 0, "case pinned prog");
	cr_assert_eq(pinned_verdict(prog, 0x0a020304, 0x01010101, 80, "empty"), XDP_DROP,
		     "case empty classifier: the default (drop)");

	cr_assert_eq(W("rule add f src 10.0.0.0/8 value 0x101"), 0, "case add 0: %s", out);
	cr_assert_eq(atoi(out), 0, "case add 0: id '%s'", out);
	cr_assert_eq(W("rule add f dst 192.168.1.0/24 tcp dport 22 pass"), 0, "case add 1: %s", out);
	cr_assert_eq(atoi(out), 1, "case add 1: id '%s'", out);
	for (i = 0; i < 3; i++)
		cr_assert_eq(pinned_verdict(prog, 0x0a020304, 0x01010101, 80, "10/8"), XDP_DROP,
			     "case rule 0 drops (0x101)");
	cr_assert_eq(pinned_verdict(prog, 0x01020304, 0xc0a80105, 22, "ssh"), XDP_PASS,
		     "case rule 1 passes ssh");
	cr_assert_eq(pinned_verdict(prog, 0x01020304, 0xc0a80105, 80, "http"), XDP_DROP,
		     "case http: no rule, default drop");
	cr_assert_eq(W("rules list f --json"), 0, "case list: %s", out);
	cr_assert_eq(wt_json_packets(out, 0), 3, "case list: rule 0 counted 3: %s", out);
	cr_assert_eq(wt_json_packets(out, 1), 1, "case list: rule 1 counted 1: %s", out);
	cr_assert(strstr(out, "\"no_match\":{\"packets\":2,"), "case list: 2 misses: %s", out);

	/* A new action keeps the id and the counts; a new priority makes a new id. */
	cr_assert_eq(W("rule update f 0 pass"), 0, "case update action: %s", out);
	cr_assert_eq(atoi(out), 0, "case update action: id '%s'", out);
	cr_assert_eq(pinned_verdict(prog, 0x0a020304, 0x01010101, 80, "10/8 pass"), XDP_PASS,
		     "case rule 0 passes now");
	cr_assert_eq(W("rules list f --json"), 0, "case list 2: %s", out);
	cr_assert_eq(wt_json_packets(out, 0), 4, "case list 2: rule 0 counted on: %s", out);
	cr_assert_eq(W("rule update f 0 prio 9"), 0, "case update prio: %s", out);
	cr_assert_eq(atoi(out), 2, "case update prio: new id '%s'", out);
	cr_assert_eq(W("rule del f 1"), 0, "case del 1: %s", out);
	cr_assert_eq(pinned_verdict(prog, 0x01020304, 0xc0a80105, 22, "ssh gone"), XDP_DROP,
		     "case ssh after its rule went: default drop");
	cr_assert_eq(pinned_verdict(prog, 0x0a020304, 0x01010101, 80, "10/8 id 2"), XDP_PASS,
		     "case 10/8 under its new id");

	/* Bad input changes nothing and says why. */
	cr_assert_eq(W("rule del f 1 2"), 1, "case del unknown id");
	cr_assert(strstr(out, "no rule with id 1"), "case del unknown id: '%s'", out);
	cr_assert_eq(W("rule add f src 1.2.3.300 drop"), 1, "case bad rule");
	cr_assert(strstr(out, "argument:1: bad address '1.2.3.300'"), "case bad rule: '%s'", out);
	cr_assert_eq(W("rule update f 2 src 1.2.3.4"), 2, "case update with a field");
	cr_assert_eq(W("rule update f 2 src 1.2.3.4 drop"), 1, "case update with a field");
	cr_assert(strstr(out, "only prio and the action change"), "case update field: '%s'", out);
	cr_assert_eq(W("rules dump f"), 0, "case dump: %s", out);
	cr_assert_str_eq(out, "src 10.0.0.0/8 prio 9 pass\n", "case dump after bad input");
	cr_assert_eq(W("stats f --json"), 0, "case stats: %s", out);
	cr_assert(strstr(out, "\"rules\":1,") && strstr(out, "\"matched\":{\"packets\":"),
		  "case stats json: %s", out);
	cr_assert_eq(W("rule add nosuch src 1.2.3.4 drop"), 1, "case no such classifier");
	cr_assert(strstr(out, "no classifier of that name"), "case no such: '%s'", out);

	/* A full table, a directory off bpffs, no privilege: refused, with the reason. */
	cr_assert_eq(W("create small --max-rules 2"), 0, "case small: %s", out);
	cr_assert_eq(W("rule add small src 1.1.1.1 drop"), 0, "case small 1: %s", out);
	cr_assert_eq(W("rule add small src 1.1.1.2 drop"), 0, "case small 2: %s", out);
	cr_assert_eq(W("rule add small src 1.1.1.3 drop"), 1, "case small 3: %s", out);
	cr_assert(strstr(out, "table full: 2 IPv4 rules"), "case table full: '%s'", out);
	cr_assert_eq(W("destroy small"), 0, "case destroy small: %s", out);
	snprintf(cmd, sizeof(cmd), "%s create z --pin-dir /tmp/wcard-not-bpffs-%d 2>&1", bin,
		 getpid());
	cr_assert_eq(wt_sh(out, sizeof(out), "%s", cmd), 1, "case off bpffs: %s", out);
	cr_assert(strstr(out, "not on bpffs"), "case off bpffs: '%s'", out);
	if (!access("/usr/bin/setpriv", X_OK)) {
		snprintf(cmd, sizeof(cmd),
			 "setpriv --reuid=65534 --regid=65534 --clear-groups %s rule add f src 1.2.3.4 "
			 "drop --pin-dir %s 2>&1", bin, dir);
		cr_assert_eq(wt_sh(out, sizeof(out), "%s", cmd), 1, "case unprivileged: %s", out);
		cr_assert(strstr(out, "not permitted") && strstr(out, "missing: CAP_BPF"),
			  "case unprivileged: '%s'", out);
	}

	close(prog);
	cr_assert_eq(W("destroy f"), 0, "case destroy: %s", out);
	cr_assert_neq(access(cls, F_OK), 0, "case destroy: %s is gone", cls);
	cr_assert_neq(W("destroy f"), 0, "case destroy twice");
#undef W
	rmdir(dir);
}

/* The XDP action of the pinned program prog on a frame of len bytes. */
static __u32 frame_verdict(int prog, const void *frame, size_t len, const char *name)
{
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = frame, .data_size_in = len, .repeat = 1);

	cr_assert_eq(bpf_prog_test_run_opts(prog, &t), 0, "case %s: test run", name);
	return t.retval;
}

/*
 * wcard create --nonip drop: frames that carry no IP (ARP, PPPoE control)
 * drop while IP frames keep the default; the setting lives in the pinned
 * maps, so CLI writers that reopen the classifier and republish both
 * generations keep it. Without --nonip they pass.
 */
Test(pin, cli_nonip, .timeout = 120, .fini = pin_cleanup)
{
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	struct wc_pkt p = { .family = 4, .proto = 6, .sport = 40000, .dport = 80,
			    .src = { 10, 1, 2, 3 }, .dst = { 1, 1, 1, 1 } };
	struct tk_frame_opts pppoe = { .pppoe = 5 };
	__u8 arp[60] = { [12] = 0x08, [13] = 0x06 }, lcp[128];
	char dir[256], cmd[2048], out[8192];
	int prog, lcp_len, i;

	lcp_len = tk_frame_build(&p, &pppoe, lcp, sizeof(lcp));
	cr_assert_gt(lcp_len, 0, "case lcp: frame");
	lcp[20] = 0xc0, lcp[21] = 0x21; /* PPP protocol: LCP */
	pin_dir(dir, sizeof(dir), "nonip");
#define W(fmt, ...)                                                                     \
	(snprintf(cmd, sizeof(cmd), "%s " fmt " --pin-dir %s 2>&1", bin, ##__VA_ARGS__, dir), \
	 wt_sh(out, sizeof(out), "%s", cmd))
	cr_assert_eq(W("create n --nonip drop"), 0, "case create --nonip drop: %s", out);
	snprintf(cmd, sizeof(cmd), "%s/n/prog", dir);
	prog = bpf_obj_get(cmd);
	cr_assert_geq(prog, 0, "case pinned prog");
	for (i = 0; i < 3; i++) {
		char name[64];

		/* Each rule add reopens from the maps and publishes the other generation. */
		if (i)
			cr_assert_eq(W("rule add n src 192.0.2.%d drop", i), 0, "case add %d: %s",
				     i, out);
		snprintf(name, sizeof(name), "arp after %d adds", i);
		cr_assert_eq(frame_verdict(prog, arp, sizeof(arp), name), XDP_DROP,
			     "case %s: --nonip drop", name);
		snprintf(name, sizeof(name), "pppoe lcp after %d adds", i);
		cr_assert_eq(frame_verdict(prog, lcp, lcp_len, name), XDP_DROP,
			     "case %s: --nonip drop", name);
		snprintf(name, sizeof(name), "ip after %d adds", i);
		cr_assert_eq(pinned_verdict(prog, 0x0a010203, 0x01010101, 80, name), XDP_PASS,
			     "case %s: the default (pass)", name);
	}
	close(prog);
	cr_assert_eq(W("create m"), 0, "case create: %s", out);
	snprintf(cmd, sizeof(cmd), "%s/m/prog", dir);
	prog = bpf_obj_get(cmd);
	cr_assert_geq(prog, 0, "case pinned prog m");
	cr_assert_eq(frame_verdict(prog, arp, sizeof(arp), "arp, no --nonip"), XDP_PASS,
		     "case arp without --nonip: pass");
	close(prog);
#undef W
}

/* Two CLI writers at once take turns: every rule each added is there, ids distinct. */
Test(pin, cli_concurrent_writers, .timeout = 300, .fini = pin_cleanup)
{
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	char dir[256], cmd[4096], out[1 << 16];
	unsigned int ids[64], n = 0, i, j;
	char *p;

	pin_dir(dir, sizeof(dir), "writers");
	snprintf(cmd, sizeof(cmd), "%s create f --pin-dir %s 2>&1", bin, dir);
	cr_assert_eq(wt_sh(out, sizeof(out), "%s", cmd), 0, "case create: %s", out);
	snprintf(cmd, sizeof(cmd),
		 "for w in 1 2; do (for i in $(seq 1 25); do %s rule add f --pin-dir %s "
		 "src 10.$w.$i.0/24 drop >/dev/null || echo FAIL; done) & done; wait", bin, dir);
	cr_assert_eq(wt_sh(out, sizeof(out), "%s", cmd), 0, "case writers");
	cr_assert_null(strstr(out, "FAIL"), "case writers: an add failed: %s", out);
	snprintf(cmd, sizeof(cmd), "%s rules list f --json --pin-dir %s", bin, dir);
	cr_assert_eq(wt_sh(out, sizeof(out), "%s", cmd), 0, "case list");
	for (p = out; (p = strstr(p, "{\"id\":")) && n < 64; p++)
		ids[n++] = atoi(p + 6);
	cr_assert_eq(n, 50, "case writers: %u rules listed, expected 50", n);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			cr_assert_neq(ids[i], ids[j], "case writers: id %u twice", ids[i]);
	for (i = 1; i <= 2; i++)
		for (j = 1; j <= 25; j++) {
			char pfx[32];

			snprintf(pfx, sizeof(pfx), "src 10.%u.%u.0/24 ", i, j);
			cr_assert_not_null(strstr(out, pfx), "case writers: %s missing", pfx);
		}
	snprintf(cmd, sizeof(cmd), "%s destroy f --pin-dir %s && rmdir %s", bin, dir, dir);
	cr_assert_eq(system(cmd), 0, "case destroy");
}

/* ---- the CLI's lock on NAME when NAME is destroyed and created again ---- */

/* Is pid waiting in flock() for the lock of the inode st names (/proc/locks)? */
static bool flock_waiting(pid_t pid, const struct stat *st)
{
	FILE *f = fopen("/proc/locks", "r");
	char line[256];
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "-> FLOCK ");
		unsigned int maj, min;
		unsigned long long ino;
		int who;

		/* "1: -> FLOCK  ADVISORY  WRITE PID MAJ:MIN:INODE 0 EOF", MAJ:MIN in hex */
		if (!p || sscanf(p, "-> FLOCK %*s %*s %d %x:%x:%llu", &who, &maj, &min, &ino) != 4)
			continue;
		found = who == pid && maj == major(st->st_dev) && min == minor(st->st_dev) &&
			ino == (unsigned long long)st->st_ino;
	}
	if (f)
		fclose(f);
	return found;
}

/*
 * Wait (up to 20 s) until pid waits for the lock of *st: true. false as soon as
 * pid has exited instead (its wait status in *status).
 */
static bool wait_blocked(pid_t pid, const struct stat *st, int *status)
{
	int i;

	for (i = 0; i < 2000; i++) {
		if (flock_waiting(pid, st))
			return true;
		if (waitpid(pid, status, WNOHANG) == pid)
			return false;
		usleep(10000);
	}
	return false;
}

/* Lock directory path the way the CLI does; the fd, its inode in *st. */
static int lock_dir(const char *path, struct stat *st, const char *name)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	cr_assert_geq(fd, 0, "case %s: open %s: %s", name, path, strerror(errno));
	cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0, "case %s: lock %s: %s", name, path,
		     strerror(errno));
	cr_assert_eq(fstat(fd, st), 0, "case %s: fstat", name);
	return fd;
}

/* `wcard rule add f --pin-dir dir RULE` in the background, its output into log. */
static pid_t start_rule_add(const char *dir, const char *rule, const char *log, const char *name)
{
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	pid_t pid = fork();

	cr_assert_geq(pid, 0, "case %s: fork", name);
	if (!pid) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execl(bin, bin, "rule", "add", "f", "--pin-dir", dir, rule, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* What the background command wrote (NUL-terminated), then remove its log. */
static void take_log(const char *log, char *out, size_t len)
{
	int fd = open(log, O_RDONLY);
	ssize_t n = fd >= 0 ? pread(fd, out, len - 1, 0) : -1;

	out[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	unlink(log);
}

/* A new empty classifier pinned at path. */
static void create_pinned(const char *path, const char *name)
{
	struct wcard_clf_opts o = { .layout = wcard_layout_ipv4(), .max_rules = 64 };
	struct wcard_clf *c = NULL;
	char err[512] = "";

	cr_assert_eq(wcard_clf_create(&o, &c, err, sizeof(err)), 0, "case %s: create: %s", name,
		     err);
	cr_assert_eq(wcard_clf_pin(c, path, err, sizeof(err)), 0, "case %s: pin: %s", name, err);
	wcard_clf_destroy(c);
}

/*
 * A writer waits for the lock of NAME; its holder destroys NAME and creates a
 * new one. The writer then gets the old, unlinked directory's lock, which
 * guards nothing: it must wait for the new NAME's lock instead, and add its
 * rule to the new classifier only once that is free.
 */
Test(pin, cli_lock_follows_a_recreated_classifier, .timeout = 120, .fini = pin_cleanup)
{
	const char *name = "recreated";
	char dir[256], cls[300], log[64], out[4096] = "";
	struct wcard_clf *c = NULL;
	struct wcard_ruleset rs;
	struct stat ost, nst;
	int old, neu, st = 0;
	pid_t pid;

	pin_dir(dir, sizeof(dir), "relock");
	snprintf(cls, sizeof(cls), "%s/f", dir);
	snprintf(log, sizeof(log), "/tmp/wcard-relock-%d.log", getpid());
	cr_assert_eq(mkdir(dir, 0700), 0, "case %s: mkdir %s", name, dir);
	create_pinned(cls, name);

	old = lock_dir(cls, &ost, name);
	pid = start_rule_add(dir, "src 10.9.9.0/24 drop", log, name);
	cr_assert(wait_blocked(pid, &ost, &st), "case %s: rule add never waited for the lock",
		  name);

	/* The holder: destroy, create anew, lock the new one, let go of the old. */
	cr_assert_eq(wcard_clf_unpin(cls), 0, "case %s: unpin", name);
	create_pinned(cls, name);
	neu = lock_dir(cls, &nst, name);
	cr_assert(nst.st_ino != ost.st_ino || nst.st_dev != ost.st_dev,
		  "case %s: the new directory has the old inode", name);
	close(old);

	if (!wait_blocked(pid, &nst, &st)) {
		take_log(log, out, sizeof(out));
		cr_assert_fail("case %s: rule add went on while the new classifier's lock was held "
			       "(exit %d): '%s'", name, WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
	}
	/* It changed nothing meanwhile (we hold the lock: opening is ours to do). */
	cr_assert_eq(wcard_clf_open_pinned(cls, NULL, &c, out, sizeof(out)), 0,
		     "case %s: open: %s", name, out);
	cr_assert_eq(wcard_clf_rules(c, &rs), 0, "case %s: rules", name);
	cr_assert_eq(rs.n, 0, "case %s: %zu rules while the writer waits", name, rs.n);
	wcard_ruleset_free(&rs);
	wcard_clf_destroy(c);

	close(neu);
	cr_assert_eq(waitpid(pid, &st, 0), pid, "case %s: waitpid", name);
	take_log(log, out, sizeof(out));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "case %s: rule add failed: '%s'", name,
		  out);
	cr_assert_eq(wcard_clf_open_pinned(cls, NULL, &c, out, sizeof(out)), 0,
		     "case %s: reopen: %s", name, out);
	cr_assert_eq(wcard_clf_rules(c, &rs), 0, "case %s: rules", name);
	cr_assert_eq(rs.n, 1, "case %s: %zu rules in the new classifier, not 1", name, rs.n);
	cr_assert(rs.rules[0].f[WC_F_SRC].value == 0x0a090900 && rs.rules[0].f[WC_F_SRC].plen == 24,
		  "case %s: the rule in the new classifier is not src 10.9.9.0/24", name);
	wcard_ruleset_free(&rs);
	wcard_clf_destroy(c);
}

/*
 * The writer starts over for as long as NAME keeps being replaced while it
 * waits, but not forever: after 8 replacements it gives up and says why.
 * (Bare directories are enough: the writer only gets to lock them.)
 */
Test(pin, cli_lock_gives_up_when_replaced_again_and_again, .timeout = 120, .fini = pin_cleanup)
{
	const char *name = "replaced";
	char dir[256], cls[300], log[64], out[4096] = "";
	struct stat cur, next;
	int held, fd, st = 0, swaps = 0;
	pid_t pid;

	pin_dir(dir, sizeof(dir), "relock-bound");
	snprintf(cls, sizeof(cls), "%s/f", dir);
	snprintf(log, sizeof(log), "/tmp/wcard-relock-%d.log", getpid());
	cr_assert_eq(mkdir(dir, 0700), 0, "case %s: mkdir %s", name, dir);
	cr_assert_eq(mkdir(cls, 0700), 0, "case %s: mkdir %s", name, cls);
	held = lock_dir(cls, &cur, name);
	pid = start_rule_add(dir, "src 10.9.9.0/24 drop", log, name);
	while (wait_blocked(pid, &cur, &st)) {
		cr_assert_lt(swaps, 20, "case %s: still waiting after %d replacements", name,
			     swaps);
		cr_assert_eq(rmdir(cls), 0, "case %s: rmdir", name);
		cr_assert_eq(mkdir(cls, 0700), 0, "case %s: mkdir", name);
		fd = lock_dir(cls, &next, name);
		close(held);
		held = fd;
		cur = next;
		swaps++;
	}
	close(held);
	if (waitpid(pid, &st, WNOHANG) == 0) {
		/* Neither waiting nor done after 20 s: stuck somewhere else. */
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	take_log(log, out, sizeof(out));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "case %s: exit %d after %d replacements: "
		  "'%s'", name, WIFEXITED(st) ? WEXITSTATUS(st) : -1, swaps, out);
	cr_assert_eq(swaps, 8, "case %s: gave up after %d replacements: '%s'", name, swaps, out);
	cr_assert(strstr(out, "destroyed and created again 8 times while waiting for its lock"),
		  "case %s: message '%s'", name, out);
}

/*
 * A load that takes more than a second says what it is doing on a TTY (here
 * `script` provides one, and a FIFO that delivers the rules after 2.5 s makes
 * the load slow); without a TTY it stays quiet.
 */
Test(pin, cli_progress_on_tty, .timeout = 60, .fini = pin_cleanup)
{
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	char dir[256], fifo[128], out[8192];
	int i;

	if (access("/usr/bin/script", X_OK))
		cr_skip_test("no 'script' (util-linux) to provide a TTY");
	pin_dir(dir, sizeof(dir), "progress");
	snprintf(fifo, sizeof(fifo), "/tmp/wcard-progress-%d", getpid());
	for (i = 0; i < 2; i++) {
		unlink(fifo);
		cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo");
		if (i == 0)
			cr_assert_eq(wt_sh(out, sizeof(out),
					   "(sleep 2.5; echo 'src 1.2.3.4 drop' > %1$s) & "
					   "script -qec '%2$s create f %1$s --pin-dir %3$s' /dev/null; wait",
					   fifo, bin, dir),
				     0, "case on a TTY: %s", out);
		else
			cr_assert_eq(wt_sh(out, sizeof(out),
					   "(sleep 2.5; echo 'src 1.2.3.4 drop' > %1$s) & "
					   "%2$s create g %1$s --pin-dir %3$s; wait",
					   fifo, bin, dir),
				     0, "case no TTY: %s", out);
		if (i == 0)
			cr_assert(strstr(out, "wcard: parsing ") && strstr(out, "s\033[K"),
				  "case on a TTY: no progress line in '%s'", out);
		else
			cr_assert_null(strstr(out, "parsing"), "case no TTY: progress in '%s'", out);
		cr_assert_not_null(strstr(out, "created"), "case %d: '%s'", i, out);
	}
	cr_assert_eq(wt_sh(out, sizeof(out), "%s destroy f --pin-dir %s && %s destroy g --pin-dir %s",
			   bin, dir, bin, dir), 0, "case destroy: %s", out);
	unlink(fifo);
}

/* ---- a fresh host: nothing mounted at /sys/fs/bpf ------------------------------ */

/*
 * Shell prefix: a private mount namespace in which nothing is mounted at
 * /sys/fs/bpf (every mount there taken off), as on a fresh host or in a
 * container. The host's mounts are never touched.
 */
#define FRESH_NS                                                                                   \
	"unshare -m --propagation private sh -c '"                                                 \
	"while mountpoint -q /sys/fs/bpf; do umount -l /sys/fs/bpf || exit 9; done; "

/* The CLI on a fresh host: create mounts bpffs, and every command works from there. */
Test(pin, fresh_host_cli_mounts_bpffs, .timeout = 120)
{
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	char out[8192];
	int rc;

	if (access("/usr/bin/unshare", X_OK) || access("/usr/bin/mountpoint", X_OK))
		cr_skip_test("unshare(1) or mountpoint(1) missing");
	/* Before: nothing mounted, so the first create has to mount it. */
	rc = wt_sh(out, sizeof(out),
		   FRESH_NS "mountpoint -q /sys/fs/bpf && exit 8; "
		   /* A path that only looks under /sys/fs/bpf mounts nothing. */
		   "%1$s create --pin-dir /sys/fs/bpf/../../tmp/wcard-dotdot y && exit 6; "
		   "mountpoint -q /sys/fs/bpf && exit 7; "
		   "%1$s create fw && mountpoint -q /sys/fs/bpf && "
		   "%1$s rule add fw src 10.0.0.0/8 drop && %1$s rules dump fw && "
		   "%1$s lpm create rt && %1$s lpm add rt 10.0.0.0/8 7 && %1$s lpm get rt 10.1.2.3 && "
		   "%1$s destroy fw && %1$s lpm destroy rt && "
		   /* A relative --pin-dir, from a directory on bpffs. */
		   "cd /sys/fs/bpf && %1$s create --pin-dir rel r && %1$s destroy --pin-dir rel r && "
		   "cd / && "
		   "stat -f -c %%T /sys/fs/bpf' 2>&1",
		   bin);
	cr_assert_eq(rc, 0, "case fresh host: rc %d: %s", rc, out);
	cr_assert(strstr(out, "src 10.0.0.0/8 prio 0 drop"), "case fresh host dump: %s", out);
	cr_assert(strstr(out, "10.1.2.3 10.0.0.0/8 7"), "case fresh host lpm get: %s", out);
	cr_assert(strstr(out, "bpf_fs"), "case fresh host: bpffs mounted: %s", out);
}

/* Mounting is refused (no CAP_SYS_ADMIN): the error says why and what to run; nothing made. */
Test(pin, fresh_host_mount_refused, .timeout = 120)
{
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	char out[8192];
	int rc;

	if (access("/usr/bin/unshare", X_OK) || access("/usr/sbin/capsh", X_OK))
		cr_skip_test("unshare(1) or capsh(1) missing");
	rc = wt_sh(out, sizeof(out),
		   FRESH_NS "capsh --drop=cap_sys_admin -- -c \"%1$s create fw; echo rc=\\$?; "
		   "%1$s lpm create rt; echo rc=\\$?\"; "
		   "mountpoint -q /sys/fs/bpf && echo MOUNTED; ls /sys/fs/bpf/wcard 2>/dev/null; "
		   "true' 2>&1",
		   bin);
	cr_assert_eq(rc, 0, "case refused: rc %d: %s", rc, out);
	cr_assert(strstr(out, "rc=1\n") && !strstr(out, "rc=0"), "case refused: exit codes: %s",
		  out);
	cr_assert(strstr(out, "mounting bpffs there failed: Operation not permitted") &&
			  strstr(out, "CAP_SYS_ADMIN") &&
			  strstr(out, "mount -t bpf bpf /sys/fs/bpf"),
		  "case refused: message names the reason and the command: %s", out);
	cr_assert(!strstr(out, "MOUNTED"), "case refused: nothing mounted: %s", out);
}

/* The library's pin functions mount bpffs too (a program of ours, not the CLI). */
Test(pin, fresh_host_library_pin_mounts_bpffs, .timeout = 120)
{
	struct wcard_clf_opts o = { .layout = wcard_layout_ipv4() };
	struct wcard_clf *c = NULL, *c2 = NULL;
	char err[512] = "";
	struct statfs fs;
	int status;
	pid_t pid;

	pid = fork();
	cr_assert_geq(pid, 0, "case library: fork");
	if (pid == 0) {
		/* A private mount namespace with nothing at /sys/fs/bpf. */
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			_exit(10);
		while (!statfs(WCARD_BPFFS, &fs) && fs.f_type == BPF_FS_MAGIC)
			if (umount2(WCARD_BPFFS, MNT_DETACH))
				_exit(11);
		if (wcard_clf_create(&o, &c, err, sizeof(err)))
			_exit(12);
		if (wcard_clf_pin(c, WCARD_BPFFS "/lib/x", err, sizeof(err))) {
			fprintf(stderr, "case library: %s\n", err);
			_exit(13);
		}
		if (statfs(WCARD_BPFFS, &fs) || fs.f_type != BPF_FS_MAGIC)
			_exit(14);
		if (wcard_clf_open_pinned(WCARD_BPFFS "/lib/x", NULL, &c2, err, sizeof(err)))
			_exit(15);
		wcard_clf_destroy(c2);
		wcard_clf_destroy(c);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid, "case library: waitpid");
	cr_assert(WIFEXITED(status), "case library: child died");
	cr_assert_eq(WEXITSTATUS(status), 0, "case library: child step %d failed",
		     WEXITSTATUS(status));
}

/* ---- read-only commands write nothing ------------------------------------------ */

/*
 * Everything pinned under dir, as bytes: each map's values (array maps: every
 * element, per CPU where per-CPU; maps of maps: the ids of their inner maps),
 * each program's id. Two snapshots are equal only if nothing pinned changed.
 */
static size_t pins_snapshot(const char *dir, char **out)
{
	size_t len = 0, cap = 1 << 20;
	char *buf = malloc(cap), path[600];
	struct dirent *e;
	DIR *d = opendir(dir);

	cr_assert(buf && d, "snapshot %s", dir);
	while ((e = readdir(d))) {
		struct bpf_map_info mi = {};
		struct bpf_prog_info pi = {};
		__u32 ml = sizeof(mi), pl = sizeof(pi), k;
		size_t vsz;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fd = bpf_obj_get(path);
		cr_assert_geq(fd, 0, "snapshot: open %s", path);
		/* Programs are pinned as "prog" (maps under their names). */
		if (!strcmp(e->d_name, "prog")) {
			cr_assert_eq(bpf_obj_get_info_by_fd(fd, &pi, &pl), 0, "snapshot: %s", path);
			vsz = sizeof(pi.id);
			mi.max_entries = 1;
		} else {
			cr_assert_eq(bpf_obj_get_info_by_fd(fd, &mi, &ml), 0, "snapshot: %s", path);
			vsz = mi.value_size;
			if (mi.type == BPF_MAP_TYPE_PERCPU_ARRAY)
				vsz = ((mi.value_size + 7) & ~7u) * libbpf_num_possible_cpus();
		}
		for (k = 0; k < mi.max_entries; k++) {
			if (len + strlen(e->d_name) + 8 + vsz > cap) {
				cap = 2 * (len + vsz + cap);
				buf = realloc(buf, cap);
				cr_assert_not_null(buf, "snapshot: realloc");
			}
			if (!k) {
				memcpy(buf + len, e->d_name, strlen(e->d_name) + 1);
				len += strlen(e->d_name) + 1;
			}
			memset(buf + len, 0, vsz);
			if (mi.type == 0)
				memcpy(buf + len, &pi.id, sizeof(pi.id));
			else if (bpf_map_lookup_elem(fd, &k, buf + len))
				memset(buf + len, 0xee, vsz); /* an empty slot of a map of maps */
			len += vsz;
		}
		close(fd);
	}
	closedir(d);
	*out = buf;
	return len;
}

static void pins_same(const char *dir, const char *before, size_t blen, const char *name)
{
	char *after;
	size_t alen = pins_snapshot(dir, &after);

	cr_assert(alen == blen && !memcmp(before, after, blen),
		  "case %s: the pinned maps changed (%zu bytes before, %zu after)", name, blen,
		  alen);
	free(after);
}

/*
 * rules list, rules dump, stats NAME and lpm dump|get|stats only read: the
 * pinned maps are byte for byte the same after each (no generation switch, no
 * rebuild, no algorithm change); a change (rule add, lpm add) does show.
 */
Test(pin, read_only_commands_write_nothing, .timeout = 300, .fini = pin_cleanup)
{
	static const char *const reads[] = { "rules list", "rules list --json", "rules dump",
					     "rules dump --json", "stats", "stats --json" };
	static const char *const lpm_reads[] = { "lpm dump", "lpm dump --json", "lpm stats",
						 "lpm stats --json", "lpm get", "lpm get --json" };
	static const char *const algos[][2] = { { "bf", "small.txt" },
						{ "tm", "gen.rules" },
						{ "lpm", "blocklist.txt" } };
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	char dir[256], cls[400], out[8192], files[64], *snap;
	unsigned int a, i;
	size_t len;

	pin_dir(dir, sizeof(dir), "ro");
	snprintf(files, sizeof(files), "/tmp/wcard-ro-%d", getpid());
	cr_assert_eq(wt_sh(out, sizeof(out),
			   "mkdir -p %1$s && cd %1$s && %2$s gen --rules 300 --packets 10 gen.rules "
			   "gen.trace >/dev/null && printf 'src 10.0.0.0/8 drop\\ndst 10.1.0.0/16 "
			   "tcp dport 22 pass\\n' > small.txt && "
			   "printf '10.0.0.0/8 1\\n10.1.0.0/16 2\\n2001:db8::/32 3\\n' > routes.txt && "
			   "for i in $(seq 1 20); do echo \"src 10.$i.1.0/24 drop\"; done > blocklist.txt && "
			   "for i in $(seq 1 20); do echo \"src 10.$i.0.0/16 pass\"; done >> blocklist.txt",
			   files, bin),
		     0, "case setup: %s", out);
	for (a = 0; a < 3; a++) {
		snprintf(cls, sizeof(cls), "%s/%s", dir, algos[a][0]);
		cr_assert_eq(wt_sh(out, sizeof(out),
				   "%s create --pin-dir %s --max-rules 1024 %s %s/%s", bin, dir,
				   algos[a][0], files, algos[a][1]),
			     0, "case create %s: %s", algos[a][0], out);
		len = pins_snapshot(cls, &snap);
		for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
			cr_assert_eq(wt_sh(out, sizeof(out), "%s %s --pin-dir %s %s", bin, reads[i],
					   dir, algos[a][0]),
				     0, "case %s %s: %s", algos[a][0], reads[i], out);
			pins_same(cls, snap, len, reads[i]);
		}
		cr_assert_eq(wt_sh(out, sizeof(out), "%s stats --json --pin-dir %s %s", bin, dir,
				   algos[a][0]),
			     0, "case %s algo: %s", algos[a][0], out);
		cr_assert(strstr(out, a == 2 ? "\"algo\":\"lpm\"" :
				      a ? "\"algo\":\"tm\"" : "\"algo\":\"bf\""),
			  "case %s: the algorithm after the reads: %s", algos[a][0], out);
		/* A write does change them: the comparison sees changes. */
		cr_assert_eq(wt_sh(out, sizeof(out), "%s rule add --pin-dir %s %s src 1.2.3.4 drop",
				   bin, dir, algos[a][0]),
			     0, "case %s add: %s", algos[a][0], out);
		snprintf(cls, sizeof(cls), "%s/%s", dir, algos[a][0]);
		{
			char *after;
			size_t alen = pins_snapshot(cls, &after);

			cr_assert(alen != len || memcmp(snap, after, len),
				  "case %s: rule add changed nothing pinned", algos[a][0]);
			free(after);
		}
		free(snap);
	}
	/* A pinned LPM (the small IPv4 trie: DIR-24-8's 128 MiB would make a big snapshot). */
	snprintf(cls, sizeof(cls), "%s/l", dir);
	cr_assert_eq(wt_sh(out, sizeof(out),
			   "%s lpm create --pin-dir %s --v4 trie --max-routes 64 l %s/routes.txt",
			   bin, dir, files),
		     0, "case lpm create: %s", out);
	len = pins_snapshot(cls, &snap);
	for (i = 0; i < sizeof(lpm_reads) / sizeof(lpm_reads[0]); i++) {
		cr_assert_eq(wt_sh(out, sizeof(out), "%s %s --pin-dir %s l%s", bin, lpm_reads[i],
				   dir, strstr(lpm_reads[i], "get") ? " 10.1.2.3 2001:db8::1" : ""),
			     0, "case %s: %s", lpm_reads[i], out);
		pins_same(cls, snap, len, lpm_reads[i]);
	}
	cr_assert_eq(wt_sh(out, sizeof(out), "%s lpm add --pin-dir %s l 10.2.0.0/16 9", bin, dir), 0,
		     "case lpm add: %s", out);
	{
		char *after;
		size_t alen = pins_snapshot(cls, &after);

		cr_assert(alen != len || memcmp(snap, after, len), "case lpm add changed nothing");
		free(after);
	}
	free(snap);
	wt_sh(out, sizeof(out), "%s lpm destroy --pin-dir %s l; rm -rf %s", bin, dir, files);
}

/* ---- every algorithm survives every command (reopens keep the algorithm) -------- */

/*
 * A classifier made on one algorithm, forced or picked automatically, must
 * come back on it after every command, each of which reopens it from the pins
 * (the LPM path's tries included), and answer as the reference does. The
 * rules are kept in insertion order with their ids (a shadow), so the
 * reference is tk_ref_lookup over the live ones.
 */
struct keep_rule {
	struct wcard_rule r;
	__u32 id;
	bool live;
};

struct keep {
	const char *name;
	const struct wcard_layout *l;
	enum wc_algo force, want;
	struct keep_rule *r;
	size_t n, cap;
	/* Probe packets: key and frame. */
	struct wc_key *key;
	__u8 (*frame)[128];
	int *flen;
	size_t nprobe;
};

/* The set kinds: ClassBench rules, or prefixes of one field, longer ranking better. */
enum { KS_CB, KS_SRC, KS_DST };

struct keep_case {
	const char *name;
	bool v6;
	int kind;
	unsigned int n;
	enum wc_algo force, want;
};

static const struct keep_case keep_cases[] = {
	{ "bf forced", false, KS_CB, 100, WC_ALGO_BF, WC_ALGO_BF },
	{ "bf auto", false, KS_CB, 12, 0, WC_ALGO_BF },
	{ "tm auto", false, KS_CB, 800, 0, WC_ALGO_TM },
	{ "lpm auto ipv4 src", false, KS_SRC, 300, 0, WC_ALGO_LPM },
	{ "lpm auto ipv6 src", true, KS_SRC, 300, 0, WC_ALGO_LPM },
	{ "lpm forced ipv4 dst", false, KS_DST, 300, WC_ALGO_LPM, WC_ALGO_LPM },
};

#define KEEP_VALUE(load, i) (((__u64)(load) << 40) | ((__u64)(i) << 8) | WC_ACT_PASS)

static void keep_add(struct keep *k, const struct wcard_rule *r, __u32 id)
{
	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 64;
		k->r = realloc(k->r, k->cap * sizeof(*k->r));
		cr_assert_not_null(k->r, "case %s: realloc", k->name);
	}
	k->r[k->n++] = (struct keep_rule){ .r = *r, .id = id, .live = true };
}

static struct keep_rule *keep_find(struct keep *k, __u32 id)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (k->r[i].live && k->r[i].id == id)
			return &k->r[i];
	cr_assert_fail("case %s: no live rule %u in the shadow", k->name, id);
	return NULL;
}

/* Address of probe p in field f (0 src, 1 dst) as a 128-bit value of the layout's width. */
static wc_u128 keep_addr(const struct keep *k, size_t p, unsigned int f)
{
	const struct wc_field_desc *d = &k->l->desc[f];

	return d->nwords == 2 ? ((wc_u128)k->key[p].w[d->word] << 64) | k->key[p].w[d->word + 1] :
				k->key[p].w[d->word];
}

/* Probes: the trace's packets (IPv4), or addresses around a pool of IPv6 prefixes. */
static void keep_probes(struct keep *k, const struct wcard_trace *tr, __u64 seed)
{
	struct wt_rng r = { .s = seed };
	size_t i, n = tr ? tr->n : 1500;

	k->key = calloc(n, sizeof(*k->key));
	k->frame = calloc(n, sizeof(*k->frame));
	k->flen = calloc(n, sizeof(*k->flen));
	cr_assert(k->key && k->frame && k->flen, "case %s: calloc", k->name);
	for (i = 0; i < n; i++) {
		struct wc_pkt p = { .family = 6, .proto = 17, .sport = 5353, .dport = 53 };
		unsigned int b;

		if (tr) {
			wcard_key_from_tuple(&tr->t[i], &k->key[i]);
			tk_pkt_from_tuple(&tr->t[i], &p);
		} else {
			/* 40 /64 networks, hosts in them: the prefixes below nest around them. */
			struct wt_rng net = { .s = 77 + wt_below(&r, 40) };
			__u64 hi = wt_rnd(&net), lo = wt_rnd(&r), dhi = wt_rnd(&r);

			for (b = 0; b < 8; b++) {
				p.src[b] = hi >> (56 - 8 * b);
				p.src[8 + b] = lo >> (56 - 8 * b);
				p.dst[b] = dhi >> (56 - 8 * b);
			}
			p.dst[15] = 1;
			k->key[i] = (struct wc_key){ .w = { hi, lo, dhi, 1, 5353, 53, 17, 0 } };
		}
		k->flen[i] = tk_frame_build(&p, NULL, k->frame[i], sizeof(k->frame[i]));
		cr_assert_gt(k->flen[i], 0, "case %s: frame %zu", k->name, i);
	}
	k->nprobe = n;
}

/*
 * A rule set of kind kc->kind for bulk load number `load` (ids = indexes):
 * ClassBench rules, or prefixes of the probes' addresses in one field with
 * prio 2 * (bits - len) + 1, so longer prefixes rank better and a full-length
 * prefix can still move to prio 0 or 1 without breaking that.
 */
static void keep_set(const struct keep *k, const struct keep_case *kc,
		     const struct wcard_ruleset *cb, unsigned int load, struct wcard_ruleset *rs)
{
	unsigned int f = kc->kind == KS_DST, bits = kc->v6 ? 128 : 32, i, j;
	struct wt_rng r = { .s = 1000 + load };

	wcard_ruleset_init(rs, k->l);
	for (i = 0; kc->kind == KS_CB && i < kc->n; i++) {
		struct wcard_rule rule = cb->rules[(i * 7 + load * 13) % cb->n];

		rule.value = KEEP_VALUE(load, i);
		cr_assert_eq(wcard_ruleset_add(rs, &rule), 0, "case %s: set", k->name);
	}
	for (i = 0; kc->kind != KS_CB && rs->n < kc->n && i < 50 * kc->n; i++) {
		unsigned int len = (kc->v6 ? 16 : 8) + wt_below(&r, bits - (kc->v6 ? 16 : 8) + 1);
		wc_u128 a = keep_addr(k, wt_below(&r, k->nprobe), f);
		wc_u128 m = len ? (~(wc_u128)0 << (128 - len)) >> (128 - bits) : 0;
		struct wcard_rule rule;
		bool dup = false;

		for (j = 0; j < rs->n && !dup; j++)
			dup = rs->rules[j].f[f].plen == len && rs->rules[j].f[f].value == (a & m);
		if (dup)
			continue;
		wcard_rule_any(k->l, &rule);
		cr_assert_eq(wcard_rule_set_prefix(k->l, &rule, f, a & m, len), 0,
			     "case %s: prefix", k->name);
		rule.prio = 2 * (bits - len) + 1;
		rule.value = KEEP_VALUE(load, rs->n);
		cr_assert_eq(wcard_ruleset_add(rs, &rule), 0, "case %s: set", k->name);
	}
}

/* The shadow after a bulk load of rs. */
static void keep_load(struct keep *k, const struct wcard_ruleset *rs)
{
	size_t i;

	k->n = 0;
	for (i = 0; i < rs->n; i++)
		keep_add(k, &rs->rules[i], (__u32)i);
}

/* The rule an insert adds: best-ranked, a full-length prefix of a probe (prefix sets). */
static void keep_new_rule(const struct keep *k, const struct keep_case *kc, struct wcard_rule *out)
{
	unsigned int f = kc->kind == KS_DST;

	if (kc->kind == KS_CB) {
		*out = k->r[k->n / 2].r;
	} else {
		wcard_rule_any(k->l, out);
		wcard_rule_set_prefix(k->l, out, f, keep_addr(k, k->nprobe / 3, f),
				      kc->v6 ? 128 : 32);
	}
	out->prio = 0;
	out->value = KEEP_VALUE(9, 1);
}

/* Run frame through program prog; its verdict (wcard_xdp_run_frame). */
static void keep_run(int prog, const __u8 *frame, int len, struct wc_xdp_meta *m, const char *name)
{
	int ret = wcard_xdp_run_frame(prog, frame, len, m, NULL, NULL);

	cr_assert_eq(ret, 0, "case %s: test run: %s", name, strerror(-ret));
}

/* Every probe through prog: the reference's rule (id and value) over the live shadow. */
static void keep_check(struct keep *k, int prog, const char *step)
{
	struct wcard_ruleset rs;
	__u32 *id_of = calloc(k->n ? k->n : 1, sizeof(*id_of));
	size_t i;

	cr_assert_not_null(id_of, "case %s: calloc", k->name);
	wcard_ruleset_init(&rs, k->l);
	for (i = 0; i < k->n; i++) {
		if (!k->r[i].live)
			continue;
		id_of[rs.n] = k->r[i].id;
		cr_assert_eq(wcard_ruleset_add(&rs, &k->r[i].r), 0, "case %s: ref", k->name);
	}
	for (i = 0; i < k->nprobe; i++) {
		long want = tk_ref_lookup(&rs, &k->key[i]);
		struct wc_xdp_meta m;

		keep_run(prog, k->frame[i], k->flen[i], &m, k->name);
		cr_assert_eq(m.id, want < 0 ? WC_ID_NONE : id_of[want],
			     "case %s, %s: probe %zu: id %u, want %d", k->name, step, i, m.id,
			     want < 0 ? -1 : (int)id_of[want]);
		cr_assert_eq(m.value, want < 0 ? 0 : rs.rules[want].value,
			     "case %s, %s: probe %zu: value %#llx", k->name, step, i,
			     (unsigned long long)m.value);
	}
	wcard_ruleset_free(&rs);
	free(id_of);
}

static void keep_init(struct keep *k, const struct keep_case *kc, struct wcard_ruleset *cb,
		      struct wcard_trace *tr)
{
	char err[256] = "";

	memset(k, 0, sizeof(*k));
	k->name = kc->name;
	k->l = kc->v6 ? wcard_layout_ipv6() : wcard_layout_ipv4();
	k->force = kc->force;
	k->want = kc->want;
	memset(tr, 0, sizeof(*tr));
	cr_assert_eq(wt_gen_set(kc->kind == KS_CB ? kc->n : 200, 41, 1500, NULL, cb, tr, err,
				sizeof(err)),
		     0, "case %s: gen: %s", kc->name, err);
	keep_probes(k, kc->v6 ? NULL : tr, 5);
}

static void keep_free(struct keep *k, struct wcard_ruleset *cb, struct wcard_trace *tr)
{
	free(k->r);
	free(k->key);
	free(k->frame);
	free(k->flen);
	wcard_ruleset_free(cb);
	wcard_trace_free(tr);
}

/*
 * The XDP object loaded anew over the pins (as wcard attach does), with
 * wcard_clf_pinned_object: it must answer as the pinned program does (the LPM
 * tries' image layout is not in the maps).
 */
static void keep_check_fresh_object(struct keep *k, const char *dir)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "wcard_xdp");
	char err[512] = "", p[600];
	struct bpf_program *prog;
	struct bpf_object *obj;
	struct bpf_map *m;
	const void *elf;
	size_t sz;
	int fd;

	elf = wcard_xdp_object(&sz);
	obj = bpf_object__open_mem(elf, sz, &oo);
	cr_assert_not_null(obj, "case %s: open the object", k->name);
	bpf_object__for_each_map(m, obj) {
		if (strchr(bpf_map__name(m), '.') || WC_MAP_PER_PROG(bpf_map__name(m)))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, bpf_map__name(m));
		fd = bpf_obj_get(p);
		cr_assert_geq(fd, 0, "case %s: %s: %s", k->name, p, strerror(errno));
		cr_assert_eq(bpf_map__reuse_fd(m, fd), 0, "case %s: reuse %s", k->name, p);
		close(fd);
	}
	cr_assert_eq(wcard_clf_pinned_object(obj, dir, err, sizeof(err)), 0,
		     "case %s: pinned object: %s", k->name, err);
	cr_assert_eq(bpf_object__load(obj), 0, "case %s: load over the pins", k->name);
	prog = bpf_object__find_program_by_name(obj, "wc_xdp_filter");
	cr_assert_not_null(prog, "case %s: program", k->name);
	keep_check(k, bpf_program__fd(prog), "a new object over the pins");
	bpf_object__close(obj);
}

/* The algorithm of the classifier pinned at dir, as a read of it reports it. */
static void keep_algo_lib(struct keep *k, const char *dir, const char *step)
{
	struct wcard_clf *c = NULL;
	struct wcard_stats *st = calloc(1, sizeof(*st));
	char err[512] = "";

	cr_assert_not_null(st, "case %s: calloc", k->name);
	cr_assert_eq(wcard_clf_open_pinned(dir, NULL, &c, err, sizeof(err)), 0,
		     "case %s, %s: open: %s", k->name, step, err);
	cr_assert_eq(wcard_clf_algo(c), k->want, "case %s, %s: algorithm %d, not %d", k->name,
		     step, wcard_clf_algo(c), k->want);
	cr_assert_eq(wcard_clf_stats(c, st), 0, "case %s, %s: stats", k->name, step);
	cr_assert_eq(st->algo, k->want, "case %s, %s: stats algorithm %d", k->name, step, st->algo);
	keep_check(k, wcard_clf_prog_fd(c), step);
	wcard_clf_destroy(c);
	free(st);
}

/* Library: create, pin, then each operation in a fresh open, as each CLI command does. */
static void keep_lib(const struct keep_case *kc)
{
	struct wcard_ruleset cb, rs;
	struct wcard_trace tr;
	struct wcard_clf *c = NULL;
	struct wcard_clf_opts o = { 0 };
	struct wcard_rule nr;
	struct keep k;
	char dir[256], err[512] = "";
	__u32 id, nid;
	int step;

	keep_init(&k, kc, &cb, &tr);
	o.layout = k.l;
	o.algo = kc->force;
	o.max_rules = 4096;
	pin_dir(dir, sizeof(dir), "keep");
	keep_set(&k, kc, &cb, 0, &rs);
	cr_assert_eq(wcard_clf_create(&o, &c, err, sizeof(err)), 0, "case %s: create: %s",
		     kc->name, err);
	cr_assert_eq(wcard_clf_load(c, &rs, err, sizeof(err)), 0, "case %s: load: %s", kc->name,
		     err);
	cr_assert_eq(wcard_clf_algo(c), k.want, "case %s: created on algorithm %d", kc->name,
		     wcard_clf_algo(c));
	cr_assert_eq(wcard_clf_pin(c, dir, err, sizeof(err)), 0, "case %s: pin: %s", kc->name, err);
	wcard_clf_destroy(c);
	keep_load(&k, &rs);
	wcard_ruleset_free(&rs);
	keep_algo_lib(&k, dir, "reopen");
	for (step = 0; step < 6; step++) {
		static const char *const what[] = { "insert", "update value", "update prio",
						    "delete",  "bulk load",    "rules" };

		cr_assert_eq(wcard_clf_open_pinned(dir, NULL, &c, err, sizeof(err)), 0,
			     "case %s, %s: open: %s", kc->name, what[step], err);
		switch (step) {
		case 0:
			keep_new_rule(&k, kc, &nr);
			cr_assert_eq(wcard_clf_insert(c, &nr, &id, err, sizeof(err)), 0,
				     "case %s: insert: %s", kc->name, err);
			keep_add(&k, &nr, id);
			break;
		case 1:
			cr_assert_eq(wcard_clf_update(c, id, 0, KEEP_VALUE(9, 2), &nid, err,
						      sizeof(err)),
				     0, "case %s: update value: %s", kc->name, err);
			cr_assert_eq(nid, id, "case %s: update value keeps the id", kc->name);
			keep_find(&k, id)->r.value = KEEP_VALUE(9, 2);
			break;
		case 2:
			cr_assert_eq(wcard_clf_update(c, id, 1, KEEP_VALUE(9, 2), &nid, err,
						      sizeof(err)),
				     0, "case %s: update prio: %s", kc->name, err);
			nr = keep_find(&k, id)->r;
			keep_find(&k, id)->live = false;
			nr.prio = 1;
			keep_add(&k, &nr, nid);
			break;
		case 3:
			cr_assert_eq(wcard_clf_delete(c, 3, err, sizeof(err)), 0,
				     "case %s: delete: %s", kc->name, err);
			keep_find(&k, 3)->live = false;
			break;
		case 4:
			keep_set(&k, kc, &cb, 1, &rs);
			cr_assert_eq(wcard_clf_load(c, &rs, err, sizeof(err)), 0,
				     "case %s: bulk load: %s", kc->name, err);
			keep_load(&k, &rs);
			wcard_ruleset_free(&rs);
			break;
		default:
			cr_assert_eq(wcard_clf_rules(c, &rs), 0, "case %s: rules", kc->name);
			wcard_ruleset_free(&rs);
			break;
		}
		cr_assert_eq(wcard_clf_algo(c), k.want, "case %s, %s: algorithm %d, not %d",
			     kc->name, what[step], wcard_clf_algo(c), k.want);
		keep_check(&k, wcard_clf_prog_fd(c), what[step]);
		wcard_clf_destroy(c);
		keep_algo_lib(&k, dir, what[step]);
	}
	keep_check_fresh_object(&k, dir);
	cr_assert_eq(wcard_clf_unpin(dir), 0, "case %s: unpin", kc->name);
	keep_free(&k, &cb, &tr);
}

Test(pin, algorithm_kept_library, .timeout = 300, .fini = pin_cleanup)
{
	size_t i;

	for (i = 0; i < sizeof(keep_cases) / sizeof(keep_cases[0]); i++)
		keep_lib(&keep_cases[i]);
}

/* Write the rules of rs to a file in the rule syntax (`rules dump`'s). */
static void keep_write(const struct wcard_ruleset *rs, const char *path, const char *name)
{
	FILE *f = fopen(path, "w");
	char line[1024];
	size_t i;

	cr_assert_not_null(f, "case %s: %s", name, path);
	for (i = 0; i < rs->n; i++) {
		cr_assert_geq(wcard_rule_format(rs->layout, &rs->rules[i], line, sizeof(line)), 0,
			      "case %s: format rule %zu", name, i);
		fprintf(f, "%s\n", line);
	}
	cr_assert_eq(fclose(f), 0, "case %s: write %s", name, path);
}

/* `wcard stats NAME --json` names the algorithm the case must have. */
static void keep_algo_cli(struct keep *k, const char *bin, const char *dir, const char *step)
{
	static const char *const names[] = { "?", "bf", "tm", "static", "lpm" };
	char out[65536], want[64];

	cr_assert_eq(wt_sh(out, sizeof(out), "%s stats k --json --pin-dir %s 2>&1", bin, dir), 0,
		     "case %s, %s: stats: %s", k->name, step, out);
	snprintf(want, sizeof(want), "{\"algo\":\"%s\",", names[k->want]);
	cr_assert(!strncmp(out, want, strlen(want)), "case %s, %s: want %s in '%.200s'", k->name,
		  step, want, out);
}

/* The CLI: wcard create, then every command, each reopening the classifier. */
static void keep_cli(const struct keep_case *kc)
{
	static const char *const algo[] = { "", "bf", "tm", "static", "lpm" };
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	char dir[256], path[512], file[] = "/tmp/wcard-keep-XXXXXX", cmd[2048], out[65536];
	char line[1024];
	struct wcard_ruleset cb, rs;
	struct wcard_trace tr;
	struct wcard_rule nr;
	struct keep k;
	unsigned int id, nid;
	int fd, prog;

	keep_init(&k, kc, &cb, &tr);
	pin_dir(dir, sizeof(dir), "keepcli");
	fd = mkstemp(file);
	cr_assert_geq(fd, 0, "case %s: mkstemp", kc->name);
	close(fd);
#define K(fmt, ...)                                                                     \
	(snprintf(cmd, sizeof(cmd), "%s " fmt " --pin-dir %s 2>&1", bin, ##__VA_ARGS__, dir), \
	 wt_sh(out, sizeof(out), "%s", cmd))
	keep_set(&k, kc, &cb, 0, &rs);
	keep_write(&rs, file, kc->name);
	cr_assert_eq(K("create k %s --max-rules 4096 %s%s %s", file, kc->force ? "--algo " : "",
		       algo[kc->force], kc->v6 ? "--layout ipv6-5tuple" : ""),
		     0, "case %s: create: %s", kc->name, out);
	keep_load(&k, &rs);
	wcard_ruleset_free(&rs);
	snprintf(path, sizeof(path), "%s/k/prog", dir);
	prog = bpf_obj_get(path);
	cr_assert_geq(prog, 0, "case %s: %s", kc->name, path);
	keep_algo_cli(&k, bin, dir, "create");
	keep_check(&k, prog, "create");

	keep_new_rule(&k, kc, &nr);
	cr_assert_geq(wcard_rule_format(k.l, &nr, line, sizeof(line)), 0, "case %s: format",
		      kc->name);
	cr_assert_eq(K("rule add k %s", line), 0, "case %s: rule add: %s", kc->name, out);
	id = (unsigned int)atoi(out);
	keep_add(&k, &nr, id);
	keep_algo_cli(&k, bin, dir, "rule add");
	keep_check(&k, prog, "rule add");

	cr_assert_eq(K("rule update k %u value %#llx", id, (unsigned long long)KEEP_VALUE(9, 2)), 0,
		     "case %s: rule update value: %s", kc->name, out);
	keep_find(&k, id)->r.value = KEEP_VALUE(9, 2);
	keep_algo_cli(&k, bin, dir, "rule update value");
	keep_check(&k, prog, "rule update value");

	cr_assert_eq(K("rule update k %u prio 1", id), 0, "case %s: rule update prio: %s",
		     kc->name, out);
	nid = (unsigned int)atoi(out);
	nr = keep_find(&k, id)->r;
	keep_find(&k, id)->live = false;
	nr.prio = 1;
	keep_add(&k, &nr, nid);
	keep_algo_cli(&k, bin, dir, "rule update prio");
	keep_check(&k, prog, "rule update prio");

	cr_assert_eq(K("rule del k 3"), 0, "case %s: rule del: %s", kc->name, out);
	keep_find(&k, 3)->live = false;
	keep_algo_cli(&k, bin, dir, "rule del");
	keep_check(&k, prog, "rule del");

	cr_assert_eq(K("rules list k"), 0, "case %s: rules list: %s", kc->name, out);
	keep_algo_cli(&k, bin, dir, "rules list");
	keep_check(&k, prog, "rules list");
	cr_assert_eq(K("rules dump k"), 0, "case %s: rules dump: %s", kc->name, out);
	keep_algo_cli(&k, bin, dir, "rules dump");
	keep_check(&k, prog, "rules dump");
	cr_assert_eq(K("stats k"), 0, "case %s: stats: %s", kc->name, out);
	keep_algo_cli(&k, bin, dir, "stats");
	keep_check(&k, prog, "stats");

	keep_set(&k, kc, &cb, 1, &rs);
	keep_write(&rs, file, kc->name);
	cr_assert_eq(K("rules load k %s", file), 0, "case %s: rules load: %s", kc->name, out);
	keep_load(&k, &rs);
	wcard_ruleset_free(&rs);
	keep_algo_cli(&k, bin, dir, "rules load");
	keep_check(&k, prog, "rules load");

	close(prog);
	cr_assert_eq(K("destroy k"), 0, "case %s: destroy: %s", kc->name, out);
#undef K
	unlink(file);
	rmdir(dir);
	keep_free(&k, &cb, &tr);
}

Test(pin, algorithm_kept_cli, .timeout = 600, .fini = pin_cleanup)
{
	size_t i;

	for (i = 0; i < sizeof(keep_cases) / sizeof(keep_cases[0]); i++)
		keep_cli(&keep_cases[i]);
}

/*
 * Kernels before 5.11 charge BPF maps to RLIMIT_MEMLOCK, and raising it takes
 * CAP_SYS_RESOURCE, which the CLI drops: it must raise the limit first, or
 * create fails with EPERM there (the VM suite's 5.10 run; later kernels
 * ignore the limit).
 */
Test(pin, create_under_a_small_memlock_limit)
{
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	char dir[256], cmd[2048], rules[] = "/tmp/wcard-pin-rXXXXXX";
	int fd = mkstemp(rules);

	cr_assert_geq(fd, 0, "mkstemp");
	close(fd);
	pin_dir(dir, sizeof(dir), "memlock");
	write_text(rules, "src 10.0.0.0/8 drop\n");
	snprintf(cmd, sizeof(cmd),
		 "ulimit -l 64 && %s create --pin-dir %s f %s && %s rules --pin-dir %s list f "
		 ">/dev/null",
		 bin, dir, rules, bin, dir);
	cr_assert_eq(system(cmd), 0, "case memlock 64 KiB: %s", cmd);
	snprintf(cmd, sizeof(cmd), "%s destroy --pin-dir %s f && rm -rf %s %s", bin, dir, dir,
		 rules);
	cr_assert_eq(system(cmd), 0, "case memlock: cleanup");
}

/* ---- the writer's state: every change from a new handle, O(tables) --------------- */

/* The live generation of the classifier pinned at dir (wc_root.gen). */
static __u32 pinned_gen(const char *dir)
{
	struct wc_root root;
	char path[400];
	__u32 zero = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/wc_root", dir);
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "wc_root of %s", dir);
	cr_assert_eq(bpf_map_lookup_elem(fd, &zero, &root), 0, "wc_root lookup");
	close(fd);
	return root.gen;
}

/* Live rules by id (rules[id], live[id]), each with its own priority: the reference's set. */
struct idset {
	struct wcard_rule *r;
	bool *live;
	size_t n;
};

/* Frames of keys near the rules of all, both families: the pinned filter against the set. */
static void check_idset(const char *dir, const struct wcard_ruleset *all, const struct idset *s,
			struct wt_rng *r, const char *name, unsigned int op)
{
	const struct wcard_clf_opts ro = { .read_only = true };
	const struct wcard_layout *l = all->layout;
	struct wcard_ruleset live;
	struct wcard_clf *c = NULL;
	char err[256] = "";
	unsigned int k;
	size_t i;

	wcard_ruleset_init(&live, l);
	for (i = 0; i < s->n; i++)
		if (s->live[i])
			cr_assert_eq(wcard_ruleset_add(&live, &s->r[i]), 0, "add");
	cr_assert_eq(wcard_clf_open_pinned(dir, &ro, &c, err, sizeof(err)), 0,
		     "case %s: op %u: read-only open: %s", name, op, err);
	for (k = 0; k < 200; k++) {
		const struct wcard_rule *near = &all->rules[wt_below(r, all->n)];
		unsigned int fam = wt_key_family(r, l, near);
		const struct wcard_layout *fl = wcard_layout_family(l, fam);
		struct wc_key key;
		struct wc_pkt p;
		long want;
		__u32 got;

		wt_key_near(r, fl, near, 64, &key);
		wt_pkt_from_key(fl, &key, &p);
		want = tk_ref_lookup_family(&live, fam, &key);
		got = frame_id(c, &p, name);
		cr_assert_eq(got, want < 0 ? WC_ID_NONE : live.rules[want].id,
			     "case %s: after op %u, key %u: id %d, expected %d", name, op, k, (int)got,
			     want < 0 ? -1 : (int)live.rules[want].id);
	}
	wcard_clf_destroy(c);
	wcard_ruleset_free(&live);
}

/*
 * A dual-stack classifier changed 1000 times (WCARD_STRESS: 10000), each
 * change from a new handle as a CLI command makes it (open, one insert or
 * delete, close): the state
 * pinned with the maps carries everything from one to the next. No change
 * rebuilds a generation (the live one stays the same: nothing read every
 * rule), ids of deleted rules come back, and the pinned filter answers as
 * the reference on the live rules throughout.
 */
Test(pin, churn_across_reopens, .timeout = 600, .fini = pin_cleanup)
{
	const struct wcard_layout *l = wcard_layout_inet();
	struct wcard_clf_opts o = { .layout = l, .algo = WC_ALGO_TM, .max_rules = 4096 };
	const char *name = "churn across reopens";
	struct wt_rng r = { .s = 4242 };
	struct wcard_ruleset all, half;
	struct idset s = {};
	struct wcard_clf *c = NULL;
	const char *stress = getenv("WCARD_STRESS");
	unsigned int i, ops = stress && *stress && strcmp(stress, "0") ? 10000 : 1000;
	char dir[256], err[256] = "";
	__u32 *id_of, gen, maxid = 0;
	bool *in;

	wcard_ruleset_init(&all, l);
	wcard_ruleset_init(&half, l);
	for (i = 0; i < 1500; i++) {
		struct wcard_rule rule;

		wt_rule_random_inet(&r, 40, 300, &rule);
		rule.prio = 10 + i; /* its own: the reference needs no insertion order */
		wcard_ruleset_add(&all, &rule);
	}
	id_of = calloc(all.n, sizeof(*id_of));
	in = calloc(all.n, sizeof(*in));
	s.r = calloc(8192, sizeof(*s.r));
	s.live = calloc(8192, sizeof(*s.live));
	cr_assert(id_of && in && s.r && s.live, "calloc");
	for (i = 0; i < all.n; i += 2) {
		in[i] = true;
		id_of[i] = half.n;
		s.r[half.n] = all.rules[i];
		s.r[half.n].id = half.n;
		s.live[half.n] = true;
		wcard_ruleset_add(&half, &all.rules[i]);
	}
	s.n = half.n;
	pin_dir(dir, sizeof(dir), "reopen");
	cr_assert_eq(wcard_clf_create(&o, &c, err, sizeof(err)), 0, "case %s: create: %s", name,
		     err);
	cr_assert_eq(wcard_clf_load(c, &half, err, sizeof(err)), 0, "case %s: load: %s", name, err);
	cr_assert_eq(wcard_clf_pin(c, dir, err, sizeof(err)), 0, "case %s: pin: %s", name, err);
	wcard_clf_destroy(c);
	gen = pinned_gen(dir);
	for (i = 0; i < ops; i++) {
		__u32 x = (__u32)wt_below(&r, all.n), id;
		int ret;

		c = NULL;
		cr_assert_eq(wcard_clf_open_pinned(dir, NULL, &c, err, sizeof(err)), 0,
			     "case %s: op %u: open: %s", name, i, err);
		if (in[x]) {
			ret = wcard_clf_delete(c, id_of[x], err, sizeof(err));
			cr_assert_eq(ret, 0, "case %s: op %u: delete %u: %s", name, i, id_of[x], err);
			s.live[id_of[x]] = false;
		} else {
			ret = wcard_clf_insert(c, &all.rules[x], &id, err, sizeof(err));
			cr_assert_eq(ret, 0, "case %s: op %u: insert: %s", name, i, err);
			cr_assert(id >= s.n || !s.live[id], "case %s: op %u: id %u is live", name, i,
				  id);
			cr_assert_lt(id, 8192, "case %s: op %u: id %u", name, i, id);
			id_of[x] = id;
			s.r[id] = all.rules[x];
			s.r[id].id = id;
			s.live[id] = true;
			if (id >= s.n)
				s.n = id + 1;
			if (id > maxid)
				maxid = id;
		}
		in[x] = !in[x];
		wcard_clf_destroy(c);
		cr_assert_eq(pinned_gen(dir), gen,
			     "case %s: op %u rebuilt a generation (the state was not used)", name, i);
		if ((i + 1) % 250 == 0)
			check_idset(dir, &all, &s, &r, name, i);
	}
	cr_log_info("pin: %s: %u changes from new handles, no rebuild, ids up to %u\n", name, ops,
		    maxid);
	wcard_ruleset_free(&all);
	wcard_ruleset_free(&half);
	free(id_of);
	free(in);
	free(s.r);
	free(s.live);
}

/*
 * The state is trusted only when it can be: left busy (a writer killed
 * half-way) or missing (a pin of an older wcard), the next writer rebuilds
 * from the rules the maps hold and pins a new one; a reader reads the rules
 * back without writing. The answers never change.
 */
Test(pin, state_busy_or_missing, .timeout = 300, .fini = pin_cleanup)
{
	struct wcard_clf_opts o = { .layout = wcard_layout_ipv4(), .algo = WC_ALGO_TM };
	const struct wcard_clf_opts ro = { .read_only = true };
	struct wcard_ruleset rs, back;
	struct wcard_trace tr = {};
	struct wcard_clf *c = NULL;
	char dir[256], path[400], err[256] = "";
	__u32 *id_of, key = 2, gen;
	__u64 word;
	size_t i;
	int fd, round;

	make_set(800, 77, &rs, &tr);
	id_of = calloc(rs.n, sizeof(*id_of));
	cr_assert_not_null(id_of, "calloc");
	for (i = 0; i < rs.n; i++)
		id_of[i] = i;
	pin_dir(dir, sizeof(dir), "state");
	cr_assert_eq(wcard_clf_create(&o, &c, err, sizeof(err)), 0, "create: %s", err);
	cr_assert_eq(wcard_clf_load(c, &rs, err, sizeof(err)), 0, "load: %s", err);
	cr_assert_eq(wcard_clf_pin(c, dir, err, sizeof(err)), 0, "pin: %s", err);
	wcard_clf_destroy(c);
	snprintf(path, sizeof(path), "%s/wc_state", dir);
	for (round = 0; round < 2; round++) {
		const char *name = round ? "missing state" : "busy state";

		if (round) {
			cr_assert_eq(unlink(path), 0, "case %s: unpin the state", name);
		} else {
			/* struct wst: words 4 and 5 (parts, busy) are ARRAY element 2. */
			fd = bpf_obj_get(path);
			cr_assert_geq(fd, 0, "case %s: state map", name);
			cr_assert_eq(bpf_map_lookup_elem(fd, &key, &word), 0, "case %s: read", name);
			word |= 1ULL << 32;
			cr_assert_eq(bpf_map_update_elem(fd, &key, &word, 0), 0, "case %s: busy", name);
			close(fd);
		}
		gen = pinned_gen(dir);
		/* A reader: the rules read back, nothing written. */
		c = NULL;
		cr_assert_eq(wcard_clf_open_pinned(dir, &ro, &c, err, sizeof(err)), 0,
			     "case %s: read-only open: %s", name, err);
		cr_assert_eq(wcard_clf_rules(c, &back), 0, "case %s: rules", name);
		cr_assert_eq(back.n, rs.n, "case %s: %zu rules read back", name, back.n);
		wcard_ruleset_free(&back);
		check_frames(c, &rs, id_of, &tr, name);
		wcard_clf_destroy(c);
		cr_assert_eq(pinned_gen(dir), gen, "case %s: the reader switched a generation", name);
		cr_assert_eq(access(path, F_OK) == 0, !round, "case %s: the reader pinned a state",
			     name);
		/* A writer: rebuilds (a new generation) and leaves a state the next one trusts. */
		c = NULL;
		cr_assert_eq(wcard_clf_open_pinned(dir, NULL, &c, err, sizeof(err)), 0,
			     "case %s: open: %s", name, err);
		cr_assert_neq(pinned_gen(dir), gen, "case %s: no rebuild from the rules", name);
		check_frames(c, &rs, id_of, &tr, name);
		wcard_clf_destroy(c);
		cr_assert_eq(access(path, F_OK), 0, "case %s: no state pinned again", name);
		gen = pinned_gen(dir);
		c = NULL;
		cr_assert_eq(wcard_clf_open_pinned(dir, NULL, &c, err, sizeof(err)), 0,
			     "case %s: open again: %s", name, err);
		wcard_clf_destroy(c);
		cr_assert_eq(pinned_gen(dir), gen, "case %s: the state made was not trusted", name);
	}
	free(id_of);
	wcard_ruleset_free(&rs);
	wcard_trace_free(&tr);
}
