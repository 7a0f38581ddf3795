"""Shared leaves that know nothing of the product: boxes, fonts, errors. Everything may import
these; they import nothing of ``edge``."""
