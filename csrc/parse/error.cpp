// CDefError (the bare message plus where it happened, formatted once for what()) and the
// helpers that give parse errors their position and source line.
#include <algorithm>
#include <string>
#include <utility>

#include "parse/ast.h"
#include "parse/lexer.h"

namespace cffix::parse {

CDefError::CDefError(std::string message, SourcePos pos, std::string source_line)
    : std::runtime_error(format(message, pos, source_line)),
      message_(std::move(message)),
      pos_(pos),
      source_line_(std::move(source_line)) {}

// "<message>" or "<message>\n  line L, column C: <source line>": the second line only when
// the position is known, so errors raised away from any text (the sink's) stay one line.
std::string CDefError::format(const std::string& message, SourcePos pos,
                              const std::string& source_line) {
    std::string out = message;
    if (pos.line > 0) {
        out += "\n  line ";
        out += std::to_string(pos.line);
        out += ", column ";
        out += std::to_string(pos.column);
        if (!source_line.empty()) {
            out += ": ";
            out += source_line;
        }
    }
    return out;
}

// Lines longer than this are shown as an excerpt around the column, so that an error in a
// minified or generated one-line cdef does not carry megabytes of text.
constexpr size_t kMaxShownLine = 160;

std::string source_line_at(std::string_view source, size_t offset) {
    if (offset > source.size()) offset = source.size();
    size_t begin = offset == 0 ? std::string_view::npos : source.rfind('\n', offset - 1);
    begin = begin == std::string_view::npos ? 0 : begin + 1;
    size_t end = source.find('\n', offset);
    if (end == std::string_view::npos) end = source.size();
    while (end > begin && source[end - 1] == '\r') --end;
    if (end - begin <= kMaxShownLine) return std::string(source.substr(begin, end - begin));
    size_t from = offset > begin + kMaxShownLine / 2 ? offset - kMaxShownLine / 2 : begin;
    size_t to = from + kMaxShownLine < end ? from + kMaxShownLine : end;
    std::string excerpt = from > begin ? "..." : "";
    excerpt += source.substr(from, to - from);
    if (to < end) excerpt += "...";
    return excerpt;
}

std::string source_line_of(std::string_view source, SourcePos pos) {
    size_t offset = 0;
    for (int line = 1; line < pos.line; ++line) {
        offset = source.find('\n', offset);
        if (offset == std::string_view::npos) return {};
        ++offset;
    }
    return source_line_at(source, offset + static_cast<size_t>(std::max(pos.column - 1, 0)));
}

void throw_at(std::string_view source, const Token& at, std::string message) {
    size_t offset = static_cast<size_t>(at.text.data() - source.data());
    throw CDefError(std::move(message), at.pos, source_line_at(source, offset));
}

std::string describe_token(const Token& token) {
    switch (token.kind) {
        case Tok::End:
            return "end of input";
        case Tok::DirectiveEnd:
            return "end of line";
        case Tok::Define:
            return "'#define'";
        default:
            break;
    }
    constexpr size_t kMaxShown = 40;
    bool clipped = token.text.size() > kMaxShown;
    // Built by appending: `"'" + std::string(...)` trips g++ 12's -Wrestrict at -O3.
    std::string out = "'";
    out += clipped ? token.text.substr(0, kMaxShown - 3) : token.text;
    if (clipped) out += "...";
    out += '\'';
    return out;
}

}  // namespace cffix::parse
