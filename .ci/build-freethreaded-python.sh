#!/usr/bin/env bash
# Builds a free-threaded CPython (configure --disable-gil) from Debian's source package
# and installs it under a prefix; prints the interpreter's path as its last line.
#
#   bash .ci/build-freethreaded-python.sh [PREFIX]     # default /opt/python3.13t
#
# Debian ships no free-threaded interpreter, but its pool keeps the upstream tarball of
# every released python3.X: this takes trixie's python3.13 (3.13.5), pinned by URL and
# sha256. (Debian's python3.14 is only in sid, whose pool turns over with each upload.)
# No PGO/LTO: about 10 minutes with `make -j2` on 2 cores. An existing build of the same
# tarball and options under PREFIX is reused (the stamp file records them).
#
# CFFIX_FT_CONFIGURE_EXTRA adds configure options (e.g. --with-thread-sanitizer, with
# CC=clang, for a TSan interpreter under another PREFIX).
set -euo pipefail

URL=http://deb.debian.org/debian/pool/main/p/python3.13/python3.13_3.13.5.orig.tar.xz
SHA256=93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640
VERSION=3.13
PREFIX=${1:-/opt/python3.13t}
EXTRA=${CFFIX_FT_CONFIGURE_EXTRA:-}
STAMP="$URL $SHA256 --disable-gil $EXTRA CC=${CC:-}"
PYTHON=$PREFIX/bin/python${VERSION}t

if [ -x "$PYTHON" ] && [ "$(cat "$PREFIX/.cffix-build-stamp" 2>/dev/null)" = "$STAMP" ]; then
    echo "free-threaded python already built: $PYTHON" >&2
    echo "$PYTHON"
    exit 0
fi

# Build dependencies of the modules pip and the tests need (ssl for PyPI, zlib for
# wheels, libffi for ctypes, sqlite3/bz2/lzma/readline/uuid for a complete stdlib).
if command -v dpkg >/dev/null 2>&1; then
    wanted=(build-essential pkg-config libssl-dev zlib1g-dev libffi-dev libbz2-dev
        liblzma-dev libsqlite3-dev libreadline-dev uuid-dev xz-utils curl)
    missing=()
    for pkg in "${wanted[@]}"; do
        dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$pkg")
    done
    if [ ${#missing[@]} -ne 0 ]; then
        sudo=()
        [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null >&2
    fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cffix-ft-python.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "downloading $URL" >&2
curl -fsSL --retry 3 -o python.tar.xz "$URL"
echo "$SHA256  python.tar.xz" | sha256sum -c - >&2
tar xf python.tar.xz
cd Python-*/
# shellcheck disable=SC2086
./configure --disable-gil --prefix="$PREFIX" --without-ensurepip $EXTRA >configure.log 2>&1 \
    || { tail -40 configure.log >&2; exit 1; }
make -j"$(nproc)" >make.log 2>&1 || { tail -60 make.log >&2; exit 1; }
rm -rf "$PREFIX"
make altinstall >install.log 2>&1 || { tail -40 install.log >&2; exit 1; }
# ensurepip's bundled pip wheel: no network needed for pip itself.
"$PYTHON" -m ensurepip --altinstall >&2
echo "$STAMP" >"$PREFIX/.cffix-build-stamp"
"$PYTHON" -c 'import sys; assert not sys._is_gil_enabled(), "GIL enabled"; print(sys.version)' >&2
echo "$PYTHON"
