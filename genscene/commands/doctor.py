"""``genscene doctor``: what is installed, which backends are usable, where weights are."""

from __future__ import annotations

import importlib
import platform

from genscene.commands import one_line_errors

OPTIONAL = {
    "pycolmap": "COLMAP cameras for reconstruct --poses auto|colmap, binary model I/O",
    "gsplat": "CUDA Gaussian rasterizer",
    "diffusers": "video VAE / DiT models",
    "transformers": "Mamba-2 mixer, geometry adapter",
    "accelerate": "training loop",
    "peft": "style LoRA",
    "mamba_ssm": "Mamba-2 CUDA kernels",
    "viser": "interactive viewer",
}

INSTALL = {
    "pycolmap": "pip install 'genscene[colmap]'",
    "gsplat": "pip install 'genscene[cuda]'",
    "viser": "pip install 'genscene[viewer]'",
}
"""Install line shown for a missing optional package that an extra provides."""


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

    report: dict[str, object] = {
        "genscene": genscene.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
        "cpu_threads": torch.get_num_threads(),
        "optional": {name: _version(name) for name in OPTIONAL},
        "gsplat_cuda": _gsplat_cuda() if _version("gsplat") else "gsplat not installed",
        "weight_dirs": [str(d) for d in weight_dirs()],
        "weights_found": {k: str(v) for k, v in found_checkpoints().items()},
    }
    return report


@one_line_errors
def doctor() -> None:
    """Print versions, CPU/CUDA, optional backends and the weights that were found."""
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
    for name, ver in rep["optional"].items():
        missing = "[yellow]not installed[/]" + (f" ({escape(INSTALL[name])})" if name in INSTALL else "")
        table.add_row(f"{name} ({OPTIONAL[name]})", ver or missing)
    table.add_row("gsplat CUDA extension", str(rep["gsplat_cuda"]))
    table.add_row("weights searched", "\n".join(rep["weight_dirs"]))
    found = rep["weights_found"]
    table.add_row("weights found", "\n".join(f"{k}: {v}" for k, v in found.items()) or "none")
    console.print(table)
