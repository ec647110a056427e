"""Held-out procedural worlds as multi-view cases with GT cameras and GT geometry at any size.

Seeds are the report seeds of the test split (:func:`genscene.worlds.seeds.report_seeds`): a benchmark reports.
"""

from __future__ import annotations

from collections.abc import Iterator

from torch import Tensor

from genscene.data.multiview import MultiViewCase


def held_out_worlds(count: int, frames: int, size: int) -> Iterator[MultiViewCase]:
    """``count`` held-out worlds (test-split seeds only), families in turn, paths alternating
    ``random`` / ``orbit`` with path seed = index (the geometry trainer's evaluation protocol).

    Views are rendered square at ``size``; GT geometry is rendered on demand at any size.
    """
    from genscene.geometry.projection import unproject_depth
    from genscene.worlds import FAMILIES, make_world
    from genscene.worlds.camera_paths import sample_camera_path
    from genscene.worlds.compiled import compile_world
    from genscene.worlds.render import render
    from genscene.worlds.seeds import report_seeds

    kinds = ("random", "orbit")
    for i, seed in enumerate(report_seeds(count)):
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

        yield MultiViewCase(f"world {family} {seed} ({frames})", list(out["rgb"]), path.cameras, gt_geometry,
                            note=f"GT: renderer ({kinds[i % len(kinds)]} path, seed {seed} of the test split)")
