// SPDX-License-Identifier: MIT
/* clf.c: the BPF classifier object of libwcard: load the XDP filter, fill its maps, run frames. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "wcard_xdp.skel.h"

struct wcard_clf {
	struct wcard_xdp *skel; /* NULL when driving a caller's object */
	int rules_fd, cfg_fd, prog_fd;
	struct wcard_layout layout;
	struct wc_config cfg;
	__u32 max_rules;
	__u32 verified_insns;
	__u32 *slot_of; /* rule index in the loaded set -> slot in wc_rules */
	size_t nslots;
	int hits_fd; /* -1 when the object has no wc_hits */
};

static bool verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	if (level == LIBBPF_INFO && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void wcard_set_verbose(bool on)
{
	verbose = on;
	libbpf_set_print(libbpf_print);
}

static void seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static const char *load_hint(int e)
{
	switch (e) {
	case EPERM:
	case EACCES:
		return " (loading BPF needs root, or CAP_BPF + CAP_NET_ADMIN + CAP_PERFMON)";
	case EINVAL:
	case 524: /* ENOTSUPP (kernel-internal) */
	case ENOENT:
		return " (the kernel may be too old: wcard needs Linux >= 6.4 with BTF; run with -v "
		       "for the verifier log)";
	default:
		return "";
	}
}

int wcard_object_prepare(struct bpf_object *obj, __u32 max_rules)
{
	struct bpf_map *rules = bpf_object__find_map_by_name(obj, "wc_rules");
	struct bpf_map *hits = bpf_object__find_map_by_name(obj, "wc_hits");
	int ret;

	if (!rules || max_rules == 0 || max_rules > WC_MAX_RULES)
		return -EINVAL;
	ret = bpf_map__set_max_entries(rules, max_rules);
	if (!ret && hits)
		ret = bpf_map__set_max_entries(hits, max_rules + 1);
	return ret;
}

/* Common part: c->layout, c->max_rules and the fds are set; write the config. */
static int clf_init_config(struct wcard_clf *c, const struct wcard_clf_opts *o, char *err,
			   size_t errlen)
{
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info), zero = 0, i;

	if (c->prog_fd >= 0 && !bpf_obj_get_info_by_fd(c->prog_fd, &info, &info_len))
		c->verified_insns = info.verified_insns;
	c->cfg.magic = WC_MAGIC;
	c->cfg.version = WC_VERSION;
	c->cfg.layout_id = c->layout.id;
	c->cfg.algo = WC_ALGO_BF;
	c->cfg.nwords = c->layout.nwords;
	c->cfg.range_words = wcard_layout_range_words(&c->layout);
	c->cfg.nfields = c->layout.nfields;
	for (i = 0; i < c->layout.nfields; i++)
		c->cfg.fields[i] = c->layout.desc[i];
	c->cfg.default_action = o->default_action ? o->default_action : WC_ACT_PASS;
	c->cfg.nonip_action = WC_ACT_PASS;
	c->cfg.bad_action = WC_ACT_DROP;
	if (bpf_map_update_elem(c->cfg_fd, &zero, &c->cfg, 0)) {
		int ret = -errno;

		seterr(err, errlen, "writing the config map: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

static int clf_check_opts(const struct wcard_clf_opts *o, char *err, size_t errlen)
{
	if (!o || !o->layout)
		return -EINVAL;
	if (o->max_rules > WC_MAX_RULES) {
		seterr(err, errlen, "max rules %u exceeds the limit %u", o->max_rules, WC_MAX_RULES);
		return -E2BIG;
	}
	if (o->algo && o->algo != WC_ALGO_BF) {
		seterr(err, errlen, "algorithm %d is not supported", o->algo);
		return -EOPNOTSUPP;
	}
	return 0;
}

int wcard_clf_from_object(struct bpf_object *obj, const char *prog,
			  const struct wcard_clf_opts *o, struct wcard_clf **out, char *err,
			  size_t errlen)
{
	struct bpf_map *rules, *cfg;
	struct bpf_program *p;
	struct wcard_clf *c;
	int ret;

	ret = clf_check_opts(o, err, errlen);
	if (ret)
		return ret;
	rules = bpf_object__find_map_by_name(obj, "wc_rules");
	cfg = bpf_object__find_map_by_name(obj, "wc_config");
	p = prog ? bpf_object__find_program_by_name(obj, prog) : NULL;
	if (!rules || !cfg || (prog && !p)) {
		seterr(err, errlen, "BPF object has no %s", !rules ? "map wc_rules" :
			!cfg ? "map wc_config" : prog);
		return -ENOENT;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->layout = *o->layout;
	c->max_rules = bpf_map__max_entries(rules);
	c->rules_fd = bpf_map__fd(rules);
	c->cfg_fd = bpf_map__fd(cfg);
	c->prog_fd = p ? bpf_program__fd(p) : -1;
	c->hits_fd = bpf_object__find_map_by_name(obj, "wc_hits") ?
			     bpf_map__fd(bpf_object__find_map_by_name(obj, "wc_hits")) : -1;
	ret = clf_init_config(c, o, err, errlen);
	if (ret) {
		free(c);
		return ret;
	}
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
	if (!verbose)
		wcard_set_verbose(false);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->layout = *o->layout;
	c->max_rules = o->max_rules ? o->max_rules : WC_DEFAULT_MAX_RULES;

	c->skel = wcard_xdp__open();
	if (!c->skel) {
		ret = -errno;
		seterr(err, errlen, "opening the XDP object: %s", strerror(-ret));
		goto fail;
	}
	ret = wcard_object_prepare(c->skel->obj, c->max_rules);
	if (!ret)
		ret = wcard_xdp__load(c->skel);
	if (ret) {
		seterr(err, errlen, "loading the XDP filter: %s%s", strerror(-ret), load_hint(-ret));
		goto fail;
	}
	c->rules_fd = bpf_map__fd(c->skel->maps.wc_rules);
	c->cfg_fd = bpf_map__fd(c->skel->maps.wc_config);
	c->prog_fd = bpf_program__fd(c->skel->progs.wc_xdp_filter);
	c->hits_fd = bpf_map__fd(c->skel->maps.wc_hits);
	ret = clf_init_config(c, o, err, errlen);
	if (ret)
		goto fail;
	*out = c;
	return 0;
fail:
	wcard_clf_destroy(c);
	return ret;
}

void wcard_clf_destroy(struct wcard_clf *c)
{
	if (!c)
		return;
	if (c->skel)
		wcard_xdp__destroy(c->skel);
	free(c->slot_of);
	free(c);
}

struct order {
	__u32 prio;
	__u32 idx;
};

static int order_cmp(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	if (x->prio != y->prio)
		return x->prio < y->prio ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int wcard_clf_load(struct wcard_clf *c, const struct wcard_ruleset *rs, char *err, size_t errlen)
{
	struct wc_rule *compiled = NULL;
	struct order *ord = NULL;
	__u32 *keys = NULL, *slot_of = NULL, zero = 0, n, i;
	struct wc_config cfg;
	int fd, ret = 0;

	if (!c || !rs)
		return -EINVAL;
	if (rs->layout && strcmp(rs->layout->name, c->layout.name)) {
		seterr(err, errlen, "rule set layout %s does not match the classifier's %s",
		       rs->layout->name, c->layout.name);
		return -EINVAL;
	}
	if (rs->n > c->max_rules) {
		seterr(err, errlen, "%zu rules exceed the classifier's maximum of %u (--max-rules)",
		       rs->n, c->max_rules);
		return -E2BIG;
	}
	n = rs->n;
	ord = calloc(n ? n : 1, sizeof(*ord));
	compiled = calloc(n ? n : 1, sizeof(*compiled));
	keys = calloc(n ? n : 1, sizeof(*keys));
	slot_of = calloc(n ? n : 1, sizeof(*slot_of));
	if (!ord || !compiled || !keys || !slot_of) {
		ret = -ENOMEM;
		goto out;
	}
	/* Brute force stores rules by rank, so the first match is the answer. */
	for (i = 0; i < n; i++) {
		ord[i].prio = rs->rules[i].prio;
		ord[i].idx = i;
	}
	qsort(ord, n, sizeof(*ord), order_cmp);
	for (i = 0; i < n; i++) {
		const struct wcard_rule *r = &rs->rules[ord[i].idx];

		wcard_rule_compile(&c->layout, r, ((__u64)r->prio << 32) | ord[i].idx, &compiled[i]);
		keys[i] = i;
		slot_of[ord[i].idx] = i;
	}

	/*
	 * Shrink the live count first, then write the rules, then publish the new
	 * count: a lookup never reads a slot beyond what was written.
	 * TODO(issue 3): generations for an atomic replace under traffic.
	 */
	fd = c->cfg_fd;
	cfg = c->cfg;
	cfg.nrules = 0;
	if (bpf_map_update_elem(fd, &zero, &cfg, 0)) {
		ret = -errno;
		seterr(err, errlen, "writing the config map: %s", strerror(-ret));
		goto out;
	}
	if (n) {
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		__u32 count = n;

		if (bpf_map_update_batch(c->rules_fd, keys, compiled,
					 &count, &bo)) {
			ret = -errno;
			seterr(err, errlen, "writing %u rules: %s", n, strerror(-ret));
			goto out;
		}
	}
	cfg.nrules = n;
	cfg.flags |= WC_CFG_SORTED;
	if (bpf_map_update_elem(fd, &zero, &cfg, 0)) {
		ret = -errno;
		seterr(err, errlen, "writing the config map: %s", strerror(-ret));
		goto out;
	}
	c->cfg = cfg;
	free(c->slot_of);
	c->slot_of = slot_of;
	c->nslots = n;
	slot_of = NULL;
out:
	free(slot_of);
	free(ord);
	free(compiled);
	free(keys);
	return ret;
}

int wcard_clf_run_frame(struct wcard_clf *c, const void *frame, size_t len,
			struct wc_xdp_meta *meta, __u32 *xdp_action, __u64 *ns)
{
	__u8 out[2048 + sizeof(struct wc_xdp_meta)];
	/* ctx_in must describe the frame (no metadata yet) when ctx_out is asked for. */
	struct xdp_md ctx_in = { .data = 0, .data_end = len }, ctx = {};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx_in,
		    .ctx_size_in = sizeof(ctx_in), .ctx_out = &ctx, .ctx_size_out = sizeof(ctx),
		    .repeat = 1);
	int ret;

	if (!c || !frame || len > 2048)
		return -EINVAL;
	if (c->prog_fd < 0)
		return -ENOENT;
	ret = bpf_prog_test_run_opts(c->prog_fd, &opts);
	if (ret)
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

int wcard_clf_prog_fd(const struct wcard_clf *c)
{
	return c ? c->prog_fd : -EINVAL;
}

__u32 wcard_clf_verified_insns(const struct wcard_clf *c)
{
	return c ? c->verified_insns : 0;
}

int wcard_clf_rule_hits(const struct wcard_clf *c, long rule, struct wc_counter *out)
{
	int ncpu = libbpf_num_possible_cpus(), i, ret = 0;
	struct wc_counter *pc;
	__u32 idx;

	if (!c || !out || ncpu <= 0 || rule < -1 || (rule >= 0 && (size_t)rule >= c->nslots))
		return -EINVAL;
	if (c->hits_fd < 0)
		return -ENOENT;
	idx = rule < 0 ? 0 : c->slot_of[rule] + 1;
	pc = calloc(ncpu, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(c->hits_fd, &idx, pc)) {
		ret = -errno;
		goto out;
	}
	for (i = 0; i < ncpu; i++) {
		out->packets += pc[i].packets;
		out->bytes += pc[i].bytes;
	}
out:
	free(pc);
	return ret;
}
