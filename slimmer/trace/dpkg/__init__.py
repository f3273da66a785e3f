"""Debian package knowledge.

    database   /var/lib/dpkg: installed packages, their source packages, conffiles and paths
    tracer     `PackageTracer`: a kept program brings its package's conffiles and empty directories
"""

from slimmer.trace.dpkg.database import DpkgDatabase, Package
from slimmer.trace.dpkg.tracer import PackageTracer

__all__ = ["DpkgDatabase", "Package", "PackageTracer"]
