"""The shell patterns of real entrypoints, traced in a synthetic image (issue 8).

Hook directories found with `find | while read` or globs, `case` on the hook's suffix, hooks
run or sourced through a variable and traced like any script (with their `#!` lines and the
tools they call), data paths built from defaults, and the paths any command names. The
entrypoints are written in the style of the Docker official images (nginx, postgres); the
programs are stand-ins, so what is checked is what the closure keeps and why.
"""

from __future__ import annotations

from slimmer.trace.roots import run_spec
from slimmer.trace.session import TraceResult, trace_image

from imagefactory import Dir, File, Symlink, make_layer, merged_rootfs

BIN = File(b"\0stand-in program\0", mode=0o755)
TOOLS = ["dash", "bash", "find", "sort", "envsubst", "mawk", "getent", "md5sum", "cut", "sed", "dpkg-query", "mkdir",
         "chown", "chmod", "basename", "dirname", "cat", "ls", "cp", "wc", "gosu", "psql", "initdb", "postgres",
         "gunzip", "nginx", "unused", "id", "touch", "grep", "tr"]
BASE = [
    ("bin", Symlink("usr/bin")), ("usr/bin/sh", Symlink("dash")), ("usr/bin/awk", Symlink("mawk")),
    *((f"usr/bin/{tool}", BIN) for tool in TOOLS),
    ("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\npostgres:x:999:999::/var/lib/postgresql:/bin/bash\n"),
    ("etc/group", b"root:x:0:\npostgres:x:999:\n"), ("tmp/", None),
]


def trace(tmp_path, files, entrypoint, cmd=(), env=()) -> TraceResult:
    fs = merged_rootfs(tmp_path, make_layer(BASE + list(files), parents=True)).rootfs
    config = {"config": {"Entrypoint": entrypoint, "Cmd": list(cmd), "Env": ["PATH=/usr/bin:/bin", *env]}}
    return trace_image(fs, run_spec(config))


def script(text: str, mode: int = 0o755) -> File:
    return File(text.encode(), mode=mode)


NGINX_ENTRYPOINT = r"""#!/bin/sh
set -e
entrypoint_log() {
    if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
        echo "$@"
    fi
}
if [ "$1" = "nginx" ] || [ "$1" = "nginx-debug" ]; then
    if /usr/bin/find "/docker-entrypoint.d/" -mindepth 1 -maxdepth 1 -type f -print -quit 2>/dev/null | read v; then
        entrypoint_log "$0: /docker-entrypoint.d/ is not empty, will attempt to perform configuration"
        find "/docker-entrypoint.d/" -follow -type f -print | sort -V | while read -r f; do
            case "$f" in
                *.envsh)
                    if [ -x "$f" ]; then
                        entrypoint_log "$0: Sourcing $f"
                        . "$f"
                    fi
                    ;;
                *.sh)
                    if [ -x "$f" ]; then
                        "$f"
                    else
                        entrypoint_log "$0: Ignoring $f, not executable"
                    fi
                    ;;
                *) entrypoint_log "$0: Ignoring $f" ;;
            esac
        done
    fi
fi
exec "$@"
"""

HOOKS = [
    ("docker-entrypoint.d/10-tune.envsh", script(
        '#!/bin/sh\nWORKERS=$(getent ahosts localhost | cut -d" " -f1 | sort -u | wc -l)\nexport WORKERS\n')),
    ("docker-entrypoint.d/20-envsubst-on-templates.sh", script(r"""#!/bin/sh
set -e
ME=$(basename "$0")
auto_envsubst() {
    local template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
    local suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
    local output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
    local template relative_path output_path subdir
    defined_envs=$(printf '${%s} ' $(awk "END { for (name in ENVIRON) { print name } }" < /dev/null))
    [ -d "$template_dir" ] || return 0
    find "$template_dir" -follow -type f -name "*$suffix" -print | while read -r template; do
        relative_path="${template#"$template_dir/"}"
        output_path="$output_dir/${relative_path%"$suffix"}"
        subdir=$(dirname "$relative_path")
        mkdir -p "$output_dir/$subdir"
        envsubst "$defined_envs" < "$template" > "$output_path"
    done
}
auto_envsubst
""")),
    ("docker-entrypoint.d/30-checksum.sh", script(r"""#!/bin/bash
DEFAULT_CONF_FILE="etc/nginx/conf.d/default.conf"
CHECKSUM=$(dpkg-query --show --showformat='${Conffiles}\n' nginx | grep $DEFAULT_CONF_FILE | cut -d' ' -f 3)
echo "$CHECKSUM  /$DEFAULT_CONF_FILE" | md5sum -c - >/dev/null 2>&1 || exit 0
sed -i -E 's,listen       80;,listen       80;\n    listen  [::]:80;,' /$DEFAULT_CONF_FILE
""")),
    ("docker-entrypoint.d/40-not-executable.sh", script("#!/bin/sh\nunused\n", mode=0o644)),
    ("docker-entrypoint.d/README.md", b"hooks run in order\n"),
    ("etc/nginx/templates/default.conf.template", b"listen ${PORT};\n"),
    ("etc/nginx/conf.d/default.conf", b"listen 80;\n"),
    ("etc/nginx/nginx.conf", b"include conf.d/*.conf;\n"),
    ("var/lib/dpkg/status", b"Package: nginx\n"),
    ("usr/share/doc/nginx/README", b"docs\n"),
]


def test_nginx_style_hooks_found_with_find_are_traced_with_the_tools_they_call(tmp_path):
    files = [("docker-entrypoint.sh", script(NGINX_ENTRYPOINT)), *HOOKS]
    result = trace(tmp_path, files, ["/docker-entrypoint.sh"], ["nginx", "-g", "daemon off;"])
    keep = result.keep
    hooks = "/docker-entrypoint.d/"
    for path in (hooks + "10-tune.envsh", hooks + "20-envsubst-on-templates.sh", hooks + "30-checksum.sh",
                 "/usr/bin/bash", "/usr/bin/nginx", "/usr/bin/find", "/usr/bin/sort",
                 # tools the hooks call
                 "/usr/bin/getent", "/usr/bin/cut", "/usr/bin/wc", "/usr/bin/envsubst", "/usr/bin/awk",
                 "/usr/bin/mawk", "/usr/bin/dirname", "/usr/bin/mkdir", "/usr/bin/basename", "/usr/bin/dpkg-query",
                 "/usr/bin/md5sum", "/usr/bin/sed", "/usr/bin/grep",
                 # data they read and write
                 "/etc/nginx/templates/default.conf.template", "/etc/nginx/conf.d", "/etc/nginx/conf.d/default.conf"):
        assert path in keep, path
    assert "/usr/bin/unused" not in keep and "/usr/share/doc/nginx/README" not in keep
    assert keep.reasons[hooks + "30-checksum.sh"].text == "run at line 21 of /docker-entrypoint.sh"
    assert keep.reasons[hooks + "10-tune.envsh"].text == "source at line 16 of /docker-entrypoint.sh"
    assert result.ctx.invocations[hooks + "30-checksum.sh"] == [()]  # run, without arguments
    # hooks are scripts like any other: their own #! line, their own analysis
    assert keep.reasons["/usr/bin/bash"].via == hooks + "30-checksum.sh"
    assert keep.reasons["/usr/bin/envsubst"].via == hooks + "20-envsubst-on-templates.sh"
    assert result.ctx.roles[hooks + "10-tune.envsh"] == "shell:dash"
    # what find lists is kept, hooks that are not run included
    assert hooks + "README.md" in keep and hooks + "40-not-executable.sh" in keep
    assert not [w for w in keep.warnings if "built at run time" in w.message], keep.warnings


POSTGRES_ENTRYPOINT = r"""#!/usr/bin/env bash
set -Eeo pipefail

file_env() {
    local var="$1"
    local def="${2:-}"
    local val="$def"
    if [ "${!var:-}" ]; then
        val="${!var}"
    fi
    export "$var"="$val"
}

docker_setup_env() {
    file_env 'POSTGRES_PASSWORD'
    file_env 'POSTGRES_USER' 'postgres'
    : "${POSTGRES_INITDB_ARGS:=}"
    declare -g DATABASE_ALREADY_EXISTS
    if [ -s "$PGDATA/PG_VERSION" ]; then
        DATABASE_ALREADY_EXISTS='true'
    fi
}

docker_create_db_directories() {
    local user; user="$(id -u)"
    mkdir -p "$PGDATA"
    chmod 00700 "$PGDATA" || :
    mkdir -p /var/run/postgresql || :
    chmod 03775 /var/run/postgresql || :
    if [ "$user" = '0' ]; then
        find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
        find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
    fi
}

docker_init_database_dir() {
    eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"' "$@"'
}

docker_process_sql() {
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"
}

docker_process_init_files() {
    printf '\n'
    local f
    for f; do
        case "$f" in
            *.sh)
                if [ -x "$f" ]; then
                    "$f"
                else
                    . "$f"
                fi
                ;;
            *.sql)     docker_process_sql -f "$f"; echo ;;
            *.sql.gz)  gunzip -c "$f" | docker_process_sql; echo ;;
            *)         echo "$0: ignoring $f" ;;
        esac
    done
}

_main() {
    if [ "${1:0:1}" = '-' ]; then
        set -- postgres "$@"
    fi
    if [ "$1" = 'postgres' ]; then
        docker_setup_env
        docker_create_db_directories
        if [ "$(id -u)" = '0' ]; then
            exec gosu postgres "$BASH_SOURCE" "$@"
        fi
        if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
            ls /docker-entrypoint-initdb.d/ > /dev/null
            docker_init_database_dir
            docker_process_init_files /docker-entrypoint-initdb.d/*
        fi
    fi
    exec "$@"
}

_main "$@"
"""


def test_postgres_style_init_files_by_glob_case_and_gosu_reexec(tmp_path):
    files = [
        ("usr/local/bin/docker-entrypoint.sh", script(POSTGRES_ENTRYPOINT)),
        ("usr/bin/env", BIN),
        ("docker-entrypoint-initdb.d/10-schema.sql", b"create table t (x int);\n"),
        ("docker-entrypoint-initdb.d/20-seed.sh", script("#!/bin/sh\ncat /srv/seed/users.csv\n")),
        ("srv/seed/users.csv", b"alice\n"),
        ("var/lib/postgresql/data", Dir(mode=0o700, uid=999, gid=999)),
        ("var/run/postgresql", Dir(mode=0o3775, uid=999, gid=999)),
        ("var/lib/postgresql/other/file", b"not the data directory's\n"),
    ]
    result = trace(tmp_path, files, ["/usr/local/bin/docker-entrypoint.sh"], ["postgres"],
                   env=["PGDATA=/var/lib/postgresql/data"])
    keep = result.keep
    for path in ("/usr/bin/env", "/usr/bin/bash", "/usr/bin/gosu", "/usr/bin/postgres", "/usr/bin/initdb",
                 "/usr/bin/psql", "/usr/bin/find", "/usr/bin/chown", "/usr/bin/mkdir", "/usr/bin/chmod",
                 "/usr/bin/ls", "/usr/bin/id",
                 "/docker-entrypoint-initdb.d/10-schema.sql", "/docker-entrypoint-initdb.d/20-seed.sh",
                 "/srv/seed/users.csv", "/var/lib/postgresql/data", "/var/run/postgresql"):
        assert path in keep, path
    assert "/usr/bin/gunzip" not in keep  # no .sql.gz init file: that branch cannot run
    assert "/var/lib/postgresql/other/file" not in keep and "/usr/bin/unused" not in keep
    assert keep.reasons["/docker-entrypoint-initdb.d/10-schema.sql"].text.startswith("argument 8 of psql")
    # the re-exec through gosu runs the same script with the same arguments: traced once
    assert result.ctx.invocations["/usr/local/bin/docker-entrypoint.sh"] == [("postgres",)]
    assert keep.warnings == [], keep.warnings


def test_data_paths_built_from_defaults_and_path_operands(tmp_path):
    text = r"""#!/bin/sh
DATA=${APP_DATA:-/srv/app/data}
report() {
    wc -l < "${1:-$DATA/input.log}"
}
report
ls /srv/app/incoming/
[ -d /srv/app/cache ] || mkdir -p /srv/app/cache
test -f /srv/app/flags/enabled && echo on
chown -R app /srv/app/state
cp -r /srv/app/skeleton /tmp/work
cat /proc/cpuinfo /srv/app/motd > /srv/app/out/motd.txt
"""
    files = [("app.sh", script(text)), ("srv/app/data/input.log", b"1\n"), ("srv/app/data/other.log", b"2\n"),
             ("srv/app/incoming/a.csv", b"a\n"), ("srv/app/incoming/sub/b.csv", b"b\n"), ("srv/app/cache/", None),
             ("srv/app/flags/enabled", b""), ("srv/app/state/x", b"x\n"), ("srv/app/skeleton/etc/conf", b"c\n"),
             ("srv/app/motd", b"hi\n"), ("srv/app/out/", None)]
    keep = trace(tmp_path, files, ["/app.sh"]).keep
    for path in ("/srv/app/data/input.log", "/srv/app/incoming/a.csv", "/srv/app/incoming/sub", "/srv/app/cache",
                 "/srv/app/flags/enabled", "/srv/app/state", "/srv/app/skeleton/etc/conf", "/srv/app/motd",
                 "/srv/app/out"):
        assert path in keep, path
    # ls lists one level; chown keeps the directory, not what is in it
    for path in ("/srv/app/data/other.log", "/srv/app/incoming/sub/b.csv", "/srv/app/state/x"):
        assert path not in keep, path
    assert keep.reasons["/srv/app/data/input.log"].text == "read at line 4 of /app.sh"
    assert keep.reasons["/srv/app/incoming/a.csv"].text.startswith("in /srv/app/incoming, listed by ls")


def test_hooks_bound_by_a_glob_run_in_every_way_a_shell_runs_a_file(tmp_path):
    text = """#!/bin/bash
for f in /hooks/*; do
    case "$f" in
        *.run) "$f" ;;
        *.sh) sh "$f" first ;;
        *.inc) . "$f" ;;
        *.last) exec "$f" last ;;
    esac
done
"""
    files = [("entrypoint", script(text)),
             ("hooks/a.run", script("#!/bin/bash\ncat \"$@\"\n")), ("hooks/b.sh", script("tr \"$1\"\n", mode=0o644)),
             ("hooks/c.inc", script("helper() { wc; }\nhelper\n", mode=0o644)),
             ("hooks/d.last", script("#!/bin/sh\nexec grep \"$1\"\n"))]
    result = trace(tmp_path, files, ["/entrypoint"])
    keep, ctx = result.keep, result.ctx
    for path in ("/usr/bin/cat", "/usr/bin/tr", "/usr/bin/wc", "/usr/bin/grep", "/usr/bin/dash"):
        assert path in keep, path
    assert ctx.roles["/hooks/a.run"] == "shell:bash" and ctx.invocations["/hooks/a.run"] == [()]
    assert ctx.roles["/hooks/b.sh"] == "shell:dash" and ctx.invocations["/hooks/b.sh"] == [("first",)]
    assert ctx.roles["/hooks/c.inc"] == "shell:bash" and "/hooks/c.inc" not in ctx.invocations
    assert ctx.invocations["/hooks/d.last"] == [("last",)]
    assert keep.warnings == []


def test_ls_without_operands_lists_the_working_directory(tmp_path):
    files = [("app.sh", script("#!/bin/sh\nls -l\n")), ("srv/a", b"a"), ("srv/sub/b", b"b")]
    result = trace_image(merged_rootfs(tmp_path, make_layer(BASE + files, parents=True)).rootfs,
                         run_spec({"config": {"Entrypoint": ["/app.sh"], "WorkingDir": "/srv",
                                              "Env": ["PATH=/usr/bin:/bin"]}}))
    assert {"/srv/a", "/srv/sub"} <= set(result.keep.reasons) and "/srv/sub/b" not in result.keep
