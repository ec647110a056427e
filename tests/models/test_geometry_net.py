"""GeometryNet, tiny: output shapes, the camera head's detached refinement, frame permutation
equivariance (frame 0 is the reference), and an exact save/load round trip."""

import pytest
import torch

from genscene.models.geometry import GeometryNet, GeometryNetConfig

TINY = dict(dim=32, depth=2, heads=2, head_layers=(0, 1), head_dim=16, num_registers=1,
            camera_blocks=1, camera_iterations=3)
B, S, H, W = 1, 3, 16, 16


def _net(**overrides) -> GeometryNet:
    torch.manual_seed(0)
    return GeometryNet(GeometryNetConfig(**{**TINY, **overrides})).eval()


def _images(dtype=torch.float32) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.rand(B, S, 3, H, W, generator=g).to(dtype)


def test_output_shapes_and_ranges(one_thread):
    net = _net()
    with torch.no_grad():
        out = net(_images())
    assert out["pose_enc"].shape == (B, S, 9)
    assert len(out["pose_enc_list"]) == 3
    assert all(e.shape == (B, S, 9) for e in out["pose_enc_list"])
    assert out["pose_enc_list"][-1] is out["pose_enc"]
    for key in ("depth", "depth_conf", "points_conf"):
        assert out[key].shape == (B, S, H, W)
    assert out["points"].shape == (B, S, H, W, 3)
    assert (out["depth"] > 0).all() and (out["depth_conf"] > 1).all() and (out["points_conf"] > 1).all()
    n_tok = 1 + 1 + (H // 8) * (W // 8)  # camera + register + patches
    assert [t.shape for t in out["tokens"]] == [(B, S, n_tok, 64)] * 2
    with pytest.raises(ValueError, match="multiple of the patch size"):
        net(torch.rand(1, 2, 3, 12, 16))


def test_camera_passes_are_detached_corrections(one_thread):
    net = _net()
    head = net.camera_head
    tokens = torch.randn(B, S, 2 * TINY["dim"], generator=torch.Generator().manual_seed(2))
    estimates = head(tokens)
    assert len(estimates) == 3
    # only the first pass sees the learned start pose; later passes see a detached estimate
    estimates[-1].square().sum().backward()
    assert head.start.grad is None
    assert head.embed_pose.weight.grad is not None and head.inp.weight.grad.abs().sum() > 0
    net.zero_grad(set_to_none=True)
    estimates = head(tokens)
    estimates[0].square().sum().backward()
    assert head.start.grad is not None and head.start.grad.abs().sum() > 0
    # a loss on pass k+1 reaches no earlier estimate: each pass adds a correction to a detached value
    net.zero_grad(set_to_none=True)
    estimates = head(tokens)
    earlier = torch.autograd.grad(estimates[2].sum(), estimates[:2], allow_unused=True)
    assert earlier == (None, None)
    assert torch.autograd.grad(estimates[1].sum(), estimates[0], allow_unused=True) == (None,)


def test_permuting_non_reference_frames_permutes_outputs(one_thread):
    net = _net().double()
    images = _images(torch.float64)
    perm = torch.tensor([0, 2, 1])
    with torch.no_grad():
        out = net(images)
        out_p = net(images[:, perm])
    for key in ("pose_enc", "depth", "depth_conf", "points", "points_conf"):
        assert torch.allclose(out_p[key], out[key][:, perm].to(out_p[key].dtype), atol=1e-5), key
    for a, b in zip(out_p["pose_enc_list"], out["pose_enc_list"]):
        assert torch.allclose(a, b[:, perm], atol=1e-5)
    for a, b in zip(out_p["tokens"], out["tokens"]):
        assert torch.allclose(a, b[:, perm], atol=1e-5)
    # frame 0 is not interchangeable: it carries the reference tokens
    swap = torch.tensor([1, 0, 2])
    with torch.no_grad():
        out_s = net(images[:, swap])
    assert not torch.allclose(out_s["pose_enc"], out["pose_enc"][:, swap], atol=1e-5)


def test_save_and_load_reproduce_outputs_exactly(tmp_path, one_thread):
    net = _net()
    net.save_pretrained(tmp_path / "geo")
    loaded = GeometryNet.from_pretrained(tmp_path / "geo").eval()
    assert loaded.config == net.config
    images = _images()
    with torch.no_grad():
        a, b = net(images), loaded(images)
    for key in ("pose_enc", "depth", "depth_conf", "points", "points_conf"):
        assert torch.equal(a[key], b[key]), key
