// Calls from C into Python, shared by callbacks and extern "Python" (see python_call.h).
#include "call/python_call.h"

#include <ffi.h>

#include <cstring>
#include <string>

#include "data/argument.h"
#include "util/errors.h"

namespace cffix::call {

namespace {

using types::Conv;
using types::CType;
using types::Kind;

// Copies a C value of the result type at `value` into the result slot, widened for
// libffi's when the callee says so.
void store_result(const PythonCallee& c, void* ret, const char* value) {
    if (!c.widen_result) {
        memcpy(ret, value, c.result_size);
        return;
    }
    auto wide = static_cast<ffi_arg>(data::register_integer(c.fntype->item, value));
    memcpy(ret, &wide, sizeof wide);
}

// Reports the pending exception through sys.unraisablehook with `message` (after
// "Exception ignored "), as cffi does: the hook's err_msg names the callback.
void write_unraisable(const std::string& message) {
#if PY_VERSION_HEX >= 0x030D0000
    PyErr_FormatUnraisable("Exception ignored %s", message.c_str());
#else
    _PyErr_WriteUnraisableMsg(message.c_str(), nullptr);
#endif
}

std::string repr_of(PyObject* obj) {
    if (!obj) return "<cleared callable>";
    PyRef r(PyObject_Repr(obj));
    const char* text = r ? PyUnicode_AsUTF8(r.get()) : nullptr;
    if (!text) {
        PyErr_Clear();
        return std::string("<") + Py_TYPE(obj)->tp_name + " object>";
    }
    return text;
}

struct SavedException {
    PyObject *type = nullptr, *value = nullptr, *traceback = nullptr;
    void fetch() {
        PyErr_Fetch(&type, &value, &traceback);
        PyErr_NormalizeException(&type, &value, &traceback);
        if (value && traceback) PyException_SetTraceback(value, traceback);
    }
    void restore() {  // gives the references back to the thread state
        PyErr_Restore(type, value, traceback);
        type = value = traceback = nullptr;
    }
    ~SavedException() {
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(traceback);
    }
};

}  // namespace

std::unique_ptr<PythonCallee> make_callee(CType* fntype, PyObject* error, bool widen_result) {
    if (fntype->ellipsis) {
        PyErr_Format(PyExc_NotImplementedError,
                     "callback type '%s' is variadic: a callback cannot receive '...' "
                     "arguments (declare the arguments it is called with)",
                     fntype->cname.c_str());
        return nullptr;
    }
    auto callee = std::make_unique<PythonCallee>();
    callee->fntype = fntype;
    callee->widen_result = widen_result;
    CType* result = fntype->item;
    callee->result_size = result->kind == Kind::Void ? 0 : static_cast<size_t>(result->size);
    callee->error_value.assign(callee->result_size ? callee->result_size : 1, 0);
    if (error == Py_None) return callee;
    if (callee->result_size == 0) {
        PyErr_Format(PyExc_TypeError,
                     "callback type '%s' returns void: it takes no error value (got %s)",
                     fntype->cname.c_str(), Py_TYPE(error)->tp_name);
        return nullptr;
    }
    if (!data::to_c(result, callee->error_value.data(), error)) return nullptr;
    return callee;
}

bool check_onerror(PyObject* onerror) {
    if (onerror == Py_None || PyCallable_Check(onerror)) return true;
    PyErr_Format(PyExc_TypeError, "expected a callable object for 'onerror', not %s",
                 Py_TYPE(onerror)->tp_name);
    return false;
}

bool store_python_result(const PythonCallee& c, void* ret, PyObject* value) {
    CType* t = c.fntype->item;
    if (c.result_size == 0) {
        if (value == Py_None) return true;
        PyErr_SetString(PyExc_TypeError, "callback with the return type 'void' must return None");
        return false;
    }
    if (t->conv == Conv::Record) {  // to_c leaves members the value omits as they are
        memset(ret, 0, c.result_size);
        return data::to_c(t, static_cast<char*>(ret), value);
    }
    alignas(16) char tmp[32] = {};
    if (!data::to_c(t, tmp, value)) return false;
    store_result(c, ret, tmp);
    return true;
}

void report_error(const PythonCallee& c, PyObject* callable, PyObject* onerror, void* ret,
                  bool converting_result) {
    SavedException original;
    original.fetch();
    if (c.result_size) store_result(c, ret, c.error_value.data());
    std::string message = "from cffi callback " + repr_of(callable);  // cffi's very text
    if (converting_result) message += ", trying to convert the result back to C";
    if (onerror) {
        Py_INCREF(onerror);  // a callable that clears itself must not free itself mid-call
        PyRef handled(PyObject_CallFunctionObjArgs(
            onerror, original.type ? original.type : Py_None,
            original.value ? original.value : Py_None,
            original.traceback ? original.traceback : Py_None, nullptr));
        PyObject* value = handled.get();
        bool ok = value && (value == Py_None || store_python_result(c, ret, value));
        Py_DECREF(onerror);
        if (ok) return;
        // onerror failed: report what it was handling, then its own exception.
        SavedException own;
        own.fetch();
        if (c.result_size) store_result(c, ret, c.error_value.data());
        original.restore();
        write_unraisable(message);
        own.restore();
        write_unraisable("during handling of the above exception by 'onerror'");
        return;
    }
    original.restore();
    write_unraisable(message);
}

void call_python(const PythonCallee& c, PyObject* callable, PyObject* onerror, void* ret,
                 void** args) {
    CType* fntype = c.fntype;
    size_t n = fntype->args.size();
    // One slot before the arguments, for PY_VECTORCALL_ARGUMENTS_OFFSET.
    PyObject* small[9];
    std::vector<PyObject*> large;
    PyObject** slots = small;
    if (n + 1 > std::size(small)) {
        large.resize(n + 1);
        slots = large.data();
    }
    PyObject** argv = slots + 1;
    size_t converted = 0;
    for (; converted < n; ++converted) {
        // Structs by value are copied out of the caller's frame (data::box_record).
        argv[converted] =
            data::value_from_c(fntype->args[converted], static_cast<char*>(args[converted]));
        if (!argv[converted]) break;
    }
    // The callable may drop the last other reference to itself (or to onerror), and its
    // report needs it after the call.
    PyRef held(Py_NewRef(callable)), held_onerror(Py_XNewRef(onerror));
    PyObject* result = nullptr;
    if (converted == n)
        result = PyObject_Vectorcall(callable, argv, n | PY_VECTORCALL_ARGUMENTS_OFFSET, nullptr);
    for (size_t i = 0; i < converted; ++i) Py_DECREF(argv[i]);
    if (!result) {
        report_error(c, callable, onerror, ret, false);
        return;
    }
    bool stored = store_python_result(c, ret, result);
    Py_DECREF(result);
    if (!stored) report_error(c, callable, onerror, ret, true);
}

}  // namespace cffix::call
