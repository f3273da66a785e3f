"""Data chosen by name (slimmer/trace/named/), checked against the real runtime where one exists.

- gconv: the database built from the host's own configuration says which names iconv_open
  knows and which module files it maps, and the host's glibc (the same 2.36 as the images)
  answers the same: every name of the configuration and the builtins, spelled as programs spell
  them, through ctypes in a child process that reports the gconv objects it has mapped. Both
  the cache (default) and the text configuration (GCONV_PATH set) are compared.
- shell words, zone, locale and terminfo catalogs on small synthetic images.
- the tracer: a set is kept once a loader is kept and something names its items, on compiled
  programs in a root holding the host's glibc.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from slimmer.trace.named.gconv import (
    CONFIG_DIR,
    CONFIG_FILE,
    GconvConfig,
    GconvDatabase,
    normalise,
    plausible_literal,
)
from slimmer.trace.named.locales import archive_names, normalised_codeset
from slimmer.trace.named.words import script_words

from elfhelpers import HOST_LIBDIR, GlibcRoot, need_tool, rootfs_from_dir, trace
from requires import unavailable

GCONV_DIR = HOST_LIBDIR / "gconv"

# A child process: for each line of stdin, a JSON [from, to] pair, it calls iconv_open(to, from)
# and prints whether it worked and (with "maps", in a fork per pair, so that each starts with
# nothing loaded) which gconv files are mapped then.
_PROBE = r"""
import ctypes, json, os, sys
libc = ctypes.CDLL("libc.so.6", use_errno=True)
libc.iconv_open.restype = ctypes.c_void_p
maps = sys.argv[1] == "maps"
def answer(source, target):
    cd = libc.iconv_open(target.encode(), source.encode())
    ok = cd is not None and cd != ctypes.c_void_p(-1).value
    mapped = sorted({l.split()[-1] for l in open("/proc/self/maps") if "/gconv/" in l}) if maps else []
    sys.stdout.write(json.dumps([ok, mapped]) + "\n")
    sys.stdout.flush()
for line in sys.stdin:
    source, target = json.loads(line)
    if not maps:
        answer(source, target)
        continue
    pid = os.fork()
    if pid == 0:
        answer(source, target)
        os._exit(0)
    os.waitpid(pid, 0)
"""


def probe(pairs: list[tuple[str, str]], env: dict[str, str] | None = None,
          maps: bool = False) -> list[tuple[bool, set[str]]]:
    """What the host's glibc does for each (from, to): iconv_open works, and (maps) the gconv
    files mapped after it."""
    text = "".join(json.dumps(p) + "\n" for p in pairs)
    proc = subprocess.run([sys.executable, "-c", _PROBE, "maps" if maps else "open"], input=text,
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, check=True)
    return [(ok, {os.path.realpath(m) for m in mapped}) for ok, mapped in map(json.loads, proc.stdout.splitlines())]


def host_config() -> GconvConfig:
    if not (GCONV_DIR / CONFIG_FILE).is_file():
        unavailable(f"glibc's gconv configuration is not installed ({GCONV_DIR / CONFIG_FILE})")
    config = GconvConfig()
    for path in [GCONV_DIR / CONFIG_FILE, *sorted((GCONV_DIR / CONFIG_DIR).glob("*.conf"))]:
        config.add_text(path.read_text(), str(GCONV_DIR))
    return config


def spellings(config: GconvConfig) -> list[str]:
    """Every name the configuration and the builtins define, as programs write them: as is, in
    lower case, without the slashes, with //TRANSLIT."""
    from slimmer.trace.named.gconv import BUILTIN_ALIASES, BUILTIN_MODULES

    names = {a for a, _ in config.aliases} | {m.source for m in config.modules} | {m.target for m in config.modules}
    names |= {a for a, _ in BUILTIN_ALIASES} | {m.source for m in BUILTIN_MODULES}
    out: set[str] = set()
    for name in names:
        bare = name.rstrip("/")
        out |= {name, bare, bare.lower(), bare + "//TRANSLIT", " " + bare.lower() + "//IGNORE"}
    return sorted(out | {"", "utf-8//", "UTF-8//TRANSLIT//IGNORE", "LATIN-1", "latin1", "WCHAR_T", "INTERNAL",
                         "ISO-10646/UCS4", "nonsense", "UTF-16 "})


@pytest.mark.parametrize("cached", [True, False], ids=["cache", "text"])
def test_gconv_names_are_known_exactly_as_iconv_open_knows_them(cached):
    config = host_config()
    db = GconvDatabase(config, cached)
    names = spellings(config)
    env = {} if cached else {"GCONV_PATH": str(GCONV_DIR)}
    answers = probe([(name, "UTF-8") for name in names], env)
    wrong = [n for n, (ok, _maps) in zip(names, answers) if db.known(normalise(n)) != ok and normalise(n) != "//"]
    assert not wrong, f"{len(wrong)} of {len(names)} names judged otherwise than glibc: {wrong[:20]}"
    assert sum(ok for ok, _ in answers) > 1000  # the oracle did answer


@pytest.mark.parametrize("cached", [True, False], ids=["cache", "text"])
def test_gconv_modules_are_the_ones_glibc_maps(cached):
    config = host_config()
    db = GconvDatabase(config, cached)
    names = ["UTF-16", "utf16le", "UTF-32BE", "UTF-7", "SHIFT_JIS", "ISO-2022-KR", "BIG5", "EUC-CN", "KOI8-R",
             "LATIN-9", "EBCDIC-CP-US", "ISO-2022-JP", "UNICODE", "ASCII", "UCS-2", "UCS-4LE", "UTF-8"]
    pairs = [(a, b) for a in names for b in names if a != b]
    env = {} if cached else {"GCONV_PATH": str(GCONV_DIR)}
    answers = probe(pairs, env, maps=True)
    modules = {os.path.realpath(m.file) for m in config.modules if m.file}  # the rest are their DT_NEEDED
    missing, extra = [], []
    for (a, b), (ok, mapped) in zip(pairs, answers):
        assert ok, f"{a} -> {b}: the oracle cannot convert"
        mapped &= modules
        kept = {os.path.realpath(p) for p in db.files([normalise(a), normalise(b)])}
        if mapped - kept:
            missing.append((a, b, sorted(mapped - kept)))
        if kept - mapped:
            extra.append((a, b, sorted(kept - mapped)))
    assert not missing, f"modules glibc maps that the database does not name: {missing[:10]}"
    # the database keeps both directions of each name; a pair maps one direction, or a direct module
    assert all(len(e) <= 3 for _a, _b, e in extra), extra[:10]


def test_gconv_normalisation_and_plausible_literals():
    assert normalise("utf-8//TRANSLIT") == "UTF-8//"
    assert normalise("ISO-10646/UCS4") == "ISO-10646/UCS4/"
    assert normalise("latin 1") == "LATIN1//"
    assert normalise("") == "//"
    assert plausible_literal("UTF-16LE") and plausible_literal("Shift_JIS") and plausible_literal("Big5")
    assert plausible_literal("ISO-10646/UCS4/") and plausible_literal("utf-8//TRANSLIT")
    for noise in ("L2", "de", "850", "Dec", "Greek", "hU", "de/", "  hu", "%s"):
        assert not plausible_literal(noise), noise


def test_text_configuration_needs_the_cheapest_chain_between_names():
    config = GconvConfig()
    config.add_text("module A// INTERNAL A 1\nmodule INTERNAL A// A 1\nmodule B// INTERNAL B 1\n"
                    "module INTERNAL B// B 1\nmodule A// B// AB 1\nalias AA// A//\n", "/g")
    db = GconvDatabase(config, cached=False)
    assert set(db.files(["AA//", "B//"])) == {"/g/A.so", "/g/B.so", "/g/AB.so"}
    cached = GconvDatabase(config, cached=True)
    assert set(cached.files(["AA//"])) == {"/g/A.so"}
    assert set(cached.files(["AA//", "B//"])) == {"/g/A.so", "/g/B.so", "/g/AB.so"}
    assert not cached.known("C//")


# -- shell words -----------------------------------------------------------------------------

def test_script_words_literal_loop_file_and_input():
    text = """#!/bin/sh
TZ=Asia/Tokyo date   # TZ=Not/This
export TZ="America/New_York"
for zone in Europe/Paris Africa/Cairo; do TZ=$zone date; done
while read -r z; do TZ="$z" date; done < /srv/zones.txt
"""
    words = script_words(text, ("TZ",), {})
    assigned = words.assigned["TZ"]
    assert assigned.names == ["Asia/Tokyo", "America/New_York", "Europe/Paris", "Africa/Cairo"]
    assert assigned.files == ["/srv/zones.txt"] and assigned.dynamic is None
    assert "Not/This" not in words.words and "Europe/Paris" in words.words

    assert script_words('TZ=$1 date\n', ("TZ",), {}).assigned["TZ"].dynamic.endswith("arguments ($1)")
    assert "read from the script's input" in script_words("read z\nTZ=$z date\n", ("TZ",), {}).assigned["TZ"].dynamic
    assert script_words("TZ=$(cat /etc/timezone) date\n", ("TZ",), {}).assigned["TZ"].dynamic
    env_value = script_words("TZ=$DEFAULT_ZONE date\n", ("TZ",), {"DEFAULT_ZONE": "Asia/Seoul"}).assigned["TZ"]
    assert env_value.names == ["Asia/Seoul"] and env_value.dynamic is None
    assert "does not set" in script_words("TZ=$ZONE date\n", ("TZ",), {}).assigned["TZ"].dynamic


def test_locale_names():
    assert normalised_codeset("en_US.UTF-8") == "en_US.utf8"
    assert normalised_codeset("de_DE.ISO-8859-1@euro") == "de_DE.iso88591@euro"
    assert normalised_codeset("ja_JP.8859") == "ja_JP.iso8859"
    archive = Path("/usr/lib/locale/locale-archive")
    if archive.is_file():
        listed = subprocess.run(["localedef", "--list-archive"], capture_output=True, text=True).stdout.split()
        assert archive_names(archive.read_bytes()) == set(listed)
    assert archive_names(b"not an archive") == set()


# -- the tracer on compiled programs -----------------------------------------------------------

ZONE_USER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(void) {
    setenv("TZ", "Asia/Tokyo", 1);
    tzset();
    time_t t = 0;
    char buf[64];
    strftime(buf, sizeof buf, "%F %T %Z", localtime(&t));
    puts(buf);
    return 0;
}
"""
LOCALE_USER = r"""
#include <locale.h>
#include <stdio.h>
int main(void) {
    puts(setlocale(LC_ALL, "") ? "ok" : "no locale");
    return 0;
}
"""
ZONE_READER = r"""
#include <stdio.h>
int main(int argc, char **argv) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", "/usr/share/zoneinfo", argc > 1 ? argv[1] : "UTC");
    FILE *f = fopen(path, "rb");
    puts(f ? "found" : "missing");
    return 0;
}
"""


@pytest.fixture(scope="module")
def named_root(tmp_path_factory):
    need_tool("gcc")
    work = tmp_path_factory.mktemp("named")
    root = GlibcRoot(work / "root")
    root.compile(ZONE_USER, "/usr/bin/zoneuser")
    root.compile(LOCALE_USER, "/usr/bin/localeuser")
    root.compile(ZONE_READER, "/usr/bin/zonereader")
    for zone in ("Asia/Tokyo", "Europe/Paris", "UTC", "posix/Asia/Tokyo", "right/Asia/Tokyo"):
        dest = root.path(f"/usr/share/zoneinfo/{zone}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(b"TZif2" + zone.encode())
    root.path("/usr/share/zoneinfo/zone.tab").write_text("# not a zone\n")
    root.path("/usr/lib/locale/fr_FR.utf8").mkdir(parents=True)
    root.path("/usr/lib/locale/fr_FR.utf8/LC_TIME").write_bytes(b"time")
    root.path("/usr/lib/locale/C.utf8").mkdir(parents=True)
    root.path("/usr/lib/locale/C.utf8/LC_CTYPE").write_bytes(b"ctype")
    root.path("/etc/localtime").symlink_to("/usr/share/zoneinfo/UTC")
    root.ldconfig()
    return root, rootfs_from_dir(root.root, work)


def test_a_zone_named_by_the_program_is_kept_with_its_loader(named_root):
    root, fs = named_root
    keep, _t, _c = trace(fs, ["/usr/bin/zoneuser"], named=True)
    reason = keep.reasons["/usr/share/zoneinfo/Asia/Tokyo"]
    assert keep.rules["/usr/share/zoneinfo/Asia/Tokyo"] == "zoneinfo"
    assert reason.text.startswith("time zone Asia/Tokyo (named in /usr/bin/zoneuser; loaded by /usr/bin/zoneuser")
    assert "/usr/share/zoneinfo/Europe/Paris" not in keep
    assert "/etc/localtime" in keep  # no TZ in the Env: the default zone
    run = root.run(["/usr/bin/zoneuser"])
    assert run.returncode == 0


def test_the_env_names_zones_and_locales_only_for_their_loaders(named_root):
    _root, fs = named_root
    env = {"TZ": "Europe/Paris", "LANG": "fr_FR.UTF-8"}
    keep, _t, _c = trace(fs, ["/usr/bin/localeuser"], env, named=True)
    assert "/usr/lib/locale/fr_FR.utf8/LC_TIME" in keep
    assert keep.reasons["/usr/lib/locale/fr_FR.utf8"].text.startswith("locale fr_FR.UTF-8 (LANG=fr_FR.UTF-8 in the image Env")
    assert "/usr/share/zoneinfo/Europe/Paris" not in keep  # setlocale does not read zones
    keep, _t, _c = trace(fs, ["/usr/bin/zoneuser"], env, named=True)
    assert "/usr/share/zoneinfo/Europe/Paris" in keep and "/etc/localtime" not in keep  # TZ is set
    assert "/usr/lib/locale/fr_FR.utf8" not in keep


def test_a_program_reading_the_zone_directory_itself_keeps_all_zones_but_the_copies(named_root):
    _root, fs = named_root
    keep, _t, _c = trace(fs, ["/usr/bin/zonereader"], named=True)
    assert "/usr/share/zoneinfo/Europe/Paris" in keep and "/usr/share/zoneinfo/zone.tab" in keep
    assert "/usr/share/zoneinfo/posix/Asia/Tokyo" not in keep and "/usr/share/zoneinfo/right/Asia/Tokyo" not in keep
    assert "reads /usr/share/zoneinfo itself (compiled in): the names come from its input" in \
        keep.reasons["/usr/share/zoneinfo/Europe"].text


TINFO = r"""
static const char dirs[] = "/etc/terminfo:/lib/terminfo:/usr/share/terminfo";
int setupterm(const char *term, int fd, int *err) { (void)term; (void)fd; (void)err; return dirs[0]; }
"""
TERM_USER = "int setupterm(const char *, int, int *); int main(void) { return setupterm(0, 1, 0) != '/'; }\n"
TERMINFO_LISTER = '#include <stdio.h>\nint main(void) { puts("/usr/share/terminfo"); return 0; }\n'
LOCALEDEF = '#include <stdio.h>\nint main(void) { puts("/usr/lib/locale:/usr/share/i18n"); return 0; }\n'


@pytest.fixture(scope="module")
def terminal_root(tmp_path_factory):
    need_tool("gcc")
    work = tmp_path_factory.mktemp("terminfo")
    root = GlibcRoot(work / "root")
    lib = f"/usr/lib/{HOST_LIBDIR.name}"
    root.compile(TINFO, f"{lib}/libtinfo.so.6", "-Wl,-soname,libtinfo.so.6", shared=True)
    root.compile(TERM_USER, "/usr/bin/termuser", "-l:libtinfo.so.6", libdirs=[lib])
    root.compile(TERMINFO_LISTER, "/usr/bin/toe")
    root.compile(LOCALEDEF, "/usr/bin/localedef")
    for entry in ("lib/terminfo/x/xterm", "lib/terminfo/l/linux", "usr/share/terminfo/d/dumb",
                  "usr/share/i18n/locales/fr_FR", "usr/share/i18n/charmaps/UTF-8.gz"):
        root.path(entry).parent.mkdir(parents=True, exist_ok=True)
        root.path(entry).write_bytes(b"data " + entry.encode())
    root.ldconfig()
    return root, rootfs_from_dir(root.root, work)


def test_terminfo_for_term_and_docker_tty_in_the_directories_libtinfo_was_built_with(terminal_root):
    _root, fs = terminal_root
    keep, _t, _c = trace(fs, ["/usr/bin/termuser"], {"TERM": "linux"}, named=True)
    assert keep.reasons["/usr/lib/terminfo/l/linux"].text.startswith(
        "terminal description linux (TERM=linux in the image Env; loaded by /usr/bin/termuser, which imports setupterm")
    assert "TERM that `docker run -t` sets" in keep.reasons["/usr/lib/terminfo/x/xterm"].text
    assert "/usr/share/terminfo/d/dumb" not in keep
    keep, _t, _c = trace(fs, ["/usr/bin/toe"], named=True)  # reads the directory itself: every entry
    assert "/usr/share/terminfo/d/dumb" in keep and "/usr/lib/terminfo/l/linux" in keep


def test_localedef_keeps_the_locale_sources(terminal_root):
    _root, fs = terminal_root
    keep, _t, _c = trace(fs, ["/usr/bin/localedef"], named=True)
    assert "/usr/share/i18n/charmaps/UTF-8.gz" in keep and "/usr/share/i18n/locales/fr_FR" in keep
    assert keep.rules["/usr/share/i18n"] == "i18n"
