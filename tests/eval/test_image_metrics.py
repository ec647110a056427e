"""PSNR / SSIM against scikit-image on a real photograph, and the image-metric entry point."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.data import astronaut
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from genscene.errors import InputError
from genscene.eval.image_metrics import image_metrics, psnr, ssim


def _astronaut_pair(seed: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """A 96x128 crop of skimage's astronaut photo (HWC, [0, 1]) and a noisy, clipped copy."""
    img = astronaut()[100:292:2, 120:376:2].astype(np.float64) / 255.0
    rng = np.random.default_rng(seed)
    noisy = np.clip(img + noise * rng.standard_normal(img.shape), 0, 1)
    return img, noisy


def _chw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x).permute(2, 0, 1)


def test_psnr_and_ssim_match_scikit_image():
    pairs = [_astronaut_pair(0, 0.05), _astronaut_pair(1, 0.15)]
    target = torch.stack([_chw(a) for a, _ in pairs])  # [2, 3, 96, 128]
    pred = torch.stack([_chw(b) for _, b in pairs])
    ours_psnr, ours_ssim = psnr(pred, target), ssim(pred, target)
    assert ours_psnr.shape == (2,) and ours_ssim.shape == (2,)
    for i, (a, b) in enumerate(pairs):
        ref_psnr = peak_signal_noise_ratio(a, b, data_range=1.0)
        ref_ssim = structural_similarity(
            a, b, channel_axis=-1, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
        )
        assert float(ours_psnr[i]) == pytest.approx(ref_psnr, abs=1e-4)
        assert float(ours_ssim[i]) == pytest.approx(ref_ssim, abs=1e-4)
    assert float(ours_ssim[0]) > float(ours_ssim[1])  # more noise, less similar


def test_float32_batches_with_extra_dims():
    a, b = _astronaut_pair(2, 0.1)
    target = _chw(a).float().expand(2, 3, 3, 96, 128)  # [B, T, 3, H, W]
    pred = _chw(b).float().expand(2, 3, 3, 96, 128)
    ref = structural_similarity(a, b, channel_axis=-1, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False)
    s = ssim(pred, target)
    assert s.shape == (2, 3)
    np.testing.assert_allclose(s.numpy(), ref, atol=1e-4)


def test_identical_images():
    a, _ = _astronaut_pair(0, 0.0)
    x = _chw(a)[None]
    assert math.isinf(float(psnr(x, x)))
    assert float(ssim(x, x)) == pytest.approx(1.0, abs=1e-12)


def test_image_metrics_reports_lpips_absent_without_weights(tmp_path):
    a, b = _astronaut_pair(3, 0.1)
    out = image_metrics(_chw(b)[None], _chw(a)[None])
    assert out["lpips"] is None
    assert out["psnr"] == pytest.approx(peak_signal_noise_ratio(a, b, data_range=1.0), abs=1e-4)
    with pytest.raises(InputError, match="lpips_weights"):
        image_metrics(_chw(b)[None], _chw(a)[None], lpips_weights=tmp_path / "missing.safetensors")


def test_shape_mismatch_raises():
    with pytest.raises(ValueError):
        psnr(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 15))
    with pytest.raises(ValueError):
        ssim(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))  # smaller than the 11x11 window
