"""cffi's ctypes backend is not provided: test_function.py and test_ownlib.py import the
name only to compare `self.Backend is CTypesBackend`, which is then always false."""


class CTypesBackend:
    def __init__(self) -> None:
        raise NotImplementedError("cffix has no ctypes backend")
