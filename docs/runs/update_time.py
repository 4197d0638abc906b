"""Train-step time of the RNN-NADE against the RNN-RBM at the music rows' sizes.

Per setup (88 visible, 150 hidden, 100 recurrent units; batches of 10 windows of
24 frames, JSB's, or 64, the other sets'), one jitted update of each model:
the RNN-RBM's CD-15 gradient with chains at the prediction (`cd_gradient`, its
row's recipe) or the RNN-NADE's exact gradient (`jax.grad` through the scan),
then an Adam step. The two are timed interleaved, so a busy machine slows both
alike: medians of 7 rounds of 50 updates after a warm-up round. Prints a
Markdown table.

    PYTHONPATH=. python docs/runs/update_time.py

A record of how docs/performance.md's RNN-NADE figures were measured, not part
of the library.
"""

import time

import jax
import numpy as np
import optax

from rtrbm_jax.models import registry

NUM_VISIBLE, NUM_HIDDEN, NUM_RECURRENT = 88, 150, 100
BATCH, GIBBS_STEPS, ROUNDS, UPDATES = 10, 15, 7, 50


def _update(kind: str, num_frames: int):
  """`run(n)`: n updates of `kind` on one fixed random batch, blocking."""
  model = registry.get_model(kind, sampler="fused_threefry",
                             num_recurrent=NUM_RECURRENT, chain_start="prediction")
  params = model.init_params(jax.random.key(0), NUM_VISIBLE, NUM_HIDDEN, 0.01)
  optimizer = optax.adam(1e-3)
  batch = jax.random.bernoulli(jax.random.key(1), 0.1,
                               (BATCH, num_frames, NUM_VISIBLE)).astype(np.float32)

  @jax.jit
  def step(params, opt_state, key):
    grads, _ = model.cd_gradient(params, batch, key, GIBBS_STEPS)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state

  state = (params, optimizer.init(params))

  def run(num_updates):
    nonlocal state
    for index in range(num_updates):
      state = step(*state, jax.random.key(index))
    jax.block_until_ready(state)

  return run


def main() -> None:
  print("| frames per window | RNN-RBM CD-15 updates/s | RNN-NADE updates/s "
        "| RNN-NADE time per update / RNN-RBM's |")
  print("|---|---|---|---|")
  for num_frames in (24, 64):
    runs = {kind: _update(kind, num_frames) for kind in ("rnnrbm", "rnnnade")}
    times = {kind: [] for kind in runs}
    for round_index in range(ROUNDS + 1):
      for kind, run in runs.items():
        start = time.perf_counter()
        run(UPDATES)
        if round_index:  # the first round compiles and warms up
          times[kind].append((time.perf_counter() - start) / UPDATES)
    rnnrbm, rnnnade = (float(np.median(times[kind])) for kind in runs)
    print(f"| {num_frames} | {1 / rnnrbm:.1f} | {1 / rnnnade:.1f} "
          f"| {rnnnade / rnnrbm:.2f} |", flush=True)


if __name__ == "__main__":
  main()
