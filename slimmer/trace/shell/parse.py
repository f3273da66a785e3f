"""Parsing shell text with tree-sitter-bash, and working around its gaps.

Parser choice (measured on this machine, 952 distinct sh/bash/dash scripts:
/usr/bin, /usr/sbin, /etc/init.d, /usr/lib, /usr/share (incl. debootstrap's
`functions` and suite scripts), /var/lib/dpkg/info maintainer scripts):

    parser               parsed without error   time for all
    tree-sitter-bash     914 / 952 (96%)        0.2 s
      + our rewrites     928 / 952 (97.5%)
    bashlex 0.18         554 / 952 (58%)        1.6 s

bashlex cannot parse `case` at all ("type = {pattern}" NotImplementedError)
nor arithmetic `$(( ))`, so it fails on ldd, zgrep, update-ca-certificates,
every /etc/init.d script and debootstrap/functions.  tree-sitter-bash fails on
`for x do` (POSIX loop without `in`, used by ldd and the gzip wrappers; we
rewrite it to `for x; do` and re-parse), on case patterns that mix bare and
quoted text (`less' '4*)`), on escaped parentheses in `[ ]`, on `$)` inside `$(...)`, on
`<<=cut` and on a few other corners; those we rewrite too (see _FIXUPS).  Of
the 24 files still failing, 13 are not shell at all (Python behind an sh
trampoline, zip files) and one has a real syntax error.  A file that still
fails is parsed in top-level chunks, so an error costs only its chunk; inside
it the analyser walks what tree-sitter recovered, warns with the lines, never
crashes.  tree-sitter-bash also misparses some valid input without flagging
it; the one that matters here (issue #347: a line after a multi-stage
pipeline that goes on with && is glued to the pipeline's last command) is
undone by split_glued_lines.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator

import tree_sitter_bash
from tree_sitter import Language, Node, Parser, Point, Query, QueryCursor, Range, Tree

_LANGUAGE = Language(tree_sitter_bash.language())
_FUNCTION_DEFINITIONS = Query(_LANGUAGE, "(function_definition) @definition")
_BARE_NEWLINE = re.compile(rb"(?<!\\)\n")
_BACKTICK = re.compile(rb"(?<!\\)`((?:[^`\\]|\\.)*)`", re.S)


# Rewrites for constructs tree-sitter-bash 0.25 rejects although the shells
# accept them.  Each is kept only if it makes the parse better, and none
# changes which commands run or the line numbers.
_CASE_PATTERN_LINE = re.compile(
    rb"^([ \t]*\(?)((?:[^()\s'|]|'[^'$`\\\"\n]*')+(?:[ \t]*\|[ \t]*(?:[^()\s'|]|'[^'$`\\\"\n]*')+)*"
    rb"[ \t]*(?:\)|\|[ \t]*\\$))",
    re.M,
)


def _case_pattern_quotes(m: re.Match[bytes]) -> bytes:
    # `less' '4*)` -> `less" "4*)`: same pattern, a form tree-sitter accepts
    return m.group(1) + re.sub(rb"'([^'$`\\\"\n]*)'", rb'"\1"', m.group(2))


_FIXUPS: tuple[tuple[re.Pattern[bytes], bytes | Callable[[re.Match[bytes]], bytes]], ...] = (
    # `for x do` (POSIX, no `in`: loops over "$@") -> `for x; do`
    (re.compile(rb"^(\s*for\s+[A-Za-z_][A-Za-z0-9_]*)([ \t]+do\b)", re.M), rb"\1;\2"),
    # `[ \( -f a -o -f b \) ]`: tree-sitter wants a plain test expression;
    # grouping does not change which commands run
    (re.compile(rb"(?<=[ \t])\\[()](?=[ \t\n])"), b"  "),
    # `$(grep -v ^packages$)`: a `$` that ends a word right before `)`
    (re.compile(rb"(?<=[^\s$\\])\$\)"), rb" )"),
    # case patterns mixing bare and single-quoted text
    (_CASE_PATTERN_LINE, _case_pattern_quotes),
    # `[ "$x" = - ]`: a lone `-` compared with, taken for a unary operator -> `'-'`
    (re.compile(rb"(?<=[ \t])(!?=|==)([ \t]+)-(?=[ \t]+\]\]?)"), rb"\1\2'-'"),
    # `: <<=cut` (POD in a script): a delimiter that is not a plain word
    (re.compile(rb"(?<!<)<<(-?)[ \t]*([^\s'\"\\<>;&|()$`]*[^\sA-Za-z0-9_'\"\\<>;&|()$`][^\s'\"\\<>;&|()$`]*)"),
     rb"<<\1'\2'"),
)
_CHUNK_LOOKAHEAD = 12
_CONTINUATION = re.compile(rb"(then|else|elif|fi|do|done|esac|in|\}|\)|;;|&&|\|\|)(\s|;|$)")
_HEREDOC_START = re.compile(rb"<<(-?)[ \t]*\\?(['\"]?)([^\s'\"<>;&|()]+)\2")


def parse(data: bytes) -> tuple[list[Node], bytes]:
    """Parse a script; on errors try the rewrites, then parse it in chunks.

    tree-sitter recovers badly from some errors (a case pattern like
    `less' '4*)` can turn the whole rest of the file into one ERROR node), so
    a file that still fails is cut into top-level chunks, each parsed alone:
    an error then costs the lines of its chunk, not the file.
    """
    parser = Parser(_LANGUAGE)
    tree = parser.parse(data)
    if not tree.root_node.has_error:
        return [tree.root_node], data
    errors = _count_errors(tree.root_node)
    # rewrites may each be needed for one error: keep those that do no harm,
    # and the result only if it is better in the end
    cur_tree, cur_data, cur_errors = tree, data, errors
    for pattern, repl in _FIXUPS:
        fixed = pattern.sub(repl, cur_data)
        if fixed == cur_data:
            continue
        tree2 = parser.parse(fixed)
        errors2 = _count_errors(tree2.root_node)
        if errors2 <= cur_errors:
            cur_tree, cur_data, cur_errors = tree2, fixed, errors2
            if not errors2:
                return [tree2.root_node], fixed
    if cur_errors < errors:
        tree, data, errors = cur_tree, cur_data, cur_errors
    chunks = _parse_chunks(parser, data)
    if sum(_count_errors(r) for r in chunks) < errors:
        return chunks, data
    return [tree.root_node], data


def _chunk_starts(data: bytes) -> list[tuple[int, int]]:
    """(line, byte offset) of lines that may start a top-level statement."""
    starts = []
    offset = 0
    heredoc: tuple[bytes, bool] | None = None
    for row, line in enumerate(data.split(b"\n")):
        if heredoc is not None:
            word, strip = heredoc
            if (line.lstrip(b"\t") if strip else line) == word:
                heredoc = None
        else:
            if line[:1] not in (b"", b" ", b"\t", b"#") and not _CONTINUATION.match(line):
                starts.append((row, offset))
            if b"<<" in line:
                for m in _HEREDOC_START.finditer(line):
                    if line[m.start() - 1:m.start()] != b"<":
                        heredoc = (m.group(3), m.group(1) == b"-")
        offset += len(line) + 1
    return starts


def _parse_chunks(parser: Parser, data: bytes) -> list[Node]:
    """Roots of top-level chunks; a chunk grows over the next starts until it parses."""
    starts = _chunk_starts(data)
    if not starts or starts[0][0] != 0:
        starts.insert(0, (0, 0))
    lines_total = data.count(b"\n") + 1
    starts.append((lines_total, len(data)))
    roots: list[Node] = []
    i = 0
    while i < len(starts) - 1:
        chosen = None
        first_tree = None
        for j in range(i + 1, min(len(starts), i + 1 + _CHUNK_LOOKAHEAD)):
            tree = _parse_range(parser, data, starts[i], starts[j])
            if first_tree is None:
                first_tree = tree
            if not tree.root_node.has_error:
                chosen = (j, tree)
                break
        if chosen is None:
            j, tree = i + 1, first_tree  # type: ignore[assignment]  # the loop ran at least once
        else:
            j, tree = chosen
        roots.append(tree.root_node)
        i = j
    parser.included_ranges = [Range(Point(0, 0), Point(0xFFFFFFFF, 0xFFFFFFFF), 0, 0xFFFFFFFF)]
    return roots


def _parse_range(parser: Parser, data: bytes, start: tuple[int, int], end: tuple[int, int]) -> Tree:
    """Parse the lines from `start` to `end`, each given as (line, byte offset)."""
    parser.included_ranges = [Range(Point(start[0], 0), Point(end[0], 0), start[1], end[1])]
    return parser.parse(data)


def _count_errors(root: Node) -> int:
    """How bad a parse is: lines covered by ERROR nodes, plus missing tokens."""
    count = 0
    stack = [root]
    while stack:
        n = stack.pop()
        if n.type == "ERROR" or n.is_missing:
            count += 1 + (n.end_point[0] - n.start_point[0])
        elif n.has_error:
            stack.extend(n.children)
    return count


def split_glued_lines(src: bytes, words: list[Node]) -> list[list[Node]]:
    """Undo a tree-sitter-bash misparse that joins two lines into one command.

    After a pipeline of two or more stages, a next line that goes on with
    `&&` or `||` has its first command parsed as arguments of the last
    stage (tree-sitter-bash issue #347; has_error stays false).  An
    unescaped newline between two words of one command can only come
    from that, so the command is cut there.
    """
    chunks = [[words[0]]]
    for prev, cur in itertools.pairwise(words):
        gap = src[prev.end_byte:cur.start_byte]
        if b"\n" in gap and _BARE_NEWLINE.search(gap):
            chunks.append([cur])
        else:
            chunks[-1].append(cur)
    return chunks


def heredoc_backquotes(src: bytes, body: Node) -> Iterator[tuple[str, int]]:
    """Commands in backquotes in a here-document, with the byte offset of each.

    tree-sitter-bash parses `$(...)` in a here-document but leaves
    backquoted commands as plain text, so those are found by a scan.
    """
    pos = body.start_byte
    gaps = []
    for c in body.named_children:
        if c.type == "heredoc_content":
            continue  # plain text: scanned with the gaps around it
        gaps.append((pos, c.start_byte))
        pos = c.end_byte
    gaps.append((pos, body.end_byte))
    for a, b in gaps:
        chunk = src[a:b]
        if b"`" not in chunk:
            continue
        for m in _BACKTICK.finditer(chunk):
            inner = m.group(1).decode("utf-8", "surrogateescape")
            yield re.sub(r"\\([\\`$])", r"\1", inner), a + m.start()


def function_definitions(root: Node) -> list[Node]:
    """Every function definition under `root`, in text order (a query: far faster than a walk)."""
    found = QueryCursor(_FUNCTION_DEFINITIONS).captures(root).get("definition", [])
    return sorted(found, key=lambda n: n.start_byte)
