"""Errors that every layer raises and the wiring reports: each message names what was wrong."""


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the key and what is allowed."""


class ImageError(ValueError):
    """An image or frame cannot be used (missing, corrupt, empty, wrong shape); the message says why."""
