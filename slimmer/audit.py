"""`slim audit`: what each layer costs, what is wasted, what the image is made of.

Sizes are counted as Docker counts them (`docker history`, `docker image inspect`): bytes of
regular files plus symlink targets, hardlinked content once, directories free.
"""

from __future__ import annotations

import heapq
from dataclasses import asdict, dataclass

from slimmer.analysis import OpenedImage
from slimmer.image.digest import Digest
from slimmer.rootfs.entry import EntryType
from slimmer.rootfs.filekind import classify

LARGEST_COUNT = 10


@dataclass(frozen=True)
class LayerAudit:
    digest: Digest  # diff_id: the digest of the uncompressed layer
    compressed_size: int  # bytes as the source stores the layer
    size: int  # uncompressed content, as `docker history` shows it
    created_by: str
    added: int
    changed: int
    removed: int


@dataclass(frozen=True)
class KindTotal:
    files: int
    bytes: int


@dataclass(frozen=True)
class AuditReport:
    image: str
    total_size: int
    file_count: int  # non-directory entries of the merged tree
    wasted_bytes: int
    layers: list[LayerAudit]
    largest: list[dict]  # [{"path", "size"}, plus "hardlinks": [other names] when shared], biggest first
    by_kind: dict[str, KindTotal]

    def to_json(self) -> dict:
        return asdict(self)


def created_by_per_layer(config: dict, layer_count: int) -> list[str]:
    """History entries that made a layer, in order (empty_layer ones made none)."""
    made = [h.get("created_by", "") for h in config.get("history", []) if not h.get("empty_layer")]
    if len(made) != layer_count:
        return [""] * layer_count  # history absent or inconsistent: better nothing than a wrong pairing
    return made


def audit(opened: OpenedImage) -> AuditReport:
    image, merged, fs = opened.image, opened.merged, opened.fs
    created_by = created_by_per_layer(image.config, len(image.layers))
    layers = [
        LayerAudit(digest=layer.diff_id, compressed_size=layer.blob.size, size=stats.size,
                   created_by=created_by[stats.index], added=stats.added, changed=stats.changed, removed=stats.removed)
        for layer, stats in zip(image.layers, merged.layers)
    ]
    files = [e for e in fs.entries() if e.type is not EntryType.DIR]
    regular = [e for e in files if e.type is EntryType.FILE]
    # Hardlinks share one content: list it once, with its other names.
    names: dict[tuple[int, int], list[str]] = {}
    for entry in regular:
        names.setdefault(entry.content_key, []).append(entry.path)
    largest = heapq.nlargest(LARGEST_COUNT, (e for e in regular if names[e.content_key][0] == e.path),
                             key=lambda e: (e.size, e.path))
    kinds: dict[str, list[int]] = {}
    for entry in regular:
        counts = kinds.setdefault(classify(fs, entry).value, [0, 0])
        counts[0] += 1
        counts[1] += entry.size
    return AuditReport(
        image=image.reference,
        total_size=merged.size,
        file_count=len(files),
        wasted_bytes=merged.wasted_bytes,
        layers=layers,
        largest=[{"path": e.path, "size": e.size, **({"hardlinks": names[e.content_key][1:]}
                                                      if len(names[e.content_key]) > 1 else {})}
                 for e in largest],
        by_kind={kind: KindTotal(*counts) for kind, counts in sorted(kinds.items())},
    )


def human(size: int) -> str:
    """Sizes as Docker prints them (decimal units)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.3g}{unit}"
        value /= 1000
    raise AssertionError("unreachable")


def render_text(report: AuditReport) -> str:
    lines = [f"Image: {report.image}",
             f"Total size: {human(report.total_size)} ({report.total_size} bytes) in {report.file_count} files",
             f"Wasted: {human(report.wasted_bytes)} ({report.wasted_bytes} bytes of files overwritten or removed "
             "by later layers)",
             "",
             f"{'LAYER':<19} {'SIZE':>9} {'STORED':>9} {'ADDED':>7} {'CHANGED':>7} {'REMOVED':>7}  CREATED BY"]
    for layer in report.layers:
        lines.append(f"{layer.digest.hex[:12]:<19} {human(layer.size):>9} {human(layer.compressed_size):>9} "
                     f"{layer.added:>7} {layer.changed:>7} {layer.removed:>7}  {_one_line(layer.created_by)}")
    lines += ["", "Largest files:"]
    lines += [f"  {human(f['size']):>9}  {f['path']}" + "".join(f" = {p}" for p in f.get("hardlinks", []))
              for f in report.largest]
    lines += ["", "By content:"]
    lines += [f"  {kind:<16} {total.files:>7} files {human(total.bytes):>9}" for kind, total in report.by_kind.items()]
    return "\n".join(lines)


def _one_line(text: str, width: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"

