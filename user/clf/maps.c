// SPDX-License-Identifier: MIT
/* maps.c: a classifier's maps: sizes before load, mmap, grace periods, hit counters. */
#include <stdio.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "clf_int.h"
#include "lpm/lpm_int.h"
#include "wcard_xdp.skel.h"
#include "compat/wcard_xdp.skel.h"
#include "core/skel.h"

/* Map sizes for max_rules rules per part and generation. */
static __u32 slots_per_gen(__u32 max_rules)
{
	return 4 * max_rules;
}

/* Parts of a classifier of layout l (wcard_common.h, WC_MAX_PARTS). */
static unsigned int layout_parts(const struct wcard_layout *l)
{
	return l && l->id == WC_LAYOUT_INET ? WC_MAX_PARTS : 1;
}

/* clf_int.h */
int clf_prepare_verdict(struct bpf_object *obj)
{
	bool meta = core_xdp_meta_ok(), compat = bpf_object__find_map_by_name(obj, WC_SCRATCH_MAP);
	int ret;

	ret = core_rodata_set_bool(obj, "wc_export_meta", meta);
	if (!ret || ret == -ENOENT)
		ret = core_rodata_set_bool(obj, "wc_keep_verdict", !meta || compat);
	return ret == -ENOENT ? 0 : ret;
}

int wcard_object_prepare_layout(struct bpf_object *obj, const struct wcard_layout *l,
				__u32 max_rules)
{
	/* Entries: (per_rule * max_rules + fixed) per part and generation; hit counters by id. */
	static const struct {
		const char *name;
		__u32 per_rule, fixed;
	} sz[] = {
		{ "wc_config", 0, 1 },
		{ "wc_rules", 1, 0 },
		{ "wc_tm_tables", 0, WC_TM_MAX_TABLES },
		{ "wc_tm_slots", 4, 0 },
		{ "wc_tm_order", 0, WC_TM_ORDER_RING },
	};
	unsigned int i, parts = layout_parts(l);
	__u32 format = clf_rec_format(l);
	struct bpf_map *m;
	int ret;

	if (!obj || max_rules == 0 || max_rules > WC_MAX_RULES)
		return -EINVAL;
	for (i = 0; i < sizeof(sz) / sizeof(sz[0]); i++) {
		m = bpf_object__find_map_by_name(obj, sz[i].name);
		if (!m)
			continue;
		ret = bpf_map__set_max_entries(
			m, WC_GENS * parts * (sz[i].per_rule * max_rules + sz[i].fixed));
		if (ret)
			return ret;
	}
	/* The rule records: compact for ipv4-5tuple (wcard_common.h, WC_REC_*). */
	m = bpf_object__find_map_by_name(obj, "wc_rules");
	ret = core_rodata_u32(obj, "wc_rec_format", 0, NULL, &format);
	if (ret == -ENOENT)
		format = WC_REC_GENERIC;
	else if (ret)
		return ret;
	if (m) {
		ret = bpf_map__set_value_size(m, clf_rec_size(format));
		if (ret)
			return ret;
	}
	ret = clf_prepare_verdict(obj);
	if (ret)
		return ret;
	m = bpf_object__find_map_by_name(obj, CLF_HITS_MAP);
	return m ? bpf_map__set_max_entries(m, WC_HITS_ENTRIES(max_rules)) : 0;
}

int wcard_object_prepare(struct bpf_object *obj, __u32 max_rules)
{
	return wcard_object_prepare_layout(obj, NULL, max_rules);
}

const struct wcard_layout *clf_part_layout(const struct wcard_layout *l, unsigned int idx)
{
	if (l->id != WC_LAYOUT_INET)
		return l;
	return idx == WC_PART_V6 ? wcard_layout_ipv6() : wcard_layout_ipv4();
}

bool clf_in_part(const struct wcard_clf *c, const struct clf_part *p, const struct wcard_rule *r)
{
	return c->nparts == 1 || !r->family || (r->family == 6) == (p->idx == WC_PART_V6);
}

static int map_info(int fd, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

int clf_arr_map(struct mmap_arr *a, int fd, bool lazy)
{
	size_t page = sysconf(_SC_PAGESIZE), chunks;
	struct bpf_map_info info;
	int ret = map_info(fd, &info);

	if (ret)
		return ret;
	if (info.type != BPF_MAP_TYPE_ARRAY || !(info.map_flags & BPF_F_MMAPABLE))
		return -EINVAL;
	a->fd = fd;
	a->len = (((info.value_size + 7) & ~7UL) * info.max_entries + page - 1) & ~(page - 1);
	chunks = (a->len + (1UL << CLF_CHUNK_SHIFT) - 1) >> CLF_CHUNK_SHIFT;
	/* Small maps are mapped whole; a big one gets an address range, filled as touched. */
	if (lazy && chunks > 4) {
		a->mapped = calloc((chunks + 63) / 64, sizeof(*a->mapped));
		if (!a->mapped)
			return -ENOMEM;
		a->p = mmap(NULL, a->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			    -1, 0);
	} else {
		a->p = mmap(NULL, a->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	}
	if (a->p == MAP_FAILED) {
		ret = -errno;
		a->p = NULL;
		free(a->mapped);
		a->mapped = NULL;
		return ret;
	}
	return 0;
}

void clf_arr_fault(struct mmap_arr *a, size_t off, size_t len)
{
	size_t c, e, c0 = off >> CLF_CHUNK_SHIFT, c1 = (off + len - 1) >> CLF_CHUNK_SHIFT;

#define CHUNK_MAPPED(a, c) ((a)->mapped[(c) / 64] & (1ULL << ((c) % 64)))
	for (c = c0; c <= c1; c = e) {
		size_t at = c << CLF_CHUNK_SHIFT, n;
		void *p;

		if (CHUNK_MAPPED(a, c)) {
			e = c + 1;
			continue;
		}
		/* A run of chunks not mapped yet, in one call: a reader of every rule makes one. */
		for (e = c + 1; e <= c1 && !CHUNK_MAPPED(a, e); e++)
			;
		n = (e - c) << CLF_CHUNK_SHIFT;
		if (at + n > a->len)
			n = a->len - at;
		p = mmap((char *)a->p + at, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 a->fd, (off_t)at);
		if (p == MAP_FAILED) {
			/* No way to go on: every caller writes or reads through the pointer. */
			fprintf(stderr, "libwcard: mmap of map fd %d at %zu: %s\n", a->fd, at,
				strerror(errno));
			abort();
		}
		for (; c < e; c++)
			a->mapped[c / 64] |= 1ULL << (c % 64);
	}
#undef CHUNK_MAPPED
}

void clf_arr_unmap(struct mmap_arr *a)
{
	if (a->p)
		munmap(a->p, a->len);
	a->p = NULL;
	free(a->mapped);
	a->mapped = NULL;
}

/* Grace period: no lookup that began before this is still running (gp.h). */
int clf_sync(struct wcard_clf *c)
{
	return gp_wait(&c->gp);
}

int clf_check_opts(const struct wcard_clf_opts *o, char *err, size_t errlen)
{
	if (!o || !o->layout)
		return -EINVAL;
	if (o->max_rules > WC_MAX_RULES) {
		seterr(err, errlen, "max rules %u exceeds the limit %u", o->max_rules, WC_MAX_RULES);
		return -E2BIG;
	}
	if (o->algo && o->algo != WC_ALGO_BF && o->algo != WC_ALGO_TM && o->algo != WC_ALGO_STM &&
	    o->algo != WC_ALGO_LPM) {
		seterr(err, errlen, "algorithm %d is not supported", o->algo);
		return -EOPNOTSUPP;
	}
	if (o->nonip_action && o->nonip_action != WC_ACT_PASS && o->nonip_action != WC_ACT_DROP) {
		seterr(err, errlen, "non-IP action %u is neither pass nor drop",
			   o->nonip_action);
		return -EINVAL;
	}
	if (o->algo == WC_ALGO_STM && (!o->pool || !o->npool)) {
		seterr(err, errlen, "static Tuple Merge needs a table pool");
		return -EINVAL;
	}
	if (o->algo == WC_ALGO_STM && o->layout->id == WC_LAYOUT_INET) {
		seterr(err, errlen,
		       "static Tuple Merge takes the table pool of one family's layout: give "
		       "layout ipv4-5tuple or ipv6-5tuple");
		return -EINVAL;
	}
	if (o->npool > WC_TM_MAX_TABLES) {
		seterr(err, errlen, "table pool of %u tuples exceeds %u tables", o->npool,
		       WC_TM_MAX_TABLES);
		return -E2BIG;
	}
	return 0;
}

/* The classifier's mmapped maps, in the order clf_attach takes their fds (and pins list them). */
const char *const clf_map_names[CLF_NMAPS] = {
	"wc_root", WCARD_CLF_PIN_MARK, "wc_rules", "wc_tm_tables", "wc_tm_slots", "wc_tm_order",
};

/* mmap the classifier's maps (fds[i] for clf_map_names[i]) and check their sizes. */
int clf_attach(struct wcard_clf *c, const int *fds, int hits_fd, char *err, size_t errlen)
{
	static const __u32 vsz[CLF_NMAPS] = { sizeof(struct wc_root), sizeof(struct wc_config),
					      sizeof(struct wc_rule), sizeof(struct wc_tm_table),
					      sizeof(struct wc_tm_slot),
					      sizeof(struct wc_tm_order_buf) };
	struct mmap_arr *arrs[CLF_NMAPS] = { &c->root,   &c->config, &c->rules,
					     &c->tables, &c->slots,  &c->order };
	struct bpf_prog_info info = {};
	struct bpf_map_info mi[CLF_NMAPS];
	__u32 info_len = sizeof(info), i, parts;
	int ret;

	for (i = 0; i < CLF_NMAPS; i++) {
		ret = map_info(fds[i], &mi[i]);
		/* wc_rules: the record format's size says the format (clf_rec_check). */
		if (!ret && i == 2 && mi[i].value_size == clf_rec_size(WC_REC_IPV4))
			c->rec_format = WC_REC_IPV4;
		else if (!ret && i == 2)
			c->rec_format = WC_REC_GENERIC;
		if (ret || mi[i].value_size != (i == 2 ? clf_rec_size(c->rec_format) : vsz[i])) {
			seterr(err, errlen,
				   "map %s: %s (built for another wcard version or layout?)",
				   clf_map_names[i], ret ? strerror(-ret) : "unexpected value size");
			return ret ? ret : -EPROTO;
		}
		/* The rules, bucket slots and order buffers: as touched. */
		ret = clf_arr_map(arrs[i], fds[i], i >= 2 && i != 3);
		if (ret) {
			seterr(err, errlen, "mmap of map %s: %s (is it BPF_F_MMAPABLE?)",
				   clf_map_names[i], strerror(-ret));
			return ret;
		}
	}
	/*
	 * The config map has a config per part and generation: room for as
	 * many parts as the layout's, or more (an object at its defaults).
	 */
	parts = mi[1].max_entries / WC_GENS;
	if (parts < 1 || parts > WC_MAX_PARTS || c->nparts > parts) {
		seterr(err, errlen,
		       "maps sized for %u part(s), the layout has %u: prepare the object with "
		       "wcard_object_prepare_layout()", parts, c->nparts);
		return -EINVAL;
	}
	c->cap_parts = parts;
	c->rec_size = clf_rec_size(c->rec_format);
	c->max_rules = mi[2].max_entries / (WC_GENS * parts);
	if (hits_fd >= 0) {
		struct bpf_map_info hi;

		ret = map_info(hits_fd, &hi);
		if (ret || hi.max_entries < WC_HITS_ENTRIES(c->max_rules) ||
		    hi.value_size != sizeof(struct wc_counter)) {
			seterr(err, errlen, "map wc_hits: %s", ret ? strerror(-ret) :
				   "too small or of another layout (wcard_object_prepare())");
			return ret ? ret : -EPROTO;
		}
	}
	c->hits_fd = hits_fd;
	c->nslots = slots_per_gen(c->max_rules);
	if (mi[4].max_entries < WC_GENS * parts * c->nslots ||
	    mi[3].max_entries < WC_GENS * parts * WC_TM_MAX_TABLES ||
	    mi[5].max_entries < WC_GENS * parts * WC_TM_ORDER_RING) {
		seterr(err, errlen, "maps too small: call wcard_object_prepare() before load");
		return -EINVAL;
	}
	/*
	 * The grace-period maps are made when a grace period is first needed:
	 * most single changes take none, and making them costs libbpf's feature
	 * probes. The privilege they need is the one the maps just opened did.
	 */
	if (c->prog_fd >= 0 && !bpf_obj_get_info_by_fd(c->prog_fd, &info, &info_len))
		c->verified_insns = info.verified_insns;
	return 0;
}

int clf_rec_check(const struct wcard_clf *c, const struct wcard_layout *l, char *err,
		  size_t errlen)
{
	if (c->rec_format == WC_REC_GENERIC || clf_rec_format(l) == c->rec_format)
		return 0;
	seterr(err, errlen,
	       "map wc_rules holds ipv4-5tuple records, the classifier's layout is %s: prepare "
	       "the object with wcard_object_prepare_layout() for this layout", l->name);
	return -EPROTO;
}

/* Maps found, sized and loaded: map them, write both generations' empty config. */
int clf_init(struct wcard_clf *c, struct bpf_object *obj, const struct wcard_clf_opts *o,
	     char *err, size_t errlen)
{
	struct bpf_map *hits = bpf_object__find_map_by_name(obj, CLF_HITS_MAP);
	int fds[CLF_NMAPS], ret;
	__u32 i;

	c->nparts = layout_parts(o->layout);
	for (i = 0; i < CLF_NMAPS; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, clf_map_names[i]);

		if (!m) {
			seterr(err, errlen,
				   "BPF object has no map %s (include <wcard/classify.bpf.h>)",
				   clf_map_names[i]);
			return -ENOENT;
		}
		fds[i] = bpf_map__fd(m);
	}
	ret = clf_attach(c, fds, hits ? bpf_map__fd(hits) : -1, err, errlen) ?:
	      clf_rec_check(c, o->layout, err, errlen);
	return ret ? ret : clf_setup(c, o);
}

/* Part p's config template: its layout, the classifier's actions and limits. */
static void part_setup(struct wcard_clf *c, struct clf_part *p, const struct wcard_clf_opts *o)
{
	struct wc_config *b = &p->base_cfg;
	unsigned int i, g;

	memset(b, 0, sizeof(*b));
	b->magic = WC_MAGIC;
	b->version = WC_VERSION;
	b->layout_id = p->layout.id;
	b->algo = WC_ALGO_BF;
	b->flags = WC_CFG_SORTED | (o->algo ? 0 : WC_CFG_AUTO);
	b->nwords = p->layout.nwords;
	b->range_words = wcard_layout_range_words(&p->layout);
	b->nfields = p->layout.nfields;
	for (i = 0; i < p->layout.nfields; i++)
		b->fields[i] = p->layout.desc[i];
	b->default_action = o->default_action ? o->default_action : WC_ACT_PASS;
	b->nonip_action = o->nonip_action ? o->nonip_action : WC_ACT_PASS;
	b->bad_action = WC_ACT_DROP;
	b->max_rules = c->max_rules;
	b->parts = c->nparts;
	for (g = 0; g < WC_GENS; g++) {
		struct wc_config *cfg = PCFG(c, p, g);

		*cfg = *b;
		cfg->self = clf_region(p, g);
		cfg->rules_base = RBASE(c, p, g);
		cfg->tables_base = TBASE(p, g);
		cfg->order_base = OBASE(p, g);
	}
	p->algo = WC_ALGO_BF;
}

/* A new, empty classifier of o's layout over attached maps (every generation set up). */
int clf_setup(struct wcard_clf *c, const struct wcard_clf_opts *o)
{
	struct clf_part *p;

	c->layout = *o->layout;
	wcard_ruleset_init(&c->rs.set, &c->layout);
	c->algo_opt = o->algo;
	c->collide = o->collide ? o->collide : TM_DEFAULT_COLLIDE;
	if (o->npool) {
		c->pool = calloc(o->npool, sizeof(*c->pool));
		if (!c->pool)
			return -ENOMEM;
		memcpy(c->pool, o->pool, o->npool * sizeof(*c->pool));
		c->npool = o->npool;
	}
	for_each_part(c, p) {
		p->layout = *clf_part_layout(&c->layout, p->idx);
		part_setup(c, p, o);
	}
	ROOT(c)->magic = WC_MAGIC;
	ROOT(c)->version = WC_VERSION;
	__atomic_store_n(&ROOT(c)->gen, 0, __ATOMIC_RELEASE);
	c->gen = 0;
	return 0;
}

/*
 * Zero hit counters of generation g's half: the ids in ids[0..n), or every id
 * when all is set. Callers make sure no lookup counts there meanwhile (the
 * half is not live, or the ids are out of use), so no increment is lost.
 */
int clf_hits_zero(struct wcard_clf *c, unsigned int g, bool all, const __u32 *ids, size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	int ncpu = libbpf_num_possible_cpus();
	__u32 *keys, count, i;
	void *zero;
	int ret = 0;

	if (all)
		n = WC_ID_LIMIT(c->max_rules);
	if (c->hits_fd < 0 || ncpu <= 0 || !n)
		return 0;
	keys = calloc(n, sizeof(*keys));
	zero = calloc(n, (size_t)ncpu * sizeof(struct wc_counter));
	if (!keys || !zero) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		keys[i] = WC_HITS_INDEX(g, c->max_rules, all ? i : ids[i]);
	count = n;
	if (bpf_map_update_batch(c->hits_fd, keys, zero, &count, &bo)) {
		ret = -errno;
		/*
		 * Linux 5.10 has no batch operations on per-CPU arrays (EINVAL):
		 * one update per id, each with every CPU's zero.
		 */
		if (ret == -EINVAL || ret == -524 /* ENOTSUPP */ || ret == -EOPNOTSUPP)
			for (ret = 0, i = 0; i < n && !ret; i++)
				if (bpf_map_update_elem(c->hits_fd, &keys[i], zero, 0))
					ret = -errno;
	}
out:
	free(keys);
	free(zero);
	return ret;
}

int clf_check_writable(const struct wcard_clf *c, char *err, size_t errlen)
{
	if (!c->read_only)
		return 0;
	seterr(err, errlen, "the classifier was opened read-only: open it again to change it");
	return -EROFS;
}

