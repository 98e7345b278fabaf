// Batched calls, the loop side (call/batched.h): what an item is, columns of items
// staged as register words, and the calls of a batch with the GIL released. Internal to
// batched.cpp (arguments, checks, results) and batched_loop.cpp (the loops).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <vector>

#include "call/plan.h"
#include "call/policy.h"
#include "call/thunks.h"

namespace cffix::call::batch {

using Word = uint64_t;

// Items per chunk: the staged words of every column and of the results stay in cache.
constexpr Py_ssize_t kChunk = 512;

// ---------------------------------------------------------------- items and parameters

// What one item of a column (or a parameter, or a result) is in memory.
enum class Elem : uint8_t { None, I8, I16, I32, I64, U8, U16, U32, U64, Bool, F32, F64, Ptr };

Elem elem_of(const CType* t);
const char* elem_name(Elem e);

inline bool is_float(Elem e) { return e == Elem::F32 || e == Elem::F64; }
inline bool is_signed(Elem e) {
    return e == Elem::I8 || e == Elem::I16 || e == Elem::I32 || e == Elem::I64;
}

// Calls `f` with a value of the C type an item of kind `e` is read as.
template <typename F>
decltype(auto) with_elem(Elem e, F&& f) {
    switch (e) {
        case Elem::I8: return f(int8_t{});
        case Elem::I16: return f(int16_t{});
        case Elem::I32: return f(int32_t{});
        case Elem::I64: return f(int64_t{});
        case Elem::U16: return f(uint16_t{});
        case Elem::U32: return f(uint32_t{});
        case Elem::U64: return f(uint64_t{});
        case Elem::F32: return f(float{});
        case Elem::F64: return f(double{});
        case Elem::Ptr: return f(uintptr_t{});
        default: return f(uint8_t{});  // U8, Bool
    }
}

// The values an integer item or parameter may hold.
struct Range {
    int64_t lo;
    uint64_t hi;
};

Range range_of(Elem e);

template <typename T>
T load(const char* p) {
    T v;
    memcpy(&v, p, sizeof v);
    return v;
}

// ---------------------------------------------------------------- columns

// How a parameter travels: an integer register word (sign- or zero-extended), a float's
// bits, a double's bits, a pointer.
enum class Dest : uint8_t { Int, F32, F64, Ptr };

Dest dest_of(Elem param);

struct Column {
    const char* base = nullptr;  // item 0
    Py_ssize_t stride = 0;       // 0: the same value in every call
    Py_ssize_t length = -1;      // items; -1 for a value used in every call
    Elem src = Elem::None;
    Dest dest = Dest::Int;
    Word* stage = nullptr;            // kChunk words: this chunk's register words
    alignas(16) char value[16] = {};  // a value used in every call, converted once
    bool addresses = false;           // an out parameter: the words are the items' addresses
};

// Reads `n` items from item `start` of `c` into its register words (a value used in
// every call: from item 0; an out parameter: the items' addresses).
void stage(const Column& c, Py_ssize_t start, Py_ssize_t n);

// `n` result words into the out array's items from `start`.
void store_results(Elem r, char* base, Py_ssize_t stride, Py_ssize_t start, const Word* words,
                   Py_ssize_t n);

// Everything a batch needs once the arguments are checked.
struct Batch {
    CallPlan* plan;
    void* fn;
    std::vector<Column> columns;  // one per parameter
    Py_ssize_t n = 0;
    Elem result = Elem::None;
    char* out = nullptr;  // the results' item 0 (null when there are none to keep)
    Py_ssize_t out_stride = 0;
    Word* results = nullptr;         // kChunk words
    const Policy* policy = nullptr;  // checked after each call (not with errors="ignore")
    char* mask = nullptr;            // errors="mask": the mask's items
    bool use_libffi = false;
};

// Where a batch stopped before its end: at a failure (errors="raise"), or at a call
// interrupted by a signal (EINTR, with a policy that retries: the signal handlers run
// with the GIL, then the batch resumes at that item).
struct Stop {
    Py_ssize_t index = -1;  // -1: every item was called
    bool interrupted = false;
    PolicyFailure failure;
    alignas(16) char result[16] = {};  // the failed item's raw result
};

// The calls of items [from, n), chunk by chunk; the caller holds or released the GIL.
// False when the batch stopped early (`stop` says where and why).
bool run_batch(Batch& b, Py_ssize_t from, Stop& stop);

}  // namespace cffix::call::batch
