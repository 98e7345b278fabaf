"""test_realize_c_type.py takes the names of cffi's primitive types from here (only the
keys of PRIMITIVE_TO_INDEX are used): the C primitive type names that ffi.typeof accepts
and spells back unchanged, written down by us; the values are mere placeholders."""

_NAMES = [
    "char", "short", "int", "long", "long long",
    "signed char", "unsigned char", "unsigned short", "unsigned int", "unsigned long",
    "unsigned long long", "float", "double", "long double",
    "float _Complex", "double _Complex", "_Bool", "wchar_t", "char16_t", "char32_t",
    "int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t",
    "uint64_t", "intptr_t", "uintptr_t", "ptrdiff_t", "size_t", "ssize_t",
    "int_least8_t", "uint_least8_t", "int_least16_t", "uint_least16_t",
    "int_least32_t", "uint_least32_t", "int_least64_t", "uint_least64_t",
    "int_fast8_t", "uint_fast8_t", "int_fast16_t", "uint_fast16_t",
    "int_fast32_t", "uint_fast32_t", "int_fast64_t", "uint_fast64_t",
    "intmax_t", "uintmax_t",
]

PRIMITIVE_TO_INDEX = {name: index for index, name in enumerate(_NAMES, start=1)}
