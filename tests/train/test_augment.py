"""Photometric jitter: identity at zero ranges, hand values on gray frames, per-frame draws, geometry untouched."""

import torch

from genscene.train.augment import LUMA, PhotometricJitter, jitter_frames
from genscene.train.stages.geometry import GeometryStage

OFF = PhotometricJitter(brightness=0, contrast=0, saturation=0, grayscale_p=0, noise_std=0)


def test_zero_ranges_are_the_identity():
    x = torch.rand(2, 3, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(jitter_frames(x, OFF, torch.Generator().manual_seed(1)), x, atol=1e-6)  # up to rounding


def test_brightness_scales_each_gray_frame_by_its_own_factor_in_range():
    # a constant gray frame: contrast and saturation leave it alone, brightness multiplies it
    x = torch.full((6, 3, 4, 4), 0.5)
    cfg = PhotometricJitter(brightness=0.3, contrast=0.3, saturation=0.3, grayscale_p=0, noise_std=0)
    out = jitter_frames(x, cfg, torch.Generator().manual_seed(2))
    per_frame = out[:, 0, 0, 0] / 0.5
    assert torch.allclose(out, 0.5 * per_frame.view(6, 1, 1, 1).expand_as(out), atol=1e-6)
    assert ((per_frame >= 0.7 - 1e-6) & (per_frame <= 1.3 + 1e-6)).all()
    assert per_frame.unique().numel() == 6  # every frame drew its own factor


def test_grayscale_frames_hold_their_luma_in_every_channel():
    x = torch.rand(4, 3, 5, 5, generator=torch.Generator().manual_seed(3))
    out = jitter_frames(x, PhotometricJitter(0, 0, 0, grayscale_p=1.0, noise_std=0), torch.Generator().manual_seed(4))
    luma = (x * torch.tensor(LUMA).view(1, 3, 1, 1)).sum(1)
    assert torch.allclose(out, luma[:, None].expand_as(out), atol=1e-6)


def test_jitter_is_deterministic_in_the_generator_and_stays_in_range():
    x = torch.rand(3, 2, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    strong = PhotometricJitter(brightness=0.9, contrast=0.9, saturation=0.9, grayscale_p=0.5, noise_std=0.2)
    a = jitter_frames(x, strong, torch.Generator().manual_seed(6))
    b = jitter_frames(x, strong, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and a.shape == x.shape
    assert a.min() >= 0 and a.max() <= 1 and not torch.equal(a, x)


def test_geometry_batches_jitter_only_the_images():
    stage = GeometryStage()
    plain, jittered = stage.config("smoke"), stage.config("smoke")
    plain.data.photometric = None
    device = torch.device("cpu")
    a = stage.make_batch(plain, 0, 0, 0, device)
    b = stage.make_batch(jittered, 0, 0, 0, device)
    for k in ("depth", "points", "valid", "pose_enc", "scale"):
        assert torch.equal(a[k], b[k]), k
    assert not torch.equal(a["images"], b["images"])
