"""The binary-addition example's pieces, on 4-bit numbers (seconds).

tests/test_rnn.py runs the whole script and checks that it learns every held-out
sum; these check the split and the train/predict functions it is made of.
"""

from absl.testing import absltest
from absl.testing import parameterized
import chex
import jax
import numpy as np

from experiments import binary_addition


class SplitPairsTest(parameterized.TestCase):

  def test_the_split_partitions_every_pair_of_small_enough_numbers(self):
    train_pairs, held_out = binary_addition.split_pairs(
        np.random.default_rng(0), num_bits=4, held_out_fraction=0.25)
    # 4-bit sums of numbers below 2^3: 8 x 8 pairs, a quarter held out.
    self.assertEqual((train_pairs.shape, held_out.shape), ((48, 2), (16, 2)))
    every_pair = sorted(map(tuple, np.concatenate([train_pairs, held_out])))
    self.assertEqual(every_pair, [(a, b) for a in range(8) for b in range(8)])

  @parameterized.parameters(0.0, 1.0)
  def test_a_held_out_fraction_outside_the_open_unit_interval_is_rejected(
      self, fraction):
    with self.assertRaisesRegex(ValueError, "held_out_fraction must lie in"):
      binary_addition.split_pairs(np.random.default_rng(0), 4, fraction)


class TrainTest(absltest.TestCase):

  def test_training_is_a_function_of_its_key_and_predicts_num_bits_sums(self):
    """`train` jits its own scan of updates, so it is not run under variants."""
    train_pairs, held_out = binary_addition.split_pairs(
        np.random.default_rng(0), num_bits=4, held_out_fraction=0.25)
    arguments = (train_pairs, 4, 8, 5, 16, 0.03)
    params = binary_addition.train(jax.random.key(0), *arguments)
    chex.assert_trees_all_equal(
        params, binary_addition.train(jax.random.key(0), *arguments))
    chex.assert_tree_all_finite(params)
    sums = binary_addition.predict_sums(params, held_out, 4)
    self.assertEqual(sums.shape, (len(held_out),))
    self.assertTrue(np.all((sums >= 0) & (sums < 2 ** 4)))


if __name__ == "__main__":
  absltest.main()
