#!/usr/bin/env python3
"""Fill README.md's benchmark sections from bench/results/results.json.

`make readme-results` runs it after `make bench`, so that every figure the
README quotes comes from the committed results of one run. It rewrites only
the text between the <!-- bench:NAME:begin --> and <!-- bench:NAME:end -->
markers.
"""
import json
import re
import sys

RESULTS = sys.argv[1] if len(sys.argv) > 1 else "bench/results/results.json"
README = sys.argv[2] if len(sys.argv) > 2 else "README.md"

d = json.load(open(RESULTS))
rows = d["rows"]


def lookup(case, algo):
    for r in rows:
        if r["kind"] == "lookup" and r["case"] == case and r["algo"] == algo:
            return r
    return None


def kind(k, **kw):
    return [r for r in rows if r["kind"] == k and all(r.get(a) == v for a, v in kw.items())]


def ns(x):
    return f"{x:,.1f}"


def mib(r):
    return f"{r['mem_bytes'] / 1048576:.1f} MiB"


def results_section():
    intro = (f"From [`bench/results/results.md`](bench/results/results.md): `make bench` on "
             f"{d['date']}, {d['machine']} (a shared VM: figures move between runs, by ±20% and at times by 2x; "
             f"compare figures of one run). ns per lookup, 2^20 random keys, cold cache, "
             f"median of {d['runs']} runs. The kernel's figures were measured again in the same "
             f"run; the native C++ TupleMerge figures are the constants of docs/design.md "
             f"section 8.")
    table = ["| anchor (docs/design.md section 8) | reference | this run | wcard against it |",
             "|---|---|---|---|"]
    for r in kind("anchor"):
        table.append(f"| {r['what']} | {r['anchor']} | {r['this_run']} | {r['ratio']} |")
    # Each sentence group after the table is a paragraph of its own.
    paras = []
    m_tm, m_bf = lookup("generated 1000000", "tm"), lookup("generated 1000000", "bf")
    if m_tm and m_bf:
        paras.append(f"At 1M generated rules Tuple Merge takes {m_tm['ns']:,.0f} ns "
                     f"({m_tm['tables']} tables, {m_tm['probed']:.1f} probed) against "
                     f"{m_bf['ns']:,.0f} ns for brute force: {m_bf['ns'] / m_tm['ns']:.0f}x.")
    twins = [(st, lookup(st, "tm"), lookup(st, "twin"))
             for st in ("acl1_10k", "fw1_10k", "ipc1_10k", "acl1_100k", "generated 10000",
                        "generated 100000")]
    twins = [x for x in twins if all(x[1:])]
    if twins:
        paras.append("The same Tuple Merge lookup in C (`bench/twin.c`, the `twin` rows) over "
                     "the same maps, mmapped, on the same keys, separates what BPF adds from "
                     "the algorithm and its data: " + "; ".join(
                         f"{st} {ns(tw['ns'])} ns in C against {ns(tm['ns'])} in BPF "
                         f"({tm['ns'] / tw['ns']:.2f}x)" for st, tm, tw in twins) + ".")
    dp = {r["case"]: r for r in kind("datapath")}
    if "acl1_10k" in dp:
        a = dp["acl1_10k"]
        line = (f"The whole datapath, real frames through the ready XDP filter (parse, "
                f"classify, count, metadata) with `BPF_PROG_TEST_RUN`: acl1_10k "
                f"{ns(a['hot_ns'])} ns/pkt ({a['hot_mpps']:.2f} Mpps per core) hot (64 flows, "
                f"each repeated) and {ns(a['cold_ns'])} ns/pkt ({a['cold_mpps']:.2f} Mpps) cold "
                f"({a['cold_frames']:,} trace frames, one test run each, its overhead included)")
        if "acl1_100k" in dp:
            b = dp["acl1_100k"]
            line += f"; acl1_100k {ns(b['hot_ns'])} and {ns(b['cold_ns'])} ns"
        paras.append(line + f". The filter verifies in {a['verified_insns']:,} instructions.")
    dual = [(st, lookup(f"{st} ipv4-5tuple", "tm"), lookup(f"{st} inet, IPv4", "tm"),
             lookup(f"{st} inet, IPv6", "tm")) for st in ("acl1_10k", "fw1_10k", "ipc1_10k")]
    dual = [x for x in dual if all(x[1:])]
    if dual:
        line = ("Dual stack (layout `inet`: each set's rules as IPv4 rules and their IPv6 twins "
                "in one classifier, beside the IPv4 rules alone in `ipv4-5tuple`, same maps): "
                "IPv4 lookups " + "; ".join(
                    f"{st} {ns(d4['ns'])} ns against {ns(v4['ns'])} ({d4['ns'] / v4['ns']:.2f}x), "
                    f"IPv6 {ns(d6['ns'])} ns" for st, v4, d4, d6 in dual))
        names = ("acl1_10k ipv4-5tuple", "acl1_10k inet, IPv4", "acl1_10k inet, IPv6")
        if all(n in dp for n in names):
            a, b, c = (dp[n] for n in names)
            line += (f". Through the whole XDP filter on acl1_10k: {ns(a['hot_ns'])} ns/pkt hot "
                     f"as `ipv4-5tuple`, {ns(b['hot_ns'])} for IPv4 and {ns(c['hot_ns'])} for "
                     f"IPv6 as `inet`")
        names = ("blocklist ipv4-5tuple", "blocklist inet, IPv4", "blocklist inet, IPv6")
        if all(n in dp for n in names):
            a, b, c = (dp[n] for n in names)
            line += (f"; a 20K + 20K route blocklist, each family on the LPM path "
                     f"({b['algo']}, {c['algo']}): {ns(a['hot_ns'])} ns/pkt hot as "
                     f"`ipv4-5tuple`, {ns(b['hot_ns'])} for IPv4 and {ns(c['hot_ns'])} for IPv6 "
                     f"as `inet`")
        paras.append(line + ".")
    upd = kind("updates", under_lookups=False)
    updl = [r for r in kind("updates", under_lookups=True) if not r.get("reclaiming")]
    updr = kind("updates", under_lookups=True, reclaiming=True)
    if upd and updl:
        u, ul = upd[0], updl[0]
        paras.append(f"Updates ({u['ops']:,} random single-rule inserts and deletes from half of "
                     f"acl1_10k, through the library): alone {u['us_each']:.2f} µs each, "
                     f"{u['per_s'] / 1000:.0f}K/s, p50 {u['p50_us']:.2f} µs, p99 "
                     f"{u['p99_us']:.2f} µs, max {u['max_us'] / 1000:.1f} ms (a grace period, "
                     f"{u['grace_periods']} in all). With lookups running on the other core "
                     f"({ul['concurrent_lookups'] / 1e6:.1f}M lookups meanwhile, "
                     f"{ul['concurrent_lookup_ns']:.0f} ns each): "
                     f"{ul['per_s'] / 1000:.0f}K/s, p50/p99 {ul['p50_us']:.2f}/"
                     f"{ul['p99_us']:.2f} µs, max {ul['max_us'] / 1000:.1f} ms (a grace period "
                     f"waits for the other core's BPF runs).")
    if updl and updr:
        ul, ur = updl[0], updr[0]
        paras.append(f"The same under lookups with `wcard_clf_reclaim` called on a third thread "
                     f"(the grace periods off the writer's path): {ur['per_s'] / 1000:.0f}K/s, "
                     f"p50/p99 {ur['p50_us']:.2f}/{ur['p99_us']:.2f} µs, max "
                     f"{ur['max_us'] / 1000:.1f} ms; the writer waited for "
                     f"{ur['writer_waits']} grace periods (against {ul['writer_waits']}), "
                     f"the thread took {ur['reclaimer_periods']}. Three threads share two "
                     f"cores here, so the rate is below the run without it.")
    acl100 = lookup("acl1_100k", "tm")
    d24, k4 = lookup("lpm ipv4, real table", "dir24"), lookup("lpm ipv4, kernel LPM trie", "trie")
    rc = {(r["family"], r["algo"], r["len"]): r for r in kind("route_changes")}

    def p99(fam, algo, lens):
        return max(max(rc[(fam, algo, n)]["delete_p99_us"], rc[(fam, algo, n)]["add_p99_us"])
                   for n in lens)
    if acl100 and m_tm and d24 and k4 and rc:
        paras.append(f"Bulk loads: acl1_100k {acl100['load_ms']:.0f} ms, 1M generated rules "
                     f"{m_tm['load_ms'] / 1000:.1f} s; the full IPv4 table into DIR-24-8 "
                     f"{d24['load_ms']:.0f} ms against {k4['load_ms']:,.0f} ms of kernel trie "
                     f"inserts. Route changes on the full IPv4 table: /24 and /16 p99 ≤ "
                     f"{p99(4, 'dir24', (24, 16)):.1f} µs, /8 p99 ≤ {p99(4, 'dir24', (8,)):.0f} µs; "
                     f"IPv6 /48 and /32 p99 ≤ {p99(6, 'trie8', (48, 32)):.1f} µs. LPM at 10K and "
                     f"100K routes (samples of the real tables) is in `results.md` and "
                     f"`lpm_scaling.svg`: the kernel trie's cost grows with the table, wcard's "
                     f"barely.")
    cli = kind("cli")
    sets = [c for c in ("generated 1000", "acl1_100k", "generated 1M")
            if any(r["case"] == c for r in cli)]
    if sets:
        tru = [r for r in cli if r["what"] == "/bin/true"]
        line = ("The CLI on a pinned classifier, wall time of each command with its process "
                "start, spawned and waited for as a script does: median ms, p90, and the median "
                "of `/bin/true` run in turn with it (any process costs that much here). A change "
                "opens the classifier from its writer's state in O(tables), so it costs about "
                "the same at any size:")
        tab = ["| command | " + " | ".join(sets) + " |", "|---" * (len(sets) + 1) + "|"]
        whats = []
        for r in cli:
            if r["case"] in sets and r["what"] not in whats:
                whats.append(r["what"])

        def cell(c, w):
            r = [x for x in cli if x["case"] == c and x["what"] == w]
            if not r:
                return "-"
            r = r[0]
            if "us" in r:
                return f"{r['us']:,.0f} µs"
            if "per_s" in r:
                return f"{r['ms']:,.0f} ({r['per_s'] / 1000:,.0f}K/s)"
            if w == "create":
                return f"{r['ms']:,.0f}"
            return f"{r['ms']:.2f} (p90 {r['p90_ms']:.2f}; `true` {r['true_ms']:.2f})"
        for w in whats:
            tab.append(f"| {w} | " + " | ".join(cell(c, w) for c in sets) + " |")
        paras.append(line)
        paras.append("\n".join(tab))
    lpm = [r for r in cli if r["what"].startswith("lpm ") and "p90_ms" in r]
    if lpm:
        paras.append(f"A pinned LPM of the BGP table's first {lpm[0]['rules']:,} IPv4 routes, "
                     "each command the same way: " + "; ".join(
                         f"`{r['what']}` {r['ms']:.1f} ms (p90 {r['p90_ms']:.1f})" for r in lpm)
                     + ". A reader maps the live image and loads no BPF object but to look up; "
                     "the first change reads the whole 128 MiB DIR-24-8 table.")
    progs = kind("program")
    xdp = [p for p in progs if p["program"] == "wc_xdp_filter"]
    if xdp:
        paras.append("Verified instructions: " + "; ".join(
            f"`{p['program']}` ({p['object']}) {p['verified_insns']:,}, loaded with its maps in "
            f"{p['load_ms']:,.0f} ms" for p in progs) + ".")
    # Blocks are separated by one blank line. The table's rows must stay on
    # consecutive lines: a blank line between two rows ends the table.
    return "\n\n".join([intro, "\n".join(table)] + paras)


def lpm_section():
    k4, k6 = lookup("lpm ipv4, kernel LPM trie", "trie"), lookup("lpm ipv6, kernel LPM trie", "trie")
    if not k4 or not k6:
        return "(no route data in the committed run)"
    out = ["| table | kernel LPM trie | wcard | faster by | build | memory |",
           "|---|---|---|---|---|---|"]
    for fam, k, cases in ((4, k4, (("dir24", "DIR-24-8"), ("trie4", "small trie"),
                                   ("clf-lpm", "classifier, LPM path"),
                                   ("tm", "classifier, Tuple Merge"))),
                          (6, k6, (("trie8", "multibit trie"), ("clf-lpm", "classifier, LPM path"),
                                   ("tm", "classifier, Tuple Merge")))):
        for i, (algo, name) in enumerate(cases):
            r = lookup(f"lpm ipv{fam}, real table", algo)
            build = (f"{r['load_ms'] / 1000:.2f} s" if r["load_ms"] >= 1000
                     else f"{r['load_ms']:.0f} ms")
            if i == 0:
                build += f" (trie inserts {k['load_ms'] / 1000:.2f} s)"
            out.append(f"| IPv{fam}, {k['rules']:,} routes | {ns(k['ns'])} ns | {name}: "
                       f"{ns(r['ns'])} ns | {k['ns'] / r['ns']:.1f}x | {build} | {mib(r)} |")
    return "\n".join(out)


text = open(README).read()
for name, body in (("results", results_section()), ("lpm", lpm_section())):
    pat = re.compile(r"(<!-- bench:%s:begin[^>]*-->\n).*?(<!-- bench:%s:end -->)" % (name, name),
                     re.S)
    if not pat.search(text):
        sys.exit(f"readme-results: {README}: no bench:{name} markers")
    text = pat.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)
open(README, "w").write(text)
