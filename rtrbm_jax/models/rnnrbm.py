"""The RNN-RBM (Boulanger-Lewandowski, Bengio & Vincent, ICML 2012).

Frames `v_t` (binary units; Gaussian units with `visible_type`), binary hiddens
`h_t`, and a separate deterministic RNN whose state carries the past:

  u_0 = u_0 (a parameter),   u_t = tanh(b_u + u_{t-1} @ w_uu + v_t @ w_vu)
  frame t is an RBM with weights w_vh and the biases
    b_v^(t) = b_v + u_{t-1} @ w_uv,      b_h^(t) = b_h + u_{t-1} @ w_uh,
  and log P(v_1..T) = sum_t log P_RBM(v_t | u_{t-1}).

Unlike the RTRBM, whose state r_t is the mean of the RBM's own hiddens, the RNN
state u_t has its own size `nr` and drives both biases. Loss, shapes and the pattern
are the RTRBM's (`rtrbm.py`): a forward scan to the frame RBMs, the RBM part of the
gradient per frame (CD-k or exact), and a hand-written reverse scan sending the
per-frame bias gradients back through u_t (`gradient_from_statistics`).

Shapes: `v [B, T, nv]`, per-frame biases `[B, T, nv]` and `[B, T, nh]`, states
`u [B, T, nr]` for t in [1, T].
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax import checks
from rtrbm_jax.models import frame_statistics
from rtrbm_jax.models import rbm
from rtrbm_jax.models import temporal

Array = jax.Array


class Params(NamedTuple):
  """RNN-RBM parameters (names from the paper, `w_xy` maps x to y).

  The first three are the frame RBM's own; the other six are the RNN's, whose state
  u_{t-1} also sets frame t's biases through w_uv and w_uh.

  Attributes:
    w_vh: [nv, nh] visible-hidden weights, shared by all frames.
    b_v: [nv] visible bias.
    b_h: [nh] hidden bias.
    w_uu: [nr, nr] recurrent weights, u_{t-1} to u_t.
    w_vu: [nv, nr] input weights, v_t to u_t.
    w_uv: [nr, nv] u_{t-1} to frame t's visible bias.
    w_uh: [nr, nh] u_{t-1} to frame t's hidden bias.
    b_u: [nr] RNN bias.
    u_0: [nr] initial RNN state; frame 1's biases are b_v + u_0 @ w_uv and
      b_h + u_0 @ w_uh.
  """
  w_vh: Array
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
    num_hidden: nh, hidden units of each frame's RBM.
    weight_scale: standard deviation of every weight matrix.
    num_recurrent: nr, units of the RNN state; `None` means nh.
    dtype: parameter dtype.
  """
  num_recurrent = num_hidden if num_recurrent is None else num_recurrent
  checks.check_size("num_visible", num_visible)
  checks.check_size("num_hidden", num_hidden)
  checks.check_size("num_recurrent", num_recurrent)
  checks.check_weight_scale(weight_scale)
  shapes = dict(w_vh=(num_visible, num_hidden),
                w_uu=(num_recurrent, num_recurrent),
                w_vu=(num_visible, num_recurrent),
                w_uv=(num_recurrent, num_visible),
                w_uh=(num_recurrent, num_hidden))
  weights = {name: weight_scale * jax.random.normal(weight_key, shape, dtype)
             for (name, shape), weight_key in zip(
                 shapes.items(), jax.random.split(key, len(shapes)))}
  return Params(b_v=jnp.zeros((num_visible,), dtype),
                b_h=jnp.zeros((num_hidden,), dtype),
                b_u=jnp.zeros((num_recurrent,), dtype),
                u_0=jnp.zeros((num_recurrent,), dtype),
                **weights)


def check_params(params: Params) -> None:
  """Every parameter's shape against `w_vh [nv, nh]` and `w_uu [nr, nr]`;
  finiteness when concrete."""
  num_visible, num_hidden = checks.matrix_shape(params, "w_vh")
  num_recurrent = checks.matrix_shape(params, "w_uu")[0]
  checks.check_params(
      params, dict(w_uu=(num_recurrent, num_recurrent), b_v=(num_visible,),
                   b_h=(num_hidden,), w_vu=(num_visible, num_recurrent),
                   w_uv=(num_recurrent, num_visible),
                   w_uh=(num_recurrent, num_hidden), b_u=(num_recurrent,),
                   u_0=(num_recurrent,)),
      f"num_visible={num_visible}, num_hidden={num_hidden} from w_vh, "
      f"num_recurrent={num_recurrent} from w_uu")


def forward_scan(params: Params, v: Array,
                 visible_type: str = rbm.BINARY) -> tuple[Array, Array, Array]:
  """RNN states and the biases of every frame's RBM.

  The input term `b_u + v_t @ w_vu` of all frames is one matrix product before the
  scan, and the biases are two products after it; the scan carries only the
  `[B, nr]` state.

  Args:
    params: RNN-RBM parameters.
    v: [B, T, nv] frames; in [0, 1] for binary units.
    visible_type: "binary" or "gaussian" (what `v` is checked against).

  Returns:
    visible_bias: [B, T, nv], b_v + u_{t-1} @ w_uv.
    hidden_bias: [B, T, nh], b_h + u_{t-1} @ w_uh.
    u: [B, T, nr], u_t = tanh(b_u + u_{t-1} @ w_uu + v_t @ w_vu), t in [1, T].
  """
  check_params(params)
  frame_statistics.check_inputs(params.w_vh, v, visible_type)
  return rnn_scan(params, v)


def rnn_scan(params, v: Array) -> tuple[Array, Array, Array]:
  """`forward_scan` without the checks (its callers have made them).

  It reads only the RNN's parameters (`w_uu, w_vu, w_uv, w_uh, b_u, u_0`) and the
  frame biases `b_v, b_h`, so the RNN-NADE (`rnnnade.py`: this RNN, a NADE for
  each frame) shares it.
  """
  recurrent_input = temporal.time_major(v @ params.w_vu + params.b_u)  # [T, B, nr]

  def step(state, input_t):
    state = jnp.tanh(input_t + state @ params.w_uu)
    return state, state

  initial_state = jnp.broadcast_to(params.u_0, recurrent_input.shape[1:])
  _, u = jax.lax.scan(step, initial_state, recurrent_input)
  u = temporal.time_major(u)
  previous = temporal.previous_states(params.u_0, u)
  return (params.b_v + previous @ params.w_uv, params.b_h + previous @ params.w_uh,
          u)


def gradient_from_statistics(params: Params, v: Array, u: Array, data_hidden: Array,
                             model: rbm.Statistics) -> Params:
  """Loss gradient given each frame's model statistics (CD estimates or exact).

  Frame t's RBM term gives the direct gradients of its biases
  (`frame_statistics.frame_bias_gradients`),

    g^v_t = dL/db_v^(t) = (E_model[v] - v_t) / B,
    g^h_t = dL/db_h^(t) = (E_model[h] - P(h | v_t)) / B,

  which reach the state that made them, u_{t-1}, as g^v_t @ w_uv^T + g^h_t @ w_uh^T.
  With a_t = b_u + u_{t-1} @ w_uu + v_t @ w_vu the RNN's pre-activation and
  delta_t = dL/da_t, backpropagation through tanh gives (cf. Boulanger-Lewandowski
  et al. 2012, sec. 3, the gradient through u^(t)):

    dL/du_t = g^v_{t+1} @ w_uv^T + g^h_{t+1} @ w_uh^T + delta_{t+1} @ w_uu^T
              (t < T; u_T drives no frame, so dL/du_T = 0)
    delta_t = (1 - u_t^2) * dL/du_t,          t = T, ..., 1

  which is `temporal.reverse_scan` with z_t = a_t. The weight gradients are then a
  few products over all frames at once (u_{t-1} for t in [1, T] includes u_0):

    w_uu: sum_t u_{t-1}^T delta_t    w_vu: sum_t v_t^T delta_t    b_u: sum delta_t
    w_uv: sum_t u_{t-1}^T g^v_t      w_uh: sum_t u_{t-1}^T g^h_t
    b_v:  sum g^v_t                  b_h:  sum g^h_t
    u_0:  sum_b dL/du_0
    w_vh: (sum E_model[v h^T] - sum_t v_t^T P(h | v_t)) / B   (u does not use w_vh)

  Args:
    params: RNN-RBM parameters.
    v: [B, T, nv] frames.
    u: [B, T, nr] states from `forward_scan`.
    data_hidden: [B, T, nh] P(h_t = 1 | v_t) in each frame's RBM.
    model: statistics of the B * T frame RBMs, rows in the order of
      `temporal.rows(v)`.

  Returns:
    Gradient of the mean (over sequences) negative log-likelihood, as `Params`.
  """
  check_params(params)
  checks.check_shape("u", u, np.shape(v)[:2] + np.shape(params.b_u),
                     "[B, T] of v and num_recurrent from b_u")
  batch_size = v.shape[0]
  rows = temporal.rows
  visible_bias_gradient, hidden_bias_gradient = frame_statistics.frame_bias_gradients(
      v, data_hidden, model)
  previous = temporal.previous_states(params.u_0, u)
  # Entry t is what frame t's biases send to u_{t-1}: [dL/du_0, ..., dL/du_{T-1}].
  to_previous_state = (visible_bias_gradient @ params.w_uv.T
                       + hidden_bias_gradient @ params.w_uh.T)
  to_state = jnp.concatenate([to_previous_state[:, 1:],
                              jnp.zeros_like(to_previous_state[:, :1])], axis=1)
  derivative = 1 - jnp.square(u)
  delta = temporal.reverse_scan(params.w_uu, derivative, derivative * to_state)
  initial_state_gradient = to_previous_state[:, 0] + delta[:, 0] @ params.w_uu.T
  return Params(
      w_vh=(model.weight - rows(v).T @ rows(data_hidden)) / batch_size,
      b_v=jnp.sum(visible_bias_gradient, axis=(0, 1)),
      b_h=jnp.sum(hidden_bias_gradient, axis=(0, 1)),
      w_uu=rows(previous).T @ rows(delta),
      w_vu=rows(v).T @ rows(delta),
      w_uv=rows(previous).T @ rows(visible_bias_gradient),
      w_uh=rows(previous).T @ rows(hidden_bias_gradient),
      b_u=jnp.sum(delta, axis=(0, 1)),
      u_0=jnp.sum(initial_state_gradient, axis=0))


def _frames_and_states(params: Params,
                       v: Array) -> tuple[frame_statistics.FrameRBMs, Array]:
  """Each frame's RBM (biases from u_{t-1}) and the states u_t, without checks."""
  visible_bias, hidden_bias, u = rnn_scan(params, v)
  return frame_statistics.FrameRBMs(params.w_vh, visible_bias, hidden_bias), u


def _data_hidden(frames: frame_statistics.FrameRBMs, v: Array, u: Array) -> Array:
  """P(h_t = 1 | v_t) in each frame's RBM: `[B, T, nh]`."""
  del u  # The RNN state is not the RBM's hidden layer.
  return rbm.hidden_probabilities(frames.w_vh, frames.hidden_bias, v)


def _frame_biases(params: Params, u: Array) -> tuple[Array, Array]:
  """The biases b_v^(t+1), b_h^(t+1) of the frame after state u_t."""
  return params.b_v + u @ params.w_uv, params.b_h + u @ params.w_uh


def _next_state(params: Params, u: Array, frame: Array,
                hidden_bias: Array) -> Array:
  del hidden_bias  # The RNN reads the frame, not the RBM's hidden layer.
  return jnp.tanh(params.b_u + u @ params.w_uu + frame @ params.w_vu)


# The RNN-RBM as `temporal.make_model` takes it (`registry.get_model("rnnrbm")`);
# `num_recurrent` (None: as many as num_hidden) may be bound into `init_params`.
PARTS = temporal.ModelParts(
    kind="rnnrbm",
    init_params=init_params,
    init_options=("num_recurrent",),
    check_params=check_params,
    forward_scan=_frames_and_states,
    data_hidden=_data_hidden,
    gradient_from_statistics=gradient_from_statistics,
    frame_biases=_frame_biases,
    next_state=_next_state)
