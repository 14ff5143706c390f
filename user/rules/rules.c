// SPDX-License-Identifier: MIT
/* rules.c: the rule file readers, ClassBench and the human syntax (wcard_rules_load); libwcard. */
#include <stdio.h>
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <wcard/wcard.h>
#include "rules_int.h"

/* ---- rule parsing context ------------------------------------------------- */

struct pctx {
	struct lsrc *s;
	/*
	 * The rule set's layout: given, or picked by the format of the first
	 * rule line (inet for the human syntax, ipv4-5tuple for ClassBench).
	 */
	const struct wcard_layout *layout;
};

static bool layout_same(const struct wcard_layout *a, const struct wcard_layout *b)
{
	unsigned int i;

	if (a == b)
		return true;
	/* inet has ipv6-5tuple's fields, and its rules are of either family. */
	if (a->id != b->id || a->nfields != b->nfields)
		return false;
	for (i = 0; i < a->nfields; i++)
		if (a->fields[i].type != b->fields[i].type ||
		    a->fields[i].width != b->fields[i].width ||
		    strncmp(a->fields[i].name, b->fields[i].name, sizeof(a->fields[i].name)))
			return false;
	return true;
}

static const char *article(const char *name)
{
	return strchr("aeiouAEIOU", name[0]) && name[0] ? "an" : "a";
}

static int field_index(const struct wcard_layout *l, const char *name)
{
	unsigned int i;

	for (i = 0; i < l->nfields; i++)
		if (!strncmp(l->fields[i].name, name, sizeof(l->fields[i].name)))
			return i;
	return -1;
}

/* "ADDR[/LEN]" (IPv4, IPv6, or a number outside the built-ins) into PREFIX field f. */
static int parse_prefix(struct pctx *c, struct wcard_rule *r, unsigned int f, const char *tok)
{
	const struct wcard_layout *l = c->layout;
	const char *slash = strchr(tok, '/');
	size_t alen = slash ? (size_t)(slash - tok) : strlen(tok);
	unsigned int w = l->fields[f].width, fam = 0, plen, i;
	unsigned char bytes[16];
	char abuf[64];
	wc_u128 v = 0;

	if (alen >= sizeof(abuf))
		return lfail(c->s, "bad address '%.*s'", 64, tok);
	memcpy(abuf, tok, alen);
	abuf[alen] = 0;
	if (inet_pton(AF_INET, abuf, bytes) == 1)
		fam = 4;
	else if (inet_pton(AF_INET6, abuf, bytes) == 1)
		fam = 6;
	if (fam && l->id == WC_LAYOUT_INET) {
		/* The first address of a rule says its family; the others must agree. */
		if (r->family && r->family != fam)
			return lfail(c->s, "IPv%u address in a rule with IPv%u addresses", fam,
				     r->family);
		r->family = (__u8)fam;
		l = wcard_layout_family(l, fam);
		w = l->fields[f].width;
	}
	if (fam) {
		if (w != (fam == 4 ? 4u : 16u))
			return lfail(c->s, "IPv%u address in %s %s rule set (inet takes both)",
				     fam, article(l->name), l->name);
		for (i = 0; i < w; i++)
			v = v << 8 | bytes[i];
	} else {
		/* Plain numbers only where no address is expected. */
		if ((l->id != WC_LAYOUT_CUSTOM && (w == 4 || w == 16)) ||
		    parse_num(abuf, alen, u128_ones(w), false, &v))
			return lfail(c->s, "bad address '%s'", abuf);
	}
	plen = w * 8;
	if (slash) {
		wc_u128 n;
		int ret = parse_num(slash + 1, strlen(slash + 1), ~(wc_u128)0, true, &n);

		if (ret == -EINVAL)
			return lfail(c->s, "bad prefix length '%.64s'", slash + 1);
		if (ret || n > w * 8) {
			char nb[48];

			return lfail(c->s, "prefix length %s longer than field (%u)",
				     u128_str(n, false, nb, sizeof(nb)), w * 8);
		}
		plen = (unsigned int)n;
	}
	/* Host bits beyond the prefix are accepted and cleared. */
	if (wcard_rule_set_prefix(l, r, f, v, plen))
		return lfail(c->s, "cannot set field '%s'", l->fields[f].name);
	return 0;
}

/* ---- ClassBench ----------------------------------------------------------- */

/* "LO : HI" (spaces optional around ':'). */
static int cb_range(struct pctx *c, struct wcard_rule *r, unsigned int f, char **pp,
		    const char *what)
{
	const struct wcard_layout *l = c->layout;
	char *p = skip_ws(*pp), *s;
	wc_u128 v[2];
	int i, ret;

	for (i = 0; i < 2; i++) {
		if (i) {
			p = skip_ws(p);
			if (*p != ':')
				return lfail(c->s, "bad %s range: expected ':' at '%.32s'", what,
					     p);
			p = skip_ws(p + 1);
		}
		s = p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == s || (*p && !is_ws(*p) && *p != ':'))
			return lfail(c->s, "bad %s range at '%.32s'", what, s);
		ret = parse_num(s, p - s, 0xffff, true, &v[i]);
		if (ret)
			return lfail(c->s, "%s %.*s out of range (0..65535)", what, (int)(p - s),
				     s);
	}
	if (v[0] > v[1])
		return lfail(c->s, "port range lo %u > hi %u", (unsigned int)v[0],
			     (unsigned int)v[1]);
	*pp = p;
	if (wcard_rule_set_range(l, r, f, (__u64)v[0], (__u64)v[1]))
		return lfail(c->s, "cannot set field '%s'", l->fields[f].name);
	return 0;
}

/* "V/M", both numbers <= max. */
static int cb_pair(const char *tok, wc_u128 max, wc_u128 *v, wc_u128 *m)
{
	const char *slash = strchr(tok, '/');

	if (!slash)
		return -EINVAL;
	if (parse_num(tok, slash - tok, max, false, v) ||
	    parse_num(slash + 1, strlen(slash + 1), max, false, m))
		return -EINVAL;
	return 0;
}

static int cb_line(struct pctx *c, char *p, struct wcard_rule *r)
{
	const struct wcard_layout *l = wcard_layout_ipv4();
	wc_u128 v, m;
	char *tok;
	int ret;

	if (*p != '@')
		return lfail(c->s, "expected '@' at the start of a ClassBench rule");
	p++;
	tok = next_word(&p);
	if (!*tok)
		return lfail(c->s, "missing source address");
	ret = parse_prefix(c, r, WC_F_SRC, tok);
	if (ret)
		return ret;
	tok = next_word(&p);
	if (!*tok)
		return lfail(c->s, "missing destination address");
	ret = parse_prefix(c, r, WC_F_DST, tok);
	if (ret)
		return ret;
	ret = cb_range(c, r, WC_F_SPORT, &p, "source port");
	if (ret)
		return ret;
	ret = cb_range(c, r, WC_F_DPORT, &p, "destination port");
	if (ret)
		return ret;
	tok = next_word(&p);
	if (!*tok)
		return lfail(c->s, "missing protocol");
	if (cb_pair(tok, 0xff, &v, &m))
		return lfail(c->s, "bad protocol '%.64s' (expected 0xVV/0xMM)", tok);
	wcard_rule_set_mask(l, r, WC_F_PROTO, v & m, m);
	/* Flags: checked, then ignored (ClassBench traces carry no real flags). */
	tok = next_word(&p);
	if (*tok && cb_pair(tok, 0xffff, &v, &m))
		return lfail(c->s, "bad flags '%.64s' (expected 0xVVVV/0xMMMM)", tok);
	p = skip_ws(p);
	if (*p)
		return lfail(c->s, "trailing garbage '%.64s'", p);
	return 0;
}

/* ---- the human syntax ----------------------------------------------------- */

struct lex {
	char *p;
	bool comma; /* a ',' ended the last word: return it next */
	bool done;
};

/* Next word, "," or NULL at the end of the line or at a '#' comment. */
static const char *lex_next(struct lex *x)
{
	char *s;

	if (x->comma) {
		x->comma = false;
		return ",";
	}
	if (x->done)
		return NULL;
	x->p = skip_ws(x->p);
	if (!*x->p || *x->p == '#') {
		x->done = true;
		return NULL;
	}
	if (*x->p == ',') {
		x->p++;
		return ",";
	}
	s = x->p;
	while (*x->p && !is_ws(*x->p) && *x->p != ',' && *x->p != '#')
		x->p++;
	switch (*x->p) {
	case 0:
		x->done = true;
		break;
	case '#':
		x->done = true;
		*x->p = 0;
		break;
	case ',':
		x->comma = true;
		*x->p++ = 0;
		break;
	default:
		*x->p++ = 0;
	}
	return s;
}

/* "syn|ack", "syn+ack", "0x12", "18", mixed; 0 or -EINVAL / -ERANGE. */
static int parse_flags(const char *s, size_t n, wc_u128 max, wc_u128 *out)
{
	const char *end = s + n;
	wc_u128 v = 0, t;
	unsigned int i;

	for (;;) {
		const char *e = s;

		while (e < end && *e != '|' && *e != '+')
			e++;
		for (i = 0; i < 8; i++)
			if ((size_t)(e - s) == strlen(tcp_flag_names[i]) &&
			    !strncmp(s, tcp_flag_names[i], e - s))
				break;
		if (i < 8) {
			t = 1u << i;
		} else {
			int ret = parse_num(s, e - s, max, false, &t);

			if (ret)
				return ret;
		}
		v |= t;
		if (e == end)
			break;
		s = e + 1;
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* One side of a MASK field's "V/M". */
static int mask_part(struct pctx *c, const char *fname, unsigned int width, const char *s, size_t n,
		     wc_u128 *out)
{
	char nb[48];
	int ret, p;

	if (!strcmp(fname, "flags")) {
		ret = parse_flags(s, n, u128_ones(width), out);
	} else {
		ret = parse_num(s, n, u128_ones(width), false, out);
		if (ret == -EINVAL && !strcmp(fname, "proto")) {
			p = proto_by_name(s, n);
			if (p < 0)
				return lfail(c->s, "unknown protocol '%.*s'",
					     (int)(n > 64 ? 64 : n), s);
			if ((wc_u128)p > u128_ones(width))
				ret = -ERANGE;
			else
				*out = p, ret = 0;
		}
	}
	if (ret == -ERANGE)
		return lfail(c->s, "%s %.*s out of range (0..%s)", fname, (int)(n > 64 ? 64 : n), s,
			     u128_str(u128_ones(width), false, nb, sizeof(nb)));
	if (ret)
		return lfail(c->s, "bad %s '%.*s'", fname, (int)(n > 64 ? 64 : n), s);
	return 0;
}

/* The argument of a field keyword. */
static int h_field(struct pctx *c, struct wcard_rule *r, unsigned int f, const char *arg)
{
	const struct wcard_layout *l = c->layout;
	const struct wcard_field *fd = &l->fields[f];
	const char *sep;
	wc_u128 v, m;
	char nb[48];
	int ret;

	if (!strcmp(arg, "any"))
		return 0; /* wcard_rule_any() made it a wildcard */
	switch (fd->type) {
	case WC_FIELD_PREFIX:
		return parse_prefix(c, r, f, arg);
	case WC_FIELD_RANGE:
		sep = strchr(arg, '-');
		ret = parse_num(arg, sep ? (size_t)(sep - arg) : strlen(arg), u128_ones(fd->width),
				false, &v);
		if (!ret) {
			m = v;
			if (sep)
				ret = parse_num(sep + 1, strlen(sep + 1), u128_ones(fd->width), false,
						&m);
		}
		if (ret == -ERANGE)
			return lfail(c->s, "%s '%.64s' out of range (0..%s)", fd->name, arg,
				     u128_str(u128_ones(fd->width), false, nb, sizeof(nb)));
		if (ret)
			return lfail(c->s, "bad %s '%.64s'", fd->name, arg);
		if (v > m)
			return lfail(c->s, "%s range lo %llu > hi %llu", fd->name,
				     (unsigned long long)v, (unsigned long long)m);
		ret = wcard_rule_set_range(l, r, f, (__u64)v, (__u64)m);
		break;
	case WC_FIELD_EXACT:
		ret = parse_num(arg, strlen(arg), u128_ones(fd->width), false, &v);
		if (ret == -ERANGE)
			return lfail(c->s, "%s %.64s out of range (0..%s)", fd->name, arg,
				     u128_str(u128_ones(fd->width), false, nb, sizeof(nb)));
		if (ret)
			return lfail(c->s, "bad %s '%.64s'", fd->name, arg);
		ret = wcard_rule_set_exact(l, r, f, v);
		break;
	case WC_FIELD_MASK:
		sep = strchr(arg, '/');
		ret = mask_part(c, fd->name, fd->width, arg,
				sep ? (size_t)(sep - arg) : strlen(arg), &v);
		if (ret)
			return ret;
		if (sep) {
			ret = mask_part(c, fd->name, fd->width, sep + 1, strlen(sep + 1), &m);
			if (ret)
				return ret;
		} else {
			/* "flags syn": SYN set, the others don't care. */
			m = strcmp(fd->name, "flags") ? u128_ones(fd->width) : v;
		}
		ret = wcard_rule_set_mask(l, r, f, v & m, m);
		break;
	default:
		ret = -EINVAL;
	}
	if (ret)
		return lfail(c->s, "cannot set field '%s'", fd->name);
	return 0;
}

enum kw { KW_PASS, KW_DROP, KW_REDIRECT, KW_VALUE, KW_PRIO, KW_SHORT, KW_FIELD };

/* What tok is in layout l; -1 if unknown. *arg: the value of a shorthand or the field index. */
static int h_keyword(const struct wcard_layout *l, const char *tok, int *arg)
{
	if (!strcmp(tok, "pass"))
		return KW_PASS;
	if (!strcmp(tok, "drop"))
		return KW_DROP;
	if (!strcmp(tok, "redirect"))
		return KW_REDIRECT;
	if (!strcmp(tok, "value"))
		return KW_VALUE;
	if (!strcmp(tok, "prio"))
		return KW_PRIO;
	*arg = field_index(l, tok);
	if (*arg >= 0)
		return KW_FIELD;
	*arg = proto_bare(tok);
	return *arg >= 0 && field_index(l, "proto") >= 0 ? KW_SHORT : -1;
}

#define SEEN_PRIO   RULE_SEEN_PRIO
#define SEEN_ACTION RULE_SEEN_ACTION

/*
 * Parses one line. 1: a rule in r, 0: nothing on the line, < 0: error.
 * *seen_out: the clauses it had (rules_line).
 */
static int h_line(struct pctx *c, char *line, __u32 ordinal, struct wcard_rule *r,
		  unsigned int *seen_out)
{
	struct lex x = { .p = line };
	const char *tok = lex_next(&x), *arg = NULL, *action = NULL;
	unsigned int seen = 0, bit;
	int kw, karg = 0, f, ret;
	__u64 n;

	if (!tok)
		return 0;
	wcard_rule_any(c->layout, r);
	r->prio = ordinal;
	r->id = ordinal;
	r->line = c->s->lineno;
	for (; tok; tok = lex_next(&x)) {
		const struct wcard_layout *l = c->layout;

		if (!strcmp(tok, ","))
			return lfail(c->s, "unexpected ','");
		kw = h_keyword(l, tok, &karg);
		switch (kw) {
		case KW_PASS:
		case KW_DROP:
		case KW_REDIRECT:
		case KW_VALUE:
			bit = SEEN_ACTION;
			break;
		case KW_PRIO:
			bit = SEEN_PRIO;
			break;
		case KW_SHORT:
			bit = 1u << field_index(l, "proto");
			break;
		case KW_FIELD:
			bit = 1u << karg;
			break;
		default:
			return lfail(c->s, "unknown keyword '%.64s'", tok);
		}
		if (seen & bit) {
			if (bit == SEEN_ACTION)
				return lfail(c->s, "more than one action ('%s' after '%s')", tok,
					     action);
			if (kw == KW_SHORT)
				return lfail(c->s, "duplicate protocol '%s'", tok);
			return lfail(c->s, "duplicate '%s'", tok);
		}
		seen |= bit;
		if (kw == KW_VALUE || kw == KW_PRIO || kw == KW_FIELD || kw == KW_REDIRECT) {
			arg = lex_next(&x);
			if (!arg || !strcmp(arg, ","))
				return lfail(c->s, "missing argument after '%.64s'", tok);
		}
		switch (kw) {
		case KW_PASS:
			r->value = WC_ACT_PASS;
			action = tok;
			break;
		case KW_DROP:
			r->value = WC_ACT_DROP;
			action = tok;
			break;
		case KW_REDIRECT:
			/* An interface of this host (network namespace) by name, or an ifindex. */
			ret = parse_u64(arg, UINT32_MAX, &n);
			if (ret)
				n = if_nametoindex(arg);
			if (!n)
				return lfail(c->s, "redirect: no interface '%.64s'", arg);
			r->value = WC_VALUE_REDIRECT((__u32)n);
			action = tok;
			break;
		case KW_VALUE:
			ret = parse_u64(arg, UINT64_MAX, &n);
			if (ret == -ERANGE)
				return lfail(c->s, "value %.64s out of range (64 bits)", arg);
			if (ret)
				return lfail(c->s, "bad value '%.64s'", arg);
			r->value = n;
			action = tok;
			break;
		case KW_PRIO:
			ret = parse_u64(arg, UINT32_MAX, &n);
			if (ret == -ERANGE)
				return lfail(c->s, "prio %.64s out of range (0..4294967295)", arg);
			if (ret)
				return lfail(c->s, "bad prio '%.64s'", arg);
			r->prio = (__u32)n;
			break;
		case KW_SHORT:
			f = field_index(l, "proto");
			if (wcard_rule_set_mask(l, r, f, karg, u128_ones(l->fields[f].width)))
				return lfail(c->s, "cannot set field 'proto'");
			break;
		case KW_FIELD:
			ret = h_field(c, r, karg, arg);
			if (ret)
				return ret;
			break;
		}
		/* an optional ',' after each clause */
		if (x.comma)
			x.comma = false;
		else if (!x.done && *skip_ws(x.p) == ',')
			x.p = skip_ws(x.p) + 1;
	}
	*seen_out = seen;
	return 1;
}

static int missing_action(struct lsrc *s)
{
	return lfail(s, "missing action (pass, drop, redirect IFACE or value N)");
}

int rules_line(struct lsrc *s, const struct wcard_layout *l, char *line, __u32 ordinal,
	       struct wcard_rule *r, unsigned int *seen)
{
	struct pctx c = { .s = s, .layout = l };

	*seen = 0;
	return h_line(&c, line, ordinal, r, seen);
}

/* ---- loading -------------------------------------------------------------- */

/* Appends all of src to rs, or nothing. */
static int ruleset_take(struct wcard_ruleset *rs, struct wcard_ruleset *src)
{
	struct wcard_rule *p;

	if (!rs->n) {
		free(rs->rules);
		rs->rules = src->rules;
		rs->cap = src->cap;
		rs->n = src->n;
		src->rules = NULL;
		src->n = src->cap = 0;
		return 0;
	}
	if (rs->cap - rs->n < src->n) {
		p = realloc(rs->rules, (rs->n + src->n) * sizeof(*p));
		if (!p)
			return -ENOMEM;
		rs->rules = p;
		rs->cap = rs->n + src->n;
	}
	memcpy(rs->rules + rs->n, src->rules, src->n * sizeof(*p));
	rs->n += src->n;
	return 0;
}

static int rules_run(struct lsrc *s, enum wcard_rule_fmt fmt, const struct wcard_layout *layout,
		     struct wcard_ruleset *rs)
{
	struct pctx c = { .s = s };
	struct wcard_ruleset tmp;
	struct wcard_rule r;
	__u32 ordinal = 0;
	char *line, *p;
	int ret;

	if (layout && rs->layout && !layout_same(layout, rs->layout)) {
		seterr(s->err, s->errlen, "%s: layout %s does not match the rule set's (%s)",
		       s->name, layout->name, rs->layout->name);
		return -EINVAL;
	}
	c.layout = layout ? layout : rs->layout;
	if (fmt != WCARD_FMT_AUTO && fmt != WCARD_FMT_CLASSBENCH && fmt != WCARD_FMT_WCARD) {
		seterr(s->err, s->errlen, "%s: unknown rule format %d", s->name, fmt);
		return -EINVAL;
	}
	wcard_ruleset_init(&tmp, NULL);
	while ((ret = src_next(s, &line)) > 0) {
		p = skip_ws(line);
		if (!*p || *p == '#')
			continue;
		if (fmt == WCARD_FMT_AUTO)
			fmt = *p == '@' ? WCARD_FMT_CLASSBENCH : WCARD_FMT_WCARD;
		if (!c.layout)
			c.layout = fmt == WCARD_FMT_CLASSBENCH ? wcard_layout_ipv4() :
								 wcard_layout_inet();
		if (fmt == WCARD_FMT_CLASSBENCH) {
			if (!layout_same(c.layout, wcard_layout_ipv4()) &&
			    c.layout->id != WC_LAYOUT_INET) {
				ret = lfail(s,
					    "ClassBench rules need the ipv4-5tuple or inet layout, "
					    "not %s",
					    c.layout->name);
				break;
			}
			wcard_rule_any(c.layout, &r);
			r.prio = r.id = ordinal;
			r.value = ordinal;
			r.line = s->lineno;
			ret = cb_line(&c, p, &r);
			if (ret)
				break;
			/* ClassBench is an IPv4 format: its rules are IPv4 rules in inet. */
			if (c.layout->id == WC_LAYOUT_INET)
				r.family = 4;
		} else {
			unsigned int seen = 0;

			ret = h_line(&c, p, ordinal, &r, &seen);
			if (ret < 0)
				break;
			if (!ret)
				continue;
			if (!(seen & SEEN_ACTION)) {
				ret = missing_action(s);
				break;
			}
		}
		ret = wcard_ruleset_add(&tmp, &r);
		if (ret) {
			seterr(s->err, s->errlen, "%s:%u: %s", s->name, s->lineno, strerror(-ret));
			break;
		}
		ordinal++;
	}
	if (!ret && !tmp.n) {
		seterr(s->err, s->errlen, "%s: no rules", s->name);
		ret = -EINVAL;
	}
	if (!ret) {
		ret = ruleset_take(rs, &tmp);
		if (ret)
			seterr(s->err, s->errlen, "%s: %s", s->name, strerror(-ret));
		else
			rs->layout = c.layout;
	}
	wcard_ruleset_free(&tmp);
	return ret;
}

/* rules_run's arguments through src_with. */
struct rules_args {
	enum wcard_rule_fmt fmt;
	const struct wcard_layout *layout;
	struct wcard_ruleset *rs;
};

static int rules_run_src(struct lsrc *s, void *arg)
{
	struct rules_args *a = arg;

	return rules_run(s, a->fmt, a->layout, a->rs);
}

int wcard_rules_load(const char *path, enum wcard_rule_fmt fmt, const struct wcard_layout *layout,
		     struct wcard_ruleset *rs, char *err, size_t errlen)
{
	struct rules_args a = { fmt, layout, rs };

	if (!path || !rs)
		return -EINVAL;
	return src_with(path, NULL, NULL, rules_run_src, &a, err, errlen);
}

int wcard_rules_parse(const char *name, const char *text, enum wcard_rule_fmt fmt,
		      const struct wcard_layout *layout, struct wcard_ruleset *rs, char *err,
		      size_t errlen)
{
	struct rules_args a = { fmt, layout, rs };

	if (!rs)
		return -EINVAL;
	return src_with(NULL, name, text, rules_run_src, &a, err, errlen);
}
