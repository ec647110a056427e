"""The one home of rotations: torch and numpy families agree with scipy and with each other."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from genscene.rotations import (
    quat_to_rotmat,
    quat_wxyz_to_rotmat_np,
    rotmat_to_quat,
    rotmat_to_quat_wxyz_np,
    rotmat_to_rotvec_np,
    rotvec_to_rotmat_np,
)


@pytest.fixture
def rotations() -> np.ndarray:
    """Random rotations ``[2, 5, 3, 3]`` plus the identity and exact half turns (the awkward cases)."""
    R = Rotation.random(10, random_state=3).as_matrix()
    R[0] = np.eye(3)
    R[1] = np.diag([1.0, -1.0, -1.0])  # 180 degrees about x: w = 0
    R[2] = Rotation.from_rotvec([0, 0, np.pi]).as_matrix()
    return R.reshape(2, 5, 3, 3)


def test_numpy_family_matches_scipy_and_round_trips(rotations):
    q = rotmat_to_quat_wxyz_np(rotations)
    assert q.shape == (2, 5, 4) and np.all(q[..., 0] >= 0)
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1, atol=1e-12)
    np.testing.assert_allclose(quat_wxyz_to_rotmat_np(q), rotations, atol=1e-12)
    np.testing.assert_allclose(quat_wxyz_to_rotmat_np(3 * q), rotations, atol=1e-12)  # normalised first
    v = rotmat_to_rotvec_np(rotations)
    assert np.all(np.linalg.norm(v, axis=-1) <= np.pi + 1e-12)
    np.testing.assert_allclose(rotvec_to_rotmat_np(v), rotations, atol=1e-12)
    np.testing.assert_allclose(rotvec_to_rotmat_np(np.array([0, 0, np.pi / 2])), [[0, -1, 0], [1, 0, 0], [0, 0, 1]],
                               atol=1e-15)
    assert np.isnan(quat_wxyz_to_rotmat_np(np.zeros(4))).all()  # callers validate what they read


def test_torch_family_agrees_with_the_numpy_one(rotations):
    R = torch.from_numpy(rotations)
    q = rotmat_to_quat(R)
    assert torch.all(q[..., 0] >= 0)
    torch.testing.assert_close(quat_to_rotmat(q), R, rtol=0, atol=1e-12)
    # the same rotation as scipy's quaternion (up to sign at w = 0)
    ref = torch.from_numpy(rotmat_to_quat_wxyz_np(rotations))
    dots = (q * ref).sum(-1).abs()
    torch.testing.assert_close(dots, torch.ones_like(dots), rtol=0, atol=1e-12)
