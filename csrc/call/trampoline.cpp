// The trampoline pool (see trampoline.h).
#include "call/trampoline.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "util/ft.h"
#include "util/pyref.h"

#if (defined(__x86_64__) || defined(__aarch64__)) && defined(__linux__) && defined(__ELF__)
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

#if defined(__x86_64__)
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

#else  // __aarch64__
// Slot i, 32 bytes in .text:  bti c ; x17 = data[2i] ; x16 = data[2i+1] ; br x16
// x17 is where libffi's AArch64 closure entry (ffi_closure_SYSV) expects the closure
// (its own trampoline sets x17 to the closure's address); x16 and x17 are the
// intra-procedure-call scratch registers, free at a call. adrp/ldr reach the table
// wherever the linker puts it; `bti c` is a no-op where branch protection is off.
asm(R"(
    .text
    .p2align 5
    .globl cffix_trampolines
    .hidden cffix_trampolines
    .type cffix_trampolines, %function
cffix_trampolines:
    .altmacro
    .macro CFFIX_TRAMPOLINE n
    hint #34
    adrp x17, cffix_trampoline_data+(\n*16)
    ldr x17, [x17, #:lo12:cffix_trampoline_data+(\n*16)]
    adrp x16, cffix_trampoline_data+(\n*16+8)
    ldr x16, [x16, #:lo12:cffix_trampoline_data+(\n*16+8)]
    br x16
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

#endif

namespace {

#if defined(__x86_64__)
// libffi 3.x's x86-64 trampoline, as ffi_prep_closure_loc writes it into closure->tramp:
// endbr64; lea -0xb(%rip),%r10; jmp *7(%rip); nopl 0(%rax); then the 8-byte entry point.
const unsigned char kLibffiTrampoline[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x4c, 0x8d, 0x15, 0xf5,
                                           0xff, 0xff, 0xff, 0xff, 0x25, 0x07, 0x00, 0x00,
                                           0x00, 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00};
#else
// libffi 3.x's AArch64 trampoline, as ffi_prep_closure_loc writes it into closure->tramp
// when the closure is not one of libffi's static trampolines:
// ldr x16, tramp+16; adr x17, tramp; br x16; 4 bytes of padding; then the entry point.
const unsigned char kLibffiTrampoline[] = {0x90, 0x00, 0x00, 0x58, 0xf1, 0xff, 0xff, 0x10,
                                           0x00, 0x02, 0x1f, 0xd6, 0x00, 0x00, 0x00, 0x00};
#endif
constexpr size_t kEntryOffset = sizeof kLibffiTrampoline;

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

// ---------------------------------------------------------------- more slots

// Past the slots of the text segment, chunks of kChunkSlots more, made at run time with
// the same code shape and never a page that is writable and executable: the code is
// written through a shared writable mapping of a memfd, which is unmapped before the same
// file is mapped read+execute; each slot reads its entry from the data pages that follow
// its code (PC-relative loads, so code and data are reserved as one range).
constexpr int kChunkSlots = 2048;

struct Chunk {
    char* code;   // kChunkSlots slots of kSlotBytes, read+execute
    void** data;  // 2 * kChunkSlots entries, read+write
};

// Reserved once, never reallocated (add_chunk stops at its capacity, 8 million slots), so
// that code_of/entry_of/slot_of read it without the lock while a chunk is added.
constexpr size_t kMaxChunks = 4096;
std::vector<Chunk>& chunks() {
    static auto* all = [] {
        auto* v = new std::vector<Chunk>();
        v->reserve(kMaxChunks);
        return v;
    }();
    return *all;
}

size_t round_to_pages(size_t n) {
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    return (n + page - 1) / page * page;
}

#if defined(__x86_64__)
// Slot i of a chunk: endbr64; movq data[2i](%rip), %r10; jmpq *data[2i+1](%rip); int3s.
void write_slot(char* out, const char* at, const void* entry) {
    static const unsigned char endbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};
    memset(out, 0xcc, kSlotBytes);
    memcpy(out, endbr64, 4);
    auto rel = [&](int next, const void* target) {
        return static_cast<int32_t>(reinterpret_cast<intptr_t>(target) -
                                    reinterpret_cast<intptr_t>(at + next));
    };
    int32_t d;
    out[4] = 0x4c, out[5] = 0x8b, out[6] = 0x15;  // movq disp32(%rip), %r10
    d = rel(11, entry);
    memcpy(out + 7, &d, 4);
    out[11] = static_cast<char>(0xff), out[12] = 0x25;  // jmpq *disp32(%rip)
    d = rel(17, static_cast<const void* const*>(entry) + 1);
    memcpy(out + 13, &d, 4);
}
#else  // __aarch64__
// Slot i of a chunk: bti c; ldr x17, data[2i]; ldr x16, data[2i+1]; br x16; brk #0s.
// The same registers as the text segment's slots; the loads are PC-relative literals
// (reach +-1 MB, the chunk's code and data span 96 KB with 4 KB pages).
void write_slot(char* out, const char* at, const void* entry) {
    auto put = [&](int index, uint32_t instruction) { memcpy(out + 4 * index, &instruction, 4); };
    // LDR (literal), 64-bit: 0x58000000 | imm19 << 5 | Rt, imm19 the word offset from
    // the instruction itself.
    auto ldr_literal = [&](int index, unsigned rt, const void* target) {
        auto offset =
            reinterpret_cast<intptr_t>(target) - reinterpret_cast<intptr_t>(at + 4 * index);
        return 0x58000000u | ((static_cast<uint32_t>(offset / 4) & 0x7ffffu) << 5) | rt;
    };
    for (int i = 0; i < kSlotBytes / 4; ++i) put(i, 0xd4200000u);  // brk #0
    put(0, 0xd503245fu);                                           // bti c (hint #34)
    put(1, ldr_literal(1, 17, entry));
    put(2, ldr_literal(2, 16, static_cast<const void* const*>(entry) + 1));
    put(3, 0xd61f0200u);  // br x16
}
#endif

// A new chunk, or false (the callers fall back to libffi's allocator).
bool add_chunk() {
    if (chunks().size() >= kMaxChunks) return false;
    size_t code_bytes = round_to_pages(kChunkSlots * kSlotBytes);
    size_t data_bytes = round_to_pages(2 * kChunkSlots * sizeof(void*));
    int fd = memfd_create("cffix-trampolines", MFD_CLOEXEC);
    if (fd < 0) return false;
    void* range = MAP_FAILED;
    bool ok = ftruncate(fd, static_cast<off_t>(code_bytes)) == 0;
    if (ok) {
        range =
            mmap(nullptr, code_bytes + data_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ok = range != MAP_FAILED;
    }
    char* code = static_cast<char*>(range);
    void* writer =
        ok ? mmap(nullptr, code_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
    ok = writer != MAP_FAILED;
    if (ok) {
        auto* data = reinterpret_cast<void**>(code + code_bytes);
        for (int i = 0; i < kChunkSlots; ++i)
            write_slot(static_cast<char*>(writer) + i * kSlotBytes, code + i * kSlotBytes,
                       data + 2 * i);
        munmap(writer, code_bytes);
        ok = mmap(code, code_bytes, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, fd, 0) !=
                 MAP_FAILED &&
             mmap(code + code_bytes, data_bytes, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED;
    }
    close(fd);
    // AArch64's instruction cache is not coherent with its data cache: the code written
    // through the other view must be cleaned to the point of unification and the
    // instruction cache invalidated for the executable range (a no-op on x86-64).
    if (ok) __builtin___clear_cache(code, code + code_bytes);
    if (!ok) {
        if (range != MAP_FAILED) munmap(range, code_bytes + data_bytes);
        return false;
    }
    try {
        chunks().push_back({code, reinterpret_cast<void**>(code + code_bytes)});
    } catch (const std::bad_alloc&) {
        munmap(range, code_bytes + data_bytes);
        return false;
    }
    return true;
}

// ---------------------------------------------------------------- slots

// Slots are numbered: the text segment's first (0 to kSlots - 1), then each chunk's.
// The free slots and the adding of chunks: under slots_mutex (nothing in the default
// build: the GIL).
ft::Mutex slots_mutex;
std::vector<int>& free_slots() {
    static auto* slots = [] {
        auto* v = new std::vector<int>();
        for (int i = kSlots - 1; i >= 0; --i) v->push_back(i);
        return v;
    }();
    return *slots;
}

// A free slot, adding a chunk when none is left; -1 when no chunk can be made.
int take_slot() {
    ft::Lock lock(slots_mutex);
    auto& free = free_slots();
    if (free.empty()) {
        int first = kSlots + static_cast<int>(chunks().size()) * kChunkSlots;
        if (!add_chunk()) return -1;
        try {
            free.reserve(free.size() + kChunkSlots);
        } catch (const std::bad_alloc&) {
            return -1;  // the chunk stays, unused
        }
        for (int i = kChunkSlots - 1; i >= 0; --i) free.push_back(first + i);
    }
    int slot = free.back();
    free.pop_back();
    return slot;
}

char* code_of(int slot) {
    if (slot < kSlots) return cffix_trampolines + slot * kSlotBytes;
    slot -= kSlots;
    return chunks()[static_cast<size_t>(slot / kChunkSlots)].code + slot % kChunkSlots * kSlotBytes;
}

void** entry_of(int slot) {
    if (slot < kSlots) return cffix_trampoline_data + 2 * slot;
    slot -= kSlots;
    return chunks()[static_cast<size_t>(slot / kChunkSlots)].data + 2 * (slot % kChunkSlots);
}

// The slot whose code is at `code`, or -1 (a closure of libffi's allocator).
int slot_of(const void* code) {
    auto p = reinterpret_cast<uintptr_t>(code);
    auto in = [p](const char* base, int slots) -> int {
        auto b = reinterpret_cast<uintptr_t>(base);
        if (p < b || p >= b + static_cast<uintptr_t>(slots) * kSlotBytes || (p - b) % kSlotBytes)
            return -1;
        return static_cast<int>((p - b) / kSlotBytes);
    };
    if (int i = in(cffix_trampolines, kSlots); i >= 0) return i;
    const auto& all = chunks();
    for (size_t c = 0; c < all.size(); ++c)
        if (int i = in(all[c].code, kChunkSlots); i >= 0)
            return kSlots + static_cast<int>(c) * kChunkSlots + i;
    return -1;
}

}  // namespace

ffi_closure* closure_alloc(void** code) {
    if (pool_usable()) {
        auto* closure = static_cast<ffi_closure*>(calloc(1, sizeof(ffi_closure)));
        int slot = closure ? take_slot() : -1;
        if (slot >= 0) {
            *code = code_of(slot);
            return closure;
        }
        free(closure);
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
    void** e = entry_of(slot);
    e[0] = closure;
    e[1] = entry;
    return true;
}

void closure_free(ffi_closure* closure, void* code) {
    int slot = slot_of(code);
    if (slot < 0) {
        ffi_closure_free(closure);
        return;
    }
    void** e = entry_of(slot);
    e[0] = nullptr;
    e[1] = nullptr;
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
