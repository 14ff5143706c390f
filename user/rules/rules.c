// SPDX-License-Identifier: MIT
/* rules.c: rule file parsers (ClassBench and the human syntax), rule formatter, trace loader. */
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
#include "core/core.h"

/* Longest accepted line, without its "\n" or "\r\n". */
#define WC_LINE_MAX 4096

/* ---- line sources: a (gzip or plain) file, or a string --------------------- */

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

/* "NAME:LINE: reason"; returns -EINVAL. */
static int __attribute__((format(printf, 2, 3))) lfail(struct lsrc *s, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	seterr(s->err, s->errlen, "%s:%u: %s", s->name, s->lineno, reason);
	return -EINVAL;
}

static int src_open(struct lsrc *s, const char *path, char *err, size_t errlen)
{
	memset(s, 0, offsetof(struct lsrc, buf));
	s->name = path;
	s->err = err;
	s->errlen = errlen;
	errno = 0;
	s->gz = gzopen(path, "rb");
	if (!s->gz) {
		int e = errno ? errno : ENOMEM;

		seterr(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	gzbuffer(s->gz, 128 * 1024);
	/*
	 * gzgets() copies NUL bytes like any other: prefill the buffer with a
	 * non-NUL byte so that a NUL before the terminator can be told apart.
	 */
	memset(s->buf, '\n', sizeof(s->buf));
	return 0;
}

static void src_string(struct lsrc *s, const char *name, const char *text, char *err, size_t errlen)
{
	memset(s, 0, offsetof(struct lsrc, buf));
	s->name = name ? name : "<string>";
	s->text = text ? text : "";
	s->err = err;
	s->errlen = errlen;
}

static void src_close(struct lsrc *s)
{
	if (s->gz)
		gzclose(s->gz);
	s->gz = NULL;
}

static int src_gz_error(struct lsrc *s)
{
	int errnum;
	const char *msg = gzerror(s->gz, &errnum);

	if (errnum == Z_OK)
		return 0;
	if (errnum == Z_ERRNO) {
		int e = errno ? errno : EIO;

		seterr(s->err, s->errlen, "%s:%u: %s", s->name, s->lineno + 1, strerror(e));
		return -e;
	}
	if (errnum == Z_MEM_ERROR) {
		seterr(s->err, s->errlen, "%s: out of memory", s->name);
		return -ENOMEM;
	}
	s->lineno++;
	return lfail(s, "gzip: %s", msg ? msg : "corrupt data");
}

/*
 * Next line into s->buf, without "\n" or "\r\n" (the parsers may write into it).
 * Returns 1, 0 at the end, or a negative errno with the message set.
 */
static int src_next(struct lsrc *s, char **line)
{
	size_t len;

	if (s->gz) {
		memset(s->buf, '\n', s->dirty);
		s->dirty = 0;
		if (!gzgets(s->gz, s->buf, sizeof(s->buf)))
			return src_gz_error(s);
		len = strlen(s->buf);
		s->dirty = len + 1;
		s->lineno++;
		if (memchr(s->buf + len + 1, 0, sizeof(s->buf) - len - 1))
			return lfail(s, "NUL byte in line");
		if (len == sizeof(s->buf) - 1 && s->buf[len - 1] != '\n')
			return lfail(s, "line longer than %d bytes", WC_LINE_MAX);
	} else {
		const char *p = s->text + s->pos, *nl;

		if (!*p)
			return 0;
		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) + 1 : strlen(p);
		s->lineno++;
		if (len > sizeof(s->buf) - 1)
			return lfail(s, "line longer than %d bytes", WC_LINE_MAX);
		memcpy(s->buf, p, len);
		s->buf[len] = 0;
		s->pos += len;
	}
	if (len && s->buf[len - 1] == '\n')
		s->buf[--len] = 0;
	if (len && s->buf[len - 1] == '\r')
		s->buf[--len] = 0;
	if (len > WC_LINE_MAX)
		return lfail(s, "line longer than %d bytes", WC_LINE_MAX);
	*line = s->buf;
	return 1;
}

/* ---- small parsing helpers ------------------------------------------------ */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static char *skip_ws(char *p)
{
	while (is_ws(*p))
		p++;
	return p;
}

static wc_u128 ones(unsigned int width)
{
	return width >= 16 ? ~(wc_u128)0 : (((wc_u128)1 << (width * 8)) - 1);
}

static int hexval(char c)
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
static int parse_num(const char *s, size_t n, wc_u128 max, bool dec_only, wc_u128 *out)
{
	unsigned int base = 10;
	wc_u128 v = 0;
	bool big = false;
	size_t i = 0;

	if (!dec_only && n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i >= n)
		return -EINVAL;
	for (; i < n; i++) {
		int d = hexval(s[i]);

		if (d < 0 || (unsigned int)d >= base)
			return -EINVAL;
		if (v > (~(wc_u128)0 - d) / base)
			big = true;
		else
			v = v * base + d;
	}
	if (big || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int parse_u64(const char *s, wc_u128 max, __u64 *out)
{
	wc_u128 v;
	int ret = parse_num(s, strlen(s), max, false, &v);

	if (!ret)
		*out = (__u64)v;
	return ret;
}

static const char *u128_str(wc_u128 v, bool hex, char *buf, size_t len)
{
	__u64 hi = (__u64)(v >> 64), lo = (__u64)v;

	if (!hi)
		snprintf(buf, len, hex ? "0x%llx" : "%llu", (unsigned long long)lo);
	else if (hex)
		snprintf(buf, len, "0x%llx%016llx", (unsigned long long)hi, (unsigned long long)lo);
	else {
		/* decimal of a 128-bit number: digits from the end */
		char tmp[48];
		int i = sizeof(tmp) - 1;

		tmp[i] = 0;
		while (v) {
			tmp[--i] = '0' + (int)(v % 10);
			v /= 10;
		}
		snprintf(buf, len, "%s", tmp + i);
	}
	return buf;
}

/* ---- rule parsing context ------------------------------------------------- */

struct pctx {
	struct lsrc *s;
	/* the rule set's layout, NULL while the first address has not picked one */
	const struct wcard_layout *layout;
	unsigned int pick_line; /* line whose address picked layout (0: given) */
};

static const struct wcard_layout *cur_layout(const struct pctx *c)
{
	/* Both built-ins agree on everything but the address width. */
	return c->layout ? c->layout : wcard_layout_ipv4();
}

static bool layout_same(const struct wcard_layout *a, const struct wcard_layout *b)
{
	unsigned int i;

	if (a == b)
		return true;
	if (a->nfields != b->nfields)
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
	const struct wcard_layout *l = cur_layout(c);
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
	if (fam) {
		if (!c->layout) {
			c->layout = fam == 4 ? wcard_layout_ipv4() : wcard_layout_ipv6();
			c->pick_line = c->s->lineno;
			l = c->layout;
			w = l->fields[f].width;
		}
		if (w != (fam == 4 ? 4u : 16u)) {
			if (c->pick_line)
				return lfail(c->s,
					     "IPv%u address in %s %s rule set (line %u has IPv%u)",
					     fam, article(l->name), l->name, c->pick_line,
					     fam == 4 ? 6 : 4);
			return lfail(c->s, "IPv%u address in %s %s rule set", fam, article(l->name),
				     l->name);
		}
		for (i = 0; i < w; i++)
			v = v << 8 | bytes[i];
	} else {
		/* Plain numbers only where no address is expected. */
		if ((l->id != WC_LAYOUT_CUSTOM && (w == 4 || w == 16)) ||
		    parse_num(abuf, alen, ones(w), false, &v))
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

/* The next whitespace-delimited word at *pp, NUL-terminated in place. */
static char *cb_word(char **pp)
{
	char *p = skip_ws(*pp), *s = p;

	while (*p && !is_ws(*p))
		p++;
	if (*p)
		*p++ = 0;
	*pp = p;
	return s;
}

/* "LO : HI" (spaces optional around ':'). */
static int cb_range(struct pctx *c, struct wcard_rule *r, unsigned int f, char **pp,
		    const char *what)
{
	const struct wcard_layout *l = cur_layout(c);
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
	tok = cb_word(&p);
	if (!*tok)
		return lfail(c->s, "missing source address");
	ret = parse_prefix(c, r, WC_F_SRC, tok);
	if (ret)
		return ret;
	tok = cb_word(&p);
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
	tok = cb_word(&p);
	if (!*tok)
		return lfail(c->s, "missing protocol");
	if (cb_pair(tok, 0xff, &v, &m))
		return lfail(c->s, "bad protocol '%.64s' (expected 0xVV/0xMM)", tok);
	wcard_rule_set_mask(l, r, WC_F_PROTO, v & m, m);
	/* Flags: checked, then ignored (ClassBench traces carry no real flags). */
	tok = cb_word(&p);
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

static const struct {
	const char *name;
	unsigned int num;
} protos[] = {
	{ "tcp", 6 },  { "udp", 17 }, { "sctp", 132 }, { "icmp", 1 },	    { "icmpv6", 58 },
	{ "gre", 47 }, { "esp", 50 }, { "ah", 51 },    { "ipv6-icmp", 58 },
};
#define NSHORT 5 /* the first entries are also bare keywords */

static const char *const tcp_flag_names[8] = { "fin", "syn", "rst", "psh",
					       "ack", "urg", "ece", "cwr" };

static int proto_by_name(const char *s, size_t n)
{
	unsigned int i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (strlen(protos[i].name) == n && !strncmp(protos[i].name, s, n))
			return protos[i].num;
	return -1;
}

static const char *proto_name(unsigned int num)
{
	unsigned int i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (protos[i].num == num)
			return protos[i].name;
	return NULL;
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
		ret = parse_flags(s, n, ones(width), out);
	} else {
		ret = parse_num(s, n, ones(width), false, out);
		if (ret == -EINVAL && !strcmp(fname, "proto")) {
			p = proto_by_name(s, n);
			if (p < 0)
				return lfail(c->s, "unknown protocol '%.*s'",
					     (int)(n > 64 ? 64 : n), s);
			if ((wc_u128)p > ones(width))
				ret = -ERANGE;
			else
				*out = p, ret = 0;
		}
	}
	if (ret == -ERANGE)
		return lfail(c->s, "%s %.*s out of range (0..%s)", fname, (int)(n > 64 ? 64 : n), s,
			     u128_str(ones(width), false, nb, sizeof(nb)));
	if (ret)
		return lfail(c->s, "bad %s '%.*s'", fname, (int)(n > 64 ? 64 : n), s);
	return 0;
}

/* The argument of a field keyword. */
static int h_field(struct pctx *c, struct wcard_rule *r, unsigned int f, const char *arg)
{
	const struct wcard_layout *l = cur_layout(c);
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
		ret = parse_num(arg, sep ? (size_t)(sep - arg) : strlen(arg), ones(fd->width),
				false, &v);
		if (!ret) {
			m = v;
			if (sep)
				ret = parse_num(sep + 1, strlen(sep + 1), ones(fd->width), false,
						&m);
		}
		if (ret == -ERANGE)
			return lfail(c->s, "%s '%.64s' out of range (0..%s)", fd->name, arg,
				     u128_str(ones(fd->width), false, nb, sizeof(nb)));
		if (ret)
			return lfail(c->s, "bad %s '%.64s'", fd->name, arg);
		if (v > m)
			return lfail(c->s, "%s range lo %llu > hi %llu", fd->name,
				     (unsigned long long)v, (unsigned long long)m);
		ret = wcard_rule_set_range(l, r, f, (__u64)v, (__u64)m);
		break;
	case WC_FIELD_EXACT:
		ret = parse_num(arg, strlen(arg), ones(fd->width), false, &v);
		if (ret == -ERANGE)
			return lfail(c->s, "%s %.64s out of range (0..%s)", fd->name, arg,
				     u128_str(ones(fd->width), false, nb, sizeof(nb)));
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
			m = strcmp(fd->name, "flags") ? ones(fd->width) : v;
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
	unsigned int i;

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
	for (i = 0; i < NSHORT; i++) {
		if (!strcmp(tok, protos[i].name) && field_index(l, "proto") >= 0) {
			*arg = protos[i].num;
			return KW_SHORT;
		}
	}
	return -1;
}

#define SEEN_PRIO   (1u << WC_MAX_FIELDS)
#define SEEN_ACTION (1u << (WC_MAX_FIELDS + 1))

/* Parses one line. 1: a rule in r, 0: nothing on the line, < 0: error. */
static int h_line(struct pctx *c, char *line, __u32 ordinal, struct wcard_rule *r)
{
	struct lex x = { .p = line };
	const char *tok = lex_next(&x), *arg = NULL, *action = NULL;
	unsigned int seen = 0, bit;
	int kw, karg = 0, f, ret;
	__u64 n;

	if (!tok)
		return 0;
	wcard_rule_any(cur_layout(c), r);
	r->prio = ordinal;
	r->id = ordinal;
	r->line = c->s->lineno;
	for (; tok; tok = lex_next(&x)) {
		const struct wcard_layout *l = cur_layout(c);

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
			if (wcard_rule_set_mask(l, r, f, karg, ones(l->fields[f].width)))
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
	if (!(seen & SEEN_ACTION))
		return lfail(c->s, "missing action (pass, drop, redirect IFACE or value N)");
	return 1;
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
		if (fmt == WCARD_FMT_CLASSBENCH) {
			if (!c.layout) {
				c.layout = wcard_layout_ipv4();
			} else if (!layout_same(c.layout, wcard_layout_ipv4())) {
				ret = lfail(s,
					    "ClassBench rules need the ipv4-5tuple layout, not %s",
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
		} else {
			ret = h_line(&c, p, ordinal, &r);
			if (ret < 0)
				break;
			if (!ret)
				continue;
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
			rs->layout = cur_layout(&c);
	}
	wcard_ruleset_free(&tmp);
	return ret;
}

int wcard_rules_load(const char *path, enum wcard_rule_fmt fmt, const struct wcard_layout *layout,
		     struct wcard_ruleset *rs, char *err, size_t errlen)
{
	struct lsrc *s;
	int ret;

	if (!path || !rs)
		return -EINVAL;
	s = malloc(sizeof(*s));
	if (!s) {
		seterr(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	ret = src_open(s, path, err, errlen);
	if (!ret)
		ret = rules_run(s, fmt, layout, rs);
	src_close(s);
	free(s);
	return ret;
}

int wcard_rules_parse(const char *name, const char *text, enum wcard_rule_fmt fmt,
		      const struct wcard_layout *layout, struct wcard_ruleset *rs, char *err,
		      size_t errlen)
{
	struct lsrc *s;
	int ret;

	if (!rs)
		return -EINVAL;
	s = malloc(sizeof(*s));
	if (!s) {
		seterr(err, errlen, "%s: %s", name ? name : "<string>", strerror(ENOMEM));
		return -ENOMEM;
	}
	src_string(s, name, text, err, errlen);
	ret = rules_run(s, fmt, layout, rs);
	free(s);
	return ret;
}

/* ---- formatting ----------------------------------------------------------- */

struct out {
	char *buf;
	size_t len;
	size_t off;
};

static void __attribute__((format(printf, 2, 3))) out(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->off < o->len ? o->buf + o->off : NULL,
		      o->off < o->len ? o->len - o->off : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->off += n;
}

static void out_flags(struct out *o, wc_u128 v)
{
	unsigned int i;
	bool first = true;

	if (!v || v == 0xff) {
		out(o, v ? "0xff" : "0");
		return;
	}
	for (i = 0; i < 8; i++) {
		if (!(v & (1u << i)))
			continue;
		out(o, "%s%s", first ? "" : "|", tcp_flag_names[i]);
		first = false;
	}
}

static void fmt_field(struct out *o, const struct wcard_field *fd, const struct wcard_match *m)
{
	const char *sep = o->off ? " " : "";
	char nb[2][48];
	unsigned char bytes[16];
	char abuf[INET6_ADDRSTRLEN];
	unsigned int i, w = fd->width;
	const char *pn;

	switch (fd->type) {
	case WC_FIELD_PREFIX:
		if (!m->plen)
			return;
		if (w == 4 || w == 16) {
			for (i = 0; i < w; i++)
				bytes[i] = (unsigned char)(m->value >> (8 * (w - 1 - i)));
			inet_ntop(w == 4 ? AF_INET : AF_INET6, bytes, abuf, sizeof(abuf));
			out(o, "%s%s %s", sep, fd->name, abuf);
		} else {
			out(o, "%s%s %s", sep, fd->name, u128_str(m->value, true, nb[0], 48));
		}
		if (m->plen < w * 8)
			out(o, "/%u", m->plen);
		break;
	case WC_FIELD_RANGE:
		if (m->lo == 0 && m->hi == (__u64)ones(w))
			return;
		if (m->lo == m->hi)
			out(o, "%s%s %llu", sep, fd->name, (unsigned long long)m->lo);
		else
			out(o, "%s%s %llu-%llu", sep, fd->name, (unsigned long long)m->lo,
			    (unsigned long long)m->hi);
		break;
	case WC_FIELD_EXACT:
		if (!m->mask)
			return;
		out(o, "%s%s %s", sep, fd->name, u128_str(m->value, true, nb[0], 48));
		break;
	case WC_FIELD_MASK:
		if (!m->mask)
			return;
		if (!strcmp(fd->name, "flags") && w == 1) {
			out(o, "%sflags ", sep);
			out_flags(o, m->value);
			if (m->value != m->mask) {
				out(o, "/");
				out_flags(o, m->mask);
			}
		} else if (!strcmp(fd->name, "flags") && m->value == m->mask) {
			out(o, "%sflags %s", sep, u128_str(m->value, true, nb[0], 48));
		} else if (m->mask == ones(w) && strcmp(fd->name, "flags")) {
			pn = !strcmp(fd->name, "proto") && w == 1
				     ? proto_name((unsigned int)m->value)
				     : NULL;
			if (pn)
				out(o, "%s%s %s", sep, fd->name, pn);
			else
				out(o, "%s%s %s", sep, fd->name,
				    u128_str(m->value, !!strcmp(fd->name, "proto"), nb[0], 48));
		} else {
			out(o, "%s%s %s/%s", sep, fd->name, u128_str(m->value, true, nb[0], 48),
			    u128_str(m->mask, true, nb[1], 48));
		}
		break;
	}
}

int wcard_rule_format(const struct wcard_layout *l, const struct wcard_rule *r, char *buf,
		      size_t len)
{
	struct out o = { .buf = buf, .len = len };
	unsigned int i;

	if (buf && len)
		buf[0] = 0;
	for (i = 0; i < l->nfields && i < WC_MAX_FIELDS; i++)
		fmt_field(&o, &l->fields[i], &r->f[i]);
	out(&o, "%sprio %u", o.off ? " " : "", r->prio);
	if (r->value == WC_ACT_PASS)
		out(&o, " pass");
	else if (r->value == WC_ACT_DROP)
		out(&o, " drop");
	else if (WC_VALUE_ACTION(r->value) == WC_ACT_REDIRECT && !(r->value >> 40) &&
		 WC_VALUE_IFINDEX(r->value))
		out(&o, " redirect %u", WC_VALUE_IFINDEX(r->value));
	else
		out(&o, " value 0x%llx", (unsigned long long)r->value);
	return o.off > INT32_MAX ? INT32_MAX : (int)o.off;
}

/* ---- traces --------------------------------------------------------------- */

static const struct {
	const char *what;
	__u64 max;
} trace_cols[7] = {
	{ "source address", UINT32_MAX },
	{ "destination address", UINT32_MAX },
	{ "source port", 0xffff },
	{ "destination port", 0xffff },
	{ "protocol", 0xff },
	/* ClassBench writes 32-bit flag words here (e.g. 4294967295, 268439552). */
	{ "flags", UINT32_MAX },
	{ "filter", UINT32_MAX },
};

static int trace_line(struct lsrc *s, char *p, struct wcard_tuple *t)
{
	__u64 v[7];
	unsigned int i;
	char *tok;

	for (i = 0; i < 7; i++) {
		wc_u128 n;
		int ret;

		tok = cb_word(&p);
		if (!*tok) {
			if (i < 5)
				return lfail(s, "missing %s", trace_cols[i].what);
			break;
		}
		ret = parse_num(tok, strlen(tok), trace_cols[i].max, true, &n);
		if (ret == -ERANGE)
			return lfail(s, "%s %.64s out of range (0..%llu)", trace_cols[i].what, tok,
				     (unsigned long long)trace_cols[i].max);
		if (ret)
			return lfail(s, "bad %s '%.64s'", trace_cols[i].what, tok);
		v[i] = (__u64)n;
	}
	p = skip_ws(p);
	if (*p)
		return lfail(s, "trailing garbage '%.64s'", p);
	memset(t, 0, sizeof(*t));
	t->src = (__u32)v[0];
	t->dst = (__u32)v[1];
	t->sport = (__u16)v[2];
	t->dport = (__u16)v[3];
	t->proto = (__u8)v[4];
	/*
	 * A TCP flags byte is kept; ClassBench's wider flag words are not TCP
	 * flags and become 0 (its rules ignore flags anyway).
	 */
	t->flags = i > 5 && v[5] <= 0xff ? (__u8)v[5] : 0;
	t->filter = i > 6 ? (__u32)v[6] : ~0u;
	return 0;
}

/*
 * Read a file of one record per line (blank and '#' lines skipped) into a
 * new array: parse(s, line, record) fills one record or fails with lfail().
 * All or nothing: on any error *out is untouched. empty names what a file
 * without records lacks ("packets", "routes").
 */
static int load_records(const char *path, size_t size, int (*parse)(struct lsrc *, char *, void *),
			const char *empty, void **out, size_t *nout, char *err, size_t errlen)
{
	size_t n = 0, cap = 0;
	char *tmp = NULL, *np, *line, *p;
	struct lsrc *s;
	int ret;

	s = malloc(sizeof(*s));
	if (!s) {
		seterr(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	ret = src_open(s, path, err, errlen);
	if (ret) {
		free(s);
		return ret;
	}
	while ((ret = src_next(s, &line)) > 0) {
		p = skip_ws(line);
		if (!*p || *p == '#')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			np = realloc(tmp, cap * size);
			if (!np) {
				ret = -ENOMEM;
				seterr(err, errlen, "%s:%u: %s", path, s->lineno, strerror(ENOMEM));
				break;
			}
			tmp = np;
		}
		ret = parse(s, p, tmp + n * size);
		if (ret)
			break;
		n++;
	}
	if (!ret && !n) {
		seterr(err, errlen, "%s: no %s", path, empty);
		ret = -EINVAL;
	}
	if (ret) {
		free(tmp);
	} else {
		*out = tmp;
		*nout = n;
	}
	src_close(s);
	free(s);
	return ret;
}

static int trace_record(struct lsrc *s, char *p, void *rec)
{
	return trace_line(s, p, rec);
}

int wcard_trace_load(const char *path, struct wcard_trace *tr, char *err, size_t errlen)
{
	struct wcard_tuple *tmp = NULL, *np;
	void *recs;
	size_t n;
	int ret;

	if (!path || !tr)
		return -EINVAL;
	ret = load_records(path, sizeof(*tmp), trace_record, "packets", &recs, &n, err, errlen);
	if (ret)
		return ret;
	tmp = recs;
	if (!tr->n) {
		free(tr->t);
		tr->t = tmp;
		tr->cap = tr->n = n;
		return 0;
	}
	np = realloc(tr->t, (tr->n + n) * sizeof(*np));
	if (!np) {
		free(tmp);
		seterr(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	memcpy(np + tr->n, tmp, n * sizeof(*np));
	tr->t = np;
	tr->n += n;
	tr->cap = tr->n;
	free(tmp);
	return 0;
}

/* ---- routes: PREFIX/LEN [VALUE] [# comment] ------------------------------- */

static int route_line(struct lsrc *s, char *p, void *rec)
{
	struct wcard_route *r = rec;
	char addr[INET6_ADDRSTRLEN + 1], *q, *slash, *end;
	unsigned long len;
	__u8 buf[16];
	size_t alen;
	int v6, i;

	memset(r, 0, sizeof(*r));
	r->line = s->lineno;
	r->value = s->lineno - 1;
	for (q = p; *q && !is_ws(*q) && *q != '#'; q++)
		;
	slash = memchr(p, '/', q - p);
	if (!slash)
		return lfail(s, "'%.*s' is not PREFIX/LEN", (int)(q - p), p);
	alen = slash - p;
	if (alen >= sizeof(addr))
		return lfail(s, "bad address '%.*s'", (int)alen, p);
	memcpy(addr, p, alen);
	addr[alen] = 0;
	v6 = strchr(addr, ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, buf) != 1)
		return lfail(s, "bad address '%s'", addr);
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (end == slash + 1 || end != q || errno || slash[1] == '-' || slash[1] == '+')
		return lfail(s, "bad prefix length '%.*s'", (int)(q - slash - 1), slash + 1);
	if (len > (v6 ? 128u : 32u))
		return lfail(s, "prefix length %lu longer than the address (%u)", len, v6 ? 128 : 32);
	r->family = v6 ? 6 : 4;
	r->len = len;
	for (i = 0; i < (v6 ? 16 : 4); i++)
		r->addr = (r->addr << 8) | buf[i];
	/* Host bits past the length are cleared, as the kernel's LPM trie does. */
	if (len < (v6 ? 128u : 32u))
		r->addr &= ~(ones(v6 ? 16 : 4) >> len) & ones(v6 ? 16 : 4);
	p = skip_ws(q);
	if (*p && *p != '#') {
		wc_u128 v;

		for (q = p; *q && !is_ws(*q) && *q != '#'; q++)
			;
		if (parse_num(p, q - p, ~(__u64)0, false, &v))
			return lfail(s, "bad value '%.*s'", (int)(q - p), p);
		r->value = (__u64)v;
		p = skip_ws(q);
	}
	if (*p && *p != '#')
		return lfail(s, "trailing garbage '%s'", p);
	return 0;
}

int wcard_route_parse(const char *text, const char *what, struct wcard_route *r, char *err,
		      size_t errlen)
{
	struct lsrc *s;
	size_t n;
	int ret;

	if (!text || !r)
		return -EINVAL;
	n = strlen(text);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->name = what ? what : "route";
	s->lineno = 1; /* so the value defaults to 0 */
	s->err = err;
	s->errlen = errlen;
	if (n > WC_LINE_MAX) {
		ret = lfail(s, "longer than %u bytes", WC_LINE_MAX);
	} else {
		memcpy(s->buf, text, n + 1);
		ret = route_line(s, skip_ws(s->buf), r);
	}
	free(s);
	return ret;
}

int wcard_routes_load(const char *path, struct wcard_routes *rt, char *err, size_t errlen)
{
	void *recs;
	size_t n;
	int ret;

	if (!path || !rt)
		return -EINVAL;
	ret = load_records(path, sizeof(struct wcard_route), route_line, "routes", &recs, &n, err,
			   errlen);
	if (ret)
		return ret;
	free(rt->r);
	rt->r = recs;
	rt->n = n;
	return 0;
}

void wcard_routes_free(struct wcard_routes *rt)
{
	if (!rt)
		return;
	free(rt->r);
	rt->r = NULL;
	rt->n = 0;
}

void wcard_trace_free(struct wcard_trace *tr)
{
	if (!tr)
		return;
	free(tr->t);
	tr->t = NULL;
	tr->n = tr->cap = 0;
}
