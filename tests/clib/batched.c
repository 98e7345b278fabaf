/* Functions for tests/test_batched_calls.py (f.map): integers of every width, _Bool, enums,
 * floats, pointers in and out, more arguments than the registers hold, a function with
 * side effects (to see which items were called), and one that fails on some inputs. */
#include <errno.h>
#include <stdint.h>

enum color { RED, GREEN, BLUE };
struct point {
    int x, y;
};

int scale(int x, int k) { return x * k; }
unsigned char u8_inc(unsigned char x) { return (unsigned char)(x + 1); }
short neg16(short x) { return (short)-x; }
long long mul64(long long a, long long b) { return a * b; }
uint64_t u64_xor(uint64_t a, uint64_t b) { return a ^ b; }
_Bool is_even(int x) { return x % 2 == 0; }
int from_bool(_Bool b) { return b ? 10 : 20; }
enum color next_color(enum color c) { return (enum color)((c + 1) % 3); }
float halve(float x) { return x / 2; }
double mixed(int a, double b, long c, float d) { return a + b * 10 + c * 100 + d * 1000; }
long sum6(long a, long b, long c, long d, long e, long f) {
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f;
}
/* Two words on the stack (x86-64): the thunks' stack path. */
long sum8(long a, long b, long c, long d, long e, long f, long g, long h) {
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h;
}
double sum_fp9(double a, double b, double c, double d, double e, double f, double g, double h,
               double i) {
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h + 9 * i;
}
int point_x(const struct point *p) { return p->x; }
int point_sum(const struct point *p, int k) { return (p->x + p->y) * k; }
int *int_next(int *p) { return p + 1; }
int deref(const int *p) { return *p; }

/* Side effects: the items a batch called, in order. */
static int seen[64];
static int nseen;
void record(int x) {
    if (nseen < 64) seen[nseen] = x;
    nseen++;
}
int recorded(int i) { return seen[i]; }
int recorded_count(void) { return nseen; }
void reset_record(void) { nseen = 0; }
static int counter;
int next_id(void) { return ++counter; }

/* Fails (-1 with errno EDOM) on negative input, else returns x * 2. */
int checked_double(int x) {
    if (x < 0) {
        errno = EDOM;
        return -1;
    }
    return x * 2;
}

/* Refused by map: aggregates, long double, char, variadic. */
int point_by_value(struct point p) { return p.x; }
struct point make_point(int x) {
    struct point p = {x, x};
    return p;
}
long double ld_half(long double x) { return x / 2; }
int char_code(char c) { return c; }
int sum_var(int n, ...) { return n; }

/* For error policies (ffi.wrap): records x, fails on negative input (errno EDOM) with a
 * message naming x, read through last_error() right after the call. */
#include <stdio.h>
static char message[64];
int checked_record(int x) {
    record(x);
    if (x < 0) {
        snprintf(message, sizeof message, "negative input %d", x);
        errno = EDOM;
        return -1;
    }
    snprintf(message, sizeof message, "ok %d", x);
    return x * 2;
}
const char *last_error(void) { return message; }
/* Outs: q and r of a / b; -1 with EDOM when b is 0. */
int divide(int a, int b, int *q, double *r) {
    if (b == 0) {
        errno = EDOM;
        return -1;
    }
    *q = a / b;
    *r = (double)(a % b) / b;
    return 0;
}
/* An inout: *total += x; returns the new total's parity. */
int accumulate(int x, long *total) {
    *total += x;
    return (int)(*total % 2);
}
/* EINTR on the first call of each run of interrupted_runs (reset by reset_interrupted). */
static int interrupted;
void reset_interrupted(void) { interrupted = 0; }
int interrupt_once(int x) {
    record(x);
    if (!interrupted && x == 3) {
        interrupted = 1;
        errno = EINTR;
        return -1;
    }
    return x;
}
/* Shapes map refuses in a wrapped function. */
const char *greet(int x) { return x ? "hi" : "ho"; }
