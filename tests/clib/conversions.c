/* Identity functions, and functions that pass a value through a callback, for every
 * conversion kind: tests/test_call_conversions.py sends the same Python values through
 * ffi.new, calls (thunk and libffi), function pointers and callbacks and compares. */
#include <stdbool.h>
#include <stdint.h>
#include <uchar.h>
#include <wchar.h>

struct pair { int a; double b; };
struct big { long v[5]; };

#define THROUGH(T, N)                                       \
    T id_##N(T x) { return x; }                             \
    T via_cb_##N(T (*cb)(T), T x) { return cb(x); }

THROUGH(int8_t, i8)
THROUGH(uint8_t, u8)
THROUGH(int16_t, i16)
THROUGH(uint16_t, u16)
THROUGH(int32_t, i32)
THROUGH(uint32_t, u32)
THROUGH(int64_t, i64)
THROUGH(uint64_t, u64)
THROUGH(bool, bool)
THROUGH(char, char)
THROUGH(float, f)
THROUGH(double, d)
THROUGH(wchar_t, wchar)
THROUGH(char16_t, c16)
THROUGH(char32_t, c32)
THROUGH(struct pair, pair)
THROUGH(struct big, big)
