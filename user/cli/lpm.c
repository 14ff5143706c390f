// SPDX-License-Identifier: MIT
/* lpm.c: wcard lpm: lookups on a route file, and LPMs pinned on bpffs; for main.c. */
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <zlib.h>
#include "cli.h"

static void prefix_str(const struct wcard_route *r, char *buf, size_t len)
{
	__u8 bin[16];
	int i, n = r->family == 6 ? 16 : 4;

	for (i = 0; i < n; i++)
		bin[i] = (__u8)(r->addr >> (8 * (n - 1 - i)));
	inet_ntop(r->family == 6 ? AF_INET6 : AF_INET, bin, buf, len);
}

int lpm_lookup(struct cli *c)
{
	struct wcard_lpm_opts lo = { .v4 = c->v4 && !strcmp(c->v4, "trie") ? WCARD_LPM4_TRIE :
									      WCARD_LPM4_DIR24 };
	struct wcard_routes rt = {};
	struct wcard_lpm *l = NULL;
	struct addr_in *a = NULL;
	char err[ERRLEN] = "";
	size_t n = 0, i, hits = 0;
	int ret;

	ret = wcard_routes_load(c->argv[0], &rt, err, sizeof(err));
	if (!ret)
		ret = addrs_load(c->argv[1], &a, &n, err, sizeof(err));
	if (!ret)
		ret = wcard_lpm_create(&rt, &lo, &l, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "wcard lpm: %s\n", *err ? err : strerror(-ret));
		goto out;
	}
	for (i = 0; i < n; i++) {
		char pfx[INET6_ADDRSTRLEN];
		long r;

		ret = wcard_lpm_lookup(l, a[i].family, a[i].addr, &r);
		if (ret) {
			fprintf(stderr, "wcard lpm: %s: BPF_PROG_TEST_RUN: %s\n", a[i].text,
				strerror(-ret));
			goto out;
		}
		if (r < 0) {
			printf("%s - -\n", a[i].text);
			continue;
		}
		prefix_str(&rt.r[r], pfx, sizeof(pfx));
		printf("%s %s/%u %llu\n", a[i].text, pfx, rt.r[r].len,
		       (unsigned long long)rt.r[r].value);
		hits++;
	}
	if (fflush(stdout))
		ret = -errno;
	fprintf(stderr, "wcard lpm: %zu routes, %zu addresses, %zu matched\n", rt.n, n, hits);
out:
	wcard_lpm_destroy(l);
	wcard_routes_free(&rt);
	free(a);
	return ret ? 1 : 0;
}

/*
 * Open the LPM pinned as NAME (argv[0]) for a command. Writers hold an
 * exclusive lock on its directory for the whole command, so two CLI writers
 * are serialized and neither loses an update.
 */
static int lpm_pinned(struct cli *c, bool write, struct wcard_lpm **l, int *lock)
{
	char path[4096], err[ERRLEN] = "";
	int ret;

	*lock = -1;
	ret = pin_path(c, c->argv[0], path, sizeof(path));
	if (ret)
		return ret;
	if (write) {
		*lock = pin_lock(path, false);
		if (*lock < 0) {
			ret = *lock;
			*lock = -1;
			fprintf(stderr, "wcard lpm: %s: %s%s\n", path, strerror(-ret),
				ret == -ENOENT ? " (no LPM of that name; wcard lpm create)" : "");
			return ret;
		}
	}
	ret = wcard_lpm_open_pinned(path, l, err, sizeof(err));
	/*
	 * An LPM pinned before live images were pinned is opened by map id
	 * (EPERM without CAP_SYS_ADMIN): only then does CAP_SYS_ADMIN become
	 * effective, for that open alone. Either way it goes before anything else
	 * runs: nothing after the open needs it.
	 */
	if (ret == -EPERM && !c->caps_admin && !caps_raise(CAP_SYS_ADMIN)) {
		*err = 0;
		ret = wcard_lpm_open_pinned(path, l, err, sizeof(err));
	}
	/* Unless it is what the command runs its BPF work with (no CAP_BPF). */
	if (!c->caps_admin)
		caps_drop(CAP_SYS_ADMIN);
	if (ret)
		fprintf(stderr, "wcard lpm: %s\n", *err ? err : strerror(-ret));
	return ret;
}

static void lpm_unlock(struct wcard_lpm *l, int lock)
{
	wcard_lpm_destroy(l);
	if (lock >= 0)
		close(lock);
}

int lpm_create(struct cli *c)
{
	struct wcard_lpm_opts lo = {
		.v4 = c->v4 && !strcmp(c->v4, "trie") ? WCARD_LPM4_TRIE : WCARD_LPM4_DIR24,
		.max_routes = (__u32)c->max_routes,
	};
	char path[4096], err[2 * 4096 + ERRLEN] = ""; /* room for the paths it names */
	struct wcard_routes rt = {};
	struct wcard_lpm *l = NULL;
	int ret;

	ret = pin_path(c, c->argv[0], path, sizeof(path));
	if (ret)
		return 2;
	if (c->argc > 1) {
		progress_start("parsing %s", c->argv[1]);
		ret = wcard_routes_load(c->argv[1], &rt, err, sizeof(err));
	}
	if (!ret)
		ret = pin_new(c, path, "wcard lpm destroy", err, sizeof(err));
	if (!ret) {
		progress_phase("building the LPM (%zu routes)", rt.n);
		ret = wcard_lpm_create(&rt, &lo, &l, err, sizeof(err));
	}
	if (!ret)
		ret = wcard_lpm_pin(l, path, err, sizeof(err));
	progress_end();
	if (ret)
		fprintf(stderr, "wcard lpm create: %s\n", *err ? err : strerror(-ret));
	else
		fprintf(stderr, "wcard lpm: %s created with %zu routes\n", path, rt.n);
	wcard_lpm_destroy(l);
	wcard_routes_free(&rt);
	return ret ? 1 : 0;
}

/* The route given as arguments (PREFIX/LEN [VALUE]) of a command. */
static int lpm_arg_route(struct cli *c, const char *cmd, struct wcard_route *r)
{
	char text[512], err[ERRLEN] = "";
	int ret;

	snprintf(text, sizeof(text), "%s %s", c->argv[1], c->argc > 2 ? c->argv[2] : "");
	ret = wcard_route_parse(text, "argument", r, err, sizeof(err));
	if (ret)
		fprintf(stderr, "wcard lpm %s: %s\n", cmd, err);
	return ret;
}

/* One route change (add, or delete when del is set) on the pinned LPM. */
static int lpm_change(struct cli *c, bool del)
{
	const char *cmd = del ? "del" : "add";
	struct wcard_lpm *l = NULL;
	struct wcard_route r;
	int ret, lock = -1;

	if (lpm_arg_route(c, cmd, &r))
		return 2;
	ret = lpm_pinned(c, true, &l, &lock);
	if (!ret) {
		ret = del ? wcard_lpm_del(l, r.family, r.addr, r.len) :
			    wcard_lpm_add(l, r.family, r.addr, r.len, r.value);
		if (ret)
			fprintf(stderr, "wcard lpm %s: %s: %s%s\n", cmd, c->argv[1],
				ret == -ENOENT && del ? "no such route" : strerror(-ret),
				ret == -ENOSPC ? " (the LPM is full: create it with more room)" : "");
	}
	lpm_unlock(l, lock);
	return ret ? 1 : 0;
}

int lpm_add(struct cli *c)
{
	return lpm_change(c, false);
}

int lpm_del(struct cli *c)
{
	return lpm_change(c, true);
}

int lpm_load(struct cli *c)
{
	char err[ERRLEN] = "";
	struct wcard_routes rt = {};
	struct wcard_lpm *l = NULL;
	int ret, lock = -1;

	/* Parse everything before touching the LPM: a bad line changes nothing. */
	progress_start("parsing %s", c->argv[1]);
	ret = wcard_routes_load(c->argv[1], &rt, err, sizeof(err));
	if (ret) {
		progress_end();
		fprintf(stderr, "wcard lpm load: %s\n", err);
	} else {
		progress_phase("opening %s", c->argv[0]);
		ret = lpm_pinned(c, true, &l, &lock);
	}
	if (!ret) {
		progress_phase("loading %zu routes", rt.n);
		ret = wcard_lpm_load(l, &rt, err, sizeof(err));
		progress_end();
		if (ret)
			fprintf(stderr, "wcard lpm load: %s\n", *err ? err : strerror(-ret));
		else
			fprintf(stderr, "wcard lpm: %zu routes loaded\n", rt.n);
	}
	progress_end();
	lpm_unlock(l, lock);
	wcard_routes_free(&rt);
	return ret ? 1 : 0;
}

int lpm_dump(struct cli *c)
{
	struct wcard_routes rt = {};
	struct wcard_lpm *l = NULL;
	char pfx[INET6_ADDRSTRLEN];
	int ret, lock = -1;
	size_t i;

	ret = lpm_pinned(c, false, &l, &lock);
	if (ret)
		goto out;
	ret = wcard_lpm_dump(l, &rt);
	if (ret) {
		fprintf(stderr, "wcard lpm dump: %s\n", strerror(-ret));
		goto out;
	}
	if (c->json)
		printf("{\"routes\":[");
	for (i = 0; i < rt.n; i++) {
		prefix_str(&rt.r[i], pfx, sizeof(pfx));
		if (c->json)
			printf("%s{\"prefix\":\"%s/%u\",\"value\":%llu}", i ? "," : "", pfx,
			       rt.r[i].len, (unsigned long long)rt.r[i].value);
		else
			printf("%s/%u %llu\n", pfx, rt.r[i].len, (unsigned long long)rt.r[i].value);
	}
	if (c->json)
		printf("]}\n");
	if (fflush(stdout))
		ret = -errno;
out:
	lpm_unlock(l, lock);
	wcard_routes_free(&rt);
	return ret ? 1 : 0;
}

int lpm_stats(struct cli *c)
{
	struct wcard_routes rt = {};
	struct wcard_lpm *l = NULL;
	size_t i, n4 = 0, n6 = 0;
	int ret, lock = -1;

	ret = lpm_pinned(c, false, &l, &lock);
	if (!ret) {
		ret = wcard_lpm_dump(l, &rt);
		if (ret)
			fprintf(stderr, "wcard lpm stats: %s\n", strerror(-ret));
	}
	if (ret)
		goto out;
	for (i = 0; i < rt.n; i++) {
		n4 += rt.r[i].family == 4;
		n6 += rt.r[i].family == 6;
	}
	if (c->json)
		printf("{\"ipv4_routes\":%zu,\"ipv6_routes\":%zu,\"used_bytes\":%zu}\n", n4, n6,
		       wcard_lpm_bytes(l));
	else
		printf("routes        %zu IPv4, %zu IPv6\nmemory        %.1f MiB of maps in use\n",
		       n4, n6, wcard_lpm_bytes(l) / 1048576.0);
	if (fflush(stdout))
		ret = -errno;
out:
	lpm_unlock(l, lock);
	wcard_routes_free(&rt);
	return ret ? 1 : 0;
}

int lpm_get(struct cli *c)
{
	struct wcard_lpm *l = NULL;
	int ret, lock = -1, i;

	ret = lpm_pinned(c, false, &l, &lock);
	if (ret)
		goto out;
	if (c->json)
		printf("[");
	for (i = 1; i < c->argc; i++) {
		unsigned int fam = strchr(c->argv[i], ':') ? 6 : 4;
		char pfx[INET6_ADDRSTRLEN] = "";
		struct wcard_route m;
		__u8 bin[16];
		wc_u128 a = 0;
		int k, hit;

		if (inet_pton(fam == 6 ? AF_INET6 : AF_INET, c->argv[i], bin) != 1) {
			fprintf(stderr, "wcard lpm get: bad address '%s'\n", c->argv[i]);
			ret = -EINVAL;
			break;
		}
		for (k = 0; k < (fam == 6 ? 16 : 4); k++)
			a = a << 8 | bin[k];
		hit = wcard_lpm_query(l, fam, a, &m);
		if (hit < 0) {
			fprintf(stderr, "wcard lpm get: %s: %s\n", c->argv[i], strerror(-hit));
			ret = hit;
			break;
		}
		if (hit)
			prefix_str(&m, pfx, sizeof(pfx));
		if (c->json && hit)
			printf("%s{\"addr\":\"%s\",\"prefix\":\"%s/%u\",\"value\":%llu}",
			       i > 1 ? "," : "", c->argv[i], pfx, m.len, (unsigned long long)m.value);
		else if (c->json)
			printf("%s{\"addr\":\"%s\",\"prefix\":null,\"value\":null}", i > 1 ? "," : "",
			       c->argv[i]);
		else if (hit)
			printf("%s %s/%u %llu\n", c->argv[i], pfx, m.len, (unsigned long long)m.value);
		else
			printf("%s - -\n", c->argv[i]);
	}
	if (c->json && !ret)
		printf("]\n");
	if (fflush(stdout) && !ret)
		ret = -errno;
out:
	lpm_unlock(l, lock);
	return ret ? 1 : 0;
}

int lpm_destroy(struct cli *c)
{
	char path[4096];
	int ret;

	ret = pin_path(c, c->argv[0], path, sizeof(path));
	if (ret)
		return 2;
	if (access(path, F_OK)) {
		fprintf(stderr, "wcard lpm destroy: %s: %s\n", path, strerror(errno));
		return 1;
	}
	ret = wcard_lpm_unpin(path);
	if (ret)
		fprintf(stderr, "wcard lpm destroy: %s: %s\n", path, strerror(-ret));
	return ret ? 1 : 0;
}

