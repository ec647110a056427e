"""``photo_to_scene``: one photo -> generated clips along coverage paths -> 3D Gaussians (issue 17).

Lyra's recipe: the photo goes through
:func:`~genscene.pipelines.image_to_video.image_to_video` once per coverage trajectory (Lyra's six,
``genscene/cameras/trajectories/lyra.py``; frame 0 at the identity, unit = frame 0's median depth). Each
clip's depth comes from the geometry net on its generated frames, scaled so frame 0's median is 1, so every
clip lands in the one unit of the commanded cameras. The clips are joined (frame 0, the photo, kept once),
:func:`~genscene.pipelines.fit_gaussians.fit_gaussians` fits Gaussians to all views (route 1, ``fit``) or the
latent Gaussian decoder turns the clips into Gaussians in one pass (route 2, ``decoder``: Lyra's own way), and
the Gaussians are rendered along a fly-through path that no clip was generated on.
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
from genscene.eval.image_metrics import psnr
from genscene.geometry.gaussians import Gaussians
from genscene.io.scene import Scene
from genscene.pipelines.decode_gaussians import decode_gaussians
from genscene.pipelines.fit_gaussians import FitConfig, fit_gaussians, render_views
from genscene.pipelines.generate import GenerateConfig
from genscene.pipelines.image_to_video import ImageToVideoConfig, commanded_cameras, image_to_video

ROUTES: tuple[str, ...] = ("fit", "decoder")
"""How the views become Gaussians: per-scene fitting (route 1) or the latent Gaussian decoder (route 2)."""
ALL_TRAJECTORIES: tuple[str, ...] = tuple(LYRA_TRAJECTORIES)
"""Lyra's six coverage trajectories, in Lyra's order."""
DEFAULT_TRAJECTORIES: tuple[str, ...] = ("lyra_left", "lyra_right")
"""The subset a CPU minute affords: the two sideways moves see the most the photo does not."""

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: a stage starts with ``done = 0``; ``total = 0`` means it has no steps."""


@dataclass
class PhotoToSceneConfig:
    """What is generated, how it is fitted and how the fly-through is rendered."""

    route: str = "fit"
    """``fit`` (optimise Gaussians against the views) or ``decoder`` (one forward pass of the latent Gaussian
    decoder over the clips; :mod:`genscene.pipelines.decode_gaussians`)."""
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
        if self.route not in ROUTES:
            raise ValueError(f"PhotoToSceneConfig.route: expected one of {ROUTES}, got {self.route!r}")
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


def join_views(x: Tensor) -> Tensor:
    """Per-clip tensors ``[V, T, ...]`` sharing frame 0 -> the joined views ``[1 + V (T - 1), ...]`` (frame 0 once,
    then frames ``1..`` of every clip; the layout of :func:`join_clips`, undone by :func:`clip_views`)."""
    return torch.cat([x[0, :1], x[:, 1:].flatten(0, 1)])


def clip_views(scene: Scene, spans: list[tuple[str, int, int]]) -> tuple[Tensor, Cameras]:
    """The joined views of ``scene`` split back into their clips (``spans`` as :class:`PhotoScene`'s ``clips``;
    view 0 heads every clip): frames ``[V, T, 3, S, S]`` and cameras ``[V, T]``."""
    index = clip_index(spans)
    return scene.frames[index], Cameras.stack([scene.cameras[i] for i in index])


def clip_index(spans: list[tuple[str, int, int]]) -> Tensor:
    """Indices ``[V, T]`` into the joined views of each clip's frames (view 0 heads every clip): ``x[index]``
    turns any joined ``[N, ...]`` tensor back into clips ``[V, T, ...]``."""
    return torch.stack([torch.cat([torch.zeros(1, dtype=torch.long), torch.arange(max(a, 1), b)])
                        for _, a, b in spans])


def gaussians_by_decoder(frames: Tensor, cameras: Cameras, vae: nn.Module, decoder: nn.Module,
                         device: str | torch.device) -> tuple[Gaussians, dict]:
    """Route 2: clips ``frames [V, T, 3, S, S]`` seen from ``cameras [V, T]`` -> decoded Gaussians on ``device``
    and stats (``decode_gaussians``'s plus ``psnr`` of renders at every clip view, on the black background the
    decoder was trained on, and the seconds that check took)."""
    gaussians, stats = decode_gaussians(frames, cameras, vae, decoder)
    t0 = time.perf_counter()
    gaussians = gaussians.to(device=device)
    rendered = render_views(gaussians, cameras.reshape(-1).to(device=device, dtype=torch.float32)).cpu()
    stats["psnr"] = float(psnr(rendered, frames.flatten(0, 1).float()).mean())
    stats["background"] = [0.0, 0.0, 0.0]
    stats["check_seconds"] = time.perf_counter() - t0
    return gaussians, stats


def make_gaussians(cfg: PhotoToSceneConfig, scene: Scene, spans: list[tuple[str, int, int]], vae: nn.Module,
                   decoder: nn.Module | None, device: str | torch.device, report: Progress) -> tuple[Gaussians, dict]:
    """The joined views (``scene``, clips at ``spans``) -> Gaussians on ``device`` and stats, by ``cfg.route``."""
    if cfg.route == "decoder":
        if decoder is None:
            raise ValueError("photo_to_scene: route 'decoder' needs the decoder model")
        report(f"decoding Gaussians from {len(spans)} clips", 0, 0)
        return gaussians_by_decoder(*clip_views(scene, spans), vae, decoder, device)
    stage = f"fitting Gaussians to {scene.num_frames} views"
    report(stage, 0, cfg.fit.steps)
    return fit_gaussians(scene.frames.to(device), scene.depths.to(device), scene.cameras, cfg.fit,
                         progress=lambda done, total: report(stage, done, total))


def route_meta(cfg: PhotoToSceneConfig, stats: dict) -> dict:
    """``meta.json``'s record of how the Gaussians were made: ``{"fit": ...}`` or ``{"decoder": ...}``."""
    if cfg.route == "decoder":
        return {"decoder": {k: v for k, v in stats.items() if not k.endswith("seconds")}}
    return {"fit": {k: v for k, v in stats.items() if k != "seconds"} | {"steps_asked": cfg.fit.steps}}


def generate_views(image: Tensor, generator: nn.Module, vae: nn.Module, geometry: nn.Module,
                   cfg: PhotoToSceneConfig, report: Progress) -> tuple[Scene, dict[str, Tensor],
                                                                   list[tuple[str, int, int]], dict[str, float]]:
    """The generation half of :func:`photo_to_scene`: ``image [3, H, W]`` -> one clip per coverage trajectory,
    joined (:func:`join_clips`). Returns the joined scene, its previews, the clips' spans (as
    :class:`PhotoScene`'s ``clips``) and the seconds of each stage."""
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
    return scene, previews, spans, timings


def photo_to_scene(image: Tensor, generator: nn.Module, vae: nn.Module, geometry: nn.Module,
                   cfg: PhotoToSceneConfig | None = None, progress: Progress | None = None,
                   fit_device: str | torch.device = "cpu", decoder: nn.Module | None = None) -> PhotoScene:
    """One photo ``image [3, H, W]`` in [0, 1] -> generated views and 3D Gaussians made from them (fitted, or
    decoded by ``decoder`` when ``cfg.route == "decoder"``).

    The models run where they live (the CPU: ``image_to_video`` feeds them CPU tensors); the fit and the
    fly-through run on ``fit_device`` (CUDA: gsplat when installed). ``progress`` hears of every stage and step.
    """
    cfg = cfg or PhotoToSceneConfig()
    report = progress or (lambda stage, done, total: None)
    scene, previews, spans, timings = generate_views(image, generator, vae, geometry, cfg, report)

    t0 = time.perf_counter()
    gaussians, stats = make_gaussians(cfg, scene, spans, vae, decoder, fit_device, report)
    timings[cfg.route] = time.perf_counter() - t0 - stats.get("check_seconds", 0.0)
    if "check_seconds" in stats:
        timings["decoder_check"] = stats["check_seconds"]

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
                  "route": cfg.route,
                  **route_meta(cfg, stats),
                  "flythrough": {"path": cfg.flythrough, "distance": cfg.flythrough_distance,
                                 "frames": cfg.flythrough_frames, "file": "render.mp4"},
                  "scale": "frame 0's median depth = 1 (the trajectories' unit)",
                  "cameras": "commanded (the trajectories), not estimated from the generated frames"}
    return PhotoScene(scene, previews, spans, fly, fly_cameras)
