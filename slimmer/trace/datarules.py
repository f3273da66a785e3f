"""Data files that programs read without the loader or an import telling: one table, easy to extend.

A rule fires when a kept file's path matches its trigger (a library that reads the data) and
keeps the listed paths if they exist in the image, as data (a CA directory's files are never
run); a rule's `modules` are the plug-ins the library loads instead, traced like libraries.
Env-driven data (TZ, LANG) lives in roots.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from slimmer.rootfs.entry import Entry
from slimmer.trace.closure import Need, TraceContext


@dataclass(frozen=True)
class DataRule:
    trigger: re.Pattern[str]  # searched in the real path of a kept file
    paths: tuple[str, ...]  # kept when present; directories with everything under them
    reason: str
    modules: bool = False  # the paths are modules the library loads, not data it reads


def rule(trigger: str, paths: tuple[str, ...], reason: str, modules: bool = False) -> DataRule:
    return DataRule(re.compile(trigger), paths, reason, modules)


DATA_RULES: tuple[DataRule, ...] = (
    rule(r"/libcrypto\.so\.[^/]*$",
         ("/usr/lib/ssl/openssl.cnf", "/etc/ssl/openssl.cnf", "/usr/lib/ssl/cert.pem", "/usr/lib/ssl/certs",
          "/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs", "/usr/lib/ssl/openssl.cnf.d"),
         "read by OpenSSL: configuration and CA certificates"),
    rule(r"/libgnutls\.so\.[^/]*$",
         ("/etc/ssl/certs/ca-certificates.crt", "/etc/gnutls/config", "/etc/gnutls"),
         "read by GnuTLS: CA bundle and configuration"),
    rule(r"/libnss3\.so$", ("/usr/lib/x86_64-linux-gnu/nss",), "modules loaded by Mozilla NSS", modules=True),
    rule(r"/libnss3\.so$", ("/etc/pki/nssdb",), "read by Mozilla NSS"),
    rule(r"/libc\.so\.6$", ("/etc/localtime",), "time zone read by glibc's localtime()"),
    rule(r"/libmagic\.so\.[^/]*$", ("/usr/lib/file/magic.mgc", "/usr/share/misc/magic.mgc", "/etc/magic"),
         "magic database read by libmagic"),
)


class DataRulesTracer:
    """Keeps the data files of the table for every kept file that triggers a rule."""

    name = "data"

    def __init__(self, rules: tuple[DataRule, ...] = DATA_RULES) -> None:
        self.rules = rules

    def needs(self, path: str, entry: Entry, ctx: TraceContext) -> Iterable[Need]:
        for data_rule in self.rules:
            if data_rule.trigger.search(path):
                for data_path in data_rule.paths:
                    yield Need(data_path, f"{data_rule.reason} ({path})", recursive=True, optional=True,
                               data=not data_rule.modules)
