/* tm.h: the Tuple Merge builder's in-memory model (tables, buckets, splits); libwcard internal. */
#ifndef WCARD_TM_H
#define WCARD_TM_H

#include <wcard/wcard.h>

/*
 * Tuple Merge (Daly, Torng et al., ToN 2019), the user-space half: which table
 * each rule lives in. The model knows nothing about BPF maps; every change it
 * makes is reported as a list of events that the publisher (clf.c) replays into
 * the maps, in order. The order is chosen so that replaying it one event at a
 * time never hides a rule from a concurrent lookup:
 *   - a table is announced (TABLE_NEW) before any rule is added to it;
 *   - a rule moving between tables is added to the new one (RULE_ADD) before it
 *     is removed from the old one (RULE_DEL);
 *   - a table is dropped (TABLE_DEL) only once it is empty.
 *
 * Definitions (docs/design.md section 3):
 *   tuple of a rule   per field, the number of leading bits it fixes: PREFIX its
 *                     length; EXACT/MASK all bits (width * 8) when the mask is all
 *                     ones, else 0; RANGE all bits when lo == hi, else 0.
 *   table             a tuple; a rule fits when table.len[f] <= rule.len[f] for all
 *                     f. Its hash key is the rule's value cut to the table's
 *                     lengths (wc_tm_mtable.mask, in key words).
 *   bucket            the rules of a table with equal hash keys.
 */

#ifndef WC_TM_MAX_TABLES /* wcard_common.h: the BPF side's bound, the same */
#define WC_TM_MAX_TABLES 256
#endif
#define TM_DEFAULT_COLLIDE 10

enum tm_ev_op {
	TM_TABLE_NEW = 1, /* table: now exists (tuple/mask readable from the model) */
	TM_RULE_ADD, /* rule: added to table */
	TM_RULE_DEL, /* rule: removed from table */
	TM_TABLE_DEL, /* table: empty, gone; its index is reused by a later operation only */
	TM_TABLE_BEST, /* table: its best (lowest) rank changed */
};

struct tm_event {
	enum tm_ev_op op;
	__u32 table;
	__u32 rule;
	/*
	 * TABLE_BEST: the table's best rank from this event on (WC_RANK_NONE: empty).
	 * The model's wc_tm_mtable.best is only its value after the whole operation;
	 * a replay must publish this one, or a split in the same operation can
	 * briefly hide a rule. RULE_ADD/RULE_DEL: the rule's rank. Else 0.
	 */
	__u64 rank;
};

struct tm_log {
	struct tm_event *ev;
	size_t n, cap;
};

/* A table of the model (struct wc_tm_table is the BPF map value, wcard_common.h). */
struct tm_mtable {
	bool used;
	__u8 len[WC_MAX_FIELDS]; /* the tuple, bits per field */
	struct wc_key mask; /* the tuple as key-word masks */
	__u64 best; /* lowest rank of its rules, WC_RANK_NONE when empty */
	__u32 nrules;
	__u32 max_bucket; /* rules in its largest bucket */
	/* private to tm.c: its buckets */
	void *priv;
};

struct tm_rule {
	bool used;
	__u64 rank;
	__u32 table;
	__u8 len[WC_MAX_FIELDS];
	struct wcard_rule r;
};

/* Static Tuple Merge: the table pool given by the user. */
struct tm_pool {
	unsigned int n;
	__u8 (*len)[WC_MAX_FIELDS]; /* n tuples, tried in order */
};

struct tm_model {
	const struct wcard_layout *layout;
	unsigned int collide; /* c: split a bucket holding more than c rules */
	bool is_static; /* tables only from the pool, never split */
	struct tm_mtable tables[WC_TM_MAX_TABLES];
	unsigned int ntables; /* tables in use */
	/* Splits not made because every table was in use (a bucket may stay over c). */
	unsigned int splits_skipped;
	struct tm_rule *rules; /* indexed by rule id */
	size_t rules_cap;
	size_t nrules;
	struct tm_pool pool;
};

/* collide 0: TM_DEFAULT_COLLIDE. pool NULL: dynamic Tuple Merge. */
int tm_init(struct tm_model *tm, const struct wcard_layout *l, unsigned int collide,
	       const struct tm_pool *pool);
void tm_free(struct tm_model *tm);

/*
 * Insert rule r under id (ids are the caller's, any u32 < 2^24, unique among
 * live rules) with rank. Events are appended to log (may be NULL).
 * -EEXIST: id in use. -ENOSPC: a new table was needed beyond WC_TM_MAX_TABLES
 * (nothing changed). -ENOENT: static pool and no pool table fits the rule.
 */
int tm_insert(struct tm_model *tm, __u32 id, __u64 rank, const struct wcard_rule *r,
		 struct tm_log *log);
/* Remove rule id. -ENOENT if absent. */
int tm_delete(struct tm_model *tm, __u32 id, struct tm_log *log);

/* The tuple of rule r in layout l. */
void tm_rule_tuple(const struct wcard_layout *l, const struct wcard_rule *r,
		      __u8 len[WC_MAX_FIELDS]);
/* The rule's value in key words (PREFIX/EXACT/MASK value, RANGE lo), unmasked. */
void tm_rule_key(const struct wcard_layout *l, const struct wcard_rule *r, struct wc_key *k);
/* Key-word masks of tuple len. */
void tm_tuple_mask(const struct wcard_layout *l, const __u8 len[WC_MAX_FIELDS],
		      struct wc_key *mask);

/* Does a rule of tuple rule fit a table of tuple table (table.len[f] <= rule.len[f])? */
bool tm_tuple_fits(unsigned int nfields, const __u8 *table, const __u8 *rule);
/* The tuple of a new table for a rule of tuple rl (relaxed: docs/design.md section 3). */
void tm_relax_tuple(const struct wcard_layout *l, const __u8 *rl, __u8 *out);
/*
 * The tuple a colliding bucket of a table of tuple tlen splits into, from the
 * tuples of its n rules (docs/design.md section 3). First choice: from the
 * per-field minimum over its rules, on the field furthest above the table's
 * length, move halfway up; every rule of the bucket fits that and moves.
 * When the minimum is the table's own tuple on every field (a rule that fits
 * nothing more specific, such as a /0 catch-all, sits in the bucket), split
 * on the field where the rules' lengths spread the most instead, at the
 * middle of the spread: the rules that fit move, the others stay (the
 * model also moves every other rule of the table that fits). PREFIX
 * fields move by half the gap rounded up (a gap of one still moves); other
 * fields only know 0 and all bits. false when the rules differ in no tuple
 * field: the bucket cannot split.
 */
bool tm_split_tuple(const struct wcard_layout *l, const __u8 *tlen,
		    const __u8 (*lens)[WC_MAX_FIELDS], size_t n, __u8 *nl);

/*
 * Merge tables into broader ones: each table whose rules all fit another table
 * (its tuple at most as long on every field) without a bucket going over the
 * limit moves there and goes, a rule at a time, added before it is removed
 * (events in log, may be NULL). Bulk builds call it on their model; it never
 * raises the tables a lookup probes. Returns the number of tables merged, or
 * -errno (the model stays whole: every rule in one table it fits). Static
 * pools: 0, nothing changes.
 */
int tm_merge(struct tm_model *tm, struct tm_log *log);

/* Table ids in lookup order: by best rank, then id. Returns the count. */
unsigned int tm_order(const struct tm_model *tm, __u32 *out);

/*
 * Lookup on the model, the way the BPF side does it: tables in order, probe the
 * bucket of the masked key, check its rules fully, stop when no remaining table
 * can beat the best so far. Returns the rule id or -1; *probed gets the number
 * of tables probed (may be NULL).
 */
long tm_lookup(const struct tm_model *tm, const struct wc_key *k, unsigned int *probed);

/*
 * Rules of table t's bucket for masked key mk (mk = key & table mask), in rank
 * order, into out (at most max). Returns the bucket size.
 */
unsigned int tm_bucket(const struct tm_model *tm, __u32 t, const struct wc_key *mk, __u32 *out,
			  unsigned int max);

void tm_log_reset(struct tm_log *log);
void tm_log_free(struct tm_log *log);

#endif /* WCARD_TM_H */
