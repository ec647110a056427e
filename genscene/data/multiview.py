"""Readers of the real multi-view sets with GT cameras under ``../shared/data`` (temple, DTU, fern, Berlin).

Every case holds its views at their native size and GT cameras for that size (through the project's
own format loaders). Real sets have no GT geometry here: DTU's fixture has object masks but no
depth or scan, temple / fern / Berlin have none. Berlin's "GT" is OpenSfM's own reconstruction,
i.e. another SfM result, not an independent measurement. Procedural held-out worlds, which do have
GT geometry, come as the same :class:`MultiViewCase` from :mod:`genscene.data.world_cases`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras

GtGeometry = Callable[[int, int], tuple[Tensor, Tensor]]
"""``(height, width) -> (world points [N, H, W, 3], valid mask [N, H, W])``."""


@dataclass
class MultiViewCase:
    """One multi-view dataset: views, GT cameras and, where known, GT geometry."""

    name: str
    """Short label with the view count (a benchmark row label)."""
    images: list[Tensor]
    """``N`` views ``[3, H, W]`` float in [0, 1], one native size."""
    gt: Cameras
    """``[N]`` ground-truth cameras for the native size."""
    gt_geometry: GtGeometry | None = None
    """GT points at a requested size, or ``None`` where no GT geometry exists."""
    note: str = ""
    """What the GT is (its source and caveats), for reports."""


def _from_uint8(images: np.ndarray) -> list[Tensor]:
    """``[N, H, W, 3]`` uint8 -> list of ``[3, H, W]`` float."""
    return [torch.from_numpy(im).permute(2, 0, 1).float() / 255 for im in images]


def _check_sizes(name: str, images: list[Tensor], gt: Cameras) -> None:
    for im in images:
        if tuple(im.shape[-2:]) != (gt.height, gt.width):
            raise ValueError(f"{name}: image {tuple(im.shape[-2:])} does not match GT cameras {(gt.height, gt.width)}")


def temple(data: Path) -> MultiViewCase | None:
    """Middlebury temple sparse ring, 16 views: the full 640x480 set if present, else the 160x120 fixture."""
    from genscene.cameras.formats import load_middlebury_par
    from genscene.io.images import read_image

    folder = data / "multiview" / "middlebury_temple"
    if (folder / "templeSR_par.txt").is_file():
        gt, names = load_middlebury_par(folder / "templeSR_par.txt", 640, 480)
        images = [read_image(folder / n) for n in names]
        note = "GT: Middlebury calibration (templeSR_par.txt), 640x480"
    else:
        fixture = data / "fixtures" / "middlebury_temple_sparse_ring_160x120.npz"
        if not fixture.is_file():
            return None
        with np.load(fixture, allow_pickle=False) as z:
            from genscene.cameras.cameras import rigid_matrix

            K, R, t = (torch.from_numpy(z[k]).double() for k in ("K", "R", "t"))
            gt = Cameras(K, rigid_matrix(R, t), 160, 120)
            images = _from_uint8(z["images"])
        note = "GT: Middlebury calibration (fixture), 160x120"
    _check_sizes("temple", images, gt)
    return MultiViewCase("temple (16)", images, gt, note=note)


def dtu(data: Path) -> MultiViewCase | None:
    """DTU scan24 fixture, 9 views at 200x150, cameras from its projection matrices."""
    from genscene.cameras.formats import cameras_from_projection_matrices

    fixture = data / "fixtures" / "dtu_scan24_200x150_sparse.npz"
    if not fixture.is_file():
        return None
    with np.load(fixture, allow_pickle=False) as z:
        images = _from_uint8(z["images"])
        gt = cameras_from_projection_matrices(torch.from_numpy(z["P"]).double(), 200, 150)
    _check_sizes("dtu", images, gt)
    return MultiViewCase("DTU scan24 (9)", images, gt, note="GT: DTU calibration; no depth in the fixture (masks only)")


def fern(data: Path) -> MultiViewCase | None:
    """LLFF fern, 20 forward-facing views at 504x378 (``images_8``)."""
    from genscene.cameras.formats import load_llff
    from genscene.io.images import read_image

    folder = data / "multiview" / "llff_fern"
    if not (folder / "poses_bounds.npy").is_file():
        return None
    files = sorted((folder / "images_8").glob("*.png"))
    images = [read_image(p) for p in files]
    gt, _ = load_llff(folder / "poses_bounds.npy", images[0].shape[-1], images[0].shape[-2])
    if len(files) != gt.batch_shape[0]:
        raise ValueError(f"fern: {len(files)} images but {gt.batch_shape[0]} poses")
    _check_sizes("fern", images, gt)
    return MultiViewCase("fern (20)", images, gt, note="GT: LLFF poses (COLMAP on the full-res set)")


def berlin(data: Path) -> MultiViewCase | None:
    """OpenSfM Berlin, 3 wide-baseline phone photos at 3264x2448."""
    from genscene.cameras.formats import load_opensfm
    from genscene.io.images import read_image

    folder = data / "multiview" / "opensfm_berlin"
    if not (folder / "reconstruction_example.json").is_file():
        return None
    with warnings.catch_warnings():  # its k1, k2 are dropped: said in the note
        warnings.simplefilter("ignore", UserWarning)
        gt, names = load_opensfm(folder / "reconstruction_example.json")
    order = sorted(range(len(names)), key=lambda i: names[i])
    gt = Cameras(gt.K[order], gt.w2c[order], gt.width, gt.height)
    images = [read_image(folder / "images" / names[i]) for i in order]
    _check_sizes("berlin", images, gt)
    return MultiViewCase("Berlin (3)", images, gt, note="GT: OpenSfM's reconstruction (another SfM, not independent; its radial distortion ignored)")


REAL_DATASETS = {"temple": temple, "dtu": dtu, "fern": fern, "berlin": berlin}
"""Loaders by name; each returns ``None`` when its folder is absent."""
