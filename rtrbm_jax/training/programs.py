"""What a run compiles: its chunk runners and its periodic held-out evaluation.

`make_programs` turns a run's `Setup` into jitted programs: the pure train and
pretrain steps of `steps.py`, run in chunks, and the held-out figures of
`evaluation/evaluators.py` (the same functions `experiments.evaluate` uses),
on the evaluation sample and on as many training sequences.
"""

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rtrbm_jax.data import datasets
from rtrbm_jax.evaluation import evaluators
from rtrbm_jax.evaluation import prediction
from rtrbm_jax.training import schema
from rtrbm_jax.training import steps


class Programs(NamedTuple):
  """What a run compiles: its two chunk runners and its held-out evaluation.

  Attributes:
    run_pretrain: `make_run_steps` of the pretraining step.
    run_train: `make_run_steps` of the temporal model's train step.
    evaluate: `params -> {"heldout": figures, "train": figures}`, the
      `evaluators.evaluate` figures of the held-out sequences and of a sample of
      as many training sequences (stacked per point in a sweep): the next-frame
      error, for music the frame accuracy, and with
      `eval.select_by="log_likelihood"` the held-out log-likelihood of a fixed
      sample of frames; see `evaluation_record`.
    copy_last_error: the held-out error of copying the last frame (the floor a
      model must beat, drawn beside the held-out curve), or None without
      evaluation.
  """
  run_pretrain: Callable
  run_train: Callable
  evaluate: Callable
  copy_last_error: float | None


def make_programs(setup_, swept: bool, batch_sharding=None) -> Programs:
  """The jitted programs of `run_loop` (compiled at their first call)."""
  config, model = setup_.config, setup_.model
  group_size = config.train.get("sweep_group_size", 0)
  run_train = steps.make_run_steps(
      steps.make_train_step(model, setup_.optimizer, config.pretrain.num_steps),
      config.train.batch_size, swept, batch_sharding, group_size,
      datasets.fresh_batch_sampler(config.data, config.train.batch_size))
  run_pretrain = steps.make_run_steps(
      steps.make_pretrain_step(model, setup_.pretrain_optimizer,
                               config.pretrain.num_gibbs_steps),
      config.pretrain.batch_size, swept, batch_sharding, group_size,
      datasets.fresh_batch_sampler(config.data, config.pretrain.batch_size))
  eval_data = jnp.asarray(setup_.dataset.test[:config.eval.num_sequences])
  train_sample = jnp.asarray(setup_.dataset.train[:config.eval.num_sequences])
  with_log_likelihood = schema.get(config, "eval.select_by") == "log_likelihood"
  heldout_figures = _figures_program(config, model, setup_.dataset.kind,
                                     eval_data, with_log_likelihood, swept)
  train_figures = _figures_program(config, model, setup_.dataset.kind,
                                   train_sample, False, swept)
  eval_key = jax.random.key(config.seed + 1)

  def evaluate(params):
    # The same key on both sets: the gap between them is not chain noise alone.
    return {"heldout": heldout_figures(params, eval_data, eval_key),
            "train": train_figures(params, train_sample, eval_key)}

  copy_last_error = float(prediction.prediction_error(
      prediction.baseline_predictions(eval_data)["copy_last_frame"],
      eval_data).mean) if config.eval.every else None
  return Programs(run_pretrain, run_train, evaluate, copy_last_error)


def _figures_program(config, model, kind: str, frames, with_log_likelihood: bool,
                     swept: bool):
  """`(params, frames, key) -> figures` of `evaluators.evaluate`, jitted.

  With the log-likelihood (for `eval.select_by="log_likelihood"`), AIS at every
  evaluation costs `eval.log_likelihood_frames * eval.num_chains *
  eval.num_temperatures` Gibbs steps of one RBM row.
  """
  rows = None
  if with_log_likelihood:
    rows = jnp.asarray(heldout_likelihood_rows(
        frames.shape[0] * frames.shape[1],
        schema.get(config, "eval.log_likelihood_frames")))
  figures = functools.partial(
      evaluators.evaluate, evaluators.figures_for(kind, with_log_likelihood),
      model, num_gibbs_steps=config.eval.num_gibbs_steps, likelihood_rows=rows,
      num_temperatures=schema.get(config, "eval.num_temperatures"),
      num_chains=schema.get(config, "eval.num_chains"),
      prediction_rule=schema.get(config, "eval.prediction_rule"))
  return jax.jit(jax.vmap(figures, in_axes=(0, None, None)) if swept else figures)


def heldout_likelihood_rows(num_frames: int, num_sampled: int) -> np.ndarray:
  """The frames (rows of `[B * T, nv]`) whose log-likelihood training scores.

  `num_sampled` of the `num_frames` held-out frames drawn uniformly without
  replacement from a fixed seed, sorted; all of them when there are no more. The
  same frames at every evaluation (and in every run on the same held-out data),
  so that checkpoints are compared on equal terms.
  """
  if num_sampled >= num_frames:
    return np.arange(num_frames)
  return np.sort(np.random.default_rng(0).choice(num_frames, num_sampled,
                                                 replace=False))
