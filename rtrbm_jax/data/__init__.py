"""Data sets: generators and loaders yielding float32 numpy arrays `[B, T, nv]`."""
