/* Globals and functions for tests/test_dlopen.py: built by the test as a shared library
 * (cc -shared -fPIC) and loaded with ffi.dlopen. */
#include <stddef.h>

struct point {
    int x, y;
};

int counter = 42;
int numbers[5] = {1, 2, 3, 4, 5};
int open_numbers[3] = {10, 20, 30}; /* declared `int open_numbers[];` in the cdef */
struct point origin = {3, 4};
const int answer = 42;
const char *greeting = "hello";
double ratio = 0.5;
int (*callback_ptr)(int) = NULL;

int add(int a, int b) { return a + b; }

int get_counter(void) { return counter; }

void bump_counter(void) { ++counter; }

int sum_numbers(void) {
    int s = 0;
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; ++i) s += numbers[i];
    return s;
}

int point_sum(const struct point *p) { return p->x + p->y; }

/* Reached through an asm label in the cdef: `int twice(int) __asm__("real_twice");` */
int real_twice(int x) { return 2 * x; }

int negate(int x) { return -x; }

int call_callback(int x) { return callback_ptr ? callback_ptr(x) : -1; }
