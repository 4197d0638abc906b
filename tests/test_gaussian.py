"""Tests of Gaussian (real-valued, unit-variance) visible units in the temporal models.

Frame energy E(v, h) = ||v - b_v||^2 / 2 - h.c_t - v @ w_vh @ h, hiddens binary.
"""

import functools

from absl.testing import absltest
from absl.testing import parameterized
import chex
import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax.evaluation import prediction
from rtrbm_jax.models import rbm
from rtrbm_jax.models import registry
from rtrbm_jax.models import rtrbm
from tests import helpers

# The kinds whose frames are RBMs (Gaussian units, AIS); NADE frames are exact.
_RBM_KINDS = tuple(kind for kind in registry.MODEL_KINDS
                   if registry.get_model(kind).frame_rbms is not None)


# The RTRBM's functions with only its parts bound (`helpers.RTRBM`).
RTRBM = helpers.RTRBM

GAUSSIAN = rbm.GAUSSIAN


def _random_model(seed, num_visible, num_hidden, kind="rtrbm", scale=0.5,
                  dtype=jnp.float32):
  params = registry.get_model(kind).init_params(jax.random.key(seed), num_visible,
                                              num_hidden, 0.01)
  return helpers.randomize(params, jax.random.key(seed + 1), scale, dtype)


def _surrogate_loss(params, v, negative_visible):
  """Free-energy difference between the data and fixed CD samples, per sequence."""
  c, _ = rtrbm.forward_scan(params, v)
  rows = c.reshape(-1, c.shape[-1])
  data = rbm.free_energy(params.w_vh, params.b_v, rows, v.reshape(rows.shape[0], -1),
                         GAUSSIAN)
  negative = rbm.free_energy(params.w_vh, params.b_v, rows,
                             jax.lax.stop_gradient(negative_visible), GAUSSIAN)
  return jnp.sum(data - negative) / v.shape[0]


def _gauss_hermite_grid(num_nodes, num_dimensions):
  """Nodes [S, d] and weights [S] with sum_s weight_s f(node_s) ~ int f(x) dx over R^d.

  Probabilists' Gauss-Hermite quadrature integrates p(x) exp(-|x|^2 / 2) exactly for
  polynomials p of degree < 2 * num_nodes per dimension. A frame density here is a
  mixture of unit-variance Gaussians, so f(x) exp(|x|^2 / 2) is an entire function
  and the rule converges faster than any power of num_nodes (1e-13 at 20 nodes for
  the models below).
  """
  nodes, weights = np.polynomial.hermite_e.hermegauss(num_nodes)
  weights = weights * np.exp(np.square(nodes) / 2)
  grids = np.meshgrid(*([nodes] * num_dimensions), indexing="ij")
  weight_grids = np.meshgrid(*([weights] * num_dimensions), indexing="ij")
  return (np.stack(grids, axis=-1).reshape(-1, num_dimensions),
          np.prod(np.stack(weight_grids, axis=-1), axis=-1).reshape(-1))


class ExactTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.product(
      kind=_RBM_KINDS,
      shape=[dict(num_visible=1, num_hidden=3, num_frames=1),
             dict(num_visible=1, num_hidden=3, num_frames=2),
             dict(num_visible=2, num_hidden=2, num_frames=1),
             dict(num_visible=2, num_hidden=2, num_frames=2)],
  )
  def test_exact_density_integrates_to_one(self, kind, shape):
    num_visible, num_frames = shape["num_visible"], shape["num_frames"]
    with helpers.float64():
      model = registry.get_model(kind, visible_type=GAUSSIAN)
      params = _random_model(0, num_visible, shape["num_hidden"], kind, scale=0.8,
                             dtype=jnp.float64)
      nodes, weights = _gauss_hermite_grid(30 if num_visible * num_frames <= 2
                                           else 20, num_visible * num_frames)
      sequences = jnp.asarray(nodes.reshape(-1, num_frames, num_visible))
      log_density = self.variant(model.exact_log_likelihood)(params, sequences)
      total = float(jnp.sum(jnp.exp(log_density) * weights))
      print(f"{kind} Gaussian density, nv={num_visible} T={num_frames}: integral - 1 "
            f"= {total - 1:.1e}")
      self.assertAlmostEqual(total, 1.0, delta=1e-6)

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(
      dict(batch_size=2, num_frames=4, num_visible=3, num_hidden=4),
      dict(batch_size=1, num_frames=1, num_visible=5, num_hidden=2),
  )
  def test_exact_gradient_matches_autodiff_of_exact_log_likelihood_in_float64(
      self, batch_size, num_frames, num_visible, num_hidden):
    with helpers.float64():
      params = _random_model(1, num_visible, num_hidden, scale=0.8,
                             dtype=jnp.float64)
      v = jax.random.normal(jax.random.key(2), (batch_size, num_frames, num_visible),
                            jnp.float64)
      loss = lambda params: -jnp.mean(RTRBM.exact_log_likelihood(params, v, GAUSSIAN))
      hand_written = self.variant(RTRBM.exact_gradient, static_argnums=2)(
          params, v, GAUSSIAN)
      reference = jax.jit(jax.grad(loss))(params)
      chex.assert_trees_all_equal_dtypes(hand_written, params)
      error = helpers.relative_error(hand_written, reference)
      print(f"Gaussian RTRBM exact gradient vs autodiff (float64): relative error "
            f"{error:.2e}")
      self.assertLess(error, 1e-8)

  @chex.variants(with_jit=True, without_jit=True)
  def test_cd_with_long_chains_approaches_the_exact_gradient(self):
    """CD-k is biased by O(mixing after k steps) and noisy by O(1/sqrt(chains)).

    A tiny model with small weights mixes within a few steps, so with k = 30 the
    bias is negligible and the averaged CD gradient must agree with the exact one to
    within 5 standard errors of the mean (estimated from 16 independent replicates
    of 2048 chains each), for every parameter entry, plus an absolute 2e-3 for
    float32 round-off.
    """
    params = _random_model(5, 3, 3, scale=0.5)
    v = jax.random.normal(jax.random.key(6), (1, 4, 3))
    exact = RTRBM.exact_gradient(params, v, GAUSSIAN)
    copies = jnp.broadcast_to(v, (2048,) + v.shape[1:])

    # One vmapped call runs the 16 replicates: the same keys, so the same chains,
    # and the scans are traced once, not once per replicate, when not jitted.
    @self.variant
    @jax.vmap
    def replicate(key):
      return RTRBM.cd_gradient(params, copies, key, 30, visible_type=GAUSSIAN)[0]

    stacked = replicate(jax.random.split(jax.random.key(7), 16))
    mean = jax.tree.map(lambda x: jnp.mean(x, axis=0), stacked)
    standard_error = jax.tree.map(lambda x: jnp.std(x, axis=0, ddof=1) / 4.0,
                                  stacked)
    print("Gaussian CD-30 vs exact gradient: relative error "
          f"{helpers.relative_error(mean, exact):.2e}")
    for m, e, s in zip(jax.tree.leaves(mean), jax.tree.leaves(exact),
                       jax.tree.leaves(standard_error)):
      np.testing.assert_array_less(jnp.abs(m - e), 5 * s + 2e-3)


class ReverseScanTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(
      dict(batch_size=1, num_frames=1, num_visible=5, num_hidden=3),
      dict(batch_size=3, num_frames=8, num_visible=10, num_hidden=6),
  )
  def test_reverse_scan_matches_autodiff_of_surrogate(self, batch_size, num_frames,
                                                      num_visible, num_hidden):
    params = _random_model(batch_size + num_frames, num_visible, num_hidden)
    v = jax.random.normal(jax.random.key(7), (batch_size, num_frames, num_visible))
    c, r = rtrbm.forward_scan(params, v, GAUSSIAN)
    chain = rbm.gibbs_chain(jax.random.key(8), params.w_vh, params.b_v,
                            c.reshape(-1, num_hidden), r.reshape(-1, num_hidden), 3,
                            GAUSSIAN)
    negative = rbm.data_statistics(chain.visible_sample, chain.hidden_probabilities)

    @self.variant
    def hand_written_gradient(params, v):
      _, r = rtrbm.forward_scan(params, v, GAUSSIAN)
      return rtrbm.gradient_from_statistics(params, v, r, negative)

    hand_written = hand_written_gradient(params, v)
    reference = jax.jit(jax.grad(_surrogate_loss))(params, v, chain.visible_sample)
    error = helpers.relative_error(hand_written, reference)
    print(f"Gaussian RTRBM reverse scan vs surrogate autodiff, B={batch_size} "
          f"T={num_frames}: relative error {error:.2e}")
    self.assertLess(error, 1e-5)


class SamplingTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(*_RBM_KINDS)
  def test_generation_and_next_frame_prediction_give_finite_real_frames(self, kind):
    model = registry.get_model(kind, visible_type=GAUSSIAN)
    params = _random_model(0, 6, 4, kind, scale=0.3)
    v = 2.0 * jax.random.normal(jax.random.key(1), (3, 5, 6))
    predictions = self.variant(prediction.predict_next_frames,
                               static_argnums=(0, 4))(model, params, v,
                                                      jax.random.key(2), 5)
    chex.assert_shape(predictions, (3, 4, 6))
    generated = self.variant(model.generate, static_argnums=(3, 4))(
        params, jax.random.key(3), v[:, :2], 7, 5)
    chex.assert_shape(generated, (3, 7, 6))
    chex.assert_tree_all_finite((predictions, generated))

  @chex.variants(with_jit=True, without_jit=True)
  def test_a_model_without_weights_predicts_its_visible_bias(self):
    """With w_vh = 0 the visible mean E[v | h] is b_v, whatever the hiddens."""
    model = registry.get_model("rtrbm", visible_type=GAUSSIAN)
    params = _random_model(0, 4, 3)._replace(w_vh=jnp.zeros((4, 3)))
    v = jax.random.normal(jax.random.key(1), (2, 3, 4))
    predictions = self.variant(prediction.predict_next_frames,
                               static_argnums=(0, 4))(model, params, v,
                                                      jax.random.key(2), 3)
    chex.assert_trees_all_close(predictions,
                                jnp.broadcast_to(params.b_v, predictions.shape),
                                rtol=1e-6, atol=1e-6)

  @chex.variants(with_jit=True, without_jit=True)
  def test_real_valued_data_outside_the_unit_interval_is_accepted(self):
    params = _random_model(0, 4, 3)
    v = 5.0 * jax.random.normal(jax.random.key(1), (2, 3, 4))
    grads, _ = self.variant(functools.partial(RTRBM.cd_gradient,
                                              visible_type=GAUSSIAN),
                            static_argnums=3)(params, v, jax.random.key(2), 1)
    chex.assert_tree_all_finite(grads)
    log_likelihood = self.variant(RTRBM.exact_log_likelihood, static_argnums=2)(
        params, v, GAUSSIAN)
    chex.assert_shape(log_likelihood, (2,))


if __name__ == "__main__":
  absltest.main()
