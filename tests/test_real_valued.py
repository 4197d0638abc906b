"""Tests of the real-valued data: the simulated arm, the loader, standardisation."""

import numpy as np
import pytest

from rtrbm_jax.data import real_valued as rv


@pytest.fixture(scope="module")
def arm():
  return rv.simulate_arm(0, num_sequences=40, num_frames=60, num_links=6)


@pytest.fixture
def variable_length_sequences():
  rng = np.random.default_rng(0)
  return [rng.standard_normal((length, 4)).astype(np.float32)
          for length in (5, 9, 3)]


def test_generate_gives_float32_frames_of_two_coordinates_per_link():
  frames = rv.generate(1, num_sequences=3, num_frames=7, num_links=5)
  assert frames.shape == (3, 7, 10)
  assert frames.dtype == np.float32


def test_generate_is_determined_by_its_seed():
  np.testing.assert_array_equal(rv.generate(3, 2, 10), rv.generate(3, 2, 10))
  assert not np.allclose(rv.generate(3, 2, 10), rv.generate(4, 2, 10))


def test_noise_free_frames_are_the_link_end_points(arm):
  frames = rv.generate(0, num_sequences=40, num_frames=60, num_links=6,
                       observation_noise=0.0)
  np.testing.assert_allclose(frames, arm.positions.reshape(40, 60, 12), atol=1e-6)


def test_links_keep_their_length(arm):
  root = np.zeros(arm.positions.shape[:2] + (1, 2))
  joints = np.concatenate([root, arm.positions], axis=2)
  lengths = np.linalg.norm(np.diff(joints, axis=2), axis=-1)
  np.testing.assert_allclose(lengths, 1 / 6, rtol=1e-12)


def test_every_joint_swings_and_moves_smoothly(arm):
  swing = arm.angles.std(axis=(0, 1))
  assert np.all(swing > 0.1) and np.all(swing < 1.0)
  step = np.diff(arm.angles, axis=1).std(axis=(0, 1))
  assert np.all(step < 0.5 * swing)


def test_observation_noise_has_the_requested_scale(arm):
  frames = rv.generate(0, num_sequences=40, num_frames=60, num_links=6,
                       observation_noise=0.05)
  noise = frames - arm.positions.reshape(40, 60, 12)
  assert abs(noise.std() - 0.05) < 0.002


@pytest.mark.parametrize("arguments, message", [
    (dict(num_links=0), "num_links=0 is not accepted"),
    (dict(num_frames=2.5), "num_frames=2.5 is not accepted"),
    (dict(observation_noise=-0.1), "observation_noise=-0.1 is not accepted"),
])
def test_generate_rejects_bad_arguments(arguments, message):
  arguments = dict(dict(seed=0, num_sequences=2, num_frames=3), **arguments)
  with pytest.raises(ValueError, match=message):
    rv.generate(**arguments)


def test_npy_array_loads_as_one_sequence_per_row(tmp_path):
  data = rv.generate(0, num_sequences=3, num_frames=4, num_links=2)
  np.save(tmp_path / "walk.npy", data)
  sequences = rv.load_sequences(tmp_path / "walk.npy")
  assert len(sequences) == 3
  np.testing.assert_array_equal(np.stack(sequences), data)


def test_npz_of_variable_length_sequences_loads_in_file_order(
    tmp_path, variable_length_sequences):
  np.savez(tmp_path / "takes.npz", *variable_length_sequences)
  sequences = rv.load_sequences(tmp_path / "takes.npz")
  assert [s.shape for s in sequences] == [(5, 4), (9, 4), (3, 4)]
  for loaded, saved in zip(sequences, variable_length_sequences):
    np.testing.assert_array_equal(loaded, saved)


def test_npz_batches_and_single_sequences_are_concatenated(tmp_path):
  batch = np.zeros((2, 6, 3))
  single = np.ones((4, 3), np.float64)
  np.savez(tmp_path / "mixed.npz", batch=batch, single=single)
  sequences = rv.load_sequences(tmp_path / "mixed.npz")
  assert [s.shape for s in sequences] == [(6, 3), (6, 3), (4, 3)]
  assert all(s.dtype == np.float32 for s in sequences)


def test_object_npy_needs_allow_pickle(tmp_path, variable_length_sequences):
  ragged = np.empty(3, dtype=object)
  ragged[:] = variable_length_sequences
  np.save(tmp_path / "ragged.npy", ragged, allow_pickle=True)
  with pytest.raises(ValueError, match="allow_pickle=True if you trust the file"):
    rv.load_sequences(tmp_path / "ragged.npy")
  sequences = rv.load_sequences(tmp_path / "ragged.npy", allow_pickle=True)
  assert [s.shape for s in sequences] == [(5, 4), (9, 4), (3, 4)]


def test_object_arrays_in_an_npz_need_allow_pickle(tmp_path,
                                                   variable_length_sequences):
  ragged = np.empty(3, dtype=object)
  ragged[:] = variable_length_sequences
  np.savez(tmp_path / "ragged.npz", takes=ragged)
  with pytest.raises(ValueError, match="allow_pickle=True if you trust the file"):
    rv.load_sequences(tmp_path / "ragged.npz")
  sequences = rv.load_sequences(tmp_path / "ragged.npz", allow_pickle=True)
  assert [s.shape for s in sequences] == [(5, 4), (9, 4), (3, 4)]


def test_loader_rejects_a_missing_file_and_other_suffixes(tmp_path):
  with pytest.raises(ValueError, match="does not exist"):
    rv.load_sequences(tmp_path / "absent.npy")
  (tmp_path / "walk.csv").write_text("1,2\n")
  with pytest.raises(ValueError, match="suffix '.csv'; expected .npy or .npz"):
    rv.load_sequences(tmp_path / "walk.csv")


@pytest.mark.parametrize("arrays, message", [
    (dict(a=np.zeros((3, 4)), b=np.zeros((3, 5))),
     r"takes.npz\[1\] has 5 dims but takes.npz\[0\] has 4"),
    (dict(a=np.zeros(7)),
     r"takes.npz\['a'\] has shape \(7,\); expected an array \[num_sequences"),
    (dict(a=np.zeros((0, 4))), r"has shape \(0, 4\)"),
    (dict(a=np.array([[0.0, np.nan]])),
     r"takes.npz\['a'\]\[0\] contains NaN or inf \(first at frame 0, dim 1\)"),
    (dict(a=np.array([["x", "y"]])), "has dtype <U1; expected real numbers"),
    (dict(), "empty archive"),
])
def test_loader_names_the_file_and_sequence_of_bad_data(tmp_path, arrays, message):
  np.savez(tmp_path / "takes.npz", **arrays)
  with pytest.raises(ValueError, match=message):
    rv.load_sequences(tmp_path / "takes.npz")


def test_npy_of_a_single_sequence_is_rejected_with_the_accepted_shapes(tmp_path):
  np.save(tmp_path / "one.npy", np.zeros((10, 4)))
  with pytest.raises(ValueError, match=r"one.npy has shape \(10, 4\); expected an "
                     r"array \[num_sequences, T, dims\]"):
    rv.load_sequences(tmp_path / "one.npy")


def test_standardized_training_data_has_zero_mean_and_unit_scale(
    variable_length_sequences):
  standardizer = rv.fit_standardizer(variable_length_sequences)
  standardized = np.concatenate(rv.standardize(standardizer,
                                               variable_length_sequences))
  np.testing.assert_allclose(standardized.mean(axis=0), 0, atol=1e-6)
  np.testing.assert_allclose(standardized.std(axis=0), 1, rtol=1e-5)


def test_unstandardize_inverts_standardize():
  data = rv.generate(2, num_sequences=4, num_frames=5, num_links=3)
  standardizer = rv.fit_standardizer(data)
  round_trip = rv.unstandardize(standardizer, rv.standardize(standardizer, data))
  np.testing.assert_allclose(round_trip, data, rtol=1e-5, atol=1e-6)


def test_a_constant_dimension_keeps_its_value():
  data = np.random.default_rng(0).standard_normal((3, 5, 2))
  data[..., 1] = 7.0
  standardizer = rv.fit_standardizer(data, min_scale=1e-6)
  assert standardizer.scale[1] == 1e-6
  np.testing.assert_array_equal(rv.standardize(standardizer, data)[..., 1], 0.0)
  samples = np.random.default_rng(1).standard_normal((10, 2))
  np.testing.assert_allclose(rv.unstandardize(standardizer, samples)[:, 1], 7.0,
                             atol=1e-4)


def test_standardize_rejects_frames_of_another_width():
  standardizer = rv.fit_standardizer(np.zeros((1, 3, 4)) + np.arange(3)[:, None])
  with pytest.raises(ValueError, match=r"expected \[..., 4\] \(the standardizer was "
                     "fitted on 4 dims\\)"):
    rv.standardize(standardizer, np.zeros((2, 5)))
