"""The four polyphonic sets: .mat files and pickles read, bad ones refused in one
line, and training held out on their valid split."""

import os
import pickle

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import scipy.io

from configs import polyphonic as polyphonic_config
from rtrbm_jax.data import datasets
from rtrbm_jax.data import music
from rtrbm_jax.data import polyphonic

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Where the published .mat files are, if this checkout has them beside it.
_SHARED = os.path.join(_REPO, polyphonic.SHARED_DIRECTORY)


def _cells(rolls):
  """A 1 x N object array: what savemat writes as a cell array."""
  cells = np.empty((1, len(rolls)), dtype=object)
  for index, roll in enumerate(rolls):
    cells[0, index] = roll
  return cells


def _roll(notes_per_frame, dtype=np.uint8):
  """A [T, 88] roll with MIDI notes `notes_per_frame[t]` on in frame t."""
  roll = np.zeros((len(notes_per_frame), 88), dtype)
  for time, notes in enumerate(notes_per_frame):
    for note in notes:
      roll[time, note - 21] = 1
  return roll


def _write_mat(directory, name="tiny.mat", **overrides):
  """A .mat file in the published layout; `overrides` replace its variables."""
  variables = {
      "traindata": _cells([_roll([(21, 60), (), (108,)]), _roll([(64,)] * 5)]),
      "validdata": _cells([_roll([(62,), (65,)])]),
      "testdata": _cells([_roll([(60, 64, 67)] * 3), _roll([(70,)] * 4),
                          _roll([(72,)])]),
  }
  variables.update(overrides)
  path = os.path.join(directory, name)
  scipy.io.savemat(path, variables)
  return path


def _write_pickle(directory, data, name="tiny.pickle"):
  path = os.path.join(directory, name)
  with open(path, "wb") as f:
    pickle.dump(data, f, protocol=2)
  return path


class MatTest(parameterized.TestCase):

  def test_a_mat_file_gives_the_three_splits_with_unit_j_midi_21_plus_j(self):
    path = _write_mat(self.create_tempdir().full_path)
    splits = polyphonic.load(path)
    self.assertEqual({split: len(rolls) for split, rolls in splits.items()},
                     {"train": 2, "valid": 1, "test": 3})
    first = splits["train"][0]
    self.assertEqual((first.shape, first.dtype), ((3, 88), np.float32))
    np.testing.assert_array_equal(np.flatnonzero(first[0]), [0, 60 - 21])
    np.testing.assert_array_equal(np.flatnonzero(first[2]), [108 - 21])
    self.assertEqual(first[1].sum(), 0)
    self.assertEqual([len(roll) for roll in splits["test"]], [3, 4, 1])

  def test_the_same_rolls_from_a_mat_file_and_a_pickle_are_equal(self):
    directory = self.create_tempdir().full_path
    from_mat = polyphonic.load(_write_mat(directory))
    notes = {split: [[tuple(int(j) + 21 for j in np.flatnonzero(frame))
                      for frame in roll] for roll in rolls]
             for split, rolls in from_mat.items()}
    from_pickle = polyphonic.load(_write_pickle(directory, notes))
    for split in music.SPLITS:
      for mat_roll, pickle_roll in zip(from_mat[split], from_pickle[split],
                                       strict=True):
        np.testing.assert_array_equal(mat_roll, pickle_roll)

  @parameterized.named_parameters(
      ("missing_variable", {"validdata": None}, r"has variables \['testdata', "
       r"'traindata'\]; expected \['traindata', 'validdata', 'testdata'\]"),
      ("not_a_cell_array", {"testdata": np.zeros((3, 88), np.uint8)},
       "testdata is a ndarray of uint8; expected a cell array"),
      ("empty_split", {"validdata": np.empty((1, 0), dtype=object)},
       "validdata holds no sequences"),
      ("non_binary", {"testdata": _cells([_roll([(60,)]) * 2])},
       r"testdata\{1\} has value 2; expected a binary piano roll"),
      ("wrong_width", {"traindata": _cells([np.zeros((4, 87), np.uint8)])},
       r"traindata\{1\} has shape \(4, 87\); expected \[T, 88\]"),
      ("empty_sequence", {"validdata": _cells([_roll([(60,)]),
                                               np.zeros((0, 88), np.uint8)])},
       r"validdata\{2\} has shape \(0, 88\)"),
  )
  def test_a_bad_mat_file_is_one_line_naming_what_is_wrong(self, overrides,
                                                          expected):
    directory = self.create_tempdir().full_path
    if overrides.get("validdata", 0) is None:
      path = _write_mat(directory)
      contents = scipy.io.loadmat(path)
      scipy.io.savemat(path, {name: contents[name]
                              for name in ("traindata", "testdata")})
    else:
      path = _write_mat(directory, **overrides)
    with self.assertRaisesRegex(ValueError, expected) as raised:
      polyphonic.load(path)
    self.assertNotIn("\n", str(raised.exception))
    self.assertIn(path, str(raised.exception))

  @parameterized.named_parameters(("empty", b""), ("garbage", b"MATLAB 5.0 junk"))
  def test_a_file_that_is_not_a_mat_file_is_one_line(self, content):
    path = os.path.join(self.create_tempdir().full_path, "x.mat")
    with open(path, "wb") as f:
      f.write(content)
    with self.assertRaisesRegex(ValueError, "is not a readable .mat file") as raised:
      polyphonic.load(path)
    self.assertNotIn("\n", str(raised.exception))

  def test_a_missing_file_is_one_line(self):
    with self.assertRaisesRegex(ValueError, "does not exist"):
      polyphonic.load(os.path.join(self.create_tempdir().full_path, "no.mat"))


class PickleTest(parameterized.TestCase):

  @parameterized.named_parameters(
      ("frame_is_an_int", {"train": [[(60,), 61]]},
       "split 'train', sequence 0, frame 1: is a int"),
      ("sequence_is_none", {"train": [[(60,)], None]},
       "split 'train', sequence 1: is a NoneType"),
      ("note_out_of_range", {"train": [[(60,), (109,)]]},
       "note 109 is outside the piano range"),
      ("note_not_an_integer", {"train": [[(60.5,)]]},
       "note 60.5 is not an integer MIDI note"),
      ("note_is_inf", {"train": [[(60,), (float("inf"),)]]},
       "split 'train', sequence 0, frame 1: note inf is not an integer MIDI note"),
      ("note_is_minus_inf", {"valid": [[(-float("inf"),)]]},
       "split 'valid', sequence 0, frame 0: note -inf is not an integer"),
      ("split_not_a_list", {"train": "abc"}, "split 'train' is a str"),
      ("no_valid_split", {"valid": None, "drop": "valid"},
       r"expected a dict with keys \['train', 'valid', 'test'\]"),
  )
  def test_a_bad_piano_roll_pickle_is_one_line(self, changes, expected):
    data = {split: [[(60, 64), ()]] for split in music.SPLITS}
    data.update(changes)
    if "drop" in data:
      del data[data.pop("drop")]
    path = _write_pickle(self.create_tempdir().full_path, data)
    with self.assertRaisesRegex(ValueError, expected) as raised:
      polyphonic.load(path)
    self.assertNotIn("\n", str(raised.exception))


class HeldOutTest(absltest.TestCase):

  def test_training_evaluates_the_valid_split_not_the_test_split(self):
    # Silent valid pieces, sounding test pieces: the held-out windows are silent.
    directory = self.create_tempdir().full_path
    path = _write_mat(
        directory,
        validdata=_cells([_roll([()] * 9), _roll([()] * 6)]),
        testdata=_cells([_roll([(60, 64)] * 9)]),
        traindata=_cells([_roll([(60,), (62,)] * 4)]))
    config = polyphonic_config.get_config("jsb_chorales,rtrbm")
    config.data.path = path
    config.data.num_frames = 3
    dataset = datasets.load_dataset(config.data)
    # Non-overlapping windows of the valid split: 9 // 3 + 6 // 3.
    self.assertEqual(dataset.test.shape, (5, 3, 88))
    self.assertEqual(dataset.test.sum(), 0)
    self.assertEqual(datasets.heldout_split(config.data.name), "valid")
    np.testing.assert_array_equal(
        datasets.load_sequences(config.data, "test")[0], _roll([(60, 64)] * 9))


class EmptySplitTest(parameterized.TestCase):

  @parameterized.parameters("valid", "test", "train")
  def test_an_empty_split_is_named_as_empty(self, split):
    # Issue 34: an empty valid split was reported as a window longer than every
    # sequence, an empty test split trained.
    data = {name: [[(60, 64)] * 9] for name in music.SPLITS}
    data[split] = []
    path = _write_pickle(self.create_tempdir().full_path, data)
    config = polyphonic_config.get_config("jsb_chorales,rtrbm")
    config.data.path = path
    config.data.num_frames = 3
    with self.assertRaisesRegex(
        ValueError, rf"^data.name='piano_rolls' \(data.path='.*tiny.pickle'\) has "
        rf"no sequences in its '{split}' split; every split needs at least "
        "one.$"):
      datasets.load_dataset(config.data)


@absltest.skipUnless(os.path.isdir(_SHARED), f"no {_SHARED} in this checkout")
class PublishedFilesTest(parameterized.TestCase):

  @parameterized.parameters(*polyphonic.DATA_SETS)
  def test_the_published_mat_files_have_the_published_counts(self, data_set):
    expected = polyphonic.DATA_SETS[data_set]
    splits = polyphonic.load(os.path.join(_SHARED, expected.mat_file))
    self.assertEqual(tuple(len(splits[split]) for split in music.SPLITS),
                     expected.num_sequences)
    self.assertEqual(tuple(sum(map(len, splits[split])) for split in music.SPLITS),
                     expected.num_frames)


if __name__ == "__main__":
  absltest.main()
