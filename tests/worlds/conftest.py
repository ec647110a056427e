"""Small hand-built worlds and cameras for the worlds tests (known geometry, tiny images)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from genscene.cameras.cameras import Cameras
from genscene.worlds.materials import Material, TextureSpec
from genscene.worlds.world import Lighting, Sky, World, WorldObject, rotation_zyx

FLAT_GREY = TextureSpec("noise", colors=((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)))


def make_test_world(objects, materials=None, sun=(0.0, 0.0, 0.0), sun_dir=(0.0, 0.0, 1.0), ambient=1.0) -> World:
    """A world from ``objects``; by default lit by a uniform ambient 1 (colour = albedo)."""
    materials = materials or [Material(FLAT_GREY)]
    amb = (ambient, ambient, ambient)
    return World("test", 0, list(objects), materials, Lighting(sun_dir, sun, amb, amb),
                 Sky((0.2, 0.4, 0.8), (0.7, 0.8, 0.9), (0.3, 0.3, 0.3), 0.0),
                 ((-1, -1, -1), (1, 1, 1)), ((-1, -1, -1), (1, 1, 1)), 0.1, {})


def obj(shape, position, material=0, yaw=0.0, pitch=0.0, roll=0.0, **kw) -> WorldObject:
    R = rotation_zyx(yaw, pitch, roll)
    return WorldObject(shape, material, tuple(map(float, position)), tuple(map(tuple, R.tolist())), **kw)


def camera_looking(eye, target, size=32, fov_deg=60.0, height=None) -> Cameras:
    """One camera (batch [1]) at ``eye`` looking at ``target``, world +z up in the image (no roll)."""
    from genscene.cameras.trajectories.poses import look_at

    eye_t = torch.tensor(eye, dtype=torch.float64)
    c2w = torch.eye(4, dtype=torch.float64)
    c2w[:3, :3] = look_at(eye_t, torch.tensor(target, dtype=torch.float64), down=(0.0, 0.0, -1.0))
    c2w[:3, 3] = eye_t
    return Cameras.from_c2w(Cameras.from_fov(fov_deg, size, height or size).K, c2w, size, height or size).reshape(1)


def camera_down(height: float, size=32, fov_deg=60.0, x=0.0, y=0.0) -> Cameras:
    """A camera (batch [1]) at ``(x, y, height)`` looking straight down (-z), image right = +x."""
    c2w = torch.eye(4, dtype=torch.float64)
    c2w[:3, :3] = torch.tensor([[1.0, 0, 0], [0, -1.0, 0], [0, 0, -1.0]])  # columns: right, down, forward
    c2w[:3, 3] = torch.tensor([x, y, height])
    return Cameras.from_c2w(Cameras.from_fov(fov_deg, size, size).K, c2w, size, size).reshape(1)


@pytest.fixture
def w():
    """This module's helpers as a namespace: ``w.world``, ``w.obj``, ``w.looking``, ``w.down``, ``w.FLAT_GREY``."""
    return SimpleNamespace(world=make_test_world, obj=obj, looking=camera_looking, down=camera_down, FLAT_GREY=FLAT_GREY)
