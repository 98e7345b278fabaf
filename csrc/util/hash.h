// A fast hash for the short strings that cdef looks up by the thousand (declared names,
// tags, the binary intern keys of derived types): reads 8 bytes at a time (fixed-size
// memcpy loads, one instruction each), with overlapping reads for the tail instead of a
// byte loop, and mixes with multiplications. Not for hostile input: collisions cost time,
// never correctness (the maps compare the keys).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace cffix {

namespace hash_detail {

inline uint64_t load64(const char* p) {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline uint64_t load32(const char* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 32);
}

}  // namespace hash_detail

inline uint64_t hash_string(std::string_view s) {
    using namespace hash_detail;
    const char* p = s.data();
    size_t n = s.size();
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xc4ceb9fe1a85ec53ull);
    if (n >= 8) {
        const char* last = p + n - 8;
        for (; p < last; p += 8) h = mix(h, load64(p));
        h = mix(h, load64(last));  // the last 8 bytes, overlapping what was read
    } else if (n >= 4) {
        h = mix(h, load32(p) | (load32(p + n - 4) << 32));
    } else if (n > 0) {
        auto byte = [&](size_t i) {
            return static_cast<uint64_t>(static_cast<unsigned char>(p[i]));
        };
        h = mix(h, byte(0) | (byte(n / 2) << 8) | (byte(n - 1) << 16));
    }
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

// For unordered containers keyed by std::string or std::string_view, with lookups by
// std::string_view (is_transparent) that build no std::string.
struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return static_cast<size_t>(hash_string(s)); }
};

}  // namespace cffix
