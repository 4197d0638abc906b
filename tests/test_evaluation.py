"""Tests of evaluation: next-frame prediction, frame accuracy, baselines, per-frame
likelihoods, the model's sampler in every chain, and run evaluation."""

import json
import os
import subprocess
import sys
from unittest import mock

from absl.testing import absltest
from absl.testing import parameterized
import chex
import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax import files
from rtrbm_jax.data import datasets
from rtrbm_jax.data import music
from rtrbm_jax.evaluation import evaluators
from rtrbm_jax.evaluation import likelihood
from rtrbm_jax.evaluation import prediction
from rtrbm_jax.models import ais
from rtrbm_jax.models import rbm
from rtrbm_jax.models import registry
from rtrbm_jax.runs import evaluate
from rtrbm_jax.runs import summaries
from rtrbm_jax.training import loop
from rtrbm_jax.training import programs
from tests import helpers

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tiny_model(num_visible=6, num_hidden=4, seed=0, sampler="uniform"):
  model = registry.get_model("rtrbm", sampler=sampler)
  params = model.init_params(jax.random.key(seed), num_visible, num_hidden)
  return model, helpers.randomize(params, jax.random.key(seed + 1), 0.8)


def _frame_values(model, params, v, key, *args, **kwargs):
  """`frame_log_likelihoods` as arrays (per frame, standard error), jittable."""
  estimate = likelihood.frame_log_likelihoods(model, params, v, key, *args,
                                              **kwargs)
  return estimate.per_frame, estimate.standard_error


class PredictionTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_prediction_error_is_the_mean_squared_error_of_the_predictions(self):
    model, params = _tiny_model()
    v = helpers.random_binary(jax.random.key(2), (3, 5, 6))
    key = jax.random.key(3)
    error = self.variant(prediction.next_frame_prediction_error,
                         static_argnums=(0, 4))(model, params, v, key, 7)
    predictions = prediction.predict_next_frames(model, params, v, key, 7)
    chex.assert_shape(predictions, (3, 4, 6))
    chex.assert_shape(error.per_frame, (3, 4))
    np.testing.assert_allclose(
        error.per_frame, jnp.sum(jnp.square(predictions - v[:, 1:]), axis=-1),
        rtol=1e-5)
    np.testing.assert_allclose(error.mean, jnp.mean(error.per_frame), rtol=1e-6)
    np.testing.assert_allclose(
        error.standard_error, jnp.std(error.per_frame, ddof=1) / np.sqrt(12),
        rtol=1e-5)

  @chex.variants(with_jit=True, without_jit=True)
  def test_a_prediction_uses_only_the_past(self):
    model, params = _tiny_model()
    v = helpers.random_binary(jax.random.key(2), (1, 6, 6))
    changed = v.at[:, 4:].set(1 - v[:, 4:])
    key = jax.random.key(3)
    predict = self.variant(prediction.predict_next_frames, static_argnums=(0, 4))
    original = predict(model, params, v, key, 5)
    modified = predict(model, params, changed, key, 5)
    np.testing.assert_array_equal(original[:, :3], modified[:, :3])

  @chex.variants(with_jit=True, without_jit=True)
  def test_generation_has_the_requested_frames_and_is_reproducible(self):
    model, params = _tiny_model()
    prime = helpers.random_binary(jax.random.key(2), (2, 3, 6))
    generate = self.variant(model.generate, static_argnums=3)
    first = generate(params, jax.random.key(4), prime, 5, 3)
    second = generate(params, jax.random.key(4), prime, 5, 3)
    chex.assert_shape(first, (2, 5, 6))
    np.testing.assert_array_equal(first, second)
    self.assertTrue(bool(jnp.all((first >= 0) & (first <= 1))))

  @chex.variants(with_jit=True, without_jit=True)
  def test_chain_average_is_the_mean_of_independent_chains(self):
    model, params = _tiny_model()
    v = helpers.random_binary(jax.random.key(2), (2, 5, 6))
    key = jax.random.key(3)
    predict = self.variant(prediction.predict_next_frames,
                           static_argnums=(0, 4, 5))
    average = predict(model, params, v, key, 4, 3)
    singles = [predict(model, params, v, chain_key, 4, 1)
               for chain_key in jax.random.split(key, 3)]
    chex.assert_shape(average, (2, 4, 6))
    np.testing.assert_allclose(average, sum(singles) / 3, rtol=1e-5, atol=1e-6)

  @chex.variants(with_jit=True, without_jit=True)
  def test_chain_average_predicts_better_than_one_chain(self):
    model, params = _tiny_model(num_visible=16, num_hidden=8)
    v = helpers.random_binary(jax.random.key(2), (8, 10, 16))
    key = jax.random.key(3)
    prediction_error = self.variant(prediction.next_frame_prediction_error,
                                    static_argnums=(0, 4, 5))
    one = prediction_error(model, params, v, key, 5, 1)
    average = prediction_error(model, params, v, key, 5, 16)
    # E|x - v|^2 = |E[x] - v|^2 + Var[x]: averaging removes the chains' variance.
    self.assertLess(float(average.mean), float(one.mean))

  @chex.variants(with_jit=True, without_jit=True)
  def test_error_by_chain_length_is_one_chain_stopped_at_each_length(self):
    model, params = _tiny_model(num_visible=16, num_hidden=8)
    v = helpers.random_binary(jax.random.key(2), (3, 6, 16))
    key = jax.random.key(3)
    chain_lengths = (1, 3, 50)
    by_length = self.variant(prediction.next_frame_errors_by_chain_length,
                             static_argnums=(0, 4))(model, params, v, key,
                                                    chain_lengths)
    chex.assert_shape(by_length, (3, 3, 5))
    for index, num_gibbs_steps in enumerate(chain_lengths):
      # The papers' protocol (50 steps by default) with the same key.
      np.testing.assert_allclose(
          by_length[index], prediction.next_frame_prediction_error(
              model, params, v, key, num_gibbs_steps).per_frame,
          rtol=1e-5, atol=1e-6)
    self.assertFalse(np.allclose(by_length[0], by_length[2]))
    with self.assertRaisesRegex(ValueError, "num_gibbs_steps must be"):
      prediction.next_frame_errors_by_chain_length(model, params, v, key, (5, 0))

  def test_error_by_frame_averaged_with_its_counts_is_the_overall_mean(self):
    per_frame = np.random.default_rng(0).random((4, 5))
    mask = np.ones((4, 5), bool)
    mask[0, 3:] = mask[2, 1:] = False
    mask[:, 4] = False
    by_frame = prediction.error_by_frame(per_frame, mask)
    self.assertEqual(by_frame["frame_index"], [2, 3, 4, 5, 6])
    self.assertEqual(by_frame["num_sequences"], [4, 3, 3, 2, 0])
    self.assertIsNone(by_frame["mean"][4])
    self.assertAlmostEqual(by_frame["mean"][3], per_frame[[1, 3], 3].mean())
    counts = np.array(by_frame["num_sequences"][:4])
    self.assertAlmostEqual(
        float(np.dot(by_frame["mean"][:4], counts) / counts.sum()),
        prediction.error_summary(per_frame, mask)["mean"])

  def test_prediction_rejects_bad_chain_counts(self):
    model, params = _tiny_model()
    v = helpers.random_binary(jax.random.key(2), (1, 3, 6))
    for bad in (0, -1, 2.5):
      with self.assertRaisesRegex(ValueError, "num_chains"):
        prediction.predict_next_frames(model, params, v, jax.random.key(0), 3, bad)


class MeanFieldRuleTest(chex.TestCase):
  """`predict_next_frames(rule="mean_field")`: the Gibbs steps with means."""

  @chex.variants(with_jit=True, without_jit=True)
  def test_it_iterates_the_two_conditionals_from_the_hidden_bias(self):
    for visible_type in ("binary", "gaussian"):
      model = registry.get_model("rtrbm", visible_type)
      params = helpers.randomize(model.init_params(jax.random.key(0), 6, 4),
                                 jax.random.key(1), 0.8)
      v = helpers.random_binary(jax.random.key(2), (3, 5, 6))
      predict = self.variant(prediction.predict_next_frames,
                             static_argnums=(0, 4, 5, 6))
      got = predict(model, params, v, jax.random.key(3), 4, 1, "mean_field")
      # By hand: P(h) = sigmoid(c_t), then 3 x (E[v | h], P(h | v)), then E[v | h].
      frames = model.frame_rbms(params, v)
      hidden_bias = frames.hidden_bias[:, 1:]
      visible_bias = frames.visible_bias
      hidden = jax.nn.sigmoid(hidden_bias)
      for _ in range(3):
        visible = rbm.visible_mean(frames.w_vh, visible_bias, hidden, visible_type)
        hidden = jax.nn.sigmoid(visible @ frames.w_vh + hidden_bias)
      expected = rbm.visible_mean(frames.w_vh, visible_bias, hidden, visible_type)
      chex.assert_shape(got, (3, 4, 6))
      np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
      # Deterministic: the key and the chain count change nothing.
      np.testing.assert_array_equal(
          got, predict(model, params, v, jax.random.key(9), 4, 3, "mean_field"))

  def test_training_evaluates_with_the_configs_rule(self):
    config = helpers.small_config()
    config.eval.prediction_rule = "mean_field"
    model, params = _tiny_model(36, 16)
    frames = helpers.random_binary(jax.random.key(2), (3, 5, 36))
    key = jax.random.key(4)
    figures = programs._figures_program(  # pylint: disable=protected-access
        config, model, "video", frames, False, False)(params, frames, key)
    expected = prediction.prediction_error(prediction.predict_next_frames(
        model, params, frames, key, config.eval.num_gibbs_steps,
        rule="mean_field"), frames)
    np.testing.assert_allclose(figures["next_frame_error"]["mean"], expected.mean,
                               rtol=1e-5)

  def test_an_unknown_rule_is_one_line(self):
    model, params = _tiny_model()
    with self.assertRaisesRegex(
        ValueError, r"^rule='mode' is not accepted: one of \('gibbs', "
        r"'mean_field', 'annealed', 'lowest_free_energy', 'local_search', "
        r"'greedy'\)\.$"):
      prediction.predict_next_frames(model, params, jnp.zeros((1, 3, 6)),
                                     jax.random.key(0), 2, rule="mode")


class NewFigureTest(absltest.TestCase):
  """Adding a held-out figure is one `Evaluator` and one registry entry."""

  def test_a_registered_figure_reaches_the_records_and_the_eval_file(self):
    os.environ["RTRBM_JAX_CACHE"] = self.create_tempdir("cache").full_path

    def absolute_error(inputs):
      return {"error": jnp.sum(jnp.abs(inputs.predictions - inputs.frames[:, 1:]),
                               axis=-1)}

    evaluator = evaluators.Evaluator(
        absolute_error, evaluators.EVALUATORS["next_frame_error"].summarise,
        ("video",))
    config = helpers.small_config()
    config.train.num_steps, config.eval.every = 20, 20
    workdir = self.create_tempdir().full_path
    with mock.patch.dict(evaluators.EVALUATORS,
                         {"next_frame_absolute_error": evaluator}):
      loop.train_and_evaluate(config, workdir)
      results = evaluate.evaluate_workdir(workdir, num_gibbs_steps=2,
                                          log_likelihood="none", chain_lengths=())
    records = [record for record in files.read_records(
        os.path.join(workdir, "metrics.jsonl"))
               if "heldout_next_frame_absolute_error" in record]
    self.assertLen(records, 2)  # the evaluations at updates 20 and 40
    self.assertIn("train_next_frame_absolute_error_se", records[-1])
    figure = results["next_frame_absolute_error"]
    self.assertGreater(figure["mean"], 0)
    self.assertIn("sd_over_sequences", figure)
    scalars = helpers.read_scalars(workdir)
    self.assertIn("eval/test/next_frame_absolute_error", scalars)
    self.assertIn("eval/heldout_next_frame_absolute_error", scalars)


class BaselineTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_baselines_predict_what_they_say(self):
    v = jnp.asarray([[[0., 0., 1.], [0., 1., 1.], [1., 1., 0.]]])
    mean_frame = jnp.asarray([0.25, 0.5, 0.75])
    predictions = self.variant(prediction.baseline_predictions,
                               static_argnums=1)(v, "binary", mean_frame)
    self.assertEqual(set(predictions), {"copy_last_frame", "extrapolation",
                                        "blank_frame", "mean_frame"})
    np.testing.assert_array_equal(predictions["copy_last_frame"], v[:, :2])
    # t = 2 copies v_1; t = 3 is clip(2 v_2 - v_1) = clip([0, 2, 1]).
    np.testing.assert_array_equal(predictions["extrapolation"],
                                  [[[0., 0., 1.], [0., 1., 1.]]])
    np.testing.assert_array_equal(predictions["blank_frame"], jnp.zeros((1, 2, 3)))
    np.testing.assert_array_equal(predictions["mean_frame"][0, 1], mean_frame)

  @chex.variants(with_jit=True, without_jit=True)
  def test_extrapolation_of_real_values_is_not_clipped(self):
    v = jnp.asarray([[[0.], [1.5]]]).reshape(1, 2, 1)
    v = jnp.concatenate([v, jnp.asarray([[[2.0]]])], axis=1)
    predictions = self.variant(prediction.baseline_predictions,
                               static_argnums=1)(v, "gaussian")
    np.testing.assert_allclose(predictions["extrapolation"][0, 1], [3.0])
    self.assertNotIn("mean_frame", predictions)

  def test_error_summary_spreads_over_frames_and_sequences(self):
    per_frame = np.asarray([[1., 3., 100.], [5., 7., 9.]])
    mask = np.asarray([[True, True, False], [True, True, True]])
    summary = prediction.error_summary(per_frame, mask)
    values = np.asarray([1., 3., 5., 7., 9.])
    self.assertAlmostEqual(summary["mean"], 5.0)
    self.assertAlmostEqual(summary["standard_error"],
                           values.std(ddof=1) / np.sqrt(5))
    sequence_means = np.asarray([2., 7.])
    self.assertAlmostEqual(summary["sd_over_sequences"],
                           sequence_means.std(ddof=1))
    self.assertAlmostEqual(summary["standard_error_over_sequences"],
                           sequence_means.std(ddof=1) / np.sqrt(2))
    self.assertEqual(summary["num_predicted_frames"], 5)
    self.assertEqual(summary["num_sequences"], 2)

  @chex.variants(with_jit=True, without_jit=True)
  def test_next_frame_error_summary_counts_only_the_real_predicted_frames(self):
    v = jnp.asarray([[[0.], [1.], [1.]], [[1.], [0.], [0.]]])
    predictions = self.variant(prediction.baseline_predictions, static_argnums=1)(
        v, "binary")["copy_last_frame"]
    mask = np.asarray([[True, True, True], [True, True, False]])
    # Squared errors [[1, 0], [1, (padding) 0]]; the padded frame is not counted.
    summary = prediction.next_frame_error_summary(predictions, v, mask)
    self.assertAlmostEqual(summary["mean"], 2 / 3)
    self.assertEqual(summary["num_predicted_frames"], 3)
    self.assertEqual(
        prediction.next_frame_error_summary(predictions, v)["num_predicted_frames"],
        4)

  def test_mean_frame_is_the_mean_over_every_frame_of_every_sequence(self):
    sequences = [np.asarray([[1., 0.]], np.float32),
                 np.asarray([[0., 0.], [1., 1.], [1., 0.]], np.float32)]
    np.testing.assert_allclose(prediction.mean_frame(sequences), [0.75, 0.25])

  def test_independent_bernoulli_likelihood_uses_smoothed_unit_frequencies(self):
    train_frames = np.asarray([[1., 0.], [1., 0.], [0., 0.]])
    probability = np.asarray([3 / 5, 1 / 5])
    v = np.asarray([[[1., 1.], [0., 0.]]])
    expected = [[np.log(probability).sum(), np.log1p(-probability).sum()]]
    np.testing.assert_allclose(
        likelihood.independent_bernoulli_log_likelihood(train_frames, v), expected)


class LogLikelihoodTest(chex.TestCase):

  # `method` is a string, which jitted functions cannot return: the variants
  # compute the numbers (`_frame_values`), an eager call reports the method.
  @chex.variants(with_jit=True, without_jit=True)
  def test_exact_frame_likelihoods_sum_to_the_sequence_likelihood(self):
    model, params = _tiny_model()
    v = helpers.random_binary(jax.random.key(2), (3, 5, 6))
    self.assertEqual(likelihood.frame_log_likelihoods(
        model, params, v, jax.random.key(0)).method, "exact")
    per_frame, standard_error = self.variant(_frame_values, static_argnums=0)(
        model, params, v, jax.random.key(0))
    np.testing.assert_allclose(jnp.sum(per_frame, axis=1),
                               helpers.RTRBM.exact_log_likelihood(params, v), rtol=1e-5)
    np.testing.assert_array_equal(standard_error, 0.0)

  @chex.variants(with_jit=True, without_jit=True)
  def test_ais_frame_likelihoods_agree_with_exact_within_their_errors(self):
    model, params = _tiny_model(num_visible=8, num_hidden=6)
    v = helpers.random_binary(jax.random.key(2), (2, 3, 8))
    frame_values = self.variant(
        _frame_values, static_argnums=0,
        static_argnames=("num_temperatures", "num_chains", "method"))
    exact, _ = frame_values(model, params, v, jax.random.key(0), method="exact")
    self.assertEqual(likelihood.frame_log_likelihoods(
        model, params, v, jax.random.key(1), num_temperatures=2, num_chains=2,
        method="ais").method, "ais")
    per_frame, standard_error = frame_values(
        model, params, v, jax.random.key(1), num_temperatures=300, num_chains=64,
        method="ais")
    np.testing.assert_array_less(jnp.abs(per_frame - exact),
                                 5 * standard_error + 1e-3)

  @chex.variants(with_jit=True, without_jit=True)
  def test_sequence_likelihoods_sum_the_frames_and_root_sum_their_errors(self):
    model, params = _tiny_model()
    v = helpers.random_binary(jax.random.key(2), (2, 3, 6))
    key = jax.random.key(5)
    log_likelihood, standard_error = self.variant(
        likelihood.sequence_log_likelihoods, static_argnums=0,
        static_argnames=("num_temperatures", "num_chains", "method"))(
            model, params, v, key, num_temperatures=10, num_chains=4,
            method="ais")
    per_frame, frame_errors = _frame_values(model, params, v, key, 10, 4, "ais")
    np.testing.assert_allclose(log_likelihood, jnp.sum(per_frame, axis=1),
                               rtol=1e-5)
    np.testing.assert_allclose(
        standard_error, jnp.sqrt(jnp.sum(jnp.square(frame_errors), axis=1)),
        rtol=1e-5)

  def test_log_likelihood_summary_adds_the_ais_errors_to_the_spread(self):
    per_frame = np.asarray([[-1., -3., -100.], [-5., -7., -9.]], np.float32)
    errors = np.asarray([[0.1, 0.2, 9.], [0.3, 0.4, 0.5]], np.float32)
    mask = np.asarray([[True, True, False], [True, True, True]])
    summary = likelihood.log_likelihood_summary(
        likelihood.FrameLogLikelihoods(per_frame, errors, "ais"), mask)
    values, value_errors = per_frame[mask], errors[mask]
    self.assertEqual(summary["method"], "ais")
    self.assertAlmostEqual(summary["mean"], -5.0, places=6)
    self.assertAlmostEqual(summary["ais_standard_error_of_mean"],
                           np.sqrt(np.sum(value_errors ** 2)) / 5, places=6)
    self.assertAlmostEqual(
        summary["standard_error"],
        np.sqrt(values.astype(np.float64).var(ddof=1) / 5
                + np.sum(value_errors ** 2) / 25), places=6)


class SamplerTest(chex.TestCase):
  """Every Gibbs chain of evaluation runs with the model bundle's sampler."""

  def test_a_sampler_no_chain_accepts_reaches_every_chain(self):
    model, params = _tiny_model()
    model = model._replace(sampler="no_such_sampler")
    v = helpers.random_binary(jax.random.key(2), (2, 3, 6))
    key = jax.random.key(3)
    for run_chains in (
        lambda: prediction.predict_next_frames(model, params, v, key, 3),
        lambda: prediction.next_frame_prediction_error(model, params, v, key, 3, 2),
        lambda: likelihood.frame_log_likelihoods(model, params, v, key, 10, 4,
                                                 method="ais"),
        lambda: likelihood.sequence_log_likelihoods(model, params, v, key, 10, 4,
                                                    method="ais")):
      with self.assertRaisesRegex(ValueError,
                                  "sampler must be one of .*'no_such_sampler'"):
        run_chains()

  @chex.variants(with_jit=True, without_jit=True)
  def test_prediction_is_the_models_own_chain_with_its_sampler(self):
    model, params = _tiny_model(sampler="fused_threefry")
    v = helpers.random_binary(jax.random.key(2), (2, 4, 6))
    key = jax.random.key(3)
    predictions = self.variant(prediction.predict_next_frames,
                               static_argnums=(0, 4))(model, params, v, key, 3)
    frames = model.frame_rbms(params, v)
    hidden_bias = frames.hidden_bias[:, 1:].reshape(-1, 4)
    expected = rbm.gibbs_chain(key, frames.w_vh, frames.visible_bias, hidden_bias,
                               jax.nn.sigmoid(hidden_bias), 3, rbm.BINARY,
                               "fused_threefry").visible_mean
    np.testing.assert_allclose(predictions.reshape(-1, 6), expected, rtol=1e-6)

  @chex.variants(with_jit=True, without_jit=True)
  def test_ais_likelihoods_estimate_log_z_with_the_models_sampler(self):
    model, params = _tiny_model(sampler="fused_threefry")
    v = helpers.random_binary(jax.random.key(2), (2, 3, 6))
    key = jax.random.key(3)
    _, standard_error = self.variant(
        _frame_values, static_argnums=0,
        static_argnames=("num_temperatures", "num_chains", "method"))(
            model, params, v, key, num_temperatures=10, num_chains=4,
            method="ais")
    visible_bias, hidden_bias = model.frame_rbms(params, v).row_biases()
    _, expected = ais.log_partition(key, params.w_vh, visible_bias, hidden_bias,
                                    10, 4, rbm.BINARY, "fused_threefry")
    np.testing.assert_allclose(standard_error.reshape(-1), expected, rtol=1e-5)


class FrameAccuracyTest(parameterized.TestCase):
  """Bay et al.'s accuracy TP / (TP + FP + FN), counted over the whole set."""

  def _case(self):
    target = music.frames_to_piano_roll([[60, 64, 67], [50], [70]])
    predicted = music.frames_to_piano_roll([[60, 64, 65], [], [70, 72, 74, 76]])
    return predicted, target

  def test_frame_accuracy_sums_counts_over_the_whole_set(self):
    # Frame 0: TP 2 (60, 64), FP 1 (65), FN 1 (67). Frame 1: FN 1 (50).
    # Frame 2: TP 1 (70), FP 3. Total TP 3, FP 4, FN 2 -> 3 / 9.
    # (Averaging per frame would give (2/4 + 0 + 1/4) / 3 = 0.25 instead.)
    predicted, target = self._case()
    self.assertAlmostEqual(prediction.frame_accuracy(predicted, target), 3 / 9)

  def test_frame_accuracy_ignores_masked_frames(self):
    predicted, target = self._case()
    # [B=1, T=3, 88]; masking frame 2 leaves TP 2, FP 1, FN 2 -> 2 / 5.
    self.assertAlmostEqual(prediction.frame_accuracy(
        predicted[None], target[None], mask=np.array([[1, 1, 0]])), 0.4)

  def test_frame_accuracy_perfect_and_silent_cases(self):
    _, target = self._case()
    self.assertEqual(prediction.frame_accuracy(target, target), 1.0)
    silent = np.zeros((4, 88))
    # TP + FP + FN = 0 is defined as 1.
    self.assertEqual(prediction.frame_accuracy(silent, silent), 1.0)
    self.assertEqual(
        prediction.frame_accuracy(silent, target[:1].repeat(4, 0)), 0.0)

  def test_frame_accuracy_rejects_non_binary_and_mismatched_inputs(self):
    predicted, target = self._case()
    with self.assertRaisesRegex(ValueError, "predicted has non-binary value 0.7"):
      prediction.frame_accuracy(predicted * 0.7, target)
    with self.assertRaisesRegex(ValueError, r"target has shape \(2, 88\)"):
      prediction.frame_accuracy(predicted, target[:2])
    with self.assertRaisesRegex(ValueError, r"mask has shape \(2,\); expected"):
      prediction.frame_accuracy(predicted, target, mask=np.ones(2))
    with self.assertRaisesRegex(ValueError, "mask is all zeros"):
      prediction.frame_accuracy(predicted, target, mask=np.zeros(3))


class RunEvaluationTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    os.environ["RTRBM_JAX_CACHE"] = self.create_tempdir("cache").full_path

  def test_evaluating_a_bouncing_balls_run_writes_eval_json(self):
    workdir = self.create_tempdir().full_path
    loop.train_and_evaluate(helpers.small_config(), workdir)
    results = evaluate.evaluate_workdir(workdir, num_gibbs_steps=5,
                                              generate_frames=4,
                                              chain_lengths=(1, 5, 20))
    with open(os.path.join(workdir, "eval_test.json")) as f:
      self.assertEqual(json.load(f), results)
    error = results["next_frame_error"]
    by_frame = error["by_frame"]
    self.assertEqual(by_frame["frame_index"], list(range(2, 9)))
    self.assertEqual(by_frame["num_sequences"], [6] * 7)
    self.assertAlmostEqual(float(np.mean(by_frame["mean"])), error["mean"],
                           places=5)
    by_length = results["next_frame_error_by_chain_length"]
    self.assertEqual(by_length["num_gibbs_steps"], [1, 5, 20])
    # The curve at the evaluation's 5 steps is the one-chain figure itself.
    self.assertAlmostEqual(by_length["mean"][1], error["mean"], places=5)
    train_error = results["train_sample"]["next_frame_error"]
    self.assertEqual(train_error["num_sequences"], 6)
    self.assertGreater(train_error["mean"], 0)
    self.assertNotAlmostEqual(train_error["mean"], error["mean"])
    # The generation takes the run's config.eval where no argument is given.
    self.assertEqual(results["generation"]["prime_frames"], 3)
    self.assertEqual(results["generation"]["num_sequences"], 2)
    self.assertEqual(results["generation"]["generated_frames"], 4)
    # Another split writes its own files, next to the test split's.
    on_train = evaluate.evaluate_workdir(
        workdir, split="train", num_gibbs_steps=2, num_prediction_chains=2,
        log_likelihood="none")
    self.assertEqual(on_train["split"], "train")
    with open(os.path.join(workdir, "eval_test.json")) as f:
      self.assertEqual(json.load(f)["split"], "test")
    for name in ("eval_train.json", "eval_samples_train.png"):
      self.assertTrue(os.path.exists(os.path.join(workdir, name)), name)
    self.assertRegex(
        summaries.summary_line(results),
        r"^test split, step 80: next-frame error [0-9.]+ \+- [0-9.e-]+ \(mean of "
        r"10 chains [0-9.]+\); best baseline extrapolation [0-9.]+$")
    scalars = helpers.read_scalars(workdir)
    self.assertAlmostEqual(scalars["eval/test/next_frame_error"][0][1],
                           results["next_frame_error"]["mean"], places=5)
    self.assertEqual(scalars["eval/train/next_frame_error"][0][0], 80)
    self.assertIn("eval/test/baselines/copy_last_frame/next_frame_error", scalars)
    self.assertEqual(results["next_frame_error"]["num_predicted_frames"], 6 * 7)
    self.assertGreater(results["next_frame_error"]["mean"], 0)
    for figure in ("next_frame_error", "next_frame_error_chain_average"):
      for field in ("standard_error", "sd_over_sequences",
                    "standard_error_over_sequences"):
        self.assertGreaterEqual(results[figure][field], 0)
    self.assertEqual(results["next_frame_error_chain_average"]["num_chains"], 10)
    self.assertEqual(set(results["baselines"]),
                     {"copy_last_frame", "extrapolation", "blank_frame",
                      "mean_frame"})
    frames = np.stack(datasets.load_sequences(
        helpers.small_config().data, "test"))
    copy_last = np.sum(np.square(frames[:, 1:] - frames[:, :-1]), axis=-1)
    self.assertAlmostEqual(
        results["baselines"]["copy_last_frame"]["next_frame_error"]["mean"],
        float(copy_last.mean()), places=4)
    self.assertIn("skipped", results["log_likelihood_per_frame"])
    self.assertTrue(os.path.exists(os.path.join(workdir, "eval_samples_test.png")))
    # The papers' rule unless asked; the file says which rule made its figures.
    self.assertEqual(error["prediction_rule"], "gibbs")
    mean_field = evaluate.evaluate_workdir(
        workdir, split="train", num_gibbs_steps=5, log_likelihood="none",
        prediction_rule="mean_field", chain_lengths=())
    self.assertEqual(mean_field["next_frame_error"]["prediction_rule"],
                     "mean_field")
    # Deterministic, so the mean of 10 chains is the one chain.
    self.assertAlmostEqual(mean_field["next_frame_error"]["mean"],
                           mean_field["next_frame_error_chain_average"]["mean"],
                           places=5)
    with self.assertRaisesRegex(ValueError, r"^prediction_rule='mode' is not "
                                r"accepted: one of"):
      evaluate.evaluate_workdir(workdir, prediction_rule="mode")

  def test_evaluating_a_music_run_reports_likelihood_and_accuracy(self):
    config, pieces = helpers.small_music_config(
        self.create_tempdir().full_path, num_pieces=5, notes_per_frame=2,
        lowest_note=60, num_notes=6, lengths=(10, 16),
        num_hidden=10)  # small enough to enumerate 2^10 hidden states
    config.eval.num_sequences = 5
    workdir = self.create_tempdir().full_path
    loop.train_and_evaluate(config, workdir)
    results = evaluate.evaluate_workdir(workdir, num_gibbs_steps=5)
    lengths = [len(piece) for piece in pieces["test"]]
    self.assertEqual(results["num_frames"], sum(lengths))
    self.assertEqual(results["next_frame_error"]["num_predicted_frames"],
                     sum(lengths) - 5)
    likelihood = results["log_likelihood_per_frame"]
    self.assertEqual(likelihood["method"], "exact")
    self.assertLess(likelihood["mean"], 0)
    self.assertBetween(results["frame_accuracy"], 0.0, 1.0)
    copy_last = results["baselines"]["copy_last_frame"]
    self.assertBetween(copy_last["frame_accuracy"], 0.0, 1.0)
    self.assertLess(
        results["baselines"]["independent_bernoulli"]["log_likelihood_per_frame"]
        ["mean"], 0)

  def test_the_cli_names_a_workdir_without_a_run(self):
    finished = subprocess.run(
        [sys.executable, "-m", "experiments.evaluate",
         f"--workdir={self.create_tempdir().full_path}"],
        cwd=_REPO, capture_output=True, text=True, timeout=120)
    self.assertEqual(finished.returncode, 1)
    self.assertIn("has no config.json", finished.stderr)


if __name__ == "__main__":
  absltest.main()
