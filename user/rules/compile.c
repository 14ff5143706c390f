// SPDX-License-Identifier: MIT
/* compile.c: keys, rule compilation to the BPF form, and matching rules to keys; libwcard. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <wcard/wcard.h>
#include "core/core.h"

static bool has_ports(__u8 proto)
{
	return proto == 6 || proto == 17 || proto == 132;
}

/* The key of tuple t; with all_ports, its ports and flags whatever its protocol. */
static void key_from_tuple(const struct wcard_tuple *t, struct wc_key *k, bool all_ports)
{
	bool ports = all_ports || has_ports(t->proto);
	__u8 flags = all_ports || t->proto == 6 ? t->flags : 0;

	memset(k, 0, sizeof(*k));
	if (t->family == 6) {
		k->w[0] = (__u64)(t->src6 >> 64);
		k->w[1] = (__u64)t->src6;
		k->w[2] = (__u64)(t->dst6 >> 64);
		k->w[3] = (__u64)t->dst6;
		k->w[4] = ports ? t->sport : 0;
		k->w[5] = ports ? t->dport : 0;
		k->w[6] = t->proto;
		k->w[7] = flags;
		return;
	}
	k->w[0] = t->src;
	k->w[1] = t->dst;
	k->w[2] = ports ? t->sport : 0;
	k->w[3] = ports ? t->dport : 0;
	k->w[4] = t->proto;
	k->w[5] = flags;
}

void wcard_key_from_tuple(const struct wcard_tuple *t, struct wc_key *k)
{
	key_from_tuple(t, k, false);
}

void wcard_key_from_tuple_classbench(const struct wcard_tuple *t, struct wc_key *k)
{
	key_from_tuple(t, k, true);
}

static __u64 be_word(const __u8 *p, unsigned int n)
{
	__u64 v = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

int wcard_key_from_pkt(const struct wcard_layout *l, const struct wc_pkt *p, struct wc_key *k)
{
	memset(k, 0, sizeof(*k));
	/* inet: the key of the packet's family's layout. */
	if ((l->id == WC_LAYOUT_IPV4_5T || l->id == WC_LAYOUT_INET) && p->family == 4) {
		k->w[0] = be_word(p->src, 4);
		k->w[1] = be_word(p->dst, 4);
		k->w[2] = p->sport;
		k->w[3] = p->dport;
		k->w[4] = p->proto;
		k->w[5] = p->tcp_flags;
		return 0;
	}
	if ((l->id == WC_LAYOUT_IPV6_5T || l->id == WC_LAYOUT_INET) && p->family == 6) {
		k->w[0] = be_word(p->src, 8);
		k->w[1] = be_word(p->src + 8, 8);
		k->w[2] = be_word(p->dst, 8);
		k->w[3] = be_word(p->dst + 8, 8);
		k->w[4] = p->sport;
		k->w[5] = p->dport;
		k->w[6] = p->proto;
		k->w[7] = p->tcp_flags;
		return 0;
	}
	return -EAFNOSUPPORT;
}

wc_u128 wcard_key_field(const struct wcard_layout *l, const struct wc_key *k, unsigned int f)
{
	const struct wc_field_desc *d = &l->desc[f];

	if (d->nwords == 2)
		return ((wc_u128)k->w[d->word] << 64) | k->w[d->word + 1];
	return k->w[d->word];
}

void wcard_rule_compile(const struct wcard_layout *l, const struct wcard_rule *r, __u64 rank,
			struct wc_rule *out)
{
	unsigned int i;

	l = wcard_layout_family(l, r->family);
	memset(out, 0, sizeof(*out));
	out->rank = rank;
	out->value = r->value;
	out->id = r->id;
	for (i = 0; i < l->nfields; i++) {
		const struct wc_field_desc *d = &l->desc[i];
		const struct wcard_match *m = &r->f[i];
		struct wc_word_match *w = &out->w[d->word];

		if (d->type == WC_FIELD_RANGE) {
			w->mask = ~0ULL;
			w->lo = m->lo;
			w->span = m->hi - m->lo;
		} else if (d->nwords == 2) {
			w[0].mask = (__u64)(m->mask >> 64);
			w[0].lo = (__u64)(m->value >> 64) & w[0].mask;
			w[1].mask = (__u64)m->mask;
			w[1].lo = (__u64)m->value & w[1].mask;
		} else {
			w->mask = (__u64)m->mask;
			w->lo = (__u64)m->value & w->mask;
		}
	}
}

/* Bit i set when key word i belongs to a RANGE field. */
__u32 wcard_layout_range_words(const struct wcard_layout *l)
{
	__u32 bits = 0;
	unsigned int i;

	for (i = 0; i < l->nfields; i++)
		if (l->desc[i].type == WC_FIELD_RANGE)
			bits |= 1u << l->desc[i].word;
	return bits;
}

bool wcard_rule_matches_family(const struct wcard_layout *l, const struct wcard_rule *r,
			       unsigned int family, const struct wc_key *k)
{
	/* A key of the other family never matches a rule of one family's layout. */
	if ((l->id == WC_LAYOUT_IPV4_5T && family != 4) ||
	    (l->id == WC_LAYOUT_IPV6_5T && family != 6))
		return false;
	if (l->id != WC_LAYOUT_INET)
		return wcard_rule_matches(l, r, k);
	if (r->family && r->family != family)
		return false;
	return wcard_rule_matches(wcard_layout_family(l, family), r, k);
}

bool wcard_rule_matches(const struct wcard_layout *l, const struct wcard_rule *r,
			const struct wc_key *k)
{
	unsigned int i;

	l = wcard_layout_family(l, r->family);

	for (i = 0; i < l->nfields; i++) {
		const struct wcard_match *m = &r->f[i];
		wc_u128 v = wcard_key_field(l, k, i);

		switch (l->fields[i].type) {
		case WC_FIELD_RANGE:
			if (v < m->lo || v > m->hi)
				return false;
			break;
		case WC_FIELD_PREFIX:
		case WC_FIELD_EXACT:
		case WC_FIELD_MASK:
			if ((v & m->mask) != m->value)
				return false;
			break;
		default:
			return false;
		}
	}
	return true;
}
