// SPDX-License-Identifier: MIT
#define _GNU_SOURCE /* qsort_r */
/* dir24.c: builds the LPM images of include/wcard/lpm.bpf.h (DIR-24-8, tries); libwcard. */
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

/*
 * .rodata of obj: element i of the u32 array var, read into *get or (before
 * load) written from *set.
 */
static int rodata_u32(struct bpf_object *obj, const char *var, unsigned int i, __u32 *get,
		      const __u32 *set)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec;
	struct bpf_map *map;
	const char *data;
	size_t size = 0;
	int id, k, ret;
	char *copy;

	bpf_object__for_each_map(map, obj) {
		const char *n = bpf_map__name(map);
		size_t nl = strlen(n);

		if (nl >= 7 && !strcmp(n + nl - 7, ".rodata"))
			break;
	}
	id = btf ? btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC) : -ENOENT;
	data = map ? bpf_map__initial_value(map, &size) : NULL;
	if (!data || id < 0)
		return -ENOENT;
	sec = btf__type_by_id(btf, id);
	for (k = 0, vs = btf_var_secinfos(sec); k < btf_vlen(sec); k++, vs++) {
		const struct btf_type *v = btf__type_by_id(btf, vs->type);
		size_t off = vs->offset + i * sizeof(__u32);

		if (strcmp(btf__name_by_offset(btf, v->name_off), var))
			continue;
		if ((i + 1) * sizeof(__u32) > vs->size || vs->offset + vs->size > size)
			return -EINVAL;
		if (get) {
			memcpy(get, data + off, sizeof(*get));
			return 0;
		}
		copy = malloc(size);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data, size);
		memcpy(copy + off, set, sizeof(*set));
		ret = bpf_map__set_initial_value(map, copy, size);
		free(copy);
		return ret;
	}
	return -ENOENT;
}

/*
 * One LPM structure (lpm.bpf.h): its one-slot ARRAY_OF_MAPS and the live image,
 * an mmapped ARRAY of u64 holding the top table (tbl24, or the trie root),
 * blocks of 256 entries below it (tbl8 groups, or trie nodes) and a value per
 * route slot. A bulk load builds a new image and swaps it in.
 */
struct lpm_tab {
	const struct bpf_object *obj;
	int slot; /* fd of the ARRAY_OF_MAPS */
	__u32 key; /* the slot this tab's image goes to: a classifier generation, or 0 */
	bool own_slot; /* slot is a dup of ours to close (opened without an object) */
	int fd; /* live image, -1 before the first load */
	void *img;
	int spare_fd; /* a fresh image for the next load (the template), or -1 */
	void *spare_img;
	__u64 *top, *sub; /* entries */
	__u64 *val, *pfx; /* values, and each route slot's prefix (lpmidx.h) */
	__u32 *aux; /* each route slot's line (wc_lpm_aux_base) */
	unsigned int pfx_words;
	__u32 top_entries, elems, val_base, aux_base; /* image layout, fixed at load */
	__u32 max_sub, max_routes, sub_used;
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


const char *const lpm_slot_names[WC_LPM_KINDS] = { "wc_lpm4_image", "wc_trie4_image",
						  "wc_lpm6_image" };
static const __u32 top_entries[] = { 1u << 24, 1u << 16, 1u << 16 };
/* u64 words of prefix a route slot takes after the values (lpmidx.h). */
static const unsigned int pfx_words[] = { 1, 1, 3 };

/*
 * Image templates made by tab_prepare, by object and structure. libbpf takes
 * an inner map template by fd and never closes it, and a template is a whole
 * image's worth of memory, so tab_open claims it as the first image to build
 * in. lpm_templates_drop closes those of a structure prepared but never
 * opened; one never prepared keeps lpm.bpf.h's one-element template, which
 * libbpf makes and frees itself, and costs nothing.
 */
struct template {
	const struct bpf_object *obj;
	int kind, fd;
	char *live; /* reused from pins (fd -1): where the live image is pinned */
};
static struct template *templates;
static size_t ntemplates, templates_cap;
static pthread_mutex_t templates_lock = PTHREAD_MUTEX_INITIALIZER;

static int template_put(const struct bpf_object *obj, int kind, int fd, char *live)
{
	struct template *nt;
	size_t i;
	int ret = 0;

	pthread_mutex_lock(&templates_lock);
	/*
	 * libbpf takes one template per map, so an entry for (obj, kind) is left
	 * from an object closed unopened whose address obj now reuses: drop it.
	 */
	for (i = 0; i < ntemplates; i++) {
		if (templates[i].obj == obj && templates[i].kind == kind) {
			if (templates[i].fd >= 0)
				close(templates[i].fd);
			free(templates[i].live);
			templates[i--] = templates[--ntemplates];
		}
	}
	if (ntemplates == templates_cap) {
		nt = realloc(templates, (templates_cap ? 2 * templates_cap : 8) * sizeof(*nt));
		if (nt) {
			templates = nt;
			templates_cap = templates_cap ? 2 * templates_cap : 8;
		} else {
			ret = -ENOMEM;
		}
	}
	if (!ret)
		templates[ntemplates++] = (struct template){ obj, kind, fd, live };
	else
		free(live);
	pthread_mutex_unlock(&templates_lock);
	return ret;
}

/* The template of (obj, kind), now the caller's, or -1; *live: its pin path (the caller's). */
static int template_take(const struct bpf_object *obj, int kind, char **live)
{
	size_t i;
	int fd = -1;

	*live = NULL;
	pthread_mutex_lock(&templates_lock);
	for (i = 0; i < ntemplates; i++) {
		if (templates[i].obj == obj && templates[i].kind == kind) {
			fd = templates[i].fd;
			*live = templates[i].live;
			templates[i] = templates[--ntemplates];
			break;
		}
	}
	pthread_mutex_unlock(&templates_lock);
	return fd;
}

void lpm_templates_drop(const struct bpf_object *obj)
{
	size_t i;

	pthread_mutex_lock(&templates_lock);
	for (i = 0; i < ntemplates; i++) {
		if (templates[i].obj == obj) {
			if (templates[i].fd >= 0)
				close(templates[i].fd);
			free(templates[i].live);
			templates[i--] = templates[--ntemplates];
		}
	}
	pthread_mutex_unlock(&templates_lock);
}

/*
 * Size every image of structure kind in obj (between open and load): the
 * inner map template of its slot, and wc_lpm_val_base. (libbpf 1.1 cannot
 * resize a declared inner map, so the template is made here.)
 */
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
		       rodata_u32(obj, "wc_lpm_val_base", kind, NULL, &base) ?:
		       rodata_u32(obj, "wc_lpm_aux_base", kind, NULL, &aux);
}

int lpm_object_geom(struct bpf_object *obj, int kind, __u32 max_routes, __u32 max_sub)
{
	return obj ? geom_rodata(obj, kind, max_routes, max_sub) : -EINVAL;
}

static int tab_prepare(struct bpf_object *obj, int kind, __u32 max_routes, __u32 max_sub)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_MMAPABLE);
	struct bpf_map *slot = bpf_object__find_map_by_name(obj, lpm_slot_names[kind]);
	__u32 base, aux, elems;
	int fd, ret;

	if (!slot || geom_calc(kind, max_routes, max_sub, &base, &aux, &elems))
		return -EINVAL;
	/* One u64 entry per element: 256 elements (2 KiB) a block. */
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "wc_lpm_img", 4, 8, elems, &o);
	if (fd < 0)
		return -errno;
	ret = geom_rodata(obj, kind, max_routes, max_sub) ?:
		      bpf_map__set_inner_map_fd(slot, fd) ?: template_put(obj, kind, fd, NULL);
	if (ret)
		close(fd);
	return ret;
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

static void tab_close(struct lpm_tab *t)
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

/* Blocks handed out: one past the highest block any entry points at. */
static __u32 tab_blocks_used(const struct lpm_tab *t);

/*
 * Map fd, the live image of t (whose layout is set), and rebuild the route
 * index and the blocks in use from it. fd is t's, or closed, on return.
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
	t->sub_used = tab_blocks_used(t);
	ret = idx_from_pfx(&t->ix, t->max_routes, t->pfx, t->pfx_words);
	if (ret)
		snprintf(err, errlen, "%s: %s", what, strerror(-ret));
	return ret;
}


static __u32 tab_blocks_used(const struct lpm_tab *t)
{
	size_t n = (size_t)t->top_entries + (size_t)t->max_sub * 256, i;
	__u32 used = 0;

	for (i = 0; i < n; i++)
		if ((t->top[i] & WC_LPM_GROUP) && (t->top[i] & ~WC_LPM_GROUP) >= used)
			used = (t->top[i] & ~WC_LPM_GROUP) + 1;
	return used;
}

/*
 * Open structure kind of a loaded obj. Prepared in this process: the template
 * becomes the spare image the first load builds in. Reused from pinned maps
 * (lpm_tab_reuse): the live image is mapped, and the route index and the
 * blocks in use are rebuilt from it.
 */
static int tab_open(struct bpf_object *obj, int kind, const char *what, struct lpm_tab *t,
		    char *err, size_t errlen)
{
	struct bpf_map *slot = bpf_object__find_map_by_name(obj, lpm_slot_names[kind]);
	struct bpf_map_info info;
	__u32 ilen = sizeof(info);
	int ret, fd = -1;

	idx_init(&t->ix);
	tab_attach(t, -1, NULL);
	t->obj = obj;
	t->key = 0;
	t->top_entries = top_entries[kind];
	t->spare_fd = template_take(obj, kind, &t->live_pin);
	t->spare_img = NULL;
	t->slot = slot ? bpf_map__fd(slot) : -1;
	if (t->slot >= 0 && t->spare_fd < 0) {
		ret = live_image(t, &fd);
		if (ret || fd < 0) {
			snprintf(err, errlen, "%s: no image in %s: %s", what, lpm_slot_names[kind],
				 ret ? strerror(-ret) : "prepare the structure before load");
			return ret ? ret : -ENOENT;
		}
	}
	if (t->slot < 0 || (t->spare_fd < 0 && fd < 0)) {
		snprintf(err, errlen,
			 "BPF object has no loaded %s map %s (include <wcard/lpm.bpf.h>, and "
			 "prepare it before load)",
			 what, lpm_slot_names[kind]);
		return -ENOENT;
	}
	memset(&info, 0, sizeof(info));
	ret = bpf_obj_get_info_by_fd(fd >= 0 ? fd : t->spare_fd, &info, &ilen) ? -errno : 0;
	t->elems = info.max_entries;
	if (!ret)
		ret = rodata_u32(obj, "wc_lpm_val_base", kind, &t->val_base, NULL);
	if (!ret)
		ret = rodata_u32(obj, "wc_lpm_aux_base", kind, &t->aux_base, NULL);
	if (ret || t->val_base < t->top_entries || t->aux_base <= t->val_base ||
	    t->aux_base >= t->elems) {
		snprintf(err, errlen, "%s: image layout unknown: %s", what,
			 strerror(ret ? -ret : EINVAL));
		if (fd >= 0)
			close(fd);
		return ret ? ret : -EINVAL;
	}
	t->pfx_words = pfx_words[kind];
	t->max_sub = (t->val_base - t->top_entries) / 256;
	t->max_routes = (t->aux_base - t->val_base) / (1 + t->pfx_words);
	if (fd < 0) {
		ret = image_map(t, t->spare_fd, &t->spare_img);
		if (ret)
			snprintf(err, errlen, "%s: mmap of the image: %s", what, strerror(-ret));
		return ret;
	}
	return tab_map_live(t, fd, what, err, errlen);
}

int lpm_tab_reuse(struct bpf_object *obj, int kind, int slot_fd, __u32 max_routes, __u32 max_sub,
		  const char *live)
{
	struct bpf_map *slot = kind >= 0 && kind < 3 ?
				       bpf_object__find_map_by_name(obj, lpm_slot_names[kind]) :
				       NULL;
	char *path;
	int ret;

	if (!slot)
		return -EINVAL;
	ret = geom_rodata(obj, kind, max_routes, max_sub) ?: bpf_map__reuse_fd(slot, slot_fd);
	if (ret || !live)
		return ret;
	/* The open after load finds the live image at its pin (an entry without template). */
	path = strdup(live);
	return path ? template_put(obj, kind, -1, path) : -ENOMEM;
}

/*
 * A bulk load: a new image is attached while build fills it; then it goes
 * live with the index ix built for it. On failure the old image stays live
 * and attached, and nothing changed.
 */
struct tab_load {
	int fd;
	void *img;
	__u32 sub_used;
};

static int load_begin(struct lpm_tab *t, struct tab_load *old)
{
	int fd, ret;
	void *img;

	*old = (struct tab_load){ .fd = t->fd, .img = t->img, .sub_used = t->sub_used };
	ret = image_new(t, &fd, &img);
	if (ret)
		return ret;
	tab_attach(t, fd, img);
	t->sub_used = 0;
	return 0;
}

static int load_end(struct lpm_tab *t, struct tab_load *old, int ret,
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
		return ret;
	}
	idx_free(&t->ix);
	t->ix = ix;
	return 0;
}

int wcard_dir24_prepare(struct bpf_object *obj, __u32 max_routes, __u32 max_groups)
{
	return tab_prepare(obj, WC_LPM_DIR24, max_routes, max_groups);
}

void wcard_dir24_close(struct wcard_dir24 *d)
{
	if (!d)
		return;
	tab_close(&d->t);
	free(d);
}

int wcard_dir24_open(struct bpf_object *obj, struct wcard_dir24 **out, char *err, size_t errlen)
{
	struct wcard_dir24 *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return -ENOMEM;
	ret = tab_open(obj, WC_LPM_DIR24, "DIR-24-8", &d->t, err, errlen);
	if (ret) {
		wcard_dir24_close(d);
		return ret;
	}
	*out = d;
	return 0;
}

static int by_len_line(const void *a, const void *b, void *arg)
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
static int tab_order(struct lpm_tab *t, const struct wcard_routes *rt, unsigned int fam,
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
	qsort_r(idx, n, sizeof(*idx), by_len_line, rt->r);
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

static int by_start_len_line(const void *a, const void *b, void *arg)
{
	const struct wcard_route *r = arg, *x = &r[*(const __u32 *)a], *y = &r[*(const __u32 *)b];

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return by_len_line(a, b, arg);
}

/* The entry naming key (route slot + 1, or 0), its value inline when it fits 32 bits. */
static __u64 ent_make(const struct lpm_tab *t, __u32 key)
{
	__u64 v;

	if (!key)
		return 0;
	v = t->val[key - 1];
	return v >> 32 ? key : (v << 32) | WC_LPM_INLINE | key;
}

static void d24_fill(__u64 *top, __u32 from, __u32 to, __u64 ent)
{
	/* A fresh image is zero: entries of no route are never touched. */
	for (; ent && from < to; from++)
		top[from] = ent;
}

/*
 * tbl24 from the n routes of /24 or shorter (idx into rt), writing each entry
 * once: prefixes nest or are disjoint, so a sweep in address order with a
 * stack of the prefixes around the current position (at most 25 deep) knows
 * the longest one everywhere. Painting shortest first instead wrote a /0's 16M
 * entries, then a /1's 8M over them, and so on (1.4 s for 2000 random routes).
 */
static int d24_sweep(struct wcard_dir24 *d, const struct wcard_routes *rt, const __u32 *idx,
		     __u32 n)
{
	__u32 *o = malloc((n ? n : 1) * sizeof(*o)), st[25], sp = 0, pos = 0, i;

	if (!o)
		return -ENOMEM;
	memcpy(o, idx, n * sizeof(*o));
	qsort_r(o, n, sizeof(*o), by_start_len_line, rt->r);
	for (i = 0; i < n; i++) {
		const struct wcard_route *r = &rt->r[o[i]];
		__u32 s = (__u32)r->addr >> 8;

		while (sp) {
			const struct wcard_route *t = &rt->r[st[sp - 1]];
			__u32 te = ((__u32)t->addr >> 8) + (1u << (24 - t->len));

			if (te > s)
				break;
			d24_fill(d->t.top, pos, te, ent_make(&d->t, st[sp - 1] + 1));
			pos = te;
			sp--;
		}
		if (sp)
			d24_fill(d->t.top, pos, s, ent_make(&d->t, st[sp - 1] + 1));
		pos = s;
		/* The same prefix again (sorted by line): the last one wins. */
		if (sp && rt->r[st[sp - 1]].len == r->len && rt->r[st[sp - 1]].addr == r->addr)
			st[sp - 1] = o[i];
		else if (sp < 25)
			st[sp++] = o[i]; /* always: 25 nested lengths /0-/24 at most */
	}
	while (sp) {
		const struct wcard_route *t = &rt->r[st[sp - 1]];
		__u32 te = ((__u32)t->addr >> 8) + (1u << (24 - t->len));

		d24_fill(d->t.top, pos, te, ent_make(&d->t, st[sp - 1] + 1));
		pos = te;
		sp--;
	}
	free(o);
	return 0;
}

/*
 * Build the IPv4 routes of rt into a new image: tbl24 in one sweep, then each
 * route longer than /24, shortest first, turns its tbl24 entry into a group
 * that starts as the entry's route and paints its part (among equal prefixes
 * the last line wins). Route index = index in rt.
 */
int wcard_dir24_load(struct wcard_dir24 *d, const struct wcard_routes *rt, char *err,
		     size_t errlen)
{
	__u32 *idx, n, i, short_n = 0, groups = 0;
	struct tab_load old;
	int ret;

	if (!d || !rt)
		return -EINVAL;
	ret = tab_order(&d->t, rt, 4, &old, &idx, &n, err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		d->t.val[idx[i]] = rt->r[idx[i]].value;
		d->t.aux[idx[i]] = rt->r[idx[i]].line;
		short_n += rt->r[idx[i]].len <= 24;
	}
	/* idx is by length: the /24-or-shorter routes come first. */
	ret = d24_sweep(d, rt, idx, short_n);
	if (ret)
		snprintf(err, errlen, "%s", strerror(-ret));
	for (i = short_n; !ret && i < n; i++) {
		const struct wcard_route *r = &rt->r[idx[i]];
		__u64 ent = ent_make(&d->t, idx[i] + 1), prev;
		__u32 a = (__u32)r->addr, k, cnt;

		if (!(d->t.top[a >> 8] & WC_LPM_GROUP)) {
			__u32 g = groups++;

			prev = d->t.top[a >> 8];

			if (g >= d->t.max_sub) {
				snprintf(err, errlen,
					 "more than %u /24 blocks hold longer prefixes (tbl8 groups)",
					 d->t.max_sub);
				ret = -ENOSPC;
				break;
			}
			for (k = 0; k < 256; k++)
				d->t.sub[g * 256 + k] = prev;
			d->t.top[a >> 8] = WC_LPM_GROUP | g;
		}
		cnt = 1u << (32 - r->len);
		for (k = 0; k < cnt; k++)
			d->t.sub[(d->t.top[a >> 8] & ~WC_LPM_GROUP) * 256 + (a & 0xff) + k] = ent;
	}
	d->t.sub_used = groups;
	free(idx);
	return load_end(&d->t, &old, ret, rt, 4, err, errlen);
}

/* Image bytes in use: the top table, the 2 KiB blocks handed out, the route slots. */
static size_t tab_bytes(const struct lpm_tab *t)
{
	return (size_t)t->top_entries * 8 + (size_t)t->sub_used * 2048 +
	       (size_t)t->max_routes * (8 * (1 + t->pfx_words) + 4);
}

/* Append the live routes of t (family fam) to out, in slot order; line = slot + 1. */
static int tab_dump(const struct lpm_tab *t, unsigned int fam, struct wcard_routes *out)
{
	struct wcard_route *nr;
	size_t live = 0;
	__u32 i;

	for (i = 0; i < t->ix.nslots; i++)
		live += t->ix.len[i] != LPM_FREE;
	if (!live)
		return 0;
	nr = realloc(out->r, (out->n + live) * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	out->r = nr;
	for (i = 0; i < t->ix.nslots; i++) {
		if (t->ix.len[i] == LPM_FREE)
			continue;
		out->r[out->n++] = (struct wcard_route){ .addr = t->ix.addr[i],
							 .family = (__u8)fam,
							 .len = t->ix.len[i],
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

int wcard_dir24_dump(const struct wcard_dir24 *d, struct wcard_routes *out)
{
	return d && out ? tab_dump(&d->t, 4, out) : -EINVAL;
}

size_t wcard_dir24_bytes(const struct wcard_dir24 *d)
{
	return d ? tab_bytes(&d->t) : 0;
}

/* ---- IPv6: multibit trie, 16-bit root then 8-bit nodes (lpm.bpf.h) ------------ */

int wcard_lpm6_prepare(struct bpf_object *obj, __u32 max_routes, __u32 max_nodes)
{
	return tab_prepare(obj, WC_LPM_TRIE6, max_routes, max_nodes);
}

int wcard_trie4_prepare(struct bpf_object *obj, __u32 max_routes, __u32 max_nodes)
{
	return tab_prepare(obj, WC_LPM_TRIE4, max_routes, max_nodes);
}

void wcard_trie_close(struct wcard_trie *d)
{
	if (!d)
		return;
	tab_close(&d->t);
	free(d);
}

static int trie_open(struct bpf_object *obj, int kind, unsigned int bits, struct wcard_trie **out,
		     char *err, size_t errlen)
{
	struct wcard_trie *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return -ENOMEM;
	d->bits = bits;
	ret = tab_open(obj, kind, bits == 32 ? "IPv4 trie" : "IPv6 LPM", &d->t, err, errlen);
	if (ret) {
		wcard_trie_close(d);
		return ret;
	}
	*out = d;
	return 0;
}

int wcard_lpm6_open(struct bpf_object *obj, struct wcard_trie **out, char *err, size_t errlen)
{
	return trie_open(obj, WC_LPM_TRIE6, 128, out, err, errlen);
}

int wcard_trie4_open(struct bpf_object *obj, struct wcard_trie **out, char *err, size_t errlen)
{
	return trie_open(obj, WC_LPM_TRIE4, 32, out, err, errlen);
}

/* ---- a trie per classifier generation (clf.c, pin.c) ------------------------- */

/* A trie with nothing in it yet: no image, no spare, its layout unset. */
static struct wcard_trie *trie_new(unsigned int bits, __u32 key)
{
	struct wcard_trie *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->bits = bits;
	idx_init(&d->t.ix);
	tab_attach(&d->t, -1, NULL);
	d->t.spare_fd = -1;
	d->t.slot = -1;
	d->t.key = key;
	return d;
}

int lpm_trie_sibling(const struct wcard_trie *d, __u32 key, struct wcard_trie **out)
{
	struct wcard_trie *n;
	const struct lpm_tab *t;

	if (!d || !out)
		return -EINVAL;
	n = trie_new(d->bits, key);
	if (!n)
		return -ENOMEM;
	t = &d->t;
	n->t.obj = t->obj;
	n->t.top_entries = t->top_entries;
	n->t.pfx_words = t->pfx_words;
	n->t.elems = t->elems;
	n->t.val_base = t->val_base;
	n->t.aux_base = t->aux_base;
	n->t.max_sub = t->max_sub;
	n->t.max_routes = t->max_routes;
	/* Its own copy of the slot map's fd: the tries close independently. */
	n->t.slot = fcntl(t->slot, F_DUPFD_CLOEXEC, 0);
	n->t.own_slot = true;
	if (n->t.slot < 0) {
		int ret = -errno;

		wcard_trie_close(n);
		return ret;
	}
	*out = n;
	return 0;
}

int lpm_trie_open_pinned(int slot_fd, int kind, __u32 key, __u32 max_routes, __u32 max_sub,
			 const char *live, struct wcard_trie **out, char *err, size_t errlen)
{
	const char *what = kind == WC_LPM_TRIE4 ? "IPv4 trie" : "IPv6 LPM";
	struct wcard_trie *d;
	struct lpm_tab *t;
	int ret, fd = -1;

	if ((kind != WC_LPM_TRIE4 && kind != WC_LPM_TRIE6) || slot_fd < 0 || !out)
		return -EINVAL;
	d = trie_new(kind == WC_LPM_TRIE4 ? 32 : 128, key);
	if (!d)
		return -ENOMEM;
	t = &d->t;
	t->top_entries = top_entries[kind];
	t->pfx_words = pfx_words[kind];
	t->max_routes = max_routes;
	t->max_sub = max_sub;
	ret = geom_calc(kind, max_routes, max_sub, &t->val_base, &t->aux_base, &t->elems);
	if (ret) {
		snprintf(err, errlen, "%s: image layout of %u routes and %u blocks impossible",
			 what, max_routes, max_sub);
		goto fail;
	}
	t->slot = fcntl(slot_fd, F_DUPFD_CLOEXEC, 0);
	t->own_slot = true;
	t->live_pin = live ? strdup(live) : NULL;
	if (t->slot < 0 || (live && !t->live_pin)) {
		ret = t->slot < 0 ? -errno : -ENOMEM;
		snprintf(err, errlen, "%s: %s", what, strerror(-ret));
		goto fail;
	}
	/*
	 * The image in the slot, if any, by its pin (or by id). Not finding it
	 * is not fatal: the next load builds a new one, and dropping the trie
	 * empties the slot whether it is mapped here or not.
	 */
	ret = live_image(t, &fd);
	if (ret == -EPERM || ret == -EACCES || ret == -ENOENT) {
		ret = 0;
		fd = -1;
	}
	if (!ret && fd >= 0)
		ret = tab_map_live(t, fd, what, err, errlen);
	else if (ret)
		snprintf(err, errlen, "%s: the live image: %s", what, strerror(-ret));
	if (ret)
		goto fail;
	*out = d;
	return 0;
fail:
	wcard_trie_close(d);
	return ret;
}

void lpm_trie_drop(struct wcard_trie *d, bool spare)
{
	struct lpm_tab *t = d ? &d->t : NULL;
	char next[4200];

	if (!t)
		return;
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

void lpm_trie_spare_move(struct wcard_trie *to, struct wcard_trie *from)
{
	if (!to || !from || to->t.spare_fd >= 0 || from->t.spare_fd < 0 ||
	    to->t.elems != from->t.elems)
		return;
	to->t.spare_fd = from->t.spare_fd;
	to->t.spare_img = from->t.spare_img;
	from->t.spare_fd = -1;
	from->t.spare_img = NULL;
}

void lpm_trie_geom(const struct wcard_trie *d, __u32 *max_routes, __u32 *max_sub)
{
	*max_routes = d ? d->t.max_routes : 0;
	*max_sub = d ? d->t.max_sub : 0;
}

bool lpm_trie_has_image(const struct wcard_trie *d)
{
	return d && d->t.fd >= 0;
}

static unsigned int trie_family(const struct wcard_trie *d)
{
	return d->bits == 32 ? 4 : 6;
}

/* Where an address of a bits-wide family sits in the trie: its top bits. */
static wc_u128 trie_pos(unsigned int bits, wc_u128 addr)
{
	return addr << (128 - bits);
}

/* Bits [start, start + width) of a, as an index. */
static __u32 bits6(wc_u128 a, unsigned int start, unsigned int width)
{
	return (__u32)(a >> (128 - start - width)) & ((1u << width) - 1);
}

/*
 * Paint the trie's family's routes of rt shortest first (so every node a route
 * needs below its level is created by a longer route, later, and starts as the
 * value of the entry it replaces: routes are pushed to the leaves).
 */
int wcard_trie_load(struct wcard_trie *d, const struct wcard_routes *rt, char *err,
		    size_t errlen)
{
	__u32 *idx, n, i, used = 0;
	struct tab_load old;
	int ret;

	if (!d || !rt)
		return -EINVAL;
	ret = tab_order(&d->t, rt, trie_family(d), &old, &idx, &n, err, errlen);
	if (ret)
		return ret;
	for (i = 0; !ret && i < n; i++) {
		const struct wcard_route *r = &rt->r[idx[i]];
		__u32 start = 0, width = 16, k, first, cnt;
		wc_u128 pos = trie_pos(d->bits, r->addr);
		__u64 ent, *tab = d->t.top;

		d->t.val[idx[i]] = r->value;
		d->t.aux[idx[i]] = r->line;
		ent = ent_make(&d->t, idx[i] + 1);
		/* Down to the level whose bits hold the prefix's last bit. */
		while (r->len > start + width) {
			__u64 *e = &tab[bits6(pos, start, width)];

			if (!(*e & WC_LPM_GROUP)) {
				__u64 prev = *e;
				__u32 j;

				if (used >= d->t.max_sub) {
					snprintf(err, errlen, "more than %u IPv%u trie nodes needed",
						 d->t.max_sub, trie_family(d));
					ret = -ENOSPC;
					break;
				}
				for (j = 0; j < 256; j++)
					d->t.sub[used * 256 + j] = prev;
				*e = WC_LPM_GROUP | used++;
			}
			tab = &d->t.sub[(*e & ~WC_LPM_GROUP) * 256];
			start += width;
			width = 8;
		}
		if (ret)
			break;
		first = bits6(pos, start, width) & ~((1u << (start + width - r->len)) - 1);
		cnt = 1u << (start + width - r->len);
		for (k = 0; k < cnt; k++)
			tab[first + k] = ent;
	}
	d->t.sub_used = used;
	free(idx);
	return load_end(&d->t, &old, ret, rt, trie_family(d), err, errlen);
}

int wcard_trie_dump(const struct wcard_trie *d, struct wcard_routes *out)
{
	return d && out ? tab_dump(&d->t, trie_family(d), out) : -EINVAL;
}

size_t wcard_trie_bytes(const struct wcard_trie *d)
{
	return d ? tab_bytes(&d->t) : 0;
}

static int cmp_u128(const void *a, const void *b)
{
	wc_u128 x = *(const wc_u128 *)a, y = *(const wc_u128 *)b;

	return x < y ? -1 : x > y;
}

/*
 * Nodes the trie of rt's family fam routes needs: one per distinct (level,
 * address bits above the level) over every route longer than that level's start.
 */
static long nodes_needed(const struct wcard_routes *rt, unsigned int fam)
{
	unsigned int bits = fam == 4 ? 32 : 128;
	size_t i, n = 0, cap = 0, uniq = 0;
	wc_u128 *keys = NULL, *nk;

	for (i = 0; i < rt->n; i++) {
		const struct wcard_route *r = &rt->r[i];
		unsigned int b;

		if (r->family != fam)
			continue;
		for (b = 16; b < r->len; b += 8) {
			if (n == cap) {
				cap = cap ? 2 * cap : 4096;
				nk = realloc(keys, cap * sizeof(*keys));
				if (!nk) {
					free(keys);
					return -ENOMEM;
				}
				keys = nk;
			}
			/* The level in the top byte, the address bits above it below. */
			keys[n++] = ((wc_u128)b << 120) |
				    ((trie_pos(bits, r->addr) >> (128 - b)) & ((wc_u128)~0 >> 8));
		}
	}
	if (n)
		qsort(keys, n, sizeof(*keys), cmp_u128);
	for (i = 0; i < n; i++)
		uniq += !i || keys[i] != keys[i - 1];
	free(keys);
	return (long)uniq;
}

long wcard_lpm6_nodes_needed(const struct wcard_routes *rt)
{
	return nodes_needed(rt, 6);
}

long wcard_trie4_nodes_needed(const struct wcard_routes *rt)
{
	return nodes_needed(rt, 4);
}

/* ---- online IPv4 updates ---------------------------------------------------- */

/*
 * Set every entry of [first, first + cnt) of tab that holds no route or one no
 * longer than len to ent (entries of longer routes keep them); with old (a
 * route slot + 1: a delete) only the entries that hold old change. Groups
 * inside a tbl24 range are painted entry by entry. Every write is one 8-byte
 * store: route and value change together.
 */
static void d24_paint(struct wcard_dir24 *d, __u64 *tab, __u32 first, __u32 cnt, __u64 ent,
		      int len, __u32 old, bool top)
{
	__u32 k;

	for (k = first; k < first + cnt; k++) {
		__u64 e = __atomic_load_n(&tab[k], __ATOMIC_RELAXED);

		if (top && (e & WC_LPM_GROUP)) {
			d24_paint(d, &d->t.sub[WC_LPM_KEY(e & ~WC_LPM_GROUP) * 256], 0, 256, ent, len, old,
				  false);
			continue;
		}
		if (old ? WC_LPM_KEY(e) == old : idx_len(&d->t.ix, WC_LPM_KEY(e)) <= len)
			__atomic_store_n(&tab[k], ent, __ATOMIC_RELEASE);
	}
}

/* Paint the IPv4 prefix addr/len's range with ent (as d24_paint, old and all). */
static int d24_paint_prefix(struct wcard_dir24 *d, __u32 addr, unsigned int len, __u64 ent,
			    __u32 old)
{
	__u64 e;

	if (len <= 24) {
		d24_paint(d, d->t.top, addr >> 8, 1u << (24 - len), ent, len, old, true);
		return 0;
	}
	e = d->t.top[addr >> 8];
	if (!(e & WC_LPM_GROUP))
		return -ENOENT;
	d24_paint(d, &d->t.sub[WC_LPM_KEY(e & ~WC_LPM_GROUP) * 256], addr & 0xff, 1u << (32 - len), ent,
		  len, old, false);
	return 0;
}

/*
 * An add paints the whole prefix by length, never only the entries holding its
 * own slot: the same add again then repairs what a writer killed midway left
 * (the prefix recorded in the image, so the reopened index knows it, and only
 * part of its range painted, or its group not yet linked). An add of a prefix
 * already whole changes just what names it: the other entries of its range
 * belong to longer routes.
 */
int wcard_dir24_add(struct wcard_dir24 *d, __u32 addr, unsigned int len, __u64 value,
		    __u32 *route)
{
	__u64 ent;
	__u32 r;
	long old;
	int ret;

	if (!d || !d->t.ix.len || len > 32)
		return -EINVAL;
	addr &= len ? ~0u << (32 - len) : 0;
	old = idx_find(&d->t.ix, addr, len);
	if (old >= 0) {
		/* The same prefix again: the last one wins, in place. */
		r = (__u32)old;
		__atomic_store_n(&d->t.val[r], value, __ATOMIC_RELEASE);
	} else {
		ret = idx_alloc(&d->t.ix, &r);
		if (ret)
			return ret;
		/* Value first: the route is reachable only once an entry holds it. */
		d->t.aux[r] = 0; /* a line is known only to bulk loads */
		__atomic_store_n(&d->t.val[r], value, __ATOMIC_RELEASE);
		idx_set(&d->t.ix, r, addr, len);
	}
	ent = ent_make(&d->t, r + 1);
	if (len <= 24) {
		d24_paint(d, d->t.top, addr >> 8, 1u << (24 - len), ent, len, 0, true);
	} else {
		__u32 t = addr >> 8;
		__u64 e = d->t.top[t];

		if (!(e & WC_LPM_GROUP)) {
			__u32 g = d->t.sub_used, k;

			/* No entry can name a route longer than /24 without its group. */
			if (g >= d->t.max_sub) {
				idx_drop(&d->t.ix, r, true); /* never reachable */
				return -ENOSPC;
			}
			/* The group is complete before the tbl24 entry points at it. */
			for (k = 0; k < 256; k++)
				d->t.sub[g * 256 + k] = e;
			d->t.sub_used++;
			__atomic_store_n(&d->t.top[t], WC_LPM_GROUP | g, __ATOMIC_RELEASE);
			e = WC_LPM_GROUP | g;
		}
		d24_paint(d, &d->t.sub[WC_LPM_KEY(e & ~WC_LPM_GROUP) * 256], addr & 0xff, 1u << (32 - len),
			  ent, len, 0, false);
	}
	if (route)
		*route = r;
	return 0;
}

int wcard_dir24_del(struct wcard_dir24 *d, __u32 addr, unsigned int len)
{
	long r, cover = -1;
	int l;

	if (!d || !d->t.ix.len || len > 32)
		return -EINVAL;
	addr &= len ? ~0u << (32 - len) : 0;
	r = idx_find(&d->t.ix, addr, len);
	if (r < 0)
		return -ENOENT;
	/* The covering route takes the deleted one's entries back. */
	for (l = (int)len - 1; l >= 0 && cover < 0; l--)
		cover = idx_find(&d->t.ix, addr & (l ? ~0u << (32 - l) : 0), l);
	d24_paint_prefix(d, addr, len, ent_make(&d->t, cover + 1), r + 1);
	/* Reusable after a grace period: lookups in flight may still report it. */
	idx_drop(&d->t.ix, r, false);
	return 0;
}


/* ---- online trie updates (IPv6, small IPv4) ---------------------------------- */

/* The first len bits of a bits-wide address. */
static wc_u128 trie_mask(unsigned int bits, unsigned int len)
{
	return len ? (~(wc_u128)0 << (128 - len)) >> (128 - bits) : 0;
}

/* As d24_paint, through every node below the range (routes are pushed to leaves). */
static void t6_paint(struct wcard_trie *d, __u64 *tab, __u32 first, __u32 cnt, __u64 ent,
		     int len, __u32 old)
{
	__u32 k;

	for (k = first; k < first + cnt; k++) {
		__u64 e = __atomic_load_n(&tab[k], __ATOMIC_RELAXED);

		if (e & WC_LPM_GROUP) {
			t6_paint(d, &d->t.sub[WC_LPM_KEY(e & ~WC_LPM_GROUP) * 256], 0, 256, ent, len, old);
			continue;
		}
		if (old ? WC_LPM_KEY(e) == old : idx_len(&d->t.ix, WC_LPM_KEY(e)) <= len)
			__atomic_store_n(&tab[k], ent, __ATOMIC_RELEASE);
	}
}

/*
 * The table holding the entries of trie position pos (trie_pos) at the level
 * where a /len prefix ends, and the level's first bit and width. With create,
 * missing nodes are made, each complete (a copy of the entry it replaces)
 * before its parent points at it.
 */
static __u64 *t6_level(struct wcard_trie *d, wc_u128 pos, unsigned int len, bool create,
		       __u32 *start, __u32 *width)
{
	__u64 *tab = d->t.top;
	__u32 st = 0, w = 16;

	while (len > st + w) {
		__u64 *e = &tab[bits6(pos, st, w)];

		if (!(*e & WC_LPM_GROUP)) {
			__u32 n = d->t.sub_used, j;

			if (!create || n >= d->t.max_sub)
				return NULL;
			for (j = 0; j < 256; j++)
				d->t.sub[n * 256 + j] = *e;
			d->t.sub_used++;
			__atomic_store_n(e, WC_LPM_GROUP | n, __ATOMIC_RELEASE);
		}
		tab = &d->t.sub[WC_LPM_KEY(*e & ~WC_LPM_GROUP) * 256];
		st += w;
		w = 8;
	}
	*start = st;
	*width = w;
	return tab;
}

/* As wcard_dir24_add: the whole prefix is painted by length, in place too. */
int wcard_trie_add(struct wcard_trie *d, wc_u128 addr, unsigned int len, __u64 value,
		   __u32 *route)
{
	__u32 r, st, w;
	__u64 *tab;
	wc_u128 pos;
	long old;
	int ret;

	if (!d || !d->t.ix.len || len > d->bits)
		return -EINVAL;
	addr &= trie_mask(d->bits, len);
	pos = trie_pos(d->bits, addr);
	old = idx_find(&d->t.ix, addr, len);
	if (old >= 0) {
		/* In place: its nodes were made before it was recorded, so this makes none. */
		r = (__u32)old;
		tab = t6_level(d, pos, len, true, &st, &w);
		if (!tab) {
			idx_drop(&d->t.ix, r, true); /* no entry can name it: never reachable */
			return -ENOSPC;
		}
		/* The value slot, then every entry of the prefix. */
		__atomic_store_n(&d->t.val[r], value, __ATOMIC_RELEASE);
	} else {
		ret = idx_alloc(&d->t.ix, &r);
		if (ret)
			return ret;
		tab = t6_level(d, pos, len, true, &st, &w);
		if (!tab) {
			/* Nodes made on the way stay (copies of their parents): harmless. */
			d->t.ix.freed[d->t.ix.nfreed++] = r;
			return -ENOSPC;
		}
		d->t.aux[r] = 0; /* a line is known only to bulk loads */
		__atomic_store_n(&d->t.val[r], value, __ATOMIC_RELEASE);
		idx_set(&d->t.ix, r, addr, len);
	}
	t6_paint(d, tab, bits6(pos, st, w) & ~((1u << (st + w - len)) - 1), 1u << (st + w - len),
		 ent_make(&d->t, r + 1), len, 0);
	if (route)
		*route = r;
	return 0;
}

int wcard_trie_del(struct wcard_trie *d, wc_u128 addr, unsigned int len)
{
	__u32 st, w;
	__u64 *tab;
	long r, cover = -1;
	wc_u128 pos;
	int l;

	if (!d || !d->t.ix.len || len > d->bits)
		return -EINVAL;
	addr &= trie_mask(d->bits, len);
	pos = trie_pos(d->bits, addr);
	r = idx_find(&d->t.ix, addr, len);
	if (r < 0)
		return -ENOENT;
	for (l = (int)len - 1; l >= 0 && cover < 0; l--)
		cover = idx_find(&d->t.ix, addr & trie_mask(d->bits, l), l);
	tab = t6_level(d, pos, len, false, &st, &w);
	if (tab)
		t6_paint(d, tab, bits6(pos, st, w) & ~((1u << (st + w - len)) - 1),
			 1u << (st + w - len), ent_make(&d->t, cover + 1), len, r + 1);
	idx_drop(&d->t.ix, r, false);
	return 0;
}
