"""Training: the pure step, the optimizers, the loop, sweeps, the config schema."""
