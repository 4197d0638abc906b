"""TensorBoard event files beside `metrics.jsonl`, written without TensorFlow.

`tensorboard --logdir runs/` then shows every run's scalars, its sample pictures and
its hyperparameters (the HParams tab). The events are written with tensorboardX
(pure Python on protobuf, which orbax already needs); `metrics.jsonl` stays the
record a program should read.

Layout: a single run writes one event file per invocation into its workdir (its
numbers and its pictures: one `TensorBoardWriter` per run); a sweep writes one
directory per point, `point_3_learning_rate=0.01`, so TensorBoard overlays the
points as runs named by their values. Tags are grouped: `train/...` for the
training chunks' numbers and pictures, `eval/...` for held-out numbers (during
training, `heldout_*`) and for `experiments.evaluate`'s.
"""

import os

import ml_collections
import numpy as np
import tensorboardX
from tensorboardX.summary import hparams as hparams_summary

from rtrbm_jax import config_fields

# Keys of a metrics record that label it rather than measure something; `time`
# (Unix seconds, for plot_results' curves against wall-clock time) is no metric:
# TensorBoard shows every event's wall time itself.
_LABELS = ("step", "phase", "point", "diverged", "time")
# The metrics the HParams tab compares runs by.
HPARAM_METRICS = ("eval/heldout_next_frame_error", "train/reconstruction_error")


def record_tag(name: str) -> str:
  """The TensorBoard tag of a record's field: `eval/` for held-out figures
  (`heldout_*`), `train/` for the rest."""
  return f"eval/{name}" if name.startswith("heldout_") else f"train/{name}"


def point_directory(index: int, values: dict) -> str:
  """The sub-directory of sweep point `index` with `values`, e.g. 'point_3_seed=1'."""
  return "_".join([f"point_{index}"] + [f"{name}={value:g}"
                                        for name, value in values.items()])


def flatten_config(config: ml_collections.ConfigDict) -> dict:
  """{"optimizer.learning_rate": 0.01, ...}: scalar fields only, tuples as text."""
  return {path: value if isinstance(value, (bool, int, float, str)) else str(value)
          for path, value in config_fields.flatten(config).items()
          if value is not None}


class TensorBoardWriter:
  """Scalars, images and hyperparameters of a run (or of each sweep point).

  Args:
    workdir: the run's directory.
    config: the run's config; its fields are the hyperparameters shown.
    resume_step: the step the run continues from; events of an earlier attempt
      after it are hidden by TensorBoard (`purge_step`), as `metrics.jsonl` drops
      its records after the checkpoint.
    swept_names: for a sweep, the names of the swept values (records carry them
      and their `point`); None for a single run.
  """

  def __init__(self, workdir: str, config: ml_collections.ConfigDict,
               resume_step: int = 0, swept_names: list[str] | None = None):
    self._workdir = workdir
    self._purge_step = resume_step + 1 if resume_step else None
    self._swept_names = list(swept_names or ())
    self._hyperparameters = {name: value
                             for name, value in flatten_config(config).items()
                             if not name.startswith("sweep.")}
    self._writers = {}

  def _writer(self, record: dict):
    """The writer of a record's run or sweep point, created at its first record
    (a single run's at its first record or picture)."""
    point = record.get("point")
    if point not in self._writers:
      values = {name: record[name] for name in self._swept_names}
      directory = (self._workdir if point is None else
                   os.path.join(self._workdir, point_directory(point, values)))
      writer = tensorboardX.SummaryWriter(directory, purge_step=self._purge_step,
                                          flush_secs=10)
      experiment, session_start, session_end = hparams_summary(
          {**self._hyperparameters, **values},
          {name: 0.0 for name in HPARAM_METRICS})
      for summary in (experiment, session_start, session_end):
        writer.file_writer.add_summary(summary)
      self._writers[point] = writer
    return self._writers[point]

  def write_records(self, records: list[dict]) -> None:
    """Every number of each `metrics.jsonl` record as a scalar at its step."""
    for record in records:
      writer = self._writer(record)
      for name, value in record.items():
        if (name in _LABELS or name in self._swept_names
            or not isinstance(value, (int, float)) or isinstance(value, bool)):
          continue
        writer.add_scalar(record_tag(name), value, record["step"])

  def write_scalars(self, values: dict, step: int, labels: dict | None = None
                    ) -> None:
    """Scalars {tag: value} at `step`, e.g. an evaluation's `eval/...` figures.

    `labels` name a sweep point as its records do (`point` and the swept values);
    None for a single run.
    """
    writer = self._writer(labels or {})
    for name, value in values.items():
      writer.add_scalar(name, value, step)

  def write_picture(self, tag: str, png_path: str, step: int,
                    labels: dict | None = None) -> None:
    """A PNG picture (e.g. `samples.png`) at `step`, in the same event file as the
    run's numbers; `labels` as in `write_scalars`."""
    self._writer(labels or {}).add_image(tag, _read_png(png_path), step,
                                         dataformats="HWC")

  def __enter__(self):
    return self

  def __exit__(self, *exception):
    self.close()

  def flush(self) -> None:
    for writer in self._writers.values():
      writer.flush()

  def close(self) -> None:
    for writer in self._writers.values():
      writer.close()


def _read_png(png_path: str) -> np.ndarray:
  """[H, W, 3] uint8 pixels of a PNG file."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  with Image.open(png_path) as picture:
    return np.asarray(picture.convert("RGB"))
