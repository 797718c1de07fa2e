"""genforge-flow: a RealNVP-style normalizing flow (``flow``) as a third-party genforge plugin."""

__version__ = "0.1.0"
