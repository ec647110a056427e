"""Atomic writes: nothing half-written on failure, targets replaced only on success."""

from __future__ import annotations

from pathlib import Path

import pytest

from genscene.atomic import atomic_path


class Boom(RuntimeError):
    pass


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_file_exception_leaves_nothing(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(Boom):
        with atomic_path(target) as tmp:
            assert tmp.parent == tmp_path and tmp.suffix == ".txt" and not tmp.exists()
            tmp.write_text("half")
            raise Boom()
    assert _entries(tmp_path) == []


def test_file_replaced_only_on_success(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(Boom):
        with atomic_path(target) as tmp:
            tmp.write_text("new")
            raise Boom()
    assert target.read_text() == "old"
    with atomic_path(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old"  # not visible before the block ends
    assert target.read_text() == "new"
    assert _entries(tmp_path) == ["out.txt"]


def test_block_that_writes_nothing_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic_path(tmp_path / "never.bin"):
            pass
    assert _entries(tmp_path) == []


def test_directory_exception_leaves_nothing(tmp_path):
    target = tmp_path / "a" / "scene"  # parents are created
    with pytest.raises(Boom):
        with atomic_path(target, directory=True) as tmp:
            assert tmp.is_dir()
            (tmp / "sub").mkdir()
            (tmp / "sub" / "x.txt").write_text("half")
            raise Boom()
    assert _entries(tmp_path / "a") == []


def test_directory_replaced_only_on_success(tmp_path):
    target = tmp_path / "scene"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(Boom):
        with atomic_path(target, directory=True) as tmp:
            (tmp / "new.txt").write_text("new")
            raise Boom()
    assert _entries(target) == ["old.txt"]
    with atomic_path(target, directory=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert _entries(target) == ["new.txt"]
    assert _entries(tmp_path) == ["scene"]  # no temporary or backup sibling left
