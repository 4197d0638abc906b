"""Motion capture: MOCAP.mat read with its documented shapes, bad files refused in
one line naming them, the split in time, training windows, the linear
autoregressive baseline and the download (file URLs only: no network)."""

import math
import os
import shutil

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import scipy.io

from rtrbm_jax.data import download
from rtrbm_jax.data import mocap
from rtrbm_jax.evaluation import autoregressive
from tests import test_download

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The paper's file, if this checkout has the shared data beside it.
_SHARED_MOCAP = os.path.join(_REPO, mocap.SHARED_PATH)
_NO_SHARED_MOCAP = (f"{_SHARED_MOCAP} is absent: the real file is checked only "
                    "where the shared data sits beside the repository")


def _write_mat(directory, name="tiny.mat", **overrides):
  """A .mat file in MOCAP.mat's layout (3 sequences of 4, 2, 5 frames of 3 dims);
  `overrides` replace its variables, a value of None removes one."""
  frames = np.arange(11 * 3, dtype=np.float64).reshape(11, 3) / 10
  variables = {"batchdata": frames, "seqlengths": np.array([[4, 2, 5]], np.uint16)}
  variables.update(overrides)
  path = os.path.join(directory, name)
  scipy.io.savemat(path, {key: value for key, value in variables.items()
                          if value is not None})
  return path


def _cell(value):
  """A 1 x 1 object array: what savemat writes as a cell array."""
  cell = np.empty((1, 1), dtype=object)
  cell[0, 0] = value
  return cell


def _numbered(lengths, dims=2):
  """Sequences whose frame t holds t in every dim (so a part shows where it was)."""
  return [np.repeat(np.arange(length, dtype=np.float32)[:, None], dims, axis=1)
          for length in lengths]


class LoadTest(parameterized.TestCase):

  def test_the_real_file_has_three_standardised_sequences_of_49_dims(self):
    if not os.path.isfile(_SHARED_MOCAP):
      self.skipTest(_NO_SHARED_MOCAP)
    self.assertEqual(download.sha256_of(_SHARED_MOCAP),
                     download.PUBLISHED_SHA256["mocap"])
    sequences = mocap.load_mocap(_SHARED_MOCAP)
    self.assertEqual([sequence.shape for sequence in sequences],
                     [(438, 49), (260, 49), (3128, 49)])
    self.assertEqual(tuple(len(sequence) for sequence in sequences),
                     mocap.SEQUENCE_LENGTHS)
    self.assertTrue(all(sequence.dtype == np.float32 for sequence in sequences))
    frames = np.concatenate(sequences).astype(np.float64)
    np.testing.assert_allclose(frames.mean(axis=0), 0, atol=1e-6)
    # Standardised with MATLAB's std (divided by N - 1).
    np.testing.assert_allclose(frames.std(axis=0, ddof=1), 1, atol=1e-5)

  def test_the_real_file_splits_into_the_documented_frame_counts(self):
    if not os.path.isfile(_SHARED_MOCAP):
      self.skipTest(_NO_SHARED_MOCAP)
    splits = mocap.split_mocap(mocap.load_mocap(_SHARED_MOCAP))
    self.assertEqual({part: [len(s) for s in sequences]
                      for part, sequences in splits.items()},
                     {"train": [315, 187, 2251], "valid": [35, 21, 251],
                      "test": [88, 52, 626]})
    self.assertEqual(mocap.windows(splits["train"]).shape,
                     (315 - 49 + 187 - 49 + 2251 - 49, 50, 49))

  def test_a_small_file_gives_its_sequences_in_order_as_float32(self):
    path = _write_mat(self.create_tempdir().full_path)
    sequences = mocap.load_mocap(path)
    self.assertEqual([s.shape for s in sequences], [(4, 3), (2, 3), (5, 3)])
    self.assertTrue(all(s.dtype == np.float32 for s in sequences))
    np.testing.assert_allclose(np.concatenate(sequences),
                               np.arange(33).reshape(11, 3) / 10, rtol=1e-6)

  def test_the_default_path_is_the_shared_copy_or_the_download_cache(self):
    cache = self.create_tempdir().full_path
    with absltest.mock.patch.dict(os.environ, {"RTRBM_JAX_CACHE": cache}):
      self.assertEqual(mocap.default_path(self.create_tempdir().full_path),
                       os.path.join(cache, "MOCAP.mat"))
    if os.path.isfile(_SHARED_MOCAP):
      self.assertEqual(mocap.default_path(_REPO), os.path.realpath(_SHARED_MOCAP))

  @parameterized.named_parameters(
      ("missing_batchdata", {"batchdata": None},
       r"has variables \['seqlengths'\], not \['batchdata'\]"),
      ("missing_seqlengths", {"seqlengths": None},
       r"has variables \['batchdata'\], not \['seqlengths'\]"),
      ("batchdata_3d", {"batchdata": np.zeros((11, 3, 2))},
       r"batchdata has shape \(11, 3, 2\); expected frames x dims"),
      ("batchdata_text", {"batchdata": "frames"},
       "batchdata holds <U6 values .*expected a frames x dims array of real"),
      ("batchdata_cells", {"batchdata": _cell(np.zeros((11, 3)))},
       "batchdata holds object values"),
      ("batchdata_complex", {"batchdata": np.ones((11, 3)) * 1j},
       "batchdata holds complex128 values"),
      ("nan", {"batchdata": np.where(np.eye(11, 3, -5) > 0, np.nan, 0.)},
       r"batchdata has nan at row 5, column 0 \(0-based\); expected finite"),
      ("inf", {"batchdata": np.where(np.eye(11, 3, -2) > 0, -np.inf, 0.)},
       "batchdata has -inf at row 2, column 0"),
      ("beyond_float32", {"batchdata": np.where(np.eye(11, 3, 1) > 0, 1e300, 0.)},
       "batchdata has 1e[+]?300 at row 0, column 1 .*within float32's range"),
      ("fractional_length", {"seqlengths": np.array([[4.5, 1.5, 5]])},
       r"seqlengths is \[4.5, 1.5, 5.0\]; expected positive integers"),
      ("zero_length", {"seqlengths": np.array([[6, 0, 5]])},
       r"seqlengths is \[6.0, 0.0, 5.0\]; expected positive integers"),
      ("negative_length", {"seqlengths": np.array([[-1, 7, 5]])},
       "expected positive integers"),
      ("no_lengths", {"seqlengths": np.zeros((0, 0))},
       "seqlengths is ndarray of float64 with 0 values"),
      ("text_lengths", {"seqlengths": "11"}, "seqlengths is ndarray of <U2"),
      ("lengths_do_not_add_up", {"seqlengths": np.array([[4, 2, 4]])},
       r"seqlengths \[4, 2, 4\] sum to 10, but batchdata has 11 rows"),
  )
  def test_a_bad_file_is_one_line_naming_it(self, overrides, expected):
    path = _write_mat(self.create_tempdir().full_path, **overrides)
    with self.assertRaisesRegex(ValueError, expected) as raised:
      mocap.load_mocap(path)
    message = str(raised.exception)
    self.assertNotIn("\n", message)
    self.assertIn(f"path={path!r}", message)

  def test_a_missing_or_unreadable_file_is_one_line_naming_it(self):
    directory = self.create_tempdir().full_path
    missing = os.path.join(directory, "MOCAP.mat")
    garbage = os.path.join(directory, "garbage.mat")
    with open(garbage, "wb") as f:
      f.write(b"MATLAB 5.0 MAT-file, but cut short")
    empty = os.path.join(directory, "empty.mat")
    open(empty, "wb").close()
    for path, expected in ((missing, "does not exist or is not a file"),
                           (garbage, "is not a readable .mat file"),
                           (empty, "is not a readable .mat file"),
                           (directory, "does not exist or is not a file")):
      with self.subTest(path=path):
        with self.assertRaisesRegex(ValueError, expected) as raised:
          mocap.load_mocap(path)
        self.assertNotIn("\n", str(raised.exception))
        self.assertIn(f"path={path!r}", str(raised.exception))

  def test_errors_name_the_source_when_given(self):
    path = _write_mat(self.create_tempdir().full_path,
                      seqlengths=np.array([[1, 1]]))
    with self.assertRaisesRegex(ValueError, "^https://example.org/MOCAP.mat: "
                                "seqlengths"):
      mocap.load_mocap(path, source="https://example.org/MOCAP.mat")


class SplitTest(absltest.TestCase):

  def test_parts_are_disjoint_in_time_order_and_add_up_per_sequence(self):
    lengths = [438, 260, 3128, 37, 10]
    sequences = _numbered(lengths)
    splits = mocap.split_mocap(sequences)
    for index, length in enumerate(lengths):
      train, valid, test = (splits[part][index] for part in ("train", "valid",
                                                             "test"))
      self.assertEqual(len(train) + len(valid) + len(test), length)
      # Consecutive and in order: together they are the sequence itself.
      np.testing.assert_array_equal(np.concatenate([train, valid, test]),
                                    sequences[index])
      self.assertTrue(min(len(train), len(valid), len(test)) >= 1)
      # The original code's test part, and ours for validation: ceil(fraction T).
      self.assertEqual(len(test), math.ceil(round(0.2 * length, 9)))
      self.assertEqual(len(valid), math.ceil(round(0.1 * (length - len(test)), 9)))

  def test_the_test_part_starts_where_the_original_code_draws_test_windows(self):
    for length in (438, 260, 3128, 11, 55):
      start = len(mocap.split_mocap(_numbered([length]))["train"][0]) + len(
          mocap.split_mocap(_numbered([length]))["valid"][0])
      # The original: the float `seq_len - seq_len * test_frac`, floored.
      self.assertEqual(start, int(np.floor(length - length * 0.2)), length)

  def test_no_validation_part_and_other_fractions(self):
    splits = mocap.split_mocap(_numbered([100, 7]), test_fraction=0.5,
                               valid_fraction=0.0)
    self.assertEqual([len(s) for s in splits["train"]], [50, 3])
    self.assertEqual([s.shape for s in splits["valid"]], [(0, 2), (0, 2)])
    self.assertEqual([len(s) for s in splits["test"]], [50, 4])

  def test_bad_fractions_and_too_short_sequences_are_refused(self):
    for kwargs, expected in (
        ({"test_fraction": 0.0}, r"test_fraction=0.0 is not accepted: .*\(0, 1\)"),
        ({"test_fraction": 1.0}, "test_fraction=1.0 is not accepted"),
        ({"valid_fraction": -0.1}, r"valid_fraction=-0.1 .*\[0, 1\)"),
        ({"valid_fraction": float("nan")}, "valid_fraction=nan")):
      with self.subTest(**kwargs):
        with self.assertRaisesRegex(ValueError, expected):
          mocap.split_mocap(_numbered([100]), **kwargs)
    with self.assertRaisesRegex(ValueError, r"sequences\[1\] has 2 frames, too few "
                                ".* the parts would have 0, 1 and 1 frames"):
      mocap.split_mocap(_numbered([100, 2]))


class WindowsTest(absltest.TestCase):

  def test_every_window_of_consecutive_frames_of_each_sequence_in_order(self):
    sequences = [np.random.default_rng(0).normal(size=(length, 3))
                 for length in (7, 2, 5)]
    cut = mocap.windows(sequences, length=3)
    expected = [sequence[start:start + 3] for sequence in sequences
                for start in range(len(sequence) - 2)]
    self.assertEqual(cut.shape, (5 + 3, 3, 3))
    self.assertEqual(cut.dtype, np.float32)
    np.testing.assert_allclose(cut, np.stack(expected), rtol=1e-6)

  def test_stride_and_whole_sequences(self):
    sequences = _numbered([10, 4], dims=1)
    np.testing.assert_array_equal(mocap.windows(sequences, 4, stride=3)[..., 0],
                                  [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9],
                                   [0, 1, 2, 3]])
    self.assertEqual(mocap.windows(sequences, 10).shape, (1, 10, 1))

  def test_bad_lengths_and_strides_are_refused(self):
    with self.assertRaisesRegex(ValueError, r"length=11 is longer than every "
                                r"sequence \(lengths \[10, 4\]\)"):
      mocap.windows(_numbered([10, 4]), 11)
    for kwargs in ({"length": 0}, {"stride": 0}, {"length": 2.0},
                   {"stride": True}):
      with self.subTest(**kwargs):
        with self.assertRaisesRegex(ValueError, "is not accepted: expected an "
                                    "integer >= 1"):
          mocap.windows(_numbered([10]), **kwargs)


def _stable_ar(rng, num_visible, order):
  """Lag matrices [order, nv, nv] and a bias of a random stable AR process."""
  while True:
    lags = rng.normal(size=(order, num_visible, num_visible)) / np.sqrt(num_visible)
    # The companion matrix's spectral radius < 1: the process does not blow up.
    companion = np.zeros((order * num_visible, order * num_visible))
    companion[:num_visible] = np.concatenate(list(lags), axis=0).T
    companion[num_visible:, :-num_visible] = np.eye((order - 1) * num_visible)
    if np.abs(np.linalg.eigvals(companion)).max() < 0.95:
      return lags, rng.normal(size=num_visible)


def _simulate(rng, lags, bias, num_sequences, num_frames, noise):
  """`[num_sequences, num_frames, nv]` from random starts, with process noise."""
  order, num_visible = lags.shape[:2]
  frames = np.zeros((num_sequences, num_frames, num_visible))
  frames[:, :order] = rng.normal(size=(num_sequences, order, num_visible))
  for t in range(order, num_frames):
    frames[:, t] = bias + noise * rng.normal(size=(num_sequences, num_visible))
    for lag in range(1, order + 1):
      frames[:, t] += frames[:, t - lag] @ lags[lag - 1]
  return frames


class AutoregressiveTest(absltest.TestCase):

  def test_fit_recovers_a_noise_free_ar2_exactly(self):
    rng = np.random.default_rng(0)
    lags, bias = _stable_ar(rng, num_visible=4, order=2)
    # Many short sequences from random starts: transients excite every
    # direction, where one long run would settle on the fixed point.
    frames = _simulate(rng, lags, bias, 40, 12, noise=0.0)
    stacked = np.concatenate(list(lags), axis=0)
    model = autoregressive.fit(list(frames), order=2, ridge=0.0)
    self.assertEqual((model.weights.shape, model.bias.shape, model.order),
                     ((8, 4), (4,), 2))
    np.testing.assert_allclose(model.weights, stacked, atol=1e-10)
    np.testing.assert_allclose(model.bias, bias, atol=1e-10)
    # The default ridge moves them by about its size only.
    model = autoregressive.fit(frames, order=2)
    np.testing.assert_allclose(model.weights, stacked, atol=1e-4)
    np.testing.assert_allclose(model.bias, bias, atol=1e-4)
    # And the predictions of frames with a full history are exact.
    predictions = autoregressive.predict(autoregressive.fit(frames, 2, 0.0), frames)
    np.testing.assert_allclose(predictions[:, 1:], frames[:, 2:], atol=1e-9)

  def test_choose_order_picks_the_true_order_on_noisy_data(self):
    # Seeded: choosing by validation error picks an order above the true one now
    # and then, when the extra lags' estimation noise happens to help (seeds 1
    # and 8 of 0..9 with these sizes); an order below it never wins here.
    rng = np.random.default_rng(0)
    lags, bias = _stable_ar(rng, num_visible=3, order=2)
    train = _simulate(rng, lags, bias, 10, 1000, noise=0.3)
    valid = _simulate(rng, lags, bias, 5, 1000, noise=0.3)
    order, errors = autoregressive.choose_order(list(train), list(valid),
                                                orders=(1, 2, 3, 4, 5))
    self.assertEqual(order, 2)
    self.assertEqual(sorted(errors), [1, 2, 3, 4, 5])
    # The best error is the noise: 3 dims of variance 0.3^2.
    self.assertAlmostEqual(errors[2], 3 * 0.3 ** 2, delta=0.02)
    self.assertGreater(errors[1], errors[2] + 0.01)

  def test_predict_shapes_and_the_padded_history_of_early_frames(self):
    rng = np.random.default_rng(2)
    model = autoregressive.LinearAutoregressive(weights=rng.normal(size=(6, 2)),
                                                bias=rng.normal(size=2))
    self.assertEqual(model.order, 3)
    frames = rng.normal(size=(4, 7, 2))
    predictions = autoregressive.predict(model, frames)
    self.assertEqual(predictions.shape, (4, 6, 2))
    lag1, lag2, lag3 = model.weights[:2], model.weights[2:4], model.weights[4:]
    first = frames[:, 0]
    # Frame 1: history [v0, v0, v0]; frame 2: [v1, v0, v0]; frame 5: real.
    np.testing.assert_allclose(
        predictions[:, 0], first @ (lag1 + lag2 + lag3) + model.bias)
    np.testing.assert_allclose(
        predictions[:, 1], frames[:, 1] @ lag1 + first @ (lag2 + lag3) + model.bias)
    np.testing.assert_allclose(
        predictions[:, 4], frames[:, 4] @ lag1 + frames[:, 3] @ lag2
        + frames[:, 2] @ lag3 + model.bias)
    errors = autoregressive.squared_errors(model, frames, first_predicted=3)
    np.testing.assert_allclose(
        errors, np.sum((predictions[:, 2:] - frames[:, 3:]) ** 2, axis=-1))
    with self.assertRaisesRegex(ValueError, r"frames has shape \(7, 2\); expected "
                                r"\[B, T, 2\] with T >= 2"):
      autoregressive.predict(model, frames[0])
    with self.assertRaisesRegex(ValueError, r"shape \(4, 1, 2\)"):
      autoregressive.predict(model, frames[:, :1])

  def test_bad_orders_and_too_short_data_are_refused(self):
    frames = np.zeros((2, 3, 2))
    with self.assertRaisesRegex(ValueError, "order=0 is not accepted"):
      autoregressive.fit(frames, 0)
    with self.assertRaisesRegex(ValueError, "order=3 is not accepted: no sequence "
                                r"has more than 3 frames \(lengths \[3, 3\]\)"):
      autoregressive.fit(frames, 3)
    with self.assertRaisesRegex(ValueError, "ridge=-1.0 is not accepted"):
      autoregressive.fit(frames, 1, ridge=-1.0)
    with self.assertRaisesRegex(ValueError, "valid has no sequence longer than "
                                r"max\(orders\)=3"):
      autoregressive.choose_order(np.zeros((2, 10, 2)), frames, orders=(1, 3))
    with self.assertRaisesRegex(ValueError, "orders="):
      autoregressive.choose_order(frames, frames, orders=())


class DownloadTest(absltest.TestCase):

  def test_the_canonical_url_is_the_papers_code_repository_over_https(self):
    self.assertEqual(download.url("mocap"),
                     "https://raw.githubusercontent.com/chimera0/NIPS-2014/master/"
                     "rtrbm/data/MOCAP.mat")
    cache = self.create_tempdir().full_path
    self.assertEqual(str(download.local_path("mocap", cache)),
                     os.path.join(cache, "MOCAP.mat"))

  def test_download_through_a_file_url_with_the_right_digest(self):
    source = _write_mat(self.create_tempdir().full_path)
    cache = self.create_tempdir().full_path
    path = download.download("mocap", cache, "file://" + source,
                             download.sha256_of(source))
    self.assertEqual(str(path), os.path.join(cache, "MOCAP.mat"))
    self.assertEqual([len(s) for s in mocap.load_mocap(path)], [4, 2, 5])

  def test_a_wrong_digest_is_one_line_and_nothing_is_kept(self):
    source = _write_mat(self.create_tempdir().full_path)
    cache = self.create_tempdir().full_path
    with self.assertRaisesRegex(ValueError, f"^file://{source} has SHA-256 .* not "
                                "0000") as raised:
      download.download("mocap", cache, "file://" + source, "0" * 64)
    self.assertNotIn("\n", str(raised.exception))
    # Without --sha256 the published digest is expected, and this file is not it.
    with self.assertRaisesRegex(ValueError, r"not f81f7024\w+ \(the published "
                                r"digest\)"):
      download.download("mocap", cache, "file://" + source)
    self.assertEmpty(os.listdir(cache))

  def test_a_file_that_is_not_mocap_is_one_line_naming_its_url(self):
    source = _write_mat(self.create_tempdir().full_path, seqlengths=None)
    cache = self.create_tempdir().full_path
    with self.assertRaisesRegex(ValueError, f"^file://{source} has variables "
                                r"\['batchdata'\]") as raised:
      download.download("mocap", cache, "file://" + source,
                        download.sha256_of(source))
    self.assertNotIn(".tmp", str(raised.exception))
    self.assertEmpty(os.listdir(cache))

  def test_the_command_fetches_the_real_file_and_refuses_a_wrong_one(self):
    if not os.path.isfile(_SHARED_MOCAP):
      self.skipTest(_NO_SHARED_MOCAP)
    # A writable copy under the file's own name, as the server has it.
    source = os.path.join(self.create_tempdir().full_path, "MOCAP.mat")
    shutil.copyfile(_SHARED_MOCAP, source)
    cache = self.create_tempdir().full_path
    finished = test_download._cli(cache, "--data_set=mocap",
                                  f"--url=file://{source}")
    self.assertEqual(finished.returncode, 0, finished.stderr[-2000:])
    path = os.path.join(cache, "MOCAP.mat")
    self.assertEqual(download.sha256_of(path), download.PUBLISHED_SHA256["mocap"])
    self.assertEqual([len(s) for s in mocap.load_mocap(path)],
                     list(mocap.SEQUENCE_LENGTHS))
    with open(source, "ab") as f:
      f.write(b"tampered")
    test_download._assert_one_line_error(
        self, test_download._cli(cache, "--data_set=mocap", f"--url={source}"),
        f"{source} has SHA-256 ")
    self.assertEqual(download.sha256_of(path), download.PUBLISHED_SHA256["mocap"])


class EvaluationTest(absltest.TestCase):
  """A motion-capture run's evaluation: the fitted autoregressive baseline."""

  def test_the_evaluation_reports_the_fitted_autoregressive_baseline(self):
    if not os.path.exists(_SHARED_MOCAP):
      self.skipTest(_NO_SHARED_MOCAP)
    # pylint: disable=g-import-not-at-top
    import rtrbm_jax as rj
    from rtrbm_jax.data import datasets
    from rtrbm_jax.evaluation import prediction
    from rtrbm_jax.runs import evaluate
    from rtrbm_jax.training import loop
    config = rj.get_config("mocap:rnnrbm")
    config.model.num_hidden, config.model.num_recurrent = 8, 4
    config.train.num_steps, config.eval.every = 20, 20
    config.train.log_every = config.train.checkpoint_every = 10
    config.train.gibbs_schedule = ()
    config.eval.num_gibbs_steps, config.eval.generate_frames = 2, 3
    workdir = self.create_tempdir().full_path
    loop.train_and_evaluate(config, workdir)
    results = evaluate.evaluate_workdir(
        workdir, step="best", num_gibbs_steps=2, log_likelihood="none",
        chain_lengths=(), prediction_rule="mean_field", generate_frames=3)
    baseline = results["baselines"]["linear_autoregressive"]
    frames, mask = datasets.pad_sequences(datasets.load_sequences(config.data,
                                                                  "test"))
    predictions, order, _ = autoregressive.fitted_predictions(
        datasets.load_sequences(config.data, "train"),
        datasets.load_sequences(config.data, "valid"), frames)
    self.assertEqual(baseline["order"], order)
    self.assertAlmostEqual(
        baseline["next_frame_error"]["mean"],
        prediction.next_frame_error_summary(predictions.astype(np.float32),
                                            frames, mask)["mean"], places=4)
    self.assertEqual(results["next_frame_error"]["prediction_rule"],
                     "mean_field")


if __name__ == "__main__":
  absltest.main()
