"""A small helper that accumulates objects and materials while a family generator builds a world."""

from __future__ import annotations

import math

import numpy as np

from genscene.worlds.materials import Material, TextureSpec, jitter_color
from genscene.worlds.motion import STATIC, Motion
from genscene.worlds.primitives import Shape, TriMesh
from genscene.worlds.world import WorldObject, rotation_zyx


class Builder:
    """Collects :class:`WorldObject` s; each ``add`` starts a new instance unless ``instance`` is given."""

    def __init__(self, rng: np.random.Generator, dynamic: bool = False):
        self.rng = rng
        self.dynamic = dynamic
        self.objects: list[WorldObject] = []
        self.materials: list[Material] = []
        self._material_ids: dict[Material, int] = {}
        self._next_instance = 0

    # ---------------------------------------------------------------- bookkeeping
    def material(self, material: Material) -> int:
        """Index of ``material`` (deduplicated)."""
        if material not in self._material_ids:
            self._material_ids[material] = len(self.materials)
            self.materials.append(material)
        return self._material_ids[material]

    def new_instance(self) -> int:
        self._next_instance += 1
        return self._next_instance - 1

    def add(self, shape: Shape, material: Material | int, at, yaw: float = 0.0, pitch: float = 0.0,
            roll: float = 0.0, instance: int | None = None, motion: Motion = STATIC, shadow: bool = True,
            name: str = "") -> int:
        """Place ``shape`` at ``at`` (world, m) rotated by yaw/pitch/roll (rad); returns its instance id."""
        mid = material if isinstance(material, int) else self.material(material)
        inst = self.new_instance() if instance is None else instance
        R = rotation_zyx(yaw, pitch, roll)
        self.objects.append(WorldObject(shape, mid, tuple(float(v) for v in at), tuple(map(tuple, R.tolist())),
                                        inst, motion, shadow, name))
        return inst

    # ---------------------------------------------------------------- random helpers
    def uniform(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    def choice(self, options):
        return options[int(self.rng.integers(len(options)))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def seed(self) -> int:
        return int(self.rng.integers(2**31))

    def color(self, palette, amount: float = 0.08):
        return jitter_color(self.rng, self.choice(palette), amount)

    def tex(self, kind: str, colors, params=(), **kw) -> TextureSpec:
        return TextureSpec(kind, seed=self.seed(), colors=tuple(tuple(map(float, c)) for c in colors),
                           params=tuple(float(p) for p in params), **kw)


# ------------------------------------------------------------------------------ mesh makers
def lathe_mesh(profile: list[tuple[float, float]], segments: int = 12) -> TriMesh:
    """A surface of revolution about z from ``profile`` ``[(radius, z), ...]`` bottom to top, capped."""
    rings = []
    for r, z in profile:
        ang = np.arange(segments) * 2 * math.pi / segments
        rings.append(np.stack([r * np.cos(ang), r * np.sin(ang), np.full(segments, z)], -1))
    verts = np.concatenate(rings + [np.array([[0, 0, profile[0][1]], [0, 0, profile[-1][1]]])])
    faces = []
    for i in range(len(profile) - 1):
        for j in range(segments):
            a, b = i * segments + j, i * segments + (j + 1) % segments
            c, d = a + segments, b + segments
            faces += [(a, b, d), (a, d, c)]
    bottom, top = len(verts) - 2, len(verts) - 1
    last = (len(profile) - 1) * segments
    for j in range(segments):
        faces.append((bottom, (j + 1) % segments, j))
        faces.append((top, last + j, last + (j + 1) % segments))
    return TriMesh.from_arrays(verts, np.asarray(faces))


def icosphere(subdivisions: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Unit icosphere: vertices ``[V, 3]``, outward counter-clockwise faces ``[F, 3]``."""
    p = (1 + 5**0.5) / 2
    verts = [(-1, p, 0), (1, p, 0), (-1, -p, 0), (1, -p, 0), (0, -1, p), (0, 1, p), (0, -1, -p), (0, 1, -p),
             (p, 0, -1), (p, 0, 1), (-p, 0, -1), (-p, 0, 1)]
    faces = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4), (11, 10, 2),
             (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8), (3, 8, 9), (4, 9, 5), (2, 4, 11),
             (6, 2, 10), (8, 6, 7), (9, 8, 1)]
    v = [np.asarray(x, float) / np.linalg.norm(x) for x in verts]
    for _ in range(subdivisions):
        mid: dict[tuple[int, int], int] = {}

        def midpoint(a: int, b: int) -> int:
            key = (min(a, b), max(a, b))
            if key not in mid:
                m = v[a] + v[b]
                v.append(m / np.linalg.norm(m))
                mid[key] = len(v) - 1
            return mid[key]

        new_faces = []
        for a, b, c in faces:
            ab, bc, ca = midpoint(a, b), midpoint(b, c), midpoint(c, a)
            new_faces += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        faces = new_faces
    return np.asarray(v), np.asarray(faces)


def rock_mesh(rng: np.random.Generator, size: float) -> TriMesh:
    """A lumpy rock: an icosphere with seeded radial noise, flattened a little."""
    verts, faces = icosphere(1)
    v = verts * rng.uniform(0.75, 1.2, size=(len(verts), 1))
    v[:, 2] *= rng.uniform(0.5, 0.8)
    return TriMesh.from_arrays(v * size / 2, faces)


def torus_mesh(major: float, minor: float, segments: int = 14, sides: int = 6) -> TriMesh:
    """A torus in the object xy-plane."""
    u = np.arange(segments) * 2 * math.pi / segments
    v = np.arange(sides) * 2 * math.pi / sides
    uu, vv = np.meshgrid(u, v, indexing="ij")
    x = (major + minor * np.cos(vv)) * np.cos(uu)
    y = (major + minor * np.cos(vv)) * np.sin(uu)
    z = minor * np.sin(vv)
    verts = np.stack([x, y, z], -1).reshape(-1, 3)
    faces = []
    for i in range(segments):
        for j in range(sides):
            a = i * sides + j
            b = ((i + 1) % segments) * sides + j
            c = ((i + 1) % segments) * sides + (j + 1) % sides
            d = i * sides + (j + 1) % sides
            faces += [(a, b, c), (a, c, d)]
    return TriMesh.from_arrays(verts, np.asarray(faces))


def matte(texture: TextureSpec, tint=(1.0, 1.0, 1.0), scale=(1.0, 1.0), **kw) -> Material:
    return Material(texture, tuple(map(float, tint)), tuple(map(float, scale)), **kw)
