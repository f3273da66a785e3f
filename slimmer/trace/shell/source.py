"""One text the analyser walks: a script, or a string it runs as code (eval, trap, a
here-document fed to a shell), and where that text sits in the script for line numbers."""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node


@dataclass
class Source:
    """The bytes tree-sitter parsed (rewrites included) and the text's place in the script."""

    data: bytes = b""
    line_offset: int = 0  # lines of the script before the text's first line
    col_offset: int = 0  # where the text starts on its first line

    def text(self, node: Node) -> str:
        return self.data[node.start_byte:node.end_byte].decode("utf-8", "surrogateescape")

    def line(self, node: Node) -> int:
        return node.start_point[0] + 1 + self.line_offset

    def end_line(self, node: Node) -> int:
        return node.end_point[0] + 1 + self.line_offset

    def col(self, node: Node) -> int:
        row, col = node.start_point
        return col + self.col_offset if row == 0 else col

    def line_at(self, offset: int) -> int:
        """The script line of a byte offset of the text."""
        return self.data.count(b"\n", 0, offset) + 1 + self.line_offset

    def col_at(self, offset: int) -> int:
        return offset - (self.data.rfind(b"\n", 0, offset) + 1)
