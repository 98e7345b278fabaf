/* The floor of bench/bench_batched.py: C loops that call a function through a pointer
 * once per item of contiguous arrays, the GIL released once around the loop, as f.map
 * does. The pointer is a run-time value (an address given from Python), so the compiler
 * can neither inline the function nor vectorise the loop: one indirect call per item,
 * the least work any batched call of that function can do.
 *
 *     d_d(fn, x, out)         out[i] = fn(x[i])          double(*)(double)
 *     dd_d(fn, x, y, out)     out[i] = fn(x[i], y)       double(*)(double, double), y a float
 *     di_d(fn, x, e, out)     out[i] = fn(x[i], e[i])    double(*)(double, int)
 *     ii_i(fn, a, k, out)     out[i] = fn(a[i], k)       int(*)(int, int), k an int
 *
 * fn is an int (the function's address); x, e, a and out are writable-or-readable
 * buffers of double / int items (array.array, NumPy arrays), all of the same length.
 *
 * Built by bench_batched.py at run time: cc -shared -fPIC -O2 with the interpreter's
 * include directory. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef double (*fn_d_d)(double);
typedef double (*fn_dd_d)(double, double);
typedef double (*fn_di_d)(double, int);
typedef int (*fn_ii_i)(int, int);

static void *address(PyObject *o) { return PyLong_AsVoidPtr(o); }

/* Two buffers of `n` items of `size` bytes each; 0 on success. */
static int views(PyObject *in, PyObject *out, Py_buffer *vin, Py_buffer *vout, Py_ssize_t size) {
    if (PyObject_GetBuffer(in, vin, PyBUF_SIMPLE) < 0) return -1;
    if (PyObject_GetBuffer(out, vout, PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(vin);
        return -1;
    }
    if (vin->len != vout->len || vin->len % size) {
        PyBuffer_Release(vin);
        PyBuffer_Release(vout);
        PyErr_SetString(PyExc_ValueError, "buffers of different lengths");
        return -1;
    }
    return 0;
}

static PyObject *d_d(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    Py_buffer x, out;
    if (nargs != 3) return PyErr_Format(PyExc_TypeError, "d_d(fn, x, out)");
    fn_d_d fn = (fn_d_d)address(args[0]);
    if (PyErr_Occurred() || views(args[1], args[2], &x, &out, sizeof(double))) return NULL;
    Py_ssize_t n = x.len / (Py_ssize_t)sizeof(double);
    const double *px = x.buf;
    double *po = out.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; ++i) po[i] = fn(px[i]);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&x);
    PyBuffer_Release(&out);
    Py_RETURN_NONE;
}

static PyObject *dd_d(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    Py_buffer x, out;
    if (nargs != 4) return PyErr_Format(PyExc_TypeError, "dd_d(fn, x, y, out)");
    fn_dd_d fn = (fn_dd_d)address(args[0]);
    double y = PyFloat_AsDouble(args[2]);
    if (PyErr_Occurred() || views(args[1], args[3], &x, &out, sizeof(double))) return NULL;
    Py_ssize_t n = x.len / (Py_ssize_t)sizeof(double);
    const double *px = x.buf;
    double *po = out.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; ++i) po[i] = fn(px[i], y);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&x);
    PyBuffer_Release(&out);
    Py_RETURN_NONE;
}

static PyObject *di_d(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    Py_buffer x, e, out;
    if (nargs != 4) return PyErr_Format(PyExc_TypeError, "di_d(fn, x, e, out)");
    fn_di_d fn = (fn_di_d)address(args[0]);
    if (PyErr_Occurred() || views(args[1], args[3], &x, &out, sizeof(double))) return NULL;
    if (PyObject_GetBuffer(args[2], &e, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&x);
        PyBuffer_Release(&out);
        return NULL;
    }
    Py_ssize_t n = x.len / (Py_ssize_t)sizeof(double);
    if (e.len != n * (Py_ssize_t)sizeof(int)) {
        PyBuffer_Release(&x);
        PyBuffer_Release(&e);
        PyBuffer_Release(&out);
        return PyErr_Format(PyExc_ValueError, "buffers of different lengths");
    }
    const double *px = x.buf;
    const int *pe = e.buf;
    double *po = out.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; ++i) po[i] = fn(px[i], pe[i]);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&x);
    PyBuffer_Release(&e);
    PyBuffer_Release(&out);
    Py_RETURN_NONE;
}

static PyObject *ii_i(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    Py_buffer a, out;
    if (nargs != 4) return PyErr_Format(PyExc_TypeError, "ii_i(fn, a, k, out)");
    fn_ii_i fn = (fn_ii_i)address(args[0]);
    long k = PyLong_AsLong(args[2]);
    if (PyErr_Occurred() || views(args[1], args[3], &a, &out, sizeof(int))) return NULL;
    Py_ssize_t n = a.len / (Py_ssize_t)sizeof(int);
    const int *pa = a.buf;
    int *po = out.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; ++i) po[i] = fn(pa[i], (int)k);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&a);
    PyBuffer_Release(&out);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"d_d", (PyCFunction)(void (*)(void))d_d, METH_FASTCALL, NULL},
    {"dd_d", (PyCFunction)(void (*)(void))dd_d, METH_FASTCALL, NULL},
    {"di_d", (PyCFunction)(void (*)(void))di_d, METH_FASTCALL, NULL},
    {"ii_i", (PyCFunction)(void (*)(void))ii_i, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "floor_batched", NULL, -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit_floor_batched(void) { return PyModule_Create(&module); }
