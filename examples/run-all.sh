#!/usr/bin/env bash
# Builds every example and runs its buggy and fixed programs under mpt-run,
# then prints a table: example, buggy verdict, fixed verdict, and what was
# found. MPT_BUILD is the build directory (default: _build/demo).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${MPT_BUILD:-$here/../_build/demo}
mptrun=$build/mpt-run
[ -x "$mptrun" ] || { echo "run-all.sh: $mptrun not built (run ./dev.sh demo)" >&2; exit 2; }
out=$build/examples
mkdir -p "$out"
cc=${CC:-cc}

# verdict JSON -> "pass" or the finding kinds, comma-separated
kinds() {
	local k
	k=$(grep -o '"kind": "[a-z-]*"' "$1" | sed 's/.*: "//; s/"//' | sort -u | paste -sd, -)
	if [ -n "$k" ]; then echo "$k"; else grep -q '"status": "pass"' "$1" && echo pass || echo error; fi
}
message() { grep -o '"message": "[^"]*"' "$1" | head -1 | sed 's/"message": "//; s/"$//'; }

printf '%-28s %-18s %-10s %s\n' EXAMPLE BUGGY FIXED "WHAT MPTEST SAID ABOUT THE BUGGY ONE"
bad=0
for dir in "$here"/[0-9][0-9]-*/; do
	name=$(basename "$dir")
	expected=$(sed -n 's/^Expected finding: *//p' "$dir/README.md")
	extra=()
	[ -f "$dir/mpt-run.args" ] && read -r -a extra < "$dir/mpt-run.args"
	common=$(find "$dir" -maxdepth 1 -name '*-common.c')
	for v in buggy fixed; do
		# shellcheck disable=SC2086
		"$cc" -O1 -g -Wall -I"$dir" -o "$out/$name-$v" "$dir/$v.c" $common ||
			{ echo "run-all.sh: cannot build $name/$v.c" >&2; exit 2; }
		(cd "$out" && "$mptrun" --quiet "${extra[@]}" --json="$out/$name-$v.json" -- "./$name-$v" >/dev/null 2>&1)
	done
	b=$(kinds "$out/$name-buggy.json"); f=$(kinds "$out/$name-fixed.json")
	printf '%-28s %-18s %-10s %s\n' "$name" "$b" "$f" "$(message "$out/$name-buggy.json" | cut -c1-90)"
	case ",$b," in *",$expected,"*) ;; *) bad=1; echo "  !! expected $expected" ;; esac
	[ "$f" = pass ] || { bad=1; echo "  !! the fixed program should pass"; }
done
exit $bad
