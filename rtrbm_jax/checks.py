"""Input checks at the library boundary.

Shape checks are static and always run. Value checks (NaN, range, binariness) need
the numbers, so they run only on concrete arrays: inside a jitted training step the
inputs are tracers and the checks cost nothing there (the data pipeline has already
validated the data once, at load time).
"""

import jax
import numpy as np

from rtrbm_jax import rbm


def is_concrete(x) -> bool:
  """Whether `x` holds numbers now (not a tracer inside jit, grad or vmap)."""
  return not isinstance(x, jax.core.Tracer)


def check_frames(v, num_visible: int, *, name: str = "v",
                 visible_type: str = rbm.BINARY,
                 require_binary: bool = False) -> None:
  """Checks a batch of sequences `[B, T, num_visible]` and, if concrete, its values.

  Binary units take values in [0, 1] (probabilities are accepted as data for CD);
  `require_binary` demands exactly 0 or 1, as exact likelihoods need.
  """
  shape = np.shape(v)
  expected = f"[batch, time, {num_visible}]"
  if len(shape) != 3:
    raise ValueError(f"{name} must have shape {expected}, got shape {shape}.")
  if shape[2] != num_visible:
    raise ValueError(
        f"{name} has {shape[2]} units per frame but the model has num_visible="
        f"{num_visible}; expected shape {expected}, got {shape}.")
  if shape[0] == 0 or shape[1] == 0:
    raise ValueError(f"{name} must have at least one sequence and one frame, got "
                     f"shape {shape}.")
  if not is_concrete(v):
    return
  values = np.asarray(v)
  if not np.issubdtype(values.dtype, np.floating):
    values = values.astype(np.float32)
  if not np.all(np.isfinite(values)):
    index = tuple(int(i) for i in np.argwhere(~np.isfinite(values))[0])
    raise ValueError(f"{name} contains NaN or inf (first at index {index}); data "
                     "must be finite.")
  if visible_type != rbm.BINARY:
    return
  if require_binary:
    bad = (values != 0) & (values != 1)
    if np.any(bad):
      index = tuple(int(i) for i in np.argwhere(bad)[0])
      raise ValueError(
          f"{name} must be binary (0 or 1) for exact likelihoods of binary units; "
          f"found {values[index]} at index {index}.")
  elif values.min() < 0 or values.max() > 1:
    raise ValueError(
        f"{name} must lie in [0, 1] for binary visible units, found values in "
        f"[{values.min()}, {values.max()}].")


def check_num_gibbs_steps(num_gibbs_steps) -> None:
  """num_gibbs_steps must be an integer >= 1 (checked when concrete)."""
  if not is_concrete(num_gibbs_steps):
    return
  value = np.asarray(num_gibbs_steps)
  if value.ndim != 0 or not np.issubdtype(value.dtype, np.integer) or value < 1:
    raise ValueError(
        f"num_gibbs_steps must be an integer >= 1, got {num_gibbs_steps!r}.")
