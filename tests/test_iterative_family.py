"""The iterative contract: a tiny DDPM (tests/iterative_family) through the kit, the CLI and the runtime."""

from __future__ import annotations

import pytest
import torch

from genforge import hookimpl, iterate
from genforge.plugins import Plugins
from genforge.testing import ConformanceError
from genforge.testing.checks import checks_for
from genforge.testing.subject import Subject
from tests.iterative_family import plugin as tiny_plugin
from tests.iterative_family.model import TinyDDPM


class TextbookDDPM(TinyDDPM):
    """The same DDPM with the loop written the textbook way: fresh noise from torch's global RNG."""

    def generate(self, z, labels=None, *, noise=None, options=None):
        from genforge_runtime.samplers import DDPM, Settings

        steps = (options or tiny_plugin.TinyDDPMSampling()).steps
        sampler = DDPM(self.sampling_process(), Settings("ddpm", steps).steps)
        x = z.reshape(len(z), *self.shape)

        def predict(x, t):
            return self.net(x, torch.full((len(x),), t), labels)

        out = sampler.run(x, predict, lambda j: torch.randn_like(x))
        return (out * 0.5 + 0.5).clamp(0, 1) if self.image else out


class TextbookPlugin:
    """Registers ``textbook_ddpm`` next to ``tinyddpm``."""

    @hookimpl
    def genforge_register_models(self, register):
        register("textbook_ddpm", TextbookDDPM, tiny_plugin.TinyDDPMConfig, conditional=True,
                 sampler=tiny_plugin.TinyDDPMSampling, tiny={"hidden": 16})


PLUGINS = Plugins(extra=[tiny_plugin, TextbookPlugin()])


IN_PROCESS = {"entry_module_is_light"}  # needs an installed entry point; this plugin is in-process


@pytest.mark.parametrize("check", [c for c in checks_for(Subject("tinyddpm", PLUGINS))
                                   if c.name not in IN_PROCESS], ids=repr)
def test_the_contract_ddpm_passes_the_kit(check):
    check(Subject("tinyddpm", PLUGINS))


@pytest.mark.parametrize("name", ["sample_is_deterministic-image", "save_load_identical-image"])
def test_a_textbook_ddpm_fails_with_the_per_step_noise_fix(name):
    subject = Subject("textbook_ddpm", PLUGINS)
    check = next(c for c in checks_for(subject) if c.id == name)
    with pytest.raises(ConformanceError) as info:
        check(subject)
    message = str(info.value)
    assert "per-step noise from the noise argument" in message and "global RNG" in message
    assert "state_dict" not in message


def test_iterate_refuses_to_invent_noise():
    model = Subject("tinyddpm", PLUGINS).build("vector")
    z = torch.zeros(2, 2)
    with pytest.raises(ValueError, match="draws per-step noise: pass the noise argument"):
        iterate(model.sampling_process(), tiny_plugin.TinyDDPMSampling(steps=3), z, model.net,
                torch.tensor([0, 1]), None, shape=(2,), value_range=None)


def test_step_noise_is_the_noise_contracts_step_streams_batch_by_batch():
    from genforge import StepNoise
    from genforge_runtime.noise import NoiseStreams

    whole = NoiseStreams(4)
    want = [whole.step(j, (5, 3)) for j in range(2)]
    streams = NoiseStreams(4)
    first, second = (StepNoise(streams, rows, (3,), torch.device("cpu")) for rows in (2, 3))
    got = [torch.cat([first.next(), second.next()]), torch.cat([first.next(), second.next()])]
    assert all(torch.equal(g, torch.from_numpy(w)) for g, w in zip(got, want, strict=True))


def test_sampler_options_that_do_not_suit_the_process_are_config_errors(tmp_path):
    from genforge import ConfigError, train

    cfg = {"model": {"name": "tinyddpm", "hidden": 8}, "data": {"name": "toy2d", "n_train": 64},
           "sampler": {"sampler": "euler"}, "out": str(tmp_path / "run"),
           "trainer": {"steps": 1, "batch_size": 8, "progress": False, "device": "cpu"}}
    with pytest.raises(ConfigError, match="sampler.sampler 'euler': a diffusion model takes ddpm"):
        train(cfg, plugins=PLUGINS)
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.parametrize("kind", ["ddpm", "ddim", "dpmpp_2m", "euler", "heun"])
def test_each_sampler_steps_numpy_and_torch_alike(kind):
    from genforge_runtime import samplers
    from genforge_runtime.noise import NoiseStreams

    flow = kind in ("euler", "heun")
    process = samplers.Process("flow", "linear", "velocity") if flow else samplers.Process(
        "diffusion", "cosine", "v")
    settings = samplers.Settings(kind, 20, eta=0.5)

    def predict(x, t):  # any fixed arithmetic of (x, t) stands in for a network here
        return x * (0.3 + 0.001 * t) + 0.1

    def run(to):
        streams = NoiseStreams(9)
        x = to(streams.latents(16, 4))
        out = samplers.make(process, settings).run(x, predict, lambda j: to(streams.step(j, (16, 4))))
        return out.numpy() if isinstance(out, torch.Tensor) else out

    a, b = run(lambda v: v), run(torch.from_numpy)
    assert a.dtype == b.dtype and abs(a - b).max() <= 1e-6
