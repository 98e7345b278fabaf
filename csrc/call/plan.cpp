// Building call plans: libffi types and cif, argument buffer layout, thunk eligibility.
#include "call/plan.h"

#include <unordered_map>

#include "call/thunks.h"
#include "util/errors.h"

namespace cffix::call {

using types::Conv;
using types::Kind;

ffi_type* scalar_ffi_type(const CType* t) {
    switch (t->conv) {
        case Conv::Int8: return &ffi_type_sint8;
        case Conv::Int16: return &ffi_type_sint16;
        case Conv::Int32: return &ffi_type_sint32;
        case Conv::Int64: return &ffi_type_sint64;
        case Conv::UInt8:
        case Conv::Bool: return &ffi_type_uint8;
        case Conv::Char: return static_cast<char>(-1) < 0 ? &ffi_type_sint8 : &ffi_type_uint8;
        case Conv::UInt16:
        case Conv::WChar16: return &ffi_type_uint16;
        case Conv::UInt32: return &ffi_type_uint32;
        case Conv::WChar32:
            return (t->flags & types::PF_SIGNED) ? &ffi_type_sint32 : &ffi_type_uint32;
        case Conv::UInt64: return &ffi_type_uint64;
        case Conv::Float: return &ffi_type_float;
        case Conv::Double: return &ffi_type_double;
        case Conv::LongDouble: return &ffi_type_longdouble;
#ifdef FFI_TARGET_HAS_COMPLEX_TYPE
        case Conv::ComplexFloat: return &ffi_type_complex_float;
        case Conv::ComplexDouble: return &ffi_type_complex_double;
#endif
        case Conv::Pointer:
        case Conv::Function: return &ffi_type_pointer;
        default: return nullptr;
    }
}

ffi_type* LibffiTypes::fail(PyObject* exc, std::string why) {
    problem_type_ = exc;
    problem_ = std::move(why);
    return nullptr;
}

ffi_type* LibffiTypes::fail_record(const CType* t, std::string why, std::string cffi_reason) {
    cffi_record_ = t;
    cffi_reason_ = std::move(cffi_reason);
    return fail(PyExc_NotImplementedError, std::move(why));
}

namespace {
// cffi's reasons for a struct libffi cannot pass ("It is a ...").
constexpr const char* kCffiPartial =
    "struct declared with \"...;\", but the C calling convention may depend on the missing "
    "fields; or, it contains anonymous struct/unions";
constexpr const char* kCffiBitfields = "struct with bit fields, which libffi does not support";
constexpr const char* kCffiZeroLength =
    "struct with a zero-length array, which libffi does not support";
constexpr const char* kCffiPacked =
    "'packed' structure, with a different layout than expected by libffi";
}  // namespace

ffi_type* LibffiTypes::incomplete(CType* t) {
    return fail(PyExc_TypeError, "ctype '" + t->cname + "' has incomplete type");
}

ffi_type* LibffiTypes::of(CType* t) {
    if (t->kind == Kind::Struct || t->kind == Kind::Union) return record(t);
    if (t->kind == Kind::Array) return fail(PyExc_NotImplementedError, "an array by value");
    if (t->conv == Conv::None) return incomplete(t);
    // binary128 travels in an SSE register (x86-64 System V); libffi has no such type, and
    // a 16-byte struct in its place would go in two integer registers.
    if (t->conv == Conv::Float128)
        return fail(PyExc_NotImplementedError,
                    "'_Float128' by value is not supported (libffi has no binary128 type): "
                    "pass a pointer, or declare the function in API mode");
    if (ffi_type* ft = scalar_ffi_type(t)) return ft;
    if (t->conv == Conv::ComplexFloat || t->conv == Conv::ComplexDouble)
        return fail(PyExc_NotImplementedError, "a complex number (not in this libffi)");
    return incomplete(t);
}

ffi_type* LibffiTypes::record(CType* t) {
    const std::string name = "'" + t->cname + "'";
    if (t->kind == Kind::Union)
        return fail_record(t, name + " is a union (libffi has no unions)", "");
    if (!(t->flags & types::RF_COMPLETE) || t->size < 0) return incomplete(t);
    std::vector<ffi_type*> elements;
    std::vector<int64_t> offsets;
    int64_t end = 0;
    for (const types::FieldInfo& f : t->fields) {
        if (f.is_flexible())
            return fail_record(t, name + " has a flexible array member", kCffiZeroLength);
        if (f.is_bitfield()) return fail_record(t, name + " has bit fields", kCffiBitfields);
        if (f.offset < end)
            return fail_record(t, name + " has overlapping members (an anonymous union)",
                               kCffiPartial);
        CType* ft = f.type;
        int64_t count = 1;
        while (ft->kind == Kind::Array) {  // int m[2][3]: six ints
            if (ft->length < 0) return incomplete(ft);
            count *= ft->length;
            ft = ft->item;
        }
        if (ft->kind == Kind::Union)
            return fail(PyExc_NotImplementedError, name + " contains a union");
        ffi_type* et = of(ft);
        if (!et) return nullptr;
        for (int64_t k = 0; k < count; ++k) {
            elements.push_back(et);
            offsets.push_back(f.offset + k * ft->size);
        }
        end = f.offset + count * ft->size;
    }
    if (elements.empty()) return fail(PyExc_NotImplementedError, name + " is an empty struct");
    auto list = std::make_unique<ffi_type*[]>(elements.size() + 1);
    std::copy(elements.begin(), elements.end(), list.get());
    list[elements.size()] = nullptr;
    auto type = std::make_unique<ffi_type>();
    type->size = 0;
    type->alignment = 0;
    type->type = FFI_TYPE_STRUCT;
    type->elements = list.get();
    std::vector<size_t> actual(elements.size());
    if (ffi_get_struct_offsets(abi_, type.get(), actual.data()) != FFI_OK)
        return fail(PyExc_NotImplementedError, name + " is rejected by libffi");
    bool same = type->size == static_cast<size_t>(t->size) && type->alignment == t->align;
    for (size_t i = 0; same && i < actual.size(); ++i)
        same = actual[i] == static_cast<size_t>(offsets[i]);
    if (!same) {
        std::string why = name + " has a layout libffi cannot express (packed or over-aligned)";
        if ((t->flags & types::RF_PARTIAL) || (t->record && t->record->declared_partial))
            return fail_record(t, std::move(why), kCffiPartial);
        if (t->flags & types::RF_PACKED) return fail_record(t, std::move(why), kCffiPacked);
        return fail(PyExc_NotImplementedError, std::move(why));
    }
    elements_.push_back(std::move(list));
    types_.push_back(std::move(type));
    return types_.back().get();
}

static RegClass reg_class(const CType* t) {
    switch (t->conv) {
        case Conv::Float: return RegClass::Float;
        case Conv::Double: return RegClass::Double;
        case Conv::Int8:
        case Conv::Int16:
        case Conv::Int32:
        case Conv::Int64:
        case Conv::UInt8:
        case Conv::UInt16:
        case Conv::UInt32:
        case Conv::UInt64:
        case Conv::Bool:
        case Conv::Char:
        case Conv::WChar16:
        case Conv::WChar32:
        case Conv::Pointer:
        case Conv::Function: return RegClass::Int;
        default: return RegClass::None;
    }
}

// Where thunks exist: the System V x86-64 and AArch64 procedure-call standards.
#if defined(__x86_64__) && !defined(_WIN32)
#define CFFIX_HAVE_THUNKS 1
#define CFFIX_RECORD_THUNKS 1  // small structs by value: System V eightbyte classes
#elif defined(__aarch64__) && !defined(__APPLE__) && !defined(_WIN32)
#define CFFIX_HAVE_THUNKS 1
#define CFFIX_AAPCS64_RECORDS 1  // structs by value: HFAs, small composites, references
#endif

#if defined(CFFIX_RECORD_THUNKS) || defined(CFFIX_AAPCS64_RECORDS)
// A struct field as the register classifiers see it: its item type, arrays flattened
// (`count` items of it, laid out one after the other); null for a bit-field, a flexible
// array member or an array of unknown length, which the thunks leave to libffi.
static const CType* field_items(const types::FieldInfo& f, int64_t& count) {
    if (f.is_bitfield() || f.is_flexible()) return nullptr;
    const CType* ft = f.type;
    count = 1;
    while (ft->kind == Kind::Array) {
        if (ft->length < 0) return nullptr;
        count *= ft->length;
        ft = ft->item;
    }
    return ft;
}
#endif

#ifdef CFFIX_RECORD_THUNKS
// The System V x86-64 classes of a struct's eightbytes (1: INTEGER, 2: SSE; integer
// wins when both share an eightbyte), for structs of at most 16 bytes whose leaves are
// aligned scalars. False for anything the registers cannot carry: unions, bitfields,
// long double, complex, misaligned fields; libffi passes those.
static bool classify_eightbytes(const CType* t, int64_t base, uint8_t cls[2]) {
    if (t->kind != Kind::Struct) return false;
    for (const types::FieldInfo& f : t->fields) {
        int64_t count;
        const CType* ft = field_items(f, count);
        if (!ft) return false;
        for (int64_t i = 0; i < count; ++i) {
            int64_t at = base + f.offset + i * ft->size;
            if (ft->kind == Kind::Struct) {
                if (!classify_eightbytes(ft, at, cls)) return false;
                continue;
            }
            RegClass rc = reg_class(ft);
            if (rc == RegClass::None || ft->size <= 0 || at % ft->size != 0) return false;
            int64_t w = at / 8;
            if (w > 1 || (at + ft->size - 1) / 8 != w) return false;
            uint8_t c = rc == RegClass::Int ? 1 : 2;
            if (cls[w] != 1) cls[w] = c;
        }
    }
    return true;
}
#endif

#ifdef CFFIX_AAPCS64_RECORDS
// The leaves of a struct for AAPCS64, nested structs and arrays flattened: how many are
// floats, doubles and integer-class scalars. False for what the thunks leave to libffi:
// unions, bitfields, flexible arrays, and leaves that are not register scalars (long
// double and complex numbers, which make HFAs of their own kinds).
struct Leaves {
    int64_t floats = 0, doubles = 0, others = 0;
};
static bool aapcs64_leaves(const CType* t, Leaves& n) {
    if (t->kind != Kind::Struct) return false;
    for (const types::FieldInfo& f : t->fields) {
        int64_t count;
        const CType* ft = field_items(f, count);
        if (!ft) return false;
        if (count == 0) continue;
        Leaves one;
        if (ft->kind == Kind::Struct) {
            if (!aapcs64_leaves(ft, one)) return false;
        } else {
            switch (reg_class(ft)) {
                case RegClass::Float: one.floats = 1; break;
                case RegClass::Double: one.doubles = 1; break;
                case RegClass::Int: one.others = 1; break;
                default: return false;
            }
        }
        n.floats += count * one.floats;
        n.doubles += count * one.doubles;
        n.others += count * one.others;
    }
    return true;
}

// How AAPCS64 passes a struct by value, for the structs the thunks pass, else
// RegClass::None: an HFA (1 to 4 members, all float or all double, no padding; its
// `members` and `member_size`) in vector registers, another struct of at most 16 bytes
// in integer registers (Record), a larger one by reference (Reference). Structs aligned
// to more than 8 (which start at an even register) and packed ones go to libffi.
static RegClass aapcs64_record(const CType* t, uint8_t& members, uint8_t& member_size) {
    if (t->kind != Kind::Struct || !(t->flags & types::RF_COMPLETE) ||
        (t->flags & types::RF_PACKED) || t->size <= 0 || t->align > 8)
        return RegClass::None;
    Leaves n;
    if (!aapcs64_leaves(t, n)) return RegClass::None;
    int64_t fp = n.floats + n.doubles;
    if (n.others == 0 && fp >= 1 && fp <= 4 && (n.floats == 0 || n.doubles == 0)) {
        int64_t size = n.floats ? 4 : 8;
        if (t->size != size * fp) return RegClass::None;  // padded by an attribute: libffi
        members = static_cast<uint8_t>(fp);
        member_size = static_cast<uint8_t>(size);
        return RegClass::Hfa;
    }
    return t->size <= 16 ? RegClass::Record : RegClass::Reference;
}
#endif

// A struct of at most 16 bytes that travels in registers: its eightbytes and which of
// them are SSE (bit w of `fp_words`). False otherwise.
static bool record_words(const CType* t, uint8_t& words, uint8_t& fp_words) {
#ifdef CFFIX_RECORD_THUNKS
    if (t->kind != Kind::Struct || !(t->flags & types::RF_COMPLETE) ||
        (t->flags & types::RF_PACKED) || t->size <= 0 || t->size > 16)
        return false;
    uint8_t cls[2] = {0, 0};
    if (!classify_eightbytes(t, 0, cls)) return false;
    words = static_cast<uint8_t>((t->size + 7) / 8);
    fp_words = 0;
    for (int w = 0; w < words; ++w) {
        if (cls[w] == 0) return false;  // an eightbyte of padding only
        if (cls[w] == 2) fp_words = static_cast<uint8_t>(fp_words | (1 << w));
    }
    return true;
#else
    (void)t;
    (void)words;
    (void)fp_words;
    return false;
#endif
}

// A struct of more than 16 bytes that the thunks copy to the stack (System V MEMORY
// class): at most kThunkStackWords eightbytes, aligned to at most 8 (16-aligned ones,
// e.g. with long double members, start on a 16-byte boundary: libffi passes those).
static bool memory_record(const CType* t) {
#ifdef CFFIX_RECORD_THUNKS
    return t->kind == Kind::Struct && (t->flags & types::RF_COMPLETE) &&
           !(t->flags & types::RF_PACKED) && t->size > 16 && t->size <= 8 * kThunkStackWords &&
           t->align <= 8;
#else
    (void)t;
    return false;
#endif
}

static ArgSpec arg_spec(CType* a, uint32_t offset) {
    ArgSpec spec{a,
                 offset,
                 reg_class(a),
                 1,
                 0,
                 8,
                 false,
                 {0, 0},
                 false,
                 a->conv,
                 data::integer_range(a->conv)};
    spec.bytes = a->kind == Kind::Pointer && data::takes_bytes(a->item);
    if (spec.reg == RegClass::None && record_words(a, spec.words, spec.fp_words)) {
        spec.reg = RegClass::Record;
        spec.tail = static_cast<uint8_t>(a->size - 8 * (spec.words - 1));
    } else if (spec.reg == RegClass::None && memory_record(a)) {
        spec.reg = RegClass::Memory;
        spec.words = static_cast<uint8_t>((a->size + 7) / 8);
        spec.tail = static_cast<uint8_t>(a->size - 8 * (spec.words - 1));
    }
#ifdef CFFIX_AAPCS64_RECORDS
    if (spec.reg == RegClass::None) {
        uint8_t members = 0, member_size = 0;
        spec.reg = aapcs64_record(a, members, member_size);
        if (spec.reg == RegClass::Hfa) {
            spec.words = members;
            spec.tail = member_size;
        } else if (spec.reg == RegClass::Record) {
            spec.words = static_cast<uint8_t>((a->size + 7) / 8);
            spec.tail = static_cast<uint8_t>(a->size - 8 * (spec.words - 1));
        }
    }
#endif
    if (spec.reg == RegClass::Float || spec.reg == RegClass::Double) spec.fp_words = 1;
    return spec;
}

#ifdef CFFIX_HAVE_THUNKS
// A struct result that comes back through memory and fits the thunks' result buffer.
static bool big_result(const CType* r) {
    return r->kind == Kind::Struct && (r->flags & types::RF_COMPLETE) && r->size > 16 &&
           r->size <= static_cast<int64_t>(kThunkResultBytes) && r->align <= 16;
}

// The thunk kind of a result type, by where it comes back; Thunk::None: libffi's.
static Thunk result_thunk(const CType* r) {
    if (r->kind == Kind::Void) return Thunk::Void;
#ifdef CFFIX_AAPCS64_RECORDS
    // AAPCS64 results: an HFA in s0..s3 / d0..d3, another struct of at most 16 bytes in
    // x0/x1, a larger one through memory (x8).
    uint8_t members = 0, member_size = 0;
    if (r->kind == Kind::Struct) {
        switch (aapcs64_record(r, members, member_size)) {
            case RegClass::Hfa: {
                static constexpr Thunk kFloats[] = {Thunk::Float, Thunk::Flt2, Thunk::Flt3,
                                                    Thunk::Flt4};
                static constexpr Thunk kDoubles[] = {Thunk::Double, Thunk::DblDbl, Thunk::Dbl3,
                                                     Thunk::Dbl4};
                return (member_size == 4 ? kFloats : kDoubles)[members - 1];
            }
            case RegClass::Record: return r->size <= 8 ? Thunk::Int : Thunk::IntInt;
            case RegClass::Reference: return big_result(r) ? Thunk::Big : Thunk::None;
            default: return Thunk::None;  // HFAs of long doubles, complex members...: libffi
        }
    }
#else
    uint8_t words = 0, fp_words = 0;
    if (record_words(r, words, fp_words)) {
        if (words == 1) return fp_words ? Thunk::Double : Thunk::Int;
        switch (fp_words) {
            case 0: return Thunk::IntInt;
            case 1: return Thunk::DblInt;
            case 2: return Thunk::IntDbl;
            default: return Thunk::DblDbl;
        }
    }
    if (big_result(r)) return Thunk::Big;  // System V: every struct over 16 bytes is MEMORY
#endif
    switch (reg_class(r)) {
        case RegClass::Int: return Thunk::Int;
        case RegClass::Float: return Thunk::Float;
        case RegClass::Double: return Thunk::Double;
        default: return Thunk::None;
    }
}
#endif

// The thunk for a plan, with each argument's register slots assigned (plan.args is
// updated), or Thunk::None. `ints`/`fps`: the registers the caller fills.
//
// Arguments take the next registers of their class while there are some; an argument
// that finds too few (a struct needs all of its eightbytes in registers, else it goes
// whole to the stack) is copied to the stack in argument order, in 8-byte words. On
// x86-64 (System V) so is every struct over 16 bytes; on AArch64 (AAPCS64) such a struct
// is passed by the address of a copy, an HFA takes one vector register per member, and a
// struct that goes to the stack closes its registers to later arguments.
static Thunk choose_thunk(CallPlan& plan, const CType* fntype, int& ints, int& fps) {
    ints = fps = 0;
#ifdef CFFIX_HAVE_THUNKS
    if (fntype->ellipsis) return Thunk::None;  // variadic calls always go through libffi
    Thunk result = result_thunk(plan.result);
    if (result == Thunk::None) return Thunk::None;
#ifdef CFFIX_RECORD_THUNKS
    // System V: the address of a result returned through memory takes rdi.
    const int int_regs = result == Thunk::Big ? kThunkIntRegs - 1 : kThunkIntRegs;
#else
    const int int_regs = kThunkIntRegs;    // AAPCS64 passes it in x8, of its own
#endif
#if defined(CFFIX_RECORD_THUNKS) || defined(__aarch64__)
    // AAPCS64 too: scalars past x7 / d7 take 8-byte stack slots in argument order, the
    // value in the low bytes; structs (aligned to at most 8) their memory image in words.
    constexpr bool kStackThunks = true;
#else
    constexpr bool kStackThunks = false;
#endif
    int stack = 0;
    auto to_stack = [&](ArgSpec& a) {
        a.stack = true;
        a.fp_words = 0;
        a.slot[0] = static_cast<uint8_t>(int_regs + stack);
        stack += a.words;
        return kStackThunks && stack <= kThunkStackWords;
    };
    // A scalar: the next register of its class (`used` of `limit` taken), else the stack.
    auto scalar = [&](ArgSpec& a, int& used, int limit) {
        if (used >= limit) return to_stack(a);
        a.slot[0] = static_cast<uint8_t>(used++);
        return true;
    };
    for (ArgSpec& a : plan.args) {
        a.stack = false;
        switch (a.reg) {
            case RegClass::None: return Thunk::None;
            case RegClass::Int:
                if (!scalar(a, ints, int_regs)) return Thunk::None;
                break;
            case RegClass::Float:
            case RegClass::Double:
                if (!scalar(a, fps, kThunkFpRegs)) return Thunk::None;
                break;
#ifdef CFFIX_AAPCS64_RECORDS
            // AAPCS64: a composite that finds too few registers of its class goes whole to
            // the stack, and closes that class's registers to every later argument (NGRN
            // or NSRN set to 8). Its stack words are its memory image.
            case RegClass::Record:
                if (ints + a.words <= int_regs) {
                    for (int w = 0; w < a.words; ++w) a.slot[w] = static_cast<uint8_t>(ints++);
                } else {
                    ints = int_regs;
                    if (!to_stack(a)) return Thunk::None;
                }
                break;
            case RegClass::Hfa:
                if (fps + a.words <= kThunkFpRegs) {
                    a.slot[0] = static_cast<uint8_t>(fps);
                    fps += a.words;
                } else {
                    fps = kThunkFpRegs;
                    a.words = static_cast<uint8_t>((a.type->size + 7) / 8);
                    if (!to_stack(a)) return Thunk::None;
                }
                break;
            case RegClass::Reference:  // the address of the copy: an integer argument
                if (!scalar(a, ints, int_regs)) return Thunk::None;
                break;
#else
            case RegClass::Hfa:
            case RegClass::Reference: return Thunk::None;
            case RegClass::Record: {
                int need_fp = (a.fp_words & 1) + (a.fp_words >> 1 & 1);
                int need_int = a.words - need_fp;
                if (ints + need_int <= int_regs && fps + need_fp <= kThunkFpRegs) {
                    for (int w = 0; w < a.words; ++w)
                        a.slot[w] = static_cast<uint8_t>(a.fp_words >> w & 1 ? fps++ : ints++);
                } else if (!to_stack(a)) {
                    return Thunk::None;
                }
                break;
            }
#endif
            case RegClass::Memory:
                if (!to_stack(a)) return Thunk::None;
                break;
        }
    }
#ifdef CFFIX_AAPCS64_RECORDS
    // The copies that Reference arguments point to: in the fast path, from the top of the
    // callers' `ints` array down, in words the call does not read (past the registers and
    // the stack words); a struct that finds no room there is copied by the general path.
    int top = kThunkIntRegs + kThunkStackWords;
    for (ArgSpec& a : plan.args) {
        if (a.reg != RegClass::Reference) continue;
        int need = static_cast<int>((a.type->size + 7) / 8);
        if (top - need >= int_regs + stack) {
            top -= need;
            a.slot[1] = static_cast<uint8_t>(top);
        } else {
            a.slot[1] = kNoCopyWords;
        }
    }
#endif
    if (stack > 0) {  // every register is passed, then the stack words
        plan.stack_words = true;
        ints = int_regs + stack;
        fps = kThunkFpRegs;
    }
    return result;
#else
    (void)plan;
    (void)fntype;
    return Thunk::None;
#endif
}

// Refuses a signature whose argument or result libffi cannot carry, as cffi does: with
// cffi's text where cffi refuses the same type, cffix's (which names the function, the
// argument and the reason) as its note.
static bool unsupported(const CType* fntype, const std::string& where, const LibffiTypes& types,
                        bool result) {
    std::string own = "'" + fntype->cname + "': " + where + ": " + types.problem();
    const CType* record = types.cffi_record();
    if (!record || types.problem_type() != PyExc_NotImplementedError) {
        PyErr_SetString(types.problem_type(), own.c_str());
        return false;
    }
    std::string place = result ? "return value" : "argument";
    std::string head = "ctype '" + record->cname + "' not supported as " + place;
    std::string text = types.cffi_reason().empty()
                           ? head + " by libffi.  Unions are only supported as " + place
                           : head + ".  It is a " + types.cffi_reason() +
                                 ".  Such structs are only supported as " + place;
    text +=
        " if the function is 'API mode' and non-variadic (i.e. declared inside "
        "ffibuilder.cdef()+ffibuilder.set_source() and not taking a final '...' argument)";
    cffix::set_error_with_notes(PyExc_NotImplementedError, text, {own});
    return false;
}

// Arguments and results need a size: an opaque struct by value is a TypeError, with
// cffi's words first.
static bool complete(CType* t, const CType* fntype, bool result) {
    try {
        if (types::complete_type(t, false)) return true;
    } catch (...) {
        cffix::translate_exception();
        return false;
    }
    PyErr_Format(PyExc_TypeError,
                 result ? "result type '%s' is not yet initialized (in '%s': an opaque struct "
                          "must be returned by pointer)"
                        : "ctype '%s' has incomplete type (in '%s': an opaque struct must be "
                          "passed by pointer)",
                 t->cname.c_str(), fntype->cname.c_str());
    return false;
}

ffi_abi abi_of(const CType* fntype) {
    switch (fntype->callconv) {
#if defined(_WIN32) && !defined(_WIN64)
        case types::CallConv::Stdcall: return FFI_STDCALL;
        case types::CallConv::Fastcall: return FFI_FASTCALL;
        case types::CallConv::Cdecl: return FFI_MS_CDECL;
#endif
        default: return FFI_DEFAULT_ABI;
    }
}

static std::unique_ptr<CallPlan> build_plan(CType* fntype) {
    auto plan = std::make_unique<CallPlan>(abi_of(fntype));
    plan->result = fntype->item;
    if (plan->result->kind != Kind::Void && !complete(plan->result, fntype, true)) return nullptr;
    plan->result_type =
        plan->result->kind == Kind::Void ? &ffi_type_void : plan->types.of(plan->result);
    if (!plan->result_type) return unsupported(fntype, "the result", plan->types, true), nullptr;
    size_t rsize = plan->result->kind == Kind::Void ? 0 : static_cast<size_t>(plan->result->size);
    plan->result_size = std::max(rsize, sizeof(ffi_arg));
    plan->result_widened = rsize < sizeof(ffi_arg) && data::needs_widening(plan->result);
    size_t offset = 0;
    for (CType* a : fntype->args) {
        if (!complete(a, fntype, false)) return nullptr;
        ffi_type* ft = plan->types.of(a);
        if (!ft) {
            std::string where = "argument " + std::to_string(plan->args.size() + 1);
            return unsupported(fntype, where, plan->types, false), nullptr;
        }
        size_t align = std::max<size_t>(8, a->align);
        offset = (offset + align - 1) & ~(align - 1);
        plan->args.push_back(arg_spec(a, static_cast<uint32_t>(offset)));
        plan->arg_types.push_back(ft);
        // Whole eightbytes, so that a struct's words can be read as such.
        offset += (std::max<size_t>(8, static_cast<size_t>(a->size)) + 7) & ~size_t{7};
    }
    plan->buffer_size = offset;
    plan->nargs = static_cast<Py_ssize_t>(plan->args.size());
    int ints, fps;
    plan->thunk = choose_thunk(*plan, fntype, ints, fps);
    if (plan->thunk != Thunk::None) plan->caller = thunk_caller(plan->thunk, ints, fps);
    if (!plan->caller) plan->thunk = Thunk::None;
    if (plan->thunk != Thunk::None) plan->fast_nargs = plan->nargs;
    ffi_status st =
        ffi_prep_cif(&plan->cif, abi_of(fntype), static_cast<unsigned>(plan->arg_types.size()),
                     plan->result_type, plan->arg_types.data());
    if (st != FFI_OK) {
        PyErr_Format(PyExc_SystemError, "libffi could not prepare a call to '%s' (status %d)",
                     fntype->cname.c_str(), static_cast<int>(st));
        return nullptr;
    }
    return plan;
}

// The plans, by function type, under plans_mutex (the GIL's job in the default build:
// there the mutex is nothing). Each entry holds a weak reference to
// its type whose callback (forget_plan, bound to the type's address) drops the entry
// when the type dies, so a later type at the same address never finds a stale plan.
struct PlanEntry {
    std::unique_ptr<CallPlan> plan;
    PyRef weakref;
};
static std::unordered_map<const CType*, PlanEntry>& plans() {
    static auto* table = new std::unordered_map<const CType*, PlanEntry>();  // never freed:
    return *table;  // plans may be looked up while the interpreter finalizes
}

static ft::Mutex plans_mutex;

static PyObject* forget_plan(PyObject* address, PyObject* /*weakref*/) {
    PlanEntry dead;  // destroyed after the lock is released (its weakref's decref)
    {
        ft::Lock lock(plans_mutex);
        auto it = plans().find(static_cast<const CType*>(PyLong_AsVoidPtr(address)));
        if (it != plans().end()) {
            dead = std::move(it->second);
            plans().erase(it);
        }
    }
    Py_RETURN_NONE;
}
static PyMethodDef forget_plan_def = {"_forget_plan", forget_plan, METH_O, nullptr};

static CallPlan* find_plan(const CType* fntype) {
    ft::Lock lock(plans_mutex);
    auto it = plans().find(fntype);
    return it != plans().end() ? it->second.plan.get() : nullptr;
}

// Built outside the lock (it may call into Python); of two threads that built the same
// plan (free-threaded build), the first to register it wins and the other's is dropped.
CallPlan* plan_for(CType* fntype) {
    if (CallPlan* plan = find_plan(fntype)) return plan;
    std::unique_ptr<CallPlan> plan = build_plan(fntype);
    if (!plan) return nullptr;
    PyRef address(PyLong_FromVoidPtr(fntype));
    if (!address) return nullptr;
    PyRef callback(PyCFunction_New(&forget_plan_def, address.get()));
    if (!callback) return nullptr;
    PyRef weakref(PyWeakref_NewRef(reinterpret_cast<PyObject*>(fntype), callback.get()));
    if (!weakref) return nullptr;
    PlanEntry entry{std::move(plan), std::move(weakref)};
    ft::Lock lock(plans_mutex);
    // try_emplace leaves `entry` as it is when another thread registered the type's plan
    // first: the loser dies after the lock.
    return plans().try_emplace(fntype, std::move(entry)).first->second.plan.get();
}

}  // namespace cffix::call
