// SPDX-License-Identifier: MIT
/* log.c: libwcard's messages: the print hook (wcard_set_print) and error strings for callers. */
#include <stdarg.h>
#include <stdio.h>
#include "core.h"

static int print_default(enum wcard_print_level level, const char *fmt, va_list ap)
{
	return level == WCARD_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

/*
 * The one process-wide setting, as libbpf_set_print is for libbpf: where the
 * messages go is the application's choice, not a handle's.
 */
static wcard_print_fn_t print_fn = print_default;

wcard_print_fn_t wcard_set_print(wcard_print_fn_t fn)
{
	wcard_print_fn_t old = print_fn;

	print_fn = fn;
	return old;
}

void pr(enum wcard_print_level level, const char *fmt, ...)
{
	wcard_print_fn_t fn = print_fn;
	va_list ap;

	if (!fn)
		return;
	va_start(ap, fmt);
	fn(level, fmt, ap);
	va_end(ap);
}

void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
