"""How well the most probable frame of a shipped music run's frame RBMs predicts.

On the whole validation split of a run's set, per predicted frame t (its RBM
given the true frames before it), the free energy F(v) = -log P(v) - log Z ranks
candidate frames without Z. Printed:

- copying the last frame (Bay et al.'s accuracy, as everywhere);
- how often the model rates the true frame above the previous one (the ceiling
  of any rule that only chooses between them) and how often the two are equal;
- the lowest-F frame among the previous frame and every distinct frame of the
  training split (a vocabulary of chords: 1,252 on Nottingham);
- a local search (`mode_seeking.local_search`, at most 20 flips): from the
  previous frame (and from the vocabulary's choice), the single-unit flip that
  lowers F most, while one does.

    PYTHONPATH=. python docs/runs/mode_search.py docs/runs/nottingham_rnnrbm

A record of how docs/results.md's figures on mode search were measured (8
minutes on a shared CPU core for Nottingham), not part of the library.
"""

import sys

import jax
import jax.numpy as jnp
import numpy as np

import rtrbm_jax as rj
from rtrbm_jax.data import datasets
from rtrbm_jax.evaluation import mode_seeking
from rtrbm_jax.evaluation import prediction
from rtrbm_jax.models import rbm

NUM_FLIPS = 20  # the local search's most flips per row
CHUNK = 500  # frames scored at once


def _vocabulary_choice(w_vh, visible_bias, hidden_bias, previous, vocabulary):
  """Per row, the vocabulary frame of lowest F if it is below F(previous), else
  the previous frame. `[N, nv]`."""
  energy = (-(visible_bias @ vocabulary.T)
            - jnp.sum(jax.nn.softplus((vocabulary @ w_vh)[None]
                                      + hidden_bias[:, None]), -1))  # [N, K]
  best = jnp.argmin(energy, -1)
  lower = (jnp.take_along_axis(energy, best[:, None], -1)[:, 0]
           < rbm.free_energy(w_vh, visible_bias, hidden_bias, previous))
  return jnp.where(lower[:, None], vocabulary[best], previous)


def main(workdir: str) -> None:
  run = rj.load_run(workdir)
  training = np.concatenate(
      datasets.load_sequences(run.config.data, "train")).astype(np.uint8)
  vocabulary = jnp.asarray(np.unique(training, axis=0), jnp.float32)
  frames, mask = datasets.pad_sequences(
      datasets.load_sequences(run.config.data, "valid"))
  frames = jnp.asarray(frames)
  target, target_mask = np.asarray(frames[:, 1:]), np.asarray(mask)[:, 1:]
  real = target_mask.reshape(-1)
  rbms = run.model.frame_rbms(run.params, frames)
  num_visible = frames.shape[-1]
  hidden_bias = rbms.hidden_bias[:, 1:].reshape(-1, rbms.hidden_bias.shape[-1])
  visible_bias = rbms.visible_bias
  if visible_bias.ndim == 3:  # the RNN-RBM's visible biases are per frame
    visible_bias = visible_bias[:, 1:].reshape(-1, num_visible)
  else:
    visible_bias = jnp.broadcast_to(visible_bias, (hidden_bias.shape[0],
                                                   num_visible))
  previous = frames[:, :-1].reshape(-1, num_visible)
  true = frames[:, 1:].reshape(-1, num_visible)
  w_vh = rbms.w_vh

  def by_chunks(function, *rows):
    return jnp.concatenate([
        jax.jit(function)(w_vh, *(row[start:start + CHUNK] for row in rows))
        for start in range(0, rows[0].shape[0], CHUNK)])

  def accuracy(predicted):
    return prediction.frame_accuracy(
        np.asarray(predicted).reshape(target.shape), target, target_mask)

  def energy(v):
    return np.asarray(by_chunks(
        lambda w, a, c, x: rbm.free_energy(w, a, c, x)[:, None],
        visible_bias, hidden_bias, v))[:, 0]

  print(f"{workdir}: {int(real.sum())} predicted validation frames; "
        f"{vocabulary.shape[0]} distinct training frames", flush=True)
  print(f"copy the last frame: {accuracy(previous):.4f}")
  print(f"F(true) < F(previous): {np.mean((energy(true) < energy(previous))[real]):.4f}"
        f" of the frames; true == previous: "
        f"{np.mean(np.all(true == previous, -1)[real]):.4f}", flush=True)
  chosen = by_chunks(
      lambda w, a, c, p: _vocabulary_choice(w, a, c, p, vocabulary),
      visible_bias, hidden_bias, previous)
  print(f"lowest F of previous + vocabulary: {accuracy(chosen):.4f}", flush=True)
  def search(w, a, c, start):
    return mode_seeking.local_search(w, a, c, start, NUM_FLIPS)

  print(f"local search from the previous frame: "
        f"{accuracy(by_chunks(search, visible_bias, hidden_bias, previous)):.4f}",
        flush=True)
  print(f"local search from the vocabulary's choice: "
        f"{accuracy(by_chunks(search, visible_bias, hidden_bias, chosen)):.4f}")


if __name__ == "__main__":
  main(sys.argv[1])
