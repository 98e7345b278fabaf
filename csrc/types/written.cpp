// Types as the cdef wrote them (see written.h): a walk of the type expression next to the
// CType resolved from it, writing C declarator syntax with the expression's qualifiers.
#include "types/written.h"

namespace cffix::types {

namespace {

using parse::TypeExpr;
using parse::TypeExprKind;

// The expression and its function CType do not walk together: the caller falls back
// to the CTypes' own text for the whole signature.
struct Unwritable {};

// Where a declarator goes while the text is built: never a character of C source.
constexpr char kMarker = '\x01';

class Writer {
public:
    explicit Writer(const WrittenTypedefs& typedefs) : typedefs_(typedefs) {}

    // Whether `e` writes a qualifier, or names a typedef that has a written form.
    bool has_qualifiers(const TypeExpr& e) const {
        if (e.is_const || e.is_volatile) return true;
        switch (e.kind) {
            case TypeExprKind::Named: return typedefs_(e.name) != nullptr;
            case TypeExprKind::Pointer:
            case TypeExprKind::Array: return has_qualifiers(*e.item);
            case TypeExprKind::Function:
                for (const parse::Param& p : e.params)
                    if (has_qualifiers(*p.type)) return true;
                return has_qualifiers(*e.item);
            default: return false;
        }
    }

    std::string type(const TypeExpr& e, const CType* t, const std::string& declarator) const {
        switch (e.kind) {
            case TypeExprKind::Pointer: {
                const TypeExpr& item = *e.item;
                std::string q = qualifiers(e);
                std::string d = "*" + (q.empty() ? "" : q.substr(1) + " ") + declarator;
                if (item.kind == TypeExprKind::Array || item.kind == TypeExprKind::Function)
                    d = "(" + d + ")";
                // A pointer to a function is one CType, the Function type itself.
                if (item.kind == TypeExprKind::Function) return function(item, t, d);
                if (t->kind != Kind::Pointer) return cname_with(t, declarator);
                return type(item, t->item, d);
            }
            case TypeExprKind::Array:
                if (t->kind != Kind::Array) return cname_with(t, declarator);
                return type(*e.item, t->item, declarator + array_suffix(e, t));
            case TypeExprKind::Function: return function(e, t, declarator);
            default: {  // void, a primitive, a typedef name, a struct, union or enum
                std::string d = qualifiers(e);
                if (!declarator.empty()) d += " " + declarator;
                if (e.kind == TypeExprKind::Named)
                    if (const WrittenType* w = typedefs_(e.name)) return w->with(d);
                return cname_with(t, d);
            }
        }
    }

    // A parameter as written: C adjusts arrays to pointers (and the CType is the pointer),
    // functions to function pointers (the CType already stands for one; the text says it,
    // so that it also declares a local).
    std::string parameter(const TypeExpr& e, const CType* t, const std::string& declarator) const {
        if (e.kind == TypeExprKind::Array && t->kind == Kind::Pointer)
            return type(*e.item, t->item, declarator + array_suffix(e, t));
        if (e.kind == TypeExprKind::Named && t->kind == Kind::Pointer)
            if (const WrittenType* w = typedefs_(e.name); w && w->array_typedef)
                return "__typeof__(&(*(" + w->text + " *)0)[0])" + qualifiers(e) +
                       (declarator.empty() ? "" : " " + declarator);
        if (e.kind == TypeExprKind::Function) return function(e, t, "(*" + declarator + ")");
        return type(e, t, declarator);
    }

private:
    static std::string qualifiers(const TypeExpr& e) {
        std::string q;
        if (e.is_const) q += " const";
        if (e.is_volatile) q += " volatile";
        return q;
    }

    static std::string array_suffix(const TypeExpr& e, const CType* t) {
        if (e.array_kind == parse::ArrayKind::Fixed)
            return "[" + std::to_string(e.array_length) + "]";
        if (t->kind == Kind::Array && t->length >= 0) return "[" + std::to_string(t->length) + "]";
        return "[]";
    }

    // `declarator(parameters)` with the result type around it; `t` is the Function CType.
    std::string function(const TypeExpr& e, const CType* t, const std::string& declarator) const {
        if (t->kind != Kind::Function) throw Unwritable{};
        std::string params;
        if (t->args.empty()) {
            params = e.ellipsis ? "" : "void";
        } else {
            if (e.params.size() != t->args.size()) throw Unwritable{};
            for (size_t i = 0; i < t->args.size(); ++i) {
                if (i) params += ", ";
                params += parameter(*e.params[i].type, t->args[i], "");
            }
        }
        if (e.ellipsis) params += params.empty() ? "..." : ", ...";
        return type(*e.item, t->item, declarator + "(" + params + ")");
    }

    const WrittenTypedefs& typedefs_;
};

WrittenType marked(std::string text) {
    size_t pos = text.find(kMarker);
    if (pos == std::string::npos) throw Unwritable{};
    text.erase(pos, 1);
    return {std::move(text), pos};
}

}  // namespace

std::optional<WrittenType> written_typedef(const TypeExpr& expr, const CType* t,
                                           const WrittenTypedefs& typedefs) {
    Writer writer(typedefs);
    if (!writer.has_qualifiers(expr)) return std::nullopt;
    try {
        return marked(writer.type(expr, t, std::string(1, kMarker)));
    } catch (const Unwritable&) {
        return std::nullopt;
    }
}

std::vector<WrittenType> written_signature(const TypeExpr& expr, const CType* fntype,
                                           const WrittenTypedefs& typedefs) {
    if (expr.kind != TypeExprKind::Function || fntype->kind != Kind::Function) return {};
    if (!fntype->args.empty() && expr.params.size() != fntype->args.size()) return {};
    Writer writer(typedefs);
    const std::string marker(1, kMarker);
    try {
        std::vector<WrittenType> out;
        out.push_back(marked(writer.type(*expr.item, fntype->item, marker)));
        for (size_t i = 0; i < fntype->args.size(); ++i)
            out.push_back(marked(writer.parameter(*expr.params[i].type, fntype->args[i], marker)));
        return out;
    } catch (const Unwritable&) {
        return {};
    }
}

}  // namespace cffix::types
