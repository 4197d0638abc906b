"""A workdir from outside: train, load or evaluate a run (notebooks, experiments)."""
