/* fuzz.h: what the libFuzzer targets in tests/fuzz share; fuzz targets only. */
#ifndef WCARD_FUZZ_H
#define WCARD_FUZZ_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A property failed: say which and stop, so libFuzzer saves the input as a crash. */
static inline void __attribute__((noreturn, format(printf, 1, 2))) fz_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz: property violated: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/*
 * The input as a file the loaders can open (they read files, gzip included):
 * a memfd, named by /proc/self/fd/N in path. Returns the fd (close it), or -1.
 */
static inline int fz_file(const uint8_t *data, size_t size, char *path, size_t len)
{
	int fd = memfd_create("wcard-fuzz", 0);

	if (fd < 0)
		return -1;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

/* A NUL-terminated copy of the input (embedded NULs end the text early). */
static inline char *fz_text(const uint8_t *data, size_t size)
{
	char *t = malloc(size + 1);

	if (!t)
		abort();
	memcpy(t, data, size);
	t[size] = 0;
	return t;
}

#endif /* WCARD_FUZZ_H */
