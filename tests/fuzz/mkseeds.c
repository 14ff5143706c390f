// SPDX-License-Identifier: MIT
/*
 * mkseeds.c: writes the binary seeds of tests/fuzz/corpus (make fuzz-seeds):
 * frames for fuzz_parse, built by tk_frame_build() in every shape the
 * parser knows (VLAN, PPPoE, MPLS, IPv4 options and AH, IPv6 extension
 * headers, fragments), and operation programs for fuzz_tm. The text seeds of
 * the rule and route parsers are written by hand.
 */
#include <stdio.h>
#include <string.h>
#include <wcard/wcard.h>
#include "testkit/testkit.h"
#include "wctest.h"

static void put(const char *dir, const char *name, const void *b, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(b, 1, n, f) != n) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

struct frame_seed {
	const char *name;
	__u8 family, proto;
	struct tk_frame_opts o;
};

/* Each frame of fr with random addresses from r (IPv4 sources in 10/8). */
static void frames(const char *dir, const struct frame_seed *fr, unsigned int n, struct wt_rng *r)
{
	__u8 buf[512];
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		struct wc_pkt p = { .family = fr[i].family,
				    .proto = fr[i].proto,
				    .sport = 40000 + i,
				    .dport = i % 2 ? 53 : 443,
				    .tcp_flags = 0x12 };
		int len;

		for (j = 0; j < 16; j++) {
			p.src[j] = (__u8)wt_rnd(r);
			p.dst[j] = (__u8)wt_rnd(r);
		}
		if (p.family == 4) {
			memset(p.src + 4, 0, 12);
			memset(p.dst + 4, 0, 12);
			p.src[0] = 10; /* inside the fuzz target's first rule */
		}
		len = tk_frame_build(&p, &fr[i].o, buf, sizeof(buf));
		if (len < 0)
			exit(1);
		put(dir, fr[i].name, buf, len);
	}
}

int main(int argc, char **argv)
{
	static const struct frame_seed fr[] = {
		{ "v4_tcp", 4, 6, { .payload = 4 } },
		{ "v4_udp_vlan", 4, 17, { .nvlan = 1, .vlan = { 100 } } },
		{ "v4_sctp_qinq", 4, 132, { .nvlan = 2, .vlan = { 10, 20 } } },
		{ "v4_icmp_opts", 4, 1, { .ip_opts = 12, .payload = 8 } },
		{ "v4_tcp_first_frag", 4, 6, { .frag = WC_FRAG_FIRST } },
		{ "v4_udp_later_frag", 4, 17, { .frag = WC_FRAG_LATER, .payload = 16 } },
		{ "v6_tcp", 6, 6, { .payload = 2 } },
		{ "v6_udp_ext", 6, 17, { .nipv6_ext = 3, .ipv6_ext = { 0, 43, 60 } } },
		{ "v6_frag_first", 6, 6, { .frag = WC_FRAG_FIRST } },
		{ "v6_frag_later_vlan", 6, 17, { .frag = WC_FRAG_LATER, .nvlan = 1, .vlan = { 7 } } },
		{ "v6_icmpv6", 6, 58, { .payload = 8 } },
	};
	/* After the fuzz_tm programs, so that the seeds above stay as they were. */
	static const struct frame_seed encap[] = {
		{ "v4_tcp_pppoe", 4, 6, { .pppoe = 0x11, .payload = 2 } },
		{ "v6_udp_vlan_pppoe", 6, 17, { .nvlan = 1, .vlan = { 300 }, .pppoe = 0x12 } },
		{ "v4_tcp_mpls", 4, 6, { .nmpls = 1 } },
		{ "v6_tcp_qinq_mpls3", 6, 6, { .nvlan = 2, .vlan = { 1, 2 }, .nmpls = 3 } },
		{ "v4_tcp_ah", 4, 6, { .ipv4_ah = 24, .payload = 4 } },
		{ "v4_udp_ah_mpls", 4, 17, { .ipv4_ah = 12, .nmpls = 2 } },
	};
	struct tk_frame_opts pppoe = { .pppoe = 1 }, mpls = { .nmpls = 2 };
	struct wc_pkt ip = { .family = 4, .proto = 6, .src = { 10 } };
	const char *dir = argc > 2 ? argv[1] : "tests/fuzz/corpus/parse";
	const char *tdir = argc > 2 ? argv[2] : "tests/fuzz/corpus/tm";
	struct wt_rng r = { .s = 2026 };
	__u8 buf[512];
	unsigned int i, j;
	int n;

	frames(dir, fr, sizeof(fr) / sizeof(fr[0]), &r);
	/* ARP: not IP. */
	memset(buf, 0, 42);
	memset(buf, 0xff, 6);
	buf[12] = 0x08;
	buf[13] = 0x06;
	put(dir, "arp", buf, 42);
	/* fuzz_tm programs: 10-byte operations (kind, argument, seed). */
	for (i = 0; i < 4; i++) {
		unsigned int nops = 8 + 12 * i;

		for (j = 0; j < nops; j++) {
			__u64 s = wt_rnd(&r);

			buf[10 * j] = (__u8)(j < nops / 2 ? 0 : wt_below(&r, 8));
			buf[10 * j + 1] = (__u8)wt_rnd(&r);
			memcpy(buf + 10 * j + 2, &s, 8);
		}
		snprintf((char *)buf + 500, 12, "ops%u", i);
		put(tdir, (char *)buf + 500, buf, 10 * nops);
	}
	frames(dir, encap, sizeof(encap) / sizeof(encap[0]), &r);
	/* Not IP either: PPPoE carrying LCP, MPLS carrying a pseudowire control word. */
	n = tk_frame_build(&ip, &pppoe, buf, sizeof(buf));
	if (n < 0)
		return 1;
	buf[20] = 0xc0;
	buf[21] = 0x21;
	put(dir, "pppoe_lcp", buf, n);
	n = tk_frame_build(&ip, &mpls, buf, sizeof(buf));
	if (n < 0)
		return 1;
	buf[22] = 0;
	put(dir, "mpls_pw_control_word", buf, n);
	return 0;
}
