/* parse.bpf.h: frame -> struct wc_pkt parser (Ethernet, VLAN, IPv4, IPv6, L4 ports); BPF only. */
#ifndef WCARD_PARSE_BPF_H
#define WCARD_PARSE_BPF_H

#include <wcard/wcard_common.h>

/*
 * wc_parse() turns a frame into the fields a classifier key needs. It is
 * independent of classification so that any XDP or tc program can reuse it:
 * pass the frame bounds (ctx->data, ctx->data_end).
 *
 * Verdicts (enum wc_parse_status):
 *   WC_PARSE_OK         every field of *pkt is valid.
 *   WC_PARSE_NOT_IP     the ethertype after at most two VLAN tags is neither IPv4
 *                       nor IPv6 (ARP, LLDP, ...). Only vlan/nvlan are set.
 *   WC_PARSE_TRUNCATED  a header the key needs (Ethernet, VLAN, IP, an IPv6
 *                       extension header, TCP 20 / UDP 8 / SCTP 12 bytes) ends past
 *                       the frame, or past the IP packet's own length, or the
 *                       IP length exceeds the frame.
 *   WC_PARSE_MALFORMED  IP version or IHL wrong, IPv4 total length < IHL, TCP data
 *                       offset < 5, a third VLAN tag, an IPv6 extension chain
 *                       longer than WC_MAX_IPV6_EXT, or an IPv6 AH header whose
 *                       length is not a multiple of 8 bytes (RFC 4302).
 * On any verdict other than OK the address, port and protocol fields are zero: a
 * frame never yields a wrong key, only no key.
 *
 * Rules: non-first IPv4/IPv6 fragments have ports and TCP flags 0 (their L4
 * header is not in the frame); for IPv6 the walk stops at such a fragment
 * header and proto is its next header. Protocols other than TCP, UDP and SCTP
 * get ports 0.
 * Bytes past the IP packet's length (Ethernet padding) are never read as headers.
 */

#define WC_ETH_HLEN 14
#define WC_ETH_P_IP 0x0800
#define WC_ETH_P_IPV6 0x86DD
#define WC_ETH_P_8021Q 0x8100
#define WC_ETH_P_8021AD 0x88A8

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
 * (by its own length field), so Ethernet padding is never parsed.
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
	p = (__u8 *)data + off;
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

static __always_inline int wc_parse_ipv4(void *data, void *data_end, __u32 off, struct wc_pkt *pkt)
{
	__u8 *p = (__u8 *)data + off;
	__u32 hlen, tot, frag;

	if ((void *)(p + 20) > data_end)
		return WC_PARSE_TRUNCATED;
	if ((p[0] >> 4) != 4 || (p[0] & 0xf) < 5)
		return WC_PARSE_MALFORMED;
	hlen = (p[0] & 0xf) * 4;
	tot = wc_rd16(p + 2);
	if (tot < hlen)
		return WC_PARSE_MALFORMED;
	/* Options: the whole header and the whole packet must be in the frame. */
	if ((void *)(p + hlen) > data_end || (void *)(p + tot) > data_end)
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
	pkt->l3_off = off;
	return wc_parse_l4(data, data_end, off + hlen, off + tot, pkt);
}

static __always_inline int wc_parse_ipv6(void *data, void *data_end, __u32 off, struct wc_pkt *pkt)
{
	__u8 *p = (__u8 *)data + off;
	__u32 l3_end, nh, i;

	if ((void *)(p + 40) > data_end)
		return WC_PARSE_TRUNCATED;
	if ((p[0] >> 4) != 6)
		return WC_PARSE_MALFORMED;
	l3_end = off + 40 + wc_rd16(p + 4);
	if ((void *)(p + 40 + wc_rd16(p + 4)) > data_end)
		return WC_PARSE_TRUNCATED;
	pkt->family = 6;
	nh = p[6];
	__builtin_memcpy(pkt->src, p + 8, 16);
	__builtin_memcpy(pkt->dst, p + 24, 16);
	pkt->l3_off = off;
	off += 40;

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
		p = (__u8 *)data + off;
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
	return wc_parse_l4(data, data_end, off, l3_end, pkt);
}

/* Parse the frame [data, data_end) into *pkt. Returns enum wc_parse_status. */
static __always_inline int wc_parse(void *data, void *data_end, struct wc_pkt *pkt)
{
	__u8 *p = data;
	__u32 off = WC_ETH_HLEN, i;
	__u16 proto;
	int ret;

	__builtin_memset(pkt, 0, sizeof(*pkt));
	if ((void *)(p + WC_ETH_HLEN) > data_end)
		return WC_PARSE_TRUNCATED;
	proto = wc_rd16(p + 12);
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
	if (proto == WC_ETH_P_IP)
		ret = wc_parse_ipv4(data, data_end, off, pkt);
	else if (proto == WC_ETH_P_IPV6)
		ret = wc_parse_ipv6(data, data_end, off, pkt);
	else if (proto == WC_ETH_P_8021Q || proto == WC_ETH_P_8021AD)
		ret = WC_PARSE_MALFORMED;
	else
		ret = WC_PARSE_NOT_IP;
	if (ret != WC_PARSE_OK)
		return wc_parse_fail(pkt, ret);
	return WC_PARSE_OK;
}

#endif /* WCARD_PARSE_BPF_H */
