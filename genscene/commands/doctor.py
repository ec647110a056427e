"""``genscene doctor``: what is installed, which optional backends are usable, where weights are."""

from __future__ import annotations

import importlib
import platform
from dataclasses import dataclass

from genscene.commands import one_line_errors


@dataclass(frozen=True)
class Backend:
    """One optional dependency behind a feature genscene has today."""

    module: str
    """Import name, e.g. ``pycolmap``."""
    feature: str
    """What it enables, as a user would look for it."""
    extra: str
    """The pip extra that installs it: ``pip install "genscene[EXTRA]"`` (pyproject's optional-dependencies)."""
    used_in: str
    """The genscene module that imports it lazily (a test checks it does)."""


BACKENDS = (
    Backend("pycolmap", "COLMAP cameras for reconstruct --poses auto|colmap, COLMAP binary models", "colmap", "genscene/pipelines/colmap_poses.py"),
    Backend("gsplat", "CUDA Gaussian rasterizer (else PyTorch)", "gsplat", "genscene/render/gaussians_gsplat.py"),
    Backend("viser", "interactive viewer (genscene view)", "view", "genscene/viewer/__init__.py"),
    Backend("transformers", "Mamba-2 blocks of the latent Gaussian decoder (train decoder)", "decoder",
            "genscene/models/gaussian_decoder.py"),
)
"""Only backends of features that exist; required dependencies (torch, diffusers, accelerate, ...) are not here."""
CORE = ("numpy", "diffusers", "accelerate", "safetensors", "av")
"""Required dependencies whose versions doctor shows."""


def _version(name: str) -> str | None:
    try:
        mod = importlib.import_module(name)
    except Exception:  # any import failure means the backend is unusable
        return None
    return getattr(mod, "__version__", "present")


def _gsplat_cuda() -> str:
    try:
        import torch

        if not torch.cuda.is_available():
            return "no CUDA device"
        from gsplat.cuda._backend import _C  # noqa: F401  (builds or loads the extension)

        return "extension loaded"
    except Exception as err:  # report, never swap silently
        return f"unavailable ({type(err).__name__})"


def collect() -> dict[str, object]:
    """Everything doctor reports, as plain data (tested without a terminal)."""
    import torch

    import genscene
    from genscene.weights import found_checkpoints, weight_dirs

    return {
        "genscene": genscene.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
        "cpu_threads": torch.get_num_threads(),
        "core": {name: _version(name) for name in CORE},
        "optional": {b.module: _version(b.module) for b in BACKENDS},
        "gsplat_cuda": _gsplat_cuda() if _version("gsplat") else "gsplat not installed",
        "weight_dirs": [str(d) for d in weight_dirs()],
        "weights_found": {k: str(v) for k, v in found_checkpoints().items()},
    }


def install_hint(backend: Backend) -> str:
    """The command that installs ``backend``: ``pip install "genscene[EXTRA]"``."""
    return f'pip install "genscene[{backend.extra}]"'


@one_line_errors
def doctor() -> None:
    """Print versions, CPU/CUDA, optional backends (with the pip extra that installs each) and the weights found."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    rep = collect()
    console = Console()
    table = Table(title="genscene doctor", show_header=True)
    table.add_column("item")
    table.add_column("value")
    for key in ("genscene", "python", "platform", "torch", "cuda", "cpu_threads"):
        table.add_row(key, str(rep[key]))
    table.add_row("gpus", ", ".join(rep["gpus"]) or "none")
    for name, ver in rep["core"].items():
        table.add_row(name, ver or "[red]missing (required)[/]")
    for backend in BACKENDS:
        ver = rep["optional"][backend.module]
        shown = ver if ver else f"[yellow]not installed[/]: {escape(install_hint(backend))}"
        table.add_row(f"{backend.module}: {backend.feature}", shown)
    table.add_row("gsplat CUDA extension", str(rep["gsplat_cuda"]))
    table.add_row("weights searched", "\n".join(rep["weight_dirs"]))
    found = rep["weights_found"]
    table.add_row("weights found", "\n".join(f"{k}: {v}" for k, v in found.items()) or "none")
    console.print(table)
