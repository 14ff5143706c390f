// SPDX-License-Identifier: MIT
/* test_docs.c: the Markdown the project ships: tables well formed, README results as generated, citations of docs/design.md (suite "docs"). */
#include <criterion/criterion.h>
#include <ctype.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wctest.h"

static const char *src_dir(void)
{
	return getenv("WCARD_SRC") ? getenv("WCARD_SRC") : ".";
}

/* The whole file, NUL-terminated (malloc'ed), or NULL. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, r;

	if (!f)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = 2 * cap + 4096 + 1);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r);
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

/* Leading spaces of a line, or -1 when it holds nothing else. */
static int indent_of(const char *s, const char *end)
{
	int n = 0;

	while (s + n < end && s[n] == ' ')
		n++;
	return s + n == end ? -1 : n;
}

/* A table line: a '|' after at most 3 spaces (4 make it an indented code block). */
static bool is_table_line(const char *s, const char *end)
{
	int in = indent_of(s, end);

	return in >= 0 && in <= 3 && s[in] == '|';
}

/* ``` or ~~~ after at most 3 spaces opens or closes a fenced code block. */
static bool is_fence(const char *s, const char *end)
{
	int in = indent_of(s, end);

	return in >= 0 && in <= 3 && end - (s + in) >= 3 &&
	       (!strncmp(s + in, "```", 3) || !strncmp(s + in, "~~~", 3));
}

/*
 * Cells of a table row as GitHub reads it: split at every '|' not escaped by
 * a backslash (inside code spans too), the outer pipes not counting. With
 * delim, also whether every cell is a delimiter (:?-+:?).
 */
static unsigned int row_cells(const char *s, const char *end, bool *delim)
{
	unsigned int cells = 1;
	const char *cell;
	bool ok = true;

	while (s < end && *s == ' ')
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	if (s < end && *s == '|')
		s++;
	if (end > s && end[-1] == '|' && (end - 1 == s || end[-2] != '\\'))
		end--;
	for (cell = s; s <= end; s++) {
		if (s < end && *s == '\\') {
			s++;
			continue;
		}
		if (s < end && *s != '|')
			continue;
		/* The cell [cell, s): a delimiter cell is :?-+:? between spaces. */
		{
			const char *a = cell, *b = s;

			while (a < b && *a == ' ')
				a++;
			while (b > a && b[-1] == ' ')
				b--;
			if (a < b && *a == ':')
				a++;
			if (b > a && b[-1] == ':')
				b--;
			if (a == b)
				ok = false;
			for (; a < b; a++)
				ok &= *a == '-';
		}
		if (s < end)
			cells++;
		cell = s + 1;
	}
	if (delim)
		*delim = ok;
	return cells;
}

/*
 * Check every table of a Markdown text. A block of consecutive table lines
 * must be a header, a delimiter row and rows, all with the header's number of
 * cells. A blank line between two rows splits a table into blocks that fail
 * this (a header alone, a delimiter row without a header, a row alone).
 * Returns the number of bad blocks and describes the first in why.
 */
static unsigned int table_problems(const char *name, const char *text, char *why, size_t len)
{
	const char *line = text, *next = text, *end, *at_text = NULL, *what = NULL;
	unsigned int bad = 0, lineno = 0, start = 0, rows = 0, want = 0, at = 0, n = 0;
	int at_len = 0;
	bool fence = false, delim;

	*why = 0;
	for (;; line = next) {
		bool row = false;

		if (*line) {
			end = strchr(line, '\n');
			next = end ? end + 1 : line + strlen(line);
			end = end ? end : next;
			lineno++;
			if (is_fence(line, end))
				fence = !fence;
			row = !fence && is_table_line(line, end);
		}
		if (row) {
			const char *w = NULL;

			n = row_cells(line, end, &delim);
			if (!rows) {
				start = lineno;
				want = n;
				what = NULL;
				if (delim)
					w = "a delimiter row with no header right above it";
			} else if (rows == 1 && !delim) {
				w = "the line after a table's header is not a delimiter row";
			} else if (n != want) {
				w = "a row's cells are not as many as its header's";
			}
			if (w && !what) {
				what = w;
				at = lineno;
				at_text = line;
				at_len = (int)(end - line > 120 ? 120 : end - line);
			}
			rows++;
			continue;
		}
		/* The end of a block: a header (or a row) alone makes no table. */
		if (rows == 1 && !what) {
			what = "a table header (or row) stands alone: no delimiter row follows";
			at = start;
			at_text = "";
			at_len = 0;
		}
		if (rows && what && !bad++)
			snprintf(why, len, "%s:%u: %s (table block from line %u, header of %u cells) %.*s",
				 name, at, what, start, want, at_len, at_text);
		rows = 0;
		what = NULL;
		if (!*line)
			break;
	}
	return bad;
}

static void check_tables(const char *test, const char *path, const char *name)
{
	char why[512];
	char *text = slurp(path, NULL);
	unsigned int bad;

	cr_assert_not_null(text, "case %s: cannot read %s", test, path);
	bad = table_problems(name, text, why, sizeof(why));
	free(text);
	cr_assert_eq(bad, 0, "case %s: %u broken Markdown table block(s); first: %s", test, bad,
		     why);
}

/* The checker itself, on tables known good and known broken. */
Test(docs, table_checker_knows_broken_tables)
{
	static const struct {
		const char *text;
		unsigned int bad;
	} c[] = {
		{ "| a | b |\n|---|---|\n| 1 | 2 |\n", 0 },
		{ "text\n\n| a | b |\n| :-- | --: |\n| `x\\|y` | 2 |\n\nmore\n", 0 },
		{ "```\n| not | a | table\n```\n", 0 },
		{ "    | indented code |\n", 0 },
		/* the old readme-results.py: a blank line after every row */
		{ "| a | b |\n\n|---|---|\n\n| 1 | 2 |\n", 3 },
		{ "| a | b |\n|---|---|\n| 1 | 2 |\n\n| 3 | 4 |\n", 1 },
		{ "| a | b |\n|---|---|\n| 1 | 2 | 3 |\n", 1 },
		{ "| a | b |\n| 1 | 2 |\n", 1 },
		{ "| a | b |\n", 1 },
	};
	char why[512];
	unsigned int i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		cr_assert_eq(table_problems("t", c[i].text, why, sizeof(why)), c[i].bad,
			     "case checker %u: '%s': %s", i, c[i].text, why);
}

/* The committed Markdown: README.md, the .md files in docs/, the bench results. */
Test(docs, committed_markdown_tables)
{
	const char *src = src_dir();
	char pat[512], path[512];
	glob_t g = { 0 };
	size_t i;
	int ret;

	snprintf(path, sizeof(path), "%s/README.md", src);
	check_tables("committed README.md", path, "README.md");
	snprintf(path, sizeof(path), "%s/bench/results/results.md", src);
	check_tables("committed results.md", path, "bench/results/results.md");
	snprintf(pat, sizeof(pat), "%s/docs/*.md", src);
	ret = glob(pat, 0, NULL, &g);
	cr_assert(ret == 0 || ret == GLOB_NOMATCH, "case committed docs: glob %s: %d", pat, ret);
	for (i = 0; i < g.gl_pathc; i++)
		check_tables("committed docs", g.gl_pathv[i], strrchr(g.gl_pathv[i], '/') + 1);
	globfree(&g);
}

static char tmpdir[64];

static void tmpdir_cleanup(void)
{
	char cmd[128];

	if (*tmpdir) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd)) {
			/* a leftover temporary directory */
		}
	}
}

/* make readme-results on a copy of README.md: the sections it writes are well formed. */
Test(docs, readme_results_generator_tables, .fini = tmpdir_cleanup, .timeout = 60)
{
	const char *src = src_dir();
	char out[8192], path[256];
	char *text;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/wcard-docs-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir), "case generator: mkdtemp");
	snprintf(path, sizeof(path), "%s/README.md", tmpdir);
	cr_assert_eq(wt_sh(out, sizeof(out), "cp %s/README.md %s && python3 "
			   "%s/scripts/readme-results.py %s/bench/results/results.json %s",
			   src, path, src, src, path),
		     0, "case generator: readme-results.py failed: %s", out);
	text = slurp(path, NULL);
	cr_assert_not_null(text, "case generator: cannot read %s", path);
	cr_assert_not_null(strstr(text, "<!-- bench:results:end -->"),
			   "case generator: the results markers are gone");
	free(text);
	check_tables("generator", path, "README.md as readme-results.py writes it");
}

/*
 * The design notes behind the project live outside the repository; a user has
 * docs/design.md. No tracked file may cite the outside notes, and every
 * citation of a numbered section of docs/design.md must name a section the
 * document has.
 */
Test(docs, design_citations, .timeout = 60)
{
	/* Spelled in two parts, so that this file cites neither. */
	const char *outside = "DESIGN" ".md", *cite = "docs/design.md" " section ";
	const char *src = src_dir();
	char path[4096], *design, *names, *name, *text, *p;
	unsigned int cites = 0;
	size_t nlen;
	FILE *ls;

	snprintf(path, sizeof(path), "%s/docs/design.md", src);
	design = slurp(path, NULL);
	cr_assert_not_null(design, "case design: %s is missing", path);
	snprintf(path, sizeof(path), "git -C %s ls-files -z 2>/dev/null", src);
	ls = popen(path, "r");
	cr_assert_not_null(ls, "case design: git ls-files");
	names = NULL;
	nlen = 0;
	{
		size_t cap = 0, r;

		do {
			if (nlen + 65536 + 1 > cap) {
				cap = 2 * cap + 65536 + 1;
				names = realloc(names, cap);
				cr_assert_not_null(names, "case design: out of memory");
			}
			r = fread(names + nlen, 1, cap - nlen - 1, ls);
			nlen += r;
		} while (r);
		names[nlen] = 0;
	}
	if (pclose(ls) || !nlen) {
		free(names);
		free(design);
		cr_skip_test("%s is not a git work tree: no tracked files to check", src);
	}
	for (name = names; name < names + nlen; name += strlen(name) + 1) {
		size_t len;

		snprintf(path, sizeof(path), "%s/%s", src, name);
		text = slurp(path, &len);
		if (!text)
			continue; /* deleted in the work tree, or a dangling link */
		if (memchr(text, 0, len)) {
			free(text);
			continue; /* binary */
		}
		p = strstr(text, outside);
		if (p) {
			unsigned int line = 1;
			const char *q;

			for (q = text; q < p; q++)
				line += *q == '\n';
			cr_expect_fail("case design: %s:%u cites %s, which users do not have: cite "
				"docs/design.md and its section", name, line, outside);
		}
		for (p = strstr(text, cite); p; p = strstr(p + 1, cite)) {
			const char *num = p + strlen(cite);
			char head[32];
			unsigned long sec;

			if (!isdigit((unsigned char)*num))
				continue;
			sec = strtoul(num, NULL, 10);
			snprintf(head, sizeof(head), "\n## %lu. ", sec);
			cr_expect(strstr(design, head), "case design: %s cites %s%lu, which "
				  "docs/design.md does not have", name, cite, sec);
			cites++;
		}
		free(text);
	}
	free(names);
	free(design);
	cr_assert_gt(cites, 0, "case design: no file cites docs/design.md by section");
}
