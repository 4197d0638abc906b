"""A plain RNN with a hand-written BPTT reverse scan: the classic binary adder.

The network reads two bits per time step and emits one:

  h_0 = 0,   h_t = sigmoid(x_t @ w_xh + h_{t-1} @ w_hh + b_h)      [B, nh]
  y_t = sigmoid(h_t @ w_hy + b_y)                                  [B, ny]

and the loss is the Bernoulli negative log-likelihood of the targets, summed over
time steps and outputs and averaged over sequences (the temporal models' convention).
Its gradient is backpropagation through time, a reverse scan whose message is the
gradient with respect to the pre-activation of h_t:

  e_t = y_t - target_t                          the error from the output at t
  delta_T = (e_T @ w_hy^T) * h_T (1 - h_T)
  delta_t = (delta_{t+1} @ w_hh^T + e_t @ w_hy^T) * h_t (1 - h_t),  t = T-1, ..., 1

"the error from the next time step through the recurrent weights plus the error
from the output at this step, times the sigmoid derivative". It is
`temporal.reverse_scan`, the same scan as the RTRBM's (thesis eq. 3.24) and the
RNN-RBM's, with the output error in place of an RBM's bias gradient.

The binary-addition task: bits are fed least significant first, so that the carry
flows forward in time, and the sum of two numbers below 2^(n - 1) fits in n bits.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax.models import temporal

Array = jax.Array


class Params(NamedTuple):
  """RNN parameters.

  Attributes:
    w_xh: [nx, nh] input weights.
    w_hh: [nh, nh] recurrent weights, h_{t-1} to h_t.
    b_h: [nh] hidden bias.
    w_hy: [nh, ny] output weights.
    b_y: [ny] output bias.
  """
  w_xh: Array
  w_hh: Array
  b_h: Array
  w_hy: Array
  b_y: Array


def init_params(key: Array, num_inputs: int, num_hidden: int, num_outputs: int,
                weight_scale: float = 1.0, dtype=jnp.float32) -> Params:
  """Weights `weight_scale * N(0, 1 / fan_in)`, biases zero."""
  if min(num_inputs, num_hidden, num_outputs) < 1:
    raise ValueError(f"num_inputs, num_hidden and num_outputs must be >= 1, got "
                     f"{num_inputs}, {num_hidden} and {num_outputs}.")
  input_key, recurrent_key, output_key = jax.random.split(key, 3)

  def weights(weight_key, fan_in, fan_out):
    return (weight_scale / np.sqrt(fan_in)
            * jax.random.normal(weight_key, (fan_in, fan_out), dtype))

  return Params(w_xh=weights(input_key, num_inputs, num_hidden),
                w_hh=weights(recurrent_key, num_hidden, num_hidden),
                b_h=jnp.zeros((num_hidden,), dtype),
                w_hy=weights(output_key, num_hidden, num_outputs),
                b_y=jnp.zeros((num_outputs,), dtype))


def forward_scan(params: Params, x: Array) -> tuple[Array, Array]:
  """Hidden states and output logits of every time step.

  Args:
    params: RNN parameters.
    x: [B, T, nx] inputs.

  Returns:
    h: [B, T, nh] hidden states h_t, t in [1, T].
    logits: [B, T, ny] h_t @ w_hy + b_y, so that y_t = sigmoid(logits_t).
  """
  input_term = temporal.time_major(x @ params.w_xh + params.b_h)  # [T, B, nh]

  def step(state, input_t):
    state = jax.nn.sigmoid(input_t + state @ params.w_hh)
    return state, state

  initial_state = jnp.zeros(input_term.shape[1:], input_term.dtype)
  _, h = jax.lax.scan(step, initial_state, input_term)
  h = temporal.time_major(h)
  return h, h @ params.w_hy + params.b_y


def _negative_log_likelihood(logits: Array, targets: Array) -> Array:
  # -log P(target | logit) = softplus(logit) - target * logit, stable for any logit.
  return jnp.sum(jax.nn.softplus(logits) - targets * logits) / logits.shape[0]


def loss(params: Params, x: Array, targets: Array) -> Array:
  """Bernoulli negative log-likelihood, summed over time and outputs, mean over B."""
  _, logits = forward_scan(params, x)
  return _negative_log_likelihood(logits, targets)


def reverse_scan(params: Params, h: Array, output_error: Array) -> Array:
  """The BPTT messages delta_t = dL/d(pre-activation of h_t): `[B, T, nh]`.

    delta_t = (delta_{t+1} @ w_hh^T + output_error_t @ w_hy^T) * h_t (1 - h_t)

  with delta_{T+1} = 0 (module docstring); `temporal.reverse_scan` with the output
  term, already times the sigmoid derivative, as its direct gradient.

  Args:
    params: RNN parameters.
    h: [B, T, nh] hidden states from `forward_scan`.
    output_error: [B, T, ny] dL/d(logits_t).
  """
  derivative = h * (1 - h)
  return temporal.reverse_scan(params.w_hh, derivative,
                               derivative * (output_error @ params.w_hy.T))


def gradient(params: Params, x: Array, targets: Array) -> tuple[Params, Array]:
  """The loss and its gradient by the hand-written reverse scan.

  With e_t = (y_t - target_t) / B and delta from `reverse_scan`, the weight
  gradients are a few products over all time steps at once:

    w_hy: sum_t h_t^T e_t          b_y: sum e_t
    w_xh: sum_t x_t^T delta_t      b_h: sum delta_t
    w_hh: sum_{t>1} h_{t-1}^T delta_t   (h_0 = 0 contributes nothing)

  Args:
    params: RNN parameters.
    x: [B, T, nx] inputs.
    targets: [B, T, ny] binary targets.

  Returns:
    (gradient of `loss` as `Params`, the loss).
  """
  h, logits = forward_scan(params, x)
  batch_size = x.shape[0]
  output_error = (jax.nn.sigmoid(logits) - targets) / batch_size
  delta = reverse_scan(params, h, output_error)
  rows = temporal.rows
  grads = Params(w_xh=rows(x).T @ rows(delta),
                 w_hh=rows(h[:, :-1]).T @ rows(delta[:, 1:]),
                 b_h=jnp.sum(delta, axis=(0, 1)),
                 w_hy=rows(h).T @ rows(output_error),
                 b_y=jnp.sum(output_error, axis=(0, 1)))
  return grads, _negative_log_likelihood(logits, targets)


def to_bits(numbers, num_bits: int) -> np.ndarray:
  """Non-negative integers `[...]` as float32 bits `[..., num_bits]`, least first."""
  numbers = np.asarray(numbers)
  return ((numbers[..., None] >> np.arange(num_bits)) & 1).astype(np.float32)


def from_bits(bits) -> np.ndarray:
  """Bits `[..., num_bits]` (least significant first, thresholded at 0.5) as ints."""
  bits = np.asarray(bits) > 0.5
  return np.sum(bits.astype(np.int64) << np.arange(bits.shape[-1]), axis=-1)


def addition_examples(a, b, num_bits: int) -> tuple[np.ndarray, np.ndarray]:
  """Inputs `[N, num_bits, 2]` (bits of a and b) and targets `[N, num_bits, 1]`.

  Args:
    a, b: [N] non-negative integers with a + b < 2^num_bits.
    num_bits: sequence length T.
  """
  a, b = np.asarray(a), np.asarray(b)
  if np.any(a < 0) or np.any(b < 0) or np.any(a + b >= 2 ** num_bits):
    raise ValueError(f"addition_examples needs 0 <= a, b and a + b < 2^{num_bits} "
                     f"= {2 ** num_bits}, got a in [{a.min()}, {a.max()}] and b in "
                     f"[{b.min()}, {b.max()}]; use smaller numbers or more bits.")
  inputs = np.stack([to_bits(a, num_bits), to_bits(b, num_bits)], axis=-1)
  return inputs, to_bits(a + b, num_bits)[..., None]
