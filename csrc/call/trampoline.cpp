// The trampoline pool (see trampoline.h).
#include "call/trampoline.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "util/ft.h"
#include "util/pyref.h"

#if defined(__x86_64__) && defined(__linux__) && defined(__ELF__)
#define CFFIX_TRAMPOLINE_POOL 1
#endif

namespace cffix::call {

#ifdef CFFIX_TRAMPOLINE_POOL

constexpr int kSlots = 1024;
constexpr int kSlotBytes = 32;

// Entry i: {closure pointer, libffi entry point}. Read by trampoline i; written here
// before the code address is handed out (and published with it: whoever gets the
// address from closure_activate's caller got it through a release store or a lock).
extern "C" __attribute__((visibility("hidden"))) void* cffix_trampoline_data[2 * kSlots];
void* cffix_trampoline_data[2 * kSlots];

extern "C" __attribute__((visibility("hidden"))) char cffix_trampolines[];

// Slot i, 32 bytes in .text:  endbr64 ; mov data[2i](%rip), %r10 ; jmp *data[2i+1](%rip)
// r10 is where libffi's x86-64 closure entry expects the closure (its own trampoline
// sets r10 to the closure's address); the entry reads cif, function and user data at
// fixed offsets from it.
asm(R"(
    .text
    .p2align 5
    .globl cffix_trampolines
    .hidden cffix_trampolines
cffix_trampolines:
    .altmacro
    .macro CFFIX_TRAMPOLINE n
    endbr64
    movq cffix_trampoline_data+(\n*16)(%rip), %r10
    jmpq *cffix_trampoline_data+(\n*16+8)(%rip)
    .p2align 5
    .endm
    .set cffix_slot, 0
    .rept 1024
    CFFIX_TRAMPOLINE %cffix_slot
    .set cffix_slot, cffix_slot + 1
    .endr
    .noaltmacro
    .purgem CFFIX_TRAMPOLINE
)");

namespace {

// libffi 3.x's x86-64 trampoline, as ffi_prep_closure_loc writes it into closure->tramp:
// endbr64; lea -0xb(%rip),%r10; jmp *7(%rip); nopl 0(%rax); then the 8-byte entry point.
const unsigned char kLibffiTrampoline[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x4c, 0x8d, 0x15, 0xf5,
                                           0xff, 0xff, 0xff, 0xff, 0x25, 0x07, 0x00, 0x00,
                                           0x00, 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00};
constexpr size_t kEntryOffset = sizeof kLibffiTrampoline;

// The free slots, under slots_mutex (nothing in the default build: the GIL).
ft::Mutex slots_mutex;
std::vector<int>& free_slots() {
    static auto* slots = [] {
        auto* v = new std::vector<int>();
        for (int i = kSlots - 1; i >= 0; --i) v->push_back(i);
        return v;
    }();
    return *slots;
}

bool entry_point(const ffi_closure* closure, void** entry) {
    static_assert(FFI_TRAMPOLINE_SIZE >= kEntryOffset + 8, "unexpected libffi trampoline size");
    const auto* bytes = reinterpret_cast<const unsigned char*>(closure->tramp);
    if (memcmp(bytes, kLibffiTrampoline, sizeof kLibffiTrampoline) != 0) return false;
    memcpy(entry, bytes + kEntryOffset, sizeof *entry);
    return *entry != nullptr;
}

void dummy_handler(ffi_cif*, void*, void**, void*) {}

// Does this libffi write the trampoline we know? Checked once with a dummy closure.
bool pool_usable() {
    static const bool usable = [] {
        static ffi_cif cif;
        if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 0, &ffi_type_void, nullptr) != FFI_OK) return false;
        ffi_closure probe{};
        if (ffi_prep_closure_loc(&probe, &cif, dummy_handler, nullptr, cffix_trampolines) != FFI_OK)
            return false;
        void* entry;
        return entry_point(&probe, &entry);
    }();
    return usable;
}

int slot_of(const void* code) {
    auto p = reinterpret_cast<uintptr_t>(code);
    auto base = reinterpret_cast<uintptr_t>(cffix_trampolines);
    if (p < base || p >= base + kSlots * kSlotBytes || (p - base) % kSlotBytes) return -1;
    return static_cast<int>((p - base) / kSlotBytes);
}

// A free slot, or -1.
int take_slot() {
    ft::Lock lock(slots_mutex);
    if (free_slots().empty()) return -1;
    int slot = free_slots().back();
    free_slots().pop_back();
    return slot;
}

}  // namespace

ffi_closure* closure_alloc(void** code) {
    if (pool_usable()) {
        int slot = take_slot();
        auto* closure =
            slot < 0 ? nullptr : static_cast<ffi_closure*>(calloc(1, sizeof(ffi_closure)));
        if (closure) {
            *code = cffix_trampolines + slot * kSlotBytes;
            return closure;
        }
        if (slot >= 0) {
            ft::Lock lock(slots_mutex);
            free_slots().push_back(slot);
        }
    }
    return static_cast<ffi_closure*>(ffi_closure_alloc(sizeof(ffi_closure), code));
}

bool closure_activate(ffi_closure* closure, void* code) {
    int slot = slot_of(code);
    if (slot < 0) return true;  // libffi's own closure: ready as it is
    void* entry;
    if (!entry_point(closure, &entry)) {
        PyErr_SetString(PyExc_SystemError, "cffix: unexpected libffi closure layout");
        return false;
    }
    cffix_trampoline_data[2 * slot] = closure;
    cffix_trampoline_data[2 * slot + 1] = entry;
    return true;
}

void closure_free(ffi_closure* closure, void* code) {
    int slot = slot_of(code);
    if (slot < 0) {
        ffi_closure_free(closure);
        return;
    }
    cffix_trampoline_data[2 * slot] = nullptr;
    cffix_trampoline_data[2 * slot + 1] = nullptr;
    free(closure);
    ft::Lock lock(slots_mutex);
    free_slots().push_back(slot);
}

#else  // no pool on this platform: libffi's allocator

ffi_closure* closure_alloc(void** code) {
    return static_cast<ffi_closure*>(ffi_closure_alloc(sizeof(ffi_closure), code));
}
bool closure_activate(ffi_closure*, void*) { return true; }
void closure_free(ffi_closure* closure, void*) { ffi_closure_free(closure); }

#endif

}  // namespace cffix::call
