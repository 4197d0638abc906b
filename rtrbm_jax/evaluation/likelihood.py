"""Log-likelihoods of temporal models: per frame and per sequence, exact or by AIS.

log P(v_t | v_1..v_{t-1}) of every frame is the log-probability of v_t under frame
t's RBM (`model.frame_rbms`), whose log partition function is summed exactly for
small models or estimated by annealed importance sampling (`models.ais`), or,
where the model's frames are tractable (`model.frame_log_probability`, a NADE),
that exact log-probability at any size; and the independent-Bernoulli baseline a
model's likelihood must beat. Every Gibbs chain run here uses the model's own
sampler (`model.sampler`).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax import checks
from rtrbm_jax.evaluation import prediction
from rtrbm_jax.models import ais
from rtrbm_jax.models import rbm
from rtrbm_jax.models import temporal

Array = jax.Array


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


def resolve_method(method: str, num_visible: int, num_hidden: int,
                   visible_type: str) -> str:
  """"exact" or "ais": `method`, with "auto" resolved by the enumerated size."""
  if method == "auto":
    enumerated = (num_hidden if rbm.enumerates_hidden(num_visible, num_hidden,
                                                      visible_type)
                  else num_visible)
    return "exact" if enumerated <= rbm.MAX_EXACT_UNITS else "ais"
  if method not in ("exact", "ais"):
    raise ValueError(f"method must be 'auto', 'exact' or 'ais', got {method!r}.")
  return method


def model_method(model: temporal.TemporalModel, params, method: str) -> str:
  """"exact" or "ais" for `model`: "exact" whenever its frames' log-probability is
  (`model.frame_log_probability`; AIS has then nothing to estimate, so "ais"
  resolves to "exact" too), else `resolve_method` by its frames' RBM size."""
  if model.frame_log_probability is not None:
    resolve_method(method, 1, 1, model.visible_type)  # Checks the name.
    return "exact"
  return resolve_method(method, *params.w_vh.shape, model.visible_type)


def frame_log_likelihoods(model: temporal.TemporalModel, params, v: Array,
                          key: Array, num_temperatures: int = 1000,
                          num_chains: int = 100,
                          method: str = "auto") -> FrameLogLikelihoods:
  """Every frame's log-likelihood under its RBM: exact when it can be enumerated.

  `log P(v_t | past) = -F(v_t) - log Z_t` (`rbm.log_probability`); `log Z_t` is
  exact by enumeration (`rbm.MAX_EXACT_UNITS`) or an AIS estimate
  (`ais.log_partition`, with the model's sampler), all frames of all sequences in
  one batched run.

  Args:
    model: the temporal model.
    params: its parameters.
    v: [B, T, nv] frames (binary 0/1 for binary units).
    key: PRNG key (used by AIS).
    num_temperatures, num_chains: AIS settings.
    method: "exact", "ais", or "auto" (exact if the model is small enough); a
      model with tractable frames is always exact (`model_method`).
  """
  if model.frame_log_probability is not None:
    model_method(model, params, method)
    per_frame = model.frame_log_probability(params, v)
    return FrameLogLikelihoods(per_frame, jnp.zeros_like(per_frame), "exact")
  frames = model.frame_rbms(params, v)
  visible_bias, hidden_bias = frames.row_biases()
  estimate = row_log_likelihoods(
      model, frames.w_vh, visible_bias, hidden_bias, v.reshape(-1, v.shape[-1]),
      key, num_temperatures, num_chains, method)
  return FrameLogLikelihoods(estimate.per_frame.reshape(v.shape[:2]),
                             estimate.standard_error.reshape(v.shape[:2]),
                             estimate.method)


def row_log_likelihoods(model: temporal.TemporalModel, w_vh: Array,
                        visible_bias: Array, hidden_bias: Array, v: Array,
                        key: Array, num_temperatures: int, num_chains: int,
                        method: str = "auto") -> FrameLogLikelihoods:
  """`frame_log_likelihoods` of frames given as rows of their RBMs' biases.

  What a caller needs to evaluate any subset of a split's frames (e.g. a random
  sample, `run_evaluation`): the temporal pass gives every frame's RBM
  (`frame_rbms(...).row_biases()`), and the rows are independent from there on.

  Args:
    model: the temporal model (its visible type and sampler).
    w_vh: [nv, nh] weights; visible_bias: [nv] or [N, nv]; hidden_bias: [N, nh].
    v: [N, nv] the frames.
    key, num_temperatures, num_chains, method: as `frame_log_likelihoods`.

  Returns:
    `FrameLogLikelihoods` with `[N]` arrays.
  """
  num_visible, num_hidden = w_vh.shape
  method = resolve_method(method, num_visible, num_hidden, model.visible_type)
  if method == "exact":
    rbm.check_exact_size(num_visible, num_hidden, model.visible_type)
    log_z = rbm.exact_log_partition(w_vh, visible_bias, hidden_bias,
                                    model.visible_type)
    standard_error = jnp.zeros_like(log_z)
  else:
    log_z, standard_error = ais.log_partition(
        key, w_vh, visible_bias, hidden_bias, num_temperatures, num_chains,
        model.visible_type, model.sampler)
  log_probability = rbm.log_probability(w_vh, visible_bias, hidden_bias, v, log_z,
                                        model.visible_type)
  return FrameLogLikelihoods(log_probability, standard_error, method)


def log_likelihood_summary(estimate: FrameLogLikelihoods, mask=None) -> dict:
  """Mean log-likelihood per frame over the frames in `mask`, with its errors.

  The standard error combines the spread over frames with the AIS estimates' own
  errors (independent, so their variances add): se^2 = s^2 / n + sum_t se_t^2 / n^2.

  Args:
    estimate: per-frame log-likelihoods `[B, T]` and their standard errors.
    mask: [B, T] True for real frames (False for padding), or None for all.

  Returns:
    {"method", "mean", "standard_error", "ais_standard_error_of_mean"}, in nats
    per frame.
  """
  per_frame = np.asarray(estimate.per_frame)
  mask = np.ones(per_frame.shape, bool) if mask is None else np.asarray(mask, bool)
  errors_squared = np.asarray(estimate.standard_error)[mask] ** 2
  num_frames = int(mask.sum())
  spread = prediction.error_summary(per_frame, mask)["standard_error"]
  return {"method": estimate.method,
          "mean": float(per_frame[mask].mean()),
          "standard_error": float(np.sqrt(spread ** 2
                                          + errors_squared.sum() / num_frames ** 2)),
          "ais_standard_error_of_mean": float(np.sqrt(errors_squared.sum())
                                              / num_frames)}


def _check_frames(v, num_visible: int, visible_type: str) -> None:
  # Binary likelihoods are probabilities of binary frames, as in exact mode.
  rbm.check_visible_type(visible_type)
  checks.check_frames(v, num_visible, visible_type=visible_type,
                      require_binary=True)


def sequence_log_likelihoods(model: temporal.TemporalModel, params, v: Array,
                             key: Array, num_temperatures: int = 1000,
                             num_chains: int = 100,
                             method: str = "auto") -> ais.Estimate:
  """log P(v_1..T) of each sequence under any temporal model: `[B]`.

  The sum over t of `frame_log_likelihoods`. By AIS every frame's log Z_t is
  estimated independently (its own chains), so the standard error of the sum over
  frames is the root-sum-square of the frames' errors:
  se(sequence) = sqrt(sum_t se(log Z_t)^2); it is zero when exact. Uses only
  `model.frame_rbms`, `model.visible_type` and `model.sampler`, so it serves every
  model kind. Under `jax.jit`, mark `model` (it holds functions),
  `num_temperatures`, `num_chains` and `method` static.

  Args:
    model: the temporal model.
    params: its parameters, with a `w_vh [nv, nh]` field as every model's have.
    v: [B, T, nv] frames, binary (0/1) for binary units.
    key: PRNG key (used by AIS).
    num_temperatures: K >= 2 AIS temperatures, both ends included; the estimate's
      bias and error shrink as K grows.
    num_chains: M >= 2 AIS chains per frame; the error shrinks as 1 / sqrt(M).
    method: "exact", "ais", or "auto" (exact if the model is small enough).

  Returns:
    `ais.Estimate` of log P(v_1..T) `[B]` in nats (same units as the model's
    `exact_log_likelihood`) and its standard error `[B]`.
  """
  # Checked before the forward scan, which would fail on bad shapes less clearly.
  _check_frames(v, params.w_vh.shape[0], model.visible_type)
  frames = frame_log_likelihoods(model, params, v, key, num_temperatures,
                                 num_chains, method)
  return ais.Estimate(
      jnp.sum(frames.per_frame, axis=1),
      jnp.sqrt(jnp.sum(jnp.square(frames.standard_error), axis=1)))
