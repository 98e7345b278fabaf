"""What an FFI declares, as text: ``python -m cffix check`` and ``python -m cffix layout``.

    python -m cffix check api.cdef        # every struct's layout, every signature...
    python -m cffix layout "struct tm" --header time.h    # cffix's layout next to cc's

``check`` prints each struct and union with the offset and size of its fields, the
typedefs, enums, function signatures, global variables and constants. ``layout``
compiles a small C program that prints ``sizeof``, ``_Alignof`` and each field's
``offsetof`` and size as the C compiler sees them, and prints them next to cffix's.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from typing import Any

from . import _core
from .headers import find_compiler


# What ffi.typeof()/sizeof() raise for a type only a C compiler completes ('...').
_UNKNOWN = (_core.VerificationMissing, _core.FFIError, NotImplementedError, ValueError)


class CommandError(Exception):
    """A failure the command line reports in one line (no traceback)."""


def declarator(cname: str, name: str) -> str:
    """C's spelling of a declaration of `name` with type `cname` ("int[3]", "a" ->
    "int a[3]"; "int(*)(int)", "f" -> "int(*f)(int)")."""
    if not name:
        return cname
    if "(*" in cname:
        i = cname.index("(*") + 2
        return cname[:i] + name + cname[i:]
    if "[" in cname:
        i = cname.index("[")
        return cname[:i].rstrip() + " " + name + cname[i:]
    if cname.endswith("*"):
        return cname + name
    return f"{cname} {name}"


def function_signature(name: str, ctype: Any, param_names: "tuple[str, ...]" = ()) -> str:
    """`int f(char *s, double)` for a function ctype."""
    params = [declarator(arg.cname, param_names[i] if i < len(param_names) else "")
              for i, arg in enumerate(ctype.args)]
    if ctype.ellipsis:
        params.append("...")
    return declarator(ctype.result.cname, f"{name}({', '.join(params) or 'void'})")


def _type_name(ctype: Any) -> str:
    return "struct { ... }" if ctype.cname.startswith("struct $") else \
        "union { ... }" if ctype.cname.startswith("union $") else ctype.cname


def record_lines(ffi: Any, ctype: Any, indent: str = "  ") -> list[str]:
    """The layout of a struct or union: size, alignment, then `offset size field`."""
    if ctype.fields is None:
        return [f"{_type_name(ctype)}: opaque (declared, never defined)"]
    try:
        size, align = ffi.sizeof(ctype), ffi.alignof(ctype)
    except _UNKNOWN as exc:
        return [f"{_type_name(ctype)}: no layout ({exc})"]
    fields = ctype.fields
    lines = [f"{_type_name(ctype)}: size {size}, align {align}",
             f"{indent}{'offset':>6} {'size':>5}  field"]
    for name, f in fields:
        try:
            fsize = str(ffi.sizeof(f.type))
        except (ValueError, _core.FFIError):
            fsize = "?"  # a flexible array member
        bits = f" : {f.bitsize} (bits {f.bitshift}..{f.bitshift + f.bitsize - 1})" \
            if f.bitsize >= 0 else ""
        lines.append(f"{indent}{f.offset:>6} {fsize:>5}  "
                     f"{declarator(_type_name(f.type), name)}{bits}")
    return lines


def describe(ffi: Any) -> str:
    """Everything `ffi` declares, as `python -m cffix check` prints it."""
    out: list[str] = []
    typedefs, structs, unions = ffi.list_types()
    for kind, names in (("struct", structs), ("union", unions)):
        for name in names:
            try:
                out += record_lines(ffi, ffi.typeof(f"{kind} {name}"))
            except _UNKNOWN as exc:  # declared with '...': only a compiler knows it
                out.append(f"{kind} {name}: no layout without a C compiler ({exc})")
            out.append("")
    enums: dict[str, Any] = {}
    for name in typedefs:
        try:
            ctype = ffi.typeof(name)
        except _UNKNOWN as exc:
            out.append(f"typedef {name}: known to a C compiler only ({exc})")
            continue
        if ctype.kind in ("struct", "union") and ctype.cname == name:  # anonymous
            out.append(f"typedef {ctype.kind} {{ ... }} {name};")
            out += ["  " + line for line in record_lines(ffi, ctype)]
            continue
        out.append(f"typedef {declarator(ctype.cname, name)};")
        if ctype.kind == "enum":
            enums[ctype.cname] = ctype
    if typedefs:
        out.append("")
    declarations = ffi._declarations()
    for entry in declarations:
        if entry[0] == "constant" and entry[3] is not None:
            enums.setdefault(entry[3].cname, entry[3])
    for cname, ctype in sorted(enums.items()):
        items = sorted(ctype.elements.items())
        values = ", ".join(f"{n} = {v}" for v, n in items) or "..."
        out.append(f"{cname} ({ffi.sizeof(ctype)} bytes): {values}")
    if enums:
        out.append("")
    for entry in declarations:
        kind, name = entry[0], entry[1]
        if kind == "function":
            extern = 'extern "Python" ' if entry[7] else ""
            out.append(f"function {extern}{function_signature(name, entry[2], entry[3])};")
        elif kind == "variable":
            const = "const " if entry[3] else ""
            out.append(f"variable {const}{declarator(entry[2].cname, name)};")
        elif entry[3] is None:  # enumerators were listed with their enum
            value = "... (known to the C compiler)" if entry[2] is None else entry[2]
            out.append(f"constant {name} = {value}")
    return "\n".join(out).rstrip("\n") + "\n"


# ---------------------------------------------------------------- headers and cc


def include_lines(headers: "list[str]") -> str:
    return "".join(f'#include "{h}"\n' if os.path.exists(h) else f"#include <{h}>\n"
                   for h in headers)


def _run(cmd: "list[str]", what: str, input: "str | None" = None) -> str:
    try:
        done = subprocess.run(cmd, input=input, capture_output=True, text=True)
    except OSError as exc:
        raise CommandError(f"{what}: cannot run {cmd[0]}: {exc}") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()
        raise CommandError(f"{what} failed (exit {done.returncode}):\n{detail}")
    return done.stdout


def load_headers(ffi: Any, headers: "list[str]", include_dirs: "list[str]") -> None:
    """Declare `headers` in `ffi` with ffi.cdef_header()."""
    ffi.cdef_header(*headers, include_dirs=tuple(include_dirs))


def compiler_layout(ctype_name: str, fields: "list[str]", headers: "list[str]",
                    include_dirs: "list[str]", flexible: "frozenset[str]" = frozenset()
                    ) -> "dict[str, tuple[int, int]]":
    """{"sizeof": (size, 0), "alignof": (align, 0), ".field": (offset, size)} as the C
    compiler lays `ctype_name` out, from a program that includes `headers` (the size of
    a `flexible` array member: 0)."""
    lines = [include_lines(headers), "#include <stdio.h>\n#include <stddef.h>\n",
             f"typedef {ctype_name} cffix_t;\n", "int main(void) {\n",
             '    printf("sizeof %zu 0\\n", sizeof(cffix_t));\n',
             '    printf("alignof %zu 0\\n", (size_t)_Alignof(cffix_t));\n']
    for name in fields:
        size = "(size_t)0" if name in flexible else f"sizeof(((cffix_t *)0)->{name})"
        lines.append(f'    printf(".{name} %zu %zu\\n", offsetof(cffix_t, {name}), {size});\n')
    lines.append("    return 0;\n}\n")
    with tempfile.TemporaryDirectory(prefix="cffix-layout-") as tmp:
        source, program = os.path.join(tmp, "layout.c"), os.path.join(tmp, "layout")
        with open(source, "w") as f:
            f.write("".join(lines))
        _run([*find_compiler(), *[f"-I{d}" for d in include_dirs], source, "-o", program],
             f"compiling a program with {ctype_name}")
        output = _run([program], "running the layout program")
    facts = {}
    for line in output.splitlines():
        name, a, b = line.split()
        facts[name] = (int(a), int(b))
    return facts


def layout_table(ffi: Any, ctype_name: str, headers: "list[str]",
                 include_dirs: "list[str]") -> "tuple[str, bool]":
    """cffix's layout of `ctype_name` next to the compiler's; (text, all agree)."""
    try:
        ctype = ffi.typeof(ctype_name)
    except (_core.CDefError, _core.FFIError) as exc:
        raise CommandError(f"{ctype_name!r}: {exc}") from None
    try:
        mine = {"sizeof": (ffi.sizeof(ctype), 0), "alignof": (ffi.alignof(ctype), 0)}
    except (ValueError, _core.FFIError, _core.VerificationMissing) as exc:
        raise CommandError(f"{ctype_name!r} has no layout in cffix: {exc}") from None
    fields: list[str] = []
    bitfields: list[str] = []
    if ctype.kind in ("struct", "union"):
        for name, f in ctype.fields or ():
            if not name:
                continue
            if f.bitsize >= 0:
                bitfields.append(name)  # offsetof() is not defined for them
                continue
            try:
                size = ffi.sizeof(f.type)
            except (ValueError, _core.FFIError):
                size = 0  # a flexible array member: sizeof is not defined either
            mine["." + name] = (f.offset, size)
            fields.append(name)
    flexible = frozenset(n for n in fields if mine["." + n][1] == 0)
    theirs = compiler_layout(ctype_name, fields, headers, include_dirs, flexible)
    rows = [("", "cffix", "cc", "")]
    ok = True

    def cell(name: str, value: "tuple[int, int]") -> str:
        return str(value[0]) if name in ("sizeof", "alignof") else f"@{value[0]} size {value[1]}"

    for key, value in mine.items():
        other = theirs[key]
        same = value == other
        ok &= same
        rows.append((key.lstrip("."), cell(key, value), cell(key, other),
                     "ok" if same else "MISMATCH"))
    for name in bitfields:
        rows.append((name, "bitfield", "-", "not compared"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    text = [f"{ctype_name} ({', '.join(headers)}):"]
    for r in rows:
        text.append("  " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " | " + r[3])
    return "\n".join(line.rstrip(" |") for line in text) + "\n", ok
