// The FFI methods that read and write raw memory (ffi.string, unpack, from_buffer,
// memmove, addressof): argument shaping around csrc/data/memory.cpp and buffer.cpp
// (addressof(lib, name): csrc/lib/), which do the work. ffi.buffer is not here: it reads
// as the type cffix.buffer (as cffi's ffi.buffer is a type), through a descriptor that
// module.cpp puts among FFI's class attributes (data::init_buffer_types).
#include "data/memory.h"

#include "data/cdata.h"
#include "ffi/object.h"
#include "lib/library.h"
#include "util/args.h"

namespace cffix {

using data::CData;
using types::CType;

static CData* cdata_arg(const char* fn, PyObject* obj) {
    if (data::is_cdata(obj)) return reinterpret_cast<CData*>(obj);
    PyErr_Format(PyExc_TypeError, "%s() argument 1 must be a cdata, not %s", fn,
                 Py_TYPE(obj)->tp_name);
    return nullptr;
}

// An int argument (or __index__), as Py_ssize_t; floats are refused.
static bool size_arg(PyObject* obj, Py_ssize_t* out) {
    *out = PyNumber_AsSsize_t(obj, PyExc_OverflowError);
    return !(*out == -1 && PyErr_Occurred());
}

static PyObject* ffi_string(PyObject*, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    static const char* const names[] = {"cdata", "maxlen", nullptr};
    PyObject* values[2] = {nullptr, nullptr};
    if (!parse_args("string", names, 1, args, nargs, kwnames, values)) return nullptr;
    CData* cd = cdata_arg("string", values[0]);
    Py_ssize_t maxlen = -1;
    if (!cd || (values[1] && !size_arg(values[1], &maxlen))) return nullptr;
    return data::cdata_string(cd, maxlen);
}

static PyObject* ffi_unpack(PyObject*, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    static const char* const names[] = {"cdata", "length", nullptr};
    PyObject* values[2] = {nullptr, nullptr};
    if (!parse_args("unpack", names, 2, args, nargs, kwnames, values)) return nullptr;
    CData* cd = cdata_arg("unpack", values[0]);
    Py_ssize_t length;
    if (!cd || !size_arg(values[1], &length)) return nullptr;
    return data::unpack(cd, length);
}

// from_buffer([cdecl,] python_buffer, require_writable=False): one positional argument
// is the buffer, as in cffi.
static PyObject* ffi_from_buffer(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                                 PyObject* kwnames) {
    static const char* const names[] = {"cdecl", "python_buffer", "require_writable", nullptr};
    PyObject* values[3] = {nullptr, nullptr, nullptr};
    if (!parse_args("from_buffer", names, 0, args, nargs, kwnames, values)) return nullptr;
    if (values[0] && !values[1]) std::swap(values[0], values[1]);
    if (!values[1]) {
        PyErr_SetString(PyExc_TypeError,
                        "from_buffer() missing required argument "
                        "'python_buffer'");
        return nullptr;
    }
    bool writable = false;
    if (values[2]) {
        int truth = PyObject_IsTrue(values[2]);
        if (truth < 0) return nullptr;
        writable = truth;
    }
    // The default "char[]": one string object for the process, so that the FFI's type
    // cache finds it by identity.
    static PyObject* default_cdecl = nullptr;
    if (!values[0] && !default_cdecl && !(default_cdecl = PyUnicode_InternFromString("char[]")))
        return nullptr;
    CType* t = ctype_arg(self, values[0] ? values[0] : default_cdecl);
    if (!t) return nullptr;
    return data::from_buffer(t, values[1], writable);
}

static PyObject* ffi_memmove(PyObject*, PyObject* const* args, Py_ssize_t nargs,
                             PyObject* kwnames) {
    static const char* const names[] = {"dest", "src", "n", nullptr};
    PyObject* values[3] = {nullptr, nullptr, nullptr};
    if (!parse_args("memmove", names, 3, args, nargs, kwnames, values)) return nullptr;
    Py_ssize_t n;
    if (!size_arg(values[2], &n) || !data::memmove_objects(values[0], values[1], n)) return nullptr;
    Py_RETURN_NONE;
}

static PyObject* ffi_addressof(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
    if (nargs < 1) {
        PyErr_SetString(PyExc_TypeError, "addressof() missing required argument 'cdata'");
        return nullptr;
    }
    if (lib::is_library(args[0]))  // ffi.addressof(lib, "name"): csrc/lib/library.h
        return nargs == 2 ? lib::address_of(args[0], args[1])
                          : PyErr_Format(PyExc_TypeError, "addressof(lib, name) takes 2 arguments");
    if (!data::is_cdata(args[0]))
        return PyErr_Format(PyExc_TypeError, "addressof() expected a 'cdata' object, got %s",
                            Py_TYPE(args[0])->tp_name);
    return data::addressof(reinterpret_cast<CData*>(args[0]), args + 1, nargs - 1);
}

template <typename F>
static PyCFunction method(F f) {
    return reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(f));
}

PyMethodDef ffi_memory_methods[] = {
    {"string", method(ffi_string), METH_FASTCALL | METH_KEYWORDS,
     "string($self, cdata, maxlen=-1)\n--\n\n"
     "The C string of a char/wchar_t/char16_t/char32_t array or pointer (bytes or str, up to\n"
     "the NUL, maxlen items, or the end of known memory); one char of a char cdata; the\n"
     "enumerator's name of an enum cdata (str(value) if none).\n\n"
     "    ffi.string(ffi.new('char[]', b'hi'))   # b'hi'"},
    {"unpack", method(ffi_unpack), METH_FASTCALL | METH_KEYWORDS,
     "unpack($self, cdata, length)\n--\n\n"
     "The first `length` items of a pointer or array: bytes for char, str for wchar_t/\n"
     "char16_t/char32_t, else a list. Never past the end of memory of known size.\n\n"
     "    ffi.unpack(ffi.new('int[]', [1, 2, 3]), 2)   # [1, 2]"},
    {"from_buffer", method(ffi_from_buffer), METH_FASTCALL | METH_KEYWORDS,
     "from_buffer([cdecl,] python_buffer, require_writable=False)\n\n"
     "A cdata over the memory of a contiguous Python buffer (bytes, bytearray, memoryview,\n"
     "array.array, numpy arrays...), without copying. The buffer stays exported (a\n"
     "bytearray cannot be resized) until ffi.release(), `with` exit or collection.\n\n"
     "    p = ffi.from_buffer('int[]', array.array('i', [1, 2]))   # p[1] == 2"},
    {"memmove", method(ffi_memmove), METH_FASTCALL | METH_KEYWORDS,
     "memmove($self, dest, src, n)\n--\n\n"
     "Copy n bytes from src to dest (the areas may overlap). Each side is a pointer or array\n"
     "cdata or a buffer (dest writable); n is checked against every side of known size.\n\n"
     "    ffi.memmove(p, b'abc', 3)"},
    {"addressof", method(ffi_addressof), METH_FASTCALL,
     "addressof($self, cdata, /, *fields_or_indexes)\n--\n\n"
     "A pointer to a struct/union/array cdata, or to a field or item inside it (nested\n"
     "steps allowed; indexes are checked against known lengths). It keeps the memory alive.\n\n"
     "    ffi.addressof(s, 'pos', 'x')   # <cdata 'int *' 0x...>"},
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace cffix
