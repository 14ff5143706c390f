/* wctest.h: helpers shared by the Criterion suites (random rules, keys, data paths); tests only. */
#ifndef WCTEST_H
#define WCTEST_H

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <wcard/wcard.h>
#include "testkit/testkit.h"

struct wt_rng {
	__u64 s;
};

/* A failed skeleton load as a message: the error, its likely cause, the kernel and the build. */
static inline const char *wt_load_err(int ret, char *buf, size_t len)
{
	char hint[256];

	snprintf(buf, len, "%s%s", strerror(ret < 0 ? -ret : ret),
		 wcard_load_hint(ret, hint, sizeof(hint)));
	return buf;
}

/* The running kernel as major * 1000 + minor (5.10 is 5010), 0 if unknown. */
static inline int wt_kernel(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return 0;
	return major * 1000 + minor;
}

/*
 * How many maps named name (of type type; 0: any) this process holds an fd
 * of; *fd (if not NULL) gets the last one found, or -1. Each test runs in its
 * own process, so they belong to the test.
 */
static inline unsigned int wt_maps_named(const char *name, __u32 type, int *fd)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;
	struct dirent *e;

	if (fd)
		*fd = -1;
	while (d && (e = readdir(d))) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		int f = atoi(e->d_name);

		if (e->d_name[0] == '.' || f == dirfd(d) ||
		    bpf_obj_get_info_by_fd(f, &info, &len) || strcmp(info.name, name) ||
		    (type && info.type != type))
			continue;
		n++;
		if (fd)
			*fd = f;
	}
	if (d)
		closedir(d);
	return n;
}

/*
 * Path of a BPF object of this build ($WCARD_BUILD/REL), in the build libwcard
 * loads on this kernel: the compat one lives under compat/ (wcard_bpf_build()).
 */
static inline const char *wt_bpf_obj(const char *rel, char *buf, size_t len)
{
	const char *b = getenv("WCARD_BUILD") ? getenv("WCARD_BUILD") : "build";

	snprintf(buf, len, "%s/%s%s", b, wcard_bpf_build() == WCARD_BPF_COMPAT ? "compat/" : "",
		 rel);
	return buf;
}

static inline __u64 wt_rnd(struct wt_rng *r)
{
	__u64 z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline unsigned int wt_below(struct wt_rng *r, unsigned int n)
{
	return n ? (unsigned int)(wt_rnd(r) % n) : 0;
}

static inline wc_u128 wt_ones(unsigned int width)
{
	return width >= 16 ? ~(wc_u128)0 : (((wc_u128)1 << (width * 8)) - 1);
}

/* Path of a file in ../shared/data (WCARD_DATA), or NULL when the data is absent. */
static inline const char *wt_data(const char *rel, char *buf, size_t len)
{
	const char *base = getenv("WCARD_DATA");
	struct stat st;

	snprintf(buf, len, "%s/%s", base ? base : "../shared/data", rel);
	return stat(buf, &st) ? NULL : buf;
}

/*
 * A value from a small pool per field, so rules collide and nest: the pool holds
 * boundary values (0, all ones) and a few random ones.
 */
static inline wc_u128 wt_pool_value(struct wt_rng *r, unsigned int width, unsigned int pool)
{
	struct wt_rng p = { .s = 1000 + wt_below(r, pool) * 7919 + width };
	wc_u128 v = ((wc_u128)wt_rnd(&p) << 64) | wt_rnd(&p);

	switch (wt_below(r, 8)) {
	case 0:
		return 0;
	case 1:
		return wt_ones(width);
	default:
		return v & wt_ones(width);
	}
}

/*
 * Random adversarial rule for layout l: prefixes of every length (/0 and full
 * included), exact/adjacent/overlapping ranges, wildcards, ternary masks.
 * Priorities come from a small range so that ties happen.
 */
static inline void wt_rule_random(struct wt_rng *r, const struct wcard_layout *l, unsigned int pool,
				  unsigned int nprio, struct wcard_rule *out)
{
	unsigned int f;

	wcard_rule_any(l, out);
	for (f = 0; f < l->nfields; f++) {
		unsigned int w = l->fields[f].width, bits = w * 8, c = wt_below(r, 10);
		wc_u128 v = wt_pool_value(r, w, pool);
		__u64 max = (__u64)wt_ones(w > 8 ? 8 : w), lo, hi;

		if (c == 0)
			continue; /* wildcard */
		switch (l->fields[f].type) {
		case WC_FIELD_PREFIX: {
			unsigned int plen = c == 1 ? bits : wt_below(r, bits + 1);

			wcard_rule_set_prefix(l, out, f, v, plen);
			break;
		}
		case WC_FIELD_RANGE:
			lo = (__u64)v & max;
			if (c < 4) {
				hi = lo; /* exact */
			} else if (c < 6) {
				/* adjacent blocks of 1024: [k*1024, k*1024+1023] */
				lo = (lo & ~1023ULL) & max;
				hi = lo + (max < 1023 ? max : 1023);
				if (hi < lo || hi > max)
					hi = max;
			} else {
				hi = lo + (wt_rnd(r) & (max >> wt_below(r, bits > 64 ? 64 : bits)));
				if (hi < lo || hi > max)
					hi = max;
			}
			wcard_rule_set_range(l, out, f, lo, hi);
			break;
		case WC_FIELD_EXACT:
			wcard_rule_set_exact(l, out, f, v);
			break;
		case WC_FIELD_MASK: {
			wc_u128 m = c < 5 ? wt_ones(w) : (((wc_u128)wt_rnd(r) << 64) | wt_rnd(r));

			wcard_rule_set_mask(l, out, f, v, m & wt_ones(w));
			break;
		}
		}
	}
	out->prio = wt_below(r, nprio);
	out->value = wt_rnd(r);
}

/*
 * A random rule of an inet set: IPv4 (2 in 5), IPv6 (2 in 5), or of both
 * families (1 in 5; no address, as the layout requires).
 */
static inline void wt_rule_random_inet(struct wt_rng *r, unsigned int pool, unsigned int nprio,
				       struct wcard_rule *out)
{
	unsigned int c = wt_below(r, 5), fam = c < 2 ? 4 : c < 4 ? 6 : 0;

	wt_rule_random(r, wcard_layout_family(wcard_layout_inet(), fam), pool, nprio, out);
	out->family = (__u8)fam;
	if (!fam)
		memset(&out->f[WC_F_SRC], 0, 2 * sizeof(out->f[0]));
}

/*
 * The family of a key to meet rule t of a rule set of layout l: the layout's,
 * or in inet the rule's (either, at random, for a rule of both).
 */
static inline unsigned int wt_key_family(struct wt_rng *r, const struct wcard_layout *l,
					 const struct wcard_rule *t)
{
	if (l->id == WC_LAYOUT_IPV6_5T)
		return 6;
	if (l->id != WC_LAYOUT_INET)
		return 4;
	return t->family ? t->family : 4 + 2 * wt_below(r, 2);
}

/*
 * A key that lands on or next to the edges of rule t (first/last address of
 * a prefix, lo/hi of a range and one past), or a pool value.
 */
static inline void wt_key_near(struct wt_rng *r, const struct wcard_layout *l,
			       const struct wcard_rule *t, unsigned int pool, struct wc_key *k)
{
	/* Half the keys stay inside t on every field (t matches), half stray at edges. */
	unsigned int f, stray = wt_below(r, 2);

	memset(k, 0, sizeof(*k));
	for (f = 0; f < l->nfields; f++) {
		unsigned int out = stray && wt_below(r, 3) == 0;
		const struct wcard_match *m = &t->f[f];
		const struct wc_field_desc *d = &l->desc[f];
		unsigned int w = l->fields[f].width;
		wc_u128 ones = wt_ones(w), v, rnd = ((wc_u128)wt_rnd(r) << 64) | wt_rnd(r);

		if (l->fields[f].type == WC_FIELD_RANGE) {
			__u64 cand[5] = { m->lo, m->hi, m->lo + (m->hi - m->lo) / 2, m->lo - 1,
					  m->hi + 1 };

			v = cand[out ? 3 + wt_below(r, 2) : wt_below(r, 3)] & (__u64)ones;
		} else {
			switch (out ? 3 + wt_below(r, 2) : wt_below(r, 3)) {
			case 0: /* first address in the prefix/mask */
				v = m->value;
				break;
			case 1: /* last */
				v = m->value | (~m->mask & ones);
				break;
			case 2:
				v = m->value | (rnd & ~m->mask);
				break;
			case 3: /* one past the last */
				v = (m->value | (~m->mask & ones)) + 1;
				break;
			default:
				v = wt_pool_value(r, w, pool);
			}
			v &= ones;
		}
		if (d->nwords == 2) {
			k->w[d->word] = (__u64)(v >> 64);
			k->w[d->word + 1] = (__u64)v;
		} else {
			k->w[d->word] = (__u64)v;
		}
	}
}

/* The parser's view of key k in a built-in layout: what a frame can carry. */
static inline void wt_pkt_from_key(const struct wcard_layout *l, struct wc_key *k,
				   struct wc_pkt *p)
{
	unsigned int i, v6 = l->id == WC_LAYOUT_IPV6_5T, w = v6 ? 4 : 2;
	__u8 proto = k->w[w + 2];

	/* In IPv6 these numbers are extension headers, never the final protocol. */
	if (v6 && (proto == 0 || proto == 43 || proto == 44 || proto == 51 || proto == 60))
		k->w[w + 2] = proto = 59;

	/* Only TCP, UDP and SCTP carry ports, only TCP flags; fix the key to match. */
	if (proto != 6 && proto != 17 && proto != 132)
		k->w[w] = k->w[w + 1] = 0;
	if (proto != 6)
		k->w[w + 3] = 0;
	memset(p, 0, sizeof(*p));
	p->family = v6 ? 6 : 4;
	p->sport = k->w[w];
	p->dport = k->w[w + 1];
	p->proto = proto;
	p->tcp_flags = k->w[w + 3];
	/* IPv4 AH is walked to what it protects, except in a later fragment. */
	if (!v6 && proto == 51)
		p->frag = WC_FRAG_LATER;
	for (i = 0; i < (v6 ? 16u : 4u); i++) {
		unsigned int word = v6 ? i / 8 : 0, sh = v6 ? (7 - i % 8) * 8 : (3 - i) * 8;

		p->src[i] = k->w[word] >> sh;
		p->dst[i] = k->w[word + (v6 ? 2 : 1)] >> sh;
	}
}

/*
 * For tests that make directories under /sys/fs/bpf themselves: bpffs is
 * mounted there the way the library's pin functions do it when nothing is (a
 * fresh host). Prints why not and exits the test process on failure.
 */
static inline void wt_bpffs(void)
{
	char err[512] = "";

	if (wcard_bpffs_prepare(WCARD_BPFFS, err, sizeof(err))) {
		fprintf(stderr, "wctest: %s\n", err);
		exit(1);
	}
}

/*
 * A bpffs path for this test process to pin under (tag names the test):
 * parallel-safe. bpffs is mounted (wt_bpffs) if nothing is.
 */
static inline void wt_pin_dir(char *buf, size_t len, const char *tag)
{
	struct wt_rng r = { .s = (__u64)getpid() * 7919 + (__u64)time(NULL) };

	wt_bpffs();
	snprintf(buf, len, WCARD_BPFFS "/wcard-test-%s-%d-%08x", tag, getpid(),
		 (unsigned int)wt_rnd(&r));
}

/* The id of the map pinned at path, or 0 if none. */
static inline __u32 wt_pinned_map_id(const char *path)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

/* The id of the map in slot 0 of the map-in-map pinned at path, or 0. */
static inline __u32 wt_slot_map_id(const char *path)
{
	__u32 zero = 0, id = 0;
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return 0;
	if (bpf_map_lookup_elem(fd, &zero, &id))
		id = 0;
	close(fd);
	return id;
}

/* Write text to dir/name; 0 or -1. */
static inline int wt_put(const char *dir, const char *name, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) ? -1 : 0;
}

/*
 * Run a shell command with its stdout and stderr in out (NUL-terminated,
 * truncated to len); the exit code, or -1 if it did not exit.
 */
static inline int wt_sh(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int wt_sh(char *out, size_t len, const char *fmt, ...)
{
	char cmd[8192], full[8220];
	size_t n = 0;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	/* The whole command list's stderr, not only its last command's. */
	snprintf(full, sizeof(full), "{ %s\n} 2>&1", cmd);
	p = popen(full, "r");
	if (!p)
		return -1;
	for (;;) {
		char sink[1024];
		size_t r = n + 1 < len ? fread(out + n, 1, len - 1 - n, p) :
					 fread(sink, 1, sizeof(sink), p);

		if (!r)
			break;
		if (n + 1 < len)
			n += r;
	}
	out[n] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * A generated ClassBench set of n rules (seed) with a trace of npackets, parsed
 * into rs and tr. rpath (a mkstemp template, or NULL) keeps the rule file there;
 * otherwise it is removed. 0, or -1 with the reason in err.
 */
static inline int wt_gen_set(unsigned int n, __u64 seed, unsigned int npackets, char *rpath,
			     struct wcard_ruleset *rs, struct wcard_trace *tr, char *err,
			     size_t errlen)
{
	char rp[] = "/tmp/wcard-test-rXXXXXX", tp[] = "/tmp/wcard-test-tXXXXXX";
	struct tk_gen_opts go = { .nrules = n, .npackets = npackets, .seed = seed };
	char *r = rpath ? rpath : rp;
	int rfd = mkstemp(r), tfd = mkstemp(tp), ret = -1;
	FILE *rf = rfd >= 0 ? fdopen(rfd, "w") : NULL, *tf = tfd >= 0 ? fdopen(tfd, "w") : NULL;

	wcard_ruleset_init(rs, wcard_layout_ipv4());
	snprintf(err, errlen, "temp files or generator failed");
	if (rf && tf && !tk_gen_classbench(&go, rf, tf)) {
		fclose(rf);
		fclose(tf);
		rf = tf = NULL;
		ret = wcard_rules_load(r, WCARD_FMT_CLASSBENCH, NULL, rs, err, errlen) ||
		      wcard_trace_load(tp, tr, err, errlen) ? -1 : 0;
	}
	if (rf)
		fclose(rf);
	if (tf)
		fclose(tf);
	if (!rpath && rfd >= 0)
		unlink(r);
	if (tfd >= 0)
		unlink(tp);
	return ret;
}

/* Packets the rule with this id counted, from `wcard rules list --json`; -1 if absent. */
static inline long long wt_json_packets(const char *json, unsigned int id)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), "{\"id\":%u,", id);
	p = strstr(json, key);
	p = p ? strstr(p, "\"packets\":") : NULL;
	return p ? atoll(p + 10) : -1;
}

#endif /* WCTEST_H */
