"""Python: from a `python` command line to every module, extension, data file and program it needs.

One module per idea: invocation.py (the command line), interpreter.py (which CPython, its
prefixes and venv), syspath.py (sys.path and .pth files), startup.py (modules imported before
the script), source.py and expressions.py (what a source file imports, runs and opens, parsed
with tree-sitter-python), bytecode.py (sourceless modules), extensions.py (what compiled
modules import by name), finder.py (modules on sys.path),
outside.py (programs, native libraries, data), metadata.py (dist-info), packagedata.py (data
inside packages), environment.py (one interpreter with its sys.path), reasons.py (sentences),
tracer.py (the handler of `python` command lines), graph.py (the walk over the modules it
reaches), dynamic.py (what imports by computed names keep).
"""

from slimmer.trace.python.tracer import PythonTracer

__all__ = ["PythonTracer"]
