// A recogniser of the type strings cffi's C parser takes, reporting the first error as cffi
// does (message and token position). The grammar, as cffi's parser reads it:
//
//   type      := qualifier* specifier sequel END
//   specifier := (short|long|signed|unsigned)+ [int|char|double]      (checked combination)
//              | int | char | void | _Bool | float [_Complex] | double [_Complex]
//              | type-name | struct NAME | union NAME | enum NAME
//   sequel    := ('*' | const | volatile | __cdecl | __stdcall)* [NAME]
//                ( '(' [call-conv] ( sequel-in-parentheses | parameters ) ')' )*
//                ( '[' [length] ']' )*
//
// where only the first parenthesis after no name may group a declarator (it starts with
// '*', a qualifier or '['), every other one holds parameters. Only the first error counts:
// it unwinds the recursion at once.
#include "parse/cffi_type_string.h"

#include <cstdint>

namespace cffix::parse {
namespace {

enum class Tok {
    End,
    Identifier,
    Integer,
    Ellipsis,
    Punct,  // one character: '*', '(', ')', '[', ']', ',' or anything else
    Bool,
    Char,
    Complex,
    Const,
    Double,
    Enum,
    Float,
    Int,
    Long,
    Short,
    Signed,
    Struct,
    Union,
    Unsigned,
    Void,
    Volatile,
    Cdecl,
    Stdcall,
};

struct Keyword {
    std::string_view text;
    Tok kind;
};
constexpr Keyword keywords[] = {
    {"_Bool", Tok::Bool},        {"char", Tok::Char},         {"_Complex", Tok::Complex},
    {"const", Tok::Const},       {"double", Tok::Double},     {"enum", Tok::Enum},
    {"float", Tok::Float},       {"int", Tok::Int},           {"long", Tok::Long},
    {"short", Tok::Short},       {"signed", Tok::Signed},     {"struct", Tok::Struct},
    {"union", Tok::Union},       {"unsigned", Tok::Unsigned}, {"void", Tok::Void},
    {"volatile", Tok::Volatile}, {"__cdecl", Tok::Cdecl},     {"__stdcall", Tok::Stdcall},
};

bool is_space(char c) {
    return c == ' ' || c == '\f' || c == '\n' || c == '\r' || c == '\t' || c == '\v';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// '$' starts names too: cffi names anonymous structs "$1", "$foo_t".
bool is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}

constexpr uint64_t max_ssize = UINT64_MAX >> 1;

struct Stop {};  // the first error is recorded: unwind

class Checker {
public:
    Checker(std::string_view text, const CffiTypeNames& names) : text_(text), names_(names) {}

    std::optional<CffiTypeError> run() {
        try {
            advance();
            type();
            if (kind_ != Tok::End) fail("unexpected symbol");
        } catch (Stop&) {
            return error_;
        }
        return std::nullopt;
    }

private:
    char at(size_t i) const { return i < text_.size() ? text_[i] : '\0'; }
    std::string_view token() const { return text_.substr(pos_, size_); }
    bool punct(char c) const { return kind_ == Tok::Punct && text_[pos_] == c; }

    void advance() {
        size_t p = pos_ + size_;
        while (is_space(at(p))) ++p;
        pos_ = p;
        char c = at(p);
        if (is_name_start(c)) {
            size_ = 1;
            while (is_name_start(at(p + size_)) || is_digit(at(p + size_))) ++size_;
            kind_ = Tok::Identifier;
            for (const Keyword& k : keywords)
                if (k.text == token()) kind_ = k.kind;
        } else if (is_digit(c)) {
            kind_ = Tok::Integer;
            size_ = at(p + 1) == 'x' || at(p + 1) == 'X' ? 2 : 1;
            while (is_hex_digit(at(p + size_))) ++size_;
        } else if (c == '.' && at(p + 1) == '.' && at(p + 2) == '.') {
            kind_ = Tok::Ellipsis;
            size_ = 3;
        } else if (c != '\0') {
            kind_ = Tok::Punct;
            size_ = 1;
        } else {
            kind_ = Tok::End;
            size_ = 0;
        }
    }

    // The first character after the current token and blanks.
    char following() const {
        size_t p = pos_ + size_;
        while (is_space(at(p))) ++p;
        return at(p);
    }

    [[noreturn]] void fail(const char* message) {
        error_ = CffiTypeError{message, pos_};
        throw Stop{};
    }

    void type() {
        while (kind_ == Tok::Const || kind_ == Tok::Volatile) advance();
        specifier();
        sequel();
    }

    void specifier() {
        int length = 0;  // -1 short, 1 long, 2 long long
        bool has_sign = false;
        for (;; advance()) {
            if (kind_ == Tok::Short) {
                if (length != 0) fail("'short' after another 'short' or 'long'");
                length = -1;
            } else if (kind_ == Tok::Long) {
                if (length < 0) fail("'long' after 'short'");
                if (length >= 2) fail("'long long long' is too long");
                ++length;
            } else if (kind_ == Tok::Signed || kind_ == Tok::Unsigned) {
                if (has_sign) fail("multiple 'signed' or 'unsigned'");
                has_sign = true;
            } else {
                break;
            }
        }
        bool complex_allowed = false;
        if (length != 0 || has_sign) {
            switch (kind_) {
                case Tok::Double:
                    if (has_sign || length != 1) fail("invalid combination of types");
                    advance();
                    break;
                case Tok::Char:
                    if (length != 0) fail("invalid combination of types");
                    advance();
                    break;
                case Tok::Int: advance(); break;
                case Tok::Void:
                case Tok::Bool:
                case Tok::Float:
                case Tok::Struct:
                case Tok::Union:
                case Tok::Enum:
                case Tok::Complex: fail("invalid combination of types");
                default: break;  // `unsigned` alone: an int
            }
        } else {
            switch (kind_) {
                case Tok::Int:
                case Tok::Char:
                case Tok::Void:
                case Tok::Bool: break;
                case Tok::Float:
                case Tok::Double: complex_allowed = true; break;
                case Tok::Identifier:
                    if (!names_.is_type_name(token())) fail("undefined type name");
                    break;
                case Tok::Struct:
                case Tok::Union: {
                    bool is_union = kind_ == Tok::Union;
                    advance();
                    if (kind_ != Tok::Identifier) fail("struct or union name expected");
                    CffiTypeNames::Tag tag = names_.record_tag(token());
                    if (tag == CffiTypeNames::Tag::None) {
                        if (is_union || token() != "_IO_FILE")  // FILE's struct
                            fail("undefined struct/union name");
                    } else if ((tag == CffiTypeNames::Tag::Union) != is_union) {
                        fail("wrong kind of tag: struct vs union");
                    }
                    break;
                }
                case Tok::Enum:
                    advance();
                    if (kind_ != Tok::Identifier) fail("enum name expected");
                    if (!names_.is_enum_tag(token())) fail("undefined enum name");
                    break;
                default: fail("identifier expected");
            }
            advance();
        }
        if (kind_ == Tok::Complex) {
            if (!complex_allowed) fail("_Complex type combination unsupported");
            advance();
        }
    }

    bool is_call_convention() const { return kind_ == Tok::Cdecl || kind_ == Tok::Stdcall; }

    void sequel() {
        bool convention = false;
        for (;; advance()) {
            if (is_call_convention())
                convention = true;
            else if (!punct('*') && kind_ != Tok::Const && kind_ != Tok::Volatile)
                break;
        }
        bool may_group = true;
        if (kind_ == Tok::Identifier) {  // a declarator's name, skipped
            advance();
            may_group = false;
        }
        while (punct('(')) {
            advance();
            if (is_call_convention()) {
                convention = true;
                advance();
            }
            if (may_group &&
                (punct('*') || punct('[') || kind_ == Tok::Const || kind_ == Tok::Volatile)) {
                sequel();
            } else {
                convention = false;
                parameters();
            }
            may_group = false;
            if (!punct(')')) fail("expected ')'");
            advance();
        }
        if (convention) fail("expected '('");
        while (punct('[')) {
            advance();
            if (!punct(']')) {
                array_length();
                advance();
            }
            if (!punct(']')) fail("expected ']'");
            advance();
        }
    }

    void parameters() {
        if (kind_ == Tok::Void && following() == ')') advance();
        if (punct(')')) return;
        for (;;) {
            if (kind_ == Tok::Ellipsis) {
                advance();
                return;
            }
            type();
            if (!punct(',')) return;
            advance();
        }
    }

    void array_length() {
        if (kind_ == Tok::Integer) {
            std::optional<uint64_t> value = integer_literal(token());
            if (!value) fail("invalid number");
            if (*value > max_ssize) fail("number too large");
            return;
        }
        if (kind_ == Tok::Identifier) {
            if (std::optional<ConstInt> value = names_.integer_constant(token())) {
                if (*value > static_cast<ConstInt>(max_ssize)) fail("integer constant too large");
                if (*value >= 0) return;
            }
        }
        fail("expected a positive integer constant");
    }

    // A token of digits and letters read as C reads an unsuffixed literal (0x: hex, 0:
    // octal): nothing if a character is left over; past 64 bits, UINT64_MAX.
    static std::optional<uint64_t> integer_literal(std::string_view digits) {
        unsigned base = 10;
        size_t i = 0;
        if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
            base = 16;
            i = 2;
        } else if (digits[0] == '0') {
            base = 8;
        }
        uint64_t value = 0;
        bool overflow = false;
        for (; i < digits.size(); ++i) {
            char c = digits[i];
            unsigned d = is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
            if (!is_hex_digit(c) || d >= base) return std::nullopt;
            if (value > (UINT64_MAX - d) / base) overflow = true;
            value = value * base + d;
        }
        return overflow ? UINT64_MAX : value;
    }

    std::string_view text_;
    const CffiTypeNames& names_;
    size_t pos_ = 0, size_ = 0;
    Tok kind_ = Tok::End;
    CffiTypeError error_{"", 0};
};

}  // namespace

std::optional<CffiTypeError> cffi_type_string_error(std::string_view text,
                                                    const CffiTypeNames& names) {
    text = text.substr(0, text.find('\0'));  // cffi reads a C string
    return Checker(text, names).run();
}

std::string cffi_type_error_text(std::string_view text, const CffiTypeError& error) {
    text = text.substr(0, text.find('\0'));
    std::string out = error.message;
    if (text.size() > 500) return out;
    out += '\n';
    for (char c : text) out += (c >= ' ' && c < 0x7f) ? c : (c == '\t' || c == '\n') ? ' ' : '?';
    out += '\n';
    out.append(error.offset, ' ');
    out += '^';
    return out;
}

}  // namespace cffix::parse
