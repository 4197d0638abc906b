"""Input checks at the library boundary, for data loaders and models alike.

Shape checks are static and always run. Value checks (NaN, range, binariness) need
the numbers, so they run only on concrete arrays: inside a jitted training step the
inputs are tracers and the checks cost nothing there (the data pipeline has already
validated the data once, at load time).
"""

import math
import operator

import jax
import numpy as np

# The visible units' types (`models.rbm` names them too): binary units take
# values in [0, 1], Gaussian ones any finite value. Here, in the plumbing, so that
# data loaders check frames without importing the models.
BINARY = "binary"
GAUSSIAN = "gaussian"
VISIBLE_TYPES = (BINARY, GAUSSIAN)

# The Gibbs chain folds 2 * step + 1 into its key in int32, so k stays below 2^30.
MAX_GIBBS_STEPS = 2**30 - 1


def is_concrete(x) -> bool:
  """Whether `x` holds numbers now (not a tracer inside jit, grad or vmap)."""
  return not isinstance(x, jax.core.Tracer)


def check_frames(v, num_visible: int, *, name: str = "v",
                 visible_type: str = BINARY,
                 require_binary: bool = False) -> None:
  """Checks a batch of sequences `[B, T, num_visible]` and, if concrete, its values.

  Binary units take values in [0, 1] (probabilities are accepted as data for CD);
  `require_binary` demands exactly 0 or 1, as exact likelihoods need.
  """
  expected = f"[batch, time, {num_visible}]"
  if not hasattr(v, "shape") or not hasattr(v, "dtype"):
    # The models multiply `v` as an array: a list would fail deep inside them.
    raise ValueError(f"{name} must be an array of shape {expected} (numpy or "
                     f"jax), got a {type(v).__name__}; pass np.asarray({name}, "
                     "np.float32).")
  shape = np.shape(v)
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
  if visible_type != BINARY:
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
  """num_gibbs_steps must be an integer in [1, MAX_GIBBS_STEPS] (when concrete).

  A traced k (inside jit, with k an argument of the jitted function) has no value
  to check: there a k < 1 runs one Gibbs step (with other random numbers than
  k = 1). Check k where it is still a number, as every entry point of this
  library and its CLI does.
  """
  if not is_concrete(num_gibbs_steps):
    return
  value = np.asarray(num_gibbs_steps)
  if (value.ndim != 0 or not np.issubdtype(value.dtype, np.integer) or value < 1
      or value > MAX_GIBBS_STEPS):
    raise ValueError(f"num_gibbs_steps must be an integer in [1, {MAX_GIBBS_STEPS}]"
                     f", got {num_gibbs_steps!r}.")


def check_size(name: str, value) -> None:
  """A layer size: a Python or numpy integer >= 1 (not a bool, not a float)."""
  if (isinstance(value, bool) or not isinstance(value, (int, np.integer))
      or value < 1):
    raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")


def positive_int(name: str, value) -> int:
  """`value` as an int >= 1, for a count given as an argument (e.g. `num_frames`).

  Accepts whatever `operator.index` accepts (Python and numpy integers), so a float
  such as 2.0 is rejected rather than silently truncated.

  Raises:
    ValueError: naming the argument and the value received.
  """
  try:
    as_int = operator.index(value)
  except TypeError:
    as_int = 0
  if as_int <= 0:
    raise ValueError(f"{name}={value!r} is not accepted: expected a positive integer")
  return as_int


def check_weight_scale(weight_scale) -> None:
  """The standard deviation of initial weights: finite and >= 0."""
  try:
    ok = math.isfinite(weight_scale) and weight_scale >= 0
  except TypeError:
    ok = False
  if not ok:
    raise ValueError(
        f"weight_scale must be a finite number >= 0, got {weight_scale!r}.")


def matrix_shape(params, field: str, *, name: str = "params") -> tuple[int, int]:
  """The shape of a 2-D parameter that fixes the sizes of the others."""
  shape = np.shape(_field(params, field, name))
  if len(shape) != 2:
    raise ValueError(f"{name}.{field} must be a matrix, got shape {list(shape)}.")
  return shape


def check_shape(name: str, array, expected, sizes: str) -> None:
  """`array`'s shape is `expected` (None matches any size); `sizes` says why."""
  actual = tuple(np.shape(array))
  if len(actual) != len(expected) or any(
      want is not None and got != want for got, want in zip(actual, expected)):
    shown = ["*" if want is None else want for want in expected]
    raise ValueError(f"{name} has shape {list(actual)}, expected "
                     f"[{', '.join(map(str, shown))}] ({sizes}).")


# Parameter types the scans keep: their carries are computed in these.
PARAMETER_DTYPES = ("float32", "float64")


def _check_dtype(array, name: str) -> None:
  """A parameter is float32 (or float64 with x64): lower precisions would change
  type inside the scans (their sums come out float32)."""
  dtype = getattr(array, "dtype", None)
  if dtype is None or np.dtype(dtype).name not in PARAMETER_DTYPES:
    raise ValueError(
        f"{name} has dtype {dtype if dtype is not None else type(array).__name__},"
        f" not accepted: one of {PARAMETER_DTYPES}; cast the parameters, e.g. "
        "jax.tree.map(lambda x: x.astype(jnp.float32), params).")


def _field(params, field: str, name: str):
  if not hasattr(params, field):
    fields = getattr(params, "_fields", None)
    raise ValueError(f"{name} has no field {field!r} (its fields: {fields}); pass "
                     "the parameters of this model.")
  return getattr(params, field)


def check_params(params, expected: dict, sizes: str, *,
                 name: str = "params") -> None:
  """Checks parameter shapes against each other and, if concrete, finiteness.

  Args:
    params: a NamedTuple of arrays.
    expected: {field: expected shape}, derived by the caller from the parameters
      that fix the sizes.
    sizes: where those sizes come from, for the message (e.g. "num_visible=16,
      num_hidden=8 from w_vh").
    name: how the caller calls `params`.

  Raises:
    ValueError: naming the parameter, the shape received and the shape expected;
      or, for concrete arrays, the first parameter holding NaN or inf.
  """
  for field, shape in expected.items():
    actual = tuple(np.shape(_field(params, field, name)))
    if actual != tuple(shape):
      raise ValueError(f"{name}.{field} has shape {list(actual)}, expected "
                       f"{list(shape)} ({sizes}).")
    _check_dtype(_field(params, field, name), f"{name}.{field}")
  leaves = [getattr(params, field) for field in params._fields]
  if not all(is_concrete(leaf) for leaf in leaves):
    return
  for field, leaf in zip(params._fields, leaves):
    values = np.asarray(leaf)
    if np.issubdtype(values.dtype, np.inexact) and not np.all(np.isfinite(values)):
      index = tuple(int(i) for i in np.argwhere(~np.isfinite(values))[0])
      raise ValueError(
          f"{name}.{field} contains NaN or inf (first at index {index}); the "
          "parameters must be finite (a diverged run's parameters give NaN "
          "everywhere).")
