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
#
# The anchor is the same deadlock as a Check test (deadlock_check.c) with
# Check's default 4 s timeout, run CHECK_ROUNDS times (default 3) spread
# over the rounds, so both harnesses run in the same session, alternately.
#
# usage: bench/deadlock-latency.sh [ROUNDS]   (MPT_BUILD=build dir)
# Environment: CHECK_ROUNDS (0: no Check runs), SUMMARY (a file to append
# "deadlock SERIES MEDIAN MIN MAX" lines to, for bench/run-all.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${MPT_BUILD:-$here/../_build}
rounds=${1:-20}
check_rounds=${CHECK_ROUNDS:-3}
case $rounds$check_rounds in
*[!0-9]*) echo "deadlock-latency.sh: ROUNDS and CHECK_ROUNDS must be integers" >&2; exit 2 ;;
esac
[ "$rounds" -ge 1 ] || { echo "deadlock-latency.sh: ROUNDS must be at least 1" >&2; exit 2; }
command -v python3 >/dev/null ||
	{ echo "deadlock-latency.sh: python3 is needed to read the JSON report" >&2; exit 2; }
prog=$build/selftests/progs/deadlocks
[ -x "$prog" ] || make -C "$build" -s selftests/progs/deadlocks
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "$check_rounds" -gt 0 ]; then
	if pkg-config --exists check; then
		read -ra ck <<<"$(pkg-config --cflags --libs check)"
		cc -O2 -o "$tmp/deadlock_check" "$here/deadlock_check.c" "${ck[@]}"
	else
		echo "deadlock-latency.sh: Check not installed (apt-get install check); no Check column" >&2
		check_rounds=0
	fi
fi
unset CK_DEFAULT_TIMEOUT CK_TIMEOUT_MULTIPLIER MPT_TIMEOUT_MULTIPLIER

# One run: prints the latency in ms, or fails when the verdict is not a
# deadlock.
one() {
	local json=$tmp/r.json
	rm -f "$json"
	env ${1:+PATH=$1} "$prog" --filter=deadlock/join_before_drain --json="$json" \
		>"$tmp/out" 2>&1 || true
	if [ ! -s "$json" ]; then
		echo "deadlock-latency.sh: $prog wrote no JSON report; it said:" >&2
		cat "$tmp/out" >&2
		return 1
	fi
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

declare -a with=() without=() check=()
for ((i = 0; i < rounds; i++)); do
	with+=("$(one)")
	without+=("$(one /nonexistent-mptest-path)")
	# Check's runs, spread evenly over the rounds.
	if [ "$check_rounds" -gt 0 ] &&
		[ $(((i * check_rounds) / rounds)) -ne $((((i + 1) * check_rounds) / rounds)) ]; then
		check+=("$("$tmp/deadlock_check")")
	fi
done
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "%s %s %s", a[int((NR+1)/2)], a[1], a[NR]}'; }
read -r wm wn wx <<<"$(stats "${with[@]}")"
read -r om on ox <<<"$(stats "${without[@]}")"
echo "Deadlock found after it formed (join-before-drain, 1 MB through a pipe), $rounds runs, ms:"
echo
echo "| run | median | min | max |"
echo "|---|---|---|---|"
echo "| mptest: verdict + report + stacks (eu-stack) + kill | $wm | $wn | $wx |"
echo "| mptest: verdict + report + kill (no stack tool) | $om | $on | $ox |"
if [ ${#check[@]} -gt 0 ]; then
	read -r cm cn cx <<<"$(stats "${check[@]}")"
	echo "| Check $(pkg-config --modversion check), fork mode, default timeout (${#check[@]} runs) | $cm | $cn | $cx |"
fi
echo "| mptest's default timeout (--timeout) | 30000 | | |"
if [ -n "${SUMMARY:-}" ]; then
	{
		echo "deadlock_rounds $rounds"
		echo "deadlock with $wm $wn $wx"
		echo "deadlock without $om $on $ox"
		[ ${#check[@]} -eq 0 ] || echo "deadlock check $cm $cn $cx ${#check[@]}"
	} >>"$SUMMARY"
fi
