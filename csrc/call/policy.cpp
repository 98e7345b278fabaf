// Error policies: compiling their expressions against one function, evaluating them after
// a call, raising the exception (see policy.h).
#include "call/policy.h"

#include <cstring>
#include <limits>
#include <type_traits>

#include "call/plan.h"
#include "parse/expr.h"
#include "types/scope.h"
#include "util/errors.h"
#include "util/ft.h"

namespace cffix::call {

using parse::Expr;
using parse::ExprKind;
using parse::Tok;
using types::Conv;
using types::Kind;

namespace {

enum OpCode : uint8_t {
    OpConst,       // imm (kind in conv: a PolicyValue::Kind)
    OpString,      // ptr
    OpResult,      // load conv from the result
    OpArg,         // load conv from argument `index`
    OpArgAddress,  // the pointer value of argument `index` (for *p: then OpDeref)
    OpErrno,
    OpDeref,   // pops a pointer, loads conv through it (NULL reads as 0)
    OpUnary,   // conv: the operator token
    OpBinary,  // conv: the operator token
    OpJumpIfZero,
    OpJumpIfNonZero,
    OpJump,
    OpToBool,
    OpCall,  // index: the call; nargs values popped
};

constexpr int kStackMax = 32;
constexpr int kCallArgsMax = 8;

PolicyValue make_int(int64_t v) {
    PolicyValue r;
    r.i = v;
    r.kind = PolicyValue::Int;
    return r;
}

// A scalar of conversion kind `conv` at `p`, as C promotes it.
PolicyValue load(uint8_t conv, const void* p) {
    PolicyValue r;
    r.kind = PolicyValue::Int;
    r.i = 0;
    auto get = [p]<typename T>(T) {
        T v;
        memcpy(&v, p, sizeof v);
        return v;
    };
    switch (static_cast<Conv>(conv)) {
        case Conv::Int8: r.i = get(int8_t{}); break;
        case Conv::Int16: r.i = get(int16_t{}); break;
        case Conv::Int32: r.i = get(int32_t{}); break;
        case Conv::Int64: r.i = get(int64_t{}); break;
        case Conv::Char: r.i = get(char{}); break;
        case Conv::UInt8:
        case Conv::Bool: r.i = get(uint8_t{}); break;
        case Conv::UInt16:
        case Conv::WChar16: r.i = get(uint16_t{}); break;
        case Conv::UInt32:
        case Conv::WChar32:
            r.u = get(uint32_t{});
            r.kind = PolicyValue::UInt;
            break;
        case Conv::UInt64:
            r.u = get(uint64_t{});
            r.kind = PolicyValue::UInt;
            break;
        case Conv::Float:
            r.d = get(float{});
            r.kind = PolicyValue::Double;
            break;
        case Conv::Double:
            r.d = get(double{});
            r.kind = PolicyValue::Double;
            break;
        case Conv::Pointer:
        case Conv::Function:
            r.p = get(static_cast<const void*>(nullptr));
            r.kind = PolicyValue::Ptr;
            break;
        default: break;
    }
    return r;
}

bool loadable(const CType* t) {
    switch (t->conv) {
        case Conv::Int8:
        case Conv::Int16:
        case Conv::Int32:
        case Conv::Int64:
        case Conv::Char:
        case Conv::UInt8:
        case Conv::Bool:
        case Conv::UInt16:
        case Conv::WChar16:
        case Conv::UInt32:
        case Conv::WChar32:
        case Conv::UInt64:
        case Conv::Float:
        case Conv::Double:
        case Conv::Pointer:
        case Conv::Function: return true;
        default: return false;
    }
}

bool truth(const PolicyValue& v) { return v.kind == PolicyValue::Double ? v.d != 0 : v.u != 0; }

double as_double(const PolicyValue& v) {
    switch (v.kind) {
        case PolicyValue::Int: return static_cast<double>(v.i);
        case PolicyValue::Double: return v.d;
        default: return static_cast<double>(v.u);
    }
}

PolicyValue unary(uint8_t op, PolicyValue v) {
    switch (static_cast<Tok>(op)) {
        case Tok::Bang: return make_int(!truth(v));
        case Tok::Minus:
            if (v.kind == PolicyValue::Double)
                v.d = -v.d;
            else
                v.u = 0 - v.u;
            if (v.kind == PolicyValue::Ptr) v.kind = PolicyValue::UInt;
            return v;
        case Tok::Tilde:
            if (v.kind == PolicyValue::Double) return make_int(0);
            v.u = ~v.u;
            if (v.kind == PolicyValue::Ptr) v.kind = PolicyValue::UInt;
            return v;
        default: return v;  // Plus
    }
}

PolicyValue binary(uint8_t op, PolicyValue a, PolicyValue b) {
    Tok t = static_cast<Tok>(op);
    if (a.kind == PolicyValue::Double || b.kind == PolicyValue::Double) {
        double x = as_double(a), y = as_double(b);
        PolicyValue r;
        r.kind = PolicyValue::Double;
        switch (t) {
            case Tok::Plus: r.d = x + y; return r;
            case Tok::Minus: r.d = x - y; return r;
            case Tok::Star: r.d = x * y; return r;
            case Tok::Slash: r.d = y != 0 ? x / y : 0; return r;
            case Tok::EqEq: return make_int(x == y);
            case Tok::NotEq: return make_int(x != y);
            case Tok::Less: return make_int(x < y);
            case Tok::Greater: return make_int(x > y);
            case Tok::LessEq: return make_int(x <= y);
            case Tok::GreaterEq: return make_int(x >= y);
            case Tok::AmpAmp: return make_int(x != 0 && y != 0);
            case Tok::PipePipe: return make_int(x != 0 || y != 0);
            default: return make_int(0);  // refused when compiled where the types are known
        }
    }
    // Integers and pointers: unsigned when either side is (C's usual conversions on 64 bits).
    bool is_unsigned = a.kind != PolicyValue::Int || b.kind != PolicyValue::Int;
    uint64_t x = a.u, y = b.u;
    int64_t sx = a.i, sy = b.i;
    PolicyValue r;
    r.kind = is_unsigned ? PolicyValue::UInt : PolicyValue::Int;
    switch (t) {
        case Tok::Plus: r.u = x + y; return r;
        case Tok::Minus: r.u = x - y; return r;
        case Tok::Star: r.u = x * y; return r;
        case Tok::Slash:
        case Tok::Percent:  // division by zero reads as 0 rather than trapping
            if (y == 0 || (!is_unsigned && sx == INT64_MIN && sy == -1)) return make_int(0);
            if (is_unsigned)
                r.u = t == Tok::Slash ? x / y : x % y;
            else
                r.i = t == Tok::Slash ? sx / sy : sx % sy;
            return r;
        case Tok::Amp: r.u = x & y; return r;
        case Tok::Pipe: r.u = x | y; return r;
        case Tok::Caret: r.u = x ^ y; return r;
        case Tok::Shl: r.u = y >= 64 ? 0 : x << y; return r;
        case Tok::Shr:
            if (is_unsigned)
                r.u = y >= 64 ? 0 : x >> y;
            else
                r.i = sx >> (y >= 63 ? 63 : y);
            return r;
        case Tok::EqEq: return make_int(x == y);
        case Tok::NotEq: return make_int(x != y);
        case Tok::Less: return make_int(is_unsigned ? x < y : sx < sy);
        case Tok::Greater: return make_int(is_unsigned ? x > y : sx > sy);
        case Tok::LessEq: return make_int(is_unsigned ? x <= y : sx <= sy);
        case Tok::GreaterEq: return make_int(is_unsigned ? x >= y : sx >= sy);
        case Tok::AmpAmp: return make_int(x != 0 && y != 0);
        case Tok::PipePipe: return make_int(x != 0 || y != 0);
        default: return make_int(0);
    }
}

// A value into a C argument slot of type `t` (a loadable type).
void store(const CType* t, const PolicyValue& v, char* slot) {
    switch (t->conv) {
        case Conv::Float: {
            float f = static_cast<float>(as_double(v));
            memcpy(slot, &f, sizeof f);
            return;
        }
        case Conv::Double: {
            double d = as_double(v);
            memcpy(slot, &d, sizeof d);
            return;
        }
        default: {
            uint64_t u = v.kind == PolicyValue::Double
                             ? static_cast<uint64_t>(static_cast<int64_t>(v.d))
                             : v.u;
            memcpy(slot, &u, 8);  // little-endian: the low bytes are the narrow value
        }
    }
}

PolicyValue call_declared(const PolicyCall& c, const PolicyValue* args, int nargs) {
    alignas(16) char slots[kCallArgsMax][16];
    void* values[kCallArgsMax];
    const CallPlan* plan = c.plan;
    for (int k = 0; k < nargs; ++k) {
        memset(slots[k], 0, sizeof slots[k]);
        store(plan->args[static_cast<size_t>(k)].type, args[k], slots[k]);
        values[k] = slots[k];
    }
    alignas(16) char result[32] = {};
    ffi_call(const_cast<ffi_cif*>(&plan->cif), reinterpret_cast<void (*)()>(c.address), result,
             values);
    if (plan->result->kind == Kind::Void) return make_int(0);
    return load(static_cast<uint8_t>(plan->result->conv), result);
}

PolicyValue evaluate(const Policy& policy, const PolicyExpr& expr, const CallFrame& frame) {
    // Uninitialised storage: PolicyValue's default member initializer would otherwise
    // write every slot on each evaluation (per item of a batched call).
    union Stack {
        Stack() {}
        PolicyValue values[kStackMax];
    } storage;
    PolicyValue* stack = storage.values;
    int top = 0;
    const PolicyOp* ops = expr.ops.data();
    size_t n = expr.ops.size();
    for (size_t pc = 0; pc < n; ++pc) {
        const PolicyOp& op = ops[pc];
        switch (op.code) {
            case OpConst:
                stack[top].i = op.imm;
                stack[top++].kind = static_cast<PolicyValue::Kind>(op.conv);
                break;
            case OpString:
                stack[top].p = op.ptr;
                stack[top++].kind = PolicyValue::Ptr;
                break;
            case OpResult: stack[top++] = load(op.conv, frame.result); break;
            case OpArg: stack[top++] = load(op.conv, frame.args[op.index]); break;
            case OpArgAddress:
                stack[top++] = load(static_cast<uint8_t>(Conv::Pointer), frame.args[op.index]);
                break;
            case OpErrno: stack[top++] = make_int(frame.err); break;
            case OpDeref: {
                const void* p = stack[top - 1].p;
                stack[top - 1] = p ? load(op.conv, p) : make_int(0);
                break;
            }
            case OpUnary: stack[top - 1] = unary(op.conv, stack[top - 1]); break;
            case OpBinary:
                --top;
                stack[top - 1] = binary(op.conv, stack[top - 1], stack[top]);
                break;
            case OpJumpIfZero:
                if (!truth(stack[--top])) pc = static_cast<size_t>(op.index) - 1;
                break;
            case OpJumpIfNonZero:
                if (truth(stack[--top])) pc = static_cast<size_t>(op.index) - 1;
                break;
            case OpJump: pc = static_cast<size_t>(op.index) - 1; break;
            case OpToBool: stack[top - 1] = make_int(truth(stack[top - 1])); break;
            case OpCall: {
                top -= op.nargs;
                stack[top] = call_declared(policy.calls[static_cast<size_t>(op.index)], &stack[top],
                                           op.nargs);
                ++top;
                break;
            }
            default: break;
        }
    }
    return top > 0 ? stack[top - 1] : make_int(0);
}

// ---------------------------------------------------------------- compiling

// Which names an expression may use.
enum class Uses : uint8_t { Frame, Constants };

class Compiler {
public:
    Compiler(const FunctionContext& fn, Policy& policy, std::string_view source, const char* what,
             Uses uses)
        : fn_(fn), policy_(policy), source_(source), what_(what), uses_(uses) {}

    void compile(const Expr& e, PolicyExpr& out) {
        ops_ = &out.ops;
        depth_ = 0;
        value(e);
    }

private:
    [[noreturn]] void fail(const Expr& e, const std::string& message) const {
        throw parse::error_at(source_, e.offset, e.pos, message);
    }
    void emit(PolicyOp op) { ops_->push_back(op); }
    PolicyOp op(uint8_t code) const {
        PolicyOp o{};
        o.code = code;
        return o;
    }
    void push(const Expr& e, int n = 1) {
        depth_ += n;
        if (depth_ >= kStackMax) fail(e, "expression too complex");
    }

    int param_index(const std::string& name) const {
        const auto& names = *fn_.param_names;
        for (size_t k = 0; k < names.size(); ++k)
            if (!names[k].empty() && names[k] == name) return static_cast<int>(k);
        if (name.size() > 3 && name.compare(0, 3, "arg") == 0) {
            int k = 0;
            for (size_t i = 3; i < name.size(); ++i) {
                if (name[i] < '0' || name[i] > '9' || k > 10000) return -1;
                k = k * 10 + (name[i] - '0');
            }
            if (k < static_cast<int>(fn_.fntype->args.size())) return k;
        }
        return -1;
    }

    void frame_name(const Expr& e) const {
        if (uses_ != Uses::Frame)
            fail(e, "'" + e.text +
                        "' cannot be used in a default value (only constants, "
                        "sizeof and calls)");
    }

    // Emits the expression; its static C type when it names a typed value (a parameter,
    // the result, a call or a dereference), else null (arithmetic, constants).
    CType* value(const Expr& e) {
        switch (e.kind) {
            case ExprKind::Integer: {
                PolicyOp o = op(OpConst);
                o.imm = static_cast<int64_t>(e.value);
                o.conv = e.is_unsigned ? PolicyValue::UInt : PolicyValue::Int;
                emit(o);
                push(e);
                return nullptr;
            }
            case ExprKind::Float: {
                PolicyOp o = op(OpConst);
                memcpy(&o.imm, &e.real, sizeof o.imm);
                o.conv = PolicyValue::Double;
                emit(o);
                push(e);
                return float_type();
            }
            case ExprKind::String: {
                auto text = std::make_unique<char[]>(e.text.size() + 1);
                memcpy(text.get(), e.text.c_str(), e.text.size() + 1);
                PolicyOp o = op(OpString);
                o.ptr = text.get();
                policy_.strings.push_back(std::move(text));
                emit(o);
                push(e);
                return nullptr;
            }
            case ExprKind::Sizeof: return size_of(e);
            case ExprKind::Name: return name(e);
            case ExprKind::Call: return call(e);
            case ExprKind::Unary: return unary_op(e);
            case ExprKind::Binary: return binary_op(e);
            case ExprKind::Cast:  // typeof operands only (parse_typeof_operand)
            case ExprKind::Member:
            case ExprKind::Index: fail(e, "not allowed in a policy expression");
            case ExprKind::Conditional: {
                value(*e.operands[0]);
                --depth_;
                size_t jz = ops_->size();
                emit(op(OpJumpIfZero));
                value(*e.operands[1]);
                --depth_;
                size_t jmp = ops_->size();
                emit(op(OpJump));
                (*ops_)[jz].index = static_cast<int32_t>(ops_->size());
                value(*e.operands[2]);
                (*ops_)[jmp].index = static_cast<int32_t>(ops_->size());
                return nullptr;
            }
        }
        return nullptr;
    }

    // A double constant's static type, so that `%`, `&`... on it are refused.
    static CType* float_type() {
        static CType* t = nullptr;  // kept for the process
        return ft::made_once(t, [] { return types::primitive_type("double"); });
    }

    CType* size_of(const Expr& e) {
        int64_t size = -1;
        try {
            Ref<CType> t = const_cast<types::Scope*>(fn_.scope)->parse_type(e.text);
            if (types::complete_type(t.get(), false)) size = t->size;
        } catch (const parse::CDefError& err) {
            fail(e, "sizeof(" + e.text + "): " + err.message());
        }
        if (size < 0) fail(e, "sizeof(" + e.text + "): the type has no known size");
        PolicyOp o = op(OpConst);
        o.imm = size;
        o.conv = PolicyValue::UInt;
        emit(o);
        push(e);
        return nullptr;
    }

    CType* name(const Expr& e) {
        const std::string& n = e.text;
        if (n == "result") {
            frame_name(e);
            CType* r = fn_.fntype->item;
            if (r->kind == Kind::Void)
                fail(e, "'result' cannot be used: " + std::string(fn_.function_name) +
                            "() returns void");
            if (!loadable(r))
                fail(e, "'result' of type '" + r->cname + "' cannot be used in an expression");
            PolicyOp o = op(OpResult);
            o.conv = static_cast<uint8_t>(r->conv);
            emit(o);
            push(e);
            return r;
        }
        if (n == "errno") {
            frame_name(e);
            emit(op(OpErrno));
            push(e);
            return nullptr;
        }
        if (n == "NULL") {
            PolicyOp o = op(OpConst);
            o.conv = PolicyValue::Ptr;
            emit(o);
            push(e);
            return nullptr;
        }
        int k = param_index(n);
        if (k >= 0) {
            frame_name(e);
            CType* t = fn_.fntype->args[static_cast<size_t>(k)];
            if (!loadable(t))
                fail(e, "parameter '" + n + "' of type '" + t->cname +
                            "' cannot be used in an expression");
            PolicyOp o = op(OpArg);
            o.index = k;
            o.conv = static_cast<uint8_t>(t->conv);
            emit(o);
            push(e);
            return t;
        }
        types::GlobalDecl g = fn_.scope->find_global(n);
        if (g.constant) {
            if (g.constant->dots) fail(e, "the value of '" + n + "' is only known in API mode");
            PolicyOp o = op(OpConst);
            o.imm = static_cast<int64_t>(g.constant->value);
            o.conv = g.constant->value > INT64_MAX ? PolicyValue::UInt : PolicyValue::Int;
            emit(o);
            push(e);
            return nullptr;
        }
        if (g.function) fail(e, "'" + n + "' is a function: call it, as in '" + n + "(...)'");
        if (g.variable) fail(e, "global variable '" + n + "' cannot be used in an expression");
        std::string known = uses_ == Uses::Frame ? "result, errno, " : "";
        fail(e, "unknown name '" + n + "' (expected " + known +
                    (uses_ == Uses::Frame
                         ? "a parameter of " + std::string(fn_.function_name) + "(), argN, "
                         : std::string()) +
                    "a constant of the cdef or a call to a declared function)");
    }

    CType* call(const Expr& e) {
        types::GlobalDecl g = fn_.scope->find_global(e.text);
        if (!g.function) fail(e, "'" + e.text + "' is not a function declared in the cdef");
        CType* ft = g.function->type.get();
        if (ft->ellipsis) fail(e, "'" + e.text + "' is variadic: it cannot be called here");
        size_t nargs = ft->args.size();
        if (e.operands.size() != nargs)
            fail(e, "'" + e.text + "' takes " + std::to_string(nargs) + " argument" +
                        (nargs == 1 ? "" : "s") + ", got " + std::to_string(e.operands.size()));
        if (nargs > kCallArgsMax) fail(e, "'" + e.text + "' takes too many arguments");
        for (CType* a : ft->args)
            if (!loadable(a))
                fail(e, "'" + e.text + "' takes a '" + a->cname + "': only scalar arguments");
        if (ft->item->kind != Kind::Void && !loadable(ft->item))
            fail(e, "'" + e.text + "' returns a '" + ft->item->cname + "': only scalars");
        for (const auto& a : e.operands) value(*a);
        CallPlan* plan = plan_for(ft);
        if (!plan) throw PythonErrorSet();
        void* address = fn_.resolve(fn_.resolve_context, e.text);
        if (!address) throw PythonErrorSet();
        PolicyOp o = op(OpCall);
        o.index = static_cast<int32_t>(policy_.calls.size());
        o.nargs = static_cast<uint16_t>(nargs);
        policy_.calls.push_back(PolicyCall{address, Ref<CType>::borrow(ft), plan, e.text});
        emit(o);
        depth_ -= static_cast<int>(nargs);
        push(e);
        return ft->item->kind == Kind::Void ? nullptr : ft->item;
    }

    CType* unary_op(const Expr& e) {
        const Expr& operand = *e.operands[0];
        if (e.op == Tok::Star) {
            // `*p` for a parameter: its pointer value, then what it points to.
            CType* t = value(operand);
            if (!t || t->kind != Kind::Pointer)
                fail(e, "'*' needs a pointer (a pointer parameter, result or call)");
            CType* item = t->item;
            if (!loadable(item))
                fail(e, "'*' of a '" + t->cname + "': '" + item->cname +
                            "' cannot be used in an expression");
            PolicyOp o = op(OpDeref);
            o.conv = static_cast<uint8_t>(item->conv);
            emit(o);
            return item;
        }
        size_t before = ops_->size();
        CType* t = value(operand);
        PolicyOp& last = ops_->back();
        if (ops_->size() == before + 1 && last.code == OpConst && last.conv != PolicyValue::Ptr &&
            last.conv != PolicyValue::Double) {
            // A constant operand (`-1`): folded, so that `result == -1` stays one constant.
            PolicyValue v;
            v.i = last.imm;
            v.kind = static_cast<PolicyValue::Kind>(last.conv);
            v = unary(static_cast<uint8_t>(e.op), v);
            last.imm = v.i;
            last.conv = v.kind;
            return nullptr;
        }
        (void)t;
        PolicyOp o = op(OpUnary);
        o.conv = static_cast<uint8_t>(e.op);
        emit(o);
        return nullptr;
    }

    CType* binary_op(const Expr& e) {
        if (e.op == Tok::AmpAmp || e.op == Tok::PipePipe) {
            // a && b: a, JZ false, b, ToBool, Jmp end, false: 0. (|| mirrors it.)
            bool is_and = e.op == Tok::AmpAmp;
            value(*e.operands[0]);
            --depth_;
            size_t jump = ops_->size();
            emit(op(is_and ? OpJumpIfZero : OpJumpIfNonZero));
            value(*e.operands[1]);
            emit(op(OpToBool));
            size_t end = ops_->size();
            emit(op(OpJump));
            (*ops_)[jump].index = static_cast<int32_t>(ops_->size());
            PolicyOp c = op(OpConst);
            c.imm = is_and ? 0 : 1;
            emit(c);
            (*ops_)[end].index = static_cast<int32_t>(ops_->size());
            return nullptr;
        }
        CType* a = value(*e.operands[0]);
        CType* b = value(*e.operands[1]);
        bool floating = (a && (a->conv == Conv::Float || a->conv == Conv::Double)) ||
                        (b && (b->conv == Conv::Float || b->conv == Conv::Double));
        if (floating && (e.op == Tok::Percent || e.op == Tok::Amp || e.op == Tok::Pipe ||
                         e.op == Tok::Caret || e.op == Tok::Shl || e.op == Tok::Shr))
            fail(e, "invalid operands of a floating type to " + std::string("this operator"));
        PolicyOp o = op(OpBinary);
        o.conv = static_cast<uint8_t>(e.op);
        emit(o);
        --depth_;
        return nullptr;
    }

    const FunctionContext& fn_;
    Policy& policy_;
    std::string_view source_;
    const char* what_;
    Uses uses_;
    std::vector<PolicyOp>* ops_ = nullptr;
    int depth_ = 0;
};

// Compiles `text` (what= for messages) into `out`; throws CDefError / PythonErrorSet.
void compile_text(const std::string& text, const char* what, const FunctionContext& fn,
                  Policy& policy, PolicyExpr& out, Uses uses) {
    try {
        parse::ExprPtr e = parse::parse_expression(text);
        Compiler(fn, policy, text, what, uses).compile(*e, out);
    } catch (const parse::CDefError& err) {
        throw parse::CDefError(
            std::string("in ") + what + " of " + fn.function_name + "(): " + err.message(),
            err.pos(), err.source_line());
    }
}

}  // namespace

// ---------------------------------------------------------------- evaluation

bool policy_failed(const Policy& policy, const CallFrame& frame) {
    if (policy.quick_op) return policy_quick_failed(policy, frame.result);
    if (policy.fails.empty()) return false;
    return truth(evaluate(policy, policy.fails, frame));
}

bool policy_quick_failed_floating(const Policy& p, uint64_t word) {
    double v;
    if (p.quick_shift == 32) {  // a float: its four bytes at the start
        float f;
        uint32_t low = static_cast<uint32_t>(word);
        memcpy(&f, &low, sizeof f);
        v = f;
    } else {
        memcpy(&v, &word, sizeof v);
    }
    double c = p.quick_real;
    switch (p.quick_op) {  // NaN compares unequal and unordered, as in C
        case kQuickEq: return v == c;
        case kQuickNe: return v != c;
        case kQuickLt: return v < c;
        case kQuickGt: return v > c;
        case kQuickLe: return v <= c;
        default: return v >= c;
    }
}

// Recognizes `result OP constant` (policy.h: quick_op).
static void find_quick_form(Policy& p) {
    const auto& ops = p.fails.ops;
    if (ops.size() != 3 || ops[0].code != OpResult || ops[1].code != OpConst ||
        ops[2].code != OpBinary)
        return;
    Conv result = static_cast<Conv>(ops[0].conv);
    bool floating = result == Conv::Float || result == Conv::Double;
    if (ops[1].conv != PolicyValue::Int && !(floating && ops[1].conv == PolicyValue::Double))
        return;
    uint8_t quick;
    switch (static_cast<Tok>(ops[2].conv)) {
        case Tok::EqEq: quick = kQuickEq; break;
        case Tok::NotEq: quick = kQuickNe; break;
        case Tok::Less: quick = kQuickLt; break;
        case Tok::Greater: quick = kQuickGt; break;
        case Tok::LessEq: quick = kQuickLe; break;
        case Tok::GreaterEq: quick = kQuickGe; break;
        default: return;
    }
    p.quick_op = quick;
    p.quick_conv = ops[0].conv;
    p.quick_value = ops[1].imm;
    if (floating) {  // as the op list compares: the constant converted to double
        p.quick_floating = true;
        p.quick_shift = result == Conv::Float ? 32 : 0;
        if (ops[1].conv == PolicyValue::Double)
            memcpy(&p.quick_real, &ops[1].imm, sizeof p.quick_real);
        else
            p.quick_real = static_cast<double>(ops[1].imm);
        return;
    }
    // The result as the comparison sees it: narrowed to its width, extended by its sign;
    // 32- and 64-bit unsigned results and pointers compare as unsigned 64-bit values, the
    // others as signed ones (narrow unsigned values are not negative).
    bool unsigned_domain = false;
    switch (static_cast<Conv>(p.quick_conv)) {
        case Conv::Int8: p.quick_shift = 56, p.quick_arith = true; break;
        case Conv::Char: p.quick_shift = 56, p.quick_arith = std::is_signed_v<char>; break;
        case Conv::UInt8:
        case Conv::Bool: p.quick_shift = 56; break;
        case Conv::Int16: p.quick_shift = 48, p.quick_arith = true; break;
        case Conv::UInt16:
        case Conv::WChar16: p.quick_shift = 48; break;
        case Conv::Int32: p.quick_shift = 32, p.quick_arith = true; break;
        case Conv::UInt32:
        case Conv::WChar32: p.quick_shift = 32, unsigned_domain = true; break;
        case Conv::Int64: p.quick_arith = true; break;
        default: unsigned_domain = true; break;
    }
    // The failing values as one range [lo, hi] of the domain, or its complement.
    auto range = [&p, quick]<typename T>(T c) {
        constexpr T lowest = std::numeric_limits<T>::min(), highest = std::numeric_limits<T>::max();
        T lo = lowest, hi = highest;
        bool negate = false;
        switch (quick) {
            case kQuickEq: lo = hi = c; break;
            case kQuickNe: lo = hi = c, negate = true; break;
            case kQuickLt:
                if (c == lowest)
                    negate = true;  // never: the complement of everything
                else
                    hi = c - 1;
                break;
            case kQuickLe: hi = c; break;
            case kQuickGt:
                if (c == highest)
                    negate = true;
                else
                    lo = c + 1;
                break;
            default: lo = c; break;
        }
        p.quick_lo = static_cast<uint64_t>(lo);
        p.quick_span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
        p.quick_negate = negate;
    };
    if (unsigned_domain)
        range(static_cast<uint64_t>(p.quick_value));
    else
        range(p.quick_value);
}

void policy_capture(const Policy& policy, const CallFrame& frame, PolicyFailure& failure) {
    failure.err = frame.err;
    if (policy.code.empty()) {
        failure.code = 0;
    } else {
        PolicyValue c = evaluate(policy, policy.code, frame);
        failure.code = c.kind == PolicyValue::Double ? static_cast<int64_t>(c.d) : c.i;
    }
    failure.has_message = !policy.message.empty();
    failure.message_null = false;
    failure.message_is_int = false;
    failure.message_len = 0;
    if (!failure.has_message) return;
    PolicyValue m = evaluate(policy, policy.message, frame);
    if (m.kind == PolicyValue::Ptr) {
        if (!m.p) {
            failure.message_null = true;
            return;
        }
        const char* text = static_cast<const char*>(m.p);
        size_t len = strnlen(text, kPolicyMessageMax);
        memcpy(failure.message, text, len);
        failure.message_len = static_cast<uint32_t>(len);
    } else {
        failure.message_is_int = true;
        failure.message_int = m.kind == PolicyValue::Double ? static_cast<int64_t>(m.d) : m.i;
    }
}

// The message as Python sees it: a str (bytes that are not UTF-8 decoded with
// replacement), or None.
static PyObject* message_object(const PolicyFailure& failure) {
    if (!failure.has_message || failure.message_null) Py_RETURN_NONE;
    if (failure.message_is_int) return PyLong_FromLongLong(failure.message_int);
    return PyUnicode_DecodeUTF8(failure.message, failure.message_len, "replace");
}

static PyObject* exception_class(const Policy& policy, int64_t code) {
    for (const auto& [value, cls] : policy.codes)
        if (value == code) return cls.get();
    return policy.fallback.get();
}

static bool set_attributes(PyObject* exc, int64_t code, PyObject* func, PyObject* message,
                           PyObject* result) {
    PyRef code_obj(PyLong_FromLongLong(code));
    if (!code_obj) return false;
    return PyObject_SetAttrString(exc, "code", code_obj.get()) == 0 &&
           PyObject_SetAttrString(exc, "func", func) == 0 &&
           PyObject_SetAttrString(exc, "message", message) == 0 &&
           PyObject_SetAttrString(exc, "result", result ? result : Py_None) == 0;
}

PyObject* policy_raise(const Policy& policy, const PolicyFailure& failure, PyObject* func,
                       PyObject* result) {
    PyRef message(message_object(failure));
    if (!message) return nullptr;
    PyRef exc;
    if (policy.raise_kind == RaiseKind::OSErrorFromCode) {
        PyObject* cls = exception_class(policy, failure.code);
        if (!cls) cls = PyExc_OSError;
        PyRef text;
        if (message.get() != Py_None && PyUnicode_Check(message.get()))
            text = PyRef::borrow(message.get());
        else
            text = PyRef(PyUnicode_DecodeLocale(strerror(static_cast<int>(failure.code)),
                                                "surrogateescape"));
        if (!text) return nullptr;
        exc = PyRef(
            PyObject_CallFunction(cls, "LO", static_cast<long long>(failure.code), text.get()));
    } else {
        PyObject* cls = exception_class(policy, failure.code);
        PyRef text;
        if (message.get() != Py_None)
            text = PyRef(PyUnicode_FromFormat("%U() failed: %S (code %lld)", func, message.get(),
                                              static_cast<long long>(failure.code)));
        else
            text = PyRef(PyUnicode_FromFormat("%U() failed (code %lld)", func,
                                              static_cast<long long>(failure.code)));
        if (!text) return nullptr;
        exc = PyRef(PyObject_CallOneArg(cls, text.get()));
    }
    if (!exc) return nullptr;
    if (!set_attributes(exc.get(), failure.code, func, message.get(), result)) return nullptr;
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.get())), exc.get());
    return nullptr;
}

// ---------------------------------------------------------------- compiling

// `raises`: None, a class, or a dict of code (int or constant name; None or "default" for
// the others) -> class.
static bool compile_raises(const PolicySource& source, const FunctionContext& fn, Policy& p) {
    PyObject* raises = source.raises.get();
    auto check_class = [](PyObject* cls) {
        if (PyType_Check(cls) &&
            PyType_IsSubtype(reinterpret_cast<PyTypeObject*>(cls),
                             reinterpret_cast<PyTypeObject*>(PyExc_BaseException)))
            return true;
        PyErr_Format(PyExc_TypeError, "raises: expected an exception class, got %R", cls);
        return false;
    };
    if (!raises || raises == Py_None) return true;
    if (PyType_Check(raises)) {
        if (!check_class(raises)) return false;
        p.fallback = PyRef::borrow(raises);
        return true;
    }
    if (!PyDict_Check(raises)) {
        PyErr_Format(PyExc_TypeError,
                     "raises: expected an exception class or a dict of codes to classes, got %s",
                     Py_TYPE(raises)->tp_name);
        return false;
    }
    PyObject *key, *cls;
    Py_ssize_t pos = 0;
    while (PyDict_Next(raises, &pos, &key, &cls)) {
        if (!check_class(cls)) return false;
        bool is_default = key == Py_None;
        if (PyUnicode_Check(key)) {
            const char* name = PyUnicode_AsUTF8(key);
            if (!name) return false;
            if (strcmp(name, "default") == 0) {
                is_default = true;
            } else {
                types::GlobalDecl g = fn.scope->find_global(name);
                if (!g.constant || g.constant->dots) {
                    PyErr_Format(PyExc_KeyError,
                                 "raises: '%s' is not an integer constant of the cdef", name);
                    return false;
                }
                p.codes.emplace_back(static_cast<int64_t>(g.constant->value), PyRef::borrow(cls));
                continue;
            }
        }
        if (is_default) {
            p.fallback = PyRef::borrow(cls);
            continue;
        }
        if (!PyLong_Check(key)) {
            PyErr_Format(PyExc_TypeError,
                         "raises: a key is a code (an int or a constant's name), None or "
                         "'default', not %R",
                         key);
            return false;
        }
        long long v = PyLong_AsLongLong(key);
        if (v == -1 && PyErr_Occurred()) return false;
        p.codes.emplace_back(v, PyRef::borrow(cls));
    }
    return true;
}

std::unique_ptr<Policy> compile_policy(const PolicySource& source, const FunctionContext& fn) {
    auto p = std::make_unique<Policy>();
    p->name = source.name;
    p->retry_eintr = source.retry_eintr;
    try {
        if (!source.fails.empty())
            compile_text(source.fails, "fails=", fn, *p, p->fails, Uses::Frame);
        if (!source.code.empty()) compile_text(source.code, "code=", fn, *p, p->code, Uses::Frame);
        if (!source.message.empty())
            compile_text(source.message, "message=", fn, *p, p->message, Uses::Frame);
    } catch (...) {
        cffix::translate_exception();
        return nullptr;
    }
    if (!compile_raises(source, fn, *p)) return nullptr;
    find_quick_form(*p);
    if (!p->fallback) p->fallback = source.fallback;
    if (source.errno_style) {
        p->raise_kind = RaiseKind::OSErrorFromCode;
    } else if (!p->fallback) {
        PyErr_SetString(PyExc_SystemError, "error policy without a default exception class");
        return nullptr;
    }
    return p;
}

std::unique_ptr<Policy> compile_default(const std::string& expression, const FunctionContext& fn,
                                        CType* type) {
    if (!loadable(type)) {
        PyErr_Format(PyExc_TypeError, "default=: a parameter of type '%s' cannot take a default",
                     type->cname.c_str());
        return nullptr;
    }
    auto p = std::make_unique<Policy>();
    try {
        compile_text(expression, "default=", fn, *p, p->code, Uses::Constants);
    } catch (...) {
        cffix::translate_exception();
        return nullptr;
    }
    return p;
}

void eval_default(const Policy& policy, CType* type, char* out) {
    CallFrame none{nullptr, nullptr, 0};
    store(type, evaluate(policy, policy.code, none), out);
}

}  // namespace cffix::call
