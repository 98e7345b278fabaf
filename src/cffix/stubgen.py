"""Type stubs (.pyi) for the modules cffix generates: ``python -m cffix stubgen``.

    python -m cffix stubgen _mymod -o typings         # an importable module
    python -m cffix stubgen build_mymod.py            # a build script (its `ffibuilder`)
    python -m cffix stubgen build_mymod.py:builder    # ... or another FFI it defines

An API-mode module's stub types its ``lib`` (a class ``_Lib``, its functions static
methods with positional-only parameters, its constants ``Final``, its global variables
attributes) and its ``ffi`` (``cffix.FFI``); an out-of-line ABI module's stub types
``ffi`` as a ``cffix.FFI`` whose ``dlopen()`` returns that ``_Lib``. C types become
Python types as the calls convert them: integers and enums ``int``, ``float``/``double``
``float``, ``_Bool`` ``bool``, ``char`` ``bytes``, ``wchar_t`` ``str``, a ``char *``
(or any pointer to bytes) parameter ``bytes | CData``, other pointers, structs and
unions by value and ``long double`` / ``_Float128`` results ``CData``, ``void`` ``None``. Functions
shaped by ``ffi.wrap`` / ``[[cffix::...]]`` get the wrapped signature: outs leave the
parameters and come back (one value or a tuple, led by the result when the function has
no error policy), defaulted parameters leave, ``text`` makes ``str | None``.
"""

from __future__ import annotations

import keyword
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from . import _core, wrappers

# Primitive C types by how a call converts them (the rest of the primitives are integers).
_FLOATS = {"float", "double"}
_WIDE_FLOATS = {"long double", "_Float128"}
_CHARS = {"char"}
_WIDE_CHARS = {"wchar_t", "char16_t", "char32_t"}
_BOOLS = {"_Bool", "bool"}
_COMPLEX = {"float _Complex", "double _Complex"}
# Pointers whose parameters also take bytes: void and the one-byte types.
_BYTE_ITEMS = {"char", "signed char", "unsigned char", "int8_t", "uint8_t", "void"}


# The names the stub's class body uses (a member of that name would hide them there).
_STUB_NAMES = {"CData", "Final", "cffix", "os", "Iterable"}


class StubError(Exception):
    """A target stubgen cannot make stubs of (the message says why)."""


def _strip(cname: str) -> str:
    for qualifier in ("const ", "volatile ", "restrict ", "__restrict "):
        cname = cname.replace(qualifier, "")
    return cname.strip()


def input_type(ctype: Any) -> str:
    """The Python type a call takes for a parameter of C type `ctype`."""
    kind = ctype.kind
    if kind == "primitive":
        name = _strip(ctype.cname)
        if name in _FLOATS or name in _WIDE_FLOATS:
            return "float"
        if name in _CHARS:
            return "bytes"
        if name in _WIDE_CHARS:
            return "str"
        if name in _BOOLS:
            return "bool"
        if name in _COMPLEX:
            return "complex"
        return "int"
    if kind == "enum":
        return "int"
    if kind in ("pointer", "array"):
        item = ctype.item
        item_name = _strip(item.cname)
        if item_name in _BYTE_ITEMS:
            return "bytes | CData"
        if item_name in _WIDE_CHARS:
            return "str | CData"
        return "CData"
    return "CData"  # struct, union, function pointer


def output_type(ctype: Any) -> str:
    """The Python type a call returns (or a global reads as) for C type `ctype`."""
    kind = ctype.kind
    if kind == "void":
        return "None"
    if kind == "primitive":
        name = _strip(ctype.cname)
        if name in _WIDE_FLOATS:  # read as a cdata, which keeps every bit
            return "CData"
        return input_type(ctype)
    if kind == "enum":
        return "int"
    return "CData"


def _identifier(name: str, index: int, taken: set[str]) -> str:
    if not name or not name.isidentifier() or keyword.iskeyword(name) or name in taken \
            or name in ("self", "cls"):
        name = f"arg{index}"
    while name in taken:
        name += "_"
    taken.add(name)
    return name


@dataclass
class _Param:
    name: str
    ctype: Any
    role: str = "python"  # python, out, inout, default
    text: str | None = None  # "str" / "bytes" for a text out
    owned: bool = False


@dataclass
class _Function:
    name: str
    params: list[_Param] = field(default_factory=list)
    result: Any = None
    ellipsis: bool = False
    spec: dict[str, Any] | None = None

    def signature(self) -> str:
        taken: set[str] = set()
        parts = []
        for i, p in enumerate(self.params):
            if p.role in ("python", "inout"):
                item = p.ctype.item if p.role == "inout" else p.ctype
                parts.append(f"{_identifier(p.name, i, taken)}: {input_type(item)}")
        if parts:
            parts.append("/")
        if self.ellipsis:
            parts.append("*args: CData")
        return f"def {self.name}({', '.join(parts)}) -> {self.returns()}: ..."

    def returns(self) -> str:
        spec = self.spec or {}
        text = _param_dict(self, spec.get("text"))
        owned = _param_dict(self, spec.get("owned"))
        result = self._result_type(text.get("return"), "return" in owned)
        outs = [p for p in self.params if p.role in ("out", "inout")]
        if not outs:
            return result
        values = []
        if self.result.kind != "void" and spec.get("errors") is None:
            values.append(result)
        for p in outs:
            pointee = p.ctype.item
            if p.owned:
                values.append("CData")
            elif p.text:
                values.append(f"{p.text} | None")
            else:
                values.append(output_type(pointee))
        if len(values) == 1:
            return values[0]
        return f"tuple[{', '.join(values)}]"

    def _result_type(self, text: str | None, owned: bool) -> str:
        if text:
            return f"{text} | None"
        if owned:
            return "CData"
        return output_type(self.result)


def _param_index(function: _Function, key: Any) -> int | None:
    if isinstance(key, int):
        return key if 0 <= key < len(function.params) else None
    for i, p in enumerate(function.params):
        if p.name == key:
            return i
    if isinstance(key, str) and key.startswith("arg") and key[3:].isdigit():
        index = int(key[3:])
        return index if index < len(function.params) else None
    return None


def _param_dict(function: _Function, value: Any) -> dict[str | int, Any]:
    """A spec's {param: x} with each parameter as its index ("return" kept)."""
    if not value:
        return {}
    if isinstance(value, (list, tuple)):
        value = dict.fromkeys(value, True)
    out: dict[str | int, Any] = {}
    for key, v in value.items():
        if key == "return":
            out["return"] = v
            continue
        index = _param_index(function, key)
        if index is not None:
            out[index] = v
    return out


def _function(ffi: Any, entry: tuple[Any, ...]) -> _Function:
    _, name, ctype, param_names, result_typedef, attributes, param_attributes = entry[:7]
    function = _Function(name, result=ctype.result, ellipsis=ctype.ellipsis)
    for i, arg in enumerate(ctype.args):
        function.params.append(_Param(param_names[i] if i < len(param_names) else "", arg))
    rules = ffi._cffix_state.get("_cffix_wrap_rules")
    has_attributes = bool(attributes) or any(param_attributes)
    if rules is None and not has_attributes or ctype.ellipsis:
        return function
    if rules is None:
        rules = wrappers.WrapRules()
    spec = rules(name, result_typedef, (attributes, param_attributes) if has_attributes else None)
    if spec is None:
        return function
    function.spec = spec
    for index, role in _param_dict(function, spec.get("out")).items():
        if isinstance(index, int):
            function.params[index].role = role
    for index in _param_dict(function, spec.get("default")):
        if isinstance(index, int):
            function.params[index].role = "default"
    for index, kind in _param_dict(function, spec.get("text")).items():
        if isinstance(index, int):
            function.params[index].text = kind
    for index in _param_dict(function, spec.get("owned")):
        if isinstance(index, int):
            function.params[index].owned = True
    return function


def lib_class(ffi: Any, class_name: str = "_Lib") -> list[str]:
    """The lines of a class typing a lib of `ffi` (its declarations, sorted by name)."""
    lines = [f"class {class_name}:"]
    for entry in ffi._declarations():
        kind, name = entry[0], entry[1]
        if keyword.iskeyword(name) or name in _STUB_NAMES:
            lines.append(f"    # {name}: a name Python or this stub reserves: untyped, "
                         f"reached as getattr(lib, {name!r})")
        elif kind == "constant":  # an int, or a header macro's float, bytes or str
            value_type = type(entry[2]).__name__ if entry[2] is not None else "int"
            lines.append(f"    {name}: Final[{value_type}]")
        elif kind == "variable":
            _, _, ctype, is_const, initialized = entry[:5]
            if is_const or initialized:
                # a constant: a `static const` scalar reads as its value
                lines.append(f"    {name}: Final[{output_type(ctype)}]")
            else:
                lines.append(f"    {name}: {output_type(ctype)}")
        elif entry[7]:  # extern "Python": the C function's pointer (API mode)
            lines.append(f"    {name}: Final[CData]")
        else:
            function = _function(ffi, entry)
            lines.append("    @staticmethod")
            lines.append(f"    {function.signature()}")
    if len(lines) == 1:
        lines.append("    pass")
    return lines


_DLOPEN = ("    def dlopen(self, name: str | bytes | os.PathLike[str] | None, flags: int = ...,\n"
           "               *, release_gil: bool = ...,\n"
           "               sha256: str | Iterable[str] | None = ..., soname: str | None = ...,\n"
           "               version: str | None = ...) -> _Lib: ...")


def stub_text(ffi: Any, module_name: str, api_mode: bool, origin: str) -> str:
    """The .pyi text for the module `module_name` whose ffi is `ffi`."""
    from . import __version__

    lines = [
        f"# {module_name}: type stubs generated by cffix {__version__} "
        "(python -m cffix stubgen).",
        f"# From {origin}. Do not edit: generate them again when the cdef changes.",
        "# _Lib and _FFI exist only here: annotate with them under `if TYPE_CHECKING:`.",
    ]
    if not api_mode:
        lines += ["import os", "from collections.abc import Iterable"]
    lines += [
        "from typing import Final",
        "",
        "import cffix",
        "from cffix import CData",
        "",
        "__all__ = ['ffi', 'lib']" if api_mode else "__all__ = ['ffi']",
        "",
    ]
    lines += lib_class(ffi)
    lines.append("")
    if api_mode:
        lines += ["ffi: cffix.FFI", "lib: _Lib"]
    else:
        lines += ["class _FFI(cffix.FFI):", _DLOPEN, "", "ffi: _FFI"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- targets


def _from_build_script(target: str) -> tuple[Any, str, bool]:
    """(ffi, module name, API mode) of a build script `path.py` or `path.py:name`."""
    import contextlib
    import runpy

    path, sep, attr = target.rpartition(":")
    if not sep or not path.endswith(".py"):
        path, attr = target, ""
    if not os.path.isfile(path):
        raise StubError(f"{path}: no such file")
    directory = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, directory)  # as `python build.py` would see its own folder
    try:
        # what the script prints goes to stderr: stdout lists the stubs written
        with contextlib.redirect_stdout(sys.stderr):
            namespace = runpy.run_path(path, run_name="__cffix_stubgen__")
    except SystemExit as exc:
        raise StubError(f"{path}: the build script exited ({exc.code!r}) when run") from None
    except Exception as exc:  # the script's own error, reported as one line
        raise StubError(f"{path}: the build script raised {type(exc).__name__}: {exc}") from None
    finally:
        try:
            sys.path.remove(directory)
        except ValueError:
            pass
    if attr:
        ffi = namespace.get(attr)
        if ffi is None:
            raise StubError(f"{path}: defines no {attr!r}")
    elif isinstance(namespace.get("ffibuilder"), _core.FFI):
        ffi = namespace["ffibuilder"]
    else:
        found = [n for n, v in namespace.items() if isinstance(v, _core.FFI)]
        if len(found) != 1:
            raise StubError(f"{path}: defines no 'ffibuilder'; name the FFI to use as "
                            f"{path}:NAME (FFI objects there: {', '.join(found) or 'none'})")
        ffi = namespace[found[0]]
    if not isinstance(ffi, _core.FFI):
        raise StubError(f"{target}: {type(ffi).__name__} object, not a cffix.FFI")
    source = ffi._cffix_state.get("_cffix_source")
    if source is None:
        raise StubError(f"{target}: set_source() was not called: stubs are for the module "
                        "it names")
    return ffi, source[0], source[1] is not None


def _from_module(name: str) -> tuple[Any, str, bool]:
    import importlib

    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise StubError(f"cannot import {name!r}: {exc}") from None
    except Exception as exc:  # the module's own error at import
        raise StubError(f"importing {name!r} raised {type(exc).__name__}: {exc}") from None
    finally:
        sys.path.pop(0)
    ffi = getattr(module, "ffi", None)
    if not isinstance(ffi, _core.FFI):
        raise StubError(f"{name}: not a module generated by cffix (no cffix.FFI named 'ffi')")
    return ffi, name, hasattr(module, "lib")


def resolve(target: str) -> tuple[Any, str, bool]:
    """(ffi, module name, API mode) of a build script (path ending in .py, optionally
    :NAME) or an importable module name."""
    if target.endswith(".py") or ".py:" in target or os.sep in target:
        return _from_build_script(target)
    return _from_module(target)


def write_stub(target: str, directory: str = ".") -> str:
    """Write the stub of `target` under `directory` (a dotted module name becomes
    folders) and return its path."""
    ffi, module_name, api_mode = resolve(target)
    text = stub_text(ffi, module_name, api_mode, target)
    parts = module_name.split(".")
    path = os.path.join(directory, *parts[:-1], parts[-1] + ".pyi")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path
