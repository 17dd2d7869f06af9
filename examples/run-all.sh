#!/usr/bin/env bash
# Builds every example (examples/NN-*/) and runs its buggy and fixed programs
# under mptest, then prints a table: example, buggy verdict, fixed verdict,
# the API test's verdicts, and what mptest said about the buggy one (cut at
# a word, with "…", to keep the table narrow). Exits 0 when every buggy
# program got the finding its README names ("Expected finding: KIND"), the
# README's "- **Finding**: `KIND`" bullet names that same kind, and every
# fixed program passed. A buggy program gets up to 3 runs to show its bug (the
# races of 01 and 03 show on nearly every run, not on every one); a fixed
# program gets one, and must pass it.
#
#   run-all.sh [--tap] [NAME...]
#
# An example with a test.c (an MPT_TEST file testing the shared code
# through the API) gets that built twice, linked with buggy.c and with
# fixed.c (-DNO_MAIN: libmptest supplies main()), and run like the API
# programs: the buggy build must get the expected kind too (or the one an
# "Expected API finding: KIND" line names), the fixed build must pass. The
# table's API column says buggy/fixed; "-" for an example without test.c.
#
# --tap prints TAP instead of the table (selftests/examples-meta.sh runs it
# that way in `make check`); NAMEs (e.g. 07-drain-before-join, or just 07)
# pick examples. Environment: MPT_BUILD, the configured build tree (default
# _build/demo); MPT_PRELOAD (default: the build tree's preload library);
# CC (default cc).
#
# A plain program runs as `mpt-run [mpt-run.args] -- ./program`. A program
# written against the test API (one that includes <mptest.h>) is linked with
# libmptest and run as the test program it is, with the same options: run
# under mpt-run it would be one test whose program exits 1, and the finding
# would be exit-status instead of what its own runner saw.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tap=0
picked=()
for a in "$@"; do
	case $a in
	--tap) tap=1 ;;
	-h|--help) sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
	-*) echo "run-all.sh: $a — unknown option (expected --tap or example names)" >&2; exit 2 ;;
	*) picked+=("${a%/}") ;;
	esac
done

build=$(cd "${MPT_BUILD:-$here/../_build/demo}" 2>/dev/null && pwd) ||
	{ echo "run-all.sh: no build tree at ${MPT_BUILD:-$here/../_build/demo} (run ./dev.sh demo)" >&2; exit 2; }
mptrun=$build/mpt-run
[ -x "$mptrun" ] || { echo "run-all.sh: $mptrun not built (run ./dev.sh demo)" >&2; exit 2; }
if [ -z "${MPT_PRELOAD:-}" ] && [ -f "$build/.libs/libmptest-preload.so" ]; then
	MPT_PRELOAD=$build/.libs/libmptest-preload.so
fi
[ -n "${MPT_PRELOAD:-}" ] && export MPT_PRELOAD
out=$build/examples-run
mkdir -p "$out" || exit 2
cc=${CC:-cc}
# The public headers: an example may mark points with <mptest-point.h>,
# which needs no libmptest.
cflags=(-O1 -g -Wall -pthread -I"$here/../include")
api_flags=(-I"$here/../include" -L"$build/.libs" -Wl,-rpath,"$build/.libs" -lmptest)

dirs=()
for dir in "$here"/[0-9][0-9]-*/; do
	name=$(basename "$dir")
	if [ ${#picked[@]} -gt 0 ]; then
		hit=0
		for p in "${picked[@]}"; do
			case $name in "$p"|"$p"-*) hit=1 ;; esac
		done
		[ $hit = 1 ] || continue
	fi
	dirs+=("${dir%/}")
done
[ ${#dirs[@]} -gt 0 ] || { echo "run-all.sh: no example matches ${picked[*]}" >&2; exit 2; }

# The finding kinds in a JSON report, comma-separated, or "pass" when the
# report is clean, or "error" when there is no usable report.
kinds() {
	[ -s "$1" ] || { echo error; return; }
	local k
	k=$(grep -o '"kind": "[a-z-]*"' "$1" | sed 's/.*: "//; s/"$//' | sort -u | paste -sd, -)
	if [ -n "$k" ]; then
		echo "$k"
	elif grep -q '"summary": {"passed": [1-9][0-9]*, "failed": 0, "skipped": 0, "errors": 0}' "$1"; then
		echo pass
	else
		echo error
	fi
}

# The one-line message of the first finding of kind $2 (or of any kind).
message() {
	local line
	line=$(grep -o '{"kind": "'"${2:-[a-z-]*}"'", [^{]*"message": "\([^"\\]\|\\.\)*"' "$1" 2>/dev/null | head -1)
	[ -n "$line" ] || line=$(grep -o '"message": "\([^"\\]\|\\.\)*"' "$1" 2>/dev/null | head -1)
	line=$(printf '%s\n' "$line" | sed 's/.*"message": "//; s/"$//; s/\\"/"/g; s/\\\\/\\/g')
	# For exit-status, what the program said last is what explains it.
	case $line in
	*"exited with status"*)
		local said
		said=$(grep -o '"output": "\([^"\\]\|\\.\)*"' "$1" | head -1 |
		       sed 's/^"output": "//; s/"$//; s/\\n/\n/g' | grep -v '^ *$' | grep -v '^ *[|-]' | tail -1)
		[ -n "$said" ] && line="$(printf '%s' "$line" | sed 's/^[^ ]* exited/exited/'): $said" ;;
	esac
	printf '%s\n' "$line"
}

# shorten TEXT WIDTH: TEXT, or when it is longer than WIDTH characters, as
# much of it as fits with "…" after it, cut at a space.
shorten() {
	local LC_ALL=C.UTF-8 t=$1 w=$2
	if [ ${#t} -le "$w" ]; then
		printf '%s\n' "$t"
		return
	fi
	t=${t:0:$((w - 1))}
	case $t in *" "*) t=${t% *} ;; esac
	t=${t%[,;:(]}
	printf '%s…\n' "$t"
}

# build NAME VARIANT DIR: compiles DIR/VARIANT.c with the shared code into
# $out/NAME-VARIANT; prints the compiler's complaints on failure.
build_one() {
	local name=$1 v=$2 dir=$3 extra_flags=()
	local common=() f
	while IFS= read -r f; do common+=("${f##*/}"); done < <(find "$dir" -maxdepth 1 -name '*-common.c' | sort)
	if is_api "$dir" "$v"; then
		extra_flags=("${api_flags[@]}")
	fi
	# Compiled from the example's directory, so reports name buggy.c, not
	# a long path.
	(cd "$dir" && "$cc" "${cflags[@]}" -I. -o "$out/$name-$v" "$v.c" "${common[@]}" "${extra_flags[@]}") \
		>"$out/$name-$v.build" 2>&1
}

# build_test NAME VARIANT DIR: compiles DIR/test.c with VARIANT.c and the
# shared code into $out/NAME-test-VARIANT.
build_test() {
	local name=$1 v=$2 dir=$3
	local common=() f
	while IFS= read -r f; do common+=("${f##*/}"); done < <(find "$dir" -maxdepth 1 -name '*-common.c' | sort)
	(cd "$dir" && "$cc" "${cflags[@]}" -I. -DNO_MAIN -o "$out/$name-test-$v" test.c "$v.c" "${common[@]}" "${api_flags[@]}") \
		>"$out/$name-test-$v.build" 2>&1
}

# is_api DIR VARIANT: the program is written against the test API.
is_api() {
	grep -qs '^#include <mptest.h>' "$1/$2.c" "$1"/*-common.c
}

# run NAME VARIANT DIR: runs the program under mptest, writes $out/NAME-VARIANT.json.
run_one() {
	local name=$1 v=$2 dir=$3 extra=()
	[ -f "$dir/mpt-run.args" ] && read -r -a extra < "$dir/mpt-run.args"
	rm -f "$out/$name-$v.json"
	if [ "${v#test-}" != "$v" ] || is_api "$dir" "$v"; then
		(cd "$out" && "./$name-$v" --quiet "${extra[@]}" --json="$out/$name-$v.json") \
			>"$out/$name-$v.out" 2>&1 </dev/null
	else
		(cd "$out" && "$mptrun" --quiet "${extra[@]}" --json="$out/$name-$v.json" -- "./$name-$v") \
			>"$out/$name-$v.out" 2>&1 </dev/null
	fi
}

bad=0
n=0
max_tries=3
# A row per example, and under it, indented, what mptest said about the
# buggy program: the table stays within 100 columns.
row='%-26s %-26s %-6s %s\n'
said='    %s\n'
said_width=96
ntests=0
for dir in "${dirs[@]}"; do
	[ -f "$dir/test.c" ] && ntests=$((ntests + 1))
done
if [ $tap = 1 ]; then
	echo "1..$((3 * ${#dirs[@]} + 2 * ntests))"
else
	printf "$row" EXAMPLE BUGGY FIXED "API (test.c: BUGGY/FIXED)"
	printf "$said" "WHAT MPTEST SAID ABOUT THE BUGGY ONE"
fi
for dir in "${dirs[@]}"; do
	name=$(basename "$dir")
	expected=$(sed -n 's/^Expected finding: *\([a-z-]*\).*/\1/p' "$dir/README.md" 2>/dev/null | tail -1)
	# The kind the README's "- **Finding**: `KIND` — ..." bullet tells the
	# reader about must be the one the meta-test expects.
	documented=$(sed -n 's/^- \*\*Finding\*\*: *`\([a-z-]*\)`.*/\1/p' "$dir/README.md" 2>/dev/null | head -1)
	if [ -n "$expected" ] && [ "$documented" = "$expected" ]; then d_ok=1; else d_ok=0; bad=1; fi
	verdict=()
	tries=1
	for v in buggy fixed; do
		if ! build_one "$name" "$v" "$dir"; then
			verdict+=("build-failed")
			continue
		fi
		run_one "$name" "$v" "$dir"
		k=$(kinds "$out/$name-$v.json")
		# A race (01, 03) shows on nearly every run, not on every one,
		# and this version has no --explore to search schedules for it:
		# the buggy program gets up to $max_tries runs to show its bug.
		# The fixed one gets one, and must pass it.
		while [ $v = buggy ] && [ $tries -lt $max_tries ] && [ -n "$expected" ] &&
		      case ",$k," in *",$expected,"*) false ;; *) true ;; esac; do
			tries=$((tries + 1))
			run_one "$name" "$v" "$dir"
			k=$(kinds "$out/$name-$v.json")
		done
		verdict+=("$k")
	done
	b=${verdict[0]} f=${verdict[1]}
	case ",$b," in *",$expected,"*) b_ok=1 ;; *) b_ok=0 ;; esac
	# The expected kind first, then whatever else was found.
	if [ $b_ok = 1 ] && [ "$b" != "$expected" ]; then
		b=$expected,$(printf '%s\n' "${b//,/$'\n'}" | grep -vx -- "$expected" | paste -sd, -)
	fi
	[ -n "$expected" ] || b_ok=0
	[ "$f" = pass ] && f_ok=1 || f_ok=0
	[ $b_ok = 1 ] && [ $f_ok = 1 ] || bad=1

	# The API test (test.c), against each variant.
	api=- tb_ok=1 tf_ok=1 ttries=1
	texpected=$(sed -n 's/^Expected API finding: *\([a-z-]*\).*/\1/p' "$dir/README.md" 2>/dev/null | tail -1)
	texpected=${texpected:-$expected}
	if [ -f "$dir/test.c" ]; then
		tverdict=()
		for v in buggy fixed; do
			if ! build_test "$name" "$v" "$dir"; then
				tverdict+=("build-failed")
				continue
			fi
			run_one "$name" "test-$v" "$dir"
			k=$(kinds "$out/$name-test-$v.json")
			while [ $v = buggy ] && [ $ttries -lt $max_tries ] && [ -n "$texpected" ] &&
			      case ",$k," in *",$texpected,"*) false ;; *) true ;; esac; do
				ttries=$((ttries + 1))
				run_one "$name" "test-$v" "$dir"
				k=$(kinds "$out/$name-test-$v.json")
			done
			tverdict+=("$k")
		done
		tb=${tverdict[0]} tf=${tverdict[1]}
		case ",$tb," in *",$texpected,"*) tb_ok=1 ;; *) tb_ok=0 ;; esac
		if [ $tb_ok = 1 ] && [ "$tb" != "$texpected" ]; then
			tb=$texpected,$(printf '%s\n' "${tb//,/$'\n'}" | grep -vx -- "$texpected" | paste -sd, -)
		fi
		[ -n "$texpected" ] || tb_ok=0
		[ "$tf" = pass ] && tf_ok=1 || tf_ok=0
		[ $tb_ok = 1 ] && [ $tf_ok = 1 ] || bad=1
		api=$tb/$tf
	fi
	if [ $tap = 1 ]; then
		n=$((n + 1))
		echo "$([ $b_ok = 1 ] || printf 'not ')ok $n - $name: buggy.c gets ${expected:-(no Expected finding: line in README.md)}"
		echo "# got: $b — $(message "$out/$name-buggy.json" "$expected")"
		[ $tries = 1 ] || echo "# (the buggy program ran $tries times)"
		[ "$b" = build-failed ] && sed 's/^/# /' "$out/$name-buggy.build"
		[ "$b" = error ] && tail -5 "$out/$name-buggy.out" | sed 's/^/# /'
		n=$((n + 1))
		echo "$([ $f_ok = 1 ] || printf 'not ')ok $n - $name: fixed.c passes clean"
		if [ $f_ok = 0 ]; then
			echo "# got: $f — $(message "$out/$name-fixed.json")"
			[ "$f" = build-failed ] && sed 's/^/# /' "$out/$name-fixed.build"
			[ "$f" = error ] && tail -5 "$out/$name-fixed.out" | sed 's/^/# /'
		fi
		n=$((n + 1))
		echo "$([ $d_ok = 1 ] || printf 'not ')ok $n - $name: README.md's **Finding** bullet names the Expected finding (${expected:-none})"
		[ $d_ok = 1 ] || echo "# the bullet names ${documented:-no kind (no \"- **Finding**: \`KIND\`\" line)}, the Expected finding: line ${expected:-is missing}"
		if [ -f "$dir/test.c" ]; then
			n=$((n + 1))
			echo "$([ $tb_ok = 1 ] || printf 'not ')ok $n - $name: test.c against buggy.c gets ${texpected:-(no Expected finding: line in README.md)}"
			echo "# got: $tb — $(message "$out/$name-test-buggy.json" "$texpected")"
			[ $ttries = 1 ] || echo "# (the buggy test ran $ttries times)"
			[ "$tb" = build-failed ] && sed 's/^/# /' "$out/$name-test-buggy.build"
			[ "$tb" = error ] && tail -5 "$out/$name-test-buggy.out" | sed 's/^/# /'
			n=$((n + 1))
			echo "$([ $tf_ok = 1 ] || printf 'not ')ok $n - $name: test.c against fixed.c passes clean"
			if [ $tf_ok = 0 ]; then
				echo "# got: $tf — $(message "$out/$name-test-fixed.json")"
				[ "$tf" = build-failed ] && sed 's/^/# /' "$out/$name-test-fixed.build"
				[ "$tf" = error ] && tail -5 "$out/$name-test-fixed.out" | sed 's/^/# /'
			fi
		fi
	else
		note=
		[ $tries = 1 ] || note="[$tries runs] "
		printf "$row" "$name" "$b" "$f" "$api"
		printf "$said" "$(shorten "$note$(message "$out/$name-buggy.json" "$expected")" $said_width)"
		[ $b_ok = 1 ] || echo "  !! expected ${expected:-(README.md has no Expected finding: line)}"
		[ $d_ok = 1 ] || echo "  !! README.md's **Finding** bullet names ${documented:-no kind}, its Expected finding: line ${expected:-is missing}"
		[ $f_ok = 1 ] || echo "  !! the fixed program should pass${f:+ (got $f: $(message "$out/$name-fixed.json" | cut -c1-80))}"
		[ $tb_ok = 1 ] || echo "  !! test.c against buggy.c: expected $texpected (got $tb: $(message "$out/$name-test-buggy.json" | cut -c1-80))"
		[ $tf_ok = 1 ] || echo "  !! test.c against fixed.c should pass (got $tf: $(message "$out/$name-test-fixed.json" | cut -c1-80))"
		for v in buggy fixed test-buggy test-fixed; do
			[ -e "$out/$name-$v.build" ] || continue
			if [ -s "$out/$name-$v.build" ] && grep -q 'error' "$out/$name-$v.build"; then
				sed 's/^/     /' "$out/$name-$v.build" | head -5
			elif [ ! -s "$out/$name-$v.json" ]; then
				tail -3 "$out/$name-$v.out" 2>/dev/null | sed 's/^/     /'
			fi
		done
	fi
done
[ $tap = 1 ] && exit 0
exit $bad
