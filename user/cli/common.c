// SPDX-License-Identifier: MIT
/* common.c: what the command files share: pins and locks, options, output; CLI only. */
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <zlib.h>
#include "cli.h"

/* ---- values of the command line ----------------------------------------- */

int parse_format(const char *s, enum wcard_rule_fmt *fmt)
{
	if (!s || !strcmp(s, "auto"))
		*fmt = WCARD_FMT_AUTO;
	else if (!strcmp(s, "classbench"))
		*fmt = WCARD_FMT_CLASSBENCH;
	else if (!strcmp(s, "wcard"))
		*fmt = WCARD_FMT_WCARD;
	else
		return -EINVAL;
	return 0;
}

const char *algo_name(enum wc_algo a)
{
	return a == WC_ALGO_TM ? "tm" : a == WC_ALGO_STM ? "static" : a == WC_ALGO_LPM ? "lpm" : "bf";
}

const char *clf_algo(const struct wcard_clf *clf)
{
	struct wcard_stats *st = calloc(1, sizeof(*st));
	const char *name = NULL, *n;
	unsigned int p;

	if (!st)
		return algo_name(wcard_clf_algo(clf));
	for (p = 0; !wcard_clf_part_stats(clf, p, st); p++) {
		n = algo_name(st->algo);
		/* A part without rules runs no algorithm worth naming. */
		if (!st->rules && (p || st->parts > 1))
			continue;
		if (name && strcmp(name, n)) {
			name = "mixed";
			break;
		}
		name = n;
	}
	free(st);
	return name ? name : algo_name(wcard_clf_algo(clf));
}

/* Classifier options from the command line: algorithm, collision limit, pool. */
int clf_opts(const struct cli *c, struct wcard_ruleset *rs, struct wcard_clf_opts *co,
	     char *err, size_t errlen)
{
	const char *a = c->algo ? c->algo : "auto";
	__u8(*pool)[WC_MAX_FIELDS] = NULL;
	unsigned int npool = 0;
	int ret;

	memset(co, 0, sizeof(*co));
	co->layout = rs->layout;
	/* Room to grow: the rules given plus a quarter, at least the default. */
	co->max_rules = rs->n + rs->n / 4 > WC_DEFAULT_MAX_RULES ? rs->n + rs->n / 4 :
								   WC_DEFAULT_MAX_RULES;
	if (co->max_rules > WC_MAX_RULES)
		co->max_rules = rs->n > WC_MAX_RULES ? rs->n : WC_MAX_RULES;
	co->collide = c->collide;
	if (!strcmp(a, "auto"))
		co->algo = 0;
	else if (!strcmp(a, "bf"))
		co->algo = WC_ALGO_BF;
	else if (!strcmp(a, "tm"))
		co->algo = WC_ALGO_TM;
	else if (!strcmp(a, "static"))
		co->algo = WC_ALGO_STM;
	else if (!strcmp(a, "lpm"))
		co->algo = WC_ALGO_LPM;
	else {
		snprintf(err, errlen, "unknown --algo '%s' (auto, tm, static, lpm, bf%s)", a,
			 c->argc == 2 ? ", ref" : "");
		return -EINVAL;
	}
	if (c->pool && co->algo != WC_ALGO_STM) {
		snprintf(err, errlen, "--pool needs --algo static");
		return -EINVAL;
	}
	/*
	 * A static pool is one family's: rules of one family (and of both) read
	 * as inet become that family's layout's.
	 */
	if (co->algo == WC_ALGO_STM && rs->layout->id == WC_LAYOUT_INET &&
	    wcard_ruleset_convert(rs, wcard_layout_ipv4(), NULL, 0) &&
	    wcard_ruleset_convert(rs, wcard_layout_ipv6(), NULL, 0)) {
		snprintf(err, errlen, "--algo static takes the rules of one family, and these are "
				      "IPv4 and IPv6 rules");
		return -EINVAL;
	}
	co->layout = rs->layout;
	if (co->algo == WC_ALGO_STM) {
		/* Default pool: address lengths in steps of 8, most specific first. */
		ret = wcard_pool_parse(rs->layout,
				       c->pool ? c->pool :
						 rs->layout->id == WC_LAYOUT_IPV6_5T ?
						 "src=0,16,32,48,64,128 dst=0,16,32,48,64,128" :
						 "src=0,8,16,24,32 dst=0,8,16,24,32",
				       &pool, &npool, err, errlen);
		if (ret)
			return ret;
		co->pool = (const __u8(*)[WC_MAX_FIELDS])pool;
		co->npool = npool;
	}
	return 0;
}

/* ---- pinned objects: paths, locks, classifiers -------------------------- */

/* DIR/NAME of a pinned object, or an error for a NAME that is not one path component. */
int pin_path(const struct cli *c, const char *name, char *buf, size_t len)
{
	const char *dir = c->pin_dir ? c->pin_dir : PIN_DIR_DEFAULT;

	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		fprintf(stderr, "wcard: bad name '%s' (one path component, no '/')\n", name);
		return -EINVAL;
	}
	if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len) {
		fprintf(stderr, "wcard: pin path too long\n");
		return -ENAMETOOLONG;
	}
	return 0;
}

int pin_new(const struct cli *c, const char *path, const char *destroy, char *err, size_t errlen)
{
	const char *dir = c->pin_dir ? c->pin_dir : PIN_DIR_DEFAULT;
	int e;

	/* bpffs mounted at /sys/fs/bpf if nothing is: the one use of CAP_SYS_ADMIN here. */
	if (!c->caps_admin)
		caps_raise(CAP_SYS_ADMIN);
	e = wcard_bpffs_prepare(dir, err, errlen);
	if (!c->caps_admin)
		caps_drop(CAP_SYS_ADMIN);
	if (e)
		return e;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		e = errno;
		snprintf(err, errlen, "%s: %s%s", dir, strerror(e),
			 e == EACCES || e == EPERM ?
				 " (needs root, or CAP_BPF and write access to bpffs)" : "");
		return -e;
	}
	if (!access(path, F_OK)) {
		snprintf(err, errlen, "%s: already exists (%s %s)", path, destroy, c->argv[0]);
		return -EEXIST;
	}
	return 0;
}

/* Times pin_lock starts over when the object it waited for was replaced meanwhile. */
#define PIN_LOCK_TRIES 8

int pin_lock(const char *path, bool shared)
{
	struct stat held, now;
	int fd, ret, i;

	for (i = 0; i < PIN_LOCK_TRIES; i++) {
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (flock(fd, shared ? LOCK_SH : LOCK_EX) || fstat(fd, &held)) {
			ret = -errno;
			close(fd);
			return ret;
		}
		/*
		 * While we waited, the holder may have destroyed the object and
		 * created a new one of the same name: our lock is then on the old,
		 * unlinked directory, and the new one is not ours. The lock counts
		 * only if the path still names the directory it is on (which,
		 * held open, cannot pass its inode number on).
		 */
		if (stat(path, &now)) {
			ret = -errno;
			close(fd);
			return ret;
		}
		if (held.st_dev == now.st_dev && held.st_ino == now.st_ino)
			return fd;
		close(fd);
	}
	fprintf(stderr,
		"wcard: %s: destroyed and created again %d times while waiting for its "
		"lock; try again\n",
		path, PIN_LOCK_TRIES);
	return -EAGAIN;
}

/*
 * Open the classifier pinned as NAME (argv[0]) for a command. Every command
 * holds the lock on its directory to the end: opening rebuilds a generation
 * from the maps, so even readers must not overlap a writer.
 */
int clf_pinned(struct cli *c, const char *cmd, const struct wcard_clf_opts *o,
	       struct wcard_clf **clf, int *lock)
{
	char path[4096], err[4096 + ERRLEN] = "";
	int ret;

	*clf = NULL;
	*lock = -1;
	ret = pin_path(c, c->argv[0], path, sizeof(path));
	if (ret)
		return ret;
	*lock = pin_lock(path, o && o->read_only);
	if (*lock < 0) {
		ret = *lock;
		*lock = -1;
		fprintf(stderr, "wcard %s: %s: %s%s\n", cmd, path, strerror(-ret),
			ret == -ENOENT ? " (no classifier of that name; wcard create NAME)" :
			ret == -EACCES || ret == -EPERM ? " (needs root, or CAP_BPF and access "
							  "to bpffs)" : "");
		return ret;
	}
	ret = wcard_clf_open_pinned(path, o, clf, err, sizeof(err));
	if (ret)
		fprintf(stderr, "wcard %s: %s\n", cmd, *err ? err : strerror(-ret));
	return ret;
}

void clf_release(struct wcard_clf *clf, int lock)
{
	wcard_clf_destroy(clf);
	if (lock >= 0)
		close(lock);
}

/* ---- input and output --------------------------------------------------- */

int addrs_load(const char *path, struct addr_in **out, size_t *n, char *err, size_t errlen)
{
	gzFile f = gzopen(path, "rb");
	struct addr_in *a = NULL;
	size_t cap = 0, cnt = 0;
	unsigned int line = 0;
	char buf[512];
	int ret = 0;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : ENOMEM));
		return -ENOENT;
	}
	while (gzgets(f, buf, sizeof(buf))) {
		char *p = buf, *e;
		__u8 bin[16];
		int i, v6;

		line++;
		while (*p == ' ' || *p == '\t')
			p++;
		for (e = p; *e && *e != '\n' && *e != '\r' && *e != ' ' && *e != '\t' && *e != '#'; e++)
			;
		if (e == p) {
			if (*p && *p != '#' && *p != '\n' && *p != '\r') {
				ret = -EINVAL;
				snprintf(err, errlen, "%s:%u: bad line", path, line);
				break;
			}
			continue;
		}
		if (cnt == cap) {
			struct addr_in *na = realloc(a, (cap = cap ? 2 * cap : 1024) * sizeof(*a));

			if (!na) {
				ret = -ENOMEM;
				break;
			}
			a = na;
		}
		if ((size_t)(e - p) >= sizeof(a[cnt].text)) {
			ret = -EINVAL;
			snprintf(err, errlen, "%s:%u: bad address '%.*s'", path, line, (int)(e - p), p);
			break;
		}
		memcpy(a[cnt].text, p, e - p);
		a[cnt].text[e - p] = 0;
		v6 = strchr(a[cnt].text, ':') != NULL;
		if (inet_pton(v6 ? AF_INET6 : AF_INET, a[cnt].text, bin) != 1) {
			ret = -EINVAL;
			snprintf(err, errlen, "%s:%u: bad address '%s'", path, line, a[cnt].text);
			break;
		}
		p = e;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p && *p != '#' && *p != '\n' && *p != '\r') {
			ret = -EINVAL;
			snprintf(err, errlen, "%s:%u: trailing garbage after the address", path, line);
			break;
		}
		a[cnt].family = v6 ? 6 : 4;
		a[cnt].addr = 0;
		for (i = 0; i < (v6 ? 16 : 4); i++)
			a[cnt].addr = (a[cnt].addr << 8) | bin[i];
		cnt++;
	}
	gzclose(f);
	if (ret) {
		free(a);
		return ret;
	}
	*out = a;
	*n = cnt;
	return 0;
}
void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

/* ---- progress on a TTY -------------------------------------------------- */

/*
 * A command that runs longer than a second says on stderr what it is doing,
 * once a second, when stderr is a terminal. A thread, not SIGALRM: a signal
 * would interrupt the verifier (-EAGAIN) and other BPF system calls.
 */
static struct {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool running, stop, shown;
	char msg[256];
	struct timespec t0;
} prog = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void *progress_thread(void *arg)
{
	struct timespec t;

	pthread_mutex_lock(&prog.lock);
	clock_gettime(CLOCK_REALTIME, &t);
	while (!prog.stop) {
		t.tv_sec++;
		if (pthread_cond_timedwait(&prog.cond, &prog.lock, &t) == ETIMEDOUT && !prog.stop) {
			struct timespec now;

			clock_gettime(CLOCK_MONOTONIC, &now);
			/* Whole seconds since the start, rounded: a late tick still says 1s. */
			fprintf(stderr, "\rwcard: %s... %lds\033[K", prog.msg,
				(long)((now.tv_sec - prog.t0.tv_sec) * 1000 +
				       (now.tv_nsec - prog.t0.tv_nsec) / 1000000 + 500) / 1000);
			prog.shown = true;
		}
	}
	if (prog.shown)
		fprintf(stderr, "\r\033[K");
	pthread_mutex_unlock(&prog.lock);
	return arg;
}

static void progress_vset(const char *fmt, va_list ap)
{
	pthread_mutex_lock(&prog.lock);
	vsnprintf(prog.msg, sizeof(prog.msg), fmt, ap);
	pthread_mutex_unlock(&prog.lock);
}

void progress_start(const char *fmt, ...)
{
	va_list ap;

	if (prog.running || !isatty(STDERR_FILENO))
		return;
	va_start(ap, fmt);
	progress_vset(fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_MONOTONIC, &prog.t0);
	prog.stop = prog.shown = false;
	prog.running = !pthread_create(&prog.thread, NULL, progress_thread, NULL);
}

void progress_phase(const char *fmt, ...)
{
	va_list ap;

	if (!prog.running)
		return;
	va_start(ap, fmt);
	progress_vset(fmt, ap);
	va_end(ap);
}

void progress_end(void)
{
	if (!prog.running)
		return;
	pthread_mutex_lock(&prog.lock);
	prog.stop = true;
	pthread_cond_signal(&prog.cond);
	pthread_mutex_unlock(&prog.lock);
	pthread_join(prog.thread, NULL);
	prog.running = false;
}
