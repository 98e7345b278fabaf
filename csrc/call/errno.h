// errno across C calls, per thread (cffi's ffi.errno).
//
// The call path restores errno from saved_errno() right before a C call and saves errno
// into it right after; a callback does the reverse (saves on entry, restores on exit).
// So the interpreter's own use of errno between a call and a read of ffi.errno cannot
// clobber it. Writing ffi.errno sets both.
#pragma once

#include <cerrno>

namespace cffix::call {

// initial-exec TLS: a plain %fs-relative load on the call path instead of a
// __tls_get_addr call (one int fits the static TLS space glibc reserves for dlopen).
inline thread_local int saved_errno_value __attribute__((tls_model("initial-exec"))) = 0;
inline int& saved_errno() { return saved_errno_value; }

// The thread's errno, its address looked up once per thread (glibc's errno is a call).
inline thread_local int* errno_address __attribute__((tls_model("initial-exec"))) = nullptr;
inline int* thread_errno() {
    int* p = errno_address;
    if (__builtin_expect(p == nullptr, 0)) p = errno_address = &errno;
    return p;
}

}  // namespace cffix::call
