"""The slim image's config: the original one, pointing at the single new layer.

Everything that says how to run the container carries over unchanged (Env, Entrypoint, Cmd,
WorkingDir, User, ExposedPorts, Volumes, Labels, StopSignal, Healthcheck, ...). The rootfs
becomes the new layer; the original history stays as empty-layer entries for provenance, and
one entry plus a label name the source. No new timestamps: the output is deterministic.
"""

from __future__ import annotations

import copy
from typing import Any

from slimmer import __version__
from slimmer.image.digest import Digest
from slimmer.image.store import stable_json

SOURCE_LABEL = "org.slimmer.source-image"
# Keys of the top-level config that describe the image rather than the build container.
KEPT_KEYS = ("architecture", "os", "os.version", "os.features", "variant", "author", "created", "config")


def slim_config(original: dict[str, Any], source_digest: Digest, diff_id: Digest) -> bytes:
    """Config bytes (stable JSON) for the slim image made from `original`."""
    config = {key: copy.deepcopy(original[key]) for key in KEPT_KEYS if key in original}
    container = config.setdefault("config", {})
    labels = dict(container.get("Labels") or {})
    labels[SOURCE_LABEL] = source_digest
    container["Labels"] = labels
    history = [dict(h, empty_layer=True) for h in original.get("history", [])]
    entry = {"created_by": f"slimmer {__version__}: minimal copy of {source_digest}", "comment": "slimmer"}
    if "created" in original:
        entry["created"] = original["created"]
    history.append(entry)
    config["history"] = history
    config["rootfs"] = {"type": "layers", "diff_ids": [diff_id]}
    return stable_json(config)
