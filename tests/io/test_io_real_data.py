"""Real photos from ../shared/data through the image and video readers/writers."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from genscene.io.images import read_image
from genscene.io.video import read_video, write_video


def test_palette_png_matches_pillow_rgb(shared_data):
    path = shared_data / "single_images" / "model_was_never_trained_on_single_image_or_oil_painting.png"
    img = read_image(path)
    with Image.open(path) as im:
        assert im.mode == "P"
        ref = np.asarray(im.convert("RGB"), dtype=np.float32) / 255
    assert img.shape == (3, *ref.shape[:2])
    np.testing.assert_array_equal(img.permute(1, 2, 0).numpy(), ref)


def test_real_photo_pan_video_round_trip(shared_data, tmp_path):
    photo = read_image(shared_data / "unposed" / "room" / "no_overlap_1.png")  # [3, 384, 512]
    small = torch.nn.functional.interpolate(photo[None], size=(96, 128), mode="area")[0]
    frames = torch.stack([small[:, 8:56, 4 * i:4 * i + 64] for i in range(8)])  # a sideways pan
    write_video(tmp_path / "pan.mp4", frames, fps=8)
    back, fps = read_video(tmp_path / "pan.mp4")
    psnr = -10 * torch.log10(((back - frames) ** 2).mean())
    assert back.shape == frames.shape and fps == 8 and psnr > 30
