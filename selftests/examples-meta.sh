#!/bin/sh
# The examples meta-test (TAP, run by `make check`): every buggy example
# gets at least the finding kind its README names ("Expected finding:
# KIND"), and every fixed example passes with no finding; and each
# example's API test (test.c), built against buggy.c, gets that kind too (or
# its README's "Expected API finding: KIND"), and against fixed.c passes;
# and the kind the README tells the reader about ("- **Finding**: `KIND`")
# is the one its "Expected finding:" line names.
# The work is done by examples/run-all.sh --tap, the same script that
# prints the table of `./dev.sh demo`, so the docs, the demo and this test
# cannot drift apart.
srcdir=${top_srcdir:-$(dirname "$0")/..}
builddir=${top_builddir:-.}
if ! command -v "${CC:-cc}" >/dev/null 2>&1; then
	echo "1..0 # SKIP no C compiler (${CC:-cc}) to build the examples with"
	exit 0
fi
MPT_BUILD=$builddir
export MPT_BUILD
exec bash "$srcdir/examples/run-all.sh" --tap
