"""Real headers in: ffi.cdef_header() and ffi.cdef(src, preprocess=True).

One run of the system preprocessor (``cc -E -dD``) gives the declarations, the macros and
the line markers; cffix's parser declares what the named headers (and their library's
own header tree) declare, skipping and reporting what it cannot represent, declaration
by declaration. See README, "Headers".

The report interface (HeaderReport) is shared with the macro converter
(``_macros.convert_macros(ffi, macros, report)``), which calls ``report.converted(name,
value)`` for each macro it turned into a constant and ``report.skipped_macro(name,
reason)`` for the others.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class HeaderReport:
    """What one cdef_header() call declared, and what it left out and why.

        report = ffi.cdef_header("zlib.h")
        report.kept[:3]        # [('function', 'zlibVersion'), ...]
        report.skipped         # [(name, reason, 'file:line'), ...]
        print(report.summary())

    Attributes (lists keep the header's order):
      headers          the headers as named
      files            the header files the preprocessor read (line markers), in order
      own_files        those whose declarations are exported ("own")
      kept             (kind, name): own declarations declared (kind: function,
                       variable, constant, typedef, struct, union, enum)
      skipped          (name, reason, where): own declarations cffix cannot represent
      skipped_other    (name, reason, where): the same for declarations of other headers
                       (only what own declarations use of them matters)
      renamed          {name: symbol}: functions and globals bound through an __asm__ label
      inline           {name: header}: inline functions (no symbol in ABI mode)
      macros           {name: value}: macros converted into constants
      skipped_macros   (name, reason): macros left out
      from_cache       True when the preprocessor output came from the cache
    """

    def __init__(self, headers: "tuple[str, ...]" = ()) -> None:
        self.headers = tuple(headers)
        self.files: "list[str]" = []
        self.own_files: "list[str]" = []
        self.kept: "list[tuple[str, str]]" = []
        self.skipped: "list[tuple[str, str, str]]" = []
        self.skipped_other: "list[tuple[str, str, str]]" = []
        self.renamed: "dict[str, str]" = {}
        self.inline: "dict[str, str]" = {}
        self.macros: "dict[str, Any]" = {}
        self.skipped_macros: "list[tuple[str, str]]" = []
        self.from_cache = False

    # The macro converter's interface (cffix._macros).
    def converted(self, name: str, value: "Any") -> None:
        """A macro became the constant ``name`` with ``value``."""
        self.macros[name] = value

    def skipped_macro(self, name: str, reason: str) -> None:
        """A macro was not converted, for ``reason``."""
        self.skipped_macros.append((name, reason))

    def summary(self) -> str:
        """A few readable lines: counts, then each skipped own declaration."""
        kinds: "dict[str, int]" = {}
        for kind, _ in self.kept:
            kinds[kind] = kinds.get(kind, 0) + 1
        counts = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in sorted(kinds.items()))
        lines = [f"cdef_header({', '.join(map(repr, self.headers))}): kept {len(self.kept)} "
                 f"({counts or 'nothing'}); skipped {len(self.skipped)}; "
                 f"{len(self.renamed)} renamed by __asm__; {len(self.inline)} inline; "
                 f"macros: {len(self.macros)} converted, {len(self.skipped_macros)} skipped"
                 + (" (preprocessor output from the cache)" if self.from_cache else "")]
        for name, reason, where in self.skipped:
            lines.append(f"  skipped {name} ({where}): {reason}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<HeaderReport {', '.join(self.headers)}: kept={len(self.kept)} "
                f"skipped={len(self.skipped)} renamed={len(self.renamed)} "
                f"inline={len(self.inline)} macros={len(self.macros)} "
                f"skipped_macros={len(self.skipped_macros)}>")

    def __str__(self) -> str:
        return self.summary()
