// Wrapped functions: the shape compiled from a spec, and the call (see wrap.h).
#include "call/wrap.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <new>
#include <unordered_map>
#include <utility>

#include "call/function.h"
#include "call/invoke.h"
#include "data/ownership.h"
#include "parse/expr.h"
#include "util/errors.h"
#include "util/ft.h"

namespace cffix::call {

using data::CData;
using types::Kind;

namespace {

// ---------------------------------------------------------------- rules

// Under rules_mutex (nothing in the default build, where the GIL guards it); a PyRef
// taken or dropped under the lock is released after it (its dealloc may run Python).
std::unordered_map<const types::Scope*, PyRef>& rules_table() {
    static auto* table = new std::unordered_map<const types::Scope*, PyRef>();
    return *table;  // never freed: looked up while the interpreter finalizes
}
ft::Mutex rules_mutex;

// ---------------------------------------------------------------- shapes

// Out parameters live in one frame buffer of the call.
constexpr size_t kOutBytes = 256;

enum class Role : uint8_t { Python, Out, InOut, Default };
enum class Text : uint8_t { None, Str, Bytes };

struct Param {
    Role role = Role::Python;
    Py_ssize_t py_index = -1;  // Python, InOut: its position in the Python call
    uint32_t out_offset = 0;   // Out, InOut: in the out buffer
    CType* pointee = nullptr;  // Out, InOut: borrowed (the function type holds it)
    std::unique_ptr<Policy> default_value;
    Text text = Text::None;
    PyRef destructor;  // owned outs: the destroy function (a plain function cdata)
    bool consumed = false;
};

struct Shape {
    std::vector<Param> params;
    std::vector<int> outs;  // parameter indexes of outs and inouts, in order
    Py_ssize_t py_nargs = 0;
    size_t out_bytes = 0;
    std::unique_ptr<Policy> policy;
    Text result_text = Text::None;
    PyRef result_destructor;
    bool adopt_on_error = false;
    bool has_consumed = false;
    // Parameters from the caller or outs only, and no policy or a quick one: the call can
    // take the fixed-count entry (wrapped_vectorcall_simple).
    bool simple = false;
    bool plain_result = false;  // no outs, no text, not owned: the result as lib.f gives it
    // Outs without text or owner, a result without them: a successful call returns them
    // as value_from_c makes them (plain_return), without finish().
    bool plain_outs = false;
    bool outs_with_result = false;  // the result leads the tuple of outs
    // Every parameter from the caller, in order, and a plain result: the simple entry
    // converts as lib.f's fast path does (wrapped_vectorcall_simple<N, true>).
    bool direct = false;
    // The last tuple of outs returned, reused while nothing else holds it (plain_return).
    mutable PyRef recycled;
    std::vector<std::string> param_names;  // the declaration's, for f.map's messages
};

struct WrappedFunction {
    CData base;
    vectorcallfunc vectorcall;
    PyObject* name;  // str
    CallPlan* plan;  // kept alive by base.ctype
    bool release_gil;
    Shape* shape;            // owned
    LibraryHandle* library;  // owned: calls raise once it is closed
};

PyTypeObject WrappedFunction_Type;

// ---------------------------------------------------------------- compiling the spec

// A parameter named by `key` (its name, "argN" or an int index): its index, or -1 with
// an exception set.
int param_index(PyObject* key, const WrapTarget& t, const char* option) {
    const CType* ft = t.decl->type.get();
    Py_ssize_t n = static_cast<Py_ssize_t>(ft->args.size());
    if (PyLong_Check(key)) {
        Py_ssize_t k = PyLong_AsSsize_t(key);
        if (k == -1 && PyErr_Occurred()) return -1;
        if (k < 0 || k >= n) {
            PyErr_Format(PyExc_IndexError, "%s: %s() has no parameter %zd (it takes %zd)", option,
                         t.name->c_str(), k, n);
            return -1;
        }
        return static_cast<int>(k);
    }
    if (!PyUnicode_Check(key)) {
        PyErr_Format(PyExc_TypeError, "%s: a parameter is a name or an index, not %R", option, key);
        return -1;
    }
    const char* name = PyUnicode_AsUTF8(key);
    if (!name) return -1;
    const auto& names = t.decl->param_names;
    if (names.size() == ft->args.size())
        for (size_t k = 0; k < names.size(); ++k)
            if (!names[k].empty() && names[k] == name) return static_cast<int>(k);
    if (strncmp(name, "arg", 3) == 0 && name[3]) {
        char* end;
        long k = strtol(name + 3, &end, 10);
        if (!*end && k >= 0 && k < n) return static_cast<int>(k);
    }
    PyErr_Format(PyExc_KeyError, "%s: %s() has no parameter named '%s'", option, t.name->c_str(),
                 name);
    return -1;
}

bool is_return_key(PyObject* key) {
    return PyUnicode_Check(key) && PyUnicode_CompareWithASCIIString(key, "return") == 0;
}

PyObject* dict_option(PyObject* spec, const char* key) {
    PyObject* v = PyDict_GetItemString(spec, key);  // borrowed
    if (!v || v == Py_None) return nullptr;
    if (!PyDict_Check(v)) {
        PyErr_Format(PyExc_TypeError, "%s=: expected a dict, got %s", key, Py_TYPE(v)->tp_name);
        return nullptr;
    }
    return v;
}

std::string attr_string(PyObject* obj, const char* name, bool& ok) {
    PyRef v(PyObject_GetAttrString(obj, name));
    if (!v) {
        ok = false;
        return {};
    }
    if (v.get() == Py_None) return {};
    const char* text = PyUnicode_Check(v.get()) ? PyUnicode_AsUTF8(v.get()) : nullptr;
    if (!text) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_TypeError, "errors: %s must be a str (a C expression), not %s", name,
                         Py_TYPE(v.get())->tp_name);
        ok = false;
        return {};
    }
    return text;
}

// A plain function cdata for the declared function `name` (a destroy function).
PyObject* destroy_function(const WrapTarget& t, PyObject* name_obj) {
    if (!PyUnicode_Check(name_obj))
        return PyErr_Format(PyExc_TypeError,
                            "owned=: the destroy function is the name of a declared function, "
                            "not %R",
                            name_obj);
    std::string name = PyUnicode_AsUTF8(name_obj);
    types::GlobalDecl g = t.scope->find_global(name);
    if (!g.function)
        return PyErr_Format(PyExc_KeyError, "owned=: '%s' is not a function declared in the cdef",
                            name.c_str());
    CType* ft = g.function->type.get();
    if (ft->args.size() != 1 || ft->args[0]->kind != Kind::Pointer)
        return PyErr_Format(PyExc_TypeError,
                            "owned=: the destroy function '%s' must take one pointer argument",
                            name.c_str());
    void* address = t.resolve(t.resolve_context, name);
    if (!address) return nullptr;
    // Callable after ffi.dlclose(): owned results die when they die, and must be freed.
    PyRef kept(reinterpret_cast<PyObject*>(keep_loaded(t.library)));
    if (!kept) return nullptr;
    return make_function(ft, address, t.release_gil, reinterpret_cast<LibraryHandle*>(kept.get()));
}

bool compile_text(PyObject* text, const WrapTarget& t, Shape& shape) {
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(text, &pos, &key, &value)) {
        Text kind;
        if (PyUnicode_Check(value) && PyUnicode_CompareWithASCIIString(value, "str") == 0)
            kind = Text::Str;
        else if (PyUnicode_Check(value) && PyUnicode_CompareWithASCIIString(value, "bytes") == 0)
            kind = Text::Bytes;
        else {
            PyErr_Format(PyExc_ValueError, "text=: expected 'str' or 'bytes', got %R", value);
            return false;
        }
        CType* type;
        if (is_return_key(key)) {
            type = t.decl->type->item;
            shape.result_text = kind;
        } else {
            int k = param_index(key, t, "text=");
            if (k < 0) return false;
            Param& p = shape.params[static_cast<size_t>(k)];
            if (p.role != Role::Out && p.role != Role::InOut) {
                PyErr_Format(PyExc_ValueError,
                             "text=: parameter %R of %s() is not an out parameter", key,
                             t.name->c_str());
                return false;
            }
            type = p.pointee;
            p.text = kind;
        }
        if (type->kind != Kind::Pointer || !types::is_byte_like(type->item)) {
            PyErr_Format(PyExc_TypeError, "text=: %R of %s() is a '%s', not a 'char *'", key,
                         t.name->c_str(), type->cname.c_str());
            return false;
        }
    }
    return true;
}

std::unique_ptr<Shape> compile_shape(PyObject* spec, const WrapTarget& t) {
    if (!PyDict_Check(spec)) {
        PyErr_SetString(PyExc_TypeError, "wrap rules must give a dict");
        return nullptr;
    }
    CType* ft = t.decl->type.get();
    if (ft->ellipsis) {
        PyErr_Format(PyExc_TypeError, "%s() is variadic: it cannot be wrapped", t.name->c_str());
        return nullptr;
    }
    auto shape = std::make_unique<Shape>();
    shape->params.resize(ft->args.size());
    if (t.decl->param_names.size() == ft->args.size()) shape->param_names = t.decl->param_names;
    FunctionContext fn{t.scope,        ft, &t.decl->param_names, t.resolve, t.resolve_context,
                       t.name->c_str()};
    std::vector<std::string> no_names(ft->args.size());
    if (t.decl->param_names.size() != ft->args.size()) fn.param_names = &no_names;

    if (PyObject* out = dict_option(spec, "out")) {
        PyObject *key, *value;
        Py_ssize_t pos = 0;
        while (PyDict_Next(out, &pos, &key, &value)) {
            int k = param_index(key, t, "out=");
            if (k < 0) return nullptr;
            bool inout =
                PyUnicode_Check(value) && PyUnicode_CompareWithASCIIString(value, "inout") == 0;
            if (!inout &&
                !(PyUnicode_Check(value) && PyUnicode_CompareWithASCIIString(value, "out") == 0)) {
                PyErr_Format(PyExc_ValueError, "out=: expected 'out' or 'inout' for %R, got %R",
                             key, value);
                return nullptr;
            }
            CType* a = ft->args[static_cast<size_t>(k)];
            bool complete = false;
            try {
                complete = a->kind == Kind::Pointer && a->item->kind != Kind::Void &&
                           types::complete_type(a->item, false);
            } catch (...) {
                cffix::translate_exception();
                return nullptr;
            }
            if (!complete || a->item->size <= 0) {
                PyErr_Format(PyExc_TypeError,
                             "out=: parameter %R of %s() is a '%s': an out parameter is a "
                             "pointer to a complete type",
                             key, t.name->c_str(), a->cname.c_str());
                return nullptr;
            }
            Param& p = shape->params[static_cast<size_t>(k)];
            p.role = inout ? Role::InOut : Role::Out;
            p.pointee = a->item;
        }
    }
    // Out storage in parameter order, each aligned for its type.
    for (size_t k = 0; k < shape->params.size(); ++k) {
        Param& p = shape->params[k];
        if (p.role != Role::Out && p.role != Role::InOut) continue;
        size_t align = std::max<size_t>(8, p.pointee->align);
        shape->out_bytes = (shape->out_bytes + align - 1) & ~(align - 1);
        p.out_offset = static_cast<uint32_t>(shape->out_bytes);
        shape->out_bytes += static_cast<size_t>(p.pointee->size);
        shape->outs.push_back(static_cast<int>(k));
        if (shape->out_bytes > kOutBytes || align > 16) {
            PyErr_Format(PyExc_ValueError,
                         "out=: the out parameters of %s() take more than %zu bytes (or are "
                         "over-aligned): pass them as ordinary arguments",
                         t.name->c_str(), kOutBytes);
            return nullptr;
        }
    }
    if (PyObject* defaults = dict_option(spec, "default")) {
        PyObject *key, *value;
        Py_ssize_t pos = 0;
        while (PyDict_Next(defaults, &pos, &key, &value)) {
            int k = param_index(key, t, "default=");
            if (k < 0) return nullptr;
            Param& p = shape->params[static_cast<size_t>(k)];
            if (p.role != Role::Python) {
                PyErr_Format(PyExc_ValueError, "default=: parameter %R of %s() is an out parameter",
                             key, t.name->c_str());
                return nullptr;
            }
            if (!PyUnicode_Check(value)) {
                PyErr_Format(PyExc_TypeError,
                             "default=: expected a C expression (str) for %R, got %R", key, value);
                return nullptr;
            }
            p.default_value =
                compile_default(PyUnicode_AsUTF8(value), fn, ft->args[static_cast<size_t>(k)]);
            if (!p.default_value) return nullptr;
            p.role = Role::Default;
        }
    }
    if (PyObject* consumes = PyDict_GetItemString(spec, "consumes")) {
        if (consumes != Py_None) {
            PyRef seq(PySequence_Fast(consumes, "consumes=: expected a list of parameters"));
            if (!seq) return nullptr;
            for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq.get()); ++i) {
                PyObject* key = PySequence_Fast_GET_ITEM(seq.get(), i);
                int k = param_index(key, t, "consumes=");
                if (k < 0) return nullptr;
                Param& p = shape->params[static_cast<size_t>(k)];
                if (p.role != Role::Python ||
                    ft->args[static_cast<size_t>(k)]->kind != Kind::Pointer) {
                    PyErr_Format(PyExc_TypeError,
                                 "consumes=: parameter %R of %s() must be a pointer passed by "
                                 "the caller",
                                 key, t.name->c_str());
                    return nullptr;
                }
                p.consumed = true;
                shape->has_consumed = true;
            }
        }
    }
    Py_ssize_t py = 0;
    for (Param& p : shape->params)
        if (p.role == Role::Python || p.role == Role::InOut) p.py_index = py++;
    shape->py_nargs = py;

    if (PyObject* owned = dict_option(spec, "owned")) {
        PyObject *key, *value;
        Py_ssize_t pos = 0;
        while (PyDict_Next(owned, &pos, &key, &value)) {
            PyRef destructor(destroy_function(t, value));
            if (!destructor) return nullptr;
            if (is_return_key(key)) {
                if (ft->item->kind != Kind::Pointer) {
                    PyErr_Format(PyExc_TypeError, "owned=: %s() returns a '%s', not a pointer",
                                 t.name->c_str(), ft->item->cname.c_str());
                    return nullptr;
                }
                shape->result_destructor = std::move(destructor);
                continue;
            }
            int k = param_index(key, t, "owned=");
            if (k < 0) return nullptr;
            Param& p = shape->params[static_cast<size_t>(k)];
            if ((p.role != Role::Out && p.role != Role::InOut) ||
                p.pointee->kind != Kind::Pointer) {
                PyErr_Format(PyExc_TypeError,
                             "owned=: parameter %R of %s() must be an out parameter of a "
                             "pointer (T **)",
                             key, t.name->c_str());
                return nullptr;
            }
            p.destructor = std::move(destructor);
        }
    }
    PyObject* adopt = PyDict_GetItemString(spec, "adopt_on_error");
    if (adopt) {
        int v = PyObject_IsTrue(adopt);
        if (v < 0) return nullptr;
        shape->adopt_on_error = v;
    }
    if (PyObject* text = dict_option(spec, "text"))
        if (!compile_text(text, t, *shape)) return nullptr;
    if (PyErr_Occurred()) return nullptr;

    PyObject* errors = PyDict_GetItemString(spec, "errors");
    if (errors && errors != Py_None) {
        PolicySource source;
        bool ok = true;
        source.fails = attr_string(errors, "fails", ok);
        if (ok) source.code = attr_string(errors, "code", ok);
        if (ok) source.message = attr_string(errors, "message", ok);
        if (ok) source.name = attr_string(errors, "name", ok);
        if (!ok) return nullptr;
        PyObject* message = PyDict_GetItemString(spec, "message");
        if (message && message != Py_None) {
            if (!PyUnicode_Check(message)) {
                PyErr_Format(PyExc_TypeError, "message=: expected a C expression (str), got %R",
                             message);
                return nullptr;
            }
            source.message = PyUnicode_AsUTF8(message);
        }
        source.raises = PyRef(PyObject_GetAttrString(errors, "raises"));
        PyRef retry(PyObject_GetAttrString(errors, "retry_eintr"));
        PyRef errno_style(PyObject_GetAttrString(errors, "errno_style"));
        PyRef fallback(PyObject_GetAttrString(errors, "_default_class"));
        if (!source.raises || !retry || !errno_style || !fallback) return nullptr;
        source.retry_eintr = PyObject_IsTrue(retry.get()) == 1;
        source.errno_style = PyObject_IsTrue(errno_style.get()) == 1;
        if (source.fails.empty()) {
            PyErr_SetString(PyExc_ValueError, "errors: a policy needs fails=");
            return nullptr;
        }
        source.fallback = std::move(fallback);
        shape->policy = compile_policy(source, fn);
        if (!shape->policy) return nullptr;
    } else if (PyDict_GetItemString(spec, "message") &&
               PyDict_GetItemString(spec, "message") != Py_None) {
        PyErr_Format(PyExc_ValueError, "message=: %s() has no error policy (errors=)",
                     t.name->c_str());
        return nullptr;
    }
    bool plain_roles = true;
    for (const Param& p : shape->params)
        plain_roles &= (p.role == Role::Python || p.role == Role::Out) && !p.consumed;
    shape->simple = plain_roles && (!shape->policy || shape->policy->quick_op);
    shape->plain_result =
        shape->outs.empty() && shape->result_text == Text::None && !shape->result_destructor;
    shape->plain_outs = !shape->outs.empty() && shape->result_text == Text::None &&
                        !shape->result_destructor && !shape->has_consumed;
    for (int k : shape->outs) {
        const Param& p = shape->params[static_cast<size_t>(k)];
        shape->plain_outs &= p.text == Text::None && !p.destructor;
    }
    shape->outs_with_result = ft->item->kind != Kind::Void && !shape->policy;
    shape->direct = shape->simple && shape->plain_result;
    for (size_t k = 0; k < shape->params.size(); ++k)
        shape->direct &= shape->params[k].role == Role::Python &&
                         shape->params[k].py_index == static_cast<Py_ssize_t>(k);
    return shape;
}

// ---------------------------------------------------------------- the call

PyObject* text_value(Text text, const char* p) {
    if (!p) Py_RETURN_NONE;
    if (text == Text::Bytes) return PyBytes_FromString(p);
    return PyUnicode_DecodeUTF8(p, static_cast<Py_ssize_t>(strlen(p)), "strict");
}

// A result or out value as the caller gets it: text decoded, owned pointers owning.
PyObject* shaped_value(CType* type, char* src, Text text, PyObject* destructor) {
    if (text != Text::None) {
        const char* p;
        memcpy(&p, src, sizeof p);
        return text_value(text, p);
    }
    PyRef v(data::value_from_c(type, src));
    if (!v || !destructor) return v.release();
    if (reinterpret_cast<CData*>(v.get())->data == nullptr) return v.release();  // NULL
    return data::gc_cdata(reinterpret_cast<CData*>(v.get()), destructor, 0);
}

// The outs of a failed call adopted by the exception (adopt_on_error): `exc.outs`.
void adopt_outs(const Shape& shape, const CType* ft, char* outs) {
    PyObject *type, *exc, *tb;
    PyErr_Fetch(&type, &exc, &tb);
    PyErr_NormalizeException(&type, &exc, &tb);
    PyRef tuple(PyTuple_New(static_cast<Py_ssize_t>(shape.outs.size())));
    bool ok = static_cast<bool>(tuple);
    for (size_t i = 0; ok && i < shape.outs.size(); ++i) {
        const Param& p = shape.params[static_cast<size_t>(shape.outs[i])];
        PyObject* v = shaped_value(p.pointee, outs + p.out_offset, Text::None, p.destructor.get());
        if (!v)
            ok = false;
        else
            PyTuple_SET_ITEM(tuple.get(), static_cast<Py_ssize_t>(i), v);
    }
    (void)ft;
    if (ok) ok = PyObject_SetAttrString(exc, "outs", tuple.get()) == 0;
    if (!ok) PyErr_WriteUnraisable(exc);
    PyErr_Restore(type, exc, tb);
}

PyObject* finish(WrappedFunction* f, const Shape& shape, PyObject* const* args, char* result,
                 char* outs, bool failed, const PolicyFailure& failure) {
    CType* ft = f->base.ctype;
    CType* rt = ft->item;
    if (failed) {
        PyRef r(data::value_from_c(rt, result));
        if (!r) return nullptr;
        policy_raise(*shape.policy, failure, f->name, r.get());
        if (shape.adopt_on_error && !shape.outs.empty()) adopt_outs(shape, ft, outs);
        return nullptr;
    }
    if (shape.has_consumed)
        for (const Param& p : shape.params)
            if (p.consumed && data::is_cdata(args[p.py_index]))
                data::consume_cdata(reinterpret_cast<CData*>(args[p.py_index]));
    bool with_result = shape.outs.empty() || shape.outs_with_result;
    auto result_value = [&]() -> PyObject* {
        return shaped_value(rt, result, shape.result_text, shape.result_destructor.get());
    };
    if (shape.outs.empty()) return result_value();
    Py_ssize_t n = static_cast<Py_ssize_t>(shape.outs.size()) + (with_result ? 1 : 0);
    if (n == 1) {
        const Param& p = shape.params[static_cast<size_t>(shape.outs[0])];
        return shaped_value(p.pointee, outs + p.out_offset, p.text, p.destructor.get());
    }
    PyRef tuple(PyTuple_New(n));
    if (!tuple) return nullptr;
    Py_ssize_t i = 0;
    if (with_result) {
        PyObject* v = result_value();
        if (!v) return nullptr;
        PyTuple_SET_ITEM(tuple.get(), i++, v);
    }
    for (int k : shape.outs) {
        const Param& p = shape.params[static_cast<size_t>(k)];
        PyObject* v = shaped_value(p.pointee, outs + p.out_offset, p.text, p.destructor.get());
        if (!v) return nullptr;
        PyTuple_SET_ITEM(tuple.get(), i++, v);
    }
    return tuple.release();
}

bool check_consumed(const Shape& shape, PyObject* const* args) {
    for (const Param& p : shape.params) {
        if (!p.consumed) continue;
        PyObject* v = args[p.py_index];
        if (!data::is_cdata(v)) {
            PyErr_Format(PyExc_TypeError,
                         "argument %zd is consumed by the call: expected a cdata pointer, got %s",
                         p.py_index + 1, Py_TYPE(v)->tp_name);
            return false;
        }
    }
    return true;
}

void specialize(WrappedFunction* f);

PyObject* wrapped_vectorcall(PyObject* self, PyObject* const* args, size_t nargsf,
                             PyObject* kwnames) {
    auto* f = reinterpret_cast<WrappedFunction*>(self);
    if (raise_if_closed(f->library)) return nullptr;
    const Shape& shape = *f->shape;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (kwnames && PyTuple_GET_SIZE(kwnames)) {
        PyErr_Format(PyExc_TypeError, "%U() takes no keyword arguments", f->name);
        return nullptr;
    }
    if (nargs != shape.py_nargs) {
        PyErr_Format(PyExc_TypeError, "%U() takes %zd argument%s, got %zd", f->name, shape.py_nargs,
                     shape.py_nargs == 1 ? "" : "s", nargs);
        return nullptr;
    }
    CallPlan* plan = ft::load_acquire(f->plan);  // a cache (see function.cpp)
    if (!plan) {
        if (!(plan = plan_for(f->base.ctype))) return nullptr;
        ft::store_release(f->plan, plan);
    }
    if (shape.has_consumed && !check_consumed(shape, args)) return nullptr;

    alignas(16) char outs[kOutBytes];
    if (shape.out_bytes) memset(outs, 0, shape.out_bytes);
    constexpr size_t kMaxArgs = 32;
    size_t nparams = shape.params.size();
    if (nparams > kMaxArgs) {
        PyErr_Format(PyExc_NotImplementedError, "%U(): too many parameters for a wrapped call",
                     f->name);
        return nullptr;
    }
    void* addresses[kMaxArgs];
    data::CallTemporaries temps;
    alignas(16) char result[64];
    memset(result, 0, 16);  // a result narrower than the thunk's two words reads zeros
    bool failed = false;
    PolicyFailure failure;
    const Policy* policy = shape.policy.get();
    auto after = [&](int err) {
        if (!policy) return;
        CallFrame frame{addresses, result, err};
        failed = policy_failed(*policy, frame);
        if (failed) policy_capture(*policy, frame, failure);
    };

    // Inouts first take their value from the caller.
    for (const Param& p : shape.params)
        if (p.role == Role::InOut && !data::to_c(p.pointee, outs + p.out_offset, args[p.py_index]))
            return nullptr;

    bool thunk = plan->thunk != Thunk::None && plan->buffer_size <= 512 && !force_libffi;
    alignas(16) char buffer[512];
    if (thunk) {
        I ints[kThunkIntRegs + kThunkStackWords];
        D fps[kThunkFpRegs];
        if (plan->stack_words) {
            memset(ints, 0, sizeof ints);
            memset(fps, 0, sizeof fps);
        }
        for (size_t k = 0; k < nparams; ++k) {
            const ArgSpec& a = plan->args[k];
            const Param& p = shape.params[k];
            switch (p.role) {
                case Role::Python: {
                    PyObject* v = args[p.py_index];
                    if (fast_argument(a, v, ints, fps)) break;
                    char* slot = buffer + a.offset;
                    memset(slot, 0,
                           std::max<size_t>(8, static_cast<size_t>(a.type->size) + 7) & ~size_t{7});
                    if (!data::argument_to_c(a.type, slot, v, temps.get())) return nullptr;
                    slot_to_registers(a, slot, ints, fps);
                    break;
                }
                case Role::Out:
                case Role::InOut: ints[a.slot[0]] = reinterpret_cast<I>(outs + p.out_offset); break;
                case Role::Default: {
                    char* slot = buffer + a.offset;
                    memset(slot, 0, 8);
                    eval_default(*p.default_value, a.type, slot);
                    slot_to_registers(a, slot, ints, fps);
                    break;
                }
            }
            // Where the policy reads the value: its register or stack word.
            addresses[k] = (a.reg == RegClass::Float || a.reg == RegClass::Double) && !a.stack
                               ? static_cast<void*>(&fps[a.slot[0]])
                               : static_cast<void*>(&ints[a.slot[0]]);
        }
        ThunkCaller caller = plan->caller;
        void* fn = f->base.data;
        for (;;) {
            call_native(
                f->release_gil, [&] { caller(fn, ints, fps, result); }, after);
            if (!(failed && policy->retry_eintr && failure.err == EINTR)) break;
            if (PyErr_CheckSignals() < 0) return nullptr;
            failed = false;
        }
    } else {
        std::unique_ptr<char[]> heap;
        char* buf = buffer;
        if (plan->buffer_size > sizeof buffer) {
            heap.reset(new (std::nothrow) char[plan->buffer_size + 16]);
            if (!heap) return PyErr_NoMemory();
            buf = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(heap.get()) + 15) &
                                          ~uintptr_t{15});
        }
        memset(buf, 0, plan->buffer_size);
        if (plan->result_size > sizeof result) {
            PyErr_Format(PyExc_NotImplementedError, "%U(): result too large for a wrapped call",
                         f->name);
            return nullptr;
        }
        memset(result, 0, plan->result_size);
        for (size_t k = 0; k < nparams; ++k) {
            const ArgSpec& a = plan->args[k];
            const Param& p = shape.params[k];
            char* slot = buf + a.offset;
            switch (p.role) {
                case Role::Python:
                    if (!data::argument_to_c(a.type, slot, args[p.py_index], temps.get()))
                        return nullptr;
                    break;
                case Role::Out:
                case Role::InOut: {
                    char* out = outs + p.out_offset;
                    memcpy(slot, &out, sizeof out);
                    break;
                }
                case Role::Default: eval_default(*p.default_value, a.type, slot); break;
            }
            addresses[k] = slot;
        }
        ffi_cif* cif = const_cast<ffi_cif*>(&plan->cif);
        void* fn = f->base.data;
        for (;;) {
            call_native(
                f->release_gil,
                [&] { ffi_call(cif, reinterpret_cast<void (*)()>(fn), result, addresses); }, after);
            if (!(failed && policy->retry_eintr && failure.err == EINTR)) break;
            if (PyErr_CheckSignals() < 0) return nullptr;
            failed = false;
        }
    }
    PyObject* r = finish(f, shape, args, result, outs, failed, failure);
    if (ft::load_relaxed(f->vectorcall) == wrapped_vectorcall) specialize(f);
    return r;
}

// One parameter of a simple shape into its register: the caller's argument through the
// fast companions, or the address of its out storage.
[[gnu::always_inline]] inline bool simple_argument(const ArgSpec& a, const Param& p,
                                                   PyObject* const* args, char* outs, I* ints,
                                                   D* fps) {
    if (p.role == Role::Out) {
        ints[a.slot[0]] = reinterpret_cast<I>(outs + p.out_offset);
        return true;
    }
    return fast_argument(a, args[p.py_index], ints, fps);
}

// A successful call's outs (Shape::plain_outs) as the caller gets them: one value, or a
// tuple led by the result when the function is unchecked. The tuple of the previous call
// is refilled when the shape alone holds it (the caller dropped it, as `q, r = f(...)`
// does), as CPython's zip() and enumerate() reuse theirs: no allocation, no deallocation,
// no GC tracking per call. (Not in a free-threaded build, where a count of one proves
// nothing.)
[[gnu::always_inline]] inline PyObject* plain_return(const Shape& shape, CType* rt, char* result,
                                                     char* outs) {
    const Param* params = shape.params.data();
    size_t nouts = shape.outs.size();
    if (nouts == 1 && !shape.outs_with_result) {
        const Param& p = params[shape.outs[0]];
        return data::value_from_c(p.pointee, outs + p.out_offset);
    }
    Py_ssize_t lead = shape.outs_with_result ? 1 : 0;
    Py_ssize_t n = static_cast<Py_ssize_t>(nouts) + lead;
    PyObject* values[kOutBytes / 8 + 1];  // each out takes at least 8 bytes of outs
    if (lead && !(values[0] = data::value_from_c(rt, result))) return nullptr;
    for (size_t i = 0; i < nouts; ++i) {
        const Param& p = params[shape.outs[i]];
        PyObject* v = data::value_from_c(p.pointee, outs + p.out_offset);
        if (!v) {
            for (Py_ssize_t j = 0; j < static_cast<Py_ssize_t>(i) + lead; ++j) Py_DECREF(values[j]);
            return nullptr;
        }
        values[static_cast<Py_ssize_t>(i) + lead] = v;
    }
    PyObject* tuple = shape.recycled.get();
#ifndef Py_GIL_DISABLED
    if (tuple && Py_REFCNT(tuple) == 1) {
        Py_INCREF(tuple);
        for (Py_ssize_t i = 0; i < n; ++i) {
            PyObject* old = PyTuple_GET_ITEM(tuple, i);
            PyTuple_SET_ITEM(tuple, i, values[i]);
            Py_DECREF(old);  // code this runs (a weakref callback) sees a count of two
        }
        // The collector may have untracked it while it held only atomic values.
        if (!PyObject_GC_IsTracked(tuple)) PyObject_GC_Track(tuple);
        return tuple;
    }
#endif
    tuple = PyTuple_New(n);
    if (!tuple) {
        for (Py_ssize_t j = 0; j < n; ++j) Py_DECREF(values[j]);
        return nullptr;
    }
    for (Py_ssize_t i = 0; i < n; ++i) PyTuple_SET_ITEM(tuple, i, values[i]);
#ifndef Py_GIL_DISABLED
    shape.recycled = PyRef::borrow(tuple);
#endif
    return tuple;
}

// A failed quick check in the simple entry: the frame (argument addresses in their
// registers or stack words) and the capture, out of line, with errno as it was.
template <Py_ssize_t N>
[[gnu::noinline, gnu::cold]] void simple_capture(const Policy& policy, const ArgSpec* specs,
                                                 I* ints, D* fps, const char* result, int err,
                                                 PolicyFailure& failure) {
    void* addresses[N > 0 ? N : 1];
    for (Py_ssize_t k = 0; k < N; ++k) {
        const ArgSpec& a = specs[k];
        addresses[k] = (a.reg == RegClass::Float || a.reg == RegClass::Double) && !a.stack
                           ? static_cast<void*>(&fps[a.slot[0]])
                           : static_cast<void*>(&ints[a.slot[0]]);
    }
    CallFrame frame{addresses, result, err};
    policy_capture(policy, frame, failure);
}

// The entry of a simple shape (Shape::simple) with N arguments, from its second call: the
// arguments straight into registers (unrolled), the quick policy on the result word right
// after the call, plain outs returned inline; anything else (another count, an argument
// the fast companions refuse) takes the general entry. Nothing is initialized that a
// successful call does not read: the failure record is written only on failure.
template <Py_ssize_t N, bool Direct>
PyObject* wrapped_vectorcall_simple(PyObject* self, PyObject* const* args, size_t nargsf,
                                    PyObject* kwnames) {
    auto* f = reinterpret_cast<WrappedFunction*>(self);
    const Shape& shape = *f->shape;
    if (PyVectorcall_NARGS(nargsf) != shape.py_nargs || kwnames || force_libffi ||
        f->library->closed)
        return wrapped_vectorcall(self, args, nargsf, kwnames);
    const CallPlan* plan = ft::load_relaxed(f->plan);  // set before this entry was
    I ints[kThunkIntRegs + kThunkStackWords];
    D fps[kThunkFpRegs];
    if (plan->stack_words) {
        memset(ints, 0, sizeof ints);
        memset(fps, 0, sizeof fps);
    }
    // Outs start zeroed (a function that fails may not write them): a constant-size store
    // for the usual few, inline.
    alignas(16) char outs[kOutBytes];
    if (!Direct && shape.out_bytes) {
        memset(outs, 0, 32);
        if (shape.out_bytes > 32) memset(outs, 0, shape.out_bytes);
    }
    const ArgSpec* specs = plan->args.data();
    const Param* params = shape.params.data();
    bool simple = [&]<size_t... K>(std::index_sequence<K...>) {
        if constexpr (Direct)
            return (fast_argument(specs[K], args[K], ints, fps) && ...);
        else
            return (simple_argument(specs[K], params[K], args, outs, ints, fps) && ...);
    }
    (std::make_index_sequence<static_cast<size_t>(N)>{});
    if (!simple) return wrapped_vectorcall(self, args, nargsf, kwnames);
    alignas(16) char result[kThunkResultBytes];
    memset(result, 0, 16);  // a result narrower than the thunk's two words reads zeros
    const Policy* policy = shape.policy.get();
    alignas(PolicyFailure) unsigned char failure_storage[sizeof(PolicyFailure)];
    PolicyFailure* failure = nullptr;  // set (in failure_storage) when the call failed
    ThunkCaller caller = plan->caller;
    void* fn = f->base.data;
    for (;;) {
        NativeScope scope = enter_native(f->release_gil);
        caller(fn, ints, fps, result);
        int err = *scope.err;
        if (policy) {
            uint64_t word;
            memcpy(&word, result, sizeof word);
            if (__builtin_expect(policy_quick_failed_word(*policy, word), 0)) {
                failure = new (failure_storage) PolicyFailure;
                simple_capture<N>(*policy, specs, ints, fps, result, err, *failure);
            }
        }
        leave_native(scope, err);
        if (__builtin_expect(!failure, 1)) {
            if (Direct || shape.plain_result) return data::value_from_c(plan->result, result);
            if (shape.plain_outs) return plain_return(shape, plan->result, result, outs);
            static const PolicyFailure none{};
            return finish(f, shape, args, result, outs, false, none);
        }
        if (!(policy->retry_eintr && failure->err == EINTR)) break;
        if (PyErr_CheckSignals() < 0) return nullptr;
        failure = nullptr;
    }
    return finish(f, shape, args, result, outs, true, *failure);
}

template <bool Direct, size_t... K>
constexpr std::array<vectorcallfunc, sizeof...(K)> simple_entries(std::index_sequence<K...>) {
    return {wrapped_vectorcall_simple<static_cast<Py_ssize_t>(K), Direct>...};
}

void specialize(WrappedFunction* f) {
    static constexpr auto direct = simple_entries<true>(std::make_index_sequence<7>{});
    static constexpr auto shaped = simple_entries<false>(std::make_index_sequence<7>{});
    const CallPlan* plan = ft::load_acquire(f->plan);
    if (!f->shape->simple || !plan || !f->base.data || plan->fast_nargs < 0 ||
        plan->fast_nargs >= static_cast<Py_ssize_t>(direct.size()))
        return;
    size_t n = static_cast<size_t>(plan->fast_nargs);
    ft::store_release(f->vectorcall, f->shape->direct ? direct[n] : shaped[n]);
}

void wrapped_dealloc(PyObject* self) {
    auto* f = reinterpret_cast<WrappedFunction*>(self);
    if (f->base.weakreflist) PyObject_ClearWeakRefs(self);
    delete f->shape;
    Py_CLEAR(f->base.ctype);
    Py_CLEAR(f->library);  // may unload the library
    Py_CLEAR(f->name);
    PyObject_Free(self);
}

PyObject* wrapped_repr(PyObject* self) {
    auto* f = reinterpret_cast<WrappedFunction*>(self);
    return PyUnicode_FromFormat("<cffix wrapped function %U: '%s'>", f->name,
                                f->base.ctype->cname.c_str());
}

PyObject* string_tuple(const std::vector<std::string>& items) {
    PyRef tuple(PyTuple_New(static_cast<Py_ssize_t>(items.size())));
    if (!tuple) return nullptr;
    for (size_t i = 0; i < items.size(); ++i) {
        PyObject* s = PyUnicode_FromString(items[i].c_str());
        if (!s) return nullptr;
        PyTuple_SET_ITEM(tuple.get(), static_cast<Py_ssize_t>(i), s);
    }
    return tuple.release();
}

// The cdef's [[cffix::...]] attributes of a function for the rules: None, or (the
// function's, (each parameter's, ...)) as tuples of str.
PyRef attributes_of(const types::FunctionDecl& decl) {
    if (decl.attributes.empty() && decl.param_attributes.empty()) return PyRef::borrow(Py_None);
    PyRef params(PyTuple_New(static_cast<Py_ssize_t>(decl.param_attributes.size())));
    if (!params) return {};
    for (size_t i = 0; i < decl.param_attributes.size(); ++i) {
        PyObject* t = string_tuple(decl.param_attributes[i]);
        if (!t) return {};
        PyTuple_SET_ITEM(params.get(), static_cast<Py_ssize_t>(i), t);
    }
    PyRef own(string_tuple(decl.attributes));
    if (!own) return {};
    return PyRef(PyTuple_Pack(2, own.get(), params.get()));
}

}  // namespace

bool set_wrap_rules(const types::Scope* scope, PyObject* rules) {
    PyRef old = PyRef::borrow(rules);
    ft::Lock lock(rules_mutex);
    std::swap(rules_table()[scope], old);  // the previous rules die after the lock
    return true;
}

void forget_wrap_rules(const types::Scope* scope) {
    PyRef dead;  // released after the erase and the lock
    ft::Lock lock(rules_mutex);
    auto it = rules_table().find(scope);
    if (it == rules_table().end()) return;
    dead = std::move(it->second);
    rules_table().erase(it);
}

bool has_wrap_rules(const types::Scope* scope) {
    ft::Lock lock(rules_mutex);
    return rules_table().count(scope) != 0;
}

static PyRef rules_of(const types::Scope* scope) {
    ft::Lock lock(rules_mutex);
    auto it = rules_table().find(scope);
    return it == rules_table().end() ? PyRef() : it->second;
}

PyObject* make_wrapped(const WrapTarget& t) {
    PyRef rules = rules_of(t.scope);  // held: the callable may replace the table's entry
    if (!rules) return nullptr;
    PyRef attributes = attributes_of(*t.decl);
    if (!attributes) return nullptr;
    PyRef spec(PyObject_CallFunction(rules.get(), "ssO", t.name->c_str(),
                                     t.decl->result_typedef.c_str(), attributes.get()));
    if (!spec || spec.get() == Py_None) return nullptr;
    std::unique_ptr<Shape> shape = compile_shape(spec.get(), t);
    if (!shape) return nullptr;
    PyRef name(PyUnicode_FromString(t.name->c_str()));
    if (!name) return nullptr;
    auto* f = PyObject_New(WrappedFunction, &WrappedFunction_Type);
    if (!f) return nullptr;
    CType* ft = t.decl->type.get();
    Py_INCREF(ft);
    f->base.ctype = ft;
    f->base.data = static_cast<char*>(t.address);
    f->base.length = 0;
    f->base.flags = 0;
    f->base.weakreflist = nullptr;
    f->vectorcall = wrapped_vectorcall;
    f->name = name.release();
    f->plan = nullptr;
    f->release_gil = t.release_gil;
    f->shape = shape.release();
    f->library = reinterpret_cast<LibraryHandle*>(Py_NewRef(t.library));
    return reinterpret_cast<PyObject*>(f);
}

// _core._parse_expression(text, what): checks the syntax of a policy's expression when
// the policy is made (names resolve later, per function). CDefError with line and column.
static PyObject* parse_expression_checked(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyUnicode_Check(args[1]))
        return PyErr_Format(PyExc_TypeError, "_parse_expression(text, what)");
    const char* text = PyUnicode_AsUTF8(args[0]);
    const char* what = PyUnicode_AsUTF8(args[1]);
    if (!text || !what) return nullptr;
    try {
        parse::parse_expression(text);
    } catch (const parse::CDefError& err) {
        try {
            throw parse::CDefError(std::string("in ") + what + "=: " + err.message(), err.pos(),
                                   err.source_line());
        } catch (...) {
            return cffix::translate_exception();
        }
    } catch (...) {
        return cffix::translate_exception();
    }
    Py_RETURN_NONE;
}

static PyMethodDef wrap_module_methods[] = {
    {"_parse_expression",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(parse_expression_checked)),
     METH_FASTCALL, "_parse_expression(text, what): check a policy expression's syntax"},
    {nullptr, nullptr, 0, nullptr},
};

bool is_wrapped_function(PyObject* obj) { return Py_IS_TYPE(obj, &WrappedFunction_Type); }

const LibraryHandle* library_of_wrapped(PyObject* obj) {
    return is_wrapped_function(obj) ? reinterpret_cast<WrappedFunction*>(obj)->library : nullptr;
}

const Policy* policy_of_wrapped(PyObject* obj) {
    if (!is_wrapped_function(obj)) return nullptr;
    return reinterpret_cast<WrappedFunction*>(obj)->shape->policy.get();
}

static_assert(static_cast<uint8_t>(Role::Out) == WrappedParam::Out &&
              static_cast<uint8_t>(Role::InOut) == WrappedParam::InOut &&
              static_cast<uint8_t>(Role::Default) == WrappedParam::Default);

bool wrapped_view(PyObject* obj, WrappedView& view) {
    if (!Py_IS_TYPE(obj, &WrappedFunction_Type)) return false;
    auto* f = reinterpret_cast<WrappedFunction*>(obj);
    const Shape& shape = *f->shape;
    view.name = f->name;
    view.release_gil = f->release_gil;
    view.policy = shape.policy.get();
    view.params.clear();
    for (const Param& p : shape.params) {
        WrappedParam w{};
        w.role = static_cast<WrappedParam::Role>(static_cast<uint8_t>(p.role));
        w.py_index = p.py_index;
        w.pointee = p.pointee;
        w.value = p.default_value.get();
        w.text = p.text != Text::None;
        w.owned = static_cast<bool>(p.destructor);
        w.consumed = p.consumed;
        view.params.push_back(w);
    }
    view.outs = shape.outs;
    view.py_nargs = shape.py_nargs;
    view.result_text = shape.result_text != Text::None;
    view.result_owned = static_cast<bool>(shape.result_destructor);
    view.param_names = &shape.param_names;
    return true;
}

bool init_wrap_type(PyObject* module) {
    PyTypeObject& t = WrappedFunction_Type;
    Py_SET_REFCNT(&t, 1);
    t.tp_name = "cffix.CDataWrappedFunction";
    t.tp_basicsize = sizeof(WrappedFunction);
    t.tp_base = &data::CDataFunction_Type;
    t.tp_dealloc = wrapped_dealloc;
    t.tp_repr = wrapped_repr;
    t.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL;
    t.tp_vectorcall_offset = offsetof(WrappedFunction, vectorcall);
    t.tp_call = PyVectorcall_Call;
    t.tp_doc = "A C function with a declared Pythonic shape (ffi.wrap).";
    if (PyType_Ready(&t) < 0) return false;
    return PyModule_AddFunctions(module, wrap_module_methods) == 0;
}

}  // namespace cffix::call
