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
import os
import sys
from typing import Any, NamedTuple, Optional

from absl import logging
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from rtrbm_jax import progress
from rtrbm_jax.data import datasets
from rtrbm_jax.models import registry
from rtrbm_jax.models import temporal
from rtrbm_jax.training import checkpoints
from rtrbm_jax.training import loop
from rtrbm_jax.training import schema
from rtrbm_jax.training import steps
from rtrbm_jax.training import sweep
from rtrbm_jax.training import workdirs


class Run(NamedTuple):
  """A trained run, ready to generate from or evaluate.

  Attributes:
    config: the run's config (a sweep point's own single-run config).
    model: the temporal model (`temporal.TemporalModel`).
    params: its parameters.
    step: the update the parameters are from.
    workdir: the run's directory.
    point: the sweep point, or None for a single run.
  """
  config: ml_collections.ConfigDict
  model: temporal.TemporalModel
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

  @property
  def data_kind(self) -> str:
    """What the run's frames are (`datasets.DATA_KINDS`): "video", "music" or
    "real_valued"."""
    return datasets.data_kind(self.config.data)

  def load_data(self, split: str = "test") -> list[np.ndarray]:
    """Whole sequences `[T_i, nv]` of the run's data set (real-valued data
    standardised, as the model saw them)."""
    return datasets.load_sequences(self.config.data, split)


def train(config: ml_collections.ConfigDict, workdir: str) -> steps.TrainState:
  """Trains `config` in `workdir` (a sweep if the config has a `sweep` section),
  resuming from its last checkpoint: what `experiments.train` and
  `experiments.sweep` do, with the same progress lines (on stderr, also outside
  absl's `app.run`). Returns the final train state."""
  with progress.progress_lines():
    if "sweep" in config:
      return sweep.run_sweep(config, workdir)
    return loop.train_and_evaluate(config, workdir)


# The repository's top-level configs/ (configs are data beside the package, not
# in it; see README): found from this file, so from any working directory.
CONFIGS_DIRECTORY = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "configs")


def config_names() -> list[str]:
  """The names `get_config` takes: the files of configs/, without `.py` (none
  where the package is installed without its repository)."""
  if not os.path.isdir(CONFIGS_DIRECTORY):
    return []
  return sorted(name[:-3] for name in os.listdir(CONFIGS_DIRECTORY)
                if name.endswith(".py") and name != "__init__.py")


def get_config(name: str) -> ml_collections.ConfigDict:
  """`configs/NAME.py`'s config, from any working directory.

  Args:
    name: a config's name, e.g. "tiny", or the path of a config file, e.g.
      "/src/rtrbm_jax/configs/tiny.py" (what an installed package, which has no
      configs/ beside it, takes); "NAME:ARGUMENT" passes ARGUMENT to its
      `get_config`, as `--config=configs/NAME.py:ARGUMENT` does (e.g.
      "piano_rolls:nottingham").

  Raises:
    ValueError: no such config, or another package named `configs` is imported.
  """
  base, has_argument, argument = name.partition(":")
  directory = CONFIGS_DIRECTORY
  if base.endswith(".py"):
    directory, base = os.path.split(os.path.abspath(base))
    base = base[:-3]
    if not os.path.isfile(os.path.join(directory, base + ".py")):
      raise ValueError(f"config name={name!r} is not accepted: no such file.")
  elif not os.path.isdir(directory):
    raise ValueError(
        f"config name={name!r} is not accepted: configs live in the repository's "
        f"configs/ folder, which this installed package ({directory} is absent) "
        "does not have; pass a config file's path, e.g. "
        "rj.get_config('CHECKOUT/configs/tiny.py').")
  elif base not in config_names():
    raise ValueError(f"config name={name!r} is not accepted: one of "
                     f"{config_names()} (the files of {directory}).")
  module = _configs_module(directory, base, name)
  return module.get_config(argument) if has_argument else module.get_config()


def _configs_module(directory: str, base: str, name: str):
  """Module `configs.BASE` of the configs folder `directory` (the configs import
  each other as `configs.NAME`, so that folder is made the `configs` package)."""
  package = sys.modules.get("configs")
  if package is None:
    spec = importlib.util.spec_from_file_location(
        "configs", os.path.join(directory, "__init__.py"),
        submodule_search_locations=[directory])
    package = importlib.util.module_from_spec(spec)
    sys.modules["configs"] = package
    if os.path.exists(os.path.join(directory, "__init__.py")):
      spec.loader.exec_module(package)
  elif os.path.abspath(list(package.__path__)[0]) != directory:
    raise ValueError(f"config name={name!r} cannot be loaded: another package "
                     f"named 'configs' ({list(package.__path__)[0]}) is imported.")
  return importlib.import_module(f"configs.{base}")


def _read_config(workdir: str) -> ml_collections.ConfigDict:
  """The workdir's config, checked as a run's (a sweep's first point's)."""
  config = workdirs.read_config(workdir)
  try:
    check = (sweep.point_config(config, sweep.sweep_points(config)[0])
             if "sweep" in config else config)
    schema.validate_config(check)
  except (ValueError, TypeError, KeyError, AttributeError) as error:
    path = os.path.join(workdir, workdirs.CONFIG_FILE)
    raise ValueError(f"{path} is damaged or not a run's config: "
                     f"{str(error).splitlines()[0] if str(error) else ''}") from error
  return config


def _model_and_template(config):
  """The config's model and parameters of the shapes and type it trains."""
  model = registry.from_config(config)
  return model, model.init_params(jax.random.key(0), config.model.num_visible,
                                  config.model.num_hidden)


def _checkpoint_params(workdir: str, step: Optional[int],
                       steps: list[int]) -> tuple[dict, int]:
  """The parameters (as a dict of arrays) of checkpoint `step` of `steps`.

  With `step` None, the newest checkpoint that restores: a damaged newer one is
  passed over with a warning (as a resumed run does; nothing is moved here).
  """
  if not steps:
    raise ValueError(f"workdir={workdir!r} has no checkpoints to load a step from.")
  if step is not None and step not in steps:
    raise ValueError(f"step={step} is not accepted: workdir={workdir!r} keeps "
                     f"checkpoints of steps {steps}.")
  # Newest first; orbax and tensorstore raise many kinds of errors for damaged
  # files.
  candidates = [step] if step is not None else steps[::-1]
  for candidate, older in zip(candidates, candidates[1:]):
    try:
      return checkpoints.restore_params(workdir, candidate), candidate
    except Exception as error:  # pylint: disable=broad-except
      logging.warning("The checkpoint at step %d does not restore (%s); loading "
                      "the one at step %d.", candidate, _reason(error), older)
  try:
    return checkpoints.restore_params(workdir, candidates[-1]), candidates[-1]
  except Exception as error:  # pylint: disable=broad-except
    raise ValueError(f"the checkpoint at step {candidates[-1]} in workdir="
                     f"{workdir!r} does not restore ({_reason(error)}).") from error


def _reason(error: Exception) -> str:
  first_line = str(error).splitlines()[0][:200] if str(error) else ""
  return f"{type(error).__name__}: {first_line}"


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
  path = os.path.join(workdir, workdirs.BEST_PARAMS_FILE)
  if not os.path.exists(path):
    raise ValueError(
        f"step='best' is not accepted: workdir={workdir!r} has no "
        f"{workdirs.BEST_PARAMS_FILE} (training keeps one for data sets with a "
        "validation split, data.name='piano_rolls', after its first held-out "
        "evaluation).")
  arrays = checkpoints.load_params(path)
  if "step" not in arrays:
    raise ValueError(f"{path} is damaged: it lacks the update it is from; rerun "
                     "experiments.train on the workdir.")
  return arrays, int(arrays["step"])


def _checked_step(step) -> Optional[int | str]:
  """`step` as an int (a Python or numpy integer), "best" or None."""
  if step is None or step == "best":
    return step
  if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
    raise ValueError(f"step={step!r} is not accepted: None (the final parameters), "
                     "'best' (the best validation parameters) or the integer update "
                     "of a checkpoint.")
  return int(step)


def _final_or_checkpoint_params(workdir: str, config,
                                step: Optional[int]) -> tuple[dict, int]:
  """The arrays and update of `params.npz` or of a checkpoint (see `load_run`)."""
  params_path = os.path.join(workdir, "params.npz")
  steps = checkpoints.all_steps(workdir)
  final_step = loop.total_steps(config)
  # params.npz is the run's last update only while no checkpoint is newer (a run
  # extended with a larger train.num_steps and stopped part-way has newer ones).
  if (step is None and os.path.exists(params_path)
      and (not steps or steps[-1] == final_step)):
    return checkpoints.load_params(params_path), final_step
  return _checkpoint_params(workdir, step, steps)


def load_run(workdir: str, step: Optional[int | str] = None,
             point: Optional[int] = None) -> Run:
  """Loads a run's parameters: the final ones, a checkpoint's, or a sweep point's.

  Args:
    workdir: the directory of a run or sweep.
    step: None: the final parameters (`params.npz`) if the run finished and no
      checkpoint is newer, else the newest checkpoint that restores; an integer
      update number: the checkpoint of that update; "best": the parameters of
      the best validation figure, `config.eval.select_by` (`best_params.npz`,
      kept for data sets with a validation split).
    point: for a sweep, which point (0-based, as in `results.txt`); required for
      sweeps, not accepted for single runs.

  Returns:
    A `Run`; `run.model.generate(run.params, key, prime, num_frames, k)` generates.

  Raises:
    ValueError: no such workdir, step or point.
  """
  config = _sweep_point_config(workdir, _read_config(workdir), point)
  model, template = _model_and_template(config)
  step = _checked_step(step)
  if step == "best":
    if point is not None:
      raise ValueError("step='best' is not accepted with point: a sweep keeps no "
                       "best parameters; pass a checkpoint's step or none.")
    arrays, step = _best_params(workdir)
  else:
    arrays, step = _final_or_checkpoint_params(workdir, config, step)
  params = _params_from_arrays(workdir, config, template, arrays, point)
  # NaN parameters (a diverged run) are named here, not found as NaN results.
  model.check_params(params)
  return Run(config, model, params, int(step), workdir, point)
