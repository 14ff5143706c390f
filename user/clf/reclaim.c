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
static void kill_all_moved(struct wcard_clf *c, struct clf_part *p)
{
	__u32 gbase = RBASE(c, p, c->gen);
	size_t i;

	for (i = 0; i < p->on.rule_deferred.n; i++) {
		struct wc_rule *r = RULE(c, gbase + p->on.rule_deferred.v[i]);

		if (r->id & WC_ID_MOVED)
			__atomic_store_n(&r->id, (r->id & ~WC_ID_FLAGS) | WC_ID_DEAD,
					 __ATOMIC_RELEASE);
	}
	p->on.moved_pending = 0;
}

int clf_grace(struct wcard_clf *c)
{
	struct clf_part *p;
	unsigned int i;
	int ret = clf_sync(c);

	if (ret)
		return ret;
	c->grace_periods++;
	for_each_part(c, p) {
		p->on.since_gp = 0;
		kill_all_moved(c, p);
	}
	ret = clf_ids_reclaim(c);
	for_each_part(c, p) {
		if (!ret)
			ret = drain_deferred(&p->on.rule_deferred, &p->on.rule_free);
		for (i = 0; i < 32 && !ret; i++)
			ret = drain_deferred(&p->on.region_deferred[i], &p->on.region_free[i]);
	}
	return ret;
}

void clf_online_reset(struct wcard_clf *c, struct clf_part *p)
{
	unsigned int i;
	__u32 t;

	p->on.rule_free.n = p->on.rule_deferred.n = 0;
	p->on.moved_pending = 0;
	for (i = 0; i < 32; i++)
		p->on.region_free[i].n = p->on.region_deferred[i].n = 0;
	memset(p->on.live_entries, 0, sizeof(p->on.live_entries));
	memset(p->on.tombs, 0, sizeof(p->on.tombs));
	for (t = 0; t < WC_TM_MAX_TABLES; t++) {
		p->on.pub_best[t] = WC_RANK_NONE;
		if (p->tm && p->tm->tables[t].used)
			p->on.pub_best[t] = p->tm->tables[t].best;
	}
	/* Bucket heads per table, as the bulk build laid them. */
	for (t = 0; t < WC_TM_MAX_TABLES && p->tm; t++) {
		struct wc_tm_table *tb = TABLE(c, TBASE(p, c->gen) + t);
		__u32 first = tb->slots >> 8, k;

		for (k = 0; k < p->tslots[t]; k++)
			p->on.live_entries[t] += SLOT(c, first + k)->tag != 0;
	}
	p->on.since_gp = 0;
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
		ret = clf_hits_zero(c, g, false, c->rs.id_deferred.v, c->rs.id_deferred.n);
	return ret ? ret : drain_deferred(&c->rs.id_deferred, &c->rs.id_free);
}

void clf_online_free(struct clf_online *on)
{
	unsigned int i;

	free(on->rule_free.v);
	free(on->rule_deferred.v);
	for (i = 0; i < 32; i++) {
		free(on->region_free[i].v);
		free(on->region_deferred[i].v);
	}
	tm_log_free(&on->log);
}

/* Mark a slot as holding no rule before anything else is written to it. */
static void slot_kill(struct wcard_clf *c, struct clf_part *p, __u32 slot)
{
	__atomic_store_n(&RULE(c, RBASE(c, p, c->gen) + slot)->id, WC_ID_DEAD, __ATOMIC_RELEASE);
}

int clf_alloc_rule(struct wcard_clf *c, struct clf_part *p, __u32 *slot)
{
	struct wc_config *cfg = PCFG(c, p, c->gen);

	if (u32_pop(&p->on.rule_free, slot)) {
		/* Dead since its grace period; marked again as every write starts. */
		slot_kill(c, p, *slot);
		return 0;
	}
	if (p->on.rules_hwm < c->max_rules) {
		*slot = p->on.rules_hwm;
		/* Dead before the exact scan's range grows over it. */
		slot_kill(c, p, *slot);
		p->on.rules_hwm++;
		__atomic_store_n(&cfg->nrules, p->on.rules_hwm, __ATOMIC_RELEASE);
		return 0;
	}
	if (p->on.rule_deferred.n) {
		int ret = clf_grace(c);

		if (ret)
			return ret;
		if (u32_pop(&p->on.rule_free, slot)) {
			slot_kill(c, p, *slot);
			return 0;
		}
	}
	return -ENOSPC;
}

int clf_alloc_region(struct wcard_clf *c, struct clf_part *p, unsigned int lg, __u32 *first)
{
	if (u32_pop(&p->on.region_free[lg], first))
		return 0;
	if (p->slots_used + (1u << lg) <= c->nslots) {
		*first = p->slots_used;
		p->slots_used += 1u << lg;
		return 0;
	}
	if (p->on.region_deferred[lg].n) {
		int ret = clf_grace(c);

		if (ret)
			return ret;
		if (u32_pop(&p->on.region_free[lg], first))
			return 0;
	}
	return -ENOSPC;
}

void clf_undo_save(struct wcard_clf *c, __u32 id)
{
	struct clf_undo *u = c->undo;
	struct clf_undo_ent *e;

	/* Ids the batch made are not saved: putting the set back drops them. */
	if (!u || u->failed || id >= u->set_n || (u->saved[id / 8] & (1u << (id % 8))))
		return;
	if (u->n == u->cap) {
		size_t cap = u->cap ? 2 * u->cap : 256;

		e = realloc(u->e, cap * sizeof(*e));
		if (!e) {
			u->failed = true;
			return;
		}
		u->e = e;
		u->cap = cap;
	}
	e = &u->e[u->n++];
	e->id = id;
	e->live = c->rs.live[id];
	e->rank = c->rs.rank[id];
	/* A dead id's rule is never read again: only a live one's is kept. */
	if (e->live)
		e->rule = c->rs.set.rules[id];
	u->saved[id / 8] |= 1u << (id % 8);
}

void clf_set_live(struct wcard_clf *c, __u32 id, bool live)
{
	__u8 fam = c->rs.set.rules[id].family;
	long d = live ? 1 : -1;

	if (c->rs.live[id] == live)
		return;
	clf_undo_save(c, id);
	c->rs.live[id] = live;
	c->rs.nlive += d;
	if (fam == 4 || fam == 6)
		c->rs.nfam[fam == 6] += d;
}

size_t clf_part_nlive(const struct wcard_clf *c, const struct clf_part *p)
{
	if (c->nparts == 1)
		return c->rs.nlive;
	/* The rules of both families, and those of this part's own. */
	return c->rs.nlive - c->rs.nfam[p->idx != WC_PART_V6];
}

/* Grow the per-id arrays to hold n ids. */
int clf_set_reserve(struct wcard_clf *c, size_t n)
{
	size_t cap = c->rs.cap ? c->rs.cap : 64;
	struct clf_part *p;
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
	if (!live || !rank)
		return -ENOMEM;
	for_each_part(c, p) {
		so = realloc(p->slot_of, cap * sizeof(*so));
		if (!so)
			return -ENOMEM;
		p->slot_of = so;
	}
	memset(c->rs.live + c->rs.cap, 0, (cap - c->rs.cap) * sizeof(*live));
	c->rs.cap = cap;
	return 0;
}
