"""The NADE (Larochelle & Murray 2011): a tractable distribution over binary frames.

A NADE over `nv` binary units in a fixed order (here unit 0 first: for piano rolls,
the pitches low to high) is the chain rule with every conditional a small network
sharing one hidden layer of `nh` units:

  a_0 = c,   a_{i+1} = a_i + v_i w_vh[i]            (the running pre-activation)
  P(v_i = 1 | v_<i) = sigmoid(b_i + sigmoid(a_i) @ w_hv[:, i])

with `w_vh [nv, nh]` (the visible-to-hidden weights, as an RBM's `w_vh`), `w_hv
[nh, nv]` (hidden to visible), a visible bias `b [nv]` and a hidden bias `c
[nh]`. The log-probability of a frame is one pass over its units and exact; so is
sampling, unit by unit. Like the RBM functions of `rbm.py`, these take the frames
as `N` independent rows, each with its own biases (a temporal model sets them per
frame).
"""

import jax
import jax.numpy as jnp

from rtrbm_jax.models import rbm

Array = jax.Array


def conditional_logits(w_vh: Array, w_hv: Array, visible_bias: Array,
                       hidden_bias: Array, v: Array) -> Array:
  """The logits of P(v_i = 1 | v_<i) of every unit of every row: `[N, nv]`.

  The recursion as a `lax.scan` over the nv units, carrying the running
  pre-activation `[N, nh]`. (The pre-activations of all units at once, an
  exclusive cumulative sum `[N, nv, nh]`, cost the same operations but measured
  8 times slower with its gradient on CPU, at N = 240, nv = 88, nh = 150.)

  Args:
    w_vh: [nv, nh] visible-to-hidden weights.
    w_hv: [nh, nv] hidden-to-visible weights.
    visible_bias: [nv] or [N, nv].
    hidden_bias: [nh] or [N, nh].
    v: [N, nv] frames in [0, 1] (binary for a probability).
  """
  hidden_bias = jnp.broadcast_to(hidden_bias, (v.shape[0], w_vh.shape[1]))

  def step(pre_activation, unit):
    w_vh_i, w_hv_i, v_i = unit
    logit = jax.nn.sigmoid(pre_activation) @ w_hv_i
    return pre_activation + v_i[:, None] * w_vh_i, logit

  _, logits = jax.lax.scan(step, hidden_bias, (w_vh, w_hv.T, v.T))
  return visible_bias + logits.T


def log_probability(w_vh: Array, w_hv: Array, visible_bias: Array,
                    hidden_bias: Array, v: Array) -> tuple[Array, Array]:
  """log P(v) of every row, exact: `[N]`, and the conditionals `[N, nv]`.

  Args:
    w_vh, w_hv, visible_bias, hidden_bias, v: as `conditional_logits`.

  Returns:
    (log P(v) in nats `[N]`, P(v_i = 1 | v_<i) `[N, nv]`). For frames in [0, 1]
    that are not binary, the first is minus the cross-entropy of the conditionals
    (a training loss, not a probability).
  """
  logits = conditional_logits(w_vh, w_hv, visible_bias, hidden_bias, v)
  log_probabilities = (v * jax.nn.log_sigmoid(logits)
                       + (1 - v) * jax.nn.log_sigmoid(-logits))
  return jnp.sum(log_probabilities, axis=-1), jax.nn.sigmoid(logits)


def sample(key: Array, w_vh: Array, w_hv: Array, visible_bias: Array,
           hidden_bias: Array, greedy: bool = False,
           sampler: str = "uniform") -> tuple[Array, Array]:
  """Exact ancestral samples, unit by unit (a `lax.scan` over the nv units).

  Args:
    key: PRNG key; the N nv uniforms are drawn at once, before the scan.
    w_vh, w_hv: as `conditional_logits`.
    visible_bias: [nv] or [N, nv].
    hidden_bias: [N, nh].
    greedy: instead of sampling, set each unit to 1 where its conditional
      probability given the units already set is above 1/2 (a greedy search for a
      likely frame; deterministic).
    sampler: how the Bernoulli samples are drawn (`rbm.BERNOULLI_SAMPLERS`).

  Returns:
    (samples `[N, nv]` of 0/1, the conditional probabilities P(v_i = 1 | v_<i)
    `[N, nv]` of each sample's own prefix). The second is the Rao-Blackwellised
    sample: its expectation is the marginal P(v_i = 1), at a lower variance.
  """
  num_rows = hidden_bias.shape[0]
  num_visible = w_vh.shape[0]
  visible_bias = jnp.broadcast_to(visible_bias, (num_rows, num_visible))
  threshold = (jnp.full((num_rows, num_visible), 0.5, w_vh.dtype) if greedy
               else rbm.uniform_draws(key, (num_rows, num_visible), w_vh.dtype,
                                      sampler))

  def step(pre_activation, unit):
    w_vh_i, w_hv_i, visible_bias_i, threshold_i = unit
    probability = jax.nn.sigmoid(
        visible_bias_i + jax.nn.sigmoid(pre_activation) @ w_hv_i)
    value = (threshold_i < probability).astype(w_vh.dtype)
    return pre_activation + value[:, None] * w_vh_i, (value, probability)

  _, (values, probabilities) = jax.lax.scan(
      step, hidden_bias, (w_vh, w_hv.T, visible_bias.T, threshold.T))
  return values.T, probabilities.T
