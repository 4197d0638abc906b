"""The RNN-RBM paper's four polyphonic-music sets, from `.mat` files or pickles.

Boulanger-Lewandowski, Bengio & Vincent (ICML 2012), Table 1: JSB Chorales,
Nottingham, MuseData and Piano-midi.de, with their published train/valid/test
splits. Two forms of the same splits are read:

* the authors' pickles (`JSB Chorales.pickle`, ...; `experiments.download` fetches
  them): a dict of "train"/"valid"/"test" lists of sequences, each frame a tuple
  of MIDI note numbers 21..108 (`music.load_piano_rolls`, a restricted unpickler);
* Gan et al.'s `.mat` conversion (`JSB_Chorales.mat`, ...; read with
  `scipy.io.loadmat`): variables `traindata`, `validdata`, `testdata`, each a
  1 x N cell array of `T x 88` uint8 piano rolls.

Either way a sequence is a float32 piano roll `[T, 88]` whose unit j is MIDI note
21 + j (A0 = 21 to C8 = 108), validated here at the boundary.
"""

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from rtrbm_jax.data import download
from rtrbm_jax.data import music


class PublishedSet(NamedTuple):
  """One of the four sets: its .mat file name and its published size.

  Attributes:
    mat_file: the name of Gan et al.'s `.mat` file.
    num_sequences: (train, valid, test) sequences of the published split.
    num_frames: (train, valid, test) frames of the published split.
  """
  mat_file: str
  num_sequences: tuple[int, int, int]
  num_frames: tuple[int, int, int]


# The counts are those of the published splits (the .mat files' README table).
DATA_SETS = {
    "jsb_chorales": PublishedSet("JSB_Chorales.mat", (229, 76, 77),
                                 (13_807, 4_602, 4_725)),
    "nottingham": PublishedSet("Nottingham.mat", (694, 173, 170),
                               (176_561, 45_513, 44_463)),
    "musedata": PublishedSet("MuseData.mat", (524, 135, 124),
                             (245_202, 82_755, 64_339)),
    "piano_midi": PublishedSet("Piano_midi.mat", (87, 12, 25),
                               (75_911, 8_540, 19_036)),
}
# The .mat variable of each split.
MAT_VARIABLES = {"train": "traindata", "valid": "validdata", "test": "testdata"}
# Where the .mat files are looked for, relative to the repository root.
SHARED_DIRECTORY = os.path.join("..", "shared", "data", "polyphonic")
_FORMATS = ("a .mat file (traindata/validdata/testdata cells of T x 88 rolls) or "
            "a piano-roll .pickle (e.g. 'JSB Chorales.pickle')")


def check_name(data_set: str) -> PublishedSet:
  if data_set not in DATA_SETS:
    raise ValueError(f"data_set={data_set!r} is not accepted: one of "
                     f"{tuple(DATA_SETS)}.")
  return DATA_SETS[data_set]


def default_path(data_set: str, repository_root: str | os.PathLike) -> str:
  """The `.mat` file in `<repository_root>/../shared/data/polyphonic/` if it is
  there, else where `experiments.download` puts the set's pickle."""
  mat = Path(repository_root) / SHARED_DIRECTORY / check_name(data_set).mat_file
  return str(mat.resolve()) if mat.is_file() else str(download.local_path(data_set))


def load(path: str | os.PathLike) -> dict[str, list[np.ndarray]]:
  """The splits of a `.mat` file or a piano-roll pickle (chosen by the suffix).

  Returns:
    {"train", "valid", "test"}: lists of float32 `[T_i, 88]` binary piano rolls.

  Raises:
    ValueError: one line naming the file and what is wrong with it.
  """
  if str(path).endswith(".mat"):
    return load_mat(path)
  return music.load_piano_rolls(path)


def _read_mat(path: str) -> dict:
  # Imported here: scipy is needed only by this reader.
  import scipy.io  # pylint: disable=g-import-not-at-top
  if not os.path.isfile(path):
    raise ValueError(f"path={path!r} does not exist or is not a file; expected "
                     f"{_FORMATS}.")
  try:
    return scipy.io.loadmat(path)
  except Exception as error:  # pylint: disable=broad-except
    # scipy raises ValueError, TypeError, OSError, NotImplementedError (MATLAB
    # v7.3 files) and zlib errors for files it cannot read.
    detail = str(error).splitlines()[0] if str(error) else ""
    raise ValueError(f"path={path!r} is not a readable .mat file "
                     f"({type(error).__name__}: {detail}); expected {_FORMATS}."
                     ) from None


def _mat_roll(roll, where: str) -> np.ndarray:
  """A cell's `T x 88` roll as float32, or a ValueError naming `where`."""
  roll = np.asarray(roll)
  if roll.ndim != 2 or roll.shape[1] != music.NUM_KEYS or roll.shape[0] == 0:
    raise ValueError(f"{where} has shape {roll.shape}; expected [T, "
                     f"{music.NUM_KEYS}] with T >= 1 (column j = MIDI note "
                     f"{music.LOWEST_NOTE} + j)")
  if roll.dtype.kind not in "biuf":
    raise ValueError(f"{where} holds {roll.dtype} values; expected a binary piano "
                     "roll of 0/1")
  non_binary = roll[(roll != 0) & (roll != 1)]
  if non_binary.size:
    raise ValueError(f"{where} has value {non_binary.flat[0].item()!r}; expected a "
                     "binary piano roll of 0/1")
  return roll.astype(np.float32)


def load_mat(path: str | os.PathLike) -> dict[str, list[np.ndarray]]:
  """The splits of a `.mat` file (format: module docstring).

  Returns:
    {"train", "valid", "test"}: lists of float32 `[T_i, 88]` binary piano rolls,
    in file order.

  Raises:
    ValueError: one line naming the file and, where it is one split or sequence,
      that split and sequence.
  """
  path = str(path)
  contents = _read_mat(path)
  splits = {}
  for split, variable in MAT_VARIABLES.items():
    if variable not in contents:
      found = sorted(name for name in contents if not name.startswith("__"))
      raise ValueError(f"path={path!r} has variables {found}; expected "
                       f"{list(MAT_VARIABLES.values())} (cells of T x 88 rolls)")
    cells = contents[variable]
    if not isinstance(cells, np.ndarray) or cells.dtype != object:
      raise ValueError(f"path={path!r}: {variable} is a {type(cells).__name__} of "
                       f"{getattr(cells, 'dtype', '?')}; expected a cell array of "
                       "T x 88 piano rolls")
    if cells.size == 0:
      raise ValueError(f"path={path!r}: {variable} holds no sequences; expected "
                       "a non-empty cell array of T x 88 piano rolls")
    splits[split] = [
        _mat_roll(roll, f"path={path!r}: {variable}{{{index + 1}}}")
        for index, roll in enumerate(cells.ravel(order="F"))]
  return splits
