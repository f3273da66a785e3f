"""Perl source as the statement scanner sees it: code only, with its line numbers.

Perl cannot be parsed without running it (its grammar depends on the code's own prototypes),
so the scanner does not parse: it blanks out what is not code, then looks for the few
statements that load code. Blanked: POD (`=head1` ... `=cut`), here-document bodies, comments
(a `#` at the start of a word outside quotes), and everything after `__END__` / `__DATA__`.
Blanking keeps every newline, so an offset in the result still gives its line number.

Where this guesses: a `#` inside a regex or a `q{}` string is taken for a comment when a blank
precedes it, and here-document bodies are recognised by their `<<"TAG"`, `<<'TAG'`, `<<~TAG`
and `<<TAG` openers (a left shift of a bareword constant looks the same).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

_POD_START = re.compile(r"^=[a-zA-Z]")
_POD_END = re.compile(r"^=cut\b")
_END_OF_CODE = re.compile(r"^__(?:END|DATA)__\b")
_HEREDOC = re.compile(r"""<<(~?)(?:"([^"\n]*)"|'([^'\n]*)'|([A-Za-z_]\w*))""")


@dataclass
class PerlSource:
    """Code of one Perl file or `-e` string, non-code blanked, with a line index."""

    code: str
    _line_starts: list[int] = field(default_factory=list, repr=False)

    @classmethod
    def parse(cls, text: str) -> PerlSource:
        code = _blank_non_code(text)
        starts = [0] + [i + 1 for i, c in enumerate(code) if c == "\n"]
        return cls(code, starts)

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self._line_starts, offset)


def _blank_non_code(text: str) -> str:
    out: list[str] = []
    in_pod = False
    heredocs: list[tuple[str, bool]] = []  # terminators still to come, and whether indented (<<~)
    for line in text.split("\n"):
        if heredocs:
            tag, indented = heredocs[0]
            if (line.strip() if indented else line) == tag:
                heredocs.pop(0)
            out.append("")
            continue
        if in_pod:
            in_pod = not _POD_END.match(line)
            out.append("")
            continue
        if _POD_START.match(line):
            in_pod = not _POD_END.match(line)
            out.append("")
            continue
        if _END_OF_CODE.match(line):
            break
        code = _strip_comment(line)
        for m in _HEREDOC.finditer(code):
            tag = m.group(2) if m.group(2) is not None else m.group(3) if m.group(3) is not None else m.group(4)
            heredocs.append((tag, bool(m.group(1))))
        out.append(code)
    return "\n".join(out)


def _strip_comment(line: str) -> str:
    """The line up to a `#` that starts a comment: outside quotes, at the start or after a blank
    (so `$#array`, `s#a#b#` and `"#"` stay code)."""
    quote = ""
    escaped = False
    for i, c in enumerate(line):
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif quote:
            if c == quote:
                quote = ""
        elif c in "\"'`" and (i == 0 or line[i - 1] != "$"):
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t;{}(,"):
            return line[:i]
    return line
