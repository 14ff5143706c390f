/* clf_int.h: libwcard's classifier object, shared by the files of user/clf; libwcard internal. */
#ifndef WCARD_CLF_INT_H
#define WCARD_CLF_INT_H

#include <stdbool.h>
#include <wcard/wcard.h>
#include "core/core.h"
#include "tm/tm.h"

struct wcard_xdp;

/* The per-rule hit counters (PERCPU_ARRAY, not mmapped). */
#define CLF_HITS_MAP "wc_hits"
#define CLF_NMAPS 6 /* root, config, rules, tm tables, tm slots, tm order */
extern const char *const clf_map_names[CLF_NMAPS];

struct u32_stack {
	__u32 *v;
	size_t n, cap;
};

/* One mmapped ARRAY map. */
struct mmap_arr {
	int fd;
	void *p;
	size_t len;
};

/* The rule set, indexed by rule id (= index for a bulk load; inserts append). */
struct clf_rules {
	struct wcard_ruleset set;
	bool *live;
	__u64 *rank;
	size_t cap;
	size_t nlive; /* live rules in the set */
	size_t nfam[2]; /* of them, those of one family only: IPv4, IPv6 (family 4, 6) */
	__u32 seq; /* next insertion sequence: low half of a rank */
	/* Rule ids of deleted rules: reusable after a grace period. */
	struct u32_stack id_free, id_deferred;
};

/* Online Tuple Merge updates of a part's live generation (online.c, reclaim.c). */
struct clf_online {
	__u32 rules_hwm; /* rule slots ever used, relative to the part's region */
	struct u32_stack rule_free, rule_deferred;
	size_t moved_pending; /* deferred slots flagged WC_ID_MOVED */
	struct u32_stack region_free[32], region_deferred[32]; /* slot regions by log2 size */
	__u32 live_entries[WC_TM_MAX_TABLES], tombs[WC_TM_MAX_TABLES];
	__u64 pub_best[WC_TM_MAX_TABLES]; /* best rank each table has in the order buffer */
	__u32 since_gp; /* order buffers published since the last grace period */
	struct tm_log log;
};

/*
 * A part of the classifier (wcard_common.h, WC_MAX_PARTS): a key layout, a
 * config per generation and its own region of every array, built and
 * changed on its own; rule ids, ranks and the generation switch are the
 * classifier's. A dual-stack classifier has one per family.
 */
struct clf_part {
	unsigned int idx; /* 0, or WC_PART_V6 */
	struct wcard_layout layout;
	struct wc_config base_cfg; /* the parts every generation shares */
	enum wc_algo algo; /* of the live generation */
	unsigned int ntables;
	__u32 *slot_of; /* rule id -> absolute index in wc_rules (the part's rules only) */
	struct tm_model *tm; /* model of the live generation (Tuple Merge), or NULL */
	__u32 slots_used; /* bucket slots of the live generation (bump allocator) */
	__u32 tslots[WC_TM_MAX_TABLES]; /* slots per table */
	struct clf_online on;
};

/*
 * A batch under way (apply.c): how to put the rule set back as it was if it
 * fails part-way. Each id's state before its first change (its rule only if
 * it was live then), the counts, and copies of the id lists.
 */
struct clf_undo_ent {
	__u32 id;
	bool live;
	__u64 rank;
	struct wcard_rule rule; /* when live */
};

struct clf_undo {
	struct clf_undo_ent *e;
	size_t n, cap;
	__u8 *saved; /* bitmap by id: saved already */
	size_t saved_ids; /* ids the bitmap covers */
	bool failed; /* out of memory: the batch cannot be put back, so it stops */
	size_t set_n, nlive, nfam[2];
	__u32 seq;
	struct u32_stack id_free, id_deferred;
};

struct wcard_clf {
	struct wcard_xdp *skel; /* NULL when driving a caller's object */
	int prog_fd, hits_fd;
	struct gp gp;
	struct mmap_arr root, config, rules, tables, slots, order;
	struct wcard_layout layout; /* of the rule set (WC_LAYOUT_INET: of both parts) */
	__u32 max_rules; /* rules per part and generation */
	__u32 nslots; /* bucket heads per part and generation */
	__u32 verified_insns;
	unsigned int gen; /* live generation */
	enum wc_algo algo_opt; /* 0 = auto */
	unsigned int collide;
	__u8 (*pool)[WC_MAX_FIELDS];
	unsigned int npool;
	unsigned int nparts;
	unsigned int cap_parts; /* parts the maps have room for (nparts or more) */
	struct clf_part part[WC_MAX_PARTS];
	/*
	 * The LPM fast path's tries (prepared in the object), by prefix width (4,
	 * 16) and generation: generation g's is in slot g of the slot map
	 * (wc_config.lpm_slot), so a load builds a trie no live lookup walks.
	 * Only a live generation on the LPM path keeps an image: the old one's
	 * is freed once no lookup can reach it (clf_republish). Each width
	 * serves one part: a dual-stack classifier's IPv4 part the 4-byte trie,
	 * its IPv6 part the 16-byte one.
	 */
	struct wcard_trie *lpm4[WC_GENS], *lpm6[WC_GENS];

	struct clf_rules rs;
	struct clf_undo *undo; /* a batch under way, or NULL */
	__u64 grace_periods; /* taken by online updates, for stats */

	bool sync_pending; /* a generation switch whose grace period is still owed */
	bool broken; /* maps and model disagree after a double failure: reload needed */
	bool read_only; /* opened with wcard_clf_opts.read_only: the maps are never written */

	/* Opened from pins: the map and program fds are ours to close. */
	bool own_fds;
	int own_fd[CLF_NMAPS + 2];
	/*
	 * The compat build's scratch map of the program (clf_scratch_fd), once
	 * looked up; closed by the handle when it opened the fd itself.
	 */
	bool scratch_known, scratch_owned;
	int scratch_fd;
};

#define ROOT(c) ((struct wc_root *)(c)->root.p)
#define CFG(c, g) ((struct wc_config *)(c)->config.p + (g))
#define RULE(c, i) ((struct wc_rule *)(c)->rules.p + (i))
#define TABLE(c, i) ((struct wc_tm_table *)(c)->tables.p + (i))
#define SLOT(c, i) ((struct wc_tm_slot *)(c)->slots.p + (i))
#define ORDER(c, i) ((struct wc_tm_order_buf *)(c)->order.p + (i))

/* Part p's region of every array in generation g (wc_config.self). */
static inline __u32 clf_region(const struct clf_part *p, unsigned int g)
{
	return p->idx * WC_GENS + g;
}

#define PCFG(c, p, g) CFG(c, clf_region(p, g))
/* First index of part p's region in generation g: wc_rules, wc_tm_slots, tables, order. */
#define RBASE(c, p, g) (clf_region(p, g) * (c)->max_rules)
#define SBASE(c, p, g) (clf_region(p, g) * (c)->nslots)
#define TBASE(p, g) (clf_region(p, g) * WC_TM_MAX_TABLES)
#define OBASE(p, g) (clf_region(p, g) * WC_TM_ORDER_RING)

#define for_each_part(c, p) for ((p) = (c)->part; (p) < (c)->part + (c)->nparts; (p)++)

/* Part idx's key layout in a classifier of layout l: its family's for WC_LAYOUT_INET, else l. */
const struct wcard_layout *clf_part_layout(const struct wcard_layout *l, unsigned int idx);
/* Is rule r one of part p's? Every rule is, but in a dual-stack classifier (by family). */
bool clf_in_part(const struct wcard_clf *c, const struct clf_part *p, const struct wcard_rule *r);


/*
 * The files of user/clf build on each other in this order, never back:
 * maps.c <- reclaim.c <- build.c <- online.c <- apply.c; clf.c (a handle's
 * life) on the first three; run.c (frames, counters, stats) and pin.c on top.
 * pool.c stands alone.
 */

/* ---- maps.c: the maps of a classifier ----------------------------------- */

/* Check options. 0, or -EINVAL with err saying why. */
int clf_check_opts(const struct wcard_clf_opts *o, char *err, size_t errlen);
/* A new, empty classifier of o's layout (before its maps are attached). */
int clf_setup(struct wcard_clf *c, const struct wcard_clf_opts *o);
/* mmap the maps (fds in the order of clf_map_names); check sizes. */
int clf_attach(struct wcard_clf *c, const int *fds, int hits_fd, char *err, size_t errlen);
/* Maps found in obj, sized and loaded: attach them, write both generations' empty config. */
int clf_init(struct wcard_clf *c, struct bpf_object *obj, const struct wcard_clf_opts *o,
	     char *err, size_t errlen);
void clf_arr_unmap(struct mmap_arr *a);
/* Grace period: every BPF program running when it starts has finished when it returns. */
int clf_sync(struct wcard_clf *c);
/* -EROFS, with err saying so, if c was opened read-only; else 0. */
int clf_check_writable(const struct wcard_clf *c, char *err, size_t errlen);
/* Zero the hit counters of generation g's half: ids[0..n), or all of it. */
int clf_hits_zero(struct wcard_clf *c, unsigned int g, bool all, const __u32 *ids, size_t n);

/* ---- reclaim.c: slots and ids of the live generation, reused after grace periods -- */

int u32_push(struct u32_stack *s, __u32 v);
bool u32_pop(struct u32_stack *s, __u32 *v);
/* Reset part p's online-update state after its generation was built from scratch. */
void clf_online_reset(struct wcard_clf *c, struct clf_part *p);
void clf_online_free(struct clf_online *on);
/* Rule id is (not) live: the flag and the counts that go with it. */
void clf_set_live(struct wcard_clf *c, __u32 id, bool live);
/* Rule id is about to change: note how it is now, if a batch is under way (c->undo). */
void clf_undo_save(struct wcard_clf *c, __u32 id);
/* Live rules of part p. */
size_t clf_part_nlive(const struct wcard_clf *c, const struct clf_part *p);
/* Grow the per-id arrays (live, rank, every part's slot_of) to hold n ids. 0 or -ENOMEM. */
int clf_set_reserve(struct wcard_clf *c, size_t n);
/* A grace period, then everything waiting for one is free again. */
int clf_grace(struct wcard_clf *c);
/* After a grace period: deleted rules' ids may be handed out again (counters zeroed). */
int clf_ids_reclaim(struct wcard_clf *c);
/* A free rule slot of part p (relative to its region), marked dead. 0 or -ENOSPC. */
int clf_alloc_rule(struct wcard_clf *c, struct clf_part *p, __u32 *slot);
/* 2^lg consecutive bucket slots of part p; *first: the first (relative). 0 or -ENOSPC. */
int clf_alloc_region(struct wcard_clf *c, struct clf_part *p, unsigned int lg, __u32 *first);

/* ---- build.c: whole generations ----------------------------------------- */

/*
 * Rebuild the whole rule set into the spare generation and switch to it. 0 once
 * switched; an error means nothing switched (lookups still see the old set).
 */
int clf_republish(struct wcard_clf *c, char *err, size_t errlen);

/* ---- online.c: single changes ------------------------------------------------ */

/*
 * Give rule r a new id and rank (prio, then insertion order) and mark it live
 * in the rule set; nothing is applied to the maps. 0, or -ENOSPC (a part is
 * full, or ids ran out) with err set.
 */
int clf_rule_new(struct wcard_clf *c, const struct wcard_rule *r, __u32 *nid, char *err,
		 size_t errlen);
/* Online changes need maps and model in step: 0, or -EROFS / -EIO with err set. */
int clf_check_usable(const struct wcard_clf *c, char *err, size_t errlen);

/* ---- clf.c: a handle's life ---------------------------------------------- */

/* A new handle, nothing attached (fds -1). NULL without memory. */
struct wcard_clf *clf_alloc(void);
/* The classifier's own BPF object (wcard_clf_create), or NULL. */
struct bpf_object *clf_object(const struct wcard_clf *c);

#endif /* WCARD_CLF_INT_H */
