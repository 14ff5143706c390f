// SPDX-License-Identifier: MIT
/* test_pin.c: pinned classifiers reopened from their maps, in this and in a new process (suite "pin"). */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <dirent.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
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

/* Every key: the XDP filter's answer through frames equals the reference on rs. */
static void check_frames(struct wcard_clf *c, const struct wcard_ruleset *rs,
			 const __u32 *id_of, const struct wcard_trace *tr, const char *name)
{
	size_t i;

	for (i = 0; i < tr->n; i++) {
		struct wc_xdp_meta m;
		struct wc_key k;
		struct wc_pkt p;
		__u8 frame[256];
		long want;
		int len;

		wcard_key_from_tuple(&tr->t[i], &k);
		wcard_pkt_from_tuple(&tr->t[i], &p);
		want = wcard_ref_lookup(rs, &k);
		len = wcard_frame_build(&p, NULL, frame, sizeof(frame));
		cr_assert_eq(wcard_clf_run_frame(c, frame, len, &m, NULL, NULL), 0,
			     "case %s: run frame %zu", name, i);
		cr_assert_eq(m.id, want < 0 ? WC_ID_NONE : id_of[want],
			     "case %s: packet %zu: id %u, expected %ld (id %u)", name, i, m.id, want,
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
			w = wcard_ref_lookup(&rs, &k);
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

		wcard_pkt_from_tuple(&tr.t[0], &p);
		len = wcard_frame_build(&p, NULL, frame, sizeof(frame));
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
	struct wcard_frame_opts fo = {};
	struct wc_pkt p = { .family = 4, .proto = 6, .sport = 40000, .dport = dport };
	__u8 frame[128];
	int len, i;
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = frame, .repeat = 1);

	for (i = 0; i < 4; i++) {
		p.src[i] = src >> (24 - 8 * i);
		p.dst[i] = dst >> (24 - 8 * i);
	}
	len = wcard_frame_build(&p, &fo, frame, sizeof(frame));
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
	const char *b = getenv("WCARD_BUILD") ? getenv("WCARD_BUILD") : "build";
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	char dir[256], cls[300], cmd[2048], rules[] = "/tmp/wcard-pin-rXXXXXX";
	int prog, fd = mkstemp(rules);

	cr_assert_geq(fd, 0, "mkstemp");
	close(fd);
	pin_dir(dir, sizeof(dir), "bpftool");
	cr_assert_eq(mkdir(dir, 0700), 0, "mkdir %s", dir);
	snprintf(cls, sizeof(cls), "%s/f", dir);
	cr_assert_eq(mkdir(cls, 0700), 0, "mkdir %s", cls);
	snprintf(cmd, sizeof(cmd), "bpftool prog load %s/wcard_xdp.bpf.o %s/prog pinmaps %s", b, cls,
		 cls);
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
	cr_assert(strstr(out, "table full: 2 rules"), "case table full: '%s'", out);
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
	struct wcard_frame_opts pppoe = { .pppoe = 5 };
	__u8 arp[60] = { [12] = 0x08, [13] = 0x06 }, lcp[128];
	char dir[256], cmd[2048], out[8192];
	int prog, lcp_len, i;

	lcp_len = wcard_frame_build(&p, &pppoe, lcp, sizeof(lcp));
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
