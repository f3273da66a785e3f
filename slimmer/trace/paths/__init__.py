"""Paths programs name: compiled into them, and written in their configuration.

    registry   `Readers`: the compiled-in paths of each kept program, whose directories are
               private to it, which data directories are kept whole
    compiled   `CompiledPathsTracer`: absolute paths in an object's strings (Go string data too)
    config     `ConfigTracer`: what configuration and data files name (paths, relative names,
               globs, `$libdir/module`)
    commandlines  `CommandLinesTracer`: /bin/sh and the command lines of programs calling
               system() or popen()
"""

from slimmer.trace.paths.commandlines import CommandLinesTracer
from slimmer.trace.paths.compiled import CompiledPathsTracer
from slimmer.trace.paths.config import ConfigTracer
from slimmer.trace.paths.registry import Readers

__all__ = ["CommandLinesTracer", "CompiledPathsTracer", "ConfigTracer", "Readers"]
