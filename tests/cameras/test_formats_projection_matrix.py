"""P = K[R|t] decomposition (against scipy's RQ), DTU/NeuS cameras.npz and Middlebury *_par.txt."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from formats_helpers import TEMPLE, project_cameras, random_cameras

from genscene.cameras.formats.projection_matrix import (
    cameras_from_projection_matrices,
    decompose_projection_matrix,
    load_dtu_cameras,
    load_middlebury_par,
    projection_matrices,
    save_dtu_cameras,
    save_middlebury_par,
)
from genscene.errors import InputError

DTU = "fixtures/dtu_scan24_200x150_sparse.npz"
TEMPLE_PAR = "multiview/middlebury_temple/templeSR_par.txt"


def _scipy_krt(P: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference decomposition with scipy's RQ, signs fixed by hand."""
    M = P[:, :3] * np.sign(np.linalg.det(P[:, :3]))
    K, R = scipy.linalg.rq(M)
    D = np.diag(np.sign(np.diag(K)))
    K, R = K @ D, D @ R
    t = np.linalg.solve(K, P[:, 3] * np.sign(np.linalg.det(P[:, :3])))
    return K / K[2, 2], R, t


def test_decompose_dtu_matches_scipy_rq_and_recomposes(shared_data):
    P = np.load(shared_data / DTU)["P"]  # [9, 3, 4], a negative overall scale
    K, R, t = (x.numpy() for x in decompose_projection_matrix(torch.from_numpy(P)))
    assert np.all(np.diagonal(K, axis1=1, axis2=2) > 0) and np.allclose(K[:, 2, 2], 1)
    np.testing.assert_allclose(np.linalg.det(R), 1, atol=1e-12)
    for i in range(len(P)):
        Ks, Rs, ts = _scipy_krt(P[i])
        np.testing.assert_allclose(K[i], Ks, atol=1e-9)
        np.testing.assert_allclose(R[i], Rs, atol=1e-12)
        np.testing.assert_allclose(t[i], ts, atol=1e-9)
        recomposed = K[i] @ np.concatenate([R[i], t[i][:, None]], 1)
        scale = (recomposed * P[i]).sum() / (recomposed**2).sum()
        np.testing.assert_allclose(scale * recomposed, P[i], rtol=0, atol=1e-6 * np.abs(P[i]).max())


def test_decompose_is_scale_invariant_and_inverts_compose():
    cams = random_cameras(4, seed=0)
    P = projection_matrices(cams)
    for s in (1.0, -3.5, 1e-3):
        back = cameras_from_projection_matrices(P * s, cams.width, cams.height)
        assert back.allclose(cams, atol=1e-9)


def test_dtu_unit_sphere_centre_projects_inside(shared_data, tmp_path):
    d = np.load(shared_data / DTU)
    arrays = {}
    for i in range(len(d["P"])):
        arrays[f"world_mat_{i}"] = np.concatenate([d["P"][i], [[0, 0, 0, 1]]])
        arrays[f"scale_mat_{i}"] = d["scale_mat"][i]
    np.savez(tmp_path / "cameras.npz", **arrays)
    cams, S = load_dtu_cameras(tmp_path / "cameras.npz", 200, 150)  # normalised (unit-sphere) space
    np.testing.assert_allclose(S, d["scale_mat"])
    uv = project_cameras(cams, np.zeros((1, 3)))[:, 0]
    assert np.all((uv > 0) & (uv < [200, 150]))
    # the same point in the original world, through the un-normalised cameras
    world, _ = load_dtu_cameras(tmp_path / "cameras.npz", 200, 150, normalize=False)
    centre = d["scale_mat"][0][:3, 3]
    np.testing.assert_allclose(project_cameras(world, centre[None])[:, 0], uv, atol=1e-6)

    save_dtu_cameras(tmp_path / "again.npz", world, S)
    again, S2 = load_dtu_cameras(tmp_path / "again.npz", 200, 150, normalize=False)
    assert again.allclose(world, atol=1e-9) and np.array_equal(S2, S)


def test_dtu_malformed(tmp_path):
    np.savez(tmp_path / "a.npz", world_mat_0=np.eye(4), world_mat_2=np.eye(4))
    with pytest.raises(InputError, match=r"a\.npz: world_mat_1: missing"):
        load_dtu_cameras(tmp_path / "a.npz", 10, 10)
    np.savez(tmp_path / "b.npz", world_mat_0=np.full((4, 4), np.nan))
    with pytest.raises(InputError, match=r"b\.npz: world_mat_0: contains NaN"):
        load_dtu_cameras(tmp_path / "b.npz", 10, 10)
    np.savez(tmp_path / "c.npz", scale_mat_0=np.eye(4))
    with pytest.raises(InputError, match=r"c\.npz: world_mat_0: missing"):
        load_dtu_cameras(tmp_path / "c.npz", 10, 10)


def _par_matrices(path) -> np.ndarray:
    """``P = K [R | t]`` per line of a Middlebury par file, parsed and composed independently."""
    rows = [line.split() for line in path.read_text().splitlines()[1:] if line.strip()]
    v = np.array([r[1:] for r in rows], dtype=float)
    K, R, t = v[:, :9].reshape(-1, 3, 3), v[:, 9:18].reshape(-1, 3, 3), v[:, 18:]
    return K @ np.concatenate([R, t[:, :, None]], 2)


def _dlt(Ps: list[np.ndarray], uvs: list[np.ndarray]) -> np.ndarray:
    A = np.concatenate([np.stack([u * P[2] - P[0], v * P[2] - P[1]]) for P, (u, v) in zip(Ps, uvs)])
    X = np.linalg.svd(A)[2][-1]
    return X[:3] / X[3]


def test_middlebury_par_matches_fixture_and_triangulates(shared_data):
    cams, names = load_middlebury_par(shared_data / TEMPLE_PAR, 640, 480)
    fixture = np.load(shared_data / TEMPLE)
    assert names == [str(n) for n in fixture["names"]]
    small = cams.resize(120, 160)
    np.testing.assert_allclose(small.K.numpy(), fixture["K"], atol=1e-9)
    np.testing.assert_allclose(small.R.numpy(), fixture["R"], atol=1e-12)
    np.testing.assert_allclose(small.t.numpy(), fixture["t"], atol=1e-12)
    # cameras decomposed from the file's P: points they see in views 0 and 3, triangulated by DLT
    # with the file's own P, reproject through them into view 8 where they saw the points
    P = _par_matrices(shared_data / TEMPLE_PAR)
    decomposed = cameras_from_projection_matrices(torch.from_numpy(P), 640, 480)
    assert decomposed.allclose(cams, atol=1e-9)
    rng = np.random.default_rng(0)
    X = rng.uniform(fixture["bbox_min"], fixture["bbox_max"], size=(10, 3))
    uv = project_cameras(decomposed, X)
    for k in range(10):
        Xk = _dlt([P[0], P[3]], [uv[0, k], uv[3, k]])
        reproj = project_cameras(decomposed[8:9], Xk[None])[0, 0]
        assert np.linalg.norm(reproj - uv[8, k]) < 0.5


def test_middlebury_round_trip_and_malformed(shared_data, tmp_path):
    cams, names = load_middlebury_par(shared_data / TEMPLE_PAR, 640, 480)
    save_middlebury_par(tmp_path / "x_par.txt", cams, names)
    again, names2 = load_middlebury_par(tmp_path / "x_par.txt", 640, 480)
    assert names2 == names and again.allclose(cams, atol=1e-12)
    lines = (tmp_path / "x_par.txt").read_text().splitlines()
    (tmp_path / "count.txt").write_text("\n".join(["17", *lines[1:]]))
    with pytest.raises(InputError, match=r"count\.txt: line 1: count says 17 images, file has 16"):
        load_middlebury_par(tmp_path / "count.txt", 640, 480)
    (tmp_path / "short.txt").write_text("\n".join([lines[0], *lines[1:-1], lines[-1].rsplit(" ", 1)[0]]))
    with pytest.raises(InputError, match=r"short\.txt: line 17: expected 'name k11"):
        load_middlebury_par(tmp_path / "short.txt", 640, 480)
