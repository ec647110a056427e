"""Choosing cameras: COLMAP where it registers, the network elsewhere (synthetic COLMAP results, no pycolmap)."""

from __future__ import annotations

import math

import pytest
import torch

from genscene.cameras.cameras import Cameras
from genscene.errors import InputError
from genscene.geometry.alignment import apply_sim3, transform_cameras_sim3
from genscene.geometry.projection import project, unproject_depth
from genscene.pipelines import poses as poses_mod
from genscene.pipelines.colmap_poses import ColmapResult
from genscene.pipelines.poses import (
    KnownIntrinsics,
    PosesConfig,
    combine,
    decide_backend,
    reconstruct_posed,
    summary_lines,
)
from genscene.pipelines.reconstruct import NetOutput, ReconstructConfig
from tests.pipelines.textured_scene import arc_cameras, render_depth


def rotation(axis, angle) -> torch.Tensor:
    a = torch.tensor(axis, dtype=torch.float64)
    a = a / a.norm()
    K = torch.tensor([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]], dtype=torch.float64)
    return torch.eye(3, dtype=torch.float64) + math.sin(angle) * K + (1 - math.cos(angle)) * K @ K


COLMAP_SIM = (0.5, rotation((1.0, 2.0, 0.5), 0.7), torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64))
NET_SIM = (2.0, rotation((0.0, 1.0, -1.0), -0.4), torch.tensor([0.3, 0.1, -0.2], dtype=torch.float64))
REGISTERED = torch.tensor([True, True, True, False, True])


def synthetic_colmap(gt: Cameras, depth: torch.Tensor, registered: torch.Tensor) -> ColmapResult:
    """What a perfect COLMAP would return: GT cameras and GT surface points in a known other frame."""
    g = torch.Generator().manual_seed(0)
    world = unproject_depth(depth.double(), gt)  # [N, H, W, 3]
    valid = depth > 0
    picks = [world[v][valid[v]][torch.randperm(int(valid[v].sum()), generator=g)[:150]] for v in (0, 2, 4)]
    points = torch.cat(picks)  # [P, 3] GT world
    tracks = []
    for view in torch.nonzero(registered).flatten().tolist():
        uv, z = project(points, gt[view])
        col, row = uv[:, 0].floor().long(), uv[:, 1].floor().long()
        inside = (col >= 0) & (col < gt.width) & (row >= 0) & (row < gt.height) & (z > 0)
        seen = torch.zeros_like(inside)
        seen[inside] = (depth[view][row[inside], col[inside]].double() - z[inside]).abs() < 0.01 * z[inside]
        for p in torch.nonzero(seen).flatten().tolist():
            tracks.append((p, view, float(uv[p, 0]), float(uv[p, 1])))
    tracks = torch.tensor(tracks, dtype=torch.float64)
    cams = transform_cameras_sim3(gt, *COLMAP_SIM)
    w2c = torch.where(registered[:, None, None], cams.w2c, torch.eye(4, dtype=torch.float64))
    return ColmapResult(Cameras(cams.K, w2c, gt.width, gt.height), registered, apply_sim3(points, *COLMAP_SIM),
                        tracks[:, 1:], tracks, 1, 0.0)


@pytest.fixture(scope="module")
def scene():
    gt = arc_cameras(5, 240, 180)
    gt_net = gt.resize(90, 120)
    return gt, render_depth(gt), gt_net, render_depth(gt_net).double()


def test_combine_takes_colmap_cameras_aligns_depth_and_places_the_net_view(scene):
    gt, depth, gt_net, depth_net = scene
    colmap = synthetic_colmap(gt, depth, REGISTERED)
    net_cams = transform_cameras_sim3(gt_net, *NET_SIM)
    net_cams = Cameras(net_cams.K * torch.tensor([[1.3, 1, 1], [1, 1.3, 1], [1, 1, 1]], dtype=torch.float64),
                       net_cams.w2c, 120, 90)  # the network's focal guess is off by 30 %
    net_depth = (depth_net - 0.3) / 1.7  # registered views: an affine distortion the fit must undo
    net_depth[3] = depth_net[3] * NET_SIM[0]  # the unregistered view: consistent with its net camera
    net_depth = torch.where(depth_net > 0, net_depth, torch.zeros_like(net_depth))
    net = NetOutput(net_cams, net_depth.float(), torch.ones_like(net_depth).float(), torch.zeros(5, 90, 120, 3), 0.0)
    out = combine(net, colmap)

    truth = transform_cameras_sim3(gt_net, *COLMAP_SIM)
    torch.testing.assert_close(out.cameras.w2c, truth.w2c, atol=1e-6, rtol=0)  # view 3 too, placed by the Sim(3)
    torch.testing.assert_close(out.cameras.K, gt_net.K)  # view 3 takes COLMAP's shared camera, not the guess
    assert [v["camera"] for v in out.views] == ["colmap", "colmap", "colmap", "net", "colmap"]
    assert out.placement["scale"] == pytest.approx(COLMAP_SIM[0] / NET_SIM[0], rel=1e-9)
    fit = out.views[0]["depth"]
    assert fit["fit"] == "scale+shift" and fit["scale"] == pytest.approx(1.7 * 0.5, rel=1e-3)
    assert fit["shift"] == pytest.approx(0.3 * 0.5, abs=2e-3)
    valid = (depth_net > 0) & (out.depth > 0)
    rel = (out.depth[valid] - COLMAP_SIM[0] * depth_net[valid]).abs() / (COLMAP_SIM[0] * depth_net[valid])
    assert float(rel.median()) < 1e-3 and float(rel.quantile(0.99)) < 5e-3
    assert bool(valid[3].sum() > 0.9 * (depth_net[3] > 0).sum())


def _views_and_net(n: int = 3):
    g = torch.Generator().manual_seed(0)
    native = [torch.rand(3, 60, 80, generator=g) for _ in range(n)]
    views = torch.stack([im[:, ::2, ::2] for im in native])  # [S, 3, 30, 40]
    cams = arc_cameras(n, 40, 30)
    depth = 1 + torch.rand(n, 30, 40, generator=g)
    net = NetOutput(cams.relative_to_first(), depth, torch.rand(n, 30, 40, generator=g), torch.randn(n, 30, 40, 3), 0.1)
    return native, views, net


def test_a_colmap_failure_falls_back_to_the_network_and_says_so(monkeypatch):
    monkeypatch.setattr(poses_mod, "colmap_available", lambda: True)
    native, views, net = _views_and_net()

    def broken(*args, **kwargs):
        raise RuntimeError("no sparse model")

    names = ["a.png", "b.png", "c.png"]
    scene = reconstruct_posed(native, views, net, names, ReconstructConfig(), colmap_runner=broken)
    record = scene.meta["poses"]
    assert record["backend"] == "net" and record["reason"] == "COLMAP failed: RuntimeError: no sparse model"
    assert [v["camera"] for v in record["views"]] == ["net"] * 3
    assert all("not measured" in v["intrinsics"] for v in record["views"])
    torch.testing.assert_close(scene.cameras.w2c, net.cameras.w2c)
    lines = summary_lines(scene.meta)
    assert lines[0].startswith("cameras: 3 of 3 views from the network (COLMAP failed") and "not measured" in lines[1]
    with pytest.raises(InputError, match="--poses colmap: COLMAP failed"):
        reconstruct_posed(native, views, net, names, ReconstructConfig(), PosesConfig(poses="colmap"),
                          colmap_runner=broken)


def test_too_few_registered_views_fall_back_and_colmap_mode_refuses(monkeypatch):
    monkeypatch.setattr(poses_mod, "colmap_available", lambda: True)
    native, views, net = _views_and_net()
    cams = arc_cameras(3, 80, 60)

    def one_view(images, *args, **kwargs):
        registered = torch.tensor([True, False, False])
        return ColmapResult(cams, registered, torch.zeros(0, 3), torch.zeros(0, 3), torch.zeros(0, 4), 1, 0.5)

    names = ["a.png", "b.png", "c.png"]
    scene = reconstruct_posed(native, views, net, names, ReconstructConfig(), colmap_runner=one_view)
    assert scene.meta["poses"]["reason"] == "COLMAP registered 1 of 3 views"
    assert scene.meta["poses"]["colmap"]["registered"] == 1
    with pytest.raises(InputError, match=r"COLMAP registered 1 of 3 views \(not: b.png, c.png\)"):
        reconstruct_posed(native, views, net, names, ReconstructConfig(), PosesConfig(poses="colmap"),
                          colmap_runner=one_view)


def test_known_intrinsics_replace_the_network_focal():
    native, views, net = _views_and_net()
    K = torch.tensor([[100.0, 0, 40], [0, 100, 30], [0, 0, 1]], dtype=torch.float64).expand(3, 3, 3)
    scene = reconstruct_posed(native, views, net, ["a", "b", "c"], ReconstructConfig(), PosesConfig(poses="net"),
                              known=KnownIntrinsics(K, "file"))
    torch.testing.assert_close(scene.cameras.K[0], torch.tensor([[50.0, 0, 20], [0, 50, 15], [0, 0, 1]],
                                                                 dtype=torch.float64))
    assert {v["intrinsics"] for v in scene.meta["poses"]["views"]} == {"file"}


def test_decide_backend():
    assert not decide_backend("auto", [(80, 60)]).run_colmap  # one view: the network alone
    assert "differ in size" in decide_backend("auto", [(80, 60), (60, 80)]).reason
    assert decide_backend("net", [(80, 60)] * 3).reason == "--poses net"
    with pytest.raises(InputError, match="--poses: expected one of auto, colmap, net"):
        decide_backend("sfm", [(80, 60)] * 2)
    with pytest.raises(InputError, match="--poses colmap: one view"):
        decide_backend("colmap", [(80, 60)])


def test_missing_pycolmap_is_a_fallback_for_auto_and_an_error_for_colmap(monkeypatch):
    monkeypatch.setattr(poses_mod, "colmap_available", lambda: False)
    decision = decide_backend("auto", [(80, 60)] * 3)
    assert not decision.run_colmap and "pip install 'genscene[colmap]'" in decision.reason
    with pytest.raises(InputError, match="pycolmap is not installed"):
        decide_backend("colmap", [(80, 60)] * 3)
