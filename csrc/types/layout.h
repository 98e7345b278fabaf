// Struct and union layout, exactly as the platform C compiler (gcc/clang on the
// System V x86-64 and AArch64 ABIs) computes it: member offsets, bitfield placement,
// zero-width bitfields, packed / #pragma pack(N), aligned(N), flexible array members.
//
// Pure computation over sizes and alignments: no CType, no Python. types/ feeds it the
// facts of each member and stores the result on the struct's CType.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cffix::types {

struct LayoutMember {
    uint64_t size = 0;    // sizeof the member's type (0 for a flexible array member)
    uint32_t align = 1;   // alignof the member's type (the element's for arrays)
    int bitsize = -1;     // -1: not a bitfield; 0: a zero-width bitfield
    bool is_signed = false;   // for bitfields: whether the integer type is signed
    uint32_t aligned = 0;     // __attribute__((aligned(N))) on the member (0 = none)
    bool packed = false;      // __attribute__((packed)) on the member
    bool flexible = false;    // a flexible array member `T name[]` (must be last)
    std::string name;         // for error messages only ("" if unnamed)
};

struct LayoutInput {
    bool is_union = false;
    std::vector<LayoutMember> members;
    bool packed = false;   // __attribute__((packed)) on the record, or cdef(packed=True)
    uint32_t pack = 0;     // #pragma pack(N) semantics, cdef(pack=N); 0 = none
    uint32_t aligned = 0;  // __attribute__((aligned(N))) on the record (0 = none)
};

struct LayoutMemberResult {
    uint64_t offset = 0;  // byte offset of the member (of its storage unit for bitfields)
    int bitshift = -1;    // bitfields: bit position inside the storage unit at `offset`
                          // (little-endian numbering); -1 otherwise
    int bitsize = -1;     // bitfields: width; -1 otherwise
};

struct LayoutResult {
    uint64_t size = 0;
    uint32_t align = 1;
    std::vector<LayoutMemberResult> members;  // one per input member, same order
};

// Throws parse::CDefError for impossible input (bitfield wider than its type, negative
// width, flexible array not last, ...). The message names the member.
LayoutResult layout_record(const LayoutInput& input);

}  // namespace cffix::types
