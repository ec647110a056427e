"""Similarity (Sim(3)) alignment of point sets and camera batches (Umeyama 1991)."""

from __future__ import annotations

import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras, rigid_matrix


def umeyama(src: Tensor, dst: Tensor, with_scale: bool = True) -> tuple[Tensor, Tensor, Tensor]:
    """Least-squares similarity transform from ``src`` to ``dst`` (Umeyama, PAMI 1991).

    Minimises ``sum_i || dst_i - (s R src_i + t) ||^2`` over rotations ``R`` (det +1, reflections
    excluded by the sign correction of the SVD), scales ``s > 0`` and translations ``t``.
    Compute in float64 for exact recovery.

    Args:
        src: points ``[N, 3]``.
        dst: corresponding points ``[N, 3]``.
        with_scale: estimate ``s``; otherwise ``s = 1`` (a rigid fit).

    Returns:
        ``s`` (0-dim tensor), ``R [3, 3]``, ``t [3]`` in ``src``'s dtype.
    """
    src = torch.as_tensor(src)
    dst = torch.as_tensor(dst).to(src)
    if src.ndim != 2 or src.shape[-1] != 3 or src.shape != dst.shape:
        raise ValueError(f"umeyama: expected two [N, 3] point sets, got {tuple(src.shape)} and {tuple(dst.shape)}")
    if src.shape[0] < 2:
        raise ValueError(f"umeyama: need at least 2 correspondences, got {src.shape[0]}")
    mu_src, mu_dst = src.mean(0), dst.mean(0)
    xs, xd = src - mu_src, dst - mu_dst
    var_src = (xs**2).sum(-1).mean()
    if not var_src > 0:
        raise ValueError("umeyama: source points are all identical; the transform is undefined")
    cov = xd.T @ xs / src.shape[0]  # [3, 3]
    U, D, Vh = torch.linalg.svd(cov)
    S = torch.ones(3, dtype=src.dtype, device=src.device)
    if torch.det(U) * torch.det(Vh) < 0:
        S[2] = -1
    R = U @ torch.diag(S) @ Vh
    s = (D * S).sum() / var_src if with_scale else torch.ones((), dtype=src.dtype, device=src.device)
    t = mu_dst - s * (R @ mu_src)
    return s, R, t


def apply_sim3(points: Tensor, s: Tensor | float, R: Tensor, t: Tensor) -> Tensor:
    """``s R p + t`` for points ``[*B, 3]``."""
    return s * (points @ R.to(points).T) + t.to(points)


def sim3_matrix(s: Tensor | float, R: Tensor, t: Tensor) -> Tensor:
    """The ``[4, 4]`` matrix ``[[s R, t], [0, 1]]``."""
    return rigid_matrix(torch.as_tensor(s, dtype=R.dtype) * R, t)


def transform_cameras_sim3(cameras: Cameras, s: Tensor | float, R: Tensor, t: Tensor) -> Cameras:
    """The same physical cameras in the world ``x_new = s R x + t``.

    Centres map by the Sim(3), orientations rotate by ``R``; intrinsics are unchanged.
    """
    s = torch.as_tensor(s, dtype=cameras.dtype)
    rigid = rigid_matrix(R.to(cameras.dtype), t.to(cameras.dtype) / s)
    return cameras.transform_world(rigid).scale_world(s)


def align_cameras(
    pred: Cameras, gt: Cameras, with_scale: bool = True
) -> tuple[Cameras, tuple[Tensor, Tensor, Tensor]]:
    """Align ``pred`` to ``gt`` by Umeyama on camera centres (``[N]`` batches, same frame order).

    Returns:
        ``pred`` expressed in ``gt``'s world, and the Sim(3) ``(s, R, t)`` applied. With two
        cameras the rotation about their baseline is not determined by the centres.
    """
    if pred.batch_shape != gt.batch_shape or len(pred.batch_shape) != 1:
        raise ValueError(
            f"align_cameras: expected equal [N] batches, got {tuple(pred.batch_shape)} and {tuple(gt.batch_shape)}"
        )
    s, R, t = umeyama(pred.centers.to(torch.float64), gt.centers.to(torch.float64), with_scale)
    aligned = transform_cameras_sim3(pred.to(dtype=torch.float64), s, R, t).to(dtype=pred.dtype)
    return aligned, (s, R, t)


def rotation_between_cameras(src: Cameras, dst: Cameras) -> Tensor:
    """The world rotation ``R [3, 3]`` (float64) that best turns cameras ``src [N]`` into ``dst [N]``:
    the chordal mean of ``R_dst_c2w R_src_c2w^T`` (one camera determines it)."""
    r_src, r_dst = src.c2w[:, :3, :3].double(), dst.c2w[:, :3, :3].double()
    M = (r_dst @ r_src.transpose(-1, -2)).sum(0)
    U, _, Vh = torch.linalg.svd(M)
    S = torch.ones(3, dtype=M.dtype)
    S[2] = torch.sign(torch.det(U @ Vh))
    return U @ torch.diag(S) @ Vh


def similarity_from_cameras(src: Cameras, dst: Cameras) -> tuple[Tensor, Tensor, Tensor]:
    """The Sim(3) ``x_dst = s R x_src + t`` that carries cameras ``src [N]`` onto ``dst [N]`` (same views).

    The rotation comes from the orientations (:func:`rotation_between_cameras`), so it is stable when
    the centres are nearly collinear (a forward-facing or turntable capture), where Umeyama on centres
    leaves a rotation free. Scale and translation are then the least-squares fit of the centres; they
    need two distinct centres. The scale may come out negative for inconsistent inputs: callers check.

    Returns:
        ``s`` (0-dim), ``R [3, 3]``, ``t [3]`` float64.
    Raises:
        ValueError: fewer than two cameras, or all ``src`` centres coincide.
    """
    if src.batch_shape != dst.batch_shape or len(src.batch_shape) != 1 or src.batch_shape[0] < 2:
        raise ValueError(f"similarity_from_cameras: expected equal [N >= 2] batches, got "
                         f"{tuple(src.batch_shape)} and {tuple(dst.batch_shape)}")
    R = rotation_between_cameras(src, dst)
    a = src.centers.double() @ R.T
    c = dst.centers.double()
    da, dc = a - a.mean(0), c - c.mean(0)
    var = (da ** 2).sum()
    if not var > 1e-24:
        raise ValueError("similarity_from_cameras: the source centres coincide; the scale is undefined")
    s = (da * dc).sum() / var
    t = c.mean(0) - s * a.mean(0)
    return s, R, t
