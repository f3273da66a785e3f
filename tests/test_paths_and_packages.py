"""Compiled-in paths, configuration following and Debian package knowledge, on small images:
a program compiled with the paths it uses, configuration in the style of nginx's and of
PostgreSQL's share directory, and a dpkg database written as dpkg writes it (merged /usr)."""

from __future__ import annotations

import subprocess

import pytest

from slimmer.report import file_records
from slimmer.trace.dpkg import DpkgDatabase
from slimmer.trace.roots import run_spec
from slimmer.trace.session import trace_image

from imagefactory import Dir, File, Symlink, compile_static, make_layer, merged_rootfs
from requires import program as need_tool

TRIPLET = "x86_64-linux-gnu"

STATUS = b"""Package: foo-daemon
Status: install ok installed
Architecture: amd64
Source: foo
Version: 1.0
Conffiles:
 /etc/food/food.conf 0123456789abcdef0123456789abcdef
 /etc/init.d/food 0123456789abcdef0123456789abcdef
 /etc/food/old.conf 0123456789abcdef0123456789abcdef obsolete

Package: libfoo1
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: foo (1.0-1)
Version: 1.0-1

Package: gone
Status: deinstall ok config-files
Architecture: amd64
"""

FOOD = r"""
#include <stdio.h>
static const char *paths[] = {"/etc/food/food.conf", "/usr/share/food/", "/var/lib/food/cache", "/run/food.pid",
                              "/proc/self/status", "/etc/food/missing.conf", "/var/spool/food/*.job",
                              "/var/log/food/access.log",                               "/etc/food/plugins.d/*.conf", 0};
int main(void) { for (int i = 0; paths[i]; i++) puts(paths[i]); return 0; }
"""
FOOD_CONF = b"""# food's configuration; /etc/secret is only in this comment
user food;
include mime.types;
include /etc/food/conf.d/*.conf;
include /etc/food/extra/*;
root /srv/food/www;
pid /run/food/food.pid;
error_log /var/log/food/error.log;
load_module modules/mod_x.so;
"""


@pytest.fixture(scope="module")
def food(tmp_path_factory):
    d = tmp_path_factory.mktemp("food")
    program = compile_static(d / "food", FOOD).read_bytes()
    layer = make_layer([
        ("usr/lib/x86_64-linux-gnu/", Dir()), ("lib", Symlink("usr/lib")),
        ("usr/sbin/food", File(program, mode=0o755)),
        ("usr/lib/x86_64-linux-gnu/libfoo.so.1", b"\x7fELF not really"),
        ("usr/share/doc/foo-daemon/copyright", b"(c)"), ("usr/share/doc/libfoo1/copyright", b"(c)"),
        ("etc/food/food.conf", FOOD_CONF), ("etc/food/mime.types", b"types { text/html html; }\n"),
        ("etc/food/conf.d/a.conf", b"data /var/food/a.db\n"), ("etc/food/conf.d/b.txt", b"data /var/food/b.db\n"),
        ("etc/food/extra/[odd", b"x"),
        ("etc/init.d/food", File(b"#!/bin/sh\n", mode=0o755)), ("etc/secret", b"s3cret"),
        ("srv/food/www/index.html", b"<p>hi</p>"),
        ("usr/share/food/modules/mod_x.so", b"x"), ("usr/share/food/modules/mod_y.so", b"y"),
        ("var/food/a.db", b"a"), ("var/food/b.db", b"b"),
        ("var/spool/food/x.job", b"x"), ("var/spool/food/y.txt", b"y"), ("etc/food/plugins.d/", Dir()),
        ("var/lib/food/", Dir(mode=0o750, uid=105, gid=107)), ("var/log/food/", Dir(mode=0o2750, gid=4)),
        ("var/log/food/access.log", Symlink("/dev/stdout")), ("var/log/food/error.log", Symlink("/dev/stderr")),
        ("run/", Dir()),
        ("var/lib/dpkg/status", STATUS),
        ("var/lib/dpkg/info/foo-daemon.list",
         b"/.\n/etc\n/etc/food\n/etc/food/food.conf\n/etc/init.d\n/etc/init.d/food\n/usr\n/usr/sbin\n"
         b"/usr/sbin/food\n/usr/share\n/usr/share/doc\n/usr/share/doc/foo-daemon\n"
         b"/usr/share/doc/foo-daemon/copyright\n/var\n/var/lib\n/var/lib/food\n/var/log\n/var/log/food\n"),
        ("var/lib/dpkg/info/libfoo1:amd64.list",
         b"/.\n/lib\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libfoo.so.1\n/usr\n/usr/share\n/usr/share/doc\n"
         b"/usr/share/doc/libfoo1\n/usr/share/doc/libfoo1/copyright\n"),
    ], parents=True)
    return merged_rootfs(d, layer).rootfs


def test_dpkg_database_with_merged_usr(food):
    packages = DpkgDatabase(food)
    assert set(packages.packages) == {"foo-daemon", "libfoo1"}  # "gone" is not installed
    daemon = packages.packages["foo-daemon"]
    assert daemon.source == "foo" and packages.packages["libfoo1"].source == "foo"
    assert daemon.conffiles == ("/etc/food/food.conf", "/etc/init.d/food")  # the obsolete one is not
    assert packages.owner(f"/usr/lib/{TRIPLET}/libfoo.so.1").name == "libfoo1"  # listed as /lib/...
    assert packages.owners("/usr/share/doc") == ("foo-daemon", "libfoo1")
    assert packages.owner("/usr/share/doc") is None and packages.owner("/srv/food/www/index.html") is None


def test_a_program_keeps_what_it_names_and_what_its_configuration_names(food):
    result = trace_image(food, run_spec({"config": {"Entrypoint": ["/usr/sbin/food"]}}))
    keep = result.keep
    for path in ("/etc/food/food.conf", "/etc/food/mime.types", "/etc/food/conf.d/a.conf", "/var/food/a.db",
                 "/etc/food/extra/[odd",  # a glob's match, whatever characters its name holds
                 "/srv/food/www/index.html", "/usr/share/food/modules/mod_x.so", "/var/lib/food", "/run",
                 "/var/spool/food/x.job", "/etc/food/plugins.d"):  # compiled-in globs: matches, directories
        assert path in keep, path
    for path in ("/etc/secret", "/usr/share/food/modules/mod_y.so", "/etc/food/conf.d/b.txt", "/var/food/b.db",
                 "/var/spool/food/y.txt",
                 "/etc/init.d/food", "/usr/share/doc/foo-daemon/copyright"):
        assert path not in keep, path
    assert keep.reasons["/etc/food/food.conf"].text == "path compiled into /usr/sbin/food"
    assert keep.reasons["/etc/food/mime.types"].text == "named in /etc/food/food.conf"
    assert keep.rules["/usr/share/food/modules/mod_x.so"] == "config"  # relative to the compiled-in prefix
    assert "the program's own directory" in keep.reasons["/srv/food/www"].text
    assert keep.reasons["/run"].text.startswith("directory of /run/food.pid, which /usr/sbin/food creates")
    assert keep.reasons["/etc/food/plugins.d"].text == \
        "directory listed by the glob /etc/food/plugins.d/*.conf compiled into /usr/sbin/food"
    # logs linked to the container's output, as official images do: the links are what the image holds
    assert keep.reasons["/var/log/food/access.log"].text == \
        "path compiled into /usr/sbin/food, a symlink to /dev/stdout"
    assert keep.reasons["/var/log/food/error.log"].text == "named in /etc/food/food.conf, a symlink to /dev/stderr"
    assert keep.rules["/var/lib/food"] in ("compiled-in", "dpkg")
    state = food.get("/var/lib/food")
    assert (state.mode & 0o7777, state.uid, state.gid) == (0o750, 105, 107)  # what the packer copies
    records = {r["path"]: r for r in file_records(food, keep, result.ctx, packages=result.packages)}
    assert records["/usr/sbin/food"]["package"] == "foo-daemon"
    assert records["/etc/food/food.conf"]["package"] == "foo-daemon"
    assert records["/srv/food/www/index.html"]["package"] is None
    assert records["/usr/sbin/food"]["rule"] == "root"


def test_the_package_of_a_program_brings_its_conffiles_and_empty_directories(food):
    keep = trace_image(food, run_spec({"config": {"Entrypoint": ["/usr/sbin/food"]}})).keep
    reasons = keep.reasons
    # /var/log/food is named by nothing: the package ships it empty for food to write into
    assert keep.rules["/var/log/food"] == "dpkg"
    assert reasons["/var/log/food"].text == ("directory of foo-daemon, the package of /usr/sbin/food, shipped empty "
                                             "for its programs to write into")
    assert {p for p, r in keep.rules.items() if r == "dpkg"} <= {"/etc/food/food.conf", "/var/lib/food",
                                                                   "/var/log/food"}
    assert "/etc/init.d/food" not in reasons  # configures another service
    assert "/usr/share/doc/foo-daemon" not in reasons  # not empty: documentation


PG_BIN = r"""
#include <stdio.h>
int main(void) { puts("/usr/share/postgresql/15"); puts("/usr/lib/postgresql/15/lib"); return 0; }
"""


def test_a_data_directory_and_the_modules_its_sql_names(tmp_path):
    program = compile_static(tmp_path / "postgres", PG_BIN).read_bytes()
    share, lib = "usr/share/postgresql/15", "usr/lib/postgresql/15/lib"
    fs = merged_rootfs(tmp_path, make_layer([
        ("usr/lib/postgresql/15/bin/postgres", File(program, mode=0o755)),
        (f"{share}/postgres.bki", b"create pg_proc\n"),
        (f"{share}/snowball_create.sql", b"CREATE FUNCTION dsnowball_init(INTERNAL) AS '$libdir/dict_snowball';\n"),
        (f"{share}/extension/hstore.control", b"module_pathname = '$libdir/hstore'\n"),
        (f"{share}/timezonesets/Default", b"UTC 0 # Coordinated Universal Time\n"),
        (f"{share}/man/man1/postgres.1", b".TH POSTGRES\n"),
        (f"{lib}/dict_snowball.so", b"s"), (f"{lib}/hstore.so", b"h"), (f"{lib}/llvmjit.so", b"j"),
    ], parents=True)).rootfs
    keep = trace_image(fs, run_spec({"config": {"Entrypoint": ["/usr/lib/postgresql/15/bin/postgres"]}})).keep
    for path in ("postgres.bki", "snowball_create.sql", "extension/hstore.control", "timezonesets/Default"):
        assert f"/{share}/{path}" in keep, path
    assert f"/{lib}/dict_snowball.so" in keep and f"/{lib}/hstore.so" in keep
    assert keep.reasons[f"/{lib}/hstore.so"].text.startswith(f"module hstore named in /{share}/extension/hstore.control")
    assert f"/{lib}/llvmjit.so" not in keep  # named by no SQL: JIT falls back to the interpreter
    assert f"/{share}/man/man1/postgres.1" not in keep


POPEN_USER = r"""
#include <stdio.h>
int main(void) {
    FILE *f = popen("locale -a", "r");
    if (f) pclose(f);
    fputs("date out of range\n", stderr);
    return 0;
}
"""


def test_a_program_calling_popen_keeps_the_shell_and_the_commands_of_its_command_lines(tmp_path):
    gcc = need_tool("gcc")
    binary = tmp_path / "popen-user"
    subprocess.run([gcc, "-O1", "-o", str(binary), "-x", "c", "-"], input=POPEN_USER, text=True, check=True)
    tool = File(b"\0stand-in\0", mode=0o755)
    fs = merged_rootfs(tmp_path, make_layer([
        ("usr/bin/popen-user", File(binary.read_bytes(), mode=0o755)), ("bin", Symlink("usr/bin")),
        ("usr/bin/dash", tool), ("usr/bin/sh", Symlink("dash")), ("usr/bin/locale", tool), ("usr/bin/date", tool),
    ], parents=True)).rootfs
    keep = trace_image(fs, run_spec({"config": {"Entrypoint": ["/usr/bin/popen-user"], "Env": ["PATH=/usr/bin"]}})).keep
    assert keep.rules["/usr/bin/dash"] == "command-line"
    assert keep.reasons["/usr/bin/dash"].text == "the shell system() and popen() run (/usr/bin/popen-user imports popen)"
    assert "command line 'locale -a' in /usr/bin/popen-user" in keep.reasons["/usr/bin/locale"].text
    assert "/usr/bin/date" not in keep  # a message, not a command line
