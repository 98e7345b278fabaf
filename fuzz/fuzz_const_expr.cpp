// libFuzzer harness: the constant-expression evaluator (csrc/parse/const_expr.cpp) in the
// three places it runs: a cdef's integer constants (`#define`, enumerators, array lengths,
// `static const` initialisers), ffi.dlopen(version=...)'s probe expressions (checked, then
// evaluated with calls answered here), and the wrappers' policy expressions
// (csrc/parse/expr.cpp, parsed only).
#include <climits>

#include "harness.h"
#include "parse/expr.h"
#include "parse/parser.h"
#include "types/scope.h"

using namespace cffix;

static const char kPrelude[] = R"(
typedef struct { int a; char b[3]; double d; } S;
typedef unsigned long long u64;
enum e { E0, E1 = 7, EMIN = -2147483647 - 1 };
#define MAXU 0xffffffffffffffffULL
#define MINL (-9223372036854775807L - 1)
#define SIX 6
static const int K = 3;
)";

// Answers f() g() and h() with values at the edges of the integer types.
class Probes : public parse::ProbeCalls {
public:
    void check(std::string_view name) override {
        if (name != "f" && name != "g" && name != "h")
            throw parse::CDefError("unknown function '" + std::string(name) + "'");
    }
    parse::ConstInt call(std::string_view name) override {
        if (name == "f") return LLONG_MIN;
        if (name == "g") return static_cast<parse::ConstInt>(ULLONG_MAX);
        return 0;
    }
};

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::init_python();
    return 0;
}

static types::Scope* prelude_scope() {
    static types::Scope* scope = [] {
        auto* s = new types::Scope();
        try {
            s->cdef(kPrelude, {});
        } catch (...) {
            fuzz::fail("the prelude does not cdef");
        }
        return s;
    }();
    return scope;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string expr(fuzz::as_text(data, size));
    types::Scope& scope = *prelude_scope();  // read-only here: probes declare nothing
    Probes probes;
    try {
        parse::parse_probe_expression(expr, scope, probes, false);
        parse::parse_probe_expression(expr, scope, probes, true);
    } catch (...) {
        fuzz::expect_clean_error();
    }
    try {
        (void)parse::parse_expression(expr);
    } catch (...) {
        fuzz::expect_clean_error();
    }
    // In a cdef: the places a constant expression is evaluated while declaring.
    static const char* const kWrappers[][2] = {
        {"#define X ", "\n"},
        {"enum fuzz { A = ", ", B };"},
        {"int array[", "];"},
        {"static const long X = ", ";"},
        {"struct bits { int x : ", "; };"},
        {"_Static_assert(", ", \"no\");"},
    };
    for (const auto& w : kWrappers) {
        std::string source = w[0] + expr + w[1];
        types::Scope s;
        try {
            s.include(&scope);
            s.cdef(source, {});
        } catch (...) {
            fuzz::expect_clean_error();
        }
    }
    if (PyErr_Occurred()) fuzz::fail("a Python exception left set");
    return 0;
}
