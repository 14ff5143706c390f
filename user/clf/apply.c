// SPDX-License-Identifier: MIT
/* apply.c: batches of changes (wcard_clf_apply), online in order or as one generation; libwcard. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wcard/wcard.h>
#include "clf_int.h"

/* "FILE:LINE: " of change ch (NULL: the whole batch, "FILE: ") in front of why. */
static void at_line(const struct wcard_batch *b, const struct wcard_change *ch, char *err,
		    size_t errlen, const char *why, const char *tail)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), "%s", why && *why ? why : "failed");
	if (ch)
		seterr(err, errlen, "%s:%u: %s%s", b->name ? b->name : "<batch>", ch->line, msg,
		       tail);
	else
		seterr(err, errlen, "%s: %s%s", b->name ? b->name : "<batch>", msg, tail);
}

static bool bit_get(const __u8 *m, __u32 i)
{
	return m[i / 8] & (1u << (i % 8));
}

static void bit_set(__u8 *m, __u32 i)
{
	m[i / 8] |= 1u << (i % 8);
}

/*
 * Every change checked against the rule set as the changes before it leave
 * it, before any is made: ids name live rules, added rules fit the layout,
 * no part outgrows max_rules at any point. 0, or -EINVAL / -ENOENT / -ENOSPC
 * with "FILE:LINE: reason" in err.
 */
static int check_batch(struct wcard_clf *c, const struct wcard_batch *b, char *err, size_t errlen)
{
	size_t lim = WC_ID_LIMIT((size_t)c->max_rules), cnt[WC_MAX_PARTS], i;
	__u8 *gone = calloc(lim / 8 + 1, 1);
	char why[512];
	struct clf_part *p;
	int ret = 0;

	if (!gone)
		return -ENOMEM;
	for_each_part(c, p)
		cnt[p->idx] = clf_part_nlive(c, p);
	for (i = 0; i < b->n && !ret; i++) {
		const struct wcard_change *ch = &b->c[i];
		const struct wcard_rule *r = ch->rule;
		int d = 1;

		why[0] = 0;
		if (ch->op == WCARD_CHANGE_ADD) {
			ret = wcard_rule_check(&c->layout, r, why, sizeof(why));
			if (ret) {
				at_line(b, ch, err, errlen, why, "");
				break;
			}
		} else if (ch->op == WCARD_CHANGE_DEL || ch->op == WCARD_CHANGE_UPDATE) {
			bool live = ch->id < lim && clf_id_live(c, ch->id);

			if (!live || bit_get(gone, ch->id)) {
				snprintf(why, sizeof(why), "no rule with id %u%s", ch->id,
					 live ? " (deleted or re-prioritized by a line before)" : "");
				at_line(b, ch, err, errlen, why, "");
				ret = -ENOENT;
				break;
			}
			/* A value change keeps the rule; a new priority re-inserts it (+1, then -1). */
			if (ch->op == WCARD_CHANGE_UPDATE &&
			    (!ch->has_prio || ch->prio == clf_rule_prio(c, ch->id)))
				continue;
			r = NULL; /* in the parts that hold id now */
			if (ch->op == WCARD_CHANGE_DEL)
				d = -1;
			bit_set(gone, ch->id);
		} else {
			snprintf(why, sizeof(why), "unknown change %d", ch->op);
			at_line(b, ch, err, errlen, why, "");
			ret = -EINVAL;
			break;
		}
		for_each_part(c, p) {
			if (r ? !clf_in_part(c, p, r) : !clf_id_in(c, p, ch->id))
				continue;
			cnt[p->idx] += d;
			if (cnt[p->idx] > c->max_rules) {
				snprintf(why, sizeof(why), "table full: %u %srules (--max-rules)",
					 c->max_rules,
					 c->nparts == 1		  ? "" :
					 p->idx == WC_PART_V6 ? "IPv6 " :
								  "IPv4 ");
				at_line(b, ch, err, errlen, why, "");
				ret = -ENOSPC;
			}
			if (ch->op == WCARD_CHANGE_UPDATE)
				cnt[p->idx]--;
		}
	}
	free(gone);
	return ret;
}

/*
 * What a batch did, change by change, to undo it if a later one fails: an id
 * that came (made dead again), or one that went or changed value (put back).
 * Online, a rule that went is kept compiled, as one part held it (decompiled
 * only if the batch is undone); staged, the rule set still holds it and only
 * its value may have changed.
 */
enum jkind { J_CAME, J_WENT, J_STAGED };

struct jent {
	__u32 id;
	__u8 kind; /* enum jkind */
	__u8 part; /* J_WENT: the part whose copy the rule is */
	__u8 family; /* J_WENT: the rule's family, as clf_rule_read gives it */
	__u64 v; /* J_WENT: the rule's index in went[]; J_STAGED: the value before */
};

/* The changes in order, and the rules that went apart: most changes are adds, 16 bytes each. */
struct journal {
	struct jent *e;
	size_t n, cap;
	struct wc_rule *went;
	size_t nwent, wcap;
};

static int jput(struct journal *j, const struct jent *e)
{
	int ret = arr_grow((void **)&j->e, j->n, &j->cap, sizeof(*j->e));

	if (!ret)
		j->e[j->n++] = *e;
	return ret;
}

static void jfree(struct journal *j)
{
	arr_free(j->e, j->cap, sizeof(*j->e));
	arr_free(j->went, j->wcap, sizeof(*j->went));
}

static int jcame(struct journal *j, __u32 id)
{
	struct jent e = { .id = id, .kind = J_CAME };

	return jput(j, &e);
}

/* Rule id as the maps hold it now (online), before it goes or changes. */
static int jwent(struct wcard_clf *c, struct journal *j, __u32 id)
{
	const struct clf_part *p, *in = NULL;
	struct jent e = { .id = id, .kind = J_WENT };
	unsigned int n = 0;
	int ret;

	for_each_part(c, p) {
		if (!clf_id_in(c, p, id))
			continue;
		in = in ? in : p;
		n++;
	}
	if (!in)
		return -ENOENT;
	e.part = (__u8)in->idx;
	e.family = c->nparts == 1 || n > 1 ? 0 : in->idx == WC_PART_V6 ? 6 : 4;
	e.v = j->nwent;
	ret = arr_grow((void **)&j->went, j->nwent, &j->wcap, sizeof(*j->went)) ?: jput(j, &e);
	if (!ret)
		clf_rec_get(c, *SLOT_OF(c, in, id), &j->went[j->nwent++]);
	return ret;
}

/* The rule set (valid) back as it was before the journal's changes, newest undone first. */
static int jundo(struct wcard_clf *c, const struct journal *j)
{
	size_t i;
	int ret = 0;

	for (i = j->n; i-- > 0 && !ret;) {
		const struct jent *e = &j->e[i];
		struct wcard_rule *r;

		ret = clf_set_reserve(c, (size_t)e->id + 1);
		while (!ret && c->rs.set.n <= e->id) {
			struct wcard_rule blank;

			wcard_rule_any(&c->layout, &blank);
			blank.id = c->rs.set.n;
			ret = wcard_ruleset_add(&c->rs.set, &blank);
		}
		if (ret)
			break;
		clf_set_live(c, e->id, false);
		if (e->kind == J_CAME)
			continue;
		r = &c->rs.set.rules[e->id];
		if (e->kind == J_STAGED) {
			r->value = e->v;
		} else {
			clf_decompile(&c->part[e->part].layout, &j->went[e->v], r);
			r->id = e->id;
			r->family = e->family;
			c->rs.rank[e->id] = j->went[e->v].rank;
		}
		clf_set_live(c, e->id, true);
	}
	return ret;
}

/*
 * Ids in the free list that are live again (put back by an undo) leave it;
 * the ids the batch handed out and took back join it, once a grace period
 * has passed.
 */
static void ids_after_undo(struct wcard_clf *c, const struct journal *j)
{
	struct wst_ring *r = &WST(c)->ids;
	__u64 i, w = r->head, cov = r->head;
	size_t k;

	for (i = r->head; i < r->tail; i++) {
		__u32 id = *ring_at(c, r, i);

		if (i == r->covered)
			cov = w;
		if (id < c->rs.set.n && c->rs.live[id])
			continue;
		*ring_at(c, r, w++) = id;
	}
	if (r->covered == r->tail)
		cov = w;
	r->covered = cov;
	r->tail = w;
	for (k = 0; k < j->n; k++)
		if (j->e[k].kind == J_CAME && !(j->e[k].id < c->rs.set.n && c->rs.live[j->e[k].id]))
			ring_push(c, r, j->e[k].id);
}

/* The worst priority there is, or -1 without rules: an add without prio goes after it. */
static long long worst_prio(const struct wcard_clf *c)
{
	return WST(c)->nlive ? (long long)WST(c)->worst_prio : -1;
}

/* Change ch's rule to add, its prio filled in; *worst follows. */
static void add_rule(const struct wcard_change *ch, long long *worst, struct wcard_rule *r)
{
	*r = *ch->rule;
	if (!ch->has_prio)
		r->prio = *worst < 0 ? 0 : *worst < UINT32_MAX ? (__u32)*worst + 1 : UINT32_MAX;
	if (r->prio > *worst)
		*worst = r->prio;
}

/* One change, online: what wcard_clf_insert/delete/update make of it, journaled. */
static int apply_online(struct wcard_clf *c, const struct wcard_change *ch, long long *worst,
			struct journal *j, __u32 *id, char *err, size_t errlen)
{
	struct wcard_rule r, cur;
	int ret;

	switch (ch->op) {
	case WCARD_CHANGE_ADD:
		add_rule(ch, worst, &r);
		ret = wcard_clf_insert(c, &r, id, err, errlen);
		return ret ?: jcame(j, *id);
	case WCARD_CHANGE_DEL:
		*id = ch->id;
		ret = jwent(c, j, ch->id);
		return ret ?: wcard_clf_delete(c, ch->id, err, errlen);
	default:
		clf_rule_read(c, ch->id, &cur, NULL);
		if (ch->has_prio && ch->prio > *worst)
			*worst = ch->prio;
		*id = ch->id;
		ret = jwent(c, j, ch->id);
		if (!ret && (!ch->has_prio || ch->prio == cur.prio))
			return wcard_clf_update(c, ch->id, cur.prio,
						ch->has_value ? ch->value : cur.value, id, err,
						errlen);
		/* A new priority: the rule again under a new id, then the old one goes. */
		r = cur;
		r.prio = ch->prio;
		if (ch->has_value)
			r.value = ch->value;
		ret = ret ?: wcard_clf_insert(c, &r, id, err, errlen);
		ret = ret ?: jcame(j, *id);
		return ret ?: wcard_clf_delete(c, ch->id, err, errlen);
	}
}

/*
 * One change, into the rule set only (the maps follow in one republish),
 * journaled. Deleted ids wait in gone[] until the new generation is live: the
 * old one still reports them.
 */
static int apply_staged(struct wcard_clf *c, const struct wcard_change *ch, long long *worst,
			struct journal *j, __u32 *id, __u32 *gone, size_t *ngone, char *err,
			size_t errlen)
{
	struct wcard_rule r;
	__u64 rank;
	int ret = 0;

	*id = ch->id;
	if (ch->op == WCARD_CHANGE_ADD) {
		add_rule(ch, worst, &r);
	} else {
		r = c->rs.set.rules[ch->id];
		ret = jput(j, &(struct jent){ .id = ch->id, .kind = J_STAGED, .v = r.value });
		if (ret)
			return ret;
		if (ch->op == WCARD_CHANGE_UPDATE && ch->has_value)
			r.value = ch->value;
		if (ch->op == WCARD_CHANGE_UPDATE && (!ch->has_prio || ch->prio == r.prio)) {
			c->rs.set.rules[ch->id].value = r.value;
			return 0;
		}
		clf_set_live(c, ch->id, false);
		gone[(*ngone)++] = ch->id;
		if (ch->op == WCARD_CHANGE_DEL)
			return 0;
		/* A new priority: the rule again under a new id. */
		r.prio = ch->prio;
		if (r.prio > *worst)
			*worst = r.prio;
	}
	ret = clf_rule_new(c, &r, id, &rank, err, errlen) ?: clf_set_reserve(c, (size_t)*id + 1);
	while (!ret && c->rs.set.n <= *id) {
		struct wcard_rule blank;

		wcard_rule_any(&c->layout, &blank);
		blank.id = c->rs.set.n;
		ret = wcard_ruleset_add(&c->rs.set, &blank);
	}
	if (ret)
		return ret;
	ret = jcame(j, *id);
	if (ret)
		return ret;
	if (c->nparts == 1)
		r.family = 0;
	r.id = *id;
	c->rs.set.rules[*id] = r;
	c->rs.rank[*id] = rank;
	clf_set_live(c, *id, true);
	return 0;
}

/*
 * Part p's live generation copied into the spare one, as it is: rules,
 * bucket slots, tables (their slot arrays moved with them), the current
 * order, the config; and the state turned to describe the copy. No lookup
 * reads the spare half (its grace period was taken), so nothing here is
 * ordered for them. What the live half keeps for grace periods is free in
 * the copy: no lookup will ever walk it there.
 */
static void copy_part(struct wcard_clf *c, struct clf_part *p, unsigned int from, unsigned int to)
{
	const struct wc_config *fc = PCFG(c, p, from);
	struct wc_config *tc = PCFG(c, p, to);
	long rdelta = (long)RBASE(c, p, to) - (long)RBASE(c, p, from);
	long sdelta = (long)SBASE(c, p, to) - (long)SBASE(c, p, from);
	struct wst_part *sp = p->st;
	__u32 t, id, n = fc->nrules;
	unsigned int lg;
	__u64 i;

	if (n)
		memcpy(clf_arr_at(&c->rules, (size_t)RBASE(c, p, to) * c->rec_size,
				  (size_t)n * c->rec_size),
		       clf_arr_at(&c->rules, (size_t)RBASE(c, p, from) * c->rec_size,
				  (size_t)n * c->rec_size),
		       (size_t)n * c->rec_size);
	if (sp->slots_used)
		memcpy(SLOTS(c, SBASE(c, p, to), sp->slots_used),
		       SLOTS(c, SBASE(c, p, from), sp->slots_used),
		       (size_t)sp->slots_used * sizeof(struct wc_tm_slot));
	for (t = 0; t < WC_TM_MAX_TABLES; t++) {
		struct wc_tm_table *tt = TABLE(c, TBASE(p, to) + t);

		*tt = *TABLE(c, TBASE(p, from) + t);
		if (sp->tused[t])
			tt->slots = ((__u64)((long)(tt->slots >> 8) + sdelta) << 8) | (tt->slots & 31);
	}
	*ORDER(c, OBASE(p, to)) = *ORDER(c, fc->order_base + fc->order);
	*tc = *fc;
	tc->self = clf_region(p, to);
	tc->rules_base = RBASE(c, p, to);
	tc->tables_base = TBASE(p, to);
	tc->order_base = OBASE(p, to);
	tc->order = 0;
	for (id = 0; id < WST(c)->nids; id++)
		if (*SLOT_OF(c, p, id) != WC_ID_NONE)
			*SLOT_OF(c, p, id) += rdelta;
	/* Old copies of moved rules: dead in the copy, where no scan is under way. */
	for (i = sp->moved.head; i < sp->moved.tail; i++) {
		struct wc_rule_hdr *r = RULE(c, RBASE(c, p, to) + *ring_at(c, &sp->moved, i));

		if (r->id & WC_ID_MOVED)
			r->id = (r->id & ~WC_ID_FLAGS) | WC_ID_DEAD;
	}
	moved_reset(sp);
	sp->moved_pending = sp->since_gp = 0;
	sp->rules.covered = sp->rules.tail;
	for (lg = 0; lg < 32; lg++)
		sp->regions[lg].covered = sp->regions[lg].tail;
}

/*
 * An atomic batch made in a copy of the live generation: the copy takes
 * the changes as online ones would, then one store makes it live. It costs
 * the copy (memcpy of the rules in use) and the changes, not a rebuild of
 * every rule. Every part must be on Tuple Merge. 0 once switched; an
 * error with nothing switched and the state as it was (-EOPNOTSUPP, or a
 * change that would need a rebuild: the caller rebuilds instead), *failed
 * the index of the change that failed.
 */
static int apply_in_copy(struct wcard_clf *c, const struct wcard_batch *b, __u32 *ids,
			 size_t *failed, char *err, size_t errlen)
{
	unsigned int live = c->gen, spare = live ^ 1;
	size_t slen = c->state.len, i;
	struct journal j = { 0 };
	struct clf_part *p;
	long long worst;
	void *saved;
	int ret = 0;
	__u32 id;

	for_each_part(c, p)
		if (p->algo != WC_ALGO_TM && p->algo != WC_ALGO_STM)
			return -EOPNOTSUPP;
	/* The spare half may still be read after the last switch: its wait first. */
	if (WST(c)->sync_owed) {
		ret = clf_sync(c);
		if (ret)
			return ret;
		WST(c)->sync_owed = 0;
	}
	saved = malloc(slen);
	c->held = malloc(b->n * sizeof(*c->held));
	if (!saved || !c->held) {
		free(saved);
		free(c->held);
		c->held = NULL;
		return -ENOMEM;
	}
	memcpy(saved, clf_arr_at(&c->state, 0, slen), slen);
	clf_state_busy(c, true);
	for_each_part(c, p)
		copy_part(c, p, live, spare);
	/*
	 * Describing a generation that is not live is enough to keep other
	 * openers from trusting the state: not busy any more, so that this
	 * handle does.
	 */
	WST(c)->gen = spare;
	c->gen = spare;
	clf_state_busy(c, false);
	c->in_copy = true;
	c->nheld = 0;
	c->rs.valid = false;
	worst = worst_prio(c);
	for (i = 0; i < b->n && !ret; i++) {
		id = WC_ID_NONE;
		ret = apply_online(c, &b->c[i], &worst, &j, &id, err, errlen);
		if (ids)
			ids[i] = id;
	}
	c->in_copy = false;
	if (ret) {
		/* Nothing switched: the live half untouched, the state back as it was. */
		*failed = i - 1;
		c->gen = live;
		memcpy(clf_arr_at(&c->state, 0, slen), saved, slen);
	} else {
		/* One store: every lookup from now on sees the whole batch. */
		WST(c)->sync_owed = 1;
		__atomic_store_n(&ROOT(c)->gen, spare, __ATOMIC_RELEASE);
		clf_state_busy(c, false);
		/* Its deleted ids wait for a grace period from here, like any deleted id. */
		for (i = 0; i < c->nheld; i++)
			ring_push(c, &WST(c)->ids, c->held[i]);
		if (!clf_grace(c))
			WST(c)->sync_owed = 0;
	}
	free(saved);
	free(c->held);
	c->held = NULL;
	jfree(&j);
	return ret;
}

static int locked_apply(struct wcard_clf *c, const struct wcard_batch *b, unsigned int flags,
			__u32 *ids, char *err, size_t errlen)
{
	bool atomic = flags & WCARD_APPLY_ATOMIC;
	struct journal j = { 0 };
	char why[1024] = "";
	__u32 *gone = NULL, id;
	size_t i, ngone = 0;
	long long worst;
	int ret, r2;

	if (!c || !b || (flags & ~WCARD_APPLY_ATOMIC))
		return -EINVAL;
	ret = clf_check_usable(c, err, errlen);
	if (ret)
		return ret;
	if (b->layout && strcmp(b->layout->name, c->layout.name)) {
		seterr(err, errlen, "%s: layout %s, the classifier's is %s", b->name,
		       b->layout->name, c->layout.name);
		return -EINVAL;
	}
	ret = check_batch(c, b, err, errlen);
	if (ret || !b->n)
		return ret;
	/* Atomic: in a copy of the live generation; failing that, a rebuild of the staged set. */
	if (atomic) {
		ret = apply_in_copy(c, b, ids, &i, why, sizeof(why));
		if (!ret)
			return 0;
		why[0] = 0;
	}
	if (atomic) {
		gone = malloc(b->n * sizeof(*gone));
		ret = gone ? clf_rs_load(c) : -ENOMEM;
		if (ret) {
			free(gone);
			seterr(err, errlen, "%s: reading the rules: %s", b->name, strerror(-ret));
			return ret;
		}
	}
	worst = worst_prio(c);
	for (i = 0; i < b->n && !ret; i++) {
		why[0] = 0;
		id = WC_ID_NONE;
		ret = atomic ? apply_staged(c, &b->c[i], &worst, &j, &id, gone, &ngone, why,
					    sizeof(why)) :
			       apply_online(c, &b->c[i], &worst, &j, &id, why, sizeof(why));
		if (ret && !*why)
			snprintf(why, sizeof(why), "%s", strerror(-ret));
		if (ids)
			ids[i] = id;
	}
	if (ret)
		i--;
	if (!ret && atomic) {
		ret = clf_republish(c, why, sizeof(why));
		if (ret)
			i = b->n; /* no one line's fault */
	}
	/* Deleted ids wait for a grace period from here, like any deleted id. */
	for (r2 = 0; !ret && (size_t)r2 < ngone; r2++)
		ring_push(c, &WST(c)->ids, gone[r2]);
	if (ret) {
		/*
		 * The rule set as it was: online, the changes made are live, so the
		 * set goes back in one generation; staged, nothing was switched.
		 */
		if (!atomic)
			c->rs.valid = false;
		r2 = clf_rs_load(c) ?: jundo(c, &j);
		if (!r2 && !atomic) {
			clf_state_busy(c, true);
			r2 = clf_republish(c, NULL, 0);
		}
		if (!r2)
			ids_after_undo(c, &j);
		if (r2) {
			c->broken = true;
			c->rs.valid = false;
			at_line(b, i < b->n ? &b->c[i] : NULL, err, errlen, why,
				"; putting the rule set back failed too: reload the rule set");
		} else {
			at_line(b, i < b->n ? &b->c[i] : NULL, err, errlen, why, "; nothing applied");
		}
	}
	jfree(&j);
	free(gone);
	return ret;
}

int wcard_clf_apply(struct wcard_clf *c, const struct wcard_batch *b, unsigned int flags,
		    __u32 *ids, char *err, size_t errlen)
{
	int ret;

	if (!c)
		return -EINVAL;
	clf_lock(c);
	ret = locked_apply(c, b, flags, ids, err, errlen);
	clf_unlock(c);
	return ret;
}
