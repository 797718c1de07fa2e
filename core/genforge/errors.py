"""Exceptions that genforge turns into one-line messages on the command line."""

from __future__ import annotations


class GenforgeError(Exception):
    """Base class: a user-facing error whose message is one self-contained line."""


class ConfigError(GenforgeError):
    """A config value is missing, unknown or of the wrong kind."""


class PluginError(GenforgeError):
    """A plugin is broken, unknown or conflicts with another plugin."""


class CheckpointError(GenforgeError):
    """A checkpoint folder is missing, incomplete or unreadable."""


class DataError(GenforgeError):
    """A data source cannot read or interpret its input."""
