// SPDX-License-Identifier: MIT
/* reclaim.c: free rule slots, regions and ids of a live generation, reused after grace periods. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wcard/wcard.h>
#include "clf_int.h"

/*
 * After a grace period: the old copies of moved rules (WC_ID_MOVED) die. No
 * exact scan that began before the move still runs, and every later one finds
 * the rule's newer copy, which was live before the old one was unlinked. Left
 * flagged, a copy would stay that rule for the scan on the free list, after a
 * delete or a value update no longer finds it (kill_moved_copies only looks at
 * the deferred slots).
 */
static void kill_all_moved(struct wcard_clf *c, struct clf_part *p)
{
	__u32 gbase = RBASE(c, p, c->gen);
	struct wst_ring *r = &p->st->moved;
	__u64 i;

	for (i = r->head; p->st->moved_pending && i < r->tail; i++) {
		struct wc_rule_hdr *ru = RULE(c, gbase + *ring_at(c, r, i));

		if (ru->id & WC_ID_MOVED)
			__atomic_store_n(&ru->id, (ru->id & ~WC_ID_FLAGS) | WC_ID_DEAD,
					 __ATOMIC_RELEASE);
	}
	p->st->moved_pending = 0;
	moved_reset(p->st);
}

/*
 * Deleted rules' ids waiting for the grace period that just passed: no lookup
 * reports them for their old rules now, so their hit counters start again
 * from zero, in both halves, before they are handed out.
 */
static int ids_zero(struct wcard_clf *c, __u64 to)
{
	struct wst_ring *r = &WST(c)->ids;
	size_t n = to - r->covered, k;
	unsigned int g;
	__u32 *ids;
	int ret = 0;

	if (!n || c->hits_fd < 0)
		return 0;
	ids = malloc(n * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	for (k = 0; k < n; k++)
		ids[k] = *ring_at(c, r, r->covered + k);
	for (g = 0; g < WC_GENS && !ret; g++)
		ret = clf_hits_zero(c, g, false, ids, n);
	free(ids);
	return ret;
}

int clf_grace(struct wcard_clf *c)
{
	struct wst *w = WST(c);
	struct clf_part *p;
	unsigned int i;
	int ret = clf_sync(c);

	if (ret)
		return ret;
	w->grace_periods++;
	for_each_part(c, p) {
		p->st->since_gp = 0;
		kill_all_moved(c, p);
		p->st->rules.covered = p->st->rules.tail;
		for (i = 0; i < 32; i++)
			p->st->regions[i].covered = p->st->regions[i].tail;
	}
	/* Ids whose counters could not be zeroed wait for the next one. */
	if (!ids_zero(c, w->ids.tail))
		w->ids.covered = w->ids.tail;
	return 0;
}

/*
 * What a reclaim's grace period covers: every ring's tail when it began, and
 * what tells that no rebuild or synchronous grace period reset them since.
 */
struct reclaim_snap {
	unsigned int gen;
	__u32 since_gp[WC_MAX_PARTS], epoch[WC_MAX_PARTS];
	__u64 rules[WC_MAX_PARTS], moved[WC_MAX_PARTS], regions[WC_MAX_PARTS][32], ids;
};

/*
 * A reclaim takes its grace period for a batch: RECLAIM_BATCH entries
 * waiting, or anything waiting RECLAIM_AGE_NS since the last one. Called in
 * a loop, one per change (a grace period is ~0.1 ms on an idle CPU) kept the
 * writer waiting on the handle's mutex, at p99, far more than the grace
 * periods it saved.
 */
#define RECLAIM_BATCH 512
#define RECLAIM_AGE_NS 10000000ULL

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* Is enough waiting for a grace period (now: anything)? */
static bool reclaim_owed(struct wcard_clf *c, bool now)
{
	struct wst *w = WST(c);
	struct clf_part *p;
	__u64 n = w->ids.tail - w->ids.covered;
	unsigned int i;

	for_each_part(c, p) {
		n += p->st->moved_pending + p->st->since_gp;
		n += p->st->rules.tail - p->st->rules.covered;
		for (i = 0; i < 32; i++)
			n += p->st->regions[i].tail - p->st->regions[i].covered;
	}
	return n >= RECLAIM_BATCH || (n && (now || mono_ns() - c->reclaimed_ns >= RECLAIM_AGE_NS));
}

/* The rings' old copies of moved rules in [head, to): dead now, and off the ring. */
static void kill_moved_to(struct wcard_clf *c, struct clf_part *p, __u64 to)
{
	__u32 gbase = RBASE(c, p, c->gen);
	struct wst_ring *r = &p->st->moved;

	for (; r->head < to; r->head++) {
		struct wc_rule_hdr *ru = RULE(c, gbase + *ring_at(c, r, r->head));

		if ((ru->id & WC_ID_MOVED) && p->st->moved_pending) {
			__atomic_store_n(&ru->id, (ru->id & ~WC_ID_FLAGS) | WC_ID_DEAD,
					 __ATOMIC_RELEASE);
			p->st->moved_pending--;
		}
	}
	r->covered = r->head;
}

int wcard_clf_reclaim(struct wcard_clf *c, unsigned int flags)
{
	struct reclaim_snap s;
	struct clf_part *p;
	bool stale = false;
	struct wst *w;
	unsigned int i;
	int ret;

	if (!c || (flags & ~WCARD_RECLAIM_NOW))
		return -EINVAL;
	clf_lock(c);
	ret = clf_check_usable(c, NULL, 0);
	if (ret || !clf_state_ok(c) || !reclaim_owed(c, flags & WCARD_RECLAIM_NOW)) {
		clf_unlock(c);
		return ret;
	}
	/* From here on 1: a grace period was taken (even if a rebuild made it moot). */
	w = WST(c);
	s.gen = c->gen;
	s.ids = w->ids.tail;
	for_each_part(c, p) {
		s.since_gp[p->idx] = p->st->since_gp;
		s.epoch[p->idx] = p->st->moved_epoch;
		s.rules[p->idx] = p->st->rules.tail;
		s.moved[p->idx] = p->st->moved.tail;
		for (i = 0; i < 32; i++)
			s.regions[p->idx][i] = p->st->regions[i].tail;
	}
	clf_unlock(c);
	/* The wait, while changes go on: what they free meanwhile waits for the next one. */
	ret = gp_wait(&c->rgp);
	if (ret)
		return ret;
	clf_lock(c);
	/*
	 * A rebuild meanwhile made new rings: what was freed before is not in
	 * them, and what they took since may not be covered. Every rebuild (and
	 * every grace period of a writer, which covered all the noted entries
	 * already) resets the moved rings, so a moved epoch tells it even after
	 * two rebuilds that brought the generation back.
	 */
	for_each_part(c, p)
		stale |= p->st->moved_epoch != s.epoch[p->idx];
	if (stale || c->gen != s.gen || !clf_state_ok(c)) {
		clf_unlock(c);
		return 1;
	}
	__atomic_store_n(&w->busy, 1, __ATOMIC_SEQ_CST);
	w->grace_periods++;
	for_each_part(c, p) {
		struct wst_part *sp = p->st;

		/* Order buffers published since the snapshot still count toward the next wrap. */
		sp->since_gp = sp->since_gp >= s.since_gp[p->idx] ?
				       sp->since_gp - s.since_gp[p->idx] : 0;
		kill_moved_to(c, p, s.moved[p->idx]);
		if (sp->rules.covered < s.rules[p->idx] && sp->rules.tail >= s.rules[p->idx])
			sp->rules.covered = s.rules[p->idx];
		for (i = 0; i < 32; i++)
			if (sp->regions[i].covered < s.regions[p->idx][i] &&
			    sp->regions[i].tail >= s.regions[p->idx][i])
				sp->regions[i].covered = s.regions[p->idx][i];
	}
	if (w->ids.covered < s.ids && w->ids.tail >= s.ids && !ids_zero(c, s.ids))
		w->ids.covered = s.ids;
	__atomic_store_n(&w->busy, 0, __ATOMIC_SEQ_CST);
	c->reclaimed_ns = mono_ns();
	clf_unlock(c);
	return 1;
}

/* Mark a slot as holding no rule before anything else is written to it. */
static void slot_kill(struct wcard_clf *c, struct clf_part *p, __u32 slot)
{
	__atomic_store_n(&RULE(c, RBASE(c, p, c->gen) + slot)->id, WC_ID_DEAD, __ATOMIC_RELEASE);
}

int clf_alloc_rule(struct wcard_clf *c, struct clf_part *p, __u32 *slot)
{
	struct wc_config *cfg = PCFG(c, p, c->gen);
	struct wst_part *sp = p->st;

	if (ring_pop(c, &sp->rules, slot)) {
		/* Dead since its grace period; marked again as every write starts. */
		slot_kill(c, p, *slot);
		return 0;
	}
	if (sp->rules_hwm < c->max_rules) {
		*slot = sp->rules_hwm;
		/* Dead before the exact scan's range grows over it. */
		slot_kill(c, p, *slot);
		sp->rules_hwm++;
		__atomic_store_n(&cfg->nrules, sp->rules_hwm, __ATOMIC_RELEASE);
		return 0;
	}
	if (sp->rules.tail > sp->rules.covered) {
		int ret = clf_grace(c);

		if (ret)
			return ret;
		if (ring_pop(c, &sp->rules, slot)) {
			slot_kill(c, p, *slot);
			return 0;
		}
	}
	return -ENOSPC;
}

/*
 * A free region of more than 2^lg slots, split: its first 2^lg slots in
 * *first, each half left over free in its own size (or waiting for the next
 * grace period, where the free end has no room). Regions are never merged
 * back, so without this a churn that frees small ones and needs bigger ones
 * runs out of slots long before they are all used.
 */
static bool split_region(struct wcard_clf *c, struct wst_part *sp, unsigned int lg, __u32 *first)
{
	unsigned int big, k;
	__u32 at;

	for (big = lg + 1; big < 31; big++) {
		if (!ring_pop(c, &sp->regions[big], &at))
			continue;
		for (k = big; k > lg; k--)
			if (!ring_unshift(c, &sp->regions[k - 1], at + (1u << (k - 1))))
				ring_push(c, &sp->regions[k - 1], at + (1u << (k - 1)));
		*first = at;
		return true;
	}
	return false;
}

int clf_alloc_region(struct wcard_clf *c, struct clf_part *p, unsigned int lg, __u32 *first)
{
	struct wst_part *sp = p->st;
	unsigned int k;
	int ret;

	if (ring_pop(c, &sp->regions[lg], first))
		return 0;
	if (sp->slots_used + (1u << lg) <= c->nslots) {
		*first = sp->slots_used;
		sp->slots_used += 1u << lg;
		return 0;
	}
	if (split_region(c, sp, lg, first))
		return 0;
	for (k = lg; k < 31; k++) {
		if (sp->regions[k].tail == sp->regions[k].covered)
			continue;
		/* Something of this size or bigger waits: a grace period frees it. */
		ret = clf_grace(c);
		if (ret)
			return ret;
		if (ring_pop(c, &sp->regions[lg], first) || split_region(c, sp, lg, first))
			return 0;
		break;
	}
	return -ENOSPC;
}

/*
 * A deleted rule's id once a grace period has passed (no lookup can still
 * report it for the old rule), else a new one: ids stay below WC_ID_LIMIT,
 * where the hit counters are, and memory follows the largest rule set, not
 * the number of inserts.
 */
int clf_alloc_id(struct wcard_clf *c, __u32 *id)
{
	struct wst *w = WST(c);

	if (ring_pop(c, &w->ids, id))
		return 0;
	if (w->nids < WC_ID_LIMIT(c->max_rules)) {
		*id = w->nids++;
		return 0;
	}
	if (w->ids.tail > w->ids.covered) {
		int ret = clf_grace(c);

		if (ret)
			return ret;
		if (ring_pop(c, &w->ids, id))
			return 0;
	}
	return -ENOSPC;
}
