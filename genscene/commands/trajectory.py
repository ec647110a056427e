"""``genscene trajectory``: list presets, preview a path as a PNG, export it as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from genscene.atomic import check_output
from genscene.commands import finite_float, one_line_errors
from genscene.errors import InputError

app = typer.Typer(help="Camera trajectories: presets, previews, JSON export.", no_args_is_help=True)

DEFAULT_FRAMES = 49
MAX_FRAMES = 10000
"""Frames of one trajectory."""
MAX_DISTANCE = 1e6
"""Preset magnitudes, in median depths."""


def _parse_params(items: list[str]) -> dict[str, str]:
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError("--param", f"expected KEY=VALUE, got {item!r}")
        params[key.strip()] = value.strip()
    return params


def _is_file(target: str) -> bool:
    return target.lower().endswith(".json") or Path(target).is_file()


def resolve(target: str, frames: int | None, distance: float | None, params: list[str]):
    """``(c2w [T, 4, 4], look_at [3] or None, title)`` for a preset name or a trajectory JSON file."""
    import torch

    from genscene.cameras.trajectories import (
        get_spec,
        load_trajectory_json,
        make_params,
        make_trajectory,
    )

    if _is_file(target):
        if distance is not None or params:
            raise InputError(target, "--distance and --param apply to presets, not to trajectory files")
        from genscene.io.camera_files import camera_file_format, path_from_file

        if frames is None and camera_file_format(target) == "trajectory" \
                and load_trajectory_json(target).kind == "key_poses":
            frames = DEFAULT_FRAMES  # key poses are interpolated to a video's worth of frames
        c2w, kind = path_from_file(target, frames)
        return c2w, None, f"{Path(target).name} ({kind}): {c2w.shape[0]} frames"
    kwargs = _parse_params(params)
    if "distance" in kwargs:  # -p distance=X is --distance X (typed by the preset)
        if distance is not None:
            raise InputError("--param", "distance given twice (--distance and --param distance=...)")
        distance = kwargs.pop("distance")
    n = frames or DEFAULT_FRAMES
    c2w = make_trajectory(target, n, distance, **kwargs)
    chosen = make_params(get_spec(target), distance, **kwargs)
    depth = getattr(chosen, "look_at_depth", 1.0)
    look_at = torch.tensor([0.0, 0.0, depth], dtype=torch.float64)
    shown = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in vars(chosen).items())
    return c2w, look_at, f"{target}: {n} frames ({shown})"


LIST_WIDTH = (60, 100)
"""Narrowest and widest text of ``trajectory list``, whatever the terminal says."""


def format_presets(width: int) -> list[str]:
    """``trajectory list`` as plain lines no wider than ``width`` (clamped to :data:`LIST_WIDTH`): per preset
    a ``name  (source)`` line, then its motion and its parameters with defaults, wrapped and indented.
    Nothing is cut: a long value wraps onto the next line."""
    import textwrap

    from genscene.cameras.trajectories import list_trajectories

    width = max(LIST_WIDTH[0], min(LIST_WIDTH[1], width))
    indent = " " * 4
    lines = textwrap.wrap("Trajectory presets; distances are in median scene depths; frame 0 is the identity.",
                          width)
    for name, spec in list_trajectories().items():
        defaults = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                             for k, v in vars(spec.defaults()).items())
        lines += ["", *textwrap.wrap(f"{name}  ({spec.source})", width, subsequent_indent=indent)]
        for text in (spec.summary, f"parameters: {defaults or 'none'}"):
            lines += textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent + "  ",
                                   break_on_hyphens=False)
    return lines


@app.command("list")
@one_line_errors
def list_command() -> None:
    """List the trajectory presets with their parameters and defaults (fits the terminal, 80 columns too)."""
    import shutil

    typer.echo("\n".join(format_presets(shutil.get_terminal_size((80, 24)).columns)))


@app.command("preview")
@one_line_errors
def preview_command(
    target: str = typer.Argument(..., help="Preset name (see `genscene trajectory list`) or a trajectory JSON file."),
    output: Path = typer.Option(..., "--output", "-o", help="PNG to write."),
    frames: Optional[int] = typer.Option(None, "--frames", "-n", min=1, max=MAX_FRAMES,
                                         help=f"Number of frames (presets: {DEFAULT_FRAMES})."),
    distance: Optional[float] = typer.Option(None, "--distance", "-d", help="Preset distance, in median depths."),
    param: list[str] = typer.Option([], "--param", "-p", help="Other preset parameter, KEY=VALUE (repeatable)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing PNG file (never a folder)."),
) -> None:
    """Draw a camera path as frusta seen from above (x-z) and from the side (z-y)."""
    from genscene.cameras.trajectories.preview import draw_preview

    finite_float("--distance", distance, -MAX_DISTANCE, MAX_DISTANCE)
    if output.suffix.lower() != ".png":
        raise InputError(output, "the preview is a PNG; give a path ending in .png", field="--output")
    check_output(output, overwrite, suffixes=(".png",))
    c2w, look_at, title = resolve(target, frames, distance, param)
    draw_preview(c2w, output, title, look_at=look_at, overwrite=overwrite)
    typer.echo(f"wrote {output}")


@app.command("export")
@one_line_errors
def export_command(
    target: str = typer.Argument(..., help="Preset name or trajectory JSON file."),
    output: Path = typer.Option(..., "--output", "-o", help="JSON to write ({'convention': 'opencv_c2w', ...})."),
    frames: Optional[int] = typer.Option(None, "--frames", "-n", min=1, max=MAX_FRAMES,
                                         help=f"Number of frames (presets: {DEFAULT_FRAMES})."),
    distance: Optional[float] = typer.Option(None, "--distance", "-d", help="Preset distance, in median depths."),
    param: list[str] = typer.Option([], "--param", "-p", help="Other preset parameter, KEY=VALUE (repeatable)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing JSON file (never a folder)."),
) -> None:
    """Write the per-frame camera-to-world poses (OpenCV, frame 0 = identity) as JSON."""
    from genscene.cameras.trajectories import save_trajectory_json

    finite_float("--distance", distance, -MAX_DISTANCE, MAX_DISTANCE)
    check_output(output, overwrite, suffixes=(".json",))
    c2w, _, _ = resolve(target, frames, distance, param)
    save_trajectory_json(output, c2w, overwrite=overwrite)
    typer.echo(f"wrote {output} ({c2w.shape[0]} poses)")
