// SPDX-License-Identifier: MIT
/* wcard_key.bpf.c: runs the classifier on a raw struct wc_key given as the test-run data (tests). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <wcard/classify.bpf.h>

/* Last lookup, read by the test through the skeleton's .bss. */
struct wc_result wc_test_res;
int wc_test_ret;

SEC("xdp")
int wc_key_lookup(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct wc_key key;

	if (data + sizeof(key) > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(&key, data, sizeof(key));
	wc_test_ret = wc_classify(&key, &wc_test_res);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
