/* clf.h: the classifier: create, load, change, pin, run, stats (libwcard); user space only. */
#ifndef WCARD_CLF_H
#define WCARD_CLF_H

#include <wcard/rules.h>

struct wcard_trie;

#ifdef __cplusplus
extern "C" {
#endif

/* ---- BPF classifier (user/clf/) ------------------------------------------- */

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
	 * wcard_clf_from_object: the LPM tries the caller prepared in the object
	 * (wcard_trie4_prepare, wcard_lpm6_prepare; opened or not) for the LPM
	 * fast path, NULL for none. On success the classifier owns them
	 * (wcard_clf_destroy closes them); on failure they stay the caller's.
	 * wcard_clf_create prepares its own and takes none.
	 */
	struct wcard_trie *lpm4, *lpm6;
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
WCARD_API int wcard_pool_parse(const struct wcard_layout *l, const char *spec,
			       __u8 (**pool)[WC_MAX_FIELDS], unsigned int *n, char *err,
			       size_t errlen);

/* --algo auto uses brute force up to this many rules. */
#define WCARD_AUTO_BF_MAX 16

WCARD_API int wcard_clf_create(const struct wcard_clf_opts *o, struct wcard_clf **out, char *err,
			       size_t errlen);
/*
 * Drive the wcard maps of the caller's own BPF object, one that includes
 * <wcard/classify.bpf.h>: call wcard_object_prepare_layout() between open and
 * load (it sizes the classifier's maps for layout l, a dual-stack one having
 * a part per family, and wc_hits if present), then wcard_clf_from_object()
 * with a layout of as many parts after load. prog (may be NULL) names the
 * program wcard_clf_run_frame runs. wcard_object_prepare() is the same for a
 * layout of one family (l NULL).
 */
struct bpf_object;
WCARD_API int wcard_object_prepare_layout(struct bpf_object *obj, const struct wcard_layout *l,
					  __u32 max_rules);
WCARD_API int wcard_object_prepare(struct bpf_object *obj, __u32 max_rules);
WCARD_API int wcard_clf_from_object(struct bpf_object *obj, const char *prog,
				    const struct wcard_clf_opts *o, struct wcard_clf **out,
				    char *err, size_t errlen);
WCARD_API void wcard_clf_destroy(struct wcard_clf *c);
/* Replace the whole rule set. 0 or -errno (-E2BIG: more rules than max_rules). */
WCARD_API int wcard_clf_load(struct wcard_clf *c, const struct wcard_ruleset *rs, char *err,
			     size_t errlen);
/*
 * Online updates of the live rule set, visible to lookups as soon as they
 * return and never hiding a rule that stays (docs/design.md section 5). Rule ids
 * are the indexes of the last bulk load; an insert gets the next free id.
 * Ties in priority go to the rule added first (a re-prioritized rule counts as
 * added now). 0 or -errno with err set: -ENOSPC when the classifier is full,
 * -ENOENT for an unknown id.
 */
WCARD_API int wcard_clf_insert(struct wcard_clf *c, const struct wcard_rule *r, __u32 *id,
			       char *err, size_t errlen);
WCARD_API int wcard_clf_delete(struct wcard_clf *c, __u32 id, char *err, size_t errlen);
/*
 * New value in place; a new priority re-inserts the rule under *new_id (an
 * insert then a delete: a writer killed in between leaves both in the set).
 */
WCARD_API int wcard_clf_update(struct wcard_clf *c, __u32 id, __u32 prio, __u64 value,
			       __u32 *new_id, char *err, size_t errlen);
/*
 * Reclaim what changes freed, off the writer's path: one grace period for
 * every rule slot, bucket region and rule id freed so far, after which they
 * are reusable. A change that finds none free waits for a grace period
 * itself (~8 ms, up to 200 when the CPUs are busy with lookups); with this
 * called from a thread of yours, in a loop or on a timer, writers find free
 * ones. Changes through the handle go on meanwhile: the handle takes turns
 * inside, and waits for the grace period unlocked. It takes one for a batch:
 * 512 entries waiting, or anything waiting 10 ms since the last; with
 * WCARD_RECLAIM_NOW, for anything waiting. As for every change, one writer
 * process at a time. 1: a grace period was taken; 0: not enough waited for
 * one (returns at once); or -errno.
 */
#define WCARD_RECLAIM_NOW (1u << 0)
WCARD_API int wcard_clf_reclaim(struct wcard_clf *c, unsigned int flags);

/*
 * Apply a batch of changes (wcard_batch_load). Every change is checked first
 * against the rule set as the changes before it leave it: on a bad one,
 * "FILE:LINE: reason" in err and nothing applied. Then, by default, the
 * changes are made online, in order, as wcard_clf_insert/delete/update make
 * them; with WCARD_APPLY_ATOMIC the whole batch becomes one new generation
 * (lookups see all of it or none). A change that fails part-way puts the rule
 * set back as it was (online: in one generation). ids (NULL, or b->n
 * entries): the id of each change's rule afterwards (an add's new id, an
 * update's new id when its priority changed). 0 or -errno.
 */
#define WCARD_APPLY_ATOMIC (1u << 0)
WCARD_API int wcard_clf_apply(struct wcard_clf *c, const struct wcard_batch *b, unsigned int flags,
			      __u32 *ids, char *err, size_t errlen);

/*
 * The pin whose presence marks a classifier's directory: its config map, which
 * every program that classifies with it uses (so its map id also tells which
 * attached programs are the classifier's).
 */
#define WCARD_CLF_PIN_MARK "wc_config"

/*
 * Pin the classifier's maps and its XDP program (as "prog") under dir, a
 * directory on bpffs (created with its missing parents, bpffs mounted as
 * wcard_bpffs_prepare does). Nothing is left half-pinned.
 */
WCARD_API int wcard_clf_pin(struct wcard_clf *c, const char *dir, char *err, size_t errlen);
/*
 * Remove every pin under dir (a classifier's directory: it holds the mark;
 * -EPROTO otherwise, and nothing is removed), then dir itself.
 */
WCARD_API int wcard_clf_unpin(const char *dir);
/*
 * Open a classifier pinned under dir, in this or another process. The maps are
 * the source of truth: the magic, format version and layout are checked (o may
 * be NULL, or give the layout it must have, the algorithm, c and the static
 * pool; inet and one family's layout pass for each other, their rules move
 * with wcard_ruleset_convert), the rules lookups can reach are read back, and a fresh generation is
 * built from them (which also reclaims what a killed writer left behind),
 * unless o->read_only: then nothing is written and the handle only reads.
 * Ids and priorities are kept; rule source lines are not.
 */
WCARD_API int wcard_clf_open_pinned(const char *dir, const struct wcard_clf_opts *o,
				    struct wcard_clf **out, char *err, size_t errlen);
/*
 * Before loading a wcard XDP object (wcard_xdp_object) whose maps are replaced
 * by those of the classifier pinned under dir (bpf_map__reuse_fd): set what
 * the pinned maps do not carry, the record format of the rules and the image
 * layout of the LPM tries, in the object's read-only data. 0 also when the
 * classifier has no tries.
 */
WCARD_API int wcard_clf_pinned_object(struct bpf_object *obj, const char *dir, char *err,
				      size_t errlen);

/*
 * Run one frame through the XDP filter with BPF_PROG_TEST_RUN. *meta gets the
 * verdict the program wrote in front of the frame; *xdp_action its return code.
 */
WCARD_API int wcard_clf_run_frame(struct wcard_clf *c, const void *frame, size_t len,
				  struct wc_xdp_meta *meta, __u32 *xdp_action, __u64 *ns);
/*
 * The same through any loaded wcard XDP filter program, by its fd (one loaded
 * by bpftool, a pin). On kernels whose test runs return no metadata (before
 * 5.15) the verdict comes from the compat build's scratch map, which this
 * opens by the program's map ids (opening a map by id may take CAP_SYS_ADMIN).
 */
WCARD_API int wcard_xdp_run_frame(int prog_fd, const void *frame, size_t len,
				  struct wc_xdp_meta *meta, __u32 *xdp_action, __u64 *ns);
/*
 * Hit counters of rule `rule` (index in the loaded rule set), summed over CPUs;
 * rule -1 gives the frames that matched nothing.
 */
WCARD_API int wcard_clf_rule_hits(const struct wcard_clf *c, long rule, struct wc_counter *out);
/*
 * Every counter in one pass over the map (not a lookup per rule): by_id[id]
 * for the live rules with id < n (others zeroed; by_id may be NULL), the sum
 * over the live rules into *matched and the frames no rule matched into
 * *missed (either may be NULL). 0, -ENOENT (a program without counters) or
 * -errno.
 */
WCARD_API int wcard_clf_hits(const struct wcard_clf *c, struct wc_counter *by_id, size_t n,
			     struct wc_counter *matched, struct wc_counter *missed);
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
	unsigned int parts; /* of the classifier: 1, or 2 for dual stack (part 0 IPv4, 1 IPv6) */
	__u32 max_rules;
	unsigned int ntables; /* Tuple Merge, in lookup order below */
	__u32 max_bucket;
	size_t used_bytes; /* map bytes the live generation uses */
	size_t map_bytes; /* bytes of all the classifier's maps (both generations) */
	__u32 moves; /* rules moved between tables by online updates (this generation) */
	__u64 grace_periods; /* waits for running lookups taken by online updates */
	struct wcard_table_stats tables[WC_TM_MAX_TABLES];
};

/*
 * What the live generation holds: every rule and every part's memory, and the
 * algorithm and tables of part 0 (a dual-stack classifier's IPv4 part).
 * 0 or -errno.
 */
WCARD_API int wcard_clf_stats(const struct wcard_clf *c, struct wcard_stats *st);
/* The same for one part only (0 .. parts - 1): its algorithm, rules, tables and memory. */
WCARD_API int wcard_clf_part_stats(const struct wcard_clf *c, unsigned int part,
				   struct wcard_stats *st);
/*
 * Tuple Merge lookup on the user-space model of the live generation (same
 * tables, order and early stop as BPF; part 0's): rule index or -1, and
 * tables probed. -EINVAL for brute force.
 */
WCARD_API long wcard_clf_model_lookup(const struct wcard_clf *c, const struct wc_key *k,
				      unsigned int *probed);
/*
 * The same for a key of family 4 or 6 (in that family's layout): a
 * dual-stack classifier's part of that family; -1 in a classifier of the
 * other family's layout. -EINVAL for a part without a Tuple Merge model.
 */
WCARD_API long wcard_clf_model_lookup_family(const struct wcard_clf *c, unsigned int family,
					     const struct wc_key *k, unsigned int *probed);

/* The classifier's layout (inet for dual stack): the rule sets it loads and lists are in it. */
WCARD_API const struct wcard_layout *wcard_clf_layout(const struct wcard_clf *c);
/* Algorithm of the live generation, and its Tuple Merge tables (0 for brute force): part 0's. */
WCARD_API enum wc_algo wcard_clf_algo(const struct wcard_clf *c);
/*
 * The live rules, best first (priority, then the order they were added), into
 * rs (initialized here; its layout is the classifier's): each rule's id is the
 * one lookups report. 0 or -ENOMEM.
 */
WCARD_API int wcard_clf_rules(const struct wcard_clf *c, struct wcard_ruleset *rs);
/*
 * The live rules, best first, one at a time to fn (each with the id lookups
 * report), without a copy of the whole set: a listing of a big classifier
 * costs the rules' ids and ranks, sorted. fn returns 0 to go on; anything
 * else stops the walk and is returned. 0, the first nonzero fn returned, or
 * -errno.
 */
WCARD_API int wcard_clf_rules_each(const struct wcard_clf *c,
				   int (*fn)(const struct wcard_rule *r, void *ctx), void *ctx);
/*
 * One live rule by id, as the maps hold it (inet: its family, 0 for both),
 * without reading the others. 0, or -ENOENT if no rule has that id.
 */
WCARD_API int wcard_clf_rule(const struct wcard_clf *c, __u32 id, struct wcard_rule *out);
/*
 * No live rule has a priority worse than *prio (where a rule added without a
 * priority goes: after it). O(1). 0, or -ENOENT when there are no rules.
 */
WCARD_API int wcard_clf_worst_prio(const struct wcard_clf *c, __u32 *prio);
WCARD_API unsigned int wcard_clf_ntables(const struct wcard_clf *c);
/* One past the highest rule id handed out: an array by id of that size covers every rule. O(1). */
WCARD_API __u32 wcard_clf_id_bound(const struct wcard_clf *c);
/* The XDP program's fd and its verified instruction count (0 if unknown). */
WCARD_API int wcard_clf_prog_fd(const struct wcard_clf *c);
WCARD_API __u32 wcard_clf_verified_insns(const struct wcard_clf *c);

/*
 * The ready XDP filter's BPF object as built into libwcard (ELF bytes), for
 * loading more instances of it over a pinned classifier's maps (wcard attach).
 */
WCARD_API const void *wcard_xdp_object(size_t *size);


#ifdef __cplusplus
}
#endif

#endif /* WCARD_CLF_H */
