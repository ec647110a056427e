"""3D Gaussians as activated values (DESIGN §3)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import Tensor


@dataclass
class Gaussians:
    """A set of N 3D Gaussians, activated (no logits, no log-scales).

    Attributes:
        means: centres ``[N, 3]`` in world units.
        quats: rotations ``[N, 4]`` as unit quaternions (w, x, y, z).
        scales: standard deviations along the rotated axes ``[N, 3]``, > 0.
        opacities: ``[N]`` in (0, 1).
        colors: SH degree-0 colour as RGB in [0, 1] ``[N, 3]``.
        sh_rest: optional higher SH coefficients ``[N, K, 3]`` (K = (deg+1)^2 - 1), INRIA f_rest order.
    """

    means: Tensor
    quats: Tensor
    scales: Tensor
    opacities: Tensor
    colors: Tensor
    sh_rest: Tensor | None = None

    def __post_init__(self) -> None:
        n = self.means.shape[0]
        expect = {"means": (n, 3), "quats": (n, 4), "scales": (n, 3), "opacities": (n,), "colors": (n, 3)}
        for name, shape in expect.items():
            got = tuple(getattr(self, name).shape)
            if got != shape:
                raise ValueError(f"Gaussians.{name}: expected shape {shape}, got {got}")
        if self.sh_rest is not None and (self.sh_rest.shape[0] != n or self.sh_rest.shape[-1] != 3):
            raise ValueError(f"Gaussians.sh_rest: expected [N, K, 3], got {tuple(self.sh_rest.shape)}")

    def __len__(self) -> int:
        return self.means.shape[0]

    @property
    def sh_degree(self) -> int:
        if self.sh_rest is None:
            return 0
        return int(round((self.sh_rest.shape[1] + 1) ** 0.5)) - 1

    def _map(self, fn) -> "Gaussians":
        return Gaussians(**{f.name: (None if getattr(self, f.name) is None else fn(getattr(self, f.name)))
                            for f in fields(self)})

    def __getitem__(self, index) -> "Gaussians":
        """Select a subset (mask, indices or slice) of the Gaussians."""
        return self._map(lambda x: x[index])

    def to(self, device=None, dtype=None) -> "Gaussians":
        return self._map(lambda x: x.to(device=device, dtype=dtype))

    def normalized(self) -> "Gaussians":
        """The same Gaussians with quaternions renormalised to unit length."""
        g = self._map(lambda x: x)
        g.quats = torch.nn.functional.normalize(self.quats, dim=-1)
        return g

    @staticmethod
    def cat(parts: list["Gaussians"]) -> "Gaussians":
        names = [f.name for f in fields(Gaussians)]
        out = {}
        for name in names:
            vals = [getattr(p, name) for p in parts]
            out[name] = None if any(v is None for v in vals) else torch.cat(vals, 0)
        return Gaussians(**out)

    def covariances(self) -> Tensor:
        """World-space covariance matrices ``[N, 3, 3]`` = R S S^T R^T."""
        R = quat_to_rotmat(self.quats)
        M = R * self.scales.unsqueeze(-2)
        return M @ M.transpose(-1, -2)


def quat_to_rotmat(q: Tensor) -> Tensor:
    """Rotation matrices ``[..., 3, 3]`` from quaternions ``[..., 4]`` (w, x, y, z), normalised first."""
    w, x, y, z = torch.nn.functional.normalize(q, dim=-1).unbind(-1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    ).reshape(*q.shape[:-1], 3, 3)


def rotmat_to_quat(R: Tensor) -> Tensor:
    """Rotation matrices ``[..., 3, 3]`` -> unit quaternions (w, x, y, z) with ``w >= 0``.

    Uses the largest of the four candidate denominators (Shepperd's method) for stability.
    """
    m = R
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    diag = torch.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1)
    cand = torch.stack([  # [..., 4, 4]: row i is 4 q_i q, so any row with a large q_i gives q
        torch.stack([diag[..., 0], m21 - m12, m02 - m20, m10 - m01], -1),
        torch.stack([m21 - m12, diag[..., 1], m01 + m10, m02 + m20], -1),
        torch.stack([m02 - m20, m01 + m10, diag[..., 2], m12 + m21], -1),
        torch.stack([m10 - m01, m02 + m20, m12 + m21, diag[..., 3]], -1),
    ], -2)
    best = diag.argmax(-1)
    q = torch.gather(cand, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    q = torch.nn.functional.normalize(q, dim=-1)
    return torch.where(q[..., :1] < 0, -q, q)
