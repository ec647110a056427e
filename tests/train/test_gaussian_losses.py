"""Decoder losses: hand values (scaled depth, known opacities), the weighting, LPIPS only with weights."""

import math

import pytest
import torch

from genscene.eval.lpips import LPIPS, save_lpips
from genscene.train.gaussian_losses import (
    GaussianLossConfig,
    gaussian_render_loss,
    load_loss_lpips,
    opacity_l1,
    scale_invariant_depth_loss,
)


def test_depth_loss_is_zero_for_a_scaled_depth_and_ignores_invalid_pixels():
    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 8, 8, generator=g) + 0.5
    valid = torch.ones(2, 8, 8, dtype=torch.bool)
    assert scale_invariant_depth_loss(3.7 * target, target, valid).item() == pytest.approx(0.0, abs=1e-6)
    pred = 2.0 * target
    pred[0, 0, 0] = 100.0  # an outlier where the target is invalid (sky) does not count
    valid[0, 0, 0] = False
    assert scale_invariant_depth_loss(pred, target, valid).item() == pytest.approx(0.0, abs=1e-6)


def test_depth_loss_hand_value():
    # medians: pred [1, 1, 2] -> 1, target [1, 1, 1] -> 1: |0| + |0| + |2 - 1| over 3 pixels
    pred, target = torch.tensor([[[1.0, 1.0, 2.0]]]), torch.ones(1, 1, 3)
    assert scale_invariant_depth_loss(pred, target, target > 0).item() == pytest.approx(1 / 3)


def test_opacity_l1_of_known_opacities():
    assert opacity_l1(torch.tensor([0.1, 0.5, 0.9, 0.3])).item() == pytest.approx(0.45)


def test_weighted_total_and_terms():
    g = torch.Generator().manual_seed(1)
    rgb, target = torch.rand(2, 3, 16, 16, generator=g), torch.rand(2, 3, 16, 16, generator=g)
    depth = torch.rand(2, 16, 16, generator=g) + 1
    cfg = GaussianLossConfig(mse=1.0, ssim=0.2, depth=0.05, opacity=0.1)
    total, terms = gaussian_render_loss(rgb, depth, target, 2 * depth, torch.full((10,), 0.4), cfg)
    assert "lpips" not in terms and terms["depth"] == pytest.approx(0.0, abs=1e-6)
    assert terms["mse"] == pytest.approx(((rgb - target) ** 2).mean().item(), rel=1e-6)
    assert terms["opacity"] == pytest.approx(0.4)
    expect = terms["mse"] + 0.2 * terms["ssim"] + 0.05 * terms["depth"] + 0.1 * terms["opacity"]
    assert math.isclose(total.item(), expect, rel_tol=1e-5) and terms["loss"] == pytest.approx(total.item())
    same, _ = gaussian_render_loss(target, depth, target, depth, torch.zeros(3), cfg)
    assert same.item() == pytest.approx(0.0, abs=1e-6)


def test_lpips_counts_only_with_local_weights(tmp_path):
    assert load_loss_lpips(GaussianLossConfig()) is None
    path = save_lpips(LPIPS("alex").randomize(seed=0), tmp_path / "alex.safetensors")
    cfg = GaussianLossConfig(lpips_weights=str(path))
    net = load_loss_lpips(cfg)
    g = torch.Generator().manual_seed(2)
    rgb = torch.rand(1, 3, 32, 32, generator=g, requires_grad=True)
    target = torch.rand(1, 3, 32, 32, generator=g)
    total, terms = gaussian_render_loss(rgb, torch.ones(1, 32, 32), target, torch.ones(1, 32, 32),
                                        torch.zeros(1), cfg, lpips=net)
    assert terms["lpips"] > 0
    total.backward()
    assert rgb.grad is not None and rgb.grad.abs().sum() > 0
