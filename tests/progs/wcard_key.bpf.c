// SPDX-License-Identifier: MIT
/* wcard_key.bpf.c: the classifier run on a raw struct wc_key as test-run data (tests only). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <wcard/classify.bpf.h>

/* Last lookup, read by the test through the skeleton's .bss. */
struct wc_result wc_test_res;
int wc_test_ret;
/*
 * Set by the test: which generation's config the lookup gets (-1: the live
 * one, as a program's entry point reads it), and which entry of the BPF API
 * takes it (WC_TEST_*). A config other than the live one stands for a packet
 * whose entry read came before a generation switch: everything after that
 * read must come from the config it was given.
 */
int wc_test_gen = -1;
int wc_test_fn;
/* The key's family, 4 or 6: a dual-stack classifier's part (wc_config_part). */
int wc_test_family;

enum { WC_TEST_CLASSIFY = 0, WC_TEST_BF = 1, WC_TEST_TM = 2 };

SEC("xdp")
int wc_key_lookup(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct wc_config *cfg;
	struct wc_key key;
	__u32 gen = wc_test_gen & (WC_GENS - 1);

	if (data + sizeof(key) > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(&key, data, sizeof(key));
	cfg = wc_test_gen < 0 ? wc_config_get() : bpf_map_lookup_elem(&wc_config, &gen);
	cfg = wc_config_part(cfg, wc_test_family);
	if (wc_test_fn == WC_TEST_BF)
		wc_test_ret = wc_bf_lookup(&key, cfg, &wc_test_res);
	else if (wc_test_fn == WC_TEST_TM)
		wc_test_ret = wc_tm_lookup(&key, cfg, &wc_test_res);
	else
		wc_test_ret = wc_classify(&key, cfg, &wc_test_res);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
