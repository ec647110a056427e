"""genscene view in a real browser: headless Chromium (Debian's package, software WebGL) loads the viewer
page of a scene of known colours; the picture must show the red points and the green frames in the frusta.
Skips with a message where Chromium or viser is absent."""

from __future__ import annotations

import numpy as np
import pytest
from test_viewer import FRAME_RGB, POINT_RGB, make_scene

from genscene.viewer import ViewConfig, start_viewer
from genscene.viewer.screenshot import CHROMIUM_ENV, find_chromium, screenshot

pytestmark = pytest.mark.slow


def near(image: np.ndarray, rgb: tuple[int, int, int], tol: int = 40) -> float:
    """Fraction of pixels within ``tol`` of ``rgb`` in every channel."""
    return float((np.abs(image.astype(int) - np.array(rgb)).max(axis=-1) <= tol).mean())


def test_the_viewer_page_shows_the_points_and_the_frames(tmp_path):
    pytest.importorskip("viser", reason='the viewer needs viser: pip install "genscene[view]"')
    chromium = find_chromium()
    if chromium is None:
        pytest.skip(f"no Chromium: apt-get install chromium (Debian), or set {CHROMIUM_ENV}")
    server, _, data = start_viewer(make_scene(tmp_path / "scene"), ViewConfig(port=0))
    try:
        image = screenshot(f"http://127.0.0.1:{server.get_port()}/", 640, 480, chromium,
                           ready_text=f"{data.name}: 3 cameras")
    finally:
        server.stop()
    assert image.shape == (480, 640, 3)
    colours = len(np.unique(image.reshape(-1, 3), axis=0))
    assert colours > 50, "a blank page: the viewer drew nothing"
    assert near(image, POINT_RGB) > 0.02, "the red points are not on screen"
    assert near(image, FRAME_RGB) > 0.002, "the green frames are not in the frusta"
    assert near(image, (0, 0, 255)) < 0.001, "the far background points are hidden at first"
