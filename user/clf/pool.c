// SPDX-License-Identifier: MIT
/* pool.c: parses static Tuple Merge table pools (a list of tuples or a Cartesian product). */
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <wcard/wcard.h>

static int field_by_name(const struct wcard_layout *l, const char *name, size_t n)
{
	unsigned int f;

	for (f = 0; f < l->nfields; f++)
		if (strlen(l->fields[f].name) == n && !strncmp(l->fields[f].name, name, n))
			return f;
	return -1;
}

/* Bits a tuple may give field f: any prefix length, else 0 or all bits. */
static bool bits_ok(const struct wcard_layout *l, unsigned int f, unsigned long b)
{
	unsigned int full = l->fields[f].width * 8;

	if (l->fields[f].type == WC_FIELD_PREFIX)
		return b <= full;
	return b == 0 || b == full;
}

static int parse_bits(const struct wcard_layout *l, unsigned int f, const char *s, char **end,
		      __u8 *out, char *err, size_t errlen)
{
	unsigned long b;

	errno = 0;
	b = strtoul(s, end, 10);
	if (errno || *end == s || !bits_ok(l, f, b)) {
		snprintf(err, errlen, "pool: field %s: bad length '%.*s' (%s)", l->fields[f].name,
			 (int)strcspn(s, ",; \t"), s,
			 l->fields[f].type == WC_FIELD_PREFIX ? "0 to the field's bits" :
								"0 or all the field's bits");
		return -EINVAL;
	}
	*out = (__u8)b;
	return 0;
}

/* "32,32,0,16,8,0; 24,24,0,0,8,0": tuples in layout field order. */
static int parse_list(const struct wcard_layout *l, const char *spec, __u8 (**pool)[WC_MAX_FIELDS],
		      unsigned int *n, char *err, size_t errlen)
{
	__u8(*p)[WC_MAX_FIELDS] = NULL;
	const char *s = spec;
	unsigned int cnt = 0, f;
	char *end;
	int ret;

	while (*s) {
		void *np;

		while (*s == ' ' || *s == '\t' || *s == ';')
			s++;
		if (!*s)
			break;
		if (cnt == WC_TM_MAX_TABLES) {
			snprintf(err, errlen, "pool: more than %u tuples", WC_TM_MAX_TABLES);
			ret = -E2BIG;
			goto fail;
		}
		np = realloc(p, (cnt + 1) * sizeof(*p));
		if (!np) {
			ret = -ENOMEM;
			goto fail;
		}
		p = np;
		memset(p[cnt], 0, sizeof(p[cnt]));
		for (f = 0; f < l->nfields; f++) {
			ret = parse_bits(l, f, s, &end, &p[cnt][f], err, errlen);
			if (ret)
				goto fail;
			s = end;
			if (f + 1 < l->nfields) {
				if (*s != ',') {
					snprintf(err, errlen,
						 "pool: tuple %u has %u lengths, the layout %s has %u fields",
						 cnt + 1, f + 1, l->name, l->nfields);
					ret = -EINVAL;
					goto fail;
				}
				s++;
			}
		}
		if (*s && *s != ';' && *s != ' ' && *s != '\t') {
			snprintf(err, errlen, "pool: tuple %u: trailing '%s'", cnt + 1, s);
			ret = -EINVAL;
			goto fail;
		}
		cnt++;
	}
	if (!cnt) {
		snprintf(err, errlen, "pool: empty");
		ret = -EINVAL;
		goto fail;
	}
	*pool = p;
	*n = cnt;
	return 0;
fail:
	free(p);
	return ret;
}

static int cmp_desc(const void *a, const void *b)
{
	return (int)*(const __u8 *)b - (int)*(const __u8 *)a;
}

/* "src=0,8,16,24,32 dst=0,16,32 dport=0,16": product, unnamed fields 0. */
static int parse_product(const struct wcard_layout *l, const char *spec,
			 __u8 (**pool)[WC_MAX_FIELDS], unsigned int *n, char *err, size_t errlen)
{
	__u8 vals[WC_MAX_FIELDS][129];
	unsigned int nv[WC_MAX_FIELDS], idx[WC_MAX_FIELDS] = { 0 }, total = 1, f, i;
	__u8(*p)[WC_MAX_FIELDS];
	const char *s = spec;
	char *end;
	int ret;

	for (f = 0; f < l->nfields; f++) {
		nv[f] = 1;
		vals[f][0] = 0;
	}
	while (*s) {
		size_t nl;
		int fi;

		while (*s == ' ' || *s == '\t' || *s == ';')
			s++;
		if (!*s)
			break;
		nl = strcspn(s, "=");
		fi = field_by_name(l, s, nl);
		if (!s[nl] || fi < 0) {
			snprintf(err, errlen, "pool: unknown field '%.*s' in layout %s",
				 (int)strcspn(s, "= \t"), s, l->name);
			return -EINVAL;
		}
		s += nl + 1;
		nv[fi] = 0;
		for (;;) {
			if (nv[fi] == 129) {
				snprintf(err, errlen, "pool: too many lengths for %s", l->fields[fi].name);
				return -E2BIG;
			}
			ret = parse_bits(l, fi, s, &end, &vals[fi][nv[fi]], err, errlen);
			if (ret)
				return ret;
			nv[fi]++;
			s = end;
			if (*s != ',')
				break;
			s++;
		}
		/* Most specific first: a rule takes the first pool tuple it fits. */
		qsort(vals[fi], nv[fi], 1, cmp_desc);
	}
	for (f = 0; f < l->nfields; f++) {
		total *= nv[f];
		if (total > WC_TM_MAX_TABLES) {
			snprintf(err, errlen, "pool: the product has more than %u tuples",
				 WC_TM_MAX_TABLES);
			return -E2BIG;
		}
	}
	p = calloc(total, sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (i = 0; i < total; i++) {
		for (f = 0; f < l->nfields; f++)
			p[i][f] = vals[f][idx[f]];
		/* Odometer over the fields, last field fastest. */
		for (f = l->nfields; f-- > 0;) {
			if (++idx[f] < nv[f])
				break;
			idx[f] = 0;
		}
	}
	*pool = p;
	*n = total;
	return 0;
}

int wcard_pool_parse(const struct wcard_layout *l, const char *spec, __u8 (**pool)[WC_MAX_FIELDS],
		     unsigned int *n, char *err, size_t errlen)
{
	if (!l || !spec || !pool || !n)
		return -EINVAL;
	if (strchr(spec, '='))
		return parse_product(l, spec, pool, n, err, errlen);
	return parse_list(l, spec, pool, n, err, errlen);
}
