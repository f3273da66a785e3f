"""External programs that run other programs.

Shells (sh -c, sh FILE, sh <<EOF), wrappers that take a command line (env,
sudo, xargs, ...; their options are in builtins.WRAPPERS), find -exec and
start-stop-daemon.
"""

from __future__ import annotations

from .builtins import SHELL_ALIASES, SHELLS, WRAPPERS, Wrapper
from .fields import Field
from .values import ASSIGNMENT
from .walker import Walker


class Programs(Walker):
    """What the analyser does when a script runs a program that runs another one."""

    def _external(self, base: str, args: list[Field], prog: Field) -> None:
        """A program by its base name: look inside those that run others."""
        line = prog.line
        if base in SHELLS:
            self._shell_program(base, args, line)
        elif base == "busybox":
            if args and args[0].text in SHELLS:
                self._shell_program("busybox", args[1:], line)
        elif base == "find":
            self._find(args)
        elif base == "start-stop-daemon":
            self._start_stop_daemon(args)
        elif base == "which":
            for a in args:
                if a.text is None or not a.text.startswith("-"):
                    self._lookup(a, "which")
        else:
            spec = WRAPPERS.get(base)
            if spec is not None:
                self._wrapper(base, spec, args, prog)

    def _wrapper(self, base: str, spec: Wrapper, args: list[Field], prog: Field) -> None:
        """The command after a wrapper's options and positional arguments, or its -c string."""
        if spec.c_opts:
            for i, a in enumerate(args):
                t = a.text or ""
                if t in spec.c_opts and i + 1 < len(args):
                    self._analyse_string(args[i + 1], "dash" if self.shell != "busybox" else "busybox",
                                         same_state=False, what=f"{base} -c")
                    return
                if t.startswith("--") and t.split("=", 1)[0] in spec.c_opts and "=" in t:
                    f = Field.static(t.split("=", 1)[1], a.line, a.src, a.col)
                    self._analyse_string(f, "dash", same_state=False, what=f"{base} -c")
                    return
        i = 0
        n = len(args)
        positional = spec.positional
        seen_opts: set[str] = set()
        in_opts = True
        while i < n:
            a = args[i]
            t = a.text
            if t is None:
                if positional:  # gosu "$USER" cmd
                    positional -= 1
                    i += 1
                    continue
                if spec.positional or not in_opts or not spec.arg_opts:
                    break  # it is the command, and dynamic: _run warns
                self.findings.warn(a.line, f"cannot tell which argument of {base} is the command: {a.src}")
                return
            if in_opts and t == "--":
                in_opts = False
                i += 1
                continue
            if in_opts and t.startswith("-") and len(t) > 1:
                opt = t.split("=", 1)[0] if t.startswith("--") else t[:2]
                seen_opts.add(opt)
                if opt in spec.stop_opts:
                    return
                if opt in spec.arg_opts and t == opt:
                    i += 2
                else:
                    i += 1
                continue
            if spec.assignments and ASSIGNMENT.match(t):
                i += 1
                continue
            if positional:
                positional -= 1
                i += 1
                continue
            break
        if spec.needs_opt and not (seen_opts & spec.needs_opt):
            return
        inner = args[i:]
        if not inner and spec.default:
            inner = [Field.static(d, prog.line, col=prog.col) for d in spec.default]
        self._run(inner, "run", external_only=True)

    def _shell_program(self, base: str, args: list[Field], line: int) -> None:
        """sh -c 'code' / bash script.sh / sh <<EOF."""
        if base == "busybox" or (base in ("sh", "ash") and self.shell == "busybox"):
            inner_shell = "busybox"
        else:
            inner_shell = SHELL_ALIASES.get(base, "bash")
        i = 0
        has_c = False
        reads_stdin = False
        while i < len(args):
            t = args[i].text
            if t is None:
                break
            if t == "--":
                i += 1
                break
            if t in ("--rcfile", "--init-file"):
                i += 2
                continue
            if len(t) > 1 and t[0] in "-+":
                if t.startswith("--"):
                    i += 1
                    continue
                if t[0] == "-" and "c" in t[1:]:
                    has_c = True
                if "s" in t[1:]:
                    reads_stdin = True
                i += 2 if ("o" in t[1:] or "O" in t[1:]) else 1  # -o NAME, -eo NAME
                continue
            break
        operands = args[i:]
        if has_c:
            if not operands:
                return
            rest = operands[1:]
            pos = (tuple(a.text for a in rest) if rest else (base,),)
            self._analyse_string(operands[0], inner_shell, same_state=False, what=f"{base} -c", pos=pos)
        elif operands and not reads_stdin:
            a = operands[0]
            if a.text is None:
                self.findings.warn(a.line, f"script given to {base} built at run time: {a.src}")
            elif a.text:
                self.record(a, "script")
        elif self.stdin_script is not None:
            text, hline, static = self.stdin_script
            if not static:
                self.findings.warn(hline, f"here-document run by {base} has expansions; analysed as written")
            f = Field.static(text, hline, text[:40])
            self._analyse_string(f, inner_shell, same_state=False, what=None)
        else:
            self.findings.warn(line, f"{base} reads its commands from standard input; not analysed")

    def _find(self, args: list[Field]) -> None:
        """find ... -exec CMD ... ; / +."""
        i = 0
        while i < len(args):
            if args[i].text in ("-exec", "-execdir", "-ok", "-okdir"):
                j = i + 1
                while j < len(args) and args[j].text not in (";", "+"):
                    j += 1
                self._run(args[i + 1:j], "run", external_only=True)
                i = j
            i += 1

    def _start_stop_daemon(self, args: list[Field]) -> None:
        """start-stop-daemon --start --exec / --startas PROGRAM."""
        if not any(a.text in ("--start", "-S") for a in args):
            return
        for i, a in enumerate(args):
            t = a.text or ""
            if t in ("--exec", "-x", "--startas", "-a") and i + 1 < len(args):
                self._run([args[i + 1]], "run", external_only=True)
            elif t.startswith(("--exec=", "--startas=")):
                v = t.split("=", 1)[1]
                self._run([Field.static(v, a.line, a.src, a.col)], "run", external_only=True)
