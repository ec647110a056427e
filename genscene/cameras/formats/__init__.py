"""Camera format converters: every external convention to and from the one :class:`Cameras` type.

One module per format, each a load/save pair working in float64:

- :mod:`.opengl`: OpenGL/Blender camera-to-world poses (``cameras_from_opengl``, ``cameras_to_opengl``)
- :mod:`.nerfstudio`: nerfstudio ``transforms.json`` (``load_transforms``, ``save_transforms``)
- :mod:`.colmap`: COLMAP sparse models, text and binary (``load_colmap``, ``save_colmap``)
- :mod:`.llff`: LLFF ``poses_bounds.npy`` (``load_llff``, ``save_llff``)
- :mod:`.realestate10k`: RealEstate10K camera files (``load_realestate10k``, ``save_realestate10k``)
- :mod:`.projection_matrix`: ``P = K[R|t]`` decomposition, DTU/NeuS ``cameras.npz``, Middlebury ``*_par.txt``
- :mod:`.vggt`: VGGT's ``absT_quaR_FoV`` pose encoding (``cameras_to_pose_encoding``, ``pose_encoding_to_cameras``)
- :mod:`.gen3r`: Gen3R ``cameras.json`` (``load_gen3r_cameras``, ``save_gen3r_cameras``)
- :mod:`.opensfm`: OpenSfM ``reconstruction.json`` (``load_opensfm``, ``save_opensfm``)

Loaders raise :class:`genscene.errors.InputError` (file, field, problem) on malformed files; savers
write atomically and raise ``ValueError`` for cameras the format cannot represent.
"""

from genscene.cameras.formats.colmap import load_colmap, load_colmap_points, save_colmap
from genscene.cameras.formats.gen3r import load_gen3r_cameras, save_gen3r_cameras
from genscene.cameras.formats.llff import load_llff, save_llff
from genscene.cameras.formats.nerfstudio import load_transforms, read_applied_transform, save_transforms
from genscene.cameras.formats.opengl import cameras_from_opengl, cameras_to_opengl
from genscene.cameras.formats.opensfm import load_opensfm, load_opensfm_points, save_opensfm
from genscene.cameras.formats.projection_matrix import (
    cameras_from_projection_matrices,
    compose_projection_matrix,
    decompose_projection_matrix,
    load_dtu_cameras,
    load_middlebury_par,
    projection_matrices,
    save_dtu_cameras,
    save_middlebury_par,
)
from genscene.cameras.formats.realestate10k import load_realestate10k, save_realestate10k
from genscene.cameras.formats.vggt import (
    cameras_to_pose_encoding,
    load_pose_encoding,
    pose_encoding_to_cameras,
    save_pose_encoding,
)

__all__ = [
    "cameras_from_opengl", "cameras_to_opengl",
    "load_transforms", "save_transforms", "read_applied_transform",
    "load_colmap", "save_colmap", "load_colmap_points",
    "load_llff", "save_llff",
    "load_realestate10k", "save_realestate10k",
    "decompose_projection_matrix", "compose_projection_matrix", "cameras_from_projection_matrices",
    "projection_matrices", "load_dtu_cameras", "save_dtu_cameras", "load_middlebury_par", "save_middlebury_par",
    "cameras_to_pose_encoding", "pose_encoding_to_cameras", "save_pose_encoding", "load_pose_encoding",
    "load_gen3r_cameras", "save_gen3r_cameras",
    "load_opensfm", "save_opensfm", "load_opensfm_points",
]
