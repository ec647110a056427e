"""Depth files: 16-bit PNG within half a quantisation step, npz exact, invalid values -> 0."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from genscene.errors import InputError
from genscene.io.depth import (
    depth_scale,
    read_depth_npz,
    read_depth_png,
    read_depth_scale,
    write_depth_npz,
    write_depth_png,
    write_depth_scale,
)


def _depth_with_holes(seed: int = 0) -> np.ndarray:
    d = np.random.default_rng(seed).uniform(0.3, 12.0, size=(9, 13)).astype(np.float32)
    d[0, 0], d[1, 1], d[2, 2], d[3, 3], d[4, 4] = np.nan, 0.0, np.inf, -2.0, -np.inf
    return d


def test_png_round_trip_within_half_a_step(tmp_path):
    d = _depth_with_holes()
    valid = np.isfinite(d) & (d > 0)
    scale = depth_scale(d)
    assert scale == pytest.approx(d[valid].max() / 65535)
    write_depth_png(tmp_path / "d.png", torch.from_numpy(d), scale)

    stored = iio.imread(tmp_path / "d.png")  # independent reader
    assert stored.dtype == np.uint16 and stored.shape == d.shape
    np.testing.assert_array_equal(stored[valid], np.round(d[valid].astype(np.float64) / scale))
    assert stored.max() == 65535 and np.all(stored[~valid] == 0)

    back = read_depth_png(tmp_path / "d.png", scale).numpy()
    assert back.dtype == np.float32
    assert np.abs(back[valid] - d[valid]).max() <= scale / 2 + 1e-6 * d[valid].max()
    np.testing.assert_array_equal(back[~valid], 0)


def test_png_keeps_tiny_valid_depth_valid(tmp_path):
    d = np.array([[1e-9, 5.0]], dtype=np.float32)
    write_depth_png(tmp_path / "d.png", d, depth_scale(d))
    back = read_depth_png(tmp_path / "d.png", depth_scale(d)).numpy()
    assert back[0, 0] > 0 and back[0, 1] == pytest.approx(5.0)


def test_png_rejects_depth_beyond_the_scale(tmp_path):
    with pytest.raises(ValueError, match="exceeds"):
        write_depth_png(tmp_path / "d.png", np.full((2, 2), 10.0), scale=1e-4)
    assert not (tmp_path / "d.png").exists()


def test_npz_exact_with_confidence(tmp_path):
    d = _depth_with_holes(1)
    conf = np.random.default_rng(2).uniform(size=d.shape).astype(np.float32)
    write_depth_npz(tmp_path / "d.npz", d, conf)
    depth, confidence = read_depth_npz(tmp_path / "d.npz")
    valid = np.isfinite(d) & (d > 0)
    np.testing.assert_array_equal(depth.numpy()[valid], d[valid])
    np.testing.assert_array_equal(depth.numpy()[~valid], 0)
    np.testing.assert_array_equal(confidence.numpy(), conf)
    with np.load(tmp_path / "d.npz", allow_pickle=False) as npz:  # plain arrays, no pickles
        assert sorted(npz.files) == ["confidence", "depth"] and npz["depth"].dtype == np.float32
    write_depth_npz(tmp_path / "e.npz", d)
    assert read_depth_npz(tmp_path / "e.npz")[1] is None


def test_scale_file_and_bad_inputs(tmp_path):
    write_depth_scale(tmp_path, 0.25)
    assert read_depth_scale(tmp_path) == 0.25
    (tmp_path / "scale.json").write_text('{"scale": -1}')
    with pytest.raises(InputError, match="scale.json: scale: must be a positive number"):
        read_depth_scale(tmp_path)
    np.savez(tmp_path / "bad.npz", other=np.zeros((2, 2)))
    with pytest.raises(InputError, match="bad.npz: depth: missing"):
        read_depth_npz(tmp_path / "bad.npz")
    iio.imwrite(tmp_path / "rgb.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(InputError, match="rgb.png"):
        read_depth_png(tmp_path / "rgb.png", 1.0)
