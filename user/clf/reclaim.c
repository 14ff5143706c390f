// SPDX-License-Identifier: MIT
/* reclaim.c: free rule slots, regions and ids of a live generation, reused after grace periods. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
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
		struct wc_rule *ru = RULE(c, gbase + *ring_at(c, r, i));

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
static int ids_zero(struct wcard_clf *c)
{
	struct wst_ring *r = &WST(c)->ids;
	size_t n = r->tail - r->covered, k;
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
	if (!ids_zero(c))
		w->ids.covered = w->ids.tail;
	return 0;
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
