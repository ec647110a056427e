"""The one camera type of genscene (DESIGN §3).

Convention: OpenCV axes (+x right, +y down, +z forward), intrinsics ``K`` in pixels with pixel
centres at ``+0.5`` (pixel ``(i, j)`` covers ``[j, j+1] x [i, i+1]``), extrinsics world-to-camera
``w2c`` so that ``x_cam = R @ x_world + t`` and ``(u, v, 1) ~ K @ x_cam``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor


def _as_tensor(x, dtype=None) -> Tensor:
    if dtype is not None:
        return torch.as_tensor(x, dtype=dtype)
    if isinstance(x, torch.Tensor):
        return x if x.is_floating_point() else x.to(torch.float64)
    return torch.as_tensor(x, dtype=torch.float64)  # Python/NumPy numbers keep full precision


@dataclass
class Cameras:
    """A batch of pinhole cameras sharing one image size.

    Attributes:
        K: intrinsics in pixels, ``[*B, 3, 3]``.
        w2c: world-to-camera rigid transforms, ``[*B, 4, 4]`` (last row ``0 0 0 1``).
        width: image width in pixels.
        height: image height in pixels.
    """

    K: Tensor
    w2c: Tensor
    width: int
    height: int

    def __post_init__(self) -> None:
        self.K = _as_tensor(self.K)
        self.w2c = _as_tensor(self.w2c, dtype=self.K.dtype).to(self.K.device)
        if self.K.shape[-2:] != (3, 3):
            raise ValueError(f"Cameras.K: expected [..., 3, 3], got {tuple(self.K.shape)}")
        if self.w2c.shape[-2:] != (4, 4):
            raise ValueError(f"Cameras.w2c: expected [..., 4, 4], got {tuple(self.w2c.shape)}")
        if self.K.shape[:-2] != self.w2c.shape[:-2]:
            self.K, self.w2c = _broadcast_pair(self.K, self.w2c)
        self.width, self.height = int(self.width), int(self.height)
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"Cameras: image size must be positive, got {self.width}x{self.height}")

    # ---------------------------------------------------------------- constructors
    @classmethod
    def from_Rt(cls, K, R, t, width: int, height: int) -> "Cameras":
        """From ``K [*B,3,3]``, rotation ``R [*B,3,3]`` and translation ``t [*B,3]`` (world->camera)."""
        R = _as_tensor(R)
        t = _as_tensor(t, dtype=R.dtype)
        return cls(K=_as_tensor(K, dtype=R.dtype), w2c=rigid_matrix(R, t), width=width, height=height)

    @classmethod
    def from_c2w(cls, K, c2w, width: int, height: int) -> "Cameras":
        """From camera-to-world ``c2w [*B,4,4]`` (or ``[*B,3,4]``) in OpenCV axes."""
        c2w = _as_tensor(c2w)
        c2w = homogeneous(c2w)
        return cls(K=_as_tensor(K, dtype=c2w.dtype), w2c=invert_rigid(c2w), width=width, height=height)

    @classmethod
    def from_fov(
        cls,
        fov_y_deg: float,
        width: int,
        height: int,
        w2c: Tensor | None = None,
        batch_shape: Sequence[int] = (),
        dtype: torch.dtype = torch.float64,
    ) -> "Cameras":
        """Square-pixel cameras with vertical field of view ``fov_y_deg``, principal point at the centre."""
        f = 0.5 * height / math.tan(math.radians(fov_y_deg) / 2)
        K = intrinsics_matrix(f, f, width / 2, height / 2, dtype=dtype)
        if w2c is None:
            w2c = torch.eye(4, dtype=dtype).expand(*batch_shape, 4, 4).clone()
        w2c = _as_tensor(w2c, dtype=dtype)
        return cls(K=K.expand(*w2c.shape[:-2], 3, 3).clone(), w2c=w2c, width=width, height=height)

    # ---------------------------------------------------------------- batch handling
    @property
    def batch_shape(self) -> torch.Size:
        return self.K.shape[:-2]

    def __len__(self) -> int:
        if not self.batch_shape:
            raise TypeError("len() of an unbatched Cameras")
        return self.batch_shape[0]

    def __getitem__(self, index) -> "Cameras":
        if not isinstance(index, tuple):
            index = (index,)
        return Cameras(self.K[index], self.w2c[index], self.width, self.height)

    def to(self, device=None, dtype=None) -> "Cameras":
        return Cameras(self.K.to(device=device, dtype=dtype), self.w2c.to(device=device, dtype=dtype),
                       self.width, self.height)

    def reshape(self, *shape: int) -> "Cameras":
        return Cameras(self.K.reshape(*shape, 3, 3), self.w2c.reshape(*shape, 4, 4), self.width, self.height)

    @staticmethod
    def cat(cameras: Sequence["Cameras"], dim: int = 0) -> "Cameras":
        """Concatenate along an existing batch dim."""
        return Cameras._join(torch.cat, cameras, dim)

    @staticmethod
    def stack(cameras: Sequence["Cameras"], dim: int = 0) -> "Cameras":
        """Stack along a new batch dim."""
        return Cameras._join(torch.stack, cameras, dim)

    @staticmethod
    def _join(op, cameras: Sequence["Cameras"], dim: int) -> "Cameras":
        sizes = {(c.width, c.height) for c in cameras}
        if len(sizes) != 1:
            raise ValueError(f"Cameras.{op.__name__}: image sizes differ: {sorted(sizes)}")
        d = dim if dim >= 0 else dim - 2  # batch dims come before the matrix dims
        return Cameras(op([c.K for c in cameras], d), op([c.w2c for c in cameras], d),
                       cameras[0].width, cameras[0].height)

    # ---------------------------------------------------------------- derived quantities
    @property
    def device(self) -> torch.device:
        return self.K.device

    @property
    def dtype(self) -> torch.dtype:
        return self.K.dtype

    @property
    def R(self) -> Tensor:
        """World-to-camera rotation ``[*B, 3, 3]``."""
        return self.w2c[..., :3, :3]

    @property
    def t(self) -> Tensor:
        """World-to-camera translation ``[*B, 3]``."""
        return self.w2c[..., :3, 3]

    @property
    def c2w(self) -> Tensor:
        """Camera-to-world ``[*B, 4, 4]`` (OpenCV axes)."""
        return invert_rigid(self.w2c)

    @property
    def centers(self) -> Tensor:
        """Camera centres in world coordinates ``[*B, 3]``."""
        return -(self.R.transpose(-1, -2) @ self.t.unsqueeze(-1)).squeeze(-1)

    @property
    def fx(self) -> Tensor:
        return self.K[..., 0, 0]

    @property
    def fy(self) -> Tensor:
        return self.K[..., 1, 1]

    @property
    def cx(self) -> Tensor:
        return self.K[..., 0, 2]

    @property
    def cy(self) -> Tensor:
        return self.K[..., 1, 2]

    @property
    def fov_x(self) -> Tensor:
        """Horizontal field of view in radians ``[*B]``."""
        return 2 * torch.atan(0.5 * self.width / self.fx)

    @property
    def fov_y(self) -> Tensor:
        """Vertical field of view in radians ``[*B]``."""
        return 2 * torch.atan(0.5 * self.height / self.fy)

    def pixel_grid(self, height: int | None = None, width: int | None = None) -> Tensor:
        """Pixel-centre coordinates ``[h, w, 2]`` (u, v) of a ``height x width`` grid over this image.

        The grid may be coarser than the image (a latent grid): its pixel centres are mapped into
        this camera's pixel units, so ``rays(h, w)`` at any resolution sees the same frustum.
        """
        h = height or self.height
        w = width or self.width
        sx, sy = self.width / w, self.height / h
        v, u = torch.meshgrid(
            (torch.arange(h, dtype=self.dtype, device=self.device) + 0.5) * sy,
            (torch.arange(w, dtype=self.dtype, device=self.device) + 0.5) * sx,
            indexing="ij",
        )
        return torch.stack([u, v], dim=-1)

    def rays(self, height: int | None = None, width: int | None = None) -> tuple[Tensor, Tensor]:
        """World-space rays through pixel centres of an ``h x w`` grid spanning the image.

        Returns:
            origins ``[*B, h, w, 3]`` and unit directions ``[*B, h, w, 3]``.
        """
        uv = self.pixel_grid(height, width)  # [h, w, 2]
        h, w = uv.shape[:2]
        ones = torch.ones_like(uv[..., :1])
        pix = torch.cat([uv, ones], -1).reshape(-1, 3)  # [h*w, 3]
        K_inv = torch.linalg.inv(self.K)  # [*B, 3, 3]
        d_cam = pix @ K_inv.transpose(-1, -2)  # [*B, h*w, 3]
        c2w = self.c2w
        d_world = d_cam @ c2w[..., :3, :3].transpose(-1, -2)
        d_world = torch.nn.functional.normalize(d_world, dim=-1)
        origins = c2w[..., None, :3, 3].expand_as(d_world)
        shape = (*self.batch_shape, h, w, 3)
        return origins.reshape(shape), d_world.reshape(shape)

    # ---------------------------------------------------------------- image-space edits
    def resize(self, height: int, width: int) -> "Cameras":
        """The same cameras for the image resized to ``height x width`` (K scaled per axis)."""
        sx, sy = width / self.width, height / self.height
        S = torch.diag(torch.tensor([sx, sy, 1.0], dtype=self.dtype, device=self.device))
        return Cameras(S @ self.K, self.w2c, width, height)

    def crop(self, top: int, left: int, height: int, width: int) -> "Cameras":
        """The same cameras for the crop ``[top:top+height, left:left+width]`` of the image."""
        K = self.K.clone()
        K[..., 0, 2] -= left
        K[..., 1, 2] -= top
        return Cameras(K, self.w2c, width, height)

    # ---------------------------------------------------------------- world-space edits
    def transform_world(self, T: Tensor) -> "Cameras":
        """Express the cameras in a new world frame: ``x_new = T @ x_old`` for a rigid ``T [4,4]``
        (or ``[..., 4, 4]`` broadcasting against the batch: one frame per sequence)."""
        T = _as_tensor(T, dtype=self.dtype).to(self.device)
        return Cameras(self.K, self.w2c @ invert_rigid(T), self.width, self.height)

    def relative_to_first(self, frame_dim: int = 0) -> "Cameras":
        """Re-express so that frame 0 along batch dim ``frame_dim`` has the identity pose: for a batch
        ``[B, T]`` of sequences, ``frame_dim=1`` gives each sequence its own first frame."""
        return self.transform_world(self.w2c.narrow(frame_dim, 0, 1))

    def scale_world(self, scale: float | Tensor) -> "Cameras":
        """Scale the world by ``scale`` (translations scale, rotations and K do not)."""
        w2c = self.w2c.clone()
        w2c[..., :3, 3] = w2c[..., :3, 3] * _as_tensor(scale, dtype=self.dtype).to(self.device)
        return Cameras(self.K, w2c, self.width, self.height)

    def normalize_scale(self, median_depth: float | Tensor) -> "Cameras":
        """Rescale the world so that the scene's median depth becomes 1 (DESIGN §3 units)."""
        return self.scale_world(1.0 / _as_tensor(median_depth, dtype=self.dtype))

    def allclose(self, other: "Cameras", atol: float = 1e-6) -> bool:
        return (
            (self.width, self.height) == (other.width, other.height)
            and torch.allclose(self.K, other.K.to(self.K), atol=atol)
            and torch.allclose(self.w2c, other.w2c.to(self.w2c), atol=atol)
        )


# -------------------------------------------------------------------- matrix helpers
def intrinsics_matrix(fx, fy, cx, cy, dtype: torch.dtype = torch.float64) -> Tensor:
    """``K [*B, 3, 3]`` from focal lengths and principal point (scalars or ``[*B]`` tensors)."""
    fx, fy, cx, cy = torch.broadcast_tensors(*(_as_tensor(v, dtype=dtype) for v in (fx, fy, cx, cy)))
    K = torch.zeros(*fx.shape, 3, 3, dtype=dtype)
    K[..., 0, 0], K[..., 1, 1], K[..., 0, 2], K[..., 1, 2], K[..., 2, 2] = fx, fy, cx, cy, 1
    return K


def rigid_matrix(R: Tensor, t: Tensor) -> Tensor:
    """``[*B, 4, 4]`` from rotation ``[*B, 3, 3]`` and translation ``[*B, 3]``."""
    R, t = _broadcast_pair_rt(R, t)
    M = torch.zeros(*R.shape[:-2], 4, 4, dtype=R.dtype, device=R.device)
    M[..., :3, :3] = R
    M[..., :3, 3] = t
    M[..., 3, 3] = 1
    return M


def homogeneous(M: Tensor) -> Tensor:
    """Pad ``[*B, 3, 4]`` to ``[*B, 4, 4]``; ``[*B, 4, 4]`` passes through."""
    if M.shape[-2:] == (4, 4):
        return M
    if M.shape[-2:] != (3, 4):
        raise ValueError(f"expected [..., 3, 4] or [..., 4, 4], got {tuple(M.shape)}")
    return rigid_matrix(M[..., :3, :3], M[..., :3, 3])


def invert_rigid(M: Tensor) -> Tensor:
    """Inverse of rigid ``[*B, 4, 4]`` transforms, exactly (transpose, not a general inverse)."""
    R = M[..., :3, :3]
    t = M[..., :3, 3]
    Rt = R.transpose(-1, -2)
    return rigid_matrix(Rt, -(Rt @ t.unsqueeze(-1)).squeeze(-1))


def _broadcast_shape(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    """NumPy broadcasting of two shapes (``torch.broadcast_shapes`` imports sympy: seconds at start-up)."""
    a, b = tuple(a), tuple(b)
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    out = []
    for x, y in zip(a, b):
        if x != y and 1 not in (x, y):
            raise ValueError(f"shapes {a} and {b} do not broadcast")
        out.append(max(x, y) if min(x, y) else 0)
    return tuple(out)


def _broadcast_pair(K: Tensor, w2c: Tensor) -> tuple[Tensor, Tensor]:
    shape = _broadcast_shape(K.shape[:-2], w2c.shape[:-2])
    return K.expand(*shape, 3, 3).clone(), w2c.expand(*shape, 4, 4).clone()


def _broadcast_pair_rt(R: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
    shape = _broadcast_shape(R.shape[:-2], t.shape[:-1])
    return R.expand(*shape, 3, 3), t.to(R.dtype).expand(*shape, 3)
