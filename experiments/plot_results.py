"""Held-out next-frame error against training time or updates, for several runs.

  python -m experiments.plot_results --runs=RTRBM:runs/rtrbm,RNN-RBM:runs/rnnrbm \
      --output=results.png

Each run's curve is its `metrics.jsonl` held-out error (the first
`eval.num_sequences` test sequences, papers' protocol) against the minutes since
the run began (wall clock, evaluations included; the first record's time is
counted from its own chunk's rate) or, with --x_axis=updates, against the updates
after pretraining; a sweep's workdir gives one curve per point.
The title and units come from the runs' own config (the task they share).
Dashed: the copy-last-frame and extrapolation baselines on the same sequences
(`prediction.baseline_predictions`); dotted: published figures, by default only
where the runs' task is the published one (30 x 30 bouncing balls, 100 frames);
`--published=label:value,...` names others, `--published=` none.

The README's picture is drawn from the shipped runs' records (SHIPPED_RUNS, against
updates: the wall clocks of shared machines say little):

  python -m experiments.plot_results --shipped --output=docs/bouncing_balls_results.png
"""

import os

from absl import app
from absl import flags
import jax.numpy as jnp
import matplotlib
import ml_collections

from experiments import common
from rtrbm_jax import files
from rtrbm_jax.data import datasets
from rtrbm_jax.evaluation import prediction
from rtrbm_jax.training import sweep
from rtrbm_jax.training import workdirs

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
from matplotlib import ticker  # pylint: disable=g-import-not-at-top

_RUNS = flags.DEFINE_list("runs", None, "label:workdir pairs.")
_OUTPUT = flags.DEFINE_string("output", "results.png", "PNG to write.")
_PUBLISHED = flags.DEFINE_list(
    "published", None,
    "label:value pairs of published figures to draw; default: those of the "
    "runs' task if it is a published one (PUBLISHED), else none.")
_X_AXIS = flags.DEFINE_enum(
    "x_axis", "minutes", ["minutes", "updates"],
    "What the curves are drawn against: training wall-clock minutes, or updates "
    "after pretraining.")
_SHIPPED = flags.DEFINE_bool(
    "shipped", False,
    "Draw the shipped bouncing-balls runs (SHIPPED_RUNS) against updates, as the "
    "README's picture does; --runs and --x_axis are then not read.")
flags.register_multi_flags_validator(
    ["runs", "shipped", "print_config"],
    lambda values: (values["runs"] is not None or values["shipped"]
                    or values["print_config"]),
    message="Flag --runs must have a value other than None (or pass --shipped).")

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The shipped bouncing-balls runs of the README's picture (docs/runs/<name>/): each
# RTRBM's learning rate decays linearly over its own number of updates.
SHIPPED_RUNS = (
    ("RTRBM, k = 10, 40k updates", "bouncing_balls_k10_40k"),
    ("RTRBM, k = 25, 50k updates", "bouncing_balls"),
    ("RTRBM, k = 25, 100k updates", "bouncing_balls_100k"),
    ("RTRBM, k = 25, 300k updates", "bouncing_balls_300k"),
    ("RTRBM, 300k + 100k updates on fresh sequences", "bouncing_balls_400k"),
    ("RNN-RBM, k = 10, 50k updates", "bouncing_balls_rnnrbm"),
)


def shipped_runs() -> list[tuple[str, str]]:
  """(label, workdir) of SHIPPED_RUNS, their workdirs under docs/runs/."""
  return [(label, os.path.join(_REPO, "docs", "runs", name))
          for label, name in SHIPPED_RUNS]

# Published next-frame errors of the standard bouncing-balls task (30 x 30 pixels,
# 3 balls, 100-frame sequences): the figures docs/results.md compares with.
PUBLISHED = (("RTRBM (Sutskever et al. 2008) 3.88", 3.88),
             ("deep TSBN (Gan et al. 2015) 2.79", 2.79))


def run_config(workdir: str) -> ml_collections.ConfigDict:
  """The run's (or sweep's) `config.json`."""
  try:
    return workdirs.read_config(workdir)
  except ValueError as error:
    raise ValueError(f"--runs: {error}") from None


def task(config: ml_collections.ConfigDict) -> str:
  """What a run learns, for the title: "bouncing balls 10 x 10, 20 frames"."""
  data = config.data
  if data.name == "bouncing_balls":
    return (f"bouncing balls {data.resolution} x {data.resolution}, "
            f"{data.num_frames} frames")
  return f"{data.name.replace('_', ' ')}, {config.model.num_visible} units per frame"


def published_figures(config: ml_collections.ConfigDict) -> list[tuple[str, float]]:
  """The published figures comparable with a run's curve: PUBLISHED for the
  standard bouncing-balls task, none for any other."""
  data = config.data
  if (data.name == "bouncing_balls" and data.resolution == 30
      and data.num_frames == 100):
    return list(PUBLISHED)
  return []


def baseline_errors(workdir: str) -> dict[str, float]:
  """Mean error of each model-free predictor on the run's held-out curve sequences."""
  config = run_config(workdir)
  frames = jnp.asarray(
      datasets.load_dataset(config.data).test[:config.eval.num_sequences])
  return {name: float(prediction.prediction_error(baseline, frames).mean)
          for name, baseline in prediction.baseline_predictions(frames).items()
          if name in ("copy_last_frame", "extrapolation")}


def held_out_curve(workdir: str, point: int | None = None,
                   x_axis: str = "minutes") -> tuple[list[float], list[float]]:
  """(minutes, held-out errors) of a run's metrics.jsonl (of a sweep's `point`);
  with `x_axis="updates"`, (updates after pretraining, held-out errors), a
  warm-started run's counted on from those of the run it started from."""
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
  evaluated = [record for record in timed if "heldout_next_frame_error" in record
               and record.get("point") == point]
  if not evaluated:
    # An empty labelled curve would read as a run drawn.
    raise ValueError(
        f"{path} has no held-out records"
        + ("" if point is None else f" of point {point}")
        + ": the run was not evaluated (config.eval.every=0) or stopped before "
        "its first evaluation; there is no curve to draw.")
  if x_axis == "updates":
    config = run_config(workdir)
    offset = updates_before(config) - config.pretrain.num_steps
    xs = [record["step"] + offset for record in evaluated]
  else:
    xs = [(record["time"] - start) / 60 for record in evaluated]
  return (xs,
          [record["heldout_next_frame_error"] for record in evaluated])


def updates_before(config) -> int:
  """The updates (after pretraining) of the runs a warm-started run continues
  (`config.init_from`, relative to the repository or absolute, followed back):
  its curve goes on where theirs ended. 0 for a run started afresh."""
  source = config.get("init_from", "")
  if not source:
    return 0
  source = os.path.join(_REPO, source)  # an absolute source stays as it is
  if not os.path.isdir(source):
    return 0  # a parameter file, not a run: nothing to follow
  previous = run_config(source)
  return previous.train.num_steps + updates_before(previous)


def curves(label: str, workdir: str, x_axis: str = "minutes"
           ) -> list[tuple[str, list, list]]:
  """(label, minutes or updates, errors) of a run, or of each point of a sweep,
  labelled by its swept values."""
  config = run_config(workdir)
  if "sweep" not in config:
    return [(label, *held_out_curve(workdir, x_axis=x_axis))]
  return [(f"{label} " + ", ".join(f"{name}={value:g}"
                                   for name, value in values.items()),
           *held_out_curve(workdir, point, x_axis))
          for point, values in enumerate(sweep.sweep_points(config))]


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


def plot_runs(runs: list[tuple[str, str]],
              published: list[tuple[str, float]] | None = None,
              x_axis: str = "minutes"):
  """The figure of the runs' held-out curves, with baselines and published figures.

  Args:
    runs: (label, workdir) of each run or sweep; the baselines are computed on
      the first run's held-out sequences. All must be of one task.
    published: (label, next-frame error) of figures from papers; None: those of
      the runs' task (`published_figures`).
    x_axis: "minutes" (training wall clock) or "updates" (after pretraining).

  Returns:
    The matplotlib figure.
  """
  configs = [run_config(workdir) for _, workdir in runs]
  tasks = {task(config) for config in configs}
  if len(tasks) > 1:
    raise ValueError(f"--runs: the runs are of different tasks ({sorted(tasks)}); "
                     "plot one task at a time.")
  if published is None:
    published = published_figures(configs[0])
  figure, axis = plt.subplots(figsize=(7, 4.5))
  for label, workdir in runs:
    for curve_label, xs, errors in curves(label, workdir, x_axis):
      axis.plot(xs, errors, marker="o", markersize=3, label=curve_label)
  for (name, error), color in zip(baseline_errors(runs[0][1]).items(),
                                  ("gray", "tab:brown")):
    axis.axhline(error, color=color, linestyle="--",
                 label=f"{name.replace('_', ' ')} ({error:.2f})")
  for label, error in published:
    axis.axhline(error, color="black", linestyle=":", linewidth=0.8)
    axis.annotate(label, (axis.get_xlim()[1], error), fontsize=7, ha="right",
                  va="bottom")
  axis.set_yscale("log")
  # Plain numbers on the log axis (4, 6, 10), not powers of ten.
  axis.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
  axis.yaxis.set_minor_formatter(ticker.FormatStrFormatter("%g"))
  if x_axis == "updates":
    axis.xaxis.set_major_formatter(
        ticker.FuncFormatter(lambda updates, _: f"{updates / 1000:g}k"))
  axis.set_xlabel("training wall-clock time (minutes)" if x_axis == "minutes"
                  else "updates after pretraining")
  axis.set_ylabel(f"next-frame error (squared error summed over a frame's "
                  f"{configs[0].model.num_visible} units)", fontsize=8)
  axis.set_title(f"{tasks.pop().capitalize()}: held-out next-frame error",
                 fontsize=10)
  axis.legend(fontsize=8)
  figure.tight_layout()
  return figure


def _run():
  if _SHIPPED.value:
    runs, x_axis = shipped_runs(), "updates"
  else:
    runs = _label_pairs("runs", _RUNS.value, split_at_last_colon=False)
    x_axis = _X_AXIS.value
  published = None if _PUBLISHED.value is None else [
      (label, float(error)) for label, error in
      _label_pairs("published", _PUBLISHED.value, split_at_last_colon=True)]
  figure = plot_runs(runs, published, x_axis)
  os.makedirs(os.path.dirname(os.path.abspath(_OUTPUT.value)), exist_ok=True)
  with files.atomic_write(_OUTPUT.value, "wb") as f:
    figure.savefig(f, format="png", dpi=100)
  print(f"Wrote {os.path.abspath(_OUTPUT.value)}")


def main(argv):
  common.start(argv)
  common.run_or_exit(_run)


if __name__ == "__main__":
  app.run(main, flags_parser=common.parse_flags)
