"""The Recurrent Temporal RBM (Sutskever, Hinton & Taylor, NIPS 2008).

Frames `v_t` in `[0, 1]^nv` (binary units; Gaussian units with `visible_type`),
binary hiddens `h_t`, and a deterministic state that carries the past:

  c_1 = b_init,   c_t = b_h + r_{t-1} @ w_hh   (t > 1)        dynamic hidden bias
  r_t = sigmoid(v_t @ w_vh + c_t)                              = E[h_t | v_t, past]
  frame t is an RBM with weights w_vh, visible bias b_v and hidden bias c_t, and
  log P(v_1..T) = sum_t log P_RBM(v_t | c_t).

The loss is the negative log-likelihood summed over frames and averaged over the
sequences of a batch. Its gradient has an RBM part for every frame (CD-k, or exact
expectations for tiny models) and a part that flows back through the r_t; the
latter is the hand-written `reverse_scan` (Sutskever's thesis, eqs. 3.24-3.25).

Shapes: `v [B, T, nv]`, `c, r [B, T, nh]`. Frames become `N = B * T` independent RBM
rows once `c` is known, which is how CD-k runs all frames as one batched chain. What
this model shares with the RNN-RBM (frame RBMs, their statistics, the generic reverse
scan) lives in `temporal.py`.
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
  """RTRBM parameters (names from the thesis).

  Attributes:
    w_vh: [nv, nh] visible-hidden weights, shared by all frames.
    w_hh: [nh, nh] recurrent weights from r_{t-1} to c_t.
    b_v: [nv] visible bias.
    b_h: [nh] hidden bias of frames t > 1.
    b_init: [nh] hidden bias of the first frame.
  """
  w_vh: Array
  w_hh: Array
  b_v: Array
  b_h: Array
  b_init: Array


def init_params(key: Array, num_visible: int, num_hidden: int,
                weight_scale: float = 0.005, dtype=jnp.float32) -> Params:
  """Weights `weight_scale * N(0, 1)` (0.005 in the paper's code), biases zero."""
  checks.check_size("num_visible", num_visible)
  checks.check_size("num_hidden", num_hidden)
  checks.check_weight_scale(weight_scale)
  visible_key, recurrent_key = jax.random.split(key)
  return Params(
      w_vh=weight_scale * jax.random.normal(visible_key, (num_visible, num_hidden),
                                            dtype),
      w_hh=weight_scale * jax.random.normal(recurrent_key, (num_hidden, num_hidden),
                                            dtype),
      b_v=jnp.zeros((num_visible,), dtype),
      b_h=jnp.zeros((num_hidden,), dtype),
      b_init=jnp.zeros((num_hidden,), dtype))


def check_params(params: Params) -> None:
  """Every parameter's shape against `w_vh [nv, nh]`; finiteness when concrete."""
  num_visible, num_hidden = checks.matrix_shape(params, "w_vh")
  checks.check_params(
      params, dict(w_hh=(num_hidden, num_hidden), b_v=(num_visible,),
                   b_h=(num_hidden,), b_init=(num_hidden,)),
      f"num_visible={num_visible}, num_hidden={num_hidden} from w_vh")


def forward_scan(params: Params, v: Array,
                 visible_type: str = rbm.BINARY) -> tuple[Array, Array]:
  """Dynamic hidden biases and mean-field states of every frame.

  The input term `v_t @ w_vh` of all frames is one matrix product before the scan;
  the scan carries only the `[B, nh]` bias of the next frame.

  Args:
    params: RTRBM parameters.
    v: [B, T, nv] frames; in [0, 1] for binary units.
    visible_type: "binary" or "gaussian" (what `v` is checked against).

  Returns:
    c: [B, T, nh], c_1 = b_init, c_t = b_h + r_{t-1} @ w_hh.
    r: [B, T, nh], r_t = sigmoid(v_t @ w_vh + c_t).
  """
  check_params(params)
  frame_statistics.check_inputs(params.w_vh, v, visible_type)
  return _forward_scan(params, v)


def _forward_scan(params: Params, v: Array) -> tuple[Array, Array]:
  """`forward_scan` without the checks (its callers here have made them)."""
  visible_input = temporal.time_major(v @ params.w_vh)  # [T, B, nh]

  def step(bias, input_t):
    state = jax.nn.sigmoid(input_t + bias)
    return params.b_h + state @ params.w_hh, (bias, state)

  initial_bias = jnp.broadcast_to(params.b_init, visible_input.shape[1:])
  _, (c, r) = jax.lax.scan(step, initial_bias, visible_input)
  return temporal.time_major(c), temporal.time_major(r)


def reverse_scan(w_hh: Array, r: Array, bias_gradient: Array) -> Array:
  """Backpropagation through time of the gradient with respect to the biases c_t.

  With `d_t = dL/dc_t` the direct gradient of frame t's RBM term (for the loss,
  `E_model[h | c_t] - r_t`, per sequence), the total gradient obeys (thesis
  eq. 3.24, written for the loss):

    delta_T = d_T
    delta_t = d_t + (delta_{t+1} @ w_hh^T) * r_t * (1 - r_t),   t = T-1, ..., 1

  because c_{t+1} = b_h + r_t @ w_hh and r_t = sigmoid(v_t @ w_vh + c_t): this is
  `temporal.reverse_scan` with z_t = c_t. The scan carries only the `[B, nh]`
  message; weight gradients are formed afterwards.

  Args:
    w_hh: [nh, nh] recurrent weights.
    r: [B, T, nh] mean-field states from `forward_scan`.
    bias_gradient: [B, T, nh] direct gradients d_t.

  Returns:
    delta: [B, T, nh] total gradients dL/dc_t.
  """
  num_hidden = np.shape(w_hh)[-1]
  checks.check_shape("w_hh", w_hh, (num_hidden, num_hidden), "a square matrix")
  checks.check_shape("r", r, (None, None, num_hidden),
                     f"num_hidden={num_hidden} from w_hh")
  checks.check_shape("bias_gradient", bias_gradient, np.shape(r), "the shape of r")
  return temporal.reverse_scan(w_hh, r * (1 - r), bias_gradient)


def gradient_from_statistics(params: Params, v: Array, r: Array,
                             model: rbm.Statistics) -> Params:
  """Loss gradient given each frame's model statistics (CD estimates or exact).

  Per frame, the RBM term contributes `model - data` statistics (data: v_t and r_t);
  the reverse scan carries the hidden-bias part back through time, and thesis
  eq. 3.25 turns the messages into parameter gradients with a few large products:

    b_init: sum_b delta_1             b_h:  sum_b sum_{t>1} delta_t
    w_hh:   sum_{t>1} r_{t-1}^T delta_t
    b_v:    sum (E_model[v] - v_t) / B
    w_vh:   (sum E_model[v h^T] - V^T R) / B + V^T (delta - d), where delta - d is
            the message that reached r_t from c_{t+1} times sigmoid'.

  Args:
    params: RTRBM parameters.
    v: [B, T, nv] frames.
    r: [B, T, nh] from `forward_scan`.
    model: statistics of the B * T frame RBMs, rows in the order of
      `temporal.rows(v)`.

  Returns:
    dL/d(w_vh, w_hh, b_v, b_h, b_init) for L the mean (over sequences) negative
    log-likelihood, as `Params`.
  """
  check_params(params)
  checks.check_shape("r", r, np.shape(v)[:2] + np.shape(params.b_h),
                     "[B, T] of v and num_hidden from b_h")
  batch_size = v.shape[0]
  visible_bias_gradient, bias_gradient = frame_statistics.frame_bias_gradients(
      v, r, model)
  delta = reverse_scan(params.w_hh, r, bias_gradient)
  through_state = delta - bias_gradient
  rows = temporal.rows
  # The data term -V^T R / B and the through-state term share one product.
  return Params(
      w_vh=(model.weight / batch_size
            + rows(v).T @ rows(through_state - r / batch_size)),
      w_hh=rows(r[:, :-1]).T @ rows(delta[:, 1:]),
      b_v=jnp.sum(visible_bias_gradient, axis=(0, 1)),
      b_h=jnp.sum(delta[:, 1:], axis=(0, 1)),
      b_init=jnp.sum(delta[:, 0], axis=0))


def _frames_and_states(params: Params,
                       v: Array) -> tuple[frame_statistics.FrameRBMs, Array]:
  """Each frame's RBM (hidden bias c_t) and the states r_t, without checks."""
  c, r = _forward_scan(params, v)
  return frame_statistics.FrameRBMs(params.w_vh, params.b_v, c), r


def _next_state(params: Params, r: Array, frame: Array,
                hidden_bias: Array) -> Array:
  del r  # r_t depends on the past only through c_t.
  return jax.nn.sigmoid(frame @ params.w_vh + hidden_bias)


# The RTRBM's state is its hidden layer: r_t = sigmoid(v_t @ w_vh + c_t) is
# P(h_t = 1 | v_t) in frame t's RBM, so the data's hidden statistics are r itself.
# The RTRBM as `temporal.make_model` takes it (`registry.get_model("rtrbm")`).
PARTS = temporal.ModelParts(
    kind="rtrbm",
    init_params=init_params,
    init_options=(),
    check_params=check_params,
    forward_scan=_frames_and_states,
    data_hidden=lambda frames, v, r: r,
    gradient_from_statistics=(lambda params, v, r, data_hidden, model:
                              gradient_from_statistics(params, v, r, model)),
    frame_biases=lambda params, r: (params.b_v, params.b_h + r @ params.w_hh),
    next_state=_next_state)
