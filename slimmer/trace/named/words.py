"""Names a shell script gives data loaders: its words, and the values it assigns to the
variables loaders read (`TZ=Asia/Tokyo date`, `for zone in A B; do TZ=$zone date; done`).

Read from the script's text, not from the shell analysis: a value built at run time (`TZ=$1`,
`read zone; TZ=$zone`) means the names come from the script's input, unless the variable is
bound only by a `for` over literal words or by literal assignments, or read from a file the
script names (`while read z; do ...; done < /srv/zones`), whose words are then the names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_COMMENT = re.compile(r"(?:^|(?<=\s))#.*$", re.MULTILINE)
_WORD = re.compile(r"[A-Za-z0-9_+.:@/,-]+")
_VALUE = r"(\"[^\"]*\"|'[^']*'|[^\s;&|)]*)"
_ASSIGNMENT = r"(?:^|(?<=[\s;&|(`]))(?:(?:export|local|readonly|declare(?:\s+-\w+)*)\s+)?{name}={value}"
_REFERENCE = re.compile(r"\$\{?([A-Za-z_]\w*|[0-9@*#?])")
_FOR = r"\bfor\s+{name}\s+in\s+([^;\n]*?)\s*(?:;|\n)\s*do\b"
_READ = r"\bread\b(?:\s+-\w+(?:\s+\S+)?)*[^;&|\n]*\b{name}\b"
_DONE_FROM = re.compile(r"\bdone\s*<\s*(\"[^\"]+\"|'[^']+'|[^\s;&|)]+)")


@dataclass
class Assigned:
    """What a script assigns to one variable: literal names, and how the rest is built."""

    names: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # files whose words are the values
    dynamic: str | None = None  # why some value comes from the script's input (None: none does)


@dataclass
class ScriptWords:
    """The words of one script, and its assignments to the variables asked about."""

    words: list[str]
    assigned: dict[str, Assigned]


def script_words(text: str, variables: tuple[str, ...], env: Mapping[str, str]) -> ScriptWords:
    """Words of `text` (comments removed) and what it assigns to each of `variables` (a
    variable of the image's Env referred to by a value counts with its Env value)."""
    code = _COMMENT.sub("", text)
    assigned: dict[str, Assigned] = {}
    for variable in variables:
        pattern = re.compile(_ASSIGNMENT.format(name=re.escape(variable), value=_VALUE))
        for match in pattern.finditer(code):
            result = assigned.setdefault(variable, Assigned())
            _value(code, match.group(1).strip("\"'"), variable, result, set(), env)
    return ScriptWords(_WORD.findall(code), assigned)


def _value(code: str, value: str, variable: str, result: Assigned, seen: set[str], env: Mapping[str, str]) -> None:
    """Add what `value` (assigned to `variable`) may be: literal words, or where it comes from."""
    references = _REFERENCE.findall(value)
    if "`" in value or "$(" in value:
        result.dynamic = result.dynamic or f"{variable} is set from a command's output"
        return
    if not references:
        if value:
            result.names.append(value)
        return
    for name in references:
        if name in seen:
            continue
        seen.add(name)
        if not name[0].isalpha() and name[0] != "_":
            result.dynamic = result.dynamic or f"{variable} is set from the script's arguments (${name})"
            continue
        bound = name in env
        if bound:
            result.names.append(env[name])
        for loop in re.finditer(_FOR.format(name=re.escape(name)), code):
            bound = True
            words = loop.group(1).split()
            if any(c in w for w in words for c in "$`*?["):
                result.dynamic = result.dynamic or f"{variable} takes ${name} of a loop over words built at run time"
            else:
                result.names.extend(w.strip("\"'") for w in words)
        for read in re.finditer(_READ.format(name=re.escape(name)), code):
            bound = True
            source = _DONE_FROM.search(code, read.end())
            if source is None:
                result.dynamic = result.dynamic or f"{variable} takes ${name}, read from the script's input"
            else:
                result.files.append(source.group(1).strip("\"'"))
        inner = re.compile(_ASSIGNMENT.format(name=re.escape(name), value=_VALUE))
        for match in inner.finditer(code):
            bound = True
            _value(code, match.group(1).strip("\"'"), variable, result, seen, env)
        if not bound:
            result.dynamic = result.dynamic or f"{variable} takes ${name}, which the script does not set"
