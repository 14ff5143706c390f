// SPDX-License-Identifier: MIT
/* test_parse.c: wc_parse() in BPF on built and hand-made frames, field by field (suite "parse"). */
#include <stdio.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ref_parse.h"
#include "wctest.h"
#include "wcard_parse_test.skel.h"
#include "compat/wcard_parse_test.skel.h"
#include "core/skel.h"

#define FRAME_MAX 3072 /* stays below the linear size BPF_PROG_TEST_RUN gives XDP */
#define ETH_HLEN  14

enum {
	P_HOP = 0,
	P_ICMP = 1,
	P_TCP = 6,
	P_UDP = 17,
	P_RT = 43,
	P_FRAG = 44,
	P_GRE = 47,
	P_ESP = 50,
	P_AH = 51,
	P_ICMPV6 = 58,
	P_NONXT = 59,
	P_DST = 60,
	P_SCTP = 132
};

static struct wcard_parse_test *skel;

static void pt_setup(void)
{
	skel = wcard_skel_open(wcard_parse_test);
	cr_assert_not_null(skel, "open the parse test program: %s", strerror(errno));
	cr_assert_eq(wcard_parse_test__load(skel), 0, "load the parse test program (%s build)",
		     wcard_bpf_build_name(wcard_bpf_build()));
}

/* run()'s answer for a frame this kernel cannot run (see there), and how many. */
#define RUNT_UNTESTED (-1000)
static unsigned int runts_untested;

static void pt_teardown(void)
{
	if (runts_untested)
		cr_log_info("parse: %u frames shorter than an Ethernet header not run: this kernel "
			    "takes no xdp_md context in test runs (5.15+)",
			    runts_untested);
	wcard_parse_test__destroy(skel);
	skel = NULL;
}

TestSuite(parse, .init = pt_setup, .fini = pt_teardown);

/* ---- frame bytes ---------------------------------------------------------- */

static void wr16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static __u16 rd16(const __u8 *p)
{
	return (p[0] << 8) | p[1];
}

static int has_ports(__u8 proto)
{
	return proto == P_TCP || proto == P_UDP || proto == P_SCTP;
}

/* Bytes of the L4 header the parser needs for ports (0: no ports). */
static unsigned int l4_hlen(__u8 proto)
{
	return proto == P_TCP ? 20 : proto == P_UDP ? 8 : proto == P_SCTP ? 12 : 0;
}

static const char *st_name(int st)
{
	static const char *const n[] = { "OK", "NOT_IP", "TRUNCATED", "MALFORMED" };

	return st >= 0 && st <= 3 ? n[st] : "?";
}

/* Insert n bytes at off into a frame of *len bytes. */
static void insert(__u8 *f, int *len, unsigned int off, const __u8 *bytes, unsigned int n)
{
	memmove(f + off + n, f + off, *len - off);
	memcpy(f + off, bytes, n);
	*len += n;
}

/* Ethernet padding: grow the frame to 60 bytes with junk. */
static void pad60(__u8 *f, int *len)
{
	if (*len < 60) {
		memset(f + *len, 0xcd, 60 - *len);
		*len = 60;
	}
}

/* ---- running the parser --------------------------------------------------- */

/*
 * Run the first len bytes of frame through wc_parse() in BPF. Returns the verdict
 * and copies the parsed packet to *out. BPF_PROG_TEST_RUN takes no input shorter
 * than an Ethernet header, so a shorter cut goes in as 14 bytes with
 * xdp_md.data_end = len: the kernel puts the rest in a fragment the program does
 * not see (frame must have 14 readable bytes).
 */
static int run(const __u8 *frame, size_t len, struct wc_pkt *out, const char *name)
{
	struct xdp_md ctx = { .data_end = len };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len, .repeat = 1);
	int ret;

	if (len < ETH_HLEN) {
		o.data_size_in = ETH_HLEN;
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
	}
	/* Poison the outputs: the program must write every field itself. */
	memset(&skel->bss->wc_test_pkt, 0x5a, sizeof(skel->bss->wc_test_pkt));
	skel->bss->wc_test_status = -1;
	ret = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.wc_parse_test), &o);
	/*
	 * Kernels before 5.15 take no xdp_md context in a test run, so a frame
	 * shorter than an Ethernet header cannot reach the program at all (nor
	 * does one from a NIC). The callers skip such a case; the count is logged.
	 */
	if (ret && errno == EINVAL && len < ETH_HLEN) {
		runts_untested++;
		return RUNT_UNTESTED;
	}
	cr_assert_eq(ret, 0, "case %s: test run of %zu bytes: %d (%s)", name, len, ret,
		     strerror(errno));
	cr_assert_eq(o.retval, XDP_PASS, "case %s: retval %u", name, o.retval);
	*out = skel->bss->wc_test_pkt;
	return skel->bss->wc_test_status;
}


/* Every field of g against e (padding included: the parser zeroes the struct). */
static void check_fields(const char *name, const struct wc_pkt *g, const struct wc_pkt *e)
{
	unsigned int i;

	cr_assert_eq(g->family, e->family, "case %s: family %u, expected %u", name, g->family,
		     e->family);
	cr_assert_eq(g->proto, e->proto, "case %s: proto %u, expected %u", name, g->proto,
		     e->proto);
	cr_assert_eq(g->tcp_flags, e->tcp_flags, "case %s: tcp_flags %#x, expected %#x", name,
		     g->tcp_flags, e->tcp_flags);
	cr_assert_eq(g->frag, e->frag, "case %s: frag %u, expected %u", name, g->frag, e->frag);
	cr_assert_eq(g->sport, e->sport, "case %s: sport %u, expected %u", name, g->sport,
		     e->sport);
	cr_assert_eq(g->dport, e->dport, "case %s: dport %u, expected %u", name, g->dport,
		     e->dport);
	cr_assert_eq(g->nvlan, e->nvlan, "case %s: nvlan %u, expected %u", name, g->nvlan,
		     e->nvlan);
	for (i = 0; i < WC_MAX_VLAN; i++)
		cr_assert_eq(g->vlan[i], e->vlan[i], "case %s: vlan[%u] %u, expected %u", name, i,
			     g->vlan[i], e->vlan[i]);
	cr_assert_eq(g->l3_off, e->l3_off, "case %s: l3_off %u, expected %u", name, g->l3_off,
		     e->l3_off);
	cr_assert_eq(g->l4_off, e->l4_off, "case %s: l4_off %u, expected %u", name, g->l4_off,
		     e->l4_off);
	cr_assert_eq(g->_pad0, 0, "case %s: _pad0 %u", name, g->_pad0);
	cr_assert_eq(g->_pad1, 0, "case %s: _pad1 %u", name, g->_pad1);
	for (i = 0; i < 16; i++) {
		cr_assert_eq(g->src[i], e->src[i], "case %s: src[%u] %#x, expected %#x", name, i,
			     g->src[i], e->src[i]);
		cr_assert_eq(g->dst[i], e->dst[i], "case %s: dst[%u] %#x, expected %#x", name, i,
			     g->dst[i], e->dst[i]);
	}
}

static void check_ok(const char *name, int st, const struct wc_pkt *g, const struct wc_pkt *e)
{
	cr_assert_eq(st, WC_PARSE_OK, "case %s: status %d (%s), expected OK", name, st,
		     st_name(st));
	check_fields(name, g, e);
}

/* A failed parse leaves no key: address, port, protocol and offset fields are 0. */
static void check_no_key(const char *name, const struct wc_pkt *g)
{
	static const __u8 zero[16];

	cr_assert_eq(g->family, 0, "case %s: family %u on failure", name, g->family);
	cr_assert_eq(g->proto, 0, "case %s: proto %u on failure", name, g->proto);
	cr_assert_eq(g->tcp_flags, 0, "case %s: tcp_flags %#x on failure", name, g->tcp_flags);
	cr_assert_eq(g->frag, 0, "case %s: frag %u on failure", name, g->frag);
	cr_assert_eq(g->sport, 0, "case %s: sport %u on failure", name, g->sport);
	cr_assert_eq(g->dport, 0, "case %s: dport %u on failure", name, g->dport);
	cr_assert_eq(g->l3_off, 0, "case %s: l3_off %u on failure", name, g->l3_off);
	cr_assert_eq(g->l4_off, 0, "case %s: l4_off %u on failure", name, g->l4_off);
	cr_assert_eq(memcmp(g->src, zero, 16), 0, "case %s: src not zero on failure", name);
	cr_assert_eq(memcmp(g->dst, zero, 16), 0, "case %s: dst not zero on failure", name);
}

static void check_fail(const char *name, int st, const struct wc_pkt *g, int want)
{
	cr_assert_eq(st, want, "case %s: status %d (%s), expected %s", name, st, st_name(st),
		     st_name(want));
	check_no_key(name, g);
}

static void check_reference(const char *name, int st, const struct wc_pkt *g, const __u8 *f,
			    int len);

/* ---- frames and what the parser must say about them ----------------------- */

/* A frame, the parse result it must give, and where its L4 header starts. */
struct frame {
	const char *name;
	__u8 b[FRAME_MAX];
	int len;
	unsigned int l4; /* offset of the L4 header (or payload), parsed or not */
	unsigned int pppoe; /* offset of the PPPoE header, 0 if none */
	struct wc_pkt e;
};

static const __u8 v4_src[4] = { 10, 1, 2, 3 };
static const __u8 v4_dst[4] = { 192, 168, 200, 7 };
static const __u8 v6_src[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x11, 0x22, 0x33, 0x44,
				 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x01 };
static const __u8 v6_dst[16] = { 0xfe, 0x80, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04,
				 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c };

static struct wc_pkt mkpkt(int family, __u8 proto, __u16 sport, __u16 dport, __u8 flags)
{
	struct wc_pkt p;

	memset(&p, 0, sizeof(p));
	p.family = family;
	p.proto = proto;
	p.sport = sport;
	p.dport = dport;
	p.tcp_flags = flags;
	memcpy(p.src, family == 4 ? v4_src : v6_src, family == 4 ? 4 : 16);
	memcpy(p.dst, family == 4 ? v4_dst : v6_dst, family == 4 ? 4 : 16);
	return p;
}

/* The L3 part of the expected result, and the ports when the frame carries them. */
static void expect_l3(struct wc_pkt *e, const struct wc_pkt *p, unsigned int l3, unsigned int l4,
		      unsigned int frag)
{
	e->family = p->family;
	e->proto = p->proto;
	memcpy(e->src, p->src, p->family == 4 ? 4 : 16);
	memcpy(e->dst, p->dst, p->family == 4 ? 4 : 16);
	e->l3_off = l3;
	e->frag = frag;
	if (frag != WC_FRAG_LATER && has_ports(p->proto)) {
		e->sport = p->sport;
		e->dport = p->dport;
		e->l4_off = l4;
		e->tcp_flags = p->proto == P_TCP ? p->tcp_flags : 0;
	}
}

/* tk_frame_build() p with o into fr, and what wc_parse() must report for it. */
static void mkframe(struct frame *fr, const char *name, const struct wc_pkt *p,
		    const struct tk_frame_opts *o)
{
	static const struct tk_frame_opts none;
	unsigned int i, l3, next = 0, frag_hdr = 0;

	if (!o)
		o = &none;
	memset(fr, 0, sizeof(*fr));
	fr->name = name;
	fr->len = tk_frame_build(p, o, fr->b, sizeof(fr->b));
	cr_assert_gt(fr->len, 0, "case %s: frame build: %d", name, fr->len);
	fr->e.nvlan = o->nvlan;
	for (i = 0; i < o->nvlan; i++)
		fr->e.vlan[i] = o->vlan[i] & 0xfff;
	l3 = ETH_HLEN + 4 * o->nvlan;
	if (o->pppoe)
		fr->pppoe = l3;
	l3 += (o->pppoe ? 8 : 0) + 4 * o->nmpls;
	if (p->family == 4) {
		fr->l4 = l3 + 20 + o->ip_opts + o->ipv4_ah;
	} else {
		for (i = 0; i < o->nipv6_ext && i < 8; i++, next++)
			frag_hdr |= o->ipv6_ext[i] == P_FRAG;
		if (o->frag && !frag_hdr)
			next++;
		fr->l4 = l3 + 40 + 8 * next;
	}
	expect_l3(&fr->e, p, l3, fr->l4, o->frag);
}

/* Build p with o, parse it, and compare every field with what the frame carries. */
static void case_built(const char *name, const struct wc_pkt *p, const struct tk_frame_opts *o)
{
	struct frame fr;
	struct wc_pkt g;
	int st;

	mkframe(&fr, name, p, o);
	st = run(fr.b, fr.len, &g, name);
	check_ok(name, st, &g, &fr.e);
	check_reference(name, st, &g, fr.b, fr.len);
}

/* Parse a frame that must fail with want, leaving no key. */
static void case_fail(const char *name, const __u8 *f, int len, int want)
{
	struct wc_pkt g;
	int st = run(f, len, &g, name);

	if (st == RUNT_UNTESTED)
		return;
	check_fail(name, st, &g, want);
	check_reference(name, st, &g, f, len);
}

/* Ethernet header with n tags (tpid[i], tci[i]) and ethertype type; returns its length. */
static unsigned int put_eth(__u8 *f, unsigned int n, const __u16 *tpid, const __u16 *tci,
			    __u16 type)
{
	static const __u8 macs[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };
	unsigned int off = 12, i;

	memcpy(f, macs, 12);
	for (i = 0; i < n; i++, off += 4) {
		wr16(f + off, tpid[i]);
		wr16(f + off + 2, tci[i]);
	}
	wr16(f + off, type);
	return off + 2;
}

/* One IPv6 extension header of a hand-made frame. */
struct ext {
	__u8 type;
	__u16 len; /* bytes: a multiple of 8 (AH: of 4), fragment header 8 */
	__u16 fo;  /* fragment header: offset << 3 | M */
};

/*
 * By hand, for what tk_frame_build() cannot say: Ethernet, IPv6, extension
 * headers of any length, the L4 header of p->proto (TCP/UDP/SCTP, also in later
 * fragments, where it only looks like one), payload bytes.
 */
static void build_v6(struct frame *fr, const struct wc_pkt *p, const struct ext *x, unsigned int n,
		     unsigned int payload)
{
	unsigned int off, i, frag = WC_FRAG_NONE, hl = l4_hlen(p->proto), later_proto = 0;
	__u8 *h, *e;

	for (i = 0, off = ETH_HLEN + 40 + hl + payload; i < n; i++)
		off += x[i].len;
	cr_assert_leq(off, FRAME_MAX, "hand-made frame of %u bytes fits", off);
	memset(fr, 0, sizeof(*fr));
	off = put_eth(fr->b, 0, NULL, NULL, 0x86dd);
	h = fr->b + off;
	h[0] = 0x60;
	h[6] = n ? x[0].type : p->proto;
	h[7] = 64;
	memcpy(h + 8, p->src, 16);
	memcpy(h + 24, p->dst, 16);
	off += 40;
	for (i = 0; i < n; i++) {
		e = fr->b + off;
		e[0] = i + 1 < n ? x[i + 1].type : p->proto;
		if (x[i].type == P_FRAG) {
			cr_assert_eq(x[i].len, 8, "fragment header is 8 bytes");
			wr16(e + 2, x[i].fo);
			e[7] = 0x42;
			/* After a later fragment's header comes payload: the walk stops there. */
			if (frag != WC_FRAG_LATER && (x[i].fo & 0xfff8)) {
				frag = WC_FRAG_LATER;
				later_proto = e[0];
			} else if (frag != WC_FRAG_LATER && (x[i].fo & 1)) {
				frag = WC_FRAG_FIRST;
			}
		} else if (x[i].type == P_AH) {
			e[1] = x[i].len / 4 - 2;
			memset(e + 4, 0x77, x[i].len - 4); /* SPI, sequence, ICV */
		} else {
			e[1] = x[i].len / 8 - 1; /* options: Pad1 (0) bytes; routing: type 0 */
		}
		off += x[i].len;
	}
	fr->l4 = off;
	e = fr->b + off;
	if (hl) {
		wr16(e, p->sport);
		wr16(e + 2, p->dport);
		if (p->proto == P_TCP) {
			e[12] = 5 << 4;
			e[13] = p->tcp_flags;
		} else if (p->proto == P_UDP) {
			wr16(e + 4, hl + payload);
		}
	}
	memset(e + hl, 0xab, payload);
	fr->len = off + hl + payload;
	wr16(h + 4, fr->len - ETH_HLEN - 40);
	expect_l3(&fr->e, p, ETH_HLEN, fr->l4, frag);
	if (frag == WC_FRAG_LATER)
		fr->e.proto = later_proto; /* the later fragment header's next header */
}

/* ---- IPv4 ----------------------------------------------------------------- */

Test(parse, ipv4_l4)
{
	static const struct {
		const char *name;
		__u8 proto;
		__u16 sport, dport;
		__u8 flags;
		unsigned int payload;
	} c[] = {
		{ "tcp syn", P_TCP, 40000, 80, 0x02, 0 },
		{ "tcp ports 0", P_TCP, 0, 0, 0x10, 5 },
		{ "tcp ports 65535", P_TCP, 65535, 65535, 0xff, 100 },
		{ "tcp flags 0", P_TCP, 1, 2, 0, 1 },
		{ "udp", P_UDP, 53, 33333, 0, 12 },
		{ "udp ports 0", P_UDP, 0, 0, 0, 0 },
		{ "udp flags ignored", P_UDP, 1, 65535, 0x12, 0 },
		{ "sctp", P_SCTP, 2905, 36412, 0, 16 },
		{ "sctp flags ignored", P_SCTP, 65535, 0, 0x3f, 4 },
		{ "icmp", P_ICMP, 0x0800, 0x1234, 0, 8 },
		{ "icmp no payload", P_ICMP, 7, 7, 0, 0 },
		{ "gre", P_GRE, 1, 2, 0x02, 24 },
		{ "proto 0", 0, 5, 6, 0, 8 },
		{ "proto 255", 255, 5, 6, 0, 8 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct tk_frame_opts o = { .payload = c[i].payload };
		struct wc_pkt p = mkpkt(4, c[i].proto, c[i].sport, c[i].dport, c[i].flags);
		char name[96];

		snprintf(name, sizeof(name), "v4 %s", c[i].name);
		case_built(name, &p, &o);
	}
}

Test(parse, tcp_flags_every_value)
{
	unsigned int f, fam;

	for (fam = 4; fam <= 6; fam += 2) {
		for (f = 0; f < 256; f++) {
			struct wc_pkt p = mkpkt(fam, P_TCP, 1000 + f, 443, f);
			char name[64];

			snprintf(name, sizeof(name), "v%u tcp flags %#x", fam, f);
			case_built(name, &p, NULL);
		}
	}
}

Test(parse, ipv4_options)
{
	static const unsigned int opts[] = { 0, 4, 8, 20, 36, 40 };
	static const __u8 protos[] = { P_TCP, P_UDP, P_SCTP, P_ICMP, P_GRE };
	unsigned int i, j, v;

	for (i = 0; i < 6; i++) {
		for (j = 0; j < sizeof(protos); j++) {
			for (v = 0; v <= 2; v++) {
				struct tk_frame_opts o = { .ip_opts = opts[i],
							      .nvlan = v,
							      .vlan = { 3000, 77 },
							      .payload = 9 };
				struct wc_pkt p = mkpkt(4, protos[j], 1234 + i, 4321 + j, 0x29);
				char name[96];

				snprintf(name, sizeof(name), "v4 opts %u proto %u nvlan %u",
					 opts[i], protos[j], v);
				case_built(name, &p, &o);
			}
		}
	}
}

Test(parse, ipv4_malformed)
{
	struct wc_pkt p = mkpkt(4, P_TCP, 1, 2, 0x18);
	struct tk_frame_opts o4 = { .ip_opts = 4, .payload = 8 };
	static const __u8 protos[] = { P_TCP, P_UDP, P_SCTP, P_ICMP };
	struct frame fr, t;
	unsigned int k, v, l3 = ETH_HLEN;
	char name[96];

	/* IHL below 5, also where a 16-byte header would leave a usable L4 header. */
	for (k = 0; k < sizeof(protos); k++) {
		struct wc_pkt q = mkpkt(4, protos[k], 1, 2, 0);
		struct tk_frame_opts o = { .payload = 24 };

		mkframe(&fr, "v4", &q, &o);
		for (v = 0; v < 5; v++) {
			t = fr;
			t.b[l3] = 0x40 | v;
			snprintf(name, sizeof(name), "v4 proto %u ihl %u", protos[k], v);
			case_fail(name, t.b, t.len, WC_PARSE_MALFORMED);
		}
	}
	mkframe(&fr, "v4 tcp", &p, NULL);
	for (v = 0; v < 16; v++) {
		if (v == 4)
			continue;
		t = fr;
		t.b[l3] = v << 4 | 5;
		snprintf(name, sizeof(name), "v4 ethertype, version %u", v);
		case_fail(name, t.b, t.len, WC_PARSE_MALFORMED);
	}
	/* Total length shorter than the header. */
	for (v = 0; v < 20; v += 19) {
		t = fr;
		wr16(t.b + l3 + 2, v);
		snprintf(name, sizeof(name), "v4 tot_len %u < ihl 5", v);
		case_fail(name, t.b, t.len, WC_PARSE_MALFORMED);
	}
	mkframe(&fr, "v4 tcp opts 4", &p, &o4);
	for (v = 20; v < 24; v += 3) {
		t = fr;
		wr16(t.b + l3 + 2, v);
		snprintf(name, sizeof(name), "v4 tot_len %u < ihl 6", v);
		case_fail(name, t.b, t.len, WC_PARSE_MALFORMED);
	}
	/* IHL 15 with a total length of 40: the header alone is 60. */
	mkframe(&fr, "v4 tcp", &p, NULL);
	t = fr;
	t.b[l3] = 0x4f;
	case_fail("v4 ihl 15 tot_len 40", t.b, t.len, WC_PARSE_MALFORMED);
	/* TCP data offset below 5. */
	for (v = 0; v < 5; v++) {
		t = fr;
		t.b[t.l4 + 12] = v << 4;
		snprintf(name, sizeof(name), "v4 tcp doff %u", v);
		case_fail(name, t.b, t.len, WC_PARSE_MALFORMED);
	}
}

Test(parse, ipv4_truncated)
{
	struct wc_pkt p = mkpkt(4, P_TCP, 1, 2, 0x18);
	struct tk_frame_opts o = { .payload = 10 };
	struct frame fr, t;
	unsigned int l3 = ETH_HLEN, tot;

	mkframe(&fr, "v4 tcp", &p, &o);
	tot = fr.len - l3;
	t = fr;
	wr16(t.b + l3 + 2, tot + 1);
	case_fail("v4 tot_len one past the frame", t.b, t.len, WC_PARSE_TRUNCATED);
	t = fr;
	wr16(t.b + l3 + 2, 0xffff);
	case_fail("v4 tot_len 65535", t.b, t.len, WC_PARSE_TRUNCATED);
	/* IHL 15 and a total length that covers it, but a shorter frame. */
	t = fr;
	t.b[l3] = 0x4f;
	wr16(t.b + l3 + 2, 60);
	case_fail("v4 ihl 15 past the frame", t.b, t.len, WC_PARSE_TRUNCATED);
	/* The L4 header cut by the total length (no padding behind it). */
	t = fr;
	wr16(t.b + l3 + 2, 20 + 19);
	t.len = l3 + 20 + 19;
	case_fail("v4 tcp header 19 of 20 bytes", t.b, t.len, WC_PARSE_TRUNCATED);
	p = mkpkt(4, P_UDP, 1, 2, 0);
	mkframe(&fr, "v4 udp", &p, NULL);
	wr16(fr.b + l3 + 2, 20 + 7);
	case_fail("v4 udp header 7 of 8 bytes", fr.b, l3 + 27, WC_PARSE_TRUNCATED);
	p = mkpkt(4, P_SCTP, 1, 2, 0);
	mkframe(&fr, "v4 sctp", &p, NULL);
	wr16(fr.b + l3 + 2, 20 + 11);
	case_fail("v4 sctp header 11 of 12 bytes", fr.b, l3 + 31, WC_PARSE_TRUNCATED);
}

/*
 * Bytes past the IP packet's own length are never headers. A total length that
 * ends inside the L4 header must give TRUNCATED, whether the frame then goes on
 * with junk (Ethernet padding to 60 bytes) or with the rest of the real L4
 * header; a complete packet must ignore what follows it.
 */
Test(parse, ethernet_padding)
{
	static const struct {
		const char *name;
		int family;
		__u8 proto;
		unsigned int keep; /* L3 payload bytes the IP length field keeps */
		int want;
	} c[] = {
		{ "v4 tcp 4 of 20", 4, P_TCP, 4, WC_PARSE_TRUNCATED },
		{ "v4 tcp 0 of 20", 4, P_TCP, 0, WC_PARSE_TRUNCATED },
		{ "v4 tcp 19 of 20", 4, P_TCP, 19, WC_PARSE_TRUNCATED },
		{ "v4 udp 4 of 8", 4, P_UDP, 4, WC_PARSE_TRUNCATED },
		{ "v4 sctp 8 of 12", 4, P_SCTP, 8, WC_PARSE_TRUNCATED },
		{ "v4 tcp complete", 4, P_TCP, 20, WC_PARSE_OK },
		{ "v4 udp complete", 4, P_UDP, 8, WC_PARSE_OK },
		{ "v4 sctp complete", 4, P_SCTP, 12, WC_PARSE_OK },
		{ "v4 icmp 4 bytes", 4, P_ICMP, 4, WC_PARSE_OK },
		{ "v6 tcp 4 of 20", 6, P_TCP, 4, WC_PARSE_TRUNCATED },
		{ "v6 udp 0 of 8", 6, P_UDP, 0, WC_PARSE_TRUNCATED },
		{ "v6 sctp 11 of 12", 6, P_SCTP, 11, WC_PARSE_TRUNCATED },
		{ "v6 udp complete", 6, P_UDP, 8, WC_PARSE_OK },
	};
	unsigned int i, junk, l3 = ETH_HLEN, iph;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		for (junk = 0; junk < 2; junk++) {
			struct wc_pkt p = mkpkt(c[i].family, c[i].proto, 5353, 5354, 0x11), g;
			struct tk_frame_opts o = { .payload = 40 };
			struct frame fr;
			char name[96];
			int st;

			snprintf(name, sizeof(name), "%s, then %s", c[i].name,
				 junk ? "junk padding to 60" : "the real bytes");
			mkframe(&fr, name, &p, &o);
			iph = c[i].family == 4 ? 20 : 40;
			if (c[i].family == 4)
				wr16(fr.b + l3 + 2, iph + c[i].keep);
			else
				wr16(fr.b + l3 + 4, c[i].keep);
			if (junk) {
				fr.len = l3 + iph + c[i].keep;
				pad60(fr.b, &fr.len);
			}
			st = run(fr.b, fr.len, &g, name);
			if (c[i].want == WC_PARSE_OK)
				check_ok(name, st, &g, &fr.e);
			else
				check_fail(name, st, &g, c[i].want);
		}
	}
}

/* Real padding bytes behind the frame must not be taken for a header either. */
Test(parse, ethernet_padding_v6_ext)
{
	struct wc_pkt p = mkpkt(6, P_TCP, 80, 8080, 0x10);
	static const struct ext dst = { P_DST, 8, 0 };
	struct frame fr;

	/* Payload length covers the destination options only; TCP sits in padding. */
	build_v6(&fr, &p, &dst, 1, 0);
	wr16(fr.b + ETH_HLEN + 4, 8);
	case_fail("v6 dstopts, tcp past payload length", fr.b, fr.len, WC_PARSE_TRUNCATED);
	/* Payload length 4, next header hop-by-hop: the extension header is in padding. */
	build_v6(&fr, &p, &dst, 1, 0);
	fr.b[ETH_HLEN + 6] = P_HOP;
	wr16(fr.b + ETH_HLEN + 4, 4);
	case_fail("v6 hop-by-hop past payload length", fr.b, fr.len, WC_PARSE_TRUNCATED);
	wr16(fr.b + ETH_HLEN + 4, 0);
	case_fail("v6 payload length 0, next header hop-by-hop", fr.b, fr.len, WC_PARSE_TRUNCATED);
	/* A chain that would be too long, but its headers are past the packet. */
	{
		struct ext x[WC_MAX_IPV6_EXT + 1];
		unsigned int i;

		for (i = 0; i <= WC_MAX_IPV6_EXT; i++)
			x[i] = (struct ext){ P_HOP, 8, 0 };
		build_v6(&fr, &p, x, WC_MAX_IPV6_EXT + 1, 0);
		wr16(fr.b + ETH_HLEN + 4, 4);
		case_fail("v6 long chain past payload length", fr.b, fr.len, WC_PARSE_TRUNCATED);
	}
}

/* A later fragment whose payload looks like an L4 header (ports, flags). */
static void fake_l4(struct frame *fr)
{
	__u8 *h = fr->b + fr->l4;

	wr16(h, 1111);
	wr16(h + 2, 2222);
	h[12] = 5 << 4;
	h[13] = 0x18;
}

Test(parse, ipv4_fragments)
{
	static const __u8 protos[] = { P_TCP, P_UDP, P_SCTP, P_ICMP, P_GRE };
	unsigned int i, k, v, l3;
	char name[96];

	for (i = 0; i < sizeof(protos); i++) {
		for (v = 0; v <= 2; v++) {
			struct tk_frame_opts o = {
				.frag = WC_FRAG_FIRST, .nvlan = v, .vlan = { 10, 20 }, .payload = 20
			};
			struct wc_pkt p = mkpkt(4, protos[i], 3000, 4000, 0x02);
			struct frame fr, t;
			struct wc_pkt g;
			int st;

			snprintf(name, sizeof(name), "v4 first fragment proto %u nvlan %u",
				 protos[i], v);
			case_built(name, &p, &o);

			o.frag = WC_FRAG_LATER;
			snprintf(name, sizeof(name), "v4 later fragment proto %u nvlan %u",
				 protos[i], v);
			mkframe(&fr, name, &p, &o);
			fake_l4(&fr);
			st = run(fr.b, fr.len, &g, name);
			check_ok(name, st, &g, &fr.e);

			/* Middle fragment: offset and MF both set. */
			l3 = ETH_HLEN + 4 * v;
			t = fr;
			wr16(t.b + l3 + 6, 0x2000 | 185);
			snprintf(name, sizeof(name), "v4 middle fragment proto %u nvlan %u",
				 protos[i], v);
			st = run(t.b, t.len, &g, name);
			check_ok(name, st, &g, &fr.e);

			/* Offsets at the ends of the 13-bit field, DF and MF noise. */
			for (k = 0; k < 4; k++) {
				static const __u16 fo[] = { 0x4001, 0x1000, 0x3fff, 0x5555 };

				wr16(t.b + l3 + 6, fo[k]);
				snprintf(name, sizeof(name), "v4 fragment %#x proto %u nvlan %u",
					 fo[k], protos[i], v);
				st = run(t.b, t.len, &g, name);
				check_ok(name, st, &g, &fr.e);
			}
		}
	}

	/* DF alone is not a fragment. */
	{
		struct wc_pkt p = mkpkt(4, P_UDP, 68, 67, 0);
		struct frame fr;
		struct wc_pkt g;
		int st;

		mkframe(&fr, "v4 df", &p, NULL);
		wr16(fr.b + ETH_HLEN + 6, 0x4000);
		st = run(fr.b, fr.len, &g, "v4 df");
		check_ok("v4 df", st, &g, &fr.e);
	}
	/* A first fragment still needs its whole L4 header inside the packet. */
	{
		struct tk_frame_opts o = { .frag = WC_FRAG_FIRST };
		struct wc_pkt p = mkpkt(4, P_TCP, 1, 2, 0x02);
		struct frame fr;

		mkframe(&fr, "v4 first fragment short tcp", &p, &o);
		wr16(fr.b + ETH_HLEN + 2, 20 + 8);
		case_fail("v4 first fragment, 8 bytes of tcp", fr.b, ETH_HLEN + 28,
			  WC_PARSE_TRUNCATED);
	}
}

/* ---- VLAN and non-IP ------------------------------------------------------ */

Test(parse, vlan)
{
	static const struct {
		unsigned int n;
		__u16 id[2];
	} c[] = {
		{ 0, { 0, 0 } },    { 1, { 100, 0 } }, { 1, { 4095, 0 } },
		{ 1, { 0, 0 } },    { 1, { 1, 0 } },   { 2, { 10, 20 } },
		{ 2, { 4095, 1 } }, { 2, { 0, 0 } },   { 2, { 2048, 4094 } },
	};
	static const __u8 protos[] = { P_TCP, P_UDP, P_ICMP };
	unsigned int i, j, fam;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		for (j = 0; j < sizeof(protos); j++) {
			for (fam = 4; fam <= 6; fam += 2) {
				struct tk_frame_opts o = { .nvlan = c[i].n,
							      .vlan = { c[i].id[0], c[i].id[1] },
							      .payload = 3 };
				__u8 proto = fam == 6 && protos[j] == P_ICMP ? P_ICMPV6 : protos[j];
				struct wc_pkt p = mkpkt(fam, proto, 22, 2222, 0x18);
				char name[96];

				snprintf(name, sizeof(name), "v%u proto %u vlans %u (%u, %u)", fam,
					 proto, c[i].n, c[i].id[0], c[i].id[1]);
				case_built(name, &p, &o);
			}
		}
	}
}

/* PCP and DEI bits are not part of the VLAN id; either TPID works in either place. */
Test(parse, vlan_tci_and_tpid)
{
	struct tk_frame_opts o1 = { .nvlan = 1, .vlan = { 0x123 } };
	struct tk_frame_opts o2 = { .nvlan = 2, .vlan = { 0x456, 0x789 } };
	struct wc_pkt p = mkpkt(4, P_TCP, 7, 8, 0x01), g;
	struct frame fr, t;
	int st;

	mkframe(&fr, "v4 1 tag", &p, &o1);
	t = fr;
	wr16(t.b + 14, 0xf123); /* PCP 7, DEI 1 */
	st = run(t.b, t.len, &g, "1 tag, pcp 7 dei 1");
	check_ok("1 tag, pcp 7 dei 1", st, &g, &fr.e);
	t = fr;
	wr16(t.b + 12, 0x88a8);
	st = run(t.b, t.len, &g, "1 tag 802.1ad");
	check_ok("1 tag 802.1ad", st, &g, &fr.e);

	mkframe(&fr, "v4 2 tags", &p, &o2);
	t = fr;
	wr16(t.b + 14, 0xb456); /* PCP 5, DEI 1 */
	wr16(t.b + 18, 0x2789); /* PCP 1 */
	st = run(t.b, t.len, &g, "2 tags with pcp/dei");
	check_ok("2 tags with pcp/dei", st, &g, &fr.e);
	t = fr;
	wr16(t.b + 12, 0x8100);
	st = run(t.b, t.len, &g, "2 tags 802.1Q/802.1Q");
	check_ok("2 tags 802.1Q/802.1Q", st, &g, &fr.e);
	t = fr;
	wr16(t.b + 16, 0x88a8);
	st = run(t.b, t.len, &g, "2 tags 802.1ad/802.1ad");
	check_ok("2 tags 802.1ad/802.1ad", st, &g, &fr.e);
}

Test(parse, vlan_third_tag)
{
	static const __u16 tpid[] = { 0x8100, 0x88a8 };
	struct tk_frame_opts o = { .nvlan = 2, .vlan = { 5, 6 }, .payload = 4 };
	unsigned int i, fam;
	char name[96];

	for (fam = 4; fam <= 6; fam += 2) {
		for (i = 0; i < 2; i++) {
			struct wc_pkt p = mkpkt(fam, P_UDP, 1, 2, 0);
			__u8 tag[4];
			struct frame fr;

			mkframe(&fr, "2 tags", &p, &o);
			wr16(tag, tpid[i]);
			wr16(tag + 2, 7);
			insert(fr.b, &fr.len, 20, tag, 4);
			snprintf(name, sizeof(name), "v%u third tag %#x", fam, tpid[i]);
			case_fail(name, fr.b, fr.len, WC_PARSE_MALFORMED);
			insert(fr.b, &fr.len, 20, tag, 4);
			snprintf(name, sizeof(name), "v%u fourth tag %#x", fam, tpid[i]);
			case_fail(name, fr.b, fr.len, WC_PARSE_MALFORMED);
		}
	}
	/* The third TPID alone, the frame ending there. */
	{
		struct wc_pkt p = mkpkt(4, P_UDP, 1, 2, 0);
		struct frame fr;

		mkframe(&fr, "2 tags", &p, &o);
		wr16(fr.b + 20, 0x8100);
		case_fail("third tpid at the end of the frame", fr.b, 22, WC_PARSE_MALFORMED);
	}
}

Test(parse, not_ip)
{
	static const struct {
		const char *name;
		__u16 type;
		unsigned int n;
		__u16 tpid[2], tci[2];
		unsigned int body;
	} c[] = {
		{ "arp", 0x0806, 0, { 0 }, { 0 }, 28 },
		{ "arp, 802.1Q", 0x0806, 1, { 0x8100 }, { 42 }, 28 },
		{ "arp, 802.1ad", 0x0806, 1, { 0x88a8 }, { 0xe000 | 4095 }, 28 },
		{ "arp, 802.1ad + 802.1Q", 0x0806, 2, { 0x88a8, 0x8100 }, { 300, 301 }, 28 },
		{ "arp, 802.1Q + 802.1Q", 0x0806, 2, { 0x8100, 0x8100 }, { 1, 0x1000 | 2 }, 28 },
		{ "lldp", 0x88cc, 0, { 0 }, { 0 }, 46 },
		{ "pppoe discovery, 802.1Q", 0x8863, 1, { 0x8100 }, { 9 }, 60 },
		{ "802.3 length", 0x002e, 0, { 0 }, { 0 }, 46 },
		{ "ethertype 0", 0x0000, 0, { 0 }, { 0 }, 46 },
		{ "ethertype 0xffff", 0xffff, 2, { 0x88a8, 0x8100 }, { 7, 8 }, 46 },
		{ "arp, header only", 0x0806, 0, { 0 }, { 0 }, 0 },
		{ "ipv4 byte swapped", 0x0008, 0, { 0 }, { 0 }, 40 },
	};
	unsigned int i, k;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		__u8 f[128];
		struct wc_pkt e, g;
		unsigned int off = put_eth(f, c[i].n, c[i].tpid, c[i].tci, c[i].type);
		int st;

		/* The body looks like an IPv4 header, to tempt a parser that ignores the type. */
		memset(f + off, 0, c[i].body);
		if (c[i].body >= 20) {
			f[off] = 0x45;
			wr16(f + off + 2, c[i].body);
			f[off + 9] = P_TCP;
		}
		memset(&e, 0, sizeof(e));
		e.nvlan = c[i].n;
		for (k = 0; k < c[i].n; k++)
			e.vlan[k] = c[i].tci[k] & 0xfff;
		st = run(f, off + c[i].body, &g, c[i].name);
		cr_assert_eq(st, WC_PARSE_NOT_IP, "case %s: status %d (%s), expected NOT_IP",
			     c[i].name, st, st_name(st));
		check_fields(c[i].name, &g, &e);
	}
}

/* ---- PPPoE, MPLS, IPv4 AH --------------------------------------------------- */

/* A frame that is not IP: NOT_IP, and only the VLAN tags it had. */
static void case_not_ip(const char *name, const struct frame *fr)
{
	struct wc_pkt e, g;
	int st = run(fr->b, fr->len, &g, name);

	memset(&e, 0, sizeof(e));
	e.nvlan = fr->e.nvlan;
	memcpy(e.vlan, fr->e.vlan, sizeof(e.vlan));
	cr_assert_eq(st, WC_PARSE_NOT_IP, "case %s: status %d (%s), expected NOT_IP", name, st,
		     st_name(st));
	check_fields(name, &g, &e);
	check_reference(name, st, &g, fr->b, fr->len);
}

/* Run a frame that must parse to fr->e. */
static void case_ok(const char *name, const struct frame *fr)
{
	struct wc_pkt g;
	int st = run(fr->b, fr->len, &g, name);

	check_ok(name, st, &g, &fr->e);
	check_reference(name, st, &g, fr->b, fr->len);
}

/* The PPPoE length field of fr: the PPP protocol and what follows it. */
static void pppoe_len(struct frame *fr, unsigned int len)
{
	wr16(fr->b + fr->pppoe + 4, len);
}

Test(parse, pppoe)
{
	static const __u8 protos[] = { P_TCP, P_UDP, P_SCTP, P_ICMP, P_GRE };
	unsigned int j, v, fam;
	char name[96];

	for (fam = 4; fam <= 6; fam += 2) {
		for (j = 0; j < sizeof(protos); j++) {
			for (v = 0; v <= 2; v++) {
				struct tk_frame_opts o = { .pppoe = 0x1234 + v,
							      .nvlan = v,
							      .vlan = { 300, 301 },
							      .ip_opts = fam == 4 ? 4 * v : 0,
							      .payload = 6 };
				__u8 proto = fam == 6 && protos[j] == P_ICMP ? P_ICMPV6 : protos[j];
				struct wc_pkt p = mkpkt(fam, proto, 50000 + j, 22, 0x18);

				snprintf(name, sizeof(name), "pppoe v%u proto %u nvlan %u", fam,
					 proto, v);
				case_built(name, &p, &o);
			}
		}
	}
	/* The offsets as plain numbers: VLAN (4), PPPoE (6) and PPP protocol (2) bytes. */
	{
		struct tk_frame_opts o = { .pppoe = 1, .nvlan = 1, .vlan = { 5 } };
		struct wc_pkt p = mkpkt(4, P_TCP, 1, 22, 0x02), g;
		struct frame fr;
		int st;

		mkframe(&fr, "pppoe offsets", &p, &o);
		st = run(fr.b, fr.len, &g, "vlan + pppoe offsets");
		check_ok("vlan + pppoe offsets", st, &g, &fr.e);
		cr_assert_eq(g.l3_off, 26, "case vlan + pppoe offsets: l3_off %u", g.l3_off);
		cr_assert_eq(g.l4_off, 46, "case vlan + pppoe offsets: l4_off %u", g.l4_off);
	}
	/* Bytes after the PPPoE payload (Ethernet padding) are nobody's. */
	for (fam = 4; fam <= 6; fam += 2) {
		struct tk_frame_opts o = { .pppoe = 9 };
		struct wc_pkt p = mkpkt(fam, fam == 4 ? P_ICMP : P_NONXT, 0, 0, 0);
		struct frame fr;

		mkframe(&fr, "pppoe padded", &p, &o);
		memset(fr.b + fr.len, 0xcd, 16);
		fr.len += 16;
		snprintf(name, sizeof(name), "pppoe v%u, 16 bytes of padding", fam);
		case_ok(name, &fr);
	}
	/* A PPPoE payload longer than the IP packet: the IP length rules. */
	for (fam = 4; fam <= 6; fam += 2) {
		struct tk_frame_opts o = { .pppoe = 9, .payload = 8 };
		struct wc_pkt p = mkpkt(fam, P_UDP, 7, 8, 0);
		struct frame fr;

		mkframe(&fr, "pppoe longer", &p, &o);
		memset(fr.b + fr.len, 0xee, 10);
		fr.len += 10;
		pppoe_len(&fr, fr.len - fr.pppoe - 6);
		snprintf(name, sizeof(name), "pppoe v%u, payload 10 bytes longer than the packet",
			 fam);
		case_ok(name, &fr);
	}
}

Test(parse, pppoe_not_ip)
{
	/* LCP, IPCP, IPV6CP, MPLS, CHAP, bridged Ethernet, IPv4 with protocol compression. */
	static const __u16 ppp[] = { 0xc021, 0x8021, 0x8057, 0x0281, 0xc223,
				     0x0031, 0x2145, 0x0000, 0xffff, 0x0020 };
	unsigned int i, v;
	char name[96];

	for (i = 0; i < sizeof(ppp) / sizeof(ppp[0]); i++) {
		for (v = 0; v <= 2; v += 2) {
			struct tk_frame_opts o = { .pppoe = 3, .nvlan = v, .vlan = { 4000, 1 } };
			struct wc_pkt p = mkpkt(4, P_TCP, 1, 22, 0x02);
			struct frame fr;

			mkframe(&fr, "pppoe", &p, &o);
			wr16(fr.b + fr.pppoe + 6, ppp[i]);
			snprintf(name, sizeof(name), "pppoe ppp protocol %#06x nvlan %u", ppp[i],
				 v);
			case_not_ip(name, &fr);
		}
	}
	/* An IPv6 packet behind the IPv4 protocol number is a bad IPv4 packet. */
	{
		struct tk_frame_opts o = { .pppoe = 3 };
		struct wc_pkt p = mkpkt(6, P_UDP, 1, 2, 0);
		struct frame fr;

		mkframe(&fr, "pppoe", &p, &o);
		wr16(fr.b + fr.pppoe + 6, 0x0021);
		case_fail("pppoe ppp ipv4, ipv6 packet", fr.b, fr.len, WC_PARSE_MALFORMED);
	}
}

Test(parse, pppoe_malformed)
{
	static const __u8 vt[] = { 0x00, 0x01, 0x10, 0x12, 0x21, 0x22, 0xff };
	static const __u8 code[] = { 0x07, 0x09, 0x19, 0x65, 0xa7, 0xff };
	struct tk_frame_opts o = { .pppoe = 0x4242, .nvlan = 1, .vlan = { 12 } };
	struct wc_pkt p = mkpkt(4, P_TCP, 1, 22, 0x02);
	struct frame fr, t;
	unsigned int i;
	char name[96];

	mkframe(&fr, "pppoe", &p, &o);
	for (i = 0; i < sizeof(vt); i++) {
		t = fr;
		t.b[t.pppoe] = vt[i];
		snprintf(name, sizeof(name), "pppoe version/type %#x", vt[i]);
		case_fail(name, t.b, t.len, WC_PARSE_MALFORMED);
	}
	for (i = 0; i < sizeof(code); i++) {
		t = fr;
		t.b[t.pppoe + 1] = code[i];
		snprintf(name, sizeof(name), "pppoe code %#x", code[i]);
		case_fail(name, t.b, t.len, WC_PARSE_MALFORMED);
	}
	for (i = 0; i < 2; i++) {
		t = fr;
		pppoe_len(&t, i);
		snprintf(name, sizeof(name), "pppoe length %u", i);
		case_fail(name, t.b, t.len, WC_PARSE_MALFORMED);
	}
}

Test(parse, pppoe_truncated)
{
	static const unsigned int keep[] = { 0, 1, 19, 20, 39, 40, 59 };
	unsigned int fam, iplen, i;
	char name[96];

	for (fam = 4; fam <= 6; fam += 2) {
		struct tk_frame_opts o = { .pppoe = 77, .payload = 12 };
		struct wc_pkt p = mkpkt(fam, P_TCP, 1, 22, 0x02);
		struct frame fr, t;

		mkframe(&fr, "pppoe", &p, &o);
		iplen = fr.len - fr.pppoe - 8;
		t = fr;
		pppoe_len(&t, 2 + iplen + 1);
		snprintf(name, sizeof(name), "pppoe v%u, length one past the frame", fam);
		case_fail(name, t.b, t.len, WC_PARSE_TRUNCATED);
		t = fr;
		pppoe_len(&t, 0xffff);
		snprintf(name, sizeof(name), "pppoe v%u, length 65535", fam);
		case_fail(name, t.b, t.len, WC_PARSE_TRUNCATED);
		/*
		 * The PPPoE payload ends before the IP packet does; the frame still
		 * holds all of it, so only the PPPoE length can say TRUNCATED.
		 */
		for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
			if (keep[i] >= iplen)
				continue;
			t = fr;
			pppoe_len(&t, 2 + keep[i]);
			snprintf(name, sizeof(name), "pppoe v%u, payload %u of the %u-byte packet",
				 fam, keep[i], iplen);
			case_fail(name, t.b, t.len, WC_PARSE_TRUNCATED);
		}
		t = fr;
		pppoe_len(&t, 2 + iplen - 1);
		snprintf(name, sizeof(name), "pppoe v%u, payload one byte short", fam);
		case_fail(name, t.b, t.len, WC_PARSE_TRUNCATED);
		/* The PPPoE header or the PPP protocol cut by the frame's end. */
		for (i = 0; i < 8; i++) {
			snprintf(name, sizeof(name), "pppoe v%u, frame ends %u bytes into PPPoE",
				 fam, i);
			case_fail(name, fr.b, fr.pppoe + i, WC_PARSE_TRUNCATED);
		}
	}
}

/* A frame of n MPLS entries (the last at the bottom) carrying p, behind nvlan tags. */
static void mkmpls(struct frame *fr, const char *name, const struct wc_pkt *p, unsigned int n,
		   unsigned int nvlan)
{
	struct tk_frame_opts o = {
		.nmpls = n, .nvlan = nvlan, .vlan = { 11, 22 }, .payload = 3
	};

	mkframe(fr, name, p, &o);
}

Test(parse, mpls)
{
	static const unsigned int depth[] = { 1, 2, 3, WC_MAX_MPLS - 1, WC_MAX_MPLS };
	static const __u8 protos[] = { P_TCP, P_UDP, P_ICMP };
	unsigned int d, j, v, fam;
	char name[96];

	for (fam = 4; fam <= 6; fam += 2) {
		for (d = 0; d < sizeof(depth) / sizeof(depth[0]); d++) {
			for (j = 0; j < sizeof(protos); j++) {
				for (v = 0; v <= 2; v++) {
					__u8 proto = fam == 6 && protos[j] == P_ICMP ? P_ICMPV6 :
										       protos[j];
					struct wc_pkt p = mkpkt(fam, proto, 1000 + d, 22, 0x12);
					struct frame fr;

					snprintf(name, sizeof(name),
						 "mpls %u labels v%u proto %u nvlan %u", depth[d],
						 fam, proto, v);
					mkmpls(&fr, name, &p, depth[d], v);
					case_ok(name, &fr);
					/* Multicast MPLS: the same stack. */
					wr16(fr.b + ETH_HLEN + 4 * v - 2, 0x8848);
					snprintf(name, sizeof(name),
						 "mpls multicast %u labels v%u proto %u nvlan %u",
						 depth[d], fam, proto, v);
					case_ok(name, &fr);
				}
			}
		}
	}
	/* Label, TC and TTL say nothing about the payload: explicit nulls, all ones. */
	for (fam = 4; fam <= 6; fam += 2) {
		static const __u32 entry[] = { 0x00000140, 0x00002140, 0xfffffeff, 0x00000000 };
		struct wc_pkt p = mkpkt(fam, P_UDP, 53, 53, 0);
		struct frame fr;

		for (j = 0; j < sizeof(entry) / sizeof(entry[0]); j++) {
			mkmpls(&fr, "mpls entry", &p, 2, 0);
			wr16(fr.b + ETH_HLEN, entry[j] >> 16);
			wr16(fr.b + ETH_HLEN + 2, entry[j] & 0xfeff); /* not the bottom */
			wr16(fr.b + ETH_HLEN + 4, (entry[j] >> 16) ^ 0xa5a5);
			wr16(fr.b + ETH_HLEN + 6, entry[j] | 0x100); /* the bottom */
			snprintf(name, sizeof(name), "mpls v%u entries %#010x", fam, entry[j]);
			case_ok(name, &fr);
		}
	}
	/* Offsets as plain numbers: 2 tags and 3 labels put IPv4 at 34, TCP at 54. */
	{
		struct wc_pkt p = mkpkt(4, P_TCP, 1, 22, 0x02), g;
		struct frame fr;
		int st;

		mkmpls(&fr, "mpls offsets", &p, 3, 2);
		st = run(fr.b, fr.len, &g, "mpls offsets");
		check_ok("mpls offsets", st, &g, &fr.e);
		cr_assert_eq(g.l3_off, 34, "case mpls offsets: l3_off %u", g.l3_off);
		cr_assert_eq(g.l4_off, 54, "case mpls offsets: l4_off %u", g.l4_off);
	}
}

Test(parse, mpls_limit)
{
	unsigned int extra, v, k;
	char name[96];

	WC_STATIC_ASSERT(WC_MAX_MPLS + 2 <= 16, "the frame builder makes the stacks below");
	for (v = 0; v <= 2; v += 2) {
		for (extra = 1; extra <= 2; extra++) {
			struct wc_pkt p = mkpkt(4, P_TCP, 1, 22, 0x02);
			struct frame fr;

			mkmpls(&fr, "mpls", &p, WC_MAX_MPLS + extra, v);
			snprintf(name, sizeof(name), "mpls %u labels nvlan %u", WC_MAX_MPLS + extra,
				 v);
			case_fail(name, fr.b, fr.len, WC_PARSE_MALFORMED);
		}
	}
	/* No bottom at all: the walk stops at the bound, even where the frame ends. */
	{
		struct wc_pkt p = mkpkt(6, P_UDP, 1, 2, 0);
		unsigned int l3 = ETH_HLEN + 4 * WC_MAX_MPLS;
		struct frame fr;

		mkmpls(&fr, "mpls", &p, WC_MAX_MPLS, 0);
		for (k = 0; k < WC_MAX_MPLS; k++)
			fr.b[ETH_HLEN + 4 * k + 2] &= 0xfe;
		case_fail("mpls no bottom of stack", fr.b, fr.len, WC_PARSE_MALFORMED);
		case_fail("mpls no bottom of stack, frame ends after the bound", fr.b, l3,
			  WC_PARSE_MALFORMED);
	}
}

Test(parse, mpls_not_ip)
{
	unsigned int nib, n, v;
	char name[96];

	for (nib = 0; nib < 16; nib++) {
		if (nib == 4 || nib == 6)
			continue;
		for (n = 1; n <= 3; n += 2) {
			for (v = 0; v <= 1; v++) {
				struct wc_pkt p = mkpkt(nib & 1 ? 6 : 4, P_TCP, 1, 22, 0x02);
				struct frame fr;
				unsigned int l3;

				/* A pseudowire control word (0), G-ACh (1), or anything. */
				mkmpls(&fr, "mpls", &p, n, v);
				l3 = ETH_HLEN + 4 * v + 4 * n;
				fr.b[l3] = nib << 4 | (fr.b[l3] & 0xf);
				snprintf(name, sizeof(name), "mpls %u labels nvlan %u nibble %u",
					 n, v, nib);
				case_not_ip(name, &fr);
			}
		}
	}
	/* Nibble 4 is IPv4, so a bad IPv4 header is malformed, not "not IP". */
	{
		struct wc_pkt p = mkpkt(4, P_TCP, 1, 22, 0x02);
		struct frame fr;

		mkmpls(&fr, "mpls", &p, 1, 0);
		fr.b[ETH_HLEN + 4] = 0x43;
		case_fail("mpls nibble 4, ihl 3", fr.b, fr.len, WC_PARSE_MALFORMED);
		mkmpls(&fr, "mpls", &p, 1, 0);
		fr.b[ETH_HLEN + 4] = 0x65; /* an IPv4 packet behind nibble 6 */
		case_fail("mpls nibble 6, an ipv4 packet", fr.b, fr.len, WC_PARSE_TRUNCATED);
	}
}

Test(parse, mpls_truncated)
{
	unsigned int n, v, cut;
	char name[96];

	for (n = 1; n <= 3; n++) {
		for (v = 0; v <= 2; v += 2) {
			struct wc_pkt p = mkpkt(4, P_UDP, 1, 2, 0);
			struct frame fr;
			unsigned int base = ETH_HLEN + 4 * v;

			mkmpls(&fr, "mpls", &p, n, v);
			/* Inside any entry, and right after the bottom one (no payload byte). */
			for (cut = base; cut <= base + 4 * n; cut++) {
				snprintf(name, sizeof(name), "mpls %u labels nvlan %u, cut at %u",
					 n, v, cut);
				case_fail(name, fr.b, cut, WC_PARSE_TRUNCATED);
			}
			/* One payload byte: the nibble says IPv4, whose header is cut. */
			snprintf(name, sizeof(name), "mpls %u labels nvlan %u, one payload byte", n,
				 v);
			case_fail(name, fr.b, base + 4 * n + 1, WC_PARSE_TRUNCATED);
		}
	}
}

Test(parse, ipv4_ah)
{
	static const unsigned int ah[] = { 12, 16, 24, 64, 1028 };
	static const __u8 protos[] = { P_TCP, P_UDP, P_SCTP, P_ICMP, P_ESP, P_GRE };
	unsigned int i, j, v;
	char name[96];

	for (i = 0; i < sizeof(ah) / sizeof(ah[0]); i++) {
		for (j = 0; j < sizeof(protos); j++) {
			for (v = 0; v <= 2; v += 2) {
				struct tk_frame_opts o = { .ipv4_ah = ah[i],
							      .ip_opts = 4 * j,
							      .nvlan = v,
							      .vlan = { 1, 2 },
							      .payload = 7 };
				struct wc_pkt p = mkpkt(4, protos[j], 40000 + i, 22, 0x02);

				snprintf(name, sizeof(name), "v4 ah %u proto %u opts %u nvlan %u",
					 ah[i], protos[j], 4 * j, v);
				case_built(name, &p, &o);
			}
		}
	}
	/* The frame: TCP to port 22 behind a 24-byte AH, as plain numbers. */
	{
		struct tk_frame_opts o = { .ipv4_ah = 24 };
		struct wc_pkt p = mkpkt(4, P_TCP, 40000, 22, 0x02), g;
		struct frame fr;
		int st;

		mkframe(&fr, "v4 ah tcp 22", &p, &o);
		cr_assert_eq(fr.b[ETH_HLEN + 9], P_AH, "case v4 ah tcp 22: ip protocol 51");
		st = run(fr.b, fr.len, &g, "v4 ah tcp 22");
		check_ok("v4 ah tcp 22", st, &g, &fr.e);
		cr_assert_eq(g.proto, P_TCP, "case v4 ah tcp 22: proto %u", g.proto);
		cr_assert_eq(g.dport, 22, "case v4 ah tcp 22: dport %u", g.dport);
		cr_assert_eq(g.l4_off, 58, "case v4 ah tcp 22: l4_off %u", g.l4_off);
	}
	/* A first fragment carries AH and the L4 header; PPPoE and MPLS around it. */
	{
		static const struct tk_frame_opts o[] = {
			{ .ipv4_ah = 16, .frag = WC_FRAG_FIRST, .payload = 4 },
			{ .ipv4_ah = 16, .pppoe = 5, .nvlan = 1, .vlan = { 10 } },
			{ .ipv4_ah = 20, .nmpls = 2 },
		};
		static const char *const what[] = { "first fragment", "vlan + pppoe", "mpls" };

		for (i = 0; i < 3; i++) {
			struct wc_pkt p = mkpkt(4, P_TCP, 2, 22, 0x02);

			snprintf(name, sizeof(name), "v4 ah tcp, %s", what[i]);
			case_built(name, &p, &o[i]);
		}
	}
	/* A later fragment holds payload: its bytes are never taken for AH. */
	{
		struct tk_frame_opts o = { .frag = WC_FRAG_LATER, .payload = 64 };
		struct wc_pkt p = mkpkt(4, P_AH, 0, 0, 0);
		struct frame fr;
		__u8 *h;

		mkframe(&fr, "v4 ah later fragment", &p, &o);
		h = fr.b + fr.l4;
		h[0] = P_AH; /* a second AH, and a length of 0: both malformed */
		h[1] = 0;
		case_ok("v4 ah later fragment, payload posing as bad AH", &fr);
		h[0] = P_TCP; /* a 24-byte AH, then TCP to port 22 */
		h[1] = 4;
		wr16(h + 24, 1111);
		wr16(h + 26, 22);
		h[24 + 12] = 5 << 4;
		case_ok("v4 ah later fragment, payload posing as AH and TCP", &fr);
	}
}

Test(parse, ipv4_ah_malformed)
{
	struct wc_pkt p = mkpkt(4, P_TCP, 1, 22, 0x02);
	struct tk_frame_opts o = { .ipv4_ah = 24, .payload = 24 };
	unsigned int ah = ETH_HLEN + 20;
	struct frame fr, t;

	mkframe(&fr, "v4 ah", &p, &o);
	t = fr;
	t.b[ah + 1] = 0;
	case_fail("v4 ah length field 0 (8 bytes)", t.b, t.len, WC_PARSE_MALFORMED);
	/* Another AH behind the first, whole and well formed. */
	t = fr;
	t.b[ah] = P_AH;
	t.b[ah + 24] = P_TCP;
	t.b[ah + 24 + 1] = 1;
	case_fail("v4 ah followed by ah", t.b, t.len, WC_PARSE_MALFORMED);
}

Test(parse, ipv4_ah_truncated)
{
	struct wc_pkt p = mkpkt(4, P_TCP, 1, 22, 0x02);
	unsigned int l3 = ETH_HLEN, ah = ETH_HLEN + 20, k, junk;
	struct frame fr, t;
	char name[96];

	/* The IP packet ends inside AH's 12 fixed bytes: cut, or padded with junk. */
	for (junk = 0; junk < 2; junk++) {
		struct tk_frame_opts o = { .ipv4_ah = 16, .payload = 4 };

		mkframe(&fr, "v4 ah", &p, &o);
		for (k = 0; k < 12; k++) {
			t = fr;
			wr16(t.b + l3 + 2, 20 + k);
			t.len = l3 + 20 + k;
			if (junk) {
				memset(t.b + t.len, 0xcd, fr.len - t.len);
				t.len = fr.len;
			}
			snprintf(name, sizeof(name), "v4 ah, packet ends %u bytes into it%s", k,
				 junk ? ", junk after" : "");
			case_fail(name, t.b, t.len, WC_PARSE_TRUNCATED);
		}
	}
	/* AH's length runs past the packet. */
	{
		struct tk_frame_opts o = { .ipv4_ah = 16, .payload = 4 };

		mkframe(&fr, "v4 ah", &p, &o);
		for (k = 0; k < 3; k++) {
			static const __u8 len[] = { 9, 10, 255 };

			t = fr;
			t.b[ah + 1] = len[k];
			snprintf(name, sizeof(name), "v4 ah length field %u past the packet",
				 len[k]);
			case_fail(name, t.b, t.len, WC_PARSE_TRUNCATED);
		}
	}
	/* AH whole, the TCP header behind it cut (the rest is padding). */
	{
		struct tk_frame_opts o = { .ipv4_ah = 24, .payload = 40 };

		mkframe(&fr, "v4 ah", &p, &o);
		t = fr;
		wr16(t.b + l3 + 2, 20 + 24 + 19);
		case_fail("v4 ah, tcp 19 of 20 bytes in the packet", t.b, t.len,
			  WC_PARSE_TRUNCATED);
		t = fr;
		wr16(t.b + l3 + 2, 20 + 24);
		case_fail("v4 ah ends the packet, tcp in padding", t.b, t.len, WC_PARSE_TRUNCATED);
	}
	/* Boundary: an AH that ends exactly at the packet's end, nothing needed after it. */
	{
		struct tk_frame_opts o = { .ipv4_ah = 24 };
		struct wc_pkt q = mkpkt(4, P_ESP, 0, 0, 0);

		mkframe(&fr, "v4 ah esp", &q, &o);
		cr_assert_eq(fr.len, ETH_HLEN + 20 + 24, "case v4 ah esp: frame length %d", fr.len);
		case_ok("v4 ah ending at the packet end, esp", &fr);
	}
}

/* ---- IPv6 ----------------------------------------------------------------- */

Test(parse, ipv6_l4)
{
	static const struct {
		const char *name;
		__u8 proto;
		__u16 sport, dport;
		__u8 flags;
		unsigned int payload;
	} c[] = {
		{ "tcp", P_TCP, 49152, 443, 0x12, 0 },
		{ "tcp ports 0", P_TCP, 0, 0, 0x04, 7 },
		{ "tcp ports 65535", P_TCP, 65535, 65535, 0xc2, 64 },
		{ "udp", P_UDP, 546, 547, 0, 30 },
		{ "sctp", P_SCTP, 36412, 36412, 0, 0 },
		{ "icmpv6", P_ICMPV6, 0x8000, 1, 0, 8 },
		{ "no next header", P_NONXT, 1, 2, 0, 0 },
		{ "gre", P_GRE, 1, 2, 0, 4 },
		{ "icmp (v4 number)", P_ICMP, 1, 2, 0, 8 },
	};
	unsigned int i, v;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		for (v = 0; v <= 2; v++) {
			struct tk_frame_opts o = { .payload = c[i].payload,
						      .nvlan = v,
						      .vlan = { 1000, 2000 } };
			struct wc_pkt p = mkpkt(6, c[i].proto, c[i].sport, c[i].dport, c[i].flags);
			char name[96];

			snprintf(name, sizeof(name), "v6 %s nvlan %u", c[i].name, v);
			case_built(name, &p, &o);
		}
	}
}

/* Extension header chains from the frame builder (8 bytes each). */
Test(parse, ipv6_ext_chains)
{
	static const struct {
		unsigned int n;
		__u8 t[8];
	} c[] = {
		{ 1, { P_HOP } },
		{ 1, { P_RT } },
		{ 1, { P_DST } },
		{ 1, { P_AH } },
		{ 1, { P_FRAG } },
		{ 2, { P_HOP, P_DST } },
		{ 2, { P_DST, P_AH } },
		{ 2, { P_AH, P_AH } },
		{ 3, { P_HOP, P_RT, P_DST } },
		{ 3, { P_DST, P_DST, P_DST } },
		{ 4, { P_HOP, P_DST, P_RT, P_FRAG } },
		{ 5, { P_HOP, P_RT, P_FRAG, P_AH, P_DST } },
	};
	static const __u8 protos[] = { P_TCP, P_UDP, P_SCTP, P_ICMPV6, P_NONXT };
	unsigned int i, j, k;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		for (j = 0; j < sizeof(protos); j++) {
			struct tk_frame_opts o = { .nipv6_ext = c[i].n,
						      .payload = 11,
						      .nvlan = i % 3,
						      .vlan = { 17, 18 } };
			struct wc_pkt p = mkpkt(6, protos[j], 5000 + i, 6000 + j, 0x10 | i);
			char name[128];
			int n;

			n = snprintf(name, sizeof(name), "v6 proto %u ext", protos[j]);
			for (k = 0; k < c[i].n; k++) {
				o.ipv6_ext[k] = c[i].t[k];
				n += snprintf(name + n, sizeof(name) - n, " %u", c[i].t[k]);
			}
			case_built(name, &p, &o);
		}
	}
}

/* Extension headers of other lengths, by hand. */
Test(parse, ipv6_ext_lengths)
{
	static const struct {
		const char *name;
		unsigned int n;
		struct ext x[4];
	} c[] = {
		{ "hop 16", 1, { { P_HOP, 16 } } },
		{ "hop 2048 (largest)", 1, { { P_HOP, 2048 } } },
		{ "routing 24", 1, { { P_RT, 24 } } },
		{ "dst 40", 1, { { P_DST, 40 } } },
		{ "ah 16", 1, { { P_AH, 16 } } },
		{ "ah 24", 1, { { P_AH, 24 } } },
		{ "ah 1024 (largest multiple of 8)", 1, { { P_AH, 1024 } } },
		{ "hop 16, routing 24, frag, dst 8",
		  4,
		  { { P_HOP, 16 }, { P_RT, 24 }, { P_FRAG, 8 }, { P_DST, 8 } } },
		{ "hop 2048, ah 16, dst 256",
		  3,
		  { { P_HOP, 2048 }, { P_AH, 16 }, { P_DST, 256 } } },
		{ "dst 8, ah 32, dst 8", 3, { { P_DST, 8 }, { P_AH, 32 }, { P_DST, 8 } } },
	};
	static const __u8 protos[] = { P_TCP, P_UDP, P_SCTP, P_ICMPV6 };
	unsigned int i, j;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		for (j = 0; j < sizeof(protos); j++) {
			struct wc_pkt p = mkpkt(6, protos[j], 65000 - i, 1 + j, 0x11), g;
			struct frame fr;
			char name[128];
			int st;

			snprintf(name, sizeof(name), "v6 %s proto %u", c[i].name, protos[j]);
			build_v6(&fr, &p, c[i].x, c[i].n, 5);
			st = run(fr.b, fr.len, &g, name);
			check_ok(name, st, &g, &fr.e);
		}
	}
}

Test(parse, ipv6_ext_limit)
{
	static const __u8 eight[8] = { P_HOP, P_RT, P_DST, P_AH, P_DST, P_RT, P_AH, P_DST };
	static const __u8 protos[] = { P_TCP, P_UDP, P_ICMPV6, P_NONXT };
	struct ext x[WC_MAX_IPV6_EXT + 2];
	unsigned int i, j;
	char name[96];

	WC_STATIC_ASSERT(WC_MAX_IPV6_EXT == 8, "the chains below have 8 headers");
	for (j = 0; j < sizeof(protos); j++) {
		struct tk_frame_opts o = { .nipv6_ext = 8, .payload = 4 };
		struct wc_pkt p = mkpkt(6, protos[j], 11, 12, 0x01);
		struct frame fr;

		memcpy(o.ipv6_ext, eight, 8);
		snprintf(name, sizeof(name), "v6 8 ext headers proto %u", protos[j]);
		case_built(name, &p, &o);

		/* 8 with the fragment header last, first fragment. */
		o.ipv6_ext[7] = P_FRAG;
		o.frag = WC_FRAG_FIRST;
		snprintf(name, sizeof(name), "v6 8 ext headers, fragment last, proto %u",
			 protos[j]);
		case_built(name, &p, &o);

		/* 8 given plus the fragment header the builder adds: 9. */
		memcpy(o.ipv6_ext, eight, 8);
		mkframe(&fr, "9 ext headers", &p, &o);
		snprintf(name, sizeof(name), "v6 9 ext headers proto %u", protos[j]);
		case_fail(name, fr.b, fr.len, WC_PARSE_MALFORMED);

		/* By hand: 9 and 10 hop-by-hop headers. */
		for (i = 0; i < WC_MAX_IPV6_EXT + 2; i++)
			x[i] = (struct ext){ P_HOP, 8, 0 };
		build_v6(&fr, &p, x, WC_MAX_IPV6_EXT, 4);
		snprintf(name, sizeof(name), "v6 8 hop-by-hop proto %u", protos[j]);
		{
			struct wc_pkt g;
			int st = run(fr.b, fr.len, &g, name);

			check_ok(name, st, &g, &fr.e);
		}
		build_v6(&fr, &p, x, WC_MAX_IPV6_EXT + 1, 4);
		snprintf(name, sizeof(name), "v6 9 hop-by-hop proto %u", protos[j]);
		case_fail(name, fr.b, fr.len, WC_PARSE_MALFORMED);
		build_v6(&fr, &p, x, WC_MAX_IPV6_EXT + 2, 4);
		snprintf(name, sizeof(name), "v6 10 hop-by-hop proto %u", protos[j]);
		case_fail(name, fr.b, fr.len, WC_PARSE_MALFORMED);
	}
}

Test(parse, ipv6_fragments)
{
	static const struct {
		unsigned int n;
		__u8 t[3];
	} chains[] = { { 0, { 0 } }, { 1, { P_HOP } }, { 3, { P_HOP, P_RT, P_DST } } };
	static const __u8 protos[] = { P_TCP, P_UDP, P_SCTP, P_ICMPV6 };
	unsigned int i, j;
	char name[128];

	for (i = 0; i < 3; i++) {
		for (j = 0; j < sizeof(protos); j++) {
			struct tk_frame_opts o = { .nipv6_ext = chains[i].n,
						      .frag = WC_FRAG_FIRST,
						      .payload = 20,
						      .nvlan = 1,
						      .vlan = { 99 } };
			struct wc_pkt p = mkpkt(6, protos[j], 7000, 8000, 0x02), g;
			struct frame fr;
			int st;

			memcpy(o.ipv6_ext, chains[i].t, chains[i].n);
			snprintf(name, sizeof(name), "v6 first fragment after %u ext proto %u",
				 chains[i].n, protos[j]);
			case_built(name, &p, &o);
			o.frag = WC_FRAG_LATER;
			snprintf(name, sizeof(name), "v6 later fragment after %u ext proto %u",
				 chains[i].n, protos[j]);
			mkframe(&fr, name, &p, &o);
			fake_l4(&fr);
			st = run(fr.b, fr.len, &g, name);
			check_ok(name, st, &g, &fr.e);
		}
	}
	/* By hand: the payload of later fragments is a whole fake L4 header. */
	for (j = 0; j < sizeof(protos); j++) {
		static const struct {
			const char *name;
			__u16 fo;
		} f[] = {
			{ "first", 1 },		{ "middle", 185 << 3 | 1 },   { "last", 185 << 3 },
			{ "offset 1", 1 << 3 }, { "largest offset", 0xfff8 }, { "atomic", 0 },
			{ "reserved bits", 6 },
		};
		unsigned int k;

		for (k = 0; k < sizeof(f) / sizeof(f[0]); k++) {
			struct ext x[2] = { { P_DST, 16 }, { P_FRAG, 8, f[k].fo } };
			struct wc_pkt p = mkpkt(6, protos[j], 1111, 2222, 0x18), g;
			struct frame fr;
			int st;

			build_v6(&fr, &p, x, 2, 10);
			snprintf(name, sizeof(name), "v6 %s fragment (fo %#x) proto %u", f[k].name,
				 f[k].fo, protos[j]);
			st = run(fr.b, fr.len, &g, name);
			check_ok(name, st, &g, &fr.e);
		}
	}
	/*
	 * Crafted: a later fragment whose payload poses as headers, another
	 * fragment header (offset 0, more fragments) and then a TCP header. The
	 * walk stops at the real one: a later fragment of protocol 44 (what its
	 * header says comes next), without ports, never a first fragment.
	 */
	for (j = 0; j < 2; j++) {
		struct ext x[3] = { { P_FRAG, 8, 185 << 3 }, { P_FRAG, 8, 1 }, { P_DST, 8 } };
		struct wc_pkt p = mkpkt(6, P_TCP, 80, 31337, 0x02), g;
		struct frame fr;
		int st;

		build_v6(&fr, &p, x, 2 + j, 4);
		snprintf(name, sizeof(name), "v6 later fragment, then a fake first fragment%s",
			 j ? " and dst" : "");
		cr_assert_eq(fr.e.frag, WC_FRAG_LATER, "case %s: expected later", name);
		cr_assert_eq(fr.e.proto, P_FRAG, "case %s: expected proto 44", name);
		st = run(fr.b, fr.len, &g, name);
		check_ok(name, st, &g, &fr.e);
		check_reference(name, st, &g, fr.b, fr.len);
	}
}

Test(parse, ipv6_malformed)
{
	struct wc_pkt p = mkpkt(6, P_TCP, 1, 2, 0x18), g;
	struct frame fr, t;
	unsigned int v;
	char name[64];
	int st;

	mkframe(&fr, "v6 tcp", &p, NULL);
	for (v = 0; v < 16; v++) {
		if (v == 6)
			continue;
		t = fr;
		t.b[ETH_HLEN] = v << 4;
		snprintf(name, sizeof(name), "v6 ethertype, version %u", v);
		case_fail(name, t.b, t.len, WC_PARSE_MALFORMED);
	}
	/* Traffic class and flow label are not the version. */
	t = fr;
	memset(t.b + ETH_HLEN, 0xff, 4);
	t.b[ETH_HLEN] = 0x6f;
	st = run(t.b, t.len, &g, "v6 traffic class and flow label all ones");
	check_ok("v6 traffic class and flow label all ones", st, &g, &fr.e);
	/* An IPv6 packet behind the IPv4 ethertype. */
	t = fr;
	wr16(t.b + 12, 0x0800);
	case_fail("v6 packet, v4 ethertype", t.b, t.len, WC_PARSE_MALFORMED);
	/* TCP data offset below 5. */
	t = fr;
	t.b[t.l4 + 12] = 4 << 4;
	case_fail("v6 tcp doff 4", t.b, t.len, WC_PARSE_MALFORMED);
	/* AH lengths that are not a multiple of 8 bytes (RFC 4302). */
	for (v = 12; v <= 1028; v += v < 28 ? 8 : 1000) {
		struct ext x[2] = { { P_HOP, 8 }, { P_AH, v } };
		struct wc_pkt q = mkpkt(6, P_UDP, 1, 2, 0);

		build_v6(&t, &q, x, 2, 4);
		snprintf(name, sizeof(name), "v6 ah %u bytes", v);
		case_fail(name, t.b, t.len, WC_PARSE_MALFORMED);
	}
}

Test(parse, ipv6_truncated)
{
	static const struct {
		const char *name;
		__u8 proto;
		unsigned int n;
		struct ext x[2];
		unsigned int grow; /* the last extension header claims this many more bytes */
	} c[] = {
		{ "dst runs past, tcp", P_TCP, 1, { { P_DST, 8 } }, 32 },
		{ "dst runs past, icmpv6", P_ICMPV6, 1, { { P_DST, 8 } }, 24 },
		{ "dst runs past, no next header", P_NONXT, 1, { { P_DST, 8 } }, 8 },
		{ "hop runs past, udp", P_UDP, 1, { { P_HOP, 8 } }, 2040 },
		{ "ah runs past, icmpv6", P_ICMPV6, 1, { { P_AH, 8 } }, 24 },
		{ "routing runs past after hop, gre", P_GRE, 2, { { P_HOP, 8 }, { P_RT, 8 } }, 16 },
		{ "dst runs past after first fragment, tcp",
		  P_TCP,
		  2,
		  { { P_FRAG, 8, 1 }, { P_DST, 8 } },
		  40 },
		{ "dst runs past after first fragment, icmpv6",
		  P_ICMPV6,
		  2,
		  { { P_FRAG, 8, 1 }, { P_DST, 8 } },
		  40 },
	};
	struct wc_pkt p = mkpkt(6, P_TCP, 1, 2, 0x18);
	struct frame fr, t;
	unsigned int i, plen;

	mkframe(&fr, "v6 tcp", &p, NULL);
	plen = fr.len - ETH_HLEN - 40;
	t = fr;
	wr16(t.b + ETH_HLEN + 4, plen + 1);
	case_fail("v6 payload length one past the frame", t.b, t.len, WC_PARSE_TRUNCATED);
	t = fr;
	wr16(t.b + ETH_HLEN + 4, 0xffff);
	case_fail("v6 payload length 65535", t.b, t.len, WC_PARSE_TRUNCATED);
	t = fr;
	wr16(t.b + ETH_HLEN + 4, 19);
	t.len = ETH_HLEN + 40 + 19;
	case_fail("v6 tcp header 19 of 20 bytes", t.b, t.len, WC_PARSE_TRUNCATED);

	/*
	 * An extension header whose length field runs past the packet's end (the
	 * payload behind it is shorter than the growth), whatever follows it.
	 */
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct frame ok;
		unsigned int last;
		__u8 *e;

		p = mkpkt(6, c[i].proto, 1, 2, 0x18);
		build_v6(&fr, &p, c[i].x, c[i].n, 4);
		last = fr.l4 - c[i].x[c[i].n - 1].len;
		e = fr.b + last;
		cr_assert_lt(fr.len - fr.l4, c[i].grow, "case %s: growth runs past", c[i].name);
		e[1] += c[i].x[c[i].n - 1].type == P_AH ? c[i].grow / 4 : c[i].grow / 8;
		case_fail(c[i].name, fr.b, fr.len, WC_PARSE_TRUNCATED);
		/* Boundary: the same header ending exactly at the packet's end is fine. */
		if (l4_hlen(c[i].proto))
			continue;
		ok = fr;
		ok.len = last + c[i].x[c[i].n - 1].len + c[i].grow;
		memset(ok.b + fr.len, 0xee, ok.len - fr.len);
		wr16(ok.b + ETH_HLEN + 4, ok.len - ETH_HLEN - 40);
		{
			struct wc_pkt g;
			char name[128];
			int st;

			snprintf(name, sizeof(name), "%s, ending at the packet end", c[i].name);
			st = run(ok.b, ok.len, &g, name);
			check_ok(name, st, &g, &ok.e);
		}
	}
}

/* ---- offsets -------------------------------------------------------------- */

/* l3_off and l4_off as plain numbers, independent of the expectation helpers. */
Test(parse, offsets)
{
	static const struct {
		int family;
		unsigned int nvlan, opts, next;
		__u16 l3, l4;
	} c[] = {
		{ 4, 0, 0, 0, 14, 34 }, { 4, 1, 0, 0, 18, 38 },	 { 4, 2, 0, 0, 22, 42 },
		{ 4, 0, 4, 0, 14, 38 }, { 4, 2, 40, 0, 22, 82 }, { 4, 1, 20, 0, 18, 58 },
		{ 6, 0, 0, 0, 14, 54 }, { 6, 1, 0, 0, 18, 58 },	 { 6, 2, 0, 0, 22, 62 },
		{ 6, 1, 0, 2, 18, 74 }, { 6, 2, 0, 8, 22, 126 }, { 6, 0, 0, 5, 14, 94 },
	};
	unsigned int i, k;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct tk_frame_opts o = { .nvlan = c[i].nvlan,
					      .vlan = { 1, 2 },
					      .ip_opts = c[i].opts,
					      .nipv6_ext = c[i].next };
		struct wc_pkt p = mkpkt(c[i].family, P_UDP, 9, 10, 0), g;
		__u8 f[256];
		char name[96];
		int len, st;

		for (k = 0; k < c[i].next; k++)
			o.ipv6_ext[k] = k % 2 ? P_DST : P_HOP;
		len = tk_frame_build(&p, &o, f, sizeof(f));
		snprintf(name, sizeof(name), "v%d nvlan %u opts %u ext %u", c[i].family, c[i].nvlan,
			 c[i].opts, c[i].next);
		cr_assert_gt(len, 0, "case %s: build %d", name, len);
		st = run(f, len, &g, name);
		cr_assert_eq(st, WC_PARSE_OK, "case %s: status %d (%s)", name, st, st_name(st));
		cr_assert_eq(g.l3_off, c[i].l3, "case %s: l3_off %u, expected %u", name, g.l3_off,
			     c[i].l3);
		cr_assert_eq(g.l4_off, c[i].l4, "case %s: l4_off %u, expected %u", name, g.l4_off,
			     c[i].l4);
		cr_assert_eq(rd16(f + g.l4_off), 9, "case %s: sport at l4_off", name);
	}
}

/* ---- truncation at every byte --------------------------------------------- */

#define NCUT 16 /* frames cut_frames() makes */

/*
 * The frames the truncation tests cut. Every strict cut must be TRUNCATED: below
 * 14 bytes the Ethernet header is cut, and from there on the IP length field
 * claims more than the frame holds (PPPoE: the PPPoE length does, first).
 */
static unsigned int cut_frames(struct frame *fr, unsigned int max)
{
	static const struct ext two[2] = { { P_HOP, 8 }, { P_DST, 16 } };
	static const struct ext fr_first[2] = { { P_RT, 24 }, { P_FRAG, 8, 1 } };
	static const struct ext fr_later[2] = { { P_AH, 16 }, { P_FRAG, 8, 185 << 3 } };
	struct tk_frame_opts o;
	struct wc_pkt p;
	unsigned int n = 0;

	cr_assert_geq(max, NCUT, "room for the frames");
	p = mkpkt(4, P_TCP, 51000, 443, 0x18);
	o = (struct tk_frame_opts){ .nvlan = 1, .vlan = { 123 }, .payload = 6 };
	mkframe(&fr[n++], "v4 tcp vlan", &p, &o);
	o = (struct tk_frame_opts){ .nvlan = 2, .vlan = { 4000, 5 }, .ip_opts = 8 };
	mkframe(&fr[n++], "v4 tcp qinq opts 8", &p, &o);
	p = mkpkt(4, P_UDP, 53, 1053, 0);
	o = (struct tk_frame_opts){ .payload = 3 };
	mkframe(&fr[n++], "v4 udp", &p, &o);
	p = mkpkt(4, P_SCTP, 9, 10, 0);
	o = (struct tk_frame_opts){ .frag = WC_FRAG_FIRST, .payload = 2 };
	mkframe(&fr[n++], "v4 sctp first fragment", &p, &o);
	p = mkpkt(4, P_ICMP, 0, 0, 0);
	o = (struct tk_frame_opts){ .payload = 8 };
	mkframe(&fr[n++], "v4 icmp", &p, &o);
	p = mkpkt(6, P_TCP, 22, 60022, 0x11);
	build_v6(&fr[n], &p, two, 2, 5);
	fr[n++].name = "v6 hop+dst tcp";
	p = mkpkt(6, P_SCTP, 38412, 38412, 0);
	o = (struct tk_frame_opts){ .nvlan = 1, .vlan = { 7 }, .payload = 4 };
	mkframe(&fr[n++], "v6 sctp vlan", &p, &o);
	p = mkpkt(6, P_UDP, 4500, 4500, 0);
	build_v6(&fr[n], &p, fr_first, 2, 1);
	fr[n++].name = "v6 routing+first fragment udp";
	p = mkpkt(6, P_TCP, 1, 2, 0x02);
	build_v6(&fr[n], &p, fr_later, 2, 20);
	fr[n++].name = "v6 ah+later fragment tcp";
	p = mkpkt(6, P_ICMPV6, 0, 0, 0);
	build_v6(&fr[n], &p, two, 2, 8);
	fr[n++].name = "v6 hop+dst icmpv6";
	p = mkpkt(4, P_TCP, 50000, 22, 0x02);
	o = (struct tk_frame_opts){ .pppoe = 0x10, .nvlan = 1, .vlan = { 1000 }, .payload = 2 };
	mkframe(&fr[n++], "v4 tcp vlan+pppoe", &p, &o);
	p = mkpkt(6, P_UDP, 547, 546, 0);
	o = (struct tk_frame_opts){ .pppoe = 0x11, .payload = 5 };
	mkframe(&fr[n++], "v6 udp pppoe", &p, &o);
	p = mkpkt(4, P_UDP, 4789, 4789, 0);
	o = (struct tk_frame_opts){ .nmpls = 3, .payload = 1 };
	mkframe(&fr[n++], "v4 udp mpls 3 labels", &p, &o);
	p = mkpkt(6, P_TCP, 179, 50179, 0x10);
	o = (struct tk_frame_opts){ .nmpls = 1, .nvlan = 2, .vlan = { 3, 4 } };
	mkframe(&fr[n++], "v6 tcp qinq+mpls", &p, &o);
	p = mkpkt(4, P_TCP, 40000, 22, 0x02);
	o = (struct tk_frame_opts){ .ipv4_ah = 24, .payload = 3 };
	mkframe(&fr[n++], "v4 ah tcp 22", &p, &o);
	p = mkpkt(4, P_SCTP, 1, 2, 0);
	o = (struct tk_frame_opts){ .ipv4_ah = 12, .ip_opts = 4, .nmpls = 2 };
	mkframe(&fr[n++], "v4 opts+ah sctp mpls", &p, &o);
	cr_assert_eq(n, NCUT, "case cut frames: %u", n);
	return n;
}

Test(parse, truncate_every_byte)
{
	static struct frame fr[NCUT];
	unsigned int n = cut_frames(fr, NCUT), i;
	char name[128];
	int cut, st;

	for (i = 0; i < n; i++) {
		struct wc_pkt g;

		st = run(fr[i].b, fr[i].len, &g, fr[i].name);
		check_ok(fr[i].name, st, &g, &fr[i].e);
		for (cut = 0; cut < fr[i].len; cut++) {
			snprintf(name, sizeof(name), "%s cut at %d of %d", fr[i].name, cut,
				 fr[i].len);
			case_fail(name, fr[i].b, cut, WC_PARSE_TRUNCATED);
		}
	}
}

/*
 * Cut at every length and rewrite the IP (and PPPoE) length field to match the
 * cut, so only the headers decide: a cut inside a header the key needs is TRUNCATED, a cut
 * in the payload still yields the full key, never another one.
 */
Test(parse, truncate_every_byte_consistent_length)
{
	static struct frame fr[NCUT];
	unsigned int n = cut_frames(fr, NCUT), i;
	char name[128];
	int cut;

	for (i = 0; i < n; i++) {
		const struct wc_pkt *e = &fr[i].e;
		unsigned int l3 = e->l3_off, iph = e->family == 4 ? (fr[i].b[l3] & 0xf) * 4 : 40;
		unsigned int need = fr[i].l4;

		if (e->frag != WC_FRAG_LATER)
			need += l4_hlen(e->proto);
		for (cut = 0; cut < fr[i].len; cut++) {
			static struct frame t;
			struct wc_pkt g;
			int st;

			t = fr[i];
			if ((unsigned int)cut >= l3 + iph) {
				if (e->family == 4)
					wr16(t.b + l3 + 2, cut - l3);
				else
					wr16(t.b + l3 + 4, cut - l3 - 40);
			}
			/* The PPPoE payload ends with the cut too. */
			if (t.pppoe && (unsigned int)cut >= l3)
				wr16(t.b + t.pppoe + 4, cut - t.pppoe - 6);
			snprintf(name, sizeof(name), "%s cut at %d of %d, length fixed", fr[i].name,
				 cut, fr[i].len);
			st = run(t.b, cut, &g, name);
			if (st == RUNT_UNTESTED)
				continue;
			if ((unsigned int)cut < need)
				check_fail(name, st, &g, WC_PARSE_TRUNCATED);
			else
				check_ok(name, st, &g, e);
		}
	}
}

/* ---- invariants on mutated frames ----------------------------------------- */

/*
 * What must hold for any frame: a failed parse leaves no key; an OK parse says
 * only what the frame's own bytes say, within the frame and the IP packet.
 */
static void check_invariants(const char *name, int st, const struct wc_pkt *g, const __u8 *f,
			     int len)
{
	static const __u8 zero[16];
	unsigned int l3 = g->l3_off, l4 = g->l4_off, hl, end, base, type, k, ihl = 0, ah = 0;
	unsigned int lim = len;

	cr_assert(st >= WC_PARSE_OK && st <= WC_PARSE_MALFORMED, "case %s: status %d", name, st);
	cr_assert_leq(g->nvlan, WC_MAX_VLAN, "case %s: nvlan %u", name, g->nvlan);
	if (st != WC_PARSE_OK) {
		check_no_key(name, g);
		return;
	}
	cr_assert(g->family == 4 || g->family == 6, "case %s: family %u", name, g->family);
	/* What sits between the VLAN tags and IP says which IP version follows. */
	base = ETH_HLEN + 4 * g->nvlan;
	type = rd16(f + base - 2);
	if (type == 0x8864) {
		cr_assert_eq(l3, base + 8, "case %s: l3_off %u behind PPPoE", name, l3);
		cr_assert_eq(f[base], 0x11, "case %s: PPPoE version/type", name);
		cr_assert_eq(f[base + 1], 0, "case %s: PPPoE code", name);
		cr_assert_eq(rd16(f + base + 6), g->family == 4 ? 0x0021 : 0x0057,
			     "case %s: PPP protocol", name);
		lim = base + 6 + rd16(f + base + 4);
		cr_assert_leq(lim, (unsigned int)len, "case %s: PPPoE payload in frame", name);
	} else if (type == 0x8847 || type == 0x8848) {
		for (k = base; k + 4 < l3 && !(f[k + 2] & 1); k += 4)
			;
		cr_assert_eq(k + 4, l3, "case %s: l3_off %u after the bottom label", name, l3);
		cr_assert(f[k + 2] & 1, "case %s: bottom of stack before l3_off", name);
		cr_assert_leq(l3 - base, 4 * WC_MAX_MPLS, "case %s: labels", name);
	} else {
		cr_assert_eq(l3, base, "case %s: l3_off %u with %u tags", name, l3, g->nvlan);
		cr_assert_eq(type, g->family == 4 ? 0x0800 : 0x86dd, "case %s: ethertype", name);
	}
	cr_assert_eq(f[l3] >> 4, g->family, "case %s: version nibble", name);
	if (g->family == 4) {
		cr_assert_leq(l3 + 20, (unsigned int)len, "case %s: v4 header in frame", name);
		end = l3 + rd16(f + l3 + 2);
		ihl = (f[l3] & 0xf) * 4;
		/* AH: walked in all but later fragments, proto is what follows it. */
		if (f[l3 + 9] == P_AH && g->frag != WC_FRAG_LATER) {
			ah = (f[l3 + ihl + 1] + 2) * 4;
			cr_assert_geq(ah, 12, "case %s: v4 AH of %u bytes", name, ah);
			cr_assert_leq(l3 + ihl + ah, end, "case %s: v4 AH inside the packet", name);
			cr_assert_eq(g->proto, f[l3 + ihl], "case %s: v4 proto after AH", name);
			cr_assert_neq(g->proto, P_AH, "case %s: v4 AH after AH", name);
		} else {
			cr_assert_eq(g->proto, f[l3 + 9], "case %s: v4 proto", name);
		}
		cr_assert_eq(memcmp(g->src, f + l3 + 12, 4), 0, "case %s: v4 src", name);
		cr_assert_eq(memcmp(g->dst, f + l3 + 16, 4), 0, "case %s: v4 dst", name);
		cr_assert_eq(memcmp(g->src + 4, zero, 12), 0, "case %s: v4 src tail", name);
		cr_assert_eq(memcmp(g->dst + 4, zero, 12), 0, "case %s: v4 dst tail", name);
	} else {
		cr_assert_leq(l3 + 40, (unsigned int)len, "case %s: v6 header in frame", name);
		end = l3 + 40 + rd16(f + l3 + 4);
		cr_assert_eq(memcmp(g->src, f + l3 + 8, 16), 0, "case %s: v6 src", name);
		cr_assert_eq(memcmp(g->dst, f + l3 + 24, 16), 0, "case %s: v6 dst", name);
	}
	cr_assert_leq(end, lim, "case %s: IP packet in frame (and PPPoE payload)", name);
	hl = l4_hlen(g->proto);
	if (!hl || g->frag == WC_FRAG_LATER) {
		cr_assert_eq(g->sport, 0, "case %s: sport %u without ports", name, g->sport);
		cr_assert_eq(g->dport, 0, "case %s: dport %u without ports", name, g->dport);
		cr_assert_eq(g->tcp_flags, 0, "case %s: flags without TCP header", name);
		cr_assert_eq(l4, 0, "case %s: l4_off %u without ports", name, l4);
		return;
	}
	cr_assert_geq(l4, l3 + (g->family == 4 ? 20 : 40), "case %s: l4_off %u", name, l4);
	if (g->family == 4)
		cr_assert_eq(l4, l3 + ihl + ah, "case %s: v4 l4_off %u", name, l4);
	cr_assert_leq(l4 + hl, end, "case %s: L4 header inside the IP packet", name);
	cr_assert_eq(g->sport, rd16(f + l4), "case %s: sport", name);
	cr_assert_eq(g->dport, rd16(f + l4 + 2), "case %s: dport", name);
	cr_assert_eq(g->tcp_flags, g->proto == P_TCP ? f[l4 + 13] : 0, "case %s: tcp_flags", name);
}

/* The BPF verdict and every byte of its wc_pkt against the reference parser. */
static void check_reference(const char *name, int st, const struct wc_pkt *g, const __u8 *f,
			    int len)
{
	struct wc_pkt e;
	int want = ref_parse(f, len, &e);

	cr_assert_eq(st, want, "case %s: BPF says %s, the reference %s", name, st_name(st),
		     st_name(want));
	check_fields(name, g, &e);
}

/*
 * Frames mutated at random (header bytes set to random or telling values,
 * cut at random lengths): the invariants hold, and BPF agrees with the
 * reference parser field by field.
 */
Test(parse, mutated_frames_invariants)
{
	static const __u8 magic[] = { 0x00, 0x01, 0x02, 0x05, 0x06, 0x08, 0x11, 0x21, 0x2c,
				      0x33, 0x3c, 0x45, 0x46, 0x47, 0x48, 0x4f, 0x57, 0x60,
				      0x63, 0x64, 0x81, 0x84, 0x86, 0x88, 0xa8, 0xdd, 0xff };
	static struct frame fr[NCUT], t;
	struct wt_rng r = { .s = 0x5eed };
	unsigned int n = cut_frames(fr, NCUT), it, k, ok = 0;
	char name[96];

	for (it = 0; it < 20000; it++) {
		unsigned int src = wt_below(&r, n), nmut = 1 + wt_below(&r, 4), span;
		struct wc_pkt g;
		int st, len;

		t = fr[src];
		span = t.len < 100 ? t.len : 100;
		for (k = 0; k < nmut; k++) {
			unsigned int pos = wt_below(&r, span);

			t.b[pos] = wt_below(&r, 2) ? magic[wt_below(&r, sizeof(magic))]
						   : (__u8)wt_rnd(&r);
		}
		len = wt_below(&r, 4) ? t.len : (int)wt_below(&r, t.len + 1);
		snprintf(name, sizeof(name), "mutation %u of %s", it, fr[src].name);
		st = run(t.b, len, &g, name);
		if (st == RUNT_UNTESTED)
			continue;
		check_invariants(name, st, &g, t.b, len);
		check_reference(name, st, &g, t.b, len);
		ok += st == WC_PARSE_OK;
	}
	/* Mutations that never parse would test only the failure paths. */
	cr_assert_gt(ok, 2000, "case mutations: only %u of 20000 frames parsed OK", ok);
	cr_log_info("parse: %u of 20000 mutated frames parsed OK, all as the reference", ok);
}

/* ---- verifier ------------------------------------------------------------- */

Test(parse, verified_insns)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int ret;

	memset(&info, 0, sizeof(info));
	ret = bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.wc_parse_test), &info, &len);
	cr_assert_eq(ret, 0, "case verified_insns: prog info: %d", ret);
	cr_log_info("parse: wc_parse_test: %u verified instructions, %u translated bytes",
		    info.verified_insns, info.xlated_prog_len);
}
