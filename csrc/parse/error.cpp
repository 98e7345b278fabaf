// CDefError (the bare message plus where it happened, formatted once for what()) and the
// helpers that give parse errors their position and source line.
//
// The source is UTF-8 (cdef() encodes its str argument). Tokens and declarations carry
// byte columns; an error message shows the column in characters, as the user's editor and
// Python's str count it, and never contains a broken UTF-8 sequence: Python decodes the
// message strictly, so a cut sequence would replace the CDefError by a UnicodeDecodeError.
#include <algorithm>
#include <string>
#include <utility>

#include "parse/ast.h"
#include "parse/lexer.h"

namespace cffix::parse {
namespace {

bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xc0) == 0x80; }

// The length of the well-formed UTF-8 sequence starting at s[i], or 0 if there is none.
size_t utf8_sequence_length(std::string_view s, size_t i) {
    auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char lead = byte(i);
    if (lead < 0x80) return 1;
    size_t n = lead >= 0xf0 ? (lead <= 0xf4 ? 4 : 0) : lead >= 0xe0 ? 3 : lead >= 0xc2 ? 2 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k)
        if (!is_continuation_byte(s[i + k])) return 0;
    unsigned char second = byte(i + 1);
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    if ((lead == 0xe0 && second < 0xa0) || (lead == 0xed && second > 0x9f) ||
        (lead == 0xf0 && second < 0x90) || (lead == 0xf4 && second > 0x8f))
        return 0;
    return n;
}

// `text` with every byte that is not part of well-formed UTF-8 written as \xNN.
std::string valid_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        if (size_t n = utf8_sequence_length(text, i)) {
            out.append(text.substr(i, n));
            i += n;
            continue;
        }
        static const char kHex[] = "0123456789abcdef";
        auto byte = static_cast<unsigned char>(text[i++]);
        out += "\\x";
        out += kHex[byte >> 4];
        out += kHex[byte & 15];
    }
    return out;
}

// The offset of the first byte of line `line` (1-based), or npos past the end.
size_t line_offset(std::string_view source, int line) {
    size_t offset = 0;
    for (int l = 1; l < line; ++l) {
        offset = source.find('\n', offset);
        if (offset == std::string_view::npos) return offset;
        ++offset;
    }
    return offset;
}

// The 1-based character column of the byte at `offset`, whose line starts at `line_start`.
int character_column(std::string_view source, size_t line_start, size_t offset) {
    int column = 1;
    for (size_t i = line_start; i < offset && i < source.size(); ++i)
        column += !is_continuation_byte(source[i]);
    return column;
}

// Characters (not bytes) in s[from, to).
int count_characters(std::string_view s, size_t from, size_t to) {
    int n = 0;
    for (size_t i = from; i < to && i < s.size(); ++i) n += !is_continuation_byte(s[i]);
    return n;
}

std::string strip(std::string_view s) {
    size_t b = s.find_first_not_of(" \t\r\n\f\v");
    if (b == std::string_view::npos) return {};
    size_t e = s.find_last_not_of(" \t\r\n\f\v");
    return std::string(s.substr(b, e - b + 1));
}

constexpr const char* kCdefSourceString = "<cdef source string>";

}  // namespace

CDefError::CDefError(std::string message, SourcePos pos, std::string source_line, int caret)
    : cffix::Error(ErrorKind::CDefError, format(message, pos, source_line)),
      message_(std::move(message)),
      pos_(pos),
      source_line_(std::move(source_line)),
      caret_(caret) {}

// "<message>" or "<message>\n  line L, column C: <source line>": the second line only when
// the position is known. The C++ side's text; Python gets python_message() and notes().
std::string CDefError::format(const std::string& message, SourcePos pos,
                              const std::string& source_line) {
    std::string out = valid_utf8(message);
    if (pos.line > 0) {
        out += "\n  line ";
        out += std::to_string(pos.line);
        out += ", column ";
        out += std::to_string(pos.column);
        if (!source_line.empty()) {
            out += ": ";
            out += valid_utf8(source_line);
        }
    }
    return out;
}

CDefError& CDefError::as_syntax_error(SourcePos pos, std::string token, std::string line_text) {
    cffi_kind_ = CffiText::Syntax;
    cffi_pos_ = pos;
    cffi_text_ = std::move(token);
    cffi_line_ = strip(line_text);
    return *this;
}

CDefError& CDefError::with_cffi_text(CffiText kind, std::string text) {
    cffi_kind_ = kind;
    cffi_text_ = std::move(text);
    return *this;
}

CDefError& CDefError::in_type_string(std::string text) {
    type_string_ = true;
    cffi_line_ = strip(text);
    return *this;
}

// cffi quotes the line of its cdef text whose number pycparser gives: with markers, the
// physical line of the marked number (another line, or none, than the one at fault).
CDefError& CDefError::with_line_markers(std::vector<LineMarker> markers, std::string_view source) {
    markers_ = std::move(markers);
    if (cffi_kind_ != CffiText::Syntax || type_string_ || cffi_pos_.line <= 0) return *this;
    auto [file, line] = presumed(cffi_pos_.line);
    size_t start = line >= 1 ? line_offset(source, line) : std::string_view::npos;
    if (file != kCdefSourceString || start == std::string_view::npos) {
        cffi_line_.reset();
        return *this;
    }
    size_t end = source.find('\n', start);
    cffi_line_ = strip(source.substr(start, end == std::string_view::npos ? end : end - start));
    return *this;
}

CDefError& CDefError::with_cffi_text_of(const CDefError& other) {
    cffi_kind_ = other.cffi_kind_;
    cffi_text_ = other.cffi_text_;
    cffi_pos_ = other.cffi_pos_;
    cffi_line_ = other.cffi_line_;
    return *this;
}

std::pair<std::string, int> CDefError::presumed(int line) const {
    if (type_string_) return {kCdefSourceString, line + 1};
    const LineMarker* marker = nullptr;
    for (const LineMarker& m : markers_)
        if (m.from_line <= line) marker = &m;
    if (!marker) return {kCdefSourceString, line};
    return {marker->file, marker->line + (line - marker->from_line)};
}

std::string CDefError::presumed_text(int line) const {
    auto [file, presumed_line] = presumed(line);
    return file + ":" + std::to_string(presumed_line);
}

// pycparser's messages, as cffi words them: the line it could not parse when pycparser
// names a line of cffi's own name for the cdef text, else 'parse error'; then pycparser's
// own line, "<file>:<line>:<column>: before: <token>" or "<file>: At end of input".
std::string CDefError::python_message() const {
    switch (cffi_kind_) {
        case CffiText::Own: return valid_utf8(message_);
        case CffiText::Given: return valid_utf8(cffi_text_);
        case CffiText::GivenAtLine:
            if (pos_.line <= 0) return valid_utf8(cffi_text_);
            return valid_utf8(presumed_text(pos_.line) + ": " + cffi_text_);
        case CffiText::Syntax: break;
    }
    auto [file, line] = presumed(std::max(cffi_pos_.line, 1));
    if (cffi_text_.empty()) return valid_utf8("parse error\n" + file + ": At end of input");
    std::string out = file == kCdefSourceString && cffi_line_
                          ? "cannot parse \"" + *cffi_line_ + "\"\n"
                          : std::string("parse error\n");
    out += file + ":" + std::to_string(line) + ":" + std::to_string(cffi_pos_.column) +
           ": before: " + cffi_text_;
    return valid_utf8(out);
}

// cffix's message when it is not the Python message, then the position: "line L, column C"
// (and the file and line of a line marker): the source line, and a caret under the column
// on the next line.
std::vector<std::string> CDefError::notes() const {
    std::vector<std::string> out;
    std::string message = valid_utf8(message_);
    bool restated = cffi_kind_ == CffiText::GivenAtLine && cffi_text_ == message_;
    if (python_message() != message && !restated) out.push_back(message);
    if (pos_.line <= 0) return out;
    std::string where =
        "line " + std::to_string(pos_.line) + ", column " + std::to_string(pos_.column);
    if (!markers_.empty() && !type_string_) where += " (" + presumed_text(pos_.line) + ")";
    if (source_line_.empty()) {
        out.push_back(where);
        return out;
    }
    std::string shown = valid_utf8(source_line_);
    where += ": ";
    std::string caret(where.size(), ' ');
    where += shown;
    if (caret_ >= 0) {
        int n = 0;
        for (size_t i = 0; i < shown.size() && n < caret_; ++i) {
            if (is_continuation_byte(shown[i])) continue;
            caret += shown[i] == '\t' ? '\t' : ' ';
            ++n;
        }
        where += "\n" + caret + "^";
    }
    out.push_back(where);
    return out;
}

// Lines longer than this are shown as an excerpt around the column, so that an error in a
// minified or generated one-line cdef does not carry megabytes of text.
constexpr size_t kMaxShownLine = 160;

std::string source_line_at(std::string_view source, size_t offset, int* caret) {
    if (offset > source.size()) offset = source.size();
    size_t begin = offset == 0 ? std::string_view::npos : source.rfind('\n', offset - 1);
    begin = begin == std::string_view::npos ? 0 : begin + 1;
    size_t end = source.find('\n', offset);
    if (end == std::string_view::npos) end = source.size();
    while (end > begin && source[end - 1] == '\r') --end;
    if (end - begin <= kMaxShownLine) {
        if (caret) *caret = count_characters(source, begin, std::min(offset, end));
        return std::string(source.substr(begin, end - begin));
    }
    size_t from = offset > begin + kMaxShownLine / 2 ? offset - kMaxShownLine / 2 : begin;
    size_t to = from + kMaxShownLine < end ? from + kMaxShownLine : end;
    while (from < offset && is_continuation_byte(source[from])) ++from;  // whole characters
    while (to > from && to < end && is_continuation_byte(source[to])) --to;
    std::string excerpt = from > begin ? "..." : "";
    if (caret)
        *caret =
            count_characters(source, from, std::min(offset, to)) + static_cast<int>(excerpt.size());
    excerpt += source.substr(from, to - from);
    if (to < end) excerpt += "...";
    return excerpt;
}

CDefError error_at(std::string_view source, size_t offset, SourcePos pos, std::string message) {
    offset = std::min(offset, source.size());
    size_t byte_column = static_cast<size_t>(std::max(pos.column - 1, 0));
    size_t line_start = offset - std::min(offset, byte_column);
    SourcePos shown{pos.line, character_column(source, line_start, offset)};
    int caret = -1;
    std::string line = source_line_at(source, offset, &caret);
    return CDefError(std::move(message), shown, std::move(line), caret);
}

CDefError error_at(std::string_view source, SourcePos pos, std::string message) {
    size_t start = line_offset(source, pos.line);
    if (start == std::string_view::npos) return CDefError(std::move(message), pos);
    return error_at(source, start + static_cast<size_t>(std::max(pos.column - 1, 0)), pos,
                    std::move(message));
}

void throw_at(std::string_view source, const Token& at, std::string message) {
    throw error_at(source, static_cast<size_t>(at.text.data() - source.data()), at.pos,
                   std::move(message));
}

std::string describe_token(const Token& token) {
    switch (token.kind) {
        case Tok::End: return "end of input";
        case Tok::DirectiveEnd: return "end of line";
        case Tok::Define: return "'#define'";
        case Tok::PragmaPack: return "'#pragma pack'";
        case Tok::PragmaCffix: return "'#pragma cffix'";
        case Tok::Macro: return "'#define'";
        case Tok::Undef: return "'#undef'";
        default: break;
    }
    constexpr size_t kMaxShown = 40;
    bool clipped = token.text.size() > kMaxShown;
    size_t shown = clipped ? kMaxShown - 3 : token.text.size();
    while (clipped && shown > 0 && is_continuation_byte(token.text[shown])) --shown;
    // Built by appending: `"'" + std::string(...)` trips g++ 12's -Wrestrict at -O3.
    std::string out = "'";
    out += token.text.substr(0, shown);
    if (clipped) out += "...";
    out += '\'';
    return out;
}

}  // namespace cffix::parse
