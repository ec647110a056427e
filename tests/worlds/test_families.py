"""Families: purity, variety of content, and collision-free camera paths."""

import numpy as np
import pytest
import torch

from genscene.worlds import FAMILIES, make_world
from genscene.worlds.camera_paths import coverage_paths, path_is_clear, sample_camera_path
from genscene.worlds.compiled import compile_world
from genscene.worlds.primitives import Kind
from genscene.worlds.render import render


@pytest.mark.parametrize("family", FAMILIES)
def test_world_is_a_pure_function_of_family_and_seed(family):
    a = make_world(family, 11)
    assert a == make_world(family, 11)
    assert a != make_world(family, 12)
    kinds = {o.shape.kind for o in a.objects}
    assert len(a.objects) >= 20 and len(kinds) >= 3, (len(a.objects), kinds)
    textures = {m.texture.kind for m in a.materials}
    assert len(textures) >= 4, textures
    assert a.num_instances >= 8


def test_families_cover_every_primitive_kind_and_photo_textures():
    worlds = [make_world(f, s) for f in FAMILIES for s in range(3)]
    kinds = {o.shape.kind for w in worlds for o in w.objects}
    assert kinds == set(Kind)
    assert any(m.texture.kind == "photo" for w in worlds for m in w.materials)
    dyn = make_world("street", 0, dynamic=True)
    assert dyn.is_dynamic and not make_world("street", 0).is_dynamic


def test_paths_stay_in_free_space_and_reject_walls():
    world = make_world("room", 2)
    cw = compile_world(world)
    for preset in ("orbit", "random", "gen3c_zoom_in"):
        path = sample_camera_path(world, preset, 6, 16, seed=1, compiled=cw)
        centres = path.cameras.centers
        assert world.in_free_space(centres.numpy()).all()
        assert path_is_clear(world, cw, centres, path.times)
    # A straight line from the middle of the room out through a wall is rejected.
    W, D, H = world.meta["size"]
    line = torch.tensor([[0.0, 0.0, 1.5], [0.0, -D / 2 - 1.0, 1.5]], dtype=torch.float64)
    assert not path_is_clear(world, cw, line, torch.zeros(2))


def test_lyra_coverage_shares_the_first_camera():
    paths = coverage_paths(make_world("courtyard", 1), num_frames=5, size=16, seed=0)
    assert list(paths) == ["lyra_left", "lyra_right", "lyra_up", "lyra_zoom_out", "lyra_zoom_in", "lyra_clockwise"]
    first = [p.cameras.w2c[0] for p in paths.values()]
    assert all(torch.allclose(f, first[0]) for f in first)
    ends = torch.stack([p.cameras.centers[-1] for p in paths.values()])
    assert torch.cdist(ends, ends).max() > 0.1  # the six go different ways


def test_each_family_renders_something_plausible():
    for family in FAMILIES:
        world = make_world(family, 3)
        path = sample_camera_path(world, "random", 1, 24, seed=0)
        out = render(world, path.cameras, path.times, edges=False)
        assert out["mask"].float().mean() > 0.3, family  # mostly geometry, not sky
        assert len(torch.unique(out["instance"])) >= 3, family
        assert out["rgb"].std() > 0.03, family
        assert np.isfinite(path.median_depth)


def test_orbit_is_a_turntable_that_matches_the_preset_for_a_level_camera():
    from genscene.cameras.trajectories import make_trajectory
    from genscene.worlds.camera_paths import _level_orbit

    path = sample_camera_path(make_world("room", 7), "orbit", 9, 16, seed=0)
    c2w = path.cameras.c2w
    assert c2w[:, 2, 0].abs().max() < 1e-9  # image x stays horizontal: no roll
    assert torch.allclose(c2w[0], c2w[-1], atol=1e-6)  # 360 degrees back to the start
    level = torch.eye(4, dtype=torch.float64)
    level[:3, :3] = torch.tensor([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])  # looks along +y, image down = -z
    ours = _level_orbit(level, 9, 2.0, 1.0, angle_deg=90.0)
    preset = make_trajectory("orbit", 9, angle_deg=90.0).clone()
    preset[:, :3, 3] *= 2.0
    assert torch.allclose(ours, level @ preset, atol=1e-9)


def test_moving_cars_never_overlap_parked_cars():
    """Cars drive along x in their lanes: their y-extent must clear every parked car's."""
    for seed in range(8):
        world = make_world("street", seed, dynamic=True)
        bodies = [o for o in world.objects if o.name == "car.body"]
        moving = [o for o in bodies if not o.motion.is_static]
        parked = [o for o in bodies if o.motion.is_static]
        assert len(moving) == 2
        for m in moving:
            for p in parked:
                gap = abs(m.position[1] - p.position[1]) - m.shape.half[1] - p.shape.half[1]
                assert gap > 0.05, (seed, gap)
