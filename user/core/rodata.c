// SPDX-License-Identifier: MIT
/* rodata.c: load-time knobs (.rodata variables) of a BPF object before load; libwcard. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "core.h"

/*
 * .rodata of obj: size bytes at offset off of variable var, read into get or
 * (before load) written from set.
 */
static int rodata_rw(struct bpf_object *obj, const char *var, size_t off, size_t len, void *get,
		     const void *set)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec;
	struct bpf_map *map;
	const char *data;
	size_t size = 0;
	int id, k, ret;
	char *copy;

	bpf_object__for_each_map(map, obj) {
		const char *n = bpf_map__name(map);
		size_t nl = strlen(n);

		if (nl >= 7 && !strcmp(n + nl - 7, ".rodata"))
			break;
	}
	id = btf ? btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC) : -ENOENT;
	data = map ? bpf_map__initial_value(map, &size) : NULL;
	if (!data || id < 0)
		return -ENOENT;
	sec = btf__type_by_id(btf, id);
	for (k = 0, vs = btf_var_secinfos(sec); k < btf_vlen(sec); k++, vs++) {
		const struct btf_type *v = btf__type_by_id(btf, vs->type);

		if (strcmp(btf__name_by_offset(btf, v->name_off), var))
			continue;
		if (off + len > vs->size || vs->offset + vs->size > size)
			return -EINVAL;
		off += vs->offset;
		if (get) {
			memcpy(get, data + off, len);
			return 0;
		}
		copy = malloc(size);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data, size);
		memcpy(copy + off, set, len);
		ret = bpf_map__set_initial_value(map, copy, size);
		free(copy);
		return ret;
	}
	return -ENOENT;
}

int core_rodata_u32(struct bpf_object *obj, const char *var, unsigned int i, __u32 *get,
		    const __u32 *set)
{
	return rodata_rw(obj, var, (size_t)i * sizeof(__u32), sizeof(__u32), get, set);
}

int core_rodata_set_bool(struct bpf_object *obj, const char *var, bool set)
{
	return rodata_rw(obj, var, 0, sizeof(set), NULL, &set);
}

int core_rodata_get_bool(struct bpf_object *obj, const char *var, bool *get)
{
	return rodata_rw(obj, var, 0, sizeof(*get), get, NULL);
}
