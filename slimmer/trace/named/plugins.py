"""Plugin directories: modules a library loads from a directory of its own. OpenSSL loads the
providers and engines its configuration or its caller names (`OSSL_PROVIDER_load(NULL,
"legacy")`, `ENGINE_by_id("afalg")`); PAM the modules /etc/pam.d names; the other libraries
of the table load whatever their configuration lists at run time, so their whole directory is
kept."""

from __future__ import annotations

import posixpath

from slimmer.trace.named.model import Catalog, ImageView

LIBRARY_DIRS = ("/usr/lib/*-linux-gnu*", "/lib/*-linux-gnu*", "/usr/lib64", "/usr/lib")
OPENSSL_LIBRARY = ("libcrypto.so.3",)
OPENSSL_CONF = "openssl.cnf"
PROVIDER_FUNCTIONS = frozenset({"OSSL_PROVIDER_load", "OSSL_PROVIDER_try_load", "OSSL_PROVIDER_load_ex",
                                "OSSL_PROVIDER_try_load_ex"})
ENGINE_FUNCTIONS = frozenset({"ENGINE_by_id"})
PAM_LIBRARY = ("libpam.so.0",)
PAM_CONFIG = ("/etc/pam.d", "/etc/security")
# what authenticates with SASL or Kerberos (a program doing it, not a library linking it)
SASL_FUNCTIONS = frozenset({"sasl_client_init", "sasl_server_init", "sasl_client_new", "sasl_server_new",
                            "ldap_sasl_interactive_bind_s", "ldap_sasl_interactive_bind"})
KERBEROS_FUNCTIONS = frozenset({"krb5_init_context", "krb5_get_init_creds_password", "krb5_get_init_creds_keytab",
                                "gss_init_sec_context", "gss_accept_sec_context", "gss_acquire_cred"})


class OpenSSLModules(Catalog):
    """OpenSSL 3 providers or engines: NAME.so in the directory libcrypto was built with
    (MODULESDIR, ENGINESDIR; without it, the one beside the library), or the one the Env names."""

    def __init__(self, view: ImageView, env_variable: str, suffix: str) -> None:
        self.view = view
        self.dirs = [view.env[env_variable]] if view.env.get(env_variable, "").startswith("/") else []
        self.openssl_dirs: list[str] = []
        for path in _libraries(view, OPENSSL_LIBRARY):
            literals = view.literals(path)
            compiled_in = literals.paths if literals is not None else ()
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


class PamModules(Catalog):
    """PAM modules: the service files of /etc/pam.d (and /etc/security, the modules' own
    configuration) are read by the service name the program gives; the modules they name are
    loaded from the security directory beside libpam."""

    def __init__(self, view: ImageView) -> None:
        self.view = view
        self.dirs = sorted({posixpath.dirname(p) + "/security" for p in _libraries(view, PAM_LIBRARY)})

    def directories(self) -> list[str]:
        return self.dirs

    def name(self, word: str) -> str | None:
        base = posixpath.basename(word)
        if base.startswith("pam_") and base.endswith(".so"):
            return base if any(self.view.exists(posixpath.join(d, base)) for d in self.dirs) or \
                self.view.exists(word) else None
        return None

    def files(self, names: list[str]) -> list[tuple[str, str, str]]:
        return [(p, n, "") for n in names for d in self.dirs if self.view.exists(p := posixpath.join(d, n))]

    def always(self) -> list[tuple[str, str]]:
        return [(d, "PAM's configuration") for d in PAM_CONFIG]

    def config_files(self) -> list[str]:
        return self.view.walk_files("/etc/pam.d") if self.view.is_dir("/etc/pam.d") else []


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
