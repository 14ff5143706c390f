// SPDX-License-Identifier: MIT
/*
 * fuzz_parse.c: any frame through the BPF packet parser and the ready XDP
 * filter (BPF_PROG_TEST_RUN), against the user-space reference parser
 * (tests/ref_parse.c) and the reference classifier. Properties: wc_parse()
 * returns the reference's verdict and every field of its wc_pkt; the filter
 * reports the same verdict and picks the rule the reference picks for that
 * key, so a crafted frame is never classified as another one. Reads outside
 * the frame are the verifier's to refuse: the programs loaded are the shipped
 * ones. Needs root (BPF).
 */
#include <stdio.h>
#include <errno.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "testkit/testkit.h"
#include "fuzz.h"
#include "ref_parse.h"
#include "wcard_parse_test.skel.h"

#define FRAME_MAX 3072 /* below the linear size BPF_PROG_TEST_RUN gives XDP */

static struct wcard_parse_test *skel;
static struct {
	const char *rules;
	struct wcard_ruleset rs;
	struct wcard_clf *clf;
} clf[2] = {
	{ "src 10.0.0.0/8 proto tcp dport 0-1023 prio 1 drop\n"
	  "dst 192.168.0.0/16 proto udp prio 2 pass\n"
	  "sport 1024-65535 dport 53 prio 3 drop\n"
	  "proto 132 prio 4 drop\n"
	  "src 0.0.0.0/1 dst 128.0.0.0/2 prio 5 pass\n"
	  "prio 6 drop\n" },
	{ "src 2001:db8::/32 proto tcp dport 443 prio 1 drop\n"
	  "dst ::/1 proto udp sport 0-32767 prio 2 pass\n"
	  "proto 58 prio 3 drop\n"
	  "prio 4 pass\n" },
};

static void setup(void)
{
	const struct wcard_layout *l[2] = { wcard_layout_ipv4(), wcard_layout_ipv6() };
	char err[512] = "";
	int i;

	libbpf_set_print(NULL);
	skel = wcard_parse_test__open_and_load();
	if (!skel) {
		fprintf(stderr, "fuzz_parse: loading the parser test program: %s (root?)\n",
			strerror(errno));
		exit(1);
	}
	for (i = 0; i < 2; i++) {
		struct wcard_clf_opts o = { .layout = l[i], .algo = WC_ALGO_TM, .max_rules = 64 };

		wcard_ruleset_init(&clf[i].rs, l[i]);
		if (wcard_rules_parse("fuzz rules", clf[i].rules, WCARD_FMT_WCARD, l[i], &clf[i].rs,
				      err, sizeof(err)) ||
		    wcard_clf_create(&o, &clf[i].clf, err, sizeof(err)) ||
		    wcard_clf_load(clf[i].clf, &clf[i].rs, err, sizeof(err))) {
			fprintf(stderr, "fuzz_parse: classifier %d: %s\n", i, err);
			exit(1);
		}
	}
}

/* wc_parse() in BPF; frames under 14 bytes go in padded, with data_end at their length. */
static int bpf_parse(const uint8_t *f, size_t len, struct wc_pkt *out)
{
	struct xdp_md ctx = { .data_end = len };
	uint8_t pad[14] = {};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = len, .repeat = 1);

	if (len < sizeof(pad)) {
		memcpy(pad, f, len);
		o.data_in = pad;
		o.data_size_in = sizeof(pad);
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
	}
	memset(&skel->bss->wc_test_pkt, 0x5a, sizeof(skel->bss->wc_test_pkt));
	skel->bss->wc_test_status = -1;
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.wc_parse_test), &o))
		fz_fail("test run of a %zu-byte frame: %s", len, strerror(errno));
	*out = skel->bss->wc_test_pkt;
	return skel->bss->wc_test_status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wc_pkt got, want;
	int st, ref, i;

	if (!skel)
		setup();
	if (size > FRAME_MAX)
		size = FRAME_MAX;
	st = bpf_parse(data, size, &got);
	ref = ref_parse(data, size, &want);
	if (st != ref)
		fz_fail("%zu-byte frame: BPF verdict %d, reference %d", size, st, ref);
	if (memcmp(&got, &want, sizeof(got)))
		fz_fail("%zu-byte frame: BPF wc_pkt differs from the reference", size);
	if (size < 14)
		return 0;
	for (i = 0; i < 2; i++) {
		struct wc_xdp_meta m;
		struct wc_key k;
		long rule = -1;
		__u32 action;

		if (wcard_clf_run_frame(clf[i].clf, data, size, &m, &action, NULL))
			fz_fail("filter %d: test run of a %zu-byte frame failed", i, size);
		if (m.parse != ref)
			fz_fail("filter %d: verdict %u, reference %d", i, m.parse, ref);
		if (ref == WC_PARSE_OK && !wcard_key_from_pkt(clf[i].rs.layout, &want, &k))
			rule = tk_ref_lookup(&clf[i].rs, &k);
		if (m.id != (rule < 0 ? WC_ID_NONE : (__u32)rule))
			fz_fail("filter %d: rule %u, reference %ld", i, m.id, rule);
		if (rule >= 0 && m.value != clf[i].rs.rules[rule].value)
			fz_fail("filter %d: value %llu, reference %llu", i,
				(unsigned long long)m.value,
				(unsigned long long)clf[i].rs.rules[rule].value);
	}
	return 0;
}
