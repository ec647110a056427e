"""The outdoor families: ``street`` (road, sidewalks, facades, cars) and ``courtyard`` (a plaza closed by buildings)."""

from __future__ import annotations

import math

import numpy as np

from genscene.worlds import props as P
from genscene.worlds.builder import Builder, matte
from genscene.worlds.family_common import family_rng, finish_world, outdoor_light
from genscene.worlds.materials import photo_texture
from genscene.worlds.motion import Motion, circle
from genscene.worlds.primitives import Box, Plane, Prism, Sphere
from genscene.worlds.world import World


def street(seed: int, dynamic: bool = False) -> World:
    b = Builder(family_rng("street", seed), dynamic)
    road_w = b.uniform(6.0, 9.0)
    walk_w = b.uniform(2.0, 4.0)
    length = 120.0
    road = matte(b.tex("road", [(0.22, 0.22, 0.23), (0.13, 0.13, 0.14), (0.9, 0.88, 0.8)]), scale=(6.0, road_w),
                 offset=(0.0, 0.5))
    b.add(Plane(length / 2, road_w / 2), road, (0, 0, 0), name="road")
    walk_c = b.color([(0.7, 0.68, 0.65), (0.6, 0.55, 0.5), (0.5, 0.5, 0.52)])
    walk = b.choice([matte(b.tex("tiles", [walk_c, (0.4, 0.4, 0.4)], (4,)), scale=(2.0, 2.0)),
                     matte(photo_texture(b.rng, ("brick", "gravel"), mirror=True), tint=walk_c, scale=(2.0, 2.0))])
    for side in (-1, 1):
        b.add(Box((length / 2, walk_w / 2, 0.08)), walk, (0, side * (road_w / 2 + walk_w / 2), 0.08), name="sidewalk")
    ground = matte(b.tex("asphalt", [(0.3, 0.3, 0.3), (0.2, 0.2, 0.2)]), scale=(4, 4))
    b.add(Plane(math.inf, math.inf), ground, (0, 0, -0.01), name="ground")

    for side in (-1, 1):
        x = -length / 2
        front = side * (road_w / 2 + walk_w)
        while x < length / 2:
            w = b.uniform(7.0, 16.0)
            if b.chance(0.12):  # a gap (alley or small park)
                if b.chance(0.5):
                    P.tree(b, x + w / 2, front + side * 4, 0.0, b.uniform(5, 9))
                x += w
                continue
            d, h = b.uniform(10, 16), b.uniform(6, 24)
            setback = b.uniform(0.0, 1.0)
            P.building(b, x + w / 2, front + side * (d / 2 + setback), 0.0, 0.0 if side > 0 else math.pi, w, d, h)
            x += w + b.uniform(0.0, 0.4)
        # Street furniture on this sidewalk.
        spacing = b.uniform(12, 20)
        for k, lx in enumerate(np.arange(-length / 2 + 5, length / 2, spacing)):
            y = side * (road_w / 2 + 0.5)
            if k % 2 == 0:
                P.street_lamp(b, lx, y, 0.16, -math.pi / 2 * side)
            elif b.chance(0.7):
                P.tree(b, lx, side * (road_w / 2 + walk_w * 0.5), 0.16, b.uniform(4, 8))
            else:
                P.bench(b, lx, side * (road_w / 2 + walk_w * 0.6), 0.16, math.pi / 2 * (1 - side))
    # Parked cars at the kerbs; moving cars (dynamic worlds) in lanes that clear them: a car is
    # < 1.9 m wide, so both need road_w >= 8.4 m, narrower dynamic streets get no parked cars.
    park = not dynamic or road_w >= 8.4
    if park:
        for side in (-1, 1):
            for lx in b.rng.uniform(-length / 2 + 10, length / 2 - 10, size=b.choice([2, 4, 6])):
                P.car(b, float(lx), side * (road_w / 2 - 1.2), 0.0, 0.0 if side < 0 else math.pi)
    if dynamic:
        lane_y = road_w / 2 - 3.2 if park else road_w / 4
        for lane in (-1, 1):
            speed = b.uniform(3.0, 8.0)
            vx = speed * (1 if lane < 0 else -1)
            P.car(b, b.uniform(-15, 15), lane * lane_y, 0.0, 0.0 if lane < 0 else math.pi,
                  motion=Motion(velocity=(vx, 0.0, 0.0)), speed=speed)
    lighting, sky = outdoor_light(b)
    cam = ((-30.0, -road_w / 2 + 0.8, 1.5), (30.0, road_w / 2 - 0.8, 3.5))
    look = ((-40.0, -road_w / 2 - walk_w, 1.0), (40.0, road_w / 2 + walk_w, 8.0))
    fog = b.uniform(80, 250)
    return finish_world("street", seed, b, lighting, sky, cam, look, {"road_width": road_w, "fog_distance": fog, "min_view_depth": 8.0}, 0.6)


# ------------------------------------------------------------------------------ courtyard
def courtyard(seed: int, dynamic: bool = False) -> World:
    b = Builder(family_rng("courtyard", seed), dynamic)
    X, Y = b.uniform(16, 28), b.uniform(14, 24)
    pav_c = b.color([(0.75, 0.72, 0.66), (0.6, 0.5, 0.45), (0.55, 0.55, 0.55), (0.7, 0.6, 0.45)])
    paving = b.choice([matte(b.tex("tiles", [pav_c, (0.45, 0.43, 0.4)], (4,)), scale=(3, 3)),
                       matte(b.tex("brick", [pav_c, (0.5, 0.48, 0.45)], (8, 4)), scale=(1.6, 0.8)),
                       matte(photo_texture(b.rng, ("gravel", "brick"), mirror=True), tint=pav_c, scale=(2, 2)),
                       matte(b.tex("checker", [pav_c, tuple(0.75 * v for v in pav_c)], (4,)), scale=(4, 4))])
    b.add(Plane(math.inf, math.inf), paving, (0, 0, 0), name="paving")
    # Buildings around the four sides (with gaps).
    for side, (cx, cy, yaw, span) in enumerate(((0, -Y / 2, math.pi, X), (X / 2, 0, -math.pi / 2, Y),
                                                (0, Y / 2, 0.0, X), (-X / 2, 0, math.pi / 2, Y))):
        u = -span / 2 - 4
        while u < span / 2 + 4:
            w = b.uniform(6, 12)
            if b.chance(0.15):
                u += w * 0.5
                continue
            d, h = b.uniform(8, 12), b.uniform(7, 18)
            c, s = math.cos(yaw), math.sin(yaw)
            bx, by = cx + c * (u + w / 2) - s * (d / 2), cy + s * (u + w / 2) + c * (d / 2)
            P.building(b, bx, by, 0.0, yaw, w, d, h)
            u += w
    if b.chance(0.5):  # an arcade of columns along one side
        col_mat = matte(b.tex("noise", [(0.85, 0.83, 0.78), (0.7, 0.68, 0.64)], (16,)), scale=(1, 1))
        yline = Y / 2 - 2.5
        h = b.uniform(3.5, 4.5)
        for x in np.arange(-X / 2 + 2, X / 2 - 1, b.uniform(2.5, 3.5)):
            P.column(b, float(x), yline, 0.0, h, col_mat)
        b.add(Box((X / 2, 1.5, 0.2)), col_mat, (0, Y / 2 - 1.3, h + 0.2), name="arcade.roof")
    centre = b.choice(["fountain", "statue", "tree"])
    if centre == "fountain":
        P.fountain(b, 0, 0, 0)
    elif centre == "statue":
        stone = matte(b.tex("noise", [(0.7, 0.7, 0.68), (0.5, 0.5, 0.48)], (16,)))
        inst = b.new_instance()
        b.add(Box((0.8, 0.8, 0.6)), stone, (0, 0, 0.6), instance=inst, name="statue.plinth")
        b.add(Prism(tuple((0.5 * math.cos(a), 0.5 * math.sin(a)) for a in np.linspace(0, 2 * math.pi, 7)[:-1]), 0.8),
              stone, (0, 0, 2.0), instance=inst, name="statue.body")
        b.add(Sphere(0.45), stone, (0, 0, 3.2), instance=inst, name="statue.head")
    else:
        P.tree(b, 0, 0, 0, b.uniform(7, 10))
    # Planters, benches, rocks, lamps around.
    spots = P.scatter_positions(b, b.choice([5, 7, 9]), (-X / 2 + 2, -Y / 2 + 2), (X / 2 - 2, Y / 2 - 3.5), 3.0,
                                taken=[(0.0, 0.0, 4.5)])
    for x, y in spots:
        kind = b.choice(["planter", "bench", "rock", "lamp", "planter"])
        if kind == "planter":
            box_c = b.color([(0.6, 0.6, 0.58), (0.45, 0.3, 0.2)])
            inst = b.new_instance()
            b.add(Box((0.6, 0.6, 0.3)), matte(b.tex("noise", [box_c, tuple(0.8 * v for v in box_c)], (8,))), (x, y, 0.3),
                  instance=inst, name="planter")
            P.tree(b, x, y, 0.6, b.uniform(3, 5))
        elif kind == "bench":
            P.bench(b, x, y, 0.0, b.uniform(0, 2 * math.pi))
        elif kind == "rock":
            P.rock(b, x, y, 0.0, b.uniform(0.6, 1.4))
        else:
            P.street_lamp(b, x, y, 0.0, b.uniform(0, 2 * math.pi))
    if dynamic:  # a rolling ball and a circling cart
        ball = matte(b.tex("stripes", [b.color(P.FABRICS), (0.95, 0.95, 0.95)], (4,)), scale=(0.4, 0.4))
        r = 0.2
        b.add(Sphere(r), ball, (-X / 4, -Y / 4, r), motion=Motion(velocity=(0.8, 0.3, 0), spin_axis=(-0.3, 0.8, 0),
                                                                   spin_rate=0.85 / r), name="ball")
        cart = matte(b.tex("noise", [b.color(P.FABRICS), (0.3, 0.3, 0.3)], (4,)))
        b.add(Box((0.6, 0.35, 0.4)), cart, (3.5, 0.0, 0.4), motion=circle(3.5, 12.0, (0, 1, 0), (-1, 0, 0)), name="cart")
    lighting, sky = outdoor_light(b)
    cam = ((-X / 2 + 1.5, -Y / 2 + 1.5, 1.5), (X / 2 - 1.5, Y / 2 - 4.0, 4.0))
    look = ((-X / 4, -Y / 4, 1.0), (X / 4, Y / 4, 5.0))
    return finish_world("courtyard", seed, b, lighting, sky, cam, look, {"size": [X, Y], "fog_distance": 400.0, "min_view_depth": 7.0}, 0.5)
