"""Datasets of the reconstruction benchmark: real multi-view sets with GT cameras, and held-out worlds.

Every case holds its views at their native size, GT cameras for that size (through the project's
own format loaders), and, for procedural worlds only, a function rendering GT geometry at any
size. Real sets have no GT geometry here: DTU's fixture has object masks but no depth or scan,
temple / fern / Berlin have none. Berlin's "GT" is OpenSfM's own reconstruction, i.e. another SfM
result, not an independent measurement.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras

GtGeometry = Callable[[int, int], tuple[Tensor, Tensor]]
"""``(height, width) -> (world points [N, H, W, 3], valid mask [N, H, W])``."""


@dataclass
class BenchCase:
    """One dataset of the benchmark."""

    name: str
    """Row label."""
    images: list[Tensor]
    """``N`` views ``[3, H, W]`` float in [0, 1], one native size."""
    gt: Cameras
    """``[N]`` ground-truth cameras for the native size."""
    gt_geometry: GtGeometry | None = None
    """GT points at a requested size, or ``None`` where no GT geometry exists."""
    note: str = ""
    """What the GT is, for the report."""


def _from_uint8(images: np.ndarray) -> list[Tensor]:
    """``[N, H, W, 3]`` uint8 -> list of ``[3, H, W]`` float."""
    return [torch.from_numpy(im).permute(2, 0, 1).float() / 255 for im in images]


def _check_sizes(name: str, images: list[Tensor], gt: Cameras) -> None:
    for im in images:
        if tuple(im.shape[-2:]) != (gt.height, gt.width):
            raise ValueError(f"{name}: image {tuple(im.shape[-2:])} does not match GT cameras {(gt.height, gt.width)}")


def temple(data: Path) -> BenchCase | None:
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
    return BenchCase("temple (16)", images, gt, note=note)


def dtu(data: Path) -> BenchCase | None:
    """DTU scan24 fixture, 9 views at 200x150, cameras from its projection matrices."""
    from genscene.cameras.formats import cameras_from_projection_matrices

    fixture = data / "fixtures" / "dtu_scan24_200x150_sparse.npz"
    if not fixture.is_file():
        return None
    with np.load(fixture, allow_pickle=False) as z:
        images = _from_uint8(z["images"])
        gt = cameras_from_projection_matrices(torch.from_numpy(z["P"]).double(), 200, 150)
    _check_sizes("dtu", images, gt)
    return BenchCase("DTU scan24 (9)", images, gt, note="GT: DTU calibration; no depth in the fixture (masks only)")


def fern(data: Path) -> BenchCase | None:
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
    return BenchCase("fern (20)", images, gt, note="GT: LLFF poses (COLMAP on the full-res set)")


def berlin(data: Path) -> BenchCase | None:
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
    return BenchCase("Berlin (3)", images, gt, note="GT: OpenSfM's reconstruction (another SfM, not independent; its radial distortion ignored)")


REAL_DATASETS = {"temple": temple, "dtu": dtu, "fern": fern, "berlin": berlin}
"""Loaders by name; each returns ``None`` when its folder is absent."""


def held_out_worlds(count: int, frames: int, size: int) -> Iterator[BenchCase]:
    """``count`` held-out worlds (test-split seeds only), families in turn, paths alternating
    ``random`` / ``orbit`` with path seed = index (the geometry trainer's evaluation protocol).

    Views are rendered square at ``size``; GT geometry is rendered on demand at any size.
    """
    from genscene.geometry.projection import unproject_depth
    from genscene.worlds import FAMILIES, make_world
    from genscene.worlds.camera_paths import sample_camera_path
    from genscene.worlds.compiled import compile_world
    from genscene.worlds.render import render
    from genscene.worlds.seeds import seed_range

    kinds = ("random", "orbit")
    for i, seed in enumerate(seed_range("test", count, purpose="evaluation")):
        family = FAMILIES[i % len(FAMILIES)]
        world = make_world(family, seed)
        compiled = compile_world(world)
        path = sample_camera_path(world, kinds[i % len(kinds)], num_frames=frames, size=size, seed=i, compiled=compiled)
        out = render(compiled, path.cameras, path.times, edges=False)
        cache = {(size, size): (unproject_depth(out["depth"].double(), path.cameras), out["mask"])}

        def gt_geometry(h: int, w: int, path=path, compiled=compiled, cache=cache) -> tuple[Tensor, Tensor]:
            if (h, w) not in cache:
                cams = path.cameras.resize(h, w)
                o = render(compiled, cams, path.times, edges=False)
                cache[(h, w)] = (unproject_depth(o["depth"].double(), cams), o["mask"])
            return cache[(h, w)]

        yield BenchCase(f"world {family} {seed} ({frames})", list(out["rgb"]), path.cameras, gt_geometry,
                        note=f"GT: renderer ({kinds[i % len(kinds)]} path, seed {seed} of the test split)")
