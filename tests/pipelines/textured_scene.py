"""A tiny procedural scene SIFT can match: photo-textured boxes on a gravel floor, seen from an arc of cameras.

Built from :mod:`genscene.worlds` parts (not a family generator: those are tuned for the network,
and their smooth procedural textures give SIFT too little to match at test sizes).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras, intrinsics_matrix, invert_rigid, rigid_matrix
from genscene.cameras.trajectories.poses import look_at
from genscene.worlds.materials import Material, TextureSpec
from genscene.worlds.primitives import Box, Plane
from genscene.worlds.world import Lighting, Sky, World, WorldObject

PHOTOS = ("coffee", "chelsea", "rocket", "cat")


def textured_world() -> World:
    """Four photo-textured boxes on a gravel plane (z up)."""
    materials = [Material(TextureSpec("photo", photo="astronaut", mirror=True), scale=(4.0, 4.0))]
    materials += [Material(TextureSpec("photo", photo=p), scale=(0.8, 0.8)) for p in PHOTOS]
    objects = [WorldObject(Plane(6.0, 6.0), 0, (0.0, 0.0, 0.0))]
    spots = ((-0.9, -0.6, 0.5), (0.8, -0.5, 0.35), (-0.5, 0.9, 0.3), (0.7, 0.8, 0.6))
    for i, (x, y, h) in enumerate(spots):
        objects.append(WorldObject(Box((0.4, 0.4, h)), i + 1, (x, y, h)))
    lighting = Lighting((0.3, -0.4, 0.86), (0.9, 0.9, 0.85), (0.5, 0.5, 0.55), (0.3, 0.3, 0.3))
    sky = Sky((0.4, 0.55, 0.8), (0.75, 0.8, 0.85), (0.3, 0.3, 0.3))
    return World("test", 0, objects, materials, lighting, sky, ((-5, -5, 0.5), (5, 5, 4)), ((-1, -1, 0), (1, 1, 1)))


def arc_cameras(views: int, width: int = 240, height: int = 180, fov_deg: float = 55.0,
                arc_deg: float = 60.0, radius: float = 3.2, elevation: float = 2.2) -> Cameras:
    """``[views]`` cameras on an arc around the scene centre, looking at it (OpenCV, world z up)."""
    angles = torch.linspace(-arc_deg / 2, arc_deg / 2, views, dtype=torch.float64).deg2rad() - math.pi / 2
    eye = torch.stack([radius * angles.cos(), radius * angles.sin(), torch.full_like(angles, elevation)], -1)
    R = look_at(eye, torch.tensor([0.0, 0.0, 0.3], dtype=torch.float64), down=(0.0, 0.0, -1.0))
    w2c = invert_rigid(rigid_matrix(R, eye))
    f = 0.5 * width / math.tan(math.radians(fov_deg) / 2)
    K = intrinsics_matrix(f, f, width / 2, height / 2).expand(views, 3, 3)
    return Cameras(K, w2c, width, height)


def render_views(cameras: Cameras) -> tuple[list[Tensor], Tensor]:
    """Views ``[3, H, W]`` and z-depth ``[N, H, W]`` of :func:`textured_world` for ``cameras``."""
    from genscene.worlds.render import render

    out = render(textured_world(), cameras, edges=False, supersample=2)
    return list(out["rgb"]), out["depth"]


def render_depth(cameras: Cameras) -> Tensor:
    """z-depth ``[N, H, W]`` of :func:`textured_world` (geometry only: fast); 0 where the sky shows."""
    from genscene.worlds.render import render

    return render(textured_world(), cameras, edges=False, shading=False)["depth"]
