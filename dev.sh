#!/usr/bin/env bash
# The two Quick-start commands (README.md) and what CI runs.
#
#   ./dev.sh demo   install what is missing, build, run the examples under
#                   mpt-run and print what mptest found in each
#   ./dev.sh test   install what is missing, build with -Werror, run the whole
#                   suite: make check, the selftests under Valgrind and in an
#                   ASan+UBSan build, make distcheck; ends with "N passed, N failed"
set -euo pipefail
cd "$(dirname "$0")"
top=$PWD
jobs=$(nproc 2>/dev/null || echo 2)

packages=(build-essential autoconf automake libtool pkgconf check libjson-c-dev
	  libxml2-utils valgrind libfaketime faketime libdw-dev elfutils
	  clang libclang-rt-14-dev graphviz)

die() { echo "dev.sh: $*" >&2; exit 2; }

install_deps() {
	local missing=()
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	# CI always installs, so a green run proves the install step itself.
	if [ "${CI:-}" = true ] || [ ${#missing[@]} -gt 0 ]; then
		command -v apt-get >/dev/null || die "apt-get not found; install: ${packages[*]}"
		local sudo=
		[ "$(id -u)" = 0 ] || sudo=sudo
		echo "== installing: ${missing[*]:-${packages[*]}}"
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
			"${packages[@]}" >/dev/null
	fi
}

# build DIR CONFIGURE-ARGS...: configure (once) and build in DIR.
build() {
	local dir=$1; shift
	[ -x configure ] || ./autogen.sh >/dev/null 2>&1 || die "autogen.sh failed"
	mkdir -p "$dir"
	if [ ! -f "$dir/Makefile" ]; then
		(cd "$dir" && "$top/configure" "$@" >configure.out) || {
			cat "$dir/configure.out" "$dir/config.log" >&2; die "configure failed in $dir"; }
	fi
	make -C "$dir" -s -j"$jobs" >/dev/null
}

# Counts what a `make check` ran: each Check program by its own
# "Checks: N, Failures: F, Errors: E" line, every other test (TAP scripts)
# by the results Automake recorded in its .trs file.
passed=0 failed=0
count_results() {
	local dir=$1 trs log c f e
	for trs in "$dir"/selftests/*.trs; do
		[ -f "$trs" ] || continue
		log=${trs%.trs}.log
		if [[ $(basename "$trs") == check_* ]] &&
			read -r c f e < <(grep -o 'Checks: [0-9]*, Failures: [0-9]*, Errors: [0-9]*' "$log" |
					  tail -1 | sed 's/[^0-9 ]//g'); then
			passed=$((passed + c - f - e)); failed=$((failed + f + e))
		else
			passed=$((passed + $(grep -c '^:test-result: \(PASS\|XFAIL\|SKIP\)' "$trs")))
			failed=$((failed + $(grep -c '^:test-result: \(FAIL\|XPASS\|ERROR\)' "$trs")))
		fi
	done
}

phase() { echo; echo "== $* (${SECONDS} s in)"; }

run_check() {
	local dir=$1; shift
	local rc=0
	env "$@" make -C "$dir" -s check >"$dir/check.out" 2>&1 || rc=$?
	grep -E '^(PASS|FAIL|ERROR|XPASS):' "$dir/check.out" || true
	count_results "$dir"
	if [ $rc -ne 0 ]; then
		grep -h -E ':[EF]:' "$dir"/selftests/*.log >&2 || tail -40 "$dir/check.out" >&2
		return 1
	fi
}

cmd_test() {
	install_deps
	local status=0
	phase "build with -Werror (_build/ci)"
	build _build/ci --enable-werror
	phase "make check"
	run_check _build/ci || status=1

	phase "installed mptest, used through pkg-config"
	if bash selftests/pkgconfig-consumer.sh _build/ci; then
		passed=$((passed + 1))
	else
		echo "FAIL: pkg-config consumer"; failed=$((failed + 1)); status=1
	fi

	phase "examples under mpt-run (what ./dev.sh demo shows)"
	if MPT_BUILD="$top/_build/ci" bash examples/run-all.sh; then
		passed=$((passed + 1))
	else
		echo "FAIL: examples"; failed=$((failed + 1)); status=1
	fi

	phase "selftests under Valgrind (memcheck)"
	run_check _build/ci MPT_SELFTEST_VALGRIND=1 CK_DEFAULT_TIMEOUT=600 || status=1

	phase "ASan + UBSan build (_build/asan)"
	build _build/asan --enable-werror \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
	# ASan turns SIGSEGV into exit(1), and the selftests assert real
	# signals; the instrumented preload library is loaded into programs
	# that were not built with ASan, so the runtime cannot come first.
	run_check _build/asan ASAN_OPTIONS=handle_segv=0:verify_asan_link_order=0 || status=1

	phase "fuzz every parser of user input (libFuzzer, ${FUZZ_SECONDS:-28} s)"
	if FUZZ_DIR=_build/fuzz bash selftests/fuzz/run.sh "${FUZZ_SECONDS:-28}" >_build/fuzz.out 2>&1; then
		grep '^  fuzz_' _build/fuzz.out || true
		echo "PASS: fuzz"; passed=$((passed + 1))
	else
		tail -20 _build/fuzz.out >&2; echo "FAIL: fuzz"; failed=$((failed + 1)); status=1
	fi

	phase "make distcheck"
	if make -C _build/ci -s distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror \
		>_build/ci/distcheck.out 2>&1; then
		echo "PASS: make distcheck"; passed=$((passed + 1))
	else
		tail -30 _build/ci/distcheck.out >&2; echo "FAIL: make distcheck"
		failed=$((failed + 1)); status=1
	fi
	echo
	echo "$passed passed, $failed failed"
	return $status
}

cmd_demo() {
	install_deps
	phase "build (_build/demo)"
	build _build/demo
	phase "examples under mpt-run"
	MPT_BUILD="$top/_build/demo" bash examples/run-all.sh
}

case "${1:-}" in
	test) cmd_test ;;
	demo) cmd_demo ;;
	*) echo "usage: ./dev.sh demo | test" >&2; exit 2 ;;
esac
