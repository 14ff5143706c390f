// SPDX-License-Identifier: MIT
/*
 * mkseeds.c: writes the binary seeds of tests/fuzz/corpus (make fuzz-seeds):
 * frames for fuzz_parse, built by wcard_frame_build() in every shape the
 * parser knows, and operation programs for fuzz_tm. The text seeds of the
 * rule and route parsers are written by hand.
 */
#include <stdio.h>
#include <string.h>
#include <wcard/wcard.h>
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

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		__u8 family, proto;
		struct wcard_frame_opts o;
	} fr[] = {
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
	const char *dir = argc > 2 ? argv[1] : "tests/fuzz/corpus/parse";
	const char *tdir = argc > 2 ? argv[2] : "tests/fuzz/corpus/tm";
	struct wt_rng r = { .s = 2026 };
	__u8 buf[512];
	unsigned int i, j;

	for (i = 0; i < sizeof(fr) / sizeof(fr[0]); i++) {
		struct wc_pkt p = { .family = fr[i].family, .proto = fr[i].proto, .sport = 40000 + i,
				    .dport = i % 2 ? 53 : 443, .tcp_flags = 0x12 };
		int n;

		for (j = 0; j < 16; j++) {
			p.src[j] = (__u8)wt_rnd(&r);
			p.dst[j] = (__u8)wt_rnd(&r);
		}
		if (p.family == 4) {
			memset(p.src + 4, 0, 12);
			memset(p.dst + 4, 0, 12);
			p.src[0] = 10; /* inside the fuzz target's first rule */
		}
		n = wcard_frame_build(&p, &fr[i].o, buf, sizeof(buf));
		if (n < 0)
			return 1;
		put(dir, fr[i].name, buf, n);
	}
	/* ARP: not IP. */
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
	return 0;
}
