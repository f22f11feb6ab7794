"""Atomic writing: a file or a folder replaces its destination whole, or not at all.

:func:`atomic_write` and :func:`atomic_directory` write next to the destination and rename
on success; :func:`output_batch` renames the outputs written inside it together, under
:func:`folder_lock`; :func:`sync_directory` and :func:`sync_tree` make the names survive a
crash.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "atomic_directory",
    "atomic_write",
    "folder_lock",
    "output_batch",
    "sync_directory",
    "sync_tree",
]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it over ``path`` only on success.

    Readers never see half a file: the temporary file is flushed to disk (fsync) before the
    rename, and on any error it is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : path-like
        Final destination.
    mode : str
        Unused; kept for symmetry with :func:`open`.

    Raises
    ------
    OSError
        When the folder cannot be written (read-only, no permission, disk full, ...): the
        same error class, naming ``path`` instead of the temporary file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_write(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        tmp = Path(tmp_name)
        yield tmp
        # mkstemp creates 0600 files; give the output the permissions a normal write would
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        _fsync(tmp)
        pending = _BATCH.get()
        if pending is not None:  # renamed with the batch's other outputs, at its end
            pending.append((tmp, path))
            return
        os.replace(tmp, path)
        _fsync(path.parent)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        if (
            isinstance(exc, OSError)
            and exc.errno is not None
            and (exc.filename is None or (tmp is not None and exc.filename == str(tmp)))
        ):
            # name the destination, not the temporary file; errno keeps the subclass
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise


_BATCH: contextvars.ContextVar[list[tuple[Path, Path]] | None] = contextvars.ContextVar(
    "churnpredict_output_batch", default=None
)


@contextlib.contextmanager
def output_batch() -> Iterator[None]:
    """Outputs written inside the block replace their destinations together, or none does.

    Every :func:`atomic_write` inside the block (:func:`churnpredict._outputs.write_frame`,
    the at-risk list, its manifest, its drift file...) writes and fsyncs its temporary file
    as usual but waits with the rename: when the block ends without error, all are renamed
    under an exclusive lock on their folders (:func:`folder_lock`), so two writers of the
    same files never leave a mix of both and a reader holding the shared lock sees one
    writer's files. On any error every temporary file is removed and no destination is
    touched. A batch inside a batch joins the outer one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with output_batch():
    ...     with atomic_write(folder / "a.txt") as tmp:
    ...         _ = tmp.write_text("a")
    ...     print(sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")))
    []
    >>> sorted(p.name for p in folder.iterdir())
    ['a.txt']
    """
    if _BATCH.get() is not None:
        yield
        return
    pending: list[tuple[Path, Path]] = []
    token = _BATCH.set(pending)
    try:
        yield
    except BaseException:
        _BATCH.reset(token)
        for tmp, _ in pending:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    _BATCH.reset(token)
    folders = sorted({path.parent.resolve() for _, path in pending})
    try:
        with contextlib.ExitStack() as locks:
            for folder in folders:  # always in the same order: no deadlock between writers
                locks.enter_context(folder_lock(folder))
            while pending:
                tmp, path = pending[0]
                try:
                    os.replace(tmp, path)
                except OSError as exc:  # name the destination, not the temporary file
                    if exc.errno is None:
                        raise
                    raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
                pending.pop(0)
            for folder in folders:
                _fsync(folder)
    finally:
        for tmp, _ in pending:  # left over by a failed rename
            with contextlib.suppress(OSError):
                tmp.unlink()


@contextlib.contextmanager
def folder_lock(path: str | os.PathLike, *, shared: bool = False) -> Iterator[None]:
    """An exclusive (or shared) lock on a folder between churnpredict processes.

    POSIX ``flock`` on the folder itself (no lock file is created); no lock on Windows.
    Writers of outputs that belong together take it exclusively around their renames
    (:func:`output_batch`, model bundles), readers of such outputs shared.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        yield
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def sync_directory(path: str | os.PathLike) -> None:
    """fsync a directory, so the names created or renamed in it survive a crash.

    Best effort: a no-op where directories cannot be opened or synced (Windows, some
    filesystems).
    """
    _fsync(Path(path))


def _fsync(path: Path) -> None:
    """Flush a file or folder to disk (best effort for folders: not every system allows it)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:
        if path.is_dir():
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not path.is_dir():
            raise
    finally:
        os.close(fd)


def sync_tree(path: str | os.PathLike) -> None:
    """fsync every file and folder under ``path`` (itself included)."""
    for root, _dirs, names in os.walk(path):
        for name in names:
            _fsync(Path(root, name))
        sync_directory(root)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a new temporary directory next to ``path``; it replaces ``path`` only on success.

    When the block succeeds, every file and folder written is fsynced, then an existing
    ``path`` is moved aside, the new directory renamed into place and the old one removed.
    A reader may find no ``path`` during that swap of two renames (use a versioned layout
    with a pointer, as model bundles do, when readers must never see a gap); concurrent
    writers retry the swap, so each one succeeds and the last one's directory stays. On any
    error the temporary directory is removed and ``path`` is left as it was. It replaces
    whatever ``path`` holds: callers first check that churnpredict wrote it
    (:func:`churnpredict._folders.check_output_folder`) and mark the new one.

    Parameters
    ----------
    path : path-like
        Final directory.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        sync_tree(tmp)
        _swap_in(tmp, path)
        sync_directory(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap_in(tmp: Path, path: Path, attempts: int = 50) -> None:
    """Rename ``tmp`` to ``path``, moving an existing ``path`` aside and removing it."""
    for _ in range(attempts):
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{uuid.uuid4().hex}")
            try:
                os.replace(path, old)
            except FileNotFoundError:  # another writer moved it first
                continue
        try:
            os.replace(tmp, path)
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):  # another writer's landed
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
                continue
            if old is not None:  # put the previous directory back
                with contextlib.suppress(OSError):
                    os.replace(old, path)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return
    raise OSError(errno.EBUSY, f"{path} kept being replaced by other writers; try again")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
