// Call arguments and results: the call rules beside to_c/from_c. See argument.h.
#include "data/argument.h"

#include "util/errors.h"

namespace cffix::data {

using types::Kind;

bool keep_temporary(cffix_temporaries& temps, PyRef ref) {
    if (temps.used < 4) {
        temps.refs[temps.used++] = ref.release();
        return true;
    }
    if (!temps.more && !(temps.more = PyList_New(0))) return false;
    return PyList_Append(temps.more, ref.get()) == 0;
}

bool argument_to_c(CType* t, char* slot, PyObject* value, cffix_temporaries& temps) {
    if (t->kind == Kind::Pointer || t->kind == Kind::Function) {
        if (value == Py_None) {  // NULL (a cffix extension in calls: cffi refuses None)
            memset(slot, 0, sizeof(void*));
            return true;
        }
    }
    if (t->kind == Kind::Pointer) {
        CType* item = t->item;
        if (PyBytes_Check(value) && takes_bytes(item)) {
            // The bytes object's buffer is NUL-terminated and lives during the call.
            char* p = PyBytes_AS_STRING(value);
            memcpy(slot, &p, sizeof p);
            return true;
        }
        bool wide = types::is_wide_char(item);
        bool sized_item = item->kind != Kind::Void && item->size > 0;
        if (sized_item &&
            (PyList_Check(value) || PyTuple_Check(value) || (wide && PyUnicode_Check(value)))) {
            PyRef array_type;
            try {
                array_type = PyRef(reinterpret_cast<PyObject*>(types::array_type(item, -1)));
            } catch (...) {
                return translate_exception(), false;
            }
            PyRef array(new_cdata(reinterpret_cast<CType*>(array_type.get()), value));
            if (!array) return false;
            char* p = reinterpret_cast<CData*>(array.get())->data;
            memcpy(slot, &p, sizeof p);
            return keep_temporary(temps, std::move(array));
        }
    }
    return to_c(t, slot, value);
}

int64_t register_integer(const CType* t, const char* src) {
    switch (t->conv) {
        case Conv::Char: return static_cast<char>(*src);  // signed on x86-64, not on AArch64
        case Conv::WChar32:
            if (!(t->flags & types::PF_SIGNED)) {
                uint32_t v;
                memcpy(&v, src, sizeof v);
                return v;
            }
            break;
        default: break;
    }
    return load_integer(t, src);  // signed kinds sign-extended, unsigned zero-extended
}

PyObject* box_record(CType* t, const char* src) {
    CData* cd = new_owned(t, static_cast<Py_ssize_t>(t->size), 0);
    if (cd) memcpy(cd->data, src, static_cast<size_t>(t->size));
    return reinterpret_cast<PyObject*>(cd);
}

}  // namespace cffix::data
