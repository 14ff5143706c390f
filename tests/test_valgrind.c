// SPDX-License-Identifier: MIT
/*
 * test_valgrind.c: every CLI command under valgrind memcheck, on real pinned
 * classifiers and LPMs (suite "valgrind"): no invalid access, no use of
 * uninitialised memory, no leak (definite, indirect or possible), on the
 * success paths and on the error paths.
 */
#include <stdio.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <time.h>
#include "wctest.h"

#define VG_ERR 99 /* valgrind's exit code when it found something */

static char dir[256], tmp[] = "/tmp/wcard-vg-XXXXXX";

static void vg_setup(void)
{
	const char *ld = getenv("WCARD_LDFLAGS");

	/* ASan and valgrind cannot watch one process together: memcheck runs on the plain build. */
	if (ld && strstr(ld, "-fsanitize"))
		cr_skip_test("the CLI is built with sanitizers (make test runs memcheck on the plain "
			     "build)");
	wt_pin_dir(dir, sizeof(dir), "vg");
	cr_assert_not_null(mkdtemp(tmp), "case setup: mkdtemp");
}

static void vg_teardown(void)
{
	char out[4096];

	wt_sh(out, sizeof(out), "rm -rf %s %s", dir, tmp);
}

TestSuite(valgrind, .init = vg_setup, .fini = vg_teardown, .timeout = 900);

/*
 * Run `wcard ARGS` under memcheck; the CLI's own exit code must be want.
 * valgrind's findings make it exit VG_ERR and are printed with the case.
 */
static void vg(int want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vg(int want, const char *fmt, ...)
{
	static char out[1 << 16];
	const char *bin = getenv("WCARD_BIN"), *src = getenv("WCARD_SRC");
	char args[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	rc = wt_sh(out, sizeof(out),
		   "cd %s && valgrind -q --error-exitcode=%d --leak-check=full "
		   "--show-leak-kinds=definite,indirect,possible "
		   "--errors-for-leak-kinds=definite,indirect,possible --track-origins=yes "
		   "--suppressions=%s/tests/valgrind.supp %s %s",
		   tmp, VG_ERR, src ? src : ".", bin ? bin : "build/wcard", args);
	cr_assert_neq(rc, VG_ERR, "case wcard %s: valgrind found errors:\n%s", args, out);
	cr_assert_eq(rc, want, "case wcard %s: exit %d, expected %d:\n%s", args, rc, want, out);
}

static void put(const char *name, const char *text)
{
	cr_assert_eq(wt_put(tmp, name, text), 0, "case setup: %s/%s", tmp, name);
}

Test(valgrind, classifier_commands)
{
	put("r1.txt", "src 10.0.0.0/8 dst 192.168.1.0/24 tcp dport 1024-65535 drop\n"
		      "src 10.1.0.0/16 udp pass\n");
	put("r2.txt", "dst 203.0.113.0/24 drop\nsport 53 udp value 4096\n");
	put("bad.txt", "src 10.0.0.0/8 drop\ndport 9-3 pass\n");
	vg(0, "--help");
	vg(0, "help --man");
	vg(0, "gen --rules 300 --packets 2000 --seed 3 gen.rules gen.trace");
	vg(0, "classify --algo tm gen.rules gen.trace");
	vg(0, "stats --json gen.rules");
	vg(0, "create --pin-dir %s c1 r1.txt", dir);
	vg(0, "create --pin-dir %s --algo tm --max-rules 1000 c2 gen.rules", dir);
	vg(0, "rule add --pin-dir %s c1 'src 1.2.3.0/24 drop'", dir);
	vg(0, "rule update --pin-dir %s c1 0 prio 7 pass", dir);
	vg(0, "rule del --pin-dir %s c1 1", dir);
	vg(0, "rules load --pin-dir %s c1 r2.txt", dir);
	vg(0, "rules list --json --pin-dir %s c1", dir);
	vg(0, "rules dump --pin-dir %s c2", dir);
	vg(0, "stats --json --pin-dir %s c2", dir);
	/* Error paths: a bad file (nothing applied), an unknown id, no such classifier. */
	vg(1, "rules load --pin-dir %s c1 bad.txt", dir);
	vg(1, "rule del --pin-dir %s c1 999", dir);
	vg(1, "stats --pin-dir %s nosuch", dir);
	vg(2, "create --bogus-option x");
	vg(0, "destroy --pin-dir %s c1", dir);
	vg(0, "destroy --pin-dir %s c2", dir);
}

Test(valgrind, lpm_commands)
{
	put("routes.txt", "10.0.0.0/8 1\n10.1.0.0/16 2\n192.168.0.0/24 3\n2001:db8::/32 4\n"
			  "::/0 5\n");
	put("addrs.txt", "10.1.2.3\n10.2.0.1\n192.168.0.9\n8.8.8.8\n2001:db8::1\n::1\n");
	put("bad.txt", "10.0.0.0/8 1\n10.0.0.0/40 2\n");
	vg(0, "lpm lookup routes.txt addrs.txt");
	vg(0, "lpm lookup --v4 trie routes.txt addrs.txt");
	vg(0, "lpm create --pin-dir %s l1 routes.txt", dir);
	vg(0, "lpm add --pin-dir %s l1 172.16.0.0/12 9", dir);
	vg(0, "lpm del --pin-dir %s l1 10.1.0.0/16", dir);
	vg(0, "lpm get --pin-dir %s l1 10.1.2.3 2001:db8::5", dir);
	vg(1, "lpm load --pin-dir %s l1 bad.txt", dir);
	vg(0, "lpm dump --pin-dir %s l1", dir);
	vg(0, "lpm stats --json --pin-dir %s l1", dir);
	vg(0, "lpm destroy --pin-dir %s l1", dir);
}
