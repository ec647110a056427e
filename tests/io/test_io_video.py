"""MP4 video: H.264 round trip quality, odd sizes, even frame sampling, bad files."""

from __future__ import annotations

import av
import pytest
import torch

from genscene.errors import InputError
from genscene.io.video import even_indices, read_video, video_info, write_video


def _smooth_clip(t: int, h: int, w: int) -> torch.Tensor:
    """A moving colour gradient ``[T, 3, H, W]`` in [0.1, 0.9]."""
    tt = torch.linspace(0, 1, t)[:, None, None]
    y = torch.linspace(0, 1, h)[None, :, None]
    x = torch.linspace(0, 1, w)[None, None, :]
    r = 0.5 + 0.4 * torch.sin(6 * x + 3 * tt + 0 * y)
    g = 0.5 + 0.4 * torch.cos(4 * y + 2 * tt + 0 * x)
    b = 0.3 + 0.4 * x * y + 0.1 * tt
    return torch.stack([r, g, b], dim=1)


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(-10 * torch.log10(((a - b) ** 2).mean()))


def test_round_trip_psnr_and_stream_format(tmp_path):
    frames = _smooth_clip(10, 32, 48)
    path = tmp_path / "clip.mp4"
    write_video(path, frames, fps=12)
    with av.open(str(path)) as container:  # independent check of what was written
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
    info = video_info(path)
    assert (info.num_frames, info.width, info.height) == (10, 48, 32)
    assert info.fps == pytest.approx(12)
    back, fps = read_video(path)
    assert back.shape == frames.shape and fps == pytest.approx(12)
    assert _psnr(back, frames) > 30


def test_odd_size_is_padded_then_cropped(tmp_path):
    frames = _smooth_clip(6, 21, 35)
    write_video(tmp_path / "odd.mp4", frames, fps=30000 / 1001)
    info = video_info(tmp_path / "odd.mp4")
    assert (info.width, info.height) == (36, 22)
    assert info.fps == pytest.approx(29.97, abs=1e-2)
    back, _ = read_video(tmp_path / "odd.mp4", size=(21, 35))
    assert back.shape == frames.shape and _psnr(back, frames) > 30


def test_sampling_n_frames_evenly(tmp_path):
    frames = _smooth_clip(12, 16, 16)
    frames[:, :, :2, :2] = torch.linspace(0, 1, 12)[:, None, None, None]  # a per-frame marker patch
    write_video(tmp_path / "c.mp4", frames, fps=10)
    full, _ = read_video(tmp_path / "c.mp4")
    some, _ = read_video(tmp_path / "c.mp4", num_frames=4)
    assert even_indices(12, 4) == [0, 4, 7, 11]
    torch.testing.assert_close(some, full[[0, 4, 7, 11]], rtol=0, atol=0)
    assert read_video(tmp_path / "c.mp4", num_frames=50)[0].shape[0] == 12


def test_even_indices():
    assert even_indices(5, 5) == [0, 1, 2, 3, 4]
    assert even_indices(100, 1) == [0]
    assert even_indices(101, 3) == [0, 50, 100]
    with pytest.raises(ValueError):
        even_indices(0, 3)


def test_bad_files_raise_input_error(tmp_path):
    with pytest.raises(InputError, match="missing.mp4: file not found"):
        read_video(tmp_path / "missing.mp4")
    (tmp_path / "notes.mp4").write_text("not a video")
    with pytest.raises(InputError, match="notes.mp4"):
        read_video(tmp_path / "notes.mp4")
