"""Parameter expansion: $name, $1, $@ and ${...} with its operators.

Values come from the state (variables, positional parameters); operators
apply to each known value, so `${0##*/}` or `${X:-default}` stay known.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from tree_sitter import Node

from .fields import Alt, Segment, dynamic_word, join_text, join_value, product_or_dynamic
from .interfaces import Shell
from .quoting import has_glob, unescape_unquoted
from .source import Source
from .values import UNSET, VARIABLE_NAME, GlobStr, OSet, Partial, Unset, Value, uniq


class Words(Protocol):
    """The expander of the text, for the words inside ${...}."""

    def expand(self, node: Node, dq: bool) -> list[Alt]: ...

    def walk_generic(self, node: Node) -> None: ...

_DEFAULT_OPS = (":-", "-", ":=", "=", ":+", "+", ":?", "?")
_CASE_OPS: dict[str, Callable[[str], str]] = {
    "^^": str.upper,
    ",,": str.lower,
    "^": lambda v: v[:1].upper() + v[1:],
    ",": lambda v: v[:1].lower() + v[1:],
}


@dataclass
class _Parameter:
    """What ${...} names: its possible values, and how they expand."""

    values: OSet
    all_elements: bool = False  # $@, ${a[@]}: one field per element
    star: bool = False  # $*, ${a[*]}: the elements joined by spaces
    unset_dynamic: bool = True  # unset means set at run time (a named variable), not empty


class ParameterExpander:
    """Variables, positional and special parameters, and ${...}, with the values of the
    process's current path; operands of ${...} are words of the same text (`words`)."""

    def __init__(self, source: Source, process: Shell, words: Words) -> None:
        self.source = source
        self.process = process
        self.words = words

    def values(self, name: str) -> tuple[Value, ...]:
        """Possible values of $name; positional parameters come from argv."""
        if name.isdigit():
            k = int(name)
            vals: OSet = OSet()
            state = self.process.flow.state
            for p in state.pos:
                if p is None:
                    vals.add(state.name if k == 0 else None)
                elif k < len(p):
                    vals.add(p[k])
                else:
                    vals.add(UNSET)
            return uniq(vals)
        if name in ("@", "*"):
            return uniq(None if p is None else tuple(p[1:]) for p in self.process.flow.state.pos)
        if name == "#":
            return uniq(None if p is None else str(len(p) - 1) for p in self.process.flow.state.pos)
        if name in ("?", "$", "!", "-", "_"):
            return (None,)
        if name == "BASH_SOURCE" and name not in self.process.flow.state.vars:
            return self.values("0")
        return self.process.flow.state.get(name)

    def is_all_elements(self, node: Node) -> bool:
        """"$@" / "${a[@]}": quoted, yet may expand to no field at all."""
        if node.type == "simple_expansion":
            return self.source.text(node) == "$@"
        if node.type == "expansion":
            t = self.source.text(node)
            return t == "${@}" or bool(re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*\[@\]\}", t))
        return False

    def simple(self, node: Node, dq: bool) -> list[Alt]:
        """$name, $1, $@ and the other special parameters."""
        raw = self.source.text(node)
        name = raw[1:]
        if not (VARIABLE_NAME.match(name) or name.isdigit() or name in ("@", "*", "#", "?", "$", "!", "-", "_")):
            return [[Segment(raw, False, False, raw)]]
        return self._values_to_alts(self.values(name), dq, raw, all_elements=name == "@",
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
                alts.append([Segment(None, split, False, raw)])
            elif isinstance(v, Unset):
                alts.append([])
            elif isinstance(v, Partial):
                alts.append([Segment(p.text, split, p.glob, p.source if p.text is None else raw) for p in v.parts])
            elif isinstance(v, tuple):
                if all_elements:
                    alt: Alt = []
                    for k, e in enumerate(v):
                        if k:
                            alt.append(None)  # field break
                        alt.append(Segment(e, split, False, raw))
                    alts.append(alt)
                elif star:
                    if any(e is None for e in v):
                        alts.append([Segment(None, split, False, raw)])
                    else:
                        alts.append([Segment(" ".join(e or "" for e in v), split, False, raw)])
                else:
                    first = v[0] if v else ""
                    alts.append([Segment(first, split, False, raw)] if first != "" or dq else [])
            else:
                alts.append([Segment(v, split, isinstance(v, GlobStr), raw)] if v != "" or dq else [])
        return alts or dynamic_word(raw, split)

    def braced(self, node: Node, dq: bool) -> list[Alt]:
        """${...}: defaults, assignments, pattern removal, arrays."""
        raw = self.source.text(node)
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
            self.words.walk_generic(node)
            return dynamic_word(raw, not dq)
        rest = kids[idx:]
        op = rest[0].type if rest and not rest[0].is_named else None
        operand_nodes = rest[1:] if op is not None else rest
        param = self._parameter(name_node)
        if prefix == "#":
            lengths = OSet(str(len(v)) if isinstance(v, str) else None for v in param.values)
            return self._values_to_alts(lengths, dq, raw)
        if prefix == "!":
            if op is None and name_node.type == "variable_name":
                target: OSet = OSet()
                for v in param.values:
                    if isinstance(v, str) and VARIABLE_NAME.match(v):
                        target.update(self.process.flow.state.get(v))
                    else:
                        target.add(None)
                return self._values_to_alts(target, dq, raw)
            return dynamic_word(raw, not dq)
        if op is None:
            return self._values_to_alts(param.values, dq, raw, all_elements=param.all_elements, star=param.star,
                                        unset_dynamic=param.unset_dynamic)
        if op in _DEFAULT_OPS:
            assign_to = self.source.text(name_node) if name_node.type == "variable_name" else None
            return self._default_op(op, param, operand_nodes, assign_to, dq, raw)
        transform = self._transform(op, operand_nodes)
        if transform is None:
            return dynamic_word(raw, not dq)
        gone: Value = None if param.unset_dynamic else ""  # what operators make of an unset variable
        out: OSet = OSet()
        for v in param.values:
            if isinstance(v, str):
                out.add(transform(v))
            else:
                out.add(gone if isinstance(v, Unset) else None)
        return self._values_to_alts(out, dq, raw)

    def _parameter(self, name_node: Node) -> _Parameter:
        """The values of a variable, a special parameter, an array or one of its elements."""
        if name_node.type != "subscript":
            vname = self.source.text(name_node)
            return _Parameter(OSet(self.values(vname)), all_elements=vname == "@", star=vname == "*",
                              unset_dynamic=bool(VARIABLE_NAME.match(vname)))
        vname = self.source.text(name_node.child_by_field_name("name") or name_node)
        index = name_node.child_by_field_name("index")
        itext = self.source.text(index) if index is not None else ""
        base = self.process.flow.state.get(vname)
        values: OSet = OSet()
        if itext in ("@", "*"):
            for v in base:
                if isinstance(v, Unset):
                    values.add(None)  # an array nobody set: the runtime may
                elif isinstance(v, tuple) or v is None:
                    values.add(v)
                else:
                    values.add((v if isinstance(v, str) else None,))
            return _Parameter(values, all_elements=itext == "@", star=itext == "*")
        if itext.isdigit():
            k = int(itext)
            for v in base:
                if isinstance(v, tuple):
                    values.add(v[k] if k < len(v) else UNSET)
                else:
                    values.add(v if k == 0 else UNSET)
            return _Parameter(values)
        if index is not None:
            self.words.expand(index, True)
        return _Parameter(OSet((None,)))

    def _default_op(self, op: str, param: _Parameter, operand_nodes: list[Node], assign_to: str | None,
                    dq: bool, raw: str) -> list[Alt]:
        """${v:-w} ${v:=w} ${v:+w} ${v:?w}, and the same without the colon (unset only)."""
        operand = self._operand(operand_nodes, dq, raw)
        colon = op.startswith(":")

        def empty(v: Value) -> bool:
            return isinstance(v, Unset) or (colon and (v == "" or v == ()))

        result: list[Alt] = []
        keep: OSet = OSet()
        use_operand = False
        for v in param.values:
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
            result.extend(self._values_to_alts(keep, dq, raw, all_elements=param.all_elements, star=param.star))
        if use_operand:
            result.extend(operand)
        if op.endswith("=") and assign_to is not None and use_operand:
            assigned = list(keep) + [join_value(a) for a in operand]
            self.process.flow.state.set(assign_to, assigned)
        return result or [[]]

    def _transform(self, op: str, operand_nodes: list[Node]) -> Callable[[str], str] | None:
        """What ${v#p}, ${v/p/r}, ${v:o:l}, ${v^^} and the like do to a known value.

        None when the operands are known only at run time (or the operator is
        not modelled): the expansion is then dynamic.
        """
        if op in ("#", "##", "%", "%%"):
            pattern = self._static_text(operand_nodes)
            if pattern is None:
                return None
            return lambda v: _strip_pattern(v, pattern, op)
        if op in ("/", "//", "/#", "/%"):
            parts = [c for c in operand_nodes if c.is_named]
            pat = self._static_text(parts[:1]) if parts else None
            rep = self._static_text(parts[1:]) if len(parts) > 1 else ""
            if pat is None or rep is None or has_glob(pat) or op in ("/#", "/%"):
                return None
            if op == "//":
                return lambda v: v.replace(pat, rep)
            return lambda v: v.replace(pat, rep, 1)
        if op == ":":
            nums = [self._static_text([c]) for c in operand_nodes if c.is_named]
            try:
                off = int(nums[0]) if nums and nums[0] is not None else None
                ln = int(nums[1]) if len(nums) > 1 and nums[1] is not None else None
            except ValueError:
                off = None
                ln = None
            if off is None or off < 0 or (ln is not None and ln < 0):
                self._walk_operands(operand_nodes)
                return None
            return lambda v: v[off:] if ln is None else v[off:off + ln]
        if op in _CASE_OPS:
            return _CASE_OPS[op]
        self._walk_operands(operand_nodes)
        return None

    def _walk_operands(self, nodes: list[Node]) -> None:
        """Operands whose value is not used may still hold substitutions that run."""
        for c in nodes:
            if c.is_named:
                self.words.expand(c, True)

    def _operand(self, nodes: list[Node], dq: bool, raw: str) -> list[Alt]:
        """The word after :- := :+ with the text between its parts kept."""
        if not nodes:
            return [[Segment("", False, False, "")]] if dq else [[]]
        flat: list[Node] = []
        for c in nodes:
            flat.extend(c.named_children if c.type == "concatenation" else [c])
        nodes = flat
        lists: list[list[Alt]] = []
        pos = nodes[0].start_byte
        for c in nodes:
            if c.start_byte > pos:
                gap = self.source.data[pos:c.start_byte].decode("utf-8", "surrogateescape")
                lists.append([[Segment(gap, not dq, False, gap)]])
            if c.type == "word":
                word = self.source.text(c)
                text, glob = unescape_unquoted(word)
                lists.append([[Segment(text, not dq, glob and not dq, word)]])
            else:
                lists.append(self.words.expand(c, dq))
            pos = c.end_byte
        return product_or_dynamic(lists, not dq, raw)

    def _static_text(self, nodes: list[Node]) -> str | None:
        """Text of pattern operands when it holds no expansion."""
        parts = []
        for c in nodes:
            if not c.is_named:
                continue
            alts = self.words.expand(c, True)
            if len(alts) != 1:
                return None
            s = join_text(alts[0])
            if s is None:
                return None
            parts.append(s)
        return "".join(parts)


def _strip_pattern(value: str, pattern: str, op: str) -> str:
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
