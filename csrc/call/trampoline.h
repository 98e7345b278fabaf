// Closures without writable+executable memory: a pool of pre-built trampolines.
//
// libffi's closure allocator needs a page that is writable and executable at once
// unless libffi was built with static trampolines (Debian's is not). Instead, cffix
// ships a pool of trampolines assembled into its own read-only text segment; slot i
// loads a closure pointer and a libffi entry point from entry i of a data table (plain
// read-write memory, never executed) and jumps. The closure itself (cif, function,
// user data) lives in ordinary heap memory. When the 1,024 slots of the text segment are
// taken, the pool grows by chunks of 2,048 slots of the same shape, made at run time
// without any writable+executable view: the code is written into a memfd through a
// writable mapping that is unmapped before the file is mapped read+execute.
//
// x86-64 and AArch64 Linux (Debian's arm64 libffi has no static trampolines either),
// chunks included (on AArch64 the instruction cache is synchronised with the code written
// before the chunk is used). Elsewhere, when this libffi's closure layout is not the one
// checked at start-up, or when no chunk can be mapped (no memfd_create), closures come
// from libffi's allocator as before.
#pragma once

#include <ffi.h>

namespace cffix::call {

// A closure and its code address, as ffi_closure_alloc gives them.
ffi_closure* closure_alloc(void** code);

// Call after ffi_prep_closure_loc(closure, cif, fun, data, code) succeeded: makes the
// code address live. False with a Python exception set on failure.
bool closure_activate(ffi_closure* closure, void* code);

void closure_free(ffi_closure* closure, void* code);

}  // namespace cffix::call
