// C expressions as syntax trees, for what is evaluated or typed later and elsewhere: the
// error policies of wrapped functions (call/policy.h: `result == -1`,
// `sqlite3_errmsg(db)`, `*ppDb`), and the operands of `typeof(expression)` in
// declarations (types/expr_type.cpp gives them their C type). The cdef's constant
// expressions are evaluated while they are parsed (const_expr.cpp); these are only parsed
// here, with the same lexer, literals and errors (line, column and the offending text),
// and their names are resolved by the caller.
//
// Two grammars. A policy expression (parse_expression): C's conditional expression and
// below (?:, ||, &&, |, ^, &, == !=, < > <= >=, << >>, + -, * / %), the unary operators
// - + ~ ! and * (dereference), calls `f(a, b)`, `sizeof(type)`, integer, floating,
// character and string literals, names and parentheses; no assignment, increment, comma
// operator, cast or member access: an expression has no side effect but the calls it
// makes. A typeof operand (parse_typeof_operand) adds what declarations write: the comma
// operator, casts, unary &, member access `.` and `->`, subscripts, calls through any
// expression, `sizeof` of an expression and `_Alignof`; its type names are parsed by the
// declaration parser (TypeNameReader), from the same tokens.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "parse/ast.h"
#include "parse/lexer.h"

namespace cffix::parse {

enum class ExprKind : uint8_t {
    Integer,      // value, is_unsigned; literal_type
    Float,        // real; literal_type
    String,       // text: the decoded bytes
    Name,         // text
    Unary,        // op, operands[0]; op Star is a dereference, Amp (typeof) the address
    Binary,       // op, operands[0..1]; op Comma (typeof) the comma operator
    Conditional,  // operands[0] ? operands[1] : operands[2]
    Call,         // text: the function's name, or (typeof) callee: what is called;
                  // operands: the arguments
    Sizeof,       // text: the type name as written; (typeof) type, or operands[0]: an
                  // expression; op KwSizeof or KwAlignof
    // typeof operands only:
    Cast,    // (type) operands[0]
    Member,  // operands[0].text (op Dot) or operands[0]->text (op Arrow)
    Index,   // operands[0][operands[1]]
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
    // The C type of a literal (typeof): "int", "unsigned long", "double", "float"...
    std::string_view literal_type;
    TypeExprPtr type;  // Cast, Sizeof of a type (typeof operands)
    ExprPtr callee;    // Call through an expression (typeof operands)
};

// The precedence of a binary operator token (1: ||, up to 10: * / %), 0 for any other
// token: the one table of the cdef's constant expressions and of these.
int binary_precedence(Tok kind);

// Parses one whole expression. Throws CDefError with line and column.
ExprPtr parse_expression(std::string_view source);

// What a typeof operand's parser asks the declaration parser (parser.h), which shares its
// lexer and current token: type names in casts, sizeof and _Alignof.
class TypeNameReader {
public:
    virtual ~TypeNameReader() = default;
    // Whether `t` (after a '(') starts a type name.
    virtual bool starts_type_name(const Token& t) = 0;
    // Parses the type name that starts at the current token, leaving the token after it
    // current.
    virtual TypeExprPtr read_type_name() = 0;
};

// Parses the operand of `typeof(...)` in a declaration: an expression (comma operator
// included) from `tok`, the current token of `lex`, up to the first token that cannot
// continue it, which is left in `tok`. `depth` counts nesting against `max_depth` (the
// caller's own count, so that typeof, casts and declarators nested in each other stay
// bounded together). Throws CDefError with line and column.
ExprPtr parse_typeof_operand(std::string_view source, Lexer& lex, Token& tok, TypeNameReader& types,
                             int& depth, int max_depth);

// The C type of an integer constant as written (C11 6.4.4.1: its suffix, whether it is
// decimal, its value): "int", "unsigned int", "long", "unsigned long", "long long" or
// "unsigned long long".
std::string_view int_literal_type(const IntLiteral& literal);
// C's name of the integer type of a rank (0 int, 1 long, 2 long long) and signedness.
std::string_view integer_type_name(int rank, bool is_unsigned);

}  // namespace cffix::parse
