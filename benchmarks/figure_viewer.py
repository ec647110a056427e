"""The viewer figure of docs/: ``genscene view`` of a scene folder, as headless Chromium draws it.

    python benchmarks/figure_viewer.py out/room_scene docs/viewer.png

Needs viser (``pip install "genscene[view]"``) and Debian's chromium (or ``$GENSCENE_CHROMIUM``). The PNG is
quantised to 256 colours to stay small.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from genscene.atomic import atomic_path
from genscene.viewer import ViewConfig, start_viewer
from genscene.viewer.screenshot import screenshot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scene", type=Path, help="Scene folder (or .ply) to view.")
    parser.add_argument("output", type=Path, help="PNG to write.")
    parser.add_argument("--width", type=int, default=800)
    parser.add_argument("--height", type=int, default=600)
    args = parser.parse_args()
    server, _, data = start_viewer(args.scene, ViewConfig(port=0))
    try:
        image = screenshot(f"http://127.0.0.1:{server.get_port()}/", args.width, args.height,
                           ready_text=f"{data.name}: ")
    finally:
        server.stop()
    with atomic_path(args.output, replace=True) as tmp:
        Image.fromarray(image).quantize(256, dither=Image.Dither.NONE).save(tmp, format="PNG", optimize=True)
    print(f"wrote {args.output} ({args.output.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
