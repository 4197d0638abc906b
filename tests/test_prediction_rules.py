"""Tests of the mode-seeking prediction rules ("annealed", "lowest_free_energy"):
their chains, their choice, and that on a tiny model whose conditional mode is
known by enumeration they find it."""

from absl.testing import absltest
import chex
import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax.evaluation import mode_seeking
from rtrbm_jax.evaluation import prediction
from rtrbm_jax.models import rbm
from rtrbm_jax.models import registry
from rtrbm_jax.training import programs
from rtrbm_jax.training import schema
from tests import helpers

_PREDICT = jax.jit(prediction.predict_next_frames, static_argnums=(0, 4, 5, 6))


def _tiny_model(visible_type="binary", weight_scale=1.0):
  """An RTRBM of 6 visible and 4 hidden units, its weights scaled by
  `weight_scale` (above 1: sharper conditionals)."""
  model = registry.get_model("rtrbm", visible_type)
  params = helpers.randomize(model.init_params(jax.random.key(0), 6, 4),
                             jax.random.key(1), 0.8)
  return model, params._replace(w_vh=params.w_vh * weight_scale)


def _rows(model, params, v):
  """(w_vh, visible bias, hidden bias [N, nh], previous frames [N, nv]) of the
  RBMs of frames 2..T, N = B (T - 1)."""
  frames = model.frame_rbms(params, v)
  hidden_bias = frames.hidden_bias[:, 1:].reshape(-1, frames.hidden_bias.shape[-1])
  return (frames.w_vh, frames.visible_bias, hidden_bias,
          v[:, :-1].reshape(-1, v.shape[-1]))


class AnnealedRuleTest(chex.TestCase):
  """`mode_seeking.annealed_chain` and `predict_next_frames(rule="annealed")`."""

  def test_the_temperature_falls_geometrically_from_one_to_the_final(self):
    temperatures = np.asarray([mode_seeking.temperature(step, 5)
                               for step in range(5)])
    np.testing.assert_allclose(temperatures[[0, -1]],
                               [1.0, mode_seeking.FINAL_TEMPERATURE], rtol=1e-6)
    ratios = temperatures[1:] / temperatures[:-1]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-5)
    self.assertLess(ratios[0], 1.0)
    # One step is the papers' one step, at T = 1.
    self.assertEqual(float(mode_seeking.temperature(0, 1)), 1.0)

  @chex.variants(with_jit=True, without_jit=True)
  def test_at_temperature_one_it_is_the_gibbs_chain(self):
    for visible_type in ("binary", "gaussian"):
      model, params = _tiny_model(visible_type)
      v = helpers.random_binary(jax.random.key(2), (3, 5, 6))
      w_vh, visible_bias, hidden_bias, _ = _rows(model, params, v)
      start = jax.nn.sigmoid(hidden_bias)
      key = jax.random.key(3)
      annealed = self.variant(mode_seeking.annealed_chain,
                              static_argnums=(5, 6, 7, 8))(
                                  key, w_vh, visible_bias, hidden_bias, start, 7,
                                  visible_type, "uniform", 1.0)
      gibbs = rbm.gibbs_chain(key, w_vh, visible_bias, hidden_bias, start, 7,
                              visible_type)
      np.testing.assert_allclose(annealed, gibbs.visible_mean, rtol=1e-6,
                                 atol=1e-6)

  def test_the_rule_runs_the_annealed_chain_in_each_frames_rbm(self):
    model, params = _tiny_model()
    v = helpers.random_binary(jax.random.key(2), (3, 5, 6))
    key = jax.random.key(4)
    got = _PREDICT(model, params, v, key, 20, 1, "annealed")
    w_vh, visible_bias, hidden_bias, _ = _rows(model, params, v)
    expected = mode_seeking.annealed_chain(key, w_vh, visible_bias, hidden_bias,
                                           jax.nn.sigmoid(hidden_bias), 20)
    chex.assert_shape(got, (3, 4, 6))
    np.testing.assert_allclose(got.reshape(-1, 6), expected, rtol=1e-6, atol=1e-6)
    # At T = 0.05 the last visible mean is all but a frame.
    self.assertGreater(float(jnp.mean(jnp.abs(got - 0.5))), 0.45)


class LowestFreeEnergyRuleTest(chex.TestCase):
  """`predict_next_frames(rule="lowest_free_energy")`."""

  @chex.variants(with_jit=True, without_jit=True)
  def test_it_picks_the_likelier_of_the_previous_frame_and_the_chains_end(self):
    model, params = _tiny_model()
    v = helpers.random_binary(jax.random.key(2), (4, 6, 6))
    key = jax.random.key(5)
    got = self.variant(prediction.predict_next_frames,
                       static_argnums=(0, 4, 5, 6))(
                           model, params, v, key, 10, 1,
                           "lowest_free_energy").reshape(-1, 6)
    w_vh, visible_bias, hidden_bias, previous = _rows(model, params, v)
    chain_end = mode_seeking.chain_end_state(jax.random.split(key, 1)[0], w_vh,
                                             visible_bias, hidden_bias, 10)
    energy = lambda frame: rbm.free_energy(w_vh, visible_bias, hidden_bias, frame)
    expected = jnp.where((energy(chain_end) < energy(previous))[:, None],
                         chain_end, previous)
    np.testing.assert_array_equal(got, expected)
    # Both kinds of choice happen here, so the test tells them apart.
    self.assertTrue(bool(jnp.any(jnp.all(got == previous, axis=1))))
    self.assertTrue(bool(jnp.any(jnp.any(got != previous, axis=1))))

  def test_it_never_returns_a_frame_less_likely_than_the_previous_one(self):
    for visible_type, num_chains in (("binary", 1), ("binary", 6),
                                     ("gaussian", 3)):
      model, params = _tiny_model(visible_type)
      v = helpers.random_binary(jax.random.key(2), (4, 6, 6))
      got = _PREDICT(model, params, v, jax.random.key(6), 10, num_chains,
                     "lowest_free_energy").reshape(-1, 6)
      w_vh, visible_bias, hidden_bias, previous = _rows(model, params, v)
      energy = lambda frame, kind=visible_type: rbm.free_energy(
          w_vh, visible_bias, hidden_bias, frame, kind)
      self.assertTrue(bool(jnp.all(energy(got) <= energy(previous))),
                      (visible_type, num_chains))
      if visible_type == "binary":
        np.testing.assert_array_equal(got * (1 - got), 0)  # frames, not means

  def test_with_several_chains_it_picks_the_likeliest_candidate(self):
    model, params = _tiny_model()
    v = helpers.random_binary(jax.random.key(2), (4, 6, 6))
    key = jax.random.key(7)
    got = _PREDICT(model, params, v, key, 10, 5,
                   "lowest_free_energy").reshape(-1, 6)
    w_vh, visible_bias, hidden_bias, previous = _rows(model, params, v)
    candidates = jnp.stack([previous] + [
        mode_seeking.chain_end_state(chain_key, w_vh, visible_bias, hidden_bias,
                                     10)
        for chain_key in jax.random.split(key, 5)])  # [6, N, nv]
    energies = jax.vmap(lambda frame: rbm.free_energy(
        w_vh, visible_bias, hidden_bias, frame))(candidates)  # [6, N]
    expected = candidates[jnp.argmin(energies, axis=0),
                          jnp.arange(previous.shape[0])]
    np.testing.assert_array_equal(got, expected)


class LocalSearchTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_each_flip_is_the_best_single_flip_until_none_lowers_the_energy(self):
    model, params = _tiny_model(weight_scale=2.0)
    v = helpers.random_binary(jax.random.key(2), (4, 6, 6))
    w_vh, visible_bias, hidden_bias, previous = _rows(model, params, v)
    got = self.variant(mode_seeking.local_search, static_argnums=(4,))(
        w_vh, visible_bias, hidden_bias, previous, 6)
    chex.assert_shape(got, previous.shape)

    def energy(frames):
      return np.asarray(rbm.free_energy(w_vh, visible_bias, hidden_bias, frames))

    # The same search by a Python loop over rows, flips and units in numpy.
    expected = np.asarray(previous).copy()
    for row in range(expected.shape[0]):
      for _ in range(6):
        frame = expected[row]
        neighbours = np.abs(frame[None] - np.eye(6, dtype=frame.dtype))
        row_energy = lambda frames, row=row: np.asarray(rbm.free_energy(
            w_vh, visible_bias, jnp.broadcast_to(hidden_bias[row],
                                                 (frames.shape[0], 4)), frames))
        flips = row_energy(neighbours)
        if flips.min() >= row_energy(frame[None])[0]:
          break
        expected[row] = neighbours[np.argmin(flips)]
    np.testing.assert_array_equal(got, expected)
    self.assertTrue(np.all(energy(got) <= energy(previous)))
    self.assertTrue(bool(jnp.any(jnp.any(got != previous, axis=1))))

  def test_one_flip_at_most_moves_each_row_by_one_unit(self):
    model, params = _tiny_model(weight_scale=2.0)
    v = helpers.random_binary(jax.random.key(3), (4, 6, 6))
    w_vh, visible_bias, hidden_bias, previous = _rows(model, params, v)
    got = mode_seeking.local_search(w_vh, visible_bias, hidden_bias, previous, 1)
    self.assertTrue(bool(jnp.all(jnp.sum(jnp.abs(got - previous), axis=1) <= 1)))

  def test_the_rule_is_deterministic_and_refused_for_real_valued_units(self):
    model, params = _tiny_model()
    v = helpers.random_binary(jax.random.key(2), (3, 5, 6))
    one = _PREDICT(model, params, v, jax.random.key(1), 20, 1, "local_search")
    several = _PREDICT(model, params, v, jax.random.key(5), 20, 4, "local_search")
    np.testing.assert_array_equal(one, several)
    gaussian, gaussian_params = _tiny_model("gaussian")
    self.assertNotIn("local_search", prediction.rules_for(gaussian))
    with self.assertRaisesRegex(ValueError, "gaussian units"):
      prediction.predict_next_frames(gaussian, gaussian_params, v,
                                     jax.random.key(1), 5, rule="local_search")
    config = helpers.small_config()
    config.model.visible_type = "gaussian"
    config.eval.prediction_rule = "local_search"
    with self.assertRaisesRegex(ValueError, "^config.eval.prediction_rule="
                                "'local_search' is not accepted"):
      schema.validate_config(config)


class ExactModeTest(absltest.TestCase):
  """On a tiny RTRBM with sharp frames the mode of each frame's conditional
  P(v_t | v_1..v_{t-1}), found by enumerating its 2^6 frames, is what the
  mode-seeking rules predict; the papers' chain finds it far less often."""

  def test_the_mode_seeking_rules_find_the_exact_conditional_mode(self):
    model, params = _tiny_model(weight_scale=2.0)
    v = helpers.random_binary(jax.random.key(2), (4, 11, 6))
    w_vh, visible_bias, hidden_bias, _ = _rows(model, params, v)
    states = jnp.asarray(rbm.binary_states(6))
    # [N, 64] free energy of every frame in every row's RBM: the mode is its
    # argmin (P(v) = exp(-F(v)) / Z, Z the same for all of a row's frames).
    energies = jax.vmap(lambda state: rbm.free_energy(
        w_vh, visible_bias, hidden_bias,
        jnp.broadcast_to(state, (hidden_bias.shape[0], 6))), out_axes=1)(states)
    mode = np.asarray(states[jnp.argmin(energies, axis=1)])
    probability = jax.nn.softmax(-energies, axis=1).max(axis=1)
    # Peaked, but a chain's sample is still often another frame.
    self.assertTrue(bool(jnp.all((probability > 0.15) & (probability < 0.5))))

    def hits(rule, num_gibbs_steps, num_chains):
      predicted = _PREDICT(model, params, v, jax.random.key(8), num_gibbs_steps,
                           num_chains, rule).reshape(-1, 6)
      return int(np.all((np.asarray(predicted) > 0.5) == mode, axis=1).sum())

    num_frames = mode.shape[0]  # 40
    # Measured with this seed (and 4 others): annealed 39-40 of 40, lowest
    # free energy 40, the papers' chain 13-16; the local search from the
    # previous frame (a local mode only) 40 with this seed and 4 others.
    self.assertGreaterEqual(hits("annealed", 200, 1), num_frames - 4)
    self.assertGreaterEqual(hits("local_search", 50, 1), num_frames - 1)
    self.assertGreaterEqual(hits("lowest_free_energy", 50, 64), num_frames - 1)
    self.assertLess(hits("gibbs", 50, 1), num_frames - 10)


class RulesTest(absltest.TestCase):

  def test_every_rule_states_its_protocol(self):
    self.assertEqual(set(prediction.PROTOCOLS), set(prediction.PREDICTION_RULES))
    for rule in prediction.PREDICTION_RULES:
      self.assertIn("10", prediction.chains_protocol(rule, 10))

  def test_the_schema_accepts_the_rules_and_training_evaluates_with_them(self):
    config = helpers.small_config()
    model = registry.get_model("rtrbm")
    params = helpers.randomize(model.init_params(jax.random.key(0), 36, 16),
                               jax.random.key(1), 0.8)
    frames = helpers.random_binary(jax.random.key(2), (3, 5, 36))
    key = jax.random.key(4)
    for rule in ("annealed", "lowest_free_energy"):
      config.eval.prediction_rule = rule
      schema.validate_config(config)
      figures = programs._figures_program(  # pylint: disable=protected-access
          config, model, "video", frames, False, False)(params, frames, key)
      expected = prediction.prediction_error(prediction.predict_next_frames(
          model, params, frames, key, config.eval.num_gibbs_steps, rule=rule),
                                             frames)
      np.testing.assert_allclose(figures["next_frame_error"]["mean"],
                                 expected.mean, rtol=1e-5)
    config.eval.prediction_rule = "mode"
    with self.assertRaisesRegex(ValueError, "prediction_rule"):
      schema.validate_config(config)


if __name__ == "__main__":
  absltest.main()
