// The FFI type (cffix._core.FFI, which is cffix.FFI itself: api.py copies its Python
// methods into this type, see add_ffi_methods) and its type queries: cdef, typeof,
// sizeof, alignof, offsetof, getctype, list_types, include. The other methods come from
// the tables of the other files of csrc/ffi/. An FFI owns the Scope of its declarations
// and caches from type strings to CTypes (the last strings looked up, by identity, in
// front of a dict), so a repeated ffi.typeof("...") (and every method taking a type
// string) costs at most one dict lookup whatever the size of the cdef.
#include "ffi/object.h"

#include <algorithm>
#include <string>
#include <vector>

#include "call/wrap.h"
#include "data/cdata.h"
#include "data/memory.h"
#include "lib/library.h"
#include "types/path.h"
#include "util/args.h"
#include "util/errors.h"
#include "util/ft.h"
#include "util/pylong.h"

namespace cffix {

using cffix::Error;
using cffix::ErrorKind;
using types::CType;
using types::CTypeRef;
using types::Kind;

static FFIObject* as_ffi(PyObject* self) { return reinterpret_cast<FFIObject*>(self); }

static PyObject* ffi_new(PyTypeObject* type, PyObject*, PyObject*) {
    PyRef self(type->tp_alloc(type, 0));
    if (!self) return nullptr;
    FFIObject* ffi = as_ffi(self.get());
    ffi->typeof_cache = PyDict_New();
    if (!ffi->typeof_cache) return nullptr;
    // The instance __dict__ exists from the start: CPython 3.11 specializes method lookups
    // (ffi.new) on an object with a dict slot only when the dict is there.
    ffi->dict = PyDict_New();
    if (!ffi->dict) return nullptr;
    try {
        ffi->scope = ffi->scope_owned = new types::Scope();
    } catch (...) {
        return cffix::translate_exception();
    }
    return self.release();
}

// FFI(backend=None): the backend argument is accepted and ignored, as cffi does.
static int ffi_init(PyObject*, PyObject* args, PyObject* kwds) {
    static const char* kwlist[] = {"backend", nullptr};
    PyObject* backend = Py_None;
    return PyArg_ParseTupleAndKeywords(args, kwds, "|O:FFI", const_cast<char**>(kwlist), &backend)
               ? 0
               : -1;
}

static void clear_recent_types(FFIObject* ffi) {
    for (RecentType& r : ffi->recent) {
        Py_CLEAR(r.text);
        PyObject* type = reinterpret_cast<PyObject*>(r.type);
        r.type = nullptr;
        Py_XDECREF(type);
    }
}

static int ffi_traverse(PyObject* self, visitproc visit, void* arg) {
    FFIObject* ffi = as_ffi(self);
    for (RecentType& r : ffi->recent) Py_VISIT(reinterpret_cast<PyObject*>(r.type));
    Py_VISIT(ffi->typeof_cache);
    Py_VISIT(ffi->retired_caches);
    Py_VISIT(ffi->included);
    Py_VISIT(ffi->state);
    Py_VISIT(ffi->dict);
    // The scope's types are not visited: no cycle leads from them back to the FFI (types
    // reference types only), and the GC ignores the untracked ones anyway (see
    // types::track_for_gc); visiting thousands of them made each collection of a young
    // FFI touch every type of its cdef.
    return 0;
}

static int ffi_clear(PyObject* self) {
    FFIObject* ffi = as_ffi(self);
    clear_recent_types(ffi);
    Py_CLEAR(ffi->typeof_cache);
    Py_CLEAR(ffi->retired_caches);
    Py_CLEAR(ffi->included);
    Py_CLEAR(ffi->state);
    Py_CLEAR(ffi->dict);
    // The scope itself stays until dealloc: a library in the same reference cycle may be
    // used (by a finalizer) before the collector clears it, and reads it. Its pointers to
    // included scopes go now, as those FFIs may now be freed.
    if (ffi->scope_owned) ffi->scope_owned->drop_includes();
    ffi->scope = nullptr;
    return 0;
}

static void ffi_dealloc(PyObject* self) {
    PyObject_GC_UnTrack(self);
    FFIObject* ffi = as_ffi(self);
    if (ffi->weakreflist) PyObject_ClearWeakRefs(self);
    ffi_clear(self);
    call::forget_wrap_rules(ffi->scope_owned);
    delete ffi->scope_owned;
    ffi->scope_owned = nullptr;
    Py_TYPE(self)->tp_free(self);  // (a heap subclass's type is released by CPython)
}

static types::Scope& scope_of(PyObject* self) {
    FFIObject* ffi = as_ffi(self);
    if (!ffi->scope) throw Error(ErrorKind::FFIError, "FFI object is not initialized");
    return *ffi->scope;
}

// The string's or the dict's, remembered in `slot` for the next lookup of `text`.
static CType* remember(RecentType& slot, PyObject* text, CType* type) {
    PyObject* old_text = slot.text;
    PyObject* old_type = reinterpret_cast<PyObject*>(slot.type);
    slot.text = Py_NewRef(text);
    slot.type = reinterpret_cast<CType*>(Py_NewRef(reinterpret_cast<PyObject*>(type)));
    Py_XDECREF(old_text);
    Py_XDECREF(old_type);
    return type;
}

// The UTF-8 text of a str for the parser. A lone surrogate cannot be UTF-8: it is
// passed through as its 3 bytes (held in `keep`), so that the parser reports it as the
// non-ASCII character it is, with its line and column, instead of a UnicodeEncodeError.
static const char* source_text(PyObject* str, PyRef& keep, Py_ssize_t* len) {
    if (const char* utf8 = PyUnicode_AsUTF8AndSize(str, len)) return utf8;
    if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return nullptr;
    PyErr_Clear();
    keep = PyRef(PyUnicode_AsEncodedString(str, "utf-8", "surrogatepass"));
    if (!keep) return nullptr;
    *len = PyBytes_GET_SIZE(keep.get());
    return PyBytes_AS_STRING(keep.get());
}

// The caches were filled at an older generation of the scope (override=True replaced a
// declaration): empty them. Without the GIL a type another thread got from them (borrowed)
// may still be in use: the old dict is kept until the FFI dies instead of being emptied.
static void drop_type_caches(FFIObject* ffi) {
    clear_recent_types(ffi);
#ifdef Py_GIL_DISABLED
    PyRef fresh(PyDict_New());
    if (!fresh) throw cffix::PythonErrorSet{};
    if (!ffi->retired_caches && !(ffi->retired_caches = PyList_New(0)))
        throw cffix::PythonErrorSet{};
    if (PyList_Append(ffi->retired_caches, ffi->typeof_cache) < 0) throw cffix::PythonErrorSet{};
    Py_SETREF(ffi->typeof_cache, fresh.release());
#else
    PyDict_Clear(ffi->typeof_cache);
#endif
}

// Under the FFI's critical section (free-threaded build): the caches and the scope are
// the FFI's, and cdef() may change the scope meanwhile.
static CType* typeof_string(PyObject* self, PyObject* text) {
    ft::CriticalSection section(self);
    FFIObject* ffi = as_ffi(self);
    types::Scope& scope = scope_of(self);
    if (ffi->cache_generation != scope.generation()) {
        drop_type_caches(ffi);
        ffi->cache_generation = scope.generation();
    }
    uintptr_t address = reinterpret_cast<uintptr_t>(text);
    RecentType& slot = ffi->recent[(address >> 4 ^ address >> 9) % FFIObject::kRecentTypes];
    if (slot.text == text) return slot.type;
    PyObject* hit = PyDict_GetItemWithError(ffi->typeof_cache, text);
    if (hit) return remember(slot, text, reinterpret_cast<CType*>(hit));
    if (PyErr_Occurred()) throw cffix::PythonErrorSet{};
    Py_ssize_t len;
    PyRef keep;
    const char* utf8 = source_text(text, keep, &len);
    if (!utf8) throw cffix::PythonErrorSet{};
    CTypeRef t = scope.parse_type(std::string_view(utf8, static_cast<size_t>(len)));
    if (PyDict_SetItem(ffi->typeof_cache, text, t.object()) < 0) throw cffix::PythonErrorSet{};
    return remember(slot, text, t.get());  // the caches hold it
}

// A type string or a CType -> a borrowed CType (the argument or the caches hold it).
// Throws (types/ convention); ctype_arg() is the form for the methods.
static CType* ffi_to_ctype(PyObject* self, PyObject* arg) {
    if (PyUnicode_Check(arg)) return typeof_string(self, arg);
    if (types::is_ctype(arg)) return reinterpret_cast<CType*>(arg);
    throw Error(ErrorKind::TypeError,
                std::string("expected a str or ctype object, got ") + Py_TYPE(arg)->tp_name);
}

// "int(int)" names a function type, which typeof() refuses. A parameter of function type
// is adjusted to a pointer, so the pointer type is the sole parameter of
// "void(*)(<cdecl>)". Null (no exception set) when that gives no function pointer either.
static CType* function_as_pointer(PyObject* self, PyObject* cdecl) {
    PyRef wrapped(PyUnicode_FromFormat("void(*)(%U)", cdecl));
    if (!wrapped) {
        PyErr_Clear();
        return nullptr;
    }
    try {
        CType* t = ffi_to_ctype(self, wrapped.get());
        if (t->kind == Kind::Function && t->args.size() == 1 && t->args[0]->kind == Kind::Function)
            return t->args[0];  // owned by `t`, which the typeof cache holds
    } catch (...) {
        PyErr_Clear();
    }
    return nullptr;
}

CType* ctype_arg(PyObject* self, PyObject* cdecl, FunctionTypes functions) {
    try {
        return ffi_to_ctype(self, cdecl);
    } catch (Error& e) {
        if (functions == FunctionTypes::AsPointer && e.kind() == ErrorKind::CDefError &&
            PyUnicode_Check(cdecl))
            if (CType* t = function_as_pointer(self, cdecl)) return t;
        // An API-mode module's ffi: also ffi.error, as cffi's (a CDefError still).
        FFIObject* ffi = as_ffi(self);
        if (e.kind() == ErrorKind::CDefError && ffi->scope && ffi->scope->api_module_style())
            e.also_is(ErrorKind::FFIError);
        cffix::translate_exception();
        return nullptr;
    } catch (...) {
        cffix::translate_exception();
        return nullptr;
    }
}

// ---------------------------------------------------------------- methods

static PyObject* ffi_cdef(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                          PyObject* kwnames) {
    static const char* const names[] = {"csource", "override", "packed", "pack", nullptr};
    PyObject* values[4] = {nullptr, Py_False, Py_False, Py_None};
    if (!parse_args("cdef", names, 1, args, nargs, kwnames, values)) return nullptr;
    if (!PyUnicode_Check(values[0])) {
        PyErr_Format(PyExc_TypeError, "cdef() argument 'csource' must be a str, not %s",
                     Py_TYPE(values[0])->tp_name);
        return nullptr;
    }
    types::CdefOptions options;
    int flag = PyObject_IsTrue(values[1]);
    if (flag < 0) return nullptr;
    options.override = flag;
    flag = PyObject_IsTrue(values[2]);
    if (flag < 0) return nullptr;
    options.packed = flag;
    if (values[3] != Py_None) {
        long pack = PyLong_AsLong(values[3]);
        if (pack == -1 && PyErr_Occurred()) return nullptr;
        if (pack != 0 && (pack < 0 || pack > 256 || (pack & (pack - 1)))) {
            PyErr_Format(PyExc_ValueError, "pack must be a power of two up to 256, got %ld", pack);
            return nullptr;
        }
        if (options.packed && pack > 1) {
            PyErr_SetString(PyExc_ValueError, "'packed' should be False if 'pack' is given");
            return nullptr;
        }
        options.pack = static_cast<uint32_t>(pack);
    }
    Py_ssize_t len;
    PyRef keep;
    const char* source = source_text(values[0], keep, &len);
    if (!source) return nullptr;
    try {
        ft::CriticalSection section(self);
        scope_of(self).cdef(std::string_view(source, static_cast<size_t>(len)), options);
    } catch (...) {
        return cffix::translate_exception();
    }
    Py_RETURN_NONE;
}

// ffi.cdef_header()'s core (headers.py): _cdef_header(text, own_lines, keep, override,
// packed, pack) -> (kept, skipped, renamed, inline, replay). Not an API.
static PyObject* str_of(const std::string& s) {
    return PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
}

static PyObject* pairs_to_list(const std::vector<std::pair<std::string, std::string>>& pairs) {
    PyRef list(PyList_New(0));
    if (!list) return nullptr;
    for (const auto& [a, b] : pairs) {
        PyRef first(str_of(a)), second(str_of(b));
        if (!first || !second) return nullptr;
        PyRef item(PyTuple_Pack(2, first.get(), second.get()));
        if (!item || PyList_Append(list.get(), item.get()) < 0) return nullptr;
    }
    return list.release();
}

static PyObject* ffi_cdef_header(PyObject* self, PyObject* args) {
    PyObject *text, *own_lines, *keep;
    int override = 0, packed = 0;
    unsigned int pack = 0;
    if (!PyArg_ParseTuple(args, "UOOppI:_cdef_header", &text, &own_lines, &keep, &override, &packed,
                          &pack))
        return nullptr;
    types::HeaderMode mode;
    PyRef seq(PySequence_Fast(own_lines, "own_lines must be a sequence"));
    if (!seq) return nullptr;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq.get()); ++i) {
        int first, last;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq.get(), i), "ii", &first, &last))
            return nullptr;
        mode.own_lines.emplace_back(first, last);
    }
    std::sort(mode.own_lines.begin(), mode.own_lines.end());
    if (keep != Py_None) {
        mode.keep = [keep](const std::string& name) {
            PyRef arg(str_of(name));
            if (!arg) throw cffix::PythonErrorSet{};
            PyRef result(PyObject_CallOneArg(keep, arg.get()));
            if (!result) throw cffix::PythonErrorSet{};
            int truth = PyObject_IsTrue(result.get());
            if (truth < 0) throw cffix::PythonErrorSet{};
            return truth != 0;
        };
    }
    types::CdefOptions options;
    options.override = override;
    options.packed = packed;
    options.pack = pack;
    Py_ssize_t len;
    PyRef keep_text;
    const char* source = source_text(text, keep_text, &len);
    if (!source) return nullptr;
    try {
        ft::CriticalSection section(self);
        scope_of(self).cdef_header(std::string_view(source, static_cast<size_t>(len)), options,
                                   mode);
    } catch (...) {
        return cffix::translate_exception();
    }
    PyRef kept(pairs_to_list(mode.kept));
    PyRef renamed(pairs_to_list(mode.renamed));
    PyRef inlined(pairs_to_list(mode.inline_functions));
    PyRef skipped(PyList_New(0));
    if (!kept || !renamed || !inlined || !skipped) return nullptr;
    for (const auto& k : mode.skipped) {
        PyRef name(str_of(k.name)), reason(str_of(k.reason)), line(PyLong_FromLong(k.line));
        if (!name || !reason || !line) return nullptr;
        PyRef item(PyTuple_Pack(3, name.get(), reason.get(), line.get()));
        if (!item || PyList_Append(skipped.get(), item.get()) < 0) return nullptr;
    }
    PyRef replay(str_of(mode.replay));
    PyRef macros(PyList_New(0));
    if (!replay || !macros) return nullptr;
    for (const auto& m : mode.macros) {
        if (!m.live) continue;
        PyRef name(str_of(m.name)), body(str_of(m.body)), line(PyLong_FromLong(m.line));
        if (!name || !body || !line) return nullptr;
        PyRef item(PyTuple_Pack(4, name.get(), body.get(), line.get(), m.own ? Py_True : Py_False));
        if (!item || PyList_Append(macros.get(), item.get()) < 0) return nullptr;
    }
    return PyTuple_Pack(6, kept.get(), skipped.get(), renamed.get(), inlined.get(), replay.get(),
                        macros.get());
}

// _line_markers(text) -> [(physical line of the marker, line number, file, flags)]: the
// `# N "file" flags` lines of a preprocessor output, found without a Python loop over its
// lines (headers.py). Not an API.
static PyObject* ffi_line_markers(PyObject*, PyObject* arg) {
    if (!PyUnicode_Check(arg)) return PyErr_Format(PyExc_TypeError, "expected a str");
    Py_ssize_t len;
    const char* text = PyUnicode_AsUTF8AndSize(arg, &len);
    if (!text) return nullptr;
    std::string_view s(text, static_cast<size_t>(len));
    PyRef list(PyList_New(0));
    if (!list) return nullptr;
    long line = 1;
    for (size_t at = 0; at < s.size();) {
        size_t end = s.find('\n', at);
        if (end == std::string_view::npos) end = s.size();
        std::string_view l = s.substr(at, end - at);
        if (l.size() > 3 && l[0] == '#' && l[1] == ' ' && l[2] >= '0' && l[2] <= '9') {
            size_t i = 2;
            long number = 0;
            while (i < l.size() && l[i] >= '0' && l[i] <= '9' && number < 100000000)
                number = number * 10 + (l[i++] - '0');
            size_t open = l.find('"', i), close = l.rfind('"');
            if (open != std::string_view::npos && close > open) {
                std::string file(l.substr(open + 1, close - open - 1));
                PyRef f(str_of(file)), flags(str_of(std::string(l.substr(close + 1))));
                PyRef n(PyLong_FromLong(line)), p(PyLong_FromLong(number));
                if (!f || !flags || !n || !p) return nullptr;
                PyRef item(PyTuple_Pack(4, n.get(), p.get(), f.get(), flags.get()));
                if (!item || PyList_Append(list.get(), item.get()) < 0) return nullptr;
            }
        }
        ++line;
        at = end + 1;
    }
    return list.release();
}

// typeof() also takes a cdata: its type.
static PyObject* ffi_typeof(PyObject* self, PyObject* arg) {
    if (data::is_cdata(arg))
        return Py_NewRef(reinterpret_cast<PyObject*>(reinterpret_cast<data::CData*>(arg)->ctype));
    if (!PyUnicode_Check(arg) && !types::is_ctype(arg)) {
        if (CType* f = lib::function_type_of(arg))  // an API-mode lib.f, as in cffi
            return Py_NewRef(reinterpret_cast<PyObject*>(f));
        if (PyErr_Occurred()) return nullptr;
        return PyErr_Format(PyExc_TypeError, "expected a str, ctype or cdata object, got %s",
                            Py_TYPE(arg)->tp_name);
    }
    CType* t = ctype_arg(self, arg);
    return t ? Py_NewRef(reinterpret_cast<PyObject*>(t)) : nullptr;
}

// `t` with its layout computed; a struct with '...' cannot have one in ABI mode. Throws.
static CType* complete_ctype(CType* t) {
    if ((t->kind == Kind::Struct || t->kind == Kind::Union) && (t->flags & types::RF_PARTIAL))
        throw Error(ErrorKind::VerificationMissing, t->cname);
    types::complete_type(t, true);
    return t;
}

static PyObject* ffi_sizeof(PyObject* self, PyObject* arg) {
    if (data::is_cdata(arg)) {  // the size of the cdata's own memory
        auto* cd = reinterpret_cast<data::CData*>(arg);
        if (cd->ctype->kind == Kind::Array)
            return PyLong_FromSsize_t(cd->length * cd->ctype->item->size);
        if (cd->ctype->kind == Kind::Struct || cd->ctype->kind == Kind::Union) {
            // With a flexible array member, the memory actually there (as cffi).
            Py_ssize_t extent = data::known_extent(cd);
            if (extent >= 0)
                return PyLong_FromSsize_t(std::max<Py_ssize_t>(extent, cd->ctype->size));
        }
        if (cd->ctype->size >= 0) return PyLong_FromLongLong(cd->ctype->size);
    }
    CType* t = ctype_arg(self, arg);
    if (!t) return nullptr;
    try {
        return PyLong_FromLongLong(complete_ctype(t)->size);
    } catch (Error& e) {
        // cffi's API-mode ffi: an unknown size is ffi.error too (a ValueError still).
        FFIObject* ffi = as_ffi(self);
        if (ffi->scope && ffi->scope->api_module_style()) e.also_is(ErrorKind::FFIError);
        return cffix::translate_exception();
    } catch (...) {
        return cffix::translate_exception();
    }
}

static PyObject* ffi_alignof(PyObject* self, PyObject* arg) {
    // A cdata stands for its type, as in cffi: ffi.alignof(ffi.new("int[]", 5)) == 4.
    CType* t =
        data::is_cdata(arg) ? reinterpret_cast<data::CData*>(arg)->ctype : ctype_arg(self, arg);
    if (!t) return nullptr;
    try {
        // An array of unknown length has no size, but its item's alignment.
        return PyLong_FromLong(
            complete_ctype(t->kind == Kind::Array && t->length < 0 ? t->item : t)->align);
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::ValueError)
            return PyErr_Format(PyExc_ValueError, "ctype '%s' is of unknown alignment",
                                t->cname.c_str());
        return cffix::translate_exception();
    } catch (...) {
        return cffix::translate_exception();
    }
}

static PyObject* ffi_offsetof(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
    if (nargs < 2) {
        PyErr_SetString(PyExc_TypeError,
                        "offsetof() takes a type and at least one field name or index");
        return nullptr;
    }
    CType* t = ctype_arg(self, args[0]);
    if (!t) return nullptr;
    try {
        auto path = std::span(args + 1, static_cast<size_t>(nargs - 1));
        return PyLong_FromLongLong(types::walk_path(t, path).offset);
    } catch (...) {
        return cffix::translate_exception();
    }
}

static PyObject* ffi_getctype(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                              PyObject* kwnames) {
    static const char* const names[] = {"cdecl", "replace_with", nullptr};
    PyObject* v[2] = {nullptr, nullptr};
    if (!parse_args("getctype", names, 1, args, nargs, kwnames, v)) return nullptr;
    PyObject* cdecl = v[0];
    PyObject* replace_with = v[1];
    std::string text;
    if (replace_with) {
        if (!PyUnicode_Check(replace_with)) {
            PyErr_Format(PyExc_TypeError, "replace_with must be a str, not %s",
                         Py_TYPE(replace_with)->tp_name);
            return nullptr;
        }
        const char* s = PyUnicode_AsUTF8(replace_with);
        if (!s) return nullptr;
        text = s;
        size_t b = text.find_first_not_of(" \t\n");
        size_t e = text.find_last_not_of(" \t\n");
        text = b == std::string::npos ? "" : text.substr(b, e - b + 1);
    }
    CType* t = ctype_arg(self, cdecl);
    if (!t) return nullptr;
    try {
        // `*x` into an array type needs parentheses: int(*x)[5], not int*x[5].
        bool before_bracket = t->name_pos < t->cname.size() && t->cname[t->name_pos] == '[';
        if (!text.empty() && text[0] == '*' && before_bracket)
            text = "(" + text + ")";
        else if (!text.empty() && text[0] != '[' && text[0] != '(')
            text = " " + text;
        std::string out = types::cname_with(t, text);
        return PyUnicode_FromStringAndSize(out.data(), static_cast<Py_ssize_t>(out.size()));
    } catch (...) {
        return cffix::translate_exception();
    }
}

static PyObject* string_list(const std::vector<std::string>& names) {
    PyRef list(PyList_New(0));
    if (!list) return nullptr;
    for (const auto& n : names) {
        PyRef s(PyUnicode_FromStringAndSize(n.data(), static_cast<Py_ssize_t>(n.size())));
        if (!s || PyList_Append(list.get(), s.get()) < 0) return nullptr;
    }
    return list.release();
}

static PyObject* ffi_list_types(PyObject* self, PyObject*) {
    try {
        std::vector<std::string> typedefs, structs, unions;
        {
            ft::CriticalSection section(self);
            scope_of(self).list_types(typedefs, structs, unions);
        }
        PyRef a(string_list(typedefs)), b(string_list(structs)), c(string_list(unions));
        if (!a || !b || !c) return nullptr;
        return PyTuple_Pack(3, a.get(), b.get(), c.get());
    } catch (...) {
        return cffix::translate_exception();
    }
}

// ffi.integer_const(name): cffi's way to read an integer constant (#define, enumerator,
// `static const int`) without a library; searched as lib attributes are.
static PyObject* ffi_integer_const(PyObject* self, PyObject* name) {
    if (!PyUnicode_Check(name))
        return PyErr_Format(PyExc_TypeError, "integer_const() expects a str, got %s",
                            Py_TYPE(name)->tp_name);
    Py_ssize_t length = 0;
    const char* text = PyUnicode_AsUTF8AndSize(name, &length);
    if (!text) return nullptr;
    try {
        std::string key(text, static_cast<size_t>(length));
        ft::CriticalSection section(self);
        types::GlobalDecl g = scope_of(self).find_global(key);
        if (g.macro)
            throw Error(ErrorKind::FFIError,
                        "constant '" + key + "' is a " +
                            (g.macro->kind == types::MacroConstantDecl::Floating ? "float"
                             : g.macro->kind == types::MacroConstantDecl::Bytes  ? "bytes"
                                                                                 : "str") +
                            ", not an integer: read it as lib." + key);
        if (!g.constant)
            throw Error(ErrorKind::FFIError, "integer constant '" + key + "' not found");
        if (g.constant->dots)
            throw Error(
                ErrorKind::VerificationMissing,
                "the value of '" + key + "' (declared with '...') is only known in API mode");
        return int128_to_python(g.constant->value);
    } catch (...) {
        return cffix::translate_exception();
    }
}

static PyObject* ffi_include(PyObject* self, PyObject* other) {
    if (!PyObject_TypeCheck(other, &FFI_Type)) {
        PyErr_Format(PyExc_TypeError, "ffi.include() expects an FFI object, got %s",
                     Py_TYPE(other)->tp_name);
        return nullptr;
    }
    ft::CriticalSection section(self);
    try {
        scope_of(self).include(&scope_of(other));
    } catch (...) {
        return cffix::translate_exception();
    }
    FFIObject* ffi = as_ffi(self);
    // Keep the included FFI (and so its scope) alive as long as this one.
    if (!ffi->included && !(ffi->included = PyList_New(0))) return nullptr;
    if (PyList_Append(ffi->included, other) < 0) return nullptr;
    Py_RETURN_NONE;
}

// ffi._cffix_api_style(): this FFI behaves as the ffi of cffi's API-mode modules
// (_cffi_backend.FFI, compat.py): a type string's errors are ffi.error too, and a struct or
// union tag no cdef declared is refused instead of declared opaque.
static PyObject* ffi_api_style(PyObject* self, PyObject*) {
    try {
        ft::CriticalSection section(self);
        scope_of(self).refuse_undeclared_tags();
    } catch (...) {
        return cffix::translate_exception();
    }
    Py_RETURN_NONE;
}

// ffi._cffix_use_types_of(module_ffi), for ffi.verify() (builder.py): from now on this
// FFI declares and resolves through the scope of the ffi of the module verify() built, so
// that its types are the module's (a cdata of this ffi passes to the module's functions),
// completed by the compiler (`...`). Its own scope stays owned, for the libraries it
// loaded before; the module's ffi is kept alive as an included one.
static PyObject* ffi_use_types_of(PyObject* self, PyObject* other) {
    if (!PyObject_TypeCheck(other, &FFI_Type)) {
        PyErr_Format(PyExc_TypeError, "expected an FFI object, got %s", Py_TYPE(other)->tp_name);
        return nullptr;
    }
    FFIObject* ffi = as_ffi(self);
    ft::CriticalSection section(self);
    try {
        scope_of(self);
        types::Scope* scope = &scope_of(other);
        if (!ffi->included && !(ffi->included = PyList_New(0))) return nullptr;
        if (PyList_Append(ffi->included, other) < 0) return nullptr;
        ffi->scope = scope;
        drop_type_caches(ffi);
        ffi->cache_generation = scope->generation();
    } catch (...) {
        return cffix::translate_exception();
    }
    Py_RETURN_NONE;
}

static PyMethodDef type_methods[] = {
    {"_cdef_header", ffi_cdef_header, METH_VARARGS,
     "cffix's core of ffi.cdef_header() (cffix/headers.py): not an API."},
    {"_line_markers", ffi_line_markers, METH_O | METH_STATIC,
     "The line markers of a preprocessor output (cffix/headers.py): not an API."},
    {"cdef", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(ffi_cdef)),
     METH_FASTCALL | METH_KEYWORDS,
     "cdef(csource, override=False, packed=False, pack=None)\n--\n\n"
     "Declare C types, functions, globals and constants, in C syntax.\n\n"
     "    ffi.cdef('struct point { int x, y; }; int abs(int);')\n\n"
     "override=True lets later declarations replace earlier ones; packed=True packs every\n"
     "struct of this call; pack=N gives them #pragma pack(N) layout."},
    {"typeof", ffi_typeof, METH_O,
     "typeof($self, cdecl, /)\n--\n\nThe CType of a type string (or a CType itself).\n\n"
     "    ffi.typeof('struct point *')  # <ctype 'struct point *'>"},
    {"sizeof", ffi_sizeof, METH_O,
     "sizeof($self, cdecl, /)\n--\n\nThe size in bytes of a type.\n\n    ffi.sizeof('int')  # 4"},
    {"alignof", ffi_alignof, METH_O,
     "alignof($self, cdecl, /)\n--\n\nThe alignment in bytes of a type.\n\n    "
     "ffi.alignof('double')  # 8"},
    {"offsetof", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(ffi_offsetof)),
     METH_FASTCALL,
     "offsetof($self, cdecl, /, *fields_or_indexes)\n--\n\n"
     "The byte offset of a field (or nested fields / array items) in a type.\n\n"
     "    ffi.offsetof('struct point', 'y')  # 4"},
    {"getctype", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(ffi_getctype)),
     METH_FASTCALL | METH_KEYWORDS,
     "getctype($self, cdecl, replace_with='')\n--\n\n"
     "The C spelling of a type, with replace_with put where a declarator goes.\n\n"
     "    ffi.getctype('int[5]', '*p')  # 'int(*p)[5]'"},
    {"list_types", ffi_list_types, METH_NOARGS,
     "list_types($self, /)\n--\n\n(typedef names, struct names, union names) declared so far.\n\n"
     "    ffi.list_types()  # (['point_t'], ['point'], [])"},
    {"integer_const", ffi_integer_const, METH_O,
     "integer_const($self, name, /)\n--\n\nThe value of an integer constant (#define, enumerator, "
     "static const) declared with cdef().\n\n    ffi.integer_const('FOO')  # 42"},
    {"_cffix_api_style", ffi_api_style, METH_NOARGS,
     "_cffix_api_style(): behave as the ffi of an API-mode module (cffi's "
     "_cffi_backend.FFI, compat.py)."},
    {"_cffix_use_types_of", ffi_use_types_of, METH_O,
     "_cffix_use_types_of(module_ffi): resolve through the scope of the ffi of a module that "
     "verify() built (builder.py)."},
    {"include", ffi_include, METH_O,
     "include($self, other_ffi, /)\n--\n\nMake the types and declarations of another FFI usable "
     "here.\n\n"
     "    ffi.include(base_ffi)"},
    {nullptr, nullptr, 0, nullptr},
};

// ffi._cffix_state: a dict private to cffix's Python code, kept off the instance
// __dict__ (see add_ffi_methods).
static PyObject* ffi_get_state(PyObject* self, void*) {
    FFIObject* ffi = as_ffi(self);
    PyObject* state = ft::load_acquire(ffi->state);
    if (!state) {
        // Made on first use; two threads may race here without the GIL: one dict wins.
        PyObject* fresh = PyDict_New();
        if (!fresh) return nullptr;
        PyObject* expected = nullptr;
        if (ft::compare_exchange(ffi->state, expected, fresh)) {
            state = fresh;
        } else {
            Py_DECREF(fresh);
            state = expected;
        }
    }
    return Py_NewRef(state);
}

static PyGetSetDef ffi_getset[] = {
    {"_cffix_state", ffi_get_state, nullptr,
     "cffix's own per-FFI state (cdef history, init_once, set_source): not an API.", nullptr},
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyTypeObject FFI_Type;  // filled in by init_ffi_type

// _core.add_ffi_methods(namespace): the methods of FFI written in Python (api.py) go into
// this C type itself. With a Python subclass instead, CPython 3.11 cannot specialize
// calls like ffi.new(...) (a method descriptor called on an instance of a subclass),
// and each such call costs about 400 more machine instructions, a third of ffi.new.
PyObject* add_ffi_methods(PyObject*, PyObject* ns) {
    if (!PyDict_Check(ns)) return PyErr_Format(PyExc_TypeError, "expected a dict");
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(ns, &pos, &key, &value)) {
        if (!PyUnicode_Check(key)) continue;
        bool dunder = PyUnicode_GetLength(key) > 4 && PyUnicode_READ_CHAR(key, 0) == '_' &&
                      PyUnicode_READ_CHAR(key, 1) == '_';
        if (dunder) continue;  // __doc__ is tp_doc; __module__, __dict__...: the helper's
        if (PyDict_SetItem(FFI_Type.tp_dict, key, value) < 0) return nullptr;
    }
    PyType_Modified(&FFI_Type);
    Py_RETURN_NONE;
}

static PyGetSetDef* all_getset() {
    static std::vector<PyGetSetDef> table = [] {
        std::vector<PyGetSetDef> v;
        for (PyGetSetDef* part : {ffi_getset, ffi_ownership_getset})
            for (PyGetSetDef* g = part; g->name; ++g) v.push_back(*g);
        v.push_back({nullptr, nullptr, nullptr, nullptr, nullptr});
        return v;
    }();
    return table.data();
}

// The method table: the type queries above, then each layer's methods.
static PyMethodDef* all_methods() {
    static std::vector<PyMethodDef> table = [] {
        std::vector<PyMethodDef> v;
        for (PyMethodDef* part :
             {type_methods, ffi_data_methods, ffi_memory_methods, ffi_ownership_methods,
              ffi_lib_methods, ffi_callback_methods, ffi_build_methods, ffi_macro_methods})
            for (PyMethodDef* m = part; m->ml_name; ++m) v.push_back(*m);
        v.push_back({nullptr, nullptr, 0, nullptr});
        return v;
    }();
    return table.data();
}

bool init_ffi_type(PyObject* module) {
    PyTypeObject& t = FFI_Type;
    Py_SET_REFCNT(&t, 1);
    t.tp_name = "cffix.FFI";
    t.tp_basicsize = sizeof(FFIObject);
    t.tp_dealloc = ffi_dealloc;
    t.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC;
    t.tp_doc =
        "FFI(backend=None)\n--\n\n"
        "The entry point of cffix, as cffi.FFI.\n\n"
        "    from cffix import FFI\n"
        "    ffi = FFI()\n"
        "    ffi.cdef(\"typedef struct { double x, y; } point_t;\")\n"
        "    ffi.offsetof(\"point_t\", \"y\")   # 8\n\n"
        "The backend argument is accepted and ignored, as in cffi.";
    t.tp_traverse = ffi_traverse;
    t.tp_clear = ffi_clear;
    t.tp_weaklistoffset = offsetof(FFIObject, weakreflist);
    t.tp_methods = all_methods();
    t.tp_getset = all_getset();
    t.tp_dictoffset = offsetof(FFIObject, dict);
    t.tp_init = ffi_init;
    t.tp_new = ffi_new;
    if (PyType_Ready(&t) < 0) return false;
    return PyModule_AddObjectRef(module, "FFI", reinterpret_cast<PyObject*>(&t)) >= 0;
}

}  // namespace cffix
