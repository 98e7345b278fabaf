"""The harness of the same-as-cffi tests itself (tests/cdata_oracle.py): a corpus large
and without repeats, deterministic on cffi, a normalization that masks addresses only.
"""

import cdata_oracle
from cdata_oracle import all_corpus, normalize, run_op

CDEF = cdata_oracle.CDEF  # declared by the `oracle_ffi` fixture


def test_corpus_is_large_and_unique():
    sources = [src for _, src in all_corpus()]
    assert len(sources) >= 300
    dupes = {s for s in sources if sources.count(s) > 1}
    assert not dupes


def test_corpus_is_deterministic_on_cffi(oracle_ffi):
    """The harness itself: every operation gives the same normalized result twice."""
    for _, src in all_corpus():
        first, second = run_op(oracle_ffi, src), run_op(oracle_ffi, src)
        assert first[:2] == second[:2], src


def test_normalize_masks_addresses_but_keeps_values(oracle_ffi):
    ffi = oracle_ffi
    a, b = ffi.new("int *"), ffi.new("int *")
    assert normalize(a, ffi) == normalize(b, ffi)
    assert normalize(ffi.cast("int", 1), ffi) != normalize(ffi.cast("int", 2), ffi)
    assert normalize(ffi.NULL, ffi) != normalize(ffi.cast("void *", 1), ffi)
    assert normalize(1, ffi) != normalize(1.0, ffi) != normalize(True, ffi)
    assert normalize(-0.0, ffi) != normalize(0.0, ffi)
    assert normalize(b"a", ffi) != normalize("a", ffi)
