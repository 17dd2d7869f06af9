#!/usr/bin/env bash
# Installs mptest from BUILD into a scratch prefix, builds a test file written
# only from DESIGN §4 with `pkg-config --cflags --libs mptest`, and checks
# every verdict in its JSON report and that its JUnit report validates.
# usage: pkgconfig-consumer.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/mptest-consumer-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
make -C "$build" -s install DESTDIR="$tmp/root" >/dev/null 2>&1
prefix=$(sed -n 's/^prefix=//p' "$build/mptest.pc")
export PKG_CONFIG_SYSROOT_DIR="$tmp/root"
export PKG_CONFIG_PATH="$tmp/root$prefix/lib/pkgconfig"
libdir="$tmp/root$prefix/lib"
# shellcheck disable=SC2046
cc -Wall -Wextra -Werror "$src/consumer/design4.c" $(pkg-config --cflags --libs mptest) \
	-Wl,-rpath,"$libdir" -o "$tmp/design4"
rc=0
"$tmp/design4" --json="$tmp/r.json" --junit="$tmp/r.xml" >"$tmp/out.txt" || rc=$?
fail=0
check() { # name status [kind]
	local line
	line=$(grep -o "{\"name\": \"design/$1\"[^]]*" "$tmp/r.json" || true)
	case "$line" in *"\"status\": \"$2\""*) ;; *) echo "design/$1: expected status $2: $line"; fail=1 ;; esac
	if [ -n "${3:-}" ]; then
		case "$line" in *"\"kind\": \"$3\""*) ;; *) echo "design/$1: expected a $3 finding: $line"; fail=1 ;; esac
	fi
}
[ "$rc" = 1 ] || { echo "exit code $rc, expected 1"; fail=1; }
check pass pass
check failed_assertion fail assertion
check crash fail crash
check fork_child_assertion fail assertion
check timeout fail timeout
check wait_exited_success pass
check junk_output fail assertion
grep -q '"process": "p0.1"' "$tmp/r.json" || { echo "no finding from p0.1"; fail=1; }
grep -q "SIGBUS" "$tmp/r.json" || { echo "crash without its signal name"; fail=1; }
xmllint --noout --schema "$src/junit.xsd" "$tmp/r.xml" 2>/dev/null || { echo "JUnit report invalid"; fail=1; }
grep -q '^2 passed, 5 failed$' "$tmp/out.txt" || { echo "closing line:"; tail -1 "$tmp/out.txt"; fail=1; }
[ $fail = 0 ] && echo "PASS: pkg-config consumer (DESIGN §4 test file, 7 verdicts, JUnit valid)"
exit $fail
