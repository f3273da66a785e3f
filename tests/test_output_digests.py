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
                     config="sha256:3e41547f358085c11fee06fcbb915508262b0f82f3c61b50eef379d64224225f",
                     layer="sha256:a7206fe550f64d86cedeba9753d8928a4d7bc0ef2eeddb1be377faef36910807"),
    "sh-app": Digests(source="sha256:8dd923e47db0b225270a2b0285e9800aeda1857173da601ba7764055e03d2391",
                      config="sha256:20dcc548b19dd415122509d7d84a7307ef5e2f535f59e32fbc6b2983b90b6b69",
                      layer="sha256:d7362b27c872e46757b51f4455a2971345f36d14ab71ba8807c1bf43618136da"),
    "py-app": Digests(source="sha256:2089e6c6a9c46fd3f02bf05ea9d245c933e857dae7a0fea3423381efbffab290",
                      config="sha256:a93d50ab9683abf0f2f1683889ae5be31f5308bfc18fd045137e98044ce60a60",
                      layer="sha256:e639165c86780f493ab302a6bab252a41d7fc8e310bd0b0b527279871dabeffb"),
    "waste": Digests(source="sha256:8a6cb8f3d5d24143471ac54b9fff4b335fb4b8b4d93494b9ea396f5ec8898923",
                     config="sha256:04044362ba0e7967cc30591df4182e8f4c74735bed55b63cb64853b62dff371e",
                     layer="sha256:3953cee0838783103fc71c72e6f6a67c6cc8987f2d287525920f5bc8e8be5e0c"),
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
