"""3D Gaussians as activated values (DESIGN §3)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import Tensor

from genscene.rotations import quat_to_rotmat


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
