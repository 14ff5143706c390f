// SPDX-License-Identifier: MIT
/* xdp.c: wcard attach and detach: a pinned classifier's XDP filter via libxdp; for main.c. */
#include <stdio.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "cli.h"

static int parse_mode(const char *s, enum xdp_attach_mode *mode)
{
	if (!s)
		*mode = XDP_MODE_UNSPEC; /* native where the driver has it, else skb */
	else if (!strcmp(s, "native"))
		*mode = XDP_MODE_NATIVE;
	else if (!strcmp(s, "skb"))
		*mode = XDP_MODE_SKB;
	else
		return -EINVAL;
	return 0;
}

static const char *mode_name(enum xdp_attach_mode m)
{
	return m == XDP_MODE_NATIVE ? "native" : m == XDP_MODE_SKB ? "skb" :
	       m == XDP_MODE_HW ? "hw" : "unspecified";
}

/*
 * A new instance of the XDP filter over the maps pinned under path: its own
 * maps are replaced by the pinned ones of the same name, so it classifies
 * with the classifier's rules and counts into its counters.
 */
static int open_over_pins(const char *path, struct bpf_object **out, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "wcard_xdp");
	struct bpf_object *obj;
	struct bpf_map *m;
	const void *elf;
	size_t sz;
	int ret = 0;

	elf = wcard_xdp_object(&sz);
	obj = bpf_object__open_mem(elf, sz, &oo);
	if (!obj)
		return -errno;
	bpf_object__for_each_map(m, obj) {
		const char *name = bpf_map__name(m);
		char p[4200];
		int fd;

		/* .rodata: the program's own constants; its scratch and verdict maps. */
		if (strchr(name, '.') || WC_MAP_PER_PROG(name))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, name);
		fd = bpf_obj_get(p);
		if (fd < 0) {
			ret = -errno;
			snprintf(err, errlen, "%s: %s (the classifier was made by another wcard?)", p,
				 strerror(errno));
			break;
		}
		ret = bpf_map__reuse_fd(m, fd);
		close(fd);
		if (ret) {
			snprintf(err, errlen, "%s: %s", p, strerror(-ret));
			break;
		}
	}
	/* The LPM tries' image layout: the classifier's, not the object's defaults. */
	if (!ret)
		ret = wcard_clf_pinned_object(obj, path, err, errlen);
	if (ret) {
		bpf_object__close(obj);
		return ret;
	}
	*out = obj;
	return 0;
}

int clf_attach_cmd(struct cli *c)
{
	char path[4096], err[4096 + ERRLEN] = "";
	struct xdp_program *xp = NULL;
	struct bpf_object *obj = NULL;
	struct wcard_clf *clf = NULL;
	enum xdp_attach_mode mode;
	int ret, lock = -1, ifindex;
	__u32 id;

	xdp_quiet(c);
	if (pin_path(c, c->argv[0], path, sizeof(path)))
		return 2;
	if (parse_mode(c->mode, &mode)) {
		fprintf(stderr, "wcard attach: --mode must be native or skb, not '%s'\n", c->mode);
		return 2;
	}
	ifindex = if_nametoindex(c->argv[1]);
	if (!ifindex) {
		fprintf(stderr, "wcard attach: no interface '%s'\n", c->argv[1]);
		return 1;
	}
	/* Opening checks magic, version and layout (and rebuilds from the maps). */
	ret = clf_pinned(c, "attach", NULL, &clf, &lock);
	if (ret)
		goto out;
	xdp_quiet(c);
	ret = config_map_id(path, &id);
	if (!ret && attached_to(ifindex, id, pinned_prog_id(path)) > 0) {
		fprintf(stderr, "wcard attach: %s is already attached to %s\n", c->argv[0],
			c->argv[1]);
		ret = -EEXIST;
		goto out;
	}
	if (!ret)
		ret = open_over_pins(path, &obj, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "wcard attach: %s\n", *err ? err : strerror(-ret));
		goto out;
	}
	xp = xdp_program__from_bpf_obj(obj, "xdp");
	ret = libxdp_get_error(xp);
	if (ret) {
		xp = NULL;
	} else {
		/* libxdp: a dispatcher, so other XDP programs can share the interface. */
		ret = xdp_program__attach(xp, ifindex, mode, 0);
	}
	if (!ret) {
		struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
		bool ok = !libxdp_get_error(mp), alone = !ok || xdp_multiprog__is_legacy(mp);

		fprintf(stderr, "wcard: %s attached to %s (%s mode, %s)\n", c->argv[0], c->argv[1],
			mode_name(ok ? xdp_multiprog__attach_mode(mp) : mode),
			alone ? "alone: libxdp could not use its dispatcher on this kernel (-v "
				"says why), so no other XDP program can share the interface" :
				"through the libxdp dispatcher");
		if (ok)
			xdp_multiprog__close(mp);
		goto out;
	}
	/* No dispatcher here: the pinned program itself, alone on the interface. */
	{
		char p[4200], why[128];
		__u32 flags = XDP_FLAGS_UPDATE_IF_NOEXIST |
			      (mode == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE :
			       mode == XDP_MODE_NATIVE ? XDP_FLAGS_DRV_MODE : 0);
		int fd;

		libxdp_strerror(ret, why, sizeof(why));
		snprintf(p, sizeof(p), "%s/prog", path);
		fd = bpf_obj_get(p);
		if (fd < 0) {
			fprintf(stderr, "wcard attach: libxdp: %s; and %s: %s\n", why, p,
				strerror(errno));
			ret = -errno;
			goto out;
		}
		ret = bpf_xdp_attach(ifindex, fd, flags, NULL);
		close(fd);
		if (ret) {
			fprintf(stderr, "wcard attach: %s: libxdp: %s; plain attach: %s%s\n",
				c->argv[1], why, strerror(-ret),
				ret == -EBUSY || ret == -EEXIST ?
					" (another XDP program is attached)" : "");
			goto out;
		}
		fprintf(stderr, "wcard: libxdp could not attach (%s): %s attached to %s directly "
				"(%s mode); no other XDP program can share the interface\n",
			why, c->argv[0], c->argv[1], mode_name(mode));
	}
out:
	xdp_program__close(xp);
	bpf_object__close(obj);
	clf_release(clf, lock);
	return ret ? 1 : 0;
}

/*
 * Detach without libxdp's view of the interface (it needs CAP_SYS_ADMIN to
 * open attached programs): only our filter attached alone, found by its id.
 */
static int detach_alone(struct cli *c, int ifindex, const char *path, int why)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	__u32 prog = pinned_prog_id(path), flags;

	if (bpf_xdp_query(ifindex, 0, &q))
		return -errno;
	if (prog && (q.skb_prog_id == prog || q.drv_prog_id == prog)) {
		char p[4200];
		int fd, ret;

		/* Replace exactly our program with none: never whatever came meanwhile. */
		snprintf(p, sizeof(p), "%s/prog", path);
		fd = bpf_obj_get(p);
		if (fd < 0)
			return -errno;
		{
			LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = fd);

			flags = (q.skb_prog_id == prog ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE) |
				XDP_FLAGS_REPLACE;
			ret = bpf_xdp_attach(ifindex, -1, flags, &o) ? -errno : 0;
		}
		close(fd);
		return ret;
	}
	if (q.prog_id || q.skb_prog_id || q.drv_prog_id || q.hw_prog_id)
		fprintf(stderr, "wcard detach: cannot tell whether %s is among the XDP programs on "
				"%s: %s (inspecting them needs CAP_SYS_ADMIN)\n",
			c->argv[0], c->argv[1], strerror(-why));
	else
		fprintf(stderr, "wcard detach: %s is not attached to %s\n", c->argv[0], c->argv[1]);
	return -ENOENT;
}

int clf_detach_cmd(struct cli *c)
{
	struct xdp_multiprog *mp = NULL;
	struct xdp_program *p;
	char path[4096];
	int ret, lock, ifindex;
	__u32 id;

	xdp_quiet(c);
	if (pin_path(c, c->argv[0], path, sizeof(path)))
		return 2;
	ifindex = if_nametoindex(c->argv[1]);
	if (!ifindex) {
		fprintf(stderr, "wcard detach: no interface '%s'\n", c->argv[1]);
		return 1;
	}
	lock = pin_lock(path, false);
	if (lock < 0) {
		fprintf(stderr, "wcard detach: %s: %s\n", path, strerror(-lock));
		return 1;
	}
	ret = config_map_id(path, &id);
	if (ret) {
		fprintf(stderr, "wcard detach: %s: not a classifier (%s)\n", path, strerror(-ret));
		goto out;
	}
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (libxdp_get_error(mp)) {
		ret = detach_alone(c, ifindex, path, libxdp_get_error(mp));
		mp = NULL;
		if (!ret)
			fprintf(stderr, "wcard: %s detached from %s\n", c->argv[0], c->argv[1]);
		else if (ret != -ENOENT)
			fprintf(stderr, "wcard detach: %s: %s\n", c->argv[1], strerror(-ret));
		goto out;
	}
	p = find_ours(mp, id);
	if (!p) {
		fprintf(stderr, "wcard detach: %s is not attached to %s\n", c->argv[0], c->argv[1]);
		ret = -ENOENT;
		goto out;
	}
	if (xdp_multiprog__is_legacy(mp))
		ret = xdp_multiprog__detach(mp);
	else
		ret = xdp_program__detach(p, ifindex, xdp_multiprog__attach_mode(mp), 0);
	if (ret)
		fprintf(stderr, "wcard detach: %s: %s\n", c->argv[1], strerror(-ret));
	else
		fprintf(stderr, "wcard: %s detached from %s\n", c->argv[0], c->argv[1]);
out:
	if (mp && !libxdp_get_error(mp))
		xdp_multiprog__close(mp);
	close(lock);
	return ret ? 1 : 0;
}
