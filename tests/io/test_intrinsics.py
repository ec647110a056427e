"""Known intrinsics: the --intrinsics JSON file (shared / per image, scaled to each view) and EXIF focal lengths."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from genscene.errors import InputError
from genscene.io.intrinsics import FULL_FRAME_DIAGONAL_MM, exif_focal, exif_intrinsics, read_intrinsics_file


def _write(tmp_path, doc) -> str:
    path = tmp_path / "intrinsics.json"
    path.write_text(json.dumps(doc))
    return path


def test_shared_intrinsics_scale_to_each_view(tmp_path):
    path = _write(tmp_path, {"fx": 1000.0, "fy": 1010.0, "cx": 640.0, "cy": 350.0, "width": 1280, "height": 720})
    K = read_intrinsics_file(path, ["a.jpg", "b.jpg"], [(1280, 720), (640, 360)])
    torch.testing.assert_close(K[0], torch.tensor([[1000.0, 0, 640], [0, 1010, 350], [0, 0, 1]], dtype=torch.float64))
    torch.testing.assert_close(K[1], torch.tensor([[500.0, 0, 320], [0, 505, 175], [0, 0, 1]], dtype=torch.float64))


def test_defaults_fy_and_principal_point(tmp_path):
    K = read_intrinsics_file(_write(tmp_path, {"fx": 300}), ["a.png"], [(200, 100)])[0]
    assert K.tolist() == [[300.0, 0, 100.0], [0, 300.0, 50.0], [0, 0, 1]]


def test_per_image_intrinsics_by_name(tmp_path):
    doc = {"images": {"b.png": {"fx": 20.0}, "a.png": {"fx": 10.0, "cx": 3.0}}}
    K = read_intrinsics_file(_write(tmp_path, doc), ["a.png", "b.png"], [(8, 6), (8, 6)])
    assert K[:, 0, 0].tolist() == [10.0, 20.0] and K[:, 0, 2].tolist() == [3.0, 4.0]


@pytest.mark.parametrize("doc, message", [
    ({"fy": 3.0}, "'fx' is required"),
    ({"fx": -3.0}, "intrinsics.fx: must be positive"),
    ({"fx": "big"}, "intrinsics.fx: expected a finite number"),
    ({"fx": 3.0, "skew": 0}, "unknown key(s) ['skew']"),
    ({"fx": 3.0, "width": 100, "height": 100}, "another aspect ratio"),
    ({"images": {"a.png": {"fx": 3.0}}}, "no intrinsics for 1 view(s): b.png"),
    ([1, 2], "expected a JSON object"),
])
def test_bad_files_give_one_line_naming_the_file(tmp_path, doc, message):
    path = _write(tmp_path, doc)
    with pytest.raises(InputError) as err:
        read_intrinsics_file(path, ["a.png", "b.png"], [(80, 60), (80, 60)])
    assert str(err.value).startswith(str(path)) and message in str(err.value) and "\n" not in str(err.value)


def test_unreadable_and_missing_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="cannot read as JSON"):
        read_intrinsics_file(bad, ["a"], [(8, 6)])
    with pytest.raises(InputError, match="file not found"):
        read_intrinsics_file(tmp_path / "none.json", ["a"], [(8, 6)])


def _jpeg_with_exif(path, tags: dict, size=(64, 48)) -> None:
    from PIL import Image

    image = Image.fromarray(np.zeros((size[1], size[0], 3), dtype=np.uint8))
    exif = Image.Exif()
    exif.get_ifd(0x8769).update(tags)
    image.save(path, exif=exif)


def test_exif_35mm_equivalent_focal(tmp_path):
    path = tmp_path / "photo.jpg"
    _jpeg_with_exif(path, {0xA405: 28})
    expected = 28 / FULL_FRAME_DIAGONAL_MM * math.hypot(64, 48)
    assert exif_focal(path, 64, 48) == pytest.approx(expected)
    K = exif_intrinsics(path, 64, 48)
    torch.testing.assert_close(K, torch.tensor([[expected, 0, 32], [0, expected, 24], [0, 0, 1]], dtype=torch.float64))


def test_exif_focal_plane_resolution(tmp_path):
    from PIL.TiffImagePlugin import IFDRational

    path = tmp_path / "dslr.jpg"  # 50 mm lens, 4000 px per inch on the sensor, a 6000 px wide original
    _jpeg_with_exif(path, {0x920A: IFDRational(50, 1), 0xA20E: IFDRational(4000, 1), 0xA210: 2,
                           0xA002: 6000, 0xA003: 4000})
    assert exif_focal(path, 64, 48) == pytest.approx(50 * 4000 / 25.4 * 64 / 6000)


def test_no_exif_means_no_focal(tmp_path):
    from PIL import Image

    path = tmp_path / "plain.png"
    Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(path)
    assert exif_intrinsics(path, 4, 4) is None
