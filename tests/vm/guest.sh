#!/usr/bin/env bash
# The suites make vmtest runs inside the guest (tests/vm/run.sh starts it there); writes build/vm/results/KERNEL.json.
#
# Runs each Criterion suite of VMTEST_SUITES as `make test-suite` would, then
# `wcard demo`, prints `vmtest: KERNEL SUITE pass|fail (N s)` for each, keeps
# each one's output in RESULTS/KERNEL/SUITE.log (Criterion's failure messages
# go to the console too) with the time of each test in SUITE.xml, and the
# guest's dmesg in RESULTS/KERNEL/dmesg.log. Exits 0 when every suite passed.
#
# run.sh sets VMTEST_KERNEL, VMTEST_PACKAGE, VMTEST_VERSION, VMTEST_BUILD and
# VMTEST_RESULTS, and passes VMTEST_SUITES on from the host.
# update/* runs at the size `make test` uses (tests/test_update.c has no
# smaller one: WCARD_STRESS only makes it bigger).
set -euo pipefail

# Every suite that loads BPF. budget checks verified instructions only (its
# load times are this host's: WCARD_BUDGET_TIMES=0), and only where the kernel
# reports them (5.16 on).
VMTEST_SUITES=${VMTEST_SUITES:-bf tm lpm parse xdp update pin cli example probe e2e privilege crash budget}
# Tests in parallel, but one at a time on 5.x: there, under qemu's TCG, an XDP
# attach in one test (the kernel live-patches its XDP dispatcher) while
# another test runs a program through that dispatcher ends in a kernel panic
# at an int3 in bpf_dispatcher_xdp_func (seen on 5.10.223).
JOBS=2
[[ $(uname -r) != 5.* ]] || JOBS=1
KERNEL=${VMTEST_KERNEL:?run by tests/vm/run.sh}
RESULTS=${VMTEST_RESULTS:?run by tests/vm/run.sh}
BUILD=${VMTEST_BUILD:?run by tests/vm/run.sh}
SRC=$PWD
LOGS=$RESULTS/$KERNEL

# The environment of the Makefile's test-suite target.
export WCARD_BIN=$BUILD/wcard WCARD_DATA=$SRC/../shared/data WCARD_BUILD=$BUILD WCARD_SRC=$SRC
export WCARD_LDFLAGS='' LSAN_OPTIONS=suppressions=$SRC/tests/lsan.supp WCARD_BUDGET_TIMES=0

# One JSON object per suite run, and whether one failed.
entries=()
failed=0

uptime_s() {
	cut -d' ' -f1 /proc/uptime
}

# B - A, seconds with one decimal.
seconds() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'
}

# "Synthesis: Tested: N | Passing: N | Failing: N | Crashing: N" of LOG as
# JSON members, null when the suite printed none (it crashed, or is no
# Criterion run).
counts() {
	local t p f c
	read -r t p f c < <(sed -n 's/.*Synthesis: Tested: \([0-9]*\) | Passing: \([0-9]*\) | Failing: \([0-9]*\) | Crashing: \([0-9]*\).*/\1 \2 \3 \4/p' "$1" | tail -n1) || true
	printf '"tested": %s, "passing": %s, "failing": %s, "crashing": %s' \
		"${t:-null}" "${p:-null}" "${f:-null}" "${c:-null}"
}

# Runs SUITE's command (the rest of the arguments) with its output in
# LOGS/SUITE.log, and records the outcome.
run_suite() {
	local suite=$1 log=$LOGS/${1%%/*}.log t0 secs result=pass
	shift
	t0=$(uptime_s)
	"$@" >"$log" 2>&1 || result=fail
	secs=$(seconds "$t0" "$(uptime_s)")
	if [[ $result == fail ]]; then
		failed=1
		# Criterion's own lines, not the verifier logs between them.
		grep -m 40 -E '^\[(----|FAIL|====)\]' "$log" || tail -n 20 "$log"
		echo "vmtest: $KERNEL $suite: the whole output is in $log"
	fi
	echo "vmtest: $KERNEL $suite $result ($secs s)"
	entries+=("{\"suite\": \"$suite\", \"result\": \"$result\", \"seconds\": $secs, $(counts "$log")}")
}

# The build of wcard's BPF objects libwcard loads here (wcard_bpf_build()):
# iter where the kernel's BTF has the bpf_iter_num kfuncs, else compat.
bpf_build() {
	# grep reads to the end: with -q, bpftool's SIGPIPE fails the pipeline (pipefail).
	if bpftool btf dump file /sys/kernel/btf/vmlinux 2>/dev/null |
		grep "FUNC 'bpf_iter_num_new'" >/dev/null; then
		echo iter
	else
		echo compat
	fi
}

# RESULTS/KERNEL.json: the kernel, each suite, and the XDP filter's verified
# instruction count (VERIFIED, null when the demo did not say).
write_results() {
	local boot_s=$1 verified=$2 overall=pass i last=$((${#entries[@]} - 1))
	[[ $failed -eq 0 ]] || overall=fail
	{
		printf '{\n  "kernel": "%s",\n  "release": "%s",\n' "$KERNEL" "$(uname -r)"
		printf '  "package": "%s",\n  "version": "%s",\n' "$VMTEST_PACKAGE" "$VMTEST_VERSION"
		printf '  "boot_seconds": %s,\n  "seconds": %s,\n' "$boot_s" \
			"$(seconds "$boot_s" "$(uptime_s)")"
		printf '  "verified_insns": %s,\n  "build": "%s",\n  "result": "%s",\n' \
			"$verified" "$(bpf_build)" "$overall"
		printf '  "suites": [\n'
		for i in "${!entries[@]}"; do
			printf '    %s%s\n' "${entries[$i]}" "$([[ $i -lt $last ]] && echo ,)"
		done
		printf '  ]\n}\n'
	} >"$RESULTS/$KERNEL.json.tmp"
	mv "$RESULTS/$KERNEL.json.tmp" "$RESULTS/$KERNEL.json"
	echo "vmtest: $KERNEL: $overall; results in $RESULTS/$KERNEL.json"
}

main() {
	local boot_s s demo verified
	boot_s=$(uptime_s)
	# This run's results only (the console logs there are run.sh's).
	mkdir -p "$LOGS"
	rm -f "$RESULTS/$KERNEL.json"
	find "$LOGS" -type f ! -name 'console*.log' -delete
	echo "vmtest: $KERNEL: kernel $(uname -r), up $boot_s s; suites: $VMTEST_SUITES demo"
	# SUITE, or SUITE/PATTERN (Criterion's extended glob over that suite's tests;
	# not the shell's: set -f).
	set -f
	for s in $VMTEST_SUITES; do
		run_suite "$s" "$BUILD/tests/wcard-tests" --jobs "$JOBS" \
			--filter="$([[ $s == */* ]] && echo "$s" || echo "$s/*")" \
			--xml="$LOGS/${s%%/*}.xml"
	done
	set +f

	# The demo's JSON has the XDP filter's verified instruction count.
	demo=$(mktemp -d)
	run_suite demo "$WCARD_BIN" demo --json --dir "$demo"
	rm -rf "$demo"
	verified=$(sed -n 's/.*"verified_insns":\([0-9]*\).*/\1/p' "$LOGS/demo.log" | tail -n1)
	# The kernel reports it from 5.16 on (bpf_prog_info.verified_insns); 0 before.
	[[ ${verified:-0} != 0 ]] || verified=null
	dmesg >"$LOGS/dmesg.log" 2>&1 || true
	write_results "$boot_s" "${verified:-null}"
	return "$failed"
}

main "$@"
exit
