"""What libc and well-known code load behind a program's back, in the order a start runs them:
the extras of every simulated process (`Process` runs them after the loader's own work)."""

from __future__ import annotations

from slimmer.trace.elf.dlopens import add_libgcc_s, add_literal_names
from slimmer.trace.elf.nss import add_nss, add_static_nss
from slimmer.trace.elf.process import Extras

BEHIND_THE_BACK = Extras(dynamic=(add_libgcc_s, add_nss, add_literal_names), static=(add_static_nss,))
