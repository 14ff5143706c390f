/* compat.bpf.h: macros that differ by build (iter, compat, linked); wcard's BPF headers only. */
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

#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif

/*
 * WC_GLOBAL_FN(ret, name, params...) opens each global subprogram of the wcard
 * headers; its body follows in braces:
 *
 *   WC_GLOBAL_FN(int, WC_G(wc_f), WC_PARAMS, __u32 more)
 *   {
 *           ...
 *   }
 *
 * By default it is the definition: weak (above) and __noinline, so that the
 * verifier checks it once whatever the number of callers. A program to be
 * linked with libwcard.bpf.o defines WCARD_LINK_LIB before including the
 * headers: name is then only declared, as its one definition comes from
 * libwcard.bpf.o, and the body goes to an unused static function, which the
 * compiler checks and never emits. So the program's object holds neither the
 * bodies nor the iterator kfuncs they call (bpf_iter_num_*), whose
 * declarations libbpf 1.1's linker cannot merge across objects.
 */
#ifndef WCARD_LINK_LIB
#define WC_GLOBAL_FN(ret, name, ...) WC_WEAK __noinline ret name(__VA_ARGS__)
#else
/* One level more, so that a name given as WC_G(f) is expanded before it is pasted. */
#define WC_GLOBAL_FN(ret, name, ...) WC_GLOBAL_DECL(ret, name, __VA_ARGS__)
#define WC_GLOBAL_DECL(ret, name, ...)                                                             \
	ret name(__VA_ARGS__);                                                                     \
	static inline __attribute__((unused)) ret wc_unlinked_##name(__VA_ARGS__)
#endif

/*
 * Two builds of every program, picked at load time by libwcard's probe
 * (wcard_bpf_target()):
 *   default          Linux 6.4+: loops are open-coded iterators (kfuncs
 *                    bpf_iter_num_*); the verifier checks a body once per
 *                    distinct state, whatever the trip count.
 *   WCARD_COMPAT     kernels without iterators: plain loops with a bound the
 *                    verifier can see, which it walks iteration by iteration,
 *                    so every long loop is split over nested global functions
 *                    (each verified once) by WC_RUN_DEFINE below.
 * A program of your own that includes these headers defines WCARD_COMPAT to
 * load on such kernels. Both builds give the same answers.
 */
#ifndef WCARD_COMPAT
/*
 * libbpf >= 1.2 ships bpf_for(); libbpf 1.1 (Debian 12) does not, so wcard
 * carries its own wc_for(). vmlinux.h declares struct bpf_iter_num, and so
 * does <linux/bpf.h> from kernel 6.4 on; with older UAPI headers wcard
 * declares it (the verifier matches the kfunc argument by this name and size).
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
#else
/*
 * The compat build: a plain loop. hi must have a known upper bound (a clamp
 * before the loop); the verifier walks every iteration up to it, so this is
 * only for short loops (the tables of a pass, the slots of a probe).
 */
#define wc_for(i, lo, hi) for ((i) = (lo); (i) < (hi); (i)++)
#endif

/*
 * Global functions and their pointer arguments. Linux 5.10's verifier takes
 * only scalars (and the program context) as arguments of a global function;
 * pointers came in 5.12. The compat build therefore keeps the packet's key,
 * its result and its config's index in a per-CPU scratch entry (wc_scratch,
 * maps.bpf.h) while wcard's global functions run, and they take their key,
 * cfg and res from there. A global function is written once for both builds:
 *
 *   WC_GLOBAL_FN(int, WC_G(wc_f), WC_PARAMS, __u32 more)
 *   {
 *           WC_TAKE_PARAMS(-22);  (key, cfg, res; or return -22)
 *           ... WC_G(wc_other)(WC_ARGS, x) ...
 *   }
 *
 * Default build: WC_G(f) is f, WC_PARAMS the three pointers and WC_ARGS passes
 * them on. Compat build: WC_G(f) is f_g, WC_PARAMS one unused scalar, and
 * WC_TAKE_PARAMS reads the pointers from the scratch entry; the public name f
 * is then an inline wrapper that fills the entry (wc_scratch_enter).
 */
#ifndef WCARD_COMPAT
#define WC_G(name) name
#define WC_PARAMS const struct wc_key *key, const struct wc_config *cfg, struct wc_result *res
#define WC_ARGS key, cfg, res
/* Global subprogram arguments may be NULL as far as the verifier knows. */
#define WC_TAKE_PARAMS(err)                                                                        \
	if (!key || !cfg || !res)                                                                  \
	return (err)
#else
#define WC_G(name) name##_g
#define WC_PARAMS __u32 wc_none __attribute__((unused))
#define WC_ARGS 0
#define WC_TAKE_PARAMS(err)                                                                        \
	const struct wc_key *key;                                                                  \
	const struct wc_config *cfg;                                                               \
	struct wc_result *res;                                                                     \
	if (wc_scratch_params(&key, &cfg, &res))                                                   \
	return (err)
#endif

/*
 * Long loops, up to 2^20 steps (rules of a brute-force scan, a bucket chain).
 *
 * WC_RUN_DEFINE(name, step, l1) defines
 *   __u32 name(const struct wc_key *key, const struct wc_config *cfg,
 *              struct wc_result *res, __u32 s)
 * which repeats s = step(key, cfg, res, s) until step returns 0, at most
 * l1 * WC_RUN_L2 * WC_RUN_L2 times, and returns the last s. s must be unknown
 * to the verifier (a function argument, a value read from a map): a constant
 * one is tracked exactly and makes every iteration a new state.
 *
 * WC_COUNT_DEFINE(name, step, l1) defines
 *   void name(const struct wc_key *key, const struct wc_config *cfg,
 *             struct wc_result *res)
 * which calls step(key, cfg, res, i) for i = 0, 1, ... while it returns
 * non-zero, at most as many times.
 *
 * step is static __always_inline. Default build: one iterator loop, inlined.
 * Compat build: three nested loops of l1 x WC_RUN_L2 x WC_RUN_L2 steps, the
 * inner two in global functions. Each is verified once, so the verifier walks
 * l1 steps and 2 x 128 calls, not 2^20 steps; a big step (the brute force's
 * block of 8 rules) takes a small l1.
 */
#define WC_RUN_L2 128
#define WC_RUN_L1 64 /* l1 for 2^20 steps */
#define WC_RUN_MAX (WC_RUN_L1 * WC_RUN_L2 * WC_RUN_L2)

#ifndef WCARD_COMPAT
#define WC_RUN_DEFINE(name, step, l1)                                                              \
	static __always_inline __u32 name(const struct wc_key *key, const struct wc_config *cfg,  \
					  struct wc_result *res, __u32 s)                          \
	{                                                                                          \
		int __k;                                                                           \
                                                                                                   \
		wc_for(__k, 0, (l1) * WC_RUN_L2 * WC_RUN_L2)                                       \
		{                                                                                  \
			s = step(key, cfg, res, s);                                                \
			if (!s)                                                                    \
				break;                                                             \
		}                                                                                  \
		return s;                                                                          \
	}
/* The iterator's value is unknown to the verifier, so the loop's states converge. */
#define WC_COUNT_DEFINE(name, step, l1)                                                            \
	static __always_inline void name(const struct wc_key *key, const struct wc_config *cfg,   \
					 struct wc_result *res)                                    \
	{                                                                                          \
		int __i;                                                                           \
                                                                                                   \
		wc_for(__i, 0, (l1) * WC_RUN_L2 * WC_RUN_L2)                                       \
		{                                                                                  \
			if (!step(key, cfg, res, (__u32)__i))                                      \
				break;                                                             \
		}                                                                                  \
	}
#else
#define WC_RUN_LEVEL(name, inner, n)                                                               \
	WC_GLOBAL_FN(__u32, name, WC_PARAMS, __u32 s)                                              \
	{                                                                                          \
		int __k;                                                                           \
                                                                                                   \
		WC_TAKE_PARAMS(0);                                                                 \
		for (__k = 0; __k < (n); __k++) {                                                  \
			s = inner(key, cfg, res, s);                                               \
			if (!s)                                                                    \
				break;                                                             \
		}                                                                                  \
		return s;                                                                          \
	}
/* The outer level is inlined into the caller: a call frame less (the verifier allows 8). */
#define WC_RUN_OUTER(name, inner)                                                                  \
	static __always_inline __u32 name(const struct wc_key *key, const struct wc_config *cfg,  \
					  struct wc_result *res, __u32 s)                          \
	{                                                                                          \
		int __k;                                                                           \
                                                                                                   \
		for (__k = 0; __k < WC_RUN_L2; __k++) {                                            \
			s = inner(WC_ARGS, s);                                                     \
			if (!s)                                                                    \
				break;                                                             \
		}                                                                                  \
		return s;                                                                          \
	}
#define WC_RUN_DEFINE(name, step, l1)                                                              \
	WC_RUN_LEVEL(name##_l1, step, l1)                                                          \
	static __always_inline __u32 name##_l1_call(const struct wc_key *key,                     \
						    const struct wc_config *cfg,                   \
						    struct wc_result *res, __u32 s)                \
	{                                                                                          \
		return name##_l1(WC_ARGS, s);                                                      \
	}                                                                                          \
	WC_RUN_LEVEL(name##_l2, name##_l1_call, WC_RUN_L2)                                         \
	WC_RUN_OUTER(name, name##_l2)
/* As a run whose state is i + 1: inside each level's global function it is an argument. */
#define WC_COUNT_DEFINE(name, step, l1)                                                            \
	static __always_inline __u32 name##_next(const struct wc_key *key,                        \
						 const struct wc_config *cfg,                      \
						 struct wc_result *res, __u32 s)                   \
	{                                                                                          \
		return s && step(key, cfg, res, s - 1) ? s + 1 : 0;                                \
	}                                                                                          \
	WC_RUN_DEFINE(name##_run, name##_next, l1)                                                 \
	static __always_inline void name(const struct wc_key *key, const struct wc_config *cfg,   \
					 struct wc_result *res)                                    \
	{                                                                                          \
		name##_run(key, cfg, res, 1);                                                      \
	}
#endif

#endif /* WCARD_COMPAT_BPF_H */
