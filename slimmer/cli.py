"""The `slim` command line: argument parsing, dispatch and the one-line error contract."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

from slimmer import __version__
from slimmer.errors import SlimError, UsageError, VerifyFailed
from slimmer.progress import Progress
from slimmer.trace.roots import RootOptions

EXAMPLES = """\
commands:
  slim IMAGE [options]        make a minimal image from IMAGE (default)
  slim audit IMAGE [--json]   what each layer costs and what is wasted
  slim trace IMAGE            every needed file with its reason
  slim why IMAGE PATH         the chain of reasons that keeps PATH

images (transports as skopeo names them):
  NAME[:TAG], docker-daemon:NAME[:TAG]   an image in the local Docker daemon
  docker-archive:PATH[:REF], PATH.tar    output of `docker save`
  oci:DIR[:REF], oci-archive:PATH[:REF]  an OCI image layout, as a folder or a tar

examples:
  slim myapp:latest                      writes myapp.slim:latest to the daemon
  slim myapp:latest --verify             ...and runs both images to compare their output
  slim db:latest --verify-spec slim-verify.toml   ...as a service: ready check, clients, stop
  slim docker-archive:app.tar --output oci:app-slim
  slim audit myapp:latest --json
  slim trace myapp:latest --from /usr/bin/curl
  slim why myapp:latest /lib/x86_64-linux-gnu/libz.so.1
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and raise instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")


def _audit_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="slim audit", description="Audit an image: per-layer sizes, wasted bytes, largest files.")
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument("--json", action="store_true", help="print one JSON object (schema in the README)")
    _common(parser)
    return parser


def _tracing_options(parser: argparse.ArgumentParser) -> None:
    """Options that change what is traced: shared by slim, trace and why."""
    group = parser.add_argument_group("what the container runs")
    group.add_argument("--entrypoint", metavar="CMDLINE",
                       help="trace this entrypoint instead of the image's (resets CMD)")
    group.add_argument("--cmd", metavar="CMDLINE", help="trace with this CMD instead of the image's")
    group.add_argument("--include-exe", metavar="NAME", action="append", default=[],
                       help="also keep the program NAME (looked up in PATH) and what it needs; repeatable")
    group.add_argument("--include", metavar="PATH|GLOB", action="append", default=[],
                       help="also keep these paths as they are (directories whole); repeatable")
    group.add_argument("--include-from", metavar="FILE", action="append", default=[],
                       help="read --include paths from FILE, one per line (# comments)")
    group.add_argument("--exclude", metavar="GLOB", action="append", default=[],
                       help="drop kept paths matching GLOB (or under a matching directory); reported")
    group.add_argument("--python-strict", action="store_true",
                       help="Python: keep only traced modules (no package data, no whole packages for dynamic imports)")


def _root_options(args: argparse.Namespace) -> RootOptions:
    include = list(args.include)
    for name in args.include_from:
        try:
            with open(name, encoding="utf-8") as f:
                include += [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]
        except OSError as e:
            raise UsageError(f"--include-from {name}: {e.strerror or e}") from None
    return RootOptions(include_exe=tuple(args.include_exe), include=tuple(include), python_strict=args.python_strict)


def _main_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="slim", usage="slim IMAGE [options] | slim {audit,trace,why} ...",
                     description="Turn a fat container image into a microcontainer by static analysis.",
                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", metavar="IMAGE", nargs="?")
    parser.add_argument("--version", action="version", version=f"slim {__version__}")
    output = parser.add_argument_group("output")
    output.add_argument("--tag", metavar="NAME:TAG", help="tag for the result in the Docker daemon")
    output.add_argument("-o", "--output", metavar="TRANSPORT:...",
                        help="where to write the result (default: NAME.slim:TAG beside the source)")
    output.add_argument("--report", metavar="FILE.json", type=Path,
                        help="write every kept file with its reason chain, warnings, sizes and timing")
    check = parser.add_argument_group("verification (needs the Docker daemon)")
    check.add_argument("--verify", action="store_true",
                       help="run the original and the slim image and compare exit code and stdout")
    check.add_argument("--verify-cmd", metavar="CMDLINE", action="append", default=[],
                       help="a further command to compare (replaces CMD); repeatable; implies --verify")
    _run_options(check)
    _probe_option(parser)
    _tracing_options(parser)
    _common(parser)
    return parser


def _run_options(group: argparse._ArgumentGroup) -> None:
    """How the image is run by --verify and --probe: a command, or a service with its spec."""
    group.add_argument("--verify-timeout", metavar="SECONDS", type=float, default=60.0,
                       help="time limit of each run, client and server stop (default 60)")
    group.add_argument("--verify-spec", metavar="FILE", type=Path,
                       help="TOML or YAML: env, env_file, ready, ready_timeout, clients (README); implies --verify")
    group.add_argument("-e", "--env", metavar="KEY=VAL", action="append", default=[],
                       help="environment of both images' runs (and the clients); repeatable")
    group.add_argument("--env-file", metavar="FILE", type=Path, action="append", default=[],
                       help="KEY=VAL lines as docker's --env-file; repeatable")
    group.add_argument("--verify-ready", metavar="CMD",
                       help="retried until it exits 0: the server is ready (default: HEALTHCHECK, else a TCP port)")
    group.add_argument("--verify-client", metavar="CMD", action="append", default=[],
                       help="run against the server, output compared; repeatable; implies --verify")


def _probe_option(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    group = parser.add_argument_group("probe (needs the Docker daemon)")
    group.add_argument("--probe", action="store_true",
                       help="also run the fat image once under strace (as --verify-spec says for a service) and "
                            "keep what it touches; report what static tracing missed and kept unused")
    return group


def _trace_parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, description=description)
    parser.add_argument("image", metavar="IMAGE")
    _tracing_options(parser)
    _common(parser)
    return parser


def _trace_command_parser() -> argparse.ArgumentParser:
    parser = _trace_parser("slim trace", "Every file the container needs, with the reason it is kept.")
    parser.add_argument("--from", dest="from_paths", metavar="PATH", action="append", default=[],
                        help="trace from these files instead of the image's entrypoint; repeatable")
    _run_options(_probe_option(parser))
    parser.add_argument("--json", action="store_true", help='print {"files": [{path, type, size, reason, via}], ...}')
    return parser


def _why_parser() -> argparse.ArgumentParser:
    parser = _trace_parser("slim why", "The chain of reasons from a root to PATH, or why it is not needed.")
    parser.add_argument("path", metavar="PATH")
    return parser


def cmd_audit(args: argparse.Namespace, progress: Progress) -> int:
    from slimmer.analysis import open_analysis
    from slimmer.audit import audit, render_text

    with open_analysis(args.image, progress) as opened:
        report = audit(opened)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(render_text(report))
    return 0


def _traced(args: argparse.Namespace, opened, from_paths: list[str]):
    from slimmer.trace.roots import run_spec
    from slimmer.trace.session import trace_image, trace_paths

    spec = run_spec(opened.image.config, args.entrypoint, args.cmd)
    if from_paths:
        return trace_paths(opened.fs, ["/" + p.lstrip("/") for p in from_paths], spec)
    return trace_image(opened.fs, spec, _root_options(args), tuple(args.exclude))


def cmd_trace(args: argparse.Namespace, progress: Progress) -> int:
    from slimmer.analysis import open_analysis
    from slimmer.report import file_records, render_trace, warning_records

    with open_analysis(args.image, progress) as opened:
        differences = None
        if args.probe:
            if args.from_paths:
                raise UsageError("--probe runs the image's command: it cannot be combined with --from")
            from slimmer.slim import probed_trace
            from slimmer.trace.roots import run_spec

            spec = run_spec(opened.image.config, args.entrypoint, args.cmd)
            probed = probed_trace(opened, args.image, spec, _root_options(args), tuple(args.exclude),
                                  _verify_spec(args), args.verify_timeout, progress)
            traced, differences = probed.traced, probed.differences
        else:
            traced = _traced(args, opened, args.from_paths)
        records = file_records(opened.fs, traced.keep, traced.ctx, packages=traced.packages)
    if args.json:
        document = {"files": records, "warnings": warning_records(traced.keep), "excluded": traced.excluded}
        if differences is not None:
            document["probe"] = differences.to_json()
        print(json.dumps(document, indent=2))
    else:
        print(render_trace(records, traced.keep))
        if differences is not None:
            print(differences.render())
    return 0


def cmd_why(args: argparse.Namespace, progress: Progress) -> int:
    from slimmer.analysis import open_analysis
    from slimmer.report import render_why
    from slimmer.rootfs.fs import SymlinkLoopError

    path = "/" + args.path.lstrip("/")
    with open_analysis(args.image, progress) as opened:
        traced = _traced(args, opened, [])
        if path in traced.keep:
            print(render_why(traced.keep, path))
            return 0
        try:
            resolved = opened.fs.resolve(path)
        except SymlinkLoopError as e:  # nothing can open it, so nothing needs it
            print(f"{path} is not needed: it cannot be resolved ({e})")
            return 0
        if path in traced.excluded:
            print(f"{path} would be needed, but --exclude removes it")
        elif resolved.entry is None:
            print(f"{path} is not in the image")
        elif resolved.path in traced.keep:
            print(f"{path} itself is not needed; what it points to is:\n{render_why(traced.keep, resolved.path)}")
        else:
            print(f"{path} is not needed: nothing the container runs requires it")
    return 0


def _verify_spec(args: argparse.Namespace):
    """The spec file's settings with the command line's added (env, clients) or overriding (ready)."""
    from slimmer.service.spec import VerifySpec, load_spec

    spec = load_spec(args.verify_spec) if args.verify_spec else VerifySpec()
    return spec.with_options(env=args.env, env_files=args.env_file, ready=args.verify_ready,
                             clients=args.verify_client)


def cmd_slim(args: argparse.Namespace, progress: Progress) -> int:
    from slimmer.audit import human
    from slimmer.slim import SlimOptions, slim

    if not args.image:
        raise UsageError("an IMAGE is required (see slim --help)")
    service = bool(args.verify_spec or args.verify_ready or args.verify_client)
    options = SlimOptions(output=args.output, tag=args.tag, entrypoint=args.entrypoint, cmd=args.cmd,
                          roots=_root_options(args), exclude=tuple(args.exclude), report=args.report,
                          verify=args.verify or bool(args.verify_cmd) or service, verify_cmds=tuple(args.verify_cmd),
                          verify_timeout=args.verify_timeout, verify_spec=_verify_spec(args), probe=args.probe)
    try:
        result = slim(args.image, options, progress)
    except VerifyFailed as e:
        print(e.details, file=sys.stderr)
        raise
    verified = " including --verify" if result.comparisons else ""
    smaller = f"{result.ratio:.1f}x smaller" if result.size_after else "no file content kept"
    print(f"{args.image}: {human(result.size_before)} -> {human(result.size_after)} "
          f"({smaller}), {result.kept_files} paths kept, {result.seconds:.1f}s{verified}")
    print(f"wrote {result.written}")
    for warning in result.trace.keep.warnings:
        print(f"warning: {warning.message}" + (f" (in {warning.path})" if warning.path else ""), file=sys.stderr)
    if result.probe is not None:
        missed = sum(len(files) for files in result.probe.missed.values())
        print(f"probe: {result.probe.command} ({result.probe.outcome}): {result.probe.touched} paths touched, "
              f"{missed} of them not found by static tracing (kept; listed in --report and `slim trace --probe`)")
    for comparison in result.comparisons:
        print(f"verified: {comparison.command}: {comparison.summary()}")
    return 0


COMMANDS: dict[str, tuple[Callable[[], argparse.ArgumentParser], Callable[[argparse.Namespace, Progress], int]]] = {
    "audit": (_audit_parser, cmd_audit),
    "trace": (_trace_command_parser, cmd_trace),
    "why": (_why_parser, cmd_why),
}


class Terminated(KeyboardInterrupt):
    """SIGTERM (a cancelled CI job, `docker stop`, an eviction), handled as Ctrl-C is: everything
    slim created (work directory, containers, volumes) is removed on the way out."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; a caller in a thread keeps its own
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    with _sigterm_as_interrupt():
        try:
            return _run(argv, debug)
        except KeyboardInterrupt as e:
            print("slim: terminated" if isinstance(e, Terminated) else "slim: interrupted", file=sys.stderr)
            return 128 + (signal.SIGTERM if isinstance(e, Terminated) else signal.SIGINT)


def _run(argv: list[str], debug: bool) -> int:
    try:
        if argv and argv[0] in COMMANDS:
            make_parser, run = COMMANDS[argv[0]]
            argv = argv[1:]
        else:
            make_parser, run = _main_parser, cmd_slim
        args = make_parser().parse_args(argv)
        return run(args, Progress.auto(quiet=args.quiet))
    except SlimError as e:
        if debug:
            traceback.print_exc()
        print(f"slim: error: {e}", file=sys.stderr)
        return e.exit_code
    except Exception as e:  # a bug: still one line unless asked for the traceback
        if debug:
            traceback.print_exc()
        print(f"slim: error: internal error: {type(e).__name__}: {e} (run with --debug for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
