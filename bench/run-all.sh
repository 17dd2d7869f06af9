#!/usr/bin/env bash
# run-all.sh — every benchmark against its anchor, in one session; what
# `make bench` runs. Prints one markdown table at the end and writes it, with
# the machine and each benchmark's own table, to RESULTS.
#
#   MPT_BUILD=BUILD_DIR bash bench/run-all.sh
#
# The benchmarks (each runs mptest and its anchor alternately, in the same
# session, and reports medians):
#   overhead.sh         2000 trivial tests: mptest -j1/-j2 vs Check (fork
#                       mode), Criterion -j1/-j2 and a bare fork loop
#   deadlock-latency.sh the join-before-drain deadlock: mptest's verdict
#                       latency vs Check's default timeout
#   shim-overhead.sh    a 100k-round-trip pipe ping-pong: bare, under the
#                       shim, with a rule that never fires, under strace
#   scale.sh            10,000 tests at -j 2: the runner's peak RSS and the
#                       time per test at 1,000, 5,000 and 10,000 tests
#
# Environment: MPT_BUILD (the configured, built tree; required), RESULTS
# (default: bench/results.md in the source tree, or ./bench-results.md when
# that is not writable), BENCH_QUICK=1 (tiny sizes, a smoke test of the
# scripts: its figures mean nothing, and it writes to ./bench-results-quick.md
# unless RESULTS says otherwise), KEEP=1 (keep the work directory).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
: "${MPT_BUILD:?run-all.sh: set MPT_BUILD to the mptest build tree (make bench does)}"
MPT_BUILD=$(cd "$MPT_BUILD" && pwd)
export MPT_BUILD
quick=${BENCH_QUICK:-0}

if [ "$quick" = 1 ]; then
	N=200 ROUNDS=3 DL_ROUNDS=3 CHECK_ROUNDS=1 SHIM_ROUNDS=2 TRIPS=10000
	STRACE_ROUNDS=1 SCALE_MAX=1000 SCALE_SIZES="100 500 1000" SCALE_ROUNDS=1
	default_results=$PWD/bench-results-quick.md
else
	N=2000 ROUNDS=10 DL_ROUNDS=20 CHECK_ROUNDS=3 SHIM_ROUNDS=11 TRIPS=100000
	STRACE_ROUNDS=3 SCALE_MAX=10000 SCALE_SIZES="1000 5000 10000" SCALE_ROUNDS=3
	default_results=$src/bench/results.md
	if ! { [ -w "$src/bench" ] && { [ ! -e "$default_results" ] || [ -w "$default_results" ]; }; }; then
		default_results=$PWD/bench-results.md
	fi
fi
RESULTS=${RESULTS:-$default_results}

missing=
for tool in cc pkg-config python3 objdump; do
	command -v "$tool" >/dev/null || missing="$missing $tool"
done
pkg-config --exists check 2>/dev/null || missing="$missing check(libcheck)"
if [ -n "$missing" ]; then
	echo "make bench: missing:$missing (apt-get install build-essential pkg-config python3 binutils check)" >&2
	exit 2
fi
if ! pkg-config --exists criterion; then
	echo "criterion not installed: apt-get install libcriterion-dev; skipping the Criterion column" >&2
fi

work=$(mktemp -d /tmp/mpt-bench.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
summary=$work/summary.txt
: >"$summary"
start=$(date +%s)

section() { echo; echo "==== $* ($(($(date +%s) - start)) s in)" >&2; }

section "per-test overhead: $N tests, $ROUNDS rounds (overhead.sh builds them first)"
N=$N ROUNDS=$ROUNDS RESULTS=$work/overhead.md SUMMARY=$summary \
	bash "$here/overhead.sh" "$work" >"$work/overhead.out"
cat "$work/overhead.out" >&2

section "deadlock latency: $DL_ROUNDS rounds"
CHECK_ROUNDS=$CHECK_ROUNDS SUMMARY=$summary \
	bash "$here/deadlock-latency.sh" "$DL_ROUNDS" | tee "$work/deadlock.out" >&2

section "shim overhead: $SHIM_ROUNDS rounds of $TRIPS round trips"
STRACE_ROUNDS=$STRACE_ROUNDS SUMMARY=$summary \
	bash "$here/shim-overhead.sh" "$SHIM_ROUNDS" "$TRIPS" | tee "$work/shim.out" >&2

section "scale: $SCALE_SIZES tests, -j 2"
SCALE_MAX=$SCALE_MAX SCALE_SIZES=$SCALE_SIZES SCALE_ROUNDS=$SCALE_ROUNDS SUMMARY=$summary \
	bash "$here/scale.sh" "$work" | tee "$work/scale.out" >&2
elapsed=$(($(date +%s) - start))

# ---- the table ----------------------------------------------------------------
# Lines of the summary: "overhead ID MEDIAN MIN CPU TESTS", "deadlock SERIES MEDIAN
# MIN MAX [RUNS]", "shim SERIES MEDIAN MIN CPU [RUNS]", "scale SIZE WALL HWM_KB",
# and "KEY VALUE" settings. "ratio of CPU time" compares user+sys CPU of the
# whole process trees: much less disturbed than wall time by other work.
table=$(awk '
function yn(ok) { return ok ? "yes" : "**no**" }
function us(s) { return s * 1e6 }
$1 == "overhead_n" { n = $2 } $1 == "overhead_rounds" { orounds = $2 }
$1 == "overhead" { om[$2] = $3 / $6; oc[$2] = $5 / $6 }
$1 == "deadlock_rounds" { drounds = $2 }
$1 == "deadlock" { dm[$2] = $3; dx[$2] = $5; if ($2 == "check") druns = $6 }
$1 == "shim_trips" { trips = $2 } $1 == "shim_rounds" { srounds = $2 }
$1 == "shim" { sm[$2] = $3; sc[$2] = $5; if ($2 == "strace") struns = $6 }
$1 == "scale" { sizes[++ns] = $2; sw[$2] = $3; sh[$2] = $4 }
function orow(t, a, b, what, target, ok) {
	printf "| %s | %.0f | %s: %.0f | %.2f× | %.2f× | %s | %s |\n", t, us(om[a]), what,
		us(om[b]), om[a] / om[b], oc[a] / oc[b], target, ok
}
END {
	print "| Benchmark | mptest (median) | anchor (median) | ratio | ratio of CPU time | target | met |"
	print "|---|---:|---|---:|---:|---|---|"
	t = sprintf("Per-test overhead, %d trivial tests, %d rounds, µs/test", n, orounds)
	orow(t, "mptest", "check", "Check, CK_FORK=yes", "≤ 0.8× Check",
		yn(om["mptest"] / om["check"] <= 0.8))
	orow("〃", "mptest", "floor", "floor, fork+_exit+waitpid", "≤ 1.5× floor",
		yn(om["mptest"] / om["floor"] <= 1.5))
	if ("criterion" in om)
		orow("〃", "mptest", "criterion", "Criterion -j1", "—", "")
	else
		printf "| 〃 | %.0f | Criterion: not installed | | | — | |\n", us(om["mptest"])
	if ("mptest-pin" in om) {
		orow("〃, all pinned to one CPU", "mptest-pin", "check-pin", "Check, pinned", "≤ 0.8× Check",
			yn(om["mptest-pin"] / om["check-pin"] <= 0.8))
		orow("〃, all pinned to one CPU", "mptest-pin", "floor-pin", "floor, pinned", "≤ 1.5× floor",
			yn(om["mptest-pin"] / om["floor-pin"] <= 1.5))
	}
	orow("〃, -j 2", "mptest-j2", "mptest", "mptest -j1", "—", "")
	orow("〃, -j 2", "mptest-j2", "check", "Check (one at a time)", "—", "")
	if ("criterion-j2" in om)
		orow("〃, -j 2", "mptest-j2", "criterion-j2", "Criterion -j2", "—", "")
	t = sprintf("Deadlock found after it formed, %d runs, ms (max)", drounds)
	if ("check" in dm)
		printf "| %s | %.0f (%.0f) | Check default timeout, %d runs: %.0f | %.3f× | | ≤ 100 ms median | %s |\n",
			t, dm["with"], dx["with"], druns, dm["check"], dm["with"] / dm["check"],
			yn(dm["with"] <= 100)
	else
		printf "| %s | %.0f (%.0f) | Check: not run | | | ≤ 100 ms median | %s |\n",
			t, dm["with"], dx["with"], yn(dm["with"] <= 100)
	printf "| 〃, no stack tool | %.0f (%.0f) | | | | | |\n", dm["without"], dx["without"]
	t = sprintf("Shim, %d pipe round trips, %d rounds, s", trips, srounds)
	printf "| %s: shim on, nothing injected | %.3f | bare: %.3f | %.3f× | %.3f× | ≤ 1.05× bare | %s |\n",
		t, sm["shim"], sm["bare"], sm["shim"] / sm["bare"], sc["shim"] / sc["bare"],
		yn(sm["shim"] / sm["bare"] <= 1.05)
	printf "| 〃: a rule that never fires | %.3f | bare: %.3f | %.3f× | %.3f× | ≤ 1.05× bare | %s |\n",
		sm["rule"], sm["bare"], sm["rule"] / sm["bare"], sc["rule"] / sc["bare"],
		yn(sm["rule"] / sm["bare"] <= 1.05)
	printf "| 〃: shim on, no cgroup lane (MPT_NO_CGROUP=1) | %.3f | bare: %.3f | %.3f× | %.3f× | — | |\n",
		sm["subreaper"], sm["bare"], sm["subreaper"] / sm["bare"], sc["subreaper"] / sc["bare"]
	if ("strace" in sm)
		printf "| 〃: anchor | | strace -f with a rule that never fires, %d runs: %.3f | %.2f× bare | | — | |\n",
			struns, sm["strace"], sm["strace"] / sm["bare"]
	lo = sizes[1]; hi = sizes[ns]
	rss = ""; per = ""; names = ""
	for (i = 1; i <= ns; i++) {
		rss = rss (i > 1 ? " / " : "") sprintf("%.1f", sh[sizes[i]] / 1024)
		per = per (i > 1 ? " / " : "") sprintf("%.0f", sw[sizes[i]] / sizes[i] * 1e6)
		names = names (i > 1 ? " / " : "") sizes[i]
	}
	printf "| Scale, -j 2, %s tests: runner peak RSS, MB | %s | itself at %d tests | %.2f× at %d (+%.2f KB per test) | | flat | %s |\n",
		names, rss, lo, sh[hi] / sh[lo], hi, (sh[hi] - sh[lo]) / (hi - lo),
		yn(sh[hi] / sh[lo] <= 1.10)
	printf "| 〃: wall time per test, µs | %s | itself at %d tests | %.2f× at %d | | linear (≈ 1×) | %s |\n",
		per, lo, (sw[hi] / hi) / (sw[lo] / lo), hi, yn((sw[hi] / hi) / (sw[lo] / lo) <= 1.25)
}' "$summary")

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
rev=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo "not a git checkout")
dirty=$({ git -C "$src" status --porcelain --untracked-files=no 2>/dev/null || true; } | head -c 1)
load=$(awk '$1 == "overhead_other_load" { print $2 }' "$summary")
{
	echo "# mptest benchmarks (\`make bench\`)"
	echo
	echo "- Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); the whole run took $elapsed s"
	echo "- Machine: nproc=$(nproc), CPU: ${cpu_model:-unknown}, kernel $(uname -r)"
	echo "- mptest: $rev${dirty:+ (with uncommitted changes)}, built in $MPT_BUILD"
	echo "- Other work on the machine during the per-test rounds: ${load:-?} cores on average" \
		"(/proc/stat minus the contenders' own); wall times are noisier when it is high"
	[ "$quick" != 1 ] || echo "- **BENCH_QUICK=1: tiny sizes, a smoke test of the scripts; the figures mean nothing**"
	echo
	echo "Each benchmark runs mptest and its anchor alternately in the same session;"
	echo "ratios are of medians. The sections below have every contender and the"
	echo "scripts that produced them (\`bench/\`, see bench/README.md)."
	echo
	echo "$table"
	echo
	echo "## Per-test overhead (\`bench/overhead.sh\`)"
	echo
	sed -n '/^- Other load/,/^$/p' "$work/overhead.md"
	sed -n '/^| Contender/,/^$/p' "$work/overhead.md"
	sed -n '/^Raw wall seconds/,$p' "$work/overhead.md"
	echo
	echo "## Deadlock latency (\`bench/deadlock-latency.sh $DL_ROUNDS\`)"
	echo
	cat "$work/deadlock.out"
	echo
	echo "## Shim overhead (\`bench/shim-overhead.sh $SHIM_ROUNDS $TRIPS\`)"
	echo
	cat "$work/shim.out"
	echo
	echo "## Scale (\`bench/scale.sh\`, $SCALE_ROUNDS rounds)"
	echo
	cat "$work/scale.out"
} >"$RESULTS.tmp"
mv -f "$RESULTS.tmp" "$RESULTS"

echo
echo "$table"
echo
echo "make bench: written to $RESULTS ($elapsed s)"
