"""Next-frame prediction: pure functions over a model, its params and data.

Next-frame prediction and its error (with masks for padded sequences), where that
error is (by frame index, by the prediction chain's length), summaries with
standard errors, frame accuracy and model-free baselines. Every Gibbs chain run
here uses the model's own sampler (`model.sampler`).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax import checks
from rtrbm_jax.evaluation import mode_seeking
from rtrbm_jax.models import rbm
from rtrbm_jax.models import temporal

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


# How a frame is predicted (`predict_next_frames`). RBM frames: "gibbs", the
# papers' Gibbs chain; "mean_field", the same steps with means for samples;
# "annealed", "lowest_free_energy" and "local_search", which seek a likely
# frame (`mode_seeking.py`). Exact frames (a NADE): "gibbs", the model's own sampler,
# here one exact sample; "greedy", each unit on where its probability given the
# units set before it is above 1/2, a likely frame.
# The rules each kind of frame model has ("local_search": binary units only).
RBM_RULES = ("gibbs", "mean_field", "annealed", "lowest_free_energy",
             "local_search")
EXACT_RULES = ("gibbs", "greedy")
PREDICTION_RULES = tuple(dict.fromkeys(RBM_RULES + EXACT_RULES))
# What each rule is, in the words `experiments.evaluate` writes beside its figures.
PROTOCOLS = {
    "gibbs": "the RTRBM papers': one Gibbs chain per frame from P(h) = "
             "sigmoid(hidden bias), last visible step as mean field",
    "mean_field": "one mean-field chain per frame from P(h) = sigmoid(hidden "
                  "bias): the Gibbs steps with means for samples",
    "annealed": "one annealed Gibbs chain per frame from P(h) = sigmoid(hidden "
                "bias): step s of k samples exp(-E / T_s), T_s geometric from 1 "
                f"to {mode_seeking.FINAL_TEMPERATURE}, last visible step as mean "
                "field at T = "
                f"{mode_seeking.FINAL_TEMPERATURE}: it seeks a likely frame",
    "lowest_free_energy": "of the previous frame and the end states of N Gibbs "
                          "chains per frame (the papers' chain, last visible mean "
                          "thresholded at 0.5), the one of lowest free energy in "
                          "the frame's RBM (N = the figure's number of chains: 1 "
                          "for one chain's figures)",
    "local_search": "from the previous frame, the single-unit flip that lowers "
                    "the free energy in the frame's RBM most, taken while one "
                    "does (at most k flips, k the figure's Gibbs steps): a local "
                    "mode of P(v), deterministic",
    "greedy": "the frame's units set in order, each on where its exact "
              "probability given the units set before it is above 1/2 (a "
              "likely frame, deterministic)"}
# The same rule names for exact frames, where "gibbs" is an exact sample.
EXACT_PROTOCOLS = {
    "gibbs": "one exact sample per frame, unit by unit, its units' conditional "
             "probabilities given the units drawn before them as the prediction "
             "(Rao-Blackwellised)",
    "greedy": PROTOCOLS["greedy"]}


def rules_for(model: temporal.TemporalModel) -> tuple[str, ...]:
  """The prediction rules of `model`'s frames: `EXACT_RULES` where they are
  exact (`model.frame_sample`), else `RBM_RULES` (without "local_search" for
  real-valued units: it flips binary ones)."""
  if model.frame_sample is not None:
    return EXACT_RULES
  if model.visible_type != rbm.BINARY:
    return tuple(rule for rule in RBM_RULES if rule != "local_search")
  return RBM_RULES


def check_rule(model: temporal.TemporalModel, rule: str,
               field: str = "rule") -> None:
  """Raises ValueError, one line naming `field`, if `model` has no rule `rule`."""
  if rule not in rules_for(model):
    frames = ("exact" if model.frame_sample is not None
              else f"RBMs with {model.visible_type} units")
    raise ValueError(f"{field}={rule!r} is not accepted for model kind "
                     f"{model.kind!r} (its frames are {frames}): one of "
                     f"{rules_for(model)}.")


def protocol(model: temporal.TemporalModel, rule: str) -> str:
  """What rule `rule` predicts for `model`'s frames, in words."""
  if model.frame_sample is not None:
    return EXACT_PROTOCOLS[rule]
  return PROTOCOLS[rule]


def chains_protocol(rule: str, num_chains: int) -> str:
  """What `predict_next_frames(..., num_chains, rule)` predicts, in words."""
  if rule in ("greedy", "local_search"):
    return (f"the rule's frame (deterministic: the figure of {num_chains} is "
            "that of one)")
  if rule == "lowest_free_energy":
    return (f"the rule with the end states of {num_chains} chains per frame as "
            "candidates beside the previous frame")
  return (f"the mean of {num_chains} such chains' predictions"
          + (", an estimate of E[v_t | past]" if rule == "gibbs" else ""))


def predict_next_frames(model: temporal.TemporalModel, params, v: Array,
                        key: Array, num_gibbs_steps=50,
                        num_chains: int = 1, rule: str = "gibbs") -> Array:
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

  A model with exact frames (`model.frame_sample`, a NADE) needs no chain: a
  prediction is one exact sample of v_t given the past, as the conditional
  probabilities of its units given the units drawn before them (the
  Rao-Blackwellised sample, an unbiased estimate of E[v_t | past], as the RBM's
  last mean-field step is its chain's); `num_gibbs_steps` is then not used.
  With `rule="greedy"` it is the greedy frame instead (`exact_next_frames`),
  deterministic.

  With `rule="mean_field"` an RBM frame's chain is `rbm.mean_field_chain`: the
  same k steps from the same start with means for samples, deterministic (`key`
  and `num_chains` change nothing). With `rule="annealed"` it is
  `mode_seeking.annealed_chain`: the k Gibbs steps with the temperature lowered
  from 1 to `mode_seeking.FINAL_TEMPERATURE`, seeking a likely frame; several
  chains are averaged as Gibbs chains are. With `rule="lowest_free_energy"` a
  prediction is a binary frame (for Gaussian units, real-valued): of the
  previous true frame v_{t-1} and the end states of `num_chains` papers' chains
  (each last visible mean thresholded at 1/2), the one of lowest free energy in
  frame t's RBM (`mode_seeking.lowest_free_energy`); `num_chains` counts
  candidates here, not chains averaged, so `num_chains=1` compares v_{t-1} with
  one chain's end. With `rule="local_search"` (binary units) it is
  `mode_seeking.local_search` from v_{t-1}: single-unit flips that lower the
  free energy, at most `num_gibbs_steps` of them, deterministic. The rules of a
  model's frames are `rules_for(model)`; any other raises.

  Args:
    model: the temporal model.
    params: its parameters.
    v: [B, T, nv] frames, T >= 2.
    key: PRNG key.
    num_gibbs_steps: Gibbs steps per prediction.
    num_chains: independent chains averaged per prediction (or, for
      "lowest_free_energy", whose end states are candidates), >= 1.
    rule: one of `rules_for(model)`.

  Returns:
    [B, T - 1, nv] predictions of frames 2..T.
  """
  checks.check_num_gibbs_steps(num_gibbs_steps)
  if not isinstance(num_chains, int) or num_chains < 1:
    raise ValueError(f"num_chains must be an integer >= 1, got {num_chains!r}.")
  if rule not in PREDICTION_RULES:
    raise ValueError(f"rule={rule!r} is not accepted: one of {PREDICTION_RULES}.")
  check_rule(model, rule)
  if rule == "greedy":
    return exact_next_frames(model, params, v, key, greedy=True)[0]
  if model.frame_sample is not None:
    one_chain = lambda chain_key: exact_next_frames(model, params, v,
                                                    chain_key)[1]
  elif rule == "lowest_free_energy":
    # The candidates are chosen among, not averaged: all chains are one rule.
    return _rbm_predictions(model, params, v, num_gibbs_steps, rule,
                            num_chains)(key)
  else:
    one_chain = _rbm_predictions(model, params, v, num_gibbs_steps, rule)
  if num_chains == 1 or rule in ("mean_field", "local_search"):
    return one_chain(key)  # Deterministic: every chain would be the same.

  def add_chain(total, chain_key):
    return total + one_chain(chain_key), None

  total, _ = jax.lax.scan(add_chain, jnp.zeros_like(v[:, 1:]),
                          jax.random.split(key, num_chains))
  return total / num_chains


def _rbm_predictions(model: temporal.TemporalModel, params, v: Array,
                     num_gibbs_steps, rule: str, num_chains: int = 1):
  """`key -> [B, T - 1, nv]` the predictions of frames 2..T in the frames' RBMs
  by `rule` (`predict_next_frames`): one chain's, or for "lowest_free_energy"
  the choice among v_{t-1} and `num_chains` chains' end states."""
  frames = model.frame_rbms(params, v)
  hidden_bias = frames.hidden_bias[:, 1:]
  visible_bias = frames.visible_bias
  if visible_bias.ndim == 3:
    visible_bias = visible_bias[:, 1:].reshape(-1, visible_bias.shape[-1])
  hidden_rows = hidden_bias.reshape(-1, hidden_bias.shape[-1])
  start = jax.nn.sigmoid(hidden_rows)
  w_vh, visible_type, sampler = frames.w_vh, model.visible_type, model.sampler

  def predict(chain_key):
    if rule == "mean_field":
      mean = rbm.mean_field_chain(w_vh, visible_bias, hidden_rows, start,
                                  num_gibbs_steps, visible_type)
    elif rule == "annealed":
      mean = mode_seeking.annealed_chain(chain_key, w_vh, visible_bias,
                                         hidden_rows, start, num_gibbs_steps,
                                         visible_type, sampler)
    elif rule == "local_search":
      mean = mode_seeking.local_search(w_vh, visible_bias, hidden_rows,
                                       v[:, :-1].reshape(-1, v.shape[-1]),
                                       num_gibbs_steps)
    elif rule == "lowest_free_energy":
      previous = v[:, :-1].reshape(-1, v.shape[-1])
      mean = mode_seeking.lowest_free_energy(
          chain_key, w_vh, visible_bias, hidden_rows, previous, num_gibbs_steps,
          num_chains, visible_type, sampler)
    else:
      mean = rbm.gibbs_chain(chain_key, w_vh, visible_bias, hidden_rows, start,
                             num_gibbs_steps, visible_type, sampler).visible_mean
    return mean.reshape(v.shape[0], v.shape[1] - 1, v.shape[2])

  return predict


def exact_next_frames(model: temporal.TemporalModel, params, v: Array,
                      key: Array, greedy: bool = False) -> tuple[Array, Array]:
  """Frames 2..T drawn exactly given the true frames before them, for a model
  with exact frames (`model.frame_sample`): the candidates of its prediction
  rules (one sample, the mean of several, a greedy likely frame).

  Args:
    model: the temporal model; its `frame_sample` must be set.
    params: its parameters.
    v: [B, T, nv] frames, T >= 2.
    key: PRNG key (not used when greedy).
    greedy: each unit on where its conditional probability, given the units
      set before it, is above 1/2: a likely frame, deterministic.

  Returns:
    (binary frames [B, T - 1, nv], their units' conditional probabilities
    [B, T - 1, nv]).
  """
  if model.frame_sample is None:
    raise ValueError(f"model kind {model.kind!r} has no exact frame sampler "
                     "(its frames are RBMs); use predict_next_frames.")
  _check_predictable(v)
  samples, probabilities = model.frame_sample(params, key, v, greedy)
  return samples[:, 1:], probabilities[:, 1:]


def next_frame_prediction_error(model: temporal.TemporalModel, params, v: Array,
                                key: Array, num_gibbs_steps=50,
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


# Prediction chain lengths of `next_frame_errors_by_chain_length`'s curve: the
# papers' 50 and a range around it.
CHAIN_LENGTHS = (1, 2, 5, 10, 25, 50, 100)


def next_frame_errors_by_chain_length(model: temporal.TemporalModel, params,
                                      v: Array, key: Array,
                                      chain_lengths=CHAIN_LENGTHS) -> Array:
  """Per-frame next-frame errors of one prediction chain of each length k.

  `next_frame_prediction_error` with `num_gibbs_steps=k` for each k, all with the
  same `key`: the value at k = 50 is the papers' figure with that key, and since
  a chain's step j draws from the key folded with j, the chain of length k is the
  first k steps of the longer ones (one chain, stopped at each k). The lengths
  are traced (`lax.map`), so all of them share one compiled chain.

  Args:
    model: the temporal model.
    params: its parameters.
    v: [B, T, nv] frames, T >= 2.
    key: PRNG key.
    chain_lengths: K Gibbs step counts, each >= 1.

  Returns:
    [K, B, T - 1] squared error of each predicted frame (t = 2..T) per length.
  """
  _check_predictable(v)
  for num_gibbs_steps in chain_lengths:
    checks.check_num_gibbs_steps(num_gibbs_steps)

  def errors(num_gibbs_steps):
    return prediction_error(predict_next_frames(model, params, v, key,
                                                num_gibbs_steps), v).per_frame

  return jax.lax.map(errors, jnp.asarray(chain_lengths, jnp.int32))


def error_by_frame(per_frame, mask=None) -> dict:
  """The mean error of each predicted frame index over the sequences.

  Where the error is in time: a model that has not learned the dynamics does
  well early (frames near the data) or only late (once its hidden state has
  locked on). Averaging `mean` with weights `num_sequences` gives
  `error_summary`'s mean.

  Args:
    per_frame: [B, T - 1] errors of the predictions of frames t = 2..T.
    mask: [B, T - 1] True where the predicted frame is real, or None for all.

  Returns:
    {"frame_index": [T - 1] the 1-based index t of each predicted frame,
     "mean": [T - 1] mean error at t over the sequences that have frame t (None
     where none has), "num_sequences": [T - 1] their count}, as lists.
  """
  per_frame = np.asarray(per_frame, np.float64)
  mask = np.ones(per_frame.shape, bool) if mask is None else np.asarray(mask, bool)
  counts = mask.sum(axis=0)
  sums = np.where(mask, per_frame, 0).sum(axis=0)
  return {"frame_index": list(range(2, per_frame.shape[1] + 2)),
          "mean": [float(total / count) if count else None
                   for total, count in zip(sums, counts)],
          "num_sequences": [int(count) for count in counts]}


def next_frame_error_summary(predictions, v, mask=None) -> dict:
  """`error_summary` of the squared errors of predictions of the frames 2..T of `v`.

  Args:
    predictions: [B, T - 1, nv] predictions of the frames 2..T.
    v: [B, T, nv] frames.
    mask: [B, T] True for real frames (False for padding), or None for all.
  """
  per_frame = prediction_error(predictions, v).per_frame
  return error_summary(per_frame, None if mask is None else np.asarray(mask)[:, 1:])


def frame_accuracy(predicted, target, mask=None) -> float:
  """Frame-level accuracy of Bay et al. (2009), as reported in the RNN-RBM paper.

  `ACC = TP / (TP + FP + FN)` where the counts are summed over **all** units of all
  (unmasked) frames of the whole set passed in, not averaged per frame or per
  sequence; pass the whole test set (e.g. a padded batch with its mask) to get the
  paper's number. True negatives do not count, so silence predicted as silence
  neither helps nor hurts. If there are no positives at all (`TP + FP + FN == 0`,
  all-silent target predicted as silence) the accuracy is defined as 1.0.

  Args:
    predicted: binary {0, 1} array `[..., nv]` (threshold or sample probabilities
      first).
    target: binary array of the same shape.
    mask: optional array of shape `predicted.shape[:-1]` (e.g. `[B, T]` of a padded
      batch); frames where it is 0 are ignored.

  Returns:
    The accuracy as a Python float in [0, 1].
  """
  predicted, target = np.asarray(predicted), np.asarray(target)
  if predicted.shape != target.shape:
    raise ValueError(f"predicted has shape {predicted.shape} but target has shape "
                     f"{target.shape}; expected equal shapes [..., nv].")
  for name, values in (("predicted", predicted), ("target", target)):
    non_binary = (values != 0) & (values != 1)
    if non_binary.any():
      raise ValueError(
          f"{name} has non-binary value {float(values[non_binary].flat[0]):g}; "
          "expected only 0/1 (threshold or sample probabilities first).")
  predicted, target = predicted.astype(bool), target.astype(bool)
  if mask is None:
    weight = np.ones(predicted.shape[:-1], np.float64)
  else:
    weight = np.asarray(mask, np.float64)
    if weight.shape != predicted.shape[:-1]:
      raise ValueError(f"mask has shape {weight.shape}; expected predicted.shape[:-1]"
                       f" = {predicted.shape[:-1]}.")
    if not (weight != 0).any():
      raise ValueError("mask is all zeros; expected at least one unmasked frame "
                       "(mask 1 = real frame).")
  true_positives = float((weight * (predicted & target).sum(-1)).sum())
  false_positives = float((weight * (predicted & ~target).sum(-1)).sum())
  false_negatives = float((weight * (~predicted & target).sum(-1)).sum())
  counted = true_positives + false_positives + false_negatives
  return 1.0 if counted == 0 else true_positives / counted


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


def mean_frame(sequences) -> np.ndarray:
  """The per-unit mean `[nv]` (float64) of all frames of sequences `[T_i, nv]`."""
  # Summed sequence by sequence: a whole training split need not be copied.
  return (sum(sequence.sum(axis=0, dtype=np.float64) for sequence in sequences)
          / sum(len(sequence) for sequence in sequences))
