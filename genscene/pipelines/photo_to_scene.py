"""``photo_to_scene``: one photo -> generated clips along coverage paths -> fitted 3D Gaussians (issue 17, route 1).

Lyra's recipe with per-scene fitting in place of its latent Gaussian decoder: the photo goes through
:func:`~genscene.pipelines.image_to_video.image_to_video` once per coverage trajectory (Lyra's six,
``genscene/cameras/trajectories/lyra.py``; frame 0 at the identity, unit = frame 0's median depth). Each
clip's depth comes from the geometry net on its generated frames, scaled so frame 0's median is 1, so every
clip lands in the one unit of the commanded cameras. The clips are joined (frame 0, the photo, kept once),
:func:`~genscene.pipelines.fit_gaussians.fit_gaussians` fits Gaussians to all views, and the Gaussians are
rendered along a fly-through path that no clip was generated on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from genscene.cameras.cameras import Cameras
from genscene.cameras.trajectories.core import make_trajectory
from genscene.cameras.trajectories.lyra import LYRA_TRAJECTORIES
from genscene.io.scene import Scene
from genscene.pipelines.fit_gaussians import FitConfig, fit_gaussians, render_views
from genscene.pipelines.generate import GenerateConfig
from genscene.pipelines.image_to_video import ImageToVideoConfig, commanded_cameras, image_to_video

ALL_TRAJECTORIES: tuple[str, ...] = tuple(LYRA_TRAJECTORIES)
"""Lyra's six coverage trajectories, in Lyra's order."""
DEFAULT_TRAJECTORIES: tuple[str, ...] = ("lyra_left", "lyra_right")
"""The subset a CPU minute affords: the two sideways moves see the most the photo does not."""

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: a stage starts with ``done = 0``; ``total = 0`` means it has no steps."""


@dataclass
class PhotoToSceneConfig:
    """What is generated, how it is fitted and how the fly-through is rendered."""

    trajectories: tuple[str, ...] = DEFAULT_TRAJECTORIES
    """Coverage trajectories, one generated clip each (:data:`ALL_TRAJECTORIES` for Lyra's full six)."""
    frames: int = 9
    """Frames per clip, 1 + 4k (the VAE's counts; frame 0 is the photo in every clip)."""
    steps: int = 10
    """Sampler steps per clip."""
    guidance: float = 2.0
    """Classifier-free guidance over the image and 3D-cache conditions."""
    seed: int = 0
    """Seed of every clip's initial noise and of Lyra's distance draws."""
    size: int = 128
    """Square side the photo is cropped and resized to; every view and the fly-through have this size."""
    fit: FitConfig = field(default_factory=lambda: FitConfig(steps=30, voxel=0.04))
    """Gaussian fitting: 30 steps on a coarser init voxel than a GT clip's (0.04: the clips' depths disagree,
    so a finer grid keeps several copies of a surface; at 0.02 two 9-frame clips gave 19k Gaussians and a
    fit of over a minute on one core)."""
    flythrough: str = "spiral"
    """Preset of the fly-through path (not one of the generation paths)."""
    flythrough_distance: float = 0.1
    """Size of the fly-through path in median depths (small: it stays where the clips looked)."""
    flythrough_frames: int = 17
    """Frames of the fly-through."""

    def __post_init__(self) -> None:
        unknown = [t for t in self.trajectories if t not in ALL_TRAJECTORIES]
        if unknown or not self.trajectories:
            raise ValueError(f"PhotoToSceneConfig.trajectories: expected some of {ALL_TRAJECTORIES}, "
                             f"got {self.trajectories}")
        if self.frames < 5 or (self.frames - 1) % 4:
            raise ValueError(f"PhotoToSceneConfig.frames: expected 1 + 4k >= 5, got {self.frames}")


@dataclass
class PhotoScene:
    """What :func:`photo_to_scene` returns (CPU tensors; ``N = 1 + C (T - 1)`` views for ``C`` clips of ``T``)."""

    scene: Scene
    """Every view: frames ``[N, 3, S, S]``, commanded cameras ``[N]``, depth and confidence ``[N, S, S]``,
    the clips' points, the fitted Gaussians; meta with per-stage timings and the fit's stats."""
    previews: dict[str, Tensor]
    """For :func:`~genscene.pipelines.image_to_video.preview_png`: ``input [3, S, S]``, ``cache_rgb
    [N, 3, S, S]``, ``cache_mask [N, S, S]``."""
    clips: list[tuple[str, int, int]]
    """``(trajectory, first view, last view + 1)`` of each clip in the joined views (view 0 is shared)."""
    flythrough: Tensor
    """The Gaussians rendered along the fly-through: ``[R, 3, S, S]`` in [0, 1]."""
    flythrough_cameras: Cameras
    """Its cameras ``[R]`` (same unit and frame as the views' cameras)."""


def coverage_paths(cfg: PhotoToSceneConfig) -> dict[str, Tensor]:
    """Trajectory name -> relative ``c2w [T, 4, 4]`` (frame 0 the identity, unit = frame 0's median depth)."""
    return {name: make_trajectory(name, cfg.frames, seed=cfg.seed) for name in cfg.trajectories}


def join_clips(clips: list[tuple[Scene, dict[str, Tensor]]]) -> tuple[Scene, dict[str, Tensor]]:
    """Join clips that share frame 0 (the same photo, cameras and depth unit) into one set of views.

    Each clip is ``(scene, previews)`` of ``image_to_video``: frames ``[T_k, 3, S, S]``, cameras ``[T_k]``,
    depth and confidence ``[T_k, S, S]``. View 0 is the photo itself (``previews["input"] [3, S, S]``, not its
    decoded copy) with the first clip's depth; then views ``1..`` of every clip in order. Points are every
    clip's confident points. Returns the joined scene (``N = 1 + sum(T_k - 1)`` views) and joined previews.
    """
    first, previews = clips[0]

    def joined(get: Callable[[Scene, dict], Tensor], head: Tensor) -> Tensor:
        return torch.cat([head[None]] + [get(s, p)[1:] for s, p in clips])

    frames = joined(lambda s, p: s.frames, previews["input"])
    depths = joined(lambda s, p: s.depths, first.depths[0])
    confidence = joined(lambda s, p: s.confidence, first.confidence[0])
    cameras = Cameras.cat([first.cameras[:1]] + [s.cameras[1:] for s, _ in clips])
    xyz = torch.cat([s.points[0] for s, _ in clips])
    rgb = torch.cat([s.points[1] for s, _ in clips])
    scene = Scene(frames=frames, cameras=cameras, depths=depths, confidence=confidence, points=(xyz, rgb),
                  meta={}, fps=first.fps)
    joined_previews = {"input": previews["input"],
                       "cache_rgb": joined(lambda s, p: p["cache_rgb"], previews["cache_rgb"][0]),
                       "cache_mask": joined(lambda s, p: p["cache_mask"], previews["cache_mask"][0])}
    return scene, joined_previews


def photo_to_scene(image: Tensor, generator: nn.Module, vae: nn.Module, geometry: nn.Module,
                   cfg: PhotoToSceneConfig | None = None, progress: Progress | None = None,
                   fit_device: str | torch.device = "cpu") -> PhotoScene:
    """One photo ``image [3, H, W]`` in [0, 1] -> generated views and 3D Gaussians fitted to them.

    The models run where they live (the CPU: ``image_to_video`` feeds them CPU tensors); the fit and the
    fly-through run on ``fit_device`` (CUDA: gsplat when installed). ``progress`` hears of every stage and step.
    """
    cfg = cfg or PhotoToSceneConfig()
    report = progress or (lambda stage, done, total: None)
    i2v = ImageToVideoConfig(size=cfg.size, generate=GenerateConfig(steps=cfg.steps, guidance=cfg.guidance,
                                                                    seed=cfg.seed))
    timings: dict[str, float] = {"input_geometry": 0.0, "generate": 0.0, "geometry": 0.0}
    clips, spans, start = [], [], 1
    paths = coverage_paths(cfg)
    for k, (name, rel_c2w) in enumerate(paths.items(), start=1):
        stage = f"clip {k}/{len(paths)} ({name}): sampling {cfg.frames} frames, then their geometry"
        report(stage, 0, cfg.steps)
        clip = image_to_video(image, rel_c2w, generator, vae, geometry, i2v,
                              progress=lambda done, total, stage=stage: report(stage, done, total))
        for key, seconds in clip[0].meta["timings_s"].items():
            timings[key] += seconds
        clips.append(clip)
        spans.append((name, 0 if k == 1 else start, start + cfg.frames - 1))
        start += cfg.frames - 1
    scene, previews = join_clips(clips)

    t0 = time.perf_counter()
    report(f"fitting Gaussians to {scene.num_frames} views", 0, cfg.fit.steps)
    gaussians, stats = fit_gaussians(scene.frames.to(fit_device), scene.depths.to(fit_device), scene.cameras, cfg.fit,
                                     progress=lambda done, total: report(
                                         f"fitting Gaussians to {scene.num_frames} views", done, total))
    timings["fit"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    report(f"rendering the {cfg.flythrough_frames}-frame fly-through", 0, 0)
    rel = make_trajectory(cfg.flythrough, cfg.flythrough_frames, cfg.flythrough_distance)
    fly_cameras = commanded_cameras(scene.cameras.K[0], rel, cfg.size)
    fly = render_views(gaussians, fly_cameras.to(device=fit_device, dtype=torch.float32),
                       torch.tensor(stats["background"], device=fit_device), cfg.fit.backend).cpu()
    timings["render"] = time.perf_counter() - t0

    scene.gaussians = gaussians.to(device="cpu")
    scene.meta = {"timings_s": {k: round(v, 3) for k, v in timings.items()},
                  "generate": {"trajectories": list(cfg.trajectories), "frames_per_clip": cfg.frames,
                               "steps": cfg.steps, "guidance": cfg.guidance, "seed": cfg.seed, "size": cfg.size},
                  "clips": [{"trajectory": n, "views": [a, b]} for n, a, b in spans],
                  "fit": {k: v for k, v in stats.items() if k != "seconds"} | {"steps_asked": cfg.fit.steps},
                  "flythrough": {"path": cfg.flythrough, "distance": cfg.flythrough_distance,
                                 "frames": cfg.flythrough_frames, "file": "render.mp4"},
                  "scale": "frame 0's median depth = 1 (the trajectories' unit)",
                  "cameras": "commanded (the trajectories), not estimated from the generated frames"}
    return PhotoScene(scene, previews, spans, fly, fly_cameras)
