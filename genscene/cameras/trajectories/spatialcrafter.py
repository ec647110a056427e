"""SpatialCrafter's basic camera motions (its appendix C.2, Figs. 10-11): move left / right / up,
roll, zoom in / out, each with an amplitude.

The paper shows these motions without formulas; we take the plain reading: moves and zooms are pure
translations of constant speed (no rotation), roll is a pure rotation about the optical axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from genscene.cameras.trajectories.core import register, require
from genscene.cameras.trajectories.poses import DTYPE, axis_rotation, progress, translate

MOVES: dict[str, tuple[float, float, float]] = {
    "move_left": (-1.0, 0.0, 0.0),
    "move_right": (1.0, 0.0, 0.0),
    "move_up": (0.0, -1.0, 0.0),
    "zoom_in": (0.0, 0.0, 1.0),
    "zoom_out": (0.0, 0.0, -1.0),
}


@dataclass(frozen=True)
class SpatialCrafterMoveParams:
    """Pure translation of the camera, orientation fixed."""

    distance: float = 0.3
    """Amplitude: displacement of the last frame from frame 0, in median depths."""

    def __post_init__(self) -> None:
        require(self.distance >= 0, "distance", f"must be >= 0, got {self.distance}")


@dataclass(frozen=True)
class SpatialCrafterRollParams:
    """Pure rotation about the optical axis, centre fixed."""

    angle_deg: float = 30.0
    """Amplitude: roll of the last frame in degrees; positive turns the camera's +x towards its +y
    (clockwise as seen from behind the camera, so the scene turns counter-clockwise on screen)."""


def _register() -> None:
    for name, direction in MOVES.items():
        def build(num_frames: int, p: SpatialCrafterMoveParams, direction=direction) -> Tensor:
            unit = torch.tensor(direction, dtype=DTYPE)
            return translate(progress(num_frames)[:, None] * p.distance * unit)

        register(f"spatialcrafter_{name}", SpatialCrafterMoveParams,
                 f"SpatialCrafter {name.replace('_', ' ')}: pure translation", "SpatialCrafter")(build)

    def build_roll(num_frames: int, p: SpatialCrafterRollParams) -> Tensor:
        R = axis_rotation((0.0, 0.0, 1.0), progress(num_frames) * math.radians(p.angle_deg))
        return translate(torch.zeros(num_frames, 3, dtype=DTYPE), R)

    register("spatialcrafter_roll", SpatialCrafterRollParams,
             "SpatialCrafter roll: rotation about the optical axis", "SpatialCrafter")(build_roll)


_register()
