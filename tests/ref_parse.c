// SPDX-License-Identifier: MIT
/*
 * ref_parse.c: the packet parser's reference, for differential tests and the
 * parser fuzz target. It works on a (buffer, length) cursor with explicit
 * length checks, where the BPF parser works on packet pointers checked for the
 * verifier, and follows the rules in parse.bpf.h's comment:
 *
 * - Ethernet, then up to WC_MAX_VLAN 802.1Q/802.1ad tags; a further tag is
 *   MALFORMED, an ethertype other than IPv4, IPv6, PPPoE session or MPLS
 *   NOT_IP.
 * - PPPoE session: 8 bytes (header and PPP protocol) in the frame (else
 *   TRUNCATED); version/type 0x11, code 0 and length >= 2 (else MALFORMED);
 *   the length's worth of bytes after the 6-byte header in the frame (else
 *   TRUNCATED); PPP protocol 0x0021 is IPv4, 0x0057 IPv6, others NOT_IP. The
 *   IP packet is read as if the frame ended where the PPPoE payload ends.
 * - MPLS (0x8847, 0x8848): 4-byte entries, each in the frame (else
 *   TRUNCATED), up to the one with the bottom-of-stack bit; none among the
 *   first WC_MAX_MPLS is MALFORMED. The payload's first byte must be in the
 *   frame (else TRUNCATED): its high nibble 4 is IPv4, 6 IPv6, others NOT_IP.
 * - IPv4: version 4, IHL >= 5 and total length >= IHL*4 (else MALFORMED); the
 *   header and the whole packet inside the frame (else TRUNCATED). Protocol
 *   51 (AH), unless a later fragment: its 12 fixed bytes inside the packet
 *   (else TRUNCATED), length field >= 1 (else MALFORMED), all its
 *   (length + 2) * 4 bytes inside the packet (else TRUNCATED), its next
 *   header not AH again (else MALFORMED); that next header is the protocol.
 * - IPv6: version 6 (else MALFORMED); the fixed header and the payload length
 *   inside the frame (else TRUNCATED); at most WC_MAX_IPV6_EXT extension
 *   headers (hop-by-hop, routing, destination, fragment, AH), each wholly
 *   inside the IP packet; AH lengths a multiple of 8 bytes.
 * - Fragments: a non-zero offset is a later fragment (no ports, no flags);
 *   offset 0 with more-fragments is a first fragment. In IPv6, the bytes after
 *   a later fragment's header are payload: the protocol is that header's next
 *   header, and nothing after it is parsed.
 * - L4 headers (TCP 20, UDP 8, SCTP 12 bytes) must end inside the IP packet;
 *   TCP data offset >= 5.
 */
#include <string.h>
#include "ref_parse.h"

struct cursor {
	const __u8 *b;
	size_t len; /* bytes readable from b */
};

static int have(const struct cursor *c, size_t off, size_t n)
{
	return off <= c->len && n <= c->len - off;
}

static unsigned int be16(const struct cursor *c, size_t off)
{
	return (unsigned int)c->b[off] << 8 | c->b[off + 1];
}

static int is_ext(unsigned int nh)
{
	return nh == 0 || nh == 43 || nh == 60 || nh == 44 || nh == 51;
}

/* Ports and flags of the L4 header at off of an IP packet of ip->len bytes. */
static int l4(const struct cursor *ip, size_t off, struct wc_pkt *p)
{
	size_t need;

	if (p->frag == WC_FRAG_LATER)
		return WC_PARSE_OK;
	switch (p->proto) {
	case 6:
		need = 20;
		break;
	case 17:
		need = 8;
		break;
	case 132:
		need = 12;
		break;
	default:
		return WC_PARSE_OK;
	}
	if (!have(ip, off, need))
		return WC_PARSE_TRUNCATED;
	if (p->proto == 6) {
		if ((ip->b[off + 12] >> 4) < 5)
			return WC_PARSE_MALFORMED;
		p->tcp_flags = ip->b[off + 13];
	}
	p->sport = be16(ip, off);
	p->dport = be16(ip, off + 2);
	p->l4_off = (__u16)(p->l3_off + off);
	return WC_PARSE_OK;
}

static int ipv4(const struct cursor *rest, struct wc_pkt *p)
{
	struct cursor ip = *rest;
	unsigned int ihl, tot, fo;

	if (!have(rest, 0, 20))
		return WC_PARSE_TRUNCATED;
	if (rest->b[0] >> 4 != 4 || (rest->b[0] & 15) < 5)
		return WC_PARSE_MALFORMED;
	ihl = (rest->b[0] & 15) * 4u;
	tot = be16(rest, 2);
	if (tot < ihl)
		return WC_PARSE_MALFORMED;
	if (!have(rest, 0, ihl) || !have(rest, 0, tot))
		return WC_PARSE_TRUNCATED;
	ip.len = tot; /* bytes after the IP packet (Ethernet padding) are not headers */
	p->family = 4;
	p->proto = rest->b[9];
	fo = be16(rest, 6);
	p->frag = (fo & 0x1fff) ? WC_FRAG_LATER : (fo & 0x2000) ? WC_FRAG_FIRST : WC_FRAG_NONE;
	memcpy(p->src, rest->b + 12, 4);
	memcpy(p->dst, rest->b + 16, 4);
	if (p->proto == 51 && p->frag != WC_FRAG_LATER) { /* AH, RFC 4302 */
		size_t size;

		if (!have(&ip, ihl, 12))
			return WC_PARSE_TRUNCATED;
		if (ip.b[ihl + 1] == 0)
			return WC_PARSE_MALFORMED;
		size = ((size_t)ip.b[ihl + 1] + 2) * 4;
		if (!have(&ip, ihl, size))
			return WC_PARSE_TRUNCATED;
		if (ip.b[ihl] == 51)
			return WC_PARSE_MALFORMED;
		p->proto = ip.b[ihl];
		return l4(&ip, ihl + size, p);
	}
	return l4(&ip, ihl, p);
}

static int ipv6(const struct cursor *rest, struct wc_pkt *p)
{
	struct cursor ip = *rest;
	unsigned int nh, n;
	size_t off = 40;

	if (!have(rest, 0, 40))
		return WC_PARSE_TRUNCATED;
	if (rest->b[0] >> 4 != 6)
		return WC_PARSE_MALFORMED;
	if (!have(rest, 0, 40 + (size_t)be16(rest, 4)))
		return WC_PARSE_TRUNCATED;
	ip.len = 40 + (size_t)be16(rest, 4);
	p->family = 6;
	memcpy(p->src, rest->b + 8, 16);
	memcpy(p->dst, rest->b + 24, 16);
	nh = rest->b[6];
	for (n = 0; is_ext(nh); n++) {
		size_t size;

		if (n == WC_MAX_IPV6_EXT)
			return WC_PARSE_MALFORMED;
		if (!have(&ip, off, 8))
			return WC_PARSE_TRUNCATED;
		if (nh == 44) { /* fragment header: 8 bytes, offset in the top 13 bits */
			unsigned int fo = be16(&ip, off + 2);

			size = 8;
			if (fo >> 3) { /* a later fragment: payload follows, not headers */
				p->frag = WC_FRAG_LATER;
				p->proto = ip.b[off];
				return WC_PARSE_OK;
			}
			if (fo & 1)
				p->frag = WC_FRAG_FIRST;
		} else if (nh == 51) { /* AH: (len + 2) 32-bit words */
			size = ((size_t)ip.b[off + 1] + 2) * 4;
			if (size % 8)
				return WC_PARSE_MALFORMED;
		} else {
			size = ((size_t)ip.b[off + 1] + 1) * 8;
		}
		nh = ip.b[off];
		if (!have(&ip, off, size))
			return WC_PARSE_TRUNCATED;
		off += size;
	}
	p->proto = (__u8)nh;
	return l4(&ip, off, p);
}

/* PPPoE session at off: the ethertype it carries (0: not IP); *end: its payload's end. */
static int pppoe(const struct cursor *c, size_t *off, size_t *end, unsigned int *type)
{
	unsigned int len, ppp;

	if (!have(c, *off, 8))
		return WC_PARSE_TRUNCATED;
	if (c->b[*off] != 0x11 || c->b[*off + 1] != 0)
		return WC_PARSE_MALFORMED;
	len = be16(c, *off + 4);
	if (len < 2)
		return WC_PARSE_MALFORMED;
	if (!have(c, *off + 6, len))
		return WC_PARSE_TRUNCATED;
	ppp = be16(c, *off + 6);
	*type = ppp == 0x0021 ? 0x0800 : ppp == 0x0057 ? 0x86dd : 0;
	*end = *off + 6 + len;
	*off += 8;
	return WC_PARSE_OK;
}

/* MPLS label stack at off: the ethertype its payload's first nibble names (0: not IP). */
static int mpls(const struct cursor *c, size_t *off, unsigned int *type)
{
	unsigned int n;

	for (n = 0; n < WC_MAX_MPLS; n++) {
		int bottom;

		if (!have(c, *off, 4))
			return WC_PARSE_TRUNCATED;
		bottom = c->b[*off + 2] & 1;
		*off += 4;
		if (bottom) {
			if (!have(c, *off, 1))
				return WC_PARSE_TRUNCATED;
			*type = c->b[*off] >> 4 == 4 ? 0x0800 : c->b[*off] >> 4 == 6 ? 0x86dd : 0;
			return WC_PARSE_OK;
		}
	}
	return WC_PARSE_MALFORMED;
}

int ref_parse(const __u8 *frame, size_t len, struct wc_pkt *pkt)
{
	struct cursor c = { frame, len }, rest;
	unsigned int type, tags = 0;
	size_t off = 14, end = len;
	int st = WC_PARSE_OK;

	memset(pkt, 0, sizeof(*pkt));
	if (!have(&c, 0, 14))
		return WC_PARSE_TRUNCATED;
	type = be16(&c, 12);
	while (type == 0x8100 || type == 0x88a8) {
		if (tags == WC_MAX_VLAN)
			return WC_PARSE_MALFORMED;
		if (!have(&c, off, 4))
			return WC_PARSE_TRUNCATED;
		pkt->vlan[tags++] = be16(&c, off) & 0xfff;
		pkt->nvlan = (__u8)tags;
		type = be16(&c, off + 2);
		off += 4;
	}
	if (type == 0x8864)
		st = pppoe(&c, &off, &end, &type);
	else if (type == 0x8847 || type == 0x8848)
		st = mpls(&c, &off, &type);
	if (st == WC_PARSE_OK && type != 0x0800 && type != 0x86dd)
		return WC_PARSE_NOT_IP;
	if (st == WC_PARSE_OK) {
		rest.b = frame + off;
		rest.len = end - off; /* PPPoE: the IP packet ends with the PPPoE payload */
		pkt->l3_off = (__u16)off;
		st = type == 0x0800 ? ipv4(&rest, pkt) : ipv6(&rest, pkt);
	}
	if (st != WC_PARSE_OK) {
		/* No key from a bad frame: keep only the VLAN tags. */
		struct wc_pkt clean = { .nvlan = pkt->nvlan };

		memcpy(clean.vlan, pkt->vlan, sizeof(clean.vlan));
		*pkt = clean;
	}
	return st;
}
