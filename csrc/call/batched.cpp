// Batched calls (f.map): columns checked once, items staged in chunks as register words,
// one call per item through a typed loop, the thunk or libffi. See batched.h.
#include "call/batched.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "call/batched_loop.h"
#include "call/errno.h"
#include "call/function.h"
#include "call/plan.h"
#include "call/policy.h"
#include "call/thunks.h"
#include "call/wrap.h"
#include "data/argument.h"
#include "util/errors.h"

namespace cffix::call {

using data::CData;
using types::Conv;
using types::Kind;

using namespace batch;  // the loop side (batched_loop.h)

namespace {

// An item of a buffer's format (struct module syntax: one code, with an optional byte
// order prefix), given its item size; Elem::None for what map does not read (half and
// long double floats, chars, structured and non-native byte order formats).
Elem elem_of_format(const char* format, Py_ssize_t itemsize) {
    if (!format) format = "B";
    char order = '@';
    if (*format && strchr("@=<>!", *format)) order = *format++;
    if (format[0] == '1' && format[1]) ++format;  // an explicit count of one
    if (!*format || format[1]) return Elem::None;
    bool little = std::endian::native == std::endian::little;
    if (itemsize > 1 && (order == '>' || order == '!' ? little : order == '<' && !little))
        return Elem::None;
    char c = *format;
    if (c == '?' && itemsize == 1) return Elem::Bool;
    if (c == 'f' && itemsize == 4) return Elem::F32;
    if (c == 'd' && itemsize == 8) return Elem::F64;
    bool is_signed = strchr("bhilqn", c) != nullptr;
    if (!is_signed && !strchr("BHILQN", c)) return Elem::None;
    switch (itemsize) {
        case 1: return is_signed ? Elem::I8 : Elem::U8;
        case 2: return is_signed ? Elem::I16 : Elem::U16;
        case 4: return is_signed ? Elem::I32 : Elem::U32;
        case 8: return is_signed ? Elem::I64 : Elem::U64;
        default: return Elem::None;
    }
}

// ---------------------------------------------------------------- errors

// Raises `type` with "<who>: <text>"; returns null.
PyObject* fail(PyObject* type, const std::string& who, const std::string& text) {
    PyErr_Format(type, "%s: %s", who.c_str(), text.c_str());
    return nullptr;
}

// Prefixes the pending exception's message with `prefix` (same exception type).
void prefix_error(const std::string& prefix) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyRef text(value ? PyObject_Str(value) : nullptr);
    const char* s = text ? PyUnicode_AsUTF8(text.get()) : nullptr;
    if (!s) {
        PyErr_Restore(type, value, tb);
        return;
    }
    PyErr_Format(type, "%s: %s", prefix.c_str(), s);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
}

// Gives the pending exception an `index` attribute (the item that failed).
void set_index(Py_ssize_t index) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyRef i(PyLong_FromSsize_t(index));
    if (value && i) {
        if (PyObject_SetAttrString(value, "index", i.get()) < 0) PyErr_Clear();
    }
    PyErr_Restore(type, value, tb);
}

std::string quoted(const CType* t) { return "'" + t->cname + "'"; }

// "argument 1 (parameter 'e' of type 'int')": argument `k` of the Python call, for the
// parameter called `name` ("" when unnamed).
std::string arg_label(Py_ssize_t k, const std::string& name, const CType* param) {
    return "argument " + std::to_string(k) + " (parameter " +
           (name.empty() ? "" : "'" + name + "' ") + "of type " + quoted(param) + ")";
}

// The first of `n` items of `c` outside `r`, or -1.
template <typename S>
Py_ssize_t first_outside(const Column& c, Py_ssize_t n, Range r) {
    const char* p = c.base;
    for (Py_ssize_t j = 0; j < n; ++j, p += c.stride) {
        S v = load<S>(p);
        if constexpr (std::is_signed_v<S>) {
            if (v < r.lo || (v > 0 && static_cast<uint64_t>(v) > r.hi)) return j;
        } else {
            if (static_cast<uint64_t>(v) > r.hi) return j;
        }
    }
    return -1;
}

// Integer items that may not fit their parameter are checked, all of them, before any
// call: OverflowError (with .index for an array) naming the item and the type.
bool check_range(const Column& c, Py_ssize_t n, const std::string& label, const CType* param,
                 const std::string& who) {
    if (c.dest != Dest::Int) return true;  // floats and pointers take any item
    Range src = range_of(c.src), dst = range_of(elem_of(param));
    if (src.lo >= dst.lo && src.hi <= dst.hi) return true;
    Py_ssize_t count = c.length < 0 ? 1 : n;
    Py_ssize_t bad = with_elem(c.src, [&](auto s) -> Py_ssize_t {
        if constexpr (std::is_integral_v<decltype(s)>)
            return first_outside<decltype(s)>(c, count, dst);
        return -1;
    });
    if (bad < 0) return true;
    const char* p = c.base + bad * c.stride;
    std::string value =
        is_signed(c.src)
            ? std::to_string(with_elem(
                  c.src,
                  [&](auto s) -> int64_t { return static_cast<int64_t>(load<decltype(s)>(p)); }))
            : std::to_string(with_elem(c.src, [&](auto s) -> uint64_t {
                  return static_cast<uint64_t>(load<decltype(s)>(p));
              }));
    std::string where = c.length < 0 ? "" : ", item " + std::to_string(bad);
    PyErr_Format(PyExc_OverflowError, "%s: %s%s: integer %s does not fit %s", who.c_str(),
                 label.c_str(), where.c_str(), value.c_str(), quoted(param).c_str());
    if (c.length >= 0) set_index(bad);
    return false;
}

// Buffers held for the batch, released at its end. Each Py_buffer stays where the
// exporter filled it: a view may point into itself (PyBuffer_FillInfo's shape is
// &view->len), so it is never copied or moved (ASan: stack-use-after-scope otherwise).
struct Buffers {
    std::vector<std::unique_ptr<Py_buffer>> views;
    Buffers() = default;
    Buffers(const Buffers&) = delete;
    Buffers& operator=(const Buffers&) = delete;
    ~Buffers() {
        for (auto& v : views) PyBuffer_Release(v.get());
    }
    // PyObject_GetBuffer into a new slot: the view, or null with an exception set.
    Py_buffer* get(PyObject* obj, int flags) {
        views.reserve(views.size() + 1);  // push_back below cannot fail then
        auto view = std::make_unique<Py_buffer>();
        if (PyObject_GetBuffer(obj, view.get(), flags) < 0) return nullptr;
        views.push_back(std::move(view));
        return views.back().get();
    }
};

// Whether an item of kind `src` may be passed for a parameter of kind `param` (floats
// never become integers: a call refuses a float for an integer parameter too).
bool convertible(Elem src, Elem param) {
    if (src == Elem::Ptr || param == Elem::Ptr) return src == param;
    return !(is_float(src) && !is_float(param));
}

std::string refused_items(Elem src, const CType* param) {
    if (src == Elem::Ptr) return "pointer items cannot be passed as " + quoted(param);
    return std::string(elem_name(src)) + " items cannot be passed as " + quoted(param) +
           " (a call does not take a float for an integer)";
}

enum class ErrorMode { Raise, Mask, Ignore };

// ---------------------------------------------------------------- arguments

struct Parsed {
    PyObject* out = nullptr;
    ErrorMode mode = ErrorMode::Raise;
};

bool parse_keywords(const std::string& who, PyObject* const* args, Py_ssize_t nargs,
                    PyObject* kwnames, Parsed& p) {
    PyObject* errors = nullptr;
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t i = 0; i < nkw; ++i) {
        PyObject* key = PyTuple_GET_ITEM(kwnames, i);
        if (PyUnicode_CompareWithASCIIString(key, "out") == 0)
            p.out = args[nargs + i];
        else if (PyUnicode_CompareWithASCIIString(key, "errors") == 0)
            errors = args[nargs + i];
        else {
            PyErr_Format(PyExc_TypeError, "%s got an unexpected keyword argument '%U'", who.c_str(),
                         key);
            return false;
        }
    }
    if (p.out == Py_None) p.out = nullptr;
    if (!errors) return true;
    const char* s = PyUnicode_Check(errors) ? PyUnicode_AsUTF8(errors) : nullptr;
    if (s && !strcmp(s, "raise"))
        p.mode = ErrorMode::Raise;
    else if (s && !strcmp(s, "mask"))
        p.mode = ErrorMode::Mask;
    else if (s && !strcmp(s, "ignore"))
        p.mode = ErrorMode::Ignore;
    else {
        PyErr_Clear();
        PyRef r(PyObject_Repr(errors));
        PyErr_Format(PyExc_ValueError, "%s: errors must be 'raise', 'mask' or 'ignore', not %s",
                     who.c_str(), r ? PyUnicode_AsUTF8(r.get()) : "?");
        return false;
    }
    return true;
}

// Argument k as a column of its parameter: false with an exception set.
bool make_column(const std::string& who, const std::string& label, CType* param, PyObject* v,
                 Column& c, Buffers& buffers, data::CallTemporaries& temps) {
    Elem pe = elem_of(param);
    c.dest = dest_of(pe);
    if (data::is_cdata(v) && reinterpret_cast<CData*>(v)->ctype->kind == Kind::Array) {
        auto* cd = reinterpret_cast<CData*>(v);
        CType* item = cd->ctype->item;
        Elem ie = elem_of(item);
        if (pe == Elem::Ptr && ie != Elem::Ptr) {
            fail(PyExc_TypeError, who,
                 label + ": a cdata " + quoted(cd->ctype) +
                     " has no pointer items; map passes one item per call: give every call the "
                     "same pointer with ffi.cast(" +
                     quoted(param) + ", array), or pass an array of pointers");
            return false;
        }
        if (ie == Elem::None) {
            fail(PyExc_TypeError, who,
                 label + ": items of cdata " + quoted(cd->ctype) +
                     " cannot be passed (map takes arrays of integers, enums, floating-point "
                     "numbers or pointers)");
            return false;
        }
        if (pe == Elem::Ptr ? !data::pointer_compatible(param, item) : !convertible(ie, pe)) {
            fail(PyExc_TypeError, who,
                 label + ": cdata " + quoted(cd->ctype) + ": " +
                     (pe == Elem::Ptr ? "its items are not " + quoted(param) + " pointers"
                                      : refused_items(ie, param)));
            return false;
        }
        if (data::check_released(cd)) return false;
        c.base = cd->data;
        c.stride = static_cast<Py_ssize_t>(item->size);
        c.length = cd->length;
        c.src = ie;
        return true;
    }
    bool column = pe != Elem::Ptr && !data::is_cdata(v) && !PyLong_Check(v) && !PyFloat_Check(v) &&
                  PyObject_CheckBuffer(v);
    if (column) {
        Py_buffer* view = buffers.get(v, PyBUF_RECORDS_RO);
        if (!view) {
            prefix_error(who + ": " + label);
            return false;
        }
        if (view->ndim > 1) {
            fail(PyExc_ValueError, who,
                 label + ": a buffer of " + std::to_string(view->ndim) +
                     " dimensions; map takes one-dimensional arrays (flatten or reshape it)");
            return false;
        }
        if (view->suboffsets) {
            fail(PyExc_ValueError, who,
                 label + ": an indirect buffer (suboffsets) is not supported");
            return false;
        }
        Elem be = elem_of_format(view->format, view->itemsize);
        if (be == Elem::None) {
            fail(PyExc_TypeError, who,
                 label + ": a buffer of format '" + (view->format ? view->format : "B") +
                     "' (item size " + std::to_string(view->itemsize) +
                     "); map reads native integers, _Bool ('?'), float ('f') and double ('d')");
            return false;
        }
        if (!convertible(be, pe)) {
            fail(
                PyExc_TypeError, who,
                label + ": a buffer of format '" + view->format + "': " + refused_items(be, param));
            return false;
        }
        c.base = static_cast<const char*>(view->buf);
        c.src = be;
        if (view->ndim == 1) {
            c.length = view->shape[0];
            c.stride = view->strides ? view->strides[0] : view->itemsize;
        }
        return true;
    }
    if (PyList_Check(v) || PyTuple_Check(v)) {
        fail(PyExc_TypeError, who,
             label + ": a " + Py_TYPE(v)->tp_name +
                 "; map takes a cdata array, a buffer (array.array, a NumPy array, bytes) or "
                 "one value for every call (make an array with ffi.new(" +
                 quoted(param).insert(param->cname.size() + 1, "[]") + ", items))");
        return false;
    }
    // One value for every call, converted once as a call converts it.
    if (!data::argument_to_c(param, c.value, v, temps.get())) {
        prefix_error(who + ": " + label);
        return false;
    }
    c.base = c.value;
    c.src = pe;
    return true;
}

// The output array: `out` checked, or a new `R[]` of n items. Sets b.out/out_stride and
// returns the object to return (new reference), or null with an exception set.
PyObject* output(const std::string& who, CType* result, PyObject* out, Py_ssize_t& n,
                 Buffers& buffers, Batch& b) {
    Elem re = b.result;
    if (!out) {
        if (n < 0) {
            fail(PyExc_TypeError, who,
                 "no array argument tells how many calls to make (pass an array, or out=)");
            return nullptr;
        }
        PyRef array;
        try {
            array = PyRef(reinterpret_cast<PyObject*>(types::array_type(result, -1)));
        } catch (...) {
            return translate_exception();
        }
        PyRef len(PyLong_FromSsize_t(n));
        if (!len) return nullptr;
        PyRef r(data::new_cdata(reinterpret_cast<CType*>(array.get()), len.get()));
        if (!r) return nullptr;
        b.out = reinterpret_cast<CData*>(r.get())->data;
        b.out_stride = static_cast<Py_ssize_t>(result->size);
        return r.release();
    }
    Py_ssize_t length;
    if (data::is_cdata(out) && reinterpret_cast<CData*>(out)->ctype->kind == Kind::Array) {
        auto* cd = reinterpret_cast<CData*>(out);
        CType* item = cd->ctype->item;
        Elem ie = elem_of(item);
        bool fits =
            re == Elem::Ptr ? ie == Elem::Ptr && data::pointer_compatible(item, result) : ie == re;
        if (!fits) {
            fail(PyExc_TypeError, who,
                 "out= is a cdata " + quoted(cd->ctype) + ", the results are " + quoted(result) +
                     " (an array of " + quoted(result) + " is needed)");
            return nullptr;
        }
        if (data::check_released(cd)) return nullptr;
        b.out = cd->data;
        b.out_stride = static_cast<Py_ssize_t>(item->size);
        length = cd->length;
    } else if (!data::is_cdata(out) && PyObject_CheckBuffer(out)) {
        Py_buffer* view = buffers.get(out, PyBUF_RECORDS);
        if (!view) {
            prefix_error(who + ": out=");
            return nullptr;
        }
        Elem be = view->ndim == 1 ? elem_of_format(view->format, view->itemsize) : Elem::None;
        if (view->ndim != 1 || re == Elem::Ptr || be != re) {
            std::string got = view->ndim != 1 ? std::to_string(view->ndim) + "-dimensional buffer"
                                              : std::string("buffer of format '") +
                                                    (view->format ? view->format : "B") + "'";
            fail(PyExc_TypeError, who,
                 "out= is a " + got + ", the results are " + quoted(result) +
                     (re == Elem::Ptr ? " (pointers go into a cdata array)"
                                      : " (a one-dimensional buffer of " +
                                            std::string(elem_name(re)) + " items is needed)"));
            return nullptr;
        }
        b.out = static_cast<char*>(view->buf);
        b.out_stride = view->strides ? view->strides[0] : view->itemsize;
        length = view->shape[0];
    } else {
        fail(PyExc_TypeError, who,
             std::string("out= must be a cdata array or a writable buffer of ") + quoted(result) +
                 " items, not " + Py_TYPE(out)->tp_name);
        return nullptr;
    }
    if (n < 0) n = length;
    if (length != n) {
        fail(PyExc_ValueError, who,
             "out= has " + std::to_string(length) + " items, the arguments " + std::to_string(n));
        return nullptr;
    }
    return Py_NewRef(out);
}

// A new `T[]` of n zeroed items (the failure mask: `_Bool[]`; out parameters' arrays).
PyObject* new_array(CType* item, Py_ssize_t n) {
    PyRef array;
    try {
        array = PyRef(reinterpret_cast<PyObject*>(types::array_type(item, -1)));
    } catch (...) {
        return translate_exception();
    }
    PyRef len(PyLong_FromSsize_t(n));
    if (!len) return nullptr;
    return data::new_cdata(reinterpret_cast<CType*>(array.get()), len.get());
}

PyObject* new_mask(Py_ssize_t n) {
    try {
        Ref<CType> b(types::primitive_type("_Bool"));
        return new_array(b.get(), n);
    } catch (...) {
        return translate_exception();
    }
}

// Whether a wrapped function's shape is one map can take: scalar outs and inouts,
// defaults, no text, owned or consumed values. False with a TypeError.
bool check_wrapped(const std::string& who, const WrappedView& w, const CallPlan* plan) {
    if (w.result_text || w.result_owned)
        return fail(PyExc_TypeError, who,
                    std::string("its result is ") + (w.result_text ? "text" : "owned") +
                        " (ffi.wrap): map keeps results as C values in an array"),
               false;
    for (size_t k = 0; k < w.params.size(); ++k) {
        const WrappedParam& p = w.params[k];
        CType* t = plan->args[k].type;
        std::string what = "parameter " + std::to_string(k) + " (" + quoted(t) + ")";
        if (p.text || p.owned || p.consumed)
            return fail(PyExc_TypeError, who,
                        what + " is " +
                            (p.text    ? "text"
                             : p.owned ? "an owned out"
                                       : "consumed") +
                            " (ffi.wrap): map does not take such parameters"),
                   false;
        bool out = p.role == WrappedParam::Out || p.role == WrappedParam::InOut;
        if (out && elem_of(p.pointee) == Elem::None)
            return fail(PyExc_TypeError, who,
                        what + " is an out parameter of " + quoted(p.pointee) +
                            ": map makes arrays of integers, enums, floating-point numbers "
                            "or pointers for outs"),
                   false;
    }
    return true;
}

// A batch that stopped at a failure (errors="raise"): the policy's exception, with the
// item's index.
PyObject* raise_failure(const Batch& b, const Stop& stop, PyObject* name) {
    CType* rt = b.plan->result;
    PyRef r(rt->kind == Kind::Void ? Py_NewRef(Py_None)
                                   : data::value_from_c(rt, const_cast<char*>(stop.result)));
    if (!r) return nullptr;
    PyRef func(name ? Py_NewRef(name) : PyUnicode_FromString("map"));
    if (!func) return nullptr;
    policy_raise(*b.policy, stop.failure, func.get(), r.get());
    set_index(stop.index);
    return nullptr;
}

// Runs the whole batch: the GIL released (unless kept) around each stretch of calls;
// a call interrupted by a signal (EINTR, retry_eintr) runs the handlers with the GIL and
// resumes there. False with an exception set when it stopped at a failure or a handler
// raised.
bool run_all(Batch& b, bool release_gil, PyObject* name) {
    Py_ssize_t from = 0;
    Stop stop;
    for (;;) {
        bool done;
        stop.index = -1;
        stop.interrupted = false;
        int& saved = saved_errno();
        int* err = thread_errno();
        if (release_gil) {
            Py_BEGIN_ALLOW_THREADS
            *err = saved;
            done = run_batch(b, from, stop);
            saved = *err;
            Py_END_ALLOW_THREADS
        } else {
            *err = saved;
            done = run_batch(b, from, stop);
            saved = *err;
        }
        if (done) return true;
        if (!stop.interrupted) return raise_failure(b, stop, name), false;
        if (PyErr_CheckSignals() < 0) {
            set_index(stop.index);
            return false;
        }
        from = stop.index;  // the interrupted call again
    }
}

}  // namespace

PyObject* map_calls(const MapTarget& target, PyObject* const* args, Py_ssize_t nargs,
                    PyObject* kwnames) {
    WrappedView wrapped;
    bool is_wrapped = target.function && wrapped_view(target.function, wrapped);
    PyObject* name = is_wrapped ? wrapped.name : target.name;
    std::string who = "map()";
    if (name) {
        const char* s = PyUnicode_AsUTF8(name);
        if (!s) return nullptr;
        who = std::string(s) + ".map()";
    }
    Parsed parsed;
    if (!parse_keywords(who, args, nargs, kwnames, parsed)) return nullptr;
    CType* fntype = target.fntype;
    if (fntype->ellipsis)
        return fail(PyExc_TypeError, who,
                    quoted(fntype) + " is variadic: map calls functions of fixed parameters only");
    CallPlan* plan = plan_for(fntype);
    if (!plan) return nullptr;
    Py_ssize_t py_nargs = is_wrapped ? wrapped.py_nargs : plan->nargs;
    if (nargs != py_nargs)
        return fail(PyExc_TypeError, who,
                    quoted(fntype) + (is_wrapped ? " wrapped" : "") + " takes " +
                        std::to_string(py_nargs) + " argument" + (py_nargs == 1 ? "" : "s") +
                        " (one array or value per parameter), " + std::to_string(nargs) + " given");
    if (!target.fn)
        return fail(PyExc_RuntimeError, who, "cannot call NULL function pointer " + quoted(fntype));

    Batch b;
    b.plan = plan;
    b.fn = target.fn;
    CType* result = plan->result;
    bool is_void = result->kind == Kind::Void;
    b.result = is_void ? Elem::None : elem_of(result);
    if (!is_void && b.result == Elem::None)
        return fail(PyExc_TypeError, who,
                    quoted(fntype) + " returns " + quoted(result) +
                        "; map calls functions whose result is an integer, enum, floating-point "
                        "number, pointer or void");
    size_t nparams = static_cast<size_t>(plan->nargs);
    const std::vector<std::string>* names = is_wrapped ? wrapped.param_names : target.param_names;
    auto name_of = [&](size_t k) -> std::string {
        return names && names->size() == nparams ? (*names)[k] : std::string();
    };
    for (size_t k = 0; k < nparams; ++k) {
        CType* param = plan->args[k].type;
        if (elem_of(param) == Elem::None)
            return fail(PyExc_TypeError, who,
                        "parameter " + std::to_string(k) +
                            (name_of(k).empty() ? "" : " '" + name_of(k) + "'") + " is " +
                            quoted(param) +
                            ": map calls functions whose parameters are integers, enums, "
                            "floating-point numbers or pointers");
    }
    if (is_wrapped && !check_wrapped(who, wrapped, plan)) return nullptr;
    const Policy* policy = is_wrapped ? wrapped.policy : nullptr;
    // A checked wrapped function with outs returns its outs only (as one call does).
    bool with_result = !is_void && !(policy && !wrapped.outs.empty());

    auto role = [&](size_t k) {
        return is_wrapped ? wrapped.params[k].role : WrappedParam::Python;
    };
    // The Python argument of C parameter k (Python and InOut roles).
    auto py_index = [&](size_t k) {
        return is_wrapped ? wrapped.params[k].py_index : static_cast<Py_ssize_t>(k);
    };
    auto label = [&](size_t k, const CType* param) {
        return arg_label(py_index(k), name_of(k), param);
    };

    Buffers buffers;
    buffers.views.reserve(nparams + 1);  // views stay where they are
    data::CallTemporaries temps;
    b.columns.resize(nparams);
    std::vector<Column> inits(nparams);  // InOut: the initial values
    Py_ssize_t n = -1;
    std::string first;
    for (size_t k = 0; k < nparams; ++k) {
        Column& c = b.columns[k];
        CType* param = plan->args[k].type;
        Column* source = &c;
        switch (role(k)) {
            case WrappedParam::Out: continue;
            case WrappedParam::Default:
                eval_default(*wrapped.params[k].value, param, c.value);
                c.base = c.value;
                c.src = elem_of(param);
                c.dest = dest_of(c.src);
                continue;
            case WrappedParam::InOut:
                source = &inits[k];
                param = wrapped.params[k].pointee;
                break;
            case WrappedParam::Python: break;
        }
        Py_ssize_t i = py_index(k);
        if (!make_column(who, label(k, param), param, args[i], *source, buffers, temps))
            return nullptr;
        if (source->length < 0) continue;
        std::string short_label =
            "argument " + std::to_string(i) + (name_of(k).empty() ? "" : " ('" + name_of(k) + "')");
        if (n < 0) {
            n = source->length;
            first = short_label;
        } else if (source->length != n) {
            return fail(PyExc_ValueError, who,
                        short_label + " has " + std::to_string(source->length) + " items, " +
                            first + " has " + std::to_string(n) +
                            " (arrays must have the same length; a single value is used in "
                            "every call)");
        }
    }
    PyRef results;
    if (!with_result) {
        if (parsed.out)
            return fail(PyExc_TypeError, who,
                        is_void ? quoted(fntype) + " returns void: there are no results for out="
                                : std::string("a checked wrapped function with out parameters "
                                              "returns its outs: there are no results for out="));
        if (n < 0)
            return fail(PyExc_TypeError, who,
                        "no array argument tells how many calls to make (pass an array)");
    } else {
        results = PyRef(output(who, result, parsed.out, n, buffers, b));
        if (!results) return nullptr;
    }
    b.n = n;
    for (size_t k = 0; k < nparams; ++k) {
        WrappedParam::Role r = role(k);
        bool in = r == WrappedParam::InOut;
        CType* param = in ? wrapped.params[k].pointee : plan->args[k].type;
        if ((r == WrappedParam::Python || in) &&
            !check_range(in ? inits[k] : b.columns[k], n, label(k, param), param, who))
            return nullptr;
    }
    PyRef mask;
    if (parsed.mode == ErrorMode::Mask && !(mask = PyRef(new_mask(n)))) return nullptr;

    size_t words = (nparams + 2) * static_cast<size_t>(kChunk);
    std::unique_ptr<Word[]> staging(new (std::nothrow) Word[words]);
    if (!staging) return PyErr_NoMemory();
    for (size_t k = 0; k < nparams; ++k)
        b.columns[k].stage = staging.get() + k * static_cast<size_t>(kChunk);
    b.results = staging.get() + nparams * static_cast<size_t>(kChunk);
    Word* init_stage = b.results + kChunk;

    // Outs and inouts: one array each, of the pointee; each call gets its item's address.
    std::vector<PyRef> out_arrays;
    if (is_wrapped)
        for (int k : wrapped.outs) {
            const WrappedParam& p = wrapped.params[static_cast<size_t>(k)];
            PyRef array(new_array(p.pointee, n));
            if (!array) return nullptr;
            Column& c = b.columns[static_cast<size_t>(k)];
            c.base = reinterpret_cast<CData*>(array.get())->data;
            c.stride = static_cast<Py_ssize_t>(p.pointee->size);
            c.src = Elem::Ptr;
            c.dest = Dest::Ptr;
            c.addresses = true;
            if (p.role == WrappedParam::InOut) {  // the initial values, as the items' type
                Column& init = inits[static_cast<size_t>(k)];
                init.stage = init_stage;
                for (Py_ssize_t start = 0; start < n; start += kChunk) {
                    Py_ssize_t m = std::min(kChunk, n - start);
                    stage(init, init.length < 0 ? 0 : start, m);
                    store_results(elem_of(p.pointee), const_cast<char*>(c.base), c.stride, start,
                                  init_stage, m);
                }
            }
            out_arrays.push_back(std::move(array));
        }
    if (!with_result) b.out = nullptr;
    b.policy = parsed.mode == ErrorMode::Ignore ? nullptr : policy;
    b.mask = mask ? reinterpret_cast<CData*>(mask.get())->data : nullptr;
    b.use_libffi = plan->thunk == Thunk::None || libffi_forced();
    bool release_gil = is_wrapped ? wrapped.release_gil : target.release_gil;
    if (n > 0 && !run_all(b, release_gil, name)) return nullptr;

    // What one call returns, as arrays: the results (unless a checked function returns
    // only its outs), then the outs.
    std::vector<PyObject*> items;
    if (with_result) items.push_back(results.get());
    for (PyRef& a : out_arrays) items.push_back(a.get());
    PyRef value;
    if (items.empty())
        value = PyRef(Py_NewRef(Py_None));
    else if (items.size() == 1)
        value = PyRef(Py_NewRef(items[0]));
    else {
        value = PyRef(PyTuple_New(static_cast<Py_ssize_t>(items.size())));
        if (!value) return nullptr;
        for (size_t i = 0; i < items.size(); ++i)
            PyTuple_SET_ITEM(value.get(), static_cast<Py_ssize_t>(i), Py_NewRef(items[i]));
    }
    if (mask) return PyTuple_Pack(2, value.get(), mask.get());
    return value.release();
}

}  // namespace cffix::call
