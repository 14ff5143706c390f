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
		const struct wcard_rule *r = &ch->rule;
		int d = 1;

		why[0] = 0;
		if (ch->op == WCARD_CHANGE_ADD) {
			ret = wcard_rule_check(&c->layout, r, why, sizeof(why));
			if (ret) {
				at_line(b, ch, err, errlen, why, "");
				break;
			}
		} else if (ch->op == WCARD_CHANGE_DEL || ch->op == WCARD_CHANGE_UPDATE) {
			if (ch->id >= c->rs.set.n || !c->rs.live[ch->id] || bit_get(gone, ch->id)) {
				snprintf(why, sizeof(why), "no rule with id %u%s", ch->id,
					 ch->id < c->rs.set.n && c->rs.live[ch->id] ?
						 " (deleted or re-prioritized by a line before)" :
						 "");
				at_line(b, ch, err, errlen, why, "");
				ret = -ENOENT;
				break;
			}
			r = &c->rs.set.rules[ch->id];
			/* A value change keeps the rule; a new priority re-inserts it (+1, then -1). */
			if (ch->op == WCARD_CHANGE_UPDATE && (!ch->has_prio || ch->prio == r->prio))
				continue;
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
			if (!clf_in_part(c, p, r))
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

static int stack_copy(struct u32_stack *to, const struct u32_stack *from)
{
	to->v = malloc((from->n ? from->n : 1) * sizeof(*to->v));
	if (!to->v)
		return -ENOMEM;
	memcpy(to->v, from->v, from->n * sizeof(*to->v));
	to->n = to->cap = from->n;
	return 0;
}

static void undo_free(struct clf_undo *u)
{
	free(u->e);
	free(u->saved);
	free(u->id_free.v);
	free(u->id_deferred.v);
}

static int undo_begin(struct wcard_clf *c, struct clf_undo *u)
{
	memset(u, 0, sizeof(*u));
	u->set_n = c->rs.set.n;
	u->saved = calloc(u->set_n / 8 + 1, 1);
	if (!u->saved || stack_copy(&u->id_free, &c->rs.id_free) ||
	    stack_copy(&u->id_deferred, &c->rs.id_deferred)) {
		undo_free(u);
		return -ENOMEM;
	}
	u->nlive = c->rs.nlive;
	memcpy(u->nfam, c->rs.nfam, sizeof(u->nfam));
	u->seq = c->rs.seq;
	c->undo = u;
	return 0;
}

/* The rule set as it was when the batch began (the maps are left alone). */
static void undo_restore(struct wcard_clf *c, struct clf_undo *u)
{
	struct u32_stack t;
	size_t i;

	for (i = u->n; i-- > 0;) {
		const struct clf_undo_ent *e = &u->e[i];

		c->rs.live[e->id] = e->live;
		c->rs.rank[e->id] = e->rank;
		if (e->live)
			c->rs.set.rules[e->id] = e->rule;
	}
	for (i = u->set_n; i < c->rs.set.n; i++)
		c->rs.live[i] = false;
	c->rs.set.n = u->set_n;
	c->rs.nlive = u->nlive;
	memcpy(c->rs.nfam, u->nfam, sizeof(u->nfam));
	c->rs.seq = u->seq;
	t = c->rs.id_free;
	c->rs.id_free = u->id_free;
	u->id_free = t;
	t = c->rs.id_deferred;
	c->rs.id_deferred = u->id_deferred;
	u->id_deferred = t;
}

/* The worst priority of a live rule, or -1 without rules: an add without prio goes after it. */
static long long worst_prio(const struct wcard_clf *c)
{
	long long w = -1;
	size_t i;

	for (i = 0; i < c->rs.set.n; i++)
		if (c->rs.live[i] && c->rs.set.rules[i].prio > w)
			w = c->rs.set.rules[i].prio;
	return w;
}

/* Change ch's rule to add, its prio filled in; *worst follows. */
static void add_rule(const struct wcard_change *ch, long long *worst, struct wcard_rule *r)
{
	*r = ch->rule;
	if (!ch->has_prio)
		r->prio = *worst < 0 ? 0 : *worst < UINT32_MAX ? (__u32)*worst + 1 : UINT32_MAX;
	if (r->prio > *worst)
		*worst = r->prio;
}

/* One change, online: what wcard_clf_insert/delete/update make of it. */
static int apply_online(struct wcard_clf *c, const struct wcard_change *ch, long long *worst,
			__u32 *id, char *err, size_t errlen)
{
	const struct wcard_rule *cur;
	struct wcard_rule r;

	switch (ch->op) {
	case WCARD_CHANGE_ADD:
		add_rule(ch, worst, &r);
		return wcard_clf_insert(c, &r, id, err, errlen);
	case WCARD_CHANGE_DEL:
		*id = ch->id;
		return wcard_clf_delete(c, ch->id, err, errlen);
	default:
		cur = &c->rs.set.rules[ch->id];
		if (ch->has_prio && ch->prio > *worst)
			*worst = ch->prio;
		return wcard_clf_update(c, ch->id, ch->has_prio ? ch->prio : cur->prio,
					ch->has_value ? ch->value : cur->value, id, err, errlen);
	}
}

/*
 * One change, into the rule set only (the maps follow in one republish).
 * Deleted ids wait in gone[] until the new generation is live: the old one
 * still reports them.
 */
static int apply_staged(struct wcard_clf *c, const struct wcard_change *ch, long long *worst,
			__u32 *id, struct u32_stack *gone, char *err, size_t errlen)
{
	struct wcard_rule r;
	int ret;

	*id = ch->id;
	switch (ch->op) {
	case WCARD_CHANGE_ADD:
		add_rule(ch, worst, &r);
		return clf_rule_new(c, &r, id, err, errlen);
	case WCARD_CHANGE_UPDATE:
		r = c->rs.set.rules[ch->id];
		if (ch->has_value)
			r.value = ch->value;
		if (!ch->has_prio || ch->prio == r.prio) {
			clf_undo_save(c, ch->id);
			c->rs.set.rules[ch->id].value = r.value;
			return 0;
		}
		r.prio = ch->prio;
		if (r.prio > *worst)
			*worst = r.prio;
		/* The rule under a new id, and the old one goes. */
		ret = clf_rule_new(c, &r, id, err, errlen);
		if (ret)
			return ret;
		break;
	default:
		break;
	}
	clf_set_live(c, ch->id, false);
	return u32_push(gone, ch->id);
}

int wcard_clf_apply(struct wcard_clf *c, const struct wcard_batch *b, unsigned int flags,
		    __u32 *ids, char *err, size_t errlen)
{
	bool atomic = flags & WCARD_APPLY_ATOMIC;
	struct u32_stack gone = { 0 };
	char why[1024] = "";
	struct clf_undo u;
	long long worst;
	size_t i;
	int ret, r2;
	__u32 id;

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
	ret = undo_begin(c, &u);
	if (ret)
		return ret;
	worst = worst_prio(c);
	for (i = 0; i < b->n && !ret; i++) {
		why[0] = 0;
		id = WC_ID_NONE;
		ret = atomic ? apply_staged(c, &b->c[i], &worst, &id, &gone, why, sizeof(why)) :
			       apply_online(c, &b->c[i], &worst, &id, why, sizeof(why));
		if (!ret && u.failed)
			ret = -ENOMEM;
		if (ret && !*why)
			snprintf(why, sizeof(why), "%s", strerror(-ret));
		if (ids)
			ids[i] = id;
	}
	if (ret)
		i--;
	if (!ret && atomic) {
		ret = clf_republish(c, why, sizeof(why));
		/* Deleted ids wait for a grace period from here, like any deleted id. */
		while (!ret && gone.n)
			ret = u32_push(&c->rs.id_deferred, gone.v[--gone.n]);
		if (ret)
			i = b->n; /* no one line's fault */
	}
	c->undo = NULL;
	if (ret) {
		undo_restore(c, &u);
		/* Online changes are live: the set as it was goes back in one generation. */
		r2 = atomic ? 0 : clf_republish(c, NULL, 0);
		if (r2) {
			c->broken = true;
			at_line(b, i < b->n ? &b->c[i] : NULL, err, errlen, why,
				"; putting the rule set back failed too: reload the rule set");
		} else {
			at_line(b, i < b->n ? &b->c[i] : NULL, err, errlen, why, "; nothing applied");
		}
	}
	undo_free(&u);
	free(gone.v);
	return ret;
}
