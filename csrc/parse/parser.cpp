// The top level of the cdef grammar: token handling and errors, declarations, #define,
// extern "C" / extern "Python" blocks, _Static_assert, and the entry points of ast.h.
#include "parse/parser.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <utility>
#include <vector>

namespace cffix::parse {
namespace {

constexpr const char* kDefineHint =
    " (only `#define NAME <integer expression>` and `#define NAME ...` are supported)";
constexpr const char* kInitializerHint =
    " (a constant of an integer type takes an integer constant expression, as in `static "
    "const int NAME = 42;`)";

// The next token of a lookahead lexer as advance() would see it: past #define lines.
Token next_skipping_defines(Lexer& lookahead) {
    Token t = lookahead.next();
    while (t.kind >= Tok::Define && t.kind <= Tok::Undef) {
        if (t.kind == Tok::Define)
            while (t.kind != Tok::DirectiveEnd) t = lookahead.next();
        t = lookahead.next();
    }
    return t;
}

}  // namespace

Parser::Parser(std::string_view source, DeclSink& sink)
    : source_(source), sink_(sink), lex_(source) {
    lex_.record_line_markers(&markers_);
}

// ---------------------------------------------------------------------------------------
// Tokens and errors

// A #define may stand between any two tokens and is complete in itself, so advance()
// hands it here, once for everyone. A loop, not recursion: parse_define ends on the raw
// next token, so a run of thousands of #defines uses no stack.
void Parser::handle_defines() {
    for (;;) {
        if (tok_.kind == Tok::PragmaPack) {
            parse_pragma_pack();
            continue;
        }
        if (tok_.kind == Tok::PragmaCffix) {
            // `#pragma cffix own(0)` / `own(1)`, written by cdef_header() in the text it
            // records (types/scope.cpp, HeaderLog): see DeclSink::set_own.
            std::string_view text = tok_.text;
            size_t b = text.find_first_not_of(" \t");
            text = b == std::string_view::npos ? std::string_view() : text.substr(b);
            if (text.starts_with("own(0)") || text.starts_with("own(1)")) {
                Token at = tok_;
                bool own = text[4] == '1';
                ask_sink(at, [&] { sink_.set_own(own); });
            }
            tok_ = lex_.next();
            continue;
        }
        if (tok_.kind == Tok::Macro || tok_.kind == Tok::Undef) {  // header mode
            if (recovery_) {
                std::string_view text = tok_.text;
                size_t end = text.find_first_of(" \t(");
                if (end != std::string_view::npos && text[end] == '(') {  // NAME(params)
                    end = text.find(')', end);
                    if (end != std::string_view::npos) ++end;
                }
                std::string_view name = text.substr(0, end);
                std::string_view body;
                if (end != std::string_view::npos) {
                    body = text.substr(end);
                    size_t b = body.find_first_not_of(" \t");
                    body = b == std::string_view::npos ? std::string_view() : body.substr(b);
                    while (!body.empty() && (body.back() == ' ' || body.back() == '\r'))
                        body.remove_suffix(1);
                }
                recovery_->macro(name, body, tok_.pos.line, tok_.kind == Tok::Undef);
            }
            tok_ = lex_.next();
            continue;
        }
        if (tok_.kind != Tok::Define) break;
        if (type_name_only_) fail(tok_, "expected a type name, found '#define'");
        parse_define();
    }
}

// `#pragma pack(N)`, `(push[, N])`, `(pop)`, `()`, as gcc and MSVC take them (an identifier
// argument of push/pop is accepted and ignored). The structs declared after it are laid
// out so. Ends on the raw token after the line.
void Parser::parse_pragma_pack() {
    Token pragma = tok_;
    std::string joined;  // the line with its continuations (backslash-newline) spliced out
    for (size_t i = 0; i < pragma.text.size(); ++i) {
        std::string_view rest = pragma.text.substr(i);
        if (rest.starts_with("\\\n")) {
            ++i;
        } else if (rest.starts_with("\\\r\n")) {
            i += 2;
        } else {
            joined += pragma.text[i];
        }
    }
    std::string_view text = joined;
    auto trim = [](std::string_view v) {
        size_t b = v.find_first_not_of(" \t\r");
        size_t e = v.find_last_not_of(" \t\r");
        return b == std::string_view::npos ? std::string_view() : v.substr(b, e - b + 1);
    };
    text = trim(text);
    if (text.size() < 2 || text.front() != '(' || text.back() != ')')
        fail(pragma, "expected '#pragma pack(...)'");
    text = text.substr(1, text.size() - 2);
    std::vector<std::string_view> args;
    while (!text.empty() || !args.empty()) {
        size_t comma = text.find(',');
        args.push_back(trim(text.substr(0, comma)));
        if (comma == std::string_view::npos) break;
        text = text.substr(comma + 1);
    }
    auto number = [&](std::string_view v) -> uint32_t {
        uint32_t n = 0;
        for (char c : v) {
            if (c < '0' || c > '9' || n > 1000) fail(pragma, "bad '#pragma pack' argument");
            n = n * 10 + static_cast<uint32_t>(c - '0');
        }
        if (n & (n - 1)) fail(pragma, "'#pragma pack' needs a power of two");
        return n;
    };
    auto is_number = [](std::string_view v) {
        return !v.empty() && v.front() >= '0' && v.front() <= '9';
    };
    if (args.empty() || (args.size() == 1 && args[0].empty())) {
        pack_ = 0;
    } else if (args[0] == "push") {
        pack_stack_.push_back(pack_);
        if (args.size() > 1 && is_number(args.back())) pack_ = number(args.back());
    } else if (args[0] == "pop") {
        if (!pack_stack_.empty()) {
            pack_ = pack_stack_.back();
            pack_stack_.pop_back();
        }
    } else if (args.size() == 1 && is_number(args[0])) {
        pack_ = number(args[0]);
    }  // pack(show) and the like: nothing to do
    ask_sink(pragma, [&] { sink_.set_pack(pack_); });
    tok_ = lex_.next();
}

Token Parser::peek() const {
    Lexer lookahead = lex_;
    return next_skipping_defines(lookahead);
}

// The next token, or `fallback` where lexing it fails. Not `t = fallback; try { t = peek(); }
// catch ...`: GCC 12 at -O3 builds peek()'s result in place in `t`, so that the throw left
// `t` half-written (a token with no text; found by fuzz/python's py_typeof on `ffi.typeof(
// "a\x08")`, which raised SystemError or MemoryError instead of CDefError).
Token Parser::peek_or(const Token& fallback) const {
    try {
        return peek();
    } catch (const CDefError&) {
        return fallback;
    }
}

// The token after the current one, past any __attribute__((...)) / __declspec(...).
Token Parser::peek_past_attributes() const {
    Lexer lookahead = lex_;
    Token t = next_skipping_defines(lookahead);
    while (t.kind == Tok::KwAttribute || t.kind == Tok::KwDeclspec) {
        t = next_skipping_defines(lookahead);
        if (t.kind != Tok::LParen) return t;
        for (int depth = 1; depth > 0;) {
            t = next_skipping_defines(lookahead);
            if (t.kind == Tok::End) return t;
            depth += t.kind == Tok::LParen ? 1 : t.kind == Tok::RParen ? -1 : 0;
        }
        t = next_skipping_defines(lookahead);
    }
    return t;
}

bool Parser::accept(Tok kind) {
    if (tok_.kind != kind) return false;
    advance();
    return true;
}

void Parser::expect(Tok kind, std::string_view what) {
    if (!accept(kind)) fail_expected(what);
}

void Parser::fail(const Token& at, std::string message) const {
    throw_at(source_, at, std::move(message));
}

void Parser::fail_syntax(const Token& at, std::string message, const Token& before) const {
    CDefError e = error_at(source_, offset_of(at), at.pos, std::move(message));
    CDefError b = error_at(source_, offset_of(before), before.pos, {});
    e.as_syntax_error(b.pos(), before.kind == Tok::End ? std::string() : std::string(before.text),
                      b.source_line());
    throw e;
}

void Parser::fail_expected(std::string_view what) const {
    if (tok_.kind == Tok::End)
        fail_syntax(tok_, "unexpected end of input, expected " + std::string(what), tok_);
    fail_syntax(tok_, "expected " + std::string(what) + ", found " + describe_token(tok_), tok_);
}

// cffi's words depend on where the name is: alone as a type string, "unknown identifier";
// alone as a parameter of a declared function, "f arg 1: unknown type"; elsewhere pycparser
// takes it for a declared name and fails at the token after it.
void Parser::fail_unknown_type(const Token& name) {
    std::string message = "unknown type name '" + std::string(name.text) + "'";
    std::string hint = ask_sink(name, [&] { return sink_.suggest_type_name(name.text); });
    if (!hint.empty()) message += "; " + hint;
    Token next = peek_or(name);  // a lexical error after the name must not replace this error
    if (type_name_only_ && !probes_ && next.kind == Tok::End &&
        offset_of(name) == source_.find_first_not_of(" \t\r\n\f\v")) {
        CDefError e = error_at(source_, offset_of(name), name.pos, std::move(message));
        throw e.with_cffi_text(CffiText::Given,
                               "unknown identifier '" + std::string(name.text) + "'");
    }
    if (!type_name_only_ && param_index_ > 0 && !param_owner_.empty() &&
        (next.kind == Tok::Comma || next.kind == Tok::RParen)) {
        CDefError e = error_at(source_, offset_of(name), name.pos, std::move(message));
        throw e.with_cffi_text(CffiText::GivenAtLine,
                               std::string(param_owner_) + " arg " + std::to_string(param_index_) +
                                   ": unknown type '" + std::string(name.text) +
                                   "' (if you meant to use the old C syntax of giving "
                                   "untyped arguments, it is not supported)");
    }
    fail_syntax(name, std::move(message), next);
}

bool Parser::is_type_name(std::string_view name) {
    return ask_sink(tok_, [&] { return sink_.is_type_name(name); });
}

void Parser::emit(Declaration&& decl, const Token& at) {
    ask_sink(at, [&] { sink_.declare(std::move(decl)); });
}

// ---------------------------------------------------------------------------------------
// Entry points

void Parser::parse_translation_unit() {
    advance();
    if (recovery_) {
        while (tok_.kind != Tok::End) parse_recovering();
        return;
    }
    while (tok_.kind != Tok::End) parse_external_declaration(ExternPython::No);
}

// One top-level declaration; if it fails, the log hears why and the parse resumes after it.
void Parser::parse_recovering() {
    Lexer start_lex = lex_;
    Token start = tok_;
    size_t begin = recovered_to_;
    try {
        parse_external_declaration(ExternPython::No);
        recovered_to_ = tok_.kind == Tok::End ? source_.size() : offset_of(tok_);
        recovery_->parsed(begin, recovered_to_);
        return;
    } catch (const cffix::Error& e) {
        std::string message = e.what();
        int line = start.pos.line;
        if (const auto* c = dynamic_cast<const CDefError*>(&e)) {
            message = c->message();
            if (c->pos().line > 0) line = c->pos().line;
        }
        depth_ = 0;
        unevaluated_ = 0;
        param_owner_ = {};
        param_index_ = 0;
        pending_constants_.clear();
        lex_ = start_lex;
        tok_ = start;
        lex_.set_unchecked_numbers(true);
        std::string name = skip_failed_declaration();  // a lexical error here ends the parse
        lex_.set_unchecked_numbers(false);
        recovered_to_ = tok_.kind == Tok::End ? source_.size() : offset_of(tok_);
        recovery_->skipped(begin, recovered_to_, std::move(name), std::move(message), line);
    }
}

// From the first token of a declaration that failed, to past its end: the ';' at bracket
// depth 0, or the '}' closing a function body. Returns the name it seemed to declare: the
// last identifier before its first '(' , '[', '=', ':' or ';' at depth 0 (or its tag).
std::string Parser::skip_failed_declaration() {
    int depth = 0;
    bool body_is_function = false, named = false;
    std::string name, tag;
    Tok previous = Tok::End;
    for (bool first = true; tok_.kind != Tok::End; first = false) {
        Tok kind = tok_.kind;
        if (depth == 0 && !named) {
            if (kind == Tok::Identifier) {
                if (previous == Tok::KwStruct || previous == Tok::KwUnion ||
                    previous == Tok::KwEnum)
                    tag = (previous == Tok::KwStruct  ? "struct "
                           : previous == Tok::KwUnion ? "union "
                                                      : "enum ") +
                          std::string(tok_.text);
                else
                    name = std::string(tok_.text);
            } else if (kind == Tok::LParen || kind == Tok::LBracket || kind == Tok::Assign ||
                       kind == Tok::Colon || kind == Tok::Semicolon) {
                named = !name.empty();
            }
        }
        if (kind == Tok::LParen || kind == Tok::LBracket || kind == Tok::LBrace) {
            if (kind == Tok::LBrace && depth == 0) body_is_function = previous == Tok::RParen;
            ++depth;
        } else if (kind == Tok::RParen || kind == Tok::RBracket || kind == Tok::RBrace) {
            if (depth > 0) --depth;
            if (kind == Tok::RBrace && depth == 0 && body_is_function) {
                advance();
                break;
            }
        } else if (kind == Tok::Semicolon && depth == 0) {
            advance();
            break;
        }
        if (kind == Tok::KwAttribute && depth == 0) named = named || !name.empty();
        previous = kind;
        advance();
        (void)first;
    }
    return name.empty() ? tag : name;
}

TypeExprPtr Parser::parse_standalone_type_name() {
    type_name_only_ = true;
    advance();
    if (tok_.kind == Tok::End) fail_expected("a type name");
    // A name in the declarator is allowed and ignored, as cffi does: ffi.typeof("int *p"),
    // ffi.typeof("int (*callback)(bool is_valid)") (a declaration copied from C).
    TypeExprPtr type = parse_type_name_here(DeclaratorContext::Optional);
    if (tok_.kind != Tok::End)
        fail_syntax(tok_, "unexpected " + describe_token(tok_) + " after the type name", tok_);
    return type;
}

ConstInt Parser::parse_standalone_probe_expression(ProbeCalls& probes, bool evaluate) {
    type_name_only_ = true;  // an expression declares nothing either
    probes_ = &probes;
    unevaluated_ = evaluate ? 0 : 1;
    advance();
    if (tok_.kind == Tok::End) fail_expected("an expression");
    ConstValue v = parse_constant_expression();
    if (tok_.kind != Tok::End)
        fail(tok_, "unexpected " + describe_token(tok_) + " after the expression");
    return v.value;
}

void parse_declarations(std::string_view source, DeclSink& sink) {
    try {
        Parser(source, sink).parse_translation_unit();
    } catch (CDefError& e) {
        if (e.pos().line > 0 && source.find('#') != std::string_view::npos)
            e.with_line_markers(line_markers(source), source);
        throw;
    }
}

void parse_declarations_recovering(std::string_view source, DeclSink& sink, RecoveryLog& log) {
    Parser parser(source, sink);
    parser.set_recovery(&log);
    parser.parse_translation_unit();
}

TypeExprPtr parse_type_name(std::string_view source, DeclSink& sink) {
    try {
        return Parser(source, sink).parse_standalone_type_name();
    } catch (CDefError& e) {
        throw e.in_type_string(std::string(source));
    }
}

ConstInt parse_probe_expression(std::string_view source, DeclSink& sink, ProbeCalls& probes,
                                bool evaluate) {
    try {
        return Parser(source, sink).parse_standalone_probe_expression(probes, evaluate);
    } catch (CDefError& e) {
        throw e.with_cffi_text(CffiText::Own, {});  // cffi has no version expressions
    }
}

// ---------------------------------------------------------------------------------------
// Declarations

void Parser::parse_external_declaration(ExternPython xp) {
    switch (tok_.kind) {
        case Tok::Semicolon:    // stray ';' (common in preprocessed headers)
        case Tok::KwExtension:  // `__extension__ typedef ...`
            advance();
            return;
        case Tok::KwStaticAssert: parse_static_assert(); return;
        case Tok::KwExtern:
            if (peek().kind == Tok::StringLiteral) {
                parse_linkage_specification(xp);
                return;
            }
            break;
        default: break;
    }
    parse_declaration(xp);
    pending_constants_.clear();  // the sink has them now
}

const ConstInt* PendingConstants::find(std::string_view name) {
    if (items_.size() <= kScanLimit) {
        for (size_t i = items_.size(); i-- > 0;) {  // the latest definition wins
            if (items_[i].first == name) return &items_[i].second;
        }
        return nullptr;
    }
    for (; indexed_ < items_.size(); ++indexed_)
        index_.insert_or_assign(items_[indexed_].first, items_[indexed_].second);
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &it->second;
}

void PendingConstants::clear() {
    items_.clear();
    if (indexed_ > 0) {
        index_ = {};  // clear() would keep (and later re-zero) a huge bucket array
        indexed_ = 0;
    }
}

// extern "C" { ... }, extern "Python" { ... }, extern "Python+C" int f(int); ...
void Parser::parse_linkage_specification(ExternPython outer) {
    DepthGuard guard(*this);
    advance();  // extern
    Token literal = tok_;
    std::string language = parse_string_literals();
    // Spacing inside the string does not matter, nor the order of "Python+C" (as cffi).
    std::erase_if(language, [](char c) { return c == ' ' || c == '\t' || c == '\n'; });
    ExternPython xp = outer;
    if (language == "Python") {
        xp = ExternPython::Python;
    } else if (language == "Python+C" || language == "C+Python") {
        xp = ExternPython::PythonPlusC;
    } else if (language != "C") {
        fail(literal, "unsupported linkage \"" + language +
                          "\": expected extern \"C\", extern \"Python\" or extern \"Python+C\"");
    }
    if (!accept(Tok::LBrace)) {
        parse_declaration(xp);
        pending_constants_.clear();  // the sink has them now
        return;
    }
    while (!accept(Tok::RBrace)) {
        if (tok_.kind == Tok::End) fail_expected("'}' closing extern \"" + language + "\" {");
        parse_external_declaration(xp);
    }
}

void Parser::parse_declaration(ExternPython xp) {
    Specifiers specs = parse_specifiers(SpecifierContext::Declaration);
    if (tok_.kind == Tok::Semicolon) {
        declare_tag_only(specs);
        advance();
        return;
    }
    TypeExprKind base_kind = specs.base->kind;
    bool dots_type = base_kind == TypeExprKind::DotsInteger ||
                     base_kind == TypeExprKind::DotsFloat || base_kind == TypeExprKind::DotsOpaque;
    if (dots_type && !specs.is_typedef)
        fail(specs.first,
             "'...' types are only allowed in a typedef, as in `typedef int... name;`");
    for (bool first = true;; first = false) {
        Declarator d = parse_declarator(DeclaratorContext::Named, specs.attrs.abi);
        parse_declarator_tail(d);
        bool is_function = !d.ops.empty() && d.ops.back().kind == TypeExprKind::Function;
        bool is_definition = tok_.kind == Tok::LBrace && is_function;
        // A `static` function defined in a header (curl's typecheck-gcc.h) is skipped as an
        // inline one: no other file sees its symbol either.
        bool skippable = specs.is_inline || (specs.is_static && recovery_);
        if (is_definition && (!skippable || specs.is_typedef || !first)) {
            CDefError e = error_at(
                source_, offset_of(tok_), tok_.pos,
                "function bodies are not supported in cdef: declare the function without its "
                "body (only the bodies of inline functions, as found in system headers, are "
                "skipped)");
            throw e.with_cffi_text(CffiText::GivenAtLine,
                                   "unexpected <FuncDef>: this construct is valid C but not "
                                   "valid in cdef()");
        }
        Declaration decl;
        if (is_definition) decl.inline_in = markers_.empty() ? "<cdef>" : markers_.back().file;
        decl.kind = specs.is_typedef ? DeclKind::Typedef
                    : is_function    ? DeclKind::Function
                                     : DeclKind::Variable;
        decl.pos = d.name.pos;
        decl.name = std::string(d.name.text);
        decl.type = build_type(declared_base(specs, d.attrs), d);
        decl.asm_name = std::move(d.asm_name);
        decl.attributes = specs.attrs.cffix;
        decl.extern_python = xp;
        decl.is_static = specs.is_static;
        if (specs.is_typedef) decl.typedef_aligned = std::max(specs.attrs.aligned, d.attrs.aligned);
        if (tok_.kind == Tok::Assign) parse_initializer(decl, specs.is_typedef);
        // extern "Python" declares functions that Python implements; `fn_t f;` may be one
        // (fn_t a function typedef: the sink knows), a pointer or array never is.
        bool maybe_function =
            decl.kind == DeclKind::Function || (decl.kind == DeclKind::Variable && d.ops.empty() &&
                                                specs.base->kind == TypeExprKind::Named);
        if (xp != ExternPython::No && !specs.is_typedef && !maybe_function)
            fail(d.name, "cannot declare constants or variables with extern \"Python\"");
        if (is_definition) {
            skip_function_body();
            emit(std::move(decl), d.name);
            return;  // a function definition ends the declaration: no ';'
        }
        emit(std::move(decl), d.name);
        if (!accept(Tok::Comma)) break;
    }
    expect(Tok::Semicolon, "';' after declaration");
}

// At '=' after a declarator: `static const T NAME = value;` declares a constant, as cffi
// takes it. An integer constant expression is evaluated here (the sink checks that T is an
// integer type and converts the value to it). Any other initializer (`42.5`, `{1, 2}`, a
// string) is skipped: for a T that is not an integer type the constant's value is the
// compiler's business (API mode), and the error the integer evaluation gave is kept in
// the declaration for the sink to raise if T turns out to be an integer type.
void Parser::parse_initializer(Declaration& decl, bool is_typedef) {
    if (is_typedef) fail(tok_, "a typedef cannot have an initializer");
    if (decl.kind != DeclKind::Variable) {
        fail(tok_, "unsupported initializer for '" + decl.name + "'" + kInitializerHint);
    }
    advance();  // '='
    Lexer start_lex = lex_;
    Token start = tok_;
    decl.kind = DeclKind::Constant;
    try {
        if (tok_.kind == Tok::LBrace || tok_.kind == Tok::StringLiteral)
            fail(tok_, "unsupported initializer " + describe_token(tok_) + kInitializerHint);
        ConstValue value;
        try {
            value = parse_constant_expression();
        } catch (const CDefError& e) {
            throw CDefError(
                e.message() + " in the initializer of '" + decl.name + "'" + kInitializerHint,
                e.pos(), e.source_line(), e.caret());
        }
        if (tok_.kind != Tok::Comma && tok_.kind != Tok::Semicolon) {
            fail(tok_, "unexpected " + describe_token(tok_) + " in the initializer of '" +
                           decl.name + "'" + kInitializerHint);
        }
        decl.constant_value = value.value;
        return;
    } catch (const CDefError&) {
        decl.initializer_error = std::current_exception();
    }
    lex_ = start_lex;
    tok_ = start;
    skip_initializer();
}

// An initializer of any form, up to the ',' or ';' that ends it: brackets must balance.
void Parser::skip_initializer() {
    std::vector<Tok> closers;
    while (!closers.empty() || (tok_.kind != Tok::Comma && tok_.kind != Tok::Semicolon)) {
        switch (tok_.kind) {
            case Tok::End: fail_expected("';' after the initializer");
            case Tok::LParen: closers.push_back(Tok::RParen); break;
            case Tok::LBracket: closers.push_back(Tok::RBracket); break;
            case Tok::LBrace: closers.push_back(Tok::RBrace); break;
            case Tok::RParen:
            case Tok::RBracket:
            case Tok::RBrace:
                if (closers.empty() || closers.back() != tok_.kind)
                    fail(tok_, "unbalanced " + describe_token(tok_) + " in an initializer");
                closers.pop_back();
                break;
            default: break;
        }
        if (closers.size() > static_cast<size_t>(kMaxDepth))
            fail(tok_, "initializer nested too deeply");
        advance();
    }
}

// The body of an inline function definition, from '{' to its matching '}', skipped
// token by token (no recursion, so any nesting depth is fine). Such functions are then
// declared as their prototype would be: in API mode the generated C code can call them;
// in ABI mode they usually have no symbol in the library, so using one fails when the
// library is asked for it, as for any missing function. glibc's <stdlib.h>,
// <sys/socket.h> (`__bswap_16`...) and zlib.h bring such definitions in.
void Parser::skip_function_body() {
    Token open = tok_;
    lex_.set_unchecked_numbers(true);
    for (size_t depth = 0;;) {
        if (tok_.kind == Tok::End) fail(open, "unterminated function body: '{' is never closed");
        depth += tok_.kind == Tok::LBrace;
        if (tok_.kind == Tok::RBrace && --depth == 0) break;
        advance();
    }
    lex_.set_unchecked_numbers(false);
    advance();  // past the final '}'
}

// `struct foo;`, `struct foo { ... };`, `enum { A, B };`: a declaration without declarator.
void Parser::declare_tag_only(const Specifiers& specs) {
    TypeExprKind kind = specs.base->kind;
    if (kind != TypeExprKind::Struct && kind != TypeExprKind::Union && kind != TypeExprKind::Enum)
        fail(specs.first, "declaration does not declare anything");
    Declaration decl;
    decl.kind = DeclKind::TagOnly;
    decl.pos = specs.base->pos;
    decl.name = specs.base->name;
    decl.type = specs.base;
    emit(std::move(decl), specs.first);
}

// ---------------------------------------------------------------------------------------
// #define NAME value, _Static_assert, string literals

// At a Define token (called from advance() only). Ends on the raw token after the line.
void Parser::parse_define() {
    Token name = tok_;
    int outer_unevaluated = std::exchange(unevaluated_, 0);  // a #define inside an expression
    tok_ = lex_.next();
    Declaration decl;
    decl.kind = DeclKind::Constant;
    decl.pos = name.pos;
    decl.name = std::string(name.text);
    try {
        parse_define_value(decl, name);
    } catch (CDefError& e) {
        throw e.with_cffi_text(CffiText::Given, cffi_define_error(name));
    }
    unevaluated_ = outer_unevaluated;
    emit(std::move(decl), name);
    tok_ = lex_.next();  // past DirectiveEnd
}

// cffi's message for a #define it cannot take (it takes `...` and integer literals).
std::string Parser::cffi_define_error(const Token& name) const {
    std::string value;
    size_t i = offset_of(name) + name.text.size();
    while (i < source_.size() && source_[i] != '\n') {
        if (source_[i] == '\\' && i + 1 < source_.size() && source_[i + 1] == '\n') {
            i += 2;
            continue;
        }
        value += source_[i++];
    }
    size_t b = value.find_first_not_of(" \t\r\f\v");
    value = b == std::string::npos ? std::string() : value.substr(b);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())))
        value.pop_back();
    constexpr size_t kMaxShown = 160;  // cffi shows it all; a generated line may be huge
    if (value.size() > kMaxShown) {
        size_t cut = kMaxShown;
        while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xc0) == 0x80) --cut;
        value = value.substr(0, cut) + "...";
    }
    std::string n(name.text);
    return "only supports one of the following syntax:\n  #define " + n +
           " ...     (literally dot-dot-dot)\n  #define " + n +
           " NUMBER  (with NUMBER an integer constant, decimal/hex/octal)\ngot:\n  #define " + n +
           " " + value;
}

void Parser::parse_define_value(Declaration& decl, const Token& name) {
    std::string macro = "#define " + std::string(name.text);
    if (tok_.kind == Tok::Ellipsis && peek().kind == Tok::DirectiveEnd) {
        decl.constant_dots = true;
        tok_ = lex_.next();
        return;
    }
    if (tok_.kind == Tok::DirectiveEnd) fail(name, macro + " has no value" + kDefineHint);
    if (tok_.kind == Tok::StringLiteral || tok_.kind == Tok::FloatLiteral) {
        fail(tok_, "unsupported value " + describe_token(tok_) + " for " + macro + kDefineHint);
    }
    ConstValue value;
    try {
        value = parse_constant_expression();
    } catch (const CDefError& e) {
        throw CDefError(e.message() + " in " + macro + kDefineHint, e.pos(), e.source_line(),
                        e.caret());
    }
    if (tok_.kind != Tok::DirectiveEnd) {
        fail(tok_,
             "unexpected " + describe_token(tok_) + " in the value of " + macro + kDefineHint);
    }
    decl.constant_value = value.value;
}

void Parser::parse_static_assert() {
    Token keyword = tok_;
    advance();
    expect(Tok::LParen, "'(' after '" + std::string(keyword.text) + "'");
    ConstValue condition = parse_constant_expression();
    std::string message;
    if (accept(Tok::Comma)) {
        if (tok_.kind != Tok::StringLiteral) fail_expected("a string literal");
        message = parse_string_literals();
    }
    expect(Tok::RParen, "')' closing the static assertion");
    if (condition.value == 0) {
        std::string text =
            message.empty() ? "static assertion failed" : "static assertion failed: " + message;
        // The compiler accepted this header: cffix computed another value than it did.
        if (recovery_) text += " (the C compiler accepts it: a cffix layout bug, please report it)";
        fail(keyword, text);
    }
    expect(Tok::Semicolon, "';' after the static assertion");
}

// Adjacent string literals concatenate ("a" "b" is "ab"), as in C.
std::string Parser::parse_string_literals() {
    std::string out;
    while (tok_.kind == Tok::StringLiteral) {
        append_string_literal(tok_.text, out);
        advance();
    }
    return out;
}

}  // namespace cffix::parse
