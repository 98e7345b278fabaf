// The cdef lexer: a single pass over the source text, no allocation per token. Tokens
// carry their line, column and a view of their text into the source (the source must
// outlive them).
//
// Preprocessor lines (a `#` first on its line) are handled here: `#define NAME value`
// becomes a Define token (text = NAME) followed by the value's tokens and a DirectiveEnd
// token at the end of the line; line markers (`# 12 "file" 1`), `#line` and `#pragma`
// are skipped; every other directive is a CDefError (cdef takes preprocessed text).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "parse/ast.h"

namespace cffix::parse {

enum class Tok : uint8_t {
    End,           // end of input
    DirectiveEnd,  // the end of a #define line
    Define,        // `#define NAME`: text is NAME; the value's tokens follow
    PragmaPack,    // `#pragma pack(...)`: text is the rest of the line after `pack`
    PragmaCffix,   // `#pragma cffix ...`: text is the rest of the line after `cffix`
    Macro,         // header mode: `#define NAME body`, text is `NAME body` (`NAME(a, b) body`)
    Undef,         // header mode: `#undef NAME`, text is NAME
    Identifier,
    IntLiteral,
    FloatLiteral,
    CharLiteral,
    StringLiteral,
    // Punctuators.
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Semicolon,
    Comma,
    Colon,
    Question,
    Dot,
    Ellipsis,
    Arrow,
    Star,
    Plus,
    Minus,
    Slash,
    Percent,
    Amp,
    Pipe,
    Caret,
    Tilde,
    Bang,
    Less,
    Greater,
    LessEq,
    GreaterEq,
    EqEq,
    NotEq,
    Shl,
    Shr,
    AmpAmp,
    PipePipe,
    Assign,
    CompoundAssign,
    PlusPlus,
    MinusMinus,
    Hash,
    HashHash,
    // Keywords; each kind covers all the spellings (`const`, `__const`, `__const__`).
    // The type-specifier keywords come first and stay contiguous (counted by index).
    KwVoid,
    KwBool,
    KwChar,
    KwShort,
    KwInt,
    KwLong,
    KwFloat,
    KwDouble,
    KwSigned,
    KwUnsigned,
    KwComplex,
    KwStruct,
    KwUnion,
    KwEnum,
    KwTypedef,
    KwExtern,
    KwStatic,
    KwInline,
    KwRegister,
    KwAuto,
    KwNoreturn,
    KwExtension,
    KwConst,
    KwVolatile,
    KwRestrict,
    KwNullability,
    KwAttribute,
    KwDeclspec,
    KwAsm,
    KwCallConv,
    KwStaticAssert,
    KwSizeof,
    KwAlignof,
    KwFloatN,       // _Float32, _Float64, _Float32x, _Float64x, _Float128 (see declarator.cpp)
    KwUnsupported,  // __int128, typeof, _Atomic, _Thread_local...: a clear error
};

inline constexpr int kTypeKeywordCount =
    static_cast<int>(Tok::KwComplex) - static_cast<int>(Tok::KwVoid) + 1;

inline bool is_keyword(Tok kind) { return kind >= Tok::KwVoid; }
inline bool is_type_keyword(Tok kind) { return kind >= Tok::KwVoid && kind <= Tok::KwComplex; }
// Attribute names may be keywords too (`__attribute__((const))`).
inline bool is_word(Tok kind) { return kind == Tok::Identifier || is_keyword(kind); }

struct Token {
    Tok kind = Tok::End;
    SourcePos pos;
    std::string_view text;  // into the source; for Define: the macro name
};

class Lexer {
public:
    explicit Lexer(std::string_view source);
    // The next token; throws CDefError on malformed input. Cheap to copy, so a copy
    // serves as lookahead.
    Token next();
    // Inside a skipped function body numbers are not checked: they are never evaluated,
    // and C has suffixes a cdef never needs (1.0f128, 2i, 3wb...).
    void set_unchecked_numbers(bool unchecked) { unchecked_numbers_ = unchecked; }
    std::string_view source() const { return {begin_, static_cast<size_t>(end_ - begin_)}; }
    // Line markers met from now on are appended to `markers` (see line_markers()).
    void record_line_markers(std::vector<LineMarker>* markers) { markers_ = markers; }
    // Header mode (ffi.cdef_header, a `cc -E -dD` output): #defines become Macro tokens and
    // #undef Undef tokens, whatever their body; the other directives are skipped.
    void set_header_mode(bool on) { header_mode_ = on; }

private:
    bool skip_space();
    void skip_block_comment();
    const char* skip_line_comment(const char* p);
    void skip_horizontal_space();
    void skip_line();
    size_t continuation_length(const char* at) const;
    bool read_directive(Token& out);
    void read_line_marker(SourcePos hash_pos);
    bool read_define_name(Token& out);
    Token lex_token();
    Token lex_number();
    Token lex_quoted(const char* start);
    Token lex_punctuator();
    Token make(Tok kind, const char* start);
    SourcePos here(const char* at) const;
    [[noreturn]] void fail(const char* at, SourcePos pos, std::string message) const;

    const char* begin_;
    const char* p_;
    const char* end_;
    const char* line_start_;
    int line_ = 1;
    bool at_line_start_ = true;  // only blanks since the last newline: `#` starts a directive
    bool in_directive_ = false;  // inside a #define line: a newline ends it
    bool unchecked_numbers_ = false;
    bool header_mode_ = false;
    // Where the previous token ended: End is reported there (the last line with text).
    const char* last_end_;
    const char* last_line_start_;
    int last_line_ = 1;
    std::vector<LineMarker>* markers_ = nullptr;
};

// The line markers of `source` (`# 42 "file"`, `#line 42 "file"`, not in comments), in
// order: cffi names the file and line they give in its messages. Lexes the whole text
// again, so it is for error paths only; stops at the first lexical error.
std::vector<LineMarker> line_markers(std::string_view source);

// Integer constants: the lexer checks the form, the constant evaluator decodes the value.
struct IntLiteral {
    uint64_t value = 0;
    bool too_large = false;  // does not fit in 64 bits
    bool decimal = true;     // C types decimal and non-decimal constants differently
    bool is_unsigned = false;
    int longs = 0;      // 0, 1 (`l`) or 2 (`ll`)
    std::string error;  // non-empty: not a valid integer constant (message)
};
IntLiteral decode_int_literal(std::string_view text);

// The value C gives a character constant token ('a', '\n', L'x', u'x'...): an int, with a
// plain char converted as the platform's char signedness dictates. Returns nullptr, or a
// message when the constant has no single value ('ab').
const char* decode_char_literal(std::string_view text, ConstInt& value);

// Appends the bytes of a string literal token (escapes decoded, UTF-8 for \u escapes).
void append_string_literal(std::string_view text, std::string& out);

// The text of the source line holding `offset` (an excerpt around it if the line is very
// long), for CDefError.
// `caret`, if given, receives the character index of `offset` in the returned text.
std::string source_line_at(std::string_view source, size_t offset, int* caret = nullptr);
// The error for the byte at `offset` of `source`, at byte position `pos`: its column in
// characters and the text of its line. The second form finds the offset from `pos`
// (errors raised by the sink carry only a position).
CDefError error_at(std::string_view source, size_t offset, SourcePos pos, std::string message);
CDefError error_at(std::string_view source, SourcePos pos, std::string message);
[[noreturn]] void throw_at(std::string_view source, const Token& at, std::string message);
// How a token is named in messages: 'int', ';', end of input...
std::string describe_token(const Token& token);

}  // namespace cffix::parse
