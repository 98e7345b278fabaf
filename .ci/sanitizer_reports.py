"""Read the report files of an ASan+UBSan test run (ASAN_OPTIONS/UBSAN_OPTIONS log_path)
and print the findings that are cffix's; exit 1 if there is any.

A finding is any AddressSanitizer or UndefinedBehaviorSanitizer error, and any leak
record (LeakSanitizer, at each process's exit) whose allocation stack passes through
cffix's extension module `_core`. CPython leaves objects behind at exit by design; those
records have no `_core` frame and are not findings. The run sets PYTHONMALLOC=malloc so
that Python objects live in the malloc heap that LeakSanitizer scans: memory owned by a
live Python object is then reachable, not a false leak.

usage: python3 .ci/sanitizer_reports.py REPORT_DIR
"""

import pathlib
import re
import sys

_ERROR = re.compile(r"ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer)|runtime error:")
_FRAME = re.compile(r"^\s*#\d+ 0x[0-9a-f]+ .*$", re.M)


def findings(text):
    """Yield the blocks of one report file that are cffix's findings."""
    match = _ERROR.search(text)
    if match:
        yield text[match.start():match.start() + 6000]
    for block in text.split("\n\n"):
        if "leak of" in block and any("_core." in f for f in _FRAME.findall(block)):
            yield block


def main(argv):
    report_dir = pathlib.Path(argv[1])
    count = 0
    leaks = 0
    for path in sorted(report_dir.glob("report*")):
        text = path.read_text(errors="replace")
        leaks += text.count("leak of")
        for block in findings(text):
            count += 1
            print("== %s\n%s\n" % (path.name, block))
    print("sanitizer report files: %d, leak records: %d, cffix findings: %d"
          % (len(list(report_dir.glob("report*"))), leaks, count))
    return 1 if count else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
