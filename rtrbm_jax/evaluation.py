"""Evaluation of temporal models: pure functions over a model, its params and data."""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from rtrbm_jax import ais
from rtrbm_jax import checks
from rtrbm_jax import rbm
from rtrbm_jax.models import TemporalModel

Array = jax.Array


class PredictionError(NamedTuple):
  """Next-frame prediction error.

  Attributes:
    per_frame: [B, T - 1] squared error of each predicted frame (t = 2..T), summed
      over units.
    mean: [] mean over all predicted frames.
    standard_error: [] standard error of that mean.
  """
  per_frame: Array
  mean: Array
  standard_error: Array


def predict_next_frames(model: TemporalModel, params, v: Array, key: Array,
                        num_gibbs_steps=50) -> Array:
  """Predicts every frame t >= 2 from the true frames before it.

  The protocol of the RTRBM papers: the hidden state comes from the true frames
  v_1..v_{t-1} by mean field (the forward scan), then v_t is sampled from the RBM at
  t by `num_gibbs_steps` Gibbs steps started at P(h) = sigmoid(c_t), the last visible
  step taken as mean field. Given the biases the frames are independent, so all
  B * (T - 1) predictions are one batched chain.

  Args:
    model: the temporal model.
    params: its parameters.
    v: [B, T, nv] frames, T >= 2.
    key: PRNG key.
    num_gibbs_steps: Gibbs steps per prediction.

  Returns:
    [B, T - 1, nv] predictions of frames 2..T.
  """
  checks.check_num_gibbs_steps(num_gibbs_steps)
  frames = model.frame_rbms(params, v)
  hidden_bias = frames.hidden_bias[:, 1:]
  visible_bias = frames.visible_bias
  if visible_bias.ndim == 3:
    visible_bias = visible_bias[:, 1:].reshape(-1, visible_bias.shape[-1])
  hidden_rows = hidden_bias.reshape(-1, hidden_bias.shape[-1])
  chain = rbm.gibbs_chain(key, frames.w_vh, visible_bias, hidden_rows,
                          jax.nn.sigmoid(hidden_rows), num_gibbs_steps,
                          model.visible_type)
  return chain.visible_mean.reshape(v.shape[0], v.shape[1] - 1, v.shape[2])


def next_frame_prediction_error(model: TemporalModel, params, v: Array, key: Array,
                                num_gibbs_steps=50) -> PredictionError:
  """Squared error of `predict_next_frames`, with its mean and standard error."""
  if v.shape[1] < 2:
    raise ValueError(f"next-frame prediction needs sequences of at least 2 frames, "
                     f"got shape {v.shape}.")
  predictions = predict_next_frames(model, params, v, key, num_gibbs_steps)
  per_frame = jnp.sum(jnp.square(predictions - v[:, 1:]), axis=-1)
  count = per_frame.size
  return PredictionError(
      per_frame=per_frame,
      mean=jnp.mean(per_frame),
      standard_error=jnp.std(per_frame, ddof=1) / jnp.sqrt(count) if count > 1
      else jnp.zeros(()))


class FrameLogLikelihoods(NamedTuple):
  """log P(v_t | v_1..v_{t-1}) of every frame.

  Attributes:
    per_frame: [B, T] in nats (log densities for Gaussian units).
    standard_error: [B, T] standard error of each value (zero when exact).
    method: "exact" or "ais".
  """
  per_frame: Array
  standard_error: Array
  method: str


def frame_log_likelihoods(model: TemporalModel, params, v: Array, key: Array,
                          num_temperatures: int = 1000, num_chains: int = 100,
                          method: str = "auto") -> FrameLogLikelihoods:
  """Every frame's log-likelihood under its RBM: exact when it can be enumerated.

  `log P(v_t | past) = -F(v_t) - log Z_t`; `log Z_t` is exact by enumeration
  (`rbm.MAX_EXACT_UNITS`) or an AIS estimate (`ais.log_partition`), all frames of
  all sequences in one batched run.

  Args:
    model: the temporal model.
    params: its parameters.
    v: [B, T, nv] frames (binary 0/1 for binary units).
    key: PRNG key (used by AIS).
    num_temperatures, num_chains: AIS settings.
    method: "exact", "ais", or "auto" (exact if the model is small enough).
  """
  frames = model.frame_rbms(params, v)
  visible_bias, hidden_bias = frames.row_biases()
  num_visible, num_hidden = frames.w_vh.shape
  if method == "auto":
    enumerated = (num_hidden if rbm.enumerates_hidden(num_visible, num_hidden,
                                                      model.visible_type)
                  else num_visible)
    method = "exact" if enumerated <= rbm.MAX_EXACT_UNITS else "ais"
  if method == "exact":
    rbm.check_exact_size(num_visible, num_hidden, model.visible_type)
    log_z = rbm.exact_log_partition(frames.w_vh, visible_bias, hidden_bias,
                                    model.visible_type)
    standard_error = jnp.zeros_like(log_z)
  elif method == "ais":
    log_z, standard_error = ais.log_partition(
        key, frames.w_vh, visible_bias, hidden_bias, num_temperatures, num_chains,
        model.visible_type)
  else:
    raise ValueError(f"method must be 'auto', 'exact' or 'ais', got {method!r}.")
  free_energy = rbm.free_energy(frames.w_vh, visible_bias, hidden_bias,
                                v.reshape(-1, num_visible), model.visible_type)
  return FrameLogLikelihoods((-free_energy - log_z).reshape(v.shape[:2]),
                             standard_error.reshape(v.shape[:2]), method)
