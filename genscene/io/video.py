"""MP4 video (H.264, yuv420p) through PyAV: write ``[T, 3, H, W]`` frames, read them back, sample N.

yuv420p needs even sizes: odd heights/widths are padded by one replicated row/column at the
bottom/right when writing; ``read_video(..., size=(H, W))`` crops them off again.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genscene.atomic import atomic_path
from genscene.errors import InputError, existing_file


@dataclass
class VideoInfo:
    """What a video file holds."""

    num_frames: int
    """Number of decodable frames."""
    fps: float
    """Average frame rate in frames per second."""
    width: int
    """Frame width in pixels (as coded, i.e. after any even-size padding)."""
    height: int
    """Frame height in pixels."""


def frames_to_uint8(frames: Tensor) -> np.ndarray:
    """``[T, 3, H, W]`` float in [0, 1] -> ``[T, H, W, 3]`` uint8 (clipped, rounded)."""
    if frames.ndim != 4 or frames.shape[1] != 3:
        raise ValueError(f"frames: expected [T, 3, H, W], got {tuple(frames.shape)}")
    x = frames.detach().cpu().to(torch.float32).clamp(0, 1).mul(255).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).contiguous().numpy()


def uint8_to_frames(images: np.ndarray) -> Tensor:
    """``[T, H, W, 3]`` uint8 -> ``[T, 3, H, W]`` float32 in [0, 1] (value / 255)."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).to(torch.float32) / 255.0


def write_video(path: str | Path, frames: Tensor, fps: float = 24.0, crf: int = 18, overwrite: bool = True) -> None:
    """Write ``frames [T, 3, H, W]`` (float in [0, 1]) as an H.264 yuv420p mp4, atomically.

    Args:
        path: the ``.mp4`` file.
        frames: ``[T, 3, H, W]`` float in [0, 1]; odd H or W is padded by edge replication.
        fps: frame rate (stored as a rational with denominator up to 1001).
        crf: x264 constant rate factor (0 lossless luma, 18 visually lossless, 23 default).
        overwrite: replace an existing file; if False an existing ``path`` (also one that appears
            while encoding) is an :class:`InputError` and is kept.
    """
    import av

    images = frames_to_uint8(frames)  # [T, H, W, 3]
    if images.shape[0] == 0:
        raise ValueError("frames: a video needs at least one frame")
    pad_h, pad_w = images.shape[1] % 2, images.shape[2] % 2
    if pad_h or pad_w:
        images = np.pad(images, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    rate = Fraction(fps).limit_denominator(1001)
    with atomic_path(path, replace=overwrite) as tmp:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=rate)
            stream.width, stream.height = images.shape[2], images.shape[1]
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(crf)}
            for image in images:
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)


def _open(path: str | Path):
    import av

    path = existing_file(path)
    try:
        container = av.open(str(path))
    except Exception as err:  # PyAV raises FFmpeg error types that vary by version
        raise InputError(path, f"not a readable video ({type(err).__name__}: {err})") from err
    if not container.streams.video:
        container.close()
        raise InputError(path, "no video stream")
    return container


def _count_frames(path: str | Path) -> int:
    """Frames in the first video stream, counted by demuxing packets (containers may not store it)."""
    with _open(path) as container:
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size > 0)


def video_info(path: str | Path) -> VideoInfo:
    """Frame count, fps and size of the first video stream of ``path``."""
    with _open(path) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or 0
        fps, width, height = float(rate), stream.codec_context.width, stream.codec_context.height
    return VideoInfo(num_frames=_count_frames(path), fps=fps, width=width, height=height)


def even_indices(total: int, num: int) -> list[int]:
    """``num`` frame indices spread evenly over ``[0, total)``, first and last included."""
    if num <= 0 or total <= 0:
        raise ValueError(f"even_indices: need positive counts, got total={total}, num={num}")
    if num >= total:
        return list(range(total))
    return sorted({int(round(i)) for i in np.linspace(0, total - 1, num)})


def read_video(path: str | Path, num_frames: int | None = None,
               size: tuple[int, int] | None = None) -> tuple[Tensor, float]:
    """Decode a video into ``[T, 3, H, W]`` float32 in [0, 1].

    Args:
        path: a video file PyAV can open (mp4, mov, webm, ...).
        num_frames: if given, sample this many frames evenly over the whole video (first and last
            included; all frames if the video is shorter).
        size: ``(H, W)`` to crop to (top-left), e.g. to drop even-size padding of :func:`write_video`.

    Returns:
        frames ``[T, 3, H, W]`` and the stream's average fps.
    """
    info = video_info(path)
    if info.num_frames == 0:
        raise InputError(path, "video holds no frames")
    wanted = set(even_indices(info.num_frames, num_frames or info.num_frames))
    images = []
    with _open(path) as container:
        stream = container.streams.video[0]
        for index, frame in enumerate(container.decode(stream)):
            if index in wanted:
                images.append(frame.to_ndarray(format="rgb24"))  # [H, W, 3]
    if not images:
        raise InputError(path, "no decodable frames")
    frames = uint8_to_frames(np.stack(images))
    if size is not None:
        h, w = size
        if h > frames.shape[2] or w > frames.shape[3]:
            raise InputError(path, f"frames are {frames.shape[2]}x{frames.shape[3]} (HxW), "
                             f"smaller than the requested {h}x{w}")
        frames = frames[:, :, :h, :w].contiguous()
    return frames, info.fps
