"""On-the-fly clips of procedural worlds with every ground-truth signal, and a scene-folder writer.

:func:`render_clip` renders one clip (world x trajectory x frames). :class:`WorldClipDataset` maps
an index to a clip deterministically (worlds x families x presets), rendering on the device given
(``"cuda"`` renders in the training process, no workers needed; on CPU use DataLoader workers).
:func:`write_clip` writes a clip as a scene folder (:mod:`genscene.io.scene`) plus ``gt/gt.npz``
with the signals a scene folder has no place for.

Clip tensors (``T`` frames, ``H x W``):

* ``rgb [T, 3, H, W]`` float, ``depth [T, H, W]`` (0 = sky), ``mask [T, H, W]`` bool
* ``normals [T, H, W, 3]``, ``instance [T, H, W]`` long (-1 sky), ``face [T, H, W]`` long
* ``edges [T, 4, H, W]`` bool in the order of :data:`EDGE_ORDER`
* ``flow [T-1, H, W, 2]`` pixels from frame i to i+1, ``flow_valid [T-1, H, W]`` bool
* ``K [T, 3, 3]``, ``w2c [T, 4, 4]`` (float32, OpenCV), ``times [T]`` seconds
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras
from genscene.worlds import FAMILIES, make_world
from genscene.worlds.camera_paths import CameraPath, PathError, sample_camera_path
from genscene.worlds.compiled import CompiledWorld, compile_world
from genscene.worlds.render import optical_flow, render
from genscene.worlds.seeds import check_seeds, seed_range
from genscene.worlds.world import World

EDGE_ORDER = ("silhouette", "crease", "boundary", "intersection")
DEFAULT_PRESETS = ("orbit", "random", "gen3c_left", "gen3c_right", "gen3c_zoom_in", "gen3c_zoom_out",
                   "gen3r_arc_left", "gen3r_arc_right", "lyra_up", "lyra_clockwise", "spiral")


@dataclass(frozen=True)
class ClipSpec:
    """Everything that determines a clip."""

    family: str
    """Scene family."""
    seed: int
    """World seed."""
    preset: str
    """Trajectory preset (or ``"random"``)."""
    path_seed: int
    """Seed of the start camera / random path."""
    dynamic: bool = False
    """Whether the world has moving objects."""


def render_clip(spec: ClipSpec, num_frames: int = 17, size: int | tuple[int, int] = 128, fov_deg: float = 60.0,
                fps: float = 8.0, device: str | torch.device = "cpu", flow: bool = True, supersample: int = 1,
                compiled: tuple[World, CompiledWorld] | None = None, **preset_params) -> dict:
    """Render one clip with every signal (see the module docstring); tensors on ``device``.

    ``supersample > 1`` anti-aliases ``rgb`` (``s x s`` samples per pixel); other signals are exact.
    ``compiled`` reuses ``(world, compiled world)`` of ``spec`` (see :class:`WorldClipDataset`'s cache).
    """
    world, cw = compiled or _compile(spec, device)
    path = sample_camera_path(world, spec.preset, num_frames, size, spec.path_seed, fov_deg, fps, compiled=cw,
                              **preset_params)
    return _render_path(cw, path, flow, device, supersample) | {"spec": spec}


def _compile(spec: ClipSpec, device) -> tuple[World, CompiledWorld]:
    world = make_world(spec.family, spec.seed, dynamic=spec.dynamic)
    return world, compile_world(world, device)


def _render_path(cw, path: CameraPath, flow: bool, device, supersample: int = 1) -> dict:
    cams = path.cameras.to(device=device)
    times = path.times.to(device=device, dtype=torch.float32)
    out = render(cw, cams, times, supersample=supersample)
    clip = {k: out[k] for k in ("rgb", "depth", "mask", "normals", "instance", "face")}
    clip["edges"] = torch.stack([out["edges"][k] for k in EDGE_ORDER], 1)
    if flow and cams.batch_shape[0] > 1:
        src = {"points_obj": out["points_obj"][:-1], "object": out["object"][:-1]}
        clip["flow"], clip["flow_valid"] = optical_flow(cw, src, cams[1:], times[1:], out["depth"][1:])
    clip["K"] = cams.K.to(torch.float32)
    clip["w2c"] = cams.w2c.to(torch.float32)
    clip["times"] = times
    clip["median_depth"] = torch.tensor(path.median_depth)
    return clip


@dataclass(frozen=True)
class WorldDatasetConfig:
    """What a :class:`WorldClipDataset` enumerates."""

    split: str = "train"
    """Seed split (:mod:`genscene.worlds.seeds`): ``val`` needs ``purpose="selection"``, ``test``
    ``purpose="report"``."""
    purpose: str = "training"
    """``training``, ``selection`` or ``report`` (:mod:`genscene.worlds.seeds` says which may read which split)."""
    num_worlds: int = 1000
    """Worlds per family, the first of the split from ``seed_offset``."""
    seed_offset: int = 0
    """Offset into the split's seed range."""
    families: tuple[str, ...] = FAMILIES
    """Families to cycle through."""
    presets: tuple[str, ...] = DEFAULT_PRESETS
    """Trajectory presets to cycle through."""
    clips_per_world: int = 2
    """Clips (trajectories) per world."""
    num_frames: int = 17
    """Frames per clip."""
    size: int = 128
    """Square frame size in pixels."""
    fov_deg: float = 60.0
    """Vertical field of view."""
    fps: float = 8.0
    """Frame rate (sets the times of dynamic worlds)."""
    dynamic_fraction: float = 0.0
    """Fraction of worlds built with moving objects (decided per world seed)."""
    supersample: int = 1
    """RGB anti-aliasing: ``s x s`` samples per pixel (costs ``s^2`` shading)."""
    cache_worlds: int = 64
    """Compiled worlds kept on the device; building textures costs far more than rendering a clip."""


class WorldClipDataset(torch.utils.data.Dataset):
    """Map-style dataset of rendered clips; item ``i`` is always the same clip."""

    def __init__(self, config: WorldDatasetConfig = WorldDatasetConfig(), device: str | torch.device = "cpu"):
        self.config = config
        self.device = torch.device(device)
        self.seeds = seed_range(config.split, config.num_worlds, config.seed_offset, purpose=config.purpose)
        check_seeds(self.seeds, config.purpose)
        self._cache: OrderedDict[tuple, tuple[World, CompiledWorld]] = OrderedDict()

    def __len__(self) -> int:
        c = self.config
        return len(self.seeds) * len(c.families) * c.clips_per_world

    def spec(self, index: int) -> ClipSpec:
        c = self.config
        if not 0 <= index < len(self):
            raise IndexError(f"WorldClipDataset: index {index} out of range [0, {len(self)})")
        clip = index % c.clips_per_world
        family = c.families[(index // c.clips_per_world) % len(c.families)]
        seed = self.seeds[index // (c.clips_per_world * len(c.families))]
        rng = np.random.default_rng([seed, clip, len(family)])
        preset = c.presets[int(rng.integers(len(c.presets)))]
        dynamic = bool(np.random.default_rng([seed, 99]).random() < c.dynamic_fraction)
        return ClipSpec(family, seed, preset, path_seed=int(rng.integers(2**31)), dynamic=dynamic)

    def _compiled(self, spec: ClipSpec) -> tuple[World, CompiledWorld]:
        key = (spec.family, spec.seed, spec.dynamic)
        if key not in self._cache:
            self._cache[key] = _compile(spec, self.device)
            while len(self._cache) > self.config.cache_worlds:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return self._cache[key]

    def __getitem__(self, index: int) -> dict:
        c = self.config
        spec = self.spec(index)
        compiled = self._compiled(spec)
        try:
            clip = render_clip(spec, c.num_frames, c.size, c.fov_deg, c.fps, self.device, supersample=c.supersample,
                               compiled=compiled)
        except PathError:
            # A world/preset pair with no clear path: fall back to the always-feasible random path.
            spec = ClipSpec(spec.family, spec.seed, "random", spec.path_seed, spec.dynamic)
            clip = render_clip(spec, c.num_frames, c.size, c.fov_deg, c.fps, self.device, supersample=c.supersample,
                               compiled=compiled)
        clip["spec"] = asdict(spec)
        return clip


def gt_points(rgb: Tensor, depth: Tensor, cameras: Cameras, max_points: int = 200_000) -> tuple[Tensor, Tensor]:
    """The clip's ground-truth coloured point cloud: depth ``[T,H,W]`` unprojected, voxel down-sampled.

    The voxel is a fraction of the median depth, grown until at most ``max_points`` remain.
    """
    from genscene.geometry.points import depth_to_points, voxel_downsample

    cloud = depth_to_points(depth, cameras, images=rgb)
    valid = depth[depth > 0]
    voxel = float(valid.median()) / 200 if valid.numel() else 1.0
    while len(cloud) > max_points:
        cloud = voxel_downsample(cloud, voxel)
        voxel *= 1.5
    return cloud.xyz.float(), cloud.rgb.float()


def write_clip(path: str | Path, clip: dict, overwrite: bool = False, fps: float = 8.0) -> Path:
    """Write a clip as a scene folder (frames, depth, cameras, video, meta) + ``gt/gt.npz`` (atomic).

    ``gt/gt.npz`` holds normals (float16), instance and face ids (int32), edges (bool ``[T, 4, H, W]``,
    order ``edge_order``), flow / flow_valid, times, K and w2c. ``overwrite`` replaces only a scene
    folder (see :func:`genscene.io.scene.write_scene`).
    """
    from genscene.io.scene import Scene, write_scene

    cpu = {k: (v.detach().cpu() if isinstance(v, Tensor) else v) for k, v in clip.items()}
    T, _, H, W = cpu["rgb"].shape
    cams = Cameras(cpu["K"].double(), cpu["w2c"].double(), W, H)
    spec = cpu["spec"] if isinstance(cpu["spec"], dict) else asdict(cpu["spec"])
    meta = {"world": spec, "times": cpu["times"].tolist(), "median_depth": float(cpu["median_depth"]),
            "generator": "genscene.worlds", "gt": "gt/gt.npz"}
    scene = Scene(frames=cpu["rgb"].float(), cameras=cams, depths=cpu["depth"].float(), meta=meta, fps=fps,
                  points=gt_points(cpu["rgb"].float(), cpu["depth"].float(), cams))
    extras = {"gt/gt.npz": lambda file: _write_gt_arrays(file, cpu), "gt/README.json": _write_gt_readme}
    return write_scene(path, scene, overwrite=overwrite, extras=extras)


def _write_gt_arrays(file: Path, cpu: dict) -> None:
    """``gt/gt.npz`` of a clip whose tensors are on the CPU."""
    arrays = {
        "normals": cpu["normals"].numpy().astype(np.float16),
        "instance": cpu["instance"].numpy().astype(np.int32),
        "face": cpu["face"].numpy().astype(np.int32),
        "edges": cpu["edges"].numpy().astype(bool),
        "edge_order": np.array(EDGE_ORDER),
        "mask": cpu["mask"].numpy().astype(bool),
        "times": cpu["times"].numpy().astype(np.float32),
        "K": cpu["K"].numpy(),
        "w2c": cpu["w2c"].numpy(),
    }
    if "flow" in cpu:
        arrays["flow"] = cpu["flow"].numpy().astype(np.float32)
        arrays["flow_valid"] = cpu["flow_valid"].numpy().astype(bool)
    file.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(file, **arrays)


def _write_gt_readme(file: Path) -> None:
    """``gt/README.json``: what each array of ``gt/gt.npz`` holds."""
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps({
        "normals": "[T,H,W,3] world, facing the camera", "instance": "[T,H,W] -1 = sky",
        "face": "[T,H,W] global face id, -1 = sky", "edges": f"[T,4,H,W] order {list(EDGE_ORDER)}",
        "flow": "[T-1,H,W,2] pixels, frame i -> i+1 (object motion included)",
        "flow_valid": "[T-1,H,W] visible in frame i+1 and inside it"}, indent=1) + "\n")
