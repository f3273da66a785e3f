"""Data files that libraries read at fixed places, without the loader or a name telling: one
table, easy to extend.

A rule fires for a kept file whose real path matches its library pattern, or for an ELF object
importing one of its functions (only code that asks OpenSSL for the default trust store makes
it read the CA bundle), and keeps the listed paths (globs allowed) that exist, as data (no
tracer follows what a certificate or a configuration would run); a rule's `modules` are
plug-ins the library loads instead, traced like libraries. Data picked by name (time zones,
locales, gconv, plugins) is slimmer/trace/named/; paths compiled into a program are
slimmer/trace/paths/.

The hashed certificate directory (/etc/ssl/certs/*.0 -> ../../share/ca-certificates/...) holds
the same certificates as the bundle update-ca-certificates writes: OpenSSL looks a hash up there
only for an issuer its store does not already hold, so only certificates missing from the
bundle are kept from it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass

from slimmer.rootfs.entry import Entry
from slimmer.trace.closure import Need, TraceContext
from slimmer.trace.elf.tracer import ElfTracer

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
CA_DIRECTORY = "/etc/ssl/certs"
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


@dataclass(frozen=True)
class DataRule:
    library: re.Pattern[str] | None  # searched in the real path of a kept file
    imports: frozenset[str]  # or: an ELF object importing one of these
    paths: tuple[str, ...]  # kept when present (globs expanded); directories with everything under them
    reason: str
    trust_store: bool = False  # also the hashed certificates missing from the CA bundle
    modules: bool = False  # the paths are modules the library loads, not data it reads


def rule(library: str | None, paths: tuple[str, ...], reason: str, imports: Iterable[str] = (),
         trust_store: bool = False, modules: bool = False) -> DataRule:
    return DataRule(re.compile(library) if library else None, frozenset(imports), paths, reason, trust_store,
                    modules)


# OpenSSL and GnuTLS functions that load the system's trust store
OPENSSL_TRUST = ("SSL_CTX_set_default_verify_paths", "X509_STORE_set_default_paths",
                 "SSL_CTX_set_default_verify_file", "SSL_CTX_set_default_verify_dir",
                 "X509_get_default_cert_file", "X509_get_default_cert_dir")
GNUTLS_TRUST = ("gnutls_certificate_set_x509_system_trust",)

DATA_RULES: tuple[DataRule, ...] = (
    rule(r"/libcrypto\.so\.[^/]*$", ("/usr/lib/ssl/openssl.cnf", "/etc/ssl/openssl.cnf", "/usr/lib/ssl/openssl.cnf.d"),
         "OpenSSL's configuration, read when the library initialises"),
    rule(None, ("/usr/lib/ssl/cert.pem", CA_BUNDLE, "/usr/lib/ssl/certs"),
         "OpenSSL's default trust store", OPENSSL_TRUST, trust_store=True),
    rule(r"/libgnutls\.so\.[^/]*$", ("/etc/gnutls/config",), "GnuTLS' system priority configuration"),
    rule(None, (CA_BUNDLE,), "GnuTLS' system trust store", GNUTLS_TRUST),
    rule(r"/libnss3\.so$", ("/usr/lib/*/nss",), "modules loaded by Mozilla NSS", modules=True),
    rule(r"/libnss3\.so$", ("/etc/pki/nssdb",), "read by Mozilla NSS"),
    rule(r"/libmagic\.so\.[^/]*$", ("/usr/lib/file/magic.mgc", "/usr/share/misc/magic.mgc", "/etc/magic"),
         "magic database read by libmagic"),
)


class DataRulesTracer:
    """Keeps the data files of the table for every kept file that triggers a rule."""

    name = "data"

    def __init__(self, elf: ElfTracer, rules: tuple[DataRule, ...] = DATA_RULES) -> None:
        self.elf = elf
        self.rules = rules

    def needs(self, path: str, entry: Entry, ctx: TraceContext) -> Iterable[Need]:
        imported = self._imports(entry, ctx)
        for data_rule in self.rules:
            hits = sorted(imported & data_rule.imports)
            if hits:
                why = f"{data_rule.reason} ({path} imports {hits[0]})"
            elif data_rule.library is not None and data_rule.library.search(path):
                why = f"{data_rule.reason} ({path})"
            else:
                continue
            for pattern in data_rule.paths:
                for data_path in ctx.fs.glob(pattern) if any(c in pattern for c in "*?[") else [pattern]:
                    yield Need(data_path, why, recursive=not data_rule.trust_store, optional=True, rule="data",
                               data=not data_rule.modules)
            if data_rule.trust_store:
                yield from self._missing_from_bundle(ctx, why)

    def _imports(self, entry: Entry, ctx: TraceContext) -> frozenset[str]:
        info = self.elf.object_info(entry, ctx)
        return frozenset() if info is None else info.undefined

    @staticmethod
    def _missing_from_bundle(ctx: TraceContext, why: str) -> Iterable[Need]:
        """The certificates of the hashed directory that the bundle does not hold."""
        fs = ctx.fs
        bundle_entry = fs.lookup(CA_BUNDLE)
        bundle = fs.read(bundle_entry) if bundle_entry is not None and bundle_entry.is_file else b""
        held = set(_PEM.findall(bundle))
        for name in fs.listdir(CA_DIRECTORY):
            path = posixpath.join(CA_DIRECTORY, name)
            entry = fs.lookup(path)
            if path == CA_BUNDLE or entry is None or not entry.is_file:
                continue
            certificates = _PEM.findall(fs.read(entry, 1 << 20))
            if certificates and not held.issuperset(certificates):
                yield Need(path, f"{why}: a certificate the bundle {CA_BUNDLE} does not hold", optional=True,
                           rule="data", data=True)
