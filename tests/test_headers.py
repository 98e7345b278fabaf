"""ffi.cdef_header() and ffi.cdef(preprocess=True): real headers through the system
preprocessor, declared without edits, with layouts checked against the C compiler.

The compiler's facts for every header come from one small C program per header, all
built and run once per session (a thread pool of two). A header whose -dev package is
absent skips its test, except under CI=true, where .ci/run installs them all.
"""

import importlib.util
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest

import cffix
from cffix import FFI

pytestmark = pytest.mark.usefixtures("cc")

PCRE = {"PCRE2_CODE_UNIT_WIDTH": "8"}

# id: (headers, cdef_header options, Debian package, facts to compare). "types": {type:
# [fields]} (sizeof, alignof, offsetof), "enums": enumerators, "functions": lib names,
# "macros": integer macros (need the macro converter).
HEADERS = {
    "zlib": (("zlib.h",), {}, "zlib1g-dev", {
        "types": {"z_stream": ["next_in", "avail_out", "msg", "adler", "reserved"],
                  "gz_header": ["extra", "hcrc", "done"]},
        "functions": ["deflate", "inflate", "crc32", "zlibVersion"],
        "macros": ["Z_OK", "Z_BUF_ERROR", "ZLIB_VERNUM", "Z_DEFAULT_COMPRESSION"]}),
    "sqlite3": (("sqlite3.h",), {}, "libsqlite3-dev", {
        "types": {"sqlite3_vfs": ["iVersion", "szOsFile", "xOpen", "xNextSystemCall"],
                  "sqlite3_index_info": ["nConstraint", "aConstraint", "estimatedCost",
                                         "colUsed"]},
        "functions": ["sqlite3_open", "sqlite3_exec", "sqlite3_close"],
        "macros": ["SQLITE_OK", "SQLITE_ROW", "SQLITE_VERSION_NUMBER"]}),
    "stdio": (("stdio.h",), {}, "libc6-dev", {
        "types": {"FILE": ["_flags", "_fileno"], "fpos_t": []},
        "functions": ["printf", "fopen", "fscanf", "getline"],
        "macros": ["BUFSIZ", "EOF", "SEEK_END"]}),
    "stdlib": (("stdlib.h",), {}, "libc6-dev", {
        "types": {"div_t": ["quot", "rem"], "lldiv_t": ["rem"]},
        "functions": ["malloc", "qsort", "strtol"],
        "macros": ["EXIT_FAILURE", "RAND_MAX"]}),
    "math": (("math.h",), {}, "libc6-dev", {
        "types": {"double_t": [], "float_t": []},
        "functions": ["cos", "ldexp", "frexp", "nextafterf"],
        "macros": ["FP_NAN", "MATH_ERRNO"]}),
    "sys_stat": (("sys/stat.h",), {}, "libc6-dev", {
        "types": {"struct stat": ["st_dev", "st_ino", "st_mode", "st_size", "st_mtim"],
                  "struct timespec": ["tv_sec", "tv_nsec"]},
        "functions": ["stat", "fstat", "mkdir", "chmod"],
        "macros": ["S_IRUSR", "UTIME_NOW"]}),
    "sys_socket": (("sys/socket.h",), {}, "libc6-dev", {
        "types": {"struct sockaddr": ["sa_family", "sa_data"],
                  "struct msghdr": ["msg_name", "msg_iov", "msg_control", "msg_flags"],
                  "struct sockaddr_storage": ["ss_family"]},
        "enums": ["SHUT_RD", "SHUT_RDWR"],
        "functions": ["socket", "bind", "sendmsg", "accept"],
        "macros": ["AF_INET", "SOCK_STREAM", "SOMAXCONN"]}),
    "signal": (("signal.h",), {}, "libc6-dev", {
        "types": {"struct sigaction": ["sa_mask", "sa_flags"], "sigset_t": [],
                  "siginfo_t": ["si_signo", "si_code"]},
        "functions": ["signal", "sigaction", "kill", "sigemptyset"],
        "macros": ["SIGINT", "SA_RESTART"]}),
    "pthread": (("pthread.h",), {}, "libc6-dev", {
        "types": {"pthread_mutex_t": [], "pthread_attr_t": [], "pthread_cond_t": [],
                  "struct sched_param": ["sched_priority"]},
        "enums": ["PTHREAD_CREATE_DETACHED", "PTHREAD_MUTEX_RECURSIVE"],
        "functions": ["pthread_create", "pthread_mutex_lock", "pthread_self"],
        "macros": ["PTHREAD_ONCE_INIT", "PTHREAD_CANCEL_ENABLE"]}),
    "openssl": (("openssl/ssl.h",), {}, "libssl-dev", {
        "types": {"OSSL_PARAM": ["key", "data_type", "data", "return_size"]},
        "functions": ["SSL_new", "SSL_CTX_new", "SSL_read", "OPENSSL_init_ssl"],
        "macros": ["SSL_ERROR_WANT_READ", "OPENSSL_VERSION_NUMBER"]}),
    "curl": (("curl/curl.h",), {}, "libcurl4-openssl-dev", {
        "types": {"struct curl_slist": ["data", "next"],
                  "struct curl_blob": ["data", "len", "flags"],
                  "struct curl_version_info_data": ["age", "version", "features",
                                                    "protocols"]},
        "enums": ["CURLE_OK", "CURLOPT_URL", "CURLINFO_RESPONSE_CODE", "CURLM_OK"],
        "functions": ["curl_easy_init", "curl_easy_setopt", "curl_easy_perform"],
        "macros": ["CURL_GLOBAL_ALL", "LIBCURL_VERSION_NUM"]}),
    "libxml2": (("libxml/parser.h",), {"pkg_config": "libxml-2.0"}, "libxml2-dev", {
        "types": {"xmlNode": ["type", "name", "children", "line", "extra"],
                  "xmlDoc": ["name", "intSubset", "encoding", "parseFlags"],
                  "xmlParserCtxt": ["sax", "wellFormed", "input", "nodeNr"]},
        "enums": ["XML_ELEMENT_NODE", "XML_PARSE_NOENT"],
        "functions": ["xmlReadMemory", "xmlFreeDoc", "xmlDocGetRootElement"],
        "macros": ["LIBXML_VERSION", "XML_SAX2_MAGIC"]}),
    "glib": (("glib.h",), {"pkg_config": "glib-2.0"}, "libglib2.0-dev", {
        "types": {"GList": ["data", "next", "prev"], "GString": ["str", "len"],
                  "GHashTableIter": [], "GMutex": [], "GError": ["domain", "code", "message"],
                  "GVariantBuilder": []},
        "enums": ["G_IO_IN", "G_LOG_LEVEL_WARNING"],
        "functions": ["g_list_append", "g_hash_table_new", "g_string_new", "g_free"],
        "macros": ["GLIB_MAJOR_VERSION", "G_MAXINT32"]}),
    "uv": (("uv.h",), {}, "libuv1-dev", {
        "types": {"uv_loop_t": ["data", "active_handles", "time"],
                  "uv_tcp_t": ["data", "loop", "type"], "uv_buf_t": ["base", "len"],
                  "uv_fs_t": ["fs_type", "result", "statbuf"]},
        "enums": ["UV_EOF", "UV_TCP", "UV_RUN_NOWAIT"],
        "functions": ["uv_loop_init", "uv_run", "uv_tcp_init"],
        "macros": ["UV_VERSION_MAJOR"]}),
    "yaml": (("yaml.h",), {}, "libyaml-dev", {
        "types": {"yaml_event_t": ["type", "data", "start_mark"],
                  "yaml_parser_t": ["error", "problem", "buffer", "tokens"]},
        "enums": ["YAML_SCALAR_EVENT", "YAML_UTF8_ENCODING"],
        "functions": ["yaml_parser_initialize", "yaml_parser_parse"],
        "macros": []}),
    "png": (("png.h",), {}, "libpng-dev", {
        "types": {"png_color": ["red", "green", "blue"], "png_image": ["opaque", "version",
                                                                      "format", "message"]},
        "functions": ["png_create_read_struct", "png_get_image_width"],
        "macros": ["PNG_LIBPNG_VER", "PNG_COLOR_TYPE_RGB"]}),
    "ffi": (("ffi.h",), {}, "libffi-dev", {
        "types": {"ffi_cif": ["abi", "nargs", "arg_types", "rtype", "bytes", "flags"],
                  "ffi_type": ["size", "alignment", "type", "elements"],
                  "ffi_closure": ["cif", "fun", "user_data"]},
        "enums": ["FFI_OK", "FFI_BAD_ABI"],
        "functions": ["ffi_prep_cif", "ffi_call"],
        "macros": ["FFI_TYPE_STRUCT"]}),
    # Ten more Debian -dev headers.
    "bzlib": (("bzlib.h",), {}, "libbz2-dev", {
        "types": {"bz_stream": ["next_in", "avail_in", "state", "opaque"]},
        "functions": ["BZ2_bzCompressInit", "BZ2_bzDecompress"],
        "macros": ["BZ_OK", "BZ_STREAM_END"]}),
    "lzma": (("lzma.h",), {}, "liblzma-dev", {
        "types": {"lzma_stream": ["next_in", "avail_in", "total_out", "allocator",
                                  "seek_pos"],
                  "lzma_filter": ["id", "options"]},
        "enums": ["LZMA_OK", "LZMA_RUN", "LZMA_FINISH"],
        "functions": ["lzma_easy_encoder", "lzma_code", "lzma_end"],
        "macros": ["LZMA_VERSION", "LZMA_PRESET_DEFAULT"]}),
    "expat": (("expat.h",), {}, "libexpat1-dev", {
        "types": {"XML_Memory_Handling_Suite": ["malloc_fcn", "free_fcn"],
                  "XML_Expat_Version": ["major", "minor", "micro"]},
        "enums": ["XML_STATUS_OK", "XML_ERROR_SYNTAX"],
        "functions": ["XML_ParserCreate", "XML_Parse", "XML_ParserFree"],
        "macros": ["XML_MAJOR_VERSION"]}),
    "ncurses": (("ncurses.h",), {}, "libncurses-dev", {
        "types": {"WINDOW": ["_cury", "_curx", "_maxy", "_flags"], "MEVENT": ["id", "bstate"]},
        "functions": ["initscr", "wrefresh", "endwin"],
        "macros": ["KEY_DOWN", "COLOR_RED"]}),
    "uuid": (("uuid/uuid.h",), {}, "uuid-dev", {
        "types": {"uuid_t": []},
        "functions": ["uuid_generate", "uuid_unparse", "uuid_parse"],
        "macros": ["UUID_VARIANT_DCE"]}),
    "gmp": (("gmp.h",), {}, "libgmp-dev", {
        "types": {"__mpz_struct": ["_mp_alloc", "_mp_size", "_mp_d"], "mpz_t": [],
                  "__mpf_struct": ["_mp_prec", "_mp_exp"]},
        "functions": ["__gmpz_init", "__gmpz_add", "__gmpz_get_str"],
        "macros": ["__GNU_MP_VERSION", "GMP_LIMB_BITS"]}),
    "jpeg": (("stdio.h", "jpeglib.h"), {}, "libjpeg-dev", {
        "types": {"struct jpeg_compress_struct": ["err", "image_width", "input_components",
                                                  "in_color_space", "next_scanline"],
                  "struct jpeg_error_mgr": ["error_exit", "msg_code", "trace_level"]},
        "enums": ["JCS_RGB", "JDCT_ISLOW"],
        "functions": ["jpeg_std_error", "jpeg_CreateCompress", "jpeg_write_scanlines"],
        "macros": ["JMSG_LENGTH_MAX", "DCTSIZE"]}),
    "magic": (("magic.h",), {}, "libmagic-dev", {
        "types": {},
        "functions": ["magic_open", "magic_file", "magic_close"],
        "macros": ["MAGIC_MIME_TYPE", "MAGIC_VERSION"]}),
    "pcre2": (("pcre2.h",), {"defines": PCRE}, "libpcre2-dev", {
        "types": {},
        "functions": ["pcre2_compile_8", "pcre2_match_8", "pcre2_get_ovector_pointer_8"],
        "macros": ["PCRE2_MAJOR", "PCRE2_CASELESS", "PCRE2_ERROR_NOMATCH"]}),
    "readline": (("stdio.h", "readline/readline.h"), {}, "libreadline-dev", {
        "types": {"KEYMAP_ENTRY": ["type", "function"],
                  "struct readline_state": ["point", "end", "buffer", "kmap"]},
        "functions": ["readline", "rl_bind_key", "rl_initialize"],
        "macros": ["RL_READLINE_VERSION"]}),
    "blkid": (("blkid/blkid.h",), {}, "libblkid-dev", {
        "types": {},
        "functions": ["blkid_new_probe", "blkid_do_probe", "blkid_free_probe"],
        "macros": ["BLKID_SUBLKS_LABEL", "BLKID_PARTS_ENTRY_DETAILS"]}),
    "x11": (("X11/Xlib.h",), {}, "libx11-dev", {
        "types": {"XEvent": ["type", "xkey"], "XKeyEvent": ["type", "serial", "window",
                                                            "keycode", "same_screen"],
                  "XWindowAttributes": ["x", "depth", "visual", "screen"]},
        "functions": ["XOpenDisplay", "XNextEvent", "XCloseDisplay"],
        "macros": ["KeyPress", "ButtonPressMask"]}),
}


def _missing(header_id, exc):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{HEADERS[header_id][0]}: not installed under CI ({exc}); .ci/run "
                    f"installs {HEADERS[header_id][2]}")
    pytest.skip(f"{HEADERS[header_id][2]} is not installed")


def _flags(opts):
    flags = [f"-D{k}={v}" for k, v in opts.get("defines", {}).items()]
    if opts.get("pkg_config"):
        proc = subprocess.run(["pkg-config", "--cflags", opts["pkg_config"]],
                              capture_output=True, text=True)
        flags += proc.stdout.split()
    return flags


def _c_program(headers, facts):
    lines = ["#include <stdio.h>", "#include <stddef.h>"]
    lines += [f"#include <{h}>" for h in headers]
    lines.append("int main(void) {")
    for t, fields in facts.get("types", {}).items():
        lines.append(f'    printf("S {t}|%zu\\n", sizeof({t}));')
        lines.append(f'    printf("A {t}|%zu\\n", _Alignof({t}));')
        for f in fields:
            lines.append(f'    printf("O {t}|{f}|%zu\\n", offsetof({t}, {f}));')
    for e in facts.get("enums", []) + facts.get("macros", []):
        lines.append(f'    printf("V {e}|%lld\\n", (long long)({e}));')
    lines += ["    return 0;", "}"]
    return "\n".join(lines) + "\n"


def _compile_and_run(cc, tmp, header_id):
    headers, opts, _, facts = HEADERS[header_id]
    src = tmp / f"{header_id}.c"
    exe = tmp / header_id
    src.write_text(_c_program(headers, facts))
    proc = subprocess.run([cc, *_flags(opts), "-o", str(exe), str(src)], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        return None, proc.stderr
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    result = {}
    for line in out.splitlines():
        kind, rest = line.split(" ", 1)
        parts = rest.split("|")
        result[(kind, *parts[:-1])] = int(parts[-1])
    return result, None


@pytest.fixture(scope="session")
def compiler_facts(cc, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("header_facts")
    with ThreadPoolExecutor(2) as pool:
        results = pool.map(lambda h: (h, _compile_and_run(cc, tmp, h)), HEADERS)
        return dict(results)


def _declare(header_id, **kw):
    headers, opts, _, _ = HEADERS[header_id]
    ffi = FFI()
    try:
        report = ffi.cdef_header(*headers, **opts, **kw)
    except cffix.CDefError as e:
        if "No such file" in str(e):
            _missing(header_id, e)
        raise
    return ffi, report


@pytest.mark.parametrize("header_id", HEADERS)
def test_header_loads_with_the_compilers_layout(header_id, compiler_facts):
    ffi, report = _declare(header_id)
    facts = HEADERS[header_id][3]
    compiled, error = compiler_facts[header_id]
    assert compiled is not None, error
    assert not report.skipped, report.summary()
    names = set(dir(ffi.dlopen(None)))
    assert set(facts["functions"]) <= names
    for t, fields in facts.get("types", {}).items():
        assert ffi.sizeof(t) == compiled[("S", t)], t
        for f in fields:
            assert ffi.offsetof(t, f) == compiled[("O", t, f)], (t, f)
    for t in facts.get("types", {}):
        assert ffi.alignof(t) == compiled[("A", t)], t
    for e in facts.get("enums", []):
        assert e in names, e
        assert ffi.integer_const(e) == compiled[("V", e)], e


@pytest.mark.parametrize("header_id", [h for h in HEADERS if HEADERS[h][3]["macros"]])
def test_header_macros_match(header_id, compiler_facts):
    ffi, report = _declare(header_id)
    compiled, error = compiler_facts[header_id]
    assert compiled is not None, error
    for m in HEADERS[header_id][3]["macros"]:
        assert ffi.integer_const(m) == compiled[("V", m)], m


# ---------------------------------------------------------------------------------------
# A small library's own header tree, written for the tests

MYLIB = {
    "mylib/mylib.h": """
        #include <stdio.h>
        #include <other.h>
        #include "mylib/detail.h"
        #define MYLIB_VERSION 3
        typedef struct my_obj my_obj;
        my_obj *my_open(const char *path, FILE *log, struct other_thing *with);
        int my_count(const my_obj *);
        int my_private_helper(void);
        static inline int my_twice(int x) { return 2 * x; }
        extern int my_level __asm__("my_level_v2");
        #pragma pack(push, 1)
        struct my_packed { char c; int i; short s; };
        #pragma pack(pop)
        struct my_normal { char c; int i; };
        enum __attribute__((packed)) my_small { MY_A, MY_B = 200 };
        enum my_signed_small { MY_N = -3, MY_P = 100 } __attribute__((packed));
        _Static_assert(sizeof(struct my_normal) == 8, "layout");
        typedef float my_vec4 __attribute__((vector_size(16)));
        my_vec4 my_vec_add(my_vec4, my_vec4);
        __int128 my_wide(void);
        struct my_wide_s { char c; __int128 w; unsigned __int128 u; short t; };
        _Float64 my_f64(_Float32);
        typedef _Float64 my_double;
        typedef _Float32 my_float;
    """,
    "mylib/detail.h": """
        struct my_detail { long a; char b[3]; };
        int my_detail_fn(struct my_detail *);
    """,
    "inc/other.h": """
        struct other_thing { int x; double y; };
        int other_function(int);
        enum other_enum { OTHER_A = 7 };
    """,
}


@pytest.fixture
def mylib(tmp_path, monkeypatch):
    for rel, text in MYLIB.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def mylib_header(ffi, root, **kw):
    return ffi.cdef_header("mylib/mylib.h", include_dirs=[str(root), str(root / "inc")], **kw)


def test_own_declarations_are_the_lib_names(mylib):
    ffi = FFI()
    report = mylib_header(ffi, mylib)
    names = set(dir(ffi.dlopen(None)))
    # the named header and its tree (mylib/detail.h); not <other.h>, not <stdio.h>
    assert {"my_open", "my_count", "my_detail_fn", "my_twice", "my_level"} <= names
    assert not names & {"other_function", "printf", "fopen", "OTHER_A"}
    # the types they use come in, with their layout: FILE, struct other_thing
    assert ffi.typeof("FILE").kind == "struct"
    assert ffi.sizeof("struct other_thing") == 16
    assert ffi.offsetof("struct my_detail", "b") == 8
    assert ("function", "my_open") in report.kept
    assert ("function", "printf") not in report.kept
    assert [os.path.basename(f) for f in report.own_files] == ["mylib.h", "detail.h"]


def test_only_and_exclude_choose_among_own_names(mylib):
    ffi = FFI()
    mylib_header(ffi, mylib, only=r"my_(open|count)", macros=None)
    assert {n for n in dir(ffi.dlopen(None)) if n.startswith("my")} == {"my_open", "my_count"}
    ffi = FFI()
    mylib_header(ffi, mylib, exclude=["my_private", "my_detail"], macros=None)
    names = set(dir(ffi.dlopen(None)))
    assert "my_open" in names and "my_private_helper" not in names
    assert "my_detail_fn" not in names
    ffi = FFI()
    mylib_header(ffi, mylib, only=lambda name: name.endswith("count"), macros=None)
    assert {n for n in dir(ffi.dlopen(None)) if n.startswith("my")} == {"my_count"}


def test_unrepresentable_own_declarations_are_skipped_and_reported(mylib):
    ffi = FFI()
    report = mylib_header(ffi, mylib)
    skipped = {name: (reason, where) for name, reason, where in report.skipped}
    assert set(skipped) == {"my_vec4", "my_vec_add"}
    assert "vector types" in skipped["my_vec4"][0]
    assert skipped["my_vec4"][1].endswith("mylib/mylib.h:19")
    assert "unknown type name 'my_vec4'" in skipped["my_vec_add"][0]
    text = report.summary()
    assert "skipped my_vec_add" in text and "mylib.h:" in text
    assert repr(report).startswith("<HeaderReport mylib/mylib.h: kept=")
    assert ffi.sizeof("struct my_normal") == 8  # what was kept is usable


def test_strict_makes_a_skipped_declaration_an_error(mylib):
    with pytest.raises(cffix.CDefError, match="my_vec_add"):
        mylib_header(FFI(), mylib, strict=True)
    mylib_header(FFI(), mylib, strict=True, exclude="my_(vec|wide)")  # nothing own left


def test_asm_labels_and_inline_functions(mylib):
    ffi = FFI()
    report = mylib_header(ffi, mylib)
    assert report.renamed == {"my_level": "my_level_v2"}
    assert list(report.inline) == ["my_twice"]
    lib = ffi.dlopen(None)
    with pytest.raises(AttributeError, match=r"static inline in .*mylib\.h: no symbol.*"
                                             r"use API mode"):
        lib.my_twice(2)
    with pytest.raises(AttributeError, match="my_level_v2"):  # dlsym uses the label
        lib.my_level


def test_pragma_pack_packed_enums_and_floatn_follow_the_compiler(mylib):
    ffi = FFI()
    mylib_header(ffi, mylib)
    compiled = [int(v) for v in _run_c(mylib).split()]
    assert compiled[:4] == [7, 5, 1, 8]  # the pragma did pack it
    assert [ffi.sizeof("struct my_packed"), ffi.offsetof("struct my_packed", "s"),
            ffi.alignof("struct my_packed"), ffi.sizeof("struct my_normal"),
            ffi.sizeof("enum my_small"), ffi.sizeof("enum my_signed_small"),
            ffi.sizeof("struct my_detail"), ffi.sizeof("struct my_wide_s"),
            ffi.alignof("struct my_wide_s"), ffi.offsetof("struct my_wide_s", "u"),
            ffi.offsetof("struct my_wide_s", "t")] == compiled
    assert compiled[7:] == [64, 16, 32, 48]
    assert ffi.sizeof("__int128") == ffi.alignof("unsigned __int128") == 16
    assert "my_wide" in dir(ffi.dlopen(None))
    assert ffi.integer_const("MY_B") == 200 and ffi.integer_const("MY_N") == -3
    assert ffi.typeof("my_double") is ffi.typeof("double")
    assert ffi.typeof("my_float") is ffi.typeof("float")
    assert "my_f64" in dir(ffi.dlopen(None))


def _run_c(root):
    import shutil
    import tempfile

    cc = os.environ.get("CC") or shutil.which("cc") or "gcc"
    src = textwrap.dedent("""
        #include <stdio.h>
        #include <stddef.h>
        #include "mylib/mylib.h"
        int main(void) {
            printf("%zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu\\n", sizeof(struct my_packed),
                   offsetof(struct my_packed, s), _Alignof(struct my_packed),
                   sizeof(struct my_normal), sizeof(enum my_small),
                   sizeof(enum my_signed_small), sizeof(struct my_detail),
                   sizeof(struct my_wide_s), _Alignof(struct my_wide_s),
                   offsetof(struct my_wide_s, u), offsetof(struct my_wide_s, t));
            return 0;
        }
    """)
    with tempfile.TemporaryDirectory() as tmp:
        c = os.path.join(tmp, "t.c")
        with open(c, "w") as f:
            f.write(src)
        exe = os.path.join(tmp, "t")
        subprocess.run([cc, f"-I{root}", f"-I{root / 'inc'}", "-o", exe, c], check=True)
        return subprocess.run([exe], capture_output=True, text=True, check=True).stdout


def test_pragma_pack_in_a_plain_cdef():
    ffi = FFI()
    ffi.cdef("#pragma pack(push, 2)\nstruct a { char c; double d; };\n#pragma pack(pop)\n"
             "struct b { char c; double d; };")
    assert (ffi.sizeof("struct a"), ffi.sizeof("struct b")) == (10, 16)


def test_out_of_line_module_replays_the_same_declarations(mylib, tmp_path):
    ffi = FFI()
    mylib_header(ffi, mylib, macros=None)
    ffi.set_source("_hdr_outofline", None)
    module = _load("_hdr_outofline", ffi.compile(tmpdir=str(tmp_path / "ool")))
    assert set(dir(module.ffi.dlopen(None))) == set(dir(ffi.dlopen(None)))
    for t in ("struct my_packed", "struct other_thing", "enum my_small", "FILE"):
        assert module.ffi.sizeof(t) == ffi.sizeof(t)


def test_int128_has_the_compilers_size_in_a_plain_cdef():
    ffi = FFI()
    ffi.cdef("struct w { char c; unsigned __int128 u; }; __int128 neg(__int128);")
    assert (ffi.sizeof("struct w"), ffi.offsetof("struct w", "u")) == (32, 16)
    assert ffi.typeof("__int128").kind == "struct"  # opaque-ish: a {lo, hi} struct
    with pytest.raises(cffix.CDefError, match="'__int128' is not supported"):
        FFI().typeof("__int128")  # a type string declares nothing


def test_cache_skips_the_preprocessor_until_a_header_changes(mylib):
    first = mylib_header(FFI(), mylib, macros=None)
    assert not first.from_cache
    second = mylib_header(FFI(), mylib, macros=None)
    assert second.from_cache and second.kept == first.kept
    assert list((mylib / "cache" / "cffix" / "headers").rglob("*.json"))
    detail = mylib / "mylib" / "detail.h"
    detail.write_text(detail.read_text() + "int my_added(void);\n")
    os.utime(detail, ns=(1, 1))  # a new mtime even on a coarse clock
    ffi = FFI()
    third = mylib_header(ffi, mylib, macros=None)
    assert not third.from_cache
    assert "my_added" in dir(ffi.dlopen(None))


def test_no_compiler_names_what_to_install(mylib, monkeypatch):
    with pytest.raises(cffix.CDefError, match="cc= or \\$CC"):
        mylib_header(FFI(), mylib, cc="/nonexistent/cc")
    monkeypatch.setenv("PATH", str(mylib / "empty"))
    monkeypatch.delenv("CC", raising=False)
    with pytest.raises(cffix.CDefError, match="no C compiler found.*apt-get install gcc"):
        mylib_header(FFI(), mylib)


def test_missing_header_is_a_clear_error(mylib):
    with pytest.raises(cffix.CDefError, match="(?s)no_such_header.h: No such file.*-dev package"):
        FFI().cdef_header("no_such_header.h")


def test_cdef_preprocess_takes_includes_and_conditionals(mylib, monkeypatch):
    monkeypatch.chdir(mylib)
    ffi = FFI()
    report = ffi.cdef("""
        #include <stddef.h>
        #include "inc/other.h"
        #define WIDE 1
        #if WIDE
        typedef long my_int;
        #else
        typedef short my_int;
        #endif
        my_int scaled(my_int, size_t);
    """, preprocess=True, macros=None)
    assert ffi.sizeof("my_int") == ffi.sizeof("long")
    names = set(dir(ffi.dlopen(None)))
    assert {"scaled", "other_function", "OTHER_A"} <= names  # text + what it includes
    assert ("function", "scaled") in report.kept
    with pytest.raises(TypeError, match="need preprocess=True"):
        ffi.cdef("int f(void);", only="f")


def test_false_static_assert_is_reported_as_a_cffix_layout_bug(mylib, monkeypatch):
    monkeypatch.chdir(mylib)
    ffi = FFI()
    report = ffi.cdef("""
        struct s { char c; int i; };
        _Static_assert(sizeof(struct s) == 8, "ok");
        _Static_assert(sizeof(struct s) == 5, "s is 5");
        int after(void);
    """, preprocess=True, macros=None)
    (name, reason, where), = report.skipped
    assert "static assertion failed: s is 5" in reason and "cffix layout bug" in reason
    assert "after" in dir(ffi.dlopen(None))  # the parse went on


def test_own_macros_become_constants(mylib):
    ffi = FFI()
    report = mylib_header(ffi, mylib)
    assert report.macros["MYLIB_VERSION"] == 3
    assert "MYLIB_VERSION" in dir(ffi.dlopen(None))
    assert "BUFSIZ" not in report.macros  # not own
    assert "BUFSIZ" in mylib_header(FFI(), mylib, macros="all").macros
    with pytest.raises(ValueError, match="macros must be"):
        mylib_header(FFI(), mylib, macros="some")


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_mode_from_the_same_headers_agrees_with_abi_mode(tmp_path, compiler_facts):
    abi, report = _declare("zlib", macros=None)
    builder, _ = _declare("zlib", macros=None)
    builder.set_source("_hdr_zlib_api", "#include <zlib.h>", libraries=["z"])
    module = _load("_hdr_zlib_api", builder.compile(tmpdir=str(tmp_path)))
    for t in ("z_stream", "gz_header"):
        assert module.ffi.sizeof(t) == abi.sizeof(t)
        assert module.ffi.alignof(t) == abi.alignof(t)
        for field in HEADERS["zlib"][3]["types"][t]:
            assert module.ffi.offsetof(t, field) == abi.offsetof(t, field)
    assert module.lib.zlibVersion() == abi.dlopen("z").zlibVersion()
    assert module.ffi.string(module.lib.zlibVersion()).startswith(b"1.")
    # the same lib names: zlib's own, not those of the headers it includes
    assert set(dir(module.lib)) == set(dir(abi.dlopen("z")))


def test_api_mode_calls_an_inline_function(mylib, tmp_path):
    ffi = FFI()
    mylib_header(ffi, mylib, only="my_twice", macros=None)
    ffi.set_source("_hdr_inline_api", '#include "mylib/mylib.h"',
                   include_dirs=[str(mylib), str(mylib / "inc")])
    module = _load("_hdr_inline_api", ffi.compile(tmpdir=str(tmp_path / "build")))
    assert module.lib.my_twice(21) == 42
    assert set(dir(module.lib)) == set(dir(ffi.dlopen(None))) == {"my_twice"}
    assert module.ffi.sizeof("struct my_packed") == 7  # #pragma pack replayed too


def test_pkg_config_gives_the_include_flags():
    ffi, report = _declare("glib")
    assert any("glib-2.0" in f for f in report.own_files)
    with pytest.raises(cffix.PkgConfigError):
        FFI().cdef_header("glib.h", pkg_config="no-such-package-cffix")
