/* A small extension module that reaches cffix's core through the C API capsule, as the
 * generated API-mode modules do (tests/test_c_api.py builds and imports it). */
#include <Python.h>

#include "cffix_api.h"

static const cffix_api* api;

static cffix_ctype* type_arg(PyObject* ffi, PyObject* cdecl) {
    const char* text = PyUnicode_AsUTF8(cdecl);
    return text ? api->type_of(ffi, text) : NULL;
}

/* roundtrip(ffi, cdecl, value): value -> C (to_c) -> Python (from_c). */
static PyObject* roundtrip(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
    char buffer[64] = {0};
    cffix_ctype* t;
    (void)self;
    if (nargs != 3) return PyErr_Format(PyExc_TypeError, "roundtrip(ffi, cdecl, value)");
    if (!(t = type_arg(args[0], args[1]))) return NULL;
    if (t->size < 0 || t->size > (int64_t)sizeof buffer)
        return PyErr_Format(PyExc_ValueError, "type too large for the probe");
    if (!api->to_c(t, buffer, args[2])) return NULL;
    return api->from_c(t, buffer, NULL);
}

/* int_arg(ffi, cdecl, value) -> (fast, value): an integer argument as a generated wrapper
 * converts it: the inline fast companion first, else the core's argument_to_c. */
static PyObject* int_arg(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
    cffix_ctype* t;
    int64_t v = 0;
    int fast;
    (void)self;
    if (nargs != 3) return PyErr_Format(PyExc_TypeError, "int_arg(ffi, cdecl, value)");
    if (!(t = type_arg(args[0], args[1]))) return NULL;
    fast = cffix_fast_integer(args[2], api->integer_range(t->conv), &v);
    if (!fast) {
        char slot[16] = {0};
        cffix_temporaries temps = {{NULL}, 0, NULL};
        if (!api->argument_to_c(t, slot, args[2], &temps)) return NULL;
        cffix_temporaries_clear(&temps);
        return Py_BuildValue("(ON)", Py_False, api->result_from_c(t, slot));
    }
    return Py_BuildValue("(OL)", Py_True, (long long)v);
}

/* sum_ints(ffi, value, n): `value` as an `int *` argument (a list becomes a temporary
 * array kept in the temporaries), its first n items summed. */
static PyObject* sum_ints(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
    cffix_ctype* t;
    void* p = NULL;
    long long sum = 0;
    Py_ssize_t i, n;
    cffix_temporaries temps = {{NULL}, 0, NULL};
    (void)self;
    if (nargs != 3) return PyErr_Format(PyExc_TypeError, "sum_ints(ffi, value, n)");
    if (!(t = api->type_of(args[0], "int *"))) return NULL;
    n = PyLong_AsSsize_t(args[2]);
    if (n == -1 && PyErr_Occurred()) return NULL;
    if (!cffix_fast_pointer(args[1], t, 0, api->cdata_type, api->owned_type, &p)) {
        char slot[8] = {0};
        if (!api->argument_to_c(t, slot, args[1], &temps)) {
            cffix_temporaries_clear(&temps);
            return NULL;
        }
        memcpy(&p, slot, sizeof p);
    }
    for (i = 0; p && i < n; ++i) sum += ((int*)p)[i];
    cffix_temporaries_clear(&temps);
    return PyLong_FromLongLong(sum);
}

/* struct_result(ffi, cdecl, bytes): the bytes as a C result of that struct type. */
static PyObject* struct_result(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
    cffix_ctype* t;
    (void)self;
    if (nargs != 3) return PyErr_Format(PyExc_TypeError, "struct_result(ffi, cdecl, bytes)");
    if (!(t = type_arg(args[0], args[1]))) return NULL;
    if (!PyBytes_Check(args[2]) || PyBytes_GET_SIZE(args[2]) != t->size)
        return PyErr_Format(PyExc_ValueError, "bytes of the struct's size expected");
    return api->result_from_c(t, PyBytes_AS_STRING(args[2]));
}

static PyObject* saved_errno(PyObject* self, PyObject* unused) {
    (void)self;
    (void)unused;
    return PyLong_FromLong(*api->saved_errno());
}

/* import_as(api_version, built_with): cffix_import_api as a module of another version
 * would call it. */
static PyObject* import_as(PyObject* self, PyObject* args) {
    unsigned int version;
    const char* built_with;
    (void)self;
    if (!PyArg_ParseTuple(args, "Is", &version, &built_with)) return NULL;
    if (!cffix_import_api("capi_probe", version, built_with)) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"roundtrip", (PyCFunction)(void (*)(void))roundtrip, METH_FASTCALL, NULL},
    {"int_arg", (PyCFunction)(void (*)(void))int_arg, METH_FASTCALL, NULL},
    {"sum_ints", (PyCFunction)(void (*)(void))sum_ints, METH_FASTCALL, NULL},
    {"struct_result", (PyCFunction)(void (*)(void))struct_result, METH_FASTCALL, NULL},
    {"saved_errno", saved_errno, METH_NOARGS, NULL},
    {"import_as", import_as, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "capi_probe", NULL, -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit_capi_probe(void) {
    api = cffix_import_api("capi_probe", CFFIX_API_VERSION, "the test suite's cffix");
    if (!api) return NULL;
    return PyModule_Create(&module);
}
