#!/usr/bin/env bash
# Shim overhead on a pipe ping-pong (DESIGN §9: within 1.10x of bare when
# nothing is injected). Runs bare, under mpt-run (shim on), under mpt-run
# with an --inject rule that never fires (the rule lookup on every read and
# write), and under
# `strace -f` as an anchor, alternately, and prints medians and ratios.
# usage: bench/shim-overhead.sh [ROUNDS] [ROUND_TRIPS]   (MPT_BUILD=build dir)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${MPT_BUILD:-$here/../_build}
rounds=${1:-7}
trips=${2:-100000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/pingpong" "$here/pingpong.c"
export MPT_PRELOAD=$build/.libs/libmptest-preload.so
declare -a bare shim rule strace_
for ((i = 0; i < rounds; i++)); do
	bare+=("$("$tmp/pingpong" "$trips")")
	"$build/mpt-run" --verbose -- "$tmp/pingpong" "$trips" >"$tmp/out" || true
	shim+=("$(sed -n 's/^  | \([0-9.]*\)$/\1/p' "$tmp/out" | head -1)")
	"$build/mpt-run" --verbose --inject=write:error=EIO:nth=1000000000 \
		-- "$tmp/pingpong" "$trips" >"$tmp/out" || true
	rule+=("$(sed -n 's/^  | \([0-9.]*\)$/\1/p' "$tmp/out" | head -1)")
	if command -v strace >/dev/null && [ "$i" -lt 3 ]; then
		strace_+=("$(strace -f -qq -o /dev/null "$tmp/pingpong" "$trips")")
	fi
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mb=$(median "${bare[@]}"); ms=$(median "${shim[@]}"); mr=$(median "${rule[@]}")
echo "| run | median s ($trips round trips, $rounds rounds) | ratio to bare |"
echo "|---|---|---|"
echo "| bare | $mb | 1.00 |"
echo "| mpt-run (shim on, nothing injected) | $ms | $(echo "scale=3; $ms / $mb" | bc) |"
echo "| mpt-run --inject=write:error=EIO:nth=1000000000 (never fires) | $mr | $(echo "scale=3; $mr / $mb" | bc) (x$(echo "scale=3; $mr / $ms" | bc) of no rule) |"
if [ ${#strace_[@]} -gt 0 ]; then
	mt=$(median "${strace_[@]}")
	echo "| strace -f (anchor, 3 rounds) | $mt | $(echo "scale=3; $mt / $mb" | bc) |"
fi
