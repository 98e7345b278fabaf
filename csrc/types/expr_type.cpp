// typeof(expression): the C type of an expression (parse/expr.h's tree), as gcc gives it.
//
// Names are the scope's: variables (their declared type), functions (the function type
// itself), enumerators (int when the value fits, else the enum's type, as gcc) and
// `static const T X = ...;` constants (T). The operators follow C11 6.5: integer
// promotions and the usual arithmetic conversions, pointer arithmetic (ptr - ptr is
// ptrdiff_t), comparisons and logical operators (int), member access, subscripts, calls
// (the result type), casts, sizeof/_Alignof (size_t), ?: and the comma operator. Arrays
// and functions decay to pointers where C says so, except as the whole operand:
// typeof(arr) is the array type, typeof(f) the function type.
//
// CTypes drop qualifiers (as cffi's do), so `const int x;` gives `int`; and the integer
// types C makes by arithmetic are named canonically ("int", "unsigned long"), while a
// name keeps its declared type (`int32_t x;` gives int32_t).
#include <climits>
#include <cstring>

#include "parse/expr.h"
#include "types/scope.h"

namespace cffix::types {

using parse::Expr;
using parse::ExprKind;
using parse::Tok;

namespace {

CTypeRef owned(CType* t) { return CTypeRef(t); }

[[noreturn]] void typeof_error(const std::string& message, const Expr& e) {
    throw parse::CDefError("typeof: " + message, e.pos);
}

CTypeRef primitive(std::string_view name) { return owned(primitive_type(name)); }

// An expression's type and the facts C's rules ask about it.
struct Typed {
    CTypeRef type;
    bool function = false;       // a function designator: `type` is the function itself
    bool lvalue = false;         // designates an object (its address may be taken)
    bool null_constant = false;  // the integer constant 0 or (void *)0
    int bitfield = -1;           // the width of a bit-field member, -1 for any other
};

bool is_integer(const CType* t) {
    return t->kind == Kind::Enum ||
           (t->kind == Kind::Primitive && (t->flags & (PF_INTEGER | PF_CHAR | PF_BOOL)));
}
bool is_arithmetic(const CType* t) {
    return is_integer(t) ||
           (t->kind == Kind::Primitive && (is_real_floating(t->conv) || (t->flags & PF_COMPLEX)));
}
// A pointer value: an object pointer, or what cffi calls a function type (a pointer to a
// function) when it is no function designator.
bool is_pointer(const Typed& v) {
    return !v.function && (v.type->kind == Kind::Pointer || v.type->kind == Kind::Function);
}
bool is_scalar(const Typed& v) { return is_arithmetic(v.type.get()) || is_pointer(v); }

std::string quoted(const CType* t) { return "'" + t->cname + "'"; }

const char* operator_text(Tok op) {
    switch (op) {
        case Tok::Plus: return "+";
        case Tok::Minus: return "-";
        case Tok::Star: return "*";
        case Tok::Slash: return "/";
        case Tok::Percent: return "%";
        case Tok::Shl: return "<<";
        case Tok::Shr: return ">>";
        case Tok::Amp: return "&";
        case Tok::Pipe: return "|";
        case Tok::Caret: return "^";
        case Tok::Tilde: return "~";
        case Tok::Bang: return "!";
        default: return "?";
    }
}

// An integer type in the usual arithmetic conversions: one of C's named types after
// promotion (int, long, long long, signed or not), or gcc's own type of a bit-field
// wider than int (`unsigned long x : 40` has a 40-bit type, which C has no name for).
struct IntegerClass {
    int bits;   // the width
    int order;  // 0 for a bit-field's type, 1 int and long, 2 long long (same width)
    bool is_unsigned;
    bool named() const { return order > 0; }
    // conversion rank: by width, then long long above long, a bit-field's type below both
    int rank() const { return bits * 4 + order; }
};

constexpr int kIntBits = static_cast<int>(sizeof(int) * CHAR_BIT);

// The canonical integer type of `t` (C's names for what cffi's int32_t, size_t... are on
// this platform), for a type at least as wide as int.
IntegerClass integer_class(const CType* t) {
    const CType* base = t->kind == Kind::Enum ? t->item : t;
    bool is_unsigned = (base->flags & PF_UNSIGNED) != 0;
    if (base->conv == Conv::Char) is_unsigned = !std::is_signed_v<char>;
    int bits = static_cast<int>(base->size * CHAR_BIT);
    bool long_long =
        bits > kIntBits && (base->cname == "long long" || base->cname == "unsigned long long" ||
                            sizeof(long) * CHAR_BIT < static_cast<size_t>(bits));
    return {bits, long_long ? 2 : 1, is_unsigned};
}

CTypeRef integer_named(IntegerClass c, const Expr& e) {
    if (!c.named())
        typeof_error("the result has gcc's " + std::to_string(c.bits) +
                         "-bit type of a bit-field, which C has no name for",
                     e);
    int rank = c.bits <= kIntBits ? 0 : c.order == 2 ? 2 : 1;
    return primitive(parse::integer_type_name(rank, c.is_unsigned));
}

// C11 6.3.1.1: what int holds all values of becomes int (bit-fields by their width, as
// gcc does: `unsigned x : 32` stays unsigned int, a wider one keeps its own type).
IntegerClass promoted_class(const Typed& v) {
    IntegerClass c = integer_class(v.type.get());
    if (v.bitfield >= 0) {
        c.bits = v.bitfield;
        c.order = v.bitfield <= kIntBits ? 1 : 0;
    }
    if (c.bits < kIntBits || (c.bits == kIntBits && !c.is_unsigned)) return {kIntBits, 1, false};
    return c;
}

// The floating rank of an arithmetic type: 0 for integers, 1 float, 2 double, 3 long
// double, 4 _Float128; `complex` says whether it is complex.
int floating_rank(const CType* t, bool& complex) {
    complex = false;
    if (t->kind != Kind::Primitive) return 0;
    switch (t->conv) {
        case Conv::Float: return 1;
        case Conv::Double: return 2;
        case Conv::LongDouble: return 3;
        case Conv::Float128: return 4;
        case Conv::ComplexFloat: complex = true; return 1;
        case Conv::ComplexDouble: complex = true; return 2;
        default: return 0;
    }
}

}  // namespace

class Scope::ExpressionTypes {
public:
    explicit ExpressionTypes(Scope& scope) : scope_(scope) {}

    // The type of `e` as the whole operand of typeof: no decay.
    Typed operand(const Expr& e) {
        if (++depth_ > kMaxDepth) typeof_error("expression nested too deeply", e);
        struct Leave {
            int& depth;
            ~Leave() { --depth; }
        } leave{depth_};
        switch (e.kind) {
            case ExprKind::Integer: {
                Typed v{primitive(e.literal_type)};
                v.null_constant = e.value == 0;
                return v;
            }
            case ExprKind::Float: return {primitive(e.literal_type)};
            case ExprKind::String: {
                CTypeRef chr = primitive("char");
                Typed v{owned(array_type(chr.get(), static_cast<int64_t>(e.text.size()) + 1))};
                v.lvalue = true;
                return v;
            }
            case ExprKind::Name: return name(e);
            case ExprKind::Unary: return unary(e);
            case ExprKind::Binary: return binary(e);
            case ExprKind::Conditional: return conditional(e);
            case ExprKind::Call: return call(e);
            case ExprKind::Sizeof:
                if (!e.type)
                    operand(*e.operands[0]);  // its names must exist
                else
                    scope_.resolve(*e.type);
                return {primitive("size_t")};
            case ExprKind::Cast: return cast(e);
            case ExprKind::Member: return member(e);
            case ExprKind::Index: return index(e);
        }
        typeof_error("unexpected expression", e);
    }

private:
    static constexpr int kMaxDepth = 200;

    // The value of `e` where C converts it (C11 6.3.2.1): arrays and functions decay to
    // pointers, and the value is no longer an lvalue.
    Typed value(const Expr& e) {
        Typed v = decay(operand(e));
        CType* t = v.type.get();
        if (t->kind == Kind::Enum && t->size < 0) complete_type(t, true);  // `enum e;`
        if (t->kind == Kind::Primitive && (t->flags & PF_DOTS))
            typeof_error(quoted(t) + " is only known once the module is compiled", e);
        return v;
    }
    static Typed decay(Typed v) {
        Typed r;
        r.null_constant = v.null_constant;
        r.bitfield = v.bitfield;
        if (v.function) {
            r.type = std::move(v.type);  // cffi's function type is the pointer to it
        } else if (v.type->kind == Kind::Array) {
            r.type = owned(pointer_type(v.type->item));
        } else {
            r.type = std::move(v.type);
        }
        return r;
    }

    Typed name(const Expr& e) {
        GlobalDecl g = scope_.find_global(e.text);
        if (g.variable) return {g.variable->type, false, true};
        if (g.function) return {g.function->type, true};
        const ConstantDecl* c = g.constant;
        if (!c && !g.macro) {
            auto it = scope_.hidden_constants_.find(e.text);
            if (it != scope_.hidden_constants_.end()) c = &it->second;
        }
        if (c) return constant(e, *c);
        if (g.macro || scope_.find_typedef(e.text))
            typeof_error("'" + e.text + "' is not a variable, function or enumerator", e);
        typeof_error("unknown name '" + e.text + "'", e);
    }

    Typed constant(const Expr& e, const ConstantDecl& c) {
        if (c.declared_type) return {c.declared_type};
        if (c.enum_type) {  // gcc: int if the value fits, else the enum's type
            Typed v;
            v.type = c.value >= INT_MIN && c.value <= INT_MAX ? primitive("int")
                                                              : CTypeRef::borrow(c.enum_type);
            v.null_constant = c.value == 0;
            return v;
        }
        // `#define X 42`: the type of the text it stood for is not kept (1, 1L, 1U...).
        typeof_error("'" + e.text +
                         "' is a #define constant: its C type is not known (typeof of a "
                         "variable, function or enumerator only)",
                     e);
    }

    Typed unary(const Expr& e) {
        const Expr& x = *e.operands[0];
        switch (e.op) {
            case Tok::Amp: {
                Typed v = operand(x);
                if (v.bitfield >= 0) typeof_error("cannot take the address of a bit-field", e);
                if (v.function) return {std::move(v.type)};
                if (!v.lvalue) typeof_error("'&' of a value that is not an object", e);
                return {owned(pointer_type(v.type.get()))};
            }
            case Tok::Star: {
                Typed v = value(x);
                if (v.type->kind == Kind::Function) return {std::move(v.type), true};
                if (v.type->kind != Kind::Pointer)
                    typeof_error("'*' of " + quoted(v.type.get()) + ", which is not a pointer", e);
                Typed r{CTypeRef::borrow(v.type->item)};
                r.lvalue = true;
                return r;
            }
            case Tok::Bang: {
                Typed v = value(x);
                if (!is_scalar(v)) typeof_error("'!' of " + quoted(v.type.get()), e);
                return {primitive("int")};
            }
            default: {  // + - ~
                Typed v = value(x);
                bool complex;
                if (!is_arithmetic(v.type.get()) ||
                    (e.op == Tok::Tilde && floating_rank(v.type.get(), complex) != 0))
                    typeof_error(
                        std::string("'") + operator_text(e.op) + "' of " + quoted(v.type.get()), e);
                if (!is_integer(v.type.get())) return {std::move(v.type)};
                return {integer_named(promoted_class(v), e)};
            }
        }
    }

    // C11 6.3.1.8: the common type of two arithmetic operands.
    CTypeRef arithmetic(const Typed& a, const Typed& b, const Expr& e) {
        bool complex_a, complex_b;
        int fa = floating_rank(a.type.get(), complex_a);
        int fb = floating_rank(b.type.get(), complex_b);
        if (fa || fb) {
            if ((fa == 3 && fb == 4) || (fa == 4 && fb == 3))
                typeof_error("'long double' and '_Float128' have no common type", e);
            int rank = std::max(fa, fb);
            if (!complex_a && !complex_b)
                return primitive(rank == 1   ? "float"
                                 : rank == 2 ? "double"
                                 : rank == 3 ? "long double"
                                             : "_Float128");
            if (rank > 2) typeof_error("complex types beyond 'double _Complex'", e);
            return primitive(rank == 1 ? "float _Complex" : "double _Complex");
        }
        IntegerClass x = promoted_class(a), y = promoted_class(b);
        if (x.is_unsigned == y.is_unsigned) return integer_named(x.rank() >= y.rank() ? x : y, e);
        IntegerClass u = x.is_unsigned ? x : y, s = x.is_unsigned ? y : x;
        if (u.rank() >= s.rank()) return integer_named(u, e);
        if (s.bits > u.bits) return integer_named(s, e);  // it holds every value of u
        s.is_unsigned = true;
        return integer_named(s, e);
    }

    Typed binary(const Expr& e) {
        if (e.op == Tok::Comma) {
            operand(*e.operands[0]);
            return value(*e.operands[1]);
        }
        Typed a = value(*e.operands[0]), b = value(*e.operands[1]);
        const CType* ta = a.type.get();
        const CType* tb = b.type.get();
        auto refuse = [&]() -> Typed {
            typeof_error(std::string("invalid operands to '") + operator_text(e.op) +
                             "': " + quoted(ta) + " and " + quoted(tb),
                         e);
        };
        switch (e.op) {
            case Tok::EqEq:
            case Tok::NotEq:
            case Tok::Less:
            case Tok::Greater:
            case Tok::LessEq:
            case Tok::GreaterEq:
            case Tok::AmpAmp:
            case Tok::PipePipe:
                if (!is_scalar(a) || !is_scalar(b)) {
                    typeof_error("'" +
                                     std::string(e.op == Tok::AmpAmp     ? "&&"
                                                 : e.op == Tok::PipePipe ? "||"
                                                                         : "comparison") +
                                     "' of " + quoted(ta) + " and " + quoted(tb),
                                 e);
                }
                return {primitive("int")};
            case Tok::Plus:
            case Tok::Minus:
                if (is_arithmetic(ta) && is_arithmetic(tb)) return {arithmetic(a, b, e)};
                if (ta->kind == Kind::Pointer && is_integer(tb)) return {std::move(a.type)};
                if (e.op == Tok::Plus && is_integer(ta) && tb->kind == Kind::Pointer)
                    return {std::move(b.type)};
                if (e.op == Tok::Minus && ta->kind == Kind::Pointer && tb->kind == Kind::Pointer)
                    return {primitive("ptrdiff_t")};
                return refuse();
            case Tok::Star:
            case Tok::Slash:
            case Tok::Percent:
            case Tok::Amp:
            case Tok::Pipe:
            case Tok::Caret: {
                bool (*takes)(const CType*) =
                    e.op == Tok::Star || e.op == Tok::Slash ? is_arithmetic : is_integer;
                if (takes(ta) && takes(tb)) return {arithmetic(a, b, e)};
                return refuse();
            }
            case Tok::Shl:
            case Tok::Shr:
                if (is_integer(ta) && is_integer(tb)) return {integer_named(promoted_class(a), e)};
                return refuse();
            default: return refuse();
        }
    }

    // C11 6.5.15: the result of `c ? a : b`.
    Typed conditional(const Expr& e) {
        Typed c = value(*e.operands[0]);
        if (!is_scalar(c)) typeof_error("the condition of '?:' is " + quoted(c.type.get()), e);
        Typed a = value(*e.operands[1]), b = value(*e.operands[2]);
        CType* ta = a.type.get();
        CType* tb = b.type.get();
        if (is_arithmetic(ta) && is_arithmetic(tb)) return {arithmetic(a, b, e)};
        if (ta == tb) return {std::move(a.type)};  // the same struct, union, void, pointer
        if (is_pointer(a) && b.null_constant && is_integer(tb)) return {std::move(a.type)};
        if (is_pointer(b) && a.null_constant && is_integer(ta)) return {std::move(b.type)};
        if (ta->kind == Kind::Pointer && tb->kind == Kind::Pointer) {
            // a null pointer constant gives the other type; void * with another object
            // pointer gives void *
            if (a.null_constant) return {std::move(b.type)};
            if (b.null_constant) return {std::move(a.type)};
            if (ta->item->kind == Kind::Void) return {std::move(a.type)};
            if (tb->item->kind == Kind::Void) return {std::move(b.type)};
        }
        typeof_error("'?:' of " + quoted(ta) + " and " + quoted(tb) + ", which have no common type",
                     e);
    }

    Typed call(const Expr& e) {
        Typed f = value(*e.callee);
        if (f.type->kind != Kind::Function)
            typeof_error("calling " + quoted(f.type.get()) + ", which is not a function", e);
        for (const auto& argument : e.operands) operand(*argument);  // its names must exist
        return {CTypeRef::borrow(f.type->item)};
    }

    Typed cast(const Expr& e) {
        Resolved target = scope_.resolve(*e.type);
        Typed v = value(*e.operands[0]);
        const CType* t = target.type.get();
        if (target.raw_function || t->kind == Kind::Array || is_record(t))
            typeof_error("cast to " + quoted(t) + ", which is not a scalar type", e);
        Typed r{std::move(target.type)};
        // (void *)0 is a null pointer constant too
        r.null_constant = v.null_constant && is_integer(v.type.get()) &&
                          r.type->kind == Kind::Pointer && r.type->item->kind == Kind::Void;
        return r;
    }

    Typed member(const Expr& e) {
        Typed v = e.op == Tok::Arrow ? value(*e.operands[0]) : operand(*e.operands[0]);
        CType* record = v.type.get();
        const char* op = e.op == Tok::Arrow ? "->" : ".";
        if (e.op == Tok::Arrow) {
            if (record->kind != Kind::Pointer)
                typeof_error(std::string("'->") + e.text + "' of " + quoted(record) +
                                 ", which is not a pointer",
                             e);
            record = record->item;
        }
        if (!is_record(record))
            typeof_error(std::string("'") + op + e.text + "' of " + quoted(record) +
                             ", which is not a struct or union",
                         e);
        if (!complete_type(record, false))
            typeof_error(
                std::string("'") + op + e.text + "' of " + quoted(record) + ", which is incomplete",
                e);
        for (const FieldInfo& f : record->fields) {
            if (f.name != e.text) continue;
            Typed r{CTypeRef::borrow(f.type)};
            r.lvalue = e.op == Tok::Arrow || v.lvalue;
            if (f.is_bitfield()) r.bitfield = f.bitsize;
            return r;
        }
        typeof_error(quoted(record) + " has no member '" + e.text + "'", e);
    }

    Typed index(const Expr& e) {
        Typed a = value(*e.operands[0]), b = value(*e.operands[1]);
        const Typed* pointer = a.type->kind == Kind::Pointer ? &a : &b;
        const Typed* integer = pointer == &a ? &b : &a;
        if (pointer->type->kind != Kind::Pointer || !is_integer(integer->type.get()))
            typeof_error("subscript of " + quoted(a.type.get()) + " by " + quoted(b.type.get()), e);
        Typed r{CTypeRef::borrow(pointer->type->item)};
        r.lvalue = true;
        return r;
    }

    Scope& scope_;
    int depth_ = 0;
};

Scope::Resolved Scope::resolve_typeof(const parse::TypeExpr& e) {
    Typed t = ExpressionTypes(*this).operand(*e.operand);
    if (t.bitfield >= 0) typeof_error("applied to a bit-field", *e.operand);
    return {std::move(t.type), t.function};
}

}  // namespace cffix::types
