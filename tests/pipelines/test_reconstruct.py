"""``reconstruct`` end to end on a tiny random network: a complete, consistent scene folder."""

import json

import pytest
import torch
from typer.testing import CliRunner

from genscene.cli import app
from genscene.io.images import write_image
from genscene.io.scene import read_scene
from genscene.models.geometry import GeometryNet, GeometryNetConfig
from genscene.pipelines.reconstruct import network_size


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / "geometry"
    GeometryNet(GeometryNetConfig(dim=32, depth=2, heads=2, head_layers=(0, 1), head_dim=16)).save_pretrained(path)
    return path


def test_network_size_keeps_aspect_and_patch_multiple():
    assert network_size(480, 640, 128, 8) == (96, 128)
    assert network_size(3024, 4032, 256, 14) == (196, 252)


def test_reconstruct_cli_writes_a_full_scene(tmp_path, tiny_weights):
    files = []
    for i in range(3):
        img = torch.rand(3, 60, 80, generator=torch.Generator().manual_seed(i))
        files.append(tmp_path / f"v{i}.png")
        write_image(files[-1], img)
    out = tmp_path / "scene"
    res = CliRunner().invoke(app, ["reconstruct", *map(str, files), "-o", str(out), "--weights", str(tiny_weights),
                                   "--size", "64", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    scene = read_scene(out)
    assert scene.frames.shape == (3, 3, 48, 64)
    assert scene.depths.shape == (3, 48, 64) and torch.all(scene.depths > 0)
    assert torch.allclose(scene.cameras.w2c[0], torch.eye(4, dtype=scene.cameras.w2c.dtype), atol=1e-3)
    for name in ("transforms.json", "cameras.json", "points.ply", "preview.png", "sparse/0/cameras.txt"):
        assert (out / name).is_file(), name
    meta = json.loads((out / "meta.json").read_text())
    assert meta["inputs"]["views"] == ["v0.png", "v1.png", "v2.png"]


def test_reconstruct_refuses_bad_input(tmp_path, tiny_weights):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    res = CliRunner().invoke(app, ["reconstruct", str(bad), "-o", str(tmp_path / "s"), "--weights", str(tiny_weights)])
    assert res.exit_code == 2
    assert "notes.txt" in res.output and "not an image or video" in res.output
    assert not (tmp_path / "s").exists()
