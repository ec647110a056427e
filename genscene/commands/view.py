"""``genscene view SCENE``: the scene in a browser (viser, bound to 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from genscene.commands import finite_float, one_line_errors

MAX_TIMEOUT_S = 7 * 24 * 3600.0
"""Longest --timeout (a week)."""


@one_line_errors
def view(
    scene: Path = typer.Argument(..., metavar="SCENE_OR_PLY", help="A scene folder or a Gaussian / point .ply."),
    port: int = typer.Option(8080, min=0, max=65535, help="Port on 127.0.0.1 (the next free one when taken; 0: any)."),
    timeout: Optional[float] = typer.Option(None, min=0.0, metavar="SECONDS",
                                            help="Stop after this many seconds (default: run until Ctrl-C)."),
    max_points: int = typer.Option(300_000, min=1, max=50_000_000, help="Points sent to the browser at most."),
    image_size: int = typer.Option(160, min=8, max=4096, help="Long side of the frames shown in the frusta."),
) -> None:
    """Open an interactive viewer: points or Gaussians, camera frusta with their frames, depth.

    Needs the ``view`` extra: pip install "genscene[view]".
    """
    from genscene.viewer import HOST, ViewConfig, serve, start_viewer

    finite_float("--timeout", timeout, 0.0, MAX_TIMEOUT_S)
    cfg = ViewConfig(port=port, max_points=max_points, image_size=image_size)
    server, _, data = start_viewer(scene, cfg)
    typer.echo(f"viewing {data.name} at http://{HOST}:{server.get_port()} "
               f"({'until Ctrl-C' if timeout is None else f'for {timeout:g} s'})")
    serve(server, timeout)
