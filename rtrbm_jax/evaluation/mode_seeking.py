"""Mode-seeking next-frame predictors in a batch of RBM rows.

The papers' prediction is one k-step Gibbs chain's last visible mean: a sample
of the frame's RBM, not a likely frame. The two predictors here use the RBM's own
probabilities to find a likely frame instead (`prediction.predict_next_frames`
names them "annealed", "lowest_free_energy" and "local_search"):

  `annealed_chain`: the Gibbs chain of the tempered RBM exp(-E / T_s), its
    temperature lowered geometrically from 1 to `FINAL_TEMPERATURE` over the k
    steps, so that it settles in a mode of P(v).
  `lowest_free_energy`: of several candidate frames, per row the one of lowest
    free energy F(v) (the most probable under P(v) = exp(-F(v)) / Z).
  `local_search`: from a start frame (the previous one), the single-unit flip
    that lowers F(v) most, again and again while one does: a local mode of P(v)
    under one-unit moves, no sampling at all.

Shapes follow `rbm.py`: `w_vh [nv, nh]`, `visible_bias [nv]` or `[N, nv]`,
`hidden_bias [N, nh]`, visible states `[N, nv]`.
"""

import jax
import jax.numpy as jnp

from rtrbm_jax.models import rbm

Array = jax.Array

# The annealed chain's last temperature: P(v)^(1 / 0.05) = P(v)^20, so a frame
# twice as probable as another is a million times as likely to be visited.
FINAL_TEMPERATURE = 0.05


def temperature(step, num_steps, final_temperature=FINAL_TEMPERATURE):
  """T_s = final_temperature^(s / (k - 1)) of step s = 0..k-1 of a k-step chain:
  1 at the first step, `final_temperature` at the last (1 when k = 1).

  Args:
    step: s, a Python int or a traced integer.
    num_steps: k >= 1, a Python int or a traced integer.
    final_temperature: T_{k-1} in (0, 1].
  """
  fraction = step / jnp.maximum(num_steps - 1, 1)
  return jnp.power(jnp.float32(final_temperature), fraction)


def _tempered_visible(w_vh, visible_bias, h, temperature_s, visible_type):
  """Mean of v | h in the RBM of energy E / T: sigmoid((h W^T + a) / T) for
  binary units; a + W h (its variance T) for Gaussian ones. `[N, nv]`."""
  pre_activation = h @ w_vh.T + visible_bias
  if visible_type == rbm.BINARY:
    return jax.nn.sigmoid(pre_activation / temperature_s)
  return pre_activation


def annealed_chain(key: Array, w_vh: Array, visible_bias: Array,
                   hidden_bias: Array, initial_hidden_probabilities: Array,
                   num_steps, visible_type: str = rbm.BINARY,
                   sampler: str = "uniform",
                   final_temperature: float = FINAL_TEMPERATURE) -> Array:
  """`rbm.gibbs_chain` with its temperature lowered over the steps.

  Step s (s = 0..k-1) is a Gibbs step h -> v -> h of the tempered RBM
  P_T(v, h) ~ exp(-E(v, h) / T_s), T_s = `temperature(s, k)` (geometric from 1
  to `final_temperature`): both conditionals' pre-activations divided by T_s
  (Gaussian units: variance T_s). As T falls the tempered P_T(v) concentrates on
  the RBM's most probable frames, so the chain seeks a mode where a chain at T = 1
  keeps sampling. The last visible step is the mean at T_{k-1}, given the last
  hidden sample (binary units: near 0 or 1; thresholded at 1/2 it is the
  likeliest v given that h). Keys are drawn as in `rbm.gibbs_chain`, so with
  `final_temperature=1` this is that chain's `visible_mean`.

  Args:
    key: PRNG key.
    w_vh: [nv, nh] shared weights.
    visible_bias: [nv] or [N, nv].
    hidden_bias: [N, nh].
    initial_hidden_probabilities: [N, nh] P(h = 1) to start from.
    num_steps: k >= 1, a Python int or a traced integer.
    visible_type: "binary" or "gaussian".
    sampler: how Bernoulli samples are drawn (`rbm.BERNOULLI_SAMPLERS`).
    final_temperature: T_{k-1}, in (0, 1].

  Returns:
    [N, nv] the visible mean of the last step.
  """

  def sample_hidden(step, probabilities):
    return rbm.sample_bernoulli(jax.random.fold_in(key, 2 * step), probabilities,
                                sampler)

  def full_step(step, hidden_sample):
    temperature_s = temperature(step, num_steps, final_temperature)
    mean = _tempered_visible(w_vh, visible_bias, hidden_sample, temperature_s,
                             visible_type)
    visible_key = jax.random.fold_in(key, 2 * step + 1)
    if visible_type == rbm.BINARY:
      sample = rbm.sample_bernoulli(visible_key, mean, sampler)
    else:
      sample = mean + jnp.sqrt(temperature_s) * jax.random.normal(
          visible_key, mean.shape, mean.dtype)
    probabilities = jax.nn.sigmoid((sample @ w_vh + hidden_bias) / temperature_s)
    return sample_hidden(step + 1, probabilities)

  hidden_sample = sample_hidden(0, initial_hidden_probabilities)
  hidden_sample = jax.lax.fori_loop(0, num_steps - 1, full_step, hidden_sample)
  return _tempered_visible(
      w_vh, visible_bias, hidden_sample,
      temperature(num_steps - 1, num_steps, final_temperature), visible_type)


def chain_end_state(key: Array, w_vh: Array, visible_bias: Array,
                    hidden_bias: Array, num_steps, visible_type: str = rbm.BINARY,
                    sampler: str = "uniform") -> Array:
  """A candidate frame per row: the last visible step of the papers' chain
  (`rbm.gibbs_chain`, k steps from P(h) = sigmoid(c)), its mean thresholded at
  1/2 for binary units (a frame, the likeliest v given the last hidden sample),
  the mean itself for Gaussian ones. `[N, nv]`."""
  mean = rbm.gibbs_chain(key, w_vh, visible_bias, hidden_bias,
                         jax.nn.sigmoid(hidden_bias), num_steps, visible_type,
                         sampler).visible_mean
  if visible_type == rbm.BINARY:
    return (mean > 0.5).astype(mean.dtype)
  return mean


def lowest_free_energy(key: Array, w_vh: Array, visible_bias: Array,
                       hidden_bias: Array, previous: Array, num_steps,
                       num_chains: int, visible_type: str = rbm.BINARY,
                       sampler: str = "uniform") -> Array:
  """Per row, of the candidates `previous` and the end states of `num_chains`
  chains (`chain_end_state`, keys `jax.random.split(key, num_chains)`), the one
  of lowest free energy `rbm.free_energy` in the row's RBM.

  The free energy orders frames as P(v) = exp(-F(v)) / Z does, without Z. Ties
  go to the earlier candidate, `previous` first, so the result never has a
  higher free energy than `previous`. The chains run one after another (a
  `lax.scan` keeping the best so far), so memory stays that of one.

  Args:
    key: PRNG key.
    w_vh: [nv, nh] shared weights.
    visible_bias: [nv] or [N, nv].
    hidden_bias: [N, nh].
    previous: [N, nv] the first candidate of each row (the previous frame).
    num_steps: Gibbs steps k >= 1 of each chain.
    num_chains: chains whose end states are candidates, >= 1.
    visible_type: "binary" or "gaussian".
    sampler: how Bernoulli samples are drawn (`rbm.BERNOULLI_SAMPLERS`).

  Returns:
    [N, nv] the chosen candidate of each row.
  """

  def energy(v):
    return rbm.free_energy(w_vh, visible_bias, hidden_bias, v, visible_type)

  def consider(best, chain_key):
    best_frame, best_energy = best
    candidate = chain_end_state(chain_key, w_vh, visible_bias, hidden_bias,
                                num_steps, visible_type, sampler)
    candidate_energy = energy(candidate)
    lower = candidate_energy < best_energy  # strictly: ties keep the earlier
    return (jnp.where(lower[:, None], candidate, best_frame),
            jnp.where(lower, candidate_energy, best_energy)), None

  previous = previous.astype(hidden_bias.dtype)
  (chosen, _), _ = jax.lax.scan(consider, (previous, energy(previous)),
                                jax.random.split(key, num_chains))
  return chosen


def _flip_free_energies(w_vh: Array, visible_bias: Array, hidden_bias: Array,
                        v: Array) -> tuple[Array, Array]:
  """F of each row of binary `v` (`rbm.free_energy`, `[N]`) and of every frame
  one unit away from it (`[N, nv]`, entry (n, i) the free energy of row n with
  unit i flipped), from one product `v W`.

  F(v with unit i flipped) = -(a.v + s_i a_i) - sum_j softplus(x_j + s_i W_ij),
  x = v W + c, s_i = 1 - 2 v_i. The units go one at a time (`lax.map`), so
  memory stays `[N, nh]` rather than `[N, nv, nh]`.
  """
  activation = v @ w_vh + hidden_bias  # [N, nh]
  sign = 1.0 - 2.0 * v  # +1 where a flip turns the unit on
  linear = jnp.sum(v * visible_bias, axis=-1)  # [N]

  def flip_unit(unit):
    shifted = activation + sign[:, unit, None] * w_vh[unit]
    return jnp.sum(jax.nn.softplus(shifted), axis=-1)

  hidden_terms = jax.lax.map(flip_unit, jnp.arange(v.shape[-1])).T  # [N, nv]
  energy = -linear - jnp.sum(jax.nn.softplus(activation), axis=-1)
  return energy, -(linear[:, None] + sign * visible_bias) - hidden_terms


def local_search(w_vh: Array, visible_bias: Array, hidden_bias: Array,
                 start: Array, max_flips) -> Array:
  """Per row, from `start`, the single-unit flip of lowest free energy, taken
  while it lowers F(v): at most `max_flips` flips, stopping early once no row
  moves. Binary units only.

  Each flip makes the frame strictly more probable under the row's RBM, so the
  result is never less probable than `start`, and where no flip is left it is a
  local mode of P(v) under one-unit moves. Deterministic: no sampling.

  Args:
    w_vh: [nv, nh] shared weights.
    visible_bias: [nv] or [N, nv].
    hidden_bias: [N, nh].
    start: [N, nv] binary frames to start from (the previous frames).
    max_flips: the most flips per row, >= 1, a Python int or a traced integer.

  Returns:
    [N, nv] binary frames.
  """

  def keep_going(state):
    _, flips, moved = state
    return moved & (flips < max_flips)

  def flip_once(state):
    v, flips, _ = state
    energy, energies = _flip_free_energies(w_vh, visible_bias, hidden_bias, v)
    unit = jnp.argmin(energies, axis=-1)
    lower = jnp.take_along_axis(energies, unit[:, None], axis=-1)[:, 0] < energy
    flip = jax.nn.one_hot(unit, v.shape[-1], dtype=v.dtype) * lower[:, None]
    return jnp.abs(v - flip), flips + 1, jnp.any(lower)

  start = start.astype(hidden_bias.dtype)
  frames, _, _ = jax.lax.while_loop(keep_going, flip_once,
                                    (start, jnp.int32(0), jnp.bool_(True)))
  return frames
