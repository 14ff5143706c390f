// SPDX-License-Identifier: MIT
/* records.c: packet traces and route tables, one record per line; libwcard. */
#include <stdio.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wcard/wcard.h>
#include "rules_int.h"

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

/*
 * A trace address as text, dotted IPv4 or IPv6: its family (4 or 6), the
 * value in *v. 0 for anything else (ClassBench writes IPv4 as a number).
 */
static unsigned int trace_addr(const char *tok, wc_u128 *v)
{
	unsigned char b[16];
	unsigned int i;

	if (strchr(tok, ':') && inet_pton(AF_INET6, tok, b) == 1) {
		for (*v = 0, i = 0; i < 16; i++)
			*v = *v << 8 | b[i];
		return 6;
	}
	if (strchr(tok, '.') && inet_pton(AF_INET, tok, b) == 1) {
		*v = (wc_u128)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
		return 4;
	}
	return 0;
}

static int trace_line(struct lsrc *s, char *p, struct wcard_tuple *t)
{
	unsigned int i, fam[2] = { 0, 0 };
	wc_u128 addr[2] = { 0, 0 };
	__u64 v[7];
	char *tok;

	for (i = 0; i < 7; i++) {
		wc_u128 n;
		int ret;

		tok = next_word(&p);
		if (!*tok) {
			if (i < 5)
				return lfail(s, "missing %s", trace_cols[i].what);
			break;
		}
		if (i < 2) {
			fam[i] = trace_addr(tok, &addr[i]);
			if (fam[i]) {
				v[i] = (__u64)addr[i];
				continue;
			}
			if (strchr(tok, ':') || strchr(tok, '.'))
				return lfail(s, "bad %s '%.64s'", trace_cols[i].what, tok);
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
	if ((fam[0] == 6) != (fam[1] == 6))
		return lfail(s, "an IPv4 and an IPv6 address in one packet");
	memset(t, 0, sizeof(*t));
	t->family = fam[0] == 6 ? 6 : 4;
	if (t->family == 6) {
		t->src6 = addr[0];
		t->dst6 = addr[1];
	} else {
		t->src = (__u32)v[0];
		t->dst = (__u32)v[1];
	}
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
		r->addr &= ~(u128_ones(v6 ? 16 : 4) >> len) & u128_ones(v6 ? 16 : 4);
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
