"""The flow's likelihood is exact: densities integrate to one, pixel-cell probabilities sum to one."""

from __future__ import annotations

import itertools

import pytest
import torch

from genforge.cli import main


def test_vector_density_integrates_to_one(small_flow):
    model = small_flow((2,), scale=0.2)
    axis = torch.linspace(-9, 9, 721)
    step = float(axis[1] - axis[0])
    points = torch.cartesian_prod(axis, axis)
    logp = model.log_likelihood(points)["exact"]
    assert logp.dtype == torch.float64 and logp.shape == (len(points),)
    mass = float(logp.exp().sum()) * step * step
    assert mass == pytest.approx(1.0, abs=0.01)


def test_pixel_cell_probabilities_sum_to_one(small_flow):
    """Over all 4^2 cells of a two-pixel, four-level image, the dequantized model's P(cell) sums to 1."""
    model = small_flow((1, 1, 2), kind="image", levels=4, scale=0.2)
    cells = torch.tensor(list(itertools.product(range(4), repeat=2)), dtype=torch.float32) / 3
    out = model.log_likelihood(cells.view(16, 1, 1, 2), k=4000, generator=torch.Generator().manual_seed(0))
    assert float(out["iw"].exp().sum()) == pytest.approx(1.0, abs=0.03)
    assert bool((out["exact"] <= out["iw"] + 1e-9).all())  # Jensen: the mean of logs is below


def test_one_draw_gives_equal_estimates_and_labels_are_refused(small_flow):
    model = small_flow((1, 2, 2), kind="image", levels=17)
    x = torch.rand(5, 1, 2, 2)
    out = model.log_likelihood(x, k=1, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out["exact"], out["iw"])
    with pytest.raises(ValueError, match="not conditional"):
        model.log_likelihood(x, labels=torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="k = 0"):
        model.log_likelihood(x, k=0)


@pytest.mark.parametrize(("data", "keys"), [("toy2d", ["nll_exact"]), ("digits", ["nll_exact", "nll_iw"])])
def test_genforge_eval_reports_the_flow_s_nll(tmp_path, capsys, data, keys):
    run = str(tmp_path / "run")
    assert main(["train", "--model", "flow", "--data", data, "--steps", "3", "--out", run, "--no-progress",
                 "--set", "model.hidden=8", "--set", "model.coupling_layers=2",
                 "--set", "trainer.batch_size=16"]) == 0
    capsys.readouterr()
    assert main(["eval", run, "--metrics", "nll", "--k", "2", "--seeds", "1"]) == 0
    table = capsys.readouterr().out
    for key in keys:
        assert key in table
    assert ("nll_iw" in table) == (data == "digits")
