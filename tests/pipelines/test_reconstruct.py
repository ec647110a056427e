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


@pytest.fixture(scope="module")
def textured_files(tmp_path_factory):
    from tests.pipelines.textured_scene import arc_cameras, render_views

    folder = tmp_path_factory.mktemp("textured")
    gt = arc_cameras(5, 240, 180)
    images, _ = render_views(gt)
    for i, im in enumerate(images):
        write_image(folder / f"view{i}.png", im)
    return folder, gt


def _run(args):
    return CliRunner().invoke(app, ["reconstruct", *map(str, args), "--device", "cpu", "--size", "64"])


def test_auto_poses_take_colmap_cameras_and_say_so(tmp_path, tiny_weights, textured_files):
    pytest.importorskip("pycolmap", reason="pycolmap absent: pip install 'genscene[colmap]'")
    from genscene.geometry.alignment import align_cameras

    folder, gt = textured_files
    out = tmp_path / "scene"
    res = _run([folder, "-o", out, "--weights", tiny_weights])
    assert res.exit_code == 0, res.output
    assert "cameras: 5 of 5 views from COLMAP" in res.output
    assert "intrinsics: colmap (self-calibrated by bundle adjustment)" in res.output
    meta = json.loads((out / "meta.json").read_text())
    record = meta["poses"]
    assert record["backend"] == "colmap" and record["colmap"]["image_size"] == [180, 240]
    assert [v["camera"] for v in record["views"]] == ["colmap"] * 5
    assert [v["name"] for v in record["views"]] == [f"view{i}.png" for i in range(5)]
    scene = read_scene(out)
    h, w = scene.frames.shape[-2:]
    aligned, _ = align_cameras(scene.cameras, gt.resize(h, w))  # even with a random network: COLMAP's cameras
    torch.testing.assert_close(aligned.c2w[:, :3, 3], gt.c2w[:, :3, 3], atol=0.05, rtol=0)
    assert float(scene.cameras.fx[0]) == pytest.approx(float(gt.resize(h, w).fx[0]), rel=0.05)
    torch.testing.assert_close(scene.cameras.w2c[0], torch.eye(4, dtype=scene.cameras.w2c.dtype), atol=1e-6, rtol=0)


def test_net_poses_skip_colmap(tmp_path, tiny_weights, textured_files):
    folder, _ = textured_files
    out = tmp_path / "scene"
    res = _run([folder, "-o", out, "--weights", tiny_weights, "--poses", "net"])
    assert res.exit_code == 0, res.output
    record = json.loads((out / "meta.json").read_text())["poses"]
    assert record["backend"] == "net" and "colmap" not in record
    assert "not measured" in res.output


def test_intrinsics_file_reaches_the_scene(tmp_path, tiny_weights, textured_files):
    folder, gt = textured_files
    path = tmp_path / "K.json"
    path.write_text(json.dumps({"fx": float(gt.fx[0]), "width": 240, "height": 180}))
    out = tmp_path / "scene"
    res = _run([folder, "-o", out, "--weights", tiny_weights, "--poses", "net", "--intrinsics", path])
    assert res.exit_code == 0, res.output
    scene = read_scene(out)
    assert float(scene.cameras.fx[0]) == pytest.approx(float(gt.fx[0]) * scene.frames.shape[-1] / 240, rel=1e-4)
    assert "intrinsics: file" in res.output


@pytest.mark.parametrize("extra, message", [
    (["--poses", "sfm"], "--poses: expected one of auto, colmap, net, got 'sfm'"),
    (["--intrinsics", "{missing}"], "missing.json: file not found"),
    (["--intrinsics", "{bad}"], "bad.json: intrinsics: 'fx' is required"),
])
def test_reconstruct_flag_errors(tmp_path, tiny_weights, textured_files, extra, message):
    folder, _ = textured_files
    (tmp_path / "bad.json").write_text(json.dumps({"fy": 3}))
    extra = [e.format(missing=tmp_path / "missing.json", bad=tmp_path / "bad.json") for e in extra]
    res = _run([folder, "-o", tmp_path / "s", "--weights", tiny_weights, *extra])
    assert res.exit_code == 2 and message in res.output, res.output
    assert not (tmp_path / "s").exists()


def test_colmap_poses_refuse_one_image(tmp_path, tiny_weights, textured_files):
    folder, _ = textured_files
    res = _run([folder / "view0.png", "-o", tmp_path / "s", "--weights", tiny_weights, "--poses", "colmap"])
    assert res.exit_code == 2 and "--poses colmap: one view" in res.output, res.output
    assert not (tmp_path / "s").exists()
