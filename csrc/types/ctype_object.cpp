// The Python side of CType and CField: lifetime (GC, interning), repr, and the
// attributes cffi offers (kind, cname, item, length, fields, args, result, ellipsis,
// abi, elements, relements), each present only on the kinds where cffi has it.
#include "types/ctype.h"
// structmember.h needs Python.h first (ctype.h brings it).
#include <structmember.h>

#include "util/errors.h"
#include "util/pylong.h"

namespace cffix::types {

// ---------------------------------------------------------------- CField

struct CFieldObject {
    PyObject_HEAD
    PyObject* type;
    Py_ssize_t offset;
    int bitshift;
    int bitsize;
    int flags;
};

static void cfield_dealloc(PyObject* self) {
    auto* f = reinterpret_cast<CFieldObject*>(self);
    Py_XDECREF(f->type);
    Py_TYPE(self)->tp_free(self);
}

static PyMemberDef cfield_members[] = {
    {"type", T_OBJECT, offsetof(CFieldObject, type), READONLY, "the field's CType"},
    {"offset", T_PYSSIZET, offsetof(CFieldObject, offset), READONLY, "byte offset"},
    {"bitshift", T_INT, offsetof(CFieldObject, bitshift), READONLY,
     "bit position inside the unit at `offset` (-1: not a bitfield)"},
    {"bitsize", T_INT, offsetof(CFieldObject, bitsize), READONLY,
     "bitfield width (-1: not a bitfield)"},
    {"flags", T_INT, offsetof(CFieldObject, flags), READONLY, "cffi's field flags"},
    {nullptr, 0, 0, 0, nullptr},
};

PyTypeObject CField_Type;  // filled in by init_ctype_types

static PyObject* new_cfield(const FieldInfo& info) {
    auto* f = PyObject_New(CFieldObject, &CField_Type);
    if (!f) return nullptr;
    Py_INCREF(info.type);
    f->type = reinterpret_cast<PyObject*>(info.type);
    f->offset = info.offset;
    f->bitshift = info.bitshift;
    f->bitsize = info.bitsize;
    f->flags = info.flags;
    return reinterpret_cast<PyObject*>(f);
}

// ---------------------------------------------------------------- CType lifetime

static void clear_record(CType* t) {
    for (auto& f : t->fields) Py_CLEAR(f.type);
    t->fields.clear();
    if (t->record) {
        for (auto& m : t->record->members) Py_CLEAR(m.type);
        delete t->record;
        t->record = nullptr;
    }
    Py_CLEAR(t->field_index);
}

static int ctype_traverse(PyObject* self, visitproc visit, void* arg) {
    auto* t = reinterpret_cast<CType*>(self);
    Py_VISIT(t->item);
    for (CType* a : t->args) Py_VISIT(a);
    for (auto& f : t->fields) Py_VISIT(f.type);
    if (t->record)
        for (auto& m : t->record->members) Py_VISIT(m.type);
    return 0;
}

// Only records can be part of a cycle (struct s { struct s *next; }); clearing their
// members breaks it. Derived types keep their item: their intern key names it.
static int ctype_clear(PyObject* self) {
    auto* t = reinterpret_cast<CType*>(self);
    if (t->kind == Kind::Struct || t->kind == Kind::Union) clear_record(t);
    return 0;
}

static void ctype_dealloc(PyObject* self) {
    auto* t = reinterpret_cast<CType*>(self);
    PyObject_GC_UnTrack(self);
    forget_interned(t);  // and item->pointer_cache
    if (t->weakreflist) PyObject_ClearWeakRefs(self);
    clear_record(t);
    Py_CLEAR(t->item);
    for (CType* a : t->args) Py_DECREF(a);
    using std::string, std::vector;
    t->cname.~string();
    t->args.~vector();
    t->fields.~vector();
    t->enumerators.~vector();
    t->intern_key.~string();
    PyObject_GC_Del(self);
}

static PyObject* ctype_repr(PyObject* self) {
    auto* t = reinterpret_cast<CType*>(self);
    return PyUnicode_FromFormat("<ctype '%s'>", t->cname.c_str());
}

// ---------------------------------------------------------------- attributes

static PyObject* no_attribute(const char* name) {
    PyErr_SetString(PyExc_AttributeError, name);
    return nullptr;
}

static PyObject* get_kind(PyObject* self, void*) {
    return PyUnicode_FromString(kind_name(reinterpret_cast<CType*>(self)->kind));
}

static PyObject* get_cname(PyObject* self, void*) {
    const auto& s = reinterpret_cast<CType*>(self)->cname;
    return PyUnicode_FromStringAndSize(s.data(), static_cast<Py_ssize_t>(s.size()));
}

static PyObject* get_item(PyObject* self, void*) {
    auto* t = reinterpret_cast<CType*>(self);
    if (t->kind != Kind::Pointer && t->kind != Kind::Array) return no_attribute("item");
    return Py_NewRef(reinterpret_cast<PyObject*>(t->item));
}

static PyObject* get_length(PyObject* self, void*) {
    auto* t = reinterpret_cast<CType*>(self);
    if (t->kind != Kind::Array) return no_attribute("length");
    if (t->length < 0) Py_RETURN_NONE;
    return PyLong_FromLongLong(t->length);
}

static PyObject* get_fields(PyObject* self, void*) {
    auto* t = reinterpret_cast<CType*>(self);
    if (t->kind != Kind::Struct && t->kind != Kind::Union) return no_attribute("fields");
    try {
        if (!complete_type(t, !(t->flags & RF_OPAQUE_TYPEDEF) && t->record)) Py_RETURN_NONE;
    } catch (...) {
        return translate_exception();
    }
    // Built on each access (cheap, and callers may mutate the list). Not cached: a cached
    // list would hold CFields, which GC cannot see through, in a struct's cycles.
    PyRef list(PyList_New(static_cast<Py_ssize_t>(t->fields.size())));
    if (!list) return nullptr;
    for (size_t i = 0; i < t->fields.size(); ++i) {
        PyRef field(new_cfield(t->fields[i]));
        if (!field) return nullptr;
        PyObject* pair =
            Py_BuildValue("(s#O)", t->fields[i].name.data(),
                          static_cast<Py_ssize_t>(t->fields[i].name.size()), field.get());
        if (!pair) return nullptr;
        PyList_SET_ITEM(list.get(), static_cast<Py_ssize_t>(i), pair);
    }
    return list.release();
}

static PyObject* get_args(PyObject* self, void*) {
    auto* t = reinterpret_cast<CType*>(self);
    if (t->kind != Kind::Function) return no_attribute("args");
    PyObject* tuple = PyTuple_New(static_cast<Py_ssize_t>(t->args.size()));
    if (!tuple) return nullptr;
    for (size_t i = 0; i < t->args.size(); ++i)
        PyTuple_SET_ITEM(tuple, static_cast<Py_ssize_t>(i),
                         Py_NewRef(reinterpret_cast<PyObject*>(t->args[i])));
    return tuple;
}

static PyObject* get_result(PyObject* self, void*) {
    auto* t = reinterpret_cast<CType*>(self);
    if (t->kind != Kind::Function) return no_attribute("result");
    return Py_NewRef(reinterpret_cast<PyObject*>(t->item));
}

static PyObject* get_ellipsis(PyObject* self, void*) {
    auto* t = reinterpret_cast<CType*>(self);
    if (t->kind != Kind::Function) return no_attribute("ellipsis");
    return PyBool_FromLong(t->ellipsis);
}

static PyObject* get_abi(PyObject* self, void*) {
    auto* t = reinterpret_cast<CType*>(self);
    if (t->kind != Kind::Function) return no_attribute("abi");
    return PyLong_FromLong(static_cast<long>(t->callconv));
}

static PyObject* enum_map(PyObject* self, const char* attr, bool by_name) {
    auto* t = reinterpret_cast<CType*>(self);
    if (t->kind != Kind::Enum) return no_attribute(attr);
    PyRef dict(PyDict_New());
    if (!dict) return nullptr;
    // Walk backwards so that, for duplicated values, the first name wins as in cffi.
    for (auto it = t->enumerators.rbegin(); it != t->enumerators.rend(); ++it) {
        PyRef name(
            PyUnicode_FromStringAndSize(it->name.data(), static_cast<Py_ssize_t>(it->name.size())));
        PyRef value(int128_to_python(it->value));
        if (!name || !value) return nullptr;
        int rc = by_name ? PyDict_SetItem(dict.get(), name.get(), value.get())
                         : PyDict_SetItem(dict.get(), value.get(), name.get());
        if (rc < 0) return nullptr;
    }
    return dict.release();
}

static PyObject* get_elements(PyObject* self, void*) { return enum_map(self, "elements", false); }
static PyObject* get_relements(PyObject* self, void*) { return enum_map(self, "relements", true); }

static PyGetSetDef ctype_getset[] = {
    {"kind", get_kind, nullptr,
     "one of 'primitive', 'pointer', 'array', 'void', 'struct', "
     "'union', 'enum', 'function'",
     nullptr},
    {"cname", get_cname, nullptr, "the C name of the type", nullptr},
    {"item", get_item, nullptr, "pointers and arrays: the item type", nullptr},
    {"length", get_length, nullptr, "arrays: the length, or None", nullptr},
    {"fields", get_fields, nullptr, "structs/unions: list of (name, CField), or None", nullptr},
    {"args", get_args, nullptr, "functions: tuple of argument types", nullptr},
    {"result", get_result, nullptr, "functions: the result type", nullptr},
    {"ellipsis", get_ellipsis, nullptr, "functions: True if variadic", nullptr},
    {"abi", get_abi, nullptr, "functions: the calling convention (0: the platform's default)",
     nullptr},
    {"elements", get_elements, nullptr, "enums: dict value -> name", nullptr},
    {"relements", get_relements, nullptr, "enums: dict name -> value", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

static PyObject* ctype_dir(PyObject* self, PyObject*) {
    auto* t = reinterpret_cast<CType*>(self);
    switch (t->kind) {
        case Kind::Pointer:
        case Kind::Array:
            return Py_BuildValue(t->kind == Kind::Array ? "[ssss]" : "[sss]", "kind", "cname",
                                 "item", "length");
        case Kind::Struct:
        case Kind::Union: return Py_BuildValue("[sss]", "kind", "cname", "fields");
        case Kind::Enum: return Py_BuildValue("[ssss]", "kind", "cname", "elements", "relements");
        case Kind::Function:
            return Py_BuildValue("[ssssss]", "kind", "cname", "args", "result", "ellipsis", "abi");
        default: return Py_BuildValue("[ss]", "kind", "cname");
    }
}

static PyMethodDef ctype_methods[] = {
    {"__dir__", ctype_dir, METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

PyTypeObject CType_Type;

bool init_ctype_types(PyObject* module) {
    PyTypeObject& f = CField_Type;
    Py_SET_REFCNT(&f, 1);
    f.tp_name = "cffix.CField";
    f.tp_basicsize = sizeof(CFieldObject);
    f.tp_dealloc = cfield_dealloc;
    f.tp_flags = Py_TPFLAGS_DEFAULT;
    f.tp_doc = "A field of a struct or union type, as found in CType.fields.";
    f.tp_members = cfield_members;

    PyTypeObject& t = CType_Type;
    Py_SET_REFCNT(&t, 1);
    t.tp_name = "cffix.CType";
    t.tp_basicsize = sizeof(CType);
    t.tp_dealloc = ctype_dealloc;
    t.tp_repr = ctype_repr;
    t.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC;
    t.tp_doc = "A C type, as returned by ffi.typeof(). Equal types are the same object.";
    t.tp_traverse = ctype_traverse;
    t.tp_clear = ctype_clear;
    t.tp_weaklistoffset = offsetof(CType, weakreflist);
    t.tp_methods = ctype_methods;
    t.tp_getset = ctype_getset;

    if (PyType_Ready(&CType_Type) < 0 || PyType_Ready(&CField_Type) < 0) return false;
    if (PyModule_AddObjectRef(module, "CType", reinterpret_cast<PyObject*>(&CType_Type)) < 0)
        return false;
    return PyModule_AddObjectRef(module, "CField", reinterpret_cast<PyObject*>(&CField_Type)) >= 0;
}

}  // namespace cffix::types
