// SPDX-License-Identifier: MIT
/*
 * test_e2e.c: the ready XDP filter on a real interface (suite "e2e"): two network
 * namespaces joined by a veth pair, the CLI creates, fills and attaches a classifier,
 * and real traffic (the kernel's TCP, UDP, ICMP and IPv6, and our own VLAN-tagged and
 * fragmented frames) crosses it in skb and native mode.
 */
#define _GNU_SOURCE /* setns */
#include <stdio.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include "wctest.h"

#define MAC_A "02:77:00:00:00:0a"
#define MAC_B "02:77:00:00:00:0b"
#define MARK 0x77636172u /* last 8 bytes of a crafted frame: MARK, then its kind */

static char ns_a[32], ns_b[32], if_a[16], if_b[16], pdir[256];
static int home_ns = -1;

static const char *bin(void)
{
	return getenv("WCARD_BIN") ? getenv("WCARD_BIN") : "build/wcard";
}

/* Enter network namespace ns (this thread), or go home with NULL. */
static void ns_enter(const char *ns)
{
	char path[128];
	int fd;

	if (!ns) {
		cr_assert_eq(setns(home_ns, CLONE_NEWNET), 0, "setns home: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(setns(fd, CLONE_NEWNET), 0, "setns %s: %s", ns, strerror(errno));
	close(fd);
}

/* The wcard CLI run inside namespace ns (bpffs stays visible: only the netns changes). */
static int wcard_in(const char *ns, char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int wcard_in(const char *ns, char *out, size_t len, const char *fmt, ...)
{
	char args[1536];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	ns_enter(ns);
	ret = wt_sh(out, len, "%s %s --pin-dir %s", bin(), args, pdir);
	ns_enter(NULL);
	return ret;
}

static void e2e_cleanup(void)
{
	char cmd[512];

	if (*ns_a) {
		snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null",
			 ns_a, ns_b);
		if (system(cmd)) {
			/* nothing more to do: the namespaces may not exist */
		}
	}
	if (*pdir) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", pdir);
		if (system(cmd)) {
			/* left for the next run's check to report */
		}
	}
}

/* Two namespaces joined by a veth pair, with IPv4/IPv6 addresses and static neighbours. */
static void e2e_setup(void)
{
	char out[2048];
	int pid = getpid();

	snprintf(ns_a, sizeof(ns_a), "wcard-e2e-%d-a", pid);
	snprintf(ns_b, sizeof(ns_b), "wcard-e2e-%d-b", pid);
	snprintf(if_a, sizeof(if_a), "wce%da", pid % 10000000);
	snprintf(if_b, sizeof(if_b), "wce%db", pid % 10000000);
	snprintf(pdir, sizeof(pdir), "/sys/fs/bpf/wcard-test-e2e-%d", pid);
	home_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(home_ns, 0, "own netns");
	if (wt_sh(out, sizeof(out), "ip netns add %s && ip netns add %s", ns_a, ns_b)) {
		*ns_b = 0;
		cr_skip_test("network namespaces are not available here (ip netns add: %s)", out);
	}
	if (wt_sh(out, sizeof(out),
	       "ip link add %s address %s netns %s type veth peer name %s address %s netns %s",
	       if_a, MAC_A, ns_a, if_b, MAC_B, ns_b))
		cr_skip_test("veth is not available here (ip link add: %s)", out);
	cr_assert_eq(wt_sh(out, sizeof(out),
			"ip -n %1$s link set %2$s up && ip -n %3$s link set %4$s up && "
			"ip -n %1$s addr add 10.77.0.1/24 dev %2$s && "
			"ip -n %3$s addr add 10.77.0.2/24 dev %4$s && "
			"ip -n %3$s link add rdA type veth peer name rdB && "
			"ip -n %3$s link set rdA up && ip -n %3$s link set rdB up && "
			"ip -n %1$s addr add fd77::1/64 dev %2$s nodad && "
			"ip -n %3$s addr add fd77::2/64 dev %4$s nodad && "
			"ip -n %1$s neigh add 10.77.0.2 lladdr %6$s dev %2$s && "
			"ip -n %3$s neigh add 10.77.0.1 lladdr %5$s dev %4$s && "
			"ip -n %1$s neigh add fd77::2 lladdr %6$s dev %2$s && "
			"ip -n %3$s neigh add fd77::1 lladdr %5$s dev %4$s",
			ns_a, if_a, ns_b, if_b, MAC_A, MAC_B),
		     0, "configuring the veth pair: %s", out);
	wt_bpffs();
	cr_assert_eq(wt_sh(out, sizeof(out), "mkdir -p %s", pdir), 0, "mkdir %s: %s", pdir, out);
}

/* ---- traffic ------------------------------------------------------------- */

static int sock_in(const char *ns, int domain, int type, int proto)
{
	int fd;

	ns_enter(ns);
	fd = socket(domain, type | SOCK_CLOEXEC, proto);
	ns_enter(NULL);
	cr_assert_geq(fd, 0, "socket in %s: %s", ns, strerror(errno));
	return fd;
}

static socklen_t addr_of(int family, const char *ip, unsigned int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (void *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		inet_pton(AF_INET, ip, &s->sin_addr);
		return sizeof(*s);
	}
	struct sockaddr_in6 *s6 = (void *)ss;

	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &s6->sin6_addr);
	return sizeof(*s6);
}

/* A UDP receiver in ns_b on port. */
static int udp_rx(int family, unsigned int port)
{
	struct sockaddr_storage ss;
	int fd = sock_in(ns_b, family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	socklen_t sl = addr_of(family, family == AF_INET ? "0.0.0.0" : "::", port, &ss);

	cr_assert_eq(bind(fd, (void *)&ss, sl), 0, "bind udp %u: %s", port, strerror(errno));
	return fd;
}

/* Datagrams waiting on fd after a short settle time. */
static unsigned int drain(int fd, unsigned int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	unsigned int n = 0;
	char buf[2048];

	while (poll(&p, 1, ms) > 0) {
		while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
			n++;
		ms = 50;
	}
	return n;
}

/* n UDP datagrams from ns_a to dst:port through the kernel stack; how many arrived. */
static unsigned int udp_send(int family, const char *dst, unsigned int port, unsigned int n)
{
	struct sockaddr_storage ss;
	socklen_t sl = addr_of(family, dst, port, &ss);
	int rx = udp_rx(family, port), tx = sock_in(ns_a, family, SOCK_DGRAM, 0);
	unsigned int i, got;

	for (i = 0; i < n; i++)
		cr_assert_eq(sendto(tx, &i, sizeof(i), 0, (void *)&ss, sl), (ssize_t)sizeof(i),
			     "sendto %s:%u: %s", dst, port, strerror(errno));
	got = drain(rx, 200);
	close(tx);
	close(rx);
	return got;
}

/* A TCP connect from ns_a to 10.77.0.2:port: 1 connected, 0 timed out (SYNs dropped). */
static int tcp_connect(unsigned int port)
{
	struct sockaddr_storage ss;
	socklen_t sl = addr_of(AF_INET, "10.77.0.2", port, &ss);
	int ls = sock_in(ns_b, AF_INET, SOCK_STREAM, 0), c, one = 1, err = 0;
	struct sockaddr_storage any;
	socklen_t al = addr_of(AF_INET, "0.0.0.0", port, &any), el = sizeof(err);
	struct pollfd p;

	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(ls, (void *)&any, al), 0, "bind tcp %u", port);
	cr_assert_eq(listen(ls, 4), 0, "listen");
	c = sock_in(ns_a, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (connect(c, (void *)&ss, sl) && errno != EINPROGRESS)
		cr_assert_fail("connect %u: %s", port, strerror(errno));
	p = (struct pollfd){ .fd = c, .events = POLLOUT };
	if (poll(&p, 1, 1500) == 1)
		getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
	else
		err = ETIMEDOUT;
	close(c);
	close(ls);
	return err == 0;
}

/* n ICMP echo requests from ns_a to 10.77.0.2 (a raw socket); replies received. */
static unsigned int ping(unsigned int n)
{
	struct sockaddr_storage ss;
	socklen_t sl = addr_of(AF_INET, "10.77.0.2", 0, &ss);
	int fd = sock_in(ns_a, AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMP);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	unsigned int i, got = 0, ms = 300;
	__u8 buf[256];

	for (i = 0; i < n; i++) {
		struct icmphdr h = { .type = ICMP_ECHO };

		h.un.echo.id = htons(0x7763);
		h.un.echo.sequence = htons(i);
		h.checksum = htons(tk_csum(&h, sizeof(h)));
		cr_assert_eq(sendto(fd, &h, sizeof(h), 0, (void *)&ss, sl), (ssize_t)sizeof(h),
			     "ping sendto: %s", strerror(errno));
	}
	while (poll(&p, 1, ms) > 0) {
		ssize_t r;

		while ((r = recv(fd, buf, sizeof(buf), 0)) > 0) {
			struct icmphdr *h = (void *)(buf + (buf[0] & 0xf) * 4);

			if (r >= 28 && h->type == ICMP_ECHOREPLY && h->un.echo.id == htons(0x7763))
				got++;
		}
		ms = 50;
	}
	close(fd);
	return got;
}

/* A crafted frame: our builder's frame with real MACs and a marker of its kind at the end. */
struct crafted {
	const char *what;
	struct wc_pkt p;
	struct tk_frame_opts fo;
	bool pass; /* expected verdict */
	int rule; /* expected rule (index in the rule file), -1 none */
};

static void ip4(__u8 *a, __u32 v)
{
	a[0] = v >> 24, a[1] = v >> 16, a[2] = v >> 8, a[3] = v;
}

/* Send each frame n times from ns_a by AF_PACKET; count what reaches ns_b, per kind. */
static void send_crafted(const struct crafted *cs, unsigned int ncs, unsigned int n,
			 unsigned int *got)
{
	int tx = sock_in(ns_a, AF_PACKET, SOCK_RAW, 0);
	int rx = sock_in(ns_b, AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	struct sockaddr_ll la = { .sll_family = AF_PACKET }, lb = la;
	struct pollfd p = { .fd = rx, .events = POLLIN };
	unsigned int i, k, ms = 300;
	__u8 buf[2048];

	ns_enter(ns_a);
	la.sll_ifindex = if_nametoindex(if_a);
	ns_enter(ns_b);
	lb.sll_ifindex = if_nametoindex(if_b);
	lb.sll_protocol = htons(ETH_P_ALL);
	ns_enter(NULL);
	cr_assert(la.sll_ifindex && lb.sll_ifindex, "ifindexes");
	cr_assert_eq(bind(rx, (void *)&lb, sizeof(lb)), 0, "bind AF_PACKET: %s", strerror(errno));
	la.sll_halen = ETH_ALEN;
	for (k = 0; k < ncs; k++) {
		int len = tk_frame_build(&cs[k].p, &cs[k].fo, buf, sizeof(buf));
		__u32 mark[2] = { htonl(MARK), htonl(k) };

		cr_assert_gt(len, 30, "case %s: frame", cs[k].what);
		memcpy(buf, (__u8[]){ 0x02, 0x77, 0, 0, 0, 0x0b, 0x02, 0x77, 0, 0, 0, 0x0a }, 12);
		memcpy(buf + len - 8, mark, 8);
		memcpy(la.sll_addr, buf, ETH_ALEN);
		for (i = 0; i < n; i++)
			cr_assert_eq(sendto(tx, buf, len, 0, (void *)&la, sizeof(la)), len,
				     "case %s: AF_PACKET send: %s", cs[k].what, strerror(errno));
		got[k] = 0;
	}
	while (poll(&p, 1, ms) > 0) {
		ssize_t r;

		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);

		/* Frames that came in (B's own replies, such as ICMP errors, go out). */
		while ((r = recvfrom(rx, buf, sizeof(buf), 0, (void *)&from, &fl)) >= 8) {
			__u32 mark[2];

			fl = sizeof(from);
			if (from.sll_pkttype == PACKET_OUTGOING)
				continue;
			memcpy(mark, buf + r - 8, 8);
			if (ntohl(mark[0]) == MARK && ntohl(mark[1]) < ncs)
				got[ntohl(mark[1])]++;
		}
		ms = 50;
	}
	close(tx);
	close(rx);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "fopen %s", path);
	fputs(text, f);
	fclose(f);
}

/*
 * n UDP datagrams from ns_a to 10.77.0.2:port: how many came out of the veth
 * pair rdA/rdB inside ns_b (seen arriving on rdB); *local gets how many
 * reached a socket in ns_b instead.
 */
static unsigned int udp_redirected(unsigned int port, unsigned int n, unsigned int *local)
{
	int pk = sock_in(ns_b, AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	struct sockaddr_ll lb = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	unsigned int got = 0;
	__u8 buf[2048];
	ssize_t r;

	ns_enter(ns_b);
	lb.sll_ifindex = if_nametoindex("rdB");
	ns_enter(NULL);
	cr_assert(lb.sll_ifindex, "rdB");
	cr_assert_eq(bind(pk, (void *)&lb, sizeof(lb)), 0, "bind rdB: %s", strerror(errno));
	*local = udp_send(AF_INET, "10.77.0.2", port, n);
	for (;;) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		unsigned int ihl;

		r = recvfrom(pk, buf, sizeof(buf), 0, (void *)&from, &fl);
		if (r < 0)
			break;
		if (from.sll_pkttype == PACKET_OUTGOING || r < 42 || buf[12] != 0x08 || buf[13] ||
		    buf[23] != IPPROTO_UDP)
			continue;
		ihl = (buf[14] & 0xf) * 4;
		if ((size_t)r >= 14 + ihl + 4 &&
		    (unsigned int)((buf[14 + ihl + 2] << 8) | buf[14 + ihl + 3]) == port)
			got++;
	}
	close(pk);
	return got;
}

/* ---- rule changes under traffic ---------------------------------------------- */

struct flow {
	int tx, rx;
	struct sockaddr_storage dst;
	socklen_t dl;
	volatile bool stop;
	__u32 seq; /* next sequence number (atomic) */
	__u8 *seen; /* per sequence number: received */
	__u32 max;
};

static void *flow_send(void *arg)
{
	struct flow *f = arg;
	struct timespec ts = { 0, 200000 };

	while (!f->stop) {
		__u32 s = __atomic_fetch_add(&f->seq, 1, __ATOMIC_SEQ_CST);

		if (s >= f->max)
			break;
		sendto(f->tx, &s, sizeof(s), 0, (void *)&f->dst, f->dl);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void *flow_recv(void *arg)
{
	struct flow *f = arg;
	struct pollfd p = { .fd = f->rx, .events = POLLIN };
	__u32 s;

	while (!f->stop || poll(&p, 1, 100) > 0) {
		if (poll(&p, 1, 20) <= 0)
			continue;
		while (recv(f->rx, &s, sizeof(s), MSG_DONTWAIT) == (ssize_t)sizeof(s))
			if (s < f->max)
				f->seen[s] = 1;
	}
	return NULL;
}

/*
 * UDP to port 9004 flows (rule 3 passes it) while the CLI adds a prio-0 drop
 * rule for it, then deletes it: every datagram sent after the add returned and
 * before the delete started is dropped; every one sent after the delete
 * returned arrives; so does every one sent before the add started.
 */
static void change_under_traffic(const char *name, const char *mode)
{
	struct flow f = { .max = 200000 };
	pthread_t ts, tr;
	char out[4096];
	__u32 s0, s1, s2, s3, end, i, lost = 0;
	unsigned int id;
	struct timespec pause = { 0, 150000000 };

	f.seen = calloc(f.max, 1);
	f.rx = udp_rx(AF_INET, 9004);
	f.tx = sock_in(ns_a, AF_INET, SOCK_DGRAM, 0);
	f.dl = addr_of(AF_INET, "10.77.0.2", 9004, &f.dst);
	pthread_create(&tr, NULL, flow_recv, &f);
	pthread_create(&ts, NULL, flow_send, &f);
	nanosleep(&pause, NULL);
	s0 = __atomic_load_n(&f.seq, __ATOMIC_SEQ_CST);
	cr_assert_eq(wcard_in(NULL, out, sizeof(out), "rule add %s src 10.77.0.1 udp dport 9004 prio 0 drop",
			      name), 0, "case %s: rule add under traffic: %s", mode, out);
	s1 = __atomic_load_n(&f.seq, __ATOMIC_SEQ_CST);
	id = atoi(out);
	nanosleep(&pause, NULL);
	s2 = __atomic_load_n(&f.seq, __ATOMIC_SEQ_CST);
	cr_assert_eq(wcard_in(NULL, out, sizeof(out), "rule del %s %u", name, id), 0,
		     "case %s: rule del under traffic: %s", mode, out);
	s3 = __atomic_load_n(&f.seq, __ATOMIC_SEQ_CST);
	nanosleep(&pause, NULL);
	f.stop = true;
	pthread_join(ts, NULL);
	pthread_join(tr, NULL);
	end = f.seq < f.max ? f.seq : f.max;
	cr_assert(s1 < s2 && s3 < end && s0 > 10, "case %s: traffic flowed (%u %u %u %u %u)", mode,
		  s0, s1, s2, s3, end);
	for (i = s1; i < s2; i++)
		cr_assert_eq(f.seen[i], 0,
			     "case %s: datagram %u sent after the drop rule was added arrived", mode,
			     i);
	for (i = 0; i < s0; i++)
		lost += !f.seen[i];
	for (i = s3; i < end; i++)
		lost += !f.seen[i];
	cr_assert_eq(lost, 0, "case %s: %u datagrams that no rule dropped were lost", mode, lost);
	cr_log_info("e2e %s: under traffic: %u datagrams passed before the add, %u dropped "
		    "between add and delete, %u passed after the delete\n",
		    mode, s0, s2 - s1, end - s3);
	close(f.tx);
	close(f.rx);
	free(f.seen);
}

/*
 * Crafted IPv6 UDP frames fd77::1 -> fd77::2 port 9001, 10 of each kind, all
 * dropped: behind extension headers (hop-by-hop, or with other: routing),
 * then VLAN-tagged (one tag, or with other: QinQ).
 */
static void dropped_v6(const char *mode, bool other)
{
	struct crafted c6[2];
	unsigned int g6[2], k;

	memset(c6, 0, sizeof(c6));
	for (k = 0; k < 2; k++) {
		c6[k].p.family = 6, c6[k].p.proto = 17, c6[k].p.sport = 5555;
		c6[k].p.dport = 9001, c6[k].fo.payload = 16;
		inet_pton(AF_INET6, "fd77::1", c6[k].p.src);
		inet_pton(AF_INET6, "fd77::2", c6[k].p.dst);
	}
	c6[0].what = other ? "IPv6 routing + destination options, UDP 9001" :
			     "IPv6 hop-by-hop + destination options, UDP 9001";
	c6[0].fo.nipv6_ext = 2, c6[0].fo.ipv6_ext[0] = other ? 43 : 0, c6[0].fo.ipv6_ext[1] = 60;
	c6[1].what = other ? "IPv6 in QinQ 3/4, UDP 9001" : "IPv6 in VLAN 7, UDP 9001";
	c6[1].fo.nvlan = other ? 2 : 1, c6[1].fo.vlan[0] = other ? 3 : 7, c6[1].fo.vlan[1] = 4;
	send_crafted(c6, 2, 10, g6);
	for (k = 0; k < 2; k++)
		cr_assert_eq(g6[k], 0, "case %s: %s: %u of 10 arrived", mode, c6[k].what, g6[k]);
}

/* ---- the test ---------------------------------------------------------------- */

static const char rules4[] = "src 10.77.0.1 udp dport 9001 drop\n"
			     "src 10.77.0.1 tcp dport 9002 drop\n"
			     "icmp drop\n"
			     "dst 10.77.0.2 udp dport 9003-9010 pass\n";
static const char rules6[] = "src fd77::1 udp dport 9001 drop\n"
			     "dst fd77::2 udp dport 9003 pass\n";
/* Dual stack: an IPv4 rule, an IPv6 rule, a rule of both, an IPv6 pass. */
static const char rules_dual[] = "src 10.77.0.1 udp dport 9001 drop\n"
				 "src fd77::1 udp dport 9001 drop\n"
				 "udp dport 9004 drop\n"
				 "dst fd77::2 udp dport 9003 pass\n";

static void run_mode(const char *mode, bool *ran)
{
	char out[8192], tmp[1024];
	struct crafted cs[6];
	unsigned int got[6], k, n4 = 20, ok;
	long long want0 = 0, want3 = 0, base[4], base6;
	bool dispatcher;
	struct wc_pkt udp = { .family = 4, .proto = 17, .sport = 5555, .dport = 9001 };

	ip4(udp.src, 0x0a4d0001);
	ip4(udp.dst, 0x0a4d0002);
	if (wcard_in(ns_b, out, sizeof(out), "attach v4 %s --mode %s", if_b, mode)) {
		cr_assert(!strcmp(mode, "native"), "case %s: attach: %s", mode, out);
		cr_log_warn("e2e: native XDP is not available on veth here, skipped: %s", out);
		return;
	}
	*ran = true;
	cr_log_info("e2e %s: %s", mode, out);
	dispatcher = strstr(out, "through the libxdp dispatcher") != NULL;
	/* Counters go on across attachments: this mode's traffic is the difference. */
	cr_assert_eq(wcard_in(NULL, out, sizeof(out), "rules list v4 --json"), 0, "case %s: list: %s",
		     mode, out);
	for (k = 0; k < 4; k++)
		base[k] = wt_json_packets(out, k);
	cr_assert_eq(wcard_in(NULL, out, sizeof(out), "rules list v6 --json"), 0,
		     "case %s: list v6: %s", mode, out);
	base6 = wt_json_packets(out, 0);

	/*
	 * A second classifier on the same interface: beside the first through the
	 * libxdp dispatcher where the kernel lets libxdp use it, else refused.
	 */
	if (dispatcher) {
		cr_assert_eq(wcard_in(ns_b, out, sizeof(out), "attach v6 %s --mode %s", if_b, mode),
			     0, "case %s: a second program beside the first: %s", mode, out);
		cr_assert_eq(wcard_in(ns_b, out, sizeof(out), "detach v6 %s", if_b), 0,
			     "case %s: detach the second: %s", mode, out);
	} else {
		cr_assert_eq(wcard_in(ns_b, out, sizeof(out), "attach v6 %s --mode %s", if_b, mode),
			     1, "case %s: a second attach: %s", mode, out);
		cr_assert(strstr(out, "another XDP program"), "case %s: a second attach: '%s'", mode,
			  out);
	}

	/* The kernel's own traffic. */
	ok = udp_send(AF_INET, "10.77.0.2", 9001, n4);
	cr_assert_eq(ok, 0, "case %s: UDP 9001 (rule 0 drops): %u of %u arrived", mode, ok, n4);
	want0 += n4;
	ok = udp_send(AF_INET, "10.77.0.2", 9003, n4);
	cr_assert_eq(ok, n4, "case %s: UDP 9003 (rule 3 passes): %u of %u arrived", mode, ok, n4);
	want3 += n4;
	ok = udp_send(AF_INET, "10.77.0.2", 9100, n4);
	cr_assert_eq(ok, n4, "case %s: UDP 9100 (no rule: default pass): %u of %u", mode, ok, n4);
	cr_assert_eq(tcp_connect(9002), 0, "case %s: TCP to 9002 connected through rule 1", mode);
	cr_assert_eq(tcp_connect(9005), 1, "case %s: TCP to 9005 (no rule) did not connect", mode);
	ok = ping(5);
	cr_assert_eq(ok, 0, "case %s: ICMP (rule 2 drops): %u replies", mode, ok);

	/* Our frames: VLAN tags and fragments, as the parser sees them. */
	memset(cs, 0, sizeof(cs));
	for (k = 0; k < 6; k++) {
		cs[k].p = udp;
		cs[k].fo.payload = 16;
	}
	cs[0].what = "VLAN 100, UDP 9001", cs[0].fo.nvlan = 1, cs[0].fo.vlan[0] = 100;
	cs[0].rule = 0;
	cs[1].what = "VLAN 100, UDP 9003", cs[1].fo.nvlan = 1, cs[1].fo.vlan[0] = 100;
	cs[1].p.dport = 9003, cs[1].pass = true, cs[1].rule = 3;
	cs[2].what = "QinQ 10/20, UDP 9001", cs[2].fo.nvlan = 2, cs[2].fo.vlan[0] = 10;
	cs[2].fo.vlan[1] = 20, cs[2].rule = 0;
	cs[3].what = "first fragment, UDP 9001", cs[3].fo.frag = WC_FRAG_FIRST, cs[3].rule = 0;
	cs[4].what = "later fragment (no ports)", cs[4].fo.frag = WC_FRAG_LATER;
	cs[4].pass = true, cs[4].rule = -1;
	cs[5].what = "IP options, UDP 9003", cs[5].fo.ip_opts = 8, cs[5].p.dport = 9003;
	cs[5].pass = true, cs[5].rule = 3;
	send_crafted(cs, 6, 10, got);
	for (k = 0; k < 6; k++) {
		cr_assert_eq(got[k], cs[k].pass ? 10u : 0u, "case %s: %s: %u of 10 frames arrived",
			     mode, cs[k].what, got[k]);
		want0 += cs[k].rule == 0 ? 10 : 0;
		want3 += cs[k].rule == 3 ? 10 : 0;
	}

	/* The counters saw exactly that (rule 1: the SYN and its retries). */
	cr_assert_eq(wcard_in(NULL, out, sizeof(out), "rules list v4 --json"), 0, "case %s: list: %s",
		     mode, out);
	cr_assert_eq(wt_json_packets(out, 0) - base[0], want0,
		     "case %s: rule 0 counted %lld, expected %lld: %s", mode,
		     wt_json_packets(out, 0) - base[0], want0, out);
	cr_assert_geq(wt_json_packets(out, 1) - base[1], 1, "case %s: rule 1 counted no SYN: %s", mode, out);
	cr_assert_eq(wt_json_packets(out, 2) - base[2], 5, "case %s: rule 2 counted %lld pings: %s", mode,
		     wt_json_packets(out, 2) - base[2], out);
	cr_assert_eq(wt_json_packets(out, 3) - base[3], want3,
		     "case %s: rule 3 counted %lld, expected %lld: %s", mode,
		     wt_json_packets(out, 3) - base[3], want3, out);

	change_under_traffic("v4", mode);

	/* Redirect: a rule (added in ns_b, where the name resolves) sends UDP 9011 out of rdA. */
	cr_assert_eq(wcard_in(ns_b, out, sizeof(out),
			      "rule add v4 dst 10.77.0.2 udp dport 9011 prio 0 redirect rdA"), 0,
		     "case %s: redirect rule: %s", mode, out);
	/*
	 * A native-mode redirect into a veth needs XDP on the receiving peer (veth
	 * takes redirected frames through its XDP NAPI path): any program will do,
	 * here the IPv6 classifier, which passes IPv4.
	 */
	if (!strcmp(mode, "native"))
		cr_assert_eq(wcard_in(ns_b, tmp, sizeof(tmp), "attach v6 rdB --mode native"), 0,
			     "case %s: XDP on rdB: %s", mode, tmp);
	{
		unsigned int local, red = udp_redirected(9011, n4, &local), rid = atoi(out);

		cr_assert_eq(local, 0, "case %s: redirected datagrams reached ns_b's socket: %u", mode,
			     local);
		cr_assert_eq(red, n4, "case %s: %u of %u datagrams came out of rdA", mode, red, n4);
		cr_assert_eq(wcard_in(NULL, out, sizeof(out), "rule del v4 %u", rid), 0,
			     "case %s: del redirect: %s", mode, out);
	}
	if (!strcmp(mode, "native"))
		cr_assert_eq(wcard_in(ns_b, tmp, sizeof(tmp), "detach v6 rdB"), 0,
			     "case %s: XDP off rdB: %s", mode, tmp);

	/* A single-rule change: now ICMP passes. */
	cr_assert_eq(wcard_in(NULL, out, sizeof(out), "rule update v4 2 pass"), 0,
		     "case %s: update: %s", mode, out);
	ok = ping(3);
	cr_assert_eq(ok, 3, "case %s: ICMP after 'rule update v4 2 pass': %u of 3 replies", mode,
		     ok);
	cr_assert_eq(wcard_in(NULL, out, sizeof(out), "rule update v4 2 drop"), 0,
		     "case %s: update back: %s", mode, out);
	/* In the namespace of the interface: destroy looks for attachments there. */
	cr_assert_neq(wcard_in(ns_b, out, sizeof(out), "destroy v4"), 0,
		      "case %s: destroy while attached", mode);
	cr_assert(strstr(out, "is attached to"), "case %s: destroy refused: '%s'", mode, out);
	/*
	 * Without CAP_SYS_ADMIN libxdp cannot open what runs on the interface:
	 * destroy must refuse (up front, naming the capability), not guess "not
	 * attached" and unpin a filter that still runs.
	 */
	ns_enter(ns_b);
	k = wt_sh(out, sizeof(out), "setpriv --bounding-set -all,+bpf,+net_admin,+perfmon "
		  "%s destroy v4 --pin-dir %s", bin(), pdir);
	ns_enter(NULL);
	cr_assert_neq(k, 0, "case %s: destroy without CAP_SYS_ADMIN while attached", mode);
	cr_assert(strstr(out, "missing: CAP_SYS_ADMIN") || strstr(out, "cannot tell"),
		  "case %s: destroy without CAP_SYS_ADMIN: '%s'", mode, out);
	cr_assert_eq(wcard_in(NULL, out, sizeof(out), "stats v4"), 0,
		     "case %s: the classifier survived: %s", mode, out);
	cr_assert_eq(wcard_in(ns_b, out, sizeof(out), "detach v4 %s", if_b), 0, "case %s: detach: %s",
		     mode, out);
	ok = ping(3);
	cr_assert_eq(ok, 3, "case %s: ICMP after detach: %u of 3 replies", mode, ok);

	/* IPv6, with an IPv6 classifier. */
	cr_assert_eq(wcard_in(ns_b, out, sizeof(out), "attach v6 %s --mode %s", if_b, mode), 0,
		     "case %s: attach v6: %s", mode, out);
	ok = udp_send(AF_INET6, "fd77::2", 9001, n4);
	cr_assert_eq(ok, 0, "case %s: IPv6 UDP 9001 (dropped): %u of %u arrived", mode, ok, n4);
	ok = udp_send(AF_INET6, "fd77::2", 9003, n4);
	cr_assert_eq(ok, n4, "case %s: IPv6 UDP 9003 (passed): %u of %u arrived", mode, ok, n4);
	dropped_v6(mode, false);
	cr_assert_eq(wcard_in(NULL, out, sizeof(out), "rules list v6 --json"), 0,
		     "case %s: list v6: %s", mode, out);
	cr_assert_eq(wt_json_packets(out, 0) - base6, n4 + 20, "case %s: v6 rule 0 counted %lld: %s", mode,
		     wt_json_packets(out, 0) - base6, out);
	cr_assert_eq(wcard_in(ns_b, out, sizeof(out), "detach v6 %s", if_b), 0,
		     "case %s: detach v6: %s", mode, out);

	/*
	 * Dual stack: one classifier of IPv4, IPv6 and both-family rules,
	 * attached once; both families' traffic, counted to the packet.
	 */
	cr_assert_eq(wcard_in(NULL, out, sizeof(out), "rules list dual --json"), 0,
		     "case %s: list dual: %s", mode, out);
	for (k = 0; k < 4; k++)
		base[k] = wt_json_packets(out, k);
	cr_assert_eq(wcard_in(ns_b, out, sizeof(out), "attach dual %s --mode %s", if_b, mode), 0,
		     "case %s: attach dual: %s", mode, out);
	ok = udp_send(AF_INET, "10.77.0.2", 9001, n4);
	cr_assert_eq(ok, 0, "case %s dual: UDP 9001 (rule 0): %u of %u arrived", mode, ok, n4);
	ok = udp_send(AF_INET6, "fd77::2", 9001, n4);
	cr_assert_eq(ok, 0, "case %s dual: IPv6 UDP 9001 (rule 1): %u of %u arrived", mode, ok, n4);
	ok = udp_send(AF_INET, "10.77.0.2", 9004, n4);
	cr_assert_eq(ok, 0, "case %s dual: UDP 9004 (rule 2, both): %u of %u arrived", mode, ok,
		     n4);
	ok = udp_send(AF_INET6, "fd77::2", 9004, n4);
	cr_assert_eq(ok, 0, "case %s dual: IPv6 UDP 9004 (rule 2, both): %u of %u arrived", mode,
		     ok, n4);
	ok = udp_send(AF_INET6, "fd77::2", 9003, n4);
	cr_assert_eq(ok, n4, "case %s dual: IPv6 UDP 9003 (rule 3): %u of %u arrived", mode, ok,
		     n4);
	ok = udp_send(AF_INET, "10.77.0.2", 9003, n4);
	cr_assert_eq(ok, n4, "case %s dual: UDP 9003 (no rule): %u of %u arrived", mode, ok, n4);
	dropped_v6(mode, true);
	cr_assert_eq(wcard_in(NULL, out, sizeof(out), "rules list dual --json"), 0,
		     "case %s: list dual: %s", mode, out);
	{
		const long long want[4] = { n4, n4 + 20, 2 * n4, n4 };

		for (k = 0; k < 4; k++)
			cr_assert_eq(wt_json_packets(out, k) - base[k], want[k],
				     "case %s dual: rule %u counted %lld, expected %lld: %s", mode,
				     k, wt_json_packets(out, k) - base[k], want[k], out);
	}
	cr_assert_eq(wcard_in(ns_b, out, sizeof(out), "detach dual %s", if_b), 0,
		     "case %s: detach dual: %s", mode, out);
}

Test(e2e, veth_real_traffic, .timeout = 300, .fini = e2e_cleanup)
{
	char r4[] = "/tmp/wcard-e2e-r4XXXXXX", r6[] = "/tmp/wcard-e2e-r6XXXXXX", out[4096];
	char rd[] = "/tmp/wcard-e2e-rdXXXXXX";
	int f4 = mkstemp(r4), f6 = mkstemp(r6), fd = mkstemp(rd);
	bool skb = false, native = false;

	cr_assert(f4 >= 0 && f6 >= 0 && fd >= 0, "mkstemp");
	close(f4);
	close(f6);
	close(fd);
	write_file(r4, rules4);
	write_file(r6, rules6);
	write_file(rd, rules_dual);
	e2e_setup();
	cr_assert_eq(wcard_in(NULL, out, sizeof(out), "create v4 %s", r4), 0, "case create v4: %s",
		     out);
	cr_assert_eq(wcard_in(NULL, out, sizeof(out), "create v6 --layout ipv6-5tuple %s", r6), 0,
		     "case create v6: %s", out);
	unlink(r6);
	cr_assert_eq(wcard_in(NULL, out, sizeof(out), "create dual %s", rd), 0,
		     "case create dual: %s", out);
	cr_assert(strstr(out, "(inet, 4 rules"), "case create dual: '%s'", out);
	unlink(rd);
	run_mode("skb", &skb);
	cr_assert(skb, "case skb: generic XDP must work on veth");
	run_mode("native", &native);
	/* The README's bpftool flow on a real interface: load, fill, attach, traffic. */
	{
		char obj[512];
		unsigned int ok;

		wt_bpf_obj("wcard_xdp.bpf.o", obj, sizeof(obj));
		cr_assert_eq(wt_sh(out, sizeof(out),
				   "mkdir %1$s/bt && bpftool prog load %2$s %1$s/bt/prog "
				   "pinmaps %1$s/bt", pdir, obj),
			     0, "case bpftool prog load: %s", out);
		write_file(r4, rules4);
		cr_assert_eq(wcard_in(NULL, out, sizeof(out), "rules load bt %s", r4), 0,
			     "case bpftool: rules load: %s", out);
		cr_assert_eq(wcard_in(ns_b, out, sizeof(out), "attach bt %s --mode skb", if_b), 0,
			     "case bpftool: attach: %s", out);
		ok = udp_send(AF_INET, "10.77.0.2", 9001, 10);
		cr_assert_eq(ok, 0, "case bpftool: UDP 9001 dropped: %u of 10 arrived", ok);
		ok = udp_send(AF_INET, "10.77.0.2", 9003, 10);
		cr_assert_eq(ok, 10, "case bpftool: UDP 9003 passed: %u of 10 arrived", ok);
		/* An object at its defaults is dual stack: an IPv6 rule added takes hold. */
		cr_assert_eq(wcard_in(NULL, out, sizeof(out),
				      "rule add bt src fd77::1 udp dport 9001 drop"), 0,
			     "case bpftool: IPv6 rule: %s", out);
		ok = udp_send(AF_INET6, "fd77::2", 9001, 10);
		cr_assert_eq(ok, 0, "case bpftool: IPv6 UDP 9001 dropped: %u of 10 arrived", ok);
		cr_assert_eq(wcard_in(ns_b, out, sizeof(out), "detach bt %s", if_b), 0,
			     "case bpftool: detach: %s", out);
		cr_assert_eq(wcard_in(NULL, out, sizeof(out), "destroy bt"), 0,
			     "case bpftool: destroy: %s", out);
		snprintf(out, sizeof(out), "%s/bt", pdir);
		cr_assert_neq(access(out, F_OK), 0, "case bpftool: destroy left %s", out);
		unlink(r4);
	}
	cr_assert_eq(wcard_in(NULL, out, sizeof(out), "destroy v4"), 0, "case destroy: %s", out);
	cr_assert_eq(wcard_in(NULL, out, sizeof(out), "destroy v6"), 0, "case destroy v6: %s", out);
	cr_assert_eq(wcard_in(NULL, out, sizeof(out), "destroy dual"), 0, "case destroy dual: %s",
		     out);
	cr_log_info("e2e: skb mode passed; native mode %s\n", native ? "passed" : "not available");
}
