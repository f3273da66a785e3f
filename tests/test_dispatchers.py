"""Dispatchers: a program called by the name of the program it runs, taken from a versioned
directory chosen at run time (Debian's pg_wrapper behind psql, pg_dump, pg_isready, ...).

The unit tests use stand-in programs in a synthetic image laid out as postgresql-common lays it
out; the daemon test slims the postgres sample, whose psql and pg_isready are the real
pg_wrapper, and compares what the slim image's commands print with the original's.
"""

from __future__ import annotations

import pytest

from slimmer.slim import SlimOptions, slim
from slimmer.trace.roots import RootOptions, run_spec
from slimmer.trace.session import trace_image

from imagefactory import File, Symlink, make_layer, merged_rootfs

BIN = File(b"\0stand-in program\0", mode=0o755)
WRAPPER = "/usr/share/postgresql-common/pg_wrapper"
TO_WRAPPER = Symlink("../share/postgresql-common/pg_wrapper")

IMAGE = [
    ("bin", Symlink("usr/bin")), ("usr/bin/dash", BIN), ("usr/bin/sh", Symlink("dash")), ("usr/bin/true", BIN),
    (WRAPPER.lstrip("/"), BIN),
    ("usr/bin/psql", TO_WRAPPER), ("usr/bin/pg_dump", TO_WRAPPER), ("usr/bin/pg_isready", TO_WRAPPER),
    ("usr/bin/pg_missing", TO_WRAPPER),
    ("usr/lib/postgresql/13/bin/psql", BIN), ("usr/lib/postgresql/13/bin/pg_isready", BIN),
    ("usr/lib/postgresql/15/bin/psql", BIN), ("usr/lib/postgresql/15/bin/pg_isready", BIN),
    ("usr/lib/postgresql/15/bin/pg_dump", BIN), ("usr/lib/postgresql/15/bin/postgres", BIN),
    ("etc/postgresql-common/user_clusters", b"# USER GROUP VERSION CLUSTER DATABASE\n"),
    ("etc/postgresql-common/createcluster.conf", b"create_main_cluster = false\n"),
    ("etc/postgresql-common/supported_versions", b"default\n"),
    ("etc/postgresql/15/main/postgresql.conf", b"port = 5432\n"),
    ("etc/postgresql/15/main/start.conf", b"auto\n"),
]
CONSULTED = {"/etc/postgresql-common/user_clusters", "/etc/postgresql-common/createcluster.conf",
             "/etc/postgresql/15/main/postgresql.conf", "/etc/postgresql/15/main/start.conf",
             "/usr/lib/postgresql/13/bin/psql", "/usr/lib/postgresql/15/bin/psql"}


def _kept(tmp_path, config: dict, options: RootOptions = RootOptions()) -> dict[str, str]:
    fs = merged_rootfs(tmp_path, make_layer(IMAGE, parents=True)).rootfs
    keep = trace_image(fs, run_spec({"config": {"Env": ["PATH=/usr/bin"], **config}}), options).keep
    return {path: reason.text for path, reason in keep.reasons.items()}


def test_the_program_of_the_name_it_is_called_by_from_every_installed_version(tmp_path):
    kept = _kept(tmp_path, {"Entrypoint": ["pg_dump", "--version"]})
    assert kept["/usr/bin/pg_dump"] == "ENTRYPOINT/CMD"
    assert kept[WRAPPER] == "ENTRYPOINT/CMD"
    assert kept["/usr/lib/postgresql/15/bin/pg_dump"] == \
        "run by pg_wrapper as pg_dump for one of the installed versions (ENTRYPOINT/CMD)"
    assert CONSULTED <= set(kept)
    assert kept["/etc/postgresql/15/main/start.conf"] == \
        "inside /etc/postgresql (looked at by pg_wrapper to choose the version (ENTRYPOINT/CMD))"
    # Not what the choice never looks at: the server, another program's other versions, other files.
    assert not {"/usr/lib/postgresql/15/bin/postgres", "/usr/lib/postgresql/13/bin/pg_isready",
                "/etc/postgresql-common/supported_versions"} & set(kept)


def test_each_version_that_has_the_program_from_a_shell_and_a_health_check(tmp_path):
    kept = _kept(tmp_path, {"Cmd": ["/bin/sh", "-c", "psql -Atc 'select 1' && exec true"],
                            "Healthcheck": {"Test": ["CMD-SHELL", "pg_isready -h 127.0.0.1"]}})
    assert {"/usr/lib/postgresql/13/bin/pg_isready", "/usr/lib/postgresql/15/bin/pg_isready"} <= set(kept)
    assert kept["/usr/lib/postgresql/15/bin/pg_isready"].startswith("run by pg_wrapper as pg_isready ")
    assert "/usr/lib/postgresql/15/bin/pg_dump" not in kept


def test_called_by_its_own_name_it_runs_its_arguments(tmp_path):
    kept = _kept(tmp_path, {"Entrypoint": [WRAPPER, "true"]})
    assert kept["/usr/bin/true"] == "run by pg_wrapper (ENTRYPOINT/CMD)"
    assert not [path for path in kept if path.startswith("/usr/lib/postgresql/")]


def test_a_name_no_version_has_keeps_no_program(tmp_path):
    # pg_wrapper itself fails for it ("pg_missing was not found in /usr/lib/postgresql/15/bin").
    kept = _kept(tmp_path, {"Entrypoint": ["pg_missing"]})
    assert not [path for path in kept if path.startswith("/usr/lib/postgresql/") and not path.endswith("/psql")]


@pytest.mark.slow
def test_slim_postgres_clients_print_what_the_original_prints(sample_image, tmp_path):
    # The sample's psql and pg_isready are the real pg_wrapper: the entrypoint runs psql, the
    # HEALTHCHECK pg_isready; pg_dump, which nothing in the image runs, is asked for by name.
    commands = ("psql --version", "pg_isready --help", "pg_dump --version")
    result = slim(sample_image("postgres"), SlimOptions(
        output=f"docker-archive:{tmp_path / 'postgres.tar'}", roots=RootOptions(include_exe=("pg_dump",)),
        verify=True, verify_cmds=commands))
    compared = {c.command: c for c in result.comparisons}
    for command in commands:
        assert compared[command].same and compared[command].original.exit_code == 0, compared[command].diff()
    assert compared["psql --version"].slim.stdout.startswith(b"psql (PostgreSQL) 15.")
    assert b"pg_isready issues a connection check to a PostgreSQL database." in compared["pg_isready --help"].slim.stdout
