"""The user guide's examples run: every Python code block of every page in docs/.

Each page is one test: its ```python blocks (and ```{code-block} python, ```py) run in
order in one namespace, as a reader would paste them, with a fresh temporary folder as
the working directory (and on sys.path, so an API-mode module the page compiles there
imports). Markers, as HTML comments on a line of their own (invisible in the built
guide):

    <!-- docs-test: skip: REASON -->      the next Python block does not run
    <!-- docs-test: requires NAME -->     the page's later blocks run only once NAME
                                          (a dotted path such as cffix.FFI.cdef_header)
                                          exists; until then the test skips, naming it

Any other ``docs-test:`` comment fails, so a mistyped marker cannot silently skip.
"""

import importlib
import linecache
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(p for p in DOCS.glob("*.md"))

_MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(.*?)\s*-->\s*$")
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*(\{[\w-]+\})?\s*([\w+-]*)")
_PYTHON = {"python", "py", "python3"}


@dataclass
class Block:
    line: int  # 1-based line of the first code line
    code: str
    skip: "str | None" = None  # the reason it does not run
    requires: "str | None" = None


def extract_blocks(text: str) -> "list[Block]":
    """The Python blocks of a Markdown page, with the markers that apply to each."""
    blocks: "list[Block]" = []
    lines = text.splitlines()
    skip_next: "str | None" = None
    requires: "str | None" = None
    i = 0
    while i < len(lines):
        marker = _MARKER.match(lines[i])
        if marker:
            words = marker.group(1)
            if words.startswith("skip:") and words[5:].strip():
                skip_next = words[5:].strip()
            elif words.startswith("requires ") and words[9:].strip():
                requires = words[9:].strip()
            else:
                raise ValueError(f"line {i + 1}: unknown docs-test marker {words!r} "
                                 "(expected 'skip: REASON' or 'requires NAME')")
            i += 1
            continue
        fence = _FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        indent, ticks, directive, language = fence.groups()
        is_python = language in _PYTHON and directive in (None, "{code-block}", "{code}",
                                                          "{sourcecode}")
        body: "list[str]" = []
        i += 1
        first = i + 1  # 1-based line of the first body line
        while i < len(lines) and not (lines[i].strip().startswith(ticks)
                                      and set(lines[i].strip()) == {ticks[0]}):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1  # the closing fence
        if directive:  # directive options (:caption: ...) come first
            while body and body[0].startswith(":"):
                body.pop(0)
                first += 1
        if is_python:
            blocks.append(Block(first, "\n".join(body) + "\n", skip_next, requires))
            skip_next = None
    if skip_next is not None:
        raise ValueError(f"a 'skip: {skip_next}' marker is not followed by a Python block")
    return blocks


def _exists(path: str) -> bool:
    module, _, rest = path.partition(".")
    try:
        obj = importlib.import_module(module)
    except ImportError:
        return False
    for part in rest.split(".") if rest else ():
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_examples_run(page, tmp_path, monkeypatch):
    blocks = extract_blocks(page.read_text(encoding="utf-8"))
    runnable = [b for b in blocks if b.skip is None]
    missing = sorted({b.requires for b in runnable if b.requires and not _exists(b.requires)})
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    modules_before = set(sys.modules)
    ran = 0
    try:
        for block in runnable:
            if block.requires in missing:
                continue
            # the block's own line numbers, and its text in tracebacks
            filename = f"{page.relative_to(DOCS.parent)}, block at line {block.line}"
            linecache.cache[filename] = (len(block.code), None,
                                         block.code.splitlines(True), filename)
            code = compile(block.code, filename, "exec")
            exec(code, namespace)
            ran += 1
    finally:
        # modules the page compiled into tmp_path go with it
        for name in set(sys.modules) - modules_before:
            path = getattr(sys.modules[name], "__file__", None) or ""
            if path.startswith(str(tmp_path)):
                del sys.modules[name]
    if missing:
        pytest.skip(f"{ran} of {len(runnable)} blocks ran; the others document "
                    f"{', '.join(missing)}, which this cffix does not have yet")
    assert ran == len(runnable)


def test_every_page_has_examples_that_run():
    """Each guide page but the API reference and the included README parts shows code."""
    for page in PAGES:
        if page.stem in ("index", "performance"):
            continue
        blocks = extract_blocks(page.read_text(encoding="utf-8"))
        assert [b for b in blocks if b.skip is None], f"{page.name}: no Python block runs"


def test_extract_blocks_markers():
    text = "\n".join([
        "# Page", "```python", "a = 1", "```",
        "<!-- docs-test: skip: needs a network -->",
        "```python", "import urllib", "```",
        "```{code-block} python", ":caption: x", "b = a + 1", "```",
        "```c", "int x;", "```",
        "```text", "print('not python')", "```",
        "<!-- docs-test: requires cffix.FFI.no_such_method -->",
        "````python", "c = 3", "```", "````",
    ])
    blocks = extract_blocks(text)
    assert [(b.code, b.skip, b.requires) for b in blocks] == [
        ("a = 1\n", None, None),
        ("import urllib\n", "needs a network", None),
        ("b = a + 1\n", None, None),
        ("c = 3\n```\n", None, "cffix.FFI.no_such_method"),
    ]
    assert blocks[0].line == 3 and blocks[2].line == 11
    assert not _exists("cffix.FFI.no_such_method") and _exists("cffix.FFI.cdef")
    with pytest.raises(ValueError, match="unknown docs-test marker"):
        extract_blocks("<!-- docs-test: skp: typo -->\n```python\nx\n```\n")
    with pytest.raises(ValueError, match="not followed"):
        extract_blocks("<!-- docs-test: skip: why -->\n")


def test_readme_parts_the_guide_includes_are_marked():
    """The guide includes README sections between markers (so they cannot drift from the
    README): each marker the pages name is in README.md, once, start before end."""
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    names = set()
    for page in PAGES:
        names |= set(re.findall(r":(?:start-after|end-before): (<!-- guide: [\w-]+ -->)",
                                page.read_text(encoding="utf-8")))
    assert names, "no page includes a part of the README"
    for marker in names:
        assert readme.count(marker) == 1, marker
    for start in (m for m in names if m.endswith("-start -->")):
        end = start.replace("-start -->", "-end -->")
        assert end in names and readme.index(start) < readme.index(end), start
