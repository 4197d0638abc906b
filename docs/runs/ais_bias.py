"""The bias of AIS's log Z on sharp tiny RBMs, by path, against enumeration
(`models/ais.py`'s docstring table; issue 32, item 4).

    PYTHONPATH=. python docs/runs/ais_bias.py [SCALE]

Rows: 64 RBMs of 12 visible x 10 hidden units sharing weights scale * N(0, 1)
(default scale 4), visible biases N(0, 1) and hidden biases 2 N(0, 1) per row;
16 chains; 100, 300 and 1000 temperatures. For each path it prints the mean over
rows of (AIS log Z - exact log Z) (negative: log-likelihoods overestimated), the
mean |error|, the rows whose estimate is below the visited-states bound, and the
mean gap between exact log Z and that bound. Paths: the weights-only path
("weights"), the base-rate path from the row's own visible bias ("base_rate"),
from the logit of the mean activity pooled over all rows ("base_rate_pooled", as
the frames' mean activity of a data set) and from the logit of the row's own exact
mean activity ("base_rate_mean", the best case of a base rate). A record, not
part of the library.
"""

import sys

import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax.models import ais
from rtrbm_jax.models import rbm

NUM_VISIBLE, NUM_HIDDEN, NUM_ROWS, NUM_CHAINS = 12, 10, 64, 16
TEMPERATURES = (100, 300, 1000)


def family(scale: float, seed: int = 0):
  rng = np.random.default_rng(seed)
  return (jnp.asarray(scale * rng.standard_normal((NUM_VISIBLE, NUM_HIDDEN)),
                      jnp.float32),
          jnp.asarray(rng.standard_normal(NUM_VISIBLE), jnp.float32),
          jnp.asarray(2 * rng.standard_normal((NUM_ROWS, NUM_HIDDEN)), jnp.float32))


def exact_mean_logits(w_vh, visible_bias, hidden_bias) -> jax.Array:
  """logit of each row's exact mean activity `[N, nv]`, by enumeration."""
  states = jnp.asarray(rbm.binary_states(NUM_VISIBLE), jnp.float32)  # [S, nv]
  negative_free_energy = -jax.vmap(
      lambda c: rbm.free_energy(w_vh, visible_bias, c, states))(hidden_bias)
  probability = jax.nn.softmax(negative_free_energy, axis=-1)  # [N, S]
  mean = jnp.clip(probability @ states, 1e-4, 1 - 1e-4)
  return jnp.log(mean) - jnp.log1p(-mean)


def _pooled(logits: jax.Array) -> jax.Array:
  """logit of the mean activity over all rows `[nv]` (a data set's base rate)."""
  mean = jnp.mean(jax.nn.sigmoid(logits), axis=0)
  return jnp.log(mean) - jnp.log1p(-mean)


def main(scale: float = 4.0) -> None:
  w_vh, visible_bias, hidden_bias = family(scale)
  exact = rbm.exact_log_partition(w_vh, visible_bias, hidden_bias)
  mean_logits = exact_mean_logits(w_vh, visible_bias, hidden_bias)
  paths = {"weights": (ais.WEIGHTS, None), "base_rate": (ais.BASE_RATE, None),
           "base_rate_pooled": (ais.BASE_RATE, _pooled(mean_logits)),
           "base_rate_mean": (ais.BASE_RATE, mean_logits)}
  print(f"weight scale {scale}, {NUM_VISIBLE} x {NUM_HIDDEN} units, {NUM_ROWS} "
        f"rows, {NUM_CHAINS} chains")
  print("path              K  mean(AIS-exact)  mean|AIS-exact|  below bound  "
        "mean(exact-bound)")
  for name, (path, base) in paths.items():
    for num_temperatures in TEMPERATURES:
      estimate = ais.log_partition_with_bound(
          jax.random.key(1), w_vh, visible_bias, hidden_bias, num_temperatures,
          NUM_CHAINS, sampler="fused_threefry", path=path, base_visible_bias=base)
      error = np.asarray(estimate.value - exact)
      below = int(np.sum(np.asarray(estimate.value < estimate.lower_bound)))
      gap = float(np.mean(np.asarray(exact - estimate.lower_bound)))
      print(f"{name:16s} {num_temperatures:4d}  {error.mean():+15.3f}  "
            f"{np.abs(error).mean():15.3f}  {below:5d}/{NUM_ROWS}  {gap:17.3f}",
            flush=True)


if __name__ == "__main__":
  main(*map(float, sys.argv[1:]))
