// The errors of cffi's C type-string parser, for the ffi of API-mode modules and
// `_cffi_backend.FFI()` (cffi's C parser raises there, not cffi.FFI's pycparser).
//
// cffix parses type strings with its own parser (parse/declarator.cpp); when that fails
// for such an ffi, this small model of cffi's type-string grammar finds the error cffi
// reports for the same text: its message ("identifier expected", "undefined type name",
// "expected ')'", ...) and the byte offset of the token where cffi's parser stopped. The
// model only recognises (it builds no type): a string it accepts keeps cffix's message.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "parse/ast.h"

namespace cffix::parse {

// What the checker asks the FFI's declarations (those of included FFIs too).
class CffiTypeNames {
public:
    enum class Tag { None, Struct, Union };
    virtual ~CffiTypeNames() = default;
    // A typedef name, or a standard one (int8_t, size_t, FILE...).
    virtual bool is_type_name(std::string_view name) const = 0;
    // Whether `name` is the tag of a struct, of a union, or of neither.
    virtual Tag record_tag(std::string_view name) const = 0;
    virtual bool is_enum_tag(std::string_view name) const = 0;
    // An integer constant or enumerator (array lengths may name one).
    virtual std::optional<ConstInt> integer_constant(std::string_view name) const = 0;
};

struct CffiTypeError {
    const char* message;  // static text
    size_t offset;        // byte offset of the offending token in the text
};

// The error cffi's C parser reports for `text`, or nothing when it accepts it.
std::optional<CffiTypeError> cffi_type_string_error(std::string_view text,
                                                    const CffiTypeNames& names);

// cffi's str() of that error: the message, then (for a text of at most 500 bytes) the
// text with control and non-ASCII bytes shown as '?' (tab and newline as a space) and a
// caret under the offending byte.
std::string cffi_type_error_text(std::string_view text, const CffiTypeError& error);

}  // namespace cffix::parse
