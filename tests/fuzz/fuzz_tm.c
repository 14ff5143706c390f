// SPDX-License-Identifier: MIT
/*
 * fuzz_tm.c: differential fuzzing of Tuple Merge against brute force, both in
 * BPF, and against the user-space reference. The input is a program of
 * operations: insert a random rule, delete one, bulk reload the current set,
 * look up keys near a rule's edges. Random details come from generators
 * seeded by the input's bytes (tests/wctest.h), so the fuzzer steers them.
 * Properties: after every operation, each lookup returns the rule the
 * reference returns (lowest priority, then the rule added first) in both
 * classifiers. Needs root (BPF).
 */
#include <stdio.h>
#include <errno.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "fuzz.h"
#include "wctest.h"
#include "wcard_key.skel.h"

#define MAX_RULES 256
#define POOL 6 /* few distinct field values: overlaps, collisions, table splits */

static struct side {
	enum wc_algo algo;
	struct wcard_key *skel;
	struct wcard_clf *clf;
} side[2] = { { .algo = WC_ALGO_TM }, { .algo = WC_ALGO_BF } };

static void setup(void)
{
	char err[512] = "";
	int i;

	libbpf_set_print(NULL);
	for (i = 0; i < 2; i++) {
		struct wcard_clf_opts o = { .layout = wcard_layout_ipv4(), .algo = side[i].algo,
					    .collide = 2 };

		side[i].skel = wcard_key__open();
		if (!side[i].skel || wcard_object_prepare(side[i].skel->obj, MAX_RULES) ||
		    wcard_key__load(side[i].skel) ||
		    wcard_clf_from_object(side[i].skel->obj, "wc_key_lookup", &o, &side[i].clf, err,
					  sizeof(err))) {
			fprintf(stderr, "fuzz_tm: lookup object %d: %s (root?)\n", i,
				*err ? err : strerror(errno));
			exit(1);
		}
	}
}

/* The rule value BPF returns for k, or ~0 for no match. */
static __u64 bpf_lookup(struct side *s, const struct wc_key *k)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = k, .data_size_in = sizeof(*k), .repeat = 1);

	if (bpf_prog_test_run_opts(bpf_program__fd(s->skel->progs.wc_key_lookup), &o))
		fz_fail("test run: %s", strerror(errno));
	if (s->skel->bss->wc_test_ret < 0)
		fz_fail("lookup error %d", s->skel->bss->wc_test_ret);
	return s->skel->bss->wc_test_res.id == WC_ID_NONE ? ~0ULL : s->skel->bss->wc_test_res.value;
}

/* The model: rules in the order they were added, each with its id on both sides. */
struct model {
	struct wcard_ruleset rs;
	__u32 id[2][MAX_RULES];
};

static void reload(struct model *m)
{
	char err[512] = "";
	size_t r;
	int i;

	for (i = 0; i < 2; i++) {
		if (wcard_clf_load(side[i].clf, &m->rs, err, sizeof(err)))
			fz_fail("bulk load of %zu rules (%s): %s", m->rs.n,
				i ? "brute force" : "Tuple Merge", err);
		for (r = 0; r < m->rs.n; r++)
			m->id[i][r] = (__u32)r; /* ids are the indexes of the last bulk load */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct wcard_layout *l = wcard_layout_ipv4();
	struct model *m = calloc(1, sizeof(*m));
	__u64 serial = 1;
	size_t at = 0;

	if (!m)
		abort();
	if (!side[0].clf)
		setup();
	wcard_ruleset_init(&m->rs, l);
	reload(m);
	/* Each operation: a byte of kind, a byte of argument, 8 bytes of seed. */
	while (at + 10 <= size) {
		unsigned int op = data[at] % 8, arg = data[at + 1];
		struct wt_rng r;
		char err[512] = "";
		int i;

		memcpy(&r.s, data + at + 2, 8);
		at += 10;
		if (op < 3 && m->rs.n < MAX_RULES) { /* insert */
			struct wcard_rule rule;

			wt_rule_random(&r, l, POOL, 4, &rule);
			rule.value = serial++ << 8; /* unique: each answer names its rule */
			for (i = 0; i < 2; i++)
				if (wcard_clf_insert(side[i].clf, &rule, &m->id[i][m->rs.n], err,
						     sizeof(err)))
					fz_fail("insert into %s: %s", i ? "brute force" : "Tuple Merge",
						err);
			if (wcard_ruleset_add(&m->rs, &rule))
				abort();
		} else if (op < 5 && m->rs.n) { /* delete, keeping the order of the rest */
			size_t x = arg % m->rs.n;

			for (i = 0; i < 2; i++) {
				if (wcard_clf_delete(side[i].clf, m->id[i][x], err, sizeof(err)))
					fz_fail("delete from %s: %s", i ? "brute force" : "Tuple Merge",
						err);
				memmove(&m->id[i][x], &m->id[i][x + 1],
					(m->rs.n - x - 1) * sizeof(m->id[i][0]));
			}
			memmove(&m->rs.rules[x], &m->rs.rules[x + 1],
				(m->rs.n - x - 1) * sizeof(m->rs.rules[0]));
			m->rs.n--;
		} else if (op == 7) {
			reload(m);
		}
		/* A few keys at the edges of a rule (or anywhere when empty), on both sides. */
		for (i = 0; i < 1 + (int)(arg % 4); i++) {
			struct wc_key k;
			long want;
			__u64 w, tm, bf;

			if (m->rs.n)
				wt_key_near(&r, l, &m->rs.rules[wt_below(&r, m->rs.n)], POOL, &k);
			else
				memset(&k, 0, sizeof(k));
			want = tk_ref_lookup(&m->rs, &k);
			w = want < 0 ? ~0ULL : m->rs.rules[want].value;
			tm = bpf_lookup(&side[0], &k);
			bf = bpf_lookup(&side[1], &k);
			if (tm != w || bf != w)
				fz_fail("%zu rules: Tuple Merge rule %llu, brute force %llu, reference "
					"%llu (values >> 8; ~0: none)",
					m->rs.n, (unsigned long long)(tm >> 8),
					(unsigned long long)(bf >> 8), (unsigned long long)(w >> 8));
		}
	}
	wcard_ruleset_free(&m->rs);
	free(m);
	return 0;
}
