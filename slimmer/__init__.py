"""slimmer: static analysis that turns a fat container image into a microcontainer."""

__version__ = "0.1.0"
