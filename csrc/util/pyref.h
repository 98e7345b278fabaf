// PyRef: an owned reference to a Python object (RAII), so that every early return on an
// error path releases what it holds. The only helper below parse/ that knows Python.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <utility>

namespace cffix {

class PyRef {
public:
    PyRef() = default;
    // Takes ownership of a new reference (may be null).
    explicit PyRef(PyObject* owned) : ptr_(owned) {}
    static PyRef borrow(PyObject* borrowed) {
        Py_XINCREF(borrowed);
        return PyRef(borrowed);
    }
    PyRef(const PyRef& other) : ptr_(other.ptr_) { Py_XINCREF(ptr_); }
    PyRef(PyRef&& other) noexcept : ptr_(std::exchange(other.ptr_, nullptr)) {}
    PyRef& operator=(PyRef other) noexcept {
        std::swap(ptr_, other.ptr_);
        return *this;
    }
    ~PyRef() { Py_XDECREF(ptr_); }

    PyObject* get() const { return ptr_; }
    explicit operator bool() const { return ptr_ != nullptr; }
    // Gives up ownership: the caller now owns the reference.
    PyObject* release() { return std::exchange(ptr_, nullptr); }
    void reset(PyObject* owned = nullptr) { PyRef(owned).swap(*this); }
    void swap(PyRef& other) noexcept { std::swap(ptr_, other.ptr_); }

private:
    PyObject* ptr_ = nullptr;
};

}  // namespace cffix
