// SPDX-License-Identifier: MIT
/*
 * test_budget.c: the verifier budget (suite "budget"). Every shipped program
 * is loaded at its largest configuration; its verified_insns and load time
 * (open, verify, maps) must stay within the limits committed in
 * tests/budget.txt, and every program measured must have a line there: the
 * line of the running kernel's series if there is one, else the line for any.
 * In the VM suite (tests/vm/guest.sh) WCARD_BUDGET_TIMES=0 leaves the load
 * times out (TCG runs BPF work 6-10x slower); kernels before 5.16 do not
 * report verified instructions, so only that the programs load is checked.
 */
#include <stdio.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <time.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "wctest.h"
#include "wcard_lpm4.skel.h"
#include "compat/wcard_lpm4.skel.h"
#include "core/skel.h"

/* A line of tests/budget.txt; kernel: a series ("6.12") or "any" (the sixth column left out). */
struct budget_line {
	char prog[64], build[16], config[64], kernel[16];
	unsigned int max_insns;
	double max_ms;
};

struct measured {
	char prog[64], config[64];
	__u32 insns;
	double load_ms;
};

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Does the running kernel report bpf_prog_info.verified_insns (Linux 5.16)? */
static bool kernel_reports_insns(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	return uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2 ||
	       major * 1000 + minor >= 5016;
}

/* verified_insns of program fd; 0 where the kernel does not report it. */
static __u32 insns_of(int fd, const char *what)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0, "case %s: prog info", what);
	if (kernel_reports_insns())
		cr_assert_gt(info.verified_insns, 0, "case %s: verified_insns unknown", what);
	return info.verified_insns;
}

static void add(struct measured *m, unsigned int *n, const char *prog, const char *config,
		__u32 insns, double ms)
{
	snprintf(m[*n].prog, sizeof(m[*n].prog), "%s", prog);
	snprintf(m[*n].config, sizeof(m[*n].config), "%s", config);
	m[*n].insns = insns;
	m[*n].load_ms = ms;
	cr_log_info("budget: %-16s %-22s %7u insns, %8.1f ms", prog, config, insns, ms);
	++*n;
}

/* The XDP filter with its maps, at a layout and rule capacity. */
static void measure_xdp(struct measured *m, unsigned int *n, const struct wcard_layout *l,
			__u32 max_rules, const char *config)
{
	struct wcard_clf_opts o = { .layout = l, .max_rules = max_rules };
	struct wcard_clf *c = NULL;
	char err[256] = "";
	double t0 = now_ms();

	cr_assert_eq(wcard_clf_create(&o, &c, err, sizeof(err)), 0, "case %s: %s", config, err);
	add(m, n, "wc_xdp_filter", config, insns_of(wcard_clf_prog_fd(c), config), now_ms() - t0);
	wcard_clf_destroy(c);
}

/* The LPM lookup programs (their size does not depend on the tables'). */
static void measure_lpm(struct measured *m, unsigned int *n, bool trie)
{
	struct wcard_lpm4 *skel;
	double t0 = now_ms(), ms;

	skel = wcard_skel_open(wcard_lpm4);
	cr_assert_not_null(skel, "case lpm: open");
	skel->rodata->wc_lpm4_trie = trie;
	cr_assert_eq(wcard_lpm4__load(skel), 0, "case lpm: load");
	ms = now_ms() - t0;
	add(m, n, "wc_lpm4_run", trie ? "trie4" : "dir24",
	    insns_of(bpf_program__fd(skel->progs.wc_lpm4_run), "lpm4"), ms);
	if (!trie)
		add(m, n, "wc_lpm6_run", "trie6",
		    insns_of(bpf_program__fd(skel->progs.wc_lpm6_run), "lpm6"), ms);
	wcard_lpm4__destroy(skel);
}

/* The example application, header-only and linked with libwcard.bpf.o, at WC_MAX_RULES. */
static void measure_example(struct measured *m, unsigned int *n, const char *variant)
{
	struct bpf_object *obj;
	char path[512], rel[64], config[32];
	double t0 = now_ms();

	snprintf(rel, sizeof(rel), "examples/blocklist_%s.bpf.o", variant);
	wt_bpf_obj(rel, path, sizeof(path));
	obj = bpf_object__open_file(path, NULL);
	cr_assert_not_null(obj, "case example %s: open %s", variant, path);
	cr_assert_eq(wcard_object_prepare(obj, WC_MAX_RULES), 0, "case example %s: prepare",
		     variant);
	cr_assert_eq(bpf_object__load(obj), 0, "case example %s: load", variant);
	snprintf(config, sizeof(config), "%s,%u", variant, WC_MAX_RULES);
	add(m, n, "blocklist", config,
	    insns_of(bpf_program__fd(bpf_object__find_program_by_name(obj, "blocklist")), config),
	    now_ms() - t0);
	bpf_object__close(obj);
}

Test(budget, verified_insns_and_load_time, .timeout = 300)
{
	const char *src = getenv("WCARD_SRC") ? getenv("WCARD_SRC") : ".";
	const char *te = getenv("WCARD_BUDGET_TIMES");
	bool times = !te || strcmp(te, "0");
	struct measured m[16];
	char why[2048] = "";
	size_t over = 0;
	struct utsname u;
	unsigned int n = 0, i;
	char path[512], line[256], cfg[32], series[32];
	struct budget_line bl[64];
	unsigned int nl = 0, k;
	int major = 0, minor = 0;
	FILE *f;

	cr_assert_eq(uname(&u), 0, "case budget: uname");
	sscanf(u.release, "%d.%d", &major, &minor);
	snprintf(cfg, sizeof(cfg), "ipv4,%u", WC_DEFAULT_MAX_RULES);
	measure_xdp(m, &n, wcard_layout_ipv4(), WC_DEFAULT_MAX_RULES, cfg);
	snprintf(cfg, sizeof(cfg), "ipv6,%u", WC_MAX_RULES);
	measure_xdp(m, &n, wcard_layout_ipv6(), WC_MAX_RULES, cfg);
	snprintf(cfg, sizeof(cfg), "inet,%u", WC_DEFAULT_MAX_RULES);
	measure_xdp(m, &n, wcard_layout_inet(), WC_DEFAULT_MAX_RULES, cfg);
	measure_lpm(m, &n, false);
	measure_lpm(m, &n, true);
	measure_example(m, &n, "hdr");
	measure_example(m, &n, "link");

	snprintf(series, sizeof(series), "%d.%d", major, minor);
	snprintf(path, sizeof(path), "%s/tests/budget.txt", src);
	f = fopen(path, "r");
	cr_assert_not_null(f, "case budget: %s", path);
	while (fgets(line, sizeof(line), f)) {
		struct budget_line *b = &bl[nl];
		int got;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		cr_assert_lt(nl, sizeof(bl) / sizeof(bl[0]), "case budget: too many lines");
		got = sscanf(line, "%63s %15s %63s %u %lf %15s", b->prog, b->build, b->config,
			     &b->max_insns, &b->max_ms, b->kernel);
		cr_assert(got == 5 || got == 6, "case budget: %s: bad line '%s'", path, line);
		if (got == 5)
			snprintf(b->kernel, sizeof(b->kernel), "any");
		/* The lines of the other build (wcard_bpf_build) are for a run of that one. */
		if (!strcmp(b->build, wcard_bpf_build_name(wcard_bpf_build())))
			nl++;
	}
	fclose(f);
	for (k = 0; k < nl; k++) {
		for (i = 0; i < n; i++)
			if (!strcmp(m[i].prog, bl[k].prog) && !strcmp(m[i].config, bl[k].config))
				break;
		cr_assert_lt(i, n, "case budget: %s %s %s in %s was not measured", bl[k].prog,
			     bl[k].build, bl[k].config, path);
	}
	for (i = 0; i < n; i++) {
		const struct budget_line *b = NULL;

		/* This kernel series' own line, else the one for any kernel. */
		for (k = 0; k < nl; k++) {
			if (strcmp(m[i].prog, bl[k].prog) || strcmp(m[i].config, bl[k].config))
				continue;
			if (!strcmp(bl[k].kernel, series))
				b = &bl[k];
			else if (!b && !strcmp(bl[k].kernel, "any"))
				b = &bl[k];
		}
		cr_assert_not_null(b, "case budget: %s %s has no line in %s", m[i].prog,
				   m[i].config, path);
		/* Every program over its budget in one message, not the first alone. */
		if (m[i].insns > b->max_insns)
			over += snprintf(why + over, sizeof(why) - over,
					 "%s %s: %u verified instructions, budget %u (kernel %s); ",
					 b->prog, b->config, m[i].insns, b->max_insns, b->kernel);
		if (times && m[i].load_ms > b->max_ms)
			over += snprintf(why + over, sizeof(why) - over,
					 "%s %s: load took %.0f ms, budget %.0f; ", b->prog,
					 b->config, m[i].load_ms, b->max_ms);
		if (over >= sizeof(why))
			over = sizeof(why) - 1;
	}
	cr_assert_eq(over, 0, "case budget: over on Linux %s (%s build): %s", u.release,
		     wcard_bpf_build_name(wcard_bpf_build()), why);
	if (!times)
		cr_log_info("budget: load times not checked (WCARD_BUDGET_TIMES=0)");
	if (!kernel_reports_insns())
		cr_log_info("budget: this kernel reports no verified instructions (Linux 5.16 does): "
			    "the programs load, their counts are not checked");
}
