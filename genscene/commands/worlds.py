"""``genscene worlds``: sample a procedural world clip as a scene folder, preview worlds, export meshes."""

from __future__ import annotations

from pathlib import Path

import typer

from genscene.atomic import check_output
from genscene.commands import one_line_errors
from genscene.errors import InputError

app = typer.Typer(help="Procedural worlds: sample clips with ground truth, contact sheets, mesh export.",
                  no_args_is_help=True)


def _check_family(family: str) -> None:
    from genscene.worlds import FAMILIES

    if family not in FAMILIES:
        raise InputError("--family", f"expected one of {', '.join(FAMILIES)}, got {family!r}")


def _check_positive(name: str, value: int) -> None:
    if value <= 0:
        raise InputError(name, f"must be positive, got {value}")


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("--device", "CUDA is not available on this machine")
    return name


@app.command("sample")
@one_line_errors
def sample(
    family: str = typer.Option("room", "--family", help="room, street, courtyard or tabletop."),
    seed: int = typer.Option(0, "--seed", help="World seed (see genscene.worlds.seeds for the splits)."),
    frames: int = typer.Option(17, "--frames", help="Number of frames."),
    res: int = typer.Option(256, "--res", help="Frame height in pixels (width = res, square frames)."),
    trajectory: str = typer.Option("orbit", "--trajectory", help="Trajectory preset (`genscene trajectory list`) or 'random'."),
    output: Path = typer.Option(..., "-o", "--output", help="Scene folder to write."),
    dynamic: bool = typer.Option(False, "--dynamic", help="Add moving objects (4D)."),
    fov: float = typer.Option(60.0, "--fov", help="Vertical field of view in degrees."),
    fps: float = typer.Option(8.0, "--fps", help="Frame rate (times of moving objects)."),
    path_seed: int = typer.Option(0, "--path-seed", help="Seed of the start camera / random path."),
    supersample: int = typer.Option(2, "--supersample", help="RGB anti-aliasing: s x s samples per pixel (1 = off)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace an existing scene folder (never another folder)."),
) -> None:
    """Render one clip of a world with every ground-truth signal into a scene folder (+ gt/gt.npz)."""
    _check_family(family)
    _check_positive("--frames", frames)
    _check_positive("--res", res)
    _check_positive("--supersample", supersample)
    if seed < 0:
        raise InputError("--seed", f"must be >= 0, got {seed}")
    check_output(output, overwrite, kind="scene")
    from genscene.cameras.trajectories import list_trajectories
    from genscene.worlds.camera_paths import RANDOM_PRESET, PathError
    from genscene.worlds.dataset import ClipSpec, render_clip, write_clip

    if trajectory != RANDOM_PRESET and trajectory not in list_trajectories():
        raise InputError("--trajectory", f"unknown preset {trajectory!r} (see `genscene trajectory list`, or 'random')")
    spec = ClipSpec(family, seed, trajectory, path_seed, dynamic)
    try:
        clip = render_clip(spec, frames, res, fov, fps, _device(device), supersample=supersample)
    except PathError as err:
        raise InputError("--trajectory", f"{err}; try another --path-seed or a shorter trajectory") from err
    write_clip(output, clip, overwrite=overwrite, fps=fps)
    typer.echo(f"wrote {output} ({frames} frames, {res}x{res}, {family} seed {seed}, {trajectory})")


@app.command("preview")
@one_line_errors
def preview(
    output: Path = typer.Option(Path("worlds_contact_sheet.png"), "-o", "--output", help="PNG to write."),
    families: str = typer.Option("room,street,courtyard,tabletop", "--families", help="Comma-separated families."),
    seeds: str = typer.Option("0,1", "--seeds", help="Comma-separated world seeds per family."),
    res: int = typer.Option(160, "--res", help="Panel width in pixels (height = 3/4 of it)."),
    columns: int = typer.Option(2, "--columns", help="Worlds per row of the sheet."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing PNG file (never a folder)."),
) -> None:
    """Write a contact sheet PNG: RGB, depth, edges and flow of several worlds."""
    fams = [f.strip() for f in families.split(",") if f.strip()]
    for f in fams:
        _check_family(f)
    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError as err:
        raise InputError("--seeds", f"expected comma-separated integers, got {seeds!r}") from err
    _check_positive("--res", res)
    _check_positive("--columns", columns)
    check_output(output, overwrite, suffixes=(".png",))
    from PIL import Image

    from genscene.atomic import atomic_path
    from genscene.worlds.preview import render_contact_sheet

    sheet = render_contact_sheet(fams, seed_list, res, columns=columns, device=_device(device))
    with atomic_path(output, replace=overwrite) as tmp:
        Image.fromarray(sheet).save(tmp, format="PNG")
    typer.echo(f"wrote {output} ({len(fams) * len(seed_list)} worlds)")


@app.command("export")
@one_line_errors
def export(
    family: str = typer.Option("room", "--family", help="room, street, courtyard or tabletop."),
    seed: int = typer.Option(0, "--seed", help="World seed."),
    output: Path = typer.Option(..., "-o", "--output", help=".glb or .obj file."),
    colors: str = typer.Option("texture", "--colors", help="texture (UV-mapped images) or vertex (vertex colours)."),
    dynamic: bool = typer.Option(False, "--dynamic", help="Build the dynamic variant (exported at t = --time)."),
    time: float = typer.Option(0.0, "--time", help="Time (s) at which moving objects are posed."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace existing files: the mesh and, for .obj, its .mtl and textures."),
) -> None:
    """Export a world as a triangle mesh for the mesh-to-video pipeline."""
    _check_family(family)
    if output.suffix.lower() not in (".glb", ".obj"):
        raise InputError(output, "expected a .glb or .obj file name")
    if colors not in ("texture", "vertex"):
        raise InputError("--colors", f"expected texture or vertex, got {colors!r}")
    check_output(output, overwrite, suffixes=(".glb", ".obj"))
    from genscene.worlds import make_world
    from genscene.worlds.export import export_world

    world = make_world(family, seed, dynamic=dynamic)
    export_world(world, output, colors=colors, time=time, overwrite=overwrite)
    typer.echo(f"wrote {output}")

