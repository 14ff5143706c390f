// SPDX-License-Identifier: MIT
/* test_rules.c: rule file parsers, rule formatter and trace loader (suite "rules"). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "wctest.h"

#define IP4(a, b, c, d) (((__u32)(a) << 24) | ((__u32)(b) << 16) | ((__u32)(c) << 8) | (__u32)(d))

/* ---- helpers -------------------------------------------------------------- */

/* Writes len bytes to a new temp file (gzip-compressed if gz); returns its path in path. */
static void tmp_write(char *path, size_t plen, const char *name, const void *data, size_t len,
		      bool gz)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, plen, "%s/wcard-rules-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	cr_assert(fd >= 0, "case %s: mkstemp: %s", name, strerror(errno));
	if (gz) {
		gzFile g = gzdopen(fd, "wb");

		cr_assert_not_null(g, "case %s: gzdopen", name);
		cr_assert_eq(gzwrite(g, data, (unsigned int)len), (int)len, "case %s: gzwrite",
			     name);
		cr_assert_eq(gzclose(g), Z_OK, "case %s: gzclose", name);
	} else {
		cr_assert_eq(write(fd, data, len), (ssize_t)len, "case %s: write", name);
		cr_assert_eq(close(fd), 0, "case %s: close", name);
	}
}

static void parse_ok(const char *name, const char *text, enum wcard_rule_fmt fmt,
		     const struct wcard_layout *l, struct wcard_ruleset *rs)
{
	char err[512] = "";
	int ret = wcard_rules_parse(name, text, fmt, l, rs, err, sizeof(err));

	cr_assert_eq(ret, 0, "case %s: parse failed (%d): %s", name, ret, err);
}

static void check_prefix(const char *name, const struct wcard_rule *r, unsigned int f,
			 wc_u128 value, unsigned int plen, unsigned int width)
{
	wc_u128 mask = 0;

	if (plen >= width * 8)
		mask = wt_ones(width);
	else if (plen)
		mask = wt_ones(width) & ~(wt_ones(width) >> plen);
	cr_assert(r->f[f].value == value, "case %s: field %u value 0x%llx%016llx", name, f,
		  (unsigned long long)(r->f[f].value >> 64), (unsigned long long)r->f[f].value);
	cr_assert(r->f[f].mask == mask, "case %s: field %u mask", name, f);
	cr_assert_eq(r->f[f].plen, plen, "case %s: field %u plen %u, want %u", name, f,
		     r->f[f].plen, plen);
}

static void check_range(const char *name, const struct wcard_rule *r, unsigned int f, __u64 lo,
			__u64 hi)
{
	cr_assert(r->f[f].lo == lo && r->f[f].hi == hi,
		  "case %s: field %u range %llu-%llu, want %llu-%llu", name, f,
		  (unsigned long long)r->f[f].lo, (unsigned long long)r->f[f].hi,
		  (unsigned long long)lo, (unsigned long long)hi);
}

static void check_mask(const char *name, const struct wcard_rule *r, unsigned int f,
		       unsigned int value, unsigned int mask)
{
	cr_assert(r->f[f].value == value && r->f[f].mask == mask,
		  "case %s: field %u 0x%x/0x%x, want 0x%x/0x%x", name, f,
		  (unsigned int)r->f[f].value, (unsigned int)r->f[f].mask, value, mask);
}

static void check_same_rule(const char *name, const struct wcard_layout *l,
			    const struct wcard_rule *a, const struct wcard_rule *b)
{
	unsigned int f;

	cr_assert_eq(a->prio, b->prio, "case %s: prio %u != %u", name, a->prio, b->prio);
	cr_assert_eq(a->value, b->value, "case %s: value", name);
	for (f = 0; f < l->nfields; f++) {
		const struct wcard_match *x = &a->f[f], *y = &b->f[f];

		cr_assert(x->value == y->value && x->mask == y->mask && x->lo == y->lo &&
				  x->hi == y->hi && x->plen == y->plen,
			  "case %s: field %u (%s) differs", name, f, l->fields[f].name);
	}
}

/* A snapshot of a rule set, to prove a failed load left it alone. */
struct snap {
	struct wcard_ruleset rs;
	struct wcard_rule *copy;
};

static void snap_take(struct snap *s, const struct wcard_ruleset *rs)
{
	s->rs = *rs;
	s->copy = malloc((rs->n ? rs->n : 1) * sizeof(*s->copy));
	cr_assert_not_null(s->copy);
	if (rs->n)
		memcpy(s->copy, rs->rules, rs->n * sizeof(*s->copy));
}

static void snap_check(const char *name, struct snap *s, const struct wcard_ruleset *rs)
{
	cr_assert_eq(rs->n, s->rs.n, "case %s: rule set changed: n %zu, was %zu", name, rs->n,
		     s->rs.n);
	cr_assert(rs->layout == s->rs.layout, "case %s: layout changed", name);
	cr_assert(rs->rules == s->rs.rules && rs->cap == s->rs.cap, "case %s: storage changed",
		  name);
	cr_assert(!rs->n || !memcmp(rs->rules, s->copy, rs->n * sizeof(*s->copy)),
		  "case %s: rules changed", name);
	free(s->copy);
}

static void check_err(const char *name, int ret, int want_ret, const char *err, const char *prefix,
		      const char *reason)
{
	cr_assert_eq(ret, want_ret, "case %s: ret %d, want %d (%s)", name, ret, want_ret, err);
	cr_assert(!strncmp(err, prefix, strlen(prefix)),
		  "case %s: error '%s' does not start with '%s'", name, err, prefix);
	cr_assert(strstr(err, reason), "case %s: error '%s' does not say '%s'", name, err, reason);
}

/* ---- ClassBench ----------------------------------------------------------- */

Test(rules, classbench_literal)
{
	const char *name = "classbench_literal";
	const char *text =
		"@66.167.158.131/32\t235.188.65.227/32\t0 : 65535\t1704 : "
		"1704\t0x06/0xFF\t0x0000/0x0200\t\n"
		"\n"
		"@10.1.2.3/8 192.168.0.0/16   1024 : 65535   53 : 53   0x11/0xFF   0x1000/0x1000\n"
		"@0.0.0.0/0\t0.0.0.0/0\t0 : 65535\t0 : 65535\t0x00/0x00\r\n"
		"@1.2.3.4/32\t5.6.7.8/31\t5 : 6\t7 : 8\t0x06/0xf0\t0x0000/0x0000\t";
	const struct wcard_layout *v4 = wcard_layout_ipv4();
	struct wcard_ruleset rs;
	const struct wcard_rule *r;
	unsigned int i;

	wcard_ruleset_init(&rs, NULL);
	parse_ok(name, text, WCARD_FMT_AUTO, NULL, &rs);
	cr_assert_eq(rs.n, 4, "case %s: %zu rules, want 4", name, rs.n);
	cr_assert(rs.layout == v4, "case %s: layout %s", name, rs.layout ? rs.layout->name : "-");
	for (i = 0; i < rs.n; i++) {
		r = &rs.rules[i];
		cr_assert(r->prio == i && r->id == i && r->value == i,
			  "case %s: rule %u prio %u id %u value %llu", name, i, r->prio, r->id,
			  (unsigned long long)r->value);
		/* The flags column is ignored: the flags field stays a wildcard. */
		check_mask(name, r, WC_F_FLAGS, 0, 0);
	}
	cr_assert_eq(rs.rules[0].line, 1, "case %s: line", name);
	cr_assert_eq(rs.rules[1].line, 3, "case %s: blank lines count as lines", name);
	cr_assert_eq(rs.rules[3].line, 5, "case %s: line", name);

	r = &rs.rules[0];
	check_prefix(name, r, WC_F_SRC, IP4(66, 167, 158, 131), 32, 4);
	check_prefix(name, r, WC_F_DST, IP4(235, 188, 65, 227), 32, 4);
	check_range(name, r, WC_F_SPORT, 0, 65535);
	check_range(name, r, WC_F_DPORT, 1704, 1704);
	check_mask(name, r, WC_F_PROTO, 6, 0xff);

	r = &rs.rules[1];
	check_prefix(name, r, WC_F_SRC, IP4(10, 0, 0, 0), 8, 4); /* host bits cleared */
	check_prefix(name, r, WC_F_DST, IP4(192, 168, 0, 0), 16, 4);
	check_range(name, r, WC_F_SPORT, 1024, 65535);
	check_range(name, r, WC_F_DPORT, 53, 53);
	check_mask(name, r, WC_F_PROTO, 17, 0xff);

	r = &rs.rules[2];
	check_prefix(name, r, WC_F_SRC, 0, 0, 4);
	check_prefix(name, r, WC_F_DST, 0, 0, 4);
	check_range(name, r, WC_F_SPORT, 0, 65535);
	check_range(name, r, WC_F_DPORT, 0, 65535);
	check_mask(name, r, WC_F_PROTO, 0, 0);

	r = &rs.rules[3];
	check_prefix(name, r, WC_F_SRC, IP4(1, 2, 3, 4), 32, 4);
	check_prefix(name, r, WC_F_DST, IP4(5, 6, 7, 8), 31, 4);
	check_range(name, r, WC_F_SPORT, 5, 6);
	check_range(name, r, WC_F_DPORT, 7, 8);
	check_mask(name, r, WC_F_PROTO, 0, 0xf0); /* value masked */

	/* Appending: prio/id restart at 0 for the new file, the old rules stay. */
	parse_ok("classbench_append", text, WCARD_FMT_CLASSBENCH, v4, &rs);
	cr_assert_eq(rs.n, 8, "case %s: append gave %zu rules", name, rs.n);
	cr_assert_eq(rs.rules[4].id, 0, "case %s: appended id", name);
	cr_assert_eq(rs.rules[7].id, 3, "case %s: appended id", name);
	wcard_ruleset_free(&rs);
}

Test(rules, classbench_auto_after_comments)
{
	const char *name = "classbench_auto_after_comments";
	struct wcard_ruleset rs;

	wcard_ruleset_init(&rs, NULL);
	parse_ok(name,
		 "# generated\n\n  @1.2.3.4/32\t5.6.7.8/32\t0 : 65535\t80 : 80\t0x06/0xFF\t\n",
		 WCARD_FMT_AUTO, NULL, &rs);
	cr_assert_eq(rs.n, 1, "case %s: n %zu", name, rs.n);
	cr_assert_eq(rs.rules[0].line, 3, "case %s: line", name);
	check_range(name, &rs.rules[0], WC_F_DPORT, 80, 80);
	wcard_ruleset_free(&rs);
}

static size_t count_nonblank(const char *path)
{
	char buf[8192];
	size_t n = 0;
	gzFile g = gzopen(path, "rb");

	cr_assert_not_null(g, "case %s: gzopen", path);
	while (gzgets(g, buf, sizeof(buf)))
		if (buf[strspn(buf, " \t\r\n")])
			n++;
	gzclose(g);
	return n;
}

Test(rules, classbench_real_files)
{
	static const char *const sets[] = { "acl1", "acl2", "acl3", "acl4", "acl5", "fw1",
					    "fw2",  "fw3",  "fw4",  "fw5",  "ipc1", "ipc2" };
	static const char *const sizes[] = { "1k", "10k" };
	char dir[4096], path[4200], err[512];
	unsigned int i, j, files = 0;

	if (!wt_data("classbench", dir, sizeof(dir)))
		cr_skip_test("no data: $WCARD_DATA/classbench is absent");
	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		for (j = 0; j < 2; j++) {
			struct wcard_ruleset rs;
			size_t k, want;
			int ret;

			snprintf(path, sizeof(path), "%s/%s_%s.rules.gz", dir, sets[i], sizes[j]);
			if (access(path, R_OK))
				continue;
			files++;
			want = count_nonblank(path);
			wcard_ruleset_init(&rs, NULL);
			ret = wcard_rules_load(path, WCARD_FMT_AUTO, NULL, &rs, err, sizeof(err));
			cr_assert_eq(ret, 0, "case %s: load: %s", path, err);
			cr_assert_eq(rs.n, want, "case %s: %zu rules, %zu lines", path, rs.n, want);
			cr_assert(rs.layout == wcard_layout_ipv4(), "case %s: layout", path);
			for (k = 0; k < rs.n; k++)
				cr_assert(rs.rules[k].id == k && rs.rules[k].prio == k &&
						  rs.rules[k].value == k,
					  "case %s: rule %zu numbering", path, k);
			wcard_ruleset_free(&rs);
		}
	}
	if (!files)
		cr_skip_test("no data: no ClassBench 1k/10k rule files in %s", dir);
}

Test(rules, classbench_real_traces)
{
	char dir[4096], rpath[4200], tpath[4200], err[512];
	const char *sets[] = { "acl1_1k", "fw1_1k", "ipc1_1k" };
	unsigned int i, files = 0;

	if (!wt_data("classbench", dir, sizeof(dir)))
		cr_skip_test("no data: $WCARD_DATA/classbench is absent");
	for (i = 0; i < 3; i++) {
		struct wcard_trace tr = { 0 };
		struct wcard_ruleset rs;
		size_t k, want;
		int ret;

		snprintf(rpath, sizeof(rpath), "%s/%s.rules.gz", dir, sets[i]);
		snprintf(tpath, sizeof(tpath), "%s/%s.trace.gz", dir, sets[i]);
		if (access(rpath, R_OK) || access(tpath, R_OK))
			continue;
		files++;
		want = count_nonblank(tpath);
		ret = wcard_trace_load(tpath, &tr, err, sizeof(err));
		cr_assert_eq(ret, 0, "case %s: trace load: %s", tpath, err);
		cr_assert_eq(tr.n, want, "case %s: %zu packets, %zu lines", tpath, tr.n, want);
		wcard_ruleset_init(&rs, NULL);
		ret = wcard_rules_load(rpath, WCARD_FMT_CLASSBENCH, NULL, &rs, err, sizeof(err));
		cr_assert_eq(ret, 0, "case %s: load: %s", rpath, err);
		/* FILTER is the 0-based rule the packet was generated from. */
		for (k = 0; k < tr.n; k++)
			cr_assert_lt(tr.t[k].filter, rs.n, "case %s: packet %zu filter %u", tpath,
				     k, tr.t[k].filter);
		wcard_ruleset_free(&rs);
		wcard_trace_free(&tr);
	}
	if (!files)
		cr_skip_test("no data: no ClassBench 1k traces in %s", dir);
}

/* ---- the human syntax ----------------------------------------------------- */

Test(rules, human_every_keyword)
{
	const char *name = "human_every_keyword";
	struct wcard_ruleset rs;
	const struct wcard_rule *r;

	wcard_ruleset_init(&rs, NULL);
	parse_ok(name,
		 "src 10.1.2.3/16 dst 192.168.1.1 sport 1000-2000 dport 443 proto udp "
		 "flags syn/syn|ack prio 42 value 0xdeadbeef\n",
		 WCARD_FMT_WCARD, NULL, &rs);
	cr_assert_eq(rs.n, 1, "case %s: n", name);
	cr_assert(rs.layout == wcard_layout_inet(), "case %s: layout", name);
	r = &rs.rules[0];
	cr_assert_eq(r->family, 4, "case %s: family %u", name, r->family);
	check_prefix(name, r, WC_F_SRC, IP4(10, 1, 0, 0), 16, 4);
	check_prefix(name, r, WC_F_DST, IP4(192, 168, 1, 1), 32, 4);
	check_range(name, r, WC_F_SPORT, 1000, 2000);
	check_range(name, r, WC_F_DPORT, 443, 443);
	check_mask(name, r, WC_F_PROTO, 17, 0xff);
	check_mask(name, r, WC_F_FLAGS, 0x02, 0x12);
	cr_assert_eq(r->prio, 42, "case %s: prio", name);
	cr_assert_eq(r->value, 0xdeadbeefULL, "case %s: value", name);
	cr_assert_eq(r->id, 0, "case %s: id", name);
	cr_assert_eq(r->line, 1, "case %s: line", name);
	wcard_ruleset_free(&rs);
}

Test(rules, human_values)
{
	static const struct {
		const char *name;
		const char *text;
		unsigned int field;
		unsigned int value, mask; /* MASK fields */
		__u64 lo, hi;		  /* RANGE fields */
		__u64 action;
	} cases[] = {
		{ "tcp", "tcp pass", WC_F_PROTO, 6, 0xff, 0, 0, WC_ACT_PASS },
		{ "udp", "udp drop", WC_F_PROTO, 17, 0xff, 0, 0, WC_ACT_DROP },
		{ "sctp", "sctp drop", WC_F_PROTO, 132, 0xff, 0, 0, WC_ACT_DROP },
		{ "icmp", "icmp drop", WC_F_PROTO, 1, 0xff, 0, 0, WC_ACT_DROP },
		{ "icmpv6", "icmpv6 drop", WC_F_PROTO, 58, 0xff, 0, 0, WC_ACT_DROP },
		{ "proto_gre", "proto gre drop", WC_F_PROTO, 47, 0xff, 0, 0, WC_ACT_DROP },
		{ "proto_esp", "proto esp drop", WC_F_PROTO, 50, 0xff, 0, 0, WC_ACT_DROP },
		{ "proto_ah", "proto ah drop", WC_F_PROTO, 51, 0xff, 0, 0, WC_ACT_DROP },
		{ "proto_ipv6_icmp", "proto ipv6-icmp drop", WC_F_PROTO, 58, 0xff, 0, 0,
		  WC_ACT_DROP },
		{ "proto_icmpv6", "proto icmpv6 drop", WC_F_PROTO, 58, 0xff, 0, 0, WC_ACT_DROP },
		{ "proto_num", "proto 6 drop", WC_F_PROTO, 6, 0xff, 0, 0, WC_ACT_DROP },
		{ "proto_hex", "proto 0x11 drop", WC_F_PROTO, 17, 0xff, 0, 0, WC_ACT_DROP },
		{ "proto_vm", "proto 0x06/0xf0 drop", WC_F_PROTO, 0, 0xf0, 0, 0, WC_ACT_DROP },
		{ "proto_vm2", "proto 0x16/0xf0 drop", WC_F_PROTO, 0x10, 0xf0, 0, 0, WC_ACT_DROP },
		{ "proto_any", "proto any drop", WC_F_PROTO, 0, 0, 0, 0, WC_ACT_DROP },
		{ "flags_one", "flags syn drop", WC_F_FLAGS, 0x02, 0x02, 0, 0, WC_ACT_DROP },
		{ "flags_plus", "flags syn+ack drop", WC_F_FLAGS, 0x12, 0x12, 0, 0, WC_ACT_DROP },
		{ "flags_vm", "flags syn/syn|ack drop", WC_F_FLAGS, 0x02, 0x12, 0, 0, WC_ACT_DROP },
		{ "flags_all", "flags fin|syn|rst|psh|ack|urg|ece|cwr drop", WC_F_FLAGS, 0xff, 0xff,
		  0, 0, WC_ACT_DROP },
		{ "flags_num", "flags 0x02/0x12 drop", WC_F_FLAGS, 0x02, 0x12, 0, 0, WC_ACT_DROP },
		{ "flags_dec", "flags 18 drop", WC_F_FLAGS, 18, 18, 0, 0, WC_ACT_DROP },
		{ "flags_zero", "flags 0/rst drop", WC_F_FLAGS, 0, 0x04, 0, 0, WC_ACT_DROP },
		{ "flags_any", "flags any drop", WC_F_FLAGS, 0, 0, 0, 0, WC_ACT_DROP },
		{ "sport_one", "sport 80 drop", WC_F_SPORT, 0, 0, 80, 80, WC_ACT_DROP },
		{ "sport_range", "sport 0-1023 drop", WC_F_SPORT, 0, 0, 0, 1023, WC_ACT_DROP },
		{ "sport_any", "sport any drop", WC_F_SPORT, 0, 0, 0, 65535, WC_ACT_DROP },
		{ "dport_max", "dport 65535 drop", WC_F_DPORT, 0, 0, 65535, 65535, WC_ACT_DROP },
		{ "dport_hex", "dport 0x50 drop", WC_F_DPORT, 0, 0, 80, 80, WC_ACT_DROP },
		{ "value_dec", "value 12345678901234567890", WC_F_DPORT, 0, 0, 0, 65535,
		  12345678901234567890ULL },
		{ "value_max", "value 0xffffffffffffffff", WC_F_DPORT, 0, 0, 0, 65535, ~0ULL },
		{ "value_zero", "value 0", WC_F_DPORT, 0, 0, 0, 65535, 0 },
		{ "redirect_lo", "redirect lo", WC_F_DPORT, 0, 0, 0, 65535, WC_VALUE_REDIRECT(1) },
		{ "redirect_index", "redirect 7", WC_F_DPORT, 0, 0, 0, 65535,
		  WC_VALUE_REDIRECT(7) },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *name = cases[i].name;
		const struct wcard_rule *r;
		struct wcard_ruleset rs;

		wcard_ruleset_init(&rs, NULL);
		parse_ok(name, cases[i].text, WCARD_FMT_WCARD, NULL, &rs);
		cr_assert_eq(rs.n, 1, "case %s: n", name);
		r = &rs.rules[0];
		if (cases[i].field == WC_F_PROTO || cases[i].field == WC_F_FLAGS)
			check_mask(name, r, cases[i].field, cases[i].value, cases[i].mask);
		else
			check_range(name, r, cases[i].field, cases[i].lo, cases[i].hi);
		cr_assert_eq(r->value, cases[i].action, "case %s: action %llu", name,
			     (unsigned long long)r->value);
		wcard_ruleset_free(&rs);
	}
}

Test(rules, human_commas_comments_defaults)
{
	const char *name = "human_commas_comments_defaults";
	const char *with = "src 10.0.0.0/8, dst 192.168.1.0/24, tcp, dport 1024-65535, drop\n";
	const char *without = "src 10.0.0.0/8 dst 192.168.1.0/24 tcp dport 1024-65535 drop";
	const char *file = "# a comment line\n"
			   "\n"
			   "   \t\n"
			   "src 1.1.1.1 pass   # trailing comment\n"
			   "dst 2.2.2.2 drop#no space before the comment\n"
			   "  # indented comment\n"
			   "tcp,dport 22,prio 7,pass,\n"
			   "value 77\n";
	struct wcard_ruleset a, b, rs;
	unsigned int i;

	wcard_ruleset_init(&a, NULL);
	wcard_ruleset_init(&b, NULL);
	parse_ok("comma_form", with, WCARD_FMT_AUTO, NULL, &a);
	parse_ok("plain_form", without, WCARD_FMT_AUTO, NULL, &b);
	cr_assert(a.n == 1 && b.n == 1, "case %s: n", name);
	check_same_rule(name, wcard_layout_ipv4(), &a.rules[0], &b.rules[0]);
	check_prefix(name, &a.rules[0], WC_F_SRC, IP4(10, 0, 0, 0), 8, 4);
	check_prefix(name, &a.rules[0], WC_F_DST, IP4(192, 168, 1, 0), 24, 4);
	check_mask(name, &a.rules[0], WC_F_PROTO, 6, 0xff);
	check_range(name, &a.rules[0], WC_F_DPORT, 1024, 65535);
	cr_assert_eq(a.rules[0].value, WC_ACT_DROP, "case %s: drop", name);
	wcard_ruleset_free(&a);
	wcard_ruleset_free(&b);

	wcard_ruleset_init(&rs, NULL);
	parse_ok(name, file, WCARD_FMT_AUTO, NULL, &rs);
	cr_assert_eq(rs.n, 4, "case %s: n %zu", name, rs.n);
	{
		static const unsigned int line[] = { 4, 5, 7, 8 }, prio[] = { 0, 1, 7, 3 };
		static const __u64 value[] = { WC_ACT_PASS, WC_ACT_DROP, WC_ACT_PASS, 77 };

		for (i = 0; i < 4; i++) {
			const struct wcard_rule *r = &rs.rules[i];

			cr_assert_eq(r->line, line[i], "case %s: rule %u line %u", name, i,
				     r->line);
			cr_assert_eq(r->id, i, "case %s: rule %u id %u", name, i, r->id);
			cr_assert_eq(r->prio, prio[i], "case %s: rule %u prio %u", name, i,
				     r->prio);
			cr_assert_eq(r->value, value[i], "case %s: rule %u value", name, i);
		}
	}
	/* Unset fields are wildcards. */
	check_prefix(name, &rs.rules[3], WC_F_SRC, 0, 0, 4);
	check_range(name, &rs.rules[3], WC_F_SPORT, 0, 65535);
	check_mask(name, &rs.rules[3], WC_F_PROTO, 0, 0);
	check_mask(name, &rs.rules[3], WC_F_FLAGS, 0, 0);
	wcard_ruleset_free(&rs);
}

Test(rules, human_ipv6_and_layouts)
{
	const char *name = "human_ipv6";
	const struct wcard_layout *v4 = wcard_layout_ipv4(), *v6 = wcard_layout_ipv6();
	struct wcard_ruleset rs;
	char err[512];
	int ret;

	/* No layout: inet, each rule of its addresses' family, or of both without one. */
	wcard_ruleset_init(&rs, NULL);
	parse_ok(name, "tcp pass\nsrc 2001:db8::1/32 dst ::1 udp drop\nsrc any dst any pass\n",
		 WCARD_FMT_AUTO, NULL, &rs);
	cr_assert(rs.layout == wcard_layout_inet(), "case %s: layout %s", name, rs.layout->name);
	cr_assert_eq(rs.n, 3, "case %s: n", name);
	cr_assert(rs.rules[0].family == 0 && rs.rules[1].family == 6 && rs.rules[2].family == 0,
		  "case %s: families %u %u %u", name, rs.rules[0].family, rs.rules[1].family,
		  rs.rules[2].family);
	check_prefix(name, &rs.rules[1], WC_F_SRC, (wc_u128)0x20010db8 << 96, 32, 16);
	check_prefix(name, &rs.rules[1], WC_F_DST, 1, 128, 16);
	check_prefix(name, &rs.rules[0], WC_F_SRC, 0, 0, 4);
	check_range(name, &rs.rules[0], WC_F_SPORT, 0, 65535);
	check_prefix(name, &rs.rules[2], WC_F_SRC, 0, 0, 4);
	/* Appending IPv4 works too; one rule of both families' addresses does not. */
	parse_ok("ipv6_append", "dst fe80::/10 drop\nsrc 1.2.3.4 drop", WCARD_FMT_AUTO, NULL, &rs);
	check_prefix(name, &rs.rules[3], WC_F_DST, (wc_u128)0xfe80 << 112, 10, 16);
	check_prefix(name, &rs.rules[4], WC_F_SRC, 0x01020304, 32, 4);
	cr_assert_eq(rs.rules[4].family, 4, "case ipv6_append: family");
	ret = wcard_rules_parse("v4v6", "tcp pass\nsrc 1.2.3.4 dst ::2 drop", WCARD_FMT_AUTO, NULL,
				&rs, err, sizeof(err));
	check_err("v4v6", ret, -EINVAL, err, "v4v6:2:", "IPv6 address in a rule with IPv4");
	cr_assert_eq(rs.n, 5, "case v4v6: n %zu", rs.n);
	/* A layout argument that differs from rs->layout. */
	ret = wcard_rules_parse("mismatch", "tcp pass", WCARD_FMT_AUTO, v4, &rs, err, sizeof(err));
	check_err("mismatch", ret, -EINVAL, err, "mismatch:", "layout");
	cr_assert_eq(rs.n, 5, "case mismatch: n %zu", rs.n);
	/* ClassBench into an inet set: IPv4 rules. */
	parse_ok("cb_inet", "@1.2.3.4/32\t5.6.7.8/32\t0 : 65535\t80 : 80\t0x06/0xFF\t",
		 WCARD_FMT_AUTO, NULL, &rs);
	cr_assert(rs.n == 6 && rs.rules[5].family == 4, "case cb_inet: n %zu", rs.n);
	wcard_ruleset_free(&rs);

	/* ClassBench into an IPv6 rule set. */
	wcard_ruleset_init(&rs, v6);
	ret = wcard_rules_parse("cb_v6", "@1.2.3.4/32\t5.6.7.8/32\t0 : 65535\t80 : 80\t0x06/0xFF\t",
				WCARD_FMT_AUTO, NULL, &rs, err, sizeof(err));
	check_err("cb_v6", ret, -EINVAL, err, "cb_v6:1:", "ipv4-5tuple or inet");
	cr_assert_eq(rs.n, 0, "case cb_v6: n %zu", rs.n);
	wcard_ruleset_free(&rs);

	/* No address at all: a rule of both families, in inet. */
	wcard_ruleset_init(&rs, NULL);
	parse_ok("no_address", "tcp dport 80 pass", WCARD_FMT_AUTO, NULL, &rs);
	cr_assert(rs.layout == wcard_layout_inet() && !rs.rules[0].family,
		  "case no_address: layout %s", rs.layout->name);
	wcard_ruleset_free(&rs);

	/* An IPv4 set into ipv4-5tuple, a mixed one not (all or nothing), IPv6 into ipv6. */
	wcard_ruleset_init(&rs, NULL);
	parse_ok("convert", "src 1.2.3.4 pass\ntcp drop", WCARD_FMT_AUTO, NULL, &rs);
	cr_assert_eq(wcard_ruleset_convert(&rs, v6, err, sizeof(err)), -EINVAL,
		     "case convert: IPv4 rules into ipv6-5tuple");
	cr_assert(strstr(err, "an IPv4 rule"), "case convert: '%s'", err);
	cr_assert(rs.layout == wcard_layout_inet(), "case convert: changed on failure");
	cr_assert_eq(wcard_ruleset_convert(&rs, v4, err, sizeof(err)), 0, "case convert: %s", err);
	cr_assert(rs.layout == v4 && !rs.rules[0].family && !rs.rules[1].family,
		  "case convert: to ipv4-5tuple");
	cr_assert_eq(wcard_ruleset_convert(&rs, wcard_layout_inet(), err, sizeof(err)), 0,
		     "case convert back: %s", err);
	cr_assert(rs.rules[0].family == 4 && rs.rules[1].family == 4,
		  "case convert back: IPv4 rules, the one without an address too");
	wcard_ruleset_free(&rs);

	/* A given layout: IPv6 addresses in an IPv4 set fail on the right line. */
	wcard_ruleset_init(&rs, NULL);
	ret = wcard_rules_parse("v6in4", "src 1.2.3.4 pass\ndst ::2 drop", WCARD_FMT_AUTO, v4, &rs,
				err, sizeof(err));
	check_err("v6in4", ret, -EINVAL, err, "v6in4:2:", "IPv6 address in an ipv4-5tuple");
	cr_assert(rs.n == 0 && rs.layout == NULL, "case v6in4: rs changed");
	parse_ok("given_v6", "src ::/0 pass", WCARD_FMT_WCARD, v6, &rs);
	cr_assert(rs.layout == v6, "case given_v6: layout");
	wcard_ruleset_free(&rs);
}

/* ---- round trip ----------------------------------------------------------- */

static void roundtrip(const char *name, const struct wcard_layout *l, __u64 seed, unsigned int n)
{
	struct wt_rng rng = { .s = seed };
	struct wcard_rule *rules = calloc(n, sizeof(*rules));
	size_t cap = (size_t)n * 512, off = 0;
	char *all = malloc(cap), buf[1024], err[512];
	struct wcard_ruleset rs;
	unsigned int i;
	int len, ret;

	cr_assert(rules && all, "case %s: alloc", name);
	for (i = 0; i < n; i++) {
		wt_rule_random(&rng, l, 6, 1u << wt_below(&rng, 32), &rules[i]);
		if (i % 7 == 0)
			rules[i].value = i % 2 ? WC_ACT_PASS : WC_ACT_DROP;
		len = wcard_rule_format(l, &rules[i], buf, sizeof(buf));
		cr_assert(len > 0 && (size_t)len == strlen(buf),
			  "case %s: rule %u: format length %d", name, i, len);
		cr_assert_eq(wcard_rule_format(l, &rules[i], NULL, 0), len,
			     "case %s: rule %u: NULL buffer length", name, i);

		/* one rule at a time */
		wcard_ruleset_init(&rs, NULL);
		ret = wcard_rules_parse(name, buf, WCARD_FMT_WCARD, l, &rs, err, sizeof(err));
		cr_assert_eq(ret, 0, "case %s: rule %u '%s' does not parse: %s", name, i, buf, err);
		cr_assert_eq(rs.n, 1, "case %s: rule %u: n", name, i);
		check_same_rule(buf, l, &rules[i], &rs.rules[0]);
		wcard_ruleset_free(&rs);

		memcpy(all + off, buf, len);
		off += len;
		all[off++] = '\n';
	}
	all[off] = 0;

	/* the whole set as one file */
	wcard_ruleset_init(&rs, NULL);
	ret = wcard_rules_parse(name, all, WCARD_FMT_AUTO, l, &rs, err, sizeof(err));
	cr_assert_eq(ret, 0, "case %s: whole file: %s", name, err);
	cr_assert_eq(rs.n, n, "case %s: n %zu", name, rs.n);
	for (i = 0; i < n; i++) {
		check_same_rule(name, l, &rules[i], &rs.rules[i]);
		cr_assert_eq(rs.rules[i].line, i + 1, "case %s: line", name);
	}
	wcard_ruleset_free(&rs);
	free(all);
	free(rules);
}

Test(rules, roundtrip_ipv4)
{
	roundtrip("roundtrip_ipv4", wcard_layout_ipv4(), 1, 3000);
}

Test(rules, roundtrip_ipv6)
{
	roundtrip("roundtrip_ipv6", wcard_layout_ipv6(), 2, 3000);
}

Test(rules, roundtrip_custom)
{
	static const struct wcard_field fields[] = {
		{ WC_FIELD_EXACT, 4, "secid" },	 { WC_FIELD_RANGE, 8, "port" },
		{ WC_FIELD_PREFIX, 2, "pfx" },	 { WC_FIELD_MASK, 16, "tag" },
		{ WC_FIELD_PREFIX, 16, "addr" }, { WC_FIELD_MASK, 2, "flags" },
	};
	struct wcard_layout l;
	char err[256];

	cr_assert_eq(wcard_layout_init(&l, "custom", fields, 6, err, sizeof(err)), 0,
		     "case roundtrip_custom: layout: %s", err);
	roundtrip("roundtrip_custom", &l, 3, 3000);
}

Test(rules, format_text)
{
	static const struct {
		const char *name;
		const char *in;
		const char *out;
	} cases[] = {
		{ "brief_example",
		  "src 10.0.0.0/8, dst 192.168.1.0/24, tcp, dport 1024-65535, drop",
		  "src 10.0.0.0/8 dst 192.168.1.0/24 dport 1024-65535 proto tcp prio 0 drop" },
		{ "single_port", "sport 80-80 dport 443 pass", "sport 80 dport 443 prio 0 pass" },
		{ "wildcards", "sport 0-65535 proto 0/0 value 0x100", "prio 0 value 0x100" },
		/* inet: an IPv4 (or IPv6) rule without an address still says its family. */
		{ "family_only", "src 0.0.0.0/0 sport 0-65535 proto 0/0 value 0x100",
		  "src 0.0.0.0/0 prio 0 value 0x100" },
		{ "family_only6", "dst ::/0 drop", "src ::/0 prio 0 drop" },
		{ "host", "src 1.2.3.4/32 value 7 prio 9", "src 1.2.3.4 prio 9 value 0x7" },
		{ "proto_partial", "proto 0x16/0xf0 drop", "proto 0x10/0xf0 prio 0 drop" },
		{ "proto_unnamed", "proto 89 drop", "proto 89 prio 0 drop" },
		{ "flags", "flags syn/syn|ack drop", "flags syn/syn|ack prio 0 drop" },
		{ "flags_same", "flags 0x12 drop", "flags syn|ack prio 0 drop" },
		{ "flags_zero", "flags 0/0x01 drop", "flags 0/fin prio 0 drop" },
		{ "ipv6", "src 2001:db8::/32 dst ::1 udp pass",
		  "src 2001:db8::/32 dst ::1 proto udp prio 0 pass" },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *name = cases[i].name;
		struct wcard_ruleset rs;
		char buf[256], small[8];
		int len;

		wcard_ruleset_init(&rs, NULL);
		parse_ok(name, cases[i].in, WCARD_FMT_WCARD, NULL, &rs);
		len = wcard_rule_format(rs.layout, &rs.rules[0], buf, sizeof(buf));
		cr_assert_str_eq(buf, cases[i].out, "case %s: '%s', want '%s'", name, buf,
				 cases[i].out);
		cr_assert_eq(len, (int)strlen(cases[i].out), "case %s: length", name);
		/* snprintf contract: truncated and terminated, full length returned */
		cr_assert_eq(wcard_rule_format(rs.layout, &rs.rules[0], small, sizeof(small)), len,
			     "case %s: truncated length", name);
		cr_assert(!strncmp(small, cases[i].out, sizeof(small) - 1) &&
				  small[sizeof(small) - 1] == 0,
			  "case %s: truncated text '%s'", name, small);
		wcard_ruleset_free(&rs);
	}
}

/* ---- files ---------------------------------------------------------------- */

Test(rules, files_plain_and_gzip)
{
	const char *text = "# mixed\nsrc 10.0.0.0/8 tcp dport 22 drop\nudp pass\n";
	const char *cb =
		"@1.2.3.4/32\t5.6.7.8/32\t0 : 65535\t80 : 80\t0x06/0xFF\t0x0000/0x0200\t\n"
		"@0.0.0.0/0\t0.0.0.0/0\t0 : 65535\t0 : 65535\t0x00/0x00\t0x0000/0x0000\t\n";
	const char *trace = "16909060 84281096 1234 80 6 0 0\n"
			    "1 2 3 4 17 4294967295 1\n"
			    "\n"
			    "5 6 7 8 6 18 \t\n"
			    "9 10 11 12 1\n";
	unsigned int pass;

	for (pass = 0; pass < 2; pass++) {
		bool gz = pass == 1;
		const char *name = gz ? "gzip" : "plain";
		struct wcard_ruleset rs, ref;
		struct wcard_trace tr = { 0 };
		char path[4096], err[512];
		unsigned int i;
		int ret;

		tmp_write(path, sizeof(path), name, text, strlen(text), gz);
		wcard_ruleset_init(&rs, NULL);
		wcard_ruleset_init(&ref, NULL);
		ret = wcard_rules_load(path, WCARD_FMT_AUTO, NULL, &rs, err, sizeof(err));
		cr_assert_eq(ret, 0, "case %s: load: %s", name, err);
		parse_ok(name, text, WCARD_FMT_AUTO, NULL, &ref);
		cr_assert_eq(rs.n, 2, "case %s: n %zu", name, rs.n);
		for (i = 0; i < 2; i++) {
			check_same_rule(name, rs.layout, &ref.rules[i], &rs.rules[i]);
			cr_assert_eq(rs.rules[i].line, ref.rules[i].line, "case %s: line", name);
		}
		unlink(path);
		wcard_ruleset_free(&rs);
		wcard_ruleset_free(&ref);

		tmp_write(path, sizeof(path), name, cb, strlen(cb), gz);
		wcard_ruleset_init(&rs, NULL);
		ret = wcard_rules_load(path, WCARD_FMT_AUTO, NULL, &rs, err, sizeof(err));
		cr_assert_eq(ret, 0, "case %s: load classbench: %s", name, err);
		cr_assert_eq(rs.n, 2, "case %s: classbench n %zu", name, rs.n);
		check_prefix(name, &rs.rules[0], WC_F_SRC, IP4(1, 2, 3, 4), 32, 4);
		check_range(name, &rs.rules[0], WC_F_DPORT, 80, 80);
		unlink(path);
		wcard_ruleset_free(&rs);

		tmp_write(path, sizeof(path), name, trace, strlen(trace), gz);
		ret = wcard_trace_load(path, &tr, err, sizeof(err));
		cr_assert_eq(ret, 0, "case %s: trace: %s", name, err);
		cr_assert_eq(tr.n, 4, "case %s: trace n %zu", name, tr.n);
		cr_assert(tr.t[0].src == IP4(1, 2, 3, 4) && tr.t[0].dst == IP4(5, 6, 7, 8) &&
				  tr.t[0].sport == 1234 && tr.t[0].dport == 80 &&
				  tr.t[0].proto == 6 && tr.t[0].flags == 0 && tr.t[0].filter == 0,
			  "case %s: tuple 0", name);
		/* ClassBench's 32-bit flag words are not TCP flags: stored as 0 */
		cr_assert(tr.t[1].flags == 0 && tr.t[1].filter == 1 && tr.t[1].proto == 17,
			  "case %s: tuple 1", name);
		cr_assert(tr.t[2].flags == 18 && tr.t[2].filter == ~0u, "case %s: tuple 2", name);
		cr_assert(tr.t[3].proto == 1 && tr.t[3].flags == 0 && tr.t[3].filter == ~0u,
			  "case %s: tuple 3", name);
		/* a second load appends */
		ret = wcard_trace_load(path, &tr, err, sizeof(err));
		cr_assert(ret == 0 && tr.n == 8 && tr.t[7].proto == 1, "case %s: trace append",
			  name);
		unlink(path);
		wcard_trace_free(&tr);
		cr_assert(tr.t == NULL && tr.n == 0, "case %s: trace free", name);
	}
}

Test(rules, line_length_limit)
{
	const char *name = "line_length_limit";
	char *text = malloc(3 * 4200), path[4096], err[512], pfx[4200];
	struct wcard_ruleset rs;
	struct snap s;
	size_t len;
	int ret, gz;

	/* exactly 4096 bytes (plus "\r\n") is fine */
	len = snprintf(text, 100, "src any pass\ndrop");
	memset(text + len, ' ', 4096 - 4);
	len += 4096 - 4;
	memcpy(text + len, "\r\ntcp pass\n", 12);
	for (gz = 0; gz < 2; gz++) {
		tmp_write(path, sizeof(path), name, text, strlen(text), gz);
		wcard_ruleset_init(&rs, NULL);
		ret = wcard_rules_load(path, WCARD_FMT_AUTO, NULL, &rs, err, sizeof(err));
		cr_assert_eq(ret, 0, "case %s: 4096-byte line (gz %d): %s", name, gz, err);
		cr_assert_eq(rs.n, 3, "case %s: n %zu", name, rs.n);
		wcard_ruleset_free(&rs);
		unlink(path);
	}
	wcard_ruleset_init(&rs, NULL);
	ret = wcard_rules_parse(name, text, WCARD_FMT_AUTO, NULL, &rs, err, sizeof(err));
	cr_assert(ret == 0 && rs.n == 3, "case %s: string 4096-byte line: %s", name, err);
	wcard_ruleset_free(&rs);

	/* one more byte is an error, not a split line */
	len = snprintf(text, 100, "src any pass\ndrop");
	memset(text + len, ' ', 4096 - 3);
	len += 4096 - 3;
	memcpy(text + len, "\ntcp pass\n", 11);
	for (gz = 0; gz < 3; gz++) {
		wcard_ruleset_init(&rs, NULL);
		parse_ok(name, "udp pass", WCARD_FMT_AUTO, NULL, &rs);
		snap_take(&s, &rs);
		if (gz < 2) {
			tmp_write(path, sizeof(path), name, text, strlen(text), gz);
			ret = wcard_rules_load(path, WCARD_FMT_AUTO, NULL, &rs, err, sizeof(err));
			unlink(path);
			snprintf(pfx, sizeof(pfx), "%s:2:", path);
		} else {
			ret = wcard_rules_parse(name, text, WCARD_FMT_AUTO, NULL, &rs, err,
						sizeof(err));
			snprintf(pfx, sizeof(pfx), "%s:2:", name);
		}
		check_err(name, ret, -EINVAL, err, pfx, "longer than 4096");
		snap_check(name, &s, &rs);
		wcard_ruleset_free(&rs);
	}
	/* far longer, on the first line */
	memset(text, 'x', 3 * 4200 - 1);
	text[3 * 4200 - 1] = 0;
	wcard_ruleset_init(&rs, NULL);
	ret = wcard_rules_parse(name, text, WCARD_FMT_AUTO, NULL, &rs, err, sizeof(err));
	snprintf(pfx, sizeof(pfx), "%s:1:", name);
	check_err(name, ret, -EINVAL, err, pfx, "longer than 4096");
	cr_assert_eq(rs.n, 0, "case %s: n", name);
	free(text);
}

Test(rules, nul_byte)
{
	static const char data[] = "src 1.2.3.4 pass\ndst 1.2.3.4 \0drop\ntcp pass\n";
	static const char data_eof[] = "src 1.2.3.4 pass\ntcp pass\0";
	unsigned int gz;

	for (gz = 0; gz < 4; gz++) {
		const char *name = gz & 1 ? "nul_byte_gzip" : "nul_byte_plain";
		char path[4096], err[512], pfx[4200];
		struct wcard_ruleset rs;
		struct snap s;
		int ret;

		if (gz < 2)
			tmp_write(path, sizeof(path), name, data, sizeof(data) - 1, gz & 1);
		else
			tmp_write(path, sizeof(path), name, data_eof, sizeof(data_eof) - 1, gz & 1);
		wcard_ruleset_init(&rs, NULL);
		snap_take(&s, &rs);
		ret = wcard_rules_load(path, WCARD_FMT_AUTO, NULL, &rs, err, sizeof(err));
		snprintf(pfx, sizeof(pfx), "%s:2:", path);
		check_err(name, ret, -EINVAL, err, pfx, "NUL");
		snap_check(name, &s, &rs);
		unlink(path);
	}
}

Test(rules, io_errors)
{
	char path[4096], err[512], want[4200];
	struct wcard_ruleset rs;
	struct wcard_trace tr = { 0 };
	const char *dir = getenv("TMPDIR");
	int ret;

	snprintf(path, sizeof(path), "%s/wcard-rules-does-not-exist-%d/x.rules",
		 dir && *dir ? dir : "/tmp", (int)getpid());
	wcard_ruleset_init(&rs, NULL);
	ret = wcard_rules_load(path, WCARD_FMT_AUTO, NULL, &rs, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	cr_assert_eq(ret, -ENOENT, "case enoent: ret %d", ret);
	cr_assert_str_eq(err, want, "case enoent: '%s'", err);
	cr_assert(rs.n == 0 && rs.layout == NULL, "case enoent: rs changed");
	ret = wcard_trace_load(path, &tr, err, sizeof(err));
	cr_assert_eq(ret, -ENOENT, "case trace_enoent: ret %d", ret);
	cr_assert_str_eq(err, want, "case trace_enoent: '%s'", err);
	cr_assert_eq(tr.n, 0, "case trace_enoent: n");
	/* err may be NULL */
	ret = wcard_rules_load(path, WCARD_FMT_AUTO, NULL, &rs, NULL, 0);
	cr_assert_eq(ret, -ENOENT, "case enoent_null_err: ret %d", ret);
}

/* ---- bad input ------------------------------------------------------------ */

#define CB_TAIL "\t0 : 65535\t80 : 80\t0x06/0xFF\t0x0000/0x0200\t"

static const struct bad_case {
	const char *name;
	const char *text;
	enum wcard_rule_fmt fmt;
	unsigned int line; /* 0: "NAME: " without a line */
	const char *reason;
} bad_cases[] = {
	{ "bad_address", "src 1.2.3.256 drop", WCARD_FMT_AUTO, 1, "bad address '1.2.3.256'" },
	{ "bad_address_word", "tcp pass\ndst example.com drop", WCARD_FMT_AUTO, 2,
	  "bad address 'example.com'" },
	{ "bad_address_cb", "@1.2.3.256/32\t1.2.3.4/32" CB_TAIL, WCARD_FMT_AUTO, 1,
	  "bad address '1.2.3.256'" },
	{ "prefix_too_long", "# c\nsrc 10.0.0.0/33 drop", WCARD_FMT_AUTO, 2,
	  "prefix length 33 longer than field (32)" },
	{ "prefix_too_long_cb", "@1.2.3.4/32\t10.0.0.0/40" CB_TAIL, WCARD_FMT_CLASSBENCH, 1,
	  "prefix length 40 longer than field (32)" },
	{ "bad_prefix_len", "src 10.0.0.0/x drop", WCARD_FMT_AUTO, 1, "bad prefix length 'x'" },
	{ "lo_gt_hi", "dport 10-5 drop", WCARD_FMT_AUTO, 1, "dport range lo 10 > hi 5" },
	{ "lo_gt_hi_cb", "@1.2.3.4/32\t1.2.3.4/32\t10 : 5\t80 : 80\t0x06/0xFF\t", WCARD_FMT_AUTO, 1,
	  "port range lo 10 > hi 5" },
	{ "port_too_big", "sport 70000 drop", WCARD_FMT_AUTO, 1, "out of range" },
	{ "port_too_big_cb", "@1.2.3.4/32\t1.2.3.4/32\t0 : 65536\t80 : 80\t0x06/0xFF\t",
	  WCARD_FMT_AUTO, 1, "out of range" },
	{ "bad_port", "dport http drop", WCARD_FMT_AUTO, 1, "bad dport 'http'" },
	{ "unknown_proto", "proto foo drop", WCARD_FMT_AUTO, 1, "unknown protocol 'foo'" },
	{ "proto_too_big", "proto 256 drop", WCARD_FMT_AUTO, 1, "out of range" },
	{ "bad_proto_cb", "@1.2.3.4/32\t1.2.3.4/32\t0 : 65535\t80 : 80\ttcp\t", WCARD_FMT_AUTO, 1,
	  "bad protocol 'tcp'" },
	{ "bad_flags_cb", "@1.2.3.4/32\t1.2.3.4/32\t0 : 65535\t80 : 80\t0x06/0xFF\t0x0000",
	  WCARD_FMT_AUTO, 1, "bad flags '0x0000'" },
	{ "bad_flags", "flags syn|foo drop", WCARD_FMT_AUTO, 1, "bad flags 'syn|foo'" },
	{ "trailing_garbage_cb", "@1.2.3.4/32\t1.2.3.4/32" CB_TAIL "xyz", WCARD_FMT_AUTO, 1,
	  "trailing garbage 'xyz'" },
	{ "unknown_keyword", "drop xyz", WCARD_FMT_AUTO, 1, "unknown keyword 'xyz'" },
	{ "cb_not_at", "@1.2.3.4/32\t1.2.3.4/32" CB_TAIL "\nsrc 1.2.3.4 drop", WCARD_FMT_AUTO, 2,
	  "expected '@'" },
	{ "cb_missing_fields", "@1.2.3.4/32\t1.2.3.4/32\t0 : 65535", WCARD_FMT_AUTO, 1,
	  "destination port" },
	{ "human_at", "@1.2.3.4/32\t1.2.3.4/32" CB_TAIL, WCARD_FMT_WCARD, 1, "unknown keyword" },
	{ "missing_action", "src 1.2.3.4\n", WCARD_FMT_AUTO, 1, "missing action" },
	{ "redirect_nowhere", "src 1.2.3.4 redirect wc-no-such-if\n", WCARD_FMT_AUTO, 1,
	  "redirect: no interface 'wc-no-such-if'" },
	{ "redirect_zero", "redirect 0\n", WCARD_FMT_AUTO, 1, "redirect: no interface '0'" },
	{ "redirect_bare", "dst 1.2.3.4 redirect\n", WCARD_FMT_AUTO, 1,
	  "missing argument after 'redirect'" },
	{ "two_actions", "pass drop", WCARD_FMT_AUTO, 1, "more than one action" },
	{ "duplicate_dport", "tcp pass\n\ndport 1 sport 2 dport 3 drop", WCARD_FMT_AUTO, 3,
	  "duplicate 'dport'" },
	{ "duplicate_proto", "proto udp tcp drop", WCARD_FMT_AUTO, 1, "duplicate protocol 'tcp'" },
	{ "duplicate_prio", "prio 1 prio 2 drop", WCARD_FMT_AUTO, 1, "duplicate 'prio'" },
	{ "missing_arg", "drop src", WCARD_FMT_AUTO, 1, "missing argument after 'src'" },
	{ "comma_arg", "src, 1.2.3.4 drop", WCARD_FMT_AUTO, 1, "missing argument after 'src'" },
	{ "double_comma", "tcp,, drop", WCARD_FMT_AUTO, 1, "unexpected ','" },
	{ "bad_prio", "prio 4294967296 drop", WCARD_FMT_AUTO, 1, "out of range" },
	{ "bad_value", "value 18446744073709551616", WCARD_FMT_AUTO, 1, "out of range" },
	{ "negative_value", "value -1", WCARD_FMT_AUTO, 1, "bad value '-1'" },
	{ "mixed_in_a_rule", "src 10.0.0.1 drop\n\nsrc ::1 dst 10.0.0.2 pass", WCARD_FMT_AUTO, 3,
	  "IPv4 address in a rule with IPv6 addresses" },
	{ "empty", "", WCARD_FMT_AUTO, 0, "no rules" },
	{ "only_comments", "# nothing\n\n   \n# here\n", WCARD_FMT_AUTO, 0, "no rules" },
	{ "empty_cb", "", WCARD_FMT_CLASSBENCH, 0, "no rules" },
};

static void run_bad(const struct bad_case *c, bool file, bool preload)
{
	char name[128], path[4096], err[512] = "", pfx[4300];
	struct wcard_ruleset rs;
	struct snap s;
	int ret;

	snprintf(name, sizeof(name), "%s%s%s", c->name, file ? "/file" : "/string",
		 preload ? "/preloaded" : "");
	wcard_ruleset_init(&rs, NULL);
	if (preload)
		parse_ok(name, "src 9.9.9.9 pass\ntcp drop", WCARD_FMT_AUTO, NULL, &rs);
	snap_take(&s, &rs);
	if (file) {
		tmp_write(path, sizeof(path), name, c->text, strlen(c->text), false);
		ret = wcard_rules_load(path, c->fmt, NULL, &rs, err, sizeof(err));
		unlink(path);
	} else {
		snprintf(path, sizeof(path), "%s.rules", c->name);
		ret = wcard_rules_parse(path, c->text, c->fmt, NULL, &rs, err, sizeof(err));
	}
	if (c->line)
		snprintf(pfx, sizeof(pfx), "%s:%u: ", path, c->line);
	else
		snprintf(pfx, sizeof(pfx), "%s: ", path);
	check_err(name, ret, -EINVAL, err, pfx, c->reason);
	snap_check(name, &s, &rs);
	wcard_ruleset_free(&rs);
}

Test(rules, bad_input)
{
	unsigned int i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		run_bad(&bad_cases[i], false, false);
		run_bad(&bad_cases[i], false, true);
		run_bad(&bad_cases[i], true, false);
		run_bad(&bad_cases[i], true, true);
	}
}

Test(rules, bad_trace)
{
	static const struct {
		const char *name;
		const char *text;
		unsigned int line;
		const char *reason;
	} cases[] = {
		{ "sa_too_big", "1 2 3 4 6 0 0\n4294967296 2 3 4 6 0 0\n", 2, "out of range" },
		{ "port_too_big", "1 2 65536 4 6 0 0\n", 1, "source port 65536 out of range" },
		{ "dport_too_big", "1 2 3 70000 6\n", 1, "destination port 70000 out of range" },
		{ "proto_too_big", "1 2 3 4 256 0 0\n", 1, "protocol 256 out of range" },
		{ "flags_too_big", "1 2 3 4 6 4294967296 0\n", 1, "flags 4294967296 out of range" },
		{ "filter_too_big", "1 2 3 4 6 0 4294967296\n", 1, "filter" },
		{ "hex", "1 2 3 4 0x6 0 0\n", 1, "bad protocol '0x6'" },
		{ "negative", "1 2 -3 4 6 0 0\n", 1, "bad source port '-3'" },
		{ "missing", "1 2 3 4\n", 1, "missing protocol" },
		{ "garbage", "\n1 2 3 4 6 0 0 xyz\n", 2, "trailing garbage 'xyz'" },
		{ "empty", "\n\n", 0, "no packets" },
	};
	unsigned int i, pre;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (pre = 0; pre < 2; pre++) {
			const char *name = cases[i].name;
			char path[4096], err[512] = "", pfx[4200];
			struct wcard_trace tr = { 0 };
			struct wcard_tuple *t;
			size_t n, cap;
			int ret;

			if (pre) {
				tmp_write(path, sizeof(path), name, "1 2 3 4 6\n", 10, false);
				ret = wcard_trace_load(path, &tr, err, sizeof(err));
				cr_assert(ret == 0 && tr.n == 1, "case %s: preload: %s", name, err);
				unlink(path);
			}
			t = tr.t;
			n = tr.n;
			cap = tr.cap;
			tmp_write(path, sizeof(path), name, cases[i].text, strlen(cases[i].text),
				  pre);
			ret = wcard_trace_load(path, &tr, err, sizeof(err));
			if (cases[i].line)
				snprintf(pfx, sizeof(pfx), "%s:%u: ", path, cases[i].line);
			else
				snprintf(pfx, sizeof(pfx), "%s: ", path);
			check_err(name, ret, -EINVAL, err, pfx, cases[i].reason);
			cr_assert(tr.t == t && tr.n == n && tr.cap == cap, "case %s: trace changed",
				  name);
			unlink(path);
			wcard_trace_free(&tr);
		}
	}
}
