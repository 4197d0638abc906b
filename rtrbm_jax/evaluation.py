"""Evaluation of temporal models: pure functions over a model, its params and data."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

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


def _check_predictable(v: Array) -> None:
  if v.shape[1] < 2:
    raise ValueError(f"next-frame prediction needs sequences of at least 2 frames, "
                     f"got shape {v.shape}.")


def predict_next_frames(model: TemporalModel, params, v: Array, key: Array,
                        num_gibbs_steps=50, num_chains: int = 1) -> Array:
  """Predicts every frame t >= 2 from the true frames before it.

  The protocol of the RTRBM papers: the hidden state comes from the true frames
  v_1..v_{t-1} by mean field (the forward scan), then v_t is sampled from the RBM at
  t by `num_gibbs_steps` Gibbs steps started at P(h) = sigmoid(c_t), the last visible
  step taken as mean field. Given the biases the frames are independent, so all
  B * (T - 1) predictions are one batched chain.

  With `num_chains` > 1 the prediction is the mean of that many independent
  chains' predictions: a lower-variance estimate of E[v_t | v_1..v_{t-1}] under the
  same k-step sampler, so a lower squared error than one chain's (the literature's
  figure is `num_chains=1`). The chains run one after another, so memory stays
  that of one.

  Args:
    model: the temporal model.
    params: its parameters.
    v: [B, T, nv] frames, T >= 2.
    key: PRNG key.
    num_gibbs_steps: Gibbs steps per prediction.
    num_chains: independent chains averaged per prediction, >= 1.

  Returns:
    [B, T - 1, nv] predictions of frames 2..T.
  """
  checks.check_num_gibbs_steps(num_gibbs_steps)
  if not isinstance(num_chains, int) or num_chains < 1:
    raise ValueError(f"num_chains must be an integer >= 1, got {num_chains!r}.")
  frames = model.frame_rbms(params, v)
  hidden_bias = frames.hidden_bias[:, 1:]
  visible_bias = frames.visible_bias
  if visible_bias.ndim == 3:
    visible_bias = visible_bias[:, 1:].reshape(-1, visible_bias.shape[-1])
  hidden_rows = hidden_bias.reshape(-1, hidden_bias.shape[-1])

  def one_chain(chain_key):
    return rbm.gibbs_chain(chain_key, frames.w_vh, visible_bias, hidden_rows,
                           jax.nn.sigmoid(hidden_rows), num_gibbs_steps,
                           model.visible_type, model.sampler).visible_mean

  if num_chains == 1:
    mean = one_chain(key)
  else:
    def add_chain(total, chain_key):
      return total + one_chain(chain_key), None
    total, _ = jax.lax.scan(add_chain,
                            jnp.zeros((hidden_rows.shape[0], v.shape[-1]), v.dtype),
                            jax.random.split(key, num_chains))
    mean = total / num_chains
  return mean.reshape(v.shape[0], v.shape[1] - 1, v.shape[2])


def next_frame_prediction_error(model: TemporalModel, params, v: Array, key: Array,
                                num_gibbs_steps=50,
                                num_chains: int = 1) -> PredictionError:
  """Squared error of `predict_next_frames`, with its mean and standard error."""
  _check_predictable(v)
  predictions = predict_next_frames(model, params, v, key, num_gibbs_steps,
                                    num_chains)
  return prediction_error(predictions, v)


def prediction_error(predictions: Array, v: Array) -> PredictionError:
  """Squared error of predictions `[B, T - 1, nv]` of the frames 2..T of `v`."""
  per_frame = jnp.sum(jnp.square(predictions - v[:, 1:]), axis=-1)
  count = per_frame.size
  return PredictionError(
      per_frame=per_frame,
      mean=jnp.mean(per_frame),
      standard_error=jnp.std(per_frame, ddof=1) / jnp.sqrt(count) if count > 1
      else jnp.zeros(()))


# Predictors of frame t without a model, the floor a model must beat.
BASELINES = ("copy_last_frame", "extrapolation", "blank_frame", "mean_frame")


def baseline_predictions(v: Array, visible_type: str = rbm.BINARY,
                         mean_frame: Array | None = None) -> dict[str, Array]:
  """Model-free predictions of the frames 2..T, each `[B, T - 1, nv]`.

    copy_last_frame:  v_{t-1}.
    extrapolation:    2 v_{t-1} - v_{t-2} (constant velocity of every unit, clipped
                      to [0, 1] for binary units); v_1 for t = 2.
    blank_frame:      zeros (for standardised real-valued data, the data mean).
    mean_frame:       the per-unit mean of the training frames, the best constant
                      predictor in squared error (only if `mean_frame` is given).

  Args:
    v: [B, T, nv] frames, T >= 2.
    visible_type: "binary" or "gaussian".
    mean_frame: [nv] per-unit mean of the training frames, or None.
  """
  _check_predictable(v)
  previous = v[:, :-1]
  before_previous = jnp.concatenate([v[:, :1], v[:, :-2]], axis=1)
  extrapolation = 2 * previous - before_previous
  if visible_type == rbm.BINARY:
    extrapolation = jnp.clip(extrapolation, 0, 1)
  predictions = {"copy_last_frame": previous, "extrapolation": extrapolation,
                 "blank_frame": jnp.zeros_like(previous)}
  if mean_frame is not None:
    predictions["mean_frame"] = jnp.broadcast_to(mean_frame, previous.shape)
  return predictions


def error_summary(per_frame, mask=None) -> dict:
  """Mean of per-frame errors `[B, T']` over the frames in `mask`, with spreads.

  Frames of one sequence are correlated, so besides the standard error over frames
  this gives the spread over sequences (standard deviation of the per-sequence
  means) and the standard error it implies for the mean.

  Returns:
    {"mean", "standard_error" (over frames), "sd_over_sequences",
     "standard_error_over_sequences", "num_predicted_frames", "num_sequences"}.
  """
  per_frame = np.asarray(per_frame, np.float64)
  mask = np.ones(per_frame.shape, bool) if mask is None else np.asarray(mask, bool)
  values = per_frame[mask]
  counts = mask.sum(axis=1)
  sequence_means = (np.where(mask, per_frame, 0).sum(axis=1)[counts > 0]
                    / counts[counts > 0])

  def spread(x):
    return float(x.std(ddof=1)) if x.size > 1 else 0.0

  return {"mean": float(values.mean()),
          "standard_error": spread(values) / np.sqrt(values.size),
          "sd_over_sequences": spread(sequence_means),
          "standard_error_over_sequences": (spread(sequence_means)
                                            / np.sqrt(sequence_means.size)),
          "num_predicted_frames": int(values.size),
          "num_sequences": int(sequence_means.size)}


def independent_bernoulli_log_likelihood(train_frames: np.ndarray,
                                         v: np.ndarray) -> np.ndarray:
  """log P(v_t) of every frame `[B, T]` under independent per-unit Bernoullis.

  The probabilities are the training frames' per-unit means, smoothed by one
  pseudo-count each of on and off (so a unit never on in training costs a finite
  amount): the simplest likelihood baseline for binary frames.

  Args:
    train_frames: [N, nv] binary training frames.
    v: [B, T, nv] binary frames to score.
  """
  train_frames = np.asarray(train_frames, np.float64)
  probability = (train_frames.sum(axis=0) + 1) / (len(train_frames) + 2)
  v = np.asarray(v, np.float64)
  return (v @ np.log(probability) + (1 - v) @ np.log1p(-probability))


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
