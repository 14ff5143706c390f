// SPDX-License-Identifier: MIT
/* lpmidx.c: prefix -> route slot index with grace-period slot reuse (see lpmidx.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lpm_int.h"

#define TOMB (~0u) /* a deleted hash entry: lookups go on past it */

void idx_init(struct lpm_index *ix)
{
	memset(ix, 0, sizeof(*ix));
	gp_init(&ix->gp);
}

void idx_free(struct lpm_index *ix)
{
	free(ix->len);
	free(ix->addr);
	free(ix->hash);
	free(ix->pending);
	free(ix->freed);
	gp_free(&ix->gp);
	idx_init(ix);
}

static __u32 hslot(const struct lpm_index *ix, wc_u128 addr, unsigned int len)
{
	__u64 h = ((__u64)(addr >> 64) * 0x9e3779b97f4a7c15ULL) ^
		  (((__u64)addr ^ len) * 0xc2b2ae3d27d4eb4fULL);

	return (__u32)(h >> 32) & ix->hmask;
}

static long find_hslot(const struct lpm_index *ix, wc_u128 addr, unsigned int len)
{
	__u32 i = hslot(ix, addr, len);

	for (; ix->hash[i]; i = (i + 1) & ix->hmask) {
		__u32 s = ix->hash[i] - 1;

		if (ix->hash[i] != TOMB && ix->len[s] == len && ix->addr[s] == addr)
			return i;
	}
	return -1;
}

long idx_find(const struct lpm_index *ix, wc_u128 addr, unsigned int len)
{
	long i = ix->hash ? find_hslot(ix, addr, len) : -1;

	return i < 0 ? -1 : (long)ix->hash[i] - 1;
}

static void hput(struct lpm_index *ix, __u32 s)
{
	__u32 i = hslot(ix, ix->addr[s], ix->len[s]);

	while (ix->hash[i] && ix->hash[i] != TOMB)
		i = (i + 1) & ix->hmask;
	ix->hash[i] = s + 1;
}

/* Remove slot s from the hash; rebuild it once tombstones fill a quarter. */
static void hdel(struct lpm_index *ix, __u32 s)
{
	__u32 i = hslot(ix, ix->addr[s], ix->len[s]);

	for (; ix->hash[i]; i = (i + 1) & ix->hmask)
		if (ix->hash[i] == s + 1)
			break;
	if (!ix->hash[i])
		return;
	ix->hash[i] = TOMB;
	if (++ix->ntomb <= (ix->hmask + 1) / 4)
		return;
	memset(ix->hash, 0, (size_t)(ix->hmask + 1) * sizeof(*ix->hash));
	ix->ntomb = 0;
	for (i = 0; i < ix->nslots; i++)
		if (ix->len[i] != LPM_FREE && i != s)
			hput(ix, i);
}

/* The image's copy of slot s: the prefix, or unused (len LPM_FREE). */
static void pfx_put(struct lpm_index *ix, __u32 s, wc_u128 addr, unsigned int len)
{
	__u64 *w;

	if (!ix->pfx)
		return;
	w = &ix->pfx[(size_t)s * ix->pfx_words];
	if (len == LPM_FREE) {
		w[0] = 0;
		return;
	}
	if (ix->pfx_words == 1) {
		w[0] = LPM_PFX_USED | (__u64)len << 32 | (__u32)addr;
		return;
	}
	w[1] = (__u64)(addr >> 64);
	w[2] = (__u64)addr;
	w[0] = LPM_PFX_USED | len;
}

bool idx_pfx_get(const __u64 *pfx, unsigned int pfx_words, __u32 s, wc_u128 *addr,
		 unsigned int *len)
{
	const __u64 *w = &pfx[(size_t)s * pfx_words];

	if (!(w[0] & LPM_PFX_USED))
		return false;
	if (pfx_words == 1) {
		*len = (w[0] >> 32) & 0xff;
		*addr = (__u32)w[0];
	} else {
		*len = w[0] & 0xff;
		*addr = (wc_u128)w[1] << 64 | w[2];
	}
	return true;
}

static int idx_alloc_arrays(struct lpm_index *ix, __u32 max, __u64 *pfx, unsigned int pfx_words)
{
	__u32 hs = 16;

	idx_free(ix);
	while (hs < 2 * max)
		hs <<= 1;
	ix->max = max;
	ix->hmask = hs - 1;
	ix->len = malloc(max ? max : 1);
	ix->addr = calloc(max ? max : 1, sizeof(*ix->addr));
	ix->hash = calloc(hs, sizeof(*ix->hash));
	ix->pending = calloc(max ? max : 1, sizeof(*ix->pending));
	ix->freed = calloc(max ? max : 1, sizeof(*ix->freed));
	if (!ix->len || !ix->addr || !ix->hash || !ix->pending || !ix->freed)
		return -ENOMEM;
	memset(ix->len, LPM_FREE, max);
	ix->pfx = pfx;
	ix->pfx_words = pfx_words;
	return 0;
}

int idx_build(struct lpm_index *ix, const struct wcard_routes *rt, unsigned int fam, __u32 max,
	      __u64 *pfx, unsigned int pfx_words)
{
	__u32 i;

	if (idx_alloc_arrays(ix, max, pfx, pfx_words))
		return -ENOMEM;
	ix->nslots = rt->n;
	for (i = 0; i < rt->n; i++) {
		const struct wcard_route *r = &rt->r[i];
		long old;

		/* Another family's route: the slot is free for adds. */
		if (r->family != fam) {
			ix->freed[ix->nfreed++] = i;
			continue;
		}
		/* Of equal prefixes the last line is the live one; the other was never reachable. */
		old = idx_find(ix, r->addr, r->len);
		if (old >= 0)
			idx_drop(ix, old, true);
		idx_set(ix, i, r->addr, r->len);
	}
	return 0;
}

int idx_from_pfx(struct lpm_index *ix, __u32 max, __u64 *pfx, unsigned int pfx_words)
{
	unsigned int len;
	wc_u128 addr;
	__u32 i;

	if (idx_alloc_arrays(ix, max, pfx, pfx_words))
		return -ENOMEM;
	for (i = 0; i < max; i++)
		if (pfx[(size_t)i * pfx_words] & LPM_PFX_USED)
			ix->nslots = i + 1;
	for (i = 0; i < ix->nslots; i++) {
		if (idx_pfx_get(pfx, pfx_words, i, &addr, &len)) {
			ix->len[i] = len;
			ix->addr[i] = addr;
			hput(ix, i);
		} else {
			/* Deleted by an earlier writer: lookups may still be reading it. */
			ix->pending[ix->npending++] = i;
		}
	}
	return 0;
}

void idx_set(struct lpm_index *ix, __u32 s, wc_u128 addr, unsigned int len)
{
	ix->len[s] = len;
	ix->addr[s] = addr;
	hput(ix, s);
	pfx_put(ix, s, addr, len);
}

void idx_drop(struct lpm_index *ix, __u32 s, bool now)
{
	hdel(ix, s);
	ix->len[s] = LPM_FREE;
	pfx_put(ix, s, 0, LPM_FREE);
	if (now)
		ix->freed[ix->nfreed++] = s;
	else
		ix->pending[ix->npending++] = s;
}

int idx_alloc(struct lpm_index *ix, __u32 *slot)
{
	int ret;

	if (ix->nfreed) {
		*slot = ix->freed[--ix->nfreed];
		return 0;
	}
	if (ix->nslots < ix->max) {
		*slot = ix->nslots++;
		return 0;
	}
	if (!ix->npending)
		return -ENOSPC;
	/* Every pending slot is free once running lookups have finished. */
	ret = gp_wait(&ix->gp);
	if (ret)
		return ret;
	memcpy(ix->freed, ix->pending, (size_t)ix->npending * sizeof(*ix->pending));
	ix->nfreed = ix->npending;
	ix->npending = 0;
	*slot = ix->freed[--ix->nfreed];
	return 0;
}
