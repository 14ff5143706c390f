// SPDX-License-Identifier: MIT
/*
 * test_probe.c: kernel feature probes (suite "probe"): this kernel has every
 * feature wcard uses; a feature it lacks (a kfunc or helper that no kernel
 * has) and a process without privilege get messages that name the feature,
 * the kernel version needed, or the capabilities.
 */
#define _GNU_SOURCE /* setresuid */
#include <stdio.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/bpf.h>
#include <bpf/btf.h>
#include "wctest.h"

Test(probe, this_kernel_has_everything)
{
	char err[256] = "";
	int ret = wcard_probe_kernel(err, sizeof(err));

	cr_assert_eq(ret, 0, "case this kernel: %d: %s", ret, err);
}

Test(probe, missing_kfunc_and_helper)
{
	const struct wcard_feature kf[] = {
		{ WCARD_FEAT_BTF, 0, NULL, "kernel BTF", "5.4" },
		{ WCARD_FEAT_KFUNC, 0, "wc_no_such_kfunc", "wcard's imaginary kfunc", "99.1" },
	};
	const struct wcard_feature hf[] = {
		{ WCARD_FEAT_HELPER, __BPF_FUNC_MAX_ID + 40, NULL, "a helper from the future", "99.2" },
	};
	char err[256] = "", want[160];
	struct utsname u;
	int ret;

	cr_assert_eq(uname(&u), 0, "case missing: uname");
	ret = wcard_probe_features(kf, 2, err, sizeof(err));
	cr_assert_eq(ret, -EOPNOTSUPP, "case missing kfunc: %d: %s", ret, err);
	snprintf(want, sizeof(want), "this kernel (Linux %s) lacks wcard's imaginary kfunc: wcard "
		 "needs Linux 99.1 or later", u.release);
	cr_assert_str_eq(err, want, "case missing kfunc: message");
	ret = wcard_probe_features(hf, 1, err, sizeof(err));
	cr_assert_eq(ret, -EOPNOTSUPP, "case missing helper: %d: %s", ret, err);
	cr_assert(strstr(err, "lacks a helper from the future: wcard needs Linux 99.2 or later"),
		  "case missing helper: message '%s'", err);
}

/*
 * A helper the kernel knows but keeps from XDP programs is missing for XDP.
 * Newer kernels say "program of this type cannot use helper", which libbpf
 * 1.1's own probe took for yes (and so passed bpf_xdp_adjust_meta on a kernel
 * that refuses it to XDP).
 */
Test(probe, helper_kept_from_xdp)
{
	const struct wcard_feature hf[] = {
		{ WCARD_FEAT_HELPER, BPF_FUNC_skb_load_bytes, NULL, "bpf_skb_load_bytes in XDP",
		  "never" },
	};
	const struct wcard_feature ok[] = {
		{ WCARD_FEAT_HELPER, BPF_FUNC_redirect, NULL, "bpf_redirect in XDP", "4.14" },
		{ WCARD_FEAT_HELPER, BPF_FUNC_xdp_adjust_head, NULL, "bpf_xdp_adjust_head",
		  "4.10" },
	};
	char err[256] = "";
	int ret;

	ret = wcard_probe_features(hf, 1, err, sizeof(err));
	cr_assert_eq(ret, -EOPNOTSUPP, "case skb helper in XDP: %d: %s", ret, err);
	cr_assert(strstr(err, "lacks bpf_skb_load_bytes in XDP"), "case skb helper: message '%s'",
		  err);
	ret = wcard_probe_features(ok, 2, err, sizeof(err));
	cr_assert_eq(ret, 0, "case XDP helpers: %d: %s", ret, err);
}

/* In a child that gave up root: the probes say BPF is not permitted, and why. */
Test(probe, without_privilege)
{
	int fds[2], st;
	pid_t pid;

	cr_assert_eq(pipe(fds), 0, "case unprivileged: pipe");
	pid = fork();
	cr_assert_geq(pid, 0, "case unprivileged: fork");
	if (!pid) {
		char err[256] = "";
		int ret;

		close(fds[0]);
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		ret = wcard_probe_kernel(err, sizeof(err));
		if (write(fds[1], err, strlen(err) + 1) < 0)
			_exit(3);
		_exit(ret == -EPERM ? 0 : 1);
	}
	close(fds[1]);
	{
		char msg[256] = "";
		ssize_t n = read(fds[0], msg, sizeof(msg) - 1);

		msg[n > 0 ? n : 0] = 0;
		close(fds[0]);
		cr_assert_eq(waitpid(pid, &st, 0), pid, "case unprivileged: wait");
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			  "case unprivileged: probe result (exit %d): '%s'", WEXITSTATUS(st), msg);
		cr_assert(strstr(msg, "CAP_BPF"), "case unprivileged: message '%s'", msg);
	}
}

/*
 * The build libwcard loads follows the kernel: iterators where the kernel's
 * BTF has them, the compat build elsewhere; WCARD_BPF_BUILD overrides it.
 */
Test(probe, bpf_build_follows_the_kernel)
{
	const char *env = getenv("WCARD_BPF_BUILD");
	struct btf *btf = btf__load_vmlinux_btf();
	bool iters = btf && btf__find_by_name_kind(btf, "bpf_iter_num_new", BTF_KIND_FUNC) >= 0;
	enum wcard_bpf_build want = iters ? WCARD_BPF_ITER : WCARD_BPF_COMPAT;

	btf__free(btf);
	if (env && !strcmp(env, "compat"))
		want = WCARD_BPF_COMPAT;
	else if (env && !strcmp(env, "iter"))
		want = WCARD_BPF_ITER;
	cr_assert_eq(wcard_bpf_build(), want, "case build: %s, want %s",
		     wcard_bpf_build_name(wcard_bpf_build()), wcard_bpf_build_name(want));
}

/*
 * A failed load is explained: the verifier's refusals name the kernel and the
 * build, a missing privilege the capabilities, and on kernels before 5.11
 * with a finite RLIMIT_MEMLOCK an EPERM names the limit.
 */
Test(probe, load_hints)
{
	char buf[256], want[128];
	struct rlimit r;
	struct utsname u;

	cr_assert_eq(uname(&u), 0, "case hints: uname");
	snprintf(want, sizeof(want), "the verifier of Linux %s refused wcard's %s build", u.release,
		 wcard_bpf_build_name(wcard_bpf_build()));
	cr_assert(strstr(wcard_load_hint(-EACCES, buf, sizeof(buf)), want),
		  "case verifier: '%s' lacks '%s'", buf, want);
	cr_assert(strstr(wcard_load_hint(E2BIG, buf, sizeof(buf)), want), "case too big: '%s'",
		  buf);
	cr_assert_eq(getrlimit(RLIMIT_MEMLOCK, &r), 0, "case hints: getrlimit");
	wcard_load_hint(-EPERM, buf, sizeof(buf));
	if (wt_kernel() < 5011 && r.rlim_cur != RLIM_INFINITY)
		cr_assert(strstr(buf, "RLIMIT_MEMLOCK"), "case memlock: '%s'", buf);
	else
		cr_assert(strstr(buf, "CAP_BPF"), "case privilege: '%s'", buf);
}
