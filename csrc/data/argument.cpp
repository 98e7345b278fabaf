// Call arguments and results: the call rules beside to_c/from_c. See argument.h.
#include "data/argument.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

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

// ---------------------------------------------------------------- FILE *

// A Python file's FILE, as in cffi's ABI mode: made once per file object, over a
// duplicate of its descriptor, unbuffered (what C writes reaches the descriptor at once,
// and what it reads is taken from it), and kept on the file object (attribute
// __cffix_FILE, a capsule that closes it when the file object goes). C may keep the
// FILE * while the file object lives (store it in `stdout`, in a global). A file object
// that takes no attribute gets a FILE per call, closed after it.
static constexpr const char* kFileCapsule = "cffix.FILE";
static constexpr const char* kFileAttribute = "__cffix_FILE";

// The shared file offset set to the stream's position (a character C pushed back with
// ungetc() is not consumed), after a call; the FILE stays.
static void sync_offset(FILE* fp) {
    fflush(fp);
    off_t position = ftello(fp);
    if (position >= 0) lseek(fileno(fp), position, SEEK_SET);
}

static void sync_after_call(PyObject* capsule) {
    if (auto* fp = static_cast<FILE*>(PyCapsule_GetPointer(capsule, kFileCapsule)))
        sync_offset(fp);
    else
        PyErr_WriteUnraisable(capsule);
}

static void close_file_capsule(PyObject* capsule) {
    if (auto* fp = static_cast<FILE*>(PyCapsule_GetPointer(capsule, kFileCapsule))) {
        sync_offset(fp);
        fclose(fp);
    } else {
        PyErr_WriteUnraisable(capsule);
    }
}

// The fdopen() mode that matches how descriptor `fd` is open.
static const char* stdio_mode(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return nullptr;
    bool append = flags & O_APPEND;
    switch (flags & O_ACCMODE) {
        case O_RDONLY: return "r";
        case O_WRONLY: return append ? "a" : "w";
        default: return append ? "a+" : "r+";
    }
}

// A readable, seekable file has read ahead of its position: seeking back to its position
// discards that, so the descriptor's offset is where Python has read to. Best effort (as
// cffi's support for FILE is): a file that cannot tell its position is left as it is.
static void sync_read_position(PyObject* file) {
    PyRef readable(PyObject_CallMethod(file, "readable", nullptr));
    PyRef seekable(readable && PyObject_IsTrue(readable.get()) == 1
                       ? PyObject_CallMethod(file, "seekable", nullptr)
                       : nullptr);
    if (seekable && PyObject_IsTrue(seekable.get()) == 1) {
        // Through the end first: a seek within its buffer would keep the buffer.
        PyRef position(PyObject_CallMethod(file, "tell", nullptr));
        PyRef end(position ? PyObject_CallMethod(file, "seek", "ii", 0, 2) : nullptr);
        if (end) PyRef(PyObject_CallMethod(file, "seek", "O", position.get()));
    }
    PyErr_Clear();
}

// Whether `value` is a Python file object (an io.IOBase). -1 with an exception set.
static int is_python_file(PyObject* value) {
    PyRef io(PyImport_ImportModule("io"));
    if (!io) return -1;
    PyRef base(PyObject_GetAttrString(io.get(), "IOBase"));
    if (!base) return -1;
    return PyObject_IsInstance(value, base.get());
}

// The file's FILE (see above), made on first use: its capsule (a new reference), null
// with an exception set. `*kept`: the file object holds it (else it is this use's only).
// Python's buffered writes are flushed and its read-ahead given back first.
static PyObject* file_capsule(PyObject* file, bool* kept) {
    PyRef flushed(PyObject_CallMethod(file, "flush", nullptr));
    if (!flushed) return nullptr;
    sync_read_position(file);
    PyObject* held = PyObject_GetAttrString(file, kFileAttribute);
    if (held && PyCapsule_IsValid(held, kFileCapsule)) {
        *kept = true;
        return held;
    }
    Py_XDECREF(held);
    PyErr_Clear();
    PyRef number(PyObject_CallMethod(file, "fileno", nullptr));
    if (!number) return nullptr;
    int fd = PyObject_AsFileDescriptor(number.get());
    if (fd < 0) return nullptr;
    const char* mode = stdio_mode(fd);
    int copy = mode ? dup(fd) : -1;
    FILE* fp = copy >= 0 ? fdopen(copy, mode) : nullptr;
    if (!fp) {
        int saved = errno;
        if (copy >= 0) close(copy);
        errno = saved;
        PyErr_SetFromErrno(PyExc_OSError);
        return nullptr;
    }
    setvbuf(fp, nullptr, _IONBF, 0);
    PyRef capsule(PyCapsule_New(fp, kFileCapsule, close_file_capsule));
    if (!capsule) {
        fclose(fp);
        return nullptr;
    }
    *kept = PyObject_SetAttrString(file, kFileAttribute, capsule.get()) == 0;
    if (!*kept) PyErr_Clear();  // no attribute there: this use's FILE only
    return capsule.release();
}

// A Python file object for a `FILE *` parameter: its FILE, synchronized with the
// descriptor's offset when the call's temporaries are released (and closed then when
// the file object cannot keep it). False with an exception set on failure; `*handled`
// false when `value` is no file.
static bool file_argument(PyObject* value, char* slot, cffix_temporaries& temps, bool* handled) {
    *handled = false;
    int is_file = is_python_file(value);
    if (is_file <= 0) return is_file == 0;
    *handled = true;
    bool kept;
    PyRef capsule(file_capsule(value, &kept));
    if (!capsule) return false;
    FILE* fp = static_cast<FILE*>(PyCapsule_GetPointer(capsule.get(), kFileCapsule));
    memcpy(slot, &fp, sizeof fp);
    // The call's end syncs the offset (the FILE stays with the file), or syncs and
    // closes this call's own FILE.
    if (!kept) return keep_temporary(temps, std::move(capsule));
    PyRef after(PyCapsule_New(fp, kFileCapsule, sync_after_call));
    return after && keep_temporary(temps, std::move(after));
}

PyObject* file_pointer(CType* t, PyObject* value) {
    int is_file = is_python_file(value);
    if (is_file <= 0) return is_file == 0 ? Py_NewRef(Py_NotImplemented) : nullptr;
    bool kept;
    PyRef capsule(file_capsule(value, &kept));
    if (!capsule) return nullptr;
    if (!kept) {
        PyErr_Format(PyExc_TypeError,
                     "cannot cast %s to ctype '%s': it takes no attribute to keep its FILE in",
                     Py_TYPE(value)->tp_name, t->cname.c_str());
        return nullptr;
    }
    return reinterpret_cast<PyObject*>(
        new_pointer(t, PyCapsule_GetPointer(capsule.get(), kFileCapsule)));
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
        if (item == types::file_type() && !is_cdata(value)) {
            bool handled;
            if (!file_argument(value, slot, temps, &handled)) return false;
            if (handled) return true;
        }
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
