"""Tests of the Bernoulli samplers: exactness, statistics, and how they are selected."""

from absl.testing import absltest
from absl.testing import parameterized
import chex
import jax
from jax.extend import random as jax_random
import jax.numpy as jnp
import numpy as np

import rtrbm_jax as rj
from configs import tiny
from rtrbm_jax.models import rbm
from rtrbm_jax.models import registry
from rtrbm_jax.training import schema
from tests import helpers

_PROBABILITIES = (0.0, 1e-3, 0.1, 0.5, 0.9, 1.0 - 1e-3, 1.0)


class ThreefryTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_threefry_2x32_matches_jax(self):
    key_words = jax.random.key_data(jax.random.key(42))
    count_high = jnp.arange(5, dtype=jnp.uint32) * 7
    count_low = jnp.arange(5, dtype=jnp.uint32) + 1000
    high, low = self.variant(rbm.threefry_2x32)(key_words, count_high, count_low)
    # jax's threefry_2x32 hashes the pairs (count[i], count[n + i]) of a 2n-vector.
    reference = jax_random.threefry_2x32(key_words,
                                         jnp.concatenate([count_high, count_low]))
    np.testing.assert_array_equal(jnp.concatenate([high, low]), reference)

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(((7,), jnp.float32), ((2, 3, 9), jnp.float32),
                            ((5, 13), jnp.bfloat16), ((2, 3, 9), jnp.float16))
  def test_fused_threefry_uniform_is_jax_uniform_bit_for_bit(self, shape, dtype):
    key = jax.random.key(3)
    fused = self.variant(rbm.fused_threefry_uniform, static_argnums=(1, 2))(
        key, shape, dtype)
    reference = jax.random.uniform(key, shape, dtype)
    self.assertEqual(fused.dtype, reference.dtype)
    np.testing.assert_array_equal(fused, reference)

  @chex.variants(with_jit=True, without_jit=True)
  def test_fused_threefry_uniform_is_jax_uniform_in_float64(self):
    with helpers.float64():
      key = jax.random.key(4)
      np.testing.assert_array_equal(
          self.variant(rbm.fused_threefry_uniform, static_argnums=(1, 2))(
              key, (4, 6), jnp.float64),
          jax.random.uniform(key, (4, 6), jnp.float64))

  @chex.variants(with_jit=True, without_jit=True)
  def test_fused_threefry_uniform_accepts_raw_keys_and_vmaps_over_keys(self):
    raw = jax.random.PRNGKey(5)
    uniform = self.variant(rbm.fused_threefry_uniform, static_argnums=(1, 2))
    np.testing.assert_array_equal(uniform(raw, (9,), jnp.float32),
                                  jax.random.uniform(raw, (9,)))
    keys = jax.random.split(jax.random.key(6), 3)
    np.testing.assert_array_equal(
        self.variant(jax.vmap(lambda key: rbm.fused_threefry_uniform(
            key, (4, 5), jnp.float32)))(keys),
        jax.vmap(lambda key: jax.random.uniform(key, (4, 5)))(keys))


class SampleBernoulliTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_samplers_draw_the_same_samples_from_a_threefry_key(self):
    probabilities = jax.random.uniform(jax.random.key(0), (64, 33))
    key = jax.random.key(1)
    samples = {sampler: self.variant(rbm.sample_bernoulli, static_argnums=2)(
        key, probabilities, sampler) for sampler in rbm.BERNOULLI_SAMPLERS}
    for sampler in rbm.BERNOULLI_SAMPLERS:
      np.testing.assert_array_equal(samples[sampler], samples["uniform"])

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(*rbm.BERNOULLI_SAMPLERS)
  def test_frequencies_match_probabilities_within_five_standard_errors(
      self, sampler):
    num_draws = 200_000
    probabilities = jnp.broadcast_to(jnp.asarray(_PROBABILITIES)[:, None],
                                     (len(_PROBABILITIES), num_draws))
    samples = self.variant(rbm.sample_bernoulli, static_argnums=2)(
        jax.random.key(7), probabilities, sampler)
    chex.assert_shape(samples, probabilities.shape)
    self.assertTrue(bool(jnp.all((samples == 0) | (samples == 1))))
    frequencies = np.asarray(jnp.mean(samples, axis=1))
    for p, frequency in zip(_PROBABILITIES, frequencies):
      standard_error = np.sqrt(p * (1 - p) / num_draws)
      print(f"{sampler}: p={p} frequency={frequency:.6f} "
            f"({abs(frequency - p) / max(standard_error, 1e-12):.2f} SE)")
      if p in (0.0, 1.0):
        self.assertEqual(frequency, p)
      else:
        self.assertLess(abs(frequency - p), 5 * standard_error)

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(*rbm.BERNOULLI_SAMPLERS)
  def test_neighbouring_samples_are_uncorrelated(self, sampler):
    """A counter-based hash must not tie element i to element i + 1 or to row r + 1."""
    samples = self.variant(rbm.sample_bernoulli, static_argnums=2)(
        jax.random.key(8), jnp.full((400, 500), 0.5), sampler)
    for same in (samples[:, 1:] == samples[:, :-1],
                 samples[1:] == samples[:-1]):
      standard_error = 0.5 / np.sqrt(same.size)
      self.assertLess(abs(float(jnp.mean(same)) - 0.5), 5 * standard_error)

  def test_fused_threefry_rejects_a_key_of_another_implementation(self):
    with self.assertRaisesRegex(ValueError, "needs a threefry2x32 key, got a key "
                                "of implementation 'rbg'"):
      rbm.sample_bernoulli(jax.random.key(0, impl="rbg"), jnp.full((3,), 0.5),
                           "fused_threefry")

  def test_unknown_sampler_is_named(self):
    with self.assertRaisesRegex(ValueError, "sampler must be one of"):
      rbm.sample_bernoulli(jax.random.key(0), jnp.full((3,), 0.5), "bits8")


class SelectionTest(chex.TestCase):

  def setUp(self):
    super().setUp()
    params = rj.rtrbm.init_params(jax.random.key(0), 6, 4)
    self.params = helpers.randomize(params, jax.random.key(1))
    self.v = helpers.random_binary(jax.random.key(2), (2, 3, 6))

  @chex.variants(with_jit=True, without_jit=True)
  def test_get_model_binds_the_sampler(self):
    """Same samples, so the same gradient; a non-threefry key tells them apart."""
    rbg_key = jax.random.key(3, impl="rbg")
    gradients = {}
    for sampler in rbm.BERNOULLI_SAMPLERS:
      cd_gradient = self.variant(
          registry.get_model("rtrbm", sampler=sampler).cd_gradient, static_argnums=3)
      gradients[sampler], _ = cd_gradient(self.params, self.v, jax.random.key(3), 2)
      if sampler == "fused_threefry":
        with self.assertRaisesRegex(ValueError, "needs a threefry2x32 key"):
          cd_gradient(self.params, self.v, rbg_key, 2)
      else:
        cd_gradient(self.params, self.v, rbg_key, 2)
    chex.assert_trees_all_equal(gradients["fused_threefry"], gradients["uniform"])

  def test_config_model_sampler_selects_the_sampler(self):
    config = tiny.get_config()
    config.model.kind = "rtrbm"  # the model of self.params
    config.model.sampler = "fused_threefry"
    schema.validate_config(config)
    with self.assertRaisesRegex(ValueError, "needs a threefry2x32 key"):
      jax.jit(registry.from_config(config).cd_gradient, static_argnums=3)(
          self.params, self.v, jax.random.key(3, impl="rbg"), 1)
    config.model.sampler = "bits8"
    with self.assertRaisesRegex(ValueError, "config.model.sampler='bits8'"):
      schema.validate_config(config)

  def test_get_model_rejects_an_unknown_sampler(self):
    with self.assertRaisesRegex(ValueError, "sampler must be one of"):
      registry.get_model("rtrbm", sampler="bits8")


if __name__ == "__main__":
  absltest.main()
