// SPDX-License-Identifier: MIT
/* gp.c: grace periods through an ARRAY_OF_MAPS update (see gp.h). */
#include <errno.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "core.h"

void gp_init(struct gp *g)
{
	g->outer = g->inner = -1;
}

int gp_wait(struct gp *g)
{
	LIBBPF_OPTS(bpf_map_create_opts, o);
	__u32 zero = 0;

	if (g->inner < 0) {
		g->inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "wc_gp_in", 4, 4, 1, NULL);
		if (g->inner < 0)
			return -errno;
	}
	if (g->outer < 0) {
		o.inner_map_fd = g->inner;
		g->outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "wc_gp", 4, 4, 1, &o);
		if (g->outer < 0)
			return -errno;
	}
	return bpf_map_update_elem(g->outer, &zero, &g->inner, 0) ? -errno : 0;
}

void gp_free(struct gp *g)
{
	if (g->outer >= 0)
		close(g->outer);
	if (g->inner >= 0)
		close(g->inner);
	gp_init(g);
}
