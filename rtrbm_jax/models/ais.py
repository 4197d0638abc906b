"""Annealed importance sampling of every frame's partition function.

Salakhutdinov & Murray (2008), "On the quantitative analysis of deep belief
networks", after Neal (2001), "Annealed importance sampling". A temporal model's
log-likelihood is `sum_t -F_t(v_t) - log Z_t`, where frame t is an RBM whose
partition function Z_t depends on the past through its biases. Past
`rbm.MAX_EXACT_UNITS` units Z_t cannot be enumerated, and AIS estimates it instead.
The frames' RBMs share `w_vh` and differ only in their biases, so every frame of
every sequence is one row of a single batched run, and the temperatures are one
`lax.scan`.

Paths of distributions. For temperatures 0 = beta_0 < beta_1 < ... < beta_{K-1} = 1
(K = num_temperatures, linear schedule beta_k = k / (K - 1)), the `WEIGHTS` path
(the default, which every shipped figure used) takes the RBM at beta to be the
row's RBM with `w_vh` replaced by `beta * w_vh`; summing out h,

  log p*_beta(v) = -F_beta(v) = u(v) + sum_j softplus(beta (v @ w_vh)_j + c_j),

with u(v) = v.a for binary visibles and -||v - a||^2 / 2 for Gaussian ones. At
beta = 0 all units are independent with the row's own biases, so the base model is
sampled exactly and its partition function is closed form:

  binary:    log Z_0 = sum_i softplus(a_i) + sum_j softplus(c_j)
  Gaussian:  log Z_0 = (nv / 2) log(2 pi) + sum_j softplus(c_j)

Each chain m draws v_1 ~ p_0, then for k = 1, ..., K - 1

  v_k ~ T_{k-1}(. | v_{k-1})   (one Gibbs step v -> h -> v at beta_{k-1}; k > 1)
  log w_m += log p*_{beta_k}(v_k) - log p*_{beta_{k-1}}(v_k),

and E[w_m] = Z / Z_0. The visible term u(v) cancels in each increment, so the one
product `v_k @ w_vh` gives both the increment and P(h | v_k) for the next step.

The `BASE_RATE` path (Salakhutdinov & Murray 2008, sec. 4.1, with their base model
p_A of independent visible units with biases b and no hidden term) anneals the
whole energy, biases too:

  log p*_beta(v) = (1 - beta) v.b + beta v.a
                   + sum_j softplus(beta ((v @ w_vh)_j + c_j)),
  binary:    log Z_0 = sum_i softplus(b_i) + nh log 2,

b the base rate (`base_visible_bias`: e.g. the logit of the frames' mean
activity; by default the row's own a). Gaussian units start from N(a, I), whose
visible term stays put (b = a), and log Z_0 = (nv / 2) log(2 pi) + nh log 2. The
increments gain (beta_k - beta_{k-1}) v_k.(a - b), still one product a step.

Measured bias (`docs/runs/ais_bias.py 4`: 64 rows of 12 x 10 units, weights
4 N(0, 1), visible biases N(0, 1), hidden biases 2 N(0, 1); 16 chains): the mean
over rows of AIS log Z - exact log Z (negative: likelihoods overestimated), the
mean |error|, and the rows whose estimate fell below the bound below:

  path, base rate b             K=100           K=300           K=1000
  weights                       -0.053 / 0.188  -0.035 / 0.105  -0.006 / 0.060
  base rate, b = a              -0.030 / 0.180  -0.045 / 0.101  -0.011 / 0.053
  base rate, b pooled           +0.000 / 0.032  +0.003 / 0.017  -0.002 / 0.011
  base rate, b row's own mean   -0.004 / 0.016  -0.001 / 0.010  -0.000 / 0.006
  (rows below the bound: 20, 13, 5 / 18, 13, 4 / 1, 0, 0 / 0, 0, 0 of 64)

"b pooled" is the logit of the mean activity over all rows, as a data set's base
rate would be (`likelihood.base_rate_logits`); "row's own mean" needs the exact
marginals, the best a base rate can do. The base rate from data cuts the error
of 1000 weight-path temperatures with 100; at weight scale 3 (`ais_bias.py 3`)
likewise: weights -0.057 / 0.166 at K=100 and -0.005 / 0.046 at K=1000, b pooled
-0.004 / 0.034 and -0.002 / 0.010. On a shipped row
(`docs/runs/ais_paths_check.py docs/runs/nottingham_rtrbm 300x16 1000x16`, 300
test frames, b from the training frames) the weight path reads -0.97 and -1.95
nats per frame, the base-rate path -2.15 and -2.39 (an AIS written apart from
this code reads -2.59 +- 0.06); frames above their bound 180 and 146 / 129 and
83 of 300: neither is converged there, and the bound says so.

A bound that cannot fail (`log_partition_with_bound`). Z = sum_v exp(-F(v)) over
all states, so for binary units log Z >= log of that sum over any set of
distinct states: here the M chains' states at beta = 1 and, where given, the
frame itself (`visited_states_bound`). Each frame's log P(v) <= -F(v) minus the
bound, whatever the chains did; an estimate above it is wrong.

Estimate and error, over M chains:

  log Z ~= log Z_0 + log((1/M) sum_m w_m)
  se(log Z) ~= std(w) / (sqrt(M) mean(w))   (delta method: se(log x) ~= se(x) / x)

computed in log space as `std(w_m / mean(w)) / sqrt(M)`, whose terms are at most M.
The mean of the weights is unbiased for Z / Z_0, so by Jensen's inequality the log
estimate is biased low (by about se^2 / 2): log-likelihoods are, if anything,
overestimated. When a few weights dominate, the sample std underestimates the
error too; more temperatures make the weights less variable, which is the remedy.
"""

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax.models import rbm

Array = jax.Array

# Fewer than two temperatures leaves no path; fewer than two chains, no error bar.
MIN_TEMPERATURES = 2
MIN_CHAINS = 2
# The paths of distributions (see above).
WEIGHTS = "weights"
BASE_RATE = "base_rate"
PATHS = (WEIGHTS, BASE_RATE)


class Estimate(NamedTuple):
  """An AIS estimate and its standard error (a tuple: `value, error = estimate`).

  Attributes:
    value: the estimate, e.g. log Z per row `[N]` or log P(v_1..T) per sequence
      `[B]`, in nats.
    standard_error: its standard error, same shape.
  """
  value: Array
  standard_error: Array


class BoundedEstimate(NamedTuple):
  """An AIS estimate of log Z, its standard error and a bound that cannot fail.

  Attributes:
    value: log Z per row `[N]`, in nats.
    standard_error: its standard error `[N]`.
    lower_bound: `[N]` log Z >= lower_bound, whatever the chains did
      (`visited_states_bound`); -inf for Gaussian units.
  """
  value: Array
  standard_error: Array
  lower_bound: Array


def _check_count(name: str, value, minimum: int) -> None:
  """num_temperatures and num_chains fix array shapes, so they must be static ints."""
  if (isinstance(value, bool) or not isinstance(value, (int, np.integer))
      or value < minimum):
    raise ValueError(
        f"{name} must be a Python int >= {minimum} (static under jax.jit: pass it "
        f"in static_argnames), got {value!r}.")


def _check_settings(num_temperatures, num_chains, visible_type: str,
                    sampler: str) -> None:
  _check_count("num_temperatures", num_temperatures, MIN_TEMPERATURES)
  _check_count("num_chains", num_chains, MIN_CHAINS)
  rbm.check_visible_type(visible_type)
  rbm.check_sampler(sampler)


def _check_rows(w_vh, visible_bias, hidden_bias) -> None:
  """Static shape checks of an RBM family: `w_vh [nv, nh]`, biases per row."""
  if np.ndim(w_vh) != 2:
    raise ValueError(f"w_vh must have shape [nv, nh], got shape {np.shape(w_vh)}.")
  num_visible, num_hidden = np.shape(w_vh)
  num_rows = np.shape(hidden_bias)[0] if np.ndim(hidden_bias) == 2 else None
  if num_rows is None or np.shape(hidden_bias)[1] != num_hidden:
    raise ValueError(f"hidden_bias must have shape [N, {num_hidden}] to match w_vh, "
                     f"got shape {np.shape(hidden_bias)}.")
  if np.shape(visible_bias) not in ((num_visible,), (num_rows, num_visible)):
    raise ValueError(
        f"visible_bias must have shape [{num_visible}] or [{num_rows}, "
        f"{num_visible}] to match w_vh and hidden_bias, got shape "
        f"{np.shape(visible_bias)}.")


def base_log_partition(visible_bias: Array, hidden_bias: Array,
                       visible_type: str = rbm.BINARY) -> Array:
  """log Z_0 of each row's RBM with zero weights: `[N]` (closed form, see above)."""
  hidden_term = jnp.sum(jax.nn.softplus(hidden_bias), axis=-1)
  if visible_type == rbm.BINARY:
    return hidden_term + jnp.sum(jax.nn.softplus(visible_bias), axis=-1)
  num_visible = visible_bias.shape[-1]
  return hidden_term + 0.5 * num_visible * math.log(2 * math.pi)


def _base_rate_log_partition(base_visible_bias: Array, num_rows: int,
                             num_hidden: int, visible_type: str) -> Array:
  """log Z_0 of the base-rate path's base model: `[N]` (the hidden units, free at
  beta = 0, each contribute log 2)."""
  hidden_term = num_hidden * math.log(2.0)
  if visible_type == rbm.BINARY:
    visible_term = jnp.sum(jax.nn.softplus(base_visible_bias), axis=-1)
  else:
    visible_term = 0.5 * base_visible_bias.shape[-1] * math.log(2 * math.pi)
  return jnp.broadcast_to(visible_term + hidden_term, (num_rows,))


def _check_path(path: str, base_visible_bias, visible_type: str,
                visible_bias) -> None:
  if path not in PATHS:
    raise ValueError(f"path must be one of {PATHS}, got {path!r}.")
  if base_visible_bias is None:
    return
  if path != BASE_RATE or visible_type != rbm.BINARY:
    raise ValueError("base_visible_bias is an option of the base-rate path of "
                     "binary units only (Gaussian units start from their own mean).")
  if np.shape(base_visible_bias)[-1:] != np.shape(visible_bias)[-1:] or (
      np.ndim(base_visible_bias) not in (1, 2)):
    raise ValueError(f"base_visible_bias must have shape [nv] or [N, nv] with nv = "
                     f"{np.shape(visible_bias)[-1]}, got shape "
                     f"{np.shape(base_visible_bias)}.")


def log_partition(key: Array, w_vh: Array, visible_bias: Array,
                  hidden_bias: Array, num_temperatures: int, num_chains: int,
                  visible_type: str = rbm.BINARY, sampler: str = "uniform",
                  path: str = WEIGHTS, base_visible_bias: Array | None = None
                  ) -> Estimate:
  """AIS estimate of log Z for every row of an RBM family, with its standard error.

  Args:
    key: PRNG key.
    w_vh: [nv, nh] weights shared by all rows.
    visible_bias: [nv] (shared by all rows) or [N, nv].
    hidden_bias: [N, nh].
    num_temperatures: K >= 2 temperatures, both ends included (K - 1 Gibbs steps).
    num_chains: M >= 2 independent chains per row.
    visible_type: "binary" or "gaussian".
    sampler: how Bernoulli samples are drawn (`rbm.BERNOULLI_SAMPLERS`).
    path: `WEIGHTS` (anneal the weights from the row's own independent units) or
      `BASE_RATE` (anneal weights and biases from `base_visible_bias`); see above.
    base_visible_bias: the base-rate path's binary base model, [nv] or [N, nv]
      (e.g. the logit of the frames' mean activity); None: the row's own
      visible bias.

  Returns:
    `Estimate` of log Z `[N]` in nats (a log normaliser of a density for Gaussian
    units) and its standard error `[N]`. Memory: the chains carry `[M, N, nv]`
    and `[M, N, nh]`, and each temperature makes `[M, N, nv]` temporaries.
  """
  estimate = log_partition_with_bound(
      key, w_vh, visible_bias, hidden_bias, num_temperatures, num_chains,
      visible_type, sampler, path, base_visible_bias)
  return Estimate(estimate.value, estimate.standard_error)


def log_partition_with_bound(key: Array, w_vh: Array, visible_bias: Array,
                             hidden_bias: Array, num_temperatures: int,
                             num_chains: int, visible_type: str = rbm.BINARY,
                             sampler: str = "uniform", path: str = WEIGHTS,
                             base_visible_bias: Array | None = None,
                             visited: Array | None = None) -> BoundedEstimate:
  """`log_partition` and a lower bound on log Z from the chains' final states.

  Args:
    key, ..., base_visible_bias: as `log_partition`.
    visited: [N, nv] one more state of each row counted in the bound (e.g. the
      frame whose likelihood is wanted), or None.

  Returns:
    `BoundedEstimate`: the estimate, its standard error and `lower_bound` `[N]`,
    log sum_v exp(-F(v)) over the distinct states among the M chains' states at
    beta = 1 and `visited` (`visited_states_bound`; -inf for Gaussian units).
  """
  _check_settings(num_temperatures, num_chains, visible_type, sampler)
  _check_rows(w_vh, visible_bias, hidden_bias)
  _check_path(path, base_visible_bias, visible_type, visible_bias)
  if visited is not None and np.shape(visited) != (np.shape(hidden_bias)[0],
                                                   np.shape(w_vh)[0]):
    raise ValueError(f"visited must have shape [N, nv] = "
                     f"{[np.shape(hidden_bias)[0], np.shape(w_vh)[0]]}, got "
                     f"{np.shape(visited)}.")
  if base_visible_bias is None:
    base_visible_bias = visible_bias
  return _log_partition(key, w_vh, visible_bias, hidden_bias, base_visible_bias,
                        visited, num_temperatures, num_chains, visible_type,
                        sampler, path)


# Odd 32-bit multipliers of a state's hash (`_state_hashes`), one per visible unit.
_HASH_MULTIPLIERS = np.random.default_rng(32).integers(
    0, 2 ** 31, 4096, dtype=np.uint32) * 2 + 1


def _state_hashes(states: Array) -> Array:
  """A uint32 hash of each binary state `[..., nv] -> [...]`: sum_i v_i r_i mod
  2^32. Two distinct states collide with probability about 2^-32; a collision
  only drops a state from the bound, which stays a bound."""
  multipliers = jnp.asarray(_HASH_MULTIPLIERS[:states.shape[-1]])
  return jnp.sum(states.astype(jnp.uint32) * multipliers, axis=-1,
                 dtype=jnp.uint32)


def visited_states_bound(w_vh: Array, visible_bias: Array, hidden_bias: Array,
                         states: Array, visible_type: str = rbm.BINARY) -> Array:
  """log sum over the distinct states S of each row of exp(-F(v)): `[N]`.

  Z = sum over all states of exp(-F(v)) >= the sum over any set of distinct
  states, so this is a lower bound on log Z that holds whatever the chains did
  (each frame's log P(v) <= -F(v) - bound). States are told apart by a hash
  (sorted per row, the first of each run kept), so none is counted twice.

  Args:
    w_vh: [nv, nh]; visible_bias: [nv] or [N, nv]; hidden_bias: [N, nh].
    states: [S, N, nv] binary states of each row.
    visible_type: for Gaussian units a sum of densities bounds nothing: -inf.
  """
  if visible_type != rbm.BINARY:
    return jnp.full(hidden_bias.shape[:1], -jnp.inf, w_vh.dtype)
  negative_free_energy = -rbm.free_energy(w_vh, visible_bias, hidden_bias, states)
  hashes, negative_free_energy = jax.lax.sort(
      (_state_hashes(states), negative_free_energy), dimension=0, num_keys=1)
  first = jnp.concatenate([jnp.ones_like(hashes[:1], bool),
                           hashes[1:] != hashes[:-1]], axis=0)
  return jax.nn.logsumexp(jnp.where(first, negative_free_energy, -jnp.inf), axis=0)


@functools.partial(jax.jit, static_argnames=("num_temperatures", "num_chains",
                                             "visible_type", "sampler", "path"))
def _log_partition(key, w_vh, visible_bias, hidden_bias, base_visible_bias,
                   visited, num_temperatures, num_chains, visible_type, sampler,
                   path):
  """`log_partition_with_bound` without the checks; chains are the leading axis
  `[M, N, ...]`."""
  betas = jnp.linspace(0.0, 1.0, num_temperatures, dtype=w_vh.dtype)
  base_rate = path == BASE_RATE
  # Binary units on the base-rate path: the visible term's slope in beta.
  visible_slope = (visible_bias - base_visible_bias
                   if base_rate and visible_type == rbm.BINARY else None)

  def hidden_term(beta, hidden_input):
    bias = beta * hidden_bias if base_rate else hidden_bias
    return jnp.sum(jax.nn.softplus(beta * hidden_input + bias), axis=-1)

  def step(carry, inputs):
    # The carry holds v_{k-1} @ w_vh: all the Gibbs step needs besides v_{k-1}.
    _, hidden_input, log_weight = carry
    previous_beta, beta, (hidden_key, visible_key) = inputs
    hidden = rbm.sample_bernoulli(hidden_key, jax.nn.sigmoid(
        previous_beta * hidden_input
        + (previous_beta * hidden_bias if base_rate else hidden_bias)), sampler)
    bias = (visible_bias if visible_slope is None
            else base_visible_bias + previous_beta * visible_slope)
    visible = rbm.sample_visible(visible_key, rbm.visible_mean(
        previous_beta * w_vh, bias, hidden, visible_type), visible_type, sampler)
    hidden_input = visible @ w_vh
    log_weight += (hidden_term(beta, hidden_input)
                   - hidden_term(previous_beta, hidden_input))
    if visible_slope is not None:
      log_weight += (beta - previous_beta) * jnp.sum(visible * visible_slope, -1)
    return (visible, hidden_input, log_weight), None

  # The first Gibbs step, at beta_0 = 0, ignores its input and draws v_1 exactly
  # from the base model, so every chain can start from zeros.
  num_rows, num_hidden = hidden_bias.shape
  initial = (jnp.zeros((num_chains, num_rows, w_vh.shape[0]), w_vh.dtype),
             jnp.zeros((num_chains, num_rows, num_hidden), w_vh.dtype),
             jnp.zeros((num_chains, num_rows), w_vh.dtype))
  step_keys = jax.random.split(key, (num_temperatures - 1, 2))
  (visible, _, log_weight), _ = jax.lax.scan(step, initial,
                                             (betas[:-1], betas[1:], step_keys))

  log_mean_weight = jax.nn.logsumexp(log_weight, axis=0) - math.log(num_chains)
  relative_weight = jnp.exp(log_weight - log_mean_weight)  # w / mean(w), in [0, M]
  standard_error = (jnp.std(relative_weight, axis=0, ddof=1)
                    / math.sqrt(num_chains))
  base = (_base_rate_log_partition(base_visible_bias, num_rows, num_hidden,
                                   visible_type) if base_rate
          else base_log_partition(visible_bias, hidden_bias, visible_type))
  states = visible if visited is None else jnp.concatenate(
      [visible, visited.astype(visible.dtype)[None]], axis=0)
  return BoundedEstimate(
      base + log_mean_weight, standard_error,
      visited_states_bound(w_vh, visible_bias, hidden_bias, states, visible_type))
