"""GEN3C's camera presets (the trajectories Lyra generates its training videos with).

Following GEN3C's released ``camera_utils``: the camera translates along an axis of frame 0 (left,
right, up, down, zoom in/out) or circles in frame 0's image plane (clockwise, counterclockwise),
and turns according to a rotation mode:

- ``center_facing``: keep looking at the look-at point ``(0, 0, look_at_depth)``;
- ``no_rotation``: keep frame 0's orientation (R = I);
- ``trajectory_aligned``: look at ``look_at + 2 * offset``, i.e. turn along with the motion.

Two deliberate differences from the release: the last frame reaches exactly ``distance`` (the
release stops at ``(T-1)/T`` of it), and camera centres are exactly the path points (the release
writes ``-offset`` as the w2c translation, which is only exact when R = I).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from genscene.cameras.trajectories.core import ParamError, register, require
from genscene.cameras.trajectories.poses import DTYPE, circle_offsets, look_at, progress, translate

RotationMode = Literal["center_facing", "no_rotation", "trajectory_aligned"]

# Unit directions in frame 0 (OpenCV: +x right, +y down, +z forward).
AXIS_MOVES: dict[str, tuple[float, float, float]] = {
    "left": (-1.0, 0.0, 0.0),
    "right": (1.0, 0.0, 0.0),
    "up": (0.0, -1.0, 0.0),
    "down": (0.0, 1.0, 0.0),
    "zoom_in": (0.0, 0.0, 1.0),
    "zoom_out": (0.0, 0.0, -1.0),
}


@dataclass(frozen=True)
class Gen3cMoveParams:
    """A straight move along one axis of frame 0."""

    distance: float = 0.3
    """Displacement of the last frame from frame 0 (GEN3C's ``movement_distance``, default 0.3), in median depths."""
    rotation: RotationMode = "center_facing"
    """How the camera turns while it moves: center_facing, no_rotation or trajectory_aligned."""
    look_at_depth: float = 1.0
    """Depth of the look-at point on frame 0's optical axis, in median depths."""

    def __post_init__(self) -> None:
        require(self.distance >= 0, "distance", f"must be >= 0, got {self.distance}")
        require(self.look_at_depth > 0, "look_at_depth", f"must be > 0, got {self.look_at_depth}")


@dataclass(frozen=True)
class Gen3cCircleParams:
    """A circle (or several) in frame 0's image plane, starting and ending at frame 0."""

    distance: float = 0.3
    """Circle radius (GEN3C's ``movement_distance``), in median depths."""
    rotation: RotationMode = "center_facing"
    """How the camera turns while it moves: center_facing, no_rotation or trajectory_aligned."""
    look_at_depth: float = 1.0
    """Depth of the look-at point on frame 0's optical axis, in median depths."""
    turns: float = 1.0
    """Number of full circles (Lyra uses 2)."""
    radius_x_factor: float = 1.0
    """Horizontal radius = ``distance * radius_x_factor`` (Lyra uses 0.15)."""
    radius_y_factor: float = 1.0
    """Vertical radius = ``distance * radius_y_factor`` (Lyra uses 0.10)."""

    def __post_init__(self) -> None:
        require(self.distance >= 0, "distance", f"must be >= 0, got {self.distance}")
        require(self.look_at_depth > 0, "look_at_depth", f"must be > 0, got {self.look_at_depth}")
        require(self.turns > 0, "turns", f"must be > 0, got {self.turns}")


def oriented_path(offsets: Tensor, rotation: str, look_at_depth: float) -> Tensor:
    """``c2w [T, 4, 4]`` for camera centres ``offsets [T, 3]`` turned by a GEN3C rotation mode."""
    if rotation == "no_rotation":
        return translate(offsets)
    target = torch.tensor([0.0, 0.0, look_at_depth], dtype=DTYPE)
    if rotation == "trajectory_aligned":
        target = target + 2 * offsets
    elif rotation != "center_facing":
        raise ParamError("rotation", f"unknown rotation mode {rotation!r}")
    try:
        R = look_at(offsets, target)
    except ValueError as err:
        raise ParamError("distance", f"too large for look_at_depth {look_at_depth}: {err}") from None
    return translate(offsets, R)


def axis_move(direction: str, num_frames: int, distance: float, rotation: str, look_at_depth: float) -> Tensor:
    """Straight move of length ``distance`` along ``AXIS_MOVES[direction]``, constant speed."""
    if direction == "zoom_in" and rotation == "center_facing" and distance >= look_at_depth:
        raise ParamError("distance", f"zoom_in with center_facing must stay before the look-at point "
                                     f"(distance < look_at_depth = {look_at_depth}), got {distance}")
    unit = torch.tensor(AXIS_MOVES[direction], dtype=DTYPE)
    offsets = progress(num_frames)[:, None] * distance * unit
    return oriented_path(offsets, rotation, look_at_depth)


def circle_move(num_frames: int, p: Gen3cCircleParams, clockwise: bool) -> Tensor:
    offsets = circle_offsets(progress(num_frames), p.distance * p.radius_x_factor,
                             p.distance * p.radius_y_factor, p.turns, clockwise)
    return oriented_path(offsets, p.rotation, p.look_at_depth)


def _register_moves() -> None:
    for direction in AXIS_MOVES:
        def build(num_frames: int, p: Gen3cMoveParams, direction: str = direction) -> Tensor:
            return axis_move(direction, num_frames, p.distance, p.rotation, p.look_at_depth)

        register(f"gen3c_{direction}", Gen3cMoveParams,
                 f"GEN3C {direction.replace('_', ' ')}: straight move along frame 0's axis", "GEN3C / Lyra")(build)
    for clockwise in (True, False):
        name = "clockwise" if clockwise else "counterclockwise"

        def build_circle(num_frames: int, p: Gen3cCircleParams, clockwise: bool = clockwise) -> Tensor:
            return circle_move(num_frames, p, clockwise)

        register(f"gen3c_{name}", Gen3cCircleParams,
                 f"GEN3C {name}: circle in frame 0's image plane (as seen on screen)", "GEN3C / Lyra")(build_circle)


_register_moves()
