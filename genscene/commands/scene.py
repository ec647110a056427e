"""``genscene scene PHOTO -o OUT/``: one photo -> generated coverage clips -> 3D Gaussians (fitted or decoded).

A thin parser over :mod:`genscene.pipelines.photo_to_scene`; the folder is ``generate``'s for every
generated view plus ``gaussians.ply`` (INRIA 3DGS), ``render.mp4`` (the fly-through) and the costs.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from genscene.atomic import check_output
from genscene.commands import MAX_SEED, finite_float, one_line_errors, resolve_device
from genscene.commands.generate import MAX_GUIDANCE, generation_models
from genscene.commands.progress import phases
from genscene.errors import InputError

SIZE_STEP = 16
"""The side must be a multiple of this: the VAE's 8x down-sampling times the generator's 2x2 patches."""
MIN_SIZE, MAX_SIZE = 32, 1024
"""Smallest and largest square side in pixels."""
MAX_FIT_STEPS = 100_000
"""Largest fit step budget."""


def parse_trajectories(text: str) -> tuple[str, ...]:
    """``"all"`` or comma-separated names of Lyra's coverage trajectories -> the names, in the order given."""
    from genscene.pipelines.photo_to_scene import ALL_TRAJECTORIES

    if text.strip().lower() == "all":
        return ALL_TRAJECTORIES
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in ALL_TRAJECTORIES]
    if unknown or not names:
        raise InputError("--trajectories", f"unknown {', '.join(map(repr, unknown)) or 'empty list'}; expected "
                                           f"'all' or some of {', '.join(ALL_TRAJECTORIES)}")
    return names


@one_line_errors
def scene(
    image: Path = typer.Argument(..., help="The photo (frame 0 of every clip)."),
    out: Path = typer.Option(..., "--out", "-o", help="Scene folder to write."),
    trajectories: str = typer.Option("lyra_left,lyra_right", help="Lyra coverage trajectories, comma-separated, "
                                                                   "or 'all' for the six (one clip each)."),
    frames: int = typer.Option(9, min=2, max=121, help="Frames per clip (rounded up to 1 + 4k, as the VAE needs)."),
    steps: int = typer.Option(10, min=1, max=1000, help="Sampler steps per clip."),
    route: str = typer.Option("fit", help="How the views become Gaussians: fit (per-scene optimisation) or "
                                          "decoder (one pass of the latent Gaussian decoder over the clips)."),
    fit_steps: int = typer.Option(30, min=1, max=MAX_FIT_STEPS, help="Gaussian fitting steps (route fit)."),
    guidance: float = typer.Option(2.0, min=0.0, max=MAX_GUIDANCE,
                                   help="Guidance over the image and 3D-cache conditions."),
    seed: int = typer.Option(0, min=0, max=MAX_SEED, help="Seed of the noise and of Lyra's distance draws."),
    size: int = typer.Option(128, min=MIN_SIZE, max=MAX_SIZE, help=f"Square side (a multiple of {SIZE_STEP})."),
    device: str = typer.Option("auto", help="Where the Gaussians are fitted and rendered: auto, cpu, cuda[:N] "
                                            "(generation runs on the CPU)."),
    weights: Path = typer.Option(None, help="Generator checkpoint folder (default: the embedded one)."),
    decoder_weights: Path = typer.Option(None, help="Latent Gaussian decoder folder (route decoder; default: the "
                                                    "embedded one)."),
    overwrite: bool = typer.Option(False, help="Replace an existing scene folder."),
) -> None:
    """One photo -> generated clips along coverage paths -> 3D Gaussians made from them; write a scene folder."""
    from genscene.pipelines.photo_to_scene import ROUTES

    finite_float("--guidance", guidance, 0.0, MAX_GUIDANCE)
    if route not in ROUTES:
        raise InputError("--route", f"expected one of {', '.join(ROUTES)}, got {route!r}")
    if decoder_weights is not None and route != "decoder":
        raise InputError("--decoder-weights", "only --route decoder reads a decoder; add --route decoder")
    if size % SIZE_STEP:
        raise InputError("--size", f"must be a multiple of {SIZE_STEP}, got {size}")
    names = parse_trajectories(trajectories)
    fit_device = resolve_device(device)
    check_output(out, overwrite, kind="scene")
    t0, cpu0 = time.perf_counter(), time.process_time()
    with phases(f"reading {image.name}", steps=True) as phase:
        made = _make(image, names, frames, steps, fit_steps, guidance, seed, size, fit_device, weights, phase,
                     route, decoder_weights)
        phase(f"writing {out}")
        _write(made, out, overwrite, t0, cpu0)
    made_by = made.scene.meta[route]
    typer.echo(f"wrote {out}: {made.scene.num_frames} views from {len(names)} clips ({', '.join(names)}), "
               f"{made_by['gaussians']} Gaussians ({route}, PSNR at the views {made_by['psnr']:.2f} dB), "
               f"{time.perf_counter() - t0:.0f} s")


def _make(image: Path, names: tuple[str, ...], frames: int, steps: int, fit_steps: int, guidance: float, seed: int,
          size: int, fit_device: str, weights: Path | None, phase, route: str, decoder_weights: Path | None):
    """Read the photo, load the models and run the pipeline, reporting every stage and step to ``phase``."""
    import dataclasses

    import torch

    from genscene.errors import existing_file
    from genscene.io.images import read_image
    from genscene.pipelines.image_to_video import valid_frame_count
    from genscene.pipelines.photo_to_scene import PhotoToSceneConfig, photo_to_scene

    photo = read_image(existing_file(image))
    phase("loading the generator, the VAE and the geometry net")
    models, gen_dir = generation_models(weights)
    decoder, decoder_dir = _load_decoder(decoder_weights, phase) if route == "decoder" else (None, None)
    fit = dataclasses.replace(PhotoToSceneConfig().fit, steps=fit_steps)
    cfg = PhotoToSceneConfig(route=route, trajectories=names, frames=valid_frame_count(frames), steps=steps,
                             guidance=guidance, seed=seed, size=size, fit=fit)
    made = photo_to_scene(photo, *models, cfg, progress=phase, fit_device=fit_device, decoder=decoder)
    parts = {"frames": made.scene.frames, "depth": made.scene.depths, "Gaussians": made.scene.gaussians.means,
             "fly-through": made.flythrough}
    bad = [name for name, value in parts.items() if not bool(torch.isfinite(value).all())]
    if bad:
        raise InputError(gen_dir, f"the models produced non-finite {', '.join(bad)}; nothing was written")
    made.scene.meta["inputs"] = {"image": str(image), "frames_asked": frames, "weights": str(gen_dir),
                                 "fit_device": fit_device}
    if decoder_dir is not None:
        made.scene.meta["inputs"]["decoder_weights"] = str(decoder_dir)
    return made


def _load_decoder(folder: Path | None, phase):
    """The latent Gaussian decoder (``folder`` or the embedded one), in eval mode, and the folder it came from."""
    from genscene.commands.checkpoints import load_model
    from genscene.commands.reconstruct import resolve_weights
    from genscene.models.gaussian_decoder import LatentGaussianDecoder

    phase("loading the latent Gaussian decoder")
    source = resolve_weights("decoder", folder)
    return load_model(LatentGaussianDecoder, source), source


def _write(made, out: Path, overwrite: bool, t0: float, cpu0: float) -> None:
    """The scene folder with ``preview.png``, ``render.mp4`` and meta.json's costs (wall and CPU seconds)."""
    from genscene.io.meta import build_meta
    from genscene.io.scene import write_scene
    from genscene.io.video import write_video
    from genscene.pipelines.image_to_video import preview_png

    scene = made.scene
    meta = dict(scene.meta)
    timings = {**meta.pop("timings_s"), "total": round(time.perf_counter() - t0, 3)}
    scene.meta = build_meta(inputs=meta.pop("inputs"), seeds={"noise": meta["generate"]["seed"]}, timings=timings,
                            cpu_time_s=round(time.process_time() - cpu0, 3), **meta)
    write_scene(out, scene, overwrite=overwrite, extras={
        "preview.png": lambda p: preview_png(scene, made.previews, p),
        "render.mp4": lambda p: write_video(p, made.flythrough, fps=scene.fps)})
