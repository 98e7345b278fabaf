"""`import cffi` in the child run of cffi's tests: cffix's public names (cffix.compat)."""

from cffix.compat import cffi_namespace

globals().update(cffi_namespace())
del cffi_namespace

_SOURCE = "_cffix_source"  # the key of set_source()'s arguments in ffi._cffix_state


class FFI(FFI):  # noqa: F821 (cffix's, from the namespace above)
    """cffix's FFI, with the attribute test_verify1.py's verify() helper deletes to call
    set_source() again on the same ffi (cffi keeps set_source()'s arguments in it)."""

    @property
    def _assigned_source(self):
        try:
            return self._cffix_state[_SOURCE]
        except KeyError:
            raise AttributeError("_assigned_source") from None

    @_assigned_source.deleter
    def _assigned_source(self):
        if self._cffix_state.pop(_SOURCE, None) is None:
            raise AttributeError("_assigned_source")


def _assign_source(ffi, module_name, source, source_extension, kwds):
    """set_source() for the helpers of cffi's tests (recompiler.py): they give the module
    name and source again on an ffi that may already have them, and cffi lets them."""
    ffi._cffix_state.pop(_SOURCE, None)
    ffi.set_source(module_name, source, source_extension, **kwds)
