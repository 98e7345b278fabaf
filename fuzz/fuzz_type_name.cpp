// libFuzzer harness: the type-string parser (parse_type_name, csrc/parse/declarator.cpp)
// and its resolution against a scope (csrc/types/scope.cpp): what ffi.typeof(input),
// ffi.new(input) and ffi.cast(input, ...) do first. A fresh scope per input (a type
// string may declare an opaque tag), holding a few declarations to refer to.
#include "harness.h"
#include "types/scope.h"

using namespace cffix;

static const char kPrelude[] = R"(
typedef int int_t;
typedef unsigned long size_like;
typedef struct point { int x, y; } point_t;
typedef union number { int i; double d; } number_t;
struct list { struct list *next; char name[16]; unsigned flags : 3; };
struct opaque;
typedef struct opaque opaque_t;
enum color { RED, GREEN = 5, BLUE = -1 };
typedef enum color color_t;
typedef int (*callback_t)(void *, int, ...);
typedef int function_t(double);
typedef char buf_t[32];
typedef int open_t[];
typedef int... dots_int_t;
typedef ... dots_t;
struct partial { int a; ...; };
#define N 4
#define BIG 0xffffffffffffffff
)";

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::init_python();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(fuzz::as_text(data, size));
    {
        types::Scope scope;
        try {
            scope.cdef(kPrelude, {});
        } catch (...) {
            fuzz::fail("the prelude does not cdef");
        }
        try {
            types::CTypeRef t = scope.parse_type(text);
            fuzz::touch_type(reinterpret_cast<PyObject*>(t.get()));
            // The same string once more: the same type (but `struct { int a; } *` names
            // a new anonymous struct each time, as in C).
            types::CTypeRef again = scope.parse_type(text);
            if (again.get() != t.get() && text.find('{') == std::string::npos)
                fuzz::fail("one type string, two types");
        } catch (...) {
            fuzz::expect_clean_error();
        }
    }
    if (PyErr_Occurred()) fuzz::fail("a Python exception left set");
    return 0;
}
