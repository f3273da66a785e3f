"""Python images slimmed with default options, checked against the real runtime.

Oracles: `docker run` of the fat and the slim image (same exit code and stdout, for the default
command and, for the CLI, every subcommand), `strace -f` of the fat app (every file it touches
is kept; the slim image is at most 1.3x the bytes it touches, for the CLI the union over its
subcommands), and the image's own interpreter (`sys.path`, `-X importtime`).
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter

import pytest

from slimmer.analysis import open_analysis
from slimmer.slim import SlimOptions, slim
from slimmer.trace.python.finder import ModuleFinder
from slimmer.trace.python.interpreter import discover
from slimmer.trace.python.invocation import parse_invocation
from slimmer.trace.python.syspath import derive_sys_path
from slimmer.trace.roots import RootOptions, run_spec
from slimmer.trace.session import trace_image

import strace_truth

# sample -> the CMDs run besides the default one (verified, and traced for the truth)
SAMPLES = {"py-app": [], "py-numpy": [], "py-venv-server": [], "py-cli": [["render"], ["config"], ["when"], ["check"]]}
MAX_OVER_TRUTH = 1.3

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def slimmed(docker_client, sample_image, tmp_path_factory):
    """Each sample slimmed once into the daemon with --verify (and its subcommands) and a report."""
    results = {}
    for name, commands in SAMPLES.items():
        report = tmp_path_factory.mktemp(name) / "report.json"
        options = SlimOptions(tag=f"slimmer-test/{name}:slim", verify=True, report=report,
                              verify_cmds=tuple(" ".join(c) for c in commands))
        results[name] = (slim(sample_image(name), options), json.loads(report.read_text()))
    yield results
    for name in SAMPLES:
        docker_client.images.remove(f"slimmer-test/{name}:slim", force=True)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_slim_python_image_behaves_the_same(slimmed, name):
    result, _ = slimmed[name]
    assert len(result.comparisons) == 1 + len(SAMPLES[name])
    for comparison in result.comparisons:
        assert comparison.same, f"{name} {comparison.command}:\n{comparison.diff()}"
        assert comparison.original.exit_code == 0 and comparison.original.stdout


def kept_bytes_untouched_by_rule(report: dict, touched: set[str]) -> Counter:
    """Bytes kept that the app never touched, by the first words of their reason."""
    by_rule: Counter = Counter()
    for record in report["files"]:
        if record["path"] not in touched and record["type"] == "file":
            rule = re.sub(r"\s(/|at |\().*", "", record["reason"])[:40]
            by_rule[rule] += record["size"]
    return by_rule


@pytest.mark.parametrize("name", list(SAMPLES))
def test_slim_python_image_is_close_to_what_the_app_touches(slimmed, name):
    result, report = slimmed[name]
    sizes: dict[str, int] = {}
    for command in [None, *SAMPLES[name]]:  # the union over the default command and the others
        run = strace_truth.truth(name, command)
        assert run["exit_code"] == 0, f"{name} {command}: exit {run['exit_code']} under strace"
        sizes.update((f["path"], f["size"]) for f in run["files"])
    touched = set(sizes)
    kept = {f["path"] for f in report["files"]}
    assert touched <= kept, f"touched at run time but not kept: {sorted(touched - kept)}"
    ratio = result.size_after / sum(sizes.values())
    untouched = kept_bytes_untouched_by_rule(report, touched).most_common(8)
    assert ratio <= MAX_OVER_TRUTH, f"{name}: slim {result.size_after} B is {ratio:.2f}x the " \
                                    f"{sum(sizes.values())} B touched; kept but untouched, by rule: {untouched}"


def test_reasons_name_the_importer_and_the_distribution(slimmed):
    _, report = slimmed["py-numpy"]
    by_path = {f["path"]: f for f in report["files"]}
    numpy_init = "/usr/local/lib/python3.11/dist-packages/numpy/__init__.py"
    assert by_path[numpy_init]["reason"] == "imported by /opt/report/report.py:11"
    dist_info = [f for f in report["files"] if f["path"].endswith("numpy-2.2.6.dist-info")]
    assert dist_info and dist_info[0]["reason"].startswith("dist-info of numpy (owns /usr/local/lib/python3.11/")
    assert any(path.startswith("/usr/local/lib/python3.11/dist-packages/numpy.libs/") for path in by_path)
    _, server = slimmed["py-venv-server"]
    server_paths = {f["path"]: f for f in server["files"]}
    gunicorn = server_paths["/opt/venv/bin/gunicorn"]
    assert gunicorn["reason"].startswith("run by subprocess.Popen in ") and gunicorn["reason"].endswith("selftest.py:40")
    wsgi = server_paths["/opt/venv/lib/python3.11/site-packages/hello_service/wsgi.py"]
    assert "loaded by string" in wsgi["reason"]
    assert "/opt/venv/lib/python3.11/site-packages/hello_service/templates/index.html" in server_paths


def _run(docker_client, image: str, *argv: str) -> str:
    return docker_client.containers.run(image, list(argv), entrypoint=[], network_mode="none", remove=True,
                                        user="root").decode()


def test_sys_path_is_what_the_interpreter_computes(docker_client, sample_image, sample_archive):
    real = _run(docker_client, sample_image("py-venv-server"), "/opt/venv/bin/python", "-c",
                "import sys; print(sys.path)")
    with open_analysis(f"docker-archive:{sample_archive('py-venv-server')}") as opened:
        spec = run_spec(opened.image.config)
        interpreter = discover(opened.fs, "/opt/venv/bin/python", spec.env)
        assert interpreter is not None and interpreter.venv is not None
        invocation = parse_invocation(["-c", "pass"])
        assert invocation is not None
        derived = derive_sys_path(opened.fs, interpreter, invocation, spec.env, None, spec.cwd, "/root")
    assert ["" if entry == spec.cwd else entry for entry in derived.entries] == ast.literal_eval(real)


def test_startup_modules_are_what_importtime_shows(docker_client, sample_image, sample_archive, slimmed):
    """Every module `python3 -X importtime` imports before the script that is a file in the image
    is kept (the others are built in or frozen)."""
    out = docker_client.containers.run(sample_image("py-app"), ["-X", "importtime", "-c", "pass"],
                                       network_mode="none", remove=True, stderr=True, stdout=False).decode()
    imported = {line.split("|")[-1].strip() for line in out.splitlines() if line.startswith("import time:")}
    imported.discard("imported package")
    assert {"encodings", "encodings.utf_8", "site", "sitecustomize", "_distutils_hack"} <= imported
    with open_analysis(f"docker-archive:{sample_archive('py-app')}") as opened:
        spec = run_spec(opened.image.config)
        interpreter = discover(opened.fs, "/usr/bin/python3", spec.env)
        invocation = parse_invocation(["-c", "pass"])
        assert interpreter is not None and invocation is not None
        sys_path = derive_sys_path(opened.fs, interpreter, invocation, spec.env, None, spec.cwd, "/root")
        finder = ModuleFinder(opened.fs, sys_path.entries, interpreter.extension_suffixes)
        files = {m: found.origin for m in imported if (found := finder.find(m)) is not None and found.origin}
    _, report = slimmed["py-app"]
    kept = {record["path"] for record in report["files"]}
    assert "/usr/lib/python3.11/encodings/__init__.py" in files.values()
    assert not {m: path for m, path in files.items() if path not in kept}


def test_code_given_with_c_loads_libraries_and_time_zones(sample_archive):
    code = "import ctypes.util, zoneinfo; ctypes.CDLL(ctypes.util.find_library('sqlite3')); zoneinfo.ZoneInfo('Asia/Tokyo')"
    with open_analysis(f"docker-archive:{sample_archive('py-numpy')}") as opened:
        traced = trace_image(opened.fs, run_spec(opened.image.config, entrypoint=f'python3 -c "{code}"'))
    reasons = {path: reason.text for path, reason in traced.keep.reasons.items()}
    sqlite = [path for path in reasons if path.endswith("/libsqlite3.so.0.8.6")]
    assert sqlite and any(r.startswith("loaded with ctypes.util.find_library at the command line")
                          for p, r in reasons.items() if "libsqlite3.so" in p)
    assert reasons["/usr/share/zoneinfo/Asia/Tokyo"].startswith("time zone Asia/Tokyo read by zoneinfo")
    assert "/usr/lib/python3.11/ctypes/util.py" in reasons


def test_python_strict_keeps_no_package_data(sample_archive):
    with open_analysis(f"docker-archive:{sample_archive('py-venv-server')}") as opened:
        spec = run_spec(opened.image.config)
        default = trace_image(opened.fs, spec)
        strict = trace_image(opened.fs, spec, RootOptions(python_strict=True))
    template = "/opt/venv/lib/python3.11/site-packages/hello_service/templates/index.html"
    assert template in default.keep and template not in strict.keep
    assert set(strict.keep.reasons) < set(default.keep.reasons)


# stdlib modules people run with -m: what their `if __name__ == "__main__":` block imports runs
RUN_AS_MAIN = ["http.server", "json.tool", "zipfile", "tarfile", "calendar", "gzip", "uuid", "ast", "timeit",
               "base64", "pydoc"]


def test_modules_run_with_m_keep_what_their_main_block_imports(docker_client, sample_image, sample_archive):
    """`python3 -m MODULE --help` for a family of stdlib modules: every module the real interpreter
    imports (`-X importtime`) that is a file in the image is kept; http.server's working directory
    is kept whole, since the paths of requests choose its files."""
    loop = f"for m in {' '.join(RUN_AS_MAIN)}; do echo \"== $m\" >&2; python3 -X importtime -m $m --help 2>&1 >/dev/null " \
           "</dev/null | grep '^import time:' >&2; done"
    out = docker_client.containers.run(sample_image("py-app"), ["-c", loop], entrypoint=["sh"], network_mode="none",
                                       remove=True, stderr=True, stdout=False).decode()
    imported: dict[str, set[str]] = {}
    for line in out.splitlines():
        if line.startswith("== "):
            current = imported.setdefault(line[3:], set())
        else:
            current.add(line.split("|")[-1].strip())
    assert set(imported) == set(RUN_AS_MAIN) and "argparse" in imported["http.server"]
    missing: dict[str, list[str]] = {}
    with open_analysis(f"docker-archive:{sample_archive('py-app')}") as opened:
        for module in RUN_AS_MAIN:  # one trace each: what one module's main block needs must not come from another
            spec = run_spec(opened.image.config, entrypoint=f"python3 -m {module} --help")
            kept = trace_image(opened.fs, spec).keep
            interpreter = discover(opened.fs, "/usr/bin/python3", spec.env)
            invocation = parse_invocation(["-m", module, "--help"])
            assert interpreter is not None and invocation is not None
            sys_path = derive_sys_path(opened.fs, interpreter, invocation, spec.env, None, spec.cwd, "/root")
            finder = ModuleFinder(opened.fs, sys_path.entries, interpreter.extension_suffixes)
            missing[module] = sorted(name for name in imported[module] if (found := finder.find(name)) is not None
                                     and found.origin and found.origin not in kept)
            if module == "http.server":
                served = [entry.path for entry in opened.fs.walk(spec.cwd)]
                assert served and all(path in kept for path in served)
                assert kept.reasons[served[0]].text.startswith(f"inside {spec.cwd} (files http.server serves by the paths")
    assert not any(missing.values()), missing


def test_console_scripts_and_framework_folders_from_code(sample_archive):
    """`load_entry_point` finds the function through the distribution's metadata; the folders
    jinja2's FileSystemLoader and Starlette's StaticFiles read are relative to the working
    directory, kept whole (requests name their files)."""
    code = ("from pkg_resources import load_entry_point; import jinja2; from starlette.staticfiles import StaticFiles; "
            "load_entry_point('hello-service==1.4.0', 'console_scripts', 'hello-selftest'); "
            "jinja2.FileSystemLoader(['/usr/share/zoneinfo/Europe']); StaticFiles(directory='../etc/ssl')")
    with open_analysis(f"docker-archive:{sample_archive('py-venv-server')}") as opened:
        spec = run_spec(opened.image.config, entrypoint=f'/opt/venv/bin/python -c "{code}"')
        assert spec.cwd == "/srv"
        traced = trace_image(opened.fs, spec)
        site = "/opt/venv/lib/python3.11/site-packages"
        reasons = {path: reason.text for path, reason in traced.keep.reasons.items()}
        assert reasons[f"{site}/hello_service-1.4.0.dist-info"].startswith(
            "metadata of hello_service, whose entry point console_scripts:hello-selftest is loaded at the command line")
        assert f"{site}/hello_service/selftest.py" in reasons
        for folder in ("/usr/share/zoneinfo/Europe", "/etc/ssl"):
            assert reasons[folder].startswith("files served or rendered by"), folder
            assert all(entry.path in reasons for entry in opened.fs.walk(folder)), folder
