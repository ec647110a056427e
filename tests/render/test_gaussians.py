"""The torch Gaussian rasterizer against analytic moments, a brute-force per-pixel loop and finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from genscene.cameras.cameras import Cameras, intrinsics_matrix, rigid_matrix
from genscene.errors import InputError
from genscene.geometry.gaussians import Gaussians
from genscene.geometry.projection import project, world_to_camera
from genscene.render.gaussians import gsplat_available, render_gaussians, resolve_backend, sh_basis, view_colors
from genscene.render.gaussians_torch import rasterize_torch
from genscene.rotations import quat_to_rotmat

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")


def _camera(f=60.0, w=64, h=64, w2c=None) -> Cameras:
    K = intrinsics_matrix(f, f, w / 2, h / 2)
    return Cameras(K=K, w2c=torch.eye(4, dtype=F64) if w2c is None else w2c, width=w, height=h).reshape(1)


def _one(mean, scales, quat=(1.0, 0.0, 0.0, 0.0), opacity=0.9, color=(1.0, 0.5, 0.25), dtype=F64) -> Gaussians:
    t = lambda x: torch.tensor([x], dtype=dtype)  # noqa: E731
    return Gaussians(means=t(mean), quats=t(quat), scales=t(scales), opacities=t(opacity), colors=t(color))


def _random(n: int, seed: int, dtype=F64, depth=3.0) -> Gaussians:
    g = torch.Generator().manual_seed(seed)
    return Gaussians(
        means=(torch.rand(n, 3, generator=g, dtype=dtype) - 0.5) * torch.tensor([2.0, 1.5, 1.0], dtype=dtype)
        + torch.tensor([0.0, 0.0, depth], dtype=dtype),
        quats=torch.nn.functional.normalize(torch.randn(n, 4, generator=g, dtype=dtype), dim=-1),
        scales=torch.rand(n, 3, generator=g, dtype=dtype) * 0.12 + 0.02,
        opacities=torch.rand(n, generator=g, dtype=dtype) * 0.9 + 0.05,
        colors=torch.rand(n, 3, generator=g, dtype=dtype),
    )


def _moments(alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Centroid [2] and covariance [2, 2] (x, y) of an image treated as a density, pixel centres at +0.5."""
    h, w = alpha.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=F64) + 0.5, torch.arange(w, dtype=F64) + 0.5, indexing="ij")
    p = alpha / alpha.sum()
    mean = torch.stack([(p * xs).sum(), (p * ys).sum()])
    d = torch.stack([xs - mean[0], ys - mean[1]], -1)  # [H, W, 2]
    return mean, torch.einsum("hw,hwi,hwj->ij", p, d, d)


def _truncation_factor(opacity: float) -> float:
    """Variance kept by a 2D Gaussian cut where o * exp(-r^2/2) < 1/255, i.e. at r^2 = 2 ln(255 o)."""
    a = math.log(255 * opacity)
    return (1 - math.exp(-a) * (1 + a)) / (1 - math.exp(-a))


def test_isotropic_gaussian_centre_and_size():
    # On the optical axis (principal point off the image centre) the projection is exactly isotropic.
    K = intrinsics_matrix(60.0, 60.0, 33.3, 29.6)
    cam = Cameras(K=K, w2c=torch.eye(4, dtype=F64), width=72, height=64).reshape(1)
    sigma, z = 0.2, 2.5
    g = _one((0.0, 0.0, z), (sigma,) * 3, opacity=0.8)
    out = render_gaussians(g, cam, backend="torch")
    mean, cov = _moments(out["alpha"][0])
    assert torch.allclose(mean, torch.tensor([33.3, 29.6], dtype=F64), atol=1e-3)
    expected_var = ((60.0 * sigma / z) ** 2 + 0.3) * _truncation_factor(0.8)  # (f sigma / z)^2 + eps2d
    assert cov[0, 0].item() == pytest.approx(expected_var, rel=0.01)
    assert cov[1, 1].item() == pytest.approx(expected_var, rel=0.01)
    assert abs(cov[0, 1].item()) < 1e-3 * expected_var


def test_rotated_anisotropic_gaussian_matches_projected_covariance():
    R = torch.linalg.matrix_exp(torch.tensor([[0, -0.3, 0.2], [0.3, 0, -0.1], [-0.2, 0.1, 0]], dtype=F64))
    cam = _camera(f=50.0, w=80, h=64, w2c=rigid_matrix(R, torch.tensor([0.05, -0.02, 0.3], dtype=F64)))
    angle = 0.7
    quat = (math.cos(angle / 2), 0.2 * math.sin(angle / 2), 0.3 * math.sin(angle / 2), 0.93 * math.sin(angle / 2))
    g = _one((0.1, 0.05, 2.4), (0.35, 0.08, 0.15), quat=quat, opacity=0.95)
    out = render_gaussians(g, cam, backend="torch")
    mean, cov = _moments(out["alpha"][0])
    # Independent reference: the Jacobian of the projection at the mean, by autograd through `project`.
    J = torch.autograd.functional.jacobian(lambda x: project(x[None], cam[0])[0][0], g.means[0])  # [2, 3]
    Rq = quat_to_rotmat(g.quats[0])
    cov3 = Rq @ torch.diag(g.scales[0] ** 2) @ Rq.T
    expected = (J @ cov3 @ J.T + 0.3 * torch.eye(2, dtype=F64)) * _truncation_factor(0.95)
    assert torch.allclose(mean, project(g.means, cam[0])[0][0], atol=2e-3)
    assert torch.allclose(cov, expected, rtol=0.015, atol=0.01 * expected.diagonal().mean().item())
    assert abs(expected[0, 1]) > 0.2 * expected[0, 0]  # the case really is rotated


def _brute_force(g: Gaussians, cam: Cameras, background, near=0.01) -> dict[str, np.ndarray]:
    """gsplat's per-pixel loop, written plainly in NumPy float64 (projection from the public formulas)."""
    K = cam.K.numpy()
    R, t = cam.w2c[:3, :3].numpy(), cam.w2c[:3, 3].numpy()
    means_c = g.means.numpy() @ R.T + t
    rot = quat_to_rotmat(g.quats).numpy()
    cov_c = R @ (rot * g.scales.numpy()[:, None, :] ** 2) @ rot.transpose(0, 2, 1) @ R.T
    h, w = cam.height, cam.width
    ys, xs = np.meshgrid(np.arange(h) + 0.5, np.arange(w) + 0.5, indexing="ij")
    T = np.ones((h, w))
    done = np.zeros((h, w), bool)
    acc = np.zeros((h, w, 4))
    for i in np.argsort(means_c[:, 2], kind="stable"):
        x, y, z = means_c[i]
        if z <= near:
            continue
        fx, fy = K[0, 0], K[1, 1]
        J = np.array([[fx / z, 0, -fx * x / z**2], [0, fy / z, -fy * y / z**2]])
        S = J @ cov_c[i] @ J.T + 0.3 * np.eye(2)
        Si = np.linalg.inv(S)
        u, v = fx * x / z + K[0, 2], fy * y / z + K[1, 2]
        dx, dy = xs - u, ys - v
        sig = 0.5 * (Si[0, 0] * dx**2 + Si[1, 1] * dy**2) + Si[0, 1] * dx * dy
        alpha = np.minimum(0.999, g.opacities[i].item() * np.exp(-sig))
        use = (alpha >= 1 / 255) & ~done
        next_T = T * (1 - alpha)
        stop = use & (next_T <= 1e-4)
        done |= stop
        use &= ~stop
        feat = np.append(g.colors[i].numpy(), z)
        acc += (use * alpha * T)[..., None] * feat
        T = np.where(use, next_T, T)
    alpha_img = 1 - T
    rgb = acc[..., :3] + T[..., None] * np.asarray(background)
    return {"rgb": rgb.transpose(2, 0, 1), "depth": acc[..., 3] / np.maximum(alpha_img, 1e-10), "alpha": alpha_img}


@pytest.mark.parametrize("budget,segment", [(1 << 22, 128), (4096, 3)])
def test_tiled_render_equals_brute_force_loop(budget, segment):
    g = _random(60, seed=1)
    g.scales[:5] *= 4  # a few large ones cover many tiles and saturate pixels (early stop)
    g.opacities[:5] = 0.995
    R = torch.linalg.matrix_exp(torch.tensor([[0, 0, 0.15], [0, 0, 0], [-0.15, 0, 0]], dtype=F64))
    w2c = torch.stack([torch.eye(4, dtype=F64), rigid_matrix(R, torch.tensor([0.2, 0.1, 0.3], dtype=F64))])
    cams = Cameras(K=intrinsics_matrix(40.0, 42.0, 21.0, 13.5).expand(2, 3, 3), w2c=w2c, width=40, height=27)
    bg = torch.tensor([0.2, 0.4, 0.6], dtype=F64)
    viewmats, Ks = cams.w2c, cams.K
    out = rasterize_torch(g.means, g.quats, g.scales, g.opacities, g.colors.expand(2, -1, -1), viewmats, Ks,
                          40, 27, bg.expand(2, 3), budget=budget, segment=segment)
    for b in range(2):
        ref = _brute_force(g, cams[b], bg)
        for key in ("rgb", "depth", "alpha"):
            np.testing.assert_allclose(out[key][b].numpy(), ref[key], atol=1e-9, err_msg=key)
    assert (out["alpha"] > 0.9989).any()  # saturated pixels exist, so early stop was exercised


def test_opacity_limits_and_exclusive_early_stop():
    cam = _camera(f=60.0, w=32, h=32)
    # Mean projects exactly onto the centre of pixel (16, 16): alpha there is the opacity itself.
    g = _one((0.5 / 60 * 2.0, 0.5 / 60 * 2.0, 2.0), (0.1,) * 3, opacity=0.6)
    out = render_gaussians(g, cam, backend="torch")
    assert out["alpha"][0, 16, 16].item() == pytest.approx(0.6, abs=1e-12)
    assert out["alpha"].max().item() == pytest.approx(0.6, abs=1e-12)
    on_pixel = lambda z: (0.5 / 60 * z, 0.5 / 60 * z, z)  # noqa: E731
    opaque = _one(on_pixel(2.0), (0.3,) * 3, opacity=1.0)
    assert render_gaussians(opaque, cam, backend="torch")["alpha"].max().item() == pytest.approx(0.999, abs=1e-12)
    faint = _one(on_pixel(2.0), (0.3,) * 3, opacity=0.9 / 255)
    assert render_gaussians(faint, cam, backend="torch")["alpha"].abs().max().item() == 0.0
    # Two opaque Gaussians: after the first T = 1e-3; the second would bring it to 1e-6 <= 1e-4 and is skipped.
    two = Gaussians.cat([_one(on_pixel(2.0), (0.3,) * 3, opacity=1.0, color=(1.0, 0.0, 0.0)),
                         _one(on_pixel(3.0), (0.5,) * 3, opacity=1.0, color=(0.0, 1.0, 0.0))])
    out = render_gaussians(two, cam, background=(0.0, 0.0, 1.0), backend="torch")
    centre = out["rgb"][0, :, 16, 16]
    assert torch.allclose(centre, torch.tensor([0.999, 0.0, 0.001], dtype=F64), atol=1e-12)
    assert out["depth"][0, 16, 16].item() == pytest.approx(2.0, abs=1e-12)


def test_background_blending_and_empty_image():
    cam = _camera(w=24, h=20)
    g = _one((0.0, 0.0, 2.0), (0.1,) * 3, opacity=0.7, color=(1.0, 1.0, 1.0))
    bg = (0.1, 0.2, 0.9)
    out = render_gaussians(g, cam, background=bg, backend="torch")
    a = out["alpha"][0]
    expected = a + (1 - a) * torch.tensor(bg, dtype=F64)[:, None, None]
    assert torch.allclose(out["rgb"][0], expected, atol=1e-12)
    behind = _one((0.0, 0.0, -2.0), (0.1,) * 3)
    empty = render_gaussians(behind, cam, background=bg, backend="torch")
    assert torch.equal(empty["alpha"], torch.zeros(1, 20, 24, dtype=F64))
    assert torch.equal(empty["depth"], torch.zeros(1, 20, 24, dtype=F64))
    assert torch.allclose(empty["rgb"][0], torch.tensor(bg, dtype=F64)[:, None, None].expand(3, 20, 24))


def test_depth_is_expected_z_normalised_by_alpha():
    cam = _camera(w=32, h=32)
    z = 2.75
    single = render_gaussians(_one((0.05, 0.0, z), (0.2,) * 3, opacity=0.5), cam, backend="torch")
    hit = single["alpha"][0] > 0
    assert hit.sum() > 20
    assert torch.allclose(single["depth"][0][hit], torch.full_like(single["depth"][0][hit], z), atol=1e-12)
    two = Gaussians.cat([_one((0.0, 0.0, 2.0), (0.3,) * 3, opacity=0.5),
                         _one((0.0, 0.0, 4.0), (0.6,) * 3, opacity=0.5)])
    out = render_gaussians(two, cam, backend="torch")
    # Centre pixel sees both nearly at their peaks: weights a1 and a2 (1 - a1).
    a1 = 0.5 * math.exp(-0.5 * (0.5**2 * 2) / ((60 * 0.3 / 2.0) ** 2 + 0.3))
    a2 = 0.5 * math.exp(-0.5 * (0.5**2 * 2) / ((60 * 0.6 / 4.0) ** 2 + 0.3))
    w1, w2 = a1, a2 * (1 - a1)
    pixel = out["depth"][0, 16, 16].item()
    assert pixel == pytest.approx((2.0 * w1 + 4.0 * w2) / (w1 + w2), rel=1e-9)


def test_finite_difference_gradients_tiny_case():
    cam = _camera(f=12.0, w=10, h=9)
    g = _random(3, seed=5, depth=2.0)
    g.scales.mul_(3.0)
    params = [g.means.clone(), g.quats.clone(), g.scales.clone(), g.opacities.clone(), g.colors.clone()]

    # Fixed random projections of the outputs keep gradcheck to a few backward passes.
    gen = torch.Generator().manual_seed(6)
    w_rgb, w_depth, w_alpha = (torch.rand(s, generator=gen, dtype=F64) for s in ((1, 3, 9, 10), (1, 9, 10), (1, 9, 10)))

    def render(means, quats, scales, opacities, colors):
        out = render_gaussians(Gaussians(means, quats, scales, opacities, colors), cam, background=(0.3, 0.2, 0.1),
                               backend="torch")
        return (out["rgb"] * w_rgb).sum(), (out["depth"] * w_depth).sum(), (out["alpha"] * w_alpha).sum()

    inputs = tuple(p.requires_grad_(True) for p in params)
    assert torch.autograd.gradcheck(render, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)


def test_batched_cameras_equal_single_renders_and_float32_close():
    g = _random(40, seed=2)
    R = torch.linalg.matrix_exp(torch.tensor([[0, 0, -0.2], [0, 0, 0], [0.2, 0, 0]], dtype=F64))
    w2c = torch.stack([torch.eye(4, dtype=F64), rigid_matrix(R, torch.tensor([0.3, 0.0, 0.1], dtype=F64))])
    cams = Cameras(K=intrinsics_matrix(30.0, 30.0, 16.0, 12.0).expand(2, 3, 3), w2c=w2c, width=32, height=24)
    both = render_gaussians(g, cams, backend="torch")
    for b in range(2):
        alone = render_gaussians(g, cams[b], backend="torch")
        assert torch.allclose(both["rgb"][b], alone["rgb"][0], atol=1e-12)
    f32 = render_gaussians(g.to(dtype=torch.float32), cams, backend="torch")
    assert f32["rgb"].dtype == torch.float32
    assert torch.allclose(f32["rgb"].double(), both["rgb"], atol=1e-4)
    assert torch.allclose(f32["alpha"].double(), both["alpha"], atol=1e-4)


def test_bf16_gaussians_under_autocast_render_in_float32():
    """A training step's autocast (the decoder stage's bf16 on CUDA) must not reach the compositing: on CUDA
    its index_add once failed on a bf16 source, and half-precision alphas would lose the faint Gaussians."""
    g = _random(40, seed=2)
    cam = Cameras(K=intrinsics_matrix(30.0, 30.0, 16.0, 12.0), w2c=torch.eye(4, dtype=F64), width=32, height=24)
    ref = render_gaussians(g.to(dtype=torch.float32), cam, backend="torch")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = render_gaussians(g.to(dtype=torch.bfloat16), cam, backend="torch")
    assert out["rgb"].dtype == torch.float32
    half = render_gaussians(g.to(dtype=torch.bfloat16).to(dtype=torch.float32), cam, backend="torch")
    assert torch.allclose(out["rgb"], half["rgb"], atol=1e-6)  # exactly the float32 render of the bf16 values
    assert torch.allclose(out["rgb"], ref["rgb"], atol=0.05)  # which is close to the float32 Gaussians' render


def test_view_dependent_colour_from_degree_one_sh():
    g = _one((0.0, 0.0, 2.0), (0.1,) * 3, color=(0.2, 0.3, 0.4))
    g.sh_rest = torch.zeros(1, 3, 3, dtype=F64)
    g.sh_rest[0, 1] = torch.tensor([0.5, 0.0, -1.0], dtype=F64)  # coefficient of Y_1^0 (the z term)
    centers = torch.zeros(1, 3, dtype=F64)  # looking along +z: direction (0, 0, 1)
    rgb = view_colors(g, centers)[0, 0]
    c1 = 0.4886025119029199
    assert torch.allclose(rgb, torch.tensor([0.2 + 0.5 * c1, 0.3, max(0.0, 0.4 - c1)], dtype=F64))
    # The basis is orthonormal on the sphere: (4 pi) E[Y_i Y_j] = delta_ij (Monte Carlo check).
    d = torch.nn.functional.normalize(torch.randn(50_000, 3, generator=torch.Generator().manual_seed(0),
                                                  dtype=F64), dim=-1)
    Y = sh_basis(d, 3)  # [M, 15]
    gram = 4 * math.pi * Y.T @ Y / len(d)
    assert torch.allclose(gram, torch.eye(15, dtype=F64), atol=0.05)


def test_backend_resolution_never_swaps_silently():
    assert resolve_backend("auto", torch.device("cpu")) == "torch"
    assert resolve_backend("torch", torch.device("cpu")) == "torch"
    with pytest.raises(InputError, match="backend"):
        resolve_backend("gsplat", torch.device("cpu"))
    with pytest.raises(InputError, match="unknown backend"):
        render_gaussians(_one((0, 0, 2), (0.1,) * 3), _camera(), backend="cuda-magic")


def test_gaussians_behind_or_outside_are_culled():
    cam = _camera(w=32, h=32)
    near = render_gaussians(_one((0.0, 0.0, 0.005), (0.001,) * 3), cam, backend="torch")
    assert near["alpha"].max().item() == 0.0
    far_side = render_gaussians(_one((5.0, 0.0, 2.0), (0.05,) * 3), cam, backend="torch")
    assert far_side["alpha"].max().item() == 0.0
    uv, z = project(torch.tensor([[5.0, 0.0, 2.0]], dtype=F64), cam[0])
    assert uv[0, 0] > 32 and z[0] > 0 and world_to_camera(torch.zeros(1, 3, dtype=F64), cam[0]).abs().max() == 0


def test_chunked_segmented_gradients_equal_single_pass():
    g = _random(30, seed=3)
    g.scales[:4] *= 4
    g.opacities[:4] = 0.99
    cams = _camera(f=30.0, w=40, h=27)
    weights = torch.rand(1, 3, 27, 40, generator=torch.Generator().manual_seed(1), dtype=F64)
    grads = []
    for budget, segment in ((1 << 22, 1024), (4096, 5)):
        leaves = [t.clone().requires_grad_(True) for t in (g.means, g.quats, g.scales, g.opacities, g.colors)]
        means, quats, scales, opacities, colors = leaves
        out = rasterize_torch(means, quats, scales, opacities, colors[None], cams.w2c, cams.K, 40, 27,
                              torch.zeros(1, 3, dtype=F64), budget=budget, segment=segment)
        ((out["rgb"] * weights).sum() + out["alpha"].sum() + (out["depth"] * out["alpha"]).sum()).backward()
        grads.append([t.grad for t in leaves])
    for single, chunked in zip(*grads):
        assert single.abs().max() > 0
        assert torch.allclose(single, chunked, atol=1e-10, rtol=1e-9)


@pytest.mark.skipif(not gsplat_available(), reason="needs CUDA and gsplat (scripts/gpu_parity_gaussians.py)")
def test_gsplat_and_torch_agree_on_cuda():
    g = _random(500, seed=9, dtype=torch.float32).to(device="cuda")
    cams = _camera(f=50.0, w=80, h=60)
    ref = render_gaussians(g, cams, background=(0.1, 0.2, 0.3), backend="torch")
    other = render_gaussians(g, cams, background=(0.1, 0.2, 0.3), backend="gsplat")
    for key in ("rgb", "alpha"):
        assert (ref[key] - other[key]).abs().max().item() < 5e-3
        assert (ref[key] - other[key]).abs().mean().item() < 1e-5
