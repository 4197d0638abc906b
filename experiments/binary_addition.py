"""Binary addition with a plain RNN trained by its hand-written BPTT reverse scan.

  python -m experiments.binary_addition [--num_hidden=16 --num_steps=1500]

The classic example of backpropagation through time: an RNN reads two 8-bit
numbers bit by bit, least significant first, and writes their sum. It is trained
with optax on the gradient of `rtrbm_jax.models.rnn.gradient` (the same reverse scan as
the RTRBM's) and evaluated on pairs it never saw; it exits with status 1 unless
every held-out sum is right.
"""

import time

from absl import app
from absl import flags
import jax
import numpy as np
import optax

from experiments import common
from rtrbm_jax.models import rnn

_NUM_BITS = flags.DEFINE_integer("num_bits", 8, "Bits per number and per sum.")
_NUM_HIDDEN = flags.DEFINE_integer("num_hidden", 16, "Hidden units of the RNN.")
_NUM_STEPS = flags.DEFINE_integer("num_steps", 1500, "Adam updates.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 64, "Pairs per update.")
_LEARNING_RATE = flags.DEFINE_float("learning_rate", 0.03, "Adam learning rate.")
_HELD_OUT = flags.DEFINE_float(
    "held_out_fraction", 0.25, "Fraction of all pairs kept out of training.")
_NUM_EXAMPLES = flags.DEFINE_integer("num_examples", 5, "Held-out sums to print.")
_RANDOM_SEED = flags.DEFINE_integer("random_seed", 0, "Seed of the split and init.")


def split_pairs(rng: np.random.Generator, num_bits: int, held_out_fraction: float):
  """All pairs (a, b) with a, b < 2^(num_bits - 1), shuffled into train and test.

  Returns:
    ([M, 2] training pairs, [K, 2] held-out pairs), K = round(fraction * all).
  """
  if not 0 < held_out_fraction < 1:
    raise ValueError(f"held_out_fraction must lie in (0, 1), got "
                     f"{held_out_fraction}.")
  half = 2 ** (num_bits - 1)
  pairs = np.stack(np.meshgrid(np.arange(half), np.arange(half)), -1).reshape(-1, 2)
  pairs = rng.permutation(pairs)
  num_held_out = round(held_out_fraction * len(pairs))
  return pairs[num_held_out:], pairs[:num_held_out]


def train(key, pairs: np.ndarray, num_bits: int, num_hidden: int, num_steps: int,
          batch_size: int, learning_rate: float) -> rnn.Params:
  """Adam on random batches of `pairs`, all `num_steps` updates in one jitted scan."""
  inputs, targets = rnn.addition_examples(pairs[:, 0], pairs[:, 1], num_bits)
  init_key, batch_key = jax.random.split(key)
  params = rnn.init_params(init_key, 2, num_hidden, 1)
  optimizer = optax.adam(learning_rate)

  @jax.jit
  def run(params, inputs, targets):
    def step(carry, step_key):
      params, opt_state = carry
      batch = jax.random.randint(step_key, (batch_size,), 0, inputs.shape[0])
      gradients, _ = rnn.gradient(params, inputs[batch], targets[batch])
      updates, opt_state = optimizer.update(gradients, opt_state, params)
      return (optax.apply_updates(params, updates), opt_state), None

    (params, _), _ = jax.lax.scan(step, (params, optimizer.init(params)),
                                  jax.random.split(batch_key, num_steps))
    return params

  return run(params, inputs, targets)


def predict_sums(params: rnn.Params, pairs: np.ndarray, num_bits: int) -> np.ndarray:
  """The RNN's sums of `pairs [K, 2]`, read from its rounded output bits: `[K]`."""
  inputs, _ = rnn.addition_examples(pairs[:, 0], pairs[:, 1], num_bits)
  _, logits = rnn.forward_scan(params, inputs)
  return rnn.from_bits(np.asarray(logits[..., 0]) > 0)


def main(argv):
  common.start(argv)
  num_bits = _NUM_BITS.value
  train_pairs, test_pairs = split_pairs(np.random.default_rng(_RANDOM_SEED.value),
                                        num_bits, _HELD_OUT.value)
  start = time.perf_counter()
  params = jax.block_until_ready(train(
      jax.random.key(_RANDOM_SEED.value), train_pairs, num_bits, _NUM_HIDDEN.value,
      _NUM_STEPS.value, _BATCH_SIZE.value, _LEARNING_RATE.value))
  seconds = time.perf_counter() - start
  predicted = predict_sums(params, test_pairs, num_bits)
  expected = test_pairs.sum(axis=1)
  print(f"Trained {_NUM_STEPS.value} steps on {len(train_pairs)} pairs in "
        f"{seconds:.1f} s. Held-out examples:")
  for (a, b), total in zip(test_pairs[:_NUM_EXAMPLES.value], predicted):
    print(f"  {a:3d} + {b:3d} = {a + b:3d} (predicted {total})")
  accuracy = float(np.mean(predicted == expected))
  print(f"Held-out accuracy: {accuracy:.2%} of {len(test_pairs)} sums exactly "
        "right.")
  return 0 if accuracy == 1.0 else 1


if __name__ == "__main__":
  app.run(main, flags_parser=common.parse_flags)
