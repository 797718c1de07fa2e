"""The shared samplers on a Gaussian whose exact predictions are known: each lands on the data law."""

from __future__ import annotations

import math

import numpy as np
import pytest

from genforge_runtime import samplers
from genforge_runtime.noise import NoiseStreams

M, SD = 0.7, 0.3  # the data: N(M, SD^2) in each coordinate


def diffusion_predict(process: samplers.Process):
    """The exact epsilon or v prediction for Gaussian data under ``process``'s schedule."""
    table = samplers.alphas_cumprod(process)

    def predict(x: np.ndarray, t: float) -> np.ndarray:
        a = table[int(t)]
        var = a * SD * SD + 1.0 - a
        eps = (x - math.sqrt(a) * M) * (math.sqrt(1.0 - a) / var)
        if process.prediction == "epsilon":
            return eps
        x0 = M + (x - math.sqrt(a) * M) * (math.sqrt(a) * SD * SD / var)
        return eps * math.sqrt(a) - x0 * math.sqrt(1.0 - a)

    return predict


def flow_predict(x: np.ndarray, s: float) -> np.ndarray:
    """The exact velocity eps - x0 for Gaussian data on the path (1 - s) x0 + s eps."""
    var = (1.0 - s) ** 2 * SD * SD + s * s
    centred = x - (1.0 - s) * M
    return centred * (s / var) - (M + centred * ((1.0 - s) * SD * SD / var))


CASES = [
    (samplers.Process("diffusion", "linear", "epsilon"), "ddpm", 1000, 0.0),
    (samplers.Process("diffusion", "cosine", "v"), "ddpm", 400, 0.0),
    (samplers.Process("diffusion", "linear", "epsilon"), "ddim", 200, 0.0),
    (samplers.Process("diffusion", "cosine", "epsilon"), "ddim", 200, 1.0),
    (samplers.Process("diffusion", "linear", "v"), "dpmpp_2m", 80, 0.0),
    (samplers.Process("diffusion", "cosine", "epsilon"), "dpmpp_2m", 40, 0.0),
    (samplers.Process("flow", "linear", "velocity"), "euler", 200, 0.0),
    (samplers.Process("flow", "linear", "velocity"), "heun", 40, 0.0),
]


@pytest.mark.parametrize(("process", "kind", "steps", "eta"), CASES,
                         ids=[f"{p.schedule}-{p.prediction}-{k}-{s}" for p, k, s, _ in CASES])
def test_sampler_recovers_the_data_law(process, kind, steps, eta):
    streams = NoiseStreams(0)
    n = 20000
    x = streams.latents(n, 1)
    predict = flow_predict if process.kind == "flow" else diffusion_predict(process)
    sampler = samplers.make(process, samplers.Settings(kind, steps, eta))
    out = sampler.run(x, predict, lambda j: streams.step(j, (n, 1)))
    assert out.dtype == np.float32 and out.shape == (n, 1)
    assert abs(float(out.mean()) - M) < 0.01
    assert abs(float(out.std()) - SD) < 0.012  # the discretisation shrinks it slightly


def test_fewer_steps_land_further_from_the_law_deterministic_samplers_draw_no_noise():
    process = samplers.Process("diffusion", "linear", "epsilon")
    x = NoiseStreams(1).latents(4000, 1)

    def refuse(j: int) -> np.ndarray:
        raise AssertionError("a deterministic sampler drew noise")

    stds = [float(samplers.make(process, samplers.Settings(kind, steps)).run(
        x, diffusion_predict(process), refuse).std()) for kind, steps in
        (("ddim", 10), ("ddim", 200), ("dpmpp_2m", 10), ("dpmpp_2m", 80))]
    assert abs(stds[1] - SD) < abs(stds[0] - SD) and abs(stds[3] - SD) < abs(stds[2] - SD)


def test_guidance_combines_conditional_and_unconditional():
    def pair(x, t):
        return x * 0.0 + 3.0, x * 0.0 + 1.0  # (conditional, unconditional)

    x = np.zeros(2, dtype=np.float32)
    assert samplers.guided(pair, 2.0)(x, 0.5).tolist() == [5.0, 5.0]  # u + 2 (c - u)
    assert samplers.guided(pair, 0.5)(x, 0.5).tolist() == [2.0, 2.0]


def test_timesteps_start_at_the_last_training_step():
    p = samplers.Process()
    assert samplers.timesteps(p, 1000) == list(range(999, -1, -1))
    assert samplers.timesteps(p, 10) == [999, 899, 799, 699, 599, 499, 399, 299, 199, 99]


@pytest.mark.parametrize(("fields", "message"), [
    ({"sampler": "euler", "steps": 10}, "sampler 'euler': a diffusion model takes ddpm, ddim, dpmpp_2m"),
    ({"sampler": "ddpm", "steps": 0}, "steps 0: expected an integer from 1 to 1000"),
    ({"sampler": "ddpm", "steps": 1001}, "steps 1001: expected an integer from 1 to 1000"),
    ({"sampler": "ddim", "steps": 5, "eta": -1.0}, "eta -1.0: expected a finite number >= 0"),
    ({"sampler": "ddim", "steps": 5, "guidance": float("nan")}, "guidance nan: expected a finite"),
])
def test_bad_settings_name_the_field(fields, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        samplers.Settings(**fields).check(samplers.Process())


def test_process_round_trips_and_rejects_unknown_fields():
    p = samplers.Process("flow", "linear", "velocity", 2, 0.5, 0.5)
    assert samplers.Process.from_dict(p.to_dict()) == p
    with pytest.raises(ValueError, match="process: unknown field 'sigma'"):
        samplers.Process.from_dict({"sigma": 1})
    with pytest.raises(ValueError, match="process.prediction 'v': a flow process takes velocity"):
        samplers.Process("flow", "linear", "v")
