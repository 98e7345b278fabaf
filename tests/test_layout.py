"""Struct/union layout, one rule per test, through the public API.

Every expected number was taken from gcc 12 on x86-64 Linux (a C program printing
sizeof, _Alignof, offsetof and, for bitfields, the first bit set when the field is all
ones in a zeroed object). Where AArch64 differs, the AArch64 numbers were taken from
gcc 12 (aarch64-linux-gnu) run under qemu. A bitfield's position is offset * 8 +
bitshift; how offset/bitshift are chosen is documented in csrc/types/layout.h.
"""

import platform

import pytest

import cffix

# AArch64 Linux (AAPCS64): unnamed bitfields, `T :0` included, align the record.
UNNAMED_BITFIELDS_ALIGN = platform.machine() in ("aarch64", "arm64")


def make(source, **kwargs):
    ffi = cffix.FFI()
    ffi.cdef(source, **kwargs)
    return ffi


def fields(ffi, ctype):
    return {name: (f.offset, f.bitshift, f.bitsize) for name, f in ffi.typeof(ctype).fields}


def size_align(ffi, ctype):
    return ffi.sizeof(ctype), ffi.alignof(ctype)


def test_bitfield_starts_new_unit_instead_of_straddling():
    ffi = make("struct s { char a; int b:30; short c:9; };")
    assert size_align(ffi, "struct s") == (12, 4)
    # gcc: b at bit 32 (bits 8..37 would straddle an int unit), c at bit 64
    assert fields(ffi, "struct s")["b"] == (4, 0, 30)
    assert fields(ffi, "struct s")["c"] == (8, 0, 9)


def test_packed_bitfields_straddle_units():
    ffi = make("struct s { char a; int b:30; short c:9; } __attribute__((packed));")
    assert size_align(ffi, "struct s") == (6, 1)
    # gcc: b at bit 8, c at bit 38: bit-contiguous
    f = fields(ffi, "struct s")
    assert f["b"] == (1, 0, 30)
    assert f["c"] == (4, 6, 9)


def test_cdef_packed_true_packs_bitfields():
    ffi = make("struct s { char a; int b:30; short c:9; };", packed=True)
    assert size_align(ffi, "struct s") == (6, 1)
    assert fields(ffi, "struct s")["c"][0] * 8 + fields(ffi, "struct s")["c"][1] == 38


def test_full_width_64_bit_bitfield():
    ffi = make("struct s { char a; uint64_t b:64; };")
    assert size_align(ffi, "struct s") == (16, 8)
    assert fields(ffi, "struct s")["b"] == (8, 0, 64)  # gcc: bit 64


def test_packed_64_bit_bitfield_spanning_nine_bytes():
    ffi = make("struct s { char a:3; uint64_t b:64; } __attribute__((packed));")
    assert size_align(ffi, "struct s") == (9, 1)
    # gcc: b at bit 3. No 8-byte window holds it: offset = its first byte, bitshift < 8,
    # and a reader loads (bitshift + bitsize + 7) // 8 = 9 bytes.
    assert fields(ffi, "struct s")["b"] == (0, 3, 64)


def test_zero_width_bitfield_pads_to_next_unit():
    ffi = make("struct s { char a; int :0; char b; };")
    assert ffi.offsetof("struct s", "b") == 4
    if UNNAMED_BITFIELDS_ALIGN:
        assert size_align(ffi, "struct s") == (8, 4)
    else:  # x86-64: an unnamed bitfield does not align the struct
        assert size_align(ffi, "struct s") == (5, 1)


def test_zero_width_bitfield_between_bitfields():
    ffi = make("struct s { char a:4; long :0; char b:4; };")
    assert fields(ffi, "struct s")["b"] == (8, 0, 4)  # gcc: bit 64
    assert size_align(ffi, "struct s") == ((16, 8) if UNNAMED_BITFIELDS_ALIGN else (9, 1))


def test_zero_width_bitfield_ignores_packed():
    ffi = make("struct s { char a; long :0; char b; } __attribute__((packed));")
    assert ffi.offsetof("struct s", "b") == 8
    assert size_align(ffi, "struct s") == ((16, 8) if UNNAMED_BITFIELDS_ALIGN else (9, 1))


def test_zero_width_bitfield_ignores_pack():
    ffi = make("struct s { char a; long :0; char b; };", pack=2)
    assert ffi.offsetof("struct s", "b") == 8


def test_aligned_member():
    ffi = make("""struct s {
        char a;
        int b __attribute__((aligned(16)));
        char c __attribute__((aligned(2)));
        int d __attribute__((aligned(2)));   /* smaller than natural: no effect */
    };""")
    assert size_align(ffi, "struct s") == (32, 16)
    assert [ffi.offsetof("struct s", n) for n in "bcd"] == [16, 20, 24]


def test_aligned_member_of_packed_struct_wins():
    ffi = make("struct s { char a; int b __attribute__((aligned(2))); } __attribute__((packed));")
    assert ffi.offsetof("struct s", "b") == 2
    assert size_align(ffi, "struct s") == (6, 2)


def test_packed_member():
    ffi = make("struct s { char a; int b __attribute__((packed)); double c; };")
    assert ffi.offsetof("struct s", "b") == 1
    assert ffi.offsetof("struct s", "c") == 8
    assert size_align(ffi, "struct s") == (16, 8)


def test_aligned_record_raises_alignment_only():
    ffi = make("""struct s { char a; } __attribute__((aligned(8)));
                  struct t { double d; } __attribute__((aligned(2)));""")
    assert size_align(ffi, "struct s") == (8, 8)
    assert size_align(ffi, "struct t") == (8, 8)


def test_pack_caps_aligned_member_but_not_aligned_record():
    ffi = make("""struct s { char a; int b __attribute__((aligned(8))); };
                  struct t { char c; long l; } __attribute__((aligned(16)));""", pack=2)
    assert ffi.offsetof("struct s", "b") == 2
    assert size_align(ffi, "struct s") == (6, 2)
    assert size_align(ffi, "struct t") == (16, 16)
    assert ffi.offsetof("struct t", "l") == 2


def test_flexible_array_member():
    ffi = make("struct s { char a; double d[]; };")
    assert size_align(ffi, "struct s") == (8, 8)
    assert ffi.offsetof("struct s", "d") == 8


def test_flexible_array_member_packed():
    ffi = make("struct s { char a; double d[]; } __attribute__((packed));")
    assert size_align(ffi, "struct s") == (1, 1)
    assert ffi.offsetof("struct s", "d") == 1


def test_union_of_bitfields():
    ffi = make("union u { int a:3; char b:7; long long c:33; };")
    assert size_align(ffi, "union u") == (8, 8)
    f = fields(ffi, "union u")
    assert f["a"] == (0, 0, 3)
    assert f["b"] == (0, 0, 7)
    assert f["c"] == (0, 0, 33)


def test_union_bitfield_counts_its_bytes_only():
    ffi = make("union u { int a:17; } __attribute__((packed));")
    assert size_align(ffi, "union u") == (3, 1)


BITFIELDS = "struct s { char a; int b:30; short c:9; char d; long e:40; };"


@pytest.mark.parametrize("pack, size_align_, b, c, d, e", [
    # gcc: under #pragma pack(N), any N, bitfields are bit-contiguous:
    # b at bit 8, c at bit 38, d at byte 6, e at bit 56
    (1, (12, 1), (1, 0, 30), (4, 6, 9), 6, (7, 0, 40)),
    (2, (12, 2), (1, 0, 30), (4, 6, 9), 6, (6, 8, 40)),
    (4, (12, 4), (1, 0, 30), (4, 6, 9), 6, (4, 24, 40)),
    (8, (16, 8), (1, 0, 30), (4, 6, 9), 6, (7, 0, 40)),
    # without pack: b at bit 32, c at bit 64, d at byte 10, e at bit 88
    (None, (16, 8), (4, 0, 30), (8, 0, 9), 10, (8, 24, 40)),
])
def test_pack_with_bitfields(pack, size_align_, b, c, d, e):
    ffi = make(BITFIELDS, pack=pack) if pack else make(BITFIELDS)
    assert size_align(ffi, "struct s") == size_align_
    f = fields(ffi, "struct s")
    assert (f["b"], f["c"], f["e"]) == (b, c, e)
    assert ffi.offsetof("struct s", "d") == d


def test_empty_struct_and_union():
    ffi = make("struct e {}; union u {};")
    assert size_align(ffi, "struct e") == (0, 1)
    assert size_align(ffi, "union u") == (0, 1)


def test_anonymous_members_are_flattened():
    ffi = make("struct s { char a; union { int b; struct { short c:5; short d:11; }; }; char e; };")
    assert size_align(ffi, "struct s") == (12, 4)
    assert ffi.offsetof("struct s", "b") == 4
    assert ffi.offsetof("struct s", "e") == 8
    f = fields(ffi, "struct s")
    assert f["c"] == (4, 0, 5)  # gcc: bit 32
    assert f["d"] == (4, 5, 11)  # gcc: bit 37


def test_bool_bitfields():
    ffi = make("struct s { _Bool a:1; _Bool b:1; char c; _Bool d; };")
    assert size_align(ffi, "struct s") == (3, 1)
    f = fields(ffi, "struct s")
    assert f["a"] == (0, 0, 1)
    assert f["b"] == (0, 1, 1)
    assert ffi.offsetof("struct s", "d") == 2


@pytest.mark.parametrize("source", [
    "struct s { int a:33; };",  # wider than its type
    "struct s { char a:9; };",
    "struct s { _Bool a:2; };",
    "struct s { int a:0; };",  # only an unnamed bitfield may have width 0
    "struct s { int a:-1; };",  # negative width
    "struct s { int a[]; int b; };",  # flexible array member not last
])
def test_layout_errors(source):
    with pytest.raises(cffix.CDefError):
        ffi = make(source)
        ffi.sizeof("struct s")
