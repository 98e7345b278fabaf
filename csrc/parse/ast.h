// The syntax tree of the cdef language, and the interface through which the parser
// hands declarations to whoever turns them into types (csrc/types/).
//
// parse/ is the lowest layer of the engine (only util/ is below it): it knows nothing
// about CType objects. The parser asks a DeclSink the few questions C parsing cannot
// answer alone (is this identifier a type name? what is the value of this constant? what
// is sizeof(T)?) and hands it each declaration as soon as it is complete, so a later
// declaration sees the typedefs, constants and structs of the earlier ones.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/errors.h"

namespace cffix::parse {

// Constant expressions are evaluated in 128 bits so that every value of both int64_t
// and uint64_t is exact (cffi gives Python ints of any size; C constants fit here).
using ConstInt = __int128;

struct SourcePos {
    int line = 0;    // 1-based; 0 = unknown
    int column = 0;  // 1-based
};

// A line marker of the source (`# 42 "file"`, `#line 42 "file"`): from physical line
// `from_line` on, lines count from `line` in `file`.
struct LineMarker {
    int from_line = 0;
    int line = 0;
    std::string file;
};

// What cffi raises for the same error (util/errors.h): str() of the Python exception.
enum class CffiText {
    Own,         // cffi has no such error: cffix's message is the text
    Syntax,      // a pycparser ParseError: 'cannot parse "<line>"' + '<file>:L:C: before: <token>'
    Given,       // the text given
    GivenAtLine  // '<file>:<line>: ' + the text given (cffi's CDefError naming a declaration)
};

// The one C++ exception of parse/ and types/: translated into cffix.CDefError exactly
// once, at the Python boundary (module.cpp). `message` is cffix's bare message; what() adds
// the position and the offending source line. The Python exception's message is cffi's
// text for the same error, built from the cffi_* parts once the parser has added the line
// markers; cffix's message, position, source line and caret become its notes.
class CDefError : public cffix::Error {
public:
    CDefError(std::string message, SourcePos pos = {}, std::string source_line = {},
              int caret = -1);
    const std::string& message() const { return message_; }
    SourcePos pos() const { return pos_; }
    const std::string& source_line() const { return source_line_; }
    int caret() const { return caret_; }  // the error's character index in source_line()

    // pycparser's error: at `pos` (physical line, character column), before `token`
    // (empty: at the end of the input). `line_text` is the stripped text of that line.
    CDefError& as_syntax_error(SourcePos pos, std::string token, std::string line_text);
    CDefError& with_cffi_text(CffiText kind, std::string text);
    // The position is in a type string (ffi.typeof...): cffi parses it as the second line
    // of a wrapper and names the whole string.
    CDefError& in_type_string(std::string text);
    CDefError& with_line_markers(std::vector<LineMarker> markers, std::string_view source);
    // Copies the cffi text of `other` (when rebuilding an error with a position).
    CDefError& with_cffi_text_of(const CDefError& other);
    CffiText cffi_kind() const { return cffi_kind_; }

    std::string python_message() const override;
    std::vector<std::string> notes() const override;

private:
    static std::string format(const std::string& message, SourcePos pos,
                              const std::string& source_line);
    // The file and line of physical line `line`, as the line markers give them.
    std::pair<std::string, int> presumed(int line) const;
    std::string presumed_text(int line) const;  // "<file>:<line>"

    std::string message_;
    SourcePos pos_;
    std::string source_line_;
    int caret_ = -1;
    CffiText cffi_kind_ = CffiText::Own;
    std::string cffi_text_;                 // Given*: the text; Syntax: the token
    SourcePos cffi_pos_;                    // Syntax
    std::optional<std::string> cffi_line_;  // Syntax: the stripped source line cffi quotes
    bool type_string_ = false;
    std::vector<LineMarker> markers_;
};

// Trees hold the names they mention as views of the parsed text (or of static strings):
// a tree must not outlive the text it was parsed from. (The declaring side copies what it
// keeps; a cdef's trees die with the cdef, a type string's once it is resolved.)
struct TypeExpr;
using TypeExprPtr = std::shared_ptr<const TypeExpr>;
struct Expr;  // parse/expr.h

// The parser makes and drops tens of thousands of small tree nodes per large cdef: they
// come from a per-thread free list instead of malloc (which falls to its slow paths at
// that rate). Used through make_node<T>() below.
//
// The list itself is trivially destructible, so that reaching it is a plain thread-pointer
// access (a thread_local with a destructor needs a guard, reached through __tls_get_addr
// from a shared library). Another thread_local, touched only when the list is empty,
// frees the kept nodes when the thread ends.
template <typename T>
struct NodeAllocator {
    using value_type = T;
    NodeAllocator() = default;
    template <typename U>
    NodeAllocator(const NodeAllocator<U>&) {}
    T* allocate(size_t n) {
        FreeList& list = free_list;
        if (kKeepFreed && n == 1 && list.head) {
            void* p = list.head;
            list.head = *static_cast<void**>(p);
            --list.count;
            return static_cast<T*>(p);
        }
        return static_cast<T*>(::operator new(n* block_size()));
    }
    void deallocate(T* p, size_t n) {
        FreeList& list = free_list;
        if (!kKeepFreed || n != 1 || list.count >= kMaxKept) {  // a bounded reserve
            ::operator delete(p);
            return;
        }
        if (list.count == 0) reaper.armed = true;  // this thread now holds nodes
        *reinterpret_cast<void**>(p) = list.head;
        list.head = p;
        ++list.count;
    }
    template <typename U>
    bool operator==(const NodeAllocator<U>&) const {
        return true;
    }

private:
    static constexpr size_t kMaxKept = 8192;
    // Under AddressSanitizer every node goes back to malloc, so that a use of a freed node
    // is reported instead of reading a recycled one (fuzz/, the sanitizer build).
#if defined(__SANITIZE_ADDRESS__)
    static constexpr bool kKeepFreed = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    static constexpr bool kKeepFreed = false;
#else
    static constexpr bool kKeepFreed = true;
#endif
#else
    static constexpr bool kKeepFreed = true;
#endif
    struct FreeList {
        void* head;
        size_t count;
    };
    struct Reaper {
        bool armed = false;
        ~Reaper() {
            FreeList& list = free_list;
            while (list.head) {
                void* next = *static_cast<void**>(list.head);
                ::operator delete(list.head);
                list.head = next;
            }
            list.count = 0;
        }
    };
    static constexpr size_t block_size() {
        return sizeof(T) < sizeof(void*) ? sizeof(void*) : sizeof(T);
    }
    static inline thread_local FreeList free_list
        __attribute__((tls_model("initial-exec"))) = {nullptr, 0};
    static inline thread_local Reaper reaper;
};

template <typename T, typename... Args>
std::shared_ptr<T> make_node(Args&&... args) {
    return std::allocate_shared<T>(NodeAllocator<T>(), std::forward<Args>(args)...);
}

enum class TypeExprKind : uint8_t {
    Void,
    Primitive,    // name: canonical spelling of a keyword type ("unsigned long long",
                  // "signed char", "long double", "float _Complex", "_Bool", ...)
    Named,        // name: an identifier the sink said is a type name (typedefs and the
                  // built-in identifier types: int32_t, size_t, wchar_t, bool, FILE...)
    Struct,       // name: the tag, "" if anonymous; body: the members if defined here
    Union,        // as Struct
    Enum,         // name: the tag, "" if anonymous; enum_body: if defined here
    Pointer,      // item: the pointee
    Array,        // item: the element; array_length / array_kind
    Function,     // item: the result; params, ellipsis, abi
    DotsInteger,  // `typedef int... foo_t;`: an integer type of unknown size/sign
    DotsFloat,    // `typedef float... foo_t;` (or double...)
    DotsOpaque,   // `typedef ... foo_t;`: a type of unknown nature
    Typeof,       // `typeof(expression)`: operand (typeof(type-name) is that type itself)
};

enum class ArrayKind : uint8_t {
    Fixed,    // T[N]
    Unknown,  // T[]
    Dots,     // T[...] (length to be found by the compiler in API mode)
};

struct Member {
    std::string_view name;  // "" for an anonymous struct/union member or an unnamed bitfield
    TypeExprPtr type;
    int bitsize = -1;      // -1: not a bitfield
    uint32_t aligned = 0;  // __attribute__((aligned(N))) on the member, 0 if none
    bool packed = false;   // __attribute__((packed)) on the member
    SourcePos pos;
};

struct RecordBody {
    std::vector<Member> members;
    bool partial = false;  // the body contains `...;`
    bool packed = false;   // __attribute__((packed)) on the struct
    uint32_t aligned = 0;  // __attribute__((aligned(N))) on the struct, 0 if none
};

struct Enumerator {
    std::string name;
    ConstInt value = 0;  // already evaluated (explicit or previous + 1)
    SourcePos pos;
};

struct EnumBody {
    std::vector<Enumerator> values;
    bool partial = false;  // the body ends with `...`
    bool packed = false;   // __attribute__((packed)): as small as its values allow (gcc)
};

struct Param {
    std::string_view name;                // may be ""
    TypeExprPtr type;                     // as written: arrays and functions are not yet adjusted
    std::vector<std::string> attributes;  // C23 [[cffix::...]] ones (parser.h Attributes)
};

struct TypeExpr {
    TypeExprKind kind = TypeExprKind::Void;
    SourcePos pos;
    bool is_const = false;     // qualifiers applying at this level
    bool is_volatile = false;  // (restrict is accepted and dropped)
    std::string_view name;     // see TypeExprKind
    TypeExprPtr item;          // Pointer / Array / Function (result)
    // Array
    ArrayKind array_kind = ArrayKind::Fixed;
    uint64_t array_length = 0;
    // Function
    std::vector<Param> params;
    bool ellipsis = false;
    std::string_view abi;  // "" (default), "__stdcall", "__cdecl" or "__fastcall" (static)
    // Struct / Union / Enum defined in place (null when only referenced)
    std::shared_ptr<const RecordBody> body;
    std::shared_ptr<const EnumBody> enum_body;
    // Typeof: the expression whose type this is (typed by the sink, types/expr_type.cpp)
    std::shared_ptr<const Expr> operand;
};

enum class DeclKind : uint8_t {
    Typedef,   // name = type
    Function,  // a function declaration; type->kind == Function
    Variable,  // a global variable
    Constant,  // #define NAME value, #define NAME ..., or `static const int NAME = value;`
    TagOnly,   // `struct foo {...};`, `struct foo;`, `enum e {...};`: no declarator
};

enum class ExternPython : uint8_t { No, Python, PythonPlusC };

struct Declaration {
    DeclKind kind = DeclKind::TagOnly;
    SourcePos pos;
    std::string name;
    TypeExprPtr type;                     // all kinds but Constant; for a Constant, the declared
                                          // type of `static const T NAME = value;` (the sink
                                          // converts the value to an integer T; any other T has
                                          // a value only the compiler knows), null for a #define
    std::string asm_name;                 // __asm__("label"), "" if none
    std::vector<std::string> attributes;  // C23 [[cffix::...]] ones (parser.h Attributes)
    ExternPython extern_python = ExternPython::No;
    bool is_static = false;        // `static` storage class was written
    bool builtin = false;          // declared by the parser itself (`__int128`, declarator.cpp)
    uint32_t typedef_aligned = 0;  // aligned(N) attribute on a typedef
    // Constant
    bool constant_dots = false;  // #define NAME ...
    ConstInt constant_value = 0;
    // A function defined here with an inline body (skipped): the file its line markers name
    // ("" for any other declaration; "<cdef>" when the text has no line markers).
    std::string inline_in;
    // `static const T NAME = init;` whose init is not an integer constant expression: the
    // CDefError that evaluating it as one gave, raised by the sink if T is an integer type.
    std::exception_ptr initializer_error;
};

// What the parser needs from the declaring side. Every method may throw CDefError.
class DeclSink {
public:
    virtual ~DeclSink() = default;
    // Is `name` a type name (a typedef or a built-in identifier type) at this point?
    virtual bool is_type_name(std::string_view name) = 0;
    // The value of a #define or enumerator declared earlier, if any.
    virtual std::optional<ConstInt> constant_value(std::string_view name) = 0;
    // sizeof / alignof of a type expression (for array bounds and constants).
    virtual uint64_t size_of(const TypeExpr& type) = 0;
    virtual uint64_t align_of(const TypeExpr& type) = 0;
    // A hint for an unknown type name, such as "did you mean 'foo' declared at line 3?",
    // or "" when nothing is close.
    virtual std::string suggest_type_name(std::string_view unknown) = 0;
    // Receives each complete declaration, in source order.
    virtual void declare(Declaration&& decl) = 0;
    // `#pragma pack`: the packing of the structs declared from now on (0: the default).
    virtual void set_pack(uint32_t pack) { (void)pack; }
    // `#pragma cffix own(0)`: the functions, globals and constants declared from now on
    // come from headers that are not own (cffix's record of a cdef_header() call): they
    // are not declared, constants stay usable in constant expressions; own(1) ends it.
    virtual void set_own(bool own) { (void)own; }
    // What a cast to `type` in a macro value converts to (macro.h): an integer of `size`
    // bytes and its signedness, a floating type of `size` bytes, or something else. The
    // default knows only the name (see named_type_is_unsigned); Scope knows the truth.
    struct Arithmetic {
        enum Kind : uint8_t { Other, Integer, Floating } kind = Other;
        uint64_t size = 0;
        bool is_unsigned = false;
    };
    virtual std::optional<Arithmetic> arithmetic_of(const TypeExpr&) { return std::nullopt; }
};

// Per-declaration error recovery (ffi.cdef_header): told about each top-level declaration
// as the parser leaves it. Text between declarations (line markers, #pragma lines) belongs
// to the declaration after it, so that the ranges cover the source without gaps.
class RecoveryLog {
public:
    virtual ~RecoveryLog() = default;
    // The declaration at [begin, end) of the source was parsed and handed to the sink.
    virtual void parsed(size_t begin, size_t end) = 0;
    // It failed (at physical `line`, for `message`) and was skipped; `name` is the name it
    // seemed to declare ("" if none could be told).
    virtual void skipped(size_t begin, size_t end, std::string name, std::string message,
                         int line) = 0;
    // `#define name body` (or `#undef name`) at physical `line`, `name` with its parameter
    // list for a function-like macro (`F(a, b)`): the text is a `cc -E -dD` output, whose
    // macros are converted apart (cffix/_macros.py).
    virtual void macro(std::string_view name, std::string_view body, int line, bool undef) = 0;
};

// Calls in a standalone expression (ffi.dlopen(version=...)): `name()`, a function of
// the library with no parameters returning an integer. Both methods may throw CDefError
// (without a position: the parser adds the call's) or PythonErrorSet.
class ProbeCalls {
public:
    virtual ~ProbeCalls() = default;
    // Whether `name` may be called so; throws if not. Asked for every call, made or not.
    virtual void check(std::string_view name) = 0;
    // Calls it: its result.
    virtual ConstInt call(std::string_view name) = 0;
};

// Parses a whole cdef text, handing each declaration to `sink` as it is completed.
// Throws CDefError (with line and column) on the first error.
void parse_declarations(std::string_view source, DeclSink& sink);

// The same for the output of `cc -E -dD`, going on after a declaration that fails (and
// handing macros to the log instead of declaring them): `log` hears of it and the parser
// resumes at the end of that declaration (its ';' or a function body's '}'). Any
// cffix::Error of a declaration is so recovered; other exceptions (PythonErrorSet) and a
// text the lexer cannot split into tokens end the parse.
void parse_declarations_recovering(std::string_view source, DeclSink& sink, RecoveryLog& log);

// Parses a type string as used by ffi.typeof / ffi.new / ffi.cast: one type name with an
// optional abstract declarator ("int", "struct foo *", "int(*)(int, ...)", "char[10]").
TypeExprPtr parse_type_name(std::string_view source, DeclSink& sink);

// Parses and evaluates a standalone integer expression: the constant-expression grammar
// (names are `sink`'s constants) plus calls `f()` that `probes` answers. With
// evaluate=false it is only checked: every name and call, no call made, no arithmetic
// error raised (the values are unknown); the result is then meaningless. Throws CDefError
// with line and column.
ConstInt parse_probe_expression(std::string_view source, DeclSink& sink, ProbeCalls& probes,
                                bool evaluate);

}  // namespace cffix::parse
