// SPDX-License-Identifier: MIT
/* bpffs.c: a pin directory on bpffs, mounted at /sys/fs/bpf when nothing is there; libwcard. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <wcard/wcard.h>
#include "core.h"

/* Is path's nearest existing ancestor (path itself included) on bpffs? 1, 0 or -errno. */
static int on_bpffs(const char *path)
{
	char buf[PATH_MAX];
	struct statfs fs;
	char *slash;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (;;) {
		if (!statfs(buf, &fs))
			return fs.f_type == BPF_FS_MAGIC;
		if (errno != ENOENT && errno != ENOTDIR)
			return -errno;
		slash = strrchr(buf, '/');
		/* A relative path with no existing component: the current directory. */
		if (!slash)
			return statfs(".", &fs) ? -errno : fs.f_type == BPF_FS_MAGIC;
		if (slash == buf) {
			buf[1] = 0;
			continue;
		}
		*slash = 0;
	}
}

/*
 * Does dir lie under WCARD_BPFFS (the mount point itself included)? Only an
 * absolute path without ".." components counts: /sys/fs/bpf/../../tmp must
 * not mount anything.
 */
static bool under_default(const char *dir)
{
	size_t n = strlen(WCARD_BPFFS);

	if (strstr(dir, "/../") || (strlen(dir) >= 3 && !strcmp(dir + strlen(dir) - 3, "/..")))
		return false;
	return !strncmp(dir, WCARD_BPFFS, n) && (dir[n] == 0 || dir[n] == '/');
}

static const char *mount_hint(int e)
{
	switch (e) {
	case EPERM:
	case EACCES:
		return "mounting needs CAP_SYS_ADMIN";
	case EROFS:
		return "the file system holding it is read-only";
	case ENOENT:
	case ENOTDIR:
		return "there is no directory " WCARD_BPFFS ": is sysfs mounted at /sys?";
	case ENODEV:
		return "this kernel has no bpffs (CONFIG_BPF_SYSCALL)";
	default:
		return "mount(2) failed";
	}
}

int wcard_bpffs_prepare(const char *dir, char *err, size_t errlen)
{
	int ret, fd;

	if (!dir || !*dir)
		return -EINVAL;
	ret = on_bpffs(dir);
	if (ret == 1)
		return 0;
	if (ret < 0) {
		seterr(err, errlen, "%s: %s", dir, strerror(-ret));
		return ret;
	}
	if (!under_default(dir)) {
		seterr(err, errlen,
			   "%s: not on bpffs (use a directory under " WCARD_BPFFS
			   ", or mount one: mount -t bpf bpf DIR)",
			   dir);
		return -EXDEV;
	}
	/*
	 * Nothing mounted at /sys/fs/bpf: mount bpffs there, as bpftool and tc do.
	 * Two wcard processes must not both mount it (the second mount would hide
	 * what the first one pinned), so they take turns on a lock of the
	 * directory underneath and look again once they hold it.
	 */
	fd = open(WCARD_BPFFS, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX)) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		if (ret == -ENOENT || ret == -ENOTDIR)
			goto fail;
		seterr(err, errlen, "%s: locking " WCARD_BPFFS " to mount bpffs there: %s", dir,
			   strerror(-ret));
		return ret;
	}
	ret = on_bpffs(WCARD_BPFFS);
	if (ret == 0)
		ret = mount("bpf", WCARD_BPFFS, "bpf", 0, "mode=0700") ? -errno : 0;
	else if (ret == 1)
		ret = 0;
	close(fd); /* drops the lock */
	if (ret)
		goto fail;
	/* Something else may be mounted between /sys/fs/bpf and dir. */
	if (on_bpffs(dir) != 1) {
		seterr(err, errlen, "%s: not on bpffs (another file system is mounted on its way)",
			   dir);
		return -EXDEV;
	}
	return 0;
fail:
	seterr(err, errlen,
		   "%s: nothing is mounted at " WCARD_BPFFS " and mounting bpffs there failed: "
		   "%s (%s); as root run: mount -t bpf bpf " WCARD_BPFFS,
		   dir, strerror(-ret), mount_hint(-ret));
	return ret;
}

int bpffs_mkdirs(const char *dir, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	size_t i;
	int ret;

	ret = wcard_bpffs_prepare(dir, err, errlen);
	if (ret)
		return ret;
	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	/* Every missing component, private to its creator like the pins inside. */
	for (i = 1; buf[i]; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = 0;
		if (mkdir(buf, 0700) && errno != EEXIST) {
			ret = -errno;
			seterr(err, errlen, "%s: %s", buf, strerror(-ret));
			return ret;
		}
		buf[i] = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST) {
		ret = -errno;
		seterr(err, errlen, "%s: %s", buf, strerror(-ret));
		return ret;
	}
	return 0;
}
