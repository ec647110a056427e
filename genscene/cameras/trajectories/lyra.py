"""Lyra's six coverage trajectories (Lyra Fig. 3; its released multi-trajectory generation).

Lyra samples, per input image, six GEN3C trajectories of 121 frames, all ``center_facing``, with a
movement distance drawn uniformly from a per-trajectory range and scaled by a global factor:

======================  ===========  ======================================================
name                    range        notes
======================  ===========  ======================================================
``lyra_left``           0.2 - 0.3
``lyra_right``          0.2 - 0.3
``lyra_up``             0.1 - 0.2
``lyra_zoom_out``       0.3 - 0.4
``lyra_zoom_in``        0.3 - 0.4
``lyra_clockwise``      0.4 - 0.6    2 circles, radii 0.15 x and 0.10 x the distance
======================  ===========  ======================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import Tensor

from genscene.cameras.trajectories.core import make_trajectory, register, require
from genscene.cameras.trajectories.gen3c import Gen3cCircleParams, RotationMode, axis_move, circle_move

# name -> (GEN3C motion, distance range); the order is Lyra's trajectory index 0..5.
LYRA_TRAJECTORIES: dict[str, tuple[str, tuple[float, float]]] = {
    "lyra_left": ("left", (0.2, 0.3)),
    "lyra_right": ("right", (0.2, 0.3)),
    "lyra_up": ("up", (0.1, 0.2)),
    "lyra_zoom_out": ("zoom_out", (0.3, 0.4)),
    "lyra_zoom_in": ("zoom_in", (0.3, 0.4)),
    "lyra_clockwise": ("clockwise", (0.4, 0.6)),
}
LYRA_NUM_FRAMES = 121
LYRA_CIRCLE = {"turns": 2.0, "radius_x_factor": 0.15, "radius_y_factor": 0.10}


@dataclass(frozen=True)
class LyraParams:
    """One of Lyra's six coverage trajectories."""

    distance: float | None = None
    """Movement distance in median depths; None draws it uniformly from the preset's range with ``seed``."""
    seed: int = 0
    """Seed of the distance draw (each of the six presets draws from its own stream)."""
    distance_factor: float = 1.0
    """Global multiplier on the distance (Lyra's ``total_movement_distance_factor``)."""
    rotation: RotationMode = "center_facing"
    """How the camera turns while it moves (Lyra uses center_facing)."""
    look_at_depth: float = 1.0
    """Depth of the look-at point on frame 0's optical axis, in median depths."""

    def __post_init__(self) -> None:
        require(self.distance is None or self.distance >= 0, "distance", f"must be >= 0, got {self.distance}")
        require(self.distance_factor >= 0, "distance_factor", f"must be >= 0, got {self.distance_factor}")
        require(self.look_at_depth > 0, "look_at_depth", f"must be > 0, got {self.look_at_depth}")


def lyra_distance(name: str, seed: int) -> float:
    """The distance Lyra's preset ``name`` draws for ``seed`` (uniform in its range)."""
    index = list(LYRA_TRAJECTORIES).index(name)
    low, high = LYRA_TRAJECTORIES[name][1]
    rng = np.random.default_rng([int(seed), index])
    return float(rng.uniform(low, high))


def _build(name: str, num_frames: int, p: LyraParams) -> Tensor:
    motion = LYRA_TRAJECTORIES[name][0]
    distance = (p.distance if p.distance is not None else lyra_distance(name, p.seed)) * p.distance_factor
    if motion == "clockwise":
        circle = Gen3cCircleParams(distance=distance, rotation=p.rotation, look_at_depth=p.look_at_depth, **LYRA_CIRCLE)
        return circle_move(num_frames, circle, clockwise=True)
    return axis_move(motion, num_frames, distance, p.rotation, p.look_at_depth)


def _register() -> None:
    for name, (motion, (low, high)) in LYRA_TRAJECTORIES.items():
        def build(num_frames: int, p: LyraParams, name: str = name) -> Tensor:
            return _build(name, num_frames, p)

        register(name, LyraParams, f"Lyra coverage: GEN3C {motion.replace('_', ' ')}, distance in [{low}, {high}]",
                 "Lyra")(build)


_register()


def lyra_coverage(num_frames: int = LYRA_NUM_FRAMES, seed: int = 0, distance_factor: float = 1.0,
                  look_at_depth: float = 1.0) -> dict[str, Tensor]:
    """Lyra's six coverage trajectories, name -> ``c2w [T, 4, 4]``, in Lyra's order (index 0..5)."""
    return {name: make_trajectory(name, num_frames, seed=seed, distance_factor=distance_factor,
                                  look_at_depth=look_at_depth)
            for name in LYRA_TRAJECTORIES}
