"""Shared data and independent numpy reference math for the camera format tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from genscene.cameras.cameras import Cameras
from genscene.geometry.projection import project

TEMPLE = "fixtures/middlebury_temple_sparse_ring_160x120.npz"


def temple(shared_data: Path) -> tuple[Cameras, list[str], np.ndarray]:
    """The 16 real temple cameras (160x120, float64), their names and 27 points in the object bbox."""
    d = np.load(shared_data / TEMPLE)
    cams = Cameras.from_Rt(torch.from_numpy(d["K"]), torch.from_numpy(d["R"]), torch.from_numpy(d["t"]), 160, 120)
    return cams, [str(n) for n in d["names"]], bbox_grid(d["bbox_min"], d["bbox_max"])


def bbox_grid(lo: np.ndarray, hi: np.ndarray, n: int = 3) -> np.ndarray:
    """``n^3`` points ``[P, 3]`` on a grid spanning the box."""
    axes = [np.linspace(lo[k], hi[k], n) for k in range(3)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)


def project_pixels(K: np.ndarray, w2c: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Reference pinhole projection: ``K [N,3,3]``, ``w2c [N,3|4,4]``, ``X [P,3]`` -> uv ``[N,P,2]``."""
    Xh = np.concatenate([X, np.ones((len(X), 1))], 1)
    xc = np.einsum("nij,pj->npi", w2c[:, :3, :4], Xh)
    pix = np.einsum("nij,npj->npi", K, xc)
    return pix[..., :2] / pix[..., 2:]


def project_cameras(cams: Cameras, X: np.ndarray) -> np.ndarray:
    """uv ``[N, P, 2]`` of world points ``X [P, 3]`` through ``cams [N]`` (the library's projection)."""
    pts = torch.from_numpy(X).to(cams.K).expand(*cams.batch_shape, -1, -1)
    return project(pts, cams)[0].numpy()


def random_rotations(n: int, seed: int) -> np.ndarray:
    """``[n, 3, 3]`` random rotations (reproducible)."""
    return Rotation.random(n, random_state=seed).as_matrix()


def random_cameras(n: int, seed: int, width: int = 64, height: int = 48) -> Cameras:
    """``n`` cameras with random poses and distinct, non-square, off-centre intrinsics."""
    rng = np.random.default_rng(seed)
    R = random_rotations(n, seed)
    t = rng.normal(size=(n, 3))
    K = np.zeros((n, 3, 3))
    K[:, 0, 0] = rng.uniform(40, 80, n)
    K[:, 1, 1] = K[:, 0, 0] * rng.uniform(0.9, 1.1, n)
    K[:, 0, 2] = width / 2 + rng.uniform(-3, 3, n)
    K[:, 1, 2] = height / 2 + rng.uniform(-3, 3, n)
    K[:, 2, 2] = 1
    return Cameras.from_Rt(torch.from_numpy(K), torch.from_numpy(R), torch.from_numpy(t), width, height)
