// SPDX-License-Identifier: MIT
#define _GNU_SOURCE /* qsort_r */
/* image.c: builds the LPM images of include/wcard/lpm.bpf.h (DIR-24-8, tries); libwcard. */
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "lpm_int.h"

/* Entries are u64, encoded as wcard_common.h says (WC_LPM_GROUP, WC_LPM_INLINE). */

const char *const lpm_slot_names[WC_LPM_KINDS] = { "wc_lpm4_image", "wc_trie4_image",
						  "wc_lpm6_image" };
static const __u32 top_entries[] = { 1u << 24, 1u << 16, 1u << 16 };
/* u64 words of prefix a route slot takes after the values (lpmidx.h). */
static const unsigned int pfx_words[] = { 1, 1, 3 };

/*
 * The layout of structure kind's images sized for max_routes route slots and
 * max_sub blocks (see lpm.bpf.h): where the values and the aux words start,
 * and the elements in all. 0 or -EINVAL.
 */
static int geom_calc(int kind, __u32 max_routes, __u32 max_sub, __u32 *val_base,
		     __u32 *aux_base, __u32 *elems)
{
	__u64 base, aux, n;

	if (kind < WC_LPM_DIR24 || kind > WC_LPM_TRIE6 || !max_routes || !max_sub)
		return -EINVAL;
	base = top_entries[kind] + (__u64)max_sub * 256;
	aux = base + (__u64)max_routes * (1 + pfx_words[kind]);
	n = aux + ((__u64)max_routes + 1) / 2;
	if (n > UINT32_MAX)
		return -EINVAL;
	*val_base = (__u32)base;
	*aux_base = (__u32)aux;
	*elems = (__u32)n;
	return 0;
}

/* Give obj's lookups of structure kind the image layout of geom_calc (before load). */
static int geom_rodata(struct bpf_object *obj, int kind, __u32 max_routes, __u32 max_sub)
{
	__u32 base, aux, elems;

	return geom_calc(kind, max_routes, max_sub, &base, &aux, &elems) ?:
		       core_rodata_u32(obj, "wc_lpm_val_base", kind, NULL, &base) ?:
		       core_rodata_u32(obj, "wc_lpm_aux_base", kind, NULL, &aux);
}

int lpm_object_geom(struct bpf_object *obj, int kind, __u32 max_routes, __u32 max_sub)
{
	return obj ? geom_rodata(obj, kind, max_routes, max_sub) : -EINVAL;
}

/* Point the tab at image img (NULL: none). */
static void tab_attach(struct lpm_tab *t, int fd, void *img)
{
	t->fd = fd;
	t->img = img;
	t->top = img;
	t->sub = img ? (__u64 *)img + t->top_entries : NULL;
	t->val = img ? (__u64 *)img + t->val_base : NULL;
	t->pfx = img ? t->val + t->max_routes : NULL;
	t->aux = img ? (__u32 *)((__u64 *)img + t->aux_base) : NULL;
}

/* A structure of kind in obj (slot key), with no image: before tab_prepare or a reuse. */
void tab_init(struct lpm_tab *t, struct bpf_object *obj, int kind, __u32 key)
{
	idx_init(&t->ix);
	tab_attach(t, -1, NULL);
	t->obj = obj;
	t->kind = kind;
	t->key = key;
	t->slot = -1;
	t->spare_fd = -1;
	t->spare_img = NULL;
	t->top_entries = top_entries[kind];
	t->pfx_words = pfx_words[kind];
}

/*
 * Size every image of t's structure (between open and load): the
 * inner map template of its slot, and wc_lpm_val_base. (libbpf 1.1 cannot
 * resize a declared inner map, so the template is made here; t owns it.)
 */
int tab_prepare(struct lpm_tab *t, __u32 max_routes, __u32 max_sub)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_MMAPABLE);
	struct bpf_map *slot = bpf_object__find_map_by_name(t->obj, lpm_slot_names[t->kind]);
	__u32 base, aux, elems;
	int fd, ret;

	if (!slot || geom_calc(t->kind, max_routes, max_sub, &base, &aux, &elems))
		return -EINVAL;
	/* One u64 entry per element: 256 elements (2 KiB) a block. */
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "wc_lpm_img", 4, 8, elems, &o);
	if (fd < 0)
		return -errno;
	ret = geom_rodata(t->obj, t->kind, max_routes, max_sub) ?:
		      bpf_map__set_inner_map_fd(slot, fd);
	if (ret) {
		close(fd);
		return ret;
	}
	t->spare_fd = fd;
	return 0;
}

static size_t tab_len(const struct lpm_tab *t)
{
	size_t page = sysconf(_SC_PAGESIZE);

	return ((size_t)t->elems * 8 + page - 1) & ~(page - 1);
}

static void image_free(const struct lpm_tab *t, int fd, void *img)
{
	if (img)
		munmap(img, tab_len(t));
	if (fd >= 0)
		close(fd);
}

/* Map the image fd (of the tab's size) into *img. */
static int image_map(const struct lpm_tab *t, int fd, void **img)
{
	*img = mmap(NULL, tab_len(t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*img == MAP_FAILED) {
		*img = NULL;
		return -errno;
	}
	return 0;
}

/* A new, zeroed image of the tab's size, mmapped: the spare if there is one. */
static int image_new(struct lpm_tab *t, int *fd, void **img)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_MMAPABLE);
	int ret;

	*img = NULL;
	if (t->spare_fd >= 0) {
		*fd = t->spare_fd;
		*img = t->spare_img;
		t->spare_fd = -1;
		t->spare_img = NULL;
		return 0;
	}
	*fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "wc_lpm_img", 4, 8, t->elems, &o);
	if (*fd < 0)
		return -errno;
	ret = image_map(t, *fd, img);
	if (ret) {
		close(*fd);
		*fd = -1;
	}
	return ret;
}

/*
 * Make the attached image the live one: one update of the slot. A lookup reads
 * the slot once, so it sees the old image or this one; the kernel frees the old
 * map after a grace period, so closing it here is safe for lookups in flight.
 *
 * A pinned LPM also pins its live image, so that a reopen finds it by path
 * (finding it by the slot's map id needs CAP_SYS_ADMIN): the new image is
 * pinned as LIVE_next first, then the slot switches, then LIVE_next is renamed
 * over LIVE. A writer killed in between leaves LIVE_next matching the slot,
 * which the next open takes (and renames); killed before the switch, a stale
 * LIVE_next that the next publish replaces.
 */
static int pinned_with_id(const char *path, __u32 id);

static int tab_publish(struct lpm_tab *t, int old_fd, void *old_img)
{
	char next[4200];
	__u32 live_id;
	int fd;

	if (t->live_pin) {
		snprintf(next, sizeof(next), "%s_next", t->live_pin);
		/* A writer died after its switch, before its rename: finish that first. */
		if (!bpf_map_lookup_elem(t->slot, &t->key, &live_id)) {
			fd = pinned_with_id(next, live_id);
			if (fd >= 0) {
				close(fd);
				if (rename(next, t->live_pin))
					return -errno;
			}
		}
		unlink(next); /* a stale one: a writer died before its switch */
		if (bpf_obj_pin(t->fd, next)) {
			if (errno != ENOENT)
				return -errno;
			/* The LPM was unpinned meanwhile: go on unpinned. */
			free(t->live_pin);
			t->live_pin = NULL;
		}
	}
	if (bpf_map_update_elem(t->slot, &t->key, &t->fd, BPF_ANY)) {
		int ret = -errno;

		if (t->live_pin)
			unlink(next);
		return ret;
	}
	/* If this fails, readers find the live image as LIVE_next, and the next publish renames it. */
	if (t->live_pin && rename(next, t->live_pin)) {
		/* nothing more to do here */
	}
	image_free(t, old_fd, old_img);
	return 0;
}

/* The map pinned at path if its id is id (fd), or -1. */
static int pinned_with_id(const char *path, __u32 id)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return -1;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.id != id) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Pin the live image at path from now on (wcard_lpm_pin): it and every image
 * published later; path NULL stops that. 0 or -errno (then nothing is pinned).
 */
static int tab_pin_live(struct lpm_tab *t, const char *path)
{
	char next[4200], *p;

	free(t->live_pin);
	t->live_pin = NULL;
	if (!path)
		return 0; /* unpinned: stop pinning */
	p = strdup(path);
	if (!p)
		return -ENOMEM;
	if (t->fd >= 0) {
		snprintf(next, sizeof(next), "%s_next", path);
		unlink(next);
		if (bpf_obj_pin(t->fd, next) || rename(next, path)) {
			int ret = -errno;

			unlink(next);
			free(p);
			return ret;
		}
	}
	t->live_pin = p;
	return 0;
}

int lpm_dir24_pin_live(struct wcard_dir24 *d, const char *path)
{
	return d ? tab_pin_live(&d->t, path) : -EINVAL;
}

int lpm_trie_pin_live(struct wcard_trie *d, const char *path)
{
	return d ? tab_pin_live(&d->t, path) : -EINVAL;
}

void tab_close(struct lpm_tab *t)
{
	image_free(t, t->fd, t->img);
	image_free(t, t->spare_fd, t->spare_img);
	tab_attach(t, -1, NULL);
	t->spare_fd = -1;
	t->spare_img = NULL;
	idx_free(&t->ix);
	free(t->live_pin);
	t->live_pin = NULL;
	if (t->own_slot && t->slot >= 0)
		close(t->slot);
	t->slot = -1;
	t->own_slot = false;
}

/*
 * The image live in t's slot (fd), or -1 (none yet) with 0, or -errno. By its
 * pin when the LPM is pinned (see tab_publish), else by the slot's map id.
 */
static int live_image(struct lpm_tab *t, int *fd)
{
	char next[4200];
	__u32 id;
	int tries;

	*fd = -1;
	/*
	 * Readers take no lock and never rename: a writer may be between its
	 * switch and its rename (the image is LIVE_next then), or rename just
	 * as we look (try again).
	 */
	for (tries = 0; t->live_pin && tries < 3; tries++) {
		if (bpf_map_lookup_elem(t->slot, &t->key, &id))
			return errno == ENOENT ? 0 : -errno;
		*fd = pinned_with_id(t->live_pin, id);
		if (*fd >= 0)
			return 0;
		snprintf(next, sizeof(next), "%s_next", t->live_pin);
		*fd = pinned_with_id(next, id);
		if (*fd >= 0)
			return 0;
	}
	if (bpf_map_lookup_elem(t->slot, &t->key, &id))
		return errno == ENOENT ? 0 : -errno;
	/* Pinned by an older wcard (no live pin): by id, which needs CAP_SYS_ADMIN. */
	*fd = bpf_map_get_fd_by_id(id);
	return *fd < 0 ? -errno : 0;
}

/*
 * Map fd, the live image of t (whose layout is set). The route index and the
 * blocks in use are derived on the first change (tab_derive): a reader needs
 * neither, and deriving them reads the whole image (a DIR-24-8's is 128 MiB).
 * fd is t's, or closed, on return.
 */
static int tab_map_live(struct lpm_tab *t, int fd, const char *what, char *err, size_t errlen)
{
	struct bpf_map_info info = {};
	__u32 ilen = sizeof(info);
	void *img = NULL;
	int ret;

	ret = bpf_obj_get_info_by_fd(fd, &info, &ilen) ? -errno : 0;
	if (!ret && info.max_entries != t->elems)
		ret = -EPROTO;
	if (!ret)
		ret = image_map(t, fd, &img);
	if (ret) {
		snprintf(err, errlen, "%s: the live image: %s", what,
			 ret == -EPROTO ? "not of the recorded size" : strerror(-ret));
		close(fd);
		return ret;
	}
	tab_attach(t, fd, img);
	t->derived = false;
	return 0;
}

/* Blocks handed out: one past the highest block any entry points at. */
static __u32 tab_blocks_used(const struct lpm_tab *t)
{
	size_t n = (size_t)t->top_entries + (size_t)t->max_sub * 256, i;
	__u32 used = 0;

	for (i = 0; i < n; i++)
		if ((t->top[i] & WC_LPM_GROUP) && (t->top[i] & ~WC_LPM_GROUP) >= used)
			used = (t->top[i] & ~WC_LPM_GROUP) + 1;
	return used;
}

int tab_derive(struct lpm_tab *t)
{
	int ret;

	if (!t->img)
		return -EINVAL; /* no image: nothing to change yet */
	if (t->derived)
		return 0;
	ret = idx_from_pfx(&t->ix, t->max_routes, t->pfx, t->pfx_words);
	if (ret)
		return ret;
	t->sub_used = tab_blocks_used(t);
	t->derived = true;
	return 0;
}

static const char *const tab_what[WC_LPM_KINDS] = { "DIR-24-8", "IPv4 trie", "IPv6 LPM" };

/*
 * Open a structure prepared in this process (tab_prepare) after its object's
 * load: its template becomes the spare image the first load builds in.
 */
int tab_open(struct lpm_tab *t, char *err, size_t errlen)
{
	struct bpf_map *slot = bpf_object__find_map_by_name(t->obj, lpm_slot_names[t->kind]);
	const char *what = tab_what[t->kind];
	struct bpf_map_info info;
	__u32 ilen = sizeof(info);
	int ret;

	if (t->opened)
		return 0;
	t->slot = slot ? bpf_map__fd(slot) : -1;
	if (t->slot >= 0 && t->spare_fd < 0) {
		snprintf(err, errlen, "%s: no image in %s: prepare the structure before load",
			 what, lpm_slot_names[t->kind]);
		return -ENOENT;
	}
	if (t->slot < 0) {
		snprintf(err, errlen, "%s: the BPF object is not loaded (open after its load)",
			 what);
		return -ENOENT;
	}
	memset(&info, 0, sizeof(info));
	ret = bpf_obj_get_info_by_fd(t->spare_fd, &info, &ilen) ? -errno : 0;
	t->elems = info.max_entries;
	if (!ret)
		ret = core_rodata_u32(t->obj, "wc_lpm_val_base", t->kind, &t->val_base, NULL);
	if (!ret)
		ret = core_rodata_u32(t->obj, "wc_lpm_aux_base", t->kind, &t->aux_base, NULL);
	if (ret || t->val_base < t->top_entries || t->aux_base <= t->val_base ||
	    t->aux_base >= t->elems) {
		snprintf(err, errlen, "%s: image layout unknown: %s", what,
			 strerror(ret ? -ret : EINVAL));
		return ret ? ret : -EINVAL;
	}
	t->max_sub = (t->val_base - t->top_entries) / 256;
	t->max_routes = (t->aux_base - t->val_base) / (1 + t->pfx_words);
	ret = image_map(t, t->spare_fd, &t->spare_img);
	if (ret)
		snprintf(err, errlen, "%s: mmap of the image: %s", what, strerror(-ret));
	t->opened = !ret;
	return ret;
}

/*
 * Open t (tab_init'ed, no object) over a pinned slot map (slot_fd, duplicated)
 * of images sized for max_routes and max_sub, its image mapped if it has one
 * (found at its pin live, else by id; with must, it has to), and pinned at
 * live from now on.
 */
int tab_open_pinned(struct lpm_tab *t, int slot_fd, __u32 max_routes, __u32 max_sub,
		    const char *live, bool must, char *err, size_t errlen)
{
	const char *what = tab_what[t->kind];
	int ret, fd = -1;

	t->opened = true;
	t->max_routes = max_routes;
	t->max_sub = max_sub;
	ret = geom_calc(t->kind, max_routes, max_sub, &t->val_base, &t->aux_base, &t->elems);
	if (ret) {
		snprintf(err, errlen, "%s: image layout of %u routes and %u blocks impossible",
			 what, max_routes, max_sub);
		return ret;
	}
	t->slot = fcntl(slot_fd, F_DUPFD_CLOEXEC, 0);
	t->own_slot = true;
	t->live_pin = live ? strdup(live) : NULL;
	if (t->slot < 0 || (live && !t->live_pin)) {
		ret = t->slot < 0 ? -errno : -ENOMEM;
		snprintf(err, errlen, "%s: %s", what, strerror(-ret));
		return ret;
	}
	/*
	 * The image in the slot, if any, by its pin (or by id). Not finding it
	 * is not fatal: the next load builds a new one, and dropping the
	 * structure empties the slot whether it is mapped here or not.
	 */
	ret = live_image(t, &fd);
	if (!must && (ret == -EPERM || ret == -EACCES || ret == -ENOENT))
		return 0;
	if (!ret && fd < 0 && must)
		ret = -ENOENT;
	if (ret) {
		snprintf(err, errlen, "%s: the live image: %s", what, strerror(-ret));
		return ret;
	}
	return fd >= 0 ? tab_map_live(t, fd, what, err, errlen) : 0;
}

void tab_drop(struct lpm_tab *t, bool spare)
{
	char next[4200];

	/* The slot first: nothing reaches the image once its file and fd go. */
	if (t->slot >= 0)
		bpf_map_delete_elem(t->slot, &t->key);
	if (t->live_pin) {
		snprintf(next, sizeof(next), "%s_next", t->live_pin);
		unlink(t->live_pin);
		unlink(next);
	}
	image_free(t, t->fd, t->img);
	tab_attach(t, -1, NULL);
	t->sub_used = 0;
	idx_free(&t->ix);
	if (spare) {
		image_free(t, t->spare_fd, t->spare_img);
		t->spare_fd = -1;
		t->spare_img = NULL;
	}
}

static int load_begin(struct lpm_tab *t, struct tab_load *old)
{
	int fd, ret;
	void *img;

	*old = (struct tab_load){ .fd = t->fd, .img = t->img, .sub_used = t->sub_used,
				  .derived = t->derived };
	ret = image_new(t, &fd, &img);
	if (ret)
		return ret;
	tab_attach(t, fd, img);
	t->sub_used = 0;
	return 0;
}

int tab_load_end(struct lpm_tab *t, struct tab_load *old, int ret,
		    const struct wcard_routes *rt, unsigned int fam, char *err, size_t errlen)
{
	struct lpm_index ix;

	idx_init(&ix);
	if (!ret && idx_build(&ix, rt, fam, t->max_routes, t->pfx, t->pfx_words)) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		ret = -ENOMEM;
	}
	if (!ret) {
		ret = tab_publish(t, old->fd, old->img);
		if (ret)
			snprintf(err, errlen, "swapping in the new LPM image: %s", strerror(-ret));
	}
	if (ret) {
		idx_free(&ix);
		image_free(t, t->fd, t->img);
		tab_attach(t, old->fd, old->img);
		t->sub_used = old->sub_used;
		t->derived = old->derived;
		return ret;
	}
	idx_free(&t->ix);
	t->ix = ix;
	t->derived = true;
	return 0;
}

int tab_by_len_line(const void *a, const void *b, void *arg)
{
	const struct wcard_route *r = arg, *x = &r[*(const __u32 *)a], *y = &r[*(const __u32 *)b];

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * The routes of family fam in rt, as indexes shortest first (equal lengths in
 * line order), for a bulk load into t, and a new image attached to t to build
 * them in (load_begin). 0, -E2BIG (more routes than the maps were sized for)
 * or -errno, with err set; nothing changed then.
 */
int tab_order(struct lpm_tab *t, const struct wcard_routes *rt, unsigned int fam,
		     struct tab_load *old, __u32 **out, __u32 *nout, char *err, size_t errlen)
{
	__u32 *idx, n = 0, i;
	int ret;

	if (rt->n > t->max_routes) {
		snprintf(err, errlen, "%zu routes exceed the %u the maps were sized for", rt->n,
			 t->max_routes);
		return -E2BIG;
	}
	idx = calloc(rt->n ? rt->n : 1, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (i = 0; i < rt->n; i++)
		if (rt->r[i].family == fam)
			idx[n++] = i;
	qsort_r(idx, n, sizeof(*idx), tab_by_len_line, rt->r);
	ret = load_begin(t, old);
	if (ret) {
		snprintf(err, errlen, "a new LPM image of %u elements: %s", t->elems,
			 strerror(-ret));
		free(idx);
		return ret;
	}
	*out = idx;
	*nout = n;
	return 0;
}

/* The entry naming key (route slot + 1, or 0), its value inline when it fits 32 bits. */
__u64 tab_ent_make(const struct lpm_tab *t, __u32 key)
{
	__u64 v;

	if (!key)
		return 0;
	v = t->val[key - 1];
	return v >> 32 ? key : (v << 32) | WC_LPM_INLINE | key;
}

/* Image bytes in use: the top table, the 2 KiB blocks handed out, the route slots. */
size_t tab_bytes(const struct lpm_tab *t)
{
	__u32 used = t->derived || !t->img ? t->sub_used : tab_blocks_used(t);

	return (size_t)t->top_entries * 8 + (size_t)used * 2048 +
	       (size_t)t->max_routes * (8 * (1 + t->pfx_words) + 4);
}

/*
 * Append the live routes of t (family fam) to out, in slot order; line = slot
 * + 1. From the image's prefixes, so a reader never derives the index.
 */
int tab_dump(const struct lpm_tab *t, unsigned int fam, struct wcard_routes *out)
{
	struct wcard_route *nr;
	unsigned int len;
	size_t live = 0;
	wc_u128 addr;
	__u32 i;

	if (!t->pfx)
		return 0;
	for (i = 0; i < t->max_routes; i++)
		live += !!(t->pfx[(size_t)i * t->pfx_words] & LPM_PFX_USED);
	if (!live)
		return 0;
	nr = realloc(out->r, (out->n + live) * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	out->r = nr;
	for (i = 0; i < t->max_routes && live; i++) {
		if (!idx_pfx_get(t->pfx, t->pfx_words, i, &addr, &len))
			continue;
		live--;
		out->r[out->n++] = (struct wcard_route){ .addr = addr,
							 .family = (__u8)fam,
							 .len = (__u8)len,
							 .value = t->val[i],
							 .line = i + 1 };
	}
	return 0;
}

bool lpm_route_prefix(const void *structure, __u32 slot, wc_u128 *addr, unsigned int *len)
{
	/* struct wcard_dir24 and struct wcard_trie both start with their tab. */
	const struct lpm_tab *t = structure;

	/* From the image, not this process's index: another writer may have added it. */
	return t && t->pfx && slot < t->max_routes &&
	       idx_pfx_get(t->pfx, t->pfx_words, slot, addr, len);
}

size_t lpm_image_bytes(const void *structure)
{
	const struct lpm_tab *t = structure;

	/* The live image, and the spare one a first load builds in. */
	return t ? (size_t)t->elems * 8 * ((t->fd >= 0) + (t->spare_fd >= 0)) : 0;
}
