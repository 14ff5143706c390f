#!/usr/bin/env python3
"""Fill README.md's "Tested kernels" table from make vmtest's results.

`make vmtest-table` runs it after `make vmtest KERNEL=all`. It reads
build/vm/results/KERNEL.json (written in the guest by tests/vm/guest.sh) for
each kernel of tests/vm/kernels.txt, in that order, and rewrites only the
text between the <!-- vmtest:begin --> and <!-- vmtest:end --> markers. A
kernel without results is left out of the table, with a warning.
"""
import json
import os
import re
import sys

RESULTS = sys.argv[1] if len(sys.argv) > 1 else "build/vm/results"
README = sys.argv[2] if len(sys.argv) > 2 else "README.md"
KERNELS = sys.argv[3] if len(sys.argv) > 3 else "tests/vm/kernels.txt"
BEGIN, END = "<!-- vmtest:begin -->", "<!-- vmtest:end -->"


def kernels():
    """The short names of kernels.txt, in its order."""
    with open(KERNELS) as f:
        return [line.split()[0] for line in f if line.strip() and not line.lstrip().startswith("#")]


def row(r):
    suites = r["suites"]
    passed = [s["suite"] for s in suites if s["result"] == "pass"]
    failed = [s["suite"] for s in suites if s["result"] != "pass"]
    result = "pass" if r["result"] == "pass" else "fail: " + ", ".join(failed)
    insns = f"{r['verified_insns']:,}" if r.get("verified_insns") is not None else "—"
    tested = sum(s.get("tested") or 0 for s in suites)
    passing = sum(s.get("passing") or 0 for s in suites)
    return (f"| {r['kernel']} (`{r['release']}`) | `{r['version']}` | {r.get('build', '—')} | "
            f"{result} | {len(passed)}/{len(suites)} ({passing}/{tested} tests) | "
            f"{r['seconds']:.0f} s | {insns} |")


def table():
    lines = ["| kernel (guest `uname -r`) | Debian package version | wcard build | result | "
             "suites passed | time in the guest | XDP filter, verified insns |",
             "|---|---|---|---|---|---|---|"]
    for k in kernels():
        path = os.path.join(RESULTS, f"{k}.json")
        if not os.path.exists(path):
            print(f"vm-table: no results for {k} ({path}): left out", file=sys.stderr)
            continue
        with open(path) as f:
            lines.append(row(json.load(f)))
    return "\n".join(lines)


def main():
    with open(README) as f:
        text = f.read()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        sys.exit(f"vm-table: no {BEGIN} ... {END} section in {README}")
    text = pattern.sub(lambda _: f"{BEGIN}\n{table()}\n{END}", text)
    with open(README, "w") as f:
        f.write(text)


main()
