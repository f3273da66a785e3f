"""The statements of Perl code that load code or run programs, found by a token scanner.

Recognised: `use`/`no MODULE`, `use parent`/`use base` (their class lists, nothing with
`-norequire`), `use if COND, MODULE`, `use lib DIRS`, `require MODULE`, `require "FILE"`,
`do "FILE"`, string `eval`s (their contents, as optional loads), XS loading (`XSLoader::load`,
`bootstrap`), `package` names, and `system`/`exec`/backticks/`qx`/piped `open` with literal
commands. Loads inside `eval { }` or a string eval are optional: the code survives their
failure. A module or command whose name is built at run time (`require $class`) is reported as
dynamic, never guessed.

Where this guesses: a statement is recognised by its keyword, so text like "use Foo;" inside
an ordinary string is taken for code, and `eval { }` blocks are matched by counting braces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from slimmer.trace.perl.conditions import Guard, Guards
from slimmer.trace.perl.source import PerlSource

_NAME = r"[A-Za-z_]\w*(?:::\w+)*"
_NOT_AFTER = r"(?<![\w$@%&:>'\"-])"  # a keyword, not a method, a variable or a hash key
_USE = re.compile(_NOT_AFTER + r"(use|no)\s+(" + _NAME + r")(?!\s*=>)([^;]*)")
_REQUIRE = re.compile(_NOT_AFTER + r"require\s*\(?\s*(?:(" + _NAME + r")\s*(?=[;)}]|$|\s+(?:if|unless|or|and)\b)"
                      r"|(\"[^\"\n]*\"|'[^'\n]*')|(\$\w[^;)]*))")
_DO_FILE = re.compile(_NOT_AFTER + r"do\s*\(?\s*(?:(\"[^\"\n]*\"|'[^'\n]*')|(\$\w[^;)]*))")
_STRING_EVAL = re.compile(_NOT_AFTER + r"eval\s*\(?\s*(?:\"((?:[^\"\\]|\\.)*)\"|'((?:[^'\\]|\\.)*)'"
                          r"|qq?\s*\{([^{}]*)\}|qq?\s*\(([^()]*)\))", re.S)
_EVAL_BLOCK = re.compile(_NOT_AFTER + r"eval\s*\{")
_PACKAGE = re.compile(_NOT_AFTER + r"package\s+(" + _NAME + r")")
_XS_LOAD = re.compile(r"(?<!sub )(?:XSLoader::load|DynaLoader::bootstrap|(?<![\w:>$])bootstrap)\b\s*\(?\s*"
                      r"(?:(['\"])(" + _NAME + r")\1|(" + _NAME + r")(?![\w(]))?")
_LOADERS = ("XSLoader", "DynaLoader")  # their own code mentions loading without loading anything
_XS_METHOD = re.compile(r"(" + _NAME + r")\s*->\s*bootstrap\b")
_RUN = re.compile(_NOT_AFTER + r"(system|exec)\b\s*\(?\s*([^;]*)")
_BACKTICKS = re.compile(r"`([^`\n]*)`|" + _NOT_AFTER + r"qx\s*(?:\{([^{}]*)\}|\(([^()]*)\)|([^\w\s])(.*?)\4)")
_PIPE_OPEN = re.compile(_NOT_AFTER + r"open\s*\(?\s*[^,;]+,\s*(?:(['\"])(-\||\|-)\1\s*,\s*([^;]*)"
                        r"|(\"[^\"\n]*\"|'[^'\n]*'))")
_QW = re.compile(r"qw\s*(?:\(([^)]*)\)|\[([^\]]*)\]|\{([^}]*)\}|<([^>]*)>|([^\w\s])(.*?)\5)", re.S)
_QUOTED = re.compile(r"\"([^\"\n]*)\"|'([^'\n]*)'")
_VERSION_NAME = re.compile(r"v\d+")
_EXPRESSION_WORDS = re.compile(r"(?:\b(?:or|and|not|unless|if|return|else|do)|\|\||&&)\s*$")
_SHELL_METACHARACTERS = set("$&*(){}[]'\";\\|?<>~`\n")
FINDBIN_VARIABLES = re.compile(r"\$(?:\{)?(?:FindBin::)?(?:Real)?Bin\b(?:\})?")


@dataclass(frozen=True)
class Load:
    """A module or file the code loads: `Foo::Bar`, or a file name searched in @INC."""

    name: str
    line: int
    how: str  # "use", "require", "use parent", "do", ...
    optional: bool = False
    is_file: bool = False
    glob: bool = False  # `name` is a pattern: every file it matches is a candidate
    guard: Guard | None = None  # the condition a `require` or `do` runs under, when known


@dataclass(frozen=True)
class Run:
    """A program the code runs: an argv, or a shell command line."""

    line: int
    how: str
    argv: tuple[str, ...] = ()
    shell: str | None = None


@dataclass(frozen=True)
class Dynamic:
    """A load or a command whose name the code builds at run time."""

    line: int
    text: str
    runs: bool = False  # a command (that may go through the shell), not a module


@dataclass
class Statements:
    loads: list[Load] = field(default_factory=list)
    lib_dirs: list[tuple[str, int]] = field(default_factory=list)  # `use lib`, with $FindBin::Bin as given
    packages: list[str] = field(default_factory=list)
    xs_modules: list[tuple[str, int]] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    dynamic: list[Dynamic] = field(default_factory=list)


def scan(source: PerlSource, optional: bool = False, first_line: int = 1) -> Statements:
    """Every load and run in `source`; `optional` for code inside a string eval."""
    found = Statements()
    code = source.code
    evals = _eval_strings(code)
    for start, _end, inner in evals:
        nested = scan(PerlSource.parse(inner), True, first_line + source.line_of(start) - 1)
        _merge(found, nested)
    code = _blank(code, [(start, end) for start, end, _ in evals])
    blocks = _eval_blocks(code)
    guards = Guards(code)

    def line(offset: int) -> int:
        return first_line + source.line_of(offset) - 1

    def in_eval(offset: int) -> bool:
        return optional or any(start <= offset < end for start, end in blocks)

    for m in _USE.finditer(code):
        keyword, name, args = m.groups()
        if _VERSION_NAME.fullmatch(name) or not _starts_statement(code, m.start()):
            continue
        _use(found, keyword, name, args, line(m.start()), in_eval(m.start()))
    for m in _REQUIRE.finditer(code):
        module, quoted, variable = m.groups()
        if not _starts_statement(code, m.start(), expression=True):
            continue
        guard = guards.at(m.start(), m.end())
        if module:
            found.loads.append(Load(module, line(m.start()), "require", in_eval(m.start()), guard=guard))
        elif quoted and _literal(quoted) is not None:
            found.loads.append(Load(_literal(quoted) or "", line(m.start()), "require", in_eval(m.start()), True,
                                    guard=guard))
        elif quoted and _candidates(quoted):
            found.loads.append(Load(_candidates(quoted) or "", line(m.start()), "require", True, True, glob=True))
        else:
            found.dynamic.append(Dynamic(line(m.start()), m.group(0).strip()))
    for m in _DO_FILE.finditer(code):
        quoted, variable = m.groups()
        if not _starts_statement(code, m.start(), expression=True):
            continue
        if quoted and _literal(quoted) is not None:
            found.loads.append(Load(_literal(quoted) or "", line(m.start()), "do", True, True,
                                    guard=guards.at(m.start(), m.end())))
        elif variable:
            found.dynamic.append(Dynamic(line(m.start()), m.group(0).strip()))
    packages = [(m.start(), m.group(1)) for m in _PACKAGE.finditer(code) if _starts_statement(code, m.start())]
    found.packages += [name for _, name in packages]
    for m in _XS_LOAD.finditer(code):
        name = m.group(2) or m.group(3)
        if name in (None, "__PACKAGE__"):
            name = _package_at(packages, m.start())
        if name and name not in _LOADERS:
            found.xs_modules.append((name, line(m.start())))
    for m in _XS_METHOD.finditer(code):
        name = _package_at(packages, m.start()) if m.group(1) == "__PACKAGE__" else m.group(1)
        if name:
            found.xs_modules.append((name, line(m.start())))
    _runs(found, code, line)
    return found


def _use(found: Statements, keyword: str, name: str, args: str, line: int, optional: bool) -> None:
    found.loads.append(Load(name, line, keyword, optional))
    if name in ("parent", "base"):
        words = _words(args)
        if "-norequire" not in words:
            found.loads += [Load(w, line, f"use {name}", optional) for w in words if not w.startswith("-")]
    elif name == "if":
        parts = _top_level_split(args)
        if len(parts) >= 2:
            module = _words(parts[1])
            if module:
                found.loads.append(Load(module[0], line, "use if", True))
    elif name == "lib":
        for item in _top_level_split(args):
            text = item.strip()
            value = _literal(text, allow=FINDBIN_VARIABLES)
            if value is not None:
                found.lib_dirs.append((value, line))
            elif text.startswith("qw"):
                found.lib_dirs += [(w, line) for w in _words(text)]
            elif text:
                found.dynamic.append(Dynamic(line, f"use lib {text}"))


def _runs(found: Statements, code: str, line) -> None:
    for m in _RUN.finditer(code):
        if not _starts_statement(code, m.start(), expression=True):
            continue
        items = _top_level_split(m.group(2).split(" or ")[0].split(" and ")[0].rstrip(") "))
        _command(found, line(m.start()), m.group(1), items)
    for m in _PIPE_OPEN.finditer(code):
        if m.group(2):
            _command(found, line(m.start()), "open pipe", _top_level_split(m.group(3).rstrip(") ")))
        else:
            text = _literal(m.group(4) or "")
            quoted = m.group(4) or ""
            if quoted[1:-1].strip() in ("-|", "|-") or not (quoted[1:-1].rstrip().endswith("|")
                                                             or quoted[1:-1].lstrip().startswith("|")):
                continue
            if text is None:
                found.dynamic.append(Dynamic(line(m.start()), f"open pipe {quoted}", runs=True))
            else:
                found.runs.append(Run(line(m.start()), "open pipe", shell=text.strip().strip("|").strip()))
    for m in _BACKTICKS.finditer(code):
        text = next(g for g in (m.group(1), m.group(2), m.group(3), m.group(5)) if g is not None)
        found.runs.append(Run(line(m.start()), "backticks", shell=text))


def _command(found: Statements, line: int, how: str, items: list[str]) -> None:
    """`system LIST`: one string goes through /bin/sh when it has shell metacharacters."""
    values = [_literal(item.strip()) for item in items if item.strip()]
    if not values or values[0] is None:
        if items and items[0].strip():
            found.dynamic.append(Dynamic(line, f"{how} {', '.join(i.strip() for i in items)}", runs=True))
        return
    if len(values) == 1:
        text = values[0]
        if set(text) & _SHELL_METACHARACTERS:
            found.runs.append(Run(line, how, shell=text))
        else:
            found.runs.append(Run(line, how, argv=tuple(text.split())))
        return
    literal_args = [v for v in values[1:] if v is not None]
    found.runs.append(Run(line, how, argv=(values[0], *literal_args)))


def _candidates(quoted: str) -> str | None:
    """`require "File/Spec/$module.pm"`: a file chosen at run time among those of a directory,
    as a glob (`File/Spec/*.pm`); None unless a literal directory comes before the variable part."""
    value = quoted[1:-1] if quoted[:1] == '"' else None
    if value is None:
        return None
    pattern = re.sub(r"\$\{?\w+(?:::\w+)*\}?|@\{?\w+\}?", "*", value)
    head = pattern.split("*")[0]
    return pattern if "/" in head and not any(c in pattern for c in "$@") else None


def _starts_statement(code: str, offset: int, expression: bool = False) -> bool:
    """A keyword begins a statement (after `;`, `{`, `}` or at the start); with `expression`, also
    an operand (`eval { require X }`, `$ok = require X`, `... or require X`)."""
    i = offset - 1
    while i >= 0 and code[i].isspace():
        i -= 1
    if i < 0 or code[i] in ";{}":
        return True
    return expression and (code[i] in "(,=!?:" or bool(_EXPRESSION_WORDS.search(code[max(0, i - 11):i + 1])))


def _literal(text: str, allow: re.Pattern[str] | None = None) -> str | None:
    """The value of a quoted string without interpolation (None when it interpolates or is not one).
    `allow` names variables kept as they are (for `use lib "$FindBin::Bin/../lib"`)."""
    m = _QUOTED.fullmatch(text.strip())
    if not m:
        return None
    if m.group(2) is not None:
        return m.group(2)
    value = m.group(1)
    rest = allow.sub("", value) if allow else value
    return None if re.search(r"[$@]\w|[$@]\{", rest) else value


def _words(text: str) -> list[str]:
    """Literal words of a list: `qw(A B)`, `'A', "B"`, barewords."""
    words: list[str] = []
    for m in _QW.finditer(text):
        body = next(g for g in (m.group(1), m.group(2), m.group(3), m.group(4), m.group(6)) if g is not None)
        words += body.split()
    rest = _QW.sub(" ", text)
    for item in _top_level_split(rest):
        item = item.strip().rstrip("=>").strip()
        value = _literal(item)
        if value is not None:
            words.append(value)
        elif re.fullmatch(r"-?" + _NAME, item):
            words.append(item)
    return words


def _top_level_split(text: str) -> list[str]:
    """Split at commas and `=>` outside brackets and quotes."""
    parts: list[str] = []
    depth = 0
    quote = ""
    current: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                current.append(text[i:i + 2])
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth = max(0, depth - 1)  # `$]` is a variable, not a bracket
        elif depth == 0 and (c == "," or text.startswith("=>", i)):
            parts.append("".join(current))
            current = []
            i += 2 if c == "=" else 1
            continue
        current.append(c)
        i += 1
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def _eval_strings(code: str) -> list[tuple[int, int, str]]:
    found = []
    for m in _STRING_EVAL.finditer(code):
        inner = next(g for g in m.groups() if g is not None)
        found.append((m.start(), m.end(), inner.replace('\\"', '"').replace("\\'", "'")))
    return found


def _eval_blocks(code: str) -> list[tuple[int, int]]:
    """Spans of `eval { ... }`, braces matched by counting."""
    spans = []
    for m in _EVAL_BLOCK.finditer(code):
        depth = 0
        for i in range(m.end() - 1, len(code)):
            if code[i] == "{":
                depth += 1
            elif code[i] == "}":
                depth -= 1
                if depth == 0:
                    spans.append((m.start(), i + 1))
                    break
    return spans


def _blank(code: str, spans: list[tuple[int, int]]) -> str:
    """Replace spans by blanks of the same length, keeping newlines (line numbers stay right)."""
    chars = list(code)
    for start, end in spans:
        for i in range(start, end):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars)


def _package_at(packages: list[tuple[int, str]], offset: int) -> str | None:
    current = None
    for start, name in packages:
        if start > offset:
            break
        current = name
    return current


def _merge(into: Statements, other: Statements) -> None:
    into.loads += other.loads
    into.lib_dirs += other.lib_dirs
    into.xs_modules += other.xs_modules
    into.runs += other.runs
    into.dynamic += other.dynamic

