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
    upper_bound: [B, T] a bound that cannot fail, per_frame <= upper_bound:
      -F(v_t) minus the log of the sum of exp(-F) over the distinct states the
      AIS chains ended in and v_t itself (`ais.visited_states_bound`); the value
      itself when exact; +inf for Gaussian units; None where not computed.
  """
  per_frame: Array
  standard_error: Array
  method: str
  upper_bound: Array | None = None


def base_rate_logits(frames: Array) -> Array:
  """The base-rate AIS path's base model for binary `frames` `[N, nv]`: the logit
  of their mean activity `[nv]`, one pseudo-count on and off per unit (a unit
  never on still has a finite bias)."""
  mean = (jnp.sum(frames, axis=0) + 1) / (frames.shape[0] + 2)
  return jnp.log(mean) - jnp.log1p(-mean)


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
                          num_chains: int = 100, method: str = "auto",
                          ais_path: str = ais.WEIGHTS) -> FrameLogLikelihoods:
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
    ais_path: AIS's path (`ais.PATHS`, see `row_log_likelihoods`).
  """
  if model.frame_log_probability is not None:
    model_method(model, params, method)
    per_frame = model.frame_log_probability(params, v)
    return FrameLogLikelihoods(per_frame, jnp.zeros_like(per_frame), "exact",
                               per_frame)
  frames = model.frame_rbms(params, v)
  visible_bias, hidden_bias = frames.row_biases()
  estimate = row_log_likelihoods(
      model, frames.w_vh, visible_bias, hidden_bias, v.reshape(-1, v.shape[-1]),
      key, num_temperatures, num_chains, method, ais_path)
  per_frame, standard_error, upper_bound = (
      array.reshape(v.shape[:2]) for array in (
          estimate.per_frame, estimate.standard_error, estimate.upper_bound))
  return FrameLogLikelihoods(per_frame, standard_error, estimate.method,
                             upper_bound)


def row_log_likelihoods(model: temporal.TemporalModel, w_vh: Array,
                        visible_bias: Array, hidden_bias: Array, v: Array,
                        key: Array, num_temperatures: int, num_chains: int,
                        method: str = "auto",
                        ais_path: str = ais.WEIGHTS) -> FrameLogLikelihoods:
  """`frame_log_likelihoods` of frames given as rows of their RBMs' biases.

  What a caller needs to evaluate any subset of a split's frames (e.g. a random
  sample, `run_evaluation`): the temporal pass gives every frame's RBM
  (`frame_rbms(...).row_biases()`), and the rows are independent from there on.

  Args:
    model: the temporal model (its visible type and sampler).
    w_vh: [nv, nh] weights; visible_bias: [nv] or [N, nv]; hidden_bias: [N, nh].
    v: [N, nv] the frames.
    key, num_temperatures, num_chains, method: as `frame_log_likelihoods`.
    ais_path: `ais.WEIGHTS` (the default, which the shipped figures used) or
      `ais.BASE_RATE`, whose binary base model is the logit of the frames `v`'s
      mean activity (`base_rate_logits`); measured in `models/ais.py`.

  Returns:
    `FrameLogLikelihoods` with `[N]` arrays, with the upper bound of each frame:
    `ais.log_partition_with_bound`'s bound over the chains' final states and the
    frame itself.
  """
  num_visible, num_hidden = w_vh.shape
  method = resolve_method(method, num_visible, num_hidden, model.visible_type)
  if method == "exact":
    rbm.check_exact_size(num_visible, num_hidden, model.visible_type)
    log_z = rbm.exact_log_partition(w_vh, visible_bias, hidden_bias,
                                    model.visible_type)
    log_probability = rbm.log_probability(w_vh, visible_bias, hidden_bias, v,
                                          log_z, model.visible_type)
    return FrameLogLikelihoods(log_probability, jnp.zeros_like(log_z), method,
                               log_probability)
  binary_base_rate = ais_path == ais.BASE_RATE and model.visible_type == rbm.BINARY
  log_z, standard_error, lower_bound = ais.log_partition_with_bound(
      key, w_vh, visible_bias, hidden_bias, num_temperatures, num_chains,
      model.visible_type, model.sampler, ais_path,
      base_rate_logits(v) if binary_base_rate else None,
      visited=v if model.visible_type == rbm.BINARY else None)
  log_probability, upper_bound = (
      rbm.log_probability(w_vh, visible_bias, hidden_bias, v, log_partition,
                          model.visible_type)
      for log_partition in (log_z, lower_bound))
  return FrameLogLikelihoods(log_probability, standard_error, method, upper_bound)


def log_likelihood_summary(estimate: FrameLogLikelihoods, mask=None) -> dict:
  """Mean log-likelihood per frame over the frames in `mask`, with its errors.

  The standard error combines the spread over frames with the AIS estimates' own
  errors (independent, so their variances add): se^2 = s^2 / n + sum_t se_t^2 / n^2.

  Args:
    estimate: per-frame log-likelihoods `[B, T]` and their standard errors (and
      upper bounds, or None).
    mask: [B, T] True for real frames (False for padding), or None for all.

  Returns:
    {"method", "mean", "standard_error", "ais_standard_error_of_mean"}, in nats
    per frame, and with bounds "upper_bound": the mean of the frames' upper bounds
    (None where it bounds nothing: Gaussian units).
  """
  per_frame = np.asarray(estimate.per_frame)
  mask = np.ones(per_frame.shape, bool) if mask is None else np.asarray(mask, bool)
  errors_squared = np.asarray(estimate.standard_error)[mask] ** 2
  num_frames = int(mask.sum())
  spread = prediction.error_summary(per_frame, mask)["standard_error"]
  summary = {"method": estimate.method,
             "mean": float(per_frame[mask].mean()),
             "standard_error": float(np.sqrt(
                 spread ** 2 + errors_squared.sum() / num_frames ** 2)),
             "ais_standard_error_of_mean": float(np.sqrt(errors_squared.sum())
                                                 / num_frames)}
  if estimate.upper_bound is not None:
    upper_bound = float(np.asarray(estimate.upper_bound)[mask].mean())
    summary["upper_bound"] = upper_bound if np.isfinite(upper_bound) else None
  return summary


# An estimate counts as past its bound when above it by more than this many nats
# (float32 rounding of the two free energies, which are the same computation).
BOUND_TOLERANCE = 1e-4


def suspect_reasons(per_frame, upper_bound, mask, visible_type: str) -> dict:
  """Why a log-likelihood figure cannot be trusted as it stands, if it cannot.

  A binary frame's probability is at most 1, so a log-likelihood above 0 is
  impossible; and no frame's log-likelihood exceeds its upper bound
  (`FrameLogLikelihoods.upper_bound`). Either means AIS underestimated those
  frames' log Z: the mean is too high.

  Args:
    per_frame, upper_bound: [B, T] (or [N]) estimates and their upper bounds.
    mask: same shape, True for the frames of the figure (None: all).
    visible_type: "binary" (log-probabilities, at most 0) or "gaussian" (log
      densities, which may be positive).

  Returns:
    {"frames_above_zero": count (None for Gaussian units),
     "frames_above_upper_bound": count, "suspect": [reasons, in words]}: an
    empty list when the figure passes both checks.
  """
  per_frame = np.asarray(per_frame)
  mask = np.ones(per_frame.shape, bool) if mask is None else np.asarray(mask, bool)
  values = per_frame[mask]
  above_bound = int(np.sum(values > np.asarray(upper_bound)[mask]
                           + BOUND_TOLERANCE))
  above_zero = (int(np.sum(values > 0)) if visible_type == rbm.BINARY else None)
  reasons = []
  if above_zero:
    reasons.append(f"{above_zero} of {values.size} frames have a log-likelihood "
                   "above 0, which no binary frame can have: AIS underestimated "
                   "their log Z")
  if above_bound:
    reasons.append(f"{above_bound} of {values.size} frames have an estimate above "
                   "their upper bound (the log Z bound of the states the chains "
                   "visited): AIS underestimated their log Z")
  return {"frames_above_zero": above_zero,
          "frames_above_upper_bound": above_bound, "suspect": reasons}


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
