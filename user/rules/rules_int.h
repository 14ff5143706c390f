/* rules_int.h: user/rules inside: line sources, lexical helpers; libwcard internal */
#ifndef WCARD_RULES_INT_H
#define WCARD_RULES_INT_H

#include <stdbool.h>
#include <zlib.h>
#include <wcard/wcard.h>
#include "core/core.h"

/* Longest accepted line, without its "\n" or "\r\n". */
#define WC_LINE_MAX 4096

/* ---- line sources (source.c): a (gzip or plain) file, or a string ----------- */

/* One line at a time from a file or a string, with its name and line number for messages. */
struct lsrc {
	const char *name;
	gzFile gz; /* NULL for a string source */
	const char *text;
	size_t pos;
	size_t dirty; /* bytes of buf the last gzgets() wrote, terminator included */
	unsigned int lineno;
	char *err;
	size_t errlen;
	/* a full line, "\r\n" and the terminator */
	char buf[WC_LINE_MAX + 3];
};

/* Open path (gzip or plain) as s. 0, or -errno with err set. */
int src_open(struct lsrc *s, const char *path, char *err, size_t errlen);
/* text (name for messages; NULL: "<string>") as s. */
void src_string(struct lsrc *s, const char *name, const char *text, char *err, size_t errlen);
void src_close(struct lsrc *s);
/*
 * run(s, arg) on a source: the file at path (gzip or plain, "-": standard
 * input) if path is set, else text named name. Returns run's result, or
 * -errno with err set when the source cannot be opened.
 */
int src_with(const char *path, const char *name, const char *text,
	     int (*run)(struct lsrc *s, void *arg), void *arg, char *err, size_t errlen);
/*
 * Next line into s->buf, without "\n" or "\r\n" (the parsers may write into
 * it). Returns 1, 0 at the end, or a negative errno with the message set.
 */
int src_next(struct lsrc *s, char **line);
/* "NAME:LINE: reason" into the source's error; returns -EINVAL. */
int lfail(struct lsrc *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Read a file of one record per line (blank and '#' lines skipped) into a
 * new array: parse(s, line, record) fills one record or fails with lfail().
 * All or nothing: on any error *out is untouched. empty names what a file
 * without records lacks ("packets", "routes").
 */
int load_records(const char *path, size_t size, int (*parse)(struct lsrc *, char *, void *),
		 const char *empty, void **out, size_t *nout, char *err, size_t errlen);

/* ---- one line of the human syntax (rules.c) ------------------------------- */

/* Bits of rules_line's *seen besides one per field (1u << field): */
#define RULE_SEEN_PRIO (1u << WC_MAX_FIELDS)
#define RULE_SEEN_ACTION (1u << (WC_MAX_FIELDS + 1))
/*
 * One rule in the human syntax, in layout l, into r (prio and id: ordinal).
 * 1: a rule, 0: the line is empty, < 0: lfail(). An action is not required:
 * *seen says which clauses the line had.
 */
int rules_line(struct lsrc *s, const struct wcard_layout *l, char *line, __u32 ordinal,
	       struct wcard_rule *r, unsigned int *seen);

/* ---- numbers and names (source.c) ----------------------------------------- */

static inline bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static inline char *skip_ws(char *p)
{
	while (is_ws(*p))
		p++;
	return p;
}

/* The next whitespace-delimited word at *pp, NUL-terminated in place. */
static inline char *next_word(char **pp)
{
	char *p = skip_ws(*pp), *s = p;

	while (*p && !is_ws(*p))
		p++;
	if (*p)
		*p++ = 0;
	*pp = p;
	return s;
}

static inline int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Unsigned number of exactly n chars: decimal, or hex with 0x (unless
 * dec_only). 0, -EINVAL when malformed, -ERANGE above max.
 */
int parse_num(const char *s, size_t n, wc_u128 max, bool dec_only, wc_u128 *out);
/* A whole string as parse_num. */
int parse_u64(const char *s, wc_u128 max, __u64 *out);
/* v in decimal or hex (0x...) into buf; returns buf. */
const char *u128_str(wc_u128 v, bool hex, char *buf, size_t len);
/* The number of protocol name s (n chars), or -1. */
int proto_by_name(const char *s, size_t n);
/* The name of protocol num, or NULL. */
const char *proto_name(unsigned int num);
/* The number of protocol tok if it also stands alone as a keyword ("tcp"), or -1. */
int proto_bare(const char *tok);
/* The TCP flags by bit, fin first. */
extern const char *const tcp_flag_names[8];

#endif /* WCARD_RULES_INT_H */
