/* cffix's C API: the one public C header, for the API-mode modules cffix generates.
 *
 * A module reaches the core through a table of function pointers that cffix._core
 * exports as the capsule "cffix._core._C_API": cffix_import_api() imports it and checks
 * that it is the table this header describes, so a module built against one cffix and
 * imported with another fails with an ImportError that names both versions, never a
 * crash.
 *
 * One converter set: values move between Python and C only through the core's
 * converters, the table's functions, and the inline fast companions below (the common
 * exact cases: an exact int in range, an exact float, a cdata of the very pointer type).
 * The core's own ABI-mode call path uses these same inline functions (it includes this
 * header), so generated code adds no second implementation of a conversion.
 *
 * The struct heads below mirror the leading fields of the core's CType and CData; the
 * core checks at compile time that they match, and CFFIX_API_VERSION changes whenever
 * they or the table change.
 *
 * C99 and C++ (the core is C++20).
 */
#ifndef CFFIX_API_H
#define CFFIX_API_H

#include <Python.h>
#include <stdint.h>
#include <string.h>
#if PY_VERSION_HEX < 0x030B0000
#include <longintrepr.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The layout of this header's structs and of the table. */
#define CFFIX_API_VERSION 4
#define CFFIX_API_CAPSULE "cffix._core._C_API"

/* A type's conversion kind: how its values move between Python and C. */
enum cffix_conv {
    CFFIX_CONV_NONE,
    CFFIX_CONV_INT8,
    CFFIX_CONV_INT16,
    CFFIX_CONV_INT32,
    CFFIX_CONV_INT64,
    CFFIX_CONV_UINT8,
    CFFIX_CONV_UINT16,
    CFFIX_CONV_UINT32,
    CFFIX_CONV_UINT64,
    CFFIX_CONV_BOOL,
    CFFIX_CONV_CHAR,
    CFFIX_CONV_WCHAR16,
    CFFIX_CONV_WCHAR32,
    CFFIX_CONV_FLOAT,
    CFFIX_CONV_DOUBLE,
    CFFIX_CONV_LONGDOUBLE,
    CFFIX_CONV_COMPLEXFLOAT,
    CFFIX_CONV_COMPLEXDOUBLE,
    CFFIX_CONV_POINTER,
    CFFIX_CONV_FUNCTION,
    CFFIX_CONV_RECORD,
    CFFIX_CONV_ARRAY,
    CFFIX_CONV_FLOAT128 /* _Float128 where long double is not binary128 (x86-64) */
};

enum cffix_kind {
    CFFIX_KIND_VOID,
    CFFIX_KIND_PRIMITIVE,
    CFFIX_KIND_POINTER,
    CFFIX_KIND_ARRAY,
    CFFIX_KIND_STRUCT,
    CFFIX_KIND_UNION,
    CFFIX_KIND_ENUM,
    CFFIX_KIND_FUNCTION
};

/* The leading fields of a C type (a cffix CType object). */
typedef struct cffix_ctype {
    PyObject_HEAD
    uint8_t kind; /* enum cffix_kind */
    uint8_t conv; /* enum cffix_conv */
    uint16_t flags;
    uint32_t align;
    int64_t size;             /* -1 while unknown */
    int64_t length;           /* arrays: the length, -1 for T[] */
    struct cffix_ctype* item; /* pointee, element, function result */
} cffix_ctype;

/* cdata flags the fast companions read. */
#define CFFIX_CD_RELEASED 1u

/* The leading fields of every cdata. */
typedef struct cffix_cdata {
    PyObject_HEAD
    cffix_ctype* ctype;
    char* data; /* for pointers and functions: the pointer value */
    Py_ssize_t length;
    uint32_t flags;
    PyObject* weakreflist;
} cffix_cdata;

/* A cdata on memory another object owns (p[0], fields): the owner follows the head. */
typedef struct cffix_cdata_view {
    cffix_cdata head;
    PyObject* owner;
} cffix_cdata_view;

/* Objects made for one call (arrays built from lists for pointer parameters), released
 * by cffix_temporaries_clear once the call returns. Zero-initialize it. */
typedef struct cffix_temporaries {
    PyObject* refs[4];
    int used;
    PyObject* more; /* a list, when refs is full */
} cffix_temporaries;

/* The range an exact int must be in to take the fast path for an integer type. */
typedef struct cffix_int_range {
    int64_t lo, hi;
} cffix_int_range;

/* A global variable of an API-mode module: its name (or asm label) and a function
 * returning its address, called at each access: the name may be a macro such as
 * `(*get_value())`, whose address changes (or is not valid yet at import). */
typedef struct cffix_global {
    const char* name;
    void* (*address)(void);
} cffix_global;

/* What the C compiler computed for a declaration the cdef leaves to it (`...`), keyed
 * by `name`:
 *   "struct s" / "union u" / a typedef name of an anonymous record: size, align, and in
 *       `values` the offset and the size of each member, in declaration order;
 *   "enum e" (or its typedef name): size, is_signed, and each enumerator's value;
 *   "typedef t" (`typedef int... t;` / `typedef float... t;`): size and is_signed;
 *   "global a" (`T a[...];`): size. */
typedef struct cffix_fact {
    const char* name;
    int64_t size;
    int64_t align;
    int is_signed;
    Py_ssize_t count; /* of values */
    const int64_t* values;
} cffix_fact;

/* What an API-mode module's lib is made of, each table sorted by name (strcmp); nothing
 * becomes a Python object before its first access. */
typedef struct cffix_module_tables {
    const PyMethodDef* functions; /* the METH_FASTCALL wrappers */
    Py_ssize_t nfunctions;
    const char* const* constant_names;
    Py_ssize_t nconstants;
    /* Constant i: *s and *u hold its value; returns bit 0: it is negative, bit 1: the
     * cdef gives another value (reading it raises ffi.error; modules built before this
     * bit existed never set it). */
    int (*constant_value)(int i, long long* s, unsigned long long* u);
    const cffix_global* globals; /* global variables, variadic and extern "Python" functions */
    Py_ssize_t nglobals;
} cffix_module_tables;

/* A thread entering Python from C (an extern "Python" function, a callback), filled by
 * enter_python and read by leave_python: the GIL state, the caller's errno, and an
 * exception that was pending on the thread when C called (kept aside, then restored). */
typedef struct cffix_python_entry {
    PyGILState_STATE gil;
    int caller_errno;
    PyObject* pending[3];
} cffix_python_entry;

/* An extern "Python" function of a module: a static object of the module, one per
 * function, sorted by name, that ffi.def_extern() fills. `callable` is the Python function
 * attached, NULL before: read it with the GIL held. */
typedef struct cffix_extern_python {
    const char* name;   /* as declared in the cdef; NULL ends the module's list */
    const char* module; /* the module's name, for messages */
    PyObject* callable;
    void* core; /* the core's, made by the first def_extern(): onerror, the error value */
} cffix_extern_python;

typedef struct cffix_api {
    unsigned int api_version;  /* CFFIX_API_VERSION of the core */
    const char* cffix_version; /* the core's cffix.__version__ */
    PyTypeObject* cdata_type;  /* plain cdata: pointers from casts, reads, NULL */
    PyTypeObject* owned_type;  /* cdata owning its memory (ffi.new) */
    PyTypeObject* view_type;   /* cdata on another object's memory (p[0]) */

    /* The type `cdecl` names in `ffi` (borrowed: the ffi keeps it), or NULL with an
     * exception set. "\x01f\x01k" names the type of parameter k of the cdef's function f
     * (one whose `[...]` lengths the compiler gave). */
    cffix_ctype* (*type_of)(PyObject* ffi, const char* cdecl);
    /* The integer range of a conversion kind (empty, lo > hi, for the others). */
    cffix_int_range (*integer_range)(int conv);
    /* `value` into the C object of type `type` at `dst`: 0 with an exception set on
     * failure (ffi.new's initializers, item assignment). */
    int (*to_c)(cffix_ctype* type, char* dst, PyObject* value);
    /* The Python value of the C object at `src`; structs and arrays as views that keep
     * `owner` alive. */
    PyObject* (*from_c)(cffix_ctype* type, char* src, PyObject* owner);
    /* A call argument of parameter type `type` into `slot` (zeroed, max(8, size) bytes):
     * to_c plus the call rules (None for NULL, bytes for char *, lists for T *). */
    int (*argument_to_c)(cffix_ctype* type, char* slot, PyObject* value, cffix_temporaries* temps);
    /* A call's result at `src` as Python sees it (None for void, structs boxed). */
    PyObject* (*result_from_c)(cffix_ctype* type, char* src);
    /* The calling thread's saved errno (ffi.errno), restored before and saved after a
     * C call. */
    int* (*saved_errno)(void);
    /* The `lib` of an API-mode module named `name`, made of `tables` (which must live as
     * long as the module: static data); global variables are read and written through
     * the core at the given addresses. */
    PyObject* (*make_lib)(PyObject* ffi, const char* name, const cffix_module_tables* tables);
    /* Hands `ffi` the compiler's facts before the module's cdef runs in it: its `...`
     * declarations are then completed with them. 0 with an exception set on failure. */
    int (*set_compiler_facts)(PyObject* ffi, const cffix_fact* facts, Py_ssize_t nfacts);
    /* ffi.cdef(source, override, packed, pack), run at the first use of `ffi`'s
     * declarations instead of now; `source` (`length` bytes) is static text. 0 with an
     * exception set. */
    int (*cdef_later)(PyObject* ffi, const char* source, Py_ssize_t length, int override,
                      int packed, int pack);
    PyTypeObject* ffi_type; /* cffix.FFI */
    /* `lib` (from make_lib) also gives the names of `other` (the lib of a module whose
     * ffi its ffi includes) that it does not declare itself. 0 with an exception set. */
    int (*lib_include)(PyObject* lib, PyObject* other);

    /* ------------------------------------------- version 3: extern "Python" */
    /* Takes the GIL (any thread, one Python did not create too) and the caller's errno
     * as ffi.errno; leave_python gives them back. Call enter_python first thing. */
    void (*enter_python)(cffix_python_entry* entry);
    void (*leave_python)(cffix_python_entry* entry);
    /* Module init: makes `ffi` an API-mode FFI whose def_extern() attaches to `functions`
     * (the module's extern "Python" functions, static, sorted by name, ended by a NULL
     * name; lib finds their addresses among make_lib's globals). Nothing is looked up
     * before the first def_extern(). 0 with an exception set on failure. */
    int (*extern_python_init)(PyObject* ffi, cffix_extern_python* functions);
    /* C called `function` before def_extern(): says so on stderr (the result is 0). */
    void (*extern_python_unattached)(cffix_extern_python* function);
    /* What the Python function returned into the C result at `result` (as ffi.callback
     * does): 0 with an exception set when it does not convert. */
    int (*extern_python_result)(cffix_extern_python* function, void* result, PyObject* value);
    /* The call raised (or, `converting_result`, its value did not convert): reports the
     * pending exception as ffi.callback does (onerror, sys.unraisablehook) and writes the
     * error value (or onerror's result) at `result`. */
    void (*extern_python_error)(cffix_extern_python* function, void* result, int converting_result);

    /* ------------------------------------------- version 4: wrapped functions */
    /* set_source(..., release_gil=False): the function objects the core makes for `lib`
     * (wrapped functions, called through their address) keep the GIL too. */
    void (*lib_keep_gil)(PyObject* lib);
} cffix_api;

/* Imports the core's table for module `module`, generated by cffix `built_with` for
 * table version `api_version` (pass CFFIX_API_VERSION). NULL with ImportError set when
 * the versions differ. */
static inline const cffix_api* cffix_import_api(const char* module, unsigned int api_version,
                                                const char* built_with) {
    const cffix_api* api = (const cffix_api*)PyCapsule_Import(CFFIX_API_CAPSULE, 0);
    if (!api) return NULL;
    if (api->api_version != api_version) {
        PyErr_Format(PyExc_ImportError,
                     "module '%s' was built by cffix %s (C API version %u), but this is "
                     "cffix %s (C API version %u): rebuild the module with this cffix",
                     module, built_with, api_version, api->cffix_version, api->api_version);
        return NULL;
    }
    return api;
}

static inline void cffix_temporaries_clear(cffix_temporaries* temps) {
    int i;
    for (i = 0; i < temps->used; ++i) Py_DECREF(temps->refs[i]);
    temps->used = 0;
    Py_CLEAR(temps->more);
}

/* ------------------------------------------------------------ fast companions
 * The common exact cases, with no Python call and no exception: 0 means "not that
 * simple", and the caller then takes argument_to_c, which accepts everything and raises
 * the right errors. */

/* The value of an exact int that fits in one internal digit, read inline; 0 for
 * larger ones. */
static inline int cffix_compact_long(PyObject* v, long long* out) {
#if PY_VERSION_HEX >= 0x030C0000
    PyLongObject* l = (PyLongObject*)v;
    if (!PyUnstable_Long_IsCompact(l)) return 0;
    *out = (long long)PyUnstable_Long_CompactValue(l);
    return 1;
#else
    switch (Py_SIZE(v)) {
        case 0: *out = 0; return 1;
        case 1: *out = (long long)((PyLongObject*)v)->ob_digit[0]; return 1;
        case -1: *out = -(long long)((PyLongObject*)v)->ob_digit[0]; return 1;
        default: return 0;
    }
#endif
}

/* An exact int within `range`. (bool, IntEnum and larger ints take the general path.) */
static inline int cffix_fast_integer(PyObject* v, cffix_int_range range, int64_t* out) {
    long long x;
    if (!PyLong_CheckExact(v)) return 0;
    if (!cffix_compact_long(v, &x)) {
        int overflow;
        x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow || (x == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return 0;
        }
    }
    if (x < range.lo || x > range.hi) return 0;
    *out = x;
    return 1;
}

/* An exact float, or an exact int, for a floating-point parameter. */
static inline int cffix_fast_double(PyObject* v, double* out) {
    long long x;
    double d;
    if (PyFloat_CheckExact(v)) {
        *out = PyFloat_AS_DOUBLE(v);
        return 1;
    }
    if (!PyLong_CheckExact(v)) return 0;
    if (cffix_compact_long(v, &x)) {
        *out = (double)x;
        return 1;
    }
    d = PyLong_AsDouble(v);
    if (d == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    *out = d;
    return 1;
}

/* A plain or owning cdata (`plain`, `owned`: the table's cdata_type and owned_type) of
 * the very pointer type `t` (or an array of its item), not released: what a pointer
 * takes with no conversion (a parameter, and a callback's result). */
static inline int cffix_fast_pointer_cdata(PyObject* v, const cffix_ctype* t,
                                           const PyTypeObject* plain, const PyTypeObject* owned,
                                           void** out) {
    const cffix_cdata* cd = (const cffix_cdata*)v;
    int same;
    if (Py_TYPE(v) != plain && Py_TYPE(v) != owned) return 0;
    same = cd->ctype == t || (cd->ctype->kind == CFFIX_KIND_ARRAY && cd->ctype->item == t->item);
    if (!same || (cd->flags & CFFIX_CD_RELEASED)) return 0;
    *out = cd->data;
    return 1;
}

/* For a data-pointer parameter of type `t`: a plain or owning cdata (`plain`, `owned`:
 * the table's cdata_type and owned_type) of the very type (or an array of its item), not
 * released; bytes where `bytes` (the pointee is char-like or void); None for NULL. */
static inline int cffix_fast_pointer(PyObject* v, const cffix_ctype* t, int bytes,
                                     const PyTypeObject* plain, const PyTypeObject* owned,
                                     void** out) {
    PyTypeObject* vt = Py_TYPE(v);
    if (vt == plain || vt == owned) return cffix_fast_pointer_cdata(v, t, plain, owned, out);
    if (vt == &PyBytes_Type && bytes) { /* NUL-terminated, alive during the call */
        *out = PyBytes_AS_STRING(v);
        return 1;
    }
    if (v == Py_None) {
        *out = NULL;
        return 1;
    }
    return 0;
}

/* For a struct parameter of type `t`: the memory of a struct cdata of exactly that type
 * that ffi.new owns (the object itself, or a view such as `p[0]` of such an owner; `view`,
 * `owned`: the table's view_type and owned_type), not released; else NULL. */
static inline const char* cffix_fast_record(PyObject* v, const cffix_ctype* t,
                                            const PyTypeObject* view, const PyTypeObject* owned) {
    PyTypeObject* vt = Py_TYPE(v);
    const cffix_cdata* cd = (const cffix_cdata*)v;
    if (vt == view) {
        PyObject* owner = ((const cffix_cdata_view*)v)->owner;
        if (Py_TYPE(owner) != owned || (((const cffix_cdata*)owner)->flags & CFFIX_CD_RELEASED))
            return NULL;
    } else if (vt != owned) {
        return NULL;
    }
    if (cd->ctype != t || (cd->flags & CFFIX_CD_RELEASED)) return NULL;
    return cd->data;
}

#ifdef __cplusplus
}
#endif

#endif /* CFFIX_API_H */
