"""``photo_to_scene``: clips joined around the shared photo, Gaussians fitted to every view, a fly-through."""

from __future__ import annotations

import pytest
import torch
from torch.testing import assert_close

from genscene.cameras.cameras import Cameras, invert_rigid
from genscene.cameras.trajectories.core import make_trajectory
from genscene.io.scene import Scene
from genscene.pipelines.fit_gaussians import FitConfig
from genscene.pipelines.photo_to_scene import PhotoToSceneConfig, clip_views, join_clips, join_views, photo_to_scene

pytestmark = pytest.mark.usefixtures("one_thread")


def _clip(value: float, t: int = 5, s: int = 8) -> tuple[Scene, dict]:
    """A fake ``image_to_video`` clip: every tensor filled with ``value`` (frame index added to the frames)."""
    frames = torch.full((t, 3, s, s), value) + torch.arange(t)[:, None, None, None] / 100
    c2w = torch.eye(4, dtype=torch.float64).repeat(t, 1, 1)
    c2w[:, 0, 3] = value * torch.arange(t)
    cams = Cameras(torch.eye(3, dtype=torch.float64).expand(t, 3, 3).clone(), invert_rigid(c2w), s, s)
    scene = Scene(frames=frames, cameras=cams, depths=torch.full((t, s, s), 1 + value),
                  confidence=torch.full((t, s, s), value), points=(torch.full((4, 3), value), torch.zeros(4, 3)))
    previews = {"input": torch.full((3, s, s), 0.5), "cache_rgb": frames.clone(),
                "cache_mask": torch.zeros(t, s, s, dtype=torch.bool)}
    return scene, previews


def test_clips_are_joined_around_one_shared_photo():
    scene, previews = join_clips([_clip(0.1), _clip(0.2)])
    assert scene.num_frames == 9 and scene.cameras.batch_shape == (9,)
    assert_close(scene.frames[0], torch.full((3, 8, 8), 0.5))  # the photo itself, not its decoded copy
    assert_close(scene.frames[1:5], _clip(0.1)[0].frames[1:])
    assert_close(scene.frames[5:], _clip(0.2)[0].frames[1:])
    assert_close(scene.depths[:, 0, 0], torch.tensor([1.1] * 5 + [1.2] * 4))
    assert_close(scene.cameras.c2w[5:, 0, 3], 0.2 * torch.arange(1, 5, dtype=torch.float64))
    assert scene.points[0].shape == (8, 3)
    assert previews["cache_rgb"].shape == (9, 3, 8, 8) and previews["cache_mask"].shape == (9, 8, 8)


def test_joined_views_split_back_into_clips_headed_by_the_photo():
    scene, _ = join_clips([_clip(0.1), _clip(0.2)])
    frames, cameras = clip_views(scene, [("a", 0, 5), ("b", 5, 9)])
    assert frames.shape == (2, 5, 3, 8, 8) and cameras.batch_shape == (2, 5)
    assert_close(frames[:, 0], torch.full((2, 3, 8, 8), 0.5))
    assert_close(frames[0, 1:], _clip(0.1)[0].frames[1:])
    assert_close(frames[1, 1:], _clip(0.2)[0].frames[1:])
    assert_close(cameras.c2w[1], _clip(0.2)[0].cameras.c2w)
    assert_close(cameras.c2w[0], _clip(0.1)[0].cameras.c2w)
    assert_close(join_views(frames), scene.frames)  # the inverse: joined again, the views come back


def test_config_refuses_unknown_trajectories_and_frame_counts():
    with pytest.raises(ValueError, match="trajectories"):
        PhotoToSceneConfig(trajectories=("lyra_left", "sideways"))
    with pytest.raises(ValueError, match="frames"):
        PhotoToSceneConfig(frames=6)
    with pytest.raises(ValueError, match="route"):
        PhotoToSceneConfig(route="mesh")


def test_photo_to_scene_on_the_embedded_weights():
    from genscene.commands.generate import generation_models

    models, _ = generation_models(None)
    torch.manual_seed(0)
    photo = torch.rand(3, 40, 48)
    cfg = PhotoToSceneConfig(trajectories=("lyra_left", "lyra_zoom_out"), frames=5, steps=1, size=32,
                             fit=FitConfig(steps=2), flythrough_frames=3)
    calls = []
    made = photo_to_scene(photo, *models, cfg, progress=lambda stage, done, total: calls.append((stage, done, total)))
    scene = made.scene
    assert scene.frames.shape == (9, 3, 32, 32) and scene.depths.shape == (9, 32, 32)
    assert made.clips == [("lyra_left", 0, 5), ("lyra_zoom_out", 5, 9)]
    # The views' cameras are the commanded paths, one intrinsics for all, frame 0 at the identity.
    for name, start, end in made.clips:
        rel = make_trajectory(name, 5, seed=0)
        assert_close(scene.cameras.c2w[start:end], rel[1 if start else 0:], atol=1e-9, rtol=0)
    assert_close(scene.cameras.K, scene.cameras.K[:1].expand(9, 3, 3))
    assert len(scene.gaussians) == scene.meta["fit"]["gaussians"] > 0
    assert made.flythrough.shape == (3, 3, 32, 32) and made.flythrough_cameras.batch_shape == (3,)
    assert set(scene.meta["timings_s"]) == {"input_geometry", "generate", "geometry", "fit", "render"}
    stages = [stage for stage, _, _ in calls]
    assert any(s.startswith("clip 2/2 (lyra_zoom_out)") for s in stages) and any("fitting" in s for s in stages)
    assert (stages[-1].startswith("rendering"), calls[-1][2]) == (True, 0)


def test_photo_to_scene_by_the_decoder_route():
    """Route 2 on the embedded generator with a random tiny decoder at the VAE's latent width: every decoded
    Gaussian of the two 5-frame clips is kept, the meta says how they were made."""
    pytest.importorskip("transformers")
    from genscene.commands.generate import generation_models
    from genscene.models.gaussian_decoder import GaussianDecoderConfig, LatentGaussianDecoder

    models, _ = generation_models(None)
    torch.manual_seed(0)
    decoder = LatentGaussianDecoder(GaussianDecoderConfig(
        latent_channels=models[1].vae.config.z_dim, hidden=32, blocks="tm", heads=2, mamba_head_dim=16, mamba_state=8,
        mamba_chunk=16, keep_fraction=1.0, pixels_per_gaussian=2, image_size=16)).eval()
    cfg = PhotoToSceneConfig(route="decoder", frames=5, steps=1, size=32, flythrough_frames=2)
    with pytest.raises(ValueError, match="needs the decoder"):
        photo_to_scene(torch.rand(3, 32, 32), *models, cfg)
    made = photo_to_scene(torch.rand(3, 32, 32), *models, cfg, decoder=decoder)
    meta = made.scene.meta
    assert meta["route"] == "decoder" and "fit" not in meta
    assert len(made.scene.gaussians) == meta["decoder"]["gaussians"] == 2 * 5 * 8 * 8
    assert meta["decoder"]["size"] == 16 and 0 < meta["decoder"]["psnr"] < 100
    assert set(meta["timings_s"]) == {"input_geometry", "generate", "geometry", "decoder", "decoder_check", "render"}
    assert made.flythrough.shape == (2, 3, 32, 32)
