"""Headline: the real temple cameras through every format and back preserve K, w2c and projections."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from format_round_trips import FORMATS
from formats_helpers import project_cameras, project_pixels, temple

from genscene.cameras.cameras import Cameras

GENERAL = {fmt: trip for fmt, (trip, single_focal, centred) in FORMATS.items()
           if not (single_focal or centred) and fmt != "projection_matrix"}
"""Formats that store any zero-skew K (P = K[R|t] runs in memory, not through a file)."""
RESTRICTED = {fmt: trip for fmt, (trip, single_focal, centred) in FORMATS.items() if single_focal or centred}
"""LLFF stores one focal and no principal point; VGGT's encoding stores no principal point."""


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
