"""A file cache for training data that takes minutes to make (rendered clip banks, generated clips).

The tensors and their string metadata go to one safetensors file named by a hash of everything they depend
on. Processes asking for the same file at once (stages trained side by side, DDP ranks of one host) take a
file lock: the first makes and writes it atomically, the others wait and load it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from torch import Tensor


def cached_tensors(cache_dir: str | Path, prefix: str, spec: str,
                   make: Callable[[], tuple[dict[str, Tensor], dict[str, str]]]
                   ) -> tuple[dict[str, Tensor], dict[str, str]]:
    """``make()`` -> (tensors, metadata) through ``cache_dir/PREFIX-KEY.safetensors``, ``KEY`` a hash of ``spec``,
    which must name everything the tensors depend on. A loaded file's tensors are on the CPU."""
    import fcntl

    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from genscene.atomic import atomic_path

    key = hashlib.sha256(spec.encode()).hexdigest()[:16]
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{prefix}-{key}.safetensors"
    with open(cache_dir / f"{prefix}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.is_file():
            with safe_open(str(path), framework="pt") as f:
                metadata = f.metadata()
            return load_file(str(path)), metadata
        tensors, metadata = make()
        with atomic_path(path) as tmp:
            save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata=metadata)
        return tensors, metadata


__all__ = ["cached_tensors"]
