// Types as the cdef wrote them, qualifiers kept: the C text API mode needs where a
// declaration must agree with the C source exactly.
//
// CTypes drop const and volatile (as cffi's types do), which is right for conversions
// and harmless for the generated calls. But the C function that API mode defines for an
// extern "Python" declaration must be compatible with the declarations the C source makes
// of it: `int cb(const char *)` in the cdef must define `int cb(char const *a0)`, not
// `int cb(char *a0)`, which C rejects as conflicting types.
//
// Qualifiers are kept where the cdef writes them, typedefs included: a typedef whose
// definition has qualifiers (or names such a typedef) keeps its written form too, and a
// qualifier on a typedef name applies to its whole type (`const str_t` of
// `typedef char *str_t;` is `char * const`). Where the type expression and the CType do
// not walk together (a pointer to a typedef of a function type), the CType's text stands
// for that part.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parse/ast.h"
#include "types/ctype.h"

namespace cffix::types {

// A type's C text with the place where a declarator goes, as CType's cname/name_pos.
struct WrittenType {
    std::string text;
    size_t name_pos = 0;
    // The written form of a typedef of an array type whose lengths only the C compiler
    // knows (`typedef int t[...][...];`): its name, which a parameter adjusts to a pointer
    // to t's item (C spells that `__typeof__(&(*(t *)0)[0])`).
    bool array_typedef = false;
    std::string with(std::string_view declarator) const {
        std::string out = text;
        out.insert(name_pos, declarator);
        return out;
    }
};

// The written form of a typedef name, or null when its CType's text says it all.
using WrittenTypedefs = std::function<const WrittenType*(std::string_view name)>;

// The written form of a typedef's type `expr`, resolved as `t`: none when it has no
// qualifier to keep (its CType's text says it all).
std::optional<WrittenType> written_typedef(const parse::TypeExpr& expr, const CType* t,
                                           const WrittenTypedefs& typedefs);

// The result (first) and the parameters of `fntype` (a Function CType, resolved from
// `expr`, a Function type expression) as written. Empty when `expr` is not a function
// type expression (a function declared through a typedef of a function type): then the
// CTypes' own text stands for it.
std::vector<WrittenType> written_signature(const parse::TypeExpr& expr, const CType* fntype,
                                           const WrittenTypedefs& typedefs);

}  // namespace cffix::types
