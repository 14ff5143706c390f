// SPDX-License-Identifier: MIT
/* wcard.c: the wcard CLI, driven by one command/option table that also produces --help. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <zlib.h>
#include <wcard/wcard.h>

#define ERRLEN 512

/* ---- the command/option table ------------------------------------------- */

struct opt_spec {
	const char *name; /* long name */
	int key; /* short letter, or a value > 255 for long-only options */
	const char *arg; /* argument name, NULL for a flag */
	const char *help;
};

struct cli {
	bool verbose, json;
	const char *algo, *format, *dir, *pool, *v4, *pin_dir;
	unsigned long rules, packets, seed, collide, max_routes;
	int argc;
	char **argv;
};

/* A subcommand (wcard lpm SUB ...): its own arguments, the command's options. */
struct sub_spec {
	const char *name;
	const char *args;
	const char *summary;
	int (*run)(struct cli *c);
	int min_args, max_args; /* after the subcommand; max -1: no limit */
};

struct cmd_spec {
	const char *name;
	const char *args;
	const char *summary;
	int (*run)(struct cli *c);
	const int *opts; /* keys of the options it takes, 0-terminated */
	int min_args, max_args;
	const struct sub_spec *subs; /* NULL, or its subcommands (run dispatches) */
};

enum {
	O_ALGO = 256,
	O_FORMAT,
	O_DIR,
	O_RULES,
	O_PACKETS,
	O_SEED,
	O_COLLIDE,
	O_POOL,
	O_V4,
	O_PIN_DIR,
	O_MAX_ROUTES
};

#define PIN_DIR_DEFAULT "/sys/fs/bpf/wcard"

static const struct opt_spec opt_table[] = {
	{ "help", 'h', NULL, "show help for the command" },
	{ "verbose", 'v', NULL, "libbpf debug output and the verifier log on failure" },
	{ "json", 'j', NULL, "machine-readable output where the output is data" },
	{ "algo", O_ALGO, "ALGO",
	  "auto (default), tm (Tuple Merge), static (static Tuple Merge), lpm (longest-prefix "
	  "match, for rules on one address prefix only), bf (brute force), ref (userspace "
	  "reference, classify only)" },
	{ "collide", O_COLLIDE, "N", "Tuple Merge collision limit c (default 10)" },
	{ "pool", O_POOL, "SPEC",
	  "static pool: 'src=0,16,24,32 dst=0,16,32 dport=0,16' (product) or "
	  "'32,32,0,16,8,0;24,24,0,0,8,0' (list)" },
	{ "format", O_FORMAT, "FMT", "rule file format: auto, classbench or wcard" },
	{ "v4", O_V4, "ALGO",
	  "IPv4 LPM structure: dir24 (default; DIR-24-8, fastest, a fixed 64 MiB) or trie "
	  "(memory grows with the routes, a read more per lookup)" },
	{ "pin-dir", O_PIN_DIR, "DIR",
	  "bpffs directory of pinned objects (default " PIN_DIR_DEFAULT "); NAME is pinned "
	  "under DIR/NAME" },
	{ "max-routes", O_MAX_ROUTES, "N",
	  "route slots per family (default: the routes given plus a quarter, at least 1024 "
	  "more)" },
	{ "dir", O_DIR, "DIR", "directory for generated files" },
	{ "rules", O_RULES, "N", "number of rules to generate" },
	{ "packets", O_PACKETS, "N", "number of trace packets to generate" },
	{ "seed", O_SEED, "S", "random seed" },
	{ NULL, 0, NULL, NULL },
};

static int cmd_classify(struct cli *c);
static int cmd_stats(struct cli *c);
static int cmd_gen(struct cli *c);
static int cmd_demo(struct cli *c);
static int cmd_help(struct cli *c);
static int cmd_lpm(struct cli *c);
static int cmd_rules(struct cli *c);

static const int classify_opts[] = { O_ALGO, O_FORMAT, O_COLLIDE, O_POOL, 0 };
static const int stats_opts[] = { O_ALGO, O_FORMAT, O_COLLIDE, O_POOL, 'j', 0 };
static const int gen_opts[] = { O_RULES, O_PACKETS, O_SEED, 0 };
static const int demo_opts[] = { O_DIR, O_RULES, O_PACKETS, O_SEED, 'j', 0 };
static const int lpm_opts[] = { O_V4, O_PIN_DIR, O_MAX_ROUTES, 'j', 0 };

static const int rules_opts[] = { O_PIN_DIR, O_ALGO, O_FORMAT, O_COLLIDE, O_POOL, 'j', 0 };

static int rules_load(struct cli *c);
static int rules_dump(struct cli *c);

static const struct sub_spec rules_subs[] = {
	{ "load", "NAME RULES",
	  "replace every rule of the classifier pinned as NAME with RULES, atomically for "
	  "lookups; the maps of a program just loaded with 'bpftool prog load ... pinmaps "
	  "DIR/NAME' become a new classifier of RULES' layout",
	  rules_load, 2, 2 },
	{ "dump", "NAME",
	  "print the rules best first, one a line in the human syntax with its priority ('rules "
	  "load' takes it back); --json adds the ids lookups report",
	  rules_dump, 1, 1 },
	{ NULL, NULL, NULL, NULL, 0, 0 },
};

static int lpm_lookup(struct cli *c);
static int lpm_create(struct cli *c);
static int lpm_add(struct cli *c);
static int lpm_del(struct cli *c);
static int lpm_load(struct cli *c);
static int lpm_dump(struct cli *c);
static int lpm_get(struct cli *c);
static int lpm_destroy(struct cli *c);

static const struct sub_spec lpm_subs[] = {
	{ "lookup", "ROUTES ADDRS",
	  "for each address of ADDRS print 'ADDR PREFIX/LEN VALUE', or 'ADDR - -' on a miss; "
	  "ROUTES has one 'PREFIX/LEN [VALUE]' per line (VALUE defaults to the line's 0-based "
	  "index), IPv4 and IPv6 mixed",
	  lpm_lookup, 2, 2 },
	{ "create", "NAME [ROUTES]", "create an LPM pinned as NAME, with the routes of ROUTES",
	  lpm_create, 1, 2 },
	{ "add", "NAME PREFIX/LEN [VALUE]",
	  "add a route (VALUE 0 if absent), or change the value of an equal prefix", lpm_add, 2,
	  3 },
	{ "del", "NAME PREFIX/LEN", "delete a route", lpm_del, 2, 2 },
	{ "load", "NAME ROUTES",
	  "replace every route with ROUTES, atomically for lookups (nothing changes on error)",
	  lpm_load, 2, 2 },
	{ "dump", "NAME", "print the routes, one 'PREFIX/LEN VALUE' a line (load takes it back)",
	  lpm_dump, 1, 1 },
	{ "get", "NAME ADDR...", "longest match of each address, through BPF", lpm_get, 2, -1 },
	{ "destroy", "NAME", "unpin NAME (its maps go with the last user)", lpm_destroy, 1, 1 },
	{ NULL, NULL, NULL, NULL, 0, 0 },
};
static const int no_opts[] = { 0 };

static const struct cmd_spec cmd_table[] = {
	{ "classify", "RULES TRACE",
	  "classify a ClassBench trace through the XDP filter (BPF_PROG_TEST_RUN); prints the "
	  "0-based line in RULES of the best match, or -1, per trace line",
	  cmd_classify, classify_opts, 2, 2 },
	{ "stats", "RULES [TRACE]",
	  "load RULES into a classifier and show its tables, largest bucket and memory; with a "
	  "trace, also the average number of tables probed",
	  cmd_stats, stats_opts, 1, 2 },
	{ "gen", "RULES_OUT TRACE_OUT",
	  "generate an overlapping rule set (ClassBench format) and a trace drawn from it", cmd_gen,
	  gen_opts, 2, 2 },
	{ "demo", "", "generate rules and a trace, classify them in BPF, check against the reference",
	  cmd_demo, demo_opts, 0, 0 },
	{ "lpm", "SUBCOMMAND ARGS...",
	  "longest-prefix match in BPF, on a route file or on LPMs pinned under --pin-dir",
	  cmd_lpm, lpm_opts, 1, 1 << 20, lpm_subs },
	{ "rules", "SUBCOMMAND ARGS...", "rules of a classifier pinned under --pin-dir", cmd_rules,
	  rules_opts, 1, 1 << 20, rules_subs },
	{ "help", "[COMMAND]", "show help", cmd_help, no_opts, 0, 1 },
	{ NULL, NULL, NULL, NULL, NULL, 0, 0, NULL },
};

static bool cmd_takes(const struct cmd_spec *cmd, int key)
{
	const int *k;

	if (key == 'h' || key == 'v')
		return true;
	for (k = cmd->opts; *k; k++)
		if (*k == key)
			return true;
	return false;
}

static void print_opt(FILE *f, const struct opt_spec *o)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s%c%s--%s%s%s", o->key < 256 ? "-" : "",
		 o->key < 256 ? o->key : ' ', o->key < 256 ? ", " : "  ", o->name, o->arg ? " " : "",
		 o->arg ? o->arg : "");
	fprintf(f, "  %-24s %s\n", o->key < 256 ? buf : buf + 2, o->help);
}

static void usage(FILE *f, const struct cmd_spec *cmd)
{
	const struct cmd_spec *c;
	const struct opt_spec *o;

	if (cmd) {
		fprintf(f, "Usage: wcard %s [options] %s\n\n%s\n\nOptions:\n", cmd->name, cmd->args,
			cmd->summary);
		for (o = opt_table; o->name; o++)
			if (cmd_takes(cmd, o->key))
				print_opt(f, o);
		if (cmd->subs) {
			const struct sub_spec *sc;

			fprintf(f, "\nSubcommands:\n");
			for (sc = cmd->subs; sc->name; sc++)
				fprintf(f, "  %s %s %s\n      %s\n", cmd->name, sc->name, sc->args,
					sc->summary);
		}
		return;
	}
	fprintf(f, "Usage: wcard COMMAND [options] ARGS...\n\n"
		   "Multi-field packet classification in eBPF.\n\nCommands:\n");
	for (c = cmd_table; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->args);
	fprintf(f, "\nRun 'wcard help COMMAND' or 'wcard COMMAND --help' for details.\n");
}

static int parse_ulong(const char *opt, const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	if (errno || end == s || *end || *s == '-') {
		fprintf(stderr, "wcard: --%s: '%s' is not a number\n", opt, s);
		return -EINVAL;
	}
	return 0;
}

static int parse_args(const struct cmd_spec *cmd, int argc, char **argv, struct cli *c)
{
	struct option lopts[sizeof(opt_table) / sizeof(opt_table[0])];
	char sopts[64];
	const struct opt_spec *o;
	int n = 0, s = 0, key, ret;

	for (o = opt_table; o->name; o++) {
		if (!cmd_takes(cmd, o->key))
			continue;
		lopts[n++] = (struct option){ o->name, o->arg ? required_argument : no_argument,
					      NULL, o->key };
		if (o->key < 256) {
			sopts[s++] = (char)o->key;
			if (o->arg)
				sopts[s++] = ':';
		}
	}
	lopts[n] = (struct option){ 0 };
	sopts[s] = 0;
	optind = 1;
	opterr = 0;
	while ((key = getopt_long(argc, argv, sopts, lopts, NULL)) != -1) {
		ret = 0;
		switch (key) {
		case 'h':
			usage(stdout, cmd);
			exit(0);
		case 'v':
			c->verbose = true;
			break;
		case 'j':
			c->json = true;
			break;
		case O_ALGO:
			c->algo = optarg;
			break;
		case O_FORMAT:
			c->format = optarg;
			break;
		case O_DIR:
			c->dir = optarg;
			break;
		case O_RULES:
			ret = parse_ulong("rules", optarg, &c->rules);
			break;
		case O_PACKETS:
			ret = parse_ulong("packets", optarg, &c->packets);
			break;
		case O_SEED:
			ret = parse_ulong("seed", optarg, &c->seed);
			break;
		case O_COLLIDE:
			ret = parse_ulong("collide", optarg, &c->collide);
			if (!ret && (c->collide < 1 || c->collide > 1000000)) {
				fprintf(stderr, "wcard: --collide must be 1..1000000\n");
				ret = -EINVAL;
			}
			break;
		case O_POOL:
			c->pool = optarg;
			break;
		case O_PIN_DIR:
			c->pin_dir = optarg;
			break;
		case O_MAX_ROUTES:
			ret = parse_ulong("max-routes", optarg, &c->max_routes);
			if (!ret && (c->max_routes < 1 || c->max_routes > (1ul << 30))) {
				fprintf(stderr, "wcard: --max-routes must be 1..%lu\n", 1ul << 30);
				ret = -EINVAL;
			}
			break;
		case O_V4:
			c->v4 = optarg;
			if (strcmp(optarg, "dir24") && strcmp(optarg, "trie")) {
				fprintf(stderr, "wcard: --v4 must be dir24 or trie, not '%s'\n",
					optarg);
				ret = -EINVAL;
			}
			break;
		default:
			fprintf(stderr, "wcard %s: unknown or incomplete option '%s'\n", cmd->name,
				argv[optind - 1]);
			usage(stderr, cmd);
			return -EINVAL;
		}
		if (ret)
			return ret;
	}
	c->argc = argc - optind;
	c->argv = argv + optind;
	if (c->argc < cmd->min_args || c->argc > cmd->max_args) {
		fprintf(stderr, "wcard %s: expected %s\n", cmd->name,
			*cmd->args ? cmd->args : "no arguments");
		usage(stderr, cmd);
		return -EINVAL;
	}
	wcard_set_verbose(c->verbose);
	return 0;
}

/* ---- classification of a trace ------------------------------------------ */

struct trace_result {
	long *best; /* per packet: index in the rule set, or -1 */
	size_t matched;
	double ns_per_pkt; /* BPF: test-run duration per frame */
	enum wc_algo algo;
	unsigned int tables;
};

/* Classifier options from the command line: algorithm, collision limit, pool. */
static int clf_opts(const struct cli *c, const struct wcard_ruleset *rs, struct wcard_clf_opts *co,
		    char *err, size_t errlen)
{
	const char *a = c->algo ? c->algo : "auto";
	__u8(*pool)[WC_MAX_FIELDS] = NULL;
	unsigned int npool = 0;
	int ret;

	memset(co, 0, sizeof(*co));
	co->layout = rs->layout;
	co->max_rules = rs->n > WC_DEFAULT_MAX_RULES ? rs->n : WC_DEFAULT_MAX_RULES;
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

static int clf_open(const struct cli *c, const struct wcard_ruleset *rs, struct wcard_clf **clf,
		    char *err, size_t errlen)
{
	struct wcard_clf_opts co;
	int ret = clf_opts(c, rs, &co, err, errlen);

	if (!ret)
		ret = wcard_clf_create(&co, clf, err, errlen);
	if (!ret) {
		ret = wcard_clf_load(*clf, rs, err, errlen);
		if (ret) {
			wcard_clf_destroy(*clf);
			*clf = NULL;
		}
	}
	free((void *)co.pool);
	return ret;
}

static int classify_bpf(const struct cli *c, const struct wcard_ruleset *rs,
			const struct wcard_trace *tr, struct trace_result *res, __u32 *verified,
			char *err, size_t errlen)
{
	struct wcard_clf *clf = NULL;
	__u64 total_ns = 0;
	size_t i;
	int ret;

	ret = clf_open(c, rs, &clf, err, errlen);
	if (ret)
		return ret;
	res->algo = wcard_clf_algo(clf);
	res->tables = wcard_clf_ntables(clf);
	if (verified)
		*verified = wcard_clf_verified_insns(clf);
	for (i = 0; i < tr->n; i++) {
		__u8 frame[256];
		struct wc_xdp_meta meta;
		struct wc_pkt p;
		__u64 ns;
		int len;

		wcard_pkt_from_tuple(&tr->t[i], &p);
		len = wcard_frame_build(&p, NULL, frame, sizeof(frame));
		if (len < 0) {
			ret = len;
			snprintf(err, errlen, "trace packet %zu: building the frame: %s", i + 1,
				 strerror(-ret));
			goto out;
		}
		ret = wcard_clf_run_frame(clf, frame, len, &meta, NULL, &ns);
		if (ret) {
			snprintf(err, errlen, "trace packet %zu: BPF_PROG_TEST_RUN: %s", i + 1,
				 strerror(-ret));
			goto out;
		}
		total_ns += ns;
		if (meta.id == WC_ID_NONE) {
			res->best[i] = -1;
		} else if (meta.id >= rs->n) {
			ret = -EIO;
			snprintf(err, errlen, "trace packet %zu: BPF returned unknown rule id %u",
				 i + 1, meta.id);
			goto out;
		} else {
			res->best[i] = meta.id;
			res->matched++;
		}
	}
	res->ns_per_pkt = tr->n ? (double)total_ns / tr->n : 0;
out:
	wcard_clf_destroy(clf);
	return ret;
}

static void classify_ref(const struct wcard_ruleset *rs, const struct wcard_trace *tr,
			 struct trace_result *res)
{
	size_t i;

	for (i = 0; i < tr->n; i++) {
		struct wc_key k;

		wcard_key_from_tuple(&tr->t[i], &k);
		res->best[i] = wcard_ref_lookup(rs, &k);
		res->matched += res->best[i] >= 0;
	}
}

static int parse_format(const char *s, enum wcard_rule_fmt *fmt)
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

static int cmd_classify(struct cli *c)
{
	struct trace_result res = {};
	struct wcard_ruleset rs;
	struct wcard_trace tr = {};
	enum wcard_rule_fmt fmt;
	char err[ERRLEN] = "";
	bool ref = false;
	size_t i;
	int ret;

	if (c->algo && !strcmp(c->algo, "ref"))
		ref = true;
	if (parse_format(c->format, &fmt)) {
		fprintf(stderr, "wcard classify: unknown --format '%s'\n", c->format);
		return 2;
	}
	wcard_ruleset_init(&rs, wcard_layout_ipv4());
	ret = wcard_rules_load(c->argv[0], fmt, wcard_layout_ipv4(), &rs, err, sizeof(err));
	if (!ret)
		ret = wcard_trace_load(c->argv[1], &tr, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "wcard classify: %s\n", err);
		goto out;
	}
	res.best = calloc(tr.n ? tr.n : 1, sizeof(*res.best));
	if (!res.best) {
		ret = -ENOMEM;
		goto out;
	}
	if (ref) {
		classify_ref(&rs, &tr, &res);
	} else {
		ret = classify_bpf(c, &rs, &tr, &res, NULL, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "wcard classify: %s\n", err);
			goto out;
		}
	}
	for (i = 0; i < tr.n; i++)
		printf("%ld\n", res.best[i] < 0 ? -1L : (long)rs.rules[res.best[i]].line - 1);
	if (fflush(stdout)) {
		ret = -errno;
		goto out;
	}
	fprintf(stderr, "wcard classify: %zu rules, %zu packets, %zu matched", rs.n, tr.n,
		res.matched);
	if (!ref)
		fprintf(stderr, ", %.0f ns/packet in BPF (%s, one frame per test run)",
			res.ns_per_pkt, c->algo ? c->algo : "auto");
	fprintf(stderr, "\n");
out:
	free(res.best);
	wcard_ruleset_free(&rs);
	wcard_trace_free(&tr);
	return ret ? 1 : 0;
}

static const char *algo_name(enum wc_algo a)
{
	return a == WC_ALGO_TM ? "tm" : a == WC_ALGO_STM ? "static" : a == WC_ALGO_LPM ? "lpm" : "bf";
}

static int cmd_stats(struct cli *c)
{
	struct wcard_trace tr = {};
	struct wcard_stats *st = calloc(1, sizeof(*st));
	struct wcard_ruleset rs;
	struct wcard_clf *clf = NULL;
	enum wcard_rule_fmt fmt;
	char err[ERRLEN] = "";
	double probed = 0;
	size_t matched = 0, i;
	unsigned int t, f;
	int ret;

	wcard_ruleset_init(&rs, NULL);
	if (!st)
		return 1;
	if (parse_format(c->format, &fmt)) {
		fprintf(stderr, "wcard stats: unknown --format '%s'\n", c->format);
		free(st);
		return 2;
	}
	ret = wcard_rules_load(c->argv[0], fmt, NULL, &rs, err, sizeof(err));
	if (!ret && c->argc > 1)
		ret = wcard_trace_load(c->argv[1], &tr, err, sizeof(err));
	if (!ret)
		ret = clf_open(c, &rs, &clf, err, sizeof(err));
	if (!ret)
		ret = wcard_clf_stats(clf, st);
	if (ret) {
		fprintf(stderr, "wcard stats: %s\n", *err ? err : strerror(-ret));
		goto out;
	}
	for (i = 0; i < tr.n && st->ntables; i++) {
		struct wc_key k;
		unsigned int p = 0;

		wcard_key_from_tuple(&tr.t[i], &k);
		matched += wcard_clf_model_lookup(clf, &k, &p) >= 0;
		probed += p;
	}
	if (tr.n)
		probed /= tr.n;
	if (c->json) {
		printf("{\"algo\":\"%s\",\"rules\":%zu,\"tables\":%u,\"max_bucket\":%u,"
		       "\"used_bytes\":%zu,\"map_bytes\":%zu,\"verified_insns\":%u",
		       algo_name(st->algo), st->rules, st->ntables, st->max_bucket, st->used_bytes,
		       st->map_bytes, wcard_clf_verified_insns(clf));
		if (tr.n && st->ntables)
			printf(",\"trace_packets\":%zu,\"avg_tables_probed\":%.2f", tr.n, probed);
		printf(",\"table_list\":[");
		for (t = 0; t < st->ntables; t++) {
			const struct wcard_table_stats *ts = &st->tables[t];

			printf("%s{\"id\":%u,\"tuple\":[", t ? "," : "", ts->id);
			for (f = 0; f < rs.layout->nfields; f++)
				printf("%s%u", f ? "," : "", ts->len[f]);
			printf("],\"rules\":%u,\"max_bucket\":%u,\"slots\":%u,\"best_prio\":%u}",
			       ts->rules, ts->max_bucket, ts->slots, ts->best_prio);
		}
		printf("]}\n");
		goto out;
	}
	printf("algorithm     %s\n", algo_name(st->algo));
	printf("rules         %zu (%s, max %u)\n", st->rules, rs.layout->name, st->max_rules);
	if (st->ntables) {
		printf("tables        %u\n", st->ntables);
		printf("largest bucket %u rules\n", st->max_bucket);
	}
	printf("memory        %.1f KiB used by the live generation, %.1f MiB of maps in all\n",
	       st->used_bytes / 1024.0, st->map_bytes / 1048576.0);
	printf("verifier      %u instructions (XDP filter)\n", wcard_clf_verified_insns(clf));
	if (tr.n && st->ntables)
		printf("trace         %zu packets, %zu matched, %.2f tables probed on average\n",
		       tr.n, matched, probed);
	if (st->ntables) {
		printf("\n%5s %-44s %8s %10s %8s %10s\n", "table", "tuple (bits per field)", "rules",
		       "max bucket", "slots", "best prio");
		for (t = 0; t < st->ntables; t++) {
			const struct wcard_table_stats *ts = &st->tables[t];
			char tup[128];
			int o = 0;

			for (f = 0; f < rs.layout->nfields && o < (int)sizeof(tup); f++)
				o += snprintf(tup + o, sizeof(tup) - o, "%s%s=%u", f ? " " : "",
					      rs.layout->fields[f].name, ts->len[f]);
			printf("%5u %-44s %8u %10u %8u %10u\n", ts->id, tup, ts->rules, ts->max_bucket,
			       ts->slots, ts->best_prio);
		}
	}
out:
	wcard_clf_destroy(clf);
	wcard_ruleset_free(&rs);
	wcard_trace_free(&tr);
	free(st);
	return ret ? 1 : 0;
}

static int gen_files(const char *rpath, const char *tpath, const struct wcard_gen_opts *go)
{
	FILE *rf = fopen(rpath, "w"), *tf = fopen(tpath, "w");
	int ret;

	if (!rf || !tf) {
		ret = -errno;
		fprintf(stderr, "wcard: %s: %s\n", !rf ? rpath : tpath, strerror(errno));
		goto out;
	}
	ret = wcard_gen_classbench(go, rf, tf);
	if (ret)
		fprintf(stderr, "wcard: generating: %s\n", strerror(-ret));
out:
	if (rf && fclose(rf) && !ret)
		ret = -errno;
	if (tf && fclose(tf) && !ret)
		ret = -errno;
	return ret;
}

static int cmd_gen(struct cli *c)
{
	struct wcard_gen_opts go = {
		.nrules = c->rules ? c->rules : 1000,
		.npackets = c->packets ? c->packets : 10000,
		.seed = c->seed ? c->seed : 1,
	};

	return gen_files(c->argv[0], c->argv[1], &go) ? 1 : 0;
}

static int cmd_demo(struct cli *c)
{
	struct trace_result bpf = {}, ref = {};
	const char *dir = c->dir ? c->dir : "build/demo";
	struct wcard_gen_opts go = {
		.nrules = c->rules ? c->rules : 2000,
		.npackets = c->packets ? c->packets : 20000,
		.seed = c->seed ? c->seed : 42,
	};
	char rpath[4096], tpath[4096], err[ERRLEN] = "";
	struct wcard_ruleset rs;
	struct wcard_trace tr = {};
	size_t i, agree = 0;
	__u32 verified = 0;
	int ret;

	wcard_ruleset_init(&rs, wcard_layout_ipv4());
	if (mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "wcard demo: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(rpath, sizeof(rpath), "%s/rules.cb", dir);
	snprintf(tpath, sizeof(tpath), "%s/trace.cb", dir);
	ret = gen_files(rpath, tpath, &go);
	if (ret)
		goto out;
	ret = wcard_rules_load(rpath, WCARD_FMT_CLASSBENCH, wcard_layout_ipv4(), &rs, err,
			       sizeof(err));
	if (!ret)
		ret = wcard_trace_load(tpath, &tr, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "wcard demo: %s\n", err);
		goto out;
	}
	bpf.best = calloc(tr.n ? tr.n : 1, sizeof(long));
	ref.best = calloc(tr.n ? tr.n : 1, sizeof(long));
	if (!bpf.best || !ref.best) {
		ret = -ENOMEM;
		goto out;
	}
	ret = classify_bpf(c, &rs, &tr, &bpf, &verified, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "wcard demo: %s\n", err);
		goto out;
	}
	classify_ref(&rs, &tr, &ref);
	for (i = 0; i < tr.n; i++)
		agree += bpf.best[i] == ref.best[i];
	if (c->json) {
		printf("{\"algo\":\"%s\",\"rules\":%zu,\"packets\":%zu,\"matched\":%zu,\"agree\":%zu,"
		       "\"ns_per_packet\":%.1f,\"verified_insns\":%u,\"rules_file\":\"%s\","
		       "\"trace_file\":\"%s\"}\n",
		       algo_name(bpf.algo), rs.n, tr.n, bpf.matched, agree, bpf.ns_per_pkt, verified,
		       rpath, tpath);
	} else {
		printf("wcard demo: %s classifier in XDP, checked against the userspace reference\n",
		       bpf.algo == WC_ALGO_BF ? "brute-force" : "Tuple Merge");
		printf("  rules         %zu (ipv4-5tuple, generated, seed %llu): %s\n", rs.n,
		       go.seed, rpath);
		printf("  packets       %zu real Ethernet/IPv4 frames via BPF_PROG_TEST_RUN: %s\n",
		       tr.n, tpath);
		printf("  matched       %zu (%.1f%%)\n", bpf.matched,
		       tr.n ? 100.0 * bpf.matched / tr.n : 0);
		printf("  agreement     %zu/%zu with the reference %s\n", agree, tr.n,
		       agree == tr.n ? "(all agree)" : "(MISMATCH)");
		printf("  time          %.0f ns/packet (parse + classify + count, one frame per "
		       "test run, cold-ish cache)\n",
		       bpf.ns_per_pkt);
		if (bpf.tables)
			printf("  tables        %u Tuple Merge tables\n", bpf.tables);
		printf("  verifier      %u instructions processed for the XDP program\n", verified);
		printf("  try it        build/wcard classify %s %s\n", rpath, tpath);
	}
	if (agree != tr.n)
		ret = -EIO;
out:
	free(bpf.best);
	free(ref.best);
	wcard_ruleset_free(&rs);
	wcard_trace_free(&tr);
	return ret ? 1 : 0;
}

/* Addresses, one per line ('#' comments, blank lines skipped); all or nothing. */
struct addr_in {
	char text[INET6_ADDRSTRLEN + 1];
	unsigned int family;
	wc_u128 addr;
};

static int load_addrs(const char *path, struct addr_in **out, size_t *n, char *err, size_t errlen)
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

static void prefix_str(const struct wcard_route *r, char *buf, size_t len)
{
	__u8 bin[16];
	int i, n = r->family == 6 ? 16 : 4;

	for (i = 0; i < n; i++)
		bin[i] = (__u8)(r->addr >> (8 * (n - 1 - i)));
	inet_ntop(r->family == 6 ? AF_INET6 : AF_INET, bin, buf, len);
}

static int lpm_lookup(struct cli *c)
{
	struct wcard_lpm_opts lo = { .v4 = c->v4 && !strcmp(c->v4, "trie") ? WCARD_LPM4_TRIE :
									      WCARD_LPM4_DIR24 };
	struct wcard_routes rt = {};
	struct wcard_lpm *l = NULL;
	struct addr_in *a = NULL;
	char err[ERRLEN] = "";
	size_t n = 0, i, hits = 0;
	int ret;

	ret = wcard_routes_load(c->argv[0], &rt, err, sizeof(err));
	if (!ret)
		ret = load_addrs(c->argv[1], &a, &n, err, sizeof(err));
	if (!ret)
		ret = wcard_lpm_create(&rt, &lo, &l, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "wcard lpm: %s\n", *err ? err : strerror(-ret));
		goto out;
	}
	for (i = 0; i < n; i++) {
		char pfx[INET6_ADDRSTRLEN];
		long r;

		ret = wcard_lpm_lookup(l, a[i].family, a[i].addr, &r);
		if (ret) {
			fprintf(stderr, "wcard lpm: %s: BPF_PROG_TEST_RUN: %s\n", a[i].text,
				strerror(-ret));
			goto out;
		}
		if (r < 0) {
			printf("%s - -\n", a[i].text);
			continue;
		}
		prefix_str(&rt.r[r], pfx, sizeof(pfx));
		printf("%s %s/%u %llu\n", a[i].text, pfx, rt.r[r].len,
		       (unsigned long long)rt.r[r].value);
		hits++;
	}
	if (fflush(stdout))
		ret = -errno;
	fprintf(stderr, "wcard lpm: %zu routes, %zu addresses, %zu matched\n", rt.n, n, hits);
out:
	wcard_lpm_destroy(l);
	wcard_routes_free(&rt);
	free(a);
	return ret ? 1 : 0;
}

/* DIR/NAME of a pinned object, or an error for a NAME that is not one path component. */
static int pin_path(const struct cli *c, const char *name, char *buf, size_t len)
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

/*
 * Open the LPM pinned as NAME (argv[0]) for a command. Writers hold an
 * exclusive lock on its directory for the whole command, so two CLI writers
 * are serialized and neither loses an update.
 */
static int lpm_pinned(struct cli *c, bool write, struct wcard_lpm **l, int *lock)
{
	char path[4096], err[ERRLEN] = "";
	int ret;

	*lock = -1;
	ret = pin_path(c, c->argv[0], path, sizeof(path));
	if (ret)
		return ret;
	if (write) {
		*lock = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (*lock < 0 || flock(*lock, LOCK_EX)) {
			ret = -errno;
			fprintf(stderr, "wcard lpm: %s: %s%s\n", path, strerror(errno),
				errno == ENOENT ? " (no LPM of that name; wcard lpm create)" : "");
			return ret;
		}
	}
	ret = wcard_lpm_open_pinned(path, l, err, sizeof(err));
	if (ret)
		fprintf(stderr, "wcard lpm: %s\n", *err ? err : strerror(-ret));
	return ret;
}

static void lpm_unlock(struct wcard_lpm *l, int lock)
{
	wcard_lpm_destroy(l);
	if (lock >= 0)
		close(lock);
}

static int lpm_create(struct cli *c)
{
	struct wcard_lpm_opts lo = {
		.v4 = c->v4 && !strcmp(c->v4, "trie") ? WCARD_LPM4_TRIE : WCARD_LPM4_DIR24,
		.max_routes = (__u32)c->max_routes,
	};
	const char *dir = c->pin_dir ? c->pin_dir : PIN_DIR_DEFAULT;
	char path[4096], err[2 * 4096 + ERRLEN] = ""; /* room for the paths it names */
	struct wcard_routes rt = {};
	struct wcard_lpm *l = NULL;
	int ret;

	ret = pin_path(c, c->argv[0], path, sizeof(path));
	if (ret)
		return 2;
	if (c->argc > 1)
		ret = wcard_routes_load(c->argv[1], &rt, err, sizeof(err));
	if (!ret && mkdir(dir, 0700) && errno != EEXIST) {
		ret = -errno;
		snprintf(err, sizeof(err), "%s: %s (is bpffs mounted?)", dir, strerror(errno));
	}
	if (!ret && !access(path, F_OK)) {
		ret = -EEXIST;
		snprintf(err, sizeof(err), "%s: already exists (wcard lpm destroy %s)", path,
			 c->argv[0]);
	}
	if (!ret)
		ret = wcard_lpm_create(&rt, &lo, &l, err, sizeof(err));
	if (!ret)
		ret = wcard_lpm_pin(l, path, err, sizeof(err));
	if (ret)
		fprintf(stderr, "wcard lpm create: %s\n", *err ? err : strerror(-ret));
	else
		fprintf(stderr, "wcard lpm: %s created with %zu routes\n", path, rt.n);
	wcard_lpm_destroy(l);
	wcard_routes_free(&rt);
	return ret ? 1 : 0;
}

/* The route given as arguments (PREFIX/LEN [VALUE]) of a command. */
static int lpm_arg_route(struct cli *c, const char *cmd, struct wcard_route *r)
{
	char text[512], err[ERRLEN] = "";
	int ret;

	snprintf(text, sizeof(text), "%s %s", c->argv[1], c->argc > 2 ? c->argv[2] : "");
	ret = wcard_route_parse(text, "argument", r, err, sizeof(err));
	if (ret)
		fprintf(stderr, "wcard lpm %s: %s\n", cmd, err);
	return ret;
}

static int lpm_add(struct cli *c)
{
	struct wcard_lpm *l = NULL;
	struct wcard_route r;
	int ret, lock = -1;

	if (lpm_arg_route(c, "add", &r))
		return 2;
	ret = lpm_pinned(c, true, &l, &lock);
	if (!ret) {
		ret = wcard_lpm_add(l, r.family, r.addr, r.len, r.value);
		if (ret)
			fprintf(stderr, "wcard lpm add: %s: %s%s\n", c->argv[1], strerror(-ret),
				ret == -ENOSPC ? " (the LPM is full: create it with more room)" : "");
	}
	lpm_unlock(l, lock);
	return ret ? 1 : 0;
}

static int lpm_del(struct cli *c)
{
	struct wcard_lpm *l = NULL;
	struct wcard_route r;
	int ret, lock = -1;

	if (lpm_arg_route(c, "del", &r))
		return 2;
	ret = lpm_pinned(c, true, &l, &lock);
	if (!ret) {
		ret = wcard_lpm_del(l, r.family, r.addr, r.len);
		if (ret)
			fprintf(stderr, "wcard lpm del: %s: %s\n", c->argv[1],
				ret == -ENOENT ? "no such route" : strerror(-ret));
	}
	lpm_unlock(l, lock);
	return ret ? 1 : 0;
}

static int lpm_load(struct cli *c)
{
	char err[ERRLEN] = "";
	struct wcard_routes rt = {};
	struct wcard_lpm *l = NULL;
	int ret, lock = -1;

	/* Parse everything before touching the LPM: a bad line changes nothing. */
	ret = wcard_routes_load(c->argv[1], &rt, err, sizeof(err));
	if (ret)
		fprintf(stderr, "wcard lpm load: %s\n", err);
	else
		ret = lpm_pinned(c, true, &l, &lock);
	if (!ret) {
		ret = wcard_lpm_load(l, &rt, err, sizeof(err));
		if (ret)
			fprintf(stderr, "wcard lpm load: %s\n", *err ? err : strerror(-ret));
		else
			fprintf(stderr, "wcard lpm: %zu routes loaded\n", rt.n);
	}
	lpm_unlock(l, lock);
	wcard_routes_free(&rt);
	return ret ? 1 : 0;
}

static int lpm_dump(struct cli *c)
{
	struct wcard_routes rt = {};
	struct wcard_lpm *l = NULL;
	char pfx[INET6_ADDRSTRLEN];
	int ret, lock = -1;
	size_t i;

	ret = lpm_pinned(c, false, &l, &lock);
	if (ret)
		goto out;
	ret = wcard_lpm_dump(l, &rt);
	if (ret) {
		fprintf(stderr, "wcard lpm dump: %s\n", strerror(-ret));
		goto out;
	}
	if (c->json)
		printf("{\"routes\":[");
	for (i = 0; i < rt.n; i++) {
		prefix_str(&rt.r[i], pfx, sizeof(pfx));
		if (c->json)
			printf("%s{\"prefix\":\"%s/%u\",\"value\":%llu}", i ? "," : "", pfx,
			       rt.r[i].len, (unsigned long long)rt.r[i].value);
		else
			printf("%s/%u %llu\n", pfx, rt.r[i].len, (unsigned long long)rt.r[i].value);
	}
	if (c->json)
		printf("]}\n");
	if (fflush(stdout))
		ret = -errno;
out:
	lpm_unlock(l, lock);
	wcard_routes_free(&rt);
	return ret ? 1 : 0;
}

static int lpm_get(struct cli *c)
{
	struct wcard_lpm *l = NULL;
	int ret, lock = -1, i;

	ret = lpm_pinned(c, false, &l, &lock);
	if (ret)
		goto out;
	if (c->json)
		printf("[");
	for (i = 1; i < c->argc; i++) {
		unsigned int fam = strchr(c->argv[i], ':') ? 6 : 4;
		char pfx[INET6_ADDRSTRLEN] = "";
		struct wcard_route m;
		__u8 bin[16];
		wc_u128 a = 0;
		int k, hit;

		if (inet_pton(fam == 6 ? AF_INET6 : AF_INET, c->argv[i], bin) != 1) {
			fprintf(stderr, "wcard lpm get: bad address '%s'\n", c->argv[i]);
			ret = -EINVAL;
			break;
		}
		for (k = 0; k < (fam == 6 ? 16 : 4); k++)
			a = a << 8 | bin[k];
		hit = wcard_lpm_query(l, fam, a, &m);
		if (hit < 0) {
			fprintf(stderr, "wcard lpm get: %s: %s\n", c->argv[i], strerror(-hit));
			ret = hit;
			break;
		}
		if (hit)
			prefix_str(&m, pfx, sizeof(pfx));
		if (c->json && hit)
			printf("%s{\"addr\":\"%s\",\"prefix\":\"%s/%u\",\"value\":%llu}",
			       i > 1 ? "," : "", c->argv[i], pfx, m.len, (unsigned long long)m.value);
		else if (c->json)
			printf("%s{\"addr\":\"%s\",\"prefix\":null,\"value\":null}", i > 1 ? "," : "",
			       c->argv[i]);
		else if (hit)
			printf("%s %s/%u %llu\n", c->argv[i], pfx, m.len, (unsigned long long)m.value);
		else
			printf("%s - -\n", c->argv[i]);
	}
	if (c->json && !ret)
		printf("]\n");
	if (fflush(stdout) && !ret)
		ret = -errno;
out:
	lpm_unlock(l, lock);
	return ret ? 1 : 0;
}

static int lpm_destroy(struct cli *c)
{
	char path[4096];
	int ret;

	ret = pin_path(c, c->argv[0], path, sizeof(path));
	if (ret)
		return 2;
	if (access(path, F_OK)) {
		fprintf(stderr, "wcard lpm destroy: %s: %s\n", path, strerror(errno));
		return 1;
	}
	ret = wcard_lpm_unpin(path);
	if (ret)
		fprintf(stderr, "wcard lpm destroy: %s: %s\n", path, strerror(-ret));
	return ret ? 1 : 0;
}

/* Run the subcommand argv[0] of command cmd from its table. */
static int run_sub(struct cli *c, const char *cmd, const struct sub_spec *subs)
{
	const struct sub_spec *sc;

	for (sc = subs; sc->name; sc++) {
		if (strcmp(sc->name, c->argv[0]))
			continue;
		c->argc--;
		c->argv++;
		if (c->argc < sc->min_args || (sc->max_args >= 0 && c->argc > sc->max_args)) {
			fprintf(stderr, "Usage: wcard %s %s %s\n", cmd, sc->name, sc->args);
			return 2;
		}
		return sc->run(c);
	}
	fprintf(stderr, "wcard %s: unknown subcommand '%s' (wcard %s --help)\n", cmd, c->argv[0],
		cmd);
	return 2;
}

static int cmd_lpm(struct cli *c)
{
	return run_sub(c, "lpm", lpm_subs);
}

static int rules_load(struct cli *c)
{
	char path[4096], err[4096 + ERRLEN] = ""; /* room for the path it names */
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
	ret = wcard_rules_load(c->argv[1], fmt, NULL, &rs, err, sizeof(err));
	if (!ret)
		ret = clf_opts(c, &rs, &co, err, sizeof(err));
	if (!ret) {
		/* Writers take turns: the lock on the directory is held to the end. */
		lock = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (lock < 0 || flock(lock, LOCK_EX)) {
			ret = -errno;
			snprintf(err, sizeof(err), "%s: %s", path, strerror(errno));
		}
	}
	if (!ret)
		ret = wcard_clf_open_pinned(path, &co, &clf, err, sizeof(err));
	if (!ret)
		ret = wcard_clf_load(clf, &rs, err, sizeof(err));
	if (ret)
		fprintf(stderr, "wcard rules load: %s\n", *err ? err : strerror(-ret));
	else
		fprintf(stderr, "wcard rules: %zu rules loaded into %s (%s)\n", rs.n, path,
			algo_name(wcard_clf_algo(clf)));
	wcard_clf_destroy(clf);
	if (lock >= 0)
		close(lock);
	free((void *)co.pool);
	wcard_ruleset_free(&rs);
	return ret ? 1 : 0;
}

/* Print s as a JSON string (it holds no control characters). */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static int rules_dump(struct cli *c)
{
	char path[4096], err[4096 + ERRLEN] = "", line[1024];
	struct wcard_clf *clf = NULL;
	struct wcard_ruleset rs;
	size_t i;
	int ret;

	wcard_ruleset_init(&rs, NULL);
	if (pin_path(c, c->argv[0], path, sizeof(path)))
		return 2;
	ret = wcard_clf_open_pinned(path, NULL, &clf, err, sizeof(err));
	if (!ret)
		ret = wcard_clf_rules(clf, &rs);
	if (ret) {
		fprintf(stderr, "wcard rules dump: %s\n", *err ? err : strerror(-ret));
		goto out;
	}
	if (c->json)
		printf("{\"layout\":\"%s\",\"rules\":[", rs.layout->name);
	for (i = 0; i < rs.n; i++) {
		wcard_rule_format(rs.layout, &rs.rules[i], line, sizeof(line));
		if (c->json) {
			printf("%s{\"id\":%u,\"prio\":%u,\"rule\":", i ? "," : "", rs.rules[i].id,
			       rs.rules[i].prio);
			json_str(line);
			putchar('}');
		} else {
			printf("%s\n", line);
		}
	}
	if (c->json)
		printf("]}\n");
	if (fflush(stdout))
		ret = -errno;
out:
	wcard_clf_destroy(clf);
	wcard_ruleset_free(&rs);
	return ret ? 1 : 0;
}

static int cmd_rules(struct cli *c)
{
	return run_sub(c, "rules", rules_subs);
}

static int cmd_help(struct cli *c)
{
	const struct cmd_spec *cmd;

	if (c->argc == 0) {
		usage(stdout, NULL);
		return 0;
	}
	for (cmd = cmd_table; cmd->name; cmd++) {
		if (!strcmp(cmd->name, c->argv[0])) {
			usage(stdout, cmd);
			return 0;
		}
	}
	fprintf(stderr, "wcard: unknown command '%s'\n", c->argv[0]);
	return 2;
}

int main(int argc, char **argv)
{
	const struct cmd_spec *cmd;
	struct cli c = {};

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout, NULL);
		return argc < 2 ? 2 : 0;
	}
	for (cmd = cmd_table; cmd->name; cmd++) {
		if (strcmp(cmd->name, argv[1]))
			continue;
		if (parse_args(cmd, argc - 1, argv + 1, &c))
			return 2;
		return cmd->run(&c);
	}
	fprintf(stderr, "wcard: unknown command '%s'\n", argv[1]);
	usage(stderr, NULL);
	return 2;
}
