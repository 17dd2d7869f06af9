#!/bin/sh
# The documentation agrees with the programs (TAP, run by `make check`):
# every option that `mpt-run --help` and a test program's --help print, and
# every finding kind mpt-run accepts in --allow=KIND, appears in the man
# page doc/mpt-run.1 and in README.md; and what the two call "Not yet
# available" (the man page's section of that name, README.md's paragraph)
# names no option that works: none that --help lists among the working
# options (above its own "Not yet available" line), and each one is
# refused by mpt-run with exit status 2 and "not available".
srcdir=${top_srcdir:-$(dirname "$0")/..}
builddir=${top_builddir:-.}
mptrun=$builddir/mpt-run
testprog=$builddir/selftests/progs/verdicts
man=$srcdir/doc/mpt-run.1
readme=$srcdir/README.md

for f in "$mptrun" "$testprog"; do
	[ -x "$f" ] || { echo "Bail out! $f is not built"; exit 0; }
done
for f in "$man" "$readme"; do
	[ -r "$f" ] || { echo "Bail out! $f is missing"; exit 0; }
done

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

# The options: every -x or --name token of the two usage texts.
{ "$mptrun" --help; "$testprog" --help; } >"$tmp/help" 2>&1
grep -oE -- '(^|[^a-zA-Z0-9_-])--?[a-zA-Z][a-zA-Z0-9-]*' "$tmp/help" |
	sed 's/^[^-]*//' | sort -u >"$tmp/options"
# The finding kinds: the list mpt-run prints for a bad --allow.
"$mptrun" --allow=no-such-kind -- true 2>&1 |
	sed -n 's/.*expected one of: \([^)]*\)).*/\1/p' | tr ',' '\n' |
	sed 's/^ *//; s/ *$//' | grep . | sort -u >"$tmp/kinds"

# The man page as text: roff escapes for "-", fonts and joins removed.
sed 's/\\-/-/g; s/\\f[BIRP]//g; s/\\c//g; s/\\%//g; s/\\&//g' "$man" >"$tmp/man"

# The working options: the usage texts above their "Not yet available"
# line, as NAME or, for a value spelled out (--sched=perturb), NAME=VALUE.
{ "$mptrun" --help; "$testprog" --help; } 2>&1 | sed '/^Not yet available/,/^Exit codes/d' |
	grep -oE -- '(^|[^a-zA-Z0-9_-])--[a-z][a-z0-9-]*(=[a-z][a-z|]*)?' |
	sed 's/^[^-]*//' | sort -u >"$tmp/working"
# What the docs call not yet available, one option a line (--name or
# --name=v1|v2 when the values are spelled out): in the man page the
# headings (.TP lines) of the section, in README.md the `code` of the
# paragraph that begins "Not yet available".
sed -n '/^\.SS Not yet available/,/^\.S[HS] /p' "$tmp/man" | sed -n '/^\.TP/{n;p;}' |
	sed 's/^\.[A-Z]* *//; s/"//g; s/ //g' |
	grep -oE -- '--[a-z][a-z0-9-]*(=[A-Za-z][A-Za-z|]*)?' >"$tmp/later-man"
sed -n '/^Not yet available/,/^$/p' "$readme" | grep -oE '`--[^`]*`' | tr -d '`' |
	grep -oE -- '--[a-z][a-z0-9-]*(=[A-Za-z][A-Za-z|]*)?' >"$tmp/later-readme"
nlater=$(cat "$tmp/later-man" "$tmp/later-readme" | wc -l)

nopt=$(wc -l <"$tmp/options")
nkind=$(wc -l <"$tmp/kinds")
if [ "$nopt" -lt 10 ] || [ "$nkind" -lt 10 ]; then
	echo "Bail out! found only $nopt options and $nkind kinds in the programs' output"
	exit 0
fi
echo "1..$((2 * (nopt + nkind) + nlater))"

n=0
# check WORD FILE LABEL: WORD appears in FILE as a whole word.
check() {
	n=$((n + 1))
	if grep -qE -- "(^|[^a-zA-Z0-9_-])$1([^a-zA-Z0-9_-]|$)" "$2"; then
		echo "ok $n - $1 is in $3"
	else
		echo "not ok $n - $1 is in $3"
	fi
}
while read -r opt; do
	check "$opt" "$tmp/man" doc/mpt-run.1
	check "$opt" "$readme" README.md
done <"$tmp/options"
# A kind is documented where it is an entry: ".B kind" under FINDINGS in the
# man page, `kind` (code) in README.md's table.
result() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}
while read -r kind; do
	grep -qx "\.B $kind" "$tmp/man"
	result $? "finding kind $kind is an entry of FINDINGS in doc/mpt-run.1"
	grep -qF "\`$kind\`" "$readme"
	result $? "finding kind $kind is in README.md as \`$kind\`"
done <"$tmp/kinds"
# later TOKEN FILE: TOKEN (from FILE's "Not yet available" part) is not a
# working option, and mpt-run refuses it (a placeholder value such as N or
# FILE is given as 1).
later() {
	name=${1%%=*} values=
	case $1 in *=*) values=${1#*=} ;; esac
	why=
	case $values in
	[a-z]*)
		for v in $(printf '%s\n' "$values" | tr '|' ' '); do
			grep -qx -- "$name=$v" "$tmp/working" && why="$why; --help lists $name=$v"
			grep -qx -- "$name" "$tmp/working" && why="$why; --help lists $name"
			"$mptrun" "$name=$v" -- true >"$tmp/out" 2>&1
			rc=$?
			[ $rc = 2 ] && grep -q 'not available' "$tmp/out" ||
				why="$why; mpt-run $name=$v exits $rc (expected 2, \"not available\")"
		done ;;
	*)
		grep -q -- "^$name\(=\|\$\)" "$tmp/working" && why="$why; --help lists $name"
		arg=$name
		[ -n "$values" ] && arg=$name=1
		"$mptrun" "$arg" -- true >"$tmp/out" 2>&1
		rc=$?
		[ $rc = 2 ] && grep -q 'not available' "$tmp/out" ||
			why="$why; mpt-run $arg exits $rc (expected 2, \"not available\")" ;;
	esac
	n=$((n + 1))
	if [ -z "$why" ]; then
		echo "ok $n - $1, under \"Not yet available\" in $2, is not available"
	else
		echo "not ok $n - $1, under \"Not yet available\" in $2, is not available"
		echo "# ${why#; }"
	fi
}
while read -r tok; do later "$tok" doc/mpt-run.1; done <"$tmp/later-man"
while read -r tok; do later "$tok" README.md; done <"$tmp/later-readme"
exit 0
