"""Dataset items, scene-folder writing, mesh export re-rendered, and the CLI."""

import json

import numpy as np
import torch
from typer.testing import CliRunner

from genscene.cameras.cameras import Cameras
from genscene.cli import app
from genscene.io.scene import read_scene
from genscene.render.mesh import load_mesh_parts, render_mesh
from genscene.worlds import make_world
from genscene.worlds.camera_paths import sample_camera_path
from genscene.worlds.dataset import EDGE_ORDER, ClipSpec, WorldClipDataset, WorldDatasetConfig, render_clip, write_clip
from genscene.worlds.export import export_world
from genscene.worlds.render import render


def test_dataset_items_are_deterministic_and_complete():
    ds = WorldClipDataset(WorldDatasetConfig(num_worlds=2, num_frames=3, size=16, families=("tabletop", "street"),
                                             clips_per_world=1, dynamic_fraction=1.0))
    assert len(ds) == 4
    a = ds[1]
    T, H, W = 3, 16, 16
    assert a["rgb"].shape == (T, 3, H, W) and a["depth"].shape == (T, H, W)
    assert a["normals"].shape == (T, H, W, 3) and a["edges"].shape == (T, 4, H, W)
    assert a["flow"].shape == (T - 1, H, W, 2) and a["flow_valid"].shape == (T - 1, H, W)
    assert a["K"].shape == (T, 3, 3) and a["w2c"].shape == (T, 4, 4)
    assert a["spec"]["family"] == "street" and a["spec"]["dynamic"]
    b = ds[1]
    assert torch.equal(a["rgb"], b["rgb"]) and torch.equal(a["flow"], b["flow"])


def test_write_clip_round_trips_through_the_scene_reader(tmp_path):
    clip = render_clip(ClipSpec("tabletop", 1, "gen3c_left", 0), num_frames=3, size=16)
    out = write_clip(tmp_path / "clip", clip)
    scene = read_scene(out)
    assert scene.frames.shape == (3, 3, 16, 16)
    assert (scene.frames - clip["rgb"]).abs().max() <= 0.5 / 255 + 1e-6
    torch.testing.assert_close(scene.depths, clip["depth"], atol=1e-6, rtol=0)
    assert scene.cameras.allclose(Cameras(clip["K"].double(), clip["w2c"].double(), 16, 16), atol=1e-5)
    gt = np.load(out / "gt" / "gt.npz", allow_pickle=False)
    assert list(gt["edge_order"]) == list(EDGE_ORDER)
    assert np.array_equal(gt["instance"], clip["instance"].numpy()) and gt["flow"].shape == (2, 16, 16, 2)
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temporary leftovers


def test_exported_mesh_rerenders_like_the_analytic_world(tmp_path):
    world = make_world("tabletop", 2)
    path = export_world(world, tmp_path / "world.glb")
    parts = load_mesh_parts(path)
    cams = sample_camera_path(world, "orbit", 2, 32, seed=0).cameras
    ana = render(world, cams, edges=False)
    ref = render_mesh(parts.vertices, parts.faces, cams)
    assert (ana["mask"] == ref["mask"]).float().mean() > 0.995
    both = ana["mask"] & ref["mask"]
    rel = ((ana["depth"] - ref["depth"].float()).abs() / ana["depth"].clamp_min(1e-6))[both]
    assert rel.median() < 1e-4 and (rel < 0.01).float().mean() > 0.98
    cos = (ana["normals"] * ref["normals"].float()).sum(-1)[both]
    assert (cos > 0.99).float().mean() > 0.95
    # Texture export: one image per texture, referenced by the glb; obj writes .mtl + images.
    obj = export_world(world, tmp_path / "obj" / "world.obj")
    assert (obj.parent / "world.mtl").exists() and any(obj.parent.glob("*.png"))
    vert = load_mesh_parts(export_world(world, tmp_path / "vc.glb", colors="vertex"))
    assert vert.vertex_colors is not None and vert.vertex_colors.std() > 0.05


def test_cli_sample_writes_a_scene_and_rejects_bad_input(tmp_path):
    runner = CliRunner()
    out = tmp_path / "scene"
    res = runner.invoke(app, ["worlds", "sample", "--family", "room", "--seed", "7", "--frames", "2", "--res", "16",
                              "--trajectory", "orbit", "-o", str(out), "--device", "cpu"])
    assert res.exit_code == 0, res.output
    meta = json.loads((out / "meta.json").read_text())
    assert meta["num_frames"] == 2 and (out / "gt" / "gt.npz").exists()
    bad = runner.invoke(app, ["worlds", "sample", "--family", "castle", "-o", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "--family" in bad.output and len(bad.output.strip().splitlines()) == 1
    again = runner.invoke(app, ["worlds", "sample", "--frames", "2", "--res", "16", "-o", str(out)])
    assert again.exit_code == 2 and "already exists" in again.output
    assert not (tmp_path / "x").exists()
