"""A static picture of a camera path: frusta seen from above (x-z) and from the side (z-y)."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor

# Frustum drawn for preview when no intrinsics are given: 16:9, 50 degrees vertical field of view.
PREVIEW_ASPECT = 16 / 9
PREVIEW_FOV_Y_DEG = 50.0


def frustum_lines(c2w: Tensor, size: float, aspect: float = PREVIEW_ASPECT,
                  fov_y_deg: float = PREVIEW_FOV_Y_DEG) -> Tensor:
    """World-space frustum edges ``[T, 8, 2, 3]`` (4 apex-to-corner lines + 4 image-rectangle sides)."""
    half_h = size * math.tan(math.radians(fov_y_deg) / 2)
    half_w = half_h * aspect
    corners = torch.tensor([[-half_w, -half_h, size], [half_w, -half_h, size],
                            [half_w, half_h, size], [-half_w, half_h, size]], dtype=c2w.dtype)
    world = corners @ c2w[:, :3, :3].transpose(-1, -2) + c2w[:, None, :3, 3]  # [T, 4, 3]
    apex = c2w[:, None, :3, 3].expand(-1, 4, 3)
    spokes = torch.stack([apex, world], dim=2)
    rim = torch.stack([world, world.roll(-1, dims=1)], dim=2)
    return torch.cat([spokes, rim], dim=1)


def path_summary(c2w: Tensor) -> str:
    """One line: path length, last frame's offset from frame 0, largest rotation from frame 0."""
    centres = c2w[:, :3, 3]
    length = float((centres[1:] - centres[:-1]).norm(dim=-1).sum())
    offset = float((centres[-1] - centres[0]).norm())
    R_rel = c2w[0, :3, :3].T @ c2w[:, :3, :3]
    cos = ((R_rel.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)
    angle = math.degrees(float(torch.arccos(cos).max()))
    return f"path length {length:.3f}, last frame {offset:.3f} from frame 0, max rotation {angle:.1f} deg"


def draw_preview(c2w: Tensor, path: str | Path, title: str, look_at: Tensor | None = None,
                 max_frusta: int = 10, overwrite: bool = True) -> Path:
    """Write a PNG of the path ``c2w [T, 4, 4]`` (OpenCV axes) atomically to ``path``.

    With ``overwrite=False`` an existing ``path`` (also one that appears while drawing) is an
    :class:`~genscene.errors.InputError` and is kept.

    Three views: from above (x right, z forward up the page), from the side (z forward to the
    right, up = -y up the page) and from behind (x right, up = -y up). Frame 0 is black; later
    frames go from purple to yellow; the look-at point is a red star.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib import cm

    from genscene.atomic import atomic_path

    c2w = c2w.detach().to(torch.float64).cpu()
    T = c2w.shape[0]
    centres = c2w[:, :3, 3]
    extent = float((centres.max(0).values - centres.min(0).values).max())
    scene_scale = 1.0 if look_at is None else float(look_at.norm())
    size = 0.25 * max(extent, 0.2 * scene_scale)
    picks = sorted(set(torch.linspace(0, T - 1, min(T, max_frusta)).round().long().tolist()))
    lines = frustum_lines(c2w[picks], size)
    cmap = cm.viridis
    views = [("from above (x-z)", "x (right)", "z (forward)", lambda p: (p[..., 0], p[..., 2])),
             ("from the side (z-y)", "z (forward)", "-y (up)", lambda p: (p[..., 2], -p[..., 1])),
             ("from behind (x-y)", "x (right)", "-y (up)", lambda p: (p[..., 0], -p[..., 1]))]
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.4))
    for ax, (name, xlabel, ylabel, proj) in zip(axes, views):
        hx, vy = proj(centres)
        ax.scatter(hx.numpy(), vy.numpy(), c=[cmap(i / max(T - 1, 1)) for i in range(T)], s=6, zorder=2)
        ax.plot(hx.numpy(), vy.numpy(), "-", color="0.7", lw=0.8, zorder=1)
        for k, frame in enumerate(picks):
            first = frame == 0
            colour = "black" if first else cmap(frame / max(T - 1, 1))
            for seg in lines[k]:
                sx, sy = proj(seg)
                ax.plot(sx.numpy(), sy.numpy(), "-", color=colour, lw=1.8 if first else 0.9,
                        zorder=4 if first else 3)
        if look_at is not None:
            lx, ly = proj(look_at.reshape(1, 3).to(centres))
            ax.scatter(lx.numpy(), ly.numpy(), marker="*", c="tab:red", s=140, zorder=5)
        ax.set_title(name)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_aspect("equal", adjustable="datalim")
        ax.grid(True, lw=0.4, alpha=0.5)
    handles = [plt.Line2D([], [], color="black", lw=1.8, label="frame 0"),
               plt.Line2D([], [], color=cmap(1.0), lw=0.9, label=f"frame {T - 1}")]
    if look_at is not None:
        handles.append(plt.Line2D([], [], marker="*", color="tab:red", ls="", ms=11, label="look-at point"))
    axes[0].legend(handles=handles, loc="best", fontsize=8)
    fig.suptitle(f"{title}\n{path_summary(c2w)}", fontsize=11)
    fig.tight_layout()
    path = Path(path)
    try:
        with atomic_path(path, replace=overwrite) as tmp:
            fig.savefig(tmp, format="png", dpi=90)
    finally:
        plt.close(fig)
    return path
