// SPDX-License-Identifier: MIT
/* wcard_parse_test.bpf.c: runs wc_parse() on a frame given as the test-run data (tests only). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <wcard/parse.bpf.h>

/* Last parse result, read by the test through the skeleton's .bss. */
struct wc_pkt wc_test_pkt;
int wc_test_status;

SEC("xdp")
int wc_parse_test(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	wc_test_status = wc_parse(data, data_end, &wc_test_pkt);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
