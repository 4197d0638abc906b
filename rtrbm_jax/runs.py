"""Runs from Python: train one (`rj.train`), load one (`rj.load_run`), in a notebook.

    import rtrbm_jax as rj

    config = rj.get_config("tiny")               # configs/tiny.py, from anywhere
    rj.train(config, "runs/tiny")                # as python -m experiments.train
    run = rj.load_run("runs/tiny")               # config, model, params, step
    run = rj.load_run("runs/tiny", step=500)     # the checkpoint of update 500
    run = rj.load_run("runs/jsb", step="best")   # the best validation accuracy
    run = rj.load_run("runs/sweep", point=3)     # point 3 of a sweep
"""

import importlib
import importlib.util
import json
import os
import sys
from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import orbax.checkpoint as ocp

from rtrbm_jax import checkpoints
from rtrbm_jax import models
from rtrbm_jax import progress
from rtrbm_jax import sweep
from rtrbm_jax import train as training
from rtrbm_jax import validation
from rtrbm_jax import workdirs
from rtrbm_jax.data import datasets


class Run(NamedTuple):
  """A trained run, ready to generate from or evaluate.

  Attributes:
    config: the run's config (a sweep point's own single-run config).
    model: the temporal model (`models.TemporalModel`).
    params: its parameters.
    step: the update the parameters are from.
    workdir: the run's directory.
    point: the sweep point, or None for a single run.
  """
  config: ml_collections.ConfigDict
  model: models.TemporalModel
  params: Any
  step: int
  workdir: str
  point: Optional[int] = None

  def __repr__(self) -> str:
    model = self.config.model
    return (f"Run({model.kind}, {model.num_visible} visible x {model.num_hidden} "
            f"hidden, step {self.step}"
            + ("" if self.point is None else f", point {self.point}")
            + f", workdir={self.workdir!r})")

  def load_data(self, split: str = "test") -> list[np.ndarray]:
    """Whole sequences `[T_i, nv]` of the run's data set (real-valued data
    standardised, as the model saw them)."""
    return datasets.load_sequences(self.config.data, split)


def train(config: ml_collections.ConfigDict, workdir: str) -> training.TrainState:
  """Trains `config` in `workdir` (a sweep if the config has a `sweep` section),
  resuming from its last checkpoint: what `experiments.train` and
  `experiments.sweep` do, with the same progress lines (on stderr, also outside
  absl's `app.run`). Returns the final train state."""
  with progress.progress_lines():
    if "sweep" in config:
      return sweep.run_sweep(config, workdir)
    return training.train_and_evaluate(config, workdir)


# The repository's top-level configs/ (configs are data beside the package, not
# in it; see README): found from this file, so from any working directory.
CONFIGS_DIRECTORY = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")


def config_names() -> list[str]:
  """The names `get_config` takes: the files of configs/, without `.py`."""
  if not os.path.isdir(CONFIGS_DIRECTORY):
    return []
  return sorted(name[:-3] for name in os.listdir(CONFIGS_DIRECTORY)
                if name.endswith(".py") and name != "__init__.py")


def get_config(name: str) -> ml_collections.ConfigDict:
  """`configs/NAME.py`'s config, from any working directory.

  Args:
    name: a config's name, e.g. "tiny"; "NAME:ARGUMENT" passes ARGUMENT to its
      `get_config`, as `--config=configs/NAME.py:ARGUMENT` does (e.g.
      "piano_rolls:nottingham").

  Raises:
    ValueError: no such config, or another package named `configs` is imported.
  """
  base, has_argument, argument = name.partition(":")
  names = config_names()
  if base not in names:
    raise ValueError(f"config name={name!r} is not accepted: one of {names} "
                     f"(the files of {CONFIGS_DIRECTORY}).")
  package = sys.modules.get("configs")
  if package is None:
    # The configs import each other as `configs.NAME`: make that package ours.
    spec = importlib.util.spec_from_file_location(
        "configs", os.path.join(CONFIGS_DIRECTORY, "__init__.py"),
        submodule_search_locations=[CONFIGS_DIRECTORY])
    package = importlib.util.module_from_spec(spec)
    sys.modules["configs"] = package
    spec.loader.exec_module(package)
  elif os.path.abspath(list(package.__path__)[0]) != CONFIGS_DIRECTORY:
    raise ValueError(f"config name={name!r} cannot be loaded: another package "
                     f"named 'configs' ({list(package.__path__)[0]}) is imported.")
  module = importlib.import_module(f"configs.{base}")
  return module.get_config(argument) if has_argument else module.get_config()


def _read_config(workdir: str) -> ml_collections.ConfigDict:
  path = os.path.join(workdir, workdirs.CONFIG_FILE)
  if not os.path.exists(path):
    raise ValueError(f"workdir={workdir!r} has no config.json: load a run trained "
                     "with experiments.train or experiments.sweep (rj.train).")
  try:
    with open(path) as f:
      config = ml_collections.ConfigDict(json.load(f))
    check = (sweep.point_config(config, sweep.sweep_points(config)[0])
             if "sweep" in config else config)
    validation.validate_config(check)
  except (ValueError, TypeError, KeyError, AttributeError) as error:
    raise ValueError(f"{path} is damaged or not a run's config: "
                     f"{str(error).splitlines()[0] if str(error) else ''}") from error
  return config


def _model_and_template(config):
  """The config's model and parameters of the shapes and type it trains."""
  model = models.from_config(config)
  return model, model.init_params(jax.random.key(0), config.model.num_visible,
                                  config.model.num_hidden)


def _checkpoint_params(workdir: str, step: Optional[int]) -> tuple[dict, int]:
  """The parameters (as a dict of arrays) of checkpoint `step` (default: latest)."""
  directory = checkpoints.directory(workdir)
  steps = []
  if os.path.isdir(directory):
    with ocp.CheckpointManager(directory) as manager:
      steps = manager.all_steps()
  if not steps:
    raise ValueError(f"workdir={workdir!r} has no checkpoints to load a step from.")
  if step is None:
    step = max(steps)
  if step not in steps:
    raise ValueError(f"step={step} is not accepted: workdir={workdir!r} keeps "
                     f"checkpoints of steps {sorted(steps)}.")
  with ocp.CheckpointManager(directory) as manager:
    restored = manager.restore(step, args=ocp.args.StandardRestore())
  return restored["params"], step


def _final_params(params_path: str) -> dict:
  """The arrays of a finished run's `params.npz`."""
  try:
    with np.load(params_path) as stored:
      return {name: stored[name] for name in stored.files}
  except Exception as error:  # pylint: disable=broad-except
    # numpy raises zipfile, EOF, OS, key and value errors for damaged files.
    raise ValueError(
        f"{params_path} is damaged or incomplete ({type(error).__name__}"
        f": {str(error).splitlines()[0] if str(error) else ''}); rerun "
        "experiments.train on the workdir to write it again.") from error


def _sweep_point_config(workdir: str, config: ml_collections.ConfigDict,
                        point: Optional[int]) -> ml_collections.ConfigDict:
  """The single-run config of `point` of a sweep; a single run's own config."""
  if "sweep" in config:
    points = sweep.sweep_points(config)
    if point is None or not 0 <= point < len(points):
      raise ValueError(f"point={point!r} is not accepted: workdir={workdir!r} holds "
                       f"a sweep of {len(points)} points; pass point=0.."
                       f"{len(points) - 1} (see its results.txt).")
    return sweep.point_config(config, points[point])
  if point is not None:
    raise ValueError(f"point={point!r} is not accepted: workdir={workdir!r} holds a "
                     "single run, not a sweep.")
  return config


def _params_from_arrays(workdir: str, config, template, arrays: dict,
                        point: Optional[int]):
  """The parameters of `arrays` (of `point` of a sweep), checked against `config`
  by the shapes and fields of `template`."""
  params_type = type(template)
  missing = [name for name in params_type._fields if name not in arrays]
  if missing:
    raise ValueError(f"the parameters in workdir={workdir!r} lack {missing}: they "
                     f"do not fit its config.json (model kind "
                     f"{config.model.kind!r}).")
  params = params_type(**{name: jnp.asarray(arrays[name] if point is None
                                            else arrays[name][point])
                          for name in params_type._fields})
  wrong = [f"{name} has shape {list(np.shape(got))}, expected {list(want.shape)}"
           for name, got, want in zip(params_type._fields, params, template)
           if np.shape(got) != want.shape]
  if wrong:
    raise ValueError(f"the parameters in workdir={workdir!r} do not fit its "
                     f"config.json: {'; '.join(wrong)}.")
  return params


def _best_params(workdir: str) -> tuple[dict, int]:
  """The arrays of `best_params.npz` and the update they are from."""
  path = os.path.join(workdir, training.BEST_PARAMS_FILE)
  if not os.path.exists(path):
    raise ValueError(
        f"step='best' is not accepted: workdir={workdir!r} has no "
        f"{training.BEST_PARAMS_FILE} (training keeps one for data sets with a "
        "validation split, data.name='piano_rolls', after its first held-out "
        "evaluation).")
  arrays = _final_params(path)
  if "step" not in arrays:
    raise ValueError(f"{path} is damaged: it lacks the update it is from; rerun "
                     "experiments.train on the workdir.")
  return arrays, int(arrays["step"])


def load_run(workdir: str, step: Optional[int | str] = None,
             point: Optional[int] = None) -> Run:
  """Loads a run's parameters: the final ones, a checkpoint's, or a sweep point's.

  Args:
    workdir: the directory of a run or sweep.
    step: None: the final parameters (`params.npz`) if the run finished, else the
      latest checkpoint; an update number: the checkpoint of that update;
      "best": the parameters of the best validation frame accuracy
      (`best_params.npz`, kept for data sets with a validation split).
    point: for a sweep, which point (0-based, as in `results.txt`); required for
      sweeps, not accepted for single runs.

  Returns:
    A `Run`; `run.model.generate(run.params, key, prime, num_frames, k)` generates.

  Raises:
    ValueError: no such workdir, step or point.
  """
  config = _sweep_point_config(workdir, _read_config(workdir), point)
  model, template = _model_and_template(config)
  params_path = os.path.join(workdir, "params.npz")
  if step == "best":
    if point is not None:
      raise ValueError("step='best' is not accepted with point: a sweep keeps no "
                       "best parameters; pass a checkpoint's step or none.")
    arrays, step = _best_params(workdir)
  elif step is None and os.path.exists(params_path):
    arrays = _final_params(params_path)
    step = training.total_steps(config)
  else:
    arrays, step = _checkpoint_params(workdir, step)
  params = _params_from_arrays(workdir, config, template, arrays, point)
  # NaN parameters (a diverged run) are named here, not found as NaN results.
  model.check_params(params)
  return Run(config, model, params, int(step), workdir, point)
