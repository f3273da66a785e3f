"""The sample fat images and the strace oracle (fixtures/)."""
from __future__ import annotations

import json
import tarfile

import pytest

import build_samples
import strace_truth

EXPECTED_OUTPUT = {
    "curl-app": [
        "libcurl 7.88.1, ssl yes, libz yes, idn yes",
        "host: xn--bcher-kva.example",
        "escaped: a%20b%26c%3Dd%2F%C3%A9",
        "file: No error, 45 bytes, 90c1bf7e",
        "https: Couldn't connect to server",
    ],
    "c-app": [
        "c-app: hello, world",
        "zlib: 59 -> 39 bytes, round trip ok, crc32=cdd5f528",
        "sha256: 60be462a6a71141b872bce9f5bd9d8e73f72ef54188738a10e6809c5af6a89e7",
        "tls: client context ok",
        "user: app (uid 1000)",
    ],
    "hooks-app": [
        "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration",
        "/docker-entrypoint.sh: Sourcing /docker-entrypoint.d/10-defaults.envsh",
        "/docker-entrypoint.sh: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh",
        "20-envsubst-on-templates.sh: Running envsubst on /etc/app/templates/app.conf.template to /etc/app/conf.d/app.conf",
        "20-envsubst-on-templates.sh: Running envsubst on /etc/app/templates/sites/default.conf.template to /etc/app/conf.d/sites/default.conf",
        "/docker-entrypoint.sh: Launching /docker-entrypoint.d/30-summary.sh",
        "summary: 7 lines in /etc/app/conf.d/app.conf",
        "summary: port 8080",
        "summary: user app:/home/app",
        "summary: checksum 3911302e2d9687fc2bc9ac2714ed3ffb",
        "/docker-entrypoint.sh: Ignoring /docker-entrypoint.d/40-disabled.sh, not executable",
        "/docker-entrypoint.sh: Ignoring /docker-entrypoint.d/README.txt",
        "/docker-entrypoint.sh: Configuration complete; ready for start up",
        "# generated, checked",
        "name = hooks-app",
        "port = 8080",
        "user = app",
        "home = /home/app",
        "data = /srv/app/data",
        "secret = ${NOT_AN_APP_VARIABLE}",
        "site default: 8080",
        "data: app 750",
    ],
    "py-app": [
        "py-app: python 3.11",
        "requests 2.32.3",
        "url: https://example.invalid/api/items?q=slim+images&page=2",
        "accept: application/json",
        'json: {"items": [1, 2, 3], "ok": true}',
        "ca bundle: /usr/local/lib/python3.11/dist-packages/certifi/cacert.pem",
    ],
    "py-numpy": [
        "python 3.11",
        "numpy 2.2.6 (module 2.2.6)",
        "column sums: [12.0, 15.0, 18.0, 21.0]",
        "determinant: 904.000",
        "eigenvalues: [1.0, 2.771, 326.229]",
        "ssl: OpenSSL, system CA bundle loaded: True",
        "noon UTC in Paris: 2024-07-01T14:00:00+02:00 (CEST)",
        "sqlite 3.40.1: 46 items",
    ],
    "py-venv-server": [
        "GET / -> 200",
        "<h1>hello-service 1.4.0</h1>",
        "<ul><li>bolt: 12</li><li>nut: 30</li></ul>",
        "GET /api/items -> 200",
        '{"items":[{"name":"bolt","qty":12},{"name":"nut","qty":30}],"total":42}',
        "GET /missing -> 404",
        "",
        "gunicorn stopped: exit 0",
    ],
    "py-cli": [
        "usage: toolbox [-h] {render,config,when,check} ...",
        "",
        "toolbox SUBCOMMAND: render, config, when, check. Each imports what it needs",
        "when it runs.",
        "",
        "positional arguments:",
        "  {render,config,when,check}",
        "    render              render the report template (jinja2)",
        "    config              show the packaged configuration (PyYAML)",
        "    when                a moment in other time zones (dateutil's zone",
        "                        database)",
        "    check               validate documents against a JSON schema (jsonschema)",
        "",
        "options:",
        "  -h, --help            show this help message and exit",
    ],
    "perl-app": [
        "NAME                       QTY     PRICE",
        "STRASSE SIGN                 3     12.50 1",
        "BOLT M6                    250      0.08 1",
        "CAFÉ TABLE                   2     80.00 0",
        "ÖLKANNE                      0      7.25 1",
        "ΩMEGA WATCH                  1    199.99 1",
        "total 417.49, longest name 11, floor 417, out of stock: ölkanne",
        "report of 2024-01-01 12:00 for items.json",
        "checksum f42c82f7da7362cf1479aab9b29bcd08",
        "numeric: yes",
    ],
    "node-express": [
        "listening on 3000 as uid 1001",
        "/ 200 text/html; charset=UTF-8", "<!doctype html>", "<title>inventory</title>",
        "<p>static file served by express.static</p>",
        "/hello/world 200 application/json; charset=utf-8", '{"message":"hello, world (486ea46224d1)"}',
        "/report 200 application/json; charset=utf-8",
        '{"lines":["apples a1b5c171-614a-56be-a888-1f4fbb0874ba","pears 487a6729-7c3b-507b-8147-2fb7a43c92cf",'
        '"plums 7a16a5ab-0e85-5341-9dad-2235a6e3307e"],"valid":true}',
        "/gzip 200 application/json; charset=utf-8",
        '{"name":"inventory","greeting":"hello","items":["apples","pears","plums"]}',
        "/missing 404 text/html; charset=utf-8", "<!DOCTYPE html>", '<html lang="en">', "<head>",
        '<meta charset="utf-8">', "<title>Error</title>", "</head>", "<body>", "<pre>Cannot GET /missing</pre>",
        "</body>", "</html>",
    ],
    "node-official": [
        "", "> node-official-sample@1.0.0 prestart", "> node scripts/check-env.js", "",
        "prestart: node-official-sample on node 22.x", "",
        "> node-official-sample@1.0.0 start", "> node src/server.js --smoke", "",
        "listening on 3000 (node 22.x)",
        "/items 200 text/plain; charset=utf-8", "bolts     120", "nuts       75",
        "/hash/abc 200 application/json; charset=utf-8", '{"sha1":"a9993e364706816aba3e25717850c26c9cd0d89d"}',
        "/page 200 application/json; charset=utf-8", '{"title":"STOCK","idLength":10}',
        "/zip 200 text/plain; charset=utf-8",
        '{"title":"stock","items":[{"name":"bolts","count":120},{"name":"nuts","count":75}]}',
        "/nowhere 404 application/json; charset=utf-8",
        '{"message":"Route GET:/nowhere not found","error":"Not Found","statusCode":404}',
    ],
    "node-cli": [
        "Usage: invtool [options] [command]", "", "inventory tool", "", "Options:",
        "  -V, --version            output the version number",
        "  -h, --help               display help for command", "", "Commands:",
        "  check <version> <range>  does a version satisfy a range",
        "  stock                    the stock file as JSON",
        "  when <date>              a date in UTC",
        "  count                    count the stock lines, in child processes",
        "  gz <text>                gzip round trip",
        "  help [command]           display help for command",
    ],
    "sh-app": [
        "== header ==",
        "report: inventory version 1",
        "epoch in Europe/Paris: 1970-01-01 01:00:00 CET",
        "== inventory ==",
        "rows: 6",
        "fruit hardware vegetable",
        "total weight: 91",
        "heaviest: DRILL",
        "heaviest: EGGPLANT",
        "== tools ==",
        "sed: found",
        "awk: found",
        "grep: found",
        "sort: found",
        "date: found",
        "shout: DONE",
    ],
    "iconv-pairs": [
        "UTF-16LE -> UTF-16BE: 60 bytes, aaddc50b",
        "UTF-16LE -> UTF16BE: 60 bytes, aaddc50b",
        "UTF16LE -> UTF-16BE: 60 bytes, aaddc50b",
        "UTF16LE -> UTF16BE: 60 bytes, aaddc50b",
        "4 conversions, 0 failures",
    ],
    "tz-zones": [
        "1970-01-01 05:30:00 IST +0530",
        "1969-12-31 19:00:00 EST -0500",
        "1970-01-01 09:30:00 ACST +0930",
        "1970-01-01 01:00:00 CET +0100",
    ],
    "waste": ["greeting v2: hello from the waste sample"],
}

WASTE_LAYERS = 5  # base + big file + its rm + COPY + overwrite (see its Dockerfile)
LIB = "/usr/lib/x86_64-linux-gnu"


def test_every_recipe_has_expected_output():
    # servers are checked by their service run instead (tests/test_server_samples.py)
    commands = sorted(set(build_samples.sample_names()) - set(build_samples.server_names()))
    assert sorted(EXPECTED_OUTPUT) == commands
    assert {"nginx", "postgres", "redis"} <= set(build_samples.server_names())


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED_OUTPUT))
def test_sample_runs_offline(docker_client, sample_image, name):
    out = docker_client.containers.run(sample_image(name), network_mode="none",
                                       remove=True, stdout=True, stderr=False)
    assert out.decode().splitlines() == EXPECTED_OUTPUT[name]


@pytest.mark.slow
def test_waste_layers(docker_client, sample_image, sample_archive):
    image = docker_client.images.get(sample_image("waste"))
    assert len(image.attrs["RootFS"]["Layers"]) == WASTE_LAYERS
    archive = sample_archive("waste")
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest[0]["RepoTags"] == ["slimmer-sample/waste:latest"]
    assert len(manifest[0]["Layers"]) == WASTE_LAYERS
    # the merged filesystem: big file whited out, greeting overwritten
    fs = strace_truth.ImageFS.from_docker_archive(archive)
    assert "/opt/big.bin" not in fs.entries
    assert "/opt" in fs.entries
    assert fs.entries["/etc/greeting.txt"].size == len(EXPECTED_OUTPUT["waste"][0]) + 1


def _truth(name):
    try:
        return strace_truth.truth(name)
    except build_samples.BuildError as exc:
        pytest.fail(str(exc), pytrace=False)


def _check_common(result, name):
    assert result["exit_code"] == 0
    assert result["stdout"].splitlines() == EXPECTED_OUTPUT[name]
    paths = {f["path"]: f for f in result["files"]}
    assert result["total_bytes"] == sum(f["size"] for f in result["files"])
    assert not any(p.startswith(("/proc", "/sys", "/dev")) for p in paths)
    assert not any("strace" in p for p in paths)       # only the variant has it
    # libc and the dynamic loader (loaded by the kernel: "interp")
    assert paths[f"{LIB}/libc.so.6"]["size"] > 1_000_000
    assert "interp" in paths[f"{LIB}/ld-linux-x86-64.so.2"]["via"]
    assert paths["/lib64"]["via"] == ["symlink"]
    assert paths["/usr/lib64/ld-linux-x86-64.so.2"]["via"] == ["symlink"]
    assert "/etc/ld.so.cache" in paths
    # nothing but files and symlinks
    assert "/" not in paths and "/usr" not in paths
    return paths


@pytest.mark.slow
def test_strace_truth_c_app(sample_image):
    sample_image("c-app")
    result = _truth("c-app")
    paths = _check_common(result, "c-app")
    assert paths["/usr/local/bin/c-app"]["via"] == ["exec"]
    for lib in ("libssl.so.3", "libcrypto.so.3", "libz.so.1.2.13"):
        assert "open" in paths[f"{LIB}/{lib}"]["via"]
    assert paths[f"{LIB}/libz.so.1"]["via"] == ["symlink"]
    assert "/etc/passwd" in paths and "/etc/nsswitch.conf" in paths   # NSS
    assert "/etc/ssl/openssl.cnf" in paths
    assert paths["/usr/lib/ssl/openssl.cnf"]["via"] == ["symlink"]
    # the image's own packages that the app never uses stay out
    assert not any(p.startswith("/usr/share/doc") for p in paths)
    assert result["total_bytes"] < 20_000_000


@pytest.mark.slow
def test_strace_truth_sh_app(sample_image):
    sample_image("sh-app")
    result = _truth("sh-app")
    paths = _check_common(result, "sh-app")
    assert "exec" in paths["/usr/local/bin/report.sh"]["via"]
    assert "interp" in paths["/usr/bin/bash"]["via"]      # from "#!/bin/bash"
    assert paths["/bin"]["via"] == ["symlink"]
    assert "/usr/local/lib/report/lib.sh" in paths        # sourced helper
    assert "/usr/local/share/report/inventory.csv" in paths
    assert "/usr/share/zoneinfo/Europe/Paris" in paths     # TZ
    for tool in ("sed", "grep", "sort", "date", "cut", "tr", "wc", "head", "mawk"):
        assert "exec" in paths[f"/usr/bin/{tool}"]["via"], tool
    assert paths["/usr/bin/awk"]["via"] == ["symlink"]
    assert paths["/etc/alternatives/awk"]["via"] == ["symlink"]
    assert "/usr/bin/jq" not in paths                      # installed, never used


@pytest.mark.slow
def test_strace_truth_hooks_app(sample_image):
    """The entrypoint really finds, sources and runs its hooks, and they the tools they call."""
    sample_image("hooks-app")
    result = _truth("hooks-app")
    paths = _check_common(result, "hooks-app")
    for hook in ("20-envsubst-on-templates.sh", "30-summary.sh"):
        assert "exec" in paths[f"/docker-entrypoint.d/{hook}"]["via"], hook
    assert "open" in paths["/docker-entrypoint.d/10-defaults.envsh"]["via"]  # sourced
    assert "/docker-entrypoint.d/40-disabled.sh" not in paths or "exec" not in paths["/docker-entrypoint.d/40-disabled.sh"]["via"]
    for tool in ("envsubst", "mawk", "getent", "cut", "md5sum", "sed", "setpriv", "find", "sort", "stat"):
        assert "exec" in paths[f"/usr/bin/{tool}"]["via"], tool
    assert "/etc/app/templates/sites/default.conf.template" in paths


# ---- the oracle's parsing, without a daemon --------------------------------

SAMPLE_TRACE = """\
7     execve("/usr/local/bin/app", ["app"], 0x7ffe /* 4 vars */) = 0
7     access("/etc/ld.so.preload", R_OK) = -1 ENOENT (No such file or directory)
7     openat(AT_FDCWD</work>, "/lib/libx.so", O_RDONLY|O_CLOEXEC <unfinished ...>
8     clone(child_stack=NULL, flags=CLONE_CHILD_SETTID|SIGCHLD) = 9
7     <... openat resumed>) = 3</usr/lib/libx.so.1.0>
7     openat(AT_FDCWD</work>, "data/in\\x20put.txt", O_RDONLY) = 4</work/data/in put.txt>
7     newfstatat(4</work/data/in put.txt>, "", {st_mode=S_IFREG|0644, st_size=3, ...}, AT_EMPTY_PATH) = 0
7     newfstatat(AT_FDCWD</work>, "/bin/link", {st_mode=S_IFLNK|0777, ...}, AT_SYMLINK_NOFOLLOW) = 0
7     openat(3</usr/lib>, "rel.conf", O_RDONLY) = 5</usr/lib/rel.conf>
7     openat(AT_FDCWD</work>, "/proc/self/maps", O_RDONLY) = 6</proc/7/maps>
7     exit_group(0)                     = ?
"""


def _fake_fs():
    E = strace_truth.Entry
    fs = strace_truth.ImageFS()
    for d in ("/", "/usr", "/usr/bin", "/usr/lib", "/usr/local", "/usr/local/bin",
              "/work", "/work/data", "/proc"):
        fs.entries[d] = E("dir")
    fs.entries["/bin"] = E("symlink", 7, "usr/bin")
    fs.entries["/lib"] = E("symlink", 7, "usr/lib")
    fs.entries["/usr/bin/link"] = E("symlink", 4, "nope")
    fs.entries["/usr/lib/libx.so"] = E("symlink", 10, "libx.so.1.0")
    fs.entries["/usr/lib/libx.so.1.0"] = E("file", 1000)
    fs.entries["/usr/lib/rel.conf"] = E("file", 10)
    fs.entries["/usr/lib/ld.so"] = E("file", 500)
    fs.entries["/work/data/in put.txt"] = E("file", 3)
    elf = bytearray(4096)
    elf[:6] = b"\x7fELF\x02\x01"
    elf[0x20:0x28] = (64).to_bytes(8, "little")                    # e_phoff
    elf[0x36:0x3A] = (56).to_bytes(2, "little") + (1).to_bytes(2, "little")
    elf[64:68] = (3).to_bytes(4, "little")                         # PT_INTERP
    elf[72:80] = (0x200).to_bytes(8, "little")
    elf[96:104] = (14).to_bytes(8, "little")
    elf[0x200:0x20E] = b"/lib/ld.so\0\0\0\0"
    fs.entries["/usr/local/bin/app"] = E("file", 4096, head=bytes(elf))
    return fs


def test_parse_trace_and_resolve_offline():
    accesses = strace_truth.parse_trace(SAMPLE_TRACE)
    assert [(a.call, a.path, a.follow_last) for a in accesses] == [
        ("execve", "/usr/local/bin/app", True),
        ("openat", "/lib/libx.so", True),
        ("openat", "/work/data/in put.txt", True),
        ("newfstatat", "/bin/link", False),
        ("openat", "/usr/lib/rel.conf", True),
        ("openat", "/proc/self/maps", True),
    ]
    touched = strace_truth.files_touched(_fake_fs(), accesses)
    assert touched == {
        "/usr/local/bin/app": {"exec"},
        "/lib": {"symlink"},
        "/usr/lib/ld.so": {"interp"},
        "/usr/lib/libx.so": {"symlink"},
        "/usr/lib/libx.so.1.0": {"open"},
        "/work/data/in put.txt": {"open"},
        "/bin": {"symlink"},
        "/usr/bin/link": {"stat"},
        "/usr/lib/rel.conf": {"open"},
    }


def test_shebang_interpreter():
    assert strace_truth.shebang_interpreter(b"#!/bin/bash -e\necho") == "/bin/bash"
    assert strace_truth.shebang_interpreter(b"\x7fELF") is None


def test_directories_a_server_needs_offline():
    # mkdir under an existing directory needs that directory; a file's own parents are implied.
    trace = """\
9     chdir("/work") = 0
9     mkdir("/work/data/cache/body", 0700) = 0
9     openat(AT_FDCWD</work>, "/usr/lib", O_RDONLY|O_DIRECTORY) = 3</usr/lib>
9     unlinkat(AT_FDCWD</work>, "data/old.pid", 0) = 0
9     newfstatat(AT_FDCWD</work>, "/usr/lib/rel.conf", {st_mode=S_IFREG|0644, ...}, 0) = 0
9     mkdir("/nope/x", 0700) = -1 ENOENT (No such file or directory)
9     mkdir("/proc/x", 0700) = 0
"""
    accesses = strace_truth.parse_trace(trace)
    assert strace_truth.dirs_needed(_fake_fs(), accesses) == {
        "/work": {"chdir"},
        "/work/data": {"parent"},
        "/usr/lib": {"dir"},
    }
    assert strace_truth.files_touched(_fake_fs(), accesses) == {"/usr/lib/rel.conf": {"stat"}}
