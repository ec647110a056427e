"""LPIPS (Zhang et al. 2018, v0.1) in plain torch, loaded from weights at a path the user gives.

The network: inputs in [0, 1] are mapped to [-1, 1] and normalised by the LPIPS scaling layer
(shift ``[-.030, -.088, -.188]``, scale ``[.458, .448, .450]``); an ImageNet feature trunk
(AlexNet, or VGG16) gives five ReLU feature maps (AlexNet: relu1..relu5; VGG16: relu1_2, relu2_2,
relu3_3, relu4_3, relu5_3); each is unit-normalised along channels (eps 1e-10), the squared
difference of the two images' maps is weighted by a learned non-negative 1x1 convolution (the
"lin" layers, no bias), averaged over space and summed over the five layers.

No weights ship with genscene and none are downloaded. Accepted files (one or several, merged):

- our safetensors (:func:`save_lpips`): ``features.{i}.{weight,bias}`` + ``lin{k}.weight``;
- the official LPIPS full-model state dict (``net.slice{s}.{i}.*``, ``lin{k}.model.1.weight``);
- the official pair: torchvision's ``alexnet-owt-7be5be79.pth`` / ``vgg16-397923af.pth``
  (``features.{i}.*``; ``classifier.*`` is ignored) plus LPIPS's ``weights/v0.1/alex.pth`` or
  ``vgg.pth`` (``lin{k}.model.1.weight``).

``.pth`` files are read with ``torch.load(weights_only=True)`` (never unpickling objects).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor, nn

from genscene.errors import InputError

# One entry per torchvision `features` index, so state-dict keys match torchvision's:
# ("conv", in, out, kernel, stride, padding), ("relu",), ("pool", kernel, stride).
_ALEX_FEATURES: list[tuple] = [
    ("conv", 3, 64, 11, 4, 2), ("relu",), ("pool", 3, 2),
    ("conv", 64, 192, 5, 1, 2), ("relu",), ("pool", 3, 2),
    ("conv", 192, 384, 3, 1, 1), ("relu",),
    ("conv", 384, 256, 3, 1, 1), ("relu",),
    ("conv", 256, 256, 3, 1, 1), ("relu",),
]
_ALEX_TAPS = (1, 4, 7, 9, 11)  # relu1..relu5


def _vgg16_features() -> list[tuple]:
    layers: list[tuple] = []
    c_in = 3
    for block, (c_out, n) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]):
        if block:
            layers.append(("pool", 2, 2))
        for _ in range(n):
            layers += [("conv", c_in, c_out, 3, 1, 1), ("relu",)]
            c_in = c_out
    return layers


_VGG_FEATURES = _vgg16_features()
_VGG_TAPS = (3, 8, 15, 22, 29)  # relu1_2, relu2_2, relu3_3, relu4_3, relu5_3

MIN_SIZE = 32
"""Smallest image side the AlexNet trunk accepts (its fifth layer needs a 1x1 map)."""

_NETS = {"alex": (_ALEX_FEATURES, _ALEX_TAPS), "vgg": (_VGG_FEATURES, _VGG_TAPS)}


class LPIPS(nn.Module):
    """The LPIPS v0.1 metric network. ``forward(a, b)`` takes ``[N, 3, H, W]`` in [0, 1] -> ``[N]``."""

    def __init__(self, net: str = "alex"):
        super().__init__()
        if net not in _NETS:
            raise ValueError(f"LPIPS: net must be one of {sorted(_NETS)}, got {net!r}")
        self.net = net
        spec, self.taps = _NETS[net]
        modules: list[nn.Module] = []
        for layer in spec:
            if layer[0] == "conv":
                _, c_in, c_out, k, s, p = layer
                modules.append(nn.Conv2d(c_in, c_out, k, stride=s, padding=p))
            elif layer[0] == "relu":
                modules.append(nn.ReLU())
            else:
                modules.append(nn.MaxPool2d(layer[1], stride=layer[2]))
        self.features = nn.Sequential(*modules)
        channels = [spec[i - 1][2] for i in self.taps]
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in channels)
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))

    @torch.no_grad()
    def randomize(self, seed: int) -> "LPIPS":
        """Random weights from ``seed`` (He-normal convolutions, non-negative lin layers like the
        trained ones): a stand-in for tests and benchmarks, never a metric to report."""
        gen = torch.Generator().manual_seed(seed)
        for m in self.features:
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.01)
        for lin in self.lins:
            lin.weight.copy_(torch.rand(lin.weight.shape, generator=gen) / lin.weight.shape[1])
        return self

    def _taps(self, x: Tensor) -> list[Tensor]:
        x = ((2 * x - 1) - self.shift) / self.scale
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                out.append(x)
            if i == self.taps[-1]:
                break
        return out

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        total = a.new_zeros(a.shape[0])
        for lin, fa, fb in zip(self.lins, self._taps(a), self._taps(b)):
            na = fa / (fa.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            nb = fb / (fb.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            total = total + lin((na - nb) ** 2).mean(dim=(1, 2, 3))
        return total

    def state_for_saving(self) -> dict[str, Tensor]:
        """Our safetensors layout: ``features.{i}.*`` and ``lin{k}.weight``."""
        sd = {k: v for k, v in self.state_dict().items() if k.startswith("features.")}
        for k, lin in enumerate(self.lins):
            sd[f"lin{k}.weight"] = lin.weight.detach()
        return {k: v.contiguous() for k, v in sd.items()}


def _canonical_key(key: str) -> str | None:
    """Map a key of any accepted layout to ours; ``None`` for keys LPIPS does not use."""
    key = key.removeprefix("module.")
    if m := re.fullmatch(r"net\.slice\d+\.(\d+)\.(weight|bias)", key):
        return f"features.{m[1]}.{m[2]}"
    if m := re.fullmatch(r"lin(\d+)\.model\.1\.weight", key):
        return f"lin{m[1]}.weight"
    if re.fullmatch(r"features\.\d+\.(weight|bias)|lin\d+\.weight", key):
        return key
    return None  # classifier.*, scaling_layer.* (constants), ...


def _read_state(path: Path) -> dict[str, Tensor]:
    if not path.is_file():
        raise InputError(path, "LPIPS weight file not found (genscene ships none; pass a local path)", "lpips_weights")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            raw = load_file(str(path))
        else:
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any reader failure is a bad file, reported as one line
        raise InputError(path, f"cannot read LPIPS weights: {type(exc).__name__}: {exc}", "lpips_weights") from exc
    if isinstance(raw, dict) and "state_dict" in raw and isinstance(raw["state_dict"], dict):
        raw = raw["state_dict"]
    if not isinstance(raw, dict) or not all(isinstance(v, Tensor) for v in raw.values()):
        raise InputError(path, "not a tensor state dict", "lpips_weights")
    return {ck: v for k, v in raw.items() if (ck := _canonical_key(k)) is not None}


def _as_paths(weights: str | Path | Sequence[str | Path]) -> list[Path]:
    if isinstance(weights, (str, Path)):
        return [Path(weights).expanduser()]
    return [Path(w).expanduser() for w in weights]


def load_lpips(weights: str | Path | Sequence[str | Path], net: str | None = None) -> LPIPS:
    """Build :class:`LPIPS` from one or several weight files (see the module doc for layouts).

    ``net`` ("alex" / "vgg") is inferred from the first convolution when not given. Missing,
    unreadable or incomplete weights raise :class:`InputError` naming the file.
    """
    paths = _as_paths(weights)
    state: dict[str, Tensor] = {}
    for p in paths:
        state.update(_read_state(p))
    source = ", ".join(str(p) for p in paths)
    if net is None:
        first = state.get("features.0.weight")
        net = "alex" if first is not None and first.shape[-1] == 11 else "vgg"
    model = LPIPS(net)
    expected = model.state_for_saving()
    missing = sorted(set(expected) - set(state))
    if missing:
        shown = ", ".join(missing[:4]) + (" ..." if len(missing) > 4 else "")
        problem = f"incomplete LPIPS-{net} weights, missing {len(missing)} tensors: {shown}"
        raise InputError(source, problem, "lpips_weights")
    for k, v in expected.items():
        if state[k].shape != v.shape:
            raise InputError(source, f"LPIPS-{net} tensor {k} has shape {tuple(state[k].shape)}, "
                                     f"expected {tuple(v.shape)}", "lpips_weights")
    trunk = {k.removeprefix("features."): state[k] for k in expected if k.startswith("features.")}
    model.features.load_state_dict(trunk)
    for k, lin in enumerate(model.lins):
        lin.weight.data.copy_(state[f"lin{k}.weight"])
    return model.eval().requires_grad_(False)


def save_lpips(model: LPIPS, path: str | Path) -> Path:
    """Write ``model`` to a safetensors file atomically (temp name, then rename)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(model.state_for_saving(), tmp, metadata={"net": model.net, "format": "genscene-lpips-v0.1"})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def lpips_available(weights: str | Path | Sequence[str | Path] | None) -> bool:
    """Whether complete LPIPS weights load from ``weights`` (``False`` for ``None``)."""
    if weights is None:
        return False
    try:
        _cached_model(tuple(str(p) for p in _as_paths(weights)), None)
    except InputError:
        return False
    return True


_CACHE: dict[tuple, LPIPS] = {}


def _cached_model(paths: tuple[str, ...], net: str | None) -> LPIPS:
    stamps = tuple(os.stat(p).st_mtime_ns if os.path.exists(p) else None for p in paths)
    key = (paths, stamps, net)
    if key not in _CACHE:
        _CACHE.clear()  # one weight set at a time is what an evaluation uses
        _CACHE[key] = load_lpips(list(paths), net)
    return _CACHE[key]


@torch.no_grad()
def lpips_distance(
    pred: Tensor,
    target: Tensor,
    weights: str | Path | Sequence[str | Path] | LPIPS,
    net: str | None = None,
) -> Tensor:
    """LPIPS ``[*B]`` between ``[*B, 3, H, W]`` images in [0, 1] (lower is more similar).

    ``weights`` is a loaded :class:`LPIPS` or the path(s) to load it from; absent weights raise
    :class:`InputError` (the metric is never estimated without them).
    """
    if pred.shape != target.shape or pred.ndim < 3 or pred.shape[-3] != 3:
        raise ValueError(
            f"lpips_distance: expected two [*B, 3, H, W] images, got {tuple(pred.shape)} and {tuple(target.shape)}"
        )
    model = weights if isinstance(weights, LPIPS) else _cached_model(tuple(str(p) for p in _as_paths(weights)), net)
    param = next(model.parameters())
    batch_shape = pred.shape[:-3]
    a = pred.reshape(-1, *pred.shape[-3:]).to(param)
    b = target.reshape(-1, *target.shape[-3:]).to(param)
    if min(a.shape[-2:]) < MIN_SIZE:
        raise ValueError(f"lpips_distance: images must be at least {MIN_SIZE}x{MIN_SIZE}, got {tuple(a.shape[-2:])}")
    return model(a, b).reshape(batch_shape)
