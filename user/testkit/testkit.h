/* testkit.h: the reference, frames, generated sets; tests, bench and CLI only, never installed. */
#ifndef WCARD_TESTKIT_H
#define WCARD_TESTKIT_H

#include <stdio.h>
#include <wcard/wcard.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Userspace reference classifier: index in rs of the best rule for k (lowest
 * prio, then lowest index), or -1.
 */
long tk_ref_lookup(const struct wcard_ruleset *rs, const struct wc_key *k);
/*
 * The same for a key of family 4 or 6 (in that family's layout): in an inet
 * set, only rules of that family or of both match. tk_ref_lookup takes keys
 * of ipv6-5tuple's family in an ipv6-5tuple set, IPv4 keys in any other.
 */
long tk_ref_lookup_family(const struct wcard_ruleset *rs, unsigned int family,
			  const struct wc_key *k);

/* ---- IPv6 twins (dual.c) ------------------------------------------------- */

/*
 * The IPv6 twin of an IPv4 rule set (ipv4-5tuple, or inet without IPv6
 * rules), in ipv6-5tuple: each prefix a/len becomes 2001:db8:a::/(32 + len)
 * (/0 stays /0), every other field, priority and value is kept. A tuple's
 * twin (tk_tuple_twin6) matches exactly the twins of the rules the tuple
 * matches, so one reference answers both families. 0, -EINVAL or -ENOMEM.
 */
int tk_ruleset_twin6(const struct wcard_ruleset *v4, struct wcard_ruleset *out);
/*
 * A dual-stack set from an IPv4 one, in inet: each rule as an IPv4 rule and
 * its twin as an IPv6 rule, both of the rule's priority, but a rule with no
 * address (both /0) once, of both families. Rules keep their source line.
 */
int tk_ruleset_dual(const struct wcard_ruleset *v4, struct wcard_ruleset *out);
/*
 * The IPv6 twin of an IPv4 tuple: 2001:db8:addr:: with low 64 bits from salt.
 * A protocol IPv6 takes for an extension header (0, 43, 44, 51, 60) becomes
 * 59, no next header, as a frame would carry it: that twin may meet other
 * rules than the tuple.
 */
void tk_tuple_twin6(const struct wcard_tuple *t, __u64 salt, struct wcard_tuple *out);

/* ---- frames (user/pkt.c) ------------------------------------------------- */

struct tk_frame_opts {
	unsigned int nvlan; /* 0..2 tags (802.1ad outer when 2) */
	__u16 vlan[2];
	unsigned int ip_opts; /* IPv4 option bytes (multiple of 4, <= 40) */
	unsigned int frag; /* WC_FRAG_*; 0: p->frag */
	unsigned int nipv6_ext; /* IPv6 extension headers before L4 (hop, dst, routing...) */
	__u8 ipv6_ext[8]; /* their types (0, 43, 60; 44 = fragment header) */
	unsigned int payload; /* L4 payload bytes */
	/* Encapsulation between the VLAN tags and IP, at most one of the two: */
	__u16 pppoe; /* a PPPoE session header with this session id (0: none) */
	unsigned int nmpls; /* MPLS label stack entries, 0..16 (labels 16, 17, ...) */
	unsigned int ipv4_ah; /* IPv4: bytes of an AH header before L4, 12..1028 in steps of 4 */
};

/*
 * Build Ethernet [VLAN...] [PPPoE|MPLS] IPv4|IPv6 [AH] [L4] into buf for a
 * packet with the fields of p (family, proto, ports, flags, addresses). TCP,
 * UDP and SCTP get their header; other protocols get payload only. An IPv4 AH
 * header carries p->proto as its next header (IP protocol 51); a later
 * fragment cannot have one. Returns the frame length, -ENOSPC or -EINVAL.
 */
int tk_frame_build(const struct wc_pkt *p, const struct tk_frame_opts *o, void *buf,
		      size_t len);
/*
 * The parser's view of a ClassBench trace tuple: tk_frame_build() makes the
 * frame of it that the XDP filter classifies as wcard_key_from_tuple() keys it.
 * Protocol 51 (AH) is a later fragment, the one frame whose protocol the parser
 * reports as 51 (it walks AH in any other).
 */
void tk_pkt_from_tuple(const struct wcard_tuple *t, struct wc_pkt *p);

/* The Internet checksum of n bytes at d (RFC 1071), in host byte order. */
__u16 tk_csum(const void *d, size_t n);

/* ---- rule set generator (user/gen.c) ------------------------------------- */

struct tk_gen_opts {
	unsigned int nrules;
	unsigned int npackets;
	unsigned long long seed;
};
/* Writes a ClassBench filter file and a trace file. 0 or -errno. */
int tk_gen_classbench(const struct tk_gen_opts *o, FILE *rules, FILE *trace);

#ifdef __cplusplus
}
#endif

#endif /* WCARD_TESTKIT_H */
