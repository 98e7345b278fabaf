// CType objects: allocation, interning, the derived-type constructors and cnames.
// The Python-visible attributes live in ctype_object.cpp; primitives in primitives.cpp.
#include "types/ctype.h"

#include <cstring>
#include <new>
#include <type_traits>
#include <unordered_map>

#include "util/errors.h"
#include "util/ft.h"
#include "util/hash.h"

namespace cffix::types {

// Borrowed references: a dying interned type removes itself (see ctype_dealloc). Never
// destroyed, so no static-destruction-order hazard at interpreter exit. The keys view each
// type's own `intern_key`, which lives as long as the entry does. Without the GIL the
// table, and every type's pointer_cache, are read and written under intern_mutex, and an
// entry is only taken with try_incref: its type may be dying on another thread, between
// its last decref and forget_interned.
static auto& intern_table() {
    static auto* table = new std::unordered_map<std::string_view, CType*, StringHash>();
    return *table;
}
static ft::Mutex intern_mutex;

CType* alloc_ctype(Kind kind) {
    CType* t = PyObject_GC_New(CType, &CType_Type);
    if (!t) throw PythonErrorSet{};
    t->kind = kind;
    t->conv = kind == Kind::Pointer                         ? Conv::Pointer
              : kind == Kind::Function                      ? Conv::Function
              : kind == Kind::Array                         ? Conv::Array
              : kind == Kind::Struct || kind == Kind::Union ? Conv::Record
                                                            : Conv::None;
    t->flags = 0;
    t->align = 0;
    t->size = -1;
    t->length = -1;
    t->item = nullptr;
    t->name_pos = 0;
    t->callconv = CallConv::Default;
    t->ellipsis = false;
    t->nesting = 0;
    new (&t->cname) std::string();
    new (&t->args) std::vector<CType*>();
    new (&t->fields) std::vector<FieldInfo>();
    new (&t->enumerators) std::vector<Enumerator>();
    t->record = nullptr;
    new (&t->intern_key) std::string();
    t->pointer_cache = nullptr;
    t->field_index = nullptr;
    t->weakreflist = nullptr;
    return t;
}

// Registers a fully built type under `key`; the caller hands over its reference. Returns
// the type now interned under `key`: `t`, or (free-threaded build, another thread made
// the same type first) the other thread's, and then `t` is released.
static CType* intern(CType* t, std::string_view key) {
    t->intern_key.assign(key);
    ft::enable_try_incref(reinterpret_cast<PyObject*>(t));
    CType* winner = t;
    {
        ft::Lock lock(intern_mutex);
        auto& table = intern_table();
        auto [it, inserted] = table.emplace(t->intern_key, t);
        if (!inserted) {
            if (ft::try_incref(reinterpret_cast<PyObject*>(it->second))) {
                winner = it->second;
            } else {  // dying: its dealloc will not find itself in the table
                table.erase(it);
                table.emplace(t->intern_key, t);
            }
        }
    }
    if (winner != t) Py_DECREF(t);  // outside the lock: its dealloc takes it
    return winner;
}

static CType* lookup_interned(std::string_view key) {
    ft::Lock lock(intern_mutex);
    auto& table = intern_table();
    auto it = table.find(key);
    if (it == table.end() || !ft::try_incref(reinterpret_cast<PyObject*>(it->second)))
        return nullptr;
    return it->second;
}

void forget_interned(CType* t) {
    ft::Lock lock(intern_mutex);
    if (t->item && t->item->pointer_cache == t) t->item->pointer_cache = nullptr;
    if (t->intern_key.empty()) return;
    auto& table = intern_table();
    auto it = table.find(t->intern_key);
    if (it != table.end() && it->second == t) table.erase(it);
}

namespace {

// An intern key: compact binary (a tag byte, then raw pointer and integer bytes), cheap
// to build and to hash, and unique because the pointed-to types are alive while the key
// is. Built on the stack; only a type that is new copies it (into its intern_key).
class KeyBuilder {
public:
    explicit KeyBuilder(char tag) { inline_[size_++] = tag; }
    KeyBuilder(const KeyBuilder&) = delete;
    KeyBuilder& operator=(const KeyBuilder&) = delete;
    template <typename T>
    void add(const T& value) {
        static_assert(std::is_trivially_copyable_v<T>);
        append(&value, sizeof value);
    }
    std::string_view view() const {
        return heap_.empty() ? std::string_view(inline_, size_) : std::string_view(heap_);
    }

private:
    void append(const void* bytes, size_t n) {
        if (heap_.empty() && size_ + n <= sizeof inline_) {
            memcpy(inline_ + size_, bytes, n);
            size_ += n;
            return;
        }
        if (heap_.empty()) heap_.assign(inline_, size_);
        heap_.append(static_cast<const char*>(bytes), n);
    }
    char inline_[192];
    size_t size_ = 0;
    std::string heap_;  // used once the key outgrows inline_ (functions of many arguments)
};

}  // namespace

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

const CType* unresolved_part(const CType* t) {
    for (int depth = 0; t && depth <= kMaxNesting; ++depth) {
        if (t->kind == Kind::Primitive) return (t->flags & PF_DOTS) ? t : nullptr;
        if (t->kind == Kind::Function)
            for (const CType* a : t->args)
                if (const CType* hit = unresolved_part(a)) return hit;
        if (t->kind != Kind::Pointer && t->kind != Kind::Array && t->kind != Kind::Function)
            return nullptr;
        t = t->item;
    }
    return nullptr;
}

CType* dots_placeholder(std::string_view name, bool integer) {
    CType* t = alloc_ctype(Kind::Primitive);  // not interned: one per typedef
    t->cname = name;
    t->name_pos = static_cast<uint32_t>(t->cname.size());
    t->flags = PF_DOTS | (integer ? PF_SIGNED : PF_FLOAT);
    t->conv = integer ? Conv::Int64 : Conv::Double;
    return t;
}

void throw_unresolved(const CType* dots) {
    if (dots->flags & PF_UNSUPPORTED) {
        if (dots->flags & PF_LONGDOUBLE)
            throw Error(ErrorKind::FFIError,
                        "primitive floating-point type is 'long double', not supported for now "
                        "with the syntax 'typedef double... xxx;'");
        throw Error(ErrorKind::FFIError,
                    "primitive floating-point type with an unexpected size (or not a float type "
                    "at all)");
    }
    throw Error(ErrorKind::NotImplementedError,
                std::string(dots->flags & PF_FLOAT ? "float" : "integer") + " type '" +
                    dots->cname + "' can only be used after compilation");
}

Conv primitive_conv(int64_t size, uint16_t flags) {
    if (flags & PF_CHAR) return Conv::Char;
    if (flags & PF_BOOL) return Conv::Bool;
    if (flags & PF_WCHAR) return size == 2 ? Conv::WChar16 : Conv::WChar32;
    if (flags & PF_FLOAT) return size == 4 ? Conv::Float : Conv::Double;
    if (flags & PF_LONGDOUBLE) return Conv::LongDouble;
    if (flags & PF_FLOAT128) return Conv::Float128;
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

// The interned `T *` of `item`, remembered by `item`, or null.
static CType* cached_pointer(CType* item) {
    ft::Lock lock(intern_mutex);
    CType* t = item->pointer_cache;
    return t && ft::try_incref(reinterpret_cast<PyObject*>(t)) ? t : nullptr;
}

CType* pointer_type(CType* item) {
    if (CType* t = cached_pointer(item)) return t;
    KeyBuilder key('*');
    key.add(item);
    CType* t = lookup_interned(key.view());
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
        t = intern(t, key.view());
    }
    ft::Lock lock(intern_mutex);
    item->pointer_cache = t;
    return t;
}

CType* named_pointer_type(const std::string& name, CType* item) {
    CType* t = alloc_ctype(Kind::Pointer);
    t->cname = name;
    t->name_pos = static_cast<uint32_t>(name.size());
    t->size = sizeof(void*);
    t->align = alignof(void*);
    Py_INCREF(item);
    t->item = item;
    return t;
}

CType* array_type(CType* item, int64_t length) {
    if (item->kind == Kind::Void || (item->kind == Kind::Array && item->length < 0)) {
        // cffi's text and ValueError (a CDefError too); cffix's words in a note.
        Error e(ErrorKind::CDefError, "array item of unknown size: '" + item->cname + "'");
        e.add_note("array of '" + item->cname + "': the item must have a known size");
        throw e.also_is(ErrorKind::ValueError);
    }
    return array_of_open_arrays(item, length);
}

CType* array_of_open_arrays(CType* item, int64_t length) {
    KeyBuilder key('[');
    key.add(item);
    key.add(length);
    if (CType* t = lookup_interned(key.view())) return t;
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
        if (item->nesting >= kMaxNesting) {
            Py_DECREF(t);
            throw Error(ErrorKind::CDefError, "'" + item->cname + "' is nested too deeply");
        }
        t->size = length * item->size;
        t->nesting = static_cast<uint16_t>(item->nesting + 1);
    }
    return intern(t, key.view());
}

CType* function_type(CType* result, std::span<CType* const> args, bool ellipsis,
                     CallConv callconv) {
    KeyBuilder key(ellipsis ? 'F' : 'f');
    key.add(result);
    for (CType* a : args) key.add(a);
    key.add(static_cast<int>(callconv));
    if (CType* t = lookup_interned(key.view())) return t;
    CType* t = alloc_ctype(Kind::Function);
    // The result's cname with "(*)(args)" where its declarator goes.
    std::string_view before = std::string_view(result->cname).substr(0, result->name_pos);
    std::string_view after = std::string_view(result->cname).substr(result->name_pos);
    size_t length = result->cname.size() + 10;
    for (CType* a : args) length += a->cname.size() + 2;
    std::string& cname = t->cname;
    cname.reserve(length);
    cname += before;
    cname += "(*)(";
    for (size_t i = 0; i < args.size(); ++i) {
        if (i) cname += ", ";
        cname += args[i]->cname;
    }
    if (ellipsis) cname += args.empty() ? "..." : ", ...";
    cname += ')';
    cname += after;
    t->name_pos = result->name_pos + 2;
    t->size = sizeof(void (*)());
    t->align = alignof(void (*)());
    t->ellipsis = ellipsis;
    t->callconv = callconv;
    Py_INCREF(result);
    t->item = result;
    t->args.assign(args.begin(), args.end());
    for (CType* a : args) Py_INCREF(a);
    return intern(t, key.view());
}

CType* new_record_type(Kind kind, std::string cname) {
    CType* t = alloc_ctype(kind);
    t->cname = std::move(cname);
    t->name_pos = static_cast<uint32_t>(t->cname.size());
    return t;
}

void track_for_gc(CType* root) {
    ft::Lock lock(intern_mutex);  // two scopes may release shared derived types at once
    std::vector<CType*> todo{root};
    auto push = [&todo](CType* t) {
        if (t && !is_record(t)) todo.push_back(t);
    };
    while (!todo.empty()) {
        CType* t = todo.back();
        todo.pop_back();
        auto* object = reinterpret_cast<PyObject*>(t);
        // Tracked already: so is everything it reaches (this walk is the only tracker).
        if (PyObject_GC_IsTracked(object)) continue;
        PyObject_GC_Track(object);
        push(t->item);
        for (CType* a : t->args) push(a);
        for (const FieldInfo& f : t->fields) push(f.type);
        if (t->record)
            for (const MemberDecl& m : t->record->members) push(m.type);
    }
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
