/* clf_int.h: libwcard's classifier object, shared by the files of user/clf; libwcard internal. */
#ifndef WCARD_CLF_INT_H
#define WCARD_CLF_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <wcard/wcard.h>
#include "core/core.h"
#include "tm/tm.h"

struct wcard_xdp;

/* The per-rule hit counters (PERCPU_ARRAY, not mmapped). */
#define CLF_HITS_MAP "wc_hits"
#define CLF_NMAPS 6 /* root, config, rules, tm tables, tm slots, tm order */
extern const char *const clf_map_names[CLF_NMAPS];

/*
 * One mmapped ARRAY map. A big one is mapped in chunks as they are first
 * touched (clf_arr_at): the kernel fills every page table entry of a BPF
 * array mapping when it is made, so mapping the rules of a 1M-rule
 * classifier whole costs milliseconds a process that changes one rule
 * should not pay.
 */
struct mmap_arr {
	int fd;
	void *p;
	size_t len;
	__u64 *mapped; /* chunks mapped (bit per CLF_CHUNK bytes); NULL: all of it */
};
#define CLF_CHUNK_SHIFT 14 /* 16 KiB: a change touches a few scattered chunks (design.md 5.5) */

/* Map the chunks of a holding [off, off + len) that are not yet (aborts if it cannot). */
void clf_arr_fault(struct mmap_arr *a, size_t off, size_t len);

/* Bytes [off, off + len) of a, mapped. */
static inline void *clf_arr_at(const struct mmap_arr *ca, size_t off, size_t len)
{
	struct mmap_arr *a = (struct mmap_arr *)ca; /* the mapping is a cache */
	size_t c0 = off >> CLF_CHUNK_SHIFT, c1 = (off + len - 1) >> CLF_CHUNK_SHIFT;

	if (a->mapped && (c1 - c0 > 1 || !(a->mapped[c0 / 64] & (1ULL << (c0 % 64))) ||
			  !(a->mapped[c1 / 64] & (1ULL << (c1 % 64)))))
		clf_arr_fault(a, off, len);
	return (char *)a->p + off;
}

/*
 * The rule set, indexed by rule id: a cache of what the live generation
 * holds, read from the maps when a whole generation is built or the rules are
 * listed (clf_rs_load). Single changes go to the maps and the writer's state
 * (struct wst) only, and mark it stale.
 */
struct clf_rules {
	struct wcard_ruleset set;
	bool *live;
	__u64 *rank;
	size_t cap;
	size_t nlive; /* live rules in the set */
	size_t nfam[2]; /* of them, those of one family only: IPv4, IPv6 (family 4, 6) */
	bool valid; /* it is what the live generation holds (clf_rs_fresh) */
	__u32 seq; /* above the insertion sequence of every rule read (clf_rs_load) */
	__u32 changes; /* the state's count of changes when it was (wst.changes) */
};

/*
 * ---- the writer's state (state.c) -------------------------------------------
 * Everything a writer needs besides the rules themselves, in a map of its
 * own (CLF_STATE_MAP, an mmapped ARRAY no BPF program reads), pinned with the
 * classifier: a new process opens it and changes a rule in O(tables), not
 * O(rules). It describes the live generation (gen) while busy is 0. A writer
 * sets busy before it changes anything and clears it once the maps and the
 * state agree again, so the writer after a killed one rebuilds from the rules
 * the maps hold (clf_rs_load) instead of trusting the state.
 *
 * A ring is a FIFO of u32 (slots, regions, rule ids): [head, covered) free,
 * [covered, tail) freed but maybe still read by a lookup that started before,
 * until a grace period covers them (clf_grace).
 */
#define CLF_STATE_MAP "wc_state"
#define WST_MAGIC 0x77637374u /* "wcst" */
#define WST_VERSION 1u

struct wst_ring {
	__u64 head, covered, tail;
	__u32 cap; /* entries */
	__u32 off; /* its entries: u32 words from the start of the state */
};

struct wst_part {
	__u32 ntables; /* tables in use (Tuple Merge) */
	__u32 rules_hwm; /* rule slots ever used in the region of the live generation */
	__u32 slots_used; /* bucket slots handed out (bump allocator) */
	__u32 moved_pending; /* slots in the moved ring still flagged WC_ID_MOVED */
	__u32 since_gp; /* order buffers published since the last grace period */
	__u32 slot_off; /* u32[WC_ID_LIMIT]: rule id -> absolute slot in wc_rules, or WC_ID_NONE */
	__u32 table_off; /* u8[WC_ID_LIMIT] (offset in u32 words): rule id -> its table */
	__u32 moved_epoch; /* counts the moved ring's resets (moved_reset): a cache key */
	struct wst_ring rules; /* rule slots, relative to the part's region */
	struct wst_ring moved; /* of them, old copies of moved rules (until a grace period) */
	struct wst_ring regions[32]; /* bucket slot regions by log2 size, relative */
	__u64 best[WC_TM_MAX_TABLES]; /* each table's best rank as published (a lower bound) */
	__u32 tslots[WC_TM_MAX_TABLES], live_entries[WC_TM_MAX_TABLES], tombs[WC_TM_MAX_TABLES];
	__u8 tused[WC_TM_MAX_TABLES];
	__u8 tlen[WC_TM_MAX_TABLES][WC_MAX_FIELDS]; /* each table's tuple */
};

struct wst {
	__u32 magic, version;
	__u32 max_rules, nslots, parts; /* the maps it was made for */
	__u32 busy;
	__u32 gen; /* the live generation it describes */
	__u32 nids; /* ids handed out: every rule id is below */
	__u32 seq; /* next insertion sequence: the low half of a rank */
	__u32 worst_prio; /* no rule has a worse priority (an add without one goes after it) */
	__u32 sync_owed; /* a generation switch whose grace period is still owed */
	/*
	 * Changes made (by any writer; counted as busy clears): a handle's copy of
	 * the rule set (struct clf_rules) is stale once this moves on.
	 */
	__u32 changes;
	__u64 nlive, nfam[2]; /* live rules; of them, of one family only: IPv4, IPv6 */
	__u64 grace_periods;
	struct wst_ring ids; /* rule ids */
	struct wst_part part[WC_MAX_PARTS];
};

/*
 * A part of the classifier (wcard_common.h, WC_MAX_PARTS): a key layout, a
 * config per generation and its own region of every array, built and
 * changed on its own; rule ids, ranks and the generation switch are the
 * classifier's. A dual-stack classifier has one per family.
 */
/*
 * Where rule ids' old copies wait in a part's moved ring (id -> ring
 * position), so that a delete finds its id's copies without a scan of the
 * ring (kill_moved_copies): this process's cache, caught up from the ring
 * (new entries since tail, or all of it after a reset: moved_epoch). A stale
 * entry is harmless: a copy dies only if its slot still holds id | MOVED.
 */
struct moved_idx {
	struct moved_ent {
		__u32 id, tag; /* tag 0: empty, 1: an entry, 2: removed */
		__u64 pos;
	} *e;
	size_t cap, used; /* used: entries and removed ones */
	__u64 tail; /* the ring's tail it has caught up to */
	__u32 epoch;
	bool built;
};

struct clf_part {
	unsigned int idx; /* 0, or WC_PART_V6 */
	struct wcard_layout layout;
	struct wc_config base_cfg; /* the parts every generation shares */
	enum wc_algo algo; /* of the live generation */
	struct wst_part *st; /* its part of the writer's state */
	struct moved_idx mv;
};

struct wcard_clf {
	struct wcard_xdp *skel; /* NULL when driving a caller's object */
	int prog_fd, hits_fd;
	struct gp gp;
	/*
	 * Changes and wcard_clf_reclaim take turns on it (recursive: a change
	 * makes others); the reclaim waits out its grace period on rgp, unlocked.
	 */
	pthread_mutex_t mu;
	struct gp rgp;
	__u64 reclaimed_ns; /* CLOCK_MONOTONIC of the last reclaim */
	struct mmap_arr root, config, rules, tables, slots, order;
	struct wcard_layout layout; /* of the rule set (WC_LAYOUT_INET: of both parts) */
	__u32 max_rules; /* rules per part and generation */
	__u32 rec_format; /* wc_rules' record format, WC_REC_* (its value size says) */
	__u32 rec_size; /* bytes of a wc_rules record */
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
	struct mmap_arr state; /* the writer's state (struct wst) */

	bool broken; /* maps and model disagree after a double failure: reload needed */
	/*
	 * An atomic batch is being made in a copy of the live generation (c->gen
	 * is the spare): no change may rebuild (that would build into the live
	 * half), and deleted ids wait in held until the copy is live.
	 */
	bool in_copy;
	__u32 *held;
	size_t nheld;
	bool read_only; /* opened with wcard_clf_opts.read_only: the maps are never written */

	/* Opened from pins: the map and program fds are ours to close. */
	bool own_fds;
	int own_fd[CLF_NMAPS + 2];
	/* Where it is pinned (opened from, or pinned by this handle): its state map goes there. */
	char *pin_dir;
	/*
	 * The filter's verdict map (WC_VERDICT_MAP, clf_verdict_fd), once looked
	 * up; closed by the handle when it opened the fd itself.
	 */
	bool verdict_known, verdict_owned;
	int verdict_fd;
};

#define ROOT(c) ((struct wc_root *)(c)->root.p)
#define WST(c) ((struct wst *)(c)->state.p) /* the header: always mapped */
/* Part p's entry for rule id: its absolute slot in wc_rules (WC_ID_NONE: not in p), its table. */
#define SLOT_OF(c, p, id) \
	((__u32 *)clf_arr_at(&(c)->state, ((size_t)(p)->st->slot_off + (id)) * 4, 4))
#define TABLE_OF(c, p, id) \
	((__u8 *)clf_arr_at(&(c)->state, (size_t)(p)->st->table_off * 4 + (id), 1))
#define CFG(c, g) ((struct wc_config *)(c)->config.p + (g))
#define ARR_AT(a, type, i, n) ((type *)clf_arr_at(&(a), (size_t)(i) * sizeof(type), (n) * sizeof(type)))
/* Record i of wc_rules: its header; clf_rec_get for the match (formats differ). */
#define RULE(c, i)                                                                                 \
	((struct wc_rule_hdr *)clf_arr_at(&(c)->rules, (size_t)(i) * (c)->rec_size, (c)->rec_size))
#define TABLE(c, i) ((struct wc_tm_table *)(c)->tables.p + (i))
#define SLOT(c, i) ARR_AT((c)->slots, struct wc_tm_slot, i, 1)
#define SLOTS(c, i, n) ARR_AT((c)->slots, struct wc_tm_slot, i, n) /* n in a row */
#define ORDER(c, i) ARR_AT((c)->order, struct wc_tm_order_buf, i, 1)

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
 * maps.c <- state.c <- reclaim.c <- build.c <- online.c <- apply.c; clf.c (a handle's
 * life) on the first three; run.c (frames, counters, stats) and pin.c on top.
 * pool.c stands alone.
 */

/* ---- maps.c: the maps of a classifier ----------------------------------- */

/* Check options. 0, or -EINVAL with err saying why. */
int clf_check_opts(const struct wcard_clf_opts *o, char *err, size_t errlen);
/* A new, empty classifier of o's layout (before its maps are attached). */
int clf_setup(struct wcard_clf *c, const struct wcard_clf_opts *o);
/*
 * Set the XDP filter's verdict knobs in obj before load, where it has them
 * (wcard_xdp.bpf.c): metadata where the kernel lets XDP programs write it; the
 * per-CPU copy (WC_VERDICT_MAP) where test runs may not return it: kernels that
 * refuse the helper, and the compat build (it runs where test runs take no
 * context, before 5.15). 0 or -errno.
 */
int clf_prepare_verdict(struct bpf_object *obj);
/* mmap the maps (fds in the order of clf_map_names); check sizes. */
int clf_attach(struct wcard_clf *c, const int *fds, int hits_fd, char *err, size_t errlen);
/* Maps found in obj, sized and loaded: attach them, write both generations' empty config. */
int clf_init(struct wcard_clf *c, struct bpf_object *obj, const struct wcard_clf_opts *o,
	     char *err, size_t errlen);
/* mmap ARRAY map fd (BPF_F_MMAPABLE) into a, whole or (lazy) chunk by chunk. 0 or -errno. */
int clf_arr_map(struct mmap_arr *a, int fd, bool lazy);
void clf_arr_unmap(struct mmap_arr *a);
/* Grace period: every BPF program running when it starts has finished when it returns. */
int clf_sync(struct wcard_clf *c);
/* -EROFS, with err saying so, if c was opened read-only; else 0. */
int clf_check_writable(const struct wcard_clf *c, char *err, size_t errlen);
/* Zero the hit counters of generation g's half: ids[0..n), or all of it. */
int clf_hits_zero(struct wcard_clf *c, unsigned int g, bool all, const __u32 *ids, size_t n);

/* ---- state.c: the writer's state, and the rule set read back from the maps ---- */

/* A new state for c's maps (every id free, nothing built), mmapped. 0 or -errno. */
int clf_state_create(struct wcard_clf *c, char *err, size_t errlen);
/* mmap the state map fd (c's maps attached): 0, or -EPROTO if it is not one for them. */
int clf_state_attach(struct wcard_clf *c, int fd);
/* Can the state be trusted for the live generation (made for these maps, not busy)? */
bool clf_state_ok(const struct wcard_clf *c);
/* A writer starts (busy) or has finished (the maps and the state agree) changing things. */
void clf_state_busy(struct wcard_clf *c, bool busy);
/* Point every part at its state. */
void clf_state_bind(struct wcard_clf *c);
/* Ring operations: push v (freed now), pop a free one. */
void ring_push(struct wcard_clf *c, struct wst_ring *r, __u32 v);
bool ring_pop(struct wcard_clf *c, struct wst_ring *r, __u32 *v);
/* Put v back at the free end (free at once), if there is room there. */
bool ring_unshift(struct wcard_clf *c, struct wst_ring *r, __u32 v);
/* Entry i (head <= i < tail) of ring r. */
__u32 *ring_at(struct wcard_clf *c, const struct wst_ring *r, __u64 i);
/* Empty ring r (a new generation: nothing in it is in use). */
void ring_reset(struct wst_ring *r);
/* Empty part sp's moved ring; caches of it (struct moved_idx) start again. */
void moved_reset(struct wst_part *sp);
/* Free p's cache of its moved ring (online.c). */
void clf_moved_free(struct clf_part *p);
/* c's turn for a change (the handle's mutex): clf_lock, then clf_unlock. */
void clf_lock(struct wcard_clf *c);
void clf_unlock(struct wcard_clf *c);
/*
 * Is c->rs what the maps hold? Valid, and no writer (another handle, another
 * process) changed the rules since it was read or made. clf_rs_fresh_now:
 * the rule set read or made now is.
 */
bool clf_rs_fresh(const struct wcard_clf *c);
void clf_rs_fresh_now(struct wcard_clf *c);
/* Rule id is in part p (its slot there), and its rule as the maps hold it. */
bool clf_id_in(const struct wcard_clf *c, const struct clf_part *p, __u32 id);
bool clf_id_live(const struct wcard_clf *c, __u32 id);
/* The rule model of rule id as part p's slot holds it (family: 0 if in every part). */
void clf_rule_read(const struct wcard_clf *c, __u32 id, struct wcard_rule *out, __u64 *rank);
/* The priority of live rule id, without decompiling it. */
__u32 clf_rule_prio(const struct wcard_clf *c, __u32 id);
/* Record idx of wc_rules in the generic form (struct wc_rule), whatever the map's format. */
void clf_rec_get(const struct wcard_clf *c, __u32 idx, struct wc_rule *out);
/*
 * Write compiled rule r as record idx, in the map's format: all of it, or with
 * match_only its match words alone (the header is the caller's to write).
 */
void clf_rec_put(const struct wcard_clf *c, __u32 idx, const struct wc_rule *r, bool match_only);
/* 0 if the maps' record format serves layout l, else -EPROTO with err saying why. */
int clf_rec_check(const struct wcard_clf *c, const struct wcard_layout *l, char *err,
		  size_t errlen);
/* The record format for a classifier of layout l, and its record size (wcard_common.h). */
__u32 clf_rec_format(const struct wcard_layout *l);
__u32 clf_rec_size(__u32 format);
/* The rule model of compiled rule r in layout l (the inverse of wcard_rule_compile). */
void clf_decompile(const struct wcard_layout *l, const struct wc_rule *r, struct wcard_rule *out);
/* Live rules of part p (NULL: of the classifier). */
size_t clf_part_nlive(const struct wcard_clf *c, const struct clf_part *p);
/* Grow the rule set's per-id arrays to hold n ids. 0 or -ENOMEM. */
int clf_set_reserve(struct wcard_clf *c, size_t n);
/* Rule id is (not) live in the rule set: the flag and the counts that go with it. */
void clf_set_live(struct wcard_clf *c, __u32 id, bool live);
/*
 * The rule set as the live generation holds it (c->rs), unless it is valid:
 * the rules lookups can reach, each once; a rule of both families a killed
 * writer left in one part is made whole (wc_root.pending). 0 or -errno
 * (-EPROTO: the maps hold no consistent rule set).
 */
int clf_rs_load(struct wcard_clf *c);

/* ---- reclaim.c: slots and ids of the live generation, reused after grace periods -- */

/* A grace period, then everything freed before it is free again. */
int clf_grace(struct wcard_clf *c);
/* A free rule slot of part p (relative to its region), marked dead. 0 or -ENOSPC. */
int clf_alloc_rule(struct wcard_clf *c, struct clf_part *p, __u32 *slot);
/* 2^lg consecutive bucket slots of part p; *first: the first (relative). 0 or -ENOSPC. */
int clf_alloc_region(struct wcard_clf *c, struct clf_part *p, unsigned int lg, __u32 *first);
/* A rule id to hand out (after a grace period, its counters zeroed). 0 or -ENOSPC. */
int clf_alloc_id(struct wcard_clf *c, __u32 *id);

/* ---- build.c: whole generations ----------------------------------------- */

/*
 * Rebuild the whole rule set into the spare generation and switch to it. 0 once
 * switched; an error means nothing switched (lookups still see the old set).
 */
int clf_republish(struct wcard_clf *c, char *err, size_t errlen);

/* ---- online.c: single changes ------------------------------------------------ */

/*
 * A new id and rank (prio, then insertion order) for rule r; nothing is
 * applied to the maps. 0, or -ENOSPC (ids ran out) with err set.
 */
int clf_rule_new(struct wcard_clf *c, const struct wcard_rule *r, __u32 *nid, __u64 *rank,
		 char *err, size_t errlen);
/* Online changes need maps and model in step: 0, or -EROFS / -EIO with err set. */
int clf_check_usable(const struct wcard_clf *c, char *err, size_t errlen);

/* ---- clf.c: a handle's life ---------------------------------------------- */

/* A new handle, nothing attached (fds -1). NULL without memory. */
struct wcard_clf *clf_alloc(void);
/* The classifier's own BPF object (wcard_clf_create), or NULL. */
struct bpf_object *clf_object(const struct wcard_clf *c);

#endif /* WCARD_CLF_INT_H */
