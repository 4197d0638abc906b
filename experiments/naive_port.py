"""The RTRBM's CD-k gradient written the way public RTRBM ports write it.

A Python loop over frames, the Gibbs chain inside it, a jitted function per frame:
the baseline `experiments/benchmarking.py` times the library's train step against
(and `tests/test_benchmarking.py` checks it computes the same gradient).
"""

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from rtrbm_jax.models import rbm
from rtrbm_jax.models import rtrbm

Array = jax.Array


class GibbsNegativePhase(NamedTuple):
  """CD-k statistics of one frame's RBM, written as a public port writes them.

  A Python loop of Gibbs steps (unrolled when the frame function is jitted). Being
  a NamedTuple it hashes by value, so jitted frame functions taking it as a static
  argument compile once per (k, sampler).

  Attributes:
    num_gibbs_steps: k.
    sampler: how Bernoulli samples are drawn (`rbm.BERNOULLI_SAMPLERS`).
  """
  num_gibbs_steps: int
  sampler: str = "uniform"

  def __call__(self, key: Array, w_vh: Array, visible_bias: Array,
               hidden_bias: Array, data_hidden: Array) -> rbm.Statistics:
    hidden_probabilities = data_hidden
    for step in range(self.num_gibbs_steps):
      hidden_key, visible_key = jax.random.split(jax.random.fold_in(key, step))
      hidden = rbm.sample_bernoulli(hidden_key, hidden_probabilities, self.sampler)
      visible = rbm.sample_bernoulli(
          visible_key, jax.nn.sigmoid(hidden @ w_vh.T + visible_bias), self.sampler)
      hidden_probabilities = jax.nn.sigmoid(visible @ w_vh + hidden_bias)
    return rbm.data_statistics(visible, hidden_probabilities)


def exact_negative_phase(key: Array, w_vh: Array, visible_bias: Array,
                         hidden_bias: Array, data_hidden: Array) -> rbm.Statistics:
  """The model's exact statistics of one frame's RBM (tiny models only)."""
  del key, data_hidden  # Exact expectations need neither.
  return rbm.exact_statistics(w_vh, visible_bias, hidden_bias)


def _naive_frame_forward(params: rtrbm.Params, frame: Array, hidden_bias: Array,
                         key: Array, negative_phase):
  """Frame t: its mean-field state, its RBM's negative statistics, c_{t+1}."""
  state = jax.nn.sigmoid(frame @ params.w_vh + hidden_bias)
  negative = negative_phase(key, params.w_vh, params.b_v, hidden_bias, state)
  return state, negative, params.b_h + state @ params.w_hh


def _naive_frame_backward(params: rtrbm.Params, gradient: rtrbm.Params,
                          frame: Array, state: Array, previous_state: Array,
                          negative: rbm.Statistics, message_next: Array,
                          first: bool):
  """Frame t of BPTT (thesis eqs. 3.24-3.25): its message and gradient terms."""
  batch_size = frame.shape[0]
  direct = (negative.hidden - state) / batch_size
  message = direct + (message_next @ params.w_hh.T) * state * (1 - state)
  gradient = gradient._replace(
      w_vh=(gradient.w_vh + negative.weight / batch_size
            - frame.T @ state / batch_size + frame.T @ (message - direct)),
      b_v=gradient.b_v + jnp.sum(negative.visible - frame, axis=0) / batch_size)
  if first:
    return message, gradient._replace(b_init=gradient.b_init
                                      + jnp.sum(message, axis=0))
  return message, gradient._replace(
      w_hh=gradient.w_hh + previous_state.T @ message,
      b_h=gradient.b_h + jnp.sum(message, axis=0))


# Jitted per frame, as a port that "uses jit" would be; they compile once per
# shape and negative phase, and the Python loops call them 2 T times per gradient.
_frame_forward = jax.jit(_naive_frame_forward, static_argnames="negative_phase")
_frame_backward = jax.jit(_naive_frame_backward, static_argnames="first")


def naive_cd_gradient(params: rtrbm.Params, v: Array, key: Array,
                      num_gibbs_steps: int, sampler: str = "uniform",
                      negative_phase: Callable[..., rbm.Statistics] | None = None
                      ) -> rtrbm.Params:
  """The gradient of the RTRBM's `cd_gradient`, computed frame by frame from Python.

  The baseline of the benchmark: the structure of the public RTRBM ports (a
  forward loop over frames that runs each frame's Gibbs chain as it goes, then a
  backward loop accumulating BPTT terms), each frame's work one jitted call. Same
  math as the RTRBM's `cd_gradient`; the chains' random numbers differ.

  Args:
    params: RTRBM parameters.
    v: [B, T, nv] frames.
    key: PRNG key.
    num_gibbs_steps: k of CD-k (a Python int: the chain is unrolled).
    sampler: how Bernoulli samples are drawn (`rbm.BERNOULLI_SAMPLERS`).
    negative_phase: `(key, w_vh, visible_bias [nv], hidden_bias [B, nh],
      data_hidden [B, nh]) -> rbm.Statistics` of one frame's RBM; hashable, since
      it is a static argument of a jitted function. Default: `GibbsNegativePhase`;
      `exact_negative_phase` gives the exact gradient.

  Returns:
    The loss gradient as `rtrbm.Params`.
  """
  if negative_phase is None:
    if not isinstance(num_gibbs_steps, int) or num_gibbs_steps < 1:
      raise ValueError(f"num_gibbs_steps must be a Python int >= 1 (the naive port "
                       f"unrolls its chain), got {num_gibbs_steps!r}.")
    negative_phase = GibbsNegativePhase(num_gibbs_steps, sampler)
  batch_size, num_frames, _ = v.shape
  num_hidden = params.w_vh.shape[1]
  hidden_bias = jnp.broadcast_to(params.b_init, (batch_size, num_hidden))
  states, negatives = [], []
  for t in range(num_frames):
    state, negative, hidden_bias = _frame_forward(
        params, v[:, t], hidden_bias, jax.random.fold_in(key, t), negative_phase)
    states.append(state)
    negatives.append(negative)
  gradient = jax.tree.map(jnp.zeros_like, params)
  message = jnp.zeros_like(states[0])
  for t in reversed(range(num_frames)):
    previous_state = states[t - 1] if t else jnp.zeros_like(states[0])
    message, gradient = _frame_backward(params, gradient, v[:, t], states[t],
                                        previous_state, negatives[t], message,
                                        first=t == 0)
  return gradient
