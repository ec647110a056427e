"""One write -> read round trip per camera format, shared by the random-camera and real-data tests.

Each takes a folder, cameras ``[N]`` and image names and returns the loaded cameras and, where the
format stores them, the names (else None). Checks of what the format carries besides the cameras
(bounds, timestamps, file kinds) run inside.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from genscene.cameras.cameras import Cameras
from genscene.cameras.formats import (
    cameras_from_opengl,
    cameras_from_projection_matrices,
    cameras_to_opengl,
    load_colmap,
    load_dtu_cameras,
    load_gen3r_cameras,
    load_llff,
    load_middlebury_par,
    load_opensfm,
    load_pose_encoding,
    load_realestate10k,
    load_transforms,
    projection_matrices,
    save_colmap,
    save_dtu_cameras,
    save_gen3r_cameras,
    save_llff,
    save_middlebury_par,
    save_opensfm,
    save_pose_encoding,
    save_realestate10k,
    save_transforms,
)

RoundTrip = Callable[[Path, Cameras, list[str]], tuple[Cameras, "list[str] | None"]]


def _opengl(d: Path, cams: Cameras, names: list[str]):
    # the format is the pose array: through .npy files as a user would store Blender poses
    np.save(d / "c2w.npy", cameras_to_opengl(cams).numpy())
    np.save(d / "K.npy", cams.K.numpy())
    c2w, K = (torch.from_numpy(np.load(d / f)) for f in ("c2w.npy", "K.npy"))
    return cameras_from_opengl(c2w, K, cams.width, cams.height), None


def _nerfstudio(d, cams, names):
    save_transforms(d / "transforms.json", cams, names)
    loaded, images, depths = load_transforms(d / "transforms.json")
    assert depths is None
    return loaded, images


def _colmap(binary: bool) -> RoundTrip:
    def round_trip(d, cams, names):
        save_colmap(d / "sparse", cams, names, binary=binary)
        assert {p.suffix for p in (d / "sparse").iterdir()} == {".bin" if binary else ".txt"}
        return load_colmap(d / "sparse")

    return round_trip


def _llff(d, cams, names):
    bounds = np.stack([np.linspace(0.1, 0.6, len(cams)), np.linspace(5.0, 9.0, len(cams))], 1)
    save_llff(d / "poses_bounds.npy", cams, bounds)
    loaded, bounds2 = load_llff(d / "poses_bounds.npy")
    np.testing.assert_array_equal(bounds2, bounds)
    return loaded, None


def _realestate10k(d, cams, names):
    stamps = [33366 * i for i in range(len(cams))]
    save_realestate10k(d / "clip.txt", cams, timestamps=stamps)
    loaded, stamps2, url = load_realestate10k(d / "clip.txt", cams.width, cams.height)
    assert stamps2 == stamps and url == "genscene"
    return loaded, None


def _projection_matrices(d, cams, names):
    # in memory, with an arbitrary (negative) scale per camera as P is only defined up to scale
    scale = torch.tensor([-3.0, 0.25, 7.0, -0.5, 1.0, 1e-3], dtype=torch.float64).repeat(len(cams))[: len(cams)]
    return cameras_from_projection_matrices(projection_matrices(cams) * scale[:, None, None],
                                            cams.width, cams.height), None


def _dtu(d, cams, names):
    save_dtu_cameras(d / "cameras.npz", cams)
    loaded, S = load_dtu_cameras(d / "cameras.npz", cams.width, cams.height)
    np.testing.assert_array_equal(S, np.broadcast_to(np.eye(4), (len(cams), 4, 4)))
    return loaded, None


def _middlebury(d, cams, names):
    save_middlebury_par(d / "x_par.txt", cams, names)
    return load_middlebury_par(d / "x_par.txt", cams.width, cams.height)


def _vggt(d, cams, names):
    save_pose_encoding(d / "pose_enc.npz", cams)
    return load_pose_encoding(d / "pose_enc.npz"), None


def _gen3r(d, cams, names):
    save_gen3r_cameras(d / "cameras.json", cams, relative_to_first=False)
    return load_gen3r_cameras(d / "cameras.json"), None


def _opensfm(d, cams, names):
    save_opensfm(d / "reconstruction.json", cams, names)
    return load_opensfm(d / "reconstruction.json")


# name -> (round trip, single focal length only, centred principal point only)
FORMATS: dict[str, tuple[RoundTrip, bool, bool]] = {
    "opengl": (_opengl, False, False),
    "nerfstudio": (_nerfstudio, False, False),
    "colmap_txt": (_colmap(False), False, False),
    "colmap_bin": (_colmap(True), False, False),
    "llff": (_llff, True, True),  # one focal (hwf), principal point at the centre
    "realestate10k": (_realestate10k, False, False),
    "projection_matrix": (_projection_matrices, False, False),
    "dtu": (_dtu, False, False),
    "middlebury": (_middlebury, False, False),
    "vggt": (_vggt, False, True),  # fx and fy via two FoVs, no principal point
    "gen3r": (_gen3r, False, False),
    "opensfm": (_opensfm, False, False),
}
