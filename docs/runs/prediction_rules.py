"""Frame accuracy of other next-frame prediction rules on a shipped music run.

On the first `NUM_PIECES` pieces of the validation split: copying the last frame;
one Gibbs chain per frame started at P(h) = sigmoid(c_t) (the docs' rule, k =
50) and run longer; a chain started at the previous frame's P(h | v_{t-1}); and
how often the frame's free energy ranks the previous frame below (more probable
than) the chain's thresholded end state.

    PYTHONPATH=. python docs/runs/prediction_rules.py docs/runs/nottingham_rtrbm

A record of how docs/results.md's figures on prediction rules were measured (about a
minute on one CPU core), not part of the library.
"""

import sys

import jax
import jax.numpy as jnp
import numpy as np

import rtrbm_jax as rj
from rtrbm_jax.data import datasets
from rtrbm_jax.evaluation import prediction
from rtrbm_jax.models import rbm

NUM_PIECES = 20


def main(workdir: str) -> None:
  run = rj.load_run(workdir)
  frames, mask = datasets.pad_sequences(
      datasets.load_sequences(run.config.data, "valid")[:NUM_PIECES])
  frames = jnp.asarray(frames)
  target, target_mask = np.asarray(frames[:, 1:]), np.asarray(mask)[:, 1:]
  rbms = run.model.frame_rbms(run.params, frames)
  hidden_bias = rbms.hidden_bias[:, 1:].reshape(-1, rbms.hidden_bias.shape[-1])
  visible_bias = rbms.visible_bias
  if visible_bias.ndim == 3:  # the RNN-RBM's visible biases are per frame
    visible_bias = visible_bias[:, 1:].reshape(-1, visible_bias.shape[-1])
  previous = frames[:, :-1].reshape(-1, frames.shape[-1])

  def accuracy(predicted):
    return prediction.frame_accuracy(
        np.asarray(predicted).reshape(target.shape), target, target_mask)

  @jax.jit
  def chain_end(initial_hidden, num_steps):
    """The last visible mean field of one chain per frame, thresholded at 0.5."""
    result = rbm.gibbs_chain(jax.random.key(0), rbms.w_vh, visible_bias,
                             hidden_bias, initial_hidden, num_steps,
                             run.model.visible_type, run.model.sampler)
    return (result.visible_mean > 0.5).astype(frames.dtype)

  print(f"{workdir}: {int(target_mask.sum())} predicted frames of the first "
        f"{NUM_PIECES} validation pieces", flush=True)
  print(f"copy the last frame: {accuracy(previous):.3f}", flush=True)
  from_bias = jax.nn.sigmoid(hidden_bias)
  for num_steps in (50, 200, 1000):
    print(f"one chain from sigmoid(c_t), k = {num_steps}: "
          f"{accuracy(chain_end(from_bias, num_steps)):.3f}", flush=True)
  from_previous = chain_end(
      rbm.hidden_probabilities(rbms.w_vh, hidden_bias, previous), 50)
  print(f"one chain from the previous frame, k = 50: "
        f"{accuracy(from_previous):.3f}", flush=True)
  chain = chain_end(from_bias, 50)
  prefers_previous = (rbm.free_energy(rbms.w_vh, visible_bias, hidden_bias,
                                      previous)
                      < rbm.free_energy(rbms.w_vh, visible_bias, hidden_bias,
                                        chain))
  real = target_mask.reshape(-1)
  print(f"F(previous frame) < F(chain from sigmoid(c_t), k = 50): "
        f"{float(np.asarray(prefers_previous)[real].mean()):.3f} of the frames",
        flush=True)


if __name__ == "__main__":
  main(sys.argv[1])
