"""The RNN-NADE (Boulanger-Lewandowski, Bengio & Vincent, ICML 2012, sec. 4).

The RNN-RBM's RNN (`rnnrbm.py`) with a NADE (`nade.py`) for each frame instead of
an RBM:

  u_0 = u_0 (a parameter),   u_t = tanh(b_u + u_{t-1} @ w_uu + v_t @ w_vu)
  frame t is a NADE with weights w_vh, w_hv and the biases
    b_v^(t) = b_v + u_{t-1} @ w_uv,      b_h^(t) = b_h + u_{t-1} @ w_uh,
  its units in the order of the frame (piano rolls: pitches low to high),
  and log P(v_1..T) = sum_t log P_NADE(v_t | u_{t-1}).

Every frame's probability is exact, so the log-likelihood is, and the gradient is
`jax.grad` of it through the RNN's `lax.scan` (`tractable.py`); samples are
exact, unit by unit.

Shapes: `v [B, T, nv]`, per-frame biases `[B, T, nv]` and `[B, T, nh]`, states
`u [B, T, nr]` for t in [1, T].
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from rtrbm_jax import checks
from rtrbm_jax.models import nade
from rtrbm_jax.models import rnnrbm
from rtrbm_jax.models import temporal
from rtrbm_jax.models import tractable

Array = jax.Array


class Params(NamedTuple):
  """RNN-NADE parameters (the RNN-RBM's, plus the NADE's hidden-to-visible weights).

  Attributes:
    w_vh: [nv, nh] the NADE's visible-to-hidden weights (W), shared by all frames.
    w_hv: [nh, nv] its hidden-to-visible weights (V).
    b_v: [nv] visible bias.
    b_h: [nh] hidden bias.
    w_uu: [nr, nr] recurrent weights, u_{t-1} to u_t.
    w_vu: [nv, nr] input weights, v_t to u_t.
    w_uv: [nr, nv] u_{t-1} to frame t's visible bias.
    w_uh: [nr, nh] u_{t-1} to frame t's hidden bias.
    b_u: [nr] RNN bias.
    u_0: [nr] initial RNN state.
  """
  w_vh: Array
  w_hv: Array
  b_v: Array
  b_h: Array
  w_uu: Array
  w_vu: Array
  w_uv: Array
  w_uh: Array
  b_u: Array
  u_0: Array


def init_params(key: Array, num_visible: int, num_hidden: int,
                weight_scale: float = 0.005, num_recurrent: int | None = None,
                dtype=jnp.float32) -> Params:
  """Weights `weight_scale * N(0, 1)`, biases and u_0 zero.

  Args:
    key: PRNG key.
    num_visible: nv.
    num_hidden: nh, hidden units of each frame's NADE.
    weight_scale: standard deviation of every weight matrix.
    num_recurrent: nr, units of the RNN state; `None` means nh.
    dtype: parameter dtype.
  """
  shared = rnnrbm.init_params(key, num_visible, num_hidden, weight_scale,
                              num_recurrent, dtype)
  w_hv = weight_scale * jax.random.normal(jax.random.fold_in(key, 1),
                                          (num_hidden, num_visible), dtype)
  return Params(w_hv=w_hv, **shared._asdict())


def check_params(params: Params) -> None:
  """Every parameter's shape against `w_vh [nv, nh]` and `w_uu [nr, nr]`;
  finiteness when concrete."""
  rnnrbm.check_params(params)
  num_visible, num_hidden = checks.matrix_shape(params, "w_vh")
  checks.check_params(params, dict(w_hv=(num_hidden, num_visible)),
                      f"num_visible={num_visible}, num_hidden={num_hidden} "
                      "from w_vh")


def forward_scan(params: Params, v: Array) -> tuple[Array, Array, Array]:
  """RNN states and the biases of every frame's NADE (`rnnrbm.rnn_scan`).

  Args:
    params: RNN-NADE parameters.
    v: [B, T, nv] frames in [0, 1].

  Returns:
    visible_bias: [B, T, nv], b_v + u_{t-1} @ w_uv.
    hidden_bias: [B, T, nh], b_h + u_{t-1} @ w_uh.
    u: [B, T, nr], u_t = tanh(b_u + u_{t-1} @ w_uu + v_t @ w_vu), t in [1, T].
  """
  check_params(params)
  checks.check_frames(v, params.w_vh.shape[0])
  return rnnrbm.rnn_scan(params, v)


def _frame_log_probabilities(params: Params, v: Array) -> tuple[Array, Array]:
  """log P(v_t | v_<t) `[B, T]` and the conditionals `[B, T, nv]`, unchecked."""
  visible_bias, hidden_bias, _ = rnnrbm.rnn_scan(params, v)
  rows = temporal.rows
  log_probability, conditionals = nade.log_probability(
      params.w_vh, params.w_hv, rows(visible_bias), rows(hidden_bias), rows(v))
  return log_probability.reshape(v.shape[:2]), conditionals.reshape(v.shape)


def _sample_frames(params: Params, key: Array, v: Array, greedy: bool,
                   sampler: str) -> tuple[Array, Array]:
  """Every frame drawn given the true frames before it, unchecked: `[B, T, nv]`
  samples and their conditional probabilities."""
  visible_bias, hidden_bias, _ = rnnrbm.rnn_scan(params, v)
  rows = temporal.rows
  samples, probabilities = nade.sample(key, params.w_vh, params.w_hv,
                                       rows(visible_bias), rows(hidden_bias),
                                       greedy, sampler)
  return samples.reshape(v.shape), probabilities.reshape(v.shape)


def _generate(params: Params, key: Array, prime: Array, num_frames: int,
              sampler: str) -> Array:
  """Frames drawn one after another after the primer, unchecked: `[B, F, nv]`."""
  _, _, u = rnnrbm.rnn_scan(params, prime)

  def step(state, frame_key):
    frame, _ = nade.sample(frame_key, params.w_vh, params.w_hv,
                           params.b_v + state @ params.w_uv,
                           params.b_h + state @ params.w_uh, sampler=sampler)
    state = jnp.tanh(params.b_u + state @ params.w_uu + frame @ params.w_vu)
    return state, frame

  _, frames = jax.lax.scan(step, u[:, -1], jax.random.split(key, num_frames))
  return temporal.time_major(frames)


# The RNN-NADE as `tractable.make_model` takes it (`registry.get_model("rnnnade")`);
# `num_recurrent` (None: as many as num_hidden) may be bound into `init_params`.
PARTS = tractable.TractableParts(
    kind="rnnnade",
    init_params=init_params,
    init_options=("num_recurrent",),
    check_params=check_params,
    frame_log_probabilities=_frame_log_probabilities,
    sample_frames=_sample_frames,
    generate=_generate)
