"""Invertibility and exact log-determinants of the flow's layers."""

from __future__ import annotations

import torch

from genforge_flow.layers import Affine, AffineCoupling, alternating_masks


def test_masks_alternate_checkerboard_for_images_and_even_odd_for_vectors():
    masks = alternating_masks((1, 4, 4), 3)
    board = masks[0].view(4, 4)
    assert board[0, 0] == 0 and board[0, 1] == 1 and board[1, 0] == 1 and board[1, 1] == 0
    assert torch.equal(masks[1], 1 - masks[0]) and torch.equal(masks[2], masks[0])
    assert alternating_masks((2,), 2).tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_a_fresh_coupling_is_the_identity():
    layer = AffineCoupling(alternating_masks((6,), 1)[0], 16, 2, 2.0)
    x = torch.randn(4, 6)
    y, logdet = layer(x)
    assert torch.equal(y, x) and torch.equal(logdet, torch.zeros(4))


def test_coupling_and_affine_invert_exactly(randomise):
    for layer in (AffineCoupling(alternating_masks((6,), 1)[0], 16, 2, 2.0), Affine(6)):
        randomise(layer)
        x = torch.randn(10, 6)
        y, _ = layer(x)
        assert not torch.allclose(y, x)
        assert torch.allclose(layer.inverse(y), x, atol=1e-5)


def test_coupling_leaves_masked_dimensions_alone(randomise):
    mask = alternating_masks((6,), 1)[0]
    layer = randomise(AffineCoupling(mask, 16, 1, 2.0))
    x = torch.randn(5, 6)
    y, _ = layer(x)
    kept = mask.bool()
    assert torch.equal(y[:, kept], x[:, kept]) and not torch.allclose(y[:, ~kept], x[:, ~kept])


def test_log_determinant_is_the_jacobian_s(small_flow):
    model = small_flow((4,), coupling_layers=3).double()
    x = torch.randn(3, 4, dtype=torch.float64)
    _, logdet = model.to_latent(x)
    for i in range(3):
        jac = torch.autograd.functional.jacobian(lambda v: model.to_latent(v[None])[0][0], x[i])
        assert torch.allclose(logdet[i], torch.linalg.slogdet(jac).logabsdet, atol=1e-9)


def test_generate_is_the_inverse_pass(small_flow):
    model = small_flow((2,))
    x = torch.randn(7, 2)
    z, _ = model.to_latent(x)
    assert torch.allclose(model.generate(z), x, atol=1e-5)


def test_pixel_cell_centres_come_back_as_their_levels(small_flow):
    model = small_flow((1, 4, 4), kind="image", levels=17)
    levels = torch.randint(0, 17, (3, 16), generator=torch.Generator().manual_seed(0)).float()
    x = levels / 16
    v, _ = model.dequantizer.to_logits(x, torch.full_like(x, 0.5))  # the centre of each cell
    z, _ = model.to_latent(v)
    out = model.generate(z)
    assert out.shape == (3, 1, 4, 4)
    assert torch.allclose(out.reshape(3, 16), x, atol=1e-4)
