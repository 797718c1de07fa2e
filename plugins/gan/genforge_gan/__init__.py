"""genforge-gan: the GAN family (``gan`` and ``cgan``) as a genforge plugin."""

__version__ = "0.1.0"
