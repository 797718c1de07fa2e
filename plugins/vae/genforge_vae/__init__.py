"""genforge-vae: the VAE family (``vae`` and ``cvae``) as a genforge plugin."""

__version__ = "0.1.0"
