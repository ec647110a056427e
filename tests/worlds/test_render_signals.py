"""Flow, edges, shadows and determinism of the ground-truth renderer."""

import math

import torch

from genscene.cameras.cameras import Cameras
from genscene.worlds import make_world
from genscene.worlds.camera_paths import sample_camera_path
from genscene.worlds.materials import Material, TextureSpec
from genscene.worlds.motion import Motion, object_poses, MotionTable, circle
from genscene.worlds.primitives import Box, Plane, Sphere
from genscene.worlds.render import optical_flow, render


def _warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample ``image [C, H, W]`` at ``pixel + flow [H, W, 2]`` (bilinear, pixel centres at +0.5)."""
    C, H, W = image.shape
    v, u = torch.meshgrid(torch.arange(H) + 0.5, torch.arange(W) + 0.5, indexing="ij")
    x, y = u + flow[..., 0], v + flow[..., 1]
    grid = torch.stack([x / W * 2 - 1, y / H * 2 - 1], -1)[None]
    return torch.nn.functional.grid_sample(image[None], grid, align_corners=False)[0]


def test_flow_of_a_sideways_camera_over_a_plane_is_f_tx_over_z(w):
    """Camera 2 m above a plane moves 0.1 m along +x: every pixel moves by -f * 0.1 / 2 px in u."""
    world = w.world([w.obj(Plane(math.inf, math.inf), (0, 0, 0))])
    a, b = w.down(2.0, size=32), w.down(2.0, size=32, x=0.1)
    out = render(world, a, edges=False)
    flow, valid = optical_flow(world, out, b, depth_dst=render(world, b, edges=False)["depth"])
    f = float(a.K[0, 0, 0])
    assert torch.allclose(flow[0, ..., 0], torch.tensor(-f * 0.1 / 2.0), atol=1e-3)
    assert torch.allclose(flow[0, ..., 1], torch.tensor(0.0), atol=1e-3)
    # Pixels whose target leaves the image are invalid, all others valid.
    u = torch.arange(32) + 0.5 + (-f * 0.1 / 2.0)
    assert torch.equal(valid[0], (u >= 0)[None].expand(32, 32))


def test_warping_with_flow_reproduces_the_next_frame_including_object_motion(w):
    """A checker ground, a box sliding and a sphere spinning; camera moves. Ambient light only, so a
    surface point keeps its colour and A(p) = B(p + flow(p)) wherever p stays visible."""
    # Patterns coarse against the pixel size (a few pixels per stripe): finer ones alias.
    checker = Material(TextureSpec("checker", colors=((0.9, 0.9, 0.9), (0.1, 0.2, 0.6)), params=(4,)), scale=(4.0, 4.0))
    stripes = Material(TextureSpec("stripes", colors=((0.9, 0.3, 0.1), (0.1, 0.7, 0.2)), params=(6,)), scale=(2.0, 2.0))
    world = w.world([
        w.obj(Plane(math.inf, math.inf), (0, 0, 0), material=0),
        w.obj(Box((0.3, 0.3, 0.3)), (0.2, 0.0, 0.3), material=1, motion=Motion(velocity=(0.4, 0.0, 0.0))),
        w.obj(Sphere(0.35), (-0.6, 0.3, 0.35), material=1, motion=Motion(spin_axis=(0, 0, 1), spin_rate=0.5)),
    ], materials=[checker, stripes])
    cams = Cameras.cat([w.looking((0.0, -3.0, 2.0), (0, 0, 0.3), size=48), w.looking((0.15, -2.9, 2.05), (0, 0, 0.3), size=48)])
    times = torch.tensor([0.0, 0.25])
    out = render(world, cams, times, edges=False)
    assert not torch.equal(out["depth"][0], out["depth"][1])
    src = {"points_obj": out["points_obj"][:1], "object": out["object"][:1]}
    flow, valid = optical_flow(world, src, cams[1:], times[1:], out["depth"][1:])
    warped = _warp(out["rgb"][1], flow[0])
    err = (warped - out["rgb"][0]).abs().mean(0)
    # Bilinear sampling across a colour edge blurs: judge pixels whose 3x3 neighbourhood is one object.
    inst = out["instance"][0]
    pad = torch.nn.functional.pad(inst[None, None].float(), (1, 1, 1, 1), mode="replicate")[0, 0]
    same = torch.stack([pad[i:i + 48, j:j + 48] == inst for i in range(3) for j in range(3)]).all(0)
    judge = valid[0] & same
    moving = (out["object"][0] == 1) & judge
    assert judge.float().mean() > 0.6 and moving.sum() > 20
    assert err[judge].median() < 0.02
    assert err[moving].median() < 0.03
    # Without flow (identity warp) the frames differ clearly: the test can fail.
    assert (out["rgb"][1] - out["rgb"][0]).abs().mean(0)[judge].mean() > 5 * err[judge].median()


def test_silhouette_edges_are_exactly_the_sphere_outline(w):
    """A sphere against the sky: silhouette pixels = sphere pixels with a 4-neighbour on the sky.

    A narrow field of view keeps the sphere's own rim from looking like a depth jump between
    neighbouring pixels (the edge detector's inverse-depth test), so only the outline remains."""
    world = w.world([w.obj(Sphere(0.3), (0, 0, 0))])
    out = render(world, w.looking((0, -3, 0.5), (0, 0, 0), size=48, fov_deg=20.0))
    m = out["mask"][0]
    pad = torch.nn.functional.pad(m[None, None].float(), (1, 1, 1, 1), value=0.0)[0, 0].bool()
    sky_neighbour = ~pad[:-2, 1:-1] | ~pad[2:, 1:-1] | ~pad[1:-1, :-2] | ~pad[1:-1, 2:]
    inside_image = torch.zeros_like(m)
    inside_image[1:-1, 1:-1] = True
    outline = m & sky_neighbour & inside_image
    e = out["edges"]
    assert outline.sum() > 30
    assert torch.equal(e["silhouette"][0], outline)
    assert torch.equal(e["boundary"][0], outline)
    assert not e["crease"][0].any() and not e["intersection"][0].any()


def test_box_on_plane_edges_and_shadow(w):
    """Sun at 45 degrees along +x: a box [-0.4, 0.4]^2 x [0, 0.8] shadows the plane exactly where
    x in (-1.2, 0.4), |y| < 0.4. The box meets the plane in an intersection edge and shows creases."""
    world = w.world([w.obj(Plane(math.inf, math.inf), (0, 0, 0)), w.obj(Box((0.4, 0.4, 0.4)), (0, 0, 0.4))],
                    sun=(1.0, 1.0, 1.0), sun_dir=(1.0, 0.0, 1.0), ambient=0.2)
    cam = w.looking((-2.2, -2.0, 2.0), (-0.4, 0, 0.2), size=48)
    out = render(world, cam)
    from genscene.geometry.projection import unproject_depth

    x, y, _ = unproject_depth(out["depth"].double(), cam)[0].unbind(-1)
    plane = out["instance"][0] == 0
    under = plane & (x > -1.19) & (x < 0.39) & (y.abs() < 0.39)
    lit = plane & ((x < -1.21) | (x > 0.41) | (y.abs() > 0.41))
    grey = out["rgb"][0, 0]
    assert under.sum() > 30 and lit.sum() > 100
    albedo = 128 / 255  # grey 0.5 stored as an 8-bit texture
    assert torch.allclose(grey[lit], torch.tensor(albedo * (0.2 + math.sqrt(0.5))), atol=1e-4)  # ambient + sun cos
    assert torch.allclose(grey[under], torch.tensor(albedo * 0.2), atol=1e-4)
    e = out["edges"]
    assert e["intersection"][0].sum() > 10 and e["crease"][0].sum() > 10
    assert (e["intersection"][0] & (out["instance"][0] == 1)).sum() >= e["intersection"][0].sum() // 2


def test_same_seed_same_render_and_paths():
    a_world, b_world = make_world("tabletop", 5), make_world("tabletop", 5)
    assert a_world == b_world and make_world("tabletop", 6) != a_world
    pa = sample_camera_path(a_world, "orbit", 2, 20, seed=3)
    pb = sample_camera_path(b_world, "orbit", 2, 20, seed=3)
    assert pa.cameras.allclose(pb.cameras, atol=0)
    ra, rb = render(a_world, pa.cameras, pa.times), render(b_world, pb.cameras, pb.times)
    for k in ("rgb", "depth", "normals", "instance", "face"):
        assert torch.equal(ra[k], rb[k]), k
    for k in ra["edges"]:
        assert torch.equal(ra["edges"][k], rb["edges"][k])


def test_motion_closed_forms():
    rest = torch.eye(4).repeat(2, 1, 1)
    rest[1, :3, 3] = torch.tensor([1.0, 2.0, 3.0])
    table = MotionTable.from_motions([Motion(velocity=(1.0, 0.0, 0.5)), circle(2.0, 4.0)])
    poses = object_poses(rest, table, torch.tensor([0.0, 1.0, 2.0, 4.0]))
    torch.testing.assert_close(poses[1, 0, :3, 3], torch.tensor([1.0, 0.0, 0.5]))
    # Circle of radius 2 (period 4 s): half-way it is 4 m away along v, then back at the start.
    torch.testing.assert_close(poses[2, 1, :3, 3], torch.tensor([1.0, 6.0, 3.0]), atol=1e-5, rtol=0)
    torch.testing.assert_close(poses[3, 1], rest[1], atol=1e-5, rtol=0)
    assert torch.allclose(poses[..., :3, :3].transpose(-1, -2) @ poses[..., :3, :3], torch.eye(3), atol=1e-5)
