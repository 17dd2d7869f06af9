#!/bin/sh
# Fuzzes the fault-rule and duration parsers for a bounded time.
#
#   selftests/fuzz/run.sh [SECONDS] [LIBFUZZER-OPTIONS...]
#
# Builds selftests/fuzz/fuzz_rules.c with framework/plan/rules.c and
# framework/core/util.c under clang -fsanitize=fuzzer,address,undefined (UB
# aborts rather than warns), copies the seed corpus into a scratch
# directory (the checked-in corpus stays as it is), and runs for SECONDS
# (default 30). Exits 0 when nothing was found; otherwise non-zero, with
# the crashing input left in the scratch directory, whose path is printed.
# CC (default clang) and FUZZ_DIR (default a new temporary directory) can
# be set.
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
mkdir -p "$work/corpus" "$work/artifacts"

if ! "$cc" -g -O1 -Wall -Wextra -Wno-unused-parameter \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-o "$work/fuzz_rules" \
	"$here/fuzz_rules.c" "$top/framework/plan/rules.c" \
	"$top/framework/core/util.c"; then
	echo "run.sh: cannot build the fuzzer with $cc (expected clang with libFuzzer, e.g. Debian's clang)" >&2
	exit 2
fi

cp "$here"/corpus/* "$work/corpus/"
echo "run.sh: fuzzing for ${secs}s in $work"
status=0
"$work/fuzz_rules" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -dict="$here/rules.dict" \
	-artifact_prefix="$work/artifacts/" "$@" "$work/corpus" || status=$?
if [ "$status" -ne 0 ] || [ -n "$(ls -A "$work/artifacts")" ]; then
	echo "run.sh: the fuzzer found a problem (exit $status); inputs in $work/artifacts:" >&2
	ls -l "$work/artifacts" >&2
	[ "$status" -ne 0 ] || status=1
	exit "$status"
fi
[ -n "${FUZZ_DIR:-}" ] || rm -rf "$work"
echo "run.sh: no crash in ${secs}s"
