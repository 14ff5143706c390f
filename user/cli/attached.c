// SPDX-License-Identifier: MIT
/* attached.c: is a classifier's XDP filter on an interface (libxdp, netlink); for clf.c, xdp.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "cli.h"

static bool xdp_verbose;

static int xdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	return xdp_verbose ? vfprintf(stderr, fmt, ap) : 0;
}

static int bpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

/*
 * libxdp probes what the kernel supports by loading programs that may fail
 * (its dispatcher, then a fallback), and libbpf warns about each failure:
 * without -v, only our own summary speaks.
 */
void xdp_quiet(const struct cli *c)
{
	xdp_verbose = c->verbose;
	libxdp_set_print(xdp_print);
	if (!c->verbose)
		libbpf_set_print(bpf_quiet);
}

/* Id of the wc_config map pinned under path: the mark of the classifier's programs. */
int config_map_id(const char *path, __u32 *id)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char p[4200];
	int fd, ret = 0;

	snprintf(p, sizeof(p), "%s/" WCARD_CLF_PIN_MARK, path);
	fd = bpf_obj_get(p);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		ret = -errno;
	*id = info.id;
	close(fd);
	return ret;
}

/* Does the program (fd) use the map map_id? */
static bool prog_uses_map(int fd, __u32 map_id)
{
	struct bpf_prog_info info = {};
	__u32 ids[64], len = sizeof(info), i;

	info.nr_map_ids = 64;
	info.map_ids = (__u64)(unsigned long)ids;
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return false;
	for (i = 0; i < info.nr_map_ids && i < 64; i++)
		if (ids[i] == map_id)
			return true;
	return false;
}

/* The classifier's program among those attached (dispatcher or single program), or NULL. */
struct xdp_program *find_ours(const struct xdp_multiprog *mp, __u32 map_id)
{
	struct xdp_program *p = NULL;

	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		return p && prog_uses_map(xdp_program__fd(p), map_id) ? p : NULL;
	}
	while ((p = xdp_multiprog__next_prog(p, mp)))
		if (prog_uses_map(xdp_program__fd(p), map_id))
			return p;
	return NULL;
}

/* Id of the program pinned as path/prog (the XDP filter), or 0. */
__u32 pinned_prog_id(const char *path)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	char p[4200];
	int fd;

	snprintf(p, sizeof(p), "%s/prog", path);
	fd = bpf_obj_get(p);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

/*
 * Is the classifier (wc_config map map_id, filter prog_id) attached to
 * ifindex? 1 or 0, or -errno when that cannot be told: libxdp opens the
 * attached programs by id, which needs CAP_SYS_ADMIN; without it, the
 * interface's program ids (netlink, no privilege) still show our filter
 * attached alone, but not what a dispatcher runs.
 */
int attached_to(int ifindex, __u32 map_id, __u32 prog_id)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int err = libxdp_get_error(mp);
	bool found;

	if (!err) {
		found = find_ours(mp, map_id) != NULL;
		xdp_multiprog__close(mp);
		return found;
	}
	if (bpf_xdp_query(ifindex, 0, &q))
		return -errno;
	if (!q.prog_id && !q.skb_prog_id && !q.drv_prog_id && !q.hw_prog_id)
		return 0; /* no XDP program there at all */
	if (prog_id && (q.prog_id == prog_id || q.skb_prog_id == prog_id ||
			q.drv_prog_id == prog_id || q.hw_prog_id == prog_id))
		return 1;
	return err;
}
