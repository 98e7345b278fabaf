"""Struct/union layout against the C compiler, on random declarations.

tests/layout_gen.py generates a few hundred records (every primitive, arrays, nested
and anonymous records, bitfields of every width including `T :0` and full-width 64-bit
ones, packed, aligned(N), flexible arrays, batches under #pragma pack(N)); the C
compiler reports sizeof, _Alignof, offsetof and each bitfield's first bit; cffix must
report the same through ffi.sizeof / alignof / offsetof / typeof(...).fields.

CFFIX_LAYOUT_ORACLE=cffi runs the same test on cffi instead (restricted to what cffi
parses and lays out right: no attributes, no pack, no full-width 64-bit bitfields, no
empty records), to
check the test itself.
"""

import importlib
import os

import pytest

import layout_gen

ORACLE = os.environ.get("CFFIX_LAYOUT_ORACLE", "cffix")
SEEDS = (11, 12, 13, 14)
RECORDS_PER_SEED = 100


def _options():
    if ORACLE == "cffi":
        return layout_gen.Options(attributes=False, pack=False, full_width_64=False,
                                  bitfield_aligned=False, empty=False)
    return layout_gen.Options()


@pytest.fixture(scope="module")
def module():
    return importlib.import_module(ORACLE)


@pytest.fixture(scope="module")
def generated(cc):
    """{seed: batches} and the compiler's facts for all of them (one compilation)."""
    by_seed = {seed: layout_gen.generate(seed, RECORDS_PER_SEED, options=_options())
               for seed in SEEDS}
    facts, _ = layout_gen.compiler_facts([b for bs in by_seed.values() for b in bs], cc)
    return by_seed, facts


def _mismatches(module, batch, facts):
    ffi = module.FFI()
    if batch.pack:
        ffi.cdef(batch.cdef_source(), pack=batch.pack)
    else:
        ffi.cdef(batch.cdef_source())
    out = []
    for rec in batch.records:
        ctype = rec.type_name()
        want = facts[rec.tag]
        got = (ffi.sizeof(ctype), ffi.alignof(ctype))
        if got != (want.size, want.align):
            out.append((rec, f"sizeof/alignof {got}, compiler {(want.size, want.align)}"))
        for name, offset in want.offsets.items():
            got = ffi.offsetof(ctype, name)
            if got != offset:
                out.append((rec, f"offsetof {name} {got}, compiler {offset}"))
        if not want.bits:
            continue
        fields = dict(ffi.typeof(ctype).fields)
        for name, (first_bit, width) in want.bits.items():
            f = fields[name]
            got = (f.offset * 8 + f.bitshift, f.bitsize)
            if got != (first_bit, width):
                out.append((rec, f"bitfield {name} at bit {got[0]} width {got[1]} "
                                 f"(offset {f.offset} bitshift {f.bitshift}), "
                                 f"compiler bit {first_bit} width {width}"))
            # layout.h's reading rule: the bytes holding the field are inside the record
            elif ORACLE == "cffix" and not (
                    0 <= f.bitshift and f.offset + (f.bitshift + width + 7) // 8 <= want.size):
                out.append((rec, f"bitfield {name}: offset {f.offset} bitshift {f.bitshift} "
                                 f"reaches past the end of the record"))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_layout_matches_compiler(module, generated, seed):
    by_seed, facts = generated
    problems = []
    for batch in by_seed[seed]:
        for rec, what in _mismatches(module, batch, facts):
            problems.append(f"{rec.tag} (pack={batch.pack}): {what}\n"
                            f"{rec.body_text('')};")
    assert not problems, f"{len(problems)} mismatches:\n" + "\n".join(problems[:20])


def test_generator_covers_the_rules(generated):
    """The random records do contain the cases the rules are about."""
    by_seed, facts = generated
    batches = [b for bs in by_seed.values() for b in bs]
    fields = [f for b in batches for r in b.records for _, f in r.named_fields()]
    assert sum(f.bitsize is not None for f in fields) > 100
    assert any(f.flexible for f in fields)
    assert any(f.dims for f in fields)
    assert sum(len(facts[r.tag].bits) for b in batches for r in b.records) > 100
    if ORACLE == "cffix":
        assert any(b.pack for b in batches)
        assert any(r.packed for b in batches for r in b.records)
        assert any(f.aligned for f in fields)
