"""The configuration tree: each package's section, composed here (filled in below)."""

from edge.common.errors import ConfigError  # noqa: F401
