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


def _head_inputs(net: GeometryNet, gh: int = 4, gw: int = 4):
    g = torch.Generator().manual_seed(3)
    layers = [torch.randn(1, gh * gw, 2 * TINY["dim"], generator=g) for _ in TINY["head_layers"]]
    image = torch.rand(1, 3, gh * 8, gw * 8, generator=g)
    return layers, image


@pytest.mark.parametrize("kind", ["shuffle", "dpt"])
def test_both_dense_heads_give_full_resolution_maps(kind, one_thread):
    net = _net(dense_head=kind)
    with torch.no_grad():
        out = net(_images())
    assert out["depth"].shape == (B, S, H, W) and out["points"].shape == (B, S, H, W, 3)
    assert torch.isfinite(out["depth"]).all() and (out["depth_conf"] > 1).all()


def test_a_patch_token_reaches_past_its_patch_only_through_the_dpt_head(one_thread):
    # the shuffle head decodes each token to its own 8x8 pixels (+2 px of refining convs): blocks;
    # the DPT head fuses tokens on coarse grids first, so one token moves pixels well beyond its patch
    reach = {}
    for kind in ("shuffle", "dpt"):
        head = _net(dense_head=kind).depth_head
        layers, image = _head_inputs(_net())
        with torch.no_grad():
            base = head(layers, 4, 4, image)
            moved = [t.clone() for t in layers]
            for t in moved:
                t[0, 0] += 5.0  # token of the top-left patch (pixels 0..7)
            changed = (head(moved, 4, 4, image) - base).abs().amax(dim=(0, 1)) > 1e-6  # [32, 32]
        reach[kind] = int(changed.nonzero().max())
    assert reach["shuffle"] <= 7 + 2
    assert reach["dpt"] > 7 + 8


def test_the_dpt_image_branch_is_local_at_full_resolution(one_thread):
    head = _net(dense_head="dpt").depth_head
    layers, image = _head_inputs(_net())
    with torch.no_grad():
        base = head(layers, 4, 4, image)
        poked = image.clone()
        poked[0, :, 16, 16] += 1.0
        diff = (head(layers, 4, 4, poked) - base).abs().amax(dim=(0, 1))
    assert diff[16, 16] > 0
    ys, xs = diff.gt(0).nonzero().unbind(-1)
    assert (ys - 16).abs().max() <= 3 and (xs - 16).abs().max() <= 3  # three 3x3 convs: radius 3


def test_an_unknown_dense_head_is_refused():
    with pytest.raises(ValueError, match="dense_head"):
        _net(dense_head="upconv")
