"""Atomic writes: nothing half-written on failure, targets replaced only on success."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genscene.atomic import SCENE_FORMAT, SCENE_META, STALE_AFTER_S, atomic_path, atomic_write_many, check_output
from genscene.errors import InputError


class Boom(RuntimeError):
    pass


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_file_exception_leaves_nothing(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(Boom), atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".txt" and not tmp.exists()
        tmp.write_text("half")
        raise Boom()
    assert _entries(tmp_path) == []


def test_file_replaced_only_on_success(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(Boom), atomic_path(target) as tmp:
        tmp.write_text("new")
        raise Boom()
    assert target.read_text() == "old"
    with atomic_path(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old"  # not visible before the block ends
    assert target.read_text() == "new"
    assert _entries(tmp_path) == ["out.txt"]


def test_block_that_writes_nothing_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError), atomic_path(tmp_path / "never.bin"):
        pass
    assert _entries(tmp_path) == []


def test_directory_exception_leaves_nothing(tmp_path):
    target = tmp_path / "a" / "scene"  # parents are created
    with pytest.raises(Boom), atomic_path(target, directory=True) as tmp:
        assert tmp.is_dir()
        (tmp / "sub").mkdir()
        (tmp / "sub" / "x.txt").write_text("half")
        raise Boom()
    assert _entries(tmp_path / "a") == []


def test_directory_replaced_only_on_success(tmp_path):
    target = tmp_path / "scene"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(Boom), atomic_path(target, directory=True) as tmp:
        (tmp / "new.txt").write_text("new")
        raise Boom()
    assert _entries(target) == ["old.txt"]
    with atomic_path(target, directory=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert _entries(target) == ["new.txt"]
    assert _entries(tmp_path) == ["scene"]  # no temporary or backup sibling left


# ------------------------------------------------------------------------------ output policy and safety
DEAD_PID = 4999999  # above Linux's largest PID (2**22): never a running process


def _leftover(folder: Path, name: str, age_s: float = 0.0, directory: bool = True) -> Path:
    path = folder / name
    if directory:
        path.mkdir()
    else:
        path.write_text("half")
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


def _scene_folder(path: Path) -> Path:
    path.mkdir()
    (path / SCENE_META).write_text(json.dumps({"format": SCENE_FORMAT}))
    return path


def _folder_with(name: str, text: str):
    """A maker of a folder holding one file ``name``."""
    def make(path: Path) -> None:
        path.mkdir()
        (path / name).write_text(text)
    return make


@pytest.mark.parametrize("make,kind,overwrite,needle", [
    (Path.mkdir, "file", True, "is a folder"),
    (lambda p: p.write_text("x"), "file", False, "already exists"),
    (lambda p: p.write_text("x"), "scene", True, "not a folder"),
    (_folder_with("keep.txt", "x"), "scene", True, "not a genscene scene"),
    (_folder_with(SCENE_META, "{}"), "scene", True, "not a genscene scene"),
    (_scene_folder, "scene", False, "already exists"),
])
def test_check_output_refuses_with_one_line_naming_the_path(tmp_path, make, kind, overwrite, needle):
    target = tmp_path / "out.json"
    make(target)
    with pytest.raises(InputError) as err:
        check_output(target, overwrite, kind, suffixes=(".json",))
    assert str(err.value).startswith(f"{target}: ") and needle in str(err.value) and "\n" not in str(err.value)


def test_check_output_allows_what_may_be_replaced(tmp_path):
    assert check_output(tmp_path / "new.json", False, suffixes=(".json",)) == tmp_path / "new.json"
    (tmp_path / "old.json").write_text("x")
    assert check_output(tmp_path / "old.json", True, suffixes=(".JSON",)) == tmp_path / "old.json"
    (tmp_path / "empty").mkdir()
    assert check_output(tmp_path / "empty", False, "scene") == tmp_path / "empty"
    assert check_output(_scene_folder(tmp_path / "scene"), True, "scene") == tmp_path / "scene"
    with pytest.raises(InputError, match="old.json: exists and is not a .png file"):
        check_output(tmp_path / "old.json", True, suffixes=(".png",))


def test_a_file_never_replaces_a_folder_even_with_replace(tmp_path):
    folder = tmp_path / "out.txt"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="is a folder"), atomic_path(folder) as tmp:
        tmp.write_text("new")
    assert (folder / "keep.txt").read_text() == "mine" and _entries(tmp_path) == ["out.txt"]


@pytest.mark.parametrize("directory", [False, True])
def test_no_replace_fails_if_the_target_appears_meanwhile(tmp_path, directory):
    target = tmp_path / "out"
    other_run = _folder_with(SCENE_META, "other run") if directory else (lambda p: p.write_text("other run"))
    kept = (target / SCENE_META) if directory else target
    with pytest.raises(InputError, match="appeared while this run was writing"), \
            atomic_path(target, directory=directory, replace=False) as tmp:
        (tmp / "mine.txt" if directory else tmp).write_text("mine")
        other_run(target)
    assert kept.read_text() == "other run" and _entries(tmp_path) == ["out"]


def test_no_replace_moves_into_place_when_the_name_is_free(tmp_path):
    with atomic_path(tmp_path / "a.txt", replace=False) as tmp:
        tmp.write_text("file")
    (tmp_path / "empty").mkdir()  # holds nothing: a folder may take its place
    with atomic_path(tmp_path / "empty", directory=True, replace=False) as tmp:
        (tmp / "x.txt").write_text("folder")
    assert (tmp_path / "a.txt").read_text() == "file" and (tmp_path / "empty" / "x.txt").read_text() == "folder"
    assert _entries(tmp_path) == ["a.txt", "empty"]


@pytest.mark.parametrize("directory", [False, True])
def test_sigterm_inside_atomic_path_removes_the_temporary(tmp_path, directory):
    code = (
        "import os, signal, sys, time\n"
        "from genscene.atomic import atomic_path\n"
        f"with atomic_path(sys.argv[1], directory={directory}) as tmp:\n"
        "    (tmp / 'half.txt' if tmp.is_dir() else tmp).write_text('half')\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(60)\n"
        "print('not reached')\n"
    )
    target = tmp_path / "out.txt"
    proc = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == -signal.SIGTERM, proc.stderr
    assert proc.stdout == "" and _entries(tmp_path) == []


def test_signal_handlers_are_restored(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    with atomic_path(tmp_path / "a.txt") as tmp:
        tmp.write_text("x")
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "b.txt") as tmp:
        tmp.write_text("x")
        raise KeyboardInterrupt
    assert signal.getsignal(signal.SIGTERM) is before and _entries(tmp_path) == ["a.txt"]


def test_stale_leftovers_are_removed_and_young_ones_named(tmp_path):
    target = tmp_path / "scene"
    hour = STALE_AFTER_S + 60
    old = _leftover(tmp_path, f".scene.tmp-{DEAD_PID}-0123abcd", age_s=hour)
    legacy = _leftover(tmp_path, ".scene.tmp-0123456789ab", age_s=hour)
    young = _leftover(tmp_path, f".scene.tmp-{DEAD_PID}-4567cdef")
    alive = _leftover(tmp_path, f".scene.tmp-{os.getpid()}-89abcdef", age_s=hour)
    other = _leftover(tmp_path, f".scene.tmp-{DEAD_PID}-0123abcd.png", age_s=hour, directory=False)
    assert check_output(target, False, "scene") == target
    assert not old.exists() and not legacy.exists()
    assert young.exists() and alive.exists() and other.exists()  # too young, running, or another target's
    _scene_folder(target)
    with pytest.raises(InputError) as err:
        check_output(target, False, "scene")
    assert str(err.value).endswith(f"leftovers of a killed run beside it: {young.name}")


def test_a_backup_is_kept_while_the_target_is_missing(tmp_path):
    target = tmp_path / "scene"
    backup = _leftover(tmp_path, f".scene.old-{DEAD_PID}-0123abcd", age_s=STALE_AFTER_S + 60)
    check_output(target, False, "scene")
    assert backup.exists()  # the only copy of a scene a killed overwrite had moved aside
    _scene_folder(target)  # the overwrite it was moved aside for is done: the backup is garbage
    check_output(target, True, "scene")
    assert not backup.exists()


def test_write_many_without_replace_keeps_existing_files(tmp_path):
    (tmp_path / "b.txt").write_text("mine")
    with pytest.raises(InputError, match="b.txt: already exists"):
        atomic_write_many({tmp_path / "a.txt": b"a", tmp_path / "b.txt": b"b"}, replace=False)
    assert (tmp_path / "b.txt").read_text() == "mine" and _entries(tmp_path) == ["b.txt"]


def test_without_hard_links_a_placeholder_reserves_the_name(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise OSError(errno.EPERM, "hard links not supported", str(dst))

    monkeypatch.setattr(os, "link", no_links)
    with atomic_path(tmp_path / "a.txt", replace=False) as tmp:
        tmp.write_text("new")
    with pytest.raises(InputError, match="a.txt: already exists"), atomic_path(tmp_path / "a.txt", replace=False) as tmp:
        tmp.write_text("second")
    assert (tmp_path / "a.txt").read_text() == "new" and _entries(tmp_path) == ["a.txt"]
