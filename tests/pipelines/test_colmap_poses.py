"""The pycolmap SfM baseline: pycolmap -> Cameras, and one real pycolmap run (Berlin, 3 photos at 256 px)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genscene.cameras.cameras import rigid_matrix
from genscene.eval.reconstruct_protocol import pose_metrics_with_failures
from genscene.pipelines.colmap_poses import (
    ColmapConfig,
    reconstruction_to_result,
    run_colmap,
)


def random_rotations(n: int, g: torch.Generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(n, 3, 3, generator=g, dtype=torch.float64))
    return q * torch.linalg.det(q).sign()[:, None, None]  # det +1


def test_reconstruction_to_result_reads_poses_intrinsics_and_observations():
    pycolmap = pytest.importorskip("pycolmap")
    g = torch.Generator().manual_seed(0)
    R, t = random_rotations(2, g), torch.randn(2, 3, generator=g, dtype=torch.float64)
    rec = pycolmap.Reconstruction()
    camera = pycolmap.Camera.create_from_model_name(1, "PINHOLE", 50.0, 40, 30)
    rec.add_camera_with_trivial_rig(camera)
    names = ["view_000.png", "view_001.png", "view_002.png"]  # view 1 stays unregistered
    keypoints = np.array([[3.25, 4.5], [10.0, 20.75]])
    for image_id, view in ((1, 0), (2, 2)):
        image = pycolmap.Image(name=names[view], keypoints=keypoints, camera_id=1, image_id=image_id)
        pose = pycolmap.Rigid3d(np.concatenate([R[image_id - 1].numpy(), t[image_id - 1].numpy()[:, None]], 1))
        rec.add_image_with_trivial_frame(image, pose)
    track = pycolmap.Track()
    track.add_element(2, 1)  # first observation: view 2, keypoint 1
    track.add_element(1, 0)
    rec.add_point3D(np.array([0.5, -1.0, 4.0]), track)

    out = reconstruction_to_result(rec, names, 40, 30)
    assert out.registered.tolist() == [True, False, True]
    torch.testing.assert_close(out.cameras.w2c[[0, 2]], rigid_matrix(R, t))
    torch.testing.assert_close(out.cameras.w2c[1], torch.eye(4, dtype=torch.float64))
    K = torch.tensor([[50.0, 0, 20], [0, 50, 15], [0, 0, 1]], dtype=torch.float64)
    torch.testing.assert_close(out.cameras.K[0], K)
    torch.testing.assert_close(out.points, torch.tensor([[0.5, -1.0, 4.0]], dtype=torch.float64))
    torch.testing.assert_close(out.observations, torch.tensor([[2.0, 10.0, 20.75]], dtype=torch.float64))
    assert reconstruction_to_result(None, names, 40, 30).registered.sum() == 0


def test_pycolmap_registers_berlin_and_matches_opensfm(shared_data):
    pytest.importorskip("pycolmap")
    from genscene.data.multiview import berlin
    from genscene.pipelines.reconstruct import network_size

    case = berlin(shared_data)
    if case is None:
        pytest.skip("multiview/opensfm_berlin absent")
    h, w = network_size(case.gt.height, case.gt.width, 256, 1)
    images = [torch.nn.functional.interpolate(im[None], size=(h, w), mode="area")[0] for im in case.images]
    result = run_colmap(images, ColmapConfig(seed=0, num_threads=2))
    assert result.registered.all()
    assert result.cameras.width == w and len(result.points) > 20
    metrics = pose_metrics_with_failures(result.cameras, result.registered, case.gt)
    assert metrics["auc@30"] > 80.0  # OpenSfM and COLMAP agree to a few degrees on these 3 photos


# ------------------------------------------------------------------ a real run on a rendered scene
@pytest.fixture(scope="module")
def textured_views():
    from tests.pipelines.textured_scene import arc_cameras, render_views

    gt = arc_cameras(5, 240, 180)
    images, _ = render_views(gt)
    return gt, images


def _rotation_errors_deg(a, b) -> torch.Tensor:
    rel = a.R @ b.R.transpose(-1, -2)
    cos = ((rel.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)
    return torch.rad2deg(torch.arccos(cos))


def test_colmap_registers_the_rendered_scene_and_matches_gt_up_to_a_similarity(textured_views):
    pytest.importorskip("pycolmap", reason="pycolmap absent: pip install 'genscene[colmap]'")
    from genscene.geometry.alignment import align_cameras

    gt, images = textured_views
    result = run_colmap(images, ColmapConfig(seed=0, num_threads=1))
    assert result.registered.all() and len(result.points) > 50
    aligned, (s, _, _) = align_cameras(result.cameras, gt)
    # rotations relative to view 0 do not depend on the alignment, which the 5 centres on an arc constrain
    # only loosely about the arc's axis (a whole-run tilt of about a degree seen in one run)
    rel, rel_gt = result.cameras.relative_to_first(), gt.relative_to_first()
    assert float(_rotation_errors_deg(rel, rel_gt).max()) < 1.0
    assert float(_rotation_errors_deg(aligned, gt).max()) < 2.0
    extent = float((gt.centers - gt.centers.mean(0)).norm(dim=-1).mean())
    assert float((aligned.centers - gt.centers).norm(dim=-1).max()) < 0.02 * extent
    assert float(result.cameras.fx[0]) == pytest.approx(float(gt.fx[0]), rel=0.05)  # self-calibrated focal
    # every observation reprojects onto its point (tracks are read in view order)
    from genscene.geometry.projection import project

    view = result.tracks[:, 1].long()
    uv, _ = project(result.points[result.tracks[:, 0].long()][:, None], result.cameras[view])
    assert float((uv[:, 0] - result.tracks[:, 2:]).norm(dim=-1).median()) < 1.0


def test_colmap_holds_known_intrinsics_fixed(textured_views):
    pytest.importorskip("pycolmap", reason="pycolmap absent: pip install 'genscene[colmap]'")
    gt, images = textured_views
    known = gt.K * torch.tensor([[1.02, 1, 1], [1, 1.02, 1], [1, 1, 1]], dtype=torch.float64)  # 2 % off: still fixed
    result = run_colmap(images, ColmapConfig(seed=0, num_threads=1), known_K=known, fix_intrinsics=True)
    assert int(result.registered.sum()) >= 4
    torch.testing.assert_close(result.cameras.K[result.registered], known[result.registered])


def test_matching_switches_to_sequential_beyond_the_limit():
    from genscene.pipelines.colmap_poses import matching_kind

    config = ColmapConfig(exhaustive_max_views=50)
    assert matching_kind(50, config) == "exhaustive" and matching_kind(51, config) == "sequential"
