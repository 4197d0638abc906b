"""The most probable of several candidate frames under a shipped RNN-NADE.

On the whole validation split of the run's set, per predicted frame t, the
candidates are the previous frame, the greedy frame (each unit on where its
probability given the units set before it is above 1/2) and 16 exact samples;
the one of highest exact log P(v_t | v_<t) under frame t's NADE is the
prediction. Printed: Bay et al.'s accuracy of copying, of the greedy frame, and
of the most probable candidate with the previous and greedy frames, then 4 and
16 samples more.

    PYTHONPATH=. python docs/runs/nade_candidates.py docs/runs/musedata_rnnnade

A record of how docs/results.md's figures on it were measured (a few minutes on
a shared CPU core for MuseData), not part of the library.
"""

import sys

import jax
import jax.numpy as jnp
import numpy as np

import rtrbm_jax as rj
from rtrbm_jax.data import datasets
from rtrbm_jax.evaluation import prediction
from rtrbm_jax.models import nade
from rtrbm_jax.models import rnnrbm
from rtrbm_jax.models import temporal

NUM_SAMPLES = 16


def main(workdir: str) -> None:
  run = rj.load_run(workdir, step="best")
  frames, mask = datasets.pad_sequences(
      datasets.load_sequences(run.config.data, "valid"))
  frames = jnp.asarray(frames)
  target, target_mask = np.asarray(frames[:, 1:]), np.asarray(mask)[:, 1:]
  params = run.params
  visible_bias, hidden_bias, _ = rnnrbm.rnn_scan(params, frames)
  rows = temporal.rows

  def log_probability(candidates):
    """log P(candidate_t | true v_<t) of every frame: `[B, T]`."""
    return nade.log_probability(params.w_vh, params.w_hv, rows(visible_bias),
                                rows(hidden_bias), rows(candidates)
                                )[0].reshape(candidates.shape[:2])

  def accuracy(predicted):
    return prediction.frame_accuracy(np.asarray(predicted[:, 1:]), target,
                                     target_mask)

  # Frame t's previous frame (frame 0's is itself; it is not scored).
  previous = jnp.concatenate([frames[:, :1], frames[:, :-1]], axis=1)
  greedy, _ = run.model.frame_sample(params, jax.random.key(0), frames, True)
  print(f"copy the last frame: {accuracy(previous):.4f}; greedy: "
        f"{accuracy(greedy):.4f}", flush=True)
  best, best_log_probability = greedy, log_probability(greedy)
  candidates = [("the previous and greedy frames", previous)]
  for index in range(NUM_SAMPLES):
    sample, _ = run.model.frame_sample(params, jax.random.key(index + 1), frames,
                                       False)
    candidates.append((f"and {index + 1} samples", sample))
  for label, candidate in candidates:
    candidate_log_probability = log_probability(candidate)
    better = candidate_log_probability > best_log_probability
    best = jnp.where(better[..., None], candidate, best)
    best_log_probability = jnp.maximum(best_log_probability,
                                       candidate_log_probability)
    if label.startswith("the") or label in ("and 4 samples", "and 16 samples"):
      print(f"most probable of {label}: {accuracy(best):.4f}", flush=True)


if __name__ == "__main__":
  main(sys.argv[1])
