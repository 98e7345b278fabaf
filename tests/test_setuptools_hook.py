"""The setuptools hook: a package declares cffix_modules=[...] in setup() and
`pip wheel .` builds its API-mode and out-of-line modules; the wheel, installed, imports.

The build runs pip in this interpreter without build isolation (the packages it needs,
cffix and setuptools, are the installed ones), with no network access needed.
"""

import os
import subprocess
import sys
import textwrap
import zipfile

import pytest

from cffix import setuptools_ext

pytestmark = pytest.mark.usefixtures("cc")

SETUP = """
from setuptools import setup
setup(name="cffix_hook_demo", version="1.0", packages=["demo"],
      cffix_modules=["demo/build_api.py:ffibuilder", "demo/build_abi.py:make_builder"])
"""
BUILD_API = """
from cffix import FFI
ffibuilder = FFI()
ffibuilder.cdef("int twice(int); double hypot(double, double);")
ffibuilder.set_source("demo._api", "#include <math.h>\\n#define twice(x) ((x) * 2)",
                      libraries=["m"])
"""
BUILD_ABI = """
from cffix import FFI
def make_builder():
    ffi = FFI()
    ffi.cdef("int abs(int);")
    ffi.set_source("demo._abi", None)
    return ffi
"""


def write_project(root):
    (root / "demo").mkdir()
    (root / "demo" / "__init__.py").write_text("")
    (root / "setup.py").write_text(SETUP)
    (root / "demo" / "build_api.py").write_text(BUILD_API)
    (root / "demo" / "build_abi.py").write_text(BUILD_ABI)


def test_pip_wheel_builds_both_kinds_of_module(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    write_project(project)
    wheels = tmp_path / "wheels"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation",
                           "--no-deps", "--no-index", "-w", str(wheels), str(project)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = wheels.glob("cffix_hook_demo-1.0-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "demo/_abi.py" in names
    assert any(n.startswith("demo/_api.") and n.endswith(".so") for n in names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = textwrap.dedent("""
        from demo._api import lib as api
        from demo._abi import ffi
        libc = ffi.dlopen(None)
        print(api.twice(21), api.hypot(3, 4), libc.abs(-5))
    """)
    env = dict(os.environ, PYTHONPATH=str(site))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env=env, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["42", "5.0", "5"]


def test_the_keyword_is_registered_for_setuptools():
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group="distutils.setup_keywords")
             if ep.name == "cffix_modules"]
    assert len(found) == 1
    assert found[0].load() is setuptools_ext.cffix_modules


@pytest.mark.parametrize("value,error", [
    (3, TypeError),
    (["no_colon.py"], ValueError),
    (["build.txt:ffi"], ValueError),
    (["missing.py:ffibuilder"], FileNotFoundError),
])
def test_bad_keyword_values(value, error, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error):
        setuptools_ext.cffix_modules(None, "cffix_modules", value)


def test_scripts_that_do_not_give_a_builder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text("x = 1\n")
    with pytest.raises(AttributeError, match="defines no 'ffibuilder'"):
        setuptools_ext.load_builder("a.py:ffibuilder")
    with pytest.raises(TypeError, match="not an FFI"):
        setuptools_ext.load_builder("a.py:x")
    (tmp_path / "b.py").write_text("from cffix import FFI\nffibuilder = FFI()\n")
    with pytest.raises(Exception, match="set_source"):
        setuptools_ext.load_builder("b.py:ffibuilder")


def run_setup(project, *args):
    proc = subprocess.run([sys.executable, "setup.py", *args], cwd=str(project),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_build_ext_inplace_writes_both_kinds_of_module(tmp_path):
    """`setup.py build_ext -i`: the extension and the out-of-line module's .py land in the
    package's source directory (as with cffi), importable from there."""
    write_project(tmp_path)
    run_setup(tmp_path, "build_ext", "-i")
    names = os.listdir(tmp_path / "demo")
    assert "_abi.py" in names
    assert any(n.startswith("_api.") and n.endswith(".so") for n in names)
    code = ("from demo._api import lib; from demo._abi import ffi; "
            "print(lib.twice(4), ffi.dlopen(None).abs(-3))")
    out = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["8", "3"]


def test_build_ext_pre_run_hook_sees_the_extension_and_ffi(tmp_path):
    """cffi's hook: a build_ext subclass's pre_run(ext, ffi) runs before the C is written,
    and what it changes in the FFI is in the built module."""
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "__init__.py").write_text("")
    (tmp_path / "demo" / "build_api.py").write_text(BUILD_API)
    (tmp_path / "setup.py").write_text(textwrap.dedent("""
        from setuptools import setup
        from setuptools.command.build_ext import build_ext

        class WithPreRun(build_ext):
            def pre_run(self, ext, ffi):
                print("pre_run:", ext.name, type(ffi).__name__)
                ffi.cdef("double sqrt(double);")  # <math.h> is in the source

        setup(name="cffix_pre_run", version="1.0", packages=["demo"],
              cffix_modules=["demo/build_api.py:ffibuilder"],
              cmdclass={"build_ext": WithPreRun})
    """))
    out = run_setup(tmp_path, "build_ext", "-i")
    assert "pre_run: demo._api FFI" in out
    code = "from demo._api import lib; print(lib.sqrt(16.0), lib.twice(2))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["4.0", "4"]
