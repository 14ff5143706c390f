// SPDX-License-Identifier: MIT
/*
 * fuzz_routes.c: the route file parser on any bytes (gzip included).
 * Properties: no crash or sanitizer finding; a failure names the file and a
 * line and leaves no routes; every route loaded has a valid length, no host
 * bits, and parses back the same from its printed form.
 */
#include <stdio.h>
#include <arpa/inet.h>
#include <errno.h>
#include <wcard/wcard.h>
#include "fuzz.h"

static void check_route(const struct wcard_route *r, size_t i)
{
	unsigned int bits = r->family == 6 ? 128 : 32, k;
	wc_u128 host = r->len >= bits ? 0 :
		       bits - r->len >= 128 ? ~(wc_u128)0 : (((wc_u128)1 << (bits - r->len)) - 1);
	struct wcard_route back;
	char text[128], a[INET6_ADDRSTRLEN], err[256] = "";
	__u8 b[16];

	if (r->family != 4 && r->family != 6)
		fz_fail("route %zu: family %u", i, r->family);
	if (r->len > bits)
		fz_fail("route %zu: /%u longer than the address", i, r->len);
	if (r->family == 4 && (r->addr >> 32))
		fz_fail("route %zu: IPv4 address wider than 32 bits", i);
	if (r->addr & host)
		fz_fail("route %zu: host bits set under /%u", i, r->len);
	for (k = 0; k < bits / 8; k++)
		b[k] = (__u8)(r->addr >> (bits - 8 - 8 * k));
	inet_ntop(r->family == 6 ? AF_INET6 : AF_INET, b, a, sizeof(a));
	snprintf(text, sizeof(text), "%s/%u %llu", a, r->len, (unsigned long long)r->value);
	if (wcard_route_parse(text, "again", &back, err, sizeof(err)))
		fz_fail("route %zu prints as '%s', which does not parse back: %s", i, text, err);
	if (back.addr != r->addr || back.len != r->len || back.family != r->family ||
	    back.value != r->value)
		fz_fail("route %zu: '%s' parses back to another route", i, text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wcard_routes rt = {};
	struct wcard_route one;
	char path[64], err[512] = "", *text;
	size_t i;
	int fd, ret;

	fd = fz_file(data, size, path, sizeof(path));
	if (fd < 0)
		return 0;
	ret = wcard_routes_load(path, &rt, err, sizeof(err));
	close(fd);
	if (ret) {
		if (ret != -EINVAL && ret != -E2BIG && ret != -ENOMEM && ret != -EIO)
			fz_fail("unexpected error %d (%s)", ret, err);
		if (strncmp(err, path, strlen(path)) || err[strlen(path)] != ':')
			fz_fail("error does not name the file '%s': '%s'", path, err);
		if (rt.n)
			fz_fail("failed load left %zu routes", rt.n);
	}
	for (i = 0; i < rt.n; i++)
		check_route(&rt.r[i], i);
	wcard_routes_free(&rt);
	/* The single-route parser (wcard lpm route add) on the same text. */
	text = fz_text(data, size);
	if (!wcard_route_parse(text, "arg", &one, err, sizeof(err)))
		check_route(&one, 0);
	else if (strncmp(err, "arg:", 4))
		fz_fail("route error does not name its input: '%s'", err);
	free(text);
	return 0;
}
