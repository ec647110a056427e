"""Headline: the real temple cameras through every format and back preserve K, w2c and projections."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from formats_helpers import project_cameras, project_pixels, temple

from genscene.cameras.cameras import Cameras
from genscene.cameras.formats import (
    cameras_from_opengl,
    cameras_to_opengl,
    load_colmap,
    load_dtu_cameras,
    load_gen3r_cameras,
    load_llff,
    load_middlebury_par,
    load_opensfm,
    load_pose_encoding,
    load_realestate10k,
    load_transforms,
    save_colmap,
    save_dtu_cameras,
    save_gen3r_cameras,
    save_llff,
    save_middlebury_par,
    save_opensfm,
    save_pose_encoding,
    save_realestate10k,
    save_transforms,
)

RoundTrip = Callable[[Path, Cameras, list[str]], tuple[Cameras, list[str] | None]]


def _opengl(d: Path, cams: Cameras, names: list[str]):
    np.save(d / "c2w.npy", cameras_to_opengl(cams).numpy())
    np.save(d / "K.npy", cams.K.numpy())
    c2w = torch.from_numpy(np.load(d / "c2w.npy"))
    return cameras_from_opengl(c2w, torch.from_numpy(np.load(d / "K.npy")), cams.width, cams.height), None


def _nerfstudio(d, cams, names):
    save_transforms(d / "transforms.json", cams, names)
    loaded, images, _ = load_transforms(d / "transforms.json")
    return loaded, images


def _colmap(binary: bool) -> RoundTrip:
    def round_trip(d, cams, names):
        save_colmap(d / "sparse", cams, names, binary=binary)
        return load_colmap(d / "sparse")

    return round_trip


def _llff(d, cams, names):
    save_llff(d / "poses_bounds.npy", cams, np.tile([0.1, 10.0], (len(cams), 1)))
    return load_llff(d / "poses_bounds.npy")[0], None


def _realestate10k(d, cams, names):
    save_realestate10k(d / "clip.txt", cams)
    return load_realestate10k(d / "clip.txt", cams.width, cams.height)[0], None


def _dtu(d, cams, names):
    save_dtu_cameras(d / "cameras.npz", cams)
    return load_dtu_cameras(d / "cameras.npz", cams.width, cams.height)[0], None


def _middlebury(d, cams, names):
    save_middlebury_par(d / "x_par.txt", cams, names)
    return load_middlebury_par(d / "x_par.txt", cams.width, cams.height)


def _vggt(d, cams, names):
    save_pose_encoding(d / "pose_enc.npz", cams)
    return load_pose_encoding(d / "pose_enc.npz"), None


def _gen3r(d, cams, names):
    save_gen3r_cameras(d / "cameras.json", cams, relative_to_first=False)
    return load_gen3r_cameras(d / "cameras.json"), None


def _opensfm(d, cams, names):
    save_opensfm(d / "reconstruction.json", cams, names)
    return load_opensfm(d / "reconstruction.json")


GENERAL = {  # formats that store any zero-skew K
    "opengl": _opengl, "nerfstudio": _nerfstudio, "colmap_txt": _colmap(False), "colmap_bin": _colmap(True),
    "realestate10k": _realestate10k, "dtu": _dtu, "middlebury": _middlebury, "gen3r": _gen3r, "opensfm": _opensfm,
}
# LLFF stores one focal and no principal point; VGGT's encoding stores no principal point.
RESTRICTED = {"llff": _llff, "vggt": _vggt}


def _square_centred(cams: Cameras) -> Cameras:
    """The temple cameras with K made representable by every format: fx = fy, principal point centred."""
    K = cams.K.clone()
    K[:, 1, 1] = K[:, 0, 0]
    K[:, 0, 2], K[:, 1, 2] = cams.width / 2, cams.height / 2
    return Cameras(K, cams.w2c, cams.width, cams.height)


def _assert_same(loaded: Cameras, cams: Cameras, X: np.ndarray) -> None:
    assert (loaded.width, loaded.height) == (cams.width, cams.height)
    np.testing.assert_allclose(loaded.K.numpy(), cams.K.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(loaded.w2c.numpy(), cams.w2c.numpy(), rtol=0, atol=1e-6)
    want = project_pixels(cams.K.numpy(), cams.w2c.numpy(), X)  # independent numpy projection
    np.testing.assert_allclose(project_cameras(loaded, X), want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("fmt", sorted(GENERAL))
def test_temple_round_trip(fmt, shared_data, tmp_path):
    cams, names, X = temple(shared_data)
    loaded, names2 = GENERAL[fmt](tmp_path, cams, names)
    assert loaded.dtype == torch.float64
    _assert_same(loaded, cams, X)
    if names2 is not None:
        assert names2 == names


@pytest.mark.parametrize("fmt", sorted(RESTRICTED))
def test_restricted_formats_round_trip_what_they_can_hold(fmt, shared_data, tmp_path):
    cams, names, X = temple(shared_data)
    with pytest.raises(ValueError):  # temple's fy != fx and off-centre principal point
        RESTRICTED[fmt](tmp_path, cams, names)
    assert not any(tmp_path.iterdir())  # nothing half-written
    square = _square_centred(cams)
    loaded, _ = RESTRICTED[fmt](tmp_path, square, names)
    _assert_same(loaded, square, X)


def test_chain_through_every_format(shared_data, tmp_path):
    """One pass through all eleven converters in a row: errors must not accumulate past 1e-6."""
    cams, names, X = temple(shared_data)
    current = _square_centred(cams)
    for k, (fmt, round_trip) in enumerate({**GENERAL, **RESTRICTED}.items()):
        step = tmp_path / f"{k:02d}_{fmt}"
        step.mkdir()
        current, _ = round_trip(step, current, names)
    _assert_same(current, _square_centred(cams), X)
