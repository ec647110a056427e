"""Issue 19, data loss: every writing command refuses to replace what it did not write.

A folder where a file goes is refused (also with ``--overwrite``); an existing file is refused
without ``--overwrite``; a folder is replaced only if it is a genscene scene; a target that appears
while a run writes is kept (the final rename fails). Each refusal is one line and exit status 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from genscene.cli import app
from genscene.geometry.gaussians import Gaussians
from genscene.io.ply import write_gaussians_ply

runner = CliRunner()

TINY_SAMPLE = ["worlds", "sample", "--frames", "2", "--res", "16", "--supersample", "1", "--device", "cpu"]
TINY_SHEET = ["--families", "tabletop", "--seeds", "0", "--res", "16", "--columns", "1", "--device", "cpu"]


def _ply(folder: Path) -> Path:
    one = Gaussians(means=torch.tensor([[0.0, 0.0, 2.0]]), quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]]),
                    scales=torch.full((1, 3), 0.3), opacities=torch.tensor([0.9]), colors=torch.tensor([[1.0, 0, 0]]))
    path = folder / "blob.ply"
    write_gaussians_ply(path, one)
    return path


def _file_command(name: str, tmp_path: Path, output: Path) -> list[str]:
    """argv of a command that writes the file ``output``."""
    return {
        "trajectory export": ["trajectory", "export", "orbit", "-n", "3", "-o", str(output)],
        "trajectory preview": ["trajectory", "preview", "orbit", "-n", "3", "-o", str(output)],
        "worlds preview": ["worlds", "preview", *TINY_SHEET, "-o", str(output)],
        "worlds export": ["worlds", "export", "--family", "tabletop", "--seed", "2", "-o", str(output)],
        "render": ["render", str(_ply(tmp_path)), "-t", "orbit", "-n", "2", "--width", "16", "--height", "16",
                   "--device", "cpu", "-o", str(output)],
    }[name]


FILE_COMMANDS = {"trajectory export": ".json", "trajectory preview": ".png", "worlds preview": ".png",
                 "worlds export": ".glb", "render": ".mp4"}


def _refused(result, needle: str) -> None:
    """Exit status 2 and exactly one line, ``error: ...`` containing ``needle``."""
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.output


def _user_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "keep.txt").write_text("hi\n")
    return path


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
@pytest.mark.parametrize("name", FILE_COMMANDS)
def test_a_file_output_never_replaces_a_folder(name, overwrite, tmp_path):
    adir = _user_folder(tmp_path / "x" / f"adir{FILE_COMMANDS[name]}")  # a folder named like the output
    result = runner.invoke(app, _file_command(name, tmp_path, adir) + overwrite)
    _refused(result, f"{adir}: is a folder")
    assert (adir / "keep.txt").read_text() == "hi\n" and sorted(p.name for p in adir.iterdir()) == ["keep.txt"]


def test_the_issue_example_keeps_the_folder(tmp_path):
    adir = _user_folder(tmp_path / "x" / "adir")
    _refused(runner.invoke(app, ["trajectory", "export", "orbit", "-o", str(adir)]), "is a folder")
    assert (adir / "keep.txt").read_text() == "hi\n"


@pytest.mark.parametrize("name", FILE_COMMANDS)
def test_an_existing_file_is_kept_without_overwrite(name, tmp_path):
    mine = tmp_path / f"mine{FILE_COMMANDS[name]}"
    mine.write_bytes(b"my own bytes")
    result = runner.invoke(app, _file_command(name, tmp_path, mine))
    _refused(result, f"{mine}: already exists (pass --overwrite")
    assert mine.read_bytes() == b"my own bytes"
    assert _hidden(tmp_path) == []


def test_overwrite_replaces_only_a_file_of_the_kind_written(tmp_path):
    path = tmp_path / "path.json"
    assert runner.invoke(app, ["trajectory", "export", "orbit", "-n", "3", "-o", str(path)]).exit_code == 0
    again = runner.invoke(app, ["trajectory", "export", "orbit", "-n", "5", "-o", str(path), "--overwrite"])
    assert again.exit_code == 0, again.output
    assert len(json.loads(path.read_text())["poses"]) == 5
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    result = runner.invoke(app, ["trajectory", "export", "orbit", "-o", str(notes), "--overwrite"])
    _refused(result, "is not a .json file")
    assert notes.read_text() == "my notes"


def test_worlds_export_obj_keeps_the_users_texture(tmp_path):
    texture = tmp_path / "material_0.png"
    texture.write_bytes(b"the user's picture")
    obj = tmp_path / "m.obj"
    result = runner.invoke(app, ["worlds", "export", "--family", "tabletop", "--seed", "2", "-o", str(obj)])
    _refused(result, f"{texture}: already exists")
    assert texture.read_bytes() == b"the user's picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["material_0.png"]  # no .obj, .mtl or temporary
    again = runner.invoke(app, ["worlds", "export", "--family", "tabletop", "--seed", "2", "-o", str(obj),
                                "--overwrite"])
    assert again.exit_code == 0, again.output
    assert texture.read_bytes()[:4] == b"\x89PNG" and (tmp_path / "m.mtl").is_file() and _hidden(tmp_path) == []


def test_worlds_export_overwrites_its_own_glb(tmp_path):
    glb = tmp_path / "w.glb"
    args = ["worlds", "export", "--family", "tabletop", "--seed", "2", "-o", str(glb)]
    assert runner.invoke(app, args + ["--colors", "vertex"]).exit_code == 0
    vertex = glb.read_bytes()
    _refused(runner.invoke(app, args), "already exists")
    assert glb.read_bytes() == vertex
    assert runner.invoke(app, args + ["--overwrite"]).exit_code == 0
    assert glb.read_bytes() != vertex and glb.read_bytes()[:4] == b"glTF"


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_scene_commands_never_replace_a_folder_that_is_not_a_scene(overwrite, tmp_path):
    adir = _user_folder(tmp_path / "adir")
    _refused(runner.invoke(app, [*TINY_SAMPLE, "-o", str(adir), *overwrite]), "not a genscene scene")
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"not read: the output is checked first")
    _refused(runner.invoke(app, ["reconstruct", str(photo), "-o", str(adir), *overwrite]), "not a genscene scene")
    assert sorted(p.name for p in adir.iterdir()) == ["keep.txt"] and (adir / "keep.txt").read_text() == "hi\n"


def test_a_scene_output_never_replaces_a_file(tmp_path):
    mine = tmp_path / "scene"
    mine.write_text("a file")
    _refused(runner.invoke(app, [*TINY_SAMPLE, "-o", str(mine), "--overwrite"]), "not a folder")
    _refused(runner.invoke(app, ["reconstruct", str(mine), "-o", str(mine), "--overwrite"]), "not a folder")
    assert mine.read_text() == "a file"


def test_sample_writes_into_an_empty_folder_and_overwrites_only_its_scene(tmp_path):
    out = tmp_path / "scene"
    out.mkdir()  # empty: nothing to lose
    assert runner.invoke(app, [*TINY_SAMPLE, "--seed", "3", "-o", str(out)]).exit_code == 0
    _refused(runner.invoke(app, [*TINY_SAMPLE, "--seed", "4", "-o", str(out)]), "already exists")
    assert json.loads((out / "meta.json").read_text())["world"]["seed"] == 3
    _refused(runner.invoke(app, ["reconstruct", str(out / "frames"), "-o", str(out)]), "already exists")
    done = runner.invoke(app, [*TINY_SAMPLE, "--seed", "4", "-o", str(out), "--overwrite"])
    assert done.exit_code == 0, done.output
    assert json.loads((out / "meta.json").read_text())["world"]["seed"] == 4 and (out / "gt" / "gt.npz").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene"]


def test_a_scene_that_appears_while_sampling_is_kept(tmp_path, monkeypatch):
    import genscene.io.scene as scene_io

    out = tmp_path / "scene"
    real = scene_io.write_video

    def other_run_finishes_first(*args, **kwargs):
        out.mkdir()
        (out / "meta.json").write_text(json.dumps({"format": "genscene.scene", "run": "other"}))
        return real(*args, **kwargs)

    monkeypatch.setattr(scene_io, "write_video", other_run_finishes_first)
    result = runner.invoke(app, [*TINY_SAMPLE, "-o", str(out)])
    _refused(result, "appeared while this run was writing")
    assert json.loads((out / "meta.json").read_text())["run"] == "other"
    assert sorted(p.name for p in out.iterdir()) == ["meta.json"] and _hidden(tmp_path) == []


def test_a_file_that_appears_while_exporting_is_kept(tmp_path, monkeypatch):
    from genscene.cameras.trajectories import files

    out = tmp_path / "path.json"
    real = files.homogeneous

    def other_run_finishes_first(*args, **kwargs):
        out.write_text("other run")
        return real(*args, **kwargs)

    monkeypatch.setattr(files, "homogeneous", other_run_finishes_first)
    _refused(runner.invoke(app, ["trajectory", "export", "orbit", "-n", "3", "-o", str(out)]), "appeared while")
    assert out.read_text() == "other run" and _hidden(tmp_path) == []


def test_a_refusal_names_leftovers_of_a_killed_run(tmp_path):
    out = tmp_path / "scene"
    assert runner.invoke(app, [*TINY_SAMPLE, "-o", str(out)]).exit_code == 0
    leftover = tmp_path / ".scene.tmp-4999999-0123abcd"  # above Linux's largest PID: never running
    leftover.mkdir()
    result = runner.invoke(app, [*TINY_SAMPLE, "-o", str(out)])
    _refused(result, "leftovers of a killed run beside it: .scene.tmp-4999999-0123abcd")
