"""LPIPS: weight loading (ours and the official layouts), metric properties, absent weights."""

from __future__ import annotations

import pytest
import torch

from genscene.errors import InputError
from genscene.eval.image_metrics import image_metrics
from genscene.eval.lpips import LPIPS, load_lpips, lpips_available, lpips_distance, save_lpips


@pytest.fixture(scope="module")
def alex_weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("lpips") / "alex.safetensors"
    save_lpips(LPIPS("alex").randomize(seed=0), path)
    return path


def _images(seed: int, n: int = 2, size: int = 32) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_saved_random_weights_round_trip(alex_weights):
    model = LPIPS("alex").randomize(seed=0)
    loaded = load_lpips(alex_weights)
    assert loaded.net == "alex"
    x, y = _images(1), _images(2)
    torch.testing.assert_close(loaded(x, y), model(x, y).detach(), atol=0, rtol=0)
    assert lpips_available(alex_weights)


def test_metric_properties(alex_weights):
    x, y = _images(3), _images(4)
    assert torch.equal(lpips_distance(x, x, alex_weights), torch.zeros(2))
    d_xy, d_yx = lpips_distance(x, y, alex_weights), lpips_distance(y, x, alex_weights)
    torch.testing.assert_close(d_xy, d_yx, atol=1e-7, rtol=0)
    assert (d_xy > 0).all()
    near = (x + 0.02 * torch.randn(x.shape, generator=torch.Generator().manual_seed(5))).clamp(0, 1)
    assert (lpips_distance(x, near, alex_weights) < d_xy).all()
    batched = lpips_distance(x.expand(2, 2, 3, 32, 32), y.expand(2, 2, 3, 32, 32), alex_weights)
    assert batched.shape == (2, 2)
    torch.testing.assert_close(batched[1], d_xy)
    out = image_metrics(x, y, lpips_weights=alex_weights)
    assert out["lpips"] == pytest.approx(float(d_xy.mean()), rel=1e-6)


def test_official_state_dict_layouts(tmp_path):
    """The lpips package's full state dict, and torchvision trunk + LPIPS lin file, map to ours."""
    model = LPIPS("alex").randomize(seed=7)
    ours = model.state_for_saving()
    slice_of = {0: 1, 1: 1, 3: 2, 6: 3, 8: 4, 10: 5}  # torchvision index -> lpips slice
    full = {"scaling_layer.shift": model.shift.flatten(), "scaling_layer.scale": model.scale.flatten()}
    trunk, lins = {"classifier.1.weight": torch.zeros(4, 9216)}, {}
    for key, value in ours.items():
        if key.startswith("features."):
            idx, kind = int(key.split(".")[1]), key.split(".")[2]
            full[f"net.slice{slice_of[idx]}.{idx}.{kind}"] = value
            trunk[key] = value
        else:
            official = key.replace(".weight", ".model.1.weight")
            full[official] = value
            lins[official] = value
    torch.save(full, tmp_path / "lpips_full.pth")
    torch.save(trunk, tmp_path / "alexnet-owt.pth")
    torch.save(lins, tmp_path / "alex.pth")
    x, y = _images(8), _images(9)
    expected = model(x, y).detach()
    for source in (tmp_path / "lpips_full.pth", [tmp_path / "alexnet-owt.pth", tmp_path / "alex.pth"]):
        torch.testing.assert_close(load_lpips(source)(x, y), expected, atol=0, rtol=0)
    with pytest.raises(InputError, match="missing 5 tensors"):
        load_lpips(tmp_path / "alexnet-owt.pth")  # trunk alone: no lin layers


def test_vgg_round_trip(tmp_path):
    model = LPIPS("vgg").randomize(seed=1)
    path = save_lpips(model, tmp_path / "vgg.safetensors")
    loaded = load_lpips(path)
    assert loaded.net == "vgg"
    x, y = _images(10, n=1, size=32), _images(11, n=1, size=32)
    torch.testing.assert_close(loaded(x, y), model(x, y).detach(), atol=0, rtol=0)
    assert float(loaded(x, x)) == 0.0


def test_absent_or_bad_weights(tmp_path):
    missing = tmp_path / "nope.safetensors"
    assert not lpips_available(missing) and not lpips_available(None)
    with pytest.raises(InputError) as err:
        lpips_distance(_images(0), _images(1), missing)
    assert str(missing) in str(err.value) and "\n" not in str(err.value)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="cannot read"):
        load_lpips(garbage)
    assert not lpips_available(garbage)
    assert not list(tmp_path.glob("*.tmp"))


def test_too_small_images_raise(alex_weights):
    with pytest.raises(ValueError, match="at least"):
        lpips_distance(_images(0, size=16), _images(1, size=16), alex_weights)
