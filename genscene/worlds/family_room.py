"""The ``room`` family: walls built around windows and a door, furniture, lamp and sun, a garden outside."""

from __future__ import annotations

import math
from dataclasses import replace

from genscene.worlds import props as P
from genscene.worlds.builder import Builder, matte, torus_mesh
from genscene.worlds.family_common import WALL_COLORS, family_rng, finish_world, outdoor_light, wall_with_openings
from genscene.worlds.materials import PHOTOS_RGB, photo_texture
from genscene.worlds.motion import Motion
from genscene.worlds.primitives import Box, Cylinder, Frustum, Plane, Sphere
from genscene.worlds.world import Lighting, PointLight, World


def room(seed: int, dynamic: bool = False) -> World:
    b = Builder(family_rng("room", seed), dynamic)
    W, D, H = b.uniform(4.0, 7.0), b.uniform(4.0, 6.5), b.uniform(2.6, 3.2)
    t = 0.15
    wall_c = b.color(WALL_COLORS, 0.05)
    if b.chance(0.2):
        wall_mat = matte(b.tex("stripes", [wall_c, tuple(0.9 * v for v in wall_c)], (b.choice([8, 12, 20]),)), scale=(1.2, 1.2))
    else:
        wall_mat = matte(b.tex("noise", [wall_c, tuple(0.93 * v for v in wall_c)], (8,)), scale=(2.0, 2.0))
    floor_kind = b.choice(["wood", "wood", "wood", "tiles", "tiles", "checker", "carpet", "photo"])
    if floor_kind == "wood":
        floor = P.wood(b, planks=b.choice([4, 6, 8]), scale=b.uniform(1.0, 1.8))
    elif floor_kind == "tiles":
        c = b.color([(0.85, 0.83, 0.8), (0.6, 0.55, 0.5), (0.4, 0.42, 0.45)])
        floor = matte(b.tex("tiles", [c, (0.3, 0.3, 0.3)], (4,)), scale=(2.0, 2.0))
    elif floor_kind == "checker":
        dark = b.color([(0.15, 0.15, 0.17), (0.45, 0.25, 0.2), (0.3, 0.4, 0.45)])
        floor = matte(b.tex("checker", [(0.88, 0.86, 0.82), dark], (4,)), scale=(1.2, 1.2), shiny=0.3)
    elif floor_kind == "carpet":
        floor = matte(b.tex("fabric", [b.color(P.FABRICS), (0.3, 0.3, 0.3)]), scale=(0.5, 0.5))
    else:
        floor = matte(photo_texture(b.rng, ("gravel", "brick"), mirror=True), tint=b.color(P.WOODS), scale=(1.5, 1.5))
    b.add(Box((W / 2 + t, D / 2 + t, 0.05)), floor, (0, 0, -0.05), name="floor")
    b.add(Box((W / 2 + t, D / 2 + t, 0.05)), matte(b.tex("noise", [(0.95, 0.95, 0.93), (0.88, 0.88, 0.86)], (8,)),
                                                    scale=(3, 3)), (0, 0, H + 0.05), name="ceiling")

    # Walls: (start x, start y, yaw, length); inner faces at x = +-W/2, y = +-D/2.
    walls = [(-W / 2 - t / 2, -D / 2 - t / 2, 0.0, W + t), (W / 2 + t / 2, -D / 2 - t / 2, math.pi / 2, D + t),
             (W / 2 + t / 2, D / 2 + t / 2, math.pi, W + t), (-W / 2 - t / 2, D / 2 + t / 2, -math.pi / 2, D + t)]
    window_walls = set(b.rng.choice(4, size=b.choice([1, 1, 2, 3]), replace=False).tolist())
    door_wall = int(b.rng.integers(4))
    openings_all: dict[int, list] = {}
    sun_walls = []
    for i, (x0, y0, yaw, length) in enumerate(walls):
        ops = []
        if i == door_wall:
            uc = b.uniform(0.9, length - 0.9)
            ops.append((uc, 0.95, -0.01, 2.1, "door"))
        if i in window_walls:
            n = b.choice([1, 2]) if length > 4.5 else 1
            for k in range(n):
                uc = length * (k + 1) / (n + 1) + b.uniform(-0.3, 0.3)
                w = b.uniform(0.9, 1.6) if n == 2 else b.uniform(1.2, 2.4)
                if all(abs(uc - o[0]) > (w + o[1]) / 2 + 0.3 for o in ops):
                    ops.append((uc, w, b.uniform(0.7, 1.0), min(H - 0.3, b.uniform(2.0, 2.4)), "window"))
                    sun_walls.append(i)
        openings_all[i] = ops
        inst = b.new_instance()
        wall_with_openings(b, wall_mat, inst, x0, y0, yaw, length, H, t, [o[:4] for o in ops])

    frame_mat = matte(b.tex("noise", [b.color([(0.95, 0.95, 0.93), (0.4, 0.28, 0.18), (0.2, 0.2, 0.2)]), (0.8, 0.8, 0.8)],
                            (8,)), scale=(1, 1))
    door_mat = P.wood(b, planks=2)
    curtain = P.fabric(b) if b.chance(0.6) else None
    for i, ops in openings_all.items():
        x0, y0, yaw, length = walls[i]
        c, s = math.cos(yaw), math.sin(yaw)
        for uc, w, z0, z1, kind in ops:
            cx, cy = x0 + c * uc, y0 + s * uc
            inst = b.new_instance()
            if kind == "window":
                b.add(Box((w / 2 + 0.05, t / 2 + 0.03, 0.03)), frame_mat, (cx, cy, z0 + 0.03), yaw, instance=inst, name="window.sill")
                b.add(Box((w / 2, 0.025, 0.025)), frame_mat, (cx, cy, z0 + 0.6 * (z1 - z0)), yaw, instance=inst, name="window.bar")
                b.add(Box((0.025, 0.025, (z1 - z0) / 2)), frame_mat, (cx, cy, 0.5 * (z0 + z1)), yaw, instance=inst, name="window.mullion")
                if curtain is not None:  # curtains hang on both sides, just inside the room
                    for side in (-1, 1):
                        u = uc + side * (w / 2 + 0.18)
                        px, py = x0 + c * u - s * (t / 2 + 0.06), y0 + s * u + c * (t / 2 + 0.06)
                        b.add(Box((0.2, 0.03, (min(H - 0.05, z1 + 0.25)) / 2)), curtain, (px, py, min(H - 0.05, z1 + 0.25) / 2),
                              yaw, name="curtain")
            else:
                open_angle = b.choice([0.0, b.uniform(1.0, 1.5)])
                hx, hy = cx - c * w / 2, cy - s * w / 2  # hinge
                ang = yaw + open_angle
                lx, ly = hx + math.cos(ang) * w / 2, hy + math.sin(ang) * w / 2
                b.add(Box((w / 2 - 0.01, 0.025, 1.04)), door_mat, (lx, ly, 1.05), ang, instance=inst,
                      name="door.leaf")
                kx, ky = hx + math.cos(ang) * (w - 0.12) + math.cos(ang + math.pi / 2) * 0.05, hy + math.sin(ang) * (w - 0.12) + math.sin(ang + math.pi / 2) * 0.05
                b.add(Sphere(0.03), P.metal(b), (kx, ky, 1.0), instance=inst, name="door.knob")

    # Outside: ground, trees and houses seen through the windows.
    grass = matte(photo_texture(b.rng, ("grass",), mirror=True), tint=(0.45, 0.7, 0.35), scale=(3, 3))
    b.add(Plane(math.inf, math.inf), grass, (0, 0, -0.2), name="outside.ground")
    for k in range(b.choice([3, 5, 8])):
        ang = b.uniform(0, 2 * math.pi)
        r = b.uniform(max(W, D) / 2 + 3, max(W, D) / 2 + 15)
        if b.chance(0.6):
            P.tree(b, r * math.cos(ang), r * math.sin(ang), -0.2, b.uniform(4, 9))
        else:
            P.building(b, r * math.cos(ang), r * math.sin(ang), -0.2, ang + math.pi / 2, b.uniform(5, 10), b.uniform(5, 8),
                       b.uniform(4, 9))

    # Baseboards.
    base = matte(b.tex("noise", [(0.95, 0.95, 0.93), (0.85, 0.85, 0.83)], (4,)))
    inst = b.new_instance()
    for x, y, hx, hy in ((0, -D / 2 + 0.01, W / 2, 0.01), (0, D / 2 - 0.01, W / 2, 0.01),
                         (-W / 2 + 0.01, 0, 0.01, D / 2), (W / 2 - 0.01, 0, 0.01, D / 2)):
        b.add(Box((hx, hy, 0.05)), base, (x, y, 0.05), instance=inst, name="baseboard")

    _furnish_room(b, W, D, H, openings_all, walls)

    lighting, sky = outdoor_light(b)
    # Sun through a window wall: point the sun from that wall's outer side.
    if sun_walls:
        x0, y0, yaw, _ = walls[sun_walls[0]]
        outward = yaw - math.pi / 2
        elev = b.uniform(0.3, 0.7)
        az = outward + b.uniform(-0.6, 0.6)
        lighting = Lighting((math.cos(elev) * math.cos(az), math.cos(elev) * math.sin(az), math.sin(elev)),
                            lighting.sun_color, lighting.ambient_sky, lighting.ambient_ground)
    lamp_c = b.color([(1.0, 0.85, 0.65), (1.0, 0.95, 0.85)], 0.03)
    lamp = PointLight((b.uniform(-W / 4, W / 4), b.uniform(-D / 4, D / 4), H - 0.4), tuple(0.9 * v for v in lamp_c),
                      falloff=2.5, shadows=True)
    shade = matte(b.tex("noise", [(1.0, 0.95, 0.85), (0.95, 0.9, 0.8)], (4,)), emissive=1.0)
    b.add(Frustum(0.25, 0.12, 0.1), shade, (lamp.position[0], lamp.position[1], H - 0.25), shadow=False, name="ceiling.lamp")
    b.add(Cylinder(0.01, 0.1), shade, (lamp.position[0], lamp.position[1], H - 0.08), shadow=False)
    lighting = Lighting(lighting.sun_direction, lighting.sun_color, (0.42, 0.42, 0.44), (0.25, 0.23, 0.21), (lamp,))
    m = 0.6
    cam = ((-W / 2 + m, -D / 2 + m, 1.2), (W / 2 - m, D / 2 - m, 1.8))
    look = ((-W / 2 + 0.5, -D / 2 + 0.5, 0.7), (W / 2 - 0.5, D / 2 - 0.5, 1.5))
    return finish_world("room", seed, b, lighting, sky, cam, look, {"size": [W, D, H], "fog_distance": math.inf, "min_view_depth": 2.0}, 0.3)


def _furnish_room(b: Builder, W, D, H, openings, walls) -> None:
    """Furniture against the walls, a table group in the middle, rug, paintings, plants, a vase."""
    taken: list = []

    def free_wall_spot(i, width):
        x0, y0, yaw, length = walls[i]
        for _ in range(30):
            u = b.uniform(width / 2 + 0.3, length - width / 2 - 0.3)
            if all(abs(u - o[0]) > (o[1] + width) / 2 + 0.15 for o in openings[i]):
                return u
        return None

    def wall_point(i, u, inset):
        x0, y0, yaw, _ = walls[i]
        c, s = math.cos(yaw), math.sin(yaw)
        # Inner side: the left normal of the wall direction, (-s, c).
        return x0 + c * u - s * inset, y0 + s * u + c * inset, yaw

    big = ["sofa", "bed", "bookcase", "cabinet", "bookcase", "cabinet", "plant", "lamp", "armchair", "plant", "tv"]
    b.rng.shuffle(big)
    for item in big[: b.choice([5, 6, 7, 8])]:
        i = int(b.rng.integers(4))
        width = {"sofa": b.uniform(1.6, 2.2), "bed": b.uniform(1.4, 1.8), "bookcase": b.uniform(0.8, 1.4),
                 "cabinet": b.uniform(0.8, 1.4), "plant": 0.5, "lamp": 0.5, "armchair": 0.9, "tv": 1.3}[item]
        u = free_wall_spot(i, width)
        if u is None:
            continue
        depth = {"sofa": 0.9, "bed": 2.0, "bookcase": 0.35, "cabinet": 0.5, "plant": 0.5, "lamp": 0.5, "armchair": 0.9,
                 "tv": 0.5}[item]
        x, y, yaw = wall_point(i, u, depth / 2 + 0.1 + 0.075)
        if any(math.hypot(x - q[0], y - q[1]) < (width + q[2]) / 2 for q in taken):
            continue
        taken.append((x, y, max(width, depth)))
        if item == "sofa":
            P.sofa(b, x, y, 0, yaw, width)
        elif item == "bed":
            P.bed(b, x, y, 0, yaw, width, depth)
        elif item == "bookcase":
            P.bookcase(b, x, y, 0, yaw, width, min(H - 0.3, b.uniform(1.6, 2.2)))
        elif item == "cabinet":
            h = b.uniform(0.7, 1.1)
            P.cabinet(b, x, y, 0, yaw, width, h)
            if b.chance(0.5):
                P.vase(b, x, y, h, b.uniform(0.2, 0.35))
        elif item == "plant":
            P.potted_plant(b, x, y, 0, b.uniform(0.8, 1.4))
        elif item == "armchair":
            P.sofa(b, x, y, 0, yaw, width)
        elif item == "tv":
            P.cabinet(b, x, y, 0, yaw, width, 0.5)
            sx, sy = x - math.sin(yaw) * 0.0, y + math.cos(yaw) * 0.0
            screen = matte(b.tex("gradient", [(0.08, 0.09, 0.1), (0.02, 0.02, 0.03)]), scale=(1.0, 0.6), shiny=1.0)
            b.add(Box((0.55, 0.03, 0.33)), screen, (sx, sy, 0.5 + 0.36), yaw, name="tv")
        else:
            P.floor_lamp(b, x, y, 0)

    # Paintings on free wall stretches.
    for _ in range(b.choice([1, 2, 3])):
        i = int(b.rng.integers(4))
        w = b.uniform(0.5, 1.2)
        u = free_wall_spot(i, w)
        if u is not None:
            x, y, yaw = wall_point(i, u, 0.075)
            P.painting(b, x, y, b.uniform(1.5, 1.8), yaw, w, w * b.uniform(0.6, 1.3))

    # Rug + table group near the middle.
    cx, cy = b.uniform(-W / 8, W / 8), b.uniform(-D / 8, D / 8)
    if b.chance(0.7):
        rug_c = b.color(P.FABRICS)
        rug_tex = b.choice([b.tex("stripes", [rug_c, (0.9, 0.85, 0.75)], (b.choice([6, 10]),)),
                            b.tex("checker", [rug_c, tuple(0.6 * v for v in rug_c)], (4,)),
                            b.tex("fabric", [rug_c, (0.3, 0.25, 0.2)])])
        rw, rd = b.uniform(1.4, 2.4), b.uniform(1.0, 1.8)
        b.add(Box((rw / 2, rd / 2, 0.006)), matte(rug_tex, scale=(rw, rd), offset=(0.5, 0.5)), (cx, cy, 0.006), name="rug")
    tw, td = b.uniform(0.9, 1.6), b.uniform(0.7, 1.0)
    th = b.choice([0.45, 0.75, 0.75])
    yaw = b.choice([0.0, math.pi / 2])
    P.table(b, cx, cy, 0.012, yaw, tw, td, th)
    if th > 0.6:
        chair_mat = P.wood(b)
        for k in range(b.choice([0, 2, 2, 4])):
            side = (-1) ** k
            along = 0.0 if k < 2 else b.uniform(-tw / 4, tw / 4)
            dx, dy = (along, side * (td / 2 + 0.3)) if k < 2 else (side * (tw / 2 + 0.3), along)
            c, s = math.cos(yaw), math.sin(yaw)
            px, py = cx + c * dx - s * dy, cy + s * dx + c * dy
            face = math.atan2(cy - py, cx - px) - math.pi / 2
            inst = P.chair(b, px, py, 0.012, face, chair_mat)
            if b.dynamic and k == 0:  # a chair pulled back from the table
                _set_motion(b, inst, Motion(velocity=(0.25 * math.cos(face + math.pi / 2), 0.25 * math.sin(face + math.pi / 2), 0)))
    top = 0.012 + th
    items = b.choice([1, 2, 3])
    for k in range(items):
        ox, oy = b.uniform(-tw / 4, tw / 4), b.uniform(-td / 4, td / 4)
        kind = b.choice(["vase", "bowl", "book", "torus"])
        if kind == "vase":
            P.vase(b, cx + ox, cy + oy, top, b.uniform(0.2, 0.4))
        elif kind == "bowl":
            b.add(Frustum(0.06, 0.12, 0.04), matte(b.tex("gradient", [b.color(P.FABRICS), (0.95, 0.95, 0.95)])),
                  (cx + ox, cy + oy, top + 0.04), name="bowl")
            for f in range(3):
                b.add(Sphere(0.035), matte(b.tex("noise", [b.color([(0.9, 0.4, 0.1), (0.8, 0.1, 0.1), (0.5, 0.7, 0.1)]),
                                                            (0.5, 0.2, 0.05)], (4,)), shiny=0.5),
                      (cx + ox + 0.04 * math.cos(f * 2.1), cy + oy + 0.04 * math.sin(f * 2.1), top + 0.1), name="fruit")
        elif kind == "book":
            photo = photo_texture(b.rng, PHOTOS_RGB)
            b.add(Box((0.12, 0.17, 0.02)), matte(photo, scale=(0.24, 0.34), offset=(0.5, 0.5)), (cx + ox, cy + oy, top + 0.02),
                  b.uniform(0, 3), name="book")
        else:
            ring = matte(b.tex("noise", [b.color(P.METALS), (0.4, 0.4, 0.4)], (4,)), shiny=0.8)
            b.add(torus_mesh(0.08, 0.025), ring, (cx + ox, cy + oy, top + 0.025), name="torus")
    if b.dynamic:
        ball = matte(b.tex("checker", [b.color(P.FABRICS), (0.95, 0.95, 0.95)], (2,)), scale=(0.25, 0.25), shiny=0.5)
        r = 0.12
        b.add(Sphere(r), ball, (cx + tw / 2 + 0.6, cy, r), motion=Motion(velocity=(0, 0.35, 0), spin_axis=(1, 0, 0),
                                                                           spin_rate=-0.35 / r), name="ball")


def _set_motion(b: Builder, instance: int, motion: Motion) -> None:
    """Give every primitive of ``instance`` the same rigid ``motion`` (they move as one body)."""
    b.objects = [replace(o, motion=motion) if o.instance == instance else o for o in b.objects]
