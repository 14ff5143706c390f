// SPDX-License-Identifier: MIT
/* reclaim.c: free rule slots, regions and ids of a live generation, reused after grace periods. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <wcard/wcard.h>
#include "clf_int.h"

int u32_push(struct u32_stack *s, __u32 v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		__u32 *p = realloc(s->v, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n++] = v;
	return 0;
}

bool u32_pop(struct u32_stack *s, __u32 *v)
{
	if (!s->n)
		return false;
	*v = s->v[--s->n];
	return true;
}

/* Move everything deferred into the free lists (only right after a grace period). */
static int drain_deferred(struct u32_stack *def, struct u32_stack *fr)
{
	__u32 v;

	while (u32_pop(def, &v))
		if (u32_push(fr, v))
			return -ENOMEM;
	return 0;
}

/*
 * After a grace period: the old copies of moved rules (WC_ID_MOVED) die. No
 * exact scan that began before the move still runs, and every later one finds
 * the rule's newer copy, which was live before the old one was unlinked. Left
 * flagged, a copy would stay that rule for the scan on the free list, after a
 * delete or a value update no longer finds it (kill_moved_copies only looks at
 * the deferred slots).
 */
static void kill_all_moved(struct wcard_clf *c)
{
	__u32 gbase = c->gen * c->max_rules;
	size_t i;

	for (i = 0; i < c->on.rule_deferred.n; i++) {
		struct wc_rule *r = RULE(c, gbase + c->on.rule_deferred.v[i]);

		if (r->id & WC_ID_MOVED)
			__atomic_store_n(&r->id, (r->id & ~WC_ID_FLAGS) | WC_ID_DEAD,
					 __ATOMIC_RELEASE);
	}
	c->on.moved_pending = 0;
}

int clf_grace(struct wcard_clf *c)
{
	unsigned int i;
	int ret = clf_sync(c);

	if (ret)
		return ret;
	c->on.grace_periods++;
	c->on.since_gp = 0;
	kill_all_moved(c);
	ret = clf_ids_reclaim(c);
	if (!ret)
		ret = drain_deferred(&c->on.rule_deferred, &c->on.rule_free);
	for (i = 0; i < 32 && !ret; i++)
		ret = drain_deferred(&c->on.region_deferred[i], &c->on.region_free[i]);
	return ret;
}

void clf_online_reset(struct wcard_clf *c)
{
	unsigned int i;
	__u32 t;

	c->on.rule_free.n = c->on.rule_deferred.n = 0;
	c->on.moved_pending = 0;
	for (i = 0; i < 32; i++)
		c->on.region_free[i].n = c->on.region_deferred[i].n = 0;
	memset(c->on.live_entries, 0, sizeof(c->on.live_entries));
	memset(c->on.tombs, 0, sizeof(c->on.tombs));
	for (t = 0; t < WC_TM_MAX_TABLES; t++) {
		c->on.pub_best[t] = WC_RANK_NONE;
		if (c->tm && c->tm->tables[t].used)
			c->on.pub_best[t] = c->tm->tables[t].best;
	}
	/* Bucket heads per table, as the bulk build laid them. */
	for (t = 0; t < WC_TM_MAX_TABLES && c->tm; t++) {
		struct wc_tm_table *tb = TABLE(c, c->gen * WC_TM_MAX_TABLES + t);
		__u32 first = tb->slots >> 8, k;

		for (k = 0; k < c->tslots[t]; k++)
			c->on.live_entries[t] += SLOT(c, first + k)->tag != 0;
	}
	c->on.since_gp = 0;
}

/*
 * After a grace period: deleted rules' ids may be handed out again, each with
 * its hit counters zeroed in both halves (no lookup reports those ids now).
 */
int clf_ids_reclaim(struct wcard_clf *c)
{
	unsigned int g;
	int ret = 0;

	for (g = 0; g < WC_GENS && !ret; g++)
		ret = clf_hits_zero(c, g, false, c->on.id_deferred.v, c->on.id_deferred.n);
	return ret ? ret : drain_deferred(&c->on.id_deferred, &c->on.id_free);
}

void clf_online_free(struct wcard_clf *c)
{
	unsigned int i;

	free(c->on.id_free.v);
	free(c->on.id_deferred.v);
	free(c->on.rule_free.v);
	free(c->on.rule_deferred.v);
	for (i = 0; i < 32; i++) {
		free(c->on.region_free[i].v);
		free(c->on.region_deferred[i].v);
	}
	tm_log_free(&c->on.log);
}

/* Mark a slot as holding no rule before anything else is written to it. */
static void slot_kill(struct wcard_clf *c, __u32 slot)
{
	__atomic_store_n(&RULE(c, c->gen * c->max_rules + slot)->id, WC_ID_DEAD,
			 __ATOMIC_RELEASE);
}

int clf_alloc_rule(struct wcard_clf *c, __u32 *slot)
{
	struct wc_config *cfg = CFG(c, c->gen);

	if (u32_pop(&c->on.rule_free, slot)) {
		/* Dead since its grace period; marked again as every write starts. */
		slot_kill(c, *slot);
		return 0;
	}
	if (c->on.rules_hwm < c->max_rules) {
		*slot = c->on.rules_hwm;
		/* Dead before the exact scan's range grows over it. */
		slot_kill(c, *slot);
		c->on.rules_hwm++;
		__atomic_store_n(&cfg->nrules, c->on.rules_hwm, __ATOMIC_RELEASE);
		return 0;
	}
	if (c->on.rule_deferred.n) {
		int ret = clf_grace(c);

		if (ret)
			return ret;
		if (u32_pop(&c->on.rule_free, slot)) {
			slot_kill(c, *slot);
			return 0;
		}
	}
	return -ENOSPC;
}

int clf_alloc_region(struct wcard_clf *c, unsigned int lg, __u32 *first)
{
	if (u32_pop(&c->on.region_free[lg], first))
		return 0;
	if (c->slots_used + (1u << lg) <= c->nslots) {
		*first = c->slots_used;
		c->slots_used += 1u << lg;
		return 0;
	}
	if (c->on.region_deferred[lg].n) {
		int ret = clf_grace(c);

		if (ret)
			return ret;
		if (u32_pop(&c->on.region_free[lg], first))
			return 0;
	}
	return -ENOSPC;
}

/* Grow the per-id arrays to hold n ids. */
int clf_set_reserve(struct wcard_clf *c, size_t n)
{
	size_t cap = c->rs.cap ? c->rs.cap : 64;
	bool *live;
	__u64 *rank;
	__u32 *so;

	if (n <= c->rs.cap)
		return 0;
	while (cap < n)
		cap *= 2;
	live = realloc(c->rs.live, cap * sizeof(*live));
	if (live)
		c->rs.live = live;
	rank = realloc(c->rs.rank, cap * sizeof(*rank));
	if (rank)
		c->rs.rank = rank;
	so = realloc(c->slot_of, cap * sizeof(*so));
	if (so)
		c->slot_of = so;
	if (!live || !rank || !so)
		return -ENOMEM;
	memset(c->rs.live + c->rs.cap, 0, (cap - c->rs.cap) * sizeof(*live));
	c->rs.cap = cap;
	return 0;
}
