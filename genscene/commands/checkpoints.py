"""Loading a checkpoint folder for a command: every problem is one line naming the file, never a traceback.

Before any tensor is read: ``config.json`` must be a JSON object with the fields the model class
knows, the safetensors header must be readable (a pickle or garbage renamed ``.safetensors`` is
refused without being unpickled), the stored shapes must be those the config builds (the model is
built on the ``meta`` device, which allocates nothing), and the weights must fit in memory. After
loading, every tensor must be finite.
"""

from __future__ import annotations

import math
from pathlib import Path

from genscene.errors import InputError
from genscene.limits import check_memory
from genscene.weights import first_non_finite, first_shape_mismatch, read_config, safetensors_shapes

GENSCENE_FIELDS = ("class", "config")
"""The fields of a genscene model's ``config.json``."""
DIFFUSERS_WEIGHTS = "diffusion_pytorch_model.safetensors"
LOAD_FACTOR = 3
"""Bytes held while loading, per float32 byte of the model: the model, the file's tensors, their casts."""


def load_model(cls: type, folder: str | Path, device: str = "cpu"):
    """``cls.from_pretrained(folder)`` on ``device`` in eval mode, after the checks of the module docstring."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "not a checkpoint folder (a folder with config.json and safetensors weights)")
    config = read_config(folder)
    shapes = _check_diffusers(folder, config) if not _is_genscene(cls) else _check_genscene(cls, folder, config)
    check_memory(folder, LOAD_FACTOR * 4 * sum(math.prod(s) for s in shapes.values()), "to load its weights")
    try:
        model = cls.from_pretrained(folder)
    except InputError:
        raise
    except (ValueError, RuntimeError, KeyError, TypeError, OSError) as err:
        first = (str(err).strip().splitlines() or [""])[0][:300]
        raise InputError(folder, f"cannot load the weights ({type(err).__name__}: {first})") from None
    bad = first_non_finite(model.state_dict())
    if bad is not None:
        raise InputError(folder, f"tensor {bad!r} holds NaN or infinite values; the weights are corrupt")
    return model.to(device).eval()


def _is_genscene(cls: type) -> bool:
    from genscene.models.base import PretrainedModel

    return issubclass(cls, PretrainedModel)


def _check_genscene(cls: type, folder: Path, config: dict) -> dict[str, tuple[int, ...]]:
    """Shapes of ``model.safetensors`` after checking them against the model ``config.json`` builds."""
    from genscene.config_io import ConfigError, from_dict
    from genscene.models.base import CONFIG_NAME, WEIGHTS_NAME

    cfg_file = folder / CONFIG_NAME
    unknown = sorted(set(config) - set(GENSCENE_FIELDS))
    if unknown:
        raise InputError(cfg_file, f"unknown field(s) {unknown} (a genscene model has {', '.join(GENSCENE_FIELDS)})")
    if config.get("class") != cls.__name__:
        raise InputError(cfg_file, f"holds a {config.get('class')!r}, not a {cls.__name__}", field="class")
    try:
        model_config = from_dict(cls.config_class, config.get("config", {}))
    except (ConfigError, ValueError, TypeError) as err:
        raise InputError(cfg_file, str(err), field="config") from None
    expected = _meta_shapes(cfg_file, lambda: cls(model_config))
    return _stored_shapes(folder / WEIGHTS_NAME, expected, exact=True)


def _check_diffusers(folder: Path, config: dict) -> dict[str, tuple[int, ...]]:
    """Shapes of a diffusers video VAE's weights after checking them against its ``config.json``."""
    from genscene.models.vae import _require_diffusers

    cfg_file = folder / "config.json"
    vae_class = _require_diffusers()
    if config.get("_class_name") != vae_class.__name__:
        raise InputError(cfg_file, f"holds a {config.get('_class_name')!r}, not a {vae_class.__name__}",
                         field="_class_name")
    expected = _meta_shapes(cfg_file, lambda: vae_class.from_config(config))
    return _stored_shapes(folder / DIFFUSERS_WEIGHTS, expected, exact=False)


def _meta_shapes(cfg_file: Path, build) -> dict[str, tuple[int, ...]]:
    """The state-dict shapes of the model ``build()`` makes, built on the meta device (no memory)."""
    import torch

    try:
        with torch.device("meta"):
            model = build()
    except Exception as err:  # any constructor failure means the config describes no such model
        raise InputError(cfg_file, f"does not describe a model ({type(err).__name__}: {err})") from err
    return {name: tuple(value.shape) for name, value in model.state_dict().items()}


def _stored_shapes(weights: Path, expected: dict[str, tuple[int, ...]], exact: bool) -> dict[str, tuple[int, ...]]:
    stored = safetensors_shapes(weights)
    problem = first_shape_mismatch(stored, expected, exact=exact)
    if problem is not None:
        raise InputError(weights, problem)
    return stored


def is_vggt(path: str | Path) -> bool:
    """Whether ``path`` holds VGGT weights in the release's layout (a file, or a folder with
    ``model.safetensors`` / ``model.pt`` and no genscene ``config.json``)."""
    from genscene.models.vggt.checkpoint import is_vggt_checkpoint

    path = Path(path)
    if path.is_dir() and (path / "config.json").is_file() and "class" in read_config(path):
        return False  # a genscene checkpoint folder (GeometryNet or a saved VGGT): load_model reads it
    return is_vggt_checkpoint(path)


def load_geometry(path: str | Path, device: str = "cpu"):
    """The geometry network of ``path``: the released VGGT-1B checkpoint (see :func:`is_vggt`) or a
    genscene checkpoint folder (``GeometryNet``, or ``VGGT`` saved by genscene)."""
    from genscene.models.geometry import GeometryNet
    from genscene.models.vggt import VGGT
    from genscene.models.vggt.checkpoint import load_vggt

    path = Path(path)
    if is_vggt(path):
        return load_vggt(path, device)
    if path.is_file():
        raise InputError(path, "not a checkpoint folder or VGGT weights file "
                               "(model.safetensors, or the released model.pt)")
    cls = VGGT if path.is_dir() and read_config(path).get("class") == "VGGT" else GeometryNet
    return load_model(cls, path, device)
