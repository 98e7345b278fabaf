"""Helpers of the cdef tests (tests/test_cdef_*.py, test_system_headers.py).

cdef(source, **options)             a fresh cffix FFI with `source` declared
oracle_cdef(cffi, source)           the same with cffi (its warnings silenced)
describe(ffi, ctype)                a CType as plain nested data, comparable between the two
assert_like_cffi(cffi, source, *names)
                                    both declare `source`; each named type must describe
                                    alike; returns cffix's FFI
cdef_error(source, *fragments, line=None, column=None)
                                    cdef must raise CDefError naming line and column and
                                    holding the fragments; returns error_text()
error_text(exc)                     str(exc) and its notes (cffix's message, line, column,
                                    source line and caret: see test_error_messages.py)
dlopen_self(ffi)                    ffi.dlopen(None): the process's own symbols
"""

import re
import warnings

import pytest

import cffix
from cffix import FFI


def cdef(source, **options):
    ffi = FFI()
    ffi.cdef(source, **options)
    return ffi


def oracle_cdef(cffi, source):
    ffi = cffi.FFI()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cffi warns about globals without 'extern'
        ffi.cdef(source)
    return ffi


def describe(ffi, ctype, depth=0):
    """A CType as plain nested data: kind, cname, size and what its kind has."""
    out = [ctype.kind, ctype.cname]
    try:
        out.append(ffi.sizeof(ctype))
    except Exception as e:  # opaque or of unknown length: the same exception in both
        out.append(type(e).__name__)
    if depth > 4:
        return out
    if ctype.kind in ("pointer", "array"):
        out.append(describe(ffi, ctype.item, depth + 1))
    if ctype.kind == "array":
        out.append(ctype.length)
    if ctype.kind in ("struct", "union"):
        fields = ctype.fields
        out.append(None if fields is None else [
            (name, describe(ffi, f.type, depth + 1), f.offset, f.bitshift, f.bitsize)
            for name, f in fields])
    if ctype.kind == "function":
        out.append([describe(ffi, a, depth + 1) for a in ctype.args])
        out.append(describe(ffi, ctype.result, depth + 1))
        out.append(ctype.ellipsis)
    if ctype.kind == "enum":
        out.append(sorted(ctype.relements.items()))
    return out


def assert_like_cffi(cffi, source, *type_names):
    ours, theirs = cdef(source), oracle_cdef(cffi, source)
    for name in type_names:
        assert describe(ours, ours.typeof(name)) == describe(theirs, theirs.typeof(name)), name
    return ours


def error_text(exc):
    """str(exc) (cffi's text where cffi raises the same error), then its notes, one a line."""
    return "\n".join([str(exc), *getattr(exc, "__notes__", ())])


def cdef_error(source, *fragments, line=None, column=None, **options):
    """cdef(source) must raise CDefError naming line and column and holding `fragments`
    (in its message or its notes)."""
    with pytest.raises(cffix.CDefError) as info:
        FFI().cdef(source, **options)
    message = error_text(info.value)
    for fragment in fragments:
        assert fragment in message, message
    found = re.search(r"line (\d+), column (\d+): ", message)
    assert found, message
    if line is not None:
        assert int(found[1]) == line, message
    if column is not None:
        assert int(found[2]) == column, message
    return message


def dlopen_self(ffi):
    return ffi.dlopen(None)
