"""Data a program picks by name at run time: one table of (who loads it, where from, how the
names are found), applied the same way to every kind.

    model      the row type (`DataSet`: `Loaders`, `NameSources`) and `Catalog`, what a row is in one image
    table      the rows: time zones, locales, locale sources, terminfo, gconv, plugin directories
    tracer     `NamedDataTracer`: keeps a set's files once something loads it and something names them
    words      names in shell scripts: their words and what they assign to TZ, LANG, TERM
    zoneinfo   time zones (TZDIR, /usr/share/zoneinfo)
    locales    compiled locales (locale-archive, /usr/lib/locale) and localedef's sources
    terminfo   terminal descriptions (TERMINFO, TERMINFO_DIRS, libtinfo's compiled-in list)
    gconv      glibc's charset conversion database (gconv-modules, its cache, the builtins)
    plugins    OpenSSL providers and engines by name, other plugin directories whole
"""

from slimmer.trace.named.tracer import NamedDataTracer

__all__ = ["NamedDataTracer"]
