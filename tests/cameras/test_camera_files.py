"""Any camera file genscene reads, recognised by name and content, as a relative path for ``generate``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from formats_helpers import random_cameras
from torch.testing import assert_close

from genscene.cameras.cameras import invert_rigid
from genscene.cameras.formats import (
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
from genscene.cameras.trajectories import save_trajectory_json
from genscene.errors import InputError
from genscene.io.camera_files import camera_file_format, load_camera_file, path_from_file
from genscene.io.cameras_json import save_cameras_json

N = 5


def _square_cameras():
    # one focal and a centred principal point: every format (LLFF, VGGT) holds these exactly
    cams = random_cameras(N, seed=3, width=64, height=64)
    K = cams.K.clone()
    K[:, 1, 1] = K[:, 0, 0]
    K[:, 0, 2] = K[:, 1, 2] = 32
    return type(cams)(K, cams.w2c, 64, 64)


WRITERS = {
    "colmap": lambda d, c: (save_colmap(d / "sparse" / "0", c, [f"{i}.png" for i in range(N)]), d)[1],
    "genscene": lambda d, c: (save_cameras_json(d / "cameras.json", c), d / "cameras.json")[1],
    "gen3r": lambda d, c: (save_gen3r_cameras(d / "g.json", c, relative_to_first=False), d / "g.json")[1],
    "nerfstudio": lambda d, c: (save_transforms(d / "transforms.json", c, [f"{i}.png" for i in range(N)]),
                                d / "transforms.json")[1],
    "opensfm": lambda d, c: (save_opensfm(d / "reconstruction.json", c, [f"{i}.png" for i in range(N)]),
                             d / "reconstruction.json")[1],
    "llff": lambda d, c: (save_llff(d / "poses_bounds.npy", c, np.tile([0.5, 9.0], (N, 1))), d / "poses_bounds.npy")[1],
    "vggt": lambda d, c: (save_pose_encoding(d / "pose_enc.npz", c), d / "pose_enc.npz")[1],
    "dtu": lambda d, c: (save_dtu_cameras(d / "cameras.npz", c), d / "cameras.npz")[1],
    "middlebury": lambda d, c: (save_middlebury_par(d / "x_par.txt", c, [f"{i}.png" for i in range(N)]),
                                d / "x_par.txt")[1],
    "realestate10k": lambda d, c: (save_realestate10k(d / "clip.txt", c, timestamps=list(range(N))),
                                   d / "clip.txt")[1],
}


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_every_format_is_recognised_and_gives_the_relative_poses(kind, tmp_path):
    cams = _square_cameras()
    path = WRITERS[kind](tmp_path, cams)
    assert camera_file_format(path) == kind
    loaded, found = load_camera_file(path)
    assert found == kind and loaded.batch_shape == (N,)
    c2w = invert_rigid(cams.w2c)
    expected = invert_rigid(c2w[0]) @ c2w  # frame 0 at the identity, translations in the file's units
    rel, _ = path_from_file(path)
    assert_close(rel, expected, atol=1e-9, rtol=0)
    assert_close(rel[0], torch.eye(4, dtype=torch.float64), atol=1e-12, rtol=0)


def test_resampling_keeps_the_ends(tmp_path):
    cams = _square_cameras()
    rel, _ = path_from_file(WRITERS["nerfstudio"](tmp_path, cams), frames=9)
    c2w = invert_rigid(cams.w2c)
    assert rel.shape == (9, 4, 4)
    assert_close(rel[-1], invert_rigid(c2w[0]) @ c2w[-1], atol=1e-9, rtol=0)


def test_a_trajectory_json_still_reads_as_one(tmp_path):
    poses = torch.eye(4, dtype=torch.float64).repeat(3, 1, 1)
    poses[:, 0, 3] = torch.tensor([1.0, 2.0, 3.0])
    save_trajectory_json(tmp_path / "t.json", poses)
    rel, kind = path_from_file(tmp_path / "t.json")
    assert kind == "trajectory"
    assert_close(rel[:, 0, 3], torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64))


@pytest.mark.parametrize("name, content, word", [
    ("a.json", "[1, 2]", "not a camera file"),
    ("a.json", "{not json", "cannot read as JSON"),
    ("a.json", json.dumps({"frames": [{"file_path": "x"}]}), "transform_matrix"),
    ("a.yaml", "x: 1", "unknown camera file type"),
])
def test_unknown_files_are_one_clear_error(name, content, word, tmp_path):
    (tmp_path / name).write_text(content)
    with pytest.raises(InputError, match=word):
        load_camera_file(tmp_path / name)


def test_a_folder_without_a_model_is_refused(tmp_path):
    with pytest.raises(InputError, match="without a COLMAP model"):
        camera_file_format(tmp_path)
