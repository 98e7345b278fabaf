"""Regenerates the seed corpus in fuzz/corpus/ (committed; run this only to refresh it).

cdef/        `cc -E -P` of stdio.h, zlib.h, sqlite3.h and sys/stat.h (what cdef accepts
             whole, see tests/test_system_headers.py), and every literal text the tests
             pass to ffi.cdef().
type_name/   the literal type strings the tests pass to typeof, new, cast, sizeof...
const_expr/  the values of the tests' #define lines and enumerators, and a few by hand.
The lexer harness starts from cdef/ too.

    python fuzz/make_corpus.py     (from the repository root)
"""

import ast
import hashlib
import pathlib
import re
import shutil
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
HEADERS = ["stdio.h", "zlib.h", "sqlite3.h", "sys/stat.h"]
TYPE_FUNCTIONS = {"typeof", "new", "cast", "sizeof", "alignof", "offsetof", "new_allocator",
                  "from_buffer", "getctype"}
MAX_SEED = 8192  # bytes: larger test texts are left out (the headers are the large seeds)
HAND_EXPRESSIONS = [
    "1 + 2 * 3", "(1 << 63) - 1", "-9223372036854775807 - 1", "0xffffffffffffffffULL",
    "sizeof(S) * 2", "~0u >> 1", "E1 ? SIX : MAXU", "'a' + L'\\x7f'", "f() > 0 && g() != 1",
    "(long)-1 / 2", "(unsigned char)300", "1 ? 2 : 3 ? 4 : 5", "_Alignof(double) % 3",
    "MINL / -1", "1 / 0", "sizeof(int[SIX])", "K << 62", "!!h() || (2 > 1)",
]


def write(kind, text):
    data = text.encode("utf-8", "surrogateescape")
    name = hashlib.sha1(data).hexdigest()[:16]
    (CORPUS / kind / name).write_bytes(data)


def calls(tree):
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)):
            continue
        if isinstance(node.func, ast.Attribute):  # ffi.cdef("..."), ffi.typeof("...")
            yield node.func.attr, node.args[0].value
        elif isinstance(node.func, ast.Name):  # the tests' helpers: cdef("..."), ...
            yield node.func.id, node.args[0].value


def accepted_strings():
    """Other string constants of the tests (parametrize lists, module constants) that a
    fresh cffix FFI cdefs without error."""
    from cffix import FFI

    out = set()
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and ";" in node.value and 8 <= len(node.value) <= MAX_SEED):
                try:
                    FFI().cdef(node.value)
                except Exception:
                    continue
                out.add(node.value)
    return out


def main():
    for kind in ("cdef", "type_name", "const_expr"):
        shutil.rmtree(CORPUS / kind, ignore_errors=True)
        (CORPUS / kind).mkdir(parents=True)
    for header in HEADERS:
        text = subprocess.run(["cc", "-E", "-P", "-"], input=f"#include <{header}>\n",
                              capture_output=True, text=True, check=True).stdout
        write("cdef", text)
    seen = {"cdef": set(), "type_name": set(), "const_expr": set(HAND_EXPRESSIONS)}
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        for name, text in calls(ast.parse(path.read_text())):
            if name == "cdef" and len(text) <= MAX_SEED:
                seen["cdef"].add(text)
                for m in re.finditer(r"#define\s+\w+\s+([^\n]+)", text):
                    seen["const_expr"].add(m.group(1).strip())
                for m in re.finditer(r"\b\w+\s*=\s*([^,;{}\n]+)", text):
                    seen["const_expr"].add(m.group(1).strip())
            elif name in TYPE_FUNCTIONS and len(text) <= 256:
                seen["type_name"].add(text)
    seen["cdef"] |= accepted_strings()
    for kind, texts in seen.items():
        for text in sorted(texts):
            write(kind, text)


if __name__ == "__main__":
    main()
