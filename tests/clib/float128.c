/* _Float128 functions for tests/test_float128.py: ABI mode must refuse to pass one by
   value (it travels in an SSE register, which no libffi type describes). */
_Float128 f128_twice(_Float128 x) { return 2 * x; }
double f128_to_double(const _Float128 *p) { return (double)*p; }
void f128_third(_Float128 *out) { *out = (_Float128)1 / 3; }
