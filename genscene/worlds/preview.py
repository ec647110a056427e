"""Contact sheets: for several worlds, RGB, depth, structural edges and optical flow side by side."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

EDGE_COLORS = {"silhouette": (1.0, 0.25, 0.2), "crease": (0.3, 1.0, 0.3), "boundary": (0.3, 0.5, 1.0),
               "intersection": (1.0, 0.9, 0.2)}


def depth_image(depth: Tensor) -> np.ndarray:
    """z-depth ``[H, W]`` -> uint8 ``[H, W, 3]`` (inverse depth, turbo colour map; sky black)."""
    import matplotlib

    d = depth.cpu().numpy()
    valid = d > 0
    inv = np.where(valid, 1.0 / np.maximum(d, 1e-6), 0)
    if valid.any():
        lo, hi = np.percentile(inv[valid], [2, 98])
        inv = np.clip((inv - lo) / max(hi - lo, 1e-9), 0, 1)
    rgb = matplotlib.colormaps["turbo"](inv)[..., :3]
    rgb[~valid] = 0
    return (rgb * 255).astype(np.uint8)


def edges_image(edges: dict[str, Tensor]) -> np.ndarray:
    """Edge maps ``{type: bool [H, W]}`` -> uint8 ``[H, W, 3]`` (silhouette drawn last, on top)."""
    h, w = next(iter(edges.values())).shape
    img = np.zeros((h, w, 3))
    for name in ("crease", "intersection", "boundary", "silhouette"):
        img[edges[name].cpu().numpy()] = EDGE_COLORS[name]
    return (img * 255).astype(np.uint8)


def flow_image(flow: Tensor, valid: Tensor) -> np.ndarray:
    """Flow ``[H, W, 2]`` -> uint8 ``[H, W, 3]`` (hue = direction, saturation = magnitude; invalid grey)."""
    from matplotlib.colors import hsv_to_rgb

    f = flow.cpu().numpy()
    v = valid.cpu().numpy()
    mag = np.linalg.norm(f, axis=-1)
    scale = max(np.percentile(mag[v], 95), 1e-6) if v.any() else 1.0
    hsv = np.stack([(np.arctan2(f[..., 1], f[..., 0]) / (2 * np.pi)) % 1, np.clip(mag / scale, 0, 1),
                    np.ones_like(mag)], -1)
    rgb = hsv_to_rgb(hsv)
    rgb[~v] = 0.35
    return (rgb * 255).astype(np.uint8)


def clip_panels(clip: dict) -> np.ndarray:
    """One row of a contact sheet from a clip: RGB, depth, edges, flow of its first frame ``[H, 4W, 3]``."""
    rgb = (clip["rgb"][0].permute(1, 2, 0).clamp(0, 1).cpu().numpy() * 255).astype(np.uint8)
    from genscene.worlds.dataset import EDGE_ORDER

    edges = {name: clip["edges"][0, i] for i, name in enumerate(EDGE_ORDER)}
    panels = [rgb, depth_image(clip["depth"][0]), edges_image(edges)]
    if "flow" in clip:
        panels.append(flow_image(clip["flow"][0], clip["flow_valid"][0]))
    else:
        panels.append(np.zeros_like(rgb))
    return np.concatenate(panels, 1)


def contact_sheet(rows: list[np.ndarray], columns: int = 2, pad: int = 4) -> np.ndarray:
    """Tile equally sized row images into a grid of ``columns`` (white padding)."""
    h, w = rows[0].shape[:2]
    n_rows = (len(rows) + columns - 1) // columns
    sheet = np.full((n_rows * (h + pad) + pad, columns * (w + pad) + pad, 3), 255, np.uint8)
    for i, img in enumerate(rows):
        r, c = divmod(i, columns)
        sheet[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = img
    return sheet


def render_contact_sheet(families, seeds, size: int = 128, columns: int = 2, device: str | torch.device = "cpu",
                         dynamic: bool = True, supersample: int = 2) -> np.ndarray:
    """Contact sheet of ``families x seeds`` worlds: the first frame of a short orbit (10 degrees
    over two frames, so the flow panel shows parallax and, in dynamic worlds, object motion)."""
    from genscene.worlds.dataset import ClipSpec, render_clip

    rows = []
    for family in families:
        for seed in seeds:
            spec = ClipSpec(family, int(seed), "orbit", path_seed=int(seed), dynamic=dynamic)
            clip = render_clip(spec, num_frames=2, size=(size * 3 // 4, size), device=device, fps=4.0,
                               supersample=supersample, angle_deg=10.0)
            rows.append(clip_panels(clip))
    return contact_sheet(rows, columns)
