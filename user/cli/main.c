// SPDX-License-Identifier: MIT
/*
 * main.c: the wcard CLI's command/option table, which also makes --help, the
 * man page and each command's capabilities, and the dispatch; nothing calls it.
 */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>
#include "cli.h"

/* ---- the command/option table ------------------------------------------- */

/* Loading and running the programs; the verifier needs CAP_PERFMON for ours. */
#define CAPS_BPF (CAPB(CAP_BPF) | CAPB(CAP_NET_ADMIN) | CAPB(CAP_PERFMON))
/* libxdp opens the programs attached to an interface by id. */
#define CAPS_XDP (CAPS_BPF | CAPB(CAP_SYS_ADMIN))
/*
 * wcard bench lpm opens its benchmark object's LPM images again (for the
 * classifier's LPM path) by map id: unpinned, only CAP_SYS_ADMIN can.
 */
#define CAPS_BENCH (CAPS_BPF | CAPB(CAP_SYS_ADMIN))
/* Writing output files where the invoking user asked (sudo wcard gen ~/x). */
#define CAPS_FILES CAPB(CAP_DAC_OVERRIDE)
/*
 * Opening a map by id: an LPM pinned by a wcard from before live image pins
 * has no other way to its live images. Kept permitted only (standby) by the
 * lpm subcommands that open a pinned LPM, effective for that open alone.
 */
#define CAPS_BY_ID CAPB(CAP_SYS_ADMIN)

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
	O_MAX_ROUTES,
	O_LAYOUT,
	O_MAX_RULES,
	O_DEFAULT,
	O_NONIP,
	O_MODE,
	O_MAN,
	O_QUICK,
	O_ATOMIC
};

struct opt_spec {
	const char *name; /* long name */
	int key; /* short letter, or a value > 255 for long-only options */
	const char *arg; /* argument name, NULL for a flag */
	const char *help;
};

/* A subcommand (wcard lpm SUB ...): its own arguments, the command's options. */
struct sub_spec {
	const char *name;
	const char *args;
	const char *summary;
	int (*run)(struct cli *c);
	int min_args, max_args; /* after the subcommand; max -1: no limit */
	__u64 standby; /* capabilities it keeps permitted, not effective (caps_limit) */
	bool pins; /* it pins new objects (cmd_spec.pins), where the command does not */
	bool pinned; /* it works on pinned objects alone (cmd_spec.pinned) */
};

struct cmd_spec {
	const char *name;
	const char *args;
	const char *summary;
	int (*run)(struct cli *c);
	const int *opts; /* keys of the options it takes, 0-terminated */
	int min_args, max_args;
	const struct sub_spec *subs; /* NULL, or its subcommands (run dispatches) */
	const char *brief; /* one line for the command list of `wcard --help` */
	__u64 caps; /* capabilities it needs (checked first; all others are dropped) */
	__u64 keep; /* capabilities it keeps if it has them */
	/*
	 * It pins new objects: CAP_SYS_ADMIN is kept, if the caller has it, until
	 * bpffs is mounted at /sys/fs/bpf (pin_new), and dropped there.
	 */
	bool pins;
	/*
	 * It works on objects already pinned, which exist only on a kernel that
	 * loaded their programs: no feature probe first (it costs a few program
	 * loads, more than the change itself).
	 */
	bool pinned;
};

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
	  "IPv4 LPM structure: dir24 (default; DIR-24-8, fastest, a fixed 128 MiB) or trie "
	  "(memory grows with the routes, a read more per lookup)" },
	{ "pin-dir", O_PIN_DIR, "DIR",
	  "bpffs directory of pinned objects (default " PIN_DIR_DEFAULT "); NAME is pinned "
	  "under DIR/NAME" },
	{ "max-routes", O_MAX_ROUTES, "N",
	  "route slots per family (default: the routes given plus a quarter, at least 1024 "
	  "more)" },
	{ "layout", O_LAYOUT, "LAYOUT",
	  "key layout: inet (IPv4 and IPv6; the default for rule files in the human syntax), "
	  "ipv4-5tuple (ClassBench's default) or ipv6-5tuple" },
	{ "max-rules", O_MAX_RULES, "N",
	  "rule capacity, fixed at create (default 65536, or the rules given plus a quarter if more)" },
	{ "default", O_DEFAULT, "ACTION", "action for frames no rule matches: pass (default) or drop" },
	{ "nonip", O_NONIP, "ACTION",
	  "action for frames that carry no IPv4/IPv6 packet (ARP, LLDP, PPPoE control, MPLS "
	  "without IP): pass (default) or drop" },
	{ "mode", O_MODE, "MODE",
	  "XDP mode: native or skb (default: native where the driver supports it, else skb)" },
	{ "man", O_MAN, NULL, "print the manual page (roff) made from the command tables" },
	{ "quick", O_QUICK, NULL, "3 timed runs a figure instead of 5, fewer route changes" },
	{ "atomic", O_ATOMIC, NULL,
	  "rules apply: the whole batch as one new generation (lookups see all of it or none) "
	  "instead of one change after the other" },
	{ "dir", O_DIR, "DIR", "directory for generated files" },
	{ "rules", O_RULES, "N", "number of rules to generate" },
	{ "packets", O_PACKETS, "N", "number of trace packets to generate" },
	{ "seed", O_SEED, "S", "random seed" },
	{ NULL, 0, NULL, NULL },
};

static int cmd_help(struct cli *c);
static int cmd_lpm(struct cli *c);
static int cmd_rules(struct cli *c);
static int cmd_rule(struct cli *c);

static const int classify_opts[] = { O_ALGO, O_FORMAT, O_LAYOUT, O_COLLIDE, O_POOL, 0 };
static const int stats_opts[] = { O_ALGO, O_FORMAT, O_COLLIDE, O_POOL, O_PIN_DIR, 'j', 0 };
static const int gen_opts[] = { O_RULES, O_PACKETS, O_SEED, 0 };
static const int demo_opts[] = { O_DIR, O_RULES, O_PACKETS, O_SEED, 'j', 0 };
static const int lpm_opts[] = { O_V4, O_PIN_DIR, O_MAX_ROUTES, 'j', 0 };

static const int rules_opts[] = { O_PIN_DIR, O_ALGO, O_FORMAT, O_COLLIDE, O_POOL, O_ATOMIC, 'j',
				  0 };
static const int rule_opts[] = { O_PIN_DIR, 'j', 0 };
static const int create_opts[] = { O_PIN_DIR, O_LAYOUT, O_ALGO, O_MAX_RULES, O_DEFAULT, O_NONIP,
				   O_FORMAT,  O_COLLIDE, O_POOL, 0 };
static const int pin_opts[] = { O_PIN_DIR, 0 };
static const int attach_opts[] = { O_PIN_DIR, O_MODE, 0 };
static const int help_opts[] = { O_MAN, 0 };
static const int bench_opts[] = { O_FORMAT, O_QUICK, 'j', 0 };

static const struct sub_spec rules_subs[] = {
	{ "load", "NAME RULES",
	  "replace every rule of the classifier pinned as NAME with RULES, atomically for "
	  "lookups; the maps of a program just loaded with 'bpftool prog load ... pinmaps "
	  "DIR/NAME' become a new classifier of RULES' layout",
	  rules_load, 2, 2 },
	{ "apply", "NAME FILE|-",
	  "apply a batch of changes, one a line: 'add RULE', 'del ID', 'update ID [prio N] "
	  "[ACTION]' ('#' comments); every line is checked before any change is made. Online, "
	  "in order (or --atomic, as one generation); prints the id of each added rule, or "
	  "with --json every change's line and id",
	  rules_apply, 2, 2 },
	{ "dump", "NAME",
	  "print the rules best first, one a line in the human syntax with its priority ('rules "
	  "load' takes it back); --json adds the ids lookups report",
	  rules_dump, 1, 1 },
	{ "list", "NAME",
	  "print the rules best first with their ids and hit counters (packets and bytes, summed "
	  "over CPUs), and the frames no rule matched",
	  rules_list, 1, 1 },
	{ NULL, NULL, NULL, NULL, 0, 0 },
};

static const struct sub_spec rule_subs[] = {
	{ "add", "NAME RULE...",
	  "add one rule, given in the rule syntax (without prio: after every rule there is); "
	  "prints its id",
	  rule_add, 2, -1 },
	{ "del", "NAME ID...", "delete rules by id (all or none)", rule_del, 2, -1 },
	{ "update", "NAME ID [prio N] [ACTION]",
	  "change a rule's priority or action (pass, drop, redirect IFACE, value N); prints its "
	  "id, a new one when the priority changed",
	  rule_update, 3, -1 },
	{ NULL, NULL, NULL, NULL, 0, 0 },
};


static const struct sub_spec lpm_subs[] = {
	{ "lookup", "ROUTES ADDRS",
	  "for each address of ADDRS print 'ADDR PREFIX/LEN VALUE', or 'ADDR - -' on a miss; "
	  "ROUTES has one 'PREFIX/LEN [VALUE]' per line (VALUE defaults to the line's 0-based "
	  "index), IPv4 and IPv6 mixed",
	  lpm_lookup, 2, 2 },
	{ "create", "NAME [ROUTES]", "create an LPM pinned as NAME, with the routes of ROUTES",
	  lpm_create, 1, 2, .pins = true },
	{ "add", "NAME PREFIX/LEN [VALUE]",
	  "add a route (VALUE 0 if absent), or change the value of an equal prefix", lpm_add, 2,
	  3, CAPS_BY_ID, .pinned = true },
	{ "del", "NAME PREFIX/LEN", "delete a route", lpm_del, 2, 2, CAPS_BY_ID, .pinned = true },
	{ "load", "NAME ROUTES",
	  "replace every route with ROUTES, atomically for lookups (nothing changes on error)",
	  lpm_load, 2, 2, CAPS_BY_ID, .pinned = true },
	{ "dump", "NAME", "print the routes, one 'PREFIX/LEN VALUE' a line (load takes it back)",
	  lpm_dump, 1, 1, CAPS_BY_ID, .pinned = true },
	{ "get", "NAME ADDR...", "longest match of each address, through BPF", lpm_get, 2, -1,
	  CAPS_BY_ID, .pinned = true },
	{ "stats", "NAME", "routes per family and the memory the maps use", lpm_stats, 1, 1,
	  CAPS_BY_ID, .pinned = true },
	{ "destroy", "NAME", "unpin NAME (its maps go with the last user)", lpm_destroy, 1, 1,
	  .pinned = true },
	{ NULL, NULL, NULL, NULL, 0, 0 },
};

static const struct cmd_spec cmd_table[] = {
	{ "classify", "RULES TRACE",
	  "classify a trace (ClassBench's, or with addresses as text, IPv4 and IPv6) through the "
	  "XDP filter (BPF_PROG_TEST_RUN); prints the 0-based line in RULES of the best match, "
	  "or -1, per trace line",
	  cmd_classify, classify_opts, 2, 2,
	  .brief = "classify a trace through the XDP filter, one line per packet",
	  .caps = CAPS_BPF },
	{ "stats", "RULES [TRACE] | NAME",
	  "load RULES into a classifier and show its tables, largest bucket and memory; with a "
	  "trace, also the average number of tables probed; NAME (no such file, and a classifier "
	  "pinned under --pin-dir): the same for that classifier, with its hit counters",
	  cmd_stats, stats_opts, 1, 2,
	  .brief = "tables, buckets, memory and counters of a rule set or classifier",
	  .caps = CAPS_BPF },
	{ "gen", "RULES_OUT TRACE_OUT",
	  "generate an overlapping rule set (ClassBench format) and a trace drawn from it", cmd_gen,
	  gen_opts, 2, 2,
	  .brief = "generate a ClassBench-style rule set and trace",
	  .caps = 0, .keep = CAPS_FILES },
	{ "demo", "", "generate rules and a trace, classify them in BPF, check against the reference",
	  cmd_demo, demo_opts, 0, 0,
	  .brief = "generate, classify in XDP, check against the reference",
	  .caps = CAPS_BPF, .keep = CAPS_FILES },
	{ "lpm", "SUBCOMMAND ARGS...",
	  "longest-prefix match in BPF, on a route file or on LPMs pinned under --pin-dir",
	  cmd_lpm, lpm_opts, 1, 1 << 20, lpm_subs,
	  .brief = "longest-prefix match: lookups, pinned LPMs",
	  .caps = CAPS_BPF },
	{ "create", "NAME [RULES]",
	  "create a classifier pinned as NAME under --pin-dir (its maps and the XDP filter, as "
	  "'prog'), empty or with the rules of RULES",
	  clf_create, create_opts, 1, 2,
	  .brief = "create a pinned classifier and its XDP filter",
	  .caps = CAPS_BPF, .pins = true },
	{ "rules", "SUBCOMMAND ARGS...", "rule sets of a classifier pinned under --pin-dir",
	  cmd_rules, rules_opts, 1, 1 << 20, rules_subs,
	  .brief = "load, apply, dump or list the rules of a pinned classifier",
	  .caps = CAPS_BPF, .pinned = true },
	{ "rule", "SUBCOMMAND ARGS...",
	  "single rules of a classifier pinned under --pin-dir, changed while traffic flows",
	  cmd_rule, rule_opts, 1, 1 << 20, rule_subs,
	  .brief = "add, delete or update one rule while traffic flows",
	  .caps = CAPS_BPF, .pinned = true },
	{ "attach", "NAME IFACE",
	  "run NAME's XDP filter on IFACE, through a libxdp dispatcher so that other XDP "
	  "programs can share it (or alone, if libxdp cannot)",
	  clf_attach_cmd, attach_opts, 2, 2,
	  .brief = "run a classifier's XDP filter on an interface",
	  .caps = CAPS_XDP },
	{ "detach", "NAME IFACE", "take NAME's XDP filter off IFACE", clf_detach_cmd, pin_opts, 2,
	  2,
	  .brief = "take a classifier's XDP filter off an interface",
	  .caps = CAPS_XDP },
	{ "destroy", "NAME",
	  "unpin the classifier NAME (refused while it is attached to an interface)", clf_destroy,
	  pin_opts, 1, 1,
	  .brief = "unpin a classifier",
	  .caps = CAPS_XDP },
	{ "bench", "RULES [TRACE] | lpm ROUTES [ADDRS]",
	  "measure lookups on your own rules (Tuple Merge, static, brute force, beside the kernel "
	  "HASH floor; keys from TRACE or inside random rules) or routes (wcard's LPM beside the "
	  "kernel LPM trie holding the same routes; addresses from ADDRS or inside random routes); "
	  "every case is checked against the reference before it is timed",
	  cmd_bench, bench_opts, 1, 3,
	  .brief = "measure lookups on your own rules or routes",
	  .caps = CAPS_BENCH },
	{ "help", "[COMMAND]", "show help (--man: the manual page, in roff, from these tables)",
	  cmd_help, help_opts, 0, 1, .brief = "show help for a command, or the manual page",
	  .caps = 0 },
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
	char shrt[8] = "    ", buf[64];

	/* Long-only options line up with the long names of those that have a short one. */
	if (o->key < 256)
		snprintf(shrt, sizeof(shrt), "-%c, ", o->key);
	snprintf(buf, sizeof(buf), "%s--%s%s%s", shrt, o->name, o->arg ? " " : "",
		 o->arg ? o->arg : "");
	fprintf(f, "  %-24s %s\n", buf, o->help);
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
		fprintf(f, "  %-9s %s\n", c->name, c->brief ? c->brief : c->args);
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

/*
 * The CLI's messages and libbpf's: warnings only, everything with -v (the
 * verifier's log on a failed load comes through libbpf's debug level).
 */
static bool verbose;

static int print_wcard(enum wcard_print_level level, const char *fmt, va_list ap)
{
	return level == WCARD_WARN || verbose ? vfprintf(stderr, fmt, ap) : 0;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN || verbose ? vfprintf(stderr, fmt, ap) : 0;
}

static void print_setup(bool on)
{
	verbose = on;
	wcard_set_print(print_wcard);
	libbpf_set_print(print_libbpf);
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
		case O_LAYOUT:
			c->layout = optarg;
			break;
		case O_MODE:
			c->mode = optarg;
			break;
		case O_MAN:
			c->man = true;
			break;
		case O_QUICK:
			c->quick = true;
			break;
		case O_ATOMIC:
			c->atomic = true;
			break;
		case O_MAX_RULES:
			ret = parse_ulong("max-rules", optarg, &c->max_rules);
			if (!ret && (c->max_rules < 1 || c->max_rules > WC_MAX_RULES)) {
				fprintf(stderr, "wcard: --max-rules must be 1..%u\n", WC_MAX_RULES);
				ret = -EINVAL;
			}
			break;
		case O_DEFAULT:
			if (!strcmp(optarg, "pass")) {
				c->dflt = WC_ACT_PASS;
			} else if (!strcmp(optarg, "drop")) {
				c->dflt = WC_ACT_DROP;
			} else {
				fprintf(stderr, "wcard: --default must be pass or drop, not '%s'\n",
					optarg);
				ret = -EINVAL;
			}
			break;
		case O_NONIP:
			if (!strcmp(optarg, "pass")) {
				c->nonip = WC_ACT_PASS;
			} else if (!strcmp(optarg, "drop")) {
				c->nonip = WC_ACT_DROP;
			} else {
				fprintf(stderr, "wcard: --nonip must be pass or drop, not '%s'\n",
					optarg);
				ret = -EINVAL;
			}
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
	print_setup(c->verbose);
	return 0;
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

static int cmd_rules(struct cli *c)
{
	return run_sub(c, "rules", rules_subs);
}

static int cmd_rule(struct cli *c)
{
	return run_sub(c, "rule", rule_subs);
}

/* Text for roff: backslashes and dashes escaped, no control character at a line start. */
static void roff(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

static void man_opt(FILE *f, const struct opt_spec *o)
{
	fputs(".TP\n", f);
	if (o->key < 256)
		fprintf(f, "\\fB\\-%c\\fR, ", o->key);
	fputs("\\fB", f);
	roff(f, "--");
	roff(f, o->name);
	fputs("\\fR", f);
	if (o->arg) {
		fputs(" \\fI", f);
		roff(f, o->arg);
		fputs("\\fR", f);
	}
	fputc('\n', f);
	roff(f, o->help);
	fputc('\n', f);
}

/* The manual page, from the same tables as --help: nothing to keep in sync by hand. */
static void man_page(FILE *f)
{
	const struct cmd_spec *cmd;
	const struct sub_spec *sc;
	const struct opt_spec *o;

	fprintf(f, ".TH WCARD 1 \"\" \"wcard\" \"User Commands\"\n"
		   ".SH NAME\nwcard \\- multi\\-field packet classification in eBPF\n"
		   ".SH SYNOPSIS\n.B wcard\n.I COMMAND\n[\\fIoptions\\fR] \\fIARGS\\fR...\n"
		   ".SH DESCRIPTION\n"
		   "wcard classifies packets on wildcard rules (prefixes, port ranges, masks) in "
		   "BPF: Tuple Merge, brute force and longest\\-prefix match over stock BPF maps. "
		   "Classifiers and LPMs live in maps pinned on bpffs, under \\fB\\-\\-pin\\-dir\\fR "
		   "(default \\fI" PIN_DIR_DEFAULT "\\fR), and are changed while traffic flows.\n"
		   ".SH COMMANDS\n");
	for (cmd = cmd_table; cmd->name; cmd++) {
		const int *k;

		fprintf(f, ".SS \"wcard %s\" ", cmd->name);
		roff(f, cmd->args);
		fputc('\n', f);
		roff(f, cmd->summary);
		fputs(".\n", f);
		for (sc = cmd->subs; sc && sc->name; sc++) {
			fprintf(f, ".TP\n\\fBwcard %s %s\\fR ", cmd->name, sc->name);
			roff(f, sc->args);
			fputc('\n', f);
			roff(f, sc->summary);
			fputc('\n', f);
		}
		if (*cmd->opts) {
			fputs(".PP\nOptions:\n", f);
			for (k = cmd->opts; *k; k++)
				for (o = opt_table; o->name; o++)
					if (o->key == *k)
						fprintf(f, "\\fB\\-\\-%s\\fR ", o->name);
			fputc('\n', f);
		}
	}
	fputs(".SH OPTIONS\n", f);
	for (o = opt_table; o->name; o++)
		man_opt(f, o);
	fputs(".SH EXIT STATUS\n0 on success, 1 when the command failed (the message names the "
	      "file, line or object and the reason), 2 for a usage error.\n"
	      ".SH SEE ALSO\n.BR bpftool (8),\n.BR xdp\\-loader (8)\n", f);
}

static int cmd_help(struct cli *c)
{
	const struct cmd_spec *cmd;

	if (c->man) {
		man_page(stdout);
		return fflush(stdout) ? 1 : 0;
	}
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
	const struct sub_spec *sc;
	struct cli c = {};
	__u64 need, standby;
	bool pins, pinned;
	char why[256];

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout, NULL);
		return argc < 2 ? 2 : 0;
	}
	for (cmd = cmd_table; cmd->name; cmd++) {
		if (strcmp(cmd->name, argv[1]))
			continue;
		if (parse_args(cmd, argc - 1, argv + 1, &c))
			return 2;
		/* The userspace reference classifies without BPF. */
		need = c.algo && !strcmp(c.algo, "ref") ? 0 : cmd->caps;
		/* A subcommand's own (run_sub reports an unknown one). */
		for (standby = 0, pins = cmd->pins, pinned = cmd->pinned, sc = cmd->subs;
		     sc && sc->name && c.argc; sc++) {
			if (!strcmp(sc->name, c.argv[0])) {
				standby = sc->standby;
				pins = pins || sc->pins;
				pinned = pinned || sc->pinned;
			}
		}
		/*
		 * A command that pins holds CAP_SYS_ADMIN on standby (permitted, not
		 * effective): pin_new raises it for the bpffs mount alone, so it is
		 * never effective while input files are parsed.
		 */
		if (caps_limit(cmd->name, need, cmd->keep,
			       standby | (pins ? CAPB(CAP_SYS_ADMIN) : 0)))
			return 1;
		/*
		 * The command's own CAP_SYS_ADMIN, never dropped: asked for, or
		 * standing in for CAP_BPF where the process has no CAP_BPF (caps_limit).
		 */
		c.caps_admin = caps_effective(CAP_SYS_ADMIN) &&
			       (((need | cmd->keep) & CAPB(CAP_SYS_ADMIN)) ||
				(need && !caps_effective(CAP_BPF)));
		/* A kernel without a feature the programs use: say which, before anything runs. */
		if (need && !pinned && wcard_probe_kernel(why, sizeof(why))) {
			fprintf(stderr, "wcard %s: %s\n", cmd->name, why);
			return 1;
		}
		return cmd->run(&c);
	}
	fprintf(stderr, "wcard: unknown command '%s'\n", argv[1]);
	usage(stderr, NULL);
	return 2;
}
