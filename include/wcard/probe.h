/* probe.h: libwcard and the kernel: feature probes, BPF build, load hints, bpffs; user space. */
#ifndef WCARD_PROBE_H
#define WCARD_PROBE_H

#include <wcard/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- kernel feature probes (user/core/probe.c) --------------------------------- */

enum wcard_feature_kind {
	WCARD_FEAT_BTF, /* kernel BTF at /sys/kernel/btf/vmlinux */
	WCARD_FEAT_PROG, /* id: a program type */
	WCARD_FEAT_MAP, /* id: a map type */
	WCARD_FEAT_MMAPABLE, /* ARRAY maps with BPF_F_MMAPABLE */
	WCARD_FEAT_HELPER, /* id: a helper, from XDP programs */
	WCARD_FEAT_KFUNC, /* name: a kfunc in the kernel's BTF */
};

struct wcard_feature {
	enum wcard_feature_kind kind;
	int id;
	const char *name; /* the kfunc's BTF name */
	const char *what; /* for the message: "open-coded iterators (bpf_iter_num)" */
	const char *since; /* the first Linux version that has it: "6.4" */
};

/*
 * Probe the running kernel for each feature, in order. 0 if it has them all;
 * -EPERM when BPF is not permitted (the message names the capabilities);
 * -EOPNOTSUPP with "this kernel (Linux R) lacks WHAT: wcard needs Linux SINCE
 * or later" for the first one missing.
 */
WCARD_API int wcard_probe_features(const struct wcard_feature *f, size_t n, char *err,
				   size_t errlen);
/* wcard_probe_features on everything wcard's programs use; probed once, then cached. */
WCARD_API int wcard_probe_kernel(char *err, size_t errlen);

/*
 * The two builds of every wcard BPF object (include/wcard/compat.bpf.h):
 * WCARD_BPF_ITER, loops as open-coded iterators (Linux 6.4+; the default
 * build, e.g. wcard_xdp.bpf.o), and WCARD_BPF_COMPAT, plain loops split over
 * global functions for kernels without iterators (built with WCARD_COMPAT,
 * e.g. compat/wcard_xdp.bpf.o).
 */
enum wcard_bpf_build {
	WCARD_BPF_ITER,
	WCARD_BPF_COMPAT,
};

/*
 * The build libwcard loads on the running kernel: ITER when the kernel's BTF
 * has the bpf_iter_num kfuncs, else COMPAT. The environment variable
 * WCARD_BPF_BUILD=iter|compat overrides the probe (to test the compat build
 * on a new kernel). Probed once, then cached.
 */
WCARD_API enum wcard_bpf_build wcard_bpf_build(void);
/* "iter" or "compat". */
WCARD_API const char *wcard_bpf_build_name(enum wcard_bpf_build b);

/*
 * Why loading a BPF object failed with err (-errno or errno), for a message:
 * " (...)" naming the likely cause (privileges, RLIMIT_MEMLOCK on kernels
 * before 5.11, the verifier of this kernel and which build it refused) and
 * the kernel. Written into buf, which is returned.
 */
WCARD_API const char *wcard_load_hint(int err, char *buf, size_t len);

/* ---- bpffs ----------------------------------------------------------------- */

/*
 * Where bpffs is mounted by convention. Pin functions given a directory under
 * it mount bpffs there when nothing is (as bpftool and tc do).
 */
#define WCARD_BPFFS "/sys/fs/bpf"
/*
 * Make sure dir (or its nearest existing ancestor) is on bpffs. A directory
 * under WCARD_BPFFS on a host where nothing is mounted there gets bpffs mounted
 * at WCARD_BPFFS (mode 0700; needs CAP_SYS_ADMIN). 0, or -errno with err
 * naming the reason and the command to run: -EXDEV for a directory elsewhere
 * that is not on bpffs, the mount's error otherwise.
 */
WCARD_API int wcard_bpffs_prepare(const char *dir, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* WCARD_PROBE_H */
