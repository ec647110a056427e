"""Camera paths inside a world's free space: trajectory presets, random smooth paths, Lyra coverage.

A path starts at a camera sampled in the world's camera region (clear of geometry), looking at a
point of its look-at region. Presets from :mod:`genscene.cameras.trajectories` are relative to
frame 0 in units of the scene's median depth; they are scaled by the median depth measured from
the start camera (a tiny depth render). ``orbit`` turns about the world's vertical axis (a
turntable: no horizon roll when the start camera looks down). A path is rejected if any camera comes within the world's
margin of geometry or any segment between consecutive cameras passes through geometry (ray cast
at the frames' times, so moving objects count); rejected paths are retried with a shorter
distance, then from a new start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras, invert_rigid
from genscene.cameras.trajectories import LYRA_TRAJECTORIES, get_spec, make_params, make_trajectory
from genscene.cameras.trajectories.poses import look_at, orbit, progress
from genscene.worlds.compiled import CompiledWorld, compile_world
from genscene.worlds.render import render
from genscene.worlds.trace import trace
from genscene.worlds.world import World

RANDOM_PRESET = "random"
PROBE_SIZE = 24  # pixels of the depth probe that measures the median depth


@dataclass
class CameraPath:
    """Cameras along one path, with the time of each frame."""

    cameras: Cameras
    """``[T]`` cameras (float64 extrinsics, OpenCV)."""
    times: Tensor
    """``[T]`` seconds."""
    preset: str
    """Trajectory preset name (or ``"random"``)."""
    median_depth: float
    """Median z-depth seen from the first camera (the preset's unit), metres."""


class PathError(RuntimeError):
    """No collision-free path was found within the allowed tries."""


def _intrinsics(size: tuple[int, int], fov_deg: float) -> Cameras:
    h, w = size
    return Cameras.from_fov(fov_deg, w, h)


def _start_pose(world: World, rng: np.random.Generator) -> Tensor:
    """A collision-free camera-to-world ``[4, 4]`` looking at the look-at region (no roll)."""
    lo, hi = (np.asarray(v, dtype=np.float64) for v in world.camera_region)
    llo, lhi = (np.asarray(v, dtype=np.float64) for v in world.look_region)
    max_tilt = np.sin(np.radians(world.meta.get("max_tilt_deg", 35.0)))
    for _ in range(200):
        eye = rng.uniform(lo, hi)
        if not world.in_free_space(eye[None])[0]:
            continue
        target = rng.uniform(llo, lhi)
        v = target - eye
        dist = np.linalg.norm(v)
        if dist < 0.3 or abs(v[2]) > max_tilt * dist:  # too close, or looking too far up/down
            continue
        c2w = torch.eye(4, dtype=torch.float64)
        c2w[:3, :3] = look_at(torch.tensor(eye), torch.tensor(target), down=(0.0, 0.0, -1.0))
        c2w[:3, 3] = torch.tensor(eye)
        return c2w
    raise PathError(f"{world.family} seed {world.seed}: no free camera position in the camera region")


def median_depth(cw: CompiledWorld, c2w: Tensor, fov_deg: float, time: float = 0.0) -> float:
    """Median z-depth (m) seen by a camera ``c2w [4, 4]`` (a tiny render; inf if it sees nothing)."""
    cam = Cameras.from_fov(fov_deg, PROBE_SIZE, PROBE_SIZE, w2c=invert_rigid(c2w)[None]).to(device=cw.device)
    out = render(cw, cam, torch.tensor([time], device=cw.device), edges=False, shading=False)
    d = out["depth"][out["mask"]]
    return float(d.median()) if d.numel() else float("inf")


def path_is_clear(world: World, cw: CompiledWorld, centres: Tensor, times: Tensor) -> bool:
    """Cameras at ``centres [T, 3]`` (times ``[T]``) keep the world's margin and never cross geometry."""
    c = centres.to(torch.float32).to(cw.device)
    if not world.in_free_space(centres.cpu().numpy()).all():
        return False
    margin = world.camera_margin
    poses = cw.poses(times.to(cw.device))
    # Six short probes around each camera (catches moving objects and thin plates).
    axes = torch.cat([torch.eye(3), -torch.eye(3)]).to(c)
    o = c[:, None].expand(-1, 6, -1).contiguous()
    h = trace(cw, o, axes[None].expand(c.shape[0], -1, -1).contiguous(), poses)
    if bool((h.t < margin).any()):
        return False
    if c.shape[0] < 2:
        return True
    seg = c[1:] - c[:-1]
    length = seg.norm(dim=-1)
    moving = length > 1e-6
    d = torch.nn.functional.normalize(seg, dim=-1)
    h = trace(cw, c[:-1, None], d[:, None], poses[:-1])
    return not bool((moving & (h.t[:, 0] < length + margin)).any())


def _random_path(world: World, c2w0: Tensor, num_frames: int, rng: np.random.Generator) -> Tensor:
    """A smooth random path (Catmull-Rom through 4 keys in the camera region) with a drifting look-at point."""
    lo, hi = (np.asarray(v, dtype=np.float64) for v in world.camera_region)
    llo, lhi = (np.asarray(v, dtype=np.float64) for v in world.look_region)
    span = np.maximum(hi - lo, 1e-3)
    keys = [c2w0[:3, 3].numpy()]
    for _ in range(3):
        keys.append(np.clip(keys[-1] + rng.normal(0, 0.15, 3) * span, lo, hi))
    target0 = c2w0[:3, 3].numpy() + c2w0[:3, 2].numpy() * 2.0
    targets = [target0] + [np.clip(target0 + rng.normal(0, 0.1, 3) * (lhi - llo), llo - 1, lhi + 1) for _ in range(3)]
    s = np.linspace(0, 3, num_frames)

    def spline(points):
        p = np.asarray([points[0]] + points + [points[-1]])
        out = []
        for x in s:
            i = min(int(x), 2)
            u = x - i
            p0, p1, p2, p3 = p[i], p[i + 1], p[i + 2], p[i + 3]
            out.append(0.5 * ((2 * p1) + (-p0 + p2) * u + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u**2
                              + (-p0 + 3 * p1 - 3 * p2 + p3) * u**3))
        return torch.tensor(np.asarray(out))

    eye, tgt = spline(keys), spline(targets)
    c2w = torch.eye(4, dtype=torch.float64).repeat(num_frames, 1, 1)
    c2w[:, :3, :3] = look_at(eye, tgt, down=(0.0, 0.0, -1.0))
    c2w[:, :3, 3] = eye
    return c2w


def _level_orbit(c2w0: Tensor, num_frames: int, depth: float, scale: float, **params) -> Tensor:
    """The ``orbit`` preset about the world's vertical axis (through the look-at point on frame 0's
    optical axis) instead of frame 0's own y axis: identical for a level start camera, and for a
    pitched one the horizon never rolls (a turntable orbit)."""
    p = make_params(get_spec("orbit"), **params)
    sign = -1.0 if p.direction == "right" else 1.0  # the preset's convention about image-down
    down_in_camera = c2w0[:3, :3].T @ torch.tensor([0.0, 0.0, -1.0], dtype=torch.float64)
    pivot = torch.tensor([0.0, 0.0, p.look_at_depth * depth * scale], dtype=torch.float64)
    angles = progress(num_frames) * sign * math.radians(p.angle_deg)
    return c2w0 @ orbit(angles, tuple(down_in_camera.tolist()), pivot)


def _preset_path(c2w0: Tensor, preset: str, num_frames: int, depth: float, scale: float, **params) -> Tensor:
    if preset == "orbit":
        return _level_orbit(c2w0, num_frames, depth, scale, **params)
    rel = make_trajectory(preset, num_frames, **params).to(torch.float64)  # [T, 4, 4], median-depth units
    rel = rel.clone()
    rel[:, :3, 3] *= depth * scale
    return c2w0 @ rel


def sample_camera_path(
    world: World,
    preset: str = "orbit",
    num_frames: int = 17,
    size: int | tuple[int, int] = 128,
    seed: int = 0,
    fov_deg: float = 60.0,
    fps: float = 8.0,
    max_tries: int = 12,
    compiled: CompiledWorld | None = None,
    **params,
) -> CameraPath:
    """A collision-free camera path of ``num_frames`` in ``world``.

    Args:
        preset: a name of :func:`genscene.cameras.trajectories.list_trajectories` or ``"random"``.
        size: image size ``(height, width)`` or one int for square frames.
        seed: seed of the start camera (and of a random path).
        fov_deg: vertical field of view.
        fps: frame rate; frame ``i`` is at time ``i / fps`` seconds.
        params: forwarded to the preset (e.g. ``angle_deg=90`` for orbit).

    Raises:
        PathError: no clear path in ``max_tries`` attempts.
    """
    hw = (size, size) if isinstance(size, int) else tuple(size)
    cw = compiled or compile_world(world)
    rng = np.random.default_rng([int(seed), 7])
    times = torch.arange(num_frames, dtype=torch.float64) / fps
    min_depth = float(world.meta.get("min_view_depth", 0.0))
    for attempt in range(max_tries):
        c2w0 = _start_pose(world, rng)
        depth = median_depth(cw, c2w0, fov_deg)
        # Early attempts insist on an open view (not a wall filling the frame); later ones take any.
        if not np.isfinite(depth) or (attempt < max_tries // 2 and depth < min_depth):
            continue
        for scale in (1.0, 0.6, 0.35):
            if preset == RANDOM_PRESET:
                c2w = _random_path(world, c2w0, num_frames, rng)
            else:
                c2w = _preset_path(c2w0, preset, num_frames, depth, scale, **params)
            if path_is_clear(world, cw, c2w[:, :3, 3], times):
                cams = Cameras.from_fov(fov_deg, hw[1], hw[0], w2c=invert_rigid(c2w))
                return CameraPath(cams, times, preset, depth)
    raise PathError(f"{world.family} seed {world.seed}: no collision-free {preset!r} path in {max_tries} tries")


def coverage_paths(world: World, num_frames: int = 17, size: int | tuple[int, int] = 128, seed: int = 0,
                   fov_deg: float = 60.0, fps: float = 8.0, max_tries: int = 12) -> dict[str, CameraPath]:
    """Lyra's six coverage trajectories from one shared start camera, each collision-free.

    Returns ``{lyra_left, lyra_right, lyra_up, lyra_zoom_out, lyra_zoom_in, lyra_clockwise}`` -> path.
    """
    hw = (size, size) if isinstance(size, int) else tuple(size)
    cw = compile_world(world)
    rng = np.random.default_rng([int(seed), 11])
    times = torch.arange(num_frames, dtype=torch.float64) / fps
    for _ in range(max_tries):
        c2w0 = _start_pose(world, rng)
        depth = median_depth(cw, c2w0, fov_deg)
        if not np.isfinite(depth):
            continue
        paths = {}
        for name in LYRA_TRAJECTORIES:
            for scale in (1.0, 0.6, 0.35):
                c2w = _preset_path(c2w0, name, num_frames, depth, scale, seed=int(seed))
                if path_is_clear(world, cw, c2w[:, :3, 3], times):
                    paths[name] = CameraPath(Cameras.from_fov(fov_deg, hw[1], hw[0], w2c=invert_rigid(c2w)), times, name, depth)
                    break
            else:
                break
        if len(paths) == len(LYRA_TRAJECTORIES):
            return paths
    raise PathError(f"{world.family} seed {world.seed}: no start camera clears all six Lyra trajectories")
