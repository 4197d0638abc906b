"""What a run records: metrics.jsonl, TensorBoard and the log, chunk by chunk.

Each chunk of updates gives one record per run (one per point of a sweep): the
step's metrics and, at evaluations, the held-out figures
(`evaluators.EVALUATORS`, named `heldout_<figure>` and `train_<figure>`).
"""

import contextlib
import os
import time

from absl import logging
import jax
import ml_collections
import numpy as np

from rtrbm_jax import files
from rtrbm_jax import progress
from rtrbm_jax.evaluation import evaluators
from rtrbm_jax.outputs import metric_writers
from rtrbm_jax.training import steps
from rtrbm_jax.training import workdirs


def total_steps(config: ml_collections.ConfigDict) -> int:
  """Updates of the whole run: pretraining and the temporal model's."""
  return config.pretrain.num_steps + config.train.num_steps


# Record fields a log line leaves out: its own prefix says the step and phase, its
# suffix the rate; `time` (Unix seconds) is for plot_results' curves only.
_NOT_LOGGED = ("step", "phase", "steps_per_second", "time")


def phase_progress(config: ml_collections.ConfigDict, step: int) -> tuple[int, int]:
  """(updates done, updates requested) of the phase that `step` updates end in:
  pretraining up to `pretrain.num_steps`, then `train.num_steps` of its own."""
  pretrain_steps = config.pretrain.num_steps
  if step <= pretrain_steps and pretrain_steps:
    return step, pretrain_steps
  return step - pretrain_steps, config.train.num_steps


def startup_line(config: ml_collections.ConfigDict, state: steps.TrainState,
                 workdir: str, num_points: int = 0) -> str:
  """What a run is about to do: model, sizes, parameter count, devices, workdir.

  Args:
    config: the run's config.
    state: the state it continues from (stacked over `num_points` for a sweep).
    workdir: the run's directory.
    num_points: the sweep's number of points, 0 for a single run.
  """
  num_parameters = sum(leaf.size for leaf in jax.tree.leaves(state.params))
  num_parameters //= max(num_points, 1)
  devices = jax.devices()
  kind = devices[0].device_kind
  step = int(np.max(state.step))
  return (f"{config.model.kind} ({config.model.visible_type} visible), "
          f"{config.model.num_visible} visible x {config.model.num_hidden} hidden "
          f"units, {num_parameters:,} parameters"
          + (f" per point, {num_points} sweep points" if num_points else "")
          + f"; {len(devices)} {devices[0].platform} device"
          f"{'s' if len(devices) > 1 else ''}"
          + ("" if kind.lower() == devices[0].platform else f" ({kind})") + "; "
          f"pretrain {config.pretrain.num_steps} + train {config.train.num_steps} "
          "updates, "
          + (f"resuming after update {step}" if step else "starting") +
          f"; workdir {workdir}")


class Records(contextlib.AbstractContextManager):
  """Where each chunk's records go: metrics.jsonl, TensorBoard and the log."""

  def __init__(self, workdir: str, config: ml_collections.ConfigDict, step: int,
               swept: bool, eta: progress.TrainingEta):
    self.workdir, self.config, self.eta = workdir, config, eta
    self.total_steps = total_steps(config)
    self.tensorboard = metric_writers.TensorBoardWriter(
        workdir, config, step, list(config.sweep.keys()) if swept else None)
    self.metrics_file = open(workdirs.metrics_path(workdir), "a")

  def __exit__(self, *exception):
    try:
      self.tensorboard.close()
      self.metrics_file.close()
    except OSError:
      # A full disk fails these too; the error in flight says what failed first.
      if exception[0] is None:
        raise

  def write(self, step: int, phase: str, records: list[dict],
            steps_per_second: float, copy_last_error: float | None) -> None:
    """Appends `records`, with `copy_last_error` (the floor) unless it is None."""
    for record in records:
      if copy_last_error is not None:
        record["heldout_copy_last_frame_error"] = copy_last_error
      record["steps_per_second"] = steps_per_second
      # Wall-clock time of the record (Unix seconds), for error-vs-time curves.
      record["time"] = time.time()
      self.metrics_file.write(files.record_line(record))
    self.metrics_file.flush()
    self.tensorboard.write_records(records)
    done, phase_steps = phase_progress(self.config, step)
    for record in records:
      logging.info("%s %d/%d %s | %.2f steps/s, %s", phase, done, phase_steps,
                   " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in record.items()
                            if k not in _NOT_LOGGED),
                   steps_per_second, self.eta.describe(step))

  def plot_if_due(self, step: int) -> None:
    if self.config.train.plot_every and step % self.config.train.plot_every == 0:
      plotting().write_curves(workdirs.metrics_path(self.workdir),
                               os.path.join(self.workdir, "curves.png"),
                               self.config)


def evaluation_record(figures: dict, point: int | None = None) -> dict:
  """The record fields of `Programs.evaluate`'s figures (of one point in a sweep).

  Each figure `<name>` of `evaluators.EVALUATORS` as `heldout_<name>` and
  `train_<name>` (the same figure on a sample of `config.eval.num_sequences`
  training sequences), with its standard error as `_se` where it has one:
  `heldout_next_frame_error`, for music `heldout_frame_accuracy`, and with
  `eval.select_by="log_likelihood"` `heldout_log_likelihood_per_frame`.
  """
  record = {}
  # In the registry's order (jit returns dicts sorted by key).
  for name in [name for name in evaluators.EVALUATORS if name in figures["heldout"]]:
    for prefix in ("heldout", "train"):
      if name in figures[prefix]:
        record.update(evaluators.record_fields({name: figures[prefix][name]},
                                               prefix, point))
  return record


def describe_single(step, phase, metrics, error):
  record = {"step": step, "phase": phase,
            **{name: float(value) for name, value in metrics.items()
               if name != "finite"}}
  if error is not None:
    record.update(evaluation_record(error))
  return [record]


def plotting():
  """The plotting module, imported late: it pulls in matplotlib, which the
  library does not need."""
  # pylint: disable-next=g-import-not-at-top
  from rtrbm_jax.outputs import plotting as module
  return module
