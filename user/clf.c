// SPDX-License-Identifier: MIT
/* clf.c: the BPF classifier object of libwcard: load the maps, publish rule sets by generation, run frames. */
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
#include "lpmidx.h"
#include "wcard_xdp.skel.h"
#include "compat/wcard_xdp.skel.h"
#include "skel.h"

static bool verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void wcard_set_verbose(bool on)
{
	verbose = on;
	libbpf_set_print(libbpf_print);
}

/* libbpf's messages through ours (warnings only, unless verbose): a no-op once set. */
void clf_print_init(void)
{
	if (!verbose)
		wcard_set_verbose(false);
}

void clf_seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/* Map sizes for max_rules rules per generation. */
static __u32 slots_per_gen(__u32 max_rules)
{
	return 4 * max_rules;
}

int wcard_object_prepare(struct bpf_object *obj, __u32 max_rules)
{
	static const struct {
		const char *name;
		int per_rule; /* entries per rule per generation; 0 = fixed size */
		int plus;
	} sz[] = {
		{ "wc_rules", 1, 0 },
		{ "wc_tm_slots", 4, 0 },
		{ "wc_hits", WC_ID_LIMIT(1), 1 },
	};
	unsigned int i;
	int ret;

	if (!obj || max_rules == 0 || max_rules > WC_MAX_RULES)
		return -EINVAL;
	for (i = 0; i < sizeof(sz) / sizeof(sz[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, sz[i].name);

		if (!m)
			continue;
		ret = bpf_map__set_max_entries(m, WC_GENS * sz[i].per_rule * max_rules + sz[i].plus);
		if (ret)
			return ret;
	}
	return 0;
}

static int map_info(int fd, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

static int arr_map(struct mmap_arr *a, int fd)
{
	size_t page = sysconf(_SC_PAGESIZE);
	struct bpf_map_info info;
	int ret = map_info(fd, &info);

	if (ret)
		return ret;
	if (info.type != BPF_MAP_TYPE_ARRAY || !(info.map_flags & BPF_F_MMAPABLE))
		return -EINVAL;
	a->fd = fd;
	a->len = (((info.value_size + 7) & ~7UL) * info.max_entries + page - 1) & ~(page - 1);
	a->p = mmap(NULL, a->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a->p == MAP_FAILED) {
		a->p = NULL;
		return -errno;
	}
	return 0;
}

static void arr_unmap(struct mmap_arr *a)
{
	if (a->p)
		munmap(a->p, a->len);
	a->p = NULL;
}

/* Grace period: no lookup that began before this is still running (gp.h). */
int clf_sync(struct wcard_clf *c)
{
	return gp_wait(&c->gp);
}

/*
 * The LPM fast path's tries, sized before load for a layout's PREFIX fields of
 * 4 and 16 bytes: a route slot per rule, and trie nodes (2 KiB each) for a
 * quarter of the rules, between 1024 and 16384. A rule set needing more nodes
 * stays with Tuple Merge.
 */
static int lpm_prepare(struct bpf_object *obj, const struct wcard_layout *l, __u32 max_rules)
{
	__u32 nodes = max_rules / 4 < 1024 ? 1024 : max_rules / 4 > 16384 ? 16384 : max_rules / 4;
	bool w4 = false, w16 = false;
	unsigned int f;
	int ret = 0;

	for (f = 0; f < l->nfields; f++) {
		w4 |= l->fields[f].type == WC_FIELD_PREFIX && l->fields[f].width == 4;
		w16 |= l->fields[f].type == WC_FIELD_PREFIX && l->fields[f].width == 16;
	}
	if (w4)
		ret = wcard_trie4_prepare(obj, max_rules, nodes);
	if (w16 && !ret)
		ret = wcard_lpm6_prepare(obj, max_rules, nodes);
	return ret;
}

/* A trie per generation from generation 0's (t[0]): all or none. */
static void lpm_gens(struct wcard_trie **t)
{
	unsigned int g;

	for (g = 1; g < WC_GENS && t[0]; g++) {
		if (!lpm_trie_sibling(t[0], g, &t[g]))
			continue;
		while (g--) {
			wcard_trie_close(t[g]);
			t[g] = NULL;
		}
	}
}

/* Open the tries lpm_prepare made (none, if the object's owner did not prepare them). */
static void lpm_open(struct wcard_clf *c, struct bpf_object *obj)
{
	char err[256];

	if (wcard_trie4_open(obj, &c->lpm4[0], err, sizeof(err)))
		c->lpm4[0] = NULL;
	if (wcard_lpm6_open(obj, &c->lpm6[0], err, sizeof(err)))
		c->lpm6[0] = NULL;
	lpm_gens(c->lpm4);
	lpm_gens(c->lpm6);
}

/*
 * Free generation g's trie images (and with spare, an unused spare): for a
 * generation no lookup can use, that is not live and whose last switch away
 * was followed by a grace period.
 */
static void lpm_gen_drop(struct wcard_clf *c, unsigned int g, bool spare)
{
	lpm_trie_drop(c->lpm4[g], spare);
	lpm_trie_drop(c->lpm6[g], spare);
}

int clf_check_opts(const struct wcard_clf_opts *o, char *err, size_t errlen)
{
	if (!o || !o->layout)
		return -EINVAL;
	if (o->max_rules > WC_MAX_RULES) {
		clf_seterr(err, errlen, "max rules %u exceeds the limit %u", o->max_rules, WC_MAX_RULES);
		return -E2BIG;
	}
	if (o->algo && o->algo != WC_ALGO_BF && o->algo != WC_ALGO_TM && o->algo != WC_ALGO_STM &&
	    o->algo != WC_ALGO_LPM) {
		clf_seterr(err, errlen, "algorithm %d is not supported", o->algo);
		return -EOPNOTSUPP;
	}
	if (o->nonip_action && o->nonip_action != WC_ACT_PASS && o->nonip_action != WC_ACT_DROP) {
		clf_seterr(err, errlen, "non-IP action %u is neither pass nor drop",
			   o->nonip_action);
		return -EINVAL;
	}
	if (o->algo == WC_ALGO_STM && (!o->pool || !o->npool)) {
		clf_seterr(err, errlen, "static Tuple Merge needs a table pool");
		return -EINVAL;
	}
	if (o->npool > WC_TM_MAX_TABLES) {
		clf_seterr(err, errlen, "table pool of %u tuples exceeds %u tables", o->npool,
		       WC_TM_MAX_TABLES);
		return -E2BIG;
	}
	return 0;
}

/* Maps found, sized and loaded: map them, write both generations' empty config. */
const char *const clf_map_names[CLF_NMAPS] = { "wc_root",	  "wc_config",
						 "wc_rules",	  "wc_tm_tables",
						 "wc_tm_slots", "wc_tm_order" };

/* mmap the classifier's maps (fds[i] for clf_map_names[i]) and check their sizes. */
int clf_attach(struct wcard_clf *c, const int *fds, int hits_fd, char *err, size_t errlen)
{
	static const __u32 vsz[CLF_NMAPS] = { sizeof(struct wc_root), sizeof(struct wc_config),
					      sizeof(struct wc_rule), sizeof(struct wc_tm_table),
					      sizeof(struct wc_tm_slot),
					      sizeof(struct wc_tm_order) };
	struct mmap_arr *arrs[CLF_NMAPS] = { &c->root,   &c->config, &c->rules,
					     &c->tables, &c->slots,  &c->order };
	struct bpf_prog_info info = {};
	struct bpf_map_info mi[CLF_NMAPS];
	__u32 info_len = sizeof(info), i;
	int ret;

	for (i = 0; i < CLF_NMAPS; i++) {
		ret = map_info(fds[i], &mi[i]);
		if (ret || mi[i].value_size != vsz[i]) {
			clf_seterr(err, errlen,
				   "map %s: %s (built for another wcard version or layout?)",
				   clf_map_names[i], ret ? strerror(-ret) : "unexpected value size");
			return ret ? ret : -EPROTO;
		}
		ret = arr_map(arrs[i], fds[i]);
		if (ret) {
			clf_seterr(err, errlen, "mmap of map %s: %s (is it BPF_F_MMAPABLE?)",
				   clf_map_names[i], strerror(-ret));
			return ret;
		}
	}
	c->max_rules = mi[2].max_entries / WC_GENS;
	if (hits_fd >= 0) {
		struct bpf_map_info hi;

		ret = map_info(hits_fd, &hi);
		if (ret || hi.max_entries < WC_HITS_ENTRIES(c->max_rules) ||
		    hi.value_size != sizeof(struct wc_counter)) {
			clf_seterr(err, errlen, "map wc_hits: %s", ret ? strerror(-ret) :
				   "too small or of another layout (wcard_object_prepare())");
			return ret ? ret : -EPROTO;
		}
	}
	c->hits_fd = hits_fd;
	c->nslots = slots_per_gen(c->max_rules);
	if (mi[4].max_entries < WC_GENS * c->nslots || mi[1].max_entries < WC_GENS ||
	    mi[3].max_entries < WC_GENS * WC_TM_MAX_TABLES ||
	    mi[5].max_entries < WC_GENS * WC_TM_ORDER_RING) {
		clf_seterr(err, errlen, "maps too small: call wcard_object_prepare() before load");
		return -EINVAL;
	}
	/* Create the grace-period maps now: a missing privilege shows here, not mid-update. */
	ret = gp_wait(&c->gp);
	if (ret) {
		clf_seterr(err, errlen, "creating the grace-period map: %s", strerror(-ret));
		return ret;
	}
	if (c->prog_fd >= 0 && !bpf_obj_get_info_by_fd(c->prog_fd, &info, &info_len))
		c->verified_insns = info.verified_insns;
	return 0;
}

/* Maps found, sized and loaded: map them, write both generations' empty config. */
static int clf_init(struct wcard_clf *c, struct bpf_object *obj, const struct wcard_clf_opts *o,
		    char *err, size_t errlen)
{
	struct bpf_map *hits = bpf_object__find_map_by_name(obj, "wc_hits");
	int fds[CLF_NMAPS], ret;
	__u32 i;

	for (i = 0; i < CLF_NMAPS; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, clf_map_names[i]);

		if (!m) {
			clf_seterr(err, errlen,
				   "BPF object has no map %s (include <wcard/classify.bpf.h>)",
				   clf_map_names[i]);
			return -ENOENT;
		}
		fds[i] = bpf_map__fd(m);
	}
	ret = clf_attach(c, fds, hits ? bpf_map__fd(hits) : -1, err, errlen);
	return ret ? ret : clf_setup(c, o);
}

/* A new, empty classifier of o's layout over attached maps (every generation set up). */
int clf_setup(struct wcard_clf *c, const struct wcard_clf_opts *o)
{
	__u32 i, g;

	c->layout = *o->layout;
	wcard_ruleset_init(&c->set, &c->layout);
	c->algo_opt = o->algo;
	c->collide = o->collide ? o->collide : WC_TM_DEFAULT_COLLIDE;
	if (o->npool) {
		c->pool = calloc(o->npool, sizeof(*c->pool));
		if (!c->pool)
			return -ENOMEM;
		memcpy(c->pool, o->pool, o->npool * sizeof(*c->pool));
		c->npool = o->npool;
	}
	c->base_cfg.magic = WC_MAGIC;
	c->base_cfg.version = WC_VERSION;
	c->base_cfg.layout_id = c->layout.id;
	c->base_cfg.algo = WC_ALGO_BF;
	c->base_cfg.flags = WC_CFG_SORTED | (o->algo ? 0 : WC_CFG_AUTO);
	c->base_cfg.nwords = c->layout.nwords;
	c->base_cfg.range_words = wcard_layout_range_words(&c->layout);
	c->base_cfg.nfields = c->layout.nfields;
	for (i = 0; i < c->layout.nfields; i++)
		c->base_cfg.fields[i] = c->layout.desc[i];
	c->base_cfg.default_action = o->default_action ? o->default_action : WC_ACT_PASS;
	c->base_cfg.nonip_action = o->nonip_action ? o->nonip_action : WC_ACT_PASS;
	c->base_cfg.bad_action = WC_ACT_DROP;
	c->base_cfg.max_rules = c->max_rules;
	for (g = 0; g < WC_GENS; g++) {
		struct wc_config *cfg = CFG(c, g);

		*cfg = c->base_cfg;
		cfg->rules_base = g * c->max_rules;
		cfg->tables_base = g * WC_TM_MAX_TABLES;
		cfg->order_base = g * WC_TM_ORDER_RING;
	}
	ROOT(c)->magic = WC_MAGIC;
	ROOT(c)->version = WC_VERSION;
	__atomic_store_n(&ROOT(c)->gen, 0, __ATOMIC_RELEASE);
	c->gen = 0;
	c->algo = WC_ALGO_BF;
	return 0;
}

struct bpf_object *clf_object(const struct wcard_clf *c)
{
	return c && c->skel ? c->skel->obj : NULL;
}

const void *wcard_xdp_object(size_t *size)
{
	return wcard_bpf_build() == WCARD_BPF_COMPAT ? wcard_xdp_compat__elf_bytes(size) :
							 wcard_xdp__elf_bytes(size);
}

static struct wcard_clf *clf_alloc(void)
{
	struct wcard_clf *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->prog_fd = c->hits_fd = -1;
	gp_init(&c->gp);
	return c;
}

int wcard_clf_from_object(struct bpf_object *obj, const char *prog,
			  const struct wcard_clf_opts *o, struct wcard_clf **out, char *err,
			  size_t errlen)
{
	struct bpf_program *p = NULL;
	struct wcard_clf *c;
	int ret;

	ret = clf_check_opts(o, err, errlen);
	if (ret)
		return ret;
	if (!obj || !out)
		return -EINVAL;
	if (prog) {
		p = bpf_object__find_program_by_name(obj, prog);
		if (!p) {
			clf_seterr(err, errlen, "BPF object has no program %s", prog);
			return -ENOENT;
		}
	}
	c = clf_alloc();
	if (!c)
		return -ENOMEM;
	c->prog_fd = p ? bpf_program__fd(p) : -1;
	ret = clf_init(c, obj, o, err, errlen);
	if (ret) {
		wcard_clf_destroy(c);
		return ret;
	}
	if (o->lpm)
		lpm_open(c, obj);
	*out = c;
	return 0;
}

int wcard_clf_create(const struct wcard_clf_opts *o, struct wcard_clf **out, char *err,
		     size_t errlen)
{
	struct wcard_clf *c;
	int ret;

	ret = clf_check_opts(o, err, errlen);
	if (ret)
		return ret;
	if (!out)
		return -EINVAL;
	clf_print_init();
	c = clf_alloc();
	if (!c)
		return -ENOMEM;
	c->skel = wcard_skel_open(wcard_xdp);
	if (!c->skel) {
		ret = -errno;
		clf_seterr(err, errlen, "opening the XDP object: %s", strerror(-ret));
		goto fail;
	}
	ret = wcard_object_prepare(c->skel->obj, o->max_rules ? o->max_rules : WC_DEFAULT_MAX_RULES);
	if (!ret)
		ret = lpm_prepare(c->skel->obj, o->layout,
				  o->max_rules ? o->max_rules : WC_DEFAULT_MAX_RULES);
	if (!ret)
		ret = wcard_xdp__load(c->skel);
	if (ret) {
		char why[256], hint[256];

		/* A missing kernel feature or privilege, named, rather than the verifier's EINVAL. */
		if (wcard_probe_kernel(why, sizeof(why)))
			clf_seterr(err, errlen, "loading the XDP filter: %s", why);
		else
			clf_seterr(err, errlen, "loading the XDP filter: %s%s", strerror(-ret),
				   wcard_load_hint(ret, hint, sizeof(hint)));
		goto fail;
	}
	c->prog_fd = bpf_program__fd(c->skel->progs.wc_xdp_filter);
	ret = clf_init(c, c->skel->obj, o, err, errlen);
	if (ret)
		goto fail;
	lpm_open(c, c->skel->obj);
	*out = c;
	return 0;
fail:
	wcard_clf_destroy(c);
	return ret;
}

void wcard_clf_destroy(struct wcard_clf *c)
{
	unsigned int i;

	if (!c)
		return;
	arr_unmap(&c->root);
	arr_unmap(&c->config);
	arr_unmap(&c->rules);
	arr_unmap(&c->tables);
	arr_unmap(&c->slots);
	arr_unmap(&c->order);
	if (c->own_fds) {
		for (i = 0; i < CLF_NMAPS + 2; i++)
			if (c->own_fd[i] >= 0)
				close(c->own_fd[i]);
	}
	if (c->scratch_owned)
		close(c->scratch_fd);
	gp_free(&c->gp);
	for (i = 0; i < WC_GENS; i++) {
		wcard_trie_close(c->lpm4[i]);
		wcard_trie_close(c->lpm6[i]);
	}
	if (c->skel) {
		lpm_templates_drop(c->skel->obj);
		wcard_xdp__destroy(c->skel);
	}
	free(c->pool);
	free(c->slot_of);
	wcard_ruleset_free(&c->set);
	free(c->live);
	free(c->rank);
	clf_online_free(c);
	if (c->tm) {
		wc_tm_free(c->tm);
		free(c->tm);
	}
	free(c);
}

/* ---- building a generation ------------------------------------------------ */

struct order {
	__u64 rank;
	__u32 id;
};

static int order_cmp(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/* Brute force: the live rules sorted by rank into generation g. */
static int build_bf(struct wcard_clf *c, unsigned int g, __u32 *slot_of, struct wc_config *cfg)
{
	__u32 base = g * c->max_rules, i, n = 0;
	struct order *ord = calloc(c->set.n ? c->set.n : 1, sizeof(*ord));

	if (!ord)
		return -ENOMEM;
	for (i = 0; i < c->set.n; i++) {
		if (!c->live[i])
			continue;
		ord[n].rank = c->rank[i];
		ord[n++].id = i;
	}
	qsort(ord, n, sizeof(*ord), order_cmp);
	for (i = 0; i < n; i++) {
		__u32 k = ord[i].id;

		wcard_rule_compile(&c->layout, &c->set.rules[k], c->rank[k], RULE(c, base + i));
		RULE(c, base + i)->id = k;
		slot_of[k] = base + i;
	}
	free(ord);
	cfg->algo = WC_ALGO_BF;
	cfg->nrules = n;
	cfg->flags = WC_CFG_SORTED;
	cfg->moves = 0;
	return 0;
}

/* ---- the LPM fast path ----------------------------------------------------- */

/* Field f of rule r matches every value. */
static bool field_any(const struct wcard_layout *l, const struct wcard_rule *r, unsigned int f)
{
	const struct wcard_match *m = &r->f[f];
	__u64 top = l->fields[f].width >= 8 ? ~0ULL : (1ULL << (8 * l->fields[f].width)) - 1;

	switch (l->fields[f].type) {
	case WC_FIELD_PREFIX:
		return m->plen == 0;
	case WC_FIELD_RANGE:
		return m->lo == 0 && m->hi == top;
	default:
		return m->mask == 0;
	}
}

struct lpm_pfx {
	wc_u128 addr;
	__u64 rank;
	__u32 id;
	__u8 len;
};

static int lpm_pfx_cmp(const void *a, const void *b)
{
	const struct lpm_pfx *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/*
 * The rules as longest-prefix routes, if they are such a set: every live rule
 * matches on one PREFIX field f of 4 or 16 bytes only, and wherever one
 * rule's prefix contains another's, the longer ranks better, so the longest
 * matching prefix always holds the best-ranked match. Of equal prefixes only
 * the best-ranked rule can ever win. Returns f, with *out and *n the distinct
 * prefixes (malloc'ed, sorted), -1 if the set is not one, or -ENOMEM.
 */
static int lpm_routes(const struct wcard_clf *c, struct lpm_pfx **out, size_t *n)
{
	const struct wcard_layout *l = &c->layout;
	struct lpm_pfx *p = NULL;
	size_t i, k = 0, sp = 0, *st = NULL;
	int f = -1;
	unsigned int g;

	for (i = 0; i < c->set.n && f != -2; i++) {
		if (!c->live[i])
			continue;
		for (g = 0; g < l->nfields; g++) {
			if (field_any(l, &c->set.rules[i], g))
				continue;
			/* A second matched field, or another one than the other rules'. */
			if ((f >= 0 && (int)g != f) || l->fields[g].type != WC_FIELD_PREFIX ||
			    (l->fields[g].width != 4 && l->fields[g].width != 16)) {
				f = -2;
				break;
			}
			f = (int)g;
		}
	}
	/* All wildcards: any one PREFIX field of 4 or 16 bytes will do. */
	for (g = 0; f == -1 && g < l->nfields; g++)
		if (l->fields[g].type == WC_FIELD_PREFIX &&
		    (l->fields[g].width == 4 || l->fields[g].width == 16))
			f = (int)g;
	if (f < 0 || !c->nlive)
		return -1;
	p = calloc(c->nlive, sizeof(*p));
	st = calloc(c->nlive, sizeof(*st));
	if (!p || !st) {
		free(p);
		free(st);
		return -ENOMEM;
	}
	for (i = 0; i < c->set.n; i++) {
		const struct wcard_match *m = &c->set.rules[i].f[f];

		if (!c->live[i])
			continue;
		p[k++] = (struct lpm_pfx){ .addr = m->plen ? m->value : 0, .rank = c->rank[i],
					   .id = (__u32)i, .len = (__u8)m->plen };
	}
	qsort(p, k, sizeof(*p), lpm_pfx_cmp);
	/* Keep the best-ranked of equal prefixes (sorted first). */
	for (i = 0, *n = 0; i < k; i++)
		if (!*n || p[*n - 1].addr != p[i].addr || p[*n - 1].len != p[i].len)
			p[(*n)++] = p[i];
	/*
	 * Prefixes nest or are disjoint: in address order, a stack holds the ones
	 * around the current prefix, and each must rank better than its parent.
	 */
	for (i = 0; i < *n && f >= 0; i++) {
		unsigned int bits = l->fields[f].width * 8;

		while (sp) {
			const struct lpm_pfx *t = &p[st[sp - 1]];
			wc_u128 m = t->len ? (~(wc_u128)0 << (128 - t->len)) >> (128 - bits) : 0;

			if ((p[i].addr & m) == t->addr)
				break;
			sp--;
		}
		if (sp && p[i].rank > p[st[sp - 1]].rank)
			f = -1;
		st[sp++] = i;
	}
	free(st);
	if (f < 0) {
		free(p);
		return -1;
	}
	*out = p;
	return f;
}

/*
 * WC_ALGO_LPM: the rules go into generation g as for brute force (sorted by
 * rank), and generation g's trie of field f's width gets the winning rule of
 * each prefix as a route: route index = the rule's place in rank order (so its
 * slot is rules_base + index), value = the rule's value, aux = its id
 * (wc_lpm_classify reads no rule). Routes of rules that never win are
 * placeholders of the other family. The live generation keeps its own trie
 * (another slot), so its lookups never see this one's routes.
 */
static int build_lpm(struct wcard_clf *c, unsigned int g, __u32 *slot_of, struct wc_config *cfg,
		     int f, const struct lpm_pfx *p, size_t n, char *err, size_t errlen)
{
	bool v6 = c->layout.fields[f].width == 16;
	struct wcard_trie *t = v6 ? c->lpm6[g] : c->lpm4[g];
	struct wcard_routes rt = { 0 };
	__u32 base = g * c->max_rules;
	size_t i;
	int ret;

	ret = build_bf(c, g, slot_of, cfg);
	if (ret)
		return ret;
	rt.n = cfg->nrules;
	rt.r = calloc(rt.n ? rt.n : 1, sizeof(*rt.r));
	if (!rt.r)
		return -ENOMEM;
	for (i = 0; i < rt.n; i++)
		rt.r[i].family = v6 ? 4 : 6; /* placeholder: the trie skips it */
	/* The image the object was prepared with, if still unused, is built in first. */
	lpm_trie_spare_move(t, v6 ? c->lpm6[g ^ 1] : c->lpm4[g ^ 1]);
	for (i = 0; i < n; i++) {
		__u32 k = slot_of[p[i].id] - base;

		rt.r[k] = (struct wcard_route){ .addr = p[i].addr,
						.family = v6 ? 6 : 4,
						.len = p[i].len,
						.value = c->set.rules[p[i].id].value,
						.line = p[i].id };
	}
	ret = wcard_trie_load(t, &rt, err, errlen);
	free(rt.r);
	if (ret)
		return ret;
	cfg->algo = WC_ALGO_LPM;
	cfg->lpm_field = (__u32)f;
	cfg->lpm_slot = g;
	return 0;
}

/* A rule of one table, with the hash of its bucket key, for grouping. */
struct tm_ent {
	__u64 hash;
	__u64 rank;
	struct wc_key mk;
	__u32 id;
};

static int tm_ent_cmp(const void *a, const void *b)
{
	const struct tm_ent *x = a, *y = b;
	int r;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	r = memcmp(&x->mk, &y->mk, sizeof(x->mk));
	if (r)
		return r;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/*
 * Lay one table's buckets into an open-addressed slot array of 2^lg slots
 * starting at first. Fails with -EAGAIN when a run of used slots would reach
 * WC_TM_MAX_PROBE (the BPF probe bound): the caller doubles the size.
 */
static int place_buckets(struct wcard_clf *c, __u32 first, unsigned int lg,
			 const struct tm_ent *e, size_t n, const __u32 *heads)
{
	__u32 size = 1u << lg, mask = size - 1, i, run, maxrun = 0;
	size_t b;

	memset(SLOT(c, first), 0, (size_t)size * sizeof(struct wc_tm_slot));
	for (b = 0; b < n; b++) {
		struct wc_tm_slot *s;
		__u32 pos;

		if (b && e[b].hash == e[b - 1].hash && !memcmp(&e[b].mk, &e[b - 1].mk, sizeof(e[b].mk)))
			continue; /* same bucket: one slot for the whole chain */
		pos = (__u32)e[b].hash & mask;
		for (i = 0; i < size && SLOT(c, first + ((pos + i) & mask))->tag; i++)
			;
		if (i >= WC_TM_MAX_PROBE - 1 || i == size)
			return -EAGAIN;
		s = SLOT(c, first + ((pos + i) & mask));
		s->tag = wc_hash_tag(e[b].hash);
		s->head = heads[b];
	}
	/* Longest run of used slots, wrapping: every probe ends within it + 1. */
	for (i = 0, run = 0; i < 2 * size; i++) {
		run = SLOT(c, first + (i & mask))->tag ? run + 1 : 0;
		if (run > maxrun)
			maxrun = run;
	}
	return maxrun >= WC_TM_MAX_PROBE ? -EAGAIN : 0;
}

/* Tuple Merge: build the model, then lay tables, buckets and rules into generation g. */
static int build_tm(struct wcard_clf *c, unsigned int g, __u32 *slot_of, struct wc_config *cfg,
		    struct wc_tm **model, __u32 *tslots, __u32 *slots_used, char *err,
		    size_t errlen)
{
	struct wc_tm_pool pool = { .n = c->npool, .len = c->pool };
	__u32 rbase = g * c->max_rules, next_rule = 0, next_slot = 0, t, i;
	struct tm_ent *ents = NULL;
	__u32 *heads = NULL, *order_ids = NULL;
	struct wc_tm_order *ob;
	struct wc_tm *tm = calloc(1, sizeof(*tm));
	size_t n, cap = c->set.n ? c->set.n : 1;
	int ret;

	if (!tm)
		return -ENOMEM;
	ret = wc_tm_init(tm, &c->layout, c->collide, c->npool ? &pool : NULL);
	if (ret) {
		free(tm);
		return ret;
	}
	for (i = 0; i < c->set.n; i++) {
		const struct wcard_rule *r = &c->set.rules[i];

		if (!c->live[i])
			continue;
		ret = wc_tm_insert(tm, i, c->rank[i], r, NULL);
		if (ret == -ENOSPC)
			clf_seterr(err, errlen,
				   "rule %u (line %u): more than %u Tuple Merge tables needed", i,
				   r->line, WC_TM_MAX_TABLES);
		else if (ret == -ENOENT)
			clf_seterr(err, errlen, "rule %u (line %u) fits no table of the static pool",
				   i, r->line);
		else if (ret)
			clf_seterr(err, errlen, "Tuple Merge insert of rule %u: %s", i,
				   strerror(-ret));
		if (ret)
			goto out;
	}
	ents = calloc(cap, sizeof(*ents));
	heads = calloc(cap, sizeof(*heads));
	order_ids = calloc(WC_TM_MAX_TABLES, sizeof(*order_ids));
	if (!ents || !heads || !order_ids) {
		ret = -ENOMEM;
		goto out;
	}
	for (t = 0; t < WC_TM_MAX_TABLES; t++) {
		struct wc_tm_mtable *tb = &tm->tables[t];
		struct wc_tm_table *out = TABLE(c, g * WC_TM_MAX_TABLES + t);
		unsigned int lg = 3;
		size_t b, nb = 0;

		memset(out, 0, sizeof(*out));
		tslots[t] = 0;
		if (!tb->used)
			continue;
		/* This table's rules, grouped by bucket key, each group by rank. */
		for (i = 0, n = 0; i < c->set.n; i++) {
			if (!c->live[i] || tm->rules[i].table != t)
				continue;
			wc_tm_rule_key(&c->layout, &c->set.rules[i], &ents[n].mk);
			for (b = 0; b < WC_KEY_WORDS; b++)
				ents[n].mk.w[b] &= tb->mask.w[b];
			ents[n].hash = wc_hash_masked(&ents[n].mk, &tb->mask);
			ents[n].rank = c->rank[i];
			ents[n].id = i;
			n++;
		}
		qsort(ents, n, sizeof(*ents), tm_ent_cmp);
		/* Rules of a bucket are consecutive, chained in rank order. */
		for (b = 0; b < n; b++) {
			bool first = !b || ents[b].hash != ents[b - 1].hash ||
				     memcmp(&ents[b].mk, &ents[b - 1].mk, sizeof(ents[b].mk));
			bool last = b + 1 == n || ents[b + 1].hash != ents[b].hash ||
				    memcmp(&ents[b].mk, &ents[b + 1].mk, sizeof(ents[b].mk));
			struct wc_rule *r = RULE(c, rbase + next_rule);

			wcard_rule_compile(&c->layout, &c->set.rules[ents[b].id], ents[b].rank, r);
			r->id = ents[b].id;
			r->next = last ? 0 : next_rule + 2;
			slot_of[ents[b].id] = rbase + next_rule;
			heads[b] = next_rule + 1;
			nb += first;
			next_rule++;
		}
		/* Load factor at most 1/2 (the slot budget is 4 per rule, with rounding). */
		while ((1u << lg) < 2 * nb)
			lg++;
		for (;;) {
			if (next_slot + (1u << lg) > c->nslots) {
				clf_seterr(err, errlen, "out of bucket slots (%u per generation)",
					   c->nslots);
				ret = -ENOSPC;
				goto out;
			}
			ret = place_buckets(c, g * c->nslots + next_slot, lg, ents, n, heads);
			if (ret != -EAGAIN)
				break;
			lg++;
		}
		memcpy(&out->mask, &tb->mask, sizeof(out->mask));
		out->slots = ((__u64)(g * c->nslots + next_slot) << 8) | lg;
		out->best = tb->best;
		out->nrules = tb->nrules;
		out->max_bucket = tb->max_bucket;
		tslots[t] = 1u << lg;
		next_slot += 1u << lg;
	}
	ob = ORDER(c, g * WC_TM_ORDER_RING);
	memset(ob, 0, sizeof(*ob));
	ob->n = wc_tm_order(tm, order_ids);
	for (i = 0; i < ob->n; i++) {
		ob->e[i].table = order_ids[i];
		ob->e[i].best = tm->tables[order_ids[i]].best;
	}
	cfg->algo = c->npool ? WC_ALGO_STM : WC_ALGO_TM;
	/* Slots in table order, not rank order: brute force must refuse them. */
	cfg->flags &= ~WC_CFG_SORTED;
	cfg->nrules = next_rule; /* slots used: the exact scan's range */
	cfg->order = 0;
	cfg->moves = 0;
	*slots_used = next_slot;
	*model = tm;
	tm = NULL;
	ret = 0;
out:
	free(ents);
	free(heads);
	free(order_ids);
	if (tm) {
		wc_tm_free(tm);
		free(tm);
	}
	return ret;
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

static enum wc_algo pick_algo(const struct wcard_clf *c, size_t nlive)
{
	if (c->algo_opt)
		return c->algo_opt;
	return nlive <= WCARD_AUTO_BF_MAX ? WC_ALGO_BF : WC_ALGO_TM;
}

int clf_republish(struct wcard_clf *c, char *err, size_t errlen)
{
	__u32 tslots[WC_TM_MAX_TABLES] = { 0 }, slots_used = 0, *slot_of;
	struct wc_tm *model = NULL;
	struct lpm_pfx *pfx = NULL;
	size_t i, nlive = 0, npfx = 0;
	struct wc_config cfg;
	enum wc_algo algo;
	unsigned int g;
	int ret = 0, lf = -1;

	/* A switch whose wait failed earlier: lookups may still be in the spare half. */
	if (c->sync_pending) {
		ret = clf_sync(c);
		if (ret) {
			clf_seterr(err, errlen, "waiting for running lookups: %s", strerror(-ret));
			return ret;
		}
		c->sync_pending = false;
	}
	for (i = 0; i < c->set.n; i++)
		nlive += c->live[i];
	slot_of = calloc(c->set_cap ? c->set_cap : 1, sizeof(*slot_of));
	if (!slot_of)
		return -ENOMEM;
	/* Build the spare generation; lookups keep using the live one meanwhile. */
	g = c->gen ^ 1;
	/* No lookup reaches g's tries (see above): what a killed writer left there goes. */
	lpm_gen_drop(c, g, false);
	cfg = *CFG(c, g);
	algo = pick_algo(c, nlive);
	if (algo == WC_ALGO_LPM ||
	    (!c->algo_opt && algo == WC_ALGO_TM && (c->lpm4[g] || c->lpm6[g]))) {
		lf = lpm_routes(c, &pfx, &npfx);
		if (lf >= 0 && !(c->layout.fields[lf].width == 16 ? c->lpm6[g] : c->lpm4[g]))
			lf = -1;
		if (lf >= 0) {
			ret = build_lpm(c, g, slot_of, &cfg, lf, pfx, npfx, err, errlen);
			/* Too many routes or nodes for the trie: Tuple Merge, unless asked for. */
			if (ret && algo != WC_ALGO_LPM && (ret == -ENOSPC || ret == -E2BIG)) {
				ret = 0;
				if (err)
					*err = 0;
				lf = -1;
			}
		} else if (algo == WC_ALGO_LPM) {
			clf_seterr(err, errlen, lf == -ENOMEM ? "%s" :
				   "--algo lpm: the rules must match on one IPv4/IPv6 prefix field "
				   "only, longer prefixes ranking better%s",
				   lf == -ENOMEM ? strerror(ENOMEM) :
				   c->lpm4[g] || c->lpm6[g] ? "" :
							       " (and the object has no LPM trie)");
			ret = lf == -ENOMEM ? -ENOMEM : -EINVAL;
		}
		free(pfx);
	}
	/* Not as LPM: the algorithm picked. */
	if (!ret && lf < 0)
		ret = algo == WC_ALGO_BF ?
			      build_bf(c, g, slot_of, &cfg) :
			      build_tm(c, g, slot_of, &cfg, &model, tslots, &slots_used, err, errlen);
	if (ret) {
		if (err && !*err)
			clf_seterr(err, errlen, "building the rule set: %s", strerror(-ret));
		if (model) {
			wc_tm_free(model);
			free(model);
		}
		free(slot_of);
		return ret;
	}
	/* A reopen picks the algorithm again only if it was picked here. */
	cfg.flags = (cfg.flags & ~WC_CFG_AUTO) | (c->algo_opt ? 0 : WC_CFG_AUTO);
	*CFG(c, g) = cfg;
	/* Publish: one store switches every lookup that starts from now on. */
	__atomic_store_n(&ROOT(c)->gen, g, __ATOMIC_RELEASE);
	c->gen = g;
	c->algo = cfg.algo;
	if (c->tm) {
		wc_tm_free(c->tm);
		free(c->tm);
	}
	c->tm = model;
	c->ntables = model ? model->ntables : 0;
	memcpy(c->tslots, tslots, sizeof(tslots));
	c->slots_used = slots_used;
	free(c->slot_of);
	c->slot_of = slot_of;
	c->nloaded = c->set.n;
	c->rules_hwm = cfg.nrules;
	clf_online_reset(c);
	/*
	 * Lookups that started before the switch finish before we return. The
	 * switch is done whatever happens here, so this returns 0 (callers take
	 * an error for "nothing switched" and undo their change): if the wait
	 * fails, the next write to the spare half waits first (sync_pending); if
	 * zeroing the deleted ids' counters fails, they wait for the next grace
	 * period.
	 */
	if (clf_sync(c)) {
		c->sync_pending = true;
		return 0;
	}
	/*
	 * No lookup can reach the old generation now: its trie images go (the
	 * next load into it builds new ones), so only the live generation holds
	 * one, as with a single trie, and a classifier off the LPM path none.
	 */
	lpm_gen_drop(c, g ^ 1, true);
	clf_ids_reclaim(c);
	return 0;
}

int clf_check_writable(const struct wcard_clf *c, char *err, size_t errlen)
{
	if (!c->read_only)
		return 0;
	clf_seterr(err, errlen, "the classifier was opened read-only: open it again to change it");
	return -EROFS;
}

int wcard_clf_load(struct wcard_clf *c, const struct wcard_ruleset *rs, char *err, size_t errlen)
{
	struct wcard_ruleset old_set;
	bool *old_live, *live;
	__u64 *old_rank, *rank;
	size_t i, old_cap, old_seq, old_nlive;
	int ret;

	if (!c || !rs)
		return -EINVAL;
	ret = clf_check_writable(c, err, errlen);
	if (ret)
		return ret;
	if (rs->layout && strcmp(rs->layout->name, c->layout.name)) {
		clf_seterr(err, errlen, "rule set layout %s does not match the classifier's %s",
			   rs->layout->name, c->layout.name);
		return -EINVAL;
	}
	if (rs->n > c->max_rules) {
		clf_seterr(err, errlen,
			   "%zu rules exceed the classifier's maximum of %u (--max-rules)", rs->n,
			   c->max_rules);
		return -E2BIG;
	}
	for (i = 0; i < rs->n; i++) {
		ret = wcard_rule_check(&c->layout, &rs->rules[i], err, errlen);
		if (ret)
			return ret;
	}
	live = calloc(rs->n ? rs->n : 1, sizeof(*live));
	rank = calloc(rs->n ? rs->n : 1, sizeof(*rank));
	if (!live || !rank) {
		free(live);
		free(rank);
		return -ENOMEM;
	}
	/* The new set replaces the old one only if it could be published. */
	old_set = c->set;
	old_live = c->live;
	old_rank = c->rank;
	old_cap = c->set_cap;
	old_seq = c->seq;
	old_nlive = c->nlive;
	wcard_ruleset_init(&c->set, &c->layout);
	for (i = 0; i < rs->n; i++) {
		ret = wcard_ruleset_add(&c->set, &rs->rules[i]);
		if (ret)
			goto fail;
		c->set.rules[i].id = i;
		live[i] = true;
		rank[i] = ((__u64)rs->rules[i].prio << 32) | (__u32)i;
	}
	c->live = live;
	c->rank = rank;
	c->set_cap = rs->n ? rs->n : 1;
	c->seq = rs->n;
	c->nlive = rs->n;
	/*
	 * Ids are handed out afresh: the new rules count from zero. The spare
	 * half is cleared before the switch, the old one once no lookup uses it.
	 */
	ret = clf_hits_zero(c, c->gen ^ 1, true, NULL, 0);
	if (!ret)
		ret = clf_republish(c, err, errlen);
	if (ret)
		goto fail;
	clf_hits_zero(c, c->gen ^ 1, true, NULL, 0);
	/* A new set: no old id is reusable or pending any more. */
	c->id_free.n = c->id_deferred.n = 0;
	c->broken = false;
	wcard_ruleset_free(&old_set);
	free(old_live);
	free(old_rank);
	return 0;
fail:
	wcard_ruleset_free(&c->set);
	free(live);
	free(rank);
	c->set = old_set;
	c->live = old_live;
	c->rank = old_rank;
	c->set_cap = old_cap;
	c->seq = old_seq;
	c->nlive = old_nlive;
	return ret;
}

/* The compat build's per-CPU scratch map of program prog_fd, opened by its map ids; or -1. */
static int prog_scratch_fd(int prog_fd)
{
	struct bpf_prog_info pi = {};
	struct bpf_map_info mi = {};
	__u32 ids[64], len = sizeof(pi), i;
	int fd;

	pi.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	pi.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &pi, &len))
		return -1;
	for (i = 0; i < pi.nr_map_ids && i < sizeof(ids) / sizeof(ids[0]); i++) {
		fd = bpf_map_get_fd_by_id(ids[i]);
		len = sizeof(mi);
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &mi, &len) &&
		    !strcmp(mi.name, WC_SCRATCH_MAP))
			return fd;
		if (fd >= 0)
			close(fd);
	}
	return -1;
}

/* The fd of the scratch map of c's program, or -1; looked up once. */
static int clf_scratch_fd(struct wcard_clf *c)
{
	struct bpf_map *m = clf_object(c) ? bpf_object__find_map_by_name(clf_object(c),
									  WC_SCRATCH_MAP) :
					    NULL;

	if (!c->scratch_known) {
		c->scratch_known = true;
		c->scratch_fd = m ? bpf_map__fd(m) : prog_scratch_fd(c->prog_fd);
		c->scratch_owned = !m && c->scratch_fd >= 0;
	}
	return c->scratch_fd;
}

/*
 * A frame through program prog_fd on a kernel whose test runs take no
 * xdp_md context (before 5.15), so return no metadata: the compat build's
 * filter also leaves its verdict in the CPU's scratch entry (map scratch_fd).
 * Every CPU's entry is cleared first; the one the run wrote to has the magic.
 */
static int run_frame_scratch(int prog_fd, int scratch_fd, const void *frame, size_t len,
			     struct wc_xdp_meta *meta, __u32 *xdp_action, __u64 *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len, .repeat = 1);
	int ncpu = libbpf_num_possible_cpus(), ret = 0, i;
	struct wc_scratch *s = NULL;
	__u32 zero = 0;

	if (meta && (scratch_fd < 0 || ncpu <= 0))
		return -EOPNOTSUPP;
	if (meta) {
		s = calloc(ncpu, sizeof(*s));
		if (!s)
			return -ENOMEM;
		if (bpf_map_update_elem(scratch_fd, &zero, s, 0))
			ret = -errno;
	}
	if (!ret && bpf_prog_test_run_opts(prog_fd, &opts))
		ret = -errno;
	if (!ret && meta && bpf_map_lookup_elem(scratch_fd, &zero, s))
		ret = -errno;
	for (i = 0; !ret && meta && i < ncpu && s[i].meta.magic != WC_MAGIC; i++)
		;
	if (!ret && meta && i == ncpu)
		ret = -ENODATA;
	if (!ret && meta)
		*meta = s[i].meta;
	if (!ret && xdp_action)
		*xdp_action = opts.retval;
	if (!ret && ns)
		*ns = opts.duration;
	free(s);
	return ret;
}

/*
 * One frame through prog_fd with the metadata in front of it. -EINVAL when
 * the kernel's test runs take no xdp_md context (the caller falls back).
 */
static int run_frame_ctx(int prog_fd, const void *frame, size_t len, struct wc_xdp_meta *meta,
			 __u32 *xdp_action, __u64 *ns)
{
	__u8 out[2048 + sizeof(struct wc_xdp_meta)];
	/* ctx_in must describe the frame (no metadata yet) when ctx_out is asked for. */
	struct xdp_md ctx_in = { .data = 0, .data_end = len }, ctx = {};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx_in,
		    .ctx_size_in = sizeof(ctx_in), .ctx_out = &ctx, .ctx_size_out = sizeof(ctx),
		    .repeat = 1);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	if (xdp_action)
		*xdp_action = opts.retval;
	if (ns)
		*ns = opts.duration;
	if (meta) {
		/* The kernel returns metadata + frame; ctx_out.data is the metadata size. */
		if (ctx.data != sizeof(*meta) || opts.data_size_out < sizeof(*meta))
			return -ENODATA;
		memcpy(meta, out, sizeof(*meta));
		if (meta->magic != WC_MAGIC)
			return -ENODATA;
	}
	return 0;
}

int wcard_xdp_run_frame(int prog_fd, const void *frame, size_t len, struct wc_xdp_meta *meta,
			__u32 *xdp_action, __u64 *ns)
{
	int ret, fd;

	if (prog_fd < 0 || !frame || len > 2048)
		return -EINVAL;
	ret = run_frame_ctx(prog_fd, frame, len, meta, xdp_action, ns);
	/* Test runs take no xdp_md context before Linux 5.15. */
	if (ret != -EINVAL)
		return ret;
	fd = meta ? prog_scratch_fd(prog_fd) : -1;
	ret = run_frame_scratch(prog_fd, fd, frame, len, meta, xdp_action, ns);
	if (fd >= 0)
		close(fd);
	return ret;
}

int wcard_clf_run_frame(struct wcard_clf *c, const void *frame, size_t len,
			struct wc_xdp_meta *meta, __u32 *xdp_action, __u64 *ns)
{
	int ret;

	if (!c || !frame || len > 2048)
		return -EINVAL;
	if (c->prog_fd < 0)
		return -ENOENT;
	ret = run_frame_ctx(c->prog_fd, frame, len, meta, xdp_action, ns);
	if (ret != -EINVAL)
		return ret;
	return run_frame_scratch(c->prog_fd, meta ? clf_scratch_fd(c) : -1, frame, len, meta,
				 xdp_action, ns);
}

int wcard_clf_rule_hits(const struct wcard_clf *c, long rule, struct wc_counter *out)
{
	int ncpu = libbpf_num_possible_cpus(), i, ret = 0;
	struct wc_counter *pc;
	unsigned int g;
	__u32 idx;

	if (!c || !out || ncpu <= 0 || rule < -1 || (rule >= 0 && (size_t)rule >= c->set.n) ||
	    (rule >= 0 && !c->live[rule]))
		return -EINVAL;
	if (c->hits_fd < 0)
		return -ENOENT;
	pc = calloc(ncpu, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	/* A rule counts in the half of each generation it was found in. */
	for (g = 0; g < (rule < 0 ? 1 : WC_GENS); g++) {
		idx = rule < 0 ? 0 : WC_HITS_INDEX(g, c->max_rules, (__u32)rule);
		if (bpf_map_lookup_elem(c->hits_fd, &idx, pc)) {
			ret = -errno;
			goto out;
		}
		for (i = 0; i < ncpu; i++) {
			out->packets += pc[i].packets;
			out->bytes += pc[i].bytes;
		}
	}
out:
	free(pc);
	return ret;
}

struct rank_id {
	__u64 rank;
	__u32 id;
};

static int rank_id_cmp(const void *a, const void *b)
{
	const struct rank_id *x = a, *y = b;

	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

int wcard_clf_rules(const struct wcard_clf *c, struct wcard_ruleset *rs)
{
	struct rank_id *o;
	size_t i, n = 0;
	int ret = 0;

	if (!c || !rs)
		return -EINVAL;
	wcard_ruleset_init(rs, &c->layout);
	o = calloc(c->set.n ? c->set.n : 1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	for (i = 0; i < c->set.n; i++)
		if (c->live[i])
			o[n++] = (struct rank_id){ .rank = c->rank[i], .id = (__u32)i };
	qsort(o, n, sizeof(*o), rank_id_cmp);
	for (i = 0; i < n && !ret; i++) {
		ret = wcard_ruleset_add(rs, &c->set.rules[o[i].id]);
		if (!ret)
			rs->rules[rs->n - 1].id = o[i].id;
	}
	free(o);
	if (ret)
		wcard_ruleset_free(rs);
	return ret;
}

enum wc_algo wcard_clf_algo(const struct wcard_clf *c)
{
	return c ? c->algo : 0;
}

unsigned int wcard_clf_ntables(const struct wcard_clf *c)
{
	return c ? c->ntables : 0;
}

int wcard_clf_prog_fd(const struct wcard_clf *c)
{
	return c ? c->prog_fd : -EINVAL;
}

__u32 wcard_clf_verified_insns(const struct wcard_clf *c)
{
	return c ? c->verified_insns : 0;
}

/*
 * The live generation's Tuple Merge tables as the maps hold them, in lookup
 * order (a read-only handle has no model). 0 or -EPROTO.
 */
static int stats_from_maps(const struct wcard_clf *c, struct wcard_stats *st)
{
	const struct wc_config *cf = CFG(c, c->gen);
	const struct wc_tm_order *ob;
	unsigned int i, f;
	__u32 slots = 0;

	if (cf->order >= WC_TM_ORDER_RING)
		return -EPROTO;
	ob = ORDER(c, cf->order_base + cf->order);
	st->ntables = ob->n < WC_TM_MAX_TABLES ? ob->n : WC_TM_MAX_TABLES;
	for (i = 0; i < st->ntables; i++) {
		const struct wc_tm_table *tb;
		struct wcard_table_stats *ts = &st->tables[i];

		if (ob->e[i].table >= WC_TM_MAX_TABLES)
			return -EPROTO;
		tb = TABLE(c, cf->tables_base + ob->e[i].table);
		ts->id = ob->e[i].table;
		/* A tuple's field length is the number of mask bits the field keeps. */
		for (f = 0; f < c->layout.nfields; f++) {
			const struct wc_field_desc *d = &c->layout.desc[f];
			unsigned int w, bits = 0;

			for (w = 0; w < d->nwords && d->word + w < WC_KEY_WORDS; w++)
				bits += __builtin_popcountll(tb->mask.w[d->word + w]);
			ts->len[f] = bits;
		}
		ts->rules = tb->nrules;
		ts->max_bucket = tb->max_bucket;
		ts->slots = 1u << (tb->slots & 31);
		ts->best_prio = tb->best == WC_RANK_NONE ? ~0u : (__u32)(tb->best >> 32);
		if (tb->max_bucket > st->max_bucket)
			st->max_bucket = tb->max_bucket;
		slots += ts->slots;
	}
	st->used_bytes += st->ntables * sizeof(struct wc_tm_table) + sizeof(struct wc_tm_order) +
			  (size_t)slots * sizeof(struct wc_tm_slot);
	return 0;
}

int wcard_clf_stats(const struct wcard_clf *c, struct wcard_stats *st)
{
	__u32 *ids;
	unsigned int i;

	if (!c || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->algo = c->algo;
	for (i = 0; i < c->set.n; i++)
		st->rules += c->live[i];
	st->max_rules = c->max_rules;
	st->moves = CFG(c, c->gen)->moves;
	st->grace_periods = c->grace_periods;
	st->map_bytes = c->root.len + c->config.len + c->rules.len + c->tables.len + c->slots.len +
			c->order.len;
	for (i = 0; i < WC_GENS; i++)
		st->map_bytes += lpm_image_bytes(c->lpm4[i]) + lpm_image_bytes(c->lpm6[i]);
	st->used_bytes = sizeof(struct wc_root) + WC_GENS * sizeof(struct wc_config) +
			 (size_t)c->rules_hwm * sizeof(struct wc_rule);
	if (c->algo == WC_ALGO_LPM) {
		const struct wc_config *cf = CFG(c, c->gen);
		bool v6 = cf->fields[cf->lpm_field % WC_MAX_FIELDS].width == 16;

		st->used_bytes += wcard_trie_bytes(v6 ? c->lpm6[c->gen] : c->lpm4[c->gen]);
	}
	if (!c->tm)
		return c->algo == WC_ALGO_TM || c->algo == WC_ALGO_STM ? stats_from_maps(c, st) : 0;
	ids = calloc(WC_TM_MAX_TABLES, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	st->ntables = wc_tm_order(c->tm, ids);
	for (i = 0; i < st->ntables; i++) {
		const struct wc_tm_mtable *tb = &c->tm->tables[ids[i]];
		struct wcard_table_stats *ts = &st->tables[i];

		ts->id = ids[i];
		memcpy(ts->len, tb->len, sizeof(ts->len));
		ts->rules = tb->nrules;
		ts->max_bucket = tb->max_bucket;
		ts->slots = c->tslots[ids[i]];
		ts->best_prio = tb->best == WC_RANK_NONE ? ~0u : (__u32)(tb->best >> 32);
		if (tb->max_bucket > st->max_bucket)
			st->max_bucket = tb->max_bucket;
	}
	st->used_bytes += st->ntables * sizeof(struct wc_tm_table) + sizeof(struct wc_tm_order) +
			  (size_t)c->slots_used * sizeof(struct wc_tm_slot);
	free(ids);
	return 0;
}

long wcard_clf_model_lookup(const struct wcard_clf *c, const struct wc_key *k,
			    unsigned int *probed)
{
	if (!c || !c->tm)
		return -EINVAL;
	return wc_tm_lookup(c->tm, k, probed);
}
