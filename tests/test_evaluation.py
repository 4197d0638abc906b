"""Tests of evaluation: next-frame prediction, per-frame likelihoods, run evaluation."""

import json
import os
import subprocess
import sys

from absl.testing import absltest
import chex
import jax
import jax.numpy as jnp
import numpy as np

import rtrbm_jax as rj
from rtrbm_jax import evaluation
from rtrbm_jax import models
from rtrbm_jax import run_evaluation
from rtrbm_jax import train
from tests import helpers
from tests import test_train

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tiny_model(num_visible=6, num_hidden=4, seed=0):
  model = models.get_model("rtrbm")
  params = model.init_params(jax.random.key(seed), num_visible, num_hidden)
  return model, helpers.randomize(params, jax.random.key(seed + 1), 0.8)


class PredictionTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_prediction_error_is_the_mean_squared_error_of_the_predictions(self):
    model, params = _tiny_model()
    v = helpers.random_binary(jax.random.key(2), (3, 5, 6))
    key = jax.random.key(3)
    error = self.variant(evaluation.next_frame_prediction_error,
                         static_argnums=(0, 4))(model, params, v, key, 7)
    predictions = evaluation.predict_next_frames(model, params, v, key, 7)
    chex.assert_shape(predictions, (3, 4, 6))
    chex.assert_shape(error.per_frame, (3, 4))
    np.testing.assert_allclose(
        error.per_frame, jnp.sum(jnp.square(predictions - v[:, 1:]), axis=-1),
        rtol=1e-5)
    np.testing.assert_allclose(error.mean, jnp.mean(error.per_frame), rtol=1e-6)
    np.testing.assert_allclose(
        error.standard_error, jnp.std(error.per_frame, ddof=1) / np.sqrt(12),
        rtol=1e-5)

  def test_a_prediction_uses_only_the_past(self):
    model, params = _tiny_model()
    v = helpers.random_binary(jax.random.key(2), (1, 6, 6))
    changed = v.at[:, 4:].set(1 - v[:, 4:])
    key = jax.random.key(3)
    original = evaluation.predict_next_frames(model, params, v, key, 5)
    modified = evaluation.predict_next_frames(model, params, changed, key, 5)
    np.testing.assert_array_equal(original[:, :3], modified[:, :3])

  def test_generation_has_the_requested_frames_and_is_reproducible(self):
    model, params = _tiny_model()
    prime = helpers.random_binary(jax.random.key(2), (2, 3, 6))
    first = model.generate(params, jax.random.key(4), prime, 5, 3)
    second = model.generate(params, jax.random.key(4), prime, 5, 3)
    chex.assert_shape(first, (2, 5, 6))
    np.testing.assert_array_equal(first, second)
    self.assertTrue(bool(jnp.all((first >= 0) & (first <= 1))))


class LogLikelihoodTest(absltest.TestCase):

  def test_exact_frame_likelihoods_sum_to_the_sequence_likelihood(self):
    model, params = _tiny_model()
    v = helpers.random_binary(jax.random.key(2), (3, 5, 6))
    frames = evaluation.frame_log_likelihoods(model, params, v, jax.random.key(0))
    self.assertEqual(frames.method, "exact")
    np.testing.assert_allclose(jnp.sum(frames.per_frame, axis=1),
                               rj.exact_log_likelihood(params, v), rtol=1e-5)
    np.testing.assert_array_equal(frames.standard_error, 0.0)

  def test_ais_frame_likelihoods_agree_with_exact_within_their_errors(self):
    model, params = _tiny_model(num_visible=8, num_hidden=6)
    v = helpers.random_binary(jax.random.key(2), (2, 3, 8))
    exact = evaluation.frame_log_likelihoods(model, params, v, jax.random.key(0),
                                             method="exact")
    estimate = evaluation.frame_log_likelihoods(model, params, v, jax.random.key(1),
                                                num_temperatures=300,
                                                num_chains=64, method="ais")
    self.assertEqual(estimate.method, "ais")
    np.testing.assert_array_less(jnp.abs(estimate.per_frame - exact.per_frame),
                                 5 * estimate.standard_error + 1e-3)


class RunEvaluationTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    os.environ["RTRBM_JAX_CACHE"] = self.create_tempdir("cache").full_path

  def test_evaluating_a_bouncing_balls_run_writes_eval_json(self):
    workdir = self.create_tempdir().full_path
    train.train_and_evaluate(test_train.small_config(), workdir)
    results = run_evaluation.evaluate_workdir(workdir, num_gibbs_steps=5,
                                              generate_frames=4)
    with open(os.path.join(workdir, "eval.json")) as f:
      self.assertEqual(json.load(f), results)
    self.assertEqual(results["next_frame_error"]["num_predicted_frames"], 6 * 7)
    self.assertGreater(results["next_frame_error"]["mean"], 0)
    self.assertIn("skipped", results["log_likelihood_per_frame"])
    self.assertTrue(os.path.exists(os.path.join(workdir, "eval_samples.png")))

  def test_evaluating_a_music_run_reports_likelihood_and_accuracy(self):
    config, pieces = helpers.small_music_config(
        self.create_tempdir().full_path, num_pieces=5, notes_per_frame=2,
        lowest_note=60, num_notes=6, lengths=(10, 16),
        num_hidden=10)  # small enough to enumerate 2^10 hidden states
    config.eval.num_sequences = 5
    workdir = self.create_tempdir().full_path
    train.train_and_evaluate(config, workdir)
    results = run_evaluation.evaluate_workdir(workdir, num_gibbs_steps=5)
    lengths = [len(piece) for piece in pieces["test"]]
    self.assertEqual(results["num_frames"], sum(lengths))
    self.assertEqual(results["next_frame_error"]["num_predicted_frames"],
                     sum(lengths) - 5)
    likelihood = results["log_likelihood_per_frame"]
    self.assertEqual(likelihood["method"], "exact")
    self.assertLess(likelihood["mean"], 0)
    self.assertBetween(results["frame_accuracy"], 0.0, 1.0)

  def test_the_cli_names_a_workdir_without_a_run(self):
    finished = subprocess.run(
        [sys.executable, "-m", "experiments.evaluate",
         f"--workdir={self.create_tempdir().full_path}"],
        cwd=_REPO, capture_output=True, text=True, timeout=120)
    self.assertEqual(finished.returncode, 1)
    self.assertIn("has no config.json", finished.stderr)


if __name__ == "__main__":
  absltest.main()
