/* lpmidx.h: the route index of the LPM structures (prefix -> route slot, free slots); libwcard internal. */
#ifndef WCARD_LPMIDX_H
#define WCARD_LPMIDX_H

#include <wcard/wcard.h>
#include "gp.h"

/*
 * Which route each slot of an LPM structure's value array holds, and the
 * reverse (prefix -> slot) for online changes. A deleted route's slot may still
 * be read by a lookup in flight, so it is reused only after a grace period,
 * taken when no never-used slot is left: size the value map with spare slots
 * (one ~8 ms wait per spare slots' worth of deletes).
 */
struct lpm_index {
	__u8 *len; /* per slot; 0xff: free */
	wc_u128 *addr;
	__u32 nslots; /* slots handed out so far */
	__u32 max;
	__u32 *hash; /* slot + 1, open addressing */
	__u32 hmask, ntomb;
	__u32 *pending, npending, *freed, nfreed;
	struct gp gp;
	/*
	 * The image's copy of each slot's prefix (NULL: none), kept by idx_set
	 * and idx_drop, so a new process can rebuild this index from the maps:
	 * pfx_words u64 per slot, IPV4: USED | len << 32 | addr, IPv6: USED | len,
	 * then the high and low halves of the address.
	 */
	__u64 *pfx;
	unsigned int pfx_words;
};

#define LPM_PFX_USED (1ULL << 63)

#define LPM_FREE 0xff

void idx_init(struct lpm_index *ix);
void idx_free(struct lpm_index *ix);
/*
 * Index the routes of family fam in rt (slot = index in rt; of equal prefixes
 * the last wins), writing each slot's prefix to pfx (pfx_words u64 a slot).
 */
int idx_build(struct lpm_index *ix, const struct wcard_routes *rt, unsigned int fam, __u32 max,
	      __u64 *pfx, unsigned int pfx_words);
/*
 * Rebuild the index of max slots from the prefixes an image holds (a new
 * process opening it). Unused slots below the last used one are reused only
 * after a grace period. 0 or -ENOMEM.
 */
int idx_from_pfx(struct lpm_index *ix, __u32 max, __u64 *pfx, unsigned int pfx_words);
/* Prefix of used slot s per the image (for dumps); false if s is unused. */
bool idx_pfx_get(const __u64 *pfx, unsigned int pfx_words, __u32 s, wc_u128 *addr,
		 unsigned int *len);
/* Slot of live prefix addr/len, or -1. */
long idx_find(const struct lpm_index *ix, wc_u128 addr, unsigned int len);
/* A free slot for a new route (may wait for a grace period). 0, -ENOSPC or -errno. */
int idx_alloc(struct lpm_index *ix, __u32 *slot);
/* Record slot as prefix addr/len. */
void idx_set(struct lpm_index *ix, __u32 slot, wc_u128 addr, unsigned int len);
/* Forget slot's prefix; now: the slot is free at once (never reachable), else after a GP. */
void idx_drop(struct lpm_index *ix, __u32 slot, bool now);

/*
 * Pinned LPMs (lpm.c): before load, reuse slot_fd as the slot map of structure
 * kind (0 DIR-24-8, 1 IPv4 trie, 2 IPv6 trie) whose images were sized for
 * max_routes and max_sub; the open after load then maps the live image (pinned
 * at live, if not NULL) and rebuilds the index from it.
 */
int lpm_tab_reuse(struct bpf_object *obj, int kind, int slot_fd, __u32 max_routes, __u32 max_sub,
		  const char *live);
/* Pin the live image at path, now and after every bulk load (pinned LPMs). */
struct wcard_dir24;
struct wcard_trie;
int wcard_dir24_pin_live(struct wcard_dir24 *d, const char *path);
int wcard_trie_pin_live(struct wcard_trie *d, const char *path);

/* Close the image templates prepared for obj and never opened (before closing obj). */
void lpm_templates_drop(const struct bpf_object *obj);
/* Bytes of the images an open wcard_dir24 or wcard_trie holds (allocated whole). */
size_t lpm_image_bytes(const void *structure);
/* Prefix of a route slot of an open wcard_dir24 or wcard_trie, per its image; false if free. */
bool lpm_route_prefix(const void *structure, __u32 slot, wc_u128 *addr, unsigned int *len);

static inline int idx_len(const struct lpm_index *ix, __u32 ent)
{
	return ent ? ix->len[ent - 1] : -1;
}

#endif /* WCARD_LPMIDX_H */
