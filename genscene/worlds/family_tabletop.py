"""The ``tabletop`` family: everyday objects on a table, a wall with a window behind."""

from __future__ import annotations

import math

from genscene.worlds import props as P
from genscene.worlds.builder import Builder, matte, torus_mesh
from genscene.worlds.family_common import WALL_COLORS, family_rng, finish_world, outdoor_light, wall_with_openings
from genscene.worlds.materials import PHOTOS_RGB, photo_texture
from genscene.worlds.motion import Motion
from genscene.worlds.primitives import Box, Cone, Cylinder, Frustum, Plane, Prism, Sphere
from genscene.worlds.world import Lighting, PointLight, World


def tabletop(seed: int, dynamic: bool = False) -> World:
    b = Builder(family_rng("tabletop", seed), dynamic)
    tw, td = b.uniform(1.0, 1.6), b.uniform(0.7, 1.0)
    top_z = 0.75
    top_kind = b.choice(["wood", "wood", "cloth", "stone"])
    if top_kind == "wood":
        top_mat = P.wood(b, planks=b.choice([3, 5]), scale=b.uniform(0.5, 0.8))
    elif top_kind == "cloth":
        c = b.color(P.FABRICS)
        top_mat = matte(b.tex("checker", [c, (0.95, 0.95, 0.92)], (8,)), scale=(0.8, 0.8))
    else:
        top_mat = matte(b.tex("noise", [b.color([(0.9, 0.9, 0.88), (0.3, 0.3, 0.32)]), (0.6, 0.6, 0.6)], (16,)), scale=(1, 1),
                        shiny=0.5)
    P.table(b, 0, 0, 0, 0.0, tw, td, top_z, top_mat)
    # Surroundings: floor and two walls of a room, a window with sky in one.
    b.add(Box((6, 6, 0.05)), P.wood(b, planks=6, scale=1.5), (0, 0, -0.05), name="floor")
    wall_c = b.color(WALL_COLORS, 0.05)
    wall = matte(b.tex(b.choice(["noise", "stripes"]), [wall_c, tuple(0.9 * v for v in wall_c)], (8,)), scale=(1.5, 1.5))
    inst = b.new_instance()
    wall_with_openings(b, wall, inst, -6, 2.5, 0.0, 12, 3.0, 0.15, [(6 + b.uniform(-2, 2), 1.6, 0.9, 2.3)])
    b.add(Box((0.075, 6, 1.5)), wall, (-3.0, 0, 1.5), name="wall.side")
    b.add(Plane(math.inf, math.inf), matte(photo_texture(b.rng, ("grass",), mirror=True), tint=(0.4, 0.65, 0.3), scale=(3, 3)),
          (0, 0, -0.3), name="outside.ground")
    for _ in range(3):
        P.tree(b, b.uniform(-8, 8), b.uniform(6, 14), -0.3, b.uniform(4, 8))
    if b.chance(0.6):
        P.painting(b, b.uniform(-1.5, 1.5) + (2.5 if b.chance(0.5) else -2.5) * 0.4, 2.5 - 0.075, 1.7, math.pi, 0.8, 0.6)

    objects = P.scatter_positions(b, b.choice([7, 9, 11, 13]), (-tw / 2 + 0.12, -td / 2 + 0.12), (tw / 2 - 0.12, td / 2 - 0.12),
                                  0.18)
    moving = 0
    for x, y in objects:
        kind = b.choice(["mug", "ball", "box", "book", "cone", "prism", "bottle", "fruit", "vase", "torus", "rock", "frame"])
        col = b.color(P.FABRICS + [(0.9, 0.9, 0.88)])
        plain = matte(b.tex("noise", [col, tuple(0.85 * v for v in col)], (8,)), scale=(0.3, 0.3), shiny=b.uniform(0, 0.8))
        if kind == "mug":
            inst = b.new_instance()
            b.add(Cylinder(0.045, 0.05), plain, (x, y, top_z + 0.05), instance=inst, name="mug")
            b.add(torus_mesh(0.03, 0.008, 10, 5), plain, (x + 0.05, y, top_z + 0.05), roll=math.pi / 2, instance=inst,
                  name="mug.handle")
        elif kind == "ball":
            r = b.uniform(0.04, 0.09)
            ball = matte(b.tex(b.choice(["checker", "stripes"]), [col, (0.95, 0.95, 0.95)], (2,)), scale=(4 * r, 4 * r), shiny=0.5)
            motion = None
            if dynamic and moving < 2:
                vy = b.uniform(0.1, 0.25) * b.choice([-1, 1])
                motion = Motion(velocity=(0.0, vy, 0.0), spin_axis=(1.0, 0.0, 0.0), spin_rate=-vy / r)
                moving += 1
            b.add(Sphere(r), ball, (x, y, top_z + r), name="ball", **({} if motion is None else {"motion": motion}))
        elif kind == "box":
            s = b.uniform(0.04, 0.1)
            gift = matte(b.tex(b.choice(["checker", "stripes", "noise"]), [col, (0.9, 0.85, 0.3)], (4,)), scale=(2 * s, 2 * s))
            motion = Motion(spin_axis=(0, 0, 1), spin_rate=1.2) if (dynamic and moving < 3) else None
            moving += motion is not None
            b.add(Box((s, s * b.uniform(0.7, 1.3), s * b.uniform(0.6, 1.2))), gift, (x, y, top_z + s * 1.25),
                  b.uniform(0, math.pi), name="box", **({} if motion is None else {"motion": motion}))
        elif kind == "book":
            th = b.uniform(0.015, 0.04)
            b.add(Box((0.1, 0.14, th)), matte(photo_texture(b.rng, PHOTOS_RGB), scale=(0.2, 0.28), offset=(0.5, 0.5)),
                  (x, y, top_z + th), b.uniform(0, math.pi), name="book")
        elif kind == "cone":
            b.add(Cone(b.uniform(0.04, 0.07), b.uniform(0.05, 0.1)), plain, (x, y, top_z + 0.1), name="cone")
        elif kind == "prism":
            n = b.choice([3, 5, 6])
            r = b.uniform(0.04, 0.07)
            poly = tuple((r * math.cos(2 * math.pi * k / n), r * math.sin(2 * math.pi * k / n)) for k in range(n))
            hh = b.uniform(0.03, 0.08)
            b.add(Prism(poly, hh), plain, (x, y, top_z + hh), b.uniform(0, 1), name="prism")
        elif kind == "bottle":
            inst = b.new_instance()
            glass = matte(b.tex("gradient", [b.color([(0.2, 0.45, 0.25), (0.45, 0.25, 0.12), (0.6, 0.7, 0.75)]), (0.1, 0.1, 0.1)]),
                          scale=(0.3, 0.3), shiny=1.0)
            b.add(Cylinder(0.035, 0.08), glass, (x, y, top_z + 0.08), instance=inst, name="bottle")
            b.add(Frustum(0.035, 0.012, 0.03), glass, (x, y, top_z + 0.19), instance=inst)
            b.add(Cylinder(0.012, 0.03), glass, (x, y, top_z + 0.25), instance=inst)
        elif kind == "fruit":
            fc = b.color([(0.9, 0.45, 0.05), (0.75, 0.08, 0.08), (0.55, 0.75, 0.15), (0.95, 0.85, 0.2)])
            b.add(Sphere(0.04), matte(b.tex("noise", [fc, tuple(0.7 * v for v in fc)], (4,)), shiny=0.6), (x, y, top_z + 0.04),
                  name="fruit")
        elif kind == "vase":
            P.vase(b, x, y, top_z, b.uniform(0.15, 0.3))
        elif kind == "torus":
            b.add(torus_mesh(0.06, 0.02), plain, (x, y, top_z + 0.02), name="torus")
        elif kind == "rock":
            P.rock(b, x, y, top_z, b.uniform(0.08, 0.15))
        else:
            inst = b.new_instance()
            yaw = b.uniform(-0.6, 0.6)
            b.add(Box((0.09, 0.01, 0.12)), matte(photo_texture(b.rng, PHOTOS_RGB), scale=(0.18, 0.24), offset=(0.5, 0.5)),
                  (x, y, top_z + 0.12), yaw + math.pi, pitch=0.0, roll=-0.15, instance=inst, name="photo.frame")
    lighting, sky = outdoor_light(b)
    lamp = PointLight((b.uniform(-1, 1), b.uniform(-1, 0.5), b.uniform(1.8, 2.4)), (0.5, 0.47, 0.42), 1.5, True)
    lighting = Lighting(lighting.sun_direction if lighting.sun_direction[1] > 0 else
                        (lighting.sun_direction[0], -lighting.sun_direction[1], lighting.sun_direction[2]),
                        tuple(0.9 * v for v in lighting.sun_color), (0.45, 0.45, 0.47), (0.25, 0.22, 0.2), (lamp,))
    cam = ((-tw / 2 - 0.5, -td / 2 - 0.6, top_z + 0.2), (tw / 2 + 0.3, td / 2 + 0.1, top_z + 0.6))
    look = ((-tw / 3, -td / 3, top_z), (tw / 3, td / 3, top_z + 0.1))
    return finish_world("tabletop", seed, b, lighting, sky, cam, look, {"table": [tw, td, top_z], "fog_distance": math.inf, "max_tilt_deg": 40.0, "min_view_depth": 0.5}, 0.2)
