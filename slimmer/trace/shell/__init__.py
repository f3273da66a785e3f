"""Static analysis of shell scripts: which programs a script runs and which files it sources."""
