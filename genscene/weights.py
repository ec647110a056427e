"""Where genscene looks for model weights: the embedded bundle, then a user folder."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "GENSCENE_WEIGHTS"


def weight_dirs() -> list[Path]:
    """Folders searched for checkpoints, most specific first.

    ``$GENSCENE_WEIGHTS`` (a user's full-size checkpoints), then the ``weights/`` bundle that
    ships beside the package in a source checkout.
    """
    dirs = []
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]).expanduser())
    dirs.append(Path(__file__).resolve().parent.parent / "weights")
    return dirs


def found_checkpoints() -> dict[str, Path]:
    """Checkpoint folders (each holding a ``config.json``) found in :func:`weight_dirs`."""
    found: dict[str, Path] = {}
    for root in weight_dirs():
        if not root.is_dir():
            continue
        for cfg in sorted(root.glob("*/config.json")):
            found.setdefault(cfg.parent.name, cfg.parent)
    return found
