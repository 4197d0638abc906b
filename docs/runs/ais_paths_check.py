"""AIS's two paths and the visited-states bound on a shipped music run: the mean
log-likelihood of 300 test frames (drawn with numpy's default_rng(0), as
`ais_check.py`), its mean upper bound, and the frames above 0 or above their bound.

    PYTHONPATH=. python docs/runs/ais_paths_check.py docs/runs/nottingham_rtrbm \
        [TEMPERATURESxCHAINS ...]

The base-rate path starts from the logit of the training frames' mean activity
(one pseudo-count on and off per unit). A record of a measurement, not part of the
library.
"""

import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import rtrbm_jax as rj
from rtrbm_jax.data import datasets
from rtrbm_jax.models import ais
from rtrbm_jax.models import rbm

NUM_FRAMES = 300


def main(workdir: str, *options: str) -> None:
  settings = [tuple(map(int, option.split("x"))) for option in options] or [
      (300, 16)]
  run = rj.load_run(workdir)
  frames, mask = datasets.pad_sequences(
      datasets.load_sequences(run.config.data, "test"))
  rows = np.random.default_rng(0).choice(np.flatnonzero(mask), NUM_FRAMES,
                                         replace=False)
  rbms = run.model.frame_rbms(run.params, jnp.asarray(frames))
  visible_bias, hidden_bias = rbms.row_biases()
  if visible_bias.ndim == 2:  # the RNN-RBM's visible biases are per frame
    visible_bias = visible_bias[rows]
  hidden_bias = hidden_bias[rows]
  v = jnp.asarray(frames.reshape(-1, frames.shape[-1])[rows], jnp.float32)
  train = np.concatenate(datasets.load_sequences(run.config.data, "train"))
  mean = (train.sum(axis=0) + 1) / (len(train) + 2)
  base = jnp.asarray(np.log(mean) - np.log1p(-mean), jnp.float32)
  negative_free_energy = -rbm.free_energy(rbms.w_vh, visible_bias, hidden_bias, v)
  for temperatures, chains in settings:
    for path in ais.PATHS:
      start = time.time()
      estimate = ais.log_partition_with_bound(
          jax.random.key(1), rbms.w_vh, visible_bias, hidden_bias, temperatures,
          chains, path=path, visited=v,
          base_visible_bias=base if path == ais.BASE_RATE else None)
      log_likelihood = np.asarray(negative_free_energy - estimate.value)
      bound = np.asarray(negative_free_energy - estimate.lower_bound)
      error_of_mean = float(jnp.sqrt(jnp.sum(estimate.standard_error ** 2)))
      print(f"{workdir} {path} {temperatures} x {chains}: mean log-likelihood "
            f"{log_likelihood.mean():.4f} (AIS s.e. of the mean "
            f"{error_of_mean / NUM_FRAMES:.4f})"
            f", mean upper bound {bound.mean():.4f}, frames above 0: "
            f"{int((log_likelihood > 0).sum())}, above their bound: "
            f"{int((log_likelihood > bound).sum())} of {NUM_FRAMES}; "
            f"{time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
  main(*sys.argv[1:])
