// SPDX-License-Identifier: MIT
/* tm.c: the Tuple Merge builder's in-memory model: tables, buckets, relaxation, splits, events. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "core/core.h"
#include "tm.h"

/*
 * Layout of the model (all private to this file):
 *   - each used table owns a struct tm_priv (wc_tm_table.priv): a chained hash of
 *     buckets keyed by the masked key, an indexed min-heap of its buckets by their
 *     best rank (the table's best is the heap top), and a histogram of bucket
 *     sizes (max_bucket follows it in O(1) per change);
 *   - a bucket holds its rules as (rank, id) pairs sorted by rank.
 * Insert costs O(tables + bucket + log buckets), delete O(bucket + log buckets), plus
 * the moves of a split when one happens.
 *
 * Every operation appends its events to the caller's log. Log room is reserved
 * before the model changes, so an -ENOMEM never leaves the log and the model
 * out of step. A table index freed during an operation is not reused by the same
 * operation, and a freed table keeps its tuple and mask until reused, so a replay
 * that reads the tuple of a TABLE_NEW from the model after the operation reads
 * the right one.
 */

#define TM_ID_MAX   (1u << 24)
#define TM_HEAD_MIN 8

struct tm_ent {
	__u64 rank;
	__u32 id;
};

struct tm_bkt {
	struct tm_bkt *next; /* hash chain */
	__u64 hash;
	size_t n, cap;
	size_t heap;	   /* index in the table's heap */
	struct tm_ent *e;  /* n entries sorted by rank */
	struct wc_key key; /* masked key */
};

struct tm_priv {
	struct tm_bkt **head;
	size_t nhead; /* power of two */
	size_t nbkt;
	struct tm_bkt **heap; /* min-heap on e[0].rank, nbkt entries */
	size_t heap_cap;
	__u32 *hist; /* hist[s]: buckets holding s rules */
	size_t hist_len;
};

/* State of one insert or delete. */
struct tm_op {
	struct tm_log *log;
	__u64 freed[WC_TM_MAX_TABLES / 64]; /* tables dropped by this operation */
};

/* ---- small helpers --------------------------------------------------------------------- */

static void key_put(const struct wc_field_desc *d, struct wc_key *k, wc_u128 v)
{
	if (d->nwords == 2) {
		k->w[d->word] = (__u64)(v >> 64);
		k->w[d->word + 1] = (__u64)v;
	} else {
		k->w[d->word] = (__u64)v;
	}
}

static void key_and(struct wc_key *k, const struct wc_key *m)
{
	unsigned int i;

	for (i = 0; i < WC_KEY_WORDS; i++)
		k->w[i] &= m->w[i];
}

static __u64 key_hash(const struct wc_key *k)
{
	__u64 h = 0x9e3779b97f4a7c15ULL;
	unsigned int i;

	for (i = 0; i < WC_KEY_WORDS; i++) {
		h = (h ^ k->w[i]) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

void tm_rule_key(const struct wcard_layout *l, const struct wcard_rule *r, struct wc_key *k)
{
	unsigned int f;

	memset(k, 0, sizeof(*k));
	for (f = 0; f < l->nfields; f++) {
		const struct wcard_match *m = &r->f[f];

		key_put(&l->desc[f], k, l->desc[f].type == WC_FIELD_RANGE ? m->lo : m->value);
	}
}

bool tm_tuple_fits(unsigned int nfields, const __u8 *table, const __u8 *rule)
{
	unsigned int f;

	for (f = 0; f < nfields; f++)
		if (table[f] > rule[f])
			return false;
	return true;
}

static bool tuple_eq(unsigned int nfields, const __u8 *a, const __u8 *b)
{
	return !memcmp(a, b, nfields);
}

static int log_reserve(struct tm_op *op, size_t k)
{
	struct tm_log *log = op->log;
	struct tm_event *ev;
	size_t cap;

	if (!log || log->n + k <= log->cap)
		return 0;
	cap = log->cap ? log->cap : 64;
	while (cap < log->n + k)
		cap *= 2;
	ev = realloc(log->ev, cap * sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	log->ev = ev;
	log->cap = cap;
	return 0;
}

/* Room was reserved by the caller. */
static void log_put(struct tm_op *op, enum tm_ev_op what, __u32 t, __u32 rule, __u64 rank)
{
	struct tm_log *log = op->log;

	if (!log)
		return;
	log->ev[log->n++] =
		(struct tm_event){ .op = what, .table = t, .rule = rule, .rank = rank };
}

/* ---- tuples ---------------------------------------------------------------------------- */

void tm_rule_tuple(const struct wcard_layout *l, const struct wcard_rule *r,
		      __u8 len[WC_MAX_FIELDS])
{
	unsigned int f;

	memset(len, 0, WC_MAX_FIELDS);
	for (f = 0; f < l->nfields; f++) {
		const struct wcard_match *m = &r->f[f];
		unsigned int w = l->fields[f].width;

		switch (l->fields[f].type) {
		case WC_FIELD_PREFIX:
			len[f] = m->plen > w * 8 ? w * 8 : m->plen;
			break;
		case WC_FIELD_EXACT:
		case WC_FIELD_MASK:
			len[f] = m->mask == u128_ones(w) ? w * 8 : 0;
			break;
		case WC_FIELD_RANGE:
			len[f] = m->lo == m->hi ? w * 8 : 0;
			break;
		}
	}
}

/* Non-PREFIX fields: any length but 0 means all bits. */
void tm_tuple_mask(const struct wcard_layout *l, const __u8 len[WC_MAX_FIELDS],
		      struct wc_key *mask)
{
	unsigned int f;

	memset(mask, 0, sizeof(*mask));
	for (f = 0; f < l->nfields; f++) {
		unsigned int w = l->fields[f].width, bits = w * 8;
		wc_u128 m = 0;

		if (!len[f])
			m = 0;
		else if (l->fields[f].type != WC_FIELD_PREFIX || len[f] >= bits)
			m = u128_ones(w);
		else
			m = u128_ones(w) & ~(u128_ones(w) >> len[f]);
		key_put(&l->desc[f], mask, m);
	}
}

/*
 * Address bits cut from a new table's tuple (docs/design.md section 3), by length class.
 * With B = field width in bits:
 *   len == B  -> -B/8,   len > 3B/4 -> -3B/32,   len > B/2 -> -B/16,
 *   len > B/4 -> -B/32,  else unchanged.
 * IPv4 (B = 32): /32 -> /28, >24 -> -3, >16 -> -2, >8 -> -1, <=8 -> 0, the paper's.
 * IPv6 (B = 128) scales every threshold and cut by 4: /128 -> /112, >96 -> -12,
 * >64 -> -8, >32 -> -4, <=32 -> 0. Custom fields scale the same way (integer
 * division: a byte-wide prefix loses one bit at /8 and nothing otherwise).
 */
static unsigned int relax_cut(unsigned int width, unsigned int len)
{
	unsigned int b = width * 8;

	if (len >= b)
		return b / 8;
	if (len * 4 > 3 * b)
		return 3 * b / 32;
	if (len * 2 > b)
		return b / 16;
	if (len * 4 > b)
		return b / 32;
	/*
	 * "<= 8 -> 0" (docs/design.md section 3), read as the length dropping to 0: a prefix this
	 * short is not worth a table of its own, so the rule shares one with the
	 * wildcards (fw1_10k: 43 tables, 8.7 probed with the cut as 0 bits; the
	 * native reference has 17 tables and 4.8 probed).
	 */
	return len;
}

/*
 * Length of a new table's prefix field for a rule of length len: cut as above,
 * then, on fields of 32 bits or more, rounded down to a multiple of 4 bits, so
 * that rules a bit or two apart share a table instead of each making one.
 * Measured with `wcard stats` (tables / average tables probed on the trace),
 * cut alone -> cut and rounded: acl1_10k 26/4.75 -> 24/4.73, fw1_10k 27/8.51 ->
 * 24/8.46, ipc1_10k 48/16.01 -> 40/14.36, acl1_100k 40/4.93 -> 32/4.84.
 * Rounding to 8 bits helps fw1 and ipc1 more (20/7.53, 33/11.56) but costs
 * acl1_10k 3 more tables per packet (26/7.98): its splits then make early tables.
 */
static unsigned int relax_len(unsigned int width, unsigned int len)
{
	unsigned int out = len - relax_cut(width, len);

	return width >= 4 ? out & ~3u : out;
}

/*
 * The tuple of a new table for a rule of tuple rl. Built-in layouts:
 * - when the two addresses' lengths (the rule's own, before cutting) differ by
 *   more than B/8 bits (4 for IPv4, 16 for IPv6), the shorter address and its
 *   port are left out;
 * - the source port is always left out; a split can still add it to a table.
 *   Source ports of real traffic are mostly ephemeral, and the few rules that
 *   name one exactly otherwise sit in tables of their own near the front of the
 *   lookup order, probed by every packet that matches a later rule. Measured
 *   (tables / average probed, see relax_len): fw1_10k 24/8.46 -> 22/6.52,
 *   acl1_10k and acl1_100k unchanged (no exact source ports), ipc1_10k
 *   40/14.36 -> 41/15.15; ns per lookup in one `make bench` run: fw1_10k
 *   336 -> 248, ipc1_10k 562 -> 558.
 * Custom layouts: every PREFIX field is cut, nothing is left out.
 */
void tm_relax_tuple(const struct wcard_layout *l, const __u8 *rl, __u8 *out)
{
	unsigned int f;

	memcpy(out, rl, WC_MAX_FIELDS);
	for (f = 0; f < l->nfields; f++)
		if (l->fields[f].type == WC_FIELD_PREFIX)
			out[f] = relax_len(l->fields[f].width, rl[f]);
	if (l->id == WC_LAYOUT_IPV4_5T || l->id == WC_LAYOUT_IPV6_5T) {
		unsigned int gap = l->fields[WC_F_SRC].width;
		int d = (int)rl[WC_F_SRC] - (int)rl[WC_F_DST];

		out[WC_F_SPORT] = 0;
		if (d > (int)gap) {
			out[WC_F_DST] = 0;
			out[WC_F_DPORT] = 0;
		} else if (-d > (int)gap) {
			out[WC_F_SRC] = 0;
		}
	}
}

/* ---- buckets --------------------------------------------------------------------------- */

static __u64 bkt_best(const struct tm_bkt *b)
{
	return b->e[0].rank;
}

static void heap_set(struct tm_priv *p, size_t i, struct tm_bkt *b)
{
	p->heap[i] = b;
	b->heap = i;
}

static void heap_up(struct tm_priv *p, size_t i)
{
	struct tm_bkt *b = p->heap[i];

	while (i > 0) {
		size_t up = (i - 1) / 2;

		if (bkt_best(p->heap[up]) <= bkt_best(b))
			break;
		heap_set(p, i, p->heap[up]);
		i = up;
	}
	heap_set(p, i, b);
}

static void heap_down(struct tm_priv *p, size_t i)
{
	struct tm_bkt *b = p->heap[i];
	size_t n = p->nbkt;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && bkt_best(p->heap[c + 1]) < bkt_best(p->heap[c]))
			c++;
		if (bkt_best(b) <= bkt_best(p->heap[c]))
			break;
		heap_set(p, i, p->heap[c]);
		i = c;
	}
	heap_set(p, i, b);
}

/* Remove heap entry i; nbkt is already one less. */
static void heap_remove(struct tm_priv *p, size_t i)
{
	struct tm_bkt *last = p->heap[p->nbkt];

	if (i == p->nbkt)
		return;
	heap_set(p, i, last);
	heap_up(p, i);
	heap_down(p, last->heap);
}

static struct tm_bkt *bkt_find(const struct tm_priv *p, const struct wc_key *mk, __u64 h)
{
	struct tm_bkt *b;

	for (b = p->head[h & (p->nhead - 1)]; b; b = b->next)
		if (b->hash == h && !memcmp(&b->key, mk, sizeof(*mk)))
			return b;
	return NULL;
}

static void bkt_unlink(struct tm_priv *p, struct tm_bkt *b)
{
	struct tm_bkt **pp = &p->head[b->hash & (p->nhead - 1)];

	while (*pp != b)
		pp = &(*pp)->next;
	*pp = b->next;
}

/* Grow the chain heads when buckets outnumber them; failure only costs speed. */
static void hash_grow(struct tm_priv *p)
{
	size_t n = p->nhead * 2, i;
	struct tm_bkt **h;

	if (p->nbkt <= p->nhead)
		return;
	h = calloc(n, sizeof(*h));
	if (!h)
		return;
	for (i = 0; i < p->nhead; i++) {
		struct tm_bkt *b = p->head[i], *next;

		for (; b; b = next) {
			next = b->next;
			b->next = h[b->hash & (n - 1)];
			h[b->hash & (n - 1)] = b;
		}
	}
	free(p->head);
	p->head = h;
	p->nhead = n;
}

static void hist_move(struct tm_mtable *tb, __u32 from, __u32 to)
{
	struct tm_priv *p = tb->priv;

	if (from)
		p->hist[from]--;
	if (to)
		p->hist[to]++;
	if (to > tb->max_bucket)
		tb->max_bucket = to;
	while (tb->max_bucket && !p->hist[tb->max_bucket])
		tb->max_bucket--;
}

static int grow(void **ptr, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 8;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*ptr, n * size);
	if (!q)
		return -ENOMEM;
	memset((char *)q + *cap * size, 0, (n - *cap) * size);
	*ptr = q;
	*cap = n;
	return 0;
}

/* ---- tables ---------------------------------------------------------------------------- */

static void priv_free(struct tm_priv *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nbkt; i++) {
		free(p->heap[i]->e);
		free(p->heap[i]);
	}
	free(p->head);
	free(p->heap);
	free(p->hist);
	free(p);
}

static int table_find(const struct tm_model *tm, const __u8 *len)
{
	unsigned int t;

	for (t = 0; t < WC_TM_MAX_TABLES; t++)
		if (tm->tables[t].used && tuple_eq(tm->layout->nfields, tm->tables[t].len, len))
			return (int)t;
	return -1;
}

/* A new empty table with tuple len: TABLE_NEW. -ENOSPC when all slots are taken. */
static int table_new(struct tm_model *tm, struct tm_op *op, const __u8 *len, __u32 *out)
{
	struct tm_mtable *tb;
	struct tm_priv *p;
	unsigned int t;

	for (t = 0; t < WC_TM_MAX_TABLES; t++)
		if (!tm->tables[t].used && !(op->freed[t / 64] & (1ULL << (t % 64))))
			break;
	if (t == WC_TM_MAX_TABLES)
		return -ENOSPC;
	/* Room for TABLE_NEW and a TABLE_DEL should the first add fail. */
	if (log_reserve(op, 2))
		return -ENOMEM;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->nhead = TM_HEAD_MIN;
	p->head = calloc(p->nhead, sizeof(*p->head));
	if (!p->head) {
		free(p);
		return -ENOMEM;
	}
	tb = &tm->tables[t];
	memset(tb, 0, sizeof(*tb));
	tb->used = true;
	memcpy(tb->len, len, WC_MAX_FIELDS);
	tm_tuple_mask(tm->layout, tb->len, &tb->mask);
	tb->best = WC_RANK_NONE;
	tb->priv = p;
	tm->ntables++;
	log_put(op, TM_TABLE_NEW, t, 0, 0);
	*out = t;
	return 0;
}

/* Release an empty table; its tuple and mask stay readable. */
static void table_release(struct tm_model *tm, struct tm_op *op, __u32 t)
{
	struct tm_mtable *tb = &tm->tables[t];

	priv_free(tb->priv);
	tb->priv = NULL;
	tb->used = false;
	tb->best = WC_RANK_NONE;
	tb->nrules = 0;
	tb->max_bucket = 0;
	tm->ntables--;
	op->freed[t / 64] |= 1ULL << (t % 64);
}

/* Drop an empty table: TABLE_DEL. Log room was reserved. */
static void table_drop(struct tm_model *tm, struct tm_op *op, __u32 t)
{
	table_release(tm, op, t);
	log_put(op, TM_TABLE_DEL, t, 0, 0);
}

/*
 * Add rule id (its rank and rule already in tm->rules) to table t. When the rule
 * lowers the table's best, TABLE_BEST comes before RULE_ADD. 0 or -ENOMEM with
 * nothing changed.
 */
static int table_add(struct tm_model *tm, struct tm_op *op, __u32 t, __u32 id)
{
	struct tm_mtable *tb = &tm->tables[t];
	struct tm_priv *p = tb->priv;
	const struct tm_rule *ru = &tm->rules[id];
	struct tm_bkt *b, *fresh = NULL;
	size_t lo, hi;
	struct wc_key mk;
	__u64 h;

	tm_rule_key(tm->layout, &ru->r, &mk);
	key_and(&mk, &tb->mask);
	h = key_hash(&mk);
	b = bkt_find(p, &mk, h);
	if (!b) {
		fresh = calloc(1, sizeof(*fresh));
		if (!fresh)
			return -ENOMEM;
		fresh->key = mk;
		fresh->hash = h;
		b = fresh;
	}
	if (log_reserve(op, 2) ||
	    grow((void **)&p->heap, &p->heap_cap, p->nbkt + 1, sizeof(*p->heap)) ||
	    grow((void **)&p->hist, &p->hist_len, b->n + 2, sizeof(*p->hist)) ||
	    grow((void **)&b->e, &b->cap, b->n + 1, sizeof(*b->e)))
		goto nomem;

	/* After the entries of equal or lower rank. */
	lo = 0;
	hi = b->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->e[mid].rank <= ru->rank)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (ru->rank < tb->best)
		log_put(op, TM_TABLE_BEST, t, 0, ru->rank);
	memmove(&b->e[lo + 1], &b->e[lo], (b->n - lo) * sizeof(*b->e));
	b->e[lo] = (struct tm_ent){ .rank = ru->rank, .id = id };
	b->n++;
	if (fresh) {
		size_t i = h & (p->nhead - 1);

		fresh->next = p->head[i];
		p->head[i] = fresh;
		heap_set(p, p->nbkt++, fresh);
		heap_up(p, fresh->heap);
		hash_grow(p);
	} else if (lo == 0) {
		heap_up(p, b->heap);
	}
	hist_move(tb, b->n - 1, b->n);
	tb->nrules++;
	tb->best = bkt_best(p->heap[0]);
	log_put(op, TM_RULE_ADD, t, id, ru->rank);
	return 0;

nomem:
	if (fresh) {
		free(fresh->e);
		free(fresh);
	}
	return -ENOMEM;
}

static struct tm_bkt *bucket_of(const struct tm_model *tm, __u32 t, __u32 id)
{
	const struct tm_mtable *tb = &tm->tables[t];
	struct wc_key mk;

	tm_rule_key(tm->layout, &tm->rules[id].r, &mk);
	key_and(&mk, &tb->mask);
	return bkt_find(tb->priv, &mk, key_hash(&mk));
}

/*
 * Remove rule id from table t: RULE_DEL, then TABLE_BEST if the best rose (to
 * WC_RANK_NONE when the table empties), then TABLE_DEL if it emptied.
 * 0, -ENOENT (not there) or -ENOMEM (no log room), nothing changed on error.
 */
static int table_del(struct tm_model *tm, struct tm_op *op, __u32 t, __u32 id)
{
	struct tm_mtable *tb = &tm->tables[t];
	struct tm_priv *p = tb->priv;
	struct tm_bkt *b = bucket_of(tm, t, id);
	__u64 old = tb->best, rank;
	size_t i;

	if (!b)
		return -ENOENT;
	for (i = 0; i < b->n && b->e[i].id != id; i++)
		;
	if (i == b->n)
		return -ENOENT;
	if (log_reserve(op, 3))
		return -ENOMEM;
	rank = b->e[i].rank;
	memmove(&b->e[i], &b->e[i + 1], (b->n - i - 1) * sizeof(*b->e));
	b->n--;
	hist_move(tb, b->n + 1, b->n);
	if (!b->n) {
		bkt_unlink(p, b);
		p->nbkt--;
		heap_remove(p, b->heap);
		free(b->e);
		free(b);
	} else if (i == 0) {
		heap_down(p, b->heap);
	}
	tb->nrules--;
	tb->best = p->nbkt ? bkt_best(p->heap[0]) : WC_RANK_NONE;
	log_put(op, TM_RULE_DEL, t, id, rank);
	if (tb->best != old)
		log_put(op, TM_TABLE_BEST, t, 0, tb->best);
	if (!tb->nrules)
		table_drop(tm, op, t);
	return 0;
}

/* ---- insert, split, delete ------------------------------------------------------------- */

/* First compatible table in lookup order, else a new relaxed one. */
static int pick_dynamic(struct tm_model *tm, struct tm_op *op, const __u8 *len, __u32 *out,
			bool *made)
{
	unsigned int nf = tm->layout->nfields, t;
	__u8 tl[WC_MAX_FIELDS];
	int best = -1;

	for (t = 0; t < WC_TM_MAX_TABLES; t++) {
		const struct tm_mtable *tb = &tm->tables[t];

		if (!tb->used || !tm_tuple_fits(nf, tb->len, len))
			continue;
		if (best < 0 || tb->best < tm->tables[best].best)
			best = (int)t;
	}
	if (best >= 0) {
		*out = (__u32)best;
		return 0;
	}
	tm_relax_tuple(tm->layout, len, tl);
	/* Cannot happen (that table would fit the rule), but never make a duplicate. */
	best = table_find(tm, tl);
	if (best >= 0) {
		*out = (__u32)best;
		return 0;
	}
	*made = true;
	return table_new(tm, op, tl, out);
}

/* First pool tuple the rule fits, in pool order; its table is made on first use. */
static int pick_static(struct tm_model *tm, struct tm_op *op, const __u8 *len, __u32 *out,
		       bool *made)
{
	unsigned int nf = tm->layout->nfields, i;
	int t;

	for (i = 0; i < tm->pool.n; i++) {
		if (!tm_tuple_fits(nf, tm->pool.len[i], len))
			continue;
		t = table_find(tm, tm->pool.len[i]);
		if (t >= 0) {
			*out = (__u32)t;
			return 0;
		}
		*made = true;
		return table_new(tm, op, tm->pool.len[i], out);
	}
	return -ENOENT;
}

/* tm.h */
bool tm_split_tuple(const struct wcard_layout *l, const __u8 *tlen,
		    const __u8 (*lens)[WC_MAX_FIELDS], size_t n, __u8 *nl)
{
	unsigned int f, bf = 0, gap = 0;
	__u8 mn[WC_MAX_FIELDS], mx[WC_MAX_FIELDS];
	size_t i;

	memcpy(mn, lens[0], WC_MAX_FIELDS);
	memcpy(mx, mn, WC_MAX_FIELDS);
	for (i = 1; i < n; i++) {
		for (f = 0; f < l->nfields; f++) {
			if (lens[i][f] < mn[f])
				mn[f] = lens[i][f];
			if (lens[i][f] > mx[f])
				mx[f] = lens[i][f];
		}
	}
	memcpy(nl, tlen, WC_MAX_FIELDS);
	for (f = 0; f < l->nfields; f++) {
		if ((unsigned int)(mn[f] - tlen[f]) > gap) {
			gap = mn[f] - tlen[f];
			bf = f;
		}
	}
	if (gap) {
		nl[bf] = l->fields[bf].type == WC_FIELD_PREFIX ? tlen[bf] + (gap + 1) / 2 : mn[bf];
		return true;
	}
	for (f = 0; f < l->nfields; f++) {
		if ((unsigned int)(mx[f] - mn[f]) > gap) {
			gap = mx[f] - mn[f];
			bf = f;
		}
	}
	if (!gap)
		return false;
	nl[bf] = l->fields[bf].type == WC_FIELD_PREFIX ? mn[bf] + (gap + 1) / 2 : mx[bf];
	return true;
}

/* The tuple bucket b of table tb splits into (tm_split_tuple). */
static bool split_tuple(const struct tm_model *tm, const struct tm_mtable *tb,
			const struct tm_bkt *b, __u8 *nl)
{
	__u8(*lens)[WC_MAX_FIELDS] = malloc(b->n * sizeof(*lens));
	bool ret;
	size_t i;

	if (!lens)
		return false;
	for (i = 0; i < b->n; i++)
		memcpy(lens[i], tm->rules[b->e[i].id].len, WC_MAX_FIELDS);
	ret = tm_split_tuple(tm->layout, tb->len, lens, b->n, nl);
	free(lens);
	return ret;
}

/*
 * Rules of table tb that fit tuple nl, into ids (grown to hold them); *stay
 * gets a rule of bucket b that does not fit, if any. Returns how many, or -1.
 */
static long split_movers(const struct tm_model *tm, const struct tm_mtable *tb,
			 const struct tm_bkt *b, const __u8 *nl, __u32 **ids, size_t *icap,
			 __u32 *stay)
{
	const struct tm_priv *pv = tb->priv;
	unsigned int nf = tm->layout->nfields;
	size_t hb, j, k = 0;

	for (j = 0; j < b->n; j++)
		if (!tm_tuple_fits(nf, nl, tm->rules[b->e[j].id].len))
			*stay = b->e[j].id;
	if (grow((void **)ids, icap, tb->nrules, sizeof(**ids)))
		return -1;
	for (hb = 0; hb < pv->nbkt; hb++)
		for (j = 0; j < pv->heap[hb]->n; j++)
			if (tm_tuple_fits(nf, nl, tm->rules[pv->heap[hb]->e[j].id].len))
				(*ids)[k++] = pv->heap[hb]->e[j].id;
	return (long)k;
}

/*
 * A bucket over the limit splits: its rules that fit a narrower tuple move to
 * that tuple's table, and so does every other rule of the table that fits it,
 * as the paper's online algorithm does. Moving only the bucket's left the
 * table's other buckets to split one by one, each into a table of its own:
 * tables / average tables probed, raw ClassBench keys, bucket only -> whole
 * table: acl3_10k 66 / 27.2 -> 44 / 12.4, acl4_10k 70 / 27.7 -> 49 / 12.7,
 * ipc1_10k 41 / 15.1 -> 36 / 11.3, acl1_100k 32 / 4.84 -> 25 / 3.38 (the
 * native reference: 39 / 16.9, 42 / 16.8, 27 / 12.1, 29 / 3.27).
 */
static void split_from(struct tm_model *tm, struct tm_op *op, __u32 id)
{
	size_t sn = 0, scap = 0, icap = 0, i, k;
	__u32 *stack = NULL, *ids = NULL;

	if (grow((void **)&stack, &scap, 1, sizeof(*stack)))
		return;
	stack[sn++] = id;
	while (sn) {
		__u32 rid = stack[--sn], t = tm->rules[rid].table, t2, stay = TM_ID_MAX;
		struct tm_mtable *tb = &tm->tables[t];
		__u8 nl[WC_MAX_FIELDS];
		struct tm_bkt *b;
		int found, ret;
		long got;

		b = bucket_of(tm, t, rid);
		if (!b || b->n <= tm->collide || !split_tuple(tm, tb, b, nl))
			continue;
		found = table_find(tm, nl);
		if (found >= 0) {
			t2 = (__u32)found;
		} else {
			ret = table_new(tm, op, nl, &t2);
			if (ret == -ENOSPC) {
				tm->splits_skipped++;
				continue;
			}
			if (ret)
				break;
		}
		got = split_movers(tm, tb, b, nl, &ids, &icap, &stay);
		if (got < 0 || grow((void **)&stack, &scap, sn + (size_t)got + 1, sizeof(*stack)))
			break;
		k = (size_t)got;
		/* A bucket may go away with its last rule. */
		for (i = 0; i < k; i++) {
			if (log_reserve(op, 5) || table_add(tm, op, t2, ids[i]))
				break;
			table_del(tm, op, t, ids[i]);
			tm->rules[ids[i]].table = t2;
			stack[sn++] = ids[i];
		}
		if (!tm->tables[t2].nrules)
			table_drop(tm, op, t2);
		if (i < k)
			break;
		/* What stayed may still be over the limit and split another way. */
		if (k && stay != TM_ID_MAX)
			stack[sn++] = stay;
	}
	free(stack);
	free(ids);
}

int tm_insert(struct tm_model *tm, __u32 id, __u64 rank, const struct wcard_rule *r,
		 struct tm_log *log)
{
	struct tm_op op = { .log = log };
	size_t log_n = log ? log->n : 0;
	__u8 len[WC_MAX_FIELDS];
	struct tm_rule *ru;
	bool made = false;
	__u32 t;
	int ret;

	if (!tm || !r || id >= TM_ID_MAX)
		return -EINVAL;
	if (id < tm->rules_cap && tm->rules[id].used)
		return -EEXIST;
	if (grow((void **)&tm->rules, &tm->rules_cap, (size_t)id + 1, sizeof(*tm->rules)))
		return -ENOMEM;
	tm_rule_tuple(tm->layout, r, len);
	if (tm->is_static)
		ret = pick_static(tm, &op, len, &t, &made);
	else
		ret = pick_dynamic(tm, &op, len, &t, &made);
	if (ret)
		goto out;
	ru = &tm->rules[id];
	ru->rank = rank;
	ru->table = t;
	memcpy(ru->len, len, WC_MAX_FIELDS);
	ru->r = *r;
	ret = table_add(tm, &op, t, id);
	if (ret) {
		if (made)
			table_release(tm, &op, t);
		goto out;
	}
	ru->used = true;
	tm->nrules++;
	if (!tm->is_static)
		split_from(tm, &op, id);
out:
	/* On error nothing changed: forget the events of the attempt. */
	if (ret && log)
		log->n = log_n;
	return ret;
}

/*
 * A bucket over the limit that could not split may become splittable when the
 * rule that pinned it (the one as short as the table) goes: split it then, so
 * that a bucket over the limit always means "cannot split".
 */
int tm_delete(struct tm_model *tm, __u32 id, struct tm_log *log)
{
	struct tm_op op = { .log = log };
	const struct tm_bkt *b;
	__u32 t, other = 0;
	bool resplit;
	int ret;

	if (!tm || id >= tm->rules_cap || !tm->rules[id].used)
		return -ENOENT;
	t = tm->rules[id].table;
	b = bucket_of(tm, t, id);
	resplit = !tm->is_static && b && b->n > (size_t)tm->collide + 1;
	if (resplit)
		other = b->e[0].id != id ? b->e[0].id : b->e[1].id;
	ret = table_del(tm, &op, t, id);
	if (ret)
		return ret;
	tm->rules[id].used = false;
	tm->nrules--;
	if (resplit)
		split_from(tm, &op, other);
	return 0;
}

/* ---- merging tables -------------------------------------------------------------------- */

/* A merge try's count of one bucket key: the key, its hash, a's rules with it. */
struct tm_mslot {
	struct wc_key key;
	__u64 hash;
	__u32 n; /* 0: empty slot */
};

/* State of tm_merge: every live rule's key, and a count table for one try. */
struct tm_merge {
	struct wc_key *rk; /* by rule id (tm_rule_key) */
	__u32 *ids; /* the rules of the table tried */
	size_t ids_cap;
	struct tm_mslot *slot;
	size_t nslot; /* power of two, at least twice the table tried */
};

/* Room in m for a table of n rules. */
static int merge_room(struct tm_merge *m, size_t n)
{
	size_t want = m->nslot ? m->nslot : 16;
	void *p;

	if (grow((void **)&m->ids, &m->ids_cap, n, sizeof(*m->ids)))
		return -ENOMEM;
	while (want < 2 * n)
		want *= 2;
	if (want == m->nslot)
		return 0;
	p = realloc(m->slot, want * sizeof(*m->slot));
	if (!p)
		return -ENOMEM;
	m->slot = p;
	m->nslot = want;
	return 0;
}

/* The ids of table t's rules into ids (room for its nrules). */
static void table_ids(const struct tm_mtable *tb, __u32 *ids)
{
	const struct tm_priv *p = tb->priv;
	size_t hb, j, k = 0;

	for (hb = 0; hb < p->nbkt; hb++)
		for (j = 0; j < p->heap[hb]->n; j++)
			ids[k++] = p->heap[hb]->e[j].id;
}

/*
 * The largest bucket table b would have with the rules of table a (m->ids)
 * added, or UINT_MAX past the limit: counted in an open-addressed table, so
 * that the first bucket over the limit ends the try (most tries fail).
 */
static unsigned int merge_bucket(const struct tm_model *tm, __u32 a, __u32 b, struct tm_merge *m)
{
	const struct tm_mtable *tb = &tm->tables[b];
	size_t i, n = tm->tables[a].nrules, size = m->nslot, mask, pos;
	unsigned int most = tb->max_bucket, ret = 0, cnt;
	struct tm_mslot *s;
	struct wc_key mk;
	__u64 h;

	while (size / 2 > 2 * n && size > 16)
		size /= 2;
	mask = size - 1;
	memset(m->slot, 0, size * sizeof(*m->slot));
	for (i = 0; i < n && !ret; i++) {
		const struct tm_bkt *bk;

		mk = m->rk[m->ids[i]];
		key_and(&mk, &tb->mask);
		h = key_hash(&mk);
		for (pos = h & mask;; pos = (pos + 1) & mask) {
			s = &m->slot[pos];
			if (!s->n || (s->hash == h && !memcmp(&s->key, &mk, sizeof(mk))))
				break;
		}
		if (!s->n) {
			bk = bkt_find(tb->priv, &mk, h);
			s->key = mk;
			s->hash = h;
			s->n = bk ? (__u32)bk->n : 0;
		}
		cnt = ++s->n;
		if (cnt > tm->collide)
			ret = UINT_MAX;
		else if (cnt > most)
			most = cnt;
	}
	return ret ? ret : most;
}

static unsigned int tuple_bits(unsigned int nfields, const __u8 *len)
{
	unsigned int f, s = 0;

	for (f = 0; f < nfields; f++)
		s += len[f];
	return s;
}

/* Move every rule of table t (m->ids) to table to; t goes. */
static int merge_move(struct tm_model *tm, struct tm_log *log, __u32 t, __u32 to,
		      const __u32 *ids)
{
	struct tm_op op = { .log = log };
	unsigned int k, n = tm->tables[t].nrules;
	int ret;

	for (k = 0; k < n; k++) {
		ret = log_reserve(&op, 5);
		if (!ret)
			ret = table_add(tm, &op, to, ids[k]);
		if (ret)
			return ret;
		table_del(tm, &op, t, ids[k]);
		tm->rules[ids[k]].table = to;
	}
	return 0;
}

/*
 * tm.h. One pass is the fixpoint: a try that failed fails for good, since
 * tables only gain rules here (a bucket that was over the limit stays so).
 * Of the tables a table fits, it goes to the one whose largest bucket grows
 * least, then to the longest tuple (the most specific hash).
 */
int tm_merge(struct tm_model *tm, struct tm_log *log)
{
	unsigned int nf = tm->layout->nfields, merged = 0, t, u;
	struct tm_merge m = { 0 };
	int ret = 0;
	size_t i;

	if (tm->is_static)
		return 0;
	m.rk = malloc((tm->rules_cap ? tm->rules_cap : 1) * sizeof(*m.rk));
	if (!m.rk) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < tm->rules_cap; i++)
		if (tm->rules[i].used)
			tm_rule_key(tm->layout, &tm->rules[i].r, &m.rk[i]);
	for (t = 0; t < WC_TM_MAX_TABLES; t++) {
		const struct tm_mtable *ta = &tm->tables[t];
		unsigned int best_most = UINT_MAX, best_bits = 0, grown, bits;
		int to = -1;

		if (!ta->used)
			continue;
		ret = merge_room(&m, ta->nrules);
		if (ret)
			goto out;
		table_ids(ta, m.ids);
		for (u = 0; u < WC_TM_MAX_TABLES; u++) {
			const struct tm_mtable *tb = &tm->tables[u];

			if (u == t || !tb->used || !tm_tuple_fits(nf, tb->len, ta->len))
				continue;
			grown = merge_bucket(tm, t, u, &m);
			bits = tuple_bits(nf, tb->len);
			if (grown == UINT_MAX)
				continue;
			if (grown < best_most || (grown == best_most && bits > best_bits)) {
				best_most = grown;
				best_bits = bits;
				to = (int)u;
			}
		}
		if (to < 0)
			continue;
		ret = merge_move(tm, log, t, (__u32)to, m.ids);
		if (ret)
			goto out;
		merged++;
	}
out:
	free(m.rk);
	free(m.ids);
	free(m.slot);
	return ret ? ret : (int)merged;
}

/* ---- lookup ---------------------------------------------------------------------------- */

struct tm_ord {
	__u64 best;
	__u32 t;
};

static int ord_cmp(const void *a, const void *b)
{
	const struct tm_ord *x = a, *y = b;

	if (x->best != y->best)
		return x->best < y->best ? -1 : 1;
	return x->t < y->t ? -1 : x->t > y->t;
}

unsigned int tm_order(const struct tm_model *tm, __u32 *out)
{
	struct tm_ord o[WC_TM_MAX_TABLES];
	unsigned int t, n = 0, i;

	for (t = 0; t < WC_TM_MAX_TABLES; t++)
		if (tm->tables[t].used)
			o[n++] = (struct tm_ord){ .best = tm->tables[t].best, .t = t };
	qsort(o, n, sizeof(*o), ord_cmp);
	for (i = 0; i < n; i++)
		out[i] = o[i].t;
	return n;
}

long tm_lookup(const struct tm_model *tm, const struct wc_key *k, unsigned int *probed)
{
	__u32 order[WC_TM_MAX_TABLES];
	unsigned int n = tm_order(tm, order), i, np = 0;
	__u64 best_rank = WC_RANK_NONE;
	long best = -1;

	for (i = 0; i < n; i++) {
		const struct tm_mtable *tb = &tm->tables[order[i]];
		const struct tm_bkt *b;
		struct wc_key mk = *k;
		size_t j;

		if (tb->best >= best_rank)
			break;
		np++;
		key_and(&mk, &tb->mask);
		b = bkt_find(tb->priv, &mk, key_hash(&mk));
		for (j = 0; b && j < b->n && b->e[j].rank < best_rank; j++) {
			if (wcard_rule_matches(tm->layout, &tm->rules[b->e[j].id].r, k)) {
				best_rank = b->e[j].rank;
				best = b->e[j].id;
				break;
			}
		}
	}
	if (probed)
		*probed = np;
	return best;
}

unsigned int tm_bucket(const struct tm_model *tm, __u32 t, const struct wc_key *mk, __u32 *out,
			  unsigned int max)
{
	const struct tm_mtable *tb;
	const struct tm_bkt *b;
	struct wc_key k;
	size_t i;

	if (t >= WC_TM_MAX_TABLES || !tm->tables[t].used)
		return 0;
	tb = &tm->tables[t];
	k = *mk;
	key_and(&k, &tb->mask);
	b = bkt_find(tb->priv, &k, key_hash(&k));
	if (!b)
		return 0;
	for (i = 0; i < b->n && i < max; i++)
		out[i] = b->e[i].id;
	return (unsigned int)b->n;
}

/* ---- life cycle ------------------------------------------------------------------------ */

int tm_init(struct tm_model *tm, const struct wcard_layout *l, unsigned int collide,
	       const struct tm_pool *pool)
{
	unsigned int i, f, t;

	if (!tm)
		return -EINVAL;
	memset(tm, 0, sizeof(*tm));
	if (!l || !l->nfields || l->nfields > WC_MAX_FIELDS || (pool && pool->n && !pool->len))
		return -EINVAL;
	for (i = 0; pool && i < pool->n; i++) {
		for (f = 0; f < l->nfields; f++) {
			unsigned int bits = l->fields[f].width * 8, v = pool->len[i][f];

			if (v > bits || (l->fields[f].type != WC_FIELD_PREFIX && v && v != bits))
				return -EINVAL;
		}
	}
	if (pool && pool->n) {
		tm->pool.len = calloc(pool->n, sizeof(*tm->pool.len));
		if (!tm->pool.len)
			return -ENOMEM;
		for (i = 0; i < pool->n; i++) {
			/* Fields past the layout's are 0, so whole tuples compare. */
			memcpy(tm->pool.len[i], pool->len[i], l->nfields);
		}
		tm->pool.n = pool->n;
	}
	tm->layout = l;
	tm->collide = collide ? collide : TM_DEFAULT_COLLIDE;
	tm->is_static = pool != NULL;
	for (t = 0; t < WC_TM_MAX_TABLES; t++)
		tm->tables[t].best = WC_RANK_NONE;
	return 0;
}

void tm_free(struct tm_model *tm)
{
	unsigned int t;

	if (!tm)
		return;
	for (t = 0; t < WC_TM_MAX_TABLES; t++)
		priv_free(tm->tables[t].priv);
	free(tm->rules);
	free(tm->pool.len);
	memset(tm, 0, sizeof(*tm));
}

void tm_log_reset(struct tm_log *log)
{
	if (log)
		log->n = 0;
}

void tm_log_free(struct tm_log *log)
{
	if (!log)
		return;
	free(log->ev);
	log->ev = NULL;
	log->n = log->cap = 0;
}
