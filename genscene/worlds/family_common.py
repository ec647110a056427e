"""Helpers shared by the family generators: seeded streams, walls with openings, sky and sun."""

from __future__ import annotations

import math
import zlib

import numpy as np

from genscene.worlds.builder import Builder
from genscene.worlds.primitives import Box
from genscene.worlds.world import Lighting, Sky, World

WALL_COLORS = [(0.92, 0.9, 0.85), (0.85, 0.82, 0.75), (0.75, 0.8, 0.82), (0.88, 0.78, 0.68), (0.7, 0.75, 0.65),
               (0.95, 0.93, 0.9), (0.6, 0.65, 0.72), (0.8, 0.7, 0.72)]


def family_rng(family: str, seed: int) -> np.random.Generator:
    """The generator of world ``(family, seed)``: independent streams per family, stable across runs."""
    return np.random.default_rng([zlib.crc32(family.encode()), int(seed)])


# ------------------------------------------------------------------------------ sky and sun
def outdoor_light(b: Builder, golden: bool | None = None) -> tuple[Lighting, Sky]:
    """Sun + sky: clear noon, hazy or golden hour."""
    mood = b.choice(["clear", "clear", "hazy", "golden"]) if golden is None else ("golden" if golden else "clear")
    az = b.uniform(0, 2 * math.pi)
    elev = b.uniform(0.12, 0.3) if mood == "golden" else b.uniform(0.4, 1.1)
    sun_dir = (math.cos(elev) * math.cos(az), math.cos(elev) * math.sin(az), math.sin(elev))
    if mood == "golden":
        sun, sky = (1.5, 1.05, 0.65), Sky((0.35, 0.45, 0.7), (0.98, 0.72, 0.5), (0.35, 0.3, 0.28), 1.0)
        amb_sky, amb_ground = (0.35, 0.33, 0.4), (0.18, 0.14, 0.1)
    elif mood == "hazy":
        sun, sky = (0.8, 0.8, 0.78), Sky((0.6, 0.66, 0.75), (0.85, 0.86, 0.88), (0.4, 0.4, 0.4), 0.3)
        amb_sky, amb_ground = (0.55, 0.57, 0.6), (0.25, 0.24, 0.22)
    else:
        sun, sky = (1.2, 1.15, 1.05), Sky((0.25, 0.45, 0.85), (0.7, 0.8, 0.92), (0.4, 0.38, 0.35), 0.6)
        amb_sky, amb_ground = (0.38, 0.42, 0.5), (0.2, 0.18, 0.15)
    return Lighting(sun_dir, sun, amb_sky, amb_ground), sky


def finish_world(family: str, seed: int, b: Builder, lighting: Lighting, sky: Sky, cam, look, meta, margin=0.3) -> World:
    return World(family, seed, b.objects, b.materials, lighting, sky, cam, look, margin, meta)


def wall_with_openings(b: Builder, mat, inst, x0, y0, yaw, length, height, thick, openings) -> None:
    """A wall from ``(x0, y0)`` along ``yaw`` for ``length`` m, built in pieces around openings.

    ``openings``: ``[(u_center, width, bottom, top)]`` along the wall (non-overlapping).
    """
    c, s = math.cos(yaw), math.sin(yaw)

    def piece(u0, u1, z0, z1):
        if u1 - u0 < 1e-3 or z1 - z0 < 1e-3:
            return
        um = 0.5 * (u0 + u1)
        b.add(Box(((u1 - u0) / 2, thick / 2, (z1 - z0) / 2)), mat, (x0 + c * um, y0 + s * um, 0.5 * (z0 + z1)), yaw,
              instance=inst, name="wall")

    u = 0.0
    for uc, w, z0, z1 in sorted(openings):
        piece(u, uc - w / 2, 0, height)
        piece(uc - w / 2, uc + w / 2, 0, z0)
        piece(uc - w / 2, uc + w / 2, z1, height)
        u = uc + w / 2
    piece(u, length, 0, height)
