"""edge: the on-device Japanese number-plate reader for parking gates and toll lanes."""

__version__ = "0.1.0"
