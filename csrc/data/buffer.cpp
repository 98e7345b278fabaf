// The two bridges between C memory and Python's buffer protocol (see memory.h):
//
//   cffix.buffer            ffi.buffer(cdata, size): C memory seen as a writable bytes-like
//                           object. It holds the cdata itself, so the memory stays alive,
//                           and every access checks that the cdata was not released. Its
//                           exports (memoryview(buf)) pin the memory (pin_memory): a
//                           release meanwhile frees it only when the last one ends.
//   CDataFromBuffer_Type    ffi.from_buffer(cdecl, obj): a cdata over a Python buffer. It
//                           holds the buffer export (PyObject_GetBuffer), which keeps the
//                           memory in place (a bytearray cannot be resized meanwhile)
//                           until ffi.release(), `with` exit or collection.
//
// Both are GC types: the object behind a buffer export may refer back to the cdata (a
// buffer over a cdata that refers to nothing else stays untracked).
#include <cstring>
#include <vector>

#include "data/memory.h"
#include "util/args.h"
#include "util/errors.h"

namespace cffix::data {

using types::Kind;

PyTypeObject Buffer_Type, CDataFromBuffer_Type;

// ---------------------------------------------------------------- from_buffer cdata

struct CDataFromBuffer : CData {
    Py_buffer view;  // view.obj is null once released
};

static CDataFromBuffer* as_from_buffer(CData* cd) { return static_cast<CDataFromBuffer*>(cd); }

bool is_from_buffer(CData* cd) { return Py_TYPE(cd) == &CDataFromBuffer_Type; }

Py_ssize_t from_buffer_size(CData* cd) {
    return ft::load_relaxed(cd->flags) & CD_RELEASED ? 0 : as_from_buffer(cd)->view.len;
}

static void release_export(CData* cd) {
    CDataFromBuffer* fb = as_from_buffer(cd);
    ft::fetch_or(cd->flags, uint32_t{CD_RELEASED});
    if (fb->view.obj) PyBuffer_Release(&fb->view);
}

void release_from_buffer(CData* cd) {
    // Under the cdata's lock (free-threaded builds): repr reads the exporter's type
    // meanwhile, and the exporter may die with the export.
    ft::CriticalSection section(reinterpret_cast<PyObject*>(cd));
    release_export(cd);
}

PyObject* from_buffer(CType* t, PyObject* obj, bool require_writable) {
    if (t->kind != Kind::Pointer && t->kind != Kind::Array)
        return PyErr_Format(PyExc_TypeError, "expected a pointer or array ctype, got '%s'",
                            t->cname.c_str());
    if (PyUnicode_Check(obj))
        return PyErr_Format(PyExc_TypeError,
                            "from_buffer() cannot return the address of a unicode object");
    CType* item = t->item;
    if (t->kind == Kind::Array) {
        try {
            if (item->size < 0 && !types::complete_type(item, false))
                return PyErr_Format(PyExc_TypeError, "'%s' has items of unknown size",
                                    t->cname.c_str());
        } catch (...) {
            return cffix::translate_exception();
        }
    }
    auto* cd = PyObject_GC_New(CDataFromBuffer, &CDataFromBuffer_Type);
    if (!cd) return nullptr;
    Py_INCREF(t);
    cd->ctype = t;
    cd->data = nullptr;
    cd->length = 0;
    cd->flags = 0;
    cd->exports = 0;
    cd->weakreflist = nullptr;
    cd->view.obj = nullptr;
    PyRef result(reinterpret_cast<PyObject*>(cd));  // dealloc copes with the partial state
    int flags = require_writable ? PyBUF_WRITABLE : PyBUF_SIMPLE;
    if (PyObject_GetBuffer(obj, &cd->view, flags) < 0) {
        cd->view.obj = nullptr;
        return nullptr;
    }
    if (!PyBuffer_IsContiguous(&cd->view, 'C'))
        return PyErr_Format(PyExc_BufferError,
                            "from_buffer(): the buffer of '%s' is not "
                            "C-contiguous",
                            Py_TYPE(obj)->tp_name);
    cd->data = static_cast<char*>(cd->view.buf);
    Py_ssize_t nbytes = cd->view.len;
    if (t->kind == Kind::Array) {
        if (t->length >= 0) {
            if (t->size > nbytes)
                return PyErr_Format(PyExc_ValueError,
                                    "buffer is too small (%zd bytes) for '%s' (%lld bytes)", nbytes,
                                    t->cname.c_str(), static_cast<long long>(t->size));
            cd->length = t->length;
        } else {
            cd->length = item->size > 0 ? nbytes / item->size : 0;
        }
    }
    PyObject_GC_Track(result.get());
    return result.release();
}

static int from_buffer_traverse(PyObject* self, visitproc visit, void* arg) {
    Py_VISIT(as_from_buffer(reinterpret_cast<CData*>(self))->view.obj);
    return 0;
}

// As ffi.release(): a memoryview of ffi.buffer(self) (garbage too, or about to be) may
// still point into the source, which stays exported until that view goes.
static int from_buffer_clear(PyObject* self) {
    Py_XDECREF(release_cdata(reinterpret_cast<CData*>(self)));
    return 0;
}

static void from_buffer_dealloc(PyObject* self) {
    auto* cd = reinterpret_cast<CData*>(self);
    PyObject_GC_UnTrack(self);
    if (cd->weakreflist) PyObject_ClearWeakRefs(self);
    release_export(cd);  // the last reference: no lock needed
    Py_CLEAR(cd->ctype);
    PyObject_GC_Del(self);
}

static PyObject* from_buffer_repr(PyObject* self) {
    auto* cd = reinterpret_cast<CData*>(self);
    ft::CriticalSection section(self);  // see release_from_buffer
    const char* name = cd->ctype->cname.c_str();
    PyObject* source = as_from_buffer(cd)->view.obj;
    if ((cd->flags & CD_RELEASED) || !source)
        return PyUnicode_FromFormat("<cdata '%s' buffer RELEASED>", name);
    if (cd->ctype->kind == Kind::Array)
        return PyUnicode_FromFormat("<cdata '%s' buffer len %zd from '%s' object>", name,
                                    cd->length, Py_TYPE(source)->tp_name);
    return PyUnicode_FromFormat("<cdata '%s' buffer from '%s' object>", name,
                                Py_TYPE(source)->tp_name);
}

// ---------------------------------------------------------------- cffix.buffer

struct Buffer {
    PyObject_HEAD
    CData* cdata;  // owned: keeps the memory alive, and tells whether it was released
    char* data;
    Py_ssize_t size;
};

static Buffer* as_buffer(PyObject* o) { return reinterpret_cast<Buffer*>(o); }

// False with ValueError if the cdata was released since the buffer was made.
static bool buffer_alive(Buffer* b) { return !check_released(b->cdata); }

static PyObject* make_buffer(PyTypeObject* type, PyObject* obj, Py_ssize_t size) {
    if (!is_cdata(obj))
        return PyErr_Format(PyExc_TypeError, "buffer() argument 1 must be a cdata, not %s",
                            Py_TYPE(obj)->tp_name);
    CData* cd = reinterpret_cast<CData*>(obj);
    CType* t = cd->ctype;
    if (t->kind != Kind::Pointer && t->kind != Kind::Array)
        return PyErr_Format(PyExc_TypeError, "expected a pointer or array cdata, got '%s'",
                            t->cname.c_str());
    if (check_released(cd)) return nullptr;
    Py_ssize_t extent = known_extent(cd);
    if (size < 0) {
        if (t->kind == Kind::Array) {
            // The array's own size: past the memory it was cast from, refused below.
            size = t->item->size >= 0 ? cd->length * t->item->size : extent;
        } else {
            CType* item = t->item;
            if (item->size < 0 && types::is_record(item)) {
                try {
                    types::complete_type(item, false);
                } catch (...) {
                    return cffix::translate_exception();
                }
            }
            size = item->kind == Kind::Void ? -1 : item->size;
            if (cd->flags & CD_OWNED_POINTER) size = extent;  // incl. a flexible array
        }
        if (size < 0)
            return PyErr_Format(PyExc_TypeError, "don't know the size pointed to by '%s'",
                                t->cname.c_str());
    }
    if (extent >= 0 && size > extent)
        return PyErr_Format(PyExc_ValueError,
                            "buffer(): size %zd is past the end of cdata '%s' (%zd bytes)", size,
                            t->cname.c_str(), extent);
    if (!cd->data && size > 0) {  // zero bytes at NULL are harmless (cffi code does that)
        PyRef text(PyObject_Repr(obj));
        return text ? PyErr_Format(PyExc_RuntimeError, "cannot use buffer() on %U", text.get())
                    : nullptr;
    }
    Buffer* b = PyObject_GC_New(Buffer, type);
    if (!b) return nullptr;
    b->cdata = reinterpret_cast<CData*>(Py_NewRef(obj));
    b->data = cd->data;
    b->size = size;
    // Only a cdata that refers to other objects (a view's owner, a from_buffer export, a
    // gc destructor...) can close a reference cycle through the buffer; the common
    // ones (ffi.new, cast, raw pointers) refer to their ctype only, so stay untracked.
    PyTypeObject* ct = Py_TYPE(obj);
    if (ct != &CDataOwned_Type && ct != &CData_Type && ct != &CDataValue_Type) PyObject_GC_Track(b);
    return reinterpret_cast<PyObject*>(b);
}

// buffer(cdata, size=-1). The vectorcall entry is what ffi.buffer(p) takes (the type is
// called without an argument tuple); tp_new serves buffer.__new__(buffer, ...).
static PyObject* buffer_vectorcall(PyObject* type, PyObject* const* args, size_t nargsf,
                                   PyObject* kwnames) {
    static const char* const names[] = {"cdata", "size", nullptr};
    PyObject* v[2] = {nullptr, nullptr};
    if (!parse_args("buffer", names, 1, args, PyVectorcall_NARGS(nargsf), kwnames, v))
        return nullptr;
    Py_ssize_t size = -1;
    if (v[1]) {
        size = PyNumber_AsSsize_t(v[1], PyExc_OverflowError);
        if (size == -1 && PyErr_Occurred()) return nullptr;
    }
    return make_buffer(reinterpret_cast<PyTypeObject*>(type), v[0], size);
}

static PyObject* buffer_new(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
    PyRef kwnames;
    PyObject** positional = &PyTuple_GET_ITEM(args, 0);
    try {
        std::vector<PyObject*> all(positional, positional + PyTuple_GET_SIZE(args));
        if (kwargs) {
            kwnames = PyRef(PyTuple_New(PyDict_GET_SIZE(kwargs)));
            if (!kwnames) return nullptr;
            PyObject *key, *value;
            Py_ssize_t pos = 0, i = 0;
            while (PyDict_Next(kwargs, &pos, &key, &value)) {
                PyTuple_SET_ITEM(kwnames.get(), i++, Py_NewRef(key));
                all.push_back(value);
            }
        }
        return buffer_vectorcall(reinterpret_cast<PyObject*>(type), all.data(),
                                 static_cast<size_t>(PyTuple_GET_SIZE(args)), kwnames.get());
    } catch (...) {
        return cffix::translate_exception();
    }
}

static int buffer_traverse(PyObject* self, visitproc visit, void* arg) {
    Py_VISIT(as_buffer(self)->cdata);
    return 0;
}

static void buffer_dealloc(PyObject* self) {
    PyObject_GC_UnTrack(self);
    Py_CLEAR(as_buffer(self)->cdata);
    PyObject_GC_Del(self);
}

static Py_ssize_t buffer_length(PyObject* self) { return as_buffer(self)->size; }

static PyObject* buffer_item(PyObject* self, Py_ssize_t i) {
    Buffer* b = as_buffer(self);
    if (i < 0 || i >= b->size) {
        PyErr_SetString(PyExc_IndexError, "buffer index out of range");
        return nullptr;
    }
    return buffer_alive(b) ? PyBytes_FromStringAndSize(b->data + i, 1) : nullptr;
}

// A key -> a normalised index (negative counts from the end), or a slice's start and
// length. Returns 0 for an index, 1 for a slice, -1 on error.
static int buffer_key(Buffer* b, PyObject* key, Py_ssize_t* start, Py_ssize_t* length) {
    if (PySlice_Check(key)) {
        Py_ssize_t stop, step;
        if (PySlice_Unpack(key, start, &stop, &step) < 0) return -1;
        if (step != 1) {
            PyErr_SetString(PyExc_TypeError, "buffer doesn't support slicing with step != 1");
            return -1;
        }
        *length = PySlice_AdjustIndices(b->size, start, &stop, step);
        return 1;
    }
    if (PyFloat_Check(key) || !PyIndex_Check(key)) {
        PyErr_Format(PyExc_TypeError, "buffer indices must be integers, not %s",
                     Py_TYPE(key)->tp_name);
        return -1;
    }
    Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
    if (i == -1 && PyErr_Occurred()) return -1;
    *start = i < 0 ? i + b->size : i;
    return 0;
}

static PyObject* buffer_subscript(PyObject* self, PyObject* key) {
    Buffer* b = as_buffer(self);
    Py_ssize_t start, length;
    int kind = buffer_key(b, key, &start, &length);
    if (kind < 0) return nullptr;
    if (kind == 0) return buffer_item(self, start);
    return buffer_alive(b) ? PyBytes_FromStringAndSize(b->data + start, length) : nullptr;
}

static int assign_byte(char* dst, PyObject* value) {
    if ((PyBytes_Check(value) || PyByteArray_Check(value)) && PyObject_Length(value) == 1) {
        *dst = PyBytes_Check(value) ? PyBytes_AS_STRING(value)[0] : PyByteArray_AS_STRING(value)[0];
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "must assign a bytes of length 1, not %s",
                 Py_TYPE(value)->tp_name);
    return -1;
}

static int buffer_ass_subscript(PyObject* self, PyObject* key, PyObject* value) {
    Buffer* b = as_buffer(self);
    if (!value) {
        PyErr_SetString(PyExc_TypeError, "cffix.buffer items cannot be deleted");
        return -1;
    }
    Py_ssize_t start, length;
    int kind = buffer_key(b, key, &start, &length);
    if (kind < 0) return -1;
    if (kind == 0) {
        if (start < 0 || start >= b->size) {
            PyErr_SetString(PyExc_IndexError, "buffer assignment index out of range");
            return -1;
        }
        return buffer_alive(b) ? assign_byte(b->data + start, value) : -1;
    }
    if (PyUnicode_Check(value)) {
        PyErr_Format(PyExc_TypeError, "a bytes-like object is required, not 'str'");
        return -1;
    }
    ByteSpan src;
    if (!get_byte_span(value, false, "value", &src)) return -1;
    if (src.size >= 0 && src.size != length) {
        PyErr_SetString(PyExc_ValueError, "right operand length must match slice length");
        return -1;
    }
    if (length > 0 && !src.data) {
        PyErr_SetString(PyExc_RuntimeError, "cannot copy from a NULL pointer");
        return -1;
    }
    if (!buffer_alive(b)) return -1;
    if (length > 0) memmove(b->data + start, src.data, static_cast<size_t>(length));
    return 0;
}

static int buffer_getbuffer(PyObject* self, Py_buffer* view, int flags) {
    Buffer* b = as_buffer(self);
    // Pinned before the release is checked: a release in another thread either is seen
    // here or sees the pin and leaves the freeing to the unpin (cdata.cpp).
    pin_memory(b->cdata);
    if (!buffer_alive(b) || PyBuffer_FillInfo(view, self, b->data, b->size, 0, flags) < 0) {
        view->obj = nullptr;
        unpin_memory(b->cdata);
        return -1;
    }
    return 0;
}

static void buffer_releasebuffer(PyObject* self, Py_buffer*) {
    unpin_memory(as_buffer(self)->cdata);
}

// Compares the bytes with any bytes-like object, as bytes do.
static PyObject* buffer_richcompare(PyObject* self, PyObject* other, int op) {
    if (is_cdata(other) || !PyObject_CheckBuffer(other)) Py_RETURN_NOTIMPLEMENTED;
    Buffer* b = as_buffer(self);
    if (!buffer_alive(b)) return nullptr;
    ByteSpan o;
    if (!get_byte_span(other, false, "other", &o)) return nullptr;
    Py_ssize_t n = b->size < o.size ? b->size : o.size;
    int c = n > 0 ? memcmp(b->data, o.data, static_cast<size_t>(n)) : 0;
    if (c == 0) c = b->size < o.size ? -1 : b->size > o.size ? 1 : 0;
    bool r = false;
    switch (op) {
        case Py_EQ: r = c == 0; break;
        case Py_NE: r = c != 0; break;
        case Py_LT: r = c < 0; break;
        case Py_LE: r = c <= 0; break;
        case Py_GT: r = c > 0; break;
        case Py_GE: r = c >= 0; break;
    }
    return PyBool_FromLong(r);
}

static PySequenceMethods buffer_as_sequence = {};
static PyMappingMethods buffer_as_mapping = {};
static PyBufferProcs buffer_as_buffer = {};

static bool ready_buffer_type() {
    buffer_as_sequence.sq_length = buffer_length;
    buffer_as_sequence.sq_item = buffer_item;  // iteration and `in`
    buffer_as_mapping.mp_length = buffer_length;
    buffer_as_mapping.mp_subscript = buffer_subscript;
    buffer_as_mapping.mp_ass_subscript = buffer_ass_subscript;
    buffer_as_buffer.bf_getbuffer = buffer_getbuffer;
    buffer_as_buffer.bf_releasebuffer = buffer_releasebuffer;
    PyTypeObject& t = Buffer_Type;
    Py_SET_REFCNT(&t, 1);
    t.tp_name = "cffix.buffer";
    t.tp_basicsize = sizeof(Buffer);
    t.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC;
    t.tp_doc =
        "buffer(cdata, size=-1)\n--\n\n"
        "The C memory of a pointer or array cdata as a writable bytes-like object: len(),\n"
        "b[i] (bytes of length 1), b[a:b] (bytes), assignment of bytes of the same length,\n"
        "memoryview(b). size defaults to the cdata's memory (the array, or one item).\n\n"
        "    b = ffi.buffer(ffi.new('int[4]'))   # len(b) == 16; b[:] = bytes(16)";
    t.tp_new = buffer_new;
    t.tp_vectorcall = buffer_vectorcall;
    t.tp_dealloc = buffer_dealloc;
    t.tp_traverse = buffer_traverse;
    t.tp_richcompare = buffer_richcompare;
    t.tp_hash = PyObject_HashNotImplemented;
    t.tp_as_sequence = &buffer_as_sequence;
    t.tp_as_mapping = &buffer_as_mapping;
    t.tp_as_buffer = &buffer_as_buffer;
    return PyType_Ready(&t) == 0;
}

static bool ready_from_buffer_type() {
    PyTypeObject& t = CDataFromBuffer_Type;
    Py_SET_REFCNT(&t, 1);
    t.tp_name = "cffix.CDataFromBuffer";
    t.tp_basicsize = sizeof(CDataFromBuffer);
    t.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC;
    t.tp_doc = "C memory of a Python buffer (from ffi.from_buffer), held until released.";
    t.tp_base = &CData_Type;
    t.tp_call = CDataValue_Type.tp_call;  // not callable (never CData_Type's vectorcall)
    t.tp_dealloc = from_buffer_dealloc;
    t.tp_traverse = from_buffer_traverse;
    t.tp_clear = from_buffer_clear;
    t.tp_free = PyObject_GC_Del;
    t.tp_repr = from_buffer_repr;
    return PyType_Ready(&t) == 0;
}

// ---------------------------------------------------------------- ffi.buffer

// FFI.buffer is this descriptor, whose every attribute read (ffi.buffer, FFI.buffer) gives
// the type cffix.buffer, as in cffi (isinstance(x, ffi.buffer)). It also declares itself
// a method descriptor (Py_TPFLAGS_METHOD_DESCRIPTOR: calling it with the ffi first is
// the same as calling what __get__ returns), so a call ffi.buffer(p) takes CPython's
// method path: the lookup of `buffer` is then specialized (3.11+) instead of the generic
// attribute lookup a plain type in the class dict gets, about 200 instructions of ~1000.
struct BufferMethod {
    PyObject_HEAD
    vectorcallfunc vectorcall;
};

static PyTypeObject BufferMethod_Type;

static PyObject* buffer_method_get(PyObject*, PyObject*, PyObject*) {
    return Py_NewRef(reinterpret_cast<PyObject*>(&Buffer_Type));
}

// args[0] is the ffi (unused: a buffer does not depend on it).
static PyObject* buffer_method_call(PyObject*, PyObject* const* args, size_t nargsf,
                                    PyObject* kwnames) {
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs < 1) {
        PyErr_SetString(PyExc_TypeError, "FFI.buffer called without the ffi");
        return nullptr;
    }
    return buffer_vectorcall(reinterpret_cast<PyObject*>(&Buffer_Type), args + 1,
                             static_cast<size_t>(nargs - 1), kwnames);
}

static PyObject* make_buffer_method() {
    PyTypeObject& t = BufferMethod_Type;
    Py_SET_REFCNT(&t, 1);
    t.tp_name = "cffix.buffer_method";
    t.tp_basicsize = sizeof(BufferMethod);
    t.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR;
    t.tp_doc = "FFI.buffer: reads as the type cffix.buffer.";
    t.tp_vectorcall_offset = offsetof(BufferMethod, vectorcall);
    t.tp_call = PyVectorcall_Call;
    t.tp_descr_get = buffer_method_get;
    if (PyType_Ready(&t) < 0) return nullptr;
    BufferMethod* m = PyObject_New(BufferMethod, &t);
    if (m) m->vectorcall = buffer_method_call;
    return reinterpret_cast<PyObject*>(m);
}

bool init_buffer_types(PyObject* ffi_dict) {
    if (!ready_buffer_type() || !ready_from_buffer_type()) return false;
    PyRef method(make_buffer_method());
    return method && PyDict_SetItemString(ffi_dict, "buffer", method.get()) == 0;
}

}  // namespace cffix::data
