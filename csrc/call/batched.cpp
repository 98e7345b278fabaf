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

namespace {

using I = ThunkInt;
using D = ThunkFp;
using Word = uint64_t;

// Items per chunk: the staged words of every column and of the results stay in cache.
constexpr Py_ssize_t kChunk = 512;

// ---------------------------------------------------------------- items and parameters

// What one item of a column (or a parameter, or a result) is in memory.
enum class Elem : uint8_t { None, I8, I16, I32, I64, U8, U16, U32, U64, Bool, F32, F64, Ptr };

Elem elem_of(const CType* t) {
    switch (t->conv) {
        case Conv::Int8: return Elem::I8;
        case Conv::Int16: return Elem::I16;
        case Conv::Int32: return Elem::I32;
        case Conv::Int64: return Elem::I64;
        case Conv::UInt8: return Elem::U8;
        case Conv::UInt16: return Elem::U16;
        case Conv::UInt32: return Elem::U32;
        case Conv::UInt64: return Elem::U64;
        case Conv::Bool: return Elem::Bool;
        case Conv::Float: return Elem::F32;
        case Conv::Double: return Elem::F64;
        case Conv::Pointer: return Elem::Ptr;
        default: return Elem::None;
    }
}

const char* elem_name(Elem e) {
    switch (e) {
        case Elem::I8: return "int8_t";
        case Elem::I16: return "int16_t";
        case Elem::I32: return "int32_t";
        case Elem::I64: return "int64_t";
        case Elem::U8: return "uint8_t";
        case Elem::U16: return "uint16_t";
        case Elem::U32: return "uint32_t";
        case Elem::U64: return "uint64_t";
        case Elem::Bool: return "_Bool";
        case Elem::F32: return "float";
        case Elem::F64: return "double";
        case Elem::Ptr: return "pointer";
        case Elem::None: break;
    }
    return "?";
}

bool is_float(Elem e) { return e == Elem::F32 || e == Elem::F64; }
bool is_signed(Elem e) {
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

Range range_of(Elem e) {
    switch (e) {
        case Elem::I8: return {INT8_MIN, INT8_MAX};
        case Elem::I16: return {INT16_MIN, INT16_MAX};
        case Elem::I32: return {INT32_MIN, INT32_MAX};
        case Elem::I64: return {INT64_MIN, INT64_MAX};
        case Elem::U8: return {0, UINT8_MAX};
        case Elem::U16: return {0, UINT16_MAX};
        case Elem::U32: return {0, UINT32_MAX};
        case Elem::U64: return {0, UINT64_MAX};
        case Elem::Bool: return {0, 1};
        default: return {0, 0};
    }
}

template <typename T>
T load(const char* p) {
    T v;
    memcpy(&v, p, sizeof v);
    return v;
}

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

// ---------------------------------------------------------------- columns

// How a parameter travels: an integer register word (sign- or zero-extended), a float's
// bits, a double's bits, a pointer.
enum class Dest : uint8_t { Int, F32, F64, Ptr };

Dest dest_of(Elem param) {
    switch (param) {
        case Elem::F32: return Dest::F32;
        case Elem::F64: return Dest::F64;
        case Elem::Ptr: return Dest::Ptr;
        default: return Dest::Int;
    }
}

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

// Reads `n` items from item `start` of `c` into its register words.
template <typename S>
void stage_items(const Column& c, Py_ssize_t start, Py_ssize_t n) {
    const char* p = c.base + start * c.stride;
    Word* out = c.stage;
    switch (c.dest) {
        case Dest::Int:
        case Dest::Ptr:
            if constexpr (std::is_integral_v<S>)  // checked: floats never reach integers
                for (Py_ssize_t j = 0; j < n; ++j, p += c.stride)
                    out[j] = static_cast<Word>(load<S>(p));  // sign- or zero-extended
            break;
        case Dest::F32:
            for (Py_ssize_t j = 0; j < n; ++j, p += c.stride)
                out[j] = std::bit_cast<uint32_t>(static_cast<float>(load<S>(p)));
            break;
        case Dest::F64:
            for (Py_ssize_t j = 0; j < n; ++j, p += c.stride)
                out[j] = std::bit_cast<Word>(static_cast<double>(load<S>(p)));
            break;
    }
}

void stage(const Column& c, Py_ssize_t start, Py_ssize_t n) {
    if (c.addresses) {
        for (Py_ssize_t j = 0; j < n; ++j)
            c.stage[j] = reinterpret_cast<uintptr_t>(c.base + (start + j) * c.stride);
        return;
    }
    with_elem(c.src, [&](auto s) { stage_items<decltype(s)>(c, start, n); });
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

// Buffers held for the batch, released at its end.
struct Buffers {
    std::vector<Py_buffer> views;
    Buffers() = default;
    Buffers(const Buffers&) = delete;
    Buffers& operator=(const Buffers&) = delete;
    ~Buffers() {
        for (Py_buffer& v : views) PyBuffer_Release(&v);
    }
    // PyObject_GetBuffer into a new slot: the view, or null with an exception set.
    Py_buffer* get(PyObject* obj, int flags) {
        Py_buffer view;
        if (PyObject_GetBuffer(obj, &view, flags) < 0) return nullptr;
        views.push_back(view);
        return &views.back();
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

// ---------------------------------------------------------------- call loops

template <size_t>
using IntArg = I;
template <size_t>
using FpArg = D;

inline Word word_of(I r) { return static_cast<Word>(r); }
inline Word word_of(float r) { return std::bit_cast<uint32_t>(r); }
inline Word word_of(double r) { return std::bit_cast<Word>(r); }

// The loop for a signature of up to kDirect integer-class and floating-class register
// arguments and a result in a register (or none): the function called through its exact
// prototype. iw/fw: by register slot, the chunk's words of the argument in that slot
// (8 bytes an item); res: where the result words go (8 bytes an item), or null.
constexpr size_t kDirect = 4;
using Words = const char*;
using DirectLoop = void (*)(void* fn, const Words* iw, const Words* fw, Py_ssize_t n, char* res);

template <typename R, typename Ints, typename Fps>
struct Direct;

template <typename R, size_t... Is, size_t... Fs>
struct Direct<R, std::index_sequence<Is...>, std::index_sequence<Fs...>> {
    static void loop(void* fn, const Words* iw, const Words* fw, Py_ssize_t n, char* res) {
        using Fn = R (*)(IntArg<Is>..., FpArg<Fs>...);
        Fn f = reinterpret_cast<Fn>(fn);
        const Words ints[] = {iw[Is]..., nullptr};
        const Words fps[] = {fw[Fs]..., nullptr};
        for (Py_ssize_t j = 0; j < n; ++j) {
            if constexpr (std::is_void_v<R>) {
                (void)res;
                f(load<I>(ints[Is] + 8 * j)..., load<D>(fps[Fs] + 8 * j)...);
            } else {
                Word w = word_of(f(load<I>(ints[Is] + 8 * j)..., load<D>(fps[Fs] + 8 * j)...));
                memcpy(res + 8 * j, &w, 8);
            }
        }
    }
};

using DirectRow = std::array<DirectLoop, kDirect + 1>;
using DirectTable = std::array<DirectRow, kDirect + 1>;

template <typename R, size_t NI, size_t... NFs>
constexpr DirectRow direct_row(std::index_sequence<NFs...>) {
    return {&Direct<R, std::make_index_sequence<NI>, std::make_index_sequence<NFs>>::loop...};
}
template <typename R, size_t... NIs>
constexpr DirectTable direct_table(std::index_sequence<NIs...>) {
    return {direct_row<R, NIs>(std::make_index_sequence<kDirect + 1>{})...};
}
template <typename R>
constexpr DirectTable kDirectTable = direct_table<R>(std::make_index_sequence<kDirect + 1>{});

DirectLoop direct_loop(Thunk kind, size_t ni, size_t nf) {
    if (ni > kDirect || nf > kDirect) return nullptr;
    switch (kind) {
        case Thunk::Void: return kDirectTable<void>[ni][nf];
        case Thunk::Int: return kDirectTable<I>[ni][nf];
        case Thunk::Float: return kDirectTable<float>[ni][nf];
        case Thunk::Double: return kDirectTable<D>[ni][nf];
        default: return nullptr;
    }
}

// A parameter's word into its libffi argument slot, at the parameter's own size.
void store_slot(char* slot, Word w, const CType* t, Dest d) {
    switch (d) {
        case Dest::F32: {
            auto bits = static_cast<uint32_t>(w);
            memcpy(slot, &bits, 4);
            return;
        }
        case Dest::F64: memcpy(slot, &w, 8); return;
        case Dest::Ptr: {
            auto p = static_cast<uintptr_t>(w);
            memcpy(slot, &p, sizeof p);
            return;
        }
        case Dest::Int:
            switch (t->size) {
                case 1: *reinterpret_cast<uint8_t*>(slot) = static_cast<uint8_t>(w); return;
                case 2: {
                    auto v = static_cast<uint16_t>(w);
                    memcpy(slot, &v, 2);
                    return;
                }
                case 4: {
                    auto v = static_cast<uint32_t>(w);
                    memcpy(slot, &v, 4);
                    return;
                }
                default: memcpy(slot, &w, 8); return;
            }
    }
}

// A result's word from the bytes a thunk (`thunk`) or libffi stored.
Word result_word(const char* rbuf, Elem r, int64_t size, bool thunk) {
    if (r == Elem::F32) return std::bit_cast<uint32_t>(load<float>(rbuf));
    if (thunk || size == 8) return load<Word>(rbuf);
    return static_cast<Word>(load<ffi_arg>(rbuf));  // narrow integers come widened
}

// `n` result words into the out array's items from `start`.
template <typename T>
void store_items(char* base, Py_ssize_t stride, Py_ssize_t start, const Word* words, Py_ssize_t n) {
    char* p = base + start * stride;
    for (Py_ssize_t j = 0; j < n; ++j, p += stride) {
        T v;
        if constexpr (std::is_same_v<T, float>)
            v = std::bit_cast<float>(static_cast<uint32_t>(words[j]));
        else if constexpr (std::is_same_v<T, double>)
            v = std::bit_cast<double>(words[j]);
        else
            v = static_cast<T>(words[j]);
        memcpy(p, &v, sizeof v);
    }
}

void store_results(Elem r, char* base, Py_ssize_t stride, Py_ssize_t start, const Word* words,
                   Py_ssize_t n) {
    if (r == Elem::Bool) {  // a _Bool comes back as 0 or 1 in the low byte
        char* p = base + start * stride;
        for (Py_ssize_t j = 0; j < n; ++j, p += stride) *p = (words[j] & 0xff) != 0;
        return;
    }
    with_elem(r, [&](auto t) { store_items<decltype(t)>(base, stride, start, words, n); });
}

enum class ErrorMode { Raise, Mask, Ignore };

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

// The failure path of check_item, out of line.
[[gnu::noinline]] bool item_failed(const Batch& b, const CallFrame& frame, Py_ssize_t index,
                                   Stop& stop);

// After the call of item `j` (in its chunk; `base` is the chunk's first item): runs the
// policy. False when the batch stops there. `addresses`: nargs slots for the frame.
[[gnu::always_inline]] inline bool check_item(const Batch& b, size_t nargs, const Words* words,
                                              void** addresses, const char* rbuf, Py_ssize_t base,
                                              Py_ssize_t j, Stop& stop) {
    for (size_t k = 0; k < nargs; ++k) addresses[k] = const_cast<char*>(words[k] + 8 * j);
    CallFrame frame{addresses, rbuf, *thread_errno()};
    if (__builtin_expect(!policy_failed(*b.policy, frame), 1)) return true;
    return item_failed(b, frame, base + j, stop);
}

// Item `index` failed: EINTR to retry stops the batch (interrupted), "mask" marks the
// item, "raise" captures the failure (code, errno, message: before the GIL is retaken)
// and stops. Whether the batch goes on.
bool item_failed(const Batch& b, const CallFrame& frame, Py_ssize_t index, Stop& stop) {
    stop.index = index;
    if (b.policy->retry_eintr && frame.err == EINTR) {
        stop.interrupted = true;
        return false;
    }
    if (b.mask) {
        b.mask[index] = 1;
        stop.index = -1;
        return true;
    }
    policy_capture(*b.policy, frame, stop.failure);
    memcpy(stop.result, frame.result, sizeof stop.result);
    return false;
}

// Whether a column's items are already its register words, 8 bytes apart: read in
// place, not staged (doubles for a double parameter, 64-bit integers in range for any
// integer parameter, pointers).
bool words_in_place(const Column& c) {
    if (c.length < 0 || c.stride != 8) return false;
    switch (c.dest) {
        case Dest::F64: return c.src == Elem::F64;
        case Dest::Int:
        case Dest::Ptr: return c.src == Elem::I64 || c.src == Elem::U64 || c.src == Elem::Ptr;
        default: return false;
    }
}

// Whether result words can go straight into the out array: 8-byte items, 8 bytes apart,
// whose word is their value.
bool results_in_place(const Batch& b) {
    return b.out && b.out_stride == 8 &&
           (b.result == Elem::F64 || b.result == Elem::I64 || b.result == Elem::U64 ||
            b.result == Elem::Ptr);
}

// Calls `m` items from item `base`: argument k's words at words[k] (8 bytes an item),
// result words to `res` (8 bytes an item) unless null. Returns how many items were
// called and kept (fewer than m when the batch stops: `stop` says why).
Py_ssize_t run_chunk(const Batch& b, DirectLoop direct, const Words* iw, const Words* fw,
                     const Words* words, char* res, Py_ssize_t base, Py_ssize_t m, Stop& stop) {
    const CallPlan* plan = b.plan;
    if (direct) {
        direct(b.fn, iw, fw, m, res);
        return m;
    }
    alignas(16) char rbuf[64] = {};
    size_t nargs = b.columns.size();
    std::vector<void*> addresses(b.policy ? nargs : 0);  // where the policy reads arguments
    if (!b.use_libffi) {
        I ints[kThunkIntRegs + kThunkStackWords] = {};
        D fps[kThunkFpRegs] = {};
        char* dst[kThunkIntRegs + kThunkStackWords + kThunkFpRegs];
        for (size_t k = 0; k < nargs; ++k) {
            const ArgSpec& a = plan->args[k];
            dst[k] = a.reg == RegClass::Int || a.stack ? reinterpret_cast<char*>(&ints[a.slot[0]])
                                                       : reinterpret_cast<char*>(&fps[a.slot[0]]);
        }
        ThunkCaller caller = plan->caller;
        for (Py_ssize_t j = 0; j < m; ++j) {
            for (size_t k = 0; k < nargs; ++k) memcpy(dst[k], words[k] + 8 * j, 8);
            caller(b.fn, ints, fps, rbuf);
            if (b.policy && !check_item(b, nargs, words, addresses.data(), rbuf, base, j, stop))
                return j;
            if (res) {
                Word w = result_word(rbuf, b.result, plan->result->size, true);
                memcpy(res + 8 * j, &w, 8);
            }
        }
        return m;
    }
    // libffi: each argument in its slot of an argument buffer, at its own size.
    alignas(16) char small[512];
    std::unique_ptr<char[]> big;
    char* buffer = small;
    if (plan->buffer_size > sizeof small) {
        big.reset(new char[plan->buffer_size + 16]);
        buffer =
            reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(big.get()) + 15) & ~uintptr_t{15});
    }
    memset(buffer, 0, plan->buffer_size);
    std::vector<void*> values(nargs);
    for (size_t k = 0; k < nargs; ++k) values[k] = buffer + plan->args[k].offset;
    for (Py_ssize_t j = 0; j < m; ++j) {
        for (size_t k = 0; k < nargs; ++k)
            store_slot(static_cast<char*>(values[k]), load<Word>(words[k] + 8 * j),
                       plan->args[k].type, b.columns[k].dest);
        ffi_call(const_cast<ffi_cif*>(&plan->cif), reinterpret_cast<void (*)()>(b.fn), rbuf,
                 values.data());
        if (b.policy && !check_item(b, nargs, words, addresses.data(), rbuf, base, j, stop))
            return j;
        if (res) {
            Word w = result_word(rbuf, b.result, plan->result->size, false);
            memcpy(res + 8 * j, &w, 8);
        }
    }
    return m;
}

// The calls of items [from, n), chunk by chunk; the caller holds or released the GIL.
// False when the batch stopped early (`stop` says where and why).
bool run_batch(Batch& b, Py_ssize_t from, Stop& stop) {
    const CallPlan* plan = b.plan;
    size_t nargs = b.columns.size();
    DirectLoop direct = nullptr;
    int int_column[kDirect] = {}, fp_column[kDirect] = {};  // the column in each slot
    size_t ni = 0, nf = 0;
    if (!b.use_libffi && !b.policy && plan->thunk != Thunk::None && !plan->stack_words) {
        bool simple = true;
        for (size_t k = 0; k < nargs; ++k) {
            const ArgSpec& a = plan->args[k];
            if (a.stack || a.slot[0] >= kDirect)
                simple = false;
            else if (a.reg == RegClass::Int)
                int_column[a.slot[0]] = static_cast<int>(k), ++ni;
            else if (a.reg == RegClass::Float || a.reg == RegClass::Double)
                fp_column[a.slot[0]] = static_cast<int>(k), ++nf;
            else
                simple = false;
        }
        if (simple) direct = direct_loop(plan->thunk, ni, nf);
    }
    std::vector<Words> words(nargs);
    std::vector<bool> in_place(nargs);
    for (size_t k = 0; k < nargs; ++k) in_place[k] = words_in_place(b.columns[k]);
    bool direct_results = results_in_place(b);
    Words iw[kDirect] = {}, fw[kDirect] = {};
    for (Py_ssize_t start = from; start < b.n; start += kChunk) {
        Py_ssize_t m = std::min(kChunk, b.n - start);
        for (size_t k = 0; k < nargs; ++k) {
            const Column& c = b.columns[k];
            if (in_place[k]) {
                words[k] = c.base + start * c.stride;
                continue;
            }
            if (c.length >= 0 || c.addresses)
                stage(c, start, m);
            else if (start == from)  // a value used in every call: its words once
                stage(c, 0, std::min(kChunk, b.n - from));
            words[k] = reinterpret_cast<const char*>(c.stage);
        }
        for (size_t s = 0; s < ni; ++s) iw[s] = words[static_cast<size_t>(int_column[s])];
        for (size_t s = 0; s < nf; ++s) fw[s] = words[static_cast<size_t>(fp_column[s])];
        char* res = !b.out           ? nullptr
                    : direct_results ? b.out + start * 8
                                     : reinterpret_cast<char*>(b.results);
        Py_ssize_t done = run_chunk(b, direct, iw, fw, words.data(), res, start, m, stop);
        if (b.out && !direct_results)
            store_results(b.result, b.out, b.out_stride, start, b.results, done);
        if (done < m) return false;
    }
    return true;
}

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
