// ELF facts of a library file read before it is loaded (see elf.h).
#include "lib/elf.h"

#include <elf.h>
#include <link.h>  // ElfW: the ELF types of this process's class
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

// The ELF header of the object this code is linked into (GNU ld, gold and lld define the
// symbol): the class, byte order and machine a loadable library must have.
extern "C" const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));

namespace cffix::lib {
namespace {

// Reads exactly `size` bytes at `offset`; false on a short read or an error.
bool read_at(int fd, void* out, size_t size, uint64_t offset) {
    auto* p = static_cast<char*>(out);
    while (size > 0) {
        ssize_t n = pread(fd, p, size, static_cast<off_t>(offset));
        if (n <= 0) return false;
        p += n;
        size -= static_cast<size_t>(n);
        offset += static_cast<uint64_t>(n);
    }
    return true;
}

// The file offset of virtual address `address`: inside which PT_LOAD segment's file part.
bool file_offset_of(const std::vector<ElfW(Phdr)>& segments, uint64_t address, uint64_t& offset) {
    for (const ElfW(Phdr) & p : segments) {
        if (p.p_type == PT_LOAD && address >= p.p_vaddr && address - p.p_vaddr < p.p_filesz) {
            offset = p.p_offset + (address - p.p_vaddr);
            return true;
        }
    }
    return false;
}

// The NUL-terminated string at `offset` of the string table at `table` (`size` bytes).
bool read_string(int fd, uint64_t table, uint64_t size, uint64_t offset, std::string& out) {
    if (offset >= size) return false;
    std::vector<char> text(static_cast<size_t>(std::min<uint64_t>(size - offset, 4096)));
    if (!read_at(fd, text.data(), text.size(), table + offset)) return false;
    size_t length = strnlen(text.data(), text.size());
    if (length == text.size()) return false;  // unterminated or absurdly long
    out.assign(text.data(), length);
    return true;
}

}  // namespace

bool read_elf_facts(int fd, ElfFacts& facts, std::string& error) {
    facts = ElfFacts{};
    unsigned char ident[EI_NIDENT];
    if (!read_at(fd, ident, sizeof ident, 0) || std::memcmp(ident, ELFMAG, SELFMAG) != 0) {
        error = "not an ELF file";
        return false;
    }
    ElfW(Ehdr) header;
    if (ident[EI_CLASS] != __ehdr_start.e_ident[EI_CLASS] ||
        ident[EI_DATA] != __ehdr_start.e_ident[EI_DATA] ||
        !read_at(fd, &header, sizeof header, 0) || header.e_machine != __ehdr_start.e_machine)
        return true;  // an ELF object for another machine: not loadable here
    if (header.e_type != ET_DYN) {
        error = "not a shared object (ELF type " + std::to_string(header.e_type) + ")";
        return false;
    }
    if (header.e_phentsize != sizeof(ElfW(Phdr)) || header.e_phnum == 0 ||
        header.e_phnum >= PN_XNUM) {
        error = "malformed ELF program headers";
        return false;
    }
    std::vector<ElfW(Phdr)> segments(header.e_phnum);
    if (!read_at(fd, segments.data(), segments.size() * sizeof(ElfW(Phdr)), header.e_phoff)) {
        error = "truncated ELF program headers";
        return false;
    }
    facts.loadable = true;
    const ElfW(Phdr)* dynamic = nullptr;
    for (const ElfW(Phdr) & p : segments)
        if (p.p_type == PT_DYNAMIC) dynamic = &p;
    if (!dynamic) return true;  // no dynamic section: no DT_SONAME
    size_t count = static_cast<size_t>(dynamic->p_filesz / sizeof(ElfW(Dyn)));
    if (count > (1u << 20)) {
        error = "malformed ELF dynamic section";
        return false;
    }
    std::vector<ElfW(Dyn)> entries(count);
    if (!read_at(fd, entries.data(), count * sizeof(ElfW(Dyn)), dynamic->p_offset)) {
        error = "truncated ELF dynamic section";
        return false;
    }
    bool has_soname = false;
    uint64_t soname = 0, strtab = 0, strsz = 0;
    for (const ElfW(Dyn) & d : entries) {
        if (d.d_tag == DT_NULL) break;
        if (d.d_tag == DT_SONAME) has_soname = true, soname = d.d_un.d_val;
        if (d.d_tag == DT_STRTAB) strtab = d.d_un.d_ptr;
        if (d.d_tag == DT_STRSZ) strsz = d.d_un.d_val;
    }
    if (!has_soname) return true;
    uint64_t table;
    std::string text;
    if (!file_offset_of(segments, strtab, table) || !read_string(fd, table, strsz, soname, text)) {
        error = "malformed ELF string table (DT_SONAME)";
        return false;
    }
    facts.soname = std::move(text);
    return true;
}

}  // namespace cffix::lib
