"""Tests of annealed importance sampling against exact enumeration on tiny models:
`ais.log_partition`, and the sequence log-likelihoods built on it in
`evaluation.likelihood`.

Tolerance. AIS's error over M chains is approximately normal with the reported
standard error (delta method), so an estimate is accepted when it lies within
4 standard errors of the exact value: a normal deviate beyond 4 has probability
6e-5, and with 1000 temperatures the weights are light-tailed enough for the
normal approximation (measured over 40 seeds of each case here: |error| / standard
error at most 3.7). Seeds are fixed, so the tests are deterministic.
"""

import functools
import json
import os

from absl.testing import absltest
from absl.testing import parameterized
import chex
import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax.evaluation import likelihood
from rtrbm_jax.models import ais
from rtrbm_jax.models import rbm
from rtrbm_jax.models import registry
from rtrbm_jax.runs import evaluate
from rtrbm_jax.training import loop
from tests import helpers

# The kinds whose frames are RBMs (Gaussian units, AIS); NADE frames are exact.
_RBM_KINDS = tuple(kind for kind in registry.MODEL_KINDS
                   if registry.get_model(kind).frame_rbms is not None)

NUM_STANDARD_ERRORS = 4.0
AIS_ARGNAMES = ("num_temperatures", "num_chains", "visible_type", "sampler")
# Static arguments of `likelihood.sequence_log_likelihoods` besides the model.
SEQUENCE_ARGNAMES = ("num_temperatures", "num_chains", "method")
# The long runs draw their Bernoulli samples with "fused_threefry": for a threefry
# key the very samples of the default "uniform", but XLA compiles it ~4x faster on
# CPU, and compilation, not running 1000 temperatures, is most of this file's time.
# One agreement test keeps the default sampler.
FAST_SAMPLER = "fused_threefry"


def ais_log_likelihood(params, v, key, num_temperatures, num_chains,
                       visible_type=rbm.BINARY, sampler="uniform"):
  """log P(v_1..T) of each sequence under an RTRBM, by AIS, as the library
  computes it for any model (`likelihood.sequence_log_likelihoods`)."""
  model = registry.get_model("rtrbm", visible_type, sampler)
  return likelihood.sequence_log_likelihoods(model, params, v, key,
                                             num_temperatures, num_chains,
                                             method="ais")


# Test data comes from numpy: on CPU every eager `jax.random` call of a new shape
# compiles its own Threefry, which costs more than the data is worth here.
def _normal(rng, scale, *shape):
  return jnp.asarray(scale * rng.standard_normal(shape), jnp.float32)


def _random_params(seed, num_visible, num_hidden, scale, kind="rtrbm"):
  """Parameters of a model of `kind` with every entry scale * N(0, 1)."""
  init_params = functools.partial(registry.get_model(kind).init_params,
                                  num_visible=num_visible, num_hidden=num_hidden)
  shapes = jax.eval_shape(init_params, jax.random.key(0))
  rng = np.random.default_rng(seed)
  return jax.tree.map(lambda leaf: _normal(rng, scale, *leaf.shape), shapes)


def _random_family(seed, num_visible, num_hidden, num_rows, scale,
                   visible_bias_per_row=False):
  """A shared `w_vh`, visible biases `[nv]` or `[N, nv]`, hidden biases `[N, nh]`."""
  rng = np.random.default_rng(seed)
  visible_shape = (num_rows, num_visible) if visible_bias_per_row else (num_visible,)
  return (_normal(rng, scale, num_visible, num_hidden),
          _normal(rng, scale, *visible_shape),
          _normal(rng, scale, num_rows, num_hidden))


def _random_frames(seed, shape, visible_type):
  rng = np.random.default_rng(seed)
  if visible_type == rbm.BINARY:
    return jnp.asarray(rng.integers(0, 2, shape), jnp.float32)
  return _normal(rng, 1.0, *shape)


class LogPartitionTest(chex.TestCase):

  # Row counts and sizes match `LogLikelihoodTest` (N = B * T rows) where they can,
  # so that the two share compilations.
  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.named_parameters(
      ("binary", 10, 8, 8, 1.0, rbm.BINARY, False, FAST_SAMPLER),
      ("binary_more_hidden_per_row_visible_bias", 6, 12, 6, 1.0, rbm.BINARY, True,
       "uniform"),
      ("gaussian", 5, 6, 10, 0.5, rbm.GAUSSIAN, False, FAST_SAMPLER),
  )
  def test_log_partition_agrees_with_enumeration_within_four_standard_errors(
      self, num_visible, num_hidden, num_rows, scale, visible_type,
      visible_bias_per_row, sampler):
    w_vh, visible_bias, hidden_bias = _random_family(
        0, num_visible, num_hidden, num_rows, scale, visible_bias_per_row)
    log_z, standard_error = self.variant(
        ais.log_partition, static_argnames=AIS_ARGNAMES)(
            jax.random.key(1), w_vh, visible_bias, hidden_bias,
            num_temperatures=1000, num_chains=64, visible_type=visible_type,
            sampler=sampler)
    exact = rbm.exact_log_partition(w_vh, visible_bias, hidden_bias, visible_type)
    chex.assert_shape([log_z, standard_error], (num_rows,))
    chex.assert_tree_all_finite((log_z, standard_error))
    error = jnp.abs(log_z - exact)
    print(f"log Z {visible_type} nv={num_visible} nh={num_hidden}, 1000 "
          f"temperatures, 64 chains: mean |AIS - exact| {float(jnp.mean(error)):.4f}, "
          f"mean standard error {float(jnp.mean(standard_error)):.4f}")
    np.testing.assert_array_less(error, NUM_STANDARD_ERRORS * standard_error)

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(rbm.BINARY, rbm.GAUSSIAN)
  def test_zero_weights_make_ais_exact_with_zero_error(self, visible_type):
    # With no weights the model is the base model: every importance weight is 1.
    _, visible_bias, hidden_bias = _random_family(2, 5, 4, 6, 1.0)
    w_vh = jnp.zeros((5, 4))
    log_z, standard_error = self.variant(
        ais.log_partition, static_argnames=AIS_ARGNAMES)(
            jax.random.key(3), w_vh, visible_bias, hidden_bias,
            num_temperatures=10, num_chains=4, visible_type=visible_type,
            sampler=FAST_SAMPLER)
    exact = rbm.exact_log_partition(w_vh, visible_bias, hidden_bias, visible_type)
    np.testing.assert_allclose(log_z, exact, rtol=1e-6)
    np.testing.assert_array_equal(standard_error, 0.0)

  @chex.variants(with_jit=True, without_jit=True)
  def test_errors_shrink_as_temperatures_grow_and_standard_errors_are_calibrated(
      self):
    """Error ~ 1/sqrt(K) for K temperatures: a factor ~3 per decade of K.

    Averaged over 64 rows with the same 32 chains each, the mean |AIS - exact|
    and the mean reported standard error must both shrink by more than 2 per
    decade. Where the weights are light-tailed (K >= 100), the errors measured
    in reported standard errors must have a root mean square near 1 (measured
    0.83 to 1.29 over 30 seeds): the error bars are neither too narrow nor too
    wide.
    """
    w_vh, visible_bias, hidden_bias = _random_family(4, 10, 8, 64, 1.0)
    exact = rbm.exact_log_partition(w_vh, visible_bias, hidden_bias)
    mean_errors, mean_standard_errors = [], []
    log_partition = self.variant(ais.log_partition, static_argnames=AIS_ARGNAMES)
    for num_temperatures in (10, 100, 1000):
      log_z, standard_error = log_partition(
          jax.random.key(5), w_vh, visible_bias, hidden_bias,
          num_temperatures=num_temperatures, num_chains=32, sampler=FAST_SAMPLER)
      error = log_z - exact
      mean_errors.append(float(jnp.mean(jnp.abs(error))))
      mean_standard_errors.append(float(jnp.mean(standard_error)))
      rms_deviation = float(jnp.sqrt(jnp.mean(jnp.square(error / standard_error))))
      print(f"{num_temperatures} temperatures, 32 chains, 64 rows: mean |AIS - "
            f"exact| {mean_errors[-1]:.4f}, mean standard error "
            f"{mean_standard_errors[-1]:.4f}, rms of error / standard error "
            f"{rms_deviation:.2f}")
      if num_temperatures >= 100:
        self.assertBetween(rms_deviation, 0.7, 1.4)
    for fewer, more in zip(mean_errors, mean_errors[1:]):
      self.assertLess(more, fewer / 2)
    for fewer, more in zip(mean_standard_errors, mean_standard_errors[1:]):
      self.assertLess(more, fewer / 2)


class LogLikelihoodTest(chex.TestCase):

  # Sizes as in `LogPartitionTest` (N = B * T rows), to share its compilations.
  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(
      dict(num_visible=10, num_hidden=8, num_frames=4, scale=1.0,
           visible_type=rbm.BINARY),
      dict(num_visible=5, num_hidden=6, num_frames=5, scale=0.5,
           visible_type=rbm.GAUSSIAN),
  )
  def test_ais_log_likelihood_agrees_with_exact_within_four_standard_errors(
      self, num_visible, num_hidden, num_frames, scale, visible_type):
    params = _random_params(num_visible, num_visible, num_hidden, scale)
    v = _random_frames(2, (2, num_frames, num_visible), visible_type)
    log_likelihood, standard_error = self.variant(
        ais_log_likelihood, static_argnames=AIS_ARGNAMES)(
            params, v, jax.random.key(3), num_temperatures=1000, num_chains=64,
            visible_type=visible_type, sampler=FAST_SAMPLER)
    exact = helpers.RTRBM.exact_log_likelihood(params, v, visible_type)
    chex.assert_shape([log_likelihood, standard_error], (2,))
    print(f"log-likelihood {visible_type} nv={num_visible} nh={num_hidden} "
          f"T={num_frames}: AIS {log_likelihood} +- {standard_error}, exact {exact}")
    np.testing.assert_array_less(jnp.abs(log_likelihood - exact),
                                 NUM_STANDARD_ERRORS * standard_error)

  @chex.variants(with_jit=True, without_jit=True)
  def test_sequence_estimate_sums_frame_estimates_and_root_sums_their_squares(self):
    params = _random_params(6, 5, 4, 0.5)
    v = _random_frames(7, (2, 3, 5), rbm.BINARY)
    key = jax.random.key(8)
    log_likelihood, standard_error = self.variant(
        ais_log_likelihood, static_argnames=AIS_ARGNAMES)(
            params, v, key, num_temperatures=10, num_chains=4,
            sampler=FAST_SAMPLER)
    frames = helpers.RTRBM.frame_rbms(params, v)
    visible_bias, hidden_bias = frames.row_biases()
    log_z, log_z_error = ais.log_partition(key, params.w_vh, visible_bias,
                                           hidden_bias, 10, 4,
                                           sampler=FAST_SAMPLER)
    log_probability = -rbm.free_energy(params.w_vh, visible_bias, hidden_bias,
                                       v.reshape(-1, 5)) - log_z
    np.testing.assert_allclose(
        log_likelihood, jnp.sum(log_probability.reshape(2, 3), axis=1), rtol=1e-5)
    np.testing.assert_allclose(
        standard_error,
        jnp.sqrt(jnp.sum(jnp.square(log_z_error.reshape(2, 3)), axis=1)),
        rtol=1e-5)

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(*_RBM_KINDS)
  def test_sequence_log_likelihood_by_ais_agrees_with_each_kinds_exact_one(
      self, kind):
    model = registry.get_model(kind, sampler=FAST_SAMPLER)
    params = _random_params(12, 10, 8, 1.0, kind)
    v = _random_frames(13, (2, 4, 10), rbm.BINARY)
    log_likelihood, standard_error = self.variant(
        likelihood.sequence_log_likelihoods, static_argnums=0,
        static_argnames=SEQUENCE_ARGNAMES)(
            model, params, v, jax.random.key(14), num_temperatures=1000,
            num_chains=64, method="ais")
    exact = model.exact_log_likelihood(params, v)
    print(f"{kind} log-likelihood, binary nv=10 nh=8 T=4: AIS {log_likelihood} +- "
          f"{standard_error}, exact {exact}")
    np.testing.assert_array_less(jnp.abs(log_likelihood - exact),
                                 NUM_STANDARD_ERRORS * standard_error)


def _exact_mean_logits(w_vh, visible_bias, hidden_bias):
  """logit of each row's exact mean activity `[N, nv]`, by enumeration."""
  states = jnp.asarray(rbm.binary_states(w_vh.shape[0]), jnp.float32)
  negative_free_energy = -jax.vmap(
      lambda c: rbm.free_energy(w_vh, visible_bias, c, states))(hidden_bias)
  mean = jnp.clip(jax.nn.softmax(negative_free_energy, -1) @ states, 1e-4,
                  1 - 1e-4)
  return jnp.log(mean) - jnp.log1p(-mean)


class BaseRatePathTest(parameterized.TestCase):

  def test_base_rate_path_converges_to_exact_log_z_on_a_sharp_model(self):
    # Weights 3 N(0, 1) on 10 x 8 units. Measured with this seed: mean |error|
    # 0.006 from the rows' exact base rates and 0.01 from their pooled one.
    w_vh, visible_bias, hidden_bias = _random_family(20, 10, 8, 16, 3.0)
    exact = rbm.exact_log_partition(w_vh, visible_bias, hidden_bias)
    logits = _exact_mean_logits(w_vh, visible_bias, hidden_bias)
    pooled = likelihood.base_rate_logits(jax.nn.sigmoid(logits))
    for base in (logits, pooled):
      log_z, standard_error = ais.log_partition(
          jax.random.key(21), w_vh, visible_bias, hidden_bias, 1000, 32,
          sampler=FAST_SAMPLER, path=ais.BASE_RATE, base_visible_bias=base)
      error = np.abs(np.asarray(log_z - exact))
      print(f"base-rate path, scale 3: mean |AIS - exact| {error.mean():.4f}, "
            f"max {error.max():.4f}, mean standard error "
            f"{float(jnp.mean(standard_error)):.4f}")
      self.assertLess(error.mean(), 0.05)
      self.assertLess(error.max(), 0.25)

  @parameterized.parameters(rbm.BINARY, rbm.GAUSSIAN)
  def test_base_rate_path_is_exact_when_the_base_is_the_model(self, visible_type):
    # No weights and no hidden biases: every importance weight is 1.
    _, visible_bias, _ = _random_family(22, 5, 4, 6, 1.0)
    w_vh, hidden_bias = jnp.zeros((5, 4)), jnp.zeros((6, 4))
    log_z, standard_error = ais.log_partition(
        jax.random.key(23), w_vh, visible_bias, hidden_bias, 10, 4,
        visible_type, FAST_SAMPLER, path=ais.BASE_RATE)
    exact = rbm.exact_log_partition(w_vh, visible_bias, hidden_bias, visible_type)
    np.testing.assert_allclose(log_z, exact, rtol=1e-6)
    np.testing.assert_array_equal(standard_error, 0.0)

  def test_bad_path_and_base_are_named(self):
    w_vh, visible_bias, hidden_bias = _random_family(0, 4, 3, 2, 1.0)
    key = jax.random.key(0)
    with self.assertRaisesRegex(ValueError, "path must be one of"):
      ais.log_partition(key, w_vh, visible_bias, hidden_bias, 10, 4, path="bias")
    with self.assertRaisesRegex(ValueError, "base-rate path of binary units"):
      ais.log_partition(key, w_vh, visible_bias, hidden_bias, 10, 4,
                        base_visible_bias=visible_bias)
    with self.assertRaisesRegex(ValueError, r"base_visible_bias must have shape"):
      ais.log_partition(key, w_vh, visible_bias, hidden_bias, 10, 4,
                        path=ais.BASE_RATE, base_visible_bias=jnp.zeros(5))


class BoundTest(parameterized.TestCase):

  @parameterized.parameters(ais.WEIGHTS, ais.BASE_RATE)
  def test_bound_is_below_exact_log_z_and_above_the_visited_frame(self, path):
    w_vh, visible_bias, hidden_bias = _random_family(24, 12, 10, 32, 4.0)
    frames = _random_frames(25, (32, 12), rbm.BINARY)
    exact = rbm.exact_log_partition(w_vh, visible_bias, hidden_bias)
    estimate = ais.log_partition_with_bound(
        jax.random.key(26), w_vh, visible_bias, hidden_bias, 100, 16,
        sampler=FAST_SAMPLER, path=path, visited=frames)
    chex.assert_shape(estimate, (32,))
    gap = np.asarray(exact - estimate.lower_bound)
    print(f"{path}: exact log Z - bound: mean {gap.mean():.3f}, min {gap.min():.2e}")
    np.testing.assert_array_less(-1e-4, gap)
    # The frame itself is one of the states summed.
    np.testing.assert_array_less(
        -rbm.free_energy(w_vh, visible_bias, hidden_bias, frames) - 1e-4,
        estimate.lower_bound)

  def test_bound_counts_each_distinct_state_once(self):
    w_vh, visible_bias, hidden_bias = _random_family(27, 3, 4, 5, 1.0)
    every_state = jnp.asarray(rbm.binary_states(3), jnp.float32)  # [8, 3]
    # Every state, each twice, shuffled differently in each row: exactly log Z.
    rng = np.random.default_rng(28)
    states = jnp.stack([jnp.concatenate([every_state, every_state])[
        rng.permutation(16)] for _ in range(5)], axis=1)  # [16, 5, 3]
    np.testing.assert_allclose(
        ais.visited_states_bound(w_vh, visible_bias, hidden_bias, states),
        rbm.exact_log_partition(w_vh, visible_bias, hidden_bias), rtol=1e-6)
    # One state, many times: -F of that state.
    one = jnp.broadcast_to(every_state[5], (7, 5, 3))
    np.testing.assert_allclose(
        ais.visited_states_bound(w_vh, visible_bias, hidden_bias, one),
        -rbm.free_energy(w_vh, visible_bias, hidden_bias, one[0]), rtol=1e-6)
    self.assertTrue(np.all(np.isneginf(ais.visited_states_bound(
        w_vh, visible_bias, hidden_bias, one, rbm.GAUSSIAN))))

  def test_bound_is_exact_log_z_when_the_chains_visit_every_state(self):
    # 3 weakly coupled units: 64 chains end in all 8 states (with this seed).
    w_vh, visible_bias, hidden_bias = _random_family(29, 3, 4, 5, 0.3)
    estimate = ais.log_partition_with_bound(
        jax.random.key(30), w_vh, visible_bias, hidden_bias, 10, 64,
        sampler=FAST_SAMPLER)
    np.testing.assert_allclose(
        estimate.lower_bound,
        rbm.exact_log_partition(w_vh, visible_bias, hidden_bias), rtol=1e-6)

  def test_row_likelihoods_carry_their_upper_bound(self):
    model = registry.get_model("rtrbm", sampler=FAST_SAMPLER)
    w_vh, visible_bias, hidden_bias = _random_family(31, 10, 8, 8, 3.0)
    frames = _random_frames(32, (8, 10), rbm.BINARY)
    exact = likelihood.row_log_likelihoods(
        model, w_vh, visible_bias, hidden_bias, frames, jax.random.key(33), 10, 4,
        "exact")
    np.testing.assert_array_equal(exact.upper_bound, exact.per_frame)
    for path in ais.PATHS:
      estimate = likelihood.row_log_likelihoods(
          model, w_vh, visible_bias, hidden_bias, frames, jax.random.key(33), 100,
          16, "ais", path)
      chex.assert_shape(estimate.upper_bound, (8,))
      np.testing.assert_array_less(exact.per_frame, estimate.upper_bound + 1e-4)


class SuspectTest(absltest.TestCase):

  def test_flags_an_estimate_above_zero_and_above_its_bound(self):
    per_frame = np.array([[-3.0, 0.5, -1.0], [-2.0, -1.0, 9.0]])
    upper_bound = np.array([[-2.0, 1.0, -1.5], [-1.0, -0.5, 0.0]])
    mask = np.array([[True, True, True], [True, True, False]])
    flags = likelihood.suspect_reasons(per_frame, upper_bound, mask, rbm.BINARY)
    self.assertEqual(flags["frames_above_zero"], 1)
    self.assertEqual(flags["frames_above_upper_bound"], 1)
    self.assertLen(flags["suspect"], 2)
    self.assertIn("1 of 5 frames have a log-likelihood above 0",
                  flags["suspect"][0])
    self.assertIn("1 of 5 frames have an estimate above their upper bound",
                  flags["suspect"][1])
    # Log densities may be positive.
    gaussian = likelihood.suspect_reasons(per_frame, upper_bound + 1, mask,
                                          rbm.GAUSSIAN)
    self.assertEqual(gaussian, {"frames_above_zero": None,
                                "frames_above_upper_bound": 0, "suspect": []})

  def test_a_sound_figure_is_not_suspect(self):
    per_frame = np.array([-3.0, -1.0])
    flags = likelihood.suspect_reasons(per_frame, per_frame, None, rbm.BINARY)
    self.assertEqual(flags, {"frames_above_zero": 0,
                             "frames_above_upper_bound": 0, "suspect": []})

  def test_the_eval_json_reports_the_bound_and_the_suspicion(self):
    config, _ = helpers.small_music_config(
        self.create_tempdir().full_path, num_pieces=4, notes_per_frame=2,
        lowest_note=60, num_notes=6, lengths=(10, 14), num_hidden=8)
    config.eval.num_sequences = 4
    workdir = self.create_tempdir().full_path
    loop.train_and_evaluate(config, workdir)
    for method, path in (("exact", ais.WEIGHTS), ("ais", ais.BASE_RATE)):
      evaluate.evaluate_workdir(workdir, num_gibbs_steps=2, chain_lengths=(),
                                log_likelihood=method, num_temperatures=20,
                                num_chains=4, ais_path=path)
      with open(os.path.join(workdir, "eval_test.json")) as f:
        figure = json.load(f)["log_likelihood_per_frame"]
      self.assertEqual(figure["method"], method)
      self.assertIsInstance(figure["suspect"], list)
      self.assertEqual(len(figure["suspect"]) > 0,
                       figure["frames_above_zero"] + figure[
                           "frames_above_upper_bound"] > 0)
      if method == "exact":
        self.assertAlmostEqual(figure["upper_bound"], figure["mean"], places=5)
        self.assertEqual(figure["suspect"], [])
      else:
        self.assertEqual(figure["ais_path"], ais.BASE_RATE)
        self.assertLess(figure["upper_bound"], 0)


class BadInputTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.params = _random_params(0, 4, 3, 0.5)
    self.v = _random_frames(1, (2, 3, 4), rbm.BINARY)
    self.key = jax.random.key(2)

  @parameterized.parameters(1, 0, -5, 2.5, True, None)
  def test_bad_num_temperatures_is_named(self, num_temperatures):
    with self.assertRaisesRegex(ValueError, "num_temperatures must be a Python int "
                                ">= 2"):
      ais_log_likelihood(self.params, self.v, self.key, num_temperatures, 4)

  @parameterized.parameters(1, 0, 3.0)
  def test_bad_num_chains_is_named(self, num_chains):
    with self.assertRaisesRegex(ValueError, "num_chains must be a Python int >= 2"):
      ais_log_likelihood(self.params, self.v, self.key, 10, num_chains)

  def test_traced_counts_are_rejected_with_a_hint_to_mark_them_static(self):
    with self.assertRaisesRegex(ValueError, "static_argnames"):
      jax.jit(ais_log_likelihood)(self.params, self.v, self.key, 10, 4)

  @parameterized.named_parameters(
      ("rank", np.zeros((3, 4)), "shape"),
      ("width", np.zeros((2, 3, 5)), "num_visible=4"),
      ("empty_time", np.zeros((2, 0, 4)), "at least one sequence and one frame"),
      ("not_binary", np.full((2, 3, 4), 0.5), "must be binary"),
      ("nan", np.full((2, 3, 4), np.nan), "NaN"),
  )
  def test_bad_frames_are_rejected(self, v, message):
    with self.assertRaisesRegex(ValueError, message):
      ais_log_likelihood(self.params, jnp.asarray(v, jnp.float32), self.key,
                            10, 4)

  def test_bad_visible_type_and_sampler_are_named(self):
    with self.assertRaisesRegex(ValueError, "visible_type must be one of"):
      ais_log_likelihood(self.params, self.v, self.key, 10, 4, "bernoulli")
    with self.assertRaisesRegex(ValueError, "sampler must be one of"):
      ais_log_likelihood(self.params, self.v, self.key, 10, 4, sampler="fast")

  @parameterized.named_parameters(
      ("weights_rank", np.zeros(4), np.zeros(4), np.zeros((2, 3)), "w_vh"),
      ("hidden_bias_rank", np.zeros((4, 3)), np.zeros(4), np.zeros(3),
       r"hidden_bias must have shape \[N, 3\]"),
      ("hidden_bias_width", np.zeros((4, 3)), np.zeros(4), np.zeros((2, 5)),
       r"hidden_bias must have shape \[N, 3\]"),
      ("visible_bias_rows", np.zeros((4, 3)), np.zeros((5, 4)),
       np.zeros((2, 3)), r"visible_bias must have shape \[4\] or \[2, 4\]"),
  )
  def test_log_partition_rejects_mismatched_shapes(self, w_vh, visible_bias,
                                                   hidden_bias, message):
    with self.assertRaisesRegex(ValueError, message):
      ais.log_partition(self.key, w_vh, visible_bias, hidden_bias, 10, 4)


if __name__ == "__main__":
  absltest.main()
