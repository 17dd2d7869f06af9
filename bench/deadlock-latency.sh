#!/usr/bin/env bash
# Deadlock detection latency (DESIGN §9: found and explained within 100 ms
# of forming). Runs the canonical join-before-drain test
# (selftests/progs/deadlocks, deadlock/join_before_drain) ROUNDS times. The
# test prints, on CLOCK_MONOTONIC, when its body started and when the parent
# entered waitpid() with the child already blocked in write(): the moment
# the deadlock formed. Latency = duration_ms - (waitpid - body start), so it
# includes the leader's start-up (a fraction of a millisecond), the
# watchdog's confirmation samples, the report, the stack dumps and killing
# the tree. A second series runs with PATH emptied, so no stack tool is
# found: the verdict alone, without eu-stack.
# usage: bench/deadlock-latency.sh [ROUNDS]   (MPT_BUILD=build dir)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${MPT_BUILD:-$here/../_build}
rounds=${1:-20}
prog=$build/selftests/progs/deadlocks
[ -x "$prog" ] || make -C "$build" -s selftests/progs/deadlocks
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One run: prints the latency in ms, or fails when the verdict is not a
# deadlock.
one() {
	local json=$tmp/r.json
	rm -f "$json"
	env ${1:+PATH=$1} "$prog" --filter=deadlock/join_before_drain --json="$json" \
		>/dev/null 2>&1 || true
	python3 - "$json" <<'EOF'
import json, re, sys
t = json.load(open(sys.argv[1]))["tests"][0]
kinds = [f["kind"] for f in t.get("findings", [])]
if kinds.count("deadlock") != 1:
    sys.exit("expected one deadlock finding, got %s" % kinds)
m = re.search(r"body-start-ns=(\d+) waitpid-ns=(\d+)", t.get("output", ""))
offset = (int(m.group(2)) - int(m.group(1))) / 1e6
print("%.1f" % (t["duration_ms"] - offset))
EOF
}

declare -a with without
for ((i = 0; i < rounds; i++)); do
	with+=("$(one)")
	without+=("$(one /nonexistent-mptest-path)")
done
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "%s | %s | %s", a[int((NR+1)/2)], a[1], a[NR]}'; }
echo "Deadlock found after it formed (join-before-drain, 1 MB through a pipe), $rounds runs, ms:"
echo
echo "| run | median | min | max |"
echo "|---|---|---|---|"
echo "| verdict + report + stacks (eu-stack) + kill | $(stats "${with[@]}") |"
echo "| verdict + report + kill (no stack tool) | $(stats "${without[@]}") |"
echo "| Check's default test timeout (CK_DEFAULT_TIMEOUT) | 4000 | | |"
echo "| mptest's default timeout (--timeout) | 30000 | | |"
