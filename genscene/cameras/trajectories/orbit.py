"""Orbit and spiral around the look-at point.

- ``orbit``: the frame-0 camera rotates rigidly about the vertical axis (frame 0's y) through the
  look-at point, so it circles the scene at the look-at distance, always facing the look-at point.
- ``spiral``: the LLFF-style forward-facing spiral: the camera circles in frame 0's image plane
  while moving forward and back along the optical axis, always facing the look-at point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from genscene.cameras.trajectories.core import register, require
from genscene.cameras.trajectories.gen3c import oriented_path
from genscene.cameras.trajectories.poses import DTYPE, circle_offsets, orbit, progress


@dataclass(frozen=True)
class OrbitParams:
    """Circle around the look-at point about frame 0's vertical axis."""

    angle_deg: float = 360.0
    """Swept angle in degrees (360 = full circle back to frame 0)."""
    direction: Literal["right", "left"] = "right"
    """Which way the camera starts moving (towards frame 0's +x = right)."""
    look_at_depth: float = 1.0
    """Orbit radius: depth of the look-at point on frame 0's optical axis, in median depths."""

    def __post_init__(self) -> None:
        require(self.look_at_depth > 0, "look_at_depth", f"must be > 0, got {self.look_at_depth}")


@dataclass(frozen=True)
class SpiralParams:
    """Forward-facing spiral (LLFF render path) facing the look-at point."""

    distance: float = 0.2
    """Radius of the circles in frame 0's image plane, in median depths."""
    turns: float = 2.0
    """Number of circles."""
    forward_amplitude: float = 0.1
    """Amplitude of the forward/back motion along the optical axis, in median depths."""
    clockwise: bool = True
    """Circle clockwise as seen on screen (down first, then left)."""
    look_at_depth: float = 1.0
    """Depth of the look-at point on frame 0's optical axis, in median depths."""

    def __post_init__(self) -> None:
        require(self.distance >= 0, "distance", f"must be >= 0, got {self.distance}")
        require(self.turns > 0, "turns", f"must be > 0, got {self.turns}")
        require(abs(self.forward_amplitude) < self.look_at_depth, "forward_amplitude",
                f"must stay before the look-at point (|amplitude| < look_at_depth = {self.look_at_depth})")
        require(self.look_at_depth > 0, "look_at_depth", f"must be > 0, got {self.look_at_depth}")


@register("orbit", OrbitParams, "circle around the look-at point, facing it", "genscene")
def build_orbit(num_frames: int, p: OrbitParams) -> Tensor:
    # About +y a negative angle swings the camera towards +x (right).
    sign = -1.0 if p.direction == "right" else 1.0
    pivot = torch.tensor([0.0, 0.0, p.look_at_depth], dtype=DTYPE)
    return orbit(progress(num_frames) * sign * math.radians(p.angle_deg), (0.0, 1.0, 0.0), pivot)


@register("spiral", SpiralParams, "forward-facing spiral (LLFF) facing the look-at point", "genscene")
def build_spiral(num_frames: int, p: SpiralParams) -> Tensor:
    t = progress(num_frames)
    offsets = circle_offsets(t, p.distance, p.distance, p.turns, p.clockwise)
    offsets[:, 2] = p.forward_amplitude * torch.sin(math.pi * p.turns * t)  # LLFF's zrate = 0.5
    return oriented_path(offsets, "center_facing", p.look_at_depth)
