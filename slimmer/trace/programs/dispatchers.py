"""Dispatchers: programs called by the name of the program they run, which they take from one of
several versioned directories chosen at run time.

Debian's postgresql-common installs `/usr/bin/psql`, `pg_dump`, `pg_isready`, ... as symlinks to
one Perl script, pg_wrapper. It picks a PostgreSQL version when it runs (the installed ones,
`--cluster`, PGCLUSTER, `/etc/postgresql-common/user_clusters`, the clusters configured under
/etc/postgresql) and execs `/usr/lib/postgresql/VERSION/bin/NAME`, NAME being the name it was
called by (`exec @ARGV`). Nothing in the code names that program, so a table does: for each
dispatcher, the programs it chooses from and what the choice looks at. Which version runs
depends on run-time state, so every installed one is kept, traced as the command line it runs.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from slimmer.trace.closure import Need
from slimmer.trace.commands import ArgvHandler, CommandResolver


@dataclass(frozen=True)
class SameNameDispatch:
    """A dispatcher (an ArgvHandler, registered under its own file name). Called by its own name,
    it runs the command line of its arguments."""

    candidates: str  # glob of the programs it chooses from; {name} is the name it was called by
    consults: tuple[str, ...] = ()  # globs of what the choice looks at: files, directories (whole),
    # programs whose presence says that a version is installed

    def __call__(self, resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
        called_as = posixpath.basename(argv[0])
        dispatcher = posixpath.basename(resolver.real_path(resolver.find(argv[0], cwd) or argv[0], cwd))
        if called_as == dispatcher:
            return resolver.needs(argv[1:], f"run by {dispatcher} ({reason})", cwd)
        fs = resolver.ctx.fs
        found: list[Need] = []
        for program in fs.glob(self.candidates.format(name=called_as)):
            found += resolver.needs([program, *argv[1:]],
                                    f"run by {dispatcher} as {called_as} for one of the installed versions ({reason})",
                                    cwd)
        why = f"looked at by {dispatcher} to choose the version ({reason})"
        return found + [Need(path, why, recursive=True, optional=True, data=True)
                        for pattern in self.consults for path in fs.glob(pattern)]


DISPATCHERS: dict[str, ArgvHandler] = {
    "pg_wrapper": SameNameDispatch(
        "/usr/lib/postgresql/*/bin/{name}",
        consults=("/etc/postgresql-common/user_clusters", "/etc/postgresql-common/*.conf", "/etc/postgresql",
                  "/usr/lib/postgresql/*/bin/psql"),  # a version is installed when its psql is
    ),
}
