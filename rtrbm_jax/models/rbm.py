"""A family of RBMs that share one weight matrix, each row with its own biases.

Every frame of every sequence of a temporal model is one row here: the temporal
models turn a batch `[B, T, nv]` into `N = B * T` rows whose biases depend on the
past, and from then on the frames are independent RBMs. This module knows nothing
about time.

Energy of one row, with visible bias `a` and hidden bias `c`:

  binary visibles:    E(v, h) = -v.a - h.c - v @ w_vh @ h
  Gaussian visibles:  E(v, h) = ||v - a||^2 / 2 - h.c - v @ w_vh @ h   (unit variance)

Hidden units are binary. Shapes: `w_vh [nv, nh]`; `visible_bias [nv]` (shared by all
rows) or `[N, nv]`; `hidden_bias [N, nh]`; visible states `v [N, nv]`.
"""

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax import checks

Array = jax.Array

BINARY, GAUSSIAN, VISIBLE_TYPES = (checks.BINARY, checks.GAUSSIAN,
                                   checks.VISIBLE_TYPES)

# How Bernoulli samples are drawn. Both give 1 iff u < p, with u the uniform of
# `jax.random.uniform` (float32: a multiple of 2^-23 in [0, 1)), so P(1) is p to
# within 2^-23.
#   "uniform": `jax.random.uniform`, with whichever PRNG implementation the key has.
#   "fused_threefry": the same u from the same Threefry-2x32 bits (so, for a threefry
#     key, the very same samples), with the hash written as array operations that XLA
#     fuses into the comparison. On CPU jax lowers its threefry as a loop of five
#     passes over whole arrays in memory; there the Gibbs chain's random numbers
#     cost as much as its matrix products under "uniform" and ~10x less under
#     "fused_threefry" (the train step at B = 10, CD-25: 42% -> 73% of its matmul
#     ceiling; README, Performance). Elsewhere jax lowers the hash unrolled, which
#     XLA fuses too, so the two should cost about the same there (not measured).
#     Needs a threefry key (the default implementation).
BERNOULLI_SAMPLERS = ("uniform", "fused_threefry")

# Rotation constants of Threefry-2x32, for even and odd groups of four rounds.
_THREEFRY_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))

# Exact enumeration sums over 2^min(nv, nh) states per row (hidden states only for
# Gaussian visibles); past this many units it is neither fast nor small.
MAX_EXACT_UNITS = 20


class Statistics(NamedTuple):
  """Sufficient statistics of a batch of RBM rows (data, samples or expectations).

  Attributes:
    visible: [N, nv] visible states (or their expectations), one per row.
    hidden: [N, nh] hidden probabilities (or expectations), one per row.
    weight: [nv, nh] `sum_n visible_n outer hidden_n`, summed over rows.
  """
  visible: Array
  hidden: Array
  weight: Array


class Gradient(NamedTuple):
  """Gradient of a plain RBM's loss with respect to its parameters.

  Attributes:
    w_vh: [nv, nh].
    visible_bias: [nv].
    hidden_bias: [nh].
  """
  w_vh: Array
  visible_bias: Array
  hidden_bias: Array


class GibbsResult(NamedTuple):
  """The last step of a Gibbs chain.

  Attributes:
    visible_mean: [N, nv] mean of the last visible step given the hiddens before it.
    visible_sample: [N, nv] the last visible sample.
    hidden_probabilities: [N, nh] P(h = 1 | visible_sample).
  """
  visible_mean: Array
  visible_sample: Array
  hidden_probabilities: Array


def check_sampler(sampler: str) -> None:
  """`sampler` is one of `BERNOULLI_SAMPLERS` (a ValueError naming them if not)."""
  if sampler not in BERNOULLI_SAMPLERS:
    raise ValueError(
        f"sampler must be one of {BERNOULLI_SAMPLERS}, got {sampler!r}.")


def check_visible_type(visible_type: str) -> None:
  if visible_type not in VISIBLE_TYPES:
    raise ValueError(
        f"visible_type must be one of {VISIBLE_TYPES}, got {visible_type!r}.")


def hidden_probabilities(w_vh: Array, hidden_bias: Array, v: Array) -> Array:
  """P(h = 1 | v) for each row: `[N, nh]`."""
  return jax.nn.sigmoid(v @ w_vh + hidden_bias)


def visible_mean(w_vh: Array, visible_bias: Array, h: Array,
                 visible_type: str = BINARY) -> Array:
  """E[v | h] for each row: `[N, nv]` (sigmoid for binary, identity for Gaussian)."""
  pre_activation = h @ w_vh.T + visible_bias
  if visible_type == BINARY:
    return jax.nn.sigmoid(pre_activation)
  return pre_activation


def free_energy(w_vh: Array, visible_bias: Array, hidden_bias: Array, v: Array,
                visible_type: str = BINARY) -> Array:
  """F(v) = -log sum_h exp(-E(v, h)) for each row: `[N]`."""
  hidden_term = jnp.sum(jax.nn.softplus(v @ w_vh + hidden_bias), axis=-1)
  if visible_type == BINARY:
    return -jnp.sum(v * visible_bias, axis=-1) - hidden_term
  return 0.5 * jnp.sum(jnp.square(v - visible_bias), axis=-1) - hidden_term


def threefry_2x32(key_words: Array, count_high: Array,
                  count_low: Array) -> tuple[Array, Array]:
  """The Threefry-2x32 hash (20 rounds; Salmon et al., SC 2011) as array operations.

  The function of `jax.extend.random.threefry_2x32`, elementwise over the counters;
  unlike jax's CPU lowering (a rolled loop over whole arrays) it fuses with whatever
  consumes its output.

  Args:
    key_words: [2] uint32 key.
    count_high, count_low: uint32 arrays of one shape, the two words of each counter.

  Returns:
    The two uint32 output words, each of the counters' shape.
  """
  key_schedule = (key_words[0], key_words[1],
                  key_words[0] ^ key_words[1] ^ np.uint32(0x1BD11BDA))
  x0 = count_high + key_schedule[0]
  x1 = count_low + key_schedule[1]
  for group in range(5):
    for rotation in _THREEFRY_ROTATIONS[group % 2]:
      x0 = x0 + x1
      x1 = (x1 << np.uint32(rotation)) | (x1 >> np.uint32(32 - rotation))
      x1 = x0 ^ x1
    x0 = x0 + key_schedule[(group + 1) % 3]
    x1 = x1 + key_schedule[(group + 2) % 3] + np.uint32(group + 1)
  return x0, x1


def _flat_index(shape: tuple[int, ...]) -> Array:
  """Row-major index of every element of an array of `shape`, as uint32."""
  index = jnp.zeros(shape, jnp.uint32)
  stride = 1
  for axis in reversed(range(len(shape))):
    index = index + jax.lax.broadcasted_iota(jnp.uint32, shape, axis) * np.uint32(
        stride)
    stride *= shape[axis]
  return index


def _threefry_key_words(key: Array) -> Array:
  """[2] uint32 words of a threefry key (typed, or raw as `jax.random.PRNGKey`)."""
  if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
    implementation = str(jax.random.key_impl(key))
    if implementation != "threefry2x32":
      raise ValueError(
          f"sampler 'fused_threefry' needs a threefry2x32 key, got a key of "
          f"implementation {implementation!r}; use sampler 'uniform' with it.")
    return jax.random.key_data(key)
  return key


def fused_threefry_uniform(key: Array, shape: tuple[int, ...], dtype) -> Array:
  """`jax.random.uniform(key, shape, dtype)` for a threefry key, bit for bit.

  Element i gets the Threefry-2x32 hash of the 64-bit counter i (the words XORed,
  or concatenated for 64-bit floats), whose top mantissa-many bits become a float in
  [1, 2), minus 1: what jax does under its default `jax_threefry_partitionable`.
  """
  dtype = jnp.dtype(dtype)
  if math.prod(shape) > 2 ** 32:
    raise ValueError(f"sampler 'fused_threefry' draws at most 2^32 numbers at once, "
                     f"got shape {shape}.")
  count_low = _flat_index(shape)
  high, low = threefry_2x32(_threefry_key_words(key), jnp.zeros_like(count_low),
                            count_low)
  info = jnp.finfo(dtype)
  unsigned = jnp.dtype(f"uint{info.bits}")
  if info.bits == 64:
    bits = (high.astype(unsigned) << np.uint64(32)) | low.astype(unsigned)
    random_bits = 64
  else:
    # jax draws 8 bits for floats with fewer than 8 mantissa bits (bfloat16).
    random_bits = 8 if info.nmant < 8 else info.bits
    bits = (high ^ low).astype(f"uint{random_bits}").astype(unsigned)
  mantissa = bits >> unsigned.type(random_bits - info.nmant)
  one = np.array(1, dtype).view(unsigned)
  return jax.lax.bitcast_convert_type(mantissa | one, dtype) - np.array(1, dtype)


def uniform_draws(key: Array, shape, dtype, sampler: str = "uniform") -> Array:
  """U[0, 1) draws by the Bernoulli sampler `sampler` (`BERNOULLI_SAMPLERS`)."""
  check_sampler(sampler)
  if sampler == "fused_threefry":
    return fused_threefry_uniform(key, shape, dtype)
  return jax.random.uniform(key, shape, dtype)


def sample_bernoulli(key: Array, probabilities: Array,
                     sampler: str = "uniform") -> Array:
  """Binary samples with P(1) = `probabilities` (each in [0, 1]), in their dtype
  and shape, from `uniform_draws` by `sampler` (a threefry key for
  "fused_threefry"; for a threefry key, all samplers give the same samples)."""
  uniform = uniform_draws(key, probabilities.shape, probabilities.dtype, sampler)
  return (uniform < probabilities).astype(probabilities.dtype)


def sample_visible(key: Array, mean: Array, visible_type: str = BINARY,
                   sampler: str = "uniform") -> Array:
  """A visible sample given its conditional mean: Bernoulli or unit-variance
  Gaussian."""
  if visible_type == BINARY:
    return sample_bernoulli(key, mean, sampler)
  return mean + jax.random.normal(key, mean.shape, mean.dtype)


def gibbs_chain(key: Array, w_vh: Array, visible_bias: Array, hidden_bias: Array,
                initial_hidden_probabilities: Array, num_steps,
                visible_type: str = BINARY, sampler: str = "uniform") -> GibbsResult:
  """Runs `num_steps` alternating Gibbs steps h -> v -> h on every row at once.

  The chain starts from hidden probabilities (for CD-k, the data's P(h | v), which
  the caller has already computed, so the first step costs no matrix product).
  A step samples h, then v given h, then computes P(h | v). The last step's hidden
  sample is never drawn, since only its probabilities are used.

  Args:
    key: PRNG key.
    w_vh: [nv, nh] shared weights.
    visible_bias: [nv] or [N, nv].
    hidden_bias: [N, nh].
    initial_hidden_probabilities: [N, nh] P(h = 1) to start from.
    num_steps: number of Gibbs steps k >= 1; a Python int or a traced integer (so a
      CD schedule or a swept k needs no recompilation). A traced k is not
      checked: a k < 1 runs one step (`checks.check_num_gibbs_steps`).
    visible_type: "binary" or "gaussian".
    sampler: how Bernoulli samples are drawn, one of `BERNOULLI_SAMPLERS`.

  Returns:
    The `GibbsResult` of the last step.
  """

  def half_step(step_key, hidden_sample):
    mean = visible_mean(w_vh, visible_bias, hidden_sample, visible_type)
    sample = sample_visible(step_key, mean, visible_type, sampler)
    return GibbsResult(mean, sample,
                       hidden_probabilities(w_vh, hidden_bias, sample))

  def sample_hidden(step, probabilities):
    return sample_bernoulli(jax.random.fold_in(key, 2 * step), probabilities,
                            sampler)

  def full_step(step, hidden_sample):
    result = half_step(jax.random.fold_in(key, 2 * step + 1), hidden_sample)
    return sample_hidden(step + 1, result.hidden_probabilities)

  hidden_sample = sample_hidden(0, initial_hidden_probabilities)
  hidden_sample = jax.lax.fori_loop(0, num_steps - 1, full_step, hidden_sample)
  return half_step(jax.random.fold_in(key, 2 * num_steps - 1), hidden_sample)


def mean_field_chain(w_vh: Array, visible_bias: Array, hidden_bias: Array,
                     initial_hidden_probabilities: Array, num_steps,
                     visible_type: str = BINARY) -> Array:
  """`gibbs_chain` with means for samples: E[v | h] of the hidden probabilities,
  then P(h | v) of those means, `num_steps` times; it seeks a fixed point of the
  two conditionals (for Gaussian units, whose unit-variance samples drown a sharp
  conditional, the predictor Taylor et al.'s CRBM generates with).

  Args:
    w_vh: [nv, nh] shared weights.
    visible_bias: [nv] or [N, nv].
    hidden_bias: [N, nh].
    initial_hidden_probabilities: [N, nh] P(h = 1) to start from.
    num_steps: steps k >= 1 (a Python int or a traced integer).
    visible_type: "binary" or "gaussian".

  Returns:
    [N, nv] the visible means of the last step.
  """

  def step(_, hidden):
    visible = visible_mean(w_vh, visible_bias, hidden, visible_type)
    return hidden_probabilities(w_vh, hidden_bias, visible)

  hidden = jax.lax.fori_loop(0, num_steps - 1, step, initial_hidden_probabilities)
  return visible_mean(w_vh, visible_bias, hidden, visible_type)


def data_statistics(visible: Array, hidden: Array) -> Statistics:
  """Statistics of given visible states and hidden probabilities (one product)."""
  return Statistics(visible, hidden, visible.T @ hidden)


def cd_statistics(key: Array, w_vh: Array, visible_bias: Array, hidden_bias: Array,
                  data_hidden_probabilities: Array, num_steps,
                  visible_type: str = BINARY,
                  sampler: str = "uniform") -> tuple[Statistics, GibbsResult]:
  """CD-k estimate of the model statistics of every row, and the chain's last step.

  The negative statistics use the last visible *sample* and its hidden probabilities,
  so that they are an unbiased estimate of the chain's distribution (which tends to
  the model's as k grows).
  """
  result = gibbs_chain(key, w_vh, visible_bias, hidden_bias,
                       data_hidden_probabilities, num_steps, visible_type, sampler)
  return data_statistics(result.visible_sample,
                         result.hidden_probabilities), result


def cd_gradient(key: Array, w_vh: Array, visible_bias: Array, hidden_bias: Array,
                visible: Array, num_steps, visible_type: str = BINARY,
                sampler: str = "uniform") -> tuple[Gradient, GibbsResult]:
  """CD-k gradient of one plain RBM (shared biases) over rows of data.

  The negative log-likelihood of the rows, `sum_n F(v_n) + N log Z`, has gradient
  `sum_n [dF(v_n) - E_model dF(v)]`; CD-k estimates the model expectation with the
  sample `v~_n` of a k-step Gibbs chain started at `v_n`, so this is the gradient of
  the surrogate `sum_n [F(v_n) - F(v~_n)]` with the samples held fixed:

    d/dW   = sum_n [v~_n P(h | v~_n)^T - v_n P(h | v_n)^T]
    d/db_v = sum_n [v~_n - v_n]
    d/db_h = sum_n [P(h | v~_n) - P(h | v_n)]

  (for Gaussian visibles too: their `dF/db_v = b_v - v` differs by a term that
  cancels.) Summed over rows, not averaged: the caller divides.

  Args:
    key: PRNG key of the Gibbs chain.
    w_vh: [nv, nh] weights.
    visible_bias: [nv].
    hidden_bias: [nh], shared by every row.
    visible: [N, nv] data rows.
    num_steps: k >= 1, a Python int or a traced integer (`gibbs_chain`).
    visible_type: "binary" or "gaussian".
    sampler: how Bernoulli samples are drawn, one of `BERNOULLI_SAMPLERS`.

  Returns:
    The `Gradient` of the parameters, and the chain's last step.
  """
  row_hidden_bias = jnp.broadcast_to(hidden_bias,
                                     (visible.shape[0],) + hidden_bias.shape)
  data_hidden = hidden_probabilities(w_vh, row_hidden_bias, visible)
  negative, chain = cd_statistics(key, w_vh, visible_bias, row_hidden_bias,
                                  data_hidden, num_steps, visible_type, sampler)
  data = data_statistics(visible, data_hidden)
  return Gradient(
      w_vh=negative.weight - data.weight,
      visible_bias=jnp.sum(negative.visible - data.visible, axis=0),
      hidden_bias=jnp.sum(negative.hidden - data.hidden, axis=0)), chain


def binary_states(num_units: int) -> np.ndarray:
  """All 2^n binary vectors of length n as float32 `[2^n, n]` (row i = bits of i)."""
  codes = np.arange(2 ** num_units)[:, None]
  return ((codes >> np.arange(num_units)) & 1).astype(np.float32)


def enumerates_hidden(num_visible: int, num_hidden: int, visible_type: str) -> bool:
  """Whether exact mode sums over hidden states (else over visible states)."""
  return visible_type == GAUSSIAN or num_hidden <= num_visible


def check_exact_size(num_visible: int, num_hidden: int, visible_type: str) -> None:
  """Raises ValueError if exact enumeration would be over more than MAX_EXACT_UNITS."""
  if enumerates_hidden(num_visible, num_hidden, visible_type):
    units, what = num_hidden, "hidden"
  else:
    units, what = num_visible, "visible"
  if units > MAX_EXACT_UNITS:
    raise ValueError(
        f"exact mode enumerates 2^{units} {what} states (num_visible={num_visible}, "
        f"num_hidden={num_hidden}, visible_type={visible_type!r}); it accepts at "
        f"most {MAX_EXACT_UNITS} units on the smaller side. Use CD or AIS instead.")


def _hidden_state_log_weights(w_vh, visible_bias, hidden_bias, visible_type):
  """log of the unnormalised marginal P*(h) for every row and hidden state.

  Returns (log_weights [N, S], conditional visible means [N or 1, S, nv], states
  [S, nh]) where S = 2^nh; the visible sum or integral is done in closed form.
  """
  states = jnp.asarray(binary_states(w_vh.shape[1]))
  # [S, nv] when the visible bias is shared, else [N, S, nv].
  pre_activation = states @ w_vh.T + visible_bias[..., None, :]
  if visible_type == BINARY:
    visible_term = jnp.sum(jax.nn.softplus(pre_activation), axis=-1)
    means = jax.nn.sigmoid(pre_activation)
  else:
    # int exp(-||v - a||^2/2 + v.w h) dv
    #   = (2 pi)^(nv/2) exp((||a + w h||^2 - ||a||^2)/2)
    visible_term = 0.5 * (
        jnp.sum(jnp.square(pre_activation), axis=-1)
        - jnp.sum(jnp.square(visible_bias), axis=-1)[..., None]
        + w_vh.shape[0] * jnp.log(2 * jnp.pi))
    means = pre_activation
  log_weights = hidden_bias @ states.T + visible_term
  return log_weights, (means if means.ndim == 3 else means[None]), states


def _visible_state_log_weights(w_vh, visible_bias, hidden_bias):
  """log P*(v) for every row and binary visible state.

  Returns (log_weights [N, S], hidden probabilities [N, S, nh], states [S, nv]).
  """
  states = jnp.asarray(binary_states(w_vh.shape[0]))
  pre_activation = (states @ w_vh)[None] + hidden_bias[:, None, :]
  visible_term = jnp.broadcast_to(visible_bias, (hidden_bias.shape[0],
                                                 w_vh.shape[0])) @ states.T
  log_weights = visible_term + jnp.sum(jax.nn.softplus(pre_activation), axis=-1)
  return log_weights, jax.nn.sigmoid(pre_activation), states


def exact_log_partition(w_vh: Array, visible_bias: Array, hidden_bias: Array,
                        visible_type: str = BINARY) -> Array:
  """log Z of every row, by enumerating the smaller layer: `[N]`.

  Callers check the size with `check_exact_size` first.
  """
  if enumerates_hidden(*w_vh.shape, visible_type):
    log_weights, _, _ = _hidden_state_log_weights(w_vh, visible_bias, hidden_bias,
                                                  visible_type)
  else:
    log_weights, _, _ = _visible_state_log_weights(w_vh, visible_bias, hidden_bias)
  return jax.nn.logsumexp(log_weights, axis=-1)


def log_probability(w_vh: Array, visible_bias: Array, hidden_bias: Array, v: Array,
                    log_partition: Array, visible_type: str = BINARY) -> Array:
  """log P(v) = -F(v) - log Z of each row under its own RBM: `[N]`.

  The one place the free energy meets the partition function, whether log Z is
  exact (`exact_log_partition`) or an estimate (AIS).

  Args:
    w_vh: [nv, nh] weights shared by all rows.
    visible_bias: [nv] or [N, nv].
    hidden_bias: [N, nh].
    v: [N, nv] one visible vector per row.
    log_partition: [N] log Z of each row's RBM.
    visible_type: "binary" or "gaussian" (then a log density).
  """
  return (-free_energy(w_vh, visible_bias, hidden_bias, v, visible_type)
          - log_partition)


def exact_statistics(w_vh: Array, visible_bias: Array, hidden_bias: Array,
                     visible_type: str = BINARY) -> Statistics:
  """The model's expectations E[v], E[h] per row and sum_n E[v h^T], by enumeration.

  These are the derivatives of log Z with respect to the visible bias, the hidden
  bias and the weights, so putting them in place of CD statistics gives the exact
  gradient.
  """
  if enumerates_hidden(*w_vh.shape, visible_type):
    log_weights, means, states = _hidden_state_log_weights(
        w_vh, visible_bias, hidden_bias, visible_type)
    probabilities = jax.nn.softmax(log_weights, axis=-1)  # [N, S]
    if means.shape[0] == 1:  # shared visible bias: E[v | h] does not depend on the row
      visible = probabilities @ means[0]
      weight = means[0].T @ (jnp.sum(probabilities, axis=0)[:, None] * states)
    else:
      visible = jnp.einsum("ns,nsi->ni", probabilities, means)
      weight = jnp.einsum("ns,nsi,sj->ij", probabilities, means, states)
    return Statistics(visible, probabilities @ states, weight)
  log_weights, hidden_probs, states = _visible_state_log_weights(
      w_vh, visible_bias, hidden_bias)
  probabilities = jax.nn.softmax(log_weights, axis=-1)
  return Statistics(probabilities @ states,
                    jnp.einsum("ns,nsj->nj", probabilities, hidden_probs),
                    jnp.einsum("ns,si,nsj->ij", probabilities, states, hidden_probs))


def exact_log_probability(w_vh: Array, visible_bias: Array, hidden_bias: Array,
                          v: Array, visible_type: str = BINARY) -> Array:
  """log P(v) of each row under its own RBM: `[N]` (a density for Gaussian units)."""
  return log_probability(
      w_vh, visible_bias, hidden_bias, v,
      exact_log_partition(w_vh, visible_bias, hidden_bias, visible_type),
      visible_type)
