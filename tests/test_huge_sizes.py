"""Huge sizes for ffi.new and allocators: never a crash; MemoryError when the size in
bytes fits in a ssize_t but cannot be allocated, OverflowError when it does not fit,
ValueError for a negative length; the same exception as cffi. They run in a child
process (a library that gets them wrong may crash).
"""

import pytest

from support import MODULE_UNDER_TEST, run_child


CDEF = """
    struct point { int x, y; };
    struct s { int a; double b; struct point p; int arr[4]; };
"""


HUGE = [  # (cdecl, length, the exception)
    ('"char[]"', "2**62", "MemoryError"),
    ('"char[]"', "2**63 - 1", "MemoryError"),
    ('"char[]"', "sys.maxsize // 2 + 1", "MemoryError"),
    ('"int[]"', "2**62", "OverflowError"),
    ('"int[]"', "2**61", "OverflowError"),
    ('"struct point[]"', "2**60", "OverflowError"),
    ('"struct s[]"', "2**59", "OverflowError"),
    ('"int[][1000000]"', "2**40", "MemoryError"),
    ('"char[4611686018427387904]"', None, "MemoryError"),
    ('"struct point[1152921504606846976]"', None, "OverflowError"),
    ('"char[]"', "2**64", "OverflowError"),
    ('"char[]"', "-2**62", "ValueError"),
]


def _huge_outcomes(module_name):
    lines = []
    for cdecl, length, _ in HUGE:
        call = f"ffi.new({cdecl}, {length})" if length else f"ffi.new({cdecl})"
        lines.append(f"print(attempt(lambda: {call}))")
    lines.append('print(attempt(lambda: ffi.new_allocator()("char[]", 2**62)))')
    rc, got, err = run_child("\n".join(lines), CDEF, module_name)
    assert rc == 0, f"{module_name} crashed:\n{got}\n{err}"
    return got


@pytest.fixture(scope="module")
def huge_outcomes(module):
    return _huge_outcomes(MODULE_UNDER_TEST)


def test_huge_sizes_raise_memory_or_overflow_error(huge_outcomes):
    cases = HUGE + [("allocator", "2**62", "MemoryError")]
    assert [(c, n, got) for (c, n, _), got in zip(cases, huge_outcomes)] == cases


def test_huge_sizes_same_exception_as_cffi(huge_outcomes, cffi_oracle):
    theirs = _huge_outcomes("cffi")
    cases = [f"new({c}, {n})" for c, n, _ in HUGE] + ["allocator(char[], 2**62)"]
    diffs = [(case, ours, cffi) for case, ours, cffi in zip(cases, huge_outcomes, theirs)
             if ours != cffi]
    assert not diffs


def test_memory_error_leaves_a_working_ffi(ffi):
    with pytest.raises(MemoryError):
        ffi.new("char[]", 2**62)
    assert ffi.new("int *", 3)[0] == 3
