"""VGGT's heads: the camera head (iterative refinement of a 9-d pose encoding on the camera tokens)
and the DPT head (depth or point map with a confidence, fused from four aggregator layers)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genscene.models.vggt.layers import Block, Mlp


class CameraHead(nn.Module):
    """Camera tokens ``[B, S, D]`` -> pose encodings ``[B, S, 9]`` after each refinement pass.

    Each pass modulates the normalised tokens by an embedding of the current estimate (adaLN: shift,
    scale, gate), runs the trunk (attention across the S frames) and adds a correction; the field
    of view (entries 7, 8) goes through a ReLU.
    """

    def __init__(self, dim: int, depth: int, heads: int):
        super().__init__()
        self.trunk = nn.Sequential(*[Block(dim, heads, 4.0) for _ in range(depth)])
        self.token_norm = nn.LayerNorm(dim)
        self.trunk_norm = nn.LayerNorm(dim)
        self.empty_pose_tokens = nn.Parameter(torch.zeros(1, 1, 9))
        self.embed_pose = nn.Linear(9, dim)
        self.poseLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 3 * dim))
        self.adaln_norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.pose_branch = Mlp(dim, dim // 2, 9)

    def forward(self, tokens: Tensor, iterations: int = 4) -> list[Tensor]:
        tokens = self.token_norm(tokens)
        b, s, _ = tokens.shape
        raw = None
        estimates = []
        for _ in range(iterations):
            start = self.empty_pose_tokens.expand(b, s, -1) if raw is None else raw.detach()
            shift, scale, gate = self.poseLN_modulation(self.embed_pose(start)).chunk(3, dim=-1)
            x = tokens + gate * (self.adaln_norm(tokens) * (1 + scale) + shift)
            delta = self.pose_branch(self.trunk_norm(self.trunk(x)))
            raw = delta if raw is None else raw.detach() + delta
            estimates.append(torch.cat([raw[..., :7], F.relu(raw[..., 7:])], dim=-1))
        return estimates


class ResidualConvUnit(nn.Module):
    """``relu(x) + conv2(relu(conv1(relu(x))))``.

    The released code applies an in-place ReLU to its input before adding it back, so the skip
    path carries ``relu(x)``, not ``x``; the checkpoint was trained that way.
    """

    def __init__(self, ch: int):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(x)
        return self.conv2(F.relu(self.conv1(x))) + x


class FusionBlock(nn.Module):
    """Adds the skip (through ``resConfUnit1``), refines (``resConfUnit2``), upsamples (bilinear, aligned
    corners) to ``size`` or 2x, then ``out_conv`` (1x1)."""

    def __init__(self, ch: int, has_residual: bool = True):
        super().__init__()
        if has_residual:
            self.resConfUnit1 = ResidualConvUnit(ch)
        self.resConfUnit2 = ResidualConvUnit(ch)
        self.out_conv = nn.Conv2d(ch, ch, 1)

    def forward(self, x: Tensor, skip: Tensor | None = None, size=None) -> Tensor:
        if skip is not None:
            x = x + self.resConfUnit1(skip)
        x = self.resConfUnit2(x)
        size = tuple(size) if size is not None else (2 * x.shape[-2], 2 * x.shape[-1])
        return self.out_conv(F.interpolate(x, size=size, mode="bilinear", align_corners=True))


def uv_embedding(channels: int, gh: int, gw: int, aspect: float, dtype, device) -> Tensor:
    """``[channels, gh, gw]`` sine-cosine embedding of a centred grid normalised by its diagonal
    (x for the first half of the channels, y for the second), rounded to float32 as the reference."""
    diag = (aspect ** 2 + 1.0) ** 0.5  # the reference's expression, to the last bit
    sx, sy = aspect / diag, 1.0 / diag
    xs = torch.linspace(-sx * (gw - 1) / gw, sx * (gw - 1) / gw, gw, dtype=dtype, device=device)
    ys = torch.linspace(-sy * (gh - 1) / gh, sy * (gh - 1) / gh, gh, dtype=dtype, device=device)
    quarter = channels // 4
    omega = 1.0 / 100.0 ** (torch.arange(quarter, dtype=torch.float64, device=device) / quarter)
    parts = []
    for coord, shape in ((xs, (1, gw)), (ys, (gh, 1))):
        ang = coord.double()[:, None] * omega[None]  # [n, quarter]
        emb = torch.cat([ang.sin(), ang.cos()], dim=-1).float().T  # [channels/2, n]
        parts.append(emb.reshape(-1, *shape).expand(-1, gh, gw))
    return torch.cat(parts, dim=0)


class ScratchModules(nn.Module):
    """Container named ``scratch`` in the checkpoint: the 3x3 layer projections, the four fusion
    blocks and the output convolutions."""

    def __init__(self, in_channels: tuple[int, ...], features: int, out_dim: int):
        super().__init__()
        for i, ch in enumerate(in_channels, start=1):
            setattr(self, f"layer{i}_rn", nn.Conv2d(ch, features, 3, padding=1, bias=False))
        self.refinenet1 = FusionBlock(features)
        self.refinenet2 = FusionBlock(features)
        self.refinenet3 = FusionBlock(features)
        self.refinenet4 = FusionBlock(features, has_residual=False)
        self.output_conv1 = nn.Conv2d(features, features // 2, 3, padding=1)
        self.output_conv2 = nn.Sequential(nn.Conv2d(features // 2, 32, 3, padding=1), nn.ReLU(),
                                          nn.Conv2d(32, out_dim, 1))


class DPTHead(nn.Module):
    """Aggregator layers -> a per-pixel prediction and its confidence (``1 + exp``).

    Four layers' patch tokens (layer-normed) are projected, given a position embedding, resized to
    4x, 2x, 1x and 1/2x of the patch grid, fused coarse to fine, brought to the image size and
    decoded. ``activation`` is ``"exp"`` (depth) or ``"inv_log"`` (points: ``sign(y) expm1(|y|)``).
    """

    def __init__(self, dim_in: int, patch: int, out_dim: int, activation: str, features: int,
                 out_channels: tuple[int, ...], layers: tuple[int, ...]):
        super().__init__()
        self.patch, self.activation, self.layers = patch, activation, tuple(layers)
        self.norm = nn.LayerNorm(dim_in)
        self.projects = nn.ModuleList([nn.Conv2d(dim_in, ch, 1) for ch in out_channels])
        self.resize_layers = nn.ModuleList([
            nn.ConvTranspose2d(out_channels[0], out_channels[0], 4, stride=4),
            nn.ConvTranspose2d(out_channels[1], out_channels[1], 2, stride=2),
            nn.Identity(),
            nn.Conv2d(out_channels[3], out_channels[3], 3, stride=2, padding=1),
        ])
        self.scratch = ScratchModules(tuple(out_channels), features, out_dim)

    def _with_position(self, x: Tensor, aspect: float) -> Tensor:
        emb = uv_embedding(x.shape[1], x.shape[-2], x.shape[-1], aspect, x.dtype, x.device)
        return x + 0.1 * emb[None]

    def forward(self, layers: dict[int, Tensor], special: int, h: int, w: int, chunk: int = 8
                ) -> tuple[Tensor, Tensor]:
        """``layers[i] [B, S, P, D]`` -> prediction ``[B, S, H, W, out_dim-1]`` and confidence
        ``[B, S, H, W]``; frames are decoded ``chunk`` at a time (independent, bounded memory)."""
        s = next(iter(layers.values())).shape[1]
        preds, confs = [], []
        for start in range(0, s, chunk):
            p, c = self._decode({i: t[:, start:start + chunk] for i, t in layers.items()}, special, h, w)
            preds.append(p)
            confs.append(c)
        return torch.cat(preds, dim=1), torch.cat(confs, dim=1)

    def _decode(self, layers: dict[int, Tensor], special: int, h: int, w: int) -> tuple[Tensor, Tensor]:
        b, s = next(iter(layers.values())).shape[:2]
        gh, gw = h // self.patch, w // self.patch
        feats = []
        for k, idx in enumerate(self.layers):
            x = self.norm(layers[idx][:, :, special:].reshape(b * s, gh * gw, -1))
            x = self.projects[k](x.transpose(1, 2).reshape(b * s, -1, gh, gw))
            feats.append(self.resize_layers[k](self._with_position(x, w / h)))
        sc = self.scratch
        l1, l2, l3, l4 = (getattr(sc, f"layer{i}_rn")(f) for i, f in enumerate(feats, start=1))
        out = sc.refinenet4(l4, size=l3.shape[-2:])
        out = sc.refinenet3(out, l3, size=l2.shape[-2:])
        out = sc.refinenet2(out, l2, size=l1.shape[-2:])
        out = sc.output_conv1(sc.refinenet1(out, l1))
        out = F.interpolate(out, size=(gh * self.patch, gw * self.patch), mode="bilinear", align_corners=True)
        out = sc.output_conv2(self._with_position(out, w / h)).permute(0, 2, 3, 1)  # [BS, H, W, out_dim]
        value, conf = out[..., :-1], 1 + out[..., -1].exp()
        value = value.exp() if self.activation == "exp" else torch.sign(value) * torch.expm1(value.abs())
        return value.reshape(b, s, *value.shape[1:]), conf.reshape(b, s, *conf.shape[1:])
