"""The generator stage's data: which clips are encoded, the curriculum's order, deterministic batches."""

import math

import pytest
import torch
from scipy.spatial.transform import Rotation

from genscene.train.stages.generator import GeneratorStage, encoded_clip_indices, motion_magnitude


def test_encoded_clips_keep_paths_per_world_and_cover_every_path_kind():
    keep = encoded_clip_indices(clips=36, paths=6, keep=2)
    per_world = [[i % 6 for i in keep if i // 6 == w] for w in range(6)]
    assert all(len(p) == 2 for p in per_world)
    assert sorted(p for ps in per_world for p in ps) == sorted(list(range(6)) * 2)  # each kind twice
    assert encoded_clip_indices(12, 6, 0) == list(range(12)) == encoded_clip_indices(12, 6, 6)


def test_motion_magnitude_is_centre_distance_plus_rotation_angle():
    w2c = torch.eye(4).repeat(2, 3, 1, 1)  # [N=2, T=3]
    R = torch.from_numpy(Rotation.from_rotvec([0, 0.5, 0]).as_matrix()).float()
    w2c[1, 2, :3, :3] = R
    w2c[1, 2, :3, 3] = -R @ torch.tensor([3.0, 0.0, 4.0])  # camera centre at (3, 0, 4)
    got = motion_magnitude(w2c)
    assert got[0] == 0 and math.isclose(float(got[1]), 5.0 + 0.5, rel_tol=1e-5)


@pytest.fixture(scope="module")
def smoke():
    stage = GeneratorStage()
    cfg = stage.config("smoke")
    cfg.data.curriculum_steps, cfg.data.curriculum_start = 10, 0.0
    stage.latent_bank(cfg)
    return stage, cfg


def test_batches_are_deterministic_and_hold_every_condition(smoke, one_thread):
    stage, cfg = smoke
    a = stage.make_batch(cfg, step=3, rank=0, micro=0, device=torch.device("cpu"))
    b = stage.make_batch(cfg, step=3, rank=0, micro=0, device=torch.device("cpu"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    bsz, frames, size = cfg.loop.batch_size, cfg.data.frames, cfg.data.size
    assert a["x0"].shape == (bsz, 16, 2, size // 8, size // 8)
    assert a["plucker"].shape == (bsz, 6, frames, size, size)
    assert a["image_mask"].shape == a["cache_mask"].shape == (bsz, 4, 2, size // 8, size // 8)
    assert torch.all(a["image_mask"][:, :, 0] == 1)  # frame 0 is always given
    assert 0 < a["t"].min() and a["t"].max() < 1


def test_the_curriculum_starts_on_the_smallest_motion(smoke):
    stage, cfg = smoke
    g = torch.Generator().manual_seed(0)
    first = {int(i) for _ in range(20) for i in stage._draw(cfg, 0, g)}
    assert first == {int(stage._order[0])}  # start fraction 0: the single smallest-motion clip
    later = {int(i) for _ in range(50) for i in stage._draw(cfg, cfg.data.curriculum_steps, g)}
    assert later == set(range(len(stage._order)))


def test_an_epipolar_model_trains_on_batches_with_their_masks(smoke, one_thread):
    import dataclasses

    stage, cfg = smoke
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, use_epipolar=True))
    batch = stage.make_batch(cfg, step=0, rank=0, micro=0, device=torch.device("cpu"))
    latent_frames, h, w = batch["x0"].shape[2:]
    n = latent_frames * (h // 2) * (w // 2)
    assert batch["epipolar_mask"].shape == (cfg.loop.batch_size, 1, n, n)
    model = stage.build_model(cfg)
    loss, logs = stage.loss(model, batch)
    loss.backward()
    assert math.isfinite(logs["loss"])
    assert stage.config("epipolar").model.use_epipolar and not stage.config("tiny").model.use_epipolar
