/* wcard.h: the libwcard user-space API (layouts, rules, parsers, classifier); user space only. */
#ifndef WCARD_H
#define WCARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <wcard/wcard_common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned __int128 wc_u128;

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

/* "ipv4-5tuple" or "ipv6-5tuple"; NULL if unknown. */
const struct wcard_layout *wcard_layout_builtin(const char *name);
const struct wcard_layout *wcard_layout_ipv4(void);
const struct wcard_layout *wcard_layout_ipv6(void);

/*
 * Declare a custom layout. Checks every width and that the key fits
 * WC_KEY_WORDS. Returns 0 or -EINVAL with a reason in err (may be NULL).
 */
int wcard_layout_init(struct wcard_layout *l, const char *name, const struct wcard_field *fields,
		      unsigned int nfields, char *err, size_t errlen);

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
	struct wcard_match f[WC_MAX_FIELDS];
};

struct wcard_ruleset {
	const struct wcard_layout *layout;
	struct wcard_rule *rules;
	size_t n;
	size_t cap;
};

void wcard_ruleset_init(struct wcard_ruleset *rs, const struct wcard_layout *layout);
void wcard_ruleset_free(struct wcard_ruleset *rs);
int wcard_ruleset_add(struct wcard_ruleset *rs, const struct wcard_rule *r);

/* A rule matching everything in the layout (all wildcards), prio 0. */
void wcard_rule_any(const struct wcard_layout *l, struct wcard_rule *r);
/* Helpers to set one field; they check the field type and width. 0 or -EINVAL. */
int wcard_rule_set_prefix(const struct wcard_layout *l, struct wcard_rule *r, unsigned int field,
			  wc_u128 value, unsigned int plen);
int wcard_rule_set_range(const struct wcard_layout *l, struct wcard_rule *r, unsigned int field,
			 __u64 lo, __u64 hi);
int wcard_rule_set_exact(const struct wcard_layout *l, struct wcard_rule *r, unsigned int field,
			 wc_u128 value);
int wcard_rule_set_mask(const struct wcard_layout *l, struct wcard_rule *r, unsigned int field,
			wc_u128 value, wc_u128 mask);

/*
 * Is r well formed for l (what the wcard_rule_set_* helpers produce)? 0, or
 * -EINVAL with the field and the reason in err. Loads and inserts check it.
 */
int wcard_rule_check(const struct wcard_layout *l, const struct wcard_rule *r, char *err,
		     size_t errlen);

/* ---- rule files (user/rules.c) ------------------------------------------ */

enum wcard_rule_fmt {
	WCARD_FMT_AUTO = 0, /* ClassBench if the first rule line starts with '@' */
	WCARD_FMT_CLASSBENCH,
	WCARD_FMT_WCARD, /* the human syntax (README) */
};

/*
 * Load a rule file (plain or gzip). layout may be NULL for the human syntax: the
 * first address seen picks ipv4-5tuple or ipv6-5tuple (IPv4 if none). ClassBench
 * files are always ipv4-5tuple. On any bad line, nothing is loaded: returns
 * -EINVAL (or -errno for I/O) and writes "FILE:LINE: reason" into err.
 */
int wcard_rules_load(const char *path, enum wcard_rule_fmt fmt, const struct wcard_layout *layout,
		     struct wcard_ruleset *rs, char *err, size_t errlen);

/* Parse rules from a string instead of a file; name is used in messages. */
int wcard_rules_parse(const char *name, const char *text, enum wcard_rule_fmt fmt,
		      const struct wcard_layout *layout, struct wcard_ruleset *rs, char *err,
		      size_t errlen);

/* Write one rule in the human syntax (no newline). Returns bytes written like snprintf. */
int wcard_rule_format(const struct wcard_layout *l, const struct wcard_rule *r, char *buf,
		      size_t len);

/* ---- traces (ClassBench: SA DA SP DP PROTO [FLAGS] [FILTER]) ------------ */

struct wcard_tuple {
	__u32 src, dst; /* host order */
	__u16 sport, dport;
	__u8 proto;
	__u8 flags;
	__u32 filter; /* FILTER column, or ~0 if absent */
};

struct wcard_trace {
	struct wcard_tuple *t;
	size_t n;
	size_t cap;
};

int wcard_trace_load(const char *path, struct wcard_trace *tr, char *err, size_t errlen);
void wcard_trace_free(struct wcard_trace *tr);

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
int wcard_routes_load(const char *path, struct wcard_routes *rt, char *err, size_t errlen);
/* One route from text ("PREFIX/LEN [VALUE]", value 0 if absent); errors say "what:1: reason". */
int wcard_route_parse(const char *text, const char *what, struct wcard_route *r, char *err,
		      size_t errlen);
void wcard_routes_free(struct wcard_routes *rt);

/*
 * Longest-prefix match in BPF over a route list (user/lpm.c). Duplicate
 * prefixes: the last one wins. wcard_lpm_lookup runs one address through BPF
 * (BPF_PROG_TEST_RUN); *route is the index in the list, or -1 on a miss.
 * family 4 takes the address in the low 32 bits of addr.
 */
struct wcard_lpm;
/* The one-field layout ("lpm4" or "lpm6") and rule set of one family's routes,
 * for driving one's own BPF object; (*route_of)[rule id] = index in rt. */
int wcard_lpm_layout(unsigned int family, struct wcard_layout *l);
int wcard_lpm_ruleset(const struct wcard_routes *rt, unsigned int family,
		      const struct wcard_layout *l, struct wcard_ruleset *rs, __u32 **route_of);
/* IPv4 structure: DIR-24-8 (fastest, a fixed 128 MiB) or the small trie (memory per route). */
enum wcard_lpm4_algo { WCARD_LPM4_DIR24 = 0, WCARD_LPM4_TRIE = 1 };
struct wcard_lpm_opts {
	enum wcard_lpm4_algo v4;
	__u32 max_routes; /* per family; 0: the routes given plus a quarter, at least 1024 more */
	__u32 max_blocks; /* tbl8 groups / trie nodes (2 KiB each) a family; 0: as needed + spare */
};
/*
 * Create an LPM holding rt (may be NULL: empty); opts NULL: the defaults
 * (DIR-24-8). The maps are sized once, here: later loads and adds beyond
 * max_routes or max_blocks fail with -E2BIG / -ENOSPC and change nothing.
 */
int wcard_lpm_create(const struct wcard_routes *rt, const struct wcard_lpm_opts *opts,
		     struct wcard_lpm **out, char *err, size_t errlen);
/*
 * Replace every route with rt's: each family's structure is rebuilt off to the
 * side and swapped in, so a lookup sees the old routes or the new ones. The
 * sizes are checked first; on error nothing changed.
 */
int wcard_lpm_load(struct wcard_lpm *l, const struct wcard_routes *rt, char *err, size_t errlen);
/* One route: add (or replace the value of an equal prefix), delete (-ENOENT if absent). */
int wcard_lpm_add(struct wcard_lpm *l, unsigned int family, wc_u128 addr, unsigned int len,
		  __u64 value);
int wcard_lpm_del(struct wcard_lpm *l, unsigned int family, wc_u128 addr, unsigned int len);
/* Append the live routes to out (IPv4, then IPv6; line = route slot + 1). */
int wcard_lpm_dump(const struct wcard_lpm *l, struct wcard_routes *out);
/* Longest match of addr through BPF: 1 with *match set, 0 on a miss, or -errno. */
int wcard_lpm_query(struct wcard_lpm *l, unsigned int family, wc_u128 addr,
		    struct wcard_route *match);
/*
 * Pin the LPM's maps under dir on bpffs (created with its missing parents,
 * bpffs mounted as wcard_bpffs_prepare does; nothing is left half-pinned), and open one pinned there, in this or another process: the
 * maps are the source of truth, the route index is rebuilt from them. A
 * meta record guards against another layout or version (-EPROTO). Writers
 * must take turns (the CLI locks the directory): a handle sees the routes other
 * handles add or delete, but not another handle's bulk load; reopen after one.
 */
int wcard_lpm_pin(struct wcard_lpm *l, const char *dir, char *err, size_t errlen);
int wcard_lpm_unpin(const char *dir);
int wcard_lpm_open_pinned(const char *dir, struct wcard_lpm **out, char *err, size_t errlen);
/* Bytes of the maps in use (tables, nodes handed out, value slots), both families. */
size_t wcard_lpm_bytes(const struct wcard_lpm *l);
int wcard_lpm_lookup(struct wcard_lpm *l, unsigned int family, wc_u128 addr, long *route);
void wcard_lpm_destroy(struct wcard_lpm *l);

/*
 * DIR-24-8 IPv4 LPM (include/wcard/lpm.bpf.h) in one's BPF object:
 * wcard_dir24_prepare between open and load (max routes, max /24 blocks that
 * hold longer prefixes; a structure never prepared costs no memory and always
 * misses; prepare makes the first image, which open takes over, so open what
 * you prepare), wcard_dir24_open after load, then wcard_dir24_load paints the IPv4
 * routes of rt (route index = index in rt; duplicates: the last line wins).
 * A load is atomic for concurrent lookups: it builds a new image of the
 * structure and swaps it in with one map update, so a lookup sees the old
 * routes or the new ones; while it builds, the old and new images both take
 * memory. On error the old routes stay, unchanged.
 */
struct bpf_object;
struct wcard_dir24;
int wcard_dir24_prepare(struct bpf_object *obj, __u32 max_routes, __u32 max_groups);
int wcard_dir24_open(struct bpf_object *obj, struct wcard_dir24 **out, char *err, size_t errlen);
int wcard_dir24_load(struct wcard_dir24 *d, const struct wcard_routes *rt, char *err,
		     size_t errlen);
size_t wcard_dir24_bytes(const struct wcard_dir24 *d);
/* Append the live routes to out (line = route slot + 1), for dumps. */
int wcard_dir24_dump(const struct wcard_dir24 *d, struct wcard_routes *out);
void wcard_dir24_close(struct wcard_dir24 *d);
/*
 * Online IPv4 route changes after a wcard_dir24_load: add (or, for a prefix
 * already present, replace its value) and delete, which gives the deleted
 * prefix's addresses back to the longest route that covers it. Each table
 * entry changes with one store. *route gets the route index (the value array
 * slot). 0, -ENOENT (delete of an absent prefix) or -ENOSPC (no free route
 * index or tbl8 group).
 */
int wcard_dir24_add(struct wcard_dir24 *d, __u32 addr, unsigned int len, __u64 value,
		    __u32 *route);
int wcard_dir24_del(struct wcard_dir24 *d, __u32 addr, unsigned int len);

/*
 * Multibit tries (16-bit root, 8-bit nodes; max_nodes sizes the node pool),
 * used as wcard_dir24_*: IPv6 (wcard_lpm6_*), and IPv4 in the small-memory
 * mode (wcard_trie4_*: memory grows with the routes instead of DIR-24-8's
 * fixed 128 MiB). One trie holds one family: load takes that family's routes of
 * rt, add and del take addresses as in struct wcard_route (IPv4 in the low 32
 * bits).
 */
struct wcard_trie;
int wcard_lpm6_prepare(struct bpf_object *obj, __u32 max_routes, __u32 max_nodes);
int wcard_lpm6_open(struct bpf_object *obj, struct wcard_trie **out, char *err, size_t errlen);
int wcard_trie4_prepare(struct bpf_object *obj, __u32 max_routes, __u32 max_nodes);
int wcard_trie4_open(struct bpf_object *obj, struct wcard_trie **out, char *err, size_t errlen);
/* Nodes the IPv6 (IPv4) routes of rt need (for the prepare call), or -ENOMEM. */
long wcard_lpm6_nodes_needed(const struct wcard_routes *rt);
long wcard_trie4_nodes_needed(const struct wcard_routes *rt);
int wcard_trie_load(struct wcard_trie *d, const struct wcard_routes *rt, char *err,
		    size_t errlen);
size_t wcard_trie_bytes(const struct wcard_trie *d);
int wcard_trie_dump(const struct wcard_trie *d, struct wcard_routes *out);
/* Online route changes, as wcard_dir24_add/del (-ENOSPC: no free node or route slot). */
int wcard_trie_add(struct wcard_trie *d, wc_u128 addr, unsigned int len, __u64 value,
		   __u32 *route);
int wcard_trie_del(struct wcard_trie *d, wc_u128 addr, unsigned int len);
void wcard_trie_close(struct wcard_trie *d);

/* ---- compiled form and reference ---------------------------------------- */

/* Key words of a 5-tuple in ipv4-5tuple, with ports zeroed unless TCP/UDP/SCTP. */
void wcard_key_from_tuple(const struct wcard_tuple *t, struct wc_key *k);
/* Key words of a parsed packet for a built-in layout (same mapping as BPF). */
int wcard_key_from_pkt(const struct wcard_layout *l, const struct wc_pkt *p, struct wc_key *k);
/* Value of field f in key k. */
wc_u128 wcard_key_field(const struct wcard_layout *l, const struct wc_key *k, unsigned int f);

/* Compile one rule into its BPF form. */
void wcard_rule_compile(const struct wcard_layout *l, const struct wcard_rule *r, __u64 rank,
			struct wc_rule *out);

/* Bit i set when key word i belongs to a RANGE field (wc_config.range_words). */
__u32 wcard_layout_range_words(const struct wcard_layout *l);

/* Does r match k? Field by field, straight from the rule model (no BPF encoding). */
bool wcard_rule_matches(const struct wcard_layout *l, const struct wcard_rule *r,
			const struct wc_key *k);

/*
 * Userspace reference classifier: index in rs of the best rule for k (lowest
 * prio, then lowest index), or -1.
 */
long wcard_ref_lookup(const struct wcard_ruleset *rs, const struct wc_key *k);

/* ---- frames (user/pkt.c) ------------------------------------------------- */

struct wcard_frame_opts {
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
int wcard_frame_build(const struct wc_pkt *p, const struct wcard_frame_opts *o, void *buf,
		      size_t len);
/*
 * The parser's view of a ClassBench trace tuple: wcard_frame_build() makes the
 * frame of it that the XDP filter classifies as wcard_key_from_tuple() keys it.
 * Protocol 51 (AH) is a later fragment, the one frame whose protocol the parser
 * reports as 51 (it walks AH in any other).
 */
void wcard_pkt_from_tuple(const struct wcard_tuple *t, struct wc_pkt *p);

/* ---- rule set generator (user/gen.c) ------------------------------------- */

struct wcard_gen_opts {
	unsigned int nrules;
	unsigned int npackets;
	unsigned long long seed;
};
/* Writes a ClassBench filter file and a trace file. 0 or -errno. */
int wcard_gen_classbench(const struct wcard_gen_opts *o, FILE *rules, FILE *trace);

/* ---- BPF classifier (user/clf.c) ----------------------------------------- */

struct wcard_clf;

struct wcard_clf_opts {
	const struct wcard_layout *layout;
	__u32 max_rules; /* 0: WC_DEFAULT_MAX_RULES */
	/*
	 * 0: auto: brute force up to WCARD_AUTO_BF_MAX rules; above, the LPM fast
	 * path when the rules match on one IPv4/IPv6 prefix field only with longer
	 * prefixes ranking better (and the trie has room), else Tuple Merge.
	 */
	enum wc_algo algo;
	__u32 default_action; /* 0: WC_ACT_PASS */
	/*
	 * Frames that carry no IPv4/IPv6 packet (WC_PARSE_NOT_IP: ARP, LLDP, PPPoE
	 * control, MPLS without IP): WC_ACT_PASS or WC_ACT_DROP; 0: WC_ACT_PASS.
	 */
	__u32 nonip_action;
	unsigned int collide; /* Tuple Merge collision limit c; 0: 10 */
	/* Static Tuple Merge: the table pool, npool tuples of bits per field. */
	const __u8 (*pool)[WC_MAX_FIELDS];
	unsigned int npool;
	/*
	 * wcard_clf_from_object: use the LPM tries the caller prepared in the
	 * object (wcard_trie4_prepare, wcard_lpm6_prepare) for the LPM fast path.
	 * wcard_clf_create prepares and uses its own.
	 */
	bool lpm;
	/*
	 * wcard_clf_open_pinned: read the maps and write nothing. The rules, hit
	 * counters and stats come from the live generation as it is; no
	 * generation is rebuilt or switched, and changes (load, insert, delete,
	 * update) fail with -EROFS. What read-only commands (rules list, stats)
	 * use.
	 */
	bool read_only;
};

/*
 * Parse a static Tuple Merge table pool for layout l, either a Cartesian
 * product of per-field lengths, "src=0,8,16,24,32 dst=0,16,32 dport=0,16"
 * (fields not named get 0; most specific tuples first), or a list of tuples in
 * field order, "32,32,0,16,8,0; 24,24,0,0,8,0". *pool is malloc'ed.
 * 0, -EINVAL or -E2BIG (more than WC_TM_MAX_TABLES tuples) with err set.
 */
int wcard_pool_parse(const struct wcard_layout *l, const char *spec, __u8 (**pool)[WC_MAX_FIELDS],
		     unsigned int *n, char *err, size_t errlen);

/* --algo auto uses brute force up to this many rules. */
#define WCARD_AUTO_BF_MAX 16

int wcard_clf_create(const struct wcard_clf_opts *o, struct wcard_clf **out, char *err,
		     size_t errlen);
/*
 * Drive the wcard maps of the caller's own BPF object, one that includes
 * <wcard/classify.bpf.h>: call wcard_object_prepare() between open and load
 * (it sizes wc_rules, and wc_hits if present), then wcard_clf_from_object()
 * after load. prog (may be NULL) names the program wcard_clf_run_frame runs.
 */
struct bpf_object;
int wcard_object_prepare(struct bpf_object *obj, __u32 max_rules);
int wcard_clf_from_object(struct bpf_object *obj, const char *prog,
			  const struct wcard_clf_opts *o, struct wcard_clf **out, char *err,
			  size_t errlen);
void wcard_clf_destroy(struct wcard_clf *c);
/* Replace the whole rule set. 0 or -errno (-E2BIG: more rules than max_rules). */
int wcard_clf_load(struct wcard_clf *c, const struct wcard_ruleset *rs, char *err, size_t errlen);
/*
 * Online updates of the live rule set, visible to lookups as soon as they
 * return and never hiding a rule that stays (docs/design.md section 5). Rule ids
 * are the indexes of the last bulk load; an insert gets the next free id.
 * Ties in priority go to the rule added first (a re-prioritized rule counts as
 * added now). 0 or -errno with err set: -ENOSPC when the classifier is full,
 * -ENOENT for an unknown id.
 */
int wcard_clf_insert(struct wcard_clf *c, const struct wcard_rule *r, __u32 *id, char *err,
		     size_t errlen);
int wcard_clf_delete(struct wcard_clf *c, __u32 id, char *err, size_t errlen);
/*
 * New value in place; a new priority re-inserts the rule under *new_id (an
 * insert then a delete: a writer killed in between leaves both in the set).
 */
int wcard_clf_update(struct wcard_clf *c, __u32 id, __u32 prio, __u64 value, __u32 *new_id,
		     char *err, size_t errlen);

/*
 * Where bpffs is mounted by convention. Pin functions given a directory under
 * it mount bpffs there when nothing is (as bpftool and tc do).
 */
#define WCARD_BPFFS "/sys/fs/bpf"
/*
 * Make sure dir (or its nearest existing ancestor) is on bpffs. A directory
 * under WCARD_BPFFS on a host where nothing is mounted there gets bpffs mounted
 * at WCARD_BPFFS (mode 0700; needs CAP_SYS_ADMIN). 0, or -errno with err
 * naming the reason and the command to run: -EXDEV for a directory elsewhere
 * that is not on bpffs, the mount's error otherwise.
 */
int wcard_bpffs_prepare(const char *dir, char *err, size_t errlen);
/*
 * Pin the classifier's maps and its XDP program (as "prog") under dir, a
 * directory on bpffs (created with its missing parents, bpffs mounted as
 * wcard_bpffs_prepare does). Nothing is left half-pinned.
 */
int wcard_clf_pin(struct wcard_clf *c, const char *dir, char *err, size_t errlen);
/*
 * Remove every pin under dir (a classifier's directory: it holds wc_config;
 * -EPROTO otherwise, and nothing is removed), then dir itself.
 */
int wcard_clf_unpin(const char *dir);
/*
 * Open a classifier pinned under dir, in this or another process. The maps are
 * the source of truth: the magic, format version and layout are checked (o may
 * be NULL, or give the layout it must have, the algorithm, c and the static
 * pool), the rules lookups can reach are read back, and a fresh generation is
 * built from them (which also reclaims what a killed writer left behind),
 * unless o->read_only: then nothing is written and the handle only reads.
 * Ids and priorities are kept; rule source lines are not.
 */
int wcard_clf_open_pinned(const char *dir, const struct wcard_clf_opts *o, struct wcard_clf **out,
			  char *err, size_t errlen);
/*
 * Before loading a wcard XDP object (wcard_xdp_object) whose maps are replaced
 * by those of the classifier pinned under dir (bpf_map__reuse_fd): set what
 * the pinned maps do not carry, the image layout of the LPM tries, in the
 * object's read-only data. 0 also when the classifier has no tries.
 */
int wcard_clf_pinned_object(struct bpf_object *obj, const char *dir, char *err, size_t errlen);

/*
 * Run one frame through the XDP filter with BPF_PROG_TEST_RUN. *meta gets the
 * verdict the program wrote in front of the frame; *xdp_action its return code.
 */
int wcard_clf_run_frame(struct wcard_clf *c, const void *frame, size_t len,
			struct wc_xdp_meta *meta, __u32 *xdp_action, __u64 *ns);
/*
 * The same through any loaded wcard XDP filter program, by its fd (one loaded
 * by bpftool, a pin). On kernels whose test runs return no metadata (before
 * 5.15) the verdict comes from the compat build's scratch map, which this
 * opens by the program's map ids (opening a map by id may take CAP_SYS_ADMIN).
 */
int wcard_xdp_run_frame(int prog_fd, const void *frame, size_t len, struct wc_xdp_meta *meta,
			__u32 *xdp_action, __u64 *ns);
/*
 * Hit counters of rule `rule` (index in the loaded rule set), summed over CPUs;
 * rule -1 gives the frames that matched nothing.
 */
int wcard_clf_rule_hits(const struct wcard_clf *c, long rule, struct wc_counter *out);
struct wcard_table_stats {
	__u32 id;
	__u8 len[WC_MAX_FIELDS]; /* the tuple: bits per field */
	__u32 rules;
	__u32 max_bucket;
	__u32 slots; /* open-addressed bucket heads */
	__u32 best_prio; /* priority of its best rule */
};

struct wcard_stats {
	enum wc_algo algo;
	size_t rules;
	__u32 max_rules;
	unsigned int ntables; /* Tuple Merge, in lookup order below */
	__u32 max_bucket;
	size_t used_bytes; /* map bytes the live generation uses */
	size_t map_bytes; /* bytes of all the classifier's maps (both generations) */
	__u32 moves; /* rules moved between tables by online updates (this generation) */
	__u64 grace_periods; /* waits for running lookups taken by online updates */
	struct wcard_table_stats tables[WC_TM_MAX_TABLES];
};

/* What the live generation holds. 0 or -errno. */
int wcard_clf_stats(const struct wcard_clf *c, struct wcard_stats *st);
/*
 * Tuple Merge lookup on the user-space model of the live generation (same
 * tables, order and early stop as BPF): rule index or -1, and tables probed.
 * -EINVAL for brute force.
 */
long wcard_clf_model_lookup(const struct wcard_clf *c, const struct wc_key *k,
			    unsigned int *probed);

/* Algorithm of the live generation, and its Tuple Merge tables (0 for brute force). */
enum wc_algo wcard_clf_algo(const struct wcard_clf *c);
/*
 * The live rules, best first (priority, then the order they were added), into
 * rs (initialized here; its layout is the classifier's): each rule's id is the
 * one lookups report. 0 or -ENOMEM.
 */
int wcard_clf_rules(const struct wcard_clf *c, struct wcard_ruleset *rs);
unsigned int wcard_clf_ntables(const struct wcard_clf *c);
/* The XDP program's fd and its verified instruction count (0 if unknown). */
int wcard_clf_prog_fd(const struct wcard_clf *c);
__u32 wcard_clf_verified_insns(const struct wcard_clf *c);

/*
 * The ready XDP filter's BPF object as built into libwcard (ELF bytes), for
 * loading more instances of it over a pinned classifier's maps (wcard attach).
 */
const void *wcard_xdp_object(size_t *size);

/* libbpf output goes to stderr only when enabled (-v). */
void wcard_set_verbose(bool on);

/* ---- kernel feature probes (user/probe.c) --------------------------------- */

enum wcard_feature_kind {
	WCARD_FEAT_BTF, /* kernel BTF at /sys/kernel/btf/vmlinux */
	WCARD_FEAT_PROG, /* id: a program type */
	WCARD_FEAT_MAP, /* id: a map type */
	WCARD_FEAT_MMAPABLE, /* ARRAY maps with BPF_F_MMAPABLE */
	WCARD_FEAT_HELPER, /* id: a helper, from XDP programs */
	WCARD_FEAT_KFUNC, /* name: a kfunc in the kernel's BTF */
};

struct wcard_feature {
	enum wcard_feature_kind kind;
	int id;
	const char *name; /* the kfunc's BTF name */
	const char *what; /* for the message: "open-coded iterators (bpf_iter_num)" */
	const char *since; /* the first Linux version that has it: "6.4" */
};

/*
 * Probe the running kernel for each feature, in order. 0 if it has them all;
 * -EPERM when BPF is not permitted (the message names the capabilities);
 * -EOPNOTSUPP with "this kernel (Linux R) lacks WHAT: wcard needs Linux SINCE
 * or later" for the first one missing.
 */
int wcard_probe_features(const struct wcard_feature *f, size_t n, char *err, size_t errlen);
/* wcard_probe_features on everything wcard's programs use; probed once, then cached. */
int wcard_probe_kernel(char *err, size_t errlen);

/*
 * The two builds of every wcard BPF object (include/wcard/compat.bpf.h):
 * WCARD_BPF_ITER, loops as open-coded iterators (Linux 6.4+; the default
 * build, e.g. wcard_xdp.bpf.o), and WCARD_BPF_COMPAT, plain loops split over
 * global functions for kernels without iterators (built with WCARD_COMPAT,
 * e.g. compat/wcard_xdp.bpf.o).
 */
enum wcard_bpf_build {
	WCARD_BPF_ITER,
	WCARD_BPF_COMPAT,
};

/*
 * The build libwcard loads on the running kernel: ITER when the kernel's BTF
 * has the bpf_iter_num kfuncs, else COMPAT. The environment variable
 * WCARD_BPF_BUILD=iter|compat overrides the probe (to test the compat build
 * on a new kernel). Probed once, then cached.
 */
enum wcard_bpf_build wcard_bpf_build(void);
/* "iter" or "compat". */
const char *wcard_bpf_build_name(enum wcard_bpf_build b);

/*
 * Why loading a BPF object failed with err (-errno or errno), for a message:
 * " (...)" naming the likely cause (privileges, RLIMIT_MEMLOCK on kernels
 * before 5.11, the verifier of this kernel and which build it refused) and
 * the kernel. Written into buf, which is returned.
 */
const char *wcard_load_hint(int err, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* WCARD_H */
