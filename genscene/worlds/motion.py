"""Rigid object motion over time (dynamic worlds, 4D).

A :class:`Motion` moves an object's centre along ``p(t) = p0 + v t + a sin(w t) + b (1 - cos(w t))``
(straight lines, oscillations, circles and ellipses) and spins it about a world axis through its
centre by ``spin_rate * t``. Everything is closed-form, so poses at any batch of times come out of
one vectorised call (:func:`object_poses`) on any device.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class Motion:
    """Closed-form rigid motion of one object (time in seconds)."""

    velocity: Vec3 = (0.0, 0.0, 0.0)
    """Constant velocity of the centre (m/s)."""
    amp_sin: Vec3 = (0.0, 0.0, 0.0)
    """Displacement amplitude multiplying ``sin(omega t)`` (m)."""
    amp_cos: Vec3 = (0.0, 0.0, 0.0)
    """Displacement amplitude multiplying ``1 - cos(omega t)`` (m)."""
    omega: float = 0.0
    """Angular frequency of the periodic part (rad/s)."""
    spin_axis: Vec3 = (0.0, 0.0, 1.0)
    """World axis of the spin about the object's centre."""
    spin_rate: float = 0.0
    """Spin speed (rad/s)."""

    @property
    def is_static(self) -> bool:
        return (self.velocity == (0.0, 0.0, 0.0) and self.spin_rate == 0.0
                and (self.omega == 0.0 or (self.amp_sin == (0.0, 0.0, 0.0) and self.amp_cos == (0.0, 0.0, 0.0))))


STATIC = Motion()


def circle(radius: float, period: float, axis_u: Vec3 = (1.0, 0.0, 0.0), axis_v: Vec3 = (0.0, 1.0, 0.0),
           face_forward: bool = True) -> Motion:
    """Move on a circle of ``radius`` starting at the object's rest position, one turn per ``period`` s.

    With ``face_forward`` the object turns with the path (about ``u x v``), like a car on a roundabout.
    """
    w = 2 * torch.pi / period
    u, v = torch.tensor(axis_u, dtype=torch.float64), torch.tensor(axis_v, dtype=torch.float64)
    n = torch.linalg.cross(u, v)
    return Motion(amp_sin=tuple((radius * u).tolist()), amp_cos=tuple((radius * v).tolist()), omega=w,
                  spin_axis=tuple(n.tolist()), spin_rate=w if face_forward else 0.0)


def axis_angle_matrix(axis: Tensor, angle: Tensor) -> Tensor:
    """Rodrigues: ``axis [..., 3]`` (any length > 0), ``angle [...]`` -> rotation ``[..., 3, 3]``."""
    k = torch.nn.functional.normalize(axis, dim=-1)
    kx, ky, kz = k.unbind(-1)
    zero = torch.zeros_like(kx)
    Kx = torch.stack([zero, -kz, ky, kz, zero, -kx, -ky, kx, zero], -1).reshape(*k.shape[:-1], 3, 3)
    s, c = torch.sin(angle)[..., None, None], torch.cos(angle)[..., None, None]
    eye = torch.eye(3, dtype=axis.dtype, device=axis.device).expand_as(Kx)
    return eye + s * Kx + (1 - c) * (Kx @ Kx)


@dataclass
class MotionTable:
    """Motions of ``N`` objects as tensors (for batched evaluation)."""

    velocity: Tensor  # [N, 3]
    amp_sin: Tensor  # [N, 3]
    amp_cos: Tensor  # [N, 3]
    omega: Tensor  # [N]
    spin_axis: Tensor  # [N, 3]
    spin_rate: Tensor  # [N]

    @classmethod
    def from_motions(cls, motions: list[Motion], dtype=torch.float32, device=None) -> "MotionTable":
        def col(name: str) -> Tensor:
            return torch.tensor([getattr(m, name) for m in motions], dtype=dtype, device=device)

        return cls(*(col(n) for n in ("velocity", "amp_sin", "amp_cos", "omega", "spin_axis", "spin_rate")))


def object_poses(rest: Tensor, table: MotionTable, times: Tensor) -> Tensor:
    """Object-to-world poses at each time.

    Args:
        rest: rest poses (at ``t = 0``) ``[N, 4, 4]``.
        table: the objects' motions.
        times: ``[F]`` seconds.

    Returns:
        ``[F, N, 4, 4]``.
    """
    t = times.to(rest)[:, None]  # [F, 1]
    wt = table.omega[None] * t  # [F, N]
    shift = (table.velocity[None] * t[..., None] + table.amp_sin[None] * torch.sin(wt)[..., None]
             + table.amp_cos[None] * (1 - torch.cos(wt))[..., None])  # [F, N, 3]
    spin = axis_angle_matrix(table.spin_axis[None].expand(*shift.shape), table.spin_rate[None] * t)  # [F, N, 3, 3]
    poses = rest[None].repeat(times.shape[0], 1, 1, 1)
    poses[..., :3, :3] = spin @ rest[None, :, :3, :3]
    poses[..., :3, 3] = rest[None, :, :3, 3] + shift
    return poses
