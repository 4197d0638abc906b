"""The results tables of the shipped runs, rendered from their own files.

  python -m experiments.results_table           # prints every table
  python -m experiments.results_table --write   # rewrites them in the docs

Each directory `docs/runs/<name>/` holds a run's `config.json` and its one test
evaluation (`eval_test.json`, or `eval_test_best.json` for the parameters the
validation split picked). The tables are built from those files alone, so a
figure in them cannot drift from the file it came from. In a markdown document a
table lives between two markers, which --write fills:

  <!-- results_table: NAME -->
  ...
  <!-- /results_table -->

NAME is one of BLOCKS: `summary` (one row per shipped run, the README's),
`bouncing_balls` (next-frame errors) or `music` (log-likelihoods and
accuracies). Links to a run's directory are written relative to the document.
"""

import dataclasses
import json
import os
import re

from absl import app
from absl import flags

from experiments import common
from rtrbm_jax import files
from rtrbm_jax.models import registry

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS_DIR = os.path.join(_REPO, "docs", "runs")
# The documents holding generated tables, relative to the repository.
DOCUMENTS = ("README.md", os.path.join("docs", "results.md"))

_WRITE = flags.DEFINE_bool(
    "write", False, "Rewrite the tables in place in " + " and ".join(DOCUMENTS)
    + "; without it, print them.")

BLOCKS = ("summary", "bouncing_balls", "music", "motion_capture")
# A table between its markers: (opening marker, name, table, closing marker).
_BLOCK = re.compile(
    r"(<!-- results_table: ([a-z_]+) -->\n)(.*?)(<!-- /results_table -->)", re.S)

_MODEL_NAMES = {"rtrbm": "RTRBM", "rnnrbm": "RNN-RBM", "rnnnade": "RNN-NADE"}
_CHAIN_STARTS = {"data": "CD from the data", "prediction": "chains at the prediction",
                 "persistent": "persistent chains"}
# The polyphonic sets by the stem of their file (`data.path`).
_MUSIC_SETS = {"JSB_Chorales": "JSB Chorales", "Piano_midi": "Piano-midi.de",
               "Nottingham": "Nottingham", "MuseData": "MuseData"}


@dataclasses.dataclass(frozen=True)
class ShippedRun:
  """A shipped run: its directory's name, config and test evaluation."""
  name: str
  config: dict
  evaluation_file: str  # "eval_test.json" or "eval_test_best.json"
  results: dict

  @property
  def is_music(self) -> bool:
    return "frame_accuracy" in self.results


def evaluation_file(run_dir: str) -> str:
  """The name of a run directory's one test evaluation, `eval_test*.json`."""
  found = sorted(name for name in os.listdir(run_dir)
                 if name.startswith("eval_test") and name.endswith(".json"))
  if len(found) != 1:
    raise ValueError(f"{run_dir} holds {found}, not one eval_test*.json.")
  return found[0]


def load_runs(runs_dir: str = RUNS_DIR) -> list[ShippedRun]:
  """Every run directory under `runs_dir` (those with a config.json), by name."""
  runs = []
  for name in sorted(os.listdir(runs_dir)):
    run_dir = os.path.join(runs_dir, name)
    if not os.path.isfile(os.path.join(run_dir, "config.json")):
      continue
    with open(os.path.join(run_dir, "config.json")) as f:
      config = json.load(f)
    file = evaluation_file(run_dir)
    with open(os.path.join(run_dir, file)) as f:
      results = json.load(f)
    runs.append(ShippedRun(name, config, file, results))
  if not runs:
    raise ValueError(f"{runs_dir} holds no run directories.")
  return runs


def _rate(value: float) -> str:
  """A learning rate or decay as the docs write it: 3e-3, 0.1."""
  return f"{value:g}".replace("e-0", "e-")


def _count(value: int) -> str:
  return f"{value:,}"


def data_set(config: dict) -> str:
  """The data set a run trained on: "bouncing balls 30 x 30", "Nottingham"."""
  data = config["data"]
  if data["name"] == "bouncing_balls":
    return f"bouncing balls {data['resolution']} x {data['resolution']}"
  if data["name"] == "mocap":
    return "motion capture"
  if data["name"] == "piano_rolls" and data["path"]:
    stem = os.path.splitext(os.path.basename(data["path"]))[0]
    return _MUSIC_SETS.get(stem, stem.replace("_", " "))
  return data["name"].replace("_", " ")


def recipe(config: dict) -> str:
  """The model and how it was trained: "RTRBM 400 hidden, chains at the
  prediction, k = 25, Adam 3e-3"."""
  model, train, optimizer = config["model"], config["train"], config["optimizer"]
  sizes = f"{model['num_hidden']} hidden"
  if model.get("num_recurrent"):
    sizes += f", {model['num_recurrent']} recurrent"
  parts = [f"{_MODEL_NAMES.get(model['kind'], model['kind'])} ({sizes})"]
  if registry.get_model(model["kind"]).frame_rbms is None:
    parts.append("exact gradient")  # Tractable frames: no chain, no k.
  else:
    parts += [_CHAIN_STARTS.get(train["chain_start"], train["chain_start"]),
              f"k = {train['num_gibbs_steps']}"]
  if train["gibbs_schedule"]:
    parts[-1] += " (scheduled: " + ", ".join(
        f"{k} from {_count(update)}" for update, k in train["gibbs_schedule"]) + ")"
  name = {"adam": "Adam", "sgd": "SGD"}.get(optimizer["name"], optimizer["name"])
  parts.append(f"{name} {_rate(optimizer['learning_rate'])}")
  if config.get("init_from"):
    parts.insert(1, f"from {os.path.basename(config['init_from'].rstrip('/'))}'s "
                    "parameters")
  if config["data"].get("train_source") == "simulator":
    parts.append("fresh simulator sequences")
  if optimizer["clip_norm"]:
    parts.append(f"gradient clipped at norm {optimizer['clip_norm']:g}")
  if optimizer["weight_decay"]:
    parts.append(f"weight decay {_rate(optimizer['weight_decay'])}")
  return ", ".join(parts)


def updates(config: dict) -> str:
  """Updates trained, pretraining first, and the batch: "1000 RBM + 50,000 (1)"."""
  pretrain = config["pretrain"]["num_steps"]
  trained = _count(config["train"]["num_steps"])
  batch = config["train"]["batch_size"]
  return (f"{pretrain} RBM + {trained} ({batch})" if pretrain
          else f"{trained} ({batch})")


def evaluated(run: ShippedRun) -> str:
  """Which parameters the evaluation scored: the final ones or the best
  validation ones, with their update."""
  step = _count(run.results["step"])
  if run.evaluation_file.endswith("_best.json"):
    criterion = run.config["eval"].get("select_by", "frame_accuracy")
    criterion = {"frame_accuracy": "accuracy", "log_likelihood": "log-likelihood",
                 "next_frame_error": "next-frame error"}.get(criterion, criterion)
    return f"update {step}, best validation {criterion}"
  return f"update {step}, final"


def _error(figure: dict) -> str:
  """A next-frame error: mean +- standard error over sequences (s.d. of the
  per-sequence means)."""
  return (f"{figure['mean']:.2f} +- {figure['standard_error_over_sequences']:.2f} "
          f"(s.d. {figure['sd_over_sequences']:.2f})")


def _likelihood(figure: dict) -> str:
  return f"{figure['mean']:.2f} +- {figure['standard_error']:.2f}"


def _percent(value: float) -> str:
  return f"{100 * value:.1f}%"


def _link(run: ShippedRun, link_prefix: str) -> str:
  return f"[`{run.name}`]({link_prefix}{run.name}/)"


def _table(header: list[str], rows: list[list[str]]) -> str:
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  lines += ["| " + " | ".join(row) + " |" for row in rows]
  return "\n".join(lines) + "\n"


def headline(run: ShippedRun) -> float:
  """The figure a run's rows lead with: the log-likelihood per frame for music,
  else the papers' next-frame error."""
  if run.is_music:
    return run.results["log_likelihood_per_frame"]["mean"]
  return run.results["next_frame_error"]["mean"]


def summary_table(runs: list[ShippedRun], link_prefix: str) -> str:
  """One row per shipped run: its headline figure beside copying the last frame."""
  rows = []
  for run in runs:
    results, copy = run.results, run.results["baselines"]["copy_last_frame"]
    if run.is_music:
      figure = (f"log-likelihood {_likelihood(results['log_likelihood_per_frame'])}"
                f" nats per frame, accuracy {_percent(results['frame_accuracy'])}")
      baseline = f"accuracy {_percent(copy['frame_accuracy'])}"
    elif run.config["data"]["name"] == "mocap":
      figure = f"next-frame error {_frame_error(results['next_frame_error'])}"
      baseline = f"error {copy['next_frame_error']['mean']:.2f}"
    else:
      figure = f"next-frame error {_error(results['next_frame_error'])}"
      baseline = f"error {copy['next_frame_error']['mean']:.2f}"
    rows.append([_link(run, link_prefix), data_set(run.config),
                 _MODEL_NAMES.get(run.config["model"]["kind"]), evaluated(run),
                 figure, baseline])
  return _table(["run", "data set", "model", "parameters", "test figure",
                 "copy the last frame"], rows)


def bouncing_balls_table(runs: list[ShippedRun], link_prefix: str) -> str:
  """The next-frame errors of the bouncing-balls runs, then the model-free
  baselines of the first one (every run shares the test split)."""
  videos = [run for run in runs if run.config["data"]["name"] == "bouncing_balls"]
  rows = []
  for run in videos:
    results = run.results
    rows.append([_link(run, link_prefix), recipe(run.config), updates(run.config),
                 _count(results["step"]), _error(results["next_frame_error"]),
                 _error(results["next_frame_error_chain_average"]),
                 _error(results["train_sample"]["next_frame_error"])])
  baselines = videos[0].results["baselines"]
  for name, label in (("copy_last_frame", "copy the last frame"),
                      ("extrapolation",
                       "pixel extrapolation clip(2 v_{t-1} - v_{t-2}, 0, 1)"),
                      ("mean_frame", "mean training frame"),
                      ("blank_frame", "blank frame")):
    rows.append([f"{label} (baseline)", "", "", "",
                 _error(baselines[name]["next_frame_error"]), "", ""])
  return _table(["run", "recipe", "updates (batch)", "evaluated at update",
                 "next-frame error, papers' protocol", "mean of 10 chains",
                 "training sample (papers' protocol)"], rows)


def _likelihood_method(results: dict) -> str:
  """How a music run's log-likelihood was computed and on which frames:
  "AIS 1000 x 16, 2,000 of 4,725" or "exact, all 4,725"."""
  likelihood = results["log_likelihood_per_frame"]
  sampled = likelihood.get("num_frames", results["num_frames"])
  frames = (f"{_count(sampled)} of {_count(results['num_frames'])}"
            if sampled < results["num_frames"]
            else f"all {_count(results['num_frames'])}")
  if likelihood["method"] == "exact":
    return f"exact, {frames}"
  return (f"AIS {likelihood['num_temperatures']} x {likelihood['num_chains']}, "
          f"{frames}")


def _ais_check(likelihood: dict) -> str:
  """What the evaluation's bound says of an AIS figure: the mean upper bound
  (from the states the chains visited) and the frames above 0 and above their
  own bound; "" where the figure is exact or the file predates the bound."""
  if likelihood.get("upper_bound") is None:
    return ""
  check = f"bound {likelihood['upper_bound']:.2f}"
  above_zero = likelihood.get("frames_above_zero", 0)
  above_bound = likelihood.get("frames_above_upper_bound", 0)
  if above_zero or above_bound:
    check += (f"; suspect: {_count(above_zero)} frames above 0, "
              f"{_count(above_bound)} above their bound")
  return check


def music_table(runs: list[ShippedRun], link_prefix: str) -> str:
  """The log-likelihoods and frame accuracies of the polyphonic runs, each with
  its prediction rule and its test split's baselines."""
  rows = []
  for run in (run for run in runs if run.is_music):
    results = run.results
    baselines = results["baselines"]
    rows.append([
        _link(run, link_prefix), data_set(run.config), recipe(run.config),
        updates(run.config), evaluated(run),
        _likelihood(results["log_likelihood_per_frame"]),
        _likelihood_method(results),
        _ais_check(results["log_likelihood_per_frame"]),
        results["next_frame_error"].get("prediction_rule", "gibbs"),
        f"{_percent(results['frame_accuracy'])} / "
        f"{_percent(results['frame_accuracy_chain_average'])}",
        _percent(baselines["copy_last_frame"]["frame_accuracy"]),
        _likelihood(baselines["independent_bernoulli"]["log_likelihood_per_frame"])])
  return _table(["run", "set", "recipe", "updates (batch)", "parameters",
                 "log-likelihood per frame", "how: method, frames",
                 "AIS check: mean upper bound; suspect frames",
                 "prediction rule", "frame accuracy, one prediction / mean of 10",
                 "copy the last frame: accuracy",
                 "independent per-pitch Bernoullis: log-likelihood"], rows)


def _frame_error(figure: dict) -> str:
  """A next-frame error: mean +- standard error over the predicted frames."""
  return f"{figure['mean']:.2f} +- {figure['standard_error']:.2f}"


def motion_capture_table(runs: list[ShippedRun], link_prefix: str) -> str:
  """The next-frame errors of the motion-capture runs on the test part, then the
  baselines of the first one (every run shares the test part): copying, linear
  extrapolation and the fitted linear autoregressive model."""
  captured = [run for run in runs if run.config["data"]["name"] == "mocap"]
  rows = [[_link(run, link_prefix), recipe(run.config), updates(run.config),
           evaluated(run), run.results["next_frame_error"].get("prediction_rule",
                                                               "gibbs"),
           _frame_error(run.results["next_frame_error"]),
           _frame_error(run.results["train_sample"]["next_frame_error"])]
          for run in captured]
  if captured:
    baselines = captured[0].results["baselines"]
    autoregressive = baselines["linear_autoregressive"]
    for name, label in (
        ("copy_last_frame", "copy the last frame"),
        ("extrapolation", "linear extrapolation 2 v_{t-1} - v_{t-2}"),
        ("linear_autoregressive", f"linear autoregressive model of order "
                                  f"{autoregressive['order']} (order chosen on "
                                  "the validation part)")):
      rows.append([f"{label} (baseline)", "", "", "", "",
                   _frame_error(baselines[name]["next_frame_error"]), ""])
  return _table(["run", "recipe", "updates (batch)", "parameters",
                 "prediction rule (chosen on validation)", "next-frame error",
                 "training sample"], rows)


def render(block: str, runs: list[ShippedRun], link_prefix: str) -> str:
  """The markdown of one table, its links to run directories starting with
  `link_prefix` (the runs' folder relative to the document)."""
  tables = {"summary": summary_table, "bouncing_balls": bouncing_balls_table,
            "music": music_table, "motion_capture": motion_capture_table}
  if block not in tables:
    raise ValueError(f"results_table: unknown table {block!r}; the tables are "
                     f"{list(BLOCKS)}.")
  return tables[block](runs, link_prefix)


def link_prefix(document: str) -> str:
  """The runs' folder relative to a document of the repository, ending in "/"."""
  relative = os.path.relpath(RUNS_DIR, os.path.dirname(os.path.join(_REPO,
                                                                    document)))
  return relative.replace(os.sep, "/") + "/"


def blocks(text: str) -> dict[str, str]:
  """The generated tables in a document: {name: its markdown between markers}."""
  return {match[2]: match[3] for match in _BLOCK.finditer(text)}


def rewrite(text: str, runs: list[ShippedRun], prefix: str) -> str:
  """A document with each of its tables rendered anew from the runs."""
  return _BLOCK.sub(lambda match: match[1] + render(match[2], runs, prefix)
                    + match[4], text)


def stale_blocks(text: str, runs: list[ShippedRun], prefix: str) -> list[str]:
  """The names of the document's tables that differ from what the runs render."""
  return [name for name, table in blocks(text).items()
          if table != render(name, runs, prefix)]


def _run():
  runs = load_runs()
  if not _WRITE.value:
    for block in BLOCKS:
      print(f"<!-- results_table: {block} -->\n"
            f"{render(block, runs, 'docs/runs/')}<!-- /results_table -->\n")
    return
  for document in DOCUMENTS:
    path = os.path.join(_REPO, document)
    with open(path) as f:
      text = f.read()
    if not blocks(text):
      raise ValueError(f"{document} holds no <!-- results_table: NAME --> block.")
    with files.atomic_write(path, "w") as f:
      f.write(rewrite(text, runs, link_prefix(document)))
    print(f"Rewrote {', '.join(blocks(text))} in {document}")


def main(argv):
  common.start(argv)
  common.run_or_exit(_run)


if __name__ == "__main__":
  app.run(main, flags_parser=common.parse_flags)
