// Object-like macros to values (see macro.h).
#include "parse/macro.h"

#include <algorithm>
#include <deque>
#include <optional>
#include <unordered_map>

#include "parse/lexer.h"
#include "parse/literal.h"

namespace cffix::parse {
namespace {

// Bounds on what one macro may expand to, so that `#define A B B`, `#define B C C`...
// cannot take exponential time or memory.
constexpr size_t kMaxExpandedTokens = 4096;
constexpr int kMaxExpansionDepth = 64;

// Thrown while expanding or classifying: the macro is skipped with this reason.
struct Skip {
    std::string reason;
};

struct Macro {
    std::string_view name;  // without the parameter list
    std::string_view body;
    bool function_like = false;
    std::vector<std::string_view> params;  // function-like only
    std::string unexpandable;              // function-like: why it cannot be expanded, or ""
    // Tokens of the body, lexed at first use.
    bool lexed = false;
    std::string lex_error;
    std::vector<Token> tokens;
    // Object-like: the full expansion, once known not to depend on where it is used.
    bool cached = false;
    std::vector<Token> expansion;
};

bool is_string_token(const Token& t) { return t.kind == Tok::StringLiteral; }

bool is_identifier(std::string_view name) {
    if (name.empty() || !has_char_class(name[0], kIdentStart)) return false;
    for (char c : name)
        if (!has_char_class(c, kIdentChar)) return false;
    return true;
}

// The prefix of a string literal token: "", "L", "u", "U" or "u8".
std::string_view string_prefix(const Token& t) { return t.text.substr(0, t.text.find('"')); }

class MacroEvaluator {
public:
    MacroEvaluator(const std::vector<MacroDefinition>& definitions, DeclSink& sink,
                   const GlobalKind& global_kind)
        : sink_(sink), global_kind_(global_kind) {
        macros_.reserve(definitions.size());
        for (const MacroDefinition& d : definitions) {
            Macro m;
            std::string_view name = d.name;
            size_t open = name.find('(');
            m.name = name.substr(0, open);
            while (!m.name.empty() && m.name.back() == ' ') m.name.remove_suffix(1);
            m.body = d.body;
            if (open != std::string_view::npos) {
                m.function_like = true;
                parse_params(name.substr(open + 1), m);
            }
            by_name_[m.name] = macros_.size();  // the last definition wins
            macros_.push_back(std::move(m));
        }
    }

    MacroValue evaluate(size_t index) {
        MacroValue out;
        try {
            Macro& m = macros_[index];
            if (m.function_like) {
                out.text = "function-like macro";
                return out;
            }
            if (!is_identifier(m.name)) throw Skip{"not a macro name"};
            auto last = by_name_.find(m.name);
            if (last->second != index) throw Skip{"redefined later"};
            blocked_.clear();
            active_.clear();
            current_ = index;
            expanded_.clear();
            expand_object(index, expanded_, 0);
            classify(m, expanded_, out);
        } catch (const Skip& s) {
            out.kind = MacroValue::Skipped;
            out.text = s.reason;
        } catch (const CDefError& e) {  // from the sink, outside the parser
            out.kind = MacroValue::Skipped;
            out.text = e.message();
        } catch (const Error& e) {  // a `...` constant: "only known in API mode"
            out.kind = MacroValue::Skipped;
            out.text = e.python_message();
        }
        return out;
    }

private:
    static void parse_params(std::string_view list, Macro& m) {
        size_t close = list.rfind(')');
        if (close == std::string_view::npos) {
            m.unexpandable = "its parameter list is malformed";
            return;
        }
        list = list.substr(0, close);
        while (!list.empty()) {
            size_t comma = list.find(',');
            std::string_view p = list.substr(0, comma);
            size_t b = p.find_first_not_of(" \t");
            size_t e = p.find_last_not_of(" \t");
            p = b == std::string_view::npos ? std::string_view() : p.substr(b, e - b + 1);
            if (p.find("...") != std::string_view::npos) m.unexpandable = "it is variadic";
            if (!p.empty()) m.params.push_back(p);
            if (comma == std::string_view::npos) break;
            list.remove_prefix(comma + 1);
        }
    }

    const std::vector<Token>& tokens_of(Macro& m) {
        if (!m.lexed) {
            m.lexed = true;
            try {
                // A '#' first on a line starts a directive for the cdef lexer: `#x` (a
                // stringified parameter) is lexed after a ';' that is then dropped.
                std::string_view text = m.body;
                bool guarded = text.find('#') != std::string_view::npos;
                if (guarded) text = made_.emplace_back("; " + std::string(m.body));
                Lexer lex(text);
                if (guarded) lex.next();
                for (Token t = lex.next(); t.kind != Tok::End; t = lex.next()) {
                    if (t.kind == Tok::Define || t.kind == Tok::DirectiveEnd)
                        throw CDefError("a directive in a macro body");
                    m.tokens.push_back(t);
                }
            } catch (const CDefError& e) {
                m.lex_error = e.message();
                m.tokens.clear();
            }
            if (m.function_like && m.unexpandable.empty() && !m.tokens.empty() &&
                (m.tokens.front().kind == Tok::HashHash || m.tokens.back().kind == Tok::HashHash))
                m.unexpandable = "'##' at either end of its body";
        }
        if (!m.lex_error.empty())
            throw Skip{
                (&m == &macros_[current_] ? "" : "uses macro " + std::string(m.name) + ", which ") +
                std::string("cannot be tokenized: ") + m.lex_error};
        return m.tokens;
    }

    bool is_active(size_t index) const {
        for (size_t a : active_)
            if (a == index) return true;
        return false;
    }

    // Appends the expansion of object-like macro `index` to `out`.
    void expand_object(size_t index, std::vector<Token>& out, int depth) {
        Macro& m = macros_[index];
        if (!m.cached) {
            size_t blocked_before = blocked_.size();
            const std::vector<Token>& body = tokens_of(m);
            std::vector<Token> expansion;
            active_.push_back(index);
            expand(body, expansion, depth + 1);
            active_.pop_back();
            if (blocked_.size() != blocked_before) {  // depends on where it is expanded
                for (const Token& e : expansion) push(out, e);
                return;
            }
            m.cached = true;
            m.expansion = std::move(expansion);
        }
        if (out.size() + m.expansion.size() > kMaxExpandedTokens)
            throw Skip{"expands to more than " + std::to_string(kMaxExpandedTokens) + " tokens"};
        out.insert(out.end(), m.expansion.begin(), m.expansion.end());
    }

    void push(std::vector<Token>& out, const Token& t) {
        if (out.size() >= kMaxExpandedTokens)
            throw Skip{"expands to more than " + std::to_string(kMaxExpandedTokens) + " tokens"};
        out.push_back(t);
    }

    // Expands `in` into `out`: object-like macros by their expansion, function-like ones
    // followed by '(' by their body with the arguments (themselves expanded) substituted.
    void expand(const std::vector<Token>& in, std::vector<Token>& out, int depth) {
        if (depth > kMaxExpansionDepth) throw Skip{"macro expansion nested too deeply"};
        for (size_t i = 0; i < in.size(); ++i) {
            const Token& t = in[i];
            auto found = t.kind == Tok::Identifier ? by_name_.find(t.text) : by_name_.end();
            if (found == by_name_.end()) {
                push(out, t);
                continue;
            }
            size_t j = found->second;
            if (is_active(j)) {  // C leaves a macro's name inside its own expansion as is
                blocked_.push_back(macros_[j].name);
                push(out, t);
                continue;
            }
            Macro& m = macros_[j];
            if (!m.function_like) {
                expand_object(j, out, depth);
                continue;
            }
            if (i + 1 >= in.size() || in[i + 1].kind != Tok::LParen) {
                push(out, t);  // the name of a function-like macro without '(': no call
                continue;
            }
            tokens_of(m);
            if (!m.unexpandable.empty())
                throw Skip{"uses function-like macro " + std::string(m.name) + " (" +
                           m.unexpandable + ")"};
            std::vector<std::vector<Token>> args;
            i = collect_arguments(in, i + 1, args);
            if (args.size() == 1 && args[0].empty() && m.params.empty()) args.clear();
            if (args.size() != m.params.size())
                throw Skip{"calls function-like macro " + std::string(m.name) + " with " +
                           std::to_string(args.size()) + " arguments instead of " +
                           std::to_string(m.params.size())};
            std::vector<std::vector<Token>> expanded(args.size());
            for (size_t a = 0; a < args.size(); ++a) expand(args[a], expanded[a], depth + 1);
            std::vector<Token> substituted = substitute(m, args, expanded);
            active_.push_back(j);
            expand(substituted, out, depth + 1);
            active_.pop_back();
        }
    }

    static int param_index(const Macro& m, const Token& t) {
        if (t.kind != Tok::Identifier) return -1;
        for (size_t p = 0; p < m.params.size(); ++p)
            if (t.text == m.params[p]) return static_cast<int>(p);
        return -1;
    }

    // The body of function-like macro `m` with its parameters replaced: by the expanded
    // argument, by the argument as written next to `##` (which pastes two tokens into
    // one), by a string literal of the argument after `#`.
    std::vector<Token> substitute(const Macro& m, const std::vector<std::vector<Token>>& args,
                                  const std::vector<std::vector<Token>>& expanded) {
        std::vector<Token> result;
        bool paste_next = false;
        const std::vector<Token>& body = m.tokens;
        for (size_t k = 0; k < body.size(); ++k) {
            const Token& b = body[k];
            if (b.kind == Tok::HashHash) {
                paste_next = true;
                continue;
            }
            std::vector<Token> piece;
            int p = param_index(m, b);
            if (b.kind == Tok::Hash && k + 1 < body.size() && param_index(m, body[k + 1]) >= 0) {
                piece.push_back(stringify(args[static_cast<size_t>(param_index(m, body[++k]))]));
            } else if (p >= 0) {
                bool raw = paste_next || (k + 1 < body.size() && body[k + 1].kind == Tok::HashHash);
                piece = raw ? args[static_cast<size_t>(p)] : expanded[static_cast<size_t>(p)];
            } else {
                piece.push_back(b);
            }
            size_t from = 0;
            if (paste_next && !result.empty() && !piece.empty()) {
                result.back() = paste(result.back(), piece.front());
                from = 1;
            }
            for (size_t e = from; e < piece.size(); ++e) push(result, piece[e]);
            paste_next = false;
        }
        return result;
    }

    // A token made of text cffix writes (pasted or stringified), kept for the whole pass.
    Token made_token(std::string text, const char* what) {
        made_.push_back(std::move(text));
        try {
            Lexer lex(made_.back());
            Token t = lex.next();
            if (t.kind != Tok::End && t.kind != Tok::Define && lex.next().kind == Tok::End)
                return t;
        } catch (const CDefError&) {
        }
        throw Skip{std::string(what) + " '" + made_.back() + "' is not one valid token"};
    }

    Token paste(const Token& a, const Token& b) {
        return made_token(std::string(a.text) + std::string(b.text), "'##' gives");
    }

    Token stringify(const std::vector<Token>& arg) {
        std::string text = "\"";
        for (size_t i = 0; i < arg.size(); ++i) {
            const Token& t = arg[i];
            if (i > 0 && arg[i - 1].text.data() + arg[i - 1].text.size() != t.text.data())
                text += ' ';  // (tokens written apart stay apart)
            bool quoted = t.kind == Tok::StringLiteral || t.kind == Tok::CharLiteral;
            for (char c : t.text) {
                if (quoted && (c == '"' || c == '\\')) text += '\\';
                text += c;
            }
        }
        return made_token(text + "\"", "'#' gives");
    }

    // The arguments of a call whose '(' is at in[open]; returns the index of its ')'.
    static size_t collect_arguments(const std::vector<Token>& in, size_t open,
                                    std::vector<std::vector<Token>>& args) {
        int nesting = 0;
        args.emplace_back();
        for (size_t i = open + 1; i < in.size(); ++i) {
            const Token& t = in[i];
            if (t.kind == Tok::RParen && nesting == 0) return i;
            if (t.kind == Tok::LParen) ++nesting;
            if (t.kind == Tok::RParen) --nesting;
            if (t.kind == Tok::Comma && nesting == 0) {
                args.emplace_back();
                continue;
            }
            args.back().push_back(t);
        }
        throw Skip{"a call of a function-like macro without its closing ')'"};
    }

    // ---------------------------------------------------------------------------------
    // What the expansion is

    void classify(const Macro& m, const std::vector<Token>& tokens, MacroValue& out) {
        if (tokens.empty()) throw Skip{"empty body"};
        const Token& first = tokens.front();
        if (first.kind == Tok::KwAttribute || first.kind == Tok::KwDeclspec)
            throw Skip{"an attribute"};
        if (first.kind == Tok::KwAsm) throw Skip{"an asm statement or label"};
        if (std::all_of(tokens.begin(), tokens.end(), is_string_token)) {
            bool wide = false;
            for (const Token& t : tokens) {
                std::string_view prefix = string_prefix(t);
                wide = wide || (!prefix.empty() && prefix != "u8");
                append_string_literal(t.text, out.text);
            }
            out.kind = wide ? MacroValue::Text : MacroValue::Bytes;
            return;
        }
        for (const Token& t : tokens) refuse_non_value(t);
        if (first.kind == Tok::KwAttribute || first.kind == Tok::KwDeclspec)
            throw Skip{"an attribute"};
        if (first.kind == Tok::KwAsm) throw Skip{"an asm statement or label"};
        if (is_type_keyword(first.kind) || first.kind == Tok::KwStruct ||
            first.kind == Tok::KwUnion || first.kind == Tok::KwEnum || first.kind == Tok::KwConst ||
            first.kind == Tok::KwVolatile || first.kind == Tok::KwFloatN ||
            (first.kind == Tok::Identifier && tokens.size() <= 3 && type_name(first.text)))
            throw Skip{"a type, not a value"};
        if (is_keyword(first.kind) && first.kind != Tok::KwSizeof && first.kind != Tok::KwAlignof &&
            first.kind != Tok::KwExtension)
            throw Skip{"the keyword '" + std::string(first.text) + "'"};
        if (tokens.size() == 1 && first.kind == Tok::IntLiteral) {  // most macros: no parser
            IntLiteral literal = decode_int_literal(first.text);
            if (literal.error.empty() && !literal.too_large) {
                out.number = typed_int_literal(literal);
                out.kind = MacroValue::Integer;
                return;
            }
        }
        if (tokens.size() == 1 && first.kind == Tok::Identifier) alias(m, first);
        int nesting = 0;
        for (const Token& t : tokens) {
            nesting += t.kind == Tok::LParen ? 1 : t.kind == Tok::RParen ? -1 : 0;
            if (t.kind == Tok::Comma && nesting == 0)
                throw Skip{"a comma-separated list, not a value"};
        }
        for (size_t i = 0; i + 1 < tokens.size(); ++i)
            if (tokens[i].kind == Tok::Identifier && tokens[i + 1].kind == Tok::LParen &&
                !type_name(tokens[i].text))
                call(tokens[i]);
        std::string text;
        for (const Token& t : tokens) {
            if (!text.empty()) text += ' ';
            text += t.text;
        }
        try {
            out.number = Parser(text, sink_).parse_standalone_macro_value();
        } catch (const CDefError& e) {
            std::string reason = e.message();
            static constexpr std::string_view kUnknown = "unknown constant '";
            if (reason.starts_with(kUnknown)) {
                std::string name = reason.substr(
                    kUnknown.size(), reason.find('\'', kUnknown.size()) - kUnknown.size());
                for (std::string_view b : blocked_)
                    if (b == name) throw Skip{"recursive macro: " + name + " expands to itself"};
                throw Skip{"unknown identifier " + name};
            }
            throw Skip{reason};
        }
        out.kind = out.number.is_float ? MacroValue::Floating : MacroValue::Integer;
    }

    static void refuse_non_value(const Token& t) {
        switch (t.kind) {
            case Tok::Semicolon:
            case Tok::LBrace:
            case Tok::RBrace:
            case Tok::Assign:
            case Tok::CompoundAssign:
            case Tok::PlusPlus:
            case Tok::MinusMinus: throw Skip{"a statement or an initializer, not a value"};
            case Tok::Hash:
            case Tok::HashHash: throw Skip{"uses # or ##"};
            case Tok::StringLiteral: throw Skip{"mixes a string literal with other tokens"};
            case Tok::KwTypedef:
            case Tok::KwExtern:
            case Tok::KwStatic: throw Skip{"a declaration, not a value"};
            default: return;
        }
    }

    bool type_name(std::string_view name) {
        try {
            return sink_.is_type_name(name);
        } catch (const Error&) {
            return false;
        }
    }

    // A macro that is another name: a constant (evaluated as an expression), or else a
    // function or variable (its own lib attribute already), or nothing known.
    void alias(const Macro& m, const Token& name) {
        if (constant_known(name.text)) return;
        auto macro = by_name_.find(name.text);
        if (macro != by_name_.end() && macros_[macro->second].function_like)
            throw Skip{"an alias of the function-like macro " + std::string(name.text)};
        if (const char* kind = global_kind_(name.text)) {
            if (name.text == m.name)
                throw Skip{std::string("names the ") + kind + " " + std::string(name.text) +
                           " itself"};
            throw Skip{std::string("an alias of the ") + kind + " " + std::string(name.text)};
        }
    }

    bool constant_known(std::string_view name) {
        try {
            return sink_.constant_value(name).has_value();
        } catch (const Error&) {
            return true;  // declared, its value unknown: the evaluation says so
        }
    }

    // `name(` left after expansion: a function call or a macro not given (or not
    // expandable), never a constant.
    void call(const Token& name) {
        const char* kind = global_kind_(name.text);
        if (kind && std::string_view(kind) == "function")
            throw Skip{"calls the function " + std::string(name.text)};
        throw Skip{"uses function-like macro " + std::string(name.text)};
    }

    DeclSink& sink_;
    const GlobalKind& global_kind_;
    std::vector<Macro> macros_;
    std::unordered_map<std::string_view, size_t> by_name_;
    std::deque<std::string> made_;           // the text of pasted and stringified tokens
    std::vector<Token> expanded_;            // the expansion of the macro being evaluated
    std::vector<size_t> active_;             // the macros being expanded, outermost first
    std::vector<std::string_view> blocked_;  // names left unexpanded inside themselves
    size_t current_ = 0;                     // the macro being evaluated
};

}  // namespace

std::vector<MacroValue> evaluate_macros(const std::vector<MacroDefinition>& macros, DeclSink& sink,
                                        const GlobalKind& global_kind) {
    MacroEvaluator evaluator(macros, sink, global_kind);
    std::vector<MacroValue> values;
    values.reserve(macros.size());
    for (size_t i = 0; i < macros.size(); ++i) values.push_back(evaluator.evaluate(i));
    return values;
}

}  // namespace cffix::parse
