"""Redirections and here-documents: where a redirected command may hide commands.

A redirect target is not a file the script needs, but it may hold command
substitutions; an unquoted here-document may hold them too, and a here-document
fed to a shell (`sh <<EOF`) is a script of its own.
"""

from __future__ import annotations

from tree_sitter import Node

from .fields import Field
from .parse import heredoc_backquotes
from .walker import STATEMENT_KINDS, Walker


class Redirects(Walker):
    """Redirected statements, redirect targets and here-document bodies."""

    def _redirected(self, node: Node) -> None:
        """A statement with redirects: a static here-document is the body's standard input."""
        body = node.child_by_field_name("body")
        saved_stdin = self.stdin_script
        for c in node.named_children:
            if c.type == "heredoc_redirect":
                text = self._heredoc_text(c)
                if text is not None:
                    self.stdin_script = text
        if body is not None:
            self._stmt(body)
        self.stdin_script = saved_stdin
        for c in node.named_children:
            if c != body:
                self._stmt(c)

    def _heredoc_text(self, redir: Node) -> tuple[str, int, bool] | None:
        """(text, line, holds no expansion) of a here-document."""
        for c in redir.named_children:
            if c.type == "heredoc_body":
                static = all(k.type == "heredoc_content" for k in c.named_children)
                return self.text(c), self.line(c), static
        return None

    def _redirect(self, node: Node) -> None:
        """Redirect targets are not needed files, but may hold substitutions."""
        quoted = False
        for c in node.named_children:
            t = c.type
            if t == "heredoc_start":
                quoted = any(q in self.text(c) for q in "'\"\\")
                continue
            if t in ("heredoc_end", "file_descriptor", "heredoc_content"):
                continue
            if t == "heredoc_body":
                if not quoted:
                    self._heredoc_body(c)
            elif t in STATEMENT_KINDS:
                self._stmt(c)
            else:
                self._expand(c, False)

    def _heredoc_body(self, body: Node) -> None:
        """Substitutions in an unquoted here-document, backquoted commands included."""
        self._generic(body)
        for inner, at in heredoc_backquotes(self.src, body):
            line = self.src.count(b"\n", 0, at) + 1 + self.line_offset
            col = at - (self.src.rfind(b"\n", 0, at) + 1)
            saved = self.state
            self.state = saved.copy()
            self._analyse_string(Field.static(inner, line, col=col), self.shell, same_state=True, what=None)
            self.state = saved
