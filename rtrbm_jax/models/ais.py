"""Annealed importance sampling of every frame's partition function.

Salakhutdinov & Murray (2008), "On the quantitative analysis of deep belief
networks", after Neal (2001), "Annealed importance sampling". A temporal model's
log-likelihood is `sum_t -F_t(v_t) - log Z_t`, where frame t is an RBM whose
partition function Z_t depends on the past through its biases. Past
`rbm.MAX_EXACT_UNITS` units Z_t cannot be enumerated, and AIS estimates it instead.
The frames' RBMs share `w_vh` and differ only in their biases, so every frame of
every sequence is one row of a single batched run, and the temperatures are one
`lax.scan`.

Path of distributions. For temperatures 0 = beta_0 < beta_1 < ... < beta_{K-1} = 1
(K = num_temperatures, linear schedule beta_k = k / (K - 1)), the RBM at beta is the
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


class Estimate(NamedTuple):
  """An AIS estimate and its standard error (a tuple: `value, error = estimate`).

  Attributes:
    value: the estimate, e.g. log Z per row `[N]` or log P(v_1..T) per sequence
      `[B]`, in nats.
    standard_error: its standard error, same shape.
  """
  value: Array
  standard_error: Array


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


def log_partition(key: Array, w_vh: Array, visible_bias: Array,
                  hidden_bias: Array, num_temperatures: int, num_chains: int,
                  visible_type: str = rbm.BINARY,
                  sampler: str = "uniform") -> Estimate:
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

  Returns:
    `Estimate` of log Z `[N]` in nats (a log normaliser of a density for Gaussian
    units) and its standard error `[N]`. Memory: the chains carry `[M, N, nh]`, and
    each temperature makes `[M, N, nv]` temporaries.
  """
  _check_settings(num_temperatures, num_chains, visible_type, sampler)
  _check_rows(w_vh, visible_bias, hidden_bias)
  return _log_partition(key, w_vh, visible_bias, hidden_bias, num_temperatures,
                        num_chains, visible_type, sampler)


@functools.partial(jax.jit, static_argnames=("num_temperatures", "num_chains",
                                             "visible_type", "sampler"))
def _log_partition(key, w_vh, visible_bias, hidden_bias, num_temperatures,
                   num_chains, visible_type, sampler):
  """`log_partition` without the checks; chains are the leading axis `[M, N, ...]`."""
  betas = jnp.linspace(0.0, 1.0, num_temperatures, dtype=w_vh.dtype)

  def hidden_term(beta, hidden_input):
    return jnp.sum(jax.nn.softplus(beta * hidden_input + hidden_bias), axis=-1)

  def step(carry, inputs):
    # The carry is v_{k-1} @ w_vh rather than v_{k-1}: it is all the Gibbs step needs.
    hidden_input, log_weight = carry
    previous_beta, beta, (hidden_key, visible_key) = inputs
    hidden = rbm.sample_bernoulli(
        hidden_key, jax.nn.sigmoid(previous_beta * hidden_input + hidden_bias),
        sampler)
    mean = rbm.visible_mean(previous_beta * w_vh, visible_bias, hidden,
                            visible_type)
    hidden_input = rbm.sample_visible(visible_key, mean, visible_type,
                                      sampler) @ w_vh
    log_weight += (hidden_term(beta, hidden_input)
                   - hidden_term(previous_beta, hidden_input))
    return (hidden_input, log_weight), None

  # The first Gibbs step, at beta_0 = 0, ignores its input and draws v_1 exactly
  # from the base model, so every chain can start from zeros.
  num_rows, num_hidden = hidden_bias.shape
  initial = (jnp.zeros((num_chains, num_rows, num_hidden), w_vh.dtype),
             jnp.zeros((num_chains, num_rows), w_vh.dtype))
  step_keys = jax.random.split(key, (num_temperatures - 1, 2))
  (_, log_weight), _ = jax.lax.scan(step, initial,
                                    (betas[:-1], betas[1:], step_keys))

  log_mean_weight = jax.nn.logsumexp(log_weight, axis=0) - math.log(num_chains)
  relative_weight = jnp.exp(log_weight - log_mean_weight)  # w / mean(w), in [0, M]
  standard_error = (jnp.std(relative_weight, axis=0, ddof=1)
                    / math.sqrt(num_chains))
  return Estimate(
      base_log_partition(visible_bias, hidden_bias, visible_type) + log_mean_weight,
      standard_error)
