"""Tests of the plain RBM's CD-k gradient (the pretraining gradient)."""

from absl.testing import absltest
from absl.testing import parameterized
import chex
import jax
import jax.numpy as jnp

from rtrbm_jax.models import rbm
from tests import helpers

_NUM_VISIBLE, _NUM_HIDDEN, _NUM_ROWS = 6, 4, 5


def _rbm(key):
  keys = jax.random.split(key, 3)
  return (0.5 * jax.random.normal(keys[0], (_NUM_VISIBLE, _NUM_HIDDEN)),
          0.5 * jax.random.normal(keys[1], (_NUM_VISIBLE,)),
          0.5 * jax.random.normal(keys[2], (_NUM_HIDDEN,)))


def _rows(key, visible_type):
  if visible_type == rbm.BINARY:
    return helpers.random_binary(key, (_NUM_ROWS, _NUM_VISIBLE))
  return jax.random.normal(key, (_NUM_ROWS, _NUM_VISIBLE))


class CdGradientTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.product(visible_type=rbm.VISIBLE_TYPES,
                         sampler=rbm.BERNOULLI_SAMPLERS, num_steps=(1, 3))
  def test_cd_gradient_matches_autodiff_of_free_energy_surrogate(
      self, visible_type, sampler, num_steps):
    w_vh, visible_bias, hidden_bias = _rbm(jax.random.key(0))
    visible = _rows(jax.random.key(1), visible_type)
    key = jax.random.key(2)
    cd_gradient = self.variant(rbm.cd_gradient, static_argnums=(5, 6, 7))
    gradient, chain = cd_gradient(key, w_vh, visible_bias, hidden_bias, visible,
                                  num_steps, visible_type, sampler)

    def surrogate(w_vh, visible_bias, hidden_bias):
      def free_energy(rows):
        row_hidden_bias = jnp.broadcast_to(hidden_bias, (_NUM_ROWS, _NUM_HIDDEN))
        return jnp.sum(rbm.free_energy(w_vh, visible_bias, row_hidden_bias, rows,
                                       visible_type))
      return free_energy(visible) - free_energy(chain.visible_sample)

    expected = jax.grad(surrogate, argnums=(0, 1, 2))(w_vh, visible_bias,
                                                     hidden_bias)
    chex.assert_trees_all_close(tuple(gradient), expected, rtol=1e-5, atol=1e-5)
    chex.assert_shape(chain.visible_sample, (_NUM_ROWS, _NUM_VISIBLE))

  @chex.variants(with_jit=True, without_jit=True)
  def test_cd_gradient_honours_the_sampler(self):
    """Same samples, so the same gradient; a non-threefry key tells them apart."""
    w_vh, visible_bias, hidden_bias = _rbm(jax.random.key(0))
    visible = _rows(jax.random.key(1), rbm.BINARY)
    cd_gradient = self.variant(rbm.cd_gradient, static_argnums=(5, 6, 7))
    gradients = [
        cd_gradient(jax.random.key(2), w_vh, visible_bias, hidden_bias, visible, 2,
                    rbm.BINARY, sampler)[0]
        for sampler in rbm.BERNOULLI_SAMPLERS]
    chex.assert_trees_all_equal(*gradients)
    with self.assertRaisesRegex(ValueError, "needs a threefry2x32 key"):
      cd_gradient(jax.random.key(2, impl="rbg"), w_vh, visible_bias, hidden_bias,
                  visible, 2, rbm.BINARY, "fused_threefry")


if __name__ == "__main__":
  absltest.main()
