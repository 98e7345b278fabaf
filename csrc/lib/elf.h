// What a pinned dlopen (lib/pinned.cpp) reads from a shared library's file before loading
// it: whether it is an ELF object this process can load, and its DT_SONAME. Read with
// pread() from an open descriptor, so the facts are those of the very file that is
// loaded afterwards. Every offset and size comes from the file and is bounds-checked:
// a truncated or hostile file gives an error message, never a read out of bounds.
#pragma once

#include <optional>
#include <string>

namespace cffix::lib {

struct ElfFacts {
    bool loadable = false;              // ELF, of this process's class, byte order, machine
    std::optional<std::string> soname;  // DT_SONAME; none when the file has no such entry
};

// The facts of the file open as `fd`. False with `error` set when the file is not an
// ELF object or is malformed (loadable=false alone means: ELF, for another machine).
bool read_elf_facts(int fd, ElfFacts& facts, std::string& error);

}  // namespace cffix::lib
