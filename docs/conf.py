"""Sphinx configuration of cffix's user guide.

Build (from the repository root, cffix installed in the environment):

    python3 -m pip install '.[docs]'
    python3 -m sphinx -W --keep-going -b html docs build/docs

The API reference documents the *installed* cffix (autodoc imports it): the C++ methods'
docstrings come from csrc/ffi/*.cpp, the Python ones from src/cffix/*.py. The guide's
Python examples run as tests (tests/test_docs.py), not here.
"""

import inspect
import types

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

import cffix

project = "cffix"
author = "the cffix authors"
copyright = "2026, the cffix authors"
release = version = cffix.__version__

extensions = ["sphinx.ext.autodoc", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
root_doc = "index"

# Markdown: anchors for the headings, so pages can link to sections (#like-this).
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# Docstrings are plain text (they read well in help()): `x` is code, as in Markdown.
default_role = "code"
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the signatures say enough; the annotations are strings
add_module_names = False

html_theme = "alabaster"
html_theme_options = {"description": "a C FFI for CPython, cffi's API, a C++ engine",
                      "fixed_sidebar": True}
html_title = f"cffix {release}"

# An indented block after a blank line in a docstring is an example: show it as code
# (help() shows the same text as it is written). A paragraph ending in "::" already
# makes the block that follows a literal one.
def _examples_as_code(app, what, name, obj, options, lines):
    if lines:
        lines[:] = _lines_as_written(obj, lines)
    out = []
    in_example = False
    for line in lines:
        if in_example and line and not line.startswith("    "):
            out.append("")
            in_example = False
        elif (not in_example and line.startswith("    ") and out and out[-1] == ""
              and not _previous_text(out).endswith("::")):
            out[-1:] = ["", ".. code-block:: python", ""]
            in_example = True
        out.append(line)
    lines[:] = out


def _is_builtin(obj):
    """A C method, attribute or type (its docstring is written from column 0)."""
    if isinstance(obj, type):
        return not obj.__flags__ & (1 << 9)  # not Py_TPFLAGS_HEAPTYPE
    return isinstance(obj, (types.BuiltinFunctionType, types.MethodDescriptorType,
                            types.GetSetDescriptorType, types.MemberDescriptorType))


def _lines_as_written(obj, lines):
    """The docstring with its own indentation: autodoc dedents every line after the
    first by their common indentation, which flattens a docstring whose only indented
    lines are its example. A C docstring starts at column 0; a Python one at the
    indentation of its closing quotes."""
    raw = (getattr(obj, "__doc__", None) or "").expandtabs().splitlines()
    if _is_builtin(obj):
        base = 0
    elif len(raw) > 1 and not raw[-1].strip():
        base = len(raw[-1])
    else:
        return lines
    text = [raw[0].strip()] + [line[base:] if not line[:base].strip() else line.strip()
                               for line in raw[1:]]
    # autodoc took a signature line off (autodoc_docstring_signature): so do we
    while text and text[0].strip() != lines[0].strip():
        text.pop(0)
    while text and not text[-1].strip():
        text.pop()
    return [line.rstrip() for line in text] + [""] if text else lines


def _previous_text(out):
    for line in reversed(out):
        if line.strip():
            return line.rstrip()
    return ""


class DocstringDirective(SphinxDirective):
    """``.. cffix-docstring:: EXPR``: the docstring of an object autodoc cannot import
    by name (``map`` exists on function cdata only; ``ffi.errors`` is a descriptor whose
    call does the work), EXPR evaluated with ``cffix`` and ``libm`` (a loaded libm)."""

    required_arguments = 1
    final_argument_whitespace = True

    def run(self):
        ffi = cffix.FFI()
        ffi.cdef("double sin(double);")
        obj = eval(self.arguments[0], {"cffix": cffix, "libm": ffi.dlopen("m")})
        lines = inspect.getdoc(obj).splitlines()  # as written, once _examples_as_code ran
        _examples_as_code(self.env.app, "method", self.arguments[0], obj, {}, lines)
        node = nodes.container()
        self.state.nested_parse(StringList(lines, source=f"docstring of {self.arguments[0]}"),
                                self.content_offset, node)
        return node.children


def setup(app):
    app.connect("autodoc-process-docstring", _examples_as_code)
    app.add_directive("cffix-docstring", DocstringDirective)
