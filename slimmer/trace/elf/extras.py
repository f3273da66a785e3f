"""What the dynamic loader cannot see: libraries and data that libc and well-known libraries
open behind the program's back. Data tables, so a new rule is a line, not code.

Each rule is triggered by an *imported* symbol (an undefined dynamic symbol of some object in
the load tree): only code that calls `getpwnam` can make glibc read /etc/nsswitch.conf and
dlopen `libnss_systemd.so.2`.
"""

from __future__ import annotations

import re

# -- NSS -----------------------------------------------------------------------------------

# imported function -> NSS databases it consults (glibc nss/*-lookup.c)
NSS_FUNCTIONS: dict[str, tuple[str, ...]] = {}


def _nss(databases: tuple[str, ...], *functions: str) -> None:
    for name in functions:
        NSS_FUNCTIONS[name] = NSS_FUNCTIONS.get(name, ()) + databases


_nss(("passwd",), "getpwnam", "getpwnam_r", "getpwuid", "getpwuid_r", "getpwent", "getpwent_r", "setpwent",
     "getpw", "getlogin", "getlogin_r", "cuserid", "glob", "glob64", "wordexp")  # glob/wordexp: "~user"
_nss(("group",), "getgrnam", "getgrnam_r", "getgrgid", "getgrgid_r", "getgrent", "getgrent_r", "setgrent")
_nss(("initgroups", "group"), "getgrouplist", "initgroups")
_nss(("shadow",), "getspnam", "getspnam_r", "getspent", "getspent_r", "setspent")
_nss(("gshadow",), "getsgnam", "getsgnam_r", "getsgent", "getsgent_r", "setsgent")
_nss(("hosts",), "gethostbyname", "gethostbyname_r", "gethostbyname2", "gethostbyname2_r", "gethostbyaddr",
     "gethostbyaddr_r", "gethostent", "gethostent_r", "sethostent", "getipnodebyname", "getipnodebyaddr",
     "rcmd", "rcmd_af", "rexec", "rexec_af", "getaddrinfo_a")
_nss(("hosts", "services"), "getaddrinfo", "getnameinfo")
_nss(("services",), "getservbyname", "getservbyname_r", "getservbyport", "getservbyport_r", "getservent",
     "getservent_r", "setservent")
_nss(("protocols",), "getprotobyname", "getprotobyname_r", "getprotobynumber", "getprotobynumber_r",
     "getprotoent", "getprotoent_r", "setprotoent")
_nss(("networks",), "getnetbyname", "getnetbyname_r", "getnetbyaddr", "getnetbyaddr_r", "getnetent",
     "getnetent_r", "setnetent")
_nss(("rpc",), "getrpcbyname", "getrpcbyname_r", "getrpcbynumber", "getrpcbynumber_r", "getrpcent",
     "getrpcent_r", "setrpcent")
_nss(("ethers",), "ether_hostton", "ether_ntohost")
_nss(("netgroup",), "setnetgrent", "getnetgrent", "getnetgrent_r", "innetgr")
_nss(("aliases",), "getaliasbyname", "getaliasbyname_r", "getaliasent", "getaliasent_r", "setaliasent")
_nss(("publickey",), "getpublickey", "getsecretkey")

# database -> the file the "files" (and "compat") service reads
NSS_FILES: dict[str, str] = {
    "passwd": "/etc/passwd", "group": "/etc/group", "initgroups": "/etc/group", "shadow": "/etc/shadow",
    "gshadow": "/etc/gshadow", "hosts": "/etc/hosts", "services": "/etc/services",
    "protocols": "/etc/protocols", "networks": "/etc/networks", "rpc": "/etc/rpc", "ethers": "/etc/ethers",
    "netgroup": "/etc/netgroup", "aliases": "/etc/aliases", "publickey": "/etc/publickey",
}
# files read when a database is used through a given service ("*": any service)
NSS_SERVICE_FILES: dict[tuple[str, str], tuple[str, ...]] = {
    ("hosts", "*"): ("/etc/host.conf",),
    ("hosts", "dns"): ("/etc/resolv.conf",),
    ("networks", "dns"): ("/etc/resolv.conf",),
}
# files read by a function itself, whatever nsswitch.conf says
FUNCTION_FILES: dict[str, tuple[str, ...]] = {
    "getaddrinfo": ("/etc/gai.conf",),
}
NSSWITCH_CONF = "/etc/nsswitch.conf"
# glibc's defaults for databases missing from nsswitch.conf (nss/nss_database.c)
NSS_DEFAULTS: dict[str, tuple[str, ...]] = {"hosts": ("dns", "files"), "networks": ("dns", "files")}
NSS_DEFAULT = ("files",)
NSS_FALLBACK_DB = {"initgroups": "group"}  # used when the database has no line of its own
# services compiled into libc.so.6 since glibc 2.34 (never dlopened)
NSS_BUILTIN_SINCE = {"files": (2, 34), "dns": (2, 34)}
NSS_MODULE = "libnss_{service}.so.2"
# musl has no NSS: its functions read these files directly
MUSL_DATABASE_FILES = {
    "passwd": ("/etc/passwd",), "group": ("/etc/group",), "initgroups": ("/etc/group",),
    "shadow": ("/etc/shadow",), "hosts": ("/etc/hosts", "/etc/resolv.conf"), "services": ("/etc/services",),
    "protocols": ("/etc/protocols",), "networks": (), "rpc": (), "ethers": (), "netgroup": (), "aliases": (),
    "gshadow": (), "publickey": (),
}


def parse_nsswitch(text: str) -> dict[str, tuple[str, ...]]:
    """database -> service names in order, `[STATUS=action]` items dropped."""
    result: dict[str, tuple[str, ...]] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if ":" not in line:
            continue
        db, _, rest = line.partition(":")
        rest = re.sub(r"\[[^\]]*\]", " ", rest)
        services = tuple(s for s in rest.split() if re.fullmatch(r"[A-Za-z0-9_+.-]+", s))
        result.setdefault(db.strip(), services)
    return result


# -- libgcc_s ------------------------------------------------------------------------------

# glibc dlopens libgcc_s.so.1 for unwinding: thread cancellation and exit, backtrace()
LIBGCC_S = "libgcc_s.so.1"
LIBGCC_S_FUNCTIONS = frozenset({"pthread_cancel", "pthread_exit", "thrd_exit", "backtrace"})

# -- dlopen by literal name ----------------------------------------------------------------

# importing one of these means the object loads libraries by a name it holds as a string
DLOPEN_FUNCTIONS = frozenset({"dlopen", "dlmopen", "g_module_open", "g_module_open_full", "lt_dlopen",
                              "lt_dlopenext", "PR_LoadLibrary", "SDL_LoadObject", "uv_dlopen"})
# a whole string that is a library name or an absolute path to one
DLOPEN_NAME = re.compile(rb"(?:/[\w+.-]+)*/?lib[\w+.-]*\.so(?:\.[0-9]+)*")


# literal dlopen names that are not followed: (soname pattern of the object holding the name,
# the name) -> why the code path never runs in a container
DLOPEN_IGNORE: dict[tuple[str, str], str] = {
    ("libselinux.so.*", "libsepol.so.*"): "libselinux loads it only in selinux_mkload_policy (load_policy)",
    ("libncurses*.so.*", "libgpm.so.*"): "ncurses loads it only for mouse events on a Linux console (TERM=linux)",
    ("libtinfo.so.*", "libgpm.so.*"): "ncurses loads it only for mouse events on a Linux console (TERM=linux)",
}


# -- static binaries -----------------------------------------------------------------------

# strings in a static binary's read-only data that show it reads NSS configuration itself
STATIC_NSS_MARKER = b"/etc/nsswitch.conf"
STATIC_GLIBC_NSS_MARKER = b"libnss_"  # static glibc dlopens NSS modules by this prefix
