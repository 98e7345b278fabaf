// Call plans: what a call through one function type needs, computed once, and shared by
// the calls of that type (ABI-mode functions, function pointers) and its callbacks.
//
// Plans live in call/, in a table keyed by function type (types/ knows nothing of
// calls); a plan is freed when its type dies. A function object keeps its plan's
// address: it holds its type, which keeps the plan.
#pragma once

#include <ffi.h>

#include <memory>
#include <string>
#include <vector>

#include "data/argument.h"
#include "util/ft.h"

namespace cffix::call {

using types::CType;

// How an argument travels in the fast thunk: in an integer register, in a vector
// register as the bits of a float or a double, or (a small struct by value) as one or two
// eightbytes, each in a register of its class (x86-64 System V), or in integer registers
// (AArch64, a struct of at most 16 bytes that is not an HFA).
// Memory: a struct of more than 16 bytes by value (x86-64), always copied to the stack.
// Hfa (AArch64): a homogeneous floating-point aggregate, a struct of 1 to 4 floats or 1 to
// 4 doubles (nested structs and arrays flattened), one member per vector register.
// Reference (AArch64): a struct of more than 16 bytes by value: the caller passes the
// address of a copy it owns, as an integer argument.
enum class RegClass : uint8_t { Int, Float, Double, Record, Memory, Hfa, Reference, None };

constexpr uint8_t kNoCopyWords = 0xFF;

struct ArgSpec {
    CType* type;           // borrowed: the function CType holds its argument types
    uint32_t offset;       // where its value lives in the argument buffer (8-byte multiples)
    RegClass reg;          // RegClass::None: not passable through the thunk
    uint8_t words;         // eightbytes: 1 for scalars, 1 or 2 for a Record, more for Memory;
                           // Hfa: its members (registers), or its eightbytes once on the stack
    uint8_t fp_words;      // Record: bit w set when eightbyte w travels in a vector register
    uint8_t tail;          // Record, Memory: bytes of its last eightbyte (1..8); Hfa: the
                           // size of a member (4 or 8)
    bool stack;            // thunk plans: the argument goes to the stack (registers ran out,
                           // or Memory); its words are then ints[slot[0]] and on, in order
    uint8_t slot[2];       // thunk plans: the register index (in its class) of each word;
                           // Reference: slot[1] is where in `ints` the fast path copies
                           // the struct (kNoCopyWords: no room, the general path does)
    bool bytes;            // a pointer that takes bytes in calls (data::takes_bytes)
    types::Conv conv;      // the type's conversion kind, at hand for the fast path's switch
    data::IntRange range;  // integers: data::integer_range of the type, kept here so the
                           // fast path reads it with the rest of the spec
};

// The prototype the thunk calls through, by where the result comes back: nothing, the
// first integer register, the first vector register (float or double), or a small
// struct's two eightbytes in registers of their classes (rax/rdx, xmm0/xmm1, mixed; on
// AArch64 x0/x1 for IntInt). AArch64 only: an HFA of 2 to 4 floats (s0..s3) or 3 or 4
// doubles (d0..d3; 2 doubles are DblDbl). Big: a struct of 17 to kThunkResultBytes bytes
// that comes back through memory: the prototype returns a struct of kThunkResultBytes,
// so the caller passes the address of its buffer in rdi (x86-64, where the integer
// arguments then start at rsi) or x8 (AArch64).
enum class Thunk : uint8_t {
    None,
    Void,
    Int,
    Float,
    Double,
    IntInt,
    DblDbl,
    IntDbl,
    DblInt,
    Flt2,
    Flt3,
    Flt4,
    Dbl3,
    Dbl4,
    Big
};

// A thunk call (call/thunks.h): `fn` with ints[0..NI) and fps[0..NF) in registers
// through an exact prototype; the raw result (up to kThunkResultBytes) is stored at `rbuf`.
using ThunkInt = int64_t;
using ThunkFp = double;
using ThunkCaller = void (*)(void* fn, const ThunkInt* ints, const ThunkFp* fps, char* rbuf);

// The cif of a variadic call with one tuple of variadic argument types.
struct VariadicCif {
    ffi_cif cif;
    uint64_t hash;                     // of `key`, checked first
    std::vector<Ref<CType>> key;       // the variadic part's types (held: no address reuse)
    std::vector<ffi_type*> arg_types;  // fixed then variadic
};

// libffi types for the arguments and results of one function type, shared by calls and
// callbacks: scalars map to libffi's own; a struct becomes its members in order (arrays
// as repeated items), accepted only when libffi computes the same layout for that list.
// Layouts it cannot reproduce (packed, over-aligned, bit fields, unions, flexible array
// members) would travel in the wrong registers, so they are refused with a reason.
class LibffiTypes {
public:
    explicit LibffiTypes(ffi_abi abi) : abi_(abi) {}
    // The ffi_type of `t`, or null with problem()/problem_type() saying why: a TypeError
    // for incomplete types, else a NotImplementedError.
    ffi_type* of(CType* t);
    const std::string& problem() const { return problem_; }
    PyObject* problem_type() const { return problem_type_; }
    // cffi's words for the problem, when cffi refuses the same type: the record it names
    // and why ("" for a union, which has its own sentence); null if cffi has no such error.
    const CType* cffi_record() const { return cffi_record_; }
    const std::string& cffi_reason() const { return cffi_reason_; }

private:
    ffi_type* record(CType* t);
    ffi_type* fail(PyObject* exc, std::string why);
    ffi_type* fail_record(const CType* t, std::string why, std::string cffi_reason);
    ffi_type* incomplete(CType* t);

    ffi_abi abi_;
    std::string problem_;
    PyObject* problem_type_ = nullptr;
    const CType* cffi_record_ = nullptr;
    std::string cffi_reason_;
    std::vector<std::unique_ptr<ffi_type>> types_;        // struct ffi_types and their
    std::vector<std::unique_ptr<ffi_type*[]>> elements_;  // null-terminated members
};

struct CallPlan {
    explicit CallPlan(ffi_abi abi) : types(abi) {}
    ffi_cif cif;
    std::vector<ffi_type*> arg_types;
    LibffiTypes types;
    std::vector<ArgSpec> args;
    Py_ssize_t nargs = 0;        // fixed arguments (args.size())
    Py_ssize_t fast_nargs = -1;  // nargs when the thunk can make the call, else -1
    size_t buffer_size = 0;      // bytes of argument storage for the fixed arguments
    CType* result = nullptr;
    ffi_type* result_type = nullptr;
    size_t result_size = 0;       // at least sizeof(ffi_arg)
    bool result_widened = false;  // an integer narrower than a register (callbacks
                                  // extend it to a whole ffi_arg, as libffi requires)
    Thunk thunk = Thunk::None;
    ThunkCaller caller = nullptr;  // set exactly when thunk != Thunk::None
    bool stack_words = false;      // the thunk passes words on the stack: it then reads
                                   // every register, so the fast path zeroes them
    // Variadic calls: one cif per tuple of variadic argument types, built on first use;
    // few tuples per function in practice, so a scan (hash first) finds them. Read and
    // grown under variadic_mutex (as is `types`, which grows with them).
    std::vector<std::unique_ptr<VariadicCif>> variadic;
    ft::Mutex variadic_mutex;
};

// The plan of a function type, built on first use and kept while the type lives. Null +
// exception for signatures libffi cannot call (unions or bitfield structs by value...).
CallPlan* plan_for(CType* fntype);

// The libffi ABI of a function type's calling convention.
ffi_abi abi_of(const CType* fntype);

// The libffi type of a primitive, pointer or function-pointer type (enums as their
// integer), or null for anything else. The one mapping used by calls and callbacks.
ffi_type* scalar_ffi_type(const CType* t);

}  // namespace cffix::call
