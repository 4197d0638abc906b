"""The data sets by name: the one table that lists them (as `models/registry.py`
lists the model kinds).

Each entry says what a data set is and how to get it: its kind, how its splits are
loaded, which split training evaluates on, whether fresh simulated sequences can
stand in for its training split, and how much memory generating it takes.
`datasets.load_dataset` and the config schema read the entries; nothing else
names a data set. Adding a data set is its loader module and one entry here.
"""

import functools
import os
from typing import Callable, NamedTuple, Optional

import jax
import numpy as np

from rtrbm_jax import checks
from rtrbm_jax.data import ball_simulator
from rtrbm_jax.data import bouncing_balls
from rtrbm_jax.data import mocap
from rtrbm_jax.data import music
from rtrbm_jax.data import polyphonic
from rtrbm_jax.data import real_valued

# What a data set's frames are: pictures of a video, piano rolls of music
# (training and evaluation also give their frame accuracy, pictures are piano
# rolls with MIDI), or real-valued vectors (standardised, drawn as lines).
DATA_KINDS = ("video", "music", "real_valued")
# Fixed seeds of the generated arm data set's splits.
ARM_TRAIN_SEED, ARM_TEST_SEED = 2013, 3102
# Key of the simulated sample that stands for the training split in simulator mode.
SIMULATED_SAMPLE_SEED = 2008_0017


class DataSet(NamedTuple):
  """A data set's entry.

  Attributes:
    kind: what its frames are, one of `DATA_KINDS`; real-valued data have
      Gaussian visible units and are standardised, the others binary units.
    load_splits: `(config.data, cache_dir, train_source) -> {split: sequences}`,
      each split a list of `[T_i, nv]` arrays or an array `[N, T, nv]` (in data
      units: `datasets.load_dataset` standardises real-valued ones).
    heldout_split: the split training evaluates on and selects parameters by:
      "valid" where the data set has one (its test split is then touched once, by
      `experiments.evaluate`), else "test".
    fixed_length: its sequences already have `data.num_frames` frames (no windows
      are cut from them).
    fresh_batches: for `data.train_source="simulator"`, `(config.data,
      batch_size) -> (key -> [batch_size, T, nv])`, a jittable draw of fresh
      training sequences; None where the data set has no simulator.
    generated_bytes: `(config.data, num_visible) -> bytes` of the float32 frames
      of the splits a generated data set builds (`built_sequences`), checked
      against memory before generating; None for data read from files.
    standardise: real-valued data are standardised per dimension with the
      training split's mean and scale (False: the file's units are kept, as for
      motion capture, which its authors standardised already).
  """
  kind: str
  load_splits: Callable
  heldout_split: str = "test"
  fixed_length: bool = False
  fresh_batches: Optional[Callable] = None
  generated_bytes: Optional[Callable] = None
  standardise: bool = True

  @property
  def visible_type(self) -> str:
    return checks.GAUSSIAN if self.kind == "real_valued" else checks.BINARY


_simulated_sample = jax.jit(ball_simulator.generate, static_argnums=(1, 2, 3))


def _bouncing_balls(data_config, cache_dir, train_source: str) -> dict:
  test = bouncing_balls.standard_test_split(
      cache_dir, num_test=data_config.num_test, num_frames=data_config.num_frames,
      resolution=data_config.resolution)
  if train_source == "simulator":
    # The training split is never built: as many simulated sequences as held-out
    # ones stand for it (the training distribution), for evaluation's samples.
    train = np.asarray(_simulated_sample(
        jax.random.key(SIMULATED_SAMPLE_SEED), data_config.num_test,
        data_config.num_frames, data_config.resolution))
    return {"train": train, "test": test}
  train, test = bouncing_balls.standard_split(
      cache_dir, num_train=data_config.num_train, num_test=data_config.num_test,
      num_frames=data_config.num_frames, resolution=data_config.resolution)
  return {"train": train, "test": test}


def _fresh_bouncing_balls(data_config, batch_size: int):
  return functools.partial(ball_simulator.generate, num_sequences=batch_size,
                           num_frames=data_config.num_frames,
                           resolution=data_config.resolution)


def _file_path(data_config, files: str, download_hint: str) -> str:
  """`data_config.path`, checked to name an existing file."""
  if not data_config.path:
    raise ValueError(f"config.data.path='' is not accepted: the path of {files} "
                     f"for data.name={data_config.name!r}.")
  if not os.path.exists(data_config.path):
    raise ValueError(f"config.data.path={data_config.path!r} does not exist: "
                     f"{download_hint}.")
  return data_config.path


def _piano_rolls(data_config, cache_dir, train_source: str) -> dict:
  del cache_dir, train_source
  return polyphonic.load(_file_path(
      data_config, "a polyphonic data set's .mat file or piano-roll pickle (e.g. "
      "JSB_Chorales.mat, JSB Chorales.pickle)",
      "get the RNN-RBM paper's pickles with `python -m experiments.download`, or "
      "pass the path of your copy (.mat or .pickle)"))


def _arm(data_config, cache_dir, train_source: str) -> dict:
  del cache_dir, train_source
  return {"train": list(real_valued.generate(ARM_TRAIN_SEED, data_config.num_train,
                                             data_config.num_frames)),
          "test": list(real_valued.generate(ARM_TEST_SEED, data_config.num_test,
                                            data_config.num_frames))}


def _arrays(data_config, cache_dir, train_source: str) -> dict:
  """A file's sequences; its last `num_test` sequences are held out."""
  del cache_dir, train_source
  sequences = real_valued.load_sequences(_file_path(
      data_config, "the .npy/.npz file of sequences", "pass the path of the file"))
  if len(sequences) <= data_config.num_test:
    raise ValueError(f"config.data.num_test={data_config.num_test} is not accepted: "
                     f"fewer than the {len(sequences)} sequences in "
                     f"{data_config.path!r}, so that some are left to train on.")
  return {"train": sequences[:-data_config.num_test],
          "test": sequences[-data_config.num_test:]}


# The repository's root, where `../shared/data/` may hold the data sets' files.
_REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _mocap(data_config, cache_dir, train_source: str) -> dict:
  """The RTRBM paper's motion capture, split as its code does (`mocap.py`)."""
  del cache_dir, train_source
  path = data_config.path or mocap.default_path(_REPOSITORY)
  if not os.path.exists(path):
    raise ValueError(f"config.data.path={data_config.path!r} is not accepted: "
                     f"{path} does not exist; fetch it with `python -m "
                     "experiments.download --data_set=mocap`.")
  return mocap.split_mocap(mocap.load_mocap(path))


def built_sequences(data) -> dict:
  """{config field: number of sequences} of the splits a generated data set
  builds: with `data.train_source="simulator"` the training split is never
  built (a sample of `num_test` simulated sequences stands for it)."""
  if data.get("train_source", "fixed") == "simulator":
    return {"data.num_test": 2 * data.num_test}
  return {"data.num_train": data.num_train, "data.num_test": data.num_test}


def _generated_bytes(units: Callable):
  """Bytes of the built splits' float32 frames, twice (the host's and the
  device's)."""
  return lambda data, num_visible: (2 * 4 * sum(built_sequences(data).values())
                                    * data.num_frames * units(data, num_visible))


DATA_SETS = {
    "bouncing_balls": DataSet(
        "video", _bouncing_balls, fixed_length=True,
        fresh_batches=_fresh_bouncing_balls,
        generated_bytes=_generated_bytes(
            lambda data, num_visible: data.resolution**2)),
    "bach_chorales": DataSet(
        "music", lambda data_config, cache_dir, train_source:
        music.bach_chorales(cache_dir)),
    "piano_rolls": DataSet("music", _piano_rolls, heldout_split="valid"),
    "arm": DataSet("real_valued", _arm, generated_bytes=_generated_bytes(
        lambda data, num_visible: num_visible)),
    "arrays": DataSet("real_valued", _arrays),
    "mocap": DataSet("real_valued", _mocap, heldout_split="valid",
                     standardise=False),
}
DATASET_NAMES = tuple(DATA_SETS)


def get_data_set(name: str) -> DataSet:
  """The entry of data set `name` (`config.data.name`).

  Raises:
    ValueError: an unknown name (one line with the accepted ones).
  """
  if name not in DATA_SETS:
    raise ValueError(f"config.data.name={name!r} is not accepted: one of "
                     f"{DATASET_NAMES}.")
  return DATA_SETS[name]
