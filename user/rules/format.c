// SPDX-License-Identifier: MIT
/* format.c: a rule back to the human syntax (wcard_rule_format); libwcard. */
#include <stdio.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wcard/wcard.h>
#include "rules_int.h"

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

/*
 * out() without a format: n bytes, a string, a character, an unsigned number
 * in decimal or hex. Listings of 100K rules run through these.
 */
static void out_mem(struct out *o, const char *s, size_t n)
{
	if (o->off < o->len) {
		size_t k = o->len - o->off - 1 < n ? o->len - o->off - 1 : n;

		memcpy(o->buf + o->off, s, k);
		o->buf[o->off + k] = 0;
	}
	o->off += n;
}

static void out_str(struct out *o, const char *str)
{
	out_mem(o, str, strlen(str));
}

static void out_chr(struct out *o, char c)
{
	out_mem(o, &c, 1);
}

static void out_dec(struct out *o, unsigned long long v)
{
	char t[24];
	int i = sizeof(t);

	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out_mem(o, t + i, sizeof(t) - i);
}

/* "0x" and v in lowercase hex, as %#llx but 0x0 for 0. */
static void out_hex(struct out *o, unsigned long long v)
{
	char t[24];
	int i = sizeof(t);

	do {
		t[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	t[--i] = 'x';
	t[--i] = '0';
	out_mem(o, t + i, sizeof(t) - i);
}

/* " name " (no space first on an empty line). */
static void out_name(struct out *o, const char *name)
{
	if (o->off)
		out_chr(o, ' ');
	out_str(o, name);
	out_chr(o, ' ');
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
		out_name(o, fd->name);
		if (w == 4) {
			for (i = 0; i < 4; i++) {
				if (i)
					out_chr(o, '.');
				out_dec(o, (unsigned int)(m->value >> (8 * (3 - i))) & 0xff);
			}
		} else if (w == 16) {
			for (i = 0; i < w; i++)
				bytes[i] = (unsigned char)(m->value >> (8 * (w - 1 - i)));
			inet_ntop(AF_INET6, bytes, abuf, sizeof(abuf));
			out_str(o, abuf);
		} else {
			out_str(o, u128_str(m->value, true, nb[0], 48));
		}
		if (m->plen < w * 8) {
			out_chr(o, '/');
			out_dec(o, m->plen);
		}
		break;
	case WC_FIELD_RANGE:
		if (m->lo == 0 && m->hi == (__u64)u128_ones(w))
			return;
		out_name(o, fd->name);
		out_dec(o, m->lo);
		if (m->lo != m->hi) {
			out_chr(o, '-');
			out_dec(o, m->hi);
		}
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
		} else if (m->mask == u128_ones(w) && strcmp(fd->name, "flags")) {
			pn = !strcmp(fd->name, "proto") && w == 1
				     ? proto_name((unsigned int)m->value)
				     : NULL;
			if (pn) {
				out_name(o, fd->name);
				out_str(o, pn);
			} else
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
	const struct wcard_layout *fl = wcard_layout_family(l, r->family);
	bool addr = false;
	unsigned int i;

	if (buf && len)
		buf[0] = 0;
	for (i = 0; i < fl->nfields && i < WC_MAX_FIELDS; i++) {
		addr |= fl->fields[i].type == WC_FIELD_PREFIX && r->f[i].plen;
		fmt_field(&o, &fl->fields[i], &r->f[i]);
	}
	/* An inet rule of one family but no address says so: it reads back the same. */
	if (l->id == WC_LAYOUT_INET && r->family && !addr)
		out(&o, "%s%s %s/0", o.off ? " " : "", fl->fields[WC_F_SRC].name,
		    r->family == 6 ? "::" : "0.0.0.0");
	out_name(&o, "prio");
	out_dec(&o, r->prio);
	if (r->value == WC_ACT_PASS)
		out_str(&o, " pass");
	else if (r->value == WC_ACT_DROP)
		out_str(&o, " drop");
	else if (WC_VALUE_ACTION(r->value) == WC_ACT_REDIRECT && !(r->value >> 40) &&
		 WC_VALUE_IFINDEX(r->value))
		out(&o, " redirect %u", WC_VALUE_IFINDEX(r->value));
	else {
		out_mem(&o, " value ", 7);
		out_hex(&o, r->value);
	}
	return o.off > INT32_MAX ? INT32_MAX : (int)o.off;
}
