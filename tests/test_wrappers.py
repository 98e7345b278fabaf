"""Pythonic wrappers declared once: ffi.errors (error policies) and ffi.wrap (outs,
inouts, owned results and outs, consumed arguments, text, defaults), run in C++ around
the call. Against tests/clib/wrappers.c for every shape, and libc, zlib and sqlite3 of
the system. (A cffix extension: cffi has no such API.)
"""

import errno
import gc
import sys
import threading

import pytest

import cffix
from cdef_helpers import error_text
from cffix import CallError, CDefError

pytestmark = pytest.mark.usefixtures("call_path")

CDEF = """
    typedef int status_t;
    typedef struct thing thing;
    struct pair { int a; double b; };
    #define THING_OK 0
    enum thing_codes { THING_BAD = -1, THING_MISSING = -2 };
    int live_things(void);
    int destroyed_count_get(void);
    int destroyed_id(int i);
    status_t thing_open(int id, thing **out);
    void thing_destroy(thing *t);
    thing *thing_new(int id);
    int thing_id(const thing *t);
    status_t thing_give(thing *t);
    status_t thing_fail(thing *t, int code);
    const char *thing_error(const thing *t);
    int quot_rem(int a, int b, int *q, int *r);
    int doubled(int *n);
    void void_out(int x, long *out);
    int make_pair(int a, struct pair *out);
    double scaled(double x, double *out);
    const char *salutation(int which);
    int name_of(int id, const char **out);
    const char *wrap_version(void);
    int init_with(struct pair *p, int level, const char *version, int size);
    int interrupted(int *remaining);
    int fail_errno(int e);
    int interrupt_self(int sig);
    void *null_errno(int e);
    long negative_errno(int e);
    unsigned int unsigned_status(unsigned int v);
    void nothing(int x);
"""


@pytest.fixture(scope="session")
def wrappers_library(build_clib):
    return build_clib("wrappers", ["-O2"])


@pytest.fixture
def lib(ffi, wrappers_library):
    return ffi.dlopen(wrappers_library)


def collect():
    for _ in range(3):
        gc.collect()


# ---------------------------------------------------------------- error policies


def test_minus1_errno_raises_the_oserror_subclass(ffi, lib):
    ffi.wrap("fail_errno", errors="minus1_errno")
    with pytest.raises(FileNotFoundError) as info:
        lib.fail_errno(errno.ENOENT)
    e = info.value
    assert (e.errno, e.code, e.func, e.result) == (errno.ENOENT, errno.ENOENT, "fail_errno", -1)
    assert e.strerror == "No such file or directory"
    with pytest.raises(PermissionError):
        lib.fail_errno(errno.EACCES)


def test_presets_are_reachable_as_attributes_and_names(ffi, lib):
    assert ffi.errors.minus1_errno.fails == "result == -1"
    ffi.wrap("null_errno", errors=ffi.errors.null_errno)
    ffi.wrap("negative_errno", errors="neg_errno")
    with pytest.raises(IsADirectoryError):
        lib.null_errno(errno.EISDIR)
    with pytest.raises(NotADirectoryError) as info:
        lib.negative_errno(errno.ENOTDIR)
    assert info.value.code == errno.ENOTDIR and info.value.result == -errno.ENOTDIR
    assert lib.negative_errno(0) == 5


def test_nonzero_and_null_presets_raise_callerror(ffi, lib):
    ffi.wrap("thing_fail", errors="nonzero")
    ffi.wrap("thing_new", errors="null")
    t = lib.thing_new(3)
    with pytest.raises(CallError) as info:
        lib.thing_fail(t, 42)
    assert (info.value.code, info.value.func, info.value.message) == (42, "thing_fail", None)
    assert str(info.value) == "thing_fail() failed (code 42)"
    assert lib.thing_fail(t, 0) == 0
    with pytest.raises(CallError):
        lib.thing_new(0)
    lib.thing_destroy(t)


def test_message_is_read_from_the_failing_handle(ffi, lib):
    class ThingError(Exception):
        pass

    ffi.wrap("thing_fail", errors=ffi.errors("result != THING_OK", message="thing_error(t)",
                                             raises=ThingError))
    t = lib.thing_new(1)
    with pytest.raises(ThingError) as info:
        lib.thing_fail(t, 7)
    assert info.value.message == "failure 7"
    assert info.value.code == 7 and info.value.result == 7
    assert str(info.value) == "thing_fail() failed: failure 7 (code 7)"
    lib.thing_destroy(t)


def test_raises_mapping_by_code_and_constant_name(ffi, lib):
    class Bad(Exception):
        pass

    class Missing(Exception):
        pass

    class Other(Exception):
        pass

    policy = ffi.errors("result != 0", raises={"THING_BAD": Bad, -2: Missing, None: Other})
    ffi.wrap("thing_fail", errors=policy)
    t = lib.thing_new(1)
    with pytest.raises(Bad):
        lib.thing_fail(t, -1)
    with pytest.raises(Missing):
        lib.thing_fail(t, -2)
    with pytest.raises(Other):
        lib.thing_fail(t, 5)
    ffi.wrap("thing_fail", errors=ffi.errors("result != 0", raises={"default": Bad}))
    with pytest.raises(Bad):
        lib.thing_fail(t, 5)
    lib.thing_destroy(t)


def test_mapping_without_default_raises_callerror(ffi, lib):
    class Bad(Exception):
        pass

    ffi.wrap("thing_fail", errors=ffi.errors("result != 0", raises={-1: Bad}))
    t = lib.thing_new(1)
    with pytest.raises(CallError):
        lib.thing_fail(t, 3)
    lib.thing_destroy(t)


def test_policy_expressions_use_parameters_by_position_and_operators(ffi, lib):
    ffi.wrap("thing_fail", errors=ffi.errors("arg1 > 10 && arg1 % 2 == 0 || arg1 == -100",
                                             code="arg1 < 0 ? -arg1 : arg1 * 2"))
    t = lib.thing_new(1)
    assert lib.thing_fail(t, 11) == 11
    with pytest.raises(CallError) as info:
        lib.thing_fail(t, 12)
    assert info.value.code == 24
    with pytest.raises(CallError) as info:
        lib.thing_fail(t, -100)
    assert info.value.code == 100
    lib.thing_destroy(t)


def test_unsigned_and_double_results(ffi, lib):
    ffi.wrap("unsigned_status", errors=ffi.errors("result > 0x7fffffff", code="result"))
    ffi.wrap("scaled", errors=ffi.errors("result < 0.5"), out="out")
    assert lib.unsigned_status(5) == 5
    with pytest.raises(CallError) as info:
        lib.unsigned_status(0xFFFFFFFF)
    assert info.value.code == 0xFFFFFFFF
    assert lib.scaled(2.0) == 6.0
    with pytest.raises(CallError):
        lib.scaled(0.25)


def test_retry_eintr_repeats_the_call(ffi, lib):
    ffi.wrap("interrupted", errors=ffi.errors("result == -1", "errno", raises=OSError,
                                              retry_eintr=True), out={"remaining": "inout"})
    assert lib.interrupted(3) == 0  # checked: the inout's new value
    ffi.wrap("interrupted", errors=ffi.errors("result == -1", "errno", raises=OSError))
    with pytest.raises(InterruptedError):
        lib.interrupted(1)


def test_retry_eintr_checks_signals_between_tries(ffi, lib):
    """A signal arrives during the call (it interrupts it): its Python handler runs before
    the retry, and its exception stops the retries."""
    import signal

    calls = []

    def handler(signum, frame):
        calls.append(signum)
        if len(calls) == 2:
            raise KeyboardInterrupt

    ffi.wrap("interrupt_self", errors=ffi.errors("result == -1", "errno", raises=OSError,
                                                 retry_eintr=True))
    old = signal.signal(signal.SIGUSR1, handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            lib.interrupt_self(signal.SIGUSR1)
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert calls == [signal.SIGUSR1] * 2


def test_registered_policy_by_name(ffi, lib):
    ffi.errors("result != 0", message="thing_error(t)", name="THING")
    assert ffi.errors.THING.name == "THING"
    ffi.wrap("thing_fail", errors="THING")
    t = lib.thing_new(1)
    with pytest.raises(CallError, match="failure 3"):
        lib.thing_fail(t, 3)
    lib.thing_destroy(t)


def test_policy_is_immutable_and_has_a_repr(ffi):
    p = ffi.errors("result < 0", name="NEG")
    with pytest.raises(AttributeError):
        p.fails = "1"
    assert "result < 0" in repr(p)
    assert isinstance(p, cffix.ErrorPolicy)


# ---------------------------------------------------------------- shapes


def test_out_parameters_leave_the_signature(ffi, lib):
    ffi.wrap("quot_rem", errors="minus1_errno", out=["q", "r"])
    assert lib.quot_rem(17, 5) == (3, 2)
    with pytest.raises(OSError) as info:
        lib.quot_rem(1, 0)
    assert info.value.errno == errno.EDOM
    with pytest.raises(TypeError, match="takes 2 arguments, got 4"):
        lib.quot_rem(1, 2, 3, 4)


def test_unchecked_function_returns_result_and_outs(ffi, lib):
    ffi.wrap("quot_rem", out=["q", "r"])
    assert lib.quot_rem(17, 5) == (0, 3, 2)
    ffi.wrap("void_out", out="out")  # void: the out alone
    assert lib.void_out(4) == 40


def test_tuples_of_outs_are_never_changed_once_held(ffi, lib):
    """A dropped tuple of outs is refilled by the next call (as zip() reuses its tuples);
    one the program holds stays as it was."""
    ffi.wrap("quot_rem", errors="minus1_errno", out=["q", "r"])
    f = lib.quot_rem
    held = [f(100, b) for b in range(1, 40)]
    assert held == [divmod(100, b) for b in range(1, 40)]
    assert len({id(t) for t in held}) == len(held)
    for b in range(1, 40):  # each result dropped before the next call
        q, r = f(1000, b)
        assert (q, r) == divmod(1000, b)
    first = f(9, 4)
    f(7, 2)
    assert first == (2, 1)
    gc.collect()  # the collector may untrack a tuple of ints: it is tracked again if reused
    assert f(11, 3) == (3, 2) and f(12, 5) == (2, 2)
    ffi.wrap("quot_rem", errors=None)  # unchecked: the result leads
    g = lib.quot_rem
    assert [g(17, 5) for _ in range(3)] == [(0, 3, 2)] * 3
    kept = g(8, 3)
    assert g(9, 3) == (0, 3, 0) and kept == (0, 2, 2)


def test_single_out_of_a_checked_function_is_a_value(ffi, lib):
    ffi.wrap("quot_rem", errors="minus1_errno", out=["q", "arg3"])
    assert lib.quot_rem(9, 2) == (4, 1)
    ffi.wrap("make_pair", errors="nonzero", out="out")
    p = lib.make_pair(7)
    assert (p.a, p.b) == (7, 3.5)
    assert ffi.typeof(p) is ffi.typeof("struct pair")


def test_inout(ffi, lib):
    ffi.wrap("doubled", out={"n": "inout"})
    assert lib.doubled(21) == (21, 42)
    with pytest.raises(TypeError):
        lib.doubled("x")


def test_text_result_and_out(ffi, lib):
    ffi.wrap("salutation", text="return")
    assert lib.salutation(0) == "hello"
    assert lib.salutation(1) == "h\u00e9llo"
    assert lib.salutation(2) is None
    ffi.wrap("salutation", text="bytes:return")
    assert lib.salutation(1) == "h\u00e9llo".encode()
    ffi.wrap("name_of", errors="nonzero", out="out", text="out")
    assert lib.name_of(2) == "two"
    with pytest.raises(CallError):
        lib.name_of(3)


def test_defaults_fill_parameters_from_c_expressions(ffi, lib):
    ffi.wrap("init_with", errors="nonzero",
             default={"version": "wrap_version()", "size": "sizeof(struct pair)"})
    p = ffi.new("struct pair *")
    assert lib.init_with(p, 9) == 0
    assert p.a == 9
    ffi.wrap("init_with", default={"version": '"0.9"'})
    with pytest.raises(CallError) as info:
        lib.init_with(p, 1)
    assert info.value.code == -6


def test_owned_result_is_destroyed_at_collection(ffi, lib):
    ffi.wrap("thing_new", errors="null", owned={"return": "thing_destroy"})
    before = lib.live_things()
    t = lib.thing_new(5)
    assert lib.live_things() == before + 1 and lib.thing_id(t) == 5
    del t
    collect()
    assert lib.live_things() == before


def test_owned_out_with_release_and_with(ffi, lib):
    ffi.wrap("thing_open", errors="nonzero", out="out", owned={"out": "thing_destroy"})
    before = lib.live_things()
    t = lib.thing_open(8)
    assert ffi.typeof(t) is ffi.typeof("thing *")
    ffi.release(t)
    assert lib.live_things() == before
    with lib.thing_open(9) as t2:
        assert lib.thing_id(t2) == 9
        assert lib.live_things() == before + 1
    assert lib.live_things() == before
    with pytest.raises(ValueError):
        lib.thing_id(t2)  # released


def test_failed_call_without_adopt_leaves_no_owner(ffi, lib):
    ffi.wrap("thing_open", errors="nonzero", out="out", owned={"out": "thing_destroy"})
    before = lib.destroyed_count_get()
    with pytest.raises(CallError) as info:
        lib.thing_open(-4)
    assert not hasattr(info.value, "outs")
    del info
    collect()
    assert lib.destroyed_count_get() == before  # leaked, as asked: nobody adopted it


def test_adopt_on_error_keeps_the_out_owned(ffi, lib):
    ffi.wrap("thing_open", errors=ffi.errors("result != 0", message="thing_error(*out)"),
             out="out", owned={"out": "thing_destroy"}, adopt_on_error=True)
    before = lib.live_things()
    with pytest.raises(CallError) as info:
        lib.thing_open(-3)
    assert info.value.message == "cannot open thing -3"
    (handle,) = info.value.outs
    assert lib.thing_id(handle) == -3
    assert lib.live_things() == before + 1
    del handle, info
    collect()
    assert lib.live_things() == before
    # a NULL out (id 0): nothing to own, the message reads NULL as "no thing"
    with pytest.raises(CallError) as info:
        lib.thing_open(0)
    assert info.value.outs == (ffi.NULL,) and info.value.message == "no thing"


def test_consumes_invalidates_the_argument_on_success(ffi, lib):
    ffi.wrap("thing_new", owned={"return": "thing_destroy"})
    ffi.wrap("thing_give", errors="nonzero", consumes="t")
    before = lib.live_things()
    t = lib.thing_new(4)
    assert lib.thing_give(t) == 0
    assert lib.live_things() == before
    with pytest.raises(ValueError):
        lib.thing_id(t)
    del t
    collect()  # the destructor was detached: no second destroy
    assert lib.live_things() == before
    odd = lib.thing_new(5)
    with pytest.raises(CallError):
        lib.thing_give(odd)  # failed: still owned and usable
    assert lib.thing_id(odd) == 5
    del odd
    collect()
    assert lib.live_things() == before


def test_consumes_by_index_requires_a_cdata(ffi, lib):
    ffi.wrap("thing_give", consumes=0)
    with pytest.raises(TypeError, match="consumed"):
        lib.thing_give(None)


def test_names_globs_and_typedef_results(ffi, lib):
    ffi.wrap("typedef:status_t", errors="nonzero")
    t = lib.thing_new(2)
    with pytest.raises(CallError):
        lib.thing_fail(t, 1)
    assert isinstance(lib.thing_id(t), int)  # int, not status_t: not wrapped
    assert type(lib.thing_id) is ffi.CData  # a plain function: the unwrapped object
    ffi.wrap("thing_*", errors=None)  # a glob; later rules refine earlier ones
    assert lib.thing_fail(t, 1) == 1
    lib.thing_destroy(t)


def test_later_wrap_reaches_cached_functions_and_later_libraries(ffi, lib, wrappers_library):
    t = lib.thing_new(1)
    assert lib.thing_fail(t, 3) == 3  # cached, unwrapped
    ffi.wrap("thing_fail", errors="nonzero")
    with pytest.raises(CallError):
        lib.thing_fail(t, 3)
    lib2 = ffi.dlopen(wrappers_library)
    with pytest.raises(CallError):
        lib2.thing_fail(t, 3)
    ffi.wrap("thing_fail", errors=None)
    assert lib.thing_fail(t, 3) == 3
    lib.thing_destroy(t)


def test_none_resets_an_option_of_earlier_rules(ffi, lib):
    ffi.wrap("quot_rem", errors="minus1_errno", out=["q", "r"])
    assert lib.quot_rem(9, 2) == (4, 1)
    ffi.wrap("quot_rem", errors=None, out=None)
    assert type(lib.quot_rem).__name__ == "CDataWrappedFunction"
    q, r = ffi.new("int *"), ffi.new("int *")
    assert lib.quot_rem(9, 2, q, r) == 0 and (q[0], r[0]) == (4, 1)


def test_wrapped_function_is_a_function_cdata(ffi, lib):
    ffi.wrap("quot_rem", out=["q", "r"])
    f = lib.quot_rem
    assert ffi.typeof(f) is ffi.typeof("int(*)(int, int, int *, int *)")
    assert "wrapped function quot_rem" in repr(f)
    raw = ffi.cast("int(*)(int, int, int *, int *)", f)
    q = ffi.new("int *")
    r = ffi.new("int *")
    assert raw(7, 2, q, r) == 0 and (q[0], r[0]) == (3, 1)


def test_keyword_arguments_are_refused(ffi, lib):
    ffi.wrap("doubled", out={"n": "inout"})
    with pytest.raises(TypeError, match="keyword"):
        lib.doubled(n=3)


# ---------------------------------------------------------------- threads


# The thread-switch tests below share one handle between threads and rely on the GIL
# being kept during the call (release_gil=False): nothing but Python code of other threads
# can then run between the call and the policy's message read. With the GIL off
# (free-threaded CPython) threads run in parallel and two calls on one handle race inside
# the library itself, as they would in C; per-thread state (errno) is tested apart.
needs_the_gil = pytest.mark.skipif(
    not getattr(sys, "_is_gil_enabled", lambda: True)(),
    reason="shares one handle between threads: with the GIL off the library itself races")


def run_with_forced_switches(work, args):
    """One thread per item of `args` running work(item), with the GIL handed over as
    often as CPython allows (a switch interval of 1 us)."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work, args=(a,)) for a in args]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(old)



@needs_the_gil
def test_message_matches_the_failing_call_under_thread_switches(ffi, wrappers_library):
    """Each thread fails on the same handle with its own code: the message read right
    after the call (before the GIL can go to another thread) names that code."""
    lib = ffi.dlopen(wrappers_library, release_gil=False)
    ffi.wrap("thing_fail", errors=ffi.errors("result != 0", message="thing_error(t)"))
    t = lib.thing_new(1)
    mismatches = []

    def work(code):
        for _ in range(300):
            try:
                lib.thing_fail(t, code)
            except CallError as e:
                if e.message != f"failure {code}":
                    mismatches.append((code, e.message))

    run_with_forced_switches(work, range(1, 5))
    lib.thing_destroy(t)
    assert mismatches == []


def test_errno_is_per_thread_and_read_right_after_the_call(ffi, lib):
    ffi.wrap("fail_errno", errors="minus1_errno")
    seen = []

    def work(e):
        for _ in range(200):
            try:
                lib.fail_errno(e)
            except OSError as exc:
                seen.append(exc.errno == e)

    threads = [threading.Thread(target=work, args=(e,))
               for e in (errno.ENOENT, errno.EACCES, errno.EEXIST)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(seen) == 600 and all(seen)


# ---------------------------------------------------------------- bad policies


def test_syntax_errors_name_line_and_column(ffi):
    # (the position is in the exception's notes, as for every CDefError: error_text)
    with pytest.raises(CDefError) as info:
        ffi.errors("result ==")
    assert "in fails=" in str(info.value) and "line 1, column 10" in error_text(info.value)
    with pytest.raises(CDefError) as info:
        ffi.errors("result\n< < 0")
    assert "line 2, column 3" in error_text(info.value)
    with pytest.raises(CDefError, match="no side effect"):
        ffi.errors("result = 1")
    with pytest.raises(CDefError, match="in message="):
        ffi.errors("result", message="f(")


def test_unknown_names_fail_when_the_function_is_made(ffi, lib):
    ffi.wrap("thing_fail", errors=ffi.errors("reslt != 0"))
    with pytest.raises(CDefError) as info:
        lib.thing_fail
    assert "unknown name 'reslt'" in str(info.value)
    assert "in fails= of thing_fail()" in str(info.value)
    assert "line 1, column 1" in error_text(info.value)
    ffi.wrap("thing_fail", errors=ffi.errors("result != 0", message="no_such_fn(t)"))
    with pytest.raises(CDefError, match="not a function declared"):
        lib.thing_fail
    ffi.wrap("thing_fail", errors=ffi.errors("result != 0", message="thing_error(t, 1)"))
    with pytest.raises(CDefError, match="takes 1 argument, got 2"):
        lib.thing_fail
    ffi.wrap("thing_fail", errors=ffi.errors("*code"))
    with pytest.raises(CDefError, match="needs a pointer"):
        lib.thing_fail


def test_fails_on_a_void_function(ffi, lib):
    ffi.wrap("nothing", errors="nonzero")
    with pytest.raises(CDefError, match=r"'result' cannot be used: nothing\(\) returns void"):
        lib.nothing
    ffi.wrap("nothing", errors=ffi.errors("errno == 12345", "errno", raises=OSError))
    assert lib.nothing(1) is None  # a policy without 'result' is fine


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"fails": 1}, TypeError, "fails"),
    ({"fails": "1", "code": 2}, TypeError, "code"),
    ({"fails": "1", "message": b"x"}, TypeError, "message"),
    ({"fails": "1", "raises": 3}, TypeError, "raises"),
    ({"fails": "1", "raises": {1: int}}, TypeError, "not an exception class"),
    ({"fails": "1", "raises": {1.5: ValueError}}, TypeError, "a key"),
    ({"fails": "1", "retry_eintr": "yes"}, TypeError, "retry_eintr"),
    ({"fails": "1", "name": "not an identifier"}, TypeError, "name"),
    ({"fails": "1", "name": "null"}, ValueError, "preset"),
    ({"fails": None}, TypeError, "fails"),
])
def test_errors_arguments_of_the_wrong_type(ffi, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ffi.errors(**kwargs)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"errors": 3}, TypeError, "errors"),
    ({"errors": "no_such_policy"}, KeyError, "no preset"),
    ({"out": 3.0}, TypeError, "out"),
    ({"out": {"q": "both"}}, ValueError, "out"),
    ({"owned": ["q"]}, TypeError, "owned"),
    ({"owned": {"q": 1}}, TypeError, "owned"),
    ({"adopt_on_error": 1}, TypeError, "adopt_on_error"),
    ({"consumes": {"a": 1}}, TypeError, "consumes"),
    ({"text": {"return": "latin1"}}, ValueError, "text"),
    ({"message": 5}, TypeError, "message"),
    ({"default": {"a": 1}}, TypeError, "default"),
    ({"default": {"a": "1 +"}}, CDefError, "default"),
])
def test_wrap_arguments_of_the_wrong_type(ffi, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ffi.wrap("quot_rem", **kwargs)


def test_wrap_names_of_the_wrong_type(ffi):
    with pytest.raises(TypeError, match="names"):
        ffi.wrap(3)
    with pytest.raises(TypeError, match="names"):
        ffi.wrap([])
    with pytest.raises(ValueError, match="typedef"):
        ffi.wrap("typedef:")


@pytest.mark.parametrize("options, exc, match", [
    ({"out": "a"}, TypeError, "pointer to a complete type"),
    ({"out": "nope"}, KeyError, "no parameter named 'nope'"),
    ({"out": 7}, IndexError, "no parameter 7"),
    ({"owned": {"q": "thing_destroy"}}, TypeError, "out parameter of a pointer"),
    ({"out": "q", "owned": {"q": "no_such_fn"}}, KeyError, "not a function declared"),
    ({"out": "q", "owned": {"q": "quot_rem"}}, TypeError, "one pointer argument"),
    ({"owned": {"return": "thing_destroy"}}, TypeError, "not a pointer"),
    ({"text": "return"}, TypeError, "not a 'char \\*'"),
    ({"text": "q"}, ValueError, "not an out parameter"),
    ({"consumes": "a"}, TypeError, "must be a pointer"),
    ({"out": "q", "default": {"q": "1"}}, ValueError, "out parameter"),
    ({"default": {"a": "b"}}, CDefError, "cannot be used in a default"),
    ({"message": "1"}, ValueError, "no error policy"),
])
def test_bad_shapes_fail_when_the_function_is_made(ffi, lib, options, exc, match):
    ffi.wrap("quot_rem", **options)
    with pytest.raises(exc, match=match):
        lib.quot_rem


# ---------------------------------------------------------------- real libraries


def test_libc_open_read_close(ffi, tmp_path):
    ffi.cdef("""
        int open(const char *path, int flags);
        long read(int fd, void *buf, size_t n);
        int close(int fd);
    """, override=True)
    libc = ffi.dlopen(None)
    ffi.wrap(["open", "read", "close"], errors="minus1_errno")
    with pytest.raises(FileNotFoundError) as info:
        libc.open(str(tmp_path / "missing").encode(), 0)
    assert info.value.filename is None and info.value.func == "open"
    path = tmp_path / "data"
    path.write_bytes(b"hello wrappers")
    fd = libc.open(str(path).encode(), 0)
    buf = ffi.new("char[64]")
    n = libc.read(fd, buf, 64)
    assert ffi.buffer(buf, n)[:] == b"hello wrappers"
    assert libc.close(fd) == 0
    with pytest.raises(OSError) as info:
        libc.close(fd)
    assert info.value.errno == errno.EBADF


ZLIB_CDEF = """
    typedef struct z_stream_s {
        const unsigned char *next_in; unsigned int avail_in; unsigned long total_in;
        unsigned char *next_out; unsigned int avail_out; unsigned long total_out;
        const char *msg; void *state;
        void *zalloc; void *zfree; void *opaque;
        int data_type; unsigned long adler; unsigned long reserved;
    } z_stream;
    #define Z_OK 0
    #define Z_STREAM_END 1
    #define Z_FINISH 4
    const char *zlibVersion(void);
    const char *zError(int err);
    int deflateInit_(z_stream *strm, int level, const char *version, int stream_size);
    int deflate(z_stream *strm, int flush);
    int deflateEnd(z_stream *strm);
"""


def test_zlib_deflate_init_through_defaults(module):
    import zlib

    ffi = module.FFI()
    ffi.cdef(ZLIB_CDEF)
    z = ffi.dlopen("z")

    class ZlibError(Exception):
        pass

    ffi.errors("result != Z_OK && result != Z_STREAM_END", message="zError(result)",
               raises=ZlibError, name="ZLIB")
    ffi.wrap(["deflateInit_", "deflate", "deflateEnd"], errors="ZLIB")
    ffi.wrap("deflateInit_", default={"version": "zlibVersion()",
                                      "stream_size": "sizeof(z_stream)"})
    ffi.wrap("zlibVersion", text="return")
    assert z.zlibVersion() == zlib.ZLIB_RUNTIME_VERSION
    data = b"wrapped " * 100
    stream = ffi.new("z_stream *")
    src = ffi.from_buffer(data)
    out = ffi.new("unsigned char[4096]")
    assert z.deflateInit_(stream, 6) == 0
    stream.next_in, stream.avail_in = src, len(data)
    stream.next_out, stream.avail_out = out, 4096
    assert z.deflate(stream, 2 * 2) == 1  # Z_FINISH -> Z_STREAM_END
    packed = ffi.buffer(out, stream.total_out)[:]
    z.deflateEnd(stream)
    assert zlib.decompress(packed) == data
    ffi.wrap("deflateInit_", default={"version": '"0.0.1"'})
    with pytest.raises(ZlibError) as info:
        z.deflateInit_(ffi.new("z_stream *"), 6)
    assert info.value.code == -6 and info.value.message == "incompatible version"


SQLITE_CDEF = """
    typedef struct sqlite3 sqlite3;
    typedef struct sqlite3_stmt sqlite3_stmt;
    #define SQLITE_OK 0
    #define SQLITE_ROW 100
    #define SQLITE_DONE 101
    #define SQLITE_CONSTRAINT 19
    int sqlite3_open(const char *filename, sqlite3 **ppDb);
    int sqlite3_close_v2(sqlite3 *db);
    const char *sqlite3_errmsg(sqlite3 *db);
    int sqlite3_exec(sqlite3 *db, const char *sql, void *callback, void *arg, char **errmsg);
    int sqlite3_prepare_v2(sqlite3 *db, const char *sql, int nbyte, sqlite3_stmt **ppStmt,
                           const char **pzTail);
    int sqlite3_step(sqlite3_stmt *stmt);
    int sqlite3_finalize(sqlite3_stmt *stmt);
    const unsigned char *sqlite3_column_text(sqlite3_stmt *stmt, int i);
    sqlite3 *sqlite3_db_handle(sqlite3_stmt *stmt);
"""


class SqliteError(Exception):
    pass


class ConstraintError(SqliteError):
    pass


@pytest.fixture
def sqlite(module):
    ffi = module.FFI()
    ffi.cdef(SQLITE_CDEF)
    ffi.errors("result != SQLITE_OK", message="sqlite3_errmsg(db)",
               raises={"SQLITE_CONSTRAINT": ConstraintError, None: SqliteError}, name="SQLITE")
    ffi.wrap("sqlite3_*", errors="SQLITE")
    ffi.wrap(["sqlite3_errmsg", "sqlite3_column_text", "sqlite3_db_handle"], errors=None)
    ffi.wrap("sqlite3_column_text", text="return")
    ffi.wrap("sqlite3_open", out="ppDb", owned={"ppDb": "sqlite3_close_v2"},
             adopt_on_error=True, message="sqlite3_errmsg(*ppDb)")
    ffi.wrap("sqlite3_prepare_v2", out=["ppStmt", "pzTail"],
             owned={"ppStmt": "sqlite3_finalize"}, default={"nbyte": "-1"})
    ffi.wrap("sqlite3_step", errors=ffi.errors(
        "result != SQLITE_ROW && result != SQLITE_DONE",
        message="sqlite3_errmsg(sqlite3_db_handle(stmt))", raises=SqliteError))
    ffi.wrap("sqlite3_exec", default={"callback": "NULL", "arg": "NULL", "errmsg": "NULL"})
    return ffi, ffi.dlopen("sqlite3")


def test_sqlite3_open_exec_prepare_step(sqlite):
    ffi, lib = sqlite
    with lib.sqlite3_open(b":memory:") as db:
        lib.sqlite3_exec(db, b"create table t(x integer primary key, s text)")
        lib.sqlite3_exec(db, b"insert into t values (1, 'one'), (2, 'two')")
        with pytest.raises(ConstraintError) as info:
            lib.sqlite3_exec(db, b"insert into t values (1, 'again')")
        assert info.value.code == 19
        assert info.value.message == "UNIQUE constraint failed: t.x"
        assert info.value.func == "sqlite3_exec"
        stmt, tail = lib.sqlite3_prepare_v2(db, b"select s from t order by x")
        rows = []
        while lib.sqlite3_step(stmt) == 100:
            rows.append(lib.sqlite3_column_text(stmt, 0))
        assert rows == ["one", "two"]
        ffi.release(stmt)
        with pytest.raises(SqliteError, match="no such column: nope"):
            lib.sqlite3_prepare_v2(db, b"select nope from t")


def test_sqlite3_open_failure_adopts_the_handle(sqlite, tmp_path):
    ffi, lib = sqlite
    with pytest.raises(SqliteError) as info:
        lib.sqlite3_open(str(tmp_path / "no" / "such" / "dir.db").encode())
    assert info.value.message == "unable to open database file"
    (db,) = info.value.outs
    assert db != ffi.NULL
    ffi.release(db)  # sqlite3_close_v2, once


@needs_the_gil
def test_sqlite3_threads_racing_on_one_connection(module):
    """Threads fail on one connection with different errors, switching threads as often
    as the interpreter can. The library keeps the GIL during its calls (release_gil=False),
    so what could interleave between a call and sqlite3_errmsg is Python code of other
    threads, as with a hand-written wrapper: the message is read before the GIL can go,
    so it always matches the failing call."""
    ffi = module.FFI()
    ffi.cdef(SQLITE_CDEF)
    ffi.errors("result != SQLITE_OK", message="sqlite3_errmsg(db)",
               raises={"SQLITE_CONSTRAINT": ConstraintError, None: SqliteError}, name="SQLITE")
    ffi.wrap("sqlite3_*", errors="SQLITE")
    ffi.wrap("sqlite3_open", out="ppDb", owned={"ppDb": "sqlite3_close_v2"},
             message="sqlite3_errmsg(*ppDb)")
    ffi.wrap("sqlite3_exec", default={"callback": "NULL", "arg": "NULL", "errmsg": "NULL"})
    lib = ffi.dlopen("sqlite3", release_gil=False)
    db = lib.sqlite3_open(b":memory:")
    lib.sqlite3_exec(db, b"create table t(x integer primary key)")
    lib.sqlite3_exec(db, b"insert into t values (1)")
    bad = []
    failures = []

    def work(kind):
        for _ in range(200):
            try:
                if kind:
                    lib.sqlite3_exec(db, b"insert into t values (1)")
                else:
                    lib.sqlite3_exec(db, b"select nope from t")
            except SqliteError as e:
                failures.append(kind)
                want = "UNIQUE constraint failed: t.x" if kind else "no such column: nope"
                if e.message != want or isinstance(e, ConstraintError) != bool(kind):
                    bad.append((kind, e.message))

    run_with_forced_switches(work, [k % 2 for k in range(4)])
    ffi.release(db)
    assert len(failures) == 800
    assert bad == []


# ---------------------------------------------------------------- API mode, out-of-line


@pytest.fixture(scope="module")
def api_module(tmp_path_factory, cc):
    """tests/clib/wrappers.c compiled into an API-mode module (set_source)."""
    import importlib.util
    import os

    ffi = cffix.FFI()
    ffi.cdef(CDEF)
    source = open(os.path.join(os.path.dirname(__file__), "clib", "wrappers.c")).read()
    ffi.set_source("_wrappers_api", source)
    path = ffi.compile(tmpdir=str(tmp_path_factory.mktemp("api")))
    spec = importlib.util.spec_from_file_location("_wrappers_api", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_mode_functions_are_wrapped_through_their_address(api_module):
    ffi, lib = api_module.ffi, api_module.lib
    assert lib.quot_rem(7, 2, ffi.new("int *"), ffi.new("int *")) == 0  # the module's own
    ffi.wrap("quot_rem", errors="minus1_errno", out=["q", "r"])
    try:
        assert lib.quot_rem(17, 5) == (3, 2)
        with pytest.raises(OSError) as info:
            lib.quot_rem(1, 0)
        assert info.value.errno == errno.EDOM
        ffi.wrap("thing_open", errors=ffi.errors("result != 0", message="thing_error(*out)"),
                 out="out", owned={"out": "thing_destroy"}, adopt_on_error=True)
        before = lib.live_things()
        with lib.thing_open(4) as t:
            assert lib.thing_id(t) == 4 and lib.live_things() == before + 1
        assert lib.live_things() == before
        with pytest.raises(CallError, match="cannot open thing -1"):
            lib.thing_open(-1)
    finally:
        ffi.wrap(["quot_rem", "thing_open"], errors=None, out=None, owned=None)


def test_out_of_line_abi_module(tmp_path, wrappers_library):
    """set_source(name, None): the generated module's ffi wraps like any other."""
    import importlib.util

    builder = cffix.FFI()
    builder.cdef(CDEF)
    builder.set_source("_wrappers_ool", None)
    path = builder.compile(tmpdir=str(tmp_path))
    spec = importlib.util.spec_from_file_location("_wrappers_ool", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ffi = module.ffi
    lib = ffi.dlopen(wrappers_library)
    ffi.wrap("quot_rem", errors="minus1_errno", out=["q", "r"])
    assert lib.quot_rem(9, 4) == (2, 1)


# ---------------------------------------------------------------- C23 attributes in the cdef

ATTRIBUTES_CDEF = """
    typedef struct thing thing;
    [[cffix::errors(nonzero)]] int thing_open(int id,
        [[cffix::out, cffix::owned(thing_destroy)]] thing **out);
    void thing_destroy(thing *t);
    int live_things(void);
    int thing_id(const thing *t);
    [[cffix::errors(nonzero)]] int thing_give([[cffix::consumes]] thing *t);
    int quot_rem(int a, int b, [[cffix::out]] int *q, [[cffix::out]] int *r);
    [[cffix::text]] const char *salutation(int which);
    int doubled([[cffix::inout]] int *n);
    [[nodiscard, gnu::pure]] int name_of(int id, [[cffix::out]] [[cffix::bytes]] const char **out);
"""


def check_attribute_shapes(ffi, lib):
    before = lib.live_things()
    t = lib.thing_open(4)
    assert lib.live_things() == before + 1
    assert lib.quot_rem(7, 2) == (0, 3, 1)
    assert lib.salutation(0) == "hello"
    assert lib.doubled(5) == (5, 10)
    assert lib.name_of(1) == (0, b"one")
    assert lib.thing_give(t) == 0
    assert lib.live_things() == before
    with pytest.raises(ValueError):
        lib.thing_id(t)
    with pytest.raises(CallError):
        lib.thing_open(0)  # fails with *out NULL (-1 would hand out a thing: not adopted,
        # it is dropped as the README says, and LeakSanitizer reports the C library's leak)


def test_cdef_attributes_declare_the_shapes(module, wrappers_library):
    ffi = module.FFI()
    ffi.cdef(ATTRIBUTES_CDEF)
    check_attribute_shapes(ffi, ffi.dlopen(wrappers_library))


def test_wrap_refines_cdef_attributes(module, wrappers_library):
    ffi = module.FFI()
    ffi.cdef(ATTRIBUTES_CDEF)
    lib = ffi.dlopen(wrappers_library)
    ffi.wrap("quot_rem", errors="minus1_errno")
    assert lib.quot_rem(7, 2) == (3, 1)


def test_cdef_attributes_in_an_api_mode_module(tmp_path, cc):
    import importlib.util
    import os

    builder = cffix.FFI()
    builder.cdef(ATTRIBUTES_CDEF)
    source = open(os.path.join(os.path.dirname(__file__), "clib", "wrappers.c")).read()
    builder.set_source("_wrappers_attrs", source)
    path = builder.compile(tmpdir=str(tmp_path))
    spec = importlib.util.spec_from_file_location("_wrappers_attrs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    check_attribute_shapes(module.ffi, module.lib)


def test_registered_policy_named_in_an_attribute(module, wrappers_library):
    ffi = module.FFI()
    ffi.cdef("""
        typedef struct thing thing;
        thing *thing_new(int id);
        void thing_destroy(thing *t);
        const char *thing_error(const thing *t);
        [[cffix::errors(THING)]] int thing_fail(thing *t, int code);
    """)
    ffi.errors("result != 0", message="thing_error(t)", name="THING")
    lib = ffi.dlopen(wrappers_library)
    t = lib.thing_new(1)
    with pytest.raises(CallError, match="failure 5"):
        lib.thing_fail(t, 5)
    lib.thing_destroy(t)


@pytest.mark.parametrize("cdef, match", [
    ("[[cffix::bogus]] int live_things(void);", r"\[\[cffix::bogus\]\] on the function"),
    ("int doubled([[cffix::owned]] int *n);", r"\[\[cffix::owned\(\)\]\] on parameter 0"),
    ("[[cffix::errors(NOPE)]] int live_things(void);", "no preset or registered policy"),
])
def test_bad_cdef_attributes(module, wrappers_library, cdef, match):
    ffi = module.FFI()
    ffi.cdef(cdef)
    lib = ffi.dlopen(wrappers_library)
    with pytest.raises((CDefError, KeyError), match=match):
        getattr(lib, "live_things" if "live_things" in cdef else "doubled")


def test_cdef_attribute_syntax_errors(module):
    ffi = module.FFI()
    with pytest.raises(CDefError, match="']]'"):
        ffi.cdef("[[cffix::out] int f(void);")
    with pytest.raises(CDefError, match="attribute name"):
        ffi.cdef("[[cffix::]] int f(void);")


def test_negative_constants_and_folded_operators_compare_as_in_c(ffi, lib):
    ffi.wrap("fail_errno", errors=ffi.errors("result == -1", "errno", raises=OSError))
    ffi.wrap("unsigned_status", errors=ffi.errors("result == 0xffffffff", code="-result"))
    with pytest.raises(FileNotFoundError):
        lib.fail_errno(errno.ENOENT)
    assert lib.unsigned_status(3) == 3
    with pytest.raises(CallError) as info:
        lib.unsigned_status(0xFFFFFFFF)
    assert info.value.code == -0xFFFFFFFF
    ffi.wrap("fail_errno", errors=ffi.errors("!(result + 1)", "errno", raises=OSError))
    with pytest.raises(PermissionError):
        lib.fail_errno(errno.EPERM)


# ---------------------------------------------------------------- the quick form

NARROW = {  # function: (C type, bits, signed)
    "narrow_s8": ("signed char", 8, True),
    "narrow_u8": ("unsigned char", 8, False),
    "narrow_char": ("char", 8, True),
    "narrow_bool": ("_Bool", 1, False),
    "narrow_s16": ("short", 16, True),
    "narrow_u16": ("unsigned short", 16, False),
    "narrow_s32": ("int", 32, True),
    "narrow_u32": ("unsigned int", 32, False),
    "narrow_s64": ("long long", 64, True),
    "narrow_u64": ("unsigned long long", 64, False),
    "narrow_ptr": ("void *", 64, False),
}
QUICK_CONSTANTS = [
    -9223372036854775807, -2147483648, -129, -128, -1, 0, 1, 127, 128, 255, 256, 32767,
    32768, 65535, 65536, 2147483647, 2147483648, 4294967295, 4294967296,
    9223372036854775807,
]


def narrow_values(bits, signed):
    """Values of the type, as the argument to pass: garbage above the value's bits."""
    if bits == 1:
        return [0, 1, 0x5A5A5A5A5A5A5A5A, 0x5A5A5A5A5A5A5A5B]
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    values = {lo, lo + 1, -1, 0, 1, hi - 1, hi, 127, 128, 255, 256, 2147483648}
    garbage = 0 if bits == 64 else 0x5A5A5A5A5A5A5A5A & ~((1 << bits) - 1)
    out = []
    for v in sorted(values):
        if bits < 64 and not lo <= v <= hi:
            continue
        raw = garbage | (v & ((1 << bits) - 1)) if bits < 64 else v
        out.append(raw - (1 << 64) if raw >= 1 << 63 else raw)
    return out


def failures(f, values):
    out = []
    for v in values:
        try:
            f(v)
            out.append(False)
        except CallError:
            out.append(True)
    return out


@pytest.mark.parametrize("name", sorted(NARROW))
def test_quick_form_agrees_with_the_op_list(ffi, lib, name):
    """`result OP constant` is tested on the result's register word without the op list;
    `!!(result OP constant)` runs the op list: both decide alike for every type, operator
    and boundary constant, whatever the register holds above a narrow result."""
    ffi.cdef("".join(f"{t} {n}(long long v);\n" for n, (t, _, _) in NARROW.items()))
    ctype, bits, signed = NARROW[name]
    values = narrow_values(bits, signed)
    checked = 0
    for op in ("==", "!=", "<", ">", "<=", ">="):
        for c in QUICK_CONSTANTS:
            ffi.wrap(name, errors=ffi.errors(f"result {op} {c}"))
            quick = getattr(lib, name)
            ffi.wrap(name, errors=ffi.errors(f"!!(result {op} {c})"))
            listed = getattr(lib, name)
            # Twice: the first call takes the general entry, later ones the fixed-count one.
            for _ in range(2):
                assert failures(quick, values) == failures(listed, values), (op, c)
            checked += 1
    assert checked == 6 * len(QUICK_CONSTANTS)


@pytest.mark.parametrize("name", ["echo_double", "echo_float"])
def test_quick_form_of_floating_results_agrees_with_the_op_list(ffi, lib, name):
    ffi.cdef("double echo_double(double v); float echo_float(float v);")
    nan, inf = float("nan"), float("inf")
    values = [-inf, -1e300, -2.5, -1.0, -0.0, 0.0, 0.5, 1.0, 2.5, 1e300, inf, nan]
    checked = 0
    for op in ("==", "!=", "<", ">", "<=", ">="):
        for c in ("0", "-1", "1", "0.5", "-2.5", "1e300", "9223372036854775807"):
            ffi.wrap(name, errors=ffi.errors(f"result {op} {c}"))
            quick = getattr(lib, name)
            ffi.wrap(name, errors=ffi.errors(f"!!(result {op} {c})"))
            listed = getattr(lib, name)
            for _ in range(2):
                assert failures(quick, values) == failures(listed, values), (op, c)
            checked += 1
    ffi.wrap(name, errors=ffi.errors("result < 0.5"))
    f = getattr(lib, name)
    assert [failures(f, [v]) for v in (0.25, 0.5, nan)] == [[True], [False], [False]]
    assert checked == 42


def test_quick_form_of_narrow_results_in_c_terms(ffi, lib):
    ffi.cdef("signed char narrow_s8(long long v); unsigned int narrow_u32(long long v);")
    ffi.wrap("narrow_s8", errors=ffi.errors("result < 0"))
    ffi.wrap("narrow_u32", errors=ffi.errors("result >= 4294967295"))
    f, g = lib.narrow_s8, lib.narrow_u32
    for _ in range(2):
        assert f(0x7F) == 127
        assert f(0x1234_0000_0000_0001) == 1  # the bits above the char are ignored
        with pytest.raises(CallError):
            f(0x80)
        assert g(-2) == 0xFFFFFFFE
        with pytest.raises(CallError):
            g(-1)


# ---------------------------------------------------------------- API mode: policies in the call

API_POLICY_CDEF = """
    typedef struct thing thing;
    thing *thing_new(int id);
    void thing_destroy(thing *t);
    const char *thing_error(const thing *t);
    [[cffix::errors(THING)]] int thing_fail(thing *t, int code);
    [[cffix::errors(minus1_errno)]] int fail_errno(int e);
    int quot_rem(int a, int b, [[cffix::out]] int *q, [[cffix::out]] int *r);
"""


@pytest.fixture(scope="module")
def api_policy_module(tmp_path_factory, cc):
    """An API-mode module whose cdef declares policies as [[cffix::...]] attributes,
    compiled with the GIL kept during calls (so that only Python code can interleave)."""
    import importlib.util
    import os

    builder = cffix.FFI()
    builder.cdef(API_POLICY_CDEF)
    source = open(os.path.join(os.path.dirname(__file__), "clib", "wrappers.c")).read()
    builder.set_source("_wrappers_api_policy", source, release_gil=False)
    path = builder.compile(tmpdir=str(tmp_path_factory.mktemp("api_policy")))
    spec = importlib.util.spec_from_file_location("_wrappers_api_policy", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.ffi.errors("result != 0", message="thing_error(t)", name="THING")
    return module


def test_api_mode_policy_runs_in_the_call(api_policy_module):
    """An API-mode function with a policy in its cdef is called by the core's wrapped
    call (through its address): the policy is C++ right after the C call."""
    ffi, lib = api_policy_module.ffi, api_policy_module.lib
    assert "wrapped function" in repr(lib.fail_errno)
    with pytest.raises(FileNotFoundError) as info:
        lib.fail_errno(errno.ENOENT)
    assert info.value.errno == errno.ENOENT and info.value.func == "fail_errno"
    assert lib.quot_rem(17, 5) == (0, 3, 2)
    t = lib.thing_new(3)
    try:
        assert lib.thing_fail(t, 0) == 0
        with pytest.raises(CallError, match="failure 9") as info:
            lib.thing_fail(t, 9)
        assert info.value.code == 9 and info.value.message == "failure 9"
    finally:
        lib.thing_destroy(t)


@needs_the_gil
def test_api_mode_errno_and_message_are_the_failing_calls(api_policy_module):
    """errno and the message are read on the calling thread right after the call, before
    any other thread runs: under forced thread switches they always match the call."""
    lib = api_policy_module.lib
    t = lib.thing_new(1)
    mismatches = []

    def work(code):
        for _ in range(300):
            try:
                lib.thing_fail(t, code)
            except CallError as e:
                if e.message != f"failure {code}":
                    mismatches.append((code, e.message))
            try:
                lib.fail_errno(code)
            except OSError as e:
                if e.errno != code:
                    mismatches.append((code, e.errno))

    try:
        run_with_forced_switches(work, (errno.EPERM, errno.ENOENT, errno.EACCES, errno.EEXIST))
    finally:
        lib.thing_destroy(t)
    assert mismatches == []


class BuiltThingError(Exception):
    """Named by its import path in an API-mode module's rules."""


def test_builder_wrap_rules_travel_into_the_api_module(tmp_path, cc):
    """ffi.wrap() and named ffi.errors() on the builder before compile(): the module's ffi
    has the same rules at import (exception classes by import path), so its functions are
    wrapped and their policies run in the call."""
    import importlib.util
    import os

    builder = cffix.FFI()
    builder.cdef(API_POLICY_CDEF.replace("[[cffix::errors(THING)]] ", ""))
    builder.errors("result != 0", message="thing_error(t)", raises=BuiltThingError,
                   name="THING")
    builder.wrap("thing_fail", errors="THING")
    builder.wrap("quot_rem", errors="minus1_errno")  # refines the attributes' outs
    builder.wrap("thing_new", owned={"return": "thing_destroy"})
    source = open(os.path.join(os.path.dirname(__file__), "clib", "wrappers.c")).read()
    builder.set_source("_wrappers_api_rules", source)
    path = builder.compile(tmpdir=str(tmp_path))
    spec = importlib.util.spec_from_file_location("_wrappers_api_rules", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lib = module.lib
    assert lib.quot_rem(17, 5) == (3, 2)
    with pytest.raises(OSError):
        lib.quot_rem(1, 0)
    with lib.thing_new(2) as t:
        with pytest.raises(BuiltThingError, match="failure 4") as info:
            lib.thing_fail(t, 4)
        assert info.value.code == 4 and info.value.func == "thing_fail"


def test_builder_rules_with_a_local_exception_class_are_refused(tmp_path):
    class Local(Exception):
        pass

    builder = cffix.FFI()
    builder.cdef("int fail_errno(int e);")
    builder.wrap("fail_errno", errors=builder.errors("result == -1", raises=Local))
    builder.set_source("_wrappers_api_local", "int fail_errno(int e) { return e; }")
    with pytest.raises(TypeError, match="local to a function"):
        builder.emit_c_code(str(tmp_path / "m.c"))
