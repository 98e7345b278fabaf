"""cffi.model is cffi's internal type model. test_verify1.py reads one table of it at
module level, PrimitiveType.ALL_PRIMITIVE_TYPES (primitive type name -> 'c' character,
'i' integer, 'f' float, 'j' complex), to loop over the primitive types: written down by
us from the names of cffi_opcode.py. The tests of the model itself are excluded."""

from .cffi_opcode import _NAMES

_CHARACTERS = ("char", "wchar_t", "char16_t", "char32_t")
_FLOATS = ("float", "double", "long double")
_COMPLEX = ("float _Complex", "double _Complex")


def _category(name):
    if name in _CHARACTERS:
        return "c"
    if name in _FLOATS:
        return "f"
    if name in _COMPLEX:
        return "j"
    return "i"


class PrimitiveType:
    ALL_PRIMITIVE_TYPES = {name: _category(name) for name in _NAMES}

    def __init__(self, *args, **kwds):
        raise NotImplementedError("cffi.model.PrimitiveType is cffi-internal")
