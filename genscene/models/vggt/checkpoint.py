"""Loading the released VGGT-1B checkpoint: ``model.safetensors`` or the ``model.pt`` state dict.

Nothing is unpickled beyond tensors: safetensors headers are read as JSON, and ``.pt`` files go
through ``torch.load(weights_only=True, mmap=True)``, which refuses any pickled code and maps the
tensors without reading them. Before any tensor is read, every stored name and shape must be
those of :class:`VGGT` at its published configuration (the tracking head's tensors, not implemented
here, are skipped) and the weights must fit in memory; after loading, every tensor must be finite.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from genscene.errors import InputError
from genscene.limits import check_memory
from genscene.models.vggt.model import VGGT, VGGTConfig
from genscene.weights import first_non_finite, first_shape_mismatch, safetensors_shapes

WEIGHT_NAMES = ("model.safetensors", "model.pt")
"""Files looked for in a checkpoint folder, first found wins."""
SUFFIXES = (".safetensors", ".pt", ".pth")
"""Weight files accepted directly."""
IGNORED_PREFIXES = ("track_head.",)
"""Tensors of the release that genscene does not use: the point-tracking head."""
SIGNATURE = ("aggregator.camera_token", "aggregator.patch_embed.pos_embed", "camera_head.empty_pose_tokens",
             "depth_head.norm.weight")
"""Names that mark a state dict as VGGT's."""
LOAD_FACTOR = 1.3
"""Bytes held while loading per float32 byte of the model: the model itself, one tensor being cast."""


def weights_file(path: str | Path) -> Path | None:
    """The weight file of ``path`` (itself, or ``model.safetensors`` / ``model.pt`` in a folder); None if none."""
    path = Path(path)
    if path.is_file():
        return path if path.suffix.lower() in SUFFIXES else None
    for name in WEIGHT_NAMES if path.is_dir() else ():
        if (path / name).is_file():
            return path / name
    return None


def _torch_state(file: Path) -> dict[str, torch.Tensor]:
    """A ``.pt`` state dict, tensors memory-mapped; only tensors and plain containers are unpickled."""
    try:
        state = torch.load(file, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # weights_only refusals and corrupt archives come as many exception types
        first = (str(err).strip().splitlines() or [""])[0][:200]
        raise InputError(file, f"not a PyTorch state dict readable without running pickled code "
                               f"({type(err).__name__}: {first})") from err
    if isinstance(state, dict) and len(state) == 1 and next(iter(state)) in ("model", "state_dict"):
        state = next(iter(state.values()))
    if not isinstance(state, dict) or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        raise InputError(file, "not a state dict (a mapping of names to tensors)")
    return state


def stored_shapes(file: Path) -> dict[str, tuple[int, ...]]:
    """Names and shapes of the tensors in ``file``, without reading their data."""
    if file.suffix.lower() == ".safetensors":
        return safetensors_shapes(file)
    return {k: tuple(v.shape) for k, v in _torch_state(file).items()}


def is_vggt_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` (a file or a folder) holds VGGT weights in the release's layout."""
    file = weights_file(path)
    if file is None:
        return False
    try:
        names = stored_shapes(file)
    except InputError:
        return False
    return all(name in names for name in SIGNATURE)


def expected_shapes(config: VGGTConfig) -> dict[str, tuple[int, ...]]:
    """State-dict shapes of :class:`VGGT` at ``config``, built on the meta device (allocates nothing)."""
    with torch.device("meta"):
        model = VGGT(config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def load_vggt(path: str | Path, device: str | torch.device = "cpu", config: VGGTConfig | None = None) -> VGGT:
    """The VGGT of ``path`` in float32 on ``device``, in eval mode, after the module docstring's checks.

    ``config`` defaults to the published VGGT-1B one; the release stores no config.
    """
    config = config or VGGTConfig()
    file = weights_file(path)
    if file is None:
        raise InputError(path, f"no VGGT weights (a {' or '.join(SUFFIXES)} file, or a folder with "
                               f"{' or '.join(WEIGHT_NAMES)})")
    stored = stored_shapes(file)
    kept = {k: v for k, v in stored.items() if not k.startswith(IGNORED_PREFIXES)}
    expected = expected_shapes(config)
    problem = first_shape_mismatch(kept, expected, exact=True)
    if problem is not None:
        raise InputError(file, f"not VGGT-1B weights: {problem}")
    check_memory(file, LOAD_FACTOR * 4 * sum(math.prod(s) for s in expected.values()), "to load the VGGT weights")
    state = _read_tensors(file, kept)
    with torch.device("meta"):
        model = VGGT(config)
    model.load_state_dict(state, strict=True, assign=True)
    bad = first_non_finite(state)
    if bad is not None:
        raise InputError(file, f"tensor {bad!r} holds NaN or infinite values; the weights are corrupt")
    return model.to(device).eval()


def _read_tensors(file: Path, names: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    """The tensors ``names`` of ``file`` as float32 CPU tensors owning their memory."""
    if file.suffix.lower() == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(file), framework="pt", device="cpu") as f:
            return {k: f.get_tensor(k).to(torch.float32) for k in names}
    state = _torch_state(file)
    return {k: state[k].to(torch.float32, copy=True) for k in names}
