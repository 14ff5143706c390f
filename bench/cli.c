// SPDX-License-Identifier: MIT
/* cli.c: what the operator waits for: CLI commands on pinned classifiers, in ms; wcard-bench only. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <wcard/wcard.h>
#include "harness.h"
#include "testkit/testkit.h"

extern char **environ;

/* Where the bench's classifiers are pinned (removed at the end), and the CLI it runs. */
struct cli_env {
	char dir[128];
	const char *bin;
};

/* Run argv (NULL-terminated) with stdin from `in` (or /dev/null), output dropped: ms, or < 0. */
static double run_ms(const char *const *argv, const char *in)
{
	posix_spawn_file_actions_t fa;
	double t0 = now_ns();
	pid_t pid;
	int st, ret;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, in ? in : "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	ret = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (ret)
		return -ret;
	if (waitpid(pid, &st, 0) != pid)
		return -errno;
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return -EIO;
	return (now_ns() - t0) / 1e6;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct lat {
	double med, p90, max;
	double floor; /* /bin/true's median, run between the command's runs */
};

static void lat_of(double *v, unsigned int n, struct lat *l)
{
	qsort(v, n, sizeof(*v), dbl_cmp);
	l->med = v[n / 2];
	l->p90 = v[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1];
	l->max = v[n - 1];
}

/* `wcard ARGS... --pin-dir DIR` n times; args may hold one "%u" (the run's index + base). */
static int cli_runs(const struct cli_env *e, const char *fmt, unsigned int n, unsigned int base,
		    struct lat *out)
{
	const char *tru[] = { "/bin/true", NULL };
	double *v = calloc(n, sizeof(*v)), *f = calloc(n, sizeof(*f));
	unsigned int i;
	int ret = 0;

	if (!v || !f) {
		free(v);
		free(f);
		return -ENOMEM;
	}
	for (i = 0; i < n && !ret; i++) {
		char line[512], *argv[32], *p;
		int k = 0;

		/* Any process's cost, measured in turn with the command's: the VM's moves hit both. */
		f[i] = run_ms(tru, NULL);
		snprintf(line, sizeof(line), fmt, base + i);
		argv[k++] = (char *)e->bin;
		for (p = strtok(line, " "); p && k < 28; p = strtok(NULL, " "))
			argv[k++] = p;
		argv[k++] = "--pin-dir";
		argv[k++] = (char *)e->dir;
		argv[k] = NULL;
		v[i] = run_ms((const char *const *)argv, NULL);
		if (v[i] < 0) {
			fprintf(stderr, "bench: wcard %s failed\n", line);
			ret = -EIO;
		}
	}
	if (!ret) {
		lat_of(f, n, out);
		out->floor = out->med;
		lat_of(v, n, out);
	}
	free(v);
	free(f);
	return ret;
}

static void lat_row(const char *set, const char *what, const struct lat *l, size_t rules)
{
	say("%-28s %-34s %8.2f ms median, p90 %.2f, max %.2f (/bin/true %.2f)\n", set, what,
	    l->med, l->p90, l->max, l->floor);
	json_obj("cli", "\"case\":\"%s\",\"what\":\"%s\",\"rules\":%zu,\"ms\":%.3f,\"p90_ms\":%.3f,"
			"\"max_ms\":%.3f,\"true_ms\":%.3f",
		 set, what, rules, l->med, l->p90, l->max, l->floor);
}

/* A ClassBench file of n generated rules (seed) at path. */
static int gen_file(unsigned int n, __u64 seed, char *path)
{
	struct tk_gen_opts go = { .nrules = n, .npackets = 1, .seed = seed };
	char tp[] = "/tmp/wcard-bench-tXXXXXX";
	int fd = mkstemp(path), tfd = mkstemp(tp), ret = -EIO;
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL, *t = tfd >= 0 ? fdopen(tfd, "w") : NULL;

	if (f && t)
		ret = tk_gen_classbench(&go, f, t);
	if (f)
		fclose(f);
	if (t)
		fclose(t);
	unlink(tp);
	return ret;
}

/*
 * A batch file of n changes: n/2 deletes of ids first..first+n/2 and n/2 adds
 * of generated rules (seed), interleaved, at path.
 */
static int batch_file(unsigned int n, __u32 first, __u64 seed, char *path)
{
	struct wcard_ruleset rs;
	char rp[] = "/tmp/wcard-bench-rXXXXXX", err[256], line[1024];
	int fd, ret;
	unsigned int i;
	FILE *f;

	wcard_ruleset_init(&rs, wcard_layout_ipv4());
	ret = gen_file(n / 2, seed, rp);
	if (!ret)
		ret = wcard_rules_load(rp, WCARD_FMT_CLASSBENCH, wcard_layout_ipv4(), &rs, err,
				       sizeof(err));
	unlink(rp);
	fd = ret ? -1 : mkstemp(path);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	for (i = 0; f && i < rs.n; i++) {
		rs.rules[i].prio += 1000000000u;
		wcard_rule_format(rs.layout, &rs.rules[i], line, sizeof(line));
		fprintf(f, "del %u\nadd %s\n", first + i, line);
	}
	if (!f || ferror(f))
		ret = ret ? ret : -EIO;
	if (f)
		fclose(f);
	wcard_ruleset_free(&rs);
	return ret;
}

/* The library's path: open the pinned classifier, change one rule, close; n times, us each. */
static int lib_runs(const char *path, unsigned int n, struct lat *out)
{
	double *v = calloc(n, sizeof(*v));
	struct wcard_rule r;
	char err[256] = "";
	unsigned int i;
	int ret = 0;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < n && !ret; i++) {
		struct wcard_clf *c = NULL;
		double t0 = now_ns();
		__u32 id;

		ret = wcard_clf_open_pinned(path, NULL, &c, err, sizeof(err));
		if (!ret) {
			wcard_rule_any(wcard_clf_layout(c), &r);
			wcard_rule_set_prefix(wcard_clf_layout(c), &r, WC_F_DST,
					      0xc6336400 + (i << 8), 24); /* 198.51.100.0/24 on */
			r.prio = 4000000000u;
			r.value = WC_ACT_DROP;
			ret = wcard_clf_insert(c, &r, &id, err, sizeof(err));
		}
		wcard_clf_destroy(c);
		v[i] = (now_ns() - t0) / 1e3;
	}
	if (ret)
		fprintf(stderr, "bench: library open + insert: %s\n", err);
	else
		lat_of(v, n, out);
	free(v);
	return ret;
}

/*
 * One classifier of the rules in file (format auto): created through the
 * CLI, then every command an operator runs on it, timed from the shell's
 * side (process start included). full: the 1M set's extras.
 */
static int cli_set(const struct cli_env *e, const char *set, const char *file, size_t rules,
		   bool big)
{
	const char *argv[] = { e->bin,	   "create",  "c",	      file,	    "--layout",
			       "ipv4-5tuple", "--pin-dir", e->dir,	      NULL };
	char bp[] = "/tmp/wcard-bench-bXXXXXX", path[300], what[64];
	unsigned int n = big ? 15 : 31, nb = 10000;
	double ms;
	struct lat l;
	int ret;

	ms = run_ms(argv, NULL);
	if (ms < 0) {
		fprintf(stderr, "bench: wcard create %s failed\n", file);
		return -EIO;
	}
	say("%-28s %-34s %8.0f ms (%zu rules)\n", set, "create (load, build, pin)", ms, rules);
	json_obj("cli", "\"case\":\"%s\",\"what\":\"create\",\"rules\":%zu,\"ms\":%.1f", set, rules,
		 ms);
	/* The loaded rules have ids 0..rules-1: each command below takes its own. */
	if ((ret = cli_runs(e, "rule add c src 203.0.%u.0/24 tcp dport 22 drop", n, 0, &l)))
		return ret;
	lat_row(set, "rule add", &l, rules);
	if ((ret = cli_runs(e, "rule update c %u value 7", n, 1, &l)))
		return ret;
	lat_row(set, "rule update (value)", &l, rules);
	if ((ret = cli_runs(e, "rule update c %u prio 3", n, 100, &l)))
		return ret;
	lat_row(set, "rule update (prio: re-insert)", &l, rules);
	if ((ret = cli_runs(e, "rule del c %u", n, 200, &l)))
		return ret;
	lat_row(set, "rule del", &l, rules);
	if ((ret = cli_runs(e, "stats c", 5, 0, &l)))
		return ret;
	lat_row(set, "stats NAME", &l, rules);
	if ((ret = cli_runs(e, "rules list c", 5, 0, &l)))
		return ret;
	lat_row(set, "rules list", &l, rules);
	if ((ret = cli_runs(e, "rules dump c", 5, 0, &l)))
		return ret;
	lat_row(set, "rules dump", &l, rules);
	snprintf(path, sizeof(path), "%s/c", e->dir);
	/* In-process, about 1 ms each: 101 runs, so a slow page-table fill is not the median. */
	if ((ret = lib_runs(path, 101, &l)))
		return ret;
	say("%-28s %-34s %8.1f us median, p90 %.1f, max %.1f\n", set,
	    "library: open_pinned + insert", l.med, l.p90, l.max);
	json_obj("cli", "\"case\":\"%s\",\"what\":\"library open_pinned + insert\",\"rules\":%zu,"
			"\"us\":%.1f,\"p90_us\":%.1f,\"max_us\":%.1f",
		 set, rules, l.med, l.p90, l.max);
	/*
	 * Batches: 10K changes (5K deletes, 5K adds; a small set: half its size),
	 * online then atomic; 1M online on the 1M set. Each deletes its own ids.
	 */
	nb = rules >= 20000 ? 10000 : (unsigned int)rules / 2;
	for (int atomic = 0; atomic < 2 + big; atomic++) {
		const char *bargv[] = { e->bin,	 "rules",	"apply",  "c",
					bp,	 "--pin-dir", e->dir, atomic == 1 ? "--atomic" : NULL,
					NULL };
		unsigned int k = atomic == 2 ? 1000000 : nb, first = (unsigned int)rules / 4 + 40;

		strcpy(bp, "/tmp/wcard-bench-bXXXXXX");
		ret = batch_file(k, first + atomic * nb / 2, 50 + atomic, bp);
		if (ret)
			return ret;
		ms = run_ms(bargv, NULL);
		unlink(bp);
		if (ms < 0) {
			fprintf(stderr, "bench: rules apply (%u changes) failed\n", k);
			return -EIO;
		}
		snprintf(what, sizeof(what), "rules apply, %u changes%s", k,
			 atomic == 1 ? " --atomic" : "");
		say("%-28s %-34s %8.0f ms, %.0f changes/s\n", set, what, ms, k / (ms / 1e3));
		json_obj("cli", "\"case\":\"%s\",\"what\":\"%s\",\"rules\":%zu,\"changes\":%u,"
				"\"ms\":%.1f,\"per_s\":%.0f",
			 set, what, rules, k, ms, k / (ms / 1e3));
	}
	return wcard_clf_unpin(path);
}

/* The first n lines of the route file src (gzip or not) in a new file at path (a template). */
static int routes_head(const char *src, unsigned int n, char *path)
{
	gzFile in = gzopen(src, "rb");
	int fd = in ? mkstemp(path) : -1, ret = 0;
	char line[256];
	FILE *out;

	if (fd < 0) {
		if (in)
			gzclose(in);
		return -errno;
	}
	out = fdopen(fd, "w");
	if (!out) {
		close(fd);
		gzclose(in);
		return -errno;
	}
	while (n-- && gzgets(in, line, sizeof(line)))
		fputs(line, out);
	if (fclose(out))
		ret = -errno;
	gzclose(in);
	return ret;
}

/* A pinned LPM of the routes in file: the read-only commands, then single changes. */
static int lpm_set(const struct cli_env *e, const char *set, const char *file, size_t routes)
{
	const char *argv[] = { e->bin, "lpm", "create", "l", file, "--pin-dir", e->dir, NULL };
	const char *dargv[] = { e->bin, "lpm", "destroy", "l", "--pin-dir", e->dir, NULL };
	double ms = run_ms(argv, NULL);
	struct lat l;
	int ret;

	if (ms < 0) {
		fprintf(stderr, "bench: wcard lpm create %s failed\n", file);
		return -EIO;
	}
	say("%-28s %-34s %8.0f ms (%zu routes)\n", set, "lpm create", ms, routes);
	json_obj("cli", "\"case\":\"%s\",\"what\":\"lpm create\",\"rules\":%zu,\"ms\":%.1f", set,
		 routes, ms);
	if ((ret = cli_runs(e, "lpm get l 1.0.%u.1", 31, 0, &l)))
		return ret;
	lat_row(set, "lpm get (one address, through BPF)", &l, routes);
	if ((ret = cli_runs(e, "lpm dump l", 5, 0, &l)))
		return ret;
	lat_row(set, "lpm dump", &l, routes);
	if ((ret = cli_runs(e, "lpm stats l", 5, 0, &l)))
		return ret;
	lat_row(set, "lpm stats", &l, routes);
	if ((ret = cli_runs(e, "lpm add l 198.18.%u.0/24 7", 15, 0, &l)))
		return ret;
	lat_row(set, "lpm add", &l, routes);
	if ((ret = cli_runs(e, "lpm del l 198.18.%u.0/24", 15, 0, &l)))
		return ret;
	lat_row(set, "lpm del", &l, routes);
	return run_ms(dargv, NULL) < 0 ? -EIO : 0;
}

int bench_cli(const char *data, bool full)
{
	const char *bin = getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
	const char *tru[] = { "/bin/true", NULL };
	char f1[] = "/tmp/wcard-bench-cXXXXXX", f3[] = "/tmp/wcard-bench-cXXXXXX", cb[1024];
	char f4[] = "/tmp/wcard-bench-rXXXXXX";
	struct cli_env e = { .bin = bin };
	double v[31];
	struct lat l;
	unsigned int i;
	int ret;

	snprintf(e.dir, sizeof(e.dir), "/sys/fs/bpf/wcard-bench-%d", getpid());
	say("\nthe CLI on pinned classifiers: wall time of each command, process start included "
	    "(spawned and waited for, as a script does)\n");
	for (i = 0; i < 31; i++)
		v[i] = run_ms(tru, NULL);
	lat_of(v, 31, &l);
	say("%-28s %-34s %8.2f ms median (the floor: any process)\n", "", "/bin/true", l.med);
	json_obj("cli", "\"case\":\"-\",\"what\":\"/bin/true\",\"rules\":0,\"ms\":%.3f", l.med);
	ret = gen_file(1000, 61, f1) ?: cli_set(&e, "generated 1000", f1, 1000, false);
	unlink(f1);
	snprintf(cb, sizeof(cb), "%s/classbench/acl1_100k.rules.gz", data);
	if (!ret && access(cb, R_OK))
		say("%-28s skipped: no ClassBench data in %s\n", "acl1_100k", data);
	else if (!ret)
		ret = cli_set(&e, "acl1_100k", cb, 99812, false);
	snprintf(cb, sizeof(cb), "%s/routes/ipv4.txt.gz", data);
	if (!ret && access(cb, R_OK)) {
		say("%-28s skipped: no BGP table in %s\n", "bgp ipv4 100K", data);
	} else if (!ret) {
		ret = routes_head(cb, 100000, f4) ?: lpm_set(&e, "bgp ipv4 100K", f4, 100000);
		unlink(f4);
	}
	if (!ret && full) {
		ret = gen_file(1000000, 63, f3) ?: cli_set(&e, "generated 1M", f3, 1000000, true);
		unlink(f3);
	}
	rmdir(e.dir);
	return ret;
}
