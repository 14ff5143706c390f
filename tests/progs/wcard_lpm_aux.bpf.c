// SPDX-License-Identifier: MIT
/*
 * wcard_lpm_aux.bpf.c: the trie walks with their aux word, as wc_lpm_classify
 * reads it, on an address given as test-run data, in slot 0 (tests only).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <wcard/lpm.bpf.h>

/* Last walk, read through the skeleton's .bss. */
__u32 wc_aux_route, wc_aux_word;
__u64 wc_aux_value;
int wc_aux_ret;

/* IPv4 (the small trie): the address as a host-order u32. */
SEC("xdp")
int wc_aux4_run(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 route = 0, aux = 0, addr;
	__u64 value = 0;

	if (data + sizeof(addr) > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(&addr, data, sizeof(addr));
	wc_aux_ret = wc_trie_walk(&wc_trie4_image, 0, WC_LPM_TRIE4, (__u64)addr << 32, 0,
				  WC_TRIE4_LEVELS, &route, &value, &aux);
	wc_aux_route = route;
	wc_aux_value = value;
	wc_aux_word = aux;
	return XDP_PASS;
}

/* IPv6: the address as two host-order u64 halves, high first. */
SEC("xdp")
int wc_aux6_run(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 route = 0, aux = 0;
	__u64 a[2], value = 0;

	if (data + sizeof(a) > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(a, data, sizeof(a));
	wc_aux_ret = wc_trie_walk(&wc_lpm6_image, 0, WC_LPM_TRIE6, a[0], a[1], WC_LPM6_LEVELS,
				  &route, &value, &aux);
	wc_aux_route = route;
	wc_aux_value = value;
	wc_aux_word = aux;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
