// Pinned libraries: find, check, then load one open file (see pinned.h).
#include "lib/pinned.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "lib/elf.h"
#include "lib/library.h"
#include "parse/ast.h"
#include "util/errors.h"
#include "util/pylong.h"

namespace cffix::lib {
namespace {

// ---------------------------------------------------------------- an open library file

// A descriptor closed when it goes out of scope.
class FileDescriptor {
public:
    FileDescriptor() = default;
    explicit FileDescriptor(int fd) : fd_(fd) {}
    FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    FileDescriptor& operator=(FileDescriptor&& other) noexcept {
        std::swap(fd_, other.fd_);
        return *this;
    }
    ~FileDescriptor() {
        if (fd_ >= 0) close(fd_);
    }
    int get() const { return fd_; }

private:
    int fd_ = -1;
};

struct LibraryFile {
    FileDescriptor fd;
    std::string path;  // as found: shown in messages and as the library's name
    ElfFacts facts;
};

int open_read_only(const std::string& path) {
    int fd;
    Py_BEGIN_ALLOW_THREADS
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    Py_END_ALLOW_THREADS
    return fd;
}

// Opens `path` if it is a regular file holding an ELF object this process can load.
// Missing, unreadable or foreign files give false: the search goes on, as the loader's.
bool try_candidate(const std::string& path, LibraryFile& out) {
    FileDescriptor fd(open_read_only(path));
    struct stat st;
    if (fd.get() < 0 || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
    ElfFacts facts;
    std::string error;
    if (!read_elf_facts(fd.get(), facts, error) || !facts.loadable) return false;
    out.fd = std::move(fd);
    out.path = path;
    out.facts = std::move(facts);
    return true;
}

// The candidates /etc/ld.so.cache lists for `file_name` (the generic entries, not those of
// hardware-capability subdirectories), in its order. Empty when the cache is missing or
// has an unknown format.
std::vector<std::string> cache_candidates(const std::string& file_name) {
    std::vector<std::string> paths;
    FileDescriptor fd(open_read_only("/etc/ld.so.cache"));
    struct stat st;
    if (fd.get() < 0 || fstat(fd.get(), &st) != 0 || st.st_size > (64 << 20)) return paths;
    std::string data(static_cast<size_t>(st.st_size), '\0');
    if (pread(fd.get(), data.data(), data.size(), 0) != static_cast<ssize_t>(data.size()))
        return paths;
    auto u32 = [&](size_t at) {
        uint32_t v;
        std::memcpy(&v, data.data() + at, 4);
        return v;
    };
    static constexpr std::string_view kOld = "ld.so-1.7.0", kNew = "glibc-ld.so.cache1.1";
    size_t start = 0;  // of the new format's header; its string offsets count from there
    if (data.starts_with(kOld) && data.size() >= 16)  // the old format comes first
        start = (16 + static_cast<size_t>(u32(12)) * 12 + 7) & ~size_t(7);
    if (start > data.size() || data.compare(start, kNew.size(), kNew) != 0) return paths;
    constexpr size_t kHeader = 48, kEntry = 24;  // struct cache_file_new, file_entry_new
    if (start + kHeader > data.size()) return paths;
    size_t count = u32(start + 20);
    if (count > (data.size() - start - kHeader) / kEntry) return paths;
    auto string_at = [&](uint32_t offset) -> std::string_view {
        size_t at = start + offset;
        if (at >= data.size()) return {};
        size_t end = data.find('\0', at);
        if (end == std::string::npos) return {};
        return std::string_view(data).substr(at, end - at);
    };
    for (size_t i = 0; i < count; ++i) {
        size_t entry = start + kHeader + i * kEntry;
        uint64_t hwcap;
        std::memcpy(&hwcap, data.data() + entry + 16, 8);
        if (hwcap == 0 && string_at(u32(entry + 4)) == file_name) {
            std::string_view value = string_at(u32(entry + 8));
            if (!value.empty()) paths.emplace_back(value);
        }
    }
    return paths;
}

// The loader's system directories: the running C library's, then the usual ones.
std::vector<std::string> system_directories() {
    std::vector<std::string> dirs;
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(&dlopen), &info) && info.dli_fname) {
        std::string libc = info.dli_fname;
        size_t slash = libc.rfind('/');
        if (slash != std::string::npos && slash > 0) dirs.push_back(libc.substr(0, slash));
    }
    for (const char* dir : {"/lib64", "/usr/lib64", "/lib", "/usr/lib"}) dirs.emplace_back(dir);
    return dirs;
}

// `file_name` (no '/') searched as the loader searches. False with OSError.
bool search_file(const std::string& file_name, LibraryFile& out) {
    if (const char* env = getenv("LD_LIBRARY_PATH")) {
        std::string_view rest(env);
        while (!rest.empty()) {
            size_t colon = std::min(rest.find(':'), rest.size());
            std::string dir(rest.substr(0, colon));
            rest.remove_prefix(std::min(colon + 1, rest.size()));
            if (!dir.empty() && try_candidate(dir + "/" + file_name, out)) return true;
        }
    }
    for (const std::string& path : cache_candidates(file_name))
        if (try_candidate(path, out)) return true;
    for (const std::string& dir : system_directories())
        if (try_candidate(dir + "/" + file_name, out)) return true;
    PyErr_Format(PyExc_OSError,
                 "cannot find library '%s' (searched LD_LIBRARY_PATH, /etc/ld.so.cache and the "
                 "system directories)",
                 file_name.c_str());
    return false;
}

// The file a pinned dlopen(name) loads, open. False with an exception set.
bool open_library_file(PyObject* name, LibraryFile& out) {
    PyRef encoded(PyUnicode_EncodeFSDefault(name));
    if (!encoded) return false;
    std::string text(PyBytes_AS_STRING(encoded.get()),
                     static_cast<size_t>(PyBytes_GET_SIZE(encoded.get())));
    if (text.find('\0') != std::string::npos) {
        PyErr_Format(PyExc_ValueError, "dlopen(): embedded null character in %R", name);
        return false;
    }
    if (text.find('/') == std::string::npos && text.find('.') == std::string::npos) {
        // A short name ("z"): the file name the platform's search gives ("libz.so.1").
        PyRef found(find_library(name));
        if (!found) return false;
        if (!PyUnicode_Check(found.get())) {
            PyErr_Format(PyExc_OSError,
                         "ctypes.util.find_library() did not manage to locate a library "
                         "called %R",
                         name);
            return false;
        }
        return open_library_file(found.get(), out);
    }
    if (text.find('/') == std::string::npos) return search_file(text, out);
    FileDescriptor fd(open_read_only(text));
    if (fd.get() < 0) {
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, name);
        return false;
    }
    struct stat st;
    if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        PyErr_Format(PyExc_OSError, "cannot load library '%s': not a regular file", text.c_str());
        return false;
    }
    std::string error;
    if (!read_elf_facts(fd.get(), out.facts, error)) {
        PyErr_Format(PyExc_OSError, "cannot load library '%s': %s", text.c_str(), error.c_str());
        return false;
    }
    if (!out.facts.loadable) {
        PyErr_Format(PyExc_OSError,
                     "cannot load library '%s': an ELF object for another class or machine",
                     text.c_str());
        return false;
    }
    out.fd = std::move(fd);
    out.path = std::move(text);
    return true;
}

// ---------------------------------------------------------------- checks before loading

PyObject* mismatch(const std::string& message) {
    PyErr_SetString(error_classes.library_mismatch, message.c_str());
    return nullptr;
}

// The file's SHA-256 as lowercase hex, read from its descriptor through hashlib (OpenSSL
// where Python has it). Null with an exception set.
PyObject* file_sha256(int fd) {
    PyRef hashlib(PyImport_ImportModule("hashlib"));
    if (!hashlib) return nullptr;
    PyRef hash(PyObject_CallMethod(hashlib.get(), "sha256", nullptr));
    if (!hash) return nullptr;
    std::vector<char> buffer(1 << 20);
    off_t offset = 0;
    for (;;) {
        ssize_t n;
        Py_BEGIN_ALLOW_THREADS
        n = pread(fd, buffer.data(), buffer.size(), offset);
        Py_END_ALLOW_THREADS
        if (n < 0) {
            if (errno == EINTR) {
                if (PyErr_CheckSignals() < 0) return nullptr;
                continue;
            }
            return PyErr_SetFromErrno(PyExc_OSError);
        }
        if (n == 0) break;
        offset += n;
        PyRef chunk(PyMemoryView_FromMemory(buffer.data(), n, PyBUF_READ));
        if (!chunk) return nullptr;
        PyRef done(PyObject_CallMethod(hash.get(), "update", "O", chunk.get()));
        if (!done) return nullptr;
    }
    return PyObject_CallMethod(hash.get(), "hexdigest", nullptr);
}

// "a, b, c", sorted: the message does not depend on a set's order.
std::string joined(std::vector<std::string> items) {
    std::sort(items.begin(), items.end());
    std::string text;
    for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
    return text;
}

bool check_digest(const LibraryFile& file, const std::vector<std::string>& expected) {
    PyRef digest(file_sha256(file.fd.get()));
    if (!digest) return false;
    const char* actual = PyUnicode_AsUTF8(digest.get());
    if (!actual) return false;
    if (std::find(expected.begin(), expected.end(), actual) != expected.end()) return true;
    std::string wanted = expected.size() == 1 ? expected[0] : "one of " + joined(expected);
    mismatch("library '" + file.path + "' has sha256 " + actual + ", expected " + wanted);
    return false;
}

bool check_soname(const LibraryFile& file, const std::string& expected) {
    const std::optional<std::string>& actual = file.facts.soname;
    if (actual == expected) return true;
    mismatch("library '" + file.path + "' has " +
             (actual ? "DT_SONAME '" + *actual + "'" : std::string("no DT_SONAME")) +
             ", expected DT_SONAME '" + expected + "'");
    return false;
}

// ---------------------------------------------------------------- loading the open file

// A file's identity, as the loader compares files.
struct FileId {
    dev_t dev = 0;
    ino_t ino = 0;
    bool operator==(const FileId&) const = default;
};

// The file mapped at `address` in this process, from /proc/self/maps. False if unknown.
bool mapped_file(const void* address, FileId& id) {
    FILE* maps = fopen("/proc/self/maps", "re");
    if (!maps) return false;
    auto where = reinterpret_cast<uintptr_t>(address);
    bool found = false;
    char line[4096 + 256];
    while (!found && fgets(line, sizeof line, maps)) {
        unsigned long start, end, major, minor, inode;
        if (sscanf(line, "%lx-%lx %*s %*s %lx:%lx %lu", &start, &end, &major, &minor, &inode) != 5)
            continue;
        if (where >= start && where < end) {
            id.dev = makedev(major, minor);
            id.ino = static_cast<ino_t>(inode);
            found = true;
        }
    }
    fclose(maps);
    return found;
}

// Whether the object dlopen() returned is the file `id` (its dynamic section is mapped
// from that file).
bool loaded_from(void* handle, const FileId& id) {
    link_map* map = nullptr;
    if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || !map) return false;
    FileId mapped;
    return mapped_file(map->l_ld, mapped) && mapped == id;
}

// dlopen() looks for an object already loaded under the name it is given before it opens
// the file, and it keeps every name an object was asked for: "/proc/self/fd/N" stays a
// name of whatever file was open as N then. So a load through a name that may stand for
// another file is checked, and done again with the descriptor moved to a fresh number.
// The names used so far, and for which file (the GIL guards it).
std::unordered_map<std::string, FileId>& used_names() {
    static auto* names = new std::unordered_map<std::string, FileId>();
    return *names;
}

// Loads the open, checked `file`: a Library, or null with an exception set.
PyObject* load_open_file(PyObject* ffi, types::Scope* scope, LibraryFile& file, int flags,
                         bool release_gil) {
    if (!(flags & (RTLD_NOW | RTLD_LAZY))) flags |= RTLD_NOW;
    struct stat st;
    if (fstat(file.fd.get(), &st) != 0) return PyErr_SetFromErrno(PyExc_OSError);
    FileId id{st.st_dev, st.st_ino};
    PyRef display(PyUnicode_DecodeFSDefault(file.path.c_str()));
    if (!display) return nullptr;
    for (int attempt = 0; attempt < 64; ++attempt) {
        std::string through = "/proc/self/fd/" + std::to_string(file.fd.get());
        auto used = used_names().find(through);
        if (used == used_names().end() || used->second == id) {
            used_names()[through] = id;
            std::string error;
            void* handle = load(through.c_str(), flags, error);
            if (!handle)
                return PyErr_Format(PyExc_OSError, "cannot load library '%s': %s",
                                    file.path.c_str(), error.c_str());
            if (loaded_from(handle, id))
                return wrap_loaded(ffi, scope, handle, display.get(), release_gil);
            dlclose(handle);  // another file known by that name: not loaded by this call
            used_names()[through] = FileId{};
        }
        int moved = fcntl(file.fd.get(), F_DUPFD_CLOEXEC, file.fd.get() + 1);
        if (moved < 0) return PyErr_SetFromErrno(PyExc_OSError);
        file.fd = FileDescriptor(moved);
    }
    return PyErr_Format(PyExc_OSError,
                        "cannot load library '%s' pinned: every /proc/self/fd name tried "
                        "already stands for another library",
                        file.path.c_str());
}

// ---------------------------------------------------------------- version probes

bool returns_integer(const types::CType* f) {
    const types::CType* r = f->item;
    if (r->kind == types::Kind::Enum) return true;
    return r->kind == types::Kind::Primitive && (r->flags & types::PF_INTEGER) &&
           !(r->flags & types::PF_CHAR) && !(r->flags & types::PF_DOTS);
}

// Answers `f()` in a version expression: declared functions without parameters that
// return an integer; called through the library's own function objects.
class LibraryProbes : public parse::ProbeCalls {
public:
    LibraryProbes(types::Scope& scope, PyObject* lib) : scope_(scope), lib_(lib) {}

    void check(std::string_view name) override {
        types::GlobalDecl g = scope_.find_global(name);
        std::string n(name);
        if (!g.function)
            throw parse::CDefError("'" + n +
                                   "' is not a function declared in the cdef: a version "
                                   "expression may call only those");
        const types::CType* f = g.function->type.get();
        if (!f->args.empty() || f->ellipsis)
            throw parse::CDefError("'" + n + "' takes arguments (declared as '" + f->cname +
                                   "'): a version probe must take none");
        if (!returns_integer(f))
            throw parse::CDefError("'" + n + "' returns '" + f->item->cname +
                                   "': a version probe must return an integer");
    }

    parse::ConstInt call(std::string_view name) override {
        std::string n(name);
        PyRef function(PyObject_GetAttrString(lib_, n.c_str()));
        if (!function) throw PythonErrorSet{};
        PyRef result(PyObject_CallNoArgs(function.get()));
        if (!result) throw PythonErrorSet{};
        int overflow = 0;
        long long value = PyLong_AsLongLongAndOverflow(result.get(), &overflow);
        parse::ConstInt exact = value;
        if (overflow > 0)
            exact = static_cast<parse::ConstInt>(PyLong_AsUnsignedLongLong(result.get()));
        if (PyErr_Occurred()) throw PythonErrorSet{};
        PyRef text(PyObject_Str(result.get()));
        const char* digits = text ? PyUnicode_AsUTF8(text.get()) : nullptr;
        if (!digits) throw PythonErrorSet{};
        values_ += (values_.empty() ? "" : ", ") + n + "() = " + digits;
        return exact;
    }

    const std::string& values() const { return values_; }

private:
    types::Scope& scope_;
    PyObject* lib_;       // null while only checking
    std::string values_;  // "f() = 3, g() = 1": the calls made, for the mismatch message
};

// Evaluates `expression` on the loaded `lib`: true, false with LibraryMismatch, or false
// with the exception a probe raised.
bool check_version(types::Scope& scope, PyObject* lib, const std::string& path,
                   const std::string& expression) {
    LibraryProbes probes(scope, lib);
    parse::ConstInt value;
    try {
        value = parse::parse_probe_expression(expression, scope, probes, true);
    } catch (...) {
        cffix::translate_exception();
        return false;
    }
    if (value != 0) return true;
    std::string found = probes.values().empty() ? "no probe was called" : probes.values();
    mismatch("library '" + path + "' fails the version check '" + expression + "' (" + found + ")");
    return false;
}

}  // namespace

bool check_version_expression(types::Scope* scope, const std::string& expression) {
    LibraryProbes probes(*scope, nullptr);
    try {
        parse::parse_probe_expression(expression, *scope, probes, false);
        return true;
    } catch (...) {
        cffix::translate_exception();
        return false;
    }
}

PyObject* open_pinned(PyObject* ffi, types::Scope* scope, PyObject* name, int flags,
                      bool release_gil, const Pins& pins) {
    if (pins.version && !check_version_expression(scope, *pins.version)) return nullptr;
    LibraryFile file;
    if (!open_library_file(name, file)) return nullptr;
    // Checked before loading: a wrong file's constructors never run.
    if (!pins.sha256.empty() && !check_digest(file, pins.sha256)) return nullptr;
    if (pins.soname && !check_soname(file, *pins.soname)) return nullptr;
    PyRef lib(load_open_file(ffi, scope, file, flags, release_gil));
    if (!lib) return nullptr;
    if (pins.version && !check_version(*scope, lib.get(), file.path, *pins.version)) {
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback);
        if (!close_library(lib.get())) PyErr_Clear();  // secondary to the mismatch
        PyErr_Restore(type, value, traceback);
        return nullptr;
    }
    return lib.release();
}

PyObject* describe_library(PyObject* name) {
    if (!PyUnicode_Check(name))
        return PyErr_Format(PyExc_TypeError, "expected a library name (str), not %s",
                            Py_TYPE(name)->tp_name);
    LibraryFile file;
    if (!open_library_file(name, file)) return nullptr;
    PyRef digest(file_sha256(file.fd.get()));
    if (!digest) return nullptr;
    PyRef path(PyUnicode_DecodeFSDefault(file.path.c_str()));
    if (!path) return nullptr;
    PyRef soname(file.facts.soname ? PyUnicode_DecodeFSDefault(file.facts.soname->c_str())
                                   : Py_NewRef(Py_None));
    if (!soname) return nullptr;
    return Py_BuildValue("{sOsOsO}", "path", path.get(), "sha256", digest.get(), "soname",
                         soname.get());
}

}  // namespace cffix::lib
