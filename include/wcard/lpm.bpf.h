/* lpm.bpf.h: LPM over ARRAY maps (IPv4 DIR-24-8 or trie, IPv6 trie): maps, lookups; BPF only. */
#ifndef WCARD_LPM_BPF_H
#define WCARD_LPM_BPF_H

#include <wcard/compat.bpf.h>
#include <wcard/wcard_common.h>

/*
 * DIR-24-8 (Gupta et al.): the top 24 bits of the address index tbl24; an
 * entry is 0 (no route), a route (index + 1), or, with WC_LPM_GROUP set, a
 * 256-entry group in tbl8 indexed by the last 8 bits. A lookup is one or two
 * inlined ARRAY reads (~33 ns each when they miss the cache) where the kernel
 * trie walks a pointer per level. tbl24 is a fixed 64 MiB; groups are 1 KiB
 * each, sized at load time. User space builds it (libwcard dir24.c).
 *
 * ARRAY elements take 8 bytes at least, so each u64 element holds two 32-bit
 * entries: entry i is the low half of element i / 2 when i is even.
 */
#define WC_LPM_GROUP (1U << 31)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1 << 23);
	__type(key, __u32);
	__type(value, __u64);
} wc_lpm4_tbl24 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 128 * 1024);
	__type(key, __u32);
	__type(value, __u64);
} wc_lpm4_tbl8 SEC(".maps");

/* The route an entry names (index + 1; 0: none) and its value. 1 or 0. */
static __always_inline int wc_lpm_result(void *vals, __u32 ent, __u32 *route, __u64 *value)
{
	__u32 idx = ent - 1;
	__u64 *val;

	if (!ent)
		return 0;
	val = bpf_map_lookup_elem(vals, &idx);
	if (!val)
		return 0;
	*route = idx;
	*value = *val;
	return 1;
}

/* Entry i of a packed table. */
static __always_inline int wc_lpm_entry(void *map, __u32 i, __u32 *out)
{
	__u32 half = i >> 1;
	__u64 *e = bpf_map_lookup_elem(map, &half);

	if (!e)
		return -1;
	*out = (i & 1) ? (__u32)(*e >> 32) : (__u32)*e;
	return 0;
}

/* Value of each route, by route index. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1 << 20);
	__type(key, __u32);
	__type(value, __u64);
} wc_lpm4_val SEC(".maps");

/*
 * Longest prefix covering addr (host order). Returns 1 and sets *route and
 * *value, or 0 on a miss. Global: verified once.
 */
__noinline int wc_lpm4_lookup(__u32 addr, __u32 *route, __u64 *value)
{
	__u32 v;

	if (!route || !value)
		return -22;
	if (wc_lpm_entry(&wc_lpm4_tbl24, addr >> 8, &v))
		return 0;
	if ((v & WC_LPM_GROUP) &&
	    wc_lpm_entry(&wc_lpm4_tbl8, ((v & ~WC_LPM_GROUP) << 8) | (addr & 0xff), &v))
		return 0;
	return wc_lpm_result(&wc_lpm4_val, v, route, value);
}

/*
 * IPv6: a multibit trie in ARRAYs. The root takes the first 16 bits (65,536
 * entries, 256 KiB, hot in cache); every node below takes 8 more bits (256
 * entries). An entry is 0, a route (index + 1), or WC_LPM_GROUP | node. Routes
 * are pushed down to the leaves at build time, so the walk ends at the first
 * entry that is not a node: at most 15 reads for a /128, 5 for a /48.
 */
#define WC_LPM6_ROOT (1u << 16)
#define WC_LPM6_LEVELS 15 /* root + (128 - 16) / 8 */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, WC_LPM6_ROOT / 2);
	__type(key, __u32);
	__type(value, __u64);
} wc_lpm6_root SEC(".maps");

/* Nodes of 256 entries (128 elements each); sized at load time. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 128 * 1024);
	__type(key, __u32);
	__type(value, __u64);
} wc_lpm6_nodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1 << 20);
	__type(key, __u32);
	__type(value, __u64);
} wc_lpm6_val SEC(".maps");

/* Byte i (0 = most significant) of the address hi:lo. */
static __always_inline __u32 wc_lpm6_byte(__u64 hi, __u64 lo, int i)
{
	return i < 8 ? (hi >> (56 - 8 * i)) & 0xff : (lo >> (56 - 8 * (i - 8))) & 0xff;
}

/*
 * The trie walk shared by IPv6 and the small IPv4 trie: the root entry for the
 * first 16 bits, then one node per further byte of hi:lo, for at most levels
 * reads in all. Inlined into each family's global function, because maps cannot
 * be passed to a global function.
 */
static __always_inline int wc_trie_walk(void *root, void *nodes, void *vals, __u64 hi, __u64 lo,
					int levels, __u32 *route, __u64 *value)
{
	__u32 v;
	int i;

	if (wc_lpm_entry(root, (__u32)(hi >> 48), &v))
		return 0;
	for (i = 2; i < 2 + levels - 1; i++) {
		if (!(v & WC_LPM_GROUP))
			break;
		if (wc_lpm_entry(nodes, ((v & ~WC_LPM_GROUP) << 8) | wc_lpm6_byte(hi, lo, i), &v))
			return 0;
	}
	if (v & WC_LPM_GROUP)
		return 0;
	return wc_lpm_result(vals, v, route, value);
}

/*
 * Longest prefix covering hi:lo (host order halves). Returns 1 and sets
 * *route and *value, or 0 on a miss. Global: verified once; the walk is a
 * bounded loop of at most WC_LPM6_LEVELS steps.
 */
__noinline int wc_lpm6_lookup(__u64 hi, __u64 lo, __u32 *route, __u64 *value)
{
	if (!route || !value)
		return -22;
	return wc_trie_walk(&wc_lpm6_root, &wc_lpm6_nodes, &wc_lpm6_val, hi, lo, WC_LPM6_LEVELS,
			    route, value);
}

/*
 * IPv4, small-memory mode: the IPv6 trie's shape over 32 bits (16-bit root,
 * then at most two 8-bit nodes: 3 reads for a /32). Memory grows with the
 * routes (256 KiB root + 1 KiB per node) where tbl24 is a fixed 64 MiB; the
 * extra reads cost more per lookup (see make bench). User space picks it
 * (wcard_lpm_opts, `wcard lpm --v4 trie`) and sizes tbl24 down to nothing.
 */
#define WC_TRIE4_LEVELS 3 /* root + (32 - 16) / 8 */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, WC_LPM6_ROOT / 2);
	__type(key, __u32);
	__type(value, __u64);
} wc_trie4_root SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u64);
} wc_trie4_nodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} wc_trie4_val SEC(".maps");

/* Longest prefix covering addr (host order) in the small IPv4 trie; as wc_lpm4_lookup. */
__noinline int wc_trie4_lookup(__u32 addr, __u32 *route, __u64 *value)
{
	if (!route || !value)
		return -22;
	return wc_trie_walk(&wc_trie4_root, &wc_trie4_nodes, &wc_trie4_val, (__u64)addr << 32, 0,
			    WC_TRIE4_LEVELS, route, value);
}

#endif /* WCARD_LPM_BPF_H */
