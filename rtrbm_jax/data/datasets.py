"""Data sets as fixed-length arrays, validated once at the boundary.

`load_dataset(config.data)` returns float32 numpy arrays `[num_sequences, T, nv]`
for training and held-out evaluation; variable-length sequences (music) are cut
into windows of `config.data.num_frames` frames. What each data set is, and how
its splits load, is its entry in `registry.py` (the one table of names).

With `config.data.train_source="simulator"` (data sets with a simulator: bouncing
balls) training draws fresh sequences on the device at every update
(`fresh_batch_sampler`); the fixed training split is then not loaded, and
`Dataset.train` holds a small sample of simulated sequences in its place (what
evaluation's "training sample" and the mean-frame baseline read).
"""

from typing import Callable, NamedTuple, Optional

import jax
import numpy as np

from rtrbm_jax import checks
from rtrbm_jax.data import real_valued
from rtrbm_jax.data import registry

DATA_KINDS = registry.DATA_KINDS
DATASET_NAMES = registry.DATASET_NAMES
# Where training sequences come from: the data set's fixed training split, or
# fresh sequences of its simulator at every update (bouncing balls).
TRAIN_SOURCES = ("fixed", "simulator")
# The source of configs written before `data.train_source` existed.
DEFAULT_TRAIN_SOURCE = "fixed"


def data_kind(data_config) -> str:
  """The kind (`DATA_KINDS`) of the data set named by `data_config.name`."""
  return registry.get_data_set(data_config.name).kind


def heldout_split(data_name: str) -> str:
  """The split training evaluates on ("valid" or "test"; see `registry.DataSet`)."""
  return registry.get_data_set(data_name).heldout_split


def train_source(data_config) -> str:
  """`data_config.train_source`; "fixed" for configs written before the field."""
  return data_config.get("train_source", DEFAULT_TRAIN_SOURCE)


def fresh_batch_sampler(data_config,
                        batch_size: int) -> Optional[Callable[[jax.Array],
                                                              jax.Array]]:
  """`key -> [batch_size, T, nv]` fresh training sequences, or None (fixed split).

  In simulator mode a batch is the data set's simulator run on the key: a pure,
  jittable function, so the train step draws it on the device.
  """
  if train_source(data_config) == "fixed":
    return None
  return registry.get_data_set(data_config.name).fresh_batches(data_config,
                                                               batch_size)


class Dataset(NamedTuple):
  """Training and held-out sequences.

  Attributes:
    train: [M, T, nv] float32 training sequences.
    test: [K, T, nv] float32 held-out sequences that training evaluates on: the
      `heldout_split` of the data set ("valid" for the published polyphonic
      sets, else "test").
    visible_type: the visible units the data are for ("binary" or "gaussian").
    kind: what the frames are, one of `DATA_KINDS`.
    standardizer: for real-valued data, the per-dimension mean and scale (fitted on
      the training split) that `train` and `test` were standardised with; None
      for binary data.
  """
  train: np.ndarray
  test: np.ndarray
  visible_type: str
  kind: str
  standardizer: Optional[real_valued.Standardizer] = None

  @property
  def num_visible(self) -> int:
    return self.train.shape[-1]


def _windows(sequences, num_frames: int, stride: int, split: str) -> np.ndarray:
  """All windows of `num_frames` frames, `stride` apart, of each long enough sequence.

  Returns:
    float32 `[num_windows, num_frames, nv]`, sequence by sequence in order.
  """
  windows = [sequence[start:start + num_frames]
             for sequence in sequences
             for start in range(0, len(sequence) - num_frames + 1, stride)]
  if not windows:
    raise ValueError(f"data.num_frames={num_frames} is longer than every sequence "
                     f"of the {split!r} split; choose a shorter window.")
  return np.stack(windows).astype(np.float32)


def _load_splits(data_config, cache_dir):
  """(splits {name: sequences}, visible type, standardizer or None) of a data set.

  Real-valued data are standardised with a standardizer fitted on the training
  split.
  """
  entry = registry.get_data_set(data_config.name)
  splits = entry.load_splits(data_config, cache_dir, train_source(data_config))
  for split, sequences in splits.items():
    # Said here, for every data set: an empty split would fail later as
    # something else (a window too long, an empty evaluation).
    if len(sequences) == 0:
      path = data_config.get("path")
      raise ValueError(
          f"data.name={data_config.name!r}"
          + (f" (data.path={path!r})" if path else "")
          + f" has no sequences in its {split!r} split; every split needs at "
          "least one.")
  if entry.visible_type == checks.BINARY or not entry.standardise:
    return splits, entry.visible_type, None
  standardizer = real_valued.fit_standardizer(splits["train"])
  return ({split: real_valued.standardize(standardizer, sequences)
           for split, sequences in splits.items()}, entry.visible_type,
          standardizer)


def load_sequences(data_config, split: str,
                   cache_dir: Optional[str] = None) -> list[np.ndarray]:
  """Whole sequences `[T_i, nv]` of a split ("train", "valid" or "test").

  Music keeps each piece's own length (evaluation pads and masks them); bouncing
  balls have one length and no "valid" split.
  """
  splits, _, _ = _load_splits(data_config, cache_dir)
  if split not in splits:
    raise ValueError(f"split={split!r} is not accepted for data set "
                     f"{data_config.name!r}: one of {tuple(splits)}.")
  return [np.asarray(sequence, np.float32) for sequence in splits[split]]


def pad_sequences(sequences) -> tuple[np.ndarray, np.ndarray]:
  """Zero-pads whole sequences to a common length, for evaluation.

  Args:
    sequences: list of S arrays `[T_i, nv]` with T_i >= 1 and one nv.

  Returns:
    `(frames, mask)`: frames `float32 [S, T_max, nv]` with `frames[s, :T_s] =
    sequences[s]` and zeros after; mask `bool [S, T_max]`, True on real frames.

  Raises:
    ValueError: no sequences, or one that is not `[T, nv]` with T >= 1 (the message
      names its index).
  """
  if len(sequences) == 0:
    raise ValueError("sequences is empty; expected a non-empty list of [T_i, nv] "
                     "arrays")
  first_shape = np.shape(sequences[0])
  num_visible = first_shape[-1] if first_shape else None
  for index, sequence in enumerate(sequences):
    shape = np.shape(sequence)
    if len(shape) != 2 or shape[1] != num_visible or shape[0] == 0:
      raise ValueError(f"sequences[{index}] has shape {shape}; expected "
                       f"[T, {num_visible}] with T >= 1")
  length = max(len(sequence) for sequence in sequences)
  frames = np.zeros((len(sequences), length, num_visible), np.float32)
  mask = np.zeros((len(sequences), length), bool)
  for index, sequence in enumerate(sequences):
    frames[index, :len(sequence)] = sequence
    mask[index, :len(sequence)] = True
  return frames, mask


def load_dataset(data_config, cache_dir: Optional[str] = None) -> Dataset:
  """Loads (generating or caching as needed) the data set named by `data_config.name`.

  Args:
    data_config: `config.data` with at least `name` and `num_frames`; per data set:
      bouncing_balls: `num_train`, `num_test`, `resolution`;
      bach_chorales, piano_rolls, arm, arrays: `window_stride` (and `path` for
      piano_rolls, a .mat file or a pickle, and arrays; `num_train`, `num_test`
      for arm).
    cache_dir: where generated data are cached (default: RTRBM_JAX_CACHE or
      ~/.cache/rtrbm_jax).

  Returns:
    The validated `Dataset`.
  """
  splits, visible_type, standardizer = _load_splits(data_config, cache_dir)
  entry = registry.get_data_set(data_config.name)
  if entry.fixed_length:
    # Already [N, T, nv] of the configured length: no windows to cut.
    train, test = (np.asarray(splits[split]) for split in ("train", "test"))
  else:
    train = _windows(splits["train"], data_config.num_frames,
                     data_config.window_stride, "train")
    heldout = entry.heldout_split
    # The validation windows do not overlap, so that a prefix of them (the
    # `eval.num_sequences` evaluated) spans as much of the split as it can.
    test = _windows(splits[heldout], data_config.num_frames,
                    data_config.num_frames if heldout == "valid"
                    else data_config.window_stride, heldout)
  dataset = Dataset(train, test, visible_type, entry.kind, standardizer)
  for split in ("train", "test"):
    checks.check_frames(getattr(dataset, split), dataset.num_visible,
                        name=f"{data_config.name} {split} data",
                        visible_type=dataset.visible_type)
  return dataset
