// The primitive C types: every name cffi knows (keyword types in their canonical
// spelling, the <stdint.h> family, size_t & co., the character types), with size,
// alignment and class taken from this compiler, so they match the platform's C.
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uchar.h>
#include <wchar.h>

#include <climits>
#include <complex>
#include <iterator>
#include <type_traits>

#include "types/ctype.h"
#include "util/float128.h"
#include "util/hash.h"

namespace cffix::types {

namespace {

struct PrimitiveInfo {
    const char* name;
    int64_t size;
    uint32_t align;
    uint16_t flags;
};

template <typename T>
constexpr PrimitiveInfo integer(const char* name) {
    return {name, sizeof(T), alignof(T),
            static_cast<uint16_t>(std::is_signed_v<T> ? PF_SIGNED : PF_UNSIGNED)};
}

template <typename T>
constexpr PrimitiveInfo with_flags(const char* name, uint16_t flags) {
    return {name, sizeof(T), alignof(T), flags};
}

const PrimitiveInfo kPrimitives[] = {
    with_flags<char>("char", PF_CHAR),
    integer<signed char>("signed char"),
    integer<unsigned char>("unsigned char"),
    integer<short>("short"),
    integer<unsigned short>("unsigned short"),
    integer<int>("int"),
    integer<unsigned int>("unsigned int"),
    integer<long>("long"),
    integer<unsigned long>("unsigned long"),
    integer<long long>("long long"),
    integer<unsigned long long>("unsigned long long"),
    with_flags<float>("float", PF_FLOAT),
    with_flags<double>("double", PF_FLOAT),
    with_flags<long double>("long double", PF_LONGDOUBLE),
#if CFFIX_DISTINCT_FLOAT128
    with_flags<Float128>("_Float128", PF_FLOAT128),
#endif
    with_flags<bool>("_Bool", PF_BOOL),
    // std::complex<T> has the layout of C's T _Complex.
    with_flags<std::complex<float>>("float _Complex", PF_COMPLEX),
    with_flags<std::complex<double>>("double _Complex", PF_COMPLEX),
    with_flags<wchar_t>("wchar_t",
                        PF_WCHAR | (std::is_signed_v<wchar_t> ? PF_SIGNED : PF_UNSIGNED)),
    with_flags<char16_t>("char16_t", PF_WCHAR | PF_UNSIGNED),
    with_flags<char32_t>("char32_t", PF_WCHAR | PF_UNSIGNED),
    integer<int8_t>("int8_t"),
    integer<uint8_t>("uint8_t"),
    integer<int16_t>("int16_t"),
    integer<uint16_t>("uint16_t"),
    integer<int32_t>("int32_t"),
    integer<uint32_t>("uint32_t"),
    integer<int64_t>("int64_t"),
    integer<uint64_t>("uint64_t"),
    integer<int_least8_t>("int_least8_t"),
    integer<uint_least8_t>("uint_least8_t"),
    integer<int_least16_t>("int_least16_t"),
    integer<uint_least16_t>("uint_least16_t"),
    integer<int_least32_t>("int_least32_t"),
    integer<uint_least32_t>("uint_least32_t"),
    integer<int_least64_t>("int_least64_t"),
    integer<uint_least64_t>("uint_least64_t"),
    integer<int_fast8_t>("int_fast8_t"),
    integer<uint_fast8_t>("uint_fast8_t"),
    integer<int_fast16_t>("int_fast16_t"),
    integer<uint_fast16_t>("uint_fast16_t"),
    integer<int_fast32_t>("int_fast32_t"),
    integer<uint_fast32_t>("uint_fast32_t"),
    integer<int_fast64_t>("int_fast64_t"),
    integer<uint_fast64_t>("uint_fast64_t"),
    integer<intptr_t>("intptr_t"),
    integer<uintptr_t>("uintptr_t"),
    integer<intmax_t>("intmax_t"),
    integer<uintmax_t>("uintmax_t"),
    integer<ptrdiff_t>("ptrdiff_t"),
    integer<size_t>("size_t"),
    integer<ssize_t>("ssize_t"),
};

// Name -> primitive, open addressing over a fixed array: resolving a declaration looks
// up a primitive for nearly every member and parameter.
class PrimitiveIndex {
public:
    PrimitiveIndex() {
        for (const auto& info : kPrimitives) add(info.name, &info);
        add("bool", find("_Bool"));  // <stdbool.h>'s name, as in cffi
    }
    const PrimitiveInfo* find(std::string_view name) const {
        for (size_t h = hash_string(name) & kMask;; h = (h + 1) & kMask) {
            const Slot& slot = slots_[h];
            if (!slot.info) return nullptr;
            if (slot.name == name) return slot.info;
        }
    }

private:
    struct Slot {
        std::string_view name;
        const PrimitiveInfo* info = nullptr;
    };
    static constexpr size_t kSlots = 256;
    static constexpr size_t kMask = kSlots - 1;
    static_assert(std::size(kPrimitives) < kSlots / 2);
    void add(std::string_view name, const PrimitiveInfo* info) {
        size_t h = hash_string(name) & kMask;
        while (slots_[h].info) h = (h + 1) & kMask;
        slots_[h] = {name, info};
    }
    Slot slots_[kSlots];
};

const PrimitiveIndex& primitive_index() {
    static const auto* index = new PrimitiveIndex();
    return *index;
}

}  // namespace

CType* primitive_type(std::string_view name) {
    const PrimitiveInfo* info = primitive_index().find(name);
    if (!info) return nullptr;
    // Primitives live as long as the process (as in cffi): made once, then one array hit.
    static CType* made[std::size(kPrimitives)] = {};
    size_t slot = static_cast<size_t>(info - kPrimitives);
    if (!made[slot]) {
        const PrimitiveInfo& p = *info;
        made[slot] = make_primitive(p.name, p.size, p.align, p.flags);
    }
    Py_INCREF(made[slot]);
    return made[slot];
}

bool is_primitive_name(std::string_view name) { return primitive_index().find(name) != nullptr; }

}  // namespace cffix::types
