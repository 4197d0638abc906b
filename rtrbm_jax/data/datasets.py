"""Data sets by name, as fixed-length arrays validated once at the boundary.

`load_dataset(config.data)` is the only place that knows the data sets' names. It
returns float32 numpy arrays `[num_sequences, T, nv]` for training and held-out
evaluation; variable-length sequences (music) are cut into windows of
`config.data.num_frames` frames.

With `config.data.train_source="simulator"` (bouncing balls only) training draws
fresh sequences on the device at every update (`fresh_batch_sampler`); the fixed
training split is then not loaded, and `Dataset.train` holds a small sample of
simulated sequences in its place (what evaluation's "training sample" and the
mean-frame baseline read).
"""

import functools
import os
from typing import Callable, NamedTuple, Optional

import jax
import numpy as np

from rtrbm_jax.data import ball_simulator
from rtrbm_jax.data import bouncing_balls
from rtrbm_jax.data import music
from rtrbm_jax.data import polyphonic
from rtrbm_jax.data import real_valued
from rtrbm_jax.models import checks
from rtrbm_jax.models import rbm

# What a data set's frames are: pictures of a video, piano rolls of music
# (training and evaluation also give their frame accuracy, pictures are piano
# rolls with MIDI), or real-valued vectors (drawn as lines).
DATA_KINDS = ("video", "music", "real_valued")
# Each data set's kind; its keys are the accepted `data.name`s.
KINDS = {"bouncing_balls": "video", "bach_chorales": "music",
         "piano_rolls": "music", "arm": "real_valued", "arrays": "real_valued"}
DATASET_NAMES = tuple(KINDS)
# Fixed seeds of the generated arm data set's splits.
ARM_TRAIN_SEED, ARM_TEST_SEED = 2013, 3102
# Where training sequences come from: the data set's fixed training split, or
# fresh sequences of the JAX simulator at every update (bouncing balls only).
TRAIN_SOURCES = ("fixed", "simulator")
# The source of configs written before `data.train_source` existed.
DEFAULT_TRAIN_SOURCE = "fixed"
# Key of the simulated sample that stands for the training split in simulator mode.
SIMULATED_SAMPLE_SEED = 2008_0017


def data_kind(data_config) -> str:
  """The kind (`DATA_KINDS`) of the data set named by `data_config.name`."""
  return KINDS[data_config.name]


def train_source(data_config) -> str:
  """`data_config.train_source`; "fixed" for configs written before the field."""
  return data_config.get("train_source", DEFAULT_TRAIN_SOURCE)


def fresh_batch_sampler(data_config,
                        batch_size: int) -> Optional[Callable[[jax.Array],
                                                              jax.Array]]:
  """`key -> [batch_size, T, nv]` fresh training sequences, or None (fixed split).

  In simulator mode a batch is `ball_simulator.generate` of the key: a pure,
  jittable function, so the train step draws it on the device.
  """
  if train_source(data_config) == "fixed":
    return None
  return functools.partial(ball_simulator.generate, num_sequences=batch_size,
                           num_frames=data_config.num_frames,
                           resolution=data_config.resolution)


_simulated_sample = jax.jit(ball_simulator.generate, static_argnums=(1, 2, 3))


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


def _windows(sequences, num_frames: int, stride: int) -> np.ndarray:
  """All windows of `num_frames` frames, `stride` apart, of each long enough sequence.

  Returns:
    float32 `[num_windows, num_frames, nv]`, sequence by sequence in order.
  """
  windows = [sequence[start:start + num_frames]
             for sequence in sequences
             for start in range(0, len(sequence) - num_frames + 1, stride)]
  if not windows:
    raise ValueError(f"data.num_frames={num_frames} is longer than every sequence; "
                     "choose a shorter window.")
  return np.stack(windows).astype(np.float32)


def _music_splits(data_config, cache_dir):
  if data_config.name == "bach_chorales":
    return music.bach_chorales(cache_dir)
  if not data_config.path:
    raise ValueError("config.data.path='' is not accepted: the path of a polyphonic "
                     "data set's .mat file or piano-roll pickle (e.g. "
                     "JSB_Chorales.mat, JSB Chorales.pickle) for "
                     "data.name='piano_rolls'.")
  if not os.path.exists(data_config.path):
    raise ValueError(f"config.data.path={data_config.path!r} does not exist: get the "
                     "RNN-RBM paper's pickles with `python -m experiments.download`, "
                     "or pass the path of your copy (.mat or .pickle).")
  return polyphonic.load(data_config.path)


def heldout_split(data_name: str) -> str:
  """The split training evaluates on: "valid" for the published polyphonic sets
  (their test split is touched once, by `experiments.evaluate`), else "test"."""
  return "valid" if data_name == "piano_rolls" else "test"


def _real_valued_splits(data_config) -> dict:
  """Unstandardised real-valued sequences: the generated arm, or a file's arrays.

  A file's last `num_test` sequences are held out.
  """
  if data_config.name == "arm":
    return {"train": list(real_valued.generate(ARM_TRAIN_SEED, data_config.num_train,
                                               data_config.num_frames)),
            "test": list(real_valued.generate(ARM_TEST_SEED, data_config.num_test,
                                              data_config.num_frames))}
  if not data_config.path:
    raise ValueError("config.data.path='' is not accepted: the .npy/.npz file of "
                     "sequences for data.name='arrays'.")
  sequences = real_valued.load_sequences(data_config.path)
  if len(sequences) <= data_config.num_test:
    raise ValueError(f"config.data.num_test={data_config.num_test} is not accepted: "
                     f"fewer than the {len(sequences)} sequences in "
                     f"{data_config.path!r}, so that some are left to train on.")
  return {"train": sequences[:-data_config.num_test],
          "test": sequences[-data_config.num_test:]}


def _load_splits(data_config, cache_dir):
  """(splits {name: sequences}, visible type, standardizer or None) of a data set.

  The only place that dispatches on `data_config.name`. Real-valued data are
  standardised with a standardizer fitted on the training split.
  """
  name = data_config.name
  if name == "bouncing_balls" and train_source(data_config) == "simulator":
    test = bouncing_balls.standard_test_split(
        cache_dir, num_test=data_config.num_test,
        num_frames=data_config.num_frames, resolution=data_config.resolution)
    # As many simulated sequences as held-out ones: the training distribution.
    train = np.asarray(_simulated_sample(
        jax.random.key(SIMULATED_SAMPLE_SEED), data_config.num_test,
        data_config.num_frames, data_config.resolution))
    return {"train": train, "test": test}, rbm.BINARY, None
  if name == "bouncing_balls":
    splits = dict(zip(("train", "test"), bouncing_balls.standard_split(
        cache_dir, num_train=data_config.num_train, num_test=data_config.num_test,
        num_frames=data_config.num_frames, resolution=data_config.resolution)))
    return splits, rbm.BINARY, None
  if KINDS.get(name) == "music":
    return _music_splits(data_config, cache_dir), rbm.BINARY, None
  if KINDS.get(name) == "real_valued":
    splits = _real_valued_splits(data_config)
    standardizer = real_valued.fit_standardizer(splits["train"])
    return ({split: real_valued.standardize(standardizer, sequences)
             for split, sequences in splits.items()}, rbm.GAUSSIAN, standardizer)
  raise ValueError(f"data.name must be one of {DATASET_NAMES}, got {name!r}.")


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
  if data_config.name == "bouncing_balls":
    # Already [N, T, nv] of the configured length: no windows to cut.
    train, test = (np.asarray(splits[split]) for split in ("train", "test"))
  else:
    train = _windows(splits["train"], data_config.num_frames,
                     data_config.window_stride)
    heldout = heldout_split(data_config.name)
    # The validation windows do not overlap, so that a prefix of them (the
    # `eval.num_sequences` evaluated) spans as much of the split as it can.
    test = _windows(splits[heldout], data_config.num_frames,
                    data_config.num_frames if heldout == "valid"
                    else data_config.window_stride)
  dataset = Dataset(train, test, visible_type, data_kind(data_config),
                    standardizer)
  for split in ("train", "test"):
    checks.check_frames(getattr(dataset, split), dataset.num_visible,
                        name=f"{data_config.name} {split} data",
                        visible_type=dataset.visible_type)
  return dataset
