"""Argument parsing of the FFI methods: bad inputs to ffi.dlopen and ffi.callback.

Every bad call raises the exception type cffi 2.0.0 raises for it (the oracle); the
messages of wrong counts and keywords have the wording of the other FFI methods
(ffi.new, ffi.string...), which share one argument parser.
"""

import pytest

import cffix

FN = "int(*)(int)"


def identity(x):
    return x


# (id, call) pairs: call(ffi) must raise the same exception type with cffix and cffi.
BAD_DLOPEN = [
    ("no arguments", lambda ffi: ffi.dlopen()),
    ("only flags", lambda ffi: ffi.dlopen(flags=0)),
    ("too many positional", lambda ffi: ffi.dlopen(None, 0, 0)),
    ("far too many positional", lambda ffi: ffi.dlopen(None, 0, True, 1)),
    ("unknown keyword", lambda ffi: ffi.dlopen(None, bogus=1)),
    ("unknown keyword, name by keyword", lambda ffi: ffi.dlopen(name=None, bogus=1)),
    ("name twice", lambda ffi: ffi.dlopen(None, name=None)),
    ("flags twice", lambda ffi: ffi.dlopen(None, 0, flags=0)),
    ("name an int", lambda ffi: ffi.dlopen(3)),
    ("name a float", lambda ffi: ffi.dlopen(1.5)),
    ("name bytes", lambda ffi: ffi.dlopen(b"m")),
    ("name a list", lambda ffi: ffi.dlopen(["m"])),
    ("name an int cdata", lambda ffi: ffi.dlopen(ffi.cast("int", 0))),
    ("flags a str", lambda ffi: ffi.dlopen(None, "x")),
    ("flags a float", lambda ffi: ffi.dlopen(None, 1.5)),
    ("flags None", lambda ffi: ffi.dlopen(None, None)),
    ("flags a str by keyword", lambda ffi: ffi.dlopen(None, flags="x")),
    ("flags too large", lambda ffi: ffi.dlopen(None, 2**70)),
]

BAD_CALLBACK = [
    ("no arguments", lambda ffi: ffi.callback()),
    ("no cdecl", lambda ffi: ffi.callback(python_callable=identity)),
    ("too many positional", lambda ffi: ffi.callback(FN, identity, 0, None, 1)),
    ("unknown keyword", lambda ffi: ffi.callback(FN, identity, bogus=1)),
    ("unknown keyword only", lambda ffi: ffi.callback(FN, bogus=1)),
    ("cdecl twice", lambda ffi: ffi.callback(FN, identity, cdecl=FN)),
    ("python_callable twice", lambda ffi: ffi.callback(FN, identity, python_callable=identity)),
    ("cdecl a float", lambda ffi: ffi.callback(1.5, identity)),
    ("cdecl an int", lambda ffi: ffi.callback(3, identity)),
    ("cdecl not a function", lambda ffi: ffi.callback("int", identity)),
    ("cdecl a struct pointer", lambda ffi: ffi.callback("int *", identity)),
    ("cdecl unparsable", lambda ffi: ffi.callback("foo bar", identity)),
    ("callable an int", lambda ffi: ffi.callback(FN, 5)),
    ("error a str", lambda ffi: ffi.callback(FN, identity, error="x")),
    ("error a str by keyword", lambda ffi: ffi.callback(FN, identity, "x")),
    ("onerror an int", lambda ffi: ffi.callback(FN, identity, onerror=5)),
    ("decorator given two arguments", lambda ffi: ffi.callback(FN)(identity, 1)),
    ("decorator given no argument", lambda ffi: ffi.callback(FN)()),
    ("decorator given an int", lambda ffi: ffi.callback(FN)(5)),
    ("decorator unknown keyword", lambda ffi: ffi.callback(FN)(bogus=identity)),
]


def _raised(call, ffi):
    with pytest.raises(Exception) as info:
        call(ffi)
    return info.type


@pytest.mark.parametrize("call", [c for _, c in BAD_DLOPEN + BAD_CALLBACK],
                         ids=[f"dlopen: {i}" for i, _ in BAD_DLOPEN] +
                             [f"callback: {i}" for i, _ in BAD_CALLBACK])
def test_bad_arguments_raise_as_cffi(call, cffi_oracle):
    ours = _raised(call, cffix.FFI())
    theirs = _raised(call, cffi_oracle.FFI())
    assert issubclass(ours, (TypeError, OverflowError, cffix.CDefError))
    # cffix.CDefError and cffi.CDefError are distinct classes of the same name
    assert ours.__name__ == theirs.__name__


@pytest.mark.parametrize("call", [
    lambda ffi: ffi.callback(3),                  # not a type
    lambda ffi: ffi.callback("int"),              # not a function type
    lambda ffi: ffi.callback(FN, error="x"),      # an error value the result cannot take
    lambda ffi: ffi.callback(FN, onerror=5),      # onerror not callable
], ids=["cdecl an int", "cdecl not a function", "error a str", "onerror an int"])
def test_decorator_form_checks_at_once(call, cffi_oracle):
    # cffi checks the decorator form's arguments only once it gets the function (a
    # TypeError then); cffix raises that TypeError at the ffi.callback() call itself.
    with pytest.raises(TypeError):
        call(cffix.FFI())
    decorator = call(cffi_oracle.FFI())
    with pytest.raises(TypeError):
        decorator(identity)


def test_decorator_takes_python_callable_by_keyword(ffi):
    # As cffi's decorator, callback_decorator_wrap(python_callable). (No cffi callback is
    # made here: libffi's closures map writable+executable pages, which
    # test_callback_memory.py checks this process never has.)
    f = ffi.callback(FN)(python_callable=lambda x: x + 1)
    assert f(41) == 42


def test_keyword_arguments_accepted(ffi):
    ffi.cdef("int abs(int);")
    lib = ffi.dlopen(name=None, flags=ffi.RTLD_NOW, release_gil=False)
    assert lib.abs(-3) == 3
    f = ffi.callback(cdecl=FN, python_callable=lambda x: x * 2, error=-1, onerror=None)
    assert f(21) == 42


# The same wording as ffi.new's (the first rows), from the one parser of csrc/util/args.h.
@pytest.mark.parametrize("call, message", [
    (lambda ffi: ffi.new(), "new() missing required argument 'cdecl'"),
    (lambda ffi: ffi.new("int *", 0, 1), "new() takes at most 2 arguments (3 given)"),
    (lambda ffi: ffi.new("int *", bogus=1), "new() got an unexpected keyword argument 'bogus'"),
    (lambda ffi: ffi.new("int *", cdecl="int *"), "new() got multiple values for argument 'cdecl'"),
    (lambda ffi: ffi.dlopen(), "dlopen() missing required argument 'name'"),
    (lambda ffi: ffi.dlopen(None, 0, False),
     "dlopen() takes at most 2 positional arguments (3 given)"),
    (lambda ffi: ffi.dlopen(None, bogus=1), "dlopen() got an unexpected keyword argument 'bogus'"),
    (lambda ffi: ffi.dlopen(None, name=None), "dlopen() got multiple values for argument 'name'"),
    (lambda ffi: ffi.callback(), "callback() missing required argument 'cdecl'"),
    (lambda ffi: ffi.callback(FN, identity, 0, None, 1),
     "callback() takes at most 4 arguments (5 given)"),
    (lambda ffi: ffi.callback(FN, bogus=1), "callback() got an unexpected keyword argument 'bogus'"),
    (lambda ffi: ffi.callback(FN, identity, cdecl=FN),
     "callback() got multiple values for argument 'cdecl'"),
    (lambda ffi: ffi.callback(FN)(), "callback decorator() missing required argument "
                                     "'python_callable'"),
    (lambda ffi: ffi.callback(FN)(identity, 1),
     "callback decorator() takes at most 1 argument (2 given)"),
], ids=["new: missing", "new: too many", "new: keyword", "new: twice",
        "dlopen: missing", "dlopen: too many", "dlopen: keyword", "dlopen: twice",
        "callback: missing", "callback: too many", "callback: keyword", "callback: twice",
        "decorator: missing", "decorator: too many"])
def test_count_and_keyword_messages(ffi, call, message):
    with pytest.raises(TypeError) as info:
        call(ffi)
    assert str(info.value) == message
