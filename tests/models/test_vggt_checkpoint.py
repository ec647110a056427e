"""Loading VGGT weights in the release's layout: safetensors or a ``.pt`` state dict (never unpickling
code), the tracking head's tensors skipped, every other name and shape required; and ``reconstruct
--weights FILE`` end to end on a reduced configuration standing in for VGGT-1B."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file
from typer.testing import CliRunner

from genscene.cli import app
from genscene.commands.checkpoints import is_vggt, load_geometry
from genscene.errors import InputError
from genscene.io.images import write_image
from genscene.io.scene import read_scene
from genscene.models.geometry import GeometryNet, GeometryNetConfig
from genscene.models.vggt import VGGT, VGGTConfig
from genscene.models.vggt import checkpoint as ckpt_mod
from genscene.models.vggt.checkpoint import is_vggt_checkpoint, load_vggt

SMALL = VGGTConfig(img_size=70, embed_dim=32, depth=2, num_heads=2, dino_depth=1, dino_heads=2, camera_depth=1,
                   camera_heads=2, dpt_features=8, dpt_channels=(4, 8, 8, 8), dpt_layers=(0, 0, 1, 1))


class NotATensor:
    """Anything a full unpickle would construct."""


@pytest.fixture(scope="module")
def release_state():
    torch.manual_seed(0)
    state = {k: v.clone() for k, v in VGGT(SMALL).state_dict().items()}
    state["track_head.tracker.query_ref_token"] = torch.randn(1, 2, 100)  # present in the release, unused here
    return state


def test_safetensors_and_pt_load_the_same_model(tmp_path, release_state):
    st, pt = tmp_path / "model.safetensors", tmp_path / "model.pt"
    save_file(release_state, st)
    torch.save(release_state, pt)
    for file in (st, pt):
        assert is_vggt_checkpoint(file)
        model = load_vggt(file, config=SMALL)
        loaded = model.state_dict()
        assert set(loaded) == {k for k in release_state if not k.startswith("track_head.")}
        assert all(torch.equal(loaded[k], release_state[k]) for k in loaded)
        assert not model.training
    assert is_vggt_checkpoint(tmp_path)  # the folder: model.safetensors first


def test_pickled_code_is_refused_without_running_it(tmp_path, release_state):
    bad = tmp_path / "model.pt"
    torch.save({**release_state, "extra": NotATensor()}, bad)
    with pytest.raises(InputError, match="without running pickled code"):
        load_vggt(bad, config=SMALL)
    assert not is_vggt_checkpoint(bad)


def test_missing_or_misshapen_tensors_are_named(tmp_path, release_state):
    state = dict(release_state)
    del state["camera_head.trunk_norm.bias"]
    save_file(state, tmp_path / "a.safetensors")
    with pytest.raises(InputError, match="missing, first 'camera_head.trunk_norm.bias'"):
        load_vggt(tmp_path / "a.safetensors", config=SMALL)
    state = {**release_state, "depth_head.norm.weight": torch.ones(3)}
    save_file(state, tmp_path / "b.safetensors")
    with pytest.raises(InputError, match="'depth_head.norm.weight' has shape \\[3\\]"):
        load_vggt(tmp_path / "b.safetensors", config=SMALL)
    # the published configuration is the default: a small file is not VGGT-1B
    with pytest.raises(InputError, match="not VGGT-1B weights"):
        save_file(release_state, tmp_path / "c.safetensors")
        load_vggt(tmp_path / "c.safetensors")


def test_non_finite_weights_are_refused(tmp_path, release_state):
    state = {k: v.clone() for k, v in release_state.items()}
    state["aggregator.camera_token"][0, 0, 0, 0] = float("nan")
    save_file(state, tmp_path / "nan.safetensors")
    with pytest.raises(InputError, match="NaN or infinite"):
        load_vggt(tmp_path / "nan.safetensors", config=SMALL)


def test_genscene_folders_are_not_taken_for_vggt(tmp_path):
    folder = GeometryNet(GeometryNetConfig(dim=16, depth=1, heads=2, head_layers=(0,), head_dim=8)
                         ).save_pretrained(tmp_path / "geo")
    assert not is_vggt(folder)
    assert isinstance(load_geometry(folder), GeometryNet)
    saved = VGGT(SMALL).save_pretrained(tmp_path / "vggt")
    assert not is_vggt(saved) and isinstance(load_geometry(saved), VGGT)
    (tmp_path / "x.png").write_bytes(b"not weights")
    with pytest.raises(InputError, match="not a checkpoint"):
        load_geometry(tmp_path / "x.png")


def test_reconstruct_cli_runs_vggt_weights(tmp_path, release_state, monkeypatch):
    """The command with ``--weights model.safetensors``: VGGT is detected by its tensor names and run at
    518 px on the long side unless --size says otherwise (here a reduced VGGT stands in for the 1B one)."""
    monkeypatch.setattr(ckpt_mod, "VGGTConfig", lambda: SMALL)
    weights = tmp_path / "model.safetensors"
    save_file(release_state, weights)
    files = []
    for i in range(2):
        files.append(tmp_path / f"v{i}.png")
        write_image(files[-1], torch.rand(3, 60, 80, generator=torch.Generator().manual_seed(i)))
    for extra, hw in (([], (392, 518)), (["--size", "112"], (84, 112))):
        out = tmp_path / f"scene{hw[1]}"
        res = CliRunner().invoke(app, ["reconstruct", *map(str, files), "-o", str(out), "--weights", str(weights),
                                       "--device", "cpu", *extra])
        assert res.exit_code == 0, res.output
        scene = read_scene(out)
        assert scene.frames.shape == (2, 3, *hw)
        assert scene.depths.shape == (2, *hw) and torch.all(scene.depths > 0)
        assert torch.allclose(scene.cameras.w2c[0], torch.eye(4, dtype=scene.cameras.w2c.dtype), atol=1e-6)
        assert scene.cameras.width == hw[1] and scene.cameras.height == hw[0]
        meta = json.loads((out / "meta.json").read_text())
        assert meta["inputs"]["weights"] == str(weights) and meta["network_size"] == list(hw)


def test_reconstruct_refuses_vggt_inputs_beyond_the_memory_budget(tmp_path, release_state, monkeypatch):
    """The estimate (weights apart) at 518 px: 2 views need about 1.1 GB; with 1 GB allowed the command
    refuses in one line before loading anything, and writes nothing."""
    monkeypatch.setattr(ckpt_mod, "VGGTConfig", lambda: SMALL)
    monkeypatch.setenv("GENSCENE_MAX_MEMORY_GB", "1")
    weights = tmp_path / "model.safetensors"
    save_file(release_state, weights)
    files = []
    for i in range(2):
        files.append(tmp_path / f"v{i}.png")
        write_image(files[-1], torch.rand(3, 60, 80))
    out = tmp_path / "scene"
    res = CliRunner().invoke(app, ["reconstruct", *map(str, files), "-o", str(out), "--weights", str(weights)])
    assert res.exit_code == 2
    assert "2 images" in res.output and "--size 518" in res.output and "GB" in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not out.exists()
