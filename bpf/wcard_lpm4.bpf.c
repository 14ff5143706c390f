// SPDX-License-Identifier: MIT
/* wcard_lpm4.bpf.c: the LPM lookups, run on an address as test-run data; libwcard embeds it. */
/*
 * Only UAPI types (the XDP context) here: without CO-RE relocations libbpf
 * never parses the kernel's BTF to load this object, ~40 ms of a `wcard lpm get`.
 */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <wcard/lpm.bpf.h>

/* Last lookup, read through the skeleton's .bss. */
__u32 wc_lpm_route;
__u64 wc_lpm_value;
int wc_lpm_ret;

/*
 * IPv4 structure, set before load: 0 = DIR-24-8, 1 = the small trie. A
 * load-time constant, so the verifier prunes the branch not taken.
 */
const volatile __u32 wc_lpm4_trie;

SEC("xdp")
int wc_lpm4_run(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 route = 0, addr;
	__u64 value = 0;

	if (data + sizeof(addr) > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(&addr, data, sizeof(addr));
	if (wc_lpm4_trie)
		wc_lpm_ret = wc_trie4_lookup(addr, &route, &value);
	else
		wc_lpm_ret = wc_lpm4_lookup(addr, &route, &value);
	wc_lpm_route = route;
	wc_lpm_value = value;
	return XDP_PASS;
}

/* IPv6: the address as two host-order u64 halves, high first. */
SEC("xdp")
int wc_lpm6_run(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 a[2], value = 0;
	__u32 route = 0;

	if (data + sizeof(a) > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(a, data, sizeof(a));
	wc_lpm_ret = wc_lpm6_lookup(a[0], a[1], &route, &value);
	wc_lpm_route = route;
	wc_lpm_value = value;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
