"""The package's version, in one module that imports nothing (caches key their entries on it)."""

__version__ = "0.1.0"
