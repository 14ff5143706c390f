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

/* ---- image.c: an LPM structure's images, for dir24.c and trie.c ------------ */

/*
 * One LPM structure (lpm.bpf.h): its one-slot ARRAY_OF_MAPS and the live image,
 * an mmapped ARRAY of u64 holding the top table (tbl24, or the trie root),
 * blocks of 256 entries below it (tbl8 groups, or trie nodes) and a value per
 * route slot. A bulk load builds a new image and swaps it in.
 */
struct lpm_tab {
	struct bpf_object *obj;
	int kind; /* WC_LPM_DIR24, WC_LPM_TRIE4 or WC_LPM_TRIE6 */
	bool opened; /* by tab_open (or built for a classifier generation) */
	int slot; /* fd of the ARRAY_OF_MAPS */
	__u32 key; /* the slot this tab's image goes to: a classifier generation, or 0 */
	bool own_slot; /* slot is a dup of ours to close (opened without an object) */
	int fd; /* live image, -1 before the first load */
	void *img;
	/*
	 * A fresh image for the next load, or -1. Prepared, it is the inner map
	 * template libbpf creates the slot map with (and never closes): the
	 * handle owns it, and the first load builds in it.
	 */
	int spare_fd;
	void *spare_img;
	__u64 *top, *sub; /* entries */
	__u64 *val, *pfx; /* values, and each route slot's prefix (lpmidx.h) */
	__u32 *aux; /* each route slot's line (wc_lpm_aux_base) */
	unsigned int pfx_words;
	__u32 top_entries, elems, val_base, aux_base; /* image layout, fixed at load */
	__u32 max_sub, max_routes, sub_used;
	/*
	 * ix and sub_used hold (tab_derive): built with the image, or derived
	 * from a mapped one on the first change.
	 */
	bool derived;
	struct lpm_index ix; /* for online changes */
	char *live_pin; /* bpffs path the live image is pinned at (pinned LPMs), or NULL */
};

struct wcard_dir24 {
	struct lpm_tab t;
};

/* A multibit trie: IPv6, or IPv4 in the small-memory mode (addresses moved to the top bits). */
struct wcard_trie {
	struct lpm_tab t;
	unsigned int bits; /* 128 or 32 */
};


/*
 * A bulk load: a new image is attached while build fills it; then it goes
 * live with the index ix built for it. On failure the old image stays live
 * and attached, and nothing changed.
 */
struct tab_load {
	int fd;
	void *img;
	__u32 sub_used;
	bool derived;
};

/* A structure of kind in obj (slot key), with no image: before tab_prepare or tab_reuse. */
void tab_init(struct lpm_tab *t, struct bpf_object *obj, int kind, __u32 key);
/* Before load: size t's images and make the first (the slot map's template). */
int tab_prepare(struct lpm_tab *t, __u32 max_routes, __u32 max_sub);
/* After load: map the first image (prepared) or the live one (reused). 0 if open already. */
int tab_open(struct lpm_tab *t, char *err, size_t errlen);
void tab_close(struct lpm_tab *t);
/* lpm_trie_open_pinned and lpm_trie_drop (below) for any tab. */
int tab_open_pinned(struct lpm_tab *t, int slot_fd, __u32 max_routes, __u32 max_sub,
		    const char *live, bool must, char *err, size_t errlen);
void tab_drop(struct lpm_tab *t, bool spare);
/*
 * Before an online change: derive t's route index and blocks in use from its
 * mapped image, once. 0, -EINVAL (no image yet) or -ENOMEM.
 */
int tab_derive(struct lpm_tab *t);
/*
 * A bulk load into t: the indexes of rt's routes of family fam shortest first
 * (*out, *nout), with a new image attached to build them in (old: what to
 * restore); tab_load_end then publishes it (ret 0) or restores old.
 */
int tab_order(struct lpm_tab *t, const struct wcard_routes *rt, unsigned int fam,
	      struct tab_load *old, __u32 **out, __u32 *nout, char *err, size_t errlen);
int tab_load_end(struct lpm_tab *t, struct tab_load *old, int ret, const struct wcard_routes *rt,
		 unsigned int fam, char *err, size_t errlen);
/* qsort_r order of route indexes (arg: the routes): shorter first, then by line. */
int tab_by_len_line(const void *a, const void *b, void *arg);
/* The entry naming key (route slot + 1, or 0), its value inline when it fits 32 bits. */
__u64 tab_ent_make(const struct lpm_tab *t, __u32 key);
/* Append t's live routes of family fam to out (line = route slot + 1). */
int tab_dump(const struct lpm_tab *t, unsigned int fam, struct wcard_routes *out);
/* Bytes of the maps in use. */
size_t tab_bytes(const struct lpm_tab *t);

/*
 * Pinned LPMs (lpm.c): the DIR-24-8 over a pinned slot map (slot_fd,
 * duplicated) whose images were sized for max_routes and max_sub, with no
 * BPF object; its live image (pinned at live) mapped. lpm_trie_open_pinned
 * (below) is the same for tries.
 */
int lpm_dir24_open_pinned(int slot_fd, __u32 max_routes, __u32 max_sub, const char *live,
			  struct wcard_dir24 **out, char *err, size_t errlen);
/* Pin the live image at path, now and after every bulk load (pinned LPMs). */
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
	__u32 build; /* enum wcard_bpf_build + 1 it was made with (bpf_build_recorded); 0: older */
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
 *   id; with must, it has to), and pinned at live from now on (NULL: not
 *   pinned).
 * lpm_trie_drop: free the trie's image (and with spare, its unused spare):
 *   the slot empties and the pins go. Only for a generation no lookup uses.
 * lpm_trie_spare_move: hand from's unused spare image (the template the
 *   object was prepared with) to to, if to has none: it builds there first.
 */
int lpm_trie_sibling(const struct wcard_trie *d, __u32 key, struct wcard_trie **out);
int lpm_trie_open_pinned(int slot_fd, int kind, __u32 key, __u32 max_routes, __u32 max_sub,
			 const char *live, bool must, struct wcard_trie **out, char *err,
			 size_t errlen);
void lpm_trie_drop(struct wcard_trie *d, bool spare);
void lpm_trie_spare_move(struct wcard_trie *to, struct wcard_trie *from);
void lpm_trie_geom(const struct wcard_trie *d, __u32 *max_routes, __u32 *max_sub);
/* Is d a trie of obj for addresses of bits (32 or 128)? */
bool lpm_trie_of(const struct wcard_trie *d, const struct bpf_object *obj, unsigned int bits);
bool lpm_trie_has_image(const struct wcard_trie *d);

/* Bytes of the images an open wcard_dir24 or wcard_trie holds (allocated whole). */
size_t lpm_image_bytes(const void *structure);
/* Prefix of a route slot of an open wcard_dir24 or wcard_trie, per its image; false if free. */
bool lpm_route_prefix(const void *structure, __u32 slot, wc_u128 *addr, unsigned int *len);

static inline int idx_len(const struct lpm_index *ix, __u32 ent)
{
	return ent ? ix->len[ent - 1] : -1;
}

#endif /* WCARD_LPMIDX_H */
