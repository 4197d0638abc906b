"""Real-valued sequences: a simulated articulated arm, a loader, standardisation.

Models with Gaussian visible units (`visible_type="gaussian"`) take frames that are
real-valued and standardised per dimension. This module provides

* a data set to train on offline: :func:`generate`, a planar articulated arm whose
  joints are a chain of coupled, damped oscillators driven at the root, observed as
  noisy joint positions (motion-capture-like, ``2 * num_links`` dimensions);
* :func:`load_sequences` for motion-capture style arrays saved with numpy;
* :class:`Standardizer`, fitted on training data, to map frames to zero mean and
  unit scale per dimension and model samples back to data units.

The simulated arm
-----------------
``L = num_links`` rigid links of length ``1 / L`` hang from a fixed root. The joint
angles ``theta_j`` (``j = 0..L-1``, each relative to the previous link) obey

  theta_j'' = -omega^2 theta_j - gamma theta_j'
              + kappa * sum_{k neighbour of j} (theta_k - theta_j)
              + [j = 0] * a * sin(2 pi f t + phase)
              + sigma * xi_j(t),

with a restoring frequency ``omega = 2 pi * 0.5 Hz`` towards the straight arm,
damping ``gamma = 1.5 s^-1``, neighbour coupling ``kappa = (2 pi * 2 Hz)^2`` (free
ends: the first and last joint have one neighbour), a drive of ``a = 20 rad s^-2``
on the root joint and white process noise ``xi`` of scale ``sigma = 1``. The drive
frequency ``f`` is drawn per sequence uniformly in ``[0.5, 1.5] Hz``, with a random
phase; it lies inside the chain's pass band ``[omega, sqrt(omega^2 + 4 kappa)]``
(0.5 to 4 Hz), so waves run down the arm and reflect at its free tip: every joint
swings by about 0.2 rad, of which about 0.08 rad is noise. The equations are
integrated by semi-implicit Euler with ``SUBSTEPS_PER_FRAME = 10`` steps per frame
of ``FRAME_INTERVAL = 0.05 s``, after a burn-in of ``BURN_IN_FRAMES`` unrecorded
frames from ``theta ~ N(0, 0.2^2)``, ``theta' = 0``, so that recordings start in the
driven steady state.

Observation: forward kinematics, ``phi_j = theta_0 + ... + theta_j`` the absolute
angle of link j and ``p_j = sum_{i <= j} (cos phi_i, sin phi_i) / L`` the end of link
j, plus independent ``N(0, observation_noise^2)`` noise. A frame is
``[x_0, y_0, x_1, y_1, ..., x_{L-1}, y_{L-1}]`` (markers interleaved as in
motion-capture files).

Array conventions
-----------------
Generated data: ``float32 [num_sequences, T, dims]``. Loaded data: a list of
``float32 [T_i, dims]`` arrays, one per sequence (lengths may differ).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from rtrbm_jax import checks

DEFAULT_NUM_LINKS = 10
DEFAULT_OBSERVATION_NOISE = 0.01
FRAME_INTERVAL = 0.05
SUBSTEPS_PER_FRAME = 10
BURN_IN_FRAMES = 100
RESTORING_FREQUENCY = 2 * np.pi * 0.5  # omega, rad s^-1
DAMPING = 1.5  # gamma, s^-1
COUPLING = (2 * np.pi * 2.0) ** 2  # kappa, s^-2
DRIVE_ACCELERATION = 20.0  # a, rad s^-2
DRIVE_FREQUENCY_RANGE = (0.5, 1.5)  # f, Hz
PROCESS_NOISE_SCALE = 1.0  # sigma, rad s^-3/2
INITIAL_ANGLE_SCALE = 0.2
_FLOAT32_MAX = float(np.finfo(np.float32).max)


class ArmTrajectories(NamedTuple):
  """Noise-free states of the simulated arm at every recorded frame.

  Attributes:
    angles: float64 ``[N, T, L]`` joint angles theta_j, each relative to the
      previous link.
    positions: float64 ``[N, T, L, 2]`` end points p_j of the links.
  """
  angles: np.ndarray
  positions: np.ndarray


def _neighbour_coupling(angles: np.ndarray) -> np.ndarray:
  """sum_{k neighbour of j} (theta_k - theta_j) along a chain with free ends."""
  differences = np.diff(angles, axis=-1)  # theta_{j+1} - theta_j
  coupling = np.zeros_like(angles)
  coupling[..., :-1] += differences
  coupling[..., 1:] -= differences
  return coupling


def forward_kinematics(angles: np.ndarray) -> np.ndarray:
  """Link end points ``[..., L, 2]`` of an arm of length 1 from angles ``[..., L]``."""
  absolute = np.cumsum(angles, axis=-1)
  link_length = 1.0 / angles.shape[-1]
  steps = link_length * np.stack([np.cos(absolute), np.sin(absolute)], axis=-1)
  return np.cumsum(steps, axis=-2)


def simulate_arm(rng_or_seed, num_sequences: int, num_frames: int,
                 num_links: int = DEFAULT_NUM_LINKS) -> ArmTrajectories:
  """Simulates the driven articulated arm of the module docstring.

  Vectorised over sequences and joints; the loop runs over time steps only.

  Args:
    rng_or_seed: a ``np.random.Generator`` (advanced in place) or anything
      ``np.random.default_rng`` accepts as a seed.
    num_sequences: number N of independent sequences.
    num_frames: number T of recorded frames per sequence.
    num_links: number L of links (and joints).

  Returns:
    ``ArmTrajectories`` with angles ``[N, T, L]`` and positions ``[N, T, L, 2]``.
  """
  num_sequences = checks.positive_int("num_sequences", num_sequences)
  num_frames = checks.positive_int("num_frames", num_frames)
  num_links = checks.positive_int("num_links", num_links)
  rng = np.random.default_rng(rng_or_seed)
  substep_duration = FRAME_INTERVAL / SUBSTEPS_PER_FRAME
  drive_frequency = rng.uniform(*DRIVE_FREQUENCY_RANGE, size=num_sequences)
  drive_phase = rng.uniform(0, 2 * np.pi, size=num_sequences)
  angle = INITIAL_ANGLE_SCALE * rng.standard_normal((num_sequences, num_links))
  velocity = np.zeros_like(angle)
  # White noise integrated over a sub-step of duration h has standard deviation
  # sqrt(h).
  noise_per_step = PROCESS_NOISE_SCALE * np.sqrt(substep_duration)

  angles = np.empty((num_sequences, num_frames, num_links))
  for frame in range(-BURN_IN_FRAMES, num_frames):
    if frame >= 0:
      angles[:, frame] = angle
    for substep in range(SUBSTEPS_PER_FRAME):
      time = (frame * SUBSTEPS_PER_FRAME + substep) * substep_duration
      acceleration = (-RESTORING_FREQUENCY ** 2 * angle - DAMPING * velocity
                      + COUPLING * _neighbour_coupling(angle))
      acceleration[:, 0] += DRIVE_ACCELERATION * np.sin(
          2 * np.pi * drive_frequency * time + drive_phase)
      # Semi-implicit Euler: the new velocity moves the angle, which keeps the
      # oscillators from gaining energy as explicit Euler would.
      velocity = (velocity + substep_duration * acceleration
                  + noise_per_step * rng.standard_normal(velocity.shape))
      angle = angle + substep_duration * velocity
  return ArmTrajectories(angles, forward_kinematics(angles))


def generate(seed, num_sequences: int, num_frames: int,
             num_links: int = DEFAULT_NUM_LINKS,
             observation_noise: float = DEFAULT_OBSERVATION_NOISE) -> np.ndarray:
  """Noisy marker positions of the simulated arm: ``float32 [N, T, 2 * num_links]``.

  Args:
    seed: anything ``np.random.default_rng`` accepts as a seed; the same seed and
      arguments give the same data.
    num_sequences: number N of sequences.
    num_frames: number T of frames per sequence.
    num_links: number L of links; frames have 2 L dimensions.
    observation_noise: standard deviation of the noise added to every coordinate
      (the arm has total length 1).
  """
  if not observation_noise >= 0:
    raise ValueError(f"observation_noise={observation_noise!r} is not accepted: "
                     "expected a number >= 0")
  rng = np.random.default_rng(seed)
  positions = simulate_arm(rng, num_sequences, num_frames, num_links).positions
  frames = positions.reshape(num_sequences, num_frames, 2 * num_links)
  frames = frames + observation_noise * rng.standard_normal(frames.shape)
  return frames.astype(np.float32)


def as_sequences(data, name: str = "sequences") -> list[np.ndarray]:
  """Validates real-valued sequences and returns them as ``float32 [T_i, dims]`` arrays.

  Args:
    data: an array ``[num_sequences, T, dims]``, or a list (or 1-D object array)
      of arrays ``[T_i, dims]`` with the same ``dims``.
    name: what to call the data in error messages (e.g. a file name).

  Raises:
    ValueError: no sequences, a sequence that is not ``[T_i, dims]`` with
      ``T_i, dims >= 1``, differing ``dims``, non-numeric or non-finite values.
  """
  if isinstance(data, np.ndarray) and (data.dtype != object or data.ndim != 1):
    if data.ndim != 3:
      raise ValueError(f"{name} has shape {data.shape}; expected an array "
                       "[num_sequences, T, dims] or a list of [T_i, dims] arrays")
    data = list(data)
  if len(data) == 0:
    raise ValueError(f"{name} holds no sequences; expected at least one [T, dims] "
                     "array")
  sequences = []
  for index, sequence in enumerate(data):
    where = f"{name}[{index}]"
    array = np.asarray(sequence)
    if not any(np.issubdtype(array.dtype, kind)
               for kind in (np.floating, np.integer, np.bool_)):
      raise ValueError(f"{where} has dtype {array.dtype}; expected real numbers")
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
      raise ValueError(f"{where} has shape {array.shape}; expected [T, dims] with "
                       "T >= 1 and dims >= 1")
    if sequences and array.shape[1] != sequences[0].shape[1]:
      raise ValueError(f"{where} has {array.shape[1]} dims but {name}[0] has "
                       f"{sequences[0].shape[1]}; every sequence needs the same dims")
    finite = np.isfinite(array)
    if not np.all(finite):
      frame, dim = (int(i) for i in np.argwhere(~finite)[0])
      raise ValueError(f"{where} contains NaN or inf (first at frame {frame}, dim "
                       f"{dim}); data must be finite")
    # Returned as float32: a larger value would turn into inf unnamed.
    beyond = np.abs(array.astype(np.float64)) > _FLOAT32_MAX
    if np.any(beyond):
      frame, dim = (int(i) for i in np.argwhere(beyond)[0])
      raise ValueError(f"{where} has {float(array[frame, dim])!r} at frame {frame}, "
                       f"dim {dim}, beyond float32's range (|x| <= "
                       f"{_FLOAT32_MAX:.4g}); rescale the data")
    sequences.append(array.astype(np.float32))
  return sequences


def load_sequences(path: str | os.PathLike,
                   allow_pickle: bool = False) -> list[np.ndarray]:
  """Loads motion-capture style sequences saved with numpy.

  Accepted files:

  * ``.npy`` holding a real array ``[num_sequences, T, dims]``; or, with
    ``allow_pickle=True``, an object array of ``[T_i, dims]`` arrays (what
    ``np.save`` writes for a list of sequences of different lengths).
  * ``.npz``: every array in the archive, in file order, each either one sequence
    ``[T_i, dims]`` (as ``np.savez(path, *sequences)`` writes), a batch
    ``[num_sequences, T, dims]`` or (with ``allow_pickle=True``) an object array of
    sequences.

  Args:
    path: the file.
    allow_pickle: whether object arrays may be read; pickles are code, so only for
      trusted files.

  Returns:
    A list of ``float32 [T_i, dims]`` arrays, one per sequence.

  Raises:
    ValueError: a missing file, another suffix, an object array without
      ``allow_pickle``, or data :func:`as_sequences` rejects (the message names
      the file and the sequence).
  """
  path = Path(path)
  if not path.is_file():
    raise ValueError(f"path={str(path)!r} does not exist or is not a file; expected "
                     "a .npy or .npz file of sequences")
  suffix = path.suffix.lower()
  if suffix not in (".npy", ".npz"):
    raise ValueError(f"path={str(path)!r} has suffix {path.suffix!r}; expected .npy "
                     "or .npz")
  arrays = _read_arrays(path, allow_pickle)
  if suffix == ".npy":
    (name, array), = arrays
    return as_sequences(array, name=name)
  if not arrays:
    raise ValueError(f"path={str(path)!r} is an empty archive; expected arrays "
                     "[T_i, dims] or [num_sequences, T, dims]")
  sequences = []
  for name, array in arrays:
    one_sequence = array.ndim == 2 and array.dtype != object
    sequences.extend(as_sequences([array] if one_sequence else array, name=name))
  # Checks that the arrays agree on dims.
  return as_sequences(sequences, name=path.name)


def _read_arrays(path: Path, allow_pickle: bool) -> list[tuple[str, np.ndarray]]:
  """(name for messages, array) of a .npy file, or of every array of a .npz."""
  try:
    if path.suffix.lower() == ".npy":
      return [(path.name, np.load(path, allow_pickle=allow_pickle))]
    # An archive reads its arrays lazily, so they are read inside the try as well.
    with np.load(path, allow_pickle=allow_pickle) as archive:
      return [(f"{path.name}[{key!r}]", archive[key]) for key in archive.files]
  except ValueError as error:
    if "allow_pickle" not in str(error):
      raise ValueError(f"path={str(path)!r} is not a readable numpy file "
                       f"({error}); it may be truncated") from None
    raise ValueError(
        f"path={str(path)!r} holds an object array (a list of sequences); pass "
        "allow_pickle=True if you trust the file, or save real arrays, e.g. "
        "np.savez(path, *sequences)") from None
  except (EOFError, OSError, zipfile.BadZipFile) as error:
    raise ValueError(f"path={str(path)!r} is not a readable numpy file "
                     f"({type(error).__name__}: {error}); it may be empty or "
                     "truncated") from None


class Standardizer(NamedTuple):
  """Per-dimension affine map to zero mean and unit scale, fitted on training data.

  Save it with the checkpoint (it is a pytree of two arrays) so that samples of a
  model trained on standardised frames can be shown in data units.

  Attributes:
    mean: float64 ``[dims]`` mean of every dimension over all training frames.
    scale: float64 ``[dims]`` standard deviation of every dimension; a constant
      dimension's rounding level (`fit_standardizer`).
  """
  mean: np.ndarray
  scale: np.ndarray


# A dimension whose s.d. is at most this many rounding steps of its values
# (relative to its mean's magnitude) is constant: what varies is rounding.
CONSTANT_ROUNDING_STEPS = 4


def fit_standardizer(sequences) -> Standardizer:
  """Mean and standard deviation of every dimension over all frames of all sequences.

  Every dimension is scaled by its own s.d., however small (data whose natural
  scale is 1e-7 or 1e-30 standardise to s.d. 1), except a constant one: a
  dimension whose s.d. is at most `CONSTANT_ROUNDING_STEPS` rounding steps of
  the input's float type relative to its mean's magnitude varies by rounding
  alone. It gets that rounding level as its scale (the smallest positive
  float64 for a dimension that is 0 throughout) rather than 0: it standardises
  to about 0, and model samples (unit variance) map back to its value up to
  rounding.

  Args:
    sequences: an array ``[num_sequences, T, dims]`` or a list of ``[T_i, dims]``.
  """
  parts = as_sequences(sequences)
  dtype = np.result_type(*parts)
  eps = np.finfo(dtype if np.issubdtype(dtype, np.floating)
                 else np.float32).eps
  frames = np.concatenate(parts, axis=0).astype(np.float64)
  mean, scale = frames.mean(axis=0), frames.std(axis=0)
  rounding = np.maximum(CONSTANT_ROUNDING_STEPS * eps * np.abs(mean),
                        np.finfo(np.float64).tiny)
  return Standardizer(mean=mean, scale=np.where(scale <= rounding, rounding,
                                                scale))


def _apply(standardizer: Standardizer, x, function):
  """`function` of float64 `x` as float32, for an array `[..., dims]` or a list."""
  if isinstance(x, (list, tuple)):
    return [_apply(standardizer, item, function) for item in x]
  values = np.asarray(x)
  dims = standardizer.mean.shape[0]
  if values.ndim == 0 or values.shape[-1] != dims:
    raise ValueError(f"x has shape {values.shape}; expected [..., {dims}] (the "
                     f"standardizer was fitted on {dims} dims)")
  return function(values.astype(np.float64)).astype(np.float32)


def standardize(standardizer: Standardizer, x):
  """``(x - mean) / scale`` of an array ``[..., dims]`` (or a list of them), float32."""
  return _apply(standardizer, x,
                lambda values: (values - standardizer.mean) / standardizer.scale)


def unstandardize(standardizer: Standardizer, x):
  """``x * scale + mean``: standardised frames (or model samples) in data units."""
  return _apply(standardizer, x,
                lambda values: values * standardizer.scale + standardizer.mean)
