"""``genscene reconstruct IMAGES... -o scene/``: depth, cameras and points from images or a video."""

from __future__ import annotations

from pathlib import Path

import typer

from genscene.atomic import check_output
from genscene.commands import one_line_errors
from genscene.commands.progress import phases
from genscene.errors import InputError

MIN_SIZE = 8
"""Smallest long side fed to the network: one patch."""
MAX_SIZE = 4096
"""Largest long side fed to the network (memory decides below it)."""
MAX_VIDEO_FRAMES = 32
"""The most frames sampled from a video: the most views the network takes at once."""
VGGT_SIZE = 518
"""Default long side for a VGGT checkpoint: the size it was trained at."""


def resolve_weights(name: str, explicit: Path | None) -> Path:
    """The checkpoint folder to load: ``--weights`` if given, else the one found for ``name``."""
    from genscene.weights import found_checkpoints, weight_dirs

    if explicit is not None:
        return explicit
    found = found_checkpoints()
    if name not in found:
        searched = ", ".join(str(d) for d in weight_dirs())
        raise InputError("weights", f"no '{name}' checkpoint found (searched {searched}); pass --weights DIR")
    return found[name]


@one_line_errors
def reconstruct(
    inputs: list[Path] = typer.Argument(..., help="Image files, one folder of images, or one video."),
    out: Path = typer.Option(..., "--out", "-o", help="Scene folder to write."),
    weights: Path = typer.Option(None, help="Geometry checkpoint folder (default: the embedded one), or VGGT-1B "
                                 "weights (the released model.safetensors or model.pt, or their folder)."),
    size: int = typer.Option(None, min=MIN_SIZE, max=MAX_SIZE,
                             help="Long image side fed to the network [default: 128; 518 for VGGT]."),
    frames: int = typer.Option(8, min=1, max=MAX_VIDEO_FRAMES, help="Frames sampled from a video input."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    poses: str = typer.Option("auto", help="Camera backend: auto (COLMAP where it registers a view, the network "
                                           "elsewhere), colmap (COLMAP for every view, else an error) or net."),
    intrinsics: Path = typer.Option(None, help="JSON of known intrinsics: {\"fx\", \"fy\", \"cx\", \"cy\"} shared, "
                                               "or {\"images\": {name: {...}}} (default: EXIF focal when present)."),
    overwrite: bool = typer.Option(False, help="Replace an existing scene folder (never another folder)."),
) -> None:
    """Depth, cameras (json, nerfstudio, COLMAP), points and a preview; cameras from COLMAP (pycolmap, when
    installed) where it registers a view, from the network elsewhere (meta.json says which)."""
    import time

    from genscene.commands import resolve_device
    from genscene.commands.checkpoints import is_vggt, load_geometry
    from genscene.io.meta import build_meta
    from genscene.io.scene import points_summary, write_scene
    from genscene.pipelines.poses import (
        POSE_BACKENDS,
        PosesConfig,
        decide_backend,
        known_intrinsics,
        reconstruct_posed,
        summary_lines,
    )
    from genscene.pipelines.reconstruct import (
        VGGT_CHUNK_PIXEL_BYTES,
        VGGT_PIXEL_BYTES,
        ReconstructConfig,
        collect_inputs,
        predict,
        prepare_views,
        preview_png,
    )

    if poses not in POSE_BACKENDS:
        raise InputError("--poses", f"expected one of {', '.join(POSE_BACKENDS)}, got {poses!r}")
    dev = resolve_device(device)
    check_output(out, overwrite, kind="scene")
    ckpt = resolve_weights("geometry", weights)
    vggt = is_vggt(ckpt)
    cfg = ReconstructConfig(video_frames=frames)
    if vggt:
        cfg.size, cfg.network_pixel_bytes, cfg.chunk_pixel_bytes = VGGT_SIZE, VGGT_PIXEL_BYTES, VGGT_CHUNK_PIXEL_BYTES
    cfg.size = size or cfg.size
    t0 = time.perf_counter()
    with phases("reading the inputs") as phase:
        images, names, files = collect_inputs(list(inputs), cfg)
        sizes = [(int(im.shape[-1]), int(im.shape[-2])) for im in images]
        decide_backend(poses, sizes)  # refuse an impossible --poses colmap before any work
        known = known_intrinsics(intrinsics, names, files, sizes)
        phase(f"loading {ckpt}")
        model = load_geometry(ckpt, dev)
        views = prepare_views(images, cfg.size, model.config.patch_size)
        phase(f"geometry network on {len(images)} views at {views.shape[-1]}x{views.shape[-2]}")
        net = predict(views, model)
        phase("cameras (COLMAP where it registers a view)" if poses != "net" else "assembling the scene")
        scene = reconstruct_posed(images, views, net, names, cfg, PosesConfig(poses=poses), known)
        _check_finite(scene, ckpt)
        phase(f"writing {out}")
        scene.meta = build_meta(inputs={"files": [str(p) for p in inputs], "views": names, "weights": str(ckpt),
                                        "intrinsics": None if intrinsics is None else str(intrinsics)},
                                timings={**scene.meta.pop("timings_s"), "total": round(time.perf_counter() - t0, 3)},
                                **scene.meta)
        write_scene(out, scene, colmap=True, overwrite=overwrite,
                    extras={"preview.png": lambda path: preview_png(scene, path)})
    for line in summary_lines(scene.meta):
        typer.echo(line)
    typer.echo(f"wrote {out} ({scene.num_frames} views, {points_summary(out)})")


def _check_finite(scene, weights: Path) -> None:
    """Refuse to write a scene whose depths, cameras or points are not finite (corrupt weights)."""
    import torch

    parts = {"depth": scene.depths, "cameras": scene.cameras.w2c, "points": scene.points[0]}
    bad = [name for name, value in parts.items() if not bool(torch.isfinite(value).all())]
    if bad:
        raise InputError(weights, f"the model produced non-finite {', '.join(bad)}; nothing was written")
