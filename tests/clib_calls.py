"""tests/clib/calls.c: its declarations (CDEF) and what the tests of calls compute their
expected values with (limits from the type widths, floats rounded as C does).

The test files of calls say `from clib_calls import CDEF`: the conftest fixtures `ffi`
(with the file's CDEF), `lib` (calls.c loaded by it) and `lib_keeping_gil` follow.
"""

import ctypes
import struct


# (C type, function suffix in calls.c)

# (C type, function suffix in calls.c)
PRIMITIVES = [
    ("char", "char"), ("signed char", "schar"), ("unsigned char", "uchar"),
    ("short", "short"), ("unsigned short", "ushort"), ("int", "int"),
    ("unsigned int", "uint"), ("long", "long"), ("unsigned long", "ulong"),
    ("long long", "llong"), ("unsigned long long", "ullong"),
    ("int8_t", "int8"), ("uint8_t", "uint8"), ("int16_t", "int16"), ("uint16_t", "uint16"),
    ("int32_t", "int32"), ("uint32_t", "uint32"), ("int64_t", "int64"),
    ("uint64_t", "uint64"), ("size_t", "size"), ("intptr_t", "intptr"),
    ("uintptr_t", "uintptr"), ("ptrdiff_t", "ptrdiff"), ("_Bool", "bool"),
    ("wchar_t", "wchar"), ("char16_t", "char16"), ("char32_t", "char32"),
    ("float", "float"), ("double", "double"), ("long double", "ldouble"),
]


CDEF = "".join(
    f"{t} id_{n}({t}); {t} min_{n}(void); {t} max_{n}(void); "
    f"int is_min_{n}({t}); int is_max_{n}({t});\n" for t, n in PRIMITIVES) + r"""
unsigned char low_byte(unsigned long x);
signed char low_byte_signed(unsigned long x);
unsigned short low_half(unsigned long x);
int low_int(unsigned long x);
_Bool is_nonzero(unsigned long x);
long long narrow_mix(signed char a, unsigned char b, short c, unsigned short d, int e,
                     unsigned int f);
long double ldouble_third(void);
int ldouble_is_third(long double x);
long double ldouble_mul(long double a, long double b);
double ldouble_to_double(long double x);
int first_register(int x);
float float_half(float x);
float float_sum(float a, float b);
double float_widen(float x);
float float_narrow(double x);
int double_bits_equal(double x, unsigned long long bits);
enum color { RED, GREEN = 5, BLUE = -1, HUGE_COLOR = 0x7fffffff };
enum color next_color(enum color c);
int color_value(enum color c);

int add(int a, int b);
void noop(void);
double add_double(double a, double b);
double weighted_double(double a, double b);
unsigned long sum_bytes(const char *buf, size_t n);

int *numbers(void);
const char *greeting(void);
void *null_pointer(void);
int is_null(const void *p);
int *ptr_id(int *p);
int *ptr_advance(int *p, ptrdiff_t n);
ptrdiff_t ptr_distance(const char *a, const char *b);
uintptr_t address_of(const void *p);
size_t my_strlen(const char *s);
int count_char(const char *s, char c);
long sum_ints(const int *a, size_t n);
double sum_doubles(const double *a, int n);
size_t wide_length(const wchar_t *s);
void set_int(int *out, int v);
int divide(int a, int b, int *quotient, int *remainder);
void fill_ints(int *a, int n, int start);
void set_string(const char **out);
void double_in_place(double *a, int n);
void copy_upper(char *dst, const char *src);
long sum5arrays(const int *a, const int *b, const int *c, const int *d, const int *e, int n);
int char_is_signed(void);

struct ii { int a, b; };
struct dd { double x, y; };
struct ff3 { float x, y, z; };
struct mixed { char c; double d; int i; };
struct big { long a[8]; };
struct nested { struct ii p; struct dd q; char tag; };
struct tiny { char a, b, c; };
struct huge { long a[80]; };
struct ii make_ii(int a, int b);
int ii_weighted(struct ii s);
struct ii ii_swap(struct ii s);
int ii_pointer_weighted(const struct ii *s);
struct dd make_dd(double x, double y);
double dd_weighted(struct dd s);
struct dd dd_scale(struct dd s, double k);
struct ff3 make_ff3(float x, float y, float z);
double ff3_weighted(struct ff3 s);
struct mixed make_mixed(char c, double d, int i);
double mixed_weighted(struct mixed m);
struct big make_big(long start);
long big_weighted(struct big b);
long big_scribble(struct big b);
struct ldtag { long double x; int tag; };
struct ldtag make_ldtag(int tag);
struct nested make_nested(int a, int b, double x, double y, char tag);
double nested_weighted(struct nested n);
struct tiny make_tiny(char a, char b, char c);
int tiny_weighted(struct tiny t);
struct huge make_huge(long start);
long huge_weighted(struct huge h);
long huge_scribble(struct huge h);
double struct_among(int k, struct dd s, double w, struct ii t, int m);

double mix6(int a, double b, long c, float d, unsigned char e, double f);
long long sum10(int a, long b, short c, unsigned d, long long e, signed char f, int g, long h,
                unsigned short i, long long j);
double mixed10(int a, double b, int c, double d, int e, double f, int g, double h, int i,
               long j);
double sum9d(double a, double b, double c, double d, double e, double f, double g, double h,
             double i);
double full_registers(long a, long b, long c, long d, long e, long f, double g, double h,
                      double i, double j, double k, double l, double m, double n);
double float_double_mix(float a, double b, float c, double d, float e);

int sum_va(int n, ...);
long long sum_ll_va(int n, ...);
double sum_double_va(int n, ...);
int format_into(char *buf, size_t size, const char *fmt, ...);

int set_errno(int e);
int get_errno(void);
int sleep_ms(int ms);
long counter_change_during(long *counter, int ms);
long wait_for_change(long *counter, int timeout_ms);

typedef int (*binop)(int, int);
int apply(binop f, int a, int b);
int apply_or(binop f, int a, int b, int fallback);
int fold(binop f, const int *xs, int n, int start);
binop get_binop(char which);
struct ops { const char *name; binop op; double (*dop)(double, double); };
void get_ops(struct ops *out);
"""


def f32(x):
    """x rounded to a C float, as a Python float."""
    return struct.unpack("f", struct.pack("f", x))[0]


FLT_MAX = struct.unpack("f", b"\xff\xff\x7f\x7f")[0]


SIZEOF = {"char": 1, "short": ctypes.sizeof(ctypes.c_short), "int": ctypes.sizeof(ctypes.c_int),
          "long": ctypes.sizeof(ctypes.c_long), "long long": ctypes.sizeof(ctypes.c_longlong),
          "size_t": ctypes.sizeof(ctypes.c_size_t), "pointer": ctypes.sizeof(ctypes.c_void_p)}


# (suffix, bits, signed) of the integer types whose values are Python ints.
INTEGERS = [
    ("schar", 8, True), ("uchar", 8, False),
    ("short", 8 * SIZEOF["short"], True), ("ushort", 8 * SIZEOF["short"], False),
    ("int", 8 * SIZEOF["int"], True), ("uint", 8 * SIZEOF["int"], False),
    ("long", 8 * SIZEOF["long"], True), ("ulong", 8 * SIZEOF["long"], False),
    ("llong", 8 * SIZEOF["long long"], True), ("ullong", 8 * SIZEOF["long long"], False),
    ("int8", 8, True), ("uint8", 8, False), ("int16", 16, True), ("uint16", 16, False),
    ("int32", 32, True), ("uint32", 32, False), ("int64", 64, True), ("uint64", 64, False),
    ("size", 8 * SIZEOF["size_t"], False), ("intptr", 8 * SIZEOF["pointer"], True),
    ("uintptr", 8 * SIZEOF["pointer"], False), ("ptrdiff", 8 * SIZEOF["pointer"], True),
]


def limits(bits, signed):
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
