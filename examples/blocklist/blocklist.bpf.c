// SPDX-License-Identifier: MIT
/*
 * blocklist.bpf.c: an XDP program of one's own that classifies with wcard.
 * It uses the wcard headers, and builds two ways from this one source:
 *   header-only    clang ... -c blocklist.bpf.c -o blocklist.tmp.o
 *                  bpftool gen object blocklist.bpf.o blocklist.tmp.o
 *   static link    clang ... -DWCARD_LINK_LIB -c blocklist.bpf.c -o blocklist.tmp.o
 *                  bpftool gen object blocklist.bpf.o blocklist.tmp.o libwcard.bpf.o
 * User space fills the classifier with libwcard (wcard_clf_from_object on
 * program "blocklist"); this program keeps its own counters on top.
 * It builds on the kernel's UAPI header <linux/bpf.h> (add
 * -I/usr/include/$(uname -m)-linux-gnu on Debian); "vmlinux.h" works as well.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <wcard/parse.bpf.h>
#include <wcard/classify.bpf.h>

/* The application's own map: frames passed [0] and dropped [1]. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} app_verdicts SEC(".maps");

/*
 * Parse in a subprogram of its own: its stack frame is not added to the
 * classifier's. Global, so verified once; but Linux 5.10 takes no pointer
 * arguments to global functions, so the compat build (-DWCARD_COMPAT), which
 * runs there, makes it static.
 */
#ifdef WCARD_COMPAT
#define APP_SUBPROG static __noinline
#else
#define APP_SUBPROG __noinline
#endif
APP_SUBPROG int app_parse(struct xdp_md *ctx, struct wc_pkt *pkt)
{
	if (!ctx || !pkt)
		return WC_PARSE_MALFORMED;
	return wc_parse((void *)(long)ctx->data, (void *)(long)ctx->data_end, pkt);
}

SEC("xdp")
int blocklist(struct xdp_md *ctx)
{
	struct wc_config *cfg = wc_config_get();
	struct wc_result res;
	struct wc_pkt pkt;
	__u32 verdict = XDP_PASS, slot;
	__u64 *n;

	if (cfg && app_parse(ctx, &pkt) == WC_PARSE_OK && wc_classify_pkt(&pkt, cfg, &res) > 0 &&
	    WC_VALUE_ACTION(res.value) == WC_ACT_DROP)
		verdict = XDP_DROP;
	slot = verdict == XDP_DROP;
	n = bpf_map_lookup_elem(&app_verdicts, &slot);
	if (n)
		(*n)++;
	return verdict;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
