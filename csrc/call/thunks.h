// Direct calls through exact register prototypes (x86-64 System V, AArch64).
//
// Integer-class and floating-class arguments are assigned to their argument registers
// independently and in order (rdi..r9 / xmm0..xmm7 on x86-64, x0..x7 / d0..d7 on
// AArch64). So a function taking NI integer-class and NF floating-class arguments, in
// any interleaving, is called correctly through the prototype R(I x NI, D x NF) with its
// arguments sorted by class. A float travels as the low 32 bits of a double register;
// a small struct as its eightbytes, each in a register of its class (x86-64), or as its
// words in integer registers, or (an HFA) one member per vector register (AArch64). What
// does not fit in registers goes to the stack in argument order, 8-byte words: the
// prototype R(I x (NREGS + k), D x 8) puts its last k integer parameters there.
#pragma once

#include <cstdint>

#include "call/plan.h"

namespace cffix::call {

#if defined(__aarch64__)
constexpr int kThunkIntRegs = 8;
#else
constexpr int kThunkIntRegs = 6;
#endif
constexpr int kThunkFpRegs = 8;
// Arguments past the registers (x86-64): eightbytes on the stack, in argument order. A
// prototype with every register taken and k more integer parameters puts k words there.
constexpr int kThunkStackWords = 16;
// The most a thunk stores at `rbuf`: two eightbytes, an HFA of four doubles (AArch64), or
// a struct returned through memory (Thunk::Big), which may be at most this large.
constexpr size_t kThunkResultBytes = 64;

// The caller for a result kind and register counts; null for Thunk::None or counts
// beyond the registers. With stack words, nints = kThunkIntRegs + words and
// nfps = kThunkFpRegs: ints[kThunkIntRegs...] are the stack words.
ThunkCaller thunk_caller(Thunk kind, int nints, int nfps);

}  // namespace cffix::call
