"""8-bit image files and the meta.json helpers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from genscene.errors import InputError
from genscene.io.images import read_image, write_image
from genscene.io.meta import StageTimer, build_meta, collect_versions, to_jsonable


def test_image_round_trip_is_exact_at_8_bits(tmp_path):
    img = torch.randint(0, 256, (3, 5, 7)).float() / 255
    write_image(tmp_path / "a.png", img)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "a.png")),
                          (img * 255).round().byte().permute(1, 2, 0).numpy())
    assert torch.equal(read_image(tmp_path / "a.png"), img)


def test_read_grey_and_rgba(tmp_path):
    Image.fromarray(np.full((2, 3), 51, np.uint8)).save(tmp_path / "g.png")
    assert torch.allclose(read_image(tmp_path / "g.png"), torch.full((3, 2, 3), 0.2))
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 255, 0  # fully transparent red
    Image.fromarray(rgba).save(tmp_path / "t.png")
    assert torch.allclose(read_image(tmp_path / "t.png", background=1.0), torch.ones(3, 2, 2))
    Image.fromarray(np.full((2, 3), 13107, np.uint16)).save(tmp_path / "g16.png")  # 13107 / 65535 = 0.2
    assert torch.allclose(read_image(tmp_path / "g16.png"), torch.full((3, 2, 3), 0.2))
    with pytest.raises(InputError, match="nope.png: file not found"):
        read_image(tmp_path / "nope.png")


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((4, 6, 3), np.uint8)
    pixels[0] = 255  # white top row
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    Image.fromarray(pixels).save(tmp_path / "phone.jpg", exif=exif, quality=100)
    img = read_image(tmp_path / "phone.jpg")
    assert img.shape == (3, 6, 4)
    assert img[:, :, -1].min() > 0.9 and img[:, :, 0].max() < 0.1  # the white row is now the right column


def test_meta_is_json_and_names_bad_values(tmp_path):
    timer = StageTimer()
    with timer("load"):
        pass
    meta = build_meta(inputs={"image": tmp_path / "x.png"}, seeds={"sampler": np.int64(3)},
                      timings=timer.seconds, shape=(2, 3), scale=torch.tensor(0.5))
    text = json.dumps(meta)
    assert json.loads(text)["seeds"] == {"sampler": 3}
    assert meta["versions"] == collect_versions() and meta["versions"]["torch"] == torch.__version__
    assert meta["timings_s"]["load"] >= 0 and meta["shape"] == [2, 3] and meta["scale"] == 0.5
    assert meta["peak_memory"]["cpu_max_rss_mib"] > 0
    with pytest.raises(ValueError, match=r"meta.bad\[1\]"):
        to_jsonable({"bad": [1, float("nan")]})


def test_non_finite_values_can_be_kept_as_strings():
    logs = {"loss": float("inf"), "terms": (float("nan"), -float("inf"), 0.5), "step": np.int64(3)}
    assert to_jsonable(logs, nonfinite="string") == {"loss": "inf", "terms": ["nan", "-inf", 0.5], "step": 3}
