/* lpm.h: longest-prefix match: the LPM object, DIR-24-8 and tries (libwcard); user space only. */
#ifndef WCARD_LPM_H
#define WCARD_LPM_H

#include <wcard/rules.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Longest-prefix match in BPF over a route list (user/lpm/). Duplicate
 * prefixes: the last one wins. wcard_lpm_lookup runs one address through BPF
 * (BPF_PROG_TEST_RUN); *route is the index in the list, or -1 on a miss.
 * family 4 takes the address in the low 32 bits of addr.
 */
struct wcard_lpm;
/* The one-field layout ("lpm4" or "lpm6") and rule set of one family's routes,
 * for driving one's own BPF object; (*route_of)[rule id] = index in rt. */
WCARD_API int wcard_lpm_layout(unsigned int family, struct wcard_layout *l);
WCARD_API int wcard_lpm_ruleset(const struct wcard_routes *rt, unsigned int family,
				const struct wcard_layout *l, struct wcard_ruleset *rs,
				__u32 **route_of);
/* IPv4 structure: DIR-24-8 (fastest, a fixed 128 MiB) or the small trie (memory per route). */
enum wcard_lpm4_algo { WCARD_LPM4_DIR24 = 0, WCARD_LPM4_TRIE = 1 };
struct wcard_lpm_opts {
	enum wcard_lpm4_algo v4;
	__u32 max_routes; /* per family; 0: the routes given plus a quarter, at least 1024 more */
	__u32 max_blocks; /* tbl8 groups / trie nodes (2 KiB each) a family; 0: as needed + spare */
};
/*
 * Create an LPM holding rt (may be NULL: empty); opts NULL: the defaults
 * (DIR-24-8). The maps are sized once, here: later loads and adds beyond
 * max_routes or max_blocks fail with -E2BIG / -ENOSPC and change nothing.
 */
WCARD_API int wcard_lpm_create(const struct wcard_routes *rt, const struct wcard_lpm_opts *opts,
			       struct wcard_lpm **out, char *err, size_t errlen);
/*
 * Replace every route with rt's: each family's structure is rebuilt off to the
 * side and swapped in, so a lookup sees the old routes or the new ones. The
 * sizes are checked first; on error nothing changed.
 */
WCARD_API int wcard_lpm_load(struct wcard_lpm *l, const struct wcard_routes *rt, char *err,
			     size_t errlen);
/* One route: add (or replace the value of an equal prefix), delete (-ENOENT if absent). */
WCARD_API int wcard_lpm_add(struct wcard_lpm *l, unsigned int family, wc_u128 addr,
			    unsigned int len, __u64 value);
WCARD_API int wcard_lpm_del(struct wcard_lpm *l, unsigned int family, wc_u128 addr,
			    unsigned int len);
/* Append the live routes to out (IPv4, then IPv6; line = route slot + 1). */
WCARD_API int wcard_lpm_dump(const struct wcard_lpm *l, struct wcard_routes *out);
/* Longest match of addr through BPF: 1 with *match set, 0 on a miss, or -errno. */
WCARD_API int wcard_lpm_query(struct wcard_lpm *l, unsigned int family, wc_u128 addr,
			      struct wcard_route *match);
/*
 * Pin the LPM's maps under dir on bpffs (created with its missing parents,
 * bpffs mounted as wcard_bpffs_prepare does; nothing is left half-pinned),
 * and open one pinned there, in this or another process: the
 * maps are the source of truth, the route index is rebuilt from them. A
 * meta record guards against another layout or version (-EPROTO). Writers
 * must take turns (the CLI locks the directory): a handle sees the routes other
 * handles add or delete, but not another handle's bulk load; reopen after one.
 */
WCARD_API int wcard_lpm_pin(struct wcard_lpm *l, const char *dir, char *err, size_t errlen);
WCARD_API int wcard_lpm_unpin(const char *dir);
WCARD_API int wcard_lpm_open_pinned(const char *dir, struct wcard_lpm **out, char *err,
				    size_t errlen);
/* Bytes of the maps in use (tables, nodes handed out, value slots), both families. */
WCARD_API size_t wcard_lpm_bytes(const struct wcard_lpm *l);
WCARD_API int wcard_lpm_lookup(struct wcard_lpm *l, unsigned int family, wc_u128 addr, long *route);
WCARD_API void wcard_lpm_destroy(struct wcard_lpm *l);

/*
 * DIR-24-8 IPv4 LPM (include/wcard/lpm.bpf.h) in one's BPF object, in the
 * two steps of a libbpf object:
 * - wcard_dir24_prepare between open and load (max routes, max /24 blocks that
 *   hold longer prefixes) sizes the structure and makes its handle, which
 *   holds the first image; prepare each structure of an object once. A
 *   structure never prepared costs no memory and always misses.
 * - wcard_dir24_open after load makes the handle usable (again: a no-op).
 * - wcard_dir24_load paints the IPv4 routes of rt (route index = index in rt;
 *   duplicates: the last line wins).
 * - wcard_dir24_close frees the handle, opened or not.
 * A load is atomic for concurrent lookups: it builds a new image of the
 * structure and swaps it in with one map update, so a lookup sees the old
 * routes or the new ones; while it builds, the old and new images both take
 * memory. On error the old routes stay, unchanged.
 */
struct bpf_object;
struct wcard_dir24;
WCARD_API int wcard_dir24_prepare(struct bpf_object *obj, __u32 max_routes, __u32 max_groups,
				  struct wcard_dir24 **out);
WCARD_API int wcard_dir24_open(struct wcard_dir24 *d, char *err, size_t errlen);
WCARD_API int wcard_dir24_load(struct wcard_dir24 *d, const struct wcard_routes *rt, char *err,
			       size_t errlen);
WCARD_API size_t wcard_dir24_bytes(const struct wcard_dir24 *d);
/* Append the live routes to out (line = route slot + 1), for dumps. */
WCARD_API int wcard_dir24_dump(const struct wcard_dir24 *d, struct wcard_routes *out);
WCARD_API void wcard_dir24_close(struct wcard_dir24 *d);
/*
 * Online IPv4 route changes after a wcard_dir24_load: add (or, for a prefix
 * already present, replace its value) and delete, which gives the deleted
 * prefix's addresses back to the longest route that covers it. Each table
 * entry changes with one store. *route gets the route index (the value array
 * slot). 0, -ENOENT (delete of an absent prefix) or -ENOSPC (no free route
 * index or tbl8 group).
 */
WCARD_API int wcard_dir24_add(struct wcard_dir24 *d, __u32 addr, unsigned int len, __u64 value,
			      __u32 *route);
WCARD_API int wcard_dir24_del(struct wcard_dir24 *d, __u32 addr, unsigned int len);

/*
 * Multibit tries (16-bit root, 8-bit nodes; max_nodes sizes the node pool),
 * used as wcard_dir24_*: IPv6 (wcard_lpm6_prepare), and IPv4 in the small-memory
 * mode (wcard_trie4_prepare: memory grows with the routes instead of DIR-24-8's
 * fixed 128 MiB). One trie holds one family: load takes that family's routes of
 * rt, add and del take addresses as in struct wcard_route (IPv4 in the low 32
 * bits).
 */
struct wcard_trie;
WCARD_API int wcard_lpm6_prepare(struct bpf_object *obj, __u32 max_routes, __u32 max_nodes,
				 struct wcard_trie **out);
WCARD_API int wcard_trie4_prepare(struct bpf_object *obj, __u32 max_routes, __u32 max_nodes,
				  struct wcard_trie **out);
WCARD_API int wcard_trie_open(struct wcard_trie *d, char *err, size_t errlen);
/* Nodes the IPv6 (IPv4) routes of rt need (for the prepare call), or -ENOMEM. */
WCARD_API long wcard_lpm6_nodes_needed(const struct wcard_routes *rt);
WCARD_API long wcard_trie4_nodes_needed(const struct wcard_routes *rt);
WCARD_API int wcard_trie_load(struct wcard_trie *d, const struct wcard_routes *rt, char *err,
			      size_t errlen);
WCARD_API size_t wcard_trie_bytes(const struct wcard_trie *d);
WCARD_API int wcard_trie_dump(const struct wcard_trie *d, struct wcard_routes *out);
/* Online route changes, as wcard_dir24_add/del (-ENOSPC: no free node or route slot). */
WCARD_API int wcard_trie_add(struct wcard_trie *d, wc_u128 addr, unsigned int len, __u64 value,
			     __u32 *route);
WCARD_API int wcard_trie_del(struct wcard_trie *d, wc_u128 addr, unsigned int len);
WCARD_API void wcard_trie_close(struct wcard_trie *d);

#ifdef __cplusplus
}
#endif

#endif /* WCARD_LPM_H */
