// Object-like macros of a preprocessed header (`gcc -E -dD`) turned into values, all of
// them in one pass (ffi.cdef_header(), src/cffix/_macros.py): each body is expanded as the
// preprocessor would expand it where the macro is used (other object-like macros
// replaced by their bodies, recursively, a macro never inside its own expansion; simple
// function-like macros expanded with their arguments), then classified: a string (adjacent
// literals concatenated), an integer or floating constant expression folded by the cdef's
// evaluator with C's semantics (parse/const_expr.cpp: real sizeof, casts, enumerators,
// C's types for the result), or one of the things that are no value, each with a
// one-line reason (empty, a keyword, a type, an attribute, a statement, a pointer, a call).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "parse/ast.h"
#include "parse/parser.h"

namespace cffix::parse {

// One `#define` line: `name` is the macro's name, followed by its parameter list for a
// function-like macro (`"MAX(a, b)"`, `"LOG(fmt, ...)"`); `body` its replacement text.
struct MacroDefinition {
    std::string name;
    std::string body;
};

struct MacroValue {
    enum Kind : uint8_t {
        Skipped,   // text: why
        Integer,   // number: the value with its C type
        Floating,  // number.real, number.bits: 32 float, 64 double, 128 long double
        Bytes,     // text: the bytes of a plain or u8 string literal (no terminating NUL)
        Text,      // text: a wide string literal (L, u, U), as UTF-8
    } kind = Skipped;
    ConstValue number;
    std::string text;
};

// What the declaring side says a plain identifier is, besides a constant or a type:
// "function", "variable", or nullptr.
using GlobalKind = std::function<const char*(std::string_view name)>;

// The value of each macro, in the order given. Macros refer to one another whatever their
// order (the last definition of a name is the one expanded); `sink` answers the
// identifiers left after expansion (enumerators, type names) and sizeof. Never throws for
// a bad macro: its result is Skipped with the reason.
std::vector<MacroValue> evaluate_macros(const std::vector<MacroDefinition>& macros, DeclSink& sink,
                                        const GlobalKind& global_kind);

}  // namespace cffix::parse
