/* Functions for the tests of calls (tests/test_call_*.py, test_variadic_calls.py,
 * test_function_pointers.py, test_gil.py, test_errno.py; declared in tests/clib_calls.py)
 * and bench/bench_calls.py: built as a shared library (cc -shared -fPIC -O2) and loaded
 * with ffi.dlopen.
 *
 * Every primitive type travels as an argument and as a result (identity functions, plus
 * `is_max_T`/`is_min_T` that check an argument without returning it and `max_T`/`min_T`
 * that return a limit without taking it), so a wrong width, sign extension or register is
 * caught in both directions. Multi-argument functions weigh their arguments by position,
 * so swapped arguments change the result. */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uchar.h>
#include <wchar.h>

/* ------------------------------------------------------------ primitives */

#define PRIMITIVE(T, name, MIN, MAX)                          \
    T id_##name(T x) { return x; }                            \
    T min_##name(void) { return MIN; }                        \
    T max_##name(void) { return MAX; }                        \
    int is_min_##name(T x) { return x == (T)(MIN); }          \
    int is_max_##name(T x) { return x == (T)(MAX); }

PRIMITIVE(char, char, CHAR_MIN, CHAR_MAX)
PRIMITIVE(signed char, schar, SCHAR_MIN, SCHAR_MAX)
PRIMITIVE(unsigned char, uchar, 0, UCHAR_MAX)
PRIMITIVE(short, short, SHRT_MIN, SHRT_MAX)
PRIMITIVE(unsigned short, ushort, 0, USHRT_MAX)
PRIMITIVE(int, int, INT_MIN, INT_MAX)
PRIMITIVE(unsigned int, uint, 0, UINT_MAX)
PRIMITIVE(long, long, LONG_MIN, LONG_MAX)
PRIMITIVE(unsigned long, ulong, 0, ULONG_MAX)
PRIMITIVE(long long, llong, LLONG_MIN, LLONG_MAX)
PRIMITIVE(unsigned long long, ullong, 0, ULLONG_MAX)
PRIMITIVE(int8_t, int8, INT8_MIN, INT8_MAX)
PRIMITIVE(uint8_t, uint8, 0, UINT8_MAX)
PRIMITIVE(int16_t, int16, INT16_MIN, INT16_MAX)
PRIMITIVE(uint16_t, uint16, 0, UINT16_MAX)
PRIMITIVE(int32_t, int32, INT32_MIN, INT32_MAX)
PRIMITIVE(uint32_t, uint32, 0, UINT32_MAX)
PRIMITIVE(int64_t, int64, INT64_MIN, INT64_MAX)
PRIMITIVE(uint64_t, uint64, 0, UINT64_MAX)
PRIMITIVE(size_t, size, 0, SIZE_MAX)
PRIMITIVE(intptr_t, intptr, INTPTR_MIN, INTPTR_MAX)
PRIMITIVE(uintptr_t, uintptr, 0, UINTPTR_MAX)
PRIMITIVE(ptrdiff_t, ptrdiff, PTRDIFF_MIN, PTRDIFF_MAX)
PRIMITIVE(_Bool, bool, false, true)
PRIMITIVE(wchar_t, wchar, 0, 0x10FFFF)
PRIMITIVE(char16_t, char16, 0, 0xFFFF)
PRIMITIVE(char32_t, char32, 0, 0x10FFFF)
PRIMITIVE(float, float, -FLT_MAX, FLT_MAX)
PRIMITIVE(double, double, -DBL_MAX, DBL_MAX)
PRIMITIVE(long double, ldouble, -LDBL_MAX, LDBL_MAX)

/* Results whose register holds more bits than the type: the caller must look only at
 * the type's own bits (gcc -O2 leaves the upper bits of the register as they were). */
unsigned char low_byte(unsigned long x) { return (unsigned char)x; }
signed char low_byte_signed(unsigned long x) { return (signed char)x; }
unsigned short low_half(unsigned long x) { return (unsigned short)x; }
int low_int(unsigned long x) { return (int)x; }
_Bool is_nonzero(unsigned long x) { return x != 0; }

/* Narrow arguments: each must arrive correctly extended whatever its neighbours are. */
long long narrow_mix(signed char a, unsigned char b, short c, unsigned short d, int e,
                     unsigned int f) {
    return (long long)a * 1 + (long long)b * 1000 + (long long)c * 1000000 +
           (long long)d * 100000000000LL + (long long)e + (long long)f * 3;
}

/* The whole 32-bit register its argument arrived in. Called through a pointer cast to a
 * narrow parameter type (`int(*)(char)`...), it shows whether the caller extended the
 * value to 32 bits, as the x86-64 and AArch64 ABIs as implemented by clang assume
 * (clang-compiled callees read the full register; gcc's re-extend). */
int first_register(int x) { return x; }

/* Exact values that only survive at full precision. */
long double ldouble_third(void) { return 1.0L / 3.0L; }
int ldouble_is_third(long double x) { return x == 1.0L / 3.0L; }
long double ldouble_mul(long double a, long double b) { return a * b; }
double ldouble_to_double(long double x) { return (double)x; }

float float_half(float x) { return x / 2.0f; }
float float_sum(float a, float b) { return a + b; }
double float_widen(float x) { return (double)x; }
float float_narrow(double x) { return (float)x; }
int double_bits_equal(double x, unsigned long long bits) {
    unsigned long long b;
    memcpy(&b, &x, sizeof b);
    return b == bits;
}

enum color { RED, GREEN = 5, BLUE = -1, HUGE_COLOR = 0x7fffffff };
enum color next_color(enum color c) { return c == RED ? GREEN : c == GREEN ? BLUE : RED; }
int color_value(enum color c) { return (int)c; }

/* ------------------------------------------------------------ small functions (bench) */

int add(int a, int b) { return a + b; }
void noop(void) {}
double add_double(double a, double b) { return a + b; }
double weighted_double(double a, double b) { return a + 2.0 * b; }
int sub(int a, int b) { return a - b; }
int mul(int a, int b) { return a * b; }
unsigned long sum_bytes(const char *buf, size_t n) {
    unsigned long s = 0;
    for (size_t i = 0; i < n; ++i) s += (unsigned char)buf[i];
    return s;
}

/* ------------------------------------------------------------ pointers */

static int static_numbers[4] = {10, 20, 30, 40};
static const char greeting_text[] = "hello, world";

int *numbers(void) { return static_numbers; }
const char *greeting(void) { return greeting_text; }
void *null_pointer(void) { return NULL; }
int is_null(const void *p) { return p == NULL; }
int *ptr_id(int *p) { return p; }
int *ptr_advance(int *p, ptrdiff_t n) { return p + n; }
ptrdiff_t ptr_distance(const char *a, const char *b) { return b - a; }
uintptr_t address_of(const void *p) { return (uintptr_t)p; }

size_t my_strlen(const char *s) { return strlen(s); }
int count_char(const char *s, char c) {
    int n = 0;
    for (; *s; ++s) n += *s == c;
    return n;
}
long sum_ints(const int *a, size_t n) {
    long s = 0;
    for (size_t i = 0; i < n; ++i) s += a[i];
    return s;
}
double sum_doubles(const double *a, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += a[i];
    return s;
}
size_t wide_length(const wchar_t *s) { return wcslen(s); }

/* Out-parameters. */
void set_int(int *out, int v) { *out = v; }
int divide(int a, int b, int *quotient, int *remainder) {
    if (b == 0) return -1;
    *quotient = a / b;
    *remainder = a % b;
    return 0;
}
void fill_ints(int *a, int n, int start) {
    for (int i = 0; i < n; ++i) a[i] = start + i;
}
void set_string(const char **out) { *out = greeting_text; }
void double_in_place(double *a, int n) {
    for (int i = 0; i < n; ++i) a[i] *= 2;
}
void copy_upper(char *dst, const char *src) {
    for (; *src; ++src, ++dst) *dst = (*src >= 'a' && *src <= 'z') ? *src - 32 : *src;
    *dst = 0;
}

/* Five pointer arguments: five temporary arrays when called with lists. */
long sum5arrays(const int *a, const int *b, const int *c, const int *d, const int *e, int n) {
    long s = 0;
    for (int i = 0; i < n; ++i) s += a[i] + 2L * b[i] + 3L * c[i] + 4L * d[i] + 5L * e[i];
    return s;
}

int char_is_signed(void) { return (char)-1 < 0; }

/* ------------------------------------------------------------ structs by value */

struct ii { int a, b; };
struct dd { double x, y; };
struct ff3 { float x, y, z; };
struct mixed { char c; double d; int i; };
struct big { long a[8]; };
struct nested { struct ii p; struct dd q; char tag; };
struct tiny { char a, b, c; };
struct huge { long a[80]; }; /* larger than the call's stack buffers */

struct ii make_ii(int a, int b) { struct ii s = {a, b}; return s; }
int ii_weighted(struct ii s) { return s.a + 10 * s.b; }
struct ii ii_swap(struct ii s) { struct ii r = {s.b, s.a}; return r; }
int ii_pointer_weighted(const struct ii *s) { return s->a + 10 * s->b; }

struct dd make_dd(double x, double y) { struct dd s = {x, y}; return s; }
double dd_weighted(struct dd s) { return s.x + 10 * s.y; }
struct dd dd_scale(struct dd s, double k) { struct dd r = {s.x * k, s.y * k}; return r; }

struct ff3 make_ff3(float x, float y, float z) { struct ff3 s = {x, y, z}; return s; }
double ff3_weighted(struct ff3 s) { return s.x + 10.0 * s.y + 100.0 * s.z; }

struct mixed make_mixed(char c, double d, int i) { struct mixed s = {c, d, i}; return s; }
double mixed_weighted(struct mixed m) { return m.c + 10 * m.d + 100.0 * m.i; }

struct big make_big(long start) {
    struct big b;
    for (int i = 0; i < 8; ++i) b.a[i] = start + i;
    return b;
}
long big_weighted(struct big b) {
    long s = 0;
    for (int i = 0; i < 8; ++i) s += b.a[i] * (i + 1);
    return s;
}

/* A callee owns its by-value struct and may write it (AArch64 passes one over 16 bytes
   by the address of a copy): these overwrite theirs, through a call that is not inlined,
   so the stores stay. */
volatile long scribble_seen;
__attribute__((noinline)) static long scribble(long *a, int n) {
    long s = 0;
    for (int i = 0; i < n; ++i) {
        s += a[i];
        a[i] = -1;
    }
    scribble_seen = a[0];
    return s;
}
long big_scribble(struct big b) { return scribble(b.a, 8); }

/* Over 16 bytes and 16-aligned (x86-64): comes back through memory, into a buffer that
   must be aligned as the struct is. */
struct ldtag { long double x; int tag; };
struct ldtag make_ldtag(int tag) {
    struct ldtag r = {tag * 0.5L, tag};
    return r;
}

struct nested make_nested(int a, int b, double x, double y, char tag) {
    struct nested n = {{a, b}, {x, y}, tag};
    return n;
}
double nested_weighted(struct nested n) {
    return n.p.a + 10.0 * n.p.b + 100.0 * n.q.x + 1000.0 * n.q.y + 10000.0 * n.tag;
}

struct tiny make_tiny(char a, char b, char c) { struct tiny t = {a, b, c}; return t; }
int tiny_weighted(struct tiny t) { return t.a + 2 * t.b + 3 * t.c; }

struct huge make_huge(long start) {
    struct huge h;
    for (int i = 0; i < 80; ++i) h.a[i] = start + i;
    return h;
}
long huge_scribble(struct huge h) { return scribble(h.a, 80); }
long huge_weighted(struct huge h) {
    long s = 0;
    for (int i = 0; i < 80; ++i) s += h.a[i] * (i + 1);
    return s;
}

/* Structs among other arguments: registers of both classes in use around them. */
double struct_among(int k, struct dd s, double w, struct ii t, int m) {
    return k + 10 * s.x + 100 * s.y + 1000 * w + 10000.0 * t.a + 100000.0 * t.b + 1e6 * m;
}

/* ------------------------------------------------------------ many arguments */

double mix6(int a, double b, long c, float d, unsigned char e, double f) {
    return a + 2.0 * b + 3.0 * c + 4.0 * d + 5.0 * e + 6.0 * f;
}

/* Ten integer arguments: four of them on the stack. */
long long sum10(int a, long b, short c, unsigned d, long long e, signed char f, int g, long h,
                unsigned short i, long long j) {
    return a + 2LL * b + 3LL * c + 4LL * d + 5LL * e + 6LL * f + 7LL * g + 8LL * h + 9LL * i +
           10LL * j;
}

/* Ten mixed arguments: more integers than registers, doubles still in registers. */
double mixed10(int a, double b, int c, double d, int e, double f, int g, double h, int i,
               long j) {
    return a + 2.0 * b + 3.0 * c + 4.0 * d + 5.0 * e + 6.0 * f + 7.0 * g + 8.0 * h + 9.0 * i +
           10.0 * j;
}

/* Nine doubles: one more than the floating-point argument registers. */
double sum9d(double a, double b, double c, double d, double e, double f, double g, double h,
             double i) {
    return a + 2.0 * b + 3.0 * c + 4.0 * d + 5.0 * e + 6.0 * f + 7.0 * g + 8.0 * h + 9.0 * i;
}

/* Exactly the registers of both classes on x86-64 (6 integer, 8 floating). */
double full_registers(long a, long b, long c, long d, long e, long f, double g, double h,
                      double i, double j, double k, double l, double m, double n) {
    return a + 2.0 * b + 3.0 * c + 4.0 * d + 5.0 * e + 6.0 * f + 7.0 * g + 8.0 * h + 9.0 * i +
           10.0 * j + 11.0 * k + 12.0 * l + 13.0 * m + 14.0 * n;
}

/* Floats mixed with doubles, interleaved. */
double float_double_mix(float a, double b, float c, double d, float e) {
    return a + 2.0 * b + 3.0 * c + 4.0 * d + 5.0 * e;
}

/* ------------------------------------------------------------ variadic */

int sum_va(int n, ...) {
    va_list ap;
    va_start(ap, n);
    int s = 0;
    for (int i = 0; i < n; ++i) s += va_arg(ap, int);
    va_end(ap);
    return s;
}

long long sum_ll_va(int n, ...) {
    va_list ap;
    va_start(ap, n);
    long long s = 0;
    for (int i = 0; i < n; ++i) s += va_arg(ap, long long) * (i + 1);
    va_end(ap);
    return s;
}

double sum_double_va(int n, ...) {
    va_list ap;
    va_start(ap, n);
    double s = 0;
    for (int i = 0; i < n; ++i) s += va_arg(ap, double) * (i + 1);
    va_end(ap);
    return s;
}

int format_into(char *buf, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

/* ------------------------------------------------------------ errno, threads */

int set_errno(int e) {
    errno = e;
    return -1;
}
int get_errno(void) { return errno; }

int sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
    return ms;
}

/* Sleeps `ms` and returns by how much *counter changed meanwhile: another thread that
 * increments it can only have done so if the caller let it run. */
long counter_change_during(volatile long *counter, int ms) {
    long start = *counter;
    sleep_ms(ms);
    return *counter - start;
}

/* Polls *counter until it changes or `timeout_ms` passes; returns the change. */
long wait_for_change(volatile long *counter, int timeout_ms) {
    long start = *counter;
    for (int waited = 0; waited < timeout_ms && *counter == start; ++waited) sleep_ms(1);
    return *counter - start;
}

/* ------------------------------------------------------------ function pointers */

typedef int (*binop)(int, int);

int apply(binop f, int a, int b) { return f(a, b); }
int apply_or(binop f, int a, int b, int fallback) { return f ? f(a, b) : fallback; }
int fold(binop f, const int *xs, int n, int start) {
    int acc = start;
    for (int i = 0; i < n; ++i) acc = f(acc, xs[i]);
    return acc;
}
binop get_binop(char which) { return which == '+' ? add : which == '-' ? sub : which == '*' ? mul : NULL; }

/* qsort with a typed comparator (the same function for every FFI being compared). */
void sort_ints(int *base, size_t n, int (*compar)(const int *, const int *)) {
    qsort(base, n, sizeof *base, (int (*)(const void *, const void *))compar);
}

struct ops {
    const char *name;
    binop op;
    double (*dop)(double, double);
};
struct ops default_ops = {"add", add, add_double};
void get_ops(struct ops *out) { *out = default_ops; }
