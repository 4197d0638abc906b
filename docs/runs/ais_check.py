"""docs/results.md's "AIS check" of a shipped music run: the mean log Z of 300 test
frames (drawn with numpy's default_rng(0)) by AIS with 1000 temperatures x 16
chains, what the results rows use, and with 3000 x 64.

    PYTHONPATH=. python docs/runs/ais_check.py docs/runs/nottingham_rtrbm
    PYTHONPATH=. python docs/runs/ais_check.py docs/runs/piano_midi_rnnrbm best

    PYTHONPATH=. python docs/runs/ais_check.py docs/runs/nottingham_rtrbm 10000x16

(`best`: a run shipped with its best validation parameters, `best_params.npz`; a
list of TEMPERATURESxCHAINS replaces the two default settings.)

A record of how those figures were measured (about 8 minutes a run on one CPU
core), not part of the library.
"""

import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import rtrbm_jax as rj
from rtrbm_jax.data import datasets
from rtrbm_jax.models import ais

NUM_FRAMES = 300


def main(workdir: str, *options: str) -> None:
  step = "best" if "best" in options else None
  settings = [tuple(map(int, setting.split("x")))
              for option in options if option != "best"
              for setting in option.split(",")] or [(1000, 16), (3000, 64)]
  run = rj.load_run(workdir, step=step)
  frames, mask = datasets.pad_sequences(
      datasets.load_sequences(run.config.data, "test"))
  rows = np.random.default_rng(0).choice(np.flatnonzero(mask), NUM_FRAMES,
                                         replace=False)
  rbms = run.model.frame_rbms(run.params, jnp.asarray(frames))
  visible_bias, hidden_bias = rbms.row_biases()
  if visible_bias.ndim == 2:  # the RNN-RBM's visible biases are per frame
    visible_bias = visible_bias[rows]
  for temperatures, chains in settings:
    start = time.time()
    log_z, standard_error = ais.log_partition(
        jax.random.key(1), rbms.w_vh, visible_bias, hidden_bias[rows],
        temperatures, chains)
    error_of_mean = jnp.sqrt(jnp.sum(standard_error ** 2)) / NUM_FRAMES
    print(f"{workdir}: {temperatures} x {chains}: mean log Z over {NUM_FRAMES} "
          f"test frames {float(jnp.mean(log_z)):.4f} (AIS s.e. of the mean "
          f"{float(error_of_mean):.4f}); {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
  main(*sys.argv[1:])
