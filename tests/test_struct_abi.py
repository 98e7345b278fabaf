"""Structs by value in calls, checked against the C compiler on generated shapes.

The fast thunks pass, on x86-64, a small struct (at most 16 bytes) as its eightbytes in
registers of their System V classes, copy larger structs, and whatever finds its registers
taken, to the stack, and take small struct results from two registers; on AArch64
(AAPCS64), an HFA one member per vector register, another small struct in integer
registers, a larger one by the address of a copy, and take HFA results from up to four
vector registers; libffi does everything else. This file generates random struct shapes (integers of every
width, floats and doubles, nested structs, small arrays, some larger than 16 bytes so
they go through memory) and, for each, C functions that build one, take one among other
arguments (with enough integer and floating arguments before it to exhaust the registers
in some cases, where the whole struct then goes to the stack) and return one. The C
library is compiled with the system compiler; every call runs through the thunks and
through libffi (`cffix._core._force_libffi`), and both must give what C computes.

Values are small integers or halves, so every field holds them exactly and every
weighted sum is exact in double.
"""

import platform
import random
import subprocess

import pytest

import cffix

SCALARS = ["char", "signed char", "unsigned char", "short", "unsigned short", "int",
           "unsigned int", "long", "unsigned long", "float", "double"]
SIZES = {"char": 1, "signed char": 1, "unsigned char": 1, "short": 2, "unsigned short": 2,
         "int": 4, "unsigned int": 4, "long": 8, "unsigned long": 8, "float": 4, "double": 8}
FLOATING = {"float", "double"}
N_STRUCTS = 80


def _random_field(rng, depth):
    """(C declaration body with %s for the name, leaf count, size estimate)."""
    roll = rng.random()
    if roll < 0.12 and depth == 0:
        members = [rng.choice(SCALARS) for _ in range(rng.randint(1, 2))]
        body = " ".join(f"{t} m{i};" for i, t in enumerate(members))
        return ("struct { " + body + " } %s", members)
    if roll < 0.22:
        t = rng.choice(["char", "short", "float", "int"])
        return (t + " %s[2]", [t, t])
    t = rng.choice(SCALARS)
    return (t + " %s", [t])


def _leaf_names(name, decl, leaves):
    """The C expressions of a field's scalar leaves, in memory order."""
    if decl.startswith("struct"):
        return [f"{name}.m{i}" for i in range(len(leaves))]
    if decl.endswith("[2]"):
        return [f"{name}[0]", f"{name}[1]"]
    return [name]


# Shapes every run has, whatever the random ones are: each pair of eightbyte classes,
# floats sharing an eightbyte, a float sharing one with an int (INTEGER wins).
FIXED = [["double", "double"], ["float", "float", "float"], ["float", "float", "double"],
         ["int", "double"], ["double", "int"], ["float", "int"], ["char", "float", "long"],
         ["double"], ["float"], ["long", "long", "long"]]


# (integer, floating) arguments before the first few FIXED shapes: the {int, double}
# struct with its integer eightbyte in the last integer register while a floating
# register is in use (libffi before 3.4.7 passes that wrong, libffi PR #848: see
# libffi_848), and a few spills past the registers.
TRIGGER = [(6, 8), (5, 1), (6, 1), (5, 1), (5, 3), (8, 10)]

# Shapes AAPCS64 (AArch64) passes each its own way, with the (integer, floating)
# arguments before them: HFAs of floats and doubles (flat, as arrays, nested), which take
# one vector register per member, fit in the last ones or spill to the stack (then the
# double after them goes there too); structs of more than 16 bytes, passed by the address
# of a copy, also when the integer registers are taken; small mixed structs in integer
# registers that fit, or spill (then the integer after them goes to the stack too). An
# item is a scalar, "type[2]" (an array) or a list (a nested struct).
AAPCS64 = [(["float"] * 4, 0, 5), (["float"] * 4, 0, 4), (["double"] * 3, 0, 0),
           (["double"] * 4, 0, 6), (["double"] * 4, 1, 2), (["float[2]", "float[2]"], 0, 1),
           ([["float", "float"], "float"], 2, 7), (["double[2]"], 0, 7), (["float"] * 5, 0, 0),
           (["long"] * 4, 8, 0), (["long"] * 4, 7, 8), (["char", "double"], 7, 0),
           (["int", "float"], 7, 0), (["float", "float", "int"], 0, 8), (["double"] * 2, 0, 7)]


def _fixed_field(item):
    """(C declaration with %s for the name, leaf types) of an AAPCS64 shape's item."""
    if isinstance(item, list):
        return ("struct { " + " ".join(f"{t} m{i};" for i, t in enumerate(item)) + " } %s",
                item)
    if item.endswith("[2]"):
        return (item[:-3] + " %s[2]", [item[:-3]] * 2)
    return (item + " %s", [item])


def generate(seed=20261130):
    rng = random.Random(seed)
    structs = []
    for n in range(N_STRUCTS + len(FIXED)):
        fields = []
        leaves = []  # (C expression relative to the struct, C type)
        shape = FIXED[n] if n < len(FIXED) else None
        for i in range(len(shape) if shape else rng.randint(1, 4)):
            decl, types = (shape[i] + " %s", [shape[i]]) if shape else _random_field(rng, 0)
            fields.append(decl % f"f{i}")
            for expr, t in zip(_leaf_names(f"f{i}", decl, types), types):
                leaves.append((expr, t))
        # Registers used before the struct: sometimes all of them and more (the struct,
        # and scalars past the registers, then go to the stack) and a scalar of each class
        # after it, which may still take a register.
        n_int = rng.choice([0, 0, 1, 2, 4, 5, 6, 8])
        n_fp = rng.choice([0, 0, 1, 3, 7, 8, 10]) if n % 3 else 0
        if n < len(TRIGGER):
            n_int, n_fp = TRIGGER[n]
        structs.append({"name": f"s{n}", "fields": fields, "leaves": leaves,
                        "n_int": n_int, "n_fp": n_fp})
    for shape, n_int, n_fp in AAPCS64:
        fields, leaves = [], []
        for i, item in enumerate(shape):
            decl, types = _fixed_field(item)
            fields.append(decl % f"f{i}")
            leaves += zip(_leaf_names(f"f{i}", decl, types), types)
        structs.append({"name": f"s{len(structs)}", "fields": fields, "leaves": leaves,
                        "n_int": n_int, "n_fp": n_fp})
    return structs


def c_source(structs):
    out = []
    for s in structs:
        name = s["name"]
        out.append(f"struct {name} {{ {' '.join(f + ';' for f in s['fields'])} }};")
    out.append("")
    for s in structs:
        name = s["name"]
        sets = "\n".join(f"    r.{expr} = ({t})({value_expr(t, k)});"
                         for k, (expr, t) in enumerate(s["leaves"]))
        out.append(f"struct {name} make_{name}(long seed) {{\n"
                   f"    struct {name} r;\n    __builtin_memset(&r, 0, sizeof r);\n"
                   f"{sets}\n    return r;\n}}")
        weighted = " + ".join(f"(double)s.{expr} * {k + 1}"
                              for k, (expr, _) in enumerate(s["leaves"]))
        params = prefix_params(s)
        out.append(f"double sum_{name}({params}struct {name} s, long after_i, "
                   f"double after_d) {{\n"
                   f"    return {prefix_sum(s)}{weighted} + 1000.0 * after_i "
                   f"+ 2000.0 * after_d;\n}}")
        out.append(f"struct {name} echo_{name}({params}struct {name} s) {{\n"
                   f"    (void)0;{' '.join(f' (void)i{j};' for j in range(s['n_int']))}"
                   f"{' '.join(f' (void)d{j};' for j in range(s['n_fp']))}\n"
                   f"    return s;\n}}")
    return "\n".join(out) + "\n"


def value_expr(t, k):
    if t in FLOATING:
        return f"seed * 0.5 + {k}"
    return f"seed * {k + 3} + {k}"


def expected_value(t, k, seed):
    if t in FLOATING:
        return seed * 0.5 + k
    return seed * (k + 3) + k


def prefix_params(s):
    ints = [f"long i{j}, " for j in range(s["n_int"])]
    fps = [f"double d{j}, " for j in range(s["n_fp"])]
    mixed = []
    while ints or fps:  # interleaved, as real signatures are
        if ints:
            mixed.append(ints.pop(0))
        if fps:
            mixed.append(fps.pop(0))
    return "".join(mixed)


def prefix_args(s):
    ints = [10 + j for j in range(s["n_int"])]
    fps = [0.25 * (j + 1) for j in range(s["n_fp"])]
    args = []
    while ints or fps:
        if ints:
            args.append(ints.pop(0))
        if fps:
            args.append(fps.pop(0))
    return args


def prefix_sum(s):
    terms = [f"{3 + j}.0 * i{j}" for j in range(s["n_int"])]
    terms += [f"{5 + j}.0 * d{j}" for j in range(s["n_fp"])]
    return "".join(t + " + " for t in terms)


def prefix_expected(s):
    return (sum((3 + j) * (10 + j) for j in range(s["n_int"]))
            + sum((5 + j) * 0.25 * (j + 1) for j in range(s["n_fp"])))


def cdef_text(structs):
    lines = []
    for s in structs:
        name = s["name"]
        lines.append(f"struct {name} {{ {' '.join(f + ';' for f in s['fields'])} }};")
        lines.append(f"struct {name} make_{name}(long seed);")
        params = prefix_params(s)
        lines.append(f"double sum_{name}({params}struct {name} s, long after_i, "
                     f"double after_d);")
        lines.append(f"struct {name} echo_{name}({params}struct {name} s);")
    return "\n".join(lines)


STRUCTS = generate()


@pytest.fixture(scope="module")
def lib_and_ffi(cc, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("structabi")
    src = workdir / "structabi.c"
    src.write_text(c_source(STRUCTS))
    out = workdir / "libstructabi.so"
    cmd = [cc, "-shared", "-fPIC", "-O2", "-o", str(out), str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        pytest.fail(f"structabi.c failed to compile:\n{proc.stderr}", pytrace=False)
    ffi = cffix.FFI()
    ffi.cdef(cdef_text(STRUCTS))
    return ffi, ffi.dlopen(str(out))


def libffi_848_shape(s):
    """Whether this case is the shape libffi < 3.4.7 passes wrong on x86-64: a struct of
    9 to 16 bytes whose first eightbyte is INTEGER and lands in the sixth integer register
    while an SSE register is already taken (its copy then overwrites xmm0)."""
    ffi = cffix.FFI()
    ffi.cdef(cdef_text([s]))
    t = ffi.typeof(f"struct {s['name']}")
    if not 8 < ffi.sizeof(t) <= 16 or s["n_int"] != 5 or not 1 <= s["n_fp"] < 8:
        return False
    first = [ft for name, ft in t.fields]
    return first[0].offset < 8 and first[0].type.cname not in FLOATING


@pytest.fixture(scope="module")
def libffi_848(lib_and_ffi):
    """True when the system libffi has the bug of libffi PR #848 (Debian 12's 3.4.4 has)."""
    ffi, lib = lib_and_ffi
    s = next(x for x in STRUCTS if libffi_848_shape(x))
    previous = cffix._core._force_libffi(True)
    try:
        made = getattr(lib, "make_" + s["name"])(7)
        total = getattr(lib, "sum_" + s["name"])(*prefix_args(s), made, 3, 1.5)
    finally:
        cffix._core._force_libffi(previous)
    return total != expected_sum(s, 7)


def leaf_values(ffi, cdata, s):
    values = []
    for expr, t in s["leaves"]:
        obj = cdata
        for part in expr.replace("]", "").replace("[", ".").split("."):
            obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
        values.append(ord(obj) if t == "char" else obj)
    return values


def expected_leaves(s, seed):
    return [expected_value(t, k, seed) for k, (_, t) in enumerate(s["leaves"])]


def expected_sum(s, seed):
    return (prefix_expected(s)
            + sum(v * (k + 1) for k, v in enumerate(expected_leaves(s, seed)))
            + 1000.0 * 3 + 2000.0 * 1.5)


@pytest.mark.parametrize("s", STRUCTS, ids=lambda s: s["name"])
def test_struct_by_value_matches_c(lib_and_ffi, call_path, libffi_848, s):
    ffi, lib = lib_and_ffi
    name = s["name"]
    if call_path == "libffi" and libffi_848 and libffi_848_shape(s):
        pytest.skip("the system libffi passes this shape wrong (libffi PR #848, fixed in "
                    "3.4.7); cffix calls it through its thunk")
    seed = 7
    made = getattr(lib, "make_" + name)(seed)
    assert ffi.typeof(made) is ffi.typeof(f"struct {name}")
    assert leaf_values(ffi, made, s) == expected_leaves(s, seed)

    want = expected_sum(s, seed)
    total = getattr(lib, "sum_" + name)(*prefix_args(s), made, 3, 1.5)
    assert total == want

    # The same struct as a view (p[0]) and from a list: the general path's converters.
    p = ffi.new(f"struct {name} *", made)
    assert getattr(lib, "sum_" + name)(*prefix_args(s), p[0], 3, 1.5) == want

    echoed = getattr(lib, "echo_" + name)(*prefix_args(s), made)
    assert leaf_values(ffi, echoed, s) == expected_leaves(s, seed)


def _is_hfa(ffi, s):
    """A struct of 1 to 4 floats or 1 to 4 doubles (AAPCS64's homogeneous aggregates)."""
    kinds = {t for _, t in s["leaves"]}
    return (len(s["leaves"]) <= 4 and kinds in ({"float"}, {"double"})
            and ffi.sizeof(f"struct {s['name']}") == len(s["leaves"]) * SIZES[kinds.pop()])


@pytest.mark.skipif(platform.machine() not in ("x86_64", "aarch64"),
                    reason="the register thunks exist on x86-64 and AArch64")
def test_the_thunks_take_every_generated_shape(lib_and_ffi):
    """No shape of the corpus falls back to libffi where the thunks should carry it:
    every argument shape and every result on both CPUs (results of more than 16 bytes
    come back through memory, into the thunk's buffer, up to 64 bytes; AArch64's HFAs of
    3 or 4 doubles in d0-d3)."""
    ffi, lib = lib_and_ffi
    for s in STRUCTS:
        name = s["name"]
        assert ffi.sizeof(f"struct {name}") <= 64
        for f in ("sum_", "echo_"):
            assert cffix._core._call_path(ffi.typeof(getattr(lib, f + name))) == "thunk", f + name
    assert any(ffi.sizeof(f"struct {s['name']}") > 16 and not _is_hfa(ffi, s) for s in STRUCTS)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "aarch64"),
                    reason="the register thunks exist on x86-64 and AArch64")
def test_results_over_64_bytes_take_libffi():
    ffi = cffix.FFI()
    ffi.cdef("struct s64 { long a[8]; }; struct s72 { long a[9]; };")
    assert cffix._core._call_path(ffi.typeof("struct s64 (*)(void)")) == "thunk"
    assert cffix._core._call_path(ffi.typeof("struct s72 (*)(void)")) == "libffi"


def test_call_path_bad_input():
    ffi = cffix.FFI()
    with pytest.raises(TypeError, match="expects a function ctype, got int"):
        cffix._core._call_path(3)
    with pytest.raises(TypeError, match="expects a function ctype, got 'int'"):
        cffix._core._call_path(ffi.typeof("int"))


def test_the_generated_shapes_cover_every_register_case():
    """The corpus holds what the thunks distinguish: each eightbyte class pair, partial
    eightbytes, structs over 16 bytes, and structs that no longer fit in registers."""
    ffi = cffix.FFI()
    ffi.cdef(cdef_text(STRUCTS))
    sizes = [ffi.sizeof(f"struct {s['name']}") for s in STRUCTS]
    assert any(n <= 8 for n in sizes)
    assert any(8 < n <= 16 for n in sizes)
    assert any(n > 16 for n in sizes)
    assert any(n % 8 for n in sizes)
    assert any(s["n_int"] >= 5 for s in STRUCTS) and any(s["n_fp"] >= 7 for s in STRUCTS)
    assert any(s["n_int"] > 6 for s in STRUCTS) and any(s["n_fp"] > 8 for s in STRUCTS)
    assert any(libffi_848_shape(s) for s in STRUCTS)

    def classes(s):
        size = ffi.sizeof(f"struct {s['name']}")
        if size > 16:
            return None
        words = [set() for _ in range((size + 7) // 8)]
        t = ffi.typeof(f"struct {s['name']}")

        def walk(ct, base):
            for fname, f in ct.fields:
                ft, count = f.type, 1
                while ft.kind == "array":
                    count *= ft.length
                    ft = ft.item
                for i in range(count):
                    at = base + f.offset + i * ffi.sizeof(ft)
                    if ft.kind == "struct":
                        walk(ft, at)
                    else:
                        words[at // 8].add("sse" if ft.cname in FLOATING else "int")

        walk(t, 0)
        return tuple("int" if "int" in w else "sse" for w in words)

    seen = {classes(s) for s in STRUCTS}
    for pair in [("int", "int"), ("sse", "sse"), ("int", "sse"), ("sse", "int")]:
        assert pair in seen, pair
