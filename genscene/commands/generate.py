"""``genscene generate IMAGE --trajectory PRESET|FILE -o OUT/``: a camera-controlled video from one photo."""

from __future__ import annotations

from pathlib import Path

import typer

from genscene.commands import one_line_errors
from genscene.errors import InputError


@one_line_errors
def generate(
    image: Path = typer.Argument(..., help="The photo (frame 0)."),
    trajectory: str = typer.Option(..., "--trajectory", "-t",
                                   help="Preset name (genscene trajectory list) or a trajectory JSON file; "
                                        "distances in units of frame 0's median depth."),
    out: Path = typer.Option(..., "--out", "-o", help="Scene folder to write."),
    frames: int = typer.Option(17, min=2, max=121, help="Frames (rounded up to 1 + 4k, as the VAE needs)."),
    steps: int = typer.Option(20, min=1, max=1000, help="Sampler steps."),
    guidance: float = typer.Option(2.0, min=0.0, max=20.0, help="Guidance over the image and 3D-cache conditions."),
    camera_guidance: float = typer.Option(1.0, min=0.0, max=20.0, help="Guidance over the camera condition."),
    seed: int = typer.Option(0, min=0, help="Seed of the initial noise."),
    weights: Path = typer.Option(None, help="Generator checkpoint folder (default: the embedded one)."),
    overwrite: bool = typer.Option(False, help="Replace an existing scene folder."),
) -> None:
    """Generate the clip a camera would see moving along a path from the photo; write a scene folder."""
    import time

    import torch
    from rich.progress import Progress

    from genscene.commands.reconstruct import resolve_weights
    from genscene.commands.trajectory import resolve
    from genscene.errors import existing_file
    from genscene.io.images import read_image
    from genscene.io.meta import build_meta
    from genscene.io.scene import write_scene
    from genscene.models.generator import VideoGenerator
    from genscene.models.geometry import GeometryNet
    from genscene.models.vae import VideoVAE
    from genscene.pipelines.generate import GenerateConfig
    from genscene.pipelines.image_to_video import ImageToVideoConfig, image_to_video, preview_png, valid_frame_count

    if out.exists() and not overwrite:
        raise InputError(out, "already exists (pass --overwrite to replace it)")
    t0 = time.perf_counter()
    photo = read_image(existing_file(image))
    count = valid_frame_count(frames)
    rel_c2w, _, title = resolve(trajectory, count, None, [])
    if rel_c2w.shape[0] != count:
        raise InputError(trajectory, f"has {rel_c2w.shape[0]} frames; the generator needs 1 + 4k (e.g. {count})")
    gen_dir = resolve_weights("generator", weights)
    generator = VideoGenerator.from_pretrained(gen_dir).eval()
    vae = VideoVAE.from_pretrained(resolve_weights("vae", None)).eval()
    geometry = GeometryNet.from_pretrained(resolve_weights("geometry", None)).eval()
    cfg = ImageToVideoConfig(generate=GenerateConfig(steps=steps, guidance=guidance, camera_guidance=camera_guidance,
                                                     seed=seed))
    with Progress(transient=True) as bar, torch.no_grad():
        task = bar.add_task(f"generating {count} frames", total=steps)
        scene, previews = image_to_video(photo, rel_c2w, generator, vae, geometry, cfg,
                                         progress=lambda i, n: bar.update(task, completed=i))
    scene.meta = build_meta(seeds={"noise": seed},
                            inputs={"image": str(image), "trajectory": title, "frames_asked": frames,
                                    "frames": count, "weights": str(gen_dir)},
                            timings={**scene.meta.pop("timings_s"), "total": round(time.perf_counter() - t0, 3)},
                            **scene.meta)
    write_scene(out, scene, overwrite=overwrite, extras={"preview.png": lambda p: preview_png(scene, previews, p)})
    note = "" if count == frames else f" (asked {frames}: the VAE takes 1 + 4k frames)"
    typer.echo(f"wrote {out}: {count} frames{note}, {title}, {scene.points[0].shape[0]} points")
