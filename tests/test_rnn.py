"""Tests of the plain RNN: hand-written BPTT, the adder's encoding, its script."""

import pathlib
import re
import subprocess
import sys

from absl.testing import absltest
from absl.testing import parameterized
import chex
import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax.models import rnn
from tests import helpers

_REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


def _random_problem(seed, batch_size, num_steps, num_hidden, dtype=jnp.float32):
  params = helpers.randomize(rnn.init_params(jax.random.key(seed), 2, num_hidden, 1),
                             jax.random.key(seed + 1), 0.8, dtype)
  inputs = helpers.random_binary(jax.random.key(seed + 2),
                                 (batch_size, num_steps, 2), dtype)
  targets = helpers.random_binary(jax.random.key(seed + 3),
                                  (batch_size, num_steps, 1), dtype)
  return params, inputs, targets


class GradientTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(
      dict(batch_size=1, num_steps=1, num_hidden=3),
      dict(batch_size=4, num_steps=8, num_hidden=16),
  )
  def test_hand_written_bptt_matches_autodiff_in_float64(self, batch_size,
                                                         num_steps, num_hidden):
    with helpers.float64():
      params, inputs, targets = _random_problem(0, batch_size, num_steps, num_hidden,
                                                jnp.float64)
      grads, loss = self.variant(rnn.gradient)(params, inputs, targets)
      reference_loss, reference = jax.jit(jax.value_and_grad(rnn.loss))(
          params, inputs, targets)
      chex.assert_trees_all_equal_dtypes(grads, params)
      np.testing.assert_allclose(loss, reference_loss, rtol=1e-12)
      error = helpers.relative_error(grads, reference)
      print(f"RNN BPTT vs autodiff (float64), B={batch_size} T={num_steps} "
            f"nh={num_hidden}: relative error {error:.2e}")
      self.assertLess(error, 1e-10)

  @chex.variants(with_jit=True, without_jit=True)
  def test_reverse_scan_is_the_classic_backward_message_written_as_a_loop(self):
    """delta_t = (delta_{t+1} @ w_hh^T + error_t @ w_hy^T) * h_t (1 - h_t)."""
    params, inputs, targets = _random_problem(1, 3, 6, 5)
    h, logits = self.variant(rnn.forward_scan)(params, inputs)
    output_error = jax.nn.sigmoid(logits) - targets
    delta = self.variant(rnn.reverse_scan)(params, h, output_error)
    message = jnp.zeros((3, 5))
    for t in reversed(range(6)):
      message = ((message @ params.w_hh.T + output_error[:, t] @ params.w_hy.T)
                 * h[:, t] * (1 - h[:, t]))
      np.testing.assert_allclose(delta[:, t], message, rtol=1e-5, atol=1e-7)


class AdditionEncodingTest(parameterized.TestCase):

  def test_bits_are_least_significant_first_and_round_trip(self):
    np.testing.assert_array_equal(rnn.to_bits([6], 4), [[0, 1, 1, 0]])
    numbers = np.arange(256)
    np.testing.assert_array_equal(rnn.from_bits(rnn.to_bits(numbers, 8)), numbers)

  def test_addition_examples_pair_the_bits_of_both_numbers_with_their_sum(self):
    inputs, targets = rnn.addition_examples([73], [41], 8)
    chex.assert_shape([inputs, targets], [(1, 8, 2), (1, 8, 1)])
    np.testing.assert_array_equal(rnn.from_bits(inputs[..., 0]), [73])
    np.testing.assert_array_equal(rnn.from_bits(inputs[..., 1]), [41])
    np.testing.assert_array_equal(rnn.from_bits(targets[..., 0]), [114])

  def test_addition_examples_reject_sums_that_overflow(self):
    with self.assertRaisesRegex(ValueError, r"a \+ b < 2\^8 = 256"):
      rnn.addition_examples([200], [100], 8)


class ScriptTest(absltest.TestCase):

  def test_script_adds_every_held_out_pair_correctly_and_exits_zero(self):
    result = subprocess.run(
        [sys.executable, "-m", "experiments.binary_addition", "--num_steps=1000"],
        cwd=_REPO_ROOT, capture_output=True, text=True, timeout=300, check=False)
    self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
    self.assertIn("Held-out accuracy: 100.00%", result.stdout)
    # JAX's probes of backends that are not installed, filtered as elsewhere.
    self.assertNotIn("Unable to initialize backend", result.stderr)
    examples = re.findall(r"^ +(\d+) \+ +(\d+) = +(\d+) \(predicted (\d+)\)$",
                          result.stdout, re.MULTILINE)
    self.assertLen(examples, 5)
    for a, b, total, predicted in examples:
      self.assertEqual(int(a) + int(b), int(total))
      self.assertEqual(total, predicted)


if __name__ == "__main__":
  absltest.main()
