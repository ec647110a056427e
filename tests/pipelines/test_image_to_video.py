"""Two-view geometry for ``interpolate`` against a fake geometry net with known outputs."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.testing import assert_close

from genscene.pipelines.image_to_video import square_image, two_view_geometry, valid_frame_count


class FakeGeometry(nn.Module):
    """Depth 2 everywhere; camera 1 translated by ``t`` in its w2c (VGGT pose encoding, 60 degree FoV)."""

    def __init__(self, t: tuple[float, float, float]):
        super().__init__()
        self.t = torch.tensor(t)

    def forward(self, images):
        b, s, _, h, w = images.shape
        fov = math.radians(60)
        enc = torch.zeros(b, s, 9)
        enc[..., 6] = 1  # identity quaternion (xyzw)
        enc[..., 7:] = fov
        enc[:, 1, :3] = self.t
        return {"depth": torch.full((b, s, h, w), 2.0), "pose_enc": enc}


def test_the_second_camera_is_relative_and_in_median_depth_units():
    image = torch.rand(3, 16, 16)
    depth, K, c2w = two_view_geometry(FakeGeometry((0.4, -0.2, 1.0)), image, image)
    assert_close(depth, torch.ones(16, 16))  # unit median
    # w2c = [I | t]  ->  c2w = [I | -t], then / median depth (2)
    assert_close(c2w[:3, 3], torch.tensor([-0.2, 0.1, -0.5], dtype=torch.float64))
    assert_close(c2w[:3, :3], torch.eye(3, dtype=torch.float64))
    assert_close(K[0, 0], torch.tensor(8 / math.tan(math.radians(30)), dtype=torch.float64))


def test_frame_counts_round_up_to_what_the_vae_takes():
    assert [valid_frame_count(n) for n in (2, 4, 5, 6, 17, 18)] == [5, 5, 5, 9, 17, 21]


def test_square_crop_is_centred():
    image = torch.zeros(3, 10, 20)
    image[:, :, 5:15] = 1  # the centre square
    assert_close(square_image(image, 10), torch.ones(3, 10, 10))
