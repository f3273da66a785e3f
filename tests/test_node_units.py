"""The Node.js tracer's parts, without a daemon: exports maps, the node command line, what the
syntax tree says a module loads, and whole traces of synthetic images (node behind `#!/usr/bin/env`,
npm scripts, a require built at run time, native addons, child processes, workers).

The stand-in `node` is a file holding the fragment of build configuration the tracer reads from
the real binaries (tests/test_node_resolution.py reads the real ones).
"""

from __future__ import annotations

import json

import pytest

from slimmer.trace.node.addons import addon_files
from slimmer.trace.node.dependencies import DependencyKind, extract
from slimmer.trace.node.exportsmap import Conditions, PackageMapError, resolve_exports, resolve_imports
from slimmer.trace.node.options import NodeCommand, parse_node_options, parse_node_options_env
from slimmer.trace.roots import run_spec
from slimmer.trace.session import trace_image

from imagefactory import File, Symlink, make_layer, merged_rootfs

REQUIRE = Conditions(frozenset({"node", "require"}))
IMPORT = Conditions(frozenset({"node", "import"}))
NODE = File(b'\x00stand-in node { "variables": { "node_module_version": 127, } }\x00', mode=0o755)
BIN = File(b"\0stand-in program\0", mode=0o755)


def files(targets) -> list[str]:
    return [t.path or f"package:{t.package_specifier}" for t in targets]


# -- exports and imports maps -----------------------------------------------------------------

def test_exports_pick_the_most_specific_pattern_and_honour_null_and_conditions():
    exports = {
        ".": {"types": "./index.d.ts", "import": "./index.mjs", "require": "./index.cjs"},
        "./features/*": "./src/features/*.js",
        "./features/*.js": "./src/features/*.js",
        "./features/internal/*": None,
        "./deep": {"node": {"worker": "./w.js", "require": "./deep-node.cjs"}, "default": "./deep.js"},
    }
    assert files(resolve_exports("/p", ".", exports, REQUIRE)) == ["/p/index.cjs"]
    assert files(resolve_exports("/p", ".", exports, IMPORT)) == ["/p/index.mjs"]
    assert files(resolve_exports("/p", "./features/a/b", exports, REQUIRE)) == ["/p/src/features/a/b.js"]
    # "./features/*.js" has the longer trailer: it wins for "x.js" (no "x.js.js")
    assert files(resolve_exports("/p", "./features/x.js", exports, REQUIRE)) == ["/p/src/features/x.js"]
    with pytest.raises(PackageMapError):
        resolve_exports("/p", "./features/internal/secret", exports, REQUIRE)
    assert files(resolve_exports("/p", "./deep", exports, REQUIRE)) == ["/p/deep-node.cjs"]
    assert files(resolve_exports("/p", "./deep", exports, IMPORT)) == ["/p/deep.js"]  # nested miss falls through
    with pytest.raises(PackageMapError):
        resolve_exports("/p", "./package.json", exports, REQUIRE)


def test_a_possible_condition_keeps_both_branches():
    exports = {".": {"module-sync": "./sync.mjs", "require": "./req.cjs", "default": "./def.js"}}
    possible = Conditions(frozenset({"node", "require"}), frozenset({"module-sync"}))
    assert files(resolve_exports("/p", ".", exports, possible)) == ["/p/sync.mjs", "/p/req.cjs"]
    assert files(resolve_exports("/p", ".", exports, REQUIRE)) == ["/p/req.cjs"]


def test_sugar_arrays_and_targets_that_leave_the_package():
    assert files(resolve_exports("/p", ".", "./main.js", REQUIRE)) == ["/p/main.js"]
    assert files(resolve_exports("/p", ".", {"require": "./r.js"}, REQUIRE)) == ["/p/r.js"]
    assert files(resolve_exports("/p", ".", ["bad-target", "./second.js"], REQUIRE)) == ["/p/second.js"]
    with pytest.raises(PackageMapError):
        resolve_exports("/p", ".", "./../outside.js", REQUIRE)
    imports = {"#dep": {"node": "dep-package", "default": "./polyfill.js"}, "#lib/*": "./lib/*.js"}
    assert files(resolve_imports("/p", "#dep", imports, REQUIRE)) == ["package:dep-package"]
    assert files(resolve_imports("/p", "#lib/a/b", imports, IMPORT)) == ["/p/lib/a/b.js"]
    with pytest.raises(PackageMapError):
        resolve_imports("/p", "#/x", imports, REQUIRE)


# -- the command line -------------------------------------------------------------------------

def test_node_options_that_load_code_and_the_program_operand():
    command = parse_node_options(["--max-old-space-size=512", "-r", "dotenv/config", "--import=./boot.mjs",
                                  "-C", "development", "--env-file", ".env", "--title", "app", "server.js", "-r", "x"])
    assert command.requires == ["dotenv/config"] and command.imports == ["./boot.mjs"]
    assert command.conditions == ["development"] and command.files == [".env"]
    assert command.script == "server.js" and command.requires == ["dotenv/config"]  # after the program: its own
    inline = parse_node_options(["-pe", "require('x')"])
    assert inline.script is None and inline.inline_code == ["require('x')"]
    assert parse_node_options(["-", "arg"]).script is None  # the program comes from standard input
    env = parse_node_options_env('--require "./pre load.js" --conditions=custom', NodeCommand())
    assert env.requires == ["./pre load.js"] and env.conditions == ["custom"] and env.script is None


# -- what a module loads -------------------------------------------------------------------------

SOURCE = b"""#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { Worker } from 'worker_threads';
const cp = require('child_process'); const p = require('path');
const { createRequire } = require('module'); const r = createRequire(import.meta.url);
const yaml = r('yaml');
function later() { try { return require('optional-dep') } catch (e) {} }
cp.execFileSync('sort', ['-r', file]); spawn(process.execPath, [p.join(__dirname, 'child.js')]);
cp.exec('ls /tmp | wc -l'); new Worker(new URL('./w.js', import.meta.url));
const LOCALES = './locale/'; require(LOCALES + lang + '.js'); require(name);
const fs = require('fs'); fs.readFileSync(p.join(__dirname, '..', 'data', 'x.json'));
require.resolve('pkg/package.json'); import.meta.resolve('z');
export * from './re.js';
(0, cp.spawnSync)('git', ['status'], { shell: true });
const ts_1 = __importDefault(require("cross-spawn")); (0, ts_1.default)("make", ["all"]);
/re/.exec('not a program');
"""


def test_dependencies_of_every_kind_with_their_lines():
    found = [(d.kind, d.line, d.value.parts) for d in extract(SOURCE, "/app/src/main.mjs", "/app")]
    k = DependencyKind
    expected = [
        (k.IMPORT, 2, ("node:child_process",)), (k.REQUIRE, 6, ("yaml",)), (k.REQUIRE, 7, ("optional-dep",)),
        (k.SPAWN, 8, ("sort",)), (k.SHELL, 9, ("ls /tmp | wc -l",)), (k.WORKER, 9, ("file:///app/src/w.js",)),
        (k.REQUIRE, 10, ("./locale/", None, ".js")), (k.REQUIRE, 10, (None,)),
        (k.FILE, 11, ("/app/data/x.json",)), (k.REQUIRE_RESOLVE, 12, ("pkg/package.json",)),
        (k.IMPORT_RESOLVE, 12, ("z",)), (k.IMPORT, 13, ("./re.js",)), (k.SHELL, 14, ("git status",)),
        (k.SPAWN, 15, ("make",)),
    ]
    for item in expected:
        assert item in found, item
    by_line = {(d.kind, d.line): d for d in extract(SOURCE, "/app/src/main.mjs", "/app")}
    assert by_line[(k.REQUIRE, 7)].optional and not by_line[(k.REQUIRE, 6)].optional
    node_child = [d for d in extract(SOURCE, "/app/src/main.mjs", "/app") if d.exec_path]
    assert [a.literal for a in node_child[0].args or ()] == ["/app/src/child.js"]
    assert not [d for d in found if d[0] is k.SPAWN and d[2] == ("not a program",)]  # RegExp#exec is no spawn


EXPRESS_APP = b"""const express = require('express'); const serveStatic = require('serve-static');
const path = require('path'); const app = express(); const admin = express();
app.set('view engine', 'pug');
admin.set('views', path.join(__dirname, 'admin-views')); admin.set('view engine', 'ejs');
app.use(express.static('public')); app.use('/docs', serveStatic(path.join(__dirname, 'docs')));
app.get('/f/:n', (req, res) => res.sendFile(req.params.n, { root: 'files' }));
app.set('trust proxy', 1); res.set('views', 2, 3); other.set('view engine');
"""


def test_express_folders_and_view_engines():
    found = {(d.kind, d.line, d.value.literal) for d in extract(EXPRESS_APP, "/srv/app/index.js", "/srv")}
    k = DependencyKind
    assert {(k.REQUIRE, 3, "pug"), (k.FILE, 3, "views"),  # Express's default folder, from the working directory
            (k.FILE, 4, "/srv/app/admin-views"), (k.REQUIRE, 4, "ejs"),
            (k.FILE, 5, "public"), (k.FILE, 5, "/srv/app/docs"), (k.FILE, 6, "files")} <= found
    assert not {d for d in found if d[1] == 7}  # other settings, and calls that are no setting


# -- whole traces of synthetic images ------------------------------------------------------------

def pj(**fields) -> bytes:
    return json.dumps(fields).encode()


BASE = [
    ("usr/bin/node", NODE), ("usr/bin/env", BIN), ("usr/bin/dash", BIN), ("bin", Symlink("usr/bin")),
    ("usr/bin/sh", Symlink("dash")), ("usr/bin/sort", BIN), ("usr/bin/git", BIN),
    ("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"), "tmp/", "root/",
]
APP = [
    ("app/package.json", pj(name="app", scripts={"prestart": "node check.js", "start": "node server.js --port 1",
                                                 "poststart": "echo done"})),
    ("app/check.js", b"require('./lib/util');\n"),
    ("app/server.js", File(b"#!/usr/bin/env node\nconst views = require('./views');\nconst lib = require('lib');\n"
                      b"const { execFileSync } = require('child_process');\nexecFileSync('sort', ['x']);\n", mode=0o755)),
    ("app/views/index.js", b"module.exports = require('./' + process.env.VIEW);\n"),
    ("app/views/a.js", b"module.exports = 1;\n"), ("app/views/b.json", b"{}"), ("app/views/README.md", b"# views"),
    ("app/lib/util.js", b"module.exports = {};\n"),
    ("app/node_modules/lib/package.json", pj(name="lib", main="src/index.js", browser={"./src/fs.js": "./src/fs-browser.js"})),
    ("app/node_modules/lib/src/index.js", b"const m = require(pick());\nrequire('bindings')('native');\n"),
    ("app/node_modules/lib/src/fs.js", b"module.exports = 1;\n"),
    ("app/node_modules/lib/src/fs-browser.js", b"module.exports = 2;\n"),
    ("app/node_modules/lib/src/index.d.ts", b"export {};\n"), ("app/node_modules/lib/src/index.js.map", b"{}"),
    ("app/node_modules/lib/test/index.test.js", b"require('assert');\n"),
    ("app/node_modules/lib/README.md", b"# lib\n"),
    ("app/node_modules/lib/build/Release/native.node", b"stand-in addon"),
    ("app/node_modules/bindings/package.json", pj(name="bindings", main="bindings.js")),
    ("app/node_modules/bindings/bindings.js", b"module.exports = function () {};\n"),
    ("app/node_modules/unused/index.js", b"module.exports = 0;\n"),
]


def trace(tmp_path, config: dict, extra=()):
    fs = merged_rootfs(tmp_path, make_layer(BASE + APP + list(extra), parents=True)).rootfs
    return trace_image(fs, run_spec({"config": config}))


def test_npm_start_runs_the_scripts_around_start_and_warns_that_npm_itself_is_kept(tmp_path):
    npm_cli = b"#!/usr/bin/env node\nrequire('../lib/cli.js')(process);\n"
    result = trace(tmp_path, {"Cmd": ["npm", "start"], "WorkingDir": "/app", "Env": ["PATH=/usr/local/bin:/usr/bin"]},
                   [("usr/local/lib/node_modules/npm/bin/npm-cli.js", File(npm_cli, mode=0o755)),
                    ("usr/local/lib/node_modules/npm/lib/cli.js", b"module.exports = () => {};\n"),
                    ("usr/local/lib/node_modules/npm/package.json", pj(name="npm")),
                    ("usr/local/bin/npm", Symlink("../lib/node_modules/npm/bin/npm-cli.js"))])
    keep = result.keep
    for path in ("/usr/local/lib/node_modules/npm/lib/cli.js", "/app/check.js", "/app/lib/util.js",
                 "/app/server.js", "/app/views/a.js", "/usr/bin/sort", "/usr/bin/dash"):
        assert path in keep, path
    assert keep.reasons["/app/check.js"].text == ("program run by node (run at line 1 of sh -c in script 'prestart' "
                                                  "of /app/package.json run by npm (ENTRYPOINT/CMD))")
    assert "/app/node_modules/unused/index.js" not in keep
    messages = [w.message for w in keep.warnings]
    assert any(m.startswith("npm is the program that runs") and "node server.js --port 1" in m for m in messages)


def test_a_require_built_at_run_time_keeps_what_its_known_text_allows_or_the_whole_package(tmp_path):
    result = trace(tmp_path, {"Entrypoint": ["/app/server.js"], "WorkingDir": "/app"})
    keep = result.keep
    assert "/app/server.js" in keep and "/usr/bin/env" in keep and "/usr/bin/node" in keep
    # `require('./' + VIEW)`: the files of views/ that `require` could reach, not the README
    assert {"/app/views/a.js", "/app/views/b.json"} <= set(keep.reasons) and "/app/views/README.md" not in keep
    # `require(pick())` in lib: all of lib that Node may load, without docs, tests, maps, types, browser files
    assert "/app/node_modules/lib/src/fs.js" in keep
    assert keep.reasons["/app/node_modules/lib/src/fs.js"].text.startswith("in package /app/node_modules/lib, kept whole")
    for dropped in ("src/fs-browser.js", "src/index.d.ts", "src/index.js.map", "test/index.test.js", "README.md"):
        assert f"/app/node_modules/lib/{dropped}" not in keep, dropped
    warnings = {w.path: w.message for w in keep.warnings}
    assert warnings["/app/node_modules/lib/src/index.js"] == (
        "line 1: require of a name built at run time (${...}): kept the whole package /app/node_modules/lib")
    assert warnings["/app/views/index.js"].startswith("line 1: require of a name built at run time (./${...})")
    assert "/app/node_modules/lib/build/Release/native.node" in keep
    assert "/usr/bin/sort" in keep  # execFileSync('sort', ...)


def test_workers_forks_and_process_exec_path_start_node_modules(tmp_path):
    main = (b"const { Worker } = require('node:worker_threads'); const path = require('path');\n"
            b"new Worker(path.join(__dirname, 'worker.js'));\n"
            b"require('child_process').fork(__dirname + '/forked');\n"
            b"require('child_process').spawnSync(process.execPath, [path.join(__dirname, 'child.mjs')]);\n"
            b"const settings = '/etc/app/settings.json'; // read by a library, by this absolute path\n")
    result = trace(tmp_path, {"Cmd": ["node", "main.js"], "WorkingDir": "/srv"},
                   [("srv/main.js", main), ("srv/worker.js", b"require('./w-dep');\n"), ("srv/w-dep.js", b""),
                    ("srv/forked.js", b"import('./f-dep.mjs');\n"), ("srv/f-dep.mjs", b""),
                    ("srv/child.mjs", b"import './c-dep.mjs';\n"), ("srv/c-dep.mjs", b""),
                    ("etc/app/settings.json", b"{}")])
    keep = result.keep
    for path in ("/srv/worker.js", "/srv/w-dep.js", "/srv/forked.js", "/srv/f-dep.mjs", "/srv/child.mjs", "/srv/c-dep.mjs"):
        assert path in keep, path
    assert keep.reasons["/srv/worker.js"].text == "worker thread started by /srv/main.js:2"
    assert keep.reasons["/srv/c-dep.mjs"].text == "imported by /srv/child.mjs:1"
    assert keep.reasons["/etc/app/settings.json"].text == "path named at line 5 of /srv/main.js"


def test_native_addons_of_a_package_for_the_runtimes_machine_only(tmp_path):
    def elf(machine: int) -> File:
        return File(b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x03\x00" + machine.to_bytes(2, "little") + bytes(44))

    fs = merged_rootfs(tmp_path, make_layer([
        ("p/build/Release/addon.node", elf(62)), ("p/prebuilds/linux-x64/node.napi.glibc.node", elf(62)),
        ("p/prebuilds/linux-arm64/node.napi.glibc.node", elf(183)), ("p/prebuilds/win32-x64/node.napi.node", b"MZ"),
        ("p/node_modules/dep/build/Release/dep.node", elf(62)),
    ], parents=True)).rootfs
    assert addon_files(fs, "/p", 62) == ["/p/build/Release/addon.node", "/p/prebuilds/linux-x64/node.napi.glibc.node"]


@pytest.mark.parametrize(("cmd", "kept", "not_kept"), [
    (["yarn", "start"], {"/app/check.js", "/app/server.js"}, set()),  # pre and post scripts run too
    (["node", "--run", "start"], {"/app/server.js"}, {"/app/check.js"}),  # no pre/post scripts
    (["npx", "tool", "--flag"], {"/app/node_modules/.bin/tool", "/app/node_modules/tool/lib.js"}, {"/app/server.js"}),
])
def test_other_package_managers_and_node_run(tmp_path, cmd, kept, not_kept):
    tool = [("app/node_modules/tool/cli.js", File(b"#!/usr/bin/env node\nrequire('./lib');\n", mode=0o755)),
            ("app/node_modules/tool/lib.js", b""), ("app/node_modules/.bin/tool", Symlink("../tool/cli.js")),
            ("usr/local/bin/yarn", File(b"#!/usr/bin/env node\n", mode=0o755)),
            ("usr/local/bin/npx", File(b"#!/usr/bin/env node\n", mode=0o755))]
    keep = trace(tmp_path, {"Cmd": cmd, "WorkingDir": "/app", "Env": ["PATH=/usr/local/bin:/usr/bin"]}, tool).keep
    assert kept <= set(keep.reasons) and not (not_kept & set(keep.reasons)), sorted(keep.reasons)


def test_node_and_npm_in_shell_scripts_get_their_whole_command_lines(tmp_path):
    entrypoint = File(b"#!/bin/sh\nset -e\nnode check.js\nexec node \"$APP_MAIN\" --port 8080\n", mode=0o755)
    keep = trace(tmp_path, {"Entrypoint": ["/entrypoint.sh"], "WorkingDir": "/app"},
                 [("entrypoint.sh", entrypoint)]).keep
    assert keep.reasons["/app/check.js"].text.startswith("program run by node (run at line 3 of /entrypoint.sh")
    assert "/app/lib/util.js" in keep
    assert [w.message for w in keep.warnings if "built at run time" in w.message] == [
        'node runs a program built at run time: "$APP_MAIN" (exec at line 4 of /entrypoint.sh)']
