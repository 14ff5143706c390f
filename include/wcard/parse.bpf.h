/* parse.bpf.h: frame -> struct wc_pkt (Ethernet to L4 ports); BPF programs include it. */
#ifndef WCARD_PARSE_BPF_H
#define WCARD_PARSE_BPF_H

#include <wcard/wcard_common.h>

/*
 * wc_parse() turns a frame into the fields a classifier key needs. It is
 * independent of classification so that any XDP or tc program can reuse it:
 * pass the frame bounds (ctx->data, ctx->data_end).
 *
 * What it reads, in order:
 *   Ethernet, then at most WC_MAX_VLAN 802.1Q/802.1ad tags. The ethertype after
 *   them is IPv4, IPv6, or one of two encapsulations (after the tags too):
 *   PPPoE session (0x8864, RFC 2516): a 6-byte header of version 1, type 1,
 *     code 0 and a payload length of at least 2, then the 2-byte PPP protocol:
 *     0x0021 IPv4, 0x0057 IPv6, anything else is not IP. The IP packet ends
 *     where the PPPoE payload ends: it is checked against that end as against
 *     the frame's.
 *   MPLS (0x8847 unicast, 0x8848 multicast, RFC 3032): label stack entries of
 *     4 bytes up to the one with the bottom-of-stack bit, at most WC_MAX_MPLS
 *     of them. The payload has no type field: its first nibble decides, 4
 *     IPv4, 6 IPv6, anything else not IP (as routers that hash on it do, a
 *     pseudowire without control word whose inner MAC starts so is read as IP).
 *   IPv4, then one AH header (RFC 4302: (payload length + 2) * 4 bytes) when
 *   the protocol is 51 and the packet is not a later fragment; proto is then
 *   AH's next header, as for IPv6.
 *   IPv6, then at most WC_MAX_IPV6_EXT extension headers (hop-by-hop, routing,
 *   destination options, fragment, AH).
 *   TCP, UDP or SCTP ports, TCP flags.
 *
 * Verdicts (enum wc_parse_status):
 *   WC_PARSE_OK         every field of *pkt is valid.
 *   WC_PARSE_NOT_IP     the ethertype after the VLAN tags is none of the above
 *                       (ARP, LLDP, PPPoE discovery, ...), a PPPoE session
 *                       carries another PPP protocol (LCP, MPLS, ...), or an
 *                       MPLS payload starts with a nibble other than 4 or 6.
 *                       Only vlan/nvlan are set.
 *   WC_PARSE_TRUNCATED  a header the key needs (Ethernet, VLAN, PPPoE with the
 *                       PPP protocol, an MPLS entry or the payload's first
 *                       byte, IP, AH, an IPv6 extension header, TCP 20 / UDP 8 /
 *                       SCTP 12 bytes) ends past the frame, or past the IP
 *                       packet's own length, or the IP length exceeds the
 *                       frame or the PPPoE payload, or the PPPoE length
 *                       exceeds the frame.
 *   WC_PARSE_MALFORMED  IP version or IHL wrong, IPv4 total length < IHL, TCP data
 *                       offset < 5, a third VLAN tag, a PPPoE header with another
 *                       version, type or code or a length below 2, an MPLS stack
 *                       without bottom within WC_MAX_MPLS entries, an IPv4 AH
 *                       header shorter than its 12 fixed bytes (length field 0)
 *                       or followed by another AH, an IPv6 extension chain
 *                       longer than WC_MAX_IPV6_EXT, or an IPv6 AH header whose
 *                       length is not a multiple of 8 bytes (RFC 4302).
 * Each header is checked whole before the next is read, so the first bad one
 * decides the verdict. On any verdict other than OK the address, port and
 * protocol fields are zero: a frame never yields a wrong key, only no key.
 *
 * Rules: non-first IPv4/IPv6 fragments have ports and TCP flags 0 (their L4
 * header is not in the frame); for IPv6 the walk stops at such a fragment
 * header and proto is its next header, for IPv4 proto is the IP header's (AH
 * is not walked there). Protocols other than TCP, UDP and SCTP get ports 0.
 * l3_off is where the IP header starts, behind any VLAN, PPPoE or MPLS header.
 * Bytes past the IP packet's length (Ethernet padding) are never read as headers.
 */

#define WC_ETH_HLEN 14
#define WC_ETH_P_IP 0x0800
#define WC_ETH_P_IPV6 0x86DD
#define WC_ETH_P_8021Q 0x8100
#define WC_ETH_P_8021AD 0x88A8
#define WC_ETH_P_MPLS_UC 0x8847
#define WC_ETH_P_MPLS_MC 0x8848
#define WC_ETH_P_PPPOE_SES 0x8864

#define WC_PPP_IP 0x0021
#define WC_PPP_IPV6 0x0057
#define WC_PPPOE_HLEN 8 /* the session header (6 bytes) and the PPP protocol (2) */
#define WC_MPLS_HLEN 4 /* one label stack entry */
#define WC_ROOM_ANY 0xffffffffu /* outside PPPoE only the frame bounds the IP packet */
#define WC_AH4_MIN 12 /* AH without ICV: next header, length, reserved, SPI, sequence */

#define WC_IPPROTO_HOPOPTS 0
#define WC_IPPROTO_TCP 6
#define WC_IPPROTO_UDP 17
#define WC_IPPROTO_ROUTING 43
#define WC_IPPROTO_FRAGMENT 44
#define WC_IPPROTO_AH 51
#define WC_IPPROTO_DSTOPTS 60
#define WC_IPPROTO_SCTP 132

/* Big-endian reads byte by byte: packet data is not aligned. */
static __always_inline __u16 wc_rd16(const __u8 *p)
{
	return ((__u16)p[0] << 8) | p[1];
}

/*
 * data + off, opaque to the compiler. The verifier accepts a packet read only
 * after a bound test on that very pointer; an earlier, wider test (the IP
 * length against the frame) implies the test to the compiler, which would
 * drop it. Behind the barrier the compiler cannot tell, and keeps it.
 */
static __always_inline __u8 *wc_at(void *data, __u32 off)
{
	__u8 *p = (__u8 *)data + off;

	asm volatile("" : "+r"(p));
	return p;
}

static __always_inline void wc_pkt_clear_l3(struct wc_pkt *pkt)
{
	__builtin_memset(pkt->src, 0, sizeof(pkt->src));
	__builtin_memset(pkt->dst, 0, sizeof(pkt->dst));
	pkt->family = 0;
	pkt->proto = 0;
	pkt->tcp_flags = 0;
	pkt->frag = 0;
	pkt->sport = 0;
	pkt->dport = 0;
	pkt->l3_off = 0;
	pkt->l4_off = 0;
}

static __always_inline int wc_parse_fail(struct wc_pkt *pkt, int status)
{
	wc_pkt_clear_l3(pkt);
	return status;
}

/*
 * Ports and flags of the L4 header at off. l3_end is where the IP packet ends
 * (by its own length field), so Ethernet padding is never parsed. Offsets
 * count from the IP header (data); wc_parse() makes l4_off one from the frame.
 */
static __always_inline int wc_parse_l4(void *data, void *data_end, __u32 off, __u32 l3_end,
				       struct wc_pkt *pkt)
{
	__u8 *p;

	if (pkt->frag == WC_FRAG_LATER)
		return WC_PARSE_OK;
	/* Bound off so the verifier can range-check the packet pointer below. */
	if (off > 0xffff)
		return WC_PARSE_TRUNCATED;
	p = wc_at(data, off);
	/*
	 * Each protocol checks its own constant size against the frame right
	 * before reading: the verifier only tracks such direct comparisons.
	 * off + size <= l3_end keeps Ethernet padding out.
	 */
	switch (pkt->proto) {
	case WC_IPPROTO_TCP:
		if (off + 20 > l3_end || (void *)(p + 20) > data_end)
			return WC_PARSE_TRUNCATED;
		if ((p[12] >> 4) < 5)
			return WC_PARSE_MALFORMED;
		pkt->tcp_flags = p[13];
		break;
	case WC_IPPROTO_UDP:
		if (off + 8 > l3_end || (void *)(p + 8) > data_end)
			return WC_PARSE_TRUNCATED;
		break;
	case WC_IPPROTO_SCTP:
		if (off + 12 > l3_end || (void *)(p + 12) > data_end)
			return WC_PARSE_TRUNCATED;
		break;
	default:
		return WC_PARSE_OK;
	}
	pkt->sport = wc_rd16(p);
	pkt->dport = wc_rd16(p + 2);
	pkt->l4_off = off;
	return WC_PARSE_OK;
}

/*
 * One AH header (RFC 4302) at off of an IPv4 packet ending at l3_end: proto
 * becomes its next header and off moves past it.
 */
static __always_inline int wc_parse_ah4(void *data, void *data_end, __u32 *off, __u32 l3_end,
					struct wc_pkt *pkt)
{
	__u8 *p = wc_at(data, *off);

	/* l3_end is inside the frame; the second test is the verifier's (wc_at). */
	if (*off + WC_AH4_MIN > l3_end || (void *)(p + WC_AH4_MIN) > data_end)
		return WC_PARSE_TRUNCATED;
	/* (len + 2) * 4 bytes: a length field of 0 leaves no room for SPI and sequence. */
	if (p[1] == 0)
		return WC_PARSE_MALFORMED;
	*off += ((__u32)p[1] + 2) * 4;
	if (*off > l3_end)
		return WC_PARSE_TRUNCATED;
	/* Only one AH is walked: the ports behind a second one would go unseen. */
	if (p[0] == WC_IPPROTO_AH)
		return WC_PARSE_MALFORMED;
	pkt->proto = p[0];
	return WC_PARSE_OK;
}

/*
 * The IPv4 packet at ip, of at most room bytes (a PPPoE payload's; else
 * WC_ROOM_ANY). Offsets from here on count from ip.
 */
static __always_inline int wc_parse_ipv4(void *ip, void *data_end, __u32 room, struct wc_pkt *pkt)
{
	__u8 *p = ip;
	__u32 hlen, tot, frag, off;
	int ret;

	if ((void *)(p + 20) > data_end || 20 > room)
		return WC_PARSE_TRUNCATED;
	if ((p[0] >> 4) != 4 || (p[0] & 0xf) < 5)
		return WC_PARSE_MALFORMED;
	hlen = (p[0] & 0xf) * 4;
	tot = wc_rd16(p + 2);
	if (tot < hlen)
		return WC_PARSE_MALFORMED;
	/* Options: the whole header and the whole packet must be in the frame. */
	if ((void *)(p + hlen) > data_end || (void *)(p + tot) > data_end || tot > room)
		return WC_PARSE_TRUNCATED;
	pkt->family = 4;
	pkt->proto = p[9];
	frag = wc_rd16(p + 6);
	if (frag & 0x1fff)
		pkt->frag = WC_FRAG_LATER;
	else if (frag & 0x2000)
		pkt->frag = WC_FRAG_FIRST;
	__builtin_memcpy(pkt->src, p + 12, 4);
	__builtin_memcpy(pkt->dst, p + 16, 4);
	off = hlen;
	/* A later fragment carries payload, never AH: only the first one has it. */
	if (pkt->proto == WC_IPPROTO_AH && pkt->frag != WC_FRAG_LATER) {
		ret = wc_parse_ah4(ip, data_end, &off, tot, pkt);
		if (ret != WC_PARSE_OK)
			return ret;
	}
	return wc_parse_l4(ip, data_end, off, tot, pkt);
}

/* The IPv6 packet at ip, of at most room bytes; offsets count from ip. */
static __always_inline int wc_parse_ipv6(void *ip, void *data_end, __u32 room, struct wc_pkt *pkt)
{
	__u8 *p = ip;
	__u32 l3_end, nh, i, off;

	if ((void *)(p + 40) > data_end || 40 > room)
		return WC_PARSE_TRUNCATED;
	if ((p[0] >> 4) != 6)
		return WC_PARSE_MALFORMED;
	l3_end = 40 + wc_rd16(p + 4);
	if ((void *)(p + l3_end) > data_end || l3_end > room)
		return WC_PARSE_TRUNCATED;
	pkt->family = 6;
	nh = p[6];
	__builtin_memcpy(pkt->src, p + 8, 16);
	__builtin_memcpy(pkt->dst, p + 24, 16);
	off = 40;

	/* Extension header chain: bounded so the verifier sees a finite walk. */
#pragma unroll
	for (i = 0; i < WC_MAX_IPV6_EXT; i++) {
		__u32 len, units;

		if (nh != WC_IPPROTO_HOPOPTS && nh != WC_IPPROTO_ROUTING &&
		    nh != WC_IPPROTO_DSTOPTS && nh != WC_IPPROTO_FRAGMENT && nh != WC_IPPROTO_AH)
			break;
		/* off grows by at most 2 KiB per header: keep it provably small. */
		if (off > 0x7fff || off + 8 > l3_end)
			return WC_PARSE_TRUNCATED;
		p = wc_at(ip, off);
		if ((void *)(p + 8) > data_end)
			return WC_PARSE_TRUNCATED;
		/*
		 * One length formula for every header type, (units + 1) * 8, so that
		 * all paths give off the same shape of range and the verifier can
		 * prune them instead of multiplying states per header.
		 */
		units = p[1];
		if (nh == WC_IPPROTO_FRAGMENT) {
			__u16 fo = wc_rd16(p + 2);

			units = 0; /* fixed 8 bytes; byte 1 is reserved */
			/*
			 * A later fragment: what follows its fragment header is
			 * payload, never headers. Stop here, so crafted bytes cannot
			 * pose as a header (another fragment header, ports).
			 */
			if (fo & 0xfff8) {
				pkt->frag = WC_FRAG_LATER;
				pkt->proto = p[0];
				return WC_PARSE_OK;
			}
			if (fo & 1)
				pkt->frag = WC_FRAG_FIRST;
		} else if (nh == WC_IPPROTO_AH) {
			/* (len + 2) * 4 bytes, a multiple of 8 in IPv6 (RFC 4302). */
			if (units & 1)
				return WC_PARSE_MALFORMED;
			units >>= 1;
		}
		len = (units + 1) * 8;
		nh = p[0];
		off += len;
		/* The whole header, not only its first 8 bytes, is inside the packet. */
		if (off > l3_end)
			return WC_PARSE_TRUNCATED;
	}
	if (nh == WC_IPPROTO_HOPOPTS || nh == WC_IPPROTO_ROUTING || nh == WC_IPPROTO_DSTOPTS ||
	    nh == WC_IPPROTO_FRAGMENT || nh == WC_IPPROTO_AH)
		return WC_PARSE_MALFORMED;
	pkt->proto = nh;
	return wc_parse_l4(ip, data_end, off, l3_end, pkt);
}

/*
 * PPPoE session header at *off (RFC 2516). On OK, *off is past the PPP
 * protocol field, *room is what the PPPoE payload leaves the IP packet, and
 * *proto is the ethertype of what it carries: IPv4, IPv6, or 0 for any other
 * PPP protocol.
 */
static __always_inline int wc_parse_pppoe(void *data, void *data_end, __u32 *off, __u32 *room,
					  __u16 *proto)
{
	__u8 *p = (__u8 *)data + *off;
	__u32 len;
	__u16 ppp;

	if ((void *)(p + WC_PPPOE_HLEN) > data_end)
		return WC_PARSE_TRUNCATED;
	/* Version 1, type 1; code 0 is session data (other codes are discovery). */
	if (p[0] != 0x11 || p[1] != 0)
		return WC_PARSE_MALFORMED;
	/* The length counts the PPP payload from the protocol field on. */
	len = wc_rd16(p + 4);
	if (len < 2)
		return WC_PARSE_MALFORMED;
	if ((void *)(p + 6 + len) > data_end)
		return WC_PARSE_TRUNCATED;
	*room = len - 2;
	*off += WC_PPPOE_HLEN;
	ppp = wc_rd16(p + 6);
	*proto = ppp == WC_PPP_IP ? WC_ETH_P_IP : ppp == WC_PPP_IPV6 ? WC_ETH_P_IPV6 : 0;
	return WC_PARSE_OK;
}

/*
 * MPLS label stack at *off (RFC 3032). On OK, *off is past the bottom entry
 * and *proto is the ethertype its payload's first nibble names: IPv4, IPv6,
 * or 0 (not IP).
 */
static __always_inline int wc_parse_mpls(void *data, void *data_end, __u32 *off, __u16 *proto)
{
	__u8 *p;
	__u32 i;

	/* Unrolled, WC_MAX_MPLS entries: the verifier needs a bounded walk. */
#pragma unroll
	for (i = 0; i < WC_MAX_MPLS; i++) {
		p = (__u8 *)data + *off;
		if ((void *)(p + WC_MPLS_HLEN) > data_end)
			return WC_PARSE_TRUNCATED;
		*off += WC_MPLS_HLEN;
		/* Bottom of stack (bit 8 of the entry): the payload follows. */
		if (p[2] & 1) {
			p += WC_MPLS_HLEN;
			if ((void *)(p + 1) > data_end)
				return WC_PARSE_TRUNCATED;
			*proto = (p[0] >> 4) == 4 ? WC_ETH_P_IP :
				 (p[0] >> 4) == 6 ? WC_ETH_P_IPV6 : 0;
			return WC_PARSE_OK;
		}
	}
	return WC_PARSE_MALFORMED;
}

/* The IP header starts at most this far into the frame (PPPoE takes less than MPLS). */
#define WC_L3_MAX_OFF (WC_ETH_HLEN + 4 * WC_MAX_VLAN + WC_MPLS_HLEN * WC_MAX_MPLS)
WC_STATIC_ASSERT(WC_L3_MAX_OFF <= 0xff && WC_PPPOE_HLEN <= WC_MPLS_HLEN * WC_MAX_MPLS,
		 "the IP header's offset fits the mask of wc_l3_off_set()");

/*
 * Record the IP header's offset in pkt->l3_off and return it read back: to
 * the verifier an unknown in [0, 255] rather than the constant of the path
 * taken (it does not track what is stored in a global subprogram's argument
 * or a map value, where wcard's programs keep *pkt). The mask only tells it
 * the bound.
 */
static __always_inline __u32 wc_l3_off_set(struct wc_pkt *pkt, __u32 off)
{
	pkt->l3_off = off;
	return *(volatile __u16 *)&pkt->l3_off & 0xff;
}

/* Parse the frame [data, data_end) into *pkt. Returns enum wc_parse_status. */
static __always_inline int wc_parse(void *data, void *data_end, struct wc_pkt *pkt)
{
	__u32 off = WC_ETH_HLEN, room = WC_ROOM_ANY, i;
	__u8 *p = data;
	__u16 proto;
	int ret = WC_PARSE_OK;

	__builtin_memset(pkt, 0, sizeof(*pkt));
	if ((void *)(p + WC_ETH_HLEN) > data_end)
		return WC_PARSE_TRUNCATED;
	proto = wc_rd16(p + 12);
	/* At most WC_MAX_VLAN tags, unrolled: the verifier needs a bounded walk. */
#pragma unroll
	for (i = 0; i < WC_MAX_VLAN; i++) {
		if (proto != WC_ETH_P_8021Q && proto != WC_ETH_P_8021AD)
			break;
		p = (__u8 *)data + off;
		if ((void *)(p + 4) > data_end)
			return WC_PARSE_TRUNCATED;
		pkt->vlan[i] = wc_rd16(p) & 0xfff;
		pkt->nvlan = i + 1;
		proto = wc_rd16(p + 2);
		off += 4;
	}
	/* Encapsulations name the IP version they carry the way an ethertype does. */
	if (proto == WC_ETH_P_PPPOE_SES)
		ret = wc_parse_pppoe(data, data_end, &off, &room, &proto);
	else if (proto == WC_ETH_P_MPLS_UC || proto == WC_ETH_P_MPLS_MC)
		ret = wc_parse_mpls(data, data_end, &off, &proto);
	if (ret == WC_PARSE_OK) {
		void *ip;

		/*
		 * Every path gets here with other constants: 0-2 VLAN tags, PPPoE or
		 * not, each MPLS depth. For one walk of the IP parsers, not one per
		 * path, the state must not tell them apart: the compiler must not
		 * copy the parsers per known proto (the barrier), the offset must be
		 * one unknown (wc_l3_off_set), and so must the pointer the parsers
		 * read from: data's proven bound differs per path, and the verifier
		 * prunes a path only where its bounds cover those of one it walked.
		 * So the parsers count from a fresh pointer, opaque to the compiler
		 * (wc_at) so that it does not rebuild it from data.
		 */
		asm volatile("" : "+r"(proto));
		off = wc_l3_off_set(pkt, off);
		ip = wc_at(data, off);
		if (proto == WC_ETH_P_IP)
			ret = wc_parse_ipv4(ip, data_end, room, pkt);
		else if (proto == WC_ETH_P_IPV6)
			ret = wc_parse_ipv6(ip, data_end, room, pkt);
		else if (proto == WC_ETH_P_8021Q || proto == WC_ETH_P_8021AD)
			ret = WC_PARSE_MALFORMED;
		else
			ret = WC_PARSE_NOT_IP;
		/* They count from the IP header; l4_off counts from the frame. */
		if (ret == WC_PARSE_OK && pkt->l4_off)
			pkt->l4_off += off;
	}
	if (ret != WC_PARSE_OK)
		return wc_parse_fail(pkt, ret);
	return WC_PARSE_OK;
}

#endif /* WCARD_PARSE_BPF_H */
