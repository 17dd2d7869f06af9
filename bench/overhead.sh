#!/usr/bin/env bash
# overhead.sh — per-test overhead of mptest, against Check, Criterion and a
# bare fork loop.
#
#   bash bench/overhead.sh [WORKDIR]
#
# Builds the contenders with gen-tests.sh into WORKDIR (default: a temporary
# directory under /tmp, removed at the end unless KEEP=1), runs each once as
# a warm-up and sanity check, then ROUNDS rounds of all of them, interleaved
# (each round starts one contender later than the previous one, so no
# contender always runs first or right after the same neighbour).  Prints a
# markdown table and writes it, with the machine's description, to
# RESULTS (default bench/results-overhead.md).
#
# Environment:
#   N          tests per program (default 2000)
#   ROUNDS     measured rounds (default 10)
#   MPT_BUILD  the mptest build tree (default _build next to bench/)
#   RESULTS    where the report goes (default: results-overhead.md next to
#              this script)
#   KEEP       1: keep WORKDIR
#   MPT_LABEL  free text for the report: where the library came from
#   PIN_CPU    the CPU of the pinned runs (default 0; none: no pinned runs)
#   SUMMARY    a file to append "overhead ID MEDIAN_S MIN_S CPU_S TESTS" lines
#              to (bench/run-all.sh builds its table from them)
# Run by hand; not part of `make check`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export N=${N:-2000}
ROUNDS=${ROUNDS:-10}
export MPT_BUILD=${MPT_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/_build}
RESULTS=${RESULTS:-$here/results-overhead.md}
KEEP=${KEEP:-0}

case $ROUNDS in
'' | *[!0-9]* | 0) echo "overhead.sh: ROUNDS must be a positive integer" >&2; exit 2 ;;
esac

work=${1:-}
if [ -z "$work" ]; then
	work=$(mktemp -d /tmp/mpt-bench.XXXXXX)
	if [ "$KEEP" != 1 ]; then
		trap 'rm -rf "$work"' EXIT
	fi
fi

# Settings that would change what the contenders do are cleared; the ones
# that matter are set explicitly below.
unset CK_RUN_SUITE CK_RUN_CASE CK_INCLUDE_TAGS CK_EXCLUDE_TAGS CK_VERBOSITY \
	CK_DEFAULT_TIMEOUT CK_TIMEOUT_MULTIPLIER CK_LOG_FILE_NAME \
	CK_XML_LOG_FILE_NAME CK_TAP_LOG_FILE_NAME \
	MPT_DEBUG MPT_TIMEOUT_MULTIPLIER TEST_TOTAL_SHARDS TEST_SHARD_INDEX
export CK_FORK=yes

echo "overhead.sh: building $N-test programs in $work" >&2
built=$(bash "$here/gen-tests.sh" "$work" | tail -n 1)
work=$built
timer=$work/timer

ids=(mptest mptest-j2 check)
declare -A label cmd
label[mptest]="mptest \`--quiet\`"
label[mptest-j2]="mptest \`--quiet -j 2\`"
label[check]="Check $(pkg-config --modversion check), CK_FORK=yes, CK_SILENT"
label[floor]="floor: fork + \`_exit\` + waitpid"
cmd[mptest]="$work/mptest-bench --quiet"
cmd[mptest-j2]="$work/mptest-bench --quiet -j 2"
cmd[check]="$work/check-bench"
cmd[floor]="$work/floor-bench $N"
# Criterion runs each test in a process of its own too; -j1 is the
# comparison with mptest's default, -j2 with mptest -j 2. It starts a new
# process image per test (some 10 ms each here), so it runs the first 100
# tests of the same program (--filter); every figure is per test.
declare -A count
for id in "${ids[@]}" floor; do count[$id]=$N; done
if [ -x "$work/crit-bench" ]; then
	crit_n=$((N < 100 ? N : 100))
	ids+=(criterion criterion-j2)
	crit_version=$(pkg-config --modversion criterion 2>/dev/null || echo "?")
	label[criterion]="Criterion $crit_version \`-j1 --quiet\` ($crit_n of the tests)"
	label[criterion-j2]="Criterion $crit_version \`-j2 --quiet\` ($crit_n of the tests)"
	cmd[criterion]="$work/crit-bench -j1 --quiet --filter=bench/t00*"
	cmd[criterion-j2]="$work/crit-bench -j2 --quiet --filter=bench/t00*"
	count[criterion]=$crit_n
	count[criterion-j2]=$crit_n
fi
ids+=(floor)
# The -j1 contenders again, pinned to one CPU (PIN_CPU, default 0;
# PIN_CPU=none: not run): on a VM a wake-up across CPUs costs tens of µs,
# and a fork-per-test harness wakes its runner at least once per test, so
# where the scheduler puts the two processes weighs on every row. Pinned,
# what is left is the harness's own work.
pin_cpu=${PIN_CPU:-0}
if [ "$pin_cpu" != none ] && command -v taskset >/dev/null &&
	taskset -c "$pin_cpu" true 2>/dev/null; then
	for id in mptest check floor; do
		ids+=("$id-pin")
		label[$id-pin]="${label[$id]}, pinned to CPU $pin_cpu"
		cmd[$id-pin]="taskset -c $pin_cpu ${cmd[$id]}"
		count[$id-pin]=$N
	done
fi

# Runs contender $1 once under the timer; prints "WALL USER SYS".
run_one() {
	local -a argv
	read -ra argv <<<"${cmd[$1]}"
	local wall user sys status
	read -r wall user sys status < <("$timer" "${argv[@]}")
	if [ "${status:-x}" != 0 ]; then
		echo "overhead.sh: $1 failed (exit status ${status:-unknown}): ${cmd[$1]}" >&2
		exit 1
	fi
	echo "$wall $user $sys"
}

# ---- warm-up and sanity ----------------------------------------------------
# One untimed run each: fills the page cache, and proves every program
# really ran N passing tests.
out=$("$work/mptest-bench" --quiet -j 2 2>&1 | tail -n 1)
[ "$out" = "$N passed, 0 failed" ] ||
	{ echo "overhead.sh: mptest warm-up said: $out" >&2; exit 1; }
out=$("$work/mptest-bench" --quiet 2>&1 | tail -n 1)
[ "$out" = "$N passed, 0 failed" ] ||
	{ echo "overhead.sh: mptest warm-up said: $out" >&2; exit 1; }
"$work/check-bench" ||
	{ echo "overhead.sh: Check warm-up failed (it runs $N tests, all must pass)" >&2; exit 1; }
if [ -x "$work/crit-bench" ]; then
	out=$("$work/crit-bench" -j1 --filter='bench/t00*' 2>&1 | tail -n 1)
	case $out in
	*"Tested: $crit_n | Passing: $crit_n | Failing: 0 | Crashing: 0"*) ;;
	*) echo "overhead.sh: Criterion warm-up said: $out" >&2; exit 1 ;;
	esac
fi
out=$("$work/floor-bench" "$N")
[ "$out" = "$N tests, 0 failed" ] ||
	{ echo "overhead.sh: floor warm-up said: $out" >&2; exit 1; }
containment=$(MPT_DEBUG=1 "$work/mptest-bench" --quiet --filter=bench/t0000 2>&1 >/dev/null |
	sed -n 's/.*containment: //p')

# ---- measurement -------------------------------------------------------------
# Other work on the machine inflates wall times. The busy CPU time of the
# whole machine (/proc/stat, in USER_HZ ticks) is read around the rounds;
# what the contenders did not use themselves was someone else's.
busy_ticks() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}
busy_before=$(busy_ticks)
wall_before=$(date +%s.%N)
times=$work/times.txt
: >"$times"
n_ids=${#ids[@]}
for ((r = 0; r < ROUNDS; r++)); do
	order=()
	for ((k = 0; k < n_ids; k++)); do
		id=${ids[(r + k) % n_ids]}
		order+=("$id")
		t=$(run_one "$id")
		echo "$id $r $t" >>"$times"
	done
	echo "overhead.sh: round $((r + 1))/$ROUNDS done (${order[*]})" >&2
done

busy_after=$(busy_ticks)
wall_after=$(date +%s.%N)
hz=$(getconf CLK_TCK)
# "OTHER_CPU_S WALL_S": CPU seconds used by other work during the rounds.
read -r other_cpu rounds_wall < <(awk -v b0="$busy_before" -v b1="$busy_after" -v hz="$hz" \
	-v w0="$wall_before" -v w1="$wall_after" '
	{ own += $4 + $5 }
	END { o = (b1 - b0) / hz - own; if (o < 0) o = 0; printf "%.2f %.2f\n", o, w1 - w0 }' "$times")
other_load=$(awk -v o="$other_cpu" -v w="$rounds_wall" 'BEGIN { printf "%.2f", (w > 0 ? o / w : 0) }')
if awk -v l="$other_load" 'BEGIN { exit !(l > 0.10) }'; then
	echo "overhead.sh: warning: other work used $other_cpu CPU s during the $rounds_wall s" \
		"of rounds ($other_load cores on average); wall times are noisy, the CPU" \
		"columns much less so" >&2
fi

# ---- statistics ----------------------------------------------------------------
# Column $2 of the times of contender $1, one per line, sorted.
column_of() {
	awk -v id="$1" -v col="$2" '$1 == id { print $(col) }' "$times" | sort -g
}
# The median of numbers on stdin, one per line, sorted.
median() {
	awk '{ v[NR] = $1 }
	END { printf "%.6f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# Prints "MEDIAN MIN CPU" for contender $1: the median and minimum wall
# seconds, and the median user+sys CPU seconds.
stats() {
	local m mn c
	m=$(column_of "$1" 3 | median)
	mn=$(column_of "$1" 3 | head -n 1)
	c=$(awk -v id="$1" '$1 == id { print $4 + $5 }' "$times" | sort -g | median)
	echo "$m $mn $c"
}
declare -A med min cpu
for id in "${ids[@]}"; do
	read -r "med[$id]" "min[$id]" "cpu[$id]" < <(stats "$id")
done

table() {
	echo "| Contender | median s | min s | µs/test (median) | µs/test (min) | over floor µs/test | CPU s (user+sys) | CPU µs/test | × Check | × floor |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	local ref
	for id in "${ids[@]}"; do
		# Pinned rows are compared with the pinned Check and floor.
		case $id in *-pin) ref=-pin ;; *) ref= ;; esac
		awk -v l="${label[$id]}" -v m="${med[$id]}" -v mn="${min[$id]}" \
			-v c="${cpu[$id]}" -v ck="${med[check$ref]}" -v fl="${med[floor$ref]}" -v n="$N" \
			-v k="${count[$id]}" \
			'BEGIN {
				printf "| %s | %.3f | %.3f | %.0f | %.0f | %.0f | %.3f | %.0f | %.2f | %.2f |\n",
					l, m, mn, m / k * 1e6, mn / k * 1e6, (m / k - fl / n) * 1e6,
					c, c / k * 1e6, (m / k) / (ck / n), (m / k) / (fl / n)
			}'
	done
}

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
src=$(cd "$here/.." && pwd)
rev=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)
lib_sum=$(sha256sum "$work/lib/libmptest.so" | cut -c 1-16)
lib_date=$(date -u -r "$work/lib/libmptest.so" '+%Y-%m-%d %H:%M:%S UTC')
tbl=$(table)
{
	echo "# Per-test overhead: mptest vs Check, Criterion and a bare fork loop"
	echo
	echo "- Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "- Machine: nproc=$(nproc), CPU: ${cpu_model:-unknown}, kernel $(uname -r)"
	case $(readlink -f "$MPT_BUILD")/ in
	"$src"/*) echo "- mptest: built in $MPT_BUILD from $src at HEAD $rev (plus any uncommitted changes); a copy of" ;;
	*) echo "- mptest: built outside the source tree (see Library below; $src is at HEAD $rev); a copy of" ;;
	esac
	echo "  $MPT_BUILD/.libs/libmptest.so built $lib_date, sha256 $lib_sum…;"
	echo "  containment: ${containment:-unknown}"
	if [ -n "${MPT_LABEL:-}" ]; then
		echo "- Library: $MPT_LABEL"
	fi
	echo "- Other load: $other_cpu CPU s used by other processes during the $rounds_wall s of"
	echo "  measured rounds ($other_load of $(nproc) cores on average; /proc/stat minus the contenders' own)"
	echo "- Check: $(pkg-config --modversion check); Criterion: ${crit_version:-not installed}; compiler: $(cc --version | head -n 1)"
	echo "- $N trivial tests per program (\`x + 1 == 2\`), $ROUNDS interleaved rounds after one warm-up run each;"
	echo "  wall time of the whole program, stdout to /dev/null (Criterion: ${crit_n:-0} of the tests,"
	echo "  every figure per test). Ratios use the medians per test;"
	echo "  \"over floor\" is median per test − floor median per test; CPU is the median user+sys time of"
	echo "  the program and all its children (less sensitive than wall time to other load)."
	echo "  Rows pinned to one CPU are compared with the pinned Check and floor."
	echo
	echo "$tbl"
	echo
	echo "Commands (built by \`bench/gen-tests.sh\`, run by \`bench/overhead.sh\`):"
	echo
	for id in "${ids[@]}"; do
		echo "- $id: \`${cmd[$id]//$work/\$WORK}\`"
	done
	echo
	echo "Raw wall seconds per round (round order rotates: round r starts with contender r mod ${n_ids}):"
	echo
	echo '```'
	for id in "${ids[@]}"; do
		printf '%-10s' "$id"
		awk -v id="$id" '$1 == id { printf " %.3f", $3 } END { print "" }' "$times"
	done
	echo '```'
} >"$RESULTS"

if [ -n "${SUMMARY:-}" ]; then
	{
		echo "overhead_n $N"
		echo "overhead_rounds $ROUNDS"
		echo "overhead_other_load $other_load"
		echo "overhead_containment ${containment:-unknown}"
		for id in "${ids[@]}"; do
			echo "overhead $id ${med[$id]} ${min[$id]} ${cpu[$id]} ${count[$id]}"
		done
	} >>"$SUMMARY"
fi

echo
echo "$tbl"
echo
echo "overhead.sh: written to $RESULTS" >&2
