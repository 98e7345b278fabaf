// Struct and union layout, exactly as the platform C compiler (gcc/clang on the
// System V x86-64 and AArch64 ABIs) computes it: member offsets, bitfield placement,
// zero-width bitfields, packed / #pragma pack(N), aligned(N), flexible array members.
//
// Pure computation over sizes and alignments: no CType, no Python. types/ feeds it the
// facts of each member and stores the result on the struct's CType.
//
// The rules (gcc's, PCC_BITFIELD_TYPE_MATTERS; see layout.cpp for the details):
//  - A member is placed at the next multiple of its alignment: max(alignof(T),
//    aligned(N)); packed (on the member or the record) lowers it to 1, or to N when the
//    member also says aligned(N); #pragma pack(P) caps it at P, aligned(N) included.
//  - A bitfield is placed at the next free bit, except that when it would straddle an
//    aligned unit of its declared type it starts the next unit. Neither packed nor
//    #pragma pack(P) (any P, even 8) apply that rule: their bitfields are bit-contiguous.
//  - A named bitfield raises the record's alignment to its declared type's alignment
//    (capped by packed / pack); an unnamed one does not on x86-64, and does on AArch64
//    (AAPCS64: "without exception for zero-sized or anonymous bit-fields").
//  - `T :0` moves to the next multiple of alignof(T), packed and pack(P) notwithstanding.
//  - A union places every member at 0; a bitfield counts ceil(width / 8) bytes there.
//  - The record's alignment is at least aligned(N) of the record (never capped); its size
//    is rounded up to its alignment. An empty record has size 0, alignment 1.
//  - A flexible array member `T x[]` has size 0 and the alignment of T; it must be last,
//    and is not allowed in a union (gcc 12 rejects both).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "parse/ast.h"

namespace cffix::types {

// Whether an unnamed bitfield (`int :3`, `long :0`) raises the alignment of the record,
// as a named one does. gcc's TARGET_ALIGN_ANON_BITFIELD: true on AArch64 (and 32-bit
// ARM AAPCS), false on x86-64 System V. Apple's arm64 ABI does not follow AAPCS64 here.
#if (defined(__aarch64__) || defined(__arm__)) && !defined(__APPLE__)
inline constexpr bool kHostUnnamedBitfieldAlignsRecord = true;
#else
inline constexpr bool kHostUnnamedBitfieldAlignsRecord = false;
#endif

struct LayoutMember {
    uint64_t size = 0;       // sizeof the member's type (0 for a flexible array member)
    uint32_t align = 1;      // alignof the member's type (the element's for arrays)
    int bitsize = -1;        // -1: not a bitfield; 0: a zero-width bitfield; < -1: a negative
                             // width was written (an error; the parser should say which)
    bool is_signed = false;  // for bitfields: whether the integer type is signed
    bool is_bool = false;    // for bitfields: the type is _Bool (width at most 1)
    uint32_t aligned = 0;    // __attribute__((aligned(N))) on the member (0 = none)
    bool packed = false;     // __attribute__((packed)) on the member
    bool flexible = false;   // a flexible array member `T name[]` (must be last)
    std::string_view name;   // for error messages only ("" if unnamed); must outlive the call
    parse::SourcePos pos;    // for error messages only ({} if unknown)
};

struct LayoutInput {
    bool is_union = false;
    std::vector<LayoutMember> members;
    bool packed = false;    // __attribute__((packed)) on the record, or cdef(packed=True)
    uint32_t pack = 0;      // #pragma pack(N) semantics, cdef(pack=N); 0 = none
    uint32_t aligned = 0;   // __attribute__((aligned(N))) on the record (0 = none)
    std::string_view name;  // "struct foo", for error messages only ("" if unknown);
                            // must outlive the call
    // The ABI rule above; only tests set it to something else than the host's.
    bool unnamed_bitfield_aligns_record = kHostUnnamedBitfieldAlignsRecord;
};

// Where a bitfield lives. Bits are numbered little-endian (bit k of the record is bit
// k % 8 of byte k / 8; both ABIs here are little-endian): the field occupies bits
//     [offset * 8 + bitshift, offset * 8 + bitshift + bitsize)
// of the record, i.e. the bits [bitshift, bitshift + bitsize) of the little-endian
// integer made of the bytes from `offset` on. To read it: load the
//     n = (bitshift + bitsize + 7) / 8        (1 <= n <= size + 1 <= 9)
// bytes at `offset` (always inside the record) into an integer, shift right by
// `bitshift`, keep `bitsize` bits, sign-extend if the type is signed. Writing is the
// same read-modify-write.
//
// How `offset` is chosen (so that it matches cffi's CField.offset/bitshift where cffi
// places the field right, and so that cffi's way of reading works when it can):
//  1. Let U = alignof(T) (`align` of the member), lowered to 1 for packed members and to
//     P under #pragma pack(P). offset = the start of the U-aligned unit holding the
//     field's first bit, when the field ends within `size` bytes from there. This is the
//     only case for records that are neither packed nor under #pragma pack: the field
//     then lies inside the naturally aligned unit of its type, and loading `size` bytes
//     at `offset` (what cffi does) also works.
//  2. Otherwise offset = the byte holding the field's first bit (bitshift < 8).
//     bitshift + bitsize may then exceed 8 * size (e.g. a packed 64-bit field starting
//     at bit 3 spans 9 bytes): loading `size` bytes is not enough, load n as above.
// In packed and #pragma pack records `offset + size` may also pass the end of the record
// (packed `struct { char c; int x:8; }` has size 2): only the n bytes are safe to touch.
// A bitfield in a union has offset 0 and bitshift 0. `T :0` gets the byte offset it
// aligned to, bitshift 0, bitsize 0.
struct LayoutMemberResult {
    uint64_t offset = 0;  // byte offset of the member; bitfields: see above
    int bitshift = -1;    // bitfields: see above; -1 otherwise
    int bitsize = -1;     // bitfields: width; -1 otherwise
};

struct LayoutResult {
    uint64_t size = 0;
    uint32_t align = 1;
    std::vector<LayoutMemberResult> members;  // one per input member, same order
};

// Throws parse::CDefError for impossible input (bitfield wider than its type, negative
// width, a named zero-width bitfield, flexible array not last or in a union, a record
// larger than the address space). The message names the record and the member.
LayoutResult layout_record(const LayoutInput& input);

}  // namespace cffix::types
