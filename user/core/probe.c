// SPDX-License-Identifier: MIT
/*
 * probe.c: does the running kernel have what wcard's programs use? A missing
 * feature otherwise shows up as EINVAL from the verifier with a log only a
 * BPF developer reads; the probes name the feature and the kernel version
 * that brought it.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "core.h"

/* What the XDP filter, the classifier and the LPM programs use. */
static const struct wcard_feature wcard_features[] = {
	{ WCARD_FEAT_BTF, 0, NULL, "kernel BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF)",
	  "5.4" },
	{ WCARD_FEAT_PROG, BPF_PROG_TYPE_XDP, NULL, "XDP programs", "4.8" },
	{ WCARD_FEAT_MAP, BPF_MAP_TYPE_ARRAY_OF_MAPS, NULL, "ARRAY_OF_MAPS maps", "4.12" },
	{ WCARD_FEAT_MAP, BPF_MAP_TYPE_PERCPU_ARRAY, NULL, "PERCPU_ARRAY maps", "4.6" },
	{ WCARD_FEAT_MMAPABLE, 0, NULL, "mmapable ARRAY maps (BPF_F_MMAPABLE)", "5.5" },
	{ WCARD_FEAT_HELPER, BPF_FUNC_redirect, NULL, "the bpf_redirect helper in XDP", "4.14" },
};

/* What the default build needs on top; without it libwcard loads the compat build. */
static const struct wcard_feature wcard_iter_feature = {
	WCARD_FEAT_KFUNC, 0, "bpf_iter_num_new", "open-coded iterators (bpf_iter_num)", "6.4"
};

/* Load "r0 = XDP_PASS; exit" as an XDP program: 0, or -errno. */
static int xdp_loads(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 2 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "wc_probe", "GPL", insns, 2, NULL);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/*
 * Load "r2 = 0; call helper; r0 = XDP_PASS; exit" as an XDP program (r1 is the
 * context): 1 if XDP programs may call helper id, 0 if not, -EPERM. libbpf 1.1's
 * own probe reads only the verifier's older wording ("unknown func") and takes
 * today's, "program of this type cannot use helper", for yes: a kernel that
 * refuses bpf_xdp_adjust_meta to XDP programs passed it.
 */
static int helper_loads(int id)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = 0 },
		{ .code = BPF_JMP | BPF_CALL, .imm = id },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 2 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	char log[1024] = "";
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_XDP, .log_buf = log,
		    .log_size = sizeof(log), .log_level = 1);
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "wc_probe", "GPL", insns, 4, &o);

	if (fd >= 0) {
		close(fd);
		return 1;
	}
	/* The verifier's own EACCES comes with a log (R1 leaks an address to bpf_redirect). */
	if (errno == EPERM || (errno == EACCES && !log[0]))
		return -EPERM;
	/* Another complaint (an argument, say) means the kernel knows the helper here. */
	return !(strstr(log, "invalid func ") || strstr(log, "unknown func ") ||
		 strstr(log, "cannot use helper "));
}

/* 1 if the kernel has f, 0 if not, -EPERM if BPF is not permitted. */
static int has(const struct wcard_feature *f)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_MMAPABLE);
	struct btf *btf;
	int fd, ret;

	switch (f->kind) {
	case WCARD_FEAT_BTF:
		return !access("/sys/kernel/btf/vmlinux", R_OK);
	case WCARD_FEAT_PROG:
		ret = f->id == BPF_PROG_TYPE_XDP ? xdp_loads() : 0;
		if (ret == -EPERM || ret == -EACCES)
			return -EPERM;
		return f->id == BPF_PROG_TYPE_XDP ? !ret :
						     libbpf_probe_bpf_prog_type(f->id, NULL) > 0;
	case WCARD_FEAT_MAP:
		return libbpf_probe_bpf_map_type(f->id, NULL) > 0;
	case WCARD_FEAT_MMAPABLE:
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "wc_probe", 4, 8, 1, &mo);
		if (fd < 0)
			return errno == EPERM ? -EPERM : 0;
		close(fd);
		return 1;
	case WCARD_FEAT_HELPER:
		return helper_loads(f->id);
	case WCARD_FEAT_KFUNC:
		btf = btf__load_vmlinux_btf();
		if (libbpf_get_error(btf))
			return 0;
		ret = btf__find_by_name_kind(btf, f->name, BTF_KIND_FUNC) >= 0;
		btf__free(btf);
		return ret;
	}
	return 0;
}

int wcard_probe_features(const struct wcard_feature *f, size_t n, char *err, size_t errlen)
{
	struct utsname u;
	size_t i;
	int h;

	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "?");
	for (i = 0; i < n; i++) {
		h = has(&f[i]);
		if (h < 0) {
			char hint[200];

			/* The hint tells a low RLIMIT_MEMLOCK (< 5.11) from missing privilege. */
			snprintf(err, errlen, "not permitted to load BPF programs%s",
				 wcard_load_hint(-EPERM, hint, sizeof(hint)));
			return -EPERM;
		}
		if (!h) {
			snprintf(err, errlen, "this kernel (Linux %s) lacks %s: wcard needs Linux %s "
					      "or later",
				 u.release, f[i].what, f[i].since);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

int wcard_probe_kernel(char *err, size_t errlen)
{
	static int result = 1; /* 1: not probed yet */
	static char msg[256];

	if (result == 1)
		result = wcard_probe_features(wcard_features,
					      sizeof(wcard_features) / sizeof(wcard_features[0]),
					      msg, sizeof(msg));
	if (result && err && errlen)
		snprintf(err, errlen, "%s", msg);
	return result;
}

bool core_xdp_meta_ok(void)
{
	static const struct wcard_feature meta = { WCARD_FEAT_HELPER, BPF_FUNC_xdp_adjust_meta };
	static int ok = -1; /* not probed yet */

	if (ok < 0)
		ok = has(&meta) > 0;
	return ok;
}

/* The build WCARD_BPF_BUILD asks for, or -1. */
static int build_env(void)
{
	const char *env = getenv("WCARD_BPF_BUILD");

	if (env && !strcmp(env, "compat"))
		return WCARD_BPF_COMPAT;
	if (env && !strcmp(env, "iter"))
		return WCARD_BPF_ITER;
	return -1;
}

enum wcard_bpf_build wcard_bpf_build(void)
{
	static int build = -1; /* not probed yet */
	int env = build_env();

	if (env >= 0)
		return env;
	if (build < 0)
		build = has(&wcard_iter_feature) > 0 ? WCARD_BPF_ITER : WCARD_BPF_COMPAT;
	return build;
}

enum wcard_bpf_build bpf_build_recorded(__u32 rec)
{
	int env = build_env();

	if (env >= 0)
		return env;
	if (rec == WCARD_BPF_ITER + 1 || rec == WCARD_BPF_COMPAT + 1)
		return rec - 1;
	return wcard_bpf_build();
}

const char *wcard_bpf_build_name(enum wcard_bpf_build b)
{
	return b == WCARD_BPF_COMPAT ? "compat" : "iter";
}

/* Major * 1000 + minor of the running kernel, 0 if unknown. */
static int kernel_version(char *release, size_t len)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "?");
	snprintf(release, len, "%s", u.release);
	if (sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return 0;
	return major * 1000 + minor;
}

/* Does the process hold CAP_BPF or CAP_SYS_ADMIN (which stands in for it) effective? */
static bool bpf_capable(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};

	if (syscall(SYS_capget, &h, d))
		return false;
	return (d[CAP_BPF / 32].effective & (1u << (CAP_BPF % 32))) ||
	       (d[CAP_SYS_ADMIN / 32].effective & (1u << (CAP_SYS_ADMIN % 32)));
}

const char *wcard_load_hint(int err, char *buf, size_t len)
{
	const char *build = wcard_bpf_build_name(wcard_bpf_build());
	char rel[65];
	int v = kernel_version(rel, sizeof(rel));
	struct rlimit r;

	if (!buf || !len)
		return "";
	err = err < 0 ? -err : err;
	if (err == EPERM && v && v < 5011 && !getrlimit(RLIMIT_MEMLOCK, &r) &&
	    r.rlim_cur != RLIM_INFINITY && bpf_capable()) {
		/*
		 * Before 5.11 BPF memory is charged to RLIMIT_MEMLOCK, not to the
		 * memory cgroup: with the privilege there, the limit is the cause.
		 */
		snprintf(buf, len, " (Linux %s counts BPF maps against RLIMIT_MEMLOCK, here %llu KiB: "
				   "raise it, e.g. ulimit -l unlimited)",
			 rel, (unsigned long long)r.rlim_cur / 1024);
	} else if (err == EPERM) {
		snprintf(buf, len, " (loading BPF needs root, or CAP_BPF + CAP_NET_ADMIN + "
				   "CAP_PERFMON)");
	} else if (err == EACCES || err == EINVAL || err == E2BIG || err == 524 /* ENOTSUPP */ ||
		   err == ENOENT) {
		snprintf(buf, len, " (the verifier of Linux %s refused wcard's %s build; run with -v "
				   "for its log)",
			 rel, build);
	} else {
		snprintf(buf, len, " (Linux %s, wcard's %s build)", rel, build);
	}
	return buf;
}
