// SPDX-License-Identifier: MIT
/* layout.c: key layouts, rule sets and per-field rule setters of libwcard. */
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <wcard/wcard.h>
#include "core/core.h"

#define F(t, w, n) { .type = (t), .width = (w), .name = (n) }

static const struct wcard_field v4_fields[] = {
	F(WC_FIELD_PREFIX, 4, "src"),	F(WC_FIELD_PREFIX, 4, "dst"),
	F(WC_FIELD_RANGE, 2, "sport"), F(WC_FIELD_RANGE, 2, "dport"),
	F(WC_FIELD_MASK, 1, "proto"),	F(WC_FIELD_MASK, 1, "flags"),
};

static const struct wcard_field v6_fields[] = {
	F(WC_FIELD_PREFIX, 16, "src"), F(WC_FIELD_PREFIX, 16, "dst"),
	F(WC_FIELD_RANGE, 2, "sport"), F(WC_FIELD_RANGE, 2, "dport"),
	F(WC_FIELD_MASK, 1, "proto"),	F(WC_FIELD_MASK, 1, "flags"),
};

static struct wcard_layout builtin_v4, builtin_v6, builtin_inet;

static void builtin_init(void)
{
	static int done;

	if (done)
		return;
	/* Both fit by construction; a failure here is a programming error. */
	if (wcard_layout_init(&builtin_v4, "ipv4-5tuple", v4_fields, 6, NULL, 0) ||
	    wcard_layout_init(&builtin_v6, "ipv6-5tuple", v6_fields, 6, NULL, 0) ||
	    wcard_layout_init(&builtin_inet, "inet", v6_fields, 6, NULL, 0))
		abort();
	builtin_v4.id = WC_LAYOUT_IPV4_5T;
	builtin_v6.id = WC_LAYOUT_IPV6_5T;
	builtin_inet.id = WC_LAYOUT_INET;
	done = 1;
}

const struct wcard_layout *wcard_layout_ipv4(void)
{
	builtin_init();
	return &builtin_v4;
}

const struct wcard_layout *wcard_layout_ipv6(void)
{
	builtin_init();
	return &builtin_v6;
}

const struct wcard_layout *wcard_layout_inet(void)
{
	builtin_init();
	return &builtin_inet;
}

const struct wcard_layout *wcard_layout_builtin(const char *name)
{
	if (!name)
		return NULL;
	if (!strcmp(name, "ipv4-5tuple"))
		return wcard_layout_ipv4();
	if (!strcmp(name, "ipv6-5tuple"))
		return wcard_layout_ipv6();
	if (!strcmp(name, "inet"))
		return wcard_layout_inet();
	return NULL;
}

const struct wcard_layout *wcard_layout_family(const struct wcard_layout *l, unsigned int family)
{
	if (!l || l->id != WC_LAYOUT_INET)
		return l;
	return family == 6 ? wcard_layout_ipv6() : wcard_layout_ipv4();
}

/* The family every rule of an IP layout is of: 4, 6, or 0 for inet (each its own). */
static unsigned int layout_family(const struct wcard_layout *l)
{
	return l->id == WC_LAYOUT_IPV4_5T ? 4 : l->id == WC_LAYOUT_IPV6_5T ? 6 : 0;
}

static bool ip_layout(const struct wcard_layout *l)
{
	return l->id == WC_LAYOUT_IPV4_5T || l->id == WC_LAYOUT_IPV6_5T || l->id == WC_LAYOUT_INET;
}

int wcard_ruleset_convert(struct wcard_ruleset *rs, const struct wcard_layout *l, char *err,
			  size_t errlen)
{
	unsigned int from, to;
	size_t i;

	if (!rs || !rs->layout || !l)
		return -EINVAL;
	if (rs->layout == l || (rs->layout->id == l->id && l->id != WC_LAYOUT_CUSTOM)) {
		rs->layout = l;
		return 0;
	}
	if (!ip_layout(rs->layout) || !ip_layout(l)) {
		if (err && errlen)
			snprintf(err, errlen, "rules of layout %s do not fit layout %s",
				 rs->layout->name, l->name);
		return -EINVAL;
	}
	from = layout_family(rs->layout);
	to = layout_family(l);
	/* All or nothing: every rule must fit before any changes. */
	for (i = 0; to && i < rs->n; i++) {
		const struct wcard_rule *r = &rs->rules[i];
		unsigned int fam = from ? from : r->family;

		if (fam && fam != to) {
			if (err && errlen)
				snprintf(err, errlen,
					 "rule %u (line %u): an IPv%u rule in a rule set of layout "
					 "%s (inet takes both families)",
					 r->id, r->line, fam, l->name);
			return -EINVAL;
		}
	}
	/* Into inet, a rule of one family's layout is of that family; out of it, of none. */
	for (i = 0; i < rs->n; i++)
		rs->rules[i].family = to ? 0 : (__u8)from;
	rs->layout = l;
	return 0;
}

static int width_ok(enum wc_field_type t, unsigned int w)
{
	if (w != 1 && w != 2 && w != 4 && w != 8 && w != 16)
		return 0;
	/* Ranges compare one key word: at most 8 bytes. */
	return !(t == WC_FIELD_RANGE && w == 16);
}

int wcard_layout_init(struct wcard_layout *l, const char *name, const struct wcard_field *fields,
		      unsigned int nfields, char *err, size_t errlen)
{
	unsigned int i, word = 0;

	if (!l || !fields || !name)
		return -EINVAL;
	if (nfields == 0 || nfields > WC_MAX_FIELDS) {
		if (err)
			snprintf(err, errlen, "layout %s: %u fields, supported 1..%u", name, nfields,
				 WC_MAX_FIELDS);
		return -EINVAL;
	}
	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->id = WC_LAYOUT_CUSTOM;
	for (i = 0; i < nfields; i++) {
		const struct wcard_field *f = &fields[i];
		unsigned int nw = f->width > 8 ? 2 : 1;

		if (f->type < WC_FIELD_PREFIX || f->type > WC_FIELD_MASK ||
		    !width_ok(f->type, f->width)) {
			if (err)
				snprintf(err, errlen,
					 "layout %s: field %u (%s): type %d with width %u is not supported",
					 name, i, f->name, f->type, f->width);
			return -EINVAL;
		}
		if (word + nw > WC_KEY_WORDS) {
			if (err)
				snprintf(err, errlen,
					 "layout %s: key wider than %u words (64 bytes) at field %u (%s)",
					 name, WC_KEY_WORDS, i, f->name);
			return -EINVAL;
		}
		l->fields[i] = *f;
		l->desc[i].type = f->type;
		l->desc[i].width = f->width;
		l->desc[i].word = word;
		l->desc[i].nwords = nw;
		word += nw;
	}
	l->nfields = nfields;
	l->nwords = word;
	return 0;
}

void wcard_ruleset_init(struct wcard_ruleset *rs, const struct wcard_layout *layout)
{
	memset(rs, 0, sizeof(*rs));
	rs->layout = layout;
}

void wcard_ruleset_free(struct wcard_ruleset *rs)
{
	if (!rs)
		return;
	free(rs->rules);
	rs->rules = NULL;
	rs->n = rs->cap = 0;
}

int wcard_ruleset_add(struct wcard_ruleset *rs, const struct wcard_rule *r)
{
	int ret = arr_grow_heap((void **)&rs->rules, rs->n, &rs->cap, sizeof(*rs->rules));

	if (!ret)
		rs->rules[rs->n++] = *r;
	return ret;
}

static wc_u128 field_ones(unsigned int width)
{
	return width >= 16 ? ~(wc_u128)0 : (((wc_u128)1 << (width * 8)) - 1);
}

static wc_u128 prefix_mask(unsigned int width, unsigned int plen)
{
	unsigned int bits = width * 8;

	if (plen == 0)
		return 0;
	return field_ones(width) & ~(plen >= bits ? 0 : field_ones(width) >> plen);
}

void wcard_rule_any(const struct wcard_layout *l, struct wcard_rule *r)
{
	unsigned int i;

	/* inet: family 0, both; wildcards look the same in either family's layout. */
	l = wcard_layout_family(l, 0);
	memset(r, 0, sizeof(*r));
	for (i = 0; i < l->nfields; i++)
		if (l->fields[i].type == WC_FIELD_RANGE)
			r->f[i].hi = (__u64)field_ones(l->fields[i].width);
}

static int field_check(const struct wcard_layout *l, unsigned int field, enum wc_field_type t)
{
	if (!l || field >= l->nfields)
		return -EINVAL;
	return l->fields[field].type == t ? 0 : -EINVAL;
}

int wcard_rule_set_prefix(const struct wcard_layout *l, struct wcard_rule *r, unsigned int field,
			  wc_u128 value, unsigned int plen)
{
	unsigned int w;

	l = wcard_layout_family(l, r->family);
	if (field_check(l, field, WC_FIELD_PREFIX))
		return -EINVAL;
	w = l->fields[field].width;
	if (plen > w * 8 || (value & ~field_ones(w)))
		return -EINVAL;
	r->f[field].mask = prefix_mask(w, plen);
	r->f[field].value = value & r->f[field].mask;
	r->f[field].plen = plen;
	return 0;
}

int wcard_rule_set_range(const struct wcard_layout *l, struct wcard_rule *r, unsigned int field,
			 __u64 lo, __u64 hi)
{
	l = wcard_layout_family(l, r->family);
	if (field_check(l, field, WC_FIELD_RANGE))
		return -EINVAL;
	if (lo > hi || hi > (__u64)field_ones(l->fields[field].width))
		return -EINVAL;
	r->f[field].lo = lo;
	r->f[field].hi = hi;
	return 0;
}

int wcard_rule_set_exact(const struct wcard_layout *l, struct wcard_rule *r, unsigned int field,
			 wc_u128 value)
{
	unsigned int w;

	l = wcard_layout_family(l, r->family);
	if (field_check(l, field, WC_FIELD_EXACT))
		return -EINVAL;
	w = l->fields[field].width;
	if (value & ~field_ones(w))
		return -EINVAL;
	r->f[field].mask = field_ones(w);
	r->f[field].value = value;
	r->f[field].plen = w * 8;
	return 0;
}

int wcard_rule_set_mask(const struct wcard_layout *l, struct wcard_rule *r, unsigned int field,
			wc_u128 value, wc_u128 mask)
{
	unsigned int w;

	l = wcard_layout_family(l, r->family);
	if (field_check(l, field, WC_FIELD_MASK))
		return -EINVAL;
	w = l->fields[field].width;
	if ((value | mask) & ~field_ones(w))
		return -EINVAL;
	r->f[field].mask = mask;
	r->f[field].value = value & mask;
	return 0;
}

/* A rule's family agrees with its layout: 0, or -EINVAL with the reason in err. */
static int family_check(const struct wcard_layout *l, const struct wcard_rule *r, char *err,
			size_t errlen)
{
	const char *why = NULL;
	unsigned int f;

	if (l->id != WC_LAYOUT_INET) {
		if (r->family)
			why = "a family is for inet rule sets only";
	} else if (r->family && r->family != 4 && r->family != 6) {
		why = "family is neither 4 nor 6";
	} else if (!r->family) {
		/* Of both families: no address, which would be of one of them. */
		for (f = 0; f < l->nfields && !why; f++)
			if (l->fields[f].type == WC_FIELD_PREFIX && r->f[f].plen)
				why = "an address in a rule of both families (family 0)";
	}
	if (!why)
		return 0;
	if (err && errlen)
		snprintf(err, errlen, "rule %u (line %u): %s", r->id, r->line, why);
	return -EINVAL;
}

int wcard_rule_check(const struct wcard_layout *l, const struct wcard_rule *r, char *err,
		     size_t errlen)
{
	unsigned int f;
	int ret = family_check(l, r, err, errlen);

	if (ret)
		return ret;
	l = wcard_layout_family(l, r->family);

	for (f = 0; f < l->nfields; f++) {
		const struct wcard_match *m = &r->f[f];
		unsigned int w = l->fields[f].width;
		const char *why = NULL;

		switch (l->fields[f].type) {
		case WC_FIELD_RANGE:
			if (m->lo > m->hi)
				why = "range lo > hi";
			else if (m->hi > (__u64)field_ones(w))
				why = "range beyond the field's width";
			break;
		case WC_FIELD_PREFIX:
			if (m->plen > w * 8 || m->mask != prefix_mask(w, m->plen))
				why = "prefix length and mask disagree";
			else if (m->value & ~m->mask)
				why = "value has bits outside the prefix";
			break;
		case WC_FIELD_EXACT:
			if (m->mask && m->mask != field_ones(w))
				why = "exact field with a partial mask";
			else if (m->value & ~m->mask)
				why = "value has bits outside the mask";
			break;
		case WC_FIELD_MASK:
			if ((m->value | m->mask) & ~field_ones(w))
				why = "value or mask beyond the field's width";
			else if (m->value & ~m->mask)
				why = "value has bits outside the mask";
			break;
		}
		if (why) {
			if (err && errlen)
				snprintf(err, errlen, "rule %u (line %u): field %s: %s", r->id, r->line,
					 l->fields[f].name, why);
			return -EINVAL;
		}
	}
	return 0;
}
