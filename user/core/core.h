/* core.h: what all of libwcard shares: messages, memory, grace periods, bpffs; libwcard only. */
#ifndef WCARD_CORE_H
#define WCARD_CORE_H

#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <wcard/base.h>

struct bpf_object;

/* ---- messages (log.c) ----------------------------------------------------- */

/* Write a message into err (errlen bytes), if the caller gave room for one. */
void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Through the hook of wcard_set_print (stderr for warnings by default). */
void pr(enum wcard_print_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define pr_warn(...) pr(WCARD_WARN, __VA_ARGS__)
#define pr_info(...) pr(WCARD_INFO, __VA_ARGS__)
#define pr_debug(...) pr(WCARD_DEBUG, __VA_ARGS__)

/* ---- values --------------------------------------------------------------- */

/* The mask of a field width bytes wide (all 128 bits from 16 bytes on). */
static inline wc_u128 u128_ones(unsigned int width)
{
	return width >= 16 ? ~(wc_u128)0 : (((wc_u128)1 << (width * 8)) - 1);
}

/* ---- grace periods (gp.c) ------------------------------------------------- */

/*
 * An update of an ARRAY_OF_MAPS element returns only after every BPF program
 * that was running has finished (the kernel calls synchronize_rcu): after
 * gp_wait(), no lookup that began before it is still reading.
 */
struct gp {
	int outer, inner; /* -1 until first use */
};

void gp_init(struct gp *g);
int gp_wait(struct gp *g); /* 0 or -errno; ~8 ms here */
void gp_free(struct gp *g);

/* ---- memory (mem.c) ------------------------------------------------------ */

/*
 * Room for element n of *arr (capacity *cap elements of sz bytes), doubled
 * when full (from 64). 0 or -ENOMEM (*arr unchanged). arr_grow_heap: the
 * array stays free()-able. arr_grow: big arrays become mappings of their own,
 * freed only by arr_free with the same cap and sz.
 */
int arr_grow_heap(void **arr, size_t n, size_t *cap, size_t sz);
int arr_grow(void **arr, size_t n, size_t *cap, size_t sz);
void arr_free(void *arr, size_t cap, size_t sz);

/* ---- the BPF build (probe.c) --------------------------------------------- */

/*
 * The build of an object pinned with rec (wcard_bpf_build() + 1 when it was
 * made; 0: not recorded, probe). A pin lives only as long as the kernel that
 * loaded it, so the record saves the probe (a parse of the kernel's BTF,
 * ~40 ms). WCARD_BPF_BUILD still overrides it.
 */
enum wcard_bpf_build bpf_build_recorded(__u32 rec);

/*
 * May XDP programs call bpf_xdp_adjust_meta here? Some kernels refuse it (the
 * XDP filter then exports no metadata). Probed once.
 */
bool core_xdp_meta_ok(void);

/* ---- load-time knobs (rodata.c) -------------------------------------------- */

/*
 * .rodata of obj: element i of the u32 array (or u32) var, read into *get or,
 * before load, written from *set. 0, -ENOENT if obj has no such variable.
 */
int core_rodata_u32(struct bpf_object *obj, const char *var, unsigned int i, __u32 *get,
		    const __u32 *set);
/* The same for a bool var. */
int core_rodata_set_bool(struct bpf_object *obj, const char *var, bool set);
int core_rodata_get_bool(struct bpf_object *obj, const char *var, bool *get);

/* ---- bpffs (bpffs.c) ------------------------------------------------------ */

/*
 * wcard_bpffs_prepare(dir), then dir and its missing parents, mode 0700.
 * 0, or -errno with err saying why.
 */
int bpffs_mkdirs(const char *dir, char *err, size_t errlen);

#endif /* WCARD_CORE_H */
