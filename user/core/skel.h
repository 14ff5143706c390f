/* skel.h: open a wcard skeleton with the BPF build the kernel needs; libwcard, its tests, bench. */
#ifndef WCARD_SKEL_H
#define WCARD_SKEL_H

#include <errno.h>
#include <stdlib.h>
#include <bpf/libbpf.h>
#include <wcard/wcard.h>

/*
 * name__open(), with the ELF bytes of the build wcard_bpf_build() picks (or,
 * wcard_skel_open_as, of build b: one recorded by a pinned object). The
 * caller includes both "name.skel.h" and "compat/name.skel.h"; the compat
 * skeleton only lends its bytes (name_compat__elf_bytes). Both builds have the
 * same maps, programs and globals, in the same layout (scripts/skel-match.sh
 * checks it when the compat skeleton is made), so the default skeleton's
 * struct fits either. NULL with errno set on failure.
 */
#define wcard_skel_open(name) wcard_skel_open_as(name, wcard_bpf_build())
#define wcard_skel_open_as(name, b)                                                                \
	({                                                                                         \
		struct name *__s = calloc(1, sizeof(*__s));                                        \
		int __e = __s ? name##__create_skeleton(__s) : -ENOMEM;                            \
                                                                                                   \
		if (!__e && (b) == WCARD_BPF_COMPAT)                                               \
			__s->skeleton->data =                                                      \
				(void *)name##_compat__elf_bytes(&__s->skeleton->data_sz);         \
		if (!__e)                                                                          \
			__e = bpf_object__open_skeleton(__s->skeleton, NULL);                      \
		if (__e) {                                                                         \
			name##__destroy(__s);                                                      \
			__s = NULL;                                                                \
			errno = -__e;                                                              \
		}                                                                                  \
		__s;                                                                               \
	})

#endif /* WCARD_SKEL_H */
