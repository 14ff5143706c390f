// SPDX-License-Identifier: MIT
/* test_lpm.c: longest-prefix match in BPF against a reference and the kernel's LPM trie (suite "lpm"). */
#include <stdio.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include "wctest.h"
#include "wcard_lpm4.skel.h"
#include "compat/wcard_lpm4.skel.h"
#include "wcard_lpm_aux.skel.h"
#include "compat/wcard_lpm_aux.skel.h"
#include "core/skel.h"

/* Reference: the longest route covering addr (the last one listed among equal prefixes). */
static long ref_lpm(const struct wcard_routes *rt, unsigned int fam, wc_u128 a)
{
	unsigned int bits = fam == 6 ? 128 : 32;
	long best = -1;
	size_t i;

	for (i = 0; i < rt->n; i++) {
		const struct wcard_route *r = &rt->r[i];
		wc_u128 m;

		if (r->family != fam)
			continue;
		m = r->len ? ~(wc_u128)0 << (bits - r->len) : 0;
		if (bits == 32)
			m &= 0xffffffff;
		if ((a & m) != r->addr)
			continue;
		if (best < 0 || r->len >= rt->r[best].len)
			best = i;
	}
	return best;
}

/* The kernel's own LPM trie with the same routes (value = route index, last wins). */
struct trie {
	int fd[2];
};

struct trie_key4 {
	__u32 len;
	__u8 a[4];
};

struct trie_key6 {
	__u32 len;
	__u8 a[16];
};

static void trie_fill(struct trie *t, const struct wcard_routes *rt)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	size_t i;

	t->fd[0] = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "wc_t4", sizeof(struct trie_key4), 4,
				  rt->n + 1, &o);
	t->fd[1] = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "wc_t6", sizeof(struct trie_key6), 4,
				  rt->n + 1, &o);
	cr_assert(t->fd[0] >= 0 && t->fd[1] >= 0, "kernel LPM trie create: %d", errno);
	for (i = 0; i < rt->n; i++) {
		const struct wcard_route *r = &rt->r[i];
		struct trie_key6 k = { .len = r->len };
		unsigned int n = r->family == 6 ? 16 : 4, j;
		__u32 v = i;

		for (j = 0; j < n; j++)
			k.a[j] = (__u8)(r->addr >> (8 * (n - 1 - j)));
		cr_assert_eq(bpf_map_update_elem(t->fd[r->family == 6], &k, &v, BPF_ANY), 0,
			     "kernel LPM trie insert %zu", i);
	}
}

static long trie_lookup(const struct trie *t, unsigned int fam, wc_u128 a)
{
	struct trie_key6 k = { .len = fam == 6 ? 128 : 32 };
	unsigned int n = fam == 6 ? 16 : 4, j;
	__u32 v;

	for (j = 0; j < n; j++)
		k.a[j] = (__u8)(a >> (8 * (n - 1 - j)));
	return bpf_map_lookup_elem(t->fd[fam == 6], &k, &v) ? -1 : (long)v;
}

/* Same answer from BPF, the reference and the trie (prefix-equal indexes count as equal). */
static void check_addr(struct wcard_lpm *l, const struct trie *t, const struct wcard_routes *rt,
		       unsigned int fam, wc_u128 a, const char *mode, const char *name)
{
	long want = ref_lpm(rt, fam, a), got, kern = trie_lookup(t, fam, a);
	int ret = wcard_lpm_lookup(l, fam, a, &got);

	cr_assert_eq(ret, 0, "case %s %s: lookup: %d", mode, name, ret);
	cr_assert_eq(got, want, "case %s %s: IPv%u %016llx%016llx: BPF route %ld, reference %ld",
		     mode, name, fam, (unsigned long long)(a >> 64), (unsigned long long)a, got, want);
	cr_assert_eq(kern, want, "case %s %s: IPv%u: kernel trie route %ld, reference %ld", mode,
		     name, fam, kern, want);
}

static void random_routes(struct wt_rng *r, struct wcard_routes *rt, size_t n, unsigned int pool)
{
	size_t i;

	rt->r = calloc(n, sizeof(*rt->r));
	rt->n = n;
	cr_assert_not_null(rt->r, "calloc");
	for (i = 0; i < n; i++) {
		struct wcard_route *x = &rt->r[i];
		unsigned int fam = wt_below(r, 2) ? 6 : 4, bits = fam == 6 ? 128 : 32;
		wc_u128 a = wt_pool_value(r, fam == 6 ? 16 : 4, pool);
		unsigned int c = wt_below(r, 10);

		x->family = fam;
		/* /0, host routes and everything between, nested through the small pool. */
		x->len = c == 0 ? 0 : c == 1 ? bits : wt_below(r, bits + 1);
		x->addr = x->len ? a & (~(wc_u128)0 << (bits - x->len)) : 0;
		if (fam == 4)
			x->addr &= 0xffffffff;
		/* Values of 32 bits ride in the entries, wider ones in the value slots: both. */
		x->value = wt_below(r, 2) ? wt_rnd(r) & 0xffffffff : wt_rnd(r);
		x->line = i + 1;
	}
}

static void random_edges(const struct wcard_lpm_opts *o, const char *mode)
{
	struct wt_rng r = { .s = 3 };
	struct wcard_routes rt = {};
	struct wcard_lpm *l = NULL;
	char err[256] = "";
	struct trie t;
	size_t i;

	random_routes(&r, &rt, 3000, 200);
	trie_fill(&t, &rt);
	cr_assert_eq(wcard_lpm_create(&rt, o, &l, err, sizeof(err)), 0, "case %s: create: %s", mode,
		     err);
	for (i = 0; i < rt.n; i++) {
		const struct wcard_route *x = &rt.r[i];
		unsigned int bits = x->family == 6 ? 128 : 32;
		wc_u128 span = x->len ? ((wc_u128)1 << (bits - x->len)) - 1 :
					(bits == 32 ? 0xffffffff : ~(wc_u128)0);
		wc_u128 full = bits == 32 ? 0xffffffff : ~(wc_u128)0;

		/* First, last, one past the last and one before the first address. */
		check_addr(l, &t, &rt, x->family, x->addr, mode, "first");
		check_addr(l, &t, &rt, x->family, x->addr + span, mode, "last");
		check_addr(l, &t, &rt, x->family, (x->addr + span + 1) & full, mode, "one past");
		check_addr(l, &t, &rt, x->family, (x->addr - 1) & full, mode, "one before");
		check_addr(l, &t, &rt, x->family,
			   (x->addr | (((wc_u128)wt_rnd(&r) << 64 | wt_rnd(&r)) & span)) & full,
			   mode, "inside");
	}
	wcard_lpm_destroy(l);
	close(t.fd[0]);
	close(t.fd[1]);
	wcard_routes_free(&rt);
}

/* Each route's edges and an inside address, in both IPv4 structures. */
Test(lpm, random_edges, .timeout = 300)
{
	static const struct {
		struct wcard_lpm_opts o;
		const char *name;
	} modes[] = { { { WCARD_LPM4_DIR24 }, "dir24" }, { { WCARD_LPM4_TRIE }, "trie4" } };
	unsigned int m;

	for (m = 0; m < 2; m++)
		random_edges(&modes[m].o, modes[m].name);
}

/* One real BGP table of ../shared/data/routes: random and edge addresses. */
static void real_table(const char *path, const char *file, const struct wcard_lpm_opts *o,
		       const char *mode, __u64 seed)
{
	struct wt_rng r = { .s = seed };
	struct wcard_routes rt = {};
	struct wcard_lpm *l = NULL;
	char err[256] = "";
	struct trie t;
	size_t i;

	cr_assert_eq(wcard_routes_load(path, &rt, err, sizeof(err)), 0, "case %s: %s", file, err);
	trie_fill(&t, &rt);
	cr_assert_eq(wcard_lpm_create(&rt, o, &l, err, sizeof(err)), 0, "case %s %s: %s", mode,
		     file, err);
	/* The reference scans every route per address: 2000 addresses keep this short. */
	for (i = 0; i < 2000; i++) {
		const struct wcard_route *x = &rt.r[wt_below(&r, rt.n)];
		unsigned int bits = x->family == 6 ? 128 : 32;
		wc_u128 span = x->len ? ((wc_u128)1 << (bits - x->len)) - 1 : ~(wc_u128)0;
		wc_u128 full = bits == 32 ? 0xffffffff : ~(wc_u128)0;
		wc_u128 a = i & 1 ? x->addr + (span & full) + 1 :
				    x->addr | (((wc_u128)wt_rnd(&r) << 64 | wt_rnd(&r)) & span);

		check_addr(l, &t, &rt, x->family, a & full, mode, file);
	}
	cr_log_info("lpm: %s (%s): %zu routes, %zu bytes of maps, 2000 addresses agree with the "
		    "reference and the kernel trie\n",
		    file, mode, rt.n, wcard_lpm_bytes(l));
	wcard_lpm_destroy(l);
	close(t.fd[0]);
	close(t.fd[1]);
	wcard_routes_free(&rt);
}

/* The real tables; IPv4 in both structures. */
Test(lpm, real_tables, .timeout = 900)
{
	static const struct wcard_lpm_opts dir24 = { WCARD_LPM4_DIR24 }, trie4 = { WCARD_LPM4_TRIE };
	char path[512];
	unsigned int found = 0;

	if (wt_data("routes/ipv4.txt.gz", path, sizeof(path))) {
		found++;
		real_table(path, "ipv4.txt.gz", &dir24, "dir24", 11);
		real_table(path, "ipv4.txt.gz", &trie4, "trie4", 13);
	}
	if (wt_data("routes/ipv6.txt.gz", path, sizeof(path))) {
		found++;
		real_table(path, "ipv6.txt.gz", NULL, "trie6", 12);
	}
	if (!found)
		cr_skip_test("route tables not found (set WCARD_DATA to ../shared/data)");
}

/* Route file errors name the file and line; nothing is loaded. */
Test(lpm, bad_routes)
{
	static const struct {
		const char *text, *why;
	} c[] = {
		{ "10.0.0.0/8\n10.0.0.0/33\n", ":2: prefix length 33" },
		{ "10.0.0.0/8\n10.0.0.256/24\n", ":2: bad address" },
		{ "2001:db8::/129\n", ":1: prefix length 129" },
		{ "10.0.0.0\n", ":1: '10.0.0.0' is not PREFIX/LEN" },
		{ "10.0.0.0/8 12 junk\n", ":1: trailing garbage" },
		{ "10.0.0.0/8 -1\n", ":1: bad value" },
		{ "10.0.0.0/x\n", ":1: bad prefix length" },
		{ "# only a comment\n", ": no routes" },
	};
	unsigned int i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char path[] = "/tmp/wcard-lpm-XXXXXX", err[256] = "";
		struct wcard_routes rt = {};
		int fd = mkstemp(path);

		cr_assert(fd >= 0, "mkstemp");
		cr_assert_eq(write(fd, c[i].text, strlen(c[i].text)), (ssize_t)strlen(c[i].text),
			     "write");
		close(fd);
		cr_assert_eq(wcard_routes_load(path, &rt, err, sizeof(err)), -EINVAL,
			     "case %u '%s': accepted", i, c[i].text);
		cr_assert(strstr(err, path) && strstr(err, c[i].why), "case %u: '%s' lacks '%s'", i,
			  err, c[i].why);
		cr_assert_eq(rt.n, 0, "case %u: routes loaded", i);
		unlink(path);
	}
}

/* The CLI contract: one line per address, PREFIX/LEN VALUE or '- -'; duplicates: last wins. */
Test(lpm, cli_contract)
{
	char rp[] = "/tmp/wcard-lpm-rXXXXXX", ap[] = "/tmp/wcard-lpm-aXXXXXX", cmd[512], out[4096];
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	int rfd = mkstemp(rp), afd = mkstemp(ap);
	const char *routes = "# routes\n10.0.0.0/8\n10.1.0.0/16 77\n0.0.0.0/0\n2001:db8::/32\n"
			     "2001:db8::/32 5\n192.168.1.1/32\n10.9.9.9/8 8\n";
	const char *addrs = "10.1.2.3\n10.2.0.1\n8.8.8.8\n2001:db8::1\n2001:dead::1\n192.168.1.1\n";
	const char *want = "10.1.2.3 10.1.0.0/16 77\n10.2.0.1 10.0.0.0/8 8\n8.8.8.8 0.0.0.0/0 3\n"
			   "2001:db8::1 2001:db8::/32 5\n2001:dead::1 - -\n"
			   "192.168.1.1 192.168.1.1/32 6\n";
	static const char *const v4[] = { "", "--v4 dir24", "--v4 trie" };
	unsigned int m;
	FILE *p;
	size_t n;

	cr_assert(rfd >= 0 && afd >= 0, "mkstemp");
	cr_assert_eq(write(rfd, routes, strlen(routes)), (ssize_t)strlen(routes), "write");
	cr_assert_eq(write(afd, addrs, strlen(addrs)), (ssize_t)strlen(addrs), "write");
	close(rfd);
	close(afd);
	/* The same contract with either IPv4 structure. */
	for (m = 0; m < 3; m++) {
		snprintf(cmd, sizeof(cmd), "%s lpm %s lookup %s %s 2>/dev/null", bin, v4[m], rp, ap);
		p = popen(cmd, "r");
		cr_assert_not_null(p, "popen");
		n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = 0;
		cr_assert_eq(pclose(p), 0, "case cli '%s': exit status", v4[m]);
		cr_assert_str_eq(out, want, "case cli '%s': output\n%s", v4[m], out);
	}
	unlink(rp);
	unlink(ap);
}

/* ---- shadows of online route sets (unique prefixes, order free) ------------- */

/* Keep only the last copy of each prefix. */
static void shadow_dedupe(struct wcard_routes *live)
{
	size_t i, k;

	for (i = 0; i < live->n; i++) {
		for (k = i + 1; k < live->n; k++)
			if (live->r[k].family == live->r[i].family &&
			    live->r[k].len == live->r[i].len && live->r[k].addr == live->r[i].addr)
				break;
		if (k < live->n) {
			memmove(&live->r[i], &live->r[i + 1], (live->n - i - 1) * sizeof(live->r[0]));
			live->n--;
			i--;
		}
	}
}

/* Index of rt's prefix in the shadow, or -1. */
static long shadow_find(const struct wcard_routes *live, const struct wcard_route *rt)
{
	size_t k;

	for (k = 0; k < live->n; k++)
		if (live->r[k].family == rt->family && live->r[k].len == rt->len &&
		    live->r[k].addr == rt->addr)
			return k;
	return -1;
}

/* ---- DIR-24-8 (IPv4) ------------------------------------------------------ */

/* An IPv4 structure under test: DIR-24-8 (d), or the small trie (t) when trie is set. */
struct d24 {
	struct wcard_lpm4 *skel;
	struct wcard_dir24 *d;
	struct wcard_trie *t;
	bool trie;
};

/* sub: tbl8 groups, or trie nodes. */
static void v4_open(struct d24 *t, const struct wcard_routes *rt, __u32 sub, bool trie,
		    const char *name)
{
	char err[256] = "";
	int ret;

	memset(t, 0, sizeof(*t));
	t->trie = trie;
	t->skel = wcard_skel_open(wcard_lpm4);
	cr_assert_not_null(t->skel, "case %s: open", name);
	t->skel->rodata->wc_lpm4_trie = trie;
	ret = trie ? wcard_trie4_prepare(t->skel->obj, rt->n, sub, &t->t) :
		     wcard_dir24_prepare(t->skel->obj, rt->n, sub, &t->d);
	cr_assert_eq(ret, 0, "case %s: prepare", name);
	ret = wcard_lpm4__load(t->skel);
	cr_assert_eq(ret, 0, "case %s: load: %s", name, wt_load_err(ret, err, sizeof(err)));
	ret = trie ? wcard_trie_open(t->t, err, sizeof(err)) :
		     wcard_dir24_open(t->d, err, sizeof(err));
	cr_assert_eq(ret, 0, "case %s: open maps: %s", name, err);
	ret = trie ? wcard_trie_load(t->t, rt, err, sizeof(err)) :
		     wcard_dir24_load(t->d, rt, err, sizeof(err));
	cr_assert_eq(ret, 0, "case %s: build: %s", name, err);
}

static void d24_open(struct d24 *t, const struct wcard_routes *rt, __u32 groups, const char *name)
{
	v4_open(t, rt, groups, false, name);
}

static int v4_add(struct d24 *t, __u32 addr, unsigned int len, __u64 value, __u32 *route)
{
	return t->trie ? wcard_trie_add(t->t, addr, len, value, route) :
			 wcard_dir24_add(t->d, addr, len, value, route);
}

static int v4_del(struct d24 *t, __u32 addr, unsigned int len)
{
	return t->trie ? wcard_trie_del(t->t, addr, len) : wcard_dir24_del(t->d, addr, len);
}

static void d24_close(struct d24 *t)
{
	wcard_dir24_close(t->d);
	wcard_trie_close(t->t);
	wcard_lpm4__destroy(t->skel);
}

static long d24_lookup(struct d24 *t, __u32 a, __u64 *value)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .repeat = 1);
	__u8 pkt[64] = {};

	memcpy(pkt, &a, sizeof(a));
	o.data_in = pkt;
	o.data_size_in = sizeof(pkt);
	cr_assert_eq(bpf_prog_test_run_opts(bpf_program__fd(t->skel->progs.wc_lpm4_run), &o), 0,
		     "test run");
	cr_assert_geq(t->skel->bss->wc_lpm_ret, 0, "lookup error");
	*value = t->skel->bss->wc_lpm_value;
	return t->skel->bss->wc_lpm_ret ? (long)t->skel->bss->wc_lpm_route : -1;
}

/* Same prefix (equal prefixes on two lines count as the same answer) and value. */
static void d24_check(struct d24 *t, const struct trie *tr, const struct wcard_routes *rt,
		      __u32 a, bool with_ref, const char *name)
{
	long kern = trie_lookup(tr, 4, a), got, want = with_ref ? ref_lpm(rt, 4, a) : kern;
	__u64 v;

	got = d24_lookup(t, a, &v);
	cr_assert_eq(got, want, "case %s: %08x: DIR-24-8 route %ld, %s %ld", name, a, got,
		     with_ref ? "reference" : "kernel trie", want);
	cr_assert_eq(kern, want, "case %s: %08x: kernel trie %ld, reference %ld", name, a, kern,
		     want);
	if (got >= 0)
		cr_assert_eq(v, rt->r[got].value, "case %s: %08x: value", name, a);
}

Test(lpm, dir24_random_edges, .timeout = 300)
{
	struct wt_rng r = { .s = 8 };
	struct wcard_routes rt = {};
	struct trie t;
	struct d24 d;
	size_t i;

	random_routes(&r, &rt, 4000, 300);
	/* Duplicates on purpose: the last line must win. */
	for (i = 1; i < rt.n; i += 50)
		if (rt.r[i].family == rt.r[i - 1].family) {
			rt.r[i].addr = rt.r[i - 1].addr;
			rt.r[i].len = rt.r[i - 1].len;
		}
	trie_fill(&t, &rt);
	d24_open(&d, &rt, 4096, "dir24 random");
	for (i = 0; i < rt.n; i++) {
		const struct wcard_route *x = &rt.r[i];
		__u32 a = (__u32)x->addr, span;

		if (x->family != 4)
			continue;
		span = x->len ? (__u32)((1ull << (32 - x->len)) - 1) : ~0u;
		d24_check(&d, &t, &rt, a, true, "first");
		d24_check(&d, &t, &rt, a + span, true, "last");
		d24_check(&d, &t, &rt, a + span + 1, true, "one past");
		d24_check(&d, &t, &rt, a - 1, true, "one before");
		d24_check(&d, &t, &rt, a | ((__u32)wt_rnd(&r) & span), true, "inside");
	}
	d24_close(&d);
	close(t.fd[0]);
	close(t.fd[1]);
	wcard_routes_free(&rt);
}

/* The real IPv4 table: 200K addresses against the kernel trie, 2000 also against the reference. */
Test(lpm, dir24_real_table, .timeout = 600)
{
	struct wt_rng r = { .s = 21 };
	struct wcard_routes rt = {};
	char path[512], err[256] = "";
	struct trie t;
	struct d24 d;
	size_t i;

	if (!wt_data("routes/ipv4.txt.gz", path, sizeof(path)))
		cr_skip_test("route tables not found (set WCARD_DATA to ../shared/data)");
	cr_assert_eq(wcard_routes_load(path, &rt, err, sizeof(err)), 0, "case real: %s", err);
	trie_fill(&t, &rt);
	d24_open(&d, &rt, 1 << 16, "dir24 real");
	for (i = 0; i < 200000; i++) {
		const struct wcard_route *x = &rt.r[wt_below(&r, rt.n)];
		__u32 a = (__u32)x->addr, span = x->len ? (__u32)((1ull << (32 - x->len)) - 1) : ~0u;

		a = i & 1 ? a + span + 1 : a | ((__u32)wt_rnd(&r) & span);
		d24_check(&d, &t, &rt, a, i < 2000, "real ipv4");
	}
	cr_log_info("lpm: DIR-24-8 on %zu IPv4 routes: 200000 addresses agree with the kernel trie "
		    "(2000 with the reference too)\n",
		    rt.n);
	d24_close(&d);
	close(t.fd[0]);
	close(t.fd[1]);
	wcard_routes_free(&rt);
}

/*
 * Online IPv4 changes: start from half of a random set, then random adds
 * (new prefixes and value replacements) and deletes; after every batch each
 * route's edge addresses agree with the reference over the live routes, so a
 * deleted prefix's addresses went back to the route that covers it.
 */
Test(lpm, dir24_online, .timeout = 300)
{
	struct wt_rng r = { .s = 99 };
	struct wcard_routes all = {}, live = {};
	bool *in;
	struct d24 d;
	size_t i, op;

	random_routes(&r, &all, 3000, 120);
	/* All IPv4: fold IPv6 lengths into 0..32 and keep the address canonical. */
	for (i = 0; i < all.n; i++) {
		struct wcard_route *x = &all.r[i];

		x->family = 4;
		if (x->len > 32)
			x->len %= 33;
		x->addr &= x->len ? (wc_u128)(~0u << (32 - x->len)) : 0;
	}
	in = calloc(all.n, sizeof(*in));
	live.r = calloc(all.n, sizeof(*live.r));
	cr_assert(in && live.r, "calloc");
	/* The starting half, as a bulk load. */
	for (i = 0; i < all.n; i += 2) {
		live.r[live.n++] = all.r[i];
		in[i] = true;
	}
	d24_open(&d, &live, 4096, "dir24 online");
	/* The load saw duplicates (the last must win); the shadow keeps only that copy. */
	shadow_dedupe(&live);
	for (op = 0; op < 6000; op++) {
		size_t x = wt_below(&r, all.n), k;
		const struct wcard_route *rt = &all.r[x];
		long present = -1;

		present = shadow_find(&live, rt);
		if (present >= 0 && wt_below(&r, 3)) {
			cr_assert_eq(wcard_dir24_del(d.d, (__u32)rt->addr, rt->len), 0,
				     "case online: op %zu: delete", op);
			live.r[present] = live.r[--live.n];
		} else {
			/* A replace gets a new value, inline or not, whatever the old one was. */
			__u64 v = present < 0 ? rt->value : wt_below(&r, 2) ? wt_rnd(&r) : wt_below(&r, 99);
			__u32 route;

			cr_assert_eq(wcard_dir24_add(d.d, (__u32)rt->addr, rt->len, v, &route),
				     0, "case online: op %zu: add", op);
			if (present >= 0)
				live.r[present].value = v;
			else
				live.r[live.n++] = *rt;
		}
		if (op % 500)
			continue;
		for (k = 0; k < all.n; k++) {
			const struct wcard_route *e = &all.r[k];
			__u32 a = (__u32)e->addr, span = e->len ? (__u32)((1ull << (32 - e->len)) - 1) :
								~0u;
			__u32 probe[3] = { a, a + span, a + span + 1 };
			unsigned int j;

			for (j = 0; j < 3; j++) {
				long want = ref_lpm(&live, 4, probe[j]), got;
				__u64 v;

				got = d24_lookup(&d, probe[j], &v);
				cr_assert_eq(got >= 0, want >= 0,
					     "case online: op %zu: %08x: found %ld, expected %ld", op,
					     probe[j], got, want);
				if (want >= 0)
					cr_assert_eq(v, live.r[want].value,
						     "case online: op %zu: %08x: value %llx, expected %llx "
						     "(route %u/%u, got index %ld)",
						     op, probe[j], (unsigned long long)v,
						     (unsigned long long)live.r[want].value,
						     (unsigned)live.r[want].addr, live.r[want].len, got);
			}
		}
	}
	d24_close(&d);
	free(in);
	free(live.r);
	wcard_routes_free(&all);
}

/* ---- concurrency: lookups on another thread during route churn ------------- */

#include <pthread.h>

struct t6 {
	struct wcard_lpm4 *skel;
	struct wcard_trie *d;
	unsigned int fam;
};

static long t6_lookup(struct t6 *t, wc_u128 a, __u64 *value)
{
	__u64 w[2] = { (__u64)(a >> 64), (__u64)a };
	__u32 a4 = (__u32)a;
	LIBBPF_OPTS(bpf_test_run_opts, o, .repeat = 1);
	__u8 pkt[64] = {};

	if (t->fam == 4)
		memcpy(pkt, &a4, sizeof(a4));
	else
		memcpy(pkt, w, sizeof(w));
	o.data_in = pkt;
	o.data_size_in = sizeof(pkt);
	cr_assert_eq(bpf_prog_test_run_opts(bpf_program__fd(t->fam == 4 ? t->skel->progs.wc_lpm4_run :
									   t->skel->progs.wc_lpm6_run),
					    &o),
		     0, "test run");
	cr_assert_geq(t->skel->bss->wc_lpm_ret, 0, "lookup error");
	*value = t->skel->bss->wc_lpm_value;
	return t->skel->bss->wc_lpm_ret ? (long)t->skel->bss->wc_lpm_route : -1;
}

struct rchurn {
	unsigned int fam, bits;
	struct d24 d; /* IPv4: DIR-24-8 or the small trie */
	struct t6 t6; /* IPv6 */
	struct wcard_route *inc; /* incarnations: value = index here */
	volatile __u64 ninc;
	__u64 *del_done; /* per incarnation: ops counter when its delete returned */
	wc_u128 *probe;
	long *stable; /* per probe: best stable incarnation, -1 */
	unsigned int nprobe;
	volatile __u64 done_ops;
	volatile int stop;
	__u64 lookups, violations;
	char first[256];
};

static bool covers(const struct wcard_route *r, unsigned int bits, wc_u128 a)
{
	wc_u128 m = r->len ? (~(wc_u128)0 << (128 - r->len)) >> (128 - bits) : 0;

	return (a & m) == r->addr;
}

static long churn_lookup(struct rchurn *c, wc_u128 a, __u64 *v)
{
	return c->fam == 6 ? t6_lookup(&c->t6, a, v) : d24_lookup(&c->d, (__u32)a, v);
}

static void *rchurn_reader(void *arg)
{
	struct rchurn *c = arg;
	struct wt_rng r = { .s = 5150 };

	while (!c->stop) {
		unsigned int pi = wt_below(&r, c->nprobe);
		__u64 start = __atomic_load_n(&c->done_ops, __ATOMIC_ACQUIRE), v = 0;
		long got = churn_lookup(c, c->probe[pi], &v), sb = c->stable[pi];
		const char *why = NULL;

		c->lookups++;
		if (got >= 0 && v >= __atomic_load_n(&c->ninc, __ATOMIC_ACQUIRE))
			why = "value of no route ever added";
		else if (sb >= 0 && got < 0)
			why = "stable route missed (no match)";
		else if (got >= 0 && !covers(&c->inc[v], c->bits, c->probe[pi]))
			why = "returned route does not cover the address";
		else if (got >= 0 && sb >= 0 && c->inc[v].len < c->inc[sb].len)
			why = "stable route missed (shorter route returned)";
		else if (got >= 0 && c->del_done[v] && c->del_done[v] <= start)
			why = "route returned after its delete returned";
		if (why && !c->violations++)
			snprintf(c->first, sizeof(c->first), "probe %zu: value %llu, stable %ld: %s",
				 (size_t)pi, (unsigned long long)v, sb, why);
	}
	return NULL;
}

/* kind: 0 DIR-24-8, 1 small IPv4 trie, 2 IPv6 trie. */
static void route_churn(unsigned int ops, int kind, const char *name)
{
	struct rchurn *c = calloc(1, sizeof(*c));
	unsigned int fam = kind == 2 ? 6 : 4, bits = fam == 6 ? 128 : 32;
	wc_u128 full = fam == 4 ? 0xffffffff : ~(wc_u128)0;
	struct wt_rng r = { .s = 404 };
	struct wcard_routes stable = {}, pool = {};
	bool *in;
	__u32 *cur;
	size_t i, nst;
	pthread_t th;

	cr_assert_not_null(c, "calloc");
	c->fam = fam;
	c->bits = bits;
	random_routes(&r, &pool, 4000, 150);
	for (i = 0; i < pool.n; i++) {
		struct wcard_route *x = &pool.r[i];

		/* All of the family: the other family's lengths folded, addresses masked. */
		if (x->family != fam && fam == 4)
			x->addr >>= 96;
		else if (x->family != fam)
			x->addr <<= 96;
		x->family = fam;
		if (x->len > bits)
			x->len %= bits + 1;
		x->addr &= x->len ? (~(wc_u128)0 << (128 - x->len)) >> (128 - bits) : 0;
	}
	/* Unique prefixes: the first half stable, the rest churns. */
	for (i = 0; i < pool.n; i++) {
		size_t k;

		for (k = 0; k < i; k++)
			if (pool.r[k].len == pool.r[i].len && pool.r[k].addr == pool.r[i].addr)
				break;
		if (k < i)
			pool.r[i--] = pool.r[--pool.n];
	}
	nst = pool.n / 2;
	c->inc = calloc(pool.n + ops + 1, sizeof(*c->inc));
	c->del_done = calloc(pool.n + ops + 1, sizeof(*c->del_done));
	in = calloc(pool.n, sizeof(*in));
	cur = calloc(pool.n, sizeof(*cur));
	stable.r = calloc(nst, sizeof(*stable.r));
	cr_assert(c->inc && c->del_done && in && cur && stable.r, "calloc");
	for (i = 0; i < nst; i++) {
		c->inc[i] = pool.r[i];
		c->inc[i].value = i;
		c->inc[i].line = i + 1;
		stable.r[stable.n++] = c->inc[i];
	}
	c->ninc = nst;
	c->nprobe = 8192;
	c->probe = calloc(c->nprobe, sizeof(*c->probe));
	c->stable = calloc(c->nprobe, sizeof(*c->stable));
	cr_assert(c->probe && c->stable, "calloc");
	for (i = 0; i < c->nprobe; i++) {
		const struct wcard_route *x = &pool.r[wt_below(&r, pool.n)];
		wc_u128 span = x->len ? ((wc_u128)1 << (bits - x->len)) - 1 : full;
		size_t k;

		c->probe[i] = (x->addr | (((wc_u128)wt_rnd(&r) << 64 | wt_rnd(&r)) & span)) & full;
		c->stable[i] = -1;
		for (k = 0; k < nst; k++)
			if (covers(&c->inc[k], bits, c->probe[i]) &&
			    (c->stable[i] < 0 || c->inc[k].len > c->inc[c->stable[i]].len))
				c->stable[i] = k;
	}
	/* Room for every churn route at once, and no more: deletes must be recycled. */
	stable.n = nst;
	{
		struct wcard_routes sized = stable;

		sized.n = pool.n;
		sized.r = calloc(pool.n, sizeof(*sized.r));
		cr_assert_not_null(sized.r, "calloc");
		memcpy(sized.r, stable.r, nst * sizeof(*sized.r));
		/* Slots past the stable routes: other-family placeholders the build skips. */
		for (i = nst; i < pool.n; i++)
			sized.r[i].family = fam == 4 ? 6 : 4;
		if (fam == 4) {
			v4_open(&c->d, &sized,
				kind ? (__u32)wcard_trie4_nodes_needed(&pool) + 1 : 4096, kind == 1,
				name);
		} else {
			char err[256] = "";

			c->t6.fam = 6;
			c->t6.skel = wcard_skel_open(wcard_lpm4);
			cr_assert_not_null(c->t6.skel, "case %s: open", name);
			cr_assert_eq(wcard_lpm6_prepare(c->t6.skel->obj, pool.n,
							(__u32)wcard_lpm6_nodes_needed(&pool) + 1,
							&c->t6.d),
				     0, "case %s: prepare", name);
			cr_assert_eq(wcard_lpm4__load(c->t6.skel), 0, "case %s: load", name);
			cr_assert_eq(wcard_trie_open(c->t6.d, err, sizeof(err)), 0, "case %s: %s",
				     name, err);
			cr_assert_eq(wcard_trie_load(c->t6.d, &sized, err, sizeof(err)), 0,
				     "case %s: %s", name, err);
		}
		free(sized.r);
	}
	cr_assert_eq(pthread_create(&th, NULL, rchurn_reader, c), 0, "case %s: thread", name);
	for (i = 0; i < ops; i++) {
		size_t x = nst + wt_below(&r, pool.n - nst);
		const struct wcard_route *rt = &pool.r[x];
		__u32 route;

		if (in[x]) {
			cr_assert_eq(fam == 6 ? wcard_trie_del(c->t6.d, rt->addr, rt->len) :
						v4_del(&c->d, (__u32)rt->addr, rt->len),
				     0, "case %s: op %zu: delete", name, i);
			__atomic_store_n(&c->del_done[cur[x]], c->done_ops + 1, __ATOMIC_RELEASE);
		} else {
			__u64 n = c->ninc;

			c->inc[n] = *rt;
			c->inc[n].value = n;
			cur[x] = n;
			__atomic_store_n(&c->ninc, n + 1, __ATOMIC_RELEASE);
			cr_assert_eq(fam == 6 ? wcard_trie_add(c->t6.d, rt->addr, rt->len, n, &route) :
						v4_add(&c->d, (__u32)rt->addr, rt->len, n, &route),
				     0, "case %s: op %zu: add", name, i);
		}
		in[x] = !in[x];
		__atomic_store_n(&c->done_ops, c->done_ops + 1, __ATOMIC_RELEASE);
	}
	c->stop = 1;
	pthread_join(th, NULL);
	cr_log_info("lpm: %s: %u route adds/deletes, %llu concurrent lookups, %llu violations\n",
		    name, ops, (unsigned long long)c->lookups, (unsigned long long)c->violations);
	cr_assert_eq(c->violations, 0, "case %s: %llu violations; first: %s", name,
		     (unsigned long long)c->violations, c->first);
	cr_assert_gt(c->lookups, 1000, "case %s: only %llu lookups", name,
		     (unsigned long long)c->lookups);
	if (fam == 6) {
		wcard_trie_close(c->t6.d);
		wcard_lpm4__destroy(c->t6.skel);
	} else {
		d24_close(&c->d);
	}
	free(c->inc);
	free(c->del_done);
	free(c->probe);
	free(c->stable);
	free(in);
	free(cur);
	free(stable.r);
	wcard_routes_free(&pool);
	free(c);
}

Test(lpm, dir24_concurrent_churn, .timeout = 900)
{
	const char *s = getenv("WCARD_STRESS");

	route_churn(s && *s && strcmp(s, "0") ? 1000000 : 100000, 0, "dir24 churn");
}

Test(lpm, trie4_concurrent_churn, .timeout = 900)
{
	const char *s = getenv("WCARD_STRESS");

	route_churn(s && *s && strcmp(s, "0") ? 1000000 : 100000, 1, "trie4 churn");
}

Test(lpm, trie6_concurrent_churn, .timeout = 900)
{
	const char *s = getenv("WCARD_STRESS");

	route_churn(s && *s && strcmp(s, "0") ? 1000000 : 100000, 2, "trie6 churn");
}

/* ---- multibit tries (IPv6, small IPv4): online changes ------------------------ */

/*
 * Random adds, replaces and deletes on a trie of family fam; every 500 changes,
 * the first, last and one-past-last address of every route agree with the
 * reference over the live routes.
 */
static void trie_online(unsigned int fam, const char *name)
{
	unsigned int bits = fam == 4 ? 32 : 128;
	struct wt_rng r = { .s = fam == 6 ? 66 : 67 };
	struct wcard_routes all = {}, live = {};
	wc_u128 full = fam == 4 ? 0xffffffff : ~(wc_u128)0;
	char err[256] = "";
	struct t6 t = { .fam = fam };
	size_t i, op;
	long nodes;

	random_routes(&r, &all, 3000, 120);
	for (i = 0; i < all.n; i++) {
		struct wcard_route *x = &all.r[i];

		/* All of one family: move the others' top bits over. */
		if (x->family == 4 && fam == 6) {
			x->addr <<= 96;
		} else if (x->family == 6 && fam == 4) {
			x->addr >>= 96;
			x->len = x->len > 32 ? 32 : x->len;
		}
		x->family = fam;
	}
	live.r = calloc(all.n, sizeof(*live.r));
	cr_assert_not_null(live.r, "calloc");
	for (i = 0; i < all.n; i += 2)
		live.r[live.n++] = all.r[i];
	nodes = fam == 4 ? wcard_trie4_nodes_needed(&all) : wcard_lpm6_nodes_needed(&all);
	t.skel = wcard_skel_open(wcard_lpm4);
	cr_assert_not_null(t.skel, "case %s: open", name);
	t.skel->rodata->wc_lpm4_trie = fam == 4;
	cr_assert_eq(fam == 4 ? wcard_trie4_prepare(t.skel->obj, all.n, nodes + 1, &t.d) :
				wcard_lpm6_prepare(t.skel->obj, all.n, nodes + 1, &t.d),
		     0, "case %s: prepare", name);
	cr_assert_eq(wcard_lpm4__load(t.skel), 0, "case %s: load", name);
	cr_assert_eq(wcard_trie_open(t.d, err, sizeof(err)), 0, "case %s: %s", name, err);
	cr_assert_eq(wcard_trie_load(t.d, &live, err, sizeof(err)), 0, "case %s: %s", name, err);
	/* The load saw duplicates (the last must win); the shadow keeps only that copy. */
	shadow_dedupe(&live);
	for (op = 0; op < 4000; op++) {
		size_t x = wt_below(&r, all.n), k;
		const struct wcard_route *rt = &all.r[x];
		long present = -1;

		present = shadow_find(&live, rt);
		if (present >= 0 && wt_below(&r, 3)) {
			cr_assert_eq(wcard_trie_del(t.d, rt->addr, rt->len), 0,
				     "case %s: op %zu: delete", name, op);
			live.r[present] = live.r[--live.n];
		} else {
			__u32 route;

			__u64 v = present < 0 ? rt->value : wt_below(&r, 2) ? wt_rnd(&r) : wt_below(&r, 99);

			cr_assert_eq(wcard_trie_add(t.d, rt->addr, rt->len, v, &route), 0,
				     "case %s: op %zu: add", name, op);
			if (present >= 0)
				live.r[present].value = v;
			else
				live.r[live.n++] = *rt;
		}
		if (op % 500)
			continue;
		for (k = 0; k < all.n; k++) {
			const struct wcard_route *e = &all.r[k];
			wc_u128 span = e->len ? ((wc_u128)1 << (bits - e->len)) - 1 : full;
			wc_u128 probe[3] = { e->addr, e->addr + span, (e->addr + span + 1) & full };
			unsigned int j;

			for (j = 0; j < 3; j++) {
				long want = ref_lpm(&live, fam, probe[j]), got;
				__u64 v;

				got = t6_lookup(&t, probe[j], &v);
				cr_assert_eq(got >= 0, want >= 0,
					     "case %s: op %zu: found %ld, expected %ld", name, op,
					     got, want);
				if (want >= 0)
					cr_assert_eq(v, live.r[want].value, "case %s: op %zu: value",
						     name, op);
			}
		}
	}
	wcard_trie_close(t.d);
	wcard_lpm4__destroy(t.skel);
	free(live.r);
	wcard_routes_free(&all);
}

Test(lpm, trie6_online, .timeout = 300)
{
	trie_online(6, "trie6");
}

Test(lpm, trie4_online, .timeout = 300)
{
	trie_online(4, "trie4");
}

/* ---- atomic bulk loads ---------------------------------------------------------- */

/*
 * Lookups in a loop while the writer bulk-loads route set A, then B, then A...
 * Each answer must be the longest match in A or in B (a lookup that saw a
 * half-built table would find a shorter route, or none), and exactly the one
 * of the last set loaded when no load overlapped the lookup.
 */
struct swap {
	int kind; /* 0 DIR-24-8, 1 small IPv4 trie, 2 IPv6 trie */
	struct d24 d4;
	struct t6 t6;
	wc_u128 *probe;
	size_t nprobe;
	__u64 *want[2]; /* per probe, the value in set A / B, or WC_RANK_NONE on a miss */
	unsigned int started, done;
	int stop;
	unsigned long long lookups, strict, violations;
	char first[256];
};

static __u64 swap_lookup(struct swap *c, wc_u128 a)
{
	__u64 v = 0;
	long r = c->kind == 2 ? t6_lookup(&c->t6, a, &v) : d24_lookup(&c->d4, (__u32)a, &v);

	return r < 0 ? WC_RANK_NONE : v;
}

static void *swap_reader(void *arg)
{
	struct swap *c = arg;
	struct wt_rng r = { .s = 77 };

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		size_t p = wt_below(&r, c->nprobe);
		unsigned int d0 = __atomic_load_n(&c->done, __ATOMIC_ACQUIRE), s1;
		__u64 v = swap_lookup(c, c->probe[p]);
		const char *why = NULL;

		s1 = __atomic_load_n(&c->started, __ATOMIC_ACQUIRE);
		c->lookups++;
		if (v != c->want[0][p] && v != c->want[1][p])
			why = "answer of neither route set";
		else if (s1 == d0 && (c->strict++, v != c->want[(d0 - 1) % 2][p]))
			why = "answer of the set replaced before the lookup";
		if (why && !c->violations++)
			snprintf(c->first, sizeof(c->first),
				 "probe %zu after %u loads: %llx, A %llx, B %llx: %s", p, d0,
				 (unsigned long long)v, (unsigned long long)c->want[0][p],
				 (unsigned long long)c->want[1][p], why);
	}
	return NULL;
}

static int swap_load(struct swap *c, const struct wcard_routes *rt, char *err, size_t len)
{
	if (c->kind == 0)
		return wcard_dir24_load(c->d4.d, rt, err, len);
	return wcard_trie_load(c->kind == 1 ? c->d4.t : c->t6.d, rt, err, len);
}

static void bulk_swap(int kind, unsigned int loads, const char *name)
{
	unsigned long long s0;
	unsigned int w;
	unsigned int fam = kind == 2 ? 6 : 4, bits = fam == 6 ? 128 : 32, k;
	wc_u128 full = fam == 4 ? 0xffffffff : ~(wc_u128)0;
	struct wcard_routes set[2] = {}, all = {};
	struct wt_rng r = { .s = 900 + kind };
	struct swap *c = calloc(1, sizeof(*c));
	char err[256] = "";
	pthread_t th;
	size_t i, s;

	cr_assert_not_null(c, "calloc");
	c->kind = kind;
	for (s = 0; s < 2; s++) {
		struct wcard_routes mixed = {};

		random_routes(&r, &mixed, 4000, 150);
		set[s].r = calloc(mixed.n, sizeof(*set[s].r));
		cr_assert_not_null(set[s].r, "calloc");
		for (i = 0; i < mixed.n; i++) {
			if (mixed.r[i].family != fam)
				continue;
			set[s].r[set[s].n] = mixed.r[i];
			/* The value says which set a route came from. */
			set[s].r[set[s].n].value = ((__u64)s << 32) | set[s].n;
			set[s].n++;
		}
		wcard_routes_free(&mixed);
	}
	/* Sized for either set; the trie's nodes for both at once. */
	all.r = calloc(set[0].n + set[1].n, sizeof(*all.r));
	cr_assert_not_null(all.r, "calloc");
	memcpy(all.r, set[0].r, set[0].n * sizeof(*all.r));
	memcpy(all.r + set[0].n, set[1].r, set[1].n * sizeof(*all.r));
	all.n = set[0].n + set[1].n;
	if (kind == 2) {
		c->t6.fam = 6;
		c->t6.skel = wcard_skel_open(wcard_lpm4);
		cr_assert_not_null(c->t6.skel, "case %s: open", name);
		cr_assert_eq(wcard_lpm6_prepare(c->t6.skel->obj, all.n,
						(__u32)wcard_lpm6_nodes_needed(&all) + 1, &c->t6.d),
			     0, "case %s: prepare", name);
		cr_assert_eq(wcard_lpm4__load(c->t6.skel), 0, "case %s: load", name);
		cr_assert_eq(wcard_trie_open(c->t6.d, err, sizeof(err)), 0, "case %s: %s", name,
			     err);
	} else {
		/* Every line a placeholder of the other family: sizes, but no routes. */
		struct wcard_routes sized = { .r = calloc(all.n, sizeof(*all.r)), .n = all.n };

		cr_assert_not_null(sized.r, "calloc");
		for (i = 0; i < all.n; i++)
			sized.r[i].family = 6;
		v4_open(&c->d4, &sized, kind ? (__u32)wcard_trie4_nodes_needed(&all) + 1 : 4096,
			kind == 1, name);
		free(sized.r);
	}
	c->nprobe = 4096;
	c->probe = calloc(c->nprobe, sizeof(*c->probe));
	c->want[0] = calloc(c->nprobe, sizeof(__u64));
	c->want[1] = calloc(c->nprobe, sizeof(__u64));
	cr_assert(c->probe && c->want[0] && c->want[1], "calloc");
	for (i = 0; i < c->nprobe; i++) {
		const struct wcard_route *x = &all.r[wt_below(&r, all.n)];
		wc_u128 span = x->len ? ((wc_u128)1 << (bits - x->len)) - 1 : full;

		c->probe[i] = (x->addr | (((wc_u128)wt_rnd(&r) << 64 | wt_rnd(&r)) & span)) & full;
		for (s = 0; s < 2; s++) {
			long w = ref_lpm(&set[s], fam, c->probe[i]);

			c->want[s][i] = w < 0 ? WC_RANK_NONE : set[s].r[w].value;
		}
	}
	cr_assert_eq(swap_load(c, &set[0], err, sizeof(err)), 0, "case %s: load A: %s", name, err);
	c->started = c->done = 1;
	cr_assert_eq(pthread_create(&th, NULL, swap_reader, c), 0, "case %s: thread", name);
	for (k = 1; k < loads; k++) {
		__atomic_store_n(&c->started, k + 1, __ATOMIC_RELEASE);
		cr_assert_eq(swap_load(c, &set[k % 2], err, sizeof(err)), 0, "case %s: load %u: %s",
			     name, k, err);
		__atomic_store_n(&c->done, k + 1, __ATOMIC_RELEASE);
		/*
		 * Let some lookups see each set whole: wait for 4 of them (1 s at
		 * most), not a fixed time, so a loaded host or a guest under
		 * emulation still gives the reader its turn.
		 */
		s0 = __atomic_load_n(&c->strict, __ATOMIC_RELAXED);
		for (w = 0; w < 500 && __atomic_load_n(&c->strict, __ATOMIC_RELAXED) < s0 + 4; w++)
			usleep(2000);
	}
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	cr_log_info("lpm: %s: %u bulk loads of %zu/%zu routes, %llu concurrent lookups (%llu with no "
		    "load in flight), %llu violations\n",
		    name, loads, set[0].n, set[1].n, c->lookups, c->strict, c->violations);
	cr_assert_eq(c->violations, 0, "case %s: %llu violations; first: %s", name, c->violations,
		     c->first);
	cr_assert_gt(c->strict, 100, "case %s: only %llu lookups between loads", name, c->strict);
	if (kind == 2) {
		wcard_trie_close(c->t6.d);
		wcard_lpm4__destroy(c->t6.skel);
	} else {
		d24_close(&c->d4);
	}
	free(c->probe);
	free(c->want[0]);
	free(c->want[1]);
	free(all.r);
	wcard_routes_free(&set[0]);
	wcard_routes_free(&set[1]);
	free(c);
}

Test(lpm, bulk_load_atomic_dir24, .timeout = 300)
{
	bulk_swap(0, 30, "dir24 swap");
}

Test(lpm, bulk_load_atomic_trie4, .timeout = 300)
{
	bulk_swap(1, 60, "trie4 swap");
}

Test(lpm, bulk_load_atomic_trie6, .timeout = 300)
{
	bulk_swap(2, 60, "trie6 swap");
}

/* ---- pinned LPMs: the maps are the source of truth ------------------------------ */

static void lpm_pin_dir(char *buf, size_t len, const char *tag)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	wt_bpffs();
	snprintf(buf, len, "/sys/fs/bpf/wcard-test-lpm-%s-%d-%08lx", tag, getpid(),
		 (unsigned long)ts.tv_nsec);
}

static int route_cmp(const void *a, const void *b)
{
	const struct wcard_route *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->value < y->value ? -1 : x->value > y->value;
}

/* The dump holds exactly the shadow's routes and values. */
static void dump_equals(const struct wcard_routes *dump, const struct wcard_routes *shadow,
			const char *name)
{
	struct wcard_route *a = calloc(dump->n + 1, sizeof(*a)), *b = calloc(shadow->n + 1, sizeof(*b));
	size_t i;

	cr_assert(a && b, "calloc");
	memcpy(a, dump->r, dump->n * sizeof(*a));
	memcpy(b, shadow->r, shadow->n * sizeof(*b));
	qsort(a, dump->n, sizeof(*a), route_cmp);
	qsort(b, shadow->n, sizeof(*b), route_cmp);
	cr_assert_eq(dump->n, shadow->n, "case %s: dump has %zu routes, expected %zu", name, dump->n,
		     shadow->n);
	for (i = 0; i < dump->n; i++)
		cr_assert(a[i].family == b[i].family && a[i].len == b[i].len &&
				  a[i].addr == b[i].addr && a[i].value == b[i].value,
			  "case %s: dump route %zu differs (/%u value %llu, expected /%u value %llu)",
			  name, i, a[i].len, (unsigned long long)a[i].value, b[i].len,
			  (unsigned long long)b[i].value);
	free(a);
	free(b);
}

/* Longest match over the shadow (unique prefixes), as query reports it. */
static void query_agrees(struct wcard_lpm *l, const struct wcard_routes *shadow, unsigned int fam,
			 wc_u128 a, const char *name)
{
	long want = ref_lpm(shadow, fam, a);
	struct wcard_route m;
	int hit = wcard_lpm_query(l, fam, a, &m);

	cr_assert_geq(hit, 0, "case %s: query: %d", name, hit);
	cr_assert_eq(hit, want >= 0, "case %s: IPv%u hit %d, expected %d", name, fam, hit, want >= 0);
	if (hit)
		cr_assert(m.len == shadow->r[want].len && m.addr == shadow->r[want].addr &&
				  m.value == shadow->r[want].value,
			  "case %s: IPv%u matched /%u value %llu, expected /%u value %llu", name, fam,
			  m.len, (unsigned long long)m.value, shadow->r[want].len,
			  (unsigned long long)shadow->r[want].value);
}

/*
 * Create and pin, reopen as a second handle (as another process would) and
 * change routes through it; the first handle's lookups see every change. A
 * third handle, opened before the changes, dumps them all and can delete every
 * route: it reads the maps, not an index taken at its open. A fourth open
 * finds the same routes from the maps alone.
 */
static void pinned_library(enum wcard_lpm4_algo v4, const char *name)
{
	struct wcard_lpm_opts o = { .v4 = v4 };
	struct wcard_routes all = {}, live = {}, dump = {};
	struct wcard_lpm *l1 = NULL, *l2 = NULL, *l3 = NULL, *l4 = NULL;
	struct wt_rng r = { .s = 31 + v4 };
	char dir[256], err[256] = "";
	size_t i, op;

	lpm_pin_dir(dir, sizeof(dir), name);
	random_routes(&r, &all, 600, 60);
	live.r = calloc(all.n, sizeof(*live.r));
	cr_assert_not_null(live.r, "calloc");
	for (i = 0; i < all.n; i += 2)
		live.r[live.n++] = all.r[i];
	cr_assert_eq(wcard_lpm_create(&live, &o, &l1, err, sizeof(err)), 0, "case %s: create: %s",
		     name, err);
	shadow_dedupe(&live);
	cr_assert_eq(wcard_lpm_pin(l1, dir, err, sizeof(err)), 0, "case %s: pin: %s", name, err);
	cr_assert_eq(wcard_lpm_open_pinned(dir, &l2, err, sizeof(err)), 0, "case %s: reopen: %s",
		     name, err);
	cr_assert_eq(wcard_lpm_open_pinned(dir, &l3, err, sizeof(err)), 0, "case %s: reopen: %s",
		     name, err);
	for (op = 0; op < 1500; op++) {
		const struct wcard_route *x = &all.r[wt_below(&r, all.n)];
		long present = shadow_find(&live, x);

		if (present >= 0 && wt_below(&r, 3)) {
			cr_assert_eq(wcard_lpm_del(l2, x->family, x->addr, x->len), 0,
				     "case %s: op %zu: del", name, op);
			live.r[present] = live.r[--live.n];
		} else {
			__u64 v = wt_rnd(&r) >> 1;

			cr_assert_eq(wcard_lpm_add(l2, x->family, x->addr, x->len, v), 0,
				     "case %s: op %zu: add", name, op);
			if (present >= 0) {
				live.r[present].value = v;
			} else {
				live.r[live.n] = *x;
				live.r[live.n++].value = v;
			}
		}
		if (op % 300 == 299)
			for (i = 0; i < 200; i++) {
				const struct wcard_route *e = &all.r[wt_below(&r, all.n)];
				unsigned int bits = e->family == 6 ? 128 : 32;
				wc_u128 span = e->len ? ((wc_u128)1 << (bits - e->len)) - 1 :
							(bits == 32 ? 0xffffffff : ~(wc_u128)0);

				query_agrees(l1, &live, e->family, e->addr | (wt_rnd(&r) & span), name);
			}
	}
	cr_assert_eq(wcard_lpm_open_pinned(dir, &l4, err, sizeof(err)), 0, "case %s: reopen: %s",
		     name, err);
	cr_assert_eq(wcard_lpm_dump(l4, &dump), 0, "case %s: dump", name);
	dump_equals(&dump, &live, name);
	wcard_routes_free(&dump);
	cr_assert_eq(wcard_lpm_dump(l3, &dump), 0, "case %s: dump of the early handle", name);
	dump_equals(&dump, &live, name);
	/* The early handle's first change derives its index from the maps: delete everything. */
	for (i = 0; i < live.n; i++)
		cr_assert_eq(wcard_lpm_del(l3, live.r[i].family, live.r[i].addr, live.r[i].len), 0,
			     "case %s: del %zu after reopen", name, i);
	for (i = 0; i < 100; i++)
		query_agrees(l1, &(struct wcard_routes){ 0 }, all.r[i].family, all.r[i].addr, name);
	wcard_lpm_destroy(l1);
	wcard_lpm_destroy(l2);
	wcard_lpm_destroy(l3);
	wcard_lpm_destroy(l4);
	cr_assert_eq(wcard_lpm_unpin(dir), 0, "case %s: unpin", name);
	wcard_routes_free(&dump);
	free(live.r);
	wcard_routes_free(&all);
}

Test(lpm, pinned_reopen_dir24, .timeout = 300)
{
	pinned_library(WCARD_LPM4_DIR24, "dir24");
}

Test(lpm, pinned_reopen_trie4, .timeout = 300)
{
	pinned_library(WCARD_LPM4_TRIE, "trie4");
}

/* One lookup through a fresh open of the pinned LPM: the value, or ~0 on a miss. */
static __u64 pinned_value(const char *dir, __u32 addr, const char *name)
{
	struct wcard_lpm *l = NULL;
	struct wcard_route m;
	char err[512] = "";
	int ret;

	cr_assert_eq(wcard_lpm_open_pinned(dir, &l, err, sizeof(err)), 0, "case %s: open: %s",
		     name, err);
	ret = wcard_lpm_query(l, 4, addr, &m);
	cr_assert_geq(ret, 0, "case %s: query", name);
	wcard_lpm_destroy(l);
	return ret ? m.value : ~0ULL;
}

/*
 * A pinned LPM pins its live image (wc_lpm4_image_live), so a reopen needs no
 * CAP_SYS_ADMIN to find it; a bulk load pins the new image as *_live_next,
 * switches, then renames. Every state a killed writer can leave opens to the
 * image lookups see: the rename not done (the live image only as _next, a
 * stale one as _live), a stale _next, and no live pin at all (pinned by an
 * older wcard: found by id, and pinned again by the next load).
 */
Test(lpm, pinned_live_image_states)
{
	struct wcard_routes a = {}, b = {};
	struct wcard_route r = { .family = 4, .len = 8, .addr = 0x0a000000, .value = 1 };
	struct wcard_lpm *l = NULL;
	char dir[256], live[512], next[512], slot[512], err[512] = "";
	__u32 slot_id;
	int stale;

	a.r = &r;
	a.n = 1;
	lpm_pin_dir(dir, sizeof(dir), "live");
	cr_assert_eq(wcard_lpm_create(&a, NULL, &l, err, sizeof(err)), 0, "case live: %s", err);
	cr_assert_eq(wcard_lpm_pin(l, dir, err, sizeof(err)), 0, "case live: pin: %s", err);
	snprintf(live, sizeof(live), "%s/wc_lpm4_image_live", dir);
	snprintf(slot, sizeof(slot), "%s/wc_lpm4_image", dir);
	snprintf(next, sizeof(next), "%s/wc_lpm4_image_live_next", dir);
	cr_assert_neq(wt_pinned_map_id(live), 0, "case live: %s pinned", live);
	/* A bulk load through the pinned handle moves the live pin to the new image. */
	r.value = 2;
	b.r = &r;
	b.n = 1;
	cr_assert_eq(wcard_lpm_load(l, &b, err, sizeof(err)), 0, "case live: load: %s", err);
	wcard_lpm_destroy(l);
	slot_id = wt_slot_map_id(slot);
	cr_assert_neq(slot_id, 0, "case live: slot id");
	cr_assert_eq(wt_pinned_map_id(live), slot_id, "case live: the live pin is the slot's image");
	cr_assert_eq(access(next, F_OK), -1, "case live: no _next left after a load");
	cr_assert_eq(pinned_value(dir, 0x0a010203, "after load"), 2, "case live: value");

	/* Killed between the switch and the rename: live only as _next, a stale _live. */
	stale = bpf_map_create(BPF_MAP_TYPE_ARRAY, "stale", 4, 8, 1, NULL);
	cr_assert_geq(stale, 0, "case live: stale map");
	cr_assert_eq(rename(live, next), 0, "case live: to _next");
	cr_assert_eq(bpf_obj_pin(stale, live), 0, "case live: stale pin");
	cr_assert_eq(pinned_value(dir, 0x0a010203, "rename not done"), 2,
		     "case live: rename not done: value");
	/* Readers never rename; the next writer's publish finishes the rename first. */
	cr_assert_eq(wt_pinned_map_id(next), slot_id, "case live: a reader left _next alone");
	cr_assert_eq(wcard_lpm_open_pinned(dir, &l, err, sizeof(err)), 0, "case live: open: %s",
		     err);
	cr_assert_eq(wcard_lpm_load(l, &b, err, sizeof(err)), 0, "case live: load: %s", err);
	wcard_lpm_destroy(l);
	slot_id = wt_slot_map_id(slot);
	cr_assert_neq(slot_id, 0, "case live: slot id");
	cr_assert_eq(wt_pinned_map_id(live), slot_id, "case live: the load's image is _live");
	cr_assert_eq(access(next, F_OK), -1, "case live: no _next left");

	/* Killed before the switch: a stale _next beside the right _live. */
	cr_assert_eq(bpf_obj_pin(stale, next), 0, "case live: stale _next");
	cr_assert_eq(pinned_value(dir, 0x0a010203, "stale next"), 2, "case live: stale _next: value");

	/* No live pin (an older wcard): found by id, and the next load pins it again. */
	cr_assert_eq(unlink(live), 0, "case live: unlink _live");
	cr_assert_eq(unlink(next), 0, "case live: unlink _next");
	cr_assert_eq(pinned_value(dir, 0x0a010203, "no live pin"), 2, "case live: by id: value");
	cr_assert_eq(wcard_lpm_open_pinned(dir, &l, err, sizeof(err)), 0, "case live: open: %s",
		     err);
	r.value = 3;
	cr_assert_eq(wcard_lpm_load(l, &b, err, sizeof(err)), 0, "case live: reload: %s", err);
	wcard_lpm_destroy(l);
	cr_assert_neq(wt_pinned_map_id(live), 0, "case live: pinned again by the load");
	cr_assert_eq(pinned_value(dir, 0x0a010203, "pinned again"), 3, "case live: value 3");
	close(stale);
	cr_assert_eq(wcard_lpm_unpin(dir), 0, "case live: unpin");
}

/* A pinned meta record of another version or of something else is refused by name. */
Test(lpm, pinned_refuses_other_version)
{
	struct { __u32 magic, version, v4, pad, sizes[6]; } meta = { 0x77634c50u, 99 };
	struct wcard_lpm *l = NULL;
	char dir[256], path[512], err[512] = "";
	__u32 zero = 0;
	int fd, ret;

	lpm_pin_dir(dir, sizeof(dir), "version");
	cr_assert_eq(mkdir(dir, 0700), 0, "mkdir %s", dir);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "wc_lpm_meta", 4, sizeof(meta), 1, NULL);
	cr_assert_geq(fd, 0, "map");
	cr_assert_eq(bpf_map_update_elem(fd, &zero, &meta, 0), 0, "update");
	snprintf(path, sizeof(path), "%s/meta", dir);
	cr_assert_eq(bpf_obj_pin(fd, path), 0, "pin");
	close(fd);
	ret = wcard_lpm_open_pinned(dir, &l, err, sizeof(err));
	cr_assert_eq(ret, -EPROTO, "case version: %d", ret);
	cr_assert_not_null(strstr(err, "version 99"), "case version: message '%s'", err);
	ret = wcard_lpm_open_pinned("/sys/fs/bpf/wcard-no-such-lpm", &l, err, sizeof(err));
	cr_assert_eq(ret, -ENOENT, "case missing: %d", ret);
	cr_assert_not_null(strstr(err, "no LPM pinned there"), "case missing: message '%s'", err);
	cr_assert_eq(wcard_lpm_unpin(dir), 0, "unpin");
}

/* ---- a writer killed mid-add: the same add again leaves the route whole ------------ */

#define IMG_GROUP (1U << 31) /* lpm.bpf.h WC_LPM_GROUP: the entry names a block */

/* A pinned structure's live image, mapped as a writer maps it (layout: lpm.bpf.h). */
struct live_img {
	__u64 *e;
	size_t len;
	__u32 top; /* entries of the top table: tbl24, or the trie root */
	unsigned int topw, bits; /* bits the top table takes; the family's address bits */
};

/* kind: 0 DIR-24-8, 1 small IPv4 trie, 2 IPv6 trie. */
static void img_map(struct live_img *m, const char *dir, int kind, const char *name)
{
	static const char *const slot[] = { "wc_lpm4_image", "wc_trie4_image", "wc_lpm6_image" };
	size_t page = sysconf(_SC_PAGESIZE);
	struct bpf_map_info info = {};
	__u32 ilen = sizeof(info);
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s_live", dir, slot[kind]);
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "case %s: %s: %s", name, path, strerror(errno));
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &ilen), 0, "case %s: map info", name);
	m->len = ((size_t)info.max_entries * 8 + page - 1) & ~(page - 1);
	m->e = mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(m->e, MAP_FAILED, "case %s: mmap %s: %s", name, path, strerror(errno));
	close(fd);
	m->topw = kind ? 16 : 24;
	m->top = 1u << m->topw;
	m->bits = kind == 2 ? 128 : 32;
}

static __u64 *img_block(const struct live_img *m, __u64 e)
{
	return &m->e[m->top + (size_t)((__u32)e & ~IMG_GROUP) * 256];
}

/* Index in a table of bits [st, st + w) of position pos (the address in the top bits). */
static __u32 img_index(wc_u128 pos, unsigned int st, unsigned int w)
{
	return (__u32)(pos >> (128 - st - w)) & ((1u << w) - 1);
}

/* The entry a lookup of address a ends on. */
static __u64 *img_leaf(const struct live_img *m, wc_u128 a)
{
	wc_u128 pos = a << (128 - m->bits);
	unsigned int st = 0, w = m->topw;
	__u64 *e = &m->e[img_index(pos, st, w)];

	while (*e & IMG_GROUP) {
		st += w;
		w = 8;
		e = &img_block(m, *e)[img_index(pos, st, w)];
	}
	return e;
}

/*
 * Entries [first, first + cnt) of tab, a table of bits [st, st + w) under
 * position base, and the blocks below them, in the order a writer paints them
 * (address order): each at or past position cut that holds ent goes back to
 * prev. How many did.
 */
static unsigned int img_revert(const struct live_img *m, __u64 *tab, wc_u128 base,
			       unsigned int st, unsigned int w, __u32 first, __u32 cnt, wc_u128 cut,
			       __u64 ent, __u64 prev)
{
	unsigned int n = 0;
	__u32 k;

	for (k = first; k < first + cnt; k++) {
		wc_u128 a = base | (wc_u128)k << (128 - st - w);

		if (tab[k] & IMG_GROUP) {
			n += img_revert(m, img_block(m, tab[k]), a, st + w, 8, 0, 256, cut, ent,
					prev);
		} else if (a >= cut && tab[k] == ent) {
			tab[k] = prev;
			n++;
		}
	}
	return n;
}

/*
 * The image as a writer killed while painting prefix a/len leaves it: its
 * slot, value and prefix recorded, its entries painted up to address cut, the
 * rest still prev (what the prefix's first address held before the add).
 */
static unsigned int img_kill(const struct live_img *m, wc_u128 a, unsigned int len, wc_u128 cut,
			     __u64 prev, const char *name)
{
	wc_u128 pos = a << (128 - m->bits), base = 0;
	unsigned int st = 0, w = m->topw;
	__u64 *tab = m->e, ent = *img_leaf(m, a);

	cr_assert_neq(ent, prev, "case %s: the add changed nothing at its first address", name);
	while (len > st + w) {
		__u64 e = tab[img_index(pos, st, w)];

		cr_assert(e & IMG_GROUP, "case %s: no block on the prefix's path", name);
		base |= (wc_u128)img_index(pos, st, w) << (128 - st - w);
		tab = img_block(m, e);
		st += w;
		w = 8;
	}
	return img_revert(m, tab, base, st, w,
			  img_index(pos, st, w) & ~((1u << (st + w - len)) - 1),
			  1u << (st + w - len), cut << (128 - m->bits), ent, prev);
}

/*
 * Every address of a window around the cases' prefixes (IPv4: each address of
 * 10.19.240.0-10.20.31.255; IPv6: one in each /64 of 2001:db8:12:2000:: to
 * 2001:db8:12:4fff::, the longest routes there being /64) queried against the
 * shadow's longest match. With must, each must agree; else how many do not.
 */
static size_t window_wrong(struct wcard_lpm *l, const struct wcard_routes *shadow,
			   unsigned int fam, bool must, const char *name)
{
	struct wt_rng r = { .s = 77 };
	size_t i, wrong = 0;

	for (i = 0; i < 0x3000; i++) {
		wc_u128 a = fam == 4 ? 0x0a13f000u + i :
				       (wc_u128)(0x20010db800122000ULL + i) << 64 | wt_rnd(&r);
		long want = ref_lpm(shadow, fam, a);
		struct wcard_route m;
		int hit = wcard_lpm_query(l, fam, a, &m);
		bool ok;

		cr_assert_geq(hit, 0, "case %s: query: %d", name, hit);
		ok = hit == (want >= 0) &&
		     (!hit || (m.len == shadow->r[want].len && m.addr == shadow->r[want].addr &&
			       m.value == shadow->r[want].value));
		if (must)
			cr_assert(ok,
				  "case %s: IPv%u %016llx%016llx: matched /%u value %llu (hit %d), "
				  "expected /%u value %llu",
				  name, fam, (unsigned long long)(a >> 64), (unsigned long long)a,
				  hit ? m.len : 0, hit ? (unsigned long long)m.value : 0ULL, hit,
				  want >= 0 ? shadow->r[want].len : 0,
				  want >= 0 ? (unsigned long long)shadow->r[want].value : 0ULL);
		wrong += !ok;
	}
	return wrong;
}

struct kill_case {
	const char *route; /* added, killed, added again: "PREFIX/LEN VALUE" */
	bool half; /* killed halfway through its addresses, else before painting any */
	bool unlink; /* DIR-24-8: killed before its new tbl8 group was linked, too */
};

/*
 * An add killed after it recorded the route (slot, value, prefix) and painted
 * part of its range; then the same add again, in a new process (a reopen of
 * the pins rebuilds the index, which knows the prefix). That add must leave
 * the route whole: every address of the window answers as the routes with it.
 */
static void killed_add(enum wcard_lpm4_algo v4, const struct kill_case *kc, const char *name)
{
	static const char *const base[] = {
		"10.0.0.0/8 100", "10.16.0.0/12 4294967297", "10.19.255.0/24 98",
		"10.20.3.0/24 300", "10.20.5.16/28 516", "10.20.9.7/32 907", "10.20.12.0/22 1200",
		"10.20.16.0/20 99", "2001:db8::/32 100", "2001:db8:10::/44 8589934593",
		"2001:db8:12:2fff::/64 98", "2001:db8:12:3005::/64 35", "2001:db8:12:3100::/56 31",
		"2001:db8:12:3a00::/56 58", "2001:db8:12:3c40::/58 60", "2001:db8:12:4000::/52 99",
	};
	struct wcard_lpm_opts o = { .v4 = v4 };
	struct wcard_routes rt = {}, dump = {};
	struct wcard_lpm *l = NULL;
	struct wcard_route p;
	struct live_img m;
	char dir[256], err[512] = "";
	unsigned int bits, kind, n;
	__u64 prev, top_before;
	__u32 top_at;
	size_t i, wrong;
	wc_u128 cut;

	rt.r = calloc(sizeof(base) / sizeof(base[0]) + 1, sizeof(*rt.r));
	cr_assert_not_null(rt.r, "calloc");
	for (i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		cr_assert_eq(wcard_route_parse(base[i], "base", &rt.r[rt.n++], err, sizeof(err)), 0,
			     "case %s: %s", name, err);
	cr_assert_eq(wcard_route_parse(kc->route, "case", &p, err, sizeof(err)), 0, "case %s: %s",
		     name, err);
	bits = p.family == 6 ? 128 : 32;
	kind = p.family == 6 ? 2 : v4 == WCARD_LPM4_TRIE;
	cut = p.addr + (kc->half ? (wc_u128)1 << (bits - p.len - 1) : 0);
	wt_pin_dir(dir, sizeof(dir), "killadd");
	cr_assert_eq(wcard_lpm_create(&rt, &o, &l, err, sizeof(err)), 0, "case %s: create: %s",
		     name, err);
	cr_assert_eq(wcard_lpm_pin(l, dir, err, sizeof(err)), 0, "case %s: pin: %s", name, err);
	img_map(&m, dir, kind, name);
	prev = *img_leaf(&m, p.addr);
	top_at = img_index(p.addr << (128 - bits), 0, m.topw);
	top_before = m.e[top_at];

	/* The writer: records and paints the route whole, then dies; the kill is undone below. */
	cr_assert_eq(wcard_lpm_add(l, p.family, p.addr, p.len, p.value), 0, "case %s: add", name);
	wcard_lpm_destroy(l);
	n = img_kill(&m, p.addr, p.len, cut, prev, name);
	cr_assert_gt(n, 0, "case %s: no entry to undo", name);
	if (kc->unlink) {
		cr_assert(!(top_before & IMG_GROUP) && (m.e[top_at] & IMG_GROUP),
			  "case %s: the add made no new group", name);
		m.e[top_at] = top_before;
	}
	rt.r[rt.n++] = p;
	cr_assert_eq(wcard_lpm_open_pinned(dir, &l, err, sizeof(err)), 0, "case %s: reopen: %s",
		     name, err);
	wrong = window_wrong(l, &rt, p.family, false, name);
	cr_assert_gt(wrong, 0, "case %s: the killed add looks whole (%u entries undone)", name, n);

	/* The same add again, as the next writer. */
	cr_assert_eq(wcard_lpm_add(l, p.family, p.addr, p.len, p.value), 0, "case %s: add again",
		     name);
	window_wrong(l, &rt, p.family, true, name);
	cr_assert_eq(wcard_lpm_dump(l, &dump), 0, "case %s: dump", name);
	dump_equals(&dump, &rt, name);
	cr_log_info("lpm: %s: %u entries undone, %zu addresses wrong before the add again, none "
		    "after\n",
		    name, n, wrong);
	wcard_lpm_destroy(l);
	munmap(m.e, m.len);
	cr_assert_eq(wcard_lpm_unpin(dir), 0, "case %s: unpin", name);
	wcard_routes_free(&dump);
	free(rt.r);
}

static const struct {
	struct kill_case kc;
	const char *name;
} kill4[] = {
	{ { "10.20.0.0/20 7", false, false }, "/20 before painting" },
	{ { "10.20.0.0/20 8589934599", true, false }, "/20 wide value halfway" },
	{ { "10.20.7.64/26 77", false, true }, "/26 before its group was linked" },
	{ { "10.20.7.64/26 78", true, false }, "/26 halfway" },
};

static void killed_add4(enum wcard_lpm4_algo v4, const char *algo)
{
	char name[96];
	unsigned int i;

	for (i = 0; i < sizeof(kill4) / sizeof(kill4[0]); i++) {
		struct kill_case kc = kill4[i].kc;

		kc.unlink = kc.unlink && v4 == WCARD_LPM4_DIR24; /* tries make nodes first */
		snprintf(name, sizeof(name), "%s %s", algo, kill4[i].name);
		killed_add(v4, &kc, name);
	}
}

Test(lpm, killed_add_retried_dir24, .timeout = 300)
{
	killed_add4(WCARD_LPM4_DIR24, "dir24");
}

Test(lpm, killed_add_retried_trie4, .timeout = 300)
{
	killed_add4(WCARD_LPM4_TRIE, "trie4");
}

Test(lpm, killed_add_retried_trie6, .timeout = 300)
{
	static const struct {
		struct kill_case kc;
		const char *name;
	} c[] = {
		{ { "2001:db8:12:3000::/52 7", false, false }, "trie6 /52 before painting" },
		{ { "2001:db8:12:3000::/52 8589934599", true, false }, "trie6 /52 halfway" },
		{ { "2001:db8:12:3a80::/60 61", false, false }, "trie6 /60 in a new node" },
	};
	unsigned int i;

	/* The IPv6 trie is the same in either IPv4 mode: the small one keeps this test small. */
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		killed_add(WCARD_LPM4_TRIE, &c[i].kc, c[i].name);
}

/* ---- a trie route's aux word (the classifier's rule id), as BPF reads it ---------- */

/* One walk of wcard_lpm_aux.bpf.c for address a: 1 (route, value and aux set) or 0. */
static int aux_walk(struct wcard_lpm_aux *s, unsigned int fam, wc_u128 a, __u32 *route,
		    __u64 *value, __u32 *aux)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .repeat = 1);
	__u64 h[2] = { (__u64)(a >> 64), (__u64)a };
	__u32 a4 = (__u32)a;
	__u8 pkt[64] = {};

	if (fam == 4)
		memcpy(pkt, &a4, sizeof(a4));
	else
		memcpy(pkt, h, sizeof(h));
	o.data_in = pkt;
	o.data_size_in = sizeof(pkt);
	cr_assert_eq(bpf_prog_test_run_opts(bpf_program__fd(fam == 4 ? s->progs.wc_aux4_run :
									s->progs.wc_aux6_run),
					    &o),
		     0, "case aux: test run");
	cr_assert_geq(s->bss->wc_aux_ret, 0, "case aux: walk error %d", s->bss->wc_aux_ret);
	*route = s->bss->wc_aux_route;
	*value = s->bss->wc_aux_value;
	*aux = s->bss->wc_aux_word;
	return s->bss->wc_aux_ret;
}

/* n distinct random routes of family fam, line = a 32-bit id above 2^16 (both halves set). */
static void aux_routes(struct wt_rng *r, unsigned int fam, size_t n, struct wcard_routes *rt)
{
	unsigned int bits = fam == 6 ? 128 : 32;
	size_t i;

	rt->r = calloc(n, sizeof(*rt->r));
	cr_assert_not_null(rt->r, "calloc");
	for (rt->n = 0; rt->n < n; rt->n++) {
		struct wcard_route *x = &rt->r[rt->n];
		wc_u128 a = fam == 6 ? (wc_u128)(0x20010db800000000ULL | wt_rnd(r) >> 40) << 64 |
					       wt_rnd(r) :
				       0x0a000000u | (__u32)wt_rnd(r) >> 8;

		x->family = fam;
		x->len = fam == 6 ? 32 + wt_below(r, 97) : 16 + wt_below(r, 17);
		x->addr = a & ~(((wc_u128)1 << (bits - x->len)) - 1);
		x->value = wt_below(r, 2) ? wt_rnd(r) & 0xffffffff : wt_rnd(r);
	}
	shadow_dedupe(rt);
	/* Neighbouring slots share an element: their ids differ in both 16-bit halves. */
	for (i = 0; i < rt->n; i++)
		rt->r[i].line = 0x80010000u + (unsigned int)i * 0x10001u;
}

/*
 * The aux word of a trie route (wc_trie_walk with aux, as wc_lpm_classify
 * calls it) is the line the bulk load wrote for the route's slot, for even and
 * odd slots (the two 32-bit words of one element) and ids above 2^16; an
 * online add's is 0. BPF must read the u32 at the offset user space wrote it.
 */
Test(lpm, aux_words, .timeout = 120)
{
	struct wcard_routes rt[2] = {};
	struct wcard_trie *t[2] = {};
	struct wt_rng r = { .s = 5150 };
	struct wcard_lpm_aux *s;
	char err[256] = "";
	unsigned int f, parity[2][2] = {};
	size_t i;

	for (f = 0; f < 2; f++)
		aux_routes(&r, f ? 6 : 4, 700, &rt[f]);
	s = wcard_skel_open(wcard_lpm_aux);
	cr_assert_not_null(s, "case aux: open");
	cr_assert_eq(wcard_trie4_prepare(s->obj, rt[0].n + 8,
					 (__u32)wcard_trie4_nodes_needed(&rt[0]) + 16, &t[0]),
		     0, "case aux: prepare trie4");
	cr_assert_eq(wcard_lpm6_prepare(s->obj, rt[1].n + 8,
					(__u32)wcard_lpm6_nodes_needed(&rt[1]) + 64, &t[1]),
		     0, "case aux: prepare trie6");
	cr_assert_eq(wcard_lpm_aux__load(s), 0, "case aux: load");
	cr_assert_eq(wcard_trie_open(t[0], err, sizeof(err)), 0, "case aux: %s", err);
	cr_assert_eq(wcard_trie_open(t[1], err, sizeof(err)), 0, "case aux: %s", err);
	for (f = 0; f < 2; f++) {
		unsigned int fam = f ? 6 : 4, bits = f ? 128 : 32;

		cr_assert_eq(wcard_trie_load(t[f], &rt[f], err, sizeof(err)), 0, "case aux: %s",
			     err);
		/* The first and last address of every route. */
		for (i = 0; i < 2 * rt[f].n; i++) {
			const struct wcard_route *x = &rt[f].r[i / 2];
			wc_u128 a = x->addr | (i & 1 ? ((wc_u128)1 << (bits - x->len)) - 1 : 0);
			long want = ref_lpm(&rt[f], fam, a);
			__u32 route, aux;
			__u64 v;

			cr_assert_eq(aux_walk(s, fam, a, &route, &v, &aux), 1,
				     "case aux IPv%u: route %zu: a miss", fam, i / 2);
			cr_assert_eq(route, want, "case aux IPv%u: route %u, expected %ld", fam,
				     route, want);
			cr_assert_eq(v, rt[f].r[want].value, "case aux IPv%u: route %u: value", fam,
				     route);
			cr_assert_eq(aux, rt[f].r[want].line,
				     "case aux IPv%u: route %u (%s word of its element): aux %#x, "
				     "expected %#x",
				     fam, route, route & 1 ? "high" : "low", aux,
				     rt[f].r[want].line);
			parity[f][route & 1]++;
		}
		cr_assert(parity[f][0] > 100 && parity[f][1] > 100,
			  "case aux IPv%u: %u even and %u odd slots checked", fam, parity[f][0],
			  parity[f][1]);
	}
	/* An online add's word is 0 (a line is known only to bulk loads). */
	for (f = 0; f < 2; f++) {
		unsigned int fam = f ? 6 : 4;
		wc_u128 a = f ? (wc_u128)0x20010db9ULL << 96 : 0x0b000000u;
		__u32 slot, route, aux;
		__u64 v;

		cr_assert_eq(wcard_trie_add(t[f], a, f ? 32 : 8, 42, &slot), 0,
			     "case aux add IPv%u", fam);
		cr_assert_eq(aux_walk(s, fam, a | 1, &route, &v, &aux), 1,
			     "case aux add IPv%u: miss", fam);
		cr_assert(route == slot && v == 42 && aux == 0,
			  "case aux add IPv%u: route %u value %llu aux %#x, expected %u 42 0", fam,
			  route, (unsigned long long)v, aux, slot);
	}
	cr_log_info("lpm: aux words of %u + %u IPv4 and %u + %u IPv6 slots (even + odd) agree\n",
		    parity[0][0], parity[0][1], parity[1][0], parity[1][1]);
	wcard_trie_close(t[0]);
	wcard_trie_close(t[1]);
	wcard_lpm_aux__destroy(s);
	wcard_routes_free(&rt[0]);
	wcard_routes_free(&rt[1]);
}

/* ---- the pinned LPM through the CLI, one process per command --------------------- */

static const char *lpm_bin(void)
{
	return getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
}

/* Run `wcard lpm --pin-dir DIR ARGS`; stdout to out (a path), stderr into err. Exit code. */
static int lpm_cli(const char *dir, const char *args, const char *out, char *err, size_t errlen)
{
	char cmd[8192], epath[] = "/tmp/wcard-lpm-eXXXXXX";
	int efd = mkstemp(epath), st;
	ssize_t n;

	cr_assert_geq(efd, 0, "mkstemp");
	snprintf(cmd, sizeof(cmd), "%s lpm --pin-dir %s %s >%s 2>%s", lpm_bin(), dir, args,
		 out ? out : "/dev/null", epath);
	st = system(cmd);
	n = pread(efd, err, errlen - 1, 0);
	err[n > 0 ? n : 0] = 0;
	close(efd);
	unlink(epath);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void route_text(const struct wcard_route *x, char *buf, size_t len)
{
	__u8 b[16];
	char a[64];
	int i, n = x->family == 6 ? 16 : 4;

	for (i = 0; i < n; i++)
		b[i] = (__u8)(x->addr >> (8 * (n - 1 - i)));
	inet_ntop(x->family == 6 ? AF_INET6 : AF_INET, b, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, x->len);
}

static void write_routes(const char *path, const struct wcard_routes *rt)
{
	FILE *f = fopen(path, "w");
	char t[80];
	size_t i;

	cr_assert_not_null(f, "fopen %s", path);
	for (i = 0; i < rt->n; i++) {
		route_text(&rt->r[i], t, sizeof(t));
		fprintf(f, "%s %llu\n", t, (unsigned long long)rt->r[i].value);
	}
	fclose(f);
}

/* `wcard lpm dump` equals the shadow: its output loads back as a route file. */
static void cli_dump_equals(const char *dir, const char *name, const struct wcard_routes *shadow,
			    const char *what)
{
	char out[] = "/tmp/wcard-lpm-dXXXXXX", args[512], err[1024];
	struct wcard_routes d = {};
	int fd = mkstemp(out);

	cr_assert_geq(fd, 0, "mkstemp");
	close(fd);
	snprintf(args, sizeof(args), "dump %s", name);
	cr_assert_eq(lpm_cli(dir, args, out, err, sizeof(err)), 0, "case %s: dump: %s", what, err);
	if (shadow->n)
		cr_assert_eq(wcard_routes_load(out, &d, err, sizeof(err)), 0,
			     "case %s: the dump does not load back: %s", what, err);
	dump_equals(&d, shadow, what);
	wcard_routes_free(&d);
	unlink(out);
}

Test(lpm, cli_pinned, .timeout = 300)
{
	char dir[256], file[] = "/tmp/wcard-lpm-rXXXXXX", out[] = "/tmp/wcard-lpm-oXXXXXX";
	char args[1024], err[4096], t[80];
	struct wcard_routes all = {}, live = {};
	struct wt_rng r = { .s = 4242 };
	size_t i, op;
	FILE *f;

	lpm_pin_dir(dir, sizeof(dir), "cli");
	cr_assert(mkstemp(file) >= 0 && mkstemp(out) >= 0, "mkstemp");
	random_routes(&r, &all, 200, 40);
	live.r = calloc(all.n + 1, sizeof(*live.r));
	cr_assert_not_null(live.r, "calloc");
	for (i = 0; i < all.n; i += 3)
		live.r[live.n++] = all.r[i];
	write_routes(file, &live);
	shadow_dedupe(&live);
	snprintf(args, sizeof(args), "create n %s", file);
	cr_assert_eq(lpm_cli(dir, args, NULL, err, sizeof(err)), 0, "case create: %s", err);
	cr_assert_neq(lpm_cli(dir, args, NULL, err, sizeof(err)), 0, "case create twice");
	cr_assert_not_null(strstr(err, "already exists"), "case create twice: '%s'", err);
	/* Random adds and deletes, each command a new process reopening the maps. */
	for (op = 0; op < 60; op++) {
		const struct wcard_route *x = &all.r[wt_below(&r, all.n)];
		long present = shadow_find(&live, x);

		route_text(x, t, sizeof(t));
		if (present >= 0 && wt_below(&r, 2)) {
			snprintf(args, sizeof(args), "del n %s", t);
			live.r[present] = live.r[--live.n];
		} else {
			__u64 v = wt_below(&r, 1000000);

			snprintf(args, sizeof(args), "add n %s %llu", t, (unsigned long long)v);
			if (present >= 0) {
				live.r[present].value = v;
			} else {
				live.r[live.n] = *x;
				live.r[live.n++].value = v;
			}
		}
		cr_assert_eq(lpm_cli(dir, args, NULL, err, sizeof(err)), 0, "case op %zu '%s': %s",
			     op, args, err);
	}
	cli_dump_equals(dir, "n", &live, "after adds and deletes");
	/* stats counts the live routes per family. */
	{
		size_t n4 = 0, n6 = 0;
		char want[96], got[256] = "";
		FILE *sf;

		for (i = 0; i < live.n; i++) {
			n4 += live.r[i].family == 4;
			n6 += live.r[i].family == 6;
		}
		cr_assert_eq(lpm_cli(dir, "stats n --json", out, err, sizeof(err)), 0,
			     "case stats: %s", err);
		sf = fopen(out, "r");
		cr_assert_not_null(sf, "case stats: output");
		cr_assert_not_null(fgets(got, sizeof(got), sf), "case stats: a line");
		fclose(sf);
		snprintf(want, sizeof(want), "{\"ipv4_routes\":%zu,\"ipv6_routes\":%zu,", n4, n6);
		cr_assert(!strncmp(got, want, strlen(want)), "case stats: '%s', expected '%s...'", got,
			  want);
	}
	/* get: the longest match of each address, through BPF. */
	snprintf(args, sizeof(args), "get n");
	for (i = 0; i < 40; i++) {
		const struct wcard_route *x = &all.r[wt_below(&r, all.n)];

		route_text(x, t, sizeof(t));
		*strchr(t, '/') = 0;
		snprintf(args + strlen(args), sizeof(args) - strlen(args), " %s", t);
	}
	cr_assert_eq(lpm_cli(dir, args, out, err, sizeof(err)), 0, "case get: %s", err);
	f = fopen(out, "r");
	cr_assert_not_null(f, "fopen");
	for (i = 0; i < 40; i++) {
		char addr[64], pfx[80], val[32], want[80];
		struct wcard_route a;
		long w;

		cr_assert_eq(fscanf(f, "%63s %79s %31s", addr, pfx, val), 3, "case get: line %zu", i);
		snprintf(want, sizeof(want), "%s/%u", addr, strchr(addr, ':') ? 128 : 32);
		cr_assert_eq(wcard_route_parse(want, "test", &a, err, sizeof(err)), 0, "parse");
		w = ref_lpm(&live, a.family, a.addr);
		if (w < 0) {
			cr_assert_str_eq(pfx, "-", "case get %s: matched %s, expected a miss", addr, pfx);
			continue;
		}
		route_text(&live.r[w], t, sizeof(t));
		cr_assert_str_eq(pfx, t, "case get %s: %s, expected %s", addr, pfx, t);
		cr_assert_eq(strtoull(val, NULL, 10), live.r[w].value, "case get %s: value %s", addr,
			     val);
	}
	fclose(f);
	/* load: an atomic replace; a bad line changes nothing and names the line. */
	f = fopen(file, "w");
	cr_assert_not_null(f, "fopen");
	fprintf(f, "10.0.0.0/8 1\n10.1.0.0/16 2\n2001:db8::/32 3\n");
	fclose(f);
	f = fopen(out, "w");
	fprintf(f, "10.0.0.0/8 1\n10.1.0.0/33 2\n");
	fclose(f);
	snprintf(args, sizeof(args), "load n %s", out);
	cr_assert_neq(lpm_cli(dir, args, NULL, err, sizeof(err)), 0, "case bad load");
	cr_assert_not_null(strstr(err, ":2: prefix length 33"), "case bad load: '%s'", err);
	cli_dump_equals(dir, "n", &live, "after a refused load");
	snprintf(args, sizeof(args), "load n %s", file);
	cr_assert_eq(lpm_cli(dir, args, NULL, err, sizeof(err)), 0, "case load: %s", err);
	cr_assert_eq(wcard_routes_load(file, &all, err, sizeof(err)), 0, "reload");
	cli_dump_equals(dir, "n", &all, "after load");
	cr_assert_neq(lpm_cli(dir, "del n 99.0.0.0/8", NULL, err, sizeof(err)), 0, "case del absent");
	cr_assert_not_null(strstr(err, "no such route"), "case del absent: '%s'", err);
	cr_assert_neq(lpm_cli(dir, "add nope 10.0.0.0/8", NULL, err, sizeof(err)), 0, "case no LPM");
	cr_assert_not_null(strstr(err, "no LPM of that name"), "case no LPM: '%s'", err);
	cr_assert_neq(lpm_cli(dir, "add n 10.0.0.0/8 x", NULL, err, sizeof(err)), 0, "case bad value");
	cr_assert_not_null(strstr(err, "argument:1: bad value 'x'"), "case bad value: '%s'", err);
	cr_assert_eq(lpm_cli(dir, "dump n --json", out, err, sizeof(err)), 0, "case json: %s", err);
	f = fopen(out, "r");
	cr_assert(f && fgets(args, sizeof(args), f), "read json");
	fclose(f);
	cr_assert_str_eq(args,
			 "{\"routes\":[{\"prefix\":\"10.0.0.0/8\",\"value\":1},{\"prefix\":"
			 "\"10.1.0.0/16\",\"value\":2},{\"prefix\":\"2001:db8::/32\",\"value\":3}]}\n",
			 "case json: %s", args);
	cr_assert_eq(lpm_cli(dir, "destroy n", NULL, err, sizeof(err)), 0, "case destroy: %s", err);
	cr_assert_neq(lpm_cli(dir, "dump n", NULL, err, sizeof(err)), 0, "case dump destroyed");
	rmdir(dir);
	unlink(file);
	unlink(out);
	free(live.r);
	wcard_routes_free(&all);
}

/* Two CLI writers at once take turns: no add is lost. */
Test(lpm, cli_concurrent_writers, .timeout = 300)
{
	char dir[256], cmd[8192], err[1024];
	struct wcard_routes want = { .r = calloc(80, sizeof(struct wcard_route)) };
	unsigned int w, i;

	cr_assert_not_null(want.r, "calloc");
	lpm_pin_dir(dir, sizeof(dir), "writers");
	cr_assert_eq(lpm_cli(dir, "create w", NULL, err, sizeof(err)), 0, "case create: %s", err);
	/* Each writer adds 40 routes of its own, interleaved with the other's. */
	snprintf(cmd, sizeof(cmd), "for w in 1 2; do (for i in $(seq 0 39); do %s lpm --pin-dir %s "
		 "add w 10.$w.$i.0/24 $((w * 100 + i)) || exit 1; done) & done; wait",
		 lpm_bin(), dir);
	cr_assert_eq(system(cmd), 0, "case writers: %s", cmd);
	for (w = 1; w <= 2; w++)
		for (i = 0; i < 40; i++)
			want.r[want.n++] = (struct wcard_route){ .family = 4,
								 .len = 24,
								 .addr = 0x0a000000u | w << 16 | i << 8,
								 .value = w * 100 + i };
	cli_dump_equals(dir, "w", &want, "two writers");
	cr_assert_eq(lpm_cli(dir, "destroy w", NULL, err, sizeof(err)), 0, "destroy: %s", err);
	rmdir(dir);
	free(want.r);
}

/* Image maps this test's process holds an fd of. */
static unsigned int images(void)
{
	return wt_maps_named("wc_lpm_img", 0, NULL);
}

/*
 * A prepared structure is a handle that owns its first image: two objects'
 * handles live side by side; one closed unopened gives its image back at
 * once (libbpf never closes an inner map template); open before load says
 * so; open twice is a no-op; close frees the rest. Nothing stays behind in
 * the library once the handles and objects are gone.
 */
Test(lpm, handles_own_their_images, .timeout = 120)
{
	struct wcard_routes rt = {}, dump = {};
	struct wcard_lpm4 *a, *b;
	struct wcard_trie *ta = NULL, *tb = NULL;
	unsigned int n0 = images(), i;
	char err[256] = "";
	int ret;

	a = wcard_skel_open(wcard_lpm4);
	b = wcard_skel_open(wcard_lpm4);
	cr_assert(a && b, "case handles: open the objects");
	cr_assert_eq(wcard_trie4_prepare(a->obj, 64, 16, &ta), 0, "case handles: prepare a");
	cr_assert_eq(wcard_trie4_prepare(b->obj, 8, 4, &tb), 0, "case handles: prepare b");
	cr_assert_eq(images(), n0 + 2, "case handles: %u images after two prepares",
		     images() - n0);
	ret = wcard_trie_open(ta, err, sizeof(err));
	cr_assert_eq(ret, -ENOENT, "case handles: open before load gave %d", ret);
	cr_assert(strstr(err, "not loaded"), "case handles: message '%s'", err);
	wcard_trie_close(tb);
	wcard_lpm4__destroy(b);
	cr_assert_eq(images(), n0 + 1, "case handles: %u images after closing b unopened",
		     images() - n0);
	a->rodata->wc_lpm4_trie = true;
	ret = wcard_lpm4__load(a);
	cr_assert_eq(ret, 0, "case handles: load: %s", wt_load_err(ret, err, sizeof(err)));
	cr_assert_eq(wcard_trie_open(ta, err, sizeof(err)), 0, "case handles: open: %s", err);
	cr_assert_eq(wcard_trie_open(ta, err, sizeof(err)), 0, "case handles: open again: %s",
		     err);
	rt.r = calloc(40, sizeof(*rt.r));
	cr_assert_not_null(rt.r, "case handles: calloc");
	for (i = 0; i < 40; i++)
		rt.r[rt.n++] = (struct wcard_route){ .family = 4, .addr = (10u << 24) | (i << 8),
						     .len = 24, .value = i, .line = i + 1 };
	cr_assert_eq(wcard_trie_load(ta, &rt, err, sizeof(err)), 0, "case handles: load: %s",
		     err);
	cr_assert_eq(wcard_trie_dump(ta, &dump), 0, "case handles: dump");
	cr_assert_eq(dump.n, 40, "case handles: %zu routes dumped", dump.n);
	wcard_trie_close(ta);
	wcard_lpm4__destroy(a);
	cr_assert_eq(images(), n0, "case handles: %u images left", images() - n0);
	wcard_routes_free(&rt);
	wcard_routes_free(&dump);
}
