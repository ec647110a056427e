"""The ``World`` description: objects (shape + material + pose + motion), lights, sky, camera regions.

A world is plain data, a pure function of ``(family, seed)`` (see :func:`genscene.worlds.make_world`);
the renderer compiles it into tensors on a device (:mod:`genscene.worlds.render`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from genscene.worlds.materials import Material
from genscene.worlds.motion import STATIC, Motion
from genscene.worlds.primitives import Shape, inside_shape

Vec3 = tuple[float, float, float]


def rotation_zyx(yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0) -> np.ndarray:
    """Rotation ``Rz(yaw) @ Ry(pitch) @ Rx(roll)`` (radians) ``[3, 3]``."""
    cz, sz, cy, sy, cx, sx = (math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch),
                              math.cos(roll), math.sin(roll))
    Rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    Ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    Rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    return Rz @ Ry @ Rx


@dataclass(frozen=True)
class WorldObject:
    """One primitive placed in the world."""

    shape: Shape
    """Geometry in the object frame."""
    material: int
    """Index into :attr:`World.materials`."""
    position: Vec3
    """Object origin in world coordinates at rest (t = 0), metres."""
    rotation: tuple[Vec3, Vec3, Vec3] = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
    """Object-to-world rotation at rest (row-major 3x3)."""
    instance: int = -1
    """Instance id (objects made of several primitives share one); -1: assigned its own on build."""
    motion: Motion = STATIC
    """Rigid motion over time."""
    casts_shadow: bool = True
    """Whether it blocks light (sky domes and window glass do not)."""
    name: str = ""
    """Human-readable label (``"table.leg"``)."""

    def pose(self) -> np.ndarray:
        """Rest object-to-world ``[4, 4]``."""
        M = np.eye(4)
        M[:3, :3] = np.asarray(self.rotation)
        M[:3, 3] = self.position
        return M


@dataclass(frozen=True)
class PointLight:
    """A point light (lamps indoors)."""

    position: Vec3
    """World position (m)."""
    color: Vec3
    """RGB intensity at ``falloff`` metres."""
    falloff: float = 2.0
    """Distance at which intensity halves (``I / (1 + (d / falloff)^2)``)."""
    shadows: bool = True
    """Cast a shadow ray toward it."""


@dataclass(frozen=True)
class Lighting:
    """Directional sun with shadows, hemispheric ambient, optional point lights."""

    sun_direction: Vec3
    """Unit vector pointing toward the sun (world)."""
    sun_color: Vec3
    """Sun RGB intensity."""
    ambient_sky: Vec3
    """Ambient light from above (normals facing +z)."""
    ambient_ground: Vec3
    """Ambient light from below (normals facing -z)."""
    point_lights: tuple[PointLight, ...] = ()
    """Extra point lights."""


@dataclass(frozen=True)
class Sky:
    """Colour of rays that hit nothing: a gradient from horizon to zenith plus a sun glow."""

    zenith: Vec3
    """Colour straight up."""
    horizon: Vec3
    """Colour at the horizon."""
    ground: Vec3
    """Colour below the horizon."""
    sun_glow: float = 0.6
    """Strength of the glow around the sun direction."""


@dataclass
class World:
    """A complete procedural world."""

    family: str
    """Scene family (``room``, ``street``, ``courtyard``, ``tabletop``)."""
    seed: int
    """The seed it was built from."""
    objects: list[WorldObject]
    """All primitives; the list index is the primitive id."""
    materials: list[Material]
    """Materials referenced by ``WorldObject.material``."""
    lighting: Lighting
    """Lights."""
    sky: Sky
    """Background."""
    camera_region: tuple[Vec3, Vec3]
    """Axis-aligned box (lo, hi) where cameras may be placed (before free-space checks)."""
    look_region: tuple[Vec3, Vec3]
    """Axis-aligned box (lo, hi) of points cameras look at."""
    camera_margin: float = 0.25
    """Minimum clearance between a camera and any geometry (m)."""
    meta: dict = field(default_factory=dict)
    """Facts about the world (room size, ...) and renderer/camera hints: ``fog_distance`` (m),
    ``max_tilt_deg`` (steepest start-camera pitch, default 35), ``min_view_depth`` (m, median depth
    a start camera should see, so paths do not start facing a wall)."""

    def __post_init__(self) -> None:
        fixed = []
        for i, obj in enumerate(self.objects):
            if obj.instance < 0:
                obj = WorldObject(**{**obj.__dict__, "instance": i})
            fixed.append(obj)
        self.objects = fixed

    @property
    def is_dynamic(self) -> bool:
        return any(not o.motion.is_static for o in self.objects)

    @property
    def num_instances(self) -> int:
        return max(o.instance for o in self.objects) + 1

    def in_free_space(self, points: np.ndarray, margin: float | None = None) -> np.ndarray:
        """Whether world points ``[M, 3]`` keep ``margin`` clearance from every static object at rest."""
        margin = self.camera_margin if margin is None else margin
        points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        free = np.ones(len(points), dtype=bool)
        for obj in self.objects:
            R = np.asarray(obj.rotation)
            local = (points - np.asarray(obj.position)) @ R  # world -> object
            free &= ~inside_shape(obj.shape, local, margin)
        return free
