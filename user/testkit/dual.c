// SPDX-License-Identifier: MIT
/* dual.c: IPv6 twins of IPv4 rule sets and traces, for dual-stack tests and bench; test kit. */
#include <errno.h>
#include <string.h>
#include "testkit.h"

/* 2001:db8::/32, the documentation prefix: every twin address is inside it. */
#define TWIN_NET ((wc_u128)0x20010db8 << 96)

/* The twin of IPv4 prefix a/len: 2001:db8:A:B::/(32 + len), or ::/0 for /0. */
static void twin_prefix(const struct wcard_match *m, struct wcard_match *out)
{
	unsigned int plen = m->plen ? 32 + m->plen : 0;

	memset(out, 0, sizeof(*out));
	out->plen = plen;
	out->mask = plen ? ~(wc_u128)0 << (128 - plen) : 0;
	out->value = (TWIN_NET | (wc_u128)(__u32)m->value << 64) & out->mask;
}

int tk_ruleset_twin6(const struct wcard_ruleset *v4, struct wcard_ruleset *out)
{
	const struct wcard_layout *l6 = wcard_layout_ipv6();
	size_t i;
	int ret;

	if (v4->layout->id != WC_LAYOUT_IPV4_5T && v4->layout->id != WC_LAYOUT_INET)
		return -EINVAL;
	wcard_ruleset_init(out, l6);
	for (i = 0; i < v4->n; i++) {
		struct wcard_rule r = v4->rules[i];

		if (r.family == 6) {
			wcard_ruleset_free(out);
			return -EINVAL;
		}
		/* The other fields are the same in both layouts. */
		twin_prefix(&v4->rules[i].f[WC_F_SRC], &r.f[WC_F_SRC]);
		twin_prefix(&v4->rules[i].f[WC_F_DST], &r.f[WC_F_DST]);
		r.family = 0;
		ret = wcard_ruleset_add(out, &r);
		if (ret) {
			wcard_ruleset_free(out);
			return ret;
		}
	}
	return 0;
}

void tk_tuple_twin6(const struct wcard_tuple *t, __u64 salt, struct wcard_tuple *out)
{
	*out = *t;
	out->family = 6;
	/* The low 64 bits vary: no twin rule looks at them. */
	out->src6 = TWIN_NET | (wc_u128)t->src << 64 | (salt * 0x9e3779b97f4a7c15ULL);
	out->dst6 = TWIN_NET | (wc_u128)t->dst << 64 | ((salt + 1) * 0xc2b2ae3d27d4eb4fULL);
	out->src = out->dst = 0;
	/* IPv6 reads these as extension headers, never as the final protocol: none. */
	if (t->proto == 0 || t->proto == 43 || t->proto == 44 || t->proto == 51 || t->proto == 60) {
		out->proto = 59;
		out->sport = out->dport = 0;
		out->flags = 0;
	}
}

int tk_ruleset_dual(const struct wcard_ruleset *v4, struct wcard_ruleset *out)
{
	struct wcard_ruleset twin;
	size_t i;
	int ret;

	ret = tk_ruleset_twin6(v4, &twin);
	if (ret)
		return ret;
	wcard_ruleset_init(out, wcard_layout_inet());
	for (i = 0; i < v4->n && !ret; i++) {
		struct wcard_rule r = v4->rules[i];

		/* No address: one rule of both families, competing with each on priority. */
		if (!r.f[WC_F_SRC].plen && !r.f[WC_F_DST].plen) {
			r.family = 0;
			ret = wcard_ruleset_add(out, &r);
			continue;
		}
		r.family = 4;
		ret = wcard_ruleset_add(out, &r);
		if (!ret) {
			r = twin.rules[i];
			r.family = 6;
			ret = wcard_ruleset_add(out, &r);
		}
	}
	wcard_ruleset_free(&twin);
	if (ret)
		wcard_ruleset_free(out);
	return ret;
}
