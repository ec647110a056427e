"""Furniture, street furniture and buildings assembled from primitives (one instance id per prop).

Every prop takes the builder, a ground position ``(x, y)`` (+ floor height ``z``) and a yaw; its local
frame has +y as the prop's front (a chair faces +y, a building's facade faces -y).
"""

from __future__ import annotations

import math

import numpy as np

from genscene.worlds.builder import Builder, lathe_mesh, matte, rock_mesh
from genscene.worlds.materials import PHOTOS_RGB, photo_texture
from genscene.worlds.motion import Motion
from genscene.worlds.primitives import Box, Cone, Cylinder, Frustum, Prism, Sphere

WOODS = [(0.55, 0.36, 0.2), (0.7, 0.52, 0.32), (0.38, 0.24, 0.14), (0.8, 0.66, 0.45), (0.3, 0.2, 0.13)]
FABRICS = [(0.55, 0.18, 0.16), (0.2, 0.32, 0.5), (0.45, 0.5, 0.35), (0.7, 0.62, 0.5), (0.3, 0.3, 0.33),
           (0.75, 0.55, 0.2), (0.15, 0.4, 0.4), (0.6, 0.45, 0.55)]
METALS = [(0.75, 0.75, 0.78), (0.2, 0.2, 0.22), (0.65, 0.55, 0.35)]
LEAVES = [(0.18, 0.38, 0.12), (0.25, 0.45, 0.15), (0.12, 0.3, 0.14), (0.35, 0.42, 0.12)]


def _local(x: float, y: float, yaw: float, dx: float, dy: float) -> tuple[float, float]:
    c, s = math.cos(yaw), math.sin(yaw)
    return x + c * dx - s * dy, y + s * dx + c * dy


def wood(b: Builder, planks: int = 3, scale: float = 1.0):
    c = b.color(WOODS)
    return matte(b.tex("wood", [c, tuple(0.6 * v for v in c)], (planks,)), scale=(scale, scale))


def fabric(b: Builder):
    c = b.color(FABRICS)
    if b.chance(0.3):
        return matte(b.tex("stripes", [c, tuple(min(1, v * 1.4) for v in c)], (b.choice([6, 10, 16]),)), scale=(0.6, 0.6))
    return matte(b.tex("fabric", [c, tuple(0.7 * v for v in c)]), scale=(0.3, 0.3))


def metal(b: Builder):
    c = b.color(METALS, 0.04)
    return matte(b.tex("noise", [c, tuple(0.85 * v for v in c)], (8,)), shiny=0.6)


def table(b: Builder, x, y, z, yaw, w, d, h, mat=None) -> int:
    mat = mat or wood(b)
    inst = b.new_instance()
    top = 0.035
    b.add(Box((w / 2, d / 2, top)), mat, (x, y, z + h - top), yaw, instance=inst, name="table.top")
    leg = b.choice(["box", "round"])
    for sx in (-1, 1):
        for sy in (-1, 1):
            lx, ly = _local(x, y, yaw, sx * (w / 2 - 0.07), sy * (d / 2 - 0.07))
            shape = Box((0.03, 0.03, (h - 2 * top) / 2)) if leg == "box" else Cylinder(0.03, (h - 2 * top) / 2)
            b.add(shape, mat, (lx, ly, z + (h - 2 * top) / 2), yaw, instance=inst, name="table.leg")
    return inst


def chair(b: Builder, x, y, z, yaw, mat=None, seat_mat=None) -> int:
    mat = mat or wood(b)
    seat_mat = seat_mat or mat
    inst = b.new_instance()
    s, hseat = 0.22, 0.45
    b.add(Box((s, s, 0.03)), seat_mat, (x, y, z + hseat), yaw, instance=inst, name="chair.seat")
    bx, by = _local(x, y, yaw, 0, -s + 0.02)
    b.add(Box((s, 0.02, 0.22)), mat, (bx, by, z + hseat + 0.25), yaw, instance=inst, name="chair.back")
    for sx in (-1, 1):
        for sy in (-1, 1):
            lx, ly = _local(x, y, yaw, sx * (s - 0.03), sy * (s - 0.03))
            b.add(Box((0.02, 0.02, (hseat - 0.03) / 2)), mat, (lx, ly, z + (hseat - 0.03) / 2), yaw, instance=inst)
    return inst


def sofa(b: Builder, x, y, z, yaw, w) -> int:
    mat = fabric(b)
    inst = b.new_instance()
    d = 0.9
    b.add(Box((w / 2, d / 2, 0.2)), mat, (x, y, z + 0.2), yaw, instance=inst, name="sofa.base")
    bx, by = _local(x, y, yaw, 0, -d / 2 + 0.1)
    b.add(Box((w / 2, 0.1, 0.25)), mat, (bx, by, z + 0.65), yaw, instance=inst, name="sofa.back")
    for sx in (-1, 1):
        ax, ay = _local(x, y, yaw, sx * (w / 2 - 0.1), 0)
        b.add(Box((0.1, d / 2, 0.13)), mat, (ax, ay, z + 0.53), yaw, instance=inst, name="sofa.arm")
    cushion = fabric(b)
    for i in range(b.choice([1, 2, 3])):
        cx, cy = _local(x, y, yaw, -w / 2 + 0.4 + i * 0.5, -d / 2 + 0.3)
        b.add(Box((0.2, 0.07, 0.18)), cushion, (cx, cy, z + 0.58), yaw + b.uniform(-0.2, 0.2), pitch=0.2,
              name="sofa.cushion")
    return inst


def bed(b: Builder, x, y, z, yaw, w, l) -> int:
    frame = wood(b)
    inst = b.new_instance()
    b.add(Box((w / 2, l / 2, 0.15)), frame, (x, y, z + 0.2), yaw, instance=inst, name="bed.frame")
    hx, hy = _local(x, y, yaw, 0, -l / 2 + 0.04)
    b.add(Box((w / 2, 0.04, 0.5)), frame, (hx, hy, z + 0.5), yaw, instance=inst, name="bed.head")
    sheet = fabric(b)
    b.add(Box((w / 2 - 0.03, l / 2 - 0.06, 0.12)), sheet, (x, y + 0.0, z + 0.47), yaw, name="bed.mattress")
    for sx in ((-0.25, 0.25) if w > 1.2 else (0.0,)):
        px, py = _local(x, y, yaw, sx * w, -l / 2 + 0.3)
        b.add(Box((0.25, 0.15, 0.07)), matte(b.tex("fabric", [(0.92, 0.92, 0.9), (0.8, 0.8, 0.8)]), scale=(0.3, 0.3)),
              (px, py, z + 0.65), yaw, name="bed.pillow")
    return inst


def bookcase(b: Builder, x, y, z, yaw, w, h) -> int:
    inst = b.new_instance()
    frame = wood(b)
    d = 0.35
    b.add(Box((w / 2, d / 2, h / 2)), frame, (x, y, z + h / 2), yaw, instance=inst, name="bookcase.body")
    shelves = max(2, int(h / 0.38))
    books = matte(b.tex("books", [b.color(WOODS)]), scale=(w, h / shelves))
    fx, fy = _local(x, y, yaw, 0, d / 2 + 0.005)
    b.add(Box((w / 2 - 0.04, 0.006, h / 2 - 0.05)), books, (fx, fy, z + h / 2), yaw, name="bookcase.books")
    return inst


def cabinet(b: Builder, x, y, z, yaw, w, h) -> int:
    inst = b.new_instance()
    c = b.color(WOODS + [(0.9, 0.9, 0.88), (0.3, 0.35, 0.4)])
    drawers = matte(b.tex("stripes", [c, tuple(0.55 * v for v in c)], (b.choice([3, 4]),)), scale=(h, h))
    b.add(Box((w / 2, 0.25, h / 2)), drawers, (x, y, z + h / 2), yaw, pitch=0, instance=inst, name="cabinet")
    return inst


def floor_lamp(b: Builder, x, y, z) -> tuple[int, tuple[float, float, float]]:
    inst = b.new_instance()
    m = metal(b)
    h = b.uniform(1.4, 1.7)
    b.add(Cylinder(0.15, 0.015), m, (x, y, z + 0.015), instance=inst)
    b.add(Cylinder(0.015, h / 2), m, (x, y, z + h / 2), instance=inst)
    shade = matte(b.tex("fabric", [(0.95, 0.9, 0.75), (0.85, 0.8, 0.65)]), scale=(0.2, 0.2), emissive=0.8)
    b.add(Frustum(0.22, 0.14, 0.13), shade, (x, y, z + h), instance=inst, shadow=False, name="lamp.shade")
    return inst, (x, y, z + h - 0.05)


def potted_plant(b: Builder, x, y, z, scale: float = 1.0) -> int:
    inst = b.new_instance()
    pot = matte(b.tex("noise", [b.color([(0.7, 0.35, 0.2), (0.85, 0.85, 0.82), (0.25, 0.25, 0.28)]),
                                (0.5, 0.3, 0.2)], (8,)), scale=(0.5, 0.5))
    r = 0.18 * scale
    b.add(Frustum(r * 0.75, r, r * 1.1), pot, (x, y, z + r * 1.1), instance=inst, name="plant.pot")
    leaves = matte(b.tex("leaves", [b.color(LEAVES), (0.05, 0.15, 0.05)]), scale=(0.4, 0.4))
    if b.chance(0.5):
        b.add(Sphere(r * 1.6), leaves, (x, y, z + r * 2.2 + r * 1.3), instance=inst, name="plant.leaves")
    else:
        b.add(Cone(r * 1.5, r * 2.5), leaves, (x, y, z + r * 2.2 + r * 2.5), instance=inst, name="plant.leaves")
    return inst


def painting(b: Builder, x, y, z, yaw, w, h) -> int:
    """A framed photo on a wall; (x, y) is on the wall surface, the picture faces local +y."""
    inst = b.new_instance()
    photo = photo_texture(b.rng, PHOTOS_RGB, min_frac=0.5)
    frame = matte(b.tex("noise", [b.color(WOODS + [(0.9, 0.88, 0.8), (0.1, 0.1, 0.1)]), (0.2, 0.15, 0.1)], (8,)),
                  scale=(0.5, 0.5))
    fx, fy = _local(x, y, yaw, 0, 0.02)
    b.add(Box((w / 2 + 0.04, 0.02, h / 2 + 0.04)), frame, (fx, fy, z), yaw, instance=inst, name="painting.frame")
    px, py = _local(x, y, yaw, 0, 0.041)
    b.add(Box((w / 2, 0.002, h / 2)), matte(photo, scale=(w, h), offset=(0.5, 0.5)), (px, py, z), yaw,
          instance=inst, name="painting.photo")
    return inst


def vase(b: Builder, x, y, z, h) -> int:
    r = h * b.uniform(0.25, 0.4)
    profile = [(r * 0.6, -h / 2), (r, -h / 4), (r * 0.9, 0.0), (r * 0.45, h / 4), (r * 0.5, h / 2)]
    glaze = matte(b.tex("gradient", [b.color(FABRICS), b.color(FABRICS)]), scale=(h, h), shiny=0.8)
    return b.add(lathe_mesh(profile, segments=12), glaze, (x, y, z + h / 2), name="vase")


def rock(b: Builder, x, y, z, size) -> int:
    stone = matte(b.tex("noise", [(0.55, 0.53, 0.5), (0.3, 0.29, 0.28)], (8,)), scale=(size, size))
    return b.add(rock_mesh(b.rng, size), stone, (x, y, z + size * 0.2), yaw=b.uniform(0, 6.28), name="rock")


def tree(b: Builder, x, y, z, h) -> int:
    inst = b.new_instance()
    bark = matte(b.tex("stripes", [(0.35, 0.25, 0.18), (0.25, 0.18, 0.12)], (12,)), scale=(0.5, 0.8))
    trunk_h = h * b.uniform(0.35, 0.5)
    b.add(Frustum(0.12 * h / 6, 0.08 * h / 6, trunk_h / 2), bark, (x, y, z + trunk_h / 2), instance=inst, name="tree.trunk")
    leaves = matte(b.tex("leaves", [b.color(LEAVES), (0.06, 0.16, 0.05)]), scale=(1.5, 1.5))
    crown = h - trunk_h
    if b.chance(0.35):
        b.add(Cone(crown * 0.4, crown / 2 + 0.3), leaves, (x, y, z + trunk_h + crown / 2 - 0.3), instance=inst, name="tree.crown")
    else:
        r = crown * 0.5
        b.add(Sphere(r), leaves, (x, y, z + trunk_h + r * 0.8), instance=inst, name="tree.crown")
        if b.chance(0.6):
            ox, oy = b.uniform(-r, r) * 0.5, b.uniform(-r, r) * 0.5
            b.add(Sphere(r * 0.7), leaves, (x + ox, y + oy, z + trunk_h + r * 1.5), instance=inst, name="tree.crown")
    return inst


def street_lamp(b: Builder, x, y, z, yaw) -> int:
    inst = b.new_instance()
    m = matte(b.tex("noise", [(0.15, 0.16, 0.17), (0.1, 0.1, 0.1)], (8,)), shiny=0.4)
    h = b.uniform(4.0, 5.5)
    b.add(Cylinder(0.07, h / 2), m, (x, y, z + h / 2), instance=inst)
    ax, ay = _local(x, y, yaw, 0, 0.5)
    b.add(Box((0.04, 0.5, 0.04)), m, (ax, ay, z + h), yaw, instance=inst)
    lx, ly = _local(x, y, yaw, 0, 0.95)
    glass = matte(b.tex("noise", [(1.0, 0.95, 0.8), (0.9, 0.85, 0.7)], (4,)), emissive=0.6)
    b.add(Frustum(0.08, 0.18, 0.1), glass, (lx, ly, z + h - 0.12), instance=inst, shadow=False)
    return inst


def car(b: Builder, x, y, z, yaw, motion: Motion | None = None, speed: float = 0.0) -> int:
    """A car whose length is along local x; ``motion`` (world velocity) drives every part alike."""
    inst = b.new_instance()
    paint_c = b.color([(0.7, 0.1, 0.1), (0.1, 0.2, 0.5), (0.9, 0.9, 0.9), (0.15, 0.15, 0.15), (0.6, 0.6, 0.62),
                       (0.2, 0.4, 0.25), (0.85, 0.7, 0.2)])
    paint = matte(b.tex("noise", [paint_c, tuple(0.85 * v for v in paint_c)], (4,)), shiny=0.9)
    glass = matte(b.tex("gradient", [(0.35, 0.45, 0.55), (0.1, 0.12, 0.15)]), scale=(1.0, 0.6), shiny=1.0)
    tyre = matte(b.tex("stripes", [(0.08, 0.08, 0.08), (0.15, 0.15, 0.15)], (8,)), scale=(0.3, 0.3))
    L, W = b.uniform(3.8, 4.6), b.uniform(1.7, 1.9)
    kw = {} if motion is None else {"motion": motion}
    b.add(Box((L / 2, W / 2, 0.32)), paint, (x, y, z + 0.62), yaw, instance=inst, name="car.body", **kw)
    cx, cy = _local(x, y, yaw, -0.2, 0)
    b.add(Box((L * 0.28, W / 2 - 0.08, 0.26)), glass, (cx, cy, z + 1.18), yaw, instance=inst, name="car.cabin", **kw)
    for sx in (-1, 1):
        for sy in (-1, 1):
            wx, wy = _local(x, y, yaw, sx * L * 0.32, sy * (W / 2 - 0.05))
            wheel_motion = motion
            if motion is not None and speed:
                # Wheels roll: spin about their axle (local y) at v / r while the car moves.
                axle = (-math.sin(yaw), math.cos(yaw), 0.0)
                wheel_motion = Motion(velocity=motion.velocity, spin_axis=axle, spin_rate=speed / 0.33)
            b.add(Cylinder(0.33, 0.11), tyre, (wx, wy, z + 0.33), yaw, roll=math.pi / 2, instance=inst,
                  name="car.wheel", **({} if wheel_motion is None else {"motion": wheel_motion}))
    return inst


def bench(b: Builder, x, y, z, yaw) -> int:
    inst = b.new_instance()
    mat = wood(b, planks=4)
    b.add(Box((0.9, 0.22, 0.03)), mat, (x, y, z + 0.45), yaw, instance=inst)
    bx, by = _local(x, y, yaw, 0, -0.22)
    b.add(Box((0.9, 0.03, 0.18)), mat, (bx, by, z + 0.7), yaw, instance=inst)
    m = metal(b)
    for sx in (-1, 1):
        lx, ly = _local(x, y, yaw, sx * 0.75, 0)
        b.add(Box((0.03, 0.2, 0.21)), m, (lx, ly, z + 0.21), yaw, instance=inst)
    return inst


FACADE_WALLS = [(0.85, 0.8, 0.7), (0.75, 0.55, 0.45), (0.9, 0.88, 0.82), (0.6, 0.62, 0.65), (0.8, 0.7, 0.5),
                (0.55, 0.35, 0.28), (0.7, 0.75, 0.7), (0.95, 0.85, 0.75)]


def facade_material(b: Builder, bay: float, floor_h: float):
    wall = b.color(FACADE_WALLS)
    if b.chance(0.3):  # brick facade: photo or procedural brick under the windows
        glass = (0.3, 0.38, 0.45)
    else:
        glass = b.color([(0.25, 0.33, 0.42), (0.35, 0.42, 0.5), (0.2, 0.25, 0.3)])
    frame = b.color([(0.95, 0.95, 0.92), (0.25, 0.22, 0.2), (0.5, 0.35, 0.2)])
    spec = b.tex("facade", [wall, glass, frame], (b.uniform(0.35, 0.6), b.uniform(0.45, 0.6)))
    return matte(spec, scale=(bay, floor_h), offset=(0.0, b.uniform(0, 1)))


def building(b: Builder, x, y, z, yaw, w, d, h) -> int:
    """A block with window facades, facing local -y; gabled or flat roof with a ledge."""
    inst = b.new_instance()
    floor_h = b.uniform(2.8, 3.5)
    bay = b.uniform(2.2, 3.5)
    fac = facade_material(b, bay, floor_h)
    # Offset the texture so window rows start one storey up (ground floor handled by a base band).
    b.add(Box((w / 2, d / 2, h / 2)), fac, (x, y, z + h / 2), yaw, instance=inst, name="building")
    base_c = b.color([(0.35, 0.33, 0.3), (0.55, 0.5, 0.45), (0.25, 0.25, 0.28)])
    if b.chance(0.5):
        base = matte(b.tex("brick", [base_c, (0.75, 0.73, 0.7)], (8, 4)), scale=(1.2, 0.6))
    else:
        base = matte(b.tex("noise", [base_c, tuple(0.8 * v for v in base_c)], (8,)), scale=(2, 2))
    fx, fy = _local(x, y, yaw, 0, -d / 2 - 0.1)
    b.add(Box((w / 2, 0.1, 0.6)), base, (fx, fy, z + 0.6), yaw, instance=inst, name="building.base")
    roof_c = b.color([(0.45, 0.2, 0.15), (0.3, 0.3, 0.32), (0.5, 0.3, 0.2)])
    if b.chance(0.45) and h < 18:
        rh = b.uniform(1.5, 3.0)
        roof = matte(b.tex("stripes", [roof_c, tuple(0.7 * v for v in roof_c)], (16,)), scale=(2, 2))
        # Triangle in local (y, z) extruded along local x: rotate the prism's z onto local x.
        b.add(Prism(((-d / 2 - 0.3, 0), (d / 2 + 0.3, 0), (0, rh)), w / 2 + 0.2), roof, (x, y, z + h),
              yaw + math.pi / 2, roll=math.pi / 2, instance=inst, name="building.roof")
    else:
        ledge = matte(b.tex("noise", [(0.7, 0.7, 0.68), (0.5, 0.5, 0.5)], (8,)), scale=(2, 2))
        b.add(Box((w / 2 + 0.15, d / 2 + 0.15, 0.15)), ledge, (x, y, z + h + 0.15), yaw, instance=inst, name="building.ledge")
    if b.chance(0.4):
        aw = b.color(FABRICS)
        awning = matte(b.tex("stripes", [aw, (0.92, 0.9, 0.85)], (10,)), scale=(2, 2))
        ax, ay = _local(x, y, yaw, b.uniform(-w / 4, w / 4), -d / 2 - 0.7)
        b.add(Box((min(w / 2 - 0.3, 2.5), 0.7, 0.04)), awning, (ax, ay, z + 2.7), yaw, pitch=0.0, roll=-0.25,
              name="building.awning")
    return inst


def fountain(b: Builder, x, y, z) -> int:
    inst = b.new_instance()
    stone = matte(b.tex("noise", [(0.78, 0.76, 0.72), (0.55, 0.53, 0.5)], (16,)), scale=(1, 1))
    water = matte(b.tex("noise", [(0.25, 0.45, 0.55), (0.15, 0.3, 0.4)], (8,)), scale=(1, 1), shiny=1.0)
    r = b.uniform(1.5, 2.5)
    b.add(Cylinder(r, 0.25), stone, (x, y, z + 0.25), instance=inst, name="fountain.basin")
    b.add(Cylinder(r - 0.15, 0.01), water, (x, y, z + 0.42), instance=inst, name="fountain.water")
    b.add(Cylinder(0.25, 0.6), stone, (x, y, z + 0.9), instance=inst)
    b.add(Frustum(0.2, 0.7, 0.12), stone, (x, y, z + 1.55), instance=inst)
    b.add(Sphere(0.25), stone, (x, y, z + 1.9), instance=inst)
    return inst


def column(b: Builder, x, y, z, h, mat) -> int:
    inst = b.new_instance()
    b.add(Box((0.25, 0.25, 0.1)), mat, (x, y, z + 0.1), instance=inst)
    b.add(Cylinder(0.17, h / 2 - 0.2), mat, (x, y, z + h / 2), instance=inst)
    b.add(Box((0.25, 0.25, 0.1)), mat, (x, y, z + h - 0.1), instance=inst)
    return inst


def scatter_positions(b: Builder, n: int, lo, hi, min_dist: float, taken: list | None = None, tries: int = 200) -> list:
    """Up to ``n`` 2D points in the box ``lo..hi`` at least ``min_dist`` apart (and from ``taken``)."""
    pts = list(taken or [])
    out = []
    for _ in range(tries):
        if len(out) >= n:
            break
        p = np.array([b.uniform(lo[0], hi[0]), b.uniform(lo[1], hi[1])])
        if all(np.linalg.norm(p - np.asarray(q[:2])) >= max(min_dist, q[2] if len(q) > 2 else 0) for q in pts):
            pts.append((p[0], p[1], min_dist))
            out.append((float(p[0]), float(p[1])))
    return out
