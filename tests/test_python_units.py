"""The Python tracer's pieces on their own: command lines, source facts, expressions, bytecode."""

from __future__ import annotations

import importlib.util
import marshal

from slimmer.trace.python.bytecode import names_in_bytecode
from slimmer.trace.python.expressions import evaluate
from slimmer.trace.python.invocation import parse_invocation
from slimmer.trace.python.source import parse_source

SOURCE = b'''
import os, sys
import numpy as np
from . import sibling
from ..pkg.sub import thing, other as alias
from json import *
try:
    import ujson as json
except ImportError:
    json = None

BIN = os.path.dirname(sys.executable)

def serve():
    import gunicorn.app.wsgiapp
    import subprocess
    helper = os.path.join(BIN, "helper")
    subprocess.run([helper, "--check", name])
    importlib.import_module(f"plugins.{name}")
    __import__("yaml")

if __name__ == "__main__":
    import doctest

__all__ = ["serve", "BIN"]
match serve:
    case _: pass
'''


def test_imports_with_their_level_names_and_context():
    facts = parse_source(SOURCE)
    by_module = {(u.module, u.level): u for u in facts.imports}
    assert by_module[("numpy", 0)].names == () and not by_module[("numpy", 0)].lazy
    assert by_module[("", 1)].names == ("sibling",)
    assert by_module[("pkg.sub", 2)].names == ("thing", "other")
    assert by_module[("json", 0)].names == ("*",)
    assert by_module[("ujson", 0)].guarded and not by_module[("ujson", 0)].lazy
    assert by_module[("gunicorn.app.wsgiapp", 0)].lazy
    assert by_module[("doctest", 0)].main_only and not by_module[("os", 0)].main_only
    assert facts.all_names == ("serve", "BIN")
    assert facts.syntax_errors == 0  # `match` (3.10) parses whatever Python runs slim


def test_calls_keep_their_arguments_for_evaluation_in_context():
    facts = parse_source(SOURCE)
    calls = {use.call.func: use for use in facts.calls}
    run = calls["subprocess.run"]
    assert run.lazy and run.line == 18
    argv = evaluate(run.call.args[0], {"sys.executable": "/opt/venv/bin/python"})
    assert argv == ["/opt/venv/bin/helper", "--check", None]  # a name not known statically stays unknown
    assert evaluate(calls["importlib.import_module"].call.args[0], {}) is None  # computed: a dynamic import
    assert evaluate(calls["__import__"].call.args[0], {}) == "yaml"


def test_file_relative_paths_evaluate():
    facts = parse_source(b"from pathlib import Path\nopen(Path(__file__).parent / 'data' / 'x.json')\n")
    (use,) = facts.calls
    assert evaluate(use.call.args[0], {"__file__": "/app/pkg/mod.py"}) == "/app/pkg/data/x.json"


def test_self_referencing_assignments_end():
    facts = parse_source(b"def f(x):\n    x = x.parent\n    x = x.y.z\n    open(x.w)\n"
                         b"p = p.q\nq = p.r\np2 = q.s\nopen(p2.t)\n")
    assert [use.call.func for use in facts.calls] == ["open", "open"]


def test_only_code_is_read_where_the_words_occur():
    """The tree is visited where `import`, call names and imported names occur: their occurrences
    in strings and comments are not code, spaced and continued attribute chains are."""
    facts = parse_source(b'''import numpy as np
import os.path
# import fake; open("/etc/comment")
text = "import fake2; subprocess.run([\'x\'])"
x = (np
     .random.rand)
y = np\\
    .linalg.norm
name = "/etc/data"
open(os.path.join("/srv", name))
open(open("/etc/outer").read())
__all__ = ["a"]
__all__ += ["b"]
def f():
    name = "/etc/local"
    return open(name)
''')
    assert [use.module for use in facts.imports] == ["numpy", "os.path"]
    assert facts.attributes == {"numpy.random.rand", "numpy.linalg.norm", "os.path.join"}
    # in the order of the source, a call before the calls in its arguments; each variable's value
    # in its own scope (`os.path.join("/srv", "/etc/data")` is "/etc/data", as Python joins)
    assert [(use.call.func, evaluate(use.call.args[0], {})) for use in facts.calls] == [
        ("open", "/etc/data"), ("open", None), ("open", "/etc/outer"), ("open", "/etc/local")]
    assert facts.all_names == ("a", "b") and facts.syntax_errors == 0


def test_python_command_lines():
    script = parse_invocation(["-u", "-I", "/app/main.py", "--port", "80"])
    assert script is not None and script.script == "/app/main.py" and script.args == ["--port", "80"]
    assert script.isolated and script.safe_path and script.no_user_site
    module = parse_invocation(["-OO", "-Wignore", "-m", "gunicorn", "app:app"])
    assert module is not None and module.module == "gunicorn" and module.optimize == 2 and module.args == ["app:app"]
    attached = parse_invocation(["-mhttp.server", "8000"])
    assert attached is not None and attached.module == "http.server"
    code = parse_invocation(["-Sc", "import json"])
    assert code is not None and code.code == "import json" and code.no_site
    assert parse_invocation(["--version"]) is None
    interactive = parse_invocation(["-X", "importtime"])
    assert interactive is not None and interactive.xoptions == ("importtime",) and interactive.script is None


def test_names_of_a_sourceless_module():
    code = compile("import json\nfrom email import message\ndef f():\n    import xml.dom\n", "m.py", "exec")
    data = importlib.util.MAGIC_NUMBER + b"\0" * 12 + marshal.dumps(code)
    names = names_in_bytecode(data)
    assert {"json", "email", "message", "xml.dom"} <= set(names)
