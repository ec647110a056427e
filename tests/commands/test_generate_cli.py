"""``genscene generate``: a scene folder from one photo and a path, and one-line errors for bad input."""

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from genscene.cli import app


@pytest.fixture(scope="module")
def smoke_generator(tmp_path_factory):
    """A seeded random generator of the smoke preset's size, saved as a checkpoint (plumbing, not quality)."""
    import torch

    from genscene.models.generator import VideoGenerator
    from genscene.train.stages.generator import PRESETS

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("gen") / "model"
    VideoGenerator(PRESETS["smoke"].model).save_pretrained(out)
    return out


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)).save(path)
    return path


def test_generate_writes_a_scene_folder(smoke_generator, photo, tmp_path, one_thread):
    out = tmp_path / "scene"
    args = ["generate", str(photo), "-t", "gen3c_left", "--frames", "4", "--steps", "1", "--seed", "3",
            "--weights", str(smoke_generator), "-o", str(out)]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "5 frames (asked 4" in done.output  # rounded up to 1 + 4k
    for name in ("video.mp4", "cameras.json", "transforms.json", "points.ply", "preview.png", "meta.json"):
        assert (out / name).is_file(), name
    assert len(list((out / "frames").iterdir())) == 5 and len(list((out / "depth").glob("*.npz"))) == 5
    meta = json.loads((out / "meta.json").read_text())
    assert meta["seeds"] == {"noise": 3} and meta["inputs"]["frames"] == 5 and meta["inputs"]["frames_asked"] == 4
    assert meta["width"] == meta["height"] == 128
    cams = json.loads((out / "cameras.json").read_text())
    assert len(cams["frames"]) == 5
    again = CliRunner().invoke(app, args)  # the folder exists now: refused, untouched
    assert again.exit_code == 2 and "already exists" in again.output


@pytest.mark.parametrize("change, word", [
    ({"image": "missing.png"}, "file not found"),
    ({"-t": "no_such_preset"}, "no_such_preset"),
])
def test_bad_input_is_one_line_and_writes_nothing(change, word, smoke_generator, photo, tmp_path):
    image = str(tmp_path / change["image"]) if "image" in change else str(photo)
    out = tmp_path / "scene"
    done = CliRunner().invoke(app, ["generate", image, "-t", change.get("-t", "orbit"), "--steps", "1",
                                    "--weights", str(smoke_generator), "-o", str(out)])
    assert done.exit_code == 2 and word in done.output, done.output
    assert len(done.output.strip().splitlines()) == 1 and not out.exists()


def test_interpolate_writes_a_scene_between_two_photos(smoke_generator, photo, tmp_path, one_thread):
    from genscene.io.cameras_json import load_cameras_json

    other = tmp_path / "other.png"
    Image.open(photo).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(other)
    out = tmp_path / "between"
    done = CliRunner().invoke(app, ["interpolate", str(photo), str(other), "--frames", "5", "--steps", "1",
                                    "--weights", str(smoke_generator), "-o", str(out)])
    assert done.exit_code == 0, done.output
    meta = json.loads((out / "meta.json").read_text())
    cams, _ = load_cameras_json(out / "cameras.json")
    assert cams.batch_shape == (5,)
    np.testing.assert_allclose(cams.w2c[0].numpy(), np.eye(4), atol=1e-12)
    last_c2w = np.linalg.inv(cams.w2c[-1].numpy())
    np.testing.assert_allclose(last_c2w, np.array(meta["last_view_c2w"]), atol=1e-5)  # the path ends at view B
    assert meta["inputs"]["last"] == str(other)


def test_generate_follows_a_camera_file(smoke_generator, photo, tmp_path, one_thread):
    import torch

    from genscene.cameras.cameras import Cameras, invert_rigid
    from genscene.cameras.formats import save_transforms
    from genscene.io.cameras_json import load_cameras_json

    c2w = torch.eye(4, dtype=torch.float64).repeat(5, 1, 1)
    c2w[:, 0, 3] = torch.linspace(0, 0.4, 5, dtype=torch.float64) + 3.0  # absolute; generate re-bases it
    K = torch.tensor([[50.0, 0, 32], [0, 50, 32], [0, 0, 1]], dtype=torch.float64).expand(5, 3, 3)
    save_transforms(tmp_path / "transforms.json", Cameras(K, invert_rigid(c2w), 64, 64),
                    [f"{i}.png" for i in range(5)])
    out = tmp_path / "scene"
    done = CliRunner().invoke(app, ["generate", str(photo), "-t", str(tmp_path / "transforms.json"), "--frames", "5",
                                    "--steps", "1", "--weights", str(smoke_generator), "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert "(nerfstudio)" in done.output
    cams, _ = load_cameras_json(out / "cameras.json")
    np.testing.assert_allclose(np.linalg.inv(cams.w2c.numpy())[:, 0, 3], np.linspace(0, 0.4, 5), atol=1e-9)
