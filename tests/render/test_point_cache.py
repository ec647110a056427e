"""The 3D cache: identity warp, warp to a second camera against a GT render, Lyra's conservative
mask, and the L x V organisation. GT comes from the mesh rasterizer (tested in test_mesh.py)."""

from __future__ import annotations

import pytest
import torch
import trimesh

from genscene.cameras.cameras import Cameras
from genscene.render.conservative_mask import grid_mesh
from genscene.render.edges import depth_discontinuities
from genscene.render.mesh import render_mesh
from genscene.render.point_cache import PointCache

W = H = 64


def _grid(n: int, half: float, z: float):
    g = torch.linspace(-half, half, n, dtype=torch.float64)
    yy, xx = torch.meshgrid(g, g, indexing="ij")
    v = torch.stack([xx, yy, torch.full_like(xx, z)], -1).reshape(-1, 3)
    idx = torch.arange(n * n).reshape(n, n)
    f = torch.cat([torch.stack([idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1]], -1).reshape(-1, 3),
                   torch.stack([idx[:-1, 1:], idx[1:, 1:], idx[1:, :-1]], -1).reshape(-1, 3)])
    return v, f


def _world():
    """A smoothly textured plane at z = 4 and a unit box centred at z = 2.5 in front of it."""
    pv, pf = _grid(40, 3.0, 4.0)
    pc = torch.stack([0.5 + 0.4 * torch.sin(2.0 * pv[:, 0]), 0.5 + 0.4 * torch.cos(1.5 * pv[:, 1]),
                      0.5 + 0.3 * torch.sin(pv[:, 0] + pv[:, 1])], -1)
    box = trimesh.creation.box(extents=(1, 1, 1)).subdivide().subdivide()
    bv = torch.tensor(box.vertices) + torch.tensor([0.0, 0.0, 2.5])
    bf = torch.tensor(box.faces)
    bc = torch.stack([0.2 + 0.6 * (bv[:, 0] - bv[:, 0].min()), torch.full_like(bv[:, 0], 0.3),
                      0.2 + 0.6 * (bv[:, 1] - bv[:, 1].min())], -1)
    inst = torch.cat([torch.zeros(len(pf), dtype=torch.long), torch.ones(len(bf), dtype=torch.long)])
    return torch.cat([pv, bv]), torch.cat([pf, bf + len(pv)]), torch.cat([pc, bc]), inst


def _cameras(*xs: float) -> Cameras:
    base = Cameras.from_fov(60, W, H)
    w2c = torch.eye(4, dtype=torch.float64).repeat(len(xs), 1, 1)
    w2c[:, 0, 3] = -torch.tensor(xs, dtype=torch.float64)  # camera centres at (x, 0, 0)
    return Cameras(base.K.expand(len(xs), 3, 3), w2c, W, H)


@pytest.fixture(scope="module")
def gt():
    v, f, c, inst = _world()
    cams = _cameras(0.0, 0.3)
    return cams, render_mesh(v, f, cams, vertex_colors=c, instance_ids_per_face=inst)


def _psnr(a: torch.Tensor, b: torch.Tensor, m: torch.Tensor) -> float:
    mse = ((a - b) ** 2).mean(0)[m].mean()
    return float(-10 * torch.log10(mse))


def test_identity_warp(gt):
    cams, g = gt
    cache = PointCache.from_depth(g["rgb"][:1], g["depth"][:1], cams[:1], edge_tol=None)
    r = cache.render(cams[:1])
    assert not r.mask.any()
    assert torch.equal(r.rgb[0], g["rgb"][0].float())
    torch.testing.assert_close(r.depth[0], g["depth"][0], rtol=1e-12, atol=1e-12)
    # With flying-pixel removal the only holes are the dropped pixels; the rest is unchanged.
    cache = PointCache.from_depth(g["rgb"][:1], g["depth"][:1], cams[:1])
    r = cache.render(cams[:1], conservative=True)
    dropped = depth_discontinuities(g["depth"][0])
    assert 50 < int(dropped.sum()) < 400
    assert torch.equal(r.mask[0], dropped)
    assert torch.equal(r.rgb[0][:, ~dropped], g["rgb"][0].float()[:, ~dropped])


def test_warp_to_second_camera_matches_gt_render(gt):
    cams, g = gt
    cache = PointCache.from_depth(g["rgb"][:1], g["depth"][:1], cams[:1])
    r = cache.render(cams[1:], conservative=True)
    known = ~r.mask[0]
    assert known.float().mean() > 0.8
    assert _psnr(r.rgb[0], g["rgb"][1].float(), known) >= 30.0  # measured ~47 dB
    torch.testing.assert_close(r.depth[0][known], g["depth"][1][known], rtol=1e-2, atol=0.0)


def test_conservative_mask_marks_the_band_behind_a_foreground_edge(gt):
    cams, g = gt
    cache = PointCache.from_depth(g["rgb"][:1], g["depth"][:1], cams[:1])
    plain = cache.render(cams[1:])
    cons = cache.render(cams[1:], conservative=True)
    gt_depth = g["depth"][1]
    # Leak: the box's side face (unseen from A) is filled by plane points from behind it.
    leaked = ~plain.mask[0] & (g["instance_ids"][1] == 1) & (plain.depth[0] > 1.2 * gt_depth)
    assert int(leaked.sum()) >= 20
    assert cons.mask[0][leaked].float().mean() >= 0.95
    # Conservative, not blunt: pixels that plain rendering got right stay known.
    right = ~plain.mask[0] & ((plain.depth[0] - gt_depth).abs() < 0.01 * gt_depth)
    assert cons.mask[0][right].float().mean() < 0.02
    assert torch.equal(cons.mask[0] & plain.mask[0], plain.mask[0])  # only ever adds


def test_grid_mesh_is_two_triangles_per_valid_quad():
    depth = torch.full((4, 5), 2.0, dtype=torch.float64)
    depth[0, 0] = 0.0  # only the first triangle of quad (0, 0) uses this corner
    cam = Cameras.from_fov(60, 5, 4)
    v, f = grid_mesh(depth, cam)
    assert v.shape == (20, 3) and len(f) == 2 * 3 * 4 - 1
    torch.testing.assert_close(v[:, 2].reshape(4, 5)[1:, 1:], depth[1:, 1:])


def test_cache_of_frames_and_views():
    """L = 2 frames x V = 2 views of a constant-colour wall: frames pick content, views render
    separately (GEN3C's V videos) or together."""
    L, V = 2, 2
    cams = _cameras(-0.5, 0.5)
    cams = Cameras.stack([cams, cams])  # [L, V]
    depth = torch.full((L, V, H, W), 3.0, dtype=torch.float64)
    images = torch.zeros(L, V, 3, H, W)
    images[0, :, 0] = 1.0  # frame 0 red, frame 1 green
    images[1, :, 1] = 1.0
    images[:, 1, 2] = 1.0  # view 1 adds blue
    cache = PointCache.from_depth(images, depth, cams)
    target = _cameras(0.0, 0.0)
    r = cache.render(target, per_view=True)
    assert r.rgb.shape == (2, V, 3, H, W) and r.mask.shape == (2, V, H, W)
    # Target t uses frame t; each view only sees its own colour.
    assert torch.allclose(r.rgb[0, 0][:, ~r.mask[0, 0]], torch.tensor([1.0, 0, 0])[:, None])
    assert torch.allclose(r.rgb[1, 1][:, ~r.mask[1, 1]], torch.tensor([0.0, 1, 1])[:, None])
    # View 0 sits left of the target: the target's right border is beyond its frustum.
    assert r.mask[0, 0][:, -1].all() and not r.mask[0, 0][:, 0].any()
    fused = cache.render(target, frames=torch.tensor([1, 1]), conservative=True)
    assert not fused.mask.any()  # the two views together cover the target
    per_view = cache.render(target[:1], frames=[0], per_view=True, conservative=True)
    assert torch.equal(per_view.mask, r.mask[:1])  # a flat wall hides nothing
    with pytest.raises(ValueError):
        cache.render(_cameras(0.0))  # 1 target for 2 frames needs frames=


def test_real_stereo_pair_warps_onto_the_other_view():
    """Real data: Middlebury 'motorcycle' (scikit-image) with ground-truth disparity. The left image
    warped through the cache onto the right camera matches the real right photo far better than
    no warp, and better than the same warp with a 10 % wrong baseline."""
    import numpy as np

    data = pytest.importorskip("skimage.data")
    try:
        left, right, disp = data.stereo_motorcycle()
    except Exception as err:  # the images may need a download in some installs
        pytest.skip(f"scikit-image stereo_motorcycle unavailable: {err}")
    s = 4  # subsample: every 4th pixel keeps disparity exact (divided by 4)
    rgb_l = torch.tensor(left[::s, ::s] / 255.0).permute(2, 0, 1).float()
    rgb_r = torch.tensor(right[::s, ::s] / 255.0).permute(2, 0, 1).float()
    disp = torch.tensor(np.ascontiguousarray(disp[::s, ::s]), dtype=torch.float64) / s
    h, w = disp.shape
    f, baseline, doffs = 994.978 / s, 193.001, 31.086 / s  # depth = f B / (d + doffs), in mm
    depth = torch.nan_to_num(f * baseline / (disp + doffs), posinf=0.0)
    K_l = torch.tensor([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1]], dtype=torch.float64)
    K_r = K_l.clone()
    K_r[0, 2] += doffs  # principal points differ by doffs, so x_r = x_l - d

    def right_camera(b: float) -> Cameras:
        w2c = torch.eye(4, dtype=torch.float64)
        w2c[0, 3] = -b
        return Cameras(K_r[None], w2c[None], w, h)

    cache = PointCache.from_depth(rgb_l[None], depth[None], Cameras(K_l[None], torch.eye(4)[None], w, h))
    good = cache.render(right_camera(baseline), conservative=True)
    wrong = cache.render(right_camera(1.1 * baseline), conservative=True)
    known = ~good.mask[0] & ~wrong.mask[0]
    assert known.float().mean() > 0.5
    psnr_good = _psnr(good.rgb[0], rgb_r, known)
    assert psnr_good > 22.0  # measured 24.0 dB
    assert psnr_good > _psnr(wrong.rgb[0], rgb_r, known) + 3.0  # measured 18.1 dB
    assert psnr_good > _psnr(rgb_l, rgb_r, known) + 8.0  # no warp: measured 13.4 dB


def test_points_behind_the_target_leave_it_all_unknown():
    depth = torch.full((1, 8, 8), 2.0, dtype=torch.float64)
    cache = PointCache.from_depth(torch.rand(1, 3, 8, 8), depth, Cameras.from_fov(60, 8, 8, batch_shape=(1,)))
    turned = torch.diag(torch.tensor([-1.0, 1.0, -1.0, 1.0], dtype=torch.float64))  # looks backwards
    r = cache.render(Cameras(Cameras.from_fov(60, 8, 8).K[None], turned[None], 8, 8))
    assert r.mask.all() and (r.rgb == 0).all() and (r.depth == 0).all()
