// SPDX-License-Identifier: MIT
/*
 * caps.c: least privilege for the CLI. Before a command runs, it checks that
 * the capabilities the command needs are effective (and says which are
 * missing otherwise), then drops every other capability from its effective,
 * permitted and inheritable sets, so a bug in a parser cannot use what the
 * command never needed. Called from main while the CLI is one thread
 * (capset applies to the calling thread only).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include "cli.h"

static const struct {
	int cap;
	const char *name;
} cap_names[] = {
	{ CAP_BPF, "CAP_BPF" },
	{ CAP_NET_ADMIN, "CAP_NET_ADMIN" },
	{ CAP_PERFMON, "CAP_PERFMON" },
	{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN" },
	{ CAP_DAC_OVERRIDE, "CAP_DAC_OVERRIDE" },
};

static int caps_get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };

	return syscall(SYS_capget, &h, d) ? -errno : 0;
}

static bool has(const struct __user_cap_data_struct d[2], int cap, bool permitted)
{
	__u32 w = permitted ? d[cap / 32].permitted : d[cap / 32].effective;

	return w & (1u << (cap % 32));
}

int caps_limit(const char *cmd, __u64 need, __u64 keep, __u64 standby)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {}, nd[2] = {};
	char missing[256] = "";
	unsigned int i;
	int cap, ret;

	/*
	 * Before Linux 5.11 BPF maps and programs are charged to RLIMIT_MEMLOCK,
	 * and raising it takes CAP_SYS_RESOURCE, which goes below: raise it now
	 * (libbpf would try later, without the capability). Later kernels
	 * charge the memory cgroup and ignore the limit.
	 */
	if (need) {
		struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };

		/* Without CAP_SYS_RESOURCE, the soft limit can still rise to the hard one. */
		if (setrlimit(RLIMIT_MEMLOCK, &r) && !getrlimit(RLIMIT_MEMLOCK, &r)) {
			r.rlim_cur = r.rlim_max;
			setrlimit(RLIMIT_MEMLOCK, &r);
		}
	}
	ret = caps_get(d);
	if (ret)
		return 0; /* no capability API: let the kernel say no */
	/*
	 * Kernels before 5.8 have no CAP_BPF or CAP_PERFMON: CAP_SYS_ADMIN stands
	 * for both there (and the feature probe then says the kernel is too old).
	 */
	if ((need & (CAPB(CAP_BPF) | CAPB(CAP_PERFMON))) && has(d, CAP_SYS_ADMIN, false) &&
	    !has(d, CAP_BPF, true))
		need = (need & ~(CAPB(CAP_BPF) | CAPB(CAP_PERFMON))) | CAPB(CAP_SYS_ADMIN);
	for (i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++) {
		if (!(need & (1ULL << cap_names[i].cap)) || has(d, cap_names[i].cap, false))
			continue;
		snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
			 *missing ? ", " : "", cap_names[i].name);
	}
	if (*missing) {
		char all[256] = "", set[256] = "";
		size_t k;

		for (i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++) {
			if (!(need & (1ULL << cap_names[i].cap)))
				continue;
			snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s",
				 *all ? ", " : "", cap_names[i].name);
			snprintf(set + strlen(set), sizeof(set) - strlen(set), "%s%s",
				 *set ? "," : "", cap_names[i].name);
		}
		for (k = 0; set[k]; k++) /* setcap spells them in lower case */
			set[k] = (char)(set[k] >= 'A' && set[k] <= 'Z' ? set[k] + 32 : set[k]);
		fprintf(stderr, "wcard %s: not permitted: this command needs %s; missing: %s (run "
				"it as root, or grant them: setcap %s+ep on the wcard binary)\n",
			cmd, all, missing, set);
		return -EPERM;
	}
	/*
	 * Keep what is needed and kept (where permitted), and standby permitted
	 * only (caps_raise makes it effective where the command needs it); drop
	 * the rest.
	 */
	for (cap = 0; cap < 64; cap++) {
		if (!((need | keep | standby) & (1ULL << cap)) || !has(d, cap, true))
			continue;
		nd[cap / 32].permitted |= 1u << (cap % 32);
		if ((need | keep) & (1ULL << cap))
			nd[cap / 32].effective |= 1u << (cap % 32);
	}
	if (syscall(SYS_capset, &h, nd)) {
		fprintf(stderr, "wcard %s: dropping capabilities: %s\n", cmd, strerror(errno));
		return -errno;
	}
	return 0;
}

int caps_raise(int cap)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};

	if (caps_get(d) || !has(d, cap, true))
		return -EPERM;
	d[cap / 32].effective |= 1u << (cap % 32);
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

bool caps_effective(int cap)
{
	struct __user_cap_data_struct d[2] = {};

	return !caps_get(d) && has(d, cap, false);
}

void caps_drop(int cap)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};

	if (caps_get(d))
		return;
	d[cap / 32].effective &= ~(1u << (cap % 32));
	d[cap / 32].permitted &= ~(1u << (cap % 32));
	syscall(SYS_capset, &h, d);
}
