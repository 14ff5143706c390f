// SPDX-License-Identifier: MIT
/* state.c: the writer's state map, and the rule set read back from the maps; libwcard. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "clf_int.h"

/* ---- layout of the state map ---------------------------------------------- */

/* Lay out the rings and arrays after the header; the size in u32 words. */
static size_t state_layout(struct wst *w, __u32 max_rules, __u32 nslots, __u32 parts)
{
	size_t off = (sizeof(struct wst) + 7) / 8 * 2, lim = WC_ID_LIMIT((size_t)max_rules);
	unsigned int p, lg;

#define PLACE(ring, n)                       \
	do {                                 \
		(ring).cap = (__u32)(n);     \
		(ring).off = (__u32)off;     \
		off += (n);                  \
	} while (0)
	PLACE(w->ids, lim);
	for (p = 0; p < parts; p++) {
		struct wst_part *sp = &w->part[p];

		sp->slot_off = (__u32)off;
		off += lim;
		sp->table_off = (__u32)off;
		off += (lim + 3) / 4;
		PLACE(sp->rules, max_rules);
		PLACE(sp->moved, max_rules);
		/* At most nslots >> lg regions of 2^lg slots exist at once. */
		for (lg = 0; lg < 32; lg++)
			PLACE(sp->regions[lg], lg < 3 ? 1 : (nslots >> lg) + 1);
	}
#undef PLACE
	return off;
}

/* The state as it is for an empty live generation: every part's slots and regions unused. */
static void part_clear(struct wcard_clf *c, struct clf_part *p)
{
	size_t lim = WC_ID_LIMIT((size_t)c->max_rules);
	struct wst_part *sp = p->st;
	unsigned int lg, t;

	sp->ntables = sp->rules_hwm = sp->slots_used = sp->moved_pending = sp->since_gp = 0;
	ring_reset(&sp->rules);
	moved_reset(sp);
	for (lg = 0; lg < 32; lg++)
		ring_reset(&sp->regions[lg]);
	for (t = 0; t < WC_TM_MAX_TABLES; t++)
		sp->best[t] = WC_RANK_NONE;
	memset(sp->tslots, 0, sizeof(sp->tslots));
	memset(sp->live_entries, 0, sizeof(sp->live_entries));
	memset(sp->tombs, 0, sizeof(sp->tombs));
	memset(sp->tused, 0, sizeof(sp->tused));
	memset(clf_arr_at(&c->state, (size_t)sp->slot_off * 4, lim * 4), 0xff, lim * 4);
}

int clf_state_create(struct wcard_clf *c, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_MMAPABLE);
	struct wst tmp = { 0 };
	struct clf_part *p;
	size_t words = state_layout(&tmp, c->max_rules, c->nslots, c->cap_parts);
	int fd, ret;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, CLF_STATE_MAP, 4, 8, (__u32)((words + 1) / 2), &o);
	if (fd < 0) {
		ret = -errno;
		seterr(err, errlen, "creating the writer's state map: %s", strerror(-ret));
		return ret;
	}
	ret = clf_arr_map(&c->state, fd, true);
	if (ret) {
		close(fd);
		seterr(err, errlen, "mmap of the writer's state map: %s", strerror(-ret));
		return ret;
	}
	clf_arr_at(&c->state, 0, sizeof(struct wst)); /* the header stays mapped: WST() */
	*WST(c) = tmp;
	WST(c)->magic = WST_MAGIC;
	WST(c)->version = WST_VERSION;
	WST(c)->max_rules = c->max_rules;
	WST(c)->nslots = c->nslots;
	WST(c)->parts = c->cap_parts;
	WST(c)->gen = c->gen;
	clf_state_bind(c);
	for_each_part(c, p)
		part_clear(c, p);
	return 0;
}

int clf_state_attach(struct wcard_clf *c, int fd)
{
	const struct wst *w;
	int ret = clf_arr_map(&c->state, fd, true);

	if (ret)
		return ret;
	if (c->state.len >= sizeof(*w))
		clf_arr_at(&c->state, 0, sizeof(*w)); /* the header stays mapped: WST() */
	w = WST(c);
	if (c->state.len < sizeof(*w) || w->magic != WST_MAGIC || w->version != WST_VERSION ||
	    w->max_rules != c->max_rules || w->nslots != c->nslots || w->parts != c->cap_parts ||
	    c->state.len / 4 < state_layout(&(struct wst){ 0 }, c->max_rules, c->nslots,
					      c->cap_parts)) {
		clf_arr_unmap(&c->state);
		c->state.fd = -1;
		return -EPROTO;
	}
	clf_state_bind(c);
	return 0;
}

void clf_state_bind(struct wcard_clf *c)
{
	struct clf_part *p;

	for (p = c->part; p < c->part + WC_MAX_PARTS; p++)
		p->st = &WST(c)->part[p->idx];
}

bool clf_state_ok(const struct wcard_clf *c)
{
	const struct wst *w = WST(c);

	return w && c->part[0].st && !__atomic_load_n(&w->busy, __ATOMIC_ACQUIRE) && w->gen == c->gen;
}

void clf_state_busy(struct wcard_clf *c, bool busy)
{
	/* Done: every copy of the rule set read before is stale (clf_rs_fresh). */
	if (!busy)
		WST(c)->changes++;
	__atomic_store_n(&WST(c)->busy, busy ? 1 : 0, __ATOMIC_SEQ_CST);
}

bool clf_rs_fresh(const struct wcard_clf *c)
{
	return c->rs.valid && (!c->state.p || WST(c)->changes == c->rs.changes);
}

void clf_rs_fresh_now(struct wcard_clf *c)
{
	c->rs.valid = true;
	c->rs.changes = c->state.p ? WST(c)->changes : 0;
}

/* ---- rings ------------------------------------------------------------------ */

__u32 *ring_at(struct wcard_clf *c, const struct wst_ring *r, __u64 i)
{
	return clf_arr_at(&c->state, ((size_t)r->off + i % r->cap) * 4, 4);
}

void ring_push(struct wcard_clf *c, struct wst_ring *r, __u32 v)
{
	*ring_at(c, r, r->tail) = v;
	__atomic_store_n(&r->tail, r->tail + 1, __ATOMIC_RELEASE);
}

bool ring_pop(struct wcard_clf *c, struct wst_ring *r, __u32 *v)
{
	if (r->head >= r->covered)
		return false;
	*v = *ring_at(c, r, r->head);
	r->head++;
	return true;
}

bool ring_unshift(struct wcard_clf *c, struct wst_ring *r, __u32 v)
{
	/* The free end grows back only over entries popped before (indexes never wrap below 0). */
	if (!r->head || r->tail - r->head >= r->cap)
		return false;
	r->head--;
	*ring_at(c, r, r->head) = v;
	return true;
}

void ring_reset(struct wst_ring *r)
{
	r->head = r->covered = r->tail = 0;
}

void moved_reset(struct wst_part *sp)
{
	ring_reset(&sp->moved);
	sp->moved_epoch++;
}

/* ---- rule ids ---------------------------------------------------------------- */

bool clf_id_in(const struct wcard_clf *c, const struct clf_part *p, __u32 id)
{
	return id < WST(c)->nids && *SLOT_OF(c, p, id) != WC_ID_NONE;
}

bool clf_id_live(const struct wcard_clf *c, __u32 id)
{
	const struct clf_part *p;

	/* A read-only handle without a state to trust has the rules read back. */
	if (!clf_state_ok(c))
		return c->rs.valid && id < c->rs.set.n && c->rs.live[id];
	for_each_part(c, p)
		if (clf_id_in(c, p, id))
			return true;
	return false;
}

__u32 clf_rec_format(const struct wcard_layout *l)
{
	return l && l->id == WC_LAYOUT_IPV4_5T ? WC_REC_IPV4 : WC_REC_GENERIC;
}

__u32 clf_rec_size(__u32 format)
{
	return format == WC_REC_IPV4 ? sizeof(struct wc_rule4) : sizeof(struct wc_rule);
}

void clf_rec_get(const struct wcard_clf *c, __u32 idx, struct wc_rule *out)
{
	const struct wc_rule4 *r4 = (const struct wc_rule4 *)RULE(c, idx);

	if (c->rec_format != WC_REC_IPV4) {
		memcpy(out, RULE(c, idx), sizeof(*out));
		return;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out, r4, sizeof(struct wc_rule_hdr));
	out->w[WC_F_SRC] = (struct wc_word_match){ r4->src_mask, r4->src_lo, 0 };
	out->w[WC_F_DST] = (struct wc_word_match){ r4->dst_mask, r4->dst_lo, 0 };
	out->w[WC_F_SPORT] = (struct wc_word_match){ ~0ULL, r4->sport_lo, r4->sport_span };
	out->w[WC_F_DPORT] = (struct wc_word_match){ ~0ULL, r4->dport_lo, r4->dport_span };
	out->w[WC_F_PROTO] = (struct wc_word_match){ r4->proto_mask, r4->proto_lo, 0 };
	out->w[WC_F_FLAGS] = (struct wc_word_match){ r4->flags_mask, r4->flags_lo, 0 };
}

/* ipv4-5tuple: field f is key word f, and every value fits its field's width. */
void clf_rec_put(const struct wcard_clf *c, __u32 idx, const struct wc_rule *r, bool match_only)
{
	struct wc_rule4 *r4 = (struct wc_rule4 *)RULE(c, idx);

	if (c->rec_format != WC_REC_IPV4) {
		if (match_only)
			memcpy(((struct wc_rule *)r4)->w, r->w, sizeof(r->w));
		else
			memcpy(r4, r, sizeof(*r));
		return;
	}
	if (!match_only)
		memcpy(r4, r, sizeof(struct wc_rule_hdr));
	r4->src_mask = r->w[WC_F_SRC].mask;
	r4->src_lo = r->w[WC_F_SRC].lo;
	r4->dst_mask = r->w[WC_F_DST].mask;
	r4->dst_lo = r->w[WC_F_DST].lo;
	r4->sport_lo = r->w[WC_F_SPORT].lo;
	r4->sport_span = r->w[WC_F_SPORT].span;
	r4->dport_lo = r->w[WC_F_DPORT].lo;
	r4->dport_span = r->w[WC_F_DPORT].span;
	r4->proto_mask = r->w[WC_F_PROTO].mask;
	r4->proto_lo = r->w[WC_F_PROTO].lo;
	r4->flags_mask = r->w[WC_F_FLAGS].mask;
	r4->flags_lo = r->w[WC_F_FLAGS].lo;
	memset(r4->_pad, 0, sizeof(r4->_pad));
}

void clf_decompile(const struct wcard_layout *l, const struct wc_rule *r, struct wcard_rule *out)
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

__u32 clf_rule_prio(const struct wcard_clf *c, __u32 id)
{
	const struct clf_part *p;

	if (!clf_state_ok(c))
		return id < c->rs.set.n ? c->rs.set.rules[id].prio : 0;
	for_each_part(c, p)
		if (clf_id_in(c, p, id))
			return RULE(c, *SLOT_OF(c, p, id))->rank >> 32;
	return 0;
}

void clf_rule_read(const struct wcard_clf *c, __u32 id, struct wcard_rule *out, __u64 *rank)
{
	const struct clf_part *p, *in = NULL;
	struct wc_rule rec;
	unsigned int n = 0;

	for_each_part(c, p) {
		if (!clf_id_in(c, p, id))
			continue;
		if (!in)
			in = p;
		n++;
	}
	if (!in) {
		memset(out, 0, sizeof(*out));
		return;
	}
	clf_rec_get(c, *SLOT_OF(c, in, id), &rec);
	clf_decompile(&in->layout, &rec, out);
	out->id = id;
	if (rank)
		*rank = RULE(c, *SLOT_OF(c, in, id))->rank;
	if (c->nparts > 1)
		out->family = n > 1 ? 0 : in->idx == WC_PART_V6 ? 6 : 4;
}

size_t clf_part_nlive(const struct wcard_clf *c, const struct clf_part *p)
{
	const struct wst *w = WST(c);
	/* A read-only handle without a state to trust has the rules read back. */
	bool st = clf_state_ok(c);
	size_t n = st ? w->nlive : c->rs.nlive;

	if (c->nparts == 1 || !p)
		return n;
	/* The rules of both families, and those of this part's own. */
	return n - (st ? w->nfam[p->idx != WC_PART_V6] : c->rs.nfam[p->idx != WC_PART_V6]);
}

/* ---- the rule set, as the maps hold it --------------------------------------- */

int clf_set_reserve(struct wcard_clf *c, size_t n)
{
	size_t cap = c->rs.cap ? c->rs.cap : 64;
	bool *live;
	__u64 *rank;

	if (n <= c->rs.cap)
		return 0;
	while (cap < n)
		cap *= 2;
	live = realloc(c->rs.live, cap * sizeof(*live));
	if (live)
		c->rs.live = live;
	rank = realloc(c->rs.rank, cap * sizeof(*rank));
	if (rank)
		c->rs.rank = rank;
	if (!live || !rank)
		return -ENOMEM;
	memset(c->rs.live + c->rs.cap, 0, (cap - c->rs.cap) * sizeof(*live));
	c->rs.cap = cap;
	return 0;
}

void clf_set_live(struct wcard_clf *c, __u32 id, bool live)
{
	__u8 fam = c->rs.set.rules[id].family;
	long d = live ? 1 : -1;

	if (c->rs.live[id] == live)
		return;
	c->rs.live[id] = live;
	c->rs.nlive += d;
	if (fam == 4 || fam == 6)
		c->rs.nfam[fam == 6] += d;
}

/*
 * Add rule slot idx (absolute) of part p to the set under its id, unless
 * already there (a half-done move, or a rule of both families met in the
 * other part). seen[id] gets p's bit.
 */
static int take_rule(struct wcard_clf *c, struct clf_part *p, __u32 idx, __u8 *seen)
{
	const struct wc_rule_hdr *r = RULE(c, idx);
	__u32 id = r->id & ~WC_ID_FLAGS;
	struct wcard_rule wr;
	struct wc_rule rec;
	size_t n;

	/* Ids stay below WC_ID_LIMIT (see clf_alloc_id). */
	if (id >= WC_ID_LIMIT((size_t)c->max_rules))
		return -EPROTO;
	seen[id] |= 1u << p->idx;
	if (id < c->rs.set.n && c->rs.live[id])
		return 0;
	if (clf_set_reserve(c, (size_t)id + 1))
		return -ENOMEM;
	clf_rec_get(c, idx, &rec);
	clf_decompile(&p->layout, &rec, &wr);
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
	if ((__u32)r->rank >= c->rs.seq)
		c->rs.seq = (__u32)r->rank + 1;
	return 0;
}

/*
 * The rules lookups can reach in part p's live generation: brute force's
 * sorted array, or every chain of every table in the current order buffer.
 * Slots a killed writer wrote but never linked are not reachable: they are
 * garbage, and the republish that follows reclaims them.
 */
static int collect_rules(struct wcard_clf *c, struct clf_part *p, __u8 *seen)
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
			ret = take_rule(c, p, cfg->rules_base + i, seen);
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
					ret = take_rule(c, p, cfg->rules_base + h - 1, seen);
					h = RULE(c, cfg->rules_base + h - 1)->next;
				}
			}
		}
	}
	return ret;
}

/* Forget the rule set read before: every id dead. */
static void rs_clear(struct wcard_clf *c)
{
	if (c->rs.live)
		memset(c->rs.live, 0, c->rs.cap * sizeof(*c->rs.live));
	c->rs.set.n = 0;
	c->rs.nlive = 0;
	c->rs.nfam[0] = c->rs.nfam[1] = 0;
	c->rs.seq = 0;
}

int clf_rs_load(struct wcard_clf *c)
{
	__u8 *seen;
	__u32 pend = ROOT(c)->pending, pid = (pend & ~WC_PENDING_LIVE) - 1;
	struct clf_part *p;
	size_t i;
	int ret = 0;

	if (clf_rs_fresh(c))
		return 0;
	seen = calloc(WC_ID_LIMIT((size_t)c->max_rules), 1);
	if (!seen)
		return -ENOMEM;
	rs_clear(c);
	wcard_ruleset_free(&c->rs.set);
	wcard_ruleset_init(&c->rs.set, &c->layout);
	for_each_part(c, p) {
		ret = collect_rules(c, p, seen);
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
	free(seen);
	if (ret) {
		rs_clear(c);
		return ret;
	}
	/* Ids the state handed out stay taken (their rules may be dead). */
	if (WST(c) && clf_state_ok(c) && WST(c)->seq > c->rs.seq)
		c->rs.seq = WST(c)->seq;
	clf_rs_fresh_now(c);
	return 0;
}
