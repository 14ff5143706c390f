// SPDX-License-Identifier: MIT
/*
 * test_privilege.c: least privilege (suite "privilege"): pinned objects are
 * private to root (0700 directories, 0600 files), the CLI refuses early and
 * names the capabilities it lacks, and a running command holds only those it
 * needs.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <fcntl.h>
#include <dirent.h>
#include <sys/file.h>
#include <time.h>
#include "wctest.h"

static char dir[256], tmp[] = "/tmp/wcard-priv-XXXXXX";

static void pv_setup(void)
{
	wt_pin_dir(dir, sizeof(dir), "priv");
	cr_assert_not_null(mkdtemp(tmp), "case setup: mkdtemp");
}

static void pv_teardown(void)
{
	char out[1024];

	wt_sh(out, sizeof(out), "%s destroy --pin-dir %s c 2>/dev/null; %s lpm destroy --pin-dir %s l "
		"2>/dev/null; rm -rf %s %s", getenv("WCARD_BIN"), dir, getenv("WCARD_BIN"), dir,
		dir, tmp);
}

TestSuite(privilege, .init = pv_setup, .fini = pv_teardown, .timeout = 300);

static int cli(char *out, size_t len, const char *prefix, const char *args)
{
	return wt_sh(out, len, "cd %s && %s %s %s", tmp, prefix, getenv("WCARD_BIN"), args);
}

/* Every entry under path: directories 0700, files 0600, owned by root. */
static void check_modes(const char *path, unsigned int *n)
{
	struct dirent *e;
	struct stat st;
	DIR *d;

	cr_assert_eq(stat(path, &st), 0, "case modes: stat %s", path);
	cr_assert_eq(st.st_uid, 0, "case modes: %s owned by uid %u", path, st.st_uid);
	if (!S_ISDIR(st.st_mode)) {
		cr_assert_eq(st.st_mode & 07777, 0600, "case modes: file %s has mode %o", path,
			     st.st_mode & 07777);
		++*n;
		return;
	}
	cr_assert_eq(st.st_mode & 07777, 0700, "case modes: directory %s has mode %o", path,
		     st.st_mode & 07777);
	d = opendir(path);
	cr_assert_not_null(d, "case modes: opendir %s", path);
	while ((e = readdir(d))) {
		char sub[1024];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		check_modes(sub, n);
	}
	closedir(d);
}

Test(privilege, pinned_modes)
{
	char out[4096], a[512];
	unsigned int n = 0;

	cr_assert_eq(wt_put(tmp, "r.txt", "src 10.0.0.0/8 drop\n"), 0, "case modes: rules file");
	cr_assert_eq(wt_put(tmp, "routes.txt", "10.0.0.0/8 1\n2001:db8::/32 2\n"), 0,
		     "case modes: routes file");
	/* Even with a permissive umask: the modes are wcard's, not the caller's. */
	snprintf(a, sizeof(a), "create --pin-dir %s c r.txt", dir);
	cr_assert_eq(cli(out, sizeof(out), "umask 000 &&", a), 0, "case modes: create: %s", out);
	snprintf(a, sizeof(a), "lpm create --pin-dir %s l routes.txt", dir);
	cr_assert_eq(cli(out, sizeof(out), "umask 000 &&", a), 0, "case modes: lpm create: %s",
		     out);
	check_modes(dir, &n);
	cr_assert_gt(n, 10, "case modes: only %u pinned files", n);
}

Test(privilege, missing_capabilities)
{
	char out[4096], a[512];

	snprintf(a, sizeof(a), "create --pin-dir %s c /dev/null", dir);
	cr_assert_eq(cli(out, sizeof(out), "setpriv --bounding-set -all,+bpf,+net_admin", a), 1,
		     "case no CAP_PERFMON: create: %s", out);
	cr_assert(strstr(out, "missing: CAP_PERFMON"), "case no CAP_PERFMON: message '%s'", out);
	cr_assert_neq(access(dir, F_OK), 0, "case no CAP_PERFMON: %s was created", dir);
	snprintf(a, sizeof(a), "lpm get --pin-dir %s l 10.0.0.1", dir);
	cr_assert_eq(cli(out, sizeof(out), "setpriv --reuid 65534 --regid 65534 --clear-groups", a),
		     1, "case nobody: lpm get: %s", out);
	cr_assert(strstr(out, "missing: CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON"),
		  "case nobody: message '%s'", out);
	/* Commands without BPF need nothing. */
	cr_assert_eq(cli(out, sizeof(out), "setpriv --reuid 65534 --regid 65534 --clear-groups",
			 "help create"),
		     0, "case nobody: help: %s", out);
}

/*
 * With exactly CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON, a pinned LPM and a
 * classifier can be created, changed, reloaded and read (a reopen finds the
 * LPM's live image by its pin, not by map id, which would need CAP_SYS_ADMIN).
 */
Test(privilege, bpf_capabilities_suffice)
{
	static const char *const steps[][2] = {
		{ "lpm create --pin-dir %s l r1.txt", "created" },
		{ "lpm load --pin-dir %s l r2.txt", "loaded" },
		{ "lpm add --pin-dir %s l 10.9.9.0/24 77", "" },
		{ "lpm get --pin-dir %s l 10.9.9.9 10.1.2.3 2001:db8::1", "10.9.9.0/24 77" },
		{ "lpm dump --pin-dir %s l", "2001:db8::/32 4" },
		{ "create --pin-dir %s c", "created" },
		{ "rule add --pin-dir %s c 'src 10.0.0.0/8 drop'", "" },
		{ "rules list --pin-dir %s c", "src 10.0.0.0/8" },
	};
	const char *caps = "setpriv --bounding-set -all,+bpf,+net_admin,+perfmon";
	char out[4096], a[512];
	unsigned int i;

	cr_assert_eq(wt_put(tmp, "r1.txt", "10.0.0.0/8 1\n"), 0, "case caps: routes");
	cr_assert_eq(wt_put(tmp, "r2.txt", "10.1.0.0/16 2\n2001:db8::/32 4\n"), 0,
		     "case caps: routes");
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		snprintf(a, sizeof(a), steps[i][0], dir);
		cr_assert_eq(cli(out, sizeof(out), caps, a), 0, "case caps: wcard %s: %s", a, out);
		cr_assert(strstr(out, steps[i][1]), "case caps: wcard %s: '%s' lacks '%s'", a, out,
			  steps[i][1]);
	}
}

/* A command blocked on the classifier's lock shows the capabilities it kept. */
Test(privilege, running_command_keeps_only_its_capabilities)
{
	char out[4096], a[512], status[256], line[256];
	unsigned long long eff = ~0ULL, prm = ~0ULL;
	int lock, pid = 0, i;
	FILE *f;

	snprintf(a, sizeof(a), "create --pin-dir %s c", dir);
	cr_assert_eq(cli(out, sizeof(out), "", a), 0, "case caps: create: %s", out);
	snprintf(a, sizeof(a), "%s/c", dir);
	lock = open(a, O_RDONLY | O_DIRECTORY);
	cr_assert_geq(lock, 0, "case caps: open %s: %s", a, out);
	cr_assert_eq(flock(lock, LOCK_EX), 0, "case caps: lock");
	snprintf(a, sizeof(a), "cd %s && { %s rule add --pin-dir %s c 'src 1.2.3.4 drop' & echo $!; }",
		 tmp, getenv("WCARD_BIN"), dir);
	f = popen(a, "r");
	cr_assert(f && fscanf(f, "%d", &pid) == 1, "case caps: start rule add");
	/* Wait until it blocks on the lock (it has dropped its capabilities by then). */
	for (i = 0; i < 100 && eff == ~0ULL; i++) {
		FILE *s;

		usleep(50000);
		snprintf(status, sizeof(status), "/proc/%d/wchan", pid);
		s = fopen(status, "r");
		if (!s)
			continue;
		line[0] = 0;
		if (!fgets(line, sizeof(line), s))
			line[0] = 0;
		fclose(s);
		if (!strstr(line, "flock") && !strstr(line, "locks"))
			continue;
		snprintf(status, sizeof(status), "/proc/%d/status", pid);
		s = fopen(status, "r");
		while (s && fgets(line, sizeof(line), s)) {
			sscanf(line, "CapEff: %llx", &eff);
			sscanf(line, "CapPrm: %llx", &prm);
		}
		if (s)
			fclose(s);
	}
	flock(lock, LOCK_UN);
	close(lock);
	pclose(f);
	cr_assert_neq(eff, ~0ULL, "case caps: rule add never blocked on the lock");
	/* CAP_NET_ADMIN 12, CAP_PERFMON 38, CAP_BPF 39, and nothing else. */
	cr_assert_eq(eff, (1ULL << 12) | (1ULL << 38) | (1ULL << 39),
		     "case caps: effective %#llx while running", eff);
	cr_assert_eq(prm, eff, "case caps: permitted %#llx", prm);
}
