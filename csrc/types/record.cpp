// Completing types: a declared struct/union gets its layout once every member type has
// a size (a member may be a struct declared later in the same cdef), and arrays of such
// records get their size then. Anonymous struct/union members are flattened into the
// parent's field list, as cffi shows them.
#include <algorithm>
#include <string>

#include "types/ctype.h"
#include "types/layout.h"
#include "util/errors.h"
#include "util/ft.h"

namespace cffix::types {

static bool is_signed_integer(const CType* t) {
    if (t->kind == Kind::Enum) return t->item && (t->item->flags & PF_SIGNED);
    if (t->flags & PF_CHAR) return static_cast<char>(-1) < 0;
    return (t->flags & PF_SIGNED) != 0;
}

static bool is_flexible(const CType* t) { return t->kind == Kind::Array && t->length < 0; }

static LayoutInput layout_input(const CType* t) {
    const RecordDecl& rec = *t->record;
    LayoutInput in;
    in.is_union = t->kind == Kind::Union;
    in.packed = rec.packed;
    in.pack = rec.pack;
    in.aligned = rec.aligned;
    in.name = t->cname;
    in.members.reserve(rec.members.size());
    for (const MemberDecl& m : rec.members) {
        LayoutMember lm;
        lm.flexible = is_flexible(m.type);
        lm.size = lm.flexible ? 0 : static_cast<uint64_t>(m.type->size);
        lm.align = m.type->align ? m.type->align : 1;
        lm.bitsize = m.bitsize;
        lm.is_signed = is_signed_integer(m.type);
        lm.is_bool = m.type->kind == Kind::Primitive && (m.type->flags & PF_BOOL);
        lm.pos = m.pos;
        lm.aligned = m.aligned;
        lm.packed = m.packed;
        lm.name = m.name;
        in.members.push_back(std::move(lm));
    }
    return in;
}

static void add_field(CType* t, FieldInfo f) {
    Py_INCREF(f.type);
    t->fields.push_back(std::move(f));
}

static void store_layout(CType* t, const LayoutResult& out) {
    const RecordDecl& rec = *t->record;
    t->fields.reserve(rec.members.size());  // exact unless an anonymous member is flattened
    // A list initializer sets the fields of a union's first member only (all of them if it
    // is an anonymous struct, as in cffi); the fields of later members are marked. The
    // fields of an anonymous member keep the marks of its own layout.
    bool later_union_member = false;
    for (size_t i = 0; i < rec.members.size(); ++i) {
        const MemberDecl& m = rec.members[i];
        const LayoutMemberResult& r = out.members[i];
        bool anonymous_record = m.name.empty() && m.bitsize < 0 &&
                                (m.type->kind == Kind::Struct || m.type->kind == Kind::Union);
        if (anonymous_record) {
            for (const FieldInfo& inner : m.type->fields) {
                FieldInfo f = inner;
                f.offset += static_cast<int64_t>(r.offset);
                if (later_union_member) f.flags |= FF_IGNORE_IN_CTOR;
                add_field(t, std::move(f));
            }
            later_union_member = t->kind == Kind::Union;
            continue;
        }
        if (m.name.empty()) continue;  // unnamed bitfield: padding only
        FieldInfo f;
        if (later_union_member) f.flags = FF_IGNORE_IN_CTOR;
        later_union_member = t->kind == Kind::Union;
        f.name = m.name;
        f.type = m.type;
        f.offset = static_cast<int64_t>(r.offset);
        f.bitshift = is_flexible(m.type) ? kFlexibleArrayMember : r.bitshift;
        f.bitsize = r.bitsize;
        add_field(t, std::move(f));
    }
    t->size = static_cast<int64_t>(out.size);
    t->align = out.align;
    ft::store_release(t->flags, static_cast<uint16_t>(t->flags | RF_COMPLETE));  // last
}

// The layout the C compiler computed for an API-mode module (see CompilerFact). Its
// generator refuses bitfields in such records, so every member has an offset.
static LayoutResult compiler_layout(const RecordDecl& rec) {
    LayoutResult out;
    out.size = static_cast<uint64_t>(rec.compiler_size);
    out.align = static_cast<uint32_t>(rec.compiler_align);
    out.members.resize(rec.members.size());
    for (size_t i = 0; i < rec.members.size(); ++i)
        out.members[i].offset = static_cast<uint64_t>(rec.compiler_members[2 * i]);
    return out;
}

// The first disagreement between the layout just stored in `t` and the compiler's (API
// mode, RecordDecl::checked), in cffi's words and order: field sizes, field offsets, the
// total size, the alignment. Empty when they agree.
static std::string layout_disagreement(const CType* t) {
    const RecordDecl& rec = *t->record;
    std::vector<const FieldInfo*> fields;
    for (const FieldInfo& f : t->fields)
        if (!f.is_bitfield() && !f.name.empty()) fields.push_back(&f);
    auto differs = [&](const std::string& what, int64_t cdef, int64_t compiler) {
        return t->cname + ": " + what + " (cdef says " + std::to_string(cdef) +
               ", but C compiler says " + std::to_string(compiler) +
               "). fix it or use \"...;\" as the last field in the cdef for " + t->cname +
               " to make it flexible";
    };
    if (rec.checked_fields.size() != 2 * fields.size())
        return t->cname + ": the compiled module describes " +
               std::to_string(rec.checked_fields.size() / 2) + " fields, the cdef has " +
               std::to_string(fields.size());
    for (size_t i = 0; i < fields.size(); ++i) {
        int64_t size = rec.checked_fields[2 * i + 1];
        if (size >= 0 && !fields[i]->is_flexible() && fields[i]->type->size != size)
            return differs("wrong size for field '" + fields[i]->name + "'", fields[i]->type->size,
                           size);
    }
    for (size_t i = 0; i < fields.size(); ++i)
        if (fields[i]->offset != rec.checked_fields[2 * i])
            return differs("wrong offset for field '" + fields[i]->name + "'", fields[i]->offset,
                           rec.checked_fields[2 * i]);
    if (t->size != rec.checked_size) return differs("wrong total size", t->size, rec.checked_size);
    if (t->align != rec.checked_align)
        return differs("wrong total alignment", t->align, rec.checked_align);
    return {};
}

static int declaring_records = 0;  // under the GIL
DeclaringRecords::DeclaringRecords() { ++declaring_records; }
DeclaringRecords::~DeclaringRecords() { --declaring_records; }

// Undoes store_layout(): the record stays incomplete.
static void forget_layout(CType* t) {
    for (FieldInfo& f : t->fields) Py_CLEAR(f.type);
    t->fields.clear();
    t->size = -1;
    t->align = 0;
    t->flags &= static_cast<uint16_t>(~RF_COMPLETE);
}

static bool complete_record(CType* t, bool error, bool guess) {
    if (ft::load_acquire(t->flags) & RF_COMPLETE) return true;
    // One thread lays a record out at a time (free-threaded build): another one would see
    // `in_progress` and take the record for one that contains itself.
    ft::CriticalSection section(reinterpret_cast<PyObject*>(t));
    if (t->flags & RF_COMPLETE) return true;
    // A cdef layout the C compiler disagrees with: never usable (cffi's ffi.error).
    if (t->record && !t->record->layout_error.empty()) {
        if (error || !declaring_records) throw Error(ErrorKind::FFIError, t->record->layout_error);
        return false;
    }
    if (!t->record) {
        if (error)
            throw Error(ErrorKind::ValueError, "ctype '" + t->cname + "' is of unknown size");
        return false;
    }
    RecordDecl& rec = *t->record;
    if (rec.partial) {  // `...;`: only the C compiler knows the layout (API mode)
        if (error) throw Error(ErrorKind::VerificationMissing, t->cname);
        return false;
    }
    if (rec.in_progress)
        throw Error(ErrorKind::CDefError, "'" + t->cname + "' contains itself by value");
    rec.in_progress = true;
    struct Guard {
        RecordDecl& r;
        ~Guard() { r.in_progress = false; }
    } guard{rec};
    for (size_t i = 0; i < rec.members.size(); ++i) {
        const MemberDecl& m = rec.members[i];
        // The compiler's layout may have one before the last member (see Scope::fill_record).
        bool last = i + 1 == rec.members.size() || rec.from_compiler;
        if (is_flexible(m.type) && last) {
            if (!complete_type(m.type->item, error, guess)) return false;
            continue;
        }
        if (!complete_type(m.type, false, guess)) {
            if (!error) return false;
            if (types::is_record(m.type) && m.type->record && !m.type->record->layout_error.empty())
                throw Error(ErrorKind::FFIError, m.type->record->layout_error);
            throw Error(ErrorKind::CDefError, "'" + t->cname + "': field '" + m.name +
                                                  "' has incomplete type '" + m.type->cname + "'");
        }
    }
    int nesting = 0;
    for (const MemberDecl& m : rec.members) {
        const CType* held = is_flexible(m.type) ? m.type->item : m.type;
        nesting = std::max(nesting, held->nesting + (held == m.type ? 0 : 1));
    }
    if (nesting >= kMaxNesting)
        throw Error(ErrorKind::CDefError, "'" + t->cname + "' is nested too deeply");
    store_layout(t, rec.from_compiler ? compiler_layout(rec) : layout_record(layout_input(t)));
    if (rec.checked) {
        std::string disagreement = layout_disagreement(t);
        if (!disagreement.empty()) {
            forget_layout(t);
            rec.layout_error = std::move(disagreement);
            if (error || !declaring_records) throw Error(ErrorKind::FFIError, rec.layout_error);
            return false;
        }
        rec.checked = false;  // compared once
    }
    t->nesting = static_cast<uint16_t>(nesting + 1);
    return true;
}

// t->field_index is a tuple: (dict name -> index, then the names in field order). Both
// hold the interned name strings.
//
// Built once, then only read: published with a release store, and a thread that lost the
// race to build it (free-threaded build) drops its own.
const FieldInfo* find_field(CType* t, PyObject* name) {
    PyObject* field_index = ft::load_acquire(t->field_index);
    if (!field_index) {
        size_t n = t->fields.size();
        PyRef index(PyTuple_New(static_cast<Py_ssize_t>(n + 1)));
        PyRef by_name(PyDict_New());
        if (!index || !by_name) return nullptr;
        // Reversed, so that the first of two equal names wins.
        for (size_t i = n; i-- > 0;) {
            const std::string& text = t->fields[i].name;
            PyRef key(PyUnicode_InternFromString(text.c_str()));
            PyRef value(PyLong_FromSize_t(i));
            if (!key || !value || PyDict_SetItem(by_name.get(), key.get(), value.get()) < 0)
                return nullptr;
            PyTuple_SET_ITEM(index.get(), static_cast<Py_ssize_t>(i + 1), key.release());
        }
        PyTuple_SET_ITEM(index.get(), 0, by_name.release());
        PyObject* expected = nullptr;
        if (ft::compare_exchange(t->field_index, expected, index.get())) {
            field_index = index.release();
        } else {
            field_index = expected;  // another thread's, equal
        }
    }
    // A small record: first by identity, in field order (the first of equal names). Names
    // in code (p.x) are interned strings, as these are: a few instructions a field,
    // where the hash lookup costs about a hundred.
    Py_ssize_t count = PyTuple_GET_SIZE(field_index) - 1;
    if (count <= 16) {
        PyObject* const* names = &PyTuple_GET_ITEM(field_index, 1);
        for (Py_ssize_t i = 0; i < count; ++i)
            if (names[i] == name) return &t->fields[static_cast<size_t>(i)];
    }
    PyObject* hit = PyDict_GetItemWithError(PyTuple_GET_ITEM(field_index, 0), name);
    if (!hit) return nullptr;
    return &t->fields[PyLong_AsSize_t(hit)];
}

// `enum foo;` used where its size is needed: taken as 'unsigned int' (what gcc gives an
// enum of small non-negative values), with cffi's warning, as cffi does at first use. The
// type keeps that layout: a later definition of the enum is a redeclaration (scope.cpp),
// so memory allocated with the guessed size is never reinterpreted.
static bool guess_opaque_enum(CType* t) {
    if (!t->enumerators.empty() || (t->flags & RF_PARTIAL)) return false;
    std::string message = "'" + t->cname +
                          "' has no values explicitly defined; guessing that it is equivalent "
                          "to 'unsigned int'";
    if (PyErr_WarnEx(PyExc_UserWarning, message.c_str(), 1) < 0) throw PythonErrorSet();
    if (t->size >= 0) return true;  // the warning's code completed it
    CType* base = primitive_type("unsigned int");
    t->item = base;
    t->conv = base->conv;
    t->size = base->size;
    t->align = base->align;
    t->flags |= RF_GUESSED;
    return true;
}

bool complete_type(CType* t, bool error, bool guess_enums) {
    // Completing a record or array completes its members first: a chain of types declared
    // before their members (struct a { struct b m; }; struct b {...}; ...) recurses once
    // per level.
    static CFFIX_FT_THREAD_LOCAL int depth = 0;
    struct DepthGuard {
        DepthGuard() { ++depth; }
        ~DepthGuard() { --depth; }
    } guard;
    if (depth > kMaxNesting)
        throw Error(ErrorKind::CDefError, "'" + t->cname + "' is nested too deeply");
    switch (t->kind) {
        case Kind::Primitive:
            if (!(t->flags & PF_DOTS)) return true;
            if (error) throw_unresolved(t);
            return false;
        case Kind::Pointer:
        case Kind::Function: return true;
        case Kind::Void:
            if (error) throw Error(ErrorKind::ValueError, "ctype 'void' is of unknown size");
            return false;
        case Kind::Enum:
            if (t->size >= 0) return true;
            if (guess_enums && guess_opaque_enum(t)) return true;
            if (error)
                throw Error(ErrorKind::ValueError, "ctype '" + t->cname + "' is of unknown size");
            return false;
        case Kind::Array:
            if (t->size >= 0) return true;
            if (t->length < 0) {
                if (error)
                    throw Error(ErrorKind::ValueError,
                                "ctype '" + t->cname + "' is of unknown size");
                return false;
            }
            if (!complete_type(t->item, error, guess_enums)) return false;
            if (t->item->size != 0 && t->length > INT64_MAX / t->item->size)
                throw Error(ErrorKind::OverflowError, "array size would overflow a ssize_t");
            if (t->item->nesting >= kMaxNesting)
                throw Error(ErrorKind::CDefError, "'" + t->cname + "' is nested too deeply");
            t->size = t->length * t->item->size;
            t->align = t->item->align;
            t->nesting = static_cast<uint16_t>(t->item->nesting + 1);
            return true;
        case Kind::Struct:
        case Kind::Union: return complete_record(t, error, guess_enums);
    }
    return false;
}

}  // namespace cffix::types
