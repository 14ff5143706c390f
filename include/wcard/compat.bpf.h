/* compat.bpf.h: small BPF macros carried by wcard because libbpf 1.1 headers lack them; BPF only. */
#ifndef WCARD_COMPAT_BPF_H
#define WCARD_COMPAT_BPF_H

/*
 * Without vmlinux.h (a program built on <linux/bpf.h>): bool from the
 * compiler, and the UAPI headers' version for what older ones lack.
 */
#ifndef __VMLINUX_H__
#include <stdbool.h>
#include <linux/version.h>
#endif
#include <bpf/bpf_helpers.h>

/*
 * Every global the wcard headers define (maps, global subprograms, load-time
 * constants) is weak: a program that includes the headers and is also linked
 * with libwcard.bpf.o (bpftool gen object) ends up with one copy of each
 * instead of a duplicate-symbol error. Static linking shares one namespace,
 * which is also why they all start with wc_.
 */
#define WC_WEAK __attribute__((weak))
/*
 * A program to be linked with libwcard.bpf.o defines WCARD_LINK_LIB before
 * including the wcard headers: the global subprograms are then only declared,
 * and their bodies (and the iterator kfuncs they use, which libbpf 1.1's
 * linker cannot merge across objects) come from libwcard.bpf.o alone.
 */

/*
 * Open-coded numeric iterator (kfuncs bpf_iter_num_*, kernel >= 6.4). libbpf
 * >= 1.2 ships bpf_for(); libbpf 1.1 (Debian 12) does not, so wcard carries its
 * own wc_for(). The verifier checks the loop body once per distinct state
 * instead of unrolling it, and the iterator itself bounds the trip count.
 *
 * vmlinux.h declares struct bpf_iter_num, and so does <linux/bpf.h> from
 * kernel 6.4 on; with older UAPI headers wcard declares it (the verifier
 * matches the kfunc argument by this name and size).
 */
#if !defined(__VMLINUX_H__) && LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
struct bpf_iter_num {
	__u64 __opaque[1];
} __attribute__((aligned(8)));
#endif

extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __weak __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __weak __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __weak __ksym;

/*
 * for (i = lo; i < hi; i++) as an iterator loop. The iterator is destroyed by
 * the cleanup attribute on every exit, break included. The explicit range test
 * on the value gives the verifier bounds for i (the kfunc's return has none).
 */
#define wc_for(i, lo, hi)                                                                          \
	for (struct bpf_iter_num __wc_it                                                           \
		     __attribute__((aligned(8), cleanup(bpf_iter_num_destroy))),                   \
	     *__wc_init __attribute__((unused)) =                                                  \
		     (bpf_iter_num_new(&__wc_it, (lo), (hi)), (void)bpf_iter_num_destroy,          \
		      (void *)0);                                                                  \
	     ({                                                                                    \
		     int *__wc_v = bpf_iter_num_next(&__wc_it);                                    \
		     __wc_v && ((i) = *__wc_v, (i) >= (lo) && (i) < (hi));                         \
	     });)

#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif

#endif /* WCARD_COMPAT_BPF_H */
