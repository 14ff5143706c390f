// SPDX-License-Identifier: MIT
/* test_example.c: examples/blocklist, built header-only and statically linked with libwcard.bpf.o (suite "example"). */
#include <stdio.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "wctest.h"
#include <wcard/libwcard.subskel.h>

static void example_path(const char *variant, char *buf, size_t len)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "examples/blocklist_%s.bpf.o", variant);
	wt_bpf_obj(rel, buf, len);
}

/*
 * The application's program with wcard inside: load the object, fill a
 * dual-stack classifier with libwcard, then random IPv4 and IPv6 frames near
 * the rules come back dropped or passed as the reference says, and the
 * application's own counters agree.
 */
static void run_example(const char *variant)
{
	const struct wcard_layout *l = wcard_layout_inet();
	struct wcard_clf_opts o = { .layout = l, .algo = WC_ALGO_TM };
	struct wt_rng r = { .s = 5 };
	struct wcard_ruleset rs;
	struct wcard_clf *c = NULL;
	struct bpf_object *obj;
	struct wcard *sub = NULL;
	char path[512], err[256] = "";
	__u64 drops = 0, passes = 0, cnt[2] = { 0, 0 };
	unsigned int i, ncpu = libbpf_num_possible_cpus();
	int prog, ret;

	example_path(variant, path, sizeof(path));
	obj = bpf_object__open_file(path, NULL);
	cr_assert_not_null(obj, "case %s: open %s: %d", variant, path, -errno);
	/* The library's half of the linked object, by name, before load. */
	sub = wcard__open(obj);
	cr_assert_not_null(sub, "case %s: subskeleton", variant);
	cr_assert_not_null(sub->maps.wc_rules, "case %s: wc_rules", variant);
	cr_assert_eq(wcard_object_prepare_layout(obj, l, 1024), 0, "case %s: prepare", variant);
	ret = bpf_object__load(obj);
	cr_assert_eq(ret, 0, "case %s: load: %d", variant, ret);
	cr_assert_eq(bpf_map__fd(sub->maps.wc_rules),
		     bpf_map__fd(bpf_object__find_map_by_name(obj, "wc_rules")),
		     "case %s: the subskeleton's map is the object's", variant);
	cr_assert_eq(wcard_clf_from_object(obj, "blocklist", &o, &c, err, sizeof(err)), 0,
		     "case %s: classifier: %s", variant, err);
	wcard_ruleset_init(&rs, l);
	for (i = 0; i < 300; i++) {
		struct wcard_rule rule;

		wt_rule_random_inet(&r, 40, 300, &rule);
		rule.id = i;
		rule.value = wt_below(&r, 2) ? WC_ACT_DROP : WC_ACT_PASS;
		wcard_ruleset_add(&rs, &rule);
	}
	cr_assert_eq(wcard_clf_load(c, &rs, err, sizeof(err)), 0, "case %s: load rules: %s",
		     variant, err);
	prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "blocklist"));
	for (i = 0; i < 2000; i++) {
		const struct wcard_rule *near = &rs.rules[wt_below(&r, rs.n)];
		unsigned int fam = wt_key_family(&r, l, near);
		struct tk_frame_opts fo = {};
		__u8 frame[256];
		struct wc_key k;
		struct wc_pkt p;
		long want;
		int len;
		LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = frame, .repeat = 1);

		wt_key_near(&r, wcard_layout_family(l, fam), near, 40, &k);
		/* TCP, so ports and flags reach the parser as drawn. */
		k.w[fam == 6 ? 6 : 4] = 6;
		wt_pkt_from_key(wcard_layout_family(l, fam), &k, &p);
		len = tk_frame_build(&p, &fo, frame, sizeof(frame));
		cr_assert_gt(len, 0, "case %s: frame", variant);
		t.data_size_in = len;
		cr_assert_eq(bpf_prog_test_run_opts(prog, &t), 0, "case %s: test run", variant);
		want = tk_ref_lookup_family(&rs, fam, &k);
		want = want >= 0 && WC_VALUE_ACTION(rs.rules[want].value) == WC_ACT_DROP;
		cr_assert_eq(t.retval, want ? XDP_DROP : XDP_PASS, "case %s: frame %u: %u", variant,
			     i, t.retval);
		drops += want;
		passes += !want;
	}
	for (i = 0; i < 2; i++) {
		__u64 *v = calloc(ncpu, sizeof(*v));
		unsigned int k;

		cr_assert_not_null(v, "calloc");
		cr_assert_eq(bpf_map_lookup_elem(bpf_map__fd(bpf_object__find_map_by_name(
							 obj, "app_verdicts")),
						 &i, v),
			     0, "case %s: counters", variant);
		for (k = 0; k < ncpu; k++)
			cnt[i] += v[k];
		free(v);
	}
	cr_assert(cnt[0] == passes && cnt[1] == drops,
		  "case %s: app counters %llu/%llu, expected %llu/%llu", variant,
		  (unsigned long long)cnt[0], (unsigned long long)cnt[1],
		  (unsigned long long)passes, (unsigned long long)drops);
	cr_log_info("example: %s: 2000 frames, %llu dropped, as the reference says\n", variant,
		    (unsigned long long)drops);
	wcard_clf_destroy(c);
	wcard__destroy(sub);
	bpf_object__close(obj);
	wcard_ruleset_free(&rs);
}

Test(example, header_only)
{
	run_example("hdr");
}

Test(example, static_link)
{
	run_example("link");
}
