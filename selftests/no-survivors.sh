#!/bin/sh
# The last test of `make check` (TAP): no process of the selftests is still
# alive once they have all run. The harness promises that nothing a test
# starts outlives it; this checks the promise over the whole suite, the
# runners and Check programs included.
#
# A process belongs to this build's selftests when its executable or one of
# its mappings lies under the build directory, when its environment holds
# what TESTS_ENVIRONMENT exported for this build (top_builddir,
# MPT_PRELOAD), or when it carries a test's marks (MPT_TEST_TOKEN in its
# environment, a memfd:mptest-region mapping) and the runner that made them
# is gone or is ours. Not counted: this script, its ancestors, and the
# rest of its own process group that is not under the build directory
# (make, the TAP driver's awk, the commands this script runs) — a test's
# leader has a process group of its own, so a test's tree is never skipped.
#
# Makefile.am runs it after every other test, also under `make -j check`
# (its log depends on theirs). A process still exiting gets two seconds.
set -u

build=${top_builddir:-$(pwd)}
build=$(cd "$build" && pwd -P)
self=$$

echo "1..2"

# Our ancestors: this script's parent chain up to init.
ancestors=" $self "
p=$self
while [ "$p" -gt 1 ] 2>/dev/null; do
	p=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$p/status" 2>/dev/null)
	[ -n "$p" ] || break
	ancestors="$ancestors$p "
done
# /proc/PID/stat's fields after the ")" that ends comm: state is 1, pgid 3.
stat_field() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f"$2"
}
mypgid=$(stat_field "$self" 3)

# The runner pid in a token "NAME=PID-N" or a region "mptest-region-PID-N".
runner_of() {
	echo "$1" | sed -n 's/.*MPT_TEST_TOKEN=\([0-9]*\)-.*/\1/p; s/.*mptest-region-\([0-9]*\)-.*/\1/p' | head -1
}

# Whether process $1 belongs to this build (exe or maps under it).
under_build() {
	exe=$(readlink "/proc/$1/exe" 2>/dev/null) || exe=
	case $exe in "$build"/*) return 0 ;; esac
	grep -q -F "$build/" "/proc/$1/maps" 2>/dev/null
}

# Prints "PID REASON" for every survivor.
scan() {
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		case $ancestors in *" $pid "*) continue ;; esac
		state=$(stat_field "$pid" 1)
		[ -n "$state" ] && [ "$state" != Z ] || continue
		env=$(tr '\0' '\n' 2>/dev/null <"$d/environ") || continue
		[ -n "$env" ] || continue # kernel threads
		why=
		if under_build "$pid"; then
			why="runs from the build directory"
		elif printf '%s\n' "$env" | grep -q -x -F -e "top_builddir=$build" \
			-e "MPT_PRELOAD=$build/.libs/libmptest-preload.so"; then
			why="started by this make check"
		fi
		if [ -n "$why" ] && [ "$why" != "runs from the build directory" ] &&
			[ "$(stat_field "$pid" 3)" = "$mypgid" ]; then
			continue # make, the TAP driver, this script's commands
		fi
		if [ -z "$why" ]; then
			mark=$(printf '%s\n' "$env" | grep -m1 '^MPT_TEST_TOKEN=')
			[ -n "$mark" ] || mark=$(grep -m1 -o 'mptest-region-[0-9]*-[0-9]*' "$d/maps" 2>/dev/null)
			[ -n "$mark" ] || continue
			r=$(runner_of "$mark")
			if [ -n "$r" ] && [ -d "/proc/$r" ] && ! under_build "$r"; then
				continue # a live runner of another build: not ours
			fi
			why="a test's process ($mark) whose runner ${r:-?} is gone or is this build's"
		fi
		echo "$pid $why"
	done
}

survivors=$(scan)
tries=0
while [ -n "$survivors" ] && [ $tries -lt 10 ]; do
	sleep 0.2
	survivors=$(scan)
	tries=$((tries + 1))
done

describe() {
	echo "$1" | while read -r pid why; do
		[ -d "/proc/$pid" ] || continue
		comm=$(cat "/proc/$pid/comm" 2>/dev/null)
		cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")
		echo "#   pid $pid ($comm): $cmd"
		echo "#     $why; ppid $(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null), state $(stat_field "$pid" 1), pgid $(stat_field "$pid" 3)"
	done
}

n=$(ls -d /proc/[0-9]* 2>/dev/null | wc -l)
ours=$(echo "$survivors" | grep -v "whose runner")
orphans=$(echo "$survivors" | grep "whose runner")
own=$(echo "$ours" | grep -c .)
norphans=$(echo "$orphans" | grep -c .)
status=0
if [ "$own" -eq 0 ]; then
	echo "ok 1 - no process of this build's selftests is alive ($n processes looked at)"
else
	echo "not ok 1 - $own process(es) of this build's selftests outlived make check"
	describe "$ours"
	status=1
fi
if [ "$norphans" -eq 0 ]; then
	echo "ok 2 - no test process outlived its runner"
else
	echo "not ok 2 - $norphans test process(es) outlived their runner"
	describe "$orphans"
	status=1
fi
exit $status
