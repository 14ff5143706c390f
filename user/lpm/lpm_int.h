/* lpm_int.h: user/lpm inside: images, tries, the route index, pinned meta; libwcard internal. */
#ifndef WCARD_LPMIDX_H
#define WCARD_LPMIDX_H

#include <wcard/wcard.h>
#include "core/core.h"

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
int lpm_dir24_pin_live(struct wcard_dir24 *d, const char *path);
int lpm_trie_pin_live(struct wcard_trie *d, const char *path);

/*
 * The meta record of pinned LPM structures (a one-element ARRAY pinned beside
 * their slot maps): which structures exist and how their images are sized,
 * so that another process can open them without the object that made them.
 * Kinds as lpm_tab_reuse's. The standalone LPM (lpm.c) pins it as "meta", a
 * classifier (pin.c) as "wc_lpm_meta".
 */
#define LPM_MAGIC 0x77634c50u /* "wcLP" */
#define LPM_VERSION 2 /* 2: 8-byte entries, values inline */

/* The slot map (ARRAY_OF_MAPS) of each structure kind, by name in the BPF object. */
extern const char *const lpm_slot_names[WC_LPM_KINDS];

struct lpm_meta {
	__u32 magic;
	__u32 version;
	__u32 v4; /* enum wcard_lpm4_algo */
	__u32 _pad;
	__u32 max_routes[WC_LPM_KINDS]; /* 0: structure not in use */
	__u32 max_sub[WC_LPM_KINDS];
};
_Static_assert(sizeof(struct lpm_meta) == 40, "lpm_meta is the pinned format");

/* A new meta record holding m: its fd, or -errno. */
int lpm_meta_create(const struct lpm_meta *m);
/* Read and check the meta record pinned at path. 0, or -errno with err set. */
int lpm_meta_read(const char *path, struct lpm_meta *m, char *err, size_t errlen);
/* Give obj's lookups of structure kind the layout of images of that size (before load). */
int lpm_object_geom(struct bpf_object *obj, int kind, __u32 max_routes, __u32 max_sub);

/*
 * The classifier's tries, one per generation: each publishes its images to
 * its own slot (key) of the family's slot map.
 *
 * lpm_trie_sibling: a trie of d's object, kind and size for slot key, empty.
 * lpm_trie_open_pinned: the trie of slot key of a pinned slot map (slot_fd,
 *   duplicated) of a trie kind (1 IPv4, 2 IPv6) sized for max_routes and
 *   max_sub, its image mapped if it has one (found at its pin live, else by
 *   id), and pinned at live from now on (NULL: not pinned).
 * lpm_trie_drop: free the trie's image (and with spare, its unused spare):
 *   the slot empties and the pins go. Only for a generation no lookup uses.
 * lpm_trie_spare_move: hand from's unused spare image (the template the
 *   object was prepared with) to to, if to has none: it builds there first.
 */
int lpm_trie_sibling(const struct wcard_trie *d, __u32 key, struct wcard_trie **out);
int lpm_trie_open_pinned(int slot_fd, int kind, __u32 key, __u32 max_routes, __u32 max_sub,
			 const char *live, struct wcard_trie **out, char *err, size_t errlen);
void lpm_trie_drop(struct wcard_trie *d, bool spare);
void lpm_trie_spare_move(struct wcard_trie *to, struct wcard_trie *from);
void lpm_trie_geom(const struct wcard_trie *d, __u32 *max_routes, __u32 *max_sub);
bool lpm_trie_has_image(const struct wcard_trie *d);

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
