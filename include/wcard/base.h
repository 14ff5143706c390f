/* base.h: what libwcard's headers build on: shared types, the print hook; user space only. */
#ifndef WCARD_BASE_H
#define WCARD_BASE_H

#include <stdarg.h>
#include <wcard/wcard_common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What libwcard exports: everything else in it is hidden (and local in libwcard.a). */
#ifndef WCARD_API
#define WCARD_API __attribute__((visibility("default")))
#endif

typedef unsigned __int128 wc_u128;

/*
 * libwcard's messages (warnings, progress, debug detail) go through one hook,
 * its own: the library never changes libbpf's print callback, which stays the
 * application's (libbpf_set_print). The default prints warnings to stderr.
 */
enum wcard_print_level {
	WCARD_WARN,
	WCARD_INFO,
	WCARD_DEBUG,
};
typedef int (*wcard_print_fn_t)(enum wcard_print_level level, const char *fmt, va_list args);
/* Set the hook (NULL: print nothing); returns the previous one. */
WCARD_API wcard_print_fn_t wcard_set_print(wcard_print_fn_t fn);

#ifdef __cplusplus
}
#endif

#endif /* WCARD_BASE_H */
