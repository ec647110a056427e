"""Opacity pruning and one-Gaussian-per-neighbourhood reduction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genscene.geometry.gaussians import Gaussians
from genscene.render.densify import (
    covariance_to_scales_quats,
    one_per_neighbourhood,
    prune_by_opacity,
)
from genscene.rotations import quat_to_rotmat, rotmat_to_quat

F64 = torch.float64


def _random(n: int, seed: int, sh: bool = False) -> Gaussians:
    g = torch.Generator().manual_seed(seed)
    return Gaussians(
        means=torch.randn(n, 3, generator=g, dtype=F64),
        quats=torch.nn.functional.normalize(torch.randn(n, 4, generator=g, dtype=F64), dim=-1),
        scales=torch.rand(n, 3, generator=g, dtype=F64) * 0.5 + 0.05,
        opacities=torch.rand(n, generator=g, dtype=F64) * 0.98 + 0.01,
        colors=torch.rand(n, 3, generator=g, dtype=F64),
        sh_rest=torch.randn(n, 3, 3, generator=g, dtype=F64) if sh else None,
    )


def test_prune_keeps_most_opaque_in_original_order():
    g = _random(10, seed=0)
    g.opacities = torch.tensor([0.1, 0.9, 0.3, 0.8, 0.5, 0.05, 0.95, 0.2, 0.6, 0.4], dtype=F64)
    kept, index = prune_by_opacity(g, keep=3)
    assert index.tolist() == [1, 3, 6]
    assert torch.equal(kept.means, g.means[[1, 3, 6]])
    _, index = prune_by_opacity(g, keep_ratio=0.2)  # Lyra: drop the lowest 80%
    assert index.tolist() == [1, 6]
    _, index = prune_by_opacity(g, min_opacity=0.5)
    assert index.tolist() == [1, 3, 4, 6, 8]
    _, index = prune_by_opacity(g, keep=2, min_opacity=0.85)
    assert index.tolist() == [1, 6]
    _, index = prune_by_opacity(g, keep=20)
    assert index.tolist() == list(range(10))
    with pytest.raises(ValueError):
        prune_by_opacity(g, keep=2, keep_ratio=0.5)


def test_prune_ties_are_deterministic():
    g = _random(6, seed=1)
    g.opacities = torch.tensor([0.5, 0.7, 0.5, 0.7, 0.5, 0.1], dtype=F64)
    _, index = prune_by_opacity(g, keep=3)
    assert index.tolist() == [0, 1, 3]


def test_max_opacity_per_block_matches_naive_loop():
    L, H, W, k = 2, 4, 6, 2
    g = _random(L * H * W, seed=2, sh=True)
    out = one_per_neighbourhood(g, (H, W), k)
    assert len(out) == L * (H // k) * (W // k)
    opac = g.opacities.reshape(L, H, W).numpy()
    means = g.means.reshape(L, H, W, 3).numpy()
    sh = g.sh_rest.reshape(L, H, W, 3, 3).numpy()
    i = 0
    for l in range(L):
        for by in range(H // k):
            for bx in range(W // k):
                block = opac[l, by * k:(by + 1) * k, bx * k:(bx + 1) * k]
                dy, dx = np.unravel_index(np.argmax(block), block.shape)
                y, x = by * k + dy, bx * k + dx
                assert out.opacities[i].item() == opac[l, y, x]
                np.testing.assert_array_equal(out.means[i].numpy(), means[l, y, x])
                np.testing.assert_array_equal(out.sh_rest[i].numpy(), sh[l, y, x])
                i += 1


def test_merge_of_identical_gaussians_is_the_gaussian():
    one = _random(1, seed=3)
    g = Gaussians.cat([one] * 4)
    merged = one_per_neighbourhood(g, (2, 2), 2, mode="merge")
    assert torch.allclose(merged.means, one.means, atol=1e-12)
    assert torch.allclose(merged.covariances(), one.covariances(), atol=1e-12)
    assert torch.allclose(merged.colors, one.colors, atol=1e-12)
    assert torch.allclose(merged.opacities, one.opacities)


def test_merge_moment_matches_the_mixture():
    # Two isotropic Gaussians at +-d along x with opacities 0.6 and 0.2 (plus two with zero weight).
    sigma, d = 0.3, 1.0
    g = Gaussians(
        means=torch.tensor([[d, 0, 0], [-d, 0, 0], [5, 5, 5], [5, 5, 5]], dtype=F64),
        quats=torch.tensor([[1.0, 0, 0, 0]] * 4, dtype=F64),
        scales=torch.full((4, 3), sigma, dtype=F64),
        opacities=torch.tensor([0.6, 0.2, 0.0, 0.0], dtype=F64),
        colors=torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [0, 0, 1.0]], dtype=F64),
    )
    merged = one_per_neighbourhood(g, (2, 2), 2, mode="merge")
    w1, w2 = 0.75, 0.25
    mu = w1 * d - w2 * d
    var_x = sigma**2 + w1 * (d - mu) ** 2 + w2 * (-d - mu) ** 2
    assert torch.allclose(merged.means[0], torch.tensor([mu, 0, 0], dtype=F64), atol=1e-12)
    assert torch.allclose(merged.covariances()[0], torch.diag(torch.tensor([var_x, sigma**2, sigma**2], dtype=F64)),
                          atol=1e-10)
    assert torch.allclose(merged.colors[0], torch.tensor([w1, w2, 0], dtype=F64), atol=1e-12)
    assert merged.opacities[0].item() == 0.6
    # Sampling the mixture gives the same covariance (independent check of the formula).
    rng = np.random.default_rng(0)
    comp = rng.random(400_000) < w1
    x = np.where(comp, d, -d) + rng.normal(0, sigma, comp.size)
    assert np.var(x) == pytest.approx(var_x, rel=0.01)


def test_rotmat_quat_round_trip_and_covariance_factorisation():
    g = _random(200, seed=4)
    R = quat_to_rotmat(g.quats)
    q = rotmat_to_quat(R)
    assert (q[:, 0] >= 0).all()
    assert torch.allclose(quat_to_rotmat(q), R, atol=1e-12)
    assert torch.allclose(q, torch.where(g.quats[:, :1] < 0, -g.quats, g.quats), atol=1e-12)
    # 180-degree rotations (trace -1) are the hard case for a naive formula.
    flips = torch.diag_embed(torch.tensor([[1.0, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=F64))
    assert torch.allclose(quat_to_rotmat(rotmat_to_quat(flips)), flips, atol=1e-12)
    scales, quats = covariance_to_scales_quats(g.covariances())
    rebuilt = Gaussians(g.means, quats, scales, g.opacities, g.colors)
    assert torch.allclose(rebuilt.covariances(), g.covariances(), atol=1e-10)


def test_bad_grid_is_refused():
    g = _random(12, seed=5)
    with pytest.raises(ValueError, match="blocks"):
        one_per_neighbourhood(g, (3, 4), 2)
    with pytest.raises(ValueError, match="mode"):
        one_per_neighbourhood(g, (2, 6), 2, mode="average")
