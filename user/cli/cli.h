/* cli.h: what the wcard CLI's source files share, grouped by the file that has it; CLI only. */
#ifndef WCARD_CLI_H
#define WCARD_CLI_H

#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/capability.h>
#include <wcard/wcard.h>

#define ERRLEN 512

#define PIN_DIR_DEFAULT "/sys/fs/bpf/wcard"

/* The parsed command line (main.c): options of the command's table, then its arguments. */
struct cli {
	bool verbose, json, man, quick, atomic;
	const char *algo, *format, *dir, *pool, *v4, *pin_dir, *layout, *mode;
	unsigned long rules, packets, seed, collide, max_routes, max_rules;
	__u32 dflt; /* --default: WC_ACT_*, 0 if not given */
	__u32 nonip; /* --nonip: WC_ACT_*, 0 if not given */
	bool caps_admin; /* the command keeps CAP_SYS_ADMIN for itself, not just to mount bpffs */
	int argc;
	char **argv;
};

/* ---- the commands, one file a group: main.c runs them from its tables ---- */
/* argv: the arguments after the command (or subcommand); exit code 0, 1 (failed), 2 (usage). */

/* classify.c: rule sets and traces from files. */
int cmd_classify(struct cli *c);
/* Also NAME: a classifier pinned under --pin-dir. */
int cmd_stats(struct cli *c);
int cmd_gen(struct cli *c);
int cmd_demo(struct cli *c);

/* clf.c: classifiers pinned on bpffs. */
int clf_create(struct cli *c);
/* Refused while the classifier is attached to an interface of this network namespace. */
int clf_destroy(struct cli *c);
int rules_load(struct cli *c);
int rules_apply(struct cli *c);
int rules_dump(struct cli *c);
int rules_list(struct cli *c);
int rule_add(struct cli *c);
int rule_del(struct cli *c);
int rule_update(struct cli *c);

/* xdp.c: a pinned classifier's XDP filter on an interface. */
int clf_attach_cmd(struct cli *c);
int clf_detach_cmd(struct cli *c);

/* lpm.c: wcard lpm ... */
int lpm_lookup(struct cli *c);
int lpm_create(struct cli *c);
int lpm_add(struct cli *c);
int lpm_del(struct cli *c);
int lpm_load(struct cli *c);
int lpm_dump(struct cli *c);
int lpm_get(struct cli *c);
int lpm_stats(struct cli *c);
int lpm_destroy(struct cli *c);

/* bench.c: wcard bench RULES [TRACE], wcard bench lpm ROUTES [ADDRS]. */
int cmd_bench(struct cli *c);

/* ---- common.c: helpers the command files share -------------------------- */

int parse_format(const char *s, enum wcard_rule_fmt *fmt);
const char *algo_name(enum wc_algo a);
/*
 * The algorithm of a classifier's live generation: of its parts that hold
 * rules, or "mixed" when a dual-stack classifier's two differ.
 */
const char *clf_algo(const struct wcard_clf *clf);
/*
 * Classifier options from the command line (--algo, --collide, --pool, ...)
 * for rs (--algo static: an inet rs of one family becomes that family's layout).
 */
int clf_opts(const struct cli *c, struct wcard_ruleset *rs, struct wcard_clf_opts *co,
	     char *err, size_t errlen);
/* DIR/NAME of a pinned object, or an error for a NAME that is not one path component. */
int pin_path(const struct cli *c, const char *name, char *buf, size_t len);
/* Room for a new pinned object at path: --pin-dir made, path free (else err says why). */
int pin_new(const struct cli *c, const char *path, const char *destroy, char *err, size_t errlen);
/*
 * Lock on a pinned object's directory: exclusive for writers, who take turns;
 * shared for readers, who see no change half-done and never wait for each
 * other. fd or -errno: -ENOENT if the object was destroyed while we waited,
 * -EAGAIN (with a message) if it kept being replaced by a new one of the same
 * name.
 */
int pin_lock(const char *path, bool shared);
/*
 * The classifier pinned as NAME (argv[0]), opened under its lock for a
 * command, printing why not; clf_release closes and unlocks.
 */
int clf_pinned(struct cli *c, const char *cmd, const struct wcard_clf_opts *o,
	       struct wcard_clf **clf, int *lock);
void clf_release(struct wcard_clf *clf, int lock);
struct addr_in {
	char text[46 + 1]; /* INET6_ADDRSTRLEN + 1 */
	unsigned int family;
	wc_u128 addr;
};
/* Addresses, one per line ('#' comments, blank lines skipped); all or nothing. */
int addrs_load(const char *path, struct addr_in **out, size_t *n, char *err, size_t errlen);
/* Print s as a JSON string. */
void json_str(const char *s);
/*
 * Progress for long commands, shown on a TTY once they pass a second:
 * start (a no-op when already started), change the phase, end (clears it).
 */
void progress_start(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void progress_phase(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void progress_end(void);

/* ---- attached.c: is a classifier's XDP filter on an interface ----------- */

struct xdp_multiprog;
struct xdp_program;
/* libbpf and libxdp quiet unless -v: they warn about the probes libxdp expects to fail. */
void xdp_quiet(const struct cli *c);
/* Id of the wc_config map pinned under path: the mark of the classifier's programs. */
int config_map_id(const char *path, __u32 *id);
/* Id of the program pinned as path/prog (the XDP filter), or 0. */
__u32 pinned_prog_id(const char *path);
/* Is the classifier (map_id, prog_id) attached to ifindex? 1, 0, or -errno (cannot tell). */
int attached_to(int ifindex, __u32 map_id, __u32 prog_id);
/* The classifier's program among those attached (dispatcher or single program), or NULL. */
struct xdp_program *find_ours(const struct xdp_multiprog *mp, __u32 map_id);

/* ---- caps.c: least privilege -------------------------------------------- */

#ifndef CAP_PERFMON
#define CAP_PERFMON 38 /* UAPI headers before 5.8 */
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#define CAPB(c) (1ULL << (c))
/*
 * Fail with a message naming what is missing unless every capability of need
 * (bit n: capability n) is effective, then drop all but need and keep, and
 * standby, which stays permitted but not effective (where permitted). 0 or
 * -EPERM.
 */
int caps_limit(const char *cmd, __u64 need, __u64 keep, __u64 standby);
/* Make cap (standby, so permitted) effective: 0, or -EPERM if it is not permitted. */
int caps_raise(int cap);
bool caps_effective(int cap);
/* Drop cap from the effective and permitted sets (a no-op if not held). */
void caps_drop(int cap);

#endif /* WCARD_CLI_H */
