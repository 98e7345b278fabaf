// The cdef lexer (see lexer.h). One pass, pointer-based, a table lookup per character
// class and a perfect-enough hash for keywords; nothing allocates unless an error is
// thrown.
#include "parse/lexer.h"

#include <array>
#include <iterator>
#include <utility>

#include "parse/literal.h"

namespace cffix::parse {
namespace {

struct Keyword {
    std::string_view text;
    Tok kind;
};

constexpr Keyword kKeywords[] = {
    {"void", Tok::KwVoid},
    {"_Bool", Tok::KwBool},
    {"char", Tok::KwChar},
    {"short", Tok::KwShort},
    {"int", Tok::KwInt},
    {"long", Tok::KwLong},
    {"float", Tok::KwFloat},
    {"double", Tok::KwDouble},
    {"signed", Tok::KwSigned},
    {"__signed", Tok::KwSigned},
    {"__signed__", Tok::KwSigned},
    {"unsigned", Tok::KwUnsigned},
    {"_Complex", Tok::KwComplex},
    {"__complex__", Tok::KwComplex},
    {"struct", Tok::KwStruct},
    {"union", Tok::KwUnion},
    {"enum", Tok::KwEnum},
    {"typedef", Tok::KwTypedef},
    {"extern", Tok::KwExtern},
    {"static", Tok::KwStatic},
    {"inline", Tok::KwInline},
    {"__inline", Tok::KwInline},
    {"__inline__", Tok::KwInline},
    {"__forceinline", Tok::KwInline},
    {"register", Tok::KwRegister},
    {"auto", Tok::KwAuto},
    {"_Noreturn", Tok::KwNoreturn},
    {"__extension__", Tok::KwExtension},
    {"const", Tok::KwConst},
    {"__const", Tok::KwConst},
    {"__const__", Tok::KwConst},
    {"volatile", Tok::KwVolatile},
    {"__volatile", Tok::KwVolatile},
    {"__volatile__", Tok::KwVolatile},
    {"restrict", Tok::KwRestrict},
    {"__restrict", Tok::KwRestrict},
    {"__restrict__", Tok::KwRestrict},
    // Clang's nullability qualifiers (macOS headers): no effect on the type.
    {"_Nullable", Tok::KwNullability},
    {"_Nonnull", Tok::KwNullability},
    {"_Null_unspecified", Tok::KwNullability},
    {"_Nullable_result", Tok::KwNullability},
    {"__attribute__", Tok::KwAttribute},
    {"__attribute", Tok::KwAttribute},
    {"__declspec", Tok::KwDeclspec},
    {"asm", Tok::KwAsm},
    {"__asm", Tok::KwAsm},
    {"__asm__", Tok::KwAsm},
    {"__stdcall", Tok::KwCallConv},
    {"__cdecl", Tok::KwCallConv},
    {"__fastcall", Tok::KwCallConv},
    {"_Static_assert", Tok::KwStaticAssert},
    {"static_assert", Tok::KwStaticAssert},
    {"sizeof", Tok::KwSizeof},
    {"_Alignof", Tok::KwAlignof},
    {"__alignof__", Tok::KwAlignof},
    {"__alignof", Tok::KwAlignof},
    {"alignof", Tok::KwAlignof},
    {"_Float32", Tok::KwFloatN},
    {"_Float64", Tok::KwFloatN},
    {"_Float32x", Tok::KwFloatN},
    {"_Float64x", Tok::KwFloatN},
    {"_Float128", Tok::KwFloatN},
    {"_Float16", Tok::KwUnsupported},
    {"_Float128x", Tok::KwUnsupported},
    {"__int128", Tok::KwUnsupported},
    {"__float128", Tok::KwUnsupported},
    {"__float80", Tok::KwUnsupported},
    {"__ibm128", Tok::KwUnsupported},
    {"_Decimal32", Tok::KwUnsupported},
    {"_Decimal64", Tok::KwUnsupported},
    {"_Decimal128", Tok::KwUnsupported},
    {"_BitInt", Tok::KwUnsupported},
    {"_Imaginary", Tok::KwUnsupported},
    {"_Atomic", Tok::KwUnsupported},
    {"_Thread_local", Tok::KwUnsupported},
    {"__thread", Tok::KwUnsupported},
    {"thread_local", Tok::KwUnsupported},
    {"_Alignas", Tok::KwUnsupported},
    {"alignas", Tok::KwUnsupported},
    {"typeof", Tok::KwUnsupported},
    {"__typeof", Tok::KwUnsupported},
    {"__typeof__", Tok::KwUnsupported},
    {"typeof_unqual", Tok::KwUnsupported},
    {"__auto_type", Tok::KwUnsupported},
};

// Keywords are told apart by length and a few characters, so the hash is O(1) whatever
// the identifier's length (probing with a full comparison settles collisions).
constexpr uint32_t hash_word(std::string_view word) {
    auto at = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(word[i])); };
    size_t n = word.size();
    return static_cast<uint32_t>(n) * 0x9e3779b1u ^ at(0) * 31u ^ at(n - 1) * 131u ^ at(n / 2) * 7u;
}

// Open addressing over kKeywords, built at compile time: identifiers are the most common
// token, so their keyword test is one hash and usually one comparison.
class KeywordTable {
public:
    constexpr KeywordTable() : slots_{} {
        for (size_t i = 0; i < std::size(kKeywords); ++i) {
            uint32_t h = hash_word(kKeywords[i].text) & kMask;
            while (slots_[h] != 0) h = (h + 1) & kMask;
            slots_[h] = static_cast<uint8_t>(i + 1);
        }
    }
    Tok lookup(std::string_view word) const {
        uint32_t h = hash_word(word) & kMask;
        while (uint8_t slot = slots_[h]) {
            const Keyword& k = kKeywords[slot - 1];
            if (k.text.size() == word.size() && same_chars(k.text.data(), word.data(), word.size()))
                return k.kind;
            h = (h + 1) & kMask;
        }
        return Tok::Identifier;
    }

private:
    // Keywords are short: a loop beats a call to memcmp.
    static bool same_chars(const char* a, const char* b, size_t n) {
        for (size_t i = 0; i < n; ++i)
            if (a[i] != b[i]) return false;
        return true;
    }
    static constexpr uint32_t kSlots = 512;
    static constexpr uint32_t kMask = kSlots - 1;
    static_assert(std::size(kKeywords) < kSlots / 2 && std::size(kKeywords) < 255);
    std::array<uint8_t, kSlots> slots_;
};

constexpr KeywordTable kKeywordTable;

// The punctuators that are one character whatever follows them.
constexpr std::array<Tok, 256> make_single_char_tokens() {
    std::array<Tok, 256> table{};  // Tok::End: not one of them
    table['('] = Tok::LParen;
    table[')'] = Tok::RParen;
    table['['] = Tok::LBracket;
    table[']'] = Tok::RBracket;
    table['{'] = Tok::LBrace;
    table['}'] = Tok::RBrace;
    table[';'] = Tok::Semicolon;
    table[','] = Tok::Comma;
    table[':'] = Tok::Colon;
    table['?'] = Tok::Question;
    table['~'] = Tok::Tilde;
    return table;
}

constexpr std::array<Tok, 256> kSingleCharTokens = make_single_char_tokens();

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

// L'x', u"...", U'x', u8"...": the prefixes that make the next quote a literal's.
bool is_literal_prefix(std::string_view word) {
    return word == "L" || word == "u" || word == "U" || word == "u8";
}

std::string describe_char(char c) {
    auto byte = static_cast<unsigned char>(c);
    if (byte > ' ' && byte < 0x7f) return std::string("'") + c + "'";
    static const char kHex[] = "0123456789abcdef";
    return std::string("'\\x") + kHex[byte >> 4] + kHex[byte & 15] + "'";
}

// Validates the form of a floating constant (decimal or hex), so that a typo such as
// `1.5.2` is reported as such rather than as something odd later.
bool valid_float(std::string_view t) {
    size_t i = 0;
    bool hex = t.size() >= 2 && t[0] == '0' && (t[1] | 0x20) == 'x';
    if (hex) i = 2;
    auto is_mantissa_digit = [&](char c) {
        return hex ? has_char_class(c, kHexDigit) : has_char_class(c, kDigit);
    };
    size_t digits = 0;
    while (i < t.size() && is_mantissa_digit(t[i])) ++i, ++digits;
    if (i < t.size() && t[i] == '.') {
        ++i;
        while (i < t.size() && is_mantissa_digit(t[i])) ++i, ++digits;
    }
    if (digits == 0) return false;
    char exponent = hex ? 'p' : 'e';
    if (i < t.size() && (t[i] | 0x20) == exponent) {
        ++i;
        if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
        size_t exp_digits = 0;
        while (i < t.size() && has_char_class(t[i], kDigit)) ++i, ++exp_digits;
        if (exp_digits == 0) return false;
    } else if (hex) {
        return false;  // a hex float needs its binary exponent
    }
    std::string_view suffix = t.substr(i);
    return suffix.empty() || suffix == "f" || suffix == "F" || suffix == "l" || suffix == "L";
}

}  // namespace

Lexer::Lexer(std::string_view source)
    : begin_(source.data()),
      p_(source.data()),
      end_(source.data() + source.size()),
      line_start_(source.data()),
      last_end_(source.data()),
      last_line_start_(source.data()) {}

SourcePos Lexer::here(const char* at) const {
    return SourcePos{line_, static_cast<int>(at - line_start_) + 1};
}

void Lexer::fail(const char* at, SourcePos pos, std::string message) const {
    throw error_at(source(), static_cast<size_t>(at - begin_), pos, std::move(message));
}

Token Lexer::make(Tok kind, const char* start) {
    Token t;
    t.kind = kind;
    t.pos = here(start);
    t.text = std::string_view(start, static_cast<size_t>(p_ - start));
    last_end_ = p_;
    last_line_ = line_;
    last_line_start_ = line_start_;
    return t;
}

// The hot loop of the parser: the common cases (a token right here, or after plain
// blanks; identifiers, keywords, one-character punctuators) take the short path, with
// local copies of the cursor: a store through a char pointer could alias the members and
// would force them to be reloaded.
Token Lexer::next() {
    for (;;) {
        if (p_ < end_ && !has_char_class(*p_, kSkipStart)) {
            // A token starts right here.
        } else if (skip_space() || (p_ >= end_ && in_directive_)) {
            in_directive_ = false;
            return make(Tok::DirectiveEnd, p_);
        }
        if (p_ >= end_) {
            Token t;
            t.kind = Tok::End;
            t.pos = SourcePos{last_line_, static_cast<int>(last_end_ - last_line_start_) + 1};
            t.text = std::string_view(last_end_, 0);
            return t;
        }
        const char* start = p_;
        char c = *start;
        if (c == '#' && at_line_start_ && !in_directive_) {
            Token define;
            if (read_directive(define)) return define;
            continue;
        }
        at_line_start_ = false;
        if (has_char_class(c, kIdentStart)) {
            const char* p = start + 1;
            const char* end = end_;
            while (p < end && has_char_class(*p, kIdentChar)) ++p;
            p_ = p;
            std::string_view word(start, static_cast<size_t>(p - start));
            if (p < end && (*p == '\'' || *p == '"') && is_literal_prefix(word))
                return lex_quoted(start);
            return make(kKeywordTable.lookup(word), start);
        }
        if (Tok single = kSingleCharTokens[static_cast<unsigned char>(c)]; single != Tok::End) {
            p_ = start + 1;
            return make(single, start);
        }
        return lex_token();
    }
}

// A backslash followed by a newline (the line continues): the sequence's length, or 0.
size_t Lexer::continuation_length(const char* at) const {
    if (at + 1 < end_ && at[1] == '\n') return 2;
    if (at + 2 < end_ && at[1] == '\r' && at[2] == '\n') return 3;
    return 0;
}

// Skips blanks, newlines and comments. Returns true, without consuming it, at a newline
// that ends a #define line.
bool Lexer::skip_space() {
    const char* p = p_;
    const char* end = end_;
    while (p < end) {
        char c = *p;
        if (c == ' ' || c == '\t') {
            ++p;
        } else if (c == '\n') {
            if (in_directive_) break;
            ++p;
            ++line_;
            line_start_ = p;
            at_line_start_ = true;
        } else if (is_space(c)) {
            ++p;
        } else if (c == '/' && p + 1 < end && p[1] == '/') {
            p = skip_line_comment(p);
        } else if (c == '/' && p + 1 < end && p[1] == '*') {
            p_ = p;
            skip_block_comment();
            p = p_;
        } else if (size_t n = c == '\\' ? continuation_length(p) : 0) {
            p += n;
            ++line_;
            line_start_ = p;
        } else {
            break;
        }
    }
    p_ = p;
    return p < end && *p == '\n';  // only stops at a newline inside a directive
}

void Lexer::skip_block_comment() {
    const char* start = p_;
    SourcePos pos = here(p_);
    p_ += 2;
    for (;;) {
        if (p_ >= end_) fail(start, pos, "unterminated comment");
        char c = *p_++;
        if (c == '\n') {
            ++line_;
            line_start_ = p_;
        } else if (c == '*' && p_ < end_ && *p_ == '/') {
            ++p_;
            return;
        }
    }
}

// A `//` comment from `p`: where its newline is (or the end). A backslash-newline continues
// it onto the next line, as in C, where lines are spliced before comments are removed.
const char* Lexer::skip_line_comment(const char* p) {
    while (p < end_ && *p != '\n') {
        if (size_t n = *p == '\\' ? continuation_length(p) : 0) {
            p += n;
            ++line_;
            line_start_ = p;
        } else {
            ++p;
        }
    }
    return p;
}

// Blanks, comments and continuations inside a directive line (not its final newline).
void Lexer::skip_horizontal_space() {
    while (p_ < end_) {
        if (is_space(*p_)) {
            ++p_;
        } else if (*p_ == '/' && p_ + 1 < end_ && p_[1] == '*') {
            skip_block_comment();
        } else if (size_t n = *p_ == '\\' ? continuation_length(p_) : 0) {
            p_ += n;
            ++line_;
            line_start_ = p_;
        } else {
            break;
        }
    }
}

// Skips the rest of a directive line we ignore (line markers, #pragma), honouring
// continuations, comments and quoted strings, up to (not including) its newline.
void Lexer::skip_line() {
    while (p_ < end_ && *p_ != '\n') {
        char c = *p_;
        if (c == '/' && p_ + 1 < end_ && p_[1] == '*') {
            skip_block_comment();
        } else if (c == '/' && p_ + 1 < end_ && p_[1] == '/') {
            p_ = skip_line_comment(p_);
        } else if (size_t n = c == '\\' ? continuation_length(p_) : 0) {
            p_ += n;
            ++line_;
            line_start_ = p_;
        } else if (c == '"') {
            ++p_;
            while (p_ < end_ && *p_ != '"' && *p_ != '\n')
                p_ += (*p_ == '\\' && p_ + 1 < end_) ? 2 : 1;
            if (p_ < end_ && *p_ == '"') ++p_;
        } else {
            ++p_;
        }
    }
}

// At a `#` that starts a line. Returns true with the Define token for `#define`; false
// when the line was skipped.
bool Lexer::read_directive(Token& out) {
    const char* hash = p_;
    SourcePos hash_pos = here(p_);
    ++p_;
    skip_horizontal_space();
    if (p_ < end_ && has_char_class(*p_, kDigit)) {  // gcc line marker `# 12 "file" 2`
        if (markers_) read_line_marker(hash_pos);
        skip_line();
        return false;
    }
    const char* word = p_;
    while (p_ < end_ && has_char_class(*p_, kIdentChar)) ++p_;
    std::string_view name(word, static_cast<size_t>(p_ - word));
    if (name.empty()) {
        if (p_ >= end_ || *p_ == '\n') return false;  // the null directive `#`
        fail(hash, hash_pos, "invalid preprocessor directive");
    }
    if (header_mode_) {
        if (name == "define" || name == "undef") {
            skip_horizontal_space();
            const char* start = p_;
            while (p_ < end_ && has_char_class(*p_, kIdentChar)) ++p_;
            bool function_like = p_ < end_ && *p_ == '(';
            const char* name_end = p_;
            SourcePos pos = here(start);  // before skip_line: the body may continue (`\`)
            skip_line();
            if (start == name_end || (name == "undef" && function_like)) return false;
            if (name == "undef") p_ = name_end;
            out = make(name == "define" ? Tok::Macro : Tok::Undef, start);
            out.pos = pos;
            if (name == "undef") skip_line();
            return true;
        }
        if (name != "pragma" && name != "line") {
            skip_line();
            return false;
        }
    }
    if (name == "define") return read_define_name(out);
    if (name == "pragma") {
        skip_horizontal_space();
        const char* word2 = p_;
        while (p_ < end_ && has_char_class(*p_, kIdentChar)) ++p_;
        std::string_view word(word2, static_cast<size_t>(p_ - word2));
        if (word == "pack" || word == "cffix") {
            const char* rest = p_;
            SourcePos pos = here(rest);  // before skip_line: the line may continue (`\`)
            skip_line();
            out = make(word == "pack" ? Tok::PragmaPack : Tok::PragmaCffix, rest);
            out.pos = pos;
            return true;
        }
    }
    if (name == "line" || name == "pragma") {
        if (markers_ && name == "line") {
            skip_horizontal_space();
            read_line_marker(hash_pos);
        }
        skip_line();
        return false;
    }
    fail(hash, hash_pos,
         "preprocessor directive '#" + std::string(name) +
             "' is not supported: pass preprocessed text (gcc -E) or declarations only");
}

// At the number of a line marker: records it (the line after the marker gets that number).
void Lexer::read_line_marker(SourcePos hash_pos) {
    int number = 0;
    while (p_ < end_ && has_char_class(*p_, kDigit) && number < 100000000)
        number = number * 10 + (*p_++ - '0');
    skip_horizontal_space();
    std::string file = markers_->empty() ? "<cdef source string>" : markers_->back().file;
    if (p_ < end_ && *p_ == '"') {
        const char* start = ++p_;
        while (p_ < end_ && *p_ != '"' && *p_ != '\n') ++p_;
        file.assign(start, static_cast<size_t>(p_ - start));
    }
    int from_line = hash_pos.line + 1;
    // A lookahead copy of the lexer meets the same marker again.
    if (markers_->empty() || markers_->back().from_line < from_line)
        markers_->push_back(LineMarker{from_line, number, std::move(file)});
}

std::vector<LineMarker> line_markers(std::string_view source) {
    std::vector<LineMarker> markers;
    Lexer lexer(source);
    lexer.record_line_markers(&markers);
    try {
        while (lexer.next().kind != Tok::End) {
        }
    } catch (const CDefError&) {
        // the markers up to the error are what an error message can use
    }
    return markers;
}

bool Lexer::read_define_name(Token& out) {
    skip_horizontal_space();
    if (p_ >= end_ || !has_char_class(*p_, kIdentStart))
        fail(p_, here(p_), "expected a macro name after '#define'");
    const char* start = p_;
    while (p_ < end_ && has_char_class(*p_, kIdentChar)) ++p_;
    if (p_ < end_ && *p_ == '(') {  // no blank before '(': a function-like macro
        fail(start, here(start),
             "function-like macro '" + std::string(start, static_cast<size_t>(p_ - start)) +
                 "(...)' is not supported: only `#define NAME <integer expression>` and "
                 "`#define NAME ...` are supported");
    }
    in_directive_ = true;
    at_line_start_ = false;
    out = make(Tok::Define, start);
    return true;
}

// Numbers, literals and the other punctuators (next() lexes words and the one-character
// punctuators itself).
Token Lexer::lex_token() {
    const char* start = p_;
    char c = *p_;
    if (has_char_class(c, kDigit) || (c == '.' && p_ + 1 < end_ && has_char_class(p_[1], kDigit)))
        return lex_number();
    if (c == '\'' || c == '"') return lex_quoted(start);
    return lex_punctuator();
}

// A C "preprocessing number" (digits, letters, '.', exponent signs), then classified and
// checked as an integer or floating constant.
Token Lexer::lex_number() {
    const char* start = p_++;
    while (p_ < end_) {
        char c = *p_;
        if (has_char_class(c, kIdentChar) || c == '.') {
            ++p_;
        } else if ((c == '+' || c == '-') && ((p_[-1] | 0x20) == 'e' || (p_[-1] | 0x20) == 'p')) {
            ++p_;
        } else {
            break;
        }
    }
    std::string_view text(start, static_cast<size_t>(p_ - start));
    bool hex = text.size() >= 2 && text[0] == '0' && (text[1] | 0x20) == 'x';
    bool binary = text.size() >= 2 && text[0] == '0' && (text[1] | 0x20) == 'b';
    bool is_float = text.find('.') != std::string_view::npos;
    if (hex) {
        is_float = is_float || text.find_first_of("pP") != std::string_view::npos;
    } else if (!binary) {
        is_float = is_float || text.find_first_of("eE") != std::string_view::npos;
    }
    if (unchecked_numbers_) return make(is_float ? Tok::FloatLiteral : Tok::IntLiteral, start);
    if (is_float) {
        if (!valid_float(text))
            fail(start, here(start), "invalid floating-point constant '" + std::string(text) + "'");
        return make(Tok::FloatLiteral, start);
    }
    IntLiteral literal = decode_int_literal(text);
    if (!literal.error.empty()) fail(start, here(start), std::move(literal.error));
    return make(Tok::IntLiteral, start);
}

// A character constant or string literal, optionally prefixed (L, u, U, u8); `start` is
// the prefix or the opening quote. The escapes are checked here, decoded by the parser.
Token Lexer::lex_quoted(const char* start) {
    bool wide = p_ != start && !(p_ - start == 2);  // L, u, U: code points; u8: bytes
    char quote = *p_++;
    int count = 0;
    for (;;) {
        if (p_ >= end_ || *p_ == '\n') {
            fail(start, here(start),
                 quote == '\'' ? "unterminated character constant" : "unterminated string literal");
        }
        if (*p_ == quote) {
            ++p_;
            break;
        }
        const char* at = p_;
        LiteralChar ch;
        if (const char* error = read_literal_char(p_, end_, wide, ch)) {
            fail(at, here(at),
                 std::string(error) + " '" + std::string(at, static_cast<size_t>(p_ - at)) + "'");
        }
        ++count;
    }
    if (quote == '\'' && count == 0) fail(start, here(start), "empty character constant");
    return make(quote == '\'' ? Tok::CharLiteral : Tok::StringLiteral, start);
}

Token Lexer::lex_punctuator() {
    const char* start = p_;
    char c = *p_++;
    auto next_is = [this](char expected) {
        if (p_ < end_ && *p_ == expected) {
            ++p_;
            return true;
        }
        return false;
    };
    Tok kind;
    switch (c) {
        case '(': kind = Tok::LParen; break;
        case ')': kind = Tok::RParen; break;
        case '[': kind = Tok::LBracket; break;
        case ']': kind = Tok::RBracket; break;
        case '{': kind = Tok::LBrace; break;
        case '}': kind = Tok::RBrace; break;
        case ';': kind = Tok::Semicolon; break;
        case ',': kind = Tok::Comma; break;
        case ':': kind = Tok::Colon; break;
        case '?': kind = Tok::Question; break;
        case '~': kind = Tok::Tilde; break;
        case '.':
            if (p_ + 1 < end_ && p_[0] == '.' && p_[1] == '.') {
                p_ += 2;
                kind = Tok::Ellipsis;
            } else {
                kind = Tok::Dot;
            }
            break;
        case '-':
            kind = next_is('>')   ? Tok::Arrow
                   : next_is('-') ? Tok::MinusMinus
                   : next_is('=') ? Tok::CompoundAssign
                                  : Tok::Minus;
            break;
        case '+':
            kind = next_is('+') ? Tok::PlusPlus : next_is('=') ? Tok::CompoundAssign : Tok::Plus;
            break;
        case '*': kind = next_is('=') ? Tok::CompoundAssign : Tok::Star; break;
        case '/': kind = next_is('=') ? Tok::CompoundAssign : Tok::Slash; break;
        case '%': kind = next_is('=') ? Tok::CompoundAssign : Tok::Percent; break;
        case '^': kind = next_is('=') ? Tok::CompoundAssign : Tok::Caret; break;
        case '!': kind = next_is('=') ? Tok::NotEq : Tok::Bang; break;
        case '=': kind = next_is('=') ? Tok::EqEq : Tok::Assign; break;
        case '#': kind = next_is('#') ? Tok::HashHash : Tok::Hash; break;
        case '&':
            kind = next_is('&') ? Tok::AmpAmp : next_is('=') ? Tok::CompoundAssign : Tok::Amp;
            break;
        case '|':
            kind = next_is('|') ? Tok::PipePipe : next_is('=') ? Tok::CompoundAssign : Tok::Pipe;
            break;
        case '<':
            if (next_is('<')) {
                kind = next_is('=') ? Tok::CompoundAssign : Tok::Shl;
            } else {
                kind = next_is('=') ? Tok::LessEq : Tok::Less;
            }
            break;
        case '>':
            if (next_is('>')) {
                kind = next_is('=') ? Tok::CompoundAssign : Tok::Shr;
            } else {
                kind = next_is('=') ? Tok::GreaterEq : Tok::Greater;
            }
            break;
        default:
            if (static_cast<unsigned char>(c) >= 0x80) {
                // A UTF-8 sequence: shown whole (error.cpp escapes it if it is not UTF-8).
                auto continues = [](char b) {
                    return (static_cast<unsigned char>(b) & 0xc0) == 0x80;
                };
                while (p_ < end_ && p_ - start < 4 && continues(*p_)) ++p_;
                fail(start, here(start),
                     "non-ASCII character '" + std::string(start, static_cast<size_t>(p_ - start)) +
                         "': only ASCII is allowed outside comments and literals");
            }
            fail(start, here(start), "unexpected character " + describe_char(c));
    }
    return make(kind, start);
}

}  // namespace cffix::parse
