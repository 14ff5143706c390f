/* lpm.bpf.h: LPM over ARRAY maps (IPv4 DIR-24-8 or trie, IPv6 trie); BPF programs include it. */
#ifndef WCARD_LPM_BPF_H
#define WCARD_LPM_BPF_H

#include <wcard/compat.bpf.h>
#include <wcard/wcard_common.h>
#include <wcard/scratch.bpf.h>

/*
 * Each structure lives in ONE mmapable ARRAY of u64 (the "image"), reached
 * through a slot of an ARRAY_OF_MAPS. A bulk load builds a new image off to
 * the side and swaps the slot: a lookup reads the slot once, so it sees the
 * old route set or the new one, never a mix (docs/design.md section 6), and the old
 * image is freed by the kernel after an RCU grace period. Both lookups, of
 * the slot and of the image, are ARRAY reads the verifier inlines (the inner
 * maps share one fixed size, so no BPF_F_INNER_MAP). The slot maps have a
 * slot per classifier generation (wc_config.lpm_slot); the standalone LPM
 * (wcard lpm) uses slot 0.
 *
 * Image layout, one u64 entry per element:
 *   [0, WC_*_TOP)                    the top table (tbl24, or the trie root)
 *   [WC_*_TOP, ...)                  blocks of 256 entries (tbl8 groups, nodes)
 * then from element wc_lpm_val_base[kind] on the value of each route, then
 * each route's prefix (user space only), then from wc_lpm_aux_base[kind] on a
 * 32-bit word per route, two per element: its line (the classifier's rule id).
 * An entry's low half is 0 (no route), a route (index + 1), or WC_LPM_GROUP |
 * block. With WC_LPM_INLINE its high half is the route's value (whenever that
 * fits 32 bits): the lookup then reads one element, where reading the value
 * slot too cost a second cache miss, ~30 ns of ~70 on the full IPv4 table.
 * User space (libwcard dir24.c) sizes the image before load, which also fixes
 * wc_lpm_val_base, and builds it.
 */
/* WC_LPM_GROUP, WC_LPM_INLINE, WC_LPM_KEY and the structure kinds: wcard_common.h. */

/* First value element of each structure's image (set at load from the sizes). */
WC_WEAK const volatile __u32 wc_lpm_val_base[WC_LPM_KINDS] = { 1u << 24, 1u << 16, 1u << 16 };
WC_WEAK const volatile __u32 wc_lpm_aux_base[WC_LPM_KINDS] = { 1u << 24, 1u << 16, 1u << 16 };

/* Image template: its max_entries is set before load, the same for every image. */
struct wc_lpm_image {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
};

#define WC_LPM_SLOT_MAP(name)                                                                      \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);                                          \
		__uint(max_entries, WC_GENS);                                                      \
		__type(key, __u32);                                                                \
		__array(values, struct wc_lpm_image);                                              \
	} name SEC(".maps") WC_WEAK

WC_LPM_SLOT_MAP(wc_lpm4_image); /* IPv4 DIR-24-8 */
WC_LPM_SLOT_MAP(wc_trie4_image); /* IPv4 small trie */
WC_LPM_SLOT_MAP(wc_lpm6_image); /* IPv6 trie */

/* The live image in slot idx of a structure's slot map, or NULL (none loaded, or idx too big). */
static __always_inline void *wc_lpm_image_get(void *slot, __u32 idx)
{
	return bpf_map_lookup_elem(slot, &idx);
}

/* Entry i of an image. */
static __always_inline int wc_lpm_entry(void *img, __u32 i, __u64 *out)
{
	__u64 *e = bpf_map_lookup_elem(img, &i);

	if (!e)
		return -1;
	*out = *e;
	return 0;
}

/*
 * 32-bit word i of an image (the aux words, two per element). User space
 * writes them as an array of u32 (dir24.c), so word i is the u32 at byte
 * 4 * i: read at that offset in its element, not as a half of the u64, which
 * is the same word only on little-endian hosts.
 */
static __always_inline int wc_lpm_word(void *img, __u32 i, __u32 *out)
{
	__u32 el = i >> 1;
	__u32 *w = bpf_map_lookup_elem(img, &el);

	if (!w)
		return -1;
	*out = (i & 1) ? w[1] : w[0];
	return 0;
}

/* Is entry e a block pointer, and which block. */
static __always_inline bool wc_lpm_is_group(__u64 e)
{
	return (__u32)e & WC_LPM_GROUP;
}

static __always_inline __u32 wc_lpm_block(__u64 e)
{
	return (__u32)e & ~WC_LPM_GROUP;
}

/* The route an entry names (low half: index + 1; 0: none) and its value. 1 or 0. */
static __always_inline int wc_lpm_result(void *img, int kind, __u64 ent, __u32 *route,
					 __u64 *value)
{
	__u32 key = WC_LPM_KEY(ent), el;
	__u64 *val;

	if (!key)
		return 0;
	*route = key - 1;
	if ((__u32)ent & WC_LPM_INLINE) {
		*value = ent >> 32;
		return 1;
	}
	el = wc_lpm_val_base[kind] + key - 1;
	val = bpf_map_lookup_elem(img, &el);
	if (!val)
		return 0;
	*value = *val;
	return 1;
}

#define WC_UNPAREN(...) __VA_ARGS__
/*
 * An LPM lookup's global function from its body name##_body(args, route,
 * value). Default build: name(params, route, value). Compat build (no pointer
 * arguments to global functions before 5.12, see WC_PARAMS in compat.bpf.h):
 * name##_g(params) leaves route and value in the scratch entry, and name is
 * an inline wrapper that copies them out. params and args are in parentheses.
 * The pointer checks are the verifier's: to it, a global function's pointer
 * arguments may be NULL.
 */
#ifndef WCARD_COMPAT
#define WC_LPM_DEFINE(name, params, args)                                                          \
	WC_GLOBAL_FN(int, name, WC_UNPAREN params, __u32 *route, __u64 *value)                     \
	{                                                                                          \
		if (!route || !value)                                                              \
			return -22;                                                                \
		return name##_body(WC_UNPAREN args, route, value);                                 \
	}
#else
#define WC_LPM_DEFINE(name, params, args)                                                          \
	WC_GLOBAL_FN(int, name##_g, WC_UNPAREN params)                                             \
	{                                                                                          \
		struct wc_scratch *s = wc_scratch_get();                                           \
                                                                                                   \
		return s ? name##_body(WC_UNPAREN args, &s->lpm_route, &s->lpm_value) : -22;       \
	}                                                                                          \
	static __always_inline int name(WC_UNPAREN params, __u32 *route, __u64 *value)             \
	{                                                                                          \
		struct wc_scratch *s;                                                              \
		int ret = name##_g(WC_UNPAREN args);                                               \
                                                                                                   \
		s = wc_scratch_get();                                                              \
		if (!s || !route || !value)                                                        \
			return -22;                                                                \
		*route = s->lpm_route;                                                             \
		*value = s->lpm_value;                                                             \
		return ret;                                                                        \
	}
#endif

/*
 * IPv4, DIR-24-8 (Gupta et al.): the top 24 bits of the address index tbl24
 * (2^24 entries of 8 bytes, a fixed 128 MiB); a group holds the last 8 bits
 * of prefixes longer than /24. One or two inlined ARRAY reads (~33 ns each when
 * they miss the cache), the value inline, where the kernel trie walks a pointer
 * per level.
 */
#define WC_LPM4_TOP (1u << 24)

/*
 * Longest prefix covering addr (host order). Returns 1 and sets *route and
 * *value, or 0 on a miss. Global: verified once.
 */
static __always_inline int wc_lpm4_lookup_body(__u32 addr, __u32 *route, __u64 *value)
{
	void *img;
	__u64 v;

	img = wc_lpm_image_get(&wc_lpm4_image, 0);
	if (!img || wc_lpm_entry(img, addr >> 8, &v))
		return 0;
	if (wc_lpm_is_group(v) &&
	    wc_lpm_entry(img, WC_LPM4_TOP + ((wc_lpm_block(v) << 8) | (addr & 0xff)), &v))
		return 0;
	return wc_lpm_result(img, WC_LPM_DIR24, v, route, value);
}
WC_LPM_DEFINE(wc_lpm4_lookup, (__u32 addr), (addr))

/*
 * IPv6: a multibit trie. The root takes the first 16 bits (65,536 entries,
 * 512 KiB, hot in cache); every node below takes 8 more bits (256 entries).
 * Routes are pushed down to the leaves at build time, so the walk ends at the
 * first entry that is not a node: at most 15 reads for a /128, 5 for a /48.
 */
#define WC_LPM6_ROOT (1u << 16)
#define WC_LPM6_LEVELS 15 /* root + (128 - 16) / 8 */

/* Byte i (0 = most significant) of the address hi:lo. */
static __always_inline __u32 wc_lpm6_byte(__u64 hi, __u64 lo, int i)
{
	return i < 8 ? (hi >> (56 - 8 * i)) & 0xff : (lo >> (56 - 8 * (i - 8))) & 0xff;
}

/*
 * The trie walk shared by IPv6 and the small IPv4 trie: the root entry for the
 * first 16 bits, then one node per further byte of hi:lo, for at most levels
 * reads in all. Inlined into each family's global function, because maps cannot
 * be passed to a global function. The image is the one in slot idx of the slot
 * map. With aux, also the route's 32-bit aux word.
 */
static __always_inline int wc_trie_walk(void *slot, __u32 idx, int kind, __u64 hi, __u64 lo,
					int levels, __u32 *route, __u64 *value, __u32 *aux)
{
	void *img = wc_lpm_image_get(slot, idx);
	__u64 v;
	int i;

	if (!img || wc_lpm_entry(img, (__u32)(hi >> 48), &v))
		return 0;
	for (i = 2; i < 2 + levels - 1; i++) {
		if (!wc_lpm_is_group(v))
			break;
		__u32 e = (wc_lpm_block(v) << 8) | wc_lpm6_byte(hi, lo, i);

		if (wc_lpm_entry(img, WC_LPM6_ROOT + e, &v))
			return 0;
	}
	if (wc_lpm_is_group(v))
		return 0;
	if (aux && WC_LPM_KEY(v) &&
	    wc_lpm_word(img, 2 * wc_lpm_aux_base[kind] + WC_LPM_KEY(v) - 1, aux))
		return 0;
	return wc_lpm_result(img, kind, v, route, value);
}

/*
 * Longest prefix covering hi:lo (host order halves). Returns 1 and sets
 * *route and *value, or 0 on a miss. Global: verified once; the walk is a
 * bounded loop of at most WC_LPM6_LEVELS steps.
 */
static __always_inline int wc_lpm6_lookup_body(__u64 hi, __u64 lo, __u32 *route, __u64 *value)
{
	return wc_trie_walk(&wc_lpm6_image, 0, WC_LPM_TRIE6, hi, lo, WC_LPM6_LEVELS, route,
			    value, NULL);
}
WC_LPM_DEFINE(wc_lpm6_lookup, (__u64 hi, __u64 lo), (hi, lo))

/*
 * IPv4, small-memory mode: the IPv6 trie's shape over 32 bits (16-bit root,
 * then at most two 8-bit nodes: 3 reads for a /32). Memory grows with the
 * routes (512 KiB root + 2 KiB per node) where tbl24 is a fixed 128 MiB; the
 * extra reads cost more per lookup (see make bench). User space picks it
 * (wcard_lpm_opts, `wcard lpm --v4 trie`) and sizes DIR-24-8 down to nothing.
 */
#define WC_TRIE4_LEVELS 3 /* root + (32 - 16) / 8 */

/* Longest prefix covering addr (host order) in the small IPv4 trie; as wc_lpm4_lookup. */
static __always_inline int wc_trie4_lookup_body(__u32 addr, __u32 *route, __u64 *value)
{
	return wc_trie_walk(&wc_trie4_image, 0, WC_LPM_TRIE4, (__u64)addr << 32, 0,
			    WC_TRIE4_LEVELS, route, value, NULL);
}
WC_LPM_DEFINE(wc_trie4_lookup, (__u32 addr), (addr))

#endif /* WCARD_LPM_BPF_H */
