"""The table: every kind of data the tracer knows to be chosen by name at run time, with who
loads it, where from and how the names are found (a new kind is a row, not code)."""

from __future__ import annotations

from slimmer.trace.named import gconv, locales, plugins, terminfo, zoneinfo
from slimmer.trace.named.model import DataSet, ImageView, Loaders, NameSources

GLIBC = ("libc.so.6",)
MUSL = ("libc.musl-*.so.1", "ld-musl-*.so.1")

# libraries that load every plugin of a directory of their own that their configuration lists
WHOLE_PLUGIN_DIRECTORIES: tuple[tuple[str, str, str], ...] = (
    ("libcrypto.so.1.1", "engines-1.1/*.so", "OpenSSL 1.1 engine"),
    ("libsasl2.so.2", "sasl2/*.so*", "Cyrus SASL mechanism"),
    ("libp11-kit.so.0", "pkcs11/*.so", "PKCS#11 module registered with p11-kit"),
    ("libgio-2.0.so.0", "gio/modules/*.so", "GIO extension module"),
    ("libpam.so.0", "security/pam_*.so", "PAM module named by /etc/pam.d"),
    ("libkrb5.so.3", "krb5/plugins/*/*.so", "Kerberos plugin"),
    ("libgdk_pixbuf-2.0.so.0", "gdk-pixbuf-2.0/*/loaders/*.so", "gdk-pixbuf image loader"),
    ("libMagickCore-*.so.*", "ImageMagick-*/modules-*/*/*.so", "ImageMagick coder or filter module"),
    ("libGLX_mesa.so.0", "dri/*_dri.so", "Mesa DRI driver"),
    ("libEGL_mesa.so.0", "dri/*_dri.so", "Mesa DRI driver"),
    ("libgbm.so.1", "gbm/*.so", "Mesa GBM backend"),
)


def _plugin_row(soname: str, pattern: str, what: str) -> DataSet:
    def catalog(view: ImageView) -> plugins.PluginDirectory:
        return plugins.PluginDirectory(view, pattern)

    return DataSet(f"plugins:{pattern}", what, Loaders(sonames=(soname,), any_name=(soname,)), NameSources(),
                   catalog)


def _providers(view: ImageView) -> plugins.OpenSSLModules:
    return plugins.OpenSSLModules(view, "OPENSSL_MODULES", "/ossl-modules")


def _engines(view: ImageView) -> plugins.OpenSSLModules:
    return plugins.OpenSSLModules(view, "OPENSSL_ENGINES", "/engines-3")


NAMED_DATA: tuple[DataSet, ...] = (
    DataSet("zoneinfo", "time zone",
            Loaders(imports=zoneinfo.GLIBC_ZONE_FUNCTIONS, go_functions=frozenset({"time.LoadLocation",
                                                                                    "time.initLocal"}),
                    own=GLIBC + MUSL),
            NameSources(env=("TZ",), strings=True, go_strings=True, script_words=True),
            zoneinfo.Zoneinfo),
    DataSet("locale", "locale",
            Loaders(imports=locales.GLIBC_LOCALE_FUNCTIONS, own=GLIBC),
            NameSources(env=locales.LOCALE_VARIABLES, strings=True, script_words=True),
            locales.Locales),
    DataSet("i18n", "locale source", Loaders(own=GLIBC), NameSources(), locales.LocaleSources),
    DataSet("terminfo", "terminal description",
            Loaders(imports=terminfo.FUNCTIONS, own=terminfo.LIBRARIES),
            NameSources(env=("TERM",)),
            terminfo.Terminfo,
            env_default=((terminfo.DOCKER_TTY_TERM, "TERM that `docker run -t` sets"),)),
    DataSet("gconv", "gconv module",
            Loaders(imports=frozenset({"iconv_open"}) | gconv.PASSING_FUNCTIONS, own=GLIBC,
                    any_name=gconv.ANY_CHARSET, passing=gconv.PASSING, env_libraries=GLIBC),
            NameSources(env=("LC_ALL", "LC_CTYPE", "LANG"), strings=True),
            gconv.Gconv, word_filter=gconv.plausible_literal),
    DataSet("openssl-providers", "OpenSSL provider",
            Loaders(sonames=plugins.OPENSSL_LIBRARY, imports=plugins.PROVIDER_FUNCTIONS, any_name=("openssl",),
                    own=plugins.OPENSSL_LIBRARY),
            NameSources(strings=True, config=True), _providers),
    DataSet("openssl-engines", "OpenSSL engine",
            Loaders(sonames=plugins.OPENSSL_LIBRARY, imports=plugins.ENGINE_FUNCTIONS, any_name=("openssl",),
                    own=plugins.OPENSSL_LIBRARY),
            NameSources(strings=True, config=True), _engines),
    *(_plugin_row(*row) for row in WHOLE_PLUGIN_DIRECTORIES),
)
