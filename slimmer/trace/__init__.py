"""Tracers: from a needed file to every file it needs, each with its reason."""
