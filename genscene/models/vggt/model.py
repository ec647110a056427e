"""VGGT (Wang et al., CVPR 2025) in genscene: images -> cameras, depth and point maps, all views at once.

The published VGGT-1B configuration is the default of :class:`VGGTConfig`; smaller ones exist for
tests. Outputs follow :class:`genscene.models.geometry.GeometryNet`'s keys so that the
``reconstruct`` pipeline takes either network.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import Tensor

from genscene.models.base import PretrainedModel
from genscene.models.vggt.aggregator import Aggregator
from genscene.models.vggt.heads import CameraHead, DPTHead


@dataclass
class VGGTConfig:
    """Architecture of :class:`VGGT`; the defaults are the released VGGT-1B."""

    img_size: int = 518
    """Square image side the DINO position table was learned for (37 x 37 patches)."""
    patch_size: int = 14
    """Pixels per patch side; image sides must be multiples of it."""
    embed_dim: int = 1024
    """Token width of the DINO backbone and the aggregator."""
    depth: int = 24
    """Aggregator (frame block, global block) pairs."""
    num_heads: int = 16
    """Attention heads in the aggregator and the DINO backbone."""
    mlp_ratio: float = 4.0
    """MLP width as a multiple of the token width."""
    num_registers: int = 4
    """Register tokens per frame (in DINO and in the aggregator)."""
    dino_depth: int = 24
    """Blocks of the DINOv2 backbone (ViT-L: 24)."""
    dino_heads: int = 16
    """Attention heads of the DINOv2 backbone."""
    rope_freq: float = 100.0
    """Base frequency of the aggregator's 2D rotary embedding."""
    camera_depth: int = 4
    """Transformer blocks in the camera head's trunk."""
    camera_heads: int = 16
    """Attention heads in the camera head's trunk."""
    camera_iterations: int = 4
    """Refinement passes of the camera head."""
    dpt_features: int = 256
    """Channels of the DPT heads' fusion path."""
    dpt_channels: tuple[int, int, int, int] = (256, 512, 1024, 1024)
    """Channels of the four projected layers in the DPT heads."""
    dpt_layers: tuple[int, int, int, int] = (4, 11, 17, 23)
    """Aggregator layers the DPT heads read."""
    bf16_on_cuda: bool = True
    """Run the aggregator in bfloat16 autocast on CUDA (the heads stay float32), as VGGT's demo."""


class VGGT(PretrainedModel):
    """Images ``[B, S, 3, H, W]`` in [0, 1] (H, W multiples of 14; 518 on the long side is what it was
    trained at) -> cameras, depth and a point map per view; frame 0 is the reference.

    Has VGGT's aggregator, camera head, depth head and point head; the tracking head of the
    release is left out (its checkpoint tensors are skipped when loading).
    """

    config_class = VGGTConfig

    def __init__(self, config: VGGTConfig):
        super().__init__(config)
        c = config
        if max(c.dpt_layers) >= c.depth:
            raise ValueError(f"VGGTConfig.dpt_layers {c.dpt_layers} must be below depth {c.depth}")
        self.aggregator = Aggregator(c)
        dim = 2 * c.embed_dim
        self.camera_head = CameraHead(dim, c.camera_depth, c.camera_heads)
        dpt = {"features": c.dpt_features, "out_channels": tuple(c.dpt_channels), "layers": tuple(c.dpt_layers)}
        self.point_head = DPTHead(dim, c.patch_size, 4, "inv_log", **dpt)
        self.depth_head = DPTHead(dim, c.patch_size, 2, "exp", **dpt)

    def forward(self, images: Tensor) -> dict[str, Tensor | list[Tensor]]:
        """Run the network.

        Args:
            images: ``[B, S, 3, H, W]`` in [0, 1]; H and W multiples of ``patch_size``.

        Returns:
            ``pose_enc`` [B, S, 9] (translation, quaternion xyzw, fov_h, fov_w of OpenCV world-to-camera,
            world = frame-0 camera), ``pose_enc_list`` (the estimate after each refinement pass),
            ``depth`` [B, S, H, W] (z-depth), ``depth_conf`` [B, S, H, W] (> 1), ``points``
            [B, S, H, W, 3] (frame-0 camera frame), ``points_conf`` [B, S, H, W]; all float32.
        """
        h, w = images.shape[-2:]
        p = self.config.patch_size
        if h % p or w % p:
            raise ValueError(f"VGGT: image size {h}x{w} is not a multiple of the patch size {p}")
        last = self.config.depth - 1
        keep = set(self.config.dpt_layers) | {last}
        amp = (torch.autocast("cuda", dtype=torch.bfloat16)
               if images.is_cuda and self.config.bf16_on_cuda else nullcontext())
        with amp:
            layers = self.aggregator(images, keep)
        if images.is_cuda:
            layers = {i: t.float() for i, t in layers.items()}
            with torch.autocast("cuda", enabled=False):
                return self._heads(layers, h, w)
        return self._heads(layers, h, w)

    def _heads(self, layers: dict[int, Tensor], h: int, w: int) -> dict[str, Tensor | list[Tensor]]:
        special = self.aggregator.special_tokens
        poses = self.camera_head(layers[self.config.depth - 1][:, :, 0], self.config.camera_iterations)
        depth, depth_conf = self.depth_head(layers, special, h, w)
        points, points_conf = self.point_head(layers, special, h, w)
        return {"pose_enc": poses[-1], "pose_enc_list": poses, "depth": depth[..., 0], "depth_conf": depth_conf,
                "points": points, "points_conf": points_conf}
