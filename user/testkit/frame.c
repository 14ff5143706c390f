// SPDX-License-Identifier: MIT
/* pkt.c: builds Ethernet/VLAN/PPPoE/MPLS/IPv4/IPv6/AH/L4 frames for the test harness and CLI. */
#include <errno.h>
#include <string.h>
#include "testkit.h"

struct wbuf {
	__u8 *p;
	size_t len, cap;
	int err;
};

static __u8 *put(struct wbuf *b, size_t n)
{
	__u8 *p;

	if (b->err || b->len + n > b->cap) {
		b->err = -ENOSPC;
		return NULL;
	}
	p = b->p + b->len;
	memset(p, 0, n);
	b->len += n;
	return p;
}

static void wr16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

__u16 tk_csum(const void *d, size_t n)
{
	const __u8 *p = d;
	__u32 s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (p[i] << 8) | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s & 0xffff;
}

static size_t l4_hdr_len(__u8 proto)
{
	switch (proto) {
	case 6:
		return 20;
	case 17:
		return 8;
	case 132:
		return 12;
	default:
		return 0;
	}
}

/* L4 header (when the frame carries one) and payload. */
static void put_l4(struct wbuf *b, const struct wc_pkt *p, int later_frag, unsigned int payload)
{
	size_t hl = later_frag ? 0 : l4_hdr_len(p->proto);
	__u8 *h = hl ? put(b, hl) : NULL;
	__u8 *d = put(b, payload);

	if (d)
		memset(d, 0xab, payload);
	if (!h)
		return;
	wr16(h, p->sport);
	wr16(h + 2, p->dport);
	if (p->proto == 6) {
		h[12] = 5 << 4;
		h[13] = p->tcp_flags;
		wr16(h + 14, 65535);
	} else if (p->proto == 17) {
		wr16(h + 4, 8 + payload);
	}
}

static int build_ipv4(struct wbuf *b, const struct wc_pkt *p, const struct tk_frame_opts *o)
{
	unsigned int opts = o ? o->ip_opts : 0, frag = o && o->frag ? o->frag : p->frag;
	unsigned int payload = o ? o->payload : 0, ah = o ? o->ipv4_ah : 0;
	size_t start, hlen = 20 + opts;
	__u8 *h;

	if (opts % 4 || opts > 40)
		return -EINVAL;
	if (ah && (ah % 4 || ah < 12 || ah > 1028 || frag == WC_FRAG_LATER))
		return -EINVAL;
	start = b->len;
	h = put(b, hlen);
	if (!h)
		return -ENOSPC;
	memset(h + 20, 1, opts); /* NOP options */
	if (ah) {
		__u8 *a = put(b, ah);

		if (!a)
			return -ENOSPC;
		a[0] = p->proto;
		a[1] = ah / 4 - 2;
		wr16(a + 6, 0x100); /* SPI */
		a[11] = 1; /* sequence number */
		memset(a + 12, 0x77, ah - 12); /* ICV */
	}
	put_l4(b, p, frag == WC_FRAG_LATER, payload);
	if (b->err)
		return b->err;
	h = b->p + start;
	h[0] = 0x40 | (hlen / 4);
	wr16(h + 2, b->len - start);
	wr16(h + 4, 0x1234);
	if (frag == WC_FRAG_FIRST)
		wr16(h + 6, 0x2000);
	else if (frag == WC_FRAG_LATER)
		wr16(h + 6, 185); /* offset 1480 bytes, last fragment */
	h[8] = 64;
	h[9] = ah ? 51 : p->proto;
	memcpy(h + 12, p->src, 4);
	memcpy(h + 16, p->dst, 4);
	wr16(h + 10, tk_csum(h, hlen));
	return 0;
}

static int build_ipv6(struct wbuf *b, const struct wc_pkt *p, const struct tk_frame_opts *o)
{
	unsigned int frag = o && o->frag ? o->frag : p->frag, payload = o ? o->payload : 0;
	__u8 ext[9];
	unsigned int next, i, n = 0, have_frag = 0;
	size_t start;
	__u8 *h;

	for (i = 0; o && i < o->nipv6_ext && i < 8; i++) {
		ext[n++] = o->ipv6_ext[i];
		have_frag |= o->ipv6_ext[i] == 44;
	}
	if (frag && !have_frag)
		ext[n++] = 44;
	start = b->len;
	h = put(b, 40);
	if (!h)
		return -ENOSPC;
	h[0] = 0x60;
	h[7] = 64;
	memcpy(h + 8, p->src, 16);
	memcpy(h + 24, p->dst, 16);
	h[6] = n ? ext[0] : p->proto;
	for (i = 0; i < n; i++) {
		__u8 *e = put(b, 8);

		if (!e)
			return -ENOSPC;
		next = i + 1 < n ? ext[i + 1] : p->proto;
		e[0] = next;
		if (ext[i] == 44) {
			if (frag == WC_FRAG_FIRST)
				wr16(e + 2, 1); /* offset 0, M set */
			else if (frag == WC_FRAG_LATER)
				wr16(e + 2, 185 << 3);
			e[7] = 0x42; /* identification */
		} else if (ext[i] == 51) {
			e[1] = 0; /* AH: (0 + 2) * 4 = 8 bytes */
		} else if (ext[i] == 43) {
			e[2] = 4; /* segment routing type, 0 segments left */
		} else {
			e[2] = 1; /* PadN option filling the rest */
			e[3] = 4;
		}
	}
	put_l4(b, p, frag == WC_FRAG_LATER, payload);
	if (b->err)
		return b->err;
	wr16(b->p + start + 4, b->len - start - 40);
	return 0;
}

int tk_frame_build(const struct wc_pkt *p, const struct tk_frame_opts *o, void *buf,
		      size_t len)
{
	struct wbuf b = { .p = buf, .cap = len };
	unsigned int nvlan = o ? o->nvlan : 0, nmpls = o ? o->nmpls : 0, i;
	__u16 pppoe = o ? o->pppoe : 0;
	size_t pppoe_at = 0;
	__u8 *eth;
	int err;

	if (nvlan > 2 || nmpls > 16 || (pppoe && nmpls) || (p->family != 4 && p->family != 6))
		return -EINVAL;
	eth = put(&b, 12);
	if (!eth)
		return -ENOSPC;
	memcpy(eth, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	for (i = 0; i < nvlan; i++) {
		__u8 *t = put(&b, 4);

		if (!t)
			return -ENOSPC;
		wr16(t, nvlan == 2 && i == 0 ? 0x88a8 : 0x8100);
		wr16(t + 2, o->vlan[i] & 0xfff);
	}
	if (!put(&b, 2))
		return -ENOSPC;
	wr16(b.p + b.len - 2, pppoe ? 0x8864 : nmpls ? 0x8847 : p->family == 4 ? 0x0800 : 0x86dd);
	if (pppoe) {
		__u8 *s = put(&b, 8);

		if (!s)
			return -ENOSPC;
		pppoe_at = b.len - 8;
		s[0] = 0x11; /* version 1, type 1; code 0: session data */
		wr16(s + 2, pppoe);
		wr16(s + 6, p->family == 4 ? 0x0021 : 0x0057); /* PPP protocol */
	}
	for (i = 0; i < nmpls; i++) {
		__u8 *m = put(&b, 4);
		__u32 e = (16 + i) << 12 | (i + 1 == nmpls) << 8 | 64; /* label, S, TTL */

		if (!m)
			return -ENOSPC;
		wr16(m, e >> 16);
		wr16(m + 2, e & 0xffff);
	}
	err = p->family == 4 ? build_ipv4(&b, p, o) : build_ipv6(&b, p, o);
	if (err)
		return err;
	/* The PPPoE length: the PPP protocol field and the IP packet. */
	if (pppoe)
		wr16(b.p + pppoe_at + 4, b.len - pppoe_at - 6);
	return (int)b.len;
}

void tk_pkt_from_tuple(const struct wcard_tuple *t, struct wc_pkt *p)
{
	memset(p, 0, sizeof(*p));
	p->family = 4;
	p->proto = t->proto;
	p->sport = t->sport;
	p->dport = t->dport;
	p->tcp_flags = t->proto == 6 ? t->flags : 0;
	/*
	 * The parser walks an IPv4 AH header to the protocol it protects, except
	 * in a later fragment (payload only): the one frame it reads as protocol
	 * 51, with ports and flags 0 as wcard_key_from_tuple() has them.
	 */
	if (t->proto == 51)
		p->frag = WC_FRAG_LATER;
	if (t->family == 6) {
		unsigned int i;

		p->family = 6;
		for (i = 0; i < 16; i++) {
			p->src[i] = (__u8)(t->src6 >> (8 * (15 - i)));
			p->dst[i] = (__u8)(t->dst6 >> (8 * (15 - i)));
		}
		return;
	}
	p->src[0] = t->src >> 24;
	p->src[1] = t->src >> 16;
	p->src[2] = t->src >> 8;
	p->src[3] = t->src;
	p->dst[0] = t->dst >> 24;
	p->dst[1] = t->dst >> 16;
	p->dst[2] = t->dst >> 8;
	p->dst[3] = t->dst;
}
