/* rules.h: layouts, rules, rule/trace/route files, compiled keys (libwcard); user space only. */
#ifndef WCARD_RULES_H
#define WCARD_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <wcard/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- key layouts ---------------------------------------------------------- */

struct wcard_field {
	enum wc_field_type type;
	unsigned int width; /* bytes: PREFIX/EXACT/MASK 1,2,4,8,16; RANGE 1,2,4,8 */
	char name[16];
};

struct wcard_layout {
	char name[32];
	enum wc_layout_id id;
	unsigned int nfields;
	unsigned int nwords; /* derived by wcard_layout_init */
	struct wcard_field fields[WC_MAX_FIELDS];
	struct wc_field_desc desc[WC_MAX_FIELDS]; /* derived: key word of each field */
};

/* Field indexes of the built-in layouts. */
enum { WC_F_SRC = 0, WC_F_DST, WC_F_SPORT, WC_F_DPORT, WC_F_PROTO, WC_F_FLAGS };

/* "ipv4-5tuple", "ipv6-5tuple" or "inet"; NULL if unknown. */
WCARD_API const struct wcard_layout *wcard_layout_builtin(const char *name);
WCARD_API const struct wcard_layout *wcard_layout_ipv4(void);
WCARD_API const struct wcard_layout *wcard_layout_ipv6(void);
/*
 * Dual stack, like nftables' inet family: IPv4 and IPv6 rules in one set. A
 * rule's family (wcard_rule.family) picks the layout its fields are in,
 * ipv4-5tuple or ipv6-5tuple (family 0, a rule naming no address, is of both
 * and in ipv4-5tuple's terms: its fields are the same in either). The layout's
 * own fields are ipv6-5tuple's, the widest.
 */
WCARD_API const struct wcard_layout *wcard_layout_inet(void);
/*
 * The layout a rule or key of family (4 or 6; 0: a rule of both) is in within
 * layout l: ipv4-5tuple or ipv6-5tuple for inet, l itself for any other.
 */
WCARD_API const struct wcard_layout *wcard_layout_family(const struct wcard_layout *l,
							 unsigned int family);

/*
 * Declare a custom layout. Checks every width and that the key fits
 * WC_KEY_WORDS. Returns 0 or -EINVAL with a reason in err (may be NULL).
 */
WCARD_API int wcard_layout_init(struct wcard_layout *l, const char *name,
				const struct wcard_field *fields, unsigned int nfields, char *err,
				size_t errlen);

/* ---- rules -------------------------------------------------------------- */

/*
 * How one field of a rule matches a key value v (host order, up to 128 bits):
 *   PREFIX  (v & mask) == value, mask = the top plen bits of the field
 *   EXACT   (v & mask) == value, mask = all ones, or 0 for a wildcard
 *   MASK    (v & mask) == value
 *   RANGE   lo <= v <= hi
 */
struct wcard_match {
	wc_u128 value;
	wc_u128 mask;
	__u64 lo;
	__u64 hi;
	unsigned int plen;
};

struct wcard_rule {
	__u32 prio; /* lower wins; ties go to the rule added first */
	__u32 id; /* reported by lookups (ClassBench: 0-based line index) */
	__u64 value; /* action (low 8 bits, WC_ACT_*) and user data */
	unsigned int line; /* source line, for messages; 0 if none */
	/*
	 * inet rule sets: 4 or 6, the family of the rule's addresses (its fields
	 * are in that family's layout, wcard_layout_family), or 0: the rule
	 * names no address and applies to both. 0 in every other layout.
	 */
	__u8 family;
	struct wcard_match f[WC_MAX_FIELDS];
};

struct wcard_ruleset {
	const struct wcard_layout *layout;
	struct wcard_rule *rules;
	size_t n;
	size_t cap;
};

WCARD_API void wcard_ruleset_init(struct wcard_ruleset *rs, const struct wcard_layout *layout);
/*
 * Move rs to layout l, between the IP layouts (ipv4-5tuple, ipv6-5tuple,
 * inet): into inet each rule takes its layout's family; out of it, every rule
 * must be of l's family or of both. All or nothing: 0, or -EINVAL with the
 * first rule that does not fit in err.
 */
WCARD_API int wcard_ruleset_convert(struct wcard_ruleset *rs, const struct wcard_layout *l,
				    char *err, size_t errlen);
WCARD_API void wcard_ruleset_free(struct wcard_ruleset *rs);
WCARD_API int wcard_ruleset_add(struct wcard_ruleset *rs, const struct wcard_rule *r);

/* A rule matching everything in the layout (all wildcards, inet: of both families), prio 0. */
WCARD_API void wcard_rule_any(const struct wcard_layout *l, struct wcard_rule *r);
/*
 * Helpers to set one field; they check the field type and width (inet: of the
 * layout of the rule's family, so set r->family first). 0 or -EINVAL.
 */
WCARD_API int wcard_rule_set_prefix(const struct wcard_layout *l, struct wcard_rule *r,
				    unsigned int field, wc_u128 value, unsigned int plen);
WCARD_API int wcard_rule_set_range(const struct wcard_layout *l, struct wcard_rule *r,
				   unsigned int field, __u64 lo, __u64 hi);
WCARD_API int wcard_rule_set_exact(const struct wcard_layout *l, struct wcard_rule *r,
				   unsigned int field, wc_u128 value);
WCARD_API int wcard_rule_set_mask(const struct wcard_layout *l, struct wcard_rule *r,
				  unsigned int field, wc_u128 value, wc_u128 mask);

/*
 * Is r well formed for l (what the wcard_rule_set_* helpers produce)? 0, or
 * -EINVAL with the field and the reason in err. Loads and inserts check it.
 */
WCARD_API int wcard_rule_check(const struct wcard_layout *l, const struct wcard_rule *r, char *err,
			       size_t errlen);

/* ---- rule files (user/rules/rules.c) ------------------------------------------ */

enum wcard_rule_fmt {
	WCARD_FMT_AUTO = 0, /* ClassBench if the first rule line starts with '@' */
	WCARD_FMT_CLASSBENCH,
	WCARD_FMT_WCARD, /* the human syntax (README) */
};

/*
 * Load a rule file (plain or gzip). layout NULL: the human syntax is read as
 * inet (IPv4 and IPv6 rules, and rules of both), ClassBench as ipv4-5tuple
 * (into an inet set, its rules are IPv4 rules). On any bad line, nothing is
 * loaded: returns -EINVAL (or -errno for I/O) and writes "FILE:LINE: reason"
 * into err.
 */
WCARD_API int wcard_rules_load(const char *path, enum wcard_rule_fmt fmt,
			       const struct wcard_layout *layout, struct wcard_ruleset *rs,
			       char *err, size_t errlen);

/* Parse rules from a string instead of a file; name is used in messages. */
WCARD_API int wcard_rules_parse(const char *name, const char *text, enum wcard_rule_fmt fmt,
				const struct wcard_layout *layout, struct wcard_ruleset *rs,
				char *err, size_t errlen);

/*
 * ---- change batches (user/rules/batch.c; wcard_clf_apply) ---------------
 * One change a line, like nft -f or ip -batch:
 *     add RULE                       a rule in the human syntax; without prio
 *                                    it goes after the worst rule there is
 *     del ID                         delete rule ID
 *     update ID [prio N] [ACTION]    change the priority and/or the action
 * Blank lines and '#' comments are skipped.
 */
enum wcard_change_op {
	WCARD_CHANGE_ADD = 1,
	WCARD_CHANGE_DEL = 2,
	WCARD_CHANGE_UPDATE = 3,
};

struct wcard_change {
	enum wcard_change_op op;
	unsigned int line; /* source line, for messages */
	__u32 id; /* DEL, UPDATE: the rule changed */
	bool has_prio; /* ADD: the line gave a prio; UPDATE: the prio changes to prio */
	bool has_value; /* UPDATE: the action changes to value */
	__u32 prio;
	__u64 value;
	const struct wcard_rule *rule; /* ADD: the rule, held by the batch; NULL otherwise */
};

/*
 * The changes, and the rules they add apart from them: a delete takes a few
 * bytes, not a rule's 544 (a batch of 1M changes is read into memory whole).
 */
struct wcard_batch {
	char *name; /* the file, for messages ("<stdin>" for "-") */
	const struct wcard_layout *layout;
	struct wcard_change *c;
	size_t n, cap;
	struct wcard_rule *rules; /* what the ADD changes point at */
	size_t nrules, rcap;
};

/*
 * Read a batch file (plain or gzip; "-": standard input) whose rules are in
 * layout l. All or nothing: on a bad line, -EINVAL (or -errno for I/O) with
 * "FILE:LINE: reason" in err and b left empty.
 */
WCARD_API int wcard_batch_load(const char *path, const struct wcard_layout *l,
			       struct wcard_batch *b, char *err, size_t errlen);
/* A batch from a string; name is used in messages. */
WCARD_API int wcard_batch_parse(const char *name, const char *text, const struct wcard_layout *l,
				struct wcard_batch *b, char *err, size_t errlen);
WCARD_API void wcard_batch_free(struct wcard_batch *b);

/* Write one rule in the human syntax (no newline). Returns bytes written like snprintf. */
WCARD_API int wcard_rule_format(const struct wcard_layout *l, const struct wcard_rule *r, char *buf,
				size_t len);

/*
 * ---- traces (ClassBench: SA DA SP DP PROTO [FLAGS] [FILTER]) ------------
 * SA and DA are numbers (ClassBench's IPv4) or addresses as text, dotted IPv4
 * or IPv6, both of one family.
 */

struct wcard_tuple {
	__u32 src, dst; /* IPv4, host order */
	__u16 sport, dport;
	__u8 proto;
	__u8 flags;
	__u8 family; /* 6: an IPv6 packet, its addresses in src6 and dst6; else IPv4 */
	__u32 filter; /* FILTER column, or ~0 if absent */
	wc_u128 src6, dst6; /* IPv6, host order */
};

struct wcard_trace {
	struct wcard_tuple *t;
	size_t n;
	size_t cap;
};

WCARD_API int wcard_trace_load(const char *path, struct wcard_trace *tr, char *err, size_t errlen);
WCARD_API void wcard_trace_free(struct wcard_trace *tr);

/* ---- routes (PREFIX/LEN [VALUE] per line, IPv4 and IPv6 mixed) ---------- */

struct wcard_route {
	wc_u128 addr; /* host order, host bits cleared; IPv4 in the low 32 bits */
	__u8 family; /* 4 or 6 */
	__u8 len;
	__u64 value; /* given, or the route's 0-based line index */
	unsigned int line;
};

struct wcard_routes {
	struct wcard_route *r;
	size_t n;
};

/*
 * Load a route file (plain or gzip), replacing rt's routes. '#' starts a
 * comment. All or nothing: -EINVAL with "FILE:LINE: reason" in err.
 */
WCARD_API int wcard_routes_load(const char *path, struct wcard_routes *rt, char *err,
				size_t errlen);
/* One route from text ("PREFIX/LEN [VALUE]", value 0 if absent); errors say "what:1: reason". */
WCARD_API int wcard_route_parse(const char *text, const char *what, struct wcard_route *r,
				char *err, size_t errlen);
WCARD_API void wcard_routes_free(struct wcard_routes *rt);

/* ---- compiled form and reference ---------------------------------------- */

/*
 * Key words of a 5-tuple in ipv4-5tuple (ipv6-5tuple for an IPv6 tuple), as the
 * XDP filter keys the frame: ports zeroed unless TCP/UDP/SCTP, flags unless TCP.
 */
WCARD_API void wcard_key_from_tuple(const struct wcard_tuple *t, struct wc_key *k);
/*
 * The same, as ClassBench defines a trace's header: its ports and flags whatever
 * the protocol, which is what the reference classifiers of the literature match.
 */
WCARD_API void wcard_key_from_tuple_classbench(const struct wcard_tuple *t, struct wc_key *k);
/* Key words of a parsed packet for a built-in layout (same mapping as BPF; inet: its family's). */
WCARD_API int wcard_key_from_pkt(const struct wcard_layout *l, const struct wc_pkt *p,
				 struct wc_key *k);
/* Value of field f in key k. */
WCARD_API wc_u128 wcard_key_field(const struct wcard_layout *l, const struct wc_key *k,
				  unsigned int f);

/* Compile one rule into its BPF form (inet: in its family's layout; family 0 in IPv4's). */
WCARD_API void wcard_rule_compile(const struct wcard_layout *l, const struct wcard_rule *r,
				  __u64 rank, struct wc_rule *out);

/* Bit i set when key word i belongs to a RANGE field (wc_config.range_words). */
WCARD_API __u32 wcard_layout_range_words(const struct wcard_layout *l);

/*
 * Does r match k? Field by field, straight from the rule model (no BPF
 * encoding). inet: k is a key of the rule's family; wcard_rule_matches_family
 * takes a key of family 4 or 6 and checks that the rule is of that family or
 * of both (for other layouts it is wcard_rule_matches).
 */
WCARD_API bool wcard_rule_matches(const struct wcard_layout *l, const struct wcard_rule *r,
				  const struct wc_key *k);
WCARD_API bool wcard_rule_matches_family(const struct wcard_layout *l, const struct wcard_rule *r,
					 unsigned int family, const struct wc_key *k);


#ifdef __cplusplus
}
#endif

#endif /* WCARD_RULES_H */
