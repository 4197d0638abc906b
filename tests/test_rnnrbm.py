"""Tests of the RNN-RBM: forward scan, reverse scan, CD-k, exact mode, model bundle."""

import functools
import itertools

from absl.testing import absltest
from absl.testing import parameterized
import chex
import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax.evaluation import prediction
from rtrbm_jax.models import rbm
from rtrbm_jax.models import registry
from rtrbm_jax.models import rnnrbm
from rtrbm_jax.models import temporal
from tests import helpers


# The RNN-RBM's functions with only its parts bound (`helpers.RNNRBM`).
RNNRBM = helpers.RNNRBM


def _random_model(seed, num_visible, num_hidden, num_recurrent=None, scale=0.5,
                  dtype=jnp.float32):
  params = rnnrbm.init_params(jax.random.key(seed), num_visible, num_hidden,
                              num_recurrent=num_recurrent)
  return helpers.randomize(params, jax.random.key(seed + 1), scale, dtype)


def _random_frames(key, shape, visible_type, dtype=jnp.float32):
  if visible_type == rbm.GAUSSIAN:
    return jax.random.normal(key, shape, dtype)
  return jax.random.uniform(key, shape, dtype)


def _surrogate_loss(params, v, negative_visible, visible_type):
  """Free-energy difference between the data and fixed CD samples, per sequence.

  Its gradient is the CD gradient with the chain's samples held fixed: both terms
  depend on the parameters through the frame biases, so `jax.grad` backpropagates
  through the RNN exactly as the reverse scan should.
  """
  visible_bias, hidden_bias, _ = rnnrbm.forward_scan(params, v)
  visible_rows = temporal.rows(visible_bias)
  hidden_rows = temporal.rows(hidden_bias)

  def free_energy(x):
    return rbm.free_energy(params.w_vh, visible_rows, hidden_rows, x, visible_type)

  return jnp.sum(free_energy(temporal.rows(v))
                 - free_energy(jax.lax.stop_gradient(negative_visible))) / v.shape[0]


# The reference gradients are jitted in every variant: eager autodiff of a scan is
# slow and is not what the tests check.
_surrogate_gradient = jax.jit(jax.grad(_surrogate_loss), static_argnums=3)


@functools.partial(jax.jit, static_argnums=(3, 4))
def _chain(params, v, key, num_gibbs_steps, visible_type):
  """The CD chain that `cd_gradient` runs, rebuilt from the public pieces."""
  frames = RNNRBM.frame_rbms(params, v)
  visible_rows, hidden_rows = frames.row_biases()
  data_hidden = rbm.hidden_probabilities(params.w_vh, hidden_rows, temporal.rows(v))
  return rbm.gibbs_chain(key, params.w_vh, visible_rows, hidden_rows, data_hidden,
                         num_gibbs_steps, visible_type)


class ForwardScanTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_forward_scan_matches_the_recursion_written_as_a_loop(self):
    params = _random_model(0, 6, 4, num_recurrent=5)
    v = jax.random.uniform(jax.random.key(2), (3, 5, 6))
    visible_bias, hidden_bias, u = self.variant(rnnrbm.forward_scan)(params, v)
    chex.assert_shape(visible_bias, (3, 5, 6))
    chex.assert_shape(hidden_bias, (3, 5, 4))
    chex.assert_shape(u, (3, 5, 5))
    state = jnp.broadcast_to(params.u_0, (3, 5))
    for t in range(5):
      np.testing.assert_allclose(visible_bias[:, t], params.b_v + state @ params.w_uv,
                                 rtol=1e-5, atol=1e-6)
      np.testing.assert_allclose(hidden_bias[:, t], params.b_h + state @ params.w_uh,
                                 rtol=1e-5, atol=1e-6)
      state = jnp.tanh(params.b_u + state @ params.w_uu + v[:, t] @ params.w_vu)
      np.testing.assert_allclose(u[:, t], state, rtol=1e-5, atol=1e-6)


class ReverseScanTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(
      dict(batch_size=1, num_frames=1, num_visible=5, num_hidden=3,
           num_recurrent=4, visible_type=rbm.BINARY),
      dict(batch_size=2, num_frames=20, num_visible=30, num_hidden=16,
           num_recurrent=None, visible_type=rbm.BINARY),
      dict(batch_size=3, num_frames=7, num_visible=6, num_hidden=4,
           num_recurrent=9, visible_type=rbm.GAUSSIAN),
  )
  def test_reverse_scan_matches_autodiff_of_surrogate(
      self, batch_size, num_frames, num_visible, num_hidden, num_recurrent,
      visible_type):
    params = _random_model(batch_size + num_frames, num_visible, num_hidden,
                           num_recurrent)
    v = _random_frames(jax.random.key(7), (batch_size, num_frames, num_visible),
                       visible_type)
    chain = _chain(params, v, jax.random.key(8), 3, visible_type)
    negative = rbm.data_statistics(chain.visible_sample, chain.hidden_probabilities)

    @self.variant
    def hand_written_gradient(params, v):
      _, hidden_bias, u = rnnrbm.forward_scan(params, v, visible_type)
      data_hidden = rbm.hidden_probabilities(params.w_vh, hidden_bias, v)
      return rnnrbm.gradient_from_statistics(params, v, u, data_hidden, negative)

    hand_written = hand_written_gradient(params, v)
    reference = _surrogate_gradient(params, v, chain.visible_sample, visible_type)
    chex.assert_trees_all_equal_shapes(hand_written, params)
    error = helpers.relative_error(hand_written, reference)
    print(f"RNN-RBM reverse scan vs surrogate autodiff ({visible_type}), "
          f"B={batch_size} T={num_frames} nv={num_visible} nh={num_hidden} "
          f"nr={num_recurrent}: relative error {error:.2e}")
    self.assertLess(error, 1e-5)

  @chex.variants(with_jit=True, without_jit=True)
  def test_cd_gradient_is_the_reverse_scan_applied_to_its_own_chain(self):
    params = _random_model(3, 8, 5, num_recurrent=6)
    v = jax.random.uniform(jax.random.key(4), (3, 6, 8))
    key = jax.random.key(5)
    grads, aux = self.variant(RNNRBM.cd_gradient, static_argnums=3)(params, v, key, 2)
    chain = _chain(params, v, key, 2, rbm.BINARY)
    reference = _surrogate_gradient(params, v, chain.visible_sample, rbm.BINARY)
    self.assertLess(helpers.relative_error(grads, reference), 1e-5)
    expected_error = jnp.mean(jnp.sum(
        jnp.square(v.reshape(-1, 8) - chain.visible_mean), axis=-1))
    np.testing.assert_allclose(aux.reconstruction_error, expected_error, rtol=1e-5)
    chex.assert_shape(aux.free_energy_gap, ())


class ExactTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(
      dict(num_visible=3, num_hidden=2, num_frames=3),   # sums over hidden states
      dict(num_visible=2, num_hidden=4, num_frames=3),   # sums over visible states
  )
  def test_exact_log_likelihood_normalises_over_all_binary_sequences(
      self, num_visible, num_hidden, num_frames):
    params = _random_model(0, num_visible, num_hidden, num_recurrent=3, scale=1.0)
    sequences = jnp.asarray(list(itertools.product(
        [0.0, 1.0], repeat=num_visible * num_frames))).reshape(
            -1, num_frames, num_visible)
    log_likelihood = self.variant(RNNRBM.exact_log_likelihood)(params, sequences)
    chex.assert_shape(log_likelihood, (2 ** (num_visible * num_frames),))
    self.assertAlmostEqual(float(jnp.sum(jnp.exp(log_likelihood))), 1.0, places=5)

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(
      dict(batch_size=2, num_frames=4, num_visible=5, num_hidden=3,
           visible_type=rbm.BINARY),
      dict(batch_size=3, num_frames=3, num_visible=3, num_hidden=5,
           visible_type=rbm.BINARY),
      dict(batch_size=2, num_frames=4, num_visible=3, num_hidden=4,
           visible_type=rbm.GAUSSIAN),
  )
  def test_exact_gradient_matches_autodiff_of_exact_log_likelihood_in_float64(
      self, batch_size, num_frames, num_visible, num_hidden, visible_type):
    with helpers.float64():
      params = _random_model(1, num_visible, num_hidden, num_recurrent=6, scale=0.8,
                             dtype=jnp.float64)
      shape = (batch_size, num_frames, num_visible)
      if visible_type == rbm.GAUSSIAN:
        v = jax.random.normal(jax.random.key(2), shape, jnp.float64)
      else:
        v = helpers.random_binary(jax.random.key(2), shape, jnp.float64)
      loss = lambda params: -jnp.mean(
          RNNRBM.exact_log_likelihood(params, v, visible_type))
      hand_written = self.variant(RNNRBM.exact_gradient, static_argnums=2)(
          params, v, visible_type)
      reference = jax.jit(jax.grad(loss))(params)
      chex.assert_trees_all_equal_dtypes(hand_written, params)
      error = helpers.relative_error(hand_written, reference)
      print(f"RNN-RBM exact gradient vs autodiff ({visible_type}, float64): "
            f"relative error {error:.2e}")
      self.assertLess(error, 1e-8)


class ModelBundleTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_num_recurrent_is_bound_into_init_params(self):
    model = registry.get_model("rnnrbm", num_recurrent=7)
    params = self.variant(model.init_params, static_argnums=(1, 2, 3))(
        jax.random.key(0), 5, 3, 0.01)
    chex.assert_shape([params.w_uu, params.w_vu, params.w_uv, params.w_uh,
                       params.b_u, params.u_0], [(7, 7), (5, 7), (7, 5), (7, 3),
                                                 (7,), (7,)])
    default = registry.get_model("rnnrbm").init_params(jax.random.key(0), 5, 3, 0.01)
    chex.assert_shape(default.w_uu, (3, 3))

  @parameterized.named_parameters(
      ("w_uv", "w_uv", (7, 4), r"params.w_uv has shape \[7, 4\], expected \[7, 5\]"),
      ("u_0", "u_0", (3,), r"params.u_0 has shape \[3\], expected \[7\]"),
      ("b_h", "b_h", (4,), r"params.b_h has shape \[4\], expected \[3\]"),
  )
  def test_every_public_function_names_a_parameter_of_the_wrong_shape(
      self, field, shape, message):
    model = registry.get_model("rnnrbm", num_recurrent=7)
    params = model.init_params(jax.random.key(0), 5, 3, 0.01)
    params = params._replace(**{field: jnp.zeros(shape)})
    v = jnp.zeros((2, 4, 5))
    key = jax.random.key(1)
    calls = {
        "forward_scan": lambda: rnnrbm.forward_scan(params, v),
        "cd_gradient": lambda: model.cd_gradient(params, v, key, 1),
        "exact_gradient": lambda: model.exact_gradient(params, v),
        "exact_log_likelihood": lambda: model.exact_log_likelihood(params, v),
        "generate": lambda: model.generate(params, key, v, 2, 1),
        "next_frame_error": lambda: prediction.next_frame_prediction_error(
            model, params, v, key, 1),
    }
    for name, call in calls.items():
      with self.subTest(name), self.assertRaisesRegex(ValueError, message):
        call()

  @parameterized.parameters(0, -1, 10**10)
  def test_prediction_rejects_bad_num_gibbs_steps(self, num_gibbs_steps):
    model = registry.get_model("rnnrbm")
    params = model.init_params(jax.random.key(0), 5, 3, 0.01)
    with self.assertRaisesRegex(ValueError, "num_gibbs_steps must be an integer"):
      prediction.predict_next_frames(model, params, jnp.zeros((2, 4, 5)),
                                     jax.random.key(1), num_gibbs_steps)

  def test_rtrbm_rejects_num_recurrent(self):
    with self.assertRaisesRegex(ValueError, "num_recurrent does not apply to "
                                "model kind 'rtrbm'"):
      registry.get_model("rtrbm", num_recurrent=4)

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(rbm.BINARY, rbm.GAUSSIAN)
  def test_next_frame_prediction_and_generation_run_through_the_bundle(
      self, visible_type):
    model = registry.get_model("rnnrbm", visible_type=visible_type, num_recurrent=6)
    params = helpers.randomize(model.init_params(jax.random.key(0), 8, 5, 0.01),
                               jax.random.key(1), 0.3)
    v = _random_frames(jax.random.key(2), (3, 6, 8), visible_type)
    error = self.variant(prediction.next_frame_prediction_error,
                         static_argnums=(0, 4))(model, params, v,
                                                jax.random.key(3), 5)
    chex.assert_shape(error.per_frame, (3, 5))
    chex.assert_tree_all_finite(error)
    frames = self.variant(model.frame_rbms)(params, v)
    chex.assert_shape([frames.visible_bias, frames.hidden_bias], [(3, 6, 8),
                                                                  (3, 6, 5)])
    generated = self.variant(model.generate, static_argnums=(3, 4))(
        params, jax.random.key(4), v[:, :2], 4, 3)
    chex.assert_shape(generated, (3, 4, 8))
    chex.assert_tree_all_finite(generated)

  @chex.variants(with_jit=True, without_jit=True)
  def test_generation_continues_the_forward_scan(self):
    """One Gibbs step from the biases given u_{T0} is what `generate` draws first."""
    params = _random_model(0, 6, 4, num_recurrent=5)
    prime = jax.random.uniform(jax.random.key(1), (2, 3, 6))
    key = jax.random.key(2)
    generated = self.variant(RNNRBM.generate, static_argnums=(3, 4))(
        params, key, prime, 1, 1)
    _, _, u = rnnrbm.forward_scan(params, prime)
    hidden_bias = params.b_h + u[:, -1] @ params.w_uh
    chain = rbm.gibbs_chain(jax.random.split(key, 1)[0], params.w_vh,
                            params.b_v + u[:, -1] @ params.w_uv, hidden_bias,
                            jax.nn.sigmoid(hidden_bias), 1)
    np.testing.assert_allclose(generated[:, 0], chain.visible_mean, rtol=1e-5,
                               atol=1e-6)


class BadInputTest(parameterized.TestCase):

  def test_init_params_rejects_an_empty_rnn(self):
    with self.assertRaisesRegex(ValueError,
                                "num_recurrent must be an integer >= 1, got 0"):
      rnnrbm.init_params(jax.random.key(0), 4, 3, num_recurrent=0)

  def test_cd_gradient_rejects_frames_of_the_wrong_width(self):
    params = _random_model(0, 4, 3)
    with self.assertRaisesRegex(ValueError, "num_visible=4"):
      RNNRBM.cd_gradient(params, jnp.zeros((2, 3, 5)), jax.random.key(1), 1)

  def test_exact_functions_reject_non_binary_data(self):
    params = _random_model(0, 4, 3)
    for function in (RNNRBM.exact_log_likelihood, RNNRBM.exact_gradient):
      with self.assertRaisesRegex(ValueError, "must be binary"):
        function(params, jnp.full((2, 3, 4), 0.5))


if __name__ == "__main__":
  absltest.main()
