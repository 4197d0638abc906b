"""Evaluation of temporal models: pure functions over a model, its params and data."""

from typing import NamedTuple

import jax
import jax.numpy as jnp

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
