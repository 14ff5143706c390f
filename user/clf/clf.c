// SPDX-License-Identifier: MIT
/* clf.c: a classifier handle's life: create (own object) or from a caller's object, destroy. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "clf_int.h"
#include "lpm/lpm_int.h"
#include "wcard_xdp.skel.h"
#include "compat/wcard_xdp.skel.h"
#include "core/skel.h"

/*
 * The LPM fast path's tries, sized before load for a layout's PREFIX fields of
 * 4 and 16 bytes: a route slot per rule, and trie nodes (2 KiB each) for a
 * quarter of the rules, between 1024 and 16384. A rule set needing more nodes
 * stays with Tuple Merge. Generation 0's tries of c.
 */
static int lpm_prepare(struct wcard_clf *c, struct bpf_object *obj, const struct wcard_layout *l,
		       __u32 max_rules)
{
	__u32 nodes = max_rules / 4 < 1024 ? 1024 : max_rules / 4 > 16384 ? 16384 : max_rules / 4;
	bool w4 = l->id == WC_LAYOUT_INET, w16 = l->id == WC_LAYOUT_INET;
	unsigned int f;
	int ret = 0;

	for (f = 0; f < l->nfields; f++) {
		w4 |= l->fields[f].type == WC_FIELD_PREFIX && l->fields[f].width == 4;
		w16 |= l->fields[f].type == WC_FIELD_PREFIX && l->fields[f].width == 16;
	}
	if (w4)
		ret = wcard_trie4_prepare(obj, max_rules, nodes, &c->lpm4[0]);
	if (w16 && !ret)
		ret = wcard_lpm6_prepare(obj, max_rules, nodes, &c->lpm6[0]);
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

/* Open the tries t4 and t6 (either may be NULL) of the object after its load. */
static int lpm_open(struct wcard_trie *t4, struct wcard_trie *t6, char *err, size_t errlen)
{
	char why[256] = "";
	int ret;

	ret = wcard_trie_open(t4, why, sizeof(why));
	if (!t4 || !ret)
		ret = t6 ? wcard_trie_open(t6, why, sizeof(why)) : 0;
	if (ret)
		seterr(err, errlen, "the LPM fast path's trie: %s", why);
	return ret;
}

/* Generations 1.. of c's tries, from generation 0's (c->lpm4[0], c->lpm6[0]), opened. */
static void lpm_siblings(struct wcard_clf *c)
{
	lpm_gens(c->lpm4);
	lpm_gens(c->lpm6);
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

struct wcard_clf *clf_alloc(void)
{
	struct wcard_clf *c = calloc(1, sizeof(*c));
	pthread_mutexattr_t ma;
	unsigned int i;

	if (!c)
		return NULL;
	for (i = 0; i < WC_MAX_PARTS; i++)
		c->part[i].idx = i;
	c->prog_fd = c->hits_fd = -1;
	c->state.fd = -1;
	gp_init(&c->gp);
	gp_init(&c->rgp);
	if (pthread_mutexattr_init(&ma) ||
	    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE) ||
	    pthread_mutex_init(&c->mu, &ma)) {
		free(c);
		return NULL;
	}
	pthread_mutexattr_destroy(&ma);
	return c;
}

void clf_lock(struct wcard_clf *c)
{
	pthread_mutex_lock(&c->mu);
}

void clf_unlock(struct wcard_clf *c)
{
	pthread_mutex_unlock(&c->mu);
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
	if ((o->lpm4 && !lpm_trie_of(o->lpm4, obj, 32)) ||
	    (o->lpm6 && !lpm_trie_of(o->lpm6, obj, 128))) {
		seterr(err, errlen, "the LPM tries must be prepared in this object, IPv4 (trie4) "
				    "as lpm4 and IPv6 (lpm6) as lpm6");
		return -EINVAL;
	}
	ret = lpm_open(o->lpm4, o->lpm6, err, errlen);
	if (ret)
		return ret;
	if (prog) {
		p = bpf_object__find_program_by_name(obj, prog);
		if (!p) {
			seterr(err, errlen, "BPF object has no program %s", prog);
			return -ENOENT;
		}
	}
	c = clf_alloc();
	if (!c)
		return -ENOMEM;
	c->prog_fd = p ? bpf_program__fd(p) : -1;
	ret = clf_init(c, obj, o, err, errlen) ?: clf_state_create(c, err, errlen);
	if (ret) {
		wcard_clf_destroy(c);
		return ret;
	}
	c->lpm4[0] = o->lpm4;
	c->lpm6[0] = o->lpm6;
	lpm_siblings(c);
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
	if (o->lpm4 || o->lpm6) {
		seterr(err, errlen,
		       "wcard_clf_create prepares its own LPM tries: lpm4 and lpm6 are for "
		       "wcard_clf_from_object");
		return -EINVAL;
	}
	c = clf_alloc();
	if (!c)
		return -ENOMEM;
	c->skel = wcard_skel_open(wcard_xdp);
	if (!c->skel) {
		ret = -errno;
		seterr(err, errlen, "opening the XDP object: %s", strerror(-ret));
		goto fail;
	}
	ret = wcard_object_prepare_layout(c->skel->obj, o->layout,
					  o->max_rules ? o->max_rules : WC_DEFAULT_MAX_RULES);
	if (!ret)
		ret = lpm_prepare(c, c->skel->obj, o->layout,
				  o->max_rules ? o->max_rules : WC_DEFAULT_MAX_RULES);
	if (!ret)
		ret = wcard_xdp__load(c->skel);
	if (ret) {
		char why[256], hint[256];

		/* A missing kernel feature or privilege, named, rather than the verifier's EINVAL. */
		if (wcard_probe_kernel(why, sizeof(why)))
			seterr(err, errlen, "loading the XDP filter: %s", why);
		else
			seterr(err, errlen, "loading the XDP filter: %s%s", strerror(-ret),
				   wcard_load_hint(ret, hint, sizeof(hint)));
		goto fail;
	}
	c->prog_fd = bpf_program__fd(c->skel->progs.wc_xdp_filter);
	ret = clf_init(c, c->skel->obj, o, err, errlen) ?: clf_state_create(c, err, errlen) ?:
	      lpm_open(c->lpm4[0], c->lpm6[0], err, errlen);
	if (ret)
		goto fail;
	lpm_siblings(c);
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
	clf_arr_unmap(&c->root);
	clf_arr_unmap(&c->config);
	clf_arr_unmap(&c->rules);
	clf_arr_unmap(&c->tables);
	clf_arr_unmap(&c->slots);
	clf_arr_unmap(&c->order);
	if (c->own_fds) {
		for (i = 0; i < CLF_NMAPS + 2; i++)
			if (c->own_fd[i] >= 0)
				close(c->own_fd[i]);
	}
	if (c->verdict_owned)
		close(c->verdict_fd);
	gp_free(&c->gp);
	gp_free(&c->rgp);
	pthread_mutex_destroy(&c->mu);
	for (i = 0; i < WC_MAX_PARTS; i++)
		clf_moved_free(&c->part[i]);
	for (i = 0; i < WC_GENS; i++) {
		wcard_trie_close(c->lpm4[i]);
		wcard_trie_close(c->lpm6[i]);
	}
	if (c->skel)
		wcard_xdp__destroy(c->skel);
	free(c->pool);
	wcard_ruleset_free(&c->rs.set);
	free(c->rs.live);
	free(c->rs.rank);
	clf_arr_unmap(&c->state);
	if (c->state.fd >= 0)
		close(c->state.fd);
	free(c->pin_dir);
	free(c);
}
