"""The batched geometry targets equal a per-sample reference (the plain formulation, with an independent
NumPy quaternion), and a training batch gathered from the bank in one call equals one built clip by clip."""

import numpy as np
import pytest
import torch

from genscene.eval.geometry_eval import FAR_DEPTH_RATIO, normalized_targets
from genscene.geometry.projection import unproject_depth
from genscene.rotations import rotmat_to_quat_wxyz_np
from genscene.train.clip_bank import build_clip_bank
from genscene.train.stages.geometry import GeometryStage
from genscene.worlds.seeds import seed_range


def reference_targets(rgb, depth, mask, cameras) -> dict:
    """One sample of S views, written plainly: frame-0 camera, far cut at the median, unit mean distance."""
    rel = cameras.relative_to_first()
    valid = mask & (depth > 0)
    if valid.any():
        valid &= depth <= FAR_DEPTH_RATIO * depth[valid].median()
    points = unproject_depth(depth, rel)
    dist = points.norm(dim=-1)[valid]
    scale = dist.mean() if dist.numel() else depth.new_tensor(1.0)
    rel = rel.scale_world(1.0 / float(scale))
    q = torch.from_numpy(rotmat_to_quat_wxyz_np(rel.R.double().numpy()))[..., [1, 2, 3, 0]]
    fov_h = 2 * torch.atan((rel.height / 2) / rel.fy.double())
    fov_w = 2 * torch.atan((rel.width / 2) / rel.fx.double())
    pose_enc = torch.cat([rel.t.double(), q, fov_h[:, None], fov_w[:, None]], -1)
    return {"depth": depth / scale, "points": points / scale, "valid": valid, "pose_enc": pose_enc, "scale": scale}


@pytest.fixture(scope="module")
def bank():
    seeds = seed_range("train", 2)
    return build_clip_bank([("tabletop", seeds[0]), ("room", seeds[1])], paths=2, frames=5, size=24,
                           kinds=("orbit", "random"), device=torch.device("cpu"), workers=0)


def test_batched_targets_match_the_per_sample_reference(bank):
    index = torch.tensor([0, 3, 1])
    picks = torch.tensor([[4, 0, 2], [1, 2, 3], [0, 1, 4]])
    b = bank.gather(index, picks)
    b["mask"][2] = False  # a sample that is all sky: no valid pixel, scale 1
    b["mask"][0, 1, :2] = False  # sky rows whose depth is inf: unsupervised, and the targets stay finite
    b["depth"][0, 1, :2] = torch.inf
    out = normalized_targets(b["rgb"], b["depth"], b["mask"], b["cameras"])
    for i in range(3):
        ref = reference_targets(b["rgb"][i], b["depth"][i], b["mask"][i], b["cameras"][i])
        v = ref["valid"]
        assert torch.equal(out["valid"][i], v)
        assert torch.allclose(out["scale"][i], ref["scale"], rtol=1e-5)
        assert torch.allclose(out["depth"][i][v], ref["depth"][v], rtol=1e-5, atol=1e-6)
        assert torch.allclose(out["points"][i][v], ref["points"][v], rtol=1e-4, atol=1e-5)
        assert (out["depth"][i][~v] == 0).all() and (out["points"][i][~v] == 0).all()
        got, want = out["pose_enc"][i].double(), ref["pose_enc"]
        assert torch.allclose(got[:, [0, 1, 2, 7, 8]], want[:, [0, 1, 2, 7, 8]], atol=1e-5)
        sign = torch.sign((got[:, 3:7] * want[:, 3:7]).sum(-1, keepdim=True))  # q and -q are one rotation
        assert torch.allclose(got[:, 3:7], sign * want[:, 3:7], atol=1e-5)
    assert torch.isfinite(out["depth"]).all() and torch.isfinite(out["points"]).all()
    assert not out["valid"][2].any() and out["scale"][2] == 1.0
    assert out["valid"][:2].any((1, 2, 3)).all()  # the real samples keep supervision
    assert np.allclose(out["pose_enc"][:, 0, :7].numpy(), [0, 0, 0, 0, 0, 0, 1], atol=1e-6)  # frame 0 is the origin


def test_gathered_batch_equals_clip_by_clip(bank):
    index, picks = torch.tensor([2, 0]), torch.tensor([[1, 3], [4, 4]])
    batch = bank.gather(index, picks)
    for j in range(2):
        one = bank.clip(int(index[j]), picks[j])
        for k in ("rgb", "depth", "mask"):
            assert torch.equal(batch[k][j], one[k])
        assert torch.equal(batch["cameras"][j].w2c, one["cameras"].w2c)


def test_make_batch_is_deterministic_and_views_share_a_count(one_thread):
    stage = GeometryStage()
    cfg = stage.config("smoke")
    a = stage.make_batch(cfg, step=3, rank=0, micro=0, device=torch.device("cpu"))
    b = stage.make_batch(cfg, step=3, rank=0, micro=0, device=torch.device("cpu"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    lo, hi = cfg.data.views
    assert a["images"].shape[0] == cfg.loop.batch_size and lo <= a["images"].shape[1] <= hi
    assert a["pose_enc"].shape == (*a["images"].shape[:2], 9)
