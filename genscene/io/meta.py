"""What a run records in ``meta.json``: inputs, seeds, versions, timings and peak memory."""

from __future__ import annotations

import math
import platform
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch


def collect_versions() -> dict[str, str]:
    """Versions of genscene, python, torch (and its CUDA), numpy and the platform."""
    import genscene

    versions = {
        "genscene": genscene.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
    }
    if torch.version.cuda:
        versions["cuda"] = torch.version.cuda
    return versions


def peak_memory() -> dict[str, float]:
    """Peak memory of this process so far, in MiB: CPU resident set and, if CUDA was used, GPU allocations."""
    out: dict[str, float] = {}
    try:
        import resource

        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # Linux reports KiB, macOS bytes.
        out["cpu_max_rss_mib"] = round(rss / (1024 ** 2 if sys.platform == "darwin" else 1024), 1)
    except ImportError:  # Windows has no resource module
        pass
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["cuda_max_allocated_mib"] = round(torch.cuda.max_memory_allocated() / 1024 ** 2, 1)
    return out


class StageTimer:
    """Wall-clock seconds per named stage: ``with timer("decode"): ...``; ``timer.seconds`` is the record."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        """Stage name -> accumulated seconds."""

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start


def build_meta(inputs: dict[str, Any] | None = None, seeds: dict[str, int] | None = None,
               timings: dict[str, float] | None = None, **extra: Any) -> dict[str, Any]:
    """A ``meta`` dict for a :class:`~genscene.io.scene.Scene`: the given fields plus versions and peak memory."""
    meta: dict[str, Any] = {
        "inputs": inputs or {},
        "seeds": seeds or {},
        "timings_s": timings or {},
        "versions": collect_versions(),
        "peak_memory": peak_memory(),
    }
    meta.update(extra)
    return to_jsonable(meta)


def to_jsonable(obj: Any, where: str = "meta", nonfinite: str = "raise") -> Any:
    """``obj`` with paths, numpy and torch scalars/arrays and tuples turned into JSON types.

    ``nonfinite``: what a NaN/inf float becomes: ``"raise"`` (a scene record must not hold one) or
    ``"string"`` (``"nan"``, ``"inf"``, ``"-inf"``: training logs, where a non-finite value is the news).

    Raises:
        ValueError: naming the key path of a value JSON cannot hold (NaN/inf floats unless
        ``nonfinite="string"``, other objects).
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v, f"{where}.{k}", nonfinite) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v, f"{where}[{i}]", nonfinite) for i, v in enumerate(obj)]
    if isinstance(obj, torch.Tensor):
        return to_jsonable(obj.detach().cpu().tolist(), where, nonfinite)
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist(), where, nonfinite)
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item(), where, nonfinite)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        if nonfinite == "string":
            return str(obj)
        raise ValueError(f"{where}: {obj} cannot be stored in JSON")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise ValueError(f"{where}: a {type(obj).__name__} cannot be stored in JSON")
