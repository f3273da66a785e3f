"""The `slim` command line: argument parsing, dispatch and the one-line error contract."""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from typing import Callable, NoReturn, Sequence

from slimmer import __version__
from slimmer.errors import SlimError, UsageError
from slimmer.progress import Progress

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


def _main_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="slim", usage="slim IMAGE [options] | slim {audit,trace,why} ...",
                     description="Turn a fat container image into a microcontainer by static analysis.",
                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", metavar="IMAGE", nargs="?")
    parser.add_argument("--version", action="version", version=f"slim {__version__}")
    _common(parser)
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


def cmd_slim(args: argparse.Namespace, progress: Progress) -> int:
    if not args.image:
        raise UsageError("an IMAGE is required (see slim --help)")
    raise SlimError("slimming an image is not implemented yet; try `slim audit IMAGE`")


COMMANDS: dict[str, tuple[Callable[[], argparse.ArgumentParser], Callable[[argparse.Namespace, Progress], int]]] = {
    "audit": (_audit_parser, cmd_audit),
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
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
    except KeyboardInterrupt:
        print("slim: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug: still one line unless asked for the traceback
        if debug:
            traceback.print_exc()
        print(f"slim: error: internal error: {type(e).__name__}: {e} (run with --debug for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
