"""Sweeps: models × frameworks × trials, queued as episodes and played by workers or in-process."""
