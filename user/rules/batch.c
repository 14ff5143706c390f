// SPDX-License-Identifier: MIT
/* batch.c: the reader of change batches (add/del/update a line, wcard_batch_load); libwcard. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <wcard/wcard.h>
#include "rules_int.h"

/* An ADD into c, its rule into r (the batch's next one). */
static int change_add(struct lsrc *s, const struct wcard_layout *l, char *p, struct wcard_change *c,
		      struct wcard_rule *r)
{
	unsigned int seen;
	int ret = rules_line(s, l, p, 0, r, &seen);

	if (ret < 0)
		return ret;
	if (!ret)
		return lfail(s, "add: missing rule");
	if (!(seen & RULE_SEEN_ACTION))
		return lfail(s, "add: missing action (pass, drop, redirect IFACE or value N)");
	r->id = 0;
	c->has_prio = seen & RULE_SEEN_PRIO;
	c->prio = r->prio;
	return 0;
}

static int change_id(struct lsrc *s, const char *op, char **pp, __u32 *id)
{
	const char *w = next_word(pp);
	__u64 v;

	if (!*w || *w == '#')
		return lfail(s, "%s: missing rule id", op);
	if (parse_u64(w, WC_ID_MOVED - 1, &v))
		return lfail(s, "%s: '%.64s' is not a rule id", op, w);
	*id = (__u32)v;
	return 0;
}

static int change_update(struct lsrc *s, const struct wcard_layout *l, char *p,
			 struct wcard_change *c)
{
	struct wcard_rule r;
	unsigned int seen;
	int ret = rules_line(s, l, p, 0, &r, &seen);

	if (ret < 0)
		return ret;
	if (!ret || !(seen & (RULE_SEEN_PRIO | RULE_SEEN_ACTION)))
		return lfail(s, "update: nothing to change (prio N, or an action)");
	if (seen & ~(RULE_SEEN_PRIO | RULE_SEEN_ACTION))
		return lfail(s, "update: only prio and the action change; to change fields, "
				"delete the rule and add a new one");
	c->has_prio = seen & RULE_SEEN_PRIO;
	c->has_value = seen & RULE_SEEN_ACTION;
	c->prio = r.prio;
	c->value = r.value;
	return 0;
}

/* One line into c (an added rule into r): 1 a change, 0 nothing on it, < 0 lfail(). */
static int change_line(struct lsrc *s, const struct wcard_layout *l, char *line,
		       struct wcard_change *c, struct wcard_rule *r)
{
	char *p = skip_ws(line);
	const char *op;
	int ret;

	if (!*p || *p == '#')
		return 0;
	memset(c, 0, sizeof(*c));
	c->line = s->lineno;
	op = next_word(&p);
	if (!strcmp(op, "add")) {
		c->op = WCARD_CHANGE_ADD;
		ret = change_add(s, l, p, c, r);
	} else if (!strcmp(op, "del")) {
		c->op = WCARD_CHANGE_DEL;
		ret = change_id(s, "del", &p, &c->id);
		p = skip_ws(p);
		if (!ret && *p && *p != '#')
			ret = lfail(s, "del: one rule id a line, then nothing ('%.64s')", p);
	} else if (!strcmp(op, "update")) {
		c->op = WCARD_CHANGE_UPDATE;
		ret = change_id(s, "update", &p, &c->id) ?: change_update(s, l, p, c);
	} else {
		ret = lfail(s, "unknown change '%.64s' (add, del or update)", op);
	}
	return ret ? ret : 1;
}

static int batch_run(struct lsrc *s, const struct wcard_layout *l, struct wcard_batch *b)
{
	struct wcard_batch tmp = { 0 };
	char *line;
	size_t i;
	int ret;

	if (!l)
		l = wcard_layout_inet();
	while ((ret = src_next(s, &line)) > 0) {
		ret = arr_grow((void **)&tmp.c, tmp.n, &tmp.cap, sizeof(*tmp.c)) ?:
			      arr_grow((void **)&tmp.rules, tmp.nrules, &tmp.rcap,
				       sizeof(*tmp.rules));
		if (ret) {
			seterr(s->err, s->errlen, "%s:%u: %s", s->name, s->lineno,
			       strerror(ENOMEM));
			break;
		}
		ret = change_line(s, l, line, &tmp.c[tmp.n], &tmp.rules[tmp.nrules]);
		if (ret < 0)
			break;
		tmp.nrules += ret && tmp.c[tmp.n].op == WCARD_CHANGE_ADD;
		tmp.n += ret;
	}
	if (!ret) {
		tmp.name = strdup(s->name);
		if (!tmp.name) {
			ret = -ENOMEM;
			seterr(s->err, s->errlen, "%s: %s", s->name, strerror(ENOMEM));
		}
	}
	if (ret) {
		wcard_batch_free(&tmp);
		return ret;
	}
	/* The rules stay where they are now: the adds point at them. */
	for (i = 0, tmp.nrules = 0; i < tmp.n; i++)
		if (tmp.c[i].op == WCARD_CHANGE_ADD)
			tmp.c[i].rule = &tmp.rules[tmp.nrules++];
	tmp.layout = l;
	wcard_batch_free(b);
	*b = tmp;
	return 0;
}

/* batch_run's arguments through src_with. */
struct batch_args {
	const struct wcard_layout *l;
	struct wcard_batch *b;
};

static int batch_run_src(struct lsrc *s, void *arg)
{
	struct batch_args *a = arg;

	return batch_run(s, a->l, a->b);
}

int wcard_batch_load(const char *path, const struct wcard_layout *l, struct wcard_batch *b,
		     char *err, size_t errlen)
{
	struct batch_args a = { l, b };

	if (!path || !b)
		return -EINVAL;
	return src_with(path, NULL, NULL, batch_run_src, &a, err, errlen);
}

int wcard_batch_parse(const char *name, const char *text, const struct wcard_layout *l,
		      struct wcard_batch *b, char *err, size_t errlen)
{
	struct batch_args a = { l, b };

	if (!b)
		return -EINVAL;
	return src_with(NULL, name, text, batch_run_src, &a, err, errlen);
}

void wcard_batch_free(struct wcard_batch *b)
{
	if (!b)
		return;
	arr_free(b->c, b->cap, sizeof(*b->c));
	arr_free(b->rules, b->rcap, sizeof(*b->rules));
	free(b->name);
	memset(b, 0, sizeof(*b));
}
