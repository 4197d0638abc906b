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
  with open(os.path.join(workdir, "config.json")) as f:
    config = ml_collections.ConfigDict(json.load(f))
  frames = jnp.asarray(
      datasets.load_dataset(config.data).test[:config.eval.num_sequences])
  return {name: float(evaluation.prediction_error(prediction, frames).mean)
          for name, prediction in evaluation.baseline_predictions(frames).items()
          if name in ("copy_last_frame", "extrapolation")}


def held_out_curve(workdir: str) -> tuple[list[float], list[float]]:
  """(minutes, held-out errors) of a run's metrics.jsonl."""
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    records = [json.loads(line) for line in f if line.strip()]
  timed = [r for r in records if "time" in r and "step" in r]
  first = timed[0]
  start = first["time"] - first["step"] / first["steps_per_second"]
  evaluated = [r for r in timed if "heldout_next_frame_error" in r]
  return ([(r["time"] - start) / 60 for r in evaluated],
          [r["heldout_next_frame_error"] for r in evaluated])


def main(argv):
  del argv
  common.start()
  figure, axis = plt.subplots(figsize=(7, 4.5))
  workdirs = []
  for entry in _RUNS.value:
    label, workdir = entry.split(":", 1)
    workdirs.append(workdir)
    axis.plot(*held_out_curve(workdir), marker="o", label=label)
  for (name, value), color in zip(baseline_errors(workdirs[0]).items(),
                                  ("gray", "tab:brown")):
    axis.axhline(value, color=color, linestyle="--",
                 label=f"{name.replace('_', ' ')} ({value:.2f})")
  for entry in _PUBLISHED.value:
    label, value = entry.rsplit(":", 1)
    axis.axhline(float(value), color="black", linestyle=":", linewidth=0.8)
    axis.annotate(label, (axis.get_xlim()[1], float(value)), fontsize=7,
                  ha="right", va="bottom")
  axis.set_yscale("log")
  axis.set_xlabel("training wall-clock time (minutes, 2 CPU cores)")
  axis.set_ylabel("next-frame error (squared error per frame)")
  axis.set_title("Bouncing balls 30 x 30: held-out next-frame error", fontsize=10)
  axis.legend(fontsize=8)
  figure.tight_layout()
  os.makedirs(os.path.dirname(os.path.abspath(_OUTPUT.value)), exist_ok=True)
  figure.savefig(_OUTPUT.value, dpi=100)


if __name__ == "__main__":
  app.run(main)
