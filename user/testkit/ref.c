// SPDX-License-Identifier: MIT
/* ref.c: the reference classifier every BPF answer is checked against (a linear scan); test kit. */
#include "testkit.h"

long tk_ref_lookup_family(const struct wcard_ruleset *rs, unsigned int family,
			  const struct wc_key *k)
{
	long best = -1;
	size_t i;

	for (i = 0; i < rs->n; i++) {
		if (best >= 0 && rs->rules[i].prio >= rs->rules[best].prio)
			continue;
		if (wcard_rule_matches_family(rs->layout, &rs->rules[i], family, k))
			best = (long)i;
	}
	return best;
}

long tk_ref_lookup(const struct wcard_ruleset *rs, const struct wc_key *k)
{
	return tk_ref_lookup_family(rs, rs->layout->id == WC_LAYOUT_IPV6_5T ? 6 : 4, k);
}
