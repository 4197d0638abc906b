"""The math: RBMs, the temporal models bundled as pure functions, AIS."""
