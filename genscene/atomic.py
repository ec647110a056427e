"""Atomic writes, and the one policy every writing command applies to its output path.

Atomic writes (:func:`atomic_path`): a file or folder is built under a hidden temporary sibling
``.NAME.tmp-PID-XXXXXXXX.SUFFIX`` and renamed onto the target last, so the target is either
untouched or complete. The temporary is removed on an exception, on Ctrl-C (KeyboardInterrupt) and
on SIGTERM/SIGHUP: while a write is open those signals raise :class:`Terminated`, which unwinds
the writes, and are then re-raised with their default action, so the process still ends as the
sender asked. A SIGKILL cannot be caught: its temporaries are swept later by :func:`check_output`.

The final move with ``replace=False`` is atomic and never replaces anything:

* a file is hard-linked onto the target (``os.link`` fails with EEXIST whatever is there), then its
  temporary name is unlinked; on a filesystem without hard links the name is first reserved with
  an ``O_CREAT | O_EXCL`` placeholder, which the rename then replaces;
* a folder is renamed with ``os.rename``, which fails onto a file or a non-empty folder (an empty
  folder, holding nothing, is replaced).

So of two runs writing the same output at once, the second fails with one line and loses nothing.

Output policy (:func:`check_output`), one :class:`InputError` line naming the path otherwise:

* a file output never replaces a folder (or anything but a regular file), with or without overwrite;
  with overwrite it replaces only a file whose suffix is one the command writes;
* a scene output replaces only a genscene scene folder (``meta.json`` with format ``genscene.scene``)
  and only with overwrite; an empty folder counts as absent; nothing else is ever replaced;
* without overwrite nothing that exists is replaced.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from genscene.errors import InputError

SCENE_META = "meta.json"
"""The file that marks a scene folder written by genscene."""
SCENE_FORMAT = "genscene.scene"
"""``format`` in that file (:mod:`genscene.io.scene` writes it)."""
STALE_AFTER_S = 6 * 3600.0
"""A leftover temporary whose process is gone is removed once it is this old (seconds since its last change):
the margin covers a writer on another machine sharing the folder, whose PID means nothing here."""
ALREADY_EXISTS = "already exists (pass --overwrite to replace it)"

OutputKind = Literal["file", "scene"]
_TERMINATING = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EMLINK, errno.EXDEV}


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived while an atomic write was open; unwinding removes its temporaries."""

    def __init__(self, signum: int):
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum


# ------------------------------------------------------------------------------------ policy
def check_output(target: str | Path, overwrite: bool, kind: OutputKind = "file",
                 suffixes: Iterable[str] = ()) -> Path:
    """``target`` as a Path if a command may write it; an :class:`InputError` naming it otherwise.

    Args:
        overwrite: the command's ``--overwrite``.
        kind: ``"file"`` (one file) or ``"scene"`` (a scene folder).
        suffixes: for a file, the suffixes of what the command writes (any when empty); an existing
            file with another suffix is never replaced.

    Stale temporaries of ``target`` (left by a killed run) are removed first; younger ones whose
    process is gone are named in the error.
    """
    target = Path(target)
    leftovers = _sweep(target, _leftovers(target))
    if kind == "file":
        problem = _file_problem(target, overwrite, tuple(s.lower() for s in suffixes))
    else:
        problem = _scene_problem(target, overwrite)
    if problem is None:
        return target
    if leftovers:
        problem += f"; leftovers of a killed run beside it: {', '.join(p.name for p in leftovers)}"
    raise InputError(target, problem)


def is_scene_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder with genscene's ``meta.json`` (format ``genscene.scene``)."""
    try:
        meta = json.loads((Path(path) / SCENE_META).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("format") == SCENE_FORMAT


def _file_problem(target: Path, overwrite: bool, suffixes: tuple[str, ...]) -> str | None:
    if not (target.exists() or target.is_symlink()):
        return None
    if target.is_dir():
        return "is a folder; give a file name (a folder is never replaced by a file)"
    if not target.is_file():
        return "exists and is not a regular file; it is never replaced"
    if suffixes and target.suffix.lower() not in suffixes:
        return (f"exists and is not a {' or '.join(suffixes)} file; it is never replaced "
                "(--overwrite replaces only files of the kind this command writes)")
    return None if overwrite else ALREADY_EXISTS


def _scene_problem(target: Path, overwrite: bool) -> str | None:
    if not (target.exists() or target.is_symlink()):
        return None
    if target.is_symlink() or not target.is_dir():
        return "is a file or a link, not a folder; it is never replaced by a scene folder"
    if not any(target.iterdir()):
        return None
    if not is_scene_folder(target):
        return (f"is a folder but not a genscene scene (no {SCENE_META} of format {SCENE_FORMAT}); "
                "it is never replaced, even with --overwrite")
    return None if overwrite else ALREADY_EXISTS


# ------------------------------------------------------------------------------------ leftovers
def _sibling(target: Path, tag: str) -> Path:
    """A hidden, unique sibling of ``target`` that names this process and keeps the suffix (formats follow it)."""
    return target.with_name(f".{target.stem}.{tag}-{os.getpid()}-{uuid.uuid4().hex[:8]}{target.suffix}")


def _leftovers(target: Path) -> list[Path]:
    """Temporaries (``tmp``) and backups (``old``) of ``target`` whose process is not running.

    Names from before the PID was part of them (``.NAME.tmp-XXXXXXXXXXXX.SUFFIX``) count as not running.
    """
    prefix = f".{target.stem}."
    pattern = re.compile(rf"(?:tmp|old)-(?:(\d+)-[0-9a-f]{{8}}|[0-9a-f]{{12}}){re.escape(target.suffix)}")
    try:
        names = [p.name for p in target.parent.iterdir()]
    except OSError:
        return []
    found = []
    for name in names:
        match = pattern.fullmatch(name[len(prefix):]) if name.startswith(prefix) else None
        if match and not _running(match.group(1)):
            found.append(target.with_name(name))
    return sorted(found)


def _running(pid: str | None) -> bool:
    """Whether process ``pid`` exists on this machine (None: unknown, taken as not running)."""
    if pid is None:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _sweep(target: Path, leftovers: list[Path]) -> list[Path]:
    """Remove leftovers older than :data:`STALE_AFTER_S`; return those kept.

    A backup (``old``) is removed only while ``target`` exists: otherwise it holds the only copy of
    what a killed overwrite had moved aside.
    """
    kept = []
    for path in leftovers:
        try:
            age = time.time() - path.lstat().st_mtime
        except OSError:
            continue
        backup_needed = path.name[len(target.stem) + 2:].startswith("old-") and not target.exists()
        if age > STALE_AFTER_S and not backup_needed:
            _remove(path)
        else:
            kept.append(path)
    return kept


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------ signals
def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated(signum)


def _install_handlers() -> dict[int, Any]:
    """Make SIGTERM/SIGHUP raise :class:`Terminated` where they would kill the process outright.

    Only in the main thread (the only one Python runs handlers in), and only for a signal that has
    its default action: a handler someone else installed (or an enclosing write's) stays in charge.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}
    installed = {}
    for signum in _TERMINATING:
        if signal.getsignal(signum) == signal.SIG_DFL:
            installed[signum] = signal.signal(signum, _raise_terminated)
    return installed


def _restore(installed: Mapping[int, Any]) -> None:
    for signum, previous in installed.items():
        signal.signal(signum, previous)


@contextmanager
def _terminate_unwinds() -> Iterator[None]:
    """While open, SIGTERM/SIGHUP unwind as :class:`Terminated`; afterwards the signal takes its default action."""
    installed: dict[int, Any] = {}
    try:
        installed.update(_install_handlers())
        yield
    except Terminated as err:
        _restore(installed)
        if err.signum in installed:
            signal.raise_signal(err.signum)  # default action: the process ends, killed by that signal
        raise
    finally:
        _restore(installed)


# ------------------------------------------------------------------------------------ atomic writes
@contextmanager
def atomic_path(target: str | Path, directory: bool = False, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary sibling path of ``target``; move it onto ``target`` only if the block succeeds.

    Args:
        target: the final file or folder. Its parent folders are created.
        directory: if True the temporary folder is created (empty) before it is yielded and the
            whole folder replaces ``target``; otherwise the yielded path does not exist yet and the
            block must create that file.
        replace: True: an existing target is replaced (a file never replaces a folder). False: the
            final move is atomic and fails with an :class:`InputError` if anything is at ``target``
            by then (a folder may replace an empty folder); nothing is replaced.

    On an exception, Ctrl-C or SIGTERM/SIGHUP the temporary path is removed and an existing
    ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(target, "tmp")
    with _terminate_unwinds():
        try:
            if directory:
                tmp.mkdir()
            yield tmp
            if not tmp.exists():
                raise FileNotFoundError(f"atomic_path: the block did not create {tmp} for {target}")
            _move_into_place(tmp, target, replace)
        except BaseException:
            _remove(tmp)
            raise


def _move_into_place(tmp: Path, target: Path, replace: bool) -> None:
    """Rename ``tmp`` onto ``target``: replacing it (see :func:`_replace_folder`) or never (see the module doc)."""
    if not replace:
        _move_no_clobber(tmp, target)
    elif tmp.is_dir():
        _replace_folder(tmp, target)
    elif target.is_dir() and not target.is_symlink():
        raise InputError(target, "is a folder; a file never replaces a folder")
    else:
        os.replace(tmp, target)  # atomic for files, also over an existing file


def _replace_folder(tmp: Path, target: Path) -> None:
    """Rename folder ``tmp`` onto ``target``; an existing folder is first moved aside so a failure can restore it."""
    if not (target.is_dir() and not target.is_symlink()):
        os.replace(tmp, target)
        return
    backup = _sibling(target, "old")
    os.replace(target, backup)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(backup, target)
        raise
    _remove(backup)


def _move_no_clobber(tmp: Path, target: Path) -> None:
    """Move ``tmp`` to ``target`` atomically, failing with one line if anything (but an empty folder) is there."""
    try:
        if tmp.is_dir():
            os.rename(tmp, target)
        else:
            _link_no_clobber(tmp, target)
    except OSError as err:
        if err.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
            raise
        raise InputError(target, "already exists: it appeared while this run was writing (another run?); "
                                 "nothing was replaced (pass --overwrite to replace it)") from None


def _link_no_clobber(tmp: Path, target: Path) -> None:
    try:
        os.link(tmp, target)
    except OSError as err:
        if err.errno not in _NO_HARD_LINKS:
            raise
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))  # reserves the name
        try:
            os.replace(tmp, target)
        except BaseException:
            target.unlink(missing_ok=True)  # our empty placeholder
            raise
        return
    tmp.unlink()


def atomic_write_many(files: Mapping[Path, bytes], replace: bool = True) -> None:
    """Write several files so that none is half-written: all go to temp names, then are renamed.

    The renames run in reverse order, so the first file appears last. With ``replace=False`` a name
    taken meanwhile stops the renames not yet done (files already renamed stay; nothing is replaced).
    """
    with contextlib.ExitStack() as stack:  # every rename happens only after every file was written
        for path, data in files.items():
            tmp = stack.enter_context(atomic_path(path, replace=replace))
            tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_many({Path(path): text.encode("utf-8")})


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")
