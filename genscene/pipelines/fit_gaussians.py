"""Per-scene 3D Gaussian fitting: frames + depth + cameras -> :class:`Gaussians` (issue 17, route 1).

Initialisation puts one Gaussian on every valid pixel, lifted by its depth, and thins them to one per
voxel (cells ``voxel x median depth`` wide, doubling per octave of depth beyond the median); each starts
isotropic, as wide as its pixel footprint (``depth / focal``) or its voxel, with the pixel's colour. Optimisation is 3DGS's: Adam on the raw
parameters (means, log-scales, unnormalised quaternions, opacity logits, RGB), loss
``(1 - lambda) L1 + lambda (1 - SSIM)`` on a random subset of views per step, plus an L1 term between the
rendered expected depth and the target depth (relative to the median depth). Every few steps
low-opacity Gaussians are pruned (``render.densify.prune_by_opacity``) and, if asked for
(``densify_fraction``; off by default: it did not pay within a CPU minute), the ones with the largest
mean position gradients are cloned (small) or split in two (large). Pixels without depth (sky, 0) or
far beyond the scene get no Gaussian: a learned background colour stands behind everything.

Rendering goes through ``render_gaussians``: gsplat when the tensors live on CUDA (and gsplat is
installed), the torch reference on the CPU. The fit is bounded by a step count and, optionally, seconds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from genscene.cameras.cameras import Cameras
from genscene.eval.image_metrics import psnr, ssim
from genscene.geometry.gaussians import Gaussians
from genscene.geometry.points import PointCloud, depth_to_points, voxel_downsample
from genscene.render.densify import prune_by_opacity
from genscene.render.gaussians import render_gaussians
from genscene.rotations import quat_to_rotmat

PARAMS = ("means", "scales", "quats", "opacities", "colors")
"""Per-Gaussian raw parameters, in the order of their Adam groups (the background colour comes last)."""


@dataclass
class FitConfig:
    """Budget, learning rates, loss weights and the densify / prune schedule of :func:`fit_gaussians`."""

    steps: int = 50
    """Optimiser steps; sized so a 128 px, 17-frame scene fits in about a minute on one loaded CPU core."""
    seconds: float | None = None
    """Wall-clock budget of the optimisation loop; the fit stops after the step that exceeds it. None: no limit."""
    frames_per_step: int = 1
    """Views rendered per step, drawn at random without replacement."""
    lr_means: float = 1.6e-3
    """Adam step of the means, in units of the scene extent (the median valid depth); decays to
    ``lr_means_final`` times this by the last step (exponentially, as in 3DGS). 10x 3DGS's 1.6e-4: a fit
    of tens of steps gains about 2 dB held-out PSNR from it (scales and quats likewise)."""
    lr_means_final: float = 0.1
    """Final fraction of ``lr_means`` (3DGS: 0.01 over 30k steps; short fits do better decaying less)."""
    lr_scales: float = 5e-2
    """Adam step of the log standard deviations (10x 3DGS's)."""
    lr_quats: float = 1e-2
    """Adam step of the (unnormalised) quaternions (10x 3DGS's)."""
    lr_opacities: float = 5e-2
    """Adam step of the opacity logits."""
    lr_colors: float = 2.5e-3
    """Adam step of the RGB colours (3DGS's; larger steps measured worse)."""
    lr_background: float = 1e-2
    """Adam step of the background colour (0: keep the initial one)."""
    lambda_dssim: float = 0.2
    """Weight of ``1 - SSIM`` in the photometric loss (the L1 term has ``1 - lambda_dssim``)."""
    depth_weight: float = 0.1
    """Weight of the mean absolute error of the rendered expected depth, divided by the median depth,
    over pixels with a valid target depth; 0 turns it off."""
    voxel: float = 0.02
    """Init thinning: voxel edge as a fraction of the median valid depth; 0 keeps one Gaussian per valid pixel."""
    init_opacity: float = 0.3
    """Opacity of every initial Gaussian."""
    init_scale: float = 0.5
    """Multiplies the initial standard deviations (pixel footprint or voxel edge); half is sharper and cheaper."""
    max_depth_ratio: float = 30.0
    """Pixels deeper than this times the median depth count as background (no Gaussian, no depth loss)."""
    prune_every: int = 25
    """Prune (and densify) every this many steps; 0: never."""
    prune_opacity: float = 0.01
    """Gaussians with opacity below this are pruned."""
    densify_fraction: float = 0.0
    """At each prune, this fraction of the Gaussians with the largest mean position gradients (averaged over
    the steps that saw them) is cloned (scale below ``split_scale``) or split in two; 0: prune only."""
    densify_until: float = 0.7
    """No densification after this fraction of the steps."""
    split_scale: float = 0.01
    """Largest standard deviation, as a fraction of the scene extent, of a Gaussian that is cloned, not split."""
    max_gaussians: int = 200_000
    """Densification never grows the set beyond this."""
    background: tuple[float, float, float] | None = None
    """Initial background colour; None: the mean colour of the pixels without a valid depth (else black)."""
    backend: str = "auto"
    """Renderer: "auto" (gsplat on CUDA when installed, else torch), "torch" or "gsplat"."""
    seed: int = 0
    """Seeds the view sampling and the split offsets."""


def valid_depth(depths: Tensor, max_ratio: float | None = None) -> tuple[Tensor, float]:
    """Pixels with usable depth ``[T, H, W]`` (finite, > 0, at most ``max_ratio`` x the median) and that median."""
    valid = torch.isfinite(depths) & (depths > 0)
    if not valid.any():
        raise ValueError("fit_gaussians: no pixel has a valid (finite, positive) depth")
    median = float(depths[valid].median())
    if max_ratio is not None:
        valid &= depths <= max_ratio * median
    return valid, median


def thin_by_depth(cloud: PointCloud, depth: Tensor, cell: float, median: float) -> tuple[PointCloud, Tensor]:
    """One point per voxel, voxels growing with depth: ``cell`` up to the median depth, doubling per octave beyond.

    A pixel's footprint grows with its depth, so far surfaces seen by many frames would otherwise keep one
    point per frame. Points (``depth [N]``) are grouped by octave ``ceil(log2(depth / median))`` and each
    group goes through ``voxel_downsample`` with edge ``cell * 2^octave``.

    Returns the thinned cloud (octave-major) and each point's voxel edge ``[M]``.
    """
    octave = torch.ceil(torch.log2(depth / median)).clamp_min(0).long()  # [N]
    parts, edges = [], []
    for level in torch.unique(octave).tolist():
        edge = cell * 2.0**level
        part = voxel_downsample(cloud[octave == level], edge)
        parts.append(part)
        edges.append(torch.full((len(part),), edge, dtype=cloud.xyz.dtype, device=cloud.xyz.device))
    return PointCloud.cat(parts), torch.cat(edges)


def init_gaussians(frames: Tensor, depths: Tensor, cameras: Cameras, voxel: float = 0.0, opacity: float = 0.3,
                   max_depth_ratio: float | None = None, scale: float = 1.0) -> Gaussians:
    """One isotropic Gaussian per valid pixel, lifted by its depth and thinned to one per voxel.

    Args:
        frames: RGB ``[T, 3, H, W]`` in [0, 1].
        depths: z-depth ``[T, H, W]``; non-finite or non-positive = no Gaussian.
        cameras: the ``T`` frames' cameras.
        voxel: voxel edge as a fraction of the median valid depth, doubled per octave of depth beyond the
            median (:func:`thin_by_depth`); 0: no thinning.
        opacity: every Gaussian's opacity.
        max_depth_ratio: pixels deeper than this times the median depth get no Gaussian; None: no limit.
        scale: multiplies the standard deviations.

    Returns:
        float32 Gaussians on the frames' device: positions and colours averaged per voxel, standard
        deviation ``scale * max(mean pixel footprint depth / focal, voxel edge)``, identity rotations.
    """
    valid, median = valid_depth(depths, max_depth_ratio)
    focal = 0.5 * (cameras.fx + cameras.fy).to(depths)  # [T]
    footprint = depths / focal[:, None, None]  # [T, H, W]
    # voxel_downsample averages per-point attributes: the footprint rides in the confidence slot.
    cloud = depth_to_points(depths, cameras, images=frames, mask=valid, confidence=footprint)
    edge = torch.zeros(len(cloud), dtype=cloud.xyz.dtype, device=cloud.xyz.device)
    if voxel > 0:
        cloud, edge = thin_by_depth(cloud, depths[valid].to(cloud.xyz), voxel * median, median)
    n = len(cloud)
    f32 = {"dtype": torch.float32, "device": frames.device}
    sigma = scale * torch.maximum(cloud.confidence, edge).to(**f32)
    return Gaussians(means=cloud.xyz.to(**f32), quats=torch.tensor([1.0, 0.0, 0.0, 0.0], **f32).repeat(n, 1),
                     scales=sigma[:, None].repeat(1, 3), opacities=torch.full((n,), opacity, **f32),
                     colors=cloud.rgb.to(**f32))


def raw_parameters(gaussians: Gaussians) -> dict[str, Tensor]:
    """Pre-activation leaves: means, log-scales, quaternions, opacity logits, colours (all ``[N, ...]``)."""
    raw = {"means": gaussians.means, "scales": gaussians.scales.log(), "quats": gaussians.quats,
           "opacities": torch.logit(gaussians.opacities.clamp(1e-4, 1 - 1e-4)), "colors": gaussians.colors}
    return {k: v.detach().clone().requires_grad_(True) for k, v in raw.items()}


def activate(raw: dict[str, Tensor]) -> Gaussians:
    """Raw parameters -> activated :class:`Gaussians` (differentiable)."""
    return Gaussians(means=raw["means"], quats=F.normalize(raw["quats"], dim=-1), scales=raw["scales"].exp(),
                     opacities=torch.sigmoid(raw["opacities"]), colors=raw["colors"])


def photometric_loss(pred: Tensor, target: Tensor, lambda_dssim: float) -> Tensor:
    """3DGS's ``(1 - lambda) L1 + lambda (1 - SSIM)`` of ``[B, 3, H, W]`` images (a scalar)."""
    l1 = (pred - target).abs().mean()
    if lambda_dssim == 0:
        return l1
    return (1 - lambda_dssim) * l1 + lambda_dssim * (1 - ssim(pred, target).mean()).to(l1)


def depth_loss(pred: Tensor, target: Tensor, valid: Tensor, scale: float) -> Tensor:
    """Mean ``|pred - target| / scale`` over the ``valid`` pixels of ``[B, H, W]`` depth maps (0 if none)."""
    if not valid.any():
        return pred.new_zeros(())
    return (pred - target).abs()[valid].mean() / scale


def initial_background(frames: Tensor, valid: Tensor, colour: tuple[float, float, float] | None) -> Tensor:
    """RGB ``[3]``: ``colour`` if given, else the mean of the pixels without valid depth (black if none)."""
    if colour is not None:
        return torch.tensor(colour, dtype=frames.dtype, device=frames.device)
    empty = ~valid  # [T, H, W]
    if not empty.any():
        return frames.new_zeros(3)
    return frames.permute(0, 2, 3, 1)[empty].mean(0)


class _Fit:
    """The mutable state of one fit: raw parameters, their Adam optimiser, mean-gradient statistics."""

    def __init__(self, init: Gaussians, background: Tensor, cfg: FitConfig, extent: float):
        self.cfg, self.extent = cfg, extent
        self.raw = raw_parameters(init)
        self.background = background.detach().clone().requires_grad_(cfg.lr_background > 0)
        lrs = {"means": cfg.lr_means * extent, "scales": cfg.lr_scales, "quats": cfg.lr_quats,
               "opacities": cfg.lr_opacities, "colors": cfg.lr_colors}
        groups = [{"params": [self.raw[k]], "lr": lrs[k], "name": k} for k in PARAMS]
        if cfg.lr_background > 0:
            groups.append({"params": [self.background], "lr": cfg.lr_background, "name": "background"})
        self.opt = torch.optim.Adam(groups, eps=1e-15)
        self._reset_gradient_stats()

    def __len__(self) -> int:
        return self.raw["means"].shape[0]

    def gaussians(self) -> Gaussians:
        return activate(self.raw)

    def _reset_gradient_stats(self) -> None:
        self.grad_sum = self.raw["means"].new_zeros(len(self))
        self.grad_seen = torch.zeros_like(self.grad_sum)

    def step(self, rgb: Tensor, depth: Tensor, valid: Tensor, cameras: Cameras, step: int) -> float:
        """One Adam step on views ``rgb [B, 3, H, W]``, ``depth``/``valid [B, H, W]``; returns the loss."""
        cfg = self.cfg
        t = step / max(1, cfg.steps - 1)
        self.opt.param_groups[0]["lr"] = cfg.lr_means * self.extent * cfg.lr_means_final ** t
        out = render_gaussians(self.gaussians(), cameras, background=self.background.clamp(0, 1),
                               backend=cfg.backend)
        loss = photometric_loss(out["rgb"], rgb, cfg.lambda_dssim)
        if cfg.depth_weight > 0:
            loss = loss + cfg.depth_weight * depth_loss(out["depth"], depth, valid, self.extent)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = self.raw["means"].grad.detach().norm(dim=-1)  # [N]
        self.grad_sum += norm
        self.grad_seen += norm > 0
        self.opt.step()
        return float(loss.detach())

    def _replace(self, fn: Callable[[str, Tensor, bool], Tensor]) -> None:
        """Apply ``fn(name, tensor, is_moment)`` to every per-Gaussian parameter and its Adam moments."""
        for group in self.opt.param_groups[:len(PARAMS)]:
            name, old = group["name"], group["params"][0]
            new = fn(name, old.detach(), False).requires_grad_(True)
            state = self.opt.state.pop(old, None)
            if state:
                for key in ("exp_avg", "exp_avg_sq"):
                    state[key] = fn(name, state[key], True)
                self.opt.state[new] = state
            group["params"][0] = self.raw[name] = new

    def prune(self) -> int:
        """Drop the Gaussians below ``prune_opacity``; returns how many went."""
        before = len(self)
        _, keep = prune_by_opacity(self.gaussians(), min_opacity=self.cfg.prune_opacity)
        if len(keep) < before:
            self._replace(lambda name, x, moment: x[keep])
            self.grad_sum, self.grad_seen = self.grad_sum[keep], self.grad_seen[keep]
        return before - len(keep)

    @torch.no_grad()
    def densify(self, generator: torch.Generator) -> int:
        """Clone or split the ``densify_fraction`` with the largest mean gradients; returns how many were added.

        Small Gaussians (largest std <= ``split_scale`` x extent) get a copy in place; larger ones are split:
        the two halves sit at ``mean +- x`` for ``x`` drawn from the Gaussian, with stds / 1.6.
        """
        n = len(self)
        count = min(int(self.cfg.densify_fraction * n), self.cfg.max_gaussians - n)
        if count <= 0:
            return 0
        pick = torch.argsort(-self.grad_sum / self.grad_seen.clamp_min(1), stable=True)[:count]
        g = self.gaussians()[pick]
        split = g.scales.max(-1).values > self.cfg.split_scale * self.extent  # [count]
        local = torch.randn(count, 3, generator=generator).to(g.means) * g.scales
        offset = torch.einsum("nij,nj->ni", quat_to_rotmat(g.quats), local) * split[:, None]  # [count, 3]
        shrink = split[:, None] * math.log(1.6)  # [count, 1]
        self._replace(lambda name, x, moment: _grow(name, x, moment, pick, offset, shrink))
        self._reset_gradient_stats()
        return count


def _grow(name: str, x: Tensor, moment: bool, pick: Tensor, offset: Tensor, shrink: Tensor) -> Tensor:
    """``x [N, ...]`` with copies of rows ``pick`` appended; a split moves the original and its copy to
    ``mean +- offset`` and lowers both log-scales by ``shrink``. The copies' Adam moments start at zero."""
    if moment:
        return torch.cat([x, torch.zeros_like(x[pick])])
    copy = x[pick]
    x = x.clone()
    if name == "means":
        x[pick] += offset
        copy = copy - offset
    elif name == "scales":
        x[pick] -= shrink
        copy = copy - shrink
    return torch.cat([x, copy])


@torch.no_grad()
def render_views(gaussians: Gaussians, cameras: Cameras, background: Tensor | tuple = (0.0, 0.0, 0.0),
                 backend: str = "auto", batch: int = 4) -> Tensor:
    """Render every camera of ``cameras [T]``, ``batch`` at a time: RGB ``[T, 3, H, W]`` clamped to [0, 1]."""
    out = [render_gaussians(gaussians, cameras[i:i + batch], background=background, backend=backend)["rgb"]
           for i in range(0, len(cameras), batch)]
    return torch.cat(out).clamp(0, 1)


def fit_gaussians(frames: Tensor, depths: Tensor, cameras: Cameras, cfg: FitConfig | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  clock: Callable[[], float] = time.perf_counter,
                  init: Gaussians | None = None) -> tuple[Gaussians, dict]:
    """Fit 3D Gaussians to posed frames with depth.

    Args:
        frames: RGB ``[T, 3, H, W]`` in [0, 1]; their device picks the renderer (CUDA: gsplat when installed).
        depths: z-depth ``[T, H, W]``; non-finite, non-positive or very far (``max_depth_ratio``) = background.
        cameras: the frames' cameras ``[T]`` (OpenCV, w2c, K in pixels, image size W x H).
        cfg: budget and hyper-parameters (default :class:`FitConfig`).
        progress: called as ``progress(done, total)`` after every step.
        clock: seconds counter for the ``cfg.seconds`` budget (injectable for tests).
        init: start from these Gaussians instead of :func:`init_gaussians` of the depth.

    Returns:
        The fitted Gaussians (float32, colours clamped to [0, 1], detached) and stats: ``steps`` run,
        ``seconds`` (init + optimisation), ``stopped`` ("steps" or "seconds"), ``init_gaussians``,
        ``gaussians``, ``pruned``, ``densified``, ``loss`` (last step), ``psnr`` (mean over the fitted
        views, rendered after the fit), ``background`` (the learned RGB).
    """
    cfg = cfg or FitConfig()
    start = clock()
    frames = frames.float()
    depths = depths.to(frames)
    valid, median = valid_depth(depths, cfg.max_depth_ratio)
    if init is None:
        init = init_gaussians(frames, depths, cameras, cfg.voxel, cfg.init_opacity, cfg.max_depth_ratio,
                              cfg.init_scale)
    init = init.to(device=frames.device, dtype=torch.float32)
    state = _Fit(init, initial_background(frames, valid, cfg.background), cfg, median)
    cameras = cameras.to(device=frames.device, dtype=torch.float32)
    generator = torch.Generator().manual_seed(cfg.seed)
    per_step = min(cfg.frames_per_step, frames.shape[0])
    stats = {"steps": 0, "stopped": "steps", "init_gaussians": len(init), "pruned": 0, "densified": 0, "loss": None}
    for step in range(cfg.steps):
        views = torch.randperm(frames.shape[0], generator=generator)[:per_step].to(frames.device)
        stats["loss"] = state.step(frames[views], depths[views], valid[views], cameras[views], step)
        stats["steps"] = step + 1
        _maintain(state, step, generator, stats)
        if progress is not None:
            progress(step + 1, cfg.steps)
        if cfg.seconds is not None and clock() - start >= cfg.seconds and step + 1 < cfg.steps:
            stats["stopped"] = "seconds"
            break
    stats["seconds"] = clock() - start
    fitted = state.gaussians()
    fitted = Gaussians(**{k: getattr(fitted, k).detach() for k in ("means", "quats", "scales", "opacities")},
                       colors=fitted.colors.detach().clamp(0, 1))
    background = state.background.detach().clamp(0, 1)
    stats.update(gaussians=len(fitted), background=background.tolist(),
                 psnr=float(psnr(render_views(fitted, cameras, background, cfg.backend), frames).mean()))
    return fitted, stats


def _maintain(state: _Fit, step: int, generator: torch.Generator, stats: dict) -> None:
    """Every ``prune_every`` steps (not after the last): densify while allowed, then prune."""
    cfg = state.cfg
    done = step + 1
    if not cfg.prune_every or done % cfg.prune_every or done >= cfg.steps:
        return
    if cfg.densify_fraction > 0 and done <= cfg.densify_until * cfg.steps:
        stats["densified"] += state.densify(generator)
    stats["pruned"] += state.prune()
