"""Random struct/union declarations and the C compiler's facts about them.

A reusable generator for differential layout tests. ``generate(seed, count, ...)`` makes
batches of records: primitive members of every C width, pointers, arrays of 1-3
dimensions, named nested records (earlier ones of the same batch), anonymous nested
structs/unions, bitfields of random widths (full width and unnamed ``T :0`` included),
packed records and members, ``aligned(N)`` on members and records, flexible array
members, each batch under its own ``#pragma pack(N)`` (or none). Each batch gives:

- ``batch.cdef_source()``: the declarations in the cdef dialect (plain C, GNU
  ``__attribute__((packed))`` / ``__attribute__((aligned(N)))`` after the member or after
  the record's closing brace), to pass as ``ffi.cdef(source, pack=batch.pack)``;
- ``c_program(batches)``: a C program that prints, for every named record, its sizeof
  and _Alignof, the offsetof of every named non-bitfield field (fields of anonymous
  members included, as C11 and cffi see them) and, for every named bitfield, the position
  of its first bit and its width (set to all ones in a zeroed object, then scan the bytes);
- ``compiler_facts(batches)``: compile that with ``cc`` in a temporary directory, run it
  and parse the output into ``({record tag: RecordFacts}, {primitive: (size, align)})``.
  ``--cc aarch64-linux-gnu-gcc --runner 'qemu-aarch64 -L /usr/aarch64-linux-gnu'``
  (script) or the ``compiler`` / ``runner`` arguments check another ABI.

Run as a script it writes the input of a standalone C++ driver of layout_record (the
description of every record with member sizes, then the compiler's facts)::

    python3 tests/layout_gen.py --seed 1 --count 2000 --driver-input /tmp/facts.txt
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import subprocess
import sys
import tempfile

# (C spelling, is an integer that may be a bitfield, is signed, is _Bool)
PRIMITIVES = [
    ("char", True, None, False),
    ("signed char", True, True, False),
    ("unsigned char", True, False, False),
    ("short", True, True, False),
    ("unsigned short", True, False, False),
    ("int", True, True, False),
    ("unsigned int", True, False, False),
    ("long", True, True, False),
    ("unsigned long", True, False, False),
    ("long long", True, True, False),
    ("unsigned long long", True, False, False),
    ("int8_t", True, True, False),
    ("uint8_t", True, False, False),
    ("int16_t", True, True, False),
    ("uint16_t", True, False, False),
    ("int32_t", True, True, False),
    ("uint32_t", True, False, False),
    ("int64_t", True, True, False),
    ("uint64_t", True, False, False),
    ("_Bool", True, False, True),
    ("float", False, None, False),
    ("double", False, None, False),
    ("long double", False, None, False),
    ("void *", False, None, False),
    ("char *", False, None, False),
    ("int *", False, None, False),
]
INTEGERS = [p for p in PRIMITIVES if p[1]]
PRIM_INFO = {p[0]: p for p in PRIMITIVES}


@dataclasses.dataclass
class Options:
    """What a batch may contain; the defaults exercise everything."""

    attributes: bool = True  # packed / aligned(N) on records and members
    pack: bool = True  # batches under #pragma pack(N)
    bitfields: bool = True
    full_width_64: bool = True  # 64-bit bitfields of width 64 (and wide packed ones)
    zero_width: bool = True  # unnamed `T :0`
    flexible: bool = True  # flexible array members
    anonymous: bool = True  # anonymous nested structs/unions
    bitfield_aligned: bool = True  # aligned(N) on a bitfield member
    empty: bool = True  # empty records (GNU C: size 0)


@dataclasses.dataclass
class Field:
    name: str | None  # None: an unnamed bitfield or an anonymous record member
    prim: str | None = None  # a primitive type, or
    record: "Record | None" = None  # a record type (named, or anonymous when name is None)
    dims: tuple[int, ...] = ()
    flexible: bool = False
    bitsize: int | None = None
    aligned: int = 0
    packed: bool = False

    def type_text(self) -> str:
        return self.prim if self.prim is not None else self.record.type_name()


@dataclasses.dataclass
class Record:
    kind: str  # "struct" or "union"
    tag: str | None  # None: anonymous (a member of another record)
    ident: str  # unique id (the tag, or anon<N>)
    fields: list[Field] = dataclasses.field(default_factory=list)
    packed: bool = False
    aligned: int = 0

    def type_name(self) -> str:
        return f"{self.kind} {self.tag}"

    def has_flexible(self) -> bool:
        return any(f.flexible or (f.record is not None and f.name is None
                                  and f.record.has_flexible()) for f in self.fields)

    def attribute_text(self) -> str:
        out = ""
        if self.packed:
            out += " __attribute__((packed))"
        if self.aligned:
            out += f" __attribute__((aligned({self.aligned})))"
        return out

    def body_text(self, indent: str) -> str:
        lines = [f"{self.kind}{' ' + self.tag if self.tag else ''} {{"]
        for f in self.fields:
            lines.append(indent + "    " + member_text(f, indent + "    "))
        lines.append(indent + "}" + self.attribute_text())
        return "\n".join(lines)

    def named_fields(self):
        """(name, Field) for every named field, anonymous members flattened."""
        for f in self.fields:
            if f.name is not None:
                yield f.name, f
            elif f.record is not None:
                yield from f.record.named_fields()


def member_text(f: Field, indent: str) -> str:
    if f.name is None and f.record is not None:
        return f.record.body_text(indent) + ";"
    text = f.type_text()
    if f.name is not None:
        text += (" " if not text.endswith("*") else "") + f.name
    for d in f.dims:
        text += f"[{d}]"
    if f.flexible:
        text += "[]"
    if f.bitsize is not None:
        text += f" : {f.bitsize}"
    if f.packed:
        text += " __attribute__((packed))"
    if f.aligned:
        text += f" __attribute__((aligned({f.aligned})))"
    return text + ";"


@dataclasses.dataclass
class Batch:
    index: str
    pack: int | None  # the #pragma pack(N) / cdef(pack=N) of the whole batch
    records: list[Record]  # named records, in declaration order

    def cdef_source(self) -> str:
        return "\n".join(r.body_text("") + ";" for r in self.records) + "\n"


class _Generator:
    def __init__(self, rng: random.Random, options: Options):
        self.rng = rng
        self.opt = options
        self.anon_count = 0

    def batch(self, index: str, count: int) -> Batch:
        rng = self.rng
        pack = None
        if self.opt.pack and rng.random() < 0.35:
            pack = rng.choice([1, 2, 4, 8, 16])
        records: list[Record] = []
        for i in range(count):
            kind = "union" if rng.random() < 0.2 else "struct"
            rec = Record(kind, f"b{index}_s{i}", f"b{index}_s{i}")
            self.counter = 0
            self.fill(rec, records, depth=0)
            records.append(rec)
        return Batch(index, pack, records)

    def next_name(self) -> str:
        self.counter += 1
        return f"f{self.counter - 1}"

    def fill(self, rec: Record, earlier: list[Record], depth: int) -> None:
        rng = self.rng
        if self.opt.attributes:
            rec.packed = rng.random() < 0.15
            if rng.random() < 0.1:
                rec.aligned = rng.choice([1, 2, 4, 8, 16, 32])
        n = rng.choice([1, 2, 3, 4, 5, 6, 8]) if depth == 0 else rng.randint(1, 4)
        if depth == 0 and self.opt.empty and rng.random() < 0.03:
            return  # an empty record (a GNU C extension: size 0)
        for _ in range(n):
            rec.fields.append(self.member(earlier, depth))
        if not any(True for _ in rec.named_fields()):
            rec.fields.append(Field(self.next_name(), prim=rng.choice(PRIMITIVES)[0]))
        if (self.opt.flexible and depth == 0 and rec.kind == "struct"
                and rng.random() < 0.08):
            rec.fields.append(Field(self.next_name(), prim=rng.choice(PRIMITIVES)[0],
                                    flexible=True))

    def member(self, earlier: list[Record], depth: int) -> Field:
        rng = self.rng
        r = rng.random()
        if self.opt.bitfields and r < 0.4:
            return self.bitfield()
        nested = [x for x in earlier if not x.has_flexible()]
        if r < 0.5 and nested:
            f = Field(self.next_name(), record=rng.choice(nested))
        elif r < 0.58 and self.opt.anonymous and depth < 2:
            kind = "union" if rng.random() < 0.6 else "struct"
            self.anon_count += 1
            inner = Record(kind, None, f"anon{self.anon_count}")
            self.fill(inner, earlier, depth + 1)
            return Field(None, record=inner)
        else:
            f = Field(self.next_name(), prim=rng.choice(PRIMITIVES)[0])
        if rng.random() < 0.2:
            f.dims = tuple(rng.randint(1, 4) for _ in range(rng.choice([1, 1, 2, 3])))
        if self.opt.attributes:
            if rng.random() < 0.08:
                f.packed = True
            if rng.random() < 0.1:
                f.aligned = rng.choice([1, 2, 4, 8, 16])
        return f

    def bitfield(self) -> Field:
        rng = self.rng
        prim, _, _, is_bool = rng.choice(INTEGERS)
        bits = 1 if is_bool else {"char": 8, "signed char": 8, "unsigned char": 8,
                                  "int8_t": 8, "uint8_t": 8, "short": 16,
                                  "unsigned short": 16, "int16_t": 16,
                                  "uint16_t": 16}.get(prim, 32)
        if prim in ("long", "unsigned long", "long long", "unsigned long long",
                    "int64_t", "uint64_t"):
            bits = 64
        r = rng.random()
        if self.opt.zero_width and r < 0.08:
            return Field(None, prim=prim, bitsize=0)
        if r < 0.25 and (bits < 64 or self.opt.full_width_64):
            width = bits
        elif not self.opt.full_width_64 and bits == 64:
            width = rng.randint(1, 32)
        else:
            width = rng.randint(1, bits)
        name = None if rng.random() < 0.1 else self.next_name()
        f = Field(name, prim=prim, bitsize=width)
        if self.opt.attributes and rng.random() < 0.06:
            f.packed = True
        if self.opt.attributes and self.opt.bitfield_aligned and rng.random() < 0.03:
            f.aligned = rng.choice([1, 2, 4, 8])
        return f


def generate(seed: int, count: int, batch_size: int = 40,
             options: Options | None = None) -> list[Batch]:
    """``count`` named records in batches of about ``batch_size``, reproducible by seed."""
    rng = random.Random(seed)
    gen = _Generator(rng, options or Options())
    batches = []
    index = 0
    while count > 0:
        n = min(count, batch_size)
        batches.append(gen.batch(f"{seed}_{index}", n))
        count -= n
        index += 1
    return batches


# ---- the C program -------------------------------------------------------------------

_PRELUDE = r"""#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static void bits(const char *r, const char *f, const void *p, size_t n) {
    const unsigned char *b = (const unsigned char *)p;
    long first = -1, count = 0;
    for (size_t i = 0; i < n * 8; i++)
        if ((b[i / 8] >> (i % 8)) & 1) {
            if (first < 0) first = (long)i;
            count++;
        }
    printf("B %s %s %ld %ld\n", r, f, first, count);
}
"""


def c_program(batches: list[Batch]) -> str:
    out = [_PRELUDE]
    for b in batches:
        if b.pack:
            out.append(f"#pragma pack(push, {b.pack})")
        out.append(b.cdef_source())
        if b.pack:
            out.append("#pragma pack(pop)")
    out.append("int main(void) {")
    for i, (prim, *_) in enumerate(PRIMITIVES):
        out.append(f'    printf("T {i} %zu %zu\\n", sizeof({prim}), _Alignof({prim}));')
    for b in batches:
        for rec in b.records:
            t = rec.type_name()
            out.append(f'    printf("R {rec.tag} %zu %zu\\n", sizeof({t}), _Alignof({t}));')
            for name, f in rec.named_fields():
                if f.bitsize is None:
                    out.append(f'    printf("F {rec.tag} {name} %zu\\n", offsetof({t}, {name}));')
                else:
                    out.append(f"    {{ {t} x; memset(&x, 0, sizeof x); x.{name} = -1; "
                               f'bits("{rec.tag}", "{name}", &x, sizeof x); }}')
    out.append("    return 0;\n}\n")
    return "\n".join(out)


@dataclasses.dataclass
class RecordFacts:
    size: int
    align: int
    offsets: dict[str, int]  # named non-bitfield fields
    bits: dict[str, tuple[int, int]]  # named bitfields: (first bit, width)


def find_compiler() -> str | None:
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


def run_program(source: str, compiler: str | None = None,
                runner: list[str] | None = None) -> str:
    """Compile ``source`` and run it (through ``runner``, e.g. qemu, if given)."""
    compiler = compiler or find_compiler()
    if compiler is None:
        raise RuntimeError("no C compiler found")
    with tempfile.TemporaryDirectory(prefix="cffix_layout_") as tmp:
        src = os.path.join(tmp, "layout.c")
        exe = os.path.join(tmp, "layout")
        with open(src, "w") as fh:
            fh.write(source)
        subprocess.run([compiler, "-std=gnu11", "-w", "-O0", src, "-o", exe],
                       check=True, capture_output=True, text=True)
        return subprocess.run([*(runner or []), exe], check=True, capture_output=True,
                              text=True).stdout


def parse_output(text: str) -> tuple[dict[str, RecordFacts], dict[str, tuple[int, int]]]:
    facts: dict[str, RecordFacts] = {}
    prims: dict[str, tuple[int, int]] = {}
    for line in text.splitlines():
        kind, *rest = line.split()
        if kind == "T":
            prims[PRIMITIVES[int(rest[0])][0]] = (int(rest[1]), int(rest[2]))
        elif kind == "R":
            facts[rest[0]] = RecordFacts(int(rest[1]), int(rest[2]), {}, {})
        elif kind == "F":
            facts[rest[0]].offsets[rest[1]] = int(rest[2])
        elif kind == "B":
            facts[rest[0]].bits[rest[1]] = (int(rest[2]), int(rest[3]))
    return facts, prims


def compiler_facts(batches: list[Batch], compiler: str | None = None,
                   runner: list[str] | None = None):
    """({record tag: RecordFacts}, {primitive: (size, align)}) from the C compiler."""
    return parse_output(run_program(c_program(batches), compiler, runner))


# ---- the input of the standalone C++ driver ------------------------------------------

def driver_input(batches: list[Batch], facts, prims) -> str:
    """Records (anonymous ones first, by id), then the compiler's facts. Format:

    rec ID struct|union PACKED ALIGNED PACK NMEMBERS
    mem NAME|- (p SIZE ALIGN SIGNED BOOL | r ID) NDIMS DIMS... FLEXIBLE BITSIZE ALIGNED PACKED
    expect ID SIZE ALIGN / off ID FIELD OFFSET / bit ID FIELD FIRSTBIT WIDTH
    """
    lines: list[str] = []

    def emit(rec: Record, pack: int | None) -> None:
        for f in rec.fields:
            if f.name is None and f.record is not None:
                emit(f.record, pack)
        lines.append(f"rec {rec.ident} {rec.kind} {int(rec.packed)} {rec.aligned} "
                     f"{pack or 0} {len(rec.fields)}")
        for f in rec.fields:
            if f.prim is not None:
                size, align = prims[f.prim]
                signed = PRIM_INFO[f.prim][2]
                typ = f"p {size} {align} {int(bool(signed))} {int(PRIM_INFO[f.prim][3])}"
            else:
                typ = f"r {f.record.ident}"
            dims = " ".join(str(d) for d in f.dims)
            lines.append(f"mem {f.name or '-'} {typ} {len(f.dims)} {dims} {int(f.flexible)} "
                         f"{-1 if f.bitsize is None else f.bitsize} {f.aligned} {int(f.packed)}"
                         .replace("  ", " "))

    for b in batches:
        for rec in b.records:
            emit(rec, b.pack)
    for b in batches:
        for rec in b.records:
            fa = facts[rec.tag]
            lines.append(f"expect {rec.ident} {fa.size} {fa.align}")
            for name, off in fa.offsets.items():
                lines.append(f"off {rec.ident} {name} {off}")
            for name, (first, width) in fa.bits.items():
                lines.append(f"bit {rec.ident} {name} {first} {width}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--batch-size", type=int, default=40)
    ap.add_argument("--driver-input", help="write the C++ driver's input here")
    ap.add_argument("--print-c", action="store_true", help="print the C program")
    ap.add_argument("--cc", help="the C compiler (default: $CC, cc or gcc)")
    ap.add_argument("--runner", help="run the program through this command, e.g. "
                    "'qemu-aarch64 -L /usr/aarch64-linux-gnu' for a cross compiler")
    args = ap.parse_args(argv)
    batches = generate(args.seed, args.count, args.batch_size)
    if args.print_c:
        print(c_program(batches))
        return 0
    facts, prims = compiler_facts(batches, args.cc,
                                  args.runner.split() if args.runner else None)
    text = driver_input(batches, facts, prims)
    if args.driver_input:
        with open(args.driver_input, "w") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
