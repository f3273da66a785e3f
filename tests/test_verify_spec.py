"""The verify spec file (TOML and YAML) and the command-line options that complete it."""

from __future__ import annotations

import pytest

from slimmer.cli import main as slim_main
from slimmer.errors import UsageError
from slimmer.service.run import listening_ports
from slimmer.service.spec import DEFAULT_READY_TIMEOUT, VerifySpec, load_spec, read_env_file

TOML = """\
env = { POSTGRES_PASSWORD = "example", PORT = 5432 }
env_file = "db.env"
ready = "pg_isready -h 127.0.0.1 -U postgres"
ready_timeout = 90
clients = [
  "psql -h 127.0.0.1 -U postgres -Atc 'select 1'",
  "sh -c 'echo a | wc -c'",
]
"""

YAML = """\
env:
  - POSTGRES_PASSWORD=example
  - PORT=5432
env_file: db.env
ready: pg_isready -h 127.0.0.1 -U postgres
ready_timeout: 90
clients:
  - psql -h 127.0.0.1 -U postgres -Atc 'select 1'
  - sh -c 'echo a | wc -c'
"""


@pytest.fixture()
def spec_dir(tmp_path, monkeypatch):
    (tmp_path / "db.env").write_text("# comment\n\nPGUSER=app\nFROM_HOST\nUNSET_HERE\n")
    monkeypatch.setenv("FROM_HOST", "yes")
    monkeypatch.delenv("UNSET_HERE", raising=False)
    return tmp_path


@pytest.mark.parametrize("name,text", [("spec.toml", TOML), ("spec.yaml", YAML), ("spec.yml", YAML)])
def test_toml_and_yaml_specs_read_the_same(spec_dir, name, text):
    path = spec_dir / name
    path.write_text(text)
    spec = load_spec(path)
    # env_file first, then env (later entries win, as with docker run)
    assert spec.env == ("PGUSER=app", "FROM_HOST=yes", "POSTGRES_PASSWORD=example", "PORT=5432")
    assert spec.ready == ("pg_isready", "-h", "127.0.0.1", "-U", "postgres")
    assert spec.ready_timeout == 90
    assert spec.clients == (("psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "select 1"),
                            ("sh", "-c", "echo a | wc -c"))
    assert spec.is_service


def test_empty_spec_and_env_alone_are_not_a_service(tmp_path):
    (tmp_path / "empty.yaml").write_text("")
    assert load_spec(tmp_path / "empty.yaml") == VerifySpec()
    assert VerifySpec().ready_timeout == DEFAULT_READY_TIMEOUT
    spec = VerifySpec().with_options(env=["A=1"])
    assert spec.env == ("A=1",) and not spec.is_service


def test_command_line_adds_env_and_clients_and_overrides_ready(spec_dir):
    (spec_dir / "spec.toml").write_text(TOML)
    (spec_dir / "more.env").write_text("EXTRA=1\n")
    spec = load_spec(spec_dir / "spec.toml").with_options(
        env=["POSTGRES_PASSWORD=other"], env_files=[spec_dir / "more.env"], ready="true",
        clients=["psql -c 'select 2'"])
    assert spec.env[-2:] == ("EXTRA=1", "POSTGRES_PASSWORD=other")
    assert spec.ready == ("true",)
    assert spec.clients[-1] == ("psql", "-c", "select 2") and len(spec.clients) == 3


def test_yaml_scalars_become_environment_strings(tmp_path):
    (tmp_path / "s.yaml").write_text("env:\n  DEBUG: true\n  RATIO: 0.5\n  NAME: x\n")
    assert load_spec(tmp_path / "s.yaml").env == ("DEBUG=true", "RATIO=0.5", "NAME=x")


@pytest.mark.parametrize("name,text,message", [
    ("s.json", "{}", "must end in .toml, .yaml or .yml"),
    ("s.toml", "clients = [", "not valid TOML"),
    ("s.yaml", "clients: [", "not valid YAML"),
    ("s.yaml", "- a\n- b\n", "the spec must be a table of keys"),
    ("s.toml", "client = ['x']", "unknown key(s) client"),
    ("s.toml", "clients = 'curl x'", "clients must be a list of command lines"),
    ("s.toml", "ready = ['a']", "ready must be a command line"),
    ("s.toml", "ready = ''", "ready: empty command"),
    ("s.toml", "ready = \"sh -c 'unclosed\"", "cannot split"),
    ("s.toml", "ready_timeout = 0", "ready_timeout must be a positive number"),
    ("s.toml", "ready_timeout = true", "ready_timeout must be a positive number"),
    ("s.toml", "env = ['NOEQUALS']", "expected KEY=VALUE"),
    ("s.toml", "env = 3", "env must be a table"),
    ("s.toml", "env = { A = [1] }", "env A must be a string or a number"),
    ("s.toml", "env_file = 'missing.env'", "missing.env: No such file or directory"),
])
def test_bad_specs_are_one_line_usage_errors(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(UsageError) as error:
        load_spec(path)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_env_file_rejects_a_malformed_line(tmp_path):
    (tmp_path / "bad.env").write_text("GOOD=1\nBAD KEY=2\n")
    with pytest.raises(UsageError, match=r"bad.env:2: not KEY=VALUE"):
        read_env_file(tmp_path / "bad.env", "--env-file")


def test_cli_reports_spec_problems_before_touching_the_image(tmp_path, capsys):
    # No daemon or image is needed: the spec is read first, and a bad one is a usage error.
    (tmp_path / "s.toml").write_text("clients = 'x'")
    assert slim_main(["no-such-image:latest", "--verify-spec", str(tmp_path / "s.toml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("slim: error: ") and "clients must be a list" in err and "\n" not in err
    assert slim_main(["no-such-image:latest", "-e", "NOEQUALS", "--verify"]) == 2
    assert "-e/--env: expected KEY=VALUE" in capsys.readouterr().err
    assert slim_main(["no-such-image:latest", "--verify-cmd", "true", "--verify-client", "true"]) == 2
    assert "--verify-cmd runs the image as a command" in capsys.readouterr().err


def test_listening_ports_read_from_proc_net_tcp():
    tables = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 00000000:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   999        0 1 1\n"
        "   1: 0100007F:1538 0100007F:9A3C 01 00000000:00000000 00:00000000 00000000   999        0 2 1\n"
        "  sl  local_address                         remote_address                        st\n"
        "   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 0 0 0 0 0\n")
    assert listening_ports(tables) == [5432, 80]
    assert listening_ports("") == []
