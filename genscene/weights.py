"""Where genscene looks for model weights (the embedded bundle, then a user folder), and the checks a
checkpoint folder passes before it is loaded: config.json a JSON object, safetensors headers readable,
shapes as the config needs, every tensor finite."""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path

from genscene.errors import InputError

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


# ------------------------------------------------------------------------------------ checks before loading
DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "I16": 2, "F16": 2, "BF16": 2,
               "U32": 4, "I32": 4, "F32": 4, "U64": 8, "I64": 8, "F64": 8}
"""Bytes per element of each safetensors dtype."""
MAX_HEADER_BYTES = 100_000_000
"""safetensors' own limit on the JSON header."""


def read_config(folder: str | Path) -> dict:
    """``FOLDER/config.json`` as a dict; an :class:`InputError` naming the file when it is missing,
    binary, not JSON, nested too deeply or not a JSON object."""
    path = Path(folder) / "config.json"
    if not path.is_file():
        raise InputError(folder, "not a checkpoint folder: config.json is missing")
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(path, "not a UTF-8 text file (binary?)") from None
    except json.JSONDecodeError as err:
        raise InputError(path, f"invalid JSON ({err.msg} at line {err.lineno})") from None
    except RecursionError:
        raise InputError(path, "JSON nested too deeply") from None
    if not isinstance(doc, dict):
        raise InputError(path, f"expected a JSON object, got {type(doc).__name__}")
    return doc


def safetensors_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """The tensor shapes a safetensors file declares, read from its header without loading any tensor.

    An :class:`InputError` naming the file when it is not a well-formed safetensors file (a pickle
    renamed ``.safetensors``, garbage, a truncated file): nothing is ever unpickled.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        length = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
        if not 2 <= length <= min(size - 8, MAX_HEADER_BYTES):
            raise InputError(path, "not a safetensors file (no valid header; a pickle or a truncated file?)")
        raw = f.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise InputError(path, "not a safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise InputError(path, "not a safetensors file (its header is not a JSON object)")
    data_bytes = size - 8 - length
    return {name: _entry_shape(path, name, entry, data_bytes) for name, entry in header.items()
            if name != "__metadata__"}


def _entry_shape(path: Path, name: str, entry: object, data_bytes: int) -> tuple[int, ...]:
    """The shape of one header entry, checked against its dtype, byte range and the file's size."""
    ok = isinstance(entry, dict) and entry.get("dtype") in DTYPE_BYTES
    shape, offsets = (entry.get("shape"), entry.get("data_offsets")) if ok else (None, None)
    ok = ok and isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)
    ok = ok and isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(n, int) for n in offsets)
    if not ok:
        raise InputError(path, "malformed safetensors header entry (dtype, shape, data_offsets)", field=name)
    begin, end = offsets
    if not 0 <= begin <= end <= data_bytes or end - begin != math.prod(shape) * DTYPE_BYTES[entry["dtype"]]:
        raise InputError(path, f"data_offsets {offsets} do not fit shape {shape} of {entry['dtype']} "
                               f"in {data_bytes} bytes of data (truncated?)", field=name)
    return tuple(shape)


def first_shape_mismatch(stored: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]],
                         exact: bool = True) -> str | None:
    """The first difference between a file's tensor shapes and those a model needs, in words; None if
    they fit. ``exact``: missing and unexpected names count too (otherwise only shared names are compared)."""
    for name in sorted(stored.keys() & expected.keys()):
        if tuple(stored[name]) != tuple(expected[name]):
            return (f"tensor {name!r} has shape {list(stored[name])}, the config needs {list(expected[name])} "
                    "(weights and config.json do not match)")
    if exact:
        missing, unexpected = sorted(expected.keys() - stored.keys()), sorted(stored.keys() - expected.keys())
        if missing:
            return f"{len(missing)} tensor(s) the config needs are missing, first {missing[0]!r}"
        if unexpected:
            return f"{len(unexpected)} tensor(s) the config does not know, first {unexpected[0]!r}"
    return None


def first_non_finite(state: dict) -> str | None:
    """The name of the first floating-point tensor of ``state`` holding NaN or infinity; None if none does."""
    import torch

    for name, value in state.items():
        if torch.is_tensor(value) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
            return name
    return None
