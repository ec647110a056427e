"""Cameras: the one camera type, format converters, trajectories, Plücker rays, epipolar geometry."""

from genscene.cameras.cameras import Cameras, intrinsics_matrix, invert_rigid, rigid_matrix

__all__ = ["Cameras", "intrinsics_matrix", "invert_rigid", "rigid_matrix"]
