"""Flow-warped noise: exactly N(0, 1) per frame, and it follows the flow."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats

from genscene.diffusion.noise_warp import flow_warped_noise, noise_correlation, warp_noise_video

C, h, w = 4, 24, 32
H, W = 4 * h, 4 * w  # image pixels (any ratio to the latent grid works)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _zoom_and_swirl(T: int) -> torch.Tensor:
    """Backward flows [T-1, 2, H, W] of a zoom-in plus rotation about the centre (expansion:
    one source feeds several targets) - exercises the regaussianized split and the borders."""
    y, x = torch.meshgrid(torch.arange(H) + 0.5, torch.arange(W) + 0.5, indexing="ij")
    dx, dy = x - W / 2, y - H / 2
    s, a = 1 / 1.08, math.radians(4)  # frame t+1 pixel came from a point nearer the centre
    src_x = W / 2 + s * (math.cos(a) * dx - math.sin(a) * dy)
    src_y = H / 2 + s * (math.sin(a) * dx + math.cos(a) * dy)
    flow = torch.stack([src_x - x, src_y - y])
    return flow.expand(T - 1, 2, H, W).clone()


def test_frames_stay_standard_gaussian_under_zoom():
    noise = warp_noise_video(_zoom_and_swirl(9), C, (h, w), _gen(1))
    assert noise.shape == (C, 9, h, w)
    n = C * h * w
    for t in range(noise.shape[1]):
        x = noise[:, t].flatten().double()
        assert abs(float(x.mean())) < 5 / math.sqrt(n)
        assert abs(float(x.var()) - 1) < 5 * math.sqrt(2 / n)
        assert stats.kstest(x.numpy(), "norm").pvalue > 1e-4
    # It follows the flow: frame t+1 correlates with frame t sampled where the flow points
    # (nearest latent pixel), far above the ~0 of fresh noise or of an unwarped comparison.
    flow = _zoom_and_swirl(2)[0]
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    centre_y, centre_x = (ys + 0.5) * (H / h), (xs + 0.5) * (W / w)
    fy = flow[1, centre_y.long(), centre_x.long()]
    fx = flow[0, centre_y.long(), centre_x.long()]
    src_y = torch.floor((centre_y + fy) * h / H).long()
    src_x = torch.floor((centre_x + fx) * w / W).long()
    inside = (src_y >= 0) & (src_y < h) & (src_x >= 0) & (src_x < w)
    for t in (1, 7):
        warped_prev = noise[:, t][:, src_y[inside], src_x[inside]]
        assert noise_correlation(noise[:, t + 1][:, inside], warped_prev) > 0.5
    assert abs(noise_correlation(noise[:, 8], noise[:, 7])) < 0.3


def test_expansion_neighbours_are_uncorrelated():
    """Zoom copies one fine source into several targets; the split must not correlate them."""
    noise = warp_noise_video(_zoom_and_swirl(6), 1, (h, w), _gen(2), upsample=1)
    last = noise[0, -1]
    assert abs(noise_correlation(last[:, :-1], last[:, 1:])) < 0.08
    assert abs(noise_correlation(last[:-1], last[1:])) < 0.08


def test_integer_shift_moves_the_noise_exactly():
    shift = 3  # latent pixels to the right per frame
    flow = torch.zeros(2, 2, H, W)
    flow[:, 0] = -shift * (W / w)  # frame t+1 at x came from x - shift in frame t
    noise = warp_noise_video(flow, C, (h, w), _gen(3))
    for t in range(2):
        a = noise[:, t, :, : w - shift]
        b = noise[:, t + 1, :, shift:]
        assert torch.equal(a, b)
    # New content entering on the left is fresh, uncorrelated noise.
    assert abs(noise_correlation(noise[:, 1, :, :shift], noise[:, 0, :, -shift:])) < 0.2


def test_subpixel_motion_accumulates_on_the_fine_grid():
    """Half a latent pixel per frame: after two frames the noise has moved by exactly one
    latent pixel (a latent-resolution warp would round each half step away or double it)."""
    flow = torch.zeros(2, 2, H, W)
    flow[:, 1] = -0.5 * (H / h)  # moving down
    noise = warp_noise_video(flow, C, (h, w), _gen(4), upsample=4)
    torch.testing.assert_close(noise[:, 2, 1:], noise[:, 0, :-1])
    assert noise_correlation(noise[:, 1, 1:], noise[:, 0, :-1]) > 0.4  # half way


def test_zero_flow_keeps_noise_identical_and_seed_reproduces():
    flows = torch.zeros(8, 2, H, W)
    noise = flow_warped_noise(flows, (C, 3, h, w), _gen(5))
    assert noise.shape == (C, 3, h, w)
    assert torch.equal(noise[:, 0], noise[:, 1]) and torch.equal(noise[:, 1], noise[:, 2])
    assert torch.equal(noise, flow_warped_noise(flows, (C, 3, h, w), _gen(5)))
    assert not torch.equal(noise, flow_warped_noise(flows, (C, 3, h, w), _gen(6)))
    with pytest.raises(ValueError):
        flow_warped_noise(torch.zeros(5, 2, H, W), (C, 3, h, w), _gen(5))


def test_invalid_pixels_get_fresh_noise():
    flows = torch.zeros(1, 2, H, W)
    valid = torch.ones(1, H, W, dtype=torch.bool)
    valid[:, :, : W // 2] = False  # left half disoccluded
    noise = warp_noise_video(flows, C, (h, w), _gen(7), valid=valid)
    assert torch.equal(noise[:, 1, :, w // 2:], noise[:, 0, :, w // 2:])
    assert abs(noise_correlation(noise[:, 1, :, : w // 2], noise[:, 0, :, : w // 2])) < 0.1
