// SPDX-License-Identifier: MIT
/* test_install.c: make install into a temporary DESTDIR, then the example built and run from the installed files only (suite "install"). */
#include <stdio.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "wctest.h"

static char stage[64];

static void stage_cleanup(void)
{
	char cmd[128];

	if (*stage) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", stage);
		if (system(cmd)) {
			/* a leftover temporary directory */
		}
	}
}

Test(install, destdir_then_example_from_installed_files, .timeout = 600, .fini = stage_cleanup)
{
	static const char *const files[] = {
		"usr/bin/wcard",
		"usr/lib/libwcard.a",
		"usr/lib/libwcard.so",
		"usr/lib/libwcard.so.0",
		"usr/include/wcard/wcard.h",
		"usr/include/wcard/base.h",
		"usr/include/wcard/rules.h",
		"usr/include/wcard/lpm.h",
		"usr/include/wcard/clf.h",
		"usr/include/wcard/probe.h",
		"usr/include/wcard/wcard_common.h",
		"usr/include/wcard/classify.bpf.h",
		"usr/include/wcard/parse.bpf.h",
		"usr/include/wcard/lpm.bpf.h",
		"usr/include/wcard/libwcard.subskel.h",
		"usr/share/wcard/bpf/wcard_xdp.bpf.o",
		"usr/share/wcard/bpf/libwcard.bpf.o",
		"usr/share/wcard/bpf/compat/wcard_xdp.bpf.o",
		"usr/share/wcard/bpf/compat/libwcard.bpf.o",
		"usr/lib/pkgconfig/wcard.pc",
		"usr/share/man/man1/wcard.1",
	};
	const char *src = getenv("WCARD_SRC"), *build = getenv("WCARD_BUILD");
	char out[1 << 16], path[512], d[128], rules[160];
	unsigned int i;
	const char *v;

	if (!src || !build)
		cr_skip_test("WCARD_SRC and WCARD_BUILD are not set (run through make test)");
	snprintf(stage, sizeof(stage), "/tmp/wcard-install-XXXXXX");
	cr_assert_not_null(mkdtemp(stage), "mkdtemp");
	snprintf(d, sizeof(d), "%s/root", stage);
	/* The build is up to date: install only copies (a fresh make, no jobserver). */
	cr_assert_eq(wt_sh(out, sizeof(out),
			"env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C %s BUILD=%s "
			"DESTDIR=%s PREFIX=/usr install",
			src, build, d),
		     0, "case make install: %s", out);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", d, files[i]);
		cr_assert_eq(access(path, F_OK), 0, "case installed: %s is missing", files[i]);
	}
	cr_assert_eq(wt_sh(out, sizeof(out), "readelf -d %s/usr/lib/libwcard.so.0 | grep SONAME", d), 0,
		     "case soname: %s", out);
	cr_assert_not_null(strstr(out, "[libwcard.so.0]"), "case soname: %s", out);
	/* The man page covers every command --help lists. */
	cr_assert_eq(wt_sh(out, sizeof(out), "%s/usr/bin/wcard --help", d), 0, "case --help: %s", out);
	for (v = strstr(out, "Commands:\n"); v && (v = strstr(v, "\n  ")); v += 3) {
		char name[32], cmd[256];

		if (sscanf(v + 3, "%31s", name) != 1)
			break;
		snprintf(cmd, sizeof(cmd), "grep -q '^.SS \"wcard %s\"' %s/usr/share/man/man1/wcard.1",
			 name, d);
		cr_assert_eq(system(cmd), 0, "case man page: no section for command '%s'", name);
	}

	/* The example, both ways, from the installed headers and BPF library only. */
	cr_assert_eq(wt_sh(out, sizeof(out),
			"cd %1$s && clang-19 -g -O2 -target bpf -mcpu=v3 -I%2$s/usr/include "
			"-I/usr/include/$(uname -m)-linux-gnu -Wall -Werror -Wno-unused-function "
			"-c %3$s/examples/blocklist/blocklist.bpf.c -o hdr.tmp.o && "
			"bpftool gen object hdr.bpf.o hdr.tmp.o && "
			"clang-19 -g -O2 -target bpf -mcpu=v3 -I%2$s/usr/include "
			"-I/usr/include/$(uname -m)-linux-gnu -Wall -Werror -Wno-unused-function "
			"-DWCARD_LINK_LIB -c %3$s/examples/blocklist/blocklist.bpf.c -o link.tmp.o && "
			"bpftool gen object link.bpf.o link.tmp.o %2$s/usr/share/wcard/bpf/libwcard.bpf.o",
			stage, d, src),
		     0, "case example BPF from installed headers: %s", out);
	/* A sanitized build's library needs the sanitizer runtime in the program too. */
	cr_assert_eq(wt_sh(out, sizeof(out),
			"cd %1$s && cc %4$s -o blocklist %3$s/examples/blocklist/blocklist.c "
			"$(PKG_CONFIG_SYSROOT_DIR=%2$s PKG_CONFIG_PATH=%2$s/usr/lib/pkgconfig "
			"PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1 "
			"pkg-config --cflags --libs wcard)",
			stage, d, src, getenv("WCARD_LDFLAGS") ? getenv("WCARD_LDFLAGS") : ""),
		     0, "case example user half from pkg-config wcard: %s", out);
	cr_assert_eq(wt_sh(out, sizeof(out), "cd %s && LD_LIBRARY_PATH=%s/usr/lib ldd ./blocklist", stage,
			d),
		     0, "case ldd: %s", out);
	cr_assert_not_null(strstr(out, "/root/usr/lib/libwcard.so.0"),
			   "case the example uses the installed libwcard.so: %s", out);
	snprintf(rules, sizeof(rules), "%s/rules", stage);
	cr_assert_eq(wt_sh(out, sizeof(out), "printf 'src 10.0.0.0/8 prio 5 drop\\nsrc 10.9.0.0/16 prio 1 "
					  "pass\\nsrc 2001:db8:bad::/48 drop\\n' > %s", rules),
		     0, "case rules");
	for (i = 0; i < 2; i++) {
		const char *obj = i ? "link.bpf.o" : "hdr.bpf.o";

		cr_assert_eq(wt_sh(out, sizeof(out),
				"cd %s && LD_LIBRARY_PATH=%s/usr/lib ./blocklist %s %s 10.1.2.3 "
				"10.9.8.7 11.1.2.3 2001:db8:bad::1 2001:db8::1",
				stage, d, obj, rules),
			     0, "case run %s: %s", obj, out);
		cr_assert(strstr(out, "10.1.2.3 drop\n") && strstr(out, "10.9.8.7 pass\n") &&
				  strstr(out, "11.1.2.3 pass\n") &&
				  strstr(out, "2001:db8:bad::1 drop\n") &&
				  strstr(out, "2001:db8::1 pass\n"),
			  "case run %s: verdicts: %s", obj, out);
	}
	cr_log_info("install: DESTDIR staging complete; the example built both ways from the "
		    "installed files and gave the expected verdicts\n");
}

/*
 * libwcard's boundary: libwcard.so and libwcard.a define exactly the functions
 * the public headers declare WCARD_API, all named wcard_*, and nothing else;
 * and the library never sets libbpf's print callback, which is the
 * application's (it has wcard_set_print for its own messages).
 */
Test(install, exports_only_the_public_api, .timeout = 120)
{
	const char *src = getenv("WCARD_SRC"), *build = getenv("WCARD_BUILD");
	static char declared[1 << 16], declared_copy[1 << 16], so[1 << 16], ar[1 << 16];
	static char out[1 << 16];
	char *save, *w;
	unsigned int n = 0;

	if (!src || !build)
		cr_skip_test("WCARD_SRC and WCARD_BUILD are not set (run through make test)");
	/* Names in the public headers' WCARD_API declarations, one per line, sorted. */
	cr_assert_eq(wt_sh(declared, sizeof(declared),
			   "cat %s/include/wcard/*.h | tr '\\n' ' ' | grep -o 'WCARD_API [^;(]*(' | "
			   "grep -o 'wcard_[a-z0-9_]*($' | tr -d '(' | sort -u",
			   src),
		     0, "case declared: %s", declared);
	cr_assert_eq(wt_sh(so, sizeof(so),
			   "nm -D --defined-only %s/libwcard.so | awk '$2 != \"A\" {print $3}' | "
			   "sed 's/@.*//' | sort -u",
			   build),
		     0, "case libwcard.so exports: %s", so);
	cr_assert_eq(wt_sh(ar, sizeof(ar),
			   "nm -g --defined-only %s/libwcard.a | awk 'NF == 3 {print $3}' | sort -u",
			   build),
		     0, "case libwcard.a globals: %s", ar);
	snprintf(declared_copy, sizeof(declared_copy), "%s", declared);
	cr_assert_str_eq(so, declared, "case libwcard.so exports exactly the declared API:\n%s",
			 so);
	cr_assert_str_eq(ar, declared, "case libwcard.a's globals are exactly the declared API:\n%s",
			 ar);
	for (w = strtok_r(declared, "\n", &save); w; w = strtok_r(NULL, "\n", &save), n++)
		cr_assert_eq(strncmp(w, "wcard_", 6), 0, "case the API is named wcard_*: %s", w);
	cr_assert_gt(n, 50, "case the declared API was found: %u functions", n);
	/* And the prefix means public: no internal function of the library is named wcard_*. */
	cr_assert_eq(wt_sh(out, sizeof(out),
			   "nm --defined-only %1$s/obj/core/*.o %1$s/obj/rules/*.o %1$s/obj/tm/*.o "
			   "%1$s/obj/lpm/*.o %1$s/obj/clf/*.o | awk '$2 == \"T\" {print $3}' | "
			   "grep '^wcard_' | sort -u",
			   build),
		     0, "case library functions: %s", out);
	cr_assert_str_eq(out, declared_copy, "case every wcard_* function is public:\n%s", out);
	cr_assert_neq(wt_sh(out, sizeof(out), "nm -u %s/libwcard.a | grep -w libbpf_set_print", build),
		      0, "case libwcard never sets libbpf's print callback: %s", out);
	cr_log_info("install: libwcard.so and libwcard.a export the %u functions the headers "
		    "declare, nothing else\n", n);
}
