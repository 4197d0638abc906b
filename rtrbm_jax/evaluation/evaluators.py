"""Held-out figures of merit: one registry, read by training and by evaluation.

A figure is two pure functions. `per_frame(inputs)` turns a model's parameters and
a batch of sequences into per-frame quantities (jittable and vmappable);
`summarise(per_frame, mask)` reduces them to the figure: a dict with its "mean"
and, where it has one, its "standard_error". Training computes both inside its
jitted periodic evaluation on the evaluation sample (fixed-length windows,
`mask=None`); `experiments.evaluate` computes the per-frame quantities chunk by
chunk over a whole split of padded sequences and summarises them with the
split's mask. So a figure has one definition and one name (the key of
`EVALUATORS`): `heldout_<name>` and `train_<name>` (with `_se`) in metrics.jsonl
and TensorBoard during training, `<name>` in `eval_<split>.json`.

Adding a held-out figure is one `Evaluator` and one entry in `EVALUATORS`.
"""

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax.evaluation import likelihood
from rtrbm_jax.evaluation import prediction
from rtrbm_jax.models import ais

Array = jax.Array

NEXT_FRAME_ERROR = "next_frame_error"
FRAME_ACCURACY = "frame_accuracy"
LOG_LIKELIHOOD = "log_likelihood_per_frame"


class Inputs(NamedTuple):
  """What an evaluator's `per_frame` may read.

  Attributes:
    model: the temporal model.
    params: its parameters.
    frames: [B, T, nv] sequences.
    key: PRNG key of the figure's own randomness (AIS).
    predictions: [B, T - 1, nv] one chain's next-frame predictions of frames
      2..T (`prediction.predict_next_frames`), shared by the figures that use
      them, so their chains run once.
    likelihood_rows: [N] indices of the frames (rows of `frames` flattened to
      `[B * T, nv]`) whose log-likelihood is estimated, or None for all.
    num_temperatures, num_chains: AIS settings of the log-likelihood.
    likelihood_method: "exact", "ais" or "auto" (exact when the frames' RBMs can
      be enumerated).
    ais_path: AIS's path of distributions (`ais.PATHS`).
  """
  model: object
  params: object
  frames: Array
  key: Array
  predictions: Array | None = None
  likelihood_rows: Array | None = None
  num_temperatures: int = 300
  num_chains: int = 16
  likelihood_method: str = "auto"
  ais_path: str = ais.WEIGHTS


class Evaluator(NamedTuple):
  """A held-out figure.

  Attributes:
    per_frame: `Inputs -> {quantity: array}`, jittable.
    summarise: `(per_frame, mask) -> {"mean": ..., "standard_error": ..., ...}`;
      `mask` ([B, T'] bool, True for the real frames of padded sequences) or None
      for all, which keeps the summary jittable.
    applies_to: the data kinds (`registry.DATA_KINDS`) the figure is defined for.
    uses_predictions: whether `per_frame` reads `Inputs.predictions`.
  """
  per_frame: Callable
  summarise: Callable
  applies_to: tuple[str, ...]
  uses_predictions: bool = True


def _next_frame_error(inputs: Inputs) -> dict:
  """Squared error of each predicted frame, summed over its units: [B, T - 1]."""
  return {"error": prediction.prediction_error(inputs.predictions,
                                               inputs.frames).per_frame}


def _summarise_error(per_frame: dict, mask=None) -> dict:
  """Mean and standard error over frames (with a mask, also the spreads over
  sequences: `prediction.error_summary`)."""
  error = per_frame["error"]
  if mask is not None:
    return prediction.error_summary(error, mask)
  count = error.size
  return {"mean": jnp.mean(error),
          "standard_error": (jnp.std(error, ddof=1) / jnp.sqrt(count)
                             if count > 1 else jnp.zeros(()))}


def _frame_accuracy(inputs: Inputs) -> dict:
  """Per predicted frame, the counts of Bay et al.'s accuracy: units predicted on
  (mean-field probability above 0.5) and on in the data, and units where the two
  differ (false positives plus false negatives)."""
  predicted = inputs.predictions > 0.5
  target = inputs.frames[:, 1:].astype(bool)
  return {"true_positives": jnp.sum(predicted & target, axis=-1),
          "errors": jnp.sum(predicted ^ target, axis=-1)}


def _summarise_accuracy(per_frame: dict, mask=None) -> dict:
  """TP / (TP + FP + FN) summed over every unit of every frame (1.0 without
  positives), as the RNN-RBM paper reports it."""
  true_positives, errors = per_frame["true_positives"], per_frame["errors"]
  if mask is not None:
    # A split's counts, summed exactly on the host (float64 holds them).
    true_positives = np.sum(np.where(mask, true_positives, 0), dtype=np.float64)
    counted = true_positives + np.sum(np.where(mask, errors, 0), dtype=np.float64)
    return {"mean": 1.0 if counted == 0 else float(true_positives / counted)}
  true_positives = jnp.sum(true_positives)
  counted = true_positives + jnp.sum(errors)
  return {"mean": jnp.where(counted == 0, 1.0,
                            true_positives / jnp.maximum(counted, 1))}


def _log_likelihood(inputs: Inputs) -> dict:
  """log P(v_t | past) of the frames `inputs.likelihood_rows` (None: all B * T
  frames), each value's AIS standard error (zero when exact) and its upper bound
  (`likelihood.FrameLogLikelihoods`; the value itself when exact): [N] each.

  Tractable frames (`model.frame_log_probability`) are exact, whatever the
  method asked for; RBM frames go by `inputs.likelihood_method`."""
  rows = inputs.likelihood_rows
  if inputs.model.frame_log_probability is not None:
    values = inputs.model.frame_log_probability(inputs.params,
                                                inputs.frames).reshape(-1)
    values = values if rows is None else values[rows]
    return {"log_likelihood": values, "standard_error": jnp.zeros_like(values),
            "upper_bound": values}
  rbms = inputs.model.frame_rbms(inputs.params, inputs.frames)
  visible_bias, hidden_bias = rbms.row_biases()
  frames = inputs.frames.reshape(-1, inputs.frames.shape[-1])
  if rows is not None:
    visible_bias = visible_bias[rows] if visible_bias.ndim == 2 else visible_bias
    hidden_bias, frames = hidden_bias[rows], frames[rows]
  estimate = likelihood.row_log_likelihoods(
      inputs.model, rbms.w_vh, visible_bias, hidden_bias, frames, inputs.key,
      inputs.num_temperatures, inputs.num_chains, inputs.likelihood_method,
      inputs.ais_path)
  return {"log_likelihood": estimate.per_frame,
          "standard_error": estimate.standard_error,
          "upper_bound": estimate.upper_bound}


def _summarise_log_likelihood(per_frame: dict, mask=None) -> dict:
  """The mean log-likelihood per frame and its standard error.

  Without a mask (training's fixed sample of held-out frames), the error is the
  AIS estimates' alone: the frames are the same at every evaluation, so this is
  the noise between two parameter sets scored on them. With a mask (frames of a
  split, perhaps sampled from it), it also holds the spread over frames
  (`likelihood.log_likelihood_summary`), and the mean upper bound where given.
  """
  if mask is not None:
    estimate = likelihood.FrameLogLikelihoods(
        per_frame["log_likelihood"], per_frame["standard_error"], "",
        per_frame.get("upper_bound"))
    summary = likelihood.log_likelihood_summary(estimate, mask)
    del summary["method"]
    return summary
  values, errors = per_frame["log_likelihood"], per_frame["standard_error"]
  return {"mean": jnp.mean(values),
          "standard_error": jnp.sqrt(jnp.sum(jnp.square(errors))) / values.shape[0]}


EVALUATORS = {
    NEXT_FRAME_ERROR: Evaluator(_next_frame_error, _summarise_error,
                                ("video", "music", "real_valued")),
    FRAME_ACCURACY: Evaluator(_frame_accuracy, _summarise_accuracy, ("music",)),
    LOG_LIKELIHOOD: Evaluator(_log_likelihood, _summarise_log_likelihood,
                              ("music", "video"), uses_predictions=False),
}
# `config.eval.select_by` -> the figure that picks the best parameters.
SELECTION_FIGURES = {"frame_accuracy": FRAME_ACCURACY,
                     "log_likelihood": LOG_LIKELIHOOD,
                     "next_frame_error": NEXT_FRAME_ERROR}
# Figures of which the lower value is the better.
LOWER_IS_BETTER = (NEXT_FRAME_ERROR,)
def figures_for(kind: str, with_log_likelihood: bool = False) -> tuple[str, ...]:
  """The figures training records for data of `kind`: those defined for it that
  read the predictions, and the log-likelihood only when asked (when it selects
  the parameters: AIS at every evaluation is costly)."""
  return tuple(name for name, evaluator in EVALUATORS.items()
               if kind in evaluator.applies_to and (
                   evaluator.uses_predictions or with_log_likelihood))


def evaluate(names: tuple[str, ...], model, params, frames: Array, key: Array,
             num_gibbs_steps, likelihood_rows: Array | None = None,
             num_temperatures: int = 300, num_chains: int = 16,
             prediction_rule: str = "gibbs") -> dict:
  """The figures `names` of all frames of `frames` [B, T, nv]: {name: summary}.

  One chain's next-frame predictions (started with `key`, `num_gibbs_steps`
  steps of the chain of `prediction_rule`, one of `prediction.PREDICTION_RULES`;
  see `prediction.predict_next_frames`) serve every figure that reads predictions;
  the log-likelihood's AIS uses `key` too. Jit- and vmap-compatible with
  `names`, `model`, `num_temperatures`, `num_chains` and `prediction_rule` static.
  """
  predictions = None
  if any(EVALUATORS[name].uses_predictions for name in names):
    predictions = prediction.predict_next_frames(
        model, params, frames, key, num_gibbs_steps, rule=prediction_rule)
  inputs = Inputs(model, params, frames, key, predictions, likelihood_rows,
                  num_temperatures, num_chains)
  return {name: EVALUATORS[name].summarise(EVALUATORS[name].per_frame(inputs))
          for name in names}


def record_fields(figures: dict, prefix: str, point: int | None = None) -> dict:
  """Training-record fields of `evaluate`'s figures: `<prefix>_<name>` (the mean)
  and `<prefix>_<name>_se` (its standard error), as floats; `point` picks one
  point's values of a sweep's stacked figures."""
  pick = (lambda value: value) if point is None else (lambda value: value[point])
  record = {}
  for name, summary in figures.items():
    record[f"{prefix}_{name}"] = float(pick(summary["mean"]))
    if "standard_error" in summary:
      record[f"{prefix}_{name}_se"] = float(pick(summary["standard_error"]))
  return record
