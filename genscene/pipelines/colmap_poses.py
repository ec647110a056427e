"""COLMAP (pycolmap) structure from motion: views -> :class:`Cameras`, run as a user would run COLMAP.

SIFT features, exhaustive matching (sequential beyond ``exhaustive_max_views`` views), incremental
mapping. Without known intrinsics: one shared camera (``SIMPLE_RADIAL`` by default) whose focal
length starts from COLMAP's default guess (1.2 x the long image side; images are written as PNG,
so COLMAP sees no EXIF) and is refined by bundle adjustment. With known intrinsics
(``known_K``): ``PINHOLE`` cameras with those values, held fixed (``fix_intrinsics``, a calibration
file) or only a prior that bundle adjustment refines (an EXIF focal). The largest reconstruction
(most registered images) is kept; views it does not contain are "not registered".

pycolmap 4.x API (``extract_features`` / ``match_exhaustive`` / ``incremental_mapping``,
``Image.cam_from_world()`` as a method); only the glue here is ours.
pycolmap is the optional ``colmap`` extra (``pip install genscene[colmap]``), imported only when
:func:`run_colmap` runs.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras


@dataclass
class ColmapConfig:
    """How the baseline runs."""

    camera_model: str = "SIMPLE_RADIAL"
    """COLMAP camera model of the one shared camera (COLMAP's default; ``PINHOLE`` is the other choice)."""
    seed: int = 0
    """Random seed of the incremental mapper (RANSAC, initial pair trials)."""
    num_threads: int = -1
    """Threads for extraction and mapping (-1: all cores)."""
    exhaustive_max_views: int = 50
    """Match every pair up to this many views; beyond, sequential matching (neighbours in input order;
    no loop detection: it needs a vocabulary tree, which is not shipped)."""
    sequential_overlap: int = 10
    """Sequential matching: each view is matched with this many following views."""
    quiet: bool = True
    """Keep COLMAP's log (INFO to ERROR) off the terminal: the caller reports the outcome itself."""


@dataclass
class ColmapResult:
    """What the baseline recovered for ``N`` input views."""

    cameras: Cameras
    """``[N]`` cameras (float64, OpenCV, COLMAP's world); unregistered views hold the identity pose."""
    registered: Tensor
    """``[N]`` bool: the view is in the kept (largest) reconstruction."""
    points: Tensor
    """``[P, 3]`` float64 sparse 3D points of the kept reconstruction (COLMAP's world)."""
    observations: Tensor
    """``[P, 3]`` float64: for each point its first observation ``(view index, x, y)`` in pixels
    (COLMAP's pixel convention: pixel centres at +0.5, the same as ours)."""
    tracks: Tensor
    """``[M, 4]`` float64: every observation ``(point index, view index, x, y)`` of every point."""
    num_models: int
    """Reconstructions COLMAP produced (1 when everything connects)."""
    runtime_s: float
    """Wall time: writing images, extraction, matching and mapping."""


def write_images(images: list[Tensor], folder: Path) -> list[str]:
    """Write views ``[3, H, W]`` in [0, 1] as ``view_000.png ...``; returns the names in order."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i, im in enumerate(images):
        name = f"view_{i:03d}.png"
        arr = (im.clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)  # [H, W, 3]
        Image.fromarray(arr).save(folder / name)
        names.append(name)
    return names


def reconstruction_to_result(rec, names: list[str], width: int, height: int,
                             num_models: int = 1, runtime_s: float = 0.0) -> ColmapResult:
    """Convert a ``pycolmap.Reconstruction`` (or ``None``) whose images are named ``names`` (in view order).

    Intrinsics come from each registered image's camera (``calibration_matrix``; radial distortion
    is dropped); unregistered views get COLMAP's default guess so the batch stays well formed.
    """
    n = len(names)
    index = {name: i for i, name in enumerate(names)}
    default_f = 1.2 * max(width, height)
    K = torch.tensor([[default_f, 0, width / 2], [0, default_f, height / 2], [0, 0, 1]], dtype=torch.float64).repeat(n, 1, 1)
    w2c = torch.eye(4, dtype=torch.float64).repeat(n, 1, 1)
    registered = torch.zeros(n, dtype=torch.bool)
    points = torch.zeros(0, 3, dtype=torch.float64)
    observations = torch.zeros(0, 3, dtype=torch.float64)
    tracks = torch.zeros(0, 4, dtype=torch.float64)
    if rec is not None:
        for image in rec.images.values():
            if not image.has_pose or image.name not in index:
                continue
            i = index[image.name]
            w2c[i, :3] = torch.from_numpy(np.asarray(image.cam_from_world().matrix(), dtype=np.float64))
            K[i] = torch.from_numpy(np.asarray(image.camera.calibration_matrix(), dtype=np.float64))
            registered[i] = True
        xyz, obs, track = [], [], []
        for p, point in enumerate(rec.points3D.values()):
            for k, element in enumerate(point.track.elements):
                image = rec.images[element.image_id]
                xy = image.points2D[element.point2D_idx].xy
                track.append((p, index[image.name], float(xy[0]), float(xy[1])))
                if k == 0:
                    obs.append(track[-1][1:])
            xyz.append(np.asarray(point.xyz, dtype=np.float64))
        if xyz:
            points = torch.from_numpy(np.stack(xyz))
            observations = torch.tensor(obs, dtype=torch.float64)
            tracks = torch.tensor(track, dtype=torch.float64)
    return ColmapResult(Cameras(K, w2c, width, height), registered, points, observations, tracks, num_models,
                        runtime_s)


def matching_kind(views: int, config: ColmapConfig) -> str:
    """``"exhaustive"`` up to ``config.exhaustive_max_views`` views, else ``"sequential"``."""
    return "exhaustive" if views <= config.exhaustive_max_views else "sequential"


def _set_known_cameras(pycolmap, database: Path, known_K: Tensor, width: int, height: int) -> None:
    """Give every image of ``database`` its known ``PINHOLE`` camera (``known_K [N, 3, 3]`` in image order)."""
    db = pycolmap.Database.open(database)
    try:
        images = sorted(db.read_all_images(), key=lambda im: im.name)
        for image, K in zip(images, known_K.tolist()):
            camera = pycolmap.Camera.create_from_model_name(image.camera_id, "PINHOLE", K[0][0], width, height)
            camera.params = [K[0][0], K[1][1], K[0][2], K[1][2]]
            camera.has_prior_focal_length = True
            db.update_camera(camera)
    finally:
        db.close()


def run_colmap(images: list[Tensor], config: ColmapConfig | None = None, workdir: Path | None = None,
               known_K: Tensor | None = None, fix_intrinsics: bool = False) -> ColmapResult:
    """Structure from motion on views ``[3, H, W]`` (one size) with pycolmap; see the module docstring.

    Args:
        images: the views in order; their index is the view index of the result.
        config: camera model, seed, threads and matching.
        workdir: where the images, database and models go (default: a temporary folder, removed).
        known_K: ``[N, 3, 3]`` known intrinsics in pixels of these images, or None (self-calibration).
        fix_intrinsics: hold ``known_K`` fixed in bundle adjustment (a calibration) instead of refining it
            (an EXIF focal).
    """
    import pycolmap

    config = config or ColmapConfig()
    if config.quiet:
        pycolmap.logging.minloglevel = int(pycolmap.logging.Level.FATAL)
    height, width = images[0].shape[-2:]
    if any(im.shape[-2:] != (height, width) for im in images):
        raise ValueError("run_colmap: all views must have one size (one shared camera)")
    if known_K is not None and tuple(known_K.shape) != (len(images), 3, 3):
        raise ValueError(f"run_colmap: known_K must be [{len(images)}, 3, 3], got {tuple(known_K.shape)}")
    with tempfile.TemporaryDirectory(prefix="genscene_colmap_") as tmp:
        root = Path(workdir) if workdir is not None else Path(tmp)
        t0 = time.perf_counter()
        names = write_images(images, root / "images")
        database = root / "database.db"
        if database.exists():
            database.unlink()
        reader = pycolmap.ImageReaderOptions()
        reader.camera_model = config.camera_model if known_K is None else "PINHOLE"
        shared = known_K is None or bool(torch.allclose(known_K, known_K[:1].expand_as(known_K)))
        extraction = pycolmap.FeatureExtractionOptions()
        extraction.num_threads = config.num_threads
        mode = pycolmap.CameraMode.SINGLE if shared else pycolmap.CameraMode.PER_IMAGE
        pycolmap.extract_features(database, root / "images", image_names=names, camera_mode=mode,
                                  reader_options=reader, extraction_options=extraction, device=pycolmap.Device.cpu)
        if known_K is not None:
            _set_known_cameras(pycolmap, database, known_K.double(), width, height)
        if matching_kind(len(images), config) == "exhaustive":
            pycolmap.match_exhaustive(database, device=pycolmap.Device.cpu)
        else:
            pairing = pycolmap.SequentialPairingOptions()
            pairing.overlap = config.sequential_overlap
            pycolmap.match_sequential(database, pairing_options=pairing, device=pycolmap.Device.cpu)
        options = pycolmap.IncrementalPipelineOptions()
        options.random_seed = config.seed
        options.num_threads = config.num_threads
        if known_K is not None and fix_intrinsics:
            options.ba_refine_focal_length = False
            options.ba_refine_principal_point = False
            options.ba_refine_extra_params = False
        (root / "sparse").mkdir(exist_ok=True)
        models = pycolmap.incremental_mapping(database, root / "images", root / "sparse", options=options)
        runtime = time.perf_counter() - t0
        largest = max(models.values(), key=lambda r: r.num_reg_images(), default=None)
        return reconstruction_to_result(largest, names, width, height, num_models=len(models), runtime_s=runtime)
