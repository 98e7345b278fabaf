// Free-threaded CPython (built with --disable-gil, Py_GIL_DISABLED): the few helpers
// that keep cffix's shared state safe without the GIL, in one place instead of #ifdefs
// scattered through the engine. With the GIL (the default build) every helper here is
// empty or a plain load/store: the GIL already orders everything, and the code compiled
// is the code that was there before.
//
// The kinds of shared state and what protects each:
//   - a process-wide table (intern table, call plans, the trampoline free list, handles):
//     a Mutex (PyMutex: it detaches the thread state while it waits, so a thread blocked
//     on it never stalls the GC's stop-the-world), held only around the table operation,
//     never while calling back into Python;
//   - state owned by one Python object (an FFI's scope and type caches, a library's
//     symbol cache): a CriticalSection on that object (CPython's per-object lock; it is
//     released while the thread blocks, so two of them never deadlock);
//   - a cache that is filled once and then only read (a function's call plan, its
//     specialized entry, a type's pointer type): an atomic pointer, relaxed or
//     acquire/release loads and stores;
//   - counters (live cdata, gc'd bytes): relaxed atomic adds;
//   - per-thread state (errno, recursion depths): thread_local.
#pragma once

#include <Python.h>

#include <atomic>

// Per-thread where the GIL no longer serializes: `static CFFIX_FT_THREAD_LOCAL int depth;`.
#ifdef Py_GIL_DISABLED
#define CFFIX_FT_THREAD_LOCAL thread_local __attribute__((tls_model("initial-exec")))
#else
#define CFFIX_FT_THREAD_LOCAL
#endif

namespace cffix::ft {

#ifdef Py_GIL_DISABLED

class Mutex {
public:
    void lock() { PyMutex_Lock(&mutex_); }
    void unlock() { PyMutex_Unlock(&mutex_); }

private:
    PyMutex mutex_{};
};

// Py_BEGIN_CRITICAL_SECTION(object) ... Py_END_CRITICAL_SECTION as a scope.
class CriticalSection {
public:
    explicit CriticalSection(PyObject* object) { PyCriticalSection_Begin(&section_, object); }
    ~CriticalSection() { PyCriticalSection_End(&section_); }
    CriticalSection(const CriticalSection&) = delete;
    CriticalSection& operator=(const CriticalSection&) = delete;

private:
    PyCriticalSection section_;
};

template <typename T>
inline T load_relaxed(T& slot) {
    return std::atomic_ref<T>(slot).load(std::memory_order_relaxed);
}
template <typename T>
inline void store_relaxed(T& slot, T value) {
    std::atomic_ref<T>(slot).store(value, std::memory_order_relaxed);
}
// A pointer published once its target is complete: the reader sees the target's fields.
template <typename T>
inline T load_acquire(T& slot) {
    return std::atomic_ref<T>(slot).load(std::memory_order_acquire);
}
template <typename T>
inline void store_release(T& slot, T value) {
    std::atomic_ref<T>(slot).store(value, std::memory_order_release);
}
// Stores `value` if `slot` still holds `expected`; else `expected` gets what it holds.
// Sequentially consistent (see fetch_or).
template <typename T>
inline bool compare_exchange(T& slot, T& expected, T value) {
    return std::atomic_ref<T>(slot).compare_exchange_strong(expected, value,
                                                            std::memory_order_seq_cst);
}
template <typename T>
inline void add_relaxed(T& counter, T delta) {
    std::atomic_ref<T>(counter).fetch_add(delta, std::memory_order_relaxed);
}
// Takes what `slot` holds, leaving `value` (one thread takes a pending destructor).
template <typename T>
inline T exchange(T& slot, T value) {
    return std::atomic_ref<T>(slot).exchange(value, std::memory_order_acq_rel);
}
// Sets `bits` in `flags`; returns the flags before (one thread wins a set-once flag).
// Sequentially consistent, as compare_exchange, fetch_and, fetch_add and load_seq_cst:
// two threads that each write one word then read the other's (a release and the end of a
// buffer export, cdata.cpp) see at least one of the two writes.
template <typename T>
inline T fetch_or(T& flags, T bits) {
    return std::atomic_ref<T>(flags).fetch_or(bits, std::memory_order_seq_cst);
}
// Clears what `bits` leaves out of `flags`; returns the flags before (one thread takes a
// pending task marked by a bit).
template <typename T>
inline T fetch_and(T& flags, T bits) {
    return std::atomic_ref<T>(flags).fetch_and(bits, std::memory_order_seq_cst);
}
// Adds `delta` to a count others decide on; returns the count before.
template <typename T>
inline T fetch_add(T& counter, T delta) {
    return std::atomic_ref<T>(counter).fetch_add(delta, std::memory_order_seq_cst);
}
template <typename T>
inline T load_seq_cst(T& slot) {
    return std::atomic_ref<T>(slot).load(std::memory_order_seq_cst);
}

// A new reference to `object` unless its reference count already reached zero (another
// thread is deallocating it): for tables that hold borrowed references and that the
// object's dealloc removes it from. `object` must have had enable_try_incref().
// (CPython's _Py_TryIncref; public as PyUnstable_TryIncRef from 3.14.)
inline bool try_incref(PyObject* object) {
#if PY_VERSION_HEX >= 0x030E0000
    return PyUnstable_TryIncRef(object);
#else
    uint32_t local =
        std::atomic_ref<uint32_t>(object->ob_ref_local).load(std::memory_order_relaxed);
    if (local + 1 == 0) return true;  // immortal
    if (_Py_IsOwnedByCurrentThread(object)) {
        std::atomic_ref<uint32_t>(object->ob_ref_local).store(local + 1, std::memory_order_relaxed);
        return true;
    }
    std::atomic_ref<Py_ssize_t> shared(object->ob_ref_shared);
    Py_ssize_t value = shared.load(std::memory_order_relaxed);
    for (;;) {
        // Zero: the owner may free it without looking at the shared count; merged and
        // zero: being freed.
        if (value == 0 || value == _Py_REF_MERGED) return false;
        if (shared.compare_exchange_weak(value, value + (1 << _Py_REF_SHARED_SHIFT),
                                         std::memory_order_relaxed))
            return true;
    }
#endif
}

// Makes the owning thread's last decref go through the shared count, so that
// try_incref from another thread either wins before it or sees the object dying.
inline void enable_try_incref(PyObject* object) {
#if PY_VERSION_HEX >= 0x030E0000
    PyUnstable_EnableTryIncRef(object);
#else
    if (_Py_IsImmortal(object)) return;
    std::atomic_ref<Py_ssize_t> shared(object->ob_ref_shared);
    Py_ssize_t value = shared.load(std::memory_order_relaxed);
    while ((value & _Py_REF_SHARED_FLAG_MASK) == 0 &&
           !shared.compare_exchange_weak(value, value | _Py_REF_MAYBE_WEAKREF,
                                         std::memory_order_relaxed)) {
    }
#endif
}

#else  // the GIL orders everything

class Mutex {
public:
    void lock() {}
    void unlock() {}
};

class CriticalSection {
public:
    explicit CriticalSection(PyObject*) {}
    CriticalSection(const CriticalSection&) = delete;
    CriticalSection& operator=(const CriticalSection&) = delete;
};

template <typename T>
inline T load_relaxed(T& slot) {
    return slot;
}
template <typename T>
inline void store_relaxed(T& slot, T value) {
    slot = value;
}
template <typename T>
inline T load_acquire(T& slot) {
    return slot;
}
template <typename T>
inline void store_release(T& slot, T value) {
    slot = value;
}
template <typename T>
inline bool compare_exchange(T& slot, T& expected, T value) {
    if (slot != expected) {
        expected = slot;
        return false;
    }
    slot = value;
    return true;
}
template <typename T>
inline void add_relaxed(T& counter, T delta) {
    counter += delta;
}
template <typename T>
inline T exchange(T& slot, T value) {
    T before = slot;
    slot = value;
    return before;
}
template <typename T>
inline T fetch_or(T& flags, T bits) {
    T before = flags;
    flags = static_cast<T>(flags | bits);
    return before;
}
template <typename T>
inline T fetch_and(T& flags, T bits) {
    T before = flags;
    flags = static_cast<T>(flags & bits);
    return before;
}
template <typename T>
inline T fetch_add(T& counter, T delta) {
    T before = counter;
    counter = static_cast<T>(counter + delta);
    return before;
}
template <typename T>
inline T load_seq_cst(T& slot) {
    return slot;
}

inline bool try_incref(PyObject* object) {
    if (Py_REFCNT(object) == 0) return false;  // inside its dealloc
    Py_INCREF(object);
    return true;
}
inline void enable_try_incref(PyObject*) {}

#endif

// A process-wide object made on first use by `make` (a new reference, kept for the
// process). Unlike a function-local static, no lock is held while `make` runs: it may
// call into Python, and a thread blocked on a C++ static's guard would stall the
// free-threaded GC's stop-the-world. Threads that race each make one; the first stored
// wins and the others' are released. `make` throws or returns non-null.
template <typename T, typename Make>
inline T* made_once(T*& slot, Make make) {
    T* t = load_acquire(slot);
    if (t) return t;
    t = make();
    T* expected = nullptr;
    if (compare_exchange(slot, expected, t)) return t;
    Py_DECREF(reinterpret_cast<PyObject*>(t));
    return expected;
}

// Holds a Mutex for a scope (std::lock_guard, without <mutex>).
class Lock {
public:
    explicit Lock(Mutex& mutex) : mutex_(mutex) { mutex_.lock(); }
    ~Lock() { mutex_.unlock(); }
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

private:
    Mutex& mutex_;
};

}  // namespace cffix::ft
