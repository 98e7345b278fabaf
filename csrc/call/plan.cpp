// Building call plans: libffi types and cif, argument buffer layout, thunk eligibility.
#include "call/plan.h"

#include "types/errors.h"

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
        case Conv::WChar32: return (t->flags & types::PF_SIGNED) ? &ffi_type_sint32 : &ffi_type_uint32;
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

// A struct as libffi sees it: its fields in order, arrays expanded item by item. libffi
// has no unions and no bitfields, so those are refused rather than passed wrongly.
static bool add_record_elements(CallPlan* plan, CType* t, std::vector<ffi_type*>& out) {
    for (const types::FieldInfo& f : t->fields) {
        if (f.bitshift != -1) return false;  // bitfield or flexible array
        CType* ft = f.type;
        int64_t count = 1;
        while (ft->kind == Kind::Array) {
            if (ft->length < 0) return false;
            count *= ft->length;
            ft = ft->item;
        }
        ffi_type* e = ffi_type_for(plan, ft);
        if (!e) return false;
        for (int64_t i = 0; i < count; ++i) out.push_back(e);
    }
    return true;
}

ffi_type* ffi_type_for(CallPlan* plan, CType* t) {
    if (t->kind == Kind::Void) return &ffi_type_void;
    if (t->kind == Kind::Struct) {
        if (!(t->flags & types::RF_COMPLETE) || (t->flags & types::RF_PACKED)) return nullptr;
        std::vector<ffi_type*> elements;
        if (!add_record_elements(plan, t, elements) || elements.empty()) return nullptr;
        auto array = std::make_unique<ffi_type*[]>(elements.size() + 1);
        for (size_t i = 0; i < elements.size(); ++i) array[i] = elements[i];
        array[elements.size()] = nullptr;
        auto type = std::make_unique<ffi_type>();
        type->size = static_cast<size_t>(t->size);
        type->alignment = static_cast<unsigned short>(t->align);
        type->type = FFI_TYPE_STRUCT;
        type->elements = array.get();
        plan->record_elements.push_back(std::move(array));
        plan->record_types.push_back(std::move(type));
        return plan->record_types.back().get();
    }
    if (t->kind == Kind::Union) return nullptr;
    return scalar_ffi_type(t);
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

// Registers the thunk may fill: the argument registers of the two classes.
#if defined(__x86_64__) && !defined(_WIN32)
constexpr int kIntRegs = 6, kFpRegs = 8;
#define CFFIX_HAVE_THUNKS 1
#elif defined(__aarch64__) && !defined(__APPLE__) && !defined(_WIN32)
constexpr int kIntRegs = 8, kFpRegs = 8;
#define CFFIX_HAVE_THUNKS 1
#else
constexpr int kIntRegs = 0, kFpRegs = 0;
#endif

static Thunk choose_thunk(const CallPlan& plan, const CType* fntype) {
#ifdef CFFIX_HAVE_THUNKS
    if (fntype->ellipsis) return Thunk::None;  // variadic calls need libffi (al on x86-64)
    int ints = 0, fps = 0;
    for (const ArgSpec& a : plan.args) {
        if (a.reg == RegClass::None) return Thunk::None;
        (a.reg == RegClass::Int ? ints : fps) += 1;
    }
    if (ints > kIntRegs || fps > kFpRegs) return Thunk::None;
    const CType* r = plan.result;
    if (r->kind == Kind::Void) return Thunk::Void;
    switch (reg_class(r)) {
        case RegClass::Int: return Thunk::Int;
        case RegClass::Float: return Thunk::Float;
        case RegClass::Double: return Thunk::Double;
        default: return Thunk::None;
    }
#else
    (void)plan;
    (void)fntype;
    return Thunk::None;
#endif
}

static void free_plan(void* p) { delete static_cast<CallPlan*>(p); }

static bool unsupported(const CType* fntype, const CType* t, const char* what) {
    PyErr_Format(PyExc_NotImplementedError,
                 "ctype '%s' not supported as %s of '%s' in ABI mode (libffi has no unions, "
                 "bitfields or packed structs by value)",
                 t->cname.c_str(), what, fntype->cname.c_str());
    return false;
}

// Arguments and results need a size: an opaque struct by value is a TypeError, as cffi.
static bool complete(CType* t, const CType* fntype) {
    try {
        if (types::complete_type(t, false)) return true;
    } catch (...) {
        types::translate_exception();
        return false;
    }
    PyErr_Format(PyExc_TypeError, "'%s': ctype '%s' has an unknown size (an opaque struct "
                 "must be passed by pointer)", fntype->cname.c_str(), t->cname.c_str());
    return false;
}

CallPlan* plan_for(CType* fntype) {
    if (fntype->call_plan) return static_cast<CallPlan*>(fntype->call_plan);
    auto plan = std::make_unique<CallPlan>();
    plan->result = fntype->item;
    if (plan->result->kind != Kind::Void && !complete(plan->result, fntype)) return nullptr;
    plan->result_type = ffi_type_for(plan.get(), plan->result);
    if (!plan->result_type) return unsupported(fntype, plan->result, "result"), nullptr;
    size_t rsize = plan->result->kind == Kind::Void ? 0 : static_cast<size_t>(plan->result->size);
    plan->result_size = std::max(rsize, sizeof(ffi_arg));
    size_t offset = 0;
    for (CType* a : fntype->args) {
        if (!complete(a, fntype)) return nullptr;
        ffi_type* ft = ffi_type_for(plan.get(), a);
        if (!ft) return unsupported(fntype, a, "argument"), nullptr;
        size_t align = std::max<size_t>(8, a->align);
        offset = (offset + align - 1) & ~(align - 1);
        plan->args.push_back({a, static_cast<uint32_t>(offset), reg_class(a)});
        plan->arg_types.push_back(ft);
        offset += std::max<size_t>(8, static_cast<size_t>(a->size));
    }
    plan->buffer_size = offset;
    plan->thunk = choose_thunk(*plan, fntype);
    ffi_status st = ffi_prep_cif(&plan->cif, static_cast<ffi_abi>(fntype->abi),
                                 static_cast<unsigned>(plan->arg_types.size()), plan->result_type,
                                 plan->arg_types.data());
    if (st != FFI_OK) {
        PyErr_Format(PyExc_SystemError, "libffi could not prepare a call to '%s' (status %d)",
                     fntype->cname.c_str(), static_cast<int>(st));
        return nullptr;
    }
    fntype->call_plan = plan.release();
    fntype->call_plan_free = free_plan;
    return static_cast<CallPlan*>(fntype->call_plan);
}

}  // namespace cffix::call
