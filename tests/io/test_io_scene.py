"""Scene folder: full round trip, atomicity under injected failure, validation of broken folders."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

import genscene.io.scene as scene_io
from genscene.cameras.cameras import Cameras, intrinsics_matrix
from genscene.errors import InputError
from genscene.geometry.gaussians import Gaussians
from genscene.io.cameras_json import load_cameras_json, save_cameras_json
from genscene.io.depth import read_depth_png, read_depth_scale
from genscene.io.scene import Scene, read_scene, write_scene

T, H, W = 3, 12, 15


def _cameras(seed: int = 0) -> Cameras:
    R = torch.from_numpy(Rotation.random(T, random_state=seed).as_matrix())
    t = torch.from_numpy(np.random.default_rng(seed).normal(size=(T, 3)))
    K = intrinsics_matrix(torch.tensor([14.0, 15.5, 13.25]), 14.5, 7.25, 6.0)
    return Cameras.from_Rt(K, R, t, W, H)


def _scene() -> Scene:
    g = torch.Generator().manual_seed(0)
    depths = torch.rand(T, H, W, generator=g) * 5 + 0.5
    depths[0, 0, 0] = 0.0  # invalid pixels stay invalid
    return Scene(
        frames=torch.randint(0, 256, (T, 3, H, W), generator=g).float() / 255,
        cameras=_cameras(),
        depths=depths,
        confidence=torch.rand(T, H, W, generator=g),
        points=(torch.randn(40, 3, generator=g), torch.randint(0, 256, (40, 3), generator=g).float() / 255),
        gaussians=Gaussians(
            means=torch.randn(25, 3, generator=g),
            quats=torch.nn.functional.normalize(torch.randn(25, 4, generator=g), dim=-1),
            scales=torch.rand(25, 3, generator=g) + 0.01,
            opacities=torch.rand(25, generator=g) * 0.9 + 0.05,
            colors=torch.rand(25, 3, generator=g),
            sh_rest=torch.randn(25, 3, 3, generator=g),
        ),
        meta={"inputs": {"image": "in.png"}, "seeds": {"sampler": 7}, "timings_s": {"total": 1.5}},
        fps=12.0,
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    scene = _scene()
    path = write_scene(tmp_path_factory.mktemp("scenes") / "out", scene, colmap=True)
    return scene, path


def test_full_round_trip(written):
    scene, path = written
    back = read_scene(path)
    assert back.cameras.allclose(scene.cameras, atol=1e-6)
    assert torch.equal(back.frames, scene.frames)
    assert torch.equal(back.depths, scene.depths)  # npz is exact
    assert torch.equal(back.confidence, scene.confidence)
    assert torch.equal(back.points[0], scene.points[0]) and torch.equal(back.points[1], scene.points[1])
    assert torch.equal(back.gaussians.means, scene.gaussians.means)
    assert torch.equal(back.gaussians.sh_rest, scene.gaussians.sh_rest)
    for name in ("quats", "scales", "opacities", "colors"):
        torch.testing.assert_close(getattr(back.gaussians, name), getattr(scene.gaussians, name),
                                   rtol=1e-6, atol=1e-7)
    assert back.fps == 12.0
    assert {k: back.meta[k] for k in scene.meta} == scene.meta
    assert back.meta["versions"]["torch"] == torch.__version__


def test_depth_png_within_quantisation(written):
    scene, path = written
    scale = read_depth_scale(path / "depth")
    assert scale == pytest.approx(float(scene.depths.max()) / 65535)
    for i in range(T):
        png = read_depth_png(path / "depth" / f"{i:05d}.png", scale)
        assert (png - scene.depths[i]).abs().max() <= scale / 2 + 1e-6
    assert read_depth_png(path / "depth" / "00000.png", scale)[0, 0] == 0


def test_folder_layout_and_interchange_files(written):
    from genscene.cameras.formats.colmap import load_colmap
    from genscene.cameras.formats.nerfstudio import load_transforms

    scene, path = written
    expected = {"video.mp4", "cameras.json", "transforms.json", "points.ply", "gaussians.ply", "meta.json",
                "frames", "depth", "depth_preview", "sparse"}
    assert {p.name for p in path.iterdir()} == expected
    assert not [p for p in path.parent.iterdir() if p.name != "out"]  # no temporary siblings left
    meta = json.loads((path / "meta.json").read_text())
    assert (meta["num_frames"], meta["width"], meta["height"]) == (T, W, H)
    assert json.loads((path / "cameras.json").read_text())["convention"] == "opencv_w2c"

    ns_cams, images, depths = load_transforms(path / "transforms.json")
    assert ns_cams.allclose(scene.cameras, atol=1e-6)
    assert images == [f"frames/{i:05d}.png" for i in range(T)]
    assert depths == [f"depth/{i:05d}.png" for i in range(T)]
    colmap_cams, names = load_colmap(path / "sparse" / "0")
    assert colmap_cams.allclose(scene.cameras, atol=1e-6) and names == [f"{i:05d}.png" for i in range(T)]


def test_minimal_scene_without_optional_parts(tmp_path):
    scene = Scene(frames=torch.zeros(2, 3, 5, 7), cameras=Cameras.from_fov(50, 7, 5, batch_shape=(2,)))
    back = read_scene(write_scene(tmp_path / "s", scene))
    assert back.depths is None and back.points is None and back.gaussians is None
    assert not (tmp_path / "s" / "sparse").exists()
    assert "depth_file_path" not in (tmp_path / "s" / "transforms.json").read_text()
    assert torch.equal(back.frames, scene.frames) and back.frames.shape == (2, 3, 5, 7)


def test_failure_mid_write_leaves_no_folder(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(scene_io, "write_gaussians_ply", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_scene(tmp_path / "new", _scene())
    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_the_old_scene(tmp_path, monkeypatch):
    small = Scene(frames=torch.zeros(1, 3, 4, 4), cameras=Cameras.from_fov(50, 4, 4, batch_shape=(1,)))
    write_scene(tmp_path / "s", small)
    with pytest.raises(InputError, match="already exists"):
        write_scene(tmp_path / "s", _scene())
    monkeypatch.setattr(scene_io, "write_points_ply", lambda *a, **k: (_ for _ in ()).throw(OSError("boom")))
    with pytest.raises(OSError, match="boom"):
        write_scene(tmp_path / "s", _scene(), overwrite=True)
    assert read_scene(tmp_path / "s").num_frames == 1
    assert [p.name for p in tmp_path.iterdir()] == ["s"]
    monkeypatch.undo()
    assert read_scene(write_scene(tmp_path / "s", _scene(), overwrite=True)).num_frames == T


@pytest.fixture
def copy(written, tmp_path):
    return shutil.copytree(written[1], tmp_path / "copy")


def test_corrupt_cameras_json_names_file_and_field(copy):
    data = json.loads((copy / "cameras.json").read_text())
    data["frames"][1]["w2c"] = data["frames"][1]["w2c"][:3]
    (copy / "cameras.json").write_text(json.dumps(data))
    with pytest.raises(InputError) as err:
        read_scene(copy)
    assert str(err.value).startswith(str(copy / "cameras.json")) and "frames[1].w2c" in str(err.value)
    (copy / "cameras.json").write_text('{"convention": "opencv_w2c", "width": 15,')
    with pytest.raises(InputError, match=r"cameras.json: invalid JSON"):
        read_scene(copy)


def test_wrong_convention_and_non_rotation(tmp_path):
    save_cameras_json(tmp_path / "c.json", _cameras(), ["a.png", "b.png", "c.png"])
    cams, images = load_cameras_json(tmp_path / "c.json")
    assert cams.allclose(_cameras(), atol=0) and images == ["a.png", "b.png", "c.png"]
    data = json.loads((tmp_path / "c.json").read_text())
    data["frames"][2]["w2c"][0][0] = 3.0
    (tmp_path / "c.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"c.json: frames\[2\].w2c: rotation is not orthonormal"):
        load_cameras_json(tmp_path / "c.json")
    data["convention"] = "opengl_c2w"
    (tmp_path / "c.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match="c.json: convention"):
        load_cameras_json(tmp_path / "c.json")


def test_mismatched_frame_counts_name_the_file(copy):
    (copy / "depth" / "00002.npz").unlink()
    with pytest.raises(InputError, match=r"depth: holds 2 \*.npz files but cameras.json has 3 frames"):
        read_scene(copy)
    shutil.copy(copy / "frames" / "00000.png", copy / "frames" / "00009.png")
    with pytest.raises(InputError, match=r"frames: holds 4 \*.png files"):
        read_scene(copy)
    (copy / "frames" / "00009.png").unlink()
    (copy / "frames" / "00001.png").unlink()
    with pytest.raises(InputError, match="frames"):
        read_scene(copy)


def test_missing_files_and_meta_mismatch(copy, tmp_path):
    meta = json.loads((copy / "meta.json").read_text())
    meta["num_frames"] = 5
    (copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="meta.json: num_frames: is 5 but cameras.json has 3"):
        read_scene(copy)
    (copy / "meta.json").unlink()
    with pytest.raises(InputError, match="meta.json: file not found"):
        read_scene(copy)
    with pytest.raises(InputError, match="scene folder not found"):
        read_scene(tmp_path / "nowhere")


def test_depth_previews_are_colour_mapped_beside_the_data_and_never_read_back(tmp_path):
    from matplotlib import colormaps
    from PIL import Image

    scene = _scene()
    depths = torch.full((T, H, W), 2.0)
    depths[:, :, :5] = 1.0   # near third of every frame
    depths[:, :, 10:] = 4.0  # far third
    depths[1, 0, 0] = 0.0    # an invalid pixel
    scene.depths, scene.confidence = depths, None
    path = write_scene(tmp_path / "s", scene)
    meta = json.loads((path / "meta.json").read_text())["depth_preview"]
    assert (meta["folder"], meta["colormap"]) == ("depth_preview", "turbo")
    assert (meta["near"], meta["far"]) == (1.0, 4.0)  # 2nd and 98th percentiles of the valid depths
    assert sorted(p.name for p in (path / "depth_preview").iterdir()) == [f"{i:05d}.png" for i in range(T)]
    rgb = np.asarray(Image.open(path / "depth_preview" / "00001.png"))
    assert rgb.shape == (H, W, 3) and rgb.dtype == np.uint8
    turbo = lambda t: np.round(np.asarray(colormaps["turbo"](t))[:3] * 255).astype(np.uint8)  # noqa: E731
    # inverse depth: 1/2 sits at t = (1/2 - 1/4) / (1 - 1/4) = 1/3 of the way from far to near
    for (y, x), t in (((5, 0), 1.0), ((5, 7), 1 / 3), ((5, 14), 0.0)):
        np.testing.assert_array_equal(rgb[y, x], turbo(t))
    assert rgb[5, 0, 0] > rgb[5, 0, 2] and rgb[5, 14, 2] > rgb[5, 14, 0]  # near is warm (red), far is cold
    np.testing.assert_array_equal(rgb[0, 0], [0, 0, 0])  # invalid: black
    back = read_scene(path)
    assert torch.equal(back.depths, depths)  # the 16-bit data and npz are what loaders read


def test_far_background_points_go_to_their_own_file_and_meta_says_so(tmp_path):
    from genscene.io.ply import read_points_ply

    scene = _scene()
    scene.gaussians = None
    centers = scene.cameras.centers.float()
    g = torch.Generator().manual_seed(1)
    # 90 points about 1 from camera 0, and 10 points 390 away from every camera
    near = centers[0] + torch.nn.functional.normalize(torch.randn(90, 3, generator=g), dim=-1)
    far = centers.mean(0) + torch.nn.functional.normalize(torch.randn(10, 3, generator=g), dim=-1) * 390.0
    xyz = torch.cat([near, far])
    rgb = torch.rand(100, 3, generator=g)
    scene.points = (xyz, rgb)
    path = write_scene(tmp_path / "s", scene)
    kept, apart = read_points_ply(path / "points.ply"), read_points_ply(path / "points_far.ply")
    torch.testing.assert_close(kept["xyz"], near)
    torch.testing.assert_close(apart["xyz"], far)
    record = json.loads((path / "meta.json").read_text())["points"]
    assert (record["count"], record["far_count"], record["far_file"]) == (90, 10, "points_far.ply")
    dist = torch.cdist(xyz.double(), centers.double()).amin(1)
    assert record["far_threshold"] == pytest.approx(10 * float(dist.median()))
    assert scene_io.points_summary(path).startswith("90 points + 10 far background points apart in points_far.ply")
    back = read_scene(path)  # the scene in memory keeps every point: near ones first
    torch.testing.assert_close(back.points[0], xyz)


def test_a_scene_without_far_points_writes_no_far_file(written):
    _, path = written
    assert not (path / "points_far.ply").exists()
    record = json.loads((path / "meta.json").read_text())["points"]
    assert (record["count"], record["far_count"], record["far_file"]) == (40, 0, None)
