"""Write a file or a directory so that it appears whole or not at all.

Everything is written under a temporary name next to the destination (same filesystem), then
renamed over it. On failure (including Ctrl-C) the temporary is removed and an existing
destination is left as it was.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from slimmer.errors import SlimError

TMP_SUFFIX = ".slim-tmp"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _parent(dest: Path) -> Path:
    parent = dest.parent if str(dest.parent) else Path(".")
    if not parent.is_dir():
        raise SlimError(f"cannot write {dest}: directory {parent} does not exist")
    return parent


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_file(dest: Path | str) -> Iterator[BinaryIO]:
    """Yield a binary file to fill; it replaces `dest` when the block ends without error."""
    dest = Path(dest)
    if dest.is_dir():
        raise SlimError(f"cannot write {dest}: it is a directory")
    parent = _parent(dest)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=TMP_SUFFIX, dir=parent)
    except OSError as e:
        raise SlimError(f"cannot write in {parent}: {e.strerror or e}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, dest)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise SlimError(f"cannot write {dest}: {e.strerror or e}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(parent)


def _rename_exchange() -> Callable[[str, str], bool] | None:
    """renameat2(RENAME_EXCHANGE) when libc has it: swaps two paths atomically."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    AT_FDCWD, RENAME_EXCHANGE = -100, 2

    def exchange(a: str, b: str) -> bool:
        return fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0

    return exchange


def _replace_dir(tmp: Path, dest: Path) -> None:
    if not dest.exists() and not dest.is_symlink():
        os.rename(tmp, dest)
        return
    exchange = _rename_exchange()
    if exchange is not None and exchange(str(tmp), str(dest)):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old directory
        return
    old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old.", suffix=TMP_SUFFIX, dir=dest.parent))
    os.rmdir(old)
    os.rename(dest, old)
    try:
        os.rename(tmp, dest)
    except BaseException:
        os.rename(old, dest)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_dir(dest: Path | str, may_replace: Callable[[Path], bool] = lambda p: True,
               kind: str = "directory") -> Iterator[Path]:
    """Yield an empty temporary directory to fill; it replaces `dest` on success.

    An existing `dest` is replaced only if it is empty or `may_replace(dest)` says so, so that
    a mistyped destination never wipes an unrelated directory.
    """
    dest = Path(dest)
    if dest.exists() or dest.is_symlink():
        if not dest.is_dir() or dest.is_symlink():
            raise SlimError(f"cannot write {dest}: it exists and is not a directory")
        if any(dest.iterdir()) and not may_replace(dest):
            raise SlimError(f"refusing to replace {dest}: it exists and is not {kind}")
    parent = _parent(dest)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=TMP_SUFFIX, dir=parent))
    except OSError as e:
        raise SlimError(f"cannot write in {parent}: {e.strerror or e}") from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        _replace_dir(tmp, dest)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SlimError(f"cannot write {dest}: {e.strerror or e}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(parent)
