"""Packing: the keep set becomes a one-layer image with the original config."""
