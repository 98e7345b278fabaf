// The C type model: one CType Python object per C type.
//
// Derived types (pointers, arrays, function pointers) and primitives are interned
// process-wide: equal types are one object, so identity is equality (`typeof("int *") is
// typeof("int*")`), and an unreferenced type is collected (the intern table holds
// borrowed references that a dying type removes). Struct, union and enum types are one
// object per declaration, owned by the FFI scope that declared them (as in cffi).
//
// As in cffi, a "function" CType stands for a pointer to a function: its cname is
// "int(*)(int)" and its size is that of a pointer when held in a struct or array.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "parse/ast.h"
#include "util/pyref.h"

namespace cffix::types {

enum class Kind : uint8_t { Void, Primitive, Pointer, Array, Struct, Union, Enum, Function };

// A function type's calling convention, as declared (`__cdecl`, `__stdcall`,
// `__fastcall`) where the target has more than one (32-bit Windows); elsewhere, as in C
// compilers and cffi, these keywords change nothing and every function type is Default.
// call/ maps it to the ABI of its call machinery.
enum class CallConv : uint8_t { Default, Cdecl, Stdcall, Fastcall };

// How a value of the type moves between Python and C: computed once when the type is
// made, so converters switch on one byte (enums take their integer type's).
enum class Conv : uint8_t {
    None,  // void, opaque records, types of unknown size
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Bool,
    Char,
    WChar16,
    WChar32,
    Float,
    Double,
    LongDouble,
    ComplexFloat,
    ComplexDouble,
    Pointer,
    Function,
    Record,
    Array,
    // _Float128 where no standard type has its format (x86-64): a cdata holds a value,
    // floats convert to it exactly (util/float128.h); no call passes one by value.
    // Last, so that cffix_api.h's numbering of the others stays.
    Float128,
};

// Primitive classes: hot code tests these bits, never names.
enum PrimFlag : uint16_t {
    PF_SIGNED = 1 << 0,      // a signed integer (char is signed here when the C char is)
    PF_UNSIGNED = 1 << 1,    // an unsigned integer
    PF_CHAR = 1 << 2,        // `char`: converts from/to bytes of length 1
    PF_BOOL = 1 << 3,        // _Bool
    PF_FLOAT = 1 << 4,       // float, double
    PF_LONGDOUBLE = 1 << 5,  // long double
    PF_COMPLEX = 1 << 6,     // float _Complex, double _Complex
    PF_WCHAR = 1 << 7,       // wchar_t, char16_t, char32_t: str of length 1
    // `typedef int... t;` / `typedef float... t;` before the C compiler said what t is:
    // a stand-in of unknown size named t (PF_SIGNED or PF_FLOAT tells which). API mode
    // generates C code that names it; everything else refuses it (unresolved_part).
    PF_DOTS = 1 << 8,
    // with PF_DOTS: `typedef float... t;` where the compiler's t is no float or double
    // (PF_LONGDOUBLE too: a long double); usable nowhere, as in cffi (throw_unresolved).
    PF_UNSUPPORTED = 1 << 9,
    PF_FLOAT128 = 1 << 10,  // _Float128 where long double is not binary128 (x86-64)
    PF_INTEGER = PF_SIGNED | PF_UNSIGNED,
};

// Record (struct/union) and enum states.
enum RecordFlag : uint16_t {
    RF_COMPLETE = 1 << 0,  // the body is declared and the layout is computed
    RF_DECLARED = 1 << 1,  // the body is declared (layout may still wait for a member)
    RF_PARTIAL = 1 << 2,   // `...;` in the body (or `...` in an enum): API mode only
    RF_PACKED = 1 << 3,
    RF_OPAQUE_TYPEDEF = 1 << 4,  // `typedef ... foo_t;`
    RF_GUESSED = 1 << 5,         // `enum foo;` used: taken as 'unsigned int' (record.cpp)
};

struct CType;

// Field flags, as cffi's CField.flags.
enum FieldFlag : int {
    FF_IGNORE_IN_CTOR = 1,  // of a union member after the first: list initializers skip it
};

// FieldInfo::bitshift values that are not a bit position (as cffi's CField.bitshift).
inline constexpr int kNotBitfield = -1;
inline constexpr int kFlexibleArrayMember = -2;  // `T name[]`, the record's last field

struct FieldInfo {
    std::string name;
    CType* type = nullptr;  // owned
    int64_t offset = 0;
    int bitshift = kNotBitfield;  // bitfields: the first bit (see types/layout.h)
    int bitsize = -1;
    int flags = 0;

    bool is_bitfield() const { return bitshift >= 0; }
    bool is_flexible() const { return bitshift == kFlexibleArrayMember; }
};

struct Enumerator {
    std::string name;
    parse::ConstInt value;
};

// A struct/union member as declared, kept until (and after) the layout is computed:
// layout may wait for a member type declared later in the cdef, and an identical
// redeclaration is recognised by comparing these.
struct MemberDecl {
    std::string name;       // "" for an anonymous struct/union member or unnamed bitfield
    CType* type = nullptr;  // owned
    int bitsize = -1;
    uint32_t aligned = 0;
    bool packed = false;
    uint32_t dots_levels = 0;  // bit k: the array level k (0: outermost) is `[...]`, whose
                               // length is the C compiler's
    parse::SourcePos pos;
};

struct RecordDecl {
    std::vector<MemberDecl> members;
    bool packed = false;
    uint32_t pack = 0;
    uint32_t aligned = 0;
    bool partial = false;
    bool declared_partial = false;  // `...;` in the cdef, even once the compiler completed it
    bool in_progress = false;       // guards against a struct containing itself by value
    // API mode: the layout the C compiler computed (see types::CompilerFact), used
    // instead of computing one: size, alignment, then offset and size of each member.
    bool from_compiler = false;
    int64_t compiler_size = 0, compiler_align = 0;
    std::vector<int64_t> compiler_members;
    // API mode, a record the cdef lays out completely: the layout the C compiler gives it
    // (CompilerFact of FactKind::Layout), which the cdef's must equal for the type to be
    // usable; layout_error is cffi's ffi.error text once they were found to differ.
    bool checked = false;
    int64_t checked_size = 0, checked_align = 0;
    std::vector<int64_t> checked_fields;
    std::string layout_error;
};

struct CType {
    PyObject_HEAD
    Kind kind;
    Conv conv;
    uint16_t flags;     // PrimFlag for primitives, RecordFlag for structs/unions/enums
    uint32_t align;     // 0 while unknown
    int64_t size;       // -1 while unknown (opaque, unknown length, pending layout)
    int64_t length;     // arrays: the length, -1 for `T[]`
    CType* item;        // owned: pointee, element, function result, enum's integer type
    uint32_t name_pos;  // where a declarator is inserted into cname
    CallConv callconv;  // functions: the calling convention
    bool ellipsis;      // functions: variadic
    uint16_t nesting;   // records/arrays of known size: levels held by value (see
                        // kMaxNesting); 0 for everything else
    std::string cname;
    std::vector<CType*> args;             // functions: owned argument types
    std::vector<FieldInfo> fields;        // structs/unions: flattened members
    std::vector<Enumerator> enumerators;  // enums
    RecordDecl* record;                   // structs/unions: owned; null until the body is declared
    std::string intern_key;               // "" for non-interned types
    CType* pointer_cache;                 // borrowed: the interned `T *` while it is alive
    PyObject* field_index;                // records: built on first use by find_field (record.cpp)
    PyObject* weakreflist;
};

// Questions asked of types in many places, named once.
// float, double, long double, _Float128: converts from Python floats, float() gives one.
inline bool is_real_floating(Conv c) {
    return c == Conv::Float || c == Conv::Double || c == Conv::LongDouble || c == Conv::Float128;
}
// long double and _Float128: read as a cdata (a Python float would lose precision).
inline bool is_wide_floating(Conv c) { return c == Conv::LongDouble || c == Conv::Float128; }
inline bool is_record(const CType* t) { return t->kind == Kind::Struct || t->kind == Kind::Union; }
// char16_t, char32_t, wchar_t: a str of length 1 each; their arrays take a str.
inline bool is_wide_char(const CType* t) {
    return t->conv == Conv::WChar16 || t->conv == Conv::WChar32;
}
// char, signed char, unsigned char: their arrays take bytes, pointers to them mix freely.
inline bool is_byte_like(const CType* t) {
    return t->kind == Kind::Primitive &&
           (t->conv == Conv::Char || t->conv == Conv::Int8 || t->conv == Conv::UInt8);
}
// The `typedef int... t;` stand-in (PF_DOTS) in `t` (through pointers, arrays and
// function types), or null: such a type exists only for API mode's generator.
const CType* unresolved_part(const CType* t);
// The stand-in for `typedef int... name;` (integer) or `typedef float... name;`.
CType* dots_placeholder(std::string_view name, bool integer);
// Throws the error of a use of `dots` (an unresolved_part): NotImplementedError before
// compilation, FFIError for a PF_UNSUPPORTED one (cffi's texts).
[[noreturn]] void throw_unresolved(const CType* dots);

// The struct member that a struct's objects may extend past its size through: its last
// field when that is a flexible array member, or, through a last field that is a struct
// ending so (a GNU extension, which cffi accepts), that struct's. Null if none.
inline const FieldInfo* last_flexible_member(const CType* record) {
    while (!record->fields.empty()) {  // ends: records nest finitely by value
        const FieldInfo& last = record->fields.back();
        if (last.is_flexible()) return &last;
        if (record->kind != Kind::Struct || last.type->kind != Kind::Struct) return nullptr;
        record = last.type;
    }
    return nullptr;
}
// A struct ending with a flexible array member (see above): its objects may be longer.
inline bool has_flexible_member(const CType* record) {
    return last_flexible_member(record) != nullptr;
}

// How deep records and arrays may nest by value (a struct in a struct in..., arrays of
// arrays): what walks a type's members (layout, initializers, call classification)
// recurses once per level, so deeper types (typedef chains build them without nesting
// in the source) are refused instead of overflowing the C stack.
inline constexpr int kMaxNesting = 1000;

extern PyTypeObject CType_Type;
extern PyTypeObject CField_Type;

inline bool is_ctype(PyObject* obj) { return Py_IS_TYPE(obj, &CType_Type); }

// Readies the Python types; call once at module init. False with an exception set.
bool init_ctype_types(PyObject* module);

// Constructors of interned types: return a new reference; on failure they throw
// (cffix::Error, or PythonErrorSet when Python ran out of memory), as all of types/ does.
CType* void_type();
// A primitive by its canonical or built-in name ("int", "unsigned long", "size_t"...),
// or null when `name` is not a primitive.
CType* primitive_type(std::string_view name);
// The opaque struct `FILE` names in every scope (cffi knows FILE without a declaration).
CType* file_type();
bool is_primitive_name(std::string_view name);
// Internal to types/: allocation and interning helpers shared by its files.
CType* alloc_ctype(Kind kind);
CType* make_primitive(std::string_view name, int64_t size, uint32_t align, uint16_t flags);
void forget_interned(CType* type);
CType* pointer_type(CType* item);
// `typedef ... *name;`: a pointer type named `name` (not interned: one per declaration),
// to an opaque struct that has no name in C; C code spells the pointer by its name.
CType* named_pointer_type(const std::string& name, CType* item);
CType* array_type(CType* item, int64_t length);  // length -1: unknown
// An array of arrays whose length the C compiler gives (`int a[...][...]` before API mode
// knows it): the item may have an unknown length, which array_type() refuses. Only the
// scope makes these, for declarations the compiler completes (their size stays unknown).
CType* array_of_open_arrays(CType* item, int64_t length);
CType* function_type(CType* result, std::span<CType* const> args, bool ellipsis,
                     CallConv callconv = CallConv::Default);

// A new struct/union/enum type (not interned), declared but without a body.
CType* new_record_type(Kind kind, std::string cname);

// CTypes and the cyclic GC. Every CType is made untracked: a cdef of a big header makes
// thousands, and tracked they would all be scanned by the first collection after it (the
// first allocation after the cdef of openssl/ssl.h took 2-3 ms), and again by every older
// one, while an FFI lives. That is safe because only a struct or union closes a reference
// cycle (through its members; derived types reference older types only, primitives and
// enums nothing that leads back), and a record whose scope holds it is alive whatever the
// cycle. So the scope that holds a record calls track_for_gc(record) when it lets it go
// (the FFI dies, override=True replaces it): the record and every derived type it reaches
// up to the next records are tracked, and from then on the GC finds its cycles. Invariant:
// a tracked type's derived types are tracked too.
void track_for_gc(CType* record);

// Gives a declared struct/union its size, alignment and fields once every member type
// is complete. Returns false if a member is still incomplete (`error` = false) or
// throws cffix::Error naming the member (`error` = true). Arrays of such records get
// their size the same way. Throws parse::CDefError for impossible layouts.
// An `enum foo;` without values is taken as 'unsigned int' (with cffi's warning) when
// `guess_enums`: at a use of the type, not while a cdef may still define it.
bool complete_type(CType* type, bool error, bool guess_enums = true);
// While one lives (Scope::cdef declaring), a record whose cdef layout the C compiler
// disagrees with (RecordDecl::layout_error) is merely incomplete for complete_type(t,
// false); at any other time complete_type() raises its ffi.error, error or not, so that
// no use of the type mistakes it for an opaque one.
struct DeclaringRecords {
    DeclaringRecords();
    ~DeclaringRecords();
};

// The conversion kind of a primitive of this size and class.
Conv primitive_conv(int64_t size, uint16_t flags);

// The field called `name` (a str) of a complete struct/union, or null (no exception
// set) if there is none. Null with an exception set only on MemoryError. Field access
// is one dict lookup with the str's cached hash.
const FieldInfo* find_field(CType* record, PyObject* name);

// The type's cname with `text` inserted where a declarator goes.
std::string cname_with(const CType* type, std::string_view text);

// Kind names as cffi prints them ("primitive", "pointer", ...).
const char* kind_name(Kind kind);

}  // namespace cffix::types
