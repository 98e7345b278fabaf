"""Pythonic wrappers declared once: ``ffi.errors`` (error policies) and ``ffi.wrap``.

This module only shapes and checks arguments and keeps the rules; the work runs in C++
(csrc/call/policy.* and csrc/call/wrap.*): each wrapped function is compiled when a
library first hands it out, and its calls convert, call, check and raise without a
Python frame.

    ffi.cdef("int open(const char *path, int flags); ...")
    ffi.wrap("open", errors="minus1_errno")
    libc = ffi.dlopen(None)
    libc.open(b"/nonexistent", 0)      # FileNotFoundError: [Errno 2] No such file...
"""

from . import _core

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class CallError(Exception):
    """Raised by a wrapped function whose error policy gives no other class.

    Attributes: ``code`` (the policy's code), ``func`` (the C function's name),
    ``message`` (the policy's message: str, or None), ``result`` (the call's result).
    """

    code: int = 0
    func: str = ""
    message: "str | None" = None
    result: "Any" = None


def _check_expression(what: str, value: "str | None") -> "str | None":
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"errors({what}=...): expected a C expression (str) or None, "
                        f"got {type(value).__name__}")
    _core._parse_expression(value, what)
    return value


class ErrorPolicy:
    """An error policy (immutable): what ``ffi.errors(...)`` returns, given to
    ``ffi.wrap(errors=...)``. Its expressions compile once per wrapped function."""

    __slots__ = ("fails", "code", "message", "raises", "retry_eintr", "name", "errno_style",
                 "_default_class")
    fails: str
    code: str
    message: "str | None"
    raises: "Any"
    retry_eintr: bool
    name: "str | None"
    errno_style: bool
    _default_class: "type[CallError]"

    def __init__(self, fails: str, code: str = "result", message: "str | None" = None,
                 raises: "Any" = None, retry_eintr: bool = False, name: "str | None" = None):
        if fails is None:
            raise TypeError("errors(): fails= is required (a C expression, e.g. 'result < 0')")
        set_ = object.__setattr__
        set_(self, "fails", _check_expression("fails", fails))
        set_(self, "code", _check_expression("code", code))
        set_(self, "message", _check_expression("message", message))
        if raises is not None and not _is_exception_class(raises):
            if not isinstance(raises, dict):
                raise TypeError("errors(raises=...): expected an exception class or a dict "
                                f"of codes to classes, got {type(raises).__name__}")
            for key, cls in raises.items():
                if not _is_exception_class(cls):
                    raise TypeError(f"errors(raises=...): the class for {key!r} is not an "
                                    f"exception class: {cls!r}")
                if not (key is None or isinstance(key, (int, str))) or isinstance(key, bool):
                    raise TypeError(f"errors(raises=...): a key is a code (int), a constant's "
                                    f"name, None or 'default', not {key!r}")
            raises = dict(raises)
        set_(self, "raises", raises)
        if not isinstance(retry_eintr, bool):
            raise TypeError(f"errors(retry_eintr=...): expected a bool, got {retry_eintr!r}")
        set_(self, "retry_eintr", bool(retry_eintr))
        if name is not None and (not isinstance(name, str) or not name.isidentifier()):
            raise TypeError(f"errors(name=...): expected an identifier, got {name!r}")
        set_(self, "name", name)
        set_(self, "errno_style", isinstance(raises, type) and issubclass(raises, OSError))
        set_(self, "_default_class", CallError)

    def __setattr__(self, name: str, value: "Any") -> None:
        raise AttributeError("an ErrorPolicy is immutable")

    def __repr__(self) -> str:
        parts = [f"fails={self.fails!r}", f"code={self.code!r}"]
        if self.message is not None:
            parts.append(f"message={self.message!r}")
        if self.raises is not None:
            parts.append(f"raises={self.raises!r}")
        if self.retry_eintr:
            parts.append("retry_eintr=True")
        if self.name:
            parts.append(f"name={self.name!r}")
        return f"<ErrorPolicy {' '.join(parts)}>"


def _is_exception_class(obj: object) -> bool:
    return isinstance(obj, type) and issubclass(obj, BaseException)


def _presets() -> "dict[str, ErrorPolicy]":
    return {
        "minus1_errno": ErrorPolicy("result == -1", "errno", raises=OSError,
                                    name="minus1_errno"),
        "null_errno": ErrorPolicy("result == NULL", "errno", raises=OSError, name="null_errno"),
        "neg_errno": ErrorPolicy("result < 0", "-result", raises=OSError, name="neg_errno"),
        "nonzero": ErrorPolicy("result != 0", "result", name="nonzero"),
        "null": ErrorPolicy("result == NULL", "0", name="null"),
    }


PRESETS = _presets()


class BoundErrors:
    """``ffi.errors``: call it to make a policy; the presets are its attributes
    (``ffi.errors.minus1_errno``) and so are the policies registered with ``name=``."""

    __slots__ = ("_registry",)

    def __init__(self, registry: "dict[str, ErrorPolicy]"):
        self._registry = registry

    def __call__(self, fails: str, code: str = "result", message: "str | None" = None,
                 raises: "Any" = None, retry_eintr: bool = False,
                 name: "str | None" = None) -> ErrorPolicy:
        """Make an error policy (an immutable ErrorPolicy) for ``ffi.wrap(errors=...)``.

        ``fails``, ``code`` and ``message`` are C expressions over ``result``, ``errno``,
        the parameters (by name, ``*p`` for what they point to, or ``argN``), the cdef's
        constants and calls to its functions. ``raises``: an exception class (an OSError
        class raises ``OSError(code, message or strerror(code))``, so Python picks the
        subclass), or a dict of codes (ints or constant names) to classes with a default
        under ``None`` or ``"default"``; default ``cffix.CallError``. ``name`` registers
        the policy on this FFI, for ``wrap(errors="NAME")`` and ``[[cffix::errors(NAME)]]``.

            SQLITE = ffi.errors("result != SQLITE_OK", message="sqlite3_errmsg(db)",
                                name="SQLITE")
        """
        policy = ErrorPolicy(fails, code, message, raises, retry_eintr, name)
        if name is not None:
            if name in PRESETS:
                raise ValueError(f"errors(name={name!r}): that is the name of a preset")
            self._registry[name] = policy
        return policy

    def __getattr__(self, name: str) -> ErrorPolicy:
        policy = PRESETS.get(name) or self._registry.get(name)
        if policy is None:
            raise AttributeError(f"no error policy named {name!r} (presets: "
                                 f"{', '.join(PRESETS)})")
        return policy

    def __repr__(self) -> str:
        return f"<ffi.errors: presets {', '.join(PRESETS)}>"


class ErrorsDescriptor:
    """Makes ``ffi.errors`` a BoundErrors of that FFI."""

    def __get__(self, ffi: "Any", owner: "Any" = None) -> "Any":
        if ffi is None:
            return self
        return BoundErrors(rules_of(ffi).policies)


# ---------------------------------------------------------------- wrap rules

_SPEC_DICTS = ("out", "owned", "text", "default")


class WrapRules:
    """The rules of one FFI, in wrap() order; called by the C++ core as
    ``rules(name, result_typedef)`` when a library makes a function object: the merged
    spec of that function (later rules refine earlier ones), or None. Holds no
    reference to the FFI."""

    __slots__ = ("rules", "policies")

    def __init__(self) -> None:
        self.rules: "list[tuple[tuple[str, ...], dict[str, Any]]]" = []
        self.policies: "dict[str, ErrorPolicy]" = {}

    def __call__(self, name: str, result_typedef: str,
                 attributes: "tuple[Any, ...] | None" = None) -> "dict[str, Any] | None":
        spec: "dict[str, Any] | None" = None
        if attributes is not None:
            spec = _spec_of_attributes(name, *attributes)
        for patterns, options in self.rules:
            if not _matches(patterns, name, result_typedef):
                continue
            if spec is None:
                spec = {}
            for key, value in options.items():
                if value is None and key in (*_SPEC_DICTS, "consumes"):
                    spec.pop(key, None)  # None: reset what earlier rules said
                elif key in _SPEC_DICTS:
                    spec[key] = {**spec.get(key, {}), **value}
                elif key == "consumes":
                    spec[key] = list(dict.fromkeys([*spec.get(key, []), *value]))
                else:
                    spec[key] = value
        if spec is not None and isinstance(spec.get("errors"), str):
            spec["errors"] = self.policy_named(spec["errors"])
        return spec

    def policy_named(self, name: str) -> ErrorPolicy:
        policy = PRESETS.get(name) or self.policies.get(name)
        if policy is None:
            raise KeyError(f"errors={name!r}: no preset or registered policy of that name "
                           f"(presets: {', '.join(PRESETS)}; register one with "
                           f"ffi.errors(..., name={name!r}))")
        return policy


def _attribute(text: str) -> "tuple[str, str | None]":
    name, _, args = text.partition("(")
    return name, (args[:-1].strip() if args else None)


def _spec_of_attributes(name: str, own: "tuple[str, ...]",
                        params: "tuple[tuple[str, ...], ...]") -> "dict[str, Any]":
    """The spec the cdef's [[cffix::...]] attributes give a function (wrap rules refine
    it): errors(NAME), owned(destroy_fn) and text / bytes on the function (its result);
    out, inout, consumes, owned(destroy_fn), text / bytes on a parameter."""
    spec: "dict[str, Any]" = {}

    def bad(text: str, where: str) -> "Exception":
        return _core.CDefError(f"[[cffix::{text}]] on {where} of {name}(): expected "
                               + ("errors(NAME), owned(FUNCTION), text or bytes"
                                  if where == "the function" else
                                  "out, inout, consumes, owned(FUNCTION), text or bytes"))

    for text in own:
        attr, arg = _attribute(text)
        if attr == "errors" and arg and arg.isidentifier():
            spec["errors"] = arg
        elif attr == "owned" and arg and arg.isidentifier():
            spec.setdefault("owned", {})["return"] = arg
        elif attr in ("text", "bytes") and arg is None:
            spec.setdefault("text", {})["return"] = "str" if attr == "text" else "bytes"
        else:
            raise bad(text, "the function")
    for index, attrs in enumerate(params):
        for text in attrs:
            attr, arg = _attribute(text)
            if attr in ("out", "inout") and arg is None:
                spec.setdefault("out", {})[index] = attr
            elif attr == "consumes" and arg is None:
                spec.setdefault("consumes", []).append(index)
            elif attr == "owned" and arg and arg.isidentifier():
                spec.setdefault("owned", {})[index] = arg
            elif attr in ("text", "bytes") and arg is None:
                spec.setdefault("text", {})[index] = "str" if attr == "text" else "bytes"
            else:
                raise bad(text, f"parameter {index}")
    return spec


def _matches(patterns: "tuple[str, ...]", name: str, result_typedef: str) -> bool:
    for p in patterns:
        if p.startswith("typedef:"):
            if result_typedef and result_typedef == p[8:]:
                return True
        elif any(c in p for c in "*?["):
            from fnmatch import fnmatchcase

            if fnmatchcase(name, p):
                return True
        elif p == name:
            return True
    return False


def rules_of(ffi: "Any") -> WrapRules:
    state = ffi._cffix_state
    rules: "WrapRules | None" = state.get("_cffix_wrap_rules")
    if rules is None:
        rules = state.setdefault("_cffix_wrap_rules", WrapRules())
    return rules


def _param_key(option: str, key: object) -> "str | int":
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise TypeError(f"wrap({option}=...): a parameter is a name or an index, "
                        f"not {key!r}")
    return key


def _names_of(option: str, value: object) -> "list[str | int]":
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return [value]
    if isinstance(value, (list, tuple)):
        return [_param_key(option, v) for v in value]
    raise TypeError(f"wrap({option}=...): expected a parameter (name or index) or a list "
                    f"of them, got {type(value).__name__}")


def _str_dict(option: str, value: object, allowed: "tuple[str, ...] | None" = None
              ) -> "dict[str | int, str]":
    if not isinstance(value, dict):
        raise TypeError(f"wrap({option}=...): expected a dict, got {type(value).__name__}")
    out: "dict[str | int, str]" = {}
    for key, v in value.items():
        _param_key(option, key)
        if not isinstance(v, str):
            raise TypeError(f"wrap({option}=...): the value for {key!r} must be a str, "
                            f"got {type(v).__name__}")
        if allowed is not None and v not in allowed:
            raise ValueError(f"wrap({option}=...): the value for {key!r} must be one of "
                             f"{', '.join(map(repr, allowed))}, got {v!r}")
        out[key] = v
    return out


def _text_option(value: object) -> "dict[str | int, str]":
    if isinstance(value, dict):
        return _str_dict("text", value, ("str", "bytes"))
    out: "dict[str | int, str]" = {}
    for item in _names_of("text", value):
        if isinstance(item, str) and item.startswith("bytes:"):
            out[item[6:]] = "bytes"
        elif isinstance(item, str) and item.startswith("str:"):
            out[item[4:]] = "str"
        else:
            out[item] = "str"
    return out


_UNSET = object()


def wrap(ffi: "Any", names: "str | list[str] | tuple[str, ...]", errors: "Any" = _UNSET,
         out: "Any" = _UNSET, owned: "Any" = _UNSET, adopt_on_error: "Any" = _UNSET,
         consumes: "Any" = _UNSET, text: "Any" = _UNSET, message: "Any" = _UNSET,
         default: "Any" = _UNSET) -> None:
    if isinstance(names, str):
        patterns: "tuple[str, ...]" = (names,)
    elif isinstance(names, (list, tuple)) and names and all(isinstance(n, str) for n in names):
        patterns = tuple(names)
    else:
        raise TypeError("wrap(names): expected a function name, a glob, 'typedef:NAME' or a "
                        f"non-empty list of them, got {names!r}")
    for p in patterns:
        if p.startswith("typedef:") and not p[8:].isidentifier():
            raise ValueError(f"wrap({p!r}): 'typedef:' is followed by a typedef name")
    rules = rules_of(ffi)
    options: "dict[str, Any]" = {}
    if errors is not _UNSET:
        if isinstance(errors, str):
            rules.policy_named(errors)  # fails now for an unknown name
        elif errors is not None and not isinstance(errors, ErrorPolicy):
            raise TypeError("wrap(errors=...): expected an ffi.errors(...) policy, the name of "
                            f"a preset or registered policy, or None, got {type(errors).__name__}")
        options["errors"] = errors
    for key, value in (("out", out), ("owned", owned), ("consumes", consumes), ("text", text),
                       ("default", default)):
        if value is None:
            options[key] = None
    if out is not _UNSET and out is not None:
        options["out"] = (_str_dict("out", out, ("out", "inout")) if isinstance(out, dict)
                          else {k: "out" for k in _names_of("out", out)})
    if owned is not _UNSET and owned is not None:
        options["owned"] = _str_dict("owned", owned)
    if adopt_on_error is not _UNSET:
        if not isinstance(adopt_on_error, bool):
            raise TypeError(f"wrap(adopt_on_error=...): expected a bool, got {adopt_on_error!r}")
        options["adopt_on_error"] = bool(adopt_on_error)
    if consumes is not _UNSET and consumes is not None:
        options["consumes"] = _names_of("consumes", consumes)
    if text is not _UNSET and text is not None:
        options["text"] = _text_option(text)
    if message is not _UNSET:
        options["message"] = _check_expression("message", message)
    if default is not _UNSET and default is not None:
        d = _str_dict("default", default)
        for v in d.values():
            _core._parse_expression(v, "default")
        options["default"] = d
    rules.rules.append((patterns, options))
    ffi._set_wrap_rules(rules)


# ------------------------------------------------------------ rules carried by API-mode modules


def _class_path(cls: type, where: str) -> str:
    """An exception class as 'module:qualname', importable where the module is imported."""
    if "<locals>" in cls.__qualname__:
        raise TypeError(f"{where}: the exception class {cls.__qualname__} is local to a "
                        "function: an API-mode module names its classes by import path, so "
                        "define it at module level")
    return f"{cls.__module__}:{cls.__qualname__}"


def _class_at(path: str) -> type:
    import importlib

    module, _, qualname = path.partition(":")
    obj: "Any" = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    cls: type = obj
    return cls


def _dump_policy(policy: "ErrorPolicy | str | None", where: str) -> "Any":
    if policy is None or isinstance(policy, str):
        return policy
    raises = policy.raises
    if isinstance(raises, type):
        raises = _class_path(raises, where)
    elif isinstance(raises, dict):
        raises = {k: _class_path(c, where) for k, c in raises.items()}
    return ("policy", policy.fails, policy.code, policy.message, raises, policy.retry_eintr,
            policy.name)


def _load_policy(data: "Any") -> "ErrorPolicy | str | None":
    if data is None or isinstance(data, str):
        return data
    _, fails, code, message, raises, retry_eintr, name = data
    if isinstance(raises, str):
        raises = _class_at(raises)
    elif isinstance(raises, dict):
        raises = {k: _class_at(c) for k, c in raises.items()}
    return ErrorPolicy(fails, code, message, raises, retry_eintr, name)


def dump_rules(ffi: "Any") -> str:
    """The builder's wrap rules and registered policies as a Python literal, which an
    API-mode module hands its ffi at import (load_rules): '' when there are none.
    Exception classes travel as import paths."""
    rules = ffi._cffix_state.get("_cffix_wrap_rules")
    if rules is None or not (rules.rules or rules.policies):
        return ""
    policies = {n: _dump_policy(p, f"errors(name={n!r})") for n, p in rules.policies.items()}
    entries = []
    for patterns, options in rules.rules:
        options = dict(options)
        if "errors" in options:
            options["errors"] = _dump_policy(options["errors"], f"wrap({patterns[0]!r})")
        entries.append((patterns, options))
    return repr((1, policies, entries))


def load_rules(ffi: "Any", text: str) -> None:
    """Installs on `ffi` the rules dump_rules() wrote (before any function is made)."""
    import ast

    version, policies, entries = ast.literal_eval(text)
    if version != 1:
        raise ImportError(f"wrap rules of format {version}: rebuild the module")
    rules = rules_of(ffi)
    for name, data in policies.items():
        rules.policies[name] = _load_policy(data)  # type: ignore[assignment]
    for patterns, options in entries:
        if "errors" in options:
            options["errors"] = _load_policy(options["errors"])
        rules.rules.append((tuple(patterns), options))
    ffi._set_wrap_rules(rules)
