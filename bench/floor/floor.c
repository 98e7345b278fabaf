/* The floor of bench/bench_calls.py: a hand-written CPython extension whose METH_FASTCALL
 * functions call the same C functions (tests/clib/calls.c, linked as libcalls.so) with
 * the least work a correct binding can do: check the argument count, convert each
 * argument with a range check, call, convert the result.
 *
 * Every function exists twice: `name` keeps the GIL during the C call, `name_release`
 * releases it around the call (as cffi, ctypes and cffix do by default), so that each FFI
 * can be compared with the floor under its own GIL policy.
 *
 * Built by bench_calls.py at run time: cc -shared -fPIC -O2 with the interpreter's
 * include directory, linked with -lcalls. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <string.h>

struct dd {
    double x, y;
};

/* From libcalls.so (tests/clib/calls.c). */
int add(int a, int b);
void noop(void);
double add_double(double a, double b);
unsigned long sum_bytes(const char *buf, size_t n);
double dd_weighted(struct dd s);
double mix6(int a, double b, long c, float d, unsigned char e, double f);
int format_into(char *buf, size_t size, const char *fmt, ...);
void sort_ints(int *base, size_t n, int (*compar)(const int *, const int *));

#define RUN(release, statement)          \
    do {                                 \
        if (release) {                   \
            Py_BEGIN_ALLOW_THREADS       \
            statement;                   \
            Py_END_ALLOW_THREADS         \
        } else {                         \
            statement;                   \
        }                                \
    } while (0)

static int check_count(Py_ssize_t nargs, Py_ssize_t expected) {
    if (nargs == expected) return 0;
    PyErr_Format(PyExc_TypeError, "expected %zd arguments, got %zd", expected, nargs);
    return -1;
}

static int to_int(PyObject *o, int *out) {
    long v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred()) return -1;
    if (v < INT_MIN || v > INT_MAX) {
        PyErr_SetString(PyExc_OverflowError, "integer out of range for 'int'");
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int to_double(PyObject *o, double *out) {
    double v = PyFloat_AsDouble(o);
    if (v == -1.0 && PyErr_Occurred()) return -1;
    *out = v;
    return 0;
}

static inline PyObject *f_add(PyObject *const *args, Py_ssize_t nargs, int release) {
    int a, b, r;
    if (check_count(nargs, 2) || to_int(args[0], &a) || to_int(args[1], &b)) return NULL;
    RUN(release, r = add(a, b));
    return PyLong_FromLong(r);
}

static inline PyObject *f_noop(PyObject *const *args, Py_ssize_t nargs, int release) {
    (void)args;
    if (check_count(nargs, 0)) return NULL;
    RUN(release, noop());
    Py_RETURN_NONE;
}

static inline PyObject *f_add_double(PyObject *const *args, Py_ssize_t nargs, int release) {
    double a, b, r;
    if (check_count(nargs, 2) || to_double(args[0], &a) || to_double(args[1], &b)) return NULL;
    RUN(release, r = add_double(a, b));
    return PyFloat_FromDouble(r);
}

static inline PyObject *f_sum_bytes(PyObject *const *args, Py_ssize_t nargs, int release) {
    if (check_count(nargs, 2)) return NULL;
    if (!PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "expected bytes");
        return NULL;
    }
    size_t n = PyLong_AsSize_t(args[1]);
    if (n == (size_t)-1 && PyErr_Occurred()) return NULL;
    const char *p = PyBytes_AS_STRING(args[0]);
    unsigned long r;
    RUN(release, r = sum_bytes(p, n));
    return PyLong_FromUnsignedLong(r);
}

/* The struct travels as a bytes object of its size: the floor of "copy a C struct held
 * by a Python object into the call". */
static inline PyObject *f_dd_weighted(PyObject *const *args, Py_ssize_t nargs, int release) {
    if (check_count(nargs, 1)) return NULL;
    if (!PyBytes_Check(args[0]) || PyBytes_GET_SIZE(args[0]) != sizeof(struct dd)) {
        PyErr_SetString(PyExc_TypeError, "expected bytes of sizeof(struct dd)");
        return NULL;
    }
    struct dd s;
    memcpy(&s, PyBytes_AS_STRING(args[0]), sizeof s);
    double r;
    RUN(release, r = dd_weighted(s));
    return PyFloat_FromDouble(r);
}

static inline PyObject *f_mix6(PyObject *const *args, Py_ssize_t nargs, int release) {
    int a;
    double b, d, f, r;
    if (check_count(nargs, 6) || to_int(args[0], &a) || to_double(args[1], &b)) return NULL;
    long c = PyLong_AsLong(args[2]);
    if (c == -1 && PyErr_Occurred()) return NULL;
    if (to_double(args[3], &d)) return NULL;
    long e = PyLong_AsLong(args[4]);
    if (e == -1 && PyErr_Occurred()) return NULL;
    if (e < 0 || e > UCHAR_MAX) {
        PyErr_SetString(PyExc_OverflowError, "integer out of range for 'unsigned char'");
        return NULL;
    }
    if (to_double(args[5], &f)) return NULL;
    RUN(release, r = mix6(a, b, c, (float)d, (unsigned char)e, f));
    return PyFloat_FromDouble(r);
}

/* format_into(bytearray, size, bytes format, int): one int in the variadic part. */
static inline PyObject *f_format_into(PyObject *const *args, Py_ssize_t nargs, int release) {
    if (check_count(nargs, 4)) return NULL;
    if (!PyByteArray_Check(args[0]) || !PyBytes_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "expected (bytearray, int, bytes, int)");
        return NULL;
    }
    size_t size = PyLong_AsSize_t(args[1]);
    if (size == (size_t)-1 && PyErr_Occurred()) return NULL;
    if (size > (size_t)PyByteArray_GET_SIZE(args[0])) {
        PyErr_SetString(PyExc_ValueError, "size larger than the buffer");
        return NULL;
    }
    int v, r;
    if (to_int(args[3], &v)) return NULL;
    char *buf = PyByteArray_AS_STRING(args[0]);
    const char *fmt = PyBytes_AS_STRING(args[2]);
    RUN(release, r = format_into(buf, size, fmt, v));
    return PyLong_FromLong(r);
}

/* sort_ints(array('i') or other writable buffer of C ints, callable(a, b) -> int). The
 * comparator calls the Python callable with the two ints; when the GIL was released for
 * the sort it takes the GIL for each comparison, as a callback from C must. */
static PyObject *compare_callable;
static int compare_release;

static int compare(const int *a, const int *b) {
    PyGILState_STATE state = 0;
    if (compare_release) state = PyGILState_Ensure();
    int result = 0;
    PyObject *pa = PyLong_FromLong(*a), *pb = PyLong_FromLong(*b);
    if (pa && pb) {
        PyObject *argv[2] = {pa, pb};
        PyObject *r = PyObject_Vectorcall(compare_callable, argv, 2, NULL);
        if (r) {
            long v = PyLong_AsLong(r);
            result = v < 0 ? -1 : v > 0;
            Py_DECREF(r);
        }
    }
    Py_XDECREF(pa);
    Py_XDECREF(pb);
    if (PyErr_Occurred()) PyErr_WriteUnraisable(compare_callable);
    if (compare_release) PyGILState_Release(state);
    return result;
}

static inline PyObject *f_sort_ints(PyObject *const *args, Py_ssize_t nargs, int release) {
    if (check_count(nargs, 2)) return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_WRITABLE) < 0) return NULL;
    PyObject *previous = compare_callable;
    int previous_release = compare_release;
    compare_callable = args[1];
    compare_release = release;
    int *base = (int *)view.buf;
    size_t n = (size_t)view.len / sizeof(int);
    RUN(release, sort_ints(base, n, compare));
    compare_callable = previous;
    compare_release = previous_release;
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

#define WRAP(name)                                                                      \
    static PyObject *py_##name(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {   \
        (void)self;                                                                     \
        return f_##name(args, nargs, 0);                                                \
    }                                                                                   \
    static PyObject *py_##name##_release(PyObject *self, PyObject *const *args,          \
                                         Py_ssize_t nargs) {                            \
        (void)self;                                                                     \
        return f_##name(args, nargs, 1);                                                \
    }

WRAP(add)
WRAP(noop)
WRAP(add_double)
WRAP(sum_bytes)
WRAP(dd_weighted)
WRAP(mix6)
WRAP(format_into)
WRAP(sort_ints)

#define ENTRY(name)                                                        \
    {#name, (PyCFunction)(void (*)(void))py_##name, METH_FASTCALL, NULL},   \
    {#name "_release", (PyCFunction)(void (*)(void))py_##name##_release, METH_FASTCALL, NULL}

static PyMethodDef methods[] = {
    ENTRY(add),       ENTRY(noop), ENTRY(add_double),  ENTRY(sum_bytes),
    ENTRY(dd_weighted), ENTRY(mix6), ENTRY(format_into), ENTRY(sort_ints),
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "floor", NULL, -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit_floor(void) { return PyModule_Create(&module); }
