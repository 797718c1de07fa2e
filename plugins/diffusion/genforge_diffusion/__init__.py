"""genforge-diffusion: denoising diffusion (``ddpm``, ``cddpm``) and flow matching (``fm``, ``cfm``)."""

__version__ = "0.1.0"
