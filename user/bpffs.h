/* bpffs.h: pin directories on bpffs for the library's pin functions (bpffs.c); libwcard internal. */
#ifndef WCARD_BPFFS_H
#define WCARD_BPFFS_H

#include <stddef.h>

/*
 * wcard_bpffs_prepare(dir), then dir and its missing parents, mode 0700.
 * 0, or -errno with err saying why.
 */
int bpffs_mkdirs(const char *dir, char *err, size_t errlen);

#endif /* WCARD_BPFFS_H */
