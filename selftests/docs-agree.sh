#!/bin/sh
# The documentation agrees with the programs (TAP, run by `make check`):
# every option that `mpt-run --help` and a test program's --help print, and
# every finding kind mpt-run accepts in --allow=KIND, appears in the man
# page doc/mpt-run.1 and in README.md.
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

nopt=$(wc -l <"$tmp/options")
nkind=$(wc -l <"$tmp/kinds")
if [ "$nopt" -lt 10 ] || [ "$nkind" -lt 10 ]; then
	echo "Bail out! found only $nopt options and $nkind kinds in the programs' output"
	exit 0
fi
echo "1..$((2 * (nopt + nkind)))"

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
exit 0
