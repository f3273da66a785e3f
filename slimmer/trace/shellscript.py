"""Static analysis of shell scripts: which programs a script runs and which files it sources.

The tracer needs to know, for an entrypoint that is a shell script, which
command names must resolve on the image's PATH and which files the script
reads as code.  This module answers from the script text alone (no I/O): it
reports names as written after expanding the variables it can know, and warns
about every command word it cannot resolve instead of dropping it.

Parsing, and why tree-sitter-bash (measured against bashlex): shell/parse.py.

Semantics in short: values come from `env`, plain assignments, `${X:=w}` and
`for` lists, tracked as sets of possible values through branches (an
over-approximation: keeping a file too many is cheaper than missing one).
Function bodies are analysed at their call sites (so `exec "$@"` inside
`_main "$@"` sees the script's arguments) and once more at the end for
functions never called.
"""

from __future__ import annotations

import fnmatch
from typing import Callable, Iterable, Mapping, Sequence

from tree_sitter import Node

from .shell.assignments import Assignments
from .shell.builtin_calls import BuiltinCalls
from .shell.builtins import SHELL_ALIASES
from .shell.commands import Commands
from .shell.control import ControlFlow
from .shell.fields import Alt, Field, join_text, join_value, product_or_dynamic
from .shell.functions import FunctionCalls
from .shell.parse import parse
from .shell.programs import Programs
from .shell.quoting import has_glob, unescape_unquoted
from .shell.redirects import Redirects
from .shell.results import CommandUse, Findings, ShellAnalysis, ShellWarning
from .shell.values import UNSET, VARIABLE_NAME, GlobStr, OSet, Partial, Positionals, State, Unset, Value, uniq
from .shell.walker import Walker
from .shell.words import Words

__all__ = ["CommandUse", "ShellWarning", "ShellAnalysis", "analyze_shell"]


def analyze_shell(
    text: str,
    env: Mapping[str, str] = {},
    shell: str = "bash",
    *,
    argv: Sequence[str] | None = None,
    functions: Iterable[str] = (),
) -> ShellAnalysis:
    """Analyse a shell script's text; never raises on bad input, warns instead.

    env: variables known from the image (ENV, and anything the caller knows).
    shell: "bash", "sh"/"dash" or "busybox"/"ash": selects the builtins.
    argv: the script's $0, $1, ... when known (entrypoint plus CMD), so that
    `exec "$@"` resolves; unknown when None.
    functions: names defined elsewhere (by files the script sources) that are
    therefore not external commands.
    """
    findings = Findings()
    canon = SHELL_ALIASES.get(shell)
    if canon is None:
        findings.warn(1, f"unknown shell {shell!r}; assuming bash builtins")
        canon = "bash"
    pos: tuple[Positionals, ...] = (None,) if argv is None else (tuple(argv),)
    state = State(dict(env), {}, pos)
    an = _Analyzer(findings, canon, state, set(functions), 0, 0)
    try:
        an.run_text(text)
        an.finish()
    except RecursionError:
        findings.warn(1, "script nested too deeply to analyse fully; results are partial")
    variables = []
    for name in sorted(an.state.vars):
        vals = an.state.vars[name]
        if len(vals) == 1:
            (v,) = vals
            if isinstance(v, str):
                variables.append((name, v))
    commands, warnings = findings.result()
    return ShellAnalysis(
        commands=commands,
        warnings=warnings,
        functions=tuple(an.funcs.order),
        variables=tuple(variables),
    )


# ---------------------------------------------------------------------------
# Internals

_MAX_DEPTH = 8  # nesting of eval / sh -c strings


def _shell_pattern_strip(value: str, pattern: str, op: str) -> str:
    """${v#p} ${v##p} ${v%p} ${v%%p} on a known value."""
    n = len(value)
    if op in ("#", "##"):
        rng = range(n + 1) if op == "#" else range(n, -1, -1)
        for i in rng:
            if fnmatch.fnmatchcase(value[:i], pattern):
                return value[i:]
    else:
        rng = range(n, -1, -1) if op == "%" else range(n + 1)
        for i in rng:
            if fnmatch.fnmatchcase(value[i:], pattern):
                return value[:i]
    return value


class _Analyzer(Words, Programs, Commands, BuiltinCalls, Assignments, FunctionCalls, Redirects, ControlFlow, Walker):
    """Walks one parsed text (the script, or an eval / sh -c string)."""

    def _statement_handlers(self) -> dict[str, Callable[[Node], None]]:
        """Which part of the analyser walks each kind of statement node."""
        return {
            "program": self._seq,
            "compound_statement": self._seq,
            "do_group": self._seq,
            "negated_command": self._seq,
            "variable_assignments": self._seq,
            "list": self._list,
            "pipeline": self._pipeline,
            "redirected_statement": self._redirected,
            "command": self._command,
            "variable_assignment": self._assign_stmt,
            "declaration_command": self._declaration,
            "unset_command": self._unset,
            "function_definition": self._function_def,
            "if_statement": self._if,
            "case_statement": self._case,
            "for_statement": self._for,
            "c_style_for_statement": self._c_style_for,
            "while_statement": self._while,
            "subshell": self._subshell,
            "comment": self._nothing,
            "ERROR": self._error,
            "file_redirect": self._redirect,
            "heredoc_redirect": self._redirect,
            "herestring_redirect": self._redirect,
        }

    # -- entry points ------------------------------------------------------

    def run_text(self, text: str) -> None:
        """Parse and walk `text`, after collecting its function definitions."""
        data = text.encode("utf-8", "surrogateescape")
        roots, data = parse(data)
        self.src = data
        for root in roots:
            if root.has_error and not self.quiet_parse_errors:
                self._report_errors(root)
            self._collect_functions(root)
        for root in roots:
            self._stmt(root)

    def _report_errors(self, root: Node) -> None:
        stack = [root]
        while stack:
            n = stack.pop()
            if n.is_missing:
                self.findings.warn(self.line(n), f"syntax error: missing {n.type!r}; parsed around it")
            elif n.type == "ERROR":
                a = self.line(n)
                b = n.end_point[0] + 1 + self.line_offset
                self.findings.warn(a, f"could not parse lines {a}-{b}; commands found there are a best guess")
            elif n.has_error:
                stack.extend(reversed(n.children))

    # -- statements --------------------------------------------------------

    # -- simple commands ---------------------------------------------------

    def _analyse_string(self, a: Field, shell: str, same_state: bool, what: str | None,
                pos: tuple | None = None) -> None:
        """Analyse shell code held in a string (eval, sh -c, trap, su -c)."""
        if self.depth >= _MAX_DEPTH:
            self.findings.warn(a.line, f"shell code nested too deeply to analyse: {a.src}")
            return
        text = a.text
        approximate = text is None
        if text is None:
            if what is not None:
                self.findings.warn(a.line, f"{what} of a string built at run time (analysed with its "
                                      f"known parts): {a.src}")
            # run-time parts become variables nobody sets, so the inner
            # analysis warns about them where they matter (by their text)
            text = "".join(t if t is not None else self.findings.placeholder(raw) for t, raw in a.pieces)
        if same_state:
            sub = _Analyzer(self.findings, shell, self.state, self.extra_functions, a.line - 1,
                            self.depth + 1, col_offset=a.col + 1, funcs=self.funcs)
            sub.quiet_parse_errors = approximate
            sub.run_text(text)
            self.state = sub.state
        else:
            st = State(self.state.env, dict(self.state.vars), pos or (None,))
            sub = _Analyzer(self.findings, shell, st, set(), a.line - 1, self.depth + 1, col_offset=a.col + 1)
            sub.quiet_parse_errors = approximate
            sub.run_text(text)
            sub.finish()

    # -- external programs that run other programs -------------------------

    # -- words -------------------------------------------------------------

    def _var_values(self, name: str) -> tuple:
        """Possible values of $name; positional parameters come from argv."""
        if name.isdigit():
            k = int(name)
            vals: OSet = OSet()
            for p in self.state.pos:
                if p is None:
                    vals.add(None)
                elif k < len(p):
                    vals.add(p[k])
                else:
                    vals.add(UNSET)
            return uniq(vals)
        if name in ("@", "*"):
            return uniq(None if p is None else tuple(p[1:]) for p in self.state.pos)
        if name == "#":
            return uniq(None if p is None else str(len(p) - 1) for p in self.state.pos)
        if name in ("?", "$", "!", "-", "_"):
            return (None,)
        if name == "BASH_SOURCE" and name not in self.state.vars:
            return self._var_values("0")
        return self.state.get(name)

    def _simple_expansion(self, node: Node, dq: bool) -> list[Alt]:
        raw = self.text(node)
        name = raw[1:]
        if not (VARIABLE_NAME.match(name) or name.isdigit() or name in ("@", "*", "#", "?", "$", "!", "-", "_")):
            return [[(raw, False, False, raw)]]
        return self._values_to_alts(self._var_values(name), dq, raw, all_elements=name == "@",
                                    star=name == "*", unset_dynamic=bool(VARIABLE_NAME.match(name)))

    def _values_to_alts(self, values: Iterable[Value], dq: bool, raw: str,
                        all_elements: bool = False, star: bool = False,
                        unset_dynamic: bool = False) -> list[Alt]:
        """Segments for a variable's possible values.

        A named variable that is neither in env nor assigned counts as dynamic
        (the container's runtime may set it); an absent positional is empty.
        """
        alts: list[Alt] = []
        split = not dq
        for v in values:
            if v is None or (unset_dynamic and isinstance(v, Unset)):
                alts.append([(None, split, False, raw)])
            elif isinstance(v, Unset):
                alts.append([])
            elif isinstance(v, Partial):
                alts.append([(t, split, g, r if t is None else raw) for t, g, r in v.segs])
            elif isinstance(v, tuple):
                if all_elements:
                    alt: Alt = []
                    for k, e in enumerate(v):
                        if k:
                            alt.append(None)  # field break
                        alt.append((e, split, False, raw))
                    alts.append(alt)
                elif star:
                    if any(e is None for e in v):
                        alts.append([(None, split, False, raw)])
                    else:
                        alts.append([(" ".join(v), split, False, raw)])
                else:
                    first = v[0] if v else ""
                    alts.append([(first, split, False, raw)] if first != "" or dq else [])
            else:
                alts.append([(v, split, isinstance(v, GlobStr), raw)] if v != "" or dq else [])
        return alts or [[(None, split, False, raw)]]

    def _expansion(self, node: Node, dq: bool) -> list[Alt]:
        """${...}: defaults, assignments, pattern removal, arrays."""
        raw = self.text(node)
        kids = [c for c in node.children if c.type not in ("${", "}")]
        prefix = None
        name_node = None
        idx = 0
        while idx < len(kids):
            c = kids[idx]
            if c.type in ("variable_name", "special_variable_name", "subscript"):
                name_node = c
                idx += 1
                break
            if c.type in ("#", "!", "=") and name_node is None:
                prefix = c.type
                idx += 1
                continue
            break
        if name_node is None:
            self._generic(node)
            return [[(None, not dq, False, raw)]]
        rest = kids[idx:]
        op = rest[0].type if rest and not rest[0].is_named else None
        operand_nodes = rest[1:] if op is not None else rest
        # the variable's values
        all_elements = star = False
        unset_dynamic = True
        if name_node.type == "subscript":
            vname = self.text(name_node.child_by_field_name("name") or name_node)
            index = name_node.child_by_field_name("index")
            itext = self.text(index) if index is not None else ""
            base = self.state.get(vname)
            if itext in ("@", "*"):
                all_elements = itext == "@"
                star = itext == "*"
                values: OSet = OSet()
                for v in base:
                    if isinstance(v, Unset):
                        values.add(None)  # an array nobody set: the runtime may
                    elif isinstance(v, tuple) or v is None:
                        values.add(v)
                    else:
                        values.add((v if isinstance(v, str) else None,))
            elif itext.isdigit():
                k = int(itext)
                values = OSet()
                for v in base:
                    if isinstance(v, tuple):
                        values.add(v[k] if k < len(v) else UNSET)
                    else:
                        values.add(v if k == 0 else UNSET)
            else:
                if index is not None:
                    self._expand(index, True)
                values = OSet((None,))
        else:
            vname = self.text(name_node)
            values = OSet(self._var_values(vname))
            all_elements = vname == "@"
            star = vname == "*"
            unset_dynamic = bool(VARIABLE_NAME.match(vname))
        gone: Value = None if unset_dynamic else ""  # what ops make of an unset variable
        if prefix == "#":
            lengths = {str(len(v)) if isinstance(v, str) else None for v in values}
            return self._values_to_alts(lengths, dq, raw)
        if prefix == "!":
            if op is None and name_node.type == "variable_name":
                target: OSet = OSet()
                for v in values:
                    if isinstance(v, str) and VARIABLE_NAME.match(v):
                        target.update(self.state.get(v))
                    else:
                        target.add(None)
                return self._values_to_alts(target, dq, raw)
            return [[(None, not dq, False, raw)]]
        if op is None:
            return self._values_to_alts(values, dq, raw, all_elements=all_elements, star=star,
                                        unset_dynamic=unset_dynamic)
        if op in (":-", "-", ":=", "=", ":+", "+", ":?", "?"):
            operand = self._operand(operand_nodes, dq, node)
            colon = op.startswith(":")

            def empty(v: Value) -> bool:
                return isinstance(v, Unset) or (colon and (v == "" or v == ()))

            result: list[Alt] = []
            keep: OSet = OSet()
            use_operand = False
            for v in values:
                if op.endswith("+"):
                    if v is None:
                        keep.add(None)
                        use_operand = True
                    elif empty(v):
                        keep.add(UNSET)
                    else:
                        use_operand = True
                elif empty(v):
                    if not op.endswith("?"):
                        use_operand = True
                else:
                    keep.add(v)
                    if v is None:
                        use_operand = True
            if keep:
                result.extend(self._values_to_alts(keep, dq, raw, all_elements=all_elements, star=star))
            if use_operand:
                result.extend(operand)
            if op.endswith("=") and name_node.type == "variable_name" and use_operand:
                assigned = list(keep) + [join_value(a) for a in operand]
                self.state.set(self.text(name_node), assigned)
            return result or [[]]
        if op in ("#", "##", "%", "%%"):
            pattern = self._static_text(operand_nodes)
            if pattern is None:
                return [[(None, not dq, False, raw)]]
            out: OSet = OSet()
            for v in values:
                if isinstance(v, str):
                    out.add(_shell_pattern_strip(v, pattern, op))
                else:
                    out.add(gone if isinstance(v, Unset) else None)
            return self._values_to_alts(out, dq, raw)
        if op in ("/", "//", "/#", "/%"):
            parts = [c for c in operand_nodes if c.is_named]
            pat = self._static_text(parts[:1]) if parts else None
            rep = self._static_text(parts[1:]) if len(parts) > 1 else ""
            if pat is None or rep is None or has_glob(pat) or op in ("/#", "/%"):
                return [[(None, not dq, False, raw)]]
            out = OSet()
            for v in values:
                if isinstance(v, str):
                    out.add(v.replace(pat, rep) if op == "//" else v.replace(pat, rep, 1))
                else:
                    out.add(gone if isinstance(v, Unset) else None)
            return self._values_to_alts(out, dq, raw)
        if op == ":":
            nums = [self._static_text([c]) for c in operand_nodes if c.is_named]
            try:
                off = int(nums[0]) if nums and nums[0] is not None else None
                ln = int(nums[1]) if len(nums) > 1 and nums[1] is not None else None
            except ValueError:
                off = None
                ln = None
            if off is None or off < 0 or (ln is not None and ln < 0):
                for c in operand_nodes:
                    if c.is_named:
                        self._expand(c, True)
                return [[(None, not dq, False, raw)]]
            out = OSet()
            for v in values:
                if isinstance(v, str):
                    out.add(v[off:] if ln is None else v[off:off + ln])
                else:
                    out.add(gone if isinstance(v, Unset) else None)
            return self._values_to_alts(out, dq, raw)
        if op in ("^^", ",,", "^", ","):
            out = OSet()
            for v in values:
                if isinstance(v, str):
                    if op == "^^":
                        out.add(v.upper())
                    elif op == ",,":
                        out.add(v.lower())
                    elif op == "^":
                        out.add(v[:1].upper() + v[1:])
                    else:
                        out.add(v[:1].lower() + v[1:])
                else:
                    out.add(gone if isinstance(v, Unset) else None)
            return self._values_to_alts(out, dq, raw)
        for c in operand_nodes:
            if c.is_named:
                self._expand(c, True)
        return [[(None, not dq, False, raw)]]

    def _operand(self, nodes: list[Node], dq: bool, parent: Node) -> list[Alt]:
        """The word after :- := :+ with the text between its parts kept."""
        if not nodes:
            return [[("", False, False, "")]] if dq else [[]]
        flat: list[Node] = []
        for c in nodes:
            flat.extend(c.named_children if c.type == "concatenation" else [c])
        nodes = flat
        lists: list[list[Alt]] = []
        pos = nodes[0].start_byte
        for c in nodes:
            if c.start_byte > pos:
                gap = self.src[pos:c.start_byte].decode("utf-8", "surrogateescape")
                lists.append([[(gap, not dq, False, gap)]])
            if c.type == "word":
                raw = self.text(c)
                text, glob = unescape_unquoted(raw)
                lists.append([[(text, not dq, glob and not dq, raw)]])
            else:
                lists.append(self._expand(c, dq))
            pos = c.end_byte
        return product_or_dynamic(lists, not dq, self.text(parent))

    def _static_text(self, nodes: list[Node]) -> str | None:
        """Text of pattern operands when it holds no expansion."""
        parts = []
        for c in nodes:
            if not c.is_named:
                continue
            alts = self._expand(c, True)
            if len(alts) != 1:
                return None
            s = join_text(alts[0])
            if s is None:
                return None
            parts.append(s)
        return "".join(parts)


