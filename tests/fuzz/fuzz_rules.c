// SPDX-License-Identifier: MIT
/*
 * fuzz_rules.c: the rule parsers (ClassBench and the human syntax) on any
 * bytes. Properties: no crash or sanitizer finding; a failure names the input
 * and a line and loads nothing; every rule loaded is well formed and survives
 * a round trip through wcard_rule_format() unchanged.
 */
#include <errno.h>
#include <wcard/wcard.h>
#include "fuzz.h"

static void same_rule(const struct wcard_layout *l, const struct wcard_rule *a,
		      const struct wcard_rule *b, const char *text)
{
	unsigned int f;

	if (a->prio != b->prio || a->value != b->value)
		fz_fail("round trip of '%s': prio %u/%u value %llu/%llu", text, a->prio, b->prio,
			(unsigned long long)a->value, (unsigned long long)b->value);
	for (f = 0; f < l->nfields; f++) {
		const struct wcard_match *x = &a->f[f], *y = &b->f[f];

		if (x->value != y->value || x->mask != y->mask || x->lo != y->lo ||
		    x->hi != y->hi || x->plen != y->plen)
			fz_fail("round trip of '%s': field %s differs", text, l->fields[f].name);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum wcard_rule_fmt fmts[] = { WCARD_FMT_AUTO, WCARD_FMT_CLASSBENCH,
						    WCARD_FMT_WCARD };
	const struct wcard_layout *layouts[] = { NULL, wcard_layout_ipv4(), wcard_layout_ipv6() };
	const struct wcard_layout *layout;
	struct wcard_ruleset rs = {};
	char err[512] = "", path[64] = "fuzz", *text = NULL;
	enum wcard_rule_fmt fmt;
	bool from_file;
	size_t i;
	int ret, fd = -1;

	if (size < 1)
		return 0;
	/* First byte: format, layout, and string or file (the file path reads gzip too). */
	fmt = fmts[data[0] % 3];
	layout = layouts[(data[0] / 3) % 3];
	from_file = data[0] & 0x80;
	data++;
	size--;
	if (fmt == WCARD_FMT_CLASSBENCH)
		layout = wcard_layout_ipv4(); /* ClassBench rules are IPv4 5-tuples */
	wcard_ruleset_init(&rs, layout);
	if (from_file) {
		fd = fz_file(data, size, path, sizeof(path));
		if (fd < 0)
			return 0;
		ret = wcard_rules_load(path, fmt, layout, &rs, err, sizeof(err));
		close(fd);
	} else {
		text = fz_text(data, size);
		ret = wcard_rules_parse("fuzz", text, fmt, layout, &rs, err, sizeof(err));
	}
	if (ret) {
		if (ret != -EINVAL && ret != -E2BIG && ret != -ENOMEM && ret != -EIO)
			fz_fail("unexpected error %d (%s)", ret, err);
		if (strncmp(err, path, strlen(path)) || err[strlen(path)] != ':')
			fz_fail("error does not name the input '%s': '%s'", path, err);
		if (rs.n)
			fz_fail("failed load left %zu rules behind: '%s'", rs.n, err);
		goto out;
	}
	for (i = 0; i < rs.n; i++) {
		struct wcard_ruleset back;
		char line[1024], e2[512] = "";

		if (wcard_rule_check(rs.layout, &rs.rules[i], e2, sizeof(e2)))
			fz_fail("rule %zu loaded but not well formed: %s", i, e2);
		if (wcard_rule_format(rs.layout, &rs.rules[i], line, sizeof(line)) >=
		    (int)sizeof(line))
			fz_fail("rule %zu formats longer than %zu bytes", i, sizeof(line));
		wcard_ruleset_init(&back, rs.layout);
		if (wcard_rules_parse("again", line, WCARD_FMT_WCARD, rs.layout, &back, e2,
				      sizeof(e2)) ||
		    back.n != 1)
			fz_fail("rule %zu formats as '%s', which does not parse back: %s", i, line,
				e2);
		same_rule(rs.layout, &rs.rules[i], &back.rules[0], line);
		wcard_ruleset_free(&back);
	}
out:
	wcard_ruleset_free(&rs);
	free(text);
	return 0;
}
