"""``genscene worlds``: sample a procedural world clip as a scene folder, preview worlds, export meshes."""

from __future__ import annotations

from pathlib import Path

import typer

from genscene.atomic import check_output
from genscene.commands import MAX_FOV, MAX_SEED, MIN_FOV, finite_float, one_line_errors, resolve_device
from genscene.commands.progress import phases
from genscene.errors import InputError
from genscene.limits import check_memory

app = typer.Typer(help="Procedural worlds: sample clips with ground truth, contact sheets, mesh export.",
                  no_args_is_help=True)

MIN_RES, MAX_RES = 8, 4096
"""Frame side in pixels (memory decides below the cap)."""
MAX_FRAMES = 1000
"""Frames of one clip."""
MAX_SUPERSAMPLE = 8
"""Samples per pixel side of the anti-aliased RGB."""
MIN_FPS, MAX_FPS = 1e-3, 1000.0
"""Frame rate."""
MAX_TIME = 1e6
"""Seconds, either way, at which a dynamic world is posed."""
MAX_SHEET_WORLDS = 256
"""Worlds on one contact sheet."""
SHEET_PANELS = 4
"""Panels per world on a contact sheet (RGB, depth, edges, flow)."""
PIXEL_BYTES = 256
"""Bytes per pixel of every frame a clip holds: its ground-truth signals and the renderer's buffers."""
FINE_PIXEL_BYTES = 128
"""Bytes per supersampled RGB sample (rays, hits, shading) of every frame (measured: about 75)."""


def clip_bytes(frames: int, height: int, width: int, supersample: int) -> int:
    """Estimated bytes to render a clip of ``frames`` frames of ``height x width`` with every signal."""
    return frames * height * width * (PIXEL_BYTES + FINE_PIXEL_BYTES * supersample ** 2)


def _check_family(family: str) -> None:
    from genscene.worlds import FAMILIES

    if family not in FAMILIES:
        raise InputError("--family", f"expected one of {', '.join(FAMILIES)}, got {family!r}")


def _parse_seeds(text: str) -> list[int]:
    """``--seeds``: comma-separated world seeds in [0, MAX_SEED]."""
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise InputError("--seeds", f"expected comma-separated integers, got {text!r}") from None
    if not seeds or not all(0 <= s <= MAX_SEED for s in seeds):
        raise InputError("--seeds", f"expected one or more integers in [0, {MAX_SEED}], got {text!r}")
    return seeds


@app.command("sample")
@one_line_errors
def sample(
    family: str = typer.Option("room", "--family", help="room, street, courtyard or tabletop."),
    seed: int = typer.Option(0, "--seed", min=0, max=MAX_SEED,
                             help="World seed (see genscene.worlds.seeds for the splits)."),
    frames: int = typer.Option(17, "--frames", min=1, max=MAX_FRAMES, help="Number of frames."),
    res: int = typer.Option(256, "--res", min=MIN_RES, max=MAX_RES,
                            help="Frame height in pixels (width = res, square frames)."),
    trajectory: str = typer.Option("orbit", "--trajectory", help="Trajectory preset (`genscene trajectory list`) or 'random'."),
    output: Path = typer.Option(..., "-o", "--output", help="Scene folder to write."),
    dynamic: bool = typer.Option(False, "--dynamic", help="Add moving objects (4D)."),
    fov: float = typer.Option(60.0, "--fov", min=MIN_FOV, max=MAX_FOV, help="Vertical field of view in degrees."),
    fps: float = typer.Option(8.0, "--fps", min=MIN_FPS, max=MAX_FPS, help="Frame rate (times of moving objects)."),
    path_seed: int = typer.Option(0, "--path-seed", min=0, max=MAX_SEED,
                                  help="Seed of the start camera / random path."),
    supersample: int = typer.Option(2, "--supersample", min=1, max=MAX_SUPERSAMPLE,
                                    help="RGB anti-aliasing: s x s samples per pixel (1 = off)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace an existing scene folder (never another folder)."),
) -> None:
    """Render one clip of a world with every ground-truth signal into a scene folder (+ gt/gt.npz)."""
    _check_family(family)
    finite_float("--fov", fov, MIN_FOV, MAX_FOV)
    finite_float("--fps", fps, MIN_FPS, MAX_FPS)
    dev = resolve_device(device)
    check_memory("--res/--frames/--supersample", clip_bytes(frames, res, res, supersample),
                 f"for {frames} frames of {res}x{res} at supersample {supersample}")
    check_output(output, overwrite, kind="scene")
    from genscene.cameras.trajectories import list_trajectories
    from genscene.worlds.camera_paths import RANDOM_PRESET, PathError
    from genscene.worlds.dataset import ClipSpec, render_clip, write_clip

    if trajectory != RANDOM_PRESET and trajectory not in list_trajectories():
        raise InputError("--trajectory", f"unknown preset {trajectory!r} (see `genscene trajectory list`, or 'random')")
    spec = ClipSpec(family, seed, trajectory, path_seed, dynamic)
    with phases(f"rendering {frames} frames of {res}x{res} ({family} seed {seed}) with every signal") as phase:
        try:
            clip = render_clip(spec, frames, res, fov, fps, dev, supersample=supersample)
        except PathError as err:
            raise InputError("--trajectory", f"{err}; try another --path-seed or a shorter trajectory") from err
        phase(f"writing {output}")
        write_clip(output, clip, overwrite=overwrite, fps=fps)
    typer.echo(f"wrote {output} ({frames} frames, {res}x{res}, {family} seed {seed}, {trajectory})")


@app.command("preview")
@one_line_errors
def preview(
    output: Path = typer.Option(Path("worlds_contact_sheet.png"), "-o", "--output", help="PNG to write."),
    families: str = typer.Option("room,street,courtyard,tabletop", "--families", help="Comma-separated families."),
    seeds: str = typer.Option("0,1", "--seeds", help="Comma-separated world seeds per family."),
    res: int = typer.Option(160, "--res", min=MIN_RES, max=MAX_RES,
                            help="Panel width in pixels (height = 3/4 of it)."),
    columns: int = typer.Option(2, "--columns", min=1, max=MAX_SHEET_WORLDS, help="Worlds per row of the sheet."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing PNG file (never a folder)."),
) -> None:
    """Write a contact sheet PNG: RGB, depth, edges and flow of several worlds."""
    if output.suffix.lower() != ".png":
        raise InputError(output, "the contact sheet is a PNG; give a path ending in .png", field="--output")
    fams = [f.strip() for f in families.split(",") if f.strip()]
    for f in fams:
        _check_family(f)
    seed_list = _parse_seeds(seeds)
    worlds = len(fams) * len(seed_list)
    if not 1 <= worlds <= MAX_SHEET_WORLDS:
        raise InputError("--families/--seeds", f"expected 1 to {MAX_SHEET_WORLDS} worlds, got {worlds}")
    dev = resolve_device(device)
    height = res * 3 // 4
    sheet_bytes = worlds * SHEET_PANELS * height * res * 4
    check_memory("--res/--families/--seeds", clip_bytes(2, height, res, 2) + sheet_bytes,
                 f"for a sheet of {worlds} worlds at {res}x{height}")
    check_output(output, overwrite, suffixes=(".png",))
    from PIL import Image

    from genscene.atomic import atomic_path
    from genscene.worlds.preview import render_contact_sheet

    with phases(f"rendering {worlds} worlds at {res}x{height}"):
        sheet = render_contact_sheet(fams, seed_list, res, columns=columns, device=dev)
        with atomic_path(output, replace=overwrite) as tmp:
            Image.fromarray(sheet).save(tmp, format="PNG")
    typer.echo(f"wrote {output} ({len(fams) * len(seed_list)} worlds)")


@app.command("export")
@one_line_errors
def export(
    family: str = typer.Option("room", "--family", help="room, street, courtyard or tabletop."),
    seed: int = typer.Option(0, "--seed", min=0, max=MAX_SEED, help="World seed."),
    output: Path = typer.Option(..., "-o", "--output", help=".glb or .obj file."),
    colors: str = typer.Option("texture", "--colors", help="texture (UV-mapped images) or vertex (vertex colours)."),
    dynamic: bool = typer.Option(False, "--dynamic", help="Build the dynamic variant (exported at t = --time)."),
    time: float = typer.Option(0.0, "--time", help="Time (s) at which moving objects are posed."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace existing files: the mesh and, for .obj, its .mtl and textures."),
) -> None:
    """Export a world as a triangle mesh for the mesh-to-video pipeline."""
    _check_family(family)
    finite_float("--time", time, -MAX_TIME, MAX_TIME)
    if output.suffix.lower() not in (".glb", ".obj"):
        raise InputError(output, "expected a .glb or .obj file name")
    if colors not in ("texture", "vertex"):
        raise InputError("--colors", f"expected texture or vertex, got {colors!r}")
    check_output(output, overwrite, suffixes=(".glb", ".obj"))
    from genscene.worlds import make_world
    from genscene.worlds.export import export_world

    with phases(f"building and exporting the {family} world (seed {seed})"):
        export_world(make_world(family, seed, dynamic=dynamic), output, colors=colors, time=time, overwrite=overwrite)
    typer.echo(f"wrote {output}")

