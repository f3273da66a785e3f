"""Plugin directories: modules a library loads from a directory of its own. OpenSSL loads the
providers and engines its configuration or its caller names (`OSSL_PROVIDER_load(NULL,
"legacy")`, `ENGINE_by_id("afalg")`); the other libraries here load whatever their
configuration lists at run time, so their whole directory is kept."""

from __future__ import annotations

import posixpath

from slimmer.trace.named.model import Catalog, ImageView

LIBRARY_DIRS = ("/usr/lib/*-linux-gnu*", "/lib/*-linux-gnu*", "/usr/lib64", "/usr/lib")
OPENSSL_LIBRARY = ("libcrypto.so.3",)
OPENSSL_CONF = "openssl.cnf"
PROVIDER_FUNCTIONS = frozenset({"OSSL_PROVIDER_load", "OSSL_PROVIDER_try_load", "OSSL_PROVIDER_load_ex",
                                "OSSL_PROVIDER_try_load_ex"})
ENGINE_FUNCTIONS = frozenset({"ENGINE_by_id"})


class OpenSSLModules(Catalog):
    """OpenSSL 3 providers or engines: NAME.so in the directory libcrypto was built with
    (MODULESDIR, ENGINESDIR; without it, the one beside the library), or the one the Env names."""

    def __init__(self, view: ImageView, env_variable: str, suffix: str) -> None:
        self.view = view
        self.dirs = [view.env[env_variable]] if view.env.get(env_variable, "").startswith("/") else []
        self.openssl_dirs: list[str] = []
        for path in _libraries(view, OPENSSL_LIBRARY):
            literals = view.literals(path)
            compiled_in = literals.paths() if literals is not None else []
            for p in compiled_in:
                if p.endswith(suffix) and view.is_dir(p):
                    self.dirs.append(p)
                elif p.endswith("/ssl") and view.is_dir(p):
                    self.openssl_dirs.append(p)  # OPENSSLDIR, where openssl.cnf is
            beside = posixpath.dirname(path) + suffix
            if not any(p.endswith(suffix) for p in compiled_in) and view.is_dir(beside):
                self.dirs.append(beside)
        self.dirs = list(dict.fromkeys(self.dirs))

    def directories(self) -> list[str]:
        return self.dirs

    def name(self, word: str) -> str | None:
        for d in self.dirs:
            if word.startswith(d + "/") and word.endswith(".so") and self.view.exists(word):
                return posixpath.basename(word)[:-3]
            if "/" not in word and self.view.exists(posixpath.join(d, word + ".so")):
                return word
        return None

    def files(self, names: list[str]) -> list[tuple[str, str, str]]:
        return [(p, n, "") for n in names for d in self.dirs if self.view.exists(p := posixpath.join(d, n + ".so"))]

    def everything(self) -> list[str]:
        return list(self.dirs)

    def config_files(self) -> list[str]:
        conf = self.view.env.get("OPENSSL_CONF")
        if conf:
            return [conf]
        return [posixpath.join(d, OPENSSL_CONF) for d in self.openssl_dirs]


class PluginDirectory(Catalog):
    """A directory of plugins beside their library (`pattern` is relative to the library
    directories), all of which the library may load."""

    def __init__(self, view: ImageView, pattern: str) -> None:
        self.view = view
        self.pattern = pattern

    def name(self, word: str) -> str | None:
        return None

    def files(self, names: list[str]) -> list[tuple[str, str, str]]:
        return []

    def everything(self) -> list[str]:
        return sorted({p for d in LIBRARY_DIRS for p in self.view.fs.glob(posixpath.join(d, self.pattern))})


def _libraries(view: ImageView, names: tuple[str, ...]) -> list[str]:
    return sorted({p for d in LIBRARY_DIRS for n in names for p in view.fs.glob(posixpath.join(d, n))})
