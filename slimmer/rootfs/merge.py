"""Merging layers into one tree with the OCI whiteout rules, counting what each layer did.

Rules (OCI image-spec, "Representing Changes"): a `.wh.NAME` entry removes NAME from the
layers below; `.wh..wh..opq` hides every lower sibling in its directory wherever it appears
in the tar; whiteouts never affect entries of their own layer; a non-directory replaces a
directory (and its subtree) and the other way round; a directory over a directory merges.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from slimmer.errors import CorruptImageError
from slimmer.image.blob import Blob
from slimmer.progress import QUIET, Progress
from slimmer.rootfs.entry import Entry, EntryType
from slimmer.rootfs.fs import RootFS
from slimmer.rootfs.layertar import LayerItem, read_layer


@dataclass
class LayerStats:
    """What one layer changed in the tree below it; `size` is counted as Docker counts it."""

    index: int
    added: int = 0  # non-directories that did not exist below
    changed: int = 0  # non-directories replacing a path that existed below
    removed: int = 0  # non-directories removed by whiteouts, including those under removed directories
    size: int = 0  # bytes of regular files plus symlink targets, hardlinks once (as `docker history`)
    files: int = 0  # regular files in the layer (hardlinks included)
    hidden_bytes: int = 0  # bytes of lower files this layer removed or overwrote


@dataclass
class MergeResult:
    rootfs: RootFS
    layers: list[LayerStats] = field(default_factory=list)

    @property
    def size(self) -> int:
        """The image's size as `docker image inspect` counts it: the sum of its layers' sizes."""
        return sum(s.size for s in self.layers)

    @property
    def wasted_bytes(self) -> int:
        """Bytes of files that a later layer overwrote or removed: shipped but never visible."""
        return sum(s.hidden_bytes for s in self.layers)


class _Tree:
    """The tree under construction: entries by path and the names in each directory."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {"/": _implicit_dir("/", -1)}
        self.children: dict[str, set[str]] = {"/": set()}

    def remove(self, path: str) -> list[Entry]:
        """Remove `path` and everything under it; return what was removed."""
        entry = self.entries.pop(path, None)
        if entry is None:
            return []
        removed = [entry]
        if entry.type is EntryType.DIR:
            for name in self.children.pop(path, set()):
                removed.extend(self.remove(posixpath.join(path, name)))
        parent = self.children.get(posixpath.dirname(path))
        if parent is not None:
            parent.discard(posixpath.basename(path))
        return removed

    def ensure_parents(self, path: str, layer: int, stats: LayerStats) -> None:
        """Create missing parent directories (tar may omit them), replacing non-directories."""
        parent = posixpath.dirname(path)
        if parent == path:
            return
        existing = self.entries.get(parent)
        if existing is not None and existing.type is EntryType.DIR:
            return
        self.ensure_parents(parent, layer, stats)
        if existing is not None:
            stats.hidden_bytes += _file_bytes(self.remove(parent))
        self.put(_implicit_dir(parent, layer))

    def put(self, entry: Entry) -> None:
        self.entries[entry.path] = entry
        if entry.path != "/":
            self.children[posixpath.dirname(entry.path)].add(posixpath.basename(entry.path))
        if entry.type is EntryType.DIR:
            self.children.setdefault(entry.path, set())


def _implicit_dir(path: str, layer: int) -> Entry:
    return Entry(path=path, type=EntryType.DIR, mode=0o755, uid=0, gid=0, size=0, mtime=0, layer=layer)


def _file_bytes(entries: list[Entry]) -> int:
    return sum(e.size for e in entries if e.type is EntryType.FILE)


def _non_dirs(entries: list[Entry]) -> int:
    return sum(1 for e in entries if e.type is not EntryType.DIR)


def merge_layers(layers: list[Blob], progress: Progress = QUIET) -> MergeResult:
    """Index the merged tree of uncompressed layer tars, bottom layer first."""
    tree = _Tree()
    all_stats = []
    with progress.bytes("indexing layers", sum(b.size for b in layers)) as bar:
        for index, blob in enumerate(layers):
            all_stats.append(_apply_layer(tree, list(read_layer(blob, index)), index))
            bar.update(blob.size)
    return MergeResult(RootFS(layers, tree.entries, tree.children), all_stats)


def _apply_layer(tree: _Tree, items: list[LayerItem], index: int) -> LayerStats:
    stats = LayerStats(index)
    # Whiteouts first: they act on the layers below only, wherever they stand in the tar.
    # What they remove stays reachable for hardlinks of this layer, which may predate them.
    whited_out: dict[str, Entry] = {}
    for item in items:
        if item.kind == "whiteout" and item.path:
            removed = tree.remove(item.path)
        elif item.kind == "opaque":
            removed = [e for name in sorted(tree.children.get(item.path, ()))
                       for e in tree.remove(posixpath.join(item.path, name))]
        else:
            continue
        stats.removed += _non_dirs(removed)
        stats.hidden_bytes += _file_bytes(removed)
        whited_out.update((e.path, e) for e in removed)

    counted_content: set[int] = set()
    for item in items:
        if item.kind not in ("entry", "hardlink"):
            continue
        entry = item.entry
        assert entry is not None
        if item.kind == "hardlink":
            _link_to(tree.entries.get(item.target) or whited_out.get(item.target), entry, item.target, index)
        if entry.type is EntryType.FILE:
            stats.files += 1
            if entry.layer == index and entry.offset not in counted_content:
                counted_content.add(entry.offset)
                stats.size += entry.size
        elif entry.type is EntryType.SYMLINK:
            stats.size += len(entry.link.encode("utf-8", "surrogateescape"))
        _place(tree, entry, index, stats)
    return stats


def _link_to(original: Entry | None, entry: Entry, target: str, index: int) -> None:
    """Give a hardlink the content of what it links to, which must already exist."""
    if original is None or original.type is EntryType.DIR:
        what = "a directory" if original is not None else "does not exist in the image"
        raise CorruptImageError(f"layer {index + 1}: hardlink {entry.path!r} points to {target!r}, which {what}")
    entry.type = original.type
    entry.size = original.size
    entry.layer = original.layer
    entry.offset = original.offset
    entry.link = original.link
    entry.hardlink_of = target


def _place(tree: _Tree, entry: Entry, index: int, stats: LayerStats) -> None:
    path = entry.path
    if path == "/":
        if entry.type is EntryType.DIR:
            tree.entries["/"] = entry
        return
    tree.ensure_parents(path, index, stats)
    existing = tree.entries.get(path)
    if existing is not None and not (existing.type is EntryType.DIR and entry.type is EntryType.DIR):
        stats.hidden_bytes += _file_bytes(tree.remove(path))
    if entry.type is not EntryType.DIR:
        if existing is None:
            stats.added += 1
        else:
            stats.changed += 1
    tree.put(entry)
