// SPDX-License-Identifier: MIT
/*
 * fuzz_rules.c: the rule parsers (ClassBench and the human syntax) and the
 * change batch reader (wcard_batch_load) on any bytes. Properties: no crash
 * or sanitizer finding; a failure names the input and a line and loads
 * nothing; every rule loaded is well formed and survives a round trip through
 * wcard_rule_format() unchanged; every change read is one the batch syntax
 * allows, and an added rule survives the round trip as an "add" line.
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

/* A failure names the input and a line ("NAME:LINE: ..."). */
static void names_input(const char *err, const char *path)
{
	size_t n = strlen(path);

	if (strncmp(err, path, n) || err[n] != ':')
		fz_fail("error does not name the input '%s': '%s'", path, err);
}

/* The batch reader on the input, as a string or a file, in layout l. */
static void fuzz_batch(const uint8_t *data, size_t size, const struct wcard_layout *l,
		       bool from_file)
{
	struct wcard_batch b = {};
	char err[512] = "", path[64] = "fuzz", *text = NULL;
	const struct wcard_layout *bl;
	size_t i;
	int ret, fd = -1;

	if (from_file) {
		fd = fz_file(data, size, path, sizeof(path));
		if (fd < 0)
			return;
		ret = wcard_batch_load(path, l, &b, err, sizeof(err));
		close(fd);
	} else {
		text = fz_text(data, size);
		ret = wcard_batch_parse("fuzz", text, l, &b, err, sizeof(err));
	}
	if (ret) {
		if (ret != -EINVAL && ret != -E2BIG && ret != -ENOMEM && ret != -EIO)
			fz_fail("batch: unexpected error %d (%s)", ret, err);
		names_input(err, path);
		if (b.n || b.c)
			fz_fail("batch: failed read left %zu changes behind: '%s'", b.n, err);
		goto out;
	}
	bl = b.layout;
	if (!bl || (l && bl != l))
		fz_fail("batch: layout %s, asked for %s", bl ? bl->name : "none",
			l ? l->name : "none");
	for (i = 0; i < b.n; i++) {
		const struct wcard_change *c = &b.c[i];
		struct wcard_batch back = {};
		char line[1100], e2[512] = "";

		if (!c->line || (i && c->line <= b.c[i - 1].line))
			fz_fail("batch: change %zu has line %u after %u", i, c->line,
				i ? b.c[i - 1].line : 0);
		if (c->op == WCARD_CHANGE_DEL || c->op == WCARD_CHANGE_UPDATE) {
			if (c->id >= WC_ID_MOVED)
				fz_fail("batch: change %zu: id %u is not a rule id", i, c->id);
			if (c->op == WCARD_CHANGE_UPDATE && !c->has_prio && !c->has_value)
				fz_fail("batch: change %zu: an update that changes nothing", i);
			continue;
		}
		if (c->op != WCARD_CHANGE_ADD)
			fz_fail("batch: change %zu: op %d", i, c->op);
		if (wcard_rule_check(bl, c->rule, e2, sizeof(e2)))
			fz_fail("batch: change %zu: rule not well formed: %s", i, e2);
		memcpy(line, "add ", 4);
		wcard_rule_format(bl, c->rule, line + 4, sizeof(line) - 4);
		if (wcard_batch_parse("again", line, bl, &back, e2, sizeof(e2)) || back.n != 1 ||
		    back.c[0].op != WCARD_CHANGE_ADD)
			fz_fail("batch: change %zu formats as '%s', which does not read back: %s", i,
				line, e2);
		same_rule(bl, c->rule, back.c[0].rule, line);
		wcard_batch_free(&back);
	}
out:
	wcard_batch_free(&b);
	free(text);
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
	/* 0x40 and 0x20 both set: a change batch instead of a rule file. */
	if ((data[-1] & 0x60) == 0x60) {
		fuzz_batch(data, size, layouts[data[-1] % 3], from_file);
		return 0;
	}
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
		names_input(err, path);
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
