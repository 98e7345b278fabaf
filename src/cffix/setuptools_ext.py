"""The setuptools hook: build cffix modules when a package is built.

A project lists its build scripts in ``setup()``, as cffi's ``cffi_modules`` does:

    setup(..., setup_requires=["cffix"], cffix_modules=["pkg/_build.py:ffibuilder"])

Each entry is ``path/to/script.py:name``: the script is run and ``name`` (an FFI, or a
function returning one) must have had set_source() called. An API-mode module (C
source) becomes one more extension module of the distribution, its C written under
``build/cffix/`` when setup() reads the keyword (a build_ext subclass with a
``pre_run(self, ext, ffi)`` method, cffi's hook, has it called first, and the C written
again); an out-of-line ABI module (source None) is written as a ``.py`` file into the
build by build_py, and into the package's source directory by ``build_ext -i``.
``pip install .`` and ``pip wheel .`` then build them like any other part of the package.

setuptools calls cffix_modules(dist, "cffix_modules", value) for the keyword: cffix
registers it under the ``distutils.setup_keywords`` entry points (pyproject.toml).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from . import _core, builder

if TYPE_CHECKING:
    from ._core import FFI


def cffix_modules(dist: Any, attr: str, value: Any) -> None:
    """setup(cffix_modules=[...]): add each listed module to the distribution."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{attr} must be a list of 'path/to/script.py:name' strings, not "
                        f"{value!r}")
    for spec in value:
        _add_module(dist, load_builder(spec, attr))


def load_builder(spec: str, attr: str = "cffix_modules") -> FFI:
    """The FFI that `spec` ('path/to/script.py:name') names, its script run."""
    from .api import FFI as FFIType

    path, sep, name = spec.rpartition(":")
    if not sep or not path.endswith(".py") or not name.isidentifier():
        raise ValueError(f"{attr}: {spec!r} is not of the form 'path/to/script.py:name'")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{attr}: no build script {path!r} (from {spec!r})")
    namespace: dict[str, Any] = {"__name__": "__cffix_build__", "__file__": path}
    with open(path, encoding="utf-8") as f:
        code = compile(f.read(), path, "exec")
    exec(code, namespace)  # the project's own build script, as cffi runs it
    if name not in namespace:
        raise AttributeError(f"{attr}: {path!r} defines no {name!r}")
    ffi = namespace[name]
    if not isinstance(ffi, FFIType) and callable(ffi):
        ffi = ffi()
    if not isinstance(ffi, FFIType):
        raise TypeError(f"{attr}: {spec!r} is a {type(ffi).__name__}, not an FFI (or a "
                        "function returning one)")
    if builder.SOURCE not in ffi._cffix_state:
        raise _core.VerificationError(f"{attr}: {spec!r}: set_source() was not called")
    return ffi


def _add_module(dist: Any, ffi: FFI) -> None:
    if builder._is_api_mode(ffi):
        extension = ffi.distutils_extension(tmpdir=os.path.join("build", "cffix"),
                                            verbose=False)
        dist.ext_modules = [*(dist.ext_modules or []), extension]
        _call_pre_run(dist, ffi, extension)
    else:
        _write_in_build_py(dist, ffi)
        _write_in_place(dist, ffi)


def _command_class(dist: Any, name: str, default: str) -> Any:
    base = dist.cmdclass.get(name)
    if base is None:
        import importlib

        module, _, cls = default.rpartition(".")
        base = getattr(importlib.import_module(module), cls)
    return base


def _call_pre_run(dist: Any, ffi: FFI, extension: Any) -> None:
    """cffi's hook for build_ext subclasses: `pre_run(self, ext, ffi)`, when the command
    has one, runs before the module's C is written (so it may still change the FFI); the
    C is then written again, and only rewritten if it changed."""
    base = _command_class(dist, "build_ext", "setuptools.command.build_ext.build_ext")

    class build_ext_with_pre_run(base):  # type: ignore[misc, valid-type]
        def run(self) -> None:
            pre_run = getattr(self, "pre_run", None)
            if pre_run is not None:
                pre_run(extension, ffi)
                ffi.emit_c_code(extension.sources[0])
            super().run()

    dist.cmdclass["build_ext"] = build_ext_with_pre_run


def _module_path(ffi: FFI) -> list[str]:
    return builder._module_name(ffi, "compile").split(".")


def _write_in_build_py(dist: Any, ffi: FFI) -> None:
    """Out-of-line ABI module: build_py writes <build_lib>/<module path>.py."""
    base = _command_class(dist, "build_py", "setuptools.command.build_py.build_py")

    class build_py_with_cffix(base):  # type: ignore[misc, valid-type]
        def run(self) -> None:
            super().run()
            path = ffi.compile(tmpdir=self.build_lib)
            self.announce(f"cffix: wrote {path}", level=2)

    dist.cmdclass["build_py"] = build_py_with_cffix


def _write_in_place(dist: Any, ffi: FFI) -> None:
    """Out-of-line ABI module and `build_ext -i` (in place): the .py goes into the
    package's source directory, next to the extension modules build_ext -i puts there."""
    base = _command_class(dist, "build_ext", "setuptools.command.build_ext.build_ext")

    class build_ext_with_cffix(base):  # type: ignore[misc, valid-type]
        def run(self) -> None:
            super().run()
            if not self.inplace:
                return
            *package, name = _module_path(ffi)
            build_py = self.get_finalized_command("build_py")
            directory = build_py.get_package_dir(".".join(package))
            path = os.path.join(directory, name + ".py")
            os.makedirs(directory or ".", exist_ok=True)
            ffi.emit_python_code(path)
            self.announce(f"cffix: wrote {path}", level=2)

    dist.cmdclass["build_ext"] = build_ext_with_cffix
