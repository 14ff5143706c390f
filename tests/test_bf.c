// SPDX-License-Identifier: MIT
/* test_bf.c: BPF lookups (brute force and Tuple Merge) against the userspace reference (suite "bf"). */
#include <stdio.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "wctest.h"
#include "wcard_key.skel.h"
#include "compat/wcard_key.skel.h"
#include "core/skel.h"

/* The lookup test program with its own maps, driven by libwcard. */
struct lk {
	struct wcard_key *skel;
	struct wcard_clf *clf;
};

static void lk_open_algo(struct lk *t, const struct wcard_layout *l, __u32 max_rules,
			 enum wc_algo algo, const char *name)
{
	struct wcard_clf_opts o = { .layout = l, .algo = algo };
	char err[256] = "";
	int ret;

	t->skel = wcard_skel_open(wcard_key);
	cr_assert_not_null(t->skel, "case %s: open lookup test object", name);
	cr_assert_eq(wcard_object_prepare(t->skel->obj, max_rules), 0, "case %s: prepare", name);
	ret = wcard_key__load(t->skel);
	cr_assert_eq(ret, 0, "case %s: load lookup test program: %s", name,
		     wt_load_err(ret, err, sizeof(err)));
	ret = wcard_clf_from_object(t->skel->obj, "wc_key_lookup", &o, &t->clf, err, sizeof(err));
	cr_assert_eq(ret, 0, "case %s: clf from object: %s", name, err);
}

static void lk_open(struct lk *t, const struct wcard_layout *l, __u32 max_rules, const char *name)
{
	lk_open_algo(t, l, max_rules, WC_ALGO_BF, name);
}

static void lk_close(struct lk *t)
{
	wcard_clf_destroy(t->clf);
	wcard_key__destroy(t->skel);
}

static void lk_load(struct lk *t, const struct wcard_ruleset *rs, const char *name)
{
	char err[256] = "";
	int ret = wcard_clf_load(t->clf, rs, err, sizeof(err));

	cr_assert_eq(ret, 0, "case %s: load %zu rules: %d %s", name, rs->n, ret, err);
}

/* Run one key through BPF; returns the matched rule id or -1. */
static long lk_lookup(struct lk *t, const struct wc_key *k, __u64 *value, const char *name)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = k, .data_size_in = sizeof(*k), .repeat = 1);
	int ret = bpf_prog_test_run_opts(bpf_program__fd(t->skel->progs.wc_key_lookup), &opts);

	cr_assert_eq(ret, 0, "case %s: test run: %d", name, ret);
	cr_assert_eq(opts.retval, XDP_PASS, "case %s: retval %u", name, opts.retval);
	cr_assert_geq(t->skel->bss->wc_test_ret, 0, "case %s: lookup error %d", name,
		      t->skel->bss->wc_test_ret);
	if (value)
		*value = t->skel->bss->wc_test_res.value;
	return t->skel->bss->wc_test_res.id == WC_ID_NONE ? -1 : (long)t->skel->bss->wc_test_res.id;
}

/* Differential run: nrules random rules, nkeys keys near them, BPF vs reference. */
static void diff_random_algo(const struct wcard_layout *l, unsigned int nrules, unsigned int nkeys,
			     __u64 seed, enum wc_algo algo, const char *name)
{
	struct wt_rng r = { .s = seed };
	struct wcard_ruleset rs;
	struct lk t;
	unsigned int i, pool = nrules / 4 + 2, hits = 0;

	wcard_ruleset_init(&rs, l);
	for (i = 0; i < nrules; i++) {
		struct wcard_rule rule;

		wt_rule_random(&r, l, pool, nrules / 8 + 2, &rule);
		rule.id = i;
		cr_assert_eq(wcard_ruleset_add(&rs, &rule), 0, "case %s: add", name);
	}
	lk_open_algo(&t, l, WC_DEFAULT_MAX_RULES, algo, name);
	lk_load(&t, &rs, name);
	cr_assert_eq(wcard_clf_algo(t.clf), algo, "case %s: algorithm %d", name,
		     wcard_clf_algo(t.clf));
	for (i = 0; i < nkeys; i++) {
		struct wc_key k;
		long want, got;
		__u64 v;

		wt_key_near(&r, l, &rs.rules[wt_below(&r, nrules)], pool, &k);
		want = tk_ref_lookup(&rs, &k);
		got = lk_lookup(&t, &k, &v, name);
		cr_assert_eq(got, want, "case %s: key %u: BPF rule %ld, reference %ld", name, i, got,
			     want);
		if (want >= 0)
			cr_assert_eq(v, rs.rules[want].value, "case %s: key %u: value", name, i);
		hits += want >= 0;
	}
	/* A differential test where nothing matches proves little. */
	cr_assert_gt(hits, nkeys / 10, "case %s: only %u of %u keys matched", name, hits, nkeys);
	lk_close(&t);
	wcard_ruleset_free(&rs);
}

/* Both algorithms on the same rules and keys. */
static void diff_random(const struct wcard_layout *l, unsigned int nrules, unsigned int nkeys,
			__u64 seed, const char *name)
{
	char n[128];

	snprintf(n, sizeof(n), "%s (bf)", name);
	diff_random_algo(l, nrules, nkeys, seed, WC_ALGO_BF, n);
	snprintf(n, sizeof(n), "%s (tm)", name);
	diff_random_algo(l, nrules, nkeys, seed, WC_ALGO_TM, n);
}

Test(bf, random_ipv4)
{
	diff_random(wcard_layout_ipv4(), 1, 200, 1, "ipv4 1 rule");
	diff_random(wcard_layout_ipv4(), 10, 1000, 2, "ipv4 10 rules");
	diff_random(wcard_layout_ipv4(), 300, 3000, 3, "ipv4 300 rules");
	diff_random(wcard_layout_ipv4(), 3000, 3000, 4, "ipv4 3000 rules");
}

Test(bf, random_ipv6)
{
	diff_random(wcard_layout_ipv6(), 10, 1000, 5, "ipv6 10 rules");
	diff_random(wcard_layout_ipv6(), 500, 3000, 6, "ipv6 500 rules");
}

Test(bf, custom_layouts)
{
	static const struct wcard_field rfc[] = {
		{ WC_FIELD_EXACT, 4, "secid" },
		{ WC_FIELD_RANGE, 2, "port" },
	};
	static const struct wcard_field wide[] = {
		{ WC_FIELD_MASK, 8, "m8" },   { WC_FIELD_PREFIX, 16, "p16" },
		{ WC_FIELD_RANGE, 8, "r8" },  { WC_FIELD_EXACT, 2, "e2" },
		{ WC_FIELD_PREFIX, 1, "p1" }, { WC_FIELD_RANGE, 1, "r1" },
		{ WC_FIELD_MASK, 4, "m4" },
	};
	struct wcard_layout l;
	char err[256];

	cr_assert_eq(wcard_layout_init(&l, "secid-port", rfc, 2, err, sizeof(err)), 0,
		     "case rfc layout: %s", err);
	diff_random(&l, 200, 2000, 7, "rfc secid/port");
	cr_assert_eq(wcard_layout_init(&l, "wide", wide, 7, err, sizeof(err)), 0,
		     "case wide layout: %s", err);
	cr_assert_eq(l.nwords, 8, "case wide layout: %u words", l.nwords);
	diff_random(&l, 300, 2000, 8, "wide 8-word layout");
}

Test(bf, layout_limits)
{
	static const struct wcard_field too_wide[] = {
		{ WC_FIELD_PREFIX, 16, "a" }, { WC_FIELD_PREFIX, 16, "b" },
		{ WC_FIELD_PREFIX, 16, "c" }, { WC_FIELD_PREFIX, 16, "d" },
		{ WC_FIELD_EXACT, 1, "e" },
	};
	static const struct wcard_field bad_range[] = { { WC_FIELD_RANGE, 16, "r" } };
	static const struct wcard_field bad_width[] = { { WC_FIELD_EXACT, 3, "x" } };
	struct wcard_layout l;
	char err[256] = "";

	cr_assert_eq(wcard_layout_init(&l, "too-wide", too_wide, 5, err, sizeof(err)), -EINVAL,
		     "case too wide: accepted");
	cr_assert(strstr(err, "wider than"), "case too wide: message '%s'", err);
	cr_assert_eq(wcard_layout_init(&l, "bad-range", bad_range, 1, err, sizeof(err)), -EINVAL,
		     "case 16-byte range: accepted");
	cr_assert_eq(wcard_layout_init(&l, "bad-width", bad_width, 1, err, sizeof(err)), -EINVAL,
		     "case width 3: accepted");
}

/* Priority ties go to the rule added first; lower prio wins whatever the order. */
Test(bf, priority_and_ties)
{
	const struct wcard_layout *l = wcard_layout_ipv4();
	struct wcard_ruleset rs;
	struct wcard_rule a, b, c;
	struct wc_key k = { .w = { 0x0a000001, 0xc0a80101, 1234, 80, 6, 0 } };
	struct lk t;

	wcard_ruleset_init(&rs, l);
	wcard_rule_any(l, &a);
	a.prio = 5, a.id = 0, a.value = 100;
	b = a;
	b.id = 1, b.value = 101; /* same prio, added later: loses */
	c = a;
	c.prio = 4, c.id = 2, c.value = 102;
	wcard_rule_set_prefix(l, &c, WC_F_SRC, 0x0a000000, 8);
	wcard_ruleset_add(&rs, &a);
	wcard_ruleset_add(&rs, &b);
	lk_open(&t, l, 16, "ties");
	lk_load(&t, &rs, "ties");
	cr_assert_eq(lk_lookup(&t, &k, NULL, "ties"), 0, "case ties: first added must win");
	wcard_ruleset_add(&rs, &c);
	lk_load(&t, &rs, "ties+better");
	cr_assert_eq(lk_lookup(&t, &k, NULL, "ties+better"), 2, "case ties+better: prio 4 wins");
	k.w[0] = 0x0b000001;
	cr_assert_eq(lk_lookup(&t, &k, NULL, "ties+better"), 0, "case outside /8: back to rule 0");
	lk_close(&t);
	wcard_ruleset_free(&rs);
}

/* The configured maximum (64K) works, worst case last rule; one more is refused whole. */
Test(bf, max_rules, .timeout = 120)
{
	const struct wcard_layout *l = wcard_layout_ipv4();
	const __u32 max = WC_DEFAULT_MAX_RULES;
	struct wc_key k = { .w = { 0x01020304, 0x05060708, 1, 2, 17, 0 } };
	struct wcard_ruleset rs;
	struct wcard_rule rule;
	char err[256] = "";
	struct lk t;
	__u32 i;

	wcard_ruleset_init(&rs, l);
	for (i = 0; i < max; i++) {
		wcard_rule_any(l, &rule);
		/* Every rule but the last wants a destination the key does not have. */
		wcard_rule_set_prefix(l, &rule, WC_F_DST, i == max - 1 ? 0x05060708 : 0x09000000 + i,
				      32);
		rule.prio = i;
		rule.id = i;
		cr_assert_eq(wcard_ruleset_add(&rs, &rule), 0, "case max: add");
	}
	lk_open(&t, l, max, "max");
	lk_load(&t, &rs, "max");
	cr_assert_eq(lk_lookup(&t, &k, NULL, "max"), (long)max - 1, "case max: last rule");
	cr_log_info("bf: %u rules, verified_insns %u for the lookup test program\n", max,
		    wcard_clf_verified_insns(t.clf));
	/*
	 * Measured on Linux 6.18 (brute force and Tuple Merge): 19,469 for the
	 * iterator build, 59,882 for the compat one, whose plain loops are
	 * walked step by step. Each is verified once, not per rule. The budget
	 * catches a state explosion.
	 */
	cr_assert_leq(wcard_clf_verified_insns(t.clf),
		      wcard_bpf_build() == WCARD_BPF_COMPAT ? 100000 : 40000,
		      "case max: verifier budget (%s build)", wcard_bpf_build_name(wcard_bpf_build()));

	wcard_ruleset_add(&rs, &rule);
	cr_assert_eq(wcard_clf_load(t.clf, &rs, err, sizeof(err)), -E2BIG,
		     "case max+1: must be refused");
	cr_assert(strstr(err, "exceed"), "case max+1: message '%s'", err);
	cr_assert_eq(lk_lookup(&t, &k, NULL, "max+1"), (long)max - 1,
		     "case max+1: the old set must still answer");
	lk_close(&t);
	wcard_ruleset_free(&rs);
}

/* Malformed rules built by hand are refused whole by a load and by an insert. */
Test(bf, malformed_rules_refused)
{
	const struct wcard_layout *l = wcard_layout_ipv4();
	struct wc_key k = { .w = { 0x0a000001, 0x0b000001, 1, 80, 6, 0 } };
	struct wcard_ruleset rs;
	struct wcard_rule good, bad;
	char err[256] = "";
	struct lk t;
	__u32 id;

	wcard_ruleset_init(&rs, l);
	wcard_rule_any(l, &good);
	good.prio = 3;
	wcard_ruleset_add(&rs, &good);
	lk_open_algo(&t, l, 64, WC_ALGO_TM, "malformed");
	lk_load(&t, &rs, "malformed");
	bad = good;
	bad.f[WC_F_SRC].value = 0x0a000001; /* host bits beyond a /0 prefix */
	cr_assert_eq(wcard_clf_insert(t.clf, &bad, &id, err, sizeof(err)), -EINVAL,
		     "case insert prefix bits: accepted");
	cr_assert(strstr(err, "field src: value has bits outside the prefix"),
		  "case insert prefix bits: '%s'", err);
	bad = good;
	bad.f[WC_F_DPORT].lo = 90, bad.f[WC_F_DPORT].hi = 80;
	wcard_ruleset_add(&rs, &bad);
	cr_assert_eq(wcard_clf_load(t.clf, &rs, err, sizeof(err)), -EINVAL,
		     "case load lo > hi: accepted");
	cr_assert(strstr(err, "field dport: range lo > hi"), "case load lo > hi: '%s'", err);
	cr_assert_eq(lk_lookup(&t, &k, NULL, "malformed"), 0, "case malformed: old set answers");
	lk_close(&t);
	wcard_ruleset_free(&rs);
}

/*
 * Brute force deletes by rebuilding the whole set. When the rebuild fails,
 * nothing was switched: the handle must still hold the rule (listed, live,
 * deletable), as the maps do. The rebuild is made to fail by breaking grace
 * periods (the grace-period map's fd points at /dev/null): a change whose
 * switch is done reports success and owes its wait (sync_pending); the next
 * rebuild must take that wait first, and fails.
 */
Test(bf, failed_delete_keeps_the_rule)
{
	const struct wcard_layout *l = wcard_layout_ipv4();
	const char *name = "failed delete";
	struct wc_key ka = { .w = { 0x0a010001 } }, kb = { .w = { 0x0ac80001 } },
		      kc = { .w = { 0x0b000001 } };
	struct wcard_ruleset rs, now;
	struct wcard_rule r;
	char err[256] = "";
	int gp, saved, null, ret;
	__u32 id_d;
	struct lk t;

	/* 0: 10.1/16 (a), 1: 10/8 (b), 2: everything (c). */
	wcard_ruleset_init(&rs, l);
	wcard_rule_any(l, &r);
	wcard_rule_set_prefix(l, &r, WC_F_SRC, 0x0a010000, 16);
	r.prio = 1, r.value = 100;
	wcard_ruleset_add(&rs, &r);
	wcard_rule_set_prefix(l, &r, WC_F_SRC, 0x0a000000, 8);
	r.prio = 2, r.value = 200;
	wcard_ruleset_add(&rs, &r);
	wcard_rule_any(l, &r);
	r.prio = 9, r.value = 300;
	wcard_ruleset_add(&rs, &r);
	lk_open(&t, l, 16, name);
	lk_load(&t, &rs, name);
	cr_assert_eq(wcard_clf_algo(t.clf), WC_ALGO_BF, "case %s: algorithm %d", name,
		     wcard_clf_algo(t.clf));
	cr_assert_eq(lk_lookup(&t, &kb, NULL, name), 1, "case %s: 10.200.0.1 before", name);

	/* libwcard takes grace periods with an ARRAY_OF_MAPS update. */
	wt_maps_named("wc_gp", BPF_MAP_TYPE_ARRAY_OF_MAPS, &gp);
	cr_assert_geq(gp, 0, "case %s: no grace-period map among the fds", name);
	saved = dup(gp);
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cr_assert(saved >= 0 && null >= 0 && dup2(null, gp) == gp, "case %s: break grace periods",
		  name);

	/* The switch of this insert happens; its wait fails and is owed. */
	r.prio = 0, r.value = 400;
	wcard_rule_set_prefix(l, &r, WC_F_DST, 0x0c000000, 8);
	ret = wcard_clf_insert(t.clf, &r, &id_d, err, sizeof(err));
	cr_assert_eq(ret, 0, "case %s: insert without grace periods: %d %s", name, ret, err);
	/* The delete's rebuild waits for the owed grace period first: it fails. */
	*err = 0;
	ret = wcard_clf_delete(t.clf, 1, err, sizeof(err));
	cr_assert_lt(ret, 0, "case %s: the delete succeeded without a grace period", name);
	cr_assert_neq(ret, -ENOENT, "case %s: delete: %s", name, err);
	cr_log_info("bf: %s: the rebuild failed as arranged: %s\n", name, err);

	/* Nothing was switched: the rule is still in the maps and in the handle. */
	cr_assert_eq(lk_lookup(&t, &kb, NULL, name), 1,
		     "case %s: after the failed delete, BPF no longer matches rule 1", name);
	cr_assert_eq(wcard_clf_rules(t.clf, &now), 0, "case %s: rules", name);
	cr_assert_eq(now.n, 4, "case %s: %zu rules listed after the failed delete, not 4", name,
		     now.n);
	cr_assert_eq(now.rules[2].id, 1, "case %s: rule 1 is not listed third (id %u)", name,
		     now.rules[2].id);
	wcard_ruleset_free(&now);
	ret = wcard_clf_delete(t.clf, 1, err, sizeof(err));
	cr_assert_neq(ret, -ENOENT, "case %s: delete again: the handle forgot rule 1: %s", name,
		      err);

	/* Grace periods back: the delete goes through, and only rule 1 goes. */
	cr_assert_eq(dup2(saved, gp), gp, "case %s: restore grace periods", name);
	close(saved);
	close(null);
	ret = wcard_clf_delete(t.clf, 1, err, sizeof(err));
	cr_assert_eq(ret, 0, "case %s: delete after the failure: %d %s", name, ret, err);
	cr_assert_eq(lk_lookup(&t, &kb, NULL, name), 2, "case %s: 10.200.0.1 after the delete",
		     name);
	cr_assert_eq(lk_lookup(&t, &ka, NULL, name), 0, "case %s: 10.1.0.1 after the delete",
		     name);
	kc.w[1] = 0x0c000001;
	cr_assert_eq(lk_lookup(&t, &kc, NULL, name), (long)id_d, "case %s: the insert's rule",
		     name);
	cr_assert_eq(wcard_clf_rules(t.clf, &now), 0, "case %s: rules", name);
	cr_assert_eq(now.n, 3, "case %s: %zu rules listed at the end, not 3", name, now.n);
	wcard_ruleset_free(&now);
	cr_assert_eq(wcard_clf_delete(t.clf, 1, err, sizeof(err)), -ENOENT,
		     "case %s: rule 1 deleted twice", name);
	lk_close(&t);
	wcard_ruleset_free(&rs);
}

/* The XDP filter's answer for an IPv4 packet from src to dst: the rule id, or -1. */
static long frame_lookup(struct wcard_clf *c, __u32 src, __u32 dst, const char *name)
{
	struct wcard_tuple tu = { .src = src, .dst = dst, .sport = 1, .dport = 80, .proto = 6 };
	struct wc_xdp_meta m;
	struct wc_pkt p;
	__u8 frame[256];
	int len;

	tk_pkt_from_tuple(&tu, &p);
	len = tk_frame_build(&p, NULL, frame, sizeof(frame));
	cr_assert_gt(len, 0, "case %s: frame", name);
	cr_assert_eq(wcard_clf_run_frame(c, frame, len, &m, NULL, NULL), 0, "case %s: run frame",
		     name);
	return m.id == WC_ID_NONE ? -1 : (long)m.id;
}

/*
 * Once a rebuild has switched generations it reports success, whatever fails
 * after (here: zeroing the hit counters of deleted ids, with the counter map's
 * fd pointing at /dev/null; the ids just wait for the next grace period).
 * Callers undo their change on an error, which would leave the handle without
 * a rule the maps hold.
 */
Test(bf, rebuild_succeeds_once_switched)
{
	const struct wcard_layout *l = wcard_layout_ipv4();
	struct wcard_clf_opts o = { .layout = l, .algo = WC_ALGO_BF, .max_rules = 16 };
	const char *name = "switched";
	struct wcard_ruleset rs, now;
	struct wcard_clf *c = NULL;
	struct wcard_rule r;
	char err[256] = "";
	int hits, saved, null, ret;
	__u32 id;

	wcard_ruleset_init(&rs, l);
	wcard_rule_any(l, &r);
	wcard_rule_set_prefix(l, &r, WC_F_SRC, 0x0a000000, 8);
	r.prio = 1;
	wcard_ruleset_add(&rs, &r);
	wcard_rule_any(l, &r);
	r.prio = 9;
	wcard_ruleset_add(&rs, &r);
	ret = wcard_clf_create(&o, &c, err, sizeof(err));
	cr_assert_eq(ret, 0, "case %s: create: %s", name, err);
	cr_assert_eq(wcard_clf_load(c, &rs, err, sizeof(err)), 0, "case %s: load: %s", name, err);
	/* Rule 0's id now waits for a grace period, with counters to zero then. */
	cr_assert_eq(wcard_clf_delete(c, 0, err, sizeof(err)), 0, "case %s: delete: %s", name, err);
	cr_assert_eq(frame_lookup(c, 0x0a010001, 0x0c000001, name), 1, "case %s: after delete",
		     name);

	wt_maps_named("wc_hits", BPF_MAP_TYPE_PERCPU_ARRAY, &hits);
	cr_assert_geq(hits, 0, "case %s: no counter map among the fds", name);
	saved = dup(hits);
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cr_assert(saved >= 0 && null >= 0 && dup2(null, hits) == hits,
		  "case %s: break the counter map", name);
	wcard_rule_any(l, &r);
	wcard_rule_set_prefix(l, &r, WC_F_SRC, 0x0a010000, 16);
	r.prio = 0;
	ret = wcard_clf_insert(c, &r, &id, err, sizeof(err));
	cr_assert_eq(ret, 0, "case %s: insert: %d %s", name, ret, err);
	cr_assert_eq(dup2(saved, hits), hits, "case %s: restore the counter map", name);
	close(saved);
	close(null);

	/* Handle and maps agree on the insert, and the handle goes on working. */
	cr_assert_eq(frame_lookup(c, 0x0a010001, 0x0c000001, name), (long)id,
		     "case %s: BPF does not match the inserted rule", name);
	cr_assert_eq(wcard_clf_rules(c, &now), 0, "case %s: rules", name);
	cr_assert_eq(now.n, 2, "case %s: %zu rules listed, not 2", name, now.n);
	cr_assert_eq(now.rules[0].id, id, "case %s: the inserted rule is not listed first", name);
	wcard_ruleset_free(&now);
	cr_assert_eq(wcard_clf_delete(c, id, err, sizeof(err)), 0, "case %s: delete it: %s", name,
		     err);
	cr_assert_eq(frame_lookup(c, 0x0a010001, 0x0c000001, name), 1,
		     "case %s: after deleting the inserted rule", name);
	wcard_clf_destroy(c);
	wcard_ruleset_free(&rs);
}
