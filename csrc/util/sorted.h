// Binary search in the tables an API-mode module compiles in (functions, constants,
// addresses, extern "Python" functions): each is sorted by name with strcmp, so a name
// is found without building any index at import.
#pragma once

#include <cstddef>
#include <cstring>

namespace cffix {

// The entry of `table` (`n` entries sorted by name_of(entry), strcmp order) called
// `name`, or null.
template <typename Entry, typename NameOf>
Entry* find_sorted(Entry* table, size_t n, const char* name, NameOf name_of) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = std::strcmp(name_of(table[mid]), name);
        if (c == 0) return &table[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return nullptr;
}

}  // namespace cffix
