"""A guard on behaviour: slimming each bundled sample gives exactly the output recorded here.

Each sample is slimmed from its `docker-archive:` tarball to a docker-archive, and the result's
config digest (the image ID) and its layer's diff_id are compared with values recorded before a
refactor. Both are read back from the written archive with tarfile and hashlib alone, not with
slimmer's own reader. A refactor must leave them unchanged.

When a change to a tracer or to the packer alters an output ON PURPOSE, update the values in
`RECORDED` in the same commit, and say in the commit message which sample changed and why (which
files are now kept or dropped). `python tests/test_output_digests.py` prints the current values.
A change of slimmer's version changes all of them (the slim config's history names it).

The values hold for one build of the samples: the source's config digest is recorded with them.
Samples are not bit-for-bit reproducible (debootstrap and apt write timestamps), so a machine that
built its own has other sources; there the recorded values cannot apply, and the test checks the
one thing it still can, that slimming the same source twice gives the same output, and says so in
a warning.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tarfile
import warnings
from pathlib import Path
from typing import NamedTuple

import pytest

from slimmer.slim import SlimOptions, slim


class Digests(NamedTuple):
    source: str  # config digest of the sample the values were recorded from
    config: str  # config digest of the slim image
    layer: str  # diff_id of its one layer


RECORDED: dict[str, Digests] = {
    "c-app": Digests(source="sha256:4009a398cd71b003a5ca592476c3662daf184cda761cc8914fa6fcc6fad2d821",
                     config="sha256:51b606a5aa8219c94f8e294aed1793b5a67d31311c7637cb184d8f2a5f5d59bd",
                     layer="sha256:f2aa40622650623f16d6252e125d09c82f4b08f43b869b559fee33aea100a5f0"),
    "sh-app": Digests(source="sha256:8dd923e47db0b225270a2b0285e9800aeda1857173da601ba7764055e03d2391",
                      config="sha256:4fba06108caa9a16dadc58be25fc376f3a39512b38f5a3e8705fedf118cb5914",
                      layer="sha256:8c1ce06c6c0e1f997a22a6936a47b2c0f701ce58b74024eee12ecb5d1236c5a1"),
    "py-app": Digests(source="sha256:2089e6c6a9c46fd3f02bf05ea9d245c933e857dae7a0fea3423381efbffab290",
                      config="sha256:9427aea44183521469b40e79a439730e02bb6b7da68907ce1c2a73dc0ac38014",
                      layer="sha256:962a9a2672401b672767bd4c3b1d0679fdb3e343ef61093d4fedd4e0764f3f95"),
    "waste": Digests(source="sha256:8a6cb8f3d5d24143471ac54b9fff4b335fb4b8b4d93494b9ea396f5ec8898923",
                     config="sha256:2e2fa44d9c0b69c143057fad5e50bb1dad48355b637868e44f6f7e95858d9390",
                     layer="sha256:e7a127b5a06fb755dc884dae72293cf9eac9ecef32734a4e400992b77cc60174"),
}

SAMPLES = ["c-app", "sh-app", "py-app", "waste"]


def _member(tf: tarfile.TarFile, name: str) -> bytes:
    f = tf.extractfile(name)
    assert f is not None, name
    return f.read()


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read_digests(archive: Path) -> tuple[str, str]:
    """(config digest, diff_id of the only layer) of a docker-archive, checked against its bytes."""
    with tarfile.open(archive) as tf:
        [entry] = json.loads(_member(tf, "manifest.json"))
        config_bytes = _member(tf, entry["Config"])
        [layer_name] = entry["Layers"]
        layer_digest = _sha256(_member(tf, layer_name))
    [diff_id] = json.loads(config_bytes)["rootfs"]["diff_ids"]
    assert layer_digest == diff_id, f"{archive}: layer {layer_digest} is not the config's diff_id {diff_id}"
    return _sha256(config_bytes), diff_id


def source_digest(archive: Path) -> str:
    with tarfile.open(archive) as tf:
        entry = json.loads(_member(tf, "manifest.json"))[0]
        return _sha256(_member(tf, entry["Config"]))


def slim_digests(archive: Path, out: Path) -> Digests:
    result = slim(f"docker-archive:{archive}", SlimOptions(output=f"docker-archive:{out}"))
    config, layer = read_digests(out)
    assert config == result.config_digest
    return Digests(source_digest(archive), config, layer)


@pytest.mark.slow
@pytest.mark.parametrize("name", SAMPLES)
def test_slim_output_is_the_recorded_one(name, sample_archive, tmp_path):
    archive = sample_archive(name)
    got = slim_digests(archive, tmp_path / "slim.tar")
    recorded = RECORDED[name]
    if got.source == recorded.source:
        assert got == recorded, f"{name}: the slim output changed (see this file's docstring)"
        return
    again = slim_digests(archive, tmp_path / "again.tar")
    assert again == got, f"{name}: two slims of the same source differ"
    warnings.warn(f"{name}: this machine's sample ({got.source}) is not the one the digests were recorded "
                  f"from ({recorded.source}): only checked that slimming it twice gives the same output",
                  stacklevel=1)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
    import tempfile

    import build_samples

    with tempfile.TemporaryDirectory() as tmp:
        for sample in SAMPLES:
            path = build_samples.cached_archive(sample) or Path(build_samples.ensure_sample(sample)["archive"])
            print(f"    {sample!r}: {slim_digests(path, Path(tmp) / f'{sample}.tar')!r},")
