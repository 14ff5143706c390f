// SPDX-License-Identifier: MIT
/*
 * wcard_tm_paths.bpf.c: runs Tuple Merge's rare paths, the exact scan and the
 * retry, on a raw struct wc_key over the live generation (tests only).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <wcard/tm.bpf.h>

/* Last run, read by the test through the skeleton's .bss. */
struct wc_result wc_test_res;
int wc_test_ret;

/* The key from the test-run data and the live config; NULL if either is missing. */
static __always_inline struct wc_config *paths_start(struct xdp_md *ctx, struct wc_key *key)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	wc_result_miss(&wc_test_res);
	/* Packet pointers, not bpf_xdp_load_bytes: that helper came in 5.18. */
	wc_test_ret = -1;
	if (data + sizeof(*key) > data_end)
		return NULL;
	/* Word by word: a memcpy from the packet here would go through the stack. */
	for (int i = 0; i < WC_KEY_WORDS; i++)
		key->w[i] = ((const __u64 *)data)[i];
	wc_test_ret = -2;
	return wc_config_get();
}

SEC("xdp")
int wc_scan_run(struct xdp_md *ctx)
{
	struct wc_config *cfg;
	struct wc_key key;

	cfg = paths_start(ctx, &key);
	if (cfg)
		wc_test_ret = wc_tm_scan(&key, cfg, &wc_test_res);
	return XDP_PASS;
}

SEC("xdp")
int wc_retry_run(struct xdp_md *ctx)
{
	struct wc_config *cfg;
	struct wc_key key;

	cfg = paths_start(ctx, &key);
	if (cfg)
		wc_test_ret = wc_tm_retry(&key, cfg, &wc_test_res);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
