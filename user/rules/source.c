// SPDX-License-Identifier: MIT
/* source.c: what the rule, trace and route readers share: lines, numbers, names; libwcard. */
#include <stdio.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <wcard/wcard.h>
#include "rules_int.h"

int lfail(struct lsrc *s, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	seterr(s->err, s->errlen, "%s:%u: %s", s->name, s->lineno, reason);
	return -EINVAL;
}

int src_open(struct lsrc *s, const char *path, char *err, size_t errlen)
{
	memset(s, 0, offsetof(struct lsrc, buf));
	s->name = path;
	s->err = err;
	s->errlen = errlen;
	errno = 0;
	if (!strcmp(path, "-")) {
		/* Standard input, read through a duplicate: closing it leaves fd 0 open. */
		int fd = dup(STDIN_FILENO);

		s->name = "<stdin>";
		s->gz = fd < 0 ? NULL : gzdopen(fd, "rb");
		if (!s->gz && fd >= 0)
			close(fd);
	} else {
		s->gz = gzopen(path, "rb");
	}
	if (!s->gz) {
		int e = errno ? errno : ENOMEM;

		seterr(err, errlen, "%s: %s", s->name, strerror(e));
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

void src_string(struct lsrc *s, const char *name, const char *text, char *err, size_t errlen)
{
	memset(s, 0, offsetof(struct lsrc, buf));
	s->name = name ? name : "<string>";
	s->text = text ? text : "";
	s->err = err;
	s->errlen = errlen;
}

int src_with(const char *path, const char *name, const char *text,
	     int (*run)(struct lsrc *s, void *arg), void *arg, char *err, size_t errlen)
{
	struct lsrc *s = malloc(sizeof(*s));
	int ret = 0;

	if (!s) {
		seterr(err, errlen, "%s: %s", path ? path : name ? name : "<string>",
		       strerror(ENOMEM));
		return -ENOMEM;
	}
	if (path)
		ret = src_open(s, path, err, errlen);
	else
		src_string(s, name, text, err, errlen);
	if (!ret)
		ret = run(s, arg);
	src_close(s);
	free(s);
	return ret;
}

void src_close(struct lsrc *s)
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

int src_next(struct lsrc *s, char **line)
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

int parse_num(const char *s, size_t n, wc_u128 max, bool dec_only, wc_u128 *out)
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

int parse_u64(const char *s, wc_u128 max, __u64 *out)
{
	wc_u128 v;
	int ret = parse_num(s, strlen(s), max, false, &v);

	if (!ret)
		*out = (__u64)v;
	return ret;
}

const char *u128_str(wc_u128 v, bool hex, char *buf, size_t len)
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

/* IP protocols by name; the first NSHORT are also bare keywords ("tcp"). */
static const struct {
	const char *name;
	unsigned int num;
} protos[] = {
	{ "tcp", 6 },  { "udp", 17 }, { "sctp", 132 }, { "icmp", 1 },	    { "icmpv6", 58 },
	{ "gre", 47 }, { "esp", 50 }, { "ah", 51 },    { "ipv6-icmp", 58 },
};
#define NSHORT 5

const char *const tcp_flag_names[8] = { "fin", "syn", "rst", "psh",
					       "ack", "urg", "ece", "cwr" };

int proto_by_name(const char *s, size_t n)
{
	unsigned int i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (strlen(protos[i].name) == n && !strncmp(protos[i].name, s, n))
			return protos[i].num;
	return -1;
}

const char *proto_name(unsigned int num)
{
	unsigned int i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (protos[i].num == num)
			return protos[i].name;
	return NULL;
}

int proto_bare(const char *tok)
{
	unsigned int i;

	for (i = 0; i < NSHORT; i++)
		if (!strcmp(tok, protos[i].name))
			return protos[i].num;
	return -1;
}

int load_records(const char *path, size_t size, int (*parse)(struct lsrc *, char *, void *),
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
