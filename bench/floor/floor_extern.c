/* The floor of bench/bench_extern_python.py: a C loop that calls a Python function n times
 * with the least work a correct binding can do per call, under the GIL policy of cffi's
 * and cffix's extern "Python" functions called from a wrapper that released the GIL:
 * take the GIL (PyGILState_Ensure), make the int argument, vectorcall, read the int
 * result, report an exception as unraisable, drop the GIL.
 *
 *     loop(callable, n) -> sum of callable(i) for i in range(n)
 *
 * Built by bench_extern_python.py at run time: cc -shared -fPIC -O2 with the
 * interpreter's include directory. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>

static PyObject *callable;

static int cb(int i) {
    PyGILState_STATE state = PyGILState_Ensure();
    int result = 0;
    PyObject *arg = PyLong_FromLong(i);
    if (arg) {
        PyObject *argv[2] = {NULL, arg};
        PyObject *r = PyObject_Vectorcall(callable, argv + 1, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                          NULL);
        Py_DECREF(arg);
        if (r) {
            long v = PyLong_AsLong(r);
            if (!(v == -1 && PyErr_Occurred()) && v >= INT_MIN && v <= INT_MAX) result = (int)v;
            Py_DECREF(r);
        }
    }
    if (PyErr_Occurred()) PyErr_WriteUnraisable(callable);
    PyGILState_Release(state);
    return result;
}

static PyObject *py_loop(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    long long sum = 0;
    int n, i;
    (void)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "loop(callable, n)");
        return NULL;
    }
    n = (int)PyLong_AsLong(args[1]);
    if (n == -1 && PyErr_Occurred()) return NULL;
    callable = args[0];
    Py_BEGIN_ALLOW_THREADS
    for (i = 0; i < n; i++) sum += cb(i);
    Py_END_ALLOW_THREADS
    callable = NULL;
    return PyLong_FromLongLong(sum);
}

static PyMethodDef methods[] = {
    {"loop", (PyCFunction)(void (*)(void))py_loop, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "floor_extern", NULL, -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit_floor_extern(void) { return PyModule_Create(&module); }
