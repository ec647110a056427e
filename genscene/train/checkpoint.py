"""Resumable training state without pickle: tensors in safetensors, the rest in JSON.

A checkpoint folder holds ``model.safetensors``, ``ema.safetensors`` (when EMA is on),
``optimizer.safetensors`` + ``state.json`` (optimiser structure, scheduler, step, RNG, config).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from genscene.atomic import atomic_path
from genscene.errors import InputError


def flatten_optimizer_state(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split ``optimizer.state_dict()`` into flat tensors and a JSON-able skeleton."""
    tensors: dict[str, torch.Tensor] = {}
    skeleton: dict[str, Any] = {"param_groups": state["param_groups"], "state": {}}
    for idx, per_param in state["state"].items():
        entry = {}
        for name, value in per_param.items():
            if isinstance(value, torch.Tensor):
                key = f"state.{idx}.{name}"
                tensors[key] = value.detach().cpu().contiguous()
                entry[name] = {"tensor": key}
            else:
                entry[name] = {"value": value}
        skeleton["state"][str(idx)] = entry
    return tensors, skeleton


def unflatten_optimizer_state(tensors: dict[str, torch.Tensor], skeleton: dict[str, Any]) -> dict[str, Any]:
    state = {}
    for idx, entry in skeleton["state"].items():
        state[int(idx)] = {name: tensors[v["tensor"]] if "tensor" in v else v["value"]
                           for name, v in entry.items()}
    return {"state": state, "param_groups": skeleton["param_groups"]}


def save_training_state(
    path: Path,
    model_state: dict[str, torch.Tensor],
    optimizer_state: dict[str, Any],
    scheduler_state: dict[str, Any],
    step: int,
    config: dict[str, Any],
    ema_state: dict[str, torch.Tensor] | None = None,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write a resumable checkpoint folder atomically; returns its path."""
    opt_tensors, opt_skeleton = flatten_optimizer_state(optimizer_state)
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng.update({f"cuda{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    with atomic_path(Path(path), directory=True) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in model_state.items()}, tmp / "model.safetensors")
        if ema_state is not None:
            save_file({k: v.cpu().contiguous() for k, v in ema_state.items()}, tmp / "ema.safetensors")
        save_file(opt_tensors or {"_empty": torch.zeros(0)}, tmp / "optimizer.safetensors")
        save_file({f"rng.{k}": v for k, v in rng.items()}, tmp / "rng.safetensors")
        state = {"step": step, "optimizer": opt_skeleton, "scheduler": scheduler_state,
                 "config": config, "metrics": metrics or {}}
        (tmp / "state.json").write_text(json.dumps(state, indent=1))
    return Path(path)


def load_training_state(path: Path) -> dict[str, Any]:
    """Read a checkpoint folder written by :func:`save_training_state` (never unpickles)."""
    path = Path(path)
    for name in ("model.safetensors", "optimizer.safetensors", "state.json"):
        if not (path / name).is_file():
            raise InputError(path, f"not a genscene training checkpoint: {name} is missing")
    try:
        state = json.loads((path / "state.json").read_text())
    except json.JSONDecodeError as err:
        raise InputError(path / "state.json", f"invalid JSON ({err.msg} at line {err.lineno})") from None
    opt_tensors = load_file(path / "optimizer.safetensors")
    out = {
        "step": int(state["step"]),
        "model": load_file(path / "model.safetensors"),
        "optimizer": unflatten_optimizer_state(opt_tensors, state["optimizer"]),
        "scheduler": state["scheduler"],
        "config": state["config"],
        "metrics": state.get("metrics", {}),
        "ema": load_file(path / "ema.safetensors") if (path / "ema.safetensors").is_file() else None,
        "rng": {k.removeprefix("rng."): v for k, v in load_file(path / "rng.safetensors").items()}
        if (path / "rng.safetensors").is_file() else {},
    }
    return out


def warm_start(model: torch.nn.Module, folder: Path) -> dict[str, Any]:
    """Copy into ``model`` every tensor of the exported model in ``folder`` whose name and shape match.

    An architecture change (e.g. a new head) keeps the rest of a trained network: the report lists
    the parameters that start fresh (``new``) and the saved ones that no longer fit (``dropped``).
    A saved name also fits the one model name that ends in ``.<name>`` (a wrapper such as
    ``VideoVAE`` prefixes the wrapped diffusers model's names with ``vae.``).
    Raises :class:`InputError` when ``folder`` holds no single safetensors file or nothing fits.
    """
    folder = Path(folder)
    files = sorted(folder.glob("*.safetensors"))
    if len(files) != 1:
        raise InputError(folder, f"init-from needs one exported model (*.safetensors), found {len(files)}")
    saved = load_file(files[0])
    own = model.state_dict()
    fits: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    for name, value in saved.items():
        target = name if name in own else _unique_suffix_match(own, name)
        if target is not None and own[target].shape == value.shape:
            fits[target] = value.to(own[target].dtype)
            used.add(name)
    if not fits:
        raise InputError(files[0], "no tensor fits this model (names or shapes all differ)")
    model.load_state_dict(fits, strict=False)
    return {"loaded": len(fits), "new": sorted(set(own) - set(fits)), "dropped": sorted(set(saved) - used)}


def _unique_suffix_match(own: dict[str, torch.Tensor], name: str) -> str | None:
    matches = [k for k in own if k.endswith("." + name)]
    return matches[0] if len(matches) == 1 else None
