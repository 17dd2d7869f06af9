#!/bin/sh
# Regenerates the build system: needs autoconf >= 2.69, automake >= 1.14,
# libtool and pkg-config (pkgconf).
set -e
cd "$(dirname "$0")"
for tool in autoreconf automake libtoolize pkg-config; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "autogen.sh: $tool not found (apt-get install autoconf automake libtool pkgconf)" >&2
		exit 2
	}
done
mkdir -p m4 build-aux
autoreconf -fi
