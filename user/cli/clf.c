// SPDX-License-Identifier: MIT
/* clf.c: wcard create, destroy, rules and rule: classifiers pinned on bpffs; for main.c. */
#include <stdio.h>
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"

int clf_create(struct cli *c)
{
	/* No --layout: the rule file's format picks (wcard_rules_load), inet without one. */
	const struct wcard_layout *l = c->layout ? wcard_layout_builtin(c->layout) : NULL;
	char path[4096], err[2 * 4096 + ERRLEN] = ""; /* room for the paths it names */
	struct wcard_clf_opts co = { 0 };
	struct wcard_clf *clf = NULL;
	enum wcard_rule_fmt fmt;
	struct wcard_ruleset rs;
	int ret = 0;

	wcard_ruleset_init(&rs, l ? l : c->argc > 1 ? NULL : wcard_layout_inet());
	if (pin_path(c, c->argv[0], path, sizeof(path)))
		return 2;
	if (c->layout && !l) {
		fprintf(stderr,
			"wcard create: unknown --layout '%s' (inet, ipv4-5tuple, ipv6-5tuple)\n",
			c->layout);
		return 2;
	}
	if (parse_format(c->format, &fmt)) {
		fprintf(stderr, "wcard create: unknown --format '%s'\n", c->format);
		return 2;
	}
	if (c->argc > 1) {
		progress_start("parsing %s", c->argv[1]);
		ret = wcard_rules_load(c->argv[1], fmt, l, &rs, err, sizeof(err));
	}
	if (!ret)
		ret = clf_opts(c, &rs, &co, err, sizeof(err));
	if (!ret && c->max_rules) {
		co.max_rules = (__u32)c->max_rules;
		if (rs.n > co.max_rules) {
			snprintf(err, sizeof(err), "%s: %zu rules exceed --max-rules %lu", c->argv[1],
				 rs.n, c->max_rules);
			ret = -E2BIG;
		}
	}
	co.default_action = c->dflt;
	co.nonip_action = c->nonip;
	if (!ret)
		ret = pin_new(c, path, "wcard destroy", err, sizeof(err));
	if (!ret) {
		progress_phase("creating the classifier (%zu rules)", rs.n);
		ret = wcard_clf_create(&co, &clf, err, sizeof(err));
	}
	if (!ret && rs.n)
		ret = wcard_clf_load(clf, &rs, err, sizeof(err));
	/* Pinned last: a classifier that is there is complete. */
	if (!ret)
		ret = wcard_clf_pin(clf, path, err, sizeof(err));
	progress_end();
	if (ret)
		fprintf(stderr, "wcard create: %s\n", *err ? err : strerror(-ret));
	else
		fprintf(stderr, "wcard: %s created (%s, %zu rules, max %u, %s)\n", path,
			rs.layout->name, rs.n, co.max_rules, clf_algo(clf));
	wcard_clf_destroy(clf);
	free((void *)co.pool);
	wcard_ruleset_free(&rs);
	return ret ? 1 : 0;
}

/* -EBUSY (with a message) if the classifier at path is attached to an interface here. */
static int clf_attached_check(struct cli *c, const char *path)
{
	struct if_nameindex *ifs, *i;
	__u32 id, prog;
	int ret = 0, a;

	xdp_quiet(c);
	ret = config_map_id(path, &id);
	if (ret == -ENOENT)
		return 0; /* not a classifier: destroy says so */
	if (ret) {
		fprintf(stderr, "wcard destroy: %s: %s; nothing destroyed\n", path, strerror(-ret));
		return ret;
	}
	prog = pinned_prog_id(path);
	ifs = if_nameindex();
	if (!ifs) {
		ret = -errno;
		fprintf(stderr, "wcard destroy: listing interfaces: %s; nothing destroyed\n",
			strerror(-ret));
		return ret;
	}
	for (i = ifs; i->if_index && !ret; i++) {
		a = attached_to(i->if_index, id, prog);
		if (a > 0) {
			fprintf(stderr, "wcard destroy: %s is attached to %s (wcard detach %s %s)\n",
				c->argv[0], i->if_name, c->argv[0], i->if_name);
			ret = -EBUSY;
		} else if (a < 0) {
			/* Fail closed: never unpin what may still run on an interface. */
			fprintf(stderr, "wcard destroy: cannot tell whether %s is attached to %s, "
					"which runs another XDP program: %s (inspecting it needs "
					"CAP_SYS_ADMIN); nothing destroyed\n",
				c->argv[0], i->if_name, strerror(-a));
			ret = a;
		}
	}
	if_freenameindex(ifs);
	return ret;
}

int clf_destroy(struct cli *c)
{
	char path[4096];
	int ret, lock;

	if (pin_path(c, c->argv[0], path, sizeof(path)))
		return 2;
	lock = pin_lock(path, false);
	if (lock < 0) {
		fprintf(stderr, "wcard destroy: %s: %s\n", path, strerror(-lock));
		return 1;
	}
	ret = clf_attached_check(c, path);
	if (!ret) {
		ret = wcard_clf_unpin(path);
		if (ret)
			fprintf(stderr, "wcard destroy: %s: %s\n", path, strerror(-ret));
	}
	close(lock);
	return ret ? 1 : 0;
}

int rules_load(struct cli *c)
{
	char path[4096], err[4096 + ERRLEN] = "", why[ERRLEN]; /* room for the path it names */
	struct wcard_clf_opts co = { 0 };
	struct wcard_clf *clf = NULL;
	enum wcard_rule_fmt fmt;
	struct wcard_ruleset rs;
	int ret, lock = -1;

	wcard_ruleset_init(&rs, NULL);
	if (pin_path(c, c->argv[0], path, sizeof(path)))
		return 2;
	if (parse_format(c->format, &fmt)) {
		fprintf(stderr, "wcard rules: unknown --format '%s'\n", c->format);
		return 2;
	}
	/* Parse everything first: a bad line changes nothing. */
	progress_start("parsing %s", c->argv[1]);
	ret = wcard_rules_load(c->argv[1], fmt, NULL, &rs, err, sizeof(err));
	if (!ret)
		ret = clf_opts(c, &rs, &co, err, sizeof(err));
	if (ret) {
		progress_end();
		fprintf(stderr, "wcard rules load: %s\n", err);
		goto out;
	}
	progress_phase("opening %s", path);
	ret = clf_pinned(c, "rules load", &co, &clf, &lock);
	if (!ret) {
		progress_phase("loading %zu rules", rs.n);
		/* The file's rules in the classifier's layout (ClassBench into inet, say). */
		ret = wcard_ruleset_convert(&rs, wcard_clf_layout(clf), why, sizeof(why));
		if (ret)
			snprintf(err, sizeof(err), "%s: %s", c->argv[1], why);
		else
			ret = wcard_clf_load(clf, &rs, err, sizeof(err));
		progress_end();
		if (ret)
			fprintf(stderr, "wcard rules load: %s\n", *err ? err : strerror(-ret));
		else
			fprintf(stderr, "wcard rules: %zu rules loaded into %s (%s)\n", rs.n, path,
				clf_algo(clf));
	}
	progress_end();
out:
	clf_release(clf, lock);
	free((void *)co.pool);
	wcard_ruleset_free(&rs);
	return ret ? 1 : 0;
}

/*
 * rules apply NAME FILE|-: a batch of changes, every line checked before any
 * is made (wcard_clf_apply), online or --atomic.
 */
int rules_apply(struct cli *c)
{
	static const char *const ops[] = { "", "add", "del", "update" };
	char path[4096], err[4096 + ERRLEN] = "";
	const struct wcard_clf_opts co = { 0 };
	size_t i, n[4] = { 0 };
	struct wcard_clf *clf = NULL;
	struct wcard_batch b = { 0 };
	__u32 *ids = NULL;
	int ret, lock = -1;

	if (pin_path(c, c->argv[0], path, sizeof(path)))
		return 2;
	ret = clf_pinned(c, "rules apply", &co, &clf, &lock);
	if (ret)
		goto out;
	ret = wcard_batch_load(c->argv[1], wcard_clf_layout(clf), &b, err, sizeof(err));
	if (!ret) {
		ids = calloc(b.n ? b.n : 1, sizeof(*ids));
		ret = ids ? wcard_clf_apply(clf, &b, c->atomic ? WCARD_APPLY_ATOMIC : 0, ids, err,
					    sizeof(err)) :
			    -ENOMEM;
	}
	if (ret) {
		fprintf(stderr, "wcard rules apply: %s\n", *err ? err : strerror(-ret));
		goto out;
	}
	if (c->json)
		printf("{\"atomic\":%s,\"changes\":[", c->atomic ? "true" : "false");
	for (i = 0; i < b.n; i++) {
		const struct wcard_change *ch = &b.c[i];

		n[ch->op]++;
		if (c->json)
			printf("%s{\"line\":%u,\"op\":\"%s\",\"id\":%u}", i ? "," : "", ch->line,
			       ops[ch->op], ids[i]);
		else if (ch->op == WCARD_CHANGE_ADD)
			printf("%u\n", ids[i]);
	}
	if (c->json)
		printf("]}\n");
	if (fflush(stdout))
		ret = -errno;
	fprintf(stderr, "wcard rules: %zu changes applied to %s (%s): %zu added, %zu deleted, %zu "
			"updated\n",
		b.n, path, c->atomic ? "atomic" : "online", n[WCARD_CHANGE_ADD], n[WCARD_CHANGE_DEL],
		n[WCARD_CHANGE_UPDATE]);
out:
	clf_release(clf, lock);
	wcard_batch_free(&b);
	free(ids);
	return ret ? 1 : 0;
}

/* What rules_print passes down to each rule. */
struct print_ctx {
	const struct cli *c;
	const struct wcard_layout *l;
	const struct wc_counter *hits; /* by id, or NULL */
	size_t nhits, n;
};

/* v right-aligned in width w at p (the listing's columns, without a printf a number). */
static char *put_num(char *p, unsigned long long v, int w)
{
	char t[24];
	int n = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (w-- > n)
		*p++ = ' ';
	while (n)
		*p++ = t[--n];
	return p;
}

static int print_rule(const struct wcard_rule *r, void *arg)
{
	struct print_ctx *x = arg;
	struct wc_counter cnt = { 0 };
	char line[1024];
	size_t len;

	if (x->hits && r->id < x->nhits)
		cnt = x->hits[r->id];
	len = (size_t)wcard_rule_format(x->l, r, line, sizeof(line));
	len = len < sizeof(line) ? len : sizeof(line) - 1;
	line[len] = '\n';
	if (x->c->json) {
		printf("%s{\"id\":%u,\"prio\":%u,", x->n ? "," : "", r->id, r->prio);
		if (x->hits)
			printf("\"packets\":%llu,\"bytes\":%llu,", (unsigned long long)cnt.packets,
			       (unsigned long long)cnt.bytes);
		printf("\"rule\":");
		line[len] = 0;
		json_str(line);
		putchar('}');
	} else if (x->hits) {
		/* "%8u %10u %12llu %14llu  %s\n", by hand: 100K rules print in a blink. */
		char head[80], *p = head;

		p = put_num(p, r->id, 8);
		*p++ = ' ';
		p = put_num(p, r->prio, 10);
		*p++ = ' ';
		p = put_num(p, cnt.packets, 12);
		*p++ = ' ';
		p = put_num(p, cnt.bytes, 14);
		*p++ = ' ';
		*p++ = ' ';
		fwrite(head, 1, p - head, stdout);
		fwrite(line, 1, len + 1, stdout);
	} else {
		fwrite(line, 1, len + 1, stdout);
	}
	x->n++;
	return 0;
}

/*
 * The rules best first: the human syntax (dump: 'rules load' takes it back),
 * or with ids and hit counters (list). Read-only: the classifier is opened
 * without writing, the rules streamed from the maps, the counters read in
 * one pass.
 */
static int rules_print(struct cli *c, bool counters)
{
	const char *cmd = counters ? "rules list" : "rules dump";
	const struct wcard_clf_opts o = { .read_only = true };
	struct print_ctx x = { .c = c };
	struct wc_counter miss = { 0 }, *hits = NULL;
	struct wcard_clf *clf = NULL;
	static char buf[1 << 20];
	int ret, lock = -1;

	ret = clf_pinned(c, cmd, &o, &clf, &lock);
	if (ret)
		goto out;
	/* Into a pipe or file, in 1 MiB writes: 100K rules are 13 MB, 3000 writes of 4 KiB. */
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, buf, _IOFBF, sizeof(buf));
	x.l = wcard_clf_layout(clf);
	if (counters) {
		x.nhits = wcard_clf_id_bound(clf);
		hits = calloc(x.nhits ? x.nhits : 1, sizeof(*hits));
		ret = hits ? wcard_clf_hits(clf, hits, x.nhits, NULL, &miss) : -ENOMEM;
		/* A program without counters: the rules alone. */
		if (!ret)
			x.hits = hits;
		else if (ret == -ENOENT)
			ret = 0;
		if (ret) {
			fprintf(stderr, "wcard %s: reading counters: %s\n", cmd, strerror(-ret));
			goto out;
		}
		counters = x.hits;
	}
	if (c->json)
		printf("{\"layout\":\"%s\",\"rules\":[", x.l->name);
	else if (counters)
		printf("%8s %10s %12s %14s  %s\n", "id", "prio", "packets", "bytes", "rule");
	ret = wcard_clf_rules_each(clf, print_rule, &x);
	if (ret) {
		fprintf(stderr, "wcard %s: %s\n", cmd, strerror(-ret));
		goto out;
	}
	if (counters) {
		if (c->json)
			printf("],\"no_match\":{\"packets\":%llu,\"bytes\":%llu}}\n",
			       (unsigned long long)miss.packets, (unsigned long long)miss.bytes);
		else
			printf("%8s %10s %12llu %14llu  (no rule matched)\n", "-", "-",
			       (unsigned long long)miss.packets, (unsigned long long)miss.bytes);
	} else if (c->json) {
		printf("]}\n");
	}
	if (fflush(stdout))
		ret = -errno;
out:
	free(hits);
	clf_release(clf, lock);
	return ret ? 1 : 0;
}

int rules_dump(struct cli *c)
{
	return rules_print(c, false);
}

int rules_list(struct cli *c)
{
	return rules_print(c, true);
}

/* Arguments from..argc joined by spaces into buf. */
static int join_args(const struct cli *c, int from, char *buf, size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = 0;
	for (i = from; i < c->argc; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i > from ? " " : "", c->argv[i]);

		if (n < 0 || (size_t)n >= len - off)
			return -E2BIG;
		off += n;
	}
	return 0;
}

/*
 * Does word w stand alone among the arguments from argv[from]? A rule may
 * come as one quoted argument ("src 10.0.0.0/8 prio 3 drop") or as many.
 */
static bool has_word(const struct cli *c, int from, const char *w)
{
	size_t n = strlen(w);
	const char *a;
	int i;

	for (i = from; i < c->argc; i++)
		for (a = strstr(c->argv[i], w); a; a = strstr(a + 1, w))
			if ((a == c->argv[i] || a[-1] == ' ' || a[-1] == '\t' || a[-1] == ',') &&
			    (!a[n] || a[n] == ' ' || a[n] == '\t' || a[n] == ','))
				return true;
	return false;
}

/* A rule given as arguments from argv[from] (then suffix), in the classifier's layout. */
static int arg_rule(struct cli *c, const char *cmd, int from, const char *suffix,
		    const struct wcard_layout *l, struct wcard_rule *r)
{
	char text[2048], err[ERRLEN] = "";
	struct wcard_ruleset rs;
	int ret;

	wcard_ruleset_init(&rs, l);
	ret = join_args(c, from, text, sizeof(text));
	if (!ret && strlen(text) + strlen(suffix) + 1 < sizeof(text))
		strcat(strcat(text, " "), suffix);
	else if (!ret)
		ret = -E2BIG;
	if (ret) {
		fprintf(stderr, "wcard %s: rule text too long\n", cmd);
		return ret;
	}
	ret = wcard_rules_parse("argument", text, WCARD_FMT_WCARD, l, &rs, err, sizeof(err));
	if (!ret && rs.n != 1) {
		snprintf(err, sizeof(err), "argument: expected one rule");
		ret = -EINVAL;
	}
	if (ret)
		fprintf(stderr, "wcard %s: %s\n", cmd, err);
	else
		*r = rs.rules[0];
	wcard_ruleset_free(&rs);
	return ret;
}

static int parse_id(const char *cmd, const char *s, __u32 *id)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v >= WC_ID_MOVED) {
		fprintf(stderr, "wcard %s: '%s' is not a rule id\n", cmd, s);
		return -EINVAL;
	}
	*id = (__u32)v;
	return 0;
}

int rule_add(struct cli *c)
{
	const struct wcard_clf_opts o = { 0 };
	char err[ERRLEN] = "";
	struct wcard_clf *clf = NULL;
	struct wcard_rule r;
	int ret, lock = -1;
	__u32 id, worst;

	ret = clf_pinned(c, "rule add", &o, &clf, &lock);
	if (!ret)
		ret = arg_rule(c, "rule add", 1, "", wcard_clf_layout(clf), &r);
	if (ret)
		goto out;
	/* Without a prio the rule goes last: after the worst rule there is. */
	if (!has_word(c, 1, "prio"))
		r.prio = wcard_clf_worst_prio(clf, &worst) ? 0 :
			 worst < UINT32_MAX ? worst + 1 : UINT32_MAX;
	ret = wcard_clf_insert(clf, &r, &id, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "wcard rule add: %s\n", *err ? err : strerror(-ret));
		goto out;
	}
	if (c->json)
		printf("{\"id\":%u,\"prio\":%u}\n", id, r.prio);
	else
		printf("%u\n", id);
	if (fflush(stdout))
		ret = -errno;
out:
	clf_release(clf, lock);
	return ret ? 1 : 0;
}

int rule_del(struct cli *c)
{
	const struct wcard_clf_opts o = { 0 };
	char err[ERRLEN] = "";
	struct wcard_clf *clf = NULL;
	struct wcard_rule r;
	__u32 *ids;
	int ret = 0, lock = -1, i, n = c->argc - 1;

	ids = calloc(n, sizeof(*ids));
	if (!ids)
		return 1;
	for (i = 0; i < n && !ret; i++)
		ret = parse_id("rule del", c->argv[i + 1], &ids[i]);
	if (ret) {
		free(ids);
		return 2;
	}
	ret = clf_pinned(c, "rule del", &o, &clf, &lock);
	/* Every id must name a live rule before any is deleted: all or nothing. */
	for (i = 0; i < n && !ret; i++) {
		if (wcard_clf_rule(clf, ids[i], &r)) {
			fprintf(stderr, "wcard rule del: no rule with id %u\n", ids[i]);
			ret = -ENOENT;
		}
	}
	for (i = 0; i < n && !ret; i++) {
		ret = wcard_clf_delete(clf, ids[i], err, sizeof(err));
		if (ret == -ENOENT && i) /* the same id twice */
			ret = 0;
		else if (ret)
			fprintf(stderr, "wcard rule del: %u: %s\n", ids[i],
				*err ? err : strerror(-ret));
	}
	clf_release(clf, lock);
	free(ids);
	return ret ? 1 : 0;
}

/*
 * rule update NAME ID [prio N] [ACTION]: the words of a rule line, without
 * fields. The id changes when the priority does (the rule is re-inserted).
 */
int rule_update(struct cli *c)
{
	static const char *const actions[] = { "pass", "drop", "redirect", "value" };
	const struct wcard_clf_opts o = { 0 };
	const struct wcard_layout *l;
	char err[ERRLEN] = "";
	struct wcard_clf *clf = NULL;
	struct wcard_rule r, any, cur;
	bool has_action = false;
	int ret, lock = -1, i;
	unsigned int f;
	__u32 id, nid;

	if (parse_id("rule update", c->argv[1], &id))
		return 2;
	for (i = 0; i < 4; i++)
		has_action |= has_word(c, 2, actions[i]);
	if (!has_action && !has_word(c, 2, "prio")) {
		fprintf(stderr, "wcard rule update: nothing to change (prio N, or an action)\n");
		return 2;
	}
	ret = clf_pinned(c, "rule update", &o, &clf, &lock);
	if (ret)
		goto out;
	l = wcard_clf_layout(clf);
	if (wcard_clf_rule(clf, id, &cur)) {
		fprintf(stderr, "wcard rule update: no rule with id %u\n", id);
		ret = -ENOENT;
		goto out;
	}
	/* Parsed as a rule line; a missing action keeps the rule's value. */
	ret = arg_rule(c, "rule update", 2, has_action ? "" : "pass", l, &r);
	if (ret)
		goto out;
	wcard_rule_any(l, &any);
	for (f = 0; f < l->nfields; f++) {
		if (memcmp(&r.f[f], &any.f[f], sizeof(r.f[f]))) {
			fprintf(stderr, "wcard rule update: only prio and the action change; to "
					"change fields, delete the rule and add a new one\n");
			ret = -EINVAL;
			goto out;
		}
	}
	ret = wcard_clf_update(clf, id, has_word(c, 2, "prio") ? r.prio : cur.prio,
			       has_action ? r.value : cur.value, &nid, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "wcard rule update: %s\n", *err ? err : strerror(-ret));
		goto out;
	}
	if (c->json)
		printf("{\"id\":%u}\n", nid);
	else
		printf("%u\n", nid);
	if (fflush(stdout))
		ret = -errno;
out:
	clf_release(clf, lock);
	return ret ? 1 : 0;
}
