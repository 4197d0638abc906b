"""Motion capture: the RTRBM paper's second data set (Sutskever, Hinton & Taylor 2008).

`MOCAP.mat` is the file the paper's own code trains on (github.com/chimera0/
NIPS-2014, `rtrbm/data/MOCAP.mat`; `experiments.download --data_set=mocap` fetches
it). Read with `scipy.io.loadmat`, it holds

* `batchdata`: float64 `[3826, 49]`, every frame of three sequences one after
  another (joint angles, each dimension already standardised over all frames);
* `seqlengths`: `[1, 3]`, the sequences' lengths (438, 260, 3128 frames).

The original protocol (`rtrbm/data/mocap.py` there) holds out the last 20% of
every sequence as the test part and trains on windows of 50 consecutive frames of
the first 80%. :func:`split_mocap` reproduces that split and carves a validation
part off the end of each training part; :func:`windows` cuts the training
windows.

Array conventions (as `real_valued.load_sequences`): a list of float32
`[T_i, 49]` arrays, one per sequence, in file order.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

# The published file: its frames' dimensions and its sequences' lengths.
NUM_DIMENSIONS = 49
SEQUENCE_LENGTHS = (438, 260, 3128)
# The original protocol: the test part's share of each sequence, and the length of
# the training windows.
TEST_FRACTION = 0.2
WINDOW_LENGTH = 50
# Our validation part's share of each training part (the original has none).
VALID_FRACTION = 0.1
# Where the file is looked for, relative to the repository root.
SHARED_PATH = os.path.join("..", "shared", "data", "mocap", "MOCAP.mat")
_EXPECTED = ("a .mat file with batchdata (frames x dims, real numbers) and "
             "seqlengths (positive integers summing to the number of frames)")
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def default_path(repository_root: str | os.PathLike) -> str:
  """`<repository_root>/../shared/data/mocap/MOCAP.mat` if it is there, else where
  `experiments.download --data_set=mocap` puts it."""
  shared = Path(repository_root) / SHARED_PATH
  if shared.is_file():
    return str(shared.resolve())
  # Imported here: `download` imports this module to parse what it fetches.
  from rtrbm_jax.data import download  # pylint: disable=g-import-not-at-top
  return str(download.local_path("mocap"))


def _read_mat(name: str, path: str) -> dict:
  """The variables of a .mat file, or a one-line ValueError naming it `name`."""
  # Imported here: scipy is needed only by this reader.
  import scipy.io  # pylint: disable=g-import-not-at-top
  if not os.path.isfile(path):
    raise ValueError(f"{name} does not exist or is not a file; expected {_EXPECTED}")
  try:
    # appendmat=False: a missing name must not silently read `<name>.mat`.
    return scipy.io.loadmat(path, appendmat=False)
  except Exception as error:  # pylint: disable=broad-except
    # scipy raises ValueError, TypeError, OSError, NotImplementedError (MATLAB
    # v7.3 files) and zlib errors for files it cannot read.
    detail = str(error).splitlines()[0] if str(error) else ""
    raise ValueError(f"{name} is not a readable .mat file ({type(error).__name__}: "
                     f"{detail}); expected {_EXPECTED}") from None


def _check_frames(name: str, batchdata) -> np.ndarray:
  """`batchdata` as float64 `[frames, dims]`, or a ValueError naming the file."""
  if not isinstance(batchdata, np.ndarray) or batchdata.dtype.kind not in "biuf":
    raise ValueError(f"{name}: batchdata holds {getattr(batchdata, 'dtype', '?')} "
                     f"values ({type(batchdata).__name__}); expected a frames x "
                     "dims array of real numbers")
  if batchdata.ndim != 2 or 0 in batchdata.shape:
    raise ValueError(f"{name}: batchdata has shape {batchdata.shape}; expected "
                     "frames x dims with at least one of each")
  frames = batchdata.astype(np.float64)
  # Values beyond float32's range would become inf when the frames are cast.
  bad = ~np.isfinite(frames) | (np.abs(frames) > _FLOAT32_MAX)
  if bad.any():
    row, column = (int(i) for i in np.argwhere(bad)[0])
    raise ValueError(f"{name}: batchdata has {float(frames[row, column])!r} at row "
                     f"{row}, column {column} (0-based); expected finite values "
                     "within float32's range")
  return frames


def _check_lengths(name: str, seqlengths, num_frames: int) -> list[int]:
  """`seqlengths` as a list of ints, or a ValueError naming the file."""
  if (not isinstance(seqlengths, np.ndarray) or seqlengths.dtype.kind not in "biuf"
      or seqlengths.size == 0):
    raise ValueError(f"{name}: seqlengths is {type(seqlengths).__name__} of "
                     f"{getattr(seqlengths, 'dtype', '?')} with "
                     f"{getattr(seqlengths, 'size', '?')} values; expected "
                     "positive integers")
  # MATLAB stores lengths as doubles (this file: uint16), so whole floats count.
  lengths = seqlengths.astype(np.float64).ravel()
  if not np.all((lengths >= 1) & (lengths == np.round(lengths))):
    raise ValueError(f"{name}: seqlengths is {lengths.tolist()}; expected positive "
                     "integers")
  if lengths.sum() != num_frames:
    raise ValueError(f"{name}: seqlengths {lengths.astype(np.int64).tolist()} sum "
                     f"to {int(lengths.sum())}, but batchdata has {num_frames} "
                     "rows; expected them to be equal")
  return [int(length) for length in lengths]


def load_mocap(path: str | os.PathLike, source: str | None = None
               ) -> list[np.ndarray]:
  """The sequences of a motion-capture `.mat` file (format: module docstring).

  Args:
    path: the file, e.g. `MOCAP.mat`.
    source: how errors name the file (default `path=...`), e.g. the URL a
      download came from.

  Returns:
    A list of float32 `[T_i, dims]` arrays, one per entry of `seqlengths`, in
    file order: for the published file, `[438, 49]`, `[260, 49]`, `[3128, 49]`.

  Raises:
    ValueError: one line naming the file and what is wrong: not a readable .mat
      file, no `batchdata` or `seqlengths`, `batchdata` not a 2-D array of real
      numbers, a non-finite value or one beyond float32's range (its row and
      column), `seqlengths` not positive integers or not summing to the rows.
  """
  path = os.fspath(path)
  name = source or f"path={path!r}"
  contents = _read_mat(name, path)
  missing = [key for key in ("batchdata", "seqlengths") if key not in contents]
  if missing:
    found = sorted(key for key in contents if not key.startswith("__"))
    raise ValueError(f"{name} has variables {found}, not {missing}; expected "
                     f"{_EXPECTED}")
  frames = _check_frames(name, contents["batchdata"])
  lengths = _check_lengths(name, contents["seqlengths"], len(frames))
  starts = np.cumsum([0] + lengths[:-1])
  return [frames[start:start + length].astype(np.float32)
          for start, length in zip(starts, lengths)]


def _check_fraction(name: str, value: float, low_inclusive: bool) -> float:
  low_ok = value >= 0 if low_inclusive else value > 0
  if not (low_ok and value < 1):
    interval = "[0, 1)" if low_inclusive else "(0, 1)"
    raise ValueError(f"{name}={value!r} is not accepted: expected a number in "
                     f"{interval}")
  return float(value)


def _tail_start(length: int, fraction: float) -> int:
  """Where the last `fraction` of `length` frames begins: `floor(T - fraction T)`.

  The original code computes its test part's start as the float `T - 0.2 T` and
  draws test windows from its floor on, so the tail has `ceil(0.2 T)` frames.
  """
  return int(np.floor(length - length * fraction))


def split_mocap(sequences, test_fraction: float = TEST_FRACTION,
                valid_fraction: float = VALID_FRACTION
                ) -> dict[str, list[np.ndarray]]:
  """Splits every sequence in time into training, validation and test parts.

  Each sequence `[T, dims]` is cut at two frames into three consecutive parts:

  * test: the last `ceil(test_fraction T)` frames, from frame
    `floor(T - test_fraction T)` on. That is the original code's test part: it
    draws test windows from the floor of the float `T - 0.2 T` on. (Its training
    windows end one frame early when `0.8 T` is a whole number, an off-by-one of
    its random integer range; here every frame before the test part is used.)
  * valid: the last `ceil(valid_fraction T')` frames of the first `T'` (the
    training part of the original protocol), by the same rounding. It comes
    from the end so that it shares no time with the training windows: every
    training window lies wholly before it and the test part wholly after it,
    as in the test protocol. (Validation frames from the middle would have
    training frames on both sides, and a model chosen on them would be chosen
    on frames whose surroundings it was trained on.)
  * train: the frames before it.

  For the published file (lengths 438, 260, 3128) and the defaults (0.2, 0.1),
  the parts have these frame counts, per sequence and in all:

  ======  ===  ===  ====  =====
  part    1    2    3     total
  ======  ===  ===  ====  =====
  train   315  187  2251  2753
  valid   35   21   251   307
  test    88   52   626   766
  ======  ===  ===  ====  =====

  The first two validation parts are shorter than the 50-frame training
  windows, so validation windows of 50 frames come from the third only; a
  next-frame measure can use all three.

  Args:
    sequences: a list of `[T_i, dims]` arrays (as :func:`load_mocap` returns).
    test_fraction: the test part's share of every sequence, in (0, 1).
    valid_fraction: the validation part's share of every training part, in
      [0, 1); with 0 the validation parts are empty (`[0, dims]`).

  Returns:
    {"train", "valid", "test"}: lists with one part `[T_i_part, dims]` (views
    of the input) per sequence, in input order, whose lengths add up to `T_i`.

  Raises:
    ValueError: a fraction out of range, or a sequence too short to give every
      part (the valid part only if `valid_fraction > 0`) at least one frame.
  """
  test_fraction = _check_fraction("test_fraction", test_fraction, False)
  valid_fraction = _check_fraction("valid_fraction", valid_fraction, True)
  splits = {"train": [], "valid": [], "test": []}
  for index, sequence in enumerate(sequences):
    sequence = np.asarray(sequence)
    length = len(sequence)
    test_start = _tail_start(length, test_fraction)
    valid_start = _tail_start(test_start, valid_fraction)
    too_short = (test_start == length or valid_start == 0
                 or (valid_fraction > 0 and valid_start == test_start))
    if too_short:
      raise ValueError(
          f"sequences[{index}] has {length} frames, too few for test_fraction="
          f"{test_fraction} and valid_fraction={valid_fraction}: the parts would "
          f"have {valid_start}, {test_start - valid_start} and "
          f"{length - test_start} frames; every part needs at least one")
    splits["train"].append(sequence[:valid_start])
    splits["valid"].append(sequence[valid_start:test_start])
    splits["test"].append(sequence[test_start:])
  return splits


def windows(sequences, length: int = WINDOW_LENGTH, stride: int = 1) -> np.ndarray:
  """All windows of `length` consecutive frames, `stride` apart, of every sequence.

  A sequence shorter than `length` gives none (the original code draws training
  windows within one sequence, never across two).

  Args:
    sequences: a list of `[T_i, dims]` arrays with the same `dims`.
    length: frames per window, >= 1.
    stride: frames between the starts of consecutive windows, >= 1.

  Returns:
    float32 `[num_windows, length, dims]`, sequence by sequence in order, each
    sequence's windows starting at frames 0, stride, 2 stride, ... (so
    `sum_i (T_i - length) // stride + 1` windows over sequences with
    `T_i >= length`).

  Raises:
    ValueError: a length or stride < 1, or every sequence shorter than `length`.
  """
  for name, value in (("length", length), ("stride", stride)):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
      raise ValueError(f"{name}={value!r} is not accepted: expected an integer >= 1")
  sequences = [np.asarray(sequence) for sequence in sequences]
  cut = [
      # sliding_window_view gives [T - length + 1, dims, length] views.
      np.lib.stride_tricks.sliding_window_view(sequence, length, axis=0)
      [::stride].transpose(0, 2, 1)
      for sequence in sequences if len(sequence) >= length]
  if not cut:
    raise ValueError(f"length={length} is longer than every sequence (lengths "
                     f"{[len(sequence) for sequence in sequences]}); choose a "
                     "shorter window")
  return np.concatenate(cut).astype(np.float32)
