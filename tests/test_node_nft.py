"""Our Node resolution against @vercel/nft, the reference static tracer for Node.

nft (pinned in tests/nft-oracle/package-lock.json, installed with npm into $SLIMMER_CACHE, used
only here) traces each fixture's JavaScript entry files over a copy of the application directory
taken from the image; node 22 of the node-official image runs it in a container without network.
slimmer traces the same entry files (`node FILE` on the image). Every file nft lists must be
kept, or be one of nft's known over-approximations, each recognised here by a rule:

- the `main` of a package that has `exports`: Node ignores `main` then (nft keeps it for Node
  versions before 12.7);
- a target of the "module-sync" condition when the image's Node is older than 20.19/22.12 (the
  condition does not exist there);
- nft's hard-coded special cases for named packages (semver's preload.js, loaded lazily by
  semver 7.1 only).

Files slimmer keeps in the application directory that nft does not must carry one of the reasons
of rules nft does not have: a package kept whole for a require built at run time, the files that
match a partly known name, a data directory named by a path, a package.json Node reads.
"""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from slimmer.analysis import open_analysis
from slimmer.trace.node.packagejson import PackageJsons
from slimmer.trace.node.runtime import REQUIRE_MODULE_ABI
from slimmer.trace.roots import run_spec
from slimmer.trace.session import trace_image

import build_samples
import requires

pytestmark = [pytest.mark.daemon, pytest.mark.slow]

ORACLE_RECIPE = Path(__file__).resolve().parent / "nft-oracle"
ENTRIES = {
    "node-express": ("/app", ["/app/server.js"], 108),
    "node-official": ("/app", ["/app/src/server.js", "/app/scripts/check-env.js"], 127),
    "node-cli": ("/opt/invtool", ["/opt/invtool/bin/invtool.js", "/opt/invtool/lib/worker.js"], 108),
}
NFT_SPECIAL_CASES = {("semver", "preload.js")}  # nft's utils/special-cases.js: emitted for semver/index.js
OUR_EXTRA_REASONS = ("in package ", "matches ", "inside ", "package.json of the package scope",
                     "read to resolve")


@pytest.fixture(scope="module")
def nft(docker_client) -> Path:
    """@vercel/nft installed from the npm registry as the lockfile pins it (once per lockfile)."""
    lock = (ORACLE_RECIPE / "package-lock.json").read_bytes()
    target = build_samples.cache_dir() / "nft-oracle" / hashlib.sha256(lock).hexdigest()[:16]
    if not (target / "node_modules" / "@vercel" / "nft").is_dir():
        npm = requires.program("npm")
        staging = target.with_name(target.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(ORACLE_RECIPE / name, staging / name)
        subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=staging, check=True,
                       capture_output=True)
        staging.rename(target)
    shutil.copy(ORACLE_RECIPE / "trace.mjs", target / "trace.mjs")
    return target


def copy_out(client, image: str, directory: str, dest: Path) -> Path:
    """The image's `directory` (as `docker cp` gives it) under dest, at the same path."""
    container = client.containers.create(image, entrypoint=["/bin/true"], command=[])
    try:
        stream, _ = container.get_archive(directory)
        data = b"".join(stream)
    finally:
        container.remove(force=True)
    parent = dest / posixpath.dirname(directory).lstrip("/")
    parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(parent, filter="tar")
    return dest


def run_nft(sample_image, nft: Path, tree: Path, entries: list[str]) -> dict:
    proc = subprocess.run(["docker", "run", "--rm", "--network", "none", "--user", "0", "--entrypoint", "node",
                           "-v", f"{nft}:/nft:ro", "-v", f"{tree}:/x:ro", sample_image("node-official"),
                           "/nft/trace.mjs", "/x", *["/x" + e for e in entries]],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def nft_only_reason(path: str, packages: PackageJsons, abi: int) -> str | None:
    """Why Node never loads a file nft lists (None: no known reason)."""
    head, _, rest = path.rpartition("/node_modules/")
    parts = rest.split("/")
    name = "/".join(parts[:2] if parts[0].startswith("@") else parts[:1])
    package = packages.in_directory(f"{head}/node_modules/{name}")
    if package is None:
        return None
    relative = posixpath.relpath(path, package.directory)
    if (name, relative) in NFT_SPECIAL_CASES:
        return "nft special case"
    if package.exports is not None and package.main and \
            posixpath.normpath(posixpath.join(package.directory, package.main)) == path:
        return "main of a package with exports"
    if abi < REQUIRE_MODULE_ABI and f'"module-sync": "./{relative}"' in json.dumps(package.exports):
        return "module-sync target on a runtime without the condition"
    return None


@pytest.mark.parametrize("name", list(ENTRIES))
def test_every_file_nft_lists_is_traced(name, docker_client, sample_image, sample_archive, nft, tmp_path):
    directory, entries, abi = ENTRIES[name]
    tree = copy_out(docker_client, sample_image(name), directory, tmp_path / "tree")
    listed = {"/" + f for f in run_nft(sample_image, nft, tree, entries)["fileList"]}
    assert set(entries) <= listed
    with open_analysis(f"docker-archive:{sample_archive(name)}") as opened:
        reasons: dict[str, str] = {}
        for entry in entries:
            result = trace_image(opened.fs, run_spec(opened.image.config, entrypoint="node", cmd=entry))
            for path, reason in result.keep.reasons.items():
                reasons.setdefault(path, reason.text)
        packages = PackageJsons(opened.fs)
        unexplained = {p: nft_only_reason(p, packages, abi) for p in listed - set(reasons)}
        ours_only = {p: reasons[p] for p in reasons if p.startswith(directory + "/") and p not in listed
                     and opened.fs.lookup(p) is not None and opened.fs.lookup(p).is_file}
    assert not [p for p, why in unexplained.items() if why is None], unexplained
    assert not [p for p, why in ours_only.items() if not why.startswith(OUR_EXTRA_REASONS)], ours_only
