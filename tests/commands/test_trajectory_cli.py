"""`genscene trajectory preview / export / list` through typer's CliRunner on the real app."""

import json

import numpy as np
import torch
from PIL import Image
from typer.testing import CliRunner

from genscene.cameras.trajectories import load_trajectory_json, make_trajectory
from genscene.cli import app

runner = CliRunner()


def test_preview_of_a_preset_writes_a_png(tmp_path):
    out = tmp_path / "previews" / "arc.png"
    result = runner.invoke(app, ["trajectory", "preview", "gen3r_arc_left", "-o", str(out), "--frames", "13",
                                 "--distance", "0.7"])
    assert result.exit_code == 0, result.output
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape[0] >= 300 and image.shape[1] >= 900
    assert image.std() > 10  # something was drawn
    assert [p.name for p in out.parent.iterdir()] == ["arc.png"]  # no temporary sibling left


def test_export_then_preview_of_the_json_file(tmp_path):
    path = tmp_path / "path.json"
    result = runner.invoke(app, ["trajectory", "export", "gen3c_right", "-o", str(path), "-n", "9",
                                 "-p", "rotation=no_rotation"])
    assert result.exit_code == 0, result.output
    poses = load_trajectory_json(path).poses
    assert torch.equal(poses, make_trajectory("gen3c_right", 9, rotation="no_rotation"))
    assert json.loads(path.read_text())["convention"] == "opencv_c2w"
    out = tmp_path / "path.png"
    result = runner.invoke(app, ["trajectory", "preview", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert Image.open(out).format == "PNG"


def test_unknown_name_exits_2_with_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "x.png"
    result = runner.invoke(app, ["trajectory", "preview", "no_such_path", "-o", str(out)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no_such_path" in lines[0] and lines[0].startswith("error: trajectory")
    assert not out.exists()


def test_bad_parameter_or_file_exits_2(tmp_path):
    result = runner.invoke(app, ["trajectory", "preview", "orbit", "-o", str(tmp_path / "o.png"), "-p", "radius=3"])
    assert result.exit_code == 2 and "radius" in result.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"convention": "opengl", "poses": []}')
    result = runner.invoke(app, ["trajectory", "preview", str(bad), "-o", str(tmp_path / "b.png")])
    assert result.exit_code == 2 and "convention" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]


def test_list_fits_80_columns_and_names_every_preset_with_all_its_parameters():
    from genscene.cameras.trajectories import list_trajectories

    result = runner.invoke(app, ["trajectory", "list"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "\u2026" not in result.output and "..." not in result.output  # nothing cut
    starts = {line.split()[0] for line in lines if line and not line[0].isspace()}
    text = " ".join(result.output.split())
    for name, spec in list_trajectories().items():
        assert name in starts
        for field in spec.param_names():
            assert f"{field}=" in text, (name, field)


def test_list_names_every_preset():
    result = runner.invoke(app, ["trajectory", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in ("gen3c_left", "gen3r_arc_left", "lyra_clockwise", "spatialcrafter_roll", "orbit", "spiral"):
        assert name in result.output
