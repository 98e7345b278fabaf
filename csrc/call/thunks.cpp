// The table of exact-prototype callers: one per result kind and register counts.
#include "call/thunks.h"

#include <array>
#include <cstring>
#include <type_traits>
#include <utility>

namespace cffix::call {

namespace {

using I = ThunkInt;
using D = ThunkFp;

// Small structs come back in two registers of their classes (System V x86-64; on
// AArch64 RetII is x0/x1 and RetDD d0/d1): a prototype returning a struct of the same
// classes reads both.
struct RetII {
    I a, b;
};
struct RetDD {
    D a, b;
};
struct RetID {
    I a;
    D b;
};
struct RetDI {
    D a;
    I b;
};

#if defined(__aarch64__)
// HFAs come back one member per vector register (AAPCS64): s0..s3 or d0..d3.
struct RetF2 {
    float a, b;
};
struct RetF3 {
    float a, b, c;
};
struct RetF4 {
    float a, b, c, d;
};
struct RetD3 {
    D a, b, c;
};
struct RetD4 {
    D a, b, c, d;
};
#endif

// A struct returned through memory, as large as any the thunks return that way: the
// compiler passes the address of one (rdi on x86-64, x8 on AArch64) and the callee,
// returning a smaller struct, writes its own bytes there.
struct alignas(16) RetBig {
    I words[kThunkResultBytes / sizeof(I)];
};

template <size_t>
using IntArg = I;
template <size_t>
using FpArg = D;

template <typename R, typename Ints, typename Fps>
struct Exact;

template <typename R, size_t... Is, size_t... Fs>
struct Exact<R, std::index_sequence<Is...>, std::index_sequence<Fs...>> {
    static void call(void* fn, const I* ints, const D* fps, char* rbuf) {
        (void)ints;
        (void)fps;
        using Fn = R (*)(IntArg<Is>..., FpArg<Fs>...);
        if constexpr (std::is_void_v<R>) {
            (void)rbuf;
            reinterpret_cast<Fn>(fn)(ints[Is]..., fps[Fs]...);
        } else {
            static_assert(sizeof(R) <= kThunkResultBytes);
            R r = reinterpret_cast<Fn>(fn)(ints[Is]..., fps[Fs]...);
            memcpy(rbuf, &r, sizeof r);
        }
    }
};

using Row = std::array<ThunkCaller, kThunkFpRegs + 1>;
using Table = std::array<Row, kThunkIntRegs + 1>;

template <typename R, size_t NI, size_t... NFs>
constexpr Row row(std::index_sequence<NFs...>) {
    return {&Exact<R, std::make_index_sequence<NI>, std::make_index_sequence<NFs>>::call...};
}

template <typename R, size_t... NIs>
constexpr Table table(std::index_sequence<NIs...>) {
    return {row<R, NIs>(std::make_index_sequence<kThunkFpRegs + 1>{})...};
}

template <typename R>
constexpr Table kTable = table<R>(std::make_index_sequence<kThunkIntRegs + 1>{});

// Every register taken, then k words on the stack (k = 1..kThunkStackWords; 0 unused).
using StackRow = std::array<ThunkCaller, kThunkStackWords + 1>;

template <typename R, size_t... Ks>
constexpr StackRow stack_row(std::index_sequence<Ks...>) {
    return {&Exact<R, std::make_index_sequence<kThunkIntRegs + Ks>,
                   std::make_index_sequence<kThunkFpRegs>>::call...};
}

template <typename R>
constexpr StackRow kStackTable = stack_row<R>(std::make_index_sequence<kThunkStackWords + 1>{});

template <typename R>
ThunkCaller pick(size_t i, size_t f) {
    if (i <= static_cast<size_t>(kThunkIntRegs)) return kTable<R>[i][f];
    if (f != static_cast<size_t>(kThunkFpRegs)) return nullptr;
    return kStackTable<R>[i - kThunkIntRegs];
}

}  // namespace

ThunkCaller thunk_caller(Thunk kind, int nints, int nfps) {
    if (nints < 0 || nfps < 0 || nints > kThunkIntRegs + kThunkStackWords || nfps > kThunkFpRegs)
        return nullptr;
    auto i = static_cast<size_t>(nints), f = static_cast<size_t>(nfps);
    switch (kind) {
        case Thunk::Void: return pick<void>(i, f);
        case Thunk::Int: return pick<I>(i, f);
        case Thunk::Float: return pick<float>(i, f);
        case Thunk::Double: return pick<D>(i, f);
        case Thunk::IntInt: return pick<RetII>(i, f);
        case Thunk::DblDbl: return pick<RetDD>(i, f);
        case Thunk::IntDbl: return pick<RetID>(i, f);
        case Thunk::DblInt: return pick<RetDI>(i, f);
        case Thunk::Big: return pick<RetBig>(i, f);
#if defined(__aarch64__)
        case Thunk::Flt2: return pick<RetF2>(i, f);
        case Thunk::Flt3: return pick<RetF3>(i, f);
        case Thunk::Flt4: return pick<RetF4>(i, f);
        case Thunk::Dbl3: return pick<RetD3>(i, f);
        case Thunk::Dbl4: return pick<RetD4>(i, f);
#else
        case Thunk::Flt2:
        case Thunk::Flt3:
        case Thunk::Flt4:
        case Thunk::Dbl3:
        case Thunk::Dbl4: break;  // HFA results: AArch64 only
#endif
        case Thunk::None: break;
    }
    return nullptr;
}

}  // namespace cffix::call
