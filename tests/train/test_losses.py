"""Geometry losses: exact values on hand-built inputs, the quaternion sign symmetry, the pass weights."""

import math

import torch

from genscene.train.losses import camera_loss, confidence_regression_loss, iterative_camera_loss


def _enc(rows: list[list[float]]) -> torch.Tensor:
    return torch.tensor([rows], dtype=torch.float64)  # [1, S, 9]


# translation (3), quaternion xyzw (4), fov_h, fov_w
PRED = _enc([[1, 2, 3, 0, 0.2, 0, 1, 1.0, 1.0],
             [0, 0, 0, 0.1, 0, 0, -1, 0.5, 0.5]])
GT = _enc([[0, 0, 0, 0, 0, 0, 1, 0.5, 0.5],
           [0, 0, 1, 0, 0, 0, 1, 0.5, 1.5]])


def test_camera_loss_hand_value():
    t = (1 + 2 + 3 + 0 + 0 + 1) / 6
    # frame 0: same sign is closer (|0.2| / 4); frame 1: the negated gt is closer (|0.1| / 4)
    q = (0.2 / 4 + 0.1 / 4) / 2
    fov = (0.5 + 0.5 + 0 + 1) / 4
    assert math.isclose(camera_loss(PRED, GT).item(), t + q + 0.5 * fov, rel_tol=1e-12)
    assert math.isclose(camera_loss(PRED, GT, focal_weight=2.0).item(), t + q + 2.0 * fov, rel_tol=1e-12)


def test_camera_loss_ignores_the_quaternion_sign():
    g = torch.Generator().manual_seed(0)
    pred, gt = torch.randn(2, 3, 9, generator=g), torch.randn(2, 3, 9, generator=g)
    flipped = pred.clone()
    flipped[..., 3:7] *= -1
    assert torch.allclose(camera_loss(flipped, gt), camera_loss(pred, gt), atol=0, rtol=1e-6)
    one = pred.clone()
    one[1, 2, 3:7] *= -1  # a single frame's sign
    assert torch.allclose(camera_loss(one, gt), camera_loss(pred, gt), atol=0, rtol=1e-6)
    assert camera_loss(gt, gt).item() == 0.0
    negated_gt = gt.clone()
    negated_gt[..., 3:7] *= -1
    assert camera_loss(negated_gt, gt).item() == 0.0


def test_iterative_camera_loss_weights_later_passes_more():
    g = torch.Generator().manual_seed(1)
    gt = torch.randn(2, 3, 9, generator=g, dtype=torch.float64)
    estimates = [torch.randn(2, 3, 9, generator=g, dtype=torch.float64) for _ in range(3)]
    parts = [camera_loss(e, gt).item() for e in estimates]
    expected = (0.6**2 * parts[0] + 0.6 * parts[1] + parts[2]) / 3
    assert math.isclose(iterative_camera_loss(estimates, gt).item(), expected, rel_tol=1e-12)
    expected_09 = (0.81 * parts[0] + 0.9 * parts[1] + parts[2]) / 3
    assert math.isclose(iterative_camera_loss(estimates, gt, gamma=0.9).item(), expected_09, rel_tol=1e-12)
    assert iterative_camera_loss(estimates[:1], gt).item() == camera_loss(estimates[0], gt).item()


def _dense_case():
    """[1, 1, 2, 2, 2]: errors 5 (3-4-5), 1, 0; the fourth pixel is invalid and holds inf."""
    target = torch.zeros(1, 1, 2, 2, 2, dtype=torch.float64)
    pred = torch.tensor([[[3.0, 4.0], [0.0, 1.0]], [[0.0, 0.0], [math.inf, math.inf]]], dtype=torch.float64)
    conf = torch.tensor([[2.0, math.e], [1.5, 3.0]], dtype=torch.float64)
    valid = torch.tensor([[True, True], [True, False]])
    return pred[None, None], target, conf[None, None], valid[None, None]


def test_confidence_loss_hand_value_skips_invalid_inf():
    pred, target, conf, valid = _dense_case()
    per_pixel = [2 * 5 - 0.2 * math.log(2) + 5, math.e * 1 - 0.2 * 1 + 1, 1.5 * 0 - 0.2 * math.log(1.5) + 0]
    loss = confidence_regression_loss(pred, target, conf, valid, grad_weight=0)
    assert torch.isfinite(loss)
    assert math.isclose(loss.item(), sum(per_pixel) / 3, rel_tol=1e-12)
    alpha1 = [10 - math.log(2) + 5, math.e - 1 + 1, -math.log(1.5)]
    assert math.isclose(confidence_regression_loss(pred, target, conf, valid, alpha=1.0, grad_weight=0).item(),
                        sum(alpha1) / 3, rel_tol=1e-12)
    # the gradient term also masks the inf pixel out
    assert torch.isfinite(confidence_regression_loss(pred, target, conf, valid, grad_weight=1.0))


def test_confidence_loss_backward_is_finite_and_ignores_what_invalid_pixels_hold():
    """A target of inf or nan at an invalid pixel (fp16 overflow) gives the same gradients as a target of 0 there."""
    pred, target, conf, valid = _dense_case()
    pred = torch.where(valid[..., None], pred, 0.3)  # a finite prediction: only the target is bad
    grads = []
    for bad in (0.0, math.inf, math.nan):
        tgt = target.clone()
        tgt[0, 0, 1, 1] = bad
        p, c = pred.clone().requires_grad_(), conf.clone().requires_grad_()
        confidence_regression_loss(p, tgt, c, valid, grad_weight=1.0).backward()
        grads.append((p.grad, c.grad))
    for gp, gc in grads:
        assert torch.isfinite(gp).all() and torch.isfinite(gc).all()
        assert torch.equal(gp, grads[0][0]) and torch.equal(gc, grads[0][1])
    assert (grads[0][0][0, 0, 1, 1] == 0).all() and grads[0][1][0, 0, 1, 1] == 0


def test_confidence_loss_gradient_term_vanishes_for_a_constant_offset():
    g = torch.Generator().manual_seed(2)
    target = torch.randint(-4, 5, (1, 2, 3, 4, 3), generator=g).double()
    pred = target + 0.5  # exact in binary: image gradients of pred and target are equal
    conf = 1 + torch.rand(1, 2, 3, 4, generator=g, dtype=torch.float64)
    valid = torch.rand(1, 2, 3, 4, generator=g) > 0.3
    plain = confidence_regression_loss(pred, target, conf, valid, grad_weight=0)
    with_grad = confidence_regression_loss(pred, target, conf, valid, grad_weight=1.0)
    assert with_grad.item() == plain.item()
    err = 0.5 * math.sqrt(3)
    expected = ((conf * err - 0.2 * conf.log() + err)[valid]).mean()
    assert math.isclose(plain.item(), expected.item(), rel_tol=1e-12)


def test_confidence_loss_gradient_term_hand_value():
    # one row of two pixels, C = 1: a W-gradient of 1 against 0, weighted by the left pixel's conf
    pred = torch.tensor([0.0, 1.0], dtype=torch.float64).view(1, 1, 1, 2, 1)
    target = torch.zeros_like(pred)
    conf = torch.tensor([2.0, 3.0], dtype=torch.float64).view(1, 1, 1, 2)
    valid = torch.ones(1, 1, 1, 2, dtype=torch.bool)
    base = (2 * 0 - 0.2 * math.log(2) + 0 + 3 * 1 - 0.2 * math.log(3) + 1) / 2
    loss = confidence_regression_loss(pred, target, conf, valid, grad_weight=0.5)
    assert math.isclose(loss.item(), base + 0.5 * 2 * 1, rel_tol=1e-12)
