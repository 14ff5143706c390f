// SPDX-License-Identifier: MIT
/* test_xdp.c: the XDP filter end to end on real frames: classify, actions, counters (suite "xdp"). */
#include <stdio.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <sys/utsname.h>
#include <linux/bpf.h>
#include "wctest.h"
#include "wcard_xdp.skel.h"
#include "compat/wcard_xdp.skel.h"
#include "core/core.h"
#include "core/skel.h"

static struct wcard_clf *clf_new(const struct wcard_layout *l, __u32 def, const char *name)
{
	struct wcard_clf_opts o = { .layout = l, .default_action = def };
	struct wcard_clf *c = NULL;
	char err[256] = "";
	int ret = wcard_clf_create(&o, &c, err, sizeof(err));

	cr_assert_eq(ret, 0, "case %s: create: %s", name, err);
	return c;
}

static void clf_load(struct wcard_clf *c, const struct wcard_ruleset *rs, const char *name)
{
	char err[256] = "";
	int ret = wcard_clf_load(c, rs, err, sizeof(err));

	cr_assert_eq(ret, 0, "case %s: load: %s", name, err);
}

/* Run a frame; returns the rule id in the metadata or -1, and the XDP action. */
static long run(struct wcard_clf *c, const struct wc_pkt *p, const struct tk_frame_opts *fo,
		__u32 *act, const char *name)
{
	__u8 frame[512];
	struct wc_xdp_meta m;
	int len = tk_frame_build(p, fo, frame, sizeof(frame)), ret;

	cr_assert_gt(len, 0, "case %s: frame build %d", name, len);
	ret = wcard_clf_run_frame(c, frame, len, &m, act, NULL);
	cr_assert_eq(ret, 0, "case %s: run frame: %d", name, ret);
	cr_assert_eq(m.parse, WC_PARSE_OK, "case %s: parse status %u", name, m.parse);
	return m.id == WC_ID_NONE ? -1 : (long)m.id;
}

/* How a test gets the filter's verdict: as the library sets it up, or forced one way. */
enum verdict_way {
	VERDICT_LIBRARY, /* wcard_clf_create: metadata where the kernel allows it */
	VERDICT_META, /* metadata only (wc_export_meta) */
	VERDICT_MAP, /* the per-CPU verdict map only (wc_keep_verdict): where metadata is refused */
};

/*
 * A classifier on the XDP filter whose verdict knobs are forced to way, over
 * the object's own skeleton (*skel: the caller destroys it after c).
 */
static struct wcard_clf *clf_forced(const struct wcard_layout *l, enum verdict_way way,
				    struct wcard_xdp **skel, const char *name)
{
	struct wcard_clf_opts o = { .layout = l, .default_action = WC_ACT_PASS };
	struct wcard_clf *c = NULL;
	char err[256] = "";
	int ret;

	*skel = wcard_skel_open(wcard_xdp);
	cr_assert_not_null(*skel, "case %s: open the XDP object", name);
	cr_assert_eq(wcard_object_prepare_layout((*skel)->obj, l, WC_DEFAULT_MAX_RULES), 0,
		     "case %s: prepare", name);
	(*skel)->rodata->wc_export_meta = way == VERDICT_META;
	(*skel)->rodata->wc_keep_verdict = way == VERDICT_MAP;
	ret = wcard_xdp__load(*skel);
	cr_assert_eq(ret, 0, "case %s: load: %s", name, wt_load_err(ret, err, sizeof(err)));
	ret = wcard_clf_from_object((*skel)->obj, "wc_xdp_filter", &o, &c, err, sizeof(err));
	cr_assert_eq(ret, 0, "case %s: clf from object: %s", name, err);
	return c;
}

/*
 * The XDP action of a frame that matched rule value v (want: a rule matched),
 * as the README defines it: drop, pass or redirect (a test run returns
 * XDP_REDIRECT whatever the ifindex), anything else passes; no match passes
 * (the default action here).
 */
static __u32 want_action(bool want, __u64 v)
{
	__u32 a = want ? WC_VALUE_ACTION(v) : WC_ACT_PASS;

	return a == WC_ACT_DROP || a == WC_ACT_REDIRECT ? a : WC_ACT_PASS;
}

static void diff_frames_way(const struct wcard_layout *l, unsigned int nrules, unsigned int nkeys,
			    __u64 seed, enum verdict_way way, const char *name)
{
	struct wcard_xdp *skel = NULL;
	static const __u8 protos[] = { 6, 17, 132, 1, 58, 47 };
	struct wt_rng r = { .s = seed };
	struct wcard_ruleset rs;
	struct wcard_clf *c;
	unsigned int i, pool = nrules / 4 + 2;

	wcard_ruleset_init(&rs, l);
	for (i = 0; i < nrules; i++) {
		struct wcard_rule rule;

		if (l->id == WC_LAYOUT_INET)
			wt_rule_random_inet(&r, pool, nrules, &rule);
		else
			wt_rule_random(&r, l, pool, nrules, &rule);
		rule.id = i;
		wcard_ruleset_add(&rs, &rule);
	}
	c = way == VERDICT_LIBRARY ? clf_new(l, WC_ACT_PASS, name) :
				     clf_forced(l, way, &skel, name);
	clf_load(c, &rs, name);
	for (i = 0; i < nkeys; i++) {
		const struct wcard_rule *t = &rs.rules[wt_below(&r, nrules)];
		unsigned int fam = wt_key_family(&r, l, t);
		const struct wcard_layout *kl = wcard_layout_family(l, fam);
		struct tk_frame_opts fo = {};
		struct wc_key k;
		struct wc_pkt p;
		long want, got;
		__u32 act;

		wt_key_near(&r, kl, t, pool, &k);
		if (wt_below(&r, 3) == 0)
			k.w[fam == 6 ? 6 : 4] = protos[wt_below(&r, sizeof(protos))];
		wt_pkt_from_key(kl, &k, &p);
		/* Encapsulation must not change the verdict. */
		fo.nvlan = wt_below(&r, 3);
		fo.vlan[0] = 100, fo.vlan[1] = 200;
		if (p.family == 4)
			fo.ip_opts = 4 * wt_below(&r, 3);
		else if (wt_below(&r, 2))
			fo.nipv6_ext = 2, fo.ipv6_ext[0] = 0, fo.ipv6_ext[1] = 60;
		/* PPPoE or MPLS after the tags; IPv4 AH before L4. */
		switch (wt_below(&r, 4)) {
		case 0:
			fo.pppoe = 1 + wt_below(&r, 0xfffe);
			break;
		case 1:
			fo.nmpls = 1 + wt_below(&r, WC_MAX_MPLS);
			break;
		}
		if (p.family == 4 && p.frag != WC_FRAG_LATER && wt_below(&r, 3) == 0)
			fo.ipv4_ah = 12 + 4 * wt_below(&r, 4);
		want = tk_ref_lookup_family(&rs, fam, &k);
		got = run(c, &p, &fo, &act, name);
		cr_assert_eq(got, want, "case %s: packet %u: BPF rule %ld, reference %ld", name, i,
			     got, want);
		cr_assert_eq(act, want_action(want >= 0, want >= 0 ? rs.rules[want].value : 0),
			     "case %s: packet %u: action %u", name, i, act);
	}
	wcard_clf_destroy(c);
	wcard_xdp__destroy(skel);
	wcard_ruleset_free(&rs);
}

static void diff_frames(const struct wcard_layout *l, unsigned int nrules, unsigned int nkeys,
			__u64 seed, const char *name)
{
	diff_frames_way(l, nrules, nkeys, seed, VERDICT_LIBRARY, name);
}

/*
 * Each way the verdict leaves the filter gives the reference's answer: the
 * per-CPU verdict map (the way on kernels that refuse bpf_xdp_adjust_meta to
 * XDP programs, and on test runs before 5.15), and the metadata where this
 * kernel lets the filter write it.
 */
/*
 * The probe libwcard decides by (core_xdp_meta_ok) against the real thing: the
 * filter with metadata forced on loads exactly where the probe says yes.
 */
Test(xdp, meta_probe_agrees_with_the_filter)
{
	struct wcard_xdp *skel = wcard_skel_open(wcard_xdp);
	bool ok = core_xdp_meta_ok();
	char err[256];
	int ret;

	cr_assert_not_null(skel, "case meta probe: open the XDP object");
	cr_assert_eq(wcard_object_prepare(skel->obj, 1024), 0, "case meta probe: prepare");
	skel->rodata->wc_export_meta = true;
	skel->rodata->wc_keep_verdict = false;
	ret = wcard_xdp__load(skel);
	cr_assert_eq(ret == 0, ok, "case meta probe: probe says %d, the filter loads: %d (%s)", ok,
		     ret, ret ? wt_load_err(ret, err, sizeof(err)) : "ok");
	wcard_xdp__destroy(skel);
}

Test(xdp, verdict_ways)
{
	struct utsname u;
	int major = 0, minor = 0;

	diff_frames_way(wcard_layout_inet(), 200, 1500, 14, VERDICT_MAP, "verdict map");
	cr_assert_eq(uname(&u), 0, "case verdict ways: uname");
	sscanf(u.release, "%d.%d", &major, &minor);
	if (!core_xdp_meta_ok())
		cr_log_info("xdp verdict_ways: this kernel refuses bpf_xdp_adjust_meta to XDP "
			    "programs: the metadata way is not tried");
	else if (major * 1000 + minor < 5015)
		cr_log_info("xdp verdict_ways: test runs return no metadata before Linux 5.15: "
			    "the metadata way is not tried");
	else
		diff_frames_way(wcard_layout_inet(), 200, 1500, 15, VERDICT_META, "metadata");
}

Test(xdp, random_ipv4_frames)
{
	diff_frames(wcard_layout_ipv4(), 200, 2000, 11, "ipv4 frames");
}

Test(xdp, random_ipv6_frames)
{
	diff_frames(wcard_layout_ipv6(), 200, 2000, 12, "ipv6 frames");
}

/*
 * One dual-stack classifier: IPv4, IPv6 and rules of both families mixed,
 * priorities crossing the families; frames of both families, with VLAN tags,
 * IPv6 extension headers, PPPoE or MPLS.
 */
Test(xdp, random_dual_stack_frames)
{
	diff_frames(wcard_layout_inet(), 300, 3000, 13, "dual-stack frames");
}

/* Actions, the no-match default, the other family, and per-rule counters. */
Test(xdp, actions_and_counters)
{
	const struct wcard_layout *l = wcard_layout_ipv4();
	struct wc_pkt p = { .family = 4, .proto = 6, .sport = 1000, .dport = 22,
			    .src = { 10, 1, 2, 3 }, .dst = { 192, 168, 1, 9 } };
	struct wc_pkt p6 = { .family = 6, .proto = 17, .sport = 1, .dport = 53 };
	struct wcard_ruleset rs;
	struct wcard_rule drop, pass;
	struct wc_counter cnt;
	struct wcard_clf *c;
	__u32 act;
	int i;

	wcard_ruleset_init(&rs, l);
	wcard_rule_any(l, &drop);
	wcard_rule_set_prefix(l, &drop, WC_F_SRC, 0x0a000000, 8);
	wcard_rule_set_range(l, &drop, WC_F_DPORT, 22, 22);
	drop.value = WC_ACT_DROP, drop.id = 0, drop.prio = 1;
	wcard_rule_any(l, &pass);
	wcard_rule_set_prefix(l, &pass, WC_F_DST, 0xc0a80100, 24);
	pass.value = WC_ACT_PASS | (7ULL << 32), pass.id = 1, pass.prio = 2;
	wcard_ruleset_add(&rs, &drop);
	wcard_ruleset_add(&rs, &pass);

	c = clf_new(l, WC_ACT_DROP, "actions");
	clf_load(c, &rs, "actions");
	for (i = 0; i < 3; i++) {
		cr_assert_eq(run(c, &p, NULL, &act, "drop rule"), 0, "case drop rule: id");
		cr_assert_eq(act, WC_ACT_DROP, "case drop rule: action %u", act);
	}
	p.dport = 23;
	cr_assert_eq(run(c, &p, NULL, &act, "pass rule"), 1, "case pass rule: id");
	cr_assert_eq(act, WC_ACT_PASS, "case pass rule: action %u", act);
	p.dst[2] = 2;
	cr_assert_eq(run(c, &p, NULL, &act, "no match"), -1, "case no match: id");
	cr_assert_eq(act, WC_ACT_DROP, "case no match: default action %u", act);
	cr_assert_eq(run(c, &p6, NULL, &act, "ipv6 in ipv4 classifier"), -1, "case v6: id");
	cr_assert_eq(act, WC_ACT_DROP, "case v6: default action %u", act);

	cr_assert_eq(wcard_clf_rule_hits(c, 0, &cnt), 0, "case counters: read rule 0");
	cr_assert_eq(cnt.packets, 3, "case counters: rule 0 packets %llu", cnt.packets);
	cr_assert_eq(cnt.bytes, 3 * (14 + 20 + 20), "case counters: rule 0 bytes %llu", cnt.bytes);
	cr_assert_eq(wcard_clf_rule_hits(c, 1, &cnt), 0, "case counters: read rule 1");
	cr_assert_eq(cnt.packets, 1, "case counters: rule 1 packets %llu", cnt.packets);
	cr_assert_eq(wcard_clf_rule_hits(c, -1, &cnt), 0, "case counters: read misses");
	cr_assert_eq(cnt.packets, 2, "case counters: misses %llu", cnt.packets);
	cr_assert_eq(wcard_clf_rule_hits(c, 2, &cnt), -EINVAL, "case counters: no rule 2");

	/* Redirect: XDP_REDIRECT, to the ifindex in the value. */
	rs.rules[0].value = WC_VALUE_REDIRECT(1);
	clf_load(c, &rs, "redirect");
	p.dport = 22;
	p.dst[2] = 1;
	cr_assert_eq(run(c, &p, NULL, &act, "redirect"), 0, "case redirect: id");
	cr_assert_eq(act, XDP_REDIRECT, "case redirect: action %u", act);
	wcard_clf_destroy(c);
	wcard_ruleset_free(&rs);
}

/* Truncated and non-IP frames take the configured actions, never a rule's. */
Test(xdp, bad_frames)
{
	const struct wcard_layout *l = wcard_layout_ipv4();
	struct wc_pkt p = { .family = 4, .proto = 6, .sport = 1, .dport = 2 };
	__u8 frame[128], arp[60] = { [12] = 0x08, [13] = 0x06 };
	struct wcard_ruleset rs;
	struct wcard_rule any;
	struct wc_xdp_meta m;
	struct wcard_clf *c;
	__u32 act;
	int len;

	wcard_ruleset_init(&rs, l);
	wcard_rule_any(l, &any);
	any.value = WC_ACT_PASS;
	wcard_ruleset_add(&rs, &any);
	c = clf_new(l, WC_ACT_PASS, "bad frames");
	clf_load(c, &rs, "bad frames");
	len = tk_frame_build(&p, NULL, frame, sizeof(frame));
	cr_assert_eq(wcard_clf_run_frame(c, frame, len - 1, &m, &act, NULL), 0, "case cut: run");
	cr_assert_eq(m.parse, WC_PARSE_TRUNCATED, "case cut: parse %u", m.parse);
	cr_assert_eq(m.id, WC_ID_NONE, "case cut: no rule");
	cr_assert_eq(act, WC_ACT_DROP, "case cut: bad_action drop, got %u", act);
	cr_assert_eq(wcard_clf_run_frame(c, arp, sizeof(arp), &m, &act, NULL), 0, "case arp: run");
	cr_assert_eq(m.parse, WC_PARSE_NOT_IP, "case arp: parse %u", m.parse);
	cr_assert_eq(act, WC_ACT_PASS, "case arp: nonip_action pass, got %u", act);
	wcard_clf_destroy(c);
	wcard_ruleset_free(&rs);
}

/* Run a frame; the metadata must say parse status st. Returns the XDP action. */
static __u32 run_raw(struct wcard_clf *c, const __u8 *frame, int len, int st, long id,
		     const char *name)
{
	struct wc_xdp_meta m;
	__u32 act;

	cr_assert_gt(len, 0, "case %s: frame build %d", name, len);
	cr_assert_eq(wcard_clf_run_frame(c, frame, len, &m, &act, NULL), 0, "case %s: run", name);
	cr_assert_eq(m.parse, st, "case %s: parse status %u, expected %d", name, m.parse, st);
	cr_assert_eq(m.id, id < 0 ? WC_ID_NONE : (__u32)id, "case %s: rule %d, expected %ld", name,
		     (int)m.id, id);
	return act;
}

static struct wcard_clf *clf_rules(const struct wcard_layout *l, const char *rules,
				   __u32 nonip, struct wcard_ruleset *rs, const char *name)
{
	struct wcard_clf_opts o = { .layout = l, .nonip_action = nonip };
	struct wcard_clf *c = NULL;
	char err[256] = "";

	wcard_ruleset_init(rs, l);
	cr_assert_eq(wcard_rules_parse(name, rules, WCARD_FMT_WCARD, l, rs, err, sizeof(err)), 0,
		     "case %s: rules: %s", name, err);
	cr_assert_eq(wcard_clf_create(&o, &c, err, sizeof(err)), 0, "case %s: create: %s", name,
		     err);
	clf_load(c, rs, name);
	return c;
}

/* One frame shape of the issue 13 tests: options, and an ethertype to write over the builder's. */
struct encap {
	const char *name;
	struct tk_frame_opts o;
	__u16 type; /* 0: keep */
};

/*
 * Issue 13: frames in an encapsulation the parser did not know went past the
 * rules (not IP, or IP protocol 51 without ports). With `src 10.1.2.0/24
 * drop`, `tcp dport 22 drop` and default pass, each of the n shapes e is
 * classified as the bare packet (checked first) is: a source in 10.1.2.0/24
 * drops by rule 0, TCP to port 22 by rule 1, anything else passes by default.
 */
static void encap_verdicts(const struct encap *e, unsigned int n)
{
	static const struct encap bare = { "bare", {}, 0 };
	static const struct {
		const char *what;
		__u8 src[4];
		__u16 dport;
		long id;
	} k4[] = {
		{ "src 10.1.2.3", { 10, 1, 2, 3 }, 80, 0 },
		{ "tcp dport 22", { 10, 9, 9, 9 }, 22, 1 },
		{ "neither", { 10, 9, 9, 9 }, 80, -1 },
	};
	struct wc_pkt p = { .family = 4, .proto = 6, .sport = 40000, .dst = { 192, 168, 0, 1 } };
	struct wcard_ruleset rs;
	struct wcard_clf *c;
	unsigned int i, k, at;
	__u8 frame[512];
	char name[128];
	int len;

	c = clf_rules(wcard_layout_ipv4(), "src 10.1.2.0/24 drop\ntcp dport 22 drop\n", 0, &rs,
		      "v4 rules");
	for (i = 0; i <= n; i++) {
		const struct encap *x = i ? &e[i - 1] : &bare;

		for (k = 0; k < 3; k++) {
			memcpy(p.src, k4[k].src, 4);
			p.dport = k4[k].dport;
			len = tk_frame_build(&p, &x->o, frame, sizeof(frame));
			at = 12 + 4 * x->o.nvlan;
			if (x->type)
				frame[at] = x->type >> 8, frame[at + 1] = x->type & 0xff;
			snprintf(name, sizeof(name), "v4 %s, %s", x->name, k4[k].what);
			cr_assert_eq(run_raw(c, frame, len, WC_PARSE_OK, k4[k].id, name),
				     k4[k].id < 0 ? XDP_PASS : XDP_DROP, "case %s: action", name);
		}
	}
	wcard_clf_destroy(c);
	wcard_ruleset_free(&rs);
}

/* IPv4 in a PPPoE session (PPP protocol 0x0021), also behind VLAN tags (the BNG case). */
Test(xdp, pppoe_does_not_bypass)
{
	static const struct encap e[] = {
		{ "pppoe", { .pppoe = 0x1234 }, 0 },
		{ "vlan + pppoe", { .nvlan = 1, .vlan = { 100 }, .pppoe = 7 }, 0 },
		{ "qinq + pppoe", { .nvlan = 2, .vlan = { 100, 200 }, .pppoe = 8 }, 0 },
	};
	static const __u8 pfx[2][4] = { { 0x20, 0x01, 0x0d, 0xb8 }, { 0x20, 0x01, 0x0d, 0xb9 } };
	struct wc_pkt q = { .family = 6, .proto = 17, .sport = 1, .dport = 53 };
	struct wcard_ruleset rs;
	struct wcard_clf *c;
	unsigned int i;
	__u8 frame[512];
	char name[128];
	int len;

	encap_verdicts(e, 3);
	/* IPv6 in PPPoE (PPP protocol 0x0057) against an IPv6 rule. */
	c = clf_rules(wcard_layout_ipv6(), "src 2001:db8::/32 drop\n", 0, &rs, "v6 rules");
	for (i = 0; i < 4; i++) {
		struct tk_frame_opts o = { .pppoe = 0x77, .nvlan = i % 2 };

		memcpy(q.src, pfx[i / 2], 4);
		len = tk_frame_build(&q, &o, frame, sizeof(frame));
		snprintf(name, sizeof(name), "v6 pppoe, nvlan %u, src %s::", o.nvlan,
			 i < 2 ? "2001:db8" : "2001:db9");
		cr_assert_eq(run_raw(c, frame, len, WC_PARSE_OK, i < 2 ? 0 : -1, name),
			     i < 2 ? XDP_DROP : XDP_PASS, "case %s: action", name);
	}
	wcard_clf_destroy(c);
	wcard_ruleset_free(&rs);
}

/* IPv4 behind MPLS labels, unicast (0x8847) and multicast (0x8848). */
Test(xdp, mpls_does_not_bypass)
{
	static const struct encap e[] = {
		{ "mpls 1 label", { .nmpls = 1 }, 0 },
		{ "mpls 3 labels, vlan", { .nmpls = 3, .nvlan = 1, .vlan = { 5 } }, 0 },
		{ "mpls WC_MAX_MPLS labels", { .nmpls = WC_MAX_MPLS }, 0 },
		{ "mpls multicast", { .nmpls = 2 }, 0x8848 },
	};

	encap_verdicts(e, 4);
}

/* TCP to port 22 behind an IPv4 AH header, bare and inside the encapsulations above. */
Test(xdp, ipv4_ah_does_not_bypass)
{
	static const struct encap e[] = {
		{ "ah", { .ipv4_ah = 24 }, 0 },
		{ "ah 12 bytes, ip options", { .ipv4_ah = 12, .ip_opts = 8 }, 0 },
		{ "ah, vlan + pppoe", { .ipv4_ah = 16, .pppoe = 9, .nvlan = 1 }, 0 },
		{ "ah, mpls", { .ipv4_ah = 16, .nmpls = 2 }, 0 },
	};

	encap_verdicts(e, 4);
}

/*
 * The non-IP action (wcard create --nonip): frames that carry no IP packet
 * take it, whatever the rules and the default say; IP frames do not.
 */
Test(xdp, nonip_action)
{
	const struct wcard_layout *l = wcard_layout_ipv4();
	struct wc_pkt p = { .family = 4, .proto = 6, .sport = 1, .dport = 80,
			    .src = { 10, 9, 9, 9 } };
	struct tk_frame_opts pppoe = { .pppoe = 3 }, mpls = { .nmpls = 1 };
	__u8 arp[60] = { [12] = 0x08, [13] = 0x06 }, lcp[128], pw[128], disc[60];
	struct wcard_clf_opts bad = { .layout = l, .nonip_action = XDP_REDIRECT };
	struct wcard_ruleset rs;
	struct wcard_clf *c = NULL;
	__u8 ip[128];
	char err[256] = "";
	int lcp_len, pw_len, ip_len, pass;

	/* PPPoE carrying LCP; an MPLS pseudowire (control word 0); PPPoE discovery. */
	lcp_len = tk_frame_build(&p, &pppoe, lcp, sizeof(lcp));
	lcp[20] = 0xc0, lcp[21] = 0x21;
	pw_len = tk_frame_build(&p, &mpls, pw, sizeof(pw));
	pw[18] = 0x00;
	memcpy(disc, arp, sizeof(disc));
	disc[12] = 0x88, disc[13] = 0x63;
	ip_len = tk_frame_build(&p, NULL, ip, sizeof(ip));

	for (pass = 0; pass < 2; pass++) {
		__u32 want = pass ? XDP_PASS : XDP_DROP;
		const char *n = pass ? "nonip pass (default)" : "nonip drop";

		c = clf_rules(l, "src 10.1.2.0/24 drop\n", pass ? 0 : WC_ACT_DROP, &rs, n);
		cr_assert_eq(run_raw(c, arp, sizeof(arp), WC_PARSE_NOT_IP, -1, n), want,
			     "case %s: arp", n);
		cr_assert_eq(run_raw(c, lcp, lcp_len, WC_PARSE_NOT_IP, -1, n), want,
			     "case %s: pppoe lcp", n);
		cr_assert_eq(run_raw(c, pw, pw_len, WC_PARSE_NOT_IP, -1, n), want,
			     "case %s: mpls control word", n);
		cr_assert_eq(run_raw(c, disc, sizeof(disc), WC_PARSE_NOT_IP, -1, n), want,
			     "case %s: pppoe discovery", n);
		/* IP frames keep the default (pass) and the rules; bad ones still drop. */
		cr_assert_eq(run_raw(c, ip, ip_len, WC_PARSE_OK, -1, n), XDP_PASS,
			     "case %s: ip, no rule", n);
		cr_assert_eq(run_raw(c, ip, ip_len - 1, WC_PARSE_TRUNCATED, -1, n), XDP_DROP,
			     "case %s: ip, truncated", n);
		wcard_clf_destroy(c);
		wcard_ruleset_free(&rs);
	}
	c = NULL;
	cr_assert_eq(wcard_clf_create(&bad, &c, err, sizeof(err)), -EINVAL,
		     "case nonip redirect: refused");
	cr_assert(strstr(err, "non-IP action"), "case nonip redirect: '%s'", err);
	cr_assert_null(c, "case nonip redirect: no classifier");
}

static struct wcard_clf *clf_algo(const struct wcard_layout *l, enum wc_algo algo, __u32 max_rules,
				  const char *name)
{
	struct wcard_clf_opts o = { .layout = l, .algo = algo, .max_rules = max_rules };
	struct wcard_clf *c = NULL;
	char err[256] = "";
	int ret = wcard_clf_create(&o, &c, err, sizeof(err));

	cr_assert_eq(ret, 0, "case %s: create: %s", name, err);
	return c;
}

/* ClassBench set `set` and its trace from WCARD_DATA; false when the data is absent. */
static bool cb_load(const char *set, struct wcard_ruleset *rs, struct wcard_trace *tr,
		    const char *name)
{
	const struct wcard_layout *l = wcard_layout_ipv4();
	char rel[64], rp[512], tp[512], err[512];

	snprintf(rel, sizeof(rel), "classbench/%s.rules.gz", set);
	if (!wt_data(rel, rp, sizeof(rp)))
		return false;
	snprintf(rel, sizeof(rel), "classbench/%s.trace.gz", set);
	if (!wt_data(rel, tp, sizeof(tp)))
		return false;
	wcard_ruleset_init(rs, l);
	cr_assert_eq(wcard_rules_load(rp, WCARD_FMT_CLASSBENCH, l, rs, err, sizeof(err)), 0,
		     "case %s: rules: %s", name, err);
	cr_assert_eq(wcard_trace_load(tp, tr, err, sizeof(err)), 0, "case %s: trace: %s", name,
		     err);
	return true;
}

/*
 * One ClassBench set: its trace lines (every stride-th) as frames through the
 * XDP filter with algorithm algo, against the reference. Returns false when the
 * data is absent.
 */
static bool classbench_set(const char *set, enum wc_algo algo, size_t stride)
{
	const struct wcard_layout *l = wcard_layout_ipv4();
	struct wcard_ruleset rs;
	struct wcard_trace tr = {};
	size_t i, matched = 0, checked = 0;
	struct wcard_clf *c;
	char name[64];

	snprintf(name, sizeof(name), "%s/%s", set, algo == WC_ALGO_BF ? "bf" : "tm");
	if (!cb_load(set, &rs, &tr, name))
		return false;
	c = clf_algo(l, algo, rs.n > WC_DEFAULT_MAX_RULES ? rs.n : 0, name);
	clf_load(c, &rs, name);
	cr_assert_eq(wcard_clf_algo(c), algo, "case %s: algorithm %d", name, wcard_clf_algo(c));
	for (i = 0; i < tr.n; i += stride) {
		struct wc_key k;
		struct wc_pkt p;
		long want, got;
		__u32 act;

		wcard_key_from_tuple(&tr.t[i], &k);
		tk_pkt_from_tuple(&tr.t[i], &p);
		want = tk_ref_lookup(&rs, &k);
		got = run(c, &p, NULL, &act, name);
		cr_assert_eq(got, want, "case %s: trace line %zu: BPF %ld, reference %ld", name,
			     i + 1, got, want);
		matched += got >= 0;
		checked++;
	}
	cr_log_info("xdp: %s: %zu rules, %u tables, %zu of %zu packets checked, %zu matched, all "
		    "agree\n",
		    name, rs.n, wcard_clf_ntables(c), checked, tr.n, matched);
	cr_assert_gt(matched, checked / 2, "case %s: too few matches", name);
	wcard_clf_destroy(c);
	wcard_ruleset_free(&rs);
	wcard_trace_free(&tr);
	return true;
}

static const char *cb_seeds[] = { "acl1", "acl2", "acl3", "acl4", "acl5", "fw1",
				  "fw2",  "fw3",  "fw4",  "fw5",  "ipc1", "ipc2" };
#define NSEEDS (sizeof(cb_seeds) / sizeof(cb_seeds[0]))

/* Every ClassBench 1k set, every trace line, through brute force and Tuple Merge. */
Test(xdp, classbench_1k, .timeout = 900)
{
	unsigned int s, found = 0;
	char set[32];

	for (s = 0; s < NSEEDS; s++) {
		snprintf(set, sizeof(set), "%s_1k", cb_seeds[s]);
		found += classbench_set(set, WC_ALGO_BF, 1);
		classbench_set(set, WC_ALGO_TM, 1);
	}
	if (!found)
		cr_skip_test("ClassBench data not found (set WCARD_DATA to ../shared/data)");
}

/*
 * The 10k and 100k sets through Tuple Merge. The brute-force reference costs
 * ~50 us (10k) to ~0.5 ms (100k) a packet, so these check every 5th / 40th line.
 */
Test(xdp, classbench_10k_tm, .timeout = 900)
{
	unsigned int s, found = 0;
	char set[32];

	for (s = 0; s < NSEEDS; s++) {
		snprintf(set, sizeof(set), "%s_10k", cb_seeds[s]);
		found += classbench_set(set, WC_ALGO_TM, 5);
	}
	if (!found)
		cr_skip_test("ClassBench data not found (set WCARD_DATA to ../shared/data)");
}

Test(xdp, classbench_100k_tm, .timeout = 900)
{
	static const char *sets[] = { "acl1_100k", "fw1_100k", "ipc1_100k" };
	unsigned int s, found = 0;

	for (s = 0; s < 3; s++)
		found += classbench_set(sets[s], WC_ALGO_TM, 40);
	if (!found)
		cr_skip_test("ClassBench data not found (set WCARD_DATA to ../shared/data)");
}

/*
 * A ClassBench set as a dual-stack classifier: each rule as an IPv4 rule and
 * its IPv6 twin, rules without an address once for both (tk_ruleset_dual).
 * Every stride-th trace line goes through the XDP filter as an IPv4 frame
 * and as its twin's IPv6 frame (with extension headers and VLAN tags on
 * some), each against the reference, and both must name the rule of the
 * same line as the IPv4 set alone does.
 */
static bool classbench_dual(const char *set, size_t stride)
{
	char name[64], what[96];
	struct wcard_ruleset v4, rs;
	struct wcard_trace tr = {};
	size_t i, matched[2] = { 0, 0 }, checked = 0;
	struct wcard_stats st;
	struct wcard_clf *c;

	snprintf(name, sizeof(name), "%s/dual", set);
	if (!cb_load(set, &v4, &tr, name))
		return false;
	cr_assert_eq(tk_ruleset_dual(&v4, &rs), 0, "case %s: dual set", name);
	c = clf_algo(wcard_layout_inet(), WC_ALGO_TM, rs.n > WC_DEFAULT_MAX_RULES ? rs.n : 0,
		     name);
	clf_load(c, &rs, name);
	cr_assert_eq(wcard_clf_part_stats(c, 1, &st), 0, "case %s: IPv6 part stats", name);
	cr_assert_eq(st.parts, 2, "case %s: %u parts", name, st.parts);
	for (i = 0; i < tr.n; i += stride) {
		struct wcard_tuple t6;
		struct tk_frame_opts fo = { .nvlan = i % 3, .vlan = { 7, 8 } };
		struct wc_key k4, k6;
		struct wc_pkt p4, p6;
		long want4, want6, v4want, got;
		__u32 act;

		tk_tuple_twin6(&tr.t[i], i, &t6);
		wcard_key_from_tuple(&tr.t[i], &k4);
		wcard_key_from_tuple(&t6, &k6);
		tk_pkt_from_tuple(&tr.t[i], &p4);
		tk_pkt_from_tuple(&t6, &p6);
		v4want = tk_ref_lookup(&v4, &k4);
		want4 = tk_ref_lookup_family(&rs, 4, &k4);
		want6 = tk_ref_lookup_family(&rs, 6, &k6);
		cr_assert_eq(want4 < 0 ? -1L : (long)rs.rules[want4].line,
			     v4want < 0 ? -1L : (long)v4.rules[v4want].line,
			     "case %s: trace line %zu: the IPv4 reference disagrees with the set's",
			     name, i + 1);
		cr_assert(t6.proto != tr.t[i].proto ||
				  (want6 < 0 ? -1L : (long)rs.rules[want6].line) ==
					  (v4want < 0 ? -1L : (long)v4.rules[v4want].line),
			  "case %s: trace line %zu: the twin's reference disagrees", name, i + 1);
		snprintf(what, sizeof(what), "%s line %zu IPv4", name, i + 1);
		got = run(c, &p4, &fo, &act, what);
		cr_assert_eq(got, want4, "case %s: trace line %zu, IPv4: BPF %ld, reference %ld",
			     name, i + 1, got, want4);
		if (p6.frag != WC_FRAG_LATER && i % 2)
			fo.nipv6_ext = 2, fo.ipv6_ext[0] = 0, fo.ipv6_ext[1] = 60;
		snprintf(what, sizeof(what), "%s line %zu IPv6", name, i + 1);
		got = run(c, &p6, &fo, &act, what);
		cr_assert_eq(got, want6, "case %s: trace line %zu, IPv6: BPF %ld, reference %ld",
			     name, i + 1, got, want6);
		matched[0] += want4 >= 0;
		matched[1] += want6 >= 0;
		checked++;
	}
	cr_log_info("xdp: %s: %zu rules (%zu IPv4), %zu of %zu packets checked in each family, "
		    "%zu and %zu matched, all agree\n",
		    name, rs.n, v4.n, checked, tr.n, matched[0], matched[1]);
	cr_assert_gt(matched[1], checked / 2, "case %s: too few matches", name);
	wcard_clf_destroy(c);
	wcard_ruleset_free(&v4);
	wcard_ruleset_free(&rs);
	wcard_trace_free(&tr);
	return true;
}

Test(xdp, classbench_dual_stack, .timeout = 900)
{
	static const char *sets[] = { "acl1_1k", "fw1_1k", "ipc1_1k", "acl1_10k" };
	unsigned int s, found = 0;

	for (s = 0; s < 4; s++)
		found += classbench_dual(sets[s], s < 3 ? 1 : 5);
	if (!found)
		cr_skip_test("ClassBench data not found (set WCARD_DATA to ../shared/data)");
}

/* Counters follow rules through online inserts, deletes and a reload, starting at zero. */
Test(xdp, counters_online, .timeout = 120)
{
	const struct wcard_layout *l = wcard_layout_ipv4();
	struct wc_pkt p = { .family = 4, .proto = 17, .sport = 5, .dport = 53,
			    .src = { 10, 0, 0, 1 }, .dst = { 10, 0, 0, 2 } };
	struct wcard_ruleset rs;
	struct wcard_rule r;
	struct wc_counter cnt;
	struct wcard_clf *c;
	char err[256] = "";
	__u32 id, id2, act;
	int i, round;

	wcard_ruleset_init(&rs, l);
	for (i = 0; i < 40; i++) {
		wcard_rule_any(l, &r);
		wcard_rule_set_prefix(l, &r, WC_F_DST, 0xc0000000 + i, 32);
		r.prio = 10 + i;
		wcard_ruleset_add(&rs, &r);
	}
	/* Room for 48 rules: rule slots run out and get reused after grace periods. */
	c = clf_algo(l, WC_ALGO_TM, 48, "counters online");
	clf_load(c, &rs, "counters online");
	wcard_rule_any(l, &r);
	wcard_rule_set_range(l, &r, WC_F_DPORT, 53, 53);
	r.prio = 1, r.value = WC_ACT_PASS;
	for (round = 0; round < 50; round++) {
		/* Insert, hit 3 times, delete: every incarnation counts from zero. */
		cr_assert_eq(wcard_clf_insert(c, &r, &id, err, sizeof(err)), 0,
			     "case counters online: insert: %s", err);
		for (i = 0; i < 3; i++)
			cr_assert_eq(run(c, &p, NULL, &act, "counters online"), (long)id,
				     "case counters online: round %d: rule", round);
		cr_assert_eq(wcard_clf_rule_hits(c, id, &cnt), 0, "case counters online: read");
		cr_assert_eq(cnt.packets, 3, "case counters online: round %d: %llu packets", round,
			     (unsigned long long)cnt.packets);
		cr_assert_eq(wcard_clf_delete(c, id, err, sizeof(err)), 0,
			     "case counters online: delete: %s", err);
	}
	/* A reload starts every rule at zero. */
	wcard_ruleset_add(&rs, &r);
	clf_load(c, &rs, "counters reload");
	id2 = rs.n - 1;
	cr_assert_eq(run(c, &p, NULL, &act, "counters reload"), (long)id2, "case reload: rule");
	cr_assert_eq(wcard_clf_rule_hits(c, id2, &cnt), 0, "case reload: read");
	cr_assert_eq(cnt.packets, 1, "case reload: %llu packets", (unsigned long long)cnt.packets);
	wcard_clf_destroy(c);
	wcard_ruleset_free(&rs);
}

/* ---- the LPM fast path ------------------------------------------------------ */

/* Frames near the rules of rs through c: rule and action as the reference says. */
static void check_frames(struct wcard_clf *c, const struct wcard_layout *l,
			 const struct wcard_ruleset *rs, struct wt_rng *r, unsigned int n,
			 const char *name)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		const struct wcard_rule *t = &rs->rules[wt_below(r, rs->n)];
		unsigned int fam = wt_key_family(r, l, t);
		struct tk_frame_opts fo = {};
		struct wc_key k;
		struct wc_pkt p;
		long want, got;
		__u32 act;

		wt_key_near(r, wcard_layout_family(l, fam), t, 16, &k);
		wt_pkt_from_key(wcard_layout_family(l, fam), &k, &p);
		want = tk_ref_lookup_family(rs, fam, &k);
		got = run(c, &p, &fo, &act, name);
		cr_assert_eq(got, want, "case %s: packet %u: BPF rule %ld, reference %ld", name, i,
			     got, want);
		cr_assert_eq(act, want >= 0 && WC_VALUE_ACTION(rs->rules[want].value) == WC_ACT_DROP ?
					  WC_ACT_DROP : WC_ACT_PASS,
			     "case %s: packet %u: action %u", name, i, act);
	}
}

/*
 * A CIDR list on one field (IPv4 source, IPv6 destination), longer prefixes
 * ranking better: auto takes the LPM fast path and agrees with the reference.
 * A rule that breaks the longest-prefix order sends it to Tuple Merge (online
 * changes stay there; a bulk load picks again); --algo lpm refuses such a set.
 */
static void lpm_path(const struct wcard_layout *l, unsigned int field, const char *name)
{
	unsigned int bits = l->fields[field].width * 8, i, nr = 2000;
	struct wt_rng r = { .s = 77 + bits };
	struct wcard_clf_opts o = { .layout = l, .algo = WC_ALGO_LPM };
	struct wcard_ruleset rs;
	struct wcard_clf *c, *strict = NULL;
	struct wcard_rule bad;
	char err[256] = "";
	__u32 id;

	wcard_ruleset_init(&rs, l);
	for (i = 0; i < nr; i++) {
		struct wcard_rule rule;
		unsigned int len = i == 0 ? 0 : 4 + wt_below(&r, bits - 3);
		wc_u128 a = wt_pool_value(&r, l->fields[field].width, 300);
		/* The top len bits of a bits-wide field. */
		wc_u128 m = len ? ~(len < 128 ? wt_ones(16) >> len : 0) >> (128 - bits) : 0;

		wcard_rule_any(l, &rule);
		wcard_rule_set_prefix(l, &rule, field, a & m, len);
		rule.prio = bits - len;
		rule.value = wt_below(&r, 2) ? WC_ACT_DROP : WC_ACT_PASS;
		rule.id = i;
		cr_assert_eq(wcard_ruleset_add(&rs, &rule), 0, "case %s: add", name);
	}
	c = clf_new(l, WC_ACT_PASS, name);
	clf_load(c, &rs, name);
	cr_assert_eq(wcard_clf_algo(c), WC_ALGO_LPM, "case %s: auto picked %d", name,
		     wcard_clf_algo(c));
	check_frames(c, l, &rs, &r, 3000, name);
	/* A /4 that outranks every longer prefix inside it. */
	bad = rs.rules[1 + wt_below(&r, nr - 1)];
	wcard_rule_set_prefix(l, &bad, field, bad.f[field].value & ~(wt_ones(16) >> 4) >> (128 - bits),
			      4);
	bad.prio = 0;
	bad.value = WC_ACT_DROP;
	cr_assert_eq(wcard_clf_insert(c, &bad, &id, err, sizeof(err)), 0, "case %s: insert: %s",
		     name, err);
	cr_assert_eq(id, rs.n, "case %s: id %u", name, id);
	bad.id = id;
	cr_assert_eq(wcard_ruleset_add(&rs, &bad), 0, "case %s: add", name);
	cr_assert_neq(wcard_clf_algo(c), WC_ALGO_LPM, "case %s: still LPM", name);
	check_frames(c, l, &rs, &r, 1000, name);
	/* Tuple Merge takes the delete online; the next bulk load is LPM again. */
	cr_assert_eq(wcard_clf_delete(c, id, err, sizeof(err)), 0, "case %s: delete: %s", name, err);
	rs.n--;
	check_frames(c, l, &rs, &r, 1000, name);
	clf_load(c, &rs, name);
	cr_assert_eq(wcard_clf_algo(c), WC_ALGO_LPM, "case %s: LPM after a reload", name);
	check_frames(c, l, &rs, &r, 1000, name);
	/* A new value for some rules: the LPM path answers with it at once. */
	for (i = 0; i < 20; i++) {
		__u32 k = wt_below(&r, nr), nid;

		rs.rules[k].value = rs.rules[k].value == WC_ACT_DROP ? WC_ACT_PASS : WC_ACT_DROP;
		cr_assert_eq(wcard_clf_update(c, k, rs.rules[k].prio, rs.rules[k].value, &nid, err,
					      sizeof(err)), 0, "case %s: update value: %s", name, err);
		cr_assert_eq(nid, k, "case %s: a value update keeps the id", name);
	}
	cr_assert_eq(wcard_clf_algo(c), WC_ALGO_LPM, "case %s: LPM after value updates", name);
	check_frames(c, l, &rs, &r, 1000, name);
	/* Asked for explicitly, a set that is not a longest-prefix set is refused. */
	cr_assert_eq(wcard_clf_create(&o, &strict, err, sizeof(err)), 0, "case %s: %s", name, err);
	cr_assert_eq(wcard_ruleset_add(&rs, &bad), 0, "case %s: add", name);
	cr_assert_eq(wcard_clf_load(strict, &rs, err, sizeof(err)), -EINVAL, "case %s: strict", name);
	cr_assert_not_null(strstr(err, "one IPv4/IPv6 prefix field"), "case %s: '%s'", name, err);
	wcard_clf_destroy(strict);
	wcard_clf_destroy(c);
	wcard_ruleset_free(&rs);
}

/* The algorithm of part `part` of c. */
static enum wc_algo part_algo(struct wcard_clf *c, unsigned int part, const char *name)
{
	struct wcard_stats st;

	cr_assert_eq(wcard_clf_part_stats(c, part, &st), 0, "case %s: part %u stats", name, part);
	return st.algo;
}

/*
 * A dual-stack blocklist (IPv4 and IPv6 prefixes on dst, longer first): auto
 * takes the LPM path in each part, IPv4's trie and IPv6's, and both families'
 * frames agree with the reference. A rule that breaks the longest-prefix
 * order in one family moves that part alone to Tuple Merge; one of both
 * families moves both.
 */
Test(xdp, lpm_fast_path_dual_stack, .timeout = 120)
{
	const struct wcard_layout *l = wcard_layout_inet();
	struct wt_rng r = { .s = 91 };
	struct wcard_ruleset rs;
	struct wcard_rule x;
	struct wcard_clf *c;
	char err[256] = "";
	unsigned int i, f;
	__u32 id;

	wcard_ruleset_init(&rs, l);
	for (i = 0; i < 1200; i++) {
		unsigned int fam = i % 2 ? 6 : 4, bits = fam == 6 ? 128 : 32;
		const struct wcard_layout *fl = wcard_layout_family(l, fam);
		unsigned int plen = 8 + wt_below(&r, bits - 7);
		wc_u128 v = ((wc_u128)wt_rnd(&r) << 64 | wt_rnd(&r)) & wt_ones(bits / 8);

		/* Few distinct tops, so prefixes nest. */
		v = (v & (wt_ones(bits / 8) >> 6)) | ((wc_u128)wt_below(&r, 3) << (bits - 6));
		wcard_rule_any(fl, &x);
		x.family = (__u8)fam;
		wcard_rule_set_prefix(fl, &x, WC_F_DST, v, plen);
		x.prio = 128 - plen;
		x.value = wt_below(&r, 2) ? WC_ACT_DROP : WC_ACT_PASS;
		x.id = i;
		cr_assert_eq(wcard_ruleset_add(&rs, &x), 0, "case dual lpm: add");
	}
	c = clf_new(l, WC_ACT_PASS, "dual lpm");
	clf_load(c, &rs, "dual lpm");
	for (f = 0; f < 2; f++)
		cr_assert_eq(part_algo(c, f, "dual lpm"), WC_ALGO_LPM,
			     "case dual lpm: part %u is not on the LPM path", f);
	check_frames(c, l, &rs, &r, 2000, "dual lpm");
	/* An IPv6 rule on another field: the IPv6 part alone leaves the LPM path. */
	wcard_rule_any(wcard_layout_ipv6(), &x);
	x.family = 6;
	wcard_rule_set_range(wcard_layout_ipv6(), &x, WC_F_DPORT, 53, 53);
	x.prio = 0;
	x.value = WC_ACT_DROP;
	cr_assert_eq(wcard_clf_insert(c, &x, &id, err, sizeof(err)), 0, "case dual lpm: insert: %s",
		     err);
	x.id = id;
	cr_assert_eq(wcard_ruleset_add(&rs, &x), 0, "case dual lpm: add");
	cr_assert_eq(part_algo(c, 0, "dual lpm"), WC_ALGO_LPM, "case dual lpm: IPv4 left LPM");
	cr_assert_eq(part_algo(c, 1, "dual lpm"), WC_ALGO_TM, "case dual lpm: IPv6 part");
	check_frames(c, l, &rs, &r, 2000, "dual lpm, IPv6 on tm");
	/* One of both families: both parts leave it. */
	x.family = 0;
	wcard_rule_set_range(wcard_layout_ipv4(), &x, WC_F_DPORT, 80, 80);
	cr_assert_eq(wcard_clf_insert(c, &x, &id, err, sizeof(err)), 0, "case dual lpm: insert: %s",
		     err);
	x.id = id;
	cr_assert_eq(wcard_ruleset_add(&rs, &x), 0, "case dual lpm: add");
	for (f = 0; f < 2; f++)
		cr_assert_eq(part_algo(c, f, "dual lpm"), WC_ALGO_TM, "case dual lpm: part %u", f);
	check_frames(c, l, &rs, &r, 2000, "dual lpm, both on tm");
	wcard_clf_destroy(c);
	wcard_ruleset_free(&rs);
}

Test(xdp, lpm_fast_path_ipv4_src, .timeout = 120)
{
	lpm_path(wcard_layout_ipv4(), WC_F_SRC, "ipv4 src");
}

Test(xdp, lpm_fast_path_ipv6_dst, .timeout = 120)
{
	lpm_path(wcard_layout_ipv6(), WC_F_DST, "ipv6 dst");
}
