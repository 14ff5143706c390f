// SPDX-License-Identifier: MIT
/* test_cli.c: the wcard CLI contract (classify output, errors, help), run as a real process (suite "cli"). */
#include <stdio.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <unistd.h>
#include "wctest.h"

static const char *wcard_bin(void)
{
	const char *b = getenv("WCARD_BIN");

	return b ? b : "build/wcard";
}

/* Run the CLI with args, capture stdout (and stderr into err when given); returns exit code. */
static int run_cli(const char *args, char **out, size_t *outlen, char *err, size_t errlen)
{
	char cmd[4096], epath[] = "/tmp/wcard-cli-errXXXXXX";
	int efd = mkstemp(epath), status;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	FILE *p;

	cr_assert(efd >= 0 && buf, "mkstemp/malloc");
	snprintf(cmd, sizeof(cmd), "%s %s 2>%s", wcard_bin(), args, epath);
	p = popen(cmd, "r");
	cr_assert_not_null(p, "popen %s", cmd);
	for (;;) {
		size_t r;

		if (n + 4096 > cap)
			buf = realloc(buf, cap *= 2);
		r = fread(buf + n, 1, 4096, p);
		if (!r)
			break;
		n += r;
	}
	buf[n] = 0;
	status = pclose(p);
	if (err) {
		ssize_t r = pread(efd, err, errlen - 1, 0);

		err[r > 0 ? r : 0] = 0;
	}
	close(efd);
	unlink(epath);
	*out = buf;
	if (outlen)
		*outlen = n;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* `wcard classify` on every ClassBench 1k set: one line per trace entry, = reference. */
static void classify_sets(const char *algo)
{
	static const char *sets[] = { "acl1", "acl2", "acl3", "acl4", "acl5", "fw1",
				      "fw2",  "fw3",  "fw4",  "fw5",  "ipc1", "ipc2" };
	const struct wcard_layout *l = wcard_layout_ipv4();
	unsigned int s, found = 0;

	for (s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
		char rel[64], rp[512], tp[512], args[1200], err[4096];
		struct wcard_ruleset rs;
		struct wcard_trace tr = {};
		char *out, *line, *save = NULL;
		size_t i = 0;
		int rc;

		snprintf(rel, sizeof(rel), "classbench/%s_1k.rules.gz", sets[s]);
		if (!wt_data(rel, rp, sizeof(rp)))
			continue;
		snprintf(rel, sizeof(rel), "classbench/%s_1k.trace.gz", sets[s]);
		if (!wt_data(rel, tp, sizeof(tp)))
			continue;
		found++;
		wcard_ruleset_init(&rs, l);
		cr_assert_eq(wcard_rules_load(rp, WCARD_FMT_CLASSBENCH, l, &rs, err, sizeof(err)), 0,
			     "case %s: %s", sets[s], err);
		cr_assert_eq(wcard_trace_load(tp, &tr, err, sizeof(err)), 0, "case %s: %s", sets[s],
			     err);
		snprintf(args, sizeof(args), "classify --algo %s %s %s", algo, rp, tp);
		rc = run_cli(args, &out, NULL, err, sizeof(err));
		cr_assert_eq(rc, 0, "case %s: exit %d: %s", sets[s], rc, err);
		for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
			struct wc_key k;
			long want, got;
			char *end;

			cr_assert_lt(i, tr.n, "case %s: more output lines than trace lines", sets[s]);
			got = strtol(line, &end, 10);
			cr_assert(*line && !*end, "case %s: line %zu is not a number: '%s'", sets[s],
				  i + 1, line);
			wcard_key_from_tuple(&tr.t[i], &k);
			want = tk_ref_lookup(&rs, &k);
			/* ClassBench files have one rule per line: line index = rule index. */
			cr_assert_eq(got, want, "case %s/%s: trace line %zu: CLI %ld, reference %ld",
				     sets[s], algo, i + 1, got, want);
		}
		cr_assert_eq(i, tr.n, "case %s: %zu output lines for %zu trace lines", sets[s], i,
			     tr.n);
		free(out);
		wcard_ruleset_free(&rs);
		wcard_trace_free(&tr);
	}
	if (!found)
		cr_skip_test("ClassBench data not found (set WCARD_DATA to ../shared/data)");
}

Test(cli, classify_classbench_1k_bf, .timeout = 900)
{
	classify_sets("bf");
}

Test(cli, classify_classbench_1k_tm, .timeout = 900)
{
	classify_sets("tm");
}

Test(cli, classify_classbench_1k_static, .timeout = 900)
{
	classify_sets("static");
}

static void write_file(char *path, const char *text)
{
	int fd = mkstemp(path);

	cr_assert(fd >= 0, "mkstemp");
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text), "write %s", path);
	close(fd);
}

/* Human syntax rules, comments and blank lines: the index printed is the file's line. */
Test(cli, classify_human_rules)
{
	char rp[] = "/tmp/wcard-cli-rXXXXXX", tp[] = "/tmp/wcard-cli-tXXXXXX", args[256];
	char *out;
	int rc;

	write_file(rp, "# web servers\n"
		       "src 10.0.0.0/8, dst 192.168.1.0/24, tcp, dport 1024-65535, drop\n"
		       "\n"
		       "dst 192.168.1.0/24 proto udp dport 53 pass\n"
		       "proto tcp flags syn/syn|ack prio 0 drop\n");
	/* 10.1.1.1 -> 192.168.1.5 tcp 2000; udp 53; tcp SYN from elsewhere; nothing. */
	write_file(tp, "167837953\t3232235781\t1000\t2000\t6\t0\t0\n"
		       "167837953\t3232235781\t1000\t53\t17\t0\t0\n"
		       "3232235781\t167837953\t1000\t80\t6\t2\t0\n"
		       "3232235781\t167837953\t1000\t80\t17\t0\t0\n");
	snprintf(args, sizeof(args), "classify %s %s", rp, tp);
	rc = run_cli(args, &out, NULL, NULL, 0);
	cr_assert_eq(rc, 0, "case human rules: exit %d", rc);
	cr_assert_str_eq(out, "1\n3\n4\n-1\n", "case human rules: output '%s'", out);
	free(out);
	unlink(rp);
	unlink(tp);
}

/*
 * A dual-stack file: IPv4, IPv6 and both-family rules, priorities crossing
 * the families, and a trace of both with addresses as text. BPF, the
 * reference and the expected lines agree; stats show both parts; one
 * family's layout refuses the other family's rules, naming the line.
 */
Test(cli, classify_dual_stack)
{
	char rp[] = "/tmp/wcard-cli-rXXXXXX", tp[] = "/tmp/wcard-cli-tXXXXXX", args[256];
	char *out, *ref, err[4096];
	int rc;

	write_file(rp, "src 10.0.0.0/8 udp dport 53 prio 5 pass\n"
		       "src 2001:db8::/32 udp dport 53 prio 6 drop\n"
		       "udp dport 53 prio 7 drop\n"
		       "tcp dport 22 prio 1 drop\n"
		       "dst 2001:db8:1::/48 prio 0 pass\n");
	/* IPv4 DNS from 10/8; IPv6 DNS from 2001:db8::/32; from elsewhere, each family; */
	/* ssh in each family; IPv6 to 2001:db8:1::/48 (prio 0 beats ssh's 1); IPv4 nothing. */
	write_file(tp, "10.1.1.1 192.0.2.1 1000 53 17\n"
		       "2001:db8::5 2001:db8:9::1 1000 53 17\n"
		       "192.0.2.7 192.0.2.1 1000 53 17\n"
		       "fd00::1 fd00::2 1000 53 17\n"
		       "167837953 3232235781 1000 22 6 2\n"
		       "fd00::1 fd00::2 1000 22 6 2\n"
		       "fd00::1 2001:db8:1::9 1000 22 6 2\n"
		       "192.0.2.7 192.0.2.1 1000 80 6 2\n");
	snprintf(args, sizeof(args), "classify %s %s", rp, tp);
	rc = run_cli(args, &out, NULL, err, sizeof(err));
	cr_assert_eq(rc, 0, "case dual: exit %d: %s", rc, err);
	cr_assert_str_eq(out, "0\n1\n2\n2\n3\n3\n4\n-1\n", "case dual: output '%s'", out);
	snprintf(args, sizeof(args), "classify --algo ref %s %s", rp, tp);
	rc = run_cli(args, &ref, NULL, err, sizeof(err));
	cr_assert_eq(rc, 0, "case dual ref: exit %d: %s", rc, err);
	cr_assert_str_eq(out, ref, "case dual: BPF '%s', reference '%s'", out, ref);
	free(out);
	free(ref);
	snprintf(args, sizeof(args), "stats --json %s %s", rp, tp);
	rc = run_cli(args, &out, NULL, err, sizeof(err));
	cr_assert_eq(rc, 0, "case dual stats: exit %d: %s", rc, err);
	cr_assert(strstr(out, "\"parts\":[{\"family\":4,") && strstr(out, "{\"family\":6,") &&
			  strstr(out, "\"rules\":5,"),
		  "case dual stats: '%s'", out);
	free(out);
	/* One family's layout: the other family's rule is refused, by file and line. */
	snprintf(args, sizeof(args), "classify --layout ipv4-5tuple %s %s", rp, tp);
	rc = run_cli(args, &out, NULL, err, sizeof(err));
	cr_assert_eq(rc, 1, "case dual as ipv4: exit %d", rc);
	cr_assert(strstr(err, ":2: IPv6 address in an ipv4-5tuple rule set"),
		  "case dual as ipv4: '%s'", err);
	free(out);
	unlink(rp);
	unlink(tp);
}

/* A source-CIDR blocklist: --algo lpm (and auto, above 16 rules) through the LPM path. */
Test(cli, classify_cidr_blocklist_lpm)
{
	char rp[] = "/tmp/wcard-cli-rXXXXXX", tp[] = "/tmp/wcard-cli-tXXXXXX", args[256];
	char rules[4096] = "", *out, *sout;
	size_t n = 0;
	int rc, i;

	/* 20 /24s in 10.0.0.0/8, longer prefixes ranking better, and a /8 and a /0 under them. */
	for (i = 0; i < 20; i++)
		n += snprintf(rules + n, sizeof(rules) - n, "src 10.%d.%d.0/24 prio 1 drop\n", i, i);
	snprintf(rules + n, sizeof(rules) - n, "src 10.0.0.0/8 prio 2 pass\nsrc any prio 3 drop\n");
	write_file(rp, rules);
	/* 10.3.3.7, 10.3.4.7, 11.0.0.1 */
	write_file(tp, "167969543\t0\t1\t2\t6\t0\t0\n"
		       "167969799\t0\t1\t2\t6\t0\t0\n"
		       "184549377\t0\t1\t2\t6\t0\t0\n");
	snprintf(args, sizeof(args), "classify --algo lpm %s %s", rp, tp);
	rc = run_cli(args, &out, NULL, NULL, 0);
	cr_assert_eq(rc, 0, "case lpm: exit %d", rc);
	cr_assert_str_eq(out, "3\n20\n21\n", "case lpm: output '%s'", out);
	free(out);
	snprintf(args, sizeof(args), "stats %s", rp);
	rc = run_cli(args, &sout, NULL, NULL, 0);
	cr_assert_eq(rc, 0, "case lpm stats: exit %d", rc);
	cr_assert_not_null(strstr(sout, "algorithm     lpm"), "case auto picks lpm: '%s'", sout);
	free(sout);
	unlink(rp);
	unlink(tp);
}

/* A bad line: FILE:LINE: reason on stderr, nothing on stdout, non-zero exit. */
Test(cli, classify_bad_input)
{
	char rp[] = "/tmp/wcard-cli-rXXXXXX", tp[] = "/tmp/wcard-cli-tXXXXXX", args[256];
	char err[4096], want[512], *out;
	int rc;

	write_file(rp, "@10.0.0.0/8\t0.0.0.0/0\t0 : 65535\t0 : 65535\t0x06/0xFF\t\n"
		       "@10.0.0.0/33\t0.0.0.0/0\t0 : 65535\t0 : 65535\t0x06/0xFF\t\n");
	write_file(tp, "1\t2\t3\t4\t6\t0\t0\n");
	snprintf(args, sizeof(args), "classify %s %s", rp, tp);
	rc = run_cli(args, &out, NULL, err, sizeof(err));
	cr_assert_neq(rc, 0, "case bad rule: exit 0");
	cr_assert_str_empty(out, "case bad rule: stdout '%s'", out);
	snprintf(want, sizeof(want), "%s:2:", rp);
	cr_assert(strstr(err, want), "case bad rule: stderr '%s' lacks '%s'", err, want);
	free(out);

	snprintf(args, sizeof(args), "classify %s /nonexistent/trace", rp);
	rc = run_cli(args, &out, NULL, err, sizeof(err));
	cr_assert_neq(rc, 0, "case missing trace: exit 0");
	free(out);
	rc = run_cli("classify onlyone", &out, NULL, err, sizeof(err));
	cr_assert_eq(rc, 2, "case usage: exit %d", rc);
	cr_assert(strstr(err, "Usage: wcard classify"), "case usage: stderr '%s'", err);
	free(out);
	rc = run_cli("classify --bogus a b", &out, NULL, err, sizeof(err));
	cr_assert_eq(rc, 2, "case unknown option: exit %d", rc);
	free(out);
	unlink(rp);
	unlink(tp);
}

/* --help comes from the command table: every command is listed, options per command. */
Test(cli, help)
{
	char *out;
	int rc = run_cli("--help", &out, NULL, NULL, 0);

	cr_assert_eq(rc, 0, "case --help: exit %d", rc);
	cr_assert(strstr(out, "classify") && strstr(out, "demo") && strstr(out, "gen"),
		  "case --help: '%s'", out);
	free(out);
	rc = run_cli("classify --help", &out, NULL, NULL, 0);
	cr_assert_eq(rc, 0, "case classify --help: exit %d", rc);
	cr_assert(strstr(out, "--algo") && strstr(out, "--verbose"), "case classify --help: '%s'",
		  out);
	free(out);
	/* create's actions: --default for no match, --nonip for frames that are not IP. */
	rc = run_cli("create --help", &out, NULL, NULL, 0);
	cr_assert_eq(rc, 0, "case create --help: exit %d", rc);
	cr_assert(strstr(out, "--default") && strstr(out, "--nonip ACTION"),
		  "case create --help: '%s'", out);
	free(out);
	rc = run_cli("help --man", &out, NULL, NULL, 0);
	cr_assert_eq(rc, 0, "case help --man: exit %d", rc);
	cr_assert(strstr(out, "\\fB\\-\\-nonip\\fR"), "case help --man: no --nonip");
	free(out);
}

/* --nonip takes pass or drop only, before anything is created. */
Test(cli, nonip_bad_value)
{
	char err[4096], *out;
	int rc;

	rc = run_cli("create x --nonip maybe --pin-dir /tmp/wcard-cli-no-such-dir", &out, NULL, err,
		     sizeof(err));
	cr_assert_eq(rc, 2, "case --nonip maybe: exit %d", rc);
	cr_assert(strstr(err, "--nonip must be pass or drop, not 'maybe'"),
		  "case --nonip maybe: '%s'", err);
	free(out);
}

/* gen output is what classify reads; the demo checks itself against the reference. */
Test(cli, gen_and_demo, .timeout = 300)
{
	char dir[] = "/tmp/wcard-cli-dXXXXXX", args[512], *out, err[4096];
	int rc;

	cr_assert_not_null(mkdtemp(dir), "mkdtemp");
	snprintf(args, sizeof(args), "demo --dir %s --rules 300 --packets 3000 --json", dir);
	rc = run_cli(args, &out, NULL, err, sizeof(err));
	cr_assert_eq(rc, 0, "case demo: exit %d: %s", rc, err);
	cr_assert(strstr(out, "\"agree\":3000"), "case demo: '%s'", out);
	free(out);
	snprintf(args, sizeof(args), "rm -rf %s", dir);
	cr_assert_eq(system(args), 0, "rm");
}

/* stats --json on a generated set: tables add up to the rules, trace probes counted. */
Test(cli, stats_json, .timeout = 300)
{
	char dir[] = "/tmp/wcard-cli-sXXXXXX", args[512], *out, err[4096];
	unsigned int rules = 0, tables = 0, sum = 0, r;
	const char *p;
	int rc;

	cr_assert_not_null(mkdtemp(dir), "mkdtemp");
	snprintf(args, sizeof(args), "gen --rules 2000 --packets 5000 %s/r %s/t", dir, dir);
	rc = run_cli(args, &out, NULL, err, sizeof(err));
	cr_assert_eq(rc, 0, "case gen: exit %d: %s", rc, err);
	free(out);
	snprintf(args, sizeof(args), "stats --algo tm --json %s/r %s/t", dir, dir);
	rc = run_cli(args, &out, NULL, err, sizeof(err));
	cr_assert_eq(rc, 0, "case stats: exit %d: %s", rc, err);
	cr_assert(sscanf(strstr(out, "\"rules\":") ?: "", "\"rules\":%u", &rules) == 1 &&
			  sscanf(strstr(out, "\"tables\":") ?: "", "\"tables\":%u", &tables) == 1,
		  "case stats: '%s'", out);
	cr_assert_eq(rules, 2000, "case stats: rules %u", rules);
	for (p = out; (p = strstr(p, "\"rules\":")); p++)
		if (sscanf(p, "\"rules\":%u", &r) == 1 && p != strstr(out, "\"rules\":"))
			sum += r;
	cr_assert_eq(sum, rules, "case stats: table rules add up to %u, not %u", sum, rules);
	cr_assert_gt(tables, 0, "case stats: no tables");
	cr_assert(strstr(out, "\"avg_tables_probed\":"), "case stats: no probe count: '%s'", out);
	free(out);
	snprintf(args, sizeof(args), "rm -rf %s", dir);
	cr_assert_eq(system(args), 0, "rm");
}

/* Bad options: unknown algorithm, a pool without static, a malformed pool. */
Test(cli, algo_errors)
{
	char rp[] = "/tmp/wcard-cli-rXXXXXX", tp[] = "/tmp/wcard-cli-tXXXXXX", args[512];
	char err[4096], *out;
	int rc;

	write_file(rp, "src 10.0.0.0/8 drop\n");
	write_file(tp, "1\t2\t3\t4\t6\t0\t0\n");
	snprintf(args, sizeof(args), "classify --algo nope %s %s", rp, tp);
	rc = run_cli(args, &out, NULL, err, sizeof(err));
	cr_assert_neq(rc, 0, "case unknown algo: exit 0");
	cr_assert(strstr(err, "unknown --algo"), "case unknown algo: '%s'", err);
	free(out);
	snprintf(args, sizeof(args), "classify --algo tm --pool src=8 %s %s", rp, tp);
	rc = run_cli(args, &out, NULL, err, sizeof(err));
	cr_assert(rc != 0 && strstr(err, "--pool needs --algo static"), "case pool w/o static: '%s'",
		  err);
	free(out);
	snprintf(args, sizeof(args), "classify --algo static --pool src=40 %s %s", rp, tp);
	rc = run_cli(args, &out, NULL, err, sizeof(err));
	cr_assert(rc != 0 && strstr(err, "bad length"), "case pool length 40: '%s'", err);
	free(out);
	snprintf(args, sizeof(args), "classify --algo static --pool 'src=32 dst=32' %s %s", rp, tp);
	rc = run_cli(args, &out, NULL, err, sizeof(err));
	cr_assert(rc != 0 && strstr(err, "fits no table"), "case pool fits nothing: '%s'", err);
	free(out);
	unlink(rp);
	unlink(tp);
}

/*
 * wcard bench on one's own rules and routes: the engine of make bench, every
 * case checked before it is timed; --json rows for each algorithm.
 */
Test(cli, bench_rules_and_routes, .timeout = 300)
{
	char rules[] = "/tmp/wcard-cli-bench-rXXXXXX", routes[] = "/tmp/wcard-cli-bench-tXXXXXX";
	static const struct wcard_feature loop = { WCARD_FEAT_HELPER, BPF_FUNC_loop, NULL,
						   "bpf_loop", "5.17" };
	char args[512], err[4096], why[256];
	char *out;
	int rc;

	write_file(rules, "src 10.0.0.0/8 tcp dport 22 drop\n"
			  "dst 192.168.0.0/16 udp dport 53 pass\n"
			  "src 10.1.0.0/16 dst 10.2.0.0/16 prio 0 drop\n"
			  "tcp flags syn/syn|ack dport 80-443 drop\n");
	write_file(routes, "10.0.0.0/8 1\n10.1.0.0/16 2\n192.168.1.0/24 3\n2001:db8::/32 4\n");
	snprintf(args, sizeof(args), "bench --quick --json %s", rules);
	rc = run_cli(args, &out, NULL, err, sizeof(err));
	if (wcard_probe_features(&loop, 1, why, sizeof(why))) {
		/* Before 5.17 (make vmtest on 5.10): the kernel and the helper, not EINVAL. */
		cr_assert(rc != 0 && strstr(err, "lacks the bpf_loop helper") && strstr(err, "5.17"),
			  "case bench before bpf_loop: exit %d: %s", rc, err);
		cr_log_info("cli: bench on this kernel: %s", err);
		free(out);
		unlink(rules);
		unlink(routes);
		return;
	}
	cr_assert_eq(rc, 0, "case bench rules: exit %d: %s", rc, err);
	cr_assert(strstr(out, "\"algo\":\"bf\"") && strstr(out, "\"algo\":\"tm\"") &&
			  strstr(out, "\"algo\":\"static\"") && strstr(out, "\"kind\":\"ratio\""),
		  "case bench rules: rows: %s", out);
	free(out);
	snprintf(args, sizeof(args), "bench lpm --quick --json %s", routes);
	rc = run_cli(args, &out, NULL, err, sizeof(err));
	cr_assert_eq(rc, 0, "case bench lpm: exit %d: %s", rc, err);
	cr_assert(strstr(out, "\"algo\":\"dir24\"") && strstr(out, "\"algo\":\"trie8\"") &&
			  strstr(out, "\"algo\":\"trie\""),
		  "case bench lpm: rows: %s", out);
	free(out);
	/* Bad input is named, and nothing runs. */
	unlink(rules);
	strcpy(rules, "/tmp/wcard-cli-bench-rXXXXXX");
	write_file(rules, "src 10.0.0.0/8 drop\nsrc 10.0.0.300 drop\n");
	snprintf(args, sizeof(args), "bench %s", rules);
	rc = run_cli(args, &out, NULL, err, sizeof(err));
	cr_assert_eq(rc, 1, "case bench bad rules: exit %d", rc);
	cr_assert(strstr(err, ":2: ") && strstr(err, "10.0.0.300"), "case bench bad rules: '%s'",
		  err);
	free(out);
	unlink(rules);
	unlink(routes);
}
