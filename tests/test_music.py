"""Tests of rtrbm_jax.data.music: piano-roll pickles, scores, Bach chorales.

The data code is NumPy, not JAX, so these tests have no jitted variants.
"""

from fractions import Fraction
import importlib.util
import os
from pathlib import Path
import pickle
import sys

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from rtrbm_jax.data import music
from tests import helpers

# The same condition as pytest.importorskip("music21"): an optional dependency.
_HAS_MUSIC21 = importlib.util.find_spec("music21") is not None
_NEEDS_MUSIC21 = "needs the optional dependency music21"


def _write_pickle(path, obj, protocol=2):
  # Protocol 2 is what the published (Python 2) RNN-RBM pickles use.
  with open(path, "wb") as file:
    pickle.dump(obj, file, protocol=protocol)
  return path


def _roll(frames):
  """`[len(frames), 88]` roll with the listed MIDI notes on in each frame."""
  roll = np.zeros((len(frames), 88), np.float32)
  for time, notes in enumerate(frames):
    for note in notes:
      roll[time, note - 21] = 1
  return roll


class LoadPianoRollsTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.directory = Path(self.create_tempdir().full_path)

  def _tiny_pickle(self):
    """A small data set in the RNN-RBM paper's format (dict of lists of lists)."""
    data = {
        "train": [
            [(21, 60), (), [108], (60, 64, 67)],  # lists, tuples, a silent frame
            [(48,)],
        ],
        # numpy ints / integral floats, as in some files
        "valid": [[(np.int64(55), 59.0)]],
        "test": [[(), (72,)], [(36, 40)], [(21,)]],
    }
    return _write_pickle(self.directory / "tiny.pickle", data)

  def test_notes_map_to_units_21_to_108(self):
    rolls = music.load_piano_rolls(self._tiny_pickle())
    first = rolls["train"][0]
    self.assertEqual(first.shape, (4, 88))
    # A0 = 21 -> 0, C4 = 60 -> 39
    self.assertEqual(np.flatnonzero(first[0]).tolist(), [0, 39])
    self.assertEqual(np.flatnonzero(first[2]).tolist(), [87])  # C8 = 108 -> 87
    self.assertEqual(np.flatnonzero(first[3]).tolist(), [39, 43, 46])
    self.assertEqual(np.flatnonzero(rolls["valid"][0][0]).tolist(), [34, 38])

  def test_loaded_splits_keep_file_order_as_binary_float32(self):
    rolls = music.load_piano_rolls(self._tiny_pickle())
    self.assertEqual(set(rolls), {"train", "valid", "test"})
    self.assertEqual([len(rolls[split]) for split in music.SPLITS], [2, 1, 3])
    self.assertEqual([len(roll) for roll in rolls["test"]], [2, 1, 1])
    for sequences in rolls.values():
      for roll in sequences:
        self.assertTrue(roll.dtype == np.float32 and roll.ndim == 2
                        and roll.shape[1] == 88)
        self.assertLessEqual(set(np.unique(roll)), {0.0, 1.0})

  def test_empty_frame_is_silence(self):
    rolls = music.load_piano_rolls(self._tiny_pickle())
    self.assertEqual(rolls["train"][0][1].sum(), 0)
    self.assertEqual(rolls["test"][0][0].sum(), 0)

  def test_missing_file_raises_value_error_naming_path(self):
    with self.assertRaisesRegex(ValueError, "path=.*nope.pickle.*does not exist"):
      music.load_piano_rolls(self.directory / "nope.pickle")

  @parameterized.named_parameters(
      ("not_a_dict", [1, 2, 3]),
      ("missing_split", {"train": [], "valid": []}),
  )
  def test_non_dict_or_missing_split_raises_value_error(self, obj):
    path = _write_pickle(self.directory / "bad.pickle", obj)
    with self.assertRaisesRegex(ValueError, "expected a dict with keys"):
      music.load_piano_rolls(path)

  @parameterized.parameters(20, 109)
  def test_note_outside_piano_error_names_split_sequence_and_note(self, note):
    data = {"train": [[(60,)]], "valid": [[(60,)], [(62,), (note, 64)]],
            "test": [[(60,)]]}
    path = _write_pickle(self.directory / "bad.pickle", data)
    with self.assertRaisesRegex(
        ValueError, rf"split 'valid', sequence 1, frame 1: note {note} .*21\.\.108"):
      music.load_piano_rolls(path)

  def test_non_integer_note_raises_value_error(self):
    path = _write_pickle(self.directory / "bad.pickle",
                         {"train": [[(60.5,)]], "valid": [], "test": []})
    with self.assertRaisesRegex(
        ValueError, "split 'train', sequence 0, frame 0: note 60.5 is not an integer"):
      music.load_piano_rolls(path)

  def test_empty_sequence_raises_value_error(self):
    path = _write_pickle(self.directory / "bad.pickle",
                         {"train": [], "valid": [], "test": [[(60,)], []]})
    with self.assertRaisesRegex(ValueError,
                                "split 'test', sequence 1: sequence is empty"):
      music.load_piano_rolls(path)


@absltest.skipUnless(_HAS_MUSIC21, _NEEDS_MUSIC21)
class PianoRollFromScoreTest(parameterized.TestCase):

  def _tiny_score(self):
    """Two parts, 4 quarter notes long (hand-computed rolls in the tests below).

    Upper part: C4 half [0, 2), E4 eighth [2, 2.5), F4 eighth [2.5, 3), G4 quarter
    [3, 4). Lower part: quarter rest [0, 1), chord C3+G3 dotted half [1, 4).
    """
    import music21  # pylint: disable=g-import-not-at-top
    upper = music21.stream.Part()
    for name, quarter_length in [("C4", 2.0), ("E4", 0.5), ("F4", 0.5),
                                 ("G4", 1.0)]:
      upper.append(music21.note.Note(name, quarterLength=quarter_length))
    lower = music21.stream.Part()
    lower.append(music21.note.Rest(quarterLength=1.0))
    lower.append(music21.chord.Chord(["C3", "G3"], quarterLength=3.0))
    score = music21.stream.Score()
    score.insert(0, upper)
    score.insert(0, lower)
    return score

  def test_quarter_grid_keeps_pitches_sounding_at_each_step_start(self):
    # t=0: C4; t=1: C4 held + chord; t=2: E4 + chord; t=3: G4 + chord. F4 starts
    # at 2.5, between grid points, so it is not sampled.
    expected = _roll([[60], [60, 48, 55], [64, 48, 55], [67, 48, 55]])
    np.testing.assert_array_equal(
        music.piano_roll_from_score(self._tiny_score(), step=1.0), expected)

  def test_eighth_grid_also_samples_offbeat_notes(self):
    expected = _roll([[60], [60], [60, 48, 55], [60, 48, 55],
                      [64, 48, 55], [65, 48, 55], [67, 48, 55], [67, 48, 55]])
    roll = music.piano_roll_from_score(self._tiny_score(), step=0.5)
    self.assertEqual(roll.dtype, np.float32)
    np.testing.assert_array_equal(roll, expected)

  def test_triplet_offsets_are_sampled_exactly(self):
    import music21  # pylint: disable=g-import-not-at-top
    part = music21.stream.Part()
    # Quarter-note triplet: 2/3 each, ends exactly at 2.
    for name in ["C4", "D4", "E4"]:
      part.append(music21.note.Note(name, quarterLength=Fraction(2, 3)))
    part.append(music21.note.Note("F4", quarterLength=1.0))
    # Grid points 0, 1, 2: C4 [0, 2/3), D4 [2/3, 4/3) sounds at 1, F4 starts at
    # exactly 2.
    np.testing.assert_array_equal(music.piano_roll_from_score(part, step=1.0),
                                  _roll([[60], [62], [65]]))

  @parameterized.named_parameters(("zero", 0), ("negative", -1.0),
                                  ("nan", float("nan")))
  def test_nonpositive_step_raises_value_error(self, step):
    with self.assertRaisesRegex(ValueError,
                                "step=.* positive number of quarter notes"):
      music.piano_roll_from_score(self._tiny_score(), step=step)

  def test_real_chorales_give_four_voice_quarter_note_rolls(self):
    import music21  # pylint: disable=g-import-not-at-top
    paths = dict(music.bach_chorale_paths())
    for name in ["bach/bwv269.mxl", "bach/bwv347.mxl", "bach/bwv153.1.mxl"]:
      with self.subTest(name):
        score = music21.converter.parse(paths[name], forceSource=True)
        roll = music.piano_roll_from_score(score, step=1.0)
        self.assertTrue(roll.shape[1] == 88
                        and 16 <= roll.shape[0] <= np.ceil(score.highestTime))
        notes_per_frame = roll.sum(axis=1)
        self.assertEqual(notes_per_frame.max(), 4)  # SATB
        self.assertGreater((notes_per_frame > 0).mean(), 0.9)

  def test_vocal_parts_drop_cantata_instruments(self):
    import music21  # pylint: disable=g-import-not-at-top
    paths = dict(music.bach_chorale_paths())
    score = music21.converter.parse(paths["bach/bwv41.6.mxl"], forceSource=True)
    # Trumpets, timpani, oboe + 4 doubled voices.
    self.assertLen(score.parts, 9)
    kept = [part.partName.split()[0] for part in music._vocal_parts(score)]
    self.assertEqual(kept, ["Soprano", "Alto", "Tenor", "Bass"])

  def test_chorale_list_is_riemenschneider_deduplicated_by_file(self):
    pairs = music.bach_chorale_paths()
    names = [name for name, _ in pairs]
    self.assertEqual(names, sorted(set(names)))
    self.assertBetween(len(names), 300, 371)
    self.assertTrue(all(path.is_file() for _, path in pairs))


class BachChoralesTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.directory = Path(self.create_tempdir().full_path)

  def test_split_by_hash_is_deterministic_disjoint_and_60_20_20(self):
    names = [f"piece{index:03d}" for index in range(100)]
    split = music.split_by_hash(names)
    # The input order is irrelevant.
    self.assertEqual(split, music.split_by_hash(list(reversed(names))))
    self.assertEqual([len(split[name]) for name in music.SPLITS], [60, 20, 20])
    self.assertEqual(sorted(sum(split.values(), [])), names)
    self.assertNotEqual(
        split, music.split_by_hash(names, seed=music.BACH_SPLIT_SEED + 1))

  def test_missing_music21_error_says_pip_install(self):
    # A None entry in sys.modules makes `import music21` fail.
    with absltest.mock.patch.dict(sys.modules, {"music21": None}):
      with self.assertRaisesRegex(ImportError, "pip install music21"):
        music.bach_chorales(cache_dir=self.directory)

  def test_cache_is_built_once_then_reused(self):
    rng = np.random.default_rng(0)
    names = [f"bach/fake{index}.mxl" for index in range(10)]
    rolls = [(rng.random((5 + index, 88)) < 0.05).astype(np.float32)
             for index in range(10)]
    build = absltest.mock.Mock(return_value=(names, rolls))
    with absltest.mock.patch.object(music, "_build_bach_chorales", build):
      first = music.bach_chorales(cache_dir=self.directory / "cache")
      second = music.bach_chorales(cache_dir=self.directory / "cache")
    self.assertEqual([call.args for call in build.call_args_list], [(1.0,)])
    # No temporary file is left behind.
    self.assertEqual(os.listdir(self.directory / "cache"),
                     ["bach_chorales_v1_step1.npz"])
    self.assertEqual([len(first[split]) for split in music.SPLITS], [6, 2, 2])
    expected = music.split_by_hash(names)
    roll_by_name = dict(zip(names, rolls))
    for split in music.SPLITS:
      self.assertLen(second[split], len(first[split]))
      for got, again, name in zip(first[split], second[split], expected[split]):
        self.assertEqual(got.dtype, np.float32)
        np.testing.assert_array_equal(got, roll_by_name[name])
        np.testing.assert_array_equal(again, got)

  @helpers.slow  # Parses the whole music21 chorale corpus (about 30 s).
  @absltest.skipUnless(_HAS_MUSIC21, _NEEDS_MUSIC21)
  def test_bach_chorales_build_gives_348_chorales_split_209_70_69(self):
    """The real uncached build (~15 s): checks counts and invariants of the data."""
    data = music.bach_chorales(cache_dir=self.directory)
    sizes = [len(data[split]) for split in music.SPLITS]
    # Pinned for music21 10.5's corpus; a different corpus version may shift these.
    self.assertEqual(sizes, [209, 70, 69])
    for sequences in data.values():
      for roll in sequences:
        self.assertTrue(roll.dtype == np.float32 and roll.shape[1] == 88
                        and roll.shape[0] >= 16)
        self.assertLessEqual(set(np.unique(roll)), {0.0, 1.0})
        self.assertGreater(roll[0].sum(), 0)  # leading rests trimmed
        # 4 voices (5 in bwv27.6), no instruments.
        self.assertLessEqual(roll.sum(axis=1).max(), 5)
    with np.load(self.directory / "bach_chorales_v1_step1.npz") as archive:
      split_names = [set(archive[f"{split}_names"].tolist())
                     for split in music.SPLITS]
    self.assertFalse(split_names[0] & split_names[1]
                     or split_names[0] & split_names[2]
                     or split_names[1] & split_names[2])


if __name__ == "__main__":
  absltest.main()
