"""Tests of the NADE and the RNN-NADE: exact probabilities, samples and gradients,
the frame-model seam, and a run trained, evaluated and resumed."""

import itertools
import os
import shutil

from absl.testing import absltest
from absl.testing import parameterized
import chex
import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax.evaluation import evaluators
from rtrbm_jax.evaluation import likelihood
from rtrbm_jax.evaluation import prediction
from rtrbm_jax.models import nade
from rtrbm_jax.models import registry
from rtrbm_jax.models import rnnnade
from rtrbm_jax.runs import evaluate
from rtrbm_jax.training import loop
from tests import helpers


def _random_nade(seed, num_visible, num_hidden, num_rows, scale=1.0,
                 dtype=jnp.float32):
  """(w_vh, w_hv, visible_bias [N, nv], hidden_bias [N, nh]) drawn N(0, scale^2)."""
  keys = jax.random.split(jax.random.key(seed), 4)
  shapes = ((num_visible, num_hidden), (num_hidden, num_visible),
            (num_rows, num_visible), (num_rows, num_hidden))
  return tuple(scale * jax.random.normal(key, shape, dtype)
               for key, shape in zip(keys, shapes))


def _all_states(num_units):
  return np.asarray(list(itertools.product([0.0, 1.0], repeat=num_units)))


def _nade_probability_by_loop(w_vh, w_hv, visible_bias, hidden_bias, frame):
  """P(frame) of one NADE row by its definition, unit by unit (numpy, float64)."""
  w_vh, w_hv = np.asarray(w_vh, np.float64), np.asarray(w_hv, np.float64)
  sigmoid = lambda x: 1 / (1 + np.exp(-x))
  pre_activation = np.asarray(hidden_bias, np.float64).copy()
  probability = 1.0
  for i, value in enumerate(frame):
    on = sigmoid(visible_bias[i] + sigmoid(pre_activation) @ w_hv[:, i])
    probability *= on if value else 1 - on
    pre_activation += value * w_vh[i]
  return probability


def _random_model(seed, num_visible, num_hidden, num_recurrent, scale=0.8,
                  dtype=jnp.float32):
  params = rnnnade.init_params(jax.random.key(seed), num_visible, num_hidden,
                               num_recurrent=num_recurrent)
  return helpers.randomize(params, jax.random.key(seed + 1), scale, dtype)


def _sequence_log_likelihood_by_loop(params, sequence):
  """log P(v_1..T) by the chain rule over frames, each frame's probability its
  NADE's (`_nade_probability_by_loop`) normalised by enumerating its 2^nv states;
  the RNN run frame by frame in numpy."""
  p = jax.tree.map(lambda leaf: np.asarray(leaf, np.float64), params)
  states = _all_states(p.w_vh.shape[0])
  state, total = p.u_0, 0.0
  for frame in np.asarray(sequence):
    biases = (p.b_v + state @ p.w_uv, p.b_h + state @ p.w_uh)
    probabilities = [_nade_probability_by_loop(p.w_vh, p.w_hv, *biases, x)
                     for x in states]
    total += np.log(_nade_probability_by_loop(p.w_vh, p.w_hv, *biases, frame)
                    / np.sum(probabilities))
    state = np.tanh(p.b_u + state @ p.w_uu + frame @ p.w_vu)
  return total


class NadeTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_probabilities_sum_to_one_over_all_states_and_match_the_definition(self):
    num_visible = 6
    w_vh, w_hv, visible_bias, hidden_bias = _random_nade(0, num_visible, 4, 3)
    states = _all_states(num_visible)
    for row in range(3):
      log_probability, _ = self.variant(nade.log_probability)(
          w_vh, w_hv, jnp.broadcast_to(visible_bias[row], states.shape),
          jnp.broadcast_to(hidden_bias[row], (len(states), 4)),
          jnp.asarray(states, jnp.float32))
      self.assertAlmostEqual(float(jnp.sum(jnp.exp(log_probability))), 1.0,
                             places=5)
      for index in (0, 13, 63):
        self.assertAlmostEqual(
            float(jnp.exp(log_probability[index])),
            _nade_probability_by_loop(w_vh, w_hv, visible_bias[row],
                                      hidden_bias[row], states[index]),
            places=6)

  def test_exact_samples_follow_the_exact_probabilities(self):
    num_visible, num_samples = 4, 40_000
    w_vh, w_hv, visible_bias, hidden_bias = _random_nade(1, num_visible, 3, 1,
                                                         scale=1.5)
    rows = lambda bias: jnp.broadcast_to(bias, (num_samples, bias.shape[-1]))
    samples, conditionals = jax.jit(nade.sample)(
        jax.random.key(2), w_vh, w_hv, rows(visible_bias), rows(hidden_bias))
    states = _all_states(num_visible)
    expected = np.exp(nade.log_probability(
        w_vh, w_hv, rows(visible_bias)[:16], rows(hidden_bias)[:16],
        jnp.asarray(states, jnp.float32))[0])
    index = np.asarray(samples, int) @ (2 ** np.arange(num_visible)[::-1])
    observed = np.bincount(index, minlength=len(states)) / num_samples
    total_variation = 0.5 * np.abs(observed - expected).sum()
    print(f"NADE samples vs exact probabilities: total variation "
          f"{total_variation:.4f} over {num_samples} samples")
    # With 16 states the expected distance is about 0.01; the seed is fixed.
    self.assertLess(total_variation, 0.03)
    # The conditionals of the drawn prefixes average to the marginals.
    np.testing.assert_allclose(np.mean(conditionals, axis=0),
                               expected @ states, atol=0.01)

  def test_greedy_sets_each_unit_to_its_likelier_value_given_the_units_before(
      self):
    w_vh, w_hv, visible_bias, hidden_bias = _random_nade(3, 5, 3, 4, scale=2.0)
    frames, probabilities = nade.sample(jax.random.key(0), w_vh, w_hv,
                                        visible_bias, hidden_bias, greedy=True)
    np.testing.assert_array_equal(frames, probabilities > 0.5)
    _, teacher_forced = nade.log_probability(w_vh, w_hv, visible_bias,
                                             hidden_bias, frames)
    np.testing.assert_allclose(probabilities, teacher_forced, rtol=1e-5)


class RnnNadeTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_exact_log_likelihood_is_the_chain_rule_over_enumerated_frames(self):
    model = registry.get_model("rnnnade", num_recurrent=3)
    params = _random_model(0, 3, 2, 3)
    sequences = jnp.asarray(_all_states(3 * 3).reshape(-1, 3, 3), jnp.float32)
    log_likelihood = self.variant(model.exact_log_likelihood)(params, sequences)
    chex.assert_shape(log_likelihood, (2 ** 9,))
    self.assertAlmostEqual(float(jnp.sum(jnp.exp(log_likelihood))), 1.0, places=5)
    for index in (0, 77, 300, 511):
      self.assertAlmostEqual(
          float(log_likelihood[index]),
          _sequence_log_likelihood_by_loop(params, sequences[index]), places=4)

  @chex.variants(with_jit=True, without_jit=True)
  def test_gradient_matches_central_differences_in_float64(self):
    model = registry.get_model("rnnnade", num_recurrent=2)
    with helpers.float64():
      params = _random_model(1, 3, 2, 2, dtype=jnp.float64)
      v = helpers.random_binary(jax.random.key(2), (2, 4, 3), jnp.float64)
      loss = jax.jit(lambda p: -jnp.mean(model.exact_log_likelihood(p, v)))
      gradient = self.variant(model.exact_gradient)(params, v)
      trained, aux = self.variant(model.cd_gradient)(params, v, jax.random.key(0),
                                                      1)
      reference = helpers.central_differences(loss, params)
      chex.assert_trees_all_equal_dtypes(gradient, params)
      error = helpers.relative_error(gradient, reference)
      print(f"RNN-NADE gradient vs central differences (float64): relative error "
            f"{error:.2e}")
      self.assertLess(error, 1e-6)
      chex.assert_trees_all_close(trained, gradient, rtol=1e-12)
      # The train step's aux: the loss per frame, and the frames as "chains".
      np.testing.assert_allclose(aux.free_energy_gap, loss(params) / 4,
                                 rtol=1e-12)
      chex.assert_shape(aux.chain_visible, (8, 3))

  def test_frame_samples_read_only_the_past_and_generation_continues_it(self):
    model = registry.get_model("rnnnade", num_recurrent=4)
    params = _random_model(2, 5, 3, 4)
    v = helpers.random_binary(jax.random.key(3), (2, 6, 5))
    key = jax.random.key(4)
    samples, probabilities = model.frame_sample(params, key, v)
    changed = v.at[:, -1].set(1 - v[:, -1])
    later_samples, _ = model.frame_sample(params, key, changed)
    np.testing.assert_array_equal(samples, later_samples)
    self.assertTrue(bool(jnp.all((samples == 0) | (samples == 1))))
    chex.assert_shape(probabilities, (2, 6, 5))
    # The first generated frame is the NADE sample given u after the primer.
    generated = jax.jit(model.generate, static_argnums=(3, 4))(params, key, v, 3,
                                                               1)
    chex.assert_shape(generated, (2, 3, 5))
    _, _, u = rnnnade.forward_scan(params, v)
    first, _ = nade.sample(jax.random.split(key, 3)[0], params.w_vh, params.w_hv,
                           params.b_v + u[:, -1] @ params.w_uv,
                           params.b_h + u[:, -1] @ params.w_uh)
    np.testing.assert_array_equal(generated[:, 0], first)

  def test_the_bundle_says_what_its_frames_can_do(self):
    model = registry.get_model("rnnnade", num_recurrent=7)
    self.assertIsNone(model.frame_rbms)
    self.assertIsNotNone(model.frame_log_probability)
    params = model.init_params(jax.random.key(0), 5, 3, 0.01)
    chex.assert_shape([params.w_vh, params.w_hv, params.w_uu, params.w_uh],
                      [(5, 3), (3, 5), (7, 7), (7, 3)])
    for kind in ("rtrbm", "rnnrbm"):
      rbm_model = registry.get_model(kind)
      self.assertIsNotNone(rbm_model.frame_rbms)
      self.assertIsNone(rbm_model.frame_log_probability)
      self.assertIsNone(rbm_model.frame_sample)
    with self.assertRaisesRegex(ValueError, "binary frames only"):
      registry.get_model("rnnnade", visible_type="gaussian")
    with self.assertRaisesRegex(ValueError,
                                r"params.w_hv has shape \[3, 4\], expected "
                                r"\[3, 5\]"):
      model.exact_log_likelihood(params._replace(w_hv=jnp.zeros((3, 4))),
                                 jnp.zeros((2, 4, 5)))
    with self.assertRaisesRegex(ValueError, "must be binary"):
      model.exact_log_likelihood(params, jnp.full((2, 4, 5), 0.5))


class EvaluationTest(parameterized.TestCase):

  def test_likelihoods_are_exact_whatever_the_method_asked(self):
    model = registry.get_model("rnnnade", num_recurrent=4)
    params = _random_model(5, 6, 4, 4)
    v = helpers.random_binary(jax.random.key(6), (3, 5, 6))
    exact = model.exact_log_likelihood(params, v)
    for method in ("auto", "exact", "ais"):
      estimate = likelihood.sequence_log_likelihoods(model, params, v,
                                                     jax.random.key(7),
                                                     method=method)
      np.testing.assert_allclose(estimate.value, exact, rtol=1e-5)
      np.testing.assert_array_equal(estimate.standard_error, 0.0)
    rows = jnp.asarray([0, 3, 11])
    figure = evaluators.evaluate((evaluators.LOG_LIKELIHOOD,), model, params, v,
                                 jax.random.key(7), 1, likelihood_rows=rows)
    per_frame = model.frame_log_probability(params, v).reshape(-1)
    np.testing.assert_allclose(figure[evaluators.LOG_LIKELIHOOD]["mean"],
                               per_frame[rows].mean(), rtol=1e-5)
    self.assertEqual(float(figure[evaluators.LOG_LIKELIHOOD]["standard_error"]),
                     0.0)

  def test_predictions_are_exact_samples_and_their_mean(self):
    model = registry.get_model("rnnnade", num_recurrent=4)
    params = _random_model(8, 6, 4, 4)
    v = helpers.random_binary(jax.random.key(9), (3, 5, 6))
    key = jax.random.key(10)
    one = prediction.predict_next_frames(model, params, v, key, 1)
    np.testing.assert_array_equal(
        one, prediction.exact_next_frames(model, params, v, key)[1])
    mean = prediction.predict_next_frames(model, params, v, key, 1,
                                          num_chains=4)
    chex.assert_shape(mean, (3, 4, 6))
    greedy, _ = prediction.exact_next_frames(model, params, v, key, greedy=True)
    self.assertTrue(bool(jnp.all((greedy == 0) | (greedy == 1))))
    with self.assertRaisesRegex(ValueError, "no exact frame sampler"):
      prediction.exact_next_frames(registry.get_model("rnnrbm"), params, v, key)

  def test_the_greedy_rule_predicts_the_greedy_frame_and_rbm_rules_are_refused(
      self):
    model = registry.get_model("rnnnade", num_recurrent=4)
    params = _random_model(8, 6, 4, 4)
    v = helpers.random_binary(jax.random.key(9), (3, 5, 6))
    greedy = prediction.predict_next_frames(model, params, v, jax.random.key(1),
                                            1, num_chains=3, rule="greedy")
    np.testing.assert_array_equal(greedy, prediction.exact_next_frames(
        model, params, v, jax.random.key(2), greedy=True)[0])
    self.assertEqual(prediction.rules_for(model), ("gibbs", "greedy"))
    self.assertIn("exact sample", prediction.protocol(model, "gibbs"))
    for rule in ("mean_field", "annealed", "lowest_free_energy"):
      with self.assertRaisesRegex(
          ValueError, rf"^rule='{rule}' is not accepted for model kind "
          r"'rnnnade' \(its frames are exact\): one of \('gibbs', 'greedy'\)"):
        prediction.predict_next_frames(model, params, v, jax.random.key(1), 1,
                                       rule=rule)
    with self.assertRaisesRegex(ValueError, "its frames are RBMs"):
      prediction.predict_next_frames(registry.get_model("rtrbm"),
                                     registry.get_model("rtrbm").init_params(
                                         jax.random.key(0), 6, 4),
                                     v, jax.random.key(1), 1, rule="greedy")

  def test_the_greedy_frame_is_the_mode_where_the_units_are_independent(self):
    # With no hidden-to-visible weights a NADE's units are independent, so the
    # greedy frame is the exact mode of the frame: every unit on where its bias
    # is positive.
    model = registry.get_model("rnnnade", num_recurrent=4)
    params = _random_model(8, 6, 4, 4)._replace(
        w_hv=jnp.zeros((4, 6)), w_uv=jnp.zeros((4, 6)))
    v = helpers.random_binary(jax.random.key(9), (2, 4, 6))
    greedy = prediction.predict_next_frames(model, params, v, jax.random.key(1),
                                            1, rule="greedy")
    expected = jnp.broadcast_to(params.b_v > 0, greedy.shape)
    np.testing.assert_array_equal(greedy, expected.astype(greedy.dtype))


class TrainingTest(absltest.TestCase):

  def test_a_music_run_trains_evaluates_exactly_and_resumes_bit_identically(self):
    config, _ = helpers.small_music_config(
        self.create_tempdir().full_path, num_pieces=5, notes_per_frame=2,
        lowest_note=60, num_notes=6, lengths=(10, 16), num_hidden=12)
    config.model.kind = "rnnnade"
    config.model.num_recurrent = 5
    config.pretrain.num_steps = 0
    config.train.num_steps = 40  # checkpoints at 20 and 40
    config.eval.every = 20
    config.eval.num_sequences = 5
    config.eval.select_by = "log_likelihood"
    finished = self.create_tempdir().full_path
    first = loop.train_and_evaluate(config, finished)
    workdir = os.path.join(self.create_tempdir().full_path, "run")
    shutil.copytree(finished, workdir)
    shutil.rmtree(os.path.join(workdir, "checkpoints", "40"))
    os.remove(os.path.join(workdir, "params.npz"))
    second = loop.train_and_evaluate(config, workdir)
    jax.tree.map(np.testing.assert_array_equal, first, second)
    results = evaluate.evaluate_workdir(finished, num_gibbs_steps=5,
                                        chain_lengths=(1, 5))
    log_likelihood = results["log_likelihood_per_frame"]
    self.assertEqual(log_likelihood["method"], "exact")
    self.assertEqual(log_likelihood["ais_standard_error_of_mean"], 0.0)
    self.assertNotIn("num_temperatures", log_likelihood)
    self.assertLess(log_likelihood["mean"], 0)
    self.assertBetween(results["frame_accuracy"], 0.0, 1.0)
    greedy = evaluate.evaluate_workdir(finished, chain_lengths=(),
                                       prediction_rule="greedy",
                                       log_likelihood="none")
    self.assertEqual(greedy["next_frame_error"]["prediction_rule"], "greedy")
    self.assertIn("above 1/2", greedy["next_frame_error"]["protocol"])
    with self.assertRaisesRegex(ValueError, "^prediction_rule='annealed' is not "
                                "accepted for model kind 'rnnnade'"):
      evaluate.evaluate_workdir(finished, prediction_rule="annealed")
    config.eval.prediction_rule = "lowest_free_energy"
    with self.assertRaisesRegex(ValueError, "eval.prediction_rule"):
      loop.train_and_evaluate(config, self.create_tempdir().full_path)

  def test_pretraining_is_refused_for_frames_that_are_not_rbms(self):
    config, _ = helpers.small_music_config(
        self.create_tempdir().full_path, num_pieces=3, notes_per_frame=2,
        lowest_note=60, num_notes=6, lengths=(10, 16), num_hidden=4)
    config.model.kind = "rnnnade"
    with self.assertRaisesRegex(ValueError, "pretrain.num_steps.*not RBMs"):
      loop.train_and_evaluate(config, self.create_tempdir().full_path)


if __name__ == "__main__":
  absltest.main()
