"""Tests of the real-valued data: the simulated arm, the loader, standardisation.

The data code is NumPy, not JAX, so these tests have no jitted variants.
"""

from pathlib import Path

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

from rtrbm_jax.data import real_valued as rv


def _variable_length_sequences():
  rng = np.random.default_rng(0)
  return [rng.standard_normal((length, 4)).astype(np.float32)
          for length in (5, 9, 3)]


def _ragged(sequences):
  """A 1-D object array of the sequences (what np.save writes for a ragged list)."""
  ragged = np.empty(len(sequences), dtype=object)
  ragged[:] = sequences
  return ragged


class ArmTest(parameterized.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.arm = rv.simulate_arm(0, num_sequences=40, num_frames=60, num_links=6)

  def test_generate_gives_float32_frames_of_two_coordinates_per_link(self):
    frames = rv.generate(1, num_sequences=3, num_frames=7, num_links=5)
    self.assertEqual(frames.shape, (3, 7, 10))
    self.assertEqual(frames.dtype, np.float32)

  def test_generate_is_determined_by_its_seed(self):
    np.testing.assert_array_equal(rv.generate(3, 2, 10), rv.generate(3, 2, 10))
    self.assertFalse(np.allclose(rv.generate(3, 2, 10), rv.generate(4, 2, 10)))

  def test_noise_free_frames_are_the_link_end_points(self):
    frames = rv.generate(0, num_sequences=40, num_frames=60, num_links=6,
                         observation_noise=0.0)
    np.testing.assert_allclose(frames, self.arm.positions.reshape(40, 60, 12),
                               atol=1e-6)

  def test_links_keep_their_length(self):
    root = np.zeros(self.arm.positions.shape[:2] + (1, 2))
    joints = np.concatenate([root, self.arm.positions], axis=2)
    lengths = np.linalg.norm(np.diff(joints, axis=2), axis=-1)
    np.testing.assert_allclose(lengths, 1 / 6, rtol=1e-12)

  def test_every_joint_swings_and_moves_smoothly(self):
    swing = self.arm.angles.std(axis=(0, 1))
    self.assertTrue(np.all(swing > 0.1) and np.all(swing < 1.0))
    step = np.diff(self.arm.angles, axis=1).std(axis=(0, 1))
    self.assertTrue(np.all(step < 0.5 * swing))

  def test_observation_noise_has_the_requested_scale(self):
    frames = rv.generate(0, num_sequences=40, num_frames=60, num_links=6,
                         observation_noise=0.05)
    noise = frames - self.arm.positions.reshape(40, 60, 12)
    self.assertLess(abs(noise.std() - 0.05), 0.002)

  @parameterized.named_parameters(
      ("no_links", dict(num_links=0), "num_links=0 is not accepted"),
      ("float_frames", dict(num_frames=2.5), "num_frames=2.5 is not accepted"),
      ("negative_noise", dict(observation_noise=-0.1),
       "observation_noise=-0.1 is not accepted"),
  )
  def test_generate_rejects_bad_arguments(self, arguments, message):
    arguments = dict(dict(seed=0, num_sequences=2, num_frames=3), **arguments)
    with self.assertRaisesRegex(ValueError, message):
      rv.generate(**arguments)


class LoadSequencesTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.directory = Path(self.create_tempdir().full_path)

  def test_npy_array_loads_as_one_sequence_per_row(self):
    data = rv.generate(0, num_sequences=3, num_frames=4, num_links=2)
    np.save(self.directory / "walk.npy", data)
    sequences = rv.load_sequences(self.directory / "walk.npy")
    self.assertLen(sequences, 3)
    np.testing.assert_array_equal(np.stack(sequences), data)

  def test_npz_of_variable_length_sequences_loads_in_file_order(self):
    saved = _variable_length_sequences()
    np.savez(self.directory / "takes.npz", *saved)
    sequences = rv.load_sequences(self.directory / "takes.npz")
    self.assertEqual([s.shape for s in sequences], [(5, 4), (9, 4), (3, 4)])
    for loaded, original in zip(sequences, saved):
      np.testing.assert_array_equal(loaded, original)

  def test_npz_batches_and_single_sequences_are_concatenated(self):
    batch = np.zeros((2, 6, 3))
    single = np.ones((4, 3), np.float64)
    np.savez(self.directory / "mixed.npz", batch=batch, single=single)
    sequences = rv.load_sequences(self.directory / "mixed.npz")
    self.assertEqual([s.shape for s in sequences], [(6, 3), (6, 3), (4, 3)])
    self.assertTrue(all(s.dtype == np.float32 for s in sequences))

  def test_object_npy_needs_allow_pickle(self):
    path = self.directory / "ragged.npy"
    np.save(path, _ragged(_variable_length_sequences()), allow_pickle=True)
    with self.assertRaisesRegex(ValueError,
                                "allow_pickle=True if you trust the file"):
      rv.load_sequences(path)
    sequences = rv.load_sequences(path, allow_pickle=True)
    self.assertEqual([s.shape for s in sequences], [(5, 4), (9, 4), (3, 4)])

  def test_object_arrays_in_an_npz_need_allow_pickle(self):
    path = self.directory / "ragged.npz"
    np.savez(path, takes=_ragged(_variable_length_sequences()))
    with self.assertRaisesRegex(ValueError,
                                "allow_pickle=True if you trust the file"):
      rv.load_sequences(path)
    sequences = rv.load_sequences(path, allow_pickle=True)
    self.assertEqual([s.shape for s in sequences], [(5, 4), (9, 4), (3, 4)])

  def test_loader_rejects_a_missing_file_and_other_suffixes(self):
    with self.assertRaisesRegex(ValueError, "does not exist"):
      rv.load_sequences(self.directory / "absent.npy")
    (self.directory / "walk.csv").write_text("1,2\n")
    with self.assertRaisesRegex(ValueError, "suffix '.csv'; expected .npy or .npz"):
      rv.load_sequences(self.directory / "walk.csv")

  @parameterized.named_parameters(
      ("differing_dims", dict(a=np.zeros((3, 4)), b=np.zeros((3, 5))),
       r"takes.npz\[1\] has 5 dims but takes.npz\[0\] has 4"),
      ("one_dimensional", dict(a=np.zeros(7)),
       r"takes.npz\['a'\] has shape \(7,\); expected an array \[num_sequences"),
      ("no_frames", dict(a=np.zeros((0, 4))), r"has shape \(0, 4\)"),
      ("not_finite", dict(a=np.array([[0.0, np.nan]])),
       r"takes.npz\['a'\]\[0\] contains NaN or inf \(first at frame 0, dim 1\)"),
      ("beyond_float32", dict(a=np.array([[0.0, 1e300]])),
       r"takes.npz\['a'\]\[0\] has 1e\+300 at frame 0, dim 1, beyond float32's "
       "range"),
      ("strings", dict(a=np.array([["x", "y"]])),
       "has dtype <U1; expected real numbers"),
      ("empty_archive", dict(), "empty archive"),
  )
  def test_loader_names_the_file_and_sequence_of_bad_data(self, arrays, message):
    np.savez(self.directory / "takes.npz", **arrays)
    with self.assertRaisesRegex(ValueError, message):
      rv.load_sequences(self.directory / "takes.npz")

  def test_npy_of_a_single_sequence_is_rejected_with_the_accepted_shapes(self):
    np.save(self.directory / "one.npy", np.zeros((10, 4)))
    with self.assertRaisesRegex(ValueError, r"one.npy has shape \(10, 4\); "
                                r"expected an array \[num_sequences, T, dims\]"):
      rv.load_sequences(self.directory / "one.npy")


class StandardizerTest(absltest.TestCase):

  def test_standardized_training_data_has_zero_mean_and_unit_scale(self):
    sequences = _variable_length_sequences()
    standardizer = rv.fit_standardizer(sequences)
    standardized = np.concatenate(rv.standardize(standardizer, sequences))
    np.testing.assert_allclose(standardized.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(standardized.std(axis=0), 1, rtol=1e-5)

  def test_unstandardize_inverts_standardize(self):
    data = rv.generate(2, num_sequences=4, num_frames=5, num_links=3)
    standardizer = rv.fit_standardizer(data)
    round_trip = rv.unstandardize(standardizer, rv.standardize(standardizer, data))
    np.testing.assert_allclose(round_trip, data, rtol=1e-5, atol=1e-6)

  def test_a_constant_dimension_keeps_its_value(self):
    data = np.random.default_rng(0).standard_normal((3, 5, 2))
    data[..., 1] = 7.0
    standardizer = rv.fit_standardizer(data.astype(np.float32))
    self.assertAlmostEqual(standardizer.scale[1],
                           4 * np.finfo(np.float32).eps * 7.0)
    np.testing.assert_array_equal(rv.standardize(standardizer, data)[..., 1], 0.0)
    samples = np.random.default_rng(1).standard_normal((10, 2))
    np.testing.assert_allclose(rv.unstandardize(standardizer, samples)[:, 1], 7.0,
                               atol=1e-4)

  def test_a_small_natural_scale_is_kept_and_only_rounding_is_constant(self):
    # Issue 34: an absolute floor of 1e-6 made s.d. 1e-7 standardise to s.d.
    # 0.1, and s.d. 1e-30 to zeros.
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((4, 50, 4))
    data = np.stack([1e-7 * noise[..., 0], 1e-30 * noise[..., 1],
                     3.0 + 1e-3 * noise[..., 2], np.zeros((4, 50))],
                    axis=-1).astype(np.float32)
    # A constant dimension whose values differ by one rounding step.
    data[..., 3] = np.float32(5.0)
    data[0, 0, 3] = np.nextafter(np.float32(5.0), np.float32(6.0))
    standardizer = rv.fit_standardizer(data)
    standardized = np.concatenate(rv.standardize(standardizer, data))
    np.testing.assert_allclose(standardized[:, :3].std(axis=0), 1, rtol=1e-4)
    self.assertLess(np.abs(standardized[:, 3]).max(), 1.0)
    zeros = rv.fit_standardizer(np.zeros((2, 3, 1), np.float32))
    self.assertGreater(zeros.scale[0], 0)
    np.testing.assert_array_equal(rv.standardize(zeros, np.zeros((1, 1))), 0.0)
    np.testing.assert_allclose(rv.unstandardize(zeros, np.ones((1, 1))), 0.0)

  def test_standardize_rejects_frames_of_another_width(self):
    standardizer = rv.fit_standardizer(np.zeros((1, 3, 4))
                                       + np.arange(3)[:, None])
    with self.assertRaisesRegex(
        ValueError, r"expected \[..., 4\] \(the standardizer was fitted on 4 "
        r"dims\)"):
      rv.standardize(standardizer, np.zeros((2, 5)))


if __name__ == "__main__":
  absltest.main()
