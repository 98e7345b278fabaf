// Scope: turning parsed declarations into CTypes and remembering them.
#include "types/scope.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "parse/cffi_type_string.h"
#include "util/errors.h"
#include "util/ft.h"

namespace cffix::types {

using parse::ConstInt;
using parse::Declaration;
using parse::DeclKind;
using parse::TypeExpr;
using parse::TypeExprKind;

namespace {

CTypeRef owned(CType* t) { return CTypeRef(t); }
CTypeRef borrowed(CType* t) { return CTypeRef::borrow(t); }

[[noreturn]] void cdef_error(const std::string& message, parse::SourcePos pos) {
    throw parse::CDefError(message, pos);
}

// An error cffi raises with the same words, after the file and line of the declaration.
[[noreturn]] void cffi_cdef_error(const std::string& message, parse::SourcePos pos) {
    parse::CDefError e(message, pos);
    throw e.with_cffi_text(parse::CffiText::GivenAtLine, message);
}

// __builtin_va_list: opaque too (only passed around by pointer in cdefs).
CType* va_list_type() {
    static CType* t = nullptr;
    return ft::made_once(t, [] {
        CType* f = new_record_type(Kind::Struct, "__builtin_va_list");
        f->flags |= RF_OPAQUE_TYPEDEF;
        return f;
    });
}

// Whether a function's C type differs from its CTypes' (which drop qualifiers) where C
// does not convert: a qualifier two pointer levels down (`const char **`), or inside a
// function pointer's signature (`int (*)(const int *)`). `const char *` alone converts.
bool qualified_below(const TypeExpr& e, int levels = 0, bool in_pointee_function = false) {
    if ((e.is_const || e.is_volatile) && (levels >= 2 || (in_pointee_function && levels >= 1)))
        return true;
    switch (e.kind) {
        case TypeExprKind::Pointer:
        case TypeExprKind::Array: return qualified_below(*e.item, levels + 1, in_pointee_function);
        case TypeExprKind::Function: {
            bool nested = in_pointee_function || levels > 0;
            // A parameter written as a function is a function pointer (C adjusts it).
            for (const parse::Param& p : e.params)
                if (qualified_below(*p.type, p.type->kind == TypeExprKind::Function, nested))
                    return true;
            return e.item && qualified_below(*e.item, 0, nested);
        }
        default: return false;
    }
}

// The integer type of `size` bytes and the given signedness, for what the C compiler
// reports (`typedef int... t;`, enums with `...`).
CType* integer_of_size(int64_t size, bool is_signed, const std::string& what) {
    const char* name = nullptr;
    switch (size) {
        case 1: name = is_signed ? "int8_t" : "uint8_t"; break;
        case 2: name = is_signed ? "int16_t" : "uint16_t"; break;
        case 4: name = is_signed ? "int32_t" : "uint32_t"; break;
        case 8: name = is_signed ? "int64_t" : "uint64_t"; break;
    }
    if (!name)
        throw Error(ErrorKind::VerificationError,
                    what + ": the C compiler says it has " + std::to_string(size) +
                        " bytes, which is no integer type cffix knows");
    return primitive_type(name);
}

// `T x[...]` (a global or a member) once the C compiler gave its size in bytes.
CType* array_of_size(CType* item, int64_t size, const std::string& what) {
    complete_type(item, true);
    if (item->size <= 0 || size < 0 || size % item->size != 0)
        throw Error(ErrorKind::VerificationError,
                    what + ": the C compiler says it has " + std::to_string(size) +
                        " bytes, which is no array of '" + item->cname + "'");
    return array_type(item, size / item->size);
}

// Bit k set: the array level k of `e` (0: outermost) has the length `...`, which the C
// compiler gives (`int a[...][...]`, `int a[][...]`).
uint32_t dots_levels(const TypeExpr& e) {
    uint32_t bits = 0;
    int k = 0;
    for (const TypeExpr* a = &e; a->kind == TypeExprKind::Array; a = a->item.get(), ++k) {
        if (a->array_kind != parse::ArrayKind::Dots) continue;
        if (k >= 32) cdef_error("'[...]' nested too deeply", a->pos);
        bits |= 1u << k;
    }
    return bits;
}

// Whether `t` holds an array of arrays of unknown length (array_of_open_arrays).
bool has_open_array(const CType* t) {
    switch (t->kind) {
        case Kind::Pointer: return has_open_array(t->item);
        case Kind::Array:
            return (t->item->kind == Kind::Array && t->item->length < 0) || has_open_array(t->item);
        case Kind::Function:
            return has_open_array(t->item) ||
                   std::any_of(t->args.begin(), t->args.end(), has_open_array);
        default: return false;
    }
}

bool is_integer_like(const CType* t) {
    return t->kind == Kind::Enum ||
           (t->kind == Kind::Primitive && (t->flags & (PF_INTEGER | PF_CHAR | PF_BOOL)));
}

bool same_type(const CType* a, const CType* b);

bool same_record_body(const CType* a, const CType* b) {
    if (a->kind != b->kind || !a->record || !b->record) return false;
    const auto& ma = a->record->members;
    const auto& mb = b->record->members;
    if (ma.size() != mb.size()) return false;
    for (size_t i = 0; i < ma.size(); ++i) {
        if (ma[i].name != mb[i].name || !same_type(ma[i].type, mb[i].type) ||
            ma[i].bitsize != mb[i].bitsize || ma[i].aligned != mb[i].aligned ||
            ma[i].packed != mb[i].packed)
            return false;
    }
    return a->record->packed == b->record->packed && a->record->pack == b->record->pack &&
           a->record->aligned == b->record->aligned;
}

// C forbids two members of one name in a struct or union, counting the members of its
// anonymous struct/union members (gcc: "duplicate member"; cffi accepts it, and the later
// member hides the earlier one).
void check_member_names(const RecordDecl& rec,
                        std::unordered_map<std::string_view, parse::SourcePos>& seen) {
    for (const MemberDecl& m : rec.members) {
        if (m.name.empty()) {
            bool anonymous_record =
                (m.type->kind == Kind::Struct || m.type->kind == Kind::Union) && m.type->record;
            if (anonymous_record) check_member_names(*m.type->record, seen);
            continue;
        }
        auto [it, inserted] = seen.emplace(m.name, m.pos);
        if (!inserted)
            cdef_error("duplicate member '" + m.name + "' (the first one is at line " +
                           std::to_string(it->second.line) + ", column " +
                           std::to_string(it->second.column) + ")",
                       m.pos);
    }
}

bool same_enum_body(const CType* a, const CType* b) {
    if (a->enumerators.size() != b->enumerators.size()) return false;
    for (size_t i = 0; i < a->enumerators.size(); ++i)
        if (a->enumerators[i].name != b->enumerators[i].name ||
            a->enumerators[i].value != b->enumerators[i].value)
            return false;
    return true;
}

// Two declarations of one name are "identical" when they denote the same type; an
// anonymous struct redeclared with the same body counts as the same.
bool same_type(const CType* a, const CType* b) {
    if (a == b) return true;
    if (a->kind != b->kind) return false;
    if (a->kind == Kind::Struct || a->kind == Kind::Union) return same_record_body(a, b);
    if (a->kind == Kind::Enum) return same_enum_body(a, b);
    return false;
}

// The integer type gcc gives an enum with these values.
CType* enum_integer_type(const std::vector<Enumerator>& values, bool packed) {
    ConstInt lo = 0, hi = 0;
    for (const auto& e : values) {
        lo = std::min(lo, e.value);
        hi = std::max(hi, e.value);
    }
    const char* name;
    if (packed && lo >= INT16_MIN && hi <= UINT16_MAX) {  // gcc: the smallest type that fits
        if (lo < 0)
            name = lo >= INT8_MIN && hi <= INT8_MAX ? "signed char"
                   : hi <= INT16_MAX                ? "short"
                                                    : "int";
        else
            name = hi <= UINT8_MAX ? "unsigned char" : "unsigned short";
    } else if (lo < 0) {
        if (lo >= INT32_MIN && hi <= INT32_MAX)
            name = "int";
        else if (lo >= INT64_MIN && hi <= INT64_MAX)
            name = "long long";
        else
            throw Error(ErrorKind::OverflowError, "enum values do not fit in 64 bits");
    } else if (hi <= UINT32_MAX) {
        name = "unsigned int";
    } else if (hi <= static_cast<ConstInt>(UINT64_MAX)) {
        name = "unsigned long long";
    } else {
        throw Error(ErrorKind::OverflowError, "enum values do not fit in 64 bits");
    }
    return primitive_type(name);
}

// `static const T NAME = value;` (the parser hands it over as a Constant with a type):
// the value converted to T as C converts an initializer, so that `static const unsigned
// char X = 300;` is 44 and `static const unsigned X = -1;` is 4294967295, as in C.
ConstInt initialized_constant(const Declaration& decl, const CType* t, bool raw_function) {
    const CType* integer = t->kind == Kind::Enum ? t->item : t;
    // `typedef int... t;` before the compiler said what t is: the value as written (API
    // mode's generator compares it with C's; at import t is known and it is converted).
    if (!raw_function && t->kind == Kind::Primitive && (t->flags & PF_DOTS) &&
        !(t->flags & PF_FLOAT))
        return decl.constant_value;
    if (raw_function || !is_integer_like(t) || !integer || integer->size <= 0 ||
        integer->size > 8) {
        cdef_error("'" + decl.name + "' is declared with type '" + t->cname +
                       "': only integer constants may have an initializer in cdef",
                   decl.pos);
    }
    if (integer->flags & PF_BOOL) return decl.constant_value != 0;
    int bits = static_cast<int>(integer->size * 8);
    bool is_signed =
        (integer->flags & PF_SIGNED) || ((integer->flags & PF_CHAR) && std::is_signed_v<char>);
    using UConstInt = unsigned __int128;
    UConstInt mask = (static_cast<UConstInt>(1) << bits) - 1;
    UConstInt u = static_cast<UConstInt>(decl.constant_value) & mask;
    ConstInt value = static_cast<ConstInt>(u);
    if (is_signed && ((u >> (bits - 1)) & 1)) value -= static_cast<ConstInt>(1) << bits;
    return value;
}

// The parameter types of a function being resolved, each holding a reference: on the
// stack for the usual few parameters, so resolving a prototype allocates nothing.
class ArgTypes {
public:
    explicit ArgTypes(size_t count) {
        if (count > kInline) heap_.reserve(count);
    }
    ~ArgTypes() {
        for (CType* t : view()) Py_DECREF(t);
    }
    ArgTypes(const ArgTypes&) = delete;
    ArgTypes& operator=(const ArgTypes&) = delete;
    void push(CTypeRef t) {
        if (heap_.empty() && size_ < kInline) {
            inline_[size_++] = t.release();
            return;
        }
        if (heap_.empty()) heap_.assign(inline_, inline_ + size_);
        heap_.push_back(t.release());
    }
    std::span<CType* const> view() const {
        if (heap_.empty()) return {inline_, size_};
        return heap_;
    }

private:
    static constexpr size_t kInline = 8;
    CType* inline_[kInline];
    size_t size_ = 0;
    std::vector<CType*> heap_;  // all of them, once there are more than kInline
};

// "struct foo", "enum e": a tag as C spells it.
std::string tag_name(const char* keyword, std::string_view name) {
    std::string out(keyword);
    out += name;
    return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
            diag = up;
        }
    }
    return row[b.size()];
}

}  // namespace

// FILE is known to cffi without a declaration: one opaque struct for the process.
CType* file_type() {
    static CType* t = nullptr;
    return ft::made_once(t, [] {
        CType* f = new_record_type(Kind::Struct, "FILE");
        f->flags |= RF_OPAQUE_TYPEDEF;
        return f;
    });
}

Scope::Scope() = default;

// The records go back to the cyclic GC (see track_for_gc) before the maps let them go.
Scope::~Scope() {
    for (const auto* map : {&structs_, &unions_})
        for (const auto& [_, t] : *map) track_for_gc(t.get());
}

void Scope::include(const Scope* other) {
    declared();
    other->declared();
    if (other == this) throw Error(ErrorKind::ValueError, "an FFI cannot include itself");
    // Lookups recurse into included scopes: a cycle (b.include(a) after a.include(b))
    // would recurse forever. Walked with an explicit stack: include chains may be long.
    std::vector<const Scope*> todo{other};
    std::unordered_set<const Scope*> seen{other};
    while (!todo.empty()) {
        const Scope* s = todo.back();
        todo.pop_back();
        for (const Scope* inner : s->included_) {
            if (inner == this)
                throw Error(ErrorKind::ValueError,
                            "an FFI cannot include an FFI that includes it (directly or not)");
            if (seen.insert(inner).second) todo.push_back(inner);
        }
    }
    included_.push_back(other);
}

// ---------------------------------------------------------------- cdef

void Scope::cdef_later(std::string_view source, const CdefOptions& options) {
    deferred_.emplace_back(source, options);
}

void Scope::run_deferred() const {
    auto pending = std::move(deferred_);  // taken first: cdef() below finds none
    deferred_.clear();
    auto* self = const_cast<Scope*>(this);  // declaring is the scope's own state
    for (const auto& [source, options] : pending) self->cdef(source, options);
}

// One cdef()/cdef_header() run: its options and pack in force, the GC paused (a cdef makes
// many CTypes and no garbage: the cyclic GC would scan them again and again), `parse`
// called, pending records completed; the per-run state is reset whatever is thrown.
template <typename Parse>
void Scope::run_cdef(const CdefOptions& options, HeaderMode* mode, Parse&& parse) {
    declared();
    options_ = options;
    cdef_pack_ = options.pack;
    ++cdef_serial_;
    bodies_.clear();
    header_ = mode;
    if (mode) header_declared_ = header_refused_ = false;
    struct Reset {
        Scope& s;
        ~Reset() {
            s.bodies_.clear();
            s.options_ = {};
            s.not_own_ = false;
            s.header_ = nullptr;
        }
    } reset{*this};
    struct GCPause {
        int was_enabled = PyGC_Disable();
        ~GCPause() {
            if (was_enabled) PyGC_Enable();
        }
    } pause;
    DeclaringRecords declaring;
    parse();
    complete_pending();
}

void Scope::cdef(std::string_view source, const CdefOptions& options) {
    run_cdef(options, nullptr, [&] { parse::parse_declarations(source, *this); });
}

bool HeaderMode::own(int line) const {
    auto it = std::upper_bound(own_lines.begin(), own_lines.end(), line,
                               [](int l, const std::pair<int, int>& r) { return l < r.first; });
    return it != own_lines.begin() && line <= std::prev(it)->second;
}

// Builds the replay text as the parser leaves each declaration: the text of those that
// declared something, and only the directive lines (line markers, #pragma) of the others.
class Scope::HeaderLog : public parse::RecoveryLog {
public:
    HeaderLog(Scope& scope, std::string_view source) : scope_(scope), source_(source) {}
    // A declaration is replayed unless only=/exclude= refused what it declares (those of
    // headers that are not own are replayed under `#pragma cffix own(0)`).
    void parsed(size_t begin, size_t end) override {
        // A declaration with a refused name is replayed under own(0) (`enum { A, B }` with
        // B refused: neither is a lib name there; better one less than one more).
        append(begin, end, scope_.header_declared_ || !scope_.header_refused_,
               scope_.header_refused_);
        scope_.header_declared_ = scope_.header_refused_ = false;
    }
    void skipped(size_t begin, size_t end, std::string name, std::string message,
                 int line) override {
        scope_.header_->skipped.push_back({std::move(name), std::move(message), line});
        append(begin, end, false);
        scope_.header_declared_ = scope_.header_refused_ = false;
    }

    void macro(std::string_view name, std::string_view body, int line, bool undef) override {
        HeaderMode& mode = *scope_.header_;
        std::string key(name.substr(0, name.find('(')));  // a macro is known by its name
        auto it = mode.macro_index.find(key);
        if (it != mode.macro_index.end()) {
            mode.macros[it->second].live = false;
            mode.macro_index.erase(it);
        }
        if (undef) return;
        mode.macro_index.emplace(std::move(key), mode.macros.size());
        mode.macros.push_back({std::string(name), std::string(body), line, mode.own(line), true});
    }

private:
    // The lines of [begin, end): of a declaration that declared something, every line but
    // the directives plain cdef() does not take (#define, #undef...); of the others, only
    // the line markers and `#pragma pack` lines. `#pragma cffix own(0|1)` lines mark where
    // the text of headers that are not own starts and ends (their functions, globals and
    // constants stay undeclared when the text is replayed).
    void append(size_t begin, size_t end, bool all, bool refused = false) {
        std::string& out = scope_.header_->replay;
        bool at_line_start = begin == 0 || source_[begin - 1] == '\n';
        for (size_t i = begin; i < end;) {
            size_t newline = source_.find('\n', i);
            size_t next = newline == std::string_view::npos || newline >= end ? end : newline + 1;
            std::string_view line = source_.substr(i, next - i);
            bool whole = i > begin || at_line_start;
            size_t first = line.find_first_not_of(" \t");
            bool directive = whole && first != std::string_view::npos && line[first] == '#';
            bool keep_directive = directive && (line.substr(first).starts_with("# ") ||
                                                line.substr(first).starts_with("#pragma pack"));
            if (keep_directive || (all && !directive)) {
                if (all && !directive && first != std::string_view::npos) {
                    bool own = !refused && scope_.header_->own(line_);
                    if (own != emitted_own_) {
                        if (!out.empty() && out.back() != '\n') out += '\n';
                        out += own ? "#pragma cffix own(1)\n" : "#pragma cffix own(0)\n";
                        emitted_own_ = own;
                    }
                }
                if (whole && !out.empty() && out.back() != '\n') out += '\n';
                out.append(line);
                if (directive && out.back() != '\n') out += '\n';
            }
            if (newline != std::string_view::npos && newline < end) ++line_;
            i = next;
        }
    }

    int line_ = 1;  // the physical line of the text being appended
    bool emitted_own_ = true;
    Scope& scope_;
    std::string_view source_;
};

void Scope::cdef_header(std::string_view source, const CdefOptions& options, HeaderMode& mode) {
    run_cdef(options, &mode, [&] {
        HeaderLog log(*this, source);
        parse::parse_declarations_recovering(source, *this, log);
    });
}

void Scope::note_foreign(const CType* t, parse::SourcePos pos) {
    if (header_ && !header_->own(pos.line)) foreign_.insert(t);
}

void Scope::set_pack(uint32_t pack) { options_.pack = pack ? pack : cdef_pack_; }

bool Scope::header_keeps(const std::string& name, parse::SourcePos pos, const char* kind) {
    if (!header_) return !not_own_;
    bool own = header_->own(pos.line);
    bool keep = own && (!header_->keep || header_->keep(name));
    header_refused_ |= own && !keep;
    if (keep) {
        header_declared_ = true;
        header_->kept.emplace_back(kind, name);
    }
    return keep;
}

// The parser frees a declaration's tree after declare(): hold the body so that its
// address (the key) cannot be reused by a later body of the same cdef.
void Scope::remember_body(std::shared_ptr<const void> body, CTypeRef type) {
    // The key is taken first: the arguments of one call are evaluated in no fixed order,
    // and a body moved from before body.get() was keyed null, so that another declarator
    // of the same declaration (`typedef struct {...} t, *p;`) made a second struct.
    const void* key = body.get();
    bodies_.emplace(key, std::make_pair(std::move(body), std::move(type)));
}

void Scope::complete_pending() {
    // Records whose members were declared later in the cdef: retry until no progress;
    // what stays incomplete raises when it is used.
    bool progress = true;
    while (progress && !pending_.empty()) {
        progress = false;
        for (auto it = pending_.begin(); it != pending_.end();) {
            if (complete_type(it->get(), false, false)) {
                it = pending_.erase(it);
                progress = true;
            } else {
                ++it;
            }
        }
    }
}

void Scope::own_tagged_types(std::vector<CType*>& records, std::vector<CType*>& enums) const {
    declared();
    for (const auto* map : {&structs_, &unions_})
        for (const auto& entry : *map)
            if (!foreign_.contains(entry.second.get())) records.push_back(entry.second.get());
    for (const auto& entry : enums_)
        if (!foreign_.contains(entry.second.get())) enums.push_back(entry.second.get());
    auto by_name = [](const CType* a, const CType* b) { return a->cname < b->cname; };
    std::sort(records.begin(), records.end(), by_name);
    std::sort(enums.begin(), enums.end(), by_name);
}

std::vector<std::pair<std::string, bool>> Scope::dots_typedefs() const {
    declared();
    std::vector<std::pair<std::string, bool>> out;
    for (const auto& [name, t] : typedefs_)
        if (t.unusable) out.emplace_back(name, t.unusable[0] == 'i');
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<const CType*> Scope::own_declared_types() const {
    declared();
    std::vector<const CType*> out;
    for (const auto& [name, t] : typedefs_)
        if (t.type) out.push_back(t.type.get());
    for (const auto& [name, f] : functions_) out.push_back(f.type.get());
    for (const auto& [name, v] : variables_) out.push_back(v.type.get());
    for (const auto* tags : {&structs_, &unions_})
        for (const auto& [name, t] : *tags) out.push_back(t.get());
    return out;
}

std::vector<Scope::DotsArrayTypedef> Scope::dots_array_typedefs() const {
    declared();
    std::vector<DotsArrayTypedef> out;
    for (const auto& [name, t] : typedefs_)
        if (t.dots_levels) out.push_back({name, t.dots_levels, t.type.get()});
    std::sort(out.begin(), out.end(),
              [](const DotsArrayTypedef& a, const DotsArrayTypedef& b) { return a.name < b.name; });
    return out;
}

std::string fact_key(FactKind kind, std::string_view name) {
    switch (kind) {
        case FactKind::Record:
        case FactKind::Enum: return std::string(name);
        case FactKind::Typedef: return "typedef " + std::string(name);
        case FactKind::Global: return "global " + std::string(name);
        case FactKind::Member: return "member " + std::string(name);
        case FactKind::Layout: return "layout " + std::string(name);
    }
    return std::string(name);
}

const CompilerFact* Scope::compiler_fact(FactKind kind, std::string_view name) const {
    if (facts_.empty()) return nullptr;
    auto it = facts_.find(fact_key(kind, name));
    return it == facts_.end() ? nullptr : &it->second;
}

// The use of a `typedef int t[...];` still waiting for the compiler's lengths in `e`.
const parse::TypeExpr* Scope::open_typedef_in(const parse::TypeExpr& e) const {
    switch (e.kind) {
        case TypeExprKind::Named: {
            const TypedefDecl* t = find_typedef(e.name);
            return t && t->dots_levels ? &e : nullptr;
        }
        case TypeExprKind::Pointer:
        case TypeExprKind::Array: return open_typedef_in(*e.item);
        case TypeExprKind::Function:
            for (const parse::Param& p : e.params)
                if (const parse::TypeExpr* hit = open_typedef_in(*p.type)) return hit;
            return open_typedef_in(*e.item);
        default: return nullptr;
    }
}

// A function type's C text without the pointer: 'int(long)', 'int()' (cffi's spelling).
static std::string function_text(const CType* fn) {
    std::string text = fn->cname;
    size_t star = text.find("(*)");
    if (star != std::string::npos) text.erase(star, 3);
    return text;
}

// cffi's declarations as its C type-string parser looks them up (this scope's and the
// included ones').
class Scope::CffiNames : public parse::CffiTypeNames {
public:
    explicit CffiNames(Scope& scope) : scope_(scope) {}
    bool is_type_name(std::string_view name) const override { return scope_.is_type_name(name); }
    Tag record_tag(std::string_view name) const override {
        if (scope_.find_tag(TypeExprKind::Struct, name)) return Tag::Struct;
        if (scope_.find_tag(TypeExprKind::Union, name)) return Tag::Union;
        return Tag::None;
    }
    bool is_enum_tag(std::string_view name) const override {
        return scope_.find_tag(TypeExprKind::Enum, name) != nullptr;
    }
    std::optional<ConstInt> integer_constant(std::string_view name) const override {
        const ConstantDecl* c = scope_.find_constant(name);
        return c ? std::optional<ConstInt>(c->value) : std::nullopt;
    }

private:
    Scope& scope_;
};

CTypeRef Scope::parse_type(std::string_view text) {
    declared();
    if (!refuse_undeclared_tags_) return resolve_type_string(text);
    // The ffi of an API-mode module (and _cffi_backend.FFI()): where cffi's C parser
    // refuses the text, its message (with the text and a caret) is str(exc), cffix's
    // detail goes to the notes.
    try {
        return resolve_type_string(text);
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::CDefError && e.kind() != ErrorKind::FFIError) throw;
        std::optional<parse::CffiTypeError> cffi =
            parse::cffi_type_string_error(text, CffiNames(*this));
        if (!cffi) throw;
        Error restated(e.kind(), parse::cffi_type_error_text(text, *cffi));
        std::string detail = e.python_message();
        if (detail != restated.what()) restated.add_note(detail);
        for (std::string& note : e.notes()) restated.add_note(std::move(note));
        for (unsigned k = 0; k < 32; ++k)
            if (e.also() & (1u << k)) restated.also_is(static_cast<ErrorKind>(k));
        throw restated;
    }
}

CTypeRef Scope::resolve_type_string(std::string_view text) {
    parse::TypeExprPtr expr = parse::parse_type_name(text, *this);
    struct Restore {
        std::string_view& field;
        ~Restore() { field = {}; }
    } restore{type_string_};
    type_string_ = text;
    Resolved r = resolve(*expr);
    if (r.raw_function) {  // cffi.FFI names the text, the ffi of an API-mode module the type
        std::string name =
            refuse_undeclared_tags_ ? function_text(r.type.get()) : std::string(text);
        throw Error(ErrorKind::CDefError, "the type '" + name +
                                              "' is a function type, not a "
                                              "pointer-to-function type");
    }
    if (const parse::TypeExpr* named = open_typedef_in(*expr))
        throw Error(ErrorKind::CDefError, "'" + std::string(named->name) +
                                              "' is an array whose length '...' only the C "
                                              "compiler knows: it is usable in API mode");
    CType* t = r.type.get();
    if (has_open_array(t))
        throw Error(ErrorKind::CDefError,
                    "'" + std::string(text) +
                        "': an array of arrays of length '...' is only usable in a cdef");
    if ((t->kind == Kind::Struct || t->kind == Kind::Union || t->kind == Kind::Enum) &&
        (t->flags & RF_PARTIAL))
        throw Error(ErrorKind::VerificationMissing, t->cname);
    if (const CType* dots = unresolved_part(t)) throw_unresolved(dots);
    return r.type;
}

// ---------------------------------------------------------------- DeclSink

const Scope::TypedefDecl* Scope::find_typedef(std::string_view name) const {
    auto it = typedefs_.find(name);
    if (it != typedefs_.end()) return &it->second;
    for (const Scope* s : included_)
        if (const TypedefDecl* t = s->find_typedef(name)) return t;
    return nullptr;
}

bool Scope::is_type_name(std::string_view name) {
    return find_typedef(name) || is_primitive_name(name) || name == "FILE" ||
           name == "__builtin_va_list";
}

const ConstantDecl* Scope::find_constant(std::string_view name) const {
    auto it = constants_.find(name);
    if (it != constants_.end()) return &it->second;
    for (const Scope* s : included_)
        if (const ConstantDecl* c = s->find_constant(name)) return c;
    return nullptr;
}

std::optional<ConstInt> Scope::constant_value(std::string_view name) {
    const ConstantDecl* c = find_constant(name);
    if (!c) {
        auto it = hidden_constants_.find(name);
        if (it == hidden_constants_.end()) return std::nullopt;
        c = &it->second;
    }
    if (c->dots)
        throw Error(ErrorKind::VerificationMissing,
                    "the value of '" + std::string(name) + "' is only known in API mode");
    return c->value;
}

uint64_t Scope::size_of(const TypeExpr& type) {
    Resolved r = resolve(type);
    if (r.raw_function) cdef_error("sizeof of a function type", type.pos);
    complete_type(r.type.get(), true);
    return static_cast<uint64_t>(r.type->size);
}

uint64_t Scope::align_of(const TypeExpr& type) {
    Resolved r = resolve(type);
    if (r.raw_function) cdef_error("alignof of a function type", type.pos);
    complete_type(r.type.get(), true);
    return std::max(r.type->align, r.aligned);
}

std::string Scope::suggest_type_name(std::string_view unknown) {
    for (const char* prefix : {"struct ", "union ", "enum "}) {
        std::string tag = prefix + std::string(unknown);
        auto it = tag_pos_.find(tag);
        if (it != tag_pos_.end())
            return "did you mean '" + tag + "' declared at line " +
                   std::to_string(it->second.line) + "?";
    }
    // The closest typedef (user's first, with its line), else a built-in name.
    std::string best;
    size_t best_distance = 3;
    int best_line = 0;
    auto consider = [&](std::string_view name, int line) {
        size_t limit = std::max<size_t>(1, std::min(unknown.size(), name.size()) / 3);
        size_t d = edit_distance(unknown, name);
        if (d <= limit && d < best_distance) {
            best = name;
            best_distance = d;
            best_line = line;
        }
    };
    for (const auto& [name, t] : typedefs_) consider(name, t.pos.line);
    for (const char* name : {"int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t",
                             "int64_t", "uint64_t", "size_t", "ssize_t", "intptr_t", "uintptr_t",
                             "ptrdiff_t", "wchar_t", "char16_t", "char32_t", "bool", "FILE"})
        consider(name, 0);
    if (best.empty()) return {};
    std::string hint = "did you mean '" + best + "'";
    if (best_line > 0) hint += " declared at line " + std::to_string(best_line);
    return hint + "?";
}

void Scope::declare(Declaration&& decl) {
    if (decl.builtin) {  // `__int128`: no C text declares it, API mode checks nothing of it
        declare_typedef(decl);
        auto it = typedefs_.find(decl.name);
        if (it != typedefs_.end() && it->second.type) foreign_.insert(it->second.type.get());
        if (header_) header_declared_ = true;
        return;
    }
    if (header_ && (decl.kind == DeclKind::Typedef || decl.kind == DeclKind::TagOnly)) {
        header_declared_ = true;
        if (header_->own(decl.pos.line) && !decl.name.empty()) {
            const char* kind = decl.kind == DeclKind::Typedef            ? "typedef"
                               : decl.type->kind == TypeExprKind::Struct ? "struct"
                               : decl.type->kind == TypeExprKind::Union  ? "union"
                                                                         : "enum";
            header_->kept.emplace_back(kind, decl.name);
        }
    }
    switch (decl.kind) {
        case DeclKind::Typedef: declare_typedef(decl); return;
        case DeclKind::Constant: {
            ConstantDecl c;
            if (decl.type) {
                Resolved r = resolve(*decl.type);
                if (!r.raw_function && !is_integer_like(r.type.get())) {
                    // `static const double X = 42.5;`: only the compiler knows the value.
                    // Without a top-level const (`static const char *S = "s";`) it is a
                    // variable, as in cffi: the initializer is not kept.
                    declare_variable(decl, std::move(r), decl.type->is_const);
                    return;
                }
                if (decl.initializer_error) std::rethrow_exception(decl.initializer_error);
                c.value = initialized_constant(decl, r.type.get(), r.raw_function);
                c.declared_type = r.type;
            } else {
                c.value = decl.constant_value;
            }
            c.dots = decl.constant_dots;
            c.pos = decl.pos;
            declare_constant(decl.name, c);
            return;
        }
        case DeclKind::TagOnly: resolve(*decl.type); return;
        case DeclKind::Function: {
            Resolved r = resolve(*decl.type);
            declare_function(decl, std::move(r.type));
            return;
        }
        case DeclKind::Variable: {
            Resolved r = resolve(*decl.type);
            if (r.raw_function)  // `fn_t f;` with `typedef int fn_t(int);` declares a function
                declare_function(decl, std::move(r.type));
            else
                declare_variable(decl, std::move(r));
            return;
        }
    }
}

// cffi's message first, then where both declarations are.
template <typename Decl>
[[noreturn]] void Scope::redeclared(const char* what, const std::string& name, const Decl& earlier,
                                    parse::SourcePos here) const {
    auto at = [](parse::SourcePos pos) {
        return "line " + std::to_string(pos.line) + ", column " + std::to_string(pos.column);
    };
    std::string message = std::string("multiple declarations of ") + what + " " + name +
                          " (for interactive usage, try cdef(xx, override=True))";
    if (here.line > 0 && earlier.pos.line > 0) {
        message += "\n  " + at(here) + ": this declaration; the earlier one is at " +
                   at(earlier.pos) + (earlier.cdef == cdef_serial_ ? "" : " of an earlier cdef()");
    }
    throw Error(ErrorKind::FFIError, message);
}

void Scope::declare_typedef(Declaration& decl) {
    TypedefDecl t;
    t.pos = decl.pos;
    t.cdef = cdef_serial_;
    t.aligned = decl.typedef_aligned;
    switch (decl.type->kind) {
        case TypeExprKind::DotsInteger:
        case TypeExprKind::DotsFloat:
            t.unusable = decl.type->kind == TypeExprKind::DotsInteger ? "integer" : "float";
            if (const CompilerFact* f = compiler_fact(FactKind::Typedef, decl.name)) {
                t.unusable = nullptr;
                if (decl.type->kind == TypeExprKind::DotsInteger) {
                    t.type = owned(integer_of_size(f->size, f->is_signed, "'" + decl.name + "'"));
                } else if (f->is_signed && (f->size == 4 || f->size == 8)) {  // (a float)
                    t.type = owned(primitive_type(f->size == 4 ? "float" : "double"));
                } else {  // no float type, or a long double: unusable, as in cffi
                    t.type = owned(dots_placeholder(decl.name, false));
                    bool long_double = f->is_signed && f->size == sizeof(long double);
                    t.type->flags |= PF_UNSUPPORTED | (long_double ? PF_LONGDOUBLE : 0);
                }
            } else {
                t.type = owned(dots_placeholder(decl.name, t.unusable[0] == 'i'));
            }
            break;
        case TypeExprKind::DotsOpaque: {
            auto it = typedefs_.find(decl.name);
            if (it != typedefs_.end() && (it->second.type->flags & RF_OPAQUE_TYPEDEF)) return;
            t.type = owned(new_record_type(Kind::Struct, decl.name));
            t.type->flags |= RF_OPAQUE_TYPEDEF;
            break;
        }
        case TypeExprKind::Pointer:
            if (decl.type->item->kind == TypeExprKind::DotsOpaque) {  // `typedef ... *t;`
                auto it = typedefs_.find(decl.name);
                if (it != typedefs_.end() && it->second.opaque_pointer) return;
                CTypeRef target = owned(new_record_type(Kind::Struct, "struct $$" + decl.name));
                target->flags |= RF_OPAQUE_TYPEDEF;
                t.type = owned(named_pointer_type(decl.name, target.get()));
                t.opaque_pointer = true;
                break;
            }
            [[fallthrough]];
        default: {
            Resolved r = resolve(*decl.type, decl.name);
            t.type = std::move(r.type);
            t.dots_levels = dots_levels(*decl.type);
            if (t.dots_levels) {  // `typedef int t[...];`: API mode knows the lengths
                if (const CompilerFact* f = compiler_fact(FactKind::Typedef, decl.name)) {
                    t.type = resolve_array(*decl.type, f, "typedef '" + decl.name + "'");
                    t.dots_levels = 0;
                }
            }
            t.raw_function = r.raw_function;
            t.aligned = std::max(t.aligned, r.aligned);
            t.written = written_typedef(*decl.type, t.type.get(), written_typedefs());
            // The generated C names it: its lengths are the compiler's.
            if (t.dots_levels) t.written = WrittenType{decl.name, decl.name.size(), true};
            t.is_const = is_const(*decl.type);
        }
    }
    auto [it, inserted] = typedefs_.try_emplace(decl.name);
    if (!inserted) {
        const TypedefDecl& old = it->second;
        bool same_dots = old.unusable && t.unusable && std::string_view(old.unusable) == t.unusable;
        bool same = (same_dots || same_type(old.type.get(), t.type.get())) &&
                    old.raw_function == t.raw_function && old.aligned == t.aligned;
        if (same) return;
        if (!options_.override) redeclared("typedef", decl.name, old, decl.pos);
        ++generation_;
    }
    it->second = std::move(t);
}

WrittenTypedefs Scope::written_typedefs() const {
    return [this](std::string_view name) -> const WrittenType* {
        const TypedefDecl* t = find_typedef(name);
        return t && t->written ? &*t->written : nullptr;
    };
}

// Whether `expr` is const at the top level, as written or through a typedef's const.
bool Scope::is_const(const TypeExpr& expr) const {
    if (expr.is_const) return true;
    if (expr.kind != TypeExprKind::Named) return false;
    const TypedefDecl* t = find_typedef(expr.name);
    return t && t->is_const;
}

void Scope::declare_function(const Declaration& decl, CTypeRef type) {
    if (!header_keeps(decl.name, decl.pos, "function")) return;
    if (header_) {
        if (!decl.asm_name.empty() && decl.asm_name != decl.name)
            header_->renamed.emplace_back(decl.name, decl.asm_name);
        if (!decl.inline_in.empty())
            header_->inline_functions.emplace_back(decl.name, decl.inline_in);
    }
    FunctionDecl f;
    f.type = std::move(type);
    f.asm_name = decl.asm_name;
    f.inline_in = decl.inline_in;
    f.extern_python = decl.extern_python;
    // The C text API mode needs, made only where it says more than the CTypes' (a cdef's
    // parse stays as fast when it is not needed).
    if (decl.type && (f.extern_python != parse::ExternPython::No ||
                      (decl.type->kind == TypeExprKind::Function &&
                       (qualified_below(*decl.type) || open_typedef_in(*decl.type)))))
        f.written = written_signature(*decl.type, f.type.get(), written_typedefs());
    if (decl.type && decl.type->kind == TypeExprKind::Function) {
        bool any = !decl.attributes.empty();
        for (const parse::Param& p : decl.type->params) {
            f.param_names.emplace_back(p.name);
            any |= !p.attributes.empty();
        }
        if (any) {
            f.attributes = decl.attributes;
            for (const parse::Param& p : decl.type->params)
                f.param_attributes.push_back(p.attributes);
        }
        const parse::TypeExpr* r = decl.type->item.get();
        if (r && r->kind == TypeExprKind::Named) f.result_typedef = std::string(r->name);
    }
    f.pos = decl.pos;
    f.cdef = cdef_serial_;
    auto [it, inserted] = functions_.try_emplace(decl.name);
    if (!inserted) {
        FunctionDecl& old = it->second;
        // A redeclaration may add an asm label, as glibc's <stdio.h> does for fscanf
        // (`__REDIRECT`); C keeps the label, wherever it was written.
        bool labels_agree =
            old.asm_name == f.asm_name || old.asm_name.empty() || f.asm_name.empty();
        if (old.type.get() == f.type.get() && labels_agree &&
            old.extern_python == f.extern_python) {
            if (old.asm_name.empty()) old.asm_name = std::move(f.asm_name);
            if (old.inline_in.empty()) old.inline_in = std::move(f.inline_in);
            return;
        }
        if (!options_.override) redeclared("function", decl.name, old, decl.pos);
        ++generation_;
    }
    it->second = std::move(f);
}

void Scope::declare_variable(const Declaration& decl, Resolved resolved, bool initialized) {
    if (!header_keeps(decl.name, decl.pos, "variable")) return;
    if (header_ && !decl.asm_name.empty() && decl.asm_name != decl.name)
        header_->renamed.emplace_back(decl.name, decl.asm_name);
    if (resolved.type->kind == Kind::Void)
        cdef_error("variable '" + decl.name + "' declared void", decl.pos);
    VariableDecl v;
    v.type = std::move(resolved.type);
    v.dots_levels = dots_levels(*decl.type);
    if (v.dots_levels) {  // `T a[...];`, `T a[][...];`: API mode knows the lengths
        if (const CompilerFact* f = compiler_fact(FactKind::Global, decl.name)) {
            v.type = resolve_array(*decl.type, f, "global '" + decl.name + "'");
            v.dots_levels = 0;
        }
    }
    v.asm_name = decl.asm_name;
    v.is_const = is_const(*decl.type);
    v.initialized = initialized;
    v.pos = decl.pos;
    v.cdef = cdef_serial_;
    auto [it, inserted] = variables_.try_emplace(decl.name);
    if (!inserted) {
        if (it->second.type.get() == v.type.get() && it->second.asm_name == v.asm_name &&
            it->second.is_const == v.is_const && it->second.initialized == v.initialized)
            return;
        if (!options_.override) redeclared("variable", decl.name, it->second, decl.pos);
        ++generation_;
    }
    it->second = std::move(v);
}

void Scope::declare_constant(const std::string& name, ConstantDecl constant) {
    constant.cdef = cdef_serial_;
    if (!header_keeps(name, constant.pos, "constant")) {
        hidden_constants_.insert_or_assign(name, constant);
        return;
    }
    auto [it, inserted] = constants_.try_emplace(name);
    if (!inserted) {
        if (it->second.value == constant.value && it->second.dots == constant.dots) {
            it->second.enum_type = constant.enum_type;
            return;
        }
        if (!options_.override) redeclared("constant", name, it->second, constant.pos);
        ++generation_;
    }
    it->second = constant;
}

std::optional<parse::DeclSink::Arithmetic> Scope::arithmetic_of(const TypeExpr& type) {
    Resolved r = resolve(type);
    const CType* t = r.type.get();
    if (t->kind == Kind::Enum && t->item) t = t->item;
    Arithmetic a;
    if (t->kind != Kind::Primitive || r.raw_function) return a;  // Other
    if (t->flags & (PF_FLOAT | PF_LONGDOUBLE)) {
        if (t->flags & PF_COMPLEX) return a;
        a.kind = Arithmetic::Floating;
    } else if (t->flags & (PF_INTEGER | PF_BOOL | PF_CHAR | PF_WCHAR)) {
        a.kind = Arithmetic::Integer;
        a.is_unsigned = !(t->flags & PF_SIGNED);
    } else {
        return a;
    }
    complete_type(r.type.get(), true);
    a.size = static_cast<uint64_t>(t->size);
    return a;
}

const char* Scope::global_kind(std::string_view name) const {
    GlobalDecl g = find_global(name);
    if (g.function) return "function";
    if (g.variable) return "variable";
    return nullptr;
}

std::string Scope::declare_macro(const std::string& name, const parse::MacroValue& value,
                                 bool& is_new) {
    declared();
    is_new = false;
    if (const char* kind = global_kind(name)) return std::string("the name of a declared ") + kind;
    auto constant = constants_.find(name);
    auto macro = macro_constants_.find(name);
    if (value.kind == parse::MacroValue::Integer) {
        if (macro != macro_constants_.end()) return "the name of another macro's value";
        if (constant != constants_.end()) {
            if (constant->second.value == value.number.value && !constant->second.dots) return "";
            return "conflicts with the constant " + name + " declared earlier";
        }
        ConstantDecl c;
        c.value = value.number.value;
        c.cdef = cdef_serial_;
        constants_.emplace(name, c);
        is_new = true;
        return "";
    }
    if (constant != constants_.end())
        return "conflicts with the constant " + name + " declared earlier";
    MacroConstantDecl m;
    switch (value.kind) {
        case parse::MacroValue::Floating:
            m.kind = MacroConstantDecl::Floating;
            m.real = static_cast<double>(value.number.real);
            if (std::isinf(m.real) && !std::isinf(value.number.real))
                return "a long double value beyond the range of a Python float";
            break;
        case parse::MacroValue::Bytes: m.kind = MacroConstantDecl::Bytes; break;
        default: m.kind = MacroConstantDecl::Text; break;
    }
    if (m.kind != MacroConstantDecl::Floating) m.text = value.text;
    if (macro != macro_constants_.end()) {
        const MacroConstantDecl& old = macro->second;
        if (old.kind == m.kind && old.text == m.text &&
            (old.real == m.real || (std::isnan(old.real) && std::isnan(m.real))))
            return "";
        return "conflicts with the value of " + name + " declared earlier";
    }
    macro_constants_.emplace(name, std::move(m));
    is_new = true;
    return "";
}

GlobalDecl Scope::find_global(std::string_view name) const {
    declared();
    GlobalDecl g;
    if (auto it = functions_.find(name); it != functions_.end())
        g.function = &it->second;
    else if (auto v = variables_.find(name); v != variables_.end())
        g.variable = &v->second;
    else if (auto c = constants_.find(name); c != constants_.end())
        g.constant = &c->second;
    else if (auto m = macro_constants_.find(name); m != macro_constants_.end())
        g.macro = &m->second;
    for (size_t i = 0; !g && i < included_.size(); ++i) g = included_[i]->find_global(name);
    return g;
}

void Scope::list_globals(std::vector<std::string>& names, bool extern_python) const {
    declared();
    for (const auto& [name, f] : functions_)
        if (extern_python || f.extern_python == parse::ExternPython::No) names.push_back(name);
    for (const auto& [name, _] : variables_) names.push_back(name);
    for (const auto& [name, _] : constants_) names.push_back(name);
    for (const auto& [name, _] : macro_constants_) names.push_back(name);
    for (const Scope* s : included_) s->list_globals(names);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
}

void Scope::list_types(std::vector<std::string>& typedefs, std::vector<std::string>& structs,
                       std::vector<std::string>& unions) const {
    declared();
    for (const auto& [name, _] : typedefs_) typedefs.push_back(name);
    for (const auto& [name, _] : structs_)
        if (name[0] != '$') structs.push_back(name);
    for (const auto& [name, _] : unions_)
        if (name[0] != '$') unions.push_back(name);
    // The included FFIs' types are usable here, so they are listed too (as in cffi).
    for (const Scope* s : included_) s->list_types(typedefs, structs, unions);
    for (auto* v : {&typedefs, &structs, &unions}) {
        std::sort(v->begin(), v->end());
        v->erase(std::unique(v->begin(), v->end()), v->end());
    }
}

// ---------------------------------------------------------------- resolution

Scope::Resolved Scope::resolve(const TypeExpr& e, const std::string& name_hint) {
    switch (e.kind) {
        case TypeExprKind::Void: return {owned(void_type())};
        case TypeExprKind::Primitive: {
            CType* t = primitive_type(e.name);
            if (!t) cdef_error("unsupported type '" + std::string(e.name) + "'", e.pos);
            return {owned(t)};
        }
        case TypeExprKind::Named: return resolve_named(e);
        case TypeExprKind::Struct:
        case TypeExprKind::Union: return {resolve_record(e, name_hint)};
        case TypeExprKind::Enum: return {resolve_enum(e, name_hint)};
        case TypeExprKind::Pointer: {
            Resolved item = resolve(*e.item);
            // A pointer to a function is what cffi calls a function type.
            if (item.raw_function) return {std::move(item.type)};
            return {owned(pointer_type(item.type.get()))};
        }
        case TypeExprKind::Array: return {resolve_array(e, nullptr, {})};
        case TypeExprKind::Function: return {resolve_function(e), true};
        case TypeExprKind::Typeof: return resolve_typeof(e);
        case TypeExprKind::DotsInteger:
        case TypeExprKind::DotsFloat:
        case TypeExprKind::DotsOpaque:
            cdef_error("'...' types are only allowed in a typedef (typedef int... name;)", e.pos);
    }
    cdef_error("unexpected type expression", e.pos);
}

Scope::Resolved Scope::resolve_named(const TypeExpr& e) {
    if (const TypedefDecl* t = find_typedef(e.name))  // `typedef int... t;`: a stand-in
        return {t->type, t->raw_function, t->aligned};
    if (CType* p = primitive_type(e.name)) return {owned(p)};
    if (e.name == "FILE") return {borrowed(file_type())};
    if (e.name == "__builtin_va_list") return {borrowed(va_list_type())};
    std::string message = "unknown type name '" + std::string(e.name) + "'";
    std::string hint = suggest_type_name(e.name);
    if (!hint.empty()) message += "; " + hint;
    cdef_error(message, e.pos);
}

// The declared calling convention where the target has several (32-bit Windows);
// elsewhere the keywords are accepted and mean nothing, as in C compilers and cffi.
static CallConv calling_convention(const TypeExpr& e) {
#if defined(_WIN32) && !defined(_WIN64)
    if (e.abi == "__stdcall") return CallConv::Stdcall;
    if (e.abi == "__fastcall") return CallConv::Fastcall;
    if (e.abi == "__cdecl") return CallConv::Cdecl;
#else
    (void)e;
#endif
    return CallConv::Default;
}

CTypeRef Scope::resolve_function(const TypeExpr& e) {
    Resolved result = resolve(*e.item);
    if (result.raw_function) cdef_error("function returning a function", e.pos);
    if (result.type->kind == Kind::Array) {  // cffi's TypeError and text (a CDefError too)
        parse::CDefError error("function returning an array", e.pos);
        error.with_cffi_text(parse::CffiText::Given,
                             "invalid result type: '" + result.type->cname + "'");
        error.also_is(ErrorKind::TypeError);
        throw error;
    }
    ArgTypes args(e.params.size());
    for (const parse::Param& p : e.params) {
        Resolved a = resolve(*p.type);
        CTypeRef arg = std::move(a.type);
        if (arg->kind == Kind::Void) {
            // `(void_t)`, void_t a typedef of void, is `(void)`: gcc and cffi take it so.
            bool lone_void = e.params.size() == 1 && p.name.empty() && !e.ellipsis;
            if (lone_void) break;
            cdef_error("parameter '" + std::string(p.name) + "' has type void", p.type->pos);
        }
        // C adjusts array and function parameters to pointers.
        if (arg->kind == Kind::Array && !a.raw_function) arg = owned(pointer_type(arg->item));
        args.push(std::move(arg));
    }
    return owned(function_type(result.type.get(), args.view(), e.ellipsis, calling_convention(e)));
}

// An array type, level by level from the innermost. A `[...]` length is the C compiler's
// (`fact`: the size of each level, see CompilerFact); without the fact the level stays of
// unknown length, and an array of it is made all the same (array_of_open_arrays), for the
// declaration that API mode's generator asks the compiler about.
CTypeRef Scope::resolve_array(const TypeExpr& e, const CompilerFact* fact,
                              const std::string& what) {
    std::vector<const TypeExpr*> levels;
    const TypeExpr* base = &e;
    for (; base->kind == TypeExprKind::Array; base = base->item.get()) levels.push_back(base);
    Resolved item = resolve(*base);
    if (item.raw_function) cdef_error("array of functions is not a C type", e.pos);
    if (item.type->kind == Kind::Void) cdef_error("array of void", e.pos);
    if (fact && fact->values.size() < levels.size())
        throw Error(ErrorKind::VerificationError, what + ": the compiled module describes " +
                                                      std::to_string(fact->values.size()) +
                                                      " array levels, the cdef has " +
                                                      std::to_string(levels.size()));
    CTypeRef t = std::move(item.type);
    bool open_item = false;  // t's `[...]` length waits for the compiler
    for (size_t k = levels.size(); k-- > 0;) {
        const TypeExpr& a = *levels[k];
        int64_t length = -1;
        if (a.array_kind == parse::ArrayKind::Fixed) {
            if (a.array_length > static_cast<uint64_t>(INT64_MAX))
                cdef_error("array length too large", a.pos);
            length = static_cast<int64_t>(a.array_length);
        } else if (a.array_kind == parse::ArrayKind::Dots && fact) {
            t = owned(array_of_size(t.get(), fact->values[k], what));
            continue;
        }
        t = owned(open_item ? array_of_open_arrays(t.get(), length) : array_type(t.get(), length));
        open_item = a.array_kind == parse::ArrayKind::Dots;
    }
    return t;
}

CType* Scope::find_tag(TypeExprKind kind, std::string_view name) const {
    const auto& map = kind == TypeExprKind::Struct  ? structs_
                      : kind == TypeExprKind::Union ? unions_
                                                    : enums_;
    auto it = map.find(name);
    if (it != map.end()) return it->second.get();
    for (const Scope* s : included_)
        if (CType* t = s->find_tag(kind, name)) return t;
    return nullptr;
}

// The length of "struct " or "union " (where a tag's name starts after its keyword).
static size_t keyword_length(const TypeExpr& e) { return e.kind == TypeExprKind::Struct ? 7 : 6; }

// The tag of an anonymous struct, union or enum: "$foo_t" when a typedef names it, else
// "$1", "$2"... counted over the FFI's unnamed ones only, so that `struct $1 *` is the name
// cffi shows too.
std::string Scope::anonymous_label(const std::string& name_hint) {
    return "$" + (name_hint.empty() ? std::to_string(++anonymous_count_) : name_hint);
}

CTypeRef Scope::resolve_record(const TypeExpr& e, const std::string& name_hint) {
    Kind kind = e.kind == TypeExprKind::Struct ? Kind::Struct : Kind::Union;
    const char* keyword = kind == Kind::Struct ? "struct " : "union ";
    auto& map = kind == Kind::Struct ? structs_ : unions_;
    if (e.name.empty()) {
        if (!e.body) cdef_error("an anonymous struct or union needs a body", e.pos);
        auto it = bodies_.find(e.body.get());
        if (it != bodies_.end()) return it->second.second;
        std::string label = anonymous_label(name_hint);
        std::string cname = name_hint.empty() ? keyword + label : name_hint;
        CTypeRef t = owned(new_record_type(kind, cname));
        remember_body(e.body, t);
        fill_record(t.get(), *e.body);
        note_foreign(t.get(), e.pos);
        map.emplace(label, t);
        return t;
    }
    CType* existing = find_tag(e.kind, e.name);
    if (!e.body) {
        if (existing) return borrowed(existing);
        if (refuse_undeclared_tags_ && !type_string_.empty()) {
            auto column = static_cast<size_t>(e.pos.column > 0 ? e.pos.column - 1 : 0);
            column = std::min(type_string_.find(e.name, column), column + keyword_length(e));
            throw Error(ErrorKind::FFIError, "undefined struct/union name\n" +
                                                 std::string(type_string_) + "\n" +
                                                 std::string(column, ' ') + "^");
        }
        CTypeRef t = owned(new_record_type(kind, tag_name(keyword, e.name)));
        map.emplace(std::string(e.name), t);
        tag_pos_.emplace(tag_name(keyword, e.name), e.pos);
        return t;
    }
    if (auto it = bodies_.find(e.body.get()); it != bodies_.end()) return it->second.second;
    std::string tag = tag_name(keyword, e.name);
    if (std::find(defining_.begin(), defining_.end(), tag) != defining_.end())
        cdef_error("nested redefinition of '" + tag + "'", e.pos);
    defining_.push_back(tag);
    struct Defined {
        std::vector<std::string>& tags;
        ~Defined() { tags.pop_back(); }
    } defined{defining_};
    // (Refusing the nested redefinition also keeps `existing` alive while its body is
    // filled: only a body of the same tag replaces the scope's entry, which may hold the
    // last reference to it.)
    if (existing && existing->record) {
        // Redeclared with a body: fine if identical, else an error or (override) a new type.
        CTypeRef fresh = owned(new_record_type(kind, tag));
        fill_record(fresh.get(), *e.body);
        note_foreign(fresh.get(), e.pos);
        if (same_record_body(existing, fresh.get())) {
            remember_body(e.body, borrowed(existing));
            return borrowed(existing);
        }
        if (!options_.override) cffi_cdef_error("duplicate declaration of " + tag, e.pos);
        ++generation_;
        track_for_gc(existing);  // the scope lets it go
        map[std::string(e.name)] = fresh;
        remember_body(e.body, fresh);
        return fresh;
    }
    CTypeRef t = existing ? borrowed(existing) : owned(new_record_type(kind, tag));
    if (!existing) map.emplace(std::string(e.name), t);
    tag_pos_[tag] = e.pos;
    remember_body(e.body, t);
    fill_record(t.get(), *e.body);
    note_foreign(t.get(), e.pos);
    return t;
}

void Scope::fill_record(CType* t, const parse::RecordBody& body) {
    auto rec = std::make_unique<RecordDecl>();
    rec->packed = body.packed || options_.packed;
    rec->pack = options_.packed ? 1 : options_.pack;
    rec->aligned = body.aligned;
    rec->partial = body.partial;
    struct Cleanup {
        std::unique_ptr<RecordDecl>& r;
        ~Cleanup() {
            if (r)
                for (auto& m : r->members) Py_XDECREF(m.type);
        }
    } cleanup{rec};
    rec->members.reserve(body.members.size());
    for (size_t i = 0; i < body.members.size(); ++i) {
        const parse::Member& m = body.members[i];
        Resolved r = resolve(*m.type);
        auto shown = [&] { return std::string(m.name.empty() ? "(anonymous)" : m.name); };
        if (r.raw_function)
            cdef_error("field '" + shown() + "' is a function; did you mean a function pointer?",
                       m.pos);
        if (r.type->kind == Kind::Void) cdef_error("field '" + shown() + "' has type void", m.pos);
        if (m.bitsize >= 0 && !is_integer_like(r.type.get()))
            cdef_error(
                "bitfield '" + shown() + "' must have an integer type, not '" + r.type->cname + "'",
                m.pos);
        uint32_t dots = dots_levels(*m.type);
        if (!dots && m.type->kind == TypeExprKind::Named)  // a `typedef int t[...];` member
            if (const TypedefDecl* td = find_typedef(m.type->name)) dots = td->dots_levels;
        bool dots_array = dots != 0;
        // In a struct the compiler lays out (`...;`), a `T a[];` anywhere stands for an
        // array whose length the cdef leaves out (cffi's "implicit max length").
        if (r.type->kind == Kind::Array && r.type->length < 0 && i + 1 != body.members.size() &&
            !dots_array && !body.partial)
            cdef_error("flexible array member '" + shown() + "' must be the last field", m.pos);
        MemberDecl md;
        md.name = m.name;
        md.bitsize = m.bitsize;
        md.aligned = std::max(m.aligned, r.aligned);
        md.packed = m.packed;
        md.pos = m.pos;
        md.dots_levels = dots;
        md.type = r.type.release();
        rec->members.push_back(std::move(md));
        if (dots_array) rec->partial = true;
    }
    // The compiler gives no bitfield positions (offsetof cannot name them): as in cffi.
    if (rec->partial)
        for (const MemberDecl& md : rec->members)
            if (md.bitsize >= 0)
                throw Error(ErrorKind::NotImplementedError,
                            "<" + t->cname + ">: using both bitfields and '...;'");
    // API mode: the compiler's layout replaces the one computed from the cdef.
    if (const CompilerFact* f = compiler_fact(FactKind::Record, t->cname)) {
        if (f->values.size() != 2 * rec->members.size())
            throw Error(ErrorKind::VerificationError,
                        "'" + t->cname + "': the compiled module describes " +
                            std::to_string(f->values.size() / 2) + " members, the cdef has " +
                            std::to_string(rec->members.size()));
        for (size_t i = 0; i < rec->members.size(); ++i) {
            MemberDecl& md = rec->members[i];
            if (!md.dots_levels) continue;
            std::string what = "'" + t->cname + "', field '" + md.name + "'";
            const CompilerFact* lengths = compiler_fact(FactKind::Member, t->cname + "." + md.name);
            if (!lengths)
                throw Error(ErrorKind::VerificationError,
                            what + ": the compiled module gives no array lengths");
            CType* sized = resolve_array(*body.members[i].type, lengths, what).release();
            Py_DECREF(md.type);
            md.type = sized;
            md.dots_levels = 0;
        }
        rec->from_compiler = true;
        rec->compiler_size = f->size;
        rec->compiler_align = f->align;
        rec->compiler_members = f->values;
        rec->declared_partial = rec->partial;
        rec->partial = false;
    }
    // API mode, a layout the cdef states: compared with the compiler's at the first use.
    if (const CompilerFact* f =
            rec->partial ? nullptr : compiler_fact(FactKind::Layout, t->cname)) {
        rec->checked = true;
        rec->checked_size = f->size;
        rec->checked_align = f->align;
        rec->checked_fields = f->values;
    }
    std::unordered_map<std::string_view, parse::SourcePos> seen;
    check_member_names(*rec, seen);
    if (t->record) throw Error(ErrorKind::CDefError, "internal: record filled twice");
    t->record = rec.release();
    t->flags |= RF_DECLARED;
    if (t->record->partial) t->flags |= RF_PARTIAL;
    if (t->record->packed) t->flags |= RF_PACKED;
    if (!complete_type(t, false, false)) pending_.push_back(borrowed(t));
}

CTypeRef Scope::resolve_enum(const TypeExpr& e, const std::string& name_hint) {
    if (e.name.empty()) {
        if (!e.enum_body) cdef_error("an anonymous enum needs a body", e.pos);
        auto it = bodies_.find(e.enum_body.get());
        if (it != bodies_.end()) return it->second.second;
        std::string label = anonymous_label(name_hint);
        CTypeRef t =
            owned(new_record_type(Kind::Enum, name_hint.empty() ? "enum " + label : name_hint));
        remember_body(e.enum_body, t);
        fill_enum(t.get(), *e.enum_body);
        note_foreign(t.get(), e.pos);
        enums_.emplace(label, t);
        return t;
    }
    CType* existing = find_tag(TypeExprKind::Enum, e.name);
    if (!e.enum_body) {
        if (existing) return borrowed(existing);
        // As for struct tags: cffi's API-mode ffi knows only the enums of its cdef (the
        // caret is added by parse_type()).
        if (refuse_undeclared_tags_ && !type_string_.empty())
            throw Error(ErrorKind::FFIError, "undefined enum name");
        CTypeRef t = owned(new_record_type(Kind::Enum, tag_name("enum ", e.name)));
        enums_.emplace(std::string(e.name), t);
        tag_pos_.emplace(tag_name("enum ", e.name), e.pos);
        return t;
    }
    if (auto it = bodies_.find(e.enum_body.get()); it != bodies_.end()) return it->second.second;
    CTypeRef t;
    if (existing && existing->size >= 0) {
        CTypeRef fresh = owned(new_record_type(Kind::Enum, tag_name("enum ", e.name)));
        for (const auto& v : e.enum_body->values) fresh->enumerators.push_back({v.name, v.value});
        if (same_enum_body(existing, fresh.get())) return borrowed(existing);
        if (!options_.override && (existing->flags & RF_GUESSED))
            cdef_error("duplicate declaration of " + tag_name("enum ", e.name) +
                           ": it was used before (without values, it was taken as 'unsigned "
                           "int'); define it before its first use, or pass override=True",
                       e.pos);
        if (!options_.override)
            cffi_cdef_error("duplicate declaration of " + tag_name("enum ", e.name), e.pos);
        ++generation_;
        fresh->enumerators.clear();
        t = fresh;
        enums_[std::string(e.name)] = t;
    } else {
        t = existing ? borrowed(existing)
                     : owned(new_record_type(Kind::Enum, tag_name("enum ", e.name)));
        if (!existing) enums_.emplace(std::string(e.name), t);
    }
    tag_pos_[tag_name("enum ", e.name)] = e.pos;
    remember_body(e.enum_body, t);
    fill_enum(t.get(), *e.enum_body);
    note_foreign(t.get(), e.pos);
    return t;
}

void Scope::fill_enum(CType* t, const parse::EnumBody& body) {
    for (const auto& v : body.values) t->enumerators.push_back({v.name, v.value});
    // API mode: every enum's values and size are the C compiler's (as in cffi).
    const CompilerFact* fact = compiler_fact(FactKind::Enum, t->cname);
    bool partial = body.partial && !fact;
    if (fact) {  // API mode: the values and the size are the C compiler's
        if (fact->values.size() != t->enumerators.size())
            throw Error(ErrorKind::VerificationError,
                        "'" + t->cname + "': the compiled module describes " +
                            std::to_string(fact->values.size()) + " values, the cdef has " +
                            std::to_string(t->enumerators.size()));
        for (size_t i = 0; i < t->enumerators.size(); ++i)
            t->enumerators[i].value =
                fact->is_signed ? static_cast<ConstInt>(fact->values[i])
                                : static_cast<ConstInt>(static_cast<uint64_t>(fact->values[i]));
    }
    CType* base = fact ? integer_of_size(fact->size, fact->is_signed, "'" + t->cname + "'")
                       : enum_integer_type(t->enumerators, body.packed);
    t->item = base;
    t->conv = base->conv;
    t->size = base->size;
    t->align = base->align;
    if (partial) t->flags |= RF_PARTIAL;
    for (size_t i = 0; i < body.values.size(); ++i) {
        const parse::Enumerator& v = body.values[i];
        ConstantDecl c;
        c.value = t->enumerators[i].value;
        c.dots = partial;
        c.enum_type = t;
        c.pos = v.pos;
        declare_constant(v.name, c);
    }
}

}  // namespace cffix::types
