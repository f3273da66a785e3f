"""Modules perl itself loads when code uses a feature, with no `use` in sight.

Taken from the interpreter's own calls to `load_module`/`require_tie_mod` (gv.c, op.c,
toke.c, perlio.c, pp_hot.c of perl 5.36), each checked against `%INC` and strace of the real
perl (tests/test_perl.py). Case mapping and `\\p{...}` on wide characters load nothing in
perl 5.32 and later: their tables are compiled in.

Where this guesses: the trigger is a pattern on the code, so a method call on anything that
may be a file handle (`$fh->autoflush`) keeps IO::File (a dozen small files) even when the
object is not a handle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from slimmer.trace.perl.source import PerlSource

_HANDLE_METHODS = ("autoflush|binmode|blocking|close|eof|fileno|flush|getc|getline|getlines|opened|print|printf"
                   "|printflush|say|sync|truncate|ungetc|input_line_number|fdopen|untaint|error|clearerr")


@dataclass(frozen=True)
class ImplicitLoad:
    trigger: re.Pattern[str]
    modules: tuple[str, ...]
    why: str  # what in the code makes perl load it


IMPLICIT_LOADS: tuple[ImplicitLoad, ...] = (
    ImplicitLoad(re.compile(r"\\N\{(?!U\+)"), ("_charnames",), "\\N{NAME} in a string"),
    ImplicitLoad(re.compile(r"%!|\$!\{"), ("Errno",), "the %! hash"),
    ImplicitLoad(re.compile(r"(?<![\w$@%&>:])glob\s*\(|<[\w./~-]*[*?][\w./*?~-]*>"), ("File::Glob",), "glob()"),
    ImplicitLoad(re.compile(r":encoding\("), ("PerlIO", "PerlIO::encoding"), "an :encoding() layer"),
    ImplicitLoad(re.compile(r":via\("), ("PerlIO", "PerlIO::via"), "a :via() layer"),
    ImplicitLoad(re.compile(r"(?<![\w$@%&>:])open\s*\(?[^;]*,\s*\\\s*[$@]"), ("PerlIO", "PerlIO::scalar"),
                 "open on a scalar reference"),
    ImplicitLoad(re.compile(r"(?:\b(?:STDOUT|STDERR|STDIN)|\$\w+|\})\s*->\s*(?:" + _HANDLE_METHODS + r")\b"),
                 ("IO::File",), "a method called on a file handle"),
)


def implicit_loads(source: PerlSource) -> list[tuple[str, int, str]]:
    """(module, line, why) for each feature of the table that the code uses (first use)."""
    found = []
    for load in IMPLICIT_LOADS:
        m = load.trigger.search(source.code)
        if m:
            found += [(module, source.line_of(m.start()), load.why) for module in load.modules]
    return found
