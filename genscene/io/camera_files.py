"""Read cameras from a file (or COLMAP folder) of any format genscene reads, recognised by its name and content.

Recognised, in this order:

- a folder holding a COLMAP model (``cameras`` + ``images``, ``.bin`` or ``.txt``; also ``sparse/0``);
- ``*.npy``: LLFF ``poses_bounds.npy``; ``*.npz``: a VGGT pose encoding (``pose_enc``) or DTU/NeuS
  ``cameras.npz`` (``world_mat_*``);
- ``*.json``: genscene ``cameras.json`` (``convention: opencv_w2c``), nerfstudio ``transforms.json``
  (``frames[].transform_matrix``), Gen3R ``cameras.json`` (``extrinsics``), OpenSfM
  ``reconstruction.json`` (a list of reconstructions with ``shots``);
- ``*_par.txt``: Middlebury; any other ``*.txt``: RealEstate10K.

Formats that store no image size (RealEstate10K's normalised intrinsics, DTU, Middlebury) are read at
``NOMINAL_SIZE``; callers that use only the poses (a trajectory) do not care.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras
from genscene.errors import InputError

NOMINAL_SIZE = 512


def _json_kind(path: Path) -> str:
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise InputError(path, f"cannot read as JSON: {type(err).__name__}") from None
    if isinstance(doc, list) and doc and isinstance(doc[0], dict) and "shots" in doc[0]:
        return "opensfm"
    if not isinstance(doc, dict):
        raise InputError(path, "not a camera file genscene reads (a JSON object or an OpenSfM list expected)")
    if doc.get("convention") == "opencv_c2w":
        return "trajectory"
    if "convention" in doc:
        return "genscene"
    if "extrinsics" in doc:
        return "gen3r"
    frames = doc.get("frames")
    if isinstance(frames, list) and frames and isinstance(frames[0], dict) and "transform_matrix" in frames[0]:
        return "nerfstudio"
    raise InputError(path, "not a camera file genscene reads (no 'convention', 'extrinsics' or 'frames' with "
                           "'transform_matrix')")


def _npz_kind(path: Path) -> str:
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
    except (OSError, ValueError) as err:
        raise InputError(path, f"cannot read as .npz: {err}") from None
    if "pose_enc" in keys:
        return "vggt"
    if any(k.startswith("world_mat_") for k in keys):
        return "dtu"
    raise InputError(path, "an .npz without 'pose_enc' (VGGT) or 'world_mat_*' (DTU) arrays")


def _colmap_model(folder: Path) -> Path | None:
    """The COLMAP model folder in ``folder`` (itself, ``sparse/0`` or ``sparse``), or None."""
    for model in (folder, folder / "sparse" / "0", folder / "sparse"):
        if any((model / f"images.{ext}").is_file() for ext in ("bin", "txt")):
            return model
    return None


def camera_file_format(path: str | Path) -> str:
    """The format name of ``path`` (see the module docstring); raises :class:`InputError` when unknown."""
    path = Path(path)
    if path.is_dir():
        if _colmap_model(path) is not None:
            return "colmap"
        raise InputError(path, "a folder without a COLMAP model (cameras + images .bin/.txt)")
    if not path.is_file():
        raise InputError(path, "file not found")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _json_kind(path)
    if suffix == ".npy":
        return "llff"
    if suffix == ".npz":
        return _npz_kind(path)
    if suffix == ".txt":
        return "middlebury" if path.name.endswith("_par.txt") else "realestate10k"
    raise InputError(path, f"unknown camera file type {suffix or '(no suffix)'!r} "
                           "(.json, .npy, .npz, .txt or a COLMAP folder)")


def load_camera_file(path: str | Path) -> tuple[Cameras, str]:
    """Cameras ``[N]`` (float64) of a camera file of any recognised format, and the format's name.

    A trajectory JSON (``opencv_c2w`` poses) is not a camera file: read it with
    :func:`genscene.cameras.trajectories.trajectory_from_json`.
    """
    from genscene.cameras import formats
    from genscene.io.cameras_json import load_cameras_json

    path = Path(path)
    kind = camera_file_format(path)
    s = NOMINAL_SIZE
    if kind == "colmap":
        cams = formats.load_colmap(_colmap_model(path))[0]
    elif kind == "trajectory":
        raise InputError(path, "is a trajectory file (opencv_c2w poses), not a camera file")
    elif kind == "genscene":
        cams = load_cameras_json(path)[0]
    elif kind == "gen3r":
        cams = formats.load_gen3r_cameras(path)
    elif kind == "nerfstudio":
        cams = formats.load_transforms(path)[0]
    elif kind == "opensfm":
        cams = formats.load_opensfm(path)[0]
    elif kind == "llff":
        cams = formats.load_llff(path)[0]
    elif kind == "vggt":
        cams = formats.load_pose_encoding(path)
    elif kind == "dtu":
        cams = formats.load_dtu_cameras(path, s, s, normalize=False)[0]
    elif kind == "middlebury":
        cams = formats.load_middlebury_par(path, s, s)[0]
    else:
        cams = formats.load_realestate10k(path, s, s)[0]
    return cams.reshape(-1), kind


def path_from_file(path: str | Path, frames: int | None = None) -> tuple[Tensor, str]:
    """Relative camera-to-world poses ``[T, 4, 4]`` (float64, OpenCV, frame 0 at the identity) of a trajectory
    JSON or of the cameras in any camera file, resampled to ``frames`` when given (key poses are interpolated;
    a camera file keeps its count when ``frames`` is None). Returns the poses and the format's name.
    Translations are kept in the file's units (for ``generate``: frame 0's median depth)."""
    from genscene.cameras.cameras import invert_rigid
    from genscene.cameras.trajectories import trajectory_from_json
    from genscene.cameras.trajectories.core import check_translations
    from genscene.cameras.trajectories.interpolate import resample_poses

    if frames is not None and frames < 1:
        raise InputError(path, f"cannot resample to {frames} frames")
    if camera_file_format(path) == "trajectory":
        return trajectory_from_json(path, frames), "trajectory"
    cams, kind = load_camera_file(path)
    c2w = invert_rigid(cams.w2c.to(torch.float64))
    if frames is not None and frames != c2w.shape[0]:
        c2w = resample_poses(c2w, frames)
    rel = invert_rigid(c2w[0]) @ c2w
    if not bool(torch.isfinite(rel).all()):
        raise InputError(path, "the cameras give non-finite poses", field="poses")
    check_translations(rel, path, "poses")
    return rel, kind
