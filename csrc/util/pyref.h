// PyRef: an owned reference to a Python object (RAII), so that every early return on an
// error path releases what it holds.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <utility>

namespace cffix {

// Ref<T> works for any PyObject-headed struct T (CType, CData...); PyRef is Ref<PyObject>.
template <typename T = PyObject>
class Ref {
public:
    Ref() = default;
    // Takes ownership of a new reference (may be null).
    explicit Ref(T* owned) : ptr_(owned) {}
    static Ref borrow(T* borrowed) {
        Py_XINCREF(as_object(borrowed));
        return Ref(borrowed);
    }
    Ref(const Ref& other) : ptr_(other.ptr_) { Py_XINCREF(as_object(ptr_)); }
    Ref(Ref&& other) noexcept : ptr_(std::exchange(other.ptr_, nullptr)) {}
    Ref& operator=(Ref other) noexcept {
        std::swap(ptr_, other.ptr_);
        return *this;
    }
    ~Ref() { Py_XDECREF(as_object(ptr_)); }

    T* get() const { return ptr_; }
    T* operator->() const { return ptr_; }
    PyObject* object() const { return as_object(ptr_); }
    explicit operator bool() const { return ptr_ != nullptr; }
    // Gives up ownership: the caller now owns the reference.
    T* release() { return std::exchange(ptr_, nullptr); }
    void reset(T* owned = nullptr) { Ref(owned).swap(*this); }
    void swap(Ref& other) noexcept { std::swap(ptr_, other.ptr_); }

private:
    static PyObject* as_object(T* p) { return reinterpret_cast<PyObject*>(p); }
    T* ptr_ = nullptr;
};

using PyRef = Ref<PyObject>;

}  // namespace cffix
