"""The renderer's geometry against closed forms and against an independent mesh rasterizer."""

import math

import numpy as np
import torch

from genscene.geometry.projection import unproject_depth
from genscene.render.mesh import render_mesh
from genscene.worlds.export import tessellate
from genscene.worlds.primitives import Box, Cone, Cylinder, Frustum, Plane, Prism, Sphere, TriMesh
from genscene.worlds.render import render


def test_plane_and_sphere_give_analytic_depth_and_normals(w):
    """Ground plane seen from 3 m straight down, sphere (r = 0.5) centred 2 m below the camera."""
    world = w.world([w.obj(Plane(math.inf, math.inf), (0, 0, 0)), w.obj(Sphere(0.5), (0.3, -0.2, 1.0))])
    cam = w.down(3.0, size=48)
    out = render(world, cam, edges=False)
    o, d = (x.double().reshape(-1, 3) for x in cam.rays())
    c = torch.tensor([0.3, -0.2, 1.0], dtype=torch.float64)
    # Independent closed forms, in float64.
    b = ((c - o) * d).sum(-1)
    disc = b**2 - ((c - o) ** 2).sum(-1) + 0.25
    hits_sphere = disc > 0
    t_sphere = b - disc.clamp_min(0).sqrt()
    t_plane = 3.0 / -d[:, 2]
    forward = torch.tensor([0.0, 0.0, -1.0], dtype=torch.float64)
    t = torch.where(hits_sphere, t_sphere, t_plane)
    depth_ref = (t * (d @ forward)).reshape(48, 48)
    n_ref = torch.where(hits_sphere[:, None], (o + t[:, None] * d - c) / 0.5,
                        torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)).reshape(48, 48, 3)
    assert torch.equal(out["mask"][0], torch.ones(48, 48, dtype=torch.bool))
    assert (out["instance"][0] == 1).reshape(-1).eq(hits_sphere).all()
    torch.testing.assert_close(out["depth"][0].double(), depth_ref, atol=2e-5, rtol=2e-5)
    torch.testing.assert_close(out["normals"][0].double(), n_ref, atol=1e-4, rtol=1e-4)
    # Plane pixels sit exactly at depth 3 (fronto-parallel), the sphere's nearest point at 1.5.
    assert torch.allclose(out["depth"][0][~hits_sphere.reshape(48, 48)], torch.tensor(3.0), atol=1e-5)
    assert out["depth"][0].min() >= 1.5 - 1e-5
    # Unprojecting the depth lands on the surfaces.
    pts = unproject_depth(out["depth"].double(), cam.reshape(1))[0].reshape(-1, 3)
    on_sphere = ((pts - c).norm(dim=-1) - 0.5).abs()[hits_sphere]
    assert on_sphere.max() < 1e-4 and pts[~hits_sphere, 2].abs().max() < 1e-4


def _compare_to_mesh(w, shape, position, yaw=0.3, pitch=0.0, roll=0.0, eye=(2.2, -2.6, 1.9), size=40):
    world = w.world([w.obj(shape, position, yaw=yaw, pitch=pitch, roll=roll)])
    cam = w.looking(eye, position, size=size)
    ana = render(world, cam, edges=False)
    v, f = tessellate(shape, detail=96)
    R = torch.tensor(np.asarray(world.objects[0].rotation))
    verts = torch.tensor(v) @ R.T + torch.tensor(position, dtype=torch.float64)
    ref = render_mesh(verts, torch.tensor(f), cam)
    mask_a, mask_m = ana["mask"][0], ref["mask"][0]
    both = mask_a & mask_m
    return mask_a, mask_m, both, ana, ref


def test_each_primitive_matches_its_tessellation(w):
    """Box, cylinder, cone, frustum, non-convex prism, finite plane and a mesh vs. the mesh rasterizer."""
    shapes = [
        (Box((0.5, 0.3, 0.4)), 0.0),
        (Cylinder(0.4, 0.5), 0.02),
        (Cone(0.5, 0.5), 0.02),
        (Frustum(0.5, 0.2, 0.4), 0.02),
        (Prism(((-0.5, -0.5), (0.5, -0.5), (0.5, -0.1), (-0.1, -0.1), (-0.1, 0.5), (-0.5, 0.5)), 0.3), 0.0),  # L-shape
        (Plane(0.6, 0.4), 0.0),
        (TriMesh(((-0.6, -0.6, -0.4), (0.8, -0.5, -0.4), (-0.5, 0.8, -0.4), (0, 0, 0.7)), ((0, 2, 1), (0, 1, 3), (1, 2, 3), (0, 3, 2))), 0.0),
    ]
    for shape, tess_tol in shapes:
        mask_a, mask_m, both, ana, ref = _compare_to_mesh(w, shape, (0.1, 0.0, 0.2), pitch=0.4, roll=0.2)
        name = type(shape).__name__
        assert mask_a.sum() > 50, name
        # Silhouettes agree up to pixels grazed by the tessellation.
        assert (mask_a != mask_m).sum() <= max(3, 0.03 * mask_a.sum()), name
        rel = ((ana["depth"][0] - ref["depth"][0].float()).abs() / ref["depth"][0].float())[both]
        assert rel.median() < 1e-4 + tess_tol / 4, name
        assert rel.max() < 1e-3 + tess_tol, name
        cos = (ana["normals"][0] * ref["normals"][0].float()).sum(-1)[both]
        assert (cos > 0.999 if tess_tol == 0 else cos > 0.97).float().mean() > 0.97, name


def test_rigid_pose_moves_geometry_exactly(w):
    """A box rotated by 90 degrees about z equals the box with swapped half extents."""
    a = render(w.world([w.obj(Box((0.6, 0.2, 0.3)), (0, 0, 0), yaw=math.pi / 2)]), w.looking((1.5, -2, 1), (0, 0, 0)),
               edges=False)
    b = render(w.world([w.obj(Box((0.2, 0.6, 0.3)), (0, 0, 0))]), w.looking((1.5, -2, 1), (0, 0, 0)), edges=False)
    assert torch.equal(a["mask"], b["mask"])
    torch.testing.assert_close(a["depth"], b["depth"], atol=1e-5, rtol=1e-5)


def test_supersampling_antialiases_rgb_only(w):
    """s x s sub-pixel shading: geometry buffers unchanged; a flat-lit flat-coloured scene keeps its
    colour; a colour edge gets intermediate values."""
    world = w.world([w.obj(Plane(math.inf, math.inf), (0, 0, 0)), w.obj(Sphere(0.5), (0, 0, 1.0))])
    cam = w.down(3.0, size=24)
    a, b = render(world, cam), render(world, cam, supersample=3)
    for k in ("depth", "normals", "instance", "face"):
        assert torch.equal(a[k], b[k]), k
    assert torch.allclose(b["rgb"], a["rgb"], atol=1e-6)  # everything is the same grey
    from genscene.worlds.materials import Material, TextureSpec

    two = [Material(TextureSpec("noise", colors=((1.0, 1.0, 1.0),) * 2)), Material(TextureSpec("noise", colors=((0.0, 0.0, 0.0),) * 2))]
    world = w.world([w.obj(Plane(math.inf, math.inf), (0, 0, 0), material=0), w.obj(Sphere(0.5), (0, 0, 1.0), material=1)],
                    materials=two)
    a, b = render(world, cam, edges=False), render(world, cam, edges=False, supersample=3)
    assert set(a["rgb"].unique().tolist()) <= {0.0, 1.0}
    mid = (b["rgb"] > 0.05) & (b["rgb"] < 0.95)
    assert mid.any() and torch.equal(a["rgb"][~mid], b["rgb"][~mid].round())
