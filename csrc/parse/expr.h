// C expressions as syntax trees, for what is evaluated later and elsewhere: the error
// policies of wrapped functions (call/policy.h: `result == -1`, `sqlite3_errmsg(db)`,
// `*ppDb`). The cdef's constant expressions are evaluated while they are parsed
// (const_expr.cpp); these are only parsed here, with the same lexer, literals and errors
// (line, column and the offending text), and their names are resolved by the caller.
//
// The grammar: C's conditional expression and below (?:, ||, &&, |, ^, &, == !=,
// < > <= >=, << >>, + -, * / %), the unary operators - + ~ ! and * (dereference),
// calls `f(a, b)`, `sizeof(type)`, integer, floating, character and string literals, names and
// parentheses. No assignment, increment, comma operator, cast or member access: an
// expression has no side effect but the calls it makes.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "parse/ast.h"
#include "parse/lexer.h"

namespace cffix::parse {

enum class ExprKind : uint8_t {
    Integer,      // value, is_unsigned
    Float,        // real
    String,       // text: the decoded bytes
    Name,         // text
    Unary,        // op, operands[0]; op Star is a dereference
    Binary,       // op, operands[0..1]
    Conditional,  // operands[0] ? operands[1] : operands[2]
    Call,         // text: the function's name; operands: the arguments
    Sizeof,       // text: the type name as written
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
    ExprKind kind = ExprKind::Integer;
    SourcePos pos;
    size_t offset = 0;  // in the source, for errors found while resolving names
    Tok op = Tok::End;
    ConstInt value = 0;
    bool is_unsigned = false;
    double real = 0;
    std::string text;
    std::vector<ExprPtr> operands;
};

// The precedence of a binary operator token (1: ||, up to 10: * / %), 0 for any other
// token: the one table of the cdef's constant expressions and of these.
int binary_precedence(Tok kind);

// Parses one whole expression. Throws CDefError with line and column.
ExprPtr parse_expression(std::string_view source);

}  // namespace cffix::parse
