"""Node's module resolution, ours against the real runtimes.

A tree of packages covering the algorithm (extension probing, directory main/index, exports with
subpaths, patterns, nested conditions, null targets and fallbacks, imports maps, self-reference,
node_modules up the tree, NODE_PATH, npm-link and pnpm symlink layouts, ES module rules) is
written once; `slimmer.trace.node.resolve` resolves every case on it as an image, and the node of
each fixture image resolves them too, in a container (`--network none`, the tree mounted
read-only): CommonJS with `createRequire(parent).resolve(x)`, ES modules by importing `x` from a
module in the parent directory (each module exports its own path). Both runtimes are checked:
Debian's Node 18 (node-express) and the official Node 22 (node-official).
"""

from __future__ import annotations

import json
import posixpath
import subprocess
from pathlib import Path

import pytest

from slimmer.analysis import open_analysis
from slimmer.trace.node.options import NodeCommand
from slimmer.trace.node.packagejson import PackageJsons
from slimmer.trace.node.resolve import ModuleResolver
from slimmer.trace.node.runtime import NodeRuntime, read_build_config

from elfhelpers import rootfs_from_dir

pytestmark = [pytest.mark.daemon, pytest.mark.slow]

ROOT = "/r"
CJS = "module.exports = __filename;\n"
ESM = "export default decodeURIComponent(new URL(import.meta.url).pathname);\n"
PROBE = "export const load = (specifier) => import(specifier);\n"


def pj(**fields) -> str:
    return json.dumps(fields)


# path (under /r) -> file content, or ("symlink", target)
TREE: dict[str, str | tuple[str, str]] = {
    "package.json": pj(name="root-app", imports={
        "#dep": {"node": "./src/dep-node.js", "default": "./src/dep-default.js"},
        "#internal/*": "./src/internal/*.js", "#ext": "plain", "#builtin": "node:fs"}),
    "src/a.js": CJS, "src/b.json": json.dumps({"path": "/r/src/b.json"}), "src/dir/index.js": CJS,
    "src/both.js": CJS, "src/both/index.js": CJS, "src/onlydir.js": CJS, "src/onlydir/index.js": CJS,
    "src/withmain/package.json": pj(main="lib/entry"), "src/withmain/lib/entry.js": CJS,
    "src/maindir/package.json": pj(main="lib"), "src/maindir/lib/index.js": CJS,
    "src/badmain/package.json": pj(main="missing.js"), "src/badmain/index.js": CJS,
    "src/dep-node.js": CJS, "src/dep-default.js": CJS, "src/internal/util.js": CJS,
    "src/esm.mjs": ESM, "src/cjs.cjs": CJS, "src/with space.mjs": ESM, "src/deep/er/x.js": CJS,
    "node_modules/plain/package.json": pj(name="plain"), "node_modules/plain/index.js": CJS,
    "node_modules/plain/sub.js": CJS,
    "node_modules/mainpkg/package.json": pj(name="mainpkg", main="./dist/entry.js"),
    "node_modules/mainpkg/dist/entry.js": CJS,
    "node_modules/noext/package.json": pj(main="lib/entry"), "node_modules/noext/lib/entry.js": CJS,
    "node_modules/@scope/pkg/package.json": pj(name="@scope/pkg", main="main.js"),
    "node_modules/@scope/pkg/main.js": CJS, "node_modules/@scope/pkg/extra.js": CJS,
    "node_modules/exp/package.json": pj(name="exp", exports={
        ".": {"types": "./types.d.ts", "import": "./esm/index.mjs", "require": "./cjs/index.js"},
        "./feature": {"node": {"import": "./esm/feature.mjs", "require": "./cjs/feature.js"},
                      "default": "./browser/feature.js"},
        "./utils/*": "./src/utils/*.js", "./utils/private/*": None,
        "./fallback": ["not-relative", "./cjs/fallback.js"], "./package.json": "./package.json"}),
    "node_modules/exp/esm/index.mjs": ESM, "node_modules/exp/cjs/index.js": CJS,
    "node_modules/exp/esm/feature.mjs": ESM, "node_modules/exp/cjs/feature.js": CJS,
    "node_modules/exp/browser/feature.js": CJS, "node_modules/exp/src/utils/x.js": CJS,
    "node_modules/exp/src/utils/private/y.js": CJS, "node_modules/exp/cjs/fallback.js": CJS,
    "node_modules/exp/cjs/hidden.js": CJS,
    "node_modules/sugar/package.json": pj(exports="./lib/only.js"), "node_modules/sugar/lib/only.js": CJS,
    "node_modules/sugar/lib/other.js": CJS,
    "node_modules/selfpkg/package.json": pj(name="selfpkg", exports={".": "./index.js", "./feature": "./feature.js"}),
    "node_modules/selfpkg/index.js": CJS, "node_modules/selfpkg/feature.js": CJS,
    "node_modules/selfpkg/inner/x.js": CJS,
    "node_modules/outer/index.js": CJS, "node_modules/outer/node_modules/plain/index.js": CJS,
    "node_modules/esmonly/package.json": pj(name="esmonly", type="module", main="index.js"),
    "node_modules/esmonly/index.js": ESM,
    "node_modules/modsync/package.json": pj(name="modsync", exports={
        ".": {"module-sync": "./sync.mjs", "require": "./req.js", "default": "./def.js"}}),
    "node_modules/modsync/sync.mjs": ESM, "node_modules/modsync/req.js": CJS, "node_modules/modsync/def.js": CJS,
    # npm link / workspaces: the package lives elsewhere, node_modules has a symlink
    "node_modules/linked": ("symlink", "../packages/linked"),
    "packages/linked/package.json": pj(name="linked"), "packages/linked/index.js": CJS,
    # pnpm: node_modules/foo -> .pnpm/foo@1.0.0/node_modules/foo, its deps are its siblings there
    "node_modules/foo": ("symlink", ".pnpm/foo@1.0.0/node_modules/foo"),
    "node_modules/.pnpm/foo@1.0.0/node_modules/foo/package.json": pj(name="foo"),
    "node_modules/.pnpm/foo@1.0.0/node_modules/foo/index.js": CJS,
    "node_modules/.pnpm/foo@1.0.0/node_modules/bar": ("symlink", "../../bar@2.0.0/node_modules/bar"),
    "node_modules/.pnpm/bar@2.0.0/node_modules/bar/package.json": pj(name="bar"),
    "node_modules/.pnpm/bar@2.0.0/node_modules/bar/index.js": CJS,
    "global/globalmod/index.js": CJS,
}

SRC = f"{ROOT}/src"
PNPM_FOO = f"{ROOT}/node_modules/.pnpm/foo@1.0.0/node_modules/foo"
# (kind, specifier, parent directory)
CASES: list[tuple[str, str, str]] = [
    *[("require", s, SRC) for s in [
        "./a", "./a.js", "./b", "./dir", "./both", "./onlydir", "./onlydir/", "./withmain", "./maindir", "./badmain",
        "./missing", "../node_modules/plain", "/r/src/a", "#dep", "#internal/util", "#ext", "#builtin", "#nope",
        "plain", "plain/sub", "plain/sub.js", "mainpkg", "noext", "@scope/pkg", "@scope/pkg/extra",
        "exp", "exp/feature", "exp/utils/x", "exp/utils/private/y", "exp/fallback", "exp/package.json",
        "exp/cjs/hidden.js", "sugar", "sugar/lib/other.js", "modsync", "linked", "foo", "bar", "globalmod",
        "fs", "node:fs", "fs/promises", "nothere"]],
    ("require", "plain", f"{ROOT}/src/deep/er"),
    ("require", "plain", f"{ROOT}/node_modules/outer"),
    ("require", "selfpkg/feature", f"{ROOT}/node_modules/selfpkg/inner"),
    ("require", "bar", PNPM_FOO),
    ("require", "plain", f"{ROOT}/packages/linked"),
    *[("import", s, SRC) for s in [
        "./a.js", "./esm.mjs", "./cjs.cjs", "./a", "./dir", "./with%20space.mjs", "file:///r/src/esm.mjs",
        "#dep", "#internal/util", "plain", "plain/sub.js", "plain/sub", "mainpkg", "noext", "esmonly",
        "exp", "exp/feature", "exp/utils/x", "exp/fallback", "sugar", "modsync", "linked", "foo", "globalmod",
        "node:fs", "fs"]],
    ("import", "bar", PNPM_FOO),
    ("import", "selfpkg", f"{ROOT}/node_modules/selfpkg/inner"),
]
PROBE_MAIN = """
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const cases = JSON.parse(readFileSync('/r/cases.json', 'utf8'));
const out = [];
for (const [kind, specifier, parent] of cases) {
  try {
    if (kind === 'require') out.push(createRequire(parent + '/__probe__.js').resolve(specifier));
    else {
      const loaded = (await (await import(parent + '/__probe__.mjs')).load(specifier)).default;
      out.push(typeof loaded === 'string' ? loaded : 'builtin');
    }
  } catch (e) { out.push('ERROR ' + (e.code || e.message)); }
}
process.stdout.write(JSON.stringify(out));
"""


def write_tree(root: Path) -> None:
    for relative, content in TREE.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, tuple):
            path.symlink_to(content[1])
        else:
            path.write_text(content)
    for _kind, _spec, parent in CASES:
        directory = root / posixpath.relpath(parent, ROOT)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "__probe__.mjs").write_text(PROBE)
    (root / "cases.json").write_text(json.dumps(CASES))
    (root / "probe.mjs").write_text(PROBE_MAIN)


def runtime_answers(image: str, tree: Path) -> list[str]:
    """What the image's node says for each case."""
    proc = subprocess.run(["docker", "run", "--rm", "--network", "none", "--user", "0", "--entrypoint", "node",
                           "-v", f"{tree}:{ROOT}:ro", "-e", f"NODE_PATH={ROOT}/global", image, f"{ROOT}/probe.mjs"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def runtime_of(sample_archive, name: str, program: str) -> NodeRuntime:
    """The fixture's node as the tracer sees it: its build configuration read from the image."""
    with open_analysis(f"docker-archive:{sample_archive(name)}") as opened:
        fs = opened.fs
        for path in (program, "/usr/lib/x86_64-linux-gnu/libnode.so.108"):
            entry = fs.lookup(path)
            config = read_build_config(fs, path, entry) if entry is not None else None
            if config is not None:
                return NodeRuntime(fs.resolve(program).path, config)
    raise AssertionError(f"no build configuration in {name}")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("node-resolution") / "r"
    root.mkdir()
    write_tree(root)
    fs = rootfs_from_dir(root.parent, tmp_path_factory.mktemp("node-resolution-layer"))
    return root, fs


@pytest.mark.parametrize(("sample", "program", "abi"), [("node-express", "/usr/bin/node", 108),
                                                        ("node-official", "/usr/local/bin/node", 127)])
def test_resolution_agrees_with_the_runtime(tree, sample_image, sample_archive, sample, program, abi):
    root, fs = tree
    runtime = runtime_of(sample_archive, sample, program)
    assert runtime.config.module_version == abi
    settings = runtime.settings(NodeCommand(), {"NODE_PATH": f"{ROOT}/global"}, homes=[])
    resolver = ModuleResolver(fs, PackageJsons(fs), settings)
    answers = runtime_answers(sample_image(sample), root)
    disagreements = []
    for (kind, specifier, parent), answer in zip(CASES, answers, strict=True):
        ours = resolver.require(specifier, parent) if kind == "require" else resolver.import_(specifier, parent)
        if answer.startswith("ERROR"):
            agrees = ours.error is not None
        elif not answer.startswith("/"):  # "fs", "node:fs", "fs/promises", or a built-in imported
            agrees = ours.builtin
        else:
            # Node answers with the real path; ours is the path as opened (symlinks kept in the image).
            agrees = answer in {fs.resolve(p).path for p in ours.files}
        if not agrees:
            disagreements.append(f"{kind}({specifier!r}) from {parent}: node {answer!r}, "
                                 f"ours {ours.files or ours.error or 'builtin'}")
    assert not disagreements, "\n".join(disagreements)
    # A possible condition is kept as such: Node 22 takes "module-sync", Node 18 does not know it.
    modsync = resolver.require("modsync", SRC).files
    assert modsync == ([f"{ROOT}/node_modules/modsync/sync.mjs", f"{ROOT}/node_modules/modsync/req.js"]
                       if abi >= 115 else [f"{ROOT}/node_modules/modsync/req.js"])


def test_debian_runtime_configuration_is_read_from_libnode(sample_archive):
    """Debian's node names its global folders and the built-ins it loads from files in libnode."""
    runtime = runtime_of(sample_archive, "node-express", "/usr/bin/node")
    assert runtime.config.found_in == "/usr/lib/x86_64-linux-gnu/libnode.so.108"
    assert runtime.config.relative_paths == ("lib/x86_64-linux-gnu/nodejs", "share/nodejs")
    assert "/usr/share/nodejs/cjs-module-lexer/lexer.js" in runtime.config.shared_builtins
    settings = runtime.settings(NodeCommand(), {}, homes=["/home/app"])
    assert settings.global_folders == ("/home/app/.node_modules", "/home/app/.node_libraries",
                                       "/usr/lib/x86_64-linux-gnu/nodejs", "/usr/share/nodejs")
