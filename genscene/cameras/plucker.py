"""Plücker ray embeddings, the camera conditioning of Gen3R and SpatialCrafter."""

from __future__ import annotations

import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras


def plucker_rays(cameras: Cameras, height: int, width: int) -> Tensor:
    """Plücker coordinates ``[*B, 6, h, w]`` of the rays through the pixel centres of an ``h x w`` grid.

    Channels are ``(o x d, d)``: the moment (origin cross direction) then the unit direction ``d``,
    both in the world frame, with ``o`` the camera centre. The grid spans the whole image, so a
    coarse grid (e.g. the 8x smaller latent grid) gets the rays through the centres of its cells
    (see :meth:`Cameras.pixel_grid`).
    """
    origins, dirs = cameras.rays(height, width)  # [*B, h, w, 3] each
    moment = torch.cross(origins, dirs, dim=-1)
    return torch.cat([moment, dirs], dim=-1).movedim(-1, -3)
