/* wcard_common.h: rule model, key and map value types shared by BPF and user space; anyone may include it. */
#ifndef WCARD_COMMON_H
#define WCARD_COMMON_H

/*
 * BPF programs include vmlinux.h (or <linux/bpf.h>) first; user space gets the
 * fixed-width types from <linux/types.h>.
 */
#if !defined(__VMLINUX_H__) && !defined(_LINUX_TYPES_H) && !defined(__LINUX_TYPES_H)
#include <linux/types.h>
#endif

#ifndef __cplusplus
#define WC_STATIC_ASSERT(c, m) _Static_assert(c, m)
#else
#define WC_STATIC_ASSERT(c, m) static_assert(c, m)
#endif

/*
 * Limits (compile-time constants; the README lists them too).
 *
 * WC_KEY_WORDS    a key is up to 8 u64 words. A field of width <= 8 bytes takes one
 *                 word, a 16-byte field (IPv6 address) takes two. The IPv6 5-tuple
 *                 with TCP flags takes exactly 8.
 * WC_MAX_FIELDS   fields per key layout.
 * WC_MAX_RULES    hard upper bound of rules in one classifier (BPF loop bound). The
 *                 map size is chosen at create time (default WC_DEFAULT_MAX_RULES).
 */
#define WC_KEY_WORDS 8
#define WC_MAX_FIELDS 8
#define WC_MAX_RULES (1u << 20)
#define WC_DEFAULT_MAX_RULES 65536u

#define WC_MAGIC 0x77636172u /* "wcar" */
/*
 * 2: wc_config.lpm_field; 3: hit counters by rule id; 4: an LPM trie per
 * generation (slot maps of WC_GENS images, wc_config.lpm_slot, pinned tries);
 * 5: a config per part and generation (wc_config.self and .parts).
 */
#define WC_VERSION 5u

/*
 * Parts of a classifier: a dual-stack one (WC_LAYOUT_INET) keeps its IPv4 and
 * its IPv6 rules apart, each family in a part with its own key layout, config,
 * rules and tables, so an IPv4 lookup walks nothing of IPv6. Every other
 * classifier has one part. Part p's half of generation g is region
 * p * WC_GENS + g of every array (wc_config.self).
 */
#define WC_MAX_PARTS 2
#define WC_PART_V6 1 /* the IPv6 part of a dual-stack classifier */

/* Field types of a key layout (docs/design.md section 2). */
enum wc_field_type {
	WC_FIELD_PREFIX = 1, /* value/len, width 1, 2, 4, 8 or 16 */
	WC_FIELD_RANGE = 2, /* lo..hi unsigned, width 1, 2, 4 or 8 */
	WC_FIELD_EXACT = 3, /* all bits, or a wildcard */
	WC_FIELD_MASK = 4, /* ternary value/mask */
};

/* Built-in layouts. The parser output maps onto them without a table. */
enum wc_layout_id {
	WC_LAYOUT_CUSTOM = 0,
	WC_LAYOUT_IPV4_5T = 1, /* src/32 dst/32 sport dport proto tcpflags: 6 words */
	WC_LAYOUT_IPV6_5T = 2, /* src/128 dst/128 sport dport proto tcpflags: 8 words */
	/*
	 * Dual stack: part 0 holds the IPv4 rules in ipv4-5tuple (its config says
	 * WC_LAYOUT_IPV4_5T), part 1 the IPv6 rules in ipv6-5tuple; a rule that
	 * names no address is in both.
	 */
	WC_LAYOUT_INET = 3,
};

/*
 * Lookup key: one host-order integer per word. A field wider than 8 bytes is
 * split big-endian first: word i holds the high 64 bits, word i+1 the low 64.
 * Unused words must be zero.
 */
struct wc_key {
	__u64 w[WC_KEY_WORDS];
};
WC_STATIC_ASSERT(sizeof(struct wc_key) == 64, "wc_key is 64 bytes");

/*
 * One word of a compiled rule. The rule matches key word k when
 *     ((k & mask) - lo) <= span        (unsigned arithmetic)
 * which covers every field type with one branch-free formula:
 *   RANGE lo..hi            mask = ~0,      lo = lo,         span = hi - lo
 *   PREFIX, EXACT, MASK     mask = the mask, lo = value&mask, span = 0
 *   unused word / wildcard  mask = 0,       lo = 0,          span = 0
 * The word's type never has to be looked up, so the BPF match loop has no
 * per-type branch (which also keeps the verifier's state count flat).
 */
struct wc_word_match {
	__u64 mask;
	__u64 lo;
	__u64 span;
};

/*
 * A compiled rule, as BPF sees it (value of the wc_rules array).
 * rank orders rules: (priority << 32) | insertion sequence, lower wins, so ties
 * in priority go to the rule added first. A free slot has rank WC_RANK_NONE.
 */
struct wc_rule {
	__u64 rank;
	__u64 value;
	__u32 id; /* user-visible rule id (ClassBench: 0-based line index) */
	__u32 next; /* Tuple Merge: next rule of the bucket (index + 1), 0 = end */
	struct wc_word_match w[WC_KEY_WORDS];
};
WC_STATIC_ASSERT(sizeof(struct wc_rule) == 24 + 24 * WC_KEY_WORDS, "wc_rule has no hidden padding");

/*
 * What every record format of wc_rules starts with: the fields a lookup and
 * the writer read without matching (rank, value, id, chain link).
 */
struct wc_rule_hdr {
	__u64 rank;
	__u64 value;
	__u32 id;
	__u32 next;
};

/*
 * The compact record of an ipv4-5tuple classifier (WC_REC_IPV4): the same
 * match in one 64-byte cache line where struct wc_rule takes four. Every field
 * is compared in 64-bit arithmetic, so it answers exactly as the generic
 * record: src and dst match when (word & mask) == lo, sport and dport when
 * (word - lo) <= span, proto and flags when (word & mask) == lo. A key word
 * wider than its field fails both forms alike.
 */
struct wc_rule4 {
	__u64 rank;
	__u64 value;
	__u32 id;
	__u32 next;
	__u32 src_mask, src_lo;
	__u32 dst_mask, dst_lo;
	__u16 sport_lo, sport_span;
	__u16 dport_lo, dport_span;
	__u8 proto_mask, proto_lo;
	__u8 flags_mask, flags_lo;
	__u32 _pad[3]; /* a whole line: mmapable array values start page-aligned */
};
WC_STATIC_ASSERT(sizeof(struct wc_rule4) == 64, "wc_rule4 is one cache line, no hidden padding");
#define WC_RULE_HDR_SAME(t)                                                                        \
	WC_STATIC_ASSERT(__builtin_offsetof(struct t, rank) == 0 &&                                \
				 __builtin_offsetof(struct t, value) == 8 &&                       \
				 __builtin_offsetof(struct t, id) == 16 &&                         \
				 __builtin_offsetof(struct t, next) == 20,                         \
			 #t " starts with struct wc_rule_hdr")
WC_RULE_HDR_SAME(wc_rule);
WC_RULE_HDR_SAME(wc_rule4);
WC_STATIC_ASSERT(sizeof(struct wc_rule_hdr) == 24, "wc_rule_hdr is 24 bytes");

/* Does compact record r match key k? (BPF and user space: the same formula.) */
static inline __attribute__((always_inline)) int wc_rule4_match(const struct wc_rule4 *r,
								const struct wc_key *k)
{
	/*
	 * The four mask tests folded into one branch, the two port ranges into
	 * another: fewer branches to predict, and for the verifier to walk.
	 */
	__u64 diff = ((k->w[0] & r->src_mask) ^ r->src_lo) | ((k->w[1] & r->dst_mask) ^ r->dst_lo) |
		     ((k->w[4] & r->proto_mask) ^ r->proto_lo) |
		     ((k->w[5] & r->flags_mask) ^ r->flags_lo);

	if (diff)
		return 0;
	return (k->w[2] - r->sport_lo <= r->sport_span) & (k->w[3] - r->dport_lo <= r->dport_span);
}

/*
 * Record formats of wc_rules (the BPF knob wc_rec_format, fixed at load by
 * wcard_object_prepare_layout; the map's value size says which one pinned
 * maps hold): WC_REC_GENERIC is struct wc_rule, for every layout;
 * WC_REC_IPV4 is struct wc_rule4, for an ipv4-5tuple classifier.
 */
#define WC_REC_GENERIC 0u
#define WC_REC_IPV4 1u

#define WC_RANK_NONE (~0ULL)
#define WC_ID_NONE (~0U)
/*
 * Flags in wc_rule.id (rule ids are below WC_ID_MOVED):
 * WC_ID_DEAD   the slot holds no rule: never written yet, being written, or
 *              unlinked by a delete. Its data stays readable (a lookup may be
 *              walking through it) until a grace period lets user space reuse it.
 * WC_ID_MOVED  the slot is the old copy of a rule that a split moved to another
 *              table: unlinked, but still that live rule for an exact scan
 *              until the next grace period, which marks it dead.
 */
#define WC_ID_DEAD (1U << 31)
#define WC_ID_MOVED (1U << 30)
#define WC_ID_FLAGS (WC_ID_DEAD | WC_ID_MOVED)

/* Field descriptor as stored in the config map. */
struct wc_field_desc {
	__u8 type; /* enum wc_field_type */
	__u8 width; /* bytes */
	__u8 word; /* first key word */
	__u8 nwords; /* 1 or 2 */
};
WC_STATIC_ASSERT(sizeof(struct wc_field_desc) == 4, "wc_field_desc is 4 bytes");

enum wc_algo {
	WC_ALGO_BF = 1, /* brute force over wc_rules */
	WC_ALGO_TM = 2, /* Tuple Merge (dynamic) */
	WC_ALGO_STM = 3, /* static Tuple Merge: a user-given table pool */
	WC_ALGO_LPM = 4, /* one prefix field: longest-prefix match (lpm.bpf.h) to the rule */
};

/*
 * Generations. Every structure exists twice; wc_root.gen says which half the
 * readers use. A bulk replace builds the other half, flips gen with one store,
 * and waits for running programs before touching the old half again.
 */
#define WC_GENS 2
WC_STATIC_ASSERT(((WC_GENS * WC_MAX_PARTS) & (WC_GENS * WC_MAX_PARTS - 1)) == 0,
		 "config indexes are masked with WC_GENS * WC_MAX_PARTS - 1");
/*
 * The compat build's per-CPU scratch map (scratch.bpf.h): each loaded program
 * has its own, so it is neither pinned nor shared with a new instance.
 */
#define WC_SCRATCH_MAP "wc_scratch"

/*
 * The XDP filter's per-CPU verdict of its last frame (struct wc_xdp_meta), kept
 * when the wc_keep_verdict knob is set: how libwcard reads a test run's verdict
 * where the kernel returns no metadata (test runs before Linux 5.15, kernels
 * that refuse bpf_xdp_adjust_meta). Each loaded filter has its own.
 */
#define WC_VERDICT_MAP "wc_verdict"

/* Maps each loaded program has its own (user space): never pinned, never reused from pins. */
#define WC_MAP_PER_PROG(name) (!strcmp((name), WC_SCRATCH_MAP) || !strcmp((name), WC_VERDICT_MAP))

/* Value of the single-entry wc_root array. */
struct wc_root {
	__u32 magic; /* WC_MAGIC */
	__u32 version; /* WC_VERSION */
	__u32 gen; /* generation readers use: 0 or 1 */
	/*
	 * A rule of both families being changed in one part after the other
	 * (dual stack): its id + 1, | WC_PENDING_LIVE for an insert; 0 when
	 * none. A writer killed in between leaves it for the next one, which
	 * finishes the change (user space only; lookups never read it).
	 */
	__u32 pending;
};
#define WC_PENDING_LIVE (1u << 31)
WC_STATIC_ASSERT(sizeof(struct wc_root) == 16, "wc_root is 16 bytes");

/* ---- Tuple Merge maps ---------------------------------------------------- */

#define WC_TM_MAX_TABLES 256 /* tables per generation (lookup loop bound) */
#define WC_TM_ORDER_RING 512 /* order buffers per generation (a grace period per wrap) */
#define WC_TM_MAX_PROBE 32 /* open-addressing probe limit, kept by the builder */

/* A table (value of wc_tm_tables, index tables_base + table). */
struct wc_tm_table {
	struct wc_key mask; /* key words are ANDed with this before hashing */
	__u64 slots; /* bucket array: (first slot << 8) | log2(number of slots) */
	__u64 best; /* lowest rank in the table (informational; lookups use wc_tm_order) */
	__u32 nrules;
	__u32 max_bucket;
};
WC_STATIC_ASSERT(sizeof(struct wc_tm_table) == 88, "wc_tm_table is 88 bytes");

/*
 * A bucket head in a table's open-addressed slot array (value of wc_tm_slots).
 * tag 0: empty (ends a probe). Otherwise tag is the high half of the hash with
 * bit 0 set; head 0 with a tag is a deleted bucket (probing goes on). 8 bytes,
 * so a cache line holds 8 slots: probes of big tables miss the cache less.
 */
struct wc_tm_slot {
	__u32 tag;
	__u32 head; /* rule index + 1, relative to rules_base; chain via wc_rule.next */
};
WC_STATIC_ASSERT(sizeof(struct wc_tm_slot) == 8, "wc_tm_slot is 8 bytes");

/*
 * Tables in lookup order: an order buffer, a value of the map wc_tm_order
 * (index order_base + buffer). best is each table's best rank when the buffer
 * was written: lookups stop at the first entry whose best cannot beat the
 * match found. A published buffer is never changed; the writer fills another
 * one and switches wc_config.order.
 */
struct wc_tm_order_ent {
	__u64 best;
	__u32 table;
	__u32 _pad;
};

struct wc_tm_order_buf {
	__u32 n;
	__u32 _pad;
	struct wc_tm_order_ent e[WC_TM_MAX_TABLES];
};
WC_STATIC_ASSERT(sizeof(struct wc_tm_order_buf) == 8 + 16 * WC_TM_MAX_TABLES, "wc_tm_order_buf size");

/*
 * Hash of a key under a table mask, identical in BPF and user space, over the
 * first n key words: words a layout does not use are 0 in every mask, so
 * leaving them out does not change the hash (BPF passes 6 for compact IPv4
 * records, wc_hash_layout; user space all of them). Each word gets its own odd
 * multiplier and the products are XORed: independent multiplies instead of a
 * chain, then one final mix.
 */
static inline __attribute__((always_inline)) __u64 wc_hash_masked_n(const struct wc_key *k,
								    const struct wc_key *m,
								    __u32 n)
{
	__u64 h = (k->w[0] & m->w[0]) * 0x9e3779b97f4a7c15ULL;

	if (n > 1)
		h ^= (k->w[1] & m->w[1]) * 0xc2b2ae3d27d4eb4fULL;
	if (n > 2)
		h ^= (k->w[2] & m->w[2]) * 0x165667b19e3779f9ULL;
	if (n > 3)
		h ^= (k->w[3] & m->w[3]) * 0xd6e8feb86659fd93ULL;
	if (n > 4)
		h ^= (k->w[4] & m->w[4]) * 0xff51afd7ed558ccdULL;
	if (n > 5)
		h ^= (k->w[5] & m->w[5]) * 0xc4ceb9fe1a85ec53ULL;
	if (n > 6)
		h ^= (k->w[6] & m->w[6]) * 0x94d049bb133111ebULL;
	if (n > 7)
		h ^= (k->w[7] & m->w[7]) * 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 31;
	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 32);
}

static inline __attribute__((always_inline)) __u64 wc_hash_masked(const struct wc_key *k,
								  const struct wc_key *m)
{
	return wc_hash_masked_n(k, m, WC_KEY_WORDS);
}

static inline __attribute__((always_inline)) __u32 wc_hash_tag(__u64 h)
{
	return (__u32)(h >> 32) | 1;
}

/* cfg_flags */
#define WC_CFG_SORTED (1u << 0) /* wc_rules[0..nrules) sorted by rank: first match wins */
/* The algorithm was picked automatically (no --algo): a reopen picks again. */
#define WC_CFG_AUTO (1u << 1)

/* Value of wc_config[gen]: what generation gen of the classifier holds. */
struct wc_config {
	__u32 magic; /* WC_MAGIC */
	__u32 version; /* WC_VERSION */
	__u32 layout_id; /* enum wc_layout_id */
	__u32 algo; /* enum wc_algo */
	__u32 nrules; /* brute force: rules live in wc_rules[rules_base, rules_base + nrules) */
	__u32 nwords; /* key words the layout uses */
	__u32 range_words; /* bit i: word i is a RANGE word */
	__u32 flags; /* WC_CFG_* */
	__u32 nfields;
	__u32 default_action; /* XDP action when nothing matches */
	__u32 nonip_action; /* XDP action for frames that are not IPv4/IPv6 */
	__u32 bad_action; /* XDP action for truncated or malformed frames */
	struct wc_field_desc fields[WC_MAX_FIELDS];
	/* Where this generation's half of each array starts. */
	__u32 rules_base; /* wc_rules */
	__u32 tables_base; /* wc_tm_tables */
	__u32 order_base; /* wc_tm_order */
	__u32 order; /* current buffer, order_base + order */
	__u32 max_rules; /* rules per generation (chain walk bound) */
	/*
	 * Tuple Merge online updates: bumped before a rule that moved to another
	 * table is removed from its old one. A lookup that sees it change retries
	 * (it may have probed the new table before the rule arrived and the old
	 * one after it left).
	 */
	__u32 moves;
	/*
	 * WC_ALGO_LPM: the one field rules match on. The LPM structure of its
	 * width (the IPv4 or IPv6 trie) maps each prefix to the index in wc_rules
	 * of the rule that wins there.
	 */
	__u32 lpm_field;
	/*
	 * WC_ALGO_LPM: the slot of the trie's slot map (wc_trie4_image or
	 * wc_lpm6_image) that holds this generation's image: each generation has
	 * its own trie, so a load never changes the one live lookups walk.
	 */
	__u32 lpm_slot;
	/*
	 * This entry's index in wc_config, part * WC_GENS + gen: also the region
	 * of every array this config's part uses in its generation.
	 */
	__u32 self;
	/* 1, or WC_MAX_PARTS for a dual-stack classifier: IPv6 packets use part WC_PART_V6. */
	__u32 parts;
};
WC_STATIC_ASSERT(sizeof(struct wc_config) == 88 + 4 * WC_MAX_FIELDS,
		 "wc_config has no hidden padding");
WC_STATIC_ASSERT(sizeof(struct wc_config) % 8 == 0, "wc_config is a whole ARRAY element");

/* Result of a classifier lookup. */
struct wc_result {
	__u64 rank; /* WC_RANK_NONE on a miss */
	__u64 value;
	__u32 id; /* WC_ID_NONE on a miss */
	__u32 slot; /* index in wc_rules (hit counters use it) */
	__u32 tables; /* Tuple Merge: tables probed */
	__u32 _pad;
};
WC_STATIC_ASSERT(sizeof(struct wc_result) == 32, "wc_result is 32 bytes");

/*
 * Rule values as the XDP filter reads them: the low 8 bits are the action, the
 * rest is free for user data, except that a redirect keeps the target ifindex
 * in bits 8..39. `pass`, `drop` and `redirect IFACE` in a rule file set exactly
 * these values.
 */
#define WC_VALUE_ACTION(v) ((__u32)((v) & 0xff))
#define WC_ACT_DROP 1u /* XDP_DROP */
#define WC_ACT_PASS 2u /* XDP_PASS */
#define WC_ACT_REDIRECT 4u /* XDP_REDIRECT to the ifindex in bits 8..39 */
#define WC_VALUE_IFINDEX(v) ((__u32)((v) >> 8))
#define WC_VALUE_REDIRECT(ifindex) (WC_ACT_REDIRECT | ((__u64)(ifindex) << 8))

/* Packet parser verdicts (include/wcard/parse.bpf.h). */
enum wc_parse_status {
	WC_PARSE_OK = 0, /* key fields valid */
	WC_PARSE_NOT_IP = 1, /* not IPv4/IPv6 (after VLAN tags, PPPoE or MPLS) */
	WC_PARSE_TRUNCATED = 2, /* a header the key needs ends past the frame */
	WC_PARSE_MALFORMED = 3, /* bad version/IHL/length, too many tags/labels/ext. headers */
};

/* wc_pkt.frag */
#define WC_FRAG_NONE 0
#define WC_FRAG_FIRST 1 /* offset 0, more fragments follow: ports are parsed */
#define WC_FRAG_LATER 2 /* non-first fragment: ports and flags are 0 */

/* Bounds of the parser (documented in the README). */
#define WC_MAX_VLAN 2
#define WC_MAX_MPLS 8 /* MPLS label stack entries; a deeper stack is malformed */
#define WC_MAX_IPV6_EXT 8

/* Parser output: what a frame says, before it becomes a key of some layout. */
struct wc_pkt {
	__u8 family; /* 4 or 6 */
	__u8 proto; /* L4 protocol (IPv6: after the extension header chain) */
	__u8 tcp_flags; /* TCP header byte 13, 0 for other protocols */
	__u8 frag; /* WC_FRAG_* */
	__u16 sport; /* host order; 0 unless TCP/UDP/SCTP and not a later fragment */
	__u16 dport;
	__u16 vlan[WC_MAX_VLAN]; /* VLAN IDs (12 bits), outer first; 0 when absent */
	__u8 nvlan;
	__u8 _pad0;
	__u16 l3_off; /* offset of the IP header in the frame */
	__u16 l4_off; /* offset of the L4 header (0 when not parsed) */
	__u16 _pad1;
	__u8 src[16]; /* network order; IPv4 uses the first 4 bytes, the rest is 0 */
	__u8 dst[16];
};
WC_STATIC_ASSERT(sizeof(struct wc_pkt) == 52, "wc_pkt has no hidden padding");

/*
 * Written in front of the frame (XDP metadata) by the XDP filter when the
 * wc_export_meta knob is set, and kept per CPU in WC_VERDICT_MAP when the
 * wc_keep_verdict knob is: tc programs, AF_XDP consumers and the test
 * harness read the verdict there.
 */
struct wc_xdp_meta {
	__u32 magic; /* WC_MAGIC */
	__u32 id; /* matched rule id, WC_ID_NONE on a miss */
	__u64 value; /* matched rule value, 0 on a miss */
	__u32 slot; /* rule slot, WC_ID_NONE on a miss */
	__u16 parse; /* enum wc_parse_status */
	__u16 action; /* XDP action taken */
};
WC_STATIC_ASSERT(sizeof(struct wc_xdp_meta) == 24, "wc_xdp_meta is 24 bytes (a multiple of 4)");

/*
 * The compat build's per-CPU scratch entry (map WC_SCRATCH_MAP, scratch.bpf.h):
 * the pointer arguments of wcard's global functions, which Linux 5.10 cannot
 * pass (the packet's key and result, its config), the outputs of
 * the LPM lookups and of the filter's parser.
 */
struct wc_scratch {
	struct wc_key key;
	struct wc_result res;
	__u64 lpm_value;
	__u32 lpm_route;
	__u32 cfg_idx; /* the config: wc_config[cfg_idx] */
	struct wc_pkt pkt;
	__u32 _pad;
};
WC_STATIC_ASSERT(sizeof(struct wc_scratch) ==
			 sizeof(struct wc_key) + sizeof(struct wc_result) +
				 sizeof(struct wc_pkt) + 20,
		 "wc_scratch has no hidden padding");

/*
 * Per-rule hit counters (the XDP filter's per-CPU wc_hits array). Rule ids stay
 * below WC_ID_LIMIT(max_rules); each generation has a half of that many
 * counters, and index 0 counts frames that matched no rule.
 */
#define WC_ID_LIMIT(max_rules) (2 * (max_rules))
#define WC_HITS_INDEX(gen, max_rules, id) ((gen) * WC_ID_LIMIT(max_rules) + (id) + 1)
#define WC_HITS_ENTRIES(max_rules) (WC_GENS * WC_ID_LIMIT(max_rules) + 1)

struct wc_counter {
	__u64 packets;
	__u64 bytes;
};

/*
 * LPM image entries (lpm.bpf.h has the image layout), written by libwcard and
 * read by the lookups: the low half is 0 (no route), a route (index + 1), or
 * WC_LPM_GROUP | block; with WC_LPM_INLINE the high half is the route's value.
 */
#define WC_LPM_GROUP (1U << 31)
#define WC_LPM_INLINE (1U << 30)
#define WC_LPM_KEY(e) ((__u32)(e) & ~WC_LPM_INLINE) /* 0, route + 1, or GROUP | block */

/* The LPM structures, by kind: index of wc_lpm_val_base, pins, the meta record. */
enum { WC_LPM_DIR24 = 0, WC_LPM_TRIE4 = 1, WC_LPM_TRIE6 = 2, WC_LPM_KINDS = 3 };

#endif /* WCARD_COMMON_H */
