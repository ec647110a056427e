"""``genscene scene``: one photo -> a scene folder with fitted Gaussians, checked from the files alone."""

import json
import sys

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from genscene.cli import app

TINY = ["--size", "32", "--frames", "5", "--steps", "1", "--fit-steps", "3", "--seed", "1"]
FILES = ("video.mp4", "render.mp4", "cameras.json", "transforms.json", "points.ply", "gaussians.ply", "preview.png",
         "meta.json")
INRIA = ("x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
         "rot_0", "rot_1", "rot_2", "rot_3")


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    """A smooth photo (a gradient with a bright square): the geometry net sees some structure."""
    path = tmp_path_factory.mktemp("photo") / "photo.png"
    y, x = np.mgrid[0:48, 0:64] / 64.0
    rgb = np.stack([x, y, 0.5 * (x + y)], -1)
    rgb[10:30, 20:40] = (0.9, 0.8, 0.2)
    Image.fromarray((rgb * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def scene(photo, tmp_path_factory):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("scene") / "out"
    done = CliRunner().invoke(app, ["scene", str(photo), "-o", str(out), *TINY])
    torch.set_num_threads(threads)
    assert done.exit_code == 0, done.output
    return out, done.output


def test_the_folder_holds_every_file_of_every_view(scene):
    out, output = scene
    assert output.strip().splitlines()[-1].startswith(f"wrote {out}: 9 views from 2 clips (lyra_left, lyra_right)")
    for name in FILES:
        assert (out / name).is_file(), name
    assert len(list((out / "frames").glob("*.png"))) == 9 and len(list((out / "depth").glob("*.npz"))) == 9
    meta = json.loads((out / "meta.json").read_text())
    assert meta["width"] == meta["height"] == 32 and meta["num_frames"] == 9
    assert meta["clips"] == [{"trajectory": "lyra_left", "views": [0, 5]}, {"trajectory": "lyra_right", "views": [5, 9]}]
    assert set(meta["timings_s"]) >= {"input_geometry", "generate", "geometry", "fit", "render", "total"}
    assert meta["cpu_time_s"] > 0 and meta["peak_memory"]["cpu_max_rss_mib"] > 0
    assert meta["fit"]["steps"] == 3 and meta["seeds"] == {"noise": 1}


def test_gaussians_ply_has_the_inria_fields_and_every_fitted_gaussian(scene):
    from plyfile import PlyData

    out, _ = scene
    vertex = PlyData.read(str(out / "gaussians.ply"))["vertex"]
    names = {p.name for p in vertex.properties}
    assert set(INRIA) <= names
    meta = json.loads((out / "meta.json").read_text())
    assert vertex.count == meta["fit"]["gaussians"] > 0


def test_gaussians_sit_on_frame_zero_depth(scene):
    """Independent of genscene's projection: x = K [R|t] X with numpy, from cameras.json and depth/00000.npz.

    The surface frame 0 sees (the nearest Gaussian in each pixel) must lie near frame 0's exported depth. Not
    exactly: one sampling step at 32 px gives the other views a depth that disagrees (it lies about 20% behind),
    and the init voxels (4% of the median depth) average frame 0's points with theirs. A misplaced cloud (a
    wrong axis, K or unit) would miss the image or the depth by far more.
    """
    from plyfile import PlyData

    out, _ = scene
    cams = json.loads((out / "cameras.json").read_text())
    assert cams["convention"] == "opencv_w2c"
    K, w2c = np.array(cams["frames"][0]["K"]), np.array(cams["frames"][0]["w2c"])
    vertex = PlyData.read(str(out / "gaussians.ply"))["vertex"]
    X = np.stack([vertex["x"], vertex["y"], vertex["z"]], -1).astype(np.float64)
    cam = X @ w2c[:3, :3].T + w2c[:3, 3]
    z = cam[:, 2]
    uv = (cam @ K.T)[:, :2] / np.where(z > 0, z, 1.0)[:, None]
    w, h = cams["width"], cams["height"]
    inside = (z > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
    assert inside.mean() > 0.6  # the clips move a fifth of the median depth: most of the scene stays in view
    col, row = np.floor(uv[inside]).astype(int).T  # pixel centres at +0.5: pixel i covers [i, i + 1)
    z, pixel = z[inside], row * w + col
    order = np.lexsort((z, pixel))  # by pixel, nearest first
    nearest = order[np.r_[True, pixel[order][1:] != pixel[order][:-1]]]
    assert len(nearest) > 0.8 * w * h  # frame 0 is covered
    depth = np.load(out / "depth" / "00000.npz")["depth"]
    target = depth[row[nearest], col[nearest]]
    rel = np.abs(z[nearest] - target)[target > 0] / target[target > 0]
    assert np.median(rel) < 0.2 and (rel < 0.3).mean() > 0.6


def test_a_second_run_is_refused_then_replaced_with_overwrite(scene, photo, one_thread):
    out, _ = scene
    before = (out / "meta.json").read_text()
    again = CliRunner().invoke(app, ["scene", str(photo), "-o", str(out), *TINY])
    assert again.exit_code == 2 and "already exists" in again.output
    assert len(again.output.strip().splitlines()) == 1 and (out / "meta.json").read_text() == before
    replaced = CliRunner().invoke(app, ["scene", str(photo), "-o", str(out), *TINY, "--fit-steps", "1",
                                        "--trajectories", "lyra_up", "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    meta = json.loads((out / "meta.json").read_text())
    assert meta["fit"]["steps"] == 1 and meta["num_frames"] == 5 and (out / "gaussians.ply").is_file()


@pytest.mark.parametrize("args, word", [
    (["missing.png"], "file not found"),
    (["not_an_image.png"], "not_an_image.png"),
    (["PHOTO", "--trajectories", "lyra_left,sideways"], "'sideways'"),
    (["PHOTO", "--guidance", "nan"], "--guidance"),
    (["PHOTO", "--size", "40"], "multiple of 16"),
    (["PHOTO", "--frames", "0"], "--frames"),
    (["PHOTO", "--device", "tpu"], "--device"),
    (["PHOTO", "--route", "mesh"], "--route"),
    (["PHOTO", "--route", "decoder", "--decoder-weights", "no_such_folder"], "no_such_folder"),
    (["PHOTO", "--decoder-weights", "weights/decoder"], "--route decoder"),
])
def test_bad_input_is_one_line_and_writes_nothing(args, word, photo, tmp_path, monkeypatch, capsys):
    """Through the real entry point, where typer's own range errors become one line too."""
    from genscene.cli import main

    (tmp_path / "not_an_image.png").write_text("no pixels here")
    image = str(photo) if args[0] == "PHOTO" else str(tmp_path / args[0])
    out = tmp_path / "scene"
    monkeypatch.setattr(sys, "argv", ["genscene", "scene", image, "-o", str(out), *TINY, *args[1:]])
    with pytest.raises(SystemExit) as done:
        main()
    captured = capsys.readouterr()
    lines = [line for line in (captured.out + captured.err).splitlines() if line.strip()]
    assert done.value.code == 2 and len(lines) == 1 and word in lines[0], lines
    assert not out.exists()


def test_the_decoder_route_writes_every_decoded_gaussian(photo, tmp_path, one_thread):
    """``--route decoder`` with a random tiny decoder saved to a folder: the ply holds what the meta counts."""
    pytest.importorskip("transformers")
    import torch
    from plyfile import PlyData

    from genscene.models.gaussian_decoder import GaussianDecoderConfig, LatentGaussianDecoder

    torch.manual_seed(0)
    LatentGaussianDecoder(GaussianDecoderConfig(hidden=32, blocks="tm", heads=2, mamba_head_dim=16, mamba_state=8,
                                                mamba_chunk=16, pixels_per_gaussian=2, image_size=32)
                          ).save_pretrained(tmp_path / "decoder")
    out = tmp_path / "scene"
    done = CliRunner().invoke(app, ["scene", str(photo), "-o", str(out), *TINY, "--route", "decoder",
                                    "--decoder-weights", str(tmp_path / "decoder")])
    assert done.exit_code == 0, done.output
    wrote = [line for line in done.output.splitlines() if line.startswith("wrote")]  # transformers logs too
    assert len(wrote) == 1 and "Gaussians (decoder, PSNR at the views" in wrote[0]
    meta = json.loads((out / "meta.json").read_text())
    assert meta["route"] == "decoder" and meta["inputs"]["decoder_weights"] == str(tmp_path / "decoder")
    assert meta["decoder"]["gaussians"] == round(0.2 * 2 * 5 * 16 * 16)  # the top 20% of one per 2x2 pixels
    assert PlyData.read(str(out / "gaussians.ply"))["vertex"].count == meta["decoder"]["gaussians"]
    assert (out / "render.mp4").is_file()
