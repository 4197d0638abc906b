"""Tests of the data helpers shared by every data set: padding and the cache dir.

The data code is NumPy, not JAX, so these tests have no jitted variants.
"""

import os
from pathlib import Path

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from rtrbm_jax.data import bouncing_balls
from rtrbm_jax.data import cache
from rtrbm_jax.data import datasets


def _numbered_sequence(sequence_id, length):
  """`[length, 88]` roll whose frame t has units sequence_id and 40 + t on."""
  roll = np.zeros((length, 88), np.float32)
  roll[:, sequence_id] = 1
  roll[np.arange(length), 40 + np.arange(length)] = 1
  return roll


class PadSequencesTest(parameterized.TestCase):

  def test_pad_sequences_zero_pads_and_masks(self):
    sequences = [_numbered_sequence(0, 2), _numbered_sequence(1, 4),
                 _numbered_sequence(2, 1)]
    frames, mask = datasets.pad_sequences(sequences)
    self.assertEqual(frames.shape, (3, 4, 88))
    self.assertEqual(frames.dtype, np.float32)
    self.assertEqual(mask.dtype, bool)
    np.testing.assert_array_equal(mask, [[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]])
    for index, sequence in enumerate(sequences):
      np.testing.assert_array_equal(frames[index, :len(sequence)], sequence)
      self.assertEqual(frames[index, len(sequence):].sum(), 0)

  @parameterized.named_parameters(
      ("no_sequences", [], "sequences is empty"),
      ("other_width", [np.zeros((3, 88)), np.zeros((3, 87))],
       r"sequences\[1\] has shape \(3, 87\)"),
      ("no_frames", [np.zeros((0, 88))], r"sequences\[0\] has shape \(0, 88\)"),
  )
  def test_pad_sequences_rejects_bad_sequences(self, sequences, pattern):
    with self.assertRaisesRegex(ValueError, pattern):
      datasets.pad_sequences(sequences)


class CacheTest(absltest.TestCase):

  def test_default_cache_dir_follows_env(self):
    directory = Path(self.create_tempdir().full_path)
    with absltest.mock.patch.dict(os.environ,
                                  {"RTRBM_JAX_CACHE": str(directory / "c")}):
      self.assertEqual(cache.default_cache_dir(), directory / "c")
      del os.environ["RTRBM_JAX_CACHE"]
      self.assertEqual(cache.default_cache_dir(),
                       Path.home() / ".cache" / "rtrbm_jax")

  def test_a_cache_writer_removes_what_a_killed_writer_left(self):
    # Issue 34: a kill -9 inside atomic_write left `*.<id>.tmp` for good.
    directory = Path(self.create_tempdir().full_path)
    stale = directory / f"bouncing_balls_test.npy.{'0' * 32}.tmp"
    stale.write_bytes(b"half")
    other = directory / "notes.tmp"
    other.write_bytes(b"kept")
    bouncing_balls.standard_test_split(directory, num_test=2, num_frames=3,
                                       resolution=4)
    self.assertFalse(stale.exists())
    self.assertTrue(other.exists())
    self.assertLen(list(directory.glob("bouncing_balls_test_*.npy")), 1)

  def test_a_live_writer_s_temporary_is_left_alone(self):
    directory = self.create_tempdir().full_path
    with cache.atomic_write(os.path.join(directory, "a.npy"), "wb") as file:
      file.write(b"a")
      live = os.path.basename(file.name)
      # A second writer meanwhile (another run sharing the cache).
      with cache.atomic_write(os.path.join(directory, "b.npy"), "wb") as other:
        other.write(b"b")
      self.assertIn(live, os.listdir(directory))
    self.assertEqual(sorted(os.listdir(directory)), ["a.npy", "b.npy"])


if __name__ == "__main__":
  absltest.main()
