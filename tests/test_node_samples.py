"""The Node.js samples end to end: slimmed with default options, both images run, and the slim
image held against what the app really touches.

- node-express: Express on Debian's nodejs, as a non-root user (a relative CommonJS module, a JSON
  require, an ES module imported dynamically that imports packages with `exports` and `imports`
  maps, crypto and zlib, express.static);
- node-official: Fastify in ES modules on the official Node.js build, started by `npm start`;
- node-cli: a CLI reached through npm-link symlinks and `#!/usr/bin/env node`, whose subcommands
  require their packages lazily and spawn `sort` and a child node: slimmed from its default
  command (`help`) only, every subcommand must work.

Servers run a bounded smoke test (`--smoke`: start, query each route over HTTP, exit), so
`--verify` compares a whole run. Oracles: `docker run` of both images, and `strace -f` of the fat
image (fixtures/strace_truth.py; for the CLI, the union over every subcommand).
"""

from __future__ import annotations

import json
import os
import re
import shlex

import pytest

from slimmer.slim import SlimOptions, slim

import strace_truth

pytestmark = [pytest.mark.daemon, pytest.mark.slow]

SUBCOMMANDS = {
    "node-express": [],
    "node-official": [],
    "node-cli": ["check 1.4.2 ^1.2.0", "stock", "when 2024-03-01T10:30:00Z", "count", "gz hello"],
}
MAX_OVER_TRUTH = 1.3  # slim image bytes / bytes the app touches
MIN_REDUCTION = 2.0  # fat / slim: the official node binary alone is 123 MB of node-official's 321 MB
# Touched at run time, rightly not kept: Debian's /usr/bin/node has RUNPATH $ORIGIN/../lib:$ORIGIN/, and
# glibc's loader stats the legacy hwcap subdirectory "x86_64" of each RUNPATH directory; in /usr/bin
# that name is util-linux's `x86_64 -> setarch` symlink, a file, which the loader skips.
NOT_NEEDED = {
    "node-express": {"/usr/bin/x86_64", "/usr/bin/setarch"},
    "node-cli": {"/usr/bin/x86_64", "/usr/bin/setarch"},
}
NOT_RUNTIME = re.compile(r"(?i)(^|/)(readme[^/]*|changelog[^/]*|[^/]*\.md|[^/]*\.d\.[cm]?ts|[^/]*\.map)$")


@pytest.fixture(scope="module")
def slimmed(docker_client, sample_image, tmp_path_factory):
    """Each sample slimmed once into the daemon, verified with its default command and subcommands."""
    results = {}
    for name, commands in SUBCOMMANDS.items():
        report = tmp_path_factory.mktemp(name) / "report.json"
        result = slim(sample_image(name), SlimOptions(tag=f"slimmer-node-test/{name}:slim-{os.getpid()}", verify=True,
                                                      verify_cmds=tuple(commands), report=report))
        results[name] = (result, json.loads(report.read_text()))
    yield results
    for name in SUBCOMMANDS:
        docker_client.images.remove(f"slimmer-node-test/{name}:slim-{os.getpid()}", force=True)  # the daemon is shared


@pytest.fixture(scope="module")
def truths(sample_image):
    """What each app touches under strace: the default command, and every subcommand of the CLI."""
    found = {}
    for name, commands in SUBCOMMANDS.items():
        sample_image(name)
        runs = [strace_truth.truth(name)] + [strace_truth.truth(name, shlex.split(c)) for c in commands]
        assert all(run["exit_code"] == 0 for run in runs), [(run["command"], run["exit_code"]) for run in runs]
        files = {f["path"]: f["size"] for run in runs for f in run["files"]}
        found[name] = files
    return found


@pytest.mark.parametrize("name", list(SUBCOMMANDS))
def test_slim_image_behaves_the_same_for_every_command(slimmed, name):
    result, report = slimmed[name]
    assert len(result.comparisons) == 1 + len(SUBCOMMANDS[name])
    for comparison in result.comparisons:
        assert comparison.same, comparison.diff()
        assert comparison.original.exit_code == 0 and comparison.slim.stdout
    assert report["sizes"]["before"] / report["sizes"]["after"] > MIN_REDUCTION


@pytest.mark.parametrize("name", list(SUBCOMMANDS))
def test_slim_image_keeps_what_the_app_touches_and_little_else(slimmed, truths, name):
    result, report = slimmed[name]
    touched = truths[name]
    kept = {f["path"] for f in report["files"]}
    missing = set(touched) - kept - NOT_NEEDED.get(name, set())
    assert not missing, f"touched at run time but not kept: {sorted(missing)}"
    assert NOT_NEEDED.get(name, set()) <= set(touched), "an explained exception no longer happens: drop it"
    ratio = result.size_after / sum(touched.values())
    assert ratio <= MAX_OVER_TRUTH, f"{name}: slim {result.size_after} B is {ratio:.2f}x the {sum(touched.values())} B touched"


def package_dir(module: str) -> str:
    """/x/node_modules/@scope/name/lib/a.js -> /x/node_modules/@scope/name"""
    head, _, rest = module.rpartition("/node_modules/")
    parts = rest.split("/")
    return f"{head}/node_modules/" + "/".join(parts[:2] if parts[0].startswith("@") else parts[:1])


@pytest.mark.parametrize("name", list(SUBCOMMANDS))
def test_kept_packages_keep_their_package_json_and_no_docs_maps_or_types(slimmed, name):
    _, report = slimmed[name]
    kept = {f["path"] for f in report["files"]}
    modules = [p for p in kept if "/node_modules/" in p and p.endswith((".js", ".mjs", ".cjs"))]
    assert modules
    without = {package_dir(m) for m in modules if package_dir(m) + "/package.json" not in kept}
    assert not without, f"packages kept without their package.json: {sorted(without)}"
    assert not [p for p in kept if "/node_modules/" in p and NOT_RUNTIME.search(p)]


def test_reasons_and_warnings_say_how_node_reached_each_file(slimmed):
    _, express = slimmed["node-express"]
    by_path = {f["path"]: f for f in express["files"]}
    assert by_path["/app/lib/greet.js"]["reason"] == "required by /app/server.js:9"
    assert by_path["/app/lib/report.mjs"]["reason"] == "imported dynamically by /app/server.js:20"
    assert by_path["/app/config.json"]["reason"] == "required by /app/server.js:8"
    assert by_path["/app/public/index.html"]["reason"] == "inside /app/public (path named in /app/server.js:12)"
    # chalk's own "#ansi-styles" through its package.json "imports"; uuid's nested "exports" for import
    assert by_path["/app/node_modules/chalk/source/vendor/ansi-styles/index.js"]["reason"] == \
        "imported by /app/node_modules/chalk/source/index.js:1"
    assert by_path["/app/node_modules/uuid/wrapper.mjs"]["reason"] == "imported by /app/lib/report.mjs:5"
    assert "/app/node_modules/uuid/dist/esm-browser/index.js" not in by_path
    # Debian's libnode loads these built-ins from files: no loader or import names them
    assert by_path["/usr/share/nodejs/cjs-module-lexer/lexer.js"]["reason"] == \
        "built-in module of /usr/lib/x86_64-linux-gnu/libnode.so.108 loaded from a file"
    assert [w for w in express["warnings"] if w["path"] == "/app/node_modules/express/lib/view.js"] == [
        {"path": "/app/node_modules/express/lib/view.js",
         "message": "line 81: require of a name built at run time (${...}): kept the whole package "
                    "/app/node_modules/express"}]
    _, official = slimmed["node-official"]
    assert any(w["message"].startswith("npm is the program that runs (ENTRYPOINT/CMD)") for w in official["warnings"])
    by_path = {f["path"]: f for f in official["files"]}
    assert by_path["/app/src/lib/format.js"]["reason"] == "imported by /app/src/server.js:6"  # "#lib/*" of /app
    # npm reads the bash script /usr/bin/ldd to tell the libc: kept, but read, so no bash and no libtinfo
    assert by_path["/usr/bin/ldd"]["reason"].startswith("path named at line 17 of /usr/local/lib/node_modules/npm/")
    assert not {"/usr/bin/bash", "/usr/lib/x86_64-linux-gnu/libtinfo.so.6.4"} & set(by_path)
    assert not [w for w in official["warnings"] if "python3" in w["message"]]  # node-gyp's .py files are data
    _, cli = slimmed["node-cli"]
    by_path = {f["path"]: f for f in cli["files"]}
    assert by_path["/opt/invtool/lib/worker.js"]["reason"].startswith(
        "program run by node (run by child_process in /opt/invtool/bin/invtool.js:")
    assert by_path["/usr/bin/sort"]["reason"].startswith("run by child_process in /opt/invtool/bin/invtool.js:")
    assert by_path["/opt/invtool/node_modules/dayjs/plugin/utc.js"]["reason"].startswith(
        "required by /opt/invtool/bin/invtool.js:")
