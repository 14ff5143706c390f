// SPDX-License-Identifier: MIT
/*
 * test_privilege.c: least privilege (suite "privilege"): pinned objects are
 * private to root (0700 directories, 0600 files), the CLI refuses early and
 * names the capabilities it lacks, and a running command holds only those it
 * needs.
 */
#include <stdio.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include "wctest.h"

static char dir[256], tmp[] = "/tmp/wcard-priv-XXXXXX";

static void pv_setup(void)
{
	struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };

	/*
	 * Before 5.11 BPF memory counts against RLIMIT_MEMLOCK, and commands
	 * run here without CAP_SYS_RESOURCE cannot raise it: lift it as an
	 * operator would (LimitMEMLOCK=infinity). memlock_limit_named checks
	 * what happens when nobody did. Later kernels ignore the limit.
	 */
	if (wt_kernel() < 5011)
		cr_assert_eq(setrlimit(RLIMIT_MEMLOCK, &r), 0,
			     "case setup: lifting RLIMIT_MEMLOCK needs CAP_SYS_RESOURCE before 5.11");
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
 * Run each step (a command with %s for the pin directory, and what its output
 * must hold) under the capability prefix caps; each must succeed.
 */
static void run_steps(const char *caps, const char *const (*steps)[2], size_t n,
		      const char *name)
{
	char out[4096], a[512];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(a, sizeof(a), steps[i][0], dir);
		cr_assert_eq(cli(out, sizeof(out), caps, a), 0, "case %s: wcard %s: %s", name, a,
			     out);
		cr_assert(strstr(out, steps[i][1]), "case %s: wcard %s: '%s' lacks '%s'", name, a,
			  out, steps[i][1]);
	}
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

	cr_assert_eq(wt_put(tmp, "r1.txt", "10.0.0.0/8 1\n"), 0, "case caps: routes");
	cr_assert_eq(wt_put(tmp, "r2.txt", "10.1.0.0/16 2\n2001:db8::/32 4\n"), 0,
		     "case caps: routes");
	run_steps(caps, steps, sizeof(steps) / sizeof(steps[0]), "caps");
}

/*
 * Before 5.11, with a low RLIMIT_MEMLOCK and no CAP_SYS_RESOURCE to lift it,
 * create fails naming the limit, its value and the kernel, and leaves nothing
 * pinned. From 5.11 the memory cgroup is charged instead, and the limit does
 * not matter.
 */
Test(privilege, memlock_limit_named)
{
	const char *caps = "ulimit -l 64 && setpriv --bounding-set -all,+bpf,+net_admin,+perfmon";
	char out[4096], a[512], path[300];
	int ret;

	snprintf(a, sizeof(a), "create --pin-dir %s c", dir);
	ret = cli(out, sizeof(out), caps, a);
	snprintf(path, sizeof(path), "%s/c", dir);
	if (wt_kernel() >= 5011) {
		cr_assert_eq(ret, 0, "case memlock (5.11+): create: %s", out);
		cr_assert(strstr(out, "created"), "case memlock (5.11+): '%s'", out);
		return;
	}
	cr_assert_eq(ret, 1, "case memlock: create: %s", out);
	cr_assert(strstr(out, "RLIMIT_MEMLOCK, here 64 KiB") && strstr(out, "Linux 5."),
		  "case memlock: message '%s'", out);
	cr_assert_neq(access(path, F_OK), 0, "case memlock: %s left behind", path);
}

/* CAP_NET_ADMIN 12, CAP_PERFMON 38, CAP_BPF 39: what every BPF command runs with. */
#define BPF_CAPS ((1ULL << 12) | (1ULL << 38) | (1ULL << 39))
#define SYS_ADMIN (1ULL << 21)

/*
 * Wait (up to 30 s: a guest under emulation loads BPF slowly) until process pid
 * sleeps in system call nr on a file descriptor whose target holds what, then
 * read its effective and permitted capabilities. false if it never did. It
 * reads /proc/PID/syscall, not wchan: wchan reads 0 on kernels whose unwinder
 * cannot walk a sleeping task (5.10 with ORC).
 */
static bool caps_when_blocked(int pid, long nr, const char *what, unsigned long long *eff,
			      unsigned long long *prm)
{
	char path[64], line[256], target[512];
	int i;

	for (i = 0; i < 600; i++) {
		unsigned long long fd;
		long n;
		ssize_t k;
		FILE *s;

		usleep(50000);
		snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
		s = fopen(path, "r");
		if (!s)
			continue;
		line[0] = 0;
		if (!fgets(line, sizeof(line), s))
			line[0] = 0;
		fclose(s);
		if (sscanf(line, "%ld %llx", &n, &fd) != 2 || n != nr)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%llu", pid, fd);
		k = readlink(path, target, sizeof(target) - 1);
		if (k <= 0)
			continue;
		target[k] = 0;
		if (!strstr(target, what))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
		s = fopen(path, "r");
		while (s && fgets(line, sizeof(line), s)) {
			sscanf(line, "CapEff: %llx", eff);
			sscanf(line, "CapPrm: %llx", prm);
		}
		if (s)
			fclose(s);
		return s != NULL;
	}
	return false;
}

/*
 * Where the process has CAP_SYS_ADMIN but no CAP_BPF (a container runtime from
 * before 5.8's split), CAP_SYS_ADMIN is what BPF work runs with: the pinning
 * commands must not drop it after the bpffs step.
 */
Test(privilege, sys_admin_stands_in_for_bpf)
{
	static const char *const steps[][2] = {
		{ "create --pin-dir %s c r.txt", "created" },
		{ "rule add --pin-dir %s c 'src 10.0.0.0/8 drop'", "" },
		{ "lpm create --pin-dir %s l routes.txt", "created" },
		{ "lpm add --pin-dir %s l 10.9.9.0/24 77", "" },
		{ "lpm get --pin-dir %s l 10.9.9.9", "10.9.9.0/24 77" },
	};
	const char *caps = "setpriv --bounding-set -all,+sys_admin,+net_admin";

	cr_assert_eq(wt_put(tmp, "r.txt", "src 10.1.0.0/16 drop\n"), 0, "case admin: rules");
	cr_assert_eq(wt_put(tmp, "routes.txt", "10.0.0.0/8 1\n"), 0, "case admin: routes");
	run_steps(caps, steps, sizeof(steps) / sizeof(steps[0]), "admin");
}

/*
 * create reads its rule file with CAP_SYS_ADMIN only permitted, not effective:
 * it is raised for the bpffs step alone. The rule file is a FIFO, so create
 * blocks in its parser, where the test reads its capabilities.
 */
Test(privilege, create_parses_without_sys_admin)
{
	unsigned long long eff = ~0ULL, prm = ~0ULL;
	char a[1024], fifo[600], out[256];
	int pid = 0, fd;
	FILE *f;

	snprintf(fifo, sizeof(fifo), "%s/rules.fifo", tmp);
	cr_assert_eq(mkfifo(fifo, 0600), 0, "case parse: mkfifo");
	snprintf(a, sizeof(a), "{ %s create --pin-dir %s p %s >/dev/null 2>&1 & echo $!; }",
		 getenv("WCARD_BIN"), dir, fifo);
	f = popen(a, "r");
	cr_assert(f && fscanf(f, "%d", &pid) == 1, "case parse: start create");
	fd = open(fifo, O_WRONLY);
	cr_assert_geq(fd, 0, "case parse: open the fifo");
	caps_when_blocked(pid, SYS_read, "rules.fifo", &eff, &prm);
	cr_assert_eq(write(fd, "src 10.0.0.0/8 drop\n", 20), 20, "case parse: write");
	close(fd);
	pclose(f);
	/* create is the shell's child, not ours: wait for it to go. */
	for (fd = 0; fd < 600 && !kill(pid, 0); fd++)
		usleep(50000);
	cr_assert_neq(eff, ~0ULL, "case parse: create never blocked reading its rules");
	cr_assert_eq(eff, BPF_CAPS, "case parse: effective %#llx while parsing", eff);
	cr_assert_eq(prm, BPF_CAPS | SYS_ADMIN, "case parse: permitted %#llx while parsing", prm);
	snprintf(a, sizeof(a), "rules dump --pin-dir %s p", dir);
	cr_assert_eq(cli(out, sizeof(out), "", a), 0, "case parse: dump: %s", out);
}

/* A command blocked on the classifier's lock shows the capabilities it kept. */
Test(privilege, running_command_keeps_only_its_capabilities)
{
	char out[4096], a[512], held[300];
	unsigned long long eff = ~0ULL, prm = ~0ULL;
	int lock, pid = 0;
	FILE *f;

	snprintf(a, sizeof(a), "create --pin-dir %s c", dir);
	cr_assert_eq(cli(out, sizeof(out), "", a), 0, "case caps: create: %s", out);
	snprintf(held, sizeof(held), "%s/c", dir);
	lock = open(held, O_RDONLY | O_DIRECTORY);
	cr_assert_geq(lock, 0, "case caps: open %s: %s", held, out);
	cr_assert_eq(flock(lock, LOCK_EX), 0, "case caps: lock");
	snprintf(a, sizeof(a), "cd %s && { %s rule add --pin-dir %s c 'src 1.2.3.4 drop' & echo $!; }",
		 tmp, getenv("WCARD_BIN"), dir);
	f = popen(a, "r");
	cr_assert(f && fscanf(f, "%d", &pid) == 1, "case caps: start rule add");
	/* Wait until it blocks on the lock (it has dropped its capabilities by then). */
	caps_when_blocked(pid, SYS_flock, held, &eff, &prm);
	flock(lock, LOCK_UN);
	close(lock);
	pclose(f);
	cr_assert_neq(eff, ~0ULL, "case caps: rule add never blocked on the lock");
	/* CAP_NET_ADMIN 12, CAP_PERFMON 38, CAP_BPF 39, and nothing else. */
	cr_assert_eq(eff, BPF_CAPS, "case caps: effective %#llx while running", eff);
	cr_assert_eq(prm, eff, "case caps: permitted %#llx", prm);
}

/* Start `wcard lpm SUB --pin-dir DIR ARGS...` with stdout on fd out. Its pid. */
static int lpm_spawn(int out, const char *sub, const char *name, const char *arg)
{
	const char *bin = getenv("WCARD_BIN");
	int pid = fork();

	cr_assert_geq(pid, 0, "case lpm %s: fork", sub);
	if (!pid) {
		dup2(out, 1);
		execl(bin, bin, "lpm", sub, "--pin-dir", dir, name, arg, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/*
 * Run a reader (`wcard lpm dump`, `get`, `stats` on LPM l) with its stdout on a
 * full pipe: it blocks on its first write, after it opened the LPM and did its
 * work. Its capabilities then; the output (after the pipe's filler) into out.
 */
static void lpm_reader_caps(const char *sub, const char *arg, unsigned long long *eff,
			    unsigned long long *prm, char *out, size_t len)
{
	char buf[4096];
	size_t n = 0, fill = 0;
	int p[2], pid, st;
	ssize_t r;

	*eff = *prm = ~0ULL;
	cr_assert_eq(pipe(p), 0, "case lpm %s: pipe", sub);
	cr_assert(!fcntl(p[0], F_SETFD, FD_CLOEXEC) && !fcntl(p[1], F_SETFD, FD_CLOEXEC) &&
			  !fcntl(p[1], F_SETFL, O_NONBLOCK),
		  "case lpm %s: pipe flags", sub);
	memset(buf, 'x', sizeof(buf));
	while ((r = write(p[1], buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR))
		fill += r > 0 ? r : 0;
	while ((r = write(p[1], buf, 1)) > 0)
		fill++;
	cr_assert_eq(fcntl(p[1], F_SETFL, 0), 0, "case lpm %s: blocking pipe", sub);
	pid = lpm_spawn(p[1], sub, "l", arg);
	close(p[1]);
	cr_assert(caps_when_blocked(pid, SYS_write, "pipe:", eff, prm),
		  "case lpm %s: never blocked on its output", sub);
	/* Drain: the filler, then what the command printed. */
	while ((r = read(p[0], buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR)) {
		size_t k = r < 0 ? 0 : fill < (size_t)r ? fill : (size_t)r;

		fill -= k;
		for (; k < (size_t)(r > 0 ? r : 0) && n + 1 < len; k++)
			out[n++] = buf[k];
	}
	out[n] = 0;
	close(p[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid, "case lpm %s: wait", sub);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "case lpm %s: exit status %#x", sub, st);
}

/*
 * `wcard lpm` on an LPM pinned with its live images never has CAP_SYS_ADMIN
 * effective: the readers run with exactly CAP_BPF, CAP_NET_ADMIN and
 * CAP_PERFMON after the open (CAP_SYS_ADMIN is gone from the permitted set
 * too), and a writer waiting for the lock, before its open, holds it permitted
 * only (to open an older pin by map id).
 */
Test(privilege, lpm_commands_run_without_sys_admin)
{
	static const struct {
		const char *sub, *arg, *want;
	} rd[] = {
		{ "dump", NULL, "10.0.0.0/8 1" },
		{ "get", "10.1.2.3", "10.1.2.3 10.0.0.0/8 1" },
		{ "stats", NULL, "1 IPv4, 1 IPv6" },
	};
	unsigned long long eff, prm;
	char out[4096], a[512];
	int lock, pid, st;
	unsigned int i;

	cr_assert_eq(wt_put(tmp, "routes.txt", "10.0.0.0/8 1\n2001:db8::/32 2\n"), 0,
		     "case lpm caps: routes file");
	snprintf(a, sizeof(a), "lpm create --pin-dir %s l routes.txt", dir);
	cr_assert_eq(cli(out, sizeof(out), "", a), 0, "case lpm caps: create: %s", out);
	for (i = 0; i < sizeof(rd) / sizeof(rd[0]); i++) {
		lpm_reader_caps(rd[i].sub, rd[i].arg, &eff, &prm, out, sizeof(out));
		cr_assert(strstr(out, rd[i].want), "case lpm %s: output '%s' lacks '%s'", rd[i].sub,
			  out, rd[i].want);
		cr_assert_eq(eff, BPF_CAPS, "case lpm %s: effective %#llx after the open",
			     rd[i].sub, eff);
		cr_assert_eq(prm, BPF_CAPS, "case lpm %s: permitted %#llx after the open",
			     rd[i].sub, prm);
	}
	/* A writer: blocked on the LPM's lock, before it opens it. */
	snprintf(a, sizeof(a), "%s/l", dir);
	lock = open(a, O_RDONLY | O_DIRECTORY);
	cr_assert_geq(lock, 0, "case lpm add: open %s", a);
	cr_assert_eq(flock(lock, LOCK_EX), 0, "case lpm add: lock");
	pid = lpm_spawn(1, "add", "l", "10.9.9.0/24");
	eff = prm = ~0ULL;
	caps_when_blocked(pid, SYS_flock, a, &eff, &prm);
	flock(lock, LOCK_UN);
	close(lock);
	cr_assert_eq(waitpid(pid, &st, 0), pid, "case lpm add: wait");
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "case lpm add: exit status %#x", st);
	cr_assert_neq(eff, ~0ULL, "case lpm add: never blocked on the lock");
	cr_assert_eq(eff, BPF_CAPS, "case lpm add: effective %#llx while waiting", eff);
	cr_assert_eq(prm & ~SYS_ADMIN, BPF_CAPS, "case lpm add: permitted %#llx while waiting",
		     prm);
}

/*
 * An LPM pinned by an older wcard (no live image pins) still opens: by map id,
 * with CAP_SYS_ADMIN effective for that open only (gone after it), and without
 * CAP_SYS_ADMIN the command says the open was not permitted.
 */
Test(privilege, lpm_legacy_pin_opens_by_id)
{
	unsigned long long eff, prm;
	char out[4096], a[512], path[512];

	cr_assert_eq(wt_put(tmp, "routes.txt", "10.0.0.0/8 1\n2001:db8::/32 2\n"), 0,
		     "case legacy: routes file");
	snprintf(a, sizeof(a), "lpm create --pin-dir %s l routes.txt", dir);
	cr_assert_eq(cli(out, sizeof(out), "", a), 0, "case legacy: create: %s", out);
	snprintf(path, sizeof(path), "%s/l/wc_lpm4_image_live", dir);
	cr_assert_eq(unlink(path), 0, "case legacy: unlink %s", path);
	snprintf(path, sizeof(path), "%s/l/wc_lpm6_image_live", dir);
	cr_assert_eq(unlink(path), 0, "case legacy: unlink %s", path);
	snprintf(a, sizeof(a), "lpm get --pin-dir %s l 10.1.2.3 2001:db8::1", dir);
	cr_assert_eq(cli(out, sizeof(out), "", a), 0, "case legacy: get: %s", out);
	cr_assert(strstr(out, "10.1.2.3 10.0.0.0/8 1") &&
			  strstr(out, "2001:db8::1 2001:db8::/32 2"),
		  "case legacy: get: '%s'", out);
	lpm_reader_caps("dump", NULL, &eff, &prm, out, sizeof(out));
	cr_assert(strstr(out, "10.0.0.0/8 1"), "case legacy: dump: '%s'", out);
	cr_assert_eq(eff, BPF_CAPS, "case legacy: effective %#llx after the open", eff);
	cr_assert_eq(prm, BPF_CAPS, "case legacy: permitted %#llx after the open", prm);
	cr_assert_eq(cli(out, sizeof(out), "setpriv --bounding-set -all,+bpf,+net_admin,+perfmon",
			 a),
		     1, "case legacy: get without CAP_SYS_ADMIN: %s", out);
	cr_assert(strstr(out, "Operation not permitted"), "case legacy: message '%s'", out);
}
