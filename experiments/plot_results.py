"""Held-out next-frame error against training wall-clock time, for several runs.

  python -m experiments.plot_results --runs=RTRBM:runs/rtrbm,RNN-RBM:runs/rnnrbm \
      --output=docs/bouncing_balls_results.png

Each run's curve is its `metrics.jsonl` held-out error (the first
`eval.num_sequences` test sequences, papers' protocol) against the minutes since
the run began (wall clock, evaluations included; the first record's time is
counted from its own chunk's rate). Dashed: the copy-last-frame and extrapolation
baselines on the same sequences (`evaluation.baseline_predictions`); dotted:
published figures (`--published=label:value,...`).
"""

import json
import os

from absl import app
from absl import flags
import jax.numpy as jnp
import matplotlib
import ml_collections

from experiments import common
from rtrbm_jax import evaluation
from rtrbm_jax import files
from rtrbm_jax import workdirs
from rtrbm_jax.data import datasets

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

_RUNS = flags.DEFINE_list("runs", None, "label:workdir pairs.")
_OUTPUT = flags.DEFINE_string("output", "results.png", "PNG to write.")
_PUBLISHED = flags.DEFINE_list(
    "published", ["RTRBM (paper) 3.88:3.88", "deep TSBN 2.79:2.79"],
    "label:value pairs of published figures to draw.")
flags.mark_flags_as_required(["runs"])


def baseline_errors(workdir: str) -> dict[str, float]:
  """Mean error of each model-free predictor on the run's held-out curve sequences."""
  with open(os.path.join(workdir, workdirs.CONFIG_FILE)) as f:
    config = ml_collections.ConfigDict(json.load(f))
  frames = jnp.asarray(
      datasets.load_dataset(config.data).test[:config.eval.num_sequences])
  return {name: float(evaluation.prediction_error(prediction, frames).mean)
          for name, prediction in evaluation.baseline_predictions(frames).items()
          if name in ("copy_last_frame", "extrapolation")}


def held_out_curve(workdir: str) -> tuple[list[float], list[float]]:
  """(minutes, held-out errors) of a run's metrics.jsonl."""
  path = workdirs.metrics_path(workdir)
  records = files.read_records(path)
  timed = [record for record in records if "time" in record and "step" in record]
  if not timed:
    raise ValueError(f"{path} has no records with a time: its run cannot be drawn "
                     "against wall-clock time.")
  first = timed[0]
  # A record is written when its chunk ends; the first chunk began
  # step / steps_per_second seconds before it (its compilation not counted).
  # Without a positive finite rate, the curve starts at the first record.
  rate = first.get("steps_per_second")
  start = first["time"] - (first["step"] / rate if isinstance(rate, (int, float))
                           and 0 < rate < float("inf") else 0.0)
  evaluated = [record for record in timed if "heldout_next_frame_error" in record]
  return ([(record["time"] - start) / 60 for record in evaluated],
          [record["heldout_next_frame_error"] for record in evaluated])


def _label_pairs(flag_name: str, entries: list[str],
                 split_at_last_colon: bool) -> list[tuple[str, str]]:
  """`label:value` flag entries as (label, value) pairs.

  A workdir may hold a colon, so runs split at the first one; a published label
  may, so figures split at the last.
  """
  pairs = []
  for entry in entries:
    if ":" not in entry:
      raise ValueError(f"--{flag_name}: {entry!r} has no colon; each entry is "
                       "label:value.")
    label, value = (entry.rsplit(":", 1) if split_at_last_colon
                    else entry.split(":", 1))
    pairs.append((label, value))
  return pairs


def plot_runs(runs: list[tuple[str, str]], published: list[tuple[str, float]]):
  """The figure of the runs' held-out curves, with baselines and published figures.

  Args:
    runs: (label, workdir) of each run; the baselines are computed on the first
      run's held-out sequences.
    published: (label, next-frame error) of figures from papers.

  Returns:
    The matplotlib figure.
  """
  figure, axis = plt.subplots(figsize=(7, 4.5))
  for label, workdir in runs:
    axis.plot(*held_out_curve(workdir), marker="o", label=label)
  for (name, error), color in zip(baseline_errors(runs[0][1]).items(),
                                  ("gray", "tab:brown")):
    axis.axhline(error, color=color, linestyle="--",
                 label=f"{name.replace('_', ' ')} ({error:.2f})")
  for label, error in published:
    axis.axhline(error, color="black", linestyle=":", linewidth=0.8)
    axis.annotate(label, (axis.get_xlim()[1], error), fontsize=7, ha="right",
                  va="bottom")
  axis.set_yscale("log")
  axis.set_xlabel("training wall-clock time (minutes, 2 CPU cores)")
  axis.set_ylabel("next-frame error (squared error per frame)")
  axis.set_title("Bouncing balls 30 x 30: held-out next-frame error", fontsize=10)
  axis.legend(fontsize=8)
  figure.tight_layout()
  return figure


def _run():
  runs = _label_pairs("runs", _RUNS.value, split_at_last_colon=False)
  published = [(label, float(error)) for label, error in
               _label_pairs("published", _PUBLISHED.value, split_at_last_colon=True)]
  figure = plot_runs(runs, published)
  os.makedirs(os.path.dirname(os.path.abspath(_OUTPUT.value)), exist_ok=True)
  figure.savefig(_OUTPUT.value, dpi=100)


def main(argv):
  common.start(argv)
  common.run_or_exit(_run)


if __name__ == "__main__":
  app.run(main)
