// SPDX-License-Identifier: MIT
/* online.c: single-rule changes, Tuple Merge made in the maps and the writer's state; libwcard. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "clf_int.h"

/*
 * How an update stays invisible to lookups until it is complete, and never
 * hides a rule that stays (docs/design.md section 5). Lookups run concurrently on
 * other CPUs and read the maps through the JIT, which keeps load order on x86;
 * user space writes them through mmap with release stores at every point where
 * a structure becomes reachable:
 *   - a new rule slot is written in full, marked dead, then made live, then
 *     linked (a bucket head or a predecessor's next pointer: one 4-byte store);
 *   - a rule is unlinked with one store; its slot keeps its data and is reused
 *     only after a grace period, so a lookup walking through it continues;
 *   - a table's bucket array is replaced whole (rehash) by one 8-byte store;
 *   - the table order lives in immutable buffers switched by one store; a
 *     buffer is rewritten only after a grace period since it was last live;
 *   - a table is published (its best rank in an order buffer) before a rule
 *     is added to it, and dropped only once it is empty;
 *   - a rule that moves between tables (a split) is added to its new table
 *     before it leaves the old one, and wc_config.moves is bumped in between:
 *     a lookup that saw it change retries.
 * A grace period is an ARRAY_OF_MAPS update (synchronize_rcu), ~8 ms here, so
 * it is only taken when a ring of order buffers wraps or an allocator runs dry.
 *
 * The Tuple Merge decisions (which table, when a bucket splits and into
 * what) are tm.c's rules (tm_relax_tuple, tm_split_tuple), taken here on what
 * the maps and the state hold: the tables' tuples and best ranks, and the one
 * bucket a change touches, read from its chain. Nothing needs every rule, so
 * a change costs the same in a new process as in the one that built the set.
 */

/* Deleted ids that wait for a grace period, at least (see wcard_clf_delete). */
#define ID_REUSE_BATCH 4096
/*
 * A table's best rank is found again after its best rule goes only up to this
 * many slots: 2048 buckets at load 1/4 (bulk builds of parts of at most
 * max_rules / 4 rules), 4096 at 1/2.
 */
#define BEST_SCAN_MAX 8192
/* Rules a bucket holds at most, as read (a split keeps buckets near the collision limit). */
#define BUCKET_MAX 4096

/* ---- publishing ----------------------------------------------------------- */

struct ord_ent {
	__u64 best;
	__u32 t;
};

static int ord_ent_cmp(const void *a, const void *b)
{
	const struct ord_ent *x = a, *y = b;

	if (x->best != y->best)
		return x->best < y->best ? -1 : 1;
	return x->t < y->t ? -1 : x->t > y->t;
}

/* Write the tables with their published best ranks into the next ring buffer. */
static int publish_order(struct wcard_clf *c, struct clf_part *p)
{
	struct wc_config *cfg = PCFG(c, p, c->gen);
	struct ord_ent e[WC_TM_MAX_TABLES];
	__u32 next = (cfg->order + 1) % WC_TM_ORDER_RING, n = 0, t, i;
	struct wc_tm_order_buf *ob;

	/* The buffer about to be rewritten may still be read: wait once per wrap. */
	if (p->st->since_gp >= WC_TM_ORDER_RING - 1) {
		int ret = clf_grace(c);

		if (ret)
			return ret;
	}
	for (t = 0; t < WC_TM_MAX_TABLES; t++) {
		if (!p->st->tused[t] || p->st->best[t] == WC_RANK_NONE)
			continue;
		e[n].best = p->st->best[t];
		e[n++].t = t;
	}
	qsort(e, n, sizeof(e[0]), ord_ent_cmp);
	ob = ORDER(c, OBASE(p, c->gen) + next);
	for (i = 0; i < n; i++) {
		ob->e[i].best = e[i].best;
		ob->e[i].table = e[i].t;
	}
	ob->n = n;
	__atomic_store_n(&cfg->order, next, __ATOMIC_RELEASE);
	p->st->since_gp++;
	return 0;
}

/* Table t's best rank is now best: published at once. */
static int set_best(struct wcard_clf *c, struct clf_part *p, __u32 t, __u64 best)
{
	if (p->st->best[t] == best)
		return 0;
	p->st->best[t] = best;
	return publish_order(c, p);
}

/* Masked bucket key of the rule in slot (generation-relative), for table tb. */
static void slot_key(struct wcard_clf *c, struct clf_part *p, __u32 slot,
		     const struct wc_tm_table *tb, struct wc_key *mk)
{
	struct wc_rule r;
	int w;

	clf_rec_get(c, RBASE(c, p, c->gen) + slot, &r);
	for (w = 0; w < WC_KEY_WORDS; w++)
		mk->w[w] = r.w[w].lo & tb->mask.w[w];
}

/* Absolute index of the live bucket head for mk in table t, or -1. */
static long find_bucket(struct wcard_clf *c, struct clf_part *p, __u32 t, const struct wc_key *mk,
			__u64 h)
{
	struct wc_tm_table *tb = TABLE(c, TBASE(p, c->gen) + t);
	__u32 first = tb->slots >> 8, size = 1u << (tb->slots & 31), tag = wc_hash_tag(h), i;

	for (i = 0; i < size; i++) {
		__u32 idx = first + (((__u32)h + i) & (size - 1));
		struct wc_tm_slot *s = SLOT(c, idx);
		struct wc_key k2;

		if (!s->tag)
			break;
		if (s->tag != tag || !s->head)
			continue;
		slot_key(c, p, s->head - 1, tb, &k2);
		if (!memcmp(&k2, mk, sizeof(k2)))
			return idx;
	}
	return -1;
}

/*
 * Put a bucket head into the slot array of 2^lg slots at first (absolute).
 * -EAGAIN when the probe run would reach WC_TM_MAX_PROBE.
 */
static int place_head(struct wcard_clf *c, __u32 first, unsigned int lg, __u64 h, __u32 head,
		      bool live_region, bool *was_tomb)
{
	__u32 size = 1u << lg, i, run, pos = (__u32)h;
	struct wc_tm_slot *s = NULL;

	for (i = 0; i < size; i++) {
		s = SLOT(c, first + ((pos + i) & (size - 1)));
		if (!s->tag || !s->head)
			break;
	}
	if (i >= size || i >= WC_TM_MAX_PROBE - 1)
		return -EAGAIN;
	/* The run this slot joins (if it was empty) must stay probe-able. */
	for (run = 1; run < WC_TM_MAX_PROBE &&
		      SLOT(c, first + ((pos + i + run) & (size - 1)))->tag; run++)
		;
	if (!s->tag && i + run >= WC_TM_MAX_PROBE - 1)
		return -EAGAIN;
	*was_tomb = s->tag != 0;
	if (!live_region) {
		s->tag = wc_hash_tag(h);
		s->head = head;
		return 0;
	}
	/* Tag first (head 0: lookups skip it), then the head goes live. */
	__atomic_store_n(&s->head, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&s->tag, wc_hash_tag(h), __ATOMIC_RELEASE);
	__atomic_store_n(&s->head, head, __ATOMIC_RELEASE);
	return 0;
}

/* Rebuild table t's bucket array with room for `want` heads; switch with one store. */
static int rehash(struct wcard_clf *c, struct clf_part *p, __u32 t, __u32 want)
{
	struct wc_tm_table *tb = TABLE(c, TBASE(p, c->gen) + t);
	__u32 ofirst = tb->slots >> 8, olg = tb->slots & 31, first, k;
	unsigned int lg = 3;
	bool tomb;
	int ret;

	while ((1u << lg) < 4 * want)
		lg++;
	for (;;) {
		if (lg > 30)
			return -ENOSPC;
		ret = clf_alloc_region(c, p, lg, &first);
		if (ret)
			return ret;
		first += SBASE(c, p, c->gen);
		memset(SLOTS(c, first, 1u << lg), 0, (size_t)sizeof(struct wc_tm_slot) << lg);
		for (k = 0, ret = 0; k < (1u << olg) && !ret; k++) {
			struct wc_tm_slot *s = SLOT(c, ofirst + k);
			struct wc_key mk;

			if (!s->tag || !s->head)
				continue;
			slot_key(c, p, s->head - 1, tb, &mk);
			ret = place_head(c, first, lg, wc_hash_masked(&mk, &tb->mask), s->head,
					 false, &tomb);
		}
		if (!ret)
			break;
		/* Never reachable: free again at once. */
		ring_push(c, &p->st->regions[lg], first - SBASE(c, p, c->gen));
		p->st->regions[lg].covered = p->st->regions[lg].tail;
		if (ret != -EAGAIN)
			return ret;
		lg++;
	}
	__atomic_store_n(&tb->slots, ((__u64)first << 8) | lg, __ATOMIC_RELEASE);
	ring_push(c, &p->st->regions[olg], ofirst - SBASE(c, p, c->gen));
	p->st->tslots[t] = 1u << lg;
	p->st->tombs[t] = 0;
	return 0;
}

/* ---- tables and rules, in the maps --------------------------------------- */

/* The state of one change: tables it dropped (their index is not reused by it). */
struct op {
	__u64 freed[WC_TM_MAX_TABLES / 64];
	bool wrote; /* the maps changed: a failure from here on needs a rebuild */
};

static int table_find(const struct clf_part *p, const __u8 *len)
{
	unsigned int t;

	for (t = 0; t < WC_TM_MAX_TABLES; t++)
		if (p->st->tused[t] && !memcmp(p->st->tlen[t], len, p->layout.nfields))
			return (int)t;
	return -1;
}

/* A new empty table of tuple len, not in any order buffer yet. -ENOSPC when all are taken. */
static int table_new(struct wcard_clf *c, struct clf_part *p, struct op *op, const __u8 *len,
		     __u32 *out)
{
	struct wst_part *sp = p->st;
	struct wc_tm_table *tb;
	__u32 t, first;
	int ret;

	for (t = 0; t < WC_TM_MAX_TABLES; t++)
		if (!sp->tused[t] && !(op->freed[t / 64] & (1ULL << (t % 64))))
			break;
	if (t == WC_TM_MAX_TABLES)
		return -ENOSPC;
	ret = clf_alloc_region(c, p, 3, &first);
	if (ret)
		return ret;
	op->wrote = true;
	first += SBASE(c, p, c->gen);
	memset(SLOTS(c, first, 8), 0, 8 * sizeof(struct wc_tm_slot));
	/* No lookup reads it until set_best puts it in an order buffer. */
	tb = TABLE(c, TBASE(p, c->gen) + t);
	tm_tuple_mask(&p->layout, len, &tb->mask);
	tb->best = WC_RANK_NONE;
	tb->nrules = 0;
	tb->max_bucket = 0;
	__atomic_store_n(&tb->slots, ((__u64)first << 8) | 3, __ATOMIC_RELEASE);
	memset(sp->tlen[t], 0, WC_MAX_FIELDS);
	memcpy(sp->tlen[t], len, p->layout.nfields);
	sp->tused[t] = 1;
	sp->tslots[t] = 8;
	sp->live_entries[t] = sp->tombs[t] = 0;
	sp->best[t] = WC_RANK_NONE;
	sp->ntables++;
	*out = t;
	return 0;
}

/* Table t is empty: out of the order, its slots freed after a grace period. */
static int table_drop(struct wcard_clf *c, struct clf_part *p, struct op *op, __u32 t)
{
	struct wc_tm_table *tb = TABLE(c, TBASE(p, c->gen) + t);
	int ret = set_best(c, p, t, WC_RANK_NONE);

	if (ret)
		return ret;
	p->st->tused[t] = 0;
	p->st->tslots[t] = 0;
	p->st->ntables--;
	op->freed[t / 64] |= 1ULL << (t % 64);
	ring_push(c, &p->st->regions[tb->slots & 31], (tb->slots >> 8) - SBASE(c, p, c->gen));
	return 0;
}

/* Add rule id (rule r, rank) to table t: published first if it improves the table's best. */
static int rule_add(struct wcard_clf *c, struct clf_part *p, struct op *op, __u32 t, __u32 id,
		    const struct wc_rule *compiled)
{
	struct wc_tm_table *tb = TABLE(c, TBASE(p, c->gen) + t);
	__u32 gbase = RBASE(c, p, c->gen), slot, head;
	__u64 rank = compiled->rank, h;
	struct wst_part *sp = p->st;
	struct wc_rule_hdr *r;
	struct wc_key mk;
	long e;
	int ret;

	ret = clf_alloc_rule(c, p, &slot);
	if (ret)
		return ret;
	op->wrote = true;
	if (rank < sp->best[t]) {
		ret = set_best(c, p, t, rank);
		if (ret)
			return ret;
	}
	/* Copied in while the slot is dead; the id goes live last. */
	r = RULE(c, gbase + slot);
	r->rank = compiled->rank;
	r->value = compiled->value;
	r->next = 0;
	clf_rec_put(c, gbase + slot, compiled, true);
	slot_key(c, p, slot, tb, &mk);
	h = wc_hash_masked(&mk, &tb->mask);
	e = find_bucket(c, p, t, &mk, h);
	if (e >= 0) {
		struct wc_tm_slot *s = SLOT(c, e);
		__u32 pred = 0, cur = s->head;

		/* The chain is in rank order: find the last rule that ranks before. */
		while (cur && RULE(c, gbase + cur - 1)->rank < rank) {
			pred = cur;
			cur = RULE(c, gbase + cur - 1)->next;
		}
		r->next = cur;
		__atomic_store_n(&r->id, id, __ATOMIC_RELEASE);
		if (pred)
			__atomic_store_n(&RULE(c, gbase + pred - 1)->next, slot + 1, __ATOMIC_RELEASE);
		else
			__atomic_store_n(&s->head, slot + 1, __ATOMIC_RELEASE);
	} else {
		bool tomb = false;
		__u32 lg = tb->slots & 31;

		__atomic_store_n(&r->id, id, __ATOMIC_RELEASE);
		head = slot + 1;
		/* Keep the load at most 1/2, tombstones included. */
		if ((sp->live_entries[t] + sp->tombs[t] + 1) * 2 > (1u << lg)) {
			ret = rehash(c, p, t, sp->live_entries[t] + 1);
			if (ret)
				return ret;
			lg = tb->slots & 31;
		}
		ret = place_head(c, tb->slots >> 8, lg, h, head, true, &tomb);
		if (ret == -EAGAIN) {
			ret = rehash(c, p, t, 2 * (sp->live_entries[t] + 1));
			if (!ret)
				ret = place_head(c, tb->slots >> 8, tb->slots & 31, h, head, true,
						 &tomb);
		}
		if (ret)
			return ret;
		sp->live_entries[t]++;
		if (tomb)
			sp->tombs[t]--;
	}
	*SLOT_OF(c, p, id) = gbase + slot;
	*TABLE_OF(c, p, id) = (__u8)t;
	tb->nrules++;
	return 0;
}

/* ---- the old copies of moved rules ---------------------------------------- */

static size_t mv_home(const struct moved_idx *m, __u32 id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 20) & (m->cap - 1);
}

/* Record that id's old copy waits at ring position pos. 0 or -ENOMEM. */
static int mv_put(struct moved_idx *m, __u32 id, __u64 pos)
{
	size_t k;

	if ((m->used + 1) * 2 > m->cap) {
		struct moved_idx n = { .cap = m->cap ? m->cap * 2 : 256 };
		size_t i;

		/* Removed entries go with the rehash; a table mostly removed stays its size. */
		while (n.cap / 4 > m->used + 1 && n.cap > 256)
			n.cap /= 2;
		n.e = calloc(n.cap, sizeof(*n.e));
		if (!n.e)
			return -ENOMEM;
		for (i = 0; i < m->cap; i++) {
			if (m->e[i].tag != 1)
				continue;
			for (k = mv_home(&n, m->e[i].id); n.e[k].tag; k = (k + 1) & (n.cap - 1))
				;
			n.e[k] = m->e[i];
			n.used++;
		}
		free(m->e);
		m->e = n.e;
		m->cap = n.cap;
		m->used = n.used;
	}
	for (k = mv_home(m, id); m->e[k].tag; k = (k + 1) & (m->cap - 1))
		;
	m->e[k] = (struct moved_ent){ .id = id, .tag = 1, .pos = pos };
	m->used++;
	return 0;
}

/* Bring p's cache up to its moved ring: the new entries, or all after a reset. 0 or -ENOMEM. */
static int mv_sync(struct wcard_clf *c, struct clf_part *p)
{
	struct wst_ring *rg = &p->st->moved;
	struct moved_idx *m = &p->mv;
	__u32 gbase = RBASE(c, p, c->gen);
	__u64 i;

	if (!m->built || m->epoch != p->st->moved_epoch || rg->tail < m->tail) {
		if (m->e)
			memset(m->e, 0, m->cap * sizeof(*m->e));
		m->used = 0;
		m->tail = 0;
		m->built = false;
	}
	for (i = m->tail > rg->head ? m->tail : rg->head; i < rg->tail; i++) {
		const struct wc_rule_hdr *r = RULE(c, gbase + *ring_at(c, rg, i));

		if ((r->id & WC_ID_MOVED) && mv_put(m, r->id & ~WC_ID_FLAGS, i)) {
			m->built = false;
			return -ENOMEM;
		}
	}
	m->tail = rg->tail;
	m->epoch = p->st->moved_epoch;
	m->built = true;
	return 0;
}

void clf_moved_free(struct clf_part *p)
{
	free(p->mv.e);
	memset(&p->mv, 0, sizeof(p->mv));
}

/* Kill id's old copy at ring position pos, if that is still what it is. */
static void mv_kill(struct wcard_clf *c, struct clf_part *p, __u32 id, __u64 pos)
{
	struct wst_ring *rg = &p->st->moved;
	struct wc_rule_hdr *r;

	if (pos < rg->head || pos >= rg->tail)
		return;
	r = RULE(c, RBASE(c, p, c->gen) + *ring_at(c, rg, pos));
	if (r->id == (id | WC_ID_MOVED)) {
		__atomic_store_n(&r->id, id | WC_ID_DEAD, __ATOMIC_RELEASE);
		p->st->moved_pending--;
	}
}

/*
 * The rule id is gone (or changes value): its old copies from moves, which
 * wait on the deferred list, must stop answering for it in the exact scan.
 * Found through the cache; a scan of the ring was a delete's main cost once
 * moves piled up (1M changes: half the time).
 */
static void kill_moved_copies(struct wcard_clf *c, struct clf_part *p, __u32 id)
{
	struct moved_idx *m = &p->mv;
	size_t k;
	__u64 i;

	if (!p->st->moved_pending)
		return;
	if (mv_sync(c, p)) {
		/* No memory for the cache: the whole ring, as it is. */
		for (i = p->st->moved.head; p->st->moved_pending && i < p->st->moved.tail; i++)
			mv_kill(c, p, id, i);
		return;
	}
	for (k = mv_home(m, id); m->e[k].tag; k = (k + 1) & (m->cap - 1)) {
		if (m->e[k].tag != 1 || m->e[k].id != id)
			continue;
		mv_kill(c, p, id, m->e[k].pos);
		m->e[k].tag = 2;
	}
}

/* Best rank of table t, from its bucket heads (each chain is in rank order). */
static __u64 scan_best(struct wcard_clf *c, struct clf_part *p, __u32 t)
{
	const struct wc_tm_table *tb = TABLE(c, TBASE(p, c->gen) + t);
	__u32 first = tb->slots >> 8, k, gbase = RBASE(c, p, c->gen);
	__u64 best = WC_RANK_NONE;

	for (k = 0; k < (1u << (tb->slots & 31)); k++) {
		const struct wc_tm_slot *s = SLOT(c, first + k);

		if (s->tag && s->head && RULE(c, gbase + s->head - 1)->rank < best)
			best = RULE(c, gbase + s->head - 1)->rank;
	}
	return best;
}

/*
 * Unlink rule id's copy from table t. A copy of a rule that now lives in
 * another table (a split moved it) stays that rule for the exact scan until
 * a grace period; a deleted one is dead. Then the table's best rank follows
 * (kept as a lower bound for a table too big to scan), and an empty table goes.
 */
static int rule_del(struct wcard_clf *c, struct clf_part *p, struct op *op, __u32 t, __u32 id)
{
	struct wc_tm_table *tb = TABLE(c, TBASE(p, c->gen) + t);
	__u32 gbase = RBASE(c, p, c->gen), pred = 0, cur;
	struct wc_config *cfg = PCFG(c, p, c->gen);
	bool moved = *TABLE_OF(c, p, id) != t;
	struct wst_part *sp = p->st;
	struct wc_tm_slot *s;
	struct wc_key mk;
	__u64 rank;
	long e;

	/* Any copy of the rule gives the bucket key: the rule is the same. */
	slot_key(c, p, *SLOT_OF(c, p, id) - gbase, tb, &mk);
	e = find_bucket(c, p, t, &mk, wc_hash_masked(&mk, &tb->mask));
	if (e < 0)
		return -EIO;
	s = SLOT(c, e);
	for (cur = s->head; cur && RULE(c, gbase + cur - 1)->id != id;
	     cur = RULE(c, gbase + cur - 1)->next)
		pred = cur;
	if (!cur)
		return -EIO;
	op->wrote = true;
	rank = RULE(c, gbase + cur - 1)->rank;
	/* Still in another table: a move. Lookups must retry. */
	if (moved)
		__atomic_store_n(&cfg->moves, cfg->moves + 1, __ATOMIC_RELEASE);
	if (pred) {
		__atomic_store_n(&RULE(c, gbase + pred - 1)->next, RULE(c, gbase + cur - 1)->next,
				 __ATOMIC_RELEASE);
	} else {
		__u32 next = RULE(c, gbase + cur - 1)->next;

		/* One store: the next rule becomes the head; 0 leaves a tombstone. */
		__atomic_store_n(&s->head, next, __ATOMIC_RELEASE);
		if (!next) {
			sp->live_entries[t]--;
			sp->tombs[t]++;
		}
	}
	if (moved) {
		__atomic_store_n(&RULE(c, gbase + cur - 1)->id, id | WC_ID_MOVED, __ATOMIC_RELEASE);
		ring_push(c, &sp->moved, cur - 1);
		sp->moved_pending++;
	} else {
		__atomic_store_n(&RULE(c, gbase + cur - 1)->id, id | WC_ID_DEAD, __ATOMIC_RELEASE);
		kill_moved_copies(c, p, id);
		*SLOT_OF(c, p, id) = WC_ID_NONE;
	}
	ring_push(c, &sp->rules, cur - 1);
	tb->nrules--;
	if (!tb->nrules)
		return table_drop(c, p, op, t);
	/* Its best rank rises only if this was the best rule, and only if it can be found cheaply. */
	if (rank == sp->best[t] && sp->tslots[t] <= BEST_SCAN_MAX)
		return set_best(c, p, t, scan_best(c, p, t));
	return 0;
}

/* ---- Tuple Merge decisions, on the maps ------------------------------------ */

/* The tuple of the rule in absolute slot idx of part p. */
static void slot_tuple(struct wcard_clf *c, struct clf_part *p, __u32 idx, __u8 *len)
{
	struct wcard_rule r;
	struct wc_rule rec;

	clf_rec_get(c, idx, &rec);
	clf_decompile(&p->layout, &rec, &r);
	tm_rule_tuple(&p->layout, &r, len);
}

/* The ids of rule id's bucket in table t, in rank order (at most max). Returns the count. */
static size_t bucket_ids(struct wcard_clf *c, struct clf_part *p, __u32 t, __u32 id, __u32 *out,
			 size_t max)
{
	struct wc_tm_table *tb = TABLE(c, TBASE(p, c->gen) + t);
	__u32 gbase = RBASE(c, p, c->gen), cur;
	struct wc_key mk;
	size_t n = 0;
	long e;

	slot_key(c, p, *SLOT_OF(c, p, id) - gbase, tb, &mk);
	e = find_bucket(c, p, t, &mk, wc_hash_masked(&mk, &tb->mask));
	if (e < 0)
		return 0;
	for (cur = SLOT(c, e)->head; cur && n < max; cur = RULE(c, gbase + cur - 1)->next)
		out[n++] = RULE(c, gbase + cur - 1)->id & ~WC_ID_FLAGS;
	return n;
}

/* Move rule id from table t to t2: added there first, then taken out of t. */
static int rule_move(struct wcard_clf *c, struct clf_part *p, struct op *op, __u32 t, __u32 t2,
		     __u32 id)
{
	struct wc_rule copy;
	int ret;

	clf_rec_get(c, *SLOT_OF(c, p, id), &copy);
	ret = rule_add(c, p, op, t2, id, &copy);
	return ret ? ret : rule_del(c, p, op, t, id);
}

/*
 * A bucket over the collision limit splits: its rules that fit a more
 * specific tuple (tm_split_tuple) move to that table, which may split in
 * turn; what stayed may still be over the limit and split another way.
 */
static int split_from(struct wcard_clf *c, struct clf_part *p, struct op *op, __u32 id)
{
	__u32 *stack = NULL, *ids = NULL, sn = 0;
	__u8(*lens)[WC_MAX_FIELDS] = NULL;
	int ret = 0;

	stack = malloc(BUCKET_MAX * sizeof(*stack));
	ids = malloc(BUCKET_MAX * sizeof(*ids));
	lens = malloc(BUCKET_MAX * sizeof(*lens));
	if (!stack || !ids || !lens) {
		ret = -ENOMEM;
		goto out;
	}
	stack[sn++] = id;
	while (sn && !ret) {
		__u32 rid = stack[--sn], t = *TABLE_OF(c, p, rid), t2, stay = 0;
		__u8 nl[WC_MAX_FIELDS];
		size_t n, i, k = 0;
		int found;

		if (!clf_id_in(c, p, rid))
			continue;
		n = bucket_ids(c, p, t, rid, ids, BUCKET_MAX);
		if (n <= c->collide)
			continue;
		for (i = 0; i < n; i++)
			slot_tuple(c, p, *SLOT_OF(c, p, ids[i]), lens[i]);
		if (!tm_split_tuple(&p->layout, p->st->tlen[t], (const __u8(*)[WC_MAX_FIELDS])lens,
				    n, nl))
			continue;
		found = table_find(p, nl);
		if (found >= 0) {
			t2 = (__u32)found;
		} else {
			ret = table_new(c, p, op, nl, &t2);
			if (ret == -ENOSPC) {
				ret = 0;
				continue;
			}
			if (ret)
				break;
		}
		/* Only the rules that fit the new tuple move; pinned ones stay. */
		for (i = 0; i < n && !ret; i++) {
			if (!tm_tuple_fits(p->layout.nfields, nl, lens[i])) {
				stay = ids[i];
				continue;
			}
			ret = rule_move(c, p, op, t, t2, ids[i]);
			if (!ret && sn + 1 < BUCKET_MAX)
				stack[sn++] = ids[i];
			k++;
		}
		if (!ret && !TABLE(c, TBASE(p, c->gen) + t2)->nrules)
			ret = table_drop(c, p, op, t2);
		if (!ret && k && k < n && sn + 1 < BUCKET_MAX)
			stack[sn++] = stay;
	}
out:
	free(stack);
	free(ids);
	free(lens);
	return ret;
}

/* The table rule (tuple len) goes into: the first that fits in lookup order, or a new one. */
static int pick_table(struct wcard_clf *c, struct clf_part *p, struct op *op, const __u8 *len,
		      __u32 *out)
{
	unsigned int nf = p->layout.nfields, t, i;
	struct wst_part *sp = p->st;
	__u8 tl[WC_MAX_FIELDS];
	int best = -1;

	if (c->npool) {
		/* Static pool: the first pool tuple the rule fits, its table made on first use. */
		for (i = 0; i < c->npool; i++) {
			if (!tm_tuple_fits(nf, c->pool[i], len))
				continue;
			best = table_find(p, c->pool[i]);
			if (best >= 0) {
				*out = (__u32)best;
				return 0;
			}
			return table_new(c, p, op, c->pool[i], out);
		}
		return -ENOENT;
	}
	for (t = 0; t < WC_TM_MAX_TABLES; t++) {
		if (!sp->tused[t] || !tm_tuple_fits(nf, sp->tlen[t], len))
			continue;
		if (best < 0 || sp->best[t] < sp->best[best])
			best = (int)t;
	}
	if (best >= 0) {
		*out = (__u32)best;
		return 0;
	}
	memset(tl, 0, sizeof(tl));
	tm_relax_tuple(&p->layout, len, tl);
	best = table_find(p, tl);
	if (best >= 0) {
		*out = (__u32)best;
		return 0;
	}
	return table_new(c, p, op, tl, out);
}

/* Insert rule r (id, rank) into part p's live generation. */
static int tm_part_insert(struct wcard_clf *c, struct clf_part *p, struct op *op, __u32 id,
			  __u64 rank, const struct wcard_rule *r)
{
	__u8 len[WC_MAX_FIELDS];
	struct wc_rule compiled;
	__u32 t;
	int ret;

	memset(len, 0, sizeof(len));
	tm_rule_tuple(&p->layout, r, len);
	ret = pick_table(c, p, op, len, &t);
	if (ret)
		return ret;
	wcard_rule_compile(&p->layout, r, rank, &compiled);
	ret = rule_add(c, p, op, t, id, &compiled);
	if (!ret && !c->npool)
		ret = split_from(c, p, op, id);
	return ret;
}

/*
 * Delete rule id from part p. A bucket over the limit that could not split
 * may become splittable when the rule that pinned it goes: split it then, so
 * that a bucket over the limit always means "cannot split".
 */
static int tm_part_delete(struct wcard_clf *c, struct clf_part *p, struct op *op, __u32 id)
{
	__u32 t = *TABLE_OF(c, p, id), ids[2], other = WC_ID_NONE;
	size_t n = 0;
	int ret;

	if (!c->npool) {
		__u32 *all = malloc(BUCKET_MAX * sizeof(*all));

		if (!all)
			return -ENOMEM;
		n = bucket_ids(c, p, t, id, all, BUCKET_MAX);
		if (n > (size_t)c->collide + 1) {
			ids[0] = all[0];
			ids[1] = all[1];
			other = ids[0] != id ? ids[0] : ids[1];
		}
		free(all);
	}
	ret = rule_del(c, p, op, t, id);
	if (!ret && other != WC_ID_NONE)
		ret = split_from(c, p, op, other);
	return ret;
}

/* ---- changes of the rule set ------------------------------------------------- */

/*
 * The rule set as the maps hold it, with rule id as a change leaves it (live:
 * r under rank, or gone), rebuilt whole into the spare generation (compacted:
 * every slot and region in use is reclaimed). For a part that changes only
 * this way, and after a change that failed half-way in the maps (half_done).
 * 0; or an error, with nothing switched: the maps as they were, and after a
 * half-done change the classifier broken (no more online changes until a load).
 */
static int rebuild_with(struct wcard_clf *c, __u32 id, bool live, const struct wcard_rule *r,
			__u64 rank, bool half_done, char *err, size_t errlen)
{
	int ret;

	c->rs.valid = false;
	ret = clf_rs_load(c) ?: clf_set_reserve(c, (size_t)id + 1);
	while (!ret && c->rs.set.n <= id) {
		struct wcard_rule blank;

		wcard_rule_any(&c->layout, &blank);
		blank.id = c->rs.set.n;
		ret = wcard_ruleset_add(&c->rs.set, &blank);
	}
	if (!ret) {
		clf_set_live(c, id, false);
		if (live) {
			c->rs.set.rules[id] = *r;
			c->rs.set.rules[id].id = id;
			c->rs.rank[id] = rank;
		}
		clf_set_live(c, id, live);
		ret = clf_republish(c, err, errlen);
	}
	if (ret) {
		/* The rule set read back is not what the live generation holds. */
		c->rs.valid = false;
		/* The live maps may hold half of this update: no more online updates. */
		c->broken = half_done;
		if (err && !*err)
			seterr(err, errlen, "rebuilding the rule set: %s", strerror(-ret));
	}
	return ret;
}

/*
 * Apply the change of rule id (now live: r under rank; or gone) to every part
 * that holds it: Tuple Merge parts in their live generation; a part on brute
 * force or the LPM path takes a rebuild of the whole set instead. If the maps
 * run out of room (fragmentation), compact: rebuild, change included. 0, or
 * an error with nothing changed (-ENOSPC: no table for it; -ENOENT: no table
 * of the static pool fits it) or the classifier broken.
 */
static int apply_parts(struct wcard_clf *c, __u32 id, bool now_live, const struct wcard_rule *r,
		       __u64 rank, char *err, size_t errlen)
{
	bool tables_full = false;
	struct clf_part *p;
	struct op op;
	int ret = 0;

	for_each_part(c, p) {
		if (clf_in_part(c, p, r) && p->algo != WC_ALGO_TM && p->algo != WC_ALGO_STM)
			return c->in_copy ? -EOPNOTSUPP :
					    rebuild_with(c, id, now_live, r, rank, false, err, errlen);
	}
	memset(&op, 0, sizeof(op));
	c->rs.valid = false;
	for_each_part(c, p) {
		if (!clf_in_part(c, p, r))
			continue;
		ret = now_live ? tm_part_insert(c, p, &op, id, rank, r) :
				 tm_part_delete(c, p, &op, id);
		if (ret)
			break;
	}
	if (!ret)
		return 0;
	/* In a copy nothing is rebuilt: the batch takes another way (apply.c). */
	if (c->in_copy)
		return ret;
	/*
	 * Nothing written, out of room: if every table is in use, that is the
	 * answer; else the slots or regions for a new table ran out (free regions
	 * are never merged), and compacting makes room.
	 */
	for_each_part(c, p)
		tables_full |= clf_in_part(c, p, r) && p->st->ntables >= WC_TM_MAX_TABLES;
	if (!op.wrote && ret == -ENOSPC && !tables_full)
		return rebuild_with(c, id, now_live, r, rank, false, err, errlen);
	if (!op.wrote) {
		if (ret == -ENOSPC || ret == -ENOENT)
			seterr(err, errlen, ret == -ENOSPC ?
					   "no room for another Tuple Merge table (%u)" :
					   "the rule fits no table of the static pool",
			       WC_TM_MAX_TABLES);
		return ret;
	}
	/* Out of slots or regions: compacted, the change included. Else as before. */
	if (ret == -ENOSPC)
		return rebuild_with(c, id, now_live, r, rank, true, err, errlen);
	rebuild_with(c, id, !now_live, r, rank, true, err, errlen);
	if (err && !*err)
		seterr(err, errlen, "applying the update to the maps: %s", strerror(-ret));
	return ret;
}

/*
 * apply_parts, inside busy (a writer killed meanwhile leaves the next one to
 * rebuild from the maps), and for a rule of both families with the change
 * noted in the root first: a writer killed between the parts leaves the rule
 * in one of them, and the next one finishes the change (clf_rs_load) instead
 * of taking the rule for one of that part's family.
 */
static int apply(struct wcard_clf *c, __u32 id, bool now_live, const struct wcard_rule *r,
		 __u64 rank, char *err, size_t errlen)
{
	bool both = c->nparts > 1 && !r->family;
	int ret;

	clf_state_busy(c, true);
	if (both)
		__atomic_store_n(&ROOT(c)->pending, (id + 1) | (now_live ? WC_PENDING_LIVE : 0),
				 __ATOMIC_RELEASE);
	ret = apply_parts(c, id, now_live, r, rank, err, errlen);
	if (both)
		__atomic_store_n(&ROOT(c)->pending, 0, __ATOMIC_RELEASE);
	if (!c->broken)
		clf_state_busy(c, false);
	return ret;
}

int clf_check_usable(const struct wcard_clf *c, char *err, size_t errlen)
{
	int ret = clf_check_writable(c, err, errlen);

	if (ret || !c->broken)
		return ret;
	seterr(err, errlen, "an earlier update failed half-way: reload the rule set first");
	return -EIO;
}

/* Rule counts as rule r comes (d = 1) or goes (-1). */
static void count(struct wcard_clf *c, const struct wcard_rule *r, int d)
{
	struct wst *w = WST(c);

	w->nlive += d;
	if (c->nparts > 1 && (r->family == 4 || r->family == 6))
		w->nfam[r->family == 6] += d;
}

int clf_rule_new(struct wcard_clf *c, const struct wcard_rule *r, __u32 *id, __u64 *rank,
		 char *err, size_t errlen)
{
	int ret = WST(c)->seq == ~0U ? -ENOSPC : clf_alloc_id(c, id);
	if (ret) {
		seterr(err, errlen, "rule ids exhausted: reload the rule set");
		return ret;
	}
	*rank = ((__u64)r->prio << 32) | WST(c)->seq++;
	if (r->prio > WST(c)->worst_prio)
		WST(c)->worst_prio = r->prio;
	return 0;
}

static int locked_insert(struct wcard_clf *c, const struct wcard_rule *r, __u32 *id, char *err,
			 size_t errlen)
{
	struct wcard_rule nr;
	struct clf_part *p;
	__u64 rank;
	__u32 nid;
	int ret;

	if (!c || !r)
		return -EINVAL;
	ret = clf_check_usable(c, err, errlen);
	if (ret)
		return ret;
	ret = wcard_rule_check(&c->layout, r, err, errlen);
	if (ret)
		return ret;
	for_each_part(c, p) {
		if (clf_in_part(c, p, r) && clf_part_nlive(c, p) >= c->max_rules) {
			seterr(err, errlen, "table full: %u %srules (--max-rules)", c->max_rules,
			       c->nparts == 1 ? "" : p->idx == WC_PART_V6 ? "IPv6 " : "IPv4 ");
			return -ENOSPC;
		}
	}
	ret = clf_rule_new(c, r, &nid, &rank, err, errlen);
	if (ret)
		return ret;
	nr = *r;
	nr.id = nid;
	if (c->nparts == 1)
		nr.family = 0;
	count(c, &nr, 1);
	ret = apply(c, nid, true, &nr, rank, err, errlen);
	if (ret) {
		count(c, &nr, -1);
		/* Not applied: the id waits for a grace period like any deleted one. */
		ring_push(c, &WST(c)->ids, nid);
		return ret;
	}
	if (id)
		*id = nid;
	return 0;
}

int wcard_clf_insert(struct wcard_clf *c, const struct wcard_rule *r, __u32 *id, char *err,
		     size_t errlen)
{
	int ret;

	if (!c)
		return -EINVAL;
	clf_lock(c);
	ret = locked_insert(c, r, id, err, errlen);
	clf_unlock(c);
	return ret;
}

/* A change of rule id: the classifier can change, and id is a live rule. */
static int check_change(struct wcard_clf *c, __u32 id, char *err, size_t errlen)
{
	int ret;

	if (!c)
		return -EINVAL;
	ret = clf_check_usable(c, err, errlen);
	if (ret)
		return ret;
	if (clf_id_live(c, id))
		return 0;
	seterr(err, errlen, "no rule with id %u", id);
	return -ENOENT;
}

/*
 * Deleted ids wait for a grace period before reuse, and a grace period costs
 * a writer ~1-8 ms (an ARRAY_OF_MAPS update, synchronize_rcu). Meanwhile new
 * ids are handed out, up to WC_ID_LIMIT (the hit counters' room, allocated
 * with the maps). So a delete takes one once the ids waiting pass half the
 * room still free, and at least max(4096, live rules). Ids handed out then
 * settle near (limit + 2 live) / 3, and a wait comes once per about
 * (limit - live) / 3 deletes (~85,000 at 5,000 live rules, max_rules
 * 131,072); a classifier with little room waits, as before, once per
 * max(4096, live rules).
 */
static __u64 id_reuse_batch(const struct wcard_clf *c)
{
	const struct wst *w = WST(c);
	__u64 limit = WC_ID_LIMIT((__u64)c->max_rules), batch = ID_REUSE_BATCH;

	if (w->nlive > batch)
		batch = w->nlive;
	if (w->nids < limit && (limit - w->nids) / 2 > batch)
		batch = (limit - w->nids) / 2;
	return batch;
}

static int locked_delete(struct wcard_clf *c, __u32 id, char *err, size_t errlen)
{
	struct wst *w = WST(c);
	struct wcard_rule r;
	__u64 rank;
	int ret;

	ret = check_change(c, id, err, errlen);
	if (ret)
		return ret;
	clf_rule_read(c, id, &r, &rank);
	count(c, &r, -1);
	ret = apply(c, id, false, &r, rank, err, errlen);
	if (ret) {
		count(c, &r, 1);
		return ret;
	}
	if (c->in_copy) {
		/* The live generation still reports it: reusable once the copy is live. */
		c->held[c->nheld++] = id;
		return 0;
	}
	ring_push(c, &w->ids, id);
	if (w->ids.tail - w->ids.covered > id_reuse_batch(c))
		ret = clf_grace(c);
	return ret;
}

int wcard_clf_delete(struct wcard_clf *c, __u32 id, char *err, size_t errlen)
{
	int ret;

	if (!c)
		return -EINVAL;
	clf_lock(c);
	ret = locked_delete(c, id, err, errlen);
	clf_unlock(c);
	return ret;
}

static int locked_update(struct wcard_clf *c, __u32 id, __u32 prio, __u64 value, __u32 *new_id,
			 char *err, size_t errlen)
{
	struct wcard_rule r;
	struct clf_part *p;
	bool lpm = false;
	__u64 rank;
	__u32 nid;
	int ret;

	ret = check_change(c, id, err, errlen);
	if (ret)
		return ret;
	clf_rule_read(c, id, &r, &rank);
	for_each_part(c, p)
		lpm |= clf_id_in(c, p, id) && p->algo == WC_ALGO_LPM;
	if (prio == r.prio && lpm) {
		/* The LPM fast path reads values from its trie: rebuild the spare generation. */
		r.value = value;
		clf_state_busy(c, true);
		ret = rebuild_with(c, id, true, &r, rank, false, err, errlen);
		if (!c->broken)
			clf_state_busy(c, false);
		if (!ret && new_id)
			*new_id = id;
		return ret;
	}
	if (prio == r.prio) {
		/* Value only: one 8-byte store in the rule's slot of each part. */
		c->rs.valid = false;
		WST(c)->changes++; /* other handles' copies of the rules are stale */
		for_each_part(c, p) {
			if (!clf_id_in(c, p, id))
				continue;
			kill_moved_copies(c, p, id);
			__atomic_store_n(&RULE(c, *SLOT_OF(c, p, id))->value, value, __ATOMIC_RELEASE);
		}
		if (new_id)
			*new_id = id;
		return 0;
	}
	/* A new priority is a new rank: insert the changed rule, then drop the old one. */
	r.prio = prio;
	r.value = value;
	ret = wcard_clf_insert(c, &r, &nid, err, errlen);
	if (ret)
		return ret;
	if (new_id)
		*new_id = nid;
	return wcard_clf_delete(c, id, err, errlen);
}

int wcard_clf_update(struct wcard_clf *c, __u32 id, __u32 prio, __u64 value, __u32 *new_id,
		     char *err, size_t errlen)
{
	int ret;

	if (!c)
		return -EINVAL;
	clf_lock(c);
	ret = locked_update(c, id, prio, value, new_id, err, errlen);
	clf_unlock(c);
	return ret;
}
