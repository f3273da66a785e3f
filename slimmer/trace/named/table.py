"""The table: every kind of data the tracer knows to be chosen by name at run time, with who
loads it, where from and how the names are found (a new kind is a row, not code)."""

from __future__ import annotations

from slimmer.trace.named import gconv, locales, plugins, terminfo, zoneinfo
from slimmer.trace.named.model import DataSet, ImageView, Loaders, NameSources

GLIBC = ("libc.so.6",)
MUSL = ("libc.musl-*.so.1", "ld-musl-*.so.1")

# libraries that load every plugin of a directory of their own that their configuration lists:
# (pattern beside the library, what one is, loaded by the library / by programs importing these)
WHOLE_PLUGIN_DIRECTORIES: tuple[tuple[str, str, Loaders], ...] = (
    ("engines-1.1/*.so", "OpenSSL 1.1 engine", Loaders(sonames=("libcrypto.so.1.1",))),
    ("sasl2/*.so*", "Cyrus SASL mechanism", Loaders(imports=plugins.SASL_FUNCTIONS, programs=True)),
    ("pkcs11/*.so", "PKCS#11 module registered with p11-kit", Loaders(sonames=("libp11-kit.so.0",))),
    ("gio/modules/*.so", "GIO extension module", Loaders(sonames=("libgio-2.0.so.0",))),
    ("krb5/plugins/*/*.so", "Kerberos plugin", Loaders(imports=plugins.KERBEROS_FUNCTIONS, programs=True)),
    ("gdk-pixbuf-2.0/*/loaders/*.so", "gdk-pixbuf image loader", Loaders(sonames=("libgdk_pixbuf-2.0.so.0",))),
    ("ImageMagick-*/modules-*/*/*.so", "ImageMagick coder or filter module",
     Loaders(sonames=("libMagickCore-*.so.*",))),
    ("dri/*_dri.so", "Mesa DRI driver", Loaders(sonames=("libGLX_mesa.so.0", "libEGL_mesa.so.0"))),
    ("gbm/*.so", "Mesa GBM backend", Loaders(sonames=("libgbm.so.1",))),
)


def _plugin_row(pattern: str, what: str, loaders: Loaders) -> DataSet:
    def catalog(view: ImageView) -> plugins.PluginDirectory:
        return plugins.PluginDirectory(view, pattern)

    return DataSet(f"plugins:{pattern}", what, loaders, NameSources(), catalog, whole=True)


def _providers(view: ImageView) -> plugins.OpenSSLModules:
    return plugins.OpenSSLModules(view, "OPENSSL_MODULES", "/ossl-modules")


def _engines(view: ImageView) -> plugins.OpenSSLModules:
    return plugins.OpenSSLModules(view, "OPENSSL_ENGINES", "/engines-3")


NAMED_DATA: tuple[DataSet, ...] = (
    DataSet("zoneinfo", "time zone",
            Loaders(imports=zoneinfo.GLIBC_ZONE_FUNCTIONS, go_functions=frozenset({"time.LoadLocation",
                                                                                    "time.initLocal"}),
                    own=GLIBC + MUSL),
            NameSources(env=("TZ",), strings=True, go_strings=True, script_words=True, configuration=True),
            zoneinfo.Zoneinfo),
    DataSet("locale", "locale",
            Loaders(imports=locales.GLIBC_LOCALE_FUNCTIONS, own=GLIBC),
            NameSources(env=locales.LOCALE_VARIABLES, strings=True, script_words=True, configuration=True),
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
            gconv.Gconv, word_filter=gconv.plausible_literal,
            follows="locale"),  # glibc loads the converters of the charset of every locale it loads
    DataSet("openssl-providers", "OpenSSL provider",
            Loaders(sonames=plugins.OPENSSL_LIBRARY, imports=plugins.PROVIDER_FUNCTIONS, any_name=("openssl",),
                    own=plugins.OPENSSL_LIBRARY),
            NameSources(strings=True, config=True), _providers),
    DataSet("openssl-engines", "OpenSSL engine",
            Loaders(sonames=plugins.OPENSSL_LIBRARY, imports=plugins.ENGINE_FUNCTIONS, any_name=("openssl",),
                    own=plugins.OPENSSL_LIBRARY),
            NameSources(strings=True, config=True), _engines),
    DataSet("pam", "PAM module", Loaders(sonames=plugins.PAM_LIBRARY), NameSources(config=True),
            plugins.PamModules),
    *(_plugin_row(*row) for row in WHOLE_PLUGIN_DIRECTORIES),
)
