// _Float128 where no standard floating type has its format: x86-64, whose long double is
// the x87 extended format (AArch64's long double *is* binary128, and there the parser
// maps _Float128 to it). gcc and clang know the type as __float128 in C++: this header
// names the one fact every layer asks (parse/ declares the type, types/ sizes it, data/
// converts it) and the conversions, which libgcc's soft-float routines carry out.
#pragma once

#include <cfloat>
#include <cstring>

#if defined(__SIZEOF_FLOAT128__) && LDBL_MANT_DIG != 113
#define CFFIX_DISTINCT_FLOAT128 1
#else
#define CFFIX_DISTINCT_FLOAT128 0
#endif

namespace cffix {

// Whether `_Float128` is a type of its own here (a primitive of size 16, align 16).
inline constexpr bool kDistinctFloat128 = CFFIX_DISTINCT_FLOAT128;

#if CFFIX_DISTINCT_FLOAT128
using Float128 = __float128;
static_assert(sizeof(Float128) == 16 && alignof(Float128) == 16);

// Every long double (x87 extended) and double is exact in binary128; the way back rounds.
inline long double load_float128(const char* src) {
    Float128 v;
    memcpy(&v, src, sizeof v);
    return static_cast<long double>(v);
}
inline void store_float128(char* dst, long double v) {
    Float128 q = v;
    memcpy(dst, &q, sizeof q);
}
inline bool float128_is_zero(const char* src) {
    Float128 v;
    memcpy(&v, src, sizeof v);
    return v == 0;
}
#endif

}  // namespace cffix
