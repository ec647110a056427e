"""``genscene generate IMAGE -t PRESET|FILE -o OUT/`` and ``genscene interpolate A B -o OUT/``: generated clips."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from genscene.atomic import check_output
from genscene.commands import MAX_SEED, finite_float, one_line_errors
from genscene.errors import InputError

MAX_GUIDANCE = 20.0
"""Largest classifier-free guidance scale."""


def generation_models(weights: Path | None):
    """The generator (``weights`` or the embedded one), the VAE and the geometry net, in eval mode."""
    from genscene.commands.checkpoints import load_model
    from genscene.commands.reconstruct import resolve_weights
    from genscene.models.generator import VideoGenerator
    from genscene.models.geometry import GeometryNet
    from genscene.models.vae import VideoVAE

    gen_dir = resolve_weights("generator", weights)
    generator = load_model(VideoGenerator, gen_dir)
    vae = load_model(VideoVAE, resolve_weights("vae", None))
    geometry = load_model(GeometryNet, resolve_weights("geometry", None))
    return (generator, vae, geometry), gen_dir


def _run(make, out: Path, overwrite: bool, steps: int, seed: int, inputs: dict, t0: float) -> object:
    """Run ``make(progress) -> (scene, previews)`` under a progress bar, then write the scene folder with
    ``meta.json`` (``inputs``, seed, timings) and ``preview.png``."""
    import torch
    from rich.progress import Progress

    from genscene.io.meta import build_meta
    from genscene.io.scene import write_scene
    from genscene.pipelines.image_to_video import preview_png

    with Progress(transient=True) as bar, torch.no_grad():
        task = bar.add_task(f"generating {inputs['frames']} frames", total=steps)
        scene, previews = make(lambda i, n: bar.update(task, completed=i))
    if not all(bool(torch.isfinite(x).all()) for x in (scene.frames, scene.depths, scene.cameras.w2c)):
        raise InputError(inputs.get("weights", "weights"), "the model produced non-finite frames or cameras")
    scene.meta = build_meta(seeds={"noise": seed}, inputs=inputs,
                            timings={**scene.meta.pop("timings_s"), "total": round(time.perf_counter() - t0, 3)},
                            **scene.meta)
    write_scene(out, scene, overwrite=overwrite, extras={"preview.png": lambda p: preview_png(scene, previews, p)})
    return scene


def _frames_note(count: int, asked: int) -> str:
    return "" if count == asked else f" (asked {asked}: the VAE takes 1 + 4k frames)"


@one_line_errors
def generate(
    image: Path = typer.Argument(..., help="The photo (frame 0)."),
    trajectory: str = typer.Option(..., "--trajectory", "-t",
                                   help="Preset name (genscene trajectory list), a trajectory JSON or any camera "
                                        "file genscene reads; distances in units of frame 0's median depth."),
    out: Path = typer.Option(..., "--out", "-o", help="Scene folder to write."),
    frames: int = typer.Option(17, min=2, max=121, help="Frames (rounded up to 1 + 4k, as the VAE needs)."),
    steps: int = typer.Option(20, min=1, max=1000, help="Sampler steps."),
    guidance: float = typer.Option(2.0, min=0.0, max=MAX_GUIDANCE,
                                   help="Guidance over the image and 3D-cache conditions."),
    camera_guidance: float = typer.Option(1.0, min=0.0, max=MAX_GUIDANCE, help="Guidance over the camera condition."),
    seed: int = typer.Option(0, min=0, max=MAX_SEED, help="Seed of the initial noise."),
    weights: Path = typer.Option(None, help="Generator checkpoint folder (default: the embedded one)."),
    overwrite: bool = typer.Option(False, help="Replace an existing scene folder."),
) -> None:
    """Generate the clip a camera would see moving along a path from the photo; write a scene folder."""
    from genscene.commands.trajectory import resolve
    from genscene.errors import existing_file
    from genscene.io.images import read_image
    from genscene.io.scene import points_summary
    from genscene.pipelines.generate import GenerateConfig
    from genscene.pipelines.image_to_video import ImageToVideoConfig, image_to_video, valid_frame_count

    finite_float("--guidance", guidance, 0.0, MAX_GUIDANCE)
    finite_float("--camera-guidance", camera_guidance, 0.0, MAX_GUIDANCE)
    check_output(out, overwrite, kind="scene")
    t0 = time.perf_counter()
    photo = read_image(existing_file(image))
    count = valid_frame_count(frames)
    rel_c2w, _, title = resolve(trajectory, count, None, [])
    if rel_c2w.shape[0] != count:
        raise InputError(trajectory, f"has {rel_c2w.shape[0]} frames; the generator needs 1 + 4k (e.g. {count})")
    models, gen_dir = generation_models(weights)
    cfg = ImageToVideoConfig(generate=GenerateConfig(steps=steps, guidance=guidance, camera_guidance=camera_guidance,
                                                     seed=seed))
    inputs = {"image": str(image), "trajectory": title, "frames_asked": frames, "frames": count,
              "weights": str(gen_dir)}
    _run(lambda progress: image_to_video(photo, rel_c2w, *models, cfg, progress=progress),
                 out, overwrite, steps, seed, inputs, t0)
    typer.echo(f"wrote {out}: {count} frames{_frames_note(count, frames)}, {title}, {points_summary(out)}")


@one_line_errors
def interpolate(
    first: Path = typer.Argument(..., help="The first photo (frame 0)."),
    last: Path = typer.Argument(..., help="The last photo (the last frame)."),
    out: Path = typer.Option(..., "--out", "-o", help="Scene folder to write."),
    frames: int = typer.Option(17, min=2, max=121, help="Frames (rounded up to 1 + 4k, as the VAE needs)."),
    steps: int = typer.Option(20, min=1, max=1000, help="Sampler steps."),
    guidance: float = typer.Option(2.0, min=0.0, max=MAX_GUIDANCE,
                                   help="Guidance over the image and 3D-cache conditions."),
    seed: int = typer.Option(0, min=0, max=MAX_SEED, help="Seed of the initial noise."),
    weights: Path = typer.Option(None, help="Generator checkpoint folder (default: the embedded one)."),
    overwrite: bool = typer.Option(False, help="Replace an existing scene folder."),
) -> None:
    """Generate the in-between clip of two photos: their cameras from the geometry net, a smooth path between
    them, first and last frame given to the generator; write a scene folder."""
    from genscene.errors import existing_file
    from genscene.io.images import read_image
    from genscene.pipelines.generate import GenerateConfig
    from genscene.pipelines.image_to_video import ImageToVideoConfig, interpolate_views, valid_frame_count

    finite_float("--guidance", guidance, 0.0, MAX_GUIDANCE)
    check_output(out, overwrite, kind="scene")
    t0 = time.perf_counter()
    photo_a, photo_b = read_image(existing_file(first)), read_image(existing_file(last))
    count = valid_frame_count(frames)
    models, gen_dir = generation_models(weights)
    cfg = ImageToVideoConfig(generate=GenerateConfig(steps=steps, guidance=guidance, seed=seed))
    inputs = {"first": str(first), "last": str(last), "frames_asked": frames, "frames": count,
              "weights": str(gen_dir)}
    from genscene.io.scene import points_summary

    _run(lambda progress: interpolate_views(photo_a, photo_b, count, *models, cfg, progress=progress),
                 out, overwrite, steps, seed, inputs, t0)
    typer.echo(f"wrote {out}: {count} frames{_frames_note(count, frames)} between {first.name} and {last.name}, "
               f"{points_summary(out)}")
