// SPDX-License-Identifier: MIT
/* wcard_bench.bpf.c: trace-driven lookup benchmark programs (one bpf_loop over keys in an array). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <wcard/classify.bpf.h>
#include <wcard/lpm.bpf.h>

/*
 * The trace: keys in random order in a big array, so that each lookup pays real
 * cache misses on the key and on the structure it probes. User space sizes it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wc_key);
} wc_bench_keys SEC(".maps");

/* Exact-match floor: one kernel HASH probe on (src, dst) of the key. */
struct wc_bench_hkey {
	__u64 src;
	__u64 dst;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct wc_bench_hkey);
	__type(value, __u64);
} wc_bench_hash SEC(".maps");

/* The kernel's LPM trie with the same routes, IPv4 and IPv6 (value: route index). */
struct wc_bench_tkey4 {
	__u32 len;
	__u32 addr; /* network order */
};

struct wc_bench_tkey6 {
	__u32 len;
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, struct wc_bench_tkey4);
	__type(value, __u32);
} wc_bench_trie4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, struct wc_bench_tkey6);
	__type(value, __u32);
} wc_bench_trie6 SEC(".maps");

/* Per-key answers of a verification run (rule id), checked by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} wc_bench_out SEC(".maps");

/* docs/design.md section 8's random read: a 64 MiB ARRAY (sized by user space), hashed index. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} wc_bench_array SEC(".maps");

/* Set by user space before each run (bss, so it can change between runs). */
__u32 wc_bench_nkeys;
__u32 wc_bench_record; /* write answers for the first n keys */
__u64 wc_bench_sink; /* keeps the loops from being optimized away */
__u64 wc_bench_hits;
__u32 wc_bench_array_mask; /* wc_bench_array's entries - 1 (a power of two) */
/* The keys' family, 4 or 6: a dual-stack classifier's part (wc_config_part). */
__u32 wc_bench_family;

struct wc_bench_ctx {
	__u64 acc;
	__u64 hits;
	__u64 tables;
};

__u64 wc_bench_tables; /* Tuple Merge tables probed, summed over the run */

/* In a verification run, keep the answer for key i (user space checks it). */
static __always_inline void wc_bench_answer(__u32 i, __u32 answer)
{
	__u32 *o;

	if (i >= wc_bench_record)
		return;
	o = bpf_map_lookup_elem(&wc_bench_out, &i);
	if (o)
		*o = answer;
}

static __always_inline struct wc_key *wc_bench_key(__u32 i)
{
	return bpf_map_lookup_elem(&wc_bench_keys, &i);
}

static __always_inline int wc_bench_floor_cb(__u32 i, struct wc_bench_ctx *c)
{
	struct wc_key *k = wc_bench_key(i);

	if (!k)
		return 1;
	c->acc += k->w[0];
	return 0;
}

static __always_inline int wc_bench_hash_cb(__u32 i, struct wc_bench_ctx *c)
{
	struct wc_key *k = wc_bench_key(i);
	struct wc_bench_hkey hk;
	__u64 *v;

	if (!k)
		return 1;
	hk.src = k->w[0];
	hk.dst = k->w[1];
	v = bpf_map_lookup_elem(&wc_bench_hash, &hk);
	if (v) {
		c->acc += *v;
		c->hits++;
	}
	return 0;
}

static __always_inline int wc_bench_array_cb(__u32 i, struct wc_bench_ctx *c)
{
	struct wc_key *k = wc_bench_key(i);
	__u32 idx;
	__u64 *v;

	if (!k)
		return 1;
	/*
	 * A fresh random index per lookup (traces repeat keys, which would warm
	 * the cache), still after the key read the other loops pay.
	 */
	idx = (__u32)(((i ^ k->w[0]) * 0x9e3779b97f4a7c15ULL) >> 32) & wc_bench_array_mask;
	v = bpf_map_lookup_elem(&wc_bench_array, &idx);
	if (v) {
		c->acc += *v;
		c->hits++;
	}
	return 0;
}

static __always_inline int wc_bench_clf_cb(__u32 i, struct wc_bench_ctx *c)
{
	struct wc_key *k = wc_bench_key(i);
	struct wc_result res;
	struct wc_key key;

	if (!k)
		return 1;
	/* Global subprograms take pointers to stack memory, not to map values of another size. */
	__builtin_memcpy(&key, k, sizeof(key));
	if (wc_classify(&key, wc_config_part(wc_config_get(), wc_bench_family), &res) > 0) {
		c->acc += res.value;
		c->hits++;
	}
	c->tables += res.tables;
	wc_bench_answer(i, res.id);
	return 0;
}

/* Kernel trie lookups: IPv4 address in w[0], IPv6 in w[0] (high) and w[1]. */
static __always_inline int wc_bench_trie4_cb(__u32 i, struct wc_bench_ctx *c)
{
	struct wc_key *k = wc_bench_key(i);
	struct wc_bench_tkey4 tk;
	__u32 *v;

	if (!k)
		return 1;
	tk.len = 32;
	tk.addr = bpf_htonl((__u32)k->w[0]);
	v = bpf_map_lookup_elem(&wc_bench_trie4, &tk);
	if (v) {
		c->acc += *v;
		c->hits++;
	}
	return 0;
}

static __always_inline int wc_bench_trie6_cb(__u32 i, struct wc_bench_ctx *c)
{
	struct wc_key *k = wc_bench_key(i);
	struct wc_bench_tkey6 tk;
	__u64 hi, lo;
	__u32 *v;

	if (!k)
		return 1;
	tk.len = 128;
	hi = bpf_cpu_to_be64(k->w[0]);
	lo = bpf_cpu_to_be64(k->w[1]);
	__builtin_memcpy(tk.addr, &hi, 8);
	__builtin_memcpy(tk.addr + 8, &lo, 8);
	v = bpf_map_lookup_elem(&wc_bench_trie6, &tk);
	if (v) {
		c->acc += *v;
		c->hits++;
	}
	return 0;
}

/* wcard's LPM structures, one body: kind is a constant in each callback below. */
enum { WC_BENCH_DIR24, WC_BENCH_TRIE4, WC_BENCH_LPM6 };

static __always_inline int wc_bench_lpm(__u32 i, struct wc_bench_ctx *c, int kind)
{
	struct wc_key *k = wc_bench_key(i);
	__u32 route = 0;
	__u64 value;
	int hit;

	if (!k)
		return 1;
	if (kind == WC_BENCH_DIR24)
		hit = wc_lpm4_lookup((__u32)k->w[0], &route, &value);
	else if (kind == WC_BENCH_TRIE4)
		hit = wc_trie4_lookup((__u32)k->w[0], &route, &value);
	else
		hit = wc_lpm6_lookup(k->w[0], k->w[1], &route, &value);
	if (hit > 0) {
		c->acc += value;
		c->hits++;
	}
	wc_bench_answer(i, hit > 0 ? route : WC_ID_NONE);
	return 0;
}

static __always_inline int wc_bench_dir24_cb(__u32 i, struct wc_bench_ctx *c)
{
	return wc_bench_lpm(i, c, WC_BENCH_DIR24);
}

static __always_inline int wc_bench_trie4s_cb(__u32 i, struct wc_bench_ctx *c)
{
	return wc_bench_lpm(i, c, WC_BENCH_TRIE4);
}

static __always_inline int wc_bench_lpm6_cb(__u32 i, struct wc_bench_ctx *c)
{
	return wc_bench_lpm(i, c, WC_BENCH_LPM6);
}

/*
 * Keys per bpf_loop callback. The callback's call and return are the
 * harness's, not the lookup's, and a return costs ~6 ns on kernels that make
 * every return a safe one (AMD's SRSO mitigation): a block of keys per call
 * keeps that out of the figures. The floor row shows what the loop still costs.
 */
#define WC_BENCH_BLOCK 16

#define WC_BENCH_PROG(name, cb)                                                                    \
	static int name##_block(__u32 b, struct wc_bench_ctx *c)                                   \
	{                                                                                          \
		__u32 j;                                                                           \
                                                                                                   \
		for (j = 0; j < WC_BENCH_BLOCK; j++) {                                             \
			__u32 i = b * WC_BENCH_BLOCK + j;                                          \
                                                                                                   \
			if (i >= wc_bench_nkeys || cb(i, c))                                       \
				return 1;                                                          \
		}                                                                                  \
		return 0;                                                                          \
	}                                                                                          \
	SEC("xdp") int name(struct xdp_md *ctx)                                                   \
	{                                                                                          \
		struct wc_bench_ctx c = {};                                                        \
                                                                                                   \
		bpf_loop((wc_bench_nkeys + WC_BENCH_BLOCK - 1) / WC_BENCH_BLOCK, name##_block,     \
			 &c, 0);                                                                   \
		wc_bench_sink = c.acc;                                                             \
		wc_bench_hits = c.hits;                                                            \
		wc_bench_tables = c.tables;                                                        \
		return XDP_PASS;                                                                   \
	}

WC_BENCH_PROG(wc_bench_floor, wc_bench_floor_cb)
WC_BENCH_PROG(wc_bench_hash_prog, wc_bench_hash_cb)
WC_BENCH_PROG(wc_bench_array_prog, wc_bench_array_cb)
WC_BENCH_PROG(wc_bench_trie4_prog, wc_bench_trie4_cb)
WC_BENCH_PROG(wc_bench_trie6_prog, wc_bench_trie6_cb)
WC_BENCH_PROG(wc_bench_dir24_prog, wc_bench_dir24_cb)
WC_BENCH_PROG(wc_bench_trie4s_prog, wc_bench_trie4s_cb)
WC_BENCH_PROG(wc_bench_lpm6_prog, wc_bench_lpm6_cb)
/* Whatever algorithm the classifier's live generation uses. */
WC_BENCH_PROG(wc_bench_clf, wc_bench_clf_cb)

char LICENSE[] SEC("license") = "Dual MIT/GPL";
