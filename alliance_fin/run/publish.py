"""Putting a finished bundle in place: the lock on ``--out``, atomic writes and the folder swap.

Readers of ``--out`` see the old bundle or the new one, never a mix: a new folder appears with
one rename; an existing one (``--force``) is swapped with the staged folder in one atomic
``renameat2(RENAME_EXCHANGE)`` call. One run at a time may write a folder (``flock``).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from alliance_fin.errors import ParameterError
from alliance_fin.files import write_atomic

#: Files of a bundle a run may replace in an existing ``--out`` folder (with ``--force``).
BUNDLE_FILES = ("manifest.json", "index.html")
#: Files made from a bundle afterwards (``alliance-fin pack``): a new run replaces the bundle, so
#: they describe the old one and go with it.
DERIVED_FILES = ("pack.pdf",)
REPORT_SUFFIXES = (".xlsx", ".html", ".ipynb", ".failed.ipynb")


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all (:func:`alliance_fin.files.write_atomic`)."""
    write_atomic(path, text)


def exchange_folders(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))


def publish_bundle(staging: Path, out: Path, files: list[str], reports: Iterable[str]) -> None:
    """Move the staged bundle into ``out`` (see the module docstring).

    Parameters
    ----------
    staging : Path
        Folder holding the finished bundle (same file system as ``out``); consumed.
    out : Path
        The target folder. If it exists, the user's own files in it (anything that is not a
        bundle file of ``reports``) are kept, hard-linked into the new folder.
    files : list of str
        The bundle's files; anything else in ``staging`` is dropped.
    reports : iterable of str
        Every report name whose old files in ``out`` are replaced or removed.
    """
    for extra in set(os.listdir(staging)) - set(files):  # hidden leftovers of the notebooks
        target = staging / extra
        shutil.rmtree(target) if target.is_dir() and not target.is_symlink() else target.unlink()
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(staging, 0o777 & ~mask)  # mkdtemp (and mkstemp in writers) make things private
    for name in files:
        os.chmod(staging / name, 0o666 & ~mask)
    if not out.exists():
        os.replace(staging, out)
        return
    stale = {f"{r}{s}" for r in reports for s in REPORT_SUFFIXES} | set(BUNDLE_FILES) | set(DERIVED_FILES)
    for name in sorted(set(os.listdir(out)) - stale - set(files)):  # the user's own files stay
        src, dst = out / name, staging / name
        if src.is_dir() and not src.is_symlink():
            shutil.copytree(src, dst, symlinks=True, copy_function=os.link)
        else:
            os.link(src, dst, follow_symlinks=False)
    if exchange_folders(staging, out):
        shutil.rmtree(staging)  # now the old bundle
        return
    for name in stale - set(files):  # no atomic swap on this system: file by file, manifest last
        (out / name).unlink(missing_ok=True)
    for name in sorted(files, key=lambda n: n in BUNDLE_FILES):
        os.replace(staging / name, out / name)


def _lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}.lock"


def claim_out(out: Path, *, force: bool) -> int:
    """Hold an exclusive lock on ``out`` for the whole run; refuse if another run holds it.

    Also re-checks, under the lock, that a folder which appeared since planning is not
    overwritten without ``force``.

    Returns
    -------
    int
        The lock's file descriptor, for :func:`release_out`.

    Raises
    ------
    ParameterError
        Another run holds the lock, or ``out`` appeared and is not empty.
    """
    fd = os.open(_lock_path(out), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ParameterError(f"--out {out}: another alliance-fin run is writing to this folder; "
                             "wait for it or choose another --out; nothing was written") from None
    if out.is_dir() and any(out.iterdir()) and not force:
        release_out(out, fd)
        raise ParameterError(f"--out {out}: folder appeared and is not empty "
                             "(another run wrote it; use --force to replace its reports); nothing was written")
    return fd


def release_out(out: Path, fd: int) -> None:
    """Drop the lock taken by :func:`claim_out` and remove its file."""
    with contextlib.suppress(OSError):
        _lock_path(out).unlink()
    with contextlib.suppress(OSError):
        os.close(fd)
