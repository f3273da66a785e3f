"""Where a word occurs in a module's syntax tree (tree-sitter), for any language.

The analyses need few places of a module: the calls of `require` or `import_module`, the import
statements, the uses of `__dirname`. Rather than matching patterns against every node of the
tree, the words are found in the source bytes and each occurrence is mapped to its node, so the
work follows the number of occurrences (a 9 MB bundle has a few hundred), not the size of the tree.
"""

from __future__ import annotations

from tree_sitter import Node


class TokenIndex:
    """The code occurrences of words in one parsed module, each found once. `name_types` are the
    node types a word is when it is code (not inside a string or a comment), `word_bytes` the
    bytes a name is made of, `string_type` the node type of a string's text."""

    def __init__(self, source: bytes, root: Node, name_types: frozenset[str], word_bytes: frozenset[int],
                 string_type: str) -> None:
        self.source = source
        self.root = root
        self.name_types = name_types
        self.word_bytes = word_bytes
        self.string_type = string_type
        self._nodes: dict[str, list[Node]] = {}

    def nodes(self, word: str, strings: bool = False) -> list[Node]:
        """The nodes where `word` occurs as a whole word: names and keywords (and, with `strings`,
        string contents such as the 'require' of `eval('require')`)."""
        key = word + ("\0" if strings else "")
        found = self._nodes.get(key)
        if found is None:
            found = []
            needle = word.encode()
            source = self.source
            word_bytes = self.word_bytes
            start = source.find(needle)
            while start >= 0:
                end = start + len(needle)
                if (start == 0 or source[start - 1] not in word_bytes) and \
                        (end == len(source) or source[end] not in word_bytes):
                    node = self.root.descendant_for_byte_range(start, end)
                    while node is not None and node.parent is not None and node.parent.type == node.type \
                            and node.parent.start_byte == start and node.parent.end_byte == end:
                        node = node.parent  # the keyword of `import(...)` is inside its own (import) node
                    if node is not None and node.start_byte == start and node.end_byte == end and \
                            (node.type in self.name_types or node.type == word
                             or (strings and node.type == self.string_type)):
                        found.append(node)
                start = source.find(needle, end)
            self._nodes[key] = found
        return found
