"""Figures of merit, as pure functions of a model, its params and data."""
