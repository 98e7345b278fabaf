// CType objects: allocation, interning, the derived-type constructors and cnames.
// The Python-visible attributes live in ctype_object.cpp; primitives in primitives.cpp.
#include "types/ctype.h"

#include <ffi.h>

#include <cstring>
#include <new>
#include <unordered_map>

#include "types/errors.h"

namespace cffix::types {

// Borrowed references: a dying interned type removes itself (see ctype_dealloc). Never
// destroyed, so no static-destruction-order hazard at interpreter exit.
static auto& intern_table() {
    static auto* table = new std::unordered_map<std::string, CType*>();
    return *table;
}

CType* alloc_ctype(Kind kind) {
    CType* t = PyObject_GC_New(CType, &CType_Type);
    if (!t) throw PythonErrorSet{};
    t->kind = kind;
    t->conv = kind == Kind::Pointer    ? Conv::Pointer
              : kind == Kind::Function ? Conv::Function
              : kind == Kind::Array    ? Conv::Array
              : kind == Kind::Struct || kind == Kind::Union ? Conv::Record
                                                            : Conv::None;
    t->flags = 0;
    t->align = 0;
    t->size = -1;
    t->length = -1;
    t->item = nullptr;
    t->name_pos = 0;
    t->abi = FFI_DEFAULT_ABI;
    t->ellipsis = false;
    new (&t->cname) std::string();
    new (&t->args) std::vector<CType*>();
    new (&t->fields) std::vector<FieldInfo>();
    new (&t->enumerators) std::vector<Enumerator>();
    t->record = nullptr;
    new (&t->intern_key) std::string();
    t->pointer_cache = nullptr;
    t->field_index = nullptr;
    t->call_plan = nullptr;
    t->call_plan_free = nullptr;
    t->weakreflist = nullptr;
    return t;
}

// Registers a fully built type under `key`; the caller hands over its reference.
static CType* intern(CType* t, std::string key) {
    t->intern_key = std::move(key);
    intern_table().emplace(t->intern_key, t);
    PyObject_GC_Track(reinterpret_cast<PyObject*>(t));
    return t;
}

static CType* lookup_interned(const std::string& key) {
    auto& table = intern_table();
    auto it = table.find(key);
    if (it == table.end()) return nullptr;
    Py_INCREF(it->second);
    return it->second;
}

void forget_interned(CType* t) {
    if (t->intern_key.empty()) return;
    auto& table = intern_table();
    auto it = table.find(t->intern_key);
    if (it != table.end() && it->second == t) table.erase(it);
}

// Keys are compact binary strings (a tag byte, then raw pointer bytes): cheap to build
// and to hash, and unique because the pointed-to types are alive while the key is.
static std::string address_key(char tag, const void* p) {
    std::string key(1 + sizeof p, tag);
    memcpy(key.data() + 1, &p, sizeof p);
    return key;
}

CType* make_primitive(std::string_view name, int64_t size, uint32_t align, uint16_t flags) {
    std::string key = "p:";
    key += name;
    if (CType* t = lookup_interned(key)) return t;
    CType* t = alloc_ctype(Kind::Primitive);
    t->cname = name;
    t->name_pos = static_cast<uint32_t>(t->cname.size());
    t->size = size;
    t->align = align;
    t->flags = flags;
    t->conv = primitive_conv(size, flags);
    return intern(t, std::move(key));
}

Conv primitive_conv(int64_t size, uint16_t flags) {
    if (flags & PF_CHAR) return Conv::Char;
    if (flags & PF_BOOL) return Conv::Bool;
    if (flags & PF_WCHAR) return size == 2 ? Conv::WChar16 : Conv::WChar32;
    if (flags & PF_FLOAT) return size == 4 ? Conv::Float : Conv::Double;
    if (flags & PF_LONGDOUBLE) return Conv::LongDouble;
    if (flags & PF_COMPLEX) return size == 8 ? Conv::ComplexFloat : Conv::ComplexDouble;
    bool is_signed = flags & PF_SIGNED;
    switch (size) {
        case 1: return is_signed ? Conv::Int8 : Conv::UInt8;
        case 2: return is_signed ? Conv::Int16 : Conv::UInt16;
        case 4: return is_signed ? Conv::Int32 : Conv::UInt32;
        case 8: return is_signed ? Conv::Int64 : Conv::UInt64;
    }
    return Conv::None;
}

CType* void_type() {
    if (CType* t = lookup_interned("void")) return t;
    CType* t = alloc_ctype(Kind::Void);
    t->cname = "void";
    t->name_pos = 4;
    return intern(t, "void");
}

static std::string insert_at(const CType* item, std::string_view text) {
    std::string out = item->cname;
    out.insert(item->name_pos, text);
    return out;
}

CType* pointer_type(CType* item) {
    if (item->pointer_cache) {
        Py_INCREF(item->pointer_cache);
        return item->pointer_cache;
    }
    std::string key = address_key('*', item);
    CType* t = lookup_interned(key);
    if (!t) {
        t = alloc_ctype(Kind::Pointer);
        // `int *`, `int * *`; a pointer to an array needs parentheses: `int(*)[5]`.
        bool paren = item->kind == Kind::Array;
        t->cname = insert_at(item, paren ? "(*)" : " *");
        t->name_pos = item->name_pos + 2;
        t->size = sizeof(void*);
        t->align = alignof(void*);
        Py_INCREF(item);
        t->item = item;
        intern(t, std::move(key));
    }
    item->pointer_cache = t;
    return t;
}

CType* array_type(CType* item, int64_t length) {
    if (item->kind == Kind::Void || (item->kind == Kind::Array && item->length < 0)) {
        throw Error(ErrorKind::CDefError,
                    "array of '" + item->cname + "': the item must have a known size");
    }
    std::string key = address_key('[', item);
    key.append(reinterpret_cast<const char*>(&length), sizeof length);
    if (CType* t = lookup_interned(key)) return t;
    CType* t = alloc_ctype(Kind::Array);
    std::string brackets = length < 0 ? "[]" : "[" + std::to_string(length) + "]";
    t->cname = insert_at(item, brackets);
    t->name_pos = item->name_pos;
    t->length = length;
    t->align = item->align;
    Py_INCREF(item);
    t->item = item;
    if (length >= 0 && item->size >= 0) {
        if (item->size != 0 && length > INT64_MAX / item->size) {
            Py_DECREF(t);
            throw Error(ErrorKind::OverflowError, "array size would overflow a ssize_t");
        }
        t->size = length * item->size;
    }
    return intern(t, std::move(key));
}

CType* function_type(CType* result, const std::vector<CType*>& args, bool ellipsis, int abi) {
    std::string key;
    key.reserve(2 + (args.size() + 1) * sizeof(void*) + sizeof abi);
    key += ellipsis ? 'F' : 'f';
    key.append(reinterpret_cast<const char*>(&result), sizeof result);
    for (CType* a : args) key.append(reinterpret_cast<const char*>(&a), sizeof a);
    key.append(reinterpret_cast<const char*>(&abi), sizeof abi);
    if (CType* t = lookup_interned(key)) return t;
    CType* t = alloc_ctype(Kind::Function);
    std::string sig = "(*)(";
    for (size_t i = 0; i < args.size(); ++i) {
        if (i) sig += ", ";
        sig += args[i]->cname;
    }
    if (ellipsis) sig += args.empty() ? "..." : ", ...";
    sig += ")";
    t->cname = insert_at(result, sig);
    t->name_pos = result->name_pos + 2;
    t->size = sizeof(void (*)());
    t->align = alignof(void (*)());
    t->ellipsis = ellipsis;
    t->abi = abi;
    Py_INCREF(result);
    t->item = result;
    t->args = args;
    for (CType* a : args) Py_INCREF(a);
    return intern(t, std::move(key));
}

CType* new_record_type(Kind kind, std::string cname) {
    CType* t = alloc_ctype(kind);
    t->cname = std::move(cname);
    t->name_pos = static_cast<uint32_t>(t->cname.size());
    PyObject_GC_Track(reinterpret_cast<PyObject*>(t));
    return t;
}

std::string cname_with(const CType* type, std::string_view text) { return insert_at(type, text); }

const char* kind_name(Kind kind) {
    switch (kind) {
        case Kind::Void: return "void";
        case Kind::Primitive: return "primitive";
        case Kind::Pointer: return "pointer";
        case Kind::Array: return "array";
        case Kind::Struct: return "struct";
        case Kind::Union: return "union";
        case Kind::Enum: return "enum";
        case Kind::Function: return "function";
    }
    return "?";
}

}  // namespace cffix::types
