"""Atomic writes: build a file or folder under a temporary sibling name, rename it into place last.

A crash (or an exception) inside the block never leaves a half-written target behind: either the
old target is untouched, or the new one is complete. The temporary sibling lives in the same
folder as the target so the final rename stays on one filesystem (and is atomic for files).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping


def _sibling(target: Path, tag: str) -> Path:
    """A hidden, unique sibling of ``target`` that keeps its suffix (writers infer formats from it)."""
    return target.with_name(f".{target.stem}.{tag}-{uuid.uuid4().hex[:12]}{target.suffix}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


@contextmanager
def atomic_path(target: str | Path, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling path of ``target``; move it onto ``target`` only if the block succeeds.

    Args:
        target: the final file or folder. Its parent folders are created.
        directory: if True the temporary folder is created (empty) before it is yielded and the
            whole folder replaces ``target``; otherwise the yielded path does not exist yet and the
            block must create that file.

    On an exception the temporary path is removed and the exception propagates; an existing
    ``target`` is left as it was. On success an existing ``target`` (file or folder) is replaced.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(target, "tmp")
    if directory:
        tmp.mkdir()
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"atomic_path: the block did not create {tmp} for {target}")
        _move_into_place(tmp, target)
    except BaseException:
        _remove(tmp)
        raise


def _move_into_place(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` onto ``target``; a folder target is first moved aside so a failure can restore it."""
    if not (target.is_dir() and not target.is_symlink()):
        os.replace(tmp, target)  # atomic for files, also over an existing file
        return
    backup = _sibling(target, "old")
    os.replace(target, backup)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(backup, target)
        raise
    _remove(backup)


def atomic_write_many(files: Mapping[Path, bytes]) -> None:
    """Write several files so that none is half-written: all go to temp names, then are renamed."""
    with contextlib.ExitStack() as stack:  # every rename happens only after every file was written
        for path, data in files.items():
            tmp = stack.enter_context(atomic_path(path))
            tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_many({Path(path): text.encode("utf-8")})


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")
