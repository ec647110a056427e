"""Camera trajectories: presets of GEN3C, Lyra, Gen3R and SpatialCrafter, orbit and spiral, key-pose
interpolation and JSON files. Every trajectory is camera-to-world ``[T, 4, 4]`` (float64, OpenCV
axes) with frame 0 at the identity and distances in units of the scene's median depth.
"""

from genscene.cameras.trajectories import gen3c, gen3r, lyra, orbit, spatialcrafter  # noqa: F401  (register presets)
from genscene.cameras.trajectories.core import (
    TrajectorySpec,
    get_spec,
    list_trajectories,
    make_params,
    make_trajectory,
    trajectory_cameras,
)
from genscene.cameras.trajectories.files import (
    TrajectoryFile,
    load_trajectory_json,
    save_trajectory_json,
    trajectory_from_json,
)
from genscene.cameras.trajectories.interpolate import interpolate_poses, resample_poses
from genscene.cameras.trajectories.lyra import LYRA_TRAJECTORIES, lyra_coverage
from genscene.cameras.trajectories.poses import look_at

__all__ = [
    "LYRA_TRAJECTORIES",
    "TrajectoryFile",
    "TrajectorySpec",
    "get_spec",
    "interpolate_poses",
    "list_trajectories",
    "load_trajectory_json",
    "look_at",
    "lyra_coverage",
    "make_params",
    "make_trajectory",
    "resample_poses",
    "save_trajectory_json",
    "trajectory_cameras",
    "trajectory_from_json",
]
