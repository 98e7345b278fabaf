"""cffix is typed: `mypy --strict src/cffix` passes, the installed package ships
`py.typed` and `_core.pyi`, and the stub of the C extension declares what the extension
has (every public method of FFI, CData, CType, CField, Lib; every name of `cffix`).
"""

import ast
import os
import pathlib
import subprocess
import sys

import pytest

import cffix
from cffix import _core

ROOT = pathlib.Path(__file__).resolve().parents[1]
STUB = pathlib.Path(cffix.__file__).with_name("_core.pyi")


def test_the_installed_package_ships_its_type_information():
    package = pathlib.Path(cffix.__file__).parent
    assert (package / "py.typed").is_file()
    assert STUB.is_file()
    assert STUB.read_text() == (ROOT / "src" / "cffix" / "_core.pyi").read_text()


def _stub_classes():
    tree = ast.parse(STUB.read_text())
    classes = {}
    names = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members = set()
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    members.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    members.add(item.target.id)
            classes[node.name] = members
            names.add(node.name)
        elif isinstance(node, (ast.FunctionDef, ast.AnnAssign, ast.Assign)):
            names.add(getattr(node, "name", None) or
                      getattr(getattr(node, "target", None), "id", None) or
                      node.targets[0].id)
    return classes, names


@pytest.mark.parametrize("cls", [_core.FFI, _core.CType, _core.CField])
def test_the_stub_declares_every_public_member(cls):
    classes, _ = _stub_classes()
    declared = classes[cls.__name__]
    public = {n for n in dir(cls) if not n.startswith("__")}
    inherited = set(dir(object))
    missing = sorted(n for n in public - inherited - declared
                     if not n.startswith("_") or n in ("_cffix_state", "_declarations"))
    assert missing == []


def test_the_stub_declares_every_name_cffix_exports():
    _, names = _stub_classes()
    from_core = [n for n in cffix.__all__ if getattr(_core, n, None) is getattr(cffix, n)]
    assert from_core  # FFI, CType, CData, the errors...
    assert sorted(set(from_core) - names) == []
    assert {"live_cdata", "describe_library", "Lib", "CData"} <= names


def test_mypy_strict_passes_on_cffix_itself():
    mypy = os.path.join(os.path.dirname(sys.executable), "mypy")
    if not os.path.exists(mypy):
        if os.environ.get("CI") == "true":
            pytest.fail("mypy is not installed: CI installs it with the test extra")
        pytest.skip("mypy is not installed (pip install '.[test]')")
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", "PYTHONMALLOC") and not k.endswith("SAN_OPTIONS")}
    done = subprocess.run([mypy, "--strict", "--no-incremental", "--cache-dir", os.devnull,
                           "src/cffix"], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout
