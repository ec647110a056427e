"""Procedural 3D worlds: the data engine and its ground-truth renderer (DESIGN §5).

>>> from genscene.worlds import make_world
>>> from genscene.worlds.camera_paths import sample_camera_path
>>> from genscene.worlds.render import render
>>> world = make_world("room", seed=7)
>>> path = sample_camera_path(world, "orbit", num_frames=17, size=128, seed=0)
>>> out = render(world, path.cameras, path.times)  # rgb, depth, normals, instance, edges, ...
"""

from __future__ import annotations

from genscene.worlds.families import FAMILIES, GENERATORS
from genscene.worlds.world import World


def make_world(family: str, seed: int, dynamic: bool = False) -> World:
    """The world of ``(family, seed)``; a pure function (same arguments, same world).

    Args:
        family: one of :data:`FAMILIES` (``room``, ``street``, ``courtyard``, ``tabletop``).
        seed: any non-negative int; see :mod:`genscene.worlds.seeds` for the split ranges.
        dynamic: add rigidly moving objects (cars, balls, a chair) for 4D data.
    """
    if family not in GENERATORS:
        raise ValueError(f"family: expected one of {list(FAMILIES)}, got {family!r}")
    if int(seed) < 0:
        raise ValueError(f"seed: must be >= 0, got {seed}")
    return GENERATORS[family](int(seed), dynamic)


__all__ = ["FAMILIES", "World", "make_world"]
