// The inline pieces of a C call that function.cpp (lib.f, function pointers) and
// wrap.cpp (wrapped functions) share: errno and the GIL around the call, an argument into
// its registers (fast companions, or from a converted buffer slot).
#pragma once

#include <cstring>

#include "call/errno.h"
#include "call/plan.h"
#include "call/thunks.h"
#include "data/argument.h"

namespace cffix::call {

using I = ThunkInt;
using D = ThunkFp;
using types::Conv;

// Whether calls go through libffi even where a thunk exists (tests run both paths).
inline bool force_libffi = false;

// The 8-byte word at `p` (argument slots are whole, zero-padded words).
inline I raw_word(const char* p) {
    I v;
    memcpy(&v, p, sizeof v);
    return v;
}

// Runs `call` with the thread's saved errno in errno (saved back afterwards), with the
// GIL released around it unless the function was declared to keep it.
template <typename Call>
inline void call_native(bool release_gil, Call&& call) {
    int& saved = saved_errno();
    int* err = thread_errno();
    if (release_gil) {
        Py_BEGIN_ALLOW_THREADS
        *err = saved;
        call();
        saved = *err;
        Py_END_ALLOW_THREADS
    } else {
        *err = saved;
        call();
        saved = *err;
    }
}

// call_native, then `after(err)` right after the call with errno's value, on the calling
// thread, before the GIL is retaken (error policies read errno and messages there).
template <typename Call, typename After>
inline void call_native(bool release_gil, Call&& call, After&& after) {
    int& saved = saved_errno();
    int* err = thread_errno();
    if (release_gil) {
        Py_BEGIN_ALLOW_THREADS
        *err = saved;
        call();
        int e = *err;
        after(e);
        saved = e;
        Py_END_ALLOW_THREADS
    } else {
        *err = saved;
        call();
        int e = *err;
        after(e);
        saved = e;
    }
}

// call_native in two halves, for an entry whose work right after the call has a failure
// branch of its own (wrap.cpp's simple entry), where a lambda's captures would cost more
// than the work: enter_native() right before the call, leave_native() right after it
// with errno's value (saved for ffi.errno; the GIL retaken).
struct NativeScope {
    PyThreadState* state;  // null: the GIL was kept
    int* err;
};
[[gnu::always_inline]] inline NativeScope enter_native(bool release_gil) {
    NativeScope s{release_gil ? PyEval_SaveThread() : nullptr, thread_errno()};
    *s.err = saved_errno();
    return s;
}
[[gnu::always_inline]] inline void leave_native(const NativeScope& s, int err) {
    saved_errno() = err;
    if (s.state) PyEval_RestoreThread(s.state);
}

// An HFA's members (AArch64), one per vector register, each in its low bits.
inline void hfa_to_registers(const ArgSpec& a, const char* mem, D* fps) {
    D* dst = &fps[a.slot[0]];
    if (a.tail == 8) {
        memcpy(dst, mem, 8 * size_t{a.words});
        return;
    }
    for (int m = 0; m < a.words; ++m) {
        D word = 0;
        memcpy(&word, mem + 4 * m, 4);
        dst[m] = word;
    }
}

// One argument straight into its registers (or stack words) for the common exact cases,
// converted by data/'s fast companions of to_c (data/argument.h), dispatched on the
// conversion kind as to_c is. False (no exception) means "not that simple: take the
// general path", which also produces the right error.
[[gnu::always_inline]] inline bool fast_argument(const ArgSpec& a, PyObject* v, I* ints, D* fps) {
    CType* t = a.type;
    switch (a.conv) {
        case Conv::Int8:
        case Conv::Int16:
        case Conv::Int32:
        case Conv::Int64:
        case Conv::UInt8:
        case Conv::UInt16:
        case Conv::UInt32:
        case Conv::UInt64:
        case Conv::Bool: {
            int64_t x;
            if (!data::fast_integer(v, a.range, &x)) return false;
            ints[a.slot[0]] = x;  // sign-extended for signed types, zero-extended otherwise
            return true;
        }
        case Conv::Pointer: {
            void* p;
            if (!data::fast_pointer(v, t, a.bytes, &p)) return false;
            ints[a.slot[0]] = reinterpret_cast<I>(p);
            return true;
        }
        case Conv::Float:
        case Conv::Double: {
            double d;
            if (!data::fast_double(v, &d)) return false;
            D word = d;
            if (a.conv == Conv::Float) {
                float f = static_cast<float>(d);
                word = 0;
                memcpy(&word, &f, sizeof f);  // a float travels in the low half
            }
            if (a.stack)
                memcpy(&ints[a.slot[0]], &word, 8);
            else
                fps[a.slot[0]] = word;
            return true;
        }
        case Conv::Record: {
            const char* mem = data::fast_record(v, t);
            if (!mem) return false;
            if (a.reg == RegClass::Reference) {
                // AArch64: the callee gets the address of a copy it may change, made in
                // the words of `ints` that the call does not read (see choose_thunk).
                if (a.slot[1] == kNoCopyWords) return false;  // too large: general path
                I* copy = &ints[a.slot[1]];
                memcpy(copy, mem, static_cast<size_t>(t->size));
                ints[a.slot[0]] = reinterpret_cast<I>(copy);
                return true;
            }
            if (a.stack) {  // its words in order, the last one zero-padded
                ints[a.slot[0] + a.words - 1] = 0;
                memcpy(&ints[a.slot[0]], mem, static_cast<size_t>(t->size));
                return true;
            }
            if (a.reg == RegClass::Hfa) {
                hfa_to_registers(a, mem, fps);
                return true;
            }
            // Each eightbyte into its register slot; the last one may be partial.
            char* dst0 =
                (a.fp_words & 1 ? reinterpret_cast<char*>(fps) : reinterpret_cast<char*>(ints)) +
                8 * a.slot[0];
            if (a.words == 2) {
                memcpy(dst0, mem, 8);
                mem += 8;
                dst0 = (a.fp_words & 2 ? reinterpret_cast<char*>(fps)
                                       : reinterpret_cast<char*>(ints)) +
                       8 * a.slot[1];
            }
            if (a.tail == 8) {
                memcpy(dst0, mem, 8);
            } else {
                memset(dst0, 0, 8);
                memcpy(dst0, mem, a.tail);
            }
            return true;
        }
        default: return false;  // char, wide chars, function pointers, ...: the general path
    }
}

// A converted argument (its buffer slot, whole zero-padded eightbytes) into its registers
// or stack words, as the thunk takes it.
inline void slot_to_registers(const ArgSpec& a, const char* slot, I* ints, D* fps) {
    if (a.reg == RegClass::Int) {  // narrow integers widened to the whole word
        ints[a.slot[0]] =
            data::needs_widening(a.type) ? data::register_integer(a.type, slot) : raw_word(slot);
    } else if (a.reg == RegClass::Reference) {  // the slot is the copy the callee gets
        ints[a.slot[0]] = reinterpret_cast<I>(slot);
    } else if (a.stack) {
        memcpy(&ints[a.slot[0]], slot, 8 * size_t{a.words});
    } else if (a.reg == RegClass::Hfa) {
        hfa_to_registers(a, slot, fps);
    } else if (a.reg == RegClass::Record) {
        for (int w = 0; w < a.words; ++w)
            memcpy(a.fp_words >> w & 1 ? static_cast<void*>(&fps[a.slot[w]])
                                       : static_cast<void*>(&ints[a.slot[w]]),
                   slot + 8 * w, 8);
    } else {
        memcpy(&fps[a.slot[0]], slot, sizeof(D));  // a float's bits in the low half
    }
}

}  // namespace cffix::call
