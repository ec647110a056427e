"""The latent Gaussian decoder: shapes, config round trip, ray placement, pruning, block patterns."""

import math

import numpy as np
import pytest
import torch

from genscene.cameras.cameras import Cameras
from genscene.geometry.gaussians import Gaussians
from genscene.models.gaussian_decoder import (
    DEPTH,
    GAUSSIAN_CHANNELS,
    OFFSET,
    GaussianDecoderConfig,
    LatentGaussianDecoder,
    prune_by_opacity,
)
from genscene.rotations import quat_to_rotmat

pytest.importorskip("transformers")  # the Mamba-2 mixer (extra "decoder")

C = 4


def _config(**kw) -> GaussianDecoderConfig:
    kw = {"latent_channels": C, "hidden": 32, "blocks": "tmm", "heads": 2, "mamba_head_dim": 16, "mamba_state": 8,
          "mamba_chunk": 16, "keep_fraction": 1.0, **kw}
    return GaussianDecoderConfig(**kw)


def _inputs(b=1, v=2, length=2, h=2, w=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, v, C, length, h, w, generator=g), torch.randn(b, v, 2 * C, length, h, w, generator=g)


def _cameras(b, v, t, height, width, seed=0) -> Cameras:
    g = torch.Generator().manual_seed(seed)
    fx = 20 + 10 * torch.rand(b, v, t, generator=g)
    K = torch.zeros(b, v, t, 3, 3)
    K[..., 0, 0], K[..., 1, 1], K[..., 0, 2], K[..., 1, 2], K[..., 2, 2] = fx, fx * 1.1, width / 2 + 1, height / 2, 1
    q = torch.nn.functional.normalize(torch.tensor([1.0, 0, 0, 0]) + 0.2 * torch.randn(b, v, t, 4, generator=g), dim=-1)
    w2c = torch.eye(4).repeat(b, v, t, 1, 1)
    w2c[..., :3, :3] = quat_to_rotmat(q)
    w2c[..., :3, 3] = torch.randn(b, v, t, 3, generator=g)
    return Cameras(K, w2c, width, height)


def test_shapes_of_raw_channels_and_gaussians():
    model = LatentGaussianDecoder(_config())
    lat, plk = _inputs(b=2, v=2, length=2, h=2, w=4)
    raw = model(lat, plk)
    assert raw.shape == (2, 2, 5, 16, 32, GAUSSIAN_CHANNELS)  # T = 1 + 4 (L - 1), 8x spatial
    g = model.gaussians(raw, _cameras(2, 2, 5, 16, 32), keep_fraction=0.25)
    assert len(g) == 2 and all(len(x) == 2 * 5 * 16 * 32 // 4 for x in g)
    assert all(torch.isfinite(x.means).all() and (x.scales > 0).all() for x in g)
    coarse = LatentGaussianDecoder(_config(pixels_per_gaussian=4))
    assert coarse(lat, plk).shape == (2, 2, 5, 4, 8, GAUSSIAN_CHANNELS)


def test_missing_plucker_latents_are_refused_and_optional_when_switched_off():
    lat, _ = _inputs()
    with pytest.raises(ValueError, match="plucker_latents"):
        LatentGaussianDecoder(_config())(lat)
    assert LatentGaussianDecoder(_config(use_plucker=False))(lat).shape[-1] == GAUSSIAN_CHANNELS


def test_config_and_weights_round_trip(tmp_path):
    torch.manual_seed(0)
    model = LatentGaussianDecoder(_config(blocks="mt", pixels_per_gaussian=2)).eval()
    model.save_pretrained(tmp_path / "dec")
    again = LatentGaussianDecoder.from_pretrained(tmp_path / "dec").eval()
    assert again.config == model.config
    lat, plk = _inputs()
    with torch.no_grad():
        assert torch.equal(model(lat, plk), again(lat, plk))


def test_forced_depth_puts_gaussians_on_the_camera_rays_at_that_depth():
    cfg = _config()
    model = LatentGaussianDecoder(cfg)
    depth = 2.5
    with torch.no_grad():  # depth and offset channels ignore the tokens: constant depth, no offset
        model.head.weight[:, DEPTH].zero_()
        model.head.weight[:, OFFSET].zero_()
        model.head.bias[DEPTH] = math.log((depth - cfg.near) / (cfg.far - depth))
        model.head.bias[OFFSET] = 0.0
    lat, plk = _inputs(b=1, v=2, length=1, h=2, w=4)
    height, width = 16, 32
    cams = _cameras(1, 2, 1, height, width, seed=3)
    raw = model(lat, plk)
    means = model.gaussians(raw, cams, keep_fraction=1.0)[0].means.detach().double().numpy()
    expect = []
    K, c2w = cams.K.double().numpy(), torch.linalg.inv(cams.w2c.double()).numpy()
    for v in range(2):
        u, vv = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
        pix = np.stack([u, vv, np.ones_like(u)], -1).reshape(-1, 3)
        cam = (np.linalg.inv(K[0, v, 0]) @ pix.T).T * depth
        expect.append(cam @ c2w[0, v, 0, :3, :3].T + c2w[0, v, 0, :3, 3])
    np.testing.assert_allclose(means, np.concatenate(expect), atol=1e-4)


def test_pruning_keeps_exactly_the_top_fraction_by_opacity():
    n = 50
    opac = torch.randperm(n).float() / n + 0.01
    g = Gaussians(torch.randn(n, 3), torch.tensor([[1.0, 0, 0, 0]]).repeat(n, 1), torch.ones(n, 3) * 0.1, opac,
                  torch.rand(n, 3))
    kept = prune_by_opacity(g, 0.2)
    assert len(kept) == 10
    assert set(kept.opacities.tolist()) == set(torch.sort(opac, descending=True).values[:10].tolist())
    assert len(prune_by_opacity(g, 1.0)) == n and len(prune_by_opacity(g, 0.001)) == 1
    with pytest.raises(ValueError):
        prune_by_opacity(g, 0.0)


def test_block_patterns_hybrid_and_transformer_only():
    hybrid = LatentGaussianDecoder(_config(blocks="tmmmmmmm" * 2))
    assert hybrid.block_kinds == (["transformer"] + ["mamba2"] * 7) * 2
    only = LatentGaussianDecoder(_config(blocks="tttt"))
    assert only.block_kinds == ["transformer"] * 4
    lat, plk = _inputs()
    raw = only(lat, plk)
    raw.mean().backward()
    assert only.patchify.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="blocks"):
        LatentGaussianDecoder(_config(blocks="tx"))


def test_every_trajectory_sees_the_others():
    torch.manual_seed(0)
    model = LatentGaussianDecoder(_config(blocks="tm")).eval()
    lat, plk = _inputs(v=2)
    changed = lat.clone()
    changed[:, 1] += 1.0
    with torch.no_grad():
        a, b = model(lat, plk), model(changed, plk)
    assert not torch.allclose(a[:, 0], b[:, 0])  # trajectory 0's Gaussians depend on trajectory 1's latents


def test_default_config_is_small():
    params = sum(p.numel() for p in LatentGaussianDecoder(GaussianDecoderConfig()).parameters())
    assert params <= 3_000_000
