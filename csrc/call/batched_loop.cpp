// Batched calls, the loops: items staged as register words, the function called through
// a typed loop, the plan's thunk or libffi, the error policy after each call. See
// batched_loop.h and batched.h.
#include "call/batched_loop.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "call/errno.h"

namespace cffix::call::batch {

using types::Conv;

namespace {

using I = ThunkInt;
using D = ThunkFp;

}  // namespace

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

Dest dest_of(Elem param) {
    switch (param) {
        case Elem::F32: return Dest::F32;
        case Elem::F64: return Dest::F64;
        case Elem::Ptr: return Dest::Ptr;
        default: return Dest::Int;
    }
}

namespace {

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

}  // namespace

void stage(const Column& c, Py_ssize_t start, Py_ssize_t n) {
    if (c.addresses) {
        for (Py_ssize_t j = 0; j < n; ++j)
            c.stage[j] = reinterpret_cast<uintptr_t>(c.base + (start + j) * c.stride);
        return;
    }
    with_elem(c.src, [&](auto s) { stage_items<decltype(s)>(c, start, n); });
}

namespace {

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

}  // namespace

void store_results(Elem r, char* base, Py_ssize_t stride, Py_ssize_t start, const Word* words,
                   Py_ssize_t n) {
    if (r == Elem::Bool) {  // a _Bool comes back as 0 or 1 in the low byte
        char* p = base + start * stride;
        for (Py_ssize_t j = 0; j < n; ++j, p += stride) *p = (words[j] & 0xff) != 0;
        return;
    }
    with_elem(r, [&](auto t) { store_items<decltype(t)>(base, stride, start, words, n); });
}

namespace {

// The failure path of check_item, out of line.
[[gnu::noinline]] bool item_failed(const Batch& b, const CallFrame& frame, Py_ssize_t index,
                                   Stop& stop);

// After the call of item `j` (in its chunk; `base` is the chunk's first item): runs the
// policy. False when the batch stops there. `addresses`: nargs slots for the frame.
[[gnu::always_inline]] inline bool check_item(const Batch& b, size_t nargs, const Words* words,
                                              void** addresses, const char* rbuf, Py_ssize_t base,
                                              Py_ssize_t j, Stop& stop) {
    const Policy& p = *b.policy;
    // `result OP constant` (the common form) is tested inline, without the frame.
    if (p.quick_op && __builtin_expect(!policy_quick_failed(p, rbuf), 1)) return true;
    for (size_t k = 0; k < nargs; ++k) addresses[k] = const_cast<char*>(words[k] + 8 * j);
    CallFrame frame{addresses, rbuf, *thread_errno()};
    if (!p.quick_op && __builtin_expect(!policy_failed(p, frame), 1)) return true;
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

}  // namespace

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

}  // namespace cffix::call::batch
