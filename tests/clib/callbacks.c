/* C functions that take a function pointer and call it: the C side of
 * tests/test_callbacks.py. Built as a shared library by the test. */
#include <complex.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct { int a; double b; } pair_t;
typedef struct { long v[5]; } big_t;  /* passed in memory, not in registers */
typedef struct { float x, y; } vec2_t; /* two floats in one SSE register */
typedef enum { RED, GREEN = 5, BLUE = -1 } color_t;
typedef struct { pair_t p; char tag; short s[3]; } nested_t;

int call_int2(int (*f)(int, int), int a, int b) { return f(a, b); }
double call_double2(double (*f)(double, double), double a, double b) { return f(a, b); }
long long call_mixed(long long (*f)(char, short, int, long long, float, double), int k) {
    return f((char)k, (short)(k * 2), k * 3, (long long)k << 40, k / 2.0f, k / 4.0);
}
unsigned long long call_unsigned(unsigned long long (*f)(unsigned char, unsigned short,
                                                          unsigned int, unsigned long long)) {
    return f(255, 65535, 4294967295u, 18446744073709551615ull);
}

/* Narrow results: returned widened to int so the test sees what C received. */
int call_char_result(char (*f)(int), int x) { return f(x); }
int call_schar_result(signed char (*f)(int), int x) { return f(x); }
int call_uchar_result(unsigned char (*f)(int), int x) { return f(x); }
int call_short_result(short (*f)(int), int x) { return f(x); }
int call_ushort_result(unsigned short (*f)(int), int x) { return f(x); }
int call_bool_result(_Bool (*f)(int), int x) { return f(x); }
double call_float_result(float (*f)(float), float x) { return f(x); }
int call_enum_result(color_t (*f)(int), int x) { return (int)f(x); }
double call_long_double(long double (*f)(long double), double x) { return (double)f(x); }
double call_complex(double complex (*f)(double complex), double re, double im) {
    double complex r = f(re + im * I);
    return creal(r) * 1000.0 + cimag(r);
}

double call_struct_arg(double (*f)(pair_t), int a, double b) {
    pair_t p = {a, b};
    double r = f(p);
    p.a = -1; /* the callee had its own copy */
    p.b = -1.0;
    return r;
}
double call_struct_result(pair_t (*f)(int), int x) {
    pair_t p = f(x);
    return p.a + p.b;
}
long call_big_arg(long (*f)(big_t), long base) {
    big_t b;
    for (int i = 0; i < 5; i++) b.v[i] = base + i;
    return f(b);
}
long call_big_result(big_t (*f)(long), long base) {
    big_t b = f(base);
    long sum = 0;
    for (int i = 0; i < 5; i++) sum += b.v[i] * (i + 1);
    return sum;
}
double call_nested(double (*f)(nested_t), int a) {
    nested_t n = {{a, a / 2.0}, 'x', {1, 2, 3}};
    return f(n);
}
double call_vec2(vec2_t (*f)(vec2_t), float x, float y) {
    vec2_t v = {x, y};
    vec2_t r = f(v);
    return r.x * 1000.0 + r.y;
}

/* The callback fills `out[0..n)`; C returns the sum. */
long call_pointer(void (*f)(int*, int), int n) {
    int* out = calloc((size_t)n, sizeof(int));
    f(out, n);
    long sum = 0;
    for (int i = 0; i < n; i++) sum += out[i];
    free(out);
    return sum;
}
/* The callback returns a pointer into the buffer it got; C returns the offset. */
long call_pointer_result(char* (*f)(char*)) {
    static char buffer[16];
    return (long)(f(buffer) - buffer);
}

static int twice(int x) { return 2 * x; }
void* twice_address(void) { return (void*)twice; }
int call_with_function(int (*f)(int (*)(int), int), int x) { return f(twice, x); }

void call_void(void (*f)(int), int x) { f(x); }

/* errno: set before the call, read after it. Returns errno after the call. */
int call_errno(int (*f)(void), int before, int* result) {
    errno = before;
    *result = f();
    return errno;
}

/* Calls from threads that Python never saw. */
struct thread_job {
    int (*f)(int);
    int start, count;
    long sum;
};
static void* thread_main(void* arg) {
    struct thread_job* job = arg;
    for (int i = 0; i < job->count; i++) job->sum += job->f(job->start + i);
    return NULL;
}
long call_in_threads(int (*f)(int), int nthreads, int count) {
    pthread_t threads[64];
    struct thread_job jobs[64];
    if (nthreads > 64) nthreads = 64;
    for (int t = 0; t < nthreads; t++) {
        jobs[t] = (struct thread_job){f, t * count, count, 0};
        if (pthread_create(&threads[t], NULL, thread_main, &jobs[t]) != 0) return -1;
    }
    long sum = 0;
    for (int t = 0; t < nthreads; t++) {
        pthread_join(threads[t], NULL);
        sum += jobs[t].sum;
    }
    return sum;
}

long call_many(int (*f)(int), int n) {
    long sum = 0;
    for (int i = 0; i < n; i++) sum += f(i);
    return sum;
}
