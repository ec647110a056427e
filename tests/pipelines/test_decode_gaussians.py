"""Route 2 (``decode_gaussians``): clips resized to the decoder's side, Gaussians on the original cameras' rays."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genscene.cameras.cameras import Cameras
from genscene.rotations import quat_to_rotmat

pytest.importorskip("transformers")  # the Mamba-2 mixer (extra "decoder")

from genscene.models.gaussian_decoder import GaussianDecoderConfig, LatentGaussianDecoder  # noqa: E402
from genscene.pipelines.decode_gaussians import decode_gaussians  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")
C = 4


def tiny_vae() -> torch.nn.Module:
    from genscene.models.vae import VideoVAE, VideoVAEConfig

    torch.manual_seed(0)
    return VideoVAE.from_config(VideoVAEConfig(base_dim=8, z_dim=C)).eval()


def tiny_decoder(image_size: int, keep_fraction: float = 1.0) -> LatentGaussianDecoder:
    torch.manual_seed(0)
    return LatentGaussianDecoder(GaussianDecoderConfig(
        latent_channels=C, hidden=32, blocks="tm", heads=2, mamba_head_dim=16, mamba_state=8, mamba_chunk=16,
        keep_fraction=keep_fraction, image_size=image_size)).eval()


def clips(v: int = 2, t: int = 5, side: int = 32) -> tuple[torch.Tensor, Cameras]:
    """Random frames ``[V, T, 3, S, S]`` and cameras ``[V, T]`` (off-centre principal point, rotated, moved)."""
    g = torch.Generator().manual_seed(1)
    K = torch.zeros(v, t, 3, 3, dtype=torch.float64)
    K[..., 0, 0], K[..., 1, 1], K[..., 0, 2], K[..., 1, 2], K[..., 2, 2] = 30.0, 33.0, side / 2 + 1.5, side / 2, 1
    q = torch.nn.functional.normalize(torch.tensor([1.0, 0, 0, 0]) + 0.2 * torch.randn(v, t, 4, generator=g), dim=-1)
    w2c = torch.eye(4, dtype=torch.float64).repeat(v, t, 1, 1)
    w2c[..., :3, :3] = quat_to_rotmat(q).double()
    w2c[..., :3, 3] = torch.randn(v, t, 3, generator=g).double()
    return torch.rand(v, t, 3, side, side, generator=g), Cameras(K, w2c, side, side)


def test_clips_are_resized_to_the_decoders_side_and_gaussians_fall_in_their_cells():
    """Decoded at 16 px from 32 px clips: each view's Gaussians, projected with numpy through the ORIGINAL 32 px
    camera, land one per 2x2-pixel cell of the 32 px image (a K left unscaled would put them in the top-left
    quarter)."""
    frames, cams = clips()
    gaussians, stats = decode_gaussians(frames, cams, tiny_vae(), tiny_decoder(image_size=16))
    assert stats["size"] == 16 and stats["decoded"] == stats["gaussians"] == 2 * 5 * 16 * 16
    means = gaussians.means.double().numpy().reshape(2, 5, 16, 16, 3)
    rows, cols = np.mgrid[0:16, 0:16]
    for v, t in ((0, 0), (1, 3)):
        K, w2c = cams.K[v, t].numpy(), cams.w2c[v, t].numpy()
        cam = means[v, t] @ w2c[:3, :3].T + w2c[:3, 3]
        assert (cam[..., 2] > 0).all()
        uv = (cam @ K.T)[..., :2] / cam[..., 2:]
        assert np.all(np.floor(uv[..., 0] / 2) == cols) and np.all(np.floor(uv[..., 1] / 2) == rows)


def test_a_decoder_without_a_recorded_side_decodes_at_the_clips_side_and_prunes():
    frames, cams = clips(v=1, side=16)
    gaussians, stats = decode_gaussians(frames, cams, tiny_vae(), tiny_decoder(image_size=0, keep_fraction=0.25))
    assert stats["size"] == 16 and stats["decoded"] == 5 * 16 * 16 and len(gaussians) == stats["gaussians"] == 320
    assert gaussians.means.dtype == torch.float32 and bool(torch.isfinite(gaussians.means).all())


def test_frames_that_do_not_match_the_cameras_are_refused():
    frames, cams = clips()
    with pytest.raises(ValueError, match="must match cameras"):
        decode_gaussians(frames[:1], cams, tiny_vae(), tiny_decoder(image_size=16))
