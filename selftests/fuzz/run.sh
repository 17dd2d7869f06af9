#!/bin/sh
# Fuzzes every parser of user input for a bounded time: one libFuzzer
# harness per selftests/fuzz/fuzz_*.c —
#   fuzz_rules    --inject rules and durations (framework/plan/rules.c)
#   fuzz_options  the whole command line (framework/cli/options.c)
#   fuzz_values   --timeout, --shard, --repeat, --seed, -j, --faketime,
#                 --pipe-capacity values
#   fuzz_filter   --filter globs and --shard over the filtered list
#
#   selftests/fuzz/run.sh [SECONDS] [LIBFUZZER-OPTIONS...]
#
# SECONDS (default 30) is the whole budget, shared equally by the harnesses
# (at least 1 s each). Builds the parsers once under clang
# -fsanitize=fuzzer,address,undefined (UB aborts rather than warns), links
# each harness, copies its seed corpus (corpus/HARNESS/) into a scratch
# directory (the checked-in corpus stays as it is) and runs it with its
# dictionary (HARNESS.dict) when there is one. Prints, per harness, the
# executions and executions per second. Exits 0 when nothing was found;
# otherwise 1 (2 for bad usage or no clang), with the crashing inputs left
# in the scratch directory, whose path is printed.
# Environment: CC (default clang), FUZZ_DIR (default a new temporary
# directory), FUZZ_HARNESSES (default every fuzz_*.c, e.g. "fuzz_values").
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
secs=${1:-30}
[ $# -gt 0 ] && shift
case $secs in
'' | *[!0-9]* | 0*) echo "run.sh: bad time \"$secs\" (expected a whole number of seconds >= 1, e.g. 60)" >&2; exit 2 ;;
esac
cc=${CC:-clang}
work=${FUZZ_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/mptest-fuzz.XXXXXX")}
mkdir -p "$work"
work=$(cd "$work" && pwd)

harnesses=${FUZZ_HARNESSES:-$(cd "$here" && ls fuzz_*.c | sed 's/\.c$//')}
n=0
for h in $harnesses; do
	[ -f "$here/$h.c" ] || { echo "run.sh: no harness $h (expected one of: $(cd "$here" && ls fuzz_*.c | sed 's/\.c$//' | tr '\n' ' '))" >&2; exit 2; }
	n=$((n + 1))
done
each=$((secs / n))
[ "$each" -ge 1 ] || each=1

# The parsers and what they need, built once. A stand-in for configure's
# config.h: the paths it would hold are not used by the parsers.
sources="framework/cli/options.c framework/plan/plan.c framework/plan/rules.c
	framework/integrations/tools.c framework/integrations/faketime.c
	framework/integrations/valgrind.c framework/core/util.c
	framework/core/kinds.c framework/core/region.c framework/report/result.c"
flags="-g -O1 -Wall -Wextra -Wno-unused-parameter -fno-sanitize-recover=all -I$top/include -I$work/inc"
mkdir -p "$work/inc" "$work/obj"
cat >"$work/inc/config.h" <<'EOF'
#define MPT_FAKETIME_LIB ""
#define MPT_VALGRIND_PATH ""
EOF
objs=
for s in $sources; do
	o="$work/obj/$(echo "$s" | tr / _ | sed 's/\.c$/.o/')"
	if ! "$cc" $flags -fsanitize=fuzzer-no-link,address,undefined \
		-DMPT_PRELOAD_PATH='"/nonexistent/libmptest-preload.so"' \
		-c -o "$o" "$top/$s"; then
		echo "run.sh: cannot build $s with $cc (expected clang with libFuzzer, e.g. Debian's clang)" >&2
		exit 2
	fi
	objs="$objs $o"
done

status=0
summary=
for h in $harnesses; do
	if ! "$cc" $flags -fsanitize=fuzzer,address,undefined -o "$work/$h" \
		"$here/$h.c" $objs; then
		echo "run.sh: cannot build $h with $cc" >&2
		exit 2
	fi
	rm -rf "$work/corpus/$h" "$work/artifacts/$h"
	mkdir -p "$work/corpus/$h" "$work/artifacts/$h"
	[ ! -d "$here/corpus/$h" ] || cp "$here/corpus/$h"/* "$work/corpus/$h/"
	dict=
	[ ! -f "$here/$h.dict" ] || dict="-dict=$here/$h.dict"
	echo "run.sh: $h for ${each}s"
	rc=0
	TMPDIR=$work "$work/$h" -max_total_time="$each" -timeout=5 -rss_limit_mb=2048 \
		-print_final_stats=1 $dict -artifact_prefix="$work/artifacts/$h/" \
		"$@" "$work/corpus/$h" >"$work/$h.log" 2>&1 || rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$h.log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$h.log")
	if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$work/artifacts/$h")" ]; then
		tail -40 "$work/$h.log" >&2
		echo "run.sh: $h found a problem (exit $rc); inputs in $work/artifacts/$h:" >&2
		ls -l "$work/artifacts/$h" >&2
		status=1
		line="$h: FAILED (exit $rc)"
	else
		line="$h: ${runs:-?} executions in ${each}s, ${rate:-?} exec/s, no crash"
	fi
	echo "run.sh: $line"
	summary="$summary
  $line"
done
echo "run.sh: summary ($n harnesses, ${secs}s):$summary"
if [ "$status" -ne 0 ]; then
	echo "run.sh: the fuzzers found a problem; everything is in $work" >&2
	exit "$status"
fi
[ -n "${FUZZ_DIR:-}" ] || rm -rf "$work"
echo "run.sh: no crash in ${secs}s"
