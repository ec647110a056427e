"""The Gaussians dataclass: covariances from quaternions and scales, validation, selection."""

import pytest
import torch
from scipy.spatial.transform import Rotation

from genscene.geometry.gaussians import Gaussians
from genscene.rotations import quat_to_rotmat


def test_quaternion_matches_scipy():
    q_xyzw = Rotation.random(8, random_state=1).as_quat()
    q_wxyz = torch.tensor(q_xyzw[:, [3, 0, 1, 2]])
    expected = torch.tensor(Rotation.from_quat(q_xyzw).as_matrix())
    assert torch.allclose(quat_to_rotmat(q_wxyz), expected, atol=1e-12)


def test_covariance_eigenvalues_are_squared_scales():
    n = 5
    g = Gaussians(
        means=torch.zeros(n, 3, dtype=torch.float64),
        quats=torch.tensor(Rotation.random(n, random_state=2).as_quat()[:, [3, 0, 1, 2]]),
        scales=torch.rand(n, 3, dtype=torch.float64) + 0.1,
        opacities=torch.full((n,), 0.5, dtype=torch.float64),
        colors=torch.rand(n, 3, dtype=torch.float64),
    )
    eig = torch.linalg.eigvalsh(g.covariances())
    assert torch.allclose(eig, torch.sort(g.scales**2, dim=-1).values, atol=1e-12)
    sub = g[g.opacities > 0.4]
    assert len(sub) == n and sub.sh_degree == 0


def test_shape_validation_names_the_field():
    with pytest.raises(ValueError, match="opacities"):
        Gaussians(torch.zeros(2, 3), torch.zeros(2, 4), torch.ones(2, 3), torch.ones(3), torch.zeros(2, 3))
