// SPDX-License-Identifier: MIT
#define _GNU_SOURCE /* mremap */
/* mem.c: arrays that grow by doubling; big ones as mappings of their own; libwcard. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "core.h"

/* From this size on an array is a mapping of its own. */
#define MAP_MIN (1UL << 20)

static size_t page_up(size_t n)
{
	return (n + 4095) & ~(size_t)4095;
}

int arr_grow_heap(void **arr, size_t n, size_t *cap, size_t sz)
{
	size_t c = *cap ? 2 * *cap : 64;
	void *p;

	if (n < *cap)
		return 0;
	if (c > SIZE_MAX / sz)
		return -ENOMEM;
	p = realloc(*arr, c * sz);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

/*
 * A batch of 1M changes and its journal: copying them at each doubling (a
 * realloc that cannot move pages), and faulting in 4 KiB pages, took a third
 * of applying such a batch, most of all in a VM. A mapping of its own grows
 * with mremap (page tables move, no byte is copied), and is advised huge
 * pages: advice only, the kernel may ignore it.
 */
int arr_grow(void **arr, size_t n, size_t *cap, size_t sz)
{
	size_t c = *cap ? 2 * *cap : 64, old = *cap * sz;
	void *p;

	if (n < *cap)
		return 0;
	if (c > SIZE_MAX / sz / 2)
		return -ENOMEM;
	if (c * sz < MAP_MIN)
		return arr_grow_heap(arr, n, cap, sz);
	if (old >= MAP_MIN) {
		p = mremap(*arr, page_up(old), page_up(c * sz), MREMAP_MAYMOVE);
	} else {
		p = mmap(NULL, page_up(c * sz), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED && *arr) {
			memcpy(p, *arr, old);
			free(*arr);
		}
	}
	if (p == MAP_FAILED)
		return -ENOMEM;
	madvise(p, page_up(c * sz), MADV_HUGEPAGE);
	*arr = p;
	*cap = c;
	return 0;
}

void arr_free(void *arr, size_t cap, size_t sz)
{
	if (arr && cap * sz >= MAP_MIN)
		munmap(arr, page_up(cap * sz));
	else
		free(arr);
}
