// SPDX-License-Identifier: MIT
/*
 * blocklist.c: the user half of the blocklist example. It loads either build of
 * blocklist.bpf.o, fills the wcard classifier inside it from a rule file with
 * libwcard (one dual-stack classifier: IPv4 and IPv6 rules), and sends one
 * TCP frame per source address, IPv4 or IPv6, through the program
 * (BPF_PROG_TEST_RUN), printing the verdict.
 *
 *   blocklist OBJECT RULES ADDR...
 *
 * Build: cc blocklist.c $(pkg-config --cflags --libs wcard)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <wcard/wcard.h>
#include <wcard/libwcard.subskel.h>

/*
 * One TCP SYN from src to port 443 through the program: Ethernet, IPv4 to
 * 192.0.2.1, or IPv6 to 2001:db8::1 when src is an IPv6 address.
 */
static int verdict(int prog, const char *src, __u32 *action)
{
	const struct tcphdr tcp = { .source = htons(40000), .dest = htons(443), .doff = 5,
				    .syn = 1 };
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		struct tcphdr tcp;
	} __attribute__((packed)) f4 = {
		.eth = { .h_proto = htons(ETH_P_IP) },
		.ip = { .version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_TCP,
			.tot_len = htons(sizeof(f4.ip) + sizeof(f4.tcp)) },
		.tcp = tcp,
	};
	struct {
		struct ethhdr eth;
		struct ipv6hdr ip;
		struct tcphdr tcp;
	} __attribute__((packed)) f6 = {
		.eth = { .h_proto = htons(ETH_P_IPV6) },
		.ip = { .version = 6, .nexthdr = IPPROTO_TCP, .hop_limit = 64,
			.payload_len = htons(sizeof(f6.tcp)) },
		.tcp = tcp,
	};
	LIBBPF_OPTS(bpf_test_run_opts, t, .repeat = 1);

	if (inet_pton(AF_INET6, src, &f6.ip.saddr) == 1 &&
	    inet_pton(AF_INET6, "2001:db8::1", &f6.ip.daddr) == 1) {
		t.data_in = &f6;
		t.data_size_in = sizeof(f6);
	} else if (inet_pton(AF_INET, src, &f4.ip.saddr) == 1 &&
		   inet_pton(AF_INET, "192.0.2.1", &f4.ip.daddr) == 1) {
		t.data_in = &f4;
		t.data_size_in = sizeof(f4);
	} else {
		return -EINVAL;
	}
	if (bpf_prog_test_run_opts(prog, &t))
		return -errno;
	*action = t.retval;
	return 0;
}

int main(int argc, char **argv)
{
	struct wcard_clf_opts o = { .layout = wcard_layout_inet() };
	struct bpf_object *obj = NULL;
	struct wcard_clf *clf = NULL;
	struct wcard *lib = NULL;
	struct wcard_ruleset rs;
	char err[512] = "";
	int ret = 1, i, prog;

	if (argc < 4) {
		fprintf(stderr, "usage: %s OBJECT RULES ADDR...\n", argv[0]);
		return 2;
	}
	wcard_ruleset_init(&rs, o.layout);
	if (wcard_rules_load(argv[2], WCARD_FMT_WCARD, o.layout, &rs, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		goto out;
	}
	/* wcard's maps inside this object, by the library's own names. */
	lib = wcard__open(obj);
	if (!lib || wcard_object_prepare_layout(obj, o.layout, 1024) || bpf_object__load(obj)) {
		fprintf(stderr, "%s: loading: %s\n", argv[1], strerror(errno));
		goto out;
	}
	if (wcard_clf_from_object(obj, "blocklist", &o, &clf, err, sizeof(err)) ||
	    wcard_clf_load(clf, &rs, err, sizeof(err))) {
		fprintf(stderr, "classifier: %s\n", err);
		goto out;
	}
	printf("%zu rules in %u slots of map %s\n", rs.n, bpf_map__max_entries(lib->maps.wc_rules),
	       bpf_map__name(lib->maps.wc_rules));
	prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "blocklist"));
	for (i = 3; i < argc; i++) {
		__u32 action = XDP_PASS;

		if (verdict(prog, argv[i], &action)) {
			fprintf(stderr, "%s: bad address or test run failed\n", argv[i]);
			goto out;
		}
		printf("%s %s\n", argv[i], action == XDP_DROP ? "drop" : "pass");
	}
	ret = 0;
out:
	wcard_clf_destroy(clf);
	wcard__destroy(lib);
	bpf_object__close(obj);
	wcard_ruleset_free(&rs);
	return ret;
}
