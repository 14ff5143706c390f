// SPDX-License-Identifier: MIT
/* pin.c: pinning a classifier under bpffs and reopening it from its maps in a new process. */
#include <stdio.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "clf_int.h"
#include "lpm/lpm_int.h"

/*
 * The LPM fast path's structures (outer maps of the tries' images): pinned
 * too, so that a program loaded later from the same object over the pinned
 * maps (wcard attach) sees every map the pinned program sees.
 */

/*
 * The tries themselves, for a reopen to keep the LPM path: the size of their
 * images in a meta record (LPM_META), which the object's read-only data holds
 * otherwise, and each generation's live image, pinned as the standalone LPM
 * pins its own (lpm.c): as SLOTMAP_live<g>, always the image in slot g.
 */
#define LPM_META "wc_lpm_meta"
enum { K_TRIE4 = 1, K_TRIE6 = 2 }; /* lpm.bpf.h WC_LPM_TRIE4, WC_LPM_TRIE6 */

static void live_path(char *buf, size_t len, const char *dir, int kind, unsigned int g)
{
	snprintf(buf, len, "%s/%s_live%u", dir, lpm_slot_names[kind], g);
}

static struct wcard_trie **tries_of(struct wcard_clf *c, int kind)
{
	return kind == K_TRIE4 ? c->lpm4 : c->lpm6;
}

/*
 * Pin the meta record and every live trie image of c under dir, and keep
 * pinning the images each load publishes. 0, or -errno with nothing pinned.
 */
static int lpm_pin(struct wcard_clf *c, const char *dir, char *err, size_t errlen)
{
	struct lpm_meta m = { .magic = LPM_MAGIC, .version = LPM_VERSION, .v4 = WCARD_LPM4_TRIE };
	char path[4200];
	unsigned int g;
	int k, fd, ret = 0;

	if (!c->lpm4[0] && !c->lpm6[0])
		return 0;
	lpm_trie_geom(c->lpm4[0], &m.max_routes[K_TRIE4], &m.max_sub[K_TRIE4]);
	lpm_trie_geom(c->lpm6[0], &m.max_routes[K_TRIE6], &m.max_sub[K_TRIE6]);
	fd = lpm_meta_create(&m);
	if (fd < 0) {
		seterr(err, errlen, "LPM meta record: %s", strerror(-fd));
		return fd;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, LPM_META);
	if (bpf_obj_pin(fd, path))
		ret = -errno;
	close(fd);
	if (ret) {
		seterr(err, errlen, "pinning %s: %s", path, strerror(-ret));
		return ret;
	}
	for (k = K_TRIE4; k <= K_TRIE6 && !ret; k++) {
		for (g = 0; g < WC_GENS && !ret && tries_of(c, k)[g]; g++) {
			live_path(path, sizeof(path), dir, k, g);
			ret = lpm_trie_pin_live(tries_of(c, k)[g], path);
			if (ret)
				seterr(err, errlen, "pinning %s: %s", path, strerror(-ret));
		}
	}
	if (ret) {
		for (k = K_TRIE4; k <= K_TRIE6; k++)
			for (g = 0; g < WC_GENS && tries_of(c, k)[g]; g++) {
				lpm_trie_pin_live(tries_of(c, k)[g], NULL);
				live_path(path, sizeof(path), dir, k, g);
				unlink(path);
			}
		snprintf(path, sizeof(path), "%s/%s", dir, LPM_META);
		unlink(path);
	}
	return ret;
}

/*
 * The LPM fast path's tries of a classifier pinned by wcard_clf_pin, one per
 * generation, the live images mapped: a republish keeps the LPM path, and
 * builds into the spare generation's own trie as in the process that made
 * it. Pinned without them (an object of the caller's, bpftool): none, and
 * no LPM path. 0 or -errno.
 */
static int lpm_reopen(struct wcard_clf *c, const char *dir, char *err, size_t errlen)
{
	char path[4200], live[4200];
	struct lpm_meta m;
	unsigned int g;
	int k, slot, ret;

	snprintf(path, sizeof(path), "%s/%s", dir, LPM_META);
	ret = lpm_meta_read(path, &m, err, errlen);
	if (ret == -ENOENT) {
		if (err && errlen)
			*err = 0;
		return 0;
	}
	if (ret)
		return ret;
	for (k = K_TRIE4; k <= K_TRIE6 && !ret; k++) {
		if (!m.max_routes[k])
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, lpm_slot_names[k]);
		slot = bpf_obj_get(path);
		if (slot < 0) {
			ret = -errno;
			seterr(err, errlen, "%s: %s", path, strerror(-ret));
			break;
		}
		for (g = 0; g < WC_GENS && !ret; g++) {
			live_path(live, sizeof(live), dir, k, g);
			ret = lpm_trie_open_pinned(slot, k, g, m.max_routes[k], m.max_sub[k], live,
						   false, &tries_of(c, k)[g], err, errlen);
		}
		close(slot);
	}
	return ret;
}

int wcard_clf_pinned_object(struct bpf_object *obj, const char *dir, char *err, size_t errlen)
{
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi), fmt;
	char path[4200];
	struct lpm_meta m;
	int k, ret, fd;

	if (!obj || !dir)
		return -EINVAL;
	/* The rule records' format, which the map's value size says (WC_REC_*). */
	snprintf(path, sizeof(path), "%s/%s", dir, clf_map_names[2]);
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &mi, &len)) {
		ret = -errno;
		seterr(err, errlen, "%s: %s", path, strerror(-ret));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	close(fd);
	fmt = mi.value_size == clf_rec_size(WC_REC_IPV4) ? WC_REC_IPV4 : WC_REC_GENERIC;
	ret = core_rodata_u32(obj, "wc_rec_format", 0, NULL, &fmt);
	if (ret && (ret != -ENOENT || fmt != WC_REC_GENERIC)) {
		seterr(err, errlen, "%s: the object has no record format knob (wc_rec_format)",
		       path);
		return ret;
	}
	ret = clf_prepare_verdict(obj);
	if (ret) {
		seterr(err, errlen, "setting the XDP filter's verdict knobs: %s", strerror(-ret));
		return ret;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, LPM_META);
	ret = lpm_meta_read(path, &m, err, errlen);
	if (ret == -ENOENT) {
		if (err && errlen)
			*err = 0;
		return 0;
	}
	for (k = K_TRIE4; k <= K_TRIE6 && !ret; k++) {
		if (!m.max_routes[k])
			continue;
		ret = lpm_object_geom(obj, k, m.max_routes[k], m.max_sub[k]);
		if (ret)
			seterr(err, errlen, "%s: LPM image layout: %s", path, strerror(-ret));
	}
	return ret;
}

int wcard_clf_pin(struct wcard_clf *c, const char *dir, char *err, size_t errlen)
{
	const char *names[CLF_NMAPS + 3 + WC_LPM_KINDS];
	int fds[CLF_NMAPS + 3 + WC_LPM_KINDS];
	unsigned int i, n = 0, done;
	char path[4096];
	int ret;

	if (!c || !dir)
		return -EINVAL;
	for (i = 0; i < CLF_NMAPS; i++)
		names[n++] = clf_map_names[i];
	fds[0] = c->root.fd;
	fds[1] = c->config.fd;
	fds[2] = c->rules.fd;
	fds[3] = c->tables.fd;
	fds[4] = c->slots.fd;
	fds[5] = c->order.fd;
	names[n] = CLF_HITS_MAP;
	fds[n++] = c->hits_fd;
	names[n] = "prog";
	fds[n++] = c->prog_fd;
	names[n] = CLF_STATE_MAP;
	fds[n++] = c->state.fd;
	for (i = 0; i < WC_LPM_KINDS && clf_object(c); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(clf_object(c), lpm_slot_names[i]);

		names[n] = lpm_slot_names[i];
		fds[n++] = m ? bpf_map__fd(m) : -1;
	}
	ret = bpffs_mkdirs(dir, err, errlen);
	if (ret)
		return ret;
	for (done = 0; done < n && !ret; done++) {
		if (fds[done] < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, names[done]);
		if (bpf_obj_pin(fds[done], path)) {
			ret = -errno;
			seterr(err, errlen, "pinning %s: %s%s", path, strerror(-ret),
				   ret == -EEXIST ? " (a classifier is already pinned there)" : "");
			done--; /* not pinned */
		}
	}
	/* The tries' meta record and images (the maps' pins said the place was free). */
	if (!ret && clf_object(c))
		ret = lpm_pin(c, dir, err, errlen);
	/* Nothing half-pinned: take back exactly what this call pinned. */
	for (i = 0; ret && i < done; i++) {
		if (fds[i] < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	if (!ret && !c->pin_dir)
		c->pin_dir = strdup(dir);
	return ret;
}

/*
 * Every pin in dir goes (maps pinned by 'bpftool prog load ... pinmaps' have
 * more names than wcard's own), then dir. A directory without wc_config is
 * not a classifier and is left alone.
 */
int wcard_clf_unpin(const char *dir)
{
	char path[4096];
	struct dirent *e;
	int ret = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/" WCARD_CLF_PIN_MARK, dir);
	if (access(path, F_OK)) {
		ret = -errno;
		/* There, but not a classifier: not ours to empty. */
		return ret == -ENOENT && !access(dir, F_OK) ? -EPROTO : ret;
	}
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) && errno != ENOENT && !ret)
			ret = -errno;
	}
	closedir(d);
	if (rmdir(dir) && errno != ENOENT && !ret)
		ret = -errno;
	return ret;
}

/* ---- reopening a pinned classifier ---------------------------------------------- */

/* The layout recorded in a generation's config. */
static int layout_from_config(const struct wc_config *cfg, struct wcard_layout *l, char *err,
			      size_t errlen)
{
	struct wcard_field f[WC_MAX_FIELDS];
	unsigned int i;
	int ret;

	if (cfg->layout_id == WC_LAYOUT_IPV4_5T) {
		*l = *wcard_layout_ipv4();
		return 0;
	}
	if (cfg->layout_id == WC_LAYOUT_IPV6_5T) {
		*l = *wcard_layout_ipv6();
		return 0;
	}
	if (!cfg->nfields || cfg->nfields > WC_MAX_FIELDS)
		goto bad;
	for (i = 0; i < cfg->nfields; i++) {
		f[i].type = cfg->fields[i].type;
		f[i].width = cfg->fields[i].width;
		snprintf(f[i].name, sizeof(f[i].name), "f%u", i);
	}
	ret = wcard_layout_init(l, "custom", f, cfg->nfields, err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < cfg->nfields; i++)
		if (l->desc[i].word != cfg->fields[i].word)
			goto bad;
	return 0;
bad:
	seterr(err, errlen, "the pinned config holds no valid key layout");
	return -EPROTO;
}

/* ipv4-5tuple, ipv6-5tuple or inet. */
static bool ip_layout(const struct wcard_layout *l)
{
	return l->id == WC_LAYOUT_IPV4_5T || l->id == WC_LAYOUT_IPV6_5T || l->id == WC_LAYOUT_INET;
}

/* The layouts of the live generation's parts, and so the classifier's. */
static int layouts_from_configs(struct wcard_clf *c, char *err, size_t errlen)
{
	struct clf_part *p;
	int ret;

	for_each_part(c, p) {
		ret = layout_from_config(PCFG(c, p, c->gen), &p->layout, err, errlen);
		if (ret)
			return ret;
	}
	if (c->nparts == 1) {
		c->layout = c->part[0].layout;
		return 0;
	}
	if (c->part[0].layout.id != WC_LAYOUT_IPV4_5T ||
	    c->part[1].layout.id != WC_LAYOUT_IPV6_5T) {
		seterr(err, errlen, "the pinned config holds no valid key layout");
		return -EPROTO;
	}
	c->layout = *wcard_layout_inet();
	return 0;
}

int wcard_clf_open_pinned(const char *dir, const struct wcard_clf_opts *o, struct wcard_clf **out,
			  char *err, size_t errlen)
{
	int fds[CLF_NMAPS], hits_fd = -1, sfd, ret;
	struct wcard_clf *c = NULL;
	bool fast;
	const struct wc_config *cfg;
	struct clf_part *p;
	char path[4096];
	unsigned int i;

	if (!dir || !out)
		return -EINVAL;
	for (i = 0; i < CLF_NMAPS; i++)
		fds[i] = -1;
	for (i = 0; i < CLF_NMAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, clf_map_names[i]);
		fds[i] = bpf_obj_get(path);
		if (fds[i] < 0) {
			ret = -errno;
			seterr(err, errlen, "%s: %s%s", path, strerror(-ret),
				   ret == -ENOENT ? " (no such classifier)" :
				   ret == -EPERM || ret == -EACCES ? " (needs root or CAP_BPF)" :
								    "");
			goto fail;
		}
	}
	snprintf(path, sizeof(path), "%s/%s", dir, CLF_HITS_MAP);
	hits_fd = bpf_obj_get(path);
	c = clf_alloc();
	if (!c) {
		ret = -ENOMEM;
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/prog", dir);
	c->prog_fd = bpf_obj_get(path);
	/* From here on the classifier owns (and closes) every fd. */
	c->own_fds = true;
	for (i = 0; i < CLF_NMAPS; i++)
		c->own_fd[i] = fds[i];
	c->own_fd[CLF_NMAPS] = hits_fd;
	c->own_fd[CLF_NMAPS + 1] = c->prog_fd;
	ret = clf_attach(c, fds, hits_fd, err, errlen);
	for (i = 0; i < CLF_NMAPS; i++)
		fds[i] = -1;
	hits_fd = -1;
	if (ret)
		goto fail;
	/*
	 * Maps pinned straight from a load (bpftool prog load ... pinmaps DIR)
	 * are all zero: set up a new, empty classifier of the given layout.
	 */
	if (ROOT(c)->magic == 0 && ROOT(c)->version == 0 && CFG(c, 0)->magic == 0 &&
	    CFG(c, 1)->magic == 0) {

		if (!o || !o->layout || o->read_only) {
			seterr(err, errlen, "%s: maps of a new classifier: %s", dir,
				   o && o->read_only ? "no rules loaded yet (rules load NAME RULES)" :
						       "give its layout");
			ret = -EINVAL;
			goto fail;
		}
		ret = clf_check_opts(o, err, errlen);
		/* The maps must have room for the layout's parts. */
		c->nparts = o->layout->id == WC_LAYOUT_INET ? WC_MAX_PARTS : 1;
		if (!ret && c->nparts > c->cap_parts) {
			seterr(err, errlen, "%s: maps sized for one key layout, not for layout %s",
			       dir, o->layout->name);
			ret = -EINVAL;
		}
		if (!ret)
			ret = clf_rec_check(c, o->layout, err, errlen) ?: clf_setup(c, o) ?:
			      clf_state_create(c, err, errlen);
		if (ret)
			goto fail;
		/* Its state goes with the maps, for the next writer. */
		c->pin_dir = strdup(dir);
		snprintf(path, sizeof(path), "%s/%s", dir, CLF_STATE_MAP);
		unlink(path);
		if (bpf_obj_pin(c->state.fd, path)) {
			ret = -errno;
			seterr(err, errlen, "pinning %s: %s", path, strerror(-ret));
			goto fail;
		}
		*out = c;
		return 0;
	}
	if (ROOT(c)->magic != WC_MAGIC) {
		seterr(err, errlen, "%s: not a wcard classifier (bad magic)", dir);
		ret = -EPROTO;
		goto fail;
	}
	if (ROOT(c)->version != WC_VERSION) {
		seterr(err, errlen,
			   "%s: classifier format version %u, this wcard reads %u only (destroy "
			   "and create it again with this wcard, or use the wcard that made it)",
			   dir, ROOT(c)->version, WC_VERSION);
		ret = -EPROTO;
		goto fail;
	}
	ret = lpm_reopen(c, dir, err, errlen);
	if (ret)
		goto fail;
	c->gen = ROOT(c)->gen & (WC_GENS - 1);
	cfg = CFG(c, c->gen);
	c->nparts = cfg->parts;
	if (c->nparts < 1 || c->nparts > c->cap_parts) {
		seterr(err, errlen, "%s: the pinned config says %u parts, the maps hold %u", dir,
		       c->nparts, c->cap_parts);
		ret = -EPROTO;
		goto fail;
	}
	ret = layouts_from_configs(c, err, errlen) ?: clf_rec_check(c, &c->layout, err, errlen);
	if (ret)
		goto fail;
	/*
	 * inet and the layout of one family take each other's rules
	 * (wcard_ruleset_convert); the families' own layouts do not.
	 */
	if (o && o->layout && strcmp(o->layout->name, c->layout.name) &&
	    !(ip_layout(o->layout) && ip_layout(&c->layout) &&
	      (o->layout->id == WC_LAYOUT_INET || c->layout.id == WC_LAYOUT_INET))) {
		seterr(err, errlen, "%s: layout %s, not %s", dir, c->layout.name,
			   o->layout->name);
		ret = -EPROTO;
		goto fail;
	}
	wcard_ruleset_init(&c->rs.set, &c->layout);
	for_each_part(c, p) {
		p->base_cfg = *PCFG(c, p, c->gen);
		p->algo = p->base_cfg.algo;
	}
	/* An algorithm given at create time stays; one picked automatically is picked again. */
	c->algo_opt = o && o->algo ? o->algo : cfg->flags & WC_CFG_AUTO ? 0 : cfg->algo;
	c->collide = o && o->collide ? o->collide : TM_DEFAULT_COLLIDE;
	if (o && o->npool) {
		c->pool = calloc(o->npool, sizeof(*c->pool));
		if (!c->pool) {
			ret = -ENOMEM;
			goto fail;
		}
		memcpy(c->pool, o->pool, o->npool * sizeof(*c->pool));
		c->npool = o->npool;
	}
	/*
	 * The writer's state, pinned with the maps: when it describes the live
	 * generation (no writer died half-way), nothing else is read, and opening
	 * costs O(tables) whatever the number of rules.
	 */
	c->pin_dir = strdup(dir);
	snprintf(path, sizeof(path), "%s/%s", dir, CLF_STATE_MAP);
	sfd = bpf_obj_get(path);
	if (sfd >= 0 && clf_state_attach(c, sfd))
		close(sfd);
	fast = c->pin_dir && c->state.p && clf_state_ok(c) && !ROOT(c)->pending;
	for_each_part(c, p)
		p->algo = PCFG(c, p, c->gen)->algo;
	/* Read-only: the live generation as it is; nothing is rebuilt, switched or waited for. */
	if (o && o->read_only) {
		c->read_only = true;
		/* Without a state to trust, the rules read back give the counts. */
		ret = fast ? 0 : clf_rs_load(c);
		if (ret) {
			seterr(err, errlen, "%s: the maps hold no consistent rule set (%s)", dir,
			       strerror(-ret));
			goto fail;
		}
		*out = c;
		return 0;
	}
	if (c->algo_opt == WC_ALGO_STM && !c->npool) {
		seterr(err, errlen, "%s: static Tuple Merge: give the table pool again", dir);
		ret = -EINVAL;
		goto fail;
	}
	if (fast) {
		*out = c;
		return 0;
	}
	/*
	 * No state, or one a killed writer left busy: the rules the maps hold,
	 * rebuilt into the spare generation (garbage reclaimed), with a new state.
	 */
	ret = clf_rs_load(c);
	if (ret) {
		seterr(err, errlen, "%s: the maps hold no consistent rule set (%s)", dir,
			   strerror(-ret));
		goto fail;
	}
	if (!c->state.p) {
		ret = clf_state_create(c, err, errlen);
		if (ret)
			goto fail;
		unlink(path);
		if (bpf_obj_pin(c->state.fd, path)) {
			ret = -errno;
			seterr(err, errlen, "pinning %s: %s", path, strerror(-ret));
			goto fail;
		}
	}
	clf_state_busy(c, true);
	/*
	 * A writer killed between a generation switch and its grace period may
	 * have left lookups in the spare half: wait before rebuilding it.
	 */
	WST(c)->sync_owed = 1;
	ret = clf_republish(c, err, errlen);
	if (ret)
		goto fail;
	/* A change a killed writer left half-done is whole in the new generation. */
	__atomic_store_n(&ROOT(c)->pending, 0, __ATOMIC_RELEASE);
	*out = c;
	return 0;
fail:
	for (i = 0; i < CLF_NMAPS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (hits_fd >= 0)
		close(hits_fd);
	wcard_clf_destroy(c);
	return ret;
}
