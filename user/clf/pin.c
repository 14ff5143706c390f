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
						   &tries_of(c, k)[g], err, errlen);
		}
		close(slot);
	}
	return ret;
}

int wcard_clf_pinned_object(struct bpf_object *obj, const char *dir, char *err, size_t errlen)
{
	char path[4200];
	struct lpm_meta m;
	int k, ret;

	if (!obj || !dir)
		return -EINVAL;
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
	const char *names[CLF_NMAPS + 2 + WC_LPM_KINDS];
	int fds[CLF_NMAPS + 2 + WC_LPM_KINDS];
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

/* ---- rebuilding the rule set from the maps --------------------------------- */

/* The rule model of compiled rule r (the inverse of wcard_rule_compile). */
static void decompile(const struct wcard_layout *l, const struct wc_rule *r, struct wcard_rule *out)
{
	unsigned int f;

	memset(out, 0, sizeof(*out));
	out->prio = r->rank >> 32;
	out->value = r->value;
	out->id = r->id & ~WC_ID_FLAGS;
	for (f = 0; f < l->nfields; f++) {
		const struct wc_field_desc *d = &l->desc[f];
		const struct wc_word_match *w = &r->w[d->word];
		struct wcard_match *m = &out->f[f];

		if (d->type == WC_FIELD_RANGE) {
			m->lo = w->lo;
			m->hi = w->lo + w->span;
			continue;
		}
		if (d->nwords == 2) {
			m->mask = ((wc_u128)w[0].mask << 64) | w[1].mask;
			m->value = ((wc_u128)w[0].lo << 64) | w[1].lo;
		} else {
			m->mask = w->mask;
			m->value = w->lo;
		}
		if (d->type == WC_FIELD_PREFIX)
			m->plen = __builtin_popcountll((__u64)(m->mask >> 64)) +
				  __builtin_popcountll((__u64)m->mask);
		else if (d->type == WC_FIELD_EXACT)
			m->plen = m->mask ? d->width * 8 : 0;
	}
}

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

/*
 * Add rule slot idx (absolute) of part p to the set under its id, unless
 * already there (a half-done move, or a rule of both families met in the
 * other part). seen[id] gets p's bit.
 */
static int take_rule(struct wcard_clf *c, struct clf_part *p, __u32 idx, __u32 *maxseq,
		     __u8 *seen)
{
	const struct wc_rule *r = RULE(c, idx);
	__u32 id = r->id & ~WC_ID_FLAGS;
	struct wcard_rule wr;
	size_t n;

	/* Ids stay below WC_ID_LIMIT (see wcard_clf_insert). */
	if (id >= WC_ID_LIMIT((size_t)c->max_rules))
		return -EPROTO;
	seen[id] |= 1u << p->idx;
	if (id < c->rs.set.n && c->rs.live[id])
		return 0;
	if (clf_set_reserve(c, (size_t)id + 1))
		return -ENOMEM;
	decompile(&p->layout, r, &wr);
	/* Ids index the set: fill any gap with dead placeholders. */
	for (n = c->rs.set.n; n <= id; n++) {
		struct wcard_rule blank;
		int ret;

		wcard_rule_any(&p->layout, &blank);
		blank.id = n;
		ret = wcard_ruleset_add(&c->rs.set, n == id ? &wr : &blank);
		if (ret)
			return ret;
	}
	c->rs.set.rules[id] = wr;
	c->rs.rank[id] = r->rank;
	c->rs.live[id] = true;
	if ((__u32)r->rank >= *maxseq)
		*maxseq = (__u32)r->rank + 1;
	return 0;
}

/*
 * The rules lookups can reach in part p's live generation: brute force's
 * sorted array, or every chain of every table in the current order buffer.
 * Slots a killed writer wrote but never linked are not reachable: they are
 * garbage, and the republish that follows reclaims them.
 */
static int collect_rules(struct wcard_clf *c, struct clf_part *p, __u32 *maxseq, __u8 *seen)
{
	const struct wc_config *cfg = PCFG(c, p, c->gen);
	__u32 i, k, hops;
	int ret = 0;

	/* The bases are where clf_setup put them; anything else is not ours. */
	if (cfg->rules_base != RBASE(c, p, c->gen) || cfg->tables_base != TBASE(p, c->gen) ||
	    cfg->order_base != OBASE(p, c->gen) || cfg->max_rules != c->max_rules ||
	    cfg->self != clf_region(p, c->gen) || cfg->parts != c->nparts)
		return -EPROTO;
	/* The LPM fast path keeps its rules as brute force does (sorted, in a row). */
	if (cfg->algo == WC_ALGO_BF || cfg->algo == WC_ALGO_LPM) {
		for (i = 0; i < cfg->nrules && i < c->max_rules && !ret; i++)
			ret = take_rule(c, p, cfg->rules_base + i, maxseq, seen);
	} else {
		const struct wc_tm_order_buf *ob;

		if (cfg->order >= WC_TM_ORDER_RING)
			return -EPROTO;
		ob = ORDER(c, cfg->order_base + cfg->order);
		for (i = 0; i < ob->n && i < WC_TM_MAX_TABLES && !ret; i++) {
			const struct wc_tm_table *tb;
			__u32 first, lg;

			if (ob->e[i].table >= WC_TM_MAX_TABLES)
				return -EPROTO;
			tb = TABLE(c, cfg->tables_base + ob->e[i].table);
			first = tb->slots >> 8;
			lg = tb->slots & 31;
			if (lg > 30 || first < SBASE(c, p, c->gen) ||
			    first + (1ull << lg) > (__u64)SBASE(c, p, c->gen) + c->nslots)
				return -EPROTO;
			for (k = 0; k < (1u << lg) && !ret; k++) {
				__u32 h = SLOT(c, first + k)->head;

				/* A chain longer than the rule slots would be a cycle. */
				for (hops = 0; h && !ret && hops <= c->max_rules; hops++) {
					if (h > c->max_rules)
						return -EPROTO;
					ret = take_rule(c, p, cfg->rules_base + h - 1, maxseq,
							seen);
					h = RULE(c, cfg->rules_base + h - 1)->next;
				}
			}
		}
	}
	return ret;
}

/*
 * Every part's rules, then what the parts say of each: in a dual-stack
 * classifier a rule found in both parts is of both families, one found in
 * one part only of that part's family.
 */
static int collect_all(struct wcard_clf *c)
{
	__u8 *seen = calloc(WC_ID_LIMIT((size_t)c->max_rules), 1);
	__u32 maxseq = 0, pend = ROOT(c)->pending, pid = (pend & ~WC_PENDING_LIVE) - 1;
	struct clf_part *p;
	size_t i;
	int ret = 0;

	if (!seen)
		return -ENOMEM;
	for_each_part(c, p) {
		ret = collect_rules(c, p, &maxseq, seen);
		if (ret)
			break;
	}
	/*
	 * A rule of both families that a killed writer left in one part: the
	 * insert or delete it was making is finished (an insert puts it into
	 * both parts, a delete takes it out of both).
	 */
	if (!ret && pend && c->nparts > 1 && pid < c->rs.set.n && c->rs.live[pid] &&
	    seen[pid] != 3) {
		if (pend & WC_PENDING_LIVE)
			seen[pid] = 3;
		else
			c->rs.live[pid] = false;
	}
	for (i = 0; !ret && i < c->rs.set.n; i++) {
		if (!c->rs.live[i])
			continue;
		if (c->nparts > 1)
			c->rs.set.rules[i].family = seen[i] == 3 ? 0 : seen[i] == 1 ? 4 : 6;
		c->rs.live[i] = false;
		clf_set_live(c, (__u32)i, true);
	}
	c->rs.seq = maxseq;
	free(seen);
	return ret;
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
	int fds[CLF_NMAPS], hits_fd = -1, ret;
	struct wcard_clf *c = NULL;
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
			ret = clf_setup(c, o);
		if (ret)
			goto fail;
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
	ret = layouts_from_configs(c, err, errlen);
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
	ret = collect_all(c);
	if (ret) {
		seterr(err, errlen, "%s: the maps hold no consistent rule set (%s)", dir,
			   strerror(-ret));
		goto fail;
	}
	/* Read-only: the live generation as it is; nothing is rebuilt, switched or waited for. */
	if (o && o->read_only) {
		c->read_only = true;
		for_each_part(c, p) {
			cfg = PCFG(c, p, c->gen);
			p->on.rules_hwm = cfg->nrules;
			if (cfg->algo == WC_ALGO_TM || cfg->algo == WC_ALGO_STM)
				p->ntables = ORDER(c, cfg->order_base + cfg->order)->n;
		}
		*out = c;
		return 0;
	}
	if (c->algo_opt == WC_ALGO_STM && !c->npool) {
		seterr(err, errlen, "%s: static Tuple Merge: give the table pool again", dir);
		ret = -EINVAL;
		goto fail;
	}
	/*
	 * A writer killed between a generation switch and its grace period may
	 * have left lookups in the spare half: wait before rebuilding it.
	 */
	ret = clf_sync(c);
	if (ret) {
		seterr(err, errlen, "waiting for running lookups: %s", strerror(-ret));
		goto fail;
	}
	/* Rebuild model and maps into the spare generation: garbage is reclaimed. */
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
