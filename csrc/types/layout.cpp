// Record layout as gcc computes it on PCC_BITFIELD_TYPE_MATTERS targets (x86-64 and
// AArch64 Linux), written from the ABI rules and checked against the compiler by
// tests/test_layout_differential.py (natively, on x86-64 in CI; tests/layout_gen.py runs the
// same check for AArch64 with a cross compiler under qemu, by hand).
// Positions are counted in bits (a bitfield may start anywhere), alignments in bytes.
//
// gcc's vocabulary, for readers who compare with its stor-layout.cc: a member's own
// alignment is its DECL_ALIGN (member_alignment_bits below); what it adds to the record's
// alignment is update_alignment_for_field's business (record_alignment_from); the
// "straddle" rule for bitfields is the PCC block of place_field (excess_unit_span).
#include "types/layout.h"

#include <algorithm>

namespace cffix::types {
namespace {

using parse::CDefError;

// Records are limited to 2^59 bytes so that bit positions never overflow 64 bits.
constexpr uint64_t kMaxRecordBytes = uint64_t{1} << 59;
constexpr uint64_t kMaxRecordBits = kMaxRecordBytes * 8;

uint64_t round_up(uint64_t value, uint64_t multiple) {
    return (value + multiple - 1) / multiple * multiple;
}

std::string member_label(const LayoutInput& in, const LayoutMember& m) {
    std::string name = m.name.empty() ? std::string("<unnamed>") : std::string(m.name);
    return "'" + (in.name.empty() ? name : std::string(in.name) + "." + name) + "'";
}

[[noreturn]] void fail(const LayoutMember& m, std::string message) {
    throw CDefError(std::move(message), m.pos);
}

// The label is built only on failure: this runs for every member of every record.
void check_member(const LayoutInput& in, const LayoutMember& m, bool last) {
    auto label = [&] { return member_label(in, m); };
    if (m.size >= kMaxRecordBytes) fail(m, "member " + label() + " is too large");
    if (m.bitsize < -1) fail(m, "bit field " + label() + " has a negative width");
    if (m.bitsize == 0 && !m.name.empty())
        fail(m, "bit field " + label() + " has zero width: only an unnamed bit field may");
    uint64_t type_bits = m.is_bool ? 1 : m.size * 8;
    if (m.bitsize > 0 && static_cast<uint64_t>(m.bitsize) > type_bits)
        fail(m, "bit field " + label() + " is " + std::to_string(m.bitsize) +
                    " bits wide, more than its type (" + std::to_string(type_bits) +
                    (type_bits == 1 ? " bit)" : " bits)"));
    if (m.flexible && in.is_union) fail(m, "flexible array member " + label() + " in a union");
    if (m.flexible && !last)
        fail(m, "flexible array member " + label() + " is not the last member");
}

// Packing (attribute or #pragma) does not reach `T :0`: it always aligns to T.
bool is_packed(const LayoutInput& in, const LayoutMember& m) {
    return (in.packed || m.packed) && m.bitsize != 0;
}

// The alignment the member is placed at, in bits. A bitfield has none of its own (only
// aligned(N) gives it one): its type acts through the straddle rule instead. packed
// lowers to a byte unless aligned(N) was written on the member itself, which then wins
// even when smaller than alignof(T). #pragma pack(P) caps all but `T :0`, aligned(N) too.
uint64_t member_alignment_bits(const LayoutInput& in, const LayoutMember& m) {
    if (m.bitsize > 0 && m.aligned == 0) return 1;
    uint32_t align;
    if (m.bitsize > 0 || is_packed(in, m))
        align = m.aligned ? m.aligned : 1;
    else
        align = std::max(m.align, m.aligned);
    if (in.pack != 0 && m.bitsize != 0) align = std::min(align, in.pack);
    return uint64_t{std::max<uint32_t>(align, 1)} * 8;
}

// What the member contributes to the record's alignment. A bitfield contributes its
// declared type's alignment (packed -> 1, pack(P) -> at most P, `T :0` uncapped), but an
// unnamed one only where the ABI says so (AArch64: yes, x86-64: no).
uint32_t record_alignment_from(const LayoutInput& in, const LayoutMember& m,
                               uint64_t member_align_bits) {
    auto member_align = static_cast<uint32_t>((member_align_bits + 7) / 8);
    if (m.bitsize < 0) return member_align;
    if (m.name.empty() && !in.unnamed_bitfield_aligns_record) return 1;
    uint32_t type_align = m.align;
    if (m.bitsize == 0) {
        // `T :0` escapes packing.
    } else if (in.pack != 0) {
        type_align = std::min(type_align, in.pack);
    } else if (is_packed(in, m)) {
        type_align = 1;
    }
    return std::max({member_align, type_align, uint32_t{1}});
}

// The PCC rule: a bitfield may not span more aligned units of its type than the type
// itself has (for the integer types here, size == alignment: it must fit in one unit).
bool straddles(uint64_t bitpos, uint64_t width, const LayoutMember& m) {
    uint64_t unit = uint64_t{std::max<uint32_t>(m.align, 1)} * 8;
    uint64_t start = bitpos % unit;
    return (start + width + unit - 1) / unit > m.size * 8 / unit;
}

// offset/bitshift for a bitfield whose first bit is `bit` (the rule is in layout.h).
LayoutMemberResult bitfield_result(const LayoutInput& in, const LayoutMember& m, uint64_t bit) {
    uint64_t unit = m.align;
    if (is_packed(in, m)) {
        unit = 1;
    } else if (in.pack != 0) {
        unit = std::min<uint64_t>(unit, in.pack);
    }
    unit = std::max<uint64_t>(unit, 1);
    uint64_t first_byte = bit / 8;
    uint64_t offset = first_byte / unit * unit;
    if (bit + static_cast<uint64_t>(m.bitsize) > (offset + m.size) * 8) offset = first_byte;
    LayoutMemberResult r;
    r.offset = offset;
    r.bitshift = static_cast<int>(bit - offset * 8);
    r.bitsize = m.bitsize;
    return r;
}

}  // namespace

LayoutResult layout_record(const LayoutInput& in) {
    LayoutResult out;
    out.members.reserve(in.members.size());
    uint32_t record_align = std::max<uint32_t>(in.aligned, 1);
    uint64_t bitpos = 0;      // structs: the next free bit
    uint64_t union_size = 0;  // unions: the largest member, in bytes

    for (size_t i = 0; i < in.members.size(); ++i) {
        const LayoutMember& m = in.members[i];
        check_member(in, m, i + 1 == in.members.size());
        uint64_t align_bits = member_alignment_bits(in, m);
        record_align = std::max(record_align, record_alignment_from(in, m, align_bits));
        LayoutMemberResult r;

        if (in.is_union) {
            if (m.bitsize >= 0) {
                r.bitshift = 0;
                r.bitsize = m.bitsize;
                union_size = std::max(union_size, (static_cast<uint64_t>(m.bitsize) + 7) / 8);
            } else {
                union_size = std::max(union_size, m.size);
            }
            out.members.push_back(r);
            continue;
        }

        bitpos = round_up(bitpos, align_bits);
        if (m.bitsize > 0) {
            uint64_t width = static_cast<uint64_t>(m.bitsize);
            // Packed and #pragma pack bitfields (any P) are bit-contiguous.
            if (!is_packed(in, m) && in.pack == 0 && straddles(bitpos, width, m))
                bitpos = round_up(bitpos, uint64_t{std::max<uint32_t>(m.align, 1)} * 8);
            r = bitfield_result(in, m, bitpos);
            bitpos += width;
        } else if (m.bitsize == 0) {
            r.offset = bitpos / 8;
            r.bitshift = 0;
            r.bitsize = 0;
        } else {
            r.offset = bitpos / 8;
            bitpos += m.size * 8;
        }
        if (bitpos > kMaxRecordBits)
            throw CDefError("'" + (in.name.empty() ? std::string("record") : std::string(in.name)) +
                                "' is too large",
                            m.pos);
        out.members.push_back(r);
    }

    uint64_t unpadded = in.is_union ? union_size : (bitpos + 7) / 8;
    out.align = record_align;
    out.size = round_up(unpadded, record_align);
    return out;
}

}  // namespace cffix::types
