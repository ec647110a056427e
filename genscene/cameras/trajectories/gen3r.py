"""Gen3R's camera presets: zoom in/out, arc left/right (pure yaw), up/down (pure pitch).

Gen3R's release describes these presets but the seed gives no magnitudes; the defaults here are
ours (marked below). Arcs rotate the frame-0 camera rigidly about the look-at point, so the
rotation is a pure yaw (arcs) or pure pitch (up/down) and the look-at point stays at the image
centre of every frame. An arc's ``distance`` is the arc length the camera travels, so the swept
angle is ``distance / look_at_depth`` radians.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from genscene.cameras.trajectories.core import register, require
from genscene.cameras.trajectories.poses import DTYPE, orbit, progress, translate

GEN3R_NUM_FRAMES = 49  # Gen3R generates 49 frames at 560x560


@dataclass(frozen=True)
class Gen3rZoomParams:
    """Straight move along the optical axis, no rotation."""

    distance: float = 0.5
    """Displacement of the last frame along frame 0's optical axis, in median depths (our default)."""

    def __post_init__(self) -> None:
        require(self.distance >= 0, "distance", f"must be >= 0, got {self.distance}")


@dataclass(frozen=True)
class Gen3rArcParams:
    """Rigid rotation of the camera about the look-at point (pure yaw or pure pitch)."""

    distance: float = math.pi / 6
    """Arc length travelled by the camera in median depths; angle = distance / look_at_depth (default 30 deg)."""
    look_at_depth: float = 1.0
    """Depth of the pivot (look-at point) on frame 0's optical axis, in median depths."""

    def __post_init__(self) -> None:
        require(self.distance >= 0, "distance", f"must be >= 0, got {self.distance}")
        require(self.look_at_depth > 0, "look_at_depth", f"must be > 0, got {self.look_at_depth}")


# name -> (rotation axis in frame 0, sign of the angle that moves the camera the named way).
# About +y a positive angle swings the camera to -x (left); about +x a negative one lifts it to -y (up).
ARCS: dict[str, tuple[tuple[float, float, float], float]] = {
    "arc_left": ((0.0, 1.0, 0.0), 1.0),
    "arc_right": ((0.0, 1.0, 0.0), -1.0),
    "up": ((1.0, 0.0, 0.0), -1.0),
    "down": ((1.0, 0.0, 0.0), 1.0),
}


def arc(num_frames: int, axis: tuple[float, float, float], angle: float, look_at_depth: float) -> Tensor:
    """``c2w [T, 4, 4]`` sweeping ``angle`` radians about ``axis`` through the look-at point."""
    pivot = torch.tensor([0.0, 0.0, look_at_depth], dtype=DTYPE)
    return orbit(progress(num_frames) * angle, axis, pivot)


def _register() -> None:
    for direction, sign in (("zoom_in", 1.0), ("zoom_out", -1.0)):
        def build_zoom(num_frames: int, p: Gen3rZoomParams, sign: float = sign) -> Tensor:
            centres = torch.zeros(num_frames, 3, dtype=DTYPE)
            centres[:, 2] = sign * p.distance * progress(num_frames)
            return translate(centres)

        register(f"gen3r_{direction}", Gen3rZoomParams,
                 f"Gen3R {direction.replace('_', ' ')}: dolly along the optical axis, no rotation", "Gen3R")(build_zoom)
    for name, (axis, sign) in ARCS.items():
        def build_arc(num_frames: int, p: Gen3rArcParams, axis=axis, sign: float = sign) -> Tensor:
            return arc(num_frames, axis, sign * p.distance / p.look_at_depth, p.look_at_depth)

        kind = "yaw" if axis[1] else "pitch"
        register(f"gen3r_{name}", Gen3rArcParams,
                 f"Gen3R {name.replace('_', ' ')}: pure {kind} about the look-at point", "Gen3R")(build_arc)


_register()
