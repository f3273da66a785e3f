"""Perl tracing: the statement scanner, perl's command line, @INC, and the real perl as oracle.

The daemon tests use the perl-app sample (Debian's perl, JSON::XS, DBI + DBD::SQLite): its
`report` program is slimmed and verified; the features that make perl load modules implicitly
are each run in the fat image, and every file `%INC` lists must be kept by the trace.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from slimmer.analysis import open_analysis
from slimmer.slim import SlimOptions, slim
from slimmer.trace.perl.cmdline import parse_perl_args
from slimmer.trace.perl.implicit import IMPLICIT_LOADS
from slimmer.trace.perl.inc import _rank
from slimmer.trace.perl.source import PerlSource
from slimmer.trace.perl.statements import scan
from slimmer.trace.roots import run_spec
from slimmer.trace.session import trace_image

import strace_truth

SAMPLE = "perl-app"


def loads(code: str) -> list[tuple[str, int, str, bool]]:
    return [(load.name, load.line, load.how, load.optional) for load in scan(PerlSource.parse(code)).loads]


def test_scanner_finds_the_statements_that_load_code():
    code = """#!/usr/bin/perl
use strict;
use warnings FATAL => 'all';
use v5.36;
use POSIX qw(floor);
no warnings 'once';
use parent -norequire, 'Not::Loaded';
use base qw(Base::One Base::Two);
use if $] < 5.010, 'Old::Compat' => qw(x);
require Carp;
require "Config_heavy.pl";
my $ok = eval { require Optional::Thing; 1 };
eval "use String::Eval; 1";
print "use Not::A::Statement;\\n";
# use Commented::Out;
my $text = <<"EOT";
use In::Heredoc;
EOT
require Visible::After;
=pod

use In::Pod;

=cut
__END__
use After::End;
"""
    assert loads(code) == [
        ("String::Eval", 13, "use", True),
        ("strict", 2, "use", False), ("warnings", 3, "use", False), ("POSIX", 5, "use", False),
        ("warnings", 6, "no", False), ("parent", 7, "use", False), ("base", 8, "use", False),
        ("Base::One", 8, "use base", False), ("Base::Two", 8, "use base", False),
        ("if", 9, "use", False), ("Old::Compat", 9, "use if", True),
        ("Carp", 10, "require", False), ("Config_heavy.pl", 11, "require", False),
        ("Optional::Thing", 12, "require", True), ("Visible::After", 19, "require", False),
    ]


def test_scanner_reports_what_is_named_at_run_time_and_globs_directory_candidates():
    statements = scan(PerlSource.parse('require $class;\nrequire "File/Spec/$module.pm";\n'
                                       'eval "require $driver; 1";\nsystem $cmd, "-x";\n'))
    assert sorted(d.line for d in statements.dynamic) == [1, 3, 4]
    glob = [load for load in statements.loads if load.glob]
    assert [(g.name, g.line, g.optional) for g in glob] == [("File/Spec/*.pm", 2, True)]


def test_scanner_finds_lib_dirs_xs_objects_and_commands():
    statements = scan(PerlSource.parse("""package My::XS;
use lib "$FindBin::Bin/../lib", '/opt/lib';
require XSLoader;
XSLoader::load();
package Other;
XSLoader::load('Named::Module', $VERSION);
system("tar", "-xf", $file);
my $out = `ls -l /tmp | wc -l`;
exec "/usr/bin/env python3 -V";
open(my $fh, "-|", "gzip", "-dc", $path);
"""))
    assert statements.lib_dirs == [("$FindBin::Bin/../lib", 2), ("/opt/lib", 2)]
    assert statements.xs_modules == [("My::XS", 4), ("Named::Module", 6)]
    assert [(r.how, r.argv, r.shell) for r in statements.runs] == [
        ("system", ("tar", "-xf"), None),
        ("exec", ("/usr/bin/env", "python3", "-V"), None),
        ("open pipe", ("gzip", "-dc"), None),
        ("backticks", (), "ls -l /tmp | wc -l"),
    ]


def guards(code: str) -> list[tuple[str, str | None]]:
    return [(load.name, load.guard and load.guard.trigger) for load in scan(PerlSource.parse(code)).loads
            if load.how == "require"]


def test_scanner_finds_the_conditions_this_perl_decides():
    code = """package My::Dumper;
our ($Indent, $Deparse);
BEGIN {
  if (${^TAINT}) {
    require re;
  }
}
if ($^O eq 'MSWin32') { require Win32; }
require VMS::Filespec if $^O eq "VMS";
require Linux::Only if $^O =~ /^(?:linux|freebsd)$/;
sub dump {
  my $s = shift;
  if ($s->{deparse}) {
    require B::Deparse;
  }
  if ($s->{purity}) { require Not::Declared::Option; }
  if ($s->{deparse} || $ENV{DEPARSE}) { require Either::Way; }
  if (!$s->{deparse}) { require Negated; }
  require After::Blocks;
}
"""
    assert guards(code) == [
        ("re", "taint mode"), ("Win32", None), ("VMS::Filespec", None), ("Linux::Only", None),
        ("B::Deparse", "deparse"), ("Not::Declared::Option", None), ("Either::Way", None), ("Negated", None),
        ("After::Blocks", None),
    ]
    dead = [load.name for load in scan(PerlSource.parse(code)).loads if load.guard and load.guard.trigger is None]
    assert dead == ["Win32", "VMS::Filespec"]


@pytest.mark.parametrize("body,guarded", [
    ('my $t = "x";', True),
    ('my $t = "{";', False),  # counted without skipping quotes, the block never ends
    ("print q{don't};", False),  # skipping quotes, "don't" opens one that swallows the brace
])
def test_a_block_whose_brace_counts_disagree_guards_nothing(body, guarded):
    code = f"use vars qw($Debug);\nif ($Pkg::Debug) {{ {body} require Inside; }}\nrequire Later;\n"
    assert guards(code) == [("Inside", "debug" if guarded else None), ("Later", None)]


def test_perl_command_line_switches():
    command = parse_perl_args(["-w -T", "-Ilib", "-I", "/opt/perl", "-MData::Dumper=Dumper", "-m-strict",
                               "script.pl", "arg"])
    assert command.include == ["lib", "/opt/perl"]
    assert command.modules == ["Data::Dumper", "strict"]
    assert (command.program, command.args) == ("script.pl", ["arg"])
    one_liner = parse_perl_args(["-lne", "print if /x/", "file.txt"], env_options="-MList::Util")
    assert one_liner.code == ["print if /x/"] and one_liner.program is None and one_liner.modules == ["List::Util"]
    assert parse_perl_args(["-S", "tool", "--", "-x"]).search_path
    assert parse_perl_args(["-wT", "x.pl"]).taint and parse_perl_args(["-w -t", "x.pl"]).taint
    assert not parse_perl_args(["-w", "-I", "T", "x.pl"]).taint


@pytest.mark.parametrize("layout", [
    # Debian's perl 5.36 (the order `perl -V` prints), the official perl image, Alpine's perl.
    ["/etc/perl", "/usr/local/lib/x86_64-linux-gnu/perl/5.36.0", "/usr/local/share/perl/5.36.0",
     "/usr/lib/x86_64-linux-gnu/perl5/5.36", "/usr/share/perl5", "/usr/lib/x86_64-linux-gnu/perl-base",
     "/usr/lib/x86_64-linux-gnu/perl/5.36", "/usr/share/perl/5.36", "/usr/local/lib/site_perl"],
    ["/usr/local/lib/perl5/site_perl/5.36.0/x86_64-linux", "/usr/local/lib/perl5/site_perl/5.36.0",
     "/usr/local/lib/perl5/vendor_perl/5.36.0/x86_64-linux", "/usr/local/lib/perl5/vendor_perl/5.36.0",
     "/usr/local/lib/perl5/5.36.0/x86_64-linux", "/usr/local/lib/perl5/5.36.0"],
    ["/usr/local/lib/perl5/site_perl", "/usr/local/share/perl5/site_perl", "/usr/lib/perl5/vendor_perl",
     "/usr/share/perl5/vendor_perl", "/usr/lib/perl5/core_perl", "/usr/share/perl5/core_perl"],
])
def test_inc_order_by_shape(layout):
    shuffled = layout[::2] + layout[1::2]  # any other order: the sort must restore perl's
    assert sorted(shuffled, key=_rank) == layout


# -- against the real perl --

IMPLICIT_SNIPPETS = {
    "_charnames": r'my $s = "\N{GREEK SMALL LETTER ALPHA}"; print length $s;',
    "Errno": r'open my $fh, "<", "/nonexistent" or print $!{ENOENT} ? 1 : 0;',
    "File::Glob": r'my @f = glob("/etc/*.conf"); print scalar @f;',
    "PerlIO::encoding": r'binmode STDOUT, ":encoding(UTF-8)"; print "x";',
    "PerlIO::via": r'eval { binmode STDOUT, ":via(Nothing)" }; print "x";',
    "PerlIO::scalar": r'my $s = "a\nb\n"; open my $fh, "<", \$s; my @l = <$fh>; print scalar @l;',
    "IO::File": r'STDOUT->autoflush(1); print "x";',
}


# What modules load at run time, beyond their `use` lines, and what perl loads for Unicode.
RUN_TIME_SNIPPETS = {
    "Config_heavy.pl": r'use Config; print length $Config{ccflags};',
    "unicode": r'my $s = uc "stra\x{df}e \x{3c9}"; my $n = () = "\x{c9}t\x{c9}" =~ /\p{Lu}/g; print lc($s), $n;',
    "Encode": r'use Encode qw(encode decode); print length encode("UTF-8", decode("UTF-8", "caf\xc3\xa9"));',
    "POSIX": r'use POSIX qw(strftime); print strftime("%Y", gmtime 0);',
    "Data::Dumper": r'use Data::Dumper; $Data::Dumper::Sortkeys = 1; print Dumper({a => 1});',
    "JSON::XS": r'use JSON::XS; print JSON::XS->new->canonical->encode({a => [1, 2]});',
    "Carp": r'use Carp; eval { croak "x" }; print $@ ? 1 : 0;',
    # options that make a module load more (conditions.py): the snippet sets them
    "Data::Dumper Deparse": r'use Data::Dumper; $Data::Dumper::Deparse = 1; print Dumper(sub { 1 });',
    "Storable Deparse": r'use Storable qw(freeze); $Storable::Deparse = 1; print length freeze([sub { 1 }]);',
}

# (snippet, perl's switches, a module it loads only under a condition the snippet does or does not meet)
CONDITIONAL_LOADS = [
    (r'use Data::Dumper; print Dumper(sub { 1 });', "", "B/Deparse.pm", False),
    (r'use Data::Dumper; local $Data::Dumper::Deparse = 1; print Dumper(sub { 1 });', "", "B/Deparse.pm", True),
    (r'use Data::Dumper; print Data::Dumper->new([sub { 1 }])->Deparse(1)->Dump;', "", "B/Deparse.pm", True),
    (r'use Storable qw(freeze); print length freeze([1]);', "", "B/Deparse.pm", False),
    (r'use File::Basename; print basename("/a/b");', "", "re.pm", False),
    (r'use File::Basename; print basename("/a/b");', "-T", "re.pm", True),
]


def test_every_implicit_load_has_a_snippet():
    assert {load.modules[-1] for load in IMPLICIT_LOADS} == set(IMPLICIT_SNIPPETS)


@pytest.fixture(scope="module")
def perl_fs(sample_archive):
    with open_analysis(f"docker-archive:{sample_archive(SAMPLE)}") as opened:
        yield opened.fs


def _fat_perl(image: str, script: str, switches: str = "") -> str:
    return subprocess.run(["docker", "run", "--rm", "--network", "none", "--entrypoint", "perl", image,
                           *switches.split(), "-e", script],
                          capture_output=True, text=True, check=True, timeout=120).stdout


def _kept_by_trace(fs, command: str) -> set[str]:
    spec = run_spec({"config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}},
                    entrypoint=command)
    return set(trace_image(fs, spec).keep.reasons)


def test_inc_is_what_the_image_perl_reports(sample_image, perl_fs):
    from slimmer.trace.perl.inc import compiled_inc

    real = _fat_perl(sample_image(SAMPLE), 'print "$_\\n" for @INC').split()
    existing = [d for d in real if perl_fs.lookup(d) is not None]
    assert len(existing) >= 5, real
    assert list(compiled_inc(perl_fs, "/usr/bin/perl")) == existing


@pytest.mark.parametrize("module", sorted(IMPLICIT_SNIPPETS) + sorted(RUN_TIME_SNIPPETS))
def test_implicit_loads_match_inc_of_the_real_perl(sample_image, perl_fs, module):
    """Each feature, run by the image's perl: every file in %INC is kept by the trace of the same code."""
    snippet = IMPLICIT_SNIPPETS.get(module) or RUN_TIME_SNIPPETS[module]
    inc = _fat_perl(sample_image(SAMPLE), snippet + ' print STDOUT "\\n", join("\\n", values %INC), "\\n";')
    loaded = {line for line in inc.splitlines()[1:] if line.startswith("/")}
    if module in IMPLICIT_SNIPPETS:
        assert any(path.endswith("/" + module.replace("::", "/") + ".pm") for path in loaded), inc
    if module == "unicode":
        assert loaded == set(), f"perl 5.36 loads nothing for case mapping and \\p{{}}: {loaded}"
    spec = run_spec({"config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}},
                    entrypoint=f"perl -e '{snippet}'")
    kept = set(trace_image(perl_fs, spec).keep.reasons)
    missing = {path for path in loaded if perl_fs.resolve(path).path not in kept}
    assert not missing, f"{module}: loaded by perl but not kept: {sorted(missing)}"


@pytest.mark.parametrize("snippet,switches,module,loaded", CONDITIONAL_LOADS)
def test_conditional_loads_follow_the_real_perl(sample_image, perl_fs, snippet, switches, module, loaded):
    """A module loaded under a condition (an option set, taint mode) is kept exactly when the
    image's perl loads it for the same code: both sides of each condition."""
    inc = _fat_perl(sample_image(SAMPLE), snippet + ' print STDOUT "\\n", join("\\n", values %INC), "\\n";',
                    switches)
    real = [line for line in inc.splitlines()[1:] if line.endswith("/" + module)]
    assert bool(real) == loaded, inc
    kept = [path for path in _kept_by_trace(perl_fs, f"perl {switches} -e '{snippet}'") if path.endswith("/" + module)]
    assert bool(kept) == loaded, kept


@pytest.mark.parametrize("snippet,shell", [
    (r'system "echo a | tr a b";', True),  # one string with metacharacters: /bin/sh -c
    (r'my $command = shift; system $command;', True),  # built at run time: may be one
    (r'system "tr", "a", "b";', False),  # a list: run directly
    (r'print "no command\n";', False),
])
def test_perl_keeps_its_shell_for_command_strings(perl_fs, snippet, shell):
    kept = _kept_by_trace(perl_fs, f"perl -e '{snippet}'")
    assert ("/usr/bin/dash" in kept) == shell


@pytest.fixture(scope="module")
def slimmed_report(sample_image, docker_client, tmp_path_factory):
    report = tmp_path_factory.mktemp("perl") / "report.json"
    tag = f"slimmer-probe/perl-app:slim-{os.getpid()}"  # runs in other checkouts share the daemon
    result = slim(sample_image(SAMPLE), SlimOptions(tag=tag, verify=True, report=report))
    yield result, json.loads(report.read_text())
    docker_client.images.remove(tag, force=True)


def test_perl_program_slims_and_behaves_the_same(slimmed_report):
    result, report = slimmed_report
    assert result.comparisons and all(c.same for c in result.comparisons)
    assert b"STRASSE SIGN" in result.comparisons[0].slim.stdout
    assert result.ratio >= 10, f"{result.size_before} -> {result.size_after}"
    assert report["warnings"] == []
    by_path = {f["path"]: f for f in report["files"]}
    xs = by_path["/usr/lib/x86_64-linux-gnu/perl5/5.36/auto/JSON/XS/XS.so"]
    assert xs["reason"].startswith("XS object of JSON::XS")
    assert by_path["/app/lib/App/Report.pm"]["reason"] == "use App::Report at /app/bin/report:6"


def test_perl_program_keeps_every_file_strace_sees(slimmed_report):
    result, report = slimmed_report
    truth = strace_truth.truth(SAMPLE)
    touched = {f["path"] for f in truth["files"]}
    kept = {f["path"] for f in report["files"]}
    assert touched <= kept, f"touched at run time but not kept: {sorted(touched - kept)}"
    ratio = result.size_after / truth["total_bytes"]
    assert ratio <= 1.15, f"slim {result.size_after} B is {ratio:.2f}x the {truth['total_bytes']} B touched"


@pytest.mark.parametrize("command,env", [
    ("perl -e 'use POSIX; use App::Report::Format::Csv;'", ["PERL5LIB=/app/lib"]),
    ("perl5.36.0 -I/app/lib -e 'use POSIX; use App::Report::Format::Csv;'", []),
    ("/usr/bin/env perl -Mlib=/app/lib -MPOSIX -MApp::Report::Format::Csv -e 1", []),
])
def test_interpreter_names_and_search_path_options(perl_fs, command, env):
    spec = run_spec({"config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", *env]}},
                    entrypoint=command)
    traced = trace_image(perl_fs, spec)
    kept = set(traced.keep.reasons)
    assert {"/app/lib/App/Report/Format/Csv.pm", "/usr/lib/x86_64-linux-gnu/perl-base/POSIX.pm",
            "/usr/lib/x86_64-linux-gnu/perl-base/auto/POSIX/POSIX.so"} <= kept
    assert traced.keep.warnings == []


def test_module_chosen_at_run_time_is_a_warning(perl_fs):
    spec = run_spec({"config": {"Entrypoint": ["/app/bin/store"], "WorkingDir": "/app",
                                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}})
    traced = trace_image(perl_fs, spec)
    messages = [w.message for w in traced.keep.warnings]
    assert any("/app/lib/App/Store.pm" in m and "require $format" in m for m in messages), messages
    assert any("DBI.pm" in m and "require $driver_class" in m for m in messages), messages
    assert not any(path.endswith("/DBD/SQLite.pm") for path in traced.keep.reasons)
