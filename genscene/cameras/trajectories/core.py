"""Trajectory registry: typed parameter dataclasses, ``make_trajectory`` and ``trajectory_cameras``.

A preset is a function ``build(num_frames, params) -> c2w [T, 4, 4]`` registered under a name with
a parameter dataclass (one docstring per field, every field defaulted). Distances are in units of
the scene's median depth; the scene's look-at point is at depth ``look_at_depth`` (default 1) on
the optical axis of frame 0; frame 0 is the identity.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable, Literal

import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras, invert_rigid
from genscene.errors import InputError

Builder = Callable[[int, Any], Tensor]
MAX_TRANSLATION = 1e6
"""Largest camera translation of a trajectory, in median depths: beyond it a scene is a sub-pixel speck
and the poses' rounding (float64 near 1e300) leaves no geometry."""


class ParamError(ValueError):
    """A preset parameter is out of range; ``make_trajectory`` turns it into an :class:`InputError`."""

    def __init__(self, field: str, problem: str):
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


def require(condition: bool, field: str, problem: str) -> None:
    """Raise :class:`ParamError` for ``field`` unless ``condition`` holds (used in ``__post_init__``)."""
    if not condition:
        raise ParamError(field, problem)


@dataclass(frozen=True)
class TrajectorySpec:
    """One registered trajectory preset."""

    name: str
    """Registry name, e.g. ``gen3c_left``."""
    summary: str
    """One-line description of the camera motion."""
    source: str
    """Where the preset comes from (paper / release it follows)."""
    params: type
    """The parameter dataclass; ``params()`` gives the defaults."""
    build: Builder
    """``build(num_frames, params) -> c2w [T, 4, 4]`` (float64, OpenCV, frame 0 = identity)."""

    def defaults(self) -> Any:
        """The parameter dataclass with every field at its default."""
        return self.params()

    def param_names(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self.params)]


_REGISTRY: dict[str, TrajectorySpec] = {}


def register(name: str, params: type, summary: str, source: str) -> Callable[[Builder], Builder]:
    """Decorator registering ``build(num_frames, params)`` as preset ``name``."""

    def wrap(build: Builder) -> Builder:
        if name in _REGISTRY:
            raise RuntimeError(f"trajectory preset {name!r} registered twice")
        _REGISTRY[name] = TrajectorySpec(name, summary, source, params, build)
        return build

    return wrap


def list_trajectories() -> dict[str, TrajectorySpec]:
    """All presets, name -> :class:`TrajectorySpec` (sorted by name)."""
    return dict(sorted(_REGISTRY.items()))


def get_spec(name: str) -> TrajectorySpec:
    """The preset ``name``; an unknown name is an :class:`InputError` listing the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise InputError("trajectory", f"unknown trajectory {name!r}; known: {known}") from None


def make_params(spec: TrajectorySpec, distance: float | None = None, **params: Any) -> Any:
    """Build ``spec``'s parameter dataclass from keyword values (strings from the CLI are parsed)."""
    source = f"trajectory {spec.name}"
    if distance is not None:
        if "distance" not in spec.param_names():
            raise InputError(source, f"this preset takes no distance; its parameters: {', '.join(spec.param_names())}",
                             field="distance")
        params["distance"] = distance
    hints = typing.get_type_hints(spec.params)
    values = {}
    for key, value in params.items():
        if key not in hints:
            raise InputError(source, f"unknown parameter; known: {', '.join(spec.param_names())}", field=key)
        values[key] = _coerce(value, hints[key], source, key)
    try:
        return spec.params(**values)
    except ParamError as err:
        raise InputError(source, err.problem, field=err.field) from None


def make_trajectory(name: str, num_frames: int, distance: float | None = None, **params: Any) -> Tensor:
    """Camera-to-world poses ``[T, 4, 4]`` (float64, OpenCV axes, frame 0 = identity) of preset ``name``.

    Args:
        name: a key of :func:`list_trajectories`.
        num_frames: ``T >= 1``.
        distance: the preset's main magnitude in units of the scene's median depth (see the
            preset's ``distance`` field); ``None`` keeps the preset default.
        **params: other fields of the preset's parameter dataclass.

    Raises:
        InputError: unknown name, unknown parameter or a value out of range.
    """
    spec = get_spec(name)
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
        raise InputError(f"trajectory {name}", f"must be a positive integer, got {num_frames!r}", field="num_frames")
    p = make_params(spec, distance, **params)
    try:
        c2w = spec.build(num_frames, p)
    except ParamError as err:
        raise InputError(f"trajectory {name}", err.problem, field=err.field) from None
    c2w = c2w.to(torch.float64)
    c2w = invert_rigid(c2w[0]) @ c2w  # exact identity at frame 0, whatever rounding the builder did
    if not bool(torch.isfinite(c2w).all()):
        raise InputError(f"trajectory {name}", "produced non-finite poses for these parameters")
    check_translations(c2w, f"trajectory {name}", "poses")
    return c2w


def check_translations(c2w: Tensor, source: Any, field: str) -> None:
    """Raise an :class:`InputError` naming ``source`` and the first pose whose translation is beyond
    :data:`MAX_TRANSLATION` (``c2w [T, 4, 4]``, finite)."""
    far = (c2w[..., :3, 3].abs() > MAX_TRANSLATION).any(-1)
    if bool(far.any()):
        i = int(far.nonzero()[0, 0])
        raise InputError(source, f"translation {c2w[i, :3, 3].tolist()} is beyond +-{MAX_TRANSLATION:g}",
                         field=f"{field}[{i}]")


def trajectory_cameras(name: str, num_frames: int, K: Tensor, width: int, height: int,
                       distance: float | None = None, **params: Any) -> Cameras:
    """:class:`Cameras` ``[T]`` along preset ``name`` with intrinsics ``K [3, 3]`` or ``[T, 3, 3]``."""
    c2w = make_trajectory(name, num_frames, distance, **params)
    K = torch.as_tensor(K, dtype=torch.float64).expand(num_frames, 3, 3).clone()
    return Cameras(K=K, w2c=invert_rigid(c2w), width=width, height=height)


# -------------------------------------------------------------------- parameter parsing
def _coerce(value: Any, hint: Any, source: str, field: str) -> Any:
    """Convert ``value`` (possibly a CLI string) to the field type ``hint``."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() == "none"):
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], source, field)
    if origin is Literal:
        if value not in args:
            raise InputError(source, f"must be one of {', '.join(map(str, args))}, got {value!r}", field=field)
        return value
    try:
        if hint is bool:
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if hint is int:
            as_float = float(value)
            if as_float != int(as_float):
                raise ValueError(value)
            return int(as_float)
        if hint is float:
            out = float(value)
            if out != out or out in (float("inf"), float("-inf")):
                raise ValueError(value)
            return out
        if hint is str:
            return str(value)
    except (TypeError, ValueError):
        raise InputError(source, f"expected {hint.__name__}, got {value!r}", field=field) from None
    return value
