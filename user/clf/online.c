// SPDX-License-Identifier: MIT
/* online.c: single-rule changes, replayed from the Tuple Merge model into the maps; libwcard. */
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
 *   - a rule that moves between tables (a split) is added to its new table
 *     before it leaves the old one, and wc_config.moves is bumped in between:
 *     a lookup that saw it change retries.
 * A grace period is an ARRAY_OF_MAPS update (synchronize_rcu), ~8 ms here, so
 * it is only taken when a ring of order buffers wraps or an allocator runs dry.
 */

/* Deleted ids that wait for a grace period, at least (see wcard_clf_delete). */
#define ID_REUSE_BATCH 4096

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
	if (p->on.since_gp >= WC_TM_ORDER_RING - 1) {
		int ret = clf_grace(c);

		if (ret)
			return ret;
	}
	for (t = 0; t < WC_TM_MAX_TABLES; t++) {
		if (p->on.pub_best[t] == WC_RANK_NONE)
			continue;
		e[n].best = p->on.pub_best[t];
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
	p->on.since_gp++;
	p->ntables = n;
	return 0;
}

/* Masked bucket key of the rule in slot (generation-relative), for table tb. */
static void slot_key(struct wcard_clf *c, struct clf_part *p, __u32 slot,
		     const struct wc_tm_table *tb, struct wc_key *mk)
{
	const struct wc_rule *r = RULE(c, RBASE(c, p, c->gen) + slot);
	int w;

	for (w = 0; w < WC_KEY_WORDS; w++)
		mk->w[w] = r->w[w].lo & tb->mask.w[w];
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
		memset(SLOT(c, first), 0, (size_t)sizeof(struct wc_tm_slot) << lg);
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
		u32_push(&p->on.region_free[lg], first - SBASE(c, p, c->gen));
		if (ret != -EAGAIN)
			return ret;
		lg++;
	}
	__atomic_store_n(&tb->slots, ((__u64)first << 8) | lg, __ATOMIC_RELEASE);
	ret = u32_push(&p->on.region_deferred[olg], ofirst - SBASE(c, p, c->gen));
	p->tslots[t] = 1u << lg;
	p->on.tombs[t] = 0;
	return ret;
}

static int ev_table_new(struct wcard_clf *c, struct clf_part *p, __u32 t)
{
	struct wc_tm_table *tb = TABLE(c, TBASE(p, c->gen) + t);
	__u32 first;
	int ret = clf_alloc_region(c, p, 3, &first);

	if (ret)
		return ret;
	first += SBASE(c, p, c->gen);
	memset(SLOT(c, first), 0, 8 * sizeof(struct wc_tm_slot));
	/* Not in any order buffer yet: no lookup reads it until TABLE_BEST. */
	memcpy(&tb->mask, &p->tm->tables[t].mask, sizeof(tb->mask));
	tb->best = WC_RANK_NONE;
	tb->nrules = 0;
	tb->max_bucket = 0;
	__atomic_store_n(&tb->slots, ((__u64)first << 8) | 3, __ATOMIC_RELEASE);
	p->tslots[t] = 8;
	p->on.live_entries[t] = p->on.tombs[t] = 0;
	p->on.pub_best[t] = WC_RANK_NONE;
	return 0;
}

static int ev_table_del(struct wcard_clf *c, struct clf_part *p, __u32 t)
{
	struct wc_tm_table *tb = TABLE(c, TBASE(p, c->gen) + t);
	__u32 first = tb->slots >> 8;

	p->on.pub_best[t] = WC_RANK_NONE;
	p->tslots[t] = 0;
	return u32_push(&p->on.region_deferred[tb->slots & 31], first - SBASE(c, p, c->gen));
}

static int ev_rule_add(struct wcard_clf *c, struct clf_part *p, __u32 t, __u32 id, __u64 rank)
{
	struct wc_tm_table *tb = TABLE(c, TBASE(p, c->gen) + t);
	__u32 gbase = RBASE(c, p, c->gen), slot, head;
	struct wc_rule *r, tmp;
	struct wc_key mk;
	long e;
	__u64 h;
	int ret;

	ret = clf_alloc_rule(c, p, &slot);
	if (ret)
		return ret;
	/* Compiled aside, copied in while the slot is dead; the id goes live last. */
	r = RULE(c, gbase + slot);
	wcard_rule_compile(&p->layout, &c->rs.set.rules[id], rank, &tmp);
	r->rank = tmp.rank;
	r->value = tmp.value;
	r->next = 0;
	memcpy(r->w, tmp.w, sizeof(r->w));
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
		if (pred) {
			__atomic_store_n(&RULE(c, gbase + pred - 1)->next, slot + 1, __ATOMIC_RELEASE);
		} else {
			__atomic_store_n(&s->head, slot + 1, __ATOMIC_RELEASE);
		}
	} else {
		bool tomb = false;
		__u32 lg = tb->slots & 31;

		r->next = 0;
		__atomic_store_n(&r->id, id, __ATOMIC_RELEASE);
		head = slot + 1;
		/* Keep the load at most 1/2, tombstones included. */
		if ((p->on.live_entries[t] + p->on.tombs[t] + 1) * 2 > (1u << lg)) {
			ret = rehash(c, p, t, p->on.live_entries[t] + 1);
			if (ret)
				return ret;
			lg = tb->slots & 31;
		}
		ret = place_head(c, tb->slots >> 8, lg, h, head, true, &tomb);
		if (ret == -EAGAIN) {
			ret = rehash(c, p, t, 2 * (p->on.live_entries[t] + 1));
			if (!ret)
				ret = place_head(c, tb->slots >> 8, tb->slots & 31, h, head, true,
						 &tomb);
		}
		if (ret)
			return ret;
		p->on.live_entries[t]++;
		if (tomb)
			p->on.tombs[t]--;
	}
	p->slot_of[id] = gbase + slot;
	tb->nrules++;
	return 0;
}

/*
 * The rule id is gone (or changes value): its old copies from moves, which
 * wait on the deferred list, must stop answering for it in the exact scan.
 */
static void kill_moved_copies(struct wcard_clf *c, struct clf_part *p, __u32 id)
{
	__u32 gbase = RBASE(c, p, c->gen);
	size_t i;

	if (!p->on.moved_pending)
		return;
	for (i = 0; i < p->on.rule_deferred.n; i++) {
		struct wc_rule *r = RULE(c, gbase + p->on.rule_deferred.v[i]);

		if (r->id == (id | WC_ID_MOVED)) {
			__atomic_store_n(&r->id, id | WC_ID_DEAD, __ATOMIC_RELEASE);
			p->on.moved_pending--;
		}
	}
}

static int ev_rule_del(struct wcard_clf *c, struct clf_part *p, __u32 t, __u32 id)
{
	struct wc_tm_table *tb = TABLE(c, TBASE(p, c->gen) + t);
	__u32 gbase = RBASE(c, p, c->gen), pred = 0, cur;
	const struct tm_rule *mr = &p->tm->rules[id];
	struct wc_config *cfg = PCFG(c, p, c->gen);
	struct wc_tm_slot *s;
	struct wc_key mk;
	bool moved;
	long e;

	/* Any slot of the rule gives the bucket key: the rule is the same. */
	tm_rule_key(&p->layout, &c->rs.set.rules[id], &mk);
	for (cur = 0; cur < WC_KEY_WORDS; cur++)
		mk.w[cur] &= tb->mask.w[cur];
	e = find_bucket(c, p, t, &mk, wc_hash_masked(&mk, &tb->mask));
	if (e < 0)
		return -EIO;
	s = SLOT(c, e);
	for (cur = s->head; cur && RULE(c, gbase + cur - 1)->id != id;
	     cur = RULE(c, gbase + cur - 1)->next)
		pred = cur;
	if (!cur)
		return -EIO;
	/* Still in the model under another table: a move. Lookups must retry. */
	moved = mr->used && mr->table != t;
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
			p->on.live_entries[t]--;
			p->on.tombs[t]++;
		}
	}
	/*
	 * A moved rule's old copy stays that rule for the exact scan (which may
	 * have passed the new copy's slot already); a deleted one is dead.
	 */
	if (moved) {
		__atomic_store_n(&RULE(c, gbase + cur - 1)->id, id | WC_ID_MOVED, __ATOMIC_RELEASE);
		p->on.moved_pending++;
	} else {
		__atomic_store_n(&RULE(c, gbase + cur - 1)->id, id | WC_ID_DEAD, __ATOMIC_RELEASE);
		kill_moved_copies(c, p, id);
	}
	tb->nrules--;
	return u32_push(&p->on.rule_deferred, cur - 1);
}

/* Replay the model's events of one operation into the live generation. */
static int replay(struct wcard_clf *c, struct clf_part *p)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < p->on.log.n && !ret; i++) {
		const struct tm_event *ev = &p->on.log.ev[i];

		switch (ev->op) {
		case TM_TABLE_NEW:
			ret = ev_table_new(c, p, ev->table);
			break;
		case TM_TABLE_BEST:
			p->on.pub_best[ev->table] = ev->rank;
			ret = publish_order(c, p);
			break;
		case TM_RULE_ADD:
			ret = ev_rule_add(c, p, ev->table, ev->rule, ev->rank);
			break;
		case TM_RULE_DEL:
			ret = ev_rule_del(c, p, ev->table, ev->rule);
			break;
		case TM_TABLE_DEL:
			ret = ev_table_del(c, p, ev->table);
			break;
		}
	}
	return ret;
}

/*
 * Undo a change that failed half-way: rule id back as it was in the rule set
 * (live again, or gone), and every part rebuilt from it, so that models and
 * maps agree again. Returns ret, the failure, with err set.
 */
static int undo(struct wcard_clf *c, __u32 id, bool now_live, int ret, char *err, size_t errlen)
{
	int r2;

	clf_set_live(c, id, !now_live);
	r2 = clf_republish(c, NULL, 0);
	if (r2) {
		/* The live maps may hold half of this update: no more online updates. */
		c->broken = true;
		seterr(err, errlen,
		       "applying the update failed (%s) and so did the rebuild (%s): reload "
		       "the rule set",
		       strerror(-ret), strerror(-r2));
		return r2;
	}
	if (err && !*err)
		seterr(err, errlen, "applying the update to the maps: %s", strerror(-ret));
	return ret;
}

/*
 * Apply the change of rule id, which the rule set already shows (now live, or
 * gone), to every part that holds the rule: one model operation per part,
 * replayed into its live generation. A part without a model (brute force keeps
 * its rules sorted, the LPM path its trie) takes a rebuild of the spare
 * generation instead, of every part at once. If the maps run out of room
 * (fragmentation), compact: rebuild, change included. On any other failure the
 * change is undone. 0, or an error with the rule set as before the change.
 */
static int apply_parts(struct wcard_clf *c, __u32 id, bool now_live, char *err,
		       size_t errlen)
{
	const struct wcard_rule *r = &c->rs.set.rules[id];
	unsigned int applied = 0;
	struct clf_part *p;
	int ret = 0;

	for_each_part(c, p) {
		if (clf_in_part(c, p, r) && !p->tm) {
			ret = clf_republish(c, err, errlen);
			/* Nothing switched: nothing to undo. */
			if (ret)
				clf_set_live(c, id, !now_live);
			return ret;
		}
	}
	for_each_part(c, p) {
		if (!clf_in_part(c, p, r))
			continue;
		tm_log_reset(&p->on.log);
		ret = now_live ? tm_insert(p->tm, id, c->rs.rank[id], r, &p->on.log) :
				 tm_delete(p->tm, id, &p->on.log);
		if (ret) {
			/* The model is as it was: only parts done before need undoing. */
			if (ret == -ENOSPC || ret == -ENOENT)
				seterr(err, errlen, ret == -ENOSPC ?
						   "no room for another Tuple Merge table (%u)" :
						   "the rule fits no table of the static pool",
				       WC_TM_MAX_TABLES);
			if (!applied) {
				clf_set_live(c, id, !now_live);
				return ret;
			}
			return undo(c, id, now_live, ret, err, errlen);
		}
		applied++;
		ret = replay(c, p);
		if (ret == -ENOSPC) {
			/* Compacted, every part with the change: done. */
			ret = clf_republish(c, err, errlen);
			if (!ret)
				return 0;
		}
		if (ret)
			return undo(c, id, now_live, ret, err, errlen);
	}
	return 0;
}

/*
 * apply_parts, for a rule of both families with the change noted in the root
 * first: a writer killed between the parts leaves the rule in one of them,
 * and the next one finishes the change (pin.c) instead of taking the rule for
 * one of that part's family.
 */
static int apply(struct wcard_clf *c, __u32 id, bool now_live, char *err, size_t errlen)
{
	bool both = c->nparts > 1 && !c->rs.set.rules[id].family;
	int ret;

	if (both)
		__atomic_store_n(&ROOT(c)->pending, (id + 1) | (now_live ? WC_PENDING_LIVE : 0),
				 __ATOMIC_RELEASE);
	ret = apply_parts(c, id, now_live, err, errlen);
	if (both)
		__atomic_store_n(&ROOT(c)->pending, 0, __ATOMIC_RELEASE);
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

int clf_rule_new(struct wcard_clf *c, const struct wcard_rule *r, __u32 *id, char *err,
		 size_t errlen)
{
	struct clf_part *p;
	__u32 nid;
	int ret;

	for_each_part(c, p) {
		if (clf_in_part(c, p, r) && clf_part_nlive(c, p) >= c->max_rules) {
			seterr(err, errlen, "table full: %u %srules (--max-rules)", c->max_rules,
			       c->nparts == 1 ? "" : p->idx == WC_PART_V6 ? "IPv6 " : "IPv4 ");
			return -ENOSPC;
		}
	}
	/* Ids stay below WC_ID_LIMIT, where the hit counters are: reclaim first. */
	if (!c->rs.id_free.n && c->rs.set.n >= WC_ID_LIMIT(c->max_rules) && c->rs.id_deferred.n) {
		ret = clf_grace(c);
		if (ret)
			return ret;
	}
	if (c->rs.seq == ~0U || (!c->rs.id_free.n && c->rs.set.n >= WC_ID_LIMIT(c->max_rules))) {
		seterr(err, errlen, "rule ids exhausted: reload the rule set");
		return -ENOSPC;
	}
	/*
	 * A deleted rule's id, once a grace period has passed (no lookup can still
	 * report it for the old rule), else a new one: memory stays bounded by the
	 * largest rule set, not by the number of inserts.
	 */
	if (!u32_pop(&c->rs.id_free, &nid)) {
		nid = c->rs.set.n;
		ret = clf_set_reserve(c, nid + 1);
		if (!ret)
			ret = wcard_ruleset_add(&c->rs.set, r);
		if (ret)
			return ret;
	} else {
		clf_undo_save(c, nid);
		c->rs.set.rules[nid] = *r;
	}
	c->rs.set.rules[nid].id = nid;
	c->rs.rank[nid] = ((__u64)r->prio << 32) | c->rs.seq++;
	clf_set_live(c, nid, true);
	*id = nid;
	return 0;
}

int wcard_clf_insert(struct wcard_clf *c, const struct wcard_rule *r, __u32 *id, char *err,
		     size_t errlen)
{
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
	ret = clf_rule_new(c, r, &nid, err, errlen);
	if (ret)
		return ret;
	ret = apply(c, nid, true, err, errlen);
	if (ret) {
		/* Not applied: the id waits for a grace period like any deleted one. */
		u32_push(&c->rs.id_deferred, nid);
		return ret;
	}
	if (id)
		*id = nid;
	return 0;
}

/* 0 if id names a live rule, else -ENOENT with a message. */
static int check_id(const struct wcard_clf *c, __u32 id, char *err, size_t errlen)
{
	if (id < c->rs.set.n && c->rs.live[id])
		return 0;
	seterr(err, errlen, "no rule with id %u", id);
	return -ENOENT;
}

/* A change of rule id: the classifier can change, and id is a live rule. */
static int check_change(struct wcard_clf *c, __u32 id, char *err, size_t errlen)
{
	if (!c)
		return -EINVAL;
	return clf_check_usable(c, err, errlen) ?: check_id(c, id, err, errlen);
}

int wcard_clf_delete(struct wcard_clf *c, __u32 id, char *err, size_t errlen)
{
	int ret;

	ret = check_change(c, id, err, errlen);
	if (ret)
		return ret;
	clf_set_live(c, id, false);
	ret = apply(c, id, false, err, errlen);
	if (!ret)
		ret = u32_push(&c->rs.id_deferred, id);
	/*
	 * Deleted ids wait for a grace period before reuse; take one when enough
	 * have piled up, so ids (and the rule table behind them) stay within about
	 * twice the live rules. One ~8 ms wait per max(4096, live rules) deletes.
	 */
	if (!ret &&
	    c->rs.id_deferred.n > (c->rs.nlive > ID_REUSE_BATCH ? c->rs.nlive : ID_REUSE_BATCH))
		ret = clf_grace(c);
	return ret;
}

int wcard_clf_update(struct wcard_clf *c, __u32 id, __u32 prio, __u64 value, __u32 *new_id,
		     char *err, size_t errlen)
{
	struct wcard_rule r;
	struct clf_part *p;
	bool lpm = false;
	__u32 nid;
	int ret;

	ret = check_change(c, id, err, errlen);
	if (ret)
		return ret;
	for_each_part(c, p)
		lpm |= clf_in_part(c, p, &c->rs.set.rules[id]) && p->algo == WC_ALGO_LPM;
	if (prio == c->rs.set.rules[id].prio && lpm) {
		/* The LPM fast path reads values from its trie: rebuild the spare generation. */
		__u64 old = c->rs.set.rules[id].value;

		clf_undo_save(c, id);
		c->rs.set.rules[id].value = value;
		ret = clf_republish(c, err, errlen);
		if (ret)
			c->rs.set.rules[id].value = old;
		else if (new_id)
			*new_id = id;
		return ret;
	}
	if (prio == c->rs.set.rules[id].prio) {
		/* Value only: one 8-byte store in the rule's slot of each part. */
		clf_undo_save(c, id);
		c->rs.set.rules[id].value = value;
		for_each_part(c, p) {
			if (!clf_in_part(c, p, &c->rs.set.rules[id]))
				continue;
			kill_moved_copies(c, p, id);
			__atomic_store_n(&RULE(c, p->slot_of[id])->value, value, __ATOMIC_RELEASE);
		}
		if (new_id)
			*new_id = id;
		return 0;
	}
	/* A new priority is a new rank: insert the changed rule, then drop the old one. */
	r = c->rs.set.rules[id];
	r.prio = prio;
	r.value = value;
	ret = wcard_clf_insert(c, &r, &nid, err, errlen);
	if (ret)
		return ret;
	if (new_id)
		*new_id = nid;
	return wcard_clf_delete(c, id, err, errlen);
}
