// Error policies (ffi.errors): when a C call failed, which code and message it reported,
// and which exception that raises, compiled once per wrapped function into small op lists
// that run right after the C call, on the calling thread, before the GIL is retaken.
//
// A policy's expressions (`fails`, `code`, `message`) are C expressions (parse/expr.h)
// whose names resolve against one function's signature: `result`, `errno`, parameters by
// name or as `arg0`, `arg1`..., `*p` for what a pointer parameter points to (an out
// parameter after the call), the cdef's integer constants and enumerators, and calls to
// functions declared in the cdef (`sqlite3_errmsg(db)`). Each compiles to a postfix op
// list with forward jumps only (`&&`, `||`, `?:`): no loops; the only side effects are
// the declared calls.
//
// The evaluation reads a CallFrame (the addresses of the argument values, the raw result
// and errno right after the call), so that the same compiled policy serves one call
// (call/wrap.cpp) and each element of a batched call (lib.f.map): per element,
//
//     if (policy_failed(policy, frame)) {            // GIL released, right after the call
//         policy_capture(policy, frame, failure);     // still before the GIL comes back
//         ...retake the GIL...
//         return policy_raise(policy, failure, name, result_object);
//     }
//
// policy_failed / policy_capture never touch Python objects and never allocate.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "types/ctype.h"
#include "util/pyref.h"

namespace cffix::types {
class Scope;
}

namespace cffix::call {

using types::CType;

// A value while an expression is evaluated: tagged, as the expression is typed at run
// time (integers signed or unsigned 64-bit, pointers, doubles).
struct PolicyValue {
    enum Kind : uint8_t { Int, UInt, Ptr, Double };
    union {
        int64_t i;
        uint64_t u;
        const void* p;
        double d;
    };
    Kind kind;  // no initializer: evaluation stacks stay uninitialized (trivial type)
};

// What an expression reads after one call.
struct CallFrame {
    void* const* args;   // the address of each fixed argument's C value, in order
                         // (little-endian: a widened register slot reads the same)
    const void* result;  // the raw result (at least 8 bytes, zero-extended storage)
    int err;             // errno right after the call
};

// One step of a compiled expression (policy.cpp): opcodes are private to it.
struct PolicyOp {
    uint8_t code;
    uint8_t conv;     // the load's conversion kind (types::Conv), or a binary operator
    uint16_t nargs;   // calls: argument count
    int32_t index;    // argument index, jump target, call index
    int64_t imm;      // constants
    const void* ptr;  // string constants, loaded types
};

struct CallPlan;

// A function an expression calls: its address, type and plan (built when compiling).
struct PolicyCall {
    void* address;
    Ref<CType> type;  // holds the plan
    CallPlan* plan;
    std::string name;
};

// A compiled expression: empty when the policy has none.
struct PolicyExpr {
    std::vector<PolicyOp> ops;
    bool empty() const { return ops.empty(); }
};

// The message's storage: copied out of C memory before the GIL is retaken (another
// thread may change what sqlite3_errmsg points to right after), truncated to fit.
inline constexpr size_t kPolicyMessageMax = 512;

struct PolicyFailure {
    int64_t code = 0;
    int err = 0;
    bool has_message = false;     // the policy has a message expression
    bool message_null = false;    // it gave NULL
    bool message_is_int = false;  // it gave an integer (then in message_int)
    int64_t message_int = 0;
    uint32_t message_len = 0;
    char message[kPolicyMessageMax];
};

enum : uint8_t { kQuickEq = 1, kQuickNe, kQuickLt, kQuickGt, kQuickLe, kQuickGe };

// How a failure becomes an exception.
enum class RaiseKind : uint8_t {
    OSErrorFromCode,  // OSError(code, message or strerror(code)): Python picks the subclass
    Class,            // one class, or one per code (`codes`), with `fallback` for the others
};

struct Policy {
    PolicyExpr fails;                              // null: nothing fails
    PolicyExpr code;                               // default: the result
    PolicyExpr message;                            // optional
    std::vector<PolicyCall> calls;                 // what the expressions call, by index
    std::vector<std::unique_ptr<char[]>> strings;  // string constants the ops point into
    RaiseKind raise_kind = RaiseKind::Class;
    std::vector<std::pair<int64_t, PyRef>> codes;  // code -> exception class
    PyRef fallback;                                // the class for other codes
    bool retry_eintr = false;
    std::string name;  // the policy's name ("minus1_errno", a registered one), or ""
    // `fails` of the common form `result OP integer constant` (OP a comparison): tested
    // without the op list (policy_quick_failed). quick_op: kQuick*, 0 if not that form.
    uint8_t quick_op = 0;
    uint8_t quick_conv = 0;
    int64_t quick_value = 0;
    // The quick form compiled (policy_quick_failed_word): 64 - the result's width in bits,
    // whether it is sign-extended, and the failing range of the extended value.
    uint8_t quick_shift = 0;
    bool quick_arith = false;
    // A float (quick_shift 32) or double result: compared as a double with quick_real.
    bool quick_floating = false;
    double quick_real = 0;
    bool quick_negate = false;
    uint64_t quick_lo = 0;
    uint64_t quick_span = 0;
};

// Whether the call failed (no exception, no allocation; false for a policy without
// `fails`). Any thread, GIL held or not.
bool policy_failed(const Policy& policy, const CallFrame& frame);

// The quick form's test on the result's register word (little-endian: the value in the
// low bytes, the bytes above it anything): the value is narrowed to the result's width
// and extended as its type is, then tested against the range [lo, lo + span] that the
// comparison compiled to (find_quick_form), `negate` flipping the outcome. No switch and
// no call: a few instructions on the call path.
bool policy_quick_failed_floating(const Policy& p, uint64_t word);
[[gnu::always_inline]] inline bool policy_quick_failed_word(const Policy& p, uint64_t word) {
    if (__builtin_expect(p.quick_floating, 0)) return policy_quick_failed_floating(p, word);
    uint64_t v = word << p.quick_shift;
    v = p.quick_arith ? static_cast<uint64_t>(static_cast<int64_t>(v) >> p.quick_shift)
                      : v >> p.quick_shift;
    return (v - p.quick_lo <= p.quick_span) != p.quick_negate;
}

// policy_failed for a policy with quick_op set: `result OP constant` on the raw result,
// which holds exactly the result's bytes (a batched call's result array).
inline bool policy_quick_failed(const Policy& p, const void* result) {
    uint64_t word = 0;
    switch (p.quick_shift) {
        case 56: word = *static_cast<const uint8_t*>(result); break;
        case 48: {
            uint16_t x;
            memcpy(&x, result, sizeof x);
            word = x;
            break;
        }
        case 32: {
            uint32_t x;
            memcpy(&x, result, sizeof x);
            word = x;
            break;
        }
        default: memcpy(&word, result, sizeof word); break;
    }
    return policy_quick_failed_word(p, word);
}

// Reads code, errno and message into `failure`, right after a failed call, before the GIL
// is retaken. Never touches Python objects.
void policy_capture(const Policy& policy, const CallFrame& frame, PolicyFailure& failure);

// With the GIL: sets the exception `failure` describes and returns null. `func` is the
// function's name (str), `result` the call's result as Python sees it (borrowed, may be
// null: None is used). The exception carries .code, .func, .message and .result.
PyObject* policy_raise(const Policy& policy, const PolicyFailure& failure, PyObject* func,
                       PyObject* result);

// What ffi.errors() gave, before compiling (the Python ErrorPolicy's fields).
struct PolicySource {
    std::string fails, code, message;  // C expressions; "" when absent
    PyRef raises;                      // None, a class, or a dict (code or name -> class)
    PyRef fallback;  // the class for codes `raises` does not name (cffix.CallError)
    bool retry_eintr = false;
    bool errno_style = false;  // raise OSError(errno...) when no class is given
    std::string name;
};

// Resolves the address of a function the cdef declares (for calls in expressions and
// destructors): null with an exception set when the library has none.
using SymbolResolver = void* (*)(void* context, const std::string& name);

// What names resolve against: one function of a scope, with its parameter names.
struct FunctionContext {
    const types::Scope* scope;
    CType* fntype;
    const std::vector<std::string>* param_names;  // may hold "" for unnamed ones
    SymbolResolver resolve;
    void* resolve_context;
    const char* function_name;
};

// Compiles `source` for one function. Null with an exception set (CDefError with line
// and column for syntax errors and unknown names, TypeError for misuse).
std::unique_ptr<Policy> compile_policy(const PolicySource& source, const FunctionContext& fn);

// A standalone expression compiled against a function, for ffi.wrap(default=...): it
// reads no argument, result or errno. Its value, converted to `type`, is written at `out`
// by eval_default. Null (exception set) on error.
std::unique_ptr<Policy> compile_default(const std::string& expression, const FunctionContext& fn,
                                        CType* type);
void eval_default(const Policy& policy, CType* type, char* out);

}  // namespace cffix::call
