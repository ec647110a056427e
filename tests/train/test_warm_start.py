"""warm_start: keeps every saved tensor that still fits (name and shape), reports the rest, and maps a
saved name onto the one model name ending in ``.<name>``."""

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from genscene.errors import InputError
from genscene.models.geometry import GeometryNet, GeometryNetConfig
from genscene.train.checkpoint import warm_start

TINY = dict(dim=16, depth=1, heads=2, head_layers=(0,), head_dim=16, num_registers=1, camera_iterations=2)


def _net(camera_blocks: int, seed: int) -> GeometryNet:
    torch.manual_seed(seed)
    return GeometryNet(GeometryNetConfig(**TINY, camera_blocks=camera_blocks))


def _clone_state(m: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in m.state_dict().items()}


def test_a_new_camera_block_starts_fresh_and_the_rest_is_kept(tmp_path):
    small, big = _net(1, seed=0), _net(2, seed=1)
    small.save_pretrained(tmp_path / "a")
    before = _clone_state(big)
    report = warm_start(big, tmp_path / "a")
    saved, own = small.state_dict(), big.state_dict()
    extra = sorted(k for k in own if k.startswith("camera_head.trunk.1."))
    assert extra and len(own) == len(saved) + len(extra)
    assert report == {"loaded": len(saved), "new": extra, "dropped": []}
    for name, value in saved.items():
        assert torch.equal(own[name], value), name
    for name in extra:  # untouched: still the fresh initialisation
        assert torch.equal(own[name], before[name]), name
    assert not torch.equal(before["patch_embed.weight"], saved["patch_embed.weight"])  # a real copy


def test_a_removed_camera_block_is_reported_dropped(tmp_path):
    small, big = _net(1, seed=0), _net(2, seed=1)
    big.save_pretrained(tmp_path / "b")
    report = warm_start(small, tmp_path / "b")
    dropped = sorted(k for k in big.state_dict() if k.startswith("camera_head.trunk.1."))
    assert report == {"loaded": len(small.state_dict()), "new": [], "dropped": dropped}
    for name, value in small.state_dict().items():
        assert torch.equal(value, big.state_dict()[name]), name


def test_a_shape_change_is_new_and_dropped(tmp_path):
    torch.manual_seed(0)
    saved = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    target = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 5))  # the second layer changed width
    (tmp_path / "m").mkdir()
    save_file(saved.state_dict(), tmp_path / "m" / "m.safetensors")
    report = warm_start(target, tmp_path / "m")
    assert report == {"loaded": 2, "new": ["1.bias", "1.weight"], "dropped": ["1.bias", "1.weight"]}
    assert torch.equal(target[0].weight, saved[0].weight) and torch.equal(target[0].bias, saved[0].bias)


class Wrap(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = nn.Linear(3, 2)


def test_a_saved_name_fits_the_one_model_name_ending_with_it(tmp_path):
    torch.manual_seed(0)
    plain = nn.Linear(3, 2)
    (tmp_path / "m").mkdir()
    save_file({"weight": plain.weight.detach(), "bias": plain.bias.detach()}, tmp_path / "m" / "m.safetensors")
    wrap = Wrap()
    report = warm_start(wrap, tmp_path / "m")
    assert report == {"loaded": 2, "new": [], "dropped": []}
    assert torch.equal(wrap.inner.weight, plain.weight) and torch.equal(wrap.inner.bias, plain.bias)


def test_an_ambiguous_suffix_fits_nothing(tmp_path):
    torch.manual_seed(0)
    (tmp_path / "m").mkdir()
    save_file(nn.Linear(3, 2).state_dict(), tmp_path / "m" / "m.safetensors")
    two = nn.ModuleDict({"a": nn.Linear(3, 2), "b": nn.Linear(3, 2)})  # "weight" ends a.weight and b.weight
    with pytest.raises(InputError, match="no tensor fits"):
        warm_start(two, tmp_path / "m")


def test_a_folder_without_one_safetensors_file_is_an_input_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "config.json").write_text("{}")
    with pytest.raises(InputError, match="found 0"):
        warm_start(nn.Linear(3, 2), tmp_path / "empty")
    two = tmp_path / "two"
    two.mkdir()
    for name in ("a", "b"):
        save_file(nn.Linear(3, 2).state_dict(), two / f"{name}.safetensors")
    with pytest.raises(InputError, match="found 2"):
        warm_start(nn.Linear(3, 2), two)


def test_nothing_fitting_is_an_input_error(tmp_path):
    (tmp_path / "m").mkdir()
    save_file(nn.Linear(3, 2).state_dict(), tmp_path / "m" / "m.safetensors")
    model = nn.Linear(4, 5)
    before = _clone_state(model)
    with pytest.raises(InputError, match="no tensor fits"):
        warm_start(model, tmp_path / "m")
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_switching_to_the_dpt_head_keeps_the_backbone_and_camera_head(tmp_path):
    torch.manual_seed(0)
    shuffle = GeometryNet(GeometryNetConfig(**TINY, camera_blocks=1))
    shuffle.save_pretrained(tmp_path / "s")
    torch.manual_seed(1)
    dpt = GeometryNet(GeometryNetConfig(**TINY, camera_blocks=1, dense_head="dpt"))
    report = warm_start(dpt, tmp_path / "s")
    heads = ("depth_head.", "point_head.")
    assert report["new"] and all(k.startswith(heads) for k in report["new"])
    assert report["dropped"] and all(k.startswith(heads) for k in report["dropped"])
    saved = shuffle.state_dict()
    for name, value in dpt.state_dict().items():
        if not name.startswith(heads):
            assert torch.equal(value, saved[name]), name
