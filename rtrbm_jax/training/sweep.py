"""Hyperparameter sweeps as one compiled program: `jax.vmap` over stacked states.

`config.sweep` names the swept values (the fields the schema marks sweepable,
`SWEEPABLE`), e.g.

  config.sweep.learning_rate = (0.003, 0.01, 0.03)
  config.sweep.seed = (0, 1)

and the sweep is their grid (6 points). Every point's train state is built as for a
single run with that point's values, the states are stacked along a leading axis,
and the training loop of `loop.run_loop` runs them together: one jit of the
vmapped train step over the same data array. Learning rate, momentum and weight
decay are arrays in the optimizer state; the initial weight scale and the seed only
change the initial state; a swept `num_gibbs_steps` is a constant CD-k for that
point (its `steps.GibbsSchedule` in the state has the one entry), and the vmapped
Gibbs loop runs to the largest k with the others masked. So point i ends where a
single run with point i's values (`point_config`) does.
"""

import itertools
import json
import math
import os

import jax
import jax.numpy as jnp
import ml_collections

from rtrbm_jax import config_fields
from rtrbm_jax import files
from rtrbm_jax.training import checkpoints
from rtrbm_jax.training import loop
from rtrbm_jax.training import optimizers
from rtrbm_jax.training import records
from rtrbm_jax.training import schema
from rtrbm_jax.training import steps
from rtrbm_jax.training import workdirs

# Sweepable names and the config fields they set, from the schema; in its order,
# which is the grid's (row-major).
SWEEPABLE = {field.sweep: path for path, field in schema.FIELDS.items()
             if field.sweep}


def sweep_points(config: ml_collections.ConfigDict) -> list[dict]:
  """The grid of `config.sweep`: one dict {name: value} per point, row-major.

  Each value has the type of the field it sets (an integer for `seed` and
  `num_gibbs_steps`, a finite number for the others): a value converted silently
  (1.7 -> 1) would label two points differently that are the same run.

  Raises:
    ValueError: one line naming the `config.sweep` field and what it accepts.
  """
  if not isinstance(config.get("sweep"), (dict, ml_collections.ConfigDict)):
    raise ValueError(
        f"config.sweep={config.get('sweep')!r} is not accepted: a sweep's config "
        "names its swept values in a section `sweep`, e.g. config.sweep = "
        "dict(learning_rate=(0.001, 0.01)); for a single run use "
        "experiments.train.")
  unknown = sorted(set(config.sweep.keys()) - set(SWEEPABLE))
  if unknown:
    raise ValueError(f"config.sweep.{unknown[0]} is not sweepable: accepted names "
                     f"are {sorted(SWEEPABLE)}.")
  names = [name for name in SWEEPABLE if name in config.sweep]
  for name in names:
    values = config.sweep[name]
    if not isinstance(values, (tuple, list)) or not values:
      raise ValueError(f"config.sweep.{name}={values!r} is not accepted: a "
                       "non-empty tuple of values.")
    _check_swept_values(config, name, values)
  if not names:
    raise ValueError("config.sweep is empty: name at least one of "
                     f"{sorted(SWEEPABLE)} with a tuple of values.")
  return [dict(zip(names, values))
          for values in itertools.product(*(config.sweep[name] for name in names))]


def _check_swept_values(config: ml_collections.ConfigDict, name: str,
                        values) -> None:
  """Each value of `config.sweep.<name>` has the type of the field it sets."""
  integer = isinstance(config_fields.get_field(config, SWEEPABLE[name]), int)
  for value in values:
    ok = (isinstance(value, int) and not isinstance(value, bool)) or (
        not integer and isinstance(value, float) and math.isfinite(value))
    if not ok:
      raise ValueError(
          f"config.sweep.{name}={tuple(values)!r} is not accepted: "
          + ("integers (a fraction would be truncated, making points with "
             "different labels the same run)" if integer else "finite numbers")
          + f"; {value!r} is not one.")
  if len(set(values)) != len(values):
    raise ValueError(f"config.sweep.{name}={tuple(values)!r} is not accepted: "
                     "distinct values (a repeated one trains the same point "
                     "twice).")


def point_config(config: ml_collections.ConfigDict,
                 point: dict) -> ml_collections.ConfigDict:
  """The single-run config of one sweep point (without the `sweep` section)."""
  single = ml_collections.ConfigDict(config.to_dict())
  del single["sweep"]
  for name, value in point.items():
    # Types were checked by `sweep_points`: an int is only widened to a float.
    if isinstance(config_fields.get_field(single, SWEEPABLE[name]), float):
      value = float(value)
    config_fields.set_field(single, SWEEPABLE[name], value)
  if "num_gibbs_steps" in point:
    # A swept k holds for the whole run: no schedule (so every point's
    # GibbsSchedule has the one entry, and the states stack).
    single.train.gibbs_schedule = ()
  return single


def _stack(trees):
  return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


def init_sweep_state(config: ml_collections.ConfigDict, setup_: loop.Setup,
                     points: list[dict]) -> steps.TrainState:
  """Each point's initial `TrainState`, stacked along a leading axis.

  The points' configs must be valid (`run_sweep` checks them before the data load).
  """
  states = []
  for point in points:
    single = point_config(config, point)
    states.append(loop.initial_state(
        single, setup_.model,
        optimizers.make_optimizer(single.optimizer, single.train.num_steps),
        setup_.pretrain_optimizer))
  return _stack(states)


def _describe(points):
  def describe(step, phase, metrics, error):
    described = []
    for index, point in enumerate(points):
      record = {"step": step, "phase": phase, "point": index, **point,
                **{name: float(value[index]) for name, value in metrics.items()
                   if name != "finite"}}
      if not metrics["finite"][index]:
        record["diverged"] = True
      if error is not None:
        record.update(records.evaluation_record(error, index))
      described.append(record)
    return described
  return describe


def diverged_steps(metrics_path: str) -> dict[int, int]:
  """{point: the step of its first record marked diverged} of a sweep's records."""
  first = {}
  for record in files.read_records(metrics_path):
    if record.get("diverged") and "point" in record:
      first.setdefault(record["point"], record["step"])
  return first


def divergence_mark(workdir: str, point: int) -> dict:
  """{"diverged": ...} for a sweep point that diverged during training, else {}.

  Its parameters are those of its last finite update, so they evaluate as a
  normal point's would; the mark says the figures are not of a trained point.
  """
  path = workdirs.metrics_path(workdir)
  step = diverged_steps(path).get(point) if os.path.exists(path) else None
  if step is None:
    return {}
  return {"diverged": {
      "first_step": step,
      "note": "NaN or inf at this point's updates: they were not applied, and "
              "the parameters are those of its last finite update"}}


def results_table(metrics_path: str) -> list[dict]:
  """Each point's last record with a held-out error, sorted by that error.

  A point that diverged at any step is marked (`"diverged": True`), even if its
  later updates were finite again.
  """
  final = {}
  for record in files.read_records(metrics_path):
    if "heldout_next_frame_error" in record:
      final[record["point"]] = record
  for point in diverged_steps(metrics_path):
    if point in final:
      final[point] = {**final[point], "diverged": True}
  return sorted(final.values(), key=lambda r: (r.get("diverged", False),
                                               r["heldout_next_frame_error"]))


def format_table(rows: list[dict], names: list[str]) -> str:
  header = ["point"] + names + ["held-out error", "+-", "recon. error", ""]
  lines = [header] + [
      [str(r["point"])] + [f"{r[n]:g}" for n in names]
      + [f"{r['heldout_next_frame_error']:.4f}",
         f"{r['heldout_next_frame_error_se']:.4f}",
         f"{r['reconstruction_error']:.4f}",
         "diverged" if r.get("diverged") else ""]
      for r in rows]
  widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
  return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(line, widths))
                   for line in lines)


def run_sweep(config: ml_collections.ConfigDict, workdir: str) -> steps.TrainState:
  """Trains all points of `config.sweep` together in `workdir` (resumable).

  Writes `metrics.jsonl` (records tagged with `point` and its values),
  `config.json`, checkpoints of the stacked state, and at the end `params.npz`
  (each parameter with a leading point axis), `points.json`, `results.txt` (the
  table sorted by held-out error) and `curves.png` (all points' curves).
  """
  schema.check_fields_present(config)
  points = sweep_points(config)
  # Every point's values are checked, as a single run's are, before the data load.
  for index, point in enumerate(points):
    try:
      schema.validate_config(point_config(config, point))
    except ValueError as error:
      raise ValueError(f"point {index} of config.sweep ({point}): "
                       f"{error}") from None
  setup_ = loop.setup_validated(config)
  if config.train.parallelism == "sweep" and len(points) % jax.device_count():
    raise ValueError(f"config.sweep has {len(points)} points, not a multiple of "
                     f"the {jax.device_count()} devices that "
                     "train.parallelism='sweep' splits them over.")
  state = init_sweep_state(config, setup_, points)
  workdirs.check_workdir(workdir)
  with workdirs.workdir_lock(workdir):
    return _run(setup_, workdir, state, points)


def _run(setup_: loop.Setup, workdir: str, state: steps.TrainState,
         points: list[dict]) -> steps.TrainState:
  state = loop.run_loop(setup_, workdir, state, _describe(points), swept=True)

  checkpoints.save_params(os.path.join(workdir, "params.npz"), state.params)
  with files.atomic_write(os.path.join(workdir, "points.json")) as f:
    json.dump(points, f, indent=2)
  metrics_path = workdirs.metrics_path(workdir)
  table = format_table(results_table(metrics_path), list(points[0]))
  with files.atomic_write(os.path.join(workdir, "results.txt")) as f:
    f.write(table + "\n")
  from rtrbm_jax.outputs import plotting  # pylint: disable=g-import-not-at-top
  plotting.write_sweep_curves(metrics_path, os.path.join(workdir, "curves.png"),
                              setup_.config)
  print(table)
  return state
