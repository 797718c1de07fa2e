"""The ``[model]`` options of ``gan`` and ``cgan``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: the DiffAugment transforms ``model.diffaugment`` may name (applied in the order it names them)
DIFFAUGMENT_OPS = ("color", "translation", "cutout")


class GANConfig(BaseModel):
    """GAN options; defaults follow DCGAN (Radford et al., 2015)."""

    model_config = ConfigDict(extra="forbid")

    arch: Literal["auto", "dcgan", "resnet", "mlp"] = Field(
        "auto", description="auto: DCGAN for images, MLP for vectors and signals; resnet: "
                            "residual networks for images (SNGAN)")
    latent_dim: int = Field(100, gt=0, description="size of the noise vector z (nz)")
    ngf: int = Field(64, gt=0, description="generator width at the last conv layer")
    ndf: int = Field(64, gt=0, description="discriminator width at the first conv layer")
    hidden: int = Field(256, gt=0, description="MLP hidden width")
    layers: int = Field(3, gt=0, description="MLP hidden layers")
    pack: int = Field(1, gt=0, description="samples the discriminator judges jointly "
                                           "(PacGAN; 1: off); batches are trimmed to a multiple")
    projection: bool = Field(False, description="cgan: add a projection of the label onto the "
                                                "discriminator's last features (Miyato & Koyama)")
    spectral_norm: bool = Field(False, description="spectral normalisation in the discriminator "
                                                   "(in place of the DCGAN's BatchNorm)")
    embed_dim: int = Field(16, gt=0, description="label embedding size (cgan)")
    loss: Literal["nonsaturating", "hinge", "wasserstein", "lsgan"] = Field(
        "nonsaturating", description="the objective: non-saturating (Goodfellow et al.), hinge, "
                                     "Wasserstein (needs gp or spectral_norm), least squares")
    gp: float = Field(0.0, ge=0, description="weight of the gradient penalty on interpolates "
                                             "(WGAN-GP, Gulrajani et al.); 0: off")
    r1: float = Field(0.0, ge=0, description="gamma of the R1 penalty on reals (Mescheder et al.): "
                                             "adds gamma / 2 E|grad D|^2; 0: off")
    r2: float = Field(0.0, ge=0, description="gamma of the R2 penalty, the same on fakes; 0: off")
    reg_every: int = Field(1, ge=1, description="R1 and R2 every k discriminator steps, weighted by k "
                                                "(lazy regularisation, StyleGAN2)")
    lecam: float = Field(0.0, ge=0, description="weight of the LeCam penalty (Tseng et al.): D outputs "
                                                "held near EMAs (0.99) of the other side's; 0: off")
    diffaugment: str = Field("", description="DiffAugment transforms applied to every image the "
                                             "discriminator sees, comma-separated: color, "
                                             "translation, cutout (empty: off; images only)")
    d_steps: int = Field(1, ge=1, description="discriminator steps per generator step (each on the "
                                              "step's real batch with new noise)")
    lr: float = Field(2e-4, gt=0, description="Adam learning rate for both networks")
    lr_g: float | None = Field(None, gt=0, description="generator learning rate (None: lr)")
    lr_d: float | None = Field(None, gt=0, description="discriminator learning rate (None: lr; TTUR)")
    beta1: float = Field(0.5, ge=0, lt=1, description="Adam beta1")
    beta2: float = Field(0.999, ge=0, lt=1, description="Adam beta2")

    @field_validator("diffaugment")
    @classmethod
    def _known_transforms(cls, text: str) -> str:
        names = [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in names if n not in DIFFAUGMENT_OPS]
        if unknown or len(set(names)) != len(names):
            raise ValueError(f"expected distinct names among {', '.join(DIFFAUGMENT_OPS)}, "
                             "comma-separated (empty: off)")
        return ",".join(names)

    def diffaugment_policy(self) -> tuple[str, ...]:
        """The DiffAugment transforms named by ``diffaugment``, in the order given."""
        return tuple(n for n in self.diffaugment.split(",") if n)
