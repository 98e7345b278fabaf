// A vector that keeps its first N elements inline: for the short lists that are made and
// dropped by the thousand (the derivations of one declarator while parsing, the argument
// types of one variadic call), which then cost no heap allocation. Past N it moves
// everything to the heap and grows as usual. Move-only, and only what its users need:
// push_back, iteration, indexing, size, back(), clear().
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace cffix {

template <typename T, size_t N>
class SmallVector {
    static_assert(N > 0);

public:
    SmallVector() = default;
    SmallVector(SmallVector&& other) noexcept { take(other); }
    SmallVector& operator=(SmallVector&& other) noexcept {
        if (this != &other) {
            clear();
            free_heap();
            take(other);
        }
        return *this;
    }
    SmallVector(const SmallVector&) = delete;
    SmallVector& operator=(const SmallVector&) = delete;
    ~SmallVector() {
        clear();
        free_heap();
    }

    T* begin() { return data_; }
    T* end() { return data_ + size_; }
    const T* begin() const { return data_; }
    const T* end() const { return data_ + size_; }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    T& operator[](size_t i) { return data_[i]; }
    const T& operator[](size_t i) const { return data_[i]; }
    T& back() { return data_[size_ - 1]; }
    const T& back() const { return data_[size_ - 1]; }
    bool is_inline() const { return data_ == inline_data(); }

    void push_back(T&& value) {
        if (size_ == capacity_) grow();
        ::new (static_cast<void*>(data_ + size_)) T(std::move(value));
        ++size_;
    }
    void clear() {
        std::destroy(data_, data_ + size_);
        size_ = 0;
    }

private:
    static_assert(std::is_nothrow_move_constructible_v<T>, "elements move without throwing");

    T* inline_data() { return std::launder(reinterpret_cast<T*>(storage_)); }
    const T* inline_data() const { return std::launder(reinterpret_cast<const T*>(storage_)); }

    void grow() {
        size_t capacity = capacity_ * 2;
        T* heap =
            static_cast<T*>(::operator new(capacity * sizeof(T), std::align_val_t(alignof(T))));
        std::uninitialized_move(data_, data_ + size_, heap);
        std::destroy(data_, data_ + size_);
        free_heap();
        data_ = heap;
        capacity_ = capacity;
    }
    void free_heap() {
        if (!is_inline()) ::operator delete(data_, std::align_val_t(alignof(T)));
        data_ = inline_data();
        capacity_ = N;
    }
    // Requires this to be empty and inline.
    void take(SmallVector& other) {
        if (!other.is_inline()) {  // steal the heap block
            data_ = other.data_;
            capacity_ = other.capacity_;
            size_ = other.size_;
            other.data_ = other.inline_data();
            other.capacity_ = N;
            other.size_ = 0;
            return;
        }
        std::uninitialized_move(other.data_, other.data_ + other.size_, data_);
        size_ = other.size_;
        other.clear();
    }

    alignas(T) unsigned char storage_[N * sizeof(T)];
    T* data_ = inline_data();
    size_t size_ = 0;
    size_t capacity_ = N;
};

}  // namespace cffix
