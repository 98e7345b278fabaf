#!/usr/bin/env bash
# The test suite on AArch64, under qemu-user, in an arm64 Debian 12 root.
#
#   bash .ci/arm64.sh                         # the whole suite
#   bash .ci/arm64.sh tests/test_callbacks.py -k struct   # pytest arguments: a subset
#
# As root on a Debian-like x86-64 host (apt-get, mount, chroot):
# 1. Installs mmdebstrap, arch-test, qemu-user-static and binfmt-support if missing, mounts
#    binfmt_misc and enables qemu-aarch64 there (flag F: the interpreter is opened at
#    registration, so it works inside the chroot without a copy of it).
# 2. Makes the root with mmdebstrap from Debian's arm64 packages, once: it is kept in
#    CFFIX_ARM64_ROOT (default /opt/arm64-root, outside the repository) and made again
#    only when the package list below changes. A venv in it (/opt/cffix-venv) gets the
#    build and test requirements from PyPI.
# 3. Copies the source tree (git's files, committed or not) to /src in the root, builds
#    cffix and runs pytest there with the given arguments (default: -q tests).
#    The build: by default with the root's own g++ under qemu (CMake's build folder kept
#    at /opt/cffix-build in the root, so a second run rebuilds what changed only): about
#    an hour for the whole core on 2 busy cores. With CFFIX_ARM64_CROSS=1 the core is
#    built on the host by Debian's aarch64 cross compiler (g++-aarch64-linux-gnu, installed
#    if missing) against the root's Python headers and libffi (build folder
#    build/arm64-cross, a few minutes), and the package is installed in the root with
#    that extension module (scikit-build-core's wheel.cmake=false, then the module copied
#    in). The tests run in the root either way, their C compiled by the root's gcc.
#
# Environment: CFFIX_ARM64_ROOT (the root), CFFIX_ARM64_MIRROR (Debian mirror),
# CFFIX_ARM64_FRESH=1 (make the root again), CFFIX_ARM64_CROSS=1 (see 3). The exit
# status is pytest's (or the step's that failed), 3 when this machine cannot run arm64
# binaries at all.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
SRC=$PWD
ROOT=${CFFIX_ARM64_ROOT:-/opt/arm64-root}
MIRROR=${CFFIX_ARM64_MIRROR:-http://deb.debian.org/debian}
PACKAGES=python3,python3-dev,python3-venv,python3-pip,libffi-dev,g++,cmake,ninja-build,pkg-config,libsqlite3-dev,zlib1g-dev,make
# What the venv in the root gets from PyPI, on every run (quick when present): the
# build's and '.[test]''s requirements, hypothesis for the property tests.
PIP_PACKAGES=(scikit-build-core 'pytest>=7' 'setuptools>=70.1' cffi==2.0.0 numpy hypothesis)
STAMP="bookworm arm64 $PACKAGES"

log() { printf '\n=== arm64: %s\n' "$*"; }
die() { printf 'arm64: %s\n' "$*" >&2; exit 1; }
# This machine cannot run arm64 binaries at all (no binfmt_misc): exit 3, which .ci/run
# reports as skipped rather than failed.
cannot() { printf 'arm64: cannot run here: %s\n' "$*" >&2; exit 3; }

[ "$(id -u)" -eq 0 ] || cannot "not root (mmdebstrap, mount and chroot need it)"

# --- 1. host tools and binfmt_misc ----------------------------------------------------
host_tools() {
    local missing=() pkg
    for pkg in mmdebstrap arch-test qemu-user-static binfmt-support; do
        dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$pkg")
    done
    if [ ${#missing[@]} -ne 0 ]; then
        log "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            "${missing[@]}" </dev/null
    fi
    if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
            || cannot "binfmt_misc cannot be mounted: foreign binaries do not run"
    fi
    if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
        update-binfmts --enable qemu-aarch64 || cannot "qemu-aarch64 cannot be registered in binfmt_misc"
    fi
    grep -q '^flags:.*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 \
        || cannot "qemu-aarch64 is registered without flag F: it would not run inside the chroot"
}

# --- chroot with /proc, /dev and the network's name resolution -------------------------
MOUNTS=()
mount_root() {
    local m
    for m in proc sys dev dev/pts; do
        mkdir -p "$ROOT/$m"
        case $m in
            proc) mount -t proc proc "$ROOT/proc" ;;
            sys) mount --rbind /sys "$ROOT/sys" && mount --make-rslave "$ROOT/sys" ;;
            *) mount --bind "/$m" "$ROOT/$m" ;;
        esac
        MOUNTS=("$ROOT/$m" "${MOUNTS[@]}")
    done
    cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
    # The host's CA bundle (it may trust a proxy's CA that the root's does not), for pip.
    cp -L "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$ROOT/etc/host-ca.crt" \
        2>/dev/null || true
}
unmount_root() {
    local m
    for m in "${MOUNTS[@]}"; do umount -l "$m" 2>/dev/null || true; done
    MOUNTS=()
}
trap unmount_root EXIT
trap 'exit 143' TERM INT HUP  # so that the EXIT trap unmounts (timeout, Ctrl-C)

in_root() {
    chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/opt/cffix-venv/bin:/usr/bin:/bin \
        LANG=C.UTF-8 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONUNBUFFERED=1 \
        PIP_CERT=/etc/host-ca.crt ${PIP_INDEX_URL:+PIP_INDEX_URL=$PIP_INDEX_URL} \
        ${https_proxy:+https_proxy=$https_proxy} ${CI:+CI=$CI} "$@"
}

# --- 2. the root, made once -------------------------------------------------------------
make_root() {
    if [ "${CFFIX_ARM64_FRESH:-0}" != 1 ] && [ -f "$ROOT/.cffix-stamp" ] &&
        [ "$(cat "$ROOT/.cffix-stamp")" = "$STAMP" ]; then
        log "root $ROOT is ready (made $(date -r "$ROOT/.cffix-stamp" -u +%FT%TZ))"
        return 0
    fi
    log "making $ROOT with mmdebstrap (bookworm, arm64)"
    local start=$SECONDS
    rm -rf "$ROOT.new"
    mmdebstrap --arch=arm64 --include="$PACKAGES" bookworm "$ROOT.new" "$MIRROR"
    rm -rf "$ROOT"
    mv "$ROOT.new" "$ROOT"
    echo "$STAMP" >"$ROOT/.cffix-stamp"
    log "root made in $((SECONDS - start)) s"
}

# --- 3. build and test --------------------------------------------------------------------
copy_source() {
    rm -rf "$ROOT/src"
    mkdir -p "$ROOT/src"
    # git's files, committed or not (no build folders, venvs or caches); mtimes kept so
    # that the kept CMake build folder rebuilds only what changed.
    (cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
        xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' |
        tar --null -T - -cf -) | tar -xf - -C "$ROOT/src"
    # The cffi suite's download, if this tree has one (test_cffi_suite.py's cache).
    if [ -d "$SRC/.pytest_cache/d/cffi-suite" ]; then
        mkdir -p "$ROOT/src/.pytest_cache/d"
        cp -a "$SRC/.pytest_cache/d/cffi-suite" "$ROOT/src/.pytest_cache/d/"
    fi
}

# The extension module built on the host by the aarch64 cross compiler (CFFIX_ARM64_CROSS).
cross_build() {
    local build=$SRC/build/arm64-cross inc=$SRC/build/arm64-cross-include version
    local tools=()
    command -v aarch64-linux-gnu-g++ >/dev/null 2>&1 || tools+=(g++-aarch64-linux-gnu)
    command -v cmake >/dev/null 2>&1 || tools+=(cmake)
    command -v ninja >/dev/null 2>&1 || tools+=(ninja-build)
    if [ ${#tools[@]} -ne 0 ]; then
        log "installing ${tools[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            "${tools[@]}" </dev/null
    fi
    # Debian keeps pyconfig.h and ffi.h in the multiarch folder, which only the root's
    # own compiler searches: point the cross compiler at those files alone.
    mkdir -p "$inc/aarch64-linux-gnu"
    ln -sfn "$ROOT/usr/include/aarch64-linux-gnu/python3.11" "$inc/aarch64-linux-gnu/python3.11"
    ln -sf "$ROOT/usr/include/aarch64-linux-gnu/ffi.h" \
        "$ROOT/usr/include/aarch64-linux-gnu/ffitarget.h" "$inc/"
    printf '%s\n' "set(CMAKE_SYSTEM_NAME Linux)" "set(CMAKE_SYSTEM_PROCESSOR aarch64)" \
        "set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)" \
        "set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)" "set(CMAKE_FIND_ROOT_PATH $ROOT)" \
        "set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)" \
        "set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)" >"$build.cmake"
    version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$SRC/src/cffix/__init__.py")
    PKG_CONFIG_LIBDIR=$ROOT/usr/lib/aarch64-linux-gnu/pkgconfig:$ROOT/usr/share/pkgconfig \
        PKG_CONFIG_SYSROOT_DIR=$ROOT \
        cmake -S "$SRC" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_TOOLCHAIN_FILE="$build.cmake" -DPython_EXECUTABLE="$(command -v python3)" \
        -DPython_INCLUDE_DIR="$ROOT/usr/include/python3.11" \
        -DPython_SOABI=cpython-311-aarch64-linux-gnu -DCMAKE_CXX_FLAGS="-isystem $inc" \
        -DSKBUILD_PROJECT_VERSION="$version" >/dev/null
    nice -n 5 cmake --build "$build"
    in_root sh -c 'cd /src && python3 -m pip install -q --no-build-isolation --no-deps \
        --config-settings=wheel.cmake=false .'
    cp "$build/_core.so" \
        "$ROOT/opt/cffix-venv/lib/python3.11/site-packages/cffix/_core.cpython-311-aarch64-linux-gnu.so"
}

host_tools
make_root
copy_source
mount_root
[ -x "$ROOT/opt/cffix-venv/bin/python3" ] || in_root /usr/bin/python3 -m venv /opt/cffix-venv
in_root python3 -m pip install -q "${PIP_PACKAGES[@]}"
start=$SECONDS
if [ "${CFFIX_ARM64_CROSS:-0}" = 1 ]; then
    log "building cffix's core with the host's aarch64 cross compiler"
    cross_build
else
    log "building cffix in the root ($(in_root python3 --version), $(in_root uname -m))"
    in_root sh -c 'cd /src && python3 -m pip install -q --no-build-isolation --no-deps \
        --config-settings=build-dir=/opt/cffix-build .'
fi
log "built in $((SECONDS - start)) s"
[ $# -gt 0 ] || set -- -q tests
log "pytest $*"
start=$SECONDS
rc=0
in_root sh -c 'cd /src && exec python3 -m pytest "$@"' pytest "$@" || rc=$?
log "pytest exit $rc in $((SECONDS - start)) s"
exit "$rc"
