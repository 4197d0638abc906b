"""Tests of the RTRBM core: forward scan, reverse scan, CD-k and exact mode."""

import functools
import itertools

from absl.testing import absltest
from absl.testing import parameterized
import chex
import jax
import jax.numpy as jnp
import numpy as np

import rtrbm_jax as rj
from rtrbm_jax.evaluation import likelihood
from rtrbm_jax.models import rbm
from tests import helpers


# The RTRBM's functions with only its parts bound (`helpers.RTRBM`).
RTRBM = helpers.RTRBM


def _random_model(seed, num_visible, num_hidden, scale=0.5, dtype=jnp.float32):
  params = rj.rtrbm.init_params(jax.random.key(seed), num_visible, num_hidden)
  return helpers.randomize(params, jax.random.key(seed + 1), scale, dtype)


def _surrogate_loss(params, v, negative_visible):
  """Free-energy difference between the data and fixed CD samples, per sequence.

  Its gradient is the CD gradient with the chain's samples held fixed: the data term
  and the negative term both depend on the parameters through c_t, so `jax.grad`
  backpropagates through the forward scan exactly as the reverse scan should.
  """
  c, _ = rj.rtrbm.forward_scan(params, v)
  rows = c.reshape(-1, c.shape[-1])
  data = rbm.free_energy(params.w_vh, params.b_v, rows, v.reshape(rows.shape[0], -1))
  negative = rbm.free_energy(params.w_vh, params.b_v, rows,
                             jax.lax.stop_gradient(negative_visible))
  return jnp.sum(data - negative) / v.shape[0]


class ForwardScanTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_forward_scan_matches_the_recursion_written_as_a_loop(self):
    params = _random_model(0, 6, 4)
    v = jax.random.uniform(jax.random.key(2), (3, 5, 6))
    c, r = self.variant(rj.rtrbm.forward_scan)(params, v)
    chex.assert_shape([c, r], (3, 5, 4))
    bias = jnp.broadcast_to(params.b_init, (3, 4))
    for t in range(5):
      state = jax.nn.sigmoid(v[:, t] @ params.w_vh + bias)
      np.testing.assert_allclose(c[:, t], bias, rtol=1e-6, atol=1e-6)
      np.testing.assert_allclose(r[:, t], state, rtol=1e-6, atol=1e-6)
      bias = params.b_h + state @ params.w_hh


class ReverseScanTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(
      dict(batch_size=1, num_frames=1, num_visible=5, num_hidden=3),
      dict(batch_size=3, num_frames=1, num_visible=4, num_hidden=6),
      dict(batch_size=1, num_frames=7, num_visible=6, num_hidden=4),
      dict(batch_size=4, num_frames=5, num_visible=10, num_hidden=8),
      dict(batch_size=2, num_frames=20, num_visible=30, num_hidden=16),
  )
  def test_reverse_scan_matches_autodiff_of_surrogate(self, batch_size, num_frames,
                                                      num_visible, num_hidden):
    params = _random_model(batch_size + num_frames, num_visible, num_hidden)
    v = jax.random.uniform(jax.random.key(7), (batch_size, num_frames, num_visible))
    c, r = rj.rtrbm.forward_scan(params, v)
    rows = c.reshape(-1, num_hidden)
    chain = rbm.gibbs_chain(jax.random.key(8), params.w_vh, params.b_v, rows,
                            r.reshape(-1, num_hidden), 3)
    negative = rbm.data_statistics(chain.visible_sample, chain.hidden_probabilities)

    @self.variant
    def both_gradients(params, v, negative_visible):
      _, r = rj.rtrbm.forward_scan(params, v)
      hand_written = rj.rtrbm.gradient_from_statistics(params, v, r, negative)
      reference = jax.grad(_surrogate_loss)(params, v, negative_visible)
      return hand_written, reference

    hand_written, reference = both_gradients(params, v, chain.visible_sample)
    chex.assert_trees_all_equal_shapes(hand_written, params)
    error = helpers.relative_error(hand_written, reference)
    print(f"reverse scan vs surrogate autodiff, B={batch_size} T={num_frames} "
          f"nv={num_visible} nh={num_hidden}: relative error {error:.2e}")
    self.assertLess(error, 1e-5)

  @chex.variants(with_jit=True, without_jit=True)
  def test_cd_gradient_is_the_reverse_scan_applied_to_its_own_chain(self):
    params = _random_model(3, 8, 5)
    v = jax.random.uniform(jax.random.key(4), (3, 6, 8))
    key = jax.random.key(5)
    grads, aux = self.variant(RTRBM.cd_gradient, static_argnums=3)(params, v, key, 2)
    c, r = rj.rtrbm.forward_scan(params, v)
    chain = rbm.gibbs_chain(key, params.w_vh, params.b_v, c.reshape(-1, 5),
                            r.reshape(-1, 5), 2)
    reference = jax.grad(_surrogate_loss)(params, v, chain.visible_sample)
    self.assertLess(helpers.relative_error(grads, reference), 1e-5)
    chex.assert_shape([aux.reconstruction_error, aux.free_energy_gap], ())
    expected_error = jnp.mean(jnp.sum(
        jnp.square(v.reshape(-1, 8) - chain.visible_mean), axis=-1))
    np.testing.assert_allclose(aux.reconstruction_error, expected_error, rtol=1e-5)

  @chex.variants(with_jit=True, without_jit=True)
  def test_cd_gradient_accepts_a_traced_number_of_gibbs_steps(self):
    params = _random_model(3, 8, 5)
    v = jax.random.uniform(jax.random.key(4), (2, 3, 8))
    key = jax.random.key(5)
    static, _ = self.variant(RTRBM.cd_gradient, static_argnums=3)(params, v, key, 4)
    traced, _ = jax.jit(RTRBM.cd_gradient)(params, v, key, jnp.int32(4))
    chex.assert_trees_all_close(static, traced, rtol=1e-5, atol=1e-7)

  @chex.variants(with_jit=True, without_jit=True)
  def test_cd_gradient_vmaps_over_a_stack_of_models(self):
    models = [_random_model(seed, 6, 4) for seed in (10, 20, 30)]
    stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), *models)
    v = jax.random.uniform(jax.random.key(4), (2, 3, 6))
    key = jax.random.key(5)
    batched, _ = self.variant(
        jax.vmap(RTRBM.cd_gradient, in_axes=(0, None, None, None)),
        static_argnums=3)(stacked, v, key, 2)
    single_gradient = self.variant(RTRBM.cd_gradient, static_argnums=3)
    for index, params in enumerate(models):
      single, _ = single_gradient(params, v, key, 2)
      chex.assert_trees_all_close(jax.tree.map(lambda x: x[index], batched), single,
                                  rtol=1e-5, atol=1e-6)

  @chex.variants(with_jit=True, without_jit=True)
  def test_fused_threefry_sampler_gives_the_same_gradient_as_uniform(self):
    params = _random_model(3, 8, 5)
    v = jax.random.uniform(jax.random.key(4), (2, 3, 8))
    fused, _ = self.variant(functools.partial(RTRBM.cd_gradient,
                                              sampler="fused_threefry"),
                            static_argnums=3)(params, v, jax.random.key(1), 2)
    uniform, _ = RTRBM.cd_gradient(params, v, jax.random.key(1), 2)
    chex.assert_trees_all_close(fused, uniform, rtol=1e-6, atol=1e-7)


class ChainStartTest(chex.TestCase):
  """Where the negative chains start: data (CD), prediction, persistent (PCD)."""

  @chex.variants(with_jit=True, without_jit=True)
  def test_prediction_chains_start_from_the_frames_hidden_bias(self):
    params = _random_model(3, 8, 5)
    v = jax.random.uniform(jax.random.key(4), (3, 6, 8))
    key = jax.random.key(5)
    grads, aux = self.variant(functools.partial(RTRBM.cd_gradient,
                                                chain_start="prediction"),
                              static_argnums=3)(params, v, key, 2)
    c, _ = rj.rtrbm.forward_scan(params, v)
    rows = c.reshape(-1, 5)
    chain = rbm.gibbs_chain(key, params.w_vh, params.b_v, rows,
                            jax.nn.sigmoid(rows), 2)
    reference = jax.grad(_surrogate_loss)(params, v, chain.visible_sample)
    self.assertLess(helpers.relative_error(grads, reference), 1e-5)
    np.testing.assert_array_equal(aux.chain_visible, chain.visible_sample)

  @chex.variants(with_jit=True, without_jit=True)
  def test_persistent_chains_at_the_data_are_contrastive_divergence(self):
    params = _random_model(3, 8, 5)
    v = helpers.random_binary(jax.random.key(4), (3, 6, 8))
    key = jax.random.key(5)
    persistent, persistent_aux = self.variant(
        functools.partial(RTRBM.cd_gradient, chain_start="persistent"),
        static_argnums=3)(params, v, key, 2, persistent_visible=v.reshape(-1, 8))
    contrastive, contrastive_aux = RTRBM.cd_gradient(params, v, key, 2)
    chex.assert_trees_all_close(persistent, contrastive, rtol=1e-5, atol=1e-6)
    chex.assert_shape(persistent_aux.chain_visible, (18, 8))
    np.testing.assert_array_equal(persistent_aux.chain_visible,
                                  contrastive_aux.chain_visible)

  @chex.variants(with_jit=True, without_jit=True)
  def test_persistent_chains_go_on_from_the_given_states(self):
    params = _random_model(3, 8, 5)
    v = helpers.random_binary(jax.random.key(4), (2, 3, 8))
    key = jax.random.key(5)
    states = helpers.random_binary(jax.random.key(6), (6, 8))
    grads, _ = self.variant(functools.partial(RTRBM.cd_gradient,
                                              chain_start="persistent"),
                            static_argnums=3)(params, v, key, 3,
                                              persistent_visible=states)
    c, _ = rj.rtrbm.forward_scan(params, v)
    rows = c.reshape(-1, 5)
    chain = rbm.gibbs_chain(key, params.w_vh, params.b_v, rows,
                            rbm.hidden_probabilities(params.w_vh, rows, states), 3)
    reference = jax.grad(_surrogate_loss)(params, v, chain.visible_sample)
    self.assertLess(helpers.relative_error(grads, reference), 1e-5)

  def test_bad_chain_starts_are_named(self):
    params = _random_model(3, 8, 5)
    v = helpers.random_binary(jax.random.key(4), (2, 3, 8))
    with self.assertRaisesRegex(ValueError, "chain_start must be one of"):
      RTRBM.cd_gradient(params, v, jax.random.key(0), 2, chain_start="model")
    with self.assertRaisesRegex(ValueError, "needs persistent_visible"):
      RTRBM.cd_gradient(params, v, jax.random.key(0), 2, chain_start="persistent")


class ExactTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(
      dict(num_visible=3, num_hidden=2, num_frames=3),   # sums over hidden states
      dict(num_visible=2, num_hidden=4, num_frames=3),   # sums over visible states
      dict(num_visible=2, num_hidden=2, num_frames=1),
  )
  def test_exact_log_likelihood_normalises_over_all_binary_sequences(
      self, num_visible, num_hidden, num_frames):
    params = _random_model(0, num_visible, num_hidden, scale=1.0)
    sequences = jnp.asarray(list(itertools.product(
        [0.0, 1.0], repeat=num_visible * num_frames))).reshape(
            -1, num_frames, num_visible)
    log_likelihood = self.variant(RTRBM.exact_log_likelihood)(params, sequences)
    chex.assert_shape(log_likelihood, (2 ** (num_visible * num_frames),))
    total = float(jnp.sum(jnp.exp(log_likelihood)))
    self.assertAlmostEqual(total, 1.0, places=5)

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(
      dict(batch_size=2, num_frames=4, num_visible=5, num_hidden=3),
      dict(batch_size=3, num_frames=3, num_visible=3, num_hidden=5),
      dict(batch_size=1, num_frames=1, num_visible=4, num_hidden=4),
  )
  def test_exact_gradient_matches_autodiff_of_exact_log_likelihood_in_float64(
      self, batch_size, num_frames, num_visible, num_hidden):
    with helpers.float64():
      params = _random_model(1, num_visible, num_hidden, scale=0.8,
                             dtype=jnp.float64)
      v = helpers.random_binary(jax.random.key(2),
                                (batch_size, num_frames, num_visible), jnp.float64)
      loss = lambda params: -jnp.mean(RTRBM.exact_log_likelihood(params, v))
      hand_written = self.variant(RTRBM.exact_gradient)(params, v)
      reference = jax.grad(loss)(params)
      chex.assert_trees_all_equal_dtypes(hand_written, params)
      error = helpers.relative_error(hand_written, reference)
      print(f"exact gradient vs autodiff (float64): relative error {error:.2e}")
      self.assertLess(error, 1e-8)

  @chex.variants(with_jit=True, without_jit=True)
  def test_exact_gradient_matches_central_finite_differences_in_float64(self):
    with helpers.float64():
      params = _random_model(3, 4, 3, scale=0.8, dtype=jnp.float64)
      v = helpers.random_binary(jax.random.key(4), (2, 4, 4), jnp.float64)
      loss = jax.jit(lambda params: -jnp.mean(RTRBM.exact_log_likelihood(params, v)))
      numerical = helpers.central_differences(loss, params)
      error = helpers.relative_error(self.variant(RTRBM.exact_gradient)(params, v),
                                     numerical)
      print(f"exact gradient vs central differences (float64): relative error "
            f"{error:.2e}")
      self.assertLess(error, 1e-7)

  @chex.variants(with_jit=True, without_jit=True)
  def test_cd_with_long_chains_approaches_the_exact_gradient(self):
    """CD-k is biased by O(mixing after k steps) and noisy by O(1/sqrt(chains)).

    A tiny model mixes within a few steps, so with k = 30 the bias is negligible and
    the averaged CD gradient must agree with the exact one to within 5 standard
    errors of the mean (estimated from 16 independent replicates of 4096 chains each),
    for every parameter entry, plus an absolute 2e-3 for float32 round-off.
    """
    params = _random_model(5, 4, 3, scale=0.5)
    v = helpers.random_binary(jax.random.key(6), (1, 4, 4))
    exact = RTRBM.exact_gradient(params, v)
    copies = jnp.broadcast_to(v, (4096,) + v.shape[1:])

    # One vmapped call runs the 16 replicates: the same keys, so the same chains,
    # and the scans are traced once, not once per replicate, when not jitted.
    @self.variant
    @jax.vmap
    def replicate(key):
      return RTRBM.cd_gradient(params, copies, key, 30)[0]

    stacked = replicate(jax.random.split(jax.random.key(7), 16))
    mean = jax.tree.map(lambda x: jnp.mean(x, axis=0), stacked)
    standard_error = jax.tree.map(lambda x: jnp.std(x, axis=0, ddof=1) / 4.0,
                                  stacked)
    deviation = jax.tree.map(lambda m, e, s: jnp.max(jnp.abs(m - e) / (s + 1e-12)),
                             mean, exact, standard_error)
    print("CD-30 vs exact gradient: relative error "
          f"{helpers.relative_error(mean, exact):.2e}, max deviation in standard "
          f"errors per field {jax.tree.map(float, deviation)}")
    for m, e, s in zip(jax.tree.leaves(mean), jax.tree.leaves(exact),
                       jax.tree.leaves(standard_error)):
      np.testing.assert_array_less(jnp.abs(m - e), 5 * s + 2e-3)


class BadInputTest(parameterized.TestCase):

  def setUp(self):
    super().setUp()
    self.params = _random_model(0, 4, 3)
    self.v = helpers.random_binary(jax.random.key(1), (2, 3, 4))
    self.key = jax.random.key(2)

  @parameterized.named_parameters(
      ("rank", np.zeros((3, 4)), "shape"),
      ("width", np.zeros((2, 3, 5)), "num_visible=4"),
      ("empty_batch", np.zeros((0, 3, 4)), "at least one sequence"),
      ("empty_time", np.zeros((2, 0, 4)), "at least one sequence and one frame"),
      ("above_one", np.full((2, 3, 4), 1.5), r"\[0, 1\]"),
      ("negative", np.full((2, 3, 4), -0.5), r"\[0, 1\]"),
      ("nan", np.where(np.eye(4)[None, :3] > 0, np.nan, 0.0) * np.ones((2, 1, 1)),
       "NaN"),
  )
  def test_cd_gradient_rejects_bad_frames(self, v, message):
    with self.assertRaisesRegex(ValueError, message):
      RTRBM.cd_gradient(self.params, jnp.asarray(v, jnp.float32), self.key, 1)

  @parameterized.parameters(0, -1, 2.5, 10**10)
  def test_cd_gradient_rejects_bad_num_gibbs_steps(self, num_gibbs_steps):
    with self.assertRaisesRegex(ValueError,
                                r"num_gibbs_steps must be an integer in \[1, "):
      RTRBM.cd_gradient(self.params, self.v, self.key, num_gibbs_steps)

  def test_exact_functions_reject_non_binary_data(self):
    soft = jnp.full((2, 3, 4), 0.5)
    for function in (RTRBM.exact_log_likelihood, RTRBM.exact_gradient):
      with self.assertRaisesRegex(ValueError, "must be binary"):
        function(self.params, soft)

  def test_exact_functions_reject_nan(self):
    bad = self.v.at[1, 2, 3].set(jnp.nan)
    with self.assertRaisesRegex(ValueError, r"NaN or inf \(first at index \(1, 2, 3\)"):
      RTRBM.exact_log_likelihood(self.params, bad)

  def test_exact_functions_reject_a_model_too_large_to_enumerate(self):
    too_large = rj.rtrbm.init_params(jax.random.key(0), 30, 25)
    v = jnp.zeros((1, 2, 30))
    for function in (RTRBM.exact_log_likelihood, RTRBM.exact_gradient):
      with self.assertRaisesRegex(ValueError, "at most 20 units"):
        function(too_large, v)

  @parameterized.named_parameters(
      ("empty", 0, 3, 0.01, "num_visible must be an integer >= 1, got 0"),
      ("fraction", 4, 2.5, 0.01, "num_hidden must be an integer >= 1, got 2.5"),
      ("nan_scale", 4, 3, float("nan"), "weight_scale must be a finite number"),
      ("inf_scale", 4, 3, float("inf"), "weight_scale must be a finite number"),
  )
  def test_init_params_rejects_bad_sizes_and_scales(self, num_visible, num_hidden,
                                                    weight_scale, message):
    with self.assertRaisesRegex(ValueError, message):
      rj.rtrbm.init_params(self.key, num_visible, num_hidden, weight_scale)

  @parameterized.named_parameters(
      ("w_hh", "w_hh", (2, 2), r"params.w_hh has shape \[2, 2\], expected \[3, 3\]"),
      ("b_h", "b_h", (4,), r"params.b_h has shape \[4\], expected \[3\]"),
      ("b_v", "b_v", (3,), r"params.b_v has shape \[3\], expected \[4\]"),
      ("b_init", "b_init", (3, 1), r"params.b_init has shape \[3, 1\], expected"),
      ("w_vh", "w_vh", (4,), r"params.w_vh must be a matrix, got shape \[4\]"),
  )
  def test_every_public_function_names_a_parameter_of_the_wrong_shape(
      self, field, shape, message):
    params = self.params._replace(**{field: jnp.zeros(shape)})
    calls = {
        "forward_scan": lambda: rj.rtrbm.forward_scan(params, self.v),
        "cd_gradient": lambda: RTRBM.cd_gradient(params, self.v, self.key, 1),
        "exact_gradient": lambda: RTRBM.exact_gradient(params, self.v),
        "exact_log_likelihood": lambda: RTRBM.exact_log_likelihood(params, self.v),
        "sequence_log_likelihoods": lambda: likelihood.sequence_log_likelihoods(
            rj.get_model("rtrbm"), params, self.v, self.key, 3, 2, method="ais"),
        "generate": lambda: RTRBM.generate(params, self.key, self.v, 2, 1),
        "frame_rbms": lambda: RTRBM.frame_rbms(params, self.v),
    }
    for name, call in calls.items():
      with self.subTest(name), self.assertRaisesRegex(ValueError, message):
        call()

  def test_parameters_holding_nan_are_reported(self):
    params = self.params._replace(w_hh=self.params.w_hh.at[1, 2].set(jnp.nan))
    with self.assertRaisesRegex(ValueError, r"params.w_hh contains NaN or inf "
                                r"\(first at index \(1, 2\)\)"):
      RTRBM.cd_gradient(params, self.v, self.key, 1)

  @parameterized.named_parameters(
      ("width", np.zeros((2, 3, 5)), "num_visible=4"),
      ("above_one", np.full((2, 3, 4), 1.5), r"\[0, 1\]"),
      ("nan", np.full((2, 3, 4), np.nan), "NaN"),
  )
  def test_forward_scan_checks_its_frames(self, v, message):
    with self.assertRaisesRegex(ValueError, message):
      rj.rtrbm.forward_scan(self.params, jnp.asarray(v, jnp.float32))

  def test_reverse_scan_names_mismatched_shapes(self):
    r = jnp.zeros((2, 3, 3))
    with self.assertRaisesRegex(ValueError, r"bias_gradient has shape \[2, 3, 4\]"):
      rj.rtrbm.reverse_scan(self.params.w_hh, r, jnp.zeros((2, 3, 4)))
    with self.assertRaisesRegex(ValueError, r"r has shape \[2, 3, 5\]"):
      rj.rtrbm.reverse_scan(self.params.w_hh, jnp.zeros((2, 3, 5)), r)

  def test_generate_rejects_bad_lengths_and_gibbs_steps(self):
    with self.assertRaisesRegex(ValueError, "num_frames must be an integer >= 1"):
      RTRBM.generate(self.params, self.key, self.v, -3, 1)
    with self.assertRaisesRegex(ValueError, "num_gibbs_steps must be an integer"):
      RTRBM.generate(self.params, self.key, self.v, 2, 0)

  def test_a_traced_num_gibbs_steps_is_not_checked(self):
    # Documented: under jit a traced k has no value to check; a k < 1 then runs
    # one Gibbs step (with other random numbers than k = 1). Entry points check
    # k while it is still a number.
    run = jax.jit(lambda k: RTRBM.cd_gradient(self.params, self.v, self.key, k)[0])
    chex.assert_tree_all_finite(run(0))

  def test_bad_sampler_is_named(self):
    with self.assertRaisesRegex(ValueError, "sampler must be one of"):
      RTRBM.cd_gradient(self.params, self.v, self.key, 1, sampler="fast")


if __name__ == "__main__":
  absltest.main()
