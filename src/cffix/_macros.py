"""Object-like macros of a header as constants of an FFI (used by cdef_header).

``convert_macros(ffi, macros, report)`` takes the macros of a preprocessed header (``cc -E
-dD``) as ``(name, body, filename, line)`` tuples in definition order, ``#undef`` already
applied, and makes each one whose value is a constant a constant of ``ffi``: ``lib.NAME``
in ABI mode, ``ffi.integer_const("NAME")`` for integers. The whole list is folded in one
pass of the C++ core (csrc/parse/macro.cpp):

- integer and floating constant expressions, with real ``sizeof``/``_Alignof`` of the
  declared types, casts, suffixes, character constants, enumerators and other macros
  (expanded as the preprocessor does); the value has C's type (``-1U`` is 4294967295,
  ``(long)-1`` is -1, ``1.5f`` is the float nearest 1.5);
- string literals (adjacent ones concatenated): ``bytes``, or ``str`` for wide ones
  (``L"..."``, ``u"..."``, ``U"..."``);
- an alias of another constant (``#define EWOULDBLOCK EAGAIN``).

Everything else (empty bodies, keywords, types, attributes, statements, pointers, calls)
is reported as skipped with a one-line reason: ``report.converted(name, value)`` and
``report.skipped_macro(name, reason)`` are called once per macro, in order.

A function-like macro may be given too, its name followed by its parameter list
(``("SSL_OP_BIT(n)", "((uint64_t)1 << (uint64_t)(n))", ...)``): it is not a constant
itself (skipped, "function-like macro"), but the constants that use it are expanded
through it when it is simple (no ``#``, ``##`` or ``...``).

Integer constants are declared as ``#define NAME value`` in a cdef is, and recorded in
the FFI's history as such a cdef, so that out-of-line and API-mode modules generated from
this FFI have them too (API mode checks each value against the compiler's). The floating
and string ones are recorded for out-of-line modules; an API-mode module reads their
values from C at import (csrc/gen/module_source.cpp).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Protocol, Sequence

if TYPE_CHECKING:
    from ._core import FFI


class MacroReport(Protocol):
    def converted(self, name: str, value: Any) -> None: ...
    def skipped_macro(self, name: str, reason: str) -> None: ...


def convert_macros(ffi: FFI, macros: Iterable[Sequence[Any]], report: MacroReport) -> None:
    """Declare the constants among ``macros`` in ``ffi`` and report each macro.

        convert_macros(ffi, [("BUFSIZ", "8192", "stdio.h", 99)], report)
        ffi.integer_const("BUFSIZ")   # 8192
    """
    items = macros if isinstance(macros, (list, tuple)) else list(macros)
    results = ffi._convert_macros(items)
    replay: list[str] = []
    others: list[tuple[str, str]] = []
    converted = report.converted
    skipped = report.skipped_macro
    for macro, (ok, value, _ctype, is_new) in zip(items, results):
        name = macro[0]
        if ok:
            converted(name, value)
            if is_new and type(value) is int:
                # (INT64_MIN has no literal: 9223372036854775808 is unsigned in C)
                text = f"({value + 1} - 1)" if value == -(1 << 63) else str(value)
                replay.append(f"#define {name} {text}\n")
            elif is_new:
                literal = _c_literal(value)
                if literal is not None:
                    others.append((name, literal))
        else:
            skipped(name.split("(", 1)[0].strip(), value)
    history = ffi._cffix_state.setdefault("_cffix_history", [])
    if replay:
        # The integer constants, as a cdef that declares them again: replayed by the
        # modules builder.py generates (a no-op here, every value being declared).
        history.append(("cdef", "".join(replay), False, False, None))
    if others:
        # The floating and string ones, as macros whose bodies are their values: replayed
        # by out-of-line modules (an API-mode module takes them from C).
        history.append(("macros", others))


# Bytes in a C string literal: printable ASCII as is, the rest as octal escapes (always
# 3 digits, so that a following digit never joins the escape).
_ESCAPES = {b: (chr(b) if 32 <= b < 127 and chr(b) not in '"\\?' else f"\\{b:03o}")
            for b in range(256)}


def _c_literal(value: Any) -> str | None:
    """A C literal whose macro value is exactly `value` (float, bytes or str)."""
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return {"nan": "(0.0 / 0.0)", "inf": "(1.0 / 0.0)", "-inf": "(-1.0 / 0.0)"}[
                repr(value)]
        return value.hex()
    if isinstance(value, bytes):
        return '"' + value.decode("latin-1").translate(_ESCAPES) + '"'
    if isinstance(value, str) and not any(0xD800 <= ord(c) < 0xE000 for c in value):
        return 'L"' + "".join(f"\\U{ord(c):08x}" for c in value) + '"'
    return None
