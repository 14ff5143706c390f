#!/usr/bin/env bash
# Run each libFuzzer target for a set time: scripts/fuzz.sh DIR SECONDS TARGET...
# DIR holds the fuzz_TARGET binaries; each run starts from the committed seeds
# (tests/fuzz/corpus/TARGET) and the inputs earlier runs kept (DIR/corpus/TARGET,
# where new ones go). A crash, a sanitizer finding or a property violation
# stops with the input saved under DIR/crashes and a failing exit code.
set -euo pipefail
dir=$1 secs=$2
shift 2
mkdir -p "$dir/crashes"
total=0
for t in "$@"; do
	mkdir -p "$dir/corpus/$t"
	log="$dir/fuzz_$t.log"
	# -rss_limit_mb: the BPF targets map large tables; ASan counts them too.
	if ! "$dir/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=8192 \
		-timeout=30 -artifact_prefix="$dir/crashes/$t-" \
		"$dir/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
		echo "fuzz: $t FAILED; the input is in $dir/crashes, the log in $log" >&2
		grep -E "property violated|ERROR: |SUMMARY: |Test unit written" "$log" | head -20 >&2
		exit 1
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 || true)
	total=$((total + ${execs:-0}))
	printf '  %-8s %-7s %10s executions in %ss, %s, corpus %s inputs\n' FUZZ "$t" \
		"${execs:-?}" "$secs" "${cov:-cov: ?}" "$(ls "$dir/corpus/$t" | wc -l)"
done
printf '  %-8s %s executions in all, 0 findings\n' FUZZ "$total"
