"""Opening an image for analysis: source -> verified uncompressed layers -> merged root filesystem.

Everything lives in a private work directory that disappears when the analysis ends; the
source image is only read.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from slimmer.image.blob import Blob
from slimmer.image.layers import uncompressed_layers
from slimmer.image.model import Image
from slimmer.image.transports import open_image
from slimmer.progress import QUIET, Progress
from slimmer.rootfs.fs import RootFS
from slimmer.rootfs.merge import MergeResult, merge_layers


@dataclass
class OpenedImage:
    """An image with its layers ready to read and its merged tree indexed."""

    image: Image
    layer_tars: list[Blob]  # uncompressed, digests verified against the config
    merged: MergeResult
    workdir: Path  # scratch space that lives as long as the analysis

    @property
    def fs(self) -> RootFS:
        return self.merged.rootfs


@contextmanager
def open_analysis(reference: str, progress: Progress = QUIET) -> Iterator[OpenedImage]:
    """Open `reference` (any transport), verify and index its layers."""
    with tempfile.TemporaryDirectory(prefix="slimmer-") as tmp:
        workdir = Path(tmp)
        with open_image(reference, workdir, progress) as image:
            tars = uncompressed_layers(image, workdir, progress)
            yield OpenedImage(image, tars, merge_layers(tars, progress), workdir)
